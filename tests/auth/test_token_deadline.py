"""A token answer that trickles in (a byte at a time, each within the read timeout) is cut
off once its body has taken `DEADLINE` seconds: a refresh, and the credential store's lock
held around it, never waits on it for ever. A server on 127.0.0.1 sends the answer; an
honest answer's body follows its headers at once and is read whole."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from brandkit import auth
from brandkit.auth import _core
from brandkit.auth.x import XCredentials
from brandkit.errors import TransportError

ANSWER = json.dumps(
    {
        "token_type": "bearer",
        "access_token": "AT-new",
        "refresh_token": "RT-new",
        "expires_in": 7200,
        "scope": "tweet.read offline.access",
    }
).encode()


class Trickle:
    """An HTTP server that answers every request with `ANSWER`, its body sent ``step``
    seconds a byte (``step=0``: at once)."""

    def __init__(self, step: float) -> None:
        self.step = step
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            # OSError: the client hung up.
            with conn, contextlib.suppress(OSError):
                self._answer(conn)

    def _answer(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        data = b""
        while b"\r\n\r\n" not in data:
            data += conn.recv(4096)
        head = (
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
            f"content-length: {len(ANSWER)}\r\nconnection: close\r\n\r\n"
        )
        conn.sendall(head.encode())
        if not self.step:
            conn.sendall(ANSWER)
            return
        for i in range(len(ANSWER)):
            if self.stop.is_set():
                return
            conn.sendall(ANSWER[i : i + 1])
            time.sleep(self.step)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        self.sock.close()


@pytest.fixture
def short_deadline(monkeypatch: pytest.MonkeyPatch) -> float:
    monkeypatch.setattr(_core, "DEADLINE", 0.5, raising=False)
    return 0.5


def creds(base_url: str) -> XCredentials:
    return XCredentials(
        access_token=SecretStr("AT-old"),
        refresh_token=SecretStr("RT-old"),
        expires_at=None,
        scopes=("tweet.read", "offline.access"),
        client_id="app",
        base_url=base_url,
    )


@pytest.fixture
def trickle() -> Iterator[Trickle]:
    # ~180 bytes at 30 ms: about 5 s to send whole, ten times the deadline.
    server = Trickle(step=0.03)
    yield server
    server.close()


def test_a_trickled_answer_is_cut_off_at_the_deadline(
    trickle: Trickle, short_deadline: float
) -> None:
    began = time.monotonic()
    with pytest.raises(TransportError) as late:
        auth.x.refresh(creds(trickle.url))
    assert time.monotonic() - began < short_deadline + 2.0
    assert late.value.maybe_delivered is True
    assert "RT-old" not in str(late.value)


@pytest.mark.anyio
async def test_a_trickled_answer_is_cut_off_at_the_deadline_async(
    trickle: Trickle, short_deadline: float
) -> None:
    began = time.monotonic()
    with pytest.raises(TransportError):
        await auth.x.refresh_async(creds(trickle.url))
    assert time.monotonic() - began < short_deadline + 2.0


def test_an_answer_sent_at_once_is_read(short_deadline: float) -> None:
    server = Trickle(step=0)
    try:
        new = auth.x.refresh(creds(server.url))
    finally:
        server.close()
    assert new.access_token.get_secret_value() == "AT-new"
    assert new.refresh_token is not None and new.refresh_token.get_secret_value() == "RT-new"
