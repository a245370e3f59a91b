"""A ``304 Not Modified`` that carries a new ETag (RFC 9110 lets it): the next poll sends
that one, as the docs promise ("the ETag and Last-Modified of the last answer")."""

from __future__ import annotations

from pathlib import Path

from brandkit.feeds import FeedWatcher
from tests.feeds.conftest import Answer, FeedServer
from tests.feeds.documents import item, rss


def test_a_304s_new_etag_is_sent_next_time(feed_server: FeedServer, tmp_path: Path) -> None:
    def answer(headers: dict[str, str]) -> Answer:
        sent = headers.get("if-none-match")
        if sent == '"v1"':
            return 304, {"ETag": '"v2"'}, b""
        if sent == '"v2"':
            return 304, {"ETag": '"v2"'}, b""
        return 200, {"Content-Type": "application/rss+xml", "ETag": '"v1"'}, rss(item(1))

    feed_server.routes["/feed.xml"] = answer
    with FeedWatcher(
        f"{feed_server.url}/feed.xml", state=str(tmp_path / "brandkit.db"), images=False
    ) as w:
        for got in w.poll():
            w.done(got)
        assert w.poll() == []
        assert w.poll() == []
    sent = [h.get("if-none-match") for h in feed_server.hits("/feed.xml")]
    assert sent == [None, '"v1"', '"v2"']
