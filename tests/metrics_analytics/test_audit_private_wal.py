"""The analytics copy is created ``0600`` as the store is ("metrics are private"), but DuckDB
wrote its write-ahead log beside it (``brandkit.db.duckdb.wal``, holding the samples of the
last refresh) readable by every user of the machine."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from brandkit.metrics import MetricSample, MetricsStore
from tests.metrics._data import at


def _sample(post: str, value: int) -> MetricSample:
    return MetricSample(
        platform="x", account="x:b", metric="likes", value=value, fetched_at=at(1), post_id=post
    )


def _shared(folder: Path) -> dict[str, str]:
    return {
        p.name: oct(stat.S_IMODE(p.stat().st_mode))
        for p in folder.iterdir()
        if p.name.startswith("brandkit.db") and stat.S_IMODE(p.stat().st_mode) & 0o077
    }


def test_the_copy_and_its_log_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    pytest.importorskip("duckdb")
    old = os.umask(0o022)
    try:
        with MetricsStore(tmp_path / "brandkit.db") as store:
            store.add([_sample("1", 4)])
            with store.analytics() as analytics:
                assert _shared(tmp_path) == {}
                store.add([_sample("2", 9)])
                analytics.refresh()
                assert len(analytics.latest()) == 2
                assert _shared(tmp_path) == {}
            assert _shared(tmp_path) == {}
    finally:
        os.umask(old)
