"""What a save costs: statements and commits per state change, and what is not made twice.

Every commit of the outbox is an fsync (``synchronous=FULL``), the largest cost of durable
publishing; these tests pin the count of statements and commits so that a regression shows,
and check that the caches that avoid re-serialising a post never write a stale one.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

import brandkit.outbox._store
from brandkit import Client, DeliveryStatus, Post
from brandkit.delivery import Delivery
from brandkit.errors import OutboxConflict, Rejected
from brandkit.outbox import Outbox
from brandkit.platforms._base import PartRef
from tests.outbox._fakenet import OutboxNetEmulator


@contextmanager
def traced(box: Outbox) -> Iterator[list[str]]:
    """The SQL statements ``box`` runs inside the block, as sqlite3 traces them; not the
    busy-timeout settings around ``BEGIN IMMEDIATE`` (brandkit._sqlite.begin_immediate),
    which are the connection's, outside any transaction, and touch no file."""
    seen: list[str] = []

    def trace(sql: str) -> None:
        if not sql.upper().startswith("PRAGMA BUSY_TIMEOUT"):
            seen.append(" ".join(sql.split()[:3]).upper())

    box._db.set_trace_callback(trace)
    try:
        yield seen
    finally:
        box._db.set_trace_callback(None)


def stored_data(box: Outbox, delivery_id: str) -> dict[str, Any]:
    row = box._db.execute("SELECT data FROM outbox_deliveries WHERE id = ?", (delivery_id,))
    data: dict[str, Any] = json.loads(row.fetchone()[0])
    return data


def sending(emu: OutboxNetEmulator, text: str = "hello") -> Delivery:
    """A new delivery about to send its first byte, as a driver saves it."""
    d = Delivery(account=emu.account().key, platform="outboxnet", post=Post(text=text))
    d.keys = ["k1"]
    d.status = DeliveryStatus.SENDING
    d.attempts = 1
    return d


def test_each_save_is_one_transaction_of_four_statements(
    outbox: Outbox, emu: OutboxNetEmulator
) -> None:
    """Insert and update alike: BEGIN, one row write, one history write, COMMIT. A new
    delivery is inserted without a read first; a delivery this outbox wrote last is
    checked against the row it wrote and updated only if the file still holds that row."""
    d = sending(emu)
    with traced(outbox) as first:
        outbox.save(d)
    assert first == [
        "BEGIN IMMEDIATE",
        "INSERT INTO OUTBOX_DELIVERIES",
        "INSERT INTO OUTBOX_EVENTS",
        "COMMIT",
    ]
    d.parts.append(PartRef(index=0, id="1"))
    d.status = DeliveryStatus.SENT
    with traced(outbox) as last:
        outbox.save(d)
    assert last == [
        "BEGIN IMMEDIATE",
        "UPDATE OUTBOX_DELIVERIES SET",
        "INSERT INTO OUTBOX_EVENTS",
        "COMMIT",
    ]
    assert [(e.status.value, e.parts) for e in outbox.history(d.id)] == [
        ("pending", 0),
        ("sending", 0),
        ("sending", 1),
        ("sent", 1),
    ]


def test_a_save_that_changes_no_step_writes_no_history(
    outbox: Outbox, emu: OutboxNetEmulator
) -> None:
    """Re-saving the same state (a lease renewal) is one row write and no history row."""
    d = sending(emu)
    outbox.save(d)
    with traced(outbox) as seen:
        outbox.save(d)
    assert seen == [
        "BEGIN IMMEDIATE",
        "UPDATE OUTBOX_DELIVERIES SET",
        "COMMIT",
    ]
    assert len(outbox.history(d.id)) == 2


def test_a_row_changed_since_this_outbox_wrote_it_is_read_and_checked(
    db: Any, emu: OutboxNetEmulator
) -> None:
    """The row an outbox remembers writing is only a guess: when another outbox on the
    file (another process) has changed it since, the conditional UPDATE writes nothing, and
    the save reads the row and decides on what is stored: here another machine's live lease,
    so the save is refused and nothing of it is written."""
    mine, theirs = Outbox(db), Outbox(db)
    d = sending(emu)
    mine.save(d)
    # Another machine's worker holds it now (its lease runs for an hour).
    theirs.owner = "elsewhere:4242:cafe"
    theirs._db.execute(
        "UPDATE outbox_deliveries SET lease_owner = ?, lease_until = ? WHERE id = ?",
        (theirs.owner, time.time() + 3600, d.id),
    )
    before = stored_data(mine, d.id)
    d.parts.append(PartRef(index=0, id="1"))
    d.status = DeliveryStatus.SENT
    with traced(mine) as seen, pytest.raises(OutboxConflict, match="another process"):
        mine.save(d)
    assert seen[:3] == [
        "BEGIN IMMEDIATE",
        "UPDATE OUTBOX_DELIVERIES SET",
        "SELECT STATUS, ATTEMPTS,",
    ]
    assert stored_data(mine, d.id) == before
    assert [e.status.value for e in mine.history(d.id)] == ["pending", "sending"]
    mine.close()
    theirs.close()


