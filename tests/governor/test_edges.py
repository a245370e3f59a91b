"""Window edges of headerless platforms: a request counts when it *arrives*.

Telegram allows 20 messages per minute per group and sends no rate-limit header; the
governor paces by its own log of sends. A send is logged when it is granted but the server
counts it when it arrives: when the window's first request was slower than a later one (a
new connection, a busy network), the 21st message reached the server before the server's
window had ended, and was refused at about 60.4 s in 4 of 5 runs.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from brandkit._hooks import BucketKey
from brandkit.governor import Governor, SQLiteState
from brandkit.governor._governor import EDGE_MARGIN
from brandkit.platforms.telegram import TelegramAdapter
from tests.governor.conftest import FakeClock

KEY = BucketKey("telegram", "bot", "telegram:-100123", "send")
POLICIES = TelegramAdapter.rate_policies


class FirstArrivalWindow:
    """A server allowing ``limit`` requests per window that starts at the first request's
    arrival, as the Telegram emulator (and Telegram, by its FAQ) counts; it sends nothing
    about its limits, and answers a 429 with ``retry_after`` in the body."""

    def __init__(self, limit: int = 20, window: float = 60.0) -> None:
        self.limit = limit
        self.window = window
        self.start: float | None = None
        self.count = 0
        self.ok = 0
        self.refused: list[float] = []

    def arrive(self, now: float) -> httpx.Response:
        if self.start is None or now >= self.start + self.window:
            self.start, self.count = now, 0
        if self.count >= self.limit:
            self.refused.append(now)
            body = {"ok": False, "error_code": 429, "parameters": {"retry_after": 1}}
            return httpx.Response(429, json=body)
        self.count += 1
        self.ok += 1
        return httpx.Response(200, json={"ok": True, "result": {"message_id": self.ok}})


def send_messages(
    gov: Governor, clock: FakeClock, server: FirstArrivalWindow, n: int, uplinks: list[float]
) -> list[float]:
    """Send ``n`` messages one after the other; the i-th request takes ``uplinks[i]``
    seconds to reach the server (the answer 2 ms back). Returns the send times of the
    accepted messages."""
    times: list[float] = []
    attempt = 0
    while len(times) < n:
        wait = gov.acquire(KEY, 1, POLICIES)
        if wait > 0:
            clock.advance(wait)
            continue
        sent = clock()
        clock.advance(uplinks[attempt % len(uplinks)])
        attempt += 1
        response = server.arrive(clock())
        clock.advance(0.002)
        again = gov.observe(KEY, response)
        if again is not None:
            clock.advance(again)
            continue
        times.append(sent)
    return times


# The first request is slow (a new connection: 0.4 s), the later ones fast.
SLOW_FIRST = [0.4] + [0.002] * 200


@pytest.mark.parametrize(
    "uplinks",
    [SLOW_FIRST, [0.002], [0.4, 0.002, 0.3, 0.001, 0.25, 0.01, 0.002], [0.9] + [0.001] * 200],
    ids=["slow-first", "steady", "jittery", "very-slow-first"],
)
def test_telegram_group_pace_never_meets_a_window_edge(uplinks: list[float]) -> None:
    """100 messages to one group: none refused, whatever the request took to arrive, and
    the group's 20 per minute are still used (at least 0.98 of the allowed rate)."""
    clock = FakeClock()
    server = FirstArrivalWindow()
    times = send_messages(Governor(clock=clock), clock, server, 100, uplinks)
    assert server.refused == []
    assert server.ok == 100
    # Message 81 opens the fifth minute; the last 19 follow at one per second per chat.
    t_min = 4 * 60.0 + 19 * 1.0
    assert t_min / (times[-1] - times[0]) >= 0.98


def test_edge_grows_with_the_slowest_round_trip() -> None:
    """The 21st message waits one minute after the first, plus the fixed edge, plus the
    slowest recent round trip (the first request's 0.4 s + 2 ms)."""
    clock = FakeClock()
    times = send_messages(Governor(clock=clock), clock, FirstArrivalWindow(), 21, SLOW_FIRST)
    assert times[20] - times[0] == pytest.approx(60.0 + EDGE_MARGIN + 0.402)


def test_edge_is_bounded_by_a_share_of_the_window() -> None:
    """An answer that took a minute does not hold a 1-second window for a minute: the
    margin is at most 5 % of the window."""
    clock = FakeClock()
    gov = Governor(clock=clock)
    assert gov.acquire(KEY, 1, POLICIES) == 0.0
    clock.advance(60.0)
    gov.observe(KEY, httpx.Response(200, json={"ok": True}))
    assert gov.acquire(KEY, 1, POLICIES) == 0.0
    assert gov.acquire(KEY, 1, POLICIES) == pytest.approx(1.0 + 0.05)  # 1 per second per chat


def test_sqlite_state_paces_the_group_too(tmp_path: Path) -> None:
    """The same run through SQLite state: no refusal."""
    clock = FakeClock()
    server = FirstArrivalWindow()
    gov = Governor(SQLiteState(tmp_path / "g.db"), clock=clock)
    send_messages(gov, clock, server, 45, SLOW_FIRST)
    assert server.refused == []
    assert server.ok == 45
