"""The SQLite outbox: what it stores, what it hands out, and what it refuses."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from brandkit import Account, Client, DeliveryStatus, Post
from brandkit.delivery import Delivery
from brandkit.errors import BrandkitError, ConfigurationError, Rejected, TransportError
from brandkit.outbox import Outbox
from brandkit.platforms._base import PartRef
from tests.outbox._fakenet import NAME, TOKEN, OutboxNetEmulator
from tests.outbox._leases import expire_leases

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def dead_owner() -> str:
    """A lease owner naming a process of this machine that has exited."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return f"{socket.gethostname()}:{child.pid}:deadbeef"


def leave_sending(db: Path, account: Account, parts: int = 1, owner: str | None = None) -> str:
    """Write a delivery as a process that died mid-send would have left it."""
    box = Outbox(db)
    box.owner = owner or dead_owner()
    (d,) = box.add(Post(text="a | b | c"), account)
    d.keys = ["k1", "k2", "k3"]
    d.status = DeliveryStatus.SENDING
    d.attempts = 1
    box.save(d)
    for i in range(parts):
        d.parts.append(PartRef(index=i, id=str(i + 1)))
        box.save(d)
    box.close()
    return d.id


def test_delivery_round_trips_with_its_typed_error(outbox: Outbox, emu: OutboxNetEmulator) -> None:
    """What is saved comes back equal: status, keys, parts and the error's class and message."""
    (d,) = outbox.add(Post(text="hello", campaign="launch"), emu.account())
    d.keys = ["3kabc"]
    d.status = DeliveryStatus.FAILED
    d.error = Rejected("outboxnet answered 422: too long", platform="outboxnet", status_code=422)
    d.parts.append(PartRef(index=0, id="9", url="https://obx.example/9"))
    outbox.save(d)
    got = outbox.get(d.id)
    assert got is not None
    assert got.to_dict() == d.to_dict()
    assert isinstance(got.error, Rejected)
    assert got.error.status_code == 422
    assert outbox.get("nope") is None


def test_one_file_in_wal_mode_with_prefixed_tables(db: Path, outbox: Outbox) -> None:
    """The outbox is one WAL-mode SQLite file whose tables all start with outbox_."""
    con = sqlite3.connect(db)
    mode = con.execute("PRAGMA journal_mode").fetchone()[0]
    tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    con.close()
    assert mode == "wal"
    user_tables = [t for t in tables if not t.startswith("sqlite_")]
    assert user_tables
    assert all(t.startswith("outbox_") for t in user_tables)


def test_list_filters_and_orders_newest_first(outbox: Outbox, emu: OutboxNetEmulator) -> None:
    """list() filters by status, account and campaign, newest first, up to the limit."""
    a, b = emu.account(name="a"), emu.account(name="b")
    first = outbox.add(Post(text="one", campaign="spring"), [a, b])
    second = outbox.add(Post(text="two", campaign="autumn"), a)
    outbox.cancel(first[1].id)
    assert [d.id for d in outbox.list()] == [second[0].id, first[1].id, first[0].id]
    assert [d.id for d in outbox.list(account="outboxnet:b")] == [first[1].id]
    assert [d.id for d in outbox.list(campaign="autumn")] == [second[0].id]
    assert [d.id for d in outbox.list(status="cancelled")] == [first[1].id]
    assert len(outbox.list(limit=2)) == 2
    with pytest.raises(ValueError, match="bogus"):
        outbox.list(status="bogus")


def test_counts_name_every_status(outbox: Outbox, emu: OutboxNetEmulator) -> None:
    """counts() has every status, zero included."""
    deliveries = outbox.add(Post(text="x"), [emu.account(name="a"), emu.account(name="b")])
    outbox.cancel(deliveries[0].id)
    counts = outbox.counts()
    assert set(counts) == set(DeliveryStatus)
    assert counts[DeliveryStatus.PENDING] == 1
    assert counts[DeliveryStatus.CANCELLED] == 1
    assert counts[DeliveryStatus.SENT] == 0


def test_claim_takes_only_what_is_due(outbox: Outbox, emu: OutboxNetEmulator) -> None:
    """A scheduled delivery is due at its time; claimed ones are not handed out twice."""
    acct = emu.account()
    (now,) = outbox.add(Post(text="now"), acct)
    (later,) = outbox.add(Post(text="later", scheduled_at=T0 + timedelta(hours=1)), acct)
    assert [d.id for d in outbox.due(T0)] == [now.id]
    assert [d.id for d in outbox.claim(T0)] == [now.id]
    assert outbox.claim(T0) == []
    outbox.release(now.id)
    due_later = outbox.claim(T0 + timedelta(hours=2))
    assert {d.id for d in due_later} == {now.id, later.id}


