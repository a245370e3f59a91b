"""The governor's pacing decisions, driven directly with a fake clock."""

from __future__ import annotations

import contextvars
import random
from datetime import UTC, datetime

import httpx
import pytest

from brandkit._hooks import BucketKey, GovernorProtocol
from brandkit.errors import RateLimited
from brandkit.governor import Block, Governor, MemoryState, Slot, rate_limited
from brandkit.governor._governor import EDGE_MARGIN
from brandkit.platforms._base import RatePolicy
from tests.governor.conftest import T0, FakeClock, iso

KEY = BucketKey("x", "api.x.com", "x:brand", "post")
POLICIES = (
    RatePolicy("post", 100, 900),
    RatePolicy("post", 10_000, 86_400, scope="app"),
    RatePolicy("delete", 50, 900),
)


def x_headers(limit: int, remaining: int, reset: float) -> dict[str, str]:
    return {
        "x-rate-limit-limit": str(limit),
        "x-rate-limit-remaining": str(remaining),
        "x-rate-limit-reset": str(int(reset)),
    }


def spend(gov: Governor, key: BucketKey, n: int, policies: tuple[RatePolicy, ...]) -> int:
    """Acquire up to ``n`` times without waiting; how many were granted."""
    granted = 0
    for _ in range(n):
        if gov.acquire(key, 1, policies) == 0.0:
            granted += 1
    return granted


def test_governor_satisfies_the_protocol() -> None:
    """The governor is what the drivers expect."""
    assert isinstance(Governor(), GovernorProtocol)


def test_first_requests_are_paced_by_declared_policy(clock: FakeClock) -> None:
    """Before any response, the declared policy limits a burst, and the wait ends one
    window after the first send, plus the edge margin (the server counts a request when it
    arrives, after we logged it)."""
    gov = Governor(clock=clock)
    policies = (RatePolicy("post", 3, 60),)
    assert spend(gov, KEY, 3, policies) == 3
    clock.advance(10)
    assert gov.acquire(KEY, 1, policies) == pytest.approx(50.0 + EDGE_MARGIN)
    clock.advance(50)
    assert gov.acquire(KEY, 1, policies) == pytest.approx(EDGE_MARGIN)
    clock.advance(EDGE_MARGIN)
    assert gov.acquire(KEY, 1, policies) == 0.0


def test_other_buckets_policies_are_ignored(clock: FakeClock) -> None:
    """Only the policies of the key's bucket apply (``delete`` does not limit ``post``)."""
    gov = Governor(clock=clock)
    assert spend(gov, KEY, 100, POLICIES) == 100
    assert gov.acquire(KEY, 1, POLICIES) == pytest.approx(900.0 + EDGE_MARGIN)


MASTODON = (
    RatePolicy("api", 4, 300, every_request=True),
    RatePolicy("media", 30, 1800),
    RatePolicy("delete", 30, 1800),
)


def _masto(bucket: str, account: str = "mastodon:me") -> BucketKey:
    return BucketKey("mastodon", "m.example", account, bucket)


def test_a_limit_of_every_request_is_spent_by_every_bucket(clock: FakeClock) -> None:
    """Mastodon's ``api`` limit counts uploads and deletes too: once its 4 are spent by
    requests of any buckets, a request of any bucket waits for its window, although the
    media and delete budgets have room; another account's budget is its own."""
    gov = Governor(clock=clock)
    for bucket in ("api", "media", "delete", "media"):
        assert gov.acquire(_masto(bucket), 1, MASTODON) == 0.0
    for bucket in ("media", "delete", "api"):
        assert gov.acquire(_masto(bucket), 1, MASTODON) == pytest.approx(300.0 + EDGE_MARGIN)
    assert gov.acquire(_masto("media", "mastodon:other"), 1, MASTODON) == 0.0
    clock.advance(300.0 + EDGE_MARGIN)
    assert gov.acquire(_masto("media"), 1, MASTODON) == 0.0


