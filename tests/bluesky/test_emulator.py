"""The Bluesky emulator answers as the reference PDS does (raw XRPC, in-process)."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from brandkit.testing import emulator
from brandkit.testing.bluesky import BlueskyEmulator, BlueskyLimits
from tests.bluesky._support import SHARED, mp4, png

NOW = "2026-11-26T10:00:00.000Z"
KEY = "3kabcdefgh2a2"


class Pds:
    """A raw XRPC client of an emulator, logged in as one account."""

    def __init__(self, emu: BlueskyEmulator, name: str = "brand") -> None:
        self.emu = emu
        self.http = httpx.Client(transport=emu.transport(), base_url=emu.base_url)
        self.account = emu.account(name=name)
        self.handle = self.account.settings["handle"]
        self.password = self.account.secret("app_password") or ""
        session = self.login()
        assert session.status_code == 200, session.text
        self.session = session.json()
        self.did = self.session["did"]

    def login(self, password: str | None = None, **headers: str) -> httpx.Response:
        return self.http.post(
            "/xrpc/com.atproto.server.createSession",
            json={"identifier": self.handle, "password": password or self.password},
            headers=headers,
        )

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.session['accessJwt']}"}

    def create(
        self, record: dict[str, Any], rkey: str | None = KEY, **headers: str
    ) -> httpx.Response:
        body: dict[str, Any] = {
            "repo": self.did,
            "collection": "app.bsky.feed.post",
            "record": record,
        }
        if rkey is not None:
            body["rkey"] = rkey
        return self.http.post(
            "/xrpc/com.atproto.repo.createRecord", json=body, headers={**self.auth, **headers}
        )

    def get(self, rkey: str = KEY) -> httpx.Response:
        return self.http.get(
            "/xrpc/com.atproto.repo.getRecord",
            params={"repo": self.did, "collection": "app.bsky.feed.post", "rkey": rkey},
        )

    def delete(self, rkey: str = KEY) -> httpx.Response:
        return self.http.post(
            "/xrpc/com.atproto.repo.deleteRecord",
            json={"repo": self.did, "collection": "app.bsky.feed.post", "rkey": rkey},
            headers=self.auth,
        )

    def upload(self, data: bytes, mime: str | None = "image/png") -> httpx.Response:
        headers = dict(self.auth)
        if mime:
            headers["Content-Type"] = mime
        return self.http.post("/xrpc/com.atproto.repo.uploadBlob", content=data, headers=headers)


def post(text: str = "hello", **fields: Any) -> dict[str, Any]:
    return {"$type": "app.bsky.feed.post", "text": text, "createdAt": NOW, **fields}


def claims(token: str) -> dict[str, Any]:
    body = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    return decoded


def error(response: httpx.Response) -> tuple[int, str, str]:
    body = response.json()
    return response.status_code, body["error"], body["message"]


@pytest.fixture
def pds(emu: BlueskyEmulator) -> Iterator[Pds]:
    client = Pds(emu)
    yield client
    client.http.close()


def test_registered_as_the_bluesky_emulator() -> None:
    """brandkit.testing.emulator("bluesky") builds this emulator."""
    assert isinstance(emulator("bluesky"), BlueskyEmulator)


# -- sessions ----------------------------------------------------------------------------------


def test_session_tokens_look_like_the_pds_ones(pds: Pds) -> None:
    """App-password sessions carry scope appPass, a 2 h access JWT and a refresh JWT."""
    access, refresh = claims(pds.session["accessJwt"]), claims(pds.session["refreshJwt"])
    assert access["scope"] == "com.atproto.appPass"
    assert access["exp"] - access["iat"] == 7200
    assert access["sub"] == pds.did and access["aud"] == "did:web:localhost"
    assert refresh["scope"] == "com.atproto.refresh" and refresh["jti"]
    assert set(pds.session) >= {"accessJwt", "refreshJwt", "did", "handle", "active"}
    user = pds.emu.user(pds.handle)
    main = pds.login(password=user.password).json()
    assert claims(main["accessJwt"])["scope"] == "com.atproto.access"


def test_login_errors(pds: Pds) -> None:
    """Wrong password: 401 AuthenticationRequired; missing password: 400 naming the key."""
    assert error(pds.login(password="wrong")) == (
        401,
        "AuthenticationRequired",
        "Invalid identifier or password",
    )
    missing = pds.http.post(
        "/xrpc/com.atproto.server.createSession", json={"identifier": pds.handle}
    )
    assert error(missing) == (400, "InvalidRequest", 'Missing required key "password" at $')


def test_expired_access_token_is_400_expired_token(pds: Pds) -> None:
    """After two hours (or expire_tokens()) the PDS answers 400 ExpiredToken, no rate headers."""
    pds.emu.clock.advance(7201)
    expired = pds.create(post())
    assert error(expired) == (400, "ExpiredToken", "Token has expired")
    assert "ratelimit-limit" not in expired.headers
    fresh = Pds(pds.emu, name="other")
    fresh.emu.expire_tokens(fresh.handle)
    assert error(fresh.create(post())) == (400, "ExpiredToken", "Token has expired")


def test_token_errors(pds: Pds) -> None:
    """No token: 401 AuthMissing; a bad or wrong-kind token: 400 InvalidToken."""
    no_auth = pds.http.post(
        "/xrpc/com.atproto.repo.createRecord",
        json={"repo": pds.did, "collection": "app.bsky.feed.post", "record": post()},
    )
    assert error(no_auth) == (401, "AuthMissing", "Authentication Required")
    garbage = pds.create(post(), Authorization="Bearer abc.def.ghi")
    assert error(garbage) == (400, "InvalidToken", "Token could not be verified")
    refresh_as_access = pds.create(post(), Authorization=f"Bearer {pds.session['refreshJwt']}")
    assert error(refresh_as_access) == (400, "InvalidToken", "Token could not be verified")
    access_as_refresh = pds.http.post("/xrpc/com.atproto.server.refreshSession", headers=pds.auth)
    assert error(access_as_refresh) == (400, "InvalidToken", "Token could not be verified")


def test_refresh_rotates_with_a_grace_period(pds: Pds) -> None:
    """refreshSession gives a new pair; reusing the old refresh JWT gives the same pair."""
    headers = {"Authorization": f"Bearer {pds.session['refreshJwt']}"}
    first = pds.http.post("/xrpc/com.atproto.server.refreshSession", headers=headers).json()
    again = pds.http.post("/xrpc/com.atproto.server.refreshSession", headers=headers).json()
    assert first["refreshJwt"] != pds.session["refreshJwt"]
    assert claims(first["refreshJwt"])["jti"] == claims(again["refreshJwt"])["jti"]
    assert claims(first["accessJwt"])["scope"] == "com.atproto.appPass"
    pds.emu.clock.advance(2 * 3600 + 1)
    late = pds.http.post("/xrpc/com.atproto.server.refreshSession", headers=headers)
    assert error(late) == (400, "ExpiredToken", "Token has been revoked")
    newer = {"Authorization": f"Bearer {first['refreshJwt']}"}
    assert (
        pds.http.post("/xrpc/com.atproto.server.refreshSession", headers=newer).status_code == 200
    )


def test_revoked_sessions_must_log_in_again(pds: Pds) -> None:
    """revoke_sessions() expires access tokens and refuses the refresh token."""
    pds.emu.revoke_sessions(pds.handle)
    headers = {"Authorization": f"Bearer {pds.session['refreshJwt']}"}
    assert error(pds.http.post("/xrpc/com.atproto.server.refreshSession", headers=headers)) == (
        400,
        "ExpiredToken",
        "Token has been revoked",
    )
    assert pds.login().status_code == 200


# -- records -----------------------------------------------------------------------------------


def test_create_get_delete(pds: Pds) -> None:
    """createRecord at a chosen TID; getRecord returns it; delete twice is fine; the key frees."""
    created = pds.create(post("hi"))
    assert created.status_code == 200
    body = created.json()
    assert body["uri"] == f"at://{pds.did}/app.bsky.feed.post/{KEY}"
    assert body["cid"].startswith("bafyrei") and body["validationStatus"] == "valid"
    assert set(body["commit"]) == {"cid", "rev"}
    got = pds.get().json()
    assert got == {"uri": body["uri"], "cid": body["cid"], "value": post("hi")}
    assert "commit" in pds.delete().json()
    assert pds.delete().json() == {}
    assert error(pds.get()) == (
        400,
        "RecordNotFound",
        f"Could not locate record: at://{pds.did}/app.bsky.feed.post/{KEY}",
    )
    again = pds.create(post("hi"))
    assert again.status_code == 200 and again.json()["cid"] == body["cid"]


def test_same_rkey_twice_is_a_bare_500(pds: Pds) -> None:
    """A second create at the same key: 500 InternalServerError, the first record untouched."""
    assert pds.create(post("first")).status_code == 200
    for text in ("first", "other"):
        assert error(pds.create(post(text))) == (
            500,
            "InternalServerError",
            "Internal Server Error",
        )
    assert pds.emu.post_texts() == ["first"]


def test_record_keys(pds: Pds) -> None:
    """Posts need TID keys; malformed keys fail input validation; no key: the server picks a TID."""
    not_tid = pds.create(post(), rkey="notatid")
    assert error(not_tid) == (
        400,
        "InvalidRequest",
        'Invalid record key for app.bsky.feed.post: Invalid TID string (got "notatid") at $',
    )
    bad = pds.create(post(), rkey="bad rkey!")
    assert error(bad) == (400, "InvalidRequest", 'Invalid record key (got "bad rkey!") at $.rkey')
    picked = pds.create(post(), rkey=None).json()["uri"].rsplit("/", 1)[-1]
    assert len(picked) == 13 and picked[0] in "234567abcdefghij"


def test_validation_message_has_prefix_and_path(pds: Pds) -> None:
    """Lexicon failures are 400 InvalidRequest "Invalid app.bsky.feed.post record: … at $…"."""
    assert error(pds.create(post("a" * 301))) == (
        400,
        "InvalidRequest",
        "Invalid app.bsky.feed.post record: grapheme too big (maximum 300, got 301) at $.record.text",
    )
    assert pds.emu.posts() == []


def test_lenient_where_the_pds_is_lenient(pds: Pds) -> None:
    """No $type, unknown fields, unknown body keys and replies to missing posts are stored."""
    loose = {"text": "x", "createdAt": NOW, "lol": "kek"}
    body = {"repo": pds.did, "collection": "app.bsky.feed.post", "record": loose, "bogus": 1}
    stored = pds.http.post("/xrpc/com.atproto.repo.createRecord", json=body, headers=pds.auth)
    assert stored.status_code == 200
    assert pds.emu.record(stored.json()["uri"]).value["$type"] == "app.bsky.feed.post"
    ghost = {"uri": f"at://{pds.did}/app.bsky.feed.post/3kaaaaaaaaa22", "cid": stored.json()["cid"]}
    assert pds.create(post(reply={"root": ghost, "parent": ghost}), rkey=None).status_code == 200


def test_wrong_type_and_foreign_repo(pds: Pds) -> None:
    """A record of another $type is refused; writing to another account's repo is 401."""
    other = pds.create({**post(), "$type": "app.bsky.feed.like"})
    assert error(other) == (
        400,
        "InvalidRequest",
        "Invalid $type: expected app.bsky.feed.post, got app.bsky.feed.like",
    )
    bob = pds.emu.add_user("bob.test")
    foreign = pds.http.post(
        "/xrpc/com.atproto.repo.createRecord",
        json={"repo": bob.did, "collection": "app.bsky.feed.post", "record": post()},
        headers=pds.auth,
    )
    assert error(foreign) == (401, "AuthenticationRequired", "Authentication Required")


