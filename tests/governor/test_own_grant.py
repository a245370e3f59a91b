"""An answer, a lost request or one never sent settles its own request's flight entry, not
"the oldest grant still awaited": the drivers send, observe and settle each request in the
thread or task that acquired it, and the governor knows that grant (its time and cost).

Matching answers to the oldest entry went wrong whenever requests of a bucket overlap: a
late answer to an old request took a newer request's entry out of flight while that one was
still in flight (so a window rolling over handed its units out again: more than the window
allows), and a newer request lost while an old one was in flight left its own entry behind
(so senders waited for an answer that would never come). Each test here fails on that code.

Every request of these tests is made in a context of its own, as by its own task."""

from __future__ import annotations

import contextvars
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from brandkit.governor import Governor, MemoryState, SQLiteState, StateStore
from brandkit.governor._slots import Slot
from brandkit.platforms._base import RatePolicy
from tests.governor.test_unknown_window import KEY, T0, answer

SCOPE = "fake|app|fake:a1|post"


def _state(shared: bool, tmp_path: Path) -> StateStore:
    return SQLiteState(tmp_path / "gov.db") if shared else MemoryState()


def headers(limit: int, remaining: int, reset: float) -> httpx.Response:
    """X-style headers (no window length) of a window of ``limit``."""
    return httpx.Response(
        200,
        headers={
            "x-rate-limit-limit": str(limit),
            "x-rate-limit-remaining": str(remaining),
            "x-rate-limit-reset": str(int(reset)),
        },
    )


def task() -> contextvars.Context:
    """The context of a task of its own (as `asyncio.create_task` gives one)."""
    return contextvars.copy_context()


def senders(governor: Governor, policies: tuple[RatePolicy, ...] = ()) -> int:
    """How many senders of one unit go at once (each in a task of its own)."""
    went = 0
    while task().run(governor.acquire, KEY, 1, policies) == 0:
        went += 1
        assert went < 100
    return went


@pytest.mark.parametrize("shared", [False, True], ids=["memory", "sqlite"])
def test_a_lost_request_leaves_an_older_one_in_flight(shared: bool, tmp_path: Path) -> None:
    """A request sent just before the reset is still in flight (carried into the new
    window); the new window's first request is lost. Its own entry goes: the next sender
    goes at once (nothing of the new window is awaited). The oldest-match took the carried
    request's entry instead and left the lost one's, so the next sender waited, 0.25 s at a
    time, for an answer that would never come."""
    now = [T0]
    governor = Governor(_state(shared, tmp_path), clock=lambda: now[0])
    assert governor.acquire(KEY, 1, ()) == 0
    governor.observe(KEY, answer(1, T0 + 60))
    carried, lost = task(), task()
    now[0] = T0 + 59
    assert carried.run(governor.acquire, KEY, 1, ()) == 0  # slow: in flight past the reset
    now[0] = T0 + 62
    assert lost.run(governor.acquire, KEY, 2, ()) == 0  # the new window's budget is spent
    lost.run(governor.unanswered, KEY)
    (slot,) = _slots(governor)
    assert slot.flight == [[T0 + 59, 1.0]]
    assert governor.acquire(KEY, 1, ()) == 0


@pytest.mark.parametrize("shared", [False, True], ids=["memory", "sqlite"])
def test_answers_out_of_order_keep_the_costlier_request_in_flight(
    shared: bool, tmp_path: Path
) -> None:
    """Two requests of different costs (Bluesky's points: a create 3, a delete 1; a Telegram
    album) in flight; the newer, cheaper one is answered first. The older one's units stay in
    flight, so the window rolling over before its answer holds them: 3 senders go of 5, not
    4 (the oldest-match took its entry, 2 units, out of flight instead of the answered one's
    single unit)."""
    now = [T0]
    governor = Governor(_state(shared, tmp_path), clock=lambda: now[0])
    assert governor.acquire(KEY, 1, ()) == 0
    governor.observe(KEY, headers(5, 3, T0 + 10))
    costly, cheap = task(), task()
    now[0] = T0 + 9
    assert costly.run(governor.acquire, KEY, 2, ()) == 0
    now[0] = T0 + 9.1
    assert cheap.run(governor.acquire, KEY, 1, ()) == 0
    now[0] = T0 + 9.3
    assert cheap.run(governor.observe, KEY, headers(5, 2, T0 + 10)) is None
    (slot,) = _slots(governor)
    assert slot.flight == [[T0 + 9, 2.0]]
    now[0] = T0 + 12  # the window has reset; the costly request is still in flight
    assert senders(governor) == 3
    costly.run(governor.observe, KEY, headers(5, 0, T0 + 22))  # it counted in the new one
    assert governor.acquire(KEY, 1, ()) > 0


