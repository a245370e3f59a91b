"""The analytics path: a DuckDB copy of a metrics store, answering the same queries.

SQLite reads a large history row by row; DuckDB reads it by columns, in parallel. The
copy is refreshed incrementally from the SQLite file (read through Python's ``sqlite3``,
so no DuckDB extension is needed) and the queries are `brandkit.metrics._queries`'s, run
unchanged on DuckDB: the filters and SQL are shared, so the answers are the same.
"""

from __future__ import annotations

import csv
import os
import sqlite3
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from brandkit.errors import BrandkitError, ConfigurationError
from brandkit.metrics._sql import SCHEMA_VERSION
from brandkit.metrics._store import MetricsQueries

if TYPE_CHECKING:
    import duckdb

__all__ = ["Analytics"]

# Rows per batch copied from SQLite: bounds the memory of a refresh (about 100 bytes a row
# in Python, so ~20 MB) while keeping DuckDB's per-statement cost small.
_BATCH = 200_000

_DUCK_SCHEMA = """
CREATE TABLE IF NOT EXISTS metrics_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS metrics_series (
    id BIGINT NOT NULL, platform TEXT NOT NULL, account TEXT NOT NULL, post_id TEXT,
    metric TEXT NOT NULL, delivery_id TEXT, campaign TEXT, posted_at BIGINT
);
CREATE TABLE IF NOT EXISTS metrics_samples (
    series_id BIGINT NOT NULL, fetched_at BIGINT NOT NULL, value DOUBLE,
    available BOOLEAN NOT NULL, raw_name TEXT, reason TEXT
);
CREATE TABLE IF NOT EXISTS metrics_latest AS SELECT * FROM metrics_samples LIMIT 0;
"""

# Each copied table's columns: (name, DuckDB type, nullable). NULL travels as a flag
# column beside a placeholder value (see `_load`).
_Column = tuple[str, str, bool]
_SERIES: tuple[_Column, ...] = (
    ("id", "BIGINT", False),
    ("platform", "VARCHAR", False),
    ("account", "VARCHAR", False),
    ("post_id", "VARCHAR", True),
    ("metric", "VARCHAR", False),
    ("delivery_id", "VARCHAR", True),
    ("campaign", "VARCHAR", True),
    ("posted_at", "BIGINT", True),
)
_SAMPLES: tuple[_Column, ...] = (
    ("series_id", "BIGINT", False),
    ("fetched_at", "BIGINT", False),
    ("value", "DOUBLE", True),
    ("available", "BOOLEAN", False),
    ("raw_name", "VARCHAR", True),
    ("reason", "VARCHAR", True),
)
_PLACEHOLDER = {"VARCHAR": "''", "BIGINT": "0", "DOUBLE": "0.0", "BOOLEAN": "0"}


def _duckdb() -> Any:
    """The ``duckdb`` module, imported only when the analytics path is used.

    Raises:
        ConfigurationError: duckdb is not installed.
    """
    try:
        import duckdb
    except ImportError:
        raise ConfigurationError(
            "the analytics path needs DuckDB: pip install 'brandkit[analytics]'"
        ) from None
    return duckdb


class _DuckCursor:
    """A DuckDB result read as the queries read an ``sqlite3.Cursor``."""

    def __init__(self, conn: duckdb.DuckDBPyConnection) -> None:
        self._conn = conn

    def fetchone(self) -> Any:
        return self._conn.fetchone()

    def fetchall(self) -> list[Any]:
        return self._conn.fetchall()

    def __iter__(self) -> Iterator[Any]:
        while rows := self._conn.fetchmany(10_000):
            yield from rows


class _DuckConnection:
    """A DuckDB connection with ``sqlite3``'s ``execute`` (see `_queries.Connection`)."""

    # Each series' latest sample, kept by `Analytics.refresh`.
    latest_table = "metrics_latest"

    def __init__(self, conn: duckdb.DuckDBPyConnection) -> None:
        self._conn = conn

    def execute(self, sql: str, parameters: Any = (), /) -> _DuckCursor:
        return _DuckCursor(self._conn.execute(sql, list(parameters)))


