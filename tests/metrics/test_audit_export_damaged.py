"""A value stored before values were checked (a negative count, or text in SQLite's loosely
typed column) is exported as `samples()` reads it: unavailable, with the reason. The CSV
reads back and the DataFrame builds, instead of a CSV that `read_csv` refuses, or an
``AttributeError`` from deep in the writer."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import pytest

from brandkit.metrics import MetricSample, MetricsStore, read_csv
from tests.metrics._data import at


def _sample(post: str, value: int) -> MetricSample:
    return MetricSample(
        platform="x", account="x:b", metric="likes", value=value, fetched_at=at(1), post_id=post
    )


def _store_with(db: Path | str, damage: str) -> None:
    with MetricsStore(db) as store:
        store.add([_sample("1", 4), _sample("2", 9)])
        prefix = getattr(store, "prefix", "")
    update = f"UPDATE {prefix}metrics_samples SET value = {damage} WHERE value = 9"
    if isinstance(db, Path):
        with sqlite3.connect(db) as conn:
            conn.execute(update)
        conn.close()
    else:
        import psycopg

        with psycopg.connect(db, autocommit=True) as pg:
            assert pg.execute(update).rowcount == 1


def _csv_round_trip(db: Path | str) -> None:
    with MetricsStore(db) as store:
        expected = list(store.samples())
        buffer = io.StringIO()
        assert store.to_csv(buffer) == 2
    buffer.seek(0)
    assert sorted(read_csv(buffer), key=lambda s: s.post_id or "") == expected
    damaged = expected[1]
    assert (damaged.value, damaged.available) == (None, False)


def test_a_negative_stored_value_exports_as_samples_reads_it(db: Path | str) -> None:
    _store_with(db, "-500")
    _csv_round_trip(db)


def test_a_text_stored_value_exports_as_samples_reads_it(tmp_path: Path) -> None:
    db = tmp_path / "brandkit.db"
    _store_with(db, "'n/a'")
    _csv_round_trip(db)


def test_the_dataframe_reads_a_damaged_value_as_unavailable(tmp_path: Path) -> None:
    pytest.importorskip("pandas")
    db = tmp_path / "brandkit.db"
    _store_with(db, "'n/a'")
    with MetricsStore(db) as store:
        frame = store.to_dataframe()
    damaged = frame[frame["post_id"] == "2"].iloc[0]
    assert damaged["available"] is False or not damaged["available"]
    assert damaged["reason"] == "stored value 'n/a' is not a count"
    assert list(frame["value"].isna()) == [False, True]
