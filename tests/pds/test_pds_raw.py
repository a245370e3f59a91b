"""The real Bluesky PDS's own behaviour, over raw XRPC (httpx against 127.0.0.1).

These pin down what the server really does, so that brandkit's adapter and its Bluesky
emulator can be held to it. Findings are written up in ``docs/bluesky-real-server.md``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from brandkit.delivery import new_tid
from tests.pds.pds_harness import (
    PdsAccount,
    PdsServer,
    hs256_jwt,
    jwt_claims,
    tiny_png,
)

pytestmark = pytest.mark.pds

POST = "app.bsky.feed.post"
RATE_HEADERS = ("ratelimit-limit", "ratelimit-remaining", "ratelimit-reset", "ratelimit-policy")


def post_record(text: str, **extra: Any) -> dict[str, Any]:
    """An ``app.bsky.feed.post`` record."""
    return {"$type": POST, "text": text, "createdAt": "2026-11-26T10:00:00.000Z", **extra}


def create(
    http: httpx.Client,
    acct: PdsAccount,
    record: dict[str, Any],
    *,
    rkey: str | None = None,
    token: str | None = None,
) -> httpx.Response:
    """POST createRecord for a post."""
    body: dict[str, Any] = {"repo": acct.did, "collection": POST, "record": record}
    if rkey is not None:
        body["rkey"] = rkey
    auth = {"Authorization": f"Bearer {token or acct.access_jwt}"}
    return http.post("/xrpc/com.atproto.repo.createRecord", json=body, headers=auth)


def get_record(http: httpx.Client, acct: PdsAccount, rkey: str) -> httpx.Response:
    """GET getRecord for one of the account's posts (no auth: repos are public)."""
    return http.get(
        "/xrpc/com.atproto.repo.getRecord",
        params={"repo": acct.did, "collection": POST, "rkey": rkey},
    )


@pytest.fixture(scope="module")
def acct(pds: PdsServer) -> PdsAccount:
    """One account for this module's tests."""
    return pds.create_account("raw")


@pytest.fixture
def http(pds: PdsServer) -> Iterator[httpx.Client]:
    """An httpx client for the shared PDS."""
    with pds.client() as client:
        yield client


def test_server_binds_loopback_and_answers_health(pds: PdsServer) -> None:
    """The harness's PDS listens on 127.0.0.1 and answers its health check."""
    assert pds.base_url.startswith("http://127.0.0.1:")
    assert pds.plc_url.startswith("http://127.0.0.1:")
    response = httpx.get(f"{pds.base_url}/xrpc/_health", timeout=10)
    assert response.status_code == 200
    assert "version" in response.json()


def test_create_session_with_app_password(
    pds: PdsServer, acct: PdsAccount, http: httpx.Client
) -> None:
    """createSession with an app password gives an appPass-scoped HS256 token pair."""
    response = http.post(
        "/xrpc/com.atproto.server.createSession",
        json={"identifier": acct.handle, "password": acct.app_password},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["did"], body["handle"]) == (acct.did, acct.handle)
    claims = jwt_claims(body["accessJwt"])
    assert claims["scope"] == "com.atproto.appPass"
    assert claims["sub"] == acct.did
    assert claims["aud"] == pds.service_did
    assert claims["exp"] - claims["iat"] == 2 * 60 * 60
    assert jwt_claims(body["refreshJwt"])["scope"] == "com.atproto.refresh"


def test_create_session_wrong_password_is_401(acct: PdsAccount, http: httpx.Client) -> None:
    """A wrong password is 401 AuthenticationRequired."""
    response = http.post(
        "/xrpc/com.atproto.server.createSession",
        json={"identifier": acct.handle, "password": "not-the-password"},
    )
    assert response.status_code == 401
    assert response.json()["error"] == "AuthenticationRequired"


def test_create_record_with_chosen_tid_rkey_then_get(acct: PdsAccount, http: httpx.Client) -> None:
    """createRecord keeps a caller-chosen TID rkey; getRecord returns the same record and CID."""
    rkey = new_tid()
    response = create(http, acct, post_record("hello from a chosen rkey"), rkey=rkey)
    assert response.status_code == 200, response.text
    made = response.json()
    assert made["uri"] == f"at://{acct.did}/{POST}/{rkey}"
    assert made["validationStatus"] == "valid"
    assert set(made["commit"]) == {"cid", "rev"}
    read = get_record(http, acct, rkey)
    assert read.status_code == 200
    assert read.json()["cid"] == made["cid"]
    assert read.json()["value"]["text"] == "hello from a chosen rkey"


