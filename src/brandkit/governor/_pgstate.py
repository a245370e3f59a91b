"""Governor state in PostgreSQL, for teams that run a database but no Redis.

One row per (scope, name) in ``<prefix>governor``. An update takes a transaction-scoped
advisory lock per scope (in sorted order, so two updates never deadlock), reads the rows,
lets the governor change the entries and writes the changes before COMMIT. Locks, not
``SELECT … FOR UPDATE``: a scope with no row yet has nothing to lock, and two processes
creating the same window at once would both spend its first unit.

Rows carry ``expires_at`` (when their windows, resets and blocks have all passed); expired
rows are deleted now and then by whichever process updates.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from brandkit.backends import (
    DEFAULT_PREFIX,
    Schema,
    ServerTimeClock,
    check_prefix,
    connect,
    migrate,
    redact_url,
    register,
    scrub,
)
from brandkit.errors import BrandkitError
from brandkit.governor._redis import expires_at
from brandkit.governor._state import Entries, _dump, _load

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

    Args:
        url: a ``postgresql://`` URL (the password is never shown in messages or the repr).
        prefix: the table prefix (lower-case letters, digits, ``_``).

    Raises:
        ConfigurationError: psycopg is not installed, the URL is not a PostgreSQL URL, the
            prefix is invalid, or the database's schema is newer than this brandkit.
        BrandkitError: the server cannot be reached or the schema cannot be created.
    """

    def __init__(self, url: str, *, prefix: str = DEFAULT_PREFIX) -> None:
        self.prefix = check_prefix(prefix)
        self._url = url
        self._lock = threading.Lock()
        self._conn: psycopg.Connection[Any] | None = None
        self._pid = -1
        self._pruned = time.monotonic()
        self.clock = ServerTimeClock(self.server_time)
        """The database's clock, for ``Governor(clock=...)``."""
        with self._lock:
            migrate(self._connect(), SCHEMA, prefix=self.prefix)

    def __repr__(self) -> str:
        return f"PostgresState({redact_url(self._url)!r}, prefix={self.prefix!r})"

    def _connect(self) -> psycopg.Connection[Any]:
        if self._conn is not None and self._pid == os.getpid() and not self._conn.closed:
            return self._conn
        self._conn = connect(self._url)
        self._pid = os.getpid()
        return self._conn

    def _fail(self, exc: Exception) -> BrandkitError:
        conn, self._conn = self._conn, None
        if conn is not None and self._pid == os.getpid():
            conn.close()
        detail = scrub(f"{type(exc).__name__}: {exc}", self._url)
        return BrandkitError(f"governor state {redact_url(self._url)} failed: {detail}")

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
        table = f"{self.prefix}governor"
        wanted = sorted(set(scopes))
        # Pipeline mode: BEGIN, the locks and the read leave in one round trip, the writes
        # and COMMIT in another.
        with conn.pipeline(), conn.transaction():
            # One lock per scope, always taken in ascending key order so that two updates
            # of overlapping scopes never deadlock (PostgreSQL evaluates a volatile target
            # list after ORDER BY).
            keys = sorted({_lock_key(self.prefix, scope) for scope in wanted})
            conn.execute(
                "SELECT pg_advisory_xact_lock(k) FROM unnest(%s::bigint[]) AS k ORDER BY k",
                (keys,),
            )
            rows = conn.execute(
                f"SELECT scope, name, data FROM {table} WHERE scope = ANY(%s)",  # noqa: S608 - prefix validated
                (wanted,),
            ).fetchall()
            stored = {(scope, name): data for scope, name, data in rows}
            entries: Entries = {}
            drops: list[tuple[str, str]] = []
            for key, text in stored.items():
                entry = _load(text)
                if entry is None:
                    drops.append(key)
                else:
                    entries[key] = entry
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
            with conn.cursor() as cur:
                if drops:
                    cur.executemany(
                        f"DELETE FROM {table} WHERE scope = %s AND name = %s",  # noqa: S608
                        drops,
                    )
                if writes:
                    cur.executemany(
                        f"INSERT INTO {table} (scope, name, data, expires_at)"  # noqa: S608
                        " VALUES (%s, %s, %s, %s) ON CONFLICT (scope, name) DO UPDATE"
                        " SET data = excluded.data, expires_at = excluded.expires_at",
                        writes,
                    )
        if time.monotonic() - self._pruned > _PRUNE_EVERY:
            self._pruned = time.monotonic()
            self._prune(conn)
        return result

    def _prune(self, conn: psycopg.Connection[Any]) -> int:
        """Delete up to 1,000 expired rows (an expired row says nothing the governor would not
        assume without it, so deleting it under a concurrent update is harmless)."""
        table = f"{self.prefix}governor"
        with conn.transaction():
            cur = conn.execute(
                f"DELETE FROM {table} WHERE ctid IN (SELECT ctid FROM {table}"  # noqa: S608
                " WHERE expires_at < now() LIMIT %s)",
                (_PRUNE_BATCH,),
            )
        return cur.rowcount

    def entries(self, scope: str) -> dict[str, Entry]:
        """The entries of ``scope`` (for inspection and tests)."""
        return self.update([scope], lambda found: {name: e for (_, name), e in found.items()})

    def __enter__(self) -> PostgresState:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close this process's connection."""
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None


def _expiry(entry: Entry, now: float) -> datetime:
    end = min(expires_at(entry, now), now + 8 * 86400.0) + 60.0
    return datetime.fromtimestamp(end, UTC)
