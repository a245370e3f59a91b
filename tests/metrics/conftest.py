"""Fixtures for the metrics tests: stores on real SQLite files in tmp_path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from brandkit.metrics import MetricsStore
from tests.metrics._data import demo_samples, small_samples


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """The path of a new metrics database file."""
    return tmp_path / "brandkit.db"


@pytest.fixture
def store(db: Path) -> Iterator[MetricsStore]:
    """An empty store on a real file."""
    with MetricsStore(db) as s:
        yield s


@pytest.fixture
def small(store: MetricsStore) -> MetricsStore:
    """The store holding :func:`small_samples` (expectations worked out by hand)."""
    store.add(small_samples())
    return store


@pytest.fixture
def demo(store: MetricsStore) -> MetricsStore:
    """The store holding the realistic demo data set."""
    store.add(demo_samples())
    return store
