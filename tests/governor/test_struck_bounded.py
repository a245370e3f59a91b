"""The accounts the governor saw backing off are bounded in a long-lived process.

After a bare 429 the governor notes the account, so that a success there clears its
strikes. The note went only with a later success: a worker serving many accounts, some of
which never succeed again (a revoked token, an account no longer served), kept one for
each, for its whole life. A note is now forgotten once the account has not been seen
backing off for a while (at most `_MAX_PLANS` are kept); an account still in use is noted
again by its next acquire, so its success still clears its back-off.
"""

from __future__ import annotations

import random

import httpx

from brandkit._hooks import BucketKey
from brandkit.governor import Governor
from brandkit.governor._governor import _MAX_PLANS, _STRUCK_TTL
from tests.governor.conftest import FakeClock

REQUEST = httpx.Request("POST", "http://127.0.0.1:9/post")
BARE_429 = httpx.Response(429, request=REQUEST)
OK_HEADERLESS = httpx.Response(200, request=REQUEST)
OK = httpx.Response(
    200,
    headers={"x-rate-limit-limit": "100", "x-rate-limit-remaining": "99"},
    request=REQUEST,
)


def key(n: int | str) -> BucketKey:
    return BucketKey("fake", "app", f"fake:user{n}", "post")


def strike(gov: Governor, k: BucketKey) -> float:
    """A request of ``k`` refused by a 429 that says nothing; returns the back-off."""
    assert gov.acquire(k, 1, ()) == 0.0
    wait = gov.observe(k, BARE_429)
    assert wait is not None
    return wait


def test_accounts_that_never_succeed_again_are_not_kept_for_ever(clock: FakeClock) -> None:
    gov = Governor(clock=clock, rng=random.Random(1))
    for n in range(2000):
        strike(gov, key(n))
        clock.advance(1.0)
    # Thousands of seconds later, one more account backs off: the old notes are gone.
    clock.advance(_STRUCK_TTL)
    strike(gov, key("late"))
    assert len(gov._struck) == 1
    # However many back off at once, the notes stay within the bound.
    for n in range(_MAX_PLANS + 500):
        strike(gov, key(f"burst{n}"))
    assert len(gov._struck) <= _MAX_PLANS


def check_success_clears(ok: httpx.Response, clock: FakeClock) -> None:
    gov = Governor(clock=clock, backoff_base=60.0, backoff_cap=600.0, rng=random.Random(2))
    hot = key("hot")
    clock.advance(strike(gov, hot))
    clock.advance(strike(gov, hot))
    # A long quiet spell while other accounts back off: the hot account's note is forgotten.
    clock.advance(2 * _STRUCK_TTL)
    for n in range(50):
        strike(gov, key(n))
    assert gov.acquire(hot, 1, ()) == 0.0  # the probe, after its back-off
    assert gov.acquire(hot, 1, ()) > 0.0  # the others wait for its answer
    assert gov.observe(hot, ok) is None
    # The success cleared the back-off: no hold, and the next refusal starts from the
    # smallest ceiling again.
    assert gov.acquire(hot, 1, ()) == 0.0
    assert gov.acquire(hot, 1, ()) == 0.0
    wait = gov.observe(hot, BARE_429)
    assert wait is not None and wait <= 60.0


def test_a_success_after_a_long_back_off_still_clears_it(clock: FakeClock) -> None:
    check_success_clears(OK, clock)


def test_a_headerless_success_after_a_long_back_off_still_clears_it(clock: FakeClock) -> None:
    check_success_clears(OK_HEADERLESS, clock)
