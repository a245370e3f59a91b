"""The PostgreSQL inbox beyond the shared store tests: several processes syncing into one
inbox, its schema's version, and its URL's password kept out of reprs and errors."""

from __future__ import annotations

import multiprocessing
import queue
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


def test_a_lost_connection_is_an_error_once_then_the_inbox_connects_again(
    postgres_url: str,
) -> None:
    from brandkit import BrandkitError

    with Inbox(postgres_url, prefix=unique_prefix()) as inbox:
        assert isinstance(inbox, PostgresInbox)
        pid = inbox._conn.info.backend_pid
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        with pytest.raises(BrandkitError, match="inbox"):
            inbox.messages()
        assert inbox.messages() == []  # a new connection


def test_db_upgrade_knows_the_inbox() -> None:
    from brandkit.backends import discover

    assert discover()["inbox"].version == 1


def test_a_prefix_for_an_sqlite_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="postgresql://"):
        Inbox(tmp_path / "i.db", prefix="acme_")
