"""An asynchronous worker on the PostgreSQL outbox (``arun_forever``) waits for added posts
on psycopg's asynchronous connection: it holds that listening session and the outbox's own,
and no synchronous listening session that nothing waits on. It still listens before it
looks, so a post added between its look and its wait wakes it."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import psycopg

from brandkit import DeliveryStatus, Post
from brandkit.delivery import Delivery
from brandkit.outbox import Outbox, Worker
from brandkit.outbox._postgres import PostgresOutbox
from tests.outbox._fakenet import OutboxNetEmulator


def sessions(url: str, name: str) -> list[int]:
    """The server sessions (their pids) whose application_name is ``name``."""
    sql = "SELECT pid FROM pg_stat_activity WHERE application_name = %s ORDER BY pid"
    with psycopg.connect(url, autocommit=True) as admin:
        return [int(r[0]) for r in admin.execute(sql, (name,)).fetchall()]


async def until(check: Any, what: str, within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.02)


def test_an_idle_async_worker_holds_only_the_sessions_it_uses(
    pg: str, emu: OutboxNetEmulator
) -> None:
    """Idle through several polls, an ``arun_forever`` worker holds two sessions: the
    outbox's and its asynchronous listener (the same one all along). Its claims opened a
    synchronous listening session as well, which it never waited on: one more PostgreSQL
    connection per asynchronous worker, for its whole life."""
    name = f"bk-{uuid.uuid4().hex[:12]}"
    seen: list[list[int]] = []
    listeners: set[int] = set()

    async def scenario() -> None:
        with Outbox(f"{pg}&application_name={name}") as box, emu.serve():
            assert isinstance(box, PostgresOutbox)
            stop = asyncio.Event()
            idles = 0

            def on_idle() -> None:
                nonlocal idles
                idles += 1

            worker = Worker(box, [emu.account()], backoff=0.0)
            run = asyncio.create_task(worker.arun_forever(0.2, stop, on_idle=on_idle))
            try:
                for n in range(1, 6):
                    await until(lambda n=n: idles > n, "the worker did not go idle")
                    await until(lambda: box._alistener is not None, "no async listener")
                    listeners.add(box._alistener.info.backend_pid)
                    seen.append(await asyncio.to_thread(sessions, pg, name))
            finally:
                stop.set()
                await asyncio.wait_for(run, 30)
                await worker.aclose()

    asyncio.run(scenario())
    assert all(len(pids) == 2 for pids in seen), seen
    assert len(listeners) == 1, listeners  # not a new session at every poll


def test_an_async_worker_is_woken_by_a_post_added_between_its_look_and_its_wait(
    pg: str, emu: OutboxNetEmulator
) -> None:
    """arun_forever(poll=30): a post added after a claim has looked and before the worker
    waits (here from ``on_idle``, which runs in between) is published at once, well
    inside the poll: the worker listened before it looked."""
    events: list[str] = []

    async def scenario() -> None:
        with Outbox(pg) as box, emu.serve():
            assert isinstance(box, PostgresOutbox)
            stop = asyncio.Event()
            acct = emu.account()
            worker = Worker(box, [acct], backoff=0.0)

            def on_idle() -> None:
                if events:
                    return
                with Outbox(pg) as other:
                    other.add(Post(text="between the look and the wait"), acct)
                events.append("added")

            def on_delivery(d: Delivery) -> None:
                events.append(f"delivered {d.status.value}")
                stop.set()

            run = asyncio.create_task(
                worker.arun_forever(30.0, stop, on_delivery=on_delivery, on_idle=on_idle)
            )
            try:
                # Well inside the 30 s poll a lost wake-up would sleep out.
                await asyncio.wait_for(asyncio.shield(run), 20)
            except TimeoutError:
                events.append("still waiting")
            finally:
                stop.set()
                await asyncio.wait_for(run, 40)
                await worker.aclose()

    asyncio.run(scenario())
    assert events == ["added", f"delivered {DeliveryStatus.SENT.value}"]
    assert emu.post_texts() == ["between the look and the wait"]


def test_a_loop_of_arun_once_and_await_work_holds_one_listener_and_misses_no_post(
    pg: str, emu: OutboxNetEmulator
) -> None:
    """Async code that loops ``await worker.arun_once()`` then ``await box.await_work(poll)``
    (the outbox's asynchronous wait): a post added between the two wakes the wait at once,
    the first time too, and only the outbox's session and the asynchronous listener are
    held. ``arun_once`` claimed through the synchronous ``claim``, which listened on a
    session of its own that nothing waited on, while the wait's listener, opened only at
    the first wait, missed a post added before it."""
    name = f"bk-{uuid.uuid4().hex[:12]}"
    seen: list[list[int]] = []

    async def scenario() -> None:
        with Outbox(f"{pg}&application_name={name}") as box, emu.serve():
            assert isinstance(box, PostgresOutbox)
            acct = emu.account()
            worker = Worker(box, [acct], backoff=0.0)
            try:
                for n in range(3):
                    await worker.arun_once()
                    await asyncio.to_thread(add, pg, acct, f"post {n}")
                    # True: the post woke it (a wait that runs out, the 10 s, says False).
                    assert await box.await_work(10.0) is True
                    seen.append(await asyncio.to_thread(sessions, pg, name))
                (done,) = await worker.arun_once()
                assert done.status is DeliveryStatus.SENT
            finally:
                await worker.aclose()

    asyncio.run(scenario())
    assert all(len(pids) == 2 for pids in seen), seen
    assert emu.post_texts() == ["post 0", "post 1", "post 2"]


def test_run_once_then_wait_for_work_misses_no_post(pg: str, emu: OutboxNetEmulator) -> None:
    """The synchronous pattern (``run_once`` with the default asynchronous client, then
    ``wait_for_work``) still listens before it looks, on the connection that wait uses: a
    post added between the two wakes it at once."""
    with Outbox(pg) as box, emu.serve():
        assert isinstance(box, PostgresOutbox)
        acct = emu.account()
        with Worker(box, [acct], backoff=0.0) as worker:
            for n in range(2):
                worker.run_once()
                add(pg, acct, f"post {n}")
                assert box.wait_for_work(10.0) is True  # woken, not run out (False)
            assert box._alistener is None  # nothing waits on one
            (done,) = worker.run_once()
            assert done.status is DeliveryStatus.SENT
    assert emu.post_texts() == ["post 0", "post 1"]


def add(url: str, acct: Any, text: str) -> None:
    with Outbox(url) as other:
        other.add(Post(text=text), acct)
