"""What brandkit's SQLite stores (outbox, inbox, metrics) share: private files, opening in WAL
mode, versioned schemas, transactions, and SQLite's failures as brandkit's typed errors."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar, Self

from brandkit.errors import BrandkitError, ConfigurationError, OutboxConflict

__all__ = ["SQLiteStore", "begin_immediate", "create_private", "retry_locked"]


def create_private(path: str) -> None:
    """Create a new database file readable by its owner only (0600) if it does not exist.

    Posts not yet public, audience messages and metrics are private. SQLite gives its
    ``-wal`` and ``-shm`` files the database file's permissions, so they are private too.
    An existing file is left as it is.
    """
    if path in (":memory:", "") or path.startswith("file:"):
        return
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)


def begin_immediate(db: sqlite3.Connection, timeout: float) -> None:
    """``BEGIN IMMEDIATE`` on ``db``, waiting up to ``timeout`` seconds for another
    connection's write lock in short steps.

    SQLite's own busy handler sleeps 1, 2, 5, 10, 15, 20, 25 ms... between attempts, so a
    writer that finds the lock taken often sleeps well past its release: with several
    worker processes on one file, most of their waiting was those oversleeps. Here a wait
    ends at most 2 ms after the release. Past ``timeout`` it raises sqlite3's "database is
    locked" ``OperationalError``, as the busy handler would. The connection's own busy
    timeout is as it was afterwards.
    """
    # Off for these attempts only: reads keep it (WAL readers rarely wait, but may).
    kept = int(db.execute("PRAGMA busy_timeout").fetchone()[0])
    db.execute("PRAGMA busy_timeout = 0")
    try:
        _begin_in_steps(db, timeout)
    finally:
        db.execute(f"PRAGMA busy_timeout = {kept}")


def _begin_in_steps(db: sqlite3.Connection, timeout: float) -> None:
    """`begin_immediate`'s attempts, on a connection whose busy timeout is 0."""
    retry_locked(lambda: db.execute("BEGIN IMMEDIATE"), timeout, first=0.0002, most=0.002)


def retry_locked(
    statement: Callable[[], object], timeout: float, *, first: float, most: float
) -> None:
    """Run ``statement`` again while SQLite answers that the file is locked (busy), for up
    to ``timeout`` seconds, pausing ``first`` seconds and then twice as long each time, up to
    ``most``. Past the timeout, or on any other error, the error is raised."""
    deadline = time.monotonic() + timeout
    pause = first
    while True:
        try:
            statement()
            return
        except sqlite3.OperationalError as exc:
            left = deadline - time.monotonic()
            if not _busy(exc) or left <= 0:
                raise
        time.sleep(min(pause, left))
        pause = min(pause * 2, most)


def _busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc)
    return "locked" in text or "busy" in text