def test_what_the_shared_bucket_heard_paces_the_other_buckets(clock: FakeClock) -> None:
    """An ``api`` answer saying 1 request is left is the budget an upload draws on too."""
    gov = Governor(clock=clock)
    reset = iso(clock() + 120)
    gov.observe(
        _masto("api"),
        httpx.Response(
            200,
            headers={
                "x-ratelimit-limit": "300",
                "x-ratelimit-remaining": "1",
                "x-ratelimit-reset": reset,
            },
        ),
    )
    assert gov.acquire(_masto("media"), 1, MASTODON) == 0.0
    assert gov.acquire(_masto("delete"), 1, MASTODON) > 100.0


def test_app_scope_is_shared_by_accounts(clock: FakeClock) -> None:
    """A ``scope="app"`` policy is one budget for every account of the app."""
    gov = Governor(clock=clock)
    policies = (RatePolicy("post", 100, 900), RatePolicy("post", 150, 86_400, scope="app"))
    one = BucketKey("x", "api.x.com", "x:one", "post")
    two = BucketKey("x", "api.x.com", "x:two", "post")
    other_app = BucketKey("x", "other.app", "x:two", "post")
    assert spend(gov, one, 100, policies) == 100
    assert spend(gov, two, 100, policies) == 50
    assert spend(gov, other_app, 10, policies) == 10


def test_cost_counts_units(clock: FakeClock) -> None:
    """A request costs ``cost`` units (Bluesky: create = 3 of 5000 points per hour)."""
    gov = Governor(clock=clock)
    policies = (RatePolicy("write", 5000, 3600),)
    key = BucketKey("bluesky", "bsky.social", "bluesky:me", "write")
    granted = sum(1 for _ in range(2000) if gov.acquire(key, 3, policies) == 0.0)
    assert granted == 1666


def test_local_log_is_safe_against_sliding_windows(clock: FakeClock) -> None:
    """Without server information, no span of one window ever holds more than the limit,
    even when the sends are spread out (a sliding-window server would refuse otherwise)."""
    gov = Governor(clock=clock)
    policies = (RatePolicy("post", 5, 10),)
    sent: list[float] = []
    for _ in range(40):
        wait = gov.acquire(KEY, 1, policies)
        if wait:
            clock.advance(wait)
            continue
        sent.append(clock())
        clock.advance(0.7)
    for i, t in enumerate(sent):
        assert sum(1 for u in sent[i:] if u < t + 10) <= 5
    assert len(sent) >= 12


def test_header_lowers_remaining_and_sets_exact_reset(clock: FakeClock) -> None:
    """The server's remaining replaces the declared budget; at 0 the wait is exactly
    ``reset - now`` for an aligned window proven by two consecutive resets."""
    gov = Governor(clock=clock)
    policies = (RatePolicy("post", 100, 900),)
    end = T0 + 900
    clock.advance(100)  # the window began before our first request
    assert gov.acquire(KEY, 1, policies) == 0.0
    gov.observe(KEY, httpx.Response(200, headers=x_headers(100, 1, end)))
    assert gov.acquire(KEY, 1, policies) == 0.0
    gov.observe(KEY, httpx.Response(200, headers=x_headers(100, 0, end)))
    clock.advance(23.25)
    # One aligned reset is not proof: the truncated value gets the 1 s resolution.
    assert gov.acquire(KEY, 1, policies) == pytest.approx(900 - 123.25 + 1.0)
    clock.now = end + 1.0
    assert gov.acquire(KEY, 1, policies) == 0.0
    gov.observe(KEY, httpx.Response(200, headers=x_headers(100, 0, end + 900)))
    clock.advance(0.5)
    assert gov.acquire(KEY, 1, policies) == pytest.approx(900 - 1.5)


