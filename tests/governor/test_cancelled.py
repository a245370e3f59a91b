"""An asyncio task cancelled while the governor changes its state (`aacquire`, `aobserve`,
`aunanswered`, `aunsent`) lets that change end before the cancellation goes on, at most
`SETTLE_WAIT` seconds: an update handed to a thread or a server cannot be called back, and a
task that unwound at once left its request in flight until FLIGHT_TTL (two minutes), holding
the senders of its bucket, or left a grant the store had made (and committed) unsettled.

`Paused` stands for a state on a server (Redis, PostgreSQL): its async update takes a while
on its way there (``before``) or back (``after``). tests/servers/test_governor_state.py runs
the same on the real servers."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from brandkit import AsyncClient
from brandkit._hooks import BucketKey
from brandkit.backends import ServerTimeClock
from brandkit.governor import Governor, MemoryState, SQLiteState
from brandkit.governor import _governor as governor_module
from brandkit.governor._slots import Slot
from brandkit.platforms._base import RatePolicy
from tests.governor._settling import (
    BOUND,
    FAST,
    Bounded,
    Paused,
    Windows,
    cancel_when_paused,
    until,
)
from tests.governor.conftest import PostAdapter, account
from tests.governor.test_unknown_window import KEY, T0, answer

SCOPE = "fake|app|fake:a1|post"
ONE_A_MINUTE = (RatePolicy("post", 1, 60.0),)


def _paused(shared: bool, tmp_path: Path) -> Paused:
    return Paused(SQLiteState(tmp_path / "gov.db") if shared else MemoryState())


def _spent(governor: Governor, now: list[float]) -> None:
    """A window of unknown length, spent and rolled over: the next grant's answer is the
    one that will say when the new window ends."""
    assert governor.acquire(KEY, 1, ()) == 0
    governor.observe(KEY, answer(0, T0 + 60))
    now[0] = T0 + 62


# -- aobserve / aunanswered: the answer (or its loss) is settled -------------------------------


@pytest.mark.parametrize("shared", [False, True], ids=["memory", "sqlite"])
def test_an_answer_observed_as_its_task_is_cancelled_still_settles(
    shared: bool, tmp_path: Path
) -> None:
    """The task is cancelled while the update of its answer is on its way to the state: the
    update still ends, so the request is out of flight and what its answer said is learnt.
    Before, the request stayed in flight and every later sender waited for it."""
    now = [T0]
    store = _paused(shared, tmp_path)
    governor = Governor(store, clock=lambda: now[0])
    _spent(governor, now)

    async def request() -> None:
        assert await governor.aacquire(KEY, 3, ()) == 0
        store.pause(before=0.2)
        await governor.aobserve(KEY, answer(0, T0 + 122))

    async def run() -> None:
        await cancel_when_paused(store, asyncio.create_task(request()))

    asyncio.run(run())
    (slot,) = _slots(store)
    assert slot.flight == []
    assert slot.reset is not None  # the answer was learnt
    assert governor.acquire(KEY, 1, ()) > 59  # the window it described is spent


@pytest.mark.parametrize("settle", ["aunanswered", "aunsent"])
@pytest.mark.parametrize("shared", [False, True], ids=["memory", "sqlite"])
def test_a_lost_request_settled_as_its_task_is_cancelled_still_settles(
    shared: bool, settle: str, tmp_path: Path
) -> None:
    """The drivers settle a request that got no answer (``aunanswered``, or ``aunsent``) as
    its task unwinds, often because it was cancelled: a second cancellation (a task group,
    a timeout) while that update is under way does not stop it."""
    now = [T0]
    store = _paused(shared, tmp_path)
    governor = Governor(store, clock=lambda: now[0])
    _spent(governor, now)

    async def request() -> None:
        assert await governor.aacquire(KEY, 3, ()) == 0
        store.pause(before=0.2)
        await getattr(governor, settle)(KEY)

    async def run() -> None:
        task = asyncio.create_task(request())
        await until(lambda: store.paused)
        task.cancel()
        await asyncio.sleep(0.05)
        task.cancel()  # asked again: the settling still ends
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(run())
    assert _slots(store)[0].flight == []
    assert governor.acquire(KEY, 1, ()) == 0  # nothing of this window is awaited any more


def test_an_answer_observed_while_the_server_clock_is_sampled_still_settles() -> None:
    """`aobserve` reads a server clock due for a sample in a worker thread; a cancellation
    then still lets the answer be settled."""
    sampling = threading.Event()
    slow = [False]

    def sample() -> float:
        if slow[0]:
            sampling.set()
            time.sleep(0.2)
        return time.time()

    store = MemoryState()
    governor = Governor(store, clock=ServerTimeClock(sample, every=0.0))
    assert governor.acquire(KEY, 1, ()) == 0
    governor.observe(KEY, answer(2, time.time() + 60))  # the server's window: 2 left

    async def request() -> None:
        assert await governor.aacquire(KEY, 1, ()) == 0  # in flight
        slow[0] = True
        await governor.aobserve(KEY, answer(1, time.time() + 60))

    async def run() -> None:
        task = asyncio.create_task(request())
        await until(sampling.is_set)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(run())
    assert _slots(store)[0].flight == []


def test_asyncio_timeout_still_raises_timeouterror() -> None:
    """The cancellation that goes on after the settling is the one that came: an
    ``asyncio.timeout`` around the call still ends in TimeoutError."""
    now = [T0]
    store = Paused(MemoryState())
    governor = Governor(store, clock=lambda: now[0])
    _spent(governor, now)

    async def run() -> None:
        assert await governor.aacquire(KEY, 3, ()) == 0
        store.pause(before=0.2)
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.05):
                await governor.aobserve(KEY, httpx.Response(502))

    asyncio.run(run())
    assert _slots(store)[0].flight == []


def test_a_state_that_does_not_answer_is_waited_for_at_most_settle_wait(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Past `SETTLE_WAIT` the cancelled task ends without its update, which goes on alone
    (and still settles the request when it ends); a warning says so."""
    monkeypatch.setattr(governor_module, "SETTLE_WAIT", 0.1)
    now = [T0]
    store = Paused(MemoryState())
    governor = Governor(store, clock=lambda: now[0])
    _spent(governor, now)

    async def request() -> None:
        assert await governor.aacquire(KEY, 3, ()) == 0
        store.pause(before=1.0)
        await governor.aobserve(KEY, httpx.Response(502))

    async def run() -> None:
        with caplog.at_level(logging.WARNING, logger="brandkit.governor"):
            await cancel_when_paused(store, asyncio.create_task(request()))
        assert store.done == 1  # the grant's: the answer's update is still under way
        assert _slots(store)[0].flight != []
        await until(lambda: store.done == 2)

    asyncio.run(run())
    assert _slots(store)[0].flight == []
    assert "did not answer within 0.1 s of a cancellation" in caplog.text


