"""Governor state in PostgreSQL, for teams that run a database but no Redis.

One row per (scope, name) in ``<prefix>governor``. An update takes a transaction-scoped
advisory lock per scope (in sorted order, so two updates never deadlock), reads the rows,
lets the governor change the entries and writes the changes before COMMIT. Locks, not
``SELECT … FOR UPDATE``: a scope with no row yet has nothing to lock, and two processes
creating the same window at once would both spend its first unit.

Rows carry ``expires_at`` (when their windows, resets and blocks have all passed); expired
rows are deleted now and then by whichever process updates.

`PostgresState.aupdate` is the same transaction over psycopg's ``AsyncConnection`` (for
``AsyncClient``: the event loop never waits on a lock or a round trip); the reading and the
writing of entries are shared by both.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import os
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from brandkit._durations import lock_wait
from brandkit.backends import (
    DEFAULT_PREFIX,
    Schema,
    ServerTimeClock,
    aconnect,
    check_prefix,
    connect,
    migrate,
    redact_url,
    register,
    scrub,
    set_lock_timeout,
    stale,
)
from brandkit.errors import BrandkitError
from brandkit.governor._aio import PerLoop
from brandkit.governor._redis import expires_at
from brandkit.governor._state import Entries, _dump, loaded

if TYPE_CHECKING:
    import psycopg

    from brandkit.governor._slots import Entry

__all__ = ["SCHEMA", "PostgresState"]

T = TypeVar("T")

SCHEMA = register(
    Schema(
        "governor",
        (
            (
                "CREATE TABLE {prefix}governor ("
                " scope text NOT NULL, name text NOT NULL, data text NOT NULL,"
                " expires_at timestamptz NOT NULL,"
                " PRIMARY KEY (scope, name))",
                "CREATE INDEX {prefix}governor_expires ON {prefix}governor (expires_at)",
            ),
        ),
    )
)

_PRUNE_EVERY = 600.0  # seconds between two deletions of expired rows by one process
_PRUNE_BATCH = 1000  # rows deleted at most per pruning
_LOCK = "SELECT pg_advisory_xact_lock(k) FROM unnest(%s::bigint[]) AS k ORDER BY k"


def _lock_key(prefix: str, scope: str) -> int:
    digest = hashlib.blake2b(f"brandkit-gov:{prefix}:{scope}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class PostgresState:
    """Governor state in PostgreSQL, shared by every process on every host that uses the
    same database and prefix.

    ```python
    from brandkit.governor import Governor, PostgresState

    state = PostgresState("postgresql://brandkit@db.internal/brandkit")
    governor = Governor(state, clock=state.clock)  # one clock for all hosts: the database's
    ```

    The table is created (or migrated) when the state opens; ``brandkit db upgrade`` does
    it ahead of time. Each process opens its own connection on first use (a connection
    never crosses a fork); after a failure the next update reconnects.

    `aupdate`, for async code, uses a psycopg ``AsyncConnection`` of its own per event loop
    (opened on first use, one transaction at a time), closed when that loop shuts down
    (``asyncio.run``, ``asyncio.Runner``), or earlier by ``await state.aclose()``.

    Args:
        url: a ``postgresql://`` URL (the password is never shown in messages or the repr).
        prefix: the table prefix (lower-case letters, digits, ``_``).
        timeout: how long an update waits for another process's lock on a budget, in
            seconds (from 0 to 7 days; 0 waits a millisecond): one stopped in the middle of
            an update (a paused VM) holds it until its session ends. Past it the update
            raises `BrandkitError`.

    Raises:
        ConfigurationError: psycopg is not installed, the URL is not a PostgreSQL URL, the
            prefix is invalid, ``timeout`` is not a number of seconds from 0 to 7 days, or
            the database's schema is newer than this brandkit.
        BrandkitError: the server cannot be reached or the schema cannot be created.
    """

    def __init__(self, url: str, *, prefix: str = DEFAULT_PREFIX, timeout: float = 10.0) -> None:
        self.prefix = check_prefix(prefix)
        self.timeout = lock_wait(timeout)
        self._url = url
        self._lock = threading.Lock()
        self._conn: psycopg.Connection[Any] | None = None
        self._pid = -1
        self._pruned = time.monotonic()
        # An AsyncConnection belongs to the loop it was opened on; its lock keeps its
        # transactions one at a time. Opened on first use, reopened after a failure.
        self._aconns: PerLoop[_AsyncSlot] = PerLoop(_AsyncSlot, _AsyncSlot.aclose)
        self.clock = ServerTimeClock(self.server_time)
        """The database's clock, for ``Governor(clock=...)``."""
        with self._lock:
            migrate(self._connect(), SCHEMA, prefix=self.prefix)

    def __repr__(self) -> str:
        return f"PostgresState({redact_url(self._url)!r}, prefix={self.prefix!r})"

    def _connect(self) -> psycopg.Connection[Any]:
        if self._conn is not None and self._pid == os.getpid():
            if not stale(self._conn):
                return self._conn
            # Closed by the server while idle (a restart, idle_session_timeout): a new one.
            self._conn.close()
        conn = connect(self._url)
        try:
            set_lock_timeout(conn, self.timeout)
            conn.commit()  # a SET in a transaction rolled back would not last
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        self._pid = os.getpid()
        return conn

    def _fail(self, exc: Exception) -> BrandkitError:
        conn, self._conn = self._conn, None
        if conn is not None and self._pid == os.getpid():
            conn.close()
        return self._fail_async(exc)

    def server_time(self) -> float:
        """The database's ``clock_timestamp()`` as float seconds since the epoch.

        Raises:
            BrandkitError: the database cannot be reached.
        """
        import psycopg

        with self._lock:
            try:
                conn = self._connect()
                row = conn.execute("SELECT extract(epoch FROM clock_timestamp())").fetchone()
                conn.rollback()
            except psycopg.Error as exc:
                raise self._fail(exc) from None
        assert row is not None
        return float(row[0])

    def update(self, scopes: Sequence[str], change: Callable[[Entries], T]) -> T:
        """See `StateStore.update`.

        Raises:
            BrandkitError: the database failed or cannot be reached.
        """
        import psycopg

        with self._lock:
            try:
                return self._update(scopes, change)
            except psycopg.Error as exc:
                raise self._fail(exc) from None

    def _update(self, scopes: Sequence[str], change: Callable[[Entries], T]) -> T:
        conn = self._connect()
        wanted, keys = self._wanted(scopes)
        # Pipeline mode: BEGIN, the locks and the read leave in one round trip, the writes
        # and COMMIT in another.
        with conn.pipeline(), conn.transaction():
            conn.execute(_LOCK, (keys,))
            rows = conn.execute(self._sql_read, (wanted,)).fetchall()
            result, drops, writes = _changed(rows, wanted, change)
            with conn.cursor() as cur:
                if drops:
                    cur.executemany(self._sql_delete, drops)
                if writes:
                    cur.executemany(self._sql_write, writes)
        if self._prune_due():
            self._prune(conn)
        return result

    async def aupdate(self, scopes: Sequence[str], change: Callable[[Entries], T]) -> T:
        """`update` for async code, over psycopg's ``AsyncConnection``: the same transaction
        and locks, without blocking the event loop.

        Raises:
            BrandkitError: the database failed or cannot be reached.
        """
        import psycopg

        slot = await self._aconns.get()
        async with slot.lock:
            try:
                if slot.conn is None or stale(slot.conn):
                    # Closed by the server while idle (a restart, idle_session_timeout).
                    old, slot.conn = slot.conn, None
                    if old is not None:
                        await old.close()
                    slot.conn = await self._aconnect()
                return await self._aupdate(slot.conn, scopes, change)
            except psycopg.Error as exc:
                conn, slot.conn = slot.conn, None
                if conn is not None:
                    await conn.close()
                raise self._fail_async(exc) from None

    async def _aconnect(self) -> psycopg.AsyncConnection[Any]:
        """A new async connection whose lock waits end after ``timeout``."""
        conn = await aconnect(self._url)
        try:
            # set_lock_timeout's statement; its connection is a synchronous one.
            ms = max(1, math.ceil(self.timeout * 1000))
            await conn.execute(f"SET lock_timeout = {ms}")
            await conn.commit()
        except BaseException:
            await conn.close()
            raise
        return conn

    async def _aupdate(
        self,
        conn: psycopg.AsyncConnection[Any],
        scopes: Sequence[str],
        change: Callable[[Entries], T],
    ) -> T:
        wanted, keys = self._wanted(scopes)
        async with conn.pipeline(), conn.transaction():
            await conn.execute(_LOCK, (keys,))
            cur = await conn.execute(self._sql_read, (wanted,))
            rows = await cur.fetchall()
            result, drops, writes = _changed(rows, wanted, change)
            async with conn.cursor() as wcur:
                if drops:
                    await wcur.executemany(self._sql_delete, drops)
                if writes:
                    await wcur.executemany(self._sql_write, writes)
        if self._prune_due():
            async with conn.transaction():
                await conn.execute(self._sql_prune, (_PRUNE_BATCH,))
        return result

    def _fail_async(self, exc: Exception) -> BrandkitError:
        from psycopg import errors as pg_errors

        where = f"governor state {redact_url(self._url)}"
        if isinstance(exc, pg_errors.LockNotAvailable):
            return BrandkitError(
                f"{where}: another process held the lock on this budget longer than "
                f"{self.timeout:g} s (PostgresState(timeout=...)); no request was granted"
            )
        detail = scrub(f"{type(exc).__name__}: {exc}", self._url)
        return BrandkitError(f"{where} failed: {detail}")

    def _wanted(self, scopes: Sequence[str]) -> tuple[list[str], list[int]]:
        """The scopes, and their locks: one per scope, always taken in ascending key order
        so that two updates of overlapping scopes never deadlock (PostgreSQL evaluates a
        volatile target list after ORDER BY)."""
        wanted = sorted(set(scopes))
        return wanted, sorted({_lock_key(self.prefix, scope) for scope in wanted})

    @property
    def _sql_read(self) -> str:
        return f"SELECT scope, name, data FROM {self.prefix}governor WHERE scope = ANY(%s)"  # noqa: S608 - prefix validated

    @property
    def _sql_delete(self) -> str:
        return f"DELETE FROM {self.prefix}governor WHERE scope = %s AND name = %s"  # noqa: S608

    @property
    def _sql_write(self) -> str:
        return (
            f"INSERT INTO {self.prefix}governor (scope, name, data, expires_at)"  # noqa: S608
            " VALUES (%s, %s, %s, %s) ON CONFLICT (scope, name) DO UPDATE"
            " SET data = excluded.data, expires_at = excluded.expires_at"
        )

    @property
    def _sql_prune(self) -> str:
        table = f"{self.prefix}governor"
        return (
            f"DELETE FROM {table} WHERE ctid IN (SELECT ctid FROM {table}"  # noqa: S608
            " WHERE expires_at < now() LIMIT %s)"
        )

    def _prune_due(self) -> bool:
        if time.monotonic() - self._pruned > _PRUNE_EVERY:
            self._pruned = time.monotonic()
            return True
        return False

    def _prune(self, conn: psycopg.Connection[Any]) -> int:
        """Delete up to 1,000 expired rows (an expired row says nothing the governor would not
        assume without it, so deleting it under a concurrent update is harmless)."""
        with conn.transaction():
            cur = conn.execute(self._sql_prune, (_PRUNE_BATCH,))
        return cur.rowcount

    def entries(self, scope: str) -> dict[str, Entry]:
        """The entries of ``scope`` (for inspection and tests)."""
        return self.update([scope], lambda found: {name: e for (_, name), e in found.items()})

    def __enter__(self) -> PostgresState:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def aclose(self) -> None:
        """Close the ``AsyncConnection`` of the running event loop now (if `aupdate` opened
        one; it would be closed with its loop anyway). The synchronous connection stays
        open until `close`."""
        await self._aconns.aclose()

    def close(self) -> None:
        """Close this process's connection (and the async connections of event loops that
        are not running; one of a running loop is closed by `aclose` or with its loop)."""
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None
        self._aconns.close_idle()


