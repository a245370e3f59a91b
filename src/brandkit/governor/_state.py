"""Where the governor keeps its state: in memory, or in SQLite for processes on one machine.

A store holds entries (windows and blocks) under a *scope* (a string naming platform, app,
account and bucket) and a *name* (which window). The governor reads and changes the entries
of a few scopes in one atomic step, `StateStore.update`, so that several threads, tasks
or processes spend one budget without overspending it. Async code (``AsyncClient``) uses a
store's optional ``aupdate``, the same step without blocking the event loop.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeAlias, TypeVar, runtime_checkable

from brandkit._durations import lock_wait
from brandkit._sqlite import begin_immediate
from brandkit.errors import BrandkitError, ConfigurationError
from brandkit.governor._slots import Entry, dump_entry, load_entry

__all__ = ["Entries", "MemoryState", "SQLiteState", "StateStore"]

T = TypeVar("T")

Entries: TypeAlias = dict[tuple[str, str], Entry]
"""The entries of some scopes, by (scope, name)."""


@runtime_checkable
class StateStore(Protocol):
    """Storage for the governor's state.

    To share budgets some other way (Redis, a database), implement `update` with the
    same atomicity, and store entries with ``brandkit.governor.dump_entry`` /
    ``load_entry`` (plain JSON-able lists).

    A store may also have ``async def aupdate(scopes, change)``, the same step for async
    code, which must not block the event loop (``change`` itself is quick and does no I/O).
    [`Governor.aacquire`][brandkit.governor.Governor.aacquire] uses it; for a store without
    it, ``update`` is called in a worker thread.
    """

    def update(self, scopes: Sequence[str], change: Callable[[Entries], T]) -> T:
        """Atomically: load every entry of ``scopes``, call ``change`` with them (it may
        change entries and add new ones under these scopes), store the result and return
        what ``change`` returned. No other ``update`` of these scopes may interleave."""
        ...


class MemoryState:
    """State in this process's memory (the default): shared by every thread and task that
    uses the same [`Governor`][brandkit.governor.Governor], lost when the process ends."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # Entries keyed by their full (scope, name) key, so that loading a scope is one
        # C-level dict merge.
        self._scopes: dict[str, dict[tuple[str, str], Entry]] = {}

    def update(self, scopes: Sequence[str], change: Callable[[Entries], T]) -> T:
        """See `StateStore.update`."""
        with self._lock:
            known = self._scopes
            entries: Entries = {}
            for scope in scopes:
                found = known.get(scope)
                if found:
                    entries.update(found)
            before = len(entries)
            result = change(entries)
            if len(entries) != before:
                for key, entry in entries.items():
                    known.setdefault(key[0], {})[key] = entry
            return result

    async def aupdate(self, scopes: Sequence[str], change: Callable[[Entries], T]) -> T:
        """`update`, for async code. It runs inline: it does no I/O, and its lock is only
        ever held for the few microseconds of a ``change``."""
        return self.update(scopes, change)

    def entries(self, scope: str) -> dict[str, Entry]:
        """A copy of the entries of ``scope`` by name (for inspection and tests)."""
        with self._lock:
            return {name: e for (_, name), e in self._scopes.get(scope, {}).items()}


