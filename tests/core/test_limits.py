"""``limit=`` (and a listener's ``budget=``) on the inbox, the listener and the outbox, on
SQLite and PostgreSQL: what the database cannot hold is a ConfigurationError that says what
to pass, not the database's own error."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from brandkit import Account, Client, ConfigurationError, Inbox, Outbox, Query
from brandkit._limits import MAX_LIMIT, check_limit
from brandkit.listening import Listener
from tests.servers._servers import postgres_db, postgres_url, unique_prefix  # noqa: F401

HUGE = 2**70
SAYS = r"limit=1180591620717411303424: give how many .*, a whole number from"


@pytest.fixture(params=["sqlite", "postgresql"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An SQLite file, or a real PostgreSQL database."""
    if request.param == "sqlite":
        yield str(tmp_path / "brandkit.db")
    else:
        yield request.getfixturevalue("postgres_db")


@pytest.mark.parametrize("value", [0, 7, MAX_LIMIT])
def test_a_whole_number_in_range_is_a_limit(value: int) -> None:
    assert check_limit(value, what="rows") == value


@pytest.mark.parametrize("value", [MAX_LIMIT + 1, -1, True, 1.5, "5", None])
def test_anything_else_is_refused_with_what_to_pass(value: object) -> None:
    with pytest.raises(ConfigurationError, match="give how many rows, a whole number from 0"):
        check_limit(value, what="rows")


def test_the_inbox_refuses_a_limit_the_database_cannot_hold(target: str) -> None:
    with Inbox(target) as inbox:
        assert inbox.messages(limit=MAX_LIMIT) == []
        with pytest.raises(ConfigurationError, match=SAYS):
            inbox.messages(limit=HUGE)
        with (
            Client(http=httpx.Client(transport=httpx.MockTransport(_no_request))) as client,
            pytest.raises(ConfigurationError, match=SAYS),
        ):
            inbox.sync(client, [], limit=HUGE)


def test_the_listener_refuses_a_limit_or_budget_out_of_range(target: str) -> None:
    with Listener(target) as listener:
        with Client(http=httpx.Client(transport=httpx.MockTransport(_no_request))) as client:
            for bad in (HUGE, 0, "5"):
                with pytest.raises(ConfigurationError, match=r"limit=.*give how many posts"):
                    listener.sync(client, limit=bad)  # type: ignore[arg-type]
        finder = Account("findnet", name="brand", base_url="https://find.example")
        with pytest.raises(ConfigurationError, match=r"budget=.*give how many posts read"):
            listener.watch("q", Query(any=["x"]), accounts=[finder], budget=HUGE)


def test_the_listener_keeps_a_large_budget_and_every_as_sqlite_does(target: str) -> None:
    """PostgreSQL's INTEGER (32 bits) refused a budget past 2**31 - 1 and its REAL (32 bits)
    rounded an ``every`` past 2**24 s; the SQLite file keeps both."""
    finder = Account("findnet", name="brand", base_url="https://find.example")
    every = timedelta(seconds=2**24 + 1)
    with Listener(target) as listener:
        listener.watch("q", Query(any=["x"]), accounts=[finder], budget=2**40, every=every)
        watched = listener.get("q")
    assert watched is not None and (watched.budget, watched.every) == (2**40, every)


def test_the_outbox_refuses_a_limit_the_database_cannot_hold(target: str) -> None:
    prefix = unique_prefix() if target.startswith("postgresql") else None
    with Outbox(target, prefix=prefix) as outbox:
        assert outbox.list(limit=MAX_LIMIT) == []
        for call in (outbox.list, outbox.due, outbox.claim):
            with pytest.raises(ConfigurationError, match=SAYS.replace(".*", "deliveries.*")):
                call(limit=HUGE)


def _no_request(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"no request expected, got {request.url}")


def test_a_workers_batch_is_checked_when_it_is_made(tmp_path: Path) -> None:
    """A batch the database cannot hold is refused by the worker itself, not by every claim
    of a run that already started."""
    from brandkit.outbox import Worker

    with Outbox(tmp_path / "brandkit.db") as outbox:
        for bad in (HUGE, 0):
            with pytest.raises(ConfigurationError, match=r"batch=.*deliveries at most per claim"):
                Worker(outbox, [], batch=bad)
