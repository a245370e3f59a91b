"""An article for later is published at once by the client that saves it (the blog
schedules it): its first save leases it on PostgreSQL as on SQLite."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from brandkit.content import Article
from brandkit.delivery import Delivery, DeliveryStatus
from brandkit.outbox import Outbox
from brandkit.testing.wordpress import WordPressEmulator

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def test_a_publish_of_an_article_for_later_keeps_its_deliveries(db: Path | str) -> None:
    """A client publishing an article scheduled for tomorrow to two blogs writes both
    deliveries pending first, then sends them one after the other: a worker elsewhere must
    not take the second meanwhile (the article is due at once: the blog schedules it)."""
    wp = WordPressEmulator()
    blogs = [wp.account(name="one"), wp.account(name="two", user="editor")]
    article = Article(title="Launch", body="Soon.", scheduled_at=T0 + timedelta(days=1))
    client_box = Outbox(db, clock=lambda: T0)
    worker_box = Outbox(db, clock=lambda: T0)
    try:
        deliveries = [
            Delivery(account=b.key, platform=b.platform, post=article, created_at=T0, updated_at=T0)
            for b in blogs
        ]
        client_box.save_many(deliveries)
        assert worker_box.claim(T0) == []
        # The client sends the first, then the second: both saves are its own to make.
        for delivery in deliveries:
            delivery.status = DeliveryStatus.SENDING
            delivery.attempts = 1
            delivery.keys = ["k"]
            client_box.save(delivery)
        assert worker_box.claim(T0) == []
    finally:
        client_box.close()
        worker_box.close()
