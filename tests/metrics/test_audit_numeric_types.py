"""A count given as another number type than int or float (numpy's, as a DataFrame row
gives them; a Fraction) is stored as the number it is. SQLite bound numpy's integers as
their bytes (a BLOB), which the store then read as "unavailable: stored value b'...' is
not a count", and refused a Fraction (ProgrammingError), where PostgreSQL stored both."""

from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction
from typing import Any

import pytest

from brandkit.metrics import MetricSample, MetricsStore

AT = datetime(2026, 3, 1, tzinfo=UTC)


def _values() -> list[tuple[Any, float]]:
    np = pytest.importorskip("numpy")
    return [
        (np.int64(5), 5),
        (np.uint32(7), 7),
        (np.float32(2.5), 2.5),
        (np.float64(3.25), 3.25),
        (Fraction(9, 1), 9),
        (Fraction(1, 4), 0.25),
    ]


def test_other_number_types_are_stored_as_their_number(store: MetricsStore) -> None:
    values = _values()
    samples = [
        MetricSample(
            platform="x", account="x:a", post_id=str(n), metric="likes", value=v, fetched_at=AT
        )
        for n, (v, _) in enumerate(values)
    ]
    assert store.add(samples) == len(values)
    got = {s.post_id: s for s in store.latest()}
    for n, (_, expected) in enumerate(values):
        sample = got[str(n)]
        assert sample.available and sample.value == expected, sample
    assert store.unavailable() == []
    assert sum(t.value or 0 for t in store.totals()) == sum(e for _, e in values)
    assert all(type(s.value) in (int, float) for s in samples)


def test_an_integer_type_stays_an_integer() -> None:
    np = pytest.importorskip("numpy")
    sample = MetricSample(
        platform="x", account="x:a", metric="likes", value=np.int64(3), fetched_at=AT
    )
    assert sample.value == 3 and type(sample.value) is int
