"""A tiny fake platform for the outbox tests: an adapter, its emulator, and a renderer.

``outboxnet`` posts with ``POST /posts`` and finds an earlier attempt by its key with
``GET /posts?key=``. Its renderer splits the text at ``" | "`` so that each test chooses the
shape of its thread exactly. Account settings switch behaviours: ``idempotent`` (send an
``Idempotency-Key`` and let the driver retry the create) and ``findable`` (``False``: the
adapter cannot look up an earlier attempt).
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

import httpx

import brandkit._client
import brandkit.outbox._store
from brandkit import Account
from brandkit._flow import Flow, Send
from brandkit.content import Post, Rendered, RenderedPart
from brandkit.content import render as real_render
from brandkit.platforms import register
from brandkit.platforms._base import Adapter, Capabilities, PartRef, ThreadContext
from brandkit.testing import Emulator, route

NAME = "outboxnet"
TOKEN = "obx-s3cret-token-4f9a2c"
CAPS = Capabilities(platform=NAME, threads=True, text_options={"max_characters": 500})


class OutboxNetAdapter(Adapter):
    """The fake platform's adapter."""

    name: ClassVar[str] = NAME
    capabilities: ClassVar[Capabilities] = CAPS

    def _headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.account.secret('token')}"}

    def publish_part(
        self, rendered: Rendered, part: RenderedPart, thread: ThreadContext
    ) -> Flow[PartRef]:
        idempotent = bool(self.account.settings.get("idempotent"))
        headers = self._headers()
        if idempotent:
            headers["idempotency-key"] = thread.key
        body: dict[str, Any] = {"text": part.text, "key": thread.key}
        if thread.parent is not None:
            body["reply_to"] = thread.parent.id
        request = httpx.Request(
            "POST", f"{self.account.base_url}/posts", json=body, headers=headers
        )
        response = yield Send(request, creates=True, idempotent=idempotent, bucket="post")
        data = self.check(response).json()
        return PartRef(index=part.index, id=data["id"], url=f"https://obx.example/{data['id']}")

    def find_part(
        self, rendered: Rendered, part: RenderedPart, thread: ThreadContext
    ) -> Flow[PartRef | None]:
        if not self.account.settings.get("findable", True):
            raise NotImplementedError("outboxnet (unfindable) cannot look up an attempt")
        request = httpx.Request(
            "GET",
            f"{self.account.base_url}/posts",
            params={"key": thread.key},
            headers=self._headers(),
        )
        response = yield Send(request, idempotent=True, bucket="read")
        found = self.check(response).json()
        if not found:
            return None
        pid = found[0]["id"]
        return PartRef(index=part.index, id=pid, url=f"https://obx.example/{pid}")

    def delete_part(self, ref: PartRef) -> Flow[None]:
        request = httpx.Request(
            "DELETE", f"{self.account.base_url}/posts/{ref.id}", headers=self._headers()
        )
        response = yield Send(request, idempotent=True)
        if response.status_code != 404:
            self.check(response)


def fake_render(
    post: Post, platform: str, *, capabilities: Capabilities | None = None, reply: bool = False
) -> Rendered:
    """``render`` for outboxnet: one part per ``" | "``-separated piece; others: the real one."""
    if platform != NAME:
        return real_render(post, platform, capabilities=capabilities, reply=reply)
    texts = post.text.split(" | ")
    parts = tuple(
        RenderedPart(index=i, text=t, length=len(t), limit=500) for i, t in enumerate(texts)
    )
    return Rendered(platform=NAME, parts=parts, post=post, capabilities=capabilities or CAPS)


def install() -> None:
    """Register the adapter and route the drivers' rendering of outboxnet to the fake."""
    register(NAME, OutboxNetAdapter, replace=True)
    brandkit._client.render = fake_render  # type: ignore[attr-defined]
    brandkit.outbox._store.render = fake_render  # type: ignore[attr-defined]


class OutboxNetEmulator(Emulator):
    """The fake platform's server: stores posts, honours idempotency keys, finds by key."""

    platform: ClassVar[str] = NAME
    create_route: ClassVar[tuple[str, str]] = ("POST", "/posts")

    def __init__(self, token: str = TOKEN) -> None:
        super().__init__()
        self.token = token
        self.posts: list[dict[str, Any]] = []
        self.seen_keys: dict[str, dict[str, Any]] = {}

    def _authorized(self, request: httpx.Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {self.token}"

    @route("POST", "/posts")
    def create(self, request: httpx.Request) -> httpx.Response:
        if not self._authorized(request):
            return self.error(401, "the access token is invalid")
        key = request.headers.get("idempotency-key")
        if key and key in self.seen_keys:
            return self.json(self.seen_keys[key])
        body = json.loads(request.content)
        post = {
            "id": str(len(self.posts) + 1),
            "text": body["text"],
            "key": body["key"],
            "reply_to": body.get("reply_to"),
        }
        self.posts.append(post)
        if key:
            self.seen_keys[key] = post
        return self.json(post)

    @route("GET", "/posts")
    def search(self, request: httpx.Request) -> httpx.Response:
        if not self._authorized(request):
            return self.error(401, "the access token is invalid")
        key = request.url.params.get("key")
        return self.json([p for p in self.posts if p["key"] == key])

    @route("DELETE", r"/posts/(?P<pid>\w+)")
    def delete(self, request: httpx.Request, pid: str) -> httpx.Response:
        before = len(self.posts)
        self.posts = [p for p in self.posts if p["id"] != pid]
        return self.json({}, status=200 if len(self.posts) < before else 404)

    def post_texts(self) -> list[str]:
        """The texts of every stored post, oldest first."""
        return [p["text"] for p in self.posts]

    def account(self, *, name: str | None = None, **settings: Any) -> Account:
        """An account on this emulator (``settings``: ``idempotent``, ``findable``)."""
        return Account(
            NAME,
            name=name,
            base_url=self.base_url,
            secrets={"token": self.token},
            settings=settings,
        )
