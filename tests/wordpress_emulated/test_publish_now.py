"""Updating a scheduled post to ``status="published"`` publishes it now: WordPress keeps a
post whose date is still to come ``future`` whatever status it is sent, so the update used
to leave it scheduled (days away) without a word. A post already live keeps its date."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from brandkit import Client, RetryPolicy
from brandkit.content import Article
from brandkit.testing.wordpress import WordPressEmulator

FAST = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=10, settle=0.05)


def gmt(value: str) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def test_a_scheduled_post_updated_to_published_goes_live_now() -> None:
    emu = WordPressEmulator()
    embargo = datetime.now(UTC) + timedelta(days=2)
    with emu.serve(), Client(retry=FAST) as client:
        article = Article(title="Q3 results", body="Up 31%.", scheduled_at=embargo)
        (d,) = client.publish(article, emu.account())
        assert d.parts[0].extra["status"] == "future"
        client.update(d, article.model_copy(update={"status": "published", "scheduled_at": None}))
        assert d.parts[0].extra["status"] == "publish"
        stored = emu.item(d.parts[0].id)
    assert stored["status"] == "publish"
    assert gmt(stored["date_gmt"]) < embargo - timedelta(days=1)
    assert d.url == stored["link"]


def test_a_live_post_keeps_its_date_when_updated() -> None:
    emu = WordPressEmulator()
    with emu.serve(), Client(retry=FAST) as client:
        article = Article(title="Q3 results", body="Up 31%.")
        (d,) = client.publish(article, emu.account())
        published = emu.item(d.parts[0].id)["date_gmt"]
        emu.clock.advance(timedelta(days=7))
        client.update(d, article.model_copy(update={"body": "Up 32%."}))
        stored = emu.item(d.parts[0].id)
    assert stored["status"] == "publish"
    assert stored["date_gmt"] == published


def test_a_scheduled_post_drafted_then_published_goes_live_now() -> None:
    # WordPress keeps the date of a scheduled post put back to draft: published later
    # without a date, it was made "future" again, days away, though "published" was asked.
    emu = WordPressEmulator()
    embargo = datetime.now(UTC) + timedelta(days=2)
    with emu.serve(), Client(retry=FAST) as client:
        article = Article(title="Q3 results", body="Up 31%.", scheduled_at=embargo)
        (d,) = client.publish(article, emu.account())
        client.update(d, article.model_copy(update={"status": "draft", "scheduled_at": None}))
        assert d.parts[0].extra["status"] == "draft"
        client.update(d, article.model_copy(update={"status": "published", "scheduled_at": None}))
        assert d.parts[0].extra["status"] == "publish"
        stored = emu.item(d.parts[0].id)
    assert stored["status"] == "publish"
    assert gmt(stored["date_gmt"]) < embargo - timedelta(days=1)
