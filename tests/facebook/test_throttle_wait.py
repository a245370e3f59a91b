"""A throttle answer whose usage header names an absurd regain time (huge, infinite): the
delivery is held back with a bounded wait, never broken off by an OverflowError."""

from __future__ import annotations

import json

import pytest

from brandkit import Client, DeliveryStatus, Post, RateLimited, RetryPolicy
from brandkit.platforms._base import MAX_RETRY_AFTER
from brandkit.testing.facebook import FacebookEmulator

THROTTLED = {
    "error": {
        "message": "(#80001) There have been too many calls to this Page account.",
        "type": "OAuthException",
        "code": 80001,
        "fbtrace_id": "AbCdEfGh123",
    }
}


@pytest.mark.parametrize("minutes", ["120", "1e400", str(10**400), "1e300", "9007199254740993"])
def test_an_absurd_regain_time_is_a_bounded_rate_limit(emu: FacebookEmulator, minutes: str) -> None:
    page = emu.account()
    usage = json.dumps(
        {
            page.settings["page_id"]: [
                {"type": "pages", "call_count": 100, "estimated_time_to_regain_access": 0}
            ]
        }
    ).replace(
        '"estimated_time_to_regain_access": 0', f'"estimated_time_to_regain_access": {minutes}'
    )
    emu.fault(
        method="POST",
        path=r"/v\d+\.\d+/\d+/feed",
        status=400,
        body=THROTTLED,
        headers={"x-business-use-case-usage": usage},
        times=1,
    )
    # The wait is longer than the policy allows: the delivery fails as throttled (as with
    # a sane two hours), with the wait cut to a day or left unsaid when it is no number.
    with Client(retry=RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=1.0)) as client:
        (d,) = client.publish(Post(text="hello"), page)
    assert d.status is DeliveryStatus.FAILED, d.error
    assert isinstance(d.error, RateLimited)
    assert d.error.retry_after is None or 0 < d.error.retry_after <= MAX_RETRY_AFTER
    assert emu.post_texts() == []