@pytest.mark.parametrize("shared", [False, True], ids=["memory", "sqlite"])
def test_an_answer_to_a_request_of_the_local_log_takes_no_other_out_of_flight(
    shared: bool, tmp_path: Path
) -> None:
    """Requests granted while the window was only declared (our own log) have no flight
    entry: the first answer with headers switches the window to the server's count, and a
    late answer to one of them takes nothing out of flight. The oldest-match took a request
    granted since, still in flight, so when the window rolled over one sender too many went
    (3 of 3, with one still to arrive)."""
    policies = (RatePolicy("post", 3, 10.0),)
    now = [T0]
    governor = Governor(_state(shared, tmp_path), clock=lambda: now[0])
    slow, quick, late = task(), task(), task()
    assert slow.run(governor.acquire, KEY, 1, policies) == 0  # a slow upload
    now[0] = T0 + 0.1
    assert quick.run(governor.acquire, KEY, 1, policies) == 0
    now[0] = T0 + 0.4
    quick.run(governor.observe, KEY, headers(3, 1, T0 + 10))  # the server's window now
    now[0] = T0 + 8
    assert late.run(governor.acquire, KEY, 1, policies) == 0  # in flight past the reset
    now[0] = T0 + 9
    slow.run(governor.observe, KEY, headers(3, 0, T0 + 10))
    (slot,) = _slots(governor)
    assert slot.flight == [[T0 + 8, 1.0]]
    now[0] = T0 + 11.5
    assert senders(governor, policies) == 2


def test_a_slow_answer_is_timed_from_its_own_grant() -> None:
    """A local window's edge margin grows with the slowest round trip (a server counts a
    request when it arrives). A slow request answered after a newer one was lost is timed
    from its own grant: 3 s, so a window of 60 s keeps its sends 3 s longer (the most it may,
    5 %). The oldest-match timed it from the lost request's grant (0.5 s), and the next send
    went 2 s early."""
    policies = (RatePolicy("post", 2, 60.0),)
    now = [T0]
    governor = Governor(clock=lambda: now[0])
    slow, lost = task(), task()
    assert slow.run(governor.acquire, KEY, 1, policies) == 0
    now[0] = T0 + 2.5
    assert lost.run(governor.acquire, KEY, 1, policies) == 0
    now[0] = T0 + 2.6
    lost.run(governor.unanswered, KEY)
    now[0] = T0 + 3.0
    slow.run(governor.observe, KEY, httpx.Response(200))
    now[0] = T0 + 61
    # The slow send may have reached the server at T0 + 3: its minute ends at T0 + 63.
    assert governor.acquire(KEY, 1, policies) == pytest.approx(2.0)


@pytest.mark.parametrize("shared", [False, True], ids=["memory", "sqlite"])
def test_settled_elsewhere_than_its_task_the_oldest_goes(shared: bool, tmp_path: Path) -> None:
    """Called outside the task that acquired (a governor driven by code of one's own), which
    request an answer or a settling call is about is not known: this process's oldest grant
    still awaited is taken, as before."""
    now = [T0]
    governor = Governor(_state(shared, tmp_path), clock=lambda: now[0])
    assert governor.acquire(KEY, 1, ()) == 0
    governor.observe(KEY, answer(0, T0 + 60))
    now[0] = T0 + 62
    assert task().run(governor.acquire, KEY, 2, ()) == 0
    now[0] = T0 + 62.5
    assert task().run(governor.acquire, KEY, 1, ()) == 0
    governor.unanswered(KEY)
    assert [cost for _, cost in _slots(governor)[0].flight] == [1.0]
    governor.observe(KEY, httpx.Response(502))
    assert _slots(governor)[0].flight == []


def test_slot_leave() -> None:
    """`Slot.leave` takes a known grant's own entry or nothing; an unknown one's by time,
    else the oldest."""
    slot = Slot(5, None, server=True, flight=[[T0, 2.0], [T0 + 1, 1.0], [T0 + 1, 3.0]])
    assert slot.leave(T0 + 1, 3) == [T0 + 1, 3.0]
    assert slot.leave(T0 + 5, 1) is None  # not in this window's flight: nothing else goes
    assert slot.flight == [[T0, 2.0], [T0 + 1, 1.0]]
    assert slot.leave(T0 + 1) == [T0 + 1, 1.0]
    assert slot.leave(T0 + 5) == [T0, 2.0]
    assert slot.leave(None) is None


def _slots(governor: Governor) -> Sequence[Slot]:
    store: Any = governor.store
    return [e for e in store.entries(SCOPE).values() if isinstance(e, Slot)]
