"""A window length that contradicts the reset does not cut the wait short.

A window of known length ends at most one window after an answer it counted, and the
governor uses that bound to drop the second a truncated whole-second reset is padded with.
When ``RateLimit-Policy`` gives a window shorter than the reset the same answer sends
(``w=1`` beside a reset 60 s away: a garbled policy, or one that names another limit), the
bound used to win: the next request went out after ``w`` seconds, into a refusal. The reset
the server sent now holds whenever it lies further than a window away.
"""

from __future__ import annotations

import httpx
import pytest

from brandkit._hooks import BucketKey
from brandkit.governor import Governor
from tests.governor.conftest import T0, FakeClock

KEY = BucketKey("bluesky", "bsky.social", "bluesky:brand", "write")


def _headers(window: str, reset: float) -> dict[str, str]:
    return {
        "RateLimit-Limit": "10",
        "RateLimit-Remaining": "0",
        "RateLimit-Reset": str(int(reset)),
        "RateLimit-Policy": f"10;w={window}",
    }


@pytest.mark.parametrize("window", ["0.000000001", "0.5", "1", "30"])
@pytest.mark.parametrize("status", [200, 429])
def test_a_policy_window_shorter_than_the_reset_does_not_cut_the_wait(
    clock: FakeClock, window: str, status: int
) -> None:
    gov = Governor(clock=clock)
    assert gov.acquire(KEY, 1, ()) == 0.0
    wait = gov.observe(KEY, httpx.Response(status, headers=_headers(window, T0 + 60)))
    if status == 429:
        assert wait == pytest.approx(61.0)
    assert gov.acquire(KEY, 1, ()) == pytest.approx(61.0)


@pytest.mark.parametrize(("window", "expected"), [("60", 60.0), ("3600", 61.0)])
def test_a_consistent_policy_window_still_bounds_a_truncated_reset(
    clock: FakeClock, window: str, expected: float
) -> None:
    """A window of 60 s that counted this request ends within 60 s of its answer, however
    the whole-second reset was truncated; a longer window leaves the padded reset."""
    gov = Governor(clock=clock)
    gov.acquire(KEY, 1, ())
    gov.observe(KEY, httpx.Response(200, headers=_headers(window, T0 + 60)))
    assert gov.acquire(KEY, 1, ()) == pytest.approx(expected)
