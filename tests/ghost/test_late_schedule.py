"""An article whose scheduled time has passed by the time it is sent (a worker that ran late,
a retry) is published now, dated as asked, as WordPress does: Ghost refuses to schedule in
the past ("Date must be at least 2 minutes in the future."), which failed the article."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from brandkit import Client
from brandkit.content import Article
from brandkit.testing.ghost import GhostEmulator
from tests.ghost.conftest import CREATE


def test_a_time_already_past_is_published_now(emu: GhostEmulator, client: Client) -> None:
    when = (datetime.now(UTC) - timedelta(minutes=30)).replace(microsecond=0)
    (d,) = client.publish(Article(title="Q3 results", body="Up.", scheduled_at=when), emu.account())
    assert d.ok, d.error
    assert d.parts[0].extra["status"] == "published"
    stored = emu.post("q3-results")
    assert stored["status"] == "published"
    assert datetime.fromisoformat(stored["published_at"].replace("Z", "+00:00")) == when
    assert d.url == stored["url"]


def test_a_lost_late_create_is_found_not_sent_again(emu: GhostEmulator, client: Client) -> None:
    when = datetime.now(UTC) - timedelta(minutes=30)
    emu.fault(method="POST", path=CREATE, drop="after")
    (d,) = client.publish(Article(title="Q3 results", body="Up.", scheduled_at=when), emu.account())
    assert d.ok, d.error
    assert emu.count("POST", CREATE) == 1
    assert [p["slug"] for p in emu.posts()] == ["q3-results"]
