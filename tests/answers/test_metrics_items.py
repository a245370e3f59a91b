"""Metrics batches: one post answered in a shape brandkit cannot read costs only its own
samples (unavailable, with the reason naming the field); the other posts of the batch keep
theirs. A batch answer that is broken as a whole is MalformedResponse."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from brandkit._flow import run_flow
from brandkit.errors import MalformedResponse
from brandkit.metrics import Metric, MetricSample
from brandkit.platforms._base import Adapter, PartRef
from tests.answers.test_malformed import (
    DID,
    bluesky,
    facebook,
    instagram,
    linkedin,
    mastodon,
    reply,
    threads,
    x,
)
from tests.facebook.conftest import Canned


def _x_id(seq: int) -> str:
    """A recent X id (so that its private metrics are asked for too)."""
    return str(((int(time.time() * 1000) - 1288834974657) << 22) | seq)


X_BAD, X_GOOD = _x_id(1), _x_id(2)
SKY_BAD = f"at://{DID}/app.bsky.feed.post/3kbad"
SKY_GOOD = f"at://{DID}/app.bsky.feed.post/3kgood"
LI_BAD, LI_GOOD = "urn:li:share:7300000000000000001", "urn:li:share:7300000000000000002"


def _batch(*bodies: Any) -> httpx.Response:
    """A Graph batch answer: one ``{"code", "body"}`` per read."""
    return reply(200, [{"code": 200, "body": json.dumps(b)} for b in bodies])


def _insights(likes: Any) -> dict[str, Any]:
    return {"data": [{"name": "likes", "period": "lifetime", "values": [{"value": likes}]}]}


def _node(likes: Any) -> dict[str, Any]:
    return {"id": "p", "reactions": {"data": [], "summary": {"total_count": likes}}}


@dataclass(frozen=True)
class Batch:
    """Two posts of one metrics batch: ``bad`` is answered with a wrong-typed like count
    (``field``), ``good`` with 5 likes."""

    name: str
    adapter: Callable[[], Adapter]
    refs: tuple[PartRef, PartRef]
    routes: tuple[tuple[str, str, httpx.Response], ...]
    field: str
    broken: tuple[str, str, httpx.Response]

    @property
    def bad(self) -> str:
        return self.refs[0].id

    @property
    def good(self) -> str:
        return self.refs[1].id


BATCHES = [
    Batch(
        "x",
        x,
        (PartRef(0, X_BAD), PartRef(0, X_GOOD)),
        (
            (
                "GET",
                "/2/tweets",
                reply(
                    200,
                    {
                        "data": [
                            {"id": X_BAD, "public_metrics": {"like_count": "5"}},
                            {"id": X_GOOD, "public_metrics": {"like_count": 5}},
                        ]
                    },
                ),
            ),
        ),
        "public_metrics.like_count",
        ("GET", "/2/tweets", reply(200, {"data": {"id": X_GOOD}})),
    ),
    Batch(
        "mastodon",
        mastodon,
        (PartRef(0, "111"), PartRef(0, "222")),
        (
            (
                "GET",
                "/api/v1/statuses",
                reply(
                    200,
                    [{"id": "111", "favourites_count": "5"}, {"id": "222", "favourites_count": 5}],
                ),
            ),
        ),
        "favourites_count",
        ("GET", "/api/v1/statuses", reply(200, {"id": "111"})),
    ),
    Batch(
        "bluesky",
        bluesky,
        (PartRef(0, "3kbad", uri=SKY_BAD), PartRef(0, "3kgood", uri=SKY_GOOD)),
        (
            (
                "GET",
                "/xrpc/app.bsky.feed.getPosts",
                reply(
                    200,
                    {
                        "posts": [
                            {"uri": SKY_BAD, "likeCount": "5"},
                            {"uri": SKY_GOOD, "likeCount": 5},
                        ]
                    },
                ),
            ),
        ),
        "likeCount",
        ("GET", "/xrpc/app.bsky.feed.getPosts", reply(200, {"posts": {"uri": SKY_GOOD}})),
    ),
    Batch(
        "linkedin",
        linkedin,
        (PartRef(0, LI_BAD), PartRef(0, LI_GOOD)),
        (
            (
                "GET",
                "/rest/organizationalEntityShareStatistics",
                reply(
                    200,
                    {
                        "elements": [
                            {"share": LI_BAD, "totalShareStatistics": {"likeCount": "5"}},
                            {"share": LI_GOOD, "totalShareStatistics": {"likeCount": 5}},
                        ]
                    },
                ),
            ),
        ),
        "likeCount",
        ("GET", "/rest/organizationalEntityShareStatistics", reply(200, {"elements": 5})),
    ),
    Batch(
        "facebook",
        facebook,
        (PartRef(0, "1_1"), PartRef(0, "1_2")),
        (
            (
                "POST",
                r"/v25\.0/",
                _batch(_node("5"), _insights(1), _node(5), _insights(1)),
            ),
        ),
        "total_count",
        ("POST", r"/v25\.0/", reply(200, {"data": []})),
    ),
    Batch(
        "instagram",
        instagram,
        (PartRef(0, "m1"), PartRef(0, "m2")),
        (("POST", r"/v25\.0/", _batch(_insights("5"), _insights(5))),),
        "value",
        ("POST", r"/v25\.0/", reply(200, [{"code": "200", "body": "{}"}])),
    ),
    Batch(
        "threads",
        threads,
        (PartRef(0, "m1"), PartRef(0, "m2")),
        (
            ("GET", r"/v1\.0/m1/insights", reply(200, _insights("5"))),
            ("GET", r"/v1\.0/m2/insights", reply(200, _insights(5))),
        ),
        "value",
        ("GET", r"/v1\.0/m1/insights", reply(200, {"data": [{"values": []}]})),
    ),
]


def _likes(samples: Sequence[MetricSample], post_id: str) -> MetricSample:
    (found,) = [s for s in samples if s.post_id == post_id and s.metric == Metric.LIKES.value]
    return found


@pytest.mark.parametrize("batch", [pytest.param(b, id=b.name) for b in BATCHES])
def test_one_unreadable_post_costs_only_its_own_samples(batch: Batch) -> None:
    """The post with a wrong-typed like count gets an unavailable sample whose reason names
    the field; the other post of the same answer keeps its 5 likes."""
    samples = run_flow(batch.adapter().collect_metrics(batch.refs), Canned(*batch.routes))
    bad, good = _likes(samples, batch.bad), _likes(samples, batch.good)
    assert (good.value, good.available) == (5, True)
    assert bad.value is None and not bad.available
    assert bad.reason is not None and batch.field in bad.reason
    assert "cannot read" in bad.reason


@pytest.mark.parametrize("batch", [pytest.param(b, id=b.name) for b in BATCHES])
def test_a_batch_answer_broken_as_a_whole_is_malformed_response(batch: Batch) -> None:
    """A metrics answer whose outer shape is wrong (an object for a list, a string for a
    number) cannot be read for any post: MalformedResponse with the raw body, never a
    KeyError or TypeError."""
    method, path, answer = batch.broken
    flow = batch.adapter().collect_metrics(batch.refs)
    routes = Canned((method, path, answer), *batch.routes)
    if batch.name == "threads":
        # Threads reads one post per request: a broken one costs that post only.
        samples = run_flow(flow, routes)
        assert "cannot read" in (_likes(samples, batch.bad).reason or "")
        return
    with pytest.raises(MalformedResponse) as caught:
        run_flow(flow, routes)
    assert caught.value.body == answer.text


def test_mastodon_reading_statuses_one_by_one_keeps_the_readable_ones() -> None:
    """On a server without the batch lookup (404), statuses are read one by one: one that
    cannot be read costs only its own samples."""
    routes = Canned(
        ("GET", "/api/v1/statuses", reply(404, {"error": "Record not found"})),
        ("GET", "/api/v1/statuses/111", reply(200, {"id": "111", "favourites_count": 1.5})),
        ("GET", "/api/v1/statuses/222", reply(200, {"id": "222", "favourites_count": 5})),
    )
    refs = (PartRef(0, "111"), PartRef(0, "222"))
    samples = run_flow(mastodon().collect_metrics(refs), routes)
    assert _likes(samples, "222").value == 5
    bad = _likes(samples, "111")
    assert not bad.available and "favourites_count" in (bad.reason or "")
