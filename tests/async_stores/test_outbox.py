"""AsyncClient never blocks its event loop on the outbox: while another connection holds the
SQLite file's write lock, or a PostgreSQL row lock, for a second, a 10 ms ticker keeps ticking,
and the delivery still goes out exactly once with its stored state true."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from brandkit import Delivery, DeliveryStatus, Post
from brandkit.errors import OutboxConflict
from brandkit.outbox import Outbox
from tests.async_stores._loop import CREATE, HOLD, MAX_GAP, Ticker, driven, held, mastodon
from tests.servers._servers import unique_prefix

# The history of a one-part delivery, as the synchronous driver writes it too: written, the
# attempt starts, its part is confirmed while sending, and it is sent (the last two are one
# transaction).
SENT_ONCE = ["pending", "sending", "sending", "sent"]


def _statuses(outbox: Outbox, d: Delivery) -> list[str]:
    return [e.status.value for e in outbox.history(d.id)]


def _write_lock(path: Path) -> tuple[sqlite3.Connection, Callable[[], None], Callable[[], None]]:
    """Another connection to the file, and how it takes and gives back the write lock."""
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)

    def take() -> None:
        other.execute("BEGIN IMMEDIATE")

    def release() -> None:
        other.execute("ROLLBACK")

    return other, take, release


def test_publish_waits_for_a_locked_sqlite_file_off_the_loop(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    outbox = Outbox(path)
    other, take, release = _write_lock(path)

    async def scenario() -> tuple[list[Delivery], float, Ticker, int]:
        with mastodon("a", "b") as (emu, accounts):
            async with driven(accounts, outbox=outbox) as (client, ticker):
                with held(take, release) as released:
                    started = time.monotonic()
                    # Two accounts: written first in one transaction (asave_many), then each
                    # attempt's "sending", and its part with "sent" (asave).
                    got = await client.publish(Post(text="through the lock"), accounts)
                    took = time.monotonic() - started
                    assert released.is_set()
            return got, took, ticker, emu.count("POST", CREATE)

    try:
        deliveries, took, ticker, creates = asyncio.run(scenario())
    finally:
        other.close()
    assert took >= HOLD * 0.9, "publish did not wait for the lock: the test proves nothing"
    assert ticker.max_gap < MAX_GAP, f"the event loop was held for {ticker.max_gap:.3f} s"
    assert creates == 2
    for d in deliveries:
        assert d.status is DeliveryStatus.SENT, d.error
        stored = outbox.get(d.id)
        assert stored is not None and stored.status is DeliveryStatus.SENT
        assert stored.attempts == d.attempts == 1
        assert _statuses(outbox, d) == SENT_ONCE
    outbox.close()


def test_a_lock_held_past_the_timeout_is_refused_and_nothing_is_sent(tmp_path: Path) -> None:
    """The refusal reaches the flow where it asked for the write, as in the synchronous
    driver: the delivery keeps its place, its copy says what is stored, nothing is sent."""
    path = tmp_path / "outbox.db"
    outbox = Outbox(path, timeout=0.3)
    other, take, release = _write_lock(path)

    async def scenario() -> tuple[Delivery, int, Ticker]:
        with mastodon("a") as (emu, accounts):
            (d,) = outbox.add(Post(text="refused"), accounts[0])
            async with driven(accounts, outbox=outbox) as (client, ticker):
                with held(take, release), pytest.raises(OutboxConflict):
                    await client.deliver(d, accounts[0])
            return d, emu.count("POST", CREATE), ticker

    try:
        d, creates, ticker = asyncio.run(scenario())
    finally:
        other.close()
    assert creates == 0
    assert ticker.max_gap < MAX_GAP, f"the event loop was held for {ticker.max_gap:.3f} s"
    stored = outbox.get(d.id)
    assert stored is not None
    assert (d.status, d.attempts) == (stored.status, stored.attempts) == (DeliveryStatus.PENDING, 0)
    outbox.close()


def test_a_cancelled_deliver_keeps_its_copy_true_to_the_outbox(tmp_path: Path) -> None:
    """Cancelled while its "sending" write waits for the lock: the write is awaited to its end
    (it cannot be called back from its thread), then the task stops at its next await. The
    copy and the stored row agree, and nothing is sent twice."""
    path = tmp_path / "outbox.db"
    outbox = Outbox(path)
    other, take, release = _write_lock(path)

    async def scenario() -> tuple[Delivery, int]:
        with mastodon("a") as (emu, accounts):
            (d,) = outbox.add(Post(text="cancelled"), accounts[0])
            async with driven(accounts, outbox=outbox) as (client, _):
                with held(take, release) as released:
                    task = asyncio.create_task(client.deliver(d, accounts[0]))
                    await asyncio.sleep(HOLD / 4)  # the write now waits for the lock
                    task.cancel()
                    with pytest.raises(asyncio.CancelledError):
                        await task
                    assert released.is_set(), "the cancelled task did not wait for its write"
            return d, emu.count("POST", CREATE)

    try:
        d, creates = asyncio.run(scenario())
    finally:
        other.close()
    stored = outbox.get(d.id)
    assert stored is not None
    assert stored.status is DeliveryStatus.SENDING  # the write went through, after the lock
    assert (d.status, d.attempts) == (stored.status, stored.attempts) == (DeliveryStatus.SENDING, 1)
    assert creates <= 1
    outbox.close()


def test_publish_waits_for_a_locked_postgres_row_off_the_loop(postgres_db: str) -> None:
    outbox = Outbox(postgres_db, prefix=unique_prefix())
    table = f"{outbox.prefix}outbox_deliveries"  # type: ignore[attr-defined]
    other = psycopg.connect(postgres_db, autocommit=False)

    async def scenario() -> tuple[Delivery, float, Ticker, int]:
        with mastodon("a") as (emu, accounts):
            (d,) = outbox.add(Post(text="through the row lock"), accounts[0])

            def take() -> None:
                other.execute(f"SELECT 1 FROM {table} WHERE id = %s FOR UPDATE", (d.id,))

            async with driven(accounts, outbox=outbox) as (client, ticker):
                with held(take, other.rollback) as released:
                    started = time.monotonic()
                    got = await client.deliver(d, accounts[0])
                    took = time.monotonic() - started
                    assert released.is_set()
            return got, took, ticker, emu.count("POST", CREATE)

    try:
        d, took, ticker, creates = asyncio.run(scenario())
        assert took >= HOLD * 0.9, "deliver did not wait for the row: the test proves nothing"
        assert ticker.max_gap < MAX_GAP, f"the event loop was held for {ticker.max_gap:.3f} s"
        assert creates == 1
        assert d.status is DeliveryStatus.SENT, d.error
        stored = outbox.get(d.id)
        assert stored is not None and stored.status is DeliveryStatus.SENT
        assert _statuses(outbox, d) == SENT_ONCE
    finally:
        other.close()
        outbox.close()


def test_postgres_outbox_saves_many_off_the_loop(postgres_db: str) -> None:
    """Publishing to several accounts writes them first in one transaction (asave_many)."""
    outbox = Outbox(postgres_db, prefix=unique_prefix())
    table = f"{outbox.prefix}outbox_deliveries"  # type: ignore[attr-defined]
    other = psycopg.connect(postgres_db, autocommit=False)

    def take() -> None:
        other.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")

    async def scenario() -> tuple[list[Delivery], float, Ticker, int]:
        with mastodon("a", "b") as (emu, accounts):
            async with driven(accounts, outbox=outbox) as (client, ticker):
                with held(take, other.rollback):
                    started = time.monotonic()
                    got = await client.publish(Post(text="two at once"), accounts)
                    took = time.monotonic() - started
            return got, took, ticker, emu.count("POST", CREATE)

    try:
        deliveries, took, ticker, creates = asyncio.run(scenario())
        assert took >= HOLD * 0.9, "publish did not wait for the table: the test proves nothing"
        assert ticker.max_gap < MAX_GAP, f"the event loop was held for {ticker.max_gap:.3f} s"
        assert creates == 2
        for d in deliveries:
            stored = outbox.get(d.id)
            assert stored is not None and stored.status is d.status is DeliveryStatus.SENT
            assert _statuses(outbox, d) == SENT_ONCE
    finally:
        other.close()
        outbox.close()
