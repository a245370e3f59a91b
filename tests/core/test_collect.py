"""Client.collect uses each platform's largest batch: exactly ceil(N / batch) requests."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from brandkit import AsyncClient, Client, Delivery, Post, RetryPolicy
from brandkit._hooks import NullGovernor
from brandkit.metrics import MetricsStore
from brandkit.testing import Emulator
from brandkit.testing.bluesky import BlueskyEmulator
from brandkit.testing.mastodon import MastodonEmulator
from brandkit.testing.x import XEmulator

SIZES = [1, 20, 21, 100, 101, 250]
# (platform, batch size, metrics request path)
PLATFORMS = {
    "x": (100, r"/2/tweets"),
    "mastodon": (20, r"/api/v1/statuses"),
    "bluesky": (25, r"/xrpc/app\.bsky\.feed\.getPosts"),
}


def _emulator(platform: str) -> Emulator:
    if platform == "x":
        return XEmulator(rate_limits={"POST /2/tweets": (10_000, 900.0)}, user_daily_posts=10_000)
    if platform == "mastodon":
        return MastodonEmulator(rate_limits={"statuses": (10_000, 3600.0), "api": (10_000, 300.0)})
    return BlueskyEmulator()


@pytest.fixture(scope="module", params=list(PLATFORMS))
def published(
    request: pytest.FixtureRequest,
) -> Iterator[tuple[str, Emulator, Client, list[Delivery]]]:
    """250 posts published in-process on one account of each platform."""
    platform = request.param
    emu = _emulator(platform)
    account = emu.account()
    client = Client(
        http=httpx.Client(transport=emu.transport()),
        governor=NullGovernor(),
        retry=RetryPolicy(initial=0.001, max_backoff=0.002),
    )
    deliveries = [
        d for i in range(max(SIZES)) for d in client.publish(Post(text=f"post number {i}"), account)
    ]
    assert all(d.ok for d in deliveries)
    yield platform, emu, client, deliveries
    client.close()


@pytest.mark.parametrize("n", SIZES)
def test_collect_costs_the_minimum_requests(
    published: tuple[str, Emulator, Client, list[Delivery]], n: int
) -> None:
    """Collecting N posts costs exactly ceil(N / largest batch) metrics requests."""
    platform, emu, client, deliveries = published
    batch, path = PLATFORMS[platform]
    before = emu.count("GET", path)
    samples = client.collect(deliveries[:n])
    assert emu.count("GET", path) - before == math.ceil(n / batch)
    ids = {s.post_id for s in samples}
    assert ids == {d.parts[0].id for d in deliveries[:n]} or ids == {
        d.parts[0].uri for d in deliveries[:n]
    }
    assert all(s.delivery_id in {d.id for d in deliveries[:n]} for s in samples)


def test_collected_samples_store_and_grow(
    published: tuple[str, Emulator, Client, list[Delivery]], tmp_path: Path
) -> None:
    """Two snapshots a simulated day apart go into the store as a growing time series."""
    _platform, emu, client, deliveries = published
    store = MetricsStore(tmp_path / "m.db")
    first = client.collect(deliveries[:5])
    emu.clock.advance(86_400)
    second = client.collect(deliveries[:5])
    assert store.add(first) == len(first)
    assert store.add(first) == 0  # idempotent ingest
    store.add(second)
    likes_then = sum(s.value or 0 for s in first if s.metric == "likes" and s.available)
    likes_now = sum(s.value or 0 for s in second if s.metric == "likes" and s.available)
    assert likes_now > likes_then
    store.close()


@pytest.mark.anyio
async def test_async_collect_matches_sync(
    published: tuple[str, Emulator, Client, list[Delivery]],
) -> None:
    """The async collector makes the same number of requests and returns the same posts."""
    platform, emu, client, deliveries = published
    batch, path = PLATFORMS[platform]
    account = client._core.accounts[deliveries[0].account]
    async with AsyncClient(
        http=httpx.AsyncClient(transport=emu.transport()),
        governor=NullGovernor(),
        accounts=[account],
    ) as aclient:
        before = emu.count("GET", path)
        samples = await aclient.collect(deliveries[:30])
    assert emu.count("GET", path) - before == math.ceil(30 / batch)
    assert {s.delivery_id for s in samples} == {d.id for d in deliveries[:30]}


@pytest.fixture
def anyio_backend() -> str:
    """Async tests on asyncio."""
    return "asyncio"


def _truth(platform: str, emu: Emulator, post_id: str, uri: str | None) -> dict[str, float]:
    """The emulator's own numbers for a post right now, under canonical names."""
    if platform == "x":
        e = emu.engagement(post_id)  # type: ignore[attr-defined]
        return {"likes": e["like_count"], "replies": e["reply_count"], "quotes": e["quote_count"]}
    if platform == "mastodon":
        st = emu.status(post_id)  # type: ignore[attr-defined]
        return {
            "likes": st["favourites_count"],
            "reposts": st["reblogs_count"],
            "replies": st["replies_count"],
        }
    c = emu.counts(uri)  # type: ignore[attr-defined]
    return {"likes": c["likeCount"], "reposts": c["repostCount"], "replies": c["replyCount"]}


def test_stored_values_equal_the_platform_at_fetch_time(
    published: tuple[str, Emulator, Client, list[Delivery]], tmp_path: Path
) -> None:
    """What the store keeps is exactly what the platform said when it was asked."""
    platform, emu, client, deliveries = published
    emu.clock.advance(7200)  # let engagement grow to non-trivial numbers
    chosen = deliveries[:7]

    def read() -> dict[str, dict[str, float]]:
        return {d.parts[0].id: _truth(platform, emu, d.parts[0].id, d.parts[0].uri) for d in chosen}

    # Engagement grows with (real) time, so bracket the fetch: before <= stored <= after.
    before = read()
    samples = client.collect(chosen)
    truth = read()
    with MetricsStore(tmp_path / "acc.db") as store:
        store.add(samples)
        checked = 0
        for d in chosen:
            ref = d.parts[0]
            for s in store.latest(post_id=ref.id) or store.latest(post_id=ref.uri):
                expected = truth[ref.id].get(s.metric)
                if expected is not None:
                    assert s.value is not None
                    assert before[ref.id][s.metric] <= s.value <= expected, (platform, s.metric)
                    checked += 1
    assert checked >= 2 * len(chosen)
    assert any(v["likes"] > 0 for v in truth.values())
