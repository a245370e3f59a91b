"""MetricsStore.aadd / alatest / acount never block the event loop: while another connection
holds the store's write lock for a second (SQLite's file lock; on PostgreSQL a table lock), a
10 ms ticker keeps ticking, and the samples are stored exactly once.

Every test runs on an SQLite file and on a real PostgreSQL server (the ``db`` fixture).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from brandkit.errors import BrandkitError, ConfigurationError
from brandkit.metrics import MetricsStore
from tests.async_stores._loop import HOLD, MAX_GAP, Ticker, held
from tests.metrics._data import demo_samples

SAMPLES = demo_samples()
# What the store holds once SAMPLES are in (worked out by the synchronous store).
_LATEST_POSTS = len({(s.platform, s.account, s.post_id, s.metric) for s in SAMPLES if s.post_id})


@contextmanager
def write_lock(
    db: Path | str, store: MetricsStore
) -> Iterator[tuple[Callable[[], None], Callable[[], None]]]:
    """How another connection takes and gives back the write lock the store's `add` needs:
    SQLite's file lock (BEGIN IMMEDIATE), or on PostgreSQL an EXCLUSIVE lock on the samples
    table (readers go on, the store's INSERT waits)."""
    if isinstance(db, Path):
        other: Any = sqlite3.connect(db, isolation_level=None, check_same_thread=False)

        def take() -> None:
            other.execute("BEGIN IMMEDIATE")

        def release() -> None:
            other.execute("ROLLBACK")

    else:
        import psycopg

        other = psycopg.connect(db, autocommit=True)
        table = f"{store.prefix}metrics_samples"  # type: ignore[attr-defined]

        def take() -> None:
            other.execute("BEGIN")
            other.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")

        def release() -> None:
            other.execute("ROLLBACK")

    try:
        yield take, release
    finally:
        other.close()


def test_aadd_waits_for_the_lock_off_the_loop(db: Path | str) -> None:
    """The loop keeps ticking while aadd waits a second for the lock; the samples are then
    stored once, and a query asked meanwhile (alatest: it waits for the store's own lock,
    which the writing thread holds) answers after the write, without blocking the loop."""
    store = MetricsStore(db, timeout=10)

    async def scenario() -> tuple[int, int, float, Ticker, bool]:
        with write_lock(db, store) as (take, release):
            async with Ticker() as ticker:
                with held(take, release) as released:
                    started = time.monotonic()
                    adding = asyncio.create_task(store.aadd(SAMPLES))
                    await asyncio.sleep(0.1)  # the writing thread holds the store's lock now
                    latest = await store.alatest()
                    new = await adding
                    took = time.monotonic() - started
                    return new, len(latest), took, ticker, released.is_set()

    try:
        new, latest, took, ticker, released = asyncio.run(scenario())
        assert released and took >= HOLD * 0.9, "aadd did not wait: the test proves nothing"
        assert ticker.max_gap < MAX_GAP, f"the event loop was held for {ticker.max_gap:.3f} s"
        assert ticker.ticks >= 30
        assert new == len(SAMPLES)
        assert store.count() == len(SAMPLES)
        # alatest waited for the write and saw every post's metrics.
        assert latest == len(store.latest()) and latest >= _LATEST_POSTS
        # Stored exactly once: adding again stores nothing.
        assert asyncio.run(store.aadd(SAMPLES)) == 0
        assert asyncio.run(store.acount()) == len(SAMPLES)
    finally:
        store.close()


def test_aadd_gives_the_same_store_as_add(db: Path | str, tmp_path: Path) -> None:
    """aadd is add in a thread: the same answers as a store filled by add."""
    with MetricsStore(db) as store, MetricsStore(tmp_path / "sync.db") as sync:
        half = len(SAMPLES) // 2
        assert asyncio.run(store.aadd(iter(SAMPLES[:half]))) == sync.add(SAMPLES[:half])
        assert asyncio.run(store.aadd(SAMPLES)) == sync.add(SAMPLES) == len(SAMPLES) - half
        assert asyncio.run(store.alatest(metric="likes")) == sync.latest(metric="likes")
        assert asyncio.run(store.alatest(scope="account")) == sync.latest(scope="account")
        assert asyncio.run(store.acount(metric="likes")) == sync.count(metric="likes")


def test_a_lock_held_past_the_timeout_stores_nothing(db: Path | str) -> None:
    """add's rules: the write is refused with BrandkitError after ``timeout``, and nothing of
    the call is stored; the loop ran meanwhile."""
    store = MetricsStore(db, timeout=0.3)

    async def scenario() -> Ticker:
        with write_lock(db, store) as (take, release):
            async with Ticker() as ticker:
                with held(take, release), pytest.raises(BrandkitError, match="metrics store"):
                    await store.aadd(SAMPLES)
            return ticker

    try:
        ticker = asyncio.run(scenario())
        assert ticker.max_gap < MAX_GAP
        assert store.count() == 0
        assert asyncio.run(store.aadd(SAMPLES)) == len(SAMPLES)  # the store still works
    finally:
        store.close()


def test_a_cancelled_aadd_ends_after_its_write(db: Path | str) -> None:
    """Cancelling the task while its write waits for the lock: CancelledError comes only once
    the write has ended (here: committed after the lock was given back), so the caller never
    leaves a transaction open behind it, and adding again stores nothing twice."""
    store = MetricsStore(db, timeout=10)

    async def scenario() -> bool:
        # No timer: the lock is given back only once the cancelled task was seen still
        # waiting for its write (a timer raced a busy machine's event loop).
        with write_lock(db, store) as (take, release):
            take()
            try:
                task = asyncio.create_task(store.aadd(SAMPLES))
                await asyncio.sleep(0.1)
                task.cancel()
                await asyncio.sleep(0.3)
                waiting = not task.done()
            finally:
                release()
            with pytest.raises(asyncio.CancelledError):
                await task
            return waiting

    try:
        assert asyncio.run(scenario()), "the cancellation did not wait for the write"
        assert store.count() == len(SAMPLES)
        assert asyncio.run(store.aadd(SAMPLES)) == 0
    finally:
        store.close()


def test_a_closed_store_is_refused(db: Path | str) -> None:
    store = MetricsStore(db)
    store.close()
    with pytest.raises(ConfigurationError, match="closed"):
        asyncio.run(store.aadd(SAMPLES))
    with pytest.raises(ConfigurationError, match="closed"):
        asyncio.run(store.alatest())
