"""Header parsing: every rate-limit style, checked against recorded real responses."""

from __future__ import annotations

from datetime import datetime

import httpx
import pytest

from brandkit.governor import RateLimitInfo, Window, parse_rate_limit
from brandkit.governor._parse import NEGATIVE_WAIT
from tests.governor.conftest import DATA, T0, cassette_responses

X_CASSETTES = [c for c in cassette_responses("x") if "x-rate-limit-limit" in c[1].headers]
MASTODON_CASSETTES = [
    c for c in cassette_responses("mastodon") if "x-ratelimit-limit" in c[1].headers
]


def test_cassettes_are_there() -> None:
    """The recorded cassettes with real rate-limit headers are found (tests below use them)."""
    assert (DATA / "x" / "cassettes").is_dir()
    assert len(X_CASSETTES) >= 10
    assert len(MASTODON_CASSETTES) >= 20


@pytest.mark.parametrize(("name", "response"), X_CASSETTES, ids=[c[0] for c in X_CASSETTES])
def test_x_cassette_headers(name: str, response: httpx.Response) -> None:
    """X's recorded ``x-rate-limit-*`` headers parse to one window with an epoch reset that
    may have been truncated (resolution 1 s)."""
    info = parse_rate_limit(response, now=T0)
    assert info is not None
    (win,) = info.windows
    assert win.name == "x-rate-limit"
    assert win.limit == int(response.headers["x-rate-limit-limit"])
    assert win.remaining == int(response.headers["x-rate-limit-remaining"])
    assert win.reset == float(response.headers["x-rate-limit-reset"])
    assert win.resolution == 1.0
    assert win.scope == "account"
    assert not info.limited


@pytest.mark.parametrize(
    ("name", "response"), MASTODON_CASSETTES, ids=[c[0] for c in MASTODON_CASSETTES]
)
def test_mastodon_cassette_headers(name: str, response: httpx.Response) -> None:
    """Mastodon's recorded lowercase ``x-ratelimit-*`` headers parse with the ISO 8601 reset
    to the microsecond, taken as exact."""
    info = parse_rate_limit(response, now=T0)
    assert info is not None
    (win,) = info.windows
    raw = response.headers["x-ratelimit-reset"]
    assert win.name == "x-ratelimit"
    assert win.limit == int(response.headers["x-ratelimit-limit"])
    assert win.remaining == int(response.headers["x-ratelimit-remaining"])
    assert win.reset == datetime.fromisoformat(raw).timestamp()
    assert win.reset is not None and win.reset % 1 != 0
    assert win.resolution == 0.0


def test_mastodon_cassette_reset_is_rack_attack_boundary_plus_fraction() -> None:
    """A real Mastodon reset is a period boundary plus the request's fraction of a second."""
    resets = {
        (r.headers["x-ratelimit-limit"], r.headers["x-ratelimit-reset"])
        for _, r in MASTODON_CASSETTES
    }
    periods = {"300": 300, "30": 1800}
    checked = 0
    for limit, raw in resets:
        if limit in periods:
            whole = int(datetime.fromisoformat(raw).timestamp())
            assert whole % periods[limit] == 0, raw
            checked += 1
    assert checked >= 5


def test_x_24_hour_headers() -> None:
    """X's 24-hour user and app caps become windows of 86,400 s, the app one app-scoped."""
    response = httpx.Response(
        200,
        headers={
            "x-rate-limit-limit": "100",
            "x-rate-limit-remaining": "99",
            "x-rate-limit-reset": "1800000900",
            "x-user-limit-24hour-limit": "100",
            "x-user-limit-24hour-remaining": "97",
            "x-user-limit-24hour-reset": "1800050000",
            "x-app-limit-24hour-limit": "10000",
            "x-app-limit-24hour-remaining": "9876",
            "x-app-limit-24hour-reset": "1800060000",
        },
    )
    info = parse_rate_limit(response, now=T0)
    assert info is not None
    by_name = {w.name: w for w in info.windows}
    assert by_name["x-user-limit-24hour"] == Window(
        "x-user-limit-24hour", 100, 97, 1800050000.0, 1.0, 86400.0, "account"
    )
    assert by_name["x-app-limit-24hour"] == Window(
        "x-app-limit-24hour", 10000, 9876, 1800060000.0, 1.0, 86400.0, "app"
    )
    assert by_name["x-rate-limit"].window is None


