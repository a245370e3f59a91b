"""A granted request whose answer never comes (a dropped connection, a timeout, a cancelled
task) is settled with the governor (`Governor.unanswered`): once a window of unknown length
has rolled over and its budget is spent, senders wait for the answers of this window's
requests in flight, since one will say when the window ends; a request that will never be
answered must not keep them waiting until FLIGHT_TTL (two minutes)."""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from brandkit import AsyncClient, Client, RetryPolicy
from brandkit._hooks import NullGovernor
from brandkit.errors import TransportError
from brandkit.governor import Governor, MemoryState, SQLiteState, StateStore
from brandkit.governor._slots import Slot
from brandkit.platforms._base import RatePolicy
from tests.governor._settling import BOUND, FAST, Bounded, Recording, Windows
from tests.governor.conftest import PostAdapter, account
from tests.governor.test_unknown_window import KEY, T0, answer


@pytest.fixture
def emu() -> Iterator[Windows]:
    emu = Windows()
    with emu.serve():
        yield emu


def test_a_lost_answer_does_not_hold_the_next_sender(emu: Windows) -> None:
    """Over loopback: the first request of a new window is stored, then its connection cut.
    The next sender goes at once (the server counted the lost one: it answers 429 with the
    window's reset, and the sender goes again then) instead of waiting two minutes."""
    sleep = Bounded()
    governor = Recording()
    adapter = PostAdapter(account(base_url=emu.base_url))  # no declared policy
    with Client(governor=governor, retry=FAST, sleep=sleep) as client:
        assert client.run(adapter, adapter.post()).status_code == 200  # the window is spent
        emu.fault(path="/post", drop="after")
        with pytest.raises(TransportError):
            # After the reset: the next window's first request, stored; its answer is lost.
            client.run(adapter, adapter.post(idempotent=False))
        sleep.arm()
        started = time.monotonic()
        assert client.run(adapter, adapter.post()).status_code == 200
        took = time.monotonic() - started
    assert took < BOUND
    assert emu.refused == 1  # the lost request counted: one refusal said when to come back
    # The lost answer was settled once; an answer, even a refusal, is observed, never also
    # settled as unanswered.
    assert governor.calls == ["unanswered"]


def test_a_cancelled_sender_does_not_hold_the_next_one(emu: Windows) -> None:
    """AsyncClient: a task cancelled while its request (the new window's first) is on the
    server is settled with the governor's ``aunanswered``; the next sender goes at once."""
    sleep = Bounded()
    governor = Recording()
    adapter = PostAdapter(account(base_url=emu.base_url))

    async def run() -> float:
        async with AsyncClient(governor=governor, retry=FAST, sleep=sleep.asleep) as client:
            assert (await client.run(adapter, adapter.post())).status_code == 200
            emu.fault(path="/post", delay=3.0)  # the server sits on the next request
            task = asyncio.create_task(client.run(adapter, adapter.post()))
            while emu.count("POST", "/post") < 2:
                await asyncio.sleep(0.01)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            sleep.arm()
            started = time.monotonic()
            assert (await client.run(adapter, adapter.post())).status_code == 200
            return time.monotonic() - started

    assert asyncio.run(run()) < BOUND
    assert governor.calls == ["unanswered"]


def test_a_governor_without_unanswered_still_works(emu: Windows) -> None:
    """`unanswered` is optional: a governor of one's own without it gets the transport
    error as before."""
    adapter = PostAdapter(account(base_url=emu.base_url))
    emu.fault(path="/post", drop="before")
    with (
        Client(governor=NullGovernor(), retry=RetryPolicy(attempts=1)) as client,
        pytest.raises(TransportError),
    ):
        client.run(adapter, adapter.post())


# -- the governor's method ---------------------------------------------------------------------


def _state(shared: bool, tmp_path: Path) -> StateStore:
    return SQLiteState(tmp_path / "gov.db") if shared else MemoryState()


@pytest.mark.parametrize("shared", [False, True], ids=["memory", "sqlite"])
def test_unanswered_settles_a_request_of_the_new_window(shared: bool, tmp_path: Path) -> None:
    """The sender that was waiting for the lost request's answer goes; the lost request's
    unit stays spent (the server may have counted it)."""
    now = [T0]
    governor = Governor(_state(shared, tmp_path), clock=lambda: now[0])
    assert governor.acquire(KEY, 1, ()) == 0
    governor.observe(KEY, answer(0, T0 + 60))
    now[0] = T0 + 62
    assert governor.acquire(KEY, 3, ()) == 0  # the new window's first request: all of it
    assert 0 < governor.acquire(KEY, 1, ()) <= 1  # waiting for its answer
    governor.unanswered(KEY)
    assert governor.acquire(KEY, 1, ()) == 0  # nothing of this window is awaited any more
    (slot,) = _slots(governor)
    assert slot.remaining == -1  # 3 + 1 of 3: the lost request's units were not given back
    assert [cost for _, cost in slot.flight] == [1.0]


