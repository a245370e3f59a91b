"""Unit tests of the Bluesky adapter's flows, fed canned XRPC answers (no I/O)."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime
from typing import Any

import attrs
import httpx
import pytest

from brandkit import (
    AuthError,
    ConfigurationError,
    Link,
    Media,
    MediaError,
    PlatformError,
    PlatformUnavailable,
    Post,
    RateLimited,
    Rejected,
)
from brandkit._flow import Flow, Send, run_flow
from brandkit.content import Rendered, RenderedPart
from brandkit.metrics._sample import MetricSample
from brandkit.platforms import adapter_class
from brandkit.platforms._base import PartRef, ThreadContext
from brandkit.platforms._capabilities import BUILTIN_CAPABILITIES
from brandkit.platforms.bluesky import BlueskyAdapter
from tests.bluesky._support import (
    SHARED,
    Script,
    body_of,
    mp4,
    png,
    session_body,
    sky_account,
    xrpc,
)

DID = "did:plc:abc"
KEY = "3kabcdefgh2a2"
CAPS = BlueskyAdapter.capabilities
TABLE = BUILTIN_CAPABILITIES["bluesky"]
CREATED = {
    "uri": f"at://{DID}/app.bsky.feed.post/{KEY}",
    "cid": "bafyreiekv6q6albvxgqgzuty7x2hla4r32loald7b7vwhvaearsori2gky",
    "commit": {"cid": "bafyreibdsz62ikfbszvibe5dugvugge74ze4p4f6crppfnt6k6422cg4pe", "rev": "x"},
    "validationStatus": "valid",
}
BLOB = {"$type": "blob", "ref": {"$link": "bafkreiabc"}, "mimeType": "image/png", "size": 99}


def recorded(name: str) -> Any:
    return json.loads((SHARED / "recorded" / name).read_text(encoding="utf-8"))


def logged_in(**kw: Any) -> BlueskyAdapter:
    """An adapter whose account carries a saved session (no login needed)."""
    kw.setdefault("access_jwt", "access-0")
    kw.setdefault("refresh_jwt", "refresh-0")
    kw.setdefault("did", DID)
    return BlueskyAdapter(sky_account(**kw))


def part(
    text: str = "hello",
    *,
    index: int = 0,
    media: tuple[Media, ...] = (),
    facets: tuple[dict[str, Any], ...] = (),
) -> RenderedPart:
    return RenderedPart(
        index=index, text=text, length=len(text), limit=300, media=media, facets=facets
    )


def rendered(
    *parts: RenderedPart, link: Link | None = None, language: str | None = None
) -> Rendered:
    return Rendered(
        platform="bluesky",
        parts=parts or (part(),),
        post=Post(text="x"),
        capabilities=CAPS,
        link=link,
        language=language,
    )


def sends(flow: Flow[Any], respond: Any) -> tuple[list[Send], Any]:
    """Run a flow like run_flow, keeping every Send step."""
    seen: list[Send] = []
    try:
        step = next(flow)
        while True:
            if isinstance(step, Send):
                seen.append(step)
                step = flow.send(respond(step.request))
            else:
                step = flow.send(httpx.Response(204))
    except StopIteration as stop:
        return seen, stop.value


def jwt(claims: dict[str, Any]) -> str:
    def enc(d: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip("=")

    return f"{enc({'typ': 'at+jwt', 'alg': 'HS256'})}.{enc(claims)}.sig"


# -- registry and declarations -----------------------------------------------------------------


def test_registered_under_its_name() -> None:
    """The registry finds the adapter by the name "bluesky"."""
    assert adapter_class("bluesky") is BlueskyAdapter
    caps = BlueskyAdapter.capabilities
    # The built-in table plus what the adapter reads and does in conversations, and search.
    assert caps.inbox == {"reply", "mention", "quote"}
    assert caps.hide_messages and caps.like_messages and not caps.delete_messages
    assert caps.search
    conversation = ("inbox", "hide_messages", "like_messages", "search")
    assert attrs.evolve(caps, **{k: getattr(TABLE, k) for k in conversation}) == TABLE
    assert BlueskyAdapter.metrics_batch_size == 25


def test_rate_policies_declare_the_documented_budgets() -> None:
    """Write points (5,000/h, 35,000/day) and createSession (30/5 min; 100/day, the
    bsky.social entryway's figure, below the PDS's 300) are declared."""
    declared = {(p.bucket, p.limit, p.window, p.scope) for p in BlueskyAdapter.rate_policies}
    assert ("write", 5000, 3600.0, "account") in declared
    assert ("write", 35000, 86400.0, "account") in declared
    assert ("session", 30, 300.0, "account") in declared
    assert ("session", 100, 86400.0, "account") in declared
    assert ("api", 3000, 300.0, "app") in declared


# -- sessions ----------------------------------------------------------------------------------


def test_login_once_and_reuse_the_session() -> None:
    """The first flow logs in; later flows reuse the session; the hook gets the tokens."""
    changes: list[dict[str, str]] = []
    account = sky_account(on_credentials_changed=lambda a, c: changes.append(dict(c)))
    adapter = BlueskyAdapter(account)
    script = Script().on("com.atproto.server.createSession", xrpc(200, session_body()))
    script.on("com.atproto.server.describeServer", xrpc(200, {"did": "did:web:pds.example"}))
    script.on("com.atproto.repo.createRecord", xrpc(200, CREATED))
    caps = run_flow(adapter.prepare(), script)
    run_flow(adapter.publish_part(rendered(), part(), ThreadContext(key=KEY)), script)
    run_flow(adapter.prepare(), script)
    assert caps == CAPS  # the server names no blob limit: the defaults stand
    assert script.names().count("com.atproto.server.createSession") == 1
    assert script.names().count("com.atproto.server.describeServer") == 1
    login = body_of(script.calls("com.atproto.server.createSession")[0])
    assert login == {"identifier": "brand.test", "password": "app-pass-1234"}
    assert changes == [{"access_jwt": "access-1", "refresh_jwt": "refresh-1"}]
    assert account.settings["did"] == DID
    create = script.calls("com.atproto.repo.createRecord")[0]
    assert create.headers["authorization"] == "Bearer access-1"


def test_saved_session_is_used_without_logging_in() -> None:
    """An account with a saved session and DID does not log in to get ready."""
    script = Script().on("com.atproto.server.describeServer", xrpc(200, {}))
    run_flow(logged_in().prepare(), script)
    assert script.names() == ["com.atproto.server.describeServer"]
    assert "authorization" not in script.requests[0].headers


def test_prepare_caps_media_at_the_pds_blob_limit() -> None:
    """describeServer's blobUploadLimit lowers the media size limits render() checks."""
    script = Script().on(
        "com.atproto.server.describeServer", xrpc(200, {"blobUploadLimit": 5242880})
    )
    caps = run_flow(logged_in().prepare(), script)
    assert caps.media.max_video_bytes == 5242880
    assert caps.media.max_image_bytes == CAPS.media.max_image_bytes  # 2 MB is lower already
    assert caps.threads and caps.platform == "bluesky"