def test_mastodon_headers_in_any_case_and_epoch_reset() -> None:
    """``X-RateLimit-*`` in any case; an epoch reset (GoToSocial) is read as epoch."""
    response = httpx.Response(
        200,
        headers={
            "X-RATELIMIT-LIMIT": "300",
            "X-Ratelimit-Remaining": "12",
            "x-RateLimit-Reset": "1800000300",
        },
    )
    info = parse_rate_limit(response, now=T0)
    assert info is not None
    assert info.windows == (Window("x-ratelimit", 300, 12, 1800000300.0, 1.0, None, "account"),)


def test_discord_reset_after_wins_over_rounded_reset() -> None:
    """Discord's ``X-RateLimit-Reset-After`` (ms precision) is used over the epoch reset."""
    response = httpx.Response(
        200,
        headers={
            "X-RateLimit-Limit": "5",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": "1800000001.250",
            "X-RateLimit-Reset-After": "1.25",
        },
    )
    info = parse_rate_limit(response, now=T0)
    assert info is not None
    assert info.windows[0].reset == pytest.approx(T0 + 1.25)
    assert info.windows[0].resolution == 0.0


def test_bluesky_ietf_headers() -> None:
    """Bluesky's ``RateLimit-*`` with ``RateLimit-Policy`` (as the real PDS sends them)."""
    response = httpx.Response(
        200,
        headers={
            "ratelimit-limit": "3000",
            "ratelimit-remaining": "2999",
            "ratelimit-reset": "1800000300",
            "ratelimit-policy": "3000;w=300",
        },
    )
    info = parse_rate_limit(response, now=T0)
    assert info is not None
    assert info.windows == (Window("ratelimit", 3000, 2999, 1800000300.0, 1.0, 300.0, "account"),)


def test_ietf_several_policies_and_delta_reset() -> None:
    """With several policies, the one whose quota is ``RateLimit-Limit`` gives the window;
    a small reset value is delta seconds."""
    response = httpx.Response(
        200,
        headers={
            "RateLimit-Limit": "35000",
            "RateLimit-Remaining": "100",
            "RateLimit-Reset": "50",
            "RateLimit-Policy": "5000;w=3600, 35000;w=86400",
        },
    )
    info = parse_rate_limit(response, now=T0)
    assert info is not None
    (win,) = info.windows
    assert win.window == 86400.0
    assert win.reset == T0 + 50


def test_ietf_structured_fields() -> None:
    """The structured form of newer IETF drafts (``RateLimit: "default";r=;t=``)."""
    response = httpx.Response(
        200,
        headers={"RateLimit": '"default";r=7;t=30', "RateLimit-Policy": '"default";q=10;w=60'},
    )
    info = parse_rate_limit(response, now=T0)
    assert info is not None
    assert info.windows == (Window("ratelimit", 10, 7, T0 + 30, 1.0, 60.0, "account"),)


