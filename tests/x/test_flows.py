"""Unit tests of the X adapter's flows, fed with canned answers (no I/O)."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

from brandkit import Media
from brandkit._flow import Send, Wait, run_flow
from brandkit.delivery import new_tid
from brandkit.errors import (
    AuthError,
    ConfigurationError,
    PlatformError,
    PlatformUnavailable,
    RateLimited,
    Rejected,
    TransportError,
)
from brandkit.metrics import MetricSample
from brandkit.platforms._base import PartRef
from brandkit.platforms.x import (
    XAdapter,
    oauth1_authorization,
    parse_rate_limits,
    snowflake_time,
)
from brandkit.testing.conformance import tiny_png
from tests.x.conftest import (
    BASE,
    REFRESH,
    TOKEN,
    Script,
    adapter,
    body_of,
    check_request,
    created,
    drive,
    oauth2_account,
    rendered,
    snowflake,
    thread,
)

DUPLICATE = {
    "detail": "You are not allowed to create a Tweet with duplicate content.",
    "type": "about:blank",
    "title": "Forbidden",
    "status": 403,
}
UNAUTHORIZED = {
    "title": "Unauthorized",
    "type": "about:blank",
    "status": 401,
    "detail": "Unauthorized",
}


def png(size: int = 0) -> Media:
    """A PNG, padded to ``size`` bytes when given."""
    data = tiny_png()
    return Media.from_bytes(data + b"\0" * max(0, size - len(data)), alt="A test image")


def mp4(size: int = 4096) -> Media:
    """Bytes that sniff as an MP4 video."""
    head = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
    return Media.from_bytes(head + b"\1" * (size - len(head)), alt="")


# -- publishing ------------------------------------------------------------------------------


def test_single_post_body_matches_the_spec_and_ref_has_url() -> None:
    """A text post is one POST /2/tweets with a schema-valid body; the ref carries id and URL."""
    script = Script().on("POST", "/2/tweets", created("1456012973835788293", "Hello"))
    ad = adapter()
    ref = run_flow(ad.publish_part(rendered("Hello"), rendered("Hello").parts[0], thread()), script)
    (req,) = script.requests
    assert req.url == f"{BASE}/2/tweets"
    assert req.headers["authorization"] == f"Bearer {TOKEN}"
    check_request(body_of(req))
    assert body_of(req) == {"text": "Hello"}
    assert ref.id == "1456012973835788293"
    assert ref.url == "https://x.com/brand/status/1456012973835788293"


def test_create_step_is_marked_as_a_non_idempotent_create() -> None:
    """The create may never be repeated blindly by the driver."""
    script = Script().on("POST", "/2/tweets", created("11", "Hi"))
    r = rendered("Hi")
    _, steps = drive(adapter().publish_part(r, r.parts[0], thread()), script)
    (create,) = [s for s in steps if isinstance(s, Send)]
    assert create.creates is True
    assert create.idempotent is False
    assert create.bucket == "post"


def test_thread_part_replies_to_the_previous_part() -> None:
    """Part 2 is a reply to part 1 (reply.in_reply_to_tweet_id), never to the root only."""
    script = Script().on("POST", "/2/tweets", created("300", "three"))
    r = rendered("one", "two", "three")
    ref = run_flow(adapter().publish_part(r, r.parts[2], thread("100", "200")), script)
    body = body_of(script.requests[0])
    check_request(body)
    assert body == {"text": "three", "reply": {"in_reply_to_tweet_id": "200"}}
    assert ref.index == 2
    assert ref.extra == {"in_reply_to": "200"}


def test_x_options_go_into_the_first_part_only() -> None:
    """reply_settings and quote_tweet_id options reach the first part, within the schema."""
    script = Script().on("POST", "/2/tweets", created("1", "a"), created("2", "b"))
    r = rendered("a", "b", options={"reply_settings": "following", "quote_tweet_id": 77})
    run_flow(adapter().publish_part(r, r.parts[0], thread()), script)
    run_flow(adapter().publish_part(r, r.parts[1], thread("1")), script)
    first, second = (body_of(q) for q in script.requests)
    check_request(first)
    check_request(second)
    assert first == {"text": "a", "reply_settings": "following", "quote_tweet_id": "77"}
    assert second == {"text": "b", "reply": {"in_reply_to_tweet_id": "1"}}


def test_prepare_reads_users_me_once_and_caches_it() -> None:
    """Without a username, prepare() asks GET /2/users/me and keeps id and username."""
    script = Script().on(
        "GET",
        "/2/users/me",
        (200, {"data": {"id": "2244994945", "name": "X", "username": "XDevs"}}),
    )
    acct = oauth2_account(username=None, user_id=None)
    ad = XAdapter(acct)
    caps = run_flow(ad.prepare(), script)
    run_flow(ad.prepare(), script)
    assert caps.platform == "x"
    assert len(script.requests) == 1
    assert acct.settings["user_id"] == "2244994945"
    assert acct.settings["username"] == "XDevs"


def test_publish_without_prepare_still_learns_the_username() -> None:
    """A part published without prepare() still gets its x.com/<username> URL."""
    script = (
        Script()
        .on("GET", "/2/users/me", (200, {"data": {"id": "9", "name": "B", "username": "brandco"}}))
        .on("POST", "/2/tweets", created("55", "Hi"))
    )
    r = rendered("Hi")
    ref = run_flow(
        XAdapter(oauth2_account(username=None)).publish_part(r, r.parts[0], thread()), script
    )
    assert ref.url == "https://x.com/brandco/status/55"


def test_oauth1_requests_are_signed_with_injected_nonce_and_clock() -> None:
    """OAuth 1.0a accounts sign every request (HMAC-SHA1) with the adapter's nonce and clock."""
    from brandkit import Account

    acct = Account.x(
        consumer_key="ck",
        consumer_secret="cs",
        access_token="at-1",
        access_token_secret="ats",
        username="brand",
        user_id="5",
        base_url=BASE,
    )
    ad = XAdapter(acct)
    ad.nonce = lambda: "fixed-nonce"
    ad.clock = lambda: 1_700_000_000.0
    script = Script().on("POST", "/2/tweets", created("1", "Hi"))
    r = rendered("Hi")
    run_flow(ad.publish_part(r, r.parts[0], thread()), script)
    (req,) = script.requests
    expected = oauth1_authorization(
        req,
        consumer_key="ck",
        consumer_secret="cs",
        token="at-1",
        token_secret="ats",
        nonce="fixed-nonce",
        timestamp=1_700_000_000,
    )
    assert req.headers["authorization"] == expected
    assert 'oauth_nonce="fixed-nonce"' in expected
    assert 'oauth_timestamp="1700000000"' in expected