def test_get_record_of_unknown_repo(pds: Pds) -> None:
    """An unknown repo is 400 "Could not locate record" without the URI."""
    response = pds.http.get(
        "/xrpc/com.atproto.repo.getRecord",
        params={
            "repo": "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa",
            "collection": "app.bsky.feed.post",
            "rkey": KEY,
        },
    )
    assert error(response) == (400, "InvalidRequest", "Could not locate record")
    missing = pds.http.get(
        "/xrpc/com.atproto.repo.getRecord", params={"repo": pds.did, "collection": "x.y.z"}
    )
    assert error(missing) == (
        400,
        "InvalidRequest",
        'Invalid com.atproto.repo.getRecord params: Missing required key "rkey"',
    )


def test_bad_json_and_wrong_method(pds: Pds) -> None:
    """A body that is not JSON, a GET on a procedure, an unknown method: the PDS's answers."""
    bad = pds.http.post(
        "/xrpc/com.atproto.repo.createRecord",
        content=b"nope",
        headers={**pds.auth, "Content-Type": "application/json"},
    )
    assert bad.status_code == 400 and bad.json()["error"] == "SyntaxError"
    assert error(pds.http.get("/xrpc/com.atproto.repo.createRecord")) == (
        400,
        "InvalidRequest",
        "Incorrect HTTP method (GET) expected POST",
    )
    assert error(pds.http.get("/xrpc/com.example.nothing")) == (
        400,
        "InvalidRequest",
        "No service configured for com.example.nothing",
    )


