"""Shared helpers for the Meta tests (Facebook, Instagram, Threads): canned Graph answers,
real response bodies, fast polling, fake time."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from brandkit import Post, RetryPolicy
from brandkit.content import Media, Rendered, RenderedPart
from brandkit.platforms import capabilities
from brandkit.platforms._graph import GraphAdapter

# Real Graph API bodies (sns-sdks/python-facebook testdata, Apache-2.0: see the LICENSE
# file in that folder), copied into tests/data.
META = Path(__file__).resolve().parents[1] / "data" / "meta"

FAST = RetryPolicy(initial=0.01, max_backoff=0.05)

# Graph's refusal of a paging cursor it invalidated (its item deleted), as the emulators
# answer it (`brandkit.testing._graph`), for a fault to serve.
INVALID_CURSOR = {
    "error": {"message": "(#100) Invalid cursor", "type": "OAuthException", "code": 100}
}

# Graph's refusal of a field the node does not have (as the emulators answer it): code 100
# without a subcode, as an invalidated cursor's, but naming the field, not the cursor.
NO_SUCH_FIELD = {
    "error": {
        "message": "(#100) Tried accessing nonexisting field (foo) on node type (Comment)",
        "type": "OAuthException",
        "code": 100,
    }
}


def real(relative: str) -> Any:
    """One of the real Graph API bodies, parsed."""
    return json.loads((META / relative).read_text(encoding="utf-8"))


@pytest.fixture
def anyio_backend() -> str:
    """Async tests run on asyncio."""
    return "asyncio"


@pytest.fixture(autouse=True)
def fast_polling(monkeypatch: pytest.MonkeyPatch) -> None:
    """Container and video polls start after 20 ms instead of a second."""
    monkeypatch.setattr(GraphAdapter, "poll_initial", 0.02)
    monkeypatch.setattr(GraphAdapter, "poll_max", 0.2)


def answer(status: int, body: Any = None, **headers: str) -> httpx.Response:
    """A JSON response."""
    content = json.dumps(body).encode() if body is not None else b""
    return httpx.Response(
        status,
        content=content,
        headers={"content-type": "application/json; charset=utf-8", **headers},
    )


def graph_error(
    status: int, code: int, message: str, subcode: int | None = None, **headers: str
) -> httpx.Response:
    """Meta's error envelope."""
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    error["fbtrace_id"] = "AbCdEfGh123"
    return answer(status, {"error": error}, **headers)


Answer = httpx.Response | Callable[[httpx.Request], httpx.Response]


class Canned:
    """A responder for ``run_flow``: ``(method, path regex, response)`` entries; each request
    takes the first unused entry that matches (entries with ``times`` > 1 are reused)."""

    def __init__(self, *entries: tuple[str, str, Answer]) -> None:
        self.entries = list(entries)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        for i, (method, path, reply) in enumerate(self.entries):
            if method == request.method and re.fullmatch(path, request.url.path):
                del self.entries[i]
                response = reply(request) if callable(reply) else reply
                return httpx.Response(
                    response.status_code,
                    headers=response.headers,
                    content=response.content,
                    request=request,
                )
        raise AssertionError(f"unexpected request {request.method} {request.url}")

    def form(self, index: int) -> dict[str, str]:
        """The form (or multipart text) fields of request ``index``."""
        request = self.requests[index]
        ctype = request.headers.get("content-type", "")
        if ctype.startswith("application/x-www-form-urlencoded"):
            return dict(httpx.QueryParams(request.content.decode()))
        out: dict[str, str] = {}
        if ctype.startswith("multipart/form-data"):
            boundary = ctype.split("boundary=", 1)[1].encode()
            for part in request.content.split(b"--" + boundary):
                head, _, data = part.partition(b"\r\n\r\n")
                match = re.search(rb'name="([^"]+)"', head)
                if match and b"filename=" not in head:
                    out[match.group(1).decode()] = data.removesuffix(b"\r\n").decode()
        return out


def rendered(
    platform: str, *texts: str, media: tuple[Media, ...] = (), link: Any = None
) -> Rendered:
    """A rendered post without going through the text engine."""
    parts = tuple(
        RenderedPart(index=i, text=t, length=len(t), limit=500, media=media if i == 0 else ())
        for i, t in enumerate(texts)
    )
    return Rendered(
        platform=platform,
        parts=parts,
        post=Post(text="\n".join(texts) or "x", media=media),
        capabilities=capabilities(platform),
        link=link,
    )


class FakeTime:
    """Sleeps that move an emulator clock instead of waiting (for governor and poll waits)."""

    def __init__(self, clock: Any) -> None:
        self.clock = clock
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        """Advance the clock by ``seconds``."""
        self.slept.append(seconds)
        self.clock.advance(seconds)

    async def asleep(self, seconds: float) -> None:
        """Advance the clock by ``seconds`` (for AsyncClient)."""
        self.sleep(seconds)


def served(emu: Any) -> Iterator[Any]:
    """Serve an emulator for a fixture."""
    with emu.serve():
        yield emu


@pytest.fixture
def emu() -> Iterator[Any]:
    """A Facebook emulator served on 127.0.0.1 (the inbox tests'; files may define their own)."""
    from brandkit.testing.facebook import FacebookEmulator

    yield from served(FacebookEmulator())


@pytest.fixture
def emulator_clock(emu: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Meta adapters made in the test take the emulator's clock for the local one,
    as a machine whose clock agrees with Meta's: a test that runs the emulator minutes
    ahead of real time (to get past `InboxCursor.CLOCK_SLACK`) would otherwise answer
    with a ``Date`` that far ahead of the adapter's clock, which the inbox does not
    believe (`InboxCursor.CLOCK_AHEAD`)."""
    made = GraphAdapter.__init__

    def init(self: GraphAdapter, account: Any) -> None:
        made(self, account)
        self.clock = emu.clock.time

    monkeypatch.setattr(GraphAdapter, "__init__", init)


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pages of 5 comments, at most 2 a post: the bound is 10 comments, not 5,000."""
    from brandkit.platforms.facebook import FacebookAdapter

    monkeypatch.setattr(FacebookAdapter, "comments_page", 5)
    monkeypatch.setattr(FacebookAdapter, "inbox_pages", 2)


def _answer_bytes(answer: httpx.Response) -> bytes:
    """An answer's body, the random ``fbtrace_id`` of a refusal left out."""
    return re.sub(rb'"fbtrace_id": "[^"]*"', b"", answer.content)


def read_all_pages(http: httpx.Client, path: str, params: dict[str, Any]) -> list[bytes]:
    """Every answer of a read of ``path`` page by page, forwards by ``paging.next`` (GET
    verbatim) and then backwards from the last page by its ``before`` cursor."""
    answers: list[bytes] = []
    got = http.get(path, params=params)
    answers.append(_answer_bytes(got))
    last = got
    while got.status_code == 200 and "next" in got.json().get("paging", {}):
        got = http.get(got.json()["paging"]["next"])
        answers.append(_answer_bytes(got))
        last = got
        assert len(answers) < 1000
    paging = last.json().get("paging", {}) if last.status_code == 200 else {}
    before = paging.get("cursors", {}).get("before")
    while before:
        back = http.get(path, params={**params, "before": before})
        answers.append(_answer_bytes(back))
        page = back.json() if back.status_code == 200 else {}
        before = page.get("paging", {}).get("cursors", {}).get("before")
        before = before if page.get("data") else None
        assert len(answers) < 2000
    return answers
