"""Helpers for the Bluesky tests: small media files, canned XRPC answers, third-party data."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path
from typing import Any

import httpx

from brandkit import Account, RetryPolicy
from brandkit.testing.bluesky import BlueskyEmulator

# Third-party data (MIT, see tests/data/README.md), copied into the repository.
SHARED = Path(__file__).resolve().parents[1] / "data" / "bluesky"

FAST = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=10.0)


def png(width: int, height: int, pad: int = 0) -> bytes:
    """A valid PNG of ``width`` x ``height`` grey pixels, plus ``pad`` bytes of text chunk."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    out = b"\x89PNG\r\n\x1a\n" + chunk(
        b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    )
    if pad:
        out += chunk(b"tEXt", b"pad\x00" + b"x" * pad)
    return out + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def mp4(size: int = 2048) -> bytes:
    """Bytes that start like an MP4 file (an ``ftyp`` box), ``size`` long."""
    head = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
    return head + b"\x00" * (size - len(head))


def xrpc(status: int, body: Any = None, headers: dict[str, str] | None = None) -> httpx.Response:
    """A canned XRPC answer."""
    return httpx.Response(
        status,
        content=json.dumps(body if body is not None else {}).encode(),
        headers={"content-type": "application/json; charset=utf-8", **(headers or {})},
    )


def session_body(
    did: str = "did:plc:abc", handle: str = "brand.test", n: int = 1
) -> dict[str, Any]:
    """A createSession/refreshSession answer with opaque tokens numbered ``n``."""
    return {
        "accessJwt": f"access-{n}",
        "refreshJwt": f"refresh-{n}",
        "did": did,
        "handle": handle,
        "active": True,
    }


def sky_account(**kw: Any) -> Account:
    """An account at a fake PDS address (for flow unit tests)."""
    kw.setdefault("handle", "brand.test")
    kw.setdefault("app_password", "app-pass-1234")
    kw.setdefault("base_url", "https://pds.example")
    return Account.bluesky(**kw)


class Script:
    """Answers a flow's requests by XRPC method name, in order, and records them.

    ``script.on("com.atproto.repo.createRecord", xrpc(200, {...}), ...)`` queues answers;
    a callable answer is called with the request. Unscripted methods fail the test.
    """

    def __init__(self) -> None:
        self.answers: dict[str, list[Any]] = {}
        self.requests: list[httpx.Request] = []

    def on(self, nsid: str, *answers: Any) -> Script:
        self.answers.setdefault(nsid, []).extend(answers)
        return self

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        nsid = request.url.path.rsplit("/", 1)[-1]
        queue = self.answers.get(nsid)
        if not queue:
            raise AssertionError(f"unexpected request {request.method} {nsid}")
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        response = answer(request) if callable(answer) else answer
        response.request = request
        return response

    def calls(self, nsid: str) -> list[httpx.Request]:
        """The requests made to one method, in order."""
        return [r for r in self.requests if r.url.path.endswith("/" + nsid)]

    def names(self) -> list[str]:
        """The method names called, in order."""
        return [r.url.path.rsplit("/", 1)[-1] for r in self.requests]


def body_of(request: httpx.Request) -> Any:
    """The JSON body of a request."""
    return json.loads(request.read())


def nested(levels: int) -> dict[str, Any]:
    """An object ``levels`` deep: ``{"x": {"x": ... {}}}``."""
    deep: dict[str, Any] = {}
    for _ in range(levels):
        deep = {"x": deep}
    return deep


def write_deep_reply(emu: BlueskyEmulator, parent: str, levels: int) -> str:
    """A reply by another app, over HTTP: its record has a field of its own nested
    ``levels`` deep (records may have fields no lexicon names)."""
    troll = emu.user(emu.audience("troll").like(parent).split("/")[2])
    target = emu.record(parent)
    root = target.value.get("reply", {}).get("root") or {"uri": target.uri, "cid": target.cid}
    with httpx.Client(base_url=emu.base_url, timeout=60) as http:
        login = {"identifier": troll.handle, "password": troll.app_password}
        session = http.post("/xrpc/com.atproto.server.createSession", json=login).json()
        record = {
            "$type": "app.bsky.feed.post",
            "text": "deep",
            "createdAt": "2026-01-01T00:00:00.000Z",
            "reply": {"root": root, "parent": {"uri": target.uri, "cid": target.cid}},
            "other": nested(levels),
        }
        made = http.post(
            "/xrpc/com.atproto.repo.createRecord",
            content=json.dumps(
                {"repo": troll.did, "collection": "app.bsky.feed.post", "record": record}
            ),
            headers={
                "authorization": f"Bearer {session['accessJwt']}",
                "content-type": "application/json",
            },
        )
    assert made.status_code == 200, made.text[:300]
    return str(made.json()["uri"])
