"""The credential store in PostgreSQL, for processes on several hosts.

The records are sealed exactly as `EncryptedStore` seals them (AES-256-GCM, a fresh nonce
per record, bound to its key); only the keys (account names) are readable in the table.
`PostgresStore.lock` is a session advisory lock taken on a connection of its own, so that it
holds across hosts and is let go by the server when its holder's connection dies.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from brandkit.auth._core import FINISH_MEMORY
from brandkit.auth.store import (
    _CLAIM_SAMPLE,
    LOCK_WAIT,
    Record,
    _check_digest,
    _locked_past,
    _Sealer,
)
from brandkit.backends import (
    DEFAULT_PREFIX,
    Schema,
    check_prefix,
    connect,
    migrate,
    redact_url,
    register,
    scrub,
    set_lock_timeout,
    stale,
)
from brandkit.errors import BrandkitError, ConfigurationError

if TYPE_CHECKING:
    import psycopg

__all__ = ["SCHEMA", "PostgresStore"]

SCHEMA = register(
    Schema(
        "credentials",
        (
            (
                "CREATE TABLE {prefix}credential_meta (key text PRIMARY KEY, value text NOT NULL)",
                "CREATE TABLE {prefix}credentials ("
                " key text PRIMARY KEY, nonce bytea NOT NULL, data bytea NOT NULL,"
                " updated_at timestamptz NOT NULL DEFAULT now())",
            ),
            (
                "CREATE TABLE {prefix}finished_authorizations ("
                " digest bytea PRIMARY KEY, spent boolean NOT NULL,"
                " at timestamptz NOT NULL DEFAULT now())",
            ),
        ),
    )
)


ROW_WAIT = 10.0
"""How long a read or write of a record waits for a row another session keeps locked
(seconds): the store's own statements hold one for a moment only; a transaction left open
elsewhere would have stopped every refresh of that account for good."""

IDLE_LOCK_CONNECTIONS = 4
"""Lock connections a store keeps open between holds: a refresh that polls a busy key (and
every later hold) reuses one instead of opening a connection per poll."""


def _lock_key(prefix: str, key: str) -> int:
    """The advisory lock of one account (a signed 64-bit key; the prefix keeps stores that
    share a database apart)."""
    digest = hashlib.blake2b(f"brandkit-cred:{prefix}:{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class PostgresStore:
    """Credentials in a PostgreSQL table, each record encrypted with AES-256-GCM as in
    `EncryptedStore` (same key handling: ``key=``, ``$BRANDKIT_STORE_KEY`` or the OS
    keyring).

    ```python
    store = PostgresStore("postgresql://brandkit@db.internal/brandkit")  # key from the env
    account = load_account(store, "acme-x")
    ```

    The tables are created (or migrated) when the store opens; ``brandkit db upgrade``
    does it ahead of time. `lock` holds an account against every process on every host
    that uses the same database and prefix.

    Args:
        url: a ``postgresql://`` URL (its password is never shown in messages or the repr).
        key: the 32-byte key, raw or base64; ``None``: ``$BRANDKIT_STORE_KEY``, then the
            OS keyring.
        prefix: the table prefix (lower-case letters, digits, ``_``).

    Raises:
        ConfigurationError: no key or a bad one, psycopg or cryptography missing, not a
            PostgreSQL URL, a bad prefix, or a schema newer than this brandkit.
        WrongStoreKey: the table was made with another key.
        BrandkitError: the server cannot be reached.
    """

    def __init__(
        self, url: str, key: str | bytes | None = None, *, prefix: str = DEFAULT_PREFIX
    ) -> None:
        self.prefix = check_prefix(prefix)
        # SecretStr: the URL's password stays out of reprs of the store's attributes.
        self._url = SecretStr(url)
        self._sealer = _Sealer(key, "PostgresStore")
        self._mutex = threading.Lock()
        self._conn: psycopg.Connection[Any] | None = None
        self._pid = -1
        # Lock connections between holds (they hold no lock), with the process that opened
        # each: a connection never crosses a fork.
        self._idle: list[tuple[int, psycopg.Connection[Any]]] = []
        self._idle_mutex = threading.Lock()
        with self._mutex:
            try:
                migrate(self._connect(), SCHEMA, prefix=self.prefix)
                self._check_key()
            except BaseException:
                self._drop()
                raise

    def __repr__(self) -> str:
        return (
            f"PostgresStore({redact_url(self._url.get_secret_value())!r}, prefix={self.prefix!r})"
        )

    def __enter__(self) -> PostgresStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close this process's connections (a later call opens new ones)."""
        with self._mutex:
            self._drop()
        with self._idle_mutex:
            idle, self._idle = self._idle, []
        for pid, conn in idle:
            if pid == os.getpid():
                conn.close()

    # -- connection ------------------------------------------------------------------------

    def _connect(self) -> psycopg.Connection[Any]:
        # One connection per process: a connection never crosses a fork.
        if self._conn is not None and self._pid == os.getpid():
            if not stale(self._conn):
                return self._conn
            # Closed by the server while idle (a restart, idle_session_timeout): a new one.
            self._conn.close()
        conn = connect(self._url.get_secret_value(), autocommit=True)
        try:
            set_lock_timeout(conn, ROW_WAIT)
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        self._pid = os.getpid()
        return conn

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and self._pid == os.getpid():
            conn.close()

    def _fail(self, exc: Exception) -> BrandkitError:
        from psycopg import errors as pg_errors

        self._drop()
        if isinstance(exc, pg_errors.LockNotAvailable):
            return BrandkitError(
                f"{self!r}: another session held the record's row longer than {ROW_WAIT:g} s "
                "(a transaction left open?); nothing was changed: try again"
            )
        detail = scrub(f"{type(exc).__name__}: {exc}", self._url.get_secret_value())
        return BrandkitError(f"{self!r} failed: {detail}")

    def _run(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        import psycopg

        with self._mutex:
            try:
                cur = self._connect().execute(sql, params)
                return cur.fetchall() if cur.description is not None else []
            except psycopg.Error as exc:
                raise self._fail(exc) from None

    def _check_key(self) -> None:
        """Refuse a wrong key when opening: the table keeps a known text sealed with the
        key it was made with."""
        conn = self._connect()
        found = conn.execute(
            f"SELECT value FROM {self.prefix}credential_meta WHERE key = 'check'"  # noqa: S608
        ).fetchone()
        if found is None:
            # No check value yet: a table that lost it must not be claimed by a wrong key.
            sample = conn.execute(
                f"SELECT key, nonce, data FROM {self.prefix}credentials LIMIT {_CLAIM_SAMPLE}"  # noqa: S608
            ).fetchall()
            self._sealer.claims([(k, bytes(n), bytes(d)) for k, n, d in sample], repr(self))
        conn.execute(
            f"INSERT INTO {self.prefix}credential_meta (key, value) VALUES ('check', %s)"  # noqa: S608 - prefix validated
            " ON CONFLICT (key) DO NOTHING",
            (self._sealer.check_value(),),
        )
        row = conn.execute(
            f"SELECT value FROM {self.prefix}credential_meta WHERE key = 'check'"  # noqa: S608
        ).fetchone()
        assert row is not None
        self._sealer.verify(str(row[0]), repr(self))

    # -- records -----------------------------------------------------------------------------

    def get(self, key: str) -> Record | None:
        """The record under ``key``, decrypted; ``None`` if there is none.

        Raises:
            WrongStoreKey: the record does not decrypt with this key (changed, or moved
                from another key).
            BrandkitError: the database cannot be reached.
        """
        rows = self._run(
            f"SELECT nonce, data FROM {self.prefix}credentials WHERE key = %s",  # noqa: S608
            (key,),
        )
        if not rows:
            return None
        return self._sealer.open_record(key, bytes(rows[0][0]), bytes(rows[0][1]), repr(self))

    def put(self, key: str, data: Mapping[str, Any]) -> None:
        """Encrypt ``data`` (JSON-able, e.g. ``creds.to_dict()``) and store it under
        ``key``, replacing what was there.

        Raises:
            ConfigurationError: an empty key, or data that is not JSON-able or larger
                than 1 MiB (the message never quotes the data).
            BrandkitError: the database cannot be reached.
        """
        nonce, sealed = self._sealer.seal_record(key, data, repr(self))
        self._run(
            f"INSERT INTO {self.prefix}credentials (key, nonce, data) VALUES (%s, %s, %s)"  # noqa: S608
            " ON CONFLICT (key) DO UPDATE SET nonce = excluded.nonce, data = excluded.data,"
            " updated_at = now()",
            (key, nonce, sealed),
        )

    def remove(self, key: str) -> None:
        """Forget ``key`` (nothing happens if it is not there).

        Raises:
            BrandkitError: the database cannot be reached.
        """
        self._run(f"DELETE FROM {self.prefix}credentials WHERE key = %s", (key,))  # noqa: S608

    def keys(self) -> list[str]:
        """The keys held, sorted.

        Raises:
            BrandkitError: the database cannot be reached.
        """
        rows = self._run(f"SELECT key FROM {self.prefix}credentials ORDER BY key")  # noqa: S608
        return [str(r[0]) for r in rows]

    # -- finished authorizations ----------------------------------------------------------------

    def claim_finish(self, digest: bytes) -> bool:
        """Claim the finish of the authorization whose ``state`` has ``digest`` (its SHA-256)
        for the caller, atomically among every process on every host using the table;
        claims older than `FINISH_MEMORY` (by the server's clock) are forgotten. Pass the
        store as a flow's ``once_in=`` rather than calling this.

        Returns:
            ``False``: another finish claimed it first (it is under way or done).

        Raises:
            ConfigurationError: ``digest`` is not 32 bytes.
            BrandkitError: the database cannot be reached.
        """
        _check_digest(digest)
        table = f"{self.prefix}finished_authorizations"
        self._run(
            f"DELETE FROM {table} WHERE at < now() - make_interval(secs => %s)",  # noqa: S608
            (FINISH_MEMORY,),
        )
        added = self._run(
            f"INSERT INTO {table} (digest, spent) VALUES (%s, false)"  # noqa: S608
            " ON CONFLICT (digest) DO NOTHING RETURNING digest",
            (digest,),
        )
        return bool(added)

    def settle_finish(self, digest: bytes, *, spent: bool) -> None:
        """End a `claim_finish`: keep it for good when the code was ``spent``, otherwise let
        it go so that the finish can be tried again.

        Raises:
            ConfigurationError: ``digest`` is not 32 bytes.
            BrandkitError: the database cannot be reached.
        """
        _check_digest(digest)
        table = f"{self.prefix}finished_authorizations"
        if spent:
            self._run(f"UPDATE {table} SET spent = true WHERE digest = %s", (digest,))  # noqa: S608
        else:
            self._run(
                f"DELETE FROM {table} WHERE digest = %s AND NOT spent",  # noqa: S608
                (digest,),
            )

    # -- lock ---------------------------------------------------------------------------------

    def lock(self, key: str, *, timeout: float | None = None) -> AbstractContextManager[None]:
        """Hold ``key`` against every other holder (threads, processes, hosts) until the
        block ends: ``pg_advisory_lock`` on a connection of its own, which the server lets
        go if the holder dies.

        Raises:
            ConfigurationError: an empty key.
            CredentialStoreLocked: another holder kept it past ``timeout`` (default
                `LOCK_WAIT`).
            BrandkitError: the database cannot be reached.
        """
        return self._hold(key, LOCK_WAIT if timeout is None else timeout)

    def _lock_connection(self) -> tuple[psycopg.Connection[Any], bool]:
        """A connection for one hold: an idle one of this process (``True``), else a new one."""
        with self._idle_mutex:
            while self._idle:
                pid, conn = self._idle.pop()
                # A parent's connection is left alone: closing it would end the parent's
                # session, whose socket this process shares.
                if pid == os.getpid():
                    if not stale(conn):
                        return conn, True
                    conn.close()
        return connect(self._url.get_secret_value(), autocommit=True), False

    def _park(self, conn: psycopg.Connection[Any]) -> None:
        """Keep ``conn``, which holds no lock, for the next hold (or close it)."""
        with self._idle_mutex:
            if not conn.closed and len(self._idle) < IDLE_LOCK_CONNECTIONS:
                self._idle.append((os.getpid(), conn))
                return
        conn.close()

    def _try_lock(self, conn: psycopg.Connection[Any], lock: int, timeout: float) -> bool:
        from psycopg import errors as pg_errors

        if timeout <= 0:
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", (lock,)).fetchone()
            return bool(row and row[0])
        # lock_timeout bounds the wait on the server's side.
        set_lock_timeout(conn, timeout)
        try:
            conn.execute("SELECT pg_advisory_lock(%s)", (lock,))
        except pg_errors.LockNotAvailable:
            return False
        return True

    @contextmanager
    def _hold(self, key: str, timeout: float) -> Iterator[None]:
        import psycopg

        if not key:
            raise ConfigurationError(f"{self!r}: a key must not be empty")
        lock = _lock_key(self.prefix, key)
        # A connection per hold: session advisory locks are re-entrant within a session, so
        # two threads sharing one connection would not exclude each other.
        conn, reused = self._lock_connection()
        try:
            try:
                got = self._try_lock(conn, lock, timeout)
            except psycopg.OperationalError:
                if not reused:
                    raise
                # An idle connection the server has since closed (a restart, an idle
                # timeout): once more on a new one.
                conn.close()
                conn = connect(self._url.get_secret_value(), autocommit=True)
                got = self._try_lock(conn, lock, timeout)
        except psycopg.Error as exc:
            conn.close()
            detail = scrub(f"{type(exc).__name__}: {exc}", self._url.get_secret_value())
            raise BrandkitError(f"{self!r}: taking the lock failed: {detail}") from None
        if not got:
            self._park(conn)  # it holds nothing: the next poll of this key uses it
            raise _locked_past(key, repr(self), timeout)
        try:
            yield
        finally:
            try:
                row = conn.execute("SELECT pg_advisory_unlock(%s)", (lock,)).fetchone()
                unlocked = bool(row and row[0])
            except psycopg.Error:
                unlocked = False
            if unlocked:
                self._park(conn)
            else:
                # Closing the session lets the lock go whatever happened.
                conn.close()
