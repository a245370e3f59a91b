"""``await_work`` cut off mid-wait (inside a shorter ``asyncio.wait_for``): psycopg reads
the socket only once its wait has ended, so the listening session is kept, and what came
while nobody waited wakes the next wait."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import psycopg

from brandkit.outbox import Outbox
from brandkit.outbox._postgres import PostgresOutbox
from tests.outbox_pg.test_pg_async_listen import sessions


def test_a_wait_cut_short_keeps_its_listener_and_loses_no_post(pg: str) -> None:
    """``await_work`` cancelled mid-wait (inside a shorter ``asyncio.wait_for``) leaves its
    connection listening: the next waits use the same session (it used to close it, a new
    session at every cut-off wait), and a post added while nobody waited wakes the next
    wait at once."""
    name = f"bk-{uuid.uuid4().hex[:12]}"

    async def scenario() -> tuple[set[int], list[bool]]:
        with Outbox(f"{pg}&application_name={name}") as box:
            assert isinstance(box, PostgresOutbox)
            pids: set[int] = set()
            for _ in range(5):
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(box.await_work(10.0), 0.05)
                assert box._alistener is not None
                pids.add(box._alistener.info.backend_pid)
            await asyncio.to_thread(notify, pg, box.channel)  # nobody waits now
            # True: the NOTIFY sent before it woke it (a wait that runs out says False).
            assert await box.await_work(10.0) is True
            # One wake for it, and the session still listens afterwards.
            after = [await box.await_work(0.05)]
            await asyncio.to_thread(notify, pg, box.channel)
            after.append(await box.await_work(10.0))
            pids.add(box._alistener.info.backend_pid)
            assert len(await asyncio.to_thread(sessions, pg, name)) == 2
            return pids, after

    pids, after = asyncio.run(scenario())
    assert len(pids) == 1, pids
    assert after == [False, True]


def notify(url: str, channel: str) -> None:
    """The wake-up another process's added post sends."""
    with psycopg.connect(url, autocommit=True) as other:
        other.execute(f'NOTIFY "{channel}"')
