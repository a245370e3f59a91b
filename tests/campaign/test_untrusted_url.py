"""A blog answer whose article URL is not an absolute http(s) address (relative, or
another scheme) is never announced; ``publish`` returns the article's delivery and cancelled
announcements saying why, instead of raising after the article is out (which lost the
article's delivery and made a rerun publish it twice)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
import pytest

from brandkit import Client
from brandkit.campaign import holds, publish, release
from brandkit.delivery import DeliveryStatus
from brandkit.outbox import Outbox
from brandkit.testing.ghost import GhostEmulator
from tests.campaign.conftest import FAST, Site
from tests.campaign.test_publish import campaign


def answer(site: Site, url: str) -> dict[str, Any]:
    """The blog's create answer, with ``url`` as the article's address."""
    if isinstance(site.blog, GhostEmulator):
        post = {
            "id": "a" * 24,
            "uuid": "0b3c2c43-8a7e-4a52-9d0c-3f0c8f1e6a21",
            "slug": "acme-opens-in-lisbon",
            "title": "Acme opens in Lisbon",
            "status": "published",
            "url": url,
            "updated_at": "2026-12-06T10:00:00.000Z",
            "created_at": "2026-12-06T10:00:00.000Z",
        }
        return {"posts": [post]}
    return {"id": 99, "link": url, "slug": "acme-opens-in-lisbon", "status": "publish"}


@pytest.mark.parametrize("url", ["/acme-opens-in-lisbon/", "javascript:alert(1)", "ftp://a/b"])
def test_an_article_url_that_is_no_web_address_is_not_announced(site: Site, url: str) -> None:
    site.blog.fault(method="POST", path=site.create_path, status=201, body=answer(site, url))
    with Client(retry=FAST) as client:
        article, *announcements = publish(client, campaign(site), [site.blog_account])
    assert article.ok and article.url == url
    assert [d.status for d in announcements] == [DeliveryStatus.CANCELLED] * 3
    assert "public http(s) address" in str(announcements[0].error)
    assert site.network_posts == 0


@pytest.mark.parametrize("card", [True, False])
@pytest.mark.parametrize("url", ["/acme-opens-in-lisbon/", "javascript:alert(1)"])
def test_a_held_announcement_is_not_released_with_an_address_that_is_no_web_address(
    site: Site, tmp_path: Path, url: str, card: bool
) -> None:
    """With an outbox, an article whose blog gave no http(s) address is held; the worker's
    release must not announce it with that address (a text-only announcement went out as
    "We are in Lisbon! javascript:alert(1)"), but fail the hold saying why."""
    site.blog.fault(method="POST", path=site.create_path, status=201, body=answer(site, url))
    # The worker asks the blog before it releases: the blog says the same then.
    site.blog.fault(method="GET", path=".*", status=200, body=answer(site, url), times=10)
    held = attrs.evolve(campaign(site), card=card)
    outbox = Outbox(str(tmp_path / "brandkit.db"))
    with Client(retry=FAST, outbox=outbox) as client:
        (article,) = publish(client, held, [site.blog_account])
        assert article.ok and article.url == url
        assert release(outbox, client) == []
    (hold,) = holds(outbox)
    assert hold.status == "failed"
    assert "public http(s) address" in (hold.reason or "")
    assert site.network_posts == 0