@pytest.mark.parametrize(
    "answer",
    [
        xrpc(200, {"blobUploadLimit": "big"}),
        xrpc(501, {"error": "MethodNotImplemented"}),
        xrpc(200, {}),
    ],
)
def test_prepare_keeps_the_defaults_without_a_usable_limit(answer: httpx.Response) -> None:
    """No limit, a strange one, or no describeServer at all: the documented defaults stand."""
    script = Script().on("com.atproto.server.describeServer", answer)
    assert run_flow(logged_in().prepare(), script) == CAPS


def test_saved_session_without_did_asks_get_session() -> None:
    """A saved session without a DID learns it from getSession, not by logging in."""
    adapter = BlueskyAdapter(sky_account(access_jwt="access-0", refresh_jwt="refresh-0"))
    script = Script().on("com.atproto.server.getSession", xrpc(200, {"did": DID, "handle": "x"}))
    script.on("com.atproto.server.describeServer", xrpc(200, {}))
    run_flow(adapter.prepare(), script)
    assert script.names() == ["com.atproto.server.getSession", "com.atproto.server.describeServer"]
    assert adapter.did == DID


def test_expired_token_is_refreshed_and_the_request_repeated_once() -> None:
    """ExpiredToken (400 at the PDS) → refreshSession with the refresh JWT → same request again."""
    changes: list[dict[str, str]] = []
    adapter = logged_in(on_credentials_changed=lambda a, c: changes.append(dict(c)))
    script = Script().on(
        "com.atproto.repo.createRecord",
        xrpc(400, {"error": "ExpiredToken", "message": "Token has expired"}),
        xrpc(200, CREATED),
    )
    script.on("com.atproto.server.refreshSession", xrpc(200, session_body(n=2)))
    ref = run_flow(adapter.publish_part(rendered(), part(), ThreadContext(key=KEY)), script)
    assert ref.id == KEY
    assert script.names() == [
        "com.atproto.repo.createRecord",
        "com.atproto.server.refreshSession",
        "com.atproto.repo.createRecord",
    ]
    refresh = script.calls("com.atproto.server.refreshSession")[0]
    assert refresh.headers["authorization"] == "Bearer refresh-0"
    first, second = script.calls("com.atproto.repo.createRecord")
    assert first.headers["authorization"] == "Bearer access-0"
    assert second.headers["authorization"] == "Bearer access-2"
    assert body_of(first)["rkey"] == body_of(second)["rkey"] == KEY
    assert changes == [{"access_jwt": "access-2", "refresh_jwt": "refresh-2"}]


