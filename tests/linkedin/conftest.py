"""Shared helpers for the LinkedIn tests: canned answers, accounts, builders."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from brandkit import Account, Client, Inbox, Post, RetryPolicy
from brandkit.content import Link, Media, Rendered, RenderedPart
from brandkit.platforms._capabilities import BUILTIN_CAPABILITIES
from brandkit.platforms.linkedin import LinkedInAdapter
from brandkit.testing import png
from brandkit.testing.linkedin import LinkedInEmulator

FAST = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=30)
BASE = "https://api.linkedin.test"
TOKEN = "AQV-linkedin-access-token-0123456789"
REFRESH = "AQX-linkedin-refresh-token-0123456789"
SECRET = "client-secret-0123456789"
ORG = "urn:li:organization:2414183"
PERSON = "urn:li:person:8675309abc"


@pytest.fixture
def anyio_backend() -> str:
    """Async tests run on asyncio."""
    return "asyncio"


class Canned:
    """A responder for ``run_flow``: ``(method, path regex, response)`` in order; each
    request must match the next entry."""

    def __init__(
        self,
        *answers: tuple[str, str, httpx.Response | Callable[[httpx.Request], httpx.Response]],
    ) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        assert self.answers, f"unexpected request {request.method} {request.url}"
        method, path, answer = self.answers.pop(0)
        assert request.method == method and re.fullmatch(path, request.url.path), (
            f"expected {method} {path}, got {request.method} {request.url.path}"
        )
        response = answer(request) if callable(answer) else answer
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            content=response.content,
            request=request,
        )

    def body(self, index: int) -> Any:
        """The JSON body of request ``index``."""
        return json.loads(self.requests[index].content)


def answer(status: int, body: Any = None, **headers: str) -> httpx.Response:
    """A response with a JSON body (or none)."""
    if body is None:
        return httpx.Response(status, headers=headers)
    return httpx.Response(status, json=body, headers=headers)


def created(urn: str) -> httpx.Response:
    """LinkedIn's answer to a created post: 201, empty body, the URN in x-restli-id."""
    return httpx.Response(201, headers={"x-restli-id": urn})


def li_error(
    status: int, message: str, code: str | None = None, service: int = 0
) -> httpx.Response:
    """LinkedIn's error shape."""
    body: dict[str, Any] = {"status": status, "message": message}
    if code:
        body["code"] = code
    if service:
        body["serviceErrorCode"] = service
    return httpx.Response(status, json=body)


def make_account(author: str = ORG, *, refreshable: bool = True, **kw: Any) -> Account:
    """A LinkedIn account on a made-up host."""
    extra: dict[str, Any] = {}
    if refreshable:
        extra = {"refresh_token": REFRESH, "client_id": "78client", "client_secret": SECRET}
    return Account.linkedin(author=author, token=TOKEN, base_url=BASE, **extra, **kw)


@pytest.fixture
def account() -> Account:
    """An organization account that can refresh its token."""
    return make_account()


@pytest.fixture
def adapter(account: Account) -> LinkedInAdapter:
    """An adapter for that account."""
    return LinkedInAdapter(account)


def rendered(
    text: str,
    *,
    media: tuple[Media, ...] = (),
    link: Link | None = None,
    options: dict[str, Any] | None = None,
) -> Rendered:
    """A one-part rendered post, built without the text engine."""
    part = RenderedPart(index=0, text=text, length=len(text), limit=3000, media=media)
    return Rendered(
        platform="linkedin",
        parts=(part,),
        post=Post(text=text or "x", media=media),
        capabilities=BUILTIN_CAPABILITIES["linkedin"],
        link=link,
        options=dict(options or {}),
    )


def picture(alt: str = "a purple square", width: int = 8) -> Media:
    """A small PNG with alt text."""
    return Media.from_bytes(png(width, 6), alt=alt, filename="tiny.png")


def video(size: int = 10_000) -> Media:
    """A fake MP4 of ``size`` bytes."""
    head = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
    filler = bytes(range(256)) * (size // 256 + 1)
    return Media.from_bytes((head + filler)[:size], filename="v.mp4")


@contextmanager
def served_inbox(tmp_path: Path) -> Iterator[tuple[LinkedInEmulator, Client, Inbox, Account]]:
    """A LinkedIn emulator served on 127.0.0.1, a client, an inbox in a real SQLite file
    in ``tmp_path``, and an organization account of the emulator."""
    emu = LinkedInEmulator()
    with emu.serve(), Client(retry=FAST) as client, Inbox(tmp_path / "inbox.db") as inbox:
        yield emu, client, inbox, emu.account()


def save_cursor(path: Path, account: str, cursor: Mapping[str, Any]) -> None:
    """Write ``cursor`` as the account's saved cursor in the inbox file at ``path`` (as an
    earlier brandkit, or a hand, left it)."""
    with sqlite3.connect(path) as db:
        changed = db.execute(
            "UPDATE inbox_cursors SET cursor = ? WHERE account = ?",
            (json.dumps(cursor, separators=(",", ":")), account),
        ).rowcount
    db.close()
    assert changed == 1