# -- blobs -------------------------------------------------------------------------------------


def test_upload_blob(pds: Pds) -> None:
    """uploadBlob returns a typed blob ref; the type is sniffed from the bytes when known."""
    data = png(3, 2)
    blob = pds.upload(data).json()["blob"]
    assert blob["$type"] == "blob" and blob["size"] == len(data)
    assert blob["ref"]["$link"].startswith("bafkrei")
    assert blob["mimeType"] == "image/png"
    assert (
        pds.upload(b"\xff\xd8\xff\xe0" + b"\0" * 100, "image/png").json()["blob"]["mimeType"]
        == "image/jpeg"
    )
    assert pds.upload(b"hello", "image/png").json()["blob"]["mimeType"] == "image/png"
    assert pds.upload(mp4(), "application/octet-stream").json()["blob"]["mimeType"] == "video/mp4"
    assert error(pds.upload(data, None)) == (
        400,
        "InvalidRequest",
        "Request encoding (Content-Type) required but not provided",
    )


def test_blob_over_the_upload_limit_is_413(pds: Pds) -> None:
    """Over 5 MiB (the PDS default) is 413 PayloadTooLarge."""
    big = pds.upload(b"\0" * (5 * 1024 * 1024 + 1))
    assert error(big) == (413, "PayloadTooLarge", "request entity too large")


