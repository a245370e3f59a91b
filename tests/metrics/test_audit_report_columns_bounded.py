"""The report's raw-numbers and totals tables had a column per distinct metric name: a
platform (or an import) whose metric names carry a date or a post id ("views_2026_03_01",
...) made a table thousands of columns wide. The canonical metrics keep their columns, the
platforms' own names the columns left (those most posts carry), and a note says how many
were left out and where they all are."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from brandkit.metrics import MetricSample, MetricsStore, render_report
from brandkit.metrics._report import METRIC_COLUMNS

AT = datetime(2026, 3, 2, 9, tzinfo=UTC)
NOW = datetime(2026, 3, 30, tzinfo=UTC)


def _sample(post: str, metric: str, value: int = 1) -> MetricSample:
    return MetricSample(
        platform="x", account="x:brand", metric=metric, value=value, fetched_at=AT, post_id=post
    )


def _head(page: str, table: str) -> list[str]:
    found = re.search(rf'<table class="{table} sortable"><thead><tr>(.*?)</tr>', page)
    assert found is not None, table
    return re.findall(r"<th[^>]*>([^<]*)</th>", found.group(1))


def test_columns_are_bounded_the_canonical_ones_kept(store: MetricsStore) -> None:
    many = [f"daily_{i:03d}" for i in range(300)]
    store.add(
        [
            _sample("1", "likes", 5),
            _sample("1", "impressions", 50),
            *(_sample("1", m) for m in many),
            # Carried by two posts: chosen before the names one post carries.
            *(_sample("2", m) for m in many[-3:]),
        ]
    )
    page = render_report(store, now=NOW)
    raw = _head(page, "raw")
    metrics = raw[5:-2]  # platform, account, post, campaign, posted ... rate, basis
    assert len(metrics) == METRIC_COLUMNS
    assert metrics[:2] == ["impressions", "likes"]
    custom = [m.replace(" ", "_") for m in metrics[2:]]
    assert custom == sorted([*many[-3:], *many[: METRIC_COLUMNS - 5]])
    left = 300 - (METRIC_COLUMNS - 2)
    assert f"{left} more metrics" in page.split('id="raw"', 1)[1]
    totals = _head(page, "totals")
    assert totals[2:] == metrics
    assert f"{left} more metrics" in page.split('id="totals"', 1)[1].split("</section>")[0]


def test_a_few_metrics_have_every_column(store: MetricsStore) -> None:
    store.add([_sample("1", "likes"), _sample("1", "daily_views")])
    page = render_report(store, now=NOW)
    assert _head(page, "raw")[5:-2] == ["likes", "daily views"]
    assert "more metrics" not in page
