"""queue() to several networks when one of them cannot take an announcement: the others
still get it."""

from __future__ import annotations

from pathlib import Path

from brandkit import Account
from brandkit.feeds import FeedWatcher
from brandkit.outbox import Outbox
from tests.feeds.conftest import FeedServer
from tests.feeds.documents import item, rss


def test_one_network_refusing_does_not_silence_the_others(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    """Instagram needs an image, and an entry without one (or whose image could not be
    fetched) is queued for X and Bluesky all the same, marked announced, not skipped."""
    x = Account.x(user_token="t")
    sky = Account.bluesky(handle="acme.bsky.social", app_password="aaaa-bbbb-cccc-dddd")
    insta = Account.instagram(ig_user_id="17841400000000000", token="t")
    feed_server.feed("/feed.xml", rss(item(1, day=2)))
    outbox = Outbox(str(tmp_path / "outbox.db"))
    with FeedWatcher(
        f"{feed_server.url}/feed.xml", state=str(tmp_path / "feeds.db"), images=False
    ) as w:
        got = w.queue(outbox, [x, insta, sky])
        assert sorted(d.platform for d in got) == ["bluesky", "x"]
        assert w.state.outcome(w.url, "https://acme.example/?p=1") == "announced"
        assert w.queue(outbox, [x, insta, sky]) == []
    assert sorted(d.platform for d in outbox.list()) == ["bluesky", "x"]