class SQLiteStore:
    """The base of a store in one SQLite file: subclasses name themselves (``what``), give
    their schema and its version, and call `_open`.

    One store may be used from several threads (one connection behind a lock); several
    processes may share the file (WAL mode, a wait of ``timeout`` for another's lock).
    """

    what: ClassVar[str]
    """The store's name in messages (``"outbox"``, ``"inbox"``)."""
    schema: ClassVar[str]
    """Its ``CREATE ... IF NOT EXISTS`` statements, separated by ``;``."""
    schema_version: ClassVar[int]
    meta_table: ClassVar[str]
    """The table of ``(key, value)`` that holds ``schema_version``."""
    synchronous: ClassVar[str] = "FULL"

    path: str
    timeout: float
    _db: sqlite3.Connection
    _lock: threading.RLock
    # Whether the connection's busy timeout is on. Reads want it (a WAL reader rarely waits,
    # but may); `_tx` waits for the write lock in its own short steps with it off. It is
    # switched only when the kind of use changes, so a run of transactions (a publish
    # loop) pays no statement for it.
    _waits: bool = True
    _wal: bool = False

    def _open(self, path: str, timeout: float) -> None:
        """Open (creating it ``0600`` when missing) and migrate the file.

        Raises:
            ConfigurationError: the file cannot be opened, is not a database, or belongs to
                a newer brandkit.
            OutboxConflict: another process kept the file locked past ``timeout``.
        """
        self.path = path
        self.timeout = float(timeout)
        self._lock = threading.RLock()
        try:
            if path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
                create_private(path)
            self._db = sqlite3.connect(
                path, timeout=timeout, isolation_level=None, check_same_thread=False
            )
        except (sqlite3.Error, OSError) as exc:
            raise ConfigurationError(f"cannot open {self.what} {path!r}: {exc}") from None
        try:
            with self._errors(opening=True):
                self._db.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
                # Switching a new file to WAL needs it to itself, and SQLite answers
                # "locked" at once, without its busy timeout, while another process is
                # creating it too (two cron jobs' first run): waited for in steps instead.
                modes: list[Any] = []
                retry_locked(
                    lambda: modes.append(self._db.execute("PRAGMA journal_mode = WAL").fetchone()),
                    timeout,
                    first=0.001,
                    most=0.05,
                )
                mode = modes[-1]
                # Without WAL (a file system that cannot share memory), a COMMIT waits for
                # readers: `_tx` then keeps the busy timeout on inside the transaction.
                self._wal = mode is not None and str(mode[0]).lower() == "wal"
                self._db.execute(f"PRAGMA synchronous = {self.synchronous}")
                self._prepare(self._db)
                self._migrate()
        except BaseException:
            self._db.close()
            raise

    def _prepare(self, db: sqlite3.Connection) -> None:
        """Set up the connection before the migration (SQL functions); nothing by default."""

    def _upgrade(self, db: sqlite3.Connection) -> None:
        """Bring a file made by an earlier brandkit up to this one's layout, inside the
        migration's transaction, after the schema's statements; nothing by default."""

    @contextmanager
    def _errors(self, *, opening: bool = False) -> Iterator[None]:
        """SQLite failures as brandkit errors: a lock held past ``timeout`` is an
        `OutboxConflict` saying so, a closed store says so, anything else is a
        `BrandkitError` (a `ConfigurationError` while ``opening``: not a database,
        unreadable)."""
        what = self.what
        try:
            yield
        except sqlite3.OperationalError as exc:
            text = str(exc)
            if "locked" in text or "busy" in text:
                raise OutboxConflict(
                    f"the {what} {self.path!r} stayed locked by another process for more "
                    f"than {self.timeout:g} s ({text}); nothing was written: try again, or "
                    "look for a process holding a long transaction on the file"
                ) from None
            if opening:
                raise ConfigurationError(f"cannot open {what} {self.path!r}: {text}") from None
            raise BrandkitError(f"{what} {self.path!r}: {text}") from None
        except sqlite3.ProgrammingError as exc:
            if "closed" in str(exc):
                raise BrandkitError(f"the {what} {self.path!r} is closed: open it again") from None
            raise BrandkitError(f"{what} {self.path!r}: {exc}") from None
        except sqlite3.Error as exc:
            if opening:
                raise ConfigurationError(f"cannot open {what} {self.path!r}: {exc}") from None
            raise BrandkitError(f"{what} {self.path!r}: {exc}") from None

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        with self._lock, self._errors():
            if not self._waits:
                self._db.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
                self._waits = True
            yield self._db

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken with ``BEGIN IMMEDIATE`` so that the read and the
        write inside it see the same data (no other writer can slip in between). The write
        lock is waited for as `begin_immediate` does; inside the transaction nothing waits
        (in WAL mode its statements and its COMMIT take no lock it does not hold)."""
        with self._lock, self._errors():
            if not self._wal:
                begin_immediate(self._db, self.timeout)
            else:
                if self._waits:
                    self._db.execute("PRAGMA busy_timeout = 0")
                    self._waits = False
                _begin_in_steps(self._db, self.timeout)
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _migrate(self) -> None:
        with self._tx() as db:
            # executescript() would COMMIT the transaction that guards the migration.
            for statement in self.schema.split(";"):
                if statement.strip():
                    db.execute(statement)
            self._upgrade(db)
            meta = self.meta_table
            row = db.execute(
                f"SELECT value FROM {meta} WHERE key = 'schema_version'"  # noqa: S608
            ).fetchone()
            if row is None:
                db.execute(
                    f"INSERT INTO {meta} (key, value) VALUES ('schema_version', ?)",  # noqa: S608
                    (str(self.schema_version),),
                )
            elif int(row[0]) > self.schema_version:
                raise ConfigurationError(
                    f"{self.what} {self.path!r} has schema version {row[0]}, newer than this "
                    f"brandkit's ({self.schema_version}): upgrade brandkit"
                )

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.path!r})"
