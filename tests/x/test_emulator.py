"""The X emulator on its own: X's paths, bodies, errors, limits, and the spec's schemas."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jsonschema
import pytest

from brandkit import Account
from brandkit.testing import emulator
from brandkit.testing.conformance import tiny_png
from brandkit.testing.x import MEDIA_INIT_SCHEMA, TWEET_CREATE_SCHEMA, XEmulator, validate
from tests.x.conftest import (
    check_response,
    example,
    operation_schema,
    spec,
    validator,
)


def client(emu: XEmulator, acct: Account) -> httpx.Client:
    """A plain httpx client for the emulator, with the account's Bearer token."""
    return httpx.Client(
        transport=emu.transport(),
        base_url=emu.base_url,
        headers={"authorization": f"Bearer {acct.secret('user_token')}"},
    )


def _strip(schema: Any) -> Any:
    """A schema without the keys that do not validate (descriptions, examples, formats)."""
    if isinstance(schema, dict):
        return {
            k: _strip(v)
            for k, v in schema.items()
            if k not in ("description", "example", "default", "format")
        }
    if isinstance(schema, list):
        return [_strip(v) for v in schema]
    return schema


def _resolved(name: str) -> Any:
    schemas = spec()["components"]["schemas"]

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return walk(schemas[node["$ref"].rsplit("/", 1)[-1]])
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return _strip(walk(schemas[name]))


# -- the create schema -----------------------------------------------------------------------


def test_emulator_create_schema_is_the_specs() -> None:
    """The emulator's TWEET_CREATE_SCHEMA is the spec's TweetCreateRequest, refs resolved."""
    assert _resolved("TweetCreateRequest") == TWEET_CREATE_SCHEMA
    assert MEDIA_INIT_SCHEMA["properties"] == _resolved("MediaUploadConfigRequest")["properties"]


BODIES: list[Any] = [
    {"text": "hi"},
    {"text": "hi", "reply": {"in_reply_to_tweet_id": "123"}},
    {"text": "hi", "foo": 1},
    {"text": "hi", "reply": {"in_reply_to_tweet_id": "abc"}},
    {"text": "hi", "reply": {}},
    {"text": "hi", "reply": {"in_reply_to_tweet_id": "1", "extra": True}},
    {"media": {"media_ids": []}},
    {"media": {"media_ids": ["1", "2", "3", "4", "5"]}},
    {"media": {"media_ids": ["1"], "tagged_user_ids": ["2"]}},
    {"poll": {"options": ["a"], "duration_minutes": 5}},
    {"poll": {"options": ["a", "b"], "duration_minutes": 4}},
    {"poll": {"options": ["a", "b"], "duration_minutes": 60}},
    {"text": 5},
    {"reply_settings": "everyone"},
    {"reply_settings": "following", "text": "x"},
    {"quote_tweet_id": "12", "text": "q"},
    {"text": "x", "nullcast": "yes"},
]


@pytest.mark.parametrize("body", BODIES)
def test_emulator_and_spec_agree_on_every_body(body: Any) -> None:
    """For each body, the emulator's validator and jsonschema over the spec say the same."""
    spec_ok = validator("TweetCreateRequest", patched=False).is_valid(body)
    assert (validate(TWEET_CREATE_SCHEMA, body) == []) is spec_ok


def test_unknown_field_is_refused_like_x() -> None:
    """An unknown field gets X's 400 invalid-request problem naming it."""
    emu = XEmulator()
    http = client(emu, emu.account(name="a"))
    resp = http.post("/2/tweets", json={"text": "hi", "made_up": True})
    assert resp.status_code == 400
    assert resp.headers["content-type"] == "application/problem+json"
    body = resp.json()
    assert body == {
        "errors": [
            {
                "message": "$.made_up: is not defined in the schema and the schema does not allow "
                "additional properties"
            }
        ],
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": "https://api.twitter.com/2/problems/invalid-request",
    }
    check_response(body, "Problem")
    assert emu.posts == []


# -- create, duplicate, delete ---------------------------------------------------------------


