"""Queries on the small hand-worked data set (see ``small_samples`` for the numbers)."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from brandkit.errors import ConfigurationError
from brandkit.metrics import ENGAGEMENT_METRICS, MetricSample, MetricsStore, Point
from tests.metrics._data import T0, at


def _values(rows: list[MetricSample]) -> dict[tuple[str | None, str], float | None]:
    return {(s.post_id, s.metric): s.value for s in rows}


def test_latest_per_post_and_metric(small: MetricsStore) -> None:
    """latest() gives each post's last reading of each metric, unavailable ones included."""
    rows = small.latest()
    assert _values(rows) == {
        ("1", "likes"): 30,
        ("1", "reposts"): 5,
        ("1", "replies"): 3,
        ("1", "quotes"): 2,
        ("1", "impressions"): 1000,
        ("2", "likes"): 8,
        ("2", "impressions"): None,
        ("b1", "likes"): 9,
        ("b1", "reposts"): 1,
        ("b1", "replies"): 2,
        ("b1", "quotes"): 0,
    }
    gone = next(s for s in rows if (s.post_id, s.metric) == ("2", "impressions"))
    assert (gone.available, gone.reason, gone.fetched_at) == (
        False,
        "needs elevated access",
        at(60),
    )
    x1 = next(s for s in rows if (s.post_id, s.metric) == ("1", "likes"))
    assert (x1.fetched_at, x1.campaign, x1.delivery_id, x1.posted_at) == (
        at(34),
        "launch",
        "d-1",
        at(9),
    )


def test_latest_as_of_until(small: MetricsStore) -> None:
    """With until, latest() gives the values known at that time."""
    rows = small.latest(metric="likes", until=at(35))
    assert _values(rows) == {("1", "likes"): 30, ("b1", "likes"): 5}


def test_latest_of_accounts(small: MetricsStore) -> None:
    """latest(scope='account') gives each account's last follower count."""
    rows = small.latest(scope="account")
    assert {(s.account, s.value) for s in rows} == {("x:brand", 1030), ("bluesky:b", 220)}
    by_metric = small.latest(metric="followers")
    assert {(s.account, s.value) for s in by_metric} == {("x:brand", 1030), ("bluesky:b", 220)}


def test_series_of_one_post(small: MetricsStore) -> None:
    """A post's series is its own readings."""
    assert small.series("likes", post_id="1") == [Point(at(10), 10, 1), Point(at(34), 30, 1)]


def test_series_of_a_platform_is_a_running_total(small: MetricsStore) -> None:
    """A platform's series sums each post's latest value at every reading."""
    assert small.series("likes", platform="x") == [
        Point(at(10), 10, 1),
        Point(at(34), 30, 1),
        Point(at(40), 34, 2),
        Point(at(60), 38, 2),
    ]


def test_series_of_everything(small: MetricsStore) -> None:
    """Without filters the series covers every post."""
    assert [(p.at, p.value) for p in small.series("likes")] == [
        (at(10), 10),
        (at(12), 15),
        (at(34), 35),
        (at(36), 39),
        (at(40), 43),
        (at(60), 47),
    ]


def test_series_of_several_metrics_for_a_campaign(small: MetricsStore) -> None:
    """Several metrics add up; a campaign selects its posts."""
    points = small.series(ENGAGEMENT_METRICS, campaign="launch")
    assert [(p.at, p.value) for p in points] == [
        (at(10), 13),
        (at(12), 19),
        (at(34), 46),
        (at(36), 52),
    ]


def test_series_by_day(small: MetricsStore) -> None:
    """With an interval, one point per interval carries the value at its end."""
    assert [(p.at, p.value) for p in small.series("likes", interval=timedelta(days=1))] == [
        (T0, 15),
        (T0 + timedelta(days=1), 43),
        (T0 + timedelta(days=2), 47),
    ]


def test_series_since(small: MetricsStore) -> None:
    """since limits the series to later readings."""
    assert [(p.at, p.value) for p in small.series("likes", since=at(30))] == [
        (at(34), 30),
        (at(36), 39),
        (at(40), 43),
        (at(60), 47),
    ]


def test_series_of_followers(small: MetricsStore) -> None:
    """'followers' reads account series: one account, or the sum over accounts."""
    assert [(p.at, p.value) for p in small.series("followers", account="x:brand")] == [
        (at(0), 1000),
        (at(24), 1010),
        (at(48), 1030),
    ]
    assert [(p.at, p.value, p.sources) for p in small.series("followers")] == [
        (at(0), 1000, 1),
        (at(6), 1200, 2),
        (at(24), 1210, 2),
        (at(30), 1230, 2),
        (at(48), 1250, 2),
    ]


