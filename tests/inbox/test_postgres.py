"""The PostgreSQL inbox beyond the shared store tests: several processes syncing into one
inbox, its schema's version, and its URL's password kept out of reprs and errors."""

from __future__ import annotations

import multiprocessing
import queue
import select
import threading
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from brandkit import Account, Client, ConfigurationError, Inbox
from brandkit.inbox._postgres import PostgresInbox
from tests.servers._servers import unique_prefix

from .conftest import NAME, ChatServer

MESSAGES = 120


def _sync_into(url: str, prefix: str, start: Any, results: Any) -> None:
    """One process: the same platform state as the other, synced page by page (10 per
    read) into the shared inbox once ``start`` is set."""
    server = ChatServer()
    for i in range(MESSAGES):
        server.say(f"fan{i % 7}", f"hello {i}")
    account = Account(NAME, name="brand", base_url="https://chat.example")
    with (
        httpx.Client(transport=httpx.MockTransport(server.handler)) as http,
        Client(http=http) as client,
        Inbox(url, prefix=prefix) as inbox,
    ):
        start.wait(30)
        report = inbox.sync(client, [account], limit=10)
    results.put((report.added, report.accounts[0].read, report.errors))


def test_two_processes_syncing_one_inbox_add_each_message_once(postgres_url: str) -> None:
    prefix = unique_prefix()
    Inbox(postgres_url, prefix=prefix).close()  # schema ready
    ctx = multiprocessing.get_context("spawn")
    start, results = ctx.Event(), ctx.Queue()
    workers = [
        ctx.Process(target=_sync_into, args=(postgres_url, prefix, start, results))
        for _ in range(2)
    ]
    for w in workers:
        w.start()
    start.set()
    try:
        got = [results.get(timeout=120) for _ in workers]
    except queue.Empty:
        pytest.fail("a syncing process did not finish within 120 s")
    finally:
        for w in workers:
            w.join(30)
            if w.is_alive():
                w.kill()
    assert [errors for _, _, errors in got] == [{}, {}]
    assert sum(added for added, _, _ in got) == MESSAGES  # each message added by one process
    with Inbox(postgres_url, prefix=prefix) as inbox:
        stored = inbox.messages()
        assert len(stored) == MESSAGES == len({m.key for m in stored})
        assert inbox.cursor(f"{NAME}:brand") == str(MESSAGES)


def test_inbox_url_gives_a_postgres_inbox_that_survives_reopening(postgres_url: str) -> None:
    prefix = unique_prefix()
    with Inbox(postgres_url, prefix=prefix) as first:
        assert isinstance(first, PostgresInbox)
        first.add([])
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        tables = {
            r[0]
            for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE tablename LIKE %s", (prefix + "%",)
            )
        }
    assert tables == {f"{prefix}inbox_messages", f"{prefix}inbox_cursors", f"{prefix}schema"}


def test_a_newer_schema_is_refused(postgres_url: str) -> None:
    prefix = unique_prefix()
    Inbox(postgres_url, prefix=prefix).close()
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"UPDATE {prefix}schema SET version = 99 WHERE component = 'inbox'")
    with pytest.raises(ConfigurationError, match="upgrade brandkit"):
        Inbox(postgres_url, prefix=prefix)


def test_the_password_stays_out_of_reprs_and_errors(postgres_url: str) -> None:
    password = psycopg.conninfo.conninfo_to_dict(postgres_url)["password"]
    assert password
    with Inbox(postgres_url, prefix=unique_prefix()) as inbox:
        assert str(password) not in repr(inbox)
        assert ":***@" in repr(inbox)
    wrong = postgres_url.replace(f":{password}@", ":s3cret-wrong@")
    with pytest.raises(ConfigurationError) as caught:
        Inbox(wrong)
    assert "s3cret-wrong" not in str(caught.value)


def test_a_connection_the_server_ended_is_replaced_before_use(postgres_url: str) -> None:
    """A restart or failover ends the idle session: the next call notices it (the server's
    farewell is on the socket) and opens a new one instead of failing."""
    with Inbox(postgres_url, prefix=unique_prefix()) as inbox:
        assert isinstance(inbox, PostgresInbox)
        old = inbox._conn
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (old.info.backend_pid,))
        poller = select.poll()
        poller.register(old.pgconn.socket, select.POLLIN)
        assert poller.poll(10_000), "the farewell never arrived: the test proves nothing"
        assert inbox.messages() == []
        assert inbox._conn is not old


def test_db_upgrade_knows_the_inbox() -> None:
    from brandkit.backends import discover

    assert discover()["inbox"].version == 3


def test_a_prefix_for_an_sqlite_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="postgresql://"):
        Inbox(tmp_path / "i.db", prefix="acme_")


