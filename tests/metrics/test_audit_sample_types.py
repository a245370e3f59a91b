"""A sample whose names are not text is refused where it is made, with a `ConfigurationError`
naming the field, instead of stored one way on SQLite (``post_id=123`` as ``"123"``) and
refused another on PostgreSQL (``COALESCE types smallint and text``), or failing the whole
``add`` with a ``NOT NULL constraint`` that reads as a database failure."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from brandkit.errors import ConfigurationError
from brandkit.metrics import Metric, MetricSample

AT = datetime(2026, 3, 2, tzinfo=UTC)
BAD: list[tuple[str, Any]] = [
    ("platform", None),
    ("account", 5),
    ("metric", None),
    ("post_id", 123),
    ("raw_name", 2),
    ("reason", 3),
    ("delivery_id", 7),
    ("campaign", 5),
    ("posted_at", "2026-03-01"),
]


@pytest.mark.parametrize(("name", "value"), BAD, ids=[f"{n}={v!r}" for n, v in BAD])
def test_a_field_of_the_wrong_type_is_refused(name: str, value: Any) -> None:
    fields: dict[str, Any] = {
        "platform": "x",
        "account": "x:brand",
        "metric": "likes",
        "value": 1,
        "fetched_at": AT,
        "post_id": "1",
    }
    fields[name] = value
    with pytest.raises(ConfigurationError, match=name):
        MetricSample(**fields)


def test_text_and_the_metric_names_are_taken() -> None:
    sample = MetricSample(
        platform="x",
        account="x:brand",
        metric=Metric.LIKES,
        value=1,
        fetched_at=AT,
        post_id="1",
        posted_at=AT,
    )
    assert sample.metric == "likes"