def test_appview_style_401_expired_token_is_refreshed_too() -> None:
    """The AppView answers 401 ExpiredToken; that renews the session as well."""
    adapter = logged_in()
    script = Script().on(
        "app.bsky.actor.getProfile",
        xrpc(401, {"error": "ExpiredToken", "message": "jwt expired"}),
        xrpc(200, {"did": DID, "handle": "brand.test", "followersCount": 7}),
    )
    script.on("com.atproto.server.refreshSession", xrpc(200, session_body(n=2)))
    (sample,) = run_flow(adapter.collect_account_metrics(), script)
    assert sample.value == 7
    assert script.names().count("com.atproto.server.refreshSession") == 1


def test_revoked_refresh_token_falls_back_to_the_app_password() -> None:
    """When refreshSession refuses the refresh token, the adapter logs in again once."""
    adapter = logged_in()
    script = Script().on(
        "com.atproto.repo.createRecord",
        xrpc(400, {"error": "ExpiredToken", "message": "Token has expired"}),
        xrpc(200, CREATED),
    )
    script.on(
        "com.atproto.server.refreshSession",
        xrpc(400, {"error": "ExpiredToken", "message": "Token has been revoked"}),
    )
    script.on("com.atproto.server.createSession", xrpc(200, session_body(n=3)))
    run_flow(adapter.publish_part(rendered(), part(), ThreadContext(key=KEY)), script)
    assert script.names() == [
        "com.atproto.repo.createRecord",
        "com.atproto.server.refreshSession",
        "com.atproto.server.createSession",
        "com.atproto.repo.createRecord",
    ]
    assert adapter.account.secret("access_jwt") == "access-3"


def test_revoked_session_without_password_is_an_auth_error_without_secrets() -> None:
    """No app password to fall back on: AuthError naming the refusal, never the tokens."""
    account = sky_account(
        app_password=None, access_jwt="access-0", refresh_jwt="refresh-0", did=DID
    )
    adapter = BlueskyAdapter(account)
    script = Script().on(
        "com.atproto.repo.createRecord",
        xrpc(400, {"error": "ExpiredToken", "message": "Token has expired"}),
    )
    script.on(
        "com.atproto.server.refreshSession",
        xrpc(400, {"error": "ExpiredToken", "message": "Token has been revoked"}),
    )
    with pytest.raises(AuthError) as info:
        run_flow(adapter.publish_part(rendered(), part(), ThreadContext(key=KEY)), script)
    assert "Token has been revoked" in str(info.value)
    assert "refresh-0" not in str(info.value) and "access-0" not in str(info.value)


def test_a_second_expired_answer_is_not_renewed_again() -> None:
    """The request is repeated once after a renewal; a second refusal is raised."""
    adapter = logged_in()
    script = Script().on(
        "com.atproto.repo.createRecord",
        xrpc(400, {"error": "ExpiredToken", "message": "Token has expired"}),
    )
    script.on("com.atproto.server.refreshSession", xrpc(200, session_body(n=2)))
    with pytest.raises(AuthError, match="Token has expired"):
        run_flow(adapter.publish_part(rendered(), part(), ThreadContext(key=KEY)), script)
    assert script.names().count("com.atproto.repo.createRecord") == 2


def test_access_jwt_past_its_exp_is_refreshed_before_use() -> None:
    """A saved access JWT whose exp has passed is renewed before the first request."""
    stale = jwt({"sub": DID, "exp": int(time.time()) - 10})
    adapter = logged_in(access_jwt=stale)
    script = Script().on("com.atproto.server.refreshSession", xrpc(200, session_body(n=2)))
    script.on("com.atproto.server.describeServer", xrpc(200, {}))
    run_flow(adapter.prepare(), script)
    assert script.names()[0] == "com.atproto.server.refreshSession"
    assert adapter.account.secret("access_jwt") == "access-2"


def test_wrong_app_password_is_an_auth_error_with_the_platform_message() -> None:
    """createSession's 401 becomes AuthError carrying "Invalid identifier or password"."""
    adapter = BlueskyAdapter(sky_account())
    script = Script().on(
        "com.atproto.server.createSession",
        xrpc(401, {"error": "AuthenticationRequired", "message": "Invalid identifier or password"}),
    )
    with pytest.raises(AuthError) as info:
        run_flow(adapter.prepare(), script)
    assert info.value.platform_message == "Invalid identifier or password"
    assert info.value.code == "AuthenticationRequired"
    assert "app-pass-1234" not in str(info.value)