class SQLiteState:
    """State in an SQLite file, so that several processes on one machine share one budget.

    Every update is one ``BEGIN IMMEDIATE`` transaction (the write lock is taken before the
    state is read, so two processes can never both spend the last unit). The database runs
    in WAL mode with a busy timeout, so waiting writers queue instead of failing.

    A new file is created readable by its owner only (``0600``; SQLite gives its ``-wal``
    and ``-shm`` files the same mode): the budgets name accounts. An existing file keeps
    its mode. An entry that cannot be read back (written by hand, or by a buggy version) is
    dropped and deleted, never allowed to stop the governor; an entry that could not be read
    back is never written.

    Args:
        path: the database file (created if missing).
        timeout: how long to wait for another process's transaction, in seconds (from 0
            to 7 days).

    Raises:
        ConfigurationError: the file cannot be opened as an SQLite database, or
            ``timeout`` is not a number of seconds from 0 to 7 days.
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 10.0) -> None:
        self.path = Path(path)
        self._timeout = lock_wait(timeout)
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._pid = -1
        self._connect()

    def _connect(self) -> sqlite3.Connection:
        # A connection must not cross a fork: each process opens its own.
        if self._conn is not None and self._pid == os.getpid():
            return self._conn
        deadline = time.monotonic() + self._timeout
        while True:
            try:
                conn = self._open()
                break
            except sqlite3.Error as exc:
                # Switching to WAL needs a moment alone with the file; another process
                # opening it at the same instant makes that fail at once instead of waiting.
                text = str(exc)
                busy = isinstance(exc, sqlite3.OperationalError) and (
                    "locked" in text or "busy" in text
                )
                if not busy or time.monotonic() > deadline:
                    raise ConfigurationError(
                        f"cannot use {self.path} as governor state: {exc}"
                    ) from exc
                time.sleep(0.01)
        self._conn = conn
        self._pid = os.getpid()
        return conn

    def _open(self) -> sqlite3.Connection:
        try:
            # Created here, owner-only, before SQLite would create it with the umask's mode.
            if str(self.path) != ":memory:":
                os.close(os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            pass
        except OSError as exc:
            raise sqlite3.OperationalError(f"cannot create the file: {exc}") from exc
        conn = sqlite3.connect(
            self.path, timeout=self._timeout, isolation_level=None, check_same_thread=False
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self._timeout * 1000)}")
            if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS brandkit_governor ("
                " scope TEXT NOT NULL, name TEXT NOT NULL, data TEXT NOT NULL,"
                " PRIMARY KEY (scope, name)) WITHOUT ROWID"
            )
        except BaseException:
            conn.close()
            raise
        return conn

    def update(self, scopes: Sequence[str], change: Callable[[Entries], T]) -> T:
        """See `StateStore.update`.

        Raises:
            BrandkitError: the database failed (disk full, locked longer than the timeout).
        """
        try:
            return self._update(scopes, change)
        except sqlite3.Error as exc:
            raise BrandkitError(f"governor state {self.path} failed: {exc}") from exc

    async def aupdate(self, scopes: Sequence[str], change: Callable[[Entries], T]) -> T:
        """`update`, for async code: in a worker thread, since another process's
        transaction on the file can keep it waiting (up to ``timeout``).

        Raises:
            BrandkitError: as `update`.
        """
        return await asyncio.to_thread(self.update, scopes, change)

    def _update(self, scopes: Sequence[str], change: Callable[[Entries], T]) -> T:
        with self._lock:
            conn = self._connect()
            marks = ",".join("?" * len(scopes))
            begin_immediate(conn, self._timeout)
            try:
                rows = conn.execute(
                    f"SELECT scope, name, data FROM brandkit_governor WHERE scope IN ({marks})",  # noqa: S608 - only placeholders
                    tuple(scopes),
                ).fetchall()
                stored, entries, drops = loaded(rows)
                result = change(entries)
                writes = []
                for key, entry in entries.items():
                    data = _dump(entry)
                    if data is None:
                        drops.append(key)
                    elif stored.get(key) != data:
                        writes.append((key[0], key[1], data))
                if drops:
                    conn.executemany(
                        "DELETE FROM brandkit_governor WHERE scope = ? AND name = ?", drops
                    )
                if writes:
                    conn.executemany(
                        "INSERT INTO brandkit_governor (scope, name, data) VALUES (?, ?, ?) "
                        "ON CONFLICT (scope, name) DO UPDATE SET data = excluded.data",
                        writes,
                    )
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            return result

    def entries(self, scope: str) -> dict[str, Entry]:
        """The entries of ``scope`` (for inspection and tests)."""
        return self.update([scope], lambda found: {name: e for (_, name), e in found.items()})

    def close(self) -> None:
        """Close this process's connection."""
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None


def loaded(
    rows: Iterable[tuple[Any, ...]],
) -> tuple[dict[tuple[str, str], str], Entries, list[tuple[str, str]]]:
    """Stored ``(scope, name, data)`` rows by key, their entries, and the keys of those that
    cannot be read back (to delete); shared by the SQLite and PostgreSQL states, which write
    back only what ``change`` altered."""
    stored = {(scope, name): data for scope, name, data in rows}
    entries: Entries = {}
    drops: list[tuple[str, str]] = []
    for key, text in stored.items():
        entry = _load(text)
        if entry is None:
            drops.append(key)
        else:
            entries[key] = entry
    return stored, entries, drops


def _load(text: str) -> Entry | None:
    """A stored entry, or ``None`` when it cannot be read (it is then dropped)."""
    try:
        return load_entry(json.loads(text, parse_constant=_no_constant))
    except (ValueError, TypeError, RecursionError):
        return None


def _dump(entry: Entry) -> str | None:
    """An entry as stored, or ``None`` when it could not be read back."""
    try:
        data = json.dumps(dump_entry(entry), separators=(",", ":"), allow_nan=False)
        load_entry(json.loads(data))
    except (ValueError, TypeError):
        return None
    return data


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a governor value")
