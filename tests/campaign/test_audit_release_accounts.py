"""`release` takes the worker's accounts as a list too (``release(outbox, client, [blog,
x])``), as `Worker` and `Outbox` do: a list failed with a bare TypeError from ``dict()``."""

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


def test_release_takes_a_list_of_accounts(site: Site, tmp_path: Path) -> None:
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
    with Client(retry=FAST, outbox=outbox) as client:
        with pytest.raises(ConfigurationError, match="Account"):
            release(outbox, client, ["wordpress:wordpress"], now=when)  # type: ignore[list-item]
        queued = release(
            outbox, client, [site.blog_account, *site.networks], now=when + timedelta(minutes=1)
        )
    assert sorted(d.platform for d in queued) == ["bluesky", "linkedin", "x"]
    assert holds(outbox)[0].status == "released"
