"""``posts()`` and ``latest_of()``: what ``latest()`` gives, by post, without building every
sample; and the report, which reads them, shows what ``latest()`` would have shown.

Every test runs on SQLite and on PostgreSQL (the ``store`` fixture).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import Any, Unpack

import pytest

from brandkit.metrics import MetricSample, MetricsQueries, MetricsStore, render_report
from brandkit.metrics import _queries as q
from brandkit.metrics._report import RAW_ROWS
from brandkit.metrics._sql import SampleWhere

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
MID = T0 + timedelta(hours=12)
PostKey = tuple[str, str, str]


def many_posts() -> list[MetricSample]:
    """More posts than the report's raw table shows, with what could go wrong in picking
    them by post: ids shared by two platforms and two accounts, a metric only a few posts
    outside the most engaged have (its column must still be there), an unavailable
    latest reading, posts read only before or only after ``MID``, no campaign."""
    out: list[MetricSample] = []
    places = [("x", "x:brand"), ("x", "x:support"), ("mastodon", "x:brand"), ("bluesky", "b")]
    for n in range(RAW_ROWS + 40):
        platform, account = places[n % len(places)]
        post_id = f"p{n % 97}"  # the same id on several platforms and accounts
        campaign = ("spring", "summer", None)[n % 3]
        posted = T0 - timedelta(hours=n % 30)
        reads = [T0 + timedelta(hours=h) for h in ((2, 20) if n % 5 else (20,))]
        if n % 7 == 0:
            reads = [T0 + timedelta(hours=1)]
        for i, at in enumerate(reads):
            values = {"likes": float(n * (i + 1)), "reposts": float(n % 11)}
            if n in (1, 2):
                values["video_views"] = 3.0 * n  # two of the least engaged posts only
            for metric, value in values.items():
                out.append(
                    MetricSample(
                        platform=platform,
                        account=account,
                        post_id=post_id,
                        metric=metric,
                        value=value,
                        fetched_at=at,
                        campaign=campaign,
                        delivery_id=f"d{n}",
                        posted_at=posted,
                    )
                )
            out.append(
                MetricSample.unavailable(
                    platform=platform,
                    account=account,
                    post_id=post_id,
                    metric="impressions",
                    reason="not given" if i else "not yet",
                    fetched_at=at,
                )
            )
    for platform, account in places:
        out.append(
            MetricSample(
                platform=platform, account=account, metric="followers", value=100, fetched_at=T0
            )
        )
    return out


@pytest.fixture
def many(store: MetricsStore) -> MetricsStore:
    store.add(many_posts())
    return store


def _keys(samples: Iterable[MetricSample]) -> list[PostKey]:
    keys: list[PostKey] = []
    for s in samples:
        assert s.post_id is not None
        keys.append((s.platform, s.account, s.post_id))
    return list(dict.fromkeys(keys))


class FromLatest(MetricsQueries):
    """A store whose ``posts`` and ``latest_of`` are worked out from ``latest()``, as the
    report did before it had them: the reference the report is compared with."""

    def __init__(self, store: MetricsStore) -> None:
        self._store = store

    def _reading(self) -> AbstractContextManager[Any]:
        return self._store._reading()

    def _read(self) -> AbstractContextManager[Any]:
        return self._store._read()

    def posts(self, **where: Unpack[SampleWhere]) -> list[PostKey]:
        return _keys(self._store.latest(scope="posts", **where))

    def latest_of(
        self, posts: Iterable[PostKey], **where: Unpack[SampleWhere]
    ) -> list[MetricSample]:
        by_post: dict[PostKey, list[MetricSample]] = defaultdict(list)
        for s in self._store.latest(scope="posts", **where):
            assert s.post_id is not None
            by_post[(s.platform, s.account, s.post_id)].append(s)
        return [s for key in dict.fromkeys(posts) for s in by_post.get(key, [])]


FILTERS: list[dict[str, Any]] = [
    {},
    {"campaign": "spring"},
    {"platform": "x", "account": "x:brand"},
    {"post_id": "p7"},
    {"metric": ["likes", "impressions"]},
    {"metric": "followers"},
    {"since": MID},
    {"until": MID},
    {"since": T0, "until": T0 + timedelta(hours=3), "campaign": "summer"},
    {"platform": "nowhere"},
]


@pytest.mark.parametrize("where", FILTERS, ids=repr)
def test_posts_are_the_posts_of_latest_in_its_order(
    many: MetricsStore, where: dict[str, Any]
) -> None:
    assert many.posts(**where) == FromLatest(many).posts(**where)


@pytest.mark.parametrize("where", FILTERS, ids=repr)
def test_latest_of_is_latest_of_those_posts(many: MetricsStore, where: dict[str, Any]) -> None:
    every = many.posts()
    # Out of latest's order, with a post twice, one that does not exist, and a post id
    # stored on other platforms and accounts too.
    asked = [*every[::-7], every[3], ("x", "x:brand", "p-none"), ("bluesky", "b", "p3")]
    expected = FromLatest(many).latest_of(asked, **where)
    assert many.latest_of(asked, **where) == expected
    if not where:
        assert [(s.platform, s.account, s.post_id) for s in expected][:1] == [every[-1]]
        # Of an id stored under several posts, only the post asked for.
        shared = next(k for k in every if sum(k[2] == o[2] for o in every) > 1)
        assert set(_keys(many.latest_of([shared]))) == {shared}


def test_latest_of_in_several_statements(
    many: MetricsStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    every = many.posts()
    expected = many.latest_of(every[::-1])
    monkeypatch.setattr(q, "POST_IDS_PER_STATEMENT", 7)
    assert many.latest_of(every[::-1]) == expected
    assert many.latest_of([]) == []


def test_the_data_reaches_the_cases(many: MetricsStore) -> None:
    posts = many.posts()
    assert len(posts) > RAW_ROWS
    assert len({post_id for _, _, post_id in posts}) < len(posts)  # ids shared
    top = {(p.platform, p.account, p.post_id) for p in many.engagement()[:RAW_ROWS]}
    rare = {(s.platform, s.account, s.post_id) for s in many.latest(metric="video_views")}
    assert rare
    assert not rare & top


@pytest.mark.parametrize(
    "where",
    [{}, {"campaign": "spring"}, {"since": MID}, {"until": MID}, {"campaign": "nowhere"}],
    ids=repr,
)
def test_the_report_shows_what_latest_gives(many: MetricsStore, where: dict[str, Any]) -> None:
    now = datetime(2026, 3, 30, tzinfo=UTC)
    html = render_report(many, now=now, **where)
    assert html == render_report(FromLatest(many), now=now, **where)
    if not where:
        assert f"Showing the {RAW_ROWS} most engaged of {len(many.posts())} posts" in html
        # The raw table has a column for a metric that only posts it does not show have.
        raw = html[html.index('id="raw"') :]
        assert '<th class="sortable">video views</th>' in raw


def test_running_points_add_as_a_loop_from_zero() -> None:
    # 0.0 + -0.0 is 0.0: the first point is +0.0, as a total that starts at 0.0 gives.
    points = q.running_points([(0, -0.0, 1), (2, 1.5, 0), (3, -1.5, 2)], 10)
    assert [(p.at, p.value, p.sources) for p in points] == [
        (datetime(1970, 1, 1, tzinfo=UTC), 0.0, 1),
        (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=20), 1.5, 1),
        (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=30), 0.0, 3),
    ]
    assert math.copysign(1.0, points[0].value) == 1.0
    assert q.running_points([], 10) == []
