"""A private feed's address carries its password (``https://reader:pw@…``) or token
(``?token=…``); its entries' relative links and images are resolved against it. They must
not take the password or the token with them: the entry's URL is what the announcement
publishes, and the state file keeps it."""

from __future__ import annotations

from pathlib import Path

from brandkit.feeds import FeedWatcher, parse
from tests.feeds.conftest import FeedServer
from tests.feeds.documents import item, rss

PRIVATE = "https://reader:pa55word@blog.example/feed.xml?token=s3cret"


def _document() -> bytes:
    return rss(
        item(3, link="/news/3/", image="/img/3.png"),
        item(2, link="#entry-2"),
        item(1, link="news/1/", description='<p>One <img src="/img/1.png"></p>'),
    )


def test_relative_links_and_images_do_not_carry_the_feeds_secrets() -> None:
    entries = parse(_document(), url=PRIVATE).entries
    assert [e.url for e in entries] == [
        "https://blog.example/news/3/",
        "https://blog.example/feed.xml#entry-2",
        "https://blog.example/news/1/",
    ]
    assert [e.image for e in entries] == [
        "https://blog.example/img/3.png",
        None,
        "https://blog.example/img/1.png",
    ]
    for entry in entries:
        assert "pa55word" not in str(entry) and "s3cret" not in str(entry)


def test_an_announcement_never_publishes_the_feeds_password(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    feed_server.feed("/feed.xml?token=s3cret", _document())
    url = f"http://reader:pa55word@{feed_server.url.removeprefix('http://')}/feed.xml?token=s3cret"
    state = tmp_path / "brandkit.db"
    with FeedWatcher(url, state=str(state), images=False) as watcher:
        items = watcher.poll()
    assert len(items) == 3
    for announcement in items:
        assert "pa55word" not in announcement.post.text
        assert "s3cret" not in announcement.post.text
    data = b"".join(p.read_bytes() for p in tmp_path.glob("brandkit.db*"))
    assert b"pa55word" not in data and b"s3cret" not in data