def test_create_answers_201_with_rate_limit_headers_and_a_schema_valid_body() -> None:
    """201 {data:{id,text}}, links rewritten to t.co, all three header families present."""
    emu = XEmulator()
    http = client(emu, emu.account(name="a"))
    resp = http.post("/2/tweets", json={"text": "Q&A: read https://example.com/x."})
    assert resp.status_code == 201
    check_response(resp.json(), operation_schema("POST", "/2/tweets", "201"))
    data = resp.json()["data"]
    assert data["text"].startswith("Q&amp;A: read https://t.co/")
    assert data["text"].endswith(".")
    for family in ("x-rate-limit", "x-user-limit-24hour", "x-app-limit-24hour"):
        assert {f"{family}-limit", f"{family}-remaining", f"{family}-reset"} <= set(resp.headers)
    assert resp.headers["x-rate-limit-limit"] == "100"
    assert resp.headers["x-rate-limit-remaining"] == "99"
    sent = datetime.strptime(resp.headers["date"], "%a, %d %b %Y %H:%M:%S UTC")
    assert abs(sent.replace(tzinfo=UTC).timestamp() - emu.clock.time()) < 2  # X's format
    (post,) = emu.posts
    assert post.id == data["id"]
    assert post.text == "Q&A: read https://example.com/x."


def test_duplicate_text_gets_xs_exact_403() -> None:
    """The same text again by the same user: 403 with X's duplicate-content body."""
    emu = XEmulator()
    http = client(emu, emu.account(name="a"))
    assert http.post("/2/tweets", json={"text": "Same"}).status_code == 201
    resp = http.post("/2/tweets", json={"text": "Same"})
    assert resp.status_code == 403
    assert resp.json() == {
        "detail": "You are not allowed to create a Tweet with duplicate content.",
        "type": "about:blank",
        "title": "Forbidden",
        "status": 403,
    }
    assert len(emu.posts) == 1


def test_replies_chain_and_replying_to_a_deleted_post_is_refused() -> None:
    """in_reply_to_tweet_id links the thread; a deleted parent gets X's 403."""
    emu = XEmulator()
    http = client(emu, emu.account(name="a"))
    root = http.post("/2/tweets", json={"text": "1/2"}).json()["data"]["id"]
    reply = http.post("/2/tweets", json={"text": "2/2", "reply": {"in_reply_to_tweet_id": root}})
    child = emu.post(reply.json()["data"]["id"])
    assert child is not None
    assert child.in_reply_to == root
    assert child.conversation_id == root
    deleted = http.delete(f"/2/tweets/{root}")
    assert deleted.json() == {"data": {"deleted": True}}
    check_response(deleted.json(), operation_schema("DELETE", "/2/tweets/{id}"))
    again = http.post("/2/tweets", json={"text": "3/2", "reply": {"in_reply_to_tweet_id": root}})
    assert again.status_code == 403
    assert "deleted or not visible" in again.json()["detail"]
    assert http.delete(f"/2/tweets/{root}").json() == {"data": {"deleted": False}}


def test_deleting_someone_elses_post_is_forbidden() -> None:
    """Only the author may delete a post."""
    emu = XEmulator()
    other = emu.seed_post("someone", "Not yours")
    http = client(emu, emu.account(name="a"))
    assert http.delete(f"/2/tweets/{other.id}").status_code == 403
    assert emu.posts == [other]


# -- rate limits -----------------------------------------------------------------------------


def test_small_window_is_enforced_with_xs_429_and_resets_with_the_clock() -> None:
    """Over the window: 429 problem rate-limit-exceeded, remaining 0, epoch reset; the next
    window (emulator time) accepts again."""
    emu = XEmulator(rate_limits={"POST /2/tweets": (2, 60.0)})
    http = client(emu, emu.account(name="a"))
    ok = [http.post("/2/tweets", json={"text": f"n{i}"}) for i in range(2)]
    assert [r.headers["x-rate-limit-remaining"] for r in ok] == ["1", "0"]
    refused = http.post("/2/tweets", json={"text": "n2"})
    assert refused.status_code == 429
    assert refused.json() == {
        "title": "Too Many Requests",
        "detail": "Too Many Requests",
        "type": "https://api.twitter.com/2/problems/rate-limit-exceeded",
        "status": 429,
    }
    reset = int(refused.headers["x-rate-limit-reset"])
    assert 59 <= reset - emu.clock.time() <= 61
    emu.clock.advance(61)
    assert http.post("/2/tweets", json={"text": "n2"}).status_code == 201
    assert len(emu.posts) == 3