def test_text_orders_as_on_sqlite_whatever_the_databases_collation(
    postgres_url: str, tmp_path: Path
) -> None:
    """A database created with a language's collation (en-US: ``apple`` before ``Zed``)
    would order ties and accounts differently from the SQLite file (byte order: ``Zed``
    first), so that ``messages(limit=)`` returned other messages and the report listed
    accounts in another order. The inbox's text columns compare byte by byte."""
    from datetime import UTC, datetime

    from brandkit import Author, Message

    from .test_store import FakeClock

    name = f"bk_icu_{unique_prefix().rstrip('_')}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(
            f'CREATE DATABASE "{name}" TEMPLATE template0 LOCALE_PROVIDER icu '
            "ICU_LOCALE 'en-US' LOCALE 'C'"
        )
    url = postgres_url.rsplit("/", 1)[0] + f"/{name}"
    at = datetime(2026, 12, 1, 9, tzinfo=UTC)
    messages = [
        Message(
            platform="x",
            account=f"x:{account}",
            id=str(n),
            kind="mention",
            author=Author(id=f"u{n}"),
            text="hi",
            created_at=at,
        )
        for n, account in enumerate(("apple", "Zed", "zed", "_x"))
    ]
    clock = FakeClock(at)
    try:
        with (
            Inbox(url, clock=clock) as server,
            Inbox(tmp_path / "i.db", clock=clock) as local,
        ):
            for inbox in (server, local):
                inbox.add(messages)
            assert [m.key for m in server.messages()] == [m.key for m in local.messages()]
            assert [m.account for m in server.messages()] == ["x:Zed", "x:_x", "x:apple", "x:zed"]
            assert server.messages(limit=2) == local.messages(limit=2)
            assert server.response_times() == local.response_times()
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_an_inbox_of_the_first_schema_is_upgraded_with_its_messages(postgres_url: str) -> None:
    """Tables of schema 1 (text in the database's collation) get byte order on opening,
    their messages kept."""
    from datetime import UTC, datetime

    from brandkit import Author, Message

    prefix = unique_prefix()
    message = Message(
        platform="x",
        account="x:brand",
        id="1",
        kind="mention",
        author=Author(id="u1"),
        text="hi",
        created_at=datetime(2026, 12, 1, tzinfo=UTC),
    )
    with Inbox(postgres_url, prefix=prefix) as inbox:
        inbox.add([message])
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(
            f'ALTER TABLE {prefix}inbox_messages ALTER COLUMN key TYPE TEXT COLLATE "default"'
        )
        conn.execute(f"UPDATE {prefix}schema SET version = 1 WHERE component = 'inbox'")
    with Inbox(postgres_url, prefix=prefix) as inbox:
        assert inbox.get(message.key) == message
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        (collation,) = conn.execute(
            "SELECT collation_name FROM information_schema.columns "
            "WHERE table_name = %s AND column_name = 'key'",
            (f"{prefix}inbox_messages",),
        ).fetchone() or (None,)
        (version,) = conn.execute(
            f"SELECT version FROM {prefix}schema WHERE component = 'inbox'"
        ).fetchone() or (None,)
    assert (collation, version) == ("C", 3)


def test_a_zero_timeout_gives_up_at_once_on_a_locked_row(postgres_url: str) -> None:
    """timeout=0 (or under a millisecond) set lock_timeout to 0, which PostgreSQL reads as
    'wait for ever': the inbox hung on a row another process held."""
    from datetime import UTC, datetime

    from brandkit import Author, Message
    from brandkit.errors import OutboxConflict

    prefix = unique_prefix()
    message = Message(
        platform=NAME,
        account=f"{NAME}:brand",
        id="m1",
        kind="reply",
        author=Author(id="u1"),
        text="hi",
        created_at=datetime(2026, 12, 1, tzinfo=UTC),
    )
    with Inbox(postgres_url, prefix=prefix) as setup:
        setup.add([message])
    for timeout in (0, 0.0004):
        with (
            psycopg.connect(postgres_url) as holder,
            Inbox(postgres_url, prefix=prefix, timeout=timeout) as inbox,
        ):
            holder.execute(
                f"SELECT 1 FROM {prefix}inbox_messages WHERE key = %s FOR UPDATE", (message.key,)
            )
            got: queue.Queue[BaseException | None] = queue.Queue()

            def mark(box: Inbox = inbox, out: queue.Queue[BaseException | None] = got) -> None:
                try:
                    box.mark(message, "seen")
                    out.put(None)
                except BaseException as exc:  # handed to the test, which raises it
                    out.put(exc)

            worker = threading.Thread(target=mark)
            worker.start()
            try:
                outcome = got.get(timeout=10)  # a hang waits here, not for ever
            finally:
                holder.rollback()  # releases a hung mark
                worker.join()
            assert isinstance(outcome, OutboxConflict), outcome
            assert "another process holds the same rows" in str(outcome)
