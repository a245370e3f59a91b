"""``max_server_wait`` caps what a server imposes, never a declared window's own wait.

The cap exists for holds a server sends (a hostile ``Retry-After``, a reset years ahead). It
also cut the wait of a window only the adapter declared: with ``max_server_wait=600`` against
LinkedIn's 150 posts a day, a spent day was reported as "frees up in 600 s", and again 600 s
later, all day: `RateLimited.retry_after` was too early every time. A declared window's wait is
now its own; the holds a server sent are still brought within the cap.
"""

from __future__ import annotations

import random

import httpx
import pytest

from brandkit import Client, RetryPolicy
from brandkit._hooks import BucketKey
from brandkit.errors import RateLimited
from brandkit.governor import Governor
from brandkit.platforms._base import RatePolicy
from tests.governor.conftest import FakeClock, PostAdapter, WindowedFake, account

DAY = 86_400.0
POLICY = (RatePolicy("post", 3, DAY),)
KEY = BucketKey("fake", "app", "fake:a1", "post")


def test_a_spent_declared_day_is_reported_as_the_day_not_the_cap(clock: FakeClock) -> None:
    gov = Governor(clock=clock, max_server_wait=600)
    for _ in range(3):
        assert gov.acquire(KEY, 1, POLICY) == 0.0
    clock.advance(3600)
    wait = gov.acquire(KEY, 1, POLICY)
    assert wait == pytest.approx(DAY - 3600, abs=1.0)
    clock.advance(600)  # the old answer: asked again then, it said 600 s once more
    assert gov.acquire(KEY, 1, POLICY) == pytest.approx(DAY - 4200, abs=1.0)
    clock.advance(DAY - 4200 + 1.0)
    assert gov.acquire(KEY, 1, POLICY) == 0.0


def test_the_client_raises_with_the_true_retry_time(clock: FakeClock) -> None:
    fake = WindowedFake(clock, 100, 60.0, style="none")  # the platform sends no headers
    client = Client(
        http=httpx.Client(transport=httpx.MockTransport(fake)),
        governor=Governor(clock=clock, rng=random.Random(0), max_server_wait=600),
        sleep=clock.sleep,
        retry=RetryPolicy(max_wait=900),
    )
    adapter = PostAdapter(account(), POLICY)
    for _ in range(3):
        assert client.run(adapter, adapter.post()).status_code == 200
    with pytest.raises(RateLimited) as caught:
        client.run(adapter, adapter.post())
    assert caught.value.retry_after == pytest.approx(DAY, abs=1.0)
    assert len(fake.times) == 3
    assert sum(clock.sleeps) == 0.0  # no wait of 600 s that would have ended in another


def test_a_server_hold_past_the_cap_is_still_capped_beside_a_shorter_declared_wait(
    clock: FakeClock,
) -> None:
    """A Retry-After of a year is cut to the cap; the declared window (spent for a day) then
    sets the wait, the longer of the two."""
    gov = Governor(clock=clock, max_server_wait=600)
    assert gov.acquire(KEY, 1, POLICY) == 0.0
    refused = httpx.Response(429, headers={"Retry-After": str(365 * 86400)})
    assert gov.observe(KEY, refused) == pytest.approx(600.0)
    assert gov.acquire(KEY, 1, POLICY) == pytest.approx(600.0)
    clock.advance(601)
    for _ in range(2):
        assert gov.acquire(KEY, 1, POLICY) == 0.0
    gov.observe(KEY, httpx.Response(429, headers={"Retry-After": str(365 * 86400)}))
    # (Sends close together share one run in the log, which frees at its last send's time.)
    assert DAY - 602 <= gov.acquire(KEY, 1, POLICY) <= DAY + 1