def test_account_without_complete_credentials_is_refused() -> None:
    """An account with neither OAuth 2 nor complete OAuth 1.0a keys is a configuration error."""
    from brandkit import Account

    acct = Account("x", base_url=BASE, secrets={"consumer_secret": "cs"})
    with pytest.raises(ConfigurationError):
        XAdapter(acct)


# -- media -----------------------------------------------------------------------------------


def _media_script(media_id: str = "1912103767639719936", finalize: Any = None) -> Script:
    return (
        Script()
        .on(
            "POST",
            "/2/media/upload/initialize",
            (
                200,
                {
                    "data": {
                        "id": media_id,
                        "expires_after_secs": 86400,
                        "media_key": f"3_{media_id}",
                    }
                },
            ),
        )
        .on("POST", rf"/2/media/upload/{media_id}/append", (200, {"data": {"expires_at": 1}}))
        .on(
            "POST",
            rf"/2/media/upload/{media_id}/finalize",
            finalize or (200, {"data": {"id": media_id, "media_key": f"3_{media_id}", "size": 1}}),
        )
        .on("POST", "/2/media/metadata", (200, {"data": {"id": media_id}}))
        .on("POST", "/2/tweets", created("77", "With a picture https://t.co/abc"))
    )


def test_image_upload_streams_1mib_chunks_then_alt_text_then_post() -> None:
    """INIT (schema-valid) → one APPEND per 1 MiB chunk (segment 0..n) → FINALIZE → alt text →
    POST with the media id."""
    media = png(2 * 1024 * 1024 + 123)
    script = _media_script()
    r = rendered("With a picture", media=[media])
    ref = run_flow(adapter().publish_part(r, r.parts[0], thread()), script)
    (init,) = script.sent("POST", "/2/media/upload/initialize")
    check_request(body_of(init), "MediaUploadConfigRequest")
    assert body_of(init) == {
        "media_type": "image/png",
        "total_bytes": media.size,
        "media_category": "tweet_image",
    }
    appends = script.sent("POST", r"/2/media/upload/\d+/append")
    assert len(appends) == 3
    received = b""
    for i, req in enumerate(appends):
        assert req.headers["content-type"].startswith("multipart/form-data")
        assert f'name="segment_index"\r\n\r\n{i}\r\n'.encode() in req.content
        chunk = req.content.split(b"\r\n\r\n", 2)[2].rsplit(b"\r\n--", 1)[0]
        assert len(chunk) == (1024 * 1024 if i < 2 else media.size - 2 * 1024 * 1024)
        received += chunk
    assert received == media.read()
    (meta,) = script.sent("POST", "/2/media/metadata")
    check_request(body_of(meta), "MetadataCreateRequest")
    assert body_of(meta) == {
        "id": "1912103767639719936",
        "metadata": {"alt_text": {"text": "A test image"}},
    }
    (post,) = script.sent("POST", "/2/tweets")
    check_request(body_of(post))
    assert body_of(post) == {
        "text": "With a picture",
        "media": {"media_ids": ["1912103767639719936"]},
    }
    order = [q.url.path.rsplit("/", 1)[-1] for q in script.requests]
    assert order == ["initialize", "append", "append", "append", "finalize", "metadata", "tweets"]
    assert ref.id == "77"


def test_media_steps_may_be_repeated_by_the_driver() -> None:
    """Every media step is idempotent (a chunk is retried alone), the create is not."""
    r = rendered("x", media=[png()])
    _, steps = drive(adapter().publish_part(r, r.parts[0], thread()), _media_script())
    sends = [s for s in steps if isinstance(s, Send)]
    assert [s.bucket for s in sends] == [
        "media_init",
        "media_append",
        "media_finalize",
        "media_metadata",
        "post",
    ]
    assert all(s.idempotent for s in sends[:-1])
    assert not sends[-1].idempotent


def test_video_processing_is_waited_for_with_check_after_secs() -> None:
    """FINALIZE pending → Wait(check_after_secs) → STATUS in_progress → Wait → succeeded → POST."""
    mid = "1912090619981471744"
    script = _media_script(
        mid,
        finalize=(
            200,
            {
                "data": {
                    "id": mid,
                    "media_key": f"7_{mid}",
                    "processing_info": {"state": "pending", "check_after_secs": 2},
                }
            },
        ),
    ).on(
        "GET",
        "/2/media/upload",
        (
            200,
            {
                "data": {
                    "id": mid,
                    "processing_info": {
                        "state": "in_progress",
                        "check_after_secs": 3,
                        "progress_percent": 40,
                    },
                }
            },
        ),
        (
            200,
            {
                "data": {
                    "id": mid,
                    "processing_info": {"state": "succeeded", "progress_percent": 100},
                }
            },
        ),
    )
    r = rendered("A video", media=[mp4()])
    _, steps = drive(adapter().publish_part(r, r.parts[0], thread()), script)
    waits = [s.seconds for s in steps if isinstance(s, Wait)]
    assert waits == [2.0, 3.0]
    statuses = script.sent("GET", "/2/media/upload")
    assert [dict(q.url.params) for q in statuses] == [{"command": "STATUS", "media_id": mid}] * 2
    (init,) = script.sent("POST", "/2/media/upload/initialize")
    assert body_of(init)["media_category"] == "tweet_video"
    assert script.sent("POST", "/2/media/metadata") == []  # no alt text given
    assert script.requests[-1].url.path == "/2/tweets"