def test_same_rkey_twice_is_500_and_keeps_the_first(
    pds: PdsServer, acct: PdsAccount, http: httpx.Client
) -> None:
    """A second create on a taken rkey is a bare 500 (not a 4xx), even with identical content."""
    rkey = new_tid()
    first = create(http, acct, post_record("first"), rkey=rkey)
    assert first.status_code == 200
    for text in ("second", "first"):
        again = create(http, acct, post_record(text), rkey=rkey)
        assert again.status_code == 500
        assert again.json() == {"error": "InternalServerError", "message": "Internal Server Error"}
    read = get_record(http, acct, rkey)
    assert read.json()["value"]["text"] == "first"
    assert read.json()["cid"] == first.json()["cid"]
    log = pds.log_path.read_text(errors="replace")
    assert f"There is already a value at key: {POST}/{rkey}" in log


def test_rkey_must_be_a_tid(acct: PdsAccount, http: httpx.Client) -> None:
    """A post rkey that is not a TID is 400 InvalidRequest naming the bad key."""
    response = create(http, acct, post_record("x"), rkey="hello")
    assert response.status_code == 400
    assert response.json()["error"] == "InvalidRequest"
    assert 'Invalid TID string (got "hello")' in response.json()["message"]


def test_server_generates_a_tid_rkey_when_none_given(acct: PdsAccount, http: httpx.Client) -> None:
    """Without an rkey the server picks a 13-character TID."""
    response = create(http, acct, post_record("no rkey"))
    assert response.status_code == 200
    rkey = response.json()["uri"].rsplit("/", 1)[1]
    assert len(rkey) == 13
    assert set(rkey) <= set("234567abcdefghijklmnopqrstuvwxyz")


FAMILY = "\U0001f469\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"  # 25 UTF-8 bytes
FLAG_JP = "\U0001f1ef\U0001f1f5"  # 8 UTF-8 bytes
E_COMBINING = "e\u0301"  # 3 UTF-8 bytes


@pytest.mark.parametrize(
    ("text", "refusal"),
    [
        ("a" * 300, None),
        ("a" * 301, "grapheme too big (maximum 300, got 301)"),
        ("\u00e9" * 300, None),
        (E_COMBINING * 300, None),
        (E_COMBINING * 301, "grapheme too big (maximum 300, got 301)"),
        (FAMILY * 120, None),
        (FAMILY * 121, "string too big (maximum 3000, got 3025)"),
        (FLAG_JP * 300, None),
        (FLAG_JP * 375, "grapheme too big (maximum 300, got 375)"),
        ("\u00e9" * 1501, "string too big (maximum 3000, got 3002)"),
    ],
    ids=[
        "300-ascii",
        "301-ascii",
        "300-precomposed",
        "300-combining",
        "301-combining",
        "120-zwj-families-3000-bytes",
        "121-zwj-families-3025-bytes",
        "300-flags",
        "375-flags-3000-bytes",
        "1501-latin-bytes-checked-first",
    ],
)
def test_text_limits(acct: PdsAccount, http: httpx.Client, text: str, refusal: str | None) -> None:
    """The lexicon's 300-grapheme / 3000-UTF-8-byte limits, with the server's exact refusal."""
    response = create(http, acct, post_record(text), rkey=new_tid())
    if refusal is None:
        assert response.status_code == 200, response.text
        assert (
            get_record(http, acct, response.json()["uri"].rsplit("/", 1)[1]).json()["value"]["text"]
            == text
        )
        return
    assert response.status_code == 400
    assert response.json() == {
        "error": "InvalidRequest",
        "message": f"Invalid app.bsky.feed.post record: {refusal} at $.record.text",
    }