@pytest.mark.parametrize("shared", [False, True], ids=["memory", "sqlite"])
def test_unanswered_settles_its_own_request_not_another(shared: bool, tmp_path: Path) -> None:
    """Of two requests of the new window in flight (each sent by its own task), the lost
    one is settled, even when it is the newer: the other is still awaited (its answer will
    say when the window ends)."""
    now = [T0]
    governor = Governor(_state(shared, tmp_path), clock=lambda: now[0])
    assert governor.acquire(KEY, 1, ()) == 0
    governor.observe(KEY, answer(0, T0 + 60))
    first, second = contextvars.copy_context(), contextvars.copy_context()
    now[0] = T0 + 62
    assert first.run(governor.acquire, KEY, 2, ()) == 0
    now[0] = T0 + 62.5
    assert second.run(governor.acquire, KEY, 1, ()) == 0  # the window's budget (3) is spent
    second.run(governor.unanswered, KEY)  # the second is lost
    (slot,) = _slots(governor)
    assert slot.flight == [[T0 + 62, 2.0]]
    assert 0 < governor.acquire(KEY, 1, ()) <= 1  # the first is still awaited
    first.run(governor.unanswered, KEY)
    assert governor.acquire(KEY, 1, ()) == 0


def test_unanswered_prefers_this_process_s_own_request() -> None:
    """A request of another process carried over from the old window (its answer lost, never
    settled) stays as it was: the lost request of this process, sent in the new window, is
    the one settled, and the next sender goes."""
    now = [T0]
    state = MemoryState()
    mine = Governor(state, clock=lambda: now[0])
    other = Governor(state, clock=lambda: now[0])
    assert mine.acquire(KEY, 1, ()) == 0
    mine.observe(KEY, answer(2, T0 + 60))
    now[0] = T0 + 1
    assert other.acquire(KEY, 1, ()) == 0  # its process dies: never answered, never settled
    now[0] = T0 + 62
    assert mine.acquire(KEY, 2, ()) == 0  # the new window's budget is spent
    assert 0 < mine.acquire(KEY, 1, ()) <= 1
    mine.unanswered(KEY)
    (slot,) = _slots(mine)
    assert slot.flight == [[T0 + 1, 1.0]]
    assert mine.acquire(KEY, 1, ()) == 0


def test_unanswered_without_a_grant_or_a_flight_does_nothing() -> None:
    now = [T0]
    governor = Governor(clock=lambda: now[0])
    governor.unanswered(KEY)  # never granted: nothing to settle, nothing raised
    assert governor.acquire(KEY, 1, (RatePolicy("post", 2, 60.0),)) == 0
    governor.unanswered(KEY)  # a local window has nothing in flight
    assert governor.acquire(KEY, 1, (RatePolicy("post", 2, 60.0),)) == 0
    assert governor.acquire(KEY, 1, (RatePolicy("post", 2, 60.0),)) > 0


def test_aunanswered_is_unanswered() -> None:
    now = [T0]
    governor = Governor(clock=lambda: now[0])
    assert governor.acquire(KEY, 1, ()) == 0
    governor.observe(KEY, answer(0, T0 + 60))
    now[0] = T0 + 62
    assert governor.acquire(KEY, 3, ()) == 0
    assert governor.acquire(KEY, 1, ()) > 0
    asyncio.run(governor.aunanswered(KEY))
    assert governor.acquire(KEY, 1, ()) == 0


def test_slot_lost_keeps_the_units_spent() -> None:
    slot = Slot(3, None, server=True, remaining=0, start=T0, flight=[[T0 - 1, 1.0], [T0, 2.0]])
    slot.lost(T0)
    assert slot.flight == [[T0 - 1, 1.0]]
    assert slot.remaining == 0
    slot.lost(T0 + 5)  # not found (another's answer took it): the oldest goes
    assert slot.flight == []
    slot.lost(T0 + 6)  # nothing in flight: nothing to do
    assert slot.flight == []
    assert slot.remaining == 0


def _slots(governor: Governor) -> Sequence[Slot]:
    store: Any = governor.store
    found = store.entries("fake|app|fake:a1|post")
    return [e for e in found.values() if isinstance(e, Slot)]
