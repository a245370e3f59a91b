"""An entry whose guid changes while it stays the same post (a CMS migration, a plugin
that switches WordPress's ``?p=123`` guids to permalinks, an edited slug)."""

from __future__ import annotations

from pathlib import Path

from brandkit.feeds import FeedWatcher
from tests.feeds.conftest import FeedServer
from tests.feeds.documents import item, rss


def test_entry_under_a_new_guid_is_not_announced_again(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    """Same date and title under a new guid (and a new link too): the entry already
    announced, not a new one. A different entry sharing the link (a changelog whose entries
    all link to one page) is still new."""
    url = f"{feed_server.url}/feed.xml"
    path = str(tmp_path / "brandkit.db")
    feed_server.feed("/feed.xml", rss(item(2, day=3), item(1, day=2)))
    with FeedWatcher(url, state=path, images=False) as w:
        for got in w.poll():
            w.done(got)
    # The guids become the permalinks; entry 2's slug is edited as well (a new link).
    moved = [
        item(
            2,
            day=3,
            guid="https://acme.example/news/release-2-final/",
            link="https://acme.example/news/release-2-final/",
        ),
        item(1, day=2, guid="https://acme.example/news/release-1/"),
    ]
    same_page = item(3, day=4, guid="urn:changelog:3", link="https://acme.example/news/release-1/")
    feed_server.feed("/feed.xml", rss(same_page, *moved))
    with FeedWatcher(url, state=path, images=False) as w:
        assert [i.entry.key for i in w.poll()] == ["urn:changelog:3"]


def test_same_day_entries_sharing_a_link_stay_apart(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    """A changelog whose entries all link to one page and carry only a day (two releases
    on the same day): the second is a new entry, not the first under a new guid."""
    url = f"{feed_server.url}/feed.xml"
    path = str(tmp_path / "brandkit.db")
    page = "https://acme.example/changelog"
    first = item(1, day=3, guid="urn:changelog:1", link=page)
    feed_server.feed("/feed.xml", rss(first))
    with FeedWatcher(url, state=path, images=False) as w:
        for got in w.poll():
            w.done(got)
    feed_server.feed("/feed.xml", rss(item(2, day=3, guid="urn:changelog:2", link=page), first))
    with FeedWatcher(url, state=path, images=False) as w:
        assert [i.entry.key for i in w.poll()] == ["urn:changelog:2"]


def test_same_title_and_time_beside_the_stored_entry_is_a_new_post(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    """Two posts titled "Weekly update" at the same time: while the feed still lists the
    first under its own guid, the second did not take its place; it is a post of its own."""
    url = f"{feed_server.url}/feed.xml"
    path = str(tmp_path / "brandkit.db")
    first = item(1, day=4, title="Weekly update")
    feed_server.feed("/feed.xml", rss(first))
    with FeedWatcher(url, state=path, images=False) as w:
        for got in w.poll():
            w.done(got)
    feed_server.feed("/feed.xml", rss(item(2, day=4, title="Weekly update"), first))
    with FeedWatcher(url, state=path, images=False) as w:
        assert [i.entry.key for i in w.poll()] == ["https://acme.example/?p=2"]


def test_one_stored_entry_is_the_old_guid_of_one_new_entry_at_most(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    """The guids change and, the same day, a second post of the same title and time comes:
    one of the two new keys is the announced post under its new guid, the other a new post
    (before, both were taken for the announced one, and the new post was never offered)."""
    url = f"{feed_server.url}/feed.xml"
    path = str(tmp_path / "brandkit.db")
    feed_server.feed("/feed.xml", rss(item(1, day=4, title="Weekly update")))
    with FeedWatcher(url, state=path, images=False) as w:
        for got in w.poll():
            w.done(got)
    moved = item(1, day=4, title="Weekly update", guid="https://acme.example/weekly/")
    second = item(2, day=4, title="Weekly update", guid="https://acme.example/weekly-2/")
    feed_server.feed("/feed.xml", rss(second, moved))
    with FeedWatcher(url, state=path, images=False) as w:
        assert len(w.poll()) == 1
