"""A hold waits a day for the blog from when the article went out, not only from its
scheduled time: an article whose time had passed when it went out (queued with a time
already past, or sent late because the worker was down over the weekend) failed its hold
at the first look the blog did not answer, although the article was live and the blog
back a minute later."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from brandkit import Client, Post
from brandkit.campaign import Campaign, holds, queue, release
from brandkit.content import Article
from brandkit.outbox import Outbox, Worker
from tests.campaign.conftest import FAST, Site


def test_a_late_article_gets_its_day_from_the_send(site: Site, tmp_path: Path) -> None:
    outbox = Outbox(str(tmp_path / "brandkit.db"))
    now = datetime.now(UTC)
    past = now - timedelta(days=2)
    queue(
        outbox,
        Campaign(
            Article(title="Weekend launch", body="Out since Saturday.", scheduled_at=past),
            announce=Post(text="Launched! {url}"),
            to=site.networks,
        ),
        [site.blog_account],
    )
    with Client(retry=FAST, outbox=outbox) as client:
        with Worker(outbox, [site.blog_account], client=client) as worker:
            (article,) = worker.run_once(now=now)
        assert article.ok
        # The blog is down at the first look: the hold waits, it does not give up.
        site.blog.fault(method="GET", path=".*", status=503, times=1000)
        assert release(outbox, client, now=now + timedelta(minutes=1)) == []
        (hold,) = holds(outbox)
        assert hold.status == "held", hold.reason
        assert "could not ask the blog" in (hold.reason or "")
        # Back a few minutes later: announced.
        site.blog.clear_faults()
        queued = release(outbox, client, now=now + timedelta(minutes=5))
    assert sorted(d.platform for d in queued) == ["bluesky", "linkedin", "x"]
    assert holds(outbox)[0].status == "released"
