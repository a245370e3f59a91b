"""Replays of real recorded interactions with a Mastodon 4.7.3 server (Mastodon.py's cassettes,
MIT): the adapter's flows get the server's true answers, byte for byte."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest

from brandkit import Media
from brandkit._flow import run_flow
from brandkit.errors import AuthError, RateLimited, Rejected
from brandkit.platforms._base import PartRef, ThreadContext
from brandkit.platforms.mastodon import (
    MastodonAdapter,
    capabilities_from_instance,
    error_message,
    rate_limit_reset,
)
from tests.mastodon.conftest import CASSETTES, Recorded, Replay, cassette, png, rendered


def test_video_upload_processing_then_post_and_delete(adapter: MastodonAdapter) -> None:
    """202 (url null) → poll → 200 → create → delete, with the recorded ids and URLs."""
    upload, poll, create, delete = cassette("test_media_post_True")
    assert (upload.status, upload.json["url"]) == (202, None)
    replay = Replay([upload, poll, create])
    video = Media.from_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64, alt="me when a cat")
    post = rendered("LOL check this out", media=(video,))
    ref = run_flow(adapter.publish_part(post, post.parts[0], ThreadContext(key="k")), replay)
    assert ref == PartRef(
        index=0,
        id="117440821197397638",
        url="http://localhost:3000/@mastodonpy_test/117440821197397638",
        uri="http://localhost:3000/ap/users/117440810532227399/statuses/117440821197397638",
    )
    assert replay.requests[1].url.path == "/api/v1/media/117440819877733537"
    assert json.loads(replay.requests[2].content)["media_ids"] == ["117440819877733537"]
    run_flow(adapter.delete_part(ref), Replay([delete]))


def test_two_images_processed_at_once(adapter: MastodonAdapter) -> None:
    """Two 200 uploads need no polling; the status names both media ids."""
    recorded = cassette("test_media_post_multiple")
    uploads = [r for r in recorded if r.path == "/api/v2/media"]
    create = next(r for r in recorded if r.path == "/api/v1/statuses")
    assert [u.status for u in uploads] == [200, 200]
    replay = Replay([*uploads, create])
    post = rendered("LOL check this out", media=(png("one"), png("two")))
    ref = run_flow(adapter.publish_part(post, post.parts[0], ThreadContext(key="k")), replay)
    assert ref.id == "117440821412413892"
    assert json.loads(replay.requests[-1].content)["media_ids"] == [u.json["id"] for u in uploads]


def test_text_status(adapter: MastodonAdapter) -> None:
    """A plain status: id and web URL from the recorded answer."""
    create = cassette("test_status")[0]
    post = rendered("Toot!")
    ref = run_flow(
        adapter.publish_part(post, post.parts[0], ThreadContext(key="k")), Replay([create])
    )
    assert (ref.id, ref.url) == (
        "117440826656342711",
        "http://localhost:3000/@mastodonpy_test/117440826656342711",
    )


@pytest.mark.parametrize(
    ("name", "index", "message"),
    [
        ("test_status_empty", 0, "バリデーションに失敗しました: Textを入力してください"),
        ("test_lang_for_errors", 0, "バリデーションに失敗しました: Text上限は500文字です"),
        (
            "test_lang_for_errors",
            1,
            "Gültigkeitsprüfung ist fehlgeschlagen: Text Begrenzung von 500 Zeichen überschritten",
        ),
        (
            "test_status_delete_media",
            6,
            "メディア (117440833002185062) が存在しないか、すでに添付して投稿されています",
        ),
    ],
)
def test_recorded_refusals(adapter: MastodonAdapter, name: str, index: int, message: str) -> None:
    """Real 422s become Rejected with the server's own (translated) words."""
    recorded = cassette(name)[index]
    assert (recorded.method, recorded.status) == ("POST", 422)
    post = rendered("x")
    with pytest.raises(Rejected) as info:
        run_flow(
            adapter.publish_part(post, post.parts[0], ThreadContext(key="k")), Replay([recorded])
        )
    assert info.value.platform_message == message
    assert info.value.status_code == 422
    assert message in str(info.value)


def test_recorded_401(adapter: MastodonAdapter) -> None:
    """The real 401 body is an AuthError that says to authorise again."""
    recorded = cassette("test_unauthed_home_tl_throws")[1]
    err = adapter.error_for(recorded.response(httpx.Request("GET", "http://localhost:3000/x")))
    assert isinstance(err, AuthError)
    assert err.platform_message == "The access token is invalid"