def test_langs_limit(acct: PdsAccount, http: httpx.Client) -> None:
    """More than three langs is refused."""
    response = create(http, acct, post_record("x", langs=["en", "fr", "de", "es"]))
    assert response.status_code == 400
    assert "array too big (maximum 3, got 4) at $.record.langs" in response.json()["message"]


def test_get_missing_record_is_400_record_not_found(acct: PdsAccount, http: httpx.Client) -> None:
    """getRecord for an rkey that was never used is 400 RecordNotFound (not 404)."""
    response = get_record(http, acct, new_tid())
    assert response.status_code == 400
    assert response.json()["error"] == "RecordNotFound"


def test_upload_blob_and_post_image_with_alt_and_aspect_ratio(
    acct: PdsAccount, http: httpx.Client
) -> None:
    """uploadBlob returns a blob ref that an images embed with alt and aspectRatio accepts."""
    png = tiny_png(4, 3)
    uploaded = http.post(
        "/xrpc/com.atproto.repo.uploadBlob",
        content=png,
        headers={**acct.auth(), "Content-Type": "image/png"},
    )
    assert uploaded.status_code == 200, uploaded.text
    blob = uploaded.json()["blob"]
    assert blob["$type"] == "blob"
    assert blob["mimeType"] == "image/png"
    assert blob["size"] == len(png)
    assert blob["ref"]["$link"].startswith("bafkrei")
    image = {"image": blob, "alt": "an orange square", "aspectRatio": {"width": 4, "height": 3}}
    embed = {"$type": "app.bsky.embed.images", "images": [image]}
    rkey = new_tid()
    made = create(http, acct, post_record("with image", embed=embed), rkey=rkey)
    assert made.status_code == 200, made.text
    stored = get_record(http, acct, rkey).json()["value"]["embed"]
    assert stored["images"][0]["alt"] == "an orange square"
    assert stored["images"][0]["aspectRatio"] == {"width": 4, "height": 3}
    assert stored["images"][0]["image"]["ref"] == blob["ref"]


def test_image_without_alt_is_refused(acct: PdsAccount, http: httpx.Client) -> None:
    """An image embed without the alt key is 400 naming the missing key."""
    blob = http.post(
        "/xrpc/com.atproto.repo.uploadBlob",
        content=tiny_png(),
        headers={**acct.auth(), "Content-Type": "image/png"},
    ).json()["blob"]
    embed = {"$type": "app.bsky.embed.images", "images": [{"image": blob}]}
    response = create(http, acct, post_record("no alt", embed=embed))
    assert response.status_code == 400
    assert 'Missing required key "alt" at $.record.embed.images[0]' in response.json()["message"]


def test_upload_blob_over_5_mib_is_413(acct: PdsAccount, http: httpx.Client) -> None:
    """The default blob limit is 5 MiB: one byte more is 413 PayloadTooLarge."""
    response = http.post(
        "/xrpc/com.atproto.repo.uploadBlob",
        content=b"\0" * (5 * 1024 * 1024 + 1),
        headers={**acct.auth(), "Content-Type": "image/png"},
    )
    assert response.status_code == 413
    assert response.json()["error"] == "PayloadTooLarge"


def upload(http: httpx.Client, acct: PdsAccount, data: bytes, mime: str) -> dict[str, Any]:
    """uploadBlob, returning the blob ref."""
    response = http.post(
        "/xrpc/com.atproto.repo.uploadBlob",
        content=data,
        headers={**acct.auth(), "Content-Type": mime},
    )
    assert response.status_code == 200, response.text
    blob: dict[str, Any] = response.json()["blob"]
    return blob


def images_embed(*blobs: dict[str, Any]) -> dict[str, Any]:
    """An app.bsky.embed.images embed with empty alt texts."""
    return {"$type": "app.bsky.embed.images", "images": [{"image": b, "alt": ""} for b in blobs]}


def test_image_size_is_checked_at_create_not_upload(acct: PdsAccount, http: httpx.Client) -> None:
    """uploadBlob takes 2,000,001 bytes; createRecord refuses it in an image (max 2,000,000)."""
    png = tiny_png()
    at_limit = upload(http, acct, png + b"\0" * (2_000_000 - len(png)), "image/png")
    over = upload(http, acct, png + b"\0" * (2_000_001 - len(png)), "image/png")
    assert create(http, acct, post_record("2 MB", embed=images_embed(at_limit))).status_code == 200
    refused = create(http, acct, post_record("2 MB + 1", embed=images_embed(over)))
    assert refused.status_code == 400
    assert refused.json()["message"] == (
        "Invalid app.bsky.feed.post record: blob too big (maximum 2000000, got 2000001)"
        " at $.record.embed.images[0].image"
    )


