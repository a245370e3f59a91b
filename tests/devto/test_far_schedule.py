"""Forem drops a ``published_at`` more than 5 years ahead as a mistake
(``Article#remove_invalid_published_at``, after ``set_published_date``) and keeps the article
published without a date: an embargoed article scheduled with a mistyped year (2062 for 2026)
went out at once instead of waiting. brandkit refuses such a time before sending."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from brandkit import Client, DeliveryStatus
from brandkit.content import Article
from brandkit.errors import ContentError
from brandkit.testing.devto import DevtoEmulator
from tests.devto.conftest import CREATE


def test_forem_drops_a_date_more_than_5_years_ahead(emu: DevtoEmulator) -> None:
    key = emu.account().secret("api_key") or ""
    headers = {"api-key": key, "Accept": "application/vnd.forem.api-v1+json"}
    for years, kept in ((4, True), (6, False)):
        at = (emu.clock.now() + timedelta(days=365 * years)).strftime("%Y-%m-%dT%H:%M:%SZ")
        article = {"title": f"In {years}", "body_markdown": "x", "published": True}
        emu.clock.advance(2)  # one write a second
        answer = httpx.post(
            f"{emu.base_url}/api/articles",
            json={"article": {**article, "published_at": at}},
            headers=headers,
        )
        assert answer.status_code == 201, answer.text
        assert answer.json()["published_at"] == (at if kept else None)


def test_a_time_more_than_5_years_ahead_is_refused_before_sending(
    emu: DevtoEmulator, client: Client
) -> None:
    when = datetime.now(UTC).replace(year=datetime.now(UTC).year + 36, month=6, day=1)
    (d,) = client.publish(Article(title="Q3 results", body="Up.", scheduled_at=when), emu.account())
    assert d.status is DeliveryStatus.FAILED
    assert isinstance(d.error, ContentError) and d.error.field == "scheduled_at"
    assert emu.count("POST", CREATE) == 0


def test_four_years_ahead_is_scheduled(emu: DevtoEmulator, client: Client) -> None:
    when = datetime.now(UTC) + timedelta(days=365 * 4)
    (d,) = client.publish(Article(title="Q3 results", body="Up.", scheduled_at=when), emu.account())
    assert d.ok, d.error
    assert d.parts[0].extra["status"] == "scheduled"
