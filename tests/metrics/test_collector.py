"""Collection planning: the fewest batches per account, and stamping the samples."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from brandkit.content import Post
from brandkit.delivery import Delivery, DeliveryStatus
from brandkit.metrics import MetricSample
from brandkit.metrics._collector import Batch, Target, plan, plan_batches, targets
from brandkit.platforms import PartRef

SENT_AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _delivery(
    account: str,
    ids: list[str],
    *,
    status: DeliveryStatus = DeliveryStatus.SENT,
    campaign: str | None = "launch",
) -> Delivery:
    platform = account.split(":", 1)[0]
    return Delivery(
        account=account,
        platform=platform,
        post=Post(text="hello", campaign=campaign),
        status=status,
        parts=[PartRef(index=i, id=pid) for i, pid in enumerate(ids)],
        updated_at=SENT_AT,
    )


@pytest.mark.parametrize(
    ("count", "size"), [(1, 1), (5, 1), (100, 100), (101, 100), (250, 100), (7, 3)]
)
def test_fewest_batches(count: int, size: int) -> None:
    """N posts of one account make ceil(N / batch size) batches, none over the size."""
    deliveries = [_delivery("x:brand", [str(i)]) for i in range(count)]
    batches = plan(deliveries, size)
    assert len(batches) == math.ceil(count / size)
    assert all(0 < len(b.targets) <= size for b in batches)
    assert [r.id for b in batches for r in b.refs] == [str(i) for i in range(count)]


def test_batches_per_account_with_their_own_size() -> None:
    """Each account is batched by its own adapter's batch size, never mixed."""
    deliveries = [_delivery("x:brand", [f"x{i}"]) for i in range(150)]
    deliveries += [_delivery("bluesky:brand", [f"b{i}"]) for i in range(30)]
    deliveries += [_delivery("mastodon:brand", [f"m{i}"]) for i in range(3)]
    sizes = {"x:brand": 100, "bluesky:brand": 25, "mastodon:brand": 1}
    batches = plan(deliveries, lambda account: sizes[account])
    per_account = {a: [len(b.targets) for b in batches if b.account == a] for a in sizes}
    assert per_account == {
        "x:brand": [100, 50],
        "bluesky:brand": [25, 5],
        "mastodon:brand": [1, 1, 1],
    }
    assert all({t.account for t in b.targets} == {b.account} for b in batches)
    assert {b.platform for b in batches if b.account == "bluesky:brand"} == {"bluesky"}


def test_thread_parts_each_count() -> None:
    """Every part of a thread is a post with its own metrics."""
    batches = plan([_delivery("x:brand", ["1", "2", "3"])], 2)
    assert [[r.id for r in b.refs] for b in batches] == [["1", "2"], ["3"]]


def test_deleted_skipped_duplicates_once_failed_threads_kept() -> None:
    """Deleted deliveries are skipped, a part listed twice is collected once, and the
    confirmed parts of a failed thread are still collected."""
    deliveries = [
        _delivery("x:brand", ["1"]),
        _delivery("x:brand", ["1"]),
        _delivery("x:brand", ["2"], status=DeliveryStatus.DELETED),
        _delivery("x:brand", ["3"], status=DeliveryStatus.FAILED),
        _delivery("x:brand", [], status=DeliveryStatus.PENDING),
    ]
    assert [t.ref.id for t in targets(deliveries)] == ["1", "3"]


def test_targets_carry_delivery_campaign_and_time() -> None:
    """A target knows its delivery, campaign and publication time."""
    d = _delivery("x:brand", ["1"])
    (t,) = targets([d])
    assert (t.delivery_id, t.campaign, t.posted_at, t.platform) == (d.id, "launch", SENT_AT, "x")
    failed = _delivery("x:brand", ["9"], status=DeliveryStatus.FAILED)
    assert targets([failed])[0].posted_at is None


def test_posted_at_from_the_part() -> None:
    """A part's recorded publication time wins over the delivery's update time."""
    d = _delivery("x:brand", [])
    d.parts = [
        PartRef(index=0, id="1", extra={"posted_at": "2026-03-01T08:00:00Z"}),
        PartRef(index=1, id="2", extra={"posted_at": datetime(2026, 3, 1, 8, 5)}),
        PartRef(index=2, id="3", extra={"posted_at": "not a time"}),
    ]
    got = [t.posted_at for t in targets([d])]
    assert got == [
        datetime(2026, 3, 1, 8, 0, tzinfo=UTC),
        datetime(2026, 3, 1, 8, 5, tzinfo=UTC),
        SENT_AT,
    ]


def test_stamp_fills_in_and_keeps_platform_facts() -> None:
    """stamp() adds delivery, campaign and posted time by post id (or AT URI), keeps
    what the platform reported, and leaves other samples alone."""
    ref_x = PartRef(index=0, id="1")
    ref_sky = PartRef(index=0, id="3kabc", uri="at://did:plc:abc/app.bsky.feed.post/3kabc")
    batch = Batch(
        account="x:brand",
        platform="x",
        targets=(
            Target("x:brand", "x", ref_x, delivery_id="d1", campaign="c", posted_at=SENT_AT),
            Target("x:brand", "x", ref_sky, delivery_id="d2", campaign=None, posted_at=None),
        ),
    )
    own_time = datetime(2026, 3, 2, 8, 59, 58, tzinfo=UTC)
    now = datetime(2026, 3, 3, tzinfo=UTC)
    samples = [
        MetricSample(
            platform="x", account="x:brand", post_id="1", metric="likes", value=1, fetched_at=now
        ),
        MetricSample(
            platform="x",
            account="x:brand",
            post_id="1",
            metric="replies",
            value=1,
            fetched_at=now,
            posted_at=own_time,
        ),
        MetricSample(
            platform="x",
            account="x:brand",
            post_id=ref_sky.uri,
            metric="likes",
            value=1,
            fetched_at=now,
        ),
        MetricSample(platform="x", account="x:brand", metric="followers", value=9, fetched_at=now),
        MetricSample(
            platform="x",
            account="x:brand",
            post_id="other",
            metric="likes",
            value=1,
            fetched_at=now,
        ),
    ]
    out = batch.stamp(samples)
    assert [(s.delivery_id, s.campaign, s.posted_at) for s in out] == [
        ("d1", "c", SENT_AT),
        ("d1", "c", own_time),
        ("d2", None, None),
        (None, None, None),
        (None, None, None),
    ]
    assert [s.value for s in out] == [1, 1, 1, 9, 1]


def test_plan_batches_from_targets_and_zero_size() -> None:
    """plan_batches() takes targets directly; a size below 1 counts as 1."""
    items = [Target("x:a", "x", PartRef(index=0, id=str(i))) for i in range(3)]
    assert [len(b.targets) for b in plan_batches(items, 0)] == [1, 1, 1]
    assert plan_batches([], 10) == []
