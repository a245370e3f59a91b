"""Shared helpers for the X tests: the OpenAPI spec, recorded interactions, scripted answers."""

from __future__ import annotations

import copy
import gzip
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import yaml

from brandkit import Account, Post, RetryPolicy
from brandkit.content import Media, Rendered, RenderedPart
from brandkit.delivery import new_tid
from brandkit.platforms._base import PartRef, ThreadContext
from brandkit.platforms._capabilities import BUILTIN_CAPABILITIES
from brandkit.platforms.x import XAdapter
from brandkit.testing.x import XEmulator

# Real third-party data, copied into tests/data: the spec is X's own (xdevplatform/xdk), the
# cassettes are tweepy's (MIT), the example bodies sns-sdks/python-twitter's (MIT).
DATA = Path(__file__).resolve().parents[1] / "data" / "x"
CASSETTES = DATA / "cassettes"
EXAMPLES = DATA / "examples"

FAST = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=30)
BASE = "https://api.x.test"
TOKEN = "oauth2-access-token-0123456789"
REFRESH = "oauth2-refresh-token-0123456789"


@pytest.fixture
def anyio_backend() -> str:
    """Async tests run on asyncio."""
    return "asyncio"


# -- the OpenAPI spec ------------------------------------------------------------------------


@cache
def spec() -> dict[str, Any]:
    """X's OpenAPI document (v2.159)."""
    loaded: dict[str, Any] = json.loads((DATA / "openapi.json").read_text())
    return loaded


# Where the spec contradicts what X really sends (the recorded example bodies in
# examples/media_upload_v2 prove it): MediaUploadResponse and MediaUploadAppendResponse
# require a "meta" member they do not even define, and ProcessingInfo requires a "type" that
# never comes. Response checks use a copy of the spec without these three requirements.
SPEC_BUGS = {
    "MediaUploadResponse": "meta",
    "MediaUploadAppendResponse": "meta",
    "ProcessingInfo": "type",
}


@cache
def _components(patched: bool) -> dict[str, Any]:
    components = copy.deepcopy(spec()["components"])
    if patched:
        for name, member in SPEC_BUGS.items():
            schema = components["schemas"][name]
            schema["required"] = [r for r in schema.get("required", []) if r != member]
    return components


def validator(name: str, *, patched: bool = True) -> jsonschema.protocols.Validator:
    """A validator for ``#/components/schemas/<name>`` with every ``$ref`` resolvable."""
    root = {"$ref": f"#/components/schemas/{name}", "components": _components(patched)}
    cls = jsonschema.validators.validator_for(root, default=jsonschema.Draft202012Validator)
    return cls(root)


def check_request(body: Any, name: str = "TweetCreateRequest") -> None:
    """Fail the test if ``body`` breaks X's request schema ``name``."""
    validator(name, patched=False).validate(body)


def check_response(body: Any, name: str) -> None:
    """Fail the test if ``body`` breaks X's response schema ``name`` (spec bugs set aside)."""
    validator(name).validate(body)


def operation_schema(method: str, path: str, status: str = "200") -> str:
    """The response schema name the spec gives ``method path`` for ``status``."""
    ref = spec()["paths"][path][method.lower()]["responses"][status]["content"]["application/json"][
        "schema"
    ]["$ref"]
    return str(ref.rsplit("/", 1)[-1])


# -- recorded interactions -------------------------------------------------------------------


@dataclass
class Recorded:
    """One recorded request and X's real answer (gzip bodies decoded)."""

    method: str
    uri: str
    request_body: bytes | None
    status: int
    headers: dict[str, str]
    content: bytes

    @property
    def path(self) -> str:
        return httpx.URL(self.uri).path

    def response(self, request: httpx.Request | None = None) -> httpx.Response:
        """The answer as httpx would hand it over (already decoded)."""
        headers = {k: v for k, v in self.headers.items() if k not in _DROP}
        kwargs: dict[str, Any] = {"headers": headers, "content": self.content}
        if request is not None:
            kwargs["request"] = request
        return httpx.Response(self.status, **kwargs)


_DROP = {"content-encoding", "content-length", "transfer-encoding", "set-cookie"}