def test_daily_user_quota_answers_429_with_the_24h_headers() -> None:
    """The per-user 24-hour post quota shows in x-user-limit-24hour-* and refuses when spent."""
    emu = XEmulator(user_daily_posts=1)
    http = client(emu, emu.account(name="a"))
    assert (
        http.post("/2/tweets", json={"text": "one"}).headers["x-user-limit-24hour-remaining"] == "0"
    )
    refused = http.post("/2/tweets", json={"text": "two"})
    assert refused.status_code == 429
    assert refused.headers["x-user-limit-24hour-remaining"] == "0"
    assert refused.headers["x-rate-limit-remaining"] == "99"
    assert int(refused.headers["x-user-limit-24hour-reset"]) > emu.clock.time() + 86_000


def test_set_rate_limit_rejects_unknown_endpoints() -> None:
    """A typo in an endpoint name is an error, not a silently ignored limit."""
    with pytest.raises(KeyError, match="unknown endpoint"):
        XEmulator().set_rate_limit("POST /2/tweet", 1, 1)


# -- tokens ----------------------------------------------------------------------------------


def _refresh(emu: XEmulator, acct: Account, *, basic: bool = True) -> httpx.Response:
    headers = {}
    if basic:
        pair = f"{acct.settings['client_id']}:{acct.secret('client_secret')}".encode()
        headers["authorization"] = "Basic " + base64.b64encode(pair).decode()
    form = {
        "grant_type": "refresh_token",
        "refresh_token": acct.secret("refresh_token") or "",
        "client_id": str(acct.settings["client_id"]),
    }
    http = httpx.Client(transport=emu.transport(), base_url=emu.base_url)
    return http.post("/2/oauth2/token", data=form, headers=headers)


def test_tokens_expire_by_the_clock_and_refresh_rotates() -> None:
    """After 2 hours the token is refused; a refresh gives new tokens and retires the old
    refresh token."""
    emu = XEmulator()
    acct = emu.account(name="a")
    assert client(emu, acct).get("/2/users/me").status_code == 200
    emu.clock.advance(timedelta(hours=2))
    expired = client(emu, acct).get("/2/users/me")
    assert expired.status_code == 401
    assert expired.json()["title"] == "Unauthorized"
    answer = _refresh(emu, acct)
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"token_type", "expires_in", "access_token", "scope", "refresh_token"}
    assert body["expires_in"] == 7200
    assert "offline.access" in body["scope"]
    reused = _refresh(emu, acct)
    assert reused.status_code == 400
    assert reused.json() == {
        "error": "invalid_request",
        "error_description": "Value passed for the token was invalid.",
    }
    acct.update_secrets(user_token=body["access_token"], refresh_token=body["refresh_token"])
    assert client(emu, acct).get("/2/users/me").status_code == 200


def test_confidential_client_must_authenticate_to_refresh() -> None:
    """Without Basic auth a confidential client gets X's unauthorized_client answer."""
    emu = XEmulator()
    answer = _refresh(emu, emu.account(name="a"), basic=False)
    assert answer.status_code == 401
    assert answer.json()["error_description"] == "Missing valid authorization header"


def test_expire_tokens_helper() -> None:
    """expire_tokens() makes the next call a 401 without moving the clock."""
    emu = XEmulator()
    acct = emu.account(name="a")
    emu.expire_tokens()
    assert client(emu, acct).get("/2/users/me").status_code == 401


# -- media -----------------------------------------------------------------------------------