def test_blob_checks_at_create(pds: Pds) -> None:
    """Image size and type are checked when the record is created, against the stored blob."""
    big = pds.upload(png(2, 2, pad=2_000_100)).json()["blob"]
    response = pds.create(
        post(embed={"$type": "app.bsky.embed.images", "images": [{"image": big, "alt": ""}]})
    )
    assert error(response) == (
        400,
        "InvalidRequest",
        f"Invalid app.bsky.feed.post record: blob too big (maximum 2000000, got {big['size']}) "
        "at $.record.embed.images[0].image",
    )
    text = pds.upload(b"plain words", "text/plain").json()["blob"]
    response = pds.create(
        post(embed={"$type": "app.bsky.embed.images", "images": [{"image": text, "alt": ""}]})
    )
    assert error(response)[2].endswith(
        'Expected "image/*" (got "text/plain") at $.record.embed.images[0].image.mimeType'
    )
    small = pds.upload(png(2, 2)).json()["blob"]
    for changed, name, message in (
        (
            {**small, "mimeType": "image/jpeg"},
            "InvalidMimeType",
            "Referenced Mimetype does not match stored blob. Expected: image/png, Got: image/jpeg",
        ),
        (
            {**small, "size": 5},
            "InvalidSize",
            f"Referenced Size does not match stored blob. Expected: {small['size']}, Got: 5",
        ),
    ):
        embed = {"$type": "app.bsky.embed.images", "images": [{"image": changed, "alt": ""}]}
        assert error(pds.create(post(embed=embed))) == (400, name, message)
    other = Pds(pds.emu, name="other")
    theirs = other.upload(png(4, 4)).json()["blob"]
    embed = {"$type": "app.bsky.embed.images", "images": [{"image": theirs, "alt": ""}]}
    assert error(pds.create(post(embed=embed))) == (
        400,
        "BlobNotFound",
        f"Could not find blob: {theirs['ref']['$link']}",
    )
    assert pds.emu.posts() == []


# -- rate limits -------------------------------------------------------------------------------


def test_no_rate_limit_headers_when_limits_are_off(pds: Pds) -> None:
    """As the PDS ships (limits off), no RateLimit-* header is ever sent."""
    responses = [pds.create(post()), pds.get(), pds.login()]
    assert all(not any(k.startswith("ratelimit") for k in r.headers) for r in responses)


def test_headers_show_the_tightest_bucket() -> None:
    """With limits on, every answer carries the bucket with the fewest points left."""
    pds = Pds(BlueskyEmulator(rate_limits=True))
    created = pds.create(post())
    assert created.headers["ratelimit-policy"] == "3000;w=300"
    assert int(created.headers["ratelimit-reset"]) >= int(time.time())
    login = pds.login()
    assert login.headers["ratelimit-policy"] == "30;w=300"
    assert login.headers["ratelimit-remaining"] == "28"


