"""Clock skew: a server's absolute resets are read on the server's clock, not ours.

With the client 0.1 s ahead of a Mastodon server, the governor used to send the first
request of each window 0.1 s before the server's window ended: one 429 per window. The
server's clock is now estimated from its ``Date`` header and the request's timing (and,
for Rack::Attack, from the request time its resets carry), per origin.
"""

from __future__ import annotations

import email.utils
import math

import httpx
import pytest

from brandkit._hooks import BucketKey
from brandkit.governor import Governor
from brandkit.governor._skew import MARGIN_CAP, MARGIN_STEP, ServerClock
from brandkit.platforms._base import RatePolicy
from tests.governor.conftest import T0, FakeClock, WindowedFake

KEY = BucketKey("fake", "127.0.0.1", "fake:a1", "post")
UP, DOWN = 0.003, 0.002  # request and answer latency


class SkewedServer:
    """A :class:`WindowedFake` whose clock is ``offset`` seconds ahead of ours (negative:
    behind), stamping every answer with ``Date`` (whole seconds of its clock, as HTTP
    servers do). ``date_offset`` lets a front proxy's clock differ from the counter's."""

    def __init__(
        self,
        clock: FakeClock,
        offset: float,
        style: str,
        *,
        limit: int = 30,
        window: float = 3.0,
        date_offset: float | None = None,
        origin: str = "https://mastodon.example",
    ) -> None:
        self.clock = clock
        self.offset = offset
        self.date_offset = offset if date_offset is None else date_offset
        self.fake = WindowedFake(lambda: clock() + offset, limit, window, style=style)
        self.origin = origin
        self.refusals: list[float] = []  # when, on the server's clock

    def __call__(self) -> httpx.Response:
        request = httpx.Request("POST", self.origin + "/post")
        response = self.fake(request)
        if response.status_code == 429:
            self.refusals.append(self.clock() + self.offset)
        date = math.floor(self.clock() + self.date_offset)
        response.headers["Date"] = email.utils.formatdate(date, usegmt=True)
        response.request = request
        return response


def run(gov: Governor, clock: FakeClock, server: SkewedServer, n: int) -> list[float]:
    """Send ``n`` accepted requests as fast as the governor lets; their send times on the
    *server's* clock."""
    policies = (RatePolicy("post", server.fake.limit, server.fake.window),)
    times: list[float] = []
    while len(times) < n:
        wait = gov.acquire(KEY, 1, policies)
        if wait > 0:
            clock.advance(wait)
            continue
        clock.advance(UP)
        arrived = clock() + server.offset
        response = server()
        clock.advance(DOWN)
        again = gov.observe(KEY, response)
        if again is not None:
            clock.advance(again)
            continue
        times.append(arrived)
    return times


def start_at(window: float, offset: float, phase: float) -> FakeClock:
    """A clock ``phase`` seconds after a boundary of the server's window."""
    server_start = T0 + 300 * window + phase
    return FakeClock(server_start - offset)


@pytest.mark.parametrize("offset", [0.3, -0.3, -0.1, 0.05, -0.9, 2.5])
@pytest.mark.parametrize("phase", [0.0, 0.37, 0.81, 1.6])
def test_mastodon_resets_on_a_skewed_server_clock(offset: float, phase: float) -> None:
    """Mastodon (ISO resets, Rack::Attack windows): whatever the skew and the phase of the
    first request, no 429, and every window after the first is entered within a few
    milliseconds of its boundary on the server's clock."""
    clock = start_at(3.0, offset, phase)
    server = SkewedServer(clock, offset, "mastodon")
    times = run(Governor(clock=clock), clock, server, 150)
    assert server.fake.refused == 0
    firsts = times[30::30]
    for first in firsts[1:]:
        # The proof of alignment and the offset both need the first window's answers.
        assert 0.0 <= first % 3.0 <= 0.02, first % 3.0


@pytest.mark.parametrize("offset", [0.3, -0.3, -0.1, 0.05])
def test_x_epoch_resets_on_a_skewed_server_clock(offset: float) -> None:
    """X (whole-second epoch resets): no 429 with the client ahead or behind, and the
    windows are entered within a few milliseconds of their boundaries once alignment and
    the offset are known (from a first request just after a boundary)."""
    clock = start_at(3.0, offset, 0.0)
    server = SkewedServer(clock, offset, "x", origin="https://api.x.example")
    times = run(Governor(clock=clock), clock, server, 150)
    assert server.fake.refused == 0
    for first in times[60::30]:
        assert 0.0 <= first % 3.0 <= 0.03, first % 3.0


