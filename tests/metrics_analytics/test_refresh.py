"""The copy follows the store: new samples, same-instant samples, back-fills, restamps."""

from __future__ import annotations

import os
import sqlite3
import stat
import sys
from datetime import timedelta
from pathlib import Path

import attrs
import pytest

from brandkit.errors import ConfigurationError
from brandkit.metrics import Analytics, MetricSample, MetricsStore
from tests.metrics_analytics._data import START, edge_samples


def _same(store: MetricsStore, analytics: Analytics) -> None:
    assert analytics.count() == store.count()
    assert analytics.latest(scope="all") == store.latest(scope="all")
    assert analytics.totals("campaign") == store.totals("campaign")
    assert analytics.engagement() == store.engagement()


def test_new_samples_are_copied_and_only_they(store: MetricsStore, analytics: Analytics) -> None:
    total = store.count()
    later = [
        attrs.evolve(s, fetched_at=s.fetched_at + timedelta(days=90)) for s in edge_samples()[:500]
    ]
    assert store.add(later) == 500
    assert analytics.count() == total  # answers as of the last refresh
    copied = analytics.refresh()
    # Only the new samples and those of the newest instant already copied, not the history.
    assert 500 <= copied < 600
    _same(store, analytics)


def test_samples_of_the_newest_instant_added_later_are_copied(
    store: MetricsStore, analytics: Analytics
) -> None:
    newest = store.span()
    assert newest is not None
    # Another metric of a post read at exactly the newest time copied so far.
    extra = MetricSample(
        platform="x",
        account="x:brand",
        post_id="p0",
        metric="link_clicks",
        value=7,
        fetched_at=newest[1],
    )
    assert store.add([extra]) == 1
    assert analytics.refresh() < 10  # the newest instant again, not a full copy
    _same(store, analytics)
    got = analytics.latest(metric="link_clicks")
    assert [(s.post_id, s.value, s.fetched_at) for s in got] == [("p0", 7, newest[1])]


def test_a_backfilled_history_is_copied_in_full(store: MetricsStore, analytics: Analytics) -> None:
    older = [
        attrs.evolve(s, fetched_at=s.fetched_at - timedelta(days=365), post_id=f"old-{s.post_id}")
        for s in edge_samples()[:300]
        if s.post_id is not None
    ]
    assert store.add(older) == len(older)
    copied = analytics.refresh()
    assert copied == store.count()
    _same(store, analytics)


def test_restamped_posts_are_seen(store: MetricsStore, analytics: Analytics) -> None:
    first = next(s for s in store.latest() if s.post_id == "p1")
    # A later sample of the post brings a campaign it did not have: every metric of the
    # post moves to it, in the store and in the copy.
    store.add([attrs.evolve(first, campaign="moved", fetched_at=first.fetched_at + timedelta(1))])
    analytics.refresh()
    _same(store, analytics)
    assert {t.group for t in analytics.totals("campaign", campaign="moved")} == {"moved"}


def test_reopening_the_copy_copies_only_what_is_new(tmp_path: Path) -> None:
    with MetricsStore(tmp_path / "m.db") as store:
        store.add(edge_samples())
        with Analytics(store.path or "") as a:
            assert a.count() == store.count()
        store.add(
            [
                MetricSample(
                    platform="x",
                    account="x:brand",
                    metric="followers",
                    value=1,
                    fetched_at=START + timedelta(days=400),
                )
            ]
        )
        with Analytics(tmp_path / "m.db", tmp_path / "m.db.duckdb", refresh=False) as a:
            assert a.count() == store.count() - 1  # not refreshed yet
            # The new sample and the newest instant already copied (one sample) again.
            assert a.refresh() == 2
            _same(store, a)
        assert stat.S_IMODE(os.stat(tmp_path / "m.db.duckdb").st_mode) == 0o600


def test_an_empty_store_gives_empty_answers(tmp_path: Path) -> None:
    with MetricsStore(tmp_path / "empty.db") as store, store.analytics(":memory:") as a:
        assert a.count() == 0
        assert a.span() is None
        assert a.latest() == []
        assert a.totals() == []
        assert a.series("likes") == []


# -- errors ---------------------------------------------------------------------------------


def test_a_file_that_is_not_sqlite_is_a_configuration_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not a database, just text " * 200)
    with pytest.raises(ConfigurationError, match="not a SQLite metrics store"):
        Analytics(path, tmp_path / "a.duckdb")


def test_a_sqlite_file_without_metrics_is_a_configuration_error(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (x)")
    conn.close()
    with pytest.raises(ConfigurationError, match="not a brandkit metrics store"):
        Analytics(path, tmp_path / "a.duckdb")


def test_a_newer_store_is_a_configuration_error(tmp_path: Path) -> None:
    path = tmp_path / "newer.db"
    MetricsStore(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE metrics_meta SET value = '99' WHERE key = 'schema_version'")
    conn.close()
    with pytest.raises(ConfigurationError, match="upgrade brandkit"):
        Analytics(path, tmp_path / "a.duckdb")


def test_a_missing_store_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="does not exist"):
        Analytics(tmp_path / "nowhere.db", tmp_path / "a.duckdb")
    assert not (tmp_path / "nowhere.db").exists()


def test_a_store_without_a_file_is_a_configuration_error() -> None:
    with MetricsStore(":memory:") as store, pytest.raises(ConfigurationError, match="file"):
        store.analytics()


def test_a_closed_copy_is_a_configuration_error(analytics: Analytics) -> None:
    analytics.close()
    with pytest.raises(ConfigurationError, match="closed"):
        analytics.count()
    with pytest.raises(ConfigurationError, match="closed"):
        analytics.refresh()


def test_without_duckdb_the_error_says_what_to_install(
    store: MetricsStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "duckdb", None)  # makes ``import duckdb`` fail
    with pytest.raises(ConfigurationError, match=r"pip install 'brandkit\[analytics\]'"):
        store.analytics()


def test_a_copy_of_another_store_is_replaced(tmp_path: Path) -> None:
    copy = tmp_path / "shared.duckdb"
    with MetricsStore(tmp_path / "one.db") as one, MetricsStore(tmp_path / "two.db") as two:
        one.add(edge_samples(seed=1, posts=10))
        # The same samples with other values: the same times and count, so only knowing
        # which store the copy came from tells them apart.
        two.add(attrs.evolve(s, value=(s.value or 0) + 1) for s in edge_samples(seed=1, posts=10))
        assert one.count() == two.count()
        with one.analytics(copy) as a:
            _same(one, a)
        with two.analytics(copy) as a:
            _same(two, a)
