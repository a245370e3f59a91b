"""A stored entry the watcher cannot read back (its JSON cut short or edited by hand, a
date that is no date) costs only that entry: it is skipped with a WARNING naming it, and
the other entries are announced, rather than every poll raising ``JSONDecodeError`` for
ever."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest

from brandkit.feeds import FeedWatcher
from tests.feeds.conftest import FeedServer
from tests.feeds.documents import item, rss


@pytest.mark.parametrize(
    "damage",
    ["'{\"key\": '", "'[1, 2]'", '\'{"key": "k", "published": "soon"}\'', "'null'"],
    ids=["cut short", "a list", "a date that is no date", "null"],
)
def test_a_damaged_entry_is_skipped_and_the_others_announced(
    feed_server: FeedServer, tmp_path: Path, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    state = str(tmp_path / "brandkit.db")
    feed_server.feed("/feed.xml", rss(item(2, day=3), item(1, day=2)))
    url = f"{feed_server.url}/feed.xml"
    with FeedWatcher(url, state=state, images=False) as watcher:
        assert len(watcher.poll()) == 2
    with sqlite3.connect(state) as db:
        db.execute(
            f"UPDATE feeds_entries SET data = {damage} WHERE key = 'https://acme.example/?p=1'"
        )
    db.close()
    with (
        caplog.at_level(logging.WARNING, "brandkit.feeds"),
        FeedWatcher(url, state=state, images=False) as watcher,
    ):
        items = watcher.poll()
        assert [i.entry.key for i in items] == ["https://acme.example/?p=2"]
        assert watcher.state.outcome(url, "https://acme.example/?p=1") == "skipped"
        watcher.done(items[0])
        assert watcher.poll() == []
    assert "https://acme.example/?p=1" in caplog.text