@pytest.mark.parametrize("offset", [0.3, -0.3])
def test_throughput_with_skew_is_at_least_097(offset: float) -> None:
    """The issue's goal on the fake server: >= 0.97 of the allowed rate, no 429, for 300
    posts through 30 per 3 s with the client 0.3 s ahead of or behind the server."""
    for style in ("mastodon", "x"):
        clock = start_at(3.0, offset, 0.0)
        server = SkewedServer(clock, offset, style)
        times = run(Governor(clock=clock), clock, server, 300)
        t_min = (math.ceil(300 / 30) - 1) * 3.0
        assert server.fake.refused == 0
        assert t_min / (times[-1] - times[0]) >= 0.97


def test_without_date_the_server_clock_is_taken_as_ours(clock: FakeClock) -> None:
    """No ``Date`` header, nothing to correct with: resets are used as sent (no offset)."""
    server = SkewedServer(clock, 0.0, "mastodon")
    gov = Governor(clock=clock)
    run(gov, clock, server, 5)
    response = server()
    del response.headers["Date"]
    gov.observe(KEY, response)
    assert gov._servers.get(response) is not None
    (state,) = gov._servers._clocks.values()
    assert state.lo is not None  # learned from the earlier answers, which had one


def test_offsets_are_kept_per_origin() -> None:
    """Two servers with different clocks, one governor: each keeps its own offset."""
    clock = FakeClock()
    gov = Governor(clock=clock)
    ahead = SkewedServer(clock, 0.4, "mastodon", origin="https://a.example")
    behind = SkewedServer(clock, -0.4, "mastodon", origin="https://b.example:8443")
    run(gov, clock, ahead, 40)
    run(gov, clock, behind, 40)
    clocks = gov._servers._clocks
    assert set(clocks) == {"https://a.example:443", "https://b.example:8443"}
    a, b = clocks["https://a.example:443"], clocks["https://b.example:8443"]
    assert a.lo is not None and a.hi is not None and a.lo <= 0.4 <= a.hi
    assert b.lo is not None and b.hi is not None and b.lo <= -0.4 <= b.hi


def test_refusal_despite_the_correction_widens_the_margin() -> None:
    """A 429 for a request sent after the corrected reset (the Date-stamping front and the
    rate limiter disagree) widens the server's margin: its resets are then awaited
    ``margin`` seconds longer."""
    clock = FakeClock(T0 + 0.5)
    gov = Governor(clock=clock)
    request = httpx.Request("POST", "https://m.example/post")
    policies = (RatePolicy("post", 2, 3.0),)

    def answer(status: int, remaining: int) -> httpx.Response:
        headers = {
            "X-RateLimit-Limit": "2",
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": str(int(T0 + 3)),
            "Date": email.utils.formatdate(math.floor(clock()), usegmt=True),
        }
        return httpx.Response(status, headers=headers, request=request)

    for remaining in (1, 0):
        assert gov.acquire(KEY, 1, policies) == 0.0
        gov.observe(KEY, answer(200, remaining))
    wait = gov.acquire(KEY, 1, policies)
    assert wait > 0
    clock.advance(wait)
    assert gov.acquire(KEY, 1, policies) == 0.0
    (state,) = gov._servers._clocks.values()
    assert state.margin == 0.0
    gov.observe(KEY, answer(429, 0))
    assert state.margin == MARGIN_STEP
    before = state.shift(clock())
    state.widen()
    assert state.shift(clock()) == pytest.approx(before - 2 * MARGIN_STEP)
    for _ in range(10):
        state.widen()
    assert state.margin == MARGIN_CAP


def test_date_bounds_the_offset() -> None:
    """``Date: D`` on an answer seen at ``r`` to a request granted at ``a`` says
    ``D - r <= offset < D + 1 - a``; the tightest bounds are kept."""
    state = ServerClock()
    state.learn_date(1000.0, 999.0, 999.5)  # offset in [0.5, 2.0]
    assert (state.lo, state.hi) == (0.5, 2.0)
    state.learn_date(1001.0, 999.9, 1000.0)  # offset in [1.0, 2.1]
    assert (state.lo, state.hi) == (1.0, 2.0)
    assert state.shift(1000.0) == 1.0


