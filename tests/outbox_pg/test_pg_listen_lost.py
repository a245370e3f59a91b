"""The connection an idle worker listens on (``LISTEN``) closed by the server: a restart, a
failover, ``idle_session_timeout``, ``pg_terminate_backend``. A post added while nobody
listened woke nobody, so the wait that finds the connection gone listens again at once and
tells the worker to look, instead of sleeping out its poll."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import httpx
import psycopg
import pytest

from brandkit import Client, DeliveryStatus, Post
from brandkit._hooks import NullGovernor
from brandkit.delivery import Delivery
from brandkit.outbox import Outbox, Worker
from brandkit.outbox._postgres import PostgresOutbox
from tests.outbox._fakenet import OutboxNetEmulator
from tests.servers._servers import free_port


def terminate(url: str, pid: int) -> None:
    """End the server session ``pid`` as an administrator (or a failover) would, and wait
    until it is gone: whatever is added after this reaches no listener of it."""
    with psycopg.connect(url, autocommit=True) as admin:
        (killed,) = admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone() or (0,)
        assert killed is True
        deadline = time.monotonic() + 10
        sql = "SELECT count(*) FROM pg_stat_activity WHERE pid = %s"
        while (admin.execute(sql, (pid,)).fetchone() or (0,))[0]:
            assert time.monotonic() < deadline, "the session did not end"
            time.sleep(0.02)


def add(url: str, emu: OutboxNetEmulator, text: str) -> None:
    with Outbox(url) as other:
        other.add(Post(text=text), emu.account())


def test_wait_after_the_listener_was_killed_says_look(pg: str, emu: OutboxNetEmulator) -> None:
    """A post added after the listening session was killed: the next wait returns True at
    once (it used to return False after a second, and listen anew only at the wait after,
    so the worker slept out its poll); one wake for it, and later posts wake it again."""
    with Outbox(pg) as box:
        assert isinstance(box, PostgresOutbox)
        assert box.wait_for_work(0.05) is False  # listening from here on
        terminate(pg, box._listener.info.backend_pid)
        add(pg, emu, "while nobody listened")
        assert box.wait_for_work(5.0) is True
        assert box.wait_for_work(0.05) is False  # one wake, not a wake at every wait
        add(pg, emu, "later")
        assert box.wait_for_work(5.0) is True  # listening again


def test_claim_listens_again_before_it_looks(pg: str, emu: OutboxNetEmulator) -> None:
    """The listening session killed while the worker was busy: the next claim finds it gone
    and listens on a new one before it looks, so a post added after that look wakes the
    wait that follows (it used to be lost: the claim kept the dead connection)."""
    with Outbox(pg) as box:
        assert isinstance(box, PostgresOutbox)
        assert box.claim() == []
        killed = box._listener.info.backend_pid
        terminate(pg, killed)
        assert box.claim() == []
        assert box._listener.info.backend_pid != killed
        add(pg, emu, "after the look")
        # True: woken by the post (a wait that runs out says False).
        assert box.wait_for_work(30.0) is True


def test_sync_worker_publishes_a_post_added_while_its_listener_was_down(
    pg: str, emu: OutboxNetEmulator
) -> None:
    """run_forever(poll=30) with a `Client`: the listening session killed while the worker
    was about to wait and a post added before it listens again; the worker publishes it
    at once (it used to sleep through it until its 30 s poll ended)."""
    stop = threading.Event()
    acct = emu.account()
    events: list[str] = []
    with (
        Outbox(pg) as box,
        Client(
            outbox=box, http=httpx.Client(transport=emu.transport()), governor=NullGovernor()
        ) as client,
    ):
        assert isinstance(box, PostgresOutbox)
        worker = Worker(box, [acct], client=client, backoff=0.0)

        def on_idle() -> None:
            if events:
                return
            # The claim before this idle listened: that session goes, then a post comes.
            terminate(pg, box._listener.info.backend_pid)
            events.append("killed")
            with Outbox(pg) as other:
                other.add(Post(text="while nobody listened"), acct)
            events.append("added")

        def on_delivery(d: Delivery) -> None:
            events.append(f"delivered {d.status.value}")
            stop.set()

        thread = threading.Thread(
            target=worker.run_forever,
            args=(30.0, stop),
            kwargs={"on_delivery": on_delivery, "on_idle": on_idle},
        )
        thread.start()
        try:
            # Well inside the 30 s poll the old wait slept out: delivered before it ends.
            thread.join(20)
        finally:
            if not stop.is_set():
                events.append("still waiting")
            stop.set()
            thread.join(35)
            worker.close()
    assert events == ["killed", "added", f"delivered {DeliveryStatus.SENT.value}"]
    assert emu.post_texts() == ["while nobody listened"]


def test_async_wait_after_its_listener_was_killed_says_look(
    pg: str, emu: OutboxNetEmulator
) -> None:
    """The asynchronous wait's session killed and a post added: the next wait returns True
    at once and listens again (it returned False after a second's sleep)."""

    async def scenario() -> list[bool]:
        with Outbox(pg) as box:
            assert isinstance(box, PostgresOutbox)
            answers = [await box.await_work(0.05)]
            pid = box._alistener.info.backend_pid
            await asyncio.to_thread(terminate, pg, pid)
            await asyncio.to_thread(add, pg, emu, "while nobody listened")
            answers.append(await box.await_work(5.0))
            answers.append(await box.await_work(0.05))
            await asyncio.to_thread(add, pg, emu, "later")
            answers.append(await box.await_work(5.0))
            assert box._alistener.info.backend_pid != pid
            await box._alistener.close()
            return answers

    assert asyncio.run(scenario()) == [False, True, False, True]


def test_async_wait_with_the_server_unreachable_waits_instead_of_raising(
    pg: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The asynchronous wait cannot connect (the server is down): it returns False after a
    pause, as the synchronous one does. It raised, so the worker's idle wait ended at once,
    and a worker whose database was down tried to connect again and again without pause."""

    pauses: list[float] = []
    sleep = asyncio.sleep

    async def recorded(delay: float, *args: Any) -> Any:
        pauses.append(delay)
        return await sleep(delay, *args)

    async def scenario() -> bool:
        with Outbox(pg) as box:
            closed = f"postgresql://nobody@127.0.0.1:{free_port()}/none?connect_timeout=2"
            monkeypatch.setattr(box, "url", closed)
            monkeypatch.setattr(asyncio, "sleep", recorded)
            return await box.await_work(0.5)

    assert asyncio.run(scenario()) is False
    assert 0.5 in pauses  # it paused for its wait, not returned at once
