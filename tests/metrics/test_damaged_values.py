"""A value stored before values were checked (a platform's negative count): every query reads
it as `latest` does, as unavailable, on SQLite, PostgreSQL and the DuckDB copy. It is left out
of `totals`, `series` and `engagement` (a post's earlier count still counts, as for a deleted
post), listed by `unavailable`, and `Analytics.latest` says so too."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg
import pytest

from brandkit.metrics import MetricSample, MetricsStore, Total
from brandkit.metrics._store import MetricsQueries
from tests.metrics._data import at

REASON = "stored value -500.0 is not a count"


def _sample(post: str, value: int, hours: float) -> MetricSample:
    return MetricSample(
        platform="x",
        account="x:b",
        metric="likes",
        value=value,
        fetched_at=at(hours),
        post_id=post,
    )


def _damaged_store(db: Path | str) -> None:
    """Post 1 has 4 likes; post 2 had 7, then a reading of 9 that an older version stored
    as -500 (written here behind the store's back)."""
    with MetricsStore(db) as store:
        store.add([_sample("1", 4, 1), _sample("2", 7, 1), _sample("2", 9, 2)])
        prefix = getattr(store, "prefix", "")
    update = f"UPDATE {prefix}metrics_samples SET value = -500 WHERE value = 9"
    if isinstance(db, Path):
        with sqlite3.connect(db) as conn:
            conn.execute(update)
        conn.close()
    else:
        with psycopg.connect(db, autocommit=True) as pg:
            assert pg.execute(update).rowcount == 1


def _check(store: MetricsQueries) -> None:
    damaged = [s for s in store.latest() if s.post_id == "2"]
    assert [(s.value, s.available, s.reason) for s in damaged] == [(None, False, REASON)]
    assert store.totals(metric="likes") == [
        Total(group="x", metric="likes", value=11, posts=2, unavailable=1)
    ]
    assert [p.value for p in store.series("likes")] == [11]
    assert {e.post_id: e.engagements for e in store.engagement()} == {"1": 4, "2": 7}
    (missing,) = store.unavailable()
    assert (missing.metric, missing.reason, missing.series) == ("likes", REASON, 1)


def test_every_query_reads_a_damaged_value_as_latest_does(db: Path | str) -> None:
    _damaged_store(db)
    with MetricsStore(db) as store:
        _check(store)


@pytest.mark.parametrize("period", [False, True], ids=["copy", "period"])
def test_the_analytics_copy_reads_it_as_the_store_does(tmp_path: Path, period: bool) -> None:
    pytest.importorskip("duckdb")
    from brandkit.metrics import Analytics

    db = tmp_path / "brandkit.db"
    _damaged_store(db)
    with Analytics(db, tmp_path / "copy.duckdb") as analytics:
        if not period:
            _check(analytics)
            return
        # With a period, the queries read the history instead of the copy's derived tables.
        since = at(0)
        (damaged,) = [s for s in analytics.latest(since=since) if s.post_id == "2"]
        assert (damaged.value, damaged.available, damaged.reason) == (None, False, REASON)
        assert [t.value for t in analytics.totals(metric="likes", since=since)] == [11]
        assert [p.value for p in analytics.series("likes", since=since)] == [11]
        assert {e.post_id: e.engagements for e in analytics.engagement(since=since)} == {
            "1": 4,
            "2": 7,
        }


def test_a_copy_made_by_an_older_version_is_rebuilt_on_refresh(tmp_path: Path) -> None:
    """An older brandkit's copy kept each available sample's change for `series`, a damaged
    one included, and a refresh recomputes only the changes after the last one copied: the
    copy's derived tables say by which rules they were built, and older ones are rebuilt."""
    duckdb = pytest.importorskip("duckdb")
    from brandkit.metrics import Analytics

    db, copy = tmp_path / "brandkit.db", tmp_path / "copy.duckdb"
    _damaged_store(db)
    with MetricsStore(db) as store:
        store.add([_sample("1", 5, 3)])
    Analytics(db, copy).close()
    with duckdb.connect(str(copy)) as duck:
        # As the older version left it: the damaged reading among the changes, no rules.
        duck.execute(
            "INSERT INTO metrics_changes SELECT x.series_id, x.fetched_at, x.value, 7 "
            "FROM metrics_samples AS x WHERE x.value < 0"
        )
        duck.execute("DELETE FROM metrics_meta WHERE key = 'derived'")
    with Analytics(db, copy) as analytics:
        assert [p.value for p in analytics.series("likes")] == [11, 12]