# -- error mapping -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "name", "message", "kind"),
    [
        (400, "InvalidRequest", "Invalid app.bsky.feed.post record: grapheme too big", Rejected),
        (400, "ExpiredToken", "Token has expired", AuthError),
        (400, "InvalidToken", "Token could not be verified", AuthError),
        (401, "AuthMissing", "Authentication Required", AuthError),
        (401, "AuthenticationRequired", "Invalid identifier or password", AuthError),
        (400, "AccountTakedown", "Account has been taken down", AuthError),
        (400, "RecordNotFound", "Could not locate record: at://x", Rejected),
        (400, "BlobNotFound", "Could not find blob: bafkrei", Rejected),
        (413, "PayloadTooLarge", "request entity too large", Rejected),
        (500, "InternalServerError", "Internal Server Error", PlatformUnavailable),
        (502, "UpstreamFailure", "Upstream Failure", PlatformUnavailable),
        (503, "NotEnoughResources", "Not Enough Resources", PlatformUnavailable),
    ],
)
def test_error_mapping(status: int, name: str, message: str, kind: type[Exception]) -> None:
    """Each XRPC error becomes its typed error carrying the name and the platform's message."""
    response = xrpc(status, {"error": name, "message": message})
    response.request = httpx.Request(
        "POST", "https://pds.example/xrpc/com.atproto.repo.createRecord"
    )
    err = logged_in().error_for(response)
    assert type(err) is kind
    assert err.platform == "bluesky"
    assert err.status_code == status
    assert err.code == name
    assert err.platform_message == message
    assert message in str(err) and name in str(err)


