"""`add` takes MetricSample objects. Something else (a dict, the column names a DataFrame
iterates over, None from a list with holes) failed with AttributeError ('dict' object has
no attribute 'platform') from inside the ingest loop; it is a ConfigurationError naming
what was given and where samples come from, nothing of the call is stored, on every
backend and in `aadd`."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from brandkit.errors import ConfigurationError
from brandkit.metrics import MetricSample, MetricsStore

GOOD = MetricSample("x", "x:a", "likes", 1, datetime(2026, 3, 1, tzinfo=UTC), "1")


@pytest.mark.parametrize("bad", [{"platform": "x"}, "platform", None, ("x", "x:a", "likes")])
def test_what_is_no_sample_is_refused_and_nothing_is_stored(store: MetricsStore, bad: Any) -> None:
    with pytest.raises(ConfigurationError, match="add\\(\\) takes MetricSample objects"):
        store.add([GOOD, bad])
    assert store.count() == 0
    with pytest.raises(ConfigurationError, match=type(bad).__name__):
        asyncio.run(store.aadd([GOOD, bad]))
    assert store.count() == 0
    assert store.add([GOOD]) == 1