def test_processing_waits_are_bounded_whatever_check_after_secs_says() -> None:
    """A garbled or hostile check_after_secs (a year, 1e300) is not slept: each wait is cut to
    a minute, and processing that outlasts the upload's hour ends as PlatformUnavailable
    before the post is created (time.sleep(1e300) raised OverflowError, and a year's wait
    per poll parked the delivery for good)."""
    mid = "1912090619981471744"
    pending = {
        "data": {
            "id": mid,
            "media_key": f"7_{mid}",
            "processing_info": {"state": "in_progress", "check_after_secs": 1e300},
        }
    }
    script = _media_script(mid, finalize=(200, pending)).on(
        "GET", "/2/media/upload", (200, pending)
    )
    r = rendered("A video", media=[mp4()])
    steps: list[Any] = []

    def run() -> None:
        flow = adapter().publish_part(r, r.parts[0], thread())
        step = next(flow)
        while True:
            steps.append(step)
            answer = script(step.request) if isinstance(step, Send) else httpx.Response(204)
            step = flow.send(answer)

    with pytest.raises(PlatformUnavailable, match="still processing"):
        run()
    waits = [s.seconds for s in steps if isinstance(s, Wait)]
    assert waits and max(waits) <= 60.0
    assert sum(waits) <= 3600.0
    assert script.sent("POST", "/2/tweets") == []


def test_failed_processing_is_a_rejection_with_xs_reason() -> None:
    """processing_info.state failed stops before the post with X's own message."""
    mid = "42"
    script = _media_script(
        mid,
        finalize=(
            200,
            {
                "data": {
                    "id": mid,
                    "processing_info": {
                        "state": "failed",
                        "progress_percent": 100,
                        "error": {
                            "code": 1,
                            "name": "InvalidMedia",
                            "message": "Unsupported video codec",
                        },
                    },
                }
            },
        ),
    )
    r = rendered("A video", media=[mp4()])
    with pytest.raises(Rejected, match="Unsupported video codec") as info:
        run_flow(adapter().publish_part(r, r.parts[0], thread()), script)
    assert info.value.platform_message == "Unsupported video codec"
    assert script.sent("POST", "/2/tweets") == []


# -- OAuth 2 refresh -------------------------------------------------------------------------


def _token_answer(access: str, refresh: str | None = "refresh-2") -> tuple[int, Any]:
    body: dict[str, Any] = {
        "token_type": "bearer",
        "expires_in": 7200,
        "access_token": access,
        "scope": "tweet.read tweet.write users.read offline.access media.write",
    }
    if refresh:
        body["refresh_token"] = refresh
    return 200, body


def test_expired_token_is_refreshed_once_and_the_request_repeated() -> None:
    """401 → POST /2/oauth2/token (form, Basic auth) → the create again with the new token;
    the hook gets both new tokens."""
    changes: list[dict[str, str]] = []
    acct = oauth2_account(on_credentials_changed=lambda a, c: changes.append(dict(c)))
    script = (
        Script()
        .on("POST", "/2/tweets", (401, UNAUTHORIZED), created("9", "Hi"))
        .on("POST", "/2/oauth2/token", _token_answer("access-2"))
    )
    r = rendered("Hi")
    ref = run_flow(XAdapter(acct).publish_part(r, r.parts[0], thread()), script)
    assert ref.id == "9"
    first, token, second = script.requests
    assert first.headers["authorization"] == f"Bearer {TOKEN}"
    assert token.headers["content-type"] == "application/x-www-form-urlencoded"
    assert dict(parse_qsl(token.content.decode())) == {
        "grant_type": "refresh_token",
        "refresh_token": REFRESH,
        "client_id": "client-id",
    }
    basic = base64.b64decode(token.headers["authorization"].removeprefix("Basic ")).decode()
    assert basic == "client-id:client-secret-xyz"
    assert second.headers["authorization"] == "Bearer access-2"
    assert changes == [{"user_token": "access-2", "refresh_token": "refresh-2"}]
    assert acct.secret("refresh_token") == "refresh-2"


def test_refresh_answer_without_refresh_token_keeps_the_old_one() -> None:
    """Only the access token changes when X's answer carries no refresh token."""
    changes: list[dict[str, str]] = []
    acct = oauth2_account(on_credentials_changed=lambda a, c: changes.append(dict(c)))
    script = (
        Script()
        .on("DELETE", r"/2/tweets/\d+", (401, UNAUTHORIZED), (200, {"data": {"deleted": True}}))
        .on("POST", "/2/oauth2/token", _token_answer("access-3", refresh=None))
    )
    run_flow(XAdapter(acct).delete_part(PartRef(index=0, id="5")), script)
    assert changes == [{"user_token": "access-3"}]
    assert acct.secret("refresh_token") == REFRESH
    assert acct.secret("user_token") == "access-3"


def test_public_client_refreshes_without_basic_auth() -> None:
    """A public client (no secret) sends client_id in the form and no Authorization header."""
    acct = oauth2_account(client_secret=None, username=None)
    script = (
        Script()
        .on(
            "GET",
            "/2/users/me",
            (401, UNAUTHORIZED),
            (200, {"data": {"id": "1", "name": "a", "username": "a"}}),
        )
        .on("POST", "/2/oauth2/token", _token_answer("access-4"))
    )
    run_flow(XAdapter(acct).prepare(), script)
    token = script.sent("POST", "/2/oauth2/token")[0]
    assert "authorization" not in token.headers
    assert dict(parse_qsl(token.content.decode()))["client_id"] == "client-id"
    assert acct.secret("user_token") == "access-4"