def test_rate_limited_reads_the_ietf_headers() -> None:
    """429 RateLimitExceeded → RateLimited with reset_at (epoch), retry_after and the bucket."""
    reset = int(time.time()) + 290
    response = xrpc(
        429,
        {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
        {
            "RateLimit-Limit": "30",
            "RateLimit-Remaining": "0",
            "RateLimit-Reset": str(reset),
            "RateLimit-Policy": "30;w=300",
            "Retry-After": "290",
        },
    )
    response.request = httpx.Request(
        "POST", "https://pds.example/xrpc/com.atproto.server.createSession"
    )
    err = logged_in().error_for(response)
    assert isinstance(err, RateLimited)
    assert err.reset_at == datetime.fromtimestamp(reset, UTC)
    assert err.retry_after == 290
    assert err.bucket == "session"
    assert err.platform_message == "Rate Limit Exceeded"


def test_rate_limited_without_retry_after_uses_the_reset() -> None:
    """Without Retry-After the wait is computed from RateLimit-Reset."""
    response = xrpc(
        429,
        {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
        {"RateLimit-Reset": str(int(time.time()) + 100)},
    )
    response.request = httpx.Request(
        "POST", "https://pds.example/xrpc/com.atproto.repo.createRecord"
    )
    err = logged_in().error_for(response)
    assert isinstance(err, RateLimited)
    assert err.bucket == "write"
    assert err.retry_after is not None and 95 <= err.retry_after <= 100


def test_non_json_gateway_error_keeps_its_text() -> None:
    """A proxy's HTML 502 is PlatformUnavailable with the body's text."""
    response = httpx.Response(502, text="<html>Bad Gateway</html>")
    err = logged_in().error_for(response)
    assert isinstance(err, PlatformUnavailable)
    assert "Bad Gateway" in str(err)


# -- publishing --------------------------------------------------------------------------------


def test_create_record_shape_and_step() -> None:
    """One createRecord at rkey = thread.key, marked creates (not blindly repeatable), 3 points."""
    adapter = logged_in()
    script = Script().on("com.atproto.repo.createRecord", xrpc(200, CREATED))
    steps, ref = sends(
        adapter.publish_part(rendered(language="pt-BR"), part("olá"), ThreadContext(key=KEY)),
        script,
    )
    (step,) = steps
    assert step.creates and not step.idempotent
    assert (step.bucket, step.cost) == ("write", 3)
    body = body_of(step.request)
    assert body["repo"] == DID
    assert body["collection"] == "app.bsky.feed.post"
    assert body["rkey"] == KEY
    record = body["record"]
    assert record["$type"] == "app.bsky.feed.post"
    assert record["text"] == "olá"
    assert record["langs"] == ["pt-BR"]
    assert "reply" not in record and "embed" not in record and "facets" not in record
    created = datetime.fromisoformat(record["createdAt"].replace("Z", "+00:00"))
    assert abs((datetime.now(UTC) - created).total_seconds()) < 60
    assert record["createdAt"].endswith("Z")
    assert ref == PartRef(
        index=0,
        id=KEY,
        url=f"https://bsky.app/profile/brand.test/post/{KEY}",
        uri=CREATED["uri"],
        cid=CREATED["cid"],
    )


def test_a_non_tid_key_is_refused_before_any_request() -> None:
    """The PDS takes only TIDs as post keys; a wrong key fails before sending anything."""
    script = Script()
    with pytest.raises(ConfigurationError, match="TID"):
        run_flow(logged_in().publish_part(rendered(), part(), ThreadContext(key="hello")), script)
    assert script.requests == []


def test_mentions_are_resolved_and_unknown_handles_dropped() -> None:
    """Mention handles become DIDs (cached); an unresolvable handle's facet is dropped."""
    facets = (
        {
            "index": {"byteStart": 0, "byteEnd": 11},
            "features": [{"$type": "app.bsky.richtext.facet#mention", "handle": "alice.test"}],
        },
        {
            "index": {"byteStart": 12, "byteEnd": 22},
            "features": [{"$type": "app.bsky.richtext.facet#mention", "handle": "ghost.test"}],
        },
        {
            "index": {"byteStart": 23, "byteEnd": 34},
            "features": [{"$type": "app.bsky.richtext.facet#mention", "handle": "alice.test"}],
        },
        {
            "index": {"byteStart": 35, "byteEnd": 39},
            "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": "tag"}],
        },
    )

    def resolve(request: httpx.Request) -> httpx.Response:
        handle = request.url.params["handle"]
        if handle == "alice.test":
            return xrpc(200, recorded("resolve_handle.json"))
        return xrpc(400, {"error": "HandleNotFound", "message": "Unable to resolve handle"})

    script = Script().on("com.atproto.identity.resolveHandle", resolve)
    script.on("com.atproto.repo.createRecord", xrpc(200, CREATED))
    text = "@alice.test @ghost.test @alice.test #tag"
    run_flow(
        logged_in().publish_part(rendered(), part(text, facets=facets), ThreadContext(key=KEY)),
        script,
    )
    assert len(script.calls("com.atproto.identity.resolveHandle")) == 2
    sent = body_of(script.calls("com.atproto.repo.createRecord")[0])["record"]["facets"]
    alice = recorded("resolve_handle.json")["did"]
    assert sent == [
        {
            "index": {"byteStart": 0, "byteEnd": 11},
            "features": [{"$type": "app.bsky.richtext.facet#mention", "did": alice}],
        },
        {
            "index": {"byteStart": 23, "byteEnd": 34},
            "features": [{"$type": "app.bsky.richtext.facet#mention", "did": alice}],
        },
        facets[3],
    ]
    assert "handle" not in json.dumps(sent)


def test_resolve_handle_outage_fails_before_the_create() -> None:
    """A 5xx from resolveHandle is raised; nothing is created."""
    facets = (
        {
            "index": {"byteStart": 0, "byteEnd": 11},
            "features": [{"$type": "app.bsky.richtext.facet#mention", "handle": "alice.test"}],
        },
    )
    script = Script().on(
        "com.atproto.identity.resolveHandle",
        xrpc(503, {"error": "NotEnoughResources", "message": "busy"}),
    )
    with pytest.raises(PlatformUnavailable):
        run_flow(
            logged_in().publish_part(
                rendered(), part("@alice.test", facets=facets), ThreadContext(key=KEY)
            ),
            script,
        )
    assert not script.calls("com.atproto.repo.createRecord")


def test_reply_refs_point_at_root_and_parent() -> None:
    """A later part replies to the previous part with the first part as root (strong refs)."""
    root = PartRef(
        index=0,
        id="3kaaaaaaaaa22",
        uri=f"at://{DID}/app.bsky.feed.post/3kaaaaaaaaa22",
        cid="bafyroot",
    )
    mid = PartRef(
        index=1,
        id="3kaaaaaaaab22",
        uri=f"at://{DID}/app.bsky.feed.post/3kaaaaaaaab22",
        cid="bafymid",
    )
    script = Script().on("com.atproto.repo.createRecord", xrpc(200, CREATED))
    run_flow(
        logged_in().publish_part(
            rendered(), part(index=2), ThreadContext(key=KEY, previous=(root, mid))
        ),
        script,
    )
    reply = body_of(script.requests[0])["record"]["reply"]
    assert reply == {
        "root": {"uri": root.uri, "cid": "bafyroot"},
        "parent": {"uri": mid.uri, "cid": "bafymid"},
    }