# -- aacquire: a grant made as the task was cancelled is given back -----------------------------


@pytest.mark.parametrize("shared", [False, True], ids=["memory", "sqlite"])
def test_a_grant_committed_as_its_task_is_cancelled_is_given_back(
    shared: bool, tmp_path: Path
) -> None:
    """The state granted and committed, and the task was cancelled before the answer came
    back: the request will never leave, so its unit of the minute is given back (as
    `unsent`). Before, it stayed spent, and the next post waited a minute."""
    store = _paused(shared, tmp_path)
    governor = Governor(store, clock=lambda: T0)

    async def run() -> None:
        store.pause(after=0.2)
        task = asyncio.create_task(governor.aacquire(KEY, 1, ONE_A_MINUTE))
        await cancel_when_paused(store, task)

    asyncio.run(run())
    assert governor.acquire(KEY, 1, ONE_A_MINUTE) == 0
    assert governor.acquire(KEY, 1, ONE_A_MINUTE) > 59


@pytest.mark.parametrize("shared", [False, True], ids=["memory", "sqlite"])
def test_a_grant_of_a_server_window_made_as_its_task_is_cancelled_leaves_flight(
    shared: bool, tmp_path: Path
) -> None:
    """In a window the server described the units stay spent (as for `unsent`), but the
    request is not in flight: the next sender does not wait for its answer."""
    now = [T0]
    store = _paused(shared, tmp_path)
    governor = Governor(store, clock=lambda: now[0])
    _spent(governor, now)

    async def run() -> None:
        store.pause(after=0.2)
        await cancel_when_paused(store, asyncio.create_task(governor.aacquire(KEY, 3, ())))

    asyncio.run(run())
    (slot,) = _slots(store)
    assert slot.flight == []
    assert slot.remaining == 0
    assert governor.acquire(KEY, 1, ()) == 0