def test_a_delivery_first_written_elsewhere_is_read_before_its_save(
    db: Any, emu: OutboxNetEmulator
) -> None:
    """A delivery this outbox never wrote (added by another process, or forgotten) is not
    inserted twice: the INSERT writes nothing, the row is read, and the copy is checked
    against what the file holds."""
    adder, sender = Outbox(db), Outbox(db)
    (d,) = adder.add(Post(text="queued"), emu.account())
    copy = sender.get(d.id)
    assert copy is not None
    copy.keys, copy.status, copy.attempts = ["k1"], DeliveryStatus.SENDING, 1
    with traced(sender) as seen:
        sender.save(copy)
    assert seen == [
        "BEGIN IMMEDIATE",
        "INSERT INTO OUTBOX_DELIVERIES",
        "SELECT STATUS, ATTEMPTS,",
        "UPDATE OUTBOX_DELIVERIES SET",
        "INSERT INTO OUTBOX_EVENTS",
        "COMMIT",
    ]
    assert [e.status.value for e in sender.history(d.id)] == ["pending", "sending"]
    # The adder remembers the row it wrote, which is no longer the file's: its copy is
    # refused on what the file holds (the sender's lease), and is not written.
    d.keys, d.status, d.attempts = ["k1"], DeliveryStatus.SENDING, 1
    with pytest.raises(OutboxConflict, match="another process"):
        adder.save(d)
    assert [e.status.value for e in sender.history(d.id)] == ["pending", "sending"]
    assert len(sender.list(limit=None)) == 1
    adder.close()
    sender.close()


