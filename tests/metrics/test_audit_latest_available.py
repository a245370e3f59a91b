"""A post whose newest reading of a metric is "unavailable" (deleted on the platform, or X
no longer giving clicks after 30 days) keeps its last available value in `engagement`,
`totals` and the report, as it does in `series`; the unavailable reading is still counted
as such (`Total.unavailable`, `unavailable()`, `latest()`)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from brandkit.metrics import ENGAGEMENT_METRICS, MetricSample, MetricsStore, render_report

T = datetime(2026, 3, 2, 12, tzinfo=UTC)
GONE = "the status was not returned: deleted, or not visible to this account"


def _read(post_id: str, hours: float, **values: float | None) -> list[MetricSample]:
    """One reading of a post; a value of ``None`` is an unavailable sample."""
    at = T + timedelta(hours=hours)
    out = []
    for metric, value in values.items():
        if value is None:
            out.append(
                MetricSample.unavailable(
                    platform="x",
                    account="x:brand",
                    post_id=post_id,
                    metric=metric,
                    reason=GONE,
                    fetched_at=at,
                )
            )
        else:
            out.append(
                MetricSample(
                    platform="x",
                    account="x:brand",
                    post_id=post_id,
                    metric=metric,
                    value=value,
                    fetched_at=at,
                    campaign="spring",
                    posted_at=T,
                )
            )
    return out


def _samples() -> list[MetricSample]:
    """Post A read twice; post B read once, then deleted (every metric unavailable at +2h);
    followers 1000 at +0h and 2000 at +2h."""
    followers = [
        MetricSample(platform="x", account="x:brand", metric="followers", value=v, fetched_at=T + h)
        for v, h in ((1000, timedelta(0)), (2000, timedelta(hours=2)))
    ]
    return [
        *followers,
        *_read("A", 1, likes=10, impressions=100),
        *_read("A", 2, likes=12, impressions=120),
        *_read("B", 1, likes=30, reposts=3, impressions=300),
        *_read("B", 2, likes=None, reposts=None, impressions=None),
    ]


@pytest.fixture
def gone(store: MetricsStore) -> MetricsStore:
    store.add(_samples())
    return store


def test_engagement_keeps_the_last_available_values(gone: MetricsStore) -> None:
    """engagement() sums B's last available likes and reposts and divides by its last
    available impressions, read at +1h (the followers of that time)."""
    rows = {e.post_id: e for e in gone.engagement()}
    assert rows["A"].engagements == 12 and rows["A"].impressions == 120
    b = rows["B"]
    assert (b.engagements, b.impressions, b.rate, b.basis) == (33, 300, 0.11, "impressions")
    assert b.fetched_at == T + timedelta(hours=1)
    assert b.followers == 1000
    # The same total as the running sum of series().
    assert sum(e.engagements or 0 for e in rows.values()) == 45
    assert gone.series(ENGAGEMENT_METRICS)[-1].value == 45


def test_totals_keep_the_value_and_count_the_unavailable_reading(gone: MetricsStore) -> None:
    """totals(): the value is the sum of last available values; B's latest reading still
    counts as unavailable."""
    [likes] = gone.totals(metric="likes")
    assert (likes.group, likes.value, likes.posts, likes.unavailable) == ("x", 42, 2, 1)
    [reposts] = gone.totals(metric="reposts", by="campaign")
    assert (reposts.group, reposts.value, reposts.posts, reposts.unavailable) == (
        "spring",
        3,
        1,
        1,
    )
    # The unavailable reading is what latest() and unavailable() report.
    [b_likes] = gone.latest(post_id="B", metric="likes")
    assert (b_likes.value, b_likes.available, b_likes.reason) == (None, False, GONE)
    assert {(u.metric, u.series) for u in gone.unavailable()} == {
        ("likes", 1),
        ("reposts", 1),
        ("impressions", 1),
    }


def test_the_period_bounds_the_available_value(gone: MetricsStore) -> None:
    """Only readings in the period count: from +1.5h B has no available value left; until
    +1.5h its latest reading is still available."""
    later = T + timedelta(hours=1.5)
    [likes] = gone.totals(metric="likes", since=later)
    assert (likes.value, likes.posts, likes.unavailable) == (12, 1, 1)
    rows = {e.post_id: e.engagements for e in gone.engagement(since=later)}
    assert rows == {"A": 12, "B": None}
    [likes] = gone.totals(metric="likes", until=later)
    assert (likes.value, likes.posts, likes.unavailable) == (40, 2, 0)
    rows = {e.post_id: e.engagements for e in gone.engagement(until=later)}
    assert rows == {"A": 10, "B": 33}


def test_best_times_count_the_deleted_post(gone: MetricsStore) -> None:
    """best_times() reads engagement(): the deleted post's engagements are in its slot."""
    [slot] = gone.best_times()
    assert (slot.posts, slot.mean_engagements) == (2, 22.5)


def test_report_totals_and_top_posts_keep_the_values(gone: MetricsStore) -> None:
    """The report's totals show 42 likes over two posts (one n/a now), and B in the top
    posts with its 33 engagements."""
    html = render_report(gone)
    totals = html[html.index('id="totals"') :]
    row = re.search(r"<tr><td[^>]*>x</td><td data-v=\"(\d+)\">", totals)
    assert row is not None and row.group(1) == "2"
    assert 'data-v="42.0">42 (1 n/a)<' in totals
    top = html[html.index('id="top-posts"') : html.index('id="totals"')]
    assert "33" in top


def test_the_analytics_copy_agrees(tmp_path: Path) -> None:
    """The DuckDB path (its own tables and statements) gives the store's answers, with and
    without a period."""
    pytest.importorskip("duckdb")
    with MetricsStore(tmp_path / "m.db") as store:
        store.add(_samples())
        with store.analytics() as analytics:
            later = T + timedelta(hours=1.5)
            for where in ({}, {"since": later}, {"until": later}, {"campaign": "spring"}):
                assert analytics.engagement(**where) == store.engagement(**where), where
                assert analytics.totals(**where) == store.totals(**where), where
                assert analytics.best_times(**where) == store.best_times(**where), where
            assert {e.post_id: e.engagements for e in analytics.engagement()} == {
                "A": 12,
                "B": 33,
            }
            [likes] = analytics.totals(metric="likes")
            assert (likes.value, likes.posts, likes.unavailable) == (42, 2, 1)