def test_refused_refresh_is_an_auth_error_with_xs_words_and_no_secret() -> None:
    """A refused refresh raises AuthError carrying X's message, never the tokens."""
    script = (
        Script()
        .on("POST", "/2/tweets", (401, UNAUTHORIZED))
        .on(
            "POST",
            "/2/oauth2/token",
            (
                400,
                {
                    "error": "invalid_request",
                    "error_description": "Value passed for the token was invalid.",
                },
            ),
        )
    )
    r = rendered("Hi")
    with pytest.raises(AuthError, match="Value passed for the token was invalid") as info:
        run_flow(adapter().publish_part(r, r.parts[0], thread()), script)
    assert TOKEN not in str(info.value)
    assert REFRESH not in str(info.value)
    assert len(script.sent("POST", "/2/tweets")) == 1


def test_a_second_401_after_refresh_is_not_refreshed_again() -> None:
    """One refresh per request: a 401 after it is an AuthError."""
    script = (
        Script()
        .on("POST", "/2/tweets", (401, UNAUTHORIZED))
        .on("POST", "/2/oauth2/token", _token_answer("access-5"))
    )
    r = rendered("Hi")
    with pytest.raises(AuthError, match="Unauthorized"):
        run_flow(adapter().publish_part(r, r.parts[0], thread()), script)
    assert len(script.sent("POST", "/2/oauth2/token")) == 1
    assert len(script.sent("POST", "/2/tweets")) == 2


def test_without_refresh_token_a_401_is_an_auth_error_at_once() -> None:
    """No refresh token: the 401 is final."""
    script = Script().on("POST", "/2/tweets", (401, UNAUTHORIZED))
    r = rendered("Hi")
    with pytest.raises(AuthError):
        run_flow(adapter(refresh_token=None).publish_part(r, r.parts[0], thread()), script)
    assert len(script.requests) == 1


def test_token_known_to_expire_is_refreshed_before_the_request() -> None:
    """After a refresh that said expires_in, a request near expiry refreshes first (no 401)."""
    now = [1_000_000.0]
    ad = adapter()
    ad.clock = lambda: now[0]
    script = (
        Script()
        .on("DELETE", r"/2/tweets/\d+", (401, UNAUTHORIZED), (200, {"data": {"deleted": True}}))
        .on("POST", "/2/oauth2/token", _token_answer("a1", "r1"), _token_answer("a2", "r2"))
    )
    run_flow(ad.delete_part(PartRef(index=0, id="1")), script)
    now[0] += 7200 - 30
    run_flow(ad.delete_part(PartRef(index=0, id="2")), script)
    paths = [(q.method, q.url.path) for q in script.requests]
    assert paths == [
        ("DELETE", "/2/tweets/1"),
        ("POST", "/2/oauth2/token"),
        ("DELETE", "/2/tweets/1"),
        ("POST", "/2/oauth2/token"),
        ("DELETE", "/2/tweets/2"),
    ]
    assert script.requests[-1].headers["authorization"] == "Bearer a2"


@pytest.mark.parametrize("lifetime", [1e300, 10**12, -5, 0])
def test_a_refresh_answer_with_a_lifetime_no_clock_holds_gives_no_known_expiry(
    lifetime: float,
) -> None:
    """The adapter's own refresh reads ``expires_in`` by the connect flows' rule: a lifetime
    past a century (or none at all) is no expiry, not one 10**300 seconds ahead that a
    credential store or ``brandkit accounts list`` is then handed."""
    changes: list[dict[str, Any]] = []
    acct = oauth2_account(on_credentials_changed=lambda a, c: changes.append(dict(c)))
    status, body = _token_answer("access-2")
    body["expires_in"] = lifetime
    script = (
        Script()
        .on("DELETE", r"/2/tweets/\d+", (401, UNAUTHORIZED), (200, {"data": {"deleted": True}}))
        .on("POST", "/2/oauth2/token", (status, body))
    )
    ad = XAdapter(acct)
    run_flow(ad.delete_part(PartRef(index=0, id="1")), script)
    assert ad.token_expires_at is None
    assert acct.secret("user_token") == "access-2"


# -- error mapping ---------------------------------------------------------------------------

RESET = 1_900_000_000


def _error(
    status: int,
    body: Any,
    headers: dict[str, str] | None = None,
    path: str = "/2/tweets",
    method: str = "POST",
) -> Any:
    ad = adapter()
    ad.clock = lambda: RESET - 100.0
    request = httpx.Request(method, BASE + path)
    if isinstance(body, str):
        response = httpx.Response(status, text=body, headers=headers or {}, request=request)
    else:
        response = httpx.Response(status, json=body, headers=headers or {}, request=request)
    return ad.error_for(response)


@pytest.mark.parametrize(
    ("status", "body", "cls", "message"),
    [
        (401, UNAUTHORIZED, AuthError, "Unauthorized"),
        (
            403,
            {
                "title": "Unsupported Authentication",
                "detail": "Authenticating with OAuth 2.0 Application-Only is forbidden for this endpoint.  Supported authentication types are [OAuth 1.0a User Context, OAuth 2.0 User Context].",
                "type": "https://api.twitter.com/2/problems/unsupported-authentication",
                "status": 403,
            },
            AuthError,
            "Application-Only is forbidden",
        ),
        (
            403,
            {
                "title": "Client Forbidden",
                "detail": "When authenticating requests to the Twitter API v2 endpoints, you must use keys and tokens from a Twitter developer App that is attached to a Project.",
                "type": "https://api.twitter.com/2/problems/client-forbidden",
                "reason": "client-not-enrolled",
            },
            AuthError,
            "attached to a Project",
        ),
        (
            403,
            {
                "detail": "You are not permitted to perform this action.",
                "type": "about:blank",
                "title": "Forbidden",
                "status": 403,
            },
            Rejected,
            "not permitted",
        ),
        (
            400,
            {
                "errors": [
                    {
                        "message": "$.foo: is not defined in the schema and the schema does not allow additional properties"
                    }
                ],
                "title": "Invalid Request",
                "detail": "One or more parameters to your request was invalid.",
                "type": "https://api.x.com/2/problems/invalid-request",
            },
            Rejected,
            "$.foo: is not defined",
        ),
        (
            404,
            {
                "title": "Not Found Error",
                "detail": "Could not find tweet with id: [1].",
                "type": "https://api.x.com/2/problems/resource-not-found",
            },
            Rejected,
            "Could not find tweet",
        ),
        (
            500,
            {
                "title": "Internal Server Error",
                "detail": "Internal Server Error",
                "type": "about:blank",
                "status": 500,
            },
            PlatformUnavailable,
            "Internal Server Error",
        ),
        (503, "<html>Over capacity</html>", PlatformUnavailable, "Over capacity"),
    ],
)
def test_error_mapping(status: int, body: Any, cls: type, message: str) -> None:
    """Each X answer becomes its typed error with X's own message."""
    err = _error(status, body)
    assert type(err) is cls
    assert message in err.platform_message
    assert message in str(err)
    assert err.status_code == status
    assert err.platform == "x"


