"""Forem never moves the date of an article once it has been published
(``Article#correct_published_at?``, on update: "updating published_at for articles that have
already been published is not allowed", also after it was unpublished; a change within a
minute passes). The emulator took any new ``published_at``, so a test could reschedule a
live article that dev.to refuses to; brandkit now says so before sending, and what to do."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from brandkit import Client, DeliveryStatus
from brandkit.content import Article
from brandkit.errors import ContentError
from brandkit.testing.devto import DevtoEmulator

IMMUTABLE = (
    "Published at updating published_at for articles that have already been published is "
    "not allowed"
)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _write(emu: DevtoEmulator, method: str, path: str, article: dict[str, Any]) -> httpx.Response:
    key = emu.account().secret("api_key") or ""
    headers = {"api-key": key, "Accept": "application/vnd.forem.api-v1+json"}
    emu.clock.advance(2)  # one write a second
    return httpx.request(
        method, f"{emu.base_url}/api/{path}", json={"article": article}, headers=headers
    )


def test_forem_refuses_a_new_date_for_an_article_once_published(emu: DevtoEmulator) -> None:
    made = _write(emu, "POST", "articles", {"title": "Q3", "body_markdown": "x", "published": True})
    assert made.status_code == 201, made.text
    path = f"articles/{made.json()['id']}"
    later = _stamp(emu.clock.now() + timedelta(days=2))
    refused = _write(emu, "PUT", path, {"published_at": later})
    assert (refused.status_code, refused.json()) == (422, {"error": IMMUTABLE, "status": 422})
    # Unpublished, it keeps its date, which still cannot change.
    assert _write(emu, "PUT", path, {"published": False}).status_code == 200
    refused = _write(emu, "PUT", path, {"published": True, "published_at": later})
    assert (refused.status_code, refused.json()) == (422, {"error": IMMUTABLE, "status": 422})
    # Within a minute of its date (front matter without seconds) is no change.
    when = datetime.fromisoformat(made.json()["published_at"].replace("Z", "+00:00"))
    kept = _write(emu, "PUT", path, {"published": True, "published_at": _stamp(when)})
    assert kept.status_code == 200, kept.text


def test_forem_moves_a_scheduled_article(emu: DevtoEmulator) -> None:
    soon = _stamp(emu.clock.now() + timedelta(days=1))
    made = _write(
        emu,
        "POST",
        "articles",
        {"title": "Q3", "body_markdown": "x", "published": True, "published_at": soon},
    )
    assert made.status_code == 201, made.text
    later = _stamp(emu.clock.now() + timedelta(days=3))
    moved = _write(emu, "PUT", f"articles/{made.json()['id']}", {"published_at": later})
    assert moved.status_code == 200, moved.text
    assert moved.json()["published_at"] == later


def test_a_live_article_updated_to_scheduled_is_refused_before_sending(
    emu: DevtoEmulator, client: Client
) -> None:
    (d,) = client.publish(Article(title="Q3 results", body="Up."), emu.account())
    assert d.ok, d.error
    emu.clock.advance(2)
    (before,) = emu.articles()
    later = datetime.now(UTC) + timedelta(days=2)
    with pytest.raises(ContentError, match="already been published") as caught:
        client.update(d, Article(title="Q3 results", body="Up.", scheduled_at=later))
    assert caught.value.field == "status"
    assert emu.count("PUT", r"/api/articles/\d+") == 0
    assert d.status is DeliveryStatus.SENT
    assert emu.articles() == [before]


def test_a_scheduled_article_is_rescheduled(emu: DevtoEmulator, client: Client) -> None:
    first = datetime.now(UTC) + timedelta(days=1)
    article = Article(title="Q3 results", body="Up.", scheduled_at=first)
    (d,) = client.publish(article, emu.account())
    assert d.parts[0].extra["status"] == "scheduled"
    emu.clock.advance(2)
    later = (first + timedelta(days=2)).replace(microsecond=0)
    client.update(d, article.model_copy(update={"scheduled_at": later}))
    (stored,) = emu.articles()
    assert stored["published_at"] == _stamp(later)
    assert d.parts[0].extra["status"] == "scheduled"


def test_a_scheduled_article_moved_to_a_time_already_past_goes_live_now(
    emu: DevtoEmulator, client: Client
) -> None:
    """A time already past is published at once, as for a new article: sent without a
    date, the article kept its old time, days ahead, still scheduled."""
    article = Article(
        title="Q3 results", body="Up.", scheduled_at=datetime.now(UTC) + timedelta(days=3)
    )
    (d,) = client.publish(article, emu.account())
    assert d.parts[0].extra["status"] == "scheduled"
    emu.clock.advance(2)
    past = datetime.now(UTC) - timedelta(minutes=10)
    client.update(d, article.model_copy(update={"scheduled_at": past}))
    assert d.parts[0].extra["status"] == "published"
    (stored,) = emu.articles()
    when = datetime.fromisoformat(stored["published_at"].replace("Z", "+00:00"))
    assert abs(when - datetime.now(UTC)) < timedelta(minutes=1)
