"""A token answer that trickles in (a byte at a time, each within the read timeout) is cut
off once its body has taken `DEADLINE` seconds: a refresh, and the credential store's lock
held around it, never waits on it for ever. A server on 127.0.0.1 sends the answer; an
honest answer's body follows its headers at once and is read whole."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from brandkit import auth
from brandkit.auth import _core
from brandkit.auth.x import XCredentials
from brandkit.errors import TransportError

from ._servers import Trickle

ANSWER = json.dumps(
    {
        "token_type": "bearer",
        "access_token": "AT-new",
        "refresh_token": "RT-new",
        "expires_in": 7200,
        "scope": "tweet.read offline.access",
    }
).encode()


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
    server = Trickle(ANSWER, step=0.03)
    yield server
    server.close()


def refresh(kind: str, url: str) -> None:
    """A refresh against ``url`` by the synchronous or the asynchronous runner."""
    if kind == "sync":
        auth.x.refresh(creds(url))
    else:
        asyncio.run(auth.x.refresh_async(creds(url)))


@pytest.fixture
def slow_head() -> Iterator[Trickle]:
    # The headers too, ~280 bytes at 30 ms: about 8 s, the headers alone about 3 s.
    server = Trickle(ANSWER, step=0.03, head=True)
    yield server
    server.close()


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_trickled_answer_is_cut_off_at_the_deadline(
    trickle: Trickle, short_deadline: float, kind: str
) -> None:
    """The body a byte at a time, each within the read timeout: the runner gives up
    `DEADLINE` after the headers, long before the server is done."""
    with pytest.raises(TransportError) as late:
        refresh(kind, trickle.url)
    assert 0 < trickle.sent < trickle.trickled
    assert late.value.maybe_delivered is True
    assert "RT-old" not in str(late.value)


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_trickled_headers_are_cut_off_at_the_deadline(
    slow_head: Trickle, short_deadline: float, kind: str
) -> None:
    """Each header byte within the read timeout: the client brandkit makes gives up
    `DEADLINE` after the request, before the headers are whole (it waited as long as the
    server liked, holding the store's lock)."""
    with pytest.raises(TransportError) as late:
        refresh(kind, slow_head.url)
    assert 0 < slow_head.sent < slow_head.trickled - len(ANSWER)  # inside the headers
    assert late.value.maybe_delivered is True


def test_behind_a_proxy_the_runner_keeps_httpxs_own_client(
    monkeypatch: pytest.MonkeyPatch, short_deadline: float
) -> None:
    """The client made with the headers' deadline reads no proxy from the environment, so
    where one is set the runner makes httpx's client, which does (here told to go direct
    to 127.0.0.1)."""
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    assert _core._environment_proxies()
    server = Trickle(ANSWER)
    try:
        assert auth.x.refresh(creds(server.url)).access_token.get_secret_value() == "AT-new"
    finally:
        server.close()


def test_an_answer_sent_at_once_is_read(short_deadline: float) -> None:
    server = Trickle(ANSWER)
    try:
        new = auth.x.refresh(creds(server.url))
    finally:
        server.close()
    assert new.access_token.get_secret_value() == "AT-new"
    assert new.refresh_token is not None and new.refresh_token.get_secret_value() == "RT-new"