def test_due_accounts_names_every_account_with_due_posts(
    outbox: Outbox, emu: OutboxNetEmulator
) -> None:
    """The accounts `due` would return deliveries of, each once, sorted: not one scheduled
    for later, not one whose delivery a live worker holds."""
    a, b, c = emu.account(name="a"), emu.account(name="b"), emu.account(name="c")
    for i in range(3):
        outbox.add(Post(text=f"a{i}"), a)
    outbox.add(Post(text="b, later", scheduled_at=T0 + timedelta(hours=1)), b)
    outbox.add(Post(text="c"), c)
    assert outbox.due_accounts(T0) == ["outboxnet:a", "outboxnet:c"]
    assert outbox.due_accounts(T0) == sorted({d.account for d in outbox.due(T0, limit=99)})
    outbox.claim(T0, accounts=["outboxnet:c"])
    assert outbox.due_accounts(T0) == ["outboxnet:a"]
    assert outbox.due_accounts(T0 + timedelta(hours=2)) == ["outboxnet:a", "outboxnet:b"]


def test_claim_filters_by_account(outbox: Outbox, emu: OutboxNetEmulator) -> None:
    """A worker given some accounts takes only their deliveries."""
    a, b = emu.account(name="a"), emu.account(name="b")
    outbox.add(Post(text="x"), [a, b])
    taken = outbox.claim(T0, accounts=["outboxnet:b"])
    assert [d.account for d in taken] == ["outboxnet:b"]
    assert outbox.claim(T0, accounts=[]) == []


def test_two_workers_never_take_the_same_delivery(db: Path, emu: OutboxNetEmulator) -> None:
    """Outboxes claiming concurrently on one file split the work without overlap."""
    setup = Outbox(db)
    accounts = [emu.account(name=f"acct{i}") for i in range(12)]
    for i in range(5):
        setup.add(Post(text=f"post {i}"), accounts)
    setup.close()
    boxes = [Outbox(db) for _ in range(4)]
    taken: list[list[str]] = [[] for _ in boxes]
    barrier = threading.Barrier(len(boxes))

    def work(i: int) -> None:
        barrier.wait()
        for _ in range(20):
            taken[i].extend(d.id for d in boxes[i].claim(T0, limit=3))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(boxes))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = [x for ids in taken for x in ids]
    assert len(every) == len(set(every))
    # An account is held by one worker at a time, so its posts keep their order.
    owners: dict[str, set[int]] = {}
    by_id = {d.id: d for d in Outbox(db).list(limit=None)}
    for i, ids in enumerate(taken):
        for x in ids:
            owners.setdefault(by_id[x].account, set()).add(i)
    assert all(len(o) == 1 for o in owners.values())
    for box in boxes:
        box.close()


def test_live_lease_is_respected(db: Path, emu: OutboxNetEmulator) -> None:
    """While another live process holds a delivery, no one else can take, save or cancel it."""
    mine, theirs = Outbox(db), Outbox(db)
    (d,) = mine.add(Post(text="x"), emu.account())
    (held,) = theirs.claim(T0)
    assert mine.claim(T0) == []
    d.status = DeliveryStatus.SENDING
    d.attempts = 1
    with pytest.raises(BrandkitError, match="another process"):
        mine.save(d)
    with pytest.raises(BrandkitError, match="being published"):
        mine.cancel(d.id)
    theirs.release(held.id)
    assert [x.id for x in mine.claim(T0)] == [d.id]
    mine.close()
    theirs.close()


def test_expired_lease_is_free(db: Path, emu: OutboxNetEmulator) -> None:
    """A lease that ran out can be taken by another worker. (The holder is closed first:
    an open outbox of this very process keeps its leases, test_lease_in_process.py; a
    closed one stands for another machine's.)"""
    holder = Outbox(db)
    (d,) = holder.add(Post(text="x"), emu.account())
    assert holder.claim(T0)
    holder.close()
    expire_leases(db)
    other = Outbox(db)
    assert [x.id for x in other.claim(T0)] == [d.id]
    other.close()