def test_a_previous_part_without_cid_is_read_back() -> None:
    """A stored part lacking its strong ref is looked up with getRecord first."""
    root = PartRef(index=0, id="3k2yihcrp6f2c")
    script = Script().on("com.atproto.repo.getRecord", xrpc(200, recorded("post_record.json")))
    script.on("com.atproto.repo.createRecord", xrpc(200, CREATED))
    run_flow(
        logged_in().publish_part(
            rendered(), part(index=1), ThreadContext(key=KEY, previous=(root,))
        ),
        script,
    )
    assert script.calls("com.atproto.repo.getRecord")[0].url.params["rkey"] == "3k2yihcrp6f2c"
    reply = body_of(script.calls("com.atproto.repo.createRecord")[0])["record"]["reply"]
    rec = recorded("post_record.json")
    assert reply["root"] == reply["parent"] == {"uri": rec["uri"], "cid": rec["cid"]}


def test_images_are_uploaded_with_alt_and_aspect_ratio() -> None:
    """Each image is one uploadBlob (raw bytes, its mime type); the embed keeps alt and size."""
    first = Media.from_bytes(png(30, 20), alt="A chart")
    second = Media.from_bytes(png(5, 8))
    uploads: list[bytes] = []

    def upload(request: httpx.Request) -> httpx.Response:
        data = request.read()
        uploads.append(data)
        return xrpc(
            200, {"blob": {**BLOB, "size": len(data), "ref": {"$link": f"bafkrei{len(uploads)}"}}}
        )

    script = Script().on("com.atproto.repo.uploadBlob", upload)
    script.on("com.atproto.repo.createRecord", xrpc(200, CREATED))
    steps, _ = sends(
        logged_in().publish_part(rendered(), part(media=(first, second)), ThreadContext(key=KEY)),
        script,
    )
    upload_steps = [s for s in steps if s.request.url.path.endswith("uploadBlob")]
    assert all(s.idempotent and not s.creates and s.bucket == "blob" for s in upload_steps)
    assert [s.request.headers["content-type"] for s in upload_steps] == ["image/png"] * 2
    assert upload_steps[0].request.headers["content-length"] == str(first.size)
    assert uploads == [first.read(), second.read()]
    embed = body_of(script.calls("com.atproto.repo.createRecord")[0])["record"]["embed"]
    assert embed["$type"] == "app.bsky.embed.images"
    assert embed["images"][0]["alt"] == "A chart"
    assert embed["images"][0]["aspectRatio"] == {"width": 30, "height": 20}
    assert embed["images"][0]["image"]["ref"]["$link"] == "bafkrei1"
    assert embed["images"][1]["alt"] == ""  # a required key, even when empty
    assert embed["images"][1]["aspectRatio"] == {"width": 5, "height": 8}


def test_a_video_becomes_a_video_embed() -> None:
    """A video is uploaded as a blob and embedded with app.bsky.embed.video and its alt."""
    video = Media.from_bytes(mp4(), alt="A clip")
    blob = {**BLOB, "mimeType": "video/mp4", "size": video.size}
    script = Script().on("com.atproto.repo.uploadBlob", xrpc(200, {"blob": blob}))
    script.on("com.atproto.repo.createRecord", xrpc(200, CREATED))
    run_flow(
        logged_in().publish_part(rendered(), part(media=(video,)), ThreadContext(key=KEY)), script
    )
    assert script.calls("com.atproto.repo.uploadBlob")[0].headers["content-type"] == "video/mp4"
    embed = body_of(script.calls("com.atproto.repo.createRecord")[0])["record"]["embed"]
    assert embed == {"$type": "app.bsky.embed.video", "video": blob, "alt": "A clip"}


def test_link_card_with_thumbnail() -> None:
    """A titled link on a part without media becomes app.bsky.embed.external with a thumb."""
    thumb = Media.from_bytes(png(4, 4))
    link = Link(
        url="https://example.com/a", title="A page", description="About it", thumbnail=thumb
    )
    script = Script().on("com.atproto.repo.uploadBlob", xrpc(200, {"blob": BLOB}))
    script.on("com.atproto.repo.createRecord", xrpc(200, CREATED))
    run_flow(logged_in().publish_part(rendered(link=link), part(), ThreadContext(key=KEY)), script)
    embed = body_of(script.calls("com.atproto.repo.createRecord")[0])["record"]["embed"]
    assert embed == {
        "$type": "app.bsky.embed.external",
        "external": {
            "uri": "https://example.com/a",
            "title": "A page",
            "description": "About it",
            "thumb": BLOB,
        },
    }


