"""A tiny talking platform ("chatnet") for testing the inbox core without a real adapter:
messages are read with ``GET /inbox?after=N&limit=L``, answers are posts with a parent.

The store tests (test_store.py) run twice: on an SQLite file and on a real PostgreSQL server
(``tests/servers``; skipped on a developer's machine without one, failed under CI). On
PostgreSQL, ``Inbox(path)`` in those tests opens a PostgreSQL inbox instead, one table prefix
per path (so reopening a path reopens the same inbox). `SQLITE_ONLY` lists the tests that
read or damage the SQLite file itself, with the reason.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import attrs
import httpx
import pytest

from brandkit import Account, Author, Inbox, InboxPage, Message
from brandkit._flow import Flow, Send
from brandkit.content import Rendered, RenderedPart
from brandkit.errors import ConfigurationError
from brandkit.platforms import register
from brandkit.platforms._base import Adapter, Capabilities, PartRef, ThreadContext
from tests.servers._servers import (  # noqa: F401 - fixtures
    postgres_url,
    skip_sqlite_only,
    unique_prefix,
)

NAME = "chatnet"
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class ChatAdapter(Adapter):
    name: ClassVar[str] = NAME
    capabilities: ClassVar[Capabilities] = Capabilities(
        platform=NAME,
        text_rules="mastodon",
        text_options={"max_characters": 100},
        inbox=frozenset({"reply", "mention"}),
        hide_messages=True,
    )

    def _url(self, path: str) -> str:
        return f"{self.account.base_url}{path}"

    def answer_capabilities(self, capabilities: Capabilities, target: PartRef) -> Capabilities:
        # Answers are short on chatnet, like comments elsewhere.
        return attrs.evolve(capabilities, text_options={"max_characters": 30})

    def publish_part(
        self, rendered: Rendered, part: RenderedPart, thread: ThreadContext
    ) -> Flow[PartRef]:
        body: dict[str, Any] = {"text": part.text, "key": thread.key}
        if thread.parent is not None:
            body["parent"] = thread.parent.id
        request = httpx.Request("POST", self._url("/posts"), json=body)
        response = yield Send(request, creates=True, bucket="post")
        data = self.check(response).json()
        return PartRef(index=part.index, id=data["id"])

    def find_part(
        self, rendered: Rendered, part: RenderedPart, thread: ThreadContext
    ) -> Flow[PartRef | None]:
        request = httpx.Request("GET", self._url("/posts"), params={"key": thread.key})
        found = self.check((yield Send(request, idempotent=True))).json()
        return PartRef(index=part.index, id=found[0]["id"]) if found else None

    def delete_part(self, ref: PartRef) -> Flow[None]:
        yield Send(httpx.Request("DELETE", self._url(f"/posts/{ref.id}")), idempotent=True)

    def inbox(self, cursor: str | None, *, limit: int) -> Flow[InboxPage]:
        try:
            after = int(cursor or 0)
        except ValueError:
            raise ConfigurationError("not a chatnet cursor: pass since=None") from None
        messages: list[Message] = []
        while True:
            params = {"after": after, "limit": min(10, limit - len(messages))}
            request = httpx.Request("GET", self._url("/inbox"), params=params)
            data = self.check((yield Send(request, idempotent=True, bucket="read"))).json()
            for item in data["messages"]:
                messages.append(self._message(item))
                after = int(item["seq"])
            if not data["messages"] or len(messages) >= limit:
                return InboxPage(messages, cursor=str(after), more=bool(data["more"]))

    def replies(self, refs: Any) -> Flow[list[Message]]:
        ids = {r.id for r in refs}
        request = httpx.Request("GET", self._url("/inbox"), params={"after": 0, "limit": 1000})
        data = self.check((yield Send(request, idempotent=True))).json()
        return [self._message(i) for i in data["messages"] if i.get("parent") in ids]

    def set_hidden(self, message: Message, hidden: bool) -> Flow[None]:
        request = httpx.Request("PUT", self._url(f"/hidden/{message.id}"), json={"hidden": hidden})
        self.check((yield Send(request, idempotent=True)))

    def _message(self, item: dict[str, Any]) -> Message:
        return Message(
            platform=NAME,
            account=self.account.key,
            id=item["id"],
            kind="reply" if item.get("parent") else "mention",
            author=Author(id=item["author"], handle=item["author"]),
            text=item["text"],
            created_at=datetime.fromisoformat(item["at"]),
            in_reply_to=item.get("parent"),
            our_post=item.get("parent"),
            raw=item,
        )


register(NAME, ChatAdapter, replace=True)


class ChatServer:
    """The platform's state and a MockTransport handler."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self.inbox: list[dict[str, Any]] = []
        self.hidden: dict[str, bool] = {}
        self.requests: list[httpx.Request] = []
        self.fail_reads = 0
        self.drop_next_post = False

    def say(self, author: str, text: str, parent: str | None = None, minutes: int = 0) -> str:
        seq = len(self.inbox) + 1
        item = {
            "seq": seq,
            "id": f"m{seq}",
            "author": author,
            "text": text,
            "parent": parent,
            "at": (T0 + timedelta(minutes=minutes or seq)).isoformat(),
        }
        self.inbox.append(item)
        return str(item["id"])

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if request.method == "GET" and path == "/inbox":
            if self.fail_reads:
                self.fail_reads -= 1
                return httpx.Response(403, json={"error": "no read scope"})
            after = int(request.url.params["after"])
            limit = int(request.url.params["limit"])
            newer = [i for i in self.inbox if i["seq"] > after]
            return httpx.Response(200, json={"messages": newer[:limit], "more": len(newer) > limit})
        if request.method == "POST" and path == "/posts":
            body = json.loads(request.content)
            post = {"id": f"p{len(self.posts) + 1}", **body}
            self.posts.append(post)
            if self.drop_next_post:
                self.drop_next_post = False
                raise httpx.RemoteProtocolError("Server disconnected", request=request)
            return httpx.Response(200, json=post)
        if request.method == "GET" and path == "/posts":
            key = request.url.params.get("key")
            return httpx.Response(200, json=[p for p in self.posts if p["key"] == key])
        if request.method == "PUT" and path.startswith("/hidden/"):
            self.hidden[path.rsplit("/", 1)[1]] = json.loads(request.content)["hidden"]
            return httpx.Response(200, json={"ok": True})
        return httpx.Response(404, json={"error": "not found"})


