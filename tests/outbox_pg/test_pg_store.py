"""The PostgreSQL outbox's own storage: tables under a prefix, versioned by brandkit, no
secret in any row, typed errors for locks and lost connections (the counterparts of the
SQLite-only tests of tests/outbox)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid

import psycopg
import pytest

from brandkit import DeliveryStatus, Post
from brandkit.backends import upgrade
from brandkit.errors import ConfigurationError, ContentError, OutboxConflict, Rejected
from brandkit.outbox import Outbox, Worker
from brandkit.outbox._postgres import PostgresOutbox
from tests.outbox._fakenet import TOKEN, OutboxNetEmulator
from tests.outbox_pg._lost import lost_mid_call


def rows(url: str, sql: str, *args: object) -> list[tuple[object, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(sql, args or None).fetchall()


def test_tables_carry_the_prefix_and_prefixes_keep_outboxes_apart(
    pg: str, emu: OutboxNetEmulator
) -> None:
    """Two outboxes with two prefixes share a database without seeing each other."""
    with Outbox(pg, prefix="acme_") as acme, Outbox(pg, prefix="beta_") as beta:
        acme.add(Post(text="acme"), emu.account())
        assert [d.post.text for d in acme.list()] == ["acme"]
        assert beta.list() == []
    names = {
        r[0]
        for r in rows(
            pg,
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename LIKE '%outbox%'",
        )
    }
    for prefix in ("acme_", "beta_"):
        assert {f"{prefix}outbox_{t}" for t in ("deliveries", "events", "accounts")} <= names


def test_none_means_the_default_prefix_and_claim_size(pg: str) -> None:
    """``prefix=None`` and ``accounts_per_claim=None`` (as `Outbox`'s signature allows)
    are the defaults, not an error."""
    with Outbox(pg, prefix=None, accounts_per_claim=None) as box:
        assert isinstance(box, PostgresOutbox)
        assert (box.prefix, box.accounts_per_claim) == ("brandkit_", 8)


def test_missing_tables_are_refused_without_create(pg: str) -> None:
    """create=False refuses a database without the outbox (a mistyped URL or prefix), and
    the message names the URL without its password."""
    password = psycopg.conninfo.conninfo_to_dict(pg)["password"]
    with pytest.raises(ConfigurationError, match="no outbox") as info:
        Outbox(pg, create=False)
    assert str(password) not in str(info.value)
    assert (
        rows(
            pg,
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename LIKE '%outbox%'",
        )
        == []
    )


def test_db_upgrade_creates_the_outbox_tables(pg: str) -> None:
    """``brandkit db upgrade`` (backends.upgrade) creates the outbox's tables ahead of the
    workers, which then open it with create=False."""
    done = upgrade(pg, prefix="ops_")
    assert done["outbox"] == (0, 1)
    with Outbox(pg, prefix="ops_", create=False) as box:
        assert box.counts()[DeliveryStatus.PENDING] == 0


def test_newer_schema_is_refused(pg: str) -> None:
    """Tables written by a newer brandkit are not touched."""
    Outbox(pg).close()
    with psycopg.connect(pg, autocommit=True) as conn:
        conn.execute("UPDATE brandkit_schema SET version = 99 WHERE component = 'outbox'")
    with pytest.raises(ConfigurationError, match="newer"):
        Outbox(pg)


def test_no_secret_reaches_the_rows(pg: str, emu: OutboxNetEmulator) -> None:
    """An error echoing the account's token is stored redacted in every row and column."""
    acct = emu.account()
    with Outbox(pg, accounts=[acct]) as box:
        (d,) = box.add(Post(text="x"), acct)
        d.status = DeliveryStatus.FAILED
        d.error = Rejected(
            f"outboxnet answered 404: no route /bot{TOKEN}/send",
            platform="outboxnet",
            platform_message=f"no route /bot{TOKEN}/send",
        )
        box.save(d)
    dumped = json.dumps(
        rows(pg, "SELECT * FROM brandkit_outbox_deliveries")
        + rows(pg, "SELECT * FROM brandkit_outbox_events"),
        default=str,
    )
    assert "no route" in dumped
    assert TOKEN not in dumped


def test_a_row_locked_past_the_timeout_is_a_typed_error(pg: str, emu: OutboxNetEmulator) -> None:
    """A row another session keeps locked is an OutboxConflict after ``timeout``, not a hang."""
    with Outbox(pg, timeout=0.3) as box:
        (d,) = box.add(Post(text="x"), emu.account())
        with psycopg.connect(pg) as other:
            other.execute(
                "SELECT 1 FROM brandkit_outbox_deliveries WHERE id = %s FOR UPDATE", (d.id,)
            )
            start = time.monotonic()
            with pytest.raises(OutboxConflict, match="another process"):
                box.cancel(d.id)
            assert time.monotonic() - start < 3
        assert box.cancel(d.id).status is DeliveryStatus.CANCELLED


def test_a_lost_connection_is_a_conflict_then_reopened(pg: str, emu: OutboxNetEmulator) -> None:
    """The server dropping the session (a restart, a failover) during a call: that call is
    an OutboxConflict (a worker tries again), the next one connects anew."""
    with Outbox(pg) as box:
        assert isinstance(box, PostgresOutbox)
        (d,) = box.add(Post(text="before"), emu.account())
        raised = lost_mid_call(box, pg, d.id, lambda: box.cancel(d.id))
        assert isinstance(raised, OutboxConflict)
        assert "lost the connection" in str(raised)
        box.add(Post(text="after"), emu.account())
        assert box.counts()[DeliveryStatus.PENDING] == 2


def test_run_forever_releases_every_lease(pg: str, emu: OutboxNetEmulator) -> None:
    """A stopped worker leaves no delivery and no account leased."""
    stop = threading.Event()
    with Outbox(pg) as box, emu.serve():
        accounts = [emu.account(name=f"a{i}") for i in range(3)]
        box.add(Post(text="one"), accounts)
        box.add(Post(text="two"), accounts)
        with Worker(box, accounts) as worker:
            thread = threading.Thread(target=worker.run_forever, args=(5.0, stop))
            thread.start()
            deadline = time.monotonic() + 20
            while box.counts()[DeliveryStatus.SENT] < 6 and time.monotonic() < deadline:
                time.sleep(0.05)
            stop.set()
            thread.join(10)
    assert sorted(emu.post_texts()) == ["one"] * 3 + ["two"] * 3
    assert rows(
        pg, "SELECT count(*) FROM brandkit_outbox_deliveries WHERE lease_owner IS NOT NULL"
    ) == [(0,)]
    assert rows(
        pg, "SELECT count(*) FROM brandkit_outbox_accounts WHERE lease_owner IS NOT NULL"
    ) == [(0,)]


def test_a_post_that_cannot_be_read_fails_alone(pg: str, emu: OutboxNetEmulator) -> None:
    """A stored post this brandkit cannot read is failed by the worker and kept as stored;
    the other account's post is sent."""
    with Outbox(pg) as box, emu.serve():
        a, b = emu.account(name="a"), emu.account(name="b")
        (bad,) = box.add(Post(text="old shape"), a)
        (good,) = box.add(Post(text="fine"), b)
        ((text,),) = rows(pg, "SELECT data FROM brandkit_outbox_deliveries WHERE id = %s", bad.id)
        data = json.loads(str(text))
        data["post"]["hashtags"] = "one string"
        data["post"]["from_the_future"] = {"x": 1}
        with psycopg.connect(pg, autocommit=True) as conn:
            conn.execute(
                "UPDATE brandkit_outbox_deliveries SET data = %s WHERE id = %s",
                (json.dumps(data), bad.id),
            )
        with Worker(box, [a, b]) as worker:
            worker.run_once()
        failed, sent = box.get(bad.id), box.get(good.id)
    ((text,),) = rows(pg, "SELECT data FROM brandkit_outbox_deliveries WHERE id = %s", bad.id)
    assert failed is not None and failed.status is DeliveryStatus.FAILED
    assert isinstance(failed.error, ContentError)
    assert json.loads(str(text))["post"]["from_the_future"] == {"x": 1}
    assert sent is not None and sent.ok
    assert emu.post_texts() == ["fine"]


def test_save_many_is_all_or_nothing(pg: str, emu: OutboxNetEmulator) -> None:
    """save_many writes every delivery or none: one refused save leaves the others as stored."""
    with Outbox(pg) as box:
        first, second = box.add(Post(text="x"), [emu.account(name="a"), emu.account(name="b")])
        second.status = DeliveryStatus.CANCELLED
        box.save(second)
        first.status = DeliveryStatus.FAILED
        second.status = DeliveryStatus.PENDING  # a cancelled delivery cannot reopen
        with pytest.raises(OutboxConflict, match="cancelled"):
            box.save_many([first, second])
        assert box.get(first.id).status is DeliveryStatus.PENDING  # type: ignore[union-attr]


def test_close_closes_every_connection_the_async_wait_opened_too(pg: str) -> None:
    """An AsyncWorker's wait listens on an async connection of its own: ``close`` left it
    open on the server for as long as the outbox object lived (an app that keeps its
    closed outboxes, a task queue that opens one per task, kept a session each)."""
    name = f"bk-{uuid.uuid4().hex[:12]}"
    box = Outbox(f"{pg}&application_name={name}")

    def sessions() -> int:
        sql = "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s"
        ((count,),) = rows(pg, sql, name)
        assert isinstance(count, int)
        return count

    assert asyncio.run(box.await_work(0.05)) is False
    box.wait_for_work(0.05)
    assert sessions() >= 3  # the outbox's, the listener's, the async listener's
    box.close()
    deadline = time.monotonic() + 10
    while sessions() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sessions() == 0
    assert asyncio.run(box.await_work(0.05)) is False  # closed: nothing opened again
    assert sessions() == 0
