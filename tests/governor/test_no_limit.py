"""A window whose limit is missing, unreadable or 0 still holds its senders when spent.

``X-RateLimit-Remaining: 0`` with a reset but no readable ``X-RateLimit-Limit`` (a server or
proxy that sends none, a garbled value) used to be dropped whole: the next request went out at
once, and on a 429 only a jittered backoff of a second or less was waited instead of the reset.
A limit of ``0`` made a slot whose budget never ran out (``remaining >= limit``). Such a window
now holds its senders until its reset, and the requests after it still flow.
"""

from __future__ import annotations

import httpx
import pytest

from brandkit._hooks import BucketKey
from brandkit.governor import Governor
from tests.governor.conftest import T0, FakeClock

KEY = BucketKey("mastodon", "social.example", "mastodon:brand", "post")
RESET = T0 + 60


def _headers(limit: str | None, remaining: int, reset: float) -> dict[str, str]:
    out = {"X-RateLimit-Remaining": str(remaining), "X-RateLimit-Reset": str(int(reset))}
    if limit is not None:
        out["X-RateLimit-Limit"] = limit
    return out


LIMITS = [None, "0", "lots", "1e400", ""]


@pytest.mark.parametrize("limit", LIMITS)
@pytest.mark.parametrize("status", [200, 429])
def test_a_spent_window_without_a_limit_waits_for_its_reset(
    clock: FakeClock, limit: str | None, status: int
) -> None:
    """Remaining 0 and a reset in 60 s: nothing is sent before the reset (plus the second a
    whole-second reset may have been truncated by)."""
    gov = Governor(clock=clock)
    assert gov.acquire(KEY, 1, ()) == 0.0
    wait = gov.observe(KEY, httpx.Response(status, headers=_headers(limit, 0, RESET)))
    if status == 429:
        assert wait == pytest.approx(61.0)
    assert gov.acquire(KEY, 1, ()) == pytest.approx(61.0)
    clock.advance(30.0)
    assert gov.acquire(KEY, 1, ()) == pytest.approx(31.0)


@pytest.mark.parametrize("limit", LIMITS)
def test_after_the_reset_the_requests_flow_again(clock: FakeClock, limit: str | None) -> None:
    """Once the reset has passed a request goes, and the budget its answer reports is spent
    in the windows after (the limit taken is at least what the server said remained)."""
    gov = Governor(clock=clock)
    gov.acquire(KEY, 1, ())
    gov.observe(KEY, httpx.Response(200, headers=_headers(limit, 0, RESET)))
    clock.now = RESET + 1.0
    assert gov.acquire(KEY, 1, ()) == 0.0
    gov.observe(KEY, httpx.Response(200, headers=_headers(limit, 4, RESET + 60)))
    clock.now = RESET + 61.0
    granted = 0
    for _ in range(10):
        if gov.acquire(KEY, 1, ()) > 0.0:
            break
        granted += 1
        gov.observe(KEY, httpx.Response(200, headers=_headers(limit, 4 - granted, RESET + 120)))
    assert granted == 4
    assert gov.acquire(KEY, 1, ()) == pytest.approx(60.0)
