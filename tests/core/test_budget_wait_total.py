"""The waits for a rate-limit budget are bounded in total, not only one by one.

On a budget shared by many processes, a freed unit can be taken by another before this one
asks again: each answer of the governor says "wait a little" (under ``max_wait``), and the
caller waited again and again without end. Past ``max_wait`` in all, the call ends with
`RateLimited` saying when to try again.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from brandkit import AsyncClient, Client, DeliveryStatus, Post, RetryPolicy
from brandkit._hooks import BucketKey, NullGovernor
from brandkit.errors import RateLimited
from brandkit.platforms._base import RatePolicy
from brandkit.testing.mastodon import MastodonEmulator


class Starved(NullGovernor):
    """Every unit freed is taken by another process first: always 'wait 0.4 s'."""

    def __init__(self) -> None:
        self.asked = 0

    def acquire(self, key: BucketKey, cost: int, policies: Sequence[RatePolicy]) -> float:
        self.asked += 1
        return 0.4


def test_a_starved_budget_ends_after_max_wait_in_all() -> None:
    slept: list[float] = []
    governor = Starved()
    emu = MastodonEmulator()
    with (
        emu.serve(),
        Client(governor=governor, retry=RetryPolicy(max_wait=2.0), sleep=slept.append) as c,
    ):
        (d,) = c.publish(Post(text="hello"), emu.account())
    # Not now, as any rate limit longer than max_wait: due again when the budget may be free.
    assert d.status is DeliveryStatus.PENDING
    assert isinstance(d.error, RateLimited), d.error
    assert d.error.retry_after is not None and d.error.retry_after > 0
    assert sum(slept) <= 2.0 and governor.asked <= 7
    assert emu.count("POST", r"/api/v1/statuses") == 0


@pytest.mark.anyio
async def test_the_async_client_too() -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    governor = Starved()
    emu = MastodonEmulator()
    with emu.serve():
        async with AsyncClient(
            governor=governor, retry=RetryPolicy(max_wait=2.0), sleep=sleep
        ) as c:
            (d,) = await c.publish(Post(text="hello"), emu.account())
    assert isinstance(d.error, RateLimited), d.error
    assert sum(slept) <= 2.0 and governor.asked <= 7
