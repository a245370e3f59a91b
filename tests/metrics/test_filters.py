"""The store's filter keywords: declared once, checked per method like a signature."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest

from brandkit.errors import ConfigurationError
from brandkit.metrics import MetricsStore


@pytest.mark.parametrize(
    ("call", "wrong", "hint"),
    [
        (lambda s, **kw: s.latest(**kw), "platfrom", "platform"),
        (lambda s, **kw: s.count(**kw), "campain", "campaign"),
        (lambda s, **kw: list(s.samples(**kw)), "metrics", "metric"),
        (lambda s, **kw: s.series("likes", **kw), "post", "post_id"),
        (lambda s, **kw: s.engagement(**kw), "acount", "account"),
        (lambda s, **kw: s.to_csv(io.StringIO(), **kw), "unitl", "until"),
    ],
)
def test_a_misspelt_filter_is_a_type_error_with_a_hint(
    small: MetricsStore, call: Any, wrong: str, hint: str
) -> None:
    """A typo in a filter keyword is refused, naming the keyword meant, never ignored."""
    with pytest.raises(
        TypeError, match=f"unexpected keyword argument '{wrong}'; did you mean '{hint}'"
    ):
        call(small, **{wrong: "x"})


@pytest.mark.parametrize(
    ("method", "keyword"),
    [
        ("totals", "post_id"),
        ("engagement", "metric"),
        ("follower_growth", "campaign"),
        ("follower_growth", "post_id"),
        ("best_times", "post_id"),
        ("unavailable", "metric"),
    ],
)
def test_a_filter_a_method_does_not_take_is_refused(
    small: MetricsStore, method: str, keyword: str
) -> None:
    """Each method takes only the filters that mean something for it (as before the
    keywords were declared once): a post filter on account series is refused, not empty."""
    with pytest.raises(TypeError, match=f"{method}\\(\\) got an unexpected keyword argument"):
        getattr(small, method)(**{keyword: "x"})


def test_the_filters_each_method_takes_still_work(small: MetricsStore) -> None:
    """Every filter keyword of every method reaches the query."""
    post = small.latest()[0]
    assert {s.post_id for s in small.latest(post_id=post.post_id)} == {post.post_id}
    assert small.count(platform="nowhere") == 0
    assert small.span(account="nowhere") is None
    assert small.series("likes", campaign="nowhere") == []
    assert small.totals("platform", metric="nowhere") == []
    assert small.engagement(post_id="nowhere") == []
    assert small.follower_growth(platform="nowhere") == []
    assert small.best_times(campaign="nowhere", tz="UTC") == []
    assert small.unavailable(since="2100-01-01") == []
    assert small.to_csv(io.StringIO(), until="1970-01-02") == 0


def test_an_empty_metric_list_matches_no_series(small: MetricsStore) -> None:
    """A tool's metric picker with nothing picked: no series, no samples. Before, an empty
    list filtered nothing, and ``series([])`` added up every metric of every post, likes
    and impressions together."""
    assert small.count(metric="likes") > 0
    assert small.series([]) == []
    assert small.series([], interval=timedelta(days=1)) == []
    assert small.latest(metric=[]) == []
    assert small.count(metric=()) == 0
    assert small.totals(metric=[]) == []
    assert list(small.samples(metric=[])) == []
    out = io.StringIO()
    assert small.to_csv(out, metric=[]) == 0


def test_since_and_until_take_a_date_and_refuse_other_types_plainly(
    small: MetricsStore,
) -> None:
    """A ``datetime.date`` (what a date picker gives) raised AttributeError from deep in the
    store, as did a number; a date is its midnight UTC, as the ISO text of it is, and any
    other type is a ConfigurationError naming the argument."""
    from datetime import date

    from brandkit.errors import ConfigurationError

    assert small.count(since=date(2026, 3, 2)) == small.count(since="2026-03-02")
    assert small.latest(until=date(2026, 3, 2)) == small.latest(until="2026-03-02T00:00:00Z")
    assert small.count(until=date(2026, 3, 3)) != small.count(until=date(2026, 3, 2))
    with pytest.raises(ConfigurationError, match="since must be a datetime, a date or ISO"):
        small.count(since=1772409600)  # type: ignore[arg-type]


@pytest.mark.parametrize("interval", [3600, timedelta(0), timedelta(hours=-1)])
def test_a_series_interval_that_is_no_width_is_refused(small: MetricsStore, interval: Any) -> None:
    """interval=3600 (seconds) raised TypeError from deep in the query; a zero or negative
    width gave a point per reading, as if no interval had been asked for."""
    from brandkit.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match=r"interval=.*positive timedelta"):
        small.series("likes", interval=interval)
    assert small.series("likes", interval=timedelta(microseconds=1)) == small.series("likes")


@pytest.mark.parametrize(
    "query",
    [
        lambda s: s.latest(since="2026-03-05", until="2026-03-01"),
        lambda s: s.totals(since="2026-03-05T00:00:00+00:00", until="2026-03-04T23:00:00Z"),
        lambda s: s.series("likes", since="2026-03-05", until="2026-03-01"),
        lambda s: s.follower_growth(since="2026-03-05", until="2026-03-01"),
    ],
)
def test_since_after_until_is_refused(small: MetricsStore, query: Any) -> None:
    """Swapped bounds (since after until) matched nothing, so a report said "No data yet"
    for a period full of data; they are refused, saying to swap them."""
    with pytest.raises(ConfigurationError, match=r"since .* is after until .*swap"):
        query(small)


def test_since_equal_to_until_is_an_empty_period(small: MetricsStore) -> None:
    """since == until is an empty period (since inclusive, until not), not an error."""
    assert small.latest(since="2026-03-05", until="2026-03-05") == []