def test_bluesky_429_with_retry_after() -> None:
    """A Bluesky 429: limited, remaining 0, ``Retry-After`` in seconds."""
    response = httpx.Response(
        429,
        headers={
            "ratelimit-limit": "30",
            "ratelimit-remaining": "0",
            "ratelimit-reset": "1800000240",
            "ratelimit-policy": "30;w=300",
            "retry-after": "240",
        },
        json={"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
    )
    info = parse_rate_limit(response, now=T0)
    assert info is not None
    assert info.limited
    assert info.retry_after == 240.0
    assert info.windows[0].remaining == 0


def test_retry_after_http_date() -> None:
    """``Retry-After`` as an HTTP date is turned into seconds from the response."""
    response = httpx.Response(503, headers={"Retry-After": "Fri, 15 Jan 2027 08:00:30 GMT"})
    now = datetime.fromisoformat("2027-01-15T08:00:00+00:00").timestamp()
    info = parse_rate_limit(response, now=now)
    assert info is not None
    assert info.retry_after == 30.0
    assert not info.limited


def test_a_retry_after_date_already_past_is_a_short_backoff() -> None:
    """A date before the answer's own time is a clock behind ours, not "go now": like a
    negative delta, it is `NEGATIVE_WAIT`."""
    response = httpx.Response(429, headers={"Retry-After": "Fri, 15 Jan 2027 07:59:00 GMT"})
    now = datetime.fromisoformat("2027-01-15T08:00:00+00:00").timestamp()
    info = parse_rate_limit(response, now=now)
    assert info is not None and info.retry_after == NEGATIVE_WAIT


def test_meta_app_usage() -> None:
    """Meta's ``X-App-Usage`` gives the highest of its percentages, app-wide."""
    response = httpx.Response(
        200, headers={"X-App-Usage": '{"call_count":28,"total_time":91,"total_cputime":25}'}
    )
    assert parse_rate_limit(response, now=T0) == RateLimitInfo(app_usage=91.0)


def test_meta_business_use_case_usage_with_regain_time() -> None:
    """``X-Business-Use-Case-Usage``: the highest percentage of every business object, and
    ``estimated_time_to_regain_access`` (minutes) as seconds to wait."""
    header = (
        '{"112233":[{"type":"pages","call_count":100,"total_cputime":12,"total_time":30,'
        '"estimated_time_to_regain_access":7}],'
        '"445566":[{"type":"instagram","call_count":5,"total_cputime":1,"total_time":1,'
        '"estimated_time_to_regain_access":0}]}'
    )
    response = httpx.Response(
        400,
        headers={"X-Business-Use-Case-Usage": header},
        json={"error": {"message": "(#32) Page request limit reached", "code": 32}},
    )
    info = parse_rate_limit(response, now=T0)
    assert info is not None
    assert info.account_usage == 100.0
    assert info.retry_after == 7 * 60.0
    assert info.limited


def test_meta_throttle_code_without_headers() -> None:
    """A Meta error with a throttling code (4: app limit) is a refusal for going too fast."""
    response = httpx.Response(
        403,
        json={"error": {"message": "(#4) Application request limit reached", "code": 4}},
    )
    info = parse_rate_limit(response, now=T0)
    assert info == RateLimitInfo(limited=True)


def test_meta_other_error_is_not_a_rate_limit() -> None:
    """A Meta error that is not throttling (100: invalid parameter) carries nothing."""
    response = httpx.Response(400, json={"error": {"message": "Invalid parameter", "code": 100}})
    assert parse_rate_limit(response, now=T0) is None


def test_telegram_retry_after_in_body() -> None:
    """Telegram's 429 names the wait in ``parameters.retry_after``; there are no headers."""
    response = httpx.Response(
        429,
        json={
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 35",
            "parameters": {"retry_after": 35},
        },
    )
    assert parse_rate_limit(response, now=T0) == RateLimitInfo(retry_after=35.0, limited=True)


def test_bare_429_linkedin() -> None:
    """LinkedIn's bare 429 says only that the limit was hit."""
    response = httpx.Response(
        429,
        json={
            "message": "Resource level throttle limit for calls to this resource is reached.",
            "status": 429,
        },
    )
    assert parse_rate_limit(response, now=T0) == RateLimitInfo(limited=True)


def test_plain_response_has_nothing() -> None:
    """A success without rate-limit headers gives ``None``."""
    response = httpx.Response(200, headers={"content-type": "application/json"}, json={})
    assert parse_rate_limit(response) is None


def test_malformed_values_are_ignored() -> None:
    """Unreadable values never raise; what can be read is kept."""
    response = httpx.Response(
        200,
        headers={
            "x-rate-limit-limit": "lots",
            "x-rate-limit-remaining": "7",
            "x-rate-limit-reset": "soon",
            "retry-after": "whenever",
            "x-app-usage": "{not json",
        },
    )
    info = parse_rate_limit(response, now=T0)
    assert info is not None
    assert info.windows == (Window("x-rate-limit", None, 7, None, 0.0, None, "account"),)
    assert info.retry_after is None
    assert info.app_usage is None


def test_unread_streaming_error_body_is_skipped() -> None:
    """A 429 whose body was not read is still a refusal; the body is not needed."""

    def stream() -> httpx.SyncByteStream:
        return httpx.ByteStream(b'{"parameters": {"retry_after": 3}}')

    response = httpx.Response(429, stream=stream())
    info = parse_rate_limit(response, now=T0)
    assert info == RateLimitInfo(limited=True)
