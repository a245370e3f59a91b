"""Stored windows that no governor writes are not trusted to grant more than the limit.

The rows of an SQLite file (or a Redis hash, a PostgreSQL row) can be written by hand, by
another tool or by a buggy version. A row with a limit of 0, a window of no length or more
units remaining than the window allows used to be read as it was, and a budget that can never
run out granted every request: a burst into the platform's refusals, in every process that
shares the state.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from brandkit.errors import ConfigurationError
from brandkit.governor import Governor, SQLiteState, load_entry
from brandkit.platforms._base import RatePolicy
from tests.governor._sqlite_worker import KEY, POLICIES
from tests.governor.conftest import T0, FakeClock

SCOPE = f"{KEY.platform}|{KEY.app}|{KEY.account}|{KEY.bucket}"
# [kind, limit, window, server, remaining, reset, aligned, trust, seen, opened, frac, start,
#  runs, flight]: a server window of the declared 30 / hour, reset in 30 minutes.
GOOD = [0, 30, 3600.0, True, 30, T0 + 1800, False, True, None, None, None, None, [], []]


def _row(**changes: object) -> list[object]:
    fields = ["kind", "limit", "window", "server", "remaining"]
    row = list(GOOD)
    for name, value in changes.items():
        row[fields.index(name)] = value
    return row


@pytest.mark.parametrize(
    "row",
    [
        _row(limit=0, remaining=0),
        _row(remaining=10**9),
        _row(window=0.0),
        _row(window=-3600.0),
        _row(server=False, limit=0, remaining=0, window=-3600.0),
    ],
    ids=["limit 0", "remaining over the limit", "window 0", "negative window", "local, negative"],
)
def test_a_stored_window_no_governor_writes_grants_no_more_than_the_limit(
    tmp_path: Path, row: list[object]
) -> None:
    db = tmp_path / "budget.db"
    clock = FakeClock()
    gov = Governor(SQLiteState(db), clock=clock)
    with sqlite3.connect(db) as conn:
        conn.execute(
            "INSERT INTO brandkit_governor VALUES (?, '3600s', ?)", (SCOPE, json.dumps(row))
        )
    granted = sum(gov.acquire(KEY, 1, POLICIES) == 0.0 for _ in range(100))
    assert 1 <= granted <= 30


def test_a_good_row_reads_back() -> None:
    slot = load_entry(GOOD)
    assert (slot.limit, slot.window, slot.remaining) == (30, 3600.0, 30)  # type: ignore[union-attr]


def _unchecked(limit: object, window: object) -> RatePolicy:
    """A policy that skipped RatePolicy's own check (which refuses these when declared): a
    third-party adapter's object made another way still reaches the governor's."""
    policy = object.__new__(RatePolicy)
    for name, value in (
        ("bucket", "post"),
        ("limit", limit),
        ("window", window),
        ("scope", "account"),
        ("every_request", False),
    ):
        object.__setattr__(policy, name, value)
    return policy


@pytest.mark.parametrize(
    "policy",
    [
        _unchecked(0, 3600.0),
        _unchecked(30, 0.0),
        _unchecked(30, -60.0),
        _unchecked(30, float("nan")),
        _unchecked(30, float("inf")),
    ],
    ids=["limit 0", "window 0", "negative window", "NaN window", "infinite window"],
)
def test_a_declared_policy_no_window_can_keep_is_refused(
    tmp_path: Path, policy: RatePolicy
) -> None:
    """Such a policy (an adapter's bug) made a budget that never runs out: every request was
    granted. It is refused, saying what to declare."""
    gov = Governor(SQLiteState(tmp_path / "budget.db"), clock=FakeClock())
    with pytest.raises(ConfigurationError, match="limit of at least 1"):
        gov.acquire(KEY, 1, (policy,))


def _store_row(db: Path, row: list[object]) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute(
            "INSERT INTO brandkit_governor VALUES (?, '3600s', ?) "
            "ON CONFLICT (scope, name) DO UPDATE SET data = excluded.data",
            (SCOPE, json.dumps(row)),
        )


def test_a_stored_request_in_flight_far_in_the_future_holds_no_sender(tmp_path: Path) -> None:
    """A spent window whose end is unknown waits for the answers of its requests in flight;
    one stamped far in the future (a row from a host whose clock was years ahead, or by hand)
    never answers and never expired, so every sender waited a quarter of a second, again and
    again, for good."""
    db = tmp_path / "budget.db"
    clock = FakeClock()
    gov = Governor(SQLiteState(db), clock=clock)
    row = [0, 30, 3600.0, True, 0, None, False, True, None, None, None, T0 - 10, [],
           [[T0 + 1e6, 1.0], [T0 - 5, 1.0]]]  # fmt: skip
    _store_row(db, row)
    clock.advance(3600.0)
    assert gov.acquire(KEY, 1, POLICIES) == 0.0


def test_a_stored_send_far_in_the_future_holds_one_window_at_most(tmp_path: Path) -> None:
    """A local window whose log holds a send stamped far in the future was spent until that
    time plus a window: every acquire said "in 24 h", day after day. It counts as sent now."""
    db = tmp_path / "budget.db"
    clock = FakeClock()
    gov = Governor(SQLiteState(db), clock=clock)
    far = T0 + 1e6
    _store_row(db, [0, 30, 3600.0, False, 30, None, False, True, None, None, None, None,
                    [[far, far, 30.0]], []])  # fmt: skip
    wait = gov.acquire(KEY, 1, POLICIES)
    assert 0.0 < wait <= 3600.0 * 1.05
    clock.advance(wait)
    assert gov.acquire(KEY, 1, POLICIES) == 0.0
