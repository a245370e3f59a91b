"""The WordPress adapter's flows without I/O: error mapping, requests, the look-up rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from brandkit import Account
from brandkit._flow import run_flow
from brandkit.content import Article
from brandkit.delivery import new_tid, tid_time
from brandkit.errors import AuthError, PlatformUnavailable, RateLimited, Rejected
from brandkit.platforms.wordpress import WordPressAdapter

SITE = "https://blog.example.com"


@pytest.fixture
def adapter() -> WordPressAdapter:
    """An adapter whose API root is already known (/wp-json)."""
    account = Account.wordpress(SITE, user="editor", app_password="abcd EFGH ijkl MNOP")
    adapter = WordPressAdapter(account)
    adapter._root = "wp-json"
    return adapter


def _answer(status: int, body: object, headers: dict[str, str] | None = None) -> httpx.Response:
    request = httpx.Request("POST", f"{SITE}/wp-json/wp/v2/posts")
    return httpx.Response(status, json=body, headers=headers, request=request)


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (
            401,
            {"code": "rest_cannot_create", "message": "Sorry", "data": {"status": 401}},
            AuthError,
        ),
        (401, {"code": "incorrect_password", "message": "x", "data": {"status": 401}}, AuthError),
        (403, {"code": "rest_cannot_publish", "message": "x", "data": {"status": 403}}, AuthError),
        (
            400,
            {
                "code": "rest_invalid_param",
                "message": "Invalid parameter(s): status",
                "data": {
                    "status": 400,
                    "details": {"status": {"code": "rest_forbidden_status", "message": "x"}},
                },
            },
            AuthError,
        ),
        (
            500,
            {
                "code": "rest_upload_sideload_error",
                "message": "Sorry, you are not allowed to upload this file type.",
                "data": {"status": 500},
            },
            Rejected,
        ),
        (500, {"code": "internal_server_error", "message": "<p>critical</p>"}, PlatformUnavailable),
        (
            400,
            {"code": "rest_invalid_param", "message": "Invalid parameter(s): date_gmt"},
            Rejected,
        ),
        (429, {"code": "too_many", "message": "slow down"}, RateLimited),
    ],
)
def test_error_mapping(
    adapter: WordPressAdapter, status: int, body: dict[str, object], kind: type[Exception]
) -> None:
    """Each WordPress refusal becomes the typed error that says what to do about it."""
    error = adapter.error_for(_answer(status, body))
    assert type(error) is kind
    assert error.code == body["code"]


def test_error_message_is_wordpress_words_without_html(adapter: WordPressAdapter) -> None:
    """WordPress's <strong>Error:</strong> markup is dropped from the message."""
    body = {
        "code": "invalid_username",
        "message": "<strong>Error:</strong> Unknown username. Check again or try your email "
        "address.",
        "data": {"status": 401},
    }
    error = adapter.error_for(_answer(401, body))
    assert error.platform_message == (
        "Error: Unknown username. Check again or try your email address."
    )


def test_html_404_says_the_rest_api_is_not_there(adapter: WordPressAdapter) -> None:
    """A web server's HTML 404 means the URL is not a WordPress REST API."""
    request = httpx.Request("GET", f"{SITE}/wp-json/wp/v2/posts")
    response = httpx.Response(404, text="<html>Not Found</html>", request=request)
    error = adapter.error_for(response)
    assert isinstance(error, Rejected)
    assert "no WordPress REST API" in str(error)


def test_requests_carry_basic_auth_and_json(adapter: WordPressAdapter) -> None:
    """The create is JSON with the post's fields and HTTP Basic auth of user:password."""
    sent: list[httpx.Request] = []

    def respond(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(
            201,
            json={"id": 7, "link": f"{SITE}/x/", "slug": "x", "status": "publish"},
            request=request,
        )

    ref = run_flow(adapter.publish_article(Article(title="X", body="*b*")), respond)
    assert ref.id == "7"
    (create,) = sent
    assert create.url == f"{SITE}/wp-json/wp/v2/posts"
    assert (
        create.headers["authorization"]
        == httpx.BasicAuth("editor", "abcd EFGH ijkl MNOP")._auth_header
    )
    assert create.read().decode().count('"status":"publish"') == 1
    assert '"content":"<p><em>b</em></p>\\n"' in create.read().decode()


def test_lookup_counts_only_posts_dated_since_the_delivery(adapter: WordPressAdapter) -> None:
    """A post with the title but dated before the delivery (less the skew) is not ours."""
    since = datetime(2026, 5, 1, 12, tzinfo=UTC)
    old = since - timedelta(minutes=30)
    new = since + timedelta(seconds=5)

    def listing(when: datetime) -> list[dict[str, object]]:
        stamp = when.strftime("%Y-%m-%dT%H:%M:%S")
        return [
            {
                "id": 3,
                "link": f"{SITE}/t/",
                "slug": "t",
                "status": "publish",
                "date_gmt": stamp,
                "modified_gmt": stamp,
                "title": {"raw": "T", "rendered": "T"},
            }
        ]

    article = Article(title="T")
    for when, found in ((old, False), (new, True)):
        ref = run_flow(
            adapter.find_article(article, since=since),
            lambda r, w=when: httpx.Response(200, json=listing(w), request=r),
        )
        assert (ref is not None) is found


def test_tid_time_reads_a_delivery_key() -> None:
    """The lookup's 'since' is the time in the delivery's TID."""
    when = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    key = new_tid(int(when.timestamp() * 1_000_000))
    assert tid_time(key) == when
    assert tid_time("not-a-tid") is None


def test_api_discovery_is_authenticated_and_falls_back_to_rest_route() -> None:
    """The probe carries the login (plugins close the REST API to visitors) and, when
    /wp-json/ is not routed, /?rest_route=/ is used for every later request."""
    account = Account.wordpress(SITE, user="editor", app_password="abcd EFGH ijkl MNOP")
    adapter = WordPressAdapter(account)
    seen: list[httpx.Request] = []

    def respond(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.startswith("/wp-json"):
            return httpx.Response(404, text="<html>Not Found</html>", request=request)
        return httpx.Response(200, json={"namespaces": ["wp/v2"]}, request=request)

    run_flow(adapter.prepare(), respond)
    assert [r.url.path for r in seen] == ["/wp-json/", "/"]
    assert all(r.headers["authorization"].startswith("Basic ") for r in seen)
    assert adapter._url("posts") == f"{SITE}/?rest_route=/wp/v2/posts"


@pytest.mark.parametrize("header", ["1e300", "99999999999999999999", "-5", "2.5"])
def test_a_garbled_retry_after_is_a_bounded_wait(adapter: WordPressAdapter, header: str) -> None:
    """A 429's Retry-After is read as every adapter reads it: at most a day (the governor's
    cap; negative: none), fractions kept; twenty digits were taken as they came."""
    limited = adapter.error_for(
        httpx.Response(
            429, json={"code": "too_many", "message": "slow down"}, headers={"retry-after": header}
        )
    )
    assert isinstance(limited, RateLimited)
    assert limited.retry_after is not None and 0.0 <= limited.retry_after <= 86_400
