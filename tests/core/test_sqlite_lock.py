"""brandkit._sqlite.begin_immediate: the write lock of a shared SQLite file, waited for in
short steps and for a bounded time, the connection's busy timeout left as it was."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from brandkit._sqlite import begin_immediate


def _connect(path: Path, timeout: float = 7.0) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("CREATE TABLE IF NOT EXISTS t (x INTEGER)")
    return db


def _busy_timeout(db: sqlite3.Connection) -> int:
    value: int = db.execute("PRAGMA busy_timeout").fetchone()[0]
    return value


def test_waits_for_the_other_writer_and_takes_the_lock(tmp_path: Path) -> None:
    """Another connection holds the write lock for 0.3 s: the transaction begins once it is
    released (not at once, not at the timeout), and writes."""
    path = tmp_path / "f.db"
    other, db = _connect(path), _connect(path)
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO t VALUES (1)")
    releaser = threading.Timer(0.3, lambda: other.execute("COMMIT"))
    started = time.monotonic()
    releaser.start()
    try:
        begin_immediate(db, timeout=20.0)
        waited = time.monotonic() - started
        # The other writer's row is visible: the lock was taken after its commit.
        assert db.execute("SELECT x FROM t").fetchall() == [(1,)]
        db.execute("INSERT INTO t VALUES (2)")
        db.execute("COMMIT")
    finally:
        releaser.join()
    assert 0.25 <= waited < 10.0
    assert _busy_timeout(db) == 7000
    assert other.execute("SELECT count(*) FROM t").fetchone()[0] == 2


def test_a_lock_held_past_the_timeout_is_the_locked_error(tmp_path: Path) -> None:
    """Past ``timeout`` it raises sqlite3's "locked" error (which the stores turn into an
    OutboxConflict), after about ``timeout``, and the busy timeout is restored."""
    path = tmp_path / "f.db"
    other, db = _connect(path), _connect(path, timeout=3.0)
    other.execute("BEGIN EXCLUSIVE")
    try:
        started = time.monotonic()
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            begin_immediate(db, timeout=0.3)
        waited = time.monotonic() - started
    finally:
        other.execute("ROLLBACK")
    assert 0.3 <= waited < 5.0
    assert not db.in_transaction
    assert _busy_timeout(db) == 3000
    begin_immediate(db, timeout=0.3)  # free now: at once
    db.execute("ROLLBACK")


def test_other_errors_are_raised_at_once(tmp_path: Path) -> None:
    """An error that is not a busy lock is not retried."""
    db = _connect(tmp_path / "f.db")
    db.execute("BEGIN")
    started = time.monotonic()
    with pytest.raises(sqlite3.OperationalError, match="within a transaction"):
        begin_immediate(db, timeout=5.0)
    assert time.monotonic() - started < 1.0
    db.execute("ROLLBACK")
