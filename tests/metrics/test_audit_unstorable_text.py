"""Text no backend can hold as it is: a NUL (PostgreSQL refuses it in text, SQLite keeps it)
or a lone surrogate (no UTF-8 encodes it; ``json.loads`` of a platform's ``"\\ud800"`` gives
one). A platform's own words (``reason``, ``raw_name``) keep the rest of their text with
U+FFFD in place, so the same sample is stored on every backend instead of PostgreSQL failing
the whole ``add``; a name that identifies a series is refused where the sample is made."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from brandkit.errors import ConfigurationError
from brandkit.metrics import MetricSample, MetricsStore

AT = datetime(2026, 3, 2, tzinfo=UTC)


def test_a_platform_reason_with_nul_or_a_lone_surrogate_is_stored(store: MetricsStore) -> None:
    sample = MetricSample.unavailable(
        platform="x",
        account="x:brand",
        metric="impressions",
        reason="needs\x00elevated access \ud800",
        raw_name="impression_count\udfff",
        fetched_at=AT,
        post_id="1",
    )
    assert sample.reason == "needs\ufffdelevated access \ufffd"
    assert store.add([sample]) == 1
    (stored,) = store.latest()
    assert (stored.reason, stored.raw_name) == (
        "needs\ufffdelevated access \ufffd",
        "impression_count\ufffd",
    )


@pytest.mark.parametrize("name", ["platform", "account", "metric", "post_id", "campaign"])
@pytest.mark.parametrize("bad", ["a\x00b", "a\ud83d"], ids=["nul", "surrogate"])
def test_a_name_with_nul_or_a_lone_surrogate_is_refused(name: str, bad: str) -> None:
    fields: dict[str, object] = {
        "platform": "x",
        "account": "x:brand",
        "metric": "likes",
        "value": 1,
        "fetched_at": AT,
        "post_id": "1",
    }
    fields[name] = bad
    with pytest.raises(ConfigurationError, match=name):
        MetricSample(**fields)  # type: ignore[arg-type]
