"""Whole runs against windowed fakes: the allowed rate is used fully, with no 429."""

from __future__ import annotations

import math
import random

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from brandkit._hooks import BucketKey
from brandkit.governor import Governor
from brandkit.platforms._base import RatePolicy
from tests.governor.conftest import T0, FakeClock, WindowedFake

KEY = BucketKey("fake", "127.0.0.1", "fake:a1", "post")
LATENCY = 0.002


def run(
    gov: Governor, clock: FakeClock, fake: WindowedFake, n: int, policies: tuple[RatePolicy, ...]
) -> float:
    """Send ``n`` accepted requests as fast as the governor lets; return the wall time
    from the first send to the last one."""
    start = clock()
    last = start
    sent = 0
    while sent < n:
        wait = gov.acquire(KEY, 1, policies)
        if wait > 0:
            clock.advance(wait)
            continue
        last = clock()
        response = fake(httpx.Request("POST", "http://127.0.0.1/post"))
        clock.advance(LATENCY)
        again = gov.observe(KEY, response)
        if again is not None:
            clock.advance(again)
            continue
        sent += 1
    return last - start


CASES = [(30, 3.0, 120), (100, 10.0, 250), (7, 2.0, 50)]


@pytest.mark.parametrize(("limit", "window", "n"), CASES)
@pytest.mark.parametrize("style", ["both", "mastodon", "ietf"])
def test_aligned_windows_are_used_fully(limit: int, window: float, n: int, style: str) -> None:
    """On an epoch-aligned server the last request goes out at T_min (plus latency), and
    none is refused."""
    clock = FakeClock()
    fake = WindowedFake(clock, limit, window, style=style)
    wall = run(Governor(clock=clock), clock, fake, n, (RatePolicy("post", limit, window),))
    t_min = (math.ceil(n / limit) - 1) * window
    assert fake.refused == 0
    assert fake.ok == n
    slack = (n % limit or limit) * LATENCY + 0.01
    if style == "ietf":
        slack += 1.0  # Bluesky floors its resets: the first window is padded until proven
    assert t_min <= wall <= t_min + slack


@pytest.mark.parametrize(("limit", "window", "n"), CASES)
def test_x_style_aligned_windows_lose_one_second_once(limit: int, window: float, n: int) -> None:
    """With X's whole-second resets only, starting mid-window, alignment is proven at the
    second window: only the first wait carries the 1 s resolution."""
    phase = 0.4 * window
    clock = FakeClock(T0 + phase)
    fake = WindowedFake(clock, limit, window, style="x")
    wall = run(Governor(clock=clock), clock, fake, n, (RatePolicy("post", limit, window),))
    windows = math.ceil(n / limit)
    earliest = (window - phase) + (windows - 2) * window
    assert fake.refused == 0
    assert earliest <= wall <= earliest + 1.0 + limit * LATENCY + 0.01


@pytest.mark.parametrize(("limit", "window", "n"), CASES)
def test_x_style_window_opened_by_us_loses_only_latency(limit: int, window: float, n: int) -> None:
    """Starting on a window boundary, the first window is bounded by one window after its
    first answer: no second is added even before alignment is proven."""
    clock = FakeClock()
    fake = WindowedFake(clock, limit, window, style="x")
    wall = run(Governor(clock=clock), clock, fake, n, (RatePolicy("post", limit, window),))
    t_min = (math.ceil(n / limit) - 1) * window
    assert fake.refused == 0
    assert t_min <= wall <= t_min + 2 * LATENCY + limit * LATENCY + 0.01


@pytest.mark.parametrize(("limit", "window", "n"), CASES)
@pytest.mark.parametrize("style", ["x", "mastodon", "both", "ietf"])
@pytest.mark.parametrize("offset", [0.0, 0.37, 0.999])
def test_windows_starting_at_first_request_never_refuse(
    limit: int, window: float, n: int, style: str, offset: float
) -> None:
    """A server whose windows start with the first request and truncate their resets
    (as X and Bluesky do) never refuses, whatever the phase of the first request."""
    clock = FakeClock(T0 + offset)
    fake = WindowedFake(clock, limit, window, style=style, aligned=False)
    wall = run(Governor(clock=clock), clock, fake, n, (RatePolicy("post", limit, window),))
    windows = math.ceil(n / limit) - 1
    assert fake.refused == 0
    # Each window ends one window after the answer to its first request at the latest.
    assert wall <= windows * (window + 2 * LATENCY) + limit * LATENCY + 0.01


@pytest.mark.parametrize("style", ["x", "mastodon", "both", "ietf"])
def test_no_declared_policy_costs_at_most_one_refusal(style: str) -> None:
    """Knowing nothing of the limit, the governor learns it from the first answers: no
    request is refused."""
    clock = FakeClock()
    fake = WindowedFake(clock, 10, 5.0, style=style)
    run(Governor(clock=clock), clock, fake, 45, ())
    assert fake.refused == 0


