"""Shared helpers for the Mastodon tests: recorded interactions, the OpenAPI spec, builders."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from brandkit import Account, Post, RetryPolicy
from brandkit.content import Media, Rendered, RenderedPart
from brandkit.platforms._base import Capabilities
from brandkit.platforms.mastodon import MastodonAdapter
from brandkit.testing.conformance import tiny_png

# Real third-party data (MIT, see the LICENSE files there), copied into tests/data.
DATA = Path(__file__).resolve().parents[1] / "data" / "mastodon"
CASSETTES = DATA / "cassettes"

FAST = RetryPolicy(initial=0.01, max_backoff=0.05)
BASE = "https://masto.example"
TOKEN = "tok-0123456789-secret"


@pytest.fixture
def anyio_backend() -> str:
    """Async tests run on asyncio."""
    return "asyncio"


# -- recorded interactions ----------------------------------------------------------------------


@dataclass
class Recorded:
    """One recorded request and the server's real answer."""

    method: str
    path: str
    body: Any
    status: int
    headers: list[tuple[str, str]]
    content: bytes

    def response(self, request: httpx.Request | None = None) -> httpx.Response:
        """The recorded answer, as httpx would have received it."""
        kwargs: dict[str, Any] = {"headers": self.headers, "content": self.content}
        if request is not None:
            kwargs["request"] = request
        return httpx.Response(self.status, **kwargs)

    @property
    def json(self) -> Any:
        """The recorded answer's JSON body."""
        return json.loads(self.content)


@cache
def cassette(name: str) -> tuple[Recorded, ...]:
    """The interactions of one of Mastodon.py's cassettes."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the video cassette is 3 MB
    data = yaml.load((CASSETTES / f"{name}.yaml").read_text(), Loader=loader)
    out = []
    for item in data["interactions"]:
        req, resp = item["request"], item["response"]
        headers = [
            (key, value)
            for key, values in resp["headers"].items()
            if key.lower() not in ("content-length", "content-encoding", "transfer-encoding")
            for value in values
        ]
        body = resp["body"]["string"]
        out.append(
            Recorded(
                method=req["method"],
                path=httpx.URL(req["uri"]).path,
                body=req["body"],
                status=resp["status"]["code"],
                headers=headers,
                content=body.encode() if isinstance(body, str) else body,
            )
        )
    return tuple(out)


@dataclass
class Replay:
    """Answers a flow's requests with recorded answers, in order, checking each request
    goes where the recording says."""

    answers: list[Recorded]
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert self.answers, f"no recorded answer left for {request.method} {request.url}"
        recorded = self.answers.pop(0)
        assert (request.method, request.url.path.rstrip("/")) == (
            recorded.method,
            recorded.path.rstrip("/"),
        )
        self.requests.append(request)
        return recorded.response(request)


class Canned:
    """A responder for ``run_flow``: a list of ``(method, path regex, response)``; each
    request takes the first unused entry that matches."""

    def __init__(
        self, *entries: tuple[str, str, httpx.Response | Callable[[httpx.Request], httpx.Response]]
    ) -> None:
        self.entries = list(entries)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        for i, (method, path, answer) in enumerate(self.entries):
            if method == request.method and re.fullmatch(path, request.url.path):
                del self.entries[i]
                response = answer(request) if callable(answer) else answer
                return httpx.Response(
                    response.status_code,
                    headers=response.headers,
                    content=response.content,
                    request=request,
                )
        raise AssertionError(f"unexpected request {request.method} {request.url}")


def answer(status: int, body: Any = None, **headers: str) -> httpx.Response:
    """A JSON response."""
    content = json.dumps(body).encode() if body is not None else b""
    return httpx.Response(
        status,
        content=content,
        headers={"content-type": "application/json; charset=utf-8", **headers},
    )


# -- the OpenAPI spec -----------------------------------------------------------------------------


@cache
def _registry() -> Registry:
    spec = json.loads((DATA / "openapi.json").read_text())
    return Registry().with_resource(
        "urn:mastodon", Resource.from_contents(spec, default_specification=DRAFT202012)
    )


@cache
def spec() -> dict[str, Any]:
    """The community OpenAPI 3.1 spec of the Mastodon API (abraham/mastodon-openapi, MIT)."""
    data: dict[str, Any] = json.loads((DATA / "openapi.json").read_text())
    return data


def schema_errors(schema: dict[str, Any] | str, instance: Any) -> list[str]:
    """Where ``instance`` breaks a schema of the spec (a component name or a schema)."""
    ref = (
        {"$ref": f"urn:mastodon#/components/schemas/{schema}"}
        if isinstance(schema, str)
        else schema
    )
    validator = jsonschema.Draft202012Validator(ref, registry=_registry())
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(instance)]


def response_schema(path: str, method: str, status: str = "200") -> dict[str, Any]:
    """The schema of one documented response, with refs pointing into the spec."""
    schema = spec()["paths"][path][method]["responses"][status]["content"]["application/json"][
        "schema"
    ]
    return _rebase(schema)


def _rebase(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {
            k: (f"urn:mastodon{v}" if k == "$ref" and v.startswith("#") else _rebase(v))
            for k, v in schema.items()
        }
    if isinstance(schema, list):
        return [_rebase(v) for v in schema]
    return schema


# -- builders -----------------------------------------------------------------------------------


@pytest.fixture
def account() -> Account:
    """A Mastodon account on a made-up instance."""
    return Account.mastodon(BASE, token=TOKEN)


@pytest.fixture
def adapter(account: Account) -> MastodonAdapter:
    """An adapter for that account."""
    return MastodonAdapter(account)


def rendered(
    *texts: str,
    media: tuple[Media, ...] = (),
    warning: str | None = None,
    language: str | None = None,
    options: dict[str, Any] | None = None,
    caps: Capabilities | None = None,
) -> Rendered:
    """A rendered post without going through the text engine."""
    caps = caps or MastodonAdapter.capabilities
    parts = tuple(
        RenderedPart(index=i, text=t, length=len(t), limit=500, media=media if i == 0 else ())
        for i, t in enumerate(texts)
    )
    return Rendered(
        platform="mastodon",
        parts=parts,
        post=Post(text="\n".join(texts) or "x", media=media),
        capabilities=caps,
        language=language,
        content_warning=warning,
        options=dict(options or {}),
    )


def png(alt: str = "a tiny picture") -> Media:
    """A small PNG with alt text."""
    return Media.from_bytes(tiny_png(), alt=alt, filename="tiny.png")


def status_json(status_id: str, **fields: Any) -> dict[str, Any]:
    """A Status body modelled on a recorded one, with some fields replaced."""
    base: dict[str, Any] = dict(cassette("test_status")[0].json)
    base.update(
        id=status_id,
        url=f"{BASE}/@brand/{status_id}",
        uri=f"{BASE}/users/brand/statuses/{status_id}",
    )
    base.update(fields)
    return base


def mastodon_py(url: str, token: str) -> Any:
    """A Mastodon.py client of the emulator served at ``url`` (the test module skips without
    Mastodon.py): no environment proxy, a rate limit raises, 5 s per request."""
    import requests

    import mastodon

    session = requests.Session()
    session.trust_env = False
    return mastodon.Mastodon(
        access_token=token,
        api_base_url=url,
        ratelimit_method="throw",
        request_timeout=5,
        session=session,
    )
