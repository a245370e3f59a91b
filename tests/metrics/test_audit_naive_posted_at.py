"""A naive ``posted_at`` was taken as UTC without a word while a naive ``fetched_at`` was
refused: a post made at 09:00 Berlin time from a local ``datetime.now()`` was stored an
hour or two off, and its best-times slot with it. Both are refused alike now, with an error
that is a ConfigurationError (as every other field's) and still the documented ValueError,
saying to add tzinfo=UTC; aware times are kept, in UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from brandkit.errors import ConfigurationError
from brandkit.metrics import MetricSample

AT = datetime(2026, 3, 1, 9, tzinfo=UTC)


def _sample(**times: datetime) -> MetricSample:
    return MetricSample(platform="x", account="x:a", metric="likes", value=1, post_id="1", **times)


@pytest.mark.parametrize("field", ["posted_at", "fetched_at"])
def test_a_naive_time_is_refused_saying_how_to_fix_it(field: str) -> None:
    times = {"fetched_at": AT, field: datetime(2026, 3, 1, 8)}
    with pytest.raises(ConfigurationError, match=f"{field} .*tzinfo=UTC") as info:
        _sample(**times)
    # Whoever caught the documented ValueError of a naive fetched_at still does.
    assert isinstance(info.value, ValueError)


def test_aware_times_are_kept_in_utc() -> None:
    berlin = timezone(timedelta(hours=1))
    sample = _sample(fetched_at=AT, posted_at=datetime(2026, 3, 1, 9, tzinfo=berlin))
    assert sample.posted_at == datetime(2026, 3, 1, 8, tzinfo=UTC)
    assert sample.posted_at.tzinfo is UTC
    assert _sample(fetched_at=AT).posted_at is None