def test_duplicate_content_is_a_duplicate_rejection() -> None:
    """The 403 duplicate-content body maps to Rejected(duplicate=True)."""
    err = _error(403, DUPLICATE)
    assert isinstance(err, Rejected)
    assert err.duplicate
    assert err.platform_message == DUPLICATE["detail"]


def test_429_carries_reset_time_wait_and_bucket() -> None:
    """x-rate-limit-reset (epoch) gives reset_at and retry_after; the bucket is named."""
    headers = {
        "x-rate-limit-limit": "100",
        "x-rate-limit-remaining": "0",
        "x-rate-limit-reset": str(RESET),
    }
    body = {
        "title": "Too Many Requests",
        "detail": "Too Many Requests",
        "type": "https://api.twitter.com/2/problems/rate-limit-exceeded",
        "status": 429,
    }
    err = _error(429, body, headers)
    assert isinstance(err, RateLimited)
    assert err.reset_at == datetime.fromtimestamp(RESET, UTC)
    assert err.retry_after == pytest.approx(100.0)
    assert err.bucket == "x:post"
    assert err.code == "rate-limit-exceeded"


@pytest.mark.parametrize(
    ("reset", "reset_at", "retry_after"),
    [
        ("99999999999999999999", None, None),  # no clock holds it: as if not sent
        ("-99999999999", None, None),
        (str(RESET + 10**9), datetime.fromtimestamp(RESET - 100 + 86_400, UTC), 86_400.0),
    ],
)
def test_429_with_a_garbled_reset_is_still_a_rate_limit(
    reset: str, reset_at: datetime | None, retry_after: float | None
) -> None:
    """A reset header no clock holds is left out (it raised OverflowError from error_for),
    and one further than X's longest window (a day) waits a day."""
    headers = {"x-rate-limit-limit": "100", "x-rate-limit-remaining": "0"}
    body = {"title": "Too Many Requests", "type": "about:blank", "status": 429}
    err = _error(429, body, {**headers, "x-rate-limit-reset": reset})
    assert isinstance(err, RateLimited)
    assert err.reset_at == reset_at
    assert err.retry_after == retry_after


@pytest.mark.parametrize(
    ("prefix", "bucket"),
    [("x-user-limit-24hour", "x:post:user_24h"), ("x-app-limit-24hour", "x:post:app_24h")],
)
def test_429_from_a_daily_quota_waits_for_the_quota(prefix: str, bucket: str) -> None:
    """When a 24-hour post quota is spent, its reset (not the 15-minute one) is the wait."""
    headers = {
        "x-rate-limit-limit": "100",
        "x-rate-limit-remaining": "57",
        "x-rate-limit-reset": str(RESET),
        f"{prefix}-limit": "100",
        f"{prefix}-remaining": "0",
        f"{prefix}-reset": str(RESET + 50_000),
    }
    err = _error(
        429,
        {
            "title": "Too Many Requests",
            "detail": "Too Many Requests",
            "type": "about:blank",
            "status": 429,
        },
        headers,
    )
    assert isinstance(err, RateLimited)
    assert err.reset_at == datetime.fromtimestamp(RESET + 50_000, UTC)
    assert err.bucket == bucket


def test_legacy_rate_limit_body_and_usage_cap_are_rate_limits() -> None:
    """The docs' legacy {errors:[{code:88}]} body and the usage-capped problem are RateLimited."""
    legacy = _error(
        429,
        {"errors": [{"code": 88, "message": "Rate limit exceeded"}]},
        method="GET",
        path="/2/tweets",
    )
    assert isinstance(legacy, RateLimited)
    assert legacy.code == 88
    assert legacy.platform_message == "Rate limit exceeded"
    assert legacy.bucket == "x:lookup"
    capped = _error(
        429,
        {
            "title": "UsageCapExceeded",
            "detail": "Usage cap exceeded: Monthly product cap",
            "type": "https://api.twitter.com/2/problems/usage-capped",
            "period": "Monthly",
            "scope": "Product",
        },
    )
    assert isinstance(capped, RateLimited)
    assert capped.code == "usage-capped"
    assert "Monthly product cap" in str(capped)


def test_token_endpoint_errors_are_auth_errors() -> None:
    """Any refusal of the token endpoint means: authorize again."""
    err = _error(
        401,
        {"error": "unauthorized_client", "error_description": "Missing valid authorization header"},
        path="/2/oauth2/token",
    )
    assert isinstance(err, AuthError)
    assert "Missing valid authorization header" in str(err)
    assert "authorize the app again" in str(err)