def test_create_session_limit_is_per_identifier_and_ip() -> None:
    """The 31st login in five minutes is 429 with Retry-After; failed logins count too."""
    pds = Pds(BlueskyEmulator(rate_limits=True))  # one login already spent
    for _ in range(28):
        assert pds.login(**{"X-Forwarded-For": "127.0.0.1"}).status_code == 200
    assert pds.login(password="wrong").status_code == 401  # the 30th, refused but counted
    refused = pds.login()
    assert error(refused) == (429, "RateLimitExceeded", "Rate Limit Exceeded")
    assert refused.headers["ratelimit-limit"] == "30"
    assert refused.headers["ratelimit-remaining"] == "0"
    assert refused.headers["ratelimit-policy"] == "30;w=300"
    assert 0 < int(refused.headers["retry-after"]) <= 300
    assert pds.login(**{"X-Forwarded-For": "10.0.0.9"}).status_code == 200
    pds.emu.clock.advance(301)
    assert pds.login().status_code == 200


def test_small_write_window_refuses_then_recovers() -> None:
    """9 points per 2 s: three creates, the fourth is 429 and not stored; later it succeeds."""
    emu = BlueskyEmulator(rate_limits=BlueskyLimits(write=((9, 2.0),)))
    pds = Pds(emu)
    keys = ["3kaaaaaaaaa22", "3kaaaaaaaab22", "3kaaaaaaaac22", "3kaaaaaaaad22"]
    for key in keys[:3]:
        assert pds.create(post(), rkey=key).status_code == 200
    refused = pds.create(post(), rkey=keys[3])
    assert refused.status_code == 429
    assert refused.headers["ratelimit-policy"] == "9;w=2"
    assert int(refused.headers["retry-after"]) <= 2
    assert len(emu.posts()) == 3
    emu.clock.advance(2.1)
    assert pds.create(post(), rkey=keys[3]).status_code == 200
    assert len(emu.posts()) == 4


# -- AppView reads -----------------------------------------------------------------------------


def test_get_posts_counts_grow_with_simulated_time(pds: Pds) -> None:
    """Counts start at zero, grow deterministically with the clock, and include real replies."""
    root = pds.create(post("root")).json()
    ref = {"uri": root["uri"], "cid": root["cid"]}
    pds.create(post("reply", reply={"root": ref, "parent": ref}), rkey="3kaaaaaaaab22")

    def read() -> httpx.Response:
        return pds.http.get("/xrpc/app.bsky.feed.getPosts", params={"uris": [root["uri"]]})

    (view,) = read().json()["posts"]
    assert view["likeCount"] == 0 and view["replyCount"] == 1
    assert view["author"]["did"] == pds.did and view["record"]["text"] == "root"
    pds.emu.clock.advance(6 * 3600)
    (later,) = read().json()["posts"]
    assert later["likeCount"] > 0
    assert later == read().json()["posts"][0]  # deterministic for a given time
    pds.emu.engage(root["uri"], likes=10, bookmarks=2)
    (boosted,) = read().json()["posts"]
    assert boosted["likeCount"] == later["likeCount"] + 10
    assert boosted["bookmarkCount"] == later["bookmarkCount"] + 2
    assert pds.emu.counts(root["uri"]) == {k: boosted[k] for k in pds.emu.counts(root["uri"])}


def test_get_posts_takes_at_most_25(pds: Pds) -> None:
    """26 URIs are refused as the lexicon says; missing posts are left out."""
    uri = f"at://{pds.did}/app.bsky.feed.post/{KEY}"
    too_many = pds.http.get("/xrpc/app.bsky.feed.getPosts", params={"uris": [uri] * 26})
    assert error(too_many) == (
        400,
        "InvalidRequest",
        "Invalid app.bsky.feed.getPosts params: array too big (maximum 25, got 26)",
    )
    assert pds.http.get("/xrpc/app.bsky.feed.getPosts", params={"uris": [uri]}).json() == {
        "posts": []
    }


def test_get_profile_followers(pds: Pds) -> None:
    """followersCount grows with time and with follow()."""

    def read() -> dict[str, Any]:
        profile: dict[str, Any] = pds.http.get(
            "/xrpc/app.bsky.actor.getProfile", params={"actor": pds.handle}
        ).json()
        return profile

    start = read()["followersCount"]
    pds.emu.follow(pds.handle, 5)
    pds.emu.clock.advance(3 * 3600)
    assert read()["followersCount"] == start + 5 + 6
    assert read()["did"] == pds.did


