"""Rate-limit headers on answers that did what was asked cannot park an account (found by the
soak: a poisoned ``Retry-After`` on a 200 held a post back for the 24-hour cap)."""

from __future__ import annotations

import httpx
import pytest

from brandkit.governor import parse_rate_limit

NOW = 1_800_000_000.0


@pytest.mark.parametrize("value", ["1e300", "30", "Wed, 21 Oct 2037 07:28:00 GMT"])
@pytest.mark.parametrize("status", [200, 201, 204, 400, 404])
def test_retry_after_is_ignored_unless_the_answer_refused(status: int, value: str) -> None:
    """Retry-After on a success or a plain client error says nothing about pacing."""
    response = httpx.Response(status, headers={"retry-after": value})
    info = parse_rate_limit(response, now=NOW)
    assert info is None or info.retry_after is None


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_on_a_refusal_is_honoured_and_capped(status: int) -> None:
    """On a 429 or 503 it is the wait, within the cap."""
    assert parse_rate_limit(httpx.Response(status, headers={"retry-after": "30"}), now=NOW)
    info = parse_rate_limit(
        httpx.Response(status, headers={"retry-after": "30"}), now=NOW, max_wait=3600
    )
    assert info is not None and info.retry_after == pytest.approx(30.0)
    huge = parse_rate_limit(
        httpx.Response(status, headers={"retry-after": "1e300"}), now=NOW, max_wait=3600
    )
    assert huge is None or huge.retry_after is None or huge.retry_after <= 3600