def test_window_opened_by_our_request_ends_one_window_after_the_answer(
    clock: FakeClock,
) -> None:
    """A window cannot end later than one window after the answer that it counted: for a
    window our request opened, that beats the 1 s resolution of a truncated reset."""
    gov = Governor(clock=clock)
    policies = (RatePolicy("post", 100, 900),)
    clock.advance(0.4)  # the server's window opened with our request
    gov.acquire(KEY, 1, policies)
    clock.advance(0.05)
    gov.observe(KEY, httpx.Response(200, headers=x_headers(100, 0, T0 + 900.4)))
    assert gov.acquire(KEY, 1, policies) == pytest.approx(900.0)


def test_unaligned_whole_second_reset_is_padded(clock: FakeClock) -> None:
    """A whole-second reset that is no window boundary may be truncated: one second more."""
    gov = Governor(clock=clock)
    policies = (RatePolicy("post", 100, 900),)
    gov.acquire(KEY, 1, policies)
    reset = T0 + 517
    gov.observe(KEY, httpx.Response(200, headers=x_headers(100, 0, reset)))
    assert gov.acquire(KEY, 1, policies) == pytest.approx(518.0)


def test_fractional_reset_is_honoured_exactly(clock: FakeClock) -> None:
    """A Mastodon reset with microseconds is used exactly as sent, never rounded up."""
    gov = Governor(clock=clock)
    key = BucketKey("mastodon", "mastodon.social", "mastodon:me", "statuses")
    policies = (RatePolicy("statuses", 300, 10_800),)
    clock.advance(5)
    gov.acquire(key, 1, policies)
    reset = T0 + 10_800.308110
    headers = {
        "x-ratelimit-limit": "300",
        "x-ratelimit-remaining": "0",
        "x-ratelimit-reset": iso(reset),
    }
    gov.observe(key, httpx.Response(200, headers=headers))
    clock.advance(0.25)
    assert gov.acquire(key, 1, policies) == pytest.approx(10_800.308110 - 5.25, abs=1e-6)


def test_same_window_keeps_the_tightest_reset(clock: FakeClock) -> None:
    """Two Mastodon answers of one window differ by their fractions: the earliest counts
    (here the window's length is unknown, so nothing more can be inferred)."""
    gov = Governor(clock=clock)
    key = BucketKey("mastodon", "m.example", "mastodon:me", "api")
    for fraction, remaining in ((0.7, 1), (0.2, 0)):
        gov.acquire(key, 1, ())
        headers = {
            "x-ratelimit-limit": "300",
            "x-ratelimit-remaining": str(remaining),
            "x-ratelimit-reset": iso(T0 + 300 + fraction),
        }
        gov.observe(key, httpx.Response(200, headers=headers))
    assert gov.acquire(key, 1, ()) == pytest.approx(300.2, abs=1e-6)


def test_rack_attack_fractions_prove_the_exact_boundary(clock: FakeClock) -> None:
    """Resets of one window that differ only in their fraction, on a multiple of the
    window length, are Rack::Attack's boundary plus the request's fraction: the window
    really ends on the whole second."""
    gov = Governor(clock=clock)
    key = BucketKey("mastodon", "m.example", "mastodon:me", "api")
    policies = (RatePolicy("api", 300, 300),)
    for fraction, remaining in ((0.7, 1), (0.2, 0)):
        gov.acquire(key, 1, policies)
        headers = {
            "x-ratelimit-limit": "300",
            "x-ratelimit-remaining": str(remaining),
            "x-ratelimit-reset": iso(T0 + 300 + fraction),
        }
        gov.observe(key, httpx.Response(200, headers=headers))
    assert gov.acquire(key, 1, policies) == pytest.approx(300.0, abs=1e-6)


def test_one_fractional_reset_repeated_is_not_snapped(clock: FakeClock) -> None:
    """A window that starts at its first request sends one exact reset, however often: it
    is honoured as sent, even when its whole second is a multiple of the window."""
    gov = Governor(clock=clock)
    policies = (RatePolicy("post", 3, 300),)
    clock.advance(1)
    for remaining in (1, 0):
        gov.acquire(KEY, 1, policies)
        headers = {
            "X-RateLimit-Limit": "3",
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": f"{T0 + 300.25:.3f}",
        }
        gov.observe(KEY, httpx.Response(200, headers=headers))
    assert gov.acquire(KEY, 1, policies) == pytest.approx(299.25, abs=1e-6)


