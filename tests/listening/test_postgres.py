"""The listener's tables on PostgreSQL: versioned beside the inbox's, their text compared byte
by byte whatever the database's locale, and tables an older brandkit made upgraded in place."""

from __future__ import annotations

import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from brandkit import Account, Inbox, Query
from brandkit.listening import Listener
from tests.servers._servers import drop_database, postgres_db, postgres_url  # noqa: F401

from .conftest import FakeClock

# The tables as brandkit made them before they had a version: each text column in the
# database's collation, and no row in the schema table.
_UNVERSIONED = (
    "CREATE TABLE {p}listening_queries (name TEXT PRIMARY KEY, query TEXT NOT NULL, "
    "accounts TEXT NOT NULL, budget INTEGER, every REAL NOT NULL, last_run BIGINT)",
    "CREATE TABLE {p}listening_cursors (name TEXT NOT NULL, account TEXT NOT NULL, "
    "cursor TEXT, error TEXT, PRIMARY KEY (name, account))",
    "CREATE TABLE {p}listening_hits (name TEXT NOT NULL, platform TEXT NOT NULL, "
    "id TEXT NOT NULL, key TEXT NOT NULL, created_at BIGINT NOT NULL, author TEXT NOT NULL, "
    "followers BIGINT, label TEXT, PRIMARY KEY (name, platform, id))",
    "CREATE INDEX {p}listening_hits_time ON {p}listening_hits (name, created_at)",
    "CREATE INDEX {p}listening_hits_post ON {p}listening_hits (platform, id)",
    "CREATE TABLE {p}listening_spend (name TEXT NOT NULL, account TEXT NOT NULL, "
    "day TEXT NOT NULL, read INTEGER NOT NULL, PRIMARY KEY (name, account, day))",
    "CREATE TABLE {p}listening_hashtags (account TEXT NOT NULL, hashtag TEXT NOT NULL, "
    "used_at BIGINT NOT NULL, PRIMARY KEY (account, hashtag))",
)
_NAMES = ("apple", "Zed", "zed", "_x")


def _icu_database(server_url: str) -> str:
    """A new database whose text compares as en-US does (``apple`` before ``Zed``)."""
    name = f"bk_icu_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(
            f'CREATE DATABASE "{name}" TEMPLATE template0 LOCALE_PROVIDER icu '
            "ICU_LOCALE 'en-US' LOCALE 'C'"
        )
    return urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))


def _text_collations(url: str, prefix: str) -> set[tuple[str, str, str | None]]:
    """(table, column, collation) of every text column of the listener's tables."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT table_name, column_name, collation_name FROM information_schema.columns "
            "WHERE table_name LIKE %s AND data_type = 'text'",
            (f"{prefix}listening%",),
        ).fetchall()
    return {(str(t), str(c), n) for t, c, n in rows}


def test_db_upgrade_knows_the_listener() -> None:
    from brandkit.backends import discover

    assert discover()["listening"].version == 2


def test_queries_order_as_on_sqlite_whatever_the_databases_collation(
    postgres_url: str,  # noqa: F811
    tmp_path: Path,
    finder: Account,
) -> None:
    """In a database created with a language's collation, ``queries()`` (ORDER BY name)
    listed ``apple`` before ``Zed``, where the SQLite file (byte order) lists ``Zed`` first."""
    url = _icu_database(postgres_url)
    clock = FakeClock()
    try:
        with (
            Listener(url, clock=clock) as server,
            Listener(tmp_path / "brandkit.db", clock=clock) as local,
        ):
            for listener in (server, local):
                for name in _NAMES:
                    listener.watch(name, Query(any=[name]), accounts=[finder])
            names = [w.name for w in server.queries()]
            assert names == [w.name for w in local.queries()]
            assert names == ["Zed", "_x", "apple", "zed"]
    finally:
        drop_database(url)


@pytest.mark.parametrize("recorded", [None, 1], ids=["unversioned", "version-1"])
def test_tables_of_an_older_brandkit_are_upgraded_with_their_rows(
    postgres_db: str,  # noqa: F811
    finder: Account,
    recorded: int | None,
) -> None:
    """Tables an older brandkit made (no version recorded, or version 1) get byte order on
    opening, and keep their queries and hits."""
    prefix = "old_"
    Inbox(postgres_db, prefix=prefix).close()
    with psycopg.connect(postgres_db, autocommit=True) as conn:
        for statement in _UNVERSIONED:
            conn.execute(statement.format(p=prefix))
        conn.execute(
            f"INSERT INTO {prefix}listening_queries (name, query, accounts, budget, every) "
            "VALUES (%s, %s, %s, NULL, 900)",
            ("brand", Query(any=["brandkit"]).model_dump_json(), f'["{finder.key}"]'),
        )
        conn.execute(
            f"INSERT INTO {prefix}listening_hits VALUES "
            "('brand', 'findnet', 'p1', 'findnet:brand|p1', 1, 'fan', NULL, 'happy')"
        )
        if recorded is not None:
            conn.execute(
                f"INSERT INTO {prefix}schema (component, version) VALUES ('listening', %s)",
                (recorded,),
            )
    assert {c for _, _, c in _text_collations(postgres_db, prefix)} == {None}
    listener = Listener(Inbox(postgres_db, prefix=prefix), clock=FakeClock())
    try:
        watched = listener.get("brand")
        assert watched is not None and watched.query == Query(any=["brandkit"])
        assert watched.accounts == (finder.key,)
        assert listener.labels("brand") == {"happy": 1}
    finally:
        listener.close()
        listener.inbox.close()
    found = _text_collations(postgres_db, prefix)
    assert len(found) == 18 and {c for _, _, c in found} == {"C"}
    with psycopg.connect(postgres_db) as conn:
        version = conn.execute(
            f"SELECT version FROM {prefix}schema WHERE component = 'listening'"
        ).fetchone()
    assert version == (2,)