def test_the_outbox_remembers_a_bounded_number_of_rows(
    outbox: Outbox, emu: OutboxNetEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The memory of rows written is bounded (the oldest is forgotten); a forgotten
    delivery's next save reads its row and is as correct as any."""
    monkeypatch.setattr(brandkit.outbox._store, "_REMEMBERED", 3)
    ds = [sending(emu, text=f"post {i}") for i in range(5)]
    for d in ds:
        outbox.save(d)
    assert list(outbox._written) == [d.id for d in ds[2:]]
    first = ds[0]
    first.parts.append(PartRef(index=0, id="1"))
    first.status = DeliveryStatus.SENT
    with traced(outbox) as seen:
        outbox.save(first)
    assert "SELECT STATUS, ATTEMPTS," in seen
    assert len(outbox._written) == 3 and first.id in outbox._written
    stored = outbox.get(first.id)
    assert stored is not None and stored.status is DeliveryStatus.SENT


def test_first_save_past_pending_records_the_pending_step(
    outbox: Outbox, emu: OutboxNetEmulator
) -> None:
    """A delivery first written as it starts sending (one commit before its first byte)
    still has a history that starts with ``pending``, at its creation time."""
    d = sending(emu)
    outbox.save(d)
    history = outbox.history(d.id)
    assert [(e.status.value, e.attempts, e.parts) for e in history] == [
        ("pending", 0, 0),
        ("sending", 1, 0),
    ]
    assert history[0].at == d.created_at
    stored = outbox.get(d.id)
    assert stored is not None and stored.status is DeliveryStatus.SENDING
    # Held by this outbox's lease: no worker takes it while it is being sent.
    assert outbox.due() == []


def test_last_part_and_sent_in_one_save_record_both_steps(
    outbox: Outbox, emu: OutboxNetEmulator
) -> None:
    """A save that confirms the last part and marks the delivery sent is one commit whose
    history shows both steps, as two saves would have."""
    d = sending(emu)
    d.keys = ["k1", "k2"]
    outbox.save(d)
    d.parts.append(PartRef(index=0, id="1"))
    outbox.save(d)
    d.parts.append(PartRef(index=1, id="2"))
    d.status = DeliveryStatus.SENT
    with traced(outbox) as seen:
        outbox.save(d)
    assert seen.count("COMMIT") == 1
    assert seen.count("INSERT INTO OUTBOX_EVENTS") == 1
    assert [(e.status.value, e.parts) for e in outbox.history(d.id)] == [
        ("pending", 0),
        ("sending", 0),
        ("sending", 1),
        ("sending", 2),
        ("sent", 2),
    ]


def test_client_publish_commits_once_per_save(db: Any, emu: OutboxNetEmulator) -> None:
    """Through the driver: every save of a publish is exactly one commit, and a one-part
    post costs at most the four saves of pending, sending, confirmed and sent."""
    box = Outbox(db)
    saves = 0
    save = box.save_many

    def counting(deliveries: Any) -> None:
        nonlocal saves
        saves += 1
        save(deliveries)

    box.save_many = counting  # type: ignore[method-assign]
    with Client(outbox=box, http=httpx.Client(transport=emu.transport())) as client:
        client.publish(Post(text="warm"), emu.account())
        saves = 0
        with traced(box) as seen:
            (d,) = client.publish(Post(text="one"), emu.account())
    assert d.ok
    assert seen.count("COMMIT") == saves <= 4
    assert len(seen) <= 5 * saves
    box.close()


def test_a_run_of_publishes_sets_no_busy_timeout_and_reads_still_wait(
    db: Any, emu: OutboxNetEmulator
) -> None:
    """Transactions wait for the write lock in short steps with the connection's busy
    timeout off: it is switched off once, not around every transaction, so a publish loop
    runs no PRAGMA at all; a read after it has the timeout back (a WAL reader may wait)."""
    box = Outbox(db, timeout=3)
    pragmas: list[str] = []
    with Client(outbox=box, http=httpx.Client(transport=emu.transport())) as client:
        client.publish(Post(text="warm"), emu.account())
        box._db.set_trace_callback(lambda sql: pragmas.append(sql) if "PRAGMA" in sql else None)
        for i in range(3):
            (d,) = client.publish(Post(text=f"post {i}"), emu.account())
            assert d.ok
        box._db.set_trace_callback(None)
    assert pragmas == []
    with box._reading() as conn:
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 3000
    with box._tx() as conn:
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 0
    assert len(box.list(limit=None)) == 4
    box.close()


def test_save_many_is_one_commit_and_all_or_nothing(outbox: Outbox, emu: OutboxNetEmulator) -> None:
    """Several deliveries in one transaction; one refused save writes none of them."""
    post = Post(text="to three")
    ds = [
        Delivery(account=emu.account(name=n).key, platform="outboxnet", post=post)
        for n in ("a", "b", "c")
    ]
    with traced(outbox) as seen:
        outbox.save_many(ds)
    assert seen.count("COMMIT") == 1
    assert {d.id for d in outbox.list()} == {d.id for d in ds}
    ds[0].status = DeliveryStatus.SENT
    outbox.save(ds[0])
    ds[0].status = DeliveryStatus.PENDING  # a sent delivery cannot become pending again
    fresh = Delivery(account=emu.account().key, platform="outboxnet", post=post)
    with pytest.raises(OutboxConflict, match="already sent"):
        outbox.save_many([fresh, ds[0]])
    assert outbox.get(fresh.id) is None


def test_stored_data_is_the_delivery_as_plain_data(outbox: Outbox, emu: OutboxNetEmulator) -> None:
    """The JSON written (assembled around the cached post) is exactly `Delivery.to_dict`,
    keys in the same order: a field added to deliveries and not stored would show here."""
    (d,) = outbox.add(Post(text='héllo \u2028 "quoted" post', campaign="c"), emu.account())
    d.keys = ["k1", "k2"]
    d.status = DeliveryStatus.FAILED
    d.attempts = 2
    d.look_first = True
    d.error = Rejected('said "no"', platform="outboxnet", status_code=422)
    d.parts.append(PartRef(index=0, id="9", url="https://obx.example/9", extra={"a": [1]}))
    d.reply_to = PartRef(index=0, id="m1", extra={"message": "outboxnet:m1"})
    outbox.save(d)
    data = stored_data(outbox, d.id)
    assert data == d.to_dict()
    assert list(data) == list(d.to_dict())
    got = outbox.get(d.id)
    assert got is not None and got.to_dict() == d.to_dict()


def test_the_same_post_is_serialised_once(
    outbox: Outbox, emu: OutboxNetEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every save of one delivery, and the deliveries of one post to several accounts,
    reuse the post's JSON: it is made once."""
    made = 0
    dump = Post.model_dump_json

    def counting(self: Post, **kwargs: Any) -> str:
        nonlocal made
        made += 1
        return dump(self, **kwargs)

    monkeypatch.setattr(Post, "model_dump_json", counting)
    post = Post(text="once")
    a, b = outbox.add(post, [emu.account(name="a"), emu.account(name="b")])
    a.keys, a.status, a.attempts = ["k"], DeliveryStatus.SENDING, 1
    outbox.save(a)
    a.parts.append(PartRef(index=0, id="1"))
    a.status = DeliveryStatus.SENT
    outbox.save(a)
    assert made == 1
    assert stored_data(outbox, b.id)["post"] == stored_data(outbox, a.id)["post"]


def test_a_changed_post_is_serialised_again(outbox: Outbox, emu: OutboxNetEmulator) -> None:
    """A delivery given another post object stores that post, its campaign and time too."""
    (d,) = outbox.add(Post(text="first", campaign="old"), emu.account())
    d.post = Post(text="second", campaign="new")
    outbox.save(d)
    assert stored_data(outbox, d.id)["post"]["text"] == "second"
    got = outbox.get(d.id)
    assert got is not None and got.post.text == "second"
    assert [x.id for x in outbox.list(campaign="new")] == [d.id]
    assert outbox.list(campaign="old") == []


def test_an_unreadable_post_is_written_back_as_stored(
    outbox: Outbox, emu: OutboxNetEmulator
) -> None:
    """A stored post this brandkit cannot read survives every later write unchanged, never
    replaced by the stand-in it is shown as."""
    (d,) = outbox.add(Post(text="old shape", campaign="c1"), emu.account())
    data = stored_data(outbox, d.id)
    data["post"]["hashtags"] = "one string"  # the model refuses this
    data["post"]["from_the_future"] = {"x": [1, "é"]}
    outbox._db.execute(
        "UPDATE outbox_deliveries SET data = ? WHERE id = ?", (json.dumps(data), d.id)
    )
    loaded = outbox.get(d.id)
    assert loaded is not None and loaded.post.text == "old shape"
    loaded.error = Rejected("no", platform="outboxnet")
    loaded.status = DeliveryStatus.FAILED
    outbox.save(loaded)
    outbox.save(loaded)
    outbox.cancel(d.id)
    after = stored_data(outbox, d.id)
    assert after["post"] == data["post"]
    assert after["status"] == "cancelled"


def test_release_clears_the_lease_without_rewriting_the_row(
    outbox: Outbox, emu: OutboxNetEmulator
) -> None:
    """Giving a lease back touches the lease columns only; with no lease, nothing at all:
    not even the write lock is taken (other workers' commits wait for it)."""
    d = sending(emu)
    outbox.save(d)
    before = stored_data(outbox, d.id)
    with traced(outbox) as seen:
        outbox.release(d.id)
    assert "UPDATE OUTBOX_DELIVERIES SET" in seen
    row = outbox._db.execute(
        "SELECT lease_owner, lease_until FROM outbox_deliveries WHERE id = ?", (d.id,)
    ).fetchone()
    assert row == (None, None)
    assert stored_data(outbox, d.id) == before
    with traced(outbox) as again:
        outbox.release(d.id)
    assert not any(s.startswith("UPDATE") for s in again)
    assert "BEGIN IMMEDIATE" not in again


def test_a_worker_commits_only_its_claim_and_the_drivers_saves(
    db: Any, emu: OutboxNetEmulator
) -> None:
    """Settling a sent delivery costs no write transaction (its last save gave the lease
    back) and does not load the delivery again: a worker's commits are its claim and the
    driver's saves, every one of them an fsync that other workers' commits wait for."""
    from brandkit.outbox import Worker

    box = Outbox(db)
    accounts = [emu.account(name=f"a{i}") for i in range(3)]
    for account in accounts:
        box.add(Post(text=f"to {account.name}"), account)
    saves = 0
    save = box.save_many

    def counting(deliveries: Any) -> None:
        nonlocal saves
        saves += 1
        save(deliveries)

    box.save_many = counting  # type: ignore[method-assign]
    client = Client(outbox=box, http=httpx.Client(transport=emu.transport()))
    with client, Worker(box, accounts, client=client) as worker, traced(box) as seen:
        done = worker.run_once()
    assert [d.status for d in done] == [DeliveryStatus.SENT] * 3
    assert seen.count("BEGIN IMMEDIATE") == seen.count("COMMIT") == 1 + saves
    # No delivery loaded again to settle it (a load reads "SELECT data, id, ...").
    assert not [s for s in seen if s.startswith("SELECT DATA")]
    # The driver's saves check the rows the claim wrote without reading them again.
    assert "SELECT STATUS, ATTEMPTS," not in seen
    assert "INSERT INTO OUTBOX_DELIVERIES" not in seen
    box.close()


def test_a_claim_that_finds_nothing_takes_no_write_lock(
    outbox: Outbox, emu: OutboxNetEmulator
) -> None:
    """An idle worker claims at every poll: finding nothing, it neither writes nor takes the
    write lock that every other worker's commit waits for; finding work, it does."""
    account = emu.account()
    outbox.add(Post(text="later", scheduled_at=datetime(2099, 1, 1, tzinfo=UTC)), account)
    with traced(outbox) as idle:
        assert outbox.claim() == []
    assert "BEGIN IMMEDIATE" not in idle
    assert not any(s.startswith(("UPDATE", "INSERT")) for s in idle)
    (now,) = outbox.add(Post(text="now"), account)
    with traced(outbox) as busy:
        assert [d.id for d in outbox.claim()] == [now.id]
    assert busy.count("BEGIN IMMEDIATE") == busy.count("COMMIT") == 1


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"message": "outboxnet:m1", "n": 2, "f": 1.5, "ok": True, "none": None},
        {"root": {"index": 0, "id": "r", "extra": {}}},
        {"list": [1, "a"]},
        {"part": PartRef(index=1, id="p", extra={"deep": [PartRef(index=2, id="q")]})},
    ],
)
def test_a_part_is_stored_as_attrs_makes_it_plain(extra: dict[str, Any]) -> None:
    """`PartRef.to_dict` skips attrs' walk for scalar extras: the data is the same either
    way, for every shape of ``extra``."""
    import attrs

    part = PartRef(index=0, id="1", url="https://obx.example/1", cid="c", extra=extra)
    assert part.to_dict() == attrs.asdict(part)
    assert part.to_dict()["extra"] is not extra  # a copy: the part stays immutable


