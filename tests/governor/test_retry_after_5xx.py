"""``Retry-After`` on any 5xx holds the account's later requests, as the docs promise.

A site in maintenance or an instance upgrading answers 502 or 504 from its front end as often
as 503. Only a 503's ``Retry-After`` was kept: after a 502 saying "come back in two minutes"
the driver waited for its own repeat, but every other request of the account, in this
process and in every process sharing the state, went at once into the outage.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from brandkit.governor import Governor, SQLiteState, parse_rate_limit
from tests.governor._sqlite_worker import KEY, POLICIES
from tests.governor.conftest import T0, FakeClock


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_retry_after_on_a_5xx_holds_every_sender_of_the_account(
    tmp_path: Path, status: int
) -> None:
    clock = FakeClock()
    path = tmp_path / "budget.db"
    gov = Governor(SQLiteState(path), clock=clock)
    assert gov.acquire(KEY, 1, POLICIES) == 0.0
    down = httpx.Response(status, headers={"Retry-After": "120"})
    assert gov.observe(KEY, down) is None  # no rate limit: the request is not repeated here
    other = Governor(SQLiteState(path), clock=clock)  # another process on the same file
    assert other.acquire(KEY, 1, POLICIES) == pytest.approx(120.0)
    clock.advance(120.0)
    assert other.acquire(KEY, 1, POLICIES) == 0.0


@pytest.mark.parametrize("status", [200, 201, 400, 404])
def test_retry_after_on_an_answer_that_is_no_outage_holds_nothing(status: int) -> None:
    info = parse_rate_limit(httpx.Response(status, headers={"Retry-After": "120"}), now=T0)
    assert info is None or info.retry_after is None
