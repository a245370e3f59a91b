"""The analytics path's own SQL for latest, engagement and best_times gives the store's
answers on data made to catch a mistake in it.

`Analytics` answers these three from DuckDB statements of its own (integer post and
account keys, an ASOF follower look-up, the rate and the sort in SQL, a refresh-built
table of latest rows), so each trap below is one those could fall into: the same account
name or post id on two platforms (a key that forgot the platform), engagement ties broken
by platform, account and post, posts with no engagements or -0.0, readings before the
first follower count or exactly at one, zero and unavailable impressions, accounts
without followers, NULL and empty campaigns, periods, and several accounts per platform.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import attrs
import duckdb
import pytest

from brandkit.metrics import (
    ENGAGEMENT_METRICS,
    Analytics,
    MetricSample,
    MetricsQueries,
    MetricsStore,
    _duck,
)
from brandkit.metrics import _queries as q
from tests.metrics_analytics._data import edge_samples

T0 = datetime(2026, 2, 1, tzinfo=UTC)
Query = Callable[[MetricsQueries], Any]


def _post(
    platform: str,
    account: str,
    post_id: str,
    at: datetime,
    values: dict[str, float | None],
    *,
    campaign: str | None = "c",
    posted: datetime | None = T0,
    unavailable: tuple[str, ...] = (),
) -> list[MetricSample]:
    out = [
        MetricSample(
            platform=platform,
            account=account,
            post_id=post_id,
            metric=metric,
            value=value,
            fetched_at=at,
            campaign=campaign,
            posted_at=posted,
        )
        for metric, value in values.items()
    ]
    out += [
        MetricSample.unavailable(
            platform=platform,
            account=account,
            post_id=post_id,
            metric=metric,
            reason="retired",
            fetched_at=at,
        )
        for metric in unavailable
    ]
    return out


def _followers(
    platform: str, account: str, counts: list[tuple[datetime, float | None]]
) -> list[MetricSample]:
    return [
        MetricSample(platform=platform, account=account, metric="followers", value=v, fetched_at=t)
        for t, v in counts
    ]


def trap_samples() -> list[MetricSample]:
    h = timedelta(hours=1)
    out: list[MetricSample] = []
    # The same account name and post id on two platforms, with different follower counts:
    # a post or account key without the platform mixes them up.
    for platform, followers in (("x", 1000.0), ("mastodon", 50.0)):
        out += _followers(platform, "brand", [(T0 + 2 * h, followers), (T0 + 5 * h, followers * 2)])
        out += _post(platform, "brand", "same", T0 + 3 * h, {"likes": 10, "impressions": 0})
    # Reading exactly at a follower count (at-or-before takes it) and before the first one
    # (the first one read after is used).
    out += _post("x", "brand", "at-count", T0 + 5 * h, {"likes": 7, "shares": 3})
    out += _post("x", "brand", "before-first", T0 + h, {"likes": 7, "shares": 3})
    # A follower count that is unavailable or empty is skipped by the look-up.
    out += _followers("x", "brand", [(T0 + 6 * h, None)])
    out.append(
        MetricSample.unavailable(
            platform="x", account="brand", metric="followers", reason="x", fetched_at=T0 + 7 * h
        )
    )
    out += _post("x", "brand", "after-gaps", T0 + 8 * h, {"likes": 10})
    # Ties on engagements (10) across platforms, accounts and posts; impressions basis,
    # zero impressions (followers basis), unavailable impressions, no followers at all.
    out += _post("x", "other", "a", T0 + 3 * h, {"likes": 10, "impressions": 200})
    out += _post(
        "x", "other", "b", T0 + 3 * h, {"likes": 4, "replies": 6}, unavailable=("impressions",)
    )
    out += _post("bluesky", "brand", "z", T0 + 3 * h, {"reposts": 10}, campaign=None)
    out += _post("bluesky", "brand", "y", T0 + 3 * h, {"bookmarks": 10}, campaign="")
    # No engagements: only impressions, an unavailable like, an empty value, and -0.0.
    out += _post("x", "other", "quiet", T0 + 3 * h, {"impressions": 50})
    out += _post("x", "other", "gone", T0 + 3 * h, {}, unavailable=("likes",))
    out += _post("x", "other", "empty", T0 + 3 * h, {"likes": None})
    out += _post("x", "other", "negzero", T0 + 3 * h, {"likes": -0.0})
    # Engagement readings at different times per metric, a later reading of the same post
    # (latest wins), and a post whose latest impressions reading comes after its likes.
    out += _post("mastodon", "brand", "multi", T0 + 2 * h, {"likes": 1, "replies": 1})
    out += _post("mastodon", "brand", "multi", T0 + 4 * h, {"likes": 5})
    out += _post("mastodon", "brand", "multi", T0 + 9 * h, {"impressions": 40})
    # Posts without a publication time, and publication times in other zones' days.
    out += _post("x", "other", "unposted", T0 + 3 * h, {"likes": 2}, posted=None)
    late = datetime(2026, 2, 1, 23, 30, tzinfo=timezone(timedelta(hours=-3)))
    out += _post("x", "other", "late", T0 + 3 * h, {"likes": 9}, posted=late)
    return out


@pytest.fixture
def trap_store(tmp_path: Path) -> Iterator[MetricsStore]:
    with MetricsStore(tmp_path / "traps.db") as s:
        s.add(trap_samples())
        s.add(edge_samples(seed=5, posts=30))
        yield s


@pytest.fixture
def trap_analytics(trap_store: MetricsStore) -> Iterator[Analytics]:
    with trap_store.analytics() as a:
        yield a


MID = T0 + timedelta(hours=4)
QUERIES: dict[str, Query] = {
    "engagement": lambda s: s.engagement(),
    "engagement x": lambda s: s.engagement(platform="x"),
    "engagement account brand": lambda s: s.engagement(account="brand"),
    "engagement post on two platforms": lambda s: s.engagement(post_id="same"),
    "engagement campaign empty": lambda s: s.engagement(campaign=""),
    "engagement since": lambda s: s.engagement(since=MID),
    "engagement until": lambda s: s.engagement(until=MID),
    "engagement window": lambda s: s.engagement(platform="mastodon", since=T0, until=MID),
    "engagement nothing": lambda s: s.engagement(platform="nowhere"),
    "engagement post and account": lambda s: s.engagement(post_id="same", account="brand"),
    "engagement campaign c": lambda s: s.engagement(campaign="c", platform="x"),
    "best times": lambda s: s.best_times(),
    "best times sao paulo": lambda s: s.best_times(tz="America/Sao_Paulo"),
    "best times -3h until": lambda s: s.best_times(tz=timezone(timedelta(hours=-3)), until=MID),
    "best times account": lambda s: s.best_times(account="other", campaign="c"),
    "best times platform": lambda s: s.best_times(platform="mastodon", tz="Asia/Tokyo"),
    "latest": lambda s: s.latest(),
    "latest all": lambda s: s.latest(scope="all"),
    "latest account": lambda s: s.latest(scope="account", platform="x"),
    "latest post on two platforms": lambda s: s.latest(post_id="same"),
    "latest metrics": lambda s: s.latest(metric=["likes", "impressions"], account="brand"),
    "latest campaign": lambda s: s.latest(campaign="c"),
    "latest since": lambda s: s.latest(since=MID, scope="all"),
    "latest window": lambda s: s.latest(since=T0 + timedelta(hours=2), until=MID),
    "latest nothing": lambda s: s.latest(platform="nowhere"),
    "posts": lambda s: s.posts(),
    "posts of a post id on two platforms": lambda s: s.posts(post_id="same"),
    "posts campaign empty": lambda s: s.posts(campaign=""),
    "posts metric": lambda s: s.posts(metric="impressions"),
    "posts since": lambda s: s.posts(since=MID),
    "posts window": lambda s: s.posts(since=T0 + timedelta(hours=2), until=MID),
    "posts nothing": lambda s: s.posts(platform="nowhere"),
    # latest_of: the posts in the caller's order, one given twice, one unknown, and a post
    # id that two platforms share (only the asked one comes back).
    "latest_of": lambda s: s.latest_of(
        [
            ("mastodon", "brand", "same"),
            ("x", "other", "a"),
            ("x", "brand", "none"),
            ("mastodon", "brand", "same"),
            ("mastodon", "brand", "multi"),
        ]
    ),
    "latest_of every post backwards": lambda s: s.latest_of(s.posts()[::-1]),
    "latest_of metric": lambda s: s.latest_of(s.posts(), metric=["likes", "impressions"]),
    "latest_of until": lambda s: s.latest_of(s.posts(), until=MID),
    "latest_of window": lambda s: s.latest_of(
        [("x", "brand", "same"), ("mastodon", "brand", "multi")],
        since=T0 + timedelta(hours=2),
        until=MID,
    ),
    "latest_of nothing": lambda s: s.latest_of([]),
    "series engagements per hour": lambda s: s.series(
        ENGAGEMENT_METRICS, interval=timedelta(hours=1)
    ),
    "series likes every reading": lambda s: s.series("likes"),
    "series likes of a post on two platforms": lambda s: s.series("likes", post_id="same"),
    "series until": lambda s: s.series("likes", until=MID, interval=timedelta(minutes=7)),
    "series since": lambda s: s.series("likes", since=MID),
    "series followers": lambda s: s.series("followers"),
    "series all scope x": lambda s: s.series(["likes", "followers"], scope="all", platform="x"),
}


@pytest.mark.parametrize("name", list(QUERIES))
def test_the_fast_paths_give_the_store_answer(
    name: str, trap_store: MetricsStore, trap_analytics: Analytics
) -> None:
    expected = QUERIES[name](trap_store)
    assert QUERIES[name](trap_analytics) == expected


def test_the_traps_are_in_the_answers(trap_store: MetricsStore) -> None:
    # The comparisons above mean something only if the data reaches each case.
    posts = {(p.platform, p.post_id): p for p in trap_store.engagement()}
    assert posts[("x", "same")].followers == 1000.0
    assert posts[("mastodon", "same")].followers == 50.0
    assert posts[("x", "same")].basis == "followers"  # zero impressions
    assert posts[("x", "at-count")].followers == 2000.0  # read exactly at the count
    assert posts[("x", "before-first")].followers == 1000.0  # the first one after
    assert posts[("x", "after-gaps")].followers == 2000.0  # unavailable/empty skipped
    assert posts[("x", "a")].basis == "impressions"
    assert posts[("bluesky", "z")].rate is None  # no followers, no impressions
    assert posts[("x", "quiet")].engagements is None
    assert posts[("mastodon", "multi")].engagements == 6  # latest likes + older replies
    ties = [
        (p.platform, p.account, p.post_id) for p in trap_store.engagement() if p.engagements == 10
    ]
    assert len(ties) >= 6
    assert ties == sorted(ties)
    assert any(p.engagements is not None and p.engagements == 0 for p in posts.values())
    # latest_of keeps the platform: of the id two platforms share, the one asked for.
    asked = trap_store.latest_of([("mastodon", "brand", "same")])
    assert {(s.platform, s.post_id) for s in asked} == {("mastodon", "same")}


def test_new_samples_reach_the_fast_paths_after_refresh(
    trap_store: MetricsStore, trap_analytics: Analytics
) -> None:
    later = [
        attrs.evolve(s, fetched_at=s.fetched_at + timedelta(days=30), value=(s.value or 0) + 100)
        for s in trap_samples()
        if s.available
    ]
    trap_store.add(later)
    before = trap_analytics.latest()
    assert before != trap_store.latest()  # the copy answers as of its last refresh
    # Incremental: only the new samples (and the newest instant) are copied, and the
    # per-sample differences that series() sums are recomputed for them alone.
    assert trap_analytics.refresh() < len(later) + 50
    _same_fast_paths(trap_store, trap_analytics)
    # Another sample at the newest instant, then empty and unavailable readings after it.
    newest = trap_store.span()
    assert newest is not None
    trap_store.add(
        [
            MetricSample(
                platform="x",
                account="other",
                post_id="a",
                metric="replies",
                value=3,
                fetched_at=newest[1],
            ),
            *_post("x", "other", "a", newest[1] + timedelta(hours=1), {"likes": None}),
            *_post("x", "other", "a", newest[1] + timedelta(hours=2), {"likes": 500}),
            *_post("x", "other", "a", newest[1] + timedelta(hours=3), {}, unavailable=("likes",)),
        ]
    )
    trap_analytics.refresh()
    _same_fast_paths(trap_store, trap_analytics)
    # A back-filled history: everything is copied and recomputed again.
    trap_store.add(_post("x", "other", "a", T0 - timedelta(days=3), {"likes": 1, "replies": 1}))
    trap_analytics.refresh()
    _same_fast_paths(trap_store, trap_analytics)


def test_latest_of_reads_the_ids_in_several_statements(
    trap_store: MetricsStore, trap_analytics: Analytics, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Ids are read POST_IDS_PER_STATEMENT at a time; with 3 a statement's rows must still
    # land in the posts' order and the given order must survive the chunks.
    posts = trap_store.posts()
    assert len(posts) > 9
    expected = trap_store.latest_of(posts[::-1])
    monkeypatch.setattr(q, "POST_IDS_PER_STATEMENT", 3)
    assert trap_store.latest_of(posts[::-1]) == expected
    assert trap_analytics.latest_of(posts[::-1]) == expected
    assert trap_analytics.latest_of(posts[::-1], since=MID) == trap_store.latest_of(
        posts[::-1], since=MID
    )


def _same_fast_paths(store: MetricsStore, analytics: Analytics) -> None:
    assert analytics.latest(scope="all") == store.latest(scope="all")
    assert analytics.posts() == store.posts()
    assert analytics.latest_of(store.posts()[::-2]) == store.latest_of(store.posts()[::-2])
    assert analytics.engagement() == store.engagement()
    assert analytics.best_times(tz="Asia/Kolkata") == store.best_times(tz="Asia/Kolkata")
    for metrics in ("likes", ENGAGEMENT_METRICS, "followers"):
        assert analytics.series(metrics) == store.series(metrics)
        day = timedelta(days=1)
        assert analytics.series(metrics, interval=day) == store.series(metrics, interval=day)


def test_a_copy_without_the_derived_tables_is_completed_on_opening(
    trap_store: MetricsStore, tmp_path: Path
) -> None:
    path = tmp_path / "old.duckdb"
    Analytics(trap_store, path).close()
    # A copy made before the table existed (or never refreshed) gets it when opened.
    with duckdb.connect(str(path)) as conn:
        conn.execute("DROP TABLE metrics_latest_rows")
    with Analytics(trap_store, path, refresh=False) as analytics:
        _same_fast_paths(trap_store, analytics)
    with duckdb.connect(str(path)) as conn:
        conn.execute("DROP TABLE metrics_changes")
    with Analytics(trap_store, path) as analytics:  # a refresh rebuilds it too
        _same_fast_paths(trap_store, analytics)
    with duckdb.connect(str(path)) as conn:
        conn.execute("DROP TABLE metrics_post_engagement")
    with Analytics(trap_store, path, refresh=False) as analytics:
        _same_fast_paths(trap_store, analytics)
    # A copy whose table lacks a column that latest() reads (made before it existed).
    for column in ("stamp_key", "kind_key"):
        with duckdb.connect(str(path)) as conn:
            conn.execute(f"ALTER TABLE metrics_latest_rows DROP COLUMN {column}")
        with Analytics(trap_store, path, refresh=False) as analytics:
            _same_fast_paths(trap_store, analytics)


def test_samples_made_from_rows_are_the_class_own() -> None:
    # latest() builds samples by setting their slots (see _trusted_sample_makers): they
    # must be what MetricSample(...) makes, field for field, and stay frozen.
    at = datetime(2026, 2, 1, 12, 30, 0, 5, tzinfo=UTC)
    args = ("x", "x:brand", "likes", 3.5, at, "p1", "favourite_count", True, None, "d1", "", at)
    made = _duck._make_sample(*args)
    parts = _duck._sample_from_parts(
        (args[0], args[1], args[5], args[9], args[10], args[11]), args[2:3] + args[6:9], 3.5, at
    )
    expected = MetricSample(*args)
    for sample in (made, parts):
        assert type(sample) is MetricSample
        assert attrs.asdict(sample) == attrs.asdict(expected)
        assert repr(sample) == repr(expected)
        assert hash(sample) == hash(expected)
        assert sample.fetched_at.tzinfo is UTC
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            sample.value = 1.0  # type: ignore[misc]
