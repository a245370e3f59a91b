"""queue() writes the article's deliveries and its hold in one transaction: a failure of the
hold's write (a lock held past the timeout, a full disk, a crash) leaves nothing queued, so
that queuing the campaign again posts the article once and announces it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from brandkit import Client
from brandkit.campaign import holds, queue
from brandkit.campaign._holds import _SCHEMA
from brandkit.errors import BrandkitError
from brandkit.outbox import Outbox, Worker
from tests.campaign.conftest import FAST, Site
from tests.campaign.test_publish import campaign


def test_a_hold_that_cannot_be_written_queues_no_article(site: Site, tmp_path: Path) -> None:
    path = tmp_path / "brandkit.db"
    outbox = Outbox(str(path))
    with sqlite3.connect(path) as db:
        # A real failure of the hold's write, after the article's: SQLite refuses its row.
        db.executescript(_SCHEMA)
        db.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON campaign_holds "
            "BEGIN SELECT RAISE(ABORT, 'disk I/O error (injected)'); END"
        )
    with pytest.raises(BrandkitError, match="injected"):
        queue(outbox, campaign(site), [site.blog_account])
    # Nothing half-written: no article waits for the worker without its announcement.
    assert outbox.list() == []
    assert holds(outbox) == []

    with sqlite3.connect(path) as db:
        db.execute("DROP TRIGGER refuse")
    hold = queue(outbox, campaign(site), [site.blog_account])  # the user's rerun
    assert len(outbox.list()) == 1
    accounts = [site.blog_account, *site.networks]
    with Client(retry=FAST, outbox=outbox) as client, Worker(outbox, accounts, client=client) as w:
        for _ in range(4):
            w.run_once()
    assert site.blog.count("POST", site.create_path) == 1  # the article, posted once
    (stored,) = holds(outbox)
    assert stored.id == hold.id and stored.status == "released"
    assert len(site.x.post_texts()) == 1 and site.network_posts == 3