def test_at_most_four_images(acct: PdsAccount, http: httpx.Client) -> None:
    """Five images in one post are refused."""
    blob = upload(http, acct, tiny_png(), "image/png")
    refused = create(http, acct, post_record("5", embed=images_embed(*[blob] * 5)))
    assert refused.status_code == 400
    assert "array too big (maximum 4, got 5) at $.record.embed.images" in refused.json()["message"]


def test_upload_blob_mime_rules(acct: PdsAccount, http: httpx.Client) -> None:
    """The declared type is kept as is; octet-stream is sniffed; no Content-Type is a 400."""
    declared = upload(http, acct, b"plain text, not a picture", "image/png")
    assert declared["mimeType"] == "image/png"
    sniffed = upload(http, acct, tiny_png(), "application/octet-stream")
    assert sniffed["mimeType"] == "image/png"
    text_blob = upload(http, acct, b"plain text", "text/plain")
    refused = create(http, acct, post_record("txt", embed=images_embed(text_blob)))
    assert refused.status_code == 400
    assert 'Expected "image/*" (got "text/plain")' in refused.json()["message"]
    missing = http.post("/xrpc/com.atproto.repo.uploadBlob", content=b"x", headers=acct.auth())
    assert missing.status_code == 400
    assert missing.json()["message"] == "Request encoding (Content-Type) required but not provided"


def test_mention_needs_a_did_and_ranges_are_not_checked(
    acct: PdsAccount, http: httpx.Client
) -> None:
    """A mention by handle is refused; a facet past the end of the text is stored as is."""
    by_handle = [
        {
            "index": {"byteStart": 0, "byteEnd": 2},
            "features": [{"$type": "app.bsky.richtext.facet#mention", "handle": acct.handle}],
        }
    ]
    refused = create(http, acct, post_record("@x", facets=by_handle))
    assert refused.status_code == 400
    assert (
        'Missing required key "did" at $.record.facets[0].features[0]'
        in (refused.json()["message"])
    )
    past_end = [
        {
            "index": {"byteStart": 0, "byteEnd": 99},
            "features": [{"$type": "app.bsky.richtext.facet#mention", "did": acct.did}],
        }
    ]
    rkey = new_tid()
    assert create(http, acct, post_record("@x", facets=past_end), rkey=rkey).status_code == 200
    assert get_record(http, acct, rkey).json()["value"]["facets"] == past_end


def test_reply_refs_are_not_checked(acct: PdsAccount, http: httpx.Client) -> None:
    """A reply whose root/parent do not exist is accepted: the PDS does not resolve them."""
    ghost = {
        "uri": f"at://{acct.did}/{POST}/{new_tid()}",
        "cid": "bafyreicx65wfb4ztehoyeeaqbfmrypqkhckqwpuoacczg7kfpe334hdpcu",
    }
    response = create(http, acct, post_record("reply", reply={"root": ghost, "parent": ghost}))
    assert response.status_code == 200


def test_list_records_newest_first(pds: PdsServer, http: httpx.Client) -> None:
    """listRecords returns records in descending rkey order by default; reverse=true flips it."""
    acct = pds.create_account("list")
    rkeys = [new_tid() for _ in range(3)]
    for i, rkey in enumerate(rkeys):
        assert create(http, acct, post_record(f"p{i}"), rkey=rkey).status_code == 200
    params = {"repo": acct.did, "collection": POST}
    listed = http.get("/xrpc/com.atproto.repo.listRecords", params=params).json()["records"]
    assert [r["uri"].rsplit("/", 1)[1] for r in listed] == rkeys[::-1]
    forward = http.get(
        "/xrpc/com.atproto.repo.listRecords", params={**params, "reverse": "true"}
    ).json()["records"]
    assert [r["uri"].rsplit("/", 1)[1] for r in forward] == rkeys


