"""The Mastodon adapter's flows, fed with canned responses (no I/O)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import attrs
import httpx
import pytest

from brandkit import Account, Media
from brandkit._flow import Send, Wait, run_flow
from brandkit.delivery import new_tid
from brandkit.errors import (
    AuthError,
    ContentError,
    PlatformError,
    PlatformUnavailable,
    RateLimited,
    Rejected,
)
from brandkit.metrics._sample import Metric
from brandkit.platforms import adapter_class
from brandkit.platforms._base import PartRef, ThreadContext
from brandkit.platforms.mastodon import (
    MastodonAdapter,
    _ChunkReader,
    capabilities_from_instance,
    tid_time,
)
from brandkit.testing._forms import multipart
from tests.mastodon.conftest import (
    BASE,
    TOKEN,
    Canned,
    answer,
    cassette,
    png,
    rendered,
    schema_errors,
    spec,
    status_json,
)


def _boundary(request: httpx.Request) -> bytes:
    return request.headers["content-type"].split("boundary=")[1].encode()


def tid_at(when: datetime) -> str:
    """A TID made at ``when`` (``new_tid`` never goes back in time within a process)."""
    alphabet = "234567abcdefghijklmnopqrstuvwxyz"
    value = (int(when.timestamp() * 1_000_000) << 10) | 7
    return "".join(alphabet[(value >> (5 * i)) & 31] for i in reversed(range(13)))


def steps_of(flow: Any, respond: Any) -> tuple[list[Any], Any]:
    """Run a flow, keeping every step it yields."""
    steps: list[Any] = []
    try:
        step = next(flow)
        while True:
            steps.append(step)
            if isinstance(step, Send):
                step = flow.send(respond(step.request))
            else:
                step = flow.send(httpx.Response(204))
    except StopIteration as stop:
        return steps, stop.value


def create_body_errors(body: dict[str, Any]) -> list[str]:
    """Where a create body breaks the spec's request schema.

    The spec says ``oneOf`` TextStatus/MediaStatus/PollStatus, but a status with text AND
    media satisfies both TextStatus and MediaStatus (neither forbids the other's fields), so
    ``oneOf`` can never accept it although Mastodon does: we check ``anyOf`` instead.
    """
    schema = spec()["paths"]["/api/v1/statuses"]["post"]["requestBody"]["content"][
        "application/json"
    ]["schema"]
    options = [schema_errors(ref["$ref"].rsplit("/", 1)[-1], body) for ref in schema["oneOf"]]
    return [] if any(not errs for errs in options) else [e for errs in options for e in errs]


# -- registration and declarations -----------------------------------------------------------


def test_registered_and_declared() -> None:
    """The registry loads the adapter; it declares Mastodon's limits and batch size."""
    cls = adapter_class("mastodon")
    assert cls is MastodonAdapter
    policies = {p.bucket: (p.limit, p.window) for p in cls.rate_policies}
    assert policies == {
        "api": (300, 300.0),
        "statuses": (300, 10800.0),
        "media": (30, 1800.0),
        "delete": (30, 1800.0),
    }
    assert cls.metrics_batch_size == 20
    assert cls.capabilities.idempotent_create


# -- prepare ----------------------------------------------------------------------------------


def test_prepare_reads_recorded_instance(adapter: MastodonAdapter) -> None:
    """The real 4.7.3 instance document becomes the capabilities, read once per adapter."""
    (recorded,) = cassette("test_instance")
    canned = Canned(("GET", "/api/v2/instance", recorded.response()))
    caps = run_flow(adapter.prepare(), canned)
    assert caps.text_options == {"max_characters": 500, "characters_reserved_per_url": 23}
    assert caps.media.max_items == 4
    assert caps.media.max_alt_length == 10000  # this server's description_limit
    assert caps.media.max_image_bytes == 16777216
    assert caps.media.max_video_bytes == 103809024
    assert {"image/heic", "image/avif", "image/webp"} <= caps.media.image_types
    assert {"video/webm", "video/ogg"} <= caps.media.video_types
    assert caps.content_warning and caps.threads
    # Cached: a second prepare asks nothing (Canned would fail on an unexpected request).
    assert run_flow(adapter.prepare(), canned) is caps
    assert canned.requests[0].headers["authorization"] == f"Bearer {TOKEN}"


def test_prepare_follows_instance_configuration(adapter: MastodonAdapter) -> None:
    """An instance with larger limits renders against its own numbers."""
    doc = {
        "configuration": {
            "statuses": {
                "max_characters": 5000,
                "max_media_attachments": 8,
                "characters_reserved_per_url": 30,
            },
            "media_attachments": {
                "supported_mime_types": ["image/png", "video/mp4"],
                "image_size_limit": 1000,
                "video_size_limit": 2000,
                "description_limit": 700,
            },
        }
    }
    caps = run_flow(adapter.prepare(), Canned(("GET", "/api/v2/instance", answer(200, doc))))
    assert caps.text_options == {"max_characters": 5000, "characters_reserved_per_url": 30}
    rules = caps.media
    assert (rules.max_items, rules.max_image_bytes, rules.max_gif_bytes) == (8, 1000, 1000)
    assert (rules.max_video_bytes, rules.max_alt_length) == (2000, 700)
    assert rules.image_types == {"image/png"} and rules.video_types == {"video/mp4"}


def test_prepare_falls_back_to_v1_instance(adapter: MastodonAdapter) -> None:
    """Servers without /api/v2/instance (Mastodon < 4, Pleroma) are read from v1."""
    canned = Canned(
        ("GET", "/api/v2/instance", answer(404, {"error": "Record not found"})),
        ("GET", "/api/v1/instance", answer(200, {"uri": "pl.example", "max_toot_chars": 5000})),
    )
    caps = run_flow(adapter.prepare(), canned)
    assert caps.text_options["max_characters"] == 5000
    assert caps.media.max_items == 4  # the default stays where the server says nothing


def test_capabilities_default_when_document_is_empty() -> None:
    """An instance document without configuration keeps Mastodon's defaults."""
    caps = capabilities_from_instance({})
    assert caps == MastodonAdapter.capabilities


# -- publishing -------------------------------------------------------------------------------


def test_publish_sends_status_with_key_and_options(adapter: MastodonAdapter) -> None:
    """The create carries the text, CW, visibility, language, the reply target and the
    part's key as Idempotency-Key; it is marked idempotent and a create."""
    post = rendered(
        "first", "second", warning="spoilers", language="de", options={"visibility": "unlisted"}
    )
    parent = PartRef(index=0, id="1001", url=f"{BASE}/@brand/1001")
    key = new_tid()
    canned = Canned(("POST", "/api/v1/statuses", answer(200, status_json("1002"))))
    steps, ref = steps_of(
        adapter.publish_part(post, post.parts[1], ThreadContext(key=key, previous=(parent,))),
        canned,
    )
    (step,) = steps
    assert (step.idempotent, step.creates, step.bucket) == (True, True, "statuses")
    request = canned.requests[0]
    assert request.headers["idempotency-key"] == key
    body = json.loads(request.content)
    assert body == {
        "status": "second",
        "visibility": "unlisted",
        "in_reply_to_id": "1001",
        "spoiler_text": "spoilers",
        "language": "de",
    }
    assert create_body_errors(body) == []
    assert ref == PartRef(
        index=1,
        id="1002",
        url=f"{BASE}/@brand/1002",
        uri=f"{BASE}/users/brand/statuses/1002",
    )


def test_publish_defaults_to_public_root(adapter: MastodonAdapter) -> None:
    """A single part is a public root status with no reply target; sensitive is passed on."""
    post = rendered("hello", options={"sensitive": True})
    canned = Canned(("POST", "/api/v1/statuses", answer(200, status_json("7"))))
    run_flow(adapter.publish_part(post, post.parts[0], ThreadContext(key="k1")), canned)
    body = json.loads(canned.requests[0].content)
    assert body == {"status": "hello", "visibility": "public", "sensitive": True}


def test_bad_visibility_is_refused_before_sending(adapter: MastodonAdapter) -> None:
    """A visibility Mastodon does not know is a ContentError, and nothing is sent."""
    post = rendered("hello", options={"visibility": "followers"})
    with pytest.raises(ContentError, match="visibility") as info:
        run_flow(adapter.publish_part(post, post.parts[0], ThreadContext(key="k")), Canned())
    assert info.value.field == "options.visibility"


def test_media_waits_until_processed(adapter: MastodonAdapter) -> None:
    """202 → Wait → 206 → Wait → 200, and only then the create with the media id."""
    processing = {"id": "55", "type": "video", "url": None, "description": "alt"}
    done = {**processing, "url": f"{BASE}/files/55.mp4"}
    canned = Canned(
        ("POST", "/api/v2/media", answer(202, processing)),
        ("GET", "/api/v1/media/55", answer(206, processing)),
        ("GET", "/api/v1/media/55", answer(200, done)),
        ("POST", "/api/v1/statuses", answer(200, status_json("9"))),
    )
    post = rendered("with media", media=(png("a red square"),))
    steps, ref = steps_of(adapter.publish_part(post, post.parts[0], ThreadContext(key="k")), canned)
    kinds = [type(s).__name__ for s in steps]
    assert kinds == ["Send", "Wait", "Send", "Wait", "Send", "Send"]
    assert steps[1].seconds == MastodonAdapter.media_poll_initial
    assert steps[3].seconds == 2 * MastodonAdapter.media_poll_initial
    upload = steps[0]
    assert (upload.bucket, upload.idempotent, upload.creates) == ("media", True, False)
    body = canned.requests[0].content
    assert b'name="description"\r\n\r\na red square' in body
    assert b'name="file"; filename="tiny.png"' in body and b"Content-Type: image/png" in body
    assert png().read() in body
    fields = {
        name: (data if filename is None else "<binary>")
        for name, filename, _, data in multipart(body, _boundary(canned.requests[0]))
    }
    assert fields == {"description": b"a red square", "file": "<binary>"}
    upload_schema = spec()["paths"]["/api/v2/media"]["post"]["requestBody"]["content"][
        "multipart/form-data"
    ]["schema"]
    assert schema_errors(upload_schema, {k: str(v) for k, v in fields.items()}) == []
    create = json.loads(canned.requests[-1].content)
    assert create["media_ids"] == ["55"]
    assert create_body_errors(create) == []
    assert ref.id == "9"


def test_processed_media_needs_no_polling(adapter: MastodonAdapter) -> None:
    """A 200 upload with a URL is ready: no Wait, no GET."""
    canned = Canned(
        ("POST", "/api/v2/media", answer(200, {"id": "1", "type": "image", "url": "u1"})),
        ("POST", "/api/v2/media", answer(200, {"id": "2", "type": "image", "url": "u2"})),
        ("POST", "/api/v1/statuses", answer(200, status_json("3"))),
    )
    post = rendered("two", media=(png(), png("another")))
    steps, _ = steps_of(adapter.publish_part(post, post.parts[0], ThreadContext(key="k")), canned)
    assert not any(isinstance(s, Wait) for s in steps)
    assert json.loads(canned.requests[-1].content)["media_ids"] == ["1", "2"]


def test_media_without_alt_sends_no_description(adapter: MastodonAdapter) -> None:
    """No alt text, no description field."""
    canned = Canned(
        ("POST", "/api/v2/media", answer(200, {"id": "1", "type": "image", "url": "u"})),
        ("POST", "/api/v1/statuses", answer(200, status_json("3"))),
    )
    post = rendered("x", media=(png(""),))
    run_flow(adapter.publish_part(post, post.parts[0], ThreadContext(key="k")), canned)
    assert b'name="description"' not in canned.requests[0].content


def test_media_processing_gives_up(
    adapter: MastodonAdapter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Media that never finishes ends as PlatformUnavailable, without creating the status."""
    monkeypatch.setattr(MastodonAdapter, "media_timeout", 3.0)
    processing = {"id": "55", "type": "video", "url": None}

    def respond(request: httpx.Request) -> httpx.Response:
        assert request.url.path != "/api/v1/statuses"
        status = 202 if request.method == "POST" else 206
        return answer(status, processing)

    post = rendered("x", media=(png(),))
    with pytest.raises(PlatformUnavailable, match="still being processed"):
        run_flow(adapter.publish_part(post, post.parts[0], ThreadContext(key="k")), respond)


def test_media_processing_failure_is_rejected(adapter: MastodonAdapter) -> None:
    """A 422 while polling (processing failed) is a Rejected with Mastodon's message."""
    canned = Canned(
        ("POST", "/api/v2/media", answer(202, {"id": "5", "type": "video", "url": None})),
        (
            "GET",
            "/api/v1/media/5",
            answer(422, {"error": "Error processing thumbnail for uploaded media"}),
        ),
    )
    post = rendered("x", media=(png(),))
    with pytest.raises(Rejected) as info:
        run_flow(adapter.publish_part(post, post.parts[0], ThreadContext(key="k")), canned)
    assert info.value.platform_message == "Error processing thumbnail for uploaded media"


def test_repeated_publish_reuses_uploaded_media(adapter: MastodonAdapter) -> None:
    """When the create failed, publishing the part again reuses the uploads."""
    canned = Canned(
        ("POST", "/api/v2/media", answer(200, {"id": "1", "type": "image", "url": "u"})),
        ("POST", "/api/v1/statuses", answer(503, {"error": "Temporary problem"})),
        ("POST", "/api/v1/statuses", answer(200, status_json("3"))),
    )
    post = rendered("x", media=(png(),))
    ctx = ThreadContext(key="k")
    with pytest.raises(PlatformUnavailable):
        run_flow(adapter.publish_part(post, post.parts[0], ctx), canned)
    ref = run_flow(adapter.publish_part(post, post.parts[0], ctx), canned)
    assert ref.id == "3"
    assert [r.url.path for r in canned.requests].count("/api/v2/media") == 1
    assert json.loads(canned.requests[-1].content)["media_ids"] == ["1"]


def test_upload_streams_from_chunks(
    adapter: MastodonAdapter, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file upload is read through Media.chunks (never read() whole) with a known length."""
    path = tmp_path / "pic.png"
    path.write_bytes(png().read() + b"\0" * 300_000)
    media = Media.from_path(path, alt="big")
    monkeypatch.setattr(Media, "read", lambda self: pytest.fail("read() loads the whole file"))
    chunked: list[int] = []
    original = Media.chunks

    def spy(self: Media, size: int = 1024 * 1024) -> Any:
        chunked.append(size)
        return original(self, size)

    monkeypatch.setattr(Media, "chunks", spy)
    canned = Canned(
        ("POST", "/api/v2/media", answer(200, {"id": "1", "type": "image", "url": "u"})),
        ("POST", "/api/v1/statuses", answer(200, status_json("3"))),
    )
    post = rendered("x", media=(media,))
    run_flow(adapter.publish_part(post, post.parts[0], ThreadContext(key="k")), canned)
    upload = canned.requests[0]
    assert chunked
    assert int(upload.headers["content-length"]) == len(upload.content)
    assert path.read_bytes() in upload.content


def test_chunk_reader_rewinds_for_a_retry() -> None:
    """The upload body can be produced again (a retried upload sends the same bytes)."""
    data = bytes(range(256)) * 40
    media = Media.from_bytes(png().read() + data)
    reader = _ChunkReader(media, chunk_size=1000)
    assert reader.seek(0, 2) == media.size
    reader.seek(0)
    first = reader.read(3333) + reader.read()
    reader.seek(0)
    second = b"".join(iter(lambda: reader.read(777), b""))
    assert first == second == media.read()
    assert reader.read() == b""


# -- errors -----------------------------------------------------------------------------------


def _request(method: str = "POST", path: str = "/api/v1/statuses") -> httpx.Request:
    return httpx.Request(method, f"{BASE}{path}")


@pytest.mark.parametrize(
    ("status", "body", "kind", "message"),
    [
        (401, {"error": "The access token is invalid"}, AuthError, "The access token is invalid"),
        (401, {"error": "The access token was revoked"}, AuthError, "The access token was revoked"),
        (
            403,
            {"error": "This action is outside the authorized scopes"},
            AuthError,
            "This action is outside the authorized scopes",
        ),
        (403, {"error": "This action is not allowed"}, Rejected, "This action is not allowed"),
        (404, {"error": "Record not found"}, Rejected, "Record not found"),
        (
            422,
            {"error": "Validation failed: Text character limit of 500 exceeded"},
            Rejected,
            "Validation failed: Text character limit of 500 exceeded",
        ),
        (500, {"error": "Internal error"}, PlatformUnavailable, "Internal error"),
        (503, {"error": "Temporary problem"}, PlatformUnavailable, "Temporary problem"),
        (
            400,
            {"error": "invalid_grant", "error_description": "The provided grant is invalid"},
            Rejected,
            "The provided grant is invalid",
        ),
    ],
)
def test_error_mapping(
    adapter: MastodonAdapter, status: int, body: dict[str, str], kind: type, message: str
) -> None:
    """Each Mastodon error becomes its typed error with the platform's own message."""
    err = adapter.error_for(httpx.Response(status, json=body, request=_request()))
    assert type(err) is kind
    assert err.platform_message == message
    assert err.status_code == status
    assert err.platform == "mastodon"
    assert message in str(err)
    if "error_description" in body:
        assert err.code == body["error"]


def test_401_says_to_authorise_again(adapter: MastodonAdapter) -> None:
    """Tokens never expire, so a 401 tells the user to authorise again."""
    err = adapter.error_for(
        httpx.Response(401, json={"error": "The access token is invalid"}, request=_request())
    )
    assert "authorise the app again" in str(err)
    assert TOKEN not in str(err)


def test_non_json_error_keeps_the_text(adapter: MastodonAdapter) -> None:
    """A proxy's HTML error page still gives a message and a type."""
    err = adapter.error_for(
        httpx.Response(502, text="<html>502 Bad Gateway</html>", request=_request())
    )
    assert isinstance(err, PlatformUnavailable)
    assert "502 Bad Gateway" in str(err)


def test_429_reads_iso_reset_and_bucket(adapter: MastodonAdapter) -> None:
    """A 429 carries the ISO 8601 reset, the wait from the server's clock and the bucket."""
    now = datetime(2026, 10, 14, 19, 4, 20, tzinfo=UTC)
    response = httpx.Response(
        429,
        json={"error": "Too many requests"},
        headers={
            "x-ratelimit-limit": "300",
            "x-ratelimit-remaining": "0",
            "x-ratelimit-reset": "2026-10-14T21:00:00.842091Z",
            "date": format_datetime(now, usegmt=True),
        },
        request=_request(),
    )
    err = adapter.error_for(response)
    assert isinstance(err, RateLimited)
    assert err.reset_at == datetime(2026, 10, 14, 21, 0, 0, 842091, tzinfo=UTC)
    assert err.retry_after == pytest.approx(6940.842091)
    assert err.bucket == "mastodon:statuses"
    assert err.platform_message == "Too many requests"


@pytest.mark.parametrize(
    ("method", "path", "bucket"),
    [
        ("POST", "/api/v2/media", "mastodon:media"),
        ("DELETE", "/api/v1/statuses/12", "mastodon:delete"),
        ("GET", "/api/v1/statuses", "mastodon:api"),
    ],
)
def test_429_bucket_per_endpoint(
    adapter: MastodonAdapter, method: str, path: str, bucket: str
) -> None:
    """The bucket named in a RateLimited follows Mastodon's limit families."""
    reset = int(datetime.now(UTC).timestamp()) + 1800
    response = httpx.Response(
        429,
        json={"error": "Too many requests"},
        headers={"x-ratelimit-reset": str(reset)},
        request=_request(method, path),
    )
    err = adapter.error_for(response)
    assert isinstance(err, RateLimited)
    assert err.bucket == bucket
    # Some servers send epoch seconds instead of ISO 8601.
    assert err.reset_at == datetime.fromtimestamp(reset, UTC)


@pytest.mark.parametrize("reset", ["1e20", "-1e20", "inf"])
def test_429_with_a_reset_no_clock_holds_is_still_a_rate_limit(
    adapter: MastodonAdapter, reset: str
) -> None:
    """An epoch reset past what a clock holds (a garbled header) raised OverflowError out of
    error_for; it is left out, and the 429 is a RateLimited."""
    response = httpx.Response(
        429,
        json={"error": "Too many requests"},
        headers={"x-ratelimit-reset": reset},
        request=_request(),
    )
    err = adapter.error_for(response)
    assert isinstance(err, RateLimited)
    assert err.reset_at is None


def test_an_id_no_clock_holds_reads_from_the_start() -> None:
    """Listening turns the newest id read into a time to search from: an id too large for
    a snowflake (Mastodon ids may be any digits) raised OverflowError; it is the epoch, so
    the search reads from the start rather than past a status."""
    from brandkit.platforms.mastodon import _id_time

    assert _id_time("9" * 40) == datetime.fromtimestamp(0, UTC)
    assert _id_time("abc") == datetime.fromtimestamp(0, UTC)
    assert _id_time(str(1_700_000_000_000 << 16)) == datetime.fromtimestamp(1_700_000_000, UTC)


# -- find_part --------------------------------------------------------------------------------


def _credentials(now: datetime) -> httpx.Response:
    return answer(
        200,
        {"id": "42", "username": "brand", "followers_count": 7},
        date=format_datetime(now, usegmt=True),
    )


def test_find_part_asks_with_the_key(adapter: MastodonAdapter) -> None:
    """A create with the same key and an over-long text returns the original."""
    key = tid_at(datetime.now(UTC))
    adapter._caps = MastodonAdapter.capabilities
    canned = Canned(
        ("GET", "/api/v1/accounts/verify_credentials", _credentials(datetime.now(UTC))),
        ("POST", "/api/v1/statuses", answer(200, status_json("77"))),
    )
    post = rendered("hello")
    steps, ref = steps_of(adapter.find_part(post, post.parts[0], ThreadContext(key=key)), canned)
    assert ref is not None and ref.id == "77"
    probe = canned.requests[1]
    assert probe.headers["idempotency-key"] == key
    body = json.loads(probe.content)
    assert len(body["status"]) > 100_000 and body["visibility"] == "direct"
    assert not steps[1].creates and steps[1].idempotent


def test_find_part_undoes_a_probe_the_server_took(adapter: MastodonAdapter) -> None:
    """A server that ignored the limit (or the key) and made the probe a status: the probe
    is deleted again and the part counts as not found."""
    adapter._caps = MastodonAdapter.capabilities
    probe = "x" * 100_001
    canned = Canned(
        ("GET", "/api/v1/accounts/verify_credentials", _credentials(datetime.now(UTC))),
        ("POST", "/api/v1/statuses", answer(200, status_json("66", content=f"<p>{probe}</p>"))),
        ("DELETE", "/api/v1/statuses/66", answer(200, status_json("66"))),
    )
    post = rendered("hello")
    key = tid_at(datetime.now(UTC))
    ref = run_flow(adapter.find_part(post, post.parts[0], ThreadContext(key=key)), canned)
    assert ref is None
    assert canned.requests[-1].method == "DELETE"


def test_find_part_reports_nothing_when_the_probe_is_refused(adapter: MastodonAdapter) -> None:
    """The probe refused for length means the key created nothing: None."""
    adapter._caps = MastodonAdapter.capabilities
    canned = Canned(
        ("GET", "/api/v1/accounts/verify_credentials", _credentials(datetime.now(UTC))),
        (
            "POST",
            "/api/v1/statuses",
            answer(422, {"error": "Validation failed: Text character limit of 500 exceeded"}),
        ),
    )
    post = rendered("hello")
    key = tid_at(datetime.now(UTC) - timedelta(minutes=20))
    assert run_flow(adapter.find_part(post, post.parts[0], ThreadContext(key=key)), canned) is None
    assert len(canned.requests) == 2  # a key this fresh is still known: no read-back


def test_find_part_reads_back_when_the_key_is_too_old(adapter: MastodonAdapter) -> None:
    """Past the key's hour, the account's statuses since the attempt are matched instead."""
    adapter._caps = MastodonAdapter.capabilities
    started = datetime.now(UTC) - timedelta(hours=3)
    key = tid_at(started)
    html_of = '<p>Hi <span class="h-card"><a href="https://x.example/@bob" class="u-url mention">@<span>bob</span></a></span><br />see <a href="https://e.example/a"><span class="invisible">https://</span><span>e.example/a</span></a> &amp; more</p>'
    page = [
        status_json("300", content="<p>something else</p>", in_reply_to_id="100"),
        status_json("200", content=html_of, in_reply_to_id="100", spoiler_text=""),
        status_json("199", content=html_of, in_reply_to_id="999"),
    ]
    canned = Canned(
        ("GET", "/api/v1/accounts/verify_credentials", _credentials(datetime.now(UTC))),
        (
            "POST",
            "/api/v1/statuses",
            answer(422, {"error": "Validation failed: Text character limit of 500 exceeded"}),
        ),
        ("GET", "/api/v1/accounts/42/statuses", answer(200, page)),
        ("GET", "/api/v1/accounts/42/statuses", answer(200, [])),
    )
    post = rendered("root", "Hi @bob@x.example\nsee https://e.example/a & more")
    ctx = ThreadContext(key=key, previous=(PartRef(index=0, id="100"),))
    ref = run_flow(adapter.find_part(post, post.parts[1], ctx), canned)
    assert ref is not None and (ref.id, ref.index) == ("200", 1)
    first = canned.requests[2].url.params
    assert int(first["min_id"]) >> 16 < started.timestamp() * 1000
    assert canned.requests[3].url.params["min_id"] == "300"
    # The only create is the probe, which the key no longer answers.
    assert [r.method for r in canned.requests].count("POST") == 1


def test_find_part_on_an_instance_with_a_huge_limit_reads_back(adapter: MastodonAdapter) -> None:
    """An instance that says it takes 20 million characters (servers that mean "no limit"
    say 2147483647): a probe over that limit was built and sent anyway, 20 MB here and a
    2 GB string (MemoryError) there. Past a million characters there is no probe: the
    account's statuses are read back, however fresh the key."""
    caps = MastodonAdapter.capabilities
    adapter._caps = attrs.evolve(
        caps, text_options={**caps.text_options, "max_characters": 20_000_000}
    )
    key = tid_at(datetime.now(UTC) - timedelta(minutes=5))
    canned = Canned(
        ("GET", "/api/v1/accounts/verify_credentials", _credentials(datetime.now(UTC))),
        (
            "POST",
            "/api/v1/statuses",
            answer(422, {"error": "Validation failed: Text character limit exceeded"}),
        ),
        (
            "GET",
            "/api/v1/accounts/42/statuses",
            answer(200, [status_json("8", content="<p>hello</p>", in_reply_to_id=None)]),
        ),
        ("GET", "/api/v1/accounts/42/statuses", answer(200, [])),
    )
    post = rendered("hello")
    ref = run_flow(adapter.find_part(post, post.parts[0], ThreadContext(key=key)), canned)
    assert all(len(r.content) < 1_000_000 for r in canned.requests)
    assert ref is not None and ref.id == "8"


def test_find_part_read_back_without_match(adapter: MastodonAdapter) -> None:
    """An old attempt that is not among the account's statuses did not land: None."""
    adapter._caps = MastodonAdapter.capabilities
    key = tid_at(datetime.now(UTC) - timedelta(days=1))
    canned = Canned(
        ("GET", "/api/v1/accounts/verify_credentials", _credentials(datetime.now(UTC))),
        (
            "POST",
            "/api/v1/statuses",
            answer(422, {"error": "Validation failed: Text character limit of 500 exceeded"}),
        ),
        (
            "GET",
            "/api/v1/accounts/42/statuses",
            answer(200, [status_json("5", content="<p>no</p>")]),
        ),
        ("GET", "/api/v1/accounts/42/statuses", answer(200, [])),
    )
    post = rendered("hello")
    assert run_flow(adapter.find_part(post, post.parts[0], ThreadContext(key=key)), canned) is None


def test_find_part_uses_the_server_clock(adapter: MastodonAdapter) -> None:
    """The key's age is measured against the server's Date header, not this machine."""
    adapter._caps = MastodonAdapter.capabilities
    canned = Canned(
        (
            "GET",
            "/api/v1/accounts/verify_credentials",
            _credentials(datetime.now(UTC) + timedelta(hours=2)),
        ),
        (
            "POST",
            "/api/v1/statuses",
            answer(422, {"error": "Validation failed: Text character limit of 500 exceeded"}),
        ),
        ("GET", "/api/v1/accounts/42/statuses", answer(200, [])),
    )
    post = rendered("hello")
    key = tid_at(datetime.now(UTC))
    assert run_flow(adapter.find_part(post, post.parts[0], ThreadContext(key=key)), canned) is None
    assert "min_id" in canned.requests[2].url.params


def test_find_part_distrusts_a_key_from_the_future(adapter: MastodonAdapter) -> None:
    """A key whose time is ahead of the server (a clock went wrong) gets an unbounded
    read-back of the latest statuses, paging backwards."""
    adapter._caps = MastodonAdapter.capabilities
    canned = Canned(
        ("GET", "/api/v1/accounts/verify_credentials", _credentials(datetime.now(UTC))),
        (
            "POST",
            "/api/v1/statuses",
            answer(422, {"error": "Validation failed: Text character limit of 500 exceeded"}),
        ),
        ("GET", "/api/v1/accounts/42/statuses", answer(200, [status_json("9"), status_json("8")])),
        (
            "GET",
            "/api/v1/accounts/42/statuses",
            answer(200, [status_json("7", content="<p>hello</p>")]),
        ),
        ("GET", "/api/v1/accounts/42/statuses", answer(200, [])),
    )
    post = rendered("hello")
    key = tid_at(datetime(2033, 5, 18, tzinfo=UTC))
    ref = run_flow(adapter.find_part(post, post.parts[0], ThreadContext(key=key)), canned)
    assert ref is not None and ref.id == "7"
    pages = [r.url.params for r in canned.requests[2:]]
    assert "min_id" not in pages[0] and "max_id" not in pages[0]
    assert pages[1]["max_id"] == "8" and pages[2]["max_id"] == "7"


def test_tid_time_round_trip() -> None:
    """The time a TID key was made is read back from it; other keys give None."""
    when = datetime(2026, 11, 1, 12, 0, 0, 123456, tzinfo=UTC)
    assert tid_time(tid_at(when)) == when
    assert tid_time(new_tid()) is not None
    assert tid_time("not-a-tid") is None
    assert tid_time("0000000000000") is None


# -- delete -----------------------------------------------------------------------------------


def test_delete(adapter: MastodonAdapter) -> None:
    """DELETE /api/v1/statuses/:id, idempotent, in the delete bucket."""
    canned = Canned(("DELETE", "/api/v1/statuses/12", answer(200, status_json("12"))))
    steps, result = steps_of(adapter.delete_part(PartRef(index=0, id="12")), canned)
    assert result is None
    assert (steps[0].bucket, steps[0].idempotent) == ("delete", True)


def test_delete_of_a_gone_status_is_fine(adapter: MastodonAdapter) -> None:
    """A 404 means it is already deleted."""
    canned = Canned(("DELETE", "/api/v1/statuses/12", answer(404, {"error": "Record not found"})))
    run_flow(adapter.delete_part(PartRef(index=0, id="12")), canned)


def test_delete_refused(adapter: MastodonAdapter) -> None:
    """Any other refusal raises."""
    canned = Canned(
        ("DELETE", "/api/v1/statuses/12", answer(403, {"error": "This action is not allowed"}))
    )
    with pytest.raises(Rejected, match="not allowed"):
        run_flow(adapter.delete_part(PartRef(index=0, id="12")), canned)


# -- metrics ----------------------------------------------------------------------------------


def test_metrics_in_one_request(adapter: MastodonAdapter) -> None:
    """Up to 20 statuses in one GET; counts mapped to canonical names; the rest unavailable."""
    a = status_json("1", favourites_count=5, reblogs_count=2, replies_count=1, quotes_count=3)
    b = status_json("2", favourites_count=0, reblogs_count=0, replies_count=0)
    del b["quotes_count"]  # an older server
    canned = Canned(("GET", "/api/v1/statuses", answer(200, [b, a])))
    refs = [PartRef(index=0, id="1"), PartRef(index=0, id="2"), PartRef(index=0, id="3")]
    samples = run_flow(adapter.collect_metrics(refs), canned)
    (request,) = canned.requests
    assert request.url.params.get_list("id[]") == ["1", "2", "3"]
    got = {(s.post_id, s.metric): s for s in samples}
    assert got["1", "likes"].value == 5 and got["1", "likes"].raw_name == "favourites_count"
    assert got["1", "reposts"].value == 2 and got["1", "reposts"].raw_name == "reblogs_count"
    assert got["1", "replies"].value == 1 and got["1", "quotes"].value == 3
    assert got["1", "likes"].posted_at is not None
    assert not got["2", "quotes"].available and "4.5" in (got["2", "quotes"].reason or "")
    for metric in ("likes", "reposts", "replies", "quotes"):
        assert not got["3", metric].available and "not returned" in (got["3", metric].reason or "")
    for post_id in "123":
        for metric in (Metric.IMPRESSIONS, Metric.REACH, Metric.LINK_CLICKS):
            sample = got[post_id, metric.value]
            assert not sample.available and sample.reason and sample.value is None
    assert all(s.account == "mastodon:mastodon" for s in samples)


def test_metrics_batches_of_twenty(adapter: MastodonAdapter) -> None:
    """More than 20 refs take one request per 20."""
    refs = [PartRef(index=0, id=str(i)) for i in range(45)]
    seen: list[int] = []

    def respond(request: httpx.Request) -> httpx.Response:
        ids = request.url.params.get_list("id[]")
        seen.append(len(ids))
        return answer(200, [status_json(i) for i in ids])

    samples = run_flow(adapter.collect_metrics(refs), respond)
    assert seen == [20, 20, 5]
    assert len({s.post_id for s in samples}) == 45


def test_metrics_fall_back_for_old_servers(adapter: MastodonAdapter) -> None:
    """Before 4.3 there is no batch lookup (404): statuses are read one by one."""
    canned = Canned(
        ("GET", "/api/v1/statuses", answer(404, {"error": "Record not found"})),
        ("GET", "/api/v1/statuses/1", answer(200, status_json("1", favourites_count=4))),
        ("GET", "/api/v1/statuses/2", answer(404, {"error": "Not Found"})),
    )
    samples = run_flow(
        adapter.collect_metrics([PartRef(index=0, id="1"), PartRef(index=0, id="2")]), canned
    )
    got = {(s.post_id, s.metric): s for s in samples}
    assert got["1", "likes"].value == 4
    assert not got["2", "likes"].available


def test_account_metrics(adapter: MastodonAdapter) -> None:
    """Followers come from verify_credentials."""
    canned = Canned(("GET", "/api/v1/accounts/verify_credentials", _credentials(datetime.now(UTC))))
    (sample,) = run_flow(adapter.collect_account_metrics(), canned)
    assert (sample.metric, sample.value, sample.raw_name) == ("followers", 7, "followers_count")
    assert sample.post_id is None


def test_secrets_stay_out_of_requests_repr() -> None:
    """The token is only in the Authorization header, never in URLs."""
    acct = Account.mastodon(BASE, token=TOKEN)
    adapter = MastodonAdapter(acct)
    canned = Canned(("GET", "/api/v1/accounts/verify_credentials", _credentials(datetime.now(UTC))))
    run_flow(adapter.collect_account_metrics(), canned)
    assert TOKEN not in str(canned.requests[0].url)
    assert TOKEN not in repr(acct)


@pytest.mark.parametrize("status", [400, 422, 429, 503])
def test_an_error_body_nested_too_deep_is_still_a_typed_error(
    adapter: MastodonAdapter, status: int
) -> None:
    """A hostile or garbled error body of 100,000 nested brackets: json raised RecursionError
    (not a ValueError) out of error_for, so a refused create or lookup crashed with an
    untyped exception; it is a PlatformError that keeps the start of the text."""
    deep = b"[" * 100_000 + b"]" * 100_000
    err = adapter.error_for(httpx.Response(status, content=deep, request=_request()))
    assert isinstance(err, PlatformError)
    assert err.status_code == status
    assert err.platform_message and err.platform_message.startswith("[[[")
