"""The filter keywords are read once, by the shared query methods, for every engine: the
SQLite file, PostgreSQL and the DuckDB analytics copy take the same keywords of each method,
refuse the same wrong ones with the same words, and give SQLite's answer to each filter."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from brandkit.errors import ConfigurationError
from brandkit.metrics import MetricsQueries, MetricsStore
from brandkit.metrics._sql import (
    AccountWhere,
    CampaignWhere,
    PostWhere,
    SampleWhere,
    TotalsWhere,
)
from tests.metrics._data import at, small_samples
from tests.servers._servers import schema_url

ENGINES = ("sqlite", "postgresql", "duckdb")

Call = Callable[..., Any]

# Each query method, called with filter keywords, and the keywords it takes.
METHODS: dict[str, tuple[Call, type[Any]]] = {
    "count": (lambda s, **kw: s.count(**kw), SampleWhere),
    "span": (lambda s, **kw: s.span(**kw), SampleWhere),
    "latest": (lambda s, **kw: s.latest(**kw), SampleWhere),
    "latest all": (lambda s, **kw: s.latest(scope="all", **kw), SampleWhere),
    "posts": (lambda s, **kw: s.posts(**kw), SampleWhere),
    "latest_of": (
        lambda s, **kw: s.latest_of([("x", "x:brand", "2"), ("bluesky", "bluesky:b", "b1")], **kw),
        SampleWhere,
    ),
    "series": (lambda s, **kw: s.series("likes", **kw), PostWhere),
    "series daily": (
        lambda s, **kw: s.series(["likes", "reposts"], interval=timedelta(days=1), **kw),
        PostWhere,
    ),
    "series followers": (lambda s, **kw: s.series("followers", **kw), PostWhere),
    "totals": (lambda s, **kw: s.totals("platform", **kw), TotalsWhere),
    "totals by campaign": (lambda s, **kw: s.totals("campaign", **kw), TotalsWhere),
    "engagement": (lambda s, **kw: s.engagement(**kw), PostWhere),
    "follower_growth": (lambda s, **kw: s.follower_growth(**kw), AccountWhere),
    "best_times": (lambda s, **kw: s.best_times(tz="Europe/Berlin", **kw), CampaignWhere),
    "unavailable": (lambda s, **kw: s.unavailable(**kw), CampaignWhere),
}

# For each keyword: values that keep some of small_samples and leave some out.
VALUES: dict[str, tuple[Any, ...]] = {
    "platform": ("x", "bluesky", "nowhere"),
    "account": ("x:brand", "bluesky:b"),
    "post_id": ("2", "b1"),
    "campaign": ("launch", ""),
    "metric": ("likes", ["impressions", "followers"], []),
    "since": (at(30), "2026-03-03T12:00:00+02:00"),
    "until": (at(36), at(36) + timedelta(microseconds=1), "2026-03-02"),
}


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MetricsStore]:
    """The SQLite store every engine's answers are compared with."""
    with MetricsStore(tmp_path_factory.mktemp("reference") / "brandkit.db") as store:
        store.add(small_samples())
        yield store


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MetricsQueries]:
    """small_samples in a store on each engine."""
    if request.param == "postgresql":
        target: Path | str = schema_url(request.getfixturevalue("postgres_url"))
    else:
        target = tmp_path / "brandkit.db"
    with MetricsStore(target) as store:
        store.add(small_samples())
        if request.param != "duckdb":
            yield store
            return
        pytest.importorskip(
            "duckdb", reason="the analytics extra: pip install 'brandkit[analytics]'"
        )
        with store.analytics() as analytics:
            yield analytics


@pytest.mark.parametrize("method", list(METHODS))
def test_each_filter_gives_the_sqlite_answer(
    engine: MetricsQueries, reference: MetricsStore, method: str
) -> None:
    call, accepted = METHODS[method]
    for keyword in sorted(accepted.__optional_keys__):
        for value in VALUES[keyword]:
            expected = call(reference, **{keyword: value})
            assert call(engine, **{keyword: value}) == expected, (keyword, value)


def test_the_filters_together_give_the_sqlite_answer(
    engine: MetricsQueries, reference: MetricsStore
) -> None:
    for method, (call, accepted) in METHODS.items():
        where = {
            "platform": "x",
            "account": "x:brand",
            "campaign": "launch",
            "metric": ["likes", "impressions"],
            "since": at(10),
            "until": at(40),
        }
        where = {k: v for k, v in where.items() if k in accepted.__optional_keys__}
        expected = call(reference, **where)
        assert call(engine, **where) == expected, method
    # Not vacuous: the combined filters keep something.
    assert reference.count(platform="x", campaign="launch", since=at(10), until=at(40)) > 0


def _refusal(call: Call, store: MetricsQueries, **where: Any) -> tuple[type[BaseException], str]:
    with pytest.raises((TypeError, ConfigurationError)) as info:
        call(store, **where)
    return info.type, str(info.value)


@pytest.mark.parametrize("method", list(METHODS))
def test_each_engine_refuses_the_same_filters_alike(
    engine: MetricsQueries, reference: MetricsStore, method: str
) -> None:
    call, accepted = METHODS[method]
    taken = accepted.__optional_keys__
    wrong: list[dict[str, Any]] = [
        {"platfrom": "x"},  # misspelt: a TypeError with the keyword meant
        {"since": at(40), "until": at(10)},  # an empty period
        {"since": "last tuesday"},
        {"platform": 1},  # not text
        {"account": "x:\x00brand"},
    ]
    wrong += [{name: "x"} for name in ("post_id", "metric", "campaign") if name not in taken]
    if "metric" in taken:
        wrong.append({"metric": ["likes", 3]})
    for where in wrong:
        assert _refusal(call, engine, **where) == _refusal(call, reference, **where), where
