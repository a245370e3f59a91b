"""Opening a store on a new file while another process is creating it (two cron jobs' first
run at once): SQLite refuses the switch to WAL at once, without its busy timeout, and the
store waited for nothing and said the file "stayed locked for more than 30 s"."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from brandkit.errors import OutboxConflict
from brandkit.inbox import Inbox
from brandkit.outbox import Outbox


def _creating(path: Path) -> sqlite3.Connection:
    """Another process part-way through creating ``path``: a new file, not yet in WAL
    mode, its write lock held."""
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    other.execute("CREATE TABLE theirs (x INTEGER)")
    return other


@pytest.mark.parametrize("store", [Outbox, Inbox])
def test_a_store_opens_once_the_other_creator_is_done(
    tmp_path: Path, store: type[Outbox] | type[Inbox]
) -> None:
    path = tmp_path / "brandkit.db"
    other = _creating(path)
    released = threading.Event()

    def release() -> None:
        other.execute("COMMIT")
        released.set()

    threading.Timer(0.3, release).start()
    try:
        with store(path, timeout=20.0) as opened:
            assert released.is_set()  # it waited for the other, rather than failing
            assert opened._wal
    finally:
        released.wait(20)
        other.close()
    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_the_wait_is_bounded_by_the_timeout(tmp_path: Path) -> None:
    path = tmp_path / "brandkit.db"
    other = _creating(path)
    try:
        with pytest.raises(OutboxConflict, match="stayed locked"):
            Outbox(path, timeout=0.3)
    finally:
        other.close()