def test_series_skips_unavailable(small: MetricsStore) -> None:
    """Unavailable readings are left out of a series rather than counted as zero."""
    assert small.series("impressions", platform="x") == [
        Point(at(10), 200, 1),
        Point(at(34), 1000, 1),
    ]


def test_totals_by_platform(small: MetricsStore) -> None:
    """totals() sums each post's latest value per platform, counting unavailable posts."""
    got = {(t.group, t.metric): (t.value, t.posts, t.unavailable) for t in small.totals()}
    assert got == {
        ("bluesky", "likes"): (9, 1, 0),
        ("bluesky", "quotes"): (0, 1, 0),
        ("bluesky", "replies"): (2, 1, 0),
        ("bluesky", "reposts"): (1, 1, 0),
        ("x", "impressions"): (1000, 1, 1),
        ("x", "likes"): (38, 2, 0),
        ("x", "quotes"): (2, 1, 0),
        ("x", "replies"): (3, 1, 0),
        ("x", "reposts"): (5, 1, 0),
    }


def test_totals_by_campaign(small: MetricsStore) -> None:
    """totals(by='campaign') groups by campaign; posts without one are under None."""
    got = {(t.group, t.metric): (t.value, t.posts, t.unavailable) for t in small.totals("campaign")}
    assert got[("launch", "likes")] == (39, 2, 0)
    assert got[("launch", "reposts")] == (6, 2, 0)
    assert got[("launch", "impressions")] == (1000, 1, 0)
    assert got[(None, "likes")] == (8, 1, 0)
    assert got[(None, "impressions")] == (None, 0, 1)


def test_totals_refuses_unknown_grouping(small: MetricsStore) -> None:
    """Only platform, campaign and account groupings exist."""
    with pytest.raises(ConfigurationError):
        small.totals("metric; DROP TABLE metrics_samples")  # type: ignore[arg-type]


def test_engagement_rate(small: MetricsStore) -> None:
    """Engagements over impressions when known, else over the followers at the time."""
    rows = {e.post_id: e for e in small.engagement()}
    assert [e.post_id for e in small.engagement()] == ["1", "b1", "2"]
    x1, x2, b1 = rows["1"], rows["2"], rows["b1"]
    assert (x1.engagements, x1.impressions, x1.basis) == (40, 1000, "impressions")
    assert x1.rate == pytest.approx(0.04)
    # x/2: impressions unavailable; followers at +60h are the +48h count, 1030.
    assert (x2.engagements, x2.impressions, x2.followers, x2.basis) == (8, None, 1030, "followers")
    assert x2.rate == pytest.approx(8 / 1030)
    # b1: no impressions on Bluesky; followers at +36h are the +30h count, 220.
    assert (b1.engagements, b1.followers, b1.basis) == (12, 220, "followers")
    assert b1.rate == pytest.approx(12 / 220)
    assert (b1.fetched_at, b1.posted_at, b1.campaign) == (at(36), at(9.5), "launch")


def test_engagement_followers_before_first_count(store: MetricsStore) -> None:
    """Before the first follower count, the first count read after is used."""
    store.add(
        [
            MetricSample(
                platform="x", account="x:a", post_id="p", metric="likes", value=5, fetched_at=at(1)
            ),
            MetricSample(
                platform="x", account="x:a", metric="followers", value=50, fetched_at=at(5)
            ),
            MetricSample(
                platform="x", account="x:a", metric="followers", value=80, fetched_at=at(9)
            ),
        ]
    )
    (row,) = store.engagement()
    assert (row.followers, row.rate) == (50, 0.1)


def test_engagement_without_any_denominator(store: MetricsStore) -> None:
    """No impressions and no follower counts: engagements but no rate."""
    store.add(
        [
            MetricSample(
                platform="x", account="x:a", post_id="p", metric="likes", value=5, fetched_at=at(1)
            )
        ]
    )
    (row,) = store.engagement()
    assert (row.engagements, row.rate, row.basis) == (5, None, None)


def test_engagement_when_all_unavailable(store: MetricsStore) -> None:
    """A post whose metrics are all unavailable has no engagements and does not crash."""
    store.add(
        [
            MetricSample.unavailable(
                platform="threads",
                account="threads:a",
                post_id="p",
                metric="likes",
                reason="no",
                fetched_at=at(1),
            )
        ]
    )
    (row,) = store.engagement()
    assert (row.engagements, row.rate) == (None, None)
    assert store.best_times() == []


