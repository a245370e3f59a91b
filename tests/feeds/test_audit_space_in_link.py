"""An entry link with a space in it (a CMS that keeps a title's spaces in its slugs, a file
name): browsers follow it as %20; brandkit announces it so instead of refusing the entry."""

from __future__ import annotations

from pathlib import Path

from brandkit.feeds import FeedWatcher
from tests.feeds.conftest import FeedServer
from tests.feeds.documents import item, rss


def test_a_link_with_spaces_is_announced_encoded(feed_server: FeedServer, tmp_path: Path) -> None:
    feed_server.feed(
        "/feed.xml", rss(item(1, link="https://acme.example/news/Our new office.html"))
    )
    url = f"{feed_server.url}/feed.xml"
    with FeedWatcher(url, state=str(tmp_path / "brandkit.db"), images=False) as w:
        got = w.poll()
        assert [i.entry.url for i in got] == ["https://acme.example/news/Our%20new%20office.html"]
        assert got[0].post.text.endswith("\n\nhttps://acme.example/news/Our%20new%20office.html")
        # Still known by its guid as before: nothing else about the entry changed.
        assert got[0].entry.key == "https://acme.example/?p=1"
