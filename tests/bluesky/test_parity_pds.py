"""The emulator and the real PDS (``@atproto/pds`` 0.5.35) answer the same requests alike.

Each scenario sends the same XRPC requests to a real PDS (started by the harness in
``tests/pds``) and to the emulator, and compares status, error name, message (DIDs, handles
and CIDs normalised) and rate-limit headers. Skipped when the harness is not installed (failed
instead when ``CI`` is set, as in ``tests/pds``).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from brandkit.testing.bluesky import BlueskyEmulator, BlueskyLimits
from tests.bluesky._support import mp4, png
from tests.pds.pds_harness import PdsServer, harness_missing_reason, start_pds

pytestmark = pytest.mark.pds

NOW = "2026-11-26T10:00:00.000Z"
User = dict[str, str]
Answer = tuple[str, Any, str, dict[str, str], bool]


def _need_harness() -> None:
    missing = harness_missing_reason()
    if missing is None:
        return
    if os.environ.get("CI", "").strip().lower() not in {"", "0", "false", "no"}:
        pytest.fail(f"CI is set but the real-PDS harness is missing. {missing}", pytrace=False)
    pytest.skip(f"real Bluesky PDS comparison skipped: {missing}")


@pytest.fixture(scope="module")
def real_servers() -> Iterator[dict[str, PdsServer]]:
    """Two real servers: rate limits on (real numbers), and on with a 9-points-per-2-s write
    bucket and 3 logins per 5 minutes (the harness's knob)."""
    _need_harness()
    envs = {
        "limits": {"PDS_RATE_LIMITS_ENABLED": "true"},
        "small": {
            "PDS_RATE_LIMITS_ENABLED": "true",
            "PDS_HARNESS_RATE_LIMITS": json.dumps(
                {
                    "rl-repo-write-hour": {"points": 9, "seconds": 2},
                    "com.atproto.server.createSession-1": {"points": 3, "seconds": 300},
                }
            ),
        },
    }
    # Both start at once: each start is mostly waiting for Node to load the PDS.
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {name: pool.submit(start_pds, env) for name, env in envs.items()}
    servers: dict[str, PdsServer] = {}
    errors = []
    for name, future in futures.items():
        try:
            servers[name] = future.result()
        except Exception as exc:
            errors.append(exc)
    if errors:
        for server in servers.values():
            server.stop()
        raise errors[0]
    try:
        yield servers
    finally:
        for server in servers.values():
            server.terminate()
        for server in servers.values():
            server.stop()


class Recorder:
    """Sends requests and keeps a comparable summary of each answer."""

    def __init__(self, http: httpx.Client, names: dict[str, str]) -> None:
        self.http = http
        self.names = names
        self.answers: list[Answer] = []

    def norm(self, text: str) -> str:
        for placeholder, value in self.names.items():
            text = text.replace(value, placeholder)
        return re.sub(r"baf[ky]rei[a-z2-7]+", "<cid>", text)

    def __call__(self, label: str, response: httpx.Response) -> httpx.Response:
        try:
            body: Any = response.json()
        except ValueError:
            body = response.text
        if isinstance(body, dict) and "error" in body:
            shown: Any = {"error": body["error"], "message": body.get("message")}
        elif isinstance(body, dict):
            shown = sorted(body)
        else:
            shown = body
        headers = {
            k: response.headers[k]
            for k in ("ratelimit-limit", "ratelimit-remaining", "ratelimit-policy")
            if k in response.headers
        }
        self.answers.append(
            (
                label,
                response.status_code,
                self.norm(json.dumps(shown, ensure_ascii=False)),
                headers,
                "retry-after" in response.headers,
            )
        )
        return response


def protocol(rec: Recorder, make_user: Callable[[str], User]) -> None:
    """Sessions, records, validation, blobs and reads, as a client would meet them."""
    http = rec.http
    alice, bob = make_user("alice"), make_user("bob")
    rec.names.update(
        {"<alice.did>": alice["did"], "<alice>": alice["handle"], "<bob.did>": bob["did"]}
    )
    rec.names["<bob>"] = bob["handle"]
    ip = {"X-Forwarded-For": "10.1.1.1"}
    login = {"identifier": alice["handle"], "password": alice["app_password"]}
    session = rec(
        "createSession", http.post("/xrpc/com.atproto.server.createSession", json=login, headers=ip)
    ).json()
    auth = {"Authorization": f"Bearer {session['accessJwt']}", **ip}
    refresh = {"Authorization": f"Bearer {session['refreshJwt']}", **ip}
    did = session["did"]
    rec(
        "bad password",
        http.post(
            "/xrpc/com.atproto.server.createSession", json={**login, "password": "x"}, headers=ip
        ),
    )
    rec(
        "no password",
        http.post(
            "/xrpc/com.atproto.server.createSession",
            json={"identifier": alice["handle"]},
            headers=ip,
        ),
    )
    rec("getSession", http.get("/xrpc/com.atproto.server.getSession", headers=auth))
    described = rec(
        "describeServer", http.get("/xrpc/com.atproto.server.describeServer", headers=ip)
    )
    rec.answers.append(("blobUploadLimit", described.json().get("blobUploadLimit"), "", {}, False))
    rec(
        "resolveHandle",
        http.get(
            "/xrpc/com.atproto.identity.resolveHandle", params={"handle": bob["handle"]}, headers=ip
        ),
    )
    rec(
        "resolveHandle unknown",
        http.get(
            "/xrpc/com.atproto.identity.resolveHandle",
            params={"handle": "zz-nobody.test"},
            headers=ip,
        ),
    )
    rec(
        "resolveHandle invalid",
        http.get(
            "/xrpc/com.atproto.identity.resolveHandle",
            params={"handle": "not a handle"},
            headers=ip,
        ),
    )

    def create(label: str, record: Any, rkey: str | None = None, **extra: Any) -> httpx.Response:
        body: dict[str, Any] = {
            "repo": did,
            "collection": "app.bsky.feed.post",
            "record": record,
            **extra,
        }
        if rkey:
            body["rkey"] = rkey
        return rec(label, http.post("/xrpc/com.atproto.repo.createRecord", json=body, headers=auth))

    def post(**fields: Any) -> dict[str, Any]:
        return {"$type": "app.bsky.feed.post", "text": "hi", "createdAt": NOW, **fields}

    create("create at rkey", post(), rkey="3kabcdefgh2a2")
    create("same rkey again", post(), rkey="3kabcdefgh2a2")
    create("not a TID", post(), rkey="notatid")
    create("bad rkey syntax", post(), rkey="bad rkey!")
    create("301 graphemes", post(text="a" * 301))
    create("3025 bytes", post(text="👨‍👩‍👧‍👦" * 121))
    create("1501 e-acute", post(text="é" * 1501))
    create("no createdAt", {"$type": "app.bsky.feed.post", "text": "x"})
    create("4 langs", post(langs=["en", "de", "fr", "es"]))
    create(
        "mention with handle",
        post(
            facets=[
                {
                    "index": {"byteStart": 0, "byteEnd": 2},
                    "features": [{"$type": "app.bsky.richtext.facet#mention", "handle": "b.test"}],
                }
            ]
        ),
    )
    create("fraction", post(facets=[{"index": {"byteStart": 0.5, "byteEnd": 2}, "features": []}]))
    create("unknown fields kept", post(extra=1))
    create("validate false", post(text="a" * 301), validate=False)
    create("wrong $type", {**post(), "$type": "app.bsky.feed.like"})
    create("other collection", {"$type": "com.example.thing"}, collection="com.example.thing")
    rec(
        "foreign repo",
        http.post(
            "/xrpc/com.atproto.repo.createRecord",
            json={"repo": bob["did"], "collection": "app.bsky.feed.post", "record": post()},
            headers=auth,
        ),
    )
    blob = rec(
        "uploadBlob",
        http.post(
            "/xrpc/com.atproto.repo.uploadBlob",
            content=png(3, 3),
            headers={**auth, "Content-Type": "image/png"},
        ),
    ).json()["blob"]
    rec(
        "uploadBlob sniffed",
        http.post(
            "/xrpc/com.atproto.repo.uploadBlob",
            content=mp4(),
            headers={**auth, "Content-Type": "application/octet-stream"},
        ),
    )
    rec(
        "uploadBlob no type",
        http.post("/xrpc/com.atproto.repo.uploadBlob", content=b"x", headers=auth),
    )
    rec(
        "uploadBlob too big",
        http.post(
            "/xrpc/com.atproto.repo.uploadBlob",
            content=b"\0" * (5 * 1024 * 1024 + 1),
            headers={**auth, "Content-Type": "image/png"},
        ),
    )
    images = {"$type": "app.bsky.embed.images"}
    create(
        "image",
        post(
            embed={
                **images,
                "images": [{"image": blob, "alt": "", "aspectRatio": {"width": 3, "height": 3}}],
            }
        ),
    )
    create("image without alt", post(embed={**images, "images": [{"image": blob}]}))
    create(
        "image wrong mime",
        post(
            embed={**images, "images": [{"image": {**blob, "mimeType": "image/jpeg"}, "alt": ""}]}
        ),
    )
    create(
        "image wrong size",
        post(embed={**images, "images": [{"image": {**blob, "size": 1}, "alt": ""}]}),
    )
    create("video of a png", post(embed={"$type": "app.bsky.embed.video", "video": blob}))
    fresh = http.post(
        "/xrpc/com.atproto.repo.uploadBlob",
        content=png(5, 5),
        headers={**auth, "Content-Type": "image/png"},
    ).json()["blob"]
    create(
        "fresh blob wrong mime",
        post(
            embed={**images, "images": [{"image": {**fresh, "mimeType": "image/jpeg"}, "alt": ""}]}
        ),
    )
    create(
        "fresh blob wrong size",
        post(embed={**images, "images": [{"image": {**fresh, "size": 1}, "alt": ""}]}),
    )
    only = http.post(
        "/xrpc/com.atproto.repo.uploadBlob",
        content=png(6, 6),
        headers={**auth, "Content-Type": "image/png"},
    ).json()["blob"]
    uses = create(
        "blob's only record",
        post(embed={**images, "images": [{"image": only, "alt": ""}]}),
        rkey="3kabcdefgh2b2",
    )
    assert uses.status_code == 200
    rec(
        "delete it",
        http.post(
            "/xrpc/com.atproto.repo.deleteRecord",
            json={"repo": did, "collection": "app.bsky.feed.post", "rkey": "3kabcdefgh2b2"},
            headers=auth,
        ),
    )
    create("blob gone with it", post(embed={**images, "images": [{"image": only, "alt": ""}]}))
    params = {"repo": did, "collection": "app.bsky.feed.post", "rkey": "3kabcdefgh2a2"}
    rec("getRecord", http.get("/xrpc/com.atproto.repo.getRecord", params=params, headers=ip))
    rec(
        "getRecord missing",
        http.get(
            "/xrpc/com.atproto.repo.getRecord",
            params={**params, "rkey": "3kabcdefgh2zz"},
            headers=ip,
        ),
    )
    rec(
        "getRecord no rkey",
        http.get(
            "/xrpc/com.atproto.repo.getRecord",
            params={"repo": did, "collection": "x.y.z"},
            headers=ip,
        ),
    )
    rec("deleteRecord", http.post("/xrpc/com.atproto.repo.deleteRecord", json=params, headers=auth))
    rec(
        "deleteRecord again",
        http.post("/xrpc/com.atproto.repo.deleteRecord", json=params, headers=auth),
    )
    create("create after delete", post(), rkey="3kabcdefgh2a2")
    rec("refreshSession", http.post("/xrpc/com.atproto.server.refreshSession", headers=refresh))
    rec("refresh with access", http.post("/xrpc/com.atproto.server.refreshSession", headers=auth))
    rec(
        "no auth",
        http.post(
            "/xrpc/com.atproto.repo.createRecord",
            json={"repo": did, "collection": "app.bsky.feed.post", "record": post()},
            headers=ip,
        ),
    )
    rec(
        "garbage token",
        http.post(
            "/xrpc/com.atproto.repo.createRecord",
            json={"repo": did, "collection": "app.bsky.feed.post", "record": post()},
            headers={"Authorization": "Bearer a.b.c", **ip},
        ),
    )
    rec("GET on a procedure", http.get("/xrpc/com.atproto.repo.createRecord", headers=ip))
    # Auth is checked before the body: no token and a broken body is still AuthMissing.
    json_type = {"Content-Type": "application/json", **ip}
    rec(
        "no auth, not JSON",
        http.post("/xrpc/com.atproto.repo.createRecord", content=b"nope", headers=json_type),
    )
    rec(
        "no auth, no repo",
        http.post("/xrpc/com.atproto.repo.createRecord", json={"collection": "x"}, headers=ip),
    )
    rec(
        "bad token, no repo",
        http.post(
            "/xrpc/com.atproto.repo.createRecord",
            json={"collection": "x"},
            headers={"Authorization": "Bearer a.b.c", **ip},
        ),
    )
    rec(
        "no auth, blob too big",
        http.post(
            "/xrpc/com.atproto.repo.uploadBlob",
            content=b"\0" * (5 * 1024 * 1024 + 1),
            headers={"Content-Type": "image/png", **ip},
        ),
    )
    rec(
        "no auth, delete without rkey",
        http.post("/xrpc/com.atproto.repo.deleteRecord", json={"repo": did}, headers=ip),
    )
    rec("unknown method", http.get("/xrpc/com.example.nothing", headers=ip))


def threadgates(rec: Recorder, make_user: Callable[[str], User]) -> None:
    """What hiding and liking write: threadgates through putRecord (swaps, no-ops, the
    lexicon's limits) and likes at a chosen record key."""
    http = rec.http
    dave, erin = make_user("dave"), make_user("erin")
    rec.names.update({"<dave.did>": dave["did"], "<dave>": dave["handle"]})
    rec.names.update({"<erin.did>": erin["did"], "<erin>": erin["handle"]})
    ip = {"X-Forwarded-For": "10.3.3.3"}
    login = {"identifier": dave["handle"], "password": dave["app_password"]}
    session = http.post("/xrpc/com.atproto.server.createSession", json=login, headers=ip).json()
    auth = {"Authorization": f"Bearer {session['accessJwt']}", **ip}
    did = dave["did"]
    made = http.post(
        "/xrpc/com.atproto.repo.createRecord",
        json={
            "repo": did,
            "collection": "app.bsky.feed.post",
            "rkey": "3kabcdefgh3a2",
            "record": {"$type": "app.bsky.feed.post", "text": "root", "createdAt": NOW},
        },
        headers=auth,
    ).json()
    gate_type = "app.bsky.feed.threadgate"
    reply = f"at://{erin['did']}/app.bsky.feed.post/3kabcdefgh3b2"

    def gate(**fields: Any) -> dict[str, Any]:
        return {"$type": gate_type, "post": made["uri"], "createdAt": NOW, **fields}

    def put(label: str, record: Any, rkey: str = "3kabcdefgh3a2", **extra: Any) -> Any:
        body = {"repo": did, "collection": gate_type, "rkey": rkey, "record": record, **extra}
        return rec(label, http.post("/xrpc/com.atproto.repo.putRecord", json=body, headers=auth))

    first = put("gate, swap null", gate(hiddenReplies=[reply]), swapRecord=None).json()
    put("gate again, swap null", gate(hiddenReplies=[]), swapRecord=None)
    put("identical, stale swap", gate(hiddenReplies=[reply]), swapRecord="bafyreia" + "a" * 51)
    second = put("update, right swap", gate(hiddenReplies=[]), swapRecord=first["cid"]).json()
    put("update, stale swap", gate(hiddenReplies=[reply]), swapRecord=first["cid"])
    put("update, no swap", gate(hiddenReplies=[reply], allow=[]))
    assert second["cid"] != first["cid"]
    put("301 hidden", gate(hiddenReplies=[reply] * 301))
    put("hidden not a URI", gate(hiddenReplies=["nope"]))
    put("no post", {"$type": gate_type, "createdAt": NOW})
    put("rkey not a TID", gate(), rkey="self")
    put(
        "allow rules",
        gate(allow=[{"$type": f"{gate_type}#mentionRule"}, {"$type": f"{gate_type}#followerRule"}]),
    )
    rec(
        "put foreign repo",
        http.post(
            "/xrpc/com.atproto.repo.putRecord",
            json={"repo": erin["did"], "collection": gate_type, "rkey": "3kabcdefgh3a2"}
            | {"record": gate()},
            headers=auth,
        ),
    )
    rec(
        "put no auth",
        http.post(
            "/xrpc/com.atproto.repo.putRecord",
            json={"repo": did, "collection": gate_type, "rkey": "3kabcdefgh3a2", "record": gate()},
            headers=ip,
        ),
    )
    params = {"repo": did, "collection": gate_type, "rkey": "3kabcdefgh3a2"}
    rec("getRecord gate", http.get("/xrpc/com.atproto.repo.getRecord", params=params, headers=ip))
    like = {
        "repo": did,
        "collection": "app.bsky.feed.like",
        "rkey": "3kabcdefgh3c2",
        "record": {
            "$type": "app.bsky.feed.like",
            "subject": {"uri": made["uri"], "cid": made["cid"]},
            "createdAt": NOW,
        },
    }
    rec("like", http.post("/xrpc/com.atproto.repo.createRecord", json=like, headers=auth))
    rec("like again", http.post("/xrpc/com.atproto.repo.createRecord", json=like, headers=auth))


def write_limits(rec: Recorder, make_user: Callable[[str], User]) -> None:
    """A 9-points-per-2-s write bucket, a delete, a blob, and logins over their limit."""
    http = rec.http
    user = make_user("carol")
    ip = {"X-Forwarded-For": "10.2.2.2"}
    login = {"identifier": user["handle"], "password": user["app_password"]}
    session = rec(
        "login", http.post("/xrpc/com.atproto.server.createSession", json=login, headers=ip)
    ).json()
    auth = {"Authorization": f"Bearer {session['accessJwt']}", "X-Forwarded-For": "10.2.2.3"}
    for n, key in enumerate(("3kaaaaaaaaa22", "3kaaaaaaaab22", "3kaaaaaaaac22", "3kaaaaaaaad22")):
        body = {
            "repo": user["did"],
            "collection": "app.bsky.feed.post",
            "rkey": key,
            "record": {"text": "x", "createdAt": NOW},
        }
        rec(
            f"create {n + 1}",
            http.post("/xrpc/com.atproto.repo.createRecord", json=body, headers=auth),
        )
    gone = {"repo": user["did"], "collection": "app.bsky.feed.post", "rkey": "3kaaaaaaaaa22"}
    rec("delete", http.post("/xrpc/com.atproto.repo.deleteRecord", json=gone, headers=auth))
    rec(
        "upload",
        http.post(
            "/xrpc/com.atproto.repo.uploadBlob",
            content=b"abc",
            headers={**auth, "Content-Type": "text/plain"},
        ),
    )
    wrong = {**login, "password": "wrong"}
    for _ in range(30):
        http.post(
            "/xrpc/com.atproto.server.createSession",
            json=wrong,
            headers={"X-Forwarded-For": "10.2.2.4"},
        )
    rec(
        "31st login",
        http.post(
            "/xrpc/com.atproto.server.createSession",
            json=wrong,
            headers={"X-Forwarded-For": "10.2.2.4"},
        ),
    )


def run_real(
    server: PdsServer, scenario: Callable[[Recorder, Callable[[str], User]], None]
) -> list[Answer]:
    def make_user(prefix: str) -> User:
        acct = server.create_account(prefix)
        return {"did": acct.did, "handle": acct.handle, "app_password": acct.app_password}

    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        rec = Recorder(http, {})
        scenario(rec, make_user)
    return rec.answers


def run_emulated(
    emu: BlueskyEmulator, scenario: Callable[[Recorder, Callable[[str], User]], None]
) -> list[Answer]:
    def make_user(prefix: str) -> User:
        user = emu.add_user(f"{prefix}.test")
        return {"did": user.did, "handle": user.handle, "app_password": user.app_password}

    with httpx.Client(transport=emu.transport(), base_url=emu.base_url) as http:
        rec = Recorder(http, {})
        scenario(rec, make_user)
    return rec.answers


def differences(real: list[Answer], emulated: list[Answer]) -> list[str]:
    return [
        f"{r[0]}:\n  real {r[1:]}\n  emu  {e[1:]}"
        for r, e in zip(real, emulated, strict=True)
        if r != e
    ]


def test_protocol_answers_match(real_servers: dict[str, PdsServer]) -> None:
    """Sessions, records, validation messages, blobs and errors: the same answers."""
    real = run_real(real_servers["limits"], protocol)
    emulated = run_emulated(BlueskyEmulator(rate_limits=True), protocol)
    assert len(real) == len(emulated) >= 40
    assert differences(real, emulated) == []


def test_rate_limit_answers_match(real_servers: dict[str, PdsServer]) -> None:
    """Headers of the tightest bucket, the write 429 and the login 429: the same answers."""
    real = run_real(real_servers["small"], write_limits)
    limits = BlueskyLimits(write=((9, 2.0), (35000, 86400.0)), session=((300, 86400.0), (3, 300.0)))
    emulated = run_emulated(BlueskyEmulator(rate_limits=limits), write_limits)
    assert [a[1] for a in real].count(429) == 3  # the 4th create, the delete after it, login 4
    assert differences(real, emulated) == []


def test_threadgate_and_like_answers_match(real_servers: dict[str, PdsServer]) -> None:
    """putRecord of threadgates (swap rules, no-op, validation) and likes: the same answers."""
    real = run_real(real_servers["limits"], threadgates)
    emulated = run_emulated(BlueskyEmulator(rate_limits=True), threadgates)
    assert len(real) == len(emulated) >= 15
    assert differences(real, emulated) == []
