"""An article scheduled less than a minute ahead is never published early: WordPress counts
a date less than a minute ahead as now and publishes such a post at once (up to a minute
before its time, which an embargoed press release must not be). It is now scheduled at the
earliest time WordPress keeps scheduled, a little late; a time further ahead is kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from brandkit import Client, RetryPolicy
from brandkit.content import Article
from brandkit.testing.wordpress import WordPressEmulator

FAST = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=10, settle=0.05)


def gmt(value: str) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def test_a_time_less_than_a_minute_ahead_is_not_published_early() -> None:
    emu = WordPressEmulator()
    when = (datetime.now(UTC) + timedelta(seconds=30)).replace(microsecond=0)
    with emu.serve(), Client(retry=FAST) as client:
        (d,) = client.publish(Article(title="Q3", body="Up.", scheduled_at=when), emu.account())
        assert d.ok, d.error
        stored = emu.item(d.parts[0].id)
    assert stored["status"] == "future"
    assert gmt(stored["date_gmt"]) >= when
    assert gmt(stored["date_gmt"]) <= datetime.now(UTC) + timedelta(minutes=2)
    assert d.parts[0].extra["status"] == "future"


def test_a_time_further_ahead_is_kept() -> None:
    emu = WordPressEmulator()
    when = (datetime.now(UTC) + timedelta(minutes=10)).replace(microsecond=0)
    with emu.serve(), Client(retry=FAST) as client:
        (d,) = client.publish(Article(title="Q3", body="Up.", scheduled_at=when), emu.account())
        stored = emu.item(d.parts[0].id)
    assert stored["status"] == "future" and gmt(stored["date_gmt"]) == when
