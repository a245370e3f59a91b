"""``Client(timeout=)`` and ``AsyncClient(timeout=)`` are checked when the client is made: NaN
or infinity sent every request without a read timeout (httpx takes them), and a negative
one failed every request as timed out, far from where it was given."""

from __future__ import annotations

import asyncio

import pytest

from brandkit import AsyncClient, Client
from brandkit.errors import ConfigurationError


@pytest.mark.parametrize("timeout", [float("nan"), float("inf"), -1.0, 0, True, "30"])
@pytest.mark.parametrize("kind", [Client, AsyncClient])
def test_a_timeout_that_is_no_seconds_is_refused(kind: type, timeout: object) -> None:
    with pytest.raises(ConfigurationError, match="timeout must be a positive number"):
        kind(timeout=timeout)


def test_a_good_timeout_is_taken() -> None:
    with Client(timeout=2.5) as client:
        assert client._http.timeout.read == 2.5

    async def main() -> float | None:
        async with AsyncClient(timeout=2.5) as client:
            return client._http.timeout.read

    assert asyncio.run(main()) == 2.5


@pytest.mark.parametrize("deadline", [float("inf"), True, "300"])
@pytest.mark.parametrize("kind", [Client, AsyncClient])
def test_a_deadline_that_is_no_bound_is_refused(kind: type, deadline: object) -> None:
    """``deadline`` bounds each request from its send to its last byte (a server trickling
    an answer): infinity was taken, so a request could last for ever, text raised a bare
    TypeError, and ``True`` was taken as one second."""
    with pytest.raises(ConfigurationError, match="deadline"):
        kind(deadline=deadline)


@pytest.mark.parametrize("agent", ["x\r\nEvil: 1", "café/1.0", 5, "", "   "])
@pytest.mark.parametrize("kind", [Client, AsyncClient])
def test_a_user_agent_that_cannot_be_sent_is_refused(kind: type, agent: object) -> None:
    """``user_agent`` goes into every request's header: a line break, a non-ASCII letter or
    a number was taken, and every delivery then failed at its first request (an "internal
    error" with a traceback, or "Illegal header value"), far from where it was given."""
    with pytest.raises(ConfigurationError, match="user_agent"):
        kind(user_agent=agent)


def test_a_good_user_agent_is_taken() -> None:
    with Client(user_agent="acme-bot/2.1 (+https://acme.example/bot)") as client:
        assert client._core.user_agent == "acme-bot/2.1 (+https://acme.example/bot)"
