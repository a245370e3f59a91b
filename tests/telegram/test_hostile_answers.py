"""Telegram answers brandkit must survive: hostile or garbled numbers in error bodies."""

from __future__ import annotations

import math

import pytest

from brandkit import Client, DeliveryStatus, Post
from brandkit.errors import RateLimited
from brandkit.testing.telegram import TelegramEmulator

from .conftest import FAST


@pytest.mark.parametrize("wait", [1e300, math.inf, math.nan, 10**400])
def test_a_429_with_an_absurd_retry_after_is_a_rate_limit_not_a_crash(
    emu: TelegramEmulator, wait: float
) -> None:
    """A 429 whose parameters.retry_after is absurd (beyond what a clock holds, infinite,
    not a number) ends the publish as a rate limit, never as an OverflowError from the
    driver's retry loop; nothing is sent twice."""
    acct = emu.account()
    emu.fault(
        method="POST",
        path=r"/bot[^/]+/sendMessage",
        status=429,
        body={
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 5",
            "parameters": {"retry_after": wait},
        },
    )
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="hello"), acct)
    if d.status is DeliveryStatus.SENT:
        # No usable wait (NaN): backed off and sent again; a 429 sent nothing.
        assert emu.post_texts() == ["hello"]
        return
    assert isinstance(d.error, RateLimited)
    retry_after = d.error.retry_after
    assert retry_after is not None and math.isfinite(retry_after) and retry_after > 0
    assert emu.post_texts() == []