# -- faults and accounts -----------------------------------------------------------------------


def test_drop_after_stores_then_cuts_the_connection(pds: Pds) -> None:
    """A drop-after fault stores the post, then the client sees a dropped connection."""
    pds.emu.fault(method="POST", path=r"/xrpc/com\.atproto\.repo\.createRecord", drop="after")
    with pytest.raises(httpx.RemoteProtocolError):
        pds.create(post("kept"))
    assert pds.emu.post_texts() == ["kept"]
    assert pds.get().status_code == 200


def test_scripted_status_fault_has_the_xrpc_shape(pds: Pds) -> None:
    """A scripted 503 answers in XRPC's shape."""
    pds.emu.fault(path=r"/xrpc/com\.atproto\.repo\.getRecord", status=503)
    assert error(pds.get()) == (503, "NotEnoughResources", "scripted fault")


def test_accounts_get_unique_handles_and_the_served_url() -> None:
    """account() makes a new user each time; inside serve() it points at the socket."""
    emu = BlueskyEmulator()
    first, second = emu.account(name="Acme Co"), emu.account(name="Acme Co")
    assert first.settings["handle"] == "acme-co.test"
    assert second.settings["handle"] == "acme-co2.test"
    with emu.serve() as url:
        served = emu.account()
        assert served.base_url == url and url.startswith("http://127.0.0.1:")
        assert httpx.get(f"{url}/xrpc/_health").json() == {"version": "0.5.35"}
    assert "password" not in repr(emu.user("acme-co.test"))


def test_validate_false_skips_the_lexicon_and_the_status(pds: Pds) -> None:
    """validate=false stores an over-long post and answers without validationStatus."""
    body = {
        "repo": pds.did,
        "collection": "app.bsky.feed.post",
        "record": post("a" * 301),
        "validate": False,
    }
    answer = pds.http.post("/xrpc/com.atproto.repo.createRecord", json=body, headers=pds.auth)
    assert answer.status_code == 200 and set(answer.json()) == {"uri", "cid", "commit"}


def test_fractions_are_refused_while_decoding(pds: Pds) -> None:
    """The AT data model has no floats: 1.5 anywhere in the body is refused before validation."""
    facets = [{"index": {"byteStart": 1.5, "byteEnd": 2}, "features": []}]
    refused = pds.create(post(facets=facets))
    assert error(refused) == (
        400,
        "InvalidRequest",
        "Expected one of null, boolean, integer, string, cid, bytes, array or object value type "
        "(got 1.5) at $.record.facets[0].index.byteStart",
    )
    assert "ratelimit-limit" not in refused.headers


def test_paths_outside_xrpc_get_express_404(pds: Pds) -> None:
    """Outside /xrpc/ the PDS's web framework answers its HTML 404."""
    answer = pds.http.get("/nothing")
    assert answer.status_code == 404
    assert "<pre>Cannot GET /nothing</pre>" in answer.text


def test_blob_life_cycle_follows_the_pds(pds: Pds) -> None:
    """Type and size are checked only while a blob is unused; deleting its only record deletes
    it, and a later reference is BlobNotFound."""
    blob = pds.upload(png(5, 5)).json()["blob"]
    images = {"$type": "app.bsky.embed.images"}
    assert (
        pds.create(post(embed={**images, "images": [{"image": blob, "alt": ""}]})).status_code
        == 200
    )
    relabelled = {**blob, "mimeType": "image/jpeg"}
    later = pds.create(
        post(embed={**images, "images": [{"image": relabelled, "alt": ""}]}), rkey="3kaaaaaaaab22"
    )
    assert later.status_code == 200  # the blob is permanent now: no more checks
    pds.delete()
    pds.delete("3kaaaaaaaab22")
    gone = pds.create(
        post(embed={**images, "images": [{"image": blob, "alt": ""}]}), rkey="3kaaaaaaaac22"
    )
    assert error(gone) == (400, "BlobNotFound", f"Could not find blob: {blob['ref']['$link']}")


