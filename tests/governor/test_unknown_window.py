"""A window learnt only from headers that give no window length (no declared policy): once
its reset has passed, the budget of the next window is not handed out past its limit to
concurrent senders before an answer says when that window ends."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from brandkit._hooks import BucketKey
from brandkit.governor import Governor, MemoryState, SQLiteState
from brandkit.governor._slots import FLIGHT_TTL

T0 = 1_800_000_000.0
LIMIT = 3
KEY = BucketKey("fake", "app", "fake:a1", "post")


def answer(remaining: int, reset: float) -> httpx.Response:
    """X-style headers: limit, remaining and an epoch reset, no window length."""
    return httpx.Response(
        200,
        headers={
            "x-rate-limit-limit": str(LIMIT),
            "x-rate-limit-remaining": str(remaining),
            "x-rate-limit-reset": str(int(reset)),
        },
    )


@pytest.mark.parametrize("shared", [False, True], ids=["memory", "sqlite"])
def test_after_its_reset_concurrent_senders_get_the_limit_not_more(
    shared: bool, tmp_path: Path
) -> None:
    now = [T0]
    state = SQLiteState(tmp_path / "gov.db") if shared else MemoryState()
    governor = Governor(state, clock=lambda: now[0])
    for left in (2, 1, 0):
        assert governor.acquire(KEY, 1, ()) == 0
        governor.observe(KEY, answer(left, T0 + 60))
    assert governor.acquire(KEY, 1, ()) > 59  # the window is spent: wait for its reset
    now[0] = T0 + 62
    # 20 senders at once (threads, tasks, processes sharing the state), no answer yet:
    waits = [governor.acquire(KEY, 1, ()) for _ in range(20)]
    assert waits.count(0) == LIMIT
    assert all(0 < w <= 1 for w in waits if w)  # a short wait, asked again
    # The first answer says when the new window ends: the others wait for that.
    governor.observe(KEY, answer(0, T0 + 122))
    assert governor.acquire(KEY, 1, ()) > 59
    # Answers that never come do not hold the budget for ever.
    now[0] = T0 + 122 + FLIGHT_TTL + 1
    assert governor.acquire(KEY, 1, ()) == 0


@pytest.mark.parametrize("shared", [False, True], ids=["memory", "sqlite"])
def test_requests_lost_before_the_reset_do_not_hold_the_next_window(
    shared: bool, tmp_path: Path
) -> None:
    """A request sent in the old window whose answer never came (a dropped connection) is
    carried into the next as in flight: it may still count there, but its answer will
    never say when that window ends, so a sender does not wait for it. Before the fix it
    waited, 0.25 s at a time, until FLIGHT_TTL (two minutes: a docs example took 121 s)."""
    now = [T0]
    state = SQLiteState(tmp_path / "gov.db") if shared else MemoryState()
    governor = Governor(state, clock=lambda: now[0])
    assert governor.acquire(KEY, 1, ()) == 0
    governor.observe(KEY, answer(2, T0 + 60))
    assert governor.acquire(KEY, 2, ()) == 0  # sent; its answer is lost
    now[0] = T0 + 62
    # The lost request leaves 1 of 3 in the new window, and nothing of this window is in
    # flight: a request of 2 goes, and its answer will say where the window stands.
    assert governor.acquire(KEY, 2, ()) == 0
    # Now one of this window is in flight: the next waits a little for its answer.
    assert 0 < governor.acquire(KEY, 1, ()) <= 1
