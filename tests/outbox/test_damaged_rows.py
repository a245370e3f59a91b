"""A stored row damaged outside brandkit (its JSON cut short, a field of the wrong type)
blocks nothing else: listing, the worker's claims and opening the outbox go on, and the
damaged delivery is failed alone with a typed error saying what happened."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from brandkit import DeliveryStatus, Post
from brandkit.errors import ContentError
from brandkit.outbox import Outbox
from tests.outbox._fakenet import OutboxNetEmulator

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def _damage(db: Path | str, delivery_id: str, data: str | None, status: str | None = None) -> None:
    """Write ``data`` (and ``status``) into the row of ``delivery_id``, as a hand edit or a
    broken disk would."""
    if isinstance(db, Path):
        con = sqlite3.connect(db)
        if data is not None:
            con.execute("UPDATE outbox_deliveries SET data = ? WHERE id = ?", (data, delivery_id))
        if status is not None:
            con.execute(
                "UPDATE outbox_deliveries SET status = ? WHERE id = ?", (status, delivery_id)
            )
        con.commit()
        con.close()
        return
    import psycopg

    with psycopg.connect(db, autocommit=True) as conn:
        if data is not None:
            conn.execute(
                "UPDATE brandkit_outbox_deliveries SET data = %s WHERE id = %s",
                (data, delivery_id),
            )
        if status is not None:
            conn.execute(
                "UPDATE brandkit_outbox_deliveries SET status = %s WHERE id = %s",
                (status, delivery_id),
            )


def _damaged_field(data: str, field: str, value: object) -> str:
    raw = json.loads(data)
    raw[field] = value
    return json.dumps(raw)


def _limited(**fields: object) -> dict[str, object]:
    """A stored RateLimited error with ``fields`` changed."""
    return {"type": "RateLimited", "message": "slow down", "platform": "outboxnet", **fields}


@pytest.mark.parametrize(
    "how",
    [
        "cut short",
        "no post",
        "bad parts",
        "not an object",
        "naive time",
        "keys not a list",
        "naive reset",
        "wait not a number",
    ],
)
def test_a_damaged_row_is_failed_alone(db: Path | str, emu: OutboxNetEmulator, how: str) -> None:
    with Outbox(db) as box:
        (good,) = box.add(Post(text="good"), emu.account(name="a"))
        (bad,) = box.add(Post(text="bad"), emu.account(name="b"))
        stored = box._data_json(bad)
    damaged = {
        "cut short": stored[: len(stored) // 2],
        "no post": json.dumps({"id": bad.id}),
        "bad parts": _damaged_field(stored, "parts", ["not a part"]),
        "not an object": "[1, 2]",
        # Read as they were, a time without a zone made every claim fail (the worker
        # stopped for every account) and a key written as one text became its letters.
        "naive time": _damaged_field(stored, "created_at", "2026-11-26T11:00:00"),
        "keys not a list": _damaged_field(stored, "keys", "3kabcdefghijk"),
        # A stored rate limit's reset or wait is what the worker waits for after an attempt
        # that broke off: a naive one or text raised there, and ended the whole run.
        "naive reset": _damaged_field(stored, "error", _limited(reset_at="2026-11-26T11:00:00")),
        "wait not a number": _damaged_field(stored, "error", _limited(retry_after="soon")),
    }[how]
    _damage(db, bad.id, damaged)
    with Outbox(db) as box:
        listed = {d.id: d for d in box.list()}
        assert set(listed) == {good.id, bad.id}
        assert listed[bad.id].account == bad.account
        assert {d.id for d in box.due(T0)} == {good.id, bad.id}
        taken = box.claim(T0)
        assert [d.id for d in taken] == [good.id]
        failed = box.get(bad.id)
        assert failed is not None
        assert failed.status is DeliveryStatus.FAILED
        assert failed.account == bad.account
        assert isinstance(failed.error, ContentError)
        assert "cannot be read" in str(failed.error)
        assert box.cancel(bad.id).status is DeliveryStatus.CANCELLED


def test_a_damaged_row_left_sending_does_not_stop_the_outbox_opening(
    db: Path | str, emu: OutboxNetEmulator
) -> None:
    """Opening an outbox recovers the rows a dead process left ``sending``: a damaged one
    among them is recovered too, not a JSONDecodeError for every open."""
    with Outbox(db) as box:
        (bad,) = box.add(Post(text="bad"), emu.account())
    _damage(db, bad.id, "{not json", status="sending")
    with Outbox(db) as box:
        got = box.get(bad.id)
        assert got is not None
        assert got.status is DeliveryStatus.UNKNOWN
        assert box.claim(T0) == []
        failed = box.get(bad.id)
        assert failed is not None and failed.status is DeliveryStatus.FAILED
        assert "may already be on the platform" in str(failed.error)


def test_a_damaged_row_that_is_not_due_can_be_cancelled_and_counted(
    db: Path | str, emu: OutboxNetEmulator
) -> None:
    """A damaged failed row is never claimed (so never repaired by a claim): a person can
    still cancel it, and a status no brandkit wrote does not break the counts."""
    with Outbox(db) as box:
        (bad,) = box.add(Post(text="bad"), emu.account(name="b"))
        (odd,) = box.add(Post(text="odd"), emu.account(name="c"))
    _damage(db, bad.id, "{not json", status="failed")
    _damage(db, odd.id, None, status="bogus")
    with Outbox(db) as box:
        assert box.cancel(bad.id).status is DeliveryStatus.CANCELLED
        counts = box.counts()
        assert counts[DeliveryStatus.CANCELLED] == 1
        assert sum(counts.values()) == 1


@pytest.mark.parametrize("until", ["abc", "", "1e999x"])
def test_a_damaged_lease_blocks_nothing_else(
    tmp_path: Path, emu: OutboxNetEmulator, until: str
) -> None:
    """A lease time that is no number (a hand edit; SQLite keeps text in a REAL column)
    made the outbox's lease check raise inside every query: the outbox could not even be
    opened ("user-defined function raised exception"), and no account's posts went out.
    Such a lease is taken as ended: the delivery left ``sending`` under it comes back
    ``unknown``, to be looked up before anything is sent, and the others go on."""
    db = tmp_path / "outbox.db"
    with Outbox(db) as box:
        (good,) = box.add(Post(text="good"), emu.account(name="a"))
        (bad,) = box.add(Post(text="bad"), emu.account(name="b"))
        (later,) = box.add(Post(text="later"), emu.account(name="c"))
    con = sqlite3.connect(db)
    for delivery_id, status in ((bad.id, "sending"), (later.id, "pending")):
        con.execute(
            "UPDATE outbox_deliveries SET status = ?, lease_owner = ?, lease_until = ? "
            "WHERE id = ?",
            (status, "elsewhere:4242:0badc0de.1", until, delivery_id),
        )
    con.commit()
    con.close()
    with Outbox(db) as box:
        assert {d.id for d in box.list()} == {good.id, bad.id, later.id}
        assert box.cancel(later.id).status is DeliveryStatus.CANCELLED
        taken = {d.id: d for d in box.claim(T0)}
        assert set(taken) == {good.id, bad.id}
        assert taken[bad.id].status is DeliveryStatus.UNKNOWN


@pytest.mark.parametrize("column", ["status", "created_at"])
def test_a_row_damaged_in_its_columns_too_blocks_nothing_else(
    tmp_path: Path, emu: OutboxNetEmulator, column: str
) -> None:
    """A row whose JSON cannot be read is listed from its columns; one whose status or
    creation time column is damaged too raised for every listing, due and claim ("its row
    too"), so no account's posts went out and a person could not even list the outbox to
    cancel it. It is listed as failed (its time unknown), failed alone, and cancellable."""
    db = tmp_path / "outbox.db"
    with Outbox(db) as box:
        (good,) = box.add(Post(text="good"), emu.account(name="a"))
        (bad,) = box.add(Post(text="bad"), emu.account(name="b"))
    con = sqlite3.connect(db)
    con.execute(
        f"UPDATE outbox_deliveries SET data = '{{cut', {column} = 'garbage' WHERE id = ?",
        (bad.id,),
    )
    con.commit()
    con.close()
    with Outbox(db) as box:
        listed = {d.id: d for d in box.list()}
        assert set(listed) == {good.id, bad.id}
        assert listed[bad.id].status is DeliveryStatus.FAILED or column == "created_at"
        assert [d.id for d in box.claim(T0)] == [good.id]
        assert box.cancel(bad.id).status is DeliveryStatus.CANCELLED
