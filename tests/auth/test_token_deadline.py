"""A token answer that trickles in (a byte at a time, each within the read timeout) is cut
off once its body has taken `DEADLINE` seconds: a refresh, and the credential store's lock
held around it, never waits on it for ever. A server on 127.0.0.1 sends the answer; an
honest answer's body follows its headers at once and is read whole."""

from __future__ import annotations

import json
import time
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


@pytest.fixture
def slow_head() -> Iterator[Trickle]:
    # The headers alone, ~100 bytes at 30 ms: about 3 s, six times the deadline.
    server = Trickle(ANSWER, step=0.03, head=True)
    yield server
    server.close()


def test_trickled_headers_are_cut_off_at_the_deadline(
    slow_head: Trickle, short_deadline: float
) -> None:
    """Each header byte within the read timeout, none of the body yet: the client brandkit
    makes gives up `DEADLINE` after the request (it waited as long as the server liked,
    holding the store's lock)."""
    began = time.monotonic()
    with pytest.raises(TransportError) as late:
        auth.x.refresh(creds(slow_head.url))
    assert time.monotonic() - began < short_deadline + 2.0
    assert late.value.maybe_delivered is True


@pytest.mark.anyio
async def test_trickled_headers_are_cut_off_at_the_deadline_async(
    slow_head: Trickle, short_deadline: float
) -> None:
    began = time.monotonic()
    with pytest.raises(TransportError):
        await auth.x.refresh_async(creds(slow_head.url))
    assert time.monotonic() - began < short_deadline + 2.0


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