def test_stale_answer_is_ignored(clock: FakeClock) -> None:
    """An answer about a window that has already ended does not touch the current one."""
    gov = Governor(clock=clock)
    policies = (RatePolicy("post", 10, 60),)
    gov.acquire(KEY, 1, policies)
    clock.advance(61)
    gov.acquire(KEY, 1, policies)
    gov.observe(KEY, httpx.Response(200, headers=x_headers(10, 0, T0 + 60)))
    assert spend(gov, KEY, 9, policies) == 9


def test_remaining_never_rises_within_a_window(clock: FakeClock) -> None:
    """Requests still in flight are not in the server's count: a later header with more
    remaining does not undo our own reservations."""
    gov = Governor(clock=clock)
    policies = (RatePolicy("post", 10, 60),)
    assert spend(gov, KEY, 10, policies) == 10
    gov.observe(KEY, httpx.Response(200, headers=x_headers(10, 9, T0 + 60)))
    assert gov.acquire(KEY, 1, policies) > 0


def test_limit_from_server_replaces_declared(clock: FakeClock) -> None:
    """When the server's limit differs, the next window uses the server's."""
    gov = Governor(clock=clock)
    policies = (RatePolicy("post", 100, 900),)
    gov.acquire(KEY, 1, policies)
    gov.observe(KEY, httpx.Response(200, headers=x_headers(200, 199, T0 + 900)))
    clock.now = T0 + 901
    assert spend(gov, KEY, 200, policies) == 200
    assert gov.acquire(KEY, 1, policies) > 0


def test_header_without_declared_policy(clock: FakeClock) -> None:
    """A window the adapter never declared is learned from the headers alone."""
    gov = Governor(clock=clock)
    gov.acquire(KEY, 1, ())
    gov.observe(KEY, httpx.Response(200, headers=x_headers(5, 0, T0 + 30)))
    assert gov.acquire(KEY, 1, ()) == pytest.approx(31.0)


def test_x_app_24_hour_cap_is_shared(clock: FakeClock) -> None:
    """X's ``x-app-limit-24hour`` header spends one budget for every user of the app."""
    gov = Governor(clock=clock)
    one = BucketKey("x", "api.x.com", "x:one", "post")
    two = BucketKey("x", "api.x.com", "x:two", "post")
    headers = {
        **x_headers(100, 99, T0 + 900),
        "x-app-limit-24hour-limit": "10000",
        "x-app-limit-24hour-remaining": "0",
        "x-app-limit-24hour-reset": str(int(T0 + 40_000)),
    }
    gov.acquire(one, 1, POLICIES)
    gov.observe(one, httpx.Response(200, headers=headers))
    assert gov.acquire(two, 1, POLICIES) == pytest.approx(40_001.0)


def test_429_with_reset_waits_exactly_until_it(clock: FakeClock) -> None:
    """A 429 whose headers name the reset: the answer is ``reset - now`` (plus the
    resolution of a whole-second value)."""
    gov = Governor(clock=clock)
    gov.acquire(KEY, 1, POLICIES)
    response = httpx.Response(429, headers=x_headers(100, 0, T0 + 417))
    assert gov.observe(KEY, response) == pytest.approx(418.0)


def test_retry_after_is_honoured_exactly(clock: FakeClock) -> None:
    """``Retry-After`` on a 429: wait exactly that long, and block new requests meanwhile."""
    gov = Governor(clock=clock)
    gov.acquire(KEY, 1, ())
    assert gov.observe(KEY, httpx.Response(429, headers={"Retry-After": "12"})) == 12.0
    clock.advance(2)
    assert gov.acquire(KEY, 1, ()) == pytest.approx(10.0)


