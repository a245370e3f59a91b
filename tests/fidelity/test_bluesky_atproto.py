"""The atproto SDK (MarshalX's ``atproto``, the Python client most Bluesky tools use) against
the Bluesky emulator over a real socket: a brand's workflow, and the errors it must raise as a
real PDS makes it raise them."""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from brandkit.testing.bluesky import BlueskyEmulator, BlueskyLimits
from brandkit.testing.conformance import tiny_png

atproto = pytest.importorskip("atproto")
models = atproto.models
errors = importlib.import_module("atproto_client.exceptions")
request = importlib.import_module("atproto_client.request")
blob_ref = importlib.import_module("atproto_client.models.blob_ref")

# The SDK's upload_blob hands httpx raw bytes as ``data=``, which httpx deprecates.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Use 'content=<...>' to upload raw bytes:DeprecationWarning"
)

Connect = Callable[[str], Any]


@pytest.fixture
def connect() -> Iterator[Connect]:
    """Makes atproto ``Client``s of an emulator URL (``base_url`` without ``/xrpc``, which the
    SDK appends) with bounded waits and no environment proxy, and closes them at the end.
    The emulator speaks plain http on loopback, so no CA store is loaded (half a second per
    httpx client)."""
    made: list[Any] = []

    def make(url: str) -> Any:
        transport = request.Request(timeout=5, trust_env=False, verify=False)
        made.append(transport)
        return atproto.Client(base_url=url, request=transport)

    yield make
    for transport in made:
        transport.close()


@pytest.fixture
def served() -> Iterator[tuple[BlueskyEmulator, str]]:
    """The emulator (rate limits off, as a PDS ships, and no engagement unless a test adds
    it) on a socket."""
    emu = BlueskyEmulator(engagement_per_hour=0, followers_per_hour=0)
    with emu.serve() as url:
        yield emu, url


def login(emu: BlueskyEmulator, url: str, connect: Connect, handle: str = "brand.test") -> Any:
    """An atproto ``Client`` of the served emulator, logged in with an app password."""
    account = emu.account(handle=handle)
    client = connect(url)
    client.login(account.secret("handle") or handle, account.secret("app_password"))
    return client


def test_workflow_login_image_post_reply_read_metrics_delete(
    served: tuple[BlueskyEmulator, str], connect: Connect
) -> None:
    """Log in with an app password (createSession, then getProfile), post an image with alt
    text (uploadBlob, createRecord), reply in a thread, read back with counts (getPosts,
    getPostThread, getAuthorFeed, getRecord), delete; the SDK's models hold what the PDS and
    the AppView return."""
    emu, url = served
    client = login(emu, url, connect)
    assert client.me.handle == "brand.test" and client.me.did.startswith("did:plc:")
    emu.follow("brand.test", 7)
    assert client.get_profile("brand.test").followers_count == 7

    first = client.send_image("Launch day!", tiny_png(), "Our new banner")
    root = models.create_strong_ref(first)
    reply = client.send_post(
        "Doors open at 9",
        reply_to=models.AppBskyFeedPost.ReplyRef(root=root, parent=root),
    )
    emu.engage(first.uri, likes=5, reposts=2)

    posts = {p.uri: p for p in client.get_posts([first.uri, reply.uri]).posts}
    read = posts[first.uri]
    assert read.record.text == "Launch day!"
    assert read.embed.images[0].alt == "Our new banner"
    assert (read.like_count, read.repost_count, read.reply_count) == (5, 2, 1)
    assert posts[reply.uri].record.reply.root.uri == first.uri

    thread = client.get_post_thread(reply.uri).thread
    assert thread.post.uri == reply.uri and thread.replies == []
    assert thread.parent.post.uri == first.uri and thread.parent.post.like_count == 5
    top = client.get_post_thread(first.uri, depth=1).thread
    assert [r.post.record.text for r in top.replies] == ["Doors open at 9"]
    feed = client.get_author_feed(client.me.handle).feed
    assert [item.post.uri for item in feed] == [reply.uri, first.uri]
    assert feed[0].reply.parent.uri == first.uri
    rkey = first.uri.rsplit("/", 1)[1]
    assert client.get_post(rkey, client.me.did).value.embed.images[0].alt == "Our new banner"

    assert client.delete_post(reply.uri) is True
    with pytest.raises(errors.BadRequestError) as gone:
        client.get_post_thread(reply.uri)
    assert (gone.value.response.content.error, gone.value.response.content.message) == (
        "NotFound",
        f"Post not found: {reply.uri}",
    )
    assert emu.post_texts() == ["Launch day!"]


