"""A held announcement whose blog must be asked is never released by a worker that cannot
ask it (it lacks the blog's account): the stored URL (Ghost's /p/<uuid>/ preview) is not
trusted; the hold waits, saying which account the worker needs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from brandkit import Client, Post
from brandkit.campaign import Campaign, holds, publish, release
from brandkit.content import Article
from brandkit.outbox import Outbox, Worker
from tests.campaign.conftest import FAST, Site


def test_a_hold_is_kept_when_the_blog_cannot_be_asked(site: Site, tmp_path: Path) -> None:
    when = datetime.now(UTC) + timedelta(minutes=10)
    outbox = Outbox(str(tmp_path / "brandkit.db"))
    camp = Campaign(
        Article(title="Q3 results", body="Up.", scheduled_at=when),
        announce=Post(text="Our Q3: {url}"),
        to=site.networks,
    )
    with Client(retry=FAST, outbox=outbox) as client:
        (article,) = publish(client, camp, [site.blog_account])
        assert article.ok
    # The announcements' worker has the networks only; the blog has not published yet.
    with (
        Client(retry=FAST, outbox=outbox) as client,
        Worker(outbox, site.networks, client=client) as worker,
    ):
        sent = worker.run_once(now=when + timedelta(minutes=1))
    assert sent == [] and site.network_posts == 0
    (hold,) = holds(outbox)
    assert hold.status == "held" and hold.url is None
    assert hold.reason is not None and site.blog_account.key in hold.reason
    assert "needs the account" in hold.reason

    # A worker that has the blog's account releases it once the blog says it is live.
    site.blog.clock.advance(timedelta(minutes=11))
    with Client(retry=FAST, outbox=outbox) as client:
        accounts = {a.key: a for a in [site.blog_account, *site.networks]}
        queued = release(outbox, client, accounts, now=when + timedelta(minutes=3))
    assert [d.platform for d in queued] == ["x", "bluesky", "linkedin"]
    final = site.public_url(article.parts[0])
    assert "/p/" not in final and holds(outbox)[0].url == final