def test_retry_after_on_503_blocks_without_asking_to_repeat(clock: FakeClock) -> None:
    """A 503 with ``Retry-After`` is no rate limit (the request may not be repeatable), but
    the next request still waits for it."""
    gov = Governor(clock=clock)
    gov.acquire(KEY, 1, ())
    assert gov.observe(KEY, httpx.Response(503, headers={"Retry-After": "5"})) is None
    assert gov.acquire(KEY, 1, ()) == pytest.approx(5.0)


def test_telegram_retry_after(clock: FakeClock) -> None:
    """Telegram's body ``retry_after`` is the wait."""
    gov = Governor(clock=clock)
    key = BucketKey("telegram", "api.telegram.org", "telegram:bot", "send")
    body = {"ok": False, "error_code": 429, "parameters": {"retry_after": 35}}
    gov.acquire(key, 1, ())
    assert gov.observe(key, httpx.Response(429, json=body)) == 35.0


def test_bare_429_backs_off_exponentially_with_full_jitter_and_cap(clock: FakeClock) -> None:
    """Consecutive 429s that say nothing: each wait is drawn in [0, ceiling], the ceiling
    doubles from ``backoff_base`` and stops at ``backoff_cap``."""
    rng = random.Random(7)
    gov = Governor(clock=clock, backoff_base=1.0, backoff_cap=16.0, rng=random.Random(7))
    waits = []
    for _ in range(8):
        assert gov.acquire(KEY, 1, ()) == 0.0
        wait = gov.observe(KEY, httpx.Response(429))
        assert wait is not None
        waits.append(wait)
        clock.advance(wait)
    ceilings = [1.0, 2.0, 4.0, 8.0, 16.0, 16.0, 16.0, 16.0]
    assert waits == pytest.approx([rng.uniform(0.0, c) for c in ceilings])


def test_a_long_run_of_bare_429s_stays_capped(clock: FakeClock) -> None:
    """The ceiling stays ``backoff_cap`` however many bare 429s come in a row: past the
    1,024th, ``backoff_base * 2**(strikes - 1)`` overflowed a float, so every acquire (the
    probe's hold) and every answer raised OverflowError, and the strikes, kept in the
    state, stopped the account for good: no success could ever clear them."""
    gov = Governor(clock=clock, backoff_base=1.0, backoff_cap=16.0, rng=random.Random(5))
    for _ in range(1100):
        assert gov.acquire(KEY, 1, ()) == 0.0
        wait = gov.observe(KEY, httpx.Response(429))
        assert wait is not None and 0.0 <= wait <= 16.0
        clock.advance(wait)
    assert gov.acquire(KEY, 1, ()) == 0.0
    gov.observe(KEY, httpx.Response(200))
    assert gov.acquire(KEY, 1, ()) == 0.0


def test_bare_429_lets_one_probe_through(clock: FakeClock) -> None:
    """While backing off, only one request at a time probes the platform."""
    gov = Governor(clock=clock, rng=random.Random(1))
    assert gov.acquire(KEY, 1, ()) == 0.0
    wait = gov.observe(KEY, httpx.Response(429))
    assert wait is not None
    clock.advance(wait)
    assert gov.acquire(KEY, 1, ()) == 0.0  # the probe
    assert gov.acquire(KEY, 1, ()) > 0.0  # the others wait for its answer
    gov.observe(KEY, httpx.Response(200))
    assert gov.acquire(KEY, 1, ()) == 0.0
    assert gov.acquire(KEY, 1, ()) == 0.0


def test_success_resets_the_backoff(clock: FakeClock) -> None:
    """After a success, the next bare 429 starts again from the smallest ceiling."""
    gov = Governor(clock=clock, backoff_base=1.0, rng=random.Random(3))
    for _ in range(5):
        gov.acquire(KEY, 1, ())
        clock.advance(gov.observe(KEY, httpx.Response(429)) or 0.0)
    gov.acquire(KEY, 1, ())
    gov.observe(KEY, httpx.Response(200))
    gov.acquire(KEY, 1, ())
    wait = gov.observe(KEY, httpx.Response(429))
    assert wait is not None and wait <= 1.0


