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


def _unguided(n: int) -> str:
    return (
        f"<item><title>Post {n}</title>"
        f"<link>https://acme.example/news/{n}/?key=s3cretKEY1</link>"
        f"<pubDate>Thu, 0{n} Dec 2026 09:30:00 +0000</pubDate></item>"
    )


def test_an_entry_keyed_by_a_link_with_the_token_is_stored_without_it(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    """Without a guid an entry is known by its link: the token is kept out of that key too
    (the state file, log lines), and the entry is still announced once. One stored under
    the link with its token, as brandkit did before, is not announced again."""
    from brandkit.feeds import FeedState
    from brandkit.feeds._parse import Entry

    feed_server.feed("/feed.xml?key=s3cretKEY1", rss(_unguided(2), _unguided(1)))
    url = f"{feed_server.url}/feed.xml?key=s3cretKEY1"
    path = str(tmp_path / "brandkit.db")
    old = "https://acme.example/news/1/?key=s3cretKEY1"
    with FeedState(path) as state:
        state.record(
            url,
            [Entry(key=old, title="Post 1", url=old, summary="")],
            etag=None,
            last_modified=None,
        )
        state.done(url, old)
    with FeedWatcher(url, state=path, images=False) as w:
        got = w.poll()
        assert [i.entry.key for i in got] == ["https://acme.example/news/2/"]
        w.done(got[0])
        assert w.poll() == []
    with FeedWatcher(url, state=path, images=False) as w:
        assert w.poll() == []
    with FeedState(path) as state, state._reading() as db:
        keys = [k for (k,) in db.execute("SELECT key FROM feeds_entries")]
    assert "https://acme.example/news/2/" in keys
    assert not any("s3cretKEY1" in k for k in keys if k != old)