def test_get_post_thread_parents_replies_and_not_found(pds: Pds) -> None:
    """getPostThread (the AppView read the atproto SDK's get_post_thread makes): the anchor
    with its replies (oldest first, ``depth`` deep), its parents up to ``parentHeight``, a
    deleted parent as notFoundPost, a missing post as 400 NotFound."""
    root = pds.create(post("root"), rkey="3kaaaaaaaaa22").json()
    ref = {"uri": root["uri"], "cid": root["cid"]}
    mid = pds.create(post("mid", reply={"root": ref, "parent": ref}), rkey="3kaaaaaaaab22").json()
    mid_ref = {"uri": mid["uri"], "cid": mid["cid"]}
    leaf = pds.create(
        post("leaf", reply={"root": ref, "parent": mid_ref}), rkey="3kaaaaaaaac22"
    ).json()
    pds.create(post("second", reply={"root": ref, "parent": ref}), rkey="3kaaaaaaaad22")

    def thread(uri: str, **params: int) -> httpx.Response:
        return pds.http.get("/xrpc/app.bsky.feed.getPostThread", params={"uri": uri, **params})

    top = thread(root["uri"]).json()["thread"]
    assert top["$type"] == "app.bsky.feed.defs#threadViewPost" and "parent" not in top
    assert [r["post"]["record"]["text"] for r in top["replies"]] == ["mid", "second"]
    assert [r["post"]["record"]["text"] for r in top["replies"][0]["replies"]] == ["leaf"]
    assert top["post"]["replyCount"] == 2
    shallow = thread(root["uri"], depth=1).json()["thread"]
    assert "replies" not in shallow["replies"][0]  # below the depth: no replies key

    bottom = thread(leaf["uri"]).json()["thread"]
    assert bottom["replies"] == []
    assert bottom["parent"]["post"]["uri"] == mid["uri"] and "replies" not in bottom["parent"]
    assert bottom["parent"]["parent"]["post"]["uri"] == root["uri"]
    assert "parent" not in thread(leaf["uri"], parentHeight=1).json()["thread"]["parent"]

    pds.delete("3kaaaaaaaab22")
    orphan = thread(leaf["uri"]).json()["thread"]
    assert orphan["parent"] == {
        "$type": "app.bsky.feed.defs#notFoundPost",
        "uri": mid["uri"],
        "notFound": True,
    }
    assert error(thread(mid["uri"])) == (400, "NotFound", f"Post not found: {mid['uri']}")
    missing = pds.http.get("/xrpc/app.bsky.feed.getPostThread")
    assert error(missing) == (
        400,
        "InvalidRequest",
        'Invalid app.bsky.feed.getPostThread params: Missing required key "uri"',
    )
    assert error(thread(root["uri"], depth=1001)) == (
        400,
        "InvalidRequest",
        "Invalid app.bsky.feed.getPostThread params: integer too big (maximum 1000, got 1001)",
    )


def test_get_post_thread_has_the_recorded_shape(pds: Pds) -> None:
    """A thread as the atproto SDK recorded it from Bluesky's AppView: the same keys on the
    thread node and (at least) on its post view."""
    recorded = json.loads(
        (SHARED / "recorded" / "thread_view_post_with_embed_media.json").read_text()
    )
    made = pds.create(post("hello")).json()
    # Signed in, as the SDK recorded it (a signed-out view carries no viewer state).
    answer = pds.http.get(
        "/xrpc/app.bsky.feed.getPostThread", params={"uri": made["uri"]}, headers=pds.auth
    )
    thread = answer.json()["thread"]
    assert set(thread) == set(recorded["thread"])
    assert set(recorded["thread"]["post"]) - {"embed"} <= set(thread["post"])
    assert set(recorded["thread"]["post"]["author"]) - {"avatar", "associated"} <= set(
        thread["post"]["author"]
    )


