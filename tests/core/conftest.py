"""A tiny fake platform for testing the drivers without any real adapter."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, ClassVar

import httpx
import pytest

from brandkit import Account
from brandkit._flow import Flow, Send
from brandkit.content import Rendered, RenderedPart
from brandkit.platforms import register
from brandkit.platforms._base import Adapter, Capabilities, PartRef, ThreadContext

FAKE_CAPS_DEDUPED = Capabilities(
    platform="fakenet",
    text_rules="mastodon",
    text_options={"max_characters": 40},
    threads=True,
    idempotent_create=True,
)
FAKE_CAPS = Capabilities(
    platform="fakenet",
    text_rules="mastodon",
    text_options={"max_characters": 40},
    threads=True,
)


class FakeAdapter(Adapter):
    """Posts to ``POST /posts``; looks posts up by key with ``GET /posts?key=``."""

    name: ClassVar[str] = "fakenet"
    capabilities: ClassVar[Capabilities] = FAKE_CAPS
    idempotent: ClassVar[bool] = False
    can_find: ClassVar[bool] = True

    def _url(self, path: str) -> str:
        return f"{self.account.base_url}{path}"

    def _headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.account.secret('token')}"}

    def publish_part(
        self, rendered: Rendered, part: RenderedPart, thread: ThreadContext
    ) -> Flow[PartRef]:
        body = {"text": part.text, "key": thread.key}
        if thread.parent is not None:
            body["reply_to"] = thread.parent.id
        request = httpx.Request("POST", self._url("/posts"), json=body, headers=self._headers())
        response = yield Send(request, creates=True, idempotent=self.idempotent, bucket="post")
        data = self.check(response).json()
        return PartRef(index=part.index, id=data["id"], url=f"https://fake.example/{data['id']}")

    def find_part(
        self, rendered: Rendered, part: RenderedPart, thread: ThreadContext
    ) -> Flow[PartRef | None]:
        if not self.can_find:
            raise NotImplementedError("cannot look up")
        request = httpx.Request(
            "GET", self._url("/posts"), params={"key": thread.key}, headers=self._headers()
        )
        response = yield Send(request, idempotent=True)
        found = self.check(response).json()
        if not found:
            return None
        return PartRef(
            index=part.index, id=found[0]["id"], url=f"https://fake.example/{found[0]['id']}"
        )

    def delete_part(self, ref: PartRef) -> Flow[None]:
        request = httpx.Request("DELETE", self._url(f"/posts/{ref.id}"), headers=self._headers())
        response = yield Send(request, idempotent=True)
        if response.status_code != 404:
            self.check(response)


register("fakenet", FakeAdapter, replace=True)


class FakeServer:
    """The fake platform's state and a MockTransport handler with scriptable answers."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self.requests: list[httpx.Request] = []
        self.script: list[Any] = []  # each entry: an int status, "drop-after", "connect-error"
        self.hidden_lookups = 0  # lookups that do not see the post yet (it lands late)

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        action = self.script.pop(0) if self.script and request.method == "POST" else None
        if action == "connect-error":
            raise httpx.ConnectError("connection refused", request=request)
        if isinstance(action, tuple):
            status, headers = action
            return httpx.Response(status, json={"error": "scripted"}, headers=headers)
        if isinstance(action, int):
            return httpx.Response(action, json={"error": f"scripted {action}"})
        if action == "store-503":
            body = json.loads(request.content)
            self.posts.append({"id": str(len(self.posts) + 1), **body})
            return httpx.Response(503, json={"error": "stored, then failed"})
        if request.method == "POST":
            body = json.loads(request.content)
            post = {"id": str(len(self.posts) + 1), **body}
            self.posts.append(post)
            if action == "drop-after":
                raise httpx.RemoteProtocolError("Server disconnected", request=request)
            return httpx.Response(200, json=post)
        if request.method == "GET":
            if self.hidden_lookups:
                self.hidden_lookups -= 1
                return httpx.Response(200, json=[])
            key = request.url.params.get("key")
            return httpx.Response(200, json=[p for p in self.posts if p["key"] == key])
        if request.method == "DELETE":
            pid = request.url.path.rsplit("/", 1)[1]
            before = len(self.posts)
            self.posts = [p for p in self.posts if p["id"] != pid]
            return httpx.Response(200 if len(self.posts) < before else 404, json={})
        return httpx.Response(405)


@pytest.fixture
def server() -> FakeServer:
    """A fresh fake platform."""
    return FakeServer()


@pytest.fixture
def account() -> Account:
    """An account on the fake platform with a recognisable secret."""
    return Account(
        "fakenet", base_url="https://fake.example", secrets={"token": "s3cr3t-token-value"}
    )


@pytest.fixture
def anyio_backend() -> str:
    """Run async tests on asyncio."""
    return "asyncio"


@pytest.fixture(autouse=True)
def _restore_fake_flags() -> Iterator[None]:
    yield
    FakeAdapter.idempotent = False
    FakeAdapter.can_find = True
    FakeAdapter.capabilities = FAKE_CAPS
