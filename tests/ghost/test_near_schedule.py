"""An article scheduled less than 2 minutes ahead (asked so, or sent again near its time
after an outage) was refused by Ghost ("Date must be at least 2 minutes in the future."), so
the article failed altogether, where WordPress and dev.to schedule it. It is now scheduled
at the earliest time Ghost takes: a little late, never early (a press release's embargo)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from brandkit import Client
from brandkit.content import Article
from brandkit.testing.ghost import GhostEmulator


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_a_time_less_than_two_minutes_ahead_is_scheduled(
    emu: GhostEmulator, client: Client
) -> None:
    sent = datetime.now(UTC)
    when = (sent + timedelta(seconds=60)).replace(microsecond=0)
    article = Article(title="Q3 results", body="Up.", scheduled_at=when)
    (d,) = client.publish(article, emu.account())
    assert d.ok, d.error
    assert d.parts[0].extra["status"] == "scheduled"
    stored = emu.post("q3-results")
    assert stored["status"] == "scheduled"
    live = _at(stored["published_at"])
    # Never before the time asked, and no later than Ghost's lead (plus a margin) requires.
    assert live >= when
    assert live <= datetime.now(UTC) + timedelta(minutes=3)


def test_a_time_well_ahead_is_kept(emu: GhostEmulator, client: Client) -> None:
    when = (datetime.now(UTC) + timedelta(minutes=10)).replace(microsecond=0)
    (d,) = client.publish(Article(title="Q3 results", body="Up.", scheduled_at=when), emu.account())
    assert d.ok, d.error
    assert _at(emu.post("q3-results")["published_at"]) == when