def test_a_write_touches_only_the_indexes_a_query_reads(
    tmp_path: Path, emu: OutboxNetEmulator
) -> None:
    """Each index is a page more in every commit's fsync'd WAL: a file made before loses
    the three no query needs (update time, platform, a campaign entry for posts outside
    any campaign), and listing by platform and by campaign still finds every delivery."""
    path = tmp_path / "old.db"
    Outbox(path).close()
    with sqlite3.connect(path) as old:
        old.execute("DROP INDEX outbox_deliveries_in_campaign")
        for name, column in (("platform", "platform"), ("campaign", "campaign")):
            old.execute(f"CREATE INDEX outbox_deliveries_{name} ON outbox_deliveries ({column})")
        old.execute("CREATE INDEX outbox_deliveries_updated ON outbox_deliveries (updated_at)")
    with Outbox(path) as box:
        indexes = {
            name
            for (name,) in box._db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
            )
        }
        assert indexes == {
            "outbox_deliveries_due",
            "outbox_deliveries_account",
            "outbox_deliveries_in_campaign",
            "outbox_deliveries_leased",
            "outbox_events_delivery",
        }
        plain = sending(emu, text="no campaign")
        launch = sending(emu, text="in a campaign")
        launch.post = Post(text="in a campaign", campaign="launch")
        box.save_many([plain, launch])
        in_campaign = box._db.execute(
            "SELECT COUNT(*) FROM outbox_deliveries INDEXED BY outbox_deliveries_in_campaign "
            "WHERE campaign IS NOT NULL"
        ).fetchone()[0]
        assert in_campaign == 1
        assert [d.id for d in box.list(campaign="launch")] == [launch.id]
        assert {d.id for d in box.list(platform="outboxnet")} == {plain.id, launch.id}


