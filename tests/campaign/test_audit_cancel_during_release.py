"""`cancel` says a held announcement "will not be released". A release already under way
(asking the blog whether the article is live, which takes a network round trip) when the
user cancels wrote the announcements to the outbox all the same, and the worker sent them:
the cancel must win, and what the release wrote is cancelled in the outbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from brandkit import Client
from brandkit.campaign import _holds, cancel, holds, publish, release
from brandkit.delivery import DeliveryStatus
from brandkit.outbox import Outbox
from tests.campaign.conftest import FAST, Site
from tests.campaign.test_publish import campaign, release_article


def test_a_hold_cancelled_while_the_blog_is_asked_is_not_announced(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    when = datetime.now(UTC) + timedelta(minutes=10)
    outbox = Outbox(str(tmp_path / "brandkit.db"))
    with Client(retry=FAST, outbox=outbox) as client:
        publish(client, campaign(site, release_article(scheduled_at=when)), [site.blog_account])
        (hold,) = holds(outbox)
        site.blog.clock.advance(timedelta(minutes=11))
        reader = _holds._reader

        def cancelled_meanwhile(*args: Any) -> Any:
            # The user cancels while this worker's release is asking the blog.
            cancel(outbox, hold.id)
            return reader(*args)

        monkeypatch.setattr(_holds, "_reader", cancelled_meanwhile)
        release(outbox, client, now=when + timedelta(minutes=1))
        (after,) = holds(outbox)
        assert after.status == "cancelled"
        waiting = [d for d in outbox.list(DeliveryStatus.PENDING) if d.platform != "wordpress"]
        assert waiting == []
    assert site.network_posts == 0


def test_a_hold_cancelled_while_its_announcements_are_written_stops_them(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    when = datetime.now(UTC) + timedelta(minutes=10)
    outbox = Outbox(str(tmp_path / "brandkit.db"))
    with Client(retry=FAST, outbox=outbox) as client:
        publish(client, campaign(site, release_article(scheduled_at=when)), [site.blog_account])
        (hold,) = holds(outbox)
        site.blog.clock.advance(timedelta(minutes=11))
        insert_once = outbox.insert_once
        calls: list[str] = []

        def cancelled_meanwhile(delivery: Any) -> Any:
            if not calls:
                cancel(outbox, hold.id)
            calls.append(delivery.id)
            return insert_once(delivery)

        monkeypatch.setattr(outbox, "insert_once", cancelled_meanwhile)
        assert release(outbox, client, now=when + timedelta(minutes=1)) == []
        assert len(calls) == len(site.networks)
        (after,) = holds(outbox)
        assert after.status == "cancelled"
        for delivery_id in calls:
            stored = outbox.get(delivery_id)
            assert stored is not None and stored.status is DeliveryStatus.CANCELLED
    assert site.network_posts == 0