def test_upload_blob_then_embed_it_by_hand(
    served: tuple[BlueskyEmulator, str], connect: Connect
) -> None:
    """upload_blob returns the SDK's BlobRef (sniffed type, size, CID); an images embed built
    on it posts, with its alt text and aspect ratio."""
    emu, url = served
    client = login(emu, url, connect)
    blob = client.upload_blob(tiny_png()).blob
    assert (blob.mime_type, blob.size) == ("image/png", len(tiny_png()))
    embed = models.AppBskyEmbedImages.Main(
        images=[
            models.AppBskyEmbedImages.Image(
                alt="A gradient",
                image=blob,
                aspect_ratio=models.AppBskyEmbedDefs.AspectRatio(width=8, height=6),
            )
        ]
    )
    made = client.send_post("Pic", embed=embed)
    view = client.get_posts([made.uri]).posts[0].embed.images[0]
    assert view.alt == "A gradient"
    assert (view.aspect_ratio.width, view.aspect_ratio.height) == (8, 6)
    listed = client.app.bsky.feed.post.list(client.me.handle, limit=10)
    assert list(listed.records) == [made.uri]
    assert listed.records[made.uri].embed.images[0].image.ref.link == blob.ref.link
    assert listed.cursor == made.uri.rsplit("/", 1)[1]


def test_saved_session_resumes_refreshes_and_fails_when_revoked(connect: Connect) -> None:
    """A session saved with export_session_string resumes without a new login; with tokens
    close to expiry (ten-minute access tokens: the SDK refreshes fifteen minutes early) every
    call refreshes first and the PDS rotates the pair; an access token expired behind the
    SDK's back is BadRequestError ExpiredToken, and a revoked session cannot resume."""
    emu = BlueskyEmulator(access_ttl=600, engagement_per_hour=0)
    with emu.serve() as url:
        client = login(emu, url, connect)
        saved = client.export_session_string()
        resumed = connect(url)
        assert resumed.login(session_string=saved).handle == "brand.test"
        assert emu.count("POST", r"/xrpc/com\.atproto\.server\.createSession") == 1
        before = emu.count("POST", r"/xrpc/com\.atproto\.server\.refreshSession")
        resumed.send_post("still logged in")
        assert emu.count("POST", r"/xrpc/com\.atproto\.server\.refreshSession") == before + 1
        assert resumed.export_session_string() != saved  # rotated
        emu.revoke_sessions()
        with pytest.raises(errors.BadRequestError) as revoked:
            connect(url).login(session_string=resumed.export_session_string())
        content = revoked.value.response.content
        assert (content.error, content.message) == ("ExpiredToken", "Token has been revoked")

    emu = BlueskyEmulator(engagement_per_hour=0)
    with emu.serve() as url:
        client = login(emu, url, connect)
        emu.expire_tokens()
        with pytest.raises(errors.BadRequestError) as expired:
            client.send_post("too late")
        content = expired.value.response.content
        assert (content.error, content.message) == ("ExpiredToken", "Token has expired")
        assert emu.post_texts() == []


def test_too_long_is_bad_request_from_lexicon_validation(
    served: tuple[BlueskyEmulator, str], connect: Connect
) -> None:
    """301 graphemes: BadRequestError, 400 InvalidRequest naming the field; 300 post."""
    emu, url = served
    client = login(emu, url, connect)
    client.send_post("é" * 300)
    with pytest.raises(errors.BadRequestError) as caught:
        client.send_post("a" * 301)
    content = caught.value.response.content
    assert caught.value.response.status_code == 400 and content.error == "InvalidRequest"
    assert content.message.startswith("Invalid app.bsky.feed.post record:")
    assert "$.record.text" in content.message
    assert emu.post_texts() == ["é" * 300]


def test_bad_password_is_unauthorized(
    served: tuple[BlueskyEmulator, str], connect: Connect
) -> None:
    """A wrong password, and an unknown handle: UnauthorizedError, 401 AuthenticationRequired
    "Invalid identifier or password" (the PDS does not say which was wrong)."""
    emu, url = served
    emu.account(handle="brand.test")
    for handle, password in (("brand.test", "abcd-efgh-ijkl-mnop"), ("nobody.test", "x")):
        with pytest.raises(errors.UnauthorizedError) as caught:
            connect(url).login(handle, password)
        content = caught.value.response.content
        assert (caught.value.response.status_code, content.error, content.message) == (
            401,
            "AuthenticationRequired",
            "Invalid identifier or password",
        )


