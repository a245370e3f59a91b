"""The inbox on PostgreSQL: the same messages, cursors, states and queries as the SQLite file,
for syncs and teams on several machines.

`PostgresInbox` is an [`Inbox`][brandkit.Inbox]: it inherits every rule of the SQLite inbox
(what a sync stores, how a cursor moves with its page, the filters, the response times) and
replaces only what SQL dialects do differently: how the insert and the update of an edited
message count their rows, the day of a timestamp, the connection and its errors. The inbox's
statements run through a cursor that turns their ``?`` placeholders into psycopg's and
prefixes their tables.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from brandkit._durations import lock_wait
from brandkit.backends import (
    DEFAULT_PREFIX,
    Schema,
    check_prefix,
    kind_of,
    migrate,
    redact_url,
    register,
    set_lock_timeout,
    stale,
)
from brandkit.backends import connect as pg_connect
from brandkit.errors import BrandkitError, ConfigurationError, OutboxConflict
from brandkit.inbox._store import _EDIT, _INSERT, Inbox
from brandkit.outbox._postgres import _first_line

try:
    import psycopg
    from psycopg import errors as pg_errors
except ImportError:  # pragma: no cover - the extra is not installed
    psycopg = None  # type: ignore[assignment]

__all__ = ["PostgresInbox"]

# The inbox's tables, version by version (``brandkit db upgrade`` applies them too). Times are
# microseconds since the epoch and text is compared byte by byte, as in the SQLite file, so
# that every query is shared and answers the same.
SCHEMA = register(
    Schema(
        "inbox",
        (
            (
                """CREATE TABLE {prefix}inbox_messages (
                    key TEXT PRIMARY KEY,
                    platform TEXT NOT NULL,
                    account TEXT NOT NULL,
                    id TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    author TEXT NOT NULL,
                    created_at BIGINT NOT NULL,
                    fetched_at BIGINT NOT NULL,
                    status TEXT NOT NULL DEFAULT 'new',
                    assignee TEXT,
                    our_post TEXT,
                    conversation TEXT,
                    replied_at BIGINT,
                    reply_delivery TEXT,
                    data TEXT NOT NULL
                )""",
                "CREATE INDEX {prefix}inbox_messages_status "
                "ON {prefix}inbox_messages (status, created_at)",
                "CREATE INDEX {prefix}inbox_messages_account "
                "ON {prefix}inbox_messages (account, created_at)",
                "CREATE INDEX {prefix}inbox_messages_created "
                "ON {prefix}inbox_messages (created_at)",
                """CREATE TABLE {prefix}inbox_cursors (
                    account TEXT PRIMARY KEY,
                    cursor TEXT,
                    synced_at BIGINT NOT NULL,
                    error TEXT
                )""",
            ),
            # 2: text compares byte by byte (COLLATE "C"), as in the SQLite file, so that
            # orderings (ties on created_at, accounts) and limits give the same answers
            # whatever the database's locale. Indexes on these columns are rebuilt.
            (
                "ALTER TABLE {prefix}inbox_messages "
                + ", ".join(
                    f'ALTER COLUMN {column} TYPE TEXT COLLATE "C"'
                    for column in (
                        "key",
                        "platform",
                        "account",
                        "id",
                        "kind",
                        "author",
                        "status",
                        "assignee",
                        "our_post",
                        "conversation",
                        "reply_delivery",
                        "data",
                    )
                ),
                "ALTER TABLE {prefix}inbox_cursors "
                'ALTER COLUMN account TYPE TEXT COLLATE "C", '
                'ALTER COLUMN cursor TYPE TEXT COLLATE "C", '
                'ALTER COLUMN error TYPE TEXT COLLATE "C"',
            ),
            # 3: when the author last edited each message (microseconds; NULL: never, or
            # stored before), so that only a later edit replaces a stored message's text.
            ("ALTER TABLE {prefix}inbox_messages ADD COLUMN IF NOT EXISTS edited_at BIGINT",),
        ),
    )
)

# The inbox's tables and the listener's (brandkit.listening keeps its own beside them, and
# its index), so that each prefix has its own of each.
_TABLES = re.compile(
    r"(?<![A-Za-z0-9_])(?:inbox_(?:messages|cursors)"
    r"|listening_(?:queries|cursors|hits_time|hits|spend|hashtags))\b"
)


@functools.lru_cache(maxsize=64)
def _translate(sql: str, prefix: str) -> str:
    """An SQLite inbox statement for PostgreSQL: ``?`` → ``%s``, tables prefixed."""
    return _TABLES.sub(lambda m: prefix + m.group(0), sql.replace("?", "%s"))


class _Statements:
    """A psycopg cursor that runs the SQLite inbox's statements (`_translate`)."""

    def __init__(self, cursor: Any, prefix: str) -> None:
        self._cursor = cursor
        self._prefix = prefix

    def execute(self, sql: str, args: Any = None) -> Any:
        self._cursor.execute(_translate(sql, self._prefix), args or None)
        return self._cursor

    def executemany(self, sql: str, rows: Any) -> Any:
        self._cursor.executemany(_translate(sql, self._prefix), rows)
        return self._cursor

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)


