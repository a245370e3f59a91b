"""Updating a scheduled article to ``status="published"`` publishes it dated now: Ghost sets
``published_at`` only when a post has none, so a scheduled post sent ``published`` alone
went live dated days ahead (at the top of the site, "published" in the future), and one put
back to draft first kept that date too. A post already live keeps its date."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from brandkit import Client
from brandkit.content import Article
from brandkit.errors import ContentError
from brandkit.platforms.ghost import GhostAdapter
from brandkit.testing.ghost import GhostEmulator


def published_at(emu: GhostEmulator) -> datetime:
    (stored,) = emu.posts()
    return datetime.fromisoformat(str(stored["published_at"]).replace("Z", "+00:00"))


def test_a_scheduled_article_updated_to_published_is_dated_now(
    emu: GhostEmulator, client: Client
) -> None:
    embargo = datetime.now(UTC) + timedelta(days=2)
    article = Article(title="Q3 results", body="Up 31%.", scheduled_at=embargo)
    (d,) = client.publish(article, emu.account())
    assert d.parts[0].extra["status"] == "scheduled"
    now = article.model_copy(update={"status": "published", "scheduled_at": None})
    client.update(d, now)
    assert d.parts[0].extra["status"] == "published"
    assert published_at(emu) < embargo - timedelta(days=1)


def test_a_scheduled_article_drafted_then_published_is_dated_now(
    emu: GhostEmulator, client: Client
) -> None:
    embargo = datetime.now(UTC) + timedelta(days=2)
    article = Article(title="Q3 results", body="Up 31%.", scheduled_at=embargo)
    (d,) = client.publish(article, emu.account())
    client.update(d, article.model_copy(update={"status": "draft", "scheduled_at": None}))
    client.update(d, article.model_copy(update={"status": "published", "scheduled_at": None}))
    assert d.parts[0].extra["status"] == "published"
    assert published_at(emu) < embargo - timedelta(days=1)


def test_a_live_article_keeps_its_date(
    emu: GhostEmulator, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(GhostAdapter, "clock", staticmethod(emu.clock.time))
    article = Article(title="Q3 results", body="Up 31%.")
    (d,) = client.publish(article, emu.account())
    first = published_at(emu)
    emu.clock.advance(timedelta(days=3))
    client.update(d, article.model_copy(update={"body": "Up 32%."}))
    assert published_at(emu) == first


def test_a_live_article_cannot_be_scheduled_and_the_error_says_what_to_do(
    emu: GhostEmulator, client: Client
) -> None:
    # Ghost refuses published -> scheduled with "Your post is already published, please
    # reload your page.": the error now says to put the post back to draft first.
    article = Article(title="Q3 results", body="Up 31%.")
    (d,) = client.publish(article, emu.account())
    later = datetime.now(UTC) + timedelta(days=2)
    scheduled = article.model_copy(update={"status": "scheduled", "scheduled_at": later})
    with pytest.raises(ContentError, match="status='draft' first"):
        client.update(d, scheduled)
    assert emu.post("q3-results")["status"] == "published"
    updated = client.update(d, article.model_copy(update={"status": "draft"}))
    assert updated.ok, updated.error
    updated = client.update(d, scheduled)
    assert updated.ok, updated.error
    assert emu.post("q3-results")["status"] == "scheduled"
