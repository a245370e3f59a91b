"""Shared helpers for the Telegram tests: the full Bot API spec, canned answers, builders."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest

from brandkit import Account, Post, RetryPolicy
from brandkit.content import Link, Media, Rendered, RenderedPart
from brandkit.platforms._capabilities import BUILTIN_CAPABILITIES
from brandkit.platforms.telegram import TelegramAdapter
from brandkit.testing import png
from brandkit.testing.telegram import BotApiSpec, TelegramEmulator, parse_request

# Real third-party data (MIT, see bot-api.LICENSE there), copied into tests/data.
DATA = Path(__file__).resolve().parents[1] / "data" / "telegram"

FAST = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=30)
BASE = "https://api.telegram.test"
TOKEN = "123456789:AAE-secret-part-of-the-bot-token_x"
RAW = "x-brandkit-test-raw"  # requests a test sends itself, not brandkit


@pytest.fixture
def anyio_backend() -> str:
    """Async tests run on asyncio."""
    return "asyncio"


@cache
def full_spec() -> BotApiSpec:
    """The whole Bot API 10.1 spec (PaulSonOfLars/telegram-bot-api-spec)."""
    return BotApiSpec.load(DATA / "bot-api.json")


def spec_problems(requests: Iterable[httpx.Request]) -> list[str]:
    """Every way the requests brandkit sent break the full spec (strict: exact types, no
    unknown parameters), each prefixed with the method."""
    problems: list[str] = []
    for request in requests:
        if request.headers.get(RAW):
            continue
        call = parse_request(request)
        assert call is not None, f"not a Bot API path: {request.url.path}"
        problems.extend(f"{call.method}: {p}" for p in full_spec().check(call, strict=True))
    return problems


@pytest.fixture
def emu() -> Iterator[TelegramEmulator]:
    """An emulator on 127.0.0.1; at the end, every request brandkit sent must have matched
    the full Bot API spec."""
    emu = TelegramEmulator()
    with emu.serve():
        yield emu
    assert spec_problems(emu.requests) == []


class Canned:
    """A responder for ``run_flow``: ``(method name, response)`` pairs in order; each
    request must call that Bot API method."""

    def __init__(
        self, *answers: tuple[str, httpx.Response | Callable[[httpx.Request], httpx.Response]]
    ) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        assert self.answers, f"unexpected request {request.method} {request.url.path}"
        method, answer = self.answers.pop(0)
        assert re.fullmatch(rf"/bot[^/]+/{method}", request.url.path), request.url.path
        response = answer(request) if callable(answer) else answer
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            content=response.content,
            request=request,
        )

    def call(self, index: int) -> dict[str, Any]:
        """The parameters of request ``index`` (objects and arrays decoded)."""
        call = parse_request(self.requests[index])
        assert call is not None
        out: dict[str, Any] = {}
        for key, value in call.params.items():
            if call.encoded and isinstance(value, str) and value[:1] in "[{":
                value = json.loads(value)
            out[key] = value
        for key, upload in call.files.items():
            out[key] = upload
        return out


def ok(result: Any) -> httpx.Response:
    """A Bot API success."""
    return httpx.Response(200, json={"ok": True, "result": result})


def fail(status: int, description: str, **parameters: Any) -> httpx.Response:
    """A Bot API error."""
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return httpx.Response(status, json=body)


def message(message_id: int, **fields: Any) -> dict[str, Any]:
    """A channel Message."""
    chat = {"id": -1001234567890, "type": "channel", "title": "Brand", "username": "brand"}
    return {"message_id": message_id, "sender_chat": chat, "chat": chat, "date": 1, **fields}


@pytest.fixture
def account() -> Account:
    """A Telegram account for the public channel @brand."""
    return Account.telegram(bot_token=TOKEN, chat_id="@brand", base_url=BASE)


@pytest.fixture
def adapter(account: Account) -> TelegramAdapter:
    """An adapter for that account."""
    return TelegramAdapter(account)


def rendered(
    text: str,
    *,
    media: tuple[Media, ...] = (),
    entities: tuple[dict[str, Any], ...] = (),
    link: Link | None = None,
    options: dict[str, Any] | None = None,
) -> Rendered:
    """A one-part rendered post, built without the text engine."""
    part = RenderedPart(
        index=0, text=text, length=len(text), limit=4096, media=media, entities=entities
    )
    return Rendered(
        platform="telegram",
        parts=(part,),
        post=Post(text=text or "x", media=media),
        capabilities=BUILTIN_CAPABILITIES["telegram"],
        link=link,
        options=dict(options or {}),
    )


def picture(width: int = 8, height: int = 6) -> Media:
    """A small PNG."""
    return Media.from_bytes(png(width, height), filename="tiny.png")