def test_missing_blob_is_bad_request(served: tuple[BlueskyEmulator, str], connect: Connect) -> None:
    """An images embed whose blob was never uploaded: BadRequestError BlobNotFound naming
    the CID; nothing is posted."""
    emu, url = served
    client = login(emu, url, connect)
    cid = "bafkreic3cp5ky525vsukjvrzxsc2h3jka2gud74l2hgeatw2rhj2qycnmq"
    ghost = blob_ref.BlobRef(mime_type="image/png", size=123, ref=blob_ref.IpldLink(link=cid))
    embed = models.AppBskyEmbedImages.Main(
        images=[models.AppBskyEmbedImages.Image(alt="gone", image=ghost)]
    )
    with pytest.raises(errors.BadRequestError) as caught:
        client.send_post("pic", embed=embed)
    content = caught.value.response.content
    assert (content.error, content.message) == ("BlobNotFound", f"Could not find blob: {cid}")
    assert emu.post_texts() == []


def test_exhausted_write_limit_is_rate_limit_exceeded(connect: Connect) -> None:
    """Rate limits on with six write points an hour (two creates at three points): the third
    create raises RateLimitExceededError, whose properties read the RateLimit-* headers and
    Retry-After; after the window, on the emulator clock, posting works again."""
    emu = BlueskyEmulator(rate_limits=BlueskyLimits(write=((6, 3600.0),)), engagement_per_hour=0)
    with emu.serve() as url:
        client = login(emu, url, connect)
        client.send_post("one")
        client.send_post("two")
        with pytest.raises(errors.RateLimitExceededError) as caught:
            client.send_post("three")
        limited = caught.value
        assert limited.response.content.error == "RateLimitExceeded"
        assert (limited.limit, limited.remaining, limited.policy) == (6, 0, "6;w=3600")
        assert limited.reset_at is not None
        assert 0 < limited.reset_at.timestamp() - emu.clock.time() <= 3600
        assert limited.retry_after is not None and 0 < limited.retry_after <= 3600
        emu.clock.advance(3600)
        client.send_post("three")
        assert emu.post_texts() == ["one", "two", "three"]


def test_scripted_rate_limit_fault_is_rate_limit_exceeded(
    served: tuple[BlueskyEmulator, str], connect: Connect
) -> None:
    """A scripted 429 on createRecord (the PDS's body and headers) is the same exception."""
    emu, url = served
    client = login(emu, url, connect)
    emu.fault(
        method="POST",
        path=r"/xrpc/com\.atproto\.repo\.createRecord",
        status=429,
        body={"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
        headers={"RateLimit-Limit": "5000", "RateLimit-Remaining": "0", "Retry-After": "60"},
    )
    with pytest.raises(errors.RateLimitExceededError) as caught:
        client.send_post("one")
    assert (caught.value.limit, caught.value.remaining, caught.value.retry_after) == (5000, 0, 60)
    client.send_post("one")
    assert emu.post_texts() == ["one"]


def test_dpop_refusal_body_is_compact_json_as_express_writes(
    served: tuple[BlueskyEmulator, str],
) -> None:
    """The PDS is an Express app: ``res.json`` is ``JSON.stringify`` without spaces, for
    its OAuth endpoints' errors and for the 401 a DPoP-bound XRPC call with an unknown
    token gets alike, byte for byte."""
    _, url = served
    with httpx.Client(trust_env=False, timeout=5) as http:
        xrpc = http.get(
            f"{url}/xrpc/app.bsky.actor.getProfile",
            params={"actor": "brand.test"},
            headers={"authorization": "DPoP not-a-token"},
        )
        par = http.post(f"{url}/oauth/par", content=b"{}")
    assert xrpc.status_code == 401
    assert xrpc.headers["www-authenticate"].startswith("DPoP ")
    assert xrpc.content == json.dumps(xrpc.json(), separators=(",", ":")).encode()
    assert b'{"error":"' in xrpc.content
    assert par.status_code == 400
    assert par.content == json.dumps(par.json(), separators=(",", ":")).encode()