def test_follower_growth(small: MetricsStore) -> None:
    """First, last, change and every count per account."""
    growth = {g.account: g for g in small.follower_growth()}
    x = growth["x:brand"]
    assert (x.first, x.last, x.delta, x.first_at, x.last_at) == (1000, 1030, 30, at(0), at(48))
    assert x.growth == pytest.approx(0.03)
    assert [p.value for p in x.points] == [1000, 1010, 1030]
    b = growth["bluesky:b"]
    assert (b.delta, b.growth) == (20, pytest.approx(0.1))


def test_follower_growth_over_a_period(small: MetricsStore) -> None:
    """since/until narrow the period; an account with one count has no change."""
    growth = {g.account: g for g in small.follower_growth(since=at(12))}
    assert (growth["x:brand"].first, growth["x:brand"].last) == (1010, 1030)
    assert growth["bluesky:b"].delta == 0
    assert [g.account for g in small.follower_growth(platform="bluesky")] == ["bluesky:b"]


def test_best_times_utc(small: MetricsStore) -> None:
    """Slots by posted_at weekday and hour, best mean engagements first."""
    slots = small.best_times()
    assert [(s.weekday, s.hour, s.posts, s.mean_engagements) for s in slots] == [
        (0, 9, 2, 26.0),
        (1, 15, 1, 8.0),
    ]
    assert slots[0].mean_rate == pytest.approx((0.04 + 12 / 220) / 2)


def test_best_times_in_a_time_zone(small: MetricsStore) -> None:
    """The slots follow the time zone asked for (New York is UTC-5 in early March)."""
    slots = small.best_times(tz="America/New_York")
    assert [(s.weekday, s.hour) for s in slots] == [(0, 4), (1, 10)]
    assert [(s.weekday, s.hour) for s in small.best_times(tz=ZoneInfo("Asia/Tokyo"))] == [
        (0, 18),
        (2, 0),
    ]


def test_best_times_unknown_zone(small: MetricsStore) -> None:
    """An unknown time zone is a ConfigurationError."""
    with pytest.raises(ConfigurationError, match="Mars/Olympus"):
        small.best_times(tz="Mars/Olympus")


@pytest.mark.parametrize("zone", ["Europe", "America", "x" * 300])
def test_best_times_zone_that_is_no_file(small: MetricsStore, zone: str) -> None:
    """A region name alone ("Europe", a folder of the zone database) or a name too long
    to be a file is an unknown time zone too, not an OSError about the tz database."""
    with pytest.raises(ConfigurationError, match="unknown time zone"):
        small.best_times(tz=zone)


@pytest.mark.parametrize("zone", [2, None, b"UTC"])
def test_best_times_zone_of_another_type(small: MetricsStore, zone: object) -> None:
    """A zone given as a number of hours (or anything but a name or a tzinfo) is refused
    with what to give instead, not a TypeError from deep in the query."""
    with pytest.raises(ConfigurationError, match="IANA time zone name"):
        small.best_times(tz=zone)  # type: ignore[arg-type]


def test_unavailable_metrics(small: MetricsStore) -> None:
    """unavailable() lists metrics whose latest reading is unavailable, with reasons."""
    (u,) = small.unavailable()
    assert (u.platform, u.metric, u.raw_name, u.reason, u.series, u.last_seen) == (
        "x",
        "impressions",
        "impression_count",
        "needs elevated access",
        1,
        at(60),
    )


def test_metric_available_again_is_not_listed(store: MetricsStore) -> None:
    """A metric unavailable once but available at the latest reading is not listed."""
    store.add(
        [
            MetricSample.unavailable(
                platform="x",
                account="x:a",
                post_id="p",
                metric="likes",
                reason="blip",
                fetched_at=at(1),
            ),
            MetricSample(
                platform="x", account="x:a", post_id="p", metric="likes", value=3, fetched_at=at(2)
            ),
        ]
    )
    assert store.unavailable() == []
    assert [t.value for t in store.totals()] == [3]


def test_queries_on_an_empty_store(store: MetricsStore) -> None:
    """Every query answers an empty store with nothing, never an error."""
    assert store.latest() == []
    assert store.series("likes") == []
    assert store.totals() == []
    assert store.engagement() == []
    assert store.follower_growth() == []
    assert store.best_times() == []
    assert store.unavailable() == []
    assert store.count() == 0
