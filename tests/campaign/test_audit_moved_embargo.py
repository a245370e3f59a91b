"""An embargo moved later on the blog (the article rescheduled there after it was queued)
is waited for: the hold polled the blog every minute from the first time on and failed a
day later, so an article rescheduled two days on went live unannounced. It now sleeps
until the blog's new time and gives the blog its day from then."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from brandkit import Client, Post
from brandkit.campaign import Campaign, holds, publish, release
from brandkit.content import Article
from brandkit.outbox import Outbox
from brandkit.platforms import adapter_class
from tests.campaign.conftest import FAST, Site


def test_an_embargo_moved_later_on_the_blog_is_waited_for(site: Site, tmp_path: Path) -> None:
    start = datetime.now(UTC)
    when = start + timedelta(minutes=10)
    moved = when + timedelta(days=2)
    outbox = Outbox(str(tmp_path / "brandkit.db"))
    article = Article(title="Merger agreed", body="Acme and Zeta merge.", scheduled_at=when)
    camp = Campaign(article, announce=Post(text="News: {url}"), to=site.networks)
    with Client(retry=FAST, outbox=outbox) as client:
        (sent,) = publish(client, camp, [site.blog_account])
        # The embargo is pushed back two days, on the blog itself.
        blog = adapter_class(site.blog_account.platform)(site.blog_account)
        client.run(
            blog,
            blog.update_article(sent.parts[0], article.model_copy(update={"scheduled_at": moved})),
        )
        site.blog.clock.advance(timedelta(minutes=11))

        assert release(outbox, client, now=when + timedelta(minutes=1)) == []
        (hold,) = holds(outbox)
        assert hold.status == "held"
        assert abs(hold.check_at - moved) < timedelta(seconds=1), hold.reason
        asked = len(site.blog.requests)
        # A day after the first time: not due, not failed, the blog not asked.
        assert release(outbox, client, now=when + timedelta(days=1, minutes=5)) == []
        assert holds(outbox)[0].status == "held"
        assert len(site.blog.requests) == asked

        site.blog.clock.advance(timedelta(days=2))
        queued = release(outbox, client, now=moved + timedelta(minutes=1))
    assert sorted(d.platform for d in queued) == ["bluesky", "linkedin", "x"]
    (hold,) = holds(outbox)
    assert hold.status == "released" and hold.url == site.public_url(sent.parts[0])
