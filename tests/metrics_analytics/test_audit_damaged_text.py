"""SQLite keeps whatever is written in a column: a value stored as text by hand or by an old
tool ('n/a') is read by the store as unavailable (`damaged_reason`), but the analytics copy
could not be made at all (DuckDB's "Could not convert string 'n/a' to DOUBLE"), so every
refresh failed. The copy reads it as the store does."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from brandkit.metrics import MetricSample, MetricsStore
from tests.metrics._data import at


def _sample(post: str, value: int, hours: float = 1) -> MetricSample:
    return MetricSample(
        platform="x", account="x:b", metric="likes", value=value, fetched_at=at(hours), post_id=post
    )


@pytest.mark.parametrize("damage", ["'n/a'", "x'00ff'"], ids=["text", "blob"])
def test_the_copy_reads_a_text_value_as_the_store_does(tmp_path: Path, damage: str) -> None:
    pytest.importorskip("duckdb")
    from brandkit.metrics import Analytics

    db = tmp_path / "brandkit.db"
    with MetricsStore(db) as store:
        store.add([_sample("1", 4), _sample("2", 7), _sample("2", 9, hours=2)])
    with sqlite3.connect(db) as conn:
        conn.execute(f"UPDATE metrics_samples SET value = {damage} WHERE value = 9")
    conn.close()
    with MetricsStore(db) as store, Analytics(db, tmp_path / "copy.duckdb") as analytics:
        assert analytics.latest() == store.latest()
        assert analytics.totals() == store.totals()
        assert analytics.engagement() == store.engagement()
        assert analytics.series("likes") == store.series("likes")
        assert analytics.unavailable() == store.unavailable()
        assert analytics.latest(since=at(0)) == store.latest(since=at(0))
        assert analytics.count() == store.count() == 3