def test_parse_rate_limits_reads_all_three_header_families() -> None:
    """The 15-minute and both 24-hour header families are parsed (epoch seconds)."""
    limits = parse_rate_limits(
        httpx.Headers(
            {
                "X-Rate-Limit-Limit": "100",
                "x-rate-limit-remaining": "99",
                "x-rate-limit-reset": "1700000900",
                "x-user-limit-24hour-limit": "100",
                "x-user-limit-24hour-remaining": "3",
                "x-user-limit-24hour-reset": "1700050000",
                "x-app-limit-24hour-limit": "10000",
                "x-app-limit-24hour-remaining": "9000",
                "x-app-limit-24hour-reset": "1700060000",
            }
        )
    )
    assert limits.window is not None
    assert (limits.window.limit, limits.window.remaining) == (100, 99)
    assert limits.window.reset_at == datetime.fromtimestamp(1700000900, UTC)
    assert limits.user_24h is not None
    assert limits.user_24h.remaining == 3
    assert limits.app_24h is not None
    assert limits.app_24h.limit == 10000
    assert limits.blocking() is None
    assert parse_rate_limits({}).window is None


# -- find-my-post ----------------------------------------------------------------------------


def _timeline(*posts: dict[str, Any], next_token: str | None = None) -> tuple[int, Any]:
    meta: dict[str, Any] = {"result_count": len(posts)}
    if next_token:
        meta["next_token"] = next_token
    body: dict[str, Any] = {"meta": meta}
    if posts:
        body["data"] = list(posts)
    return 200, body


def _post(
    post_id: str,
    text: str,
    *,
    reply_to: str | None = None,
    at: datetime | None = None,
    media: int = 0,
) -> dict[str, Any]:
    at = at or datetime.now(UTC)
    post: dict[str, Any] = {
        "id": post_id,
        "text": text,
        "created_at": at.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "edit_history_tweet_ids": [post_id],
    }
    if reply_to:
        post["referenced_tweets"] = [{"type": "replied_to", "id": reply_to}]
    if media:
        post["attachments"] = {"media_keys": [f"3_{i}" for i in range(media)]}
    return post


def test_find_part_matches_the_links_x_rewrote_and_the_parent() -> None:
    """The post with the same text (links rewritten to t.co, entities escaped) and the same
    parent, made after the delivery started, is found; others are not."""
    key = new_tid()
    text = "Launch & more: https://example.com/a?utm_source=x see example.org"
    script = Script().on(
        "GET",
        r"/2/users/\d+/tweets",
        _timeline(
            _post(
                "30", "Launch &amp; more: https://t.co/AAAA see https://t.co/BBBB", reply_to="999"
            ),
            _post(
                "20", "Launch &amp; more: https://t.co/CCCC see https://t.co/DDDD", reply_to="100"
            ),
            _post("10", "Launch & more: https://t.co/EEEE see https://t.co/FFFF", reply_to="100"),
            _post("5", "Something else", reply_to="100"),
        ),
    )
    r = rendered("first", text)
    ref = run_flow(adapter().find_part(r, r.parts[1], thread("100", key=key)), script)
    assert ref is not None
    assert ref.id == "10"  # the earliest of the two matches
    assert ref.url == "https://x.com/brand/status/10"
    (req,) = script.requests
    assert req.url.path == "/2/users/1072250532645998596/tweets"
    params = dict(req.url.params)
    assert params["max_results"] == "100"
    assert params["exclude"] == "retweets"
    started = datetime.fromtimestamp(int(time.time()), UTC)
    start = datetime.fromisoformat(params["start_time"].replace("Z", "+00:00"))
    assert timedelta(seconds=55) < started - start < timedelta(seconds=65)


def test_find_part_ignores_posts_before_the_delivery_started() -> None:
    """An identical post older than the delivery (less clock skew) is not this delivery's."""
    script = Script().on(
        "GET",
        r"/2/users/\d+/tweets",
        _timeline(
            _post("10", "Same words", at=datetime.now(UTC) - timedelta(hours=3)),
        ),
    )
    r = rendered("Same words")
    assert run_flow(adapter().find_part(r, r.parts[0], thread()), script) is None


def test_find_part_pages_through_the_timeline_and_counts_media() -> None:
    """next_token is followed; a media part matches only a post with as many media."""
    script = Script().on(
        "GET",
        r"/2/users/\d+/tweets",
        _timeline(_post("50", "Look https://t.co/x"), next_token="abc"),
        _timeline(_post("40", "Look https://t.co/y", media=1)),
    )
    r = rendered("Look", media=[png()])
    ref = run_flow(adapter().find_part(r, r.parts[0], thread()), script)
    assert ref is not None
    assert ref.id == "40"
    assert [q.url.params.get("pagination_token") for q in script.requests] == [None, "abc"]


def test_duplicate_after_an_unknown_attempt_returns_the_landed_post() -> None:
    """403 duplicate → the user's timeline → the matching post made since the delivery began
    is this part: no error, no second create."""
    script = (
        Script()
        .on("POST", "/2/tweets", (403, DUPLICATE))
        .on("GET", r"/2/users/\d+/tweets", _timeline(_post("88", "Only once")))
    )
    r = rendered("Only once")
    ref = run_flow(adapter().publish_part(r, r.parts[0], thread()), script)
    assert ref.id == "88"
    assert len(script.sent("POST", "/2/tweets")) == 1
    assert "start_time" not in script.sent("GET", r"/2/users/\d+/tweets")[0].url.params


def test_duplicate_of_an_older_post_is_a_duplicate_rejection_naming_it() -> None:
    """403 duplicate with only an earlier identical post: Rejected(duplicate, existing_id)."""
    script = (
        Script()
        .on("POST", "/2/tweets", (403, DUPLICATE))
        .on(
            "GET",
            r"/2/users/\d+/tweets",
            _timeline(_post("7", "Only once", at=datetime.now(UTC) - timedelta(days=1))),
        )
    )
    r = rendered("Only once")
    with pytest.raises(Rejected) as info:
        run_flow(adapter().publish_part(r, r.parts[0], thread()), script)
    assert info.value.duplicate
    assert info.value.existing_id == "7"
    assert "duplicate content" in str(info.value)


