"""An article the blog took but holds for review (WordPress ``pending``, as an editorial
workflow makes it) has no public address yet: its hold waits for the blog to publish it,
as for any status that is not live, instead of failing at once with "the article was not
published: ...: sent"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from brandkit import Client, Post
from brandkit.campaign import Campaign, holds, queue, release
from brandkit.content import Article
from brandkit.outbox import Outbox, Worker
from brandkit.testing import emulator
from brandkit.testing.wordpress import WordPressEmulator
from tests.campaign.conftest import FAST


def _item(blog: WordPressEmulator, status: str) -> dict[str, object]:
    return {
        "id": 99,
        "link": f"{blog.base_url}/2026/12/lisbon/",
        "slug": "lisbon",
        "status": status,
        "date_gmt": "2026-12-07T10:00:00",
    }


def test_an_article_pending_review_is_announced_once_published(tmp_path: Path) -> None:
    blog, x = WordPressEmulator(), emulator("x")
    with blog.serve(), x.serve():
        wordpress, network = blog.account(), x.account()
        outbox = Outbox(str(tmp_path / "brandkit.db"))
        queue(
            outbox,
            Campaign(
                Article(title="Lisbon", body="Forty engineers."),
                announce=Post(text="We are in Lisbon! {url}"),
                to=[network],
            ),
            [wordpress],
        )
        blog.fault(
            method="POST", path=blog.create_route[1], status=201, body=_item(blog, "pending")
        )
        now = datetime.now(UTC)
        with Client(retry=FAST, outbox=outbox) as client:
            with Worker(outbox, [wordpress], client=client) as worker:
                (article,) = worker.run_once(now=now)
            assert article.ok and article.url is None
            blog.fault(method="GET", path=".*", status=200, body=_item(blog, "pending"))
            assert release(outbox, client, [wordpress], now=now + timedelta(minutes=1)) == []
            (hold,) = holds(outbox)
            assert hold.status == "held", hold.reason
            assert hold.reason == "the blog says the article is 'pending'"
            # The editor publishes it.
            blog.fault(method="GET", path=".*", status=200, body=_item(blog, "publish"))
            queued = release(outbox, client, [wordpress], now=now + timedelta(minutes=3))
        assert [d.platform for d in queued] == ["x"]
        (hold,) = holds(outbox)
        assert hold.status == "released" and hold.url == f"{blog.base_url}/2026/12/lisbon/"