class _AsyncSlot:
    """The async connection of one event loop, and the lock that keeps its transactions
    one at a time."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.conn: psycopg.AsyncConnection[Any] | None = None

    async def aclose(self) -> None:
        async with self.lock:
            conn, self.conn = self.conn, None
            if conn is not None:
                await conn.close()


def _changed(
    rows: Sequence[tuple[Any, ...]], wanted: Sequence[str], change: Callable[[Entries], T]
) -> tuple[T, list[tuple[str, str]], list[tuple[str, str, str, datetime]]]:
    """``change`` applied to the entries of ``rows``: its result, the rows to delete (entries
    that cannot be read back) and the rows to write."""
    stored, entries, drops = loaded(rows)
    result = change(entries)
    now = time.time()
    writes: list[tuple[str, str, str, datetime]] = []
    for key, entry in entries.items():
        if key[0] not in wanted:
            continue  # change() may only add entries under the scopes it was given
        data = _dump(entry)
        if data is None:
            drops.append(key)
        elif stored.get(key) != data:
            writes.append((key[0], key[1], data, _expiry(entry, now)))
    return result, drops, writes


def _expiry(entry: Entry, now: float) -> datetime:
    end = min(expires_at(entry, now), now + 8 * 86400.0) + 60.0
    return datetime.fromtimestamp(end, UTC)
