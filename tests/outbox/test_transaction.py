"""Outbox.transaction: deliveries and the caller's own rows in one transaction of the
outbox's database (a campaign's hold and its announcements), committed together or not at
all; a delivery already stored is returned as stored, never written twice."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from brandkit import DeliveryStatus, Post
from brandkit.delivery import Delivery
from brandkit.errors import BrandkitError, ConfigurationError
from brandkit.outbox import Outbox
from tests.outbox._fakenet import OutboxNetEmulator

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def delivery(emu: OutboxNetEmulator, text: str, id: str) -> Delivery:
    account = emu.account()
    return Delivery(
        id=id,
        account=account.key,
        platform=account.platform,
        post=Post(text=text),
        created_at=T0,
        updated_at=T0,
    )


def jobs(outbox: Outbox) -> list[str]:
    with outbox.transaction() as tx:
        rows = tx.connection.execute("SELECT name FROM my_jobs ORDER BY name").fetchall()
    return [str(r[0]) for r in rows]


def make_jobs(outbox: Outbox) -> None:
    with outbox.transaction() as tx:
        tx.connection.execute("CREATE TABLE my_jobs (name TEXT PRIMARY KEY)")


def test_the_callers_rows_and_the_deliveries_commit_together(
    outbox: Outbox, emu: OutboxNetEmulator
) -> None:
    make_jobs(outbox)
    with outbox.transaction() as tx:
        tx.connection.execute("INSERT INTO my_jobs (name) VALUES ('launch')")
        written = tx.insert_once(delivery(emu, "hello", "a" * 32))
        (added,) = tx.add(Post(text="added"), emu.account())
    assert jobs(outbox) == ["launch"]
    stored = outbox.get(written.id)
    assert stored is not None and stored.post.text == "hello"
    assert stored.status is DeliveryStatus.PENDING
    assert outbox.get(added.id) is not None
    # Written for a worker: it claims them.
    assert {d.id for d in outbox.claim(T0.replace(year=2030))} == {written.id, added.id}


def test_a_failing_statement_of_the_caller_writes_no_delivery(
    outbox: Outbox, emu: OutboxNetEmulator
) -> None:
    make_jobs(outbox)
    with outbox.transaction() as tx:
        tx.connection.execute("INSERT INTO my_jobs (name) VALUES ('launch')")

    def write_twice() -> None:
        with outbox.transaction() as tx:
            tx.insert_once(delivery(emu, "once", "b" * 32))
            tx.save(delivery(emu, "saved", "c" * 32))
            tx.connection.execute("INSERT INTO my_jobs (name) VALUES ('launch')")  # taken

    with pytest.raises(BrandkitError):
        write_twice()
    assert outbox.get("b" * 32) is None and outbox.get("c" * 32) is None
    assert not any(outbox.counts().values())
    assert jobs(outbox) == ["launch"]

    def change_mind() -> None:
        with outbox.transaction() as tx:
            tx.insert_once(delivery(emu, "once", "b" * 32))
            raise KeyError("the caller changed its mind")

    # An error of the caller's own rolls back the same, and comes out as it is.
    with pytest.raises(KeyError):
        change_mind()
    assert outbox.get("b" * 32) is None


def test_a_stored_delivery_is_returned_as_stored(outbox: Outbox, emu: OutboxNetEmulator) -> None:
    first = outbox.insert_once(delivery(emu, "first", "d" * 32))
    with outbox.transaction() as tx:
        again = tx.insert_once(delivery(emu, "second", "d" * 32), lease=True)
    assert again.post.text == "first" and again.status is DeliveryStatus.PENDING
    assert [e.status for e in outbox.history(first.id)] == [DeliveryStatus.PENDING]
    stored = outbox.get(first.id)
    assert stored is not None and stored.post.text == "first"


def test_leased_it_is_this_outboxs_to_send(
    db: Path | str, outbox: Outbox, emu: OutboxNetEmulator
) -> None:
    with outbox.transaction() as tx:
        tx.insert_once(delivery(emu, "mine", "e" * 32), lease=True)
        tx.save(delivery(emu, "saved", "f" * 32))
    other = Outbox(db)
    try:
        # Leased to this outbox: another worker takes neither meanwhile.
        assert other.claim(T0.replace(year=2030)) == []
    finally:
        other.close()
    assert {d.id for d in outbox.due(T0.replace(year=2030))} == set()
    assert outbox.get("e" * 32) is not None and outbox.get("f" * 32) is not None


def test_the_transaction_is_over_after_its_block(outbox: Outbox, emu: OutboxNetEmulator) -> None:
    with outbox.transaction() as tx:
        pass
    with pytest.raises(ConfigurationError, match="transaction is over"):
        tx.insert_once(delivery(emu, "late", "9" * 32))
    assert outbox.get("9" * 32) is None


def test_the_outboxs_own_writes_inside_the_block_are_refused_and_nothing_is_written(
    outbox: Outbox, emu: OutboxNetEmulator
) -> None:
    """SQLite cannot nest the write (it said only "cannot start a transaction within a
    transaction"), and PostgreSQL folded it into the block without a word."""
    make_jobs(outbox)

    def write_beside_the_block() -> None:
        with outbox.transaction() as tx:
            tx.connection.execute("INSERT INTO my_jobs (name) VALUES ('launch')")
            tx.insert_once(delivery(emu, "in the block", "7" * 32))
            assert outbox.get("7" * 32) is not None  # reading in the block is fine
            outbox.insert_once(delivery(emu, "beside the block", "8" * 32))

    with pytest.raises(ConfigurationError, match=r"tx\.save, tx\.insert_once, tx\.add"):
        write_beside_the_block()
    assert jobs(outbox) == []
    assert outbox.get("7" * 32) is None and outbox.get("8" * 32) is None
    # The block is over: the outbox writes again, from this thread too.
    assert outbox.insert_once(delivery(emu, "after", "8" * 32)).id == "8" * 32
