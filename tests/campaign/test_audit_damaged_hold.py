"""A hold row that cannot be read back (its JSON cut short or edited by hand) costs only that
hold: it is failed with a reason saying so, and the other holds are released, rather than
every worker run logging the same ``JSONDecodeError`` while no announcement goes out."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from brandkit import Client
from brandkit.campaign import holds, publish, release
from brandkit.outbox import Outbox
from tests.campaign.conftest import FAST, Site
from tests.campaign.test_publish import campaign, release_article


@pytest.mark.parametrize(
    ("column", "damage"),
    [
        ("articles", "'[\"abc'"),
        ("accounts", "'{}'"),
        ("check_at", "'2000-99-99'"),
        ("live_at", "'soon'"),
        ("data", "'{'"),
    ],
)
def test_a_damaged_hold_fails_and_the_others_are_released(
    site: Site, tmp_path: Path, column: str, damage: str
) -> None:
    when = datetime.now(UTC) + timedelta(minutes=10)
    db = tmp_path / "brandkit.db"
    outbox = Outbox(str(db))
    with Client(retry=FAST, outbox=outbox) as client:
        for slug in ("lisbon", "porto"):
            article = release_article(scheduled_at=when, slug=slug)
            publish(client, campaign(site, article), [site.blog_account])
        first, second = holds(outbox)
        with sqlite3.connect(db) as conn:
            conn.execute(f"UPDATE campaign_holds SET {column} = {damage} WHERE id = ?", (first.id,))
        conn.close()
        site.blog.clock.advance(timedelta(minutes=11))
        queued = release(outbox, client, now=when + timedelta(minutes=1))
        assert len(queued) == len(site.networks)
        by_id = {h.id: h for h in holds(outbox)}
        assert by_id[second.id].status == "released"
        assert by_id[first.id].status == "failed"
        assert "cannot be" in (by_id[first.id].reason or "")
        # Looked at once: the next run neither fails nor releases it again.
        assert release(outbox, client, now=when + timedelta(minutes=5)) == []
