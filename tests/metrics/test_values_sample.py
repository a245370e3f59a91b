"""A MetricSample holds a finite, non-negative number or None: anything else is refused when
the sample is made, so both stores only ever see values they keep alike."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from brandkit import ConfigurationError
from brandkit.metrics import MetricSample, MetricsStore

T = datetime(2026, 3, 2, 12, tzinfo=UTC)


def _sample(value: Any, metric: str = "likes") -> MetricSample:
    return MetricSample(
        platform="x", account="x:brand", post_id="1", metric=metric, value=value, fetched_at=T
    )


@pytest.mark.parametrize(
    "value",
    [
        -1,
        -0.5,
        -500.0,
        math.nan,
        math.inf,
        -math.inf,
        2**63,
        2**53 + 1,
        10**400,
        1e300,
        Fraction(10**400, 3),
        True,
        False,
        "7",
        b"7",
        Decimal("7"),
    ],
    ids=repr,
)
def test_impossible_values_are_refused_naming_the_metric(value: Any) -> None:
    """Negative, NaN, infinite, past 2**53, boolean and text values are a ConfigurationError
    that names the metric and the value given."""
    with pytest.raises(ConfigurationError) as caught:
        _sample(value, metric="reposts")
    message = str(caught.value)
    assert "reposts" in message and repr(value)[:50] in message


@pytest.mark.parametrize("value", [None, 0, 7, 0.0, 2.5, 2**53, float(2**53), Fraction(1, 2)])
def test_counts_and_fractions_are_kept(value: Any) -> None:
    """Counts, fractional values (a CSV holds floats) and None are kept as given."""
    assert _sample(value).value == value


def test_unavailable_samples_still_carry_no_value() -> None:
    """An unavailable sample has None and its reason."""
    s = MetricSample.unavailable(
        platform="x", account="x:brand", metric="likes", reason="gone", fetched_at=T
    )
    assert s.value is None and not s.available


@pytest.mark.parametrize("value", [-5, 2**63, math.nan])
def test_a_bad_value_never_reaches_the_store(value: Any, tmp_path: Path) -> None:
    """What once reached ``store.add`` (and was summed, or raised OverflowError there) is
    refused when the sample is made, so the store keeps what it had."""
    with MetricsStore(tmp_path / "m.db") as store:
        store.add([_sample(5)])
        with pytest.raises(ConfigurationError):
            store.add([_sample(5, metric="reposts"), _sample(value)])
        assert store.count() == 1
        assert [t.value for t in store.totals(metric="likes")] == [5]


def test_a_value_stored_before_values_were_checked_reads_as_unavailable(tmp_path: Path) -> None:
    """A store written by an earlier version may hold a negative count (the platform's,
    stored unchecked): its queries read it as unavailable, with what was stored, instead
    of failing on every read."""
    import sqlite3

    from brandkit import MetricsStore

    db = tmp_path / "old.db"
    when = datetime(2026, 3, 1, tzinfo=UTC)
    with MetricsStore(db) as store:
        store.add(
            [
                MetricSample(
                    platform="x",
                    account="x:b",
                    metric="likes",
                    value=4,
                    fetched_at=when,
                    post_id="1",
                )
            ]
        )
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE metrics_samples SET value = -500")
    with MetricsStore(db) as store:
        (sample,) = store.latest()
        assert sample.value is None and not sample.available
        assert sample.reason == "stored value -500.0 is not a count"


@pytest.mark.parametrize("year", [1900, 2026, 3000, 9999])
def test_fetched_at_is_stored_to_the_microsecond_in_any_year(
    store: MetricsStore, year: int
) -> None:
    """`add` turned ``fetched_at`` into microseconds through a float timestamp: from about
    the year 2300 the float's rounding carried a last microsecond into the next second, and
    the sample read back a second later than it was taken."""
    at = datetime(year, 6, 30, 23, 59, 59, 999_999, tzinfo=UTC)
    store.add(
        [
            MetricSample(
                platform="x", account="x:a", post_id="1", metric="likes", value=1, fetched_at=at
            )
        ]
    )
    (back,) = store.samples()
    assert back.fetched_at == at
    assert store.latest()[0].fetched_at == at
