"""An article whose scheduled time has passed by the time it is sent (a worker that ran late,
a retry) is published now, as WordPress does: Forem refuses a new article whose
``published_at`` is more than 15 minutes past, which failed the article."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from brandkit import Client
from brandkit.content import Article
from brandkit.testing.devto import DevtoEmulator
from tests.devto.conftest import CREATE

# Forem's models.article.future_or_current_published_at, after the attribute's name.
LATE = "Published at only future or current published_at allowed"


def test_forem_refuses_a_published_at_long_past(emu: DevtoEmulator) -> None:
    key = emu.account().secret("api_key") or ""
    headers = {"api-key": key, "Accept": "application/vnd.forem.api-v1+json"}
    for minutes, status in ((30, 422), (10, 201)):
        at = datetime.now(UTC) - timedelta(minutes=minutes)
        article = {
            "title": f"Old {minutes}",
            "body_markdown": "x",
            "published": True,
            "published_at": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        emu.clock.advance(2)  # one write a second
        answer = httpx.post(
            f"{emu.base_url}/api/articles", json={"article": article}, headers=headers
        )
        assert answer.status_code == status, answer.text
        if status == 422:
            assert answer.json() == {"error": LATE, "status": 422}


def test_a_time_already_past_is_published_now(emu: DevtoEmulator, client: Client) -> None:
    when = datetime.now(UTC) - timedelta(minutes=30)
    (d,) = client.publish(Article(title="Q3 results", body="Up.", scheduled_at=when), emu.account())
    assert d.ok, d.error
    assert d.parts[0].extra["status"] == "published"
    assert emu.post_titles() == ["Q3 results"]


def test_a_lost_late_create_is_found_not_sent_again(emu: DevtoEmulator, client: Client) -> None:
    when = datetime.now(UTC) - timedelta(minutes=30)
    emu.fault(method="POST", path=CREATE, drop="after")
    (d,) = client.publish(Article(title="Q3 results", body="Up.", scheduled_at=when), emu.account())
    assert d.ok, d.error
    assert d.parts[0].extra["status"] == "published"
    assert emu.count("POST", CREATE) == 1