def test_meta_usage_throttles_at_90_percent(clock: FakeClock) -> None:
    """Meta usage at or above 90 % spaces calls out; below, nothing waits."""
    gov = Governor(clock=clock)
    key = BucketKey("facebook", "graph.facebook.com", "facebook:page", "feed")
    low = httpx.Response(200, headers={"X-App-Usage": '{"call_count":50}'})
    high = httpx.Response(200, headers={"X-App-Usage": '{"call_count":95,"total_time":3}'})
    gov.acquire(key, 1, ())
    assert gov.observe(key, low) is None
    assert gov.acquire(key, 1, ()) == 0.0
    assert gov.observe(key, high) is None
    assert gov.acquire(key, 1, ()) == pytest.approx(36.0 * 6)
    clock.advance(36.0 * 6)
    assert gov.acquire(key, 1, ()) == 0.0
    gov.observe(key, low)
    assert gov.acquire(key, 1, ()) == 0.0


def test_meta_app_usage_is_app_wide(clock: FakeClock) -> None:
    """``X-App-Usage`` throttles every account of the app."""
    gov = Governor(clock=clock)
    one = BucketKey("facebook", "graph.facebook.com", "facebook:one", "feed")
    two = BucketKey("facebook", "graph.facebook.com", "facebook:two", "photos")
    gov.acquire(one, 1, ())
    gov.observe(one, httpx.Response(200, headers={"X-App-Usage": '{"call_count":100}'}))
    assert gov.acquire(two, 1, ()) > 0.0


def test_meta_regain_access_time_is_honoured(clock: FakeClock) -> None:
    """A throttled BUC answer: wait ``estimated_time_to_regain_access`` minutes."""
    gov = Governor(clock=clock)
    key = BucketKey("facebook", "graph.facebook.com", "facebook:page", "feed")
    header = '{"1":[{"type":"pages","call_count":100,"estimated_time_to_regain_access":7}]}'
    response = httpx.Response(
        400,
        headers={"X-Business-Use-Case-Usage": header},
        json={"error": {"code": 32, "message": "(#32) Page request limit reached"}},
    )
    gov.acquire(key, 1, ())
    assert gov.observe(key, response) == pytest.approx(420.0)
    clock.advance(100)
    assert gov.acquire(key, 1, ()) == pytest.approx(320.0)


def test_idle_longer_than_a_window(clock: FakeClock) -> None:
    """After idling for several windows, a full window is available at once, and aligned
    windows keep their phase."""
    gov = Governor(clock=clock)
    policies = (RatePolicy("post", 3, 60),)
    for w in range(2):
        gov.acquire(KEY, 1, policies)
        end = T0 + 60 * (w + 1)
        gov.observe(KEY, httpx.Response(200, headers=x_headers(3, 0, end)))
        clock.now = end + 1.0
    clock.now = T0 + 60 * 7 + 12.5  # idle for five windows
    assert spend(gov, KEY, 3, policies) == 3
    assert gov.acquire(KEY, 1, policies) == pytest.approx(60 - 12.5)


def test_refusal_after_trusting_alignment_turns_padding_back_on(clock: FakeClock) -> None:
    """If a server refuses right after an aligned reset, its resets are padded from then."""
    gov = Governor(clock=clock)
    policies = (RatePolicy("post", 3, 60),)
    for w in range(2):
        gov.acquire(KEY, 1, policies)
        end = T0 + 60 * (w + 1)
        gov.observe(KEY, httpx.Response(200, headers=x_headers(3, 0, end)))
        clock.now = end + 1.0
    gov.acquire(KEY, 1, policies)
    gov.observe(KEY, httpx.Response(429, headers=x_headers(3, 0, T0 + 180)))
    clock.advance(1.0)
    assert gov.acquire(KEY, 1, policies) == pytest.approx(T0 + 181 - clock())