class Analytics(MetricsQueries):
    """The queries of a [`MetricsStore`][brandkit.metrics.MetricsStore], answered by DuckDB
    from a copy of its samples: the same methods, keywords and results, for large histories.

    ```python
    with MetricsStore("brandkit.db") as store, store.analytics() as analytics:
        write_report(analytics, "report.html")   # the same HTML, from DuckDB
    ```

    The copy is a DuckDB file beside the store (``brandkit.db.duckdb`` by default). Opening
    it and `refresh` bring it up to date: series are copied whole (they are few), samples
    only from the newest time the copy already holds; when older samples were added to
    the store since (a back-filled history), the samples are copied again in full. Rows
    are read from SQLite in bounded batches, so memory does not grow with the history.
    Queries answer from the copy as of the last refresh; the store keeps taking samples
    meanwhile (ingest is unchanged). One process should refresh a given copy at a time.

    Sums of non-integer values may differ from SQLite's in the last bits (DuckDB adds in
    another order); counts, which metrics are, add up exactly.

    Args:
        store: the SQLite metrics store's file path (or an open `MetricsStore` on a file).
        path: the DuckDB file (default: the store's path with ``.duckdb`` appended);
            ``":memory:"`` keeps the copy in memory.
        refresh: bring the copy up to date now (else call `refresh` before querying).
        timeout: seconds to wait for a writer's lock on the SQLite file.

    Raises:
        ConfigurationError: duckdb is not installed (``pip install 'brandkit[analytics]'``);
            the store file is missing, not a SQLite database, not a metrics store, or was
            written by a newer brandkit; the DuckDB file cannot be opened.
        BrandkitError: reading the store failed (e.g. a writer held its lock past
            ``timeout``).
    """

    def __init__(
        self,
        store: str | os.PathLike[str] | MetricsQueries,
        path: str | os.PathLike[str] | None = None,
        *,
        refresh: bool = True,
        timeout: float = 30.0,
    ) -> None:
        ddb = _duckdb()
        if isinstance(store, MetricsQueries):
            source = getattr(store, "path", None)
            if source is None:
                raise ConfigurationError(
                    "the analytics path reads a metrics store from its file; open the "
                    "MetricsStore with a path, not a connection or ':memory:'"
                )
        else:
            source = os.fspath(store)
        if source == ":memory:":
            raise ConfigurationError(
                "the analytics path needs a metrics store file, not ':memory:'"
            )
        self.source: str = source
        self.path: str = os.fspath(path) if path is not None else f"{source}.duckdb"
        self._timeout = timeout
        self._lock = threading.RLock()
        self._duck_error: type[Exception] = ddb.Error
        new = self.path != ":memory:" and not Path(self.path).exists()
        try:
            conn = ddb.connect(self.path)
        except ddb.Error as exc:
            raise ConfigurationError(f"cannot open analytics file {self.path!r}: {exc}") from exc
        if new:
            # Metrics are private, like the store itself (created 0600).
            os.chmod(self.path, 0o600)
        self._conn: duckdb.DuckDBPyConnection | None = conn
        try:
            # SQLite's ``/`` truncates integers (time buckets); the shared SQL relies on it.
            conn.execute("SET integer_division = true")
            # SQLite sorts NULL as the smallest value; DuckDB puts it last unless told.
            conn.execute("SET default_null_order = 'nulls_first_on_asc_last_on_desc'")
            for statement in _DUCK_SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            if refresh:
                self.refresh()
        except BaseException:
            self.close()
            raise

    # -- plumbing ----------------------------------------------------------------------------

    def _duck(self) -> duckdb.DuckDBPyConnection:
        if self._conn is None:
            raise ConfigurationError("this Analytics is closed")
        return self._conn

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """DuckDB's failures (full disk, another process holding the file) as BrandkitError."""
        try:
            yield
        except self._duck_error as exc:
            raise BrandkitError(f"analytics {self.path!r}: {exc}") from exc

    @contextmanager
    def _reading(self) -> Iterator[_DuckConnection]:
        with self._lock, self._errors():
            yield _DuckConnection(self._duck())

    # DuckDB statements on one connection see the last committed refresh; no snapshot needed.
    _read = _reading

    def close(self) -> None:
        """Close the DuckDB file (the store is not touched)."""
        with self._lock:
            conn, self._conn = self._conn, None
            if conn is not None:
                conn.close()

    def __enter__(self) -> Analytics:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._conn is None else "open"
        return f"<Analytics {self.source!r} → {self.path!r} ({state})>"

    # -- refresh -----------------------------------------------------------------------------

    def _open_source(self) -> sqlite3.Connection:
        """The store file, read-only; its schema checked.

        Raises:
            ConfigurationError: missing, not SQLite, not a metrics store, or newer.
        """
        if not Path(self.source).is_file():
            raise ConfigurationError(
                f"metrics store {self.source!r} does not exist; give the path of a "
                "MetricsStore file"
            )
        uri = f"{Path(self.source).resolve().as_uri()}?mode=ro"
        try:
            src = sqlite3.connect(uri, uri=True, timeout=self._timeout, isolation_level=None)
        except sqlite3.Error as exc:
            raise ConfigurationError(f"cannot open metrics store {self.source!r}: {exc}") from exc
        try:
            row = src.execute(
                "SELECT value FROM metrics_meta WHERE key = 'schema_version'"
            ).fetchone()
        except sqlite3.OperationalError as exc:
            src.close()
            if "locked" in str(exc) or "busy" in str(exc):
                raise BrandkitError(f"metrics store {self.source!r}: {exc}") from exc
            raise ConfigurationError(
                f"{self.source!r} is not a brandkit metrics store ({exc}); give the path "
                "of a MetricsStore file"
            ) from exc
        except sqlite3.DatabaseError as exc:
            src.close()
            raise ConfigurationError(
                f"{self.source!r} is not a SQLite metrics store ({exc})"
            ) from exc
        if row is None or int(row[0]) > SCHEMA_VERSION:
            src.close()
            raise ConfigurationError(
                f"{self.source!r} is not a metrics store this brandkit reads (schema "
                f"{row[0] if row else 'missing'}, this version reads {SCHEMA_VERSION}); "
                "upgrade brandkit"
            )
        return src

    def refresh(self) -> int:
        """Bring the copy up to date with the store; return how many samples it copied (the
        new ones and those of the newest instant it had, or every one after a back-fill).

        Raises:
            ConfigurationError: the store cannot be read (see the class), or this
                Analytics is closed.
            BrandkitError: reading the store or writing the copy failed.
        """
        with self._lock:
            duck = self._duck()
            src = self._open_source()
            try:
                with self._errors(), tempfile.TemporaryDirectory(prefix="brandkit-duck-") as tmp:
                    # One read transaction: series and samples from the same snapshot.
                    src.execute("BEGIN")
                    duck.execute("BEGIN TRANSACTION")
                    try:
                        copied = self._copy(src, duck, Path(tmp))
                        duck.execute("COMMIT")
                    except BaseException:
                        duck.execute("ROLLBACK")
                        raise
                    finally:
                        src.execute("COMMIT")
            except sqlite3.Error as exc:
                raise BrandkitError(f"metrics store {self.source!r}: {exc}") from exc
            finally:
                src.close()
            return copied

    def _copy(self, src: sqlite3.Connection, duck: duckdb.DuckDBPyConnection, tmp: Path) -> int:
        # Series are restamped in place (campaign, delivery, posted time) and are few next
        # to their samples: copy them whole.
        duck.execute("DELETE FROM metrics_series")
        _load(src, duck, tmp, "metrics_series", _SERIES, "s", "FROM metrics_series AS s", [])
        row = duck.execute("SELECT value FROM metrics_meta WHERE key = 'watermark'").fetchone()
        mark = int(row[0]) if row is not None else None
        row = duck.execute("SELECT value FROM metrics_meta WHERE key = 'source'").fetchone()
        origin = str(Path(self.source).resolve())
        if row is not None and row[0] != origin:
            mark = None  # a copy of another store: start again
        copied = 0
        if mark is not None:
            # Samples at the newest copied time may have been joined by others of the same
            # time: recopy that instant. Per series, so SQLite seeks its primary key
            # instead of scanning every sample.
            duck.execute("DELETE FROM metrics_samples WHERE fetched_at >= ?", [mark])
            copied = _load(
                src,
                duck,
                tmp,
                "metrics_samples",
                _SAMPLES,
                "x",
                "FROM metrics_series AS s CROSS JOIN metrics_samples AS x "
                "ON x.series_id = s.id AND x.fetched_at >= ?",
                [mark],
            )
            have = duck.execute("SELECT COUNT(*) FROM metrics_samples").fetchone()
            want = src.execute("SELECT COUNT(*) FROM metrics_samples").fetchone()
            if have is None or want is None or have[0] != want[0]:
                # Older samples arrived (a back-filled history): copy everything again.
                mark = None
        if mark is None:
            duck.execute("DELETE FROM metrics_samples")
            copied = _load(
                src, duck, tmp, "metrics_samples", _SAMPLES, "x", "FROM metrics_samples AS x", []
            )
        # Each series' latest sample, which most queries read (see `_queries._latest_sql`).
        duck.execute("DELETE FROM metrics_latest")
        duck.execute(
            "INSERT INTO metrics_latest SELECT x.* FROM metrics_samples AS x JOIN ("
            "SELECT series_id, MAX(fetched_at) AS m FROM metrics_samples GROUP BY series_id"
            ") AS l ON l.series_id = x.series_id AND l.m = x.fetched_at"
        )
        newest = duck.execute("SELECT MAX(fetched_at) FROM metrics_samples").fetchone()
        duck.execute("DELETE FROM metrics_meta WHERE key IN ('watermark', 'source')")
        if newest is not None and newest[0] is not None:
            duck.execute("INSERT INTO metrics_meta VALUES ('watermark', ?)", [str(int(newest[0]))])
        duck.execute("INSERT INTO metrics_meta VALUES ('source', ?)", [origin])
        return copied


