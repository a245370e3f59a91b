"""Meta usage headers with keys missing: a regain time alone still holds the account.

``X-Business-Use-Case-Usage`` lists, per business object, its counters and
``estimated_time_to_regain_access`` (minutes). An entry that carries the regain time but none
of the percentages (a trimmed entry, a proxy's rewrite, a newer type whose counters have other
names) was dropped whole: the account went on calling while Meta had said it was throttled,
and Meta extends a throttle on every call made during it.
"""

from __future__ import annotations

import httpx

from brandkit._hooks import BucketKey
from brandkit.governor import Governor, parse_rate_limit
from tests.governor.conftest import T0, FakeClock

PAGE = BucketKey("facebook", "graph.facebook.com", "facebook:page", "feed")
OTHER = BucketKey("facebook", "graph.facebook.com", "facebook:other", "feed")

REGAIN_ONLY = '{"1234": [{"type": "pages", "estimated_time_to_regain_access": 5}]}'


def test_a_regain_time_without_counters_is_read() -> None:
    info = parse_rate_limit(
        httpx.Response(200, headers={"X-Business-Use-Case-Usage": REGAIN_ONLY}), now=T0
    )
    assert info is not None
    assert info.retry_after == 300.0
    assert info.account_usage == 100.0  # throttled now: as spent as a counter at 100 %
    assert info.app_usage is None


def test_a_regain_time_without_counters_holds_the_account_only(clock: FakeClock) -> None:
    gov = Governor(clock=clock)
    assert gov.acquire(PAGE, 1, ()) == 0.0
    gov.observe(PAGE, httpx.Response(200, headers={"X-Business-Use-Case-Usage": REGAIN_ONLY}))
    assert gov.acquire(PAGE, 1, ()) == 300.0
    assert gov.acquire(OTHER, 1, ()) == 0.0  # another Page of the app is not held
    clock.advance(300.0)
    assert gov.acquire(PAGE, 1, ()) == 0.0


def test_a_zero_regain_time_without_counters_is_no_usage() -> None:
    """``estimated_time_to_regain_access: 0`` alone says nothing is throttled."""
    zero = '{"1234": [{"type": "pages", "estimated_time_to_regain_access": 0}]}'
    info = parse_rate_limit(httpx.Response(200, headers={"X-Business-Use-Case-Usage": zero}))
    assert info is None