def test_get_posts_needs_an_app_view(acct: PdsAccount, http: httpx.Client) -> None:
    """The bare PDS has no AppView: getPosts (metrics) is 400 'No service configured'."""
    response = http.get(
        "/xrpc/app.bsky.feed.getPosts",
        params={"uris": f"at://{acct.did}/{POST}/{new_tid()}"},
        headers=acct.auth(),
    )
    assert response.status_code == 400
    assert response.json()["message"] == "No service configured for app.bsky.feed.getPosts"


def test_delete_record_then_rkey_is_free_again(acct: PdsAccount, http: httpx.Client) -> None:
    """deleteRecord removes the post, a second delete is a 200 no-op, the rkey can be reused."""
    rkey = new_tid()
    assert create(http, acct, post_record("to delete"), rkey=rkey).status_code == 200
    target = {"repo": acct.did, "collection": POST, "rkey": rkey}
    deleted = http.post("/xrpc/com.atproto.repo.deleteRecord", json=target, headers=acct.auth())
    assert deleted.status_code == 200
    assert "commit" in deleted.json()
    assert get_record(http, acct, rkey).json()["error"] == "RecordNotFound"
    again = http.post("/xrpc/com.atproto.repo.deleteRecord", json=target, headers=acct.auth())
    assert again.status_code == 200
    assert again.json() == {}
    recreated = create(http, acct, post_record("same rkey, new post"), rkey=rkey)
    assert recreated.status_code == 200


def test_expired_access_token_is_400_then_refresh_works(
    pds: PdsServer, acct: PdsAccount, http: httpx.Client
) -> None:
    """An expired access JWT is 400 ExpiredToken; refreshSession gives a pair that works."""
    expired = pds.mint_access_jwt(acct.did, expires_in=-60)
    refused = create(http, acct, post_record("x"), token=expired)
    assert refused.status_code == 400
    assert refused.json() == {"error": "ExpiredToken", "message": "Token has expired"}

    session = http.post(
        "/xrpc/com.atproto.server.createSession",
        json={"identifier": acct.handle, "password": acct.app_password},
    ).json()
    refreshed = http.post(
        "/xrpc/com.atproto.server.refreshSession",
        headers={"Authorization": f"Bearer {session['refreshJwt']}"},
    )
    assert refreshed.status_code == 200, refreshed.text
    pair = refreshed.json()
    assert pair["did"] == acct.did
    assert pair["refreshJwt"] != session["refreshJwt"]
    assert jwt_claims(pair["accessJwt"])["scope"] == "com.atproto.appPass"
    works = create(http, acct, post_record("after refresh"), token=pair["accessJwt"])
    assert works.status_code == 200, works.text


def test_minted_valid_token_is_accepted(
    pds: PdsServer, acct: PdsAccount, http: httpx.Client
) -> None:
    """A token minted with the server's secret and claims is accepted (the minting is right)."""
    token = pds.mint_access_jwt(acct.did, expires_in=600)
    assert create(http, acct, post_record("minted"), token=token).status_code == 200


def test_token_signed_with_another_secret_is_invalid(
    pds: PdsServer, acct: PdsAccount, http: httpx.Client
) -> None:
    """A token with a wrong signature is 400 InvalidToken, not ExpiredToken."""
    claims = jwt_claims(pds.mint_access_jwt(acct.did, expires_in=600))
    forged = hs256_jwt(claims, "some-other-secret")
    response = create(http, acct, post_record("x"), token=forged)
    assert response.status_code == 400
    assert response.json()["error"] == "InvalidToken"


def test_no_token_is_401_auth_missing(acct: PdsAccount, http: httpx.Client) -> None:
    """A write without Authorization is 401 AuthMissing."""
    response = http.post(
        "/xrpc/com.atproto.repo.createRecord",
        json={"repo": acct.did, "collection": POST, "record": post_record("x")},
    )
    assert response.status_code == 401
    assert response.json()["error"] == "AuthMissing"


