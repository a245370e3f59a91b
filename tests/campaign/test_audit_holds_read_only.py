"""``holds(outbox)`` (and ``cancel`` of a hold that is not there) on an outbox that never
held a campaign created the ``campaign_*`` tables in its file: a read wrote, took the
file's write lock (waiting behind a busy worker) and failed on a read-only copy. It lists
nothing and writes nothing; the tables are made by the first hold."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from brandkit.campaign import cancel, holds
from brandkit.campaign._holds import holds_for
from brandkit.errors import ConfigurationError
from brandkit.outbox import Outbox


def _tables(path: Path) -> set[str]:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return {name for (name,) in rows if name.startswith("campaign_")}


def test_listing_an_outbox_without_campaigns_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "brandkit.db"
    with Outbox(str(path)) as outbox:
        assert holds(outbox) == [] and holds(outbox, "held") == []
        with pytest.raises(ConfigurationError, match="no campaign hold 'nope'"):
            cancel(outbox, "nope")
        with pytest.raises(ConfigurationError, match="'held', 'released'"):
            holds(outbox, "hold")
        assert holds_for(outbox).get("nope") is None
        assert holds_for(outbox).due(outbox.clock()) == []
        assert _tables(path) == set()


def test_the_tables_made_by_another_process_are_read(tmp_path: Path) -> None:
    """Tables made after the store was opened (by the worker) are found by the next read."""
    path = tmp_path / "brandkit.db"
    with Outbox(str(path)) as outbox:
        assert holds(outbox) == []
        with Outbox(str(path)) as other:
            store = holds_for(other)
            with store._tx() as db:  # the first write makes the tables
                db.execute("SELECT 1")
        assert _tables(path) == {"campaign_holds", "campaign_meta"}
        assert holds(outbox) == []
        with pytest.raises(ConfigurationError, match="no campaign hold 'nope'"):
            cancel(outbox, "nope")
