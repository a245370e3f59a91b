"""A sample's ``available`` that is no truth value (``"false"`` from a hand-made import,
``None``) was taken for Python's truth of it: ``"false"`` stored the sample as available,
so it was never listed by `unavailable` and its reason was lost. It is a ConfigurationError
naming the field; a bool, numpy's bool (a DataFrame row's) and 0 or 1 are kept as a bool."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from brandkit.errors import ConfigurationError
from brandkit.metrics import MetricSample, MetricsStore

AT = datetime(2026, 3, 1, tzinfo=UTC)


def _sample(available: Any, post_id: str = "1") -> MetricSample:
    return MetricSample(
        platform="x",
        account="x:a",
        post_id=post_id,
        metric="likes",
        value=None,
        fetched_at=AT,
        available=available,
        reason="gone",
    )


@pytest.mark.parametrize("available", ["false", "true", "", None, 2, 0.0, [], b"0"])
def test_what_is_no_truth_value_is_refused(available: Any) -> None:
    with pytest.raises(ConfigurationError, match="MetricSample available must be"):
        _sample(available)


def test_truth_values_are_kept_as_bools(store: MetricsStore) -> None:
    np = pytest.importorskip("numpy")
    given = [False, True, 0, 1, np.bool_(False), np.bool_(True)]
    samples = [_sample(v, str(n)) for n, v in enumerate(given)]
    assert [s.available for s in samples] == [bool(v) for v in given]
    assert all(type(s.available) is bool for s in samples)
    store.add(samples)
    assert [u.series for u in store.unavailable()] == [3]