def test_history_rows_write_no_sequence_page_and_old_files_keep_theirs(
    tmp_path: Path, emu: OutboxNetEmulator
) -> None:
    """History rows take a plain rowid key (they are never deleted): a commit writes no
    ``sqlite_sequence`` page. A file made with the AUTOINCREMENT key is rebuilt when opened,
    every row and its order kept, and later rows come after them."""
    path = tmp_path / "old.db"
    first = sending(emu, text="before the upgrade")
    with Outbox(path) as box:
        box.save(first)
        first.parts.append(PartRef(index=0, id="1"))
        first.status = DeliveryStatus.SENT
        box.save(first)
        before = box.history(first.id)
    with sqlite3.connect(path) as old:
        old.executescript(
            """
            CREATE TABLE e (seq INTEGER PRIMARY KEY AUTOINCREMENT, delivery_id TEXT NOT NULL,
                at TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL,
                parts INTEGER NOT NULL, note TEXT);
            INSERT INTO e SELECT seq + 100, delivery_id, at, status, attempts, parts, note
                FROM outbox_events;
            DROP TABLE outbox_events;
            ALTER TABLE e RENAME TO outbox_events;
            CREATE INDEX outbox_events_delivery ON outbox_events (delivery_id, seq);
            """
        )
        old_seqs = [s for (s,) in old.execute("SELECT seq FROM outbox_events ORDER BY seq")]
    assert len(before) == len(old_seqs) >= 3 and min(old_seqs) > 100
    with Outbox(path) as box:
        (sql,) = box._db.execute(
            "SELECT sql FROM sqlite_master WHERE name = 'outbox_events'"
        ).fetchone()
        assert "AUTOINCREMENT" not in sql.upper()
        assert [s for (s,) in box._db.execute("SELECT seq FROM outbox_events")] == old_seqs
        assert box.history(first.id) == before
        second = sending(emu, text="after the upgrade")
        box.save(second)
        later = [
            s
            for (s,) in box._db.execute(
                "SELECT seq FROM outbox_events WHERE delivery_id = ?", (second.id,)
            )
        ]
        assert len(later) == 2 and min(later) > max(old_seqs)
        # With AUTOINCREMENT, that insert would have written the table's sequence row.
        assert (
            box._db.execute(
                "SELECT COUNT(*) FROM sqlite_sequence WHERE name = 'outbox_events'"
            ).fetchone()[0]
            == 0
        )


