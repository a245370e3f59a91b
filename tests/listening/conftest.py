"""A tiny searchable platform ("findnet") for testing listening without a real adapter:
``GET /search?q=<query JSON>&after=N&limit=L`` answers the stored public posts that match."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import httpx
import pytest

from brandkit import Account, Author, Message, Query
from brandkit._flow import Flow, Send
from brandkit.content import Rendered, RenderedPart
from brandkit.errors import ConfigurationError, PlatformError, RateLimited
from brandkit.listening import SearchPage, UnsupportedQuery
from brandkit.platforms import register
from brandkit.platforms._base import Adapter, Capabilities, PartRef, ThreadContext

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class FindAdapter(Adapter):
    name: ClassVar[str] = "findnet"
    capabilities: ClassVar[Capabilities] = Capabilities(platform="findnet", search=True)
    page: ClassVar[int] = 25

    def publish_part(
        self, rendered: Rendered, part: RenderedPart, thread: ThreadContext
    ) -> Flow[PartRef]:
        raise NotImplementedError
        yield  # pragma: no cover

    def delete_part(self, ref: PartRef) -> Flow[None]:
        raise NotImplementedError
        yield  # pragma: no cover

    def error_for(self, response: httpx.Response) -> PlatformError:
        # Like Meta's quotas: a 400 whose body says when to come back.
        body = response.json()
        if response.status_code == 400 and "retry_after" in body:
            return RateLimited(
                "findnet: quota spent",
                platform=self.name,
                status_code=400,
                retry_after=float(body["retry_after"]),
            )
        return super().error_for(response)

    def compile_query(self, query: Query) -> Any:
        if query.languages:
            raise UnsupportedQuery(
                "findnet cannot filter by language", platform=self.name, feature="languages"
            )
        return query.model_dump_json()

    def search(self, query: Query, cursor: str | None, *, limit: int) -> Flow[SearchPage]:
        try:
            after = int(cursor or 0)
        except ValueError:
            raise ConfigurationError("not a findnet cursor: pass since=None") from None
        found: list[Message] = []
        read = 0
        while True:
            size = min(self.page, limit - read)
            params = {"q": self.compile_query(query), "after": after, "limit": size}
            request = httpx.Request("GET", f"{self.account.base_url}/search", params=params)
            data = self.check((yield Send(request, idempotent=True, bucket="search"))).json()
            for item in data["posts"]:
                read += 1
                after = int(item["seq"])
                found.append(
                    Message(
                        platform=self.name,
                        account=self.account.key,
                        id=item["id"],
                        kind="found",
                        author=Author(
                            id=item["author"], handle=item["author"], followers=item["followers"]
                        ),
                        text=item["text"],
                        created_at=datetime.fromisoformat(item["at"]),
                        raw=item,
                    )
                )
            if not data["more"] or read >= limit:
                return SearchPage(found, cursor=str(after), more=bool(data["more"]), read=read)


register("findnet", FindAdapter, replace=True)


class FindServer:
    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self.requests: list[httpx.Request] = []
        self.quota_spent = False

    def say(
        self, author: str, text: str, *, minutes: int | None = None, followers: int = 10
    ) -> str:
        seq = len(self.posts) + 1
        self.posts.append(
            {
                "seq": seq,
                "id": f"p{seq}",
                "author": author,
                "followers": followers,
                "text": text,
                "at": (T0 + timedelta(minutes=seq if minutes is None else minutes)).isoformat(),
            }
        )
        return f"p{seq}"

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path != "/search":
            return httpx.Response(404, json={"error": "not found"})
        if self.quota_spent:
            return httpx.Response(400, json={"error": "quota", "retry_after": 86400})
        query = Query.model_validate_json(request.url.params["q"])
        after = int(request.url.params["after"])
        limit = int(request.url.params["limit"])
        hits = [
            p
            for p in self.posts
            if p["seq"] > after and query.matches(p["text"], author=p["author"])
        ]
        return httpx.Response(200, json={"posts": hits[:limit], "more": len(hits) > limit})


class FakeClock:
    """A day after T0, until a test moves it."""

    def __init__(self) -> None:
        self.now = T0 + timedelta(days=1)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def server() -> FindServer:
    return FindServer()


@pytest.fixture
def http(server: FindServer) -> Iterator[httpx.Client]:
    with httpx.Client(transport=httpx.MockTransport(server.handler)) as client:
        yield client


@pytest.fixture
def finder() -> Account:
    return Account("findnet", name="brand", base_url="https://find.example")


@pytest.fixture
def finder2() -> Account:
    return Account("findnet", name="second", base_url="https://find.example")


def as_json(value: Any) -> str:
    return json.dumps(value)