@pytest.fixture
def server() -> ChatServer:
    return ChatServer()


@pytest.fixture
def http(server: ChatServer) -> Iterator[httpx.Client]:
    with httpx.Client(transport=httpx.MockTransport(server.handler)) as client:
        yield client


@pytest.fixture
def account() -> Account:
    return Account(NAME, name="brand", base_url="https://chat.example")


@pytest.fixture
def other() -> Account:
    return Account(NAME, name="other", base_url="https://chat.example")


BACKENDS = ("sqlite", "postgresql")
# The modules whose tests run on both backends.
BOTH_BACKENDS = ("test_store", "test_edited")
# Tests about the SQLite file itself, with the reason (skipped on PostgreSQL).
SQLITE_ONLY = {
    "test_the_file_is_private_and_survives_reopening": "SQLite's file mode",
    "test_a_newer_schema_is_refused": "edits inbox_meta with sqlite3 (test_postgres.py)",
    "test_a_file_that_is_not_a_database_is_a_configuration_error": "a damaged SQLite file",
    "test_the_report_command_reads_the_inbox_beside_the_metrics": (
        "its inbox and metrics share one SQLite file (tests/cli/test_store_urls.py reads a "
        "PostgreSQL schema's)"
    ),
    "test_message_round_trips_through_plain_data": "no store",
    "test_edited_at_round_trips_and_must_be_aware": "no store",
    "test_an_inbox_file_from_before_edit_times_is_upgraded_and_updated": (
        "writes an SQLite file of the first schema (test_postgres.py upgrades PostgreSQL's)"
    ),
    "test_a_message_with_a_wrong_time_or_kind_is_a_configuration_error": "no store",
    "test_an_empty_or_missing_path_is_refused_not_a_temporary_inbox": "SQLite file paths",
    "test_an_inbox_locked_by_another_process_during_a_sync_is_reported_not_raised": (
        "holds the SQLite file's write lock from another connection"
    ),
    "test_an_answer_sent_while_the_inbox_is_locked_is_handed_back_not_lost": (
        "holds the SQLite file's write lock from another connection"
    ),
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if metafunc.module.__name__.rsplit(".", 1)[-1] in BOTH_BACKENDS:
        metafunc.parametrize("inbox_backend", BACKENDS, indirect=True)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    skip_sqlite_only(items, "inbox_backend", SQLITE_ONLY)


@pytest.fixture(autouse=True)
def inbox_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The store tests' backend: on ``postgresql``, the test module's ``Inbox(path, ...)``
    opens a PostgreSQL inbox with a table prefix of its own for each path (closed after the
    test, as the module's fixture leaves its inbox to the garbage collector)."""
    backend: str = getattr(request, "param", "sqlite")
    opened: list[Inbox] = []
    if backend == "postgresql":
        url = request.getfixturevalue("postgres_url")
        prefixes: dict[str, str] = {}

        def on_postgres(path: object, **kwargs: Any) -> Inbox:
            prefix = prefixes.setdefault(str(path), unique_prefix())
            box = Inbox(url, prefix=prefix, **kwargs)
            opened.append(box)
            return box

        monkeypatch.setattr(request.module, "Inbox", on_postgres)
    yield backend
    for box in opened:
        box.close()
