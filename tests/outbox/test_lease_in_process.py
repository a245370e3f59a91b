"""A lease held by a live outbox of this very process: it outlasts its own expiry.

A send slower than the lease (a large upload, a slow server) must not let another worker
take the delivery meanwhile: that worker would find nothing on the platform yet (the first
create has not landed) and send the post a second time. Another process of this machine
is told alive by its process id; an outbox of this process by whether it is still open.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from brandkit import DeliveryStatus, Post
from brandkit.errors import OutboxConflict
from brandkit.outbox import Outbox, Worker
from tests.outbox._fakenet import OutboxNetEmulator

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def test_worker_does_not_take_over_its_own_send_slower_than_the_lease(
    db: Path | str, emu: OutboxNetEmulator
) -> None:
    """One worker, a create that takes four leases: the worker's next claims (made while
    the slow account is being served) leave that delivery alone, and it is posted once."""
    emu.fault(method="POST", path="/posts", delay=1.2, times=1)
    with emu.serve():
        acct = emu.account()
        box = Outbox(db, lease=0.3)
        (d,) = box.add(Post(text="slow upload"), acct)
        stop = threading.Event()
        started = time.monotonic()

        with Worker(box, [acct]) as worker:
            thread = threading.Thread(
                target=worker.run_forever,
                args=(0.02, stop),
                kwargs={"on_delivery": lambda _: stop.set()},
            )
            thread.start()
            thread.join(15)
            stop.set()
            thread.join(5)
        assert not thread.is_alive()
        # The slow create lands 1.2 s after it was sent, whoever settled the delivery.
        time.sleep(max(0.0, started + 1.6 - time.monotonic()))
        stored = box.get(d.id)
        box.close()
    assert emu.count("POST", "/posts") == 1
    assert emu.post_texts() == ["slow upload"]
    assert stored is not None
    assert stored.status is DeliveryStatus.SENT


def test_a_live_outbox_of_this_process_keeps_its_expired_lease(
    db: Path | str, emu: OutboxNetEmulator
) -> None:
    """Two outboxes of one process on one store (two workers in threads): the one still
    sending keeps its delivery past the lease's end; once it is closed, the lease ends
    when it expires, as another machine's does."""
    acct = emu.account()
    sender = Outbox(db, lease=0.2)
    (d,) = sender.add(Post(text="x"), acct)
    (held,) = sender.claim(T0)
    held.status = DeliveryStatus.SENDING
    held.attempts = 1
    held.keys = ["k"]
    sender.save(held)
    time.sleep(0.4)  # the lease has ended: the send is still on its way
    other = Outbox(db, lease=0.2)
    try:
        assert other.claim(T0) == []
        assert other.get(d.id).status is DeliveryStatus.SENDING  # type: ignore[union-attr]
        sender.close()
        time.sleep(0.4)
        (taken,) = other.claim(T0)
        assert taken.id == d.id
        assert taken.status is DeliveryStatus.UNKNOWN
    finally:
        sender.close()
        other.close()


def test_a_lease_that_could_not_be_given_back_still_ends(
    db: Path | str, emu: OutboxNetEmulator
) -> None:
    """An open outbox keeps past expiry only what it is working on: a delivery whose
    release failed (the store stayed locked past ``timeout``) is not worked on any more,
    and its lease ends when it expires, rather than holding the delivery, and every later
    post of its account, for as long as the worker runs."""
    acct = emu.account()
    box = Outbox(db, lease=1.5, timeout=0.1)
    try:
        (d,) = box.add(Post(text="x"), acct)
        (held,) = box.claim(T0)
        with _locked(db, d.id), pytest.raises(OutboxConflict):
            box.release(held.id)
        assert box.claim(T0) == []  # the lease has not ended yet
        time.sleep(1.8)
        (again,) = box.claim(T0)
        assert again.id == d.id
    finally:
        box.close()


@contextlib.contextmanager
def _locked(db: Path | str, delivery_id: str) -> Iterator[None]:
    """Another session holding the write lock (SQLite) or the delivery's row (PostgreSQL)."""
    if isinstance(db, Path):
        con = sqlite3.connect(db, isolation_level=None)
        con.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            con.execute("ROLLBACK")
            con.close()
        return
    import psycopg

    with psycopg.connect(db) as other:
        other.execute(
            "SELECT 1 FROM brandkit_outbox_deliveries WHERE id = %s FOR UPDATE", (delivery_id,)
        )
        yield
