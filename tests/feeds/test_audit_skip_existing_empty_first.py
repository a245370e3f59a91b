"""skip_existing when the feed's first answer lists no entries (a CMS mid-deploy, a cache
that served an empty channel)."""

from __future__ import annotations

from pathlib import Path

from brandkit.feeds import FeedWatcher
from tests.feeds.conftest import FeedServer
from tests.feeds.documents import item, rss


def test_empty_first_poll_does_not_end_skip_existing(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    """The blog's history, back after an empty answer, is skipped as on a first poll; the
    entries published after it are announced."""
    url = f"{feed_server.url}/feed.xml"
    path = str(tmp_path / "brandkit.db")
    feed_server.feed("/feed.xml", rss())
    with FeedWatcher(url, state=path, skip_existing=True, images=False) as w:
        assert w.poll() == []
    history = [item(n, day=n) for n in range(12, 0, -1)]
    feed_server.feed("/feed.xml", rss(*history))
    with FeedWatcher(url, state=path, skip_existing=True, images=False) as w:
        assert w.poll() == []
        assert w.state.outcome(url, "https://acme.example/?p=1") == "skipped"
    feed_server.feed("/feed.xml", rss(item(13, day=13), *history))
    with FeedWatcher(url, state=path, skip_existing=True, images=False) as w:
        assert [i.entry.key for i in w.poll()] == ["https://acme.example/?p=13"]