@cache
def cassette(name: str) -> tuple[Recorded, ...]:
    """The interactions of ``cassettes/<name>.yaml``."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    data = yaml.load((CASSETTES / f"{name}.yaml").read_bytes(), Loader=loader)
    out = []
    for item in data["interactions"]:
        req, resp = item["request"], item["response"]
        body = resp["body"]["string"]
        raw = body if isinstance(body, bytes) else str(body).encode()
        headers = {k.lower(): str(v[0]) for k, v in resp["headers"].items()}
        if headers.get("content-encoding") == "gzip":
            raw = gzip.decompress(raw)
        req_body = req["body"]
        out.append(
            Recorded(
                method=req["method"],
                uri=req["uri"],
                request_body=req_body
                if isinstance(req_body, bytes)
                else (req_body.encode() if isinstance(req_body, str) else None),
                status=int(resp["status"]["code"]),
                headers=headers,
                content=raw,
            )
        )
    return tuple(out)


def example(path: str) -> Any:
    """A recorded X response body from ``examples/``."""
    return json.loads((EXAMPLES / path).read_text())


# -- scripted answers for run_flow -----------------------------------------------------------

Answer = httpx.Response | tuple[int, Any] | tuple[int, Any, dict[str, str]]


@dataclass
class Script:
    """Answers requests by method and path regex, in order (the last answer repeats), and
    keeps every request it saw."""

    routes: list[tuple[str, str, list[Answer | Callable[[httpx.Request], Answer]]]] = field(
        default_factory=list
    )
    requests: list[httpx.Request] = field(default_factory=list)

    def on(
        self, method: str, path: str, *answers: Answer | Callable[[httpx.Request], Answer]
    ) -> Script:
        self.routes.append((method, path, list(answers)))
        return self

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        for method, path, answers in self.routes:
            if method == request.method and re.fullmatch(path, request.url.path):
                answer = answers.pop(0) if len(answers) > 1 else answers[0]
                if callable(answer) and not isinstance(answer, httpx.Response):
                    answer = answer(request)
                return _response(answer, request)
        raise AssertionError(f"unexpected request {request.method} {request.url}")

    def sent(self, method: str, path: str) -> list[httpx.Request]:
        """The requests that matched ``method`` and the ``path`` regex."""
        return [r for r in self.requests if r.method == method and re.fullmatch(path, r.url.path)]


def _response(answer: Answer, request: httpx.Request) -> httpx.Response:
    if isinstance(answer, httpx.Response):
        answer.request = request
        return answer
    status, body, *rest = answer
    headers = rest[0] if rest else {}
    if isinstance(body, bytes | str):
        return httpx.Response(status, content=body, headers=headers, request=request)
    return httpx.Response(status, json=body, headers=headers, request=request)


# -- builders --------------------------------------------------------------------------------


def oauth2_account(**kw: Any) -> Account:
    """An OAuth 2 account with a refresh token and a confidential client."""
    args: dict[str, Any] = {
        "user_token": TOKEN,
        "refresh_token": REFRESH,
        "client_id": "client-id",
        "client_secret": "client-secret-xyz",
        "username": "brand",
        "user_id": "1072250532645998596",
        "base_url": BASE,
    }
    args.update(kw)
    return Account.x(**args)


def adapter(account: Account | None = None, **kw: Any) -> XAdapter:
    """An adapter for ``account`` (or a fresh OAuth 2 account)."""
    return XAdapter(account or oauth2_account(**kw))


def rendered(
    *texts: str, media: Iterable[Media] = (), options: dict[str, Any] | None = None
) -> Rendered:
    """A rendered X post with these parts (media on the first)."""
    items = tuple(media)
    parts = tuple(
        RenderedPart(index=i, text=t, length=len(t), limit=280, media=items if i == 0 else ())
        for i, t in enumerate(texts)
    )
    return Rendered(
        platform="x",
        parts=parts,
        post=Post(text=" ".join(texts) or "media", media=items),
        capabilities=BUILTIN_CAPABILITIES["x"],
        options=options or {},
    )


def thread(*previous: str, key: str | None = None) -> ThreadContext:
    """A thread context after the parts with these ids."""
    refs = tuple(PartRef(index=i, id=p) for i, p in enumerate(previous))
    return ThreadContext(key=key or new_tid(), previous=refs)


def body_of(request: httpx.Request) -> Any:
    """The JSON body of a request."""
    return json.loads(request.content)


def created(post_id: str, text: str) -> tuple[int, Any]:
    """X's 201 answer to POST /2/tweets."""
    return 201, {"data": {"id": post_id, "text": text, "edit_history_tweet_ids": [post_id]}}


def drive(flow: Any, respond: Callable[[httpx.Request], httpx.Response]) -> tuple[Any, list[Any]]:
    """Run a flow like ``run_flow`` and also return every step it yielded (Send and Wait)."""
    from brandkit._flow import Send

    steps: list[Any] = []
    try:
        step = next(flow)
        while True:
            steps.append(step)
            if isinstance(step, Send):
                step = flow.send(respond(step.request))
            else:
                step = flow.send(httpx.Response(204))
    except StopIteration as stop:
        return stop.value, steps


def snowflake(when: float, seq: int = 1) -> str:
    """An X id made at epoch second ``when``."""
    return str(((int(when * 1000) - 1288834974657) << 22) | seq)


@pytest.fixture
def emu() -> Iterator[XEmulator]:
    """An X emulator served on 127.0.0.1."""
    emu = XEmulator()
    with emu.serve():
        yield emu


@pytest.fixture
def brand(emu: XEmulator) -> Account:
    """The brand's account (its user id known)."""
    return emu.account(name="brand", known_user=True)


def get(emu: XEmulator, account: Account, path: str, **params: Any) -> httpx.Response:
    """A signed GET straight to the emulator."""
    headers = {"authorization": f"Bearer {account.secret('user_token')}"}
    return httpx.get(emu.base_url + path, params=params, headers=headers)


def one_mention_answer(emu: XEmulator, brand: Account) -> dict[str, Any]:
    """The mentions timeline's answer to the inbox's read (its fields), as the emulator
    gives it with one mention held: for a test to garble and serve (`serve_mentions`)."""
    user_id = brand.settings["user_id"]
    params = {
        "tweet.fields": "created_at,author_id,conversation_id,in_reply_to_user_id,"
        "referenced_tweets,note_tweet,edit_controls",
        "expansions": "author_id",
        "user.fields": "username",
    }
    body: dict[str, Any] = get(emu, brand, f"/2/users/{user_id}/mentions", **params).json()
    return body


def serve_mentions(emu: XEmulator, body: dict[str, Any]) -> None:
    """The mentions timeline answers ``body`` to the next reads."""
    emu.fault(method="GET", path=r"/2/users/[^/]+/mentions", status=200, body=body, times=5)