def test_live_local_publisher_keeps_an_expired_lease(db: Path, emu: OutboxNetEmulator) -> None:
    """A running process of this machine keeps its delivery even past the lease's end."""
    delivery_id = leave_sending(db, emu.account(), owner=f"{socket.gethostname()}:{os.getppid()}:a")
    con = sqlite3.connect(db)
    con.execute("UPDATE outbox_deliveries SET lease_until = 0")
    con.commit()
    con.close()
    box = Outbox(db)
    assert box.claim(T0 + timedelta(days=1)) == []
    assert box.get(delivery_id).status is DeliveryStatus.SENDING  # type: ignore[union-attr]
    box.close()


def test_dead_publisher_leaves_unknown_not_pending(db: Path, emu: OutboxNetEmulator) -> None:
    """A delivery left sending by a dead process is recovered as unknown at start-up."""
    delivery_id = leave_sending(db, emu.account(), parts=1)
    box = Outbox(db)
    d = box.get(delivery_id)
    assert d is not None
    assert d.status is DeliveryStatus.UNKNOWN
    assert isinstance(d.error, TransportError)
    assert d.error.maybe_delivered
    assert "part 2" in str(d.error)
    assert [p.id for p in d.parts] == ["1"]
    assert box.history(delivery_id)[-1].status is DeliveryStatus.UNKNOWN
    assert [x.id for x in box.claim(T0)] == [delivery_id]
    box.close()


def test_claim_recovers_sending_whose_lease_expired(db: Path, emu: OutboxNetEmulator) -> None:
    """A sending delivery whose (live) publisher let the lease expire is claimed as unknown."""
    box = Outbox(db)
    delivery_id = leave_sending(db, emu.account(), owner=box.owner.replace(":", ":x", 1))
    box.close()
    # The owner above is unparseable as a local process: only expiry frees it.
    fresh = Outbox(db, lease=600)
    assert fresh.get(delivery_id).status is DeliveryStatus.SENDING  # type: ignore[union-attr]
    con = sqlite3.connect(db)
    con.execute("UPDATE outbox_deliveries SET lease_until = 0")
    con.commit()
    con.close()
    (d,) = fresh.claim(T0)
    assert d.status is DeliveryStatus.UNKNOWN
    assert fresh.get(delivery_id).status is DeliveryStatus.UNKNOWN  # type: ignore[union-attr]
    fresh.close()


def test_retry_moves_failed_to_pending_but_keeps_unknown(
    outbox: Outbox, emu: OutboxNetEmulator
) -> None:
    """retry(): failed becomes pending; unknown stays unknown (looked up, not re-sent)."""
    failed, unknown, sent = outbox.add(
        Post(text="x"), [emu.account(name="a"), emu.account(name="b"), emu.account(name="c")]
    )
    for d, status in ((failed, "failed"), (unknown, "unknown"), (sent, "sent")):
        d.status = DeliveryStatus(status)
        outbox.save(d)
    assert outbox.retry(failed.id).status is DeliveryStatus.PENDING
    assert outbox.retry(unknown.id).status is DeliveryStatus.UNKNOWN
    assert outbox.get(unknown.id).status is DeliveryStatus.UNKNOWN  # type: ignore[union-attr]
    with pytest.raises(BrandkitError, match="is sent"):
        outbox.retry(sent.id)
    with pytest.raises(BrandkitError, match="no delivery"):
        outbox.retry("missing")
    notes = [e.note for e in outbox.history(unknown.id)]
    assert "reconciliation requested" in notes


def test_release_with_retry_time_defers(outbox: Outbox, emu: OutboxNetEmulator) -> None:
    """release(retry_at=...) turns failed into pending that is due only at that time."""
    (d,) = outbox.add(Post(text="x"), emu.account())
    (d,) = outbox.claim(T0)
    d.status = DeliveryStatus.FAILED
    outbox.save(d)
    outbox.release(d.id, retry_at=T0 + timedelta(minutes=5))
    assert outbox.get(d.id).status is DeliveryStatus.PENDING  # type: ignore[union-attr]
    assert outbox.due(T0 + timedelta(minutes=4)) == []
    assert [x.id for x in outbox.due(T0 + timedelta(minutes=5))] == [d.id]
    outbox.retry(d.id)
    assert [x.id for x in outbox.due(T0)] == [d.id]


def test_a_post_waiting_for_its_retry_holds_its_accounts_later_posts(
    outbox: Outbox, emu: OutboxNetEmulator
) -> None:
    """An account's posts go out in their order: while its first post waits for its retry
    time, its later post is not due (another account's is), and at that time both are, the
    first one first."""
    ours, theirs = emu.account(name="ours"), emu.account(name="theirs")
    (first,) = outbox.add(Post(text="first"), ours)
    (first,) = outbox.claim(T0)
    first.status = DeliveryStatus.FAILED
    outbox.save(first)
    outbox.release(first.id, retry_at=T0 + timedelta(minutes=5))
    (second,) = outbox.add(Post(text="second"), ours)
    (other,) = outbox.add(Post(text="other"), theirs)
    assert [d.id for d in outbox.due(T0)] == [other.id]
    assert [d.id for d in outbox.due(T0 + timedelta(minutes=5))] == [
        first.id,
        second.id,
        other.id,
    ]


