"""`NullGovernor` caps a server's wait as the governor does (24 h).

It passed ``Retry-After`` through as sent: with ``RetryPolicy(max_wait=math.inf)`` (wait for
any reset) ``Retry-After: 999999999`` slept 31 years, and ``1e300`` made ``time.sleep`` raise
``OverflowError``.
"""

from __future__ import annotations

import math

import httpx
import pytest

from brandkit import Client
from brandkit._client import RetryPolicy
from brandkit._hooks import BucketKey, NullGovernor
from tests.governor.conftest import FakeClock, PostAdapter, account

KEY = BucketKey("fake", "127.0.0.1", "fake:a1", "post")
DAY = 86400.0


@pytest.mark.parametrize(("value", "expected"), [("1e300", DAY), ("999999999", DAY), ("30", 30.0)])
def test_null_governor_caps_retry_after(value: str, expected: float) -> None:
    wait = NullGovernor().observe(KEY, httpx.Response(429, headers={"Retry-After": value}))
    assert wait == expected


def test_client_with_null_governor_never_sleeps_past_a_day(clock: FakeClock) -> None:
    answers = [httpx.Response(429, headers={"Retry-After": "1e300"})]

    def handler(request: httpx.Request) -> httpx.Response:
        return answers.pop(0) if answers else httpx.Response(200, json={"id": "1"})

    client = Client(
        http=httpx.Client(transport=httpx.MockTransport(handler)),
        governor=NullGovernor(),
        sleep=clock.sleep,
        retry=RetryPolicy(max_wait=math.inf),
    )
    adapter = PostAdapter(account())
    assert client.run(adapter, adapter.post()).status_code == 200
    assert clock.sleeps == [DAY]
