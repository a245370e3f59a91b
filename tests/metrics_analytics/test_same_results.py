"""Every query gives the analytics path exactly the SQLite store's answer."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from brandkit.metrics import ENGAGEMENT_METRICS, Analytics, MetricsQueries, MetricsStore
from brandkit.metrics._report import render_report
from tests.metrics_analytics._data import AWKWARD, START

Query = Callable[[MetricsQueries], Any]
MID = START + timedelta(days=12)
END = START + timedelta(days=25)

QUERIES: dict[str, Query] = {
    "count": lambda s: s.count(),
    "count posts": lambda s: s.count(scope="posts"),
    "count account since": lambda s: s.count(scope="account", since=MID),
    "count metric list": lambda s: s.count(metric=["likes", "shares"], platform="x"),
    "span": lambda s: s.span(),
    "span none": lambda s: s.span(platform="nowhere"),
    "span campaign empty text": lambda s: s.span(campaign=""),
    "latest": lambda s: s.latest(),
    "latest all": lambda s: s.latest(scope="all"),
    "latest until": lambda s: s.latest(until=MID),
    "latest since until text": lambda s: s.latest(
        since="2026-01-05", until="2026-01-20T12:00+09:00"
    ),
    "latest campaign": lambda s: s.latest(campaign=AWKWARD[0]),
    "latest post": lambda s: s.latest(post_id="p7", metric="likes"),
    "latest followers": lambda s: s.latest(metric="followers"),
    "posts": lambda s: s.posts(),
    "posts campaign": lambda s: s.posts(campaign=AWKWARD[0]),
    "posts since until text": lambda s: s.posts(since="2026-01-05", until="2026-01-20T12:00+09:00"),
    "latest_of top and bottom": lambda s: s.latest_of(s.posts()[:5] + s.posts()[-5:]),
    "latest_of campaign until": lambda s: s.latest_of(s.posts()[::3], campaign="", until=MID),
    "series post": lambda s: s.series("likes", post_id="p3"),
    "series no metric": lambda s: s.series([], interval=timedelta(days=1)),
    "latest no metric": lambda s: s.latest(metric=[]),
    "series engagement day": lambda s: s.series(ENGAGEMENT_METRICS, interval=timedelta(days=1)),
    "series engagement hour x": lambda s: s.series(
        ENGAGEMENT_METRICS, platform="x", interval=timedelta(hours=1)
    ),
    "series 7 minutes": lambda s: s.series("likes", interval=timedelta(minutes=7)),
    "series campaign": lambda s: s.series("likes", campaign="naïve, 日本語 ✓"),
    "series followers": lambda s: s.series("followers", account="x:brand"),
    "series followers period": lambda s: s.series("followers", since=MID, until=END),
    "series impressions unavailable": lambda s: s.series("impressions", platform="instagram"),
    "series all scope": lambda s: s.series("likes", scope="all", until=END),
    "totals platform": lambda s: s.totals(),
    "totals campaign": lambda s: s.totals("campaign"),
    "totals account": lambda s: s.totals("account", metric=["likes", "impressions"]),
    "totals until": lambda s: s.totals("campaign", until=MID),
    "engagement": lambda s: s.engagement(),
    "engagement mastodon": lambda s: s.engagement(platform="mastodon", since=MID),
    "engagement campaign": lambda s: s.engagement(campaign=""),
    "follower growth": lambda s: s.follower_growth(),
    "follower growth period": lambda s: s.follower_growth(platform="x", since=MID, until=END),
    "best times utc": lambda s: s.best_times(),
    "best times berlin": lambda s: s.best_times(tz="Europe/Berlin"),
    "best times kolkata": lambda s: s.best_times(tz="Asia/Kolkata", campaign=AWKWARD[2]),
    "best times fixed offset": lambda s: s.best_times(tz=timezone(timedelta(hours=-11))),
    "unavailable": lambda s: s.unavailable(),
    "unavailable instagram until": lambda s: s.unavailable(platform="instagram", until=END),
}


@pytest.mark.parametrize("name", list(QUERIES))
def test_the_same_answer_as_sqlite(name: str, store: MetricsStore, analytics: Analytics) -> None:
    query = QUERIES[name]
    expected = query(store)
    assert query(analytics) == expected


def test_the_data_reaches_the_edge_cases(store: MetricsStore, analytics: Analytics) -> None:
    # The comparisons above mean something only if the data has what they are about.
    samples = list(store.samples())
    assert len(samples) > 2000
    assert {s.campaign for s in samples} >= {"", None, AWKWARD[0], "\\N", "NULL"}
    assert {s.raw_name for s in samples} >= {"", None, AWKWARD[0]}
    assert any(s.value is None and s.available for s in samples)
    assert any(not s.available for s in samples)
    assert any(s.value is not None and s.value % 1 for s in samples)
    assert min(s.fetched_at for s in samples) < datetime(1970, 1, 1, tzinfo=UTC)
    # NULL and empty text stay apart through the copy: the empty campaign is one group of
    # its own, the posts without a campaign another.
    groups = [t.group for t in analytics.totals("campaign")]
    assert None in groups
    assert "" in groups
    assert groups[0] is None  # SQLite's order: NULL first


def test_the_report_is_the_same_html(store: MetricsStore, analytics: Analytics) -> None:
    now = datetime(2026, 3, 1, tzinfo=UTC)
    expected = render_report(store, now=now, tz="Europe/Berlin")
    assert render_report(analytics, now=now, tz="Europe/Berlin") == expected
    assert "engagement" in expected.lower()


def test_an_unknown_keyword_is_the_same_type_error(analytics: Analytics) -> None:
    with pytest.raises(TypeError, match="did you mean 'campaign'"):
        analytics.totals(campain="x")  # type: ignore[call-arg]


def test_a_series_interval_that_is_no_width_is_refused_alike(
    store: MetricsStore, analytics: Analytics
) -> None:
    from brandkit.errors import ConfigurationError

    for source in (store, analytics):
        for interval in (3600, timedelta(0)):
            with pytest.raises(ConfigurationError, match="positive timedelta"):
                source.series("likes", interval=interval)  # type: ignore[arg-type]
