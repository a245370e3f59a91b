"""A store on a caller's ``sqlite3.Connection`` after the caller rolled its transaction back:
series ids created in that transaction are gone, and the store must not file later samples
under them (they would then show up as another post's metric). The store's own file
enforces the samples' foreign key, so a dangling series id cannot be written at all."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from brandkit.errors import BrandkitError
from brandkit.metrics import MetricSample, MetricsStore

T = datetime(2026, 3, 2, 12, tzinfo=UTC)


def _sample(post_id: str, metric: str, value: float, hours: float) -> MetricSample:
    return MetricSample(
        platform="x",
        account="x:brand",
        post_id=post_id,
        metric=metric,
        value=value,
        fetched_at=T + timedelta(hours=hours),
    )


def test_samples_after_a_caller_rollback_go_to_their_own_post(tmp_path: Path) -> None:
    """The series created in the rolled-back transaction is created again; B's replies
    stay B's replies and A's likes A's."""
    conn = sqlite3.connect(tmp_path / "m.db")
    try:
        store = MetricsStore(conn)
        conn.execute("BEGIN")
        assert store.add([_sample("A", "likes", 5, 0)]) == 1
        conn.rollback()
        assert store.count() == 0
        assert store.add([_sample("A", "likes", 7, 1)]) == 1
        conn.commit()
        assert [(s.post_id, s.metric, s.value) for s in store.latest(post_id="A")] == [
            ("A", "likes", 7)
        ]
        assert store.add([_sample("B", "replies", 1, 2)]) == 1
        conn.commit()
        assert [(s.post_id, s.metric, s.value) for s in store.samples(post_id="B")] == [
            ("B", "replies", 1)
        ]
        # Every sample belongs to a series that exists.
        orphans = conn.execute(
            "SELECT COUNT(*) FROM metrics_samples AS x "
            "LEFT JOIN metrics_series AS s ON s.id = x.series_id WHERE s.id IS NULL"
        ).fetchone()[0]
        assert orphans == 0
        store.close()
    finally:
        conn.close()


def test_a_store_opened_on_a_file_enforces_the_series_key(tmp_path: Path) -> None:
    """On a file the store opens itself, foreign keys are on: a sample under a series id
    that does not exist is refused as a BrandkitError (nothing is stored)."""
    with MetricsStore(tmp_path / "m.db") as store:
        store.add([_sample("A", "likes", 5, 0)])
        conn = store._connection()
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        # A stale cache entry, as a rollback outside the store's knowledge would leave.
        key = next(iter(store._cache))
        store._cache[key][0] = 999
        with pytest.raises(BrandkitError, match="FOREIGN KEY"):
            store.add([_sample("A", "likes", 6, 1)])
        assert store.count() == 1
        # The failed write dropped the cache: the next add finds the real series.
        assert store.add([_sample("A", "likes", 6, 1)]) == 1
        assert [s.value for s in store.samples(post_id="A")] == [5, 6]