def test_refresh_token_reuse_and_access_token_as_refresh(
    pds: PdsServer, http: httpx.Client
) -> None:
    """Reusing a refresh JWT soon after gives the same new pair; an access JWT cannot refresh."""
    acct = pds.create_account("reuse")
    bearer = {"Authorization": f"Bearer {acct.refresh_jwt}"}
    first = http.post("/xrpc/com.atproto.server.refreshSession", headers=bearer)
    second = http.post("/xrpc/com.atproto.server.refreshSession", headers=bearer)
    assert first.status_code == second.status_code == 200
    assert second.json()["refreshJwt"] == first.json()["refreshJwt"]
    wrong = http.post(
        "/xrpc/com.atproto.server.refreshSession",
        headers={"Authorization": f"Bearer {first.json()['accessJwt']}"},
    )
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "InvalidToken"


def test_no_rate_limit_headers_when_limits_are_off(acct: PdsAccount, http: httpx.Client) -> None:
    """With rate limits off (the default) no RateLimit-* header is sent."""
    response = create(http, acct, post_record("no headers"))
    assert response.status_code == 200
    assert not [h for h in response.headers if h.lower().startswith("ratelimit")]


def test_rate_limit_headers_on_writes(pds_rate_limited: PdsServer) -> None:
    """With limits on, a write carries RateLimit-* of its tightest bucket (the per-IP one)."""
    acct = pds_rate_limited.create_account("rlh")
    with pds_rate_limited.client(headers={"X-Forwarded-For": "198.51.100.20"}) as http:
        response = create(http, acct, post_record("counted"))
    assert response.status_code == 200
    for header in RATE_HEADERS:
        assert header in response.headers
    # 3000 per 5 minutes per IP is tighter than 5000 write points per hour per account.
    assert response.headers["ratelimit-limit"] == "3000"
    assert response.headers["ratelimit-policy"] == "3000;w=300"
    assert response.headers["ratelimit-remaining"] == "2999"
    assert "retry-after" not in response.headers


def test_create_session_limit_429_with_retry_after(pds_rate_limited: PdsServer) -> None:
    """The 31st createSession for one identifier from one IP in 5 minutes is 429 + Retry-After."""
    # The limiter runs before the handler, so refused logins count too. A password over the
    # PDS's 512-character cap is refused before any (slow, scrypt) hashing: a fast 401.
    body = {"identifier": "nobody-here.test", "password": "x" * 513}
    with pds_rate_limited.client(headers={"X-Forwarded-For": "198.51.100.31"}) as http:
        statuses = [
            http.post("/xrpc/com.atproto.server.createSession", json=body).status_code
            for _ in range(30)
        ]
        limited = http.post("/xrpc/com.atproto.server.createSession", json=body)
    assert set(statuses) == {401}
    assert limited.status_code == 429
    assert limited.json() == {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}
    assert limited.headers["ratelimit-policy"] == "30;w=300"
    assert limited.headers["ratelimit-remaining"] == "0"
    assert 0 < int(limited.headers["retry-after"]) <= 300

    # X-Forwarded-For from loopback is trusted: another client IP has its own bucket.
    with pds_rate_limited.client(headers={"X-Forwarded-For": "198.51.100.32"}) as http:
        other_ip = http.post("/xrpc/com.atproto.server.createSession", json=body)
    assert other_ip.status_code == 401
    assert other_ip.headers["ratelimit-remaining"] == "29"


def test_write_limit_429_is_waited_out(pds_write_limited: PdsServer) -> None:
    """With the write bucket shrunk (harness knob), create 4 is 429 and passes after Retry-After."""
    server = pds_write_limited
    acct = server.create_account("rlw")
    with server.client() as http:
        codes = [create(http, acct, post_record(f"n{i}")).status_code for i in range(3)]
        limited = create(http, acct, post_record("fourth"), rkey=(rkey := new_tid()))
        assert codes == [200, 200, 200]
        assert limited.status_code == 429
        assert limited.json()["error"] == "RateLimitExceeded"
        assert limited.headers["ratelimit-policy"] == "9;w=3"
        wait = int(limited.headers["retry-after"])
        assert 0 < wait <= 3
        assert get_record(http, acct, rkey).json()["error"] == "RecordNotFound"
        time.sleep(wait + 0.2)
        retried = create(http, acct, post_record("fourth"), rkey=rkey)
        assert retried.status_code == 200, retried.text