@pytest.mark.parametrize(
    ("link", "the_part"),
    [
        (Link(url="https://example.com/a"), part()),  # no title: the card would be empty
        (Link(url="https://example.com/a", title="T"), part(index=1)),  # only the first part
        (Link(url="https://example.com/a", title="T"), part(media=(Media.from_bytes(png(2, 2)),))),
    ],
)
def test_no_link_card(link: Link, the_part: RenderedPart) -> None:
    """No card without a title, on later parts, or when the part carries images."""
    script = Script().on("com.atproto.repo.uploadBlob", xrpc(200, {"blob": BLOB}))
    script.on("com.atproto.repo.createRecord", xrpc(200, CREATED))
    run_flow(
        logged_in().publish_part(rendered(link=link), the_part, ThreadContext(key=KEY)), script
    )
    embed = body_of(script.calls("com.atproto.repo.createRecord")[0])["record"].get("embed")
    assert embed is None or embed["$type"] == "app.bsky.embed.images"


def test_link_card_thumbnail_over_a_megabyte_fails_before_any_request() -> None:
    """A thumb over 1,000,000 bytes is a MediaError raised before anything is sent."""
    thumb = Media.from_bytes(png(2, 2, pad=1_000_001))
    link = Link(url="https://example.com/a", title="A page", thumbnail=thumb)
    script = Script()
    with pytest.raises(MediaError) as info:
        run_flow(
            logged_in().publish_part(rendered(link=link), part(), ThreadContext(key=KEY)), script
        )
    assert info.value.field == "link.thumbnail"
    assert script.requests == []


def test_create_refusal_keeps_the_platform_message() -> None:
    """A 400 from createRecord is Rejected with the PDS's validation message."""
    message = "Invalid app.bsky.feed.post record: grapheme too big (maximum 300, got 301) at $.record.text"
    script = Script().on(
        "com.atproto.repo.createRecord", xrpc(400, {"error": "InvalidRequest", "message": message})
    )
    with pytest.raises(Rejected) as info:
        run_flow(logged_in().publish_part(rendered(), part(), ThreadContext(key=KEY)), script)
    assert info.value.platform_message == message


# -- find, delete ------------------------------------------------------------------------------


def test_find_part_returns_the_record_at_the_key() -> None:
    """getRecord on the part's key (no auth needed) returns the existing post."""
    rec = recorded("post_record.json")
    script = Script().on("com.atproto.repo.getRecord", xrpc(200, rec))
    found = run_flow(
        logged_in().find_part(rendered(), part(), ThreadContext(key="3k2yihcrp6f2c")), script
    )
    request = script.requests[0]
    assert dict(request.url.params) == {
        "repo": DID,
        "collection": "app.bsky.feed.post",
        "rkey": "3k2yihcrp6f2c",
    }
    assert "authorization" not in request.headers
    assert found is not None
    assert (found.id, found.uri, found.cid) == ("3k2yihcrp6f2c", rec["uri"], rec["cid"])


def test_find_part_none_when_the_record_is_not_there() -> None:
    """400 RecordNotFound means the create surely did not land."""
    script = Script().on(
        "com.atproto.repo.getRecord",
        xrpc(
            400,
            {"error": "RecordNotFound", "message": f"Could not locate record: at://{DID}/x/{KEY}"},
        ),
    )
    assert (
        run_flow(logged_in().find_part(rendered(), part(), ThreadContext(key=KEY)), script) is None
    )


def test_find_part_raises_when_the_lookup_fails() -> None:
    """A failed lookup is not "not found": it raises, so the delivery stays unknown."""
    script = Script().on("com.atproto.repo.getRecord", xrpc(500, {"error": "InternalServerError"}))
    with pytest.raises(PlatformUnavailable):
        run_flow(logged_in().find_part(rendered(), part(), ThreadContext(key=KEY)), script)


def test_delete_uses_the_uri_and_is_idempotent() -> None:
    """deleteRecord on the ref's repo/collection/rkey; the PDS's empty 200 is success."""
    ref = PartRef(index=0, id=KEY, uri=f"at://{DID}/app.bsky.feed.post/{KEY}", cid="bafy")
    script = Script().on("com.atproto.repo.deleteRecord", xrpc(200, {}))
    steps, result = sends(logged_in().delete_part(ref), script)
    assert result is None
    (step,) = steps
    assert step.idempotent and (step.bucket, step.cost) == ("write", 1)
    assert body_of(step.request) == {"repo": DID, "collection": "app.bsky.feed.post", "rkey": KEY}


# -- metrics -----------------------------------------------------------------------------------


