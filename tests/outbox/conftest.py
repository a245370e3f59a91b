"""Fixtures for the outbox tests: the fake platform, its emulator, an outbox.

Every test that takes ``db`` (or ``outbox``) runs twice: on an SQLite file and on a real
PostgreSQL server (``tests/servers``; skipped on a developer's machine without one, failed
under CI). The few tests that look at SQLite itself (its files, its pragmas, rows edited
with ``sqlite3``) run on SQLite only: `SQLITE_ONLY` says why for each; tests/outbox_pg holds
the PostgreSQL side of what they check.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import brandkit._client
import brandkit.outbox._store
from brandkit.outbox import Outbox
from brandkit.platforms import register
from tests.outbox._fakenet import NAME, OutboxNetAdapter, OutboxNetEmulator, fake_render
from tests.servers._servers import (  # noqa: F401 - fixture
    postgres_url,
    schema_url,
    skip_sqlite_only,
)

BACKENDS = ("sqlite", "postgresql")

# Tests about the SQLite file itself, with the reason; the PostgreSQL outbox's counterpart
# is in tests/outbox_pg.
SQLITE_ONLY = {
    "test_one_file_in_wal_mode_with_prefixed_tables": "SQLite's file, journal and table names",
    "test_live_local_publisher_keeps_an_expired_lease": "edits lease_until with sqlite3",
    "test_claim_recovers_sending_whose_lease_expired": "edits lease_until with sqlite3",
    "test_dead_publisher_leaves_unknown_not_pending": (
        "its dead owner names only a host; on PostgreSQL a dead process's lease ends at once "
        "only when its owner names this machine's process namespace too (test_pg_leases.py)"
    ),
    "test_resumes_a_thread_after_a_crash": (
        "its dead owner names only a host (test_pg_leases.py kills a real worker)"
    ),
    "test_no_secret_reaches_the_file": "reads the SQLite files (test_pg_store.py reads the rows)",
    "test_newer_schema_is_refused": "edits outbox_meta with sqlite3 (test_pg_store.py)",
    "test_database_files_are_private": "SQLite's file modes",
    "test_missing_database_is_refused_without_create": "a missing file (test_pg_store.py)",
    "test_locked_outbox_is_a_typed_error": "SQLite's file lock (test_pg_store.py: a row lock)",
    "test_run_forever_stops_promptly_and_releases_leases": "reads rows with sqlite3",
    "test_a_post_that_cannot_be_read_fails_alone": "edits the stored row with sqlite3",
    "test_secrets_echoed_in_errors_are_redacted": "reads the SQLite files",
}
# Whole modules about SQLite: test_store_cost pins SQLite's statements and commits through
# sqlite3's trace; test_cli opens --db PATH, which the command line checks is a file.
SQLITE_ONLY_MODULES = {
    "test_store_cost.py": "pins SQLite's statements and commits (sqlite3's trace)",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    skip_sqlite_only(items, "db", SQLITE_ONLY, SQLITE_ONLY_MODULES)


@pytest.fixture(autouse=True)
def _fakenet(monkeypatch: pytest.MonkeyPatch) -> None:
    """Register the fake platform, and route its rendering to the fake, for every test."""
    register(NAME, OutboxNetAdapter, replace=True)
    monkeypatch.setattr(brandkit._client, "render", fake_render)
    monkeypatch.setattr(brandkit.outbox._store, "render", fake_render)


@pytest.fixture
def emu() -> OutboxNetEmulator:
    """A fresh fake platform, used in-process."""
    return OutboxNetEmulator()


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    """Where a new outbox goes: an SQLite file's path, or a PostgreSQL URL of a new schema
    (``Outbox(db)`` opens either)."""
    if request.param == "sqlite":
        return tmp_path / "brandkit.db"
    return schema_url(request.getfixturevalue("postgres_url"))


@pytest.fixture
def outbox(db: Path | str) -> Iterator[Outbox]:
    """An outbox on a new file or schema."""
    box = Outbox(db)
    yield box
    box.close()


@pytest.fixture
def anyio_backend() -> str:
    """Run async tests on asyncio."""
    return "asyncio"
