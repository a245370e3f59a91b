"""Governor.aacquire / aobserve: the same decisions as acquire / observe (one code path), and
no event-loop blocking: MemoryState inline, SQLiteState in a thread, a server clock due for a
sample read in a thread, a store without ``aupdate`` called in a thread."""

from __future__ import annotations

import asyncio
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from brandkit import AsyncClient
from brandkit._hooks import BucketKey
from brandkit.backends import ServerTimeClock
from brandkit.governor import Entries, Governor, MemoryState, SQLiteState, dump_entry
from brandkit.platforms._base import RatePolicy
from tests.governor.conftest import FakeClock, WindowedFake

T = TypeVar("T")
KEY = BucketKey("x", "api.x.com", "x:brand", "post")
POLICIES = (RatePolicy("post", 5, 60), RatePolicy("post", 50, 3600, scope="app"))


def _script(clock: FakeClock, fake: WindowedFake) -> list[tuple[str, Any]]:
    """Operations that touch every branch of the decisions: bursts past the declared limit,
    answers with headers, a 429 with Retry-After, bare 429s (jittered backoff) and a success
    that clears the strikes."""
    bare = httpx.Response(429)
    later = httpx.Response(429, headers={"retry-after": "7"})
    ops: list[tuple[str, Any]] = []
    for _ in range(7):
        ops += [("acquire", None), ("observe", None), ("advance", 3.0)]
    ops += [("answer", later), ("acquire", None), ("advance", 8.0)]
    ops += [("answer", bare), ("acquire", None), ("answer", bare), ("advance", 400.0)]
    ops += [("acquire", None), ("answer", httpx.Response(200)), ("acquire", None)]
    return ops


def _run_sync(gov: Governor, clock: FakeClock, fake: WindowedFake) -> list[object]:
    out: list[object] = []
    for op, arg in _script(clock, fake):
        if op == "acquire":
            out.append(gov.acquire(KEY, 1, POLICIES))
        elif op == "observe":
            out.append(gov.observe(KEY, fake(httpx.Request("POST", "https://api.x.com/2/tweets"))))
        elif op == "answer":
            out.append(gov.observe(KEY, arg))
        else:
            clock.advance(arg)
    return out


async def _run_async(gov: Governor, clock: FakeClock, fake: WindowedFake) -> list[object]:
    out: list[object] = []
    for op, arg in _script(clock, fake):
        if op == "acquire":
            out.append(await gov.aacquire(KEY, 1, POLICIES))
        elif op == "observe":
            request = httpx.Request("POST", "https://api.x.com/2/tweets")
            out.append(await gov.aobserve(KEY, fake(request)))
        elif op == "answer":
            out.append(await gov.aobserve(KEY, arg))
        else:
            clock.advance(arg)
    return out


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_async_decisions_are_the_sync_ones(kind: str, tmp_path: Path) -> None:
    def governor(name: str) -> tuple[Governor, FakeClock, WindowedFake]:
        clock = FakeClock()
        store = MemoryState() if kind == "memory" else SQLiteState(tmp_path / f"{name}.db")
        gov = Governor(store, clock=clock, rng=random.Random(7))
        return gov, clock, WindowedFake(clock, 4, 30)

    gov, clock, fake = governor("sync")
    expected = _run_sync(gov, clock, fake)
    agov, aclock, afake = governor("async")
    got = asyncio.run(_run_async(agov, aclock, afake))
    assert got == expected
    assert any(w for w in expected if isinstance(w, float) and w > 0)  # the script did pace
    assert 7.0 in expected  # the Retry-After was honoured
    scopes = ("x|api.x.com|x:brand|post", "x|api.x.com||post", "x|api.x.com|x:brand|*")

    def dump(g: Governor) -> dict[str, Any]:
        store: Any = g.store
        return {s: {n: dump_entry(e) for n, e in store.entries(s).items()} for s in scopes}

    assert dump(agov) == dump(gov)