def test_cancelled_delivery_is_never_taken_or_reopened(
    outbox: Outbox, emu: OutboxNetEmulator
) -> None:
    """A cancelled delivery is not due, and a stale copy cannot start sending it."""
    (d,) = outbox.add(Post(text="x"), emu.account())
    outbox.cancel(d.id)
    assert outbox.due(T0) == []
    d.status = DeliveryStatus.SENDING
    d.attempts = 1
    with pytest.raises(BrandkitError, match="already cancelled"):
        outbox.save(d)
    with pytest.raises(BrandkitError, match="cannot be cancelled"):
        outbox.cancel(d.id)


def test_stale_copies_are_refused(outbox: Outbox, emu: OutboxNetEmulator) -> None:
    """A copy that would forget a confirmed part or skip reconciliation is refused."""
    (d,) = outbox.add(Post(text="a | b"), emu.account())
    stale = Delivery.from_dict(d.to_dict())
    d.status = DeliveryStatus.SENDING
    d.attempts = 1
    outbox.save(d)
    d.parts.append(PartRef(index=0, id="1"))
    d.status = DeliveryStatus.UNKNOWN
    outbox.save(d)
    # The stale copy never saw attempt 1: starting "attempt 1" again would skip the lookup.
    stale.status = DeliveryStatus.SENDING
    stale.attempts = 1
    with pytest.raises(BrandkitError, match="confirmed part"):
        outbox.save(stale)
    stale.parts = list(d.parts)
    with pytest.raises(BrandkitError, match="stale"):
        outbox.save(stale)
    assert outbox.get(d.id).status is DeliveryStatus.UNKNOWN  # type: ignore[union-attr]


def test_sent_may_only_become_deleted(outbox: Outbox, emu: OutboxNetEmulator) -> None:
    """A sent delivery can be marked deleted, never pending or failed again."""
    (d,) = outbox.add(Post(text="x"), emu.account())
    d.status = DeliveryStatus.SENT
    outbox.save(d)
    d.status = DeliveryStatus.FAILED
    with pytest.raises(BrandkitError, match="already sent"):
        outbox.save(d)
    d.status = DeliveryStatus.DELETED
    outbox.save(d)
    assert outbox.get(d.id).status is DeliveryStatus.DELETED  # type: ignore[union-attr]


def test_client_publish_is_durable(db: Path, emu: OutboxNetEmulator) -> None:
    """Client(outbox=...) writes every state; the history shows the thread part by part."""
    box = Outbox(db)
    with Client(outbox=box, http=httpx.Client(transport=emu.transport())) as client:
        (d,) = client.publish(Post(text="one | two"), emu.account())
    assert d.ok
    history = [(e.status.value, e.parts) for e in box.history(d.id)]
    assert history == [
        ("pending", 0),
        ("sending", 0),
        ("sending", 1),
        ("sending", 2),
        ("sent", 2),
    ]
    reopened = Outbox(db)
    assert reopened.get(d.id).ids == ["1", "2"]  # type: ignore[union-attr]
    reopened.close()
    box.close()


def test_publish_in_flight_is_not_taken_by_a_worker(db: Path, emu: OutboxNetEmulator) -> None:
    """While Client.publish sends, a worker on the same file does not take that delivery."""
    box, worker_box = Outbox(db), Outbox(db)
    seen: list[list[Delivery]] = []
    handle = emu.handle

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(worker_box.claim(T0 + timedelta(days=1)))
        return handle(request)

    with Client(outbox=box, http=httpx.Client(transport=httpx.MockTransport(handler))) as c:
        (d,) = c.publish(Post(text="one | two"), emu.account())
    assert d.ok
    assert seen == [[], []]
    assert len(emu.posts) == 2
    assert worker_box.claim(T0 + timedelta(days=1)) == []
    box.close()
    worker_box.close()


