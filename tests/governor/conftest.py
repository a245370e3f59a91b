"""Fixtures of the governor tests: a fake clock and a small windowed fake platform."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from brandkit import Account
from brandkit._flow import Flow, Send
from brandkit.platforms._base import Adapter, Capabilities, RatePolicy

# Real recorded rate-limit headers (third-party, see tests/data/README.md).
DATA = Path(__file__).resolve().parents[1] / "data"
T0 = 1_800_000_000.0  # a multiple of 3, 10, 60, 300 and 3600


class FakeClock:
    """Seconds since the epoch that only move when told to (``advance``/``sleep``)."""

    def __init__(self, start: float = T0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def sleep(self, seconds: float) -> None:
        """A ``sleep`` for the drivers: records the wait and moves the clock."""
        self.sleeps.append(seconds)
        self.now += max(seconds, 0.0)

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)

    def aware(self) -> datetime:
        return datetime.fromtimestamp(self.now, UTC)


class WindowedFake:
    """A platform that allows ``limit`` requests per ``window`` seconds per caller.

    ``style`` picks the headers: ``"x"`` (``x-rate-limit-*``, whole epoch seconds, the true
    reset truncated as X appears to), ``"mastodon"`` (``X-RateLimit-*``, ISO 8601 with
    microseconds as Rack::Attack writes it), ``"ietf"`` (Bluesky's ``RateLimit-*`` with a
    floored epoch reset and ``Retry-After`` on 429), ``"both"`` (x and mastodon) or
    ``"none"`` (no header; a 429 says nothing). ``aligned`` windows follow the epoch
    (Rack::Attack); otherwise a window starts with the first request after the last one.
    """

    def __init__(
        self,
        clock: Callable[[], float],
        limit: int,
        window: float,
        *,
        style: str = "x",
        aligned: bool = True,
    ) -> None:
        self.clock = clock
        self.limit = limit
        self.window = window
        self.style = style
        self.aligned = aligned
        self.windows: dict[str, list[float]] = {}
        self.ok = 0
        self.refused = 0
        self.times: list[float] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        now = self.clock()
        self.times.append(now)
        caller = request.headers.get("authorization", "")
        state = self.windows.get(caller)
        if self.aligned:
            start = math.floor(now / self.window) * self.window
            if state is None or state[0] != start:
                state = self.windows[caller] = [start, 0]
        elif state is None or now >= state[0] + self.window:
            state = self.windows[caller] = [now, 0]
        end = state[0] + self.window
        allowed = state[1] < self.limit
        if allowed:
            state[1] += 1
            self.ok += 1
        else:
            self.refused += 1
        remaining = int(self.limit - state[1])
        headers = self.headers(now, end, remaining, allowed)
        if not allowed:
            return httpx.Response(429, headers=headers, json={"error": "Too many requests"})
        return httpx.Response(200, headers=headers, json={"id": str(self.ok)})

    def headers(self, now: float, end: float, remaining: int, allowed: bool) -> dict[str, str]:
        out: dict[str, str] = {}
        if self.style in ("x", "both"):
            reset = end if self.aligned else math.floor(end)
            out["x-rate-limit-limit"] = str(self.limit)
            out["x-rate-limit-remaining"] = str(remaining)
            out["x-rate-limit-reset"] = str(int(reset))
        if self.style in ("mastodon", "both"):
            masto = now + (self.window - math.floor(now) % self.window) if self.aligned else end
            out["X-RateLimit-Limit"] = str(self.limit)
            out["X-RateLimit-Remaining"] = str(remaining)
            out["X-RateLimit-Reset"] = iso(masto)
        if self.style == "ietf":
            out["RateLimit-Limit"] = str(self.limit)
            out["RateLimit-Remaining"] = str(remaining)
            out["RateLimit-Reset"] = str(math.floor(end))
            out["RateLimit-Policy"] = f"{self.limit};w={self.window:g}"
            if not allowed:
                out["Retry-After"] = str(math.ceil(end - now))
        return out


def iso(when: float) -> str:
    """Epoch seconds as Mastodon writes them (ISO 8601, microseconds, ``Z``)."""
    return datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class PostAdapter(Adapter):
    """A minimal adapter whose flow makes one request on bucket ``post``."""

    name = "fake"
    capabilities = Capabilities(platform="fake")

    def __init__(self, account: Account, policies: tuple[RatePolicy, ...] = ()) -> None:
        super().__init__(account)
        self.rate_policies = policies  # type: ignore[misc]

    def post(
        self, *, idempotent: bool = True, creates: bool = True, method: str = "POST"
    ) -> Flow[httpx.Response]:
        request = httpx.Request(
            method,
            self.account.base_url + "/post",
            headers={"Authorization": f"Bearer {self.account.name}"},
        )
        response = yield Send(request, idempotent=idempotent, bucket="post", creates=creates)
        return response

    def publish_part(self, rendered: Any, part: Any, thread: Any) -> Flow[Any]:
        raise NotImplementedError
        yield  # pragma: no cover

    def delete_part(self, ref: Any) -> Flow[None]:
        raise NotImplementedError
        yield  # pragma: no cover


def account(name: str = "a1", base_url: str = "http://127.0.0.1:9") -> Account:
    return Account("fake", name=name, base_url=base_url)


def cassette_responses(platform: str) -> Iterator[tuple[str, httpx.Response]]:
    """Every recorded response of a platform's cassettes, as httpx responses (headers only)."""
    import yaml

    for path in sorted((DATA / platform / "cassettes").glob("*.yaml")):
        data = yaml.safe_load(path.read_text())
        for i, interaction in enumerate(data["interactions"]):
            resp = interaction["response"]
            headers = [(k, v) for k, values in resp["headers"].items() for v in values]
            status = resp["status"]["code"]
            yield f"{path.stem}#{i}", httpx.Response(status, headers=headers)


def json_body(response: httpx.Response) -> Any:
    return json.loads(response.content)


@pytest.fixture
def clock() -> FakeClock:
    """A fake clock starting on a boundary of every common window length."""
    return FakeClock()


@pytest.fixture
def anyio_backend() -> str:
    """Async tests here run on asyncio."""
    return "asyncio"
