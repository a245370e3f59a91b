"""A row whose stored time columns (``scheduled_at``, ``not_before``) hold no time this
brandkit wrote (edited by hand, written by another tool, cut short) is failed alone with a
reason that names it and says what to do, as a row with damaged JSON is: it never sits in
the outbox forever, never due and never failed, nor holds its account's later posts back,
nor goes out at a time nobody wrote."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from brandkit import DeliveryStatus, Post
from brandkit.errors import ContentError
from brandkit.outbox import Outbox
from tests.outbox._fakenet import OutboxNetEmulator

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)

# What lands in the column, by backend: SQLite keeps any text in it; a PostgreSQL TIMESTAMPTZ
# takes only times, but also infinities and years Python cannot read.
DAMAGE = {
    "sqlite": [
        # Sorts after every time: never due.
        ("scheduled_at", "tomorrow at nine"),
        # Sorts before the real time: it went out at a time nobody wrote.
        ("scheduled_at", "2026-11-26T11:3"),
        # A retry time that never comes held the account's later posts back for ever.
        ("not_before", "zz"),
    ],
    "postgresql": [
        ("scheduled_at", "infinity"),
        ("scheduled_at", "20000-01-01 00:00+00"),
        ("not_before", "infinity"),
    ],
}


def _damage(db: Path | str, delivery_id: str, column: str, value: str) -> None:
    if isinstance(db, Path):
        con = sqlite3.connect(db)
        con.execute(f"UPDATE outbox_deliveries SET {column} = ? WHERE id = ?", (value, delivery_id))
        con.commit()
        con.close()
        return
    import psycopg

    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute(
            f"UPDATE brandkit_outbox_deliveries SET {column} = %s WHERE id = %s",
            (value, delivery_id),
        )


@pytest.mark.parametrize("how", range(3))
def test_a_row_with_a_damaged_time_is_failed_alone(
    db: Path | str, emu: OutboxNetEmulator, how: int
) -> None:
    column, value = DAMAGE["sqlite" if isinstance(db, Path) else "postgresql"][how]
    at = T0 + timedelta(hours=1)
    with Outbox(db) as box:
        (bad,) = box.add(Post(text="bad", scheduled_at=at), emu.account(name="a"))
        (later,) = box.add(Post(text="later", scheduled_at=at), emu.account(name="a"))
        (other,) = box.add(Post(text="other"), emu.account(name="b"))
    _damage(db, bad.id, column, value)
    with Outbox(db) as box:
        # Read first: the idle worker's "next due" raised for such a row.
        nxt = box.next_due()
        assert nxt is not None and nxt.tzinfo is not None
        # Before its time nothing of the account goes out, the damaged row apart.
        taken = [d.id for d in box.claim(T0)]
        assert taken == [other.id]
        failed = box.get(bad.id)
        assert failed is not None
        assert failed.status is DeliveryStatus.FAILED
        assert isinstance(failed.error, ContentError)
        message = str(failed.error)
        assert bad.id in message and column in message and "retry" in message
        assert failed.error.field == column
        # The account's later post is not held back by it.
        assert [d.id for d in box.claim(at, accounts=[bad.account])] == [later.id]
        box.release(later.id)
        # What the error says to do works: retried, it goes out at its post's own time.
        assert box.retry(bad.id).status is DeliveryStatus.PENDING
        assert box.claim(T0, accounts=[bad.account]) == []
        assert {d.id for d in box.claim(at, accounts=[bad.account])} == {bad.id, later.id}


def test_a_damaged_time_on_an_unknown_row_is_looked_up_before_a_retry_sends(
    tmp_path: Path, emu: OutboxNetEmulator
) -> None:
    """An ``unknown`` delivery may be on the platform already: failed for its damaged time,
    it says so, and its retry looks the part up first."""
    db = tmp_path / "outbox.db"
    account = emu.account(name="a")
    with Outbox(db) as box:
        (bad,) = box.add(Post(text="bad"), account)
        bad.status, bad.keys, bad.attempts = DeliveryStatus.UNKNOWN, ["k"], 1
        bad.updated_at = T0
        box.save(bad)
        box.release(bad.id)
    _damage(db, bad.id, "not_before", "soon")
    with Outbox(db) as box:
        assert box.claim(T0) == []
        failed = box.get(bad.id)
        assert failed is not None and failed.status is DeliveryStatus.FAILED
        assert "may already be on the platform" in str(failed.error)
        assert failed.look_first
        retried = box.retry(bad.id)
        assert retried.look_first


def _damage_table(db: Path | str, table: str, column: str, value: object, delivery_id: str) -> None:
    key = "id" if table == "deliveries" else "delivery_id"
    if isinstance(db, Path):
        con = sqlite3.connect(db)
        con.execute(f"UPDATE outbox_{table} SET {column} = ? WHERE {key} = ?", (value, delivery_id))
        con.commit()
        con.close()
        return
    import psycopg

    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute(
            f"UPDATE brandkit_outbox_{table} SET {column} = %s WHERE {key} = %s",
            (value, delivery_id),
        )


@pytest.mark.parametrize("column", ["at", "status", "attempts"])
def test_a_damaged_history_row_is_shown_not_raised(
    db: Path | str, emu: OutboxNetEmulator, column: str
) -> None:
    """A history row no brandkit wrote (a time that is no time, on PostgreSQL an infinity;
    a status that is none) raised a ValueError from `history`, so ``brandkit outbox show``
    ended in a traceback for that delivery. It is shown, saying what is damaged, between
    the steps around it."""
    if not isinstance(db, Path) and column != "at":
        pytest.skip("a PostgreSQL column of the right type takes no text there")
    from brandkit.cli import main

    value = {"at": "garbage" if isinstance(db, Path) else "infinity", "status": "weird"}
    with Outbox(db) as box:
        (bad,) = box.add(Post(text="bad"), emu.account(name="a"))
        box.cancel(bad.id)
    if isinstance(db, Path):
        # Only the first step: the second stays readable.
        con = sqlite3.connect(db)
        con.execute(
            f"UPDATE outbox_events SET {column} = ? WHERE seq = "
            "(SELECT MIN(seq) FROM outbox_events WHERE delivery_id = ?)",
            (value.get(column, "x"), bad.id),
        )
        con.commit()
        con.close()
    else:
        _damage_table(db, "events", "at", "infinity", bad.id)
    with Outbox(db) as box:
        history = box.history(bad.id)
        assert len(history) == 2
        assert history[-1].status is DeliveryStatus.CANCELLED
        assert any("damaged" in (e.note or "") for e in history)
    if isinstance(db, Path):
        import io

        out = io.StringIO()
        assert main(["outbox", "show", bad.id[:8], "--db", str(db)], out) == 0
        assert "damaged" in out.getvalue()


def test_a_row_whose_creation_time_is_infinite_blocks_nothing_else(
    postgres_url: str, emu: OutboxNetEmulator
) -> None:
    """A TIMESTAMPTZ takes 'infinity', which psycopg cannot read: one row's creation time
    set so made every listing and every claim of the outbox raise."""
    from tests.servers._servers import schema_url

    db = schema_url(postgres_url)
    with Outbox(db) as box:
        (good,) = box.add(Post(text="good"), emu.account(name="a"))
        (bad,) = box.add(Post(text="bad"), emu.account(name="b"))
    _damage_table(db, "deliveries", "created_at", "infinity", bad.id)
    with Outbox(db) as box:
        assert {d.id for d in box.list()} == {good.id, bad.id}
        assert {d.id for d in box.due(T0)} == {good.id, bad.id}
        assert {d.id for d in box.claim(T0)} == {good.id, bad.id}


def test_a_lease_longer_than_any_outbox_takes_holds_nothing(
    db: Path | str, emu: OutboxNetEmulator
) -> None:
    """No outbox leases for more than 7 days: a lease that ends later (a hand edit, another
    tool; on PostgreSQL an infinity) held its delivery and every later post of its account
    for ever, and a person could not even cancel it ("being published right now"; on
    PostgreSQL "cannot subtract infinite timestamps"). It holds nothing, as a lease that is
    no number does."""
    import time

    with Outbox(db) as box:
        (held,) = box.add(Post(text="held"), emu.account(name="a"))
        (later,) = box.add(Post(text="later"), emu.account(name="a"))
        (stuck,) = box.add(Post(text="stuck"), emu.account(name="b"))
    owner = "elsewhere:4242:0badc0de.1"
    for delivery_id in (held.id, stuck.id):
        if isinstance(db, Path):
            until: object = time.time() + 30 * 86_400
        else:
            until = "infinity" if delivery_id == held.id else "2999-01-01 00:00+00"
        _damage_table(db, "deliveries", "lease_owner", owner, delivery_id)
        _damage_table(db, "deliveries", "lease_until", str(until), delivery_id)
    with Outbox(db) as box:
        assert box.cancel(stuck.id).status is DeliveryStatus.CANCELLED
        assert [d.id for d in box.claim(T0)] == [held.id, later.id]


@pytest.mark.parametrize("stored", ["pending", "sent"])
def test_a_row_whose_status_column_is_no_status_is_not_left_for_ever(
    db: Path | str, emu: OutboxNetEmulator, stored: str
) -> None:
    """A status column no brandkit writes (``PENDING``, as a hand edit meant to requeue a
    post) beside a readable delivery: listed as the delivery says (pending), but no claim
    ever took it, nor counted it. A pending one is failed, saying so and what to do; a
    finished one (its stored delivery says sent) gets its column written again."""
    account = emu.account(name="a")
    with Outbox(db) as box:
        (bad,) = box.add(Post(text="bad"), account)
        if stored == "sent":
            bad.status, bad.keys, bad.attempts = DeliveryStatus.SENDING, ["k"], 1
            box.save(bad)
            from brandkit.platforms._base import PartRef

            bad.parts.append(PartRef(index=0, id="1", url="https://obx.example/1"))
            bad.status = DeliveryStatus.SENT
            box.save(bad)
    _damage_table(db, "deliveries", "status", "PENDING", bad.id)
    with Outbox(db) as box:
        assert box.claim(T0) == []
        got = box.get(bad.id)
        assert got is not None
        assert box.counts()[got.status] == 1
        if stored == "sent":
            assert got.status is DeliveryStatus.SENT
            return
        assert got.status is DeliveryStatus.FAILED
        message = str(got.error)
        assert bad.id in message and "status 'PENDING'" in message and "retry" in message
        assert box.retry(bad.id).status is DeliveryStatus.PENDING
        assert [d.id for d in box.claim(T0)] == [bad.id]


def test_finding_damaged_rows_keeps_the_due_query_on_its_index(tmp_path: Path) -> None:
    """Looking for a status column that holds no status must not make every claim (every
    idle worker's poll) read the whole table, sent posts and all: the due query searches
    the status index only."""
    with Outbox(tmp_path / "outbox.db") as box:
        sql, args = box._due_sql("2026-11-26T12:00:00.000000+00:00", None)
        plan = [
            str(row[3])
            for row in box._db.execute(f"EXPLAIN QUERY PLAN {sql}", [*args, 10]).fetchall()
        ]
    assert not [step for step in plan if step.startswith("SCAN")], plan