def test_memory_state_runs_inline_without_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_thread(*args: object, **kwargs: object) -> None:
        raise AssertionError("MemoryState went to a thread")

    monkeypatch.setattr(asyncio, "to_thread", no_thread)
    gov = Governor(MemoryState(), clock=FakeClock())

    async def run() -> tuple[float, float | None]:
        return await gov.aacquire(KEY, 1, POLICIES), await gov.aobserve(
            KEY, httpx.Response(429, headers={"retry-after": "3"})
        )

    assert asyncio.run(run()) == (0.0, 3.0)


class SyncOnly:
    """A user's store without ``aupdate``: it may block, so it must run off the loop."""

    def __init__(self) -> None:
        self.inner = MemoryState()
        self.threads: list[int] = []

    def update(self, scopes: Sequence[str], change: Callable[[Entries], T]) -> T:
        self.threads.append(threading.get_ident())
        return self.inner.update(scopes, change)


def test_a_store_without_aupdate_is_called_in_a_thread() -> None:
    store = SyncOnly()
    gov = Governor(store, clock=FakeClock())

    async def run() -> int:
        await gov.aacquire(KEY, 1, POLICIES)
        await gov.aobserve(KEY, httpx.Response(429, headers={"retry-after": "3"}))
        return threading.get_ident()

    loop_thread = asyncio.run(run())
    assert len(store.threads) == 2
    assert loop_thread not in store.threads


def test_a_server_clock_due_for_a_sample_is_read_off_the_loop() -> None:
    samples: list[int] = []

    def sample() -> float:
        samples.append(threading.get_ident())
        return time.time()

    clock = ServerTimeClock(sample, every=3600.0)
    gov = Governor(MemoryState(), clock=clock)

    async def run() -> int:
        for _ in range(3):
            await gov.aacquire(KEY, 1, POLICIES)
        return threading.get_ident()

    loop_thread = asyncio.run(run())
    assert len(samples) == 1  # sampled once, then read from the monotonic clock
    assert samples[0] != loop_thread


def test_sqlite_state_waits_for_a_locked_file_off_the_loop(tmp_path: Path) -> None:
    path = tmp_path / "gov.db"
    gov = Governor(SQLiteState(path))
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    threading.Timer(1.0, lambda: other.execute("ROLLBACK")).start()

    async def run() -> tuple[float, float, float]:
        gaps = [0.0]

        async def tick() -> None:
            last = time.monotonic()
            while True:
                await asyncio.sleep(0.01)
                now = time.monotonic()
                gaps[0] = max(gaps[0], now - last)
                last = now

        ticker = asyncio.create_task(tick())
        started = time.monotonic()
        wait = await gov.aacquire(KEY, 1, POLICIES)
        took = time.monotonic() - started
        ticker.cancel()
        await asyncio.gather(ticker, return_exceptions=True)
        return wait, took, gaps[0]

    try:
        wait, took, gap = asyncio.run(run())
    finally:
        other.close()
    assert wait == 0.0
    assert took >= 0.9, "aacquire did not wait for the lock: the test proves nothing"
    assert gap < 0.3, f"the event loop was held for {gap:.3f} s"
    assert gov.store.entries("x|api.x.com|x:brand|post")["60s"].available() == 4  # type: ignore[attr-defined]


class Spy(Governor):
    """Counts which entry points the driver used."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def acquire(self, key: BucketKey, cost: int, policies: Sequence[RatePolicy]) -> float:
        self.calls.append("acquire")
        return super().acquire(key, cost, policies)

    def observe(self, key: BucketKey, response: httpx.Response) -> float | None:
        self.calls.append("observe")
        return super().observe(key, response)

    async def aacquire(self, key: BucketKey, cost: int, policies: Sequence[RatePolicy]) -> float:
        self.calls.append("aacquire")
        return await super().aacquire(key, cost, policies)

    async def aobserve(self, key: BucketKey, response: httpx.Response) -> float | None:
        self.calls.append("aobserve")
        return await super().aobserve(key, response)


def test_async_client_uses_the_async_entry_points() -> None:
    from brandkit import Post
    from tests.async_stores._loop import mastodon

    spy = Spy()

    async def run() -> None:
        with mastodon("a") as (_, accounts):
            async with AsyncClient(governor=spy) as client:
                (d,) = await client.publish(Post(text="paced"), accounts)
                assert d.error is None

    asyncio.run(run())
    assert spy.calls and set(spy.calls) == {"aacquire", "aobserve"}
