"""A hold whose blog keeps refusing to be asked (a revoked key) fails a day after the
article's time, as one whose blog keeps saying "not live" does: it neither asks every minute
for ever nor releases a stale announcement weeks later once the key is fixed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from brandkit import Client
from brandkit.campaign import holds, publish, release
from brandkit.outbox import Outbox
from tests.campaign.conftest import FAST, Site
from tests.campaign.test_publish import campaign, release_article


def test_a_blog_refusing_every_look_fails_the_hold_after_a_day(site: Site, tmp_path: Path) -> None:
    when = datetime.now(UTC) + timedelta(minutes=10)
    outbox = Outbox(str(tmp_path / "brandkit.db"))
    with Client(retry=FAST, outbox=outbox) as client:
        (article,) = publish(
            client, campaign(site, release_article(scheduled_at=when)), [site.blog_account]
        )
        assert article.ok
        site.blog.clock.advance(timedelta(minutes=11))
        # The key is revoked: every look at the article is refused.
        site.blog.fault(method="GET", path=".*", status=401, times=1000)
        assert release(outbox, client, now=when + timedelta(minutes=1)) == []
        (hold,) = holds(outbox)
        assert hold.status == "held" and "could not ask the blog" in (hold.reason or "")

        assert release(outbox, client, now=when + timedelta(days=2)) == []
        (hold,) = holds(outbox)
        assert hold.status == "failed"
        assert "could not ask the blog" in (hold.reason or "")

        # Fixed a month later: the stale announcement never goes out.
        site.blog.clear_faults()
        site.blog.clock.advance(timedelta(days=30))
        assert release(outbox, client, now=when + timedelta(days=30)) == []
    assert site.network_posts == 0
