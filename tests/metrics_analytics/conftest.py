"""Fixtures: one SQLite store with the edge-case data and its DuckDB analytics copy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from brandkit.metrics import Analytics, MetricsStore
from tests.metrics_analytics._data import edge_samples

pytest.importorskip("duckdb", reason="the analytics extra: pip install 'brandkit[analytics]'")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[MetricsStore]:
    """A store on a real file holding `edge_samples`."""
    with MetricsStore(tmp_path / "brandkit.db") as s:
        s.add(edge_samples())
        yield s


@pytest.fixture
def analytics(store: MetricsStore) -> Iterator[Analytics]:
    """The store's analytics path, refreshed."""
    with store.analytics() as a:
        yield a
