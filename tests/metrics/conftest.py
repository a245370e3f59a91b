"""Fixtures for the metrics tests: stores on real SQLite files and on a real PostgreSQL server.

Every test that takes ``db`` (or ``store``, ``small``, ``demo``) runs twice: on an SQLite
file in tmp_path and on a real PostgreSQL server (``tests/servers``; skipped on a developer's
machine without one, failed under CI), in a schema of its own. The tests that look at SQLite
itself (its file, its locks, rows read with ``sqlite3``) run on SQLite only: `SQLITE_ONLY`
says why for each; test_postgres.py holds the PostgreSQL side of what they check.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from brandkit.metrics import MetricsStore
from tests.metrics._data import demo_samples, small_samples
from tests.servers._servers import (  # noqa: F401 - fixtures
    postgres_db,
    postgres_url,
    schema_url,
    skip_sqlite_only,
)

BACKENDS = ("sqlite", "postgresql")

# Tests about the SQLite file itself, with the reason (and where test_postgres.py checks the
# same on PostgreSQL).
SQLITE_ONLY = {
    "test_file_is_wal_and_tables_are_prefixed": (
        "SQLite's journal and table names (test_tables_are_prefixed)"
    ),
    "test_one_table_view": "reads the view with sqlite3 (test_one_table_view_on_postgres)",
    "test_shares_the_file_with_other_tables": "writes a table with sqlite3",
    "test_caller_connection_and_transaction": "a caller's sqlite3.Connection",
    "test_lock_timeout_is_a_brandkit_error": (
        "SQLite's file lock (test_a_writer_held_past_timeout_is_a_brandkit_error)"
    ),
    "test_a_writer_waits_for_the_lock_and_then_writes": (
        "SQLite's file lock (test_async_store.py waits on a PostgreSQL table lock)"
    ),
    "test_open_while_another_writes": "SQLite's file lock (test_readers_never_wait)",
    "test_opening_waits_for_a_writer_within_the_timeout": "SQLite's file lock and WAL switch",
    "test_newer_schema_is_refused": (
        "edits metrics_meta with sqlite3 (test_newer_schema_is_refused_on_postgres)"
    ),
    "test_report_renders_in_chromium": (
        "the browser renders the same HTML; test_report.py checks the HTML from PostgreSQL"
    ),
}
# Whole modules about SQLite files (none: the command line takes a postgresql:// URL too).
SQLITE_ONLY_MODULES: dict[str, str] = {}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    skip_sqlite_only(items, "db", SQLITE_ONLY, SQLITE_ONLY_MODULES)


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    """Where a new store goes: an SQLite file's path, or the PostgreSQL URL of a new schema
    (``MetricsStore(db)`` opens either)."""
    if request.param == "sqlite":
        return tmp_path / "brandkit.db"
    return schema_url(request.getfixturevalue("postgres_url"))


@pytest.fixture
def store(db: Path | str) -> Iterator[MetricsStore]:
    """An empty store on a real file or server."""
    with MetricsStore(db) as s:
        yield s


@pytest.fixture
def small(store: MetricsStore) -> MetricsStore:
    """The store holding :func:`small_samples` (expectations worked out by hand)."""
    store.add(small_samples())
    return store


@pytest.fixture
def demo(store: MetricsStore) -> MetricsStore:
    """The store holding the realistic demo data set."""
    store.add(demo_samples())
    return store
