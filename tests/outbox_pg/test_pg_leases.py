"""How PostgreSQL outboxes share work: accounts claimed by one worker at a time, leases on
the database clock (a crashed host's taken over once they end, a live one's never), and
idle workers woken by NOTIFY."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from brandkit import DeliveryStatus, Post
from brandkit.errors import BrandkitError, OutboxConflict, TransportError
from brandkit.outbox import Outbox, Worker
from brandkit.outbox._postgres import PostgresOutbox
from brandkit.platforms._base import PartRef
from tests.outbox._fakenet import OutboxNetEmulator
from tests.outbox_pg._lost import lost_mid_call

HERE = Path(__file__).parent
REPO = HERE.parents[1]
T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def sending(box: Outbox, emu: OutboxNetEmulator, name: str = "a") -> str:
    """Add a three-part post and leave it ``sending`` with part 1 confirmed, held by
    ``box``'s lease."""
    (d,) = box.add(Post(text="a | b | c"), emu.account(name=name))
    d.keys = ["k1", "k2", "k3"]
    d.status = DeliveryStatus.SENDING
    d.attempts = 1
    box.save(d)
    d.parts.append(PartRef(index=0, id="1"))
    box.save(d)
    return d.id


def test_url_opens_a_postgres_outbox(pg: str) -> None:
    """Outbox(URL) is a PostgresOutbox, and its repr keeps the password out."""
    with Outbox(pg) as box:
        assert isinstance(box, PostgresOutbox)
        password = psycopg.conninfo.conninfo_to_dict(pg).get("password")
        assert password and password not in repr(box)


