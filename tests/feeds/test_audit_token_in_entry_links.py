"""A private feed whose generator appends the reader's key to every entry link (private-feed
plugins do): the key must not be published with the announcement."""

from __future__ import annotations

from pathlib import Path

from brandkit.feeds import FeedWatcher
from tests.feeds.conftest import FeedServer
from tests.feeds.documents import item, rss


def test_the_feeds_token_is_taken_out_of_entry_links(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    """The query parameter that carries the feed's token is dropped from the link (the
    others kept); a link holding the token elsewhere is not announced at all."""
    feed_server.feed(
        "/feed.xml?key=s3cretKEY1",
        rss(
            item(2, link="https://acme.example/private/s3cretKEY1/2/"),
            item(1, link="https://acme.example/news/1/?key=s3cretKEY1&amp;ref=rss"),
        ),
    )
    url = f"{feed_server.url}/feed.xml?key=s3cretKEY1"
    with FeedWatcher(
        url, state=str(tmp_path / "brandkit.db"), images=False, template="{title} {url}"
    ) as w:
        got = w.poll()
        assert [i.entry.key for i in got] == ["https://acme.example/?p=1"]
        (one,) = got
        assert one.post.text.endswith(" https://acme.example/news/1/?ref=rss")
        assert one.post.link is not None
        assert one.post.link.url == "https://acme.example/news/1/?ref=rss"
        assert "s3cretKEY1" not in repr(one)
        assert w.state.outcome(url, "https://acme.example/?p=2") == "skipped"
    for stored in tmp_path.iterdir():  # the state file and its journal
        assert b"s3cretKEY1" not in stored.read_bytes()
