"""SQLite state: several processes on one machine spend one budget, never more."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from brandkit.errors import ConfigurationError
from brandkit.governor import (
    Block,
    Governor,
    MemoryState,
    Slot,
    SQLiteState,
    StateStore,
    dump_entry,
    load_entry,
)
from brandkit.governor._governor import EDGE_MARGIN
from tests.governor._sqlite_worker import KEY, POLICIES
from tests.governor.conftest import T0, FakeClock

WORKER = Path(__file__).with_name("_sqlite_worker.py")


def workers(db: Path, *args: list[str]) -> list[dict[str, float]]:
    """Run one worker process per argument list, all starting at the same moment."""
    start_at = time.time() + 1.0
    procs = [
        subprocess.Popen(
            [sys.executable, str(WORKER), str(db), *a[:1], str(start_at), *a[1:]],
            stdout=subprocess.PIPE,
            text=True,
        )
        for a in args
    ]
    out = []
    for proc in procs:
        stdout, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0
        out.append(json.loads(stdout))
    return out


def test_stores_satisfy_the_protocol(tmp_path: Path) -> None:
    """Both stores are ``StateStore``s."""
    assert isinstance(MemoryState(), StateStore)
    assert isinstance(SQLiteState(tmp_path / "g.db"), StateStore)


def test_two_processes_share_one_budget(tmp_path: Path) -> None:
    """Two processes acquiring at the same time from one SQLite file get exactly the
    declared 30 units between them, not 30 each."""
    db = tmp_path / "budget.db"
    results = workers(db, ["50"], ["50"])
    assert sum(r["granted"] for r in results) == 30


def test_a_refusal_seen_by_one_process_holds_back_the_other(tmp_path: Path) -> None:
    """A ``Retry-After`` learned in one process makes the other wait for it too."""
    db = tmp_path / "budget.db"
    (result,) = workers(db, ["0", "600"])
    assert result["wait"] == 600.0
    wait = Governor(SQLiteState(db)).acquire(KEY, 1, POLICIES)
    assert 590.0 < wait <= 600.0


def test_budget_survives_a_restart(tmp_path: Path) -> None:
    """A new governor on the same file continues the spent budget."""
    db = tmp_path / "budget.db"
    clock = FakeClock()
    first = Governor(SQLiteState(db), clock=clock)
    assert sum(1 for _ in range(20) if first.acquire(KEY, 1, POLICIES) == 0.0) == 20
    second = Governor(SQLiteState(db), clock=clock)
    assert sum(1 for _ in range(20) if second.acquire(KEY, 1, POLICIES) == 0.0) == 10
    assert second.acquire(KEY, 1, POLICIES) == pytest.approx(3600.0 + EDGE_MARGIN)


def test_sqlite_learns_from_headers_like_memory(tmp_path: Path) -> None:
    """The same observations give the same decisions in SQLite and in memory."""
    headers = {
        "x-rate-limit-limit": "30",
        "x-rate-limit-remaining": "0",
        "x-rate-limit-reset": str(int(T0 + 1234)),
    }
    waits = []
    for store in (MemoryState(), SQLiteState(tmp_path / "g.db")):
        clock = FakeClock()
        gov = Governor(store, clock=clock)
        gov.acquire(KEY, 1, POLICIES)
        gov.observe(KEY, httpx.Response(200, headers=headers))
        clock.advance(34)
        waits.append(gov.acquire(KEY, 1, POLICIES))
    assert waits[0] == waits[1] == pytest.approx(1201.0)


def test_entries_round_trip() -> None:
    """Entries survive ``dump_entry``/``load_entry`` (what any store writes)."""
    slot = Slot(
        100, 900.0, server=True, remaining=7, reset=T0, aligned=True, seen=T0 - 900, opened=T0
    )
    slot.runs = [[1.0, 2.0, 3.0]]
    again = load_entry(json.loads(json.dumps(dump_entry(slot))))
    assert isinstance(again, Slot)
    assert dump_entry(again) == dump_entry(slot)
    block = load_entry(dump_entry(Block(T0, 3)))
    assert isinstance(block, Block)
    assert (block.until, block.strikes) == (T0, 3)


def test_unusable_file_is_a_configuration_error(tmp_path: Path) -> None:
    """A file that is no SQLite database is refused with ``ConfigurationError``."""
    bad = tmp_path / "not.db"
    bad.write_bytes(b"this is not a database, it is a text file" * 100)
    with pytest.raises(ConfigurationError):
        SQLiteState(bad)


def test_sqlite_uses_wal_and_busy_timeout(tmp_path: Path) -> None:
    """The database runs in WAL mode, so readers never block the writer."""
    store = SQLiteState(tmp_path / "g.db", timeout=2.5)
    conn = store._connect()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 2500
    store.close()


def test_database_failure_is_a_brandkit_error(tmp_path: Path) -> None:
    """A failing database surfaces as ``BrandkitError``, not as an sqlite3 exception, and the
    transaction is rolled back."""
    import sqlite3

    from brandkit.errors import BrandkitError

    store = SQLiteState(tmp_path / "g.db")
    gov = Governor(store)

    def broken(entries: object) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    with pytest.raises(BrandkitError, match="disk I/O error"):
        store.update(["scope"], broken)
    assert gov.acquire(KEY, 1, POLICIES) == 0.0
