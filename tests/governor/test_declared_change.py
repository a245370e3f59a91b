"""A declared limit that changed since the state was stored (an upgrade of brandkit that
corrects a platform's limit, an adapter of your own given another one) takes effect.

A window the platform has not described is paced by the declared policy alone, and the
SQLite file keeps its slot for good: the slot used to keep the limit it was created with, so
after an upgrade that lowered a headerless platform's limit (LinkedIn, Telegram) every
process sharing the file went on sending at the old rate, into the platform's refusals, and a
raised limit was never used.
"""

from __future__ import annotations

from pathlib import Path

from brandkit.governor import Governor, SQLiteState
from brandkit.platforms._base import RatePolicy
from tests.governor._sqlite_worker import KEY
from tests.governor.conftest import FakeClock

OLD = (RatePolicy("post", 30, 3600.0),)
LOWER = (RatePolicy("post", 5, 3600.0),)
HIGHER = (RatePolicy("post", 50, 3600.0),)


def _granted(gov: Governor, policies: tuple[RatePolicy, ...], tries: int) -> int:
    return sum(gov.acquire(KEY, 1, policies) == 0.0 for _ in range(tries))


def test_a_lowered_declared_limit_holds_over_the_stored_one(tmp_path: Path) -> None:
    clock = FakeClock()
    path = tmp_path / "budget.db"
    assert _granted(Governor(SQLiteState(path), clock=clock), OLD, 2) == 2
    upgraded = Governor(SQLiteState(path), clock=clock)
    assert _granted(upgraded, LOWER, 10) == 3  # 5 in the hour, 2 of them already sent
    assert upgraded.acquire(KEY, 1, LOWER) > 3000.0


def test_a_raised_declared_limit_is_used(tmp_path: Path) -> None:
    clock = FakeClock()
    path = tmp_path / "budget.db"
    assert _granted(Governor(SQLiteState(path), clock=clock), OLD, 30) == 30
    upgraded = Governor(SQLiteState(path), clock=clock)
    assert _granted(upgraded, HIGHER, 40) == 20
