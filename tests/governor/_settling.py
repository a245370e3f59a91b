"""What the governor tests of settled requests share (a request answered without rate
headers, never answered, never sent, or its task cancelled): a server of windows of unknown
length, a ``sleep`` that fails a held sender, a governor that records the clients' settling
calls, and a state whose async updates take their time, as a server's do."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import httpx

from brandkit import RetryPolicy
from brandkit._hooks import BucketKey
from brandkit.governor import Entries, Entry, Governor, StateStore
from brandkit.testing import Emulator, route

T = TypeVar("T")

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


class Paused:
    """A state store over ``inner`` whose next async update, once `pause` armed it, takes
    its time as one on a server does: ``before`` seconds on its way there (nothing written
    yet), then the update, then ``after`` seconds of its answer on the way back (written,
    committed). ``paused`` is true while the armed update is under way, so that a test can
    cancel the task awaiting it; ``done`` counts the async updates that were applied."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.before = self.after = 0.0
        self.paused = False
        self.done = 0

    def pause(self, *, before: float = 0.0, after: float = 0.0) -> None:
        self.before, self.after = before, after
        self.paused = False

    def update(self, scopes: Sequence[str], change: Callable[[Entries], T]) -> T:
        result: T = self.inner.update(scopes, change)
        return result

    async def aupdate(self, scopes: Sequence[str], change: Callable[[Entries], T]) -> T:
        before, after = self.before, self.after
        self.before = self.after = 0.0
        armed = bool(before or after)
        if armed:
            self.paused = True
        try:
            await asyncio.sleep(before)
            result: T = await self.inner.aupdate(scopes, change)
            self.done += 1
            await asyncio.sleep(after)
        finally:
            if armed:
                self.paused = False
        return result

    def entries(self, scope: str) -> dict[str, Entry]:
        found: dict[str, Entry] = self.inner.entries(scope)
        return found


async def cancel_when_paused(store: Paused, task: asyncio.Task[Any]) -> None:
    """Cancel ``task`` while the update `Paused.pause` armed is under way; the task ends
    with the cancellation."""
    await until(lambda: store.paused)
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        return
    raise AssertionError("the cancelled task ended without its cancellation")


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait on the event loop until ``condition()`` holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:g} s in vain")
        await asyncio.sleep(0.005)
