"""Durations (a saved query's ``every``, a spike alert's ``window``, the inbox command's
``--older-than``): one parser, which refuses what is not a duration, negative or endless
ones, and any so long that a time plus it would leave the calendar (a saved ``every`` of
millions of days made every later sync raise, blocking all saved queries)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from brandkit import Account, Client, Query
from brandkit.errors import ConfigurationError
from brandkit.inbox._cli import duration
from brandkit.listening import Listener

from .conftest import FindServer

ACCOUNT = Account("findnet", name="b", base_url="https://find.example")
BAD = [
    ("soon", "not a duration"),
    ("-5m", "not a duration"),
    ("", "not a duration"),
    (True, "not a duration"),
    ([60], "not a duration"),
    (-1, "negative"),
    (-0.5, "negative"),
    (timedelta(seconds=-1), "negative"),
    (float("nan"), "not a finite"),
    (float("inf"), "not a finite"),
    ("9999999d", "shorter"),
    ("99999999999d", "shorter"),
    ("9" * 400, "shorter"),
    (10**400, "shorter"),
    (3651 * 86400, "shorter"),
    (timedelta.max, "shorter"),
]


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[Listener]:
    with Listener(tmp_path / "l.db") as listener:
        yield listener


@pytest.fixture
def served() -> Iterator[tuple[FindServer, Client]]:
    server = FindServer()
    with Client(http=httpx.Client(transport=httpx.MockTransport(server.handler))) as c:
        yield server, c


@pytest.mark.parametrize(("value", "why"), BAD, ids=[repr(v)[:24] for v, _ in BAD])
def test_a_bad_every_or_window_is_a_configuration_error(
    listener: Listener, value: object, why: str
) -> None:
    with pytest.raises(ConfigurationError, match=why) as raised:
        listener.watch("q", Query(any=["x"]), accounts=[ACCOUNT], every=value)  # type: ignore[arg-type]
    assert "every=" in str(raised.value) and "90s, 15m, 1h or 1d" in str(raised.value)
    with pytest.raises(ConfigurationError, match=why):
        listener.on_spike("q", print, window=value)  # type: ignore[arg-type]
    assert listener.queries() == []


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("90s", 90),
        (" 15m ", 900),
        ("1.5h", 5400),
        ("1d", 86400),
        ("45", 45),
        (90, 90),
        (2.5, 2.5),
        (0, 0),
        (timedelta(hours=1), 3600),
        ("3650d", 3650 * 86400),
    ],
)
def test_durations_in_every_form_are_read(
    listener: Listener, value: str | float | timedelta, seconds: float
) -> None:
    watched = listener.watch("q", Query(any=["x"]), accounts=[ACCOUNT], every=value)
    assert watched.every == timedelta(seconds=seconds)


def test_the_longest_every_keeps_every_sync_working(
    listener: Listener, served: tuple[FindServer, Client]
) -> None:
    server, c = served
    server.say("fan", "x marks the spot")
    server.say("fan", "y marks it too")
    listener.watch("q", Query(any=["x"]), accounts=[ACCOUNT], every="3650d")
    listener.watch("other", Query(any=["y"]), accounts=[ACCOUNT], every="15m")
    assert sorted((r.name, r.found) for r in listener.sync(c)) == [("other", 1), ("q", 1)]
    assert listener.sync(c) == []  # neither is due, and nothing raises
    assert [r.name for r in listener.sync(c, force=True)] == ["other", "q"]


def test_a_huge_every_saved_by_an_older_version_does_not_block_the_others(
    tmp_path: Path, served: tuple[FindServer, Client]
) -> None:
    server, c = served
    server.say("fan", "y marks the spot")
    path = tmp_path / "l.db"
    with Listener(path) as listener:
        listener.watch("q", Query(any=["x"]), accounts=[ACCOUNT], every="1h")
        listener.watch("other", Query(any=["y"]), accounts=[ACCOUNT], every="15m")
        listener.sync(c)
    with sqlite3.connect(path) as db:  # what the old parser let through
        db.execute(
            "UPDATE listening_queries SET every = ? WHERE name = 'q'", (9_999_999 * 86400.0,)
        )
    with Listener(path, clock=lambda: listener.clock() + timedelta(hours=1)) as later:
        assert [w.name for w in later.due()] == ["other"]
        assert [(r.name, r.error) for r in later.sync(c, accounts=[ACCOUNT])] == [("other", None)]


@pytest.mark.parametrize(
    ("kwargs", "why"),
    [
        ({"window": 0}, "under a second"),
        ({"window": "0.5s"}, "under a second"),
        ({"baseline_windows": 0}, "at least 1"),
        ({"baseline_windows": 2.5}, "whole number"),
        ({"window": "365d", "baseline_windows": 24}, "3650 days"),
        ({"window": "1h", "baseline_windows": 10**30}, "3650 days"),
        # A TypeError at the end of every sync (max("3", ...)), or a spike of 0 posts.
        ({"min_count": "3"}, "min_count"),
        ({"min_count": 0}, "min_count"),
        ({"min_count": 2.5}, "min_count"),
        ({"factor": "3"}, "factor"),
        ({"factor": float("inf")}, "factor"),
    ],
)
def test_a_spike_alert_that_could_not_be_computed_is_refused(
    listener: Listener, served: tuple[FindServer, Client], kwargs: dict[str, object], why: str
) -> None:
    """Each of these was accepted, and then every sync raised (a division by zero, a date
    before year 1) after storing what it found."""
    server, c = served
    server.say("fan", "x marks the spot")
    listener.watch("q", Query(any=["x"]), accounts=[ACCOUNT])
    with pytest.raises(ConfigurationError, match=why):
        listener.on_spike("q", print, **kwargs)  # type: ignore[arg-type]
    assert [r.found for r in listener.sync(c)] == [1]


@pytest.mark.parametrize(("value", "why"), [(v, w) for v, w in BAD if isinstance(v, str)])
def test_the_inbox_commands_duration_is_the_same_parser(value: str, why: str) -> None:
    with pytest.raises(ConfigurationError, match=why):
        duration(value)
    assert duration("2h") == timedelta(hours=2)
    assert duration("3650d") == timedelta(days=3650)