@pytest.mark.parametrize(
    "value",
    [
        {"id": "d1", "text": "héllo ✨ 日本", "n": 3, "f": 1e16, "g": 0.1, "nan": float("nan")},
        {"nested": [{"a": None, "b": True}, [1, 2.5, "x"]], "int_key": {1: "one"}},
        {"escapes": 'quote " backslash \\ nl \n tab \t nul \x00 del \x7f sep \u2028'},
        {"lone surrogate": "\ud800"},
        {"tuple": (1, 2), "big": 2**70, "neg": -0.0},
    ],
)
def test_stored_json_is_the_standard_librarys_text(value: dict[str, Any]) -> None:
    """The stored JSON is made by pydantic-core: the same text, byte for byte, as the
    standard library's compact encoder (non-ASCII kept), whatever it falls back on."""
    from brandkit.outbox._store import _dumps

    expected = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode(value)
    assert _dumps(value) == expected


@pytest.mark.parametrize(
    "at",
    [
        datetime(2026, 12, 6, 1, 2, 3, 456789, tzinfo=UTC),
        datetime(2026, 12, 6, 1, 2, 3, tzinfo=UTC),
        datetime(2026, 12, 6, 1, 2, 3, 1, tzinfo=timezone(timedelta(hours=5, minutes=30))),
        datetime(2026, 12, 6, 1, 2, 3, 0, tzinfo=timezone(timedelta(hours=-3))),
    ],
)
def test_stored_times_are_the_deliverys_own_text(at: datetime, emu: OutboxNetEmulator) -> None:
    """The data's times reuse the row's text only where it is `Delivery.to_dict`'s: the
    stored data is `to_dict` for a time with or without microseconds, in UTC or not."""
    d = sending(emu)
    d.created_at = at
    d.updated_at = at + timedelta(seconds=1)
    box = Outbox(":memory:")
    try:
        columns = box._columns(d, None)
        stored = json.loads(columns[-1])
    finally:
        box.close()
    expected = d.to_dict()
    assert (stored["created_at"], stored["updated_at"]) == (
        expected["created_at"],
        expected["updated_at"],
    )
