"""What the governor tests of settled requests share (a request answered without rate
headers, never answered, never sent): a server of windows of unknown length, a ``sleep``
that fails a held sender, and a governor that records the clients' settling calls."""

from __future__ import annotations

import asyncio
import math
import time

import httpx

from brandkit import RetryPolicy
from brandkit._hooks import BucketKey
from brandkit.governor import Governor, StateStore
from brandkit.testing import Emulator, route

# How long a sender may take before the test calls it held: the old code held it FLIGHT_TTL.
BOUND = 5.0
FAST = RetryPolicy(initial=0.01, max_backoff=0.05)


class Windows(Emulator):
    """One endpoint allowing ``limit`` posts per ``window`` seconds, in windows that start at
    the first request after the last one ended, X's headers with no window length (so the
    governor cannot know when a window it has not heard about ends). Resets are sent to the
    millisecond, rounded up, so that the test's waits are the windows' own."""

    platform = "fake"

    def __init__(self, limit: int = 1, window: float = 1.0) -> None:
        super().__init__()
        self.limit = limit
        self.window = window
        self.start: float | None = None
        self.used = 0
        self.refused = 0

    @route("POST", "/post")
    def post(self, request: httpx.Request) -> httpx.Response:
        now = self.clock.time()
        if self.start is None or now >= self.start + self.window:
            self.start, self.used = now, 0
        end = math.ceil((self.start + self.window) * 1000) / 1000
        allowed = self.used < self.limit
        self.used += allowed
        headers = {
            "x-rate-limit-limit": str(self.limit),
            "x-rate-limit-remaining": str(self.limit - self.used),
            "x-rate-limit-reset": f"{end:.3f}",
        }
        if not allowed:
            self.refused += 1
            return self.json({"error": "Too many requests"}, 429, headers)
        return self.json({"id": str(len(self.requests))}, 200, headers)


class Held(AssertionError):
    """A sender was kept waiting longer than BOUND."""


class Bounded:
    """A ``sleep`` for the clients that fails a sender held longer than BOUND after `arm`
    (rather than let the old code hang the test for two minutes)."""

    def __init__(self) -> None:
        self.until = math.inf

    def arm(self) -> None:
        self.until = time.monotonic() + BOUND

    def check(self, seconds: float) -> None:
        if time.monotonic() + seconds > self.until:
            raise Held(f"a sender was held more than {BOUND:g} s")

    def __call__(self, seconds: float) -> None:
        self.check(seconds)
        time.sleep(seconds)

    async def asleep(self, seconds: float) -> None:
        self.check(seconds)
        await asyncio.sleep(seconds)


class Recording(Governor):
    """A Governor that records which settling the clients call."""

    def __init__(self, store: StateStore | None = None) -> None:
        super().__init__(store)
        self.calls: list[str] = []

    def unanswered(self, key: BucketKey) -> None:
        self.calls.append("unanswered")
        super().unanswered(key)

    async def aunanswered(self, key: BucketKey) -> None:
        self.calls.append("unanswered")
        await super().aunanswered(key)

    def unsent(self, key: BucketKey) -> None:
        self.calls.append("unsent")
        super().unsent(key)

    async def aunsent(self, key: BucketKey) -> None:
        self.calls.append("unsent")
        await super().aunsent(key)