def test_duplicate_that_cannot_be_seen_yet_is_maybe_delivered() -> None:
    """403 duplicate and nothing visible: the outcome is unknown, not failed."""
    script = (
        Script()
        .on("POST", "/2/tweets", (403, DUPLICATE))
        .on("GET", r"/2/users/\d+/tweets", _timeline())
    )
    r = rendered("Only once")
    with pytest.raises(TransportError) as info:
        run_flow(adapter().publish_part(r, r.parts[0], thread()), script)
    assert info.value.maybe_delivered
    assert info.value.platform_message == DUPLICATE["detail"]


# -- delete ----------------------------------------------------------------------------------


def test_delete_sends_delete_and_accepts_gone_posts() -> None:
    """DELETE /2/tweets/:id; deleted:false and 404 are fine, a 403 is not."""
    script = Script().on(
        "DELETE",
        r"/2/tweets/\d+",
        (200, {"data": {"deleted": True}}),
        (200, {"data": {"deleted": False}}),
        (404, {"title": "Not Found Error", "detail": "gone", "type": "about:blank"}),
        (
            403,
            {
                "detail": "You are not allowed to delete a Tweet you do not own.",
                "title": "Forbidden",
                "type": "about:blank",
                "status": 403,
            },
        ),
    )
    ad = adapter()
    for _ in range(3):
        run_flow(ad.delete_part(PartRef(index=0, id="123")), script)
    with pytest.raises(Rejected, match="do not own"):
        run_flow(ad.delete_part(PartRef(index=0, id="123")), script)
    assert [q.url.path for q in script.requests] == ["/2/tweets/123"] * 4


# -- metrics ---------------------------------------------------------------------------------


def _metrics_post(post_id: str, **extra: Any) -> dict[str, Any]:
    post = {
        "id": post_id,
        "text": "t",
        "edit_history_tweet_ids": [post_id],
        "created_at": "2026-11-01T10:00:00.000Z",
        "public_metrics": {
            "retweet_count": 3,
            "reply_count": 2,
            "like_count": 30,
            "quote_count": 1,
            "bookmark_count": 4,
            "impression_count": 900,
        },
    }
    post.update(extra)
    return post


def _by_metric(samples: list[MetricSample], post_id: str) -> dict[str, MetricSample]:
    return {s.metric: s for s in samples if s.post_id == post_id}


def test_metrics_of_recent_posts_in_one_request() -> None:
    """Recent posts: one GET /2/tweets with public, non-public and organic fields; canonical
    names with X's raw names; reach and shares unavailable with a reason."""
    now = time.time()
    a, b = snowflake(now - 3600), snowflake(now - 7200)
    script = Script().on(
        "GET",
        "/2/tweets",
        (
            200,
            {
                "data": [
                    _metrics_post(
                        a,
                        non_public_metrics={
                            "impression_count": 900,
                            "url_link_clicks": 12,
                            "user_profile_clicks": 5,
                            "engagements": 50,
                        },
                        attachments={"media_keys": ["7_1"]},
                    ),
                    _metrics_post(
                        b,
                        public_metrics={
                            "repost_count": 8,
                            "reply_count": 0,
                            "like_count": 1,
                            "quote_count": 0,
                            "bookmark_count": 0,
                            "impression_count": 10,
                        },
                        non_public_metrics={"impression_count": 10},
                    ),
                ],
                "includes": {
                    "media": [
                        {"media_key": "7_1", "type": "video", "public_metrics": {"view_count": 321}}
                    ]
                },
            },
        ),
    )
    samples = run_flow(
        adapter().collect_metrics([PartRef(index=0, id=a), PartRef(index=0, id=b)]), script
    )
    (req,) = script.requests
    params = dict(req.url.params)
    assert params["ids"] == f"{a},{b}"
    assert set(params["tweet.fields"].split(",")) >= {
        "public_metrics",
        "non_public_metrics",
        "organic_metrics",
    }
    assert params["expansions"] == "attachments.media_keys"
    first = _by_metric(samples, a)
    assert first["likes"].value == 30
    assert first["likes"].raw_name == "public_metrics.like_count"
    assert first["reposts"].value == 3
    assert first["impressions"].value == 900
    assert first["link_clicks"].value == 12
    assert first["link_clicks"].raw_name == "non_public_metrics.url_link_clicks"
    assert first["profile_clicks"].value == 5
    assert first["video_views"].value == 321
    assert first["likes"].posted_at == datetime(2026, 11, 1, 10, tzinfo=UTC)
    assert not first["reach"].available
    assert "reach" in (first["reach"].reason or "")
    second = _by_metric(samples, b)
    assert second["reposts"].value == 8
    assert second["reposts"].raw_name == "public_metrics.repost_count"
    assert not second["link_clicks"].available
    assert "video_views" not in second
    assert all(s.account == "x:x" and s.platform == "x" for s in samples)


def test_metrics_of_old_posts_skip_private_fields_and_say_why() -> None:
    """Posts over 30 days old are asked for public metrics only; clicks are unavailable."""
    old = snowflake(time.time() - 40 * 86400)
    script = Script().on("GET", "/2/tweets", (200, {"data": [_metrics_post(old)]}))
    samples = run_flow(adapter().collect_metrics([PartRef(index=0, id=old)]), script)
    (req,) = script.requests
    assert "non_public_metrics" not in req.url.params["tweet.fields"]
    by = _by_metric(samples, old)
    assert by["likes"].value == 30
    assert not by["link_clicks"].available
    assert "30 days" in (by["link_clicks"].reason or "")