def test_metrics_of_a_batch_in_one_request() -> None:
    """Up to 25 posts in one getPosts; counts by canonical name with the raw name kept."""
    view = recorded("thread_view_post_with_embed_media.json")["thread"]["post"]
    mine = {
        **view,
        "uri": f"at://{DID}/app.bsky.feed.post/{KEY}",
        "likeCount": 5,
        "repostCount": 2,
        "replyCount": 1,
        "quoteCount": 3,
        "bookmarkCount": 4,
    }
    refs = [
        PartRef(index=0, id=KEY, uri=mine["uri"]),
        PartRef(index=0, id="3kaheyt6vpc22", uri=view["uri"]),
        PartRef(index=0, id="3kgoneeeeee22"),
    ]
    script = Script().on("app.bsky.feed.getPosts", xrpc(200, {"posts": [mine, view]}))
    samples: list[MetricSample] = run_flow(logged_in().collect_metrics(refs), script)
    (request,) = script.requests
    assert request.url.params.get_list("uris") == [
        mine["uri"],
        view["uri"],
        f"at://{DID}/app.bsky.feed.post/3kgoneeeeee22",
    ]
    by = {(s.post_id, s.metric): s for s in samples}
    assert by[(KEY, "likes")].value == 5 and by[(KEY, "likes")].raw_name == "likeCount"
    assert by[(KEY, "quotes")].value == 3
    assert by[(KEY, "bookmarks")].value == 4
    assert by[(KEY, "replies")].posted_at == datetime(2023, 9, 28, 12, 49, 36, 735000, tzinfo=UTC)
    # The recorded (2023) AppView answer predates quoteCount and bookmarkCount.
    old = by[("3kaheyt6vpc22", "quotes")]
    assert not old.available and "quoteCount" in (old.reason or "")
    assert by[("3kaheyt6vpc22", "likes")].value == 0
    gone = by[("3kgoneeeeee22", "likes")]
    assert not gone.available and "not found" in (gone.reason or "")
    for post in (KEY, "3kaheyt6vpc22", "3kgoneeeeee22"):
        for metric in ("impressions", "reach", "link_clicks"):
            sample = by[(post, metric)]
            assert not sample.available
            assert sample.reason == "Bluesky publishes no view data"
    assert all(s.account == "bluesky:bluesky" and s.platform == "bluesky" for s in samples)


def test_metrics_batch_over_25_is_refused() -> None:
    """More refs than getPosts takes is a caller error, raised before any request."""
    refs = [PartRef(index=0, id=KEY, uri=f"at://{DID}/app.bsky.feed.post/{KEY}")] * 26
    with pytest.raises(ConfigurationError, match="25"):
        run_flow(logged_in().collect_metrics(refs), Script())


def test_account_metrics_read_followers() -> None:
    """getProfile's followersCount becomes the followers sample."""
    script = Script().on(
        "app.bsky.actor.getProfile",
        xrpc(200, {"did": DID, "handle": "brand.test", "followersCount": 42, "followsCount": 3}),
    )
    (sample,) = run_flow(logged_in().collect_account_metrics(), script)
    assert (sample.metric, sample.value, sample.raw_name) == ("followers", 42, "followersCount")
    assert script.requests[0].url.params["actor"] == DID


@pytest.mark.parametrize("status", [400, 401, 429, 500])
def test_an_error_body_nested_too_deep_is_still_a_typed_error(status: int) -> None:
    """A hostile or garbled error body of 100,000 nested brackets: json raised RecursionError
    (not a ValueError) out of error_for, and out of the stale-token check every request
    makes, so a refused create crashed with an untyped exception; it is a PlatformError
    that keeps the start of the text."""
    deep = b"[" * 100_000 + b"]" * 100_000
    response = httpx.Response(status, content=deep)
    response.request = httpx.Request(
        "POST", "https://pds.example/xrpc/com.atproto.repo.createRecord"
    )
    err = logged_in().error_for(response)
    assert isinstance(err, PlatformError)
    assert err.status_code == status
    assert err.platform_message and err.platform_message.startswith("[[[")


def test_a_session_token_nested_too_deep_is_read_as_opaque() -> None:
    """An access JWT whose claims nest deeper than json reads raised RecursionError before
    every request (its expiry is read first); it is an opaque token, used until refused."""
    claims = base64.urlsafe_b64encode(b"[" * 100_000 + b"]" * 100_000).decode().rstrip("=")
    adapter = logged_in(access_jwt=f"e30.{claims}.sig")
    script = [xrpc(200, {})]  # describeServer: no limit said
    caps = run_flow(adapter.prepare(), lambda request: script[0])
    assert caps.media.max_image_bytes > 0
