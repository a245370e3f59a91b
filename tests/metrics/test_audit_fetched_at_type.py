"""A sample's ``fetched_at`` that is no datetime (ISO text from an import, a date, epoch
seconds) is refused with a ConfigurationError naming the field, as the other fields are;
it was an AttributeError ('str' object has no attribute 'tzinfo') from inside attrs."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from brandkit.errors import ConfigurationError
from brandkit.metrics import MetricSample


@pytest.mark.parametrize(
    "fetched_at", ["2026-03-01T09:00:00Z", date(2026, 3, 1), 1_772_355_600, 1.5, None]
)
def test_a_fetched_at_that_is_no_datetime_is_a_configuration_error(fetched_at: Any) -> None:
    with pytest.raises(ConfigurationError, match="fetched_at must be an aware datetime") as info:
        MetricSample(platform="x", account="x:a", metric="likes", value=1, fetched_at=fetched_at)
    assert type(fetched_at).__name__ in str(info.value)


def test_a_naive_fetched_at_is_still_the_documented_value_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        MetricSample(
            platform="x", account="x:a", metric="likes", value=1, fetched_at=datetime(2026, 3, 1)
        )


def test_an_aware_fetched_at_is_kept_in_utc() -> None:
    at = datetime(2026, 3, 1, 9, tzinfo=UTC)
    sample = MetricSample(platform="x", account="x:a", metric="likes", value=1, fetched_at=at)
    assert sample.fetched_at == at and sample.fetched_at.tzinfo is UTC