def test_mixed_ages_take_two_requests_and_refused_posts_are_asked_again() -> None:
    """A batch of young and old posts is two lookups; a young post whose private fields X
    refused (and so dropped) is fetched again with public fields."""
    now = time.time()
    young, edge, old = snowflake(now - 60), snowflake(now - 120), snowflake(now - 35 * 86400)
    refused = {
        "value": edge,
        "detail": f"Sorry, you are not authorized to access 'non_public_metrics' on the Tweet with ids : [{edge}].",
        "title": "Field Authorization Error",
        "resource_type": "tweet",
        "field": "non_public_metrics",
        "parameter": "ids",
        "resource_id": edge,
        "section": "data",
        "type": "https://api.twitter.com/2/problems/not-authorized-for-field",
    }
    script = Script().on(
        "GET",
        "/2/tweets",
        (
            200,
            {
                "data": [
                    _metrics_post(
                        young, non_public_metrics={"url_link_clicks": 1, "user_profile_clicks": 2}
                    )
                ],
                "errors": [refused],
            },
        ),
        (200, {"data": [_metrics_post(old), _metrics_post(edge)]}),
    )
    refs = [PartRef(index=0, id=i) for i in (young, edge, old)]
    samples = run_flow(adapter().collect_metrics(refs), script)
    first, second = script.requests
    assert first.url.params["ids"] == f"{young},{edge}"
    assert "non_public_metrics" in first.url.params["tweet.fields"]
    assert second.url.params["ids"] == f"{old},{edge}"
    assert "non_public_metrics" not in second.url.params["tweet.fields"]
    assert {s.post_id for s in samples if s.metric == "likes" and s.available} == {young, edge, old}
    assert _by_metric(samples, young)["profile_clicks"].value == 2
    assert not _by_metric(samples, edge)["link_clicks"].available


def test_metrics_of_a_deleted_post_are_unavailable_with_xs_reason() -> None:
    """A post X cannot find comes back as unavailable samples carrying X's detail."""
    gone = snowflake(time.time() - 60)
    script = Script().on(
        "GET",
        "/2/tweets",
        (
            200,
            {
                "errors": [
                    {
                        "value": gone,
                        "detail": f"Could not find tweet with ids: [{gone}].",
                        "title": "Not Found Error",
                        "resource_type": "tweet",
                        "parameter": "ids",
                        "resource_id": gone,
                        "type": "https://api.twitter.com/2/problems/resource-not-found",
                    }
                ]
            },
        ),
    )
    samples = run_flow(adapter().collect_metrics([PartRef(index=0, id=gone)]), script)
    assert samples
    assert all(not s.available and "Could not find tweet" in (s.reason or "") for s in samples)


def test_metrics_batch_is_capped_at_100() -> None:
    """More than metrics_batch_size refs in one call is a programming error."""
    assert XAdapter.metrics_batch_size == 100
    with pytest.raises(ValueError, match="at most 100"):
        run_flow(
            adapter().collect_metrics([PartRef(index=0, id=str(i)) for i in range(101)]), Script()
        )


def test_account_metrics_read_followers() -> None:
    """Followers come from GET /2/users/me?user.fields=public_metrics."""
    script = Script().on(
        "GET",
        "/2/users/me",
        (
            200,
            {
                "data": {
                    "id": "2244994945",
                    "name": "Twitter Dev",
                    "username": "TwitterDev",
                    "public_metrics": {
                        "followers_count": 514020,
                        "following_count": 2038,
                        "tweet_count": 3639,
                        "listed_count": 1676,
                    },
                }
            },
        ),
    )
    (sample,) = run_flow(adapter().collect_account_metrics(), script)
    assert script.requests[0].url.params["user.fields"] == "public_metrics"
    assert sample.metric == "followers"
    assert sample.value == 514020
    assert sample.post_id is None


def test_snowflake_time_decodes_x_ids() -> None:
    """An X id tells when it was made (the recorded create answered on 2021-11-03 21:38:39)."""
    made = snowflake_time("1456012973835788293")
    assert made is not None
    assert made.replace(microsecond=0) == datetime(2021, 11, 3, 21, 38, 39, tzinfo=UTC)
    assert snowflake_time("12") is None
    assert snowflake_time("abc") is None
    # What int() takes but an X id never holds: the answer's id is garbled, not a time.
    for garbled in ("1_456_012_973_835_788_293", " 1456012973835788293", "١٤٥٦٠١٢٩٧٣٨٣٥٧٨٨٢٩٣"):
        assert snowflake_time(garbled) is None, garbled


def test_a_key_from_the_future_sets_no_time_bound() -> None:
    """A key whose time lies ahead of the clock (another machine's clock) is not trusted as a
    lower bound: the lookup reads the recent timeline without start_time."""
    future = new_tid(now_us=int((time.time() + 3600) * 1_000_000))
    script = Script().on("GET", r"/2/users/\d+/tweets", _timeline(_post("10", "Hello")))
    r = rendered("Hello")
    ref = run_flow(adapter().find_part(r, r.parts[0], thread(key=future)), script)
    assert ref is not None
    assert ref.id == "10"
    assert "start_time" not in script.requests[0].url.params


def test_prepare_retry_signs_a_repeated_request_anew() -> None:
    """A request about to be repeated gets a fresh OAuth 1.0a nonce and timestamp."""
    from brandkit import Account

    acct = Account.x(
        consumer_key="ck",
        consumer_secret="cs",
        access_token="at",
        access_token_secret="ats",
        base_url=BASE,
    )
    ad = XAdapter(acct)
    nonces = iter(["first", "second"])
    ad.nonce = lambda: next(nonces)
    request = ad._request("GET", "/2/users/me")
    assert 'oauth_nonce="first"' in request.headers["authorization"]
    again = ad.prepare_retry(request)
    assert 'oauth_nonce="second"' in again.headers["authorization"]
    assert again.url == request.url


@pytest.mark.parametrize("status", [400, 403, 429, 500])
def test_an_error_body_nested_too_deep_is_still_a_typed_error(status: int) -> None:
    """A hostile or garbled error body of 100,000 nested brackets: json raised RecursionError
    (not a ValueError) out of error_for, so a refused create or lookup crashed with an
    untyped exception; it is a PlatformError that keeps the start of the text."""
    deep = b"[" * 100_000 + b"]" * 100_000
    response = httpx.Response(
        status, content=deep, request=httpx.Request("POST", f"{BASE}/2/tweets")
    )
    err = adapter().error_for(response)
    assert isinstance(err, PlatformError)
    assert err.status_code == status
    assert err.platform_message and err.platform_message.startswith("[[[")
