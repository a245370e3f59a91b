"""An outbox that knows its accounts (``Outbox(path, accounts=...)``) refuses a campaign
whose announcement goes to an account it does not know, before anything is written or
sent: released, that announcement would wait in the outbox for a worker that never comes,
as `Outbox.add` refuses such a post for the same reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from brandkit import Client, Post
from brandkit.campaign import Campaign, holds, publish, queue
from brandkit.content import Article
from brandkit.errors import ConfigurationError
from brandkit.outbox import Outbox
from tests.campaign.conftest import FAST, Site


def _campaign(site: Site, **article: object) -> Campaign:
    return Campaign(
        Article(title="Acme opens in Lisbon", body="Forty engineers.", **article),  # type: ignore[arg-type]
        announce=Post(text="We are in Lisbon! {url}"),
        to=site.networks,
    )


def test_queue_refuses_a_network_the_outbox_does_not_know(site: Site, tmp_path: Path) -> None:
    x, bluesky, linkedin = site.networks
    outbox = Outbox(str(tmp_path / "brandkit.db"), accounts=[site.blog_account, x, bluesky])
    with pytest.raises(ConfigurationError, match=linkedin.key) as caught:
        queue(outbox, _campaign(site), [site.blog_account])
    assert "configuration" in str(caught.value)
    assert outbox.list() == [] and holds(outbox) == []


def test_publish_refuses_to_hold_for_a_network_the_outbox_does_not_know(
    site: Site, tmp_path: Path
) -> None:
    x, bluesky, linkedin = site.networks
    outbox = Outbox(str(tmp_path / "brandkit.db"), accounts=[site.blog_account, x, bluesky])
    later = _campaign(site, scheduled_at=datetime.now(UTC) + timedelta(hours=1))
    with (
        Client(retry=FAST, outbox=outbox) as client,
        pytest.raises(ConfigurationError, match=linkedin.key),
    ):
        publish(client, later, [site.blog_account])
    assert site.blog.count("POST") == 0
    assert outbox.list() == [] and holds(outbox) == []


def test_an_article_not_live_yet_is_not_held_for_a_network_the_outbox_does_not_know(
    site: Site, tmp_path: Path
) -> None:
    """An article out at once whose blog does not call it live would be held: the outbox
    cannot send the announcement to an account it does not know, so the announcements come
    back cancelled, saying so, instead of a hold that releases into a dead end."""
    from tests.campaign.test_untrusted_url import answer

    x, bluesky, linkedin = site.networks
    site.blog.fault(method="POST", path=site.create_path, status=201, body=answer(site, "/lisbon/"))
    outbox = Outbox(str(tmp_path / "brandkit.db"), accounts=[site.blog_account, x, bluesky])
    with Client(retry=FAST, outbox=outbox) as client:
        article, *announcements = publish(client, _campaign(site), [site.blog_account])
    assert article.ok
    assert [d.status.value for d in announcements] == ["cancelled"] * 3
    assert linkedin.key in str(announcements[0].error)
    assert holds(outbox) == [] and site.network_posts == 0