def test_scheduled_publish_is_written_for_the_worker(db: Path, emu: OutboxNetEmulator) -> None:
    """A post scheduled for later is only written (not leased) and is due at its time."""
    box = Outbox(db)
    when = datetime.now(UTC) + timedelta(hours=3)
    with Client(outbox=box, http=httpx.Client(transport=emu.transport())) as client:
        (d,) = client.publish(Post(text="later", scheduled_at=when), emu.account())
    assert d.status is DeliveryStatus.PENDING
    assert emu.posts == []
    other = Outbox(db)
    assert other.due(when - timedelta(seconds=1)) == []
    assert [x.id for x in other.claim(when)] == [d.id]
    box.close()
    other.close()


def test_no_secret_reaches_the_file(db: Path, emu: OutboxNetEmulator) -> None:
    """The token is in no byte of the database, even after failures and transport errors."""
    box = Outbox(db)
    acct = emu.account()
    emu.fault(method="POST", path="/posts", status=401, times=1)
    emu.fault(method="POST", path="/posts", status=503, times=2)
    with Client(outbox=box, http=httpx.Client(transport=emu.transport())) as client:
        results = [client.publish(Post(text=f"post {i}"), acct)[0] for i in range(3)]
    # The 401 failed for good; the 503 ("not now") is left pending for a worker.
    assert [d.status.value for d in results] == ["failed", "pending", "sent"]
    box.close()
    raw = b"".join(p.read_bytes() for p in db.parent.iterdir() if p.name.startswith(db.name))
    assert b"post 2" in raw
    assert TOKEN.encode() not in raw


def test_in_memory_outbox_works(emu: OutboxNetEmulator) -> None:
    """Outbox(':memory:') is a working outbox for tests."""
    box = Outbox(":memory:")
    (d,) = box.add(Post(text="x"), emu.account())
    assert [x.id for x in box.claim(T0)] == [d.id]
    box.close()


def test_newer_schema_is_refused(db: Path) -> None:
    """A file written by a newer brandkit is not touched."""
    Outbox(db).close()
    con = sqlite3.connect(db)
    con.execute("UPDATE outbox_meta SET value = '99' WHERE key = 'schema_version'")
    con.commit()
    con.close()
    with pytest.raises(ConfigurationError, match="newer"):
        Outbox(db)


def test_naive_times_are_refused(outbox: Outbox) -> None:
    """A naive datetime for 'now' is a configuration error, not a silent misorder."""
    with pytest.raises(ConfigurationError, match="timezone-aware"):
        outbox.due(datetime(2026, 1, 1))


def test_an_error_alone_is_recorded_in_the_history(outbox: Outbox, emu: OutboxNetEmulator) -> None:
    """A save that only adds an error (e.g. a lost answer being looked up) is a history step."""
    (d,) = outbox.add(Post(text="x"), emu.account())
    d.status, d.attempts = DeliveryStatus.SENDING, 1
    outbox.save(d)
    d.error = TransportError("outboxnet: answer lost", platform=NAME, maybe_delivered=True)
    outbox.save(d)
    outbox.save(d)
    notes = [e.note for e in outbox.history(d.id)]
    assert notes == [None, None, "outboxnet: answer lost"]


def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    """Pointing the outbox at another kind of file is a configuration error, not a crash."""
    path = tmp_path / "notes.txt"
    path.write_text("these are my notes, not a database\n" * 100)
    with pytest.raises(ConfigurationError, match="cannot open outbox"):
        Outbox(path)
    assert path.read_text().startswith("these are my notes")


def test_an_unknown_delivery_is_not_deleted_blind(db: Path, emu: OutboxNetEmulator) -> None:
    """A delivery in doubt (its create may have landed: the answer was lost) holds no part
    brandkit knows, so deleting "every published part" deleted nothing and marked it
    ``deleted``, while the post stayed on the platform: the outbox said it was gone, and
    no worker would ever look it up. The delete is refused, nothing changes, and once the
    lookup found the post, deleting it works."""
    box = Outbox(db)
    acct = emu.account(findable=False)
    emu.fault(method="POST", path="/posts", drop="after", times=1)
    with Client(outbox=box, http=httpx.Client(transport=emu.transport())) as client:
        (d,) = client.publish(Post(text="in doubt"), acct)
        assert d.status is DeliveryStatus.UNKNOWN
        with pytest.raises(ConfigurationError, match="unknown"):
            client.delete(d)
        stored = box.get(d.id)
        assert stored is not None and stored.status is DeliveryStatus.UNKNOWN
        assert emu.post_texts() == ["in doubt"]
        acct.settings["findable"] = True
        found = client.deliver(stored, acct)
        assert found.ok
        assert client.delete(found).status is DeliveryStatus.DELETED
    assert emu.post_texts() == []
    box.close()