def _upload(http: httpx.Client, data: bytes, media_type: str, category: str) -> str:
    init = http.post(
        "/2/media/upload/initialize",
        json={"media_type": media_type, "total_bytes": len(data), "media_category": category},
    )
    assert init.status_code == 200
    check_response(init.json(), operation_schema("POST", "/2/media/upload/initialize"))
    media_id: str = init.json()["data"]["id"]
    for i in range(0, len(data), 1000):
        resp = http.post(
            f"/2/media/upload/{media_id}/append",
            data={"segment_index": str(i // 1000)},
            files={"media": ("blob", data[i : i + 1000], "application/octet-stream")},
        )
        assert resp.status_code == 200
        check_response(resp.json(), operation_schema("POST", "/2/media/upload/{id}/append"))
    return media_id


def test_video_takes_emulator_time_to_process() -> None:
    """FINALIZE says pending with check_after_secs; STATUS moves to succeeded as emulator time
    passes; a post cannot use the media before that."""
    emu = XEmulator(processing_seconds={"video": 10})
    http = client(emu, emu.account(name="a"))
    data = b"\x00\x00\x00\x18ftypmp42" + b"v" * 2500
    media_id = _upload(http, data, "video/mp4", "tweet_video")
    fin = http.post(f"/2/media/upload/{media_id}/finalize")
    check_response(fin.json(), operation_schema("POST", "/2/media/upload/{id}/finalize"))
    assert fin.json()["data"]["processing_info"] == {
        "state": "pending",
        "check_after_secs": 1,
        "progress_percent": 0,
    }
    early = http.post("/2/tweets", json={"text": "v", "media": {"media_ids": [media_id]}})
    assert early.status_code == 400
    assert early.json()["errors"][0]["message"] == "Your media IDs are invalid."
    emu.clock.advance(5)
    status = http.get("/2/media/upload", params={"command": "STATUS", "media_id": media_id})
    check_response(status.json(), operation_schema("GET", "/2/media/upload"))
    assert status.json()["data"]["processing_info"]["state"] == "in_progress"
    emu.clock.advance(5)
    done = http.get("/2/media/upload", params={"command": "STATUS", "media_id": media_id})
    assert done.json()["data"]["processing_info"] == {"state": "succeeded", "progress_percent": 100}
    assert emu.media[media_id].data == data
    assert (
        http.post("/2/tweets", json={"text": "v", "media": {"media_ids": [media_id]}}).status_code
        == 201
    )
    assert emu.posts[0].media_keys == (f"7_{media_id}",)


def test_image_is_ready_at_finalize_and_takes_alt_text() -> None:
    """Images need no processing (no processing_info); alt text over 1000 is refused."""
    emu = XEmulator()
    http = client(emu, emu.account(name="a"))
    media_id = _upload(http, b"\x89PNG\r\n\x1a\n" + b"p" * 100, "image/png", "tweet_image")
    fin = http.post(f"/2/media/upload/{media_id}/finalize").json()
    assert "processing_info" not in fin["data"]
    assert fin["data"]["media_key"] == f"3_{media_id}"
    ok = http.post(
        "/2/media/metadata", json={"id": media_id, "metadata": {"alt_text": {"text": "A cat"}}}
    )
    assert ok.status_code == 200
    check_response(ok.json(), operation_schema("POST", "/2/media/metadata"))
    assert emu.media[media_id].alt_text == "A cat"
    long = http.post(
        "/2/media/metadata", json={"id": media_id, "metadata": {"alt_text": {"text": "a" * 1001}}}
    )
    assert long.status_code == 400
    assert "1000" in long.json()["errors"][0]["message"]


def test_append_is_idempotent_per_segment_and_finalize_checks_the_size() -> None:
    """The same segment index twice keeps one chunk; missing bytes fail FINALIZE."""
    emu = XEmulator()
    http = client(emu, emu.account(name="a"))
    data = b"\x89PNG\r\n\x1a\n" + b"q" * 1500
    media_id = _upload(http, data, "image/png", "tweet_image")
    again = http.post(
        f"/2/media/upload/{media_id}/append",
        data={"segment_index": "1"},
        files={"media": ("blob", data[1000:], "application/octet-stream")},
    )
    assert again.status_code == 200
    assert emu.media[media_id].data == data
    short = _upload(http, data[:1000], "image/png", "tweet_image")
    emu.media[short].total_bytes = 1600
    refused = http.post(f"/2/media/upload/{short}/finalize")
    assert refused.status_code == 400
    assert "size mismatch" in refused.json()["errors"][0]["message"]


def test_recorded_media_answers_break_the_unpatched_spec_only_where_noted() -> None:
    """X's real INIT/FINALIZE/STATUS answers lack the "meta" (and "type") the spec requires:
    they fail the spec as published and pass once those two requirements are dropped."""
    for name in (
        "upload_chunk_init_resp",
        "upload_chunk_finalize_resp",
        "upload_chunk_status_resp",
    ):
        body = example(f"media_upload_v2/{name}.json")
        errors = list(validator("MediaUploadResponse", patched=False).iter_errors(body))
        assert errors
        assert {e.message for e in errors} <= {
            "'meta' is a required property",
            "'type' is a required property",
        }
        validator("MediaUploadResponse").validate(body)


# -- reads -----------------------------------------------------------------------------------


def test_lookup_refuses_private_metrics_of_old_posts_and_reports_missing_ones() -> None:
    """GET /2/tweets: a post over 30 days old asked for non_public_metrics is dropped with a
    not-authorized-for-field error; a deleted one gives resource-not-found."""
    emu = XEmulator()
    acct = emu.account(name="a")
    old = emu.seed_post("a", "Old news", age=timedelta(days=31))
    new = emu.seed_post("a", "Fresh", age=timedelta(hours=1))
    gone = emu.seed_post("a", "Gone", age=timedelta(hours=1))
    gone.deleted = True
    http = client(emu, acct)
    resp = http.get(
        "/2/tweets",
        params={
            "ids": f"{old.id},{new.id},{gone.id}",
            "tweet.fields": "public_metrics,non_public_metrics",
        },
    )
    body = resp.json()
    check_response(body, operation_schema("GET", "/2/tweets"))
    assert [p["id"] for p in body["data"]] == [new.id]
    assert body["data"][0]["non_public_metrics"]["url_link_clicks"] >= 0
    kinds = {(e["resource_id"], e["type"].rsplit("/", 1)[-1]) for e in body["errors"]}
    assert kinds == {(old.id, "not-authorized-for-field"), (gone.id, "resource-not-found")}
    public = http.get("/2/tweets", params={"ids": old.id, "tweet.fields": "public_metrics"}).json()
    assert public["data"][0]["public_metrics"]["impression_count"] > 0


def test_engagement_grows_with_emulator_time_deterministically() -> None:
    """Successive snapshots differ as time passes, and equal time gives equal numbers."""
    emu = XEmulator()
    post = emu.seed_post("a", "Grow", age=timedelta(hours=1))
    first = emu.engagement(post.id)
    assert first == emu.engagement(post.id)
    emu.clock.advance(timedelta(hours=3))
    later = emu.engagement(post.id)
    assert later["impression_count"] > first["impression_count"]
    assert later["like_count"] > first["like_count"]
    emu.add_engagement(post.id, like_count=5)
    assert emu.engagement(post.id)["like_count"] == later["like_count"] + 5


def test_unknown_field_names_in_queries_are_refused() -> None:
    """tweet.fields values outside X's list are a 400, as on X."""
    emu = XEmulator()
    post = emu.seed_post("a", "x")
    resp = client(emu, emu.account(name="a")).get(
        "/2/tweets", params={"ids": post.id, "tweet.fields": "likes"}
    )
    assert resp.status_code == 400
    assert "tweet.fields" in resp.json()["errors"][0]["message"]


def test_timeline_pages_newest_first_with_time_and_reply_filters() -> None:
    """GET /2/users/:id/tweets: newest first, max_results pages with next_token, start_time
    and exclude=replies filter; the answer fits the spec."""
    emu = XEmulator()
    acct = emu.account(name="a", known_user=True)
    seeded = [emu.seed_post("a", f"post {i}", age=timedelta(minutes=60 - i)) for i in range(8)]
    reply = emu.seed_post("a", "a reply", in_reply_to=seeded[0].id)
    http = client(emu, acct)
    path = f"/2/users/{acct.settings['user_id']}/tweets"
    first = http.get(
        path, params={"max_results": 5, "tweet.fields": "created_at,referenced_tweets"}
    ).json()
    check_response(first, operation_schema("GET", "/2/users/{id}/tweets"))
    assert [p["id"] for p in first["data"]] == [reply.id, *[p.id for p in reversed(seeded)][:4]]
    assert first["data"][0]["referenced_tweets"] == [{"type": "replied_to", "id": seeded[0].id}]
    second = http.get(
        path, params={"max_results": 5, "pagination_token": first["meta"]["next_token"]}
    ).json()
    assert [p["id"] for p in second["data"]] == [p.id for p in reversed(seeded)][4:]
    assert "next_token" not in second["meta"]
    start = (emu.clock.now() - timedelta(minutes=55, seconds=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    recent = http.get(
        path, params={"start_time": start, "exclude": "replies", "max_results": 100}
    ).json()
    assert [p["text"] for p in recent["data"]] == ["post 7", "post 6", "post 5"]
    assert http.get(path, params={"max_results": 2}).status_code == 400


@pytest.mark.parametrize("name", ["since_id", "until_id"])
@pytest.mark.parametrize("value", ["abc", "-5", "12345678901234567890"])
def test_timeline_refuses_a_bad_since_or_until_id_with_xs_400(name: str, value: str) -> None:
    """GET /2/users/:id/tweets with a since_id or until_id that is not 1-19 digits: X's 400
    invalid-request naming the parameter; the emulator crashed with a 500 (int("abc")) or
    took ids X refuses."""
    emu = XEmulator()
    acct = emu.account(name="a", known_user=True)
    emu.seed_post("a", "a post")
    resp = client(emu, acct).get(
        f"/2/users/{acct.settings['user_id']}/tweets", params={name: value}
    )
    assert resp.status_code == 400, resp.text
    body = resp.json()
    assert body["type"] == "https://api.twitter.com/2/problems/invalid-request"
    message = f"The `{name}` query parameter value [{value}] does not match ^[0-9]{{1,19}}$"
    assert body["errors"] == [{"message": message}]
    assert emu.errors == []


@pytest.mark.parametrize("edge", ["tweets", "mentions"])
def test_an_unknown_user_is_xs_200_with_a_resource_not_found_error(edge: str) -> None:
    """GET /2/users/:id/tweets and /mentions of an id nobody has: X answers 200 with only
    a resource-not-found error for the id (a partial error), which fits the spec."""
    emu = XEmulator()
    http = client(emu, emu.account(name="a"))
    resp = http.get(f"/2/users/999999/{edge}")
    assert resp.status_code == 200
    check_response(resp.json(), operation_schema("GET", f"/2/users/{{id}}/{edge}"))
    (error,) = resp.json()["errors"]
    assert error["resource_id"] == "999999" and error["parameter"] == "id"
    assert error["type"] == "https://api.twitter.com/2/problems/resource-not-found"
    assert error["detail"] == "Could not find user with id: [999999]."


def test_users_me_fits_the_spec_and_followers_grow() -> None:
    """GET /2/users/me?user.fields=public_metrics answers like X; followers grow with time."""
    emu = XEmulator()
    http = client(emu, emu.account(name="brand"))
    first = http.get("/2/users/me", params={"user.fields": "public_metrics"}).json()
    check_response(first, operation_schema("GET", "/2/users/me"))
    assert first["data"]["username"] == "brand"
    emu.clock.advance(timedelta(hours=1, minutes=30))  # the token lives 2 hours
    later = http.get("/2/users/me", params={"user.fields": "public_metrics"}).json()
    assert (
        later["data"]["public_metrics"]["followers_count"]
        > first["data"]["public_metrics"]["followers_count"]
    )


def test_registered_and_documented_helpers() -> None:
    """The emulator is registered as "x", names its create route and lists post texts."""
    emu = emulator("x")
    assert isinstance(emu, XEmulator)
    assert emu.create_route == ("POST", r"/2/tweets")
    emu.seed_post("a", "one")
    emu.seed_post("a", "two")
    assert emu.post_texts() == ["one", "two"]
    with pytest.raises(ValueError, match="auth must be"):
        emu.account(auth="basic")
    with pytest.raises(TypeError, match="unexpected"):
        emu.account(colour="blue")
    with pytest.raises(jsonschema.ValidationError):
        check_response({"data": {"id": 5}}, "TweetCreateResponse")


# -- post length and Premium -----------------------------------------------------------------

TOO_LONG_BODY = {
    "errors": [
        {
            "message": "Your Tweet text is too long. For more information on how Twitter "
            "determines text length see https://github.com/twitter/twitter-text."
        }
    ],
    "title": "Invalid Request",
    "detail": "One or more parameters to your request was invalid.",
    "type": "https://api.twitter.com/2/problems/invalid-request",
}
"""X's answer to an over-long post, as tweepy users log it ("400 Bad Request Your Tweet text
is too long. For more information on how Twitter determines text length see ...")."""


def test_posts_over_280_weighted_are_refused_without_premium() -> None:
    """280 weighted characters pass, 281 (or 141 CJK characters, weighing 2 each) are refused
    with X's 400; nothing is stored."""
    emu = XEmulator()
    http = client(emu, emu.account(name="a"))
    assert http.post("/2/tweets", json={"text": "a" * 280}).status_code == 201
    for text in ("b" * 281, "字" * 141):
        refused = http.post("/2/tweets", json={"text": text})
        assert (refused.status_code, refused.json()) == (400, TOO_LONG_BODY)
    # A URL weighs 23 whatever its length.
    link = "https://example.com/" + "x" * 300
    assert http.post("/2/tweets", json={"text": "c" * 250 + " " + link}).status_code == 201
    assert len(emu.posts) == 2


def test_premium_allows_25000_weighted_characters() -> None:
    """Premium (per account, or for every user of the emulator) lifts the limit to 25,000."""
    emu = XEmulator()
    premium = client(emu, emu.account(name="p", premium=True))
    plain = client(emu, emu.account(name="q"))
    assert premium.post("/2/tweets", json={"text": "a" * 300}).status_code == 201
    assert premium.post("/2/tweets", json={"text": "b" * 25_000}).status_code == 201
    assert premium.post("/2/tweets", json={"text": "c" * 25_001}).json() == TOO_LONG_BODY
    assert plain.post("/2/tweets", json={"text": "a" * 300}).status_code == 400
    everyone = XEmulator(premium=True)
    http = client(everyone, everyone.account(name="a"))
    assert http.post("/2/tweets", json={"text": "a" * 1000}).status_code == 201
    denied = client(everyone, everyone.account(name="b", premium=False))
    assert denied.post("/2/tweets", json={"text": "a" * 1000}).status_code == 400


# -- v1.1 media upload (tweepy's path) -------------------------------------------------------

V1 = "/1.1/media/upload.json"
PNG_8x6 = tiny_png()


def test_v1_simple_upload_is_recorded_shape_and_its_id_posts() -> None:
    """A simple multipart upload answers 200 with the recorded keys (numeric media_id and
    media_id_string, image type and size); the id works in POST /2/tweets, and
    media/metadata/create sets the alt text the v2 lookup shows."""
    emu = XEmulator()
    http = client(emu, emu.account(name="a"))
    up = http.post(V1, files={"media": ("banner.png", PNG_8x6)})
    body = up.json()
    assert up.status_code == 200
    assert set(body) == {"media_id", "media_id_string", "size", "expires_after_secs", "image"}
    assert body["media_id"] == int(body["media_id_string"])
    assert body["image"] == {"image_type": "image/png", "w": 8, "h": 6}
    assert (body["size"], body["expires_after_secs"]) == (len(PNG_8x6), 86_400)
    media_id = body["media_id_string"]
    meta = http.post(
        "/1.1/media/metadata/create.json",
        json={"media_id": media_id, "alt_text": {"text": "A banner"}},
    )
    assert (meta.status_code, meta.content) == (200, b"")
    post = http.post("/2/tweets", json={"text": "pic", "media": {"media_ids": [media_id]}})
    assert post.status_code == 201
    read = http.get(
        f"/2/tweets/{post.json()['data']['id']}",
        params={"expansions": "attachments.media_keys", "media.fields": "alt_text"},
    ).json()
    assert read["includes"]["media"] == [
        {"media_key": f"3_{media_id}", "type": "photo", "alt_text": "A banner"}
    ]
    b64 = http.post(V1, data={"media_data": base64.b64encode(PNG_8x6).decode()})
    assert b64.status_code == 200 and b64.json()["image"]["w"] == 8


def _v1_chunked(http: httpx.Client, data: bytes, media_type: str, **init: str) -> str:
    """INIT (form) and APPEND (multipart) as tweepy sends them; returns the media id."""
    start = http.post(
        V1,
        data={"command": "INIT", "total_bytes": str(len(data)), "media_type": media_type, **init},
    )
    assert start.status_code == 202
    assert set(start.json()) == {"media_id", "media_id_string", "expires_after_secs"}
    media_id: str = start.json()["media_id_string"]
    for index, offset in enumerate(range(0, len(data), 1000)):
        append = http.post(
            V1,
            data={"command": "APPEND", "media_id": media_id, "segment_index": str(index)},
            files={"media": ("clip.mp4", data[offset : offset + 1000])},
        )
        assert (append.status_code, append.content) == (204, b"")
    return media_id


def test_v1_chunked_upload_processes_by_the_clock_and_shares_v2_storage() -> None:
    """INIT 202, APPEND 204, FINALIZE 201 with processing_info for an async category, STATUS
    until succeeded by the emulator clock; the media id then posts through v2."""
    emu = XEmulator(processing_seconds={"video": 10})
    http = client(emu, emu.account(name="a"))
    data = b"\x00\x00\x00\x18ftypmp42" + b"v" * 2500
    media_id = _v1_chunked(http, data, "video/mp4", media_category="tweet_video")
    fin = http.post(V1, data={"command": "FINALIZE", "media_id": media_id})
    assert fin.status_code == 201
    assert fin.json()["processing_info"] == {
        "state": "pending",
        "check_after_secs": 1,
        "progress_percent": 0,
    }
    assert fin.json()["video"] == {"video_type": "video/mp4"}
    early = http.post("/2/tweets", json={"text": "v", "media": {"media_ids": [media_id]}})
    assert early.status_code == 400
    emu.clock.advance(5)
    status = http.get(V1, params={"command": "STATUS", "media_id": media_id})
    assert status.json()["processing_info"]["state"] == "in_progress"
    emu.clock.advance(5)
    status = http.get(V1, params={"command": "STATUS", "media_id": media_id})
    assert status.json()["processing_info"] == {"state": "succeeded", "progress_percent": 100}
    assert emu.media[media_id].data == data
    ok = http.post("/2/tweets", json={"text": "v", "media": {"media_ids": [media_id]}})
    assert ok.status_code == 201
    assert emu.posts[0].media_keys == (f"7_{media_id}",)


def test_v1_upload_without_category_finalizes_at_once_like_the_recording() -> None:
    """tweepy's recorded mp4 upload (no media_category): FINALIZE 201 with size and video
    type and no processing_info; the media is usable at once."""
    emu = XEmulator(processing_seconds={"video": 10})
    http = client(emu, emu.account(name="a"))
    data = b"\x00\x00\x00\x18ftypmp42" + b"w" * 1500
    media_id = _v1_chunked(http, data, "video/mp4")
    fin = http.post(V1, data={"command": "FINALIZE", "media_id": media_id}).json()
    assert fin == {
        "media_id": int(media_id),
        "media_id_string": media_id,
        "size": len(data),
        "expires_after_secs": 86_400,
        "video": {"video_type": "video/mp4"},
    }
    ok = http.post("/2/tweets", json={"text": "v", "media": {"media_ids": [media_id]}})
    assert ok.status_code == 201


def test_v1_media_errors_use_xs_v1_shapes() -> None:
    """Segments that do not add up, a bad segment index, a bad token and an exhausted limit
    answer as X's v1.1 media API does."""
    emu = XEmulator()
    acct = emu.account(name="a")
    http = client(emu, acct)
    media_id = _v1_chunked(http, b"x" * 1500, "image/png")
    emu.media[media_id].total_bytes = 1600
    fin = http.post(V1, data={"command": "FINALIZE", "media_id": media_id})
    assert (fin.status_code, fin.json()) == (
        400,
        {"request": V1, "error": "Segments do not add up to provided total file size."},
    )
    bad_index = http.post(
        V1,
        data={"command": "APPEND", "media_id": media_id, "segment_index": "1000"},
        files={"media": ("c", b"x")},
    )
    assert bad_index.json() == {"request": V1, "error": "SegmentIndex must be between 0 and 999."}
    stranger = httpx.Client(
        transport=emu.transport(), base_url=emu.base_url, headers={"authorization": "Bearer no"}
    )
    denied = stranger.post(V1, files={"media": ("a.png", PNG_8x6)})
    assert (denied.status_code, denied.json()) == (
        401,
        {"errors": [{"code": 89, "message": "Invalid or expired token."}]},
    )
    emu.set_rate_limit("POST /1.1/media/upload", 1, 60)
    assert http.post(V1, files={"media": ("a.png", PNG_8x6)}).status_code == 200
    limited = http.post(V1, files={"media": ("a.png", PNG_8x6)})
    assert (limited.status_code, limited.json()) == (
        429,
        {"errors": [{"code": 88, "message": "Rate limit exceeded"}]},
    )
    assert limited.headers["x-rate-limit-remaining"] == "0"


def test_v2_append_takes_a_binary_chunk_without_a_filename() -> None:
    """twitter-api-v2 sends the APPEND chunk as a part without a filename: it is kept as
    bytes, not decoded as text (which crashed on non-UTF-8 bytes)."""
    emu = XEmulator()
    http = client(emu, emu.account(name="a"))
    data = b"\x89PNG\r\n\x1a\n\xff\xfe\x80" + b"z" * 20
    init = http.post(
        "/2/media/upload/initialize",
        json={"media_type": "image/png", "total_bytes": len(data), "media_category": "tweet_image"},
    )
    media_id = init.json()["data"]["id"]
    boundary = "b0undary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="segment_index"\r\n\r\n0\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="media"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    append = http.post(
        f"/2/media/upload/{media_id}/append",
        content=body,
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
    )
    assert append.status_code == 200
    assert emu.media[media_id].data == data
