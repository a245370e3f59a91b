"""The governor's per-key bookkeeping is bounded in a long-lived process.

Each (platform, app, account, bucket) the governor saw kept a plan (its scopes, the grants
awaiting answers, recent round trips: a few KB) for good, so a worker serving accounts that
come and go grew without end. Past `_MAX_PLANS` keys the least recently used plans that hold
nothing awaited are dropped (one comes back as a process that just started would make it);
a plan with a grant still awaited is kept, so its answer or loss is still settled.
"""

from __future__ import annotations

import contextvars

import httpx

from brandkit._hooks import BucketKey
from brandkit.governor import Governor
from brandkit.governor._governor import _MAX_PLANS
from brandkit.platforms._base import RatePolicy
from tests.governor.conftest import FakeClock

POLICIES = (RatePolicy("post", 100, 60.0),)
OK = httpx.Response(
    200,
    headers={"x-rate-limit-limit": "100", "x-rate-limit-remaining": "99"},
    request=httpx.Request("POST", "http://127.0.0.1:9/post"),
)


def key(n: int) -> BucketKey:
    return BucketKey("fake", "app", f"fake:user{n}", "post")


def _flood(gov: Governor, clock: FakeClock, keys: range) -> None:
    for n in keys:
        assert gov.acquire(key(n), 1, POLICIES) == 0.0
        gov.observe(key(n), OK)
        clock.advance(0.001)


def test_many_accounts_do_not_grow_the_bookkeeping_past_its_bound(clock: FakeClock) -> None:
    gov = Governor(clock=clock)
    _flood(gov, clock, range(_MAX_PLANS + 1500))
    assert len(gov._plans) <= _MAX_PLANS
    # Answers of keys seen only once, long ago (plans dropped), are still taken.
    assert gov.observe(key(0), OK) is None


def test_a_key_in_use_keeps_its_plan_and_its_grant_in_flight(clock: FakeClock) -> None:
    gov = Governor(clock=clock)
    hot = BucketKey("fake", "app", "fake:hot", "post")
    assert gov.acquire(hot, 1, POLICIES) == 0.0  # its answer is awaited meanwhile
    plan = gov._plans[hot]
    # Other accounts, in another context (another thread or task of the same process).
    contextvars.copy_context().run(_flood, gov, clock, range(_MAX_PLANS + 1500))
    assert gov._plans.get(hot) is plan
    assert list(plan.grants)  # still awaited: its answer will be timed from it
    gov.observe(hot, OK)
    assert not list(plan.grants)
    assert list(plan.rtts)[-1] > 1.0  # timed from its own grant, before the other accounts'


def test_a_recently_used_key_is_not_dropped(clock: FakeClock) -> None:
    gov = Governor(clock=clock)
    busy = BucketKey("fake", "app", "fake:busy", "post")
    assert gov.acquire(busy, 1, POLICIES) == 0.0
    gov.observe(busy, OK)
    plan = gov._plans[busy]
    for start in range(0, 3 * _MAX_PLANS, 500):
        _flood(gov, clock, range(start, start + 500))
        assert gov.acquire(busy, 1, POLICIES) == 0.0
        gov.observe(busy, OK)
    assert gov._plans.get(busy) is plan
    assert len(gov._plans) <= _MAX_PLANS
