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


def test_an_answer_sent_at_once_is_read(short_deadline: float) -> None:
    server = Trickle(ANSWER)
    try:
        new = auth.x.refresh(creds(server.url))
    finally:
        server.close()
    assert new.access_token.get_secret_value() == "AT-new"
    assert new.refresh_token is not None and new.refresh_token.get_secret_value() == "RT-new"