def test_bare_server_with_declared_policy_never_refuses() -> None:
    """A platform that sends no header (LinkedIn, Telegram) is paced by the declared policy."""
    for aligned in (True, False):
        clock = FakeClock(T0 + 0.5)
        fake = WindowedFake(clock, 5, 3.0, style="none", aligned=aligned)
        run(Governor(clock=clock), clock, fake, 23, (RatePolicy("post", 5, 3.0),))
        assert fake.refused == 0


def test_bare_server_without_policy_never_storms() -> None:
    """Without headers and without a declared policy 429s happen, but the backoff spreads
    them: a few per window, never a burst."""
    clock = FakeClock()
    refusals: list[float] = []

    class Recording(WindowedFake):
        def __call__(self, request: httpx.Request) -> httpx.Response:
            response = super().__call__(request)
            if response.status_code == 429:
                refusals.append(self.clock())
            return response

    fake = Recording(clock, 5, 3.0, style="none")
    run(Governor(clock=clock, rng=random.Random(5)), clock, fake, 30, ())
    assert refusals
    windows = math.ceil((clock() - T0) / 3.0)
    assert len(refusals) <= 4 * windows
    busiest = max(sum(1 for u in refusals[i:] if u < t + 1.0) for i, t in enumerate(refusals))
    assert busiest <= 3


@settings(max_examples=60, deadline=None)
@given(
    limit=st.integers(1, 8),
    window=st.sampled_from([1.0, 2.5, 10.0]),
    gaps=st.lists(st.floats(0.0, 4.0), min_size=5, max_size=60),
    costs=st.lists(st.integers(1, 3), min_size=5, max_size=60),
)
def test_local_pacing_never_exceeds_limit_in_any_span(
    limit: int, window: float, gaps: list[float], costs: list[int]
) -> None:
    """Paced by a declared policy only, the units sent in any span of one window never
    exceed the limit (safe against fixed and sliding windows alike)."""
    clock = FakeClock()
    gov = Governor(clock=clock)
    policies = (RatePolicy("post", limit, window),)
    sent: list[tuple[float, int]] = []
    for gap, cost in zip(gaps, costs, strict=False):
        clock.advance(gap)
        cost = min(cost, limit)
        while (wait := gov.acquire(KEY, cost, policies)) > 0:
            clock.advance(wait)
        sent.append((clock(), cost))
    for i, (t, _) in enumerate(sent):
        assert sum(c for u, c in sent[i:] if u < t + window) <= limit


def simulate(
    clock: FakeClock, fake: WindowedFake, gov: Governor, actors: int, latency: float, n: int
) -> None:
    """``actors`` concurrent senders on one key, each waiting for its answer before its next
    request; requests reach the server ``latency`` after they are sent and the answer takes
    as long again. Runs until ``n`` requests were accepted."""
    import heapq

    policies = (RatePolicy("post", fake.limit, fake.window),)
    events: list[tuple[float, int, int, str, httpx.Response | None]] = []
    seq = 0

    def at(when: float, actor: int, kind: str, response: httpx.Response | None = None) -> None:
        nonlocal seq
        seq += 1
        heapq.heappush(events, (when, seq, actor, kind, response))

    for actor in range(actors):
        at(clock(), actor, "acquire")
    accepted = 0
    while accepted < n:
        when, _, actor, kind, response = heapq.heappop(events)
        clock.now = max(clock.now, when)
        if kind == "acquire":
            wait = gov.acquire(KEY, 1, policies)
            if wait > 0:
                at(clock() + wait, actor, "acquire")
            else:
                at(clock() + latency, actor, "arrive")
        elif kind == "arrive":
            at(clock() + latency, actor, "answer", fake(httpx.Request("POST", "http://x/")))
        else:
            assert response is not None
            again = gov.observe(KEY, response)
            if again is not None:
                at(clock() + again, actor, "acquire")
            else:
                accepted += 1
                at(clock(), actor, "acquire")


@pytest.mark.parametrize("style", ["x", "mastodon", "both", "ietf"])
@pytest.mark.parametrize("aligned", [True, False])
@pytest.mark.parametrize(("actors", "latency"), [(2, 0.05), (8, 0.05), (12, 0.13), (7, 0.011)])
def test_concurrent_senders_across_window_boundaries(
    style: str, aligned: bool, actors: int, latency: float
) -> None:
    """Several senders sharing one budget, with requests in flight when a window resets
    (they may count in either window): none is refused."""
    clock = FakeClock(T0 + 0.3)
    fake = WindowedFake(clock, 5, 2.0, style=style, aligned=aligned)
    simulate(clock, fake, Governor(clock=clock), actors, latency, 60)
    assert fake.refused == 0
