"""Updating a scheduled article to ``status="published"`` publishes it now: Forem keeps a
scheduled article's ``published_at`` when it is only sent ``published: true``, so it stayed
scheduled (days away) while brandkit reported it "published". The status reported is what
Forem answers; an article already live keeps its ``published_at``."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from brandkit import Client
from brandkit.content import Article
from brandkit.testing.devto import DevtoEmulator


def published_at(emu: DevtoEmulator) -> datetime:
    (stored,) = emu.articles()
    return datetime.fromisoformat(str(stored["published_at"]).replace("Z", "+00:00"))


def test_a_scheduled_article_updated_to_published_goes_live_now(
    emu: DevtoEmulator, client: Client
) -> None:
    embargo = datetime.now(UTC) + timedelta(days=2)
    article = Article(title="Q3 results", body="Up 31%.", scheduled_at=embargo)
    (d,) = client.publish(article, emu.account())
    assert d.parts[0].extra["status"] == "scheduled"
    emu.clock.advance(2)  # one write a second
    client.update(d, article.model_copy(update={"status": "published", "scheduled_at": None}))
    assert d.parts[0].extra["status"] == "published"
    assert published_at(emu) < embargo - timedelta(days=1)


def test_the_status_is_the_one_forem_answers(emu: DevtoEmulator, client: Client) -> None:
    article = Article(title="Q3 results", body="Up 31%.")
    (d,) = client.publish(article, emu.account())
    later = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    answer = {
        "id": int(d.parts[0].id),
        "title": "Q3 results",
        "slug": d.parts[0].extra["slug"],
        "url": d.url,
        "published_at": later,
    }
    emu.fault(method="PUT", path=r"/api/articles/\d+", status=200, body=answer)
    emu.clock.advance(2)
    client.update(d, article.model_copy(update={"body": "Up 32%."}))
    assert d.parts[0].extra["status"] == "scheduled"


def test_a_live_article_keeps_its_published_at(emu: DevtoEmulator, client: Client) -> None:
    article = Article(title="Q3 results", body="Up 31%.")
    (d,) = client.publish(article, emu.account())
    first = published_at(emu)
    emu.clock.advance(3600)
    client.update(d, article.model_copy(update={"body": "Up 32%."}))
    assert d.parts[0].extra["status"] == "published"
    assert published_at(emu) == first
    # Forem refuses to move the published_at of an article already live: none is sent.
    (put,) = [r for r in emu.requests if r.method == "PUT"]
    assert "published_at" not in json.loads(put.content)["article"]


def test_a_scheduled_article_drafted_then_published_goes_live_now(
    emu: DevtoEmulator, client: Client
) -> None:
    # Unpublished, the article kept its published_at days ahead: it was reported
    # "scheduled" as a draft, and published again without a date it stayed scheduled.
    embargo = datetime.now(UTC) + timedelta(days=2)
    article = Article(title="Q3 results", body="Up 31%.", scheduled_at=embargo)
    (d,) = client.publish(article, emu.account())
    emu.clock.advance(2)
    client.update(d, article.model_copy(update={"status": "draft", "scheduled_at": None}))
    assert d.parts[0].extra["status"] == "draft"
    emu.clock.advance(2)
    client.update(d, article.model_copy(update={"status": "published", "scheduled_at": None}))
    assert d.parts[0].extra["status"] == "published"
    (stored,) = emu.articles()
    assert published_at(emu) < embargo - timedelta(days=1)
    assert stored["url"] == d.url