def test_recorded_404_on_delete_is_not_an_error(adapter: MastodonAdapter) -> None:
    """Deleting an already deleted status (recorded 404 "Record not found") succeeds."""
    gone = cassette("test_status_delete_media")[7]
    assert (gone.method, gone.status, gone.json) == ("DELETE", 404, {"error": "Record not found"})
    run_flow(adapter.delete_part(PartRef(index=0, id="117440834327875693")), Replay([gone]))


def test_recorded_404_on_lookup(adapter: MastodonAdapter) -> None:
    """A status that is gone (recorded 404 "Not Found") comes back as unavailable metrics."""
    missing = cassette("test_status_missing")[0]
    adapter._batch_lookup = False
    samples = run_flow(adapter.collect_metrics([PartRef(index=0, id="0")]), Replay([missing]))
    assert samples and not any(s.available for s in samples)


def test_metrics_from_recorded_statuses(adapter: MastodonAdapter) -> None:
    """Counts read from real Status bodies (a favourited one and a reblogged one)."""
    favourited = cassette("test_status_fav_unfav")[1].json
    reblogged = cassette("test_status_reblog_unreblog")[1].json["reblog"]
    batch = Recorded(
        method="GET",
        path="/api/v1/statuses",
        body=None,
        status=200,
        headers=cassette("test_status")[1].headers,
        content=json.dumps([favourited, reblogged]).encode(),
    )
    refs = [PartRef(index=0, id=favourited["id"]), PartRef(index=0, id=reblogged["id"])]
    samples = run_flow(adapter.collect_metrics(refs), Replay([batch]))
    got = {(s.post_id, s.metric): s.value for s in samples if s.available}
    assert got[favourited["id"], "likes"] == favourited["favourites_count"] == 1
    assert got[reblogged["id"], "reposts"] == reblogged["reblogs_count"] == 1
    assert got[reblogged["id"], "quotes"] == reblogged["quotes_count"]
    posted = next(s.posted_at for s in samples if s.post_id == favourited["id"])
    assert posted == datetime(2026, 10, 14, 19, 7, 52, 564000, tzinfo=UTC)


def test_recorded_instance_documents_agree() -> None:
    """The v1 and v2 instance documents of the same server give the same text limits."""
    recorded = cassette("test_media_post_multiple")
    v1 = next(r for r in recorded if r.path.rstrip("/") == "/api/v1/instance").json
    v2 = next(r for r in recorded if r.path.rstrip("/") == "/api/v2/instance").json
    assert (
        capabilities_from_instance(v1).text_options == capabilities_from_instance(v2).text_options
    )
    assert capabilities_from_instance(v2).text_options["max_characters"] == 500


def test_every_recorded_rate_limit_header_parses() -> None:
    """All lowercase ISO 8601 x-ratelimit-reset values of every cassette parse exactly."""
    seen = 0
    for path in sorted(CASSETTES.glob("*.yaml")):
        for recorded in cassette(path.stem):
            response = recorded.response()
            raw = response.headers["x-ratelimit-reset"]
            assert raw.endswith("Z") and len(raw) == len("2026-10-14T19:05:00.668587Z")
            reset = rate_limit_reset(response)
            assert reset == datetime.fromisoformat(raw) and reset.tzinfo is not None
            assert int(response.headers["x-ratelimit-remaining"]) <= int(
                response.headers["x-ratelimit-limit"]
            )
            seen += 1
    assert seen >= 40


def test_recorded_headers_on_a_429(adapter: MastodonAdapter) -> None:
    """A 429 with a real create's headers: the statuses family's reset and bucket."""
    create = cassette("test_status")[0]
    response = httpx.Response(
        429,
        headers=create.headers,
        json={"error": "Too many requests"},
        request=httpx.Request("POST", "http://localhost:3000/api/v1/statuses"),
    )
    err = adapter.error_for(response)
    assert isinstance(err, RateLimited)
    assert err.reset_at == datetime(2026, 10, 14, 21, 0, 0, 308110, tzinfo=UTC)
    assert err.bucket == "mastodon:statuses"
    assert error_message(response) == ("Too many requests", None)
