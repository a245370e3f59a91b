"""Stored state that holds an account longer than this governor's ``max_server_wait``.

Another governor sharing the file (a larger ``max_server_wait``, another version) or a row
written by hand can hold a block or a reset days ahead. The cap promises that no answer parks
an account longer than ``max_server_wait``: a stored hold used to be reported as "24 h" at
every acquire, day after day, so the ``RateLimited.reset_at`` built from it was false each time
and the account never came back until the far hold itself passed.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from brandkit.governor import Governor, SQLiteState
from tests.governor._sqlite_worker import KEY, POLICIES
from tests.governor.conftest import FakeClock

DAY = 86400.0


def test_a_stored_block_beyond_the_cap_holds_only_the_cap(tmp_path: Path) -> None:
    """A ``Retry-After`` of 10 days stored by a governor allowed 30 days holds a governor
    allowed one day for one day, as its wait said, not for ten."""
    clock = FakeClock()
    path = tmp_path / "budget.db"
    patient = Governor(SQLiteState(path), clock=clock, max_server_wait=30 * DAY)
    assert patient.acquire(KEY, 1, POLICIES) == 0.0
    ten_days = str(int(10 * DAY))
    assert patient.observe(KEY, httpx.Response(429, headers={"Retry-After": ten_days})) == 10 * DAY

    gov = Governor(SQLiteState(path), clock=clock)
    assert gov.acquire(KEY, 1, POLICIES) == DAY
    clock.advance(DAY)
    assert gov.acquire(KEY, 1, POLICIES) == 0.0


def test_a_stored_reset_beyond_the_cap_holds_only_the_cap(tmp_path: Path) -> None:
    """A spent window whose reset a 30-day governor stored 10 days ahead rolls over for a
    one-day governor after the day its wait promised."""
    clock = FakeClock()
    path = tmp_path / "budget.db"
    patient = Governor(SQLiteState(path), clock=clock, max_server_wait=30 * DAY)
    assert patient.acquire(KEY, 1, POLICIES) == 0.0
    headers = {
        "x-rate-limit-limit": "30",
        "x-rate-limit-remaining": "0",
        "x-rate-limit-reset": str(int(clock.now + 10 * DAY)),
    }
    patient.observe(KEY, httpx.Response(200, headers=headers))
    assert patient.acquire(KEY, 1, POLICIES) > 9 * DAY

    gov = Governor(SQLiteState(path), clock=clock)
    assert gov.acquire(KEY, 1, POLICIES) == DAY
    clock.advance(DAY)
    assert gov.acquire(KEY, 1, POLICIES) == 0.0