class PostgresInbox(Inbox):
    """The audience's messages in a PostgreSQL database, shared by syncs and teams on many
    machines.

    `Inbox("postgresql://…")` returns one; the API and the results are those of the SQLite
    [`Inbox`][brandkit.Inbox]. Several processes may sync the same accounts at once: a
    message is stored once (``ON CONFLICT``), and each page's messages and its
    cursor are written in one transaction.

    ```python
    inbox = Inbox("postgresql://brandkit@db.internal/brandkit", prefix="acme_")
    ```

    Args:
        url: a libpq URL (``postgresql://user:password@host:port/database?sslmode=…``).
        clock: the current time (tests pass a fake).
        timeout: seconds to connect, and to wait for a row another process holds locked,
            before giving up with [`OutboxConflict`][brandkit.errors.OutboxConflict].
        prefix: put before every table name (lower-case letters, digits, ``_``; default
            ``brandkit_``), so that several inboxes, or other applications, share one
            database.

    Raises:
        ConfigurationError: psycopg is not installed, the URL or prefix is malformed, the
            server cannot be reached or refuses the login, the tables belong to a newer
            brandkit, or ``timeout`` is not a number of seconds from 0 to 7 days.
    """

    _day = "to_char(to_timestamp(created_at / 1000000.0) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
    _blocking = True
    _row_lock = " FOR UPDATE"

    def __init__(
        self,
        url: str = "",
        *,
        clock: Callable[[], datetime] | None = None,
        timeout: float = 10.0,
        prefix: str | None = None,
    ) -> None:
        url = str(url)
        prefix = DEFAULT_PREFIX if prefix is None else prefix
        if kind_of(url) != "postgresql":
            raise ConfigurationError(f"{redact_url(url)} is not a postgresql:// URL")
        self.prefix = check_prefix(prefix)
        self.clock = clock or (lambda: datetime.now(UTC))
        self.url = url
        self.path = redact_url(url)
        self.timeout = lock_wait(timeout)
        self._lock = threading.RLock()
        self._closed = False
        self._conn: Any = None
        try:
            self._conn = self._connect()
        except BrandkitError as exc:
            raise ConfigurationError(str(exc)) from None
        try:
            with self._lock, self._errors(opening=True):
                migrate(self._conn, SCHEMA, prefix=prefix)
        except BaseException:
            self._conn.close()
            raise

    def _migrate_beside(self, schema: Schema) -> None:
        """Bring ``schema`` (a component kept beside the inbox, such as the listener's) up to
        date under the inbox's table prefix.

        Raises:
            ConfigurationError: the tables belong to a newer brandkit.
            BrandkitError: the server failed or a migration failed (nothing is changed).
        """
        with self._lock, self._errors():
            migrate(self._connection(), schema, prefix=self.prefix)

    def _connect(self) -> Any:
        """A new autocommit connection (transactions are explicit) with lock waits bounded."""
        conn = pg_connect(self.url, autocommit=True)
        try:
            set_lock_timeout(conn, self.timeout)
        except BaseException:
            conn.close()
            raise
        return conn

    def _connection(self) -> Any:
        """The connection, opened again if the last one broke or the server closed it while
        it was idle (a restart, a failover, ``idle_session_timeout``: `stale`)."""
        if self._closed:
            raise BrandkitError(f"the inbox {self.path!r} is closed: open it again")
        if self._conn is None or stale(self._conn):
            if self._conn is not None:
                self._conn.close()
            self._conn = self._connect()
        return self._conn

    @contextmanager
    def _errors(self, *, opening: bool = False) -> Iterator[None]:
        """psycopg's failures as brandkit's errors: a row held past ``timeout`` or a
        deadlock is an `OutboxConflict`; anything else a `BrandkitError` (a
        `ConfigurationError` while ``opening``). Messages name the URL without password."""
        try:
            yield
        except (pg_errors.LockNotAvailable, pg_errors.DeadlockDetected) as exc:
            raise OutboxConflict(
                f"the inbox {self.path!r}: another process holds the same rows "
                f"({_first_line(exc)}); nothing was written: try again"
            ) from None
        except psycopg.Error as exc:
            if isinstance(exc, psycopg.OperationalError) and self._conn is not None:
                # The server went away: the next call connects again.
                self._conn.close()
            what = ConfigurationError if opening else BrandkitError
            raise what(f"inbox {self.path!r}: {_first_line(exc)}") from None

    @contextmanager
    def _tx(self) -> Iterator[Any]:
        with self._lock, self._errors():
            conn = self._connection()
            with conn.transaction(), conn.cursor() as cur:
                yield _Statements(cur, self.prefix)

    @contextmanager
    def _reading(self) -> Iterator[Any]:
        with self._lock, self._errors(), self._connection().cursor() as cur:
            yield _Statements(cur, self.prefix)

    def _has_table_beside(self, table: str) -> bool:
        with self._reading() as db:
            # to_regclass follows the connection's search_path, as the inbox's tables do.
            row = db.execute("SELECT to_regclass(?)", (f"{self.prefix}{table}",)).fetchone()
        return row is not None and row[0] is not None

    def _insert_rows(self, db: Any, rows: list[tuple[Any, ...]]) -> int:
        if not rows:
            return 0
        db.executemany(_INSERT, rows)
        # psycopg sums executemany's row counts: the rows inserted, or upgraded from found.
        return int(db.rowcount)

    def _update_rows(self, db: Any, rows: list[tuple[Any, ...]]) -> int:
        db.executemany(_EDIT, rows)
        return int(db.rowcount)

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._closed = True
            if self._conn is not None:
                self._conn.close()

    def __repr__(self) -> str:
        return f"PostgresInbox({self.path!r})"
