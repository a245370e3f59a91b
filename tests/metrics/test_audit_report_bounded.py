"""The report's tables stay bounded however much the store holds, as the raw numbers do
(`RAW_ROWS`): a platform whose reason names each post (``"post 1234 not found"``) gave the
unavailable table a row per post, a platform's reason of megabytes went in whole, and one
campaign per post gave the totals a row per post."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from brandkit.metrics import MetricSample, MetricsStore, render_report
from tests.metrics._data import at

NOW = datetime(2026, 3, 30, tzinfo=UTC)
POSTS = 1500


def _rows(page: str, table: str) -> int:
    """The rows of every table of class ``table``, their headers' left out."""
    found = re.findall(rf'<table class="{table}[^"]*">(.*?)</table>', page, re.S)
    assert found, table
    return sum(body.count("<tr>") - 1 for body in found)


def test_a_reason_per_post_and_a_campaign_per_post_stay_bounded(store: MetricsStore) -> None:
    samples = []
    for n in range(POSTS):
        common = {"platform": "x", "account": "x:brand", "post_id": str(n), "fetched_at": at(1)}
        samples.append(
            MetricSample(metric="likes", value=n, campaign=f"campaign-{n}", **common)  # type: ignore[arg-type]
        )
        samples.append(
            MetricSample.unavailable(
                metric="impressions", reason=f"post {n} not found " + "x" * 5000, **common
            )
        )
    store.add(samples)
    page = render_report(store, now=NOW)
    assert _rows(page, "unavailable") <= 100
    assert _rows(page, "totals") <= 100 + 1  # the platforms' table has one row, x
    assert len(page) < 2_000_000
    assert "brandkit metrics export" in page