def test_sqlite_grant_made_after_the_task_was_cancelled_is_given_back(tmp_path: Path) -> None:
    """SQLiteState runs the update in a worker thread, which a cancellation cannot stop:
    here the file is locked by another process, the task is cancelled while its update
    waits for the lock, and the update grants once the lock is free. The grant is given
    back; before, the minute's only unit stayed spent by a request that never left."""
    path = tmp_path / "gov.db"
    governor = Governor(SQLiteState(path), clock=lambda: T0)
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)

    async def run() -> None:
        other.execute("BEGIN IMMEDIATE")
        task = asyncio.create_task(governor.aacquire(KEY, 1, ONE_A_MINUTE))
        await asyncio.sleep(0.2)  # its update waits for the lock, in its thread
        task.cancel()
        threading.Timer(0.2, lambda: other.execute("ROLLBACK")).start()
        with pytest.raises(asyncio.CancelledError):
            await task

    try:
        asyncio.run(run())
    finally:
        other.close()
    assert governor.acquire(KEY, 1, ONE_A_MINUTE) == 0


# -- AsyncClient, over loopback ----------------------------------------------------------------


class Pausing(Governor):
    """A Governor whose state's next update, for the step chosen, takes a while."""

    def __init__(self, store: Paused) -> None:
        super().__init__(store)
        self.paused = store
        self.at: str | None = None

    async def aacquire(self, key: BucketKey, cost: int, policies: Sequence[RatePolicy]) -> float:
        if self.at == "acquire":
            self.at = None
            self.paused.pause(after=0.5)
        return await super().aacquire(key, cost, policies)

    async def aobserve(self, key: BucketKey, response: httpx.Response) -> float | None:
        if self.at == "observe":
            self.at = None
            self.paused.pause(before=0.5)
        return await super().aobserve(key, response)


@pytest.fixture
def emu() -> Iterator[Windows]:
    emu = Windows()
    with emu.serve():
        yield emu


@pytest.mark.parametrize("at", ["observe", "acquire"])
def test_a_cancelled_asyncclient_task_does_not_hold_the_next_sender(emu: Windows, at: str) -> None:
    """AsyncClient, a window of unknown length spent: the task sending the new window's first
    request is cancelled while the governor's state takes its answer (``observe``), or while
    it grants the request (``acquire``, committed, never sent). The next sender goes within
    the window's own wait; before, it waited two minutes for the first request's answer."""
    sleep = Bounded()
    store = Paused(MemoryState())
    governor = Pausing(store)
    adapter = PostAdapter(account(base_url=emu.base_url))

    async def run() -> float:
        async with AsyncClient(governor=governor, retry=FAST, sleep=sleep.asleep) as client:
            assert (await client.run(adapter, adapter.post())).status_code == 200
            # The window rolls over first (its end as the answer gave it): the next request is
            # the new window's first, granted at once.
            scope = f"{adapter.name}|{adapter.app_id}|{adapter.account.key}|post"
            (slot,) = _slots(store.inner, scope)
            assert slot.reset is not None
            await asyncio.sleep(slot.reset - governor.clock() + 0.05)
            governor.at = at
            await cancel_when_paused(
                store, asyncio.create_task(client.run(adapter, adapter.post()))
            )
            sleep.arm()
            started = time.monotonic()
            assert (await client.run(adapter, adapter.post())).status_code == 200
            return time.monotonic() - started

    assert asyncio.run(run()) < BOUND
    assert emu.count("POST", "/post") == (3 if at == "observe" else 2)
    assert emu.refused == 0


def _slots(store: Any, scope: str = SCOPE) -> Sequence[Slot]:
    return [e for e in store.entries(scope).values() if isinstance(e, Slot)]