def test_get_author_feed_newest_first_with_filters_and_cursor(pds: Pds) -> None:
    """getAuthorFeed: the author's posts newest first, replies with their root and parent
    views, the lexicon's filters, paging by an opaque cursor, "Profile not found"."""
    root = pds.create(post("root"), rkey="3kaaaaaaaaa22").json()
    ref = {"uri": root["uri"], "cid": root["cid"]}
    pds.emu.clock.advance(1)
    pds.create(post("reply", reply={"root": ref, "parent": ref}), rkey="3kaaaaaaaab22")
    pds.emu.clock.advance(1)
    blob = pds.upload(png(4, 4)).json()["blob"]
    pic = {"$type": "app.bsky.embed.images", "images": [{"image": blob, "alt": "a dot"}]}
    pds.create(post("pic", embed=pic), rkey="3kaaaaaaaac22")

    def feed(**params: Any) -> dict[str, Any]:
        answer = pds.http.get(
            "/xrpc/app.bsky.feed.getAuthorFeed", params={"actor": pds.handle, **params}
        )
        assert answer.status_code == 200, answer.text
        data: dict[str, Any] = answer.json()
        return data

    everything = feed()
    assert [i["post"]["record"]["text"] for i in everything["feed"]] == ["pic", "reply", "root"]
    assert "cursor" not in everything
    reply = everything["feed"][1]["reply"]
    assert reply["root"]["uri"] == root["uri"] and reply["parent"]["cid"] == root["cid"]
    assert reply["root"]["$type"] == "app.bsky.feed.defs#postView"
    texts = [i["post"]["record"]["text"] for i in feed(filter="posts_no_replies")["feed"]]
    assert texts == ["pic", "root"]
    assert [i["post"]["record"]["text"] for i in feed(filter="posts_with_media")["feed"]] == ["pic"]
    first = feed(limit=2)
    assert len(first["feed"]) == 2 and first["cursor"]
    rest = feed(limit=2, cursor=first["cursor"])
    assert [i["post"]["record"]["text"] for i in rest["feed"]] == ["root"]
    unknown = pds.http.get("/xrpc/app.bsky.feed.getAuthorFeed", params={"actor": "nobody.test"})
    assert error(unknown) == (400, "InvalidRequest", "Profile not found")


def test_list_records_by_key_with_cursor_and_reverse(pds: Pds) -> None:
    """listRecords: newest key first (oldest with reverse), the last key as cursor whenever
    a record comes, "Could not find repo" for an unknown one."""
    for rkey in ("3kaaaaaaaaa22", "3kaaaaaaaab22", "3kaaaaaaaac22"):
        assert pds.create(post(rkey), rkey=rkey).status_code == 200

    def page(**params: Any) -> dict[str, Any]:
        answer = pds.http.get(
            "/xrpc/com.atproto.repo.listRecords",
            params={"repo": pds.handle, "collection": "app.bsky.feed.post", **params},
        )
        assert answer.status_code == 200, answer.text
        data: dict[str, Any] = answer.json()
        return data

    first = page(limit=2)
    assert [r["value"]["text"] for r in first["records"]] == ["3kaaaaaaaac22", "3kaaaaaaaab22"]
    assert first["cursor"] == "3kaaaaaaaab22"
    rest = page(limit=2, cursor=first["cursor"])
    assert [r["value"]["text"] for r in rest["records"]] == ["3kaaaaaaaaa22"]
    assert rest["cursor"] == "3kaaaaaaaaa22"
    assert page(cursor=rest["cursor"]) == {"records": []}
    oldest = page(reverse="true", limit=1)["records"][0]
    assert oldest["uri"] == f"at://{pds.did}/app.bsky.feed.post/3kaaaaaaaaa22"
    assert oldest["cid"] == pds.get("3kaaaaaaaaa22").json()["cid"]
    unknown = pds.http.get(
        "/xrpc/com.atproto.repo.listRecords",
        params={"repo": "nobody.test", "collection": "app.bsky.feed.post"},
    )
    assert error(unknown) == (400, "InvalidRequest", "Could not find repo: nobody.test")


def test_streamed_upload_blob_over_a_socket_keeps_every_byte(emu: BlueskyEmulator) -> None:
    """An uploadBlob body sent with Transfer-Encoding: chunked (a streamed upload) is stored
    whole, with the size and CID of its bytes, not as an empty blob."""
    data = png(64, 48, pad=20_000)

    def stream() -> Iterator[bytes]:
        for start in range(0, len(data), 4096):
            yield data[start : start + 4096]

    with emu.serve() as url, httpx.Client(base_url=url) as http:
        account = emu.account()
        login = {
            "identifier": account.settings["handle"],
            "password": account.secret("app_password"),
        }
        session = http.post("/xrpc/com.atproto.server.createSession", json=login).json()
        answer = http.post(
            "/xrpc/com.atproto.repo.uploadBlob",
            content=stream(),
            headers={
                "Authorization": f"Bearer {session['accessJwt']}",
                "Content-Type": "image/png",
            },
        )
        assert answer.status_code == 200, answer.text
        blob = answer.json()["blob"]
    assert emu.requests[-1].headers.get("transfer-encoding") == "chunked"
    assert blob["size"] == len(data) and blob["mimeType"] == "image/png"
    (stored,) = emu.blobs.values()
    assert stored.data == data and stored.cid == blob["ref"]["$link"]