def test_date_without_a_grant_still_bounds_from_below(clock: FakeClock) -> None:
    """An answer observed without an ``acquire`` (its send time unknown) still gives the
    lower bound, the one that keeps requests from going early."""
    gov = Governor(clock=clock)
    request = httpx.Request("GET", "https://h.example/")
    date = email.utils.formatdate(math.floor(clock() + 0.5), usegmt=True)
    gov.observe(KEY, httpx.Response(200, headers={"Date": date}, request=request))
    (state,) = gov._servers._clocks.values()
    assert state.lo == pytest.approx(0.0)
    assert state.hi is None


def test_contradiction_starts_over() -> None:
    """An answer outside the bounds (a clock was stepped) replaces them."""
    state = ServerClock()
    state.learn_date(1000.0, 999.0, 999.5)
    state.learn_date(2000.0, 999.7, 999.8)  # offset in [1000.2, 1001.3]: stepped
    assert state.lo == pytest.approx(1000.2)
    assert state.hi == pytest.approx(1001.3)


def test_bounds_age_with_drift() -> None:
    """Old bounds loosen by 100 ppm of their age, so drifting clocks stay inside them."""
    state = ServerClock()
    state.learn(0.3, 0.31, 0.0)
    lo, hi = state.bounds(3600.0)
    assert lo == pytest.approx(0.3 - 0.36)
    assert hi == pytest.approx(0.31 + 0.36)


def test_rack_attack_fraction_pins_the_offset() -> None:
    """A Rack::Attack reset's fraction is the server's request time's: with ``Date`` it
    gives the offset within the round trip, when the bounds leave a single second."""
    state = ServerClock()
    # True offset 0.3; request granted at 99.99 (ours), counted at 100.29 (server), Date
    # 100, answer at 100.0 (ours).
    state.learn_date(100.0, 99.99, 100.0)
    assert state.lo == pytest.approx(0.0) and state.hi == pytest.approx(1.01)
    state.learn_request_time(0.29, 100.0, 99.99, 100.0)
    assert state.lo == pytest.approx(0.29)
    assert state.hi == pytest.approx(0.30)


def test_ambiguous_fraction_is_not_used() -> None:
    """A fraction that fits two whole seconds within the bounds teaches nothing."""
    state = ServerClock()
    state.learn(-2.0, 2.0, 100.0)
    state.learn_request_time(0.5, 100.0, 99.0, 100.0)
    assert (state.lo, state.hi) == (-2.0, 2.0)


@pytest.mark.parametrize(
    "date",
    ["Fri, 31 Dec 9999 23:59:59 GMT", "Thu, 01 Jan 1970 00:00:00 GMT", "yesterday", "9" * 80],
)
def test_hostile_date_is_ignored(clock: FakeClock, date: str) -> None:
    """A ``Date`` a day or more off, or unreadable, teaches nothing and raises nothing."""
    gov = Governor(clock=clock)
    request = httpx.Request("GET", "https://h.example/")
    gov.acquire(KEY, 1, ())
    gov.observe(KEY, httpx.Response(200, headers={"Date": date}, request=request))
    (state,) = gov._servers._clocks.values()
    assert state.lo is None and state.hi is None


def test_a_cached_answers_date_is_not_the_servers_clock(clock: FakeClock) -> None:
    """An answer a cache served (``Age``) carries the origin's Date from when it was made:
    two hours old, it would make the server two hours behind and hold every absolute reset
    two hours longer. It teaches nothing; the same Date without Age would."""
    gov = Governor(clock=clock)
    request = httpx.Request("GET", "https://h.example/")
    stale = email.utils.formatdate(clock.now - 7200, usegmt=True)
    gov.acquire(KEY, 1, ())
    gov.observe(KEY, httpx.Response(429, headers={"Date": stale, "Age": "7200"}, request=request))
    (state,) = gov._servers._clocks.values()
    assert state.lo is None and state.hi is None
    gov.acquire(KEY, 1, ())
    gov.observe(KEY, httpx.Response(200, headers={"Date": stale}, request=request))
    assert state.lo is not None and state.lo < -7000
