"""A rate-limit header sent twice, or folded into one line, is read on the safe side.

A proxy or CDN in front of a platform may add its own copy of a header the platform sends
(``add_header`` beside the origin's), and some join the copies into one comma-separated line
as RFC 9110 allows for list fields. Only the last copy used to be read, and a folded one not
at all: ``x-rate-limit-remaining: 0`` followed by ``x-rate-limit-remaining: 5`` sent the next
request into a refusal. Now the copies are combined: the fewest remaining, the smallest limit,
the latest reset, the longest wait, the highest usage.
"""

from __future__ import annotations

import httpx
import pytest

from brandkit._hooks import BucketKey
from brandkit.governor import Governor, parse_rate_limit
from brandkit.platforms._base import RatePolicy
from tests.governor.conftest import T0, FakeClock

KEY = BucketKey("x", "api.x.com", "x:brand", "post")
POLICIES = (RatePolicy("post", 100, 900),)
RESET = T0 + 60


def _answer(status: int, headers: list[tuple[str, str]]) -> httpx.Response:
    return httpx.Response(status, headers=headers, request=httpx.Request("POST", "https://h/"))


@pytest.mark.parametrize(
    "remaining",
    [
        [("x-rate-limit-remaining", "0"), ("x-rate-limit-remaining", "5")],
        [("x-rate-limit-remaining", "5"), ("x-rate-limit-remaining", "0")],
        [("x-rate-limit-remaining", "0, 5")],
        [("x-rate-limit-remaining", "5,0")],
    ],
    ids=["0 then 5", "5 then 0", "folded 0, 5", "folded 5,0"],
)
def test_duplicated_remaining_takes_the_fewest(
    clock: FakeClock, remaining: list[tuple[str, str]]
) -> None:
    """Of two ``remaining`` values the smaller holds: the next request waits for the reset."""
    gov = Governor(clock=clock)
    assert gov.acquire(KEY, 1, POLICIES) == 0.0
    headers = [
        ("x-rate-limit-limit", "100"),
        *remaining,
        ("x-rate-limit-reset", str(int(RESET))),
    ]
    gov.observe(KEY, _answer(200, headers))
    assert gov.acquire(KEY, 1, POLICIES) == pytest.approx(RESET + 1.0 - T0)


@pytest.mark.parametrize(
    "resets",
    [
        [str(int(RESET)), str(int(T0 + 600))],
        [str(int(T0 + 600)), str(int(RESET))],
        [f"{int(RESET)}, {int(T0 + 600)}"],
    ],
    ids=["early then late", "late then early", "folded"],
)
def test_duplicated_reset_takes_the_latest(clock: FakeClock, resets: list[str]) -> None:
    """Of two resets of a spent window the later holds."""
    gov = Governor(clock=clock)
    gov.acquire(KEY, 1, POLICIES)
    headers = [("x-rate-limit-limit", "100"), ("x-rate-limit-remaining", "0")]
    headers += [("x-rate-limit-reset", value) for value in resets]
    gov.observe(KEY, _answer(200, headers))
    assert gov.acquire(KEY, 1, POLICIES) == pytest.approx(601.0)


@pytest.mark.parametrize(
    "values",
    [["120", "5"], ["5", "120"], ["5, 120"]],
    ids=["long then short", "short then long", "folded"],
)
def test_duplicated_retry_after_takes_the_longest(clock: FakeClock, values: list[str]) -> None:
    """A 429 with two ``Retry-After`` values is repeated after the longer one."""
    gov = Governor(clock=clock)
    gov.acquire(KEY, 1, POLICIES)
    wait = gov.observe(KEY, _answer(429, [("Retry-After", value) for value in values]))
    assert wait == pytest.approx(120.0)
    assert gov.acquire(KEY, 1, POLICIES) == pytest.approx(120.0)


def test_a_retry_after_date_is_not_split_at_its_comma() -> None:
    """``Retry-After: Fri, 15 Jan 2027 08:00:30 GMT`` is one date, not two values."""
    response = _answer(429, [("Retry-After", "Fri, 15 Jan 2027 08:00:30 GMT")])
    info = parse_rate_limit(response, now=T0)  # T0 is 08:00:00 GMT that day
    assert info is not None
    assert info.retry_after == pytest.approx(30.0)


@pytest.mark.parametrize(
    "usages",
    [
        ['{"call_count":100}', '{"call_count":10}'],
        ['{"call_count":10}', '{"call_count":100}'],
    ],
    ids=["high then low", "low then high"],
)
def test_duplicated_usage_takes_the_highest(clock: FakeClock, usages: list[str]) -> None:
    """Meta usage sent twice: the higher percentage throttles."""
    key = BucketKey("facebook", "graph.facebook.com", "facebook:page", "feed")
    gov = Governor(clock=clock)
    gov.acquire(key, 1, ())
    gov.observe(key, _answer(200, [("X-App-Usage", value) for value in usages]))
    assert gov.acquire(key, 1, ()) > 0.0


@pytest.mark.parametrize("limits", [["100", "10"], ["10", "100"]])
def test_duplicated_limit_takes_the_smallest(limits: list[str]) -> None:
    """Of two limits the smaller is believed (the budget after the reset)."""
    headers = [
        *[("x-rate-limit-limit", value) for value in limits],
        ("x-rate-limit-remaining", "3"),
        ("x-rate-limit-reset", str(int(RESET))),
    ]
    info = parse_rate_limit(_answer(200, headers), now=T0)
    assert info is not None
    assert [(w.limit, w.remaining) for w in info.windows] == [(10, 3)]


def test_iso_resets_sent_twice_take_the_latest() -> None:
    """Mastodon's ISO 8601 resets, duplicated: the later one."""
    headers = [
        ("X-RateLimit-Limit", "300"),
        ("X-RateLimit-Remaining", "0"),
        ("X-RateLimit-Reset", "2027-01-15T11:00:00.308110Z"),
        ("X-RateLimit-Reset", "2027-01-15T08:05:00.308110Z"),
    ]
    info = parse_rate_limit(_answer(200, headers), now=T0)
    assert info is not None
    (win,) = info.windows
    assert win.reset == pytest.approx(T0 + 3 * 3600 + 0.308110, abs=1e-6)


@pytest.mark.parametrize(
    "items",
    ['"burst";r=50;t=30, "day";r=0;t=3000', '"day";r=0;t=3000, "burst";r=50;t=30'],
    ids=["spent last", "spent first"],
)
def test_structured_list_reads_the_limit_closest_to_exhaustion(items: str) -> None:
    """The IETF structured ``RateLimit`` field may list several limits: the spent one holds,
    whatever its place in the list."""
    info = parse_rate_limit(_answer(429, [("RateLimit", items)]), now=T0)
    assert info is not None
    (win,) = info.windows
    assert (win.remaining, win.reset) == (0, T0 + 3000)
