"""Rows written by a newer brandkit, with fields appended, are read by the fields known here.

During a rolling upgrade old and new processes share one state. A row with more fields than
this version writes was taken as garbage and deleted: a ``Retry-After`` hold written by a
newer process was dropped by the next older one, whose requests then went into the hold (and
Meta extends a throttle on every call made during it), and a window's count was lost.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from brandkit.governor import Block, Governor, Slot, SQLiteState, dump_entry, load_entry
from tests.governor._sqlite_worker import KEY, POLICIES
from tests.governor.conftest import T0, FakeClock

SCOPE = f"{KEY.platform}|{KEY.app}|{KEY.account}|{KEY.bucket}"


def _store(db: Path, name: str, row: list[object]) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute(
            "INSERT INTO brandkit_governor VALUES (?, ?, ?) "
            "ON CONFLICT (scope, name) DO UPDATE SET data = excluded.data",
            (SCOPE, name, json.dumps(row)),
        )


def test_a_hold_written_by_a_newer_version_holds(tmp_path: Path) -> None:
    db = tmp_path / "budget.db"
    gov = Governor(SQLiteState(db), clock=FakeClock())
    _store(db, "!block", [*dump_entry(Block(T0 + 600.0)), "a newer field", 7])
    assert gov.acquire(KEY, 1, POLICIES) == 600.0


def test_a_window_written_by_a_newer_version_keeps_its_count(tmp_path: Path) -> None:
    db = tmp_path / "budget.db"
    gov = Governor(SQLiteState(db), clock=FakeClock())
    spent = Slot(30, 3600.0, server=True, remaining=0, reset=T0 + 900.0)
    _store(db, "3600s", [*dump_entry(spent), {"newer": True}])
    assert gov.acquire(KEY, 1, POLICIES) == 900.0


def test_a_row_shorter_than_this_version_writes_is_still_no_entry() -> None:
    for row in ([1, T0], [0, *dump_entry(Slot(30, 3600.0))[1:13]]):
        try:
            load_entry(row)
        except ValueError:
            continue
        raise AssertionError(f"{row} was read")
