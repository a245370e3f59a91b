"""X's real recorded answers (tweepy's cassettes, python-twitter's examples) fed into the
adapter's flows: ids, URLs, errors and rate-limit headers must come out right."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import httpx
import pytest

from brandkit import Media
from brandkit._flow import Wait, run_flow
from brandkit.errors import Rejected
from brandkit.platforms._base import PartRef
from brandkit.platforms.x import XAdapter, parse_rate_limits
from tests.x.conftest import (
    Recorded,
    Script,
    adapter,
    body_of,
    cassette,
    check_request,
    drive,
    example,
    oauth2_account,
    rendered,
    thread,
)


def replay(*recorded: Recorded) -> Script:
    """A responder that answers each request with the recording of the same method and path
    (X's recorded host is api.twitter.com; the adapter's base URL differs)."""
    script = Script()
    for rec in recorded:
        script.on(rec.method, re.escape(rec.path), rec.response)
    return script


def test_recorded_create_and_delete() -> None:
    """The recorded 201 gives the post id and, with the recorded users/me, its x.com URL; the
    recorded delete answer is accepted; both carry readable rate-limit headers."""
    (me,) = cassette("test_client_get_me")
    create, delete = cassette("test_client_create_and_delete_tweet")
    script = replay(me, create, delete)
    ad = XAdapter(oauth2_account(username=None, user_id=None))
    run_flow(ad.prepare(), script)
    assert ad.account.settings["username"] == "TweepyDev"
    assert ad.account.settings["user_id"] == "1072250532645998596"
    r = rendered("Test Tweet")
    ref = run_flow(ad.publish_part(r, r.parts[0], thread()), script)
    assert ref.id == "1456012973835788293"
    assert ref.url == "https://x.com/TweepyDev/status/1456012973835788293"
    sent = script.sent("POST", "/2/tweets")[0]
    check_request(body_of(sent))
    assert body_of(sent) == json.loads(create.request_body or b"")
    run_flow(ad.delete_part(ref), script)
    assert script.requests[-1].url.path == delete.path

    limits = parse_rate_limits(create.response().headers)
    assert limits.window is not None
    assert (limits.window.limit, limits.window.remaining) == (200, 199)
    assert limits.window.reset_at == datetime(2021, 11, 3, 21, 53, 38, tzinfo=UTC)
    assert limits.user_24h is None
    assert limits.blocking() is None
    gone = parse_rate_limits(delete.response().headers).window
    assert gone is not None
    assert (gone.limit, gone.remaining) == (50, 49)
    me_limits = parse_rate_limits(me.response().headers).window
    assert me_limits is not None
    assert me_limits.limit == 75


def test_recorded_answer_as_a_429_gives_the_recorded_reset() -> None:
    """Recorded headers on a 429 (X's problem body) become RateLimited with that reset."""
    create = cassette("test_client_create_and_delete_tweet")[0]
    headers = {k: v for k, v in create.headers.items() if k.startswith("x-rate-limit")}
    headers["x-rate-limit-remaining"] = "0"
    body = {
        "title": "Too Many Requests",
        "detail": "Too Many Requests",
        "type": "https://api.twitter.com/2/problems/rate-limit-exceeded",
        "status": 429,
    }
    request = httpx.Request("POST", "https://api.twitter.com/2/tweets")
    err = adapter().error_for(httpx.Response(429, json=body, headers=headers, request=request))
    assert err.reset_at == datetime.fromtimestamp(1635976418, UTC)  # type: ignore[attr-defined]
    assert err.bucket == "x:post"  # type: ignore[attr-defined]


def test_recorded_timeline_tells_an_old_duplicate_from_a_new_post() -> None:
    """After X's 403 duplicate, the recorded timeline (user 783214) holds the same text, made
    in 2022: the rejection stands and names that post; links rewritten to t.co still match."""
    (timeline,) = cassette("test_client_get_users_tweets")
    posts = json.loads(timeline.content)["data"]
    duplicate = {
        "detail": "You are not allowed to create a Tweet with duplicate content.",
        "type": "about:blank",
        "title": "Forbidden",
        "status": 403,
    }
    script = replay(timeline).on("POST", "/2/tweets", (403, duplicate))
    ad = adapter(user_id="783214", username="X")
    text = "whoa, it works\n\nnow everyone can mix GIFs, videos, and images in one Tweet, available on iOS and Android https://example.com/a https://example.com/b"
    r = rendered(text)
    with pytest.raises(Rejected) as info:
        run_flow(ad.publish_part(r, r.parts[0], thread()), script)
    assert info.value.duplicate
    assert info.value.existing_id == posts[0]["id"] == "1577730467436138524"
    assert script.sent("GET", r"/2/users/783214/tweets")
    assert run_flow(ad.find_part(r, r.parts[0], thread()), replay(timeline)) is None


def test_recorded_lookup_without_metric_fields_says_what_is_missing() -> None:
    """The recorded GET /2/tweets (no metric fields asked then) yields unavailable samples
    with reasons, never made-up numbers."""
    (lookup,) = cassette("test_client_get_tweets")
    ids = httpx.URL(lookup.uri).params["ids"].split(",")
    samples = run_flow(
        adapter().collect_metrics([PartRef(index=0, id=i) for i in ids]), replay(lookup)
    )
    assert {s.post_id for s in samples} == set(ids)
    assert all(not s.available and s.reason for s in samples)
    assert any("public_metrics.like_count" in (s.reason or "") for s in samples)


def test_recorded_metrics_are_parsed() -> None:
    """python-twitter's recorded posts with public_metrics give the recorded numbers."""
    body = example("tweet/tweet_retweet_tweets_resp.json")
    ids = [p["id"] for p in body["data"]]
    script = Script().on("GET", "/2/tweets", (200, body))
    samples = run_flow(adapter().collect_metrics([PartRef(index=0, id=i) for i in ids]), script)
    reposts = {s.post_id: s.value for s in samples if s.metric == "reposts"}
    assert reposts == {p["id"]: p["public_metrics"]["retweet_count"] for p in body["data"]}
    posted = {s.post_id: s.posted_at for s in samples if s.metric == "likes"}
    assert posted[ids[0]] == datetime(2023, 11, 16, 2, 20, 14, tzinfo=UTC)


def test_recorded_users_answers() -> None:
    """The recorded /2/users/me and user (with public_metrics) answers give id, username and
    followers."""
    me = example("user/me_resp.json")
    user = example("user/user_resp.json")
    ad = XAdapter(oauth2_account(username=None, user_id=None))
    run_flow(ad.prepare(), Script().on("GET", "/2/users/me", (200, me)))
    assert (ad.account.settings["user_id"], ad.account.settings["username"]) == (
        "2244994945",
        "TwitterDev",
    )
    (sample,) = run_flow(
        ad.collect_account_metrics(), Script().on("GET", "/2/users/me", (200, user))
    )
    assert sample.value == 514020


def test_recorded_create_example() -> None:
    """python-twitter's recorded create answer gives its id."""
    script = Script().on("POST", "/2/tweets", (201, example("tweet/create_tweet_resp.json")))
    r = rendered("Hello world!")
    assert (
        run_flow(adapter().publish_part(r, r.parts[0], thread()), script).id
        == "1445880548472328192"
    )


def test_recorded_v2_media_answers_drive_the_upload() -> None:
    """The recorded v2 INIT, FINALIZE (pending, as X first answers) and STATUS answers: the
    INIT id is attached, STATUS is polled once after check_after_secs."""
    init = example("media_upload_v2/upload_chunk_init_resp.json")
    status = example("media_upload_v2/upload_chunk_status_resp.json")
    media_id = init["data"]["id"]
    pending = {
        "data": {
            "id": media_id,
            "media_key": init["data"]["media_key"],
            "processing_info": {"state": "pending", "check_after_secs": 1},
        }
    }
    script = (
        Script()
        .on("POST", "/2/media/upload/initialize", (200, init))
        .on("POST", rf"/2/media/upload/{media_id}/append", (200, {"data": {"expires_at": 1}}))
        .on("POST", rf"/2/media/upload/{media_id}/finalize", (200, pending))
        .on("GET", "/2/media/upload", (200, status))
        .on("POST", "/2/media/metadata", (200, {"data": {"id": media_id}}))
        .on("POST", "/2/tweets", (201, example("tweet/create_tweet_resp.json")))
    )
    r = rendered(
        "Hello world!",
        media=[Media.from_bytes(b"\x00\x00\x00\x18ftypmp42" + b"x" * 100, alt="clip")],
    )
    ref, steps = drive(adapter().publish_part(r, r.parts[0], thread()), script)
    assert [s.seconds for s in steps if isinstance(s, Wait)] == [1.0]
    assert body_of(script.sent("POST", "/2/tweets")[0])["media"] == {"media_ids": [media_id]}
    assert ref.id == "1445880548472328192"


def _multipart_field(body: bytes, name: str) -> bytes:
    boundary = body.split(b"\r\n", 1)[0]
    for part in body.split(boundary):
        head, _, payload = part.partition(b"\r\n\r\n")
        if f'name="{name}"'.encode() in head:
            return payload.removesuffix(b"\r\n")
    raise AssertionError(f"no field {name}")


def test_recorded_chunked_video_upload_is_reproduced_chunk_for_chunk() -> None:
    """tweepy's recorded chunked upload of a real MP4 (v1.1: INIT 202, APPEND 204 ×2,
    FINALIZE 201): the adapter sends the same bytes in the same two 1 MiB-based chunks and
    reads the media id from the recorded v1.1-shaped answers."""
    init, first, second, finalize = cassette("testmediauploadmp4")
    chunks = [_multipart_field(rec.request_body or b"", "media") for rec in (first, second)]
    assert len(chunks[0]) == 1024 * 1024
    video = Media.from_bytes(b"".join(chunks), alt="")
    assert video.kind == "video"
    assert video.size == json.loads(finalize.content)["size"]
    media_id = json.loads(init.content)["media_id_string"]
    script = (
        Script()
        .on("POST", "/2/media/upload/initialize", init.response)
        .on("POST", rf"/2/media/upload/{media_id}/append", first.response, second.response)
        .on("POST", rf"/2/media/upload/{media_id}/finalize", finalize.response)
        .on("POST", "/2/tweets", (201, {"data": {"id": "1349803917", "text": "video"}}))
    )
    r = rendered("video", media=[video])
    run_flow(adapter().publish_part(r, r.parts[0], thread()), script)
    appends = script.sent("POST", rf"/2/media/upload/{media_id}/append")
    sent = [_multipart_field(req.content, "media") for req in appends]
    assert sent == chunks
    assert [_multipart_field(req.content, "segment_index") for req in appends] == [b"0", b"1"]
    assert body_of(script.sent("POST", "/2/tweets")[0])["media"] == {"media_ids": [media_id]}
    assert init.status == 202
    assert parse_rate_limits(first.response().headers).window.limit == 20000  # type: ignore[union-attr]