def test_observe_without_acquire(clock: FakeClock) -> None:
    """Observing a key never acquired works (no declared policies known)."""
    gov = Governor(clock=clock)
    assert gov.observe(KEY, httpx.Response(200, headers=x_headers(10, 0, T0 + 30))) is None
    assert gov.acquire(KEY, 1, ()) == pytest.approx(31.0)


def test_state_is_keyed_by_platform_app_account_bucket(clock: FakeClock) -> None:
    """Every part of the key separates budgets; app-scoped windows omit the account."""
    store = MemoryState()
    gov = Governor(store, clock=clock)
    gov.acquire(KEY, 1, POLICIES)
    account_slots = store.entries("x|api.x.com|x:brand|post")
    app_slots = store.entries("x|api.x.com||post")
    assert isinstance(account_slots["900s"], Slot)
    assert account_slots["900s"].available() == 99
    assert isinstance(app_slots["86400s"], Slot)
    assert app_slots["86400s"].available() == 9_999
    gov.acquire(KEY, 1, ())
    wait = gov.observe(KEY, httpx.Response(429))
    assert isinstance(store.entries("x|api.x.com|x:brand|post")["!block"], Block)
    assert wait is not None


def test_rate_limited_error_carries_reset_and_bucket() -> None:
    """``rate_limited`` builds the typed error with reset time, wait and bucket."""
    before = datetime.now(UTC)
    err = rate_limited(KEY, 90.0, platform_message="Too Many Requests")
    assert isinstance(err, RateLimited)
    assert err.bucket == "x:post"
    assert err.retry_after == 90.0
    assert err.reset_at is not None
    assert 89.0 <= (err.reset_at - before).total_seconds() <= 91.0
    assert err.status_code == 429
    assert "x:brand" not in str(err)


def exact_headers(limit: int, remaining: int, reset: float) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset": f"{reset:.3f}",
    }


def test_request_in_flight_at_reset_is_carried_over(clock: FakeClock) -> None:
    """A request sent just before the reset may be counted in the new window: until its
    answer says where it landed, the new window holds one unit less."""
    gov = Governor(clock=clock)
    policies = (RatePolicy("post", 5, 2.0),)
    for remaining in (4, 3, 2, 1):
        gov.acquire(KEY, 1, policies)
        gov.observe(KEY, httpx.Response(200, headers=exact_headers(5, remaining, T0 + 2)))
    clock.now = T0 + 1.99
    assert gov.acquire(KEY, 1, policies) == 0.0  # in flight across the reset
    clock.now = T0 + 2.0
    assert spend(gov, KEY, 5, policies) == 4


def test_carried_request_counted_in_the_old_window_gives_its_unit_back(clock: FakeClock) -> None:
    """When the late answer shows the server counted it in the old window, the unit it held
    in the new window is free again. (The carried request is sent by a task of its own, as
    the drivers send each request in the task that acquired it.)"""
    gov = Governor(clock=clock)
    policies = (RatePolicy("post", 5, 2.0),)
    for remaining in (4, 3, 2, 1):
        gov.acquire(KEY, 1, policies)
        gov.observe(KEY, httpx.Response(200, headers=exact_headers(5, remaining, T0 + 2)))
    clock.now = T0 + 1.99
    carried = contextvars.copy_context()
    carried.run(gov.acquire, KEY, 1, policies)
    clock.now = T0 + 2.0
    assert spend(gov, KEY, 5, policies) == 4
    clock.now = T0 + 2.02
    late = httpx.Response(200, headers=exact_headers(5, 0, T0 + 2))
    assert carried.run(gov.observe, KEY, late) is None
    assert gov.acquire(KEY, 1, policies) == 0.0
    assert gov.acquire(KEY, 1, policies) > 0.0
