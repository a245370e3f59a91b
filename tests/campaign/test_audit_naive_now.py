"""`release(now=...)` refuses a naive time, saying so, before it looks at any hold: it was
read as the machine's local time to pick the due holds, then failed with a bare TypeError
comparing it with an aware scheduled time, at every worker run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from brandkit import Client, Post
from brandkit.campaign import Campaign, holds, publish, release
from brandkit.content import Article
from brandkit.errors import ConfigurationError
from brandkit.outbox import Outbox
from tests.campaign.conftest import FAST, Site


def test_a_naive_now_is_refused(site: Site, tmp_path: Path) -> None:
    when = datetime.now(UTC) + timedelta(minutes=10)
    outbox = Outbox(str(tmp_path / "brandkit.db"))
    camp = Campaign(
        Article(title="Q3 results", body="Up.", scheduled_at=when),
        announce=Post(text="Our Q3: {url}"),
        to=site.networks,
    )
    with Client(retry=FAST, outbox=outbox) as client:
        publish(client, camp, [site.blog_account])
        site.blog.clock.advance(timedelta(minutes=11))
        naive = (when + timedelta(minutes=1)).replace(tzinfo=None)
        with pytest.raises(ConfigurationError, match="time zone"):
            release(outbox, client, now=naive)
        (hold,) = holds(outbox)
        assert hold.status == "held" and hold.reason is None
        queued = release(outbox, client, now=when + timedelta(minutes=1))
    assert sorted(d.platform for d in queued) == ["bluesky", "linkedin", "x"]
