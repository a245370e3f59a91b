"""Threads search: a cursor names its query and account; another's is refused before any
request (a narrower query's cursor sharing a keyword would skip this query's posts), and a
cursor written before cursors named their query is still read."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from brandkit import Query
from brandkit.errors import ConfigurationError
from brandkit.platforms.threads import ThreadsAdapter
from tests.threads.test_flows import account
from tests.threads.test_search import Feed, post, run


def test_a_narrower_querys_cursor_with_the_same_keyword_is_refused() -> None:
    adapter = ThreadsAdapter(account())
    feed = Feed([post(0, "acme boots are great"), post(1, "acme app is down")])
    app = run(adapter.search(Query(any=["acme"], all=["app"]), None, limit=100), feed)
    assert len(json.loads(app.cursor)["q"]) == 16
    sent = len(feed.requests)
    with pytest.raises(ConfigurationError, match="another query") as caught:
        run(adapter.search(Query(any=["acme"], all=["boots"]), app.cursor, limit=100), feed)
    assert "since=None" in str(caught.value)
    assert len(feed.requests) == sent
    fresh = run(adapter.search(Query(any=["acme"], all=["boots"]), None, limit=100), feed)
    assert [m.text for m in fresh.messages] == ["acme boots are great"]


def test_another_accounts_cursor_is_refused() -> None:
    feed = Feed([post(0)])
    query = Query(any=["brandkit"])
    mine = run(ThreadsAdapter(account()).search(query, None, limit=100), feed)
    other = ThreadsAdapter(account(name="other"))
    with pytest.raises(ConfigurationError, match="another account"):
        run(other.search(query, mine.cursor, limit=100), feed)


def test_a_cursor_written_before_cursors_named_their_query_is_still_read() -> None:
    adapter = ThreadsAdapter(account())
    feed = Feed([post(0), post(5)])
    query = Query(any=["brandkit"])
    first = run(adapter.search(query, None, limit=100), feed)
    old = json.loads(first.cursor)
    del old["q"]
    again = run(adapter.search(query, json.dumps(old), limit=100), feed)
    assert again.messages == ()
    assert "q" in json.loads(again.cursor)


def test_the_same_times_in_another_zone_are_the_same_query() -> None:
    adapter = ThreadsAdapter(account())
    feed = Feed([post(0)])
    jakarta = datetime(2026, 5, 1, 19, tzinfo=timezone(timedelta(hours=7)))
    first = run(adapter.search(Query(any=["brandkit"], since=jakarta), None, limit=100), feed)
    utc = Query(any=["brandkit"], since=jakarta.astimezone(UTC))
    run(adapter.search(utc, first.cursor, limit=100), feed)  # not refused