def _load(
    src: sqlite3.Connection,
    duck: duckdb.DuckDBPyConnection,
    tmp: Path,
    table: str,
    columns: tuple[_Column, ...],
    alias: str,
    source: str,
    params: list[Any],
) -> int:
    """Copy SQLite rows (``SELECT ... {source}``) into a DuckDB table, ``_BATCH`` at a time.

    Each batch goes through a CSV file that DuckDB's reader loads in one statement: with
    neither pandas nor Arrow required, this is far faster than ``executemany``. A nullable
    column is read from SQLite as a NULL flag and a placeholder value, and DuckDB puts the
    NULL back, so that no Python code touches each value and NULL never meets empty text.
    """
    picked: list[str] = []
    csv_columns: list[str] = []
    rebuilt: list[str] = []
    for name, kind, nullable in columns:
        read_as = "INTEGER" if kind == "BOOLEAN" else kind
        value = f"{name}::BOOLEAN" if kind == "BOOLEAN" else name
        if nullable:
            picked.append(f"{alias}.{name} IS NULL, COALESCE({alias}.{name}, {_PLACEHOLDER[kind]})")
            csv_columns += [f"'{name}_null': 'INTEGER'", f"'{name}': '{read_as}'"]
            rebuilt.append(f"CASE WHEN {name}_null = 1 THEN NULL ELSE {value} END")
        else:
            picked.append(f"{alias}.{name}")
            csv_columns.append(f"'{name}': '{read_as}'")
            rebuilt.append(value)
    rows = src.execute(f"SELECT {', '.join(picked)} {source}", params)
    batch = tmp / "batch.csv"
    literal = str(batch).replace("'", "''")
    insert = (
        f"INSERT INTO {table} SELECT {', '.join(rebuilt)} FROM read_csv('{literal}', "  # noqa: S608
        f"header = false, columns = {{{', '.join(csv_columns)}}}, quote = '\"', "
        "escape = '\"', allow_quoted_nulls = false, auto_detect = false)"
    )
    total = 0
    while chunk := rows.fetchmany(_BATCH):
        with batch.open("w", newline="", encoding="utf-8") as out:
            csv.writer(out, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n").writerows(chunk)
        duck.execute(insert)
        total += len(chunk)
    return total