def test_accounts_are_claimed_by_one_process_at_a_time(pg: str, emu: OutboxNetEmulator) -> None:
    """Two processes claiming at once: every delivery taken once, an account never served
    by both at the same time, each account's posts in the order they were added."""
    # One account with many posts, two with a few: once those are done, both processes
    # contend for the same account, whose later posts are due while earlier ones are held.
    accounts = [emu.account(name=f"acct{i}") for i in range(3)]
    order: dict[str, list[str]] = defaultdict(list)
    with Outbox(pg) as box:
        for i in range(20):
            for d in box.add(Post(text=f"post {i}"), accounts if i < 4 else accounts[:1]):
                order[d.account].append(d.id)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [
        subprocess.Popen(
            [sys.executable, str(HERE / "_claimer.py"), pg],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(2)
    ]
    try:
        for p in procs:
            assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        outs = [p.communicate(timeout=120)[0] for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    assert all(p.returncode == 0 for p in procs)
    rows = [json.loads(line) for out in outs for line in out.splitlines()]
    assert sorted(r[1] for r in rows) == sorted(x for ids in order.values() for x in ids)
    assert len({r[4] for r in rows}) == 2, "both processes took work"
    by_account: dict[str, list[list[object]]] = defaultdict(list)
    for row in rows:
        by_account[str(row[0])].append(row)
    for account, served in by_account.items():
        served.sort(key=lambda r: int(str(r[2])))
        assert [r[1] for r in served] == order[account], account
        for before, after in itertools.pairwise(served):
            # The next one starts after the previous one ended, whichever process took it.
            assert int(str(after[2])) >= int(str(before[3])), account


def test_a_crashed_hosts_leases_are_taken_over_once_they_end(
    pg: str, emu: OutboxNetEmulator
) -> None:
    """A host that stopped renewing (crashed, cut off) keeps its leases until they end on
    the database clock; then another worker takes its deliveries, a `sending` one as
    `unknown` (looked up before anything is sent again)."""
    crashed = Outbox(pg, lease=1.0)
    # Another machine's process: its liveness cannot be checked from here.
    crashed.owner = "otherhost:4242:0000beef.1"
    delivery_id = sending(crashed, emu)
    crashed._stopped.set()  # its heartbeat stops, as when its host dies
    other = Outbox(pg, lease=1.0)
    assert other.claim(T0) == []
    with pytest.raises(OutboxConflict, match="being published"):
        other.cancel(delivery_id)
    time.sleep(1.3)
    (taken,) = other.claim(T0)
    assert taken.id == delivery_id
    assert taken.status is DeliveryStatus.UNKNOWN
    assert isinstance(taken.error, TransportError) and taken.error.maybe_delivered
    assert [p.id for p in taken.parts] == ["1"]
    other.close()
    crashed.close()


def test_a_live_workers_leases_never_end(pg: str, emu: OutboxNetEmulator) -> None:
    """A live outbox renews its leases: long past ``lease`` nobody else takes its work."""
    live = Outbox(pg, lease=0.4)
    delivery_id = sending(live, emu)
    other = Outbox(pg, lease=0.4)
    deadline = time.monotonic() + 2.0  # five leases
    while time.monotonic() < deadline:
        assert other.claim(T0) == []
        time.sleep(0.1)
    d = live.get(delivery_id)
    assert d is not None
    d.parts.append(PartRef(index=1, id="2"))
    live.save(d)  # still its own: the save is accepted
    live.close()
    other.close()


def test_a_worker_killed_on_this_machine_frees_its_leases_at_once(
    pg: str, emu: OutboxNetEmulator
) -> None:
    """kill -9 of a worker of this machine: the next claim takes its account at once, long
    before its lease would end, and `due` (which only reads) shows it as due from then."""
    with Outbox(pg) as box:
        (held,) = box.add(Post(text="held"), emu.account(name="a"))
    script = (
        "import sys, time\n"
        "from brandkit.outbox import Outbox\n"
        "box = Outbox(sys.argv[1], lease=600)\n"
        "(d,) = box.claim()\n"
        "d.status = d.status.SENDING\n"
        "d.attempts = 1\n"
        "box.save(d)\n"
        "print('held', flush=True)\n"
        "time.sleep(600)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.Popen(
        [sys.executable, "-c", script, pg], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "held"
        with Outbox(pg) as box:
            assert (box.due(), box.due_accounts()) == ([], [])
            assert box.claim() == []
            child.send_signal(signal.SIGKILL)
            child.wait()
            assert [d.id for d in box.due()] == [held.id]
            assert box.due_accounts() == ["outboxnet:a"]
            (taken,) = box.claim()
            assert taken.status is DeliveryStatus.UNKNOWN
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        if child.stdout is not None:
            child.stdout.close()


def test_another_namespace_with_the_same_host_name_waits_for_expiry(
    pg: str, emu: OutboxNetEmulator
) -> None:
    """An owner with this host name but another process namespace (a container named like
    this one) is not judged by this machine's process ids: only its lease's end frees it."""
    import socket

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    holder = Outbox(pg, lease=600)
    holder.owner = f"{socket.gethostname()}:{dead.pid}:ffffffff.x"
    delivery_id = sending(holder, emu)
    holder.close()
    with Outbox(pg) as box:
        assert box.claim(T0) == []
        assert box.get(delivery_id).status is DeliveryStatus.SENDING  # type: ignore[union-attr]


def test_claim_takes_at_most_accounts_per_claim(pg: str, emu: OutboxNetEmulator) -> None:
    """One claim takes a few accounts, leaving the rest to other workers."""
    accounts = [emu.account(name=f"acct{i}") for i in range(5)]
    with Outbox(pg, accounts_per_claim=2) as first, Outbox(pg, accounts_per_claim=2) as second:
        first.add(Post(text="x"), accounts)
        first.add(Post(text="y"), accounts)
        mine = first.claim(T0)
        theirs = second.claim(T0)
        assert len({d.account for d in mine}) == 2 and len(mine) == 4
        assert len({d.account for d in theirs}) == 2
        assert not {d.account for d in mine} & {d.account for d in theirs}
        # An account is free once the last of its deliveries is given back.
        held = mine[0].account
        first.release(mine[0].id)
        assert all(d.account != held for d in second.claim(T0))
        for d in mine[1:]:
            if d.account == held:
                first.release(d.id)
        assert {d.account for d in second.claim(T0)} == {held}


def test_release_frees_the_account_after_its_last_delivery(pg: str, emu: OutboxNetEmulator) -> None:
    """An account stays with its worker until every delivery taken from it is given back."""
    acct = emu.account(name="a")
    with Outbox(pg) as first, Outbox(pg) as second:
        one, two = first.add(Post(text="1"), acct) + first.add(Post(text="2"), acct)
        first.add(Post(text="3"), acct)
        first_taken = first.claim(T0, limit=2)
        assert [d.id for d in first_taken] == [one.id, two.id]
        first.release(one.id)
        assert second.claim(T0) == []  # the account is still first's
        first.release(two.id)
        # Given back unpublished, they are due again: the account's posts, in order.
        assert [d.post.text for d in second.claim(T0)] == ["1", "2", "3"]


def test_settling_a_sent_delivery_frees_its_account_and_nothing_else(
    pg: str, emu: OutboxNetEmulator
) -> None:
    """The worker's release after an attempt (one statement): a finished delivery's account
    is given back once none of its deliveries is held; an unfinished one is left leased, and
    another process's lease is never touched."""
    acct, other = emu.account(name="a"), emu.account(name="b")
    with Outbox(pg) as first, Outbox(pg) as second:
        first.add(Post(text="1"), acct)
        first.add(Post(text="2"), acct)
        first.add(Post(text="x"), other)
        (one,) = first.claim(T0, accounts=[acct.key], limit=1)
        (theirs,) = second.claim(T0, accounts=[other.key])
        assert first._release_finished(one.id) is DeliveryStatus.PENDING
        assert second.claim(T0, accounts=[acct.key]) == []  # still first's
        one.keys, one.status, one.attempts = ["k1"], DeliveryStatus.SENDING, 1
        first.save(one)
        one.parts.append(PartRef(index=0, id="1"))
        one.status = DeliveryStatus.SENT
        first.save(one)
        assert second.claim(T0, accounts=[acct.key]) == []  # the account is still leased
        assert first._release_finished(one.id) is DeliveryStatus.SENT
        assert [d.post.text for d in second.claim(T0, accounts=[acct.key])] == ["2"]
        # Another's delivery: its lease and account stay with it.
        first.release(theirs.id)
        assert first._release_finished(theirs.id) is DeliveryStatus.PENDING
        assert first.claim(T0, accounts=[other.key]) == []
        with pytest.raises(BrandkitError, match="no delivery"):
            first.release("nope")


def test_wait_for_work_wakes_when_a_post_is_added(pg: str, emu: OutboxNetEmulator) -> None:
    """An idle outbox's wait returns as soon as another process adds a post."""
    with Outbox(pg) as waiting, Outbox(pg) as adding:
        assert waiting.wait_for_work(0.05) is False  # listening from here on
        woke: list[float] = []

        def wait() -> None:
            start = time.monotonic()
            if waiting.wait_for_work(10.0):
                woke.append(time.monotonic() - start)

        thread = threading.Thread(target=wait)
        thread.start()
        time.sleep(0.3)
        adding.add(Post(text="now"), emu.account())
        thread.join(15)
        assert woke and 0.2 < woke[0] < 2.0


def test_idle_worker_publishes_an_added_post_long_before_its_poll(
    pg: str, emu: OutboxNetEmulator
) -> None:
    """run_forever(poll=30) publishes a post added while it waits within a second or so."""
    stop = threading.Event()
    with Outbox(pg) as box, emu.serve():
        acct = emu.account()
        worker = Worker(box, [acct], backoff=0.0)
        sent: list[float] = []

        def on_delivery(d: object) -> None:
            sent.append(time.monotonic())
            stop.set()

        thread = threading.Thread(
            target=worker.run_forever, args=(30.0, stop), kwargs={"on_delivery": on_delivery}
        )
        thread.start()
        try:
            time.sleep(0.5)
            added = time.monotonic()
            with Outbox(pg) as other:
                other.add(Post(text="wake up"), acct)
            thread.join(10)
        finally:
            stop.set()
            thread.join(10)
            worker.close()
        assert sent and sent[0] - added < 3.0
        assert emu.post_texts() == ["wake up"]


def test_await_work_wakes_without_blocking_the_loop(pg: str, emu: OutboxNetEmulator) -> None:
    """The asynchronous wait wakes on NOTIFY while the event loop keeps running."""

    async def scenario() -> tuple[bool, int]:
        with Outbox(pg) as box:
            assert isinstance(box, PostgresOutbox)
            ticks = 0

            async def tick() -> None:
                nonlocal ticks
                while True:
                    ticks += 1
                    await asyncio.sleep(0.01)

            ticker = asyncio.create_task(tick())
            waiting = asyncio.create_task(box.await_work(10.0))
            await asyncio.sleep(0.3)
            await asyncio.to_thread(box.add, Post(text="async"), emu.account())
            woken = await asyncio.wait_for(waiting, 5)
            ticker.cancel()
            if box._alistener is not None:
                await box._alistener.close()
            return woken, ticks

    woken, ticks = asyncio.run(scenario())
    assert woken
    assert ticks >= 10  # the loop ran while the wait was on


def test_scheduled_post_is_not_due_before_its_time(pg: str, emu: OutboxNetEmulator) -> None:
    """What is due follows the application's clock; leases the database's."""
    with Outbox(pg) as box:
        box.add(Post(text="later", scheduled_at=T0 + timedelta(hours=1)), emu.account())
        assert box.claim(T0) == []
        assert box.next_due() == T0 + timedelta(hours=1)
        assert len(box.claim(T0 + timedelta(hours=1))) == 1


def test_a_lease_that_could_not_be_given_back_still_ends(pg: str, emu: OutboxNetEmulator) -> None:
    """A release that failed (the server dropped the session) leaves the lease in the
    table, but the live outbox stops renewing it: it ends, and another worker takes the
    delivery, instead of it staying held for as long as the worker runs."""
    with Outbox(pg, lease=0.5) as holder, Outbox(pg, lease=0.5) as other:
        assert isinstance(holder, PostgresOutbox)
        (d,) = holder.add(Post(text="x"), emu.account())
        assert holder.claim(T0)
        raised = lost_mid_call(holder, pg, d.id, lambda: holder.release(d.id))
        assert isinstance(raised, OutboxConflict)
        time.sleep(1.0)  # twice the lease: renewals would have kept it
        assert [x.id for x in other.claim(T0)] == [d.id]


def test_the_async_worker_keeps_its_loop_running_while_the_outbox_waits(
    pg: str, emu: OutboxNetEmulator
) -> None:
    """A claim waiting for a row another session holds does not stop the worker's event
    loop (the outbox's calls run off the loop)."""
    with Outbox(pg, timeout=5) as box, emu.serve():
        acct = emu.account()
        (d,) = box.add(Post(text="locked"), acct)
        worker = Worker(box, [acct])

        async def scenario() -> tuple[int, float]:
            ticks: list[float] = []

            async def tick() -> None:
                while True:
                    ticks.append(time.monotonic())
                    await asyncio.sleep(0.01)

            ticker = asyncio.create_task(tick())
            await asyncio.sleep(0)
            start = time.monotonic()
            await worker.arun_once(T0)
            waited = time.monotonic() - start
            ticker.cancel()
            await worker.aclose()
            # Ticks while the claim waited for the row (released after 1 s).
            return sum(start < t < start + 0.9 for t in ticks), waited

        with psycopg.connect(pg) as other:
            other.execute(
                "SELECT 1 FROM brandkit_outbox_deliveries WHERE id = %s FOR UPDATE", (d.id,)
            )
            timer = threading.Timer(1.0, other.rollback)
            timer.start()
            try:
                ticks, waited = asyncio.run(scenario())
            finally:
                timer.cancel()
    assert waited >= 0.9  # the claim did wait for the row
    assert ticks >= 30  # and the loop ran meanwhile
