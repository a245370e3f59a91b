"""The analytics path: a DuckDB copy of a metrics store, answering the same queries.

SQLite reads a large history row by row; DuckDB reads it by columns, in parallel. The
copy is refreshed incrementally from the SQLite file (read through Python's ``sqlite3``,
so no DuckDB extension is needed) and the queries are `brandkit.metrics._queries`'s, run
unchanged on DuckDB: the filters and SQL are shared, so the answers are the same.
"""

from __future__ import annotations

import contextlib
import csv
import gc
import os
import sqlite3
import tempfile
import threading
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, tzinfo
from itertools import repeat
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import attrs

from brandkit.backends import kind_of
from brandkit.errors import BrandkitError, ConfigurationError
from brandkit.metrics import _queries as q
from brandkit.metrics._rows import ENGAGEMENT_METRICS, Point, PostEngagement, TimeSlot
from brandkit.metrics._sample import Metric, MetricSample
from brandkit.metrics._sql import (
    SCHEMA_VERSION,
    Filter,
    from_us,
)
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

# Each series' latest sample joined to its series, with integer keys for a post and an
# account and the rank of the row in `latest`'s order (platform, account, post, metric;
# NULL first as SQLite sorts it): `latest` and `engagement` without a period read it
# instead of joining and sorting text at query time. The columns up to ``posted_at`` are
# `MetricSample`'s positional arguments, in order. ``stamp_key`` numbers the distinct
# (platform, account, post, delivery, campaign, posted time) of the series (one per post,
# as a post's metrics share their stamps) and ``kind_key`` the distinct (metric, raw name,
# availability, reason): `latest` reads these two small integers per row and each text
# once, instead of eight texts per row. Rebuilt by every refresh (and on opening a copy
# that lacks it or a column of it), inside the refresh's transaction. ``available_value``
# and ``available_at`` are the series' latest available value and its time (from
# ``metrics_latest_available``; NULL when it has none), which `engagement` adds up.
# A value stored before values were checked (a negative count) reads as unavailable, with
# `_queries.damaged_reason`'s reason, as the store's `latest` reads it: DuckDB writes a
# DOUBLE as Python's repr does (-500.0, 1e+16, nan).
_BAD = q.damaged("x")
_READ_VALUE = f"CASE WHEN {_BAD} THEN NULL ELSE x.value END"
_READ_AVAILABLE = f"(x.available AND NOT {_BAD})"
_READ_REASON = (
    f"CASE WHEN {_BAD} THEN 'stored value ' || CAST(x.value AS VARCHAR) || ' is not a count' "
    "ELSE x.reason END"
)
# What the derived tables below compute (`_DERIVED` in metrics_meta): a copy built by an
# older brandkit, whose tables added up values that are no count, has them rebuilt.
_DERIVED = "2"
_LATEST_ROWS = f"""
CREATE OR REPLACE TABLE metrics_latest_rows AS
SELECT s.platform, s.account, s.metric, {_READ_VALUE} AS value, x.fetched_at, s.post_id,
       x.raw_name, {_READ_AVAILABLE} AS available, {_READ_REASON} AS reason, s.delivery_id,
       s.campaign, s.posted_at, s.id AS series_id,
       dense_rank() OVER (ORDER BY s.platform, s.account, s.post_id) AS post_key,
       dense_rank() OVER (ORDER BY s.platform, s.account) AS account_key,
       row_number() OVER (ORDER BY s.platform, s.account, s.post_id, s.metric) AS ord,
       dense_rank() OVER (
           ORDER BY s.platform, s.account, s.post_id, s.delivery_id, s.campaign, s.posted_at
       ) AS stamp_key,
       dense_rank() OVER (
           ORDER BY s.metric, x.raw_name, {_READ_AVAILABLE}, {_READ_REASON}
       ) AS kind_key,
       a.value AS available_value, a.fetched_at AS available_at
FROM metrics_series AS s JOIN metrics_latest AS x ON x.series_id = s.id
LEFT JOIN metrics_latest_available AS a ON a.series_id = s.id
"""  # noqa: S608 - built from constants
# Each series' latest sample that is available and has a count: what `totals` and
# `engagement` add up when the newest reading says "unavailable" (a deleted post).
_LATEST_AVAILABLE = f"""
CREATE OR REPLACE TABLE metrics_latest_available AS
SELECT x.* FROM metrics_samples AS x JOIN (
    SELECT y.series_id, MAX(y.fetched_at) AS m FROM metrics_samples AS y
    WHERE {q.counted("y")} GROUP BY y.series_id
) AS l ON l.series_id = x.series_id AND l.m = x.fetched_at
"""  # noqa: S608 - built from constants
# The columns `_ensure_latest_rows` looks for: a copy made before one of them existed
# gets the table rebuilt.
_LATEST_ROWS_KEYS = (
    "post_key", "account_key", "ord", "stamp_key", "kind_key", "available_value", "available_at",
)  # fmt: skip
_STAMP_COLUMNS = "s.platform, s.account, s.post_id, s.delivery_id, s.campaign, s.posted_at"
_KIND_COLUMNS = "s.metric, s.raw_name, s.available, s.reason"
_SAMPLE_COLUMNS = (
    "s.platform, s.account, s.metric, s.value, s.fetched_at, s.post_id, s.raw_name, "
    "s.available, s.reason, s.delivery_id, s.campaign, s.posted_at"
)

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
# SQLite keeps whatever was written in a column: a value stored as text or bytes (by hand, by
# an old tool) cannot go into DuckDB's DOUBLE, and the whole copy failed. It is copied as the
# store reads it (`_queries.readable`): unavailable, with `damaged_reason`'s reason.
_NO_NUMBER = "typeof(x.value) IN ('text', 'blob')"
_SAMPLE_READS = {
    "value": f"CASE WHEN {_NO_NUMBER} THEN NULL ELSE x.value END",
    "available": f"CASE WHEN {_NO_NUMBER} THEN 0 ELSE x.available END",
    "reason": f"CASE WHEN {_NO_NUMBER} THEN brandkit_damaged_reason(x.value) ELSE x.reason END",
}
# `brandkit.metrics._sql.from_us`'s epoch: times are microseconds since it.
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
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

    # Each series' latest sample, and its latest available one, kept by `Analytics.refresh`.
    latest_table = "metrics_latest"
    latest_available_table = "metrics_latest_available"

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
    Each refresh also rebuilds what the fast queries read: each series' latest sample with
    its series (for `latest`, `posts`, `latest_of`, `totals`, `unavailable` without a
    period), every post's engagement row in order (for `engagement` and `best_times`
    without a period or a campaign) and each sample's difference to its series' previous
    value (for `series` without ``since``; only the new samples' are recomputed). A report
    reads `posts` and the `latest_of` the posts it shows, not every post's `latest`
    samples: at 5 million samples that is 250,000 objects fewer. Queries answer from the
    copy as of the last refresh; the store keeps taking samples meanwhile (ingest is
    unchanged). One process should refresh a given copy at a time.

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
        if kind_of(source) != "sqlite":
            raise ConfigurationError(
                "the analytics path copies an SQLite metrics store into DuckDB; a PostgreSQL "
                "store answers its queries itself (use the store, or export it to an SQLite "
                "file first)"
            )
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
            else:
                with self._errors():
                    _ensure_latest_rows(conn)
                self._private_log()
        except BaseException:
            self.close()
            raise

    def _private_log(self) -> None:
        """Make DuckDB's write-ahead log beside the copy as private as the copy: DuckDB
        creates it afresh (with the process's umask, 0644 as a rule) at the first commit
        after each checkpoint, and it holds the samples just copied. Called after each
        commit, which is when DuckDB writes it."""
        if self.path == ":memory:":
            return
        with contextlib.suppress(FileNotFoundError):  # checkpointed into the file: none
            os.chmod(f"{self.path}.wal", 0o600)

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

    # -- queries answered in one DuckDB statement ----------------------------------------------
    #
    # The store computes these partly in Python (per-post follower look-ups, a sort, weekday
    # slots); here DuckDB does the per-post work and Python only builds the rows returned.
    # Same definitions as `brandkit.metrics._queries`; tests/metrics_analytics compare them.
    # The public methods are `MetricsQueries`'s, which build the filter these answer.

    def _latest(self, f: Filter) -> list[MetricSample]:
        with self._reading() as conn:
            if not f.has_period:
                return _latest_by_keys(conn, f)
            rows = _latest_rows(conn, f)
        return _samples(rows)

    def _posts(self, f: Filter) -> list[tuple[str, str, str]]:
        if not f.has_period:
            series_where, params = f.series_where("s")
            sql = f"""
                SELECT any_value(s.platform), any_value(s.account), any_value(s.post_id)
                FROM metrics_latest_rows AS s WHERE {series_where}
                GROUP BY s.post_key ORDER BY s.post_key
            """  # noqa: S608
        else:
            latest, params = _latest_in_period(f, "s.platform, s.account, s.post_id")
            sql = f"""
                SELECT platform, account, post_id FROM ({latest}) AS s
                GROUP BY platform, account, post_id ORDER BY platform, account, post_id
            """  # noqa: S608
        with self._reading() as conn:
            rows = conn.execute(sql, params).fetchall()
        return [(platform, account, post_id) for platform, account, post_id in rows]

    def _latest_of(self, f: Filter, posts: Iterable[tuple[str, str, str]]) -> list[MetricSample]:
        wanted: dict[tuple[str, str, str], list[tuple[Any, ...]]] = {}
        for platform, account, post_id in posts:
            wanted.setdefault((platform, account, post_id), [])
        ids = list(dict.fromkeys(post_id for _, _, post_id in wanted))
        step = q.POST_IDS_PER_STATEMENT
        with self._reading() as conn:
            for start in range(0, len(ids), step):
                for row in _latest_rows(conn, f, ids[start : start + step]):
                    # _SAMPLE_COLUMNS: platform, account, ..., post_id sixth.
                    found = wanted.get((row[0], row[1], row[5]))
                    if found is not None:
                        found.append(row)
        return _samples([row for rows in wanted.values() for row in rows])

    def _series(self, f: Filter, interval: timedelta | None) -> list[Point]:
        # Without ``since``, each sample's difference to its series' previous value comes
        # from the copy (kept by `refresh`); with ``since``, the first sample of each series
        # in the period starts from zero, so the store's query computes the differences.
        step = q.step_of(interval)
        if f.since is not None:
            return super()._series(f, interval)
        in_series, params = q.samples_in(f, "metrics_series")
        with self._reading() as conn:
            # The store's statement, with the window's result read from the copy.
            rows = conn.execute(
                f"""
                SELECT b, SUM(v - COALESCE(p, 0)), SUM(CASE WHEN p IS NULL THEN 1 ELSE 0 END)
                FROM (
                    SELECT x.fetched_at / ? AS b, x.value AS v, x.prev AS p
                    FROM metrics_changes AS x WHERE {in_series}
                ) AS changes GROUP BY b ORDER BY b
                """,  # noqa: S608
                [step, *params],
            ).fetchall()
        return q.running_points(rows, step)

    def _engagement(self, f: Filter) -> list[PostEngagement]:
        with self._reading() as conn, _no_gc():
            rows = conn.execute(*_post_rows(f)).fetchall()
        if not rows:
            return []
        with _no_gc():
            # PostEngagement's positional order; the times converted once each.
            columns: list[Sequence[Any]] = list(zip(*rows, strict=True))
            time_of = _times(columns[5], columns[6]).__getitem__
            columns[5] = list(map(time_of, columns[5]))
            columns[6] = list(map(time_of, columns[6]))
            return list(map(PostEngagement, *columns))

    def _best_times(self, f: Filter, zone: tzinfo) -> list[TimeSlot]:
        with self._reading() as conn, _no_gc():
            rows = conn.execute(
                *_post_rows(
                    f,
                    columns="p.posted_at, p.e, rate",
                    where="p.posted_at IS NOT NULL AND p.e IS NOT NULL",
                )
            ).fetchall()
        # The store's arithmetic, in its order: posts most engaged first, summed by Python.
        slots: dict[tuple[int, int], list[tuple[float, float | None]]] = defaultdict(list)
        local_slot: dict[int, tuple[int, int]] = {}
        for posted, e, rate in rows:
            slot = local_slot.get(posted)
            if slot is None:
                local = from_us(posted).astimezone(zone)
                slot = local_slot[posted] = (local.weekday(), local.hour)
            slots[slot].append((e, rate))
        out: list[TimeSlot] = []
        for (weekday, hour), posts in slots.items():
            rates = [rate for _, rate in posts if rate is not None]
            out.append(
                TimeSlot(
                    weekday=weekday,
                    hour=hour,
                    posts=len(posts),
                    mean_engagements=sum(e or 0.0 for e, _ in posts) / len(posts),
                    mean_rate=sum(rates) / len(rates) if rates else None,
                )
            )
        out.sort(key=lambda s: (-s.mean_engagements, s.weekday, s.hour))
        return out

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
        src.create_function("brandkit_damaged_reason", 1, q.damaged_reason, deterministic=True)
        return src

    def refresh(self) -> int:
        """Bring the copy up to date with the store; return how many samples it copied (the
        new ones and those of the newest instant it had, or every one after a back-fill).
        The tables derived from the samples (latest rows, differences) are brought up to
        date in the same transaction, so queries never see them half done.

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
                self._private_log()
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
                _SAMPLE_READS,
            )
            have = duck.execute("SELECT COUNT(*) FROM metrics_samples").fetchone()
            want = src.execute("SELECT COUNT(*) FROM metrics_samples").fetchone()
            if have is None or want is None or have[0] != want[0]:
                # Older samples arrived (a back-filled history): copy everything again.
                mark = None
        if mark is None:
            duck.execute("DELETE FROM metrics_samples")
            copied = _load(
                src,
                duck,
                tmp,
                "metrics_samples",
                _SAMPLES,
                "x",
                "FROM metrics_samples AS x",
                [],
                _SAMPLE_READS,
            )
        # Each series' latest sample, which most queries read (see `_queries._latest_sql`).
        duck.execute("DELETE FROM metrics_latest")
        duck.execute(
            "INSERT INTO metrics_latest SELECT x.* FROM metrics_samples AS x JOIN ("
            "SELECT series_id, MAX(fetched_at) AS m FROM metrics_samples GROUP BY series_id"
            ") AS l ON l.series_id = x.series_id AND l.m = x.fetched_at"
        )
        duck.execute(_LATEST_AVAILABLE)
        duck.execute(_LATEST_ROWS)
        _build_post_engagement(duck)
        current = _has_table(duck, "metrics_changes") and _derived_current(duck)
        _update_changes(duck, mark if current else None)
        _mark_derived(duck)
        newest = duck.execute("SELECT MAX(fetched_at) FROM metrics_samples").fetchone()
        duck.execute("DELETE FROM metrics_meta WHERE key IN ('watermark', 'source')")
        if newest is not None and newest[0] is not None:
            duck.execute("INSERT INTO metrics_meta VALUES ('watermark', ?)", [str(int(newest[0]))])
        duck.execute("INSERT INTO metrics_meta VALUES ('source', ?)", [origin])
        return copied


def _has_table(duck: duckdb.DuckDBPyConnection, name: str) -> bool:
    row = duck.execute(
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = ?", [name]
    ).fetchone()
    return bool(row and row[0])


def _ensure_latest_rows(duck: duckdb.DuckDBPyConnection) -> None:
    """Build the tables a refresh derives (``metrics_latest_available``,
    ``metrics_latest_rows``, ``metrics_post_engagement``, ``metrics_changes``) if this copy
    lacks them or a column of them (made by an older brandkit, or never refreshed), or
    built them by other rules (`_DERIVED`)."""
    if not _derived_current(duck):
        duck.execute(_LATEST_AVAILABLE)
        duck.execute(_LATEST_ROWS)
        _build_post_engagement(duck)
        _update_changes(duck, None)
        _mark_derived(duck)
        return
    if not _has_table(duck, "metrics_latest_available"):
        duck.execute(_LATEST_AVAILABLE)
    marks = ", ".join("?" for _ in _LATEST_ROWS_KEYS)
    row = duck.execute(
        "SELECT COUNT(*) FROM information_schema.columns "  # noqa: S608
        f"WHERE table_name = 'metrics_latest_rows' AND column_name IN ({marks})",
        list(_LATEST_ROWS_KEYS),
    ).fetchone()
    rebuilt = row is None or row[0] != len(_LATEST_ROWS_KEYS)
    if rebuilt:
        duck.execute(_LATEST_ROWS)
    if rebuilt or not _has_table(duck, "metrics_post_engagement"):
        _build_post_engagement(duck)
    if not _has_table(duck, "metrics_changes"):
        _update_changes(duck, None)


def _derived_current(duck: duckdb.DuckDBPyConnection) -> bool:
    """Whether the copy's derived tables were built by this brandkit's rules."""
    row = duck.execute("SELECT value FROM metrics_meta WHERE key = 'derived'").fetchone()
    return row is not None and row[0] == _DERIVED


def _mark_derived(duck: duckdb.DuckDBPyConnection) -> None:
    duck.execute("DELETE FROM metrics_meta WHERE key = 'derived'")
    duck.execute("INSERT INTO metrics_meta VALUES ('derived', ?)", [_DERIVED])


def _update_changes(duck: duckdb.DuckDBPyConnection, mark: int | None) -> None:
    """Keep ``metrics_changes``: each available sample with a value, beside its series'
    previous such value (``prev``, NULL for the first), which `Analytics.series` sums
    instead of running the window over the history at every query.

    ``mark``: the samples before it are unchanged since the last refresh (an incremental
    copy), so only the later ones are recomputed, from their series' history; ``None``
    recomputes every row.
    """
    window = (
        "SELECT x.series_id, x.fetched_at, x.value, "  # noqa: S608 - built from constants
        "LAG(x.value) OVER (PARTITION BY x.series_id ORDER BY x.fetched_at) AS prev "
        f"FROM metrics_samples AS x WHERE {q.counted('x')}"
    )
    if mark is None:
        # In key order, so that a query for a few series skips most row groups (DuckDB
        # keeps each group's min/max series id).
        duck.execute(
            f"CREATE OR REPLACE TABLE metrics_changes AS {window} ORDER BY series_id, fetched_at"
        )
        return
    duck.execute("DELETE FROM metrics_changes WHERE fetched_at >= ?", [mark])
    duck.execute(
        f"INSERT INTO metrics_changes SELECT * FROM ({window} AND series_id IN ("  # noqa: S608
        "SELECT DISTINCT series_id FROM metrics_samples WHERE fetched_at >= ?)) AS c "
        "WHERE c.fetched_at >= ?",
        [mark, mark],
    )


@contextmanager
def _no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while a result's objects are built.

    Fetching and building 250,000 rows triggers collections that traverse every object
    already alive, again and again (measured: 40 % of `latest`'s Python time, more when the
    process holds much else). The objects built hold no cycles, so nothing is missed; a
    collector that was already off stays off.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _times(*columns: Sequence[int | None]) -> dict[int | None, datetime | None]:
    """Each distinct epoch-microsecond time of these columns as a datetime (``None`` as
    ``None``): rows of one post share their times, so each is converted once, and by
    ``map`` (`from_us`'s arithmetic without a Python call per time)."""
    distinct = [us for us in set().union(*columns) if us is not None]
    converted = map(_EPOCH.__add__, map(timedelta, repeat(0), repeat(0), distinct))
    times: dict[int | None, datetime | None] = dict(zip(distinct, converted, strict=True))
    times[None] = None
    return times


# `MetricSample`'s fields, in the order of its positional arguments.
_SAMPLE_FIELDS = (
    "platform", "account", "metric", "value", "fetched_at", "post_id", "raw_name",
    "available", "reason", "delivery_id", "campaign", "posted_at",
)  # fmt: skip


_Stamp = tuple[str, str, str | None, str | None, str | None, datetime | None]
_Kind = tuple[str, str | None, bool, str | None]


def _trusted_sample_makers() -> tuple[Any, Any]:
    """Two functions that make the same `MetricSample` as the class does, for rows read
    from the store, by setting its slots directly: one takes the class's positional
    arguments, the other a stamp (platform, account, post_id, delivery_id, campaign,
    posted_at), a kind (metric, raw_name, available, reason), the value and the time.

    ``MetricSample(...)`` sets each field by name through a bound ``object.__setattr__``
    and converts ``fetched_at`` to UTC again: about 3 µs a sample, most of what `latest`
    costs at 250,000 samples. The rows here hold only UTC times made by `_times`, which
    that conversion leaves as they are, and a slot's own descriptor sets it in about a
    third less time. If the class's fields are not these (one added or moved), the class
    itself is used.
    """
    if tuple(a.name for a in attrs.fields(MetricSample)) != _SAMPLE_FIELDS:  # pragma: no cover

        def by_class(stamp: _Stamp, kind: _Kind, value: Any, at: datetime) -> MetricSample:
            platform, account, post_id, delivery_id, campaign, posted_at = stamp
            metric, raw_name, available, reason = kind
            return MetricSample(
                platform, account, metric, value, at, post_id, raw_name, available, reason,
                delivery_id, campaign, posted_at,
            )  # fmt: skip

        return MetricSample, by_class
    new = object.__new__
    s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11 = (
        getattr(MetricSample, name).__set__ for name in _SAMPLE_FIELDS
    )

    def make(
        platform: str,
        account: str,
        metric: str,
        value: float | None,
        fetched_at: datetime,
        post_id: str | None,
        raw_name: str | None,
        available: bool,
        reason: str | None,
        delivery_id: str | None,
        campaign: str | None,
        posted_at: datetime | None,
    ) -> MetricSample:
        sample = new(MetricSample)
        s0(sample, platform)
        s1(sample, account)
        s2(sample, metric)
        s3(sample, value)
        s4(sample, fetched_at)
        s5(sample, post_id)
        s6(sample, raw_name)
        s7(sample, available)
        s8(sample, reason)
        s9(sample, delivery_id)
        s10(sample, campaign)
        s11(sample, posted_at)
        return sample

    def from_parts(stamp: _Stamp, kind: _Kind, value: Any, at: datetime) -> MetricSample:
        sample = new(MetricSample)
        s0(sample, stamp[0])
        s1(sample, stamp[1])
        s2(sample, kind[0])
        s3(sample, value)
        s4(sample, at)
        s5(sample, stamp[2])
        s6(sample, kind[1])
        s7(sample, kind[2])
        s8(sample, kind[3])
        s9(sample, stamp[3])
        s10(sample, stamp[4])
        s11(sample, stamp[5])
        return sample

    return make, from_parts


_make_sample, _sample_from_parts = _trusted_sample_makers()


def _latest_by_keys(conn: _DuckConnection, f: Filter) -> list[MetricSample]:
    """`Analytics.latest` without a period: each row's stamp and kind keys, value and time
    from ``metrics_latest_rows`` in `latest`'s order, and each distinct stamp and kind
    once (three statements on one connection under the lock: one state of the copy)."""
    series_where, params = f.series_where("s")
    source = f"FROM metrics_latest_rows AS s WHERE {series_where}"
    with _no_gc():
        rows = conn.execute(
            f"SELECT s.stamp_key, s.kind_key, s.value, s.fetched_at {source} ORDER BY s.ord",
            params,
        ).fetchall()
        if not rows:
            return []
        stamp_rows = conn.execute(
            f"SELECT DISTINCT s.stamp_key, {_STAMP_COLUMNS} {source}", params
        ).fetchall()
        kind_rows = conn.execute(
            f"SELECT DISTINCT s.kind_key, {_KIND_COLUMNS} {source}", params
        ).fetchall()
        stamp_keys, kind_keys, values, fetched = zip(*rows, strict=True)
        time_of = _times(fetched, [row[6] for row in stamp_rows]).__getitem__
        stamps = {key: (*rest, time_of(posted)) for key, *rest, posted in stamp_rows}
        kinds = {key: tuple(rest) for key, *rest in kind_rows}
        return list(
            map(
                _sample_from_parts,
                map(stamps.__getitem__, stamp_keys),
                map(kinds.__getitem__, kind_keys),
                values,
                map(time_of, fetched),
            )
        )


def _samples(rows: list[tuple[Any, ...]]) -> list[MetricSample]:
    """Rows of `_SAMPLE_COLUMNS` as samples, built column by column.

    Each time is converted once (a post's metrics share their times) and the objects are
    made by ``map`` over the columns, with no Python code run per row but the maker's
    (`_trusted_sample_makers`): at 250,000 rows that is most of the query's time.
    """
    if not rows:
        return []
    with _no_gc():
        (platform, account, metric, value, fetched, post_id, raw_name, available, reason,
         delivery_id, campaign, posted) = zip(*rows, strict=True)  # fmt: skip
        time_of = _times(fetched, posted).__getitem__
        return list(
            map(
                _make_sample,
                platform,
                account,
                metric,
                value,
                map(time_of, fetched),
                post_id,
                raw_name,
                available,
                reason,
                delivery_id,
                campaign,
                map(time_of, posted),
            )
        )


def _latest_rows(
    conn: _DuckConnection, f: Filter, post_ids: Sequence[str] = ()
) -> list[tuple[Any, ...]]:
    """The rows (`_SAMPLE_COLUMNS`) of `Analytics.latest` with ``f``, in its order (of
    these ``post_ids`` only, when given)."""
    if not f.has_period:
        series_where, params = f.series_where("s", post_ids)
        sql = (
            f"SELECT {_SAMPLE_COLUMNS} FROM metrics_latest_rows AS s "  # noqa: S608
            f"WHERE {series_where} ORDER BY s.ord"
        )
    else:
        sql, params = _latest_in_period(
            f,
            f"s.platform, s.account, s.metric, {_READ_VALUE}, x.fetched_at, s.post_id, "
            f"x.raw_name, {_READ_AVAILABLE}, {_READ_REASON}, s.delivery_id, s.campaign, "
            "s.posted_at",
            post_ids,
        )
        sql += " ORDER BY s.platform, s.account, s.post_id, s.metric"
    with _no_gc():
        return conn.execute(sql, params).fetchall()


def _latest_in_period(
    f: Filter, columns: str, post_ids: Sequence[str] = (), *, available: bool = False
) -> tuple[str, list[Any]]:
    """``SELECT {columns}`` over the latest sample (``x``) in ``f``'s period of each
    matching series (``s``; of these ``post_ids`` only, when given): the store's definition
    (the sample at the series' greatest fetch time in the period), found by one grouped
    pass instead of a subquery per series. With ``available``, ``a`` is the latest sample
    in the period that is available and has a value (NULL columns without one), found in
    the same pass.
    """
    where, params = q.samples_in(f, "metrics_series", "y", post_ids)
    known_at = known = ""
    if available:
        known_at = f", MAX(CASE WHEN {q.counted('y')} THEN y.fetched_at END) AS ok"
        known = (
            "LEFT JOIN metrics_samples AS a ON a.series_id = m.series_id AND a.fetched_at = m.ok"
        )
    sql = f"""
        SELECT {columns}
        FROM (
            SELECT y.series_id, MAX(y.fetched_at) AS at{known_at} FROM metrics_samples AS y
            WHERE {where}
            GROUP BY y.series_id
        ) AS m
        JOIN metrics_samples AS x ON x.series_id = m.series_id AND x.fetched_at = m.at
        {known}
        JOIN metrics_series AS s ON s.id = m.series_id
    """  # noqa: S608
    return sql, params


# `PostEngagement`'s fields, in its positional order (see `_engagement_sql`).
_POST_COLUMNS = (
    "p.platform, p.account, p.post_id, p.campaign, p.delivery_id, p.posted_at, p.at, p.e, "
    "p.imp, followers, rate, basis"
)


# `_engagement_sql`'s order (most engaged first; ``+ 0.0`` makes -0.0 sort as 0.0).
_POST_ORDER = "COALESCE(p.e, 0.0) + 0.0 DESC, p.platform, p.account, p.post_id"


def _build_post_engagement(duck: duckdb.DuckDBPyConnection) -> None:
    """(Re)build ``metrics_post_engagement``: every post's `_engagement_sql` row without a
    filter, numbered in its order (``ord``), from ``metrics_latest_rows`` (built first).

    A post's row depends only on its own series and its account's follower counts, so
    the rows of a platform, an account or a post id are this table's rows of it: what
    `engagement` and `best_times` read when no period and no campaign is asked (a
    campaign is stamped per series, so it may cover only some of a post's metrics).
    """
    sql, params = _engagement_sql(
        Filter(scope="posts"),
        columns=f"{_POST_COLUMNS}, row_number() OVER (ORDER BY {_POST_ORDER}) AS ord",
    )
    duck.execute(f"CREATE OR REPLACE TABLE metrics_post_engagement AS {sql}", params)


def _post_rows(
    f: Filter, *, columns: str = _POST_COLUMNS, where: str = "true"
) -> tuple[str, list[Any]]:
    """`_engagement_sql`'s statement for ``f``, or the same rows read from
    ``metrics_post_engagement`` when ``f`` names no period and no campaign."""
    if f.has_period or f.campaign is not None:
        return _engagement_sql(f, columns=columns, where=where)
    # The table holds one row per post, with its platform, account and post id: the
    # series conditions of ``f`` as a posts filter without metrics (and no campaign here).
    posts_where, params = Filter(
        platform=f.platform, account=f.account, post_id=f.post_id, scope="all"
    ).series_where("p")
    sql = (
        f"SELECT {columns} FROM metrics_post_engagement AS p "  # noqa: S608
        f"WHERE {where} AND {posts_where} ORDER BY p.ord"
    )
    return sql, params


def _engagement_sql(
    f: Filter, *, columns: str = _POST_COLUMNS, where: str = "true"
) -> tuple[str, list[Any]]:
    """One row per matching post that meets ``where``, most engaged first, with these
    ``columns``: of ``p`` platform, account, post_id, campaign, delivery_id, posted_at,
    e (engagements), imp (impressions), at (the time of the engagement readings, else of
    the latest reading); followers (the account's count at ``at``: the last read at or
    before it, else the first read after it); rate and basis.

    The definitions of `_queries.engagement`: each metric's latest available value (in
    the period; an earlier one when the newest reading says "unavailable"), the
    engagements summed by DuckDB, the rate divided as Python divides (IEEE doubles, the
    same result); the follower look-up is an ASOF join and the sort is in SQL (``+ 0.0``
    makes -0.0 sort as 0.0, as Python compares them). Without a period, the posts come
    from ``metrics_latest_rows`` grouped by their integer key; with one, from the shared
    latest-sample SQL.
    """
    g = f.of_posts((*ENGAGEMENT_METRICS, Metric.IMPRESSIONS.value))
    marks = ", ".join("?" for _ in ENGAGEMENT_METRICS)
    sums = f"""
        MAX(l.campaign) AS campaign, MAX(l.delivery_id) AS delivery_id,
        MAX(l.posted_at) AS posted_at,
        SUM(CASE WHEN l.metric IN ({marks}) THEN l.available_value END) AS e,
        MAX(CASE WHEN l.metric = ? THEN l.available_value END) AS imp,
        COALESCE(MAX(CASE WHEN l.metric IN ({marks}) THEN l.available_at END),
                 MAX(l.fetched_at)) AS at
    """
    sums_params = [*ENGAGEMENT_METRICS, Metric.IMPRESSIONS.value, *ENGAGEMENT_METRICS]
    followers = f.of_followers(period=False)
    if not f.has_period:
        posts_where, posts_params = g.series_where("l")
        followers_where, followers_params = followers.series_where("k")
        posts = f"""
            SELECT any_value(l.platform) AS platform, any_value(l.account) AS account,
                   any_value(l.post_id) AS post_id, any_value(l.account_key) AS key, {sums}
            FROM metrics_latest_rows AS l WHERE {posts_where} GROUP BY l.post_key
        """  # noqa: S608
        history = f"""
            SELECT k.account_key AS key, x.fetched_at AS t, x.value AS v
            FROM metrics_latest_rows AS k JOIN metrics_samples AS x ON x.series_id = k.series_id
            WHERE {followers_where} AND {q.counted("x")}
        """  # noqa: S608
        params = [*sums_params, *posts_params, *followers_params]
        keys: tuple[str, ...] = ("key",)
    else:
        latest, latest_params = _latest_in_period(
            g,
            "s.platform, s.account, s.post_id, s.metric, a.value AS available_value, "
            "a.fetched_at AS available_at, x.fetched_at, s.campaign, s.delivery_id, s.posted_at",
            available=True,
        )
        followers_where, followers_params = followers.where("s", "x")
        posts = f"""
            SELECT l.platform, l.account, l.post_id, {sums}
            FROM ({latest}) AS l GROUP BY l.platform, l.account, l.post_id
        """  # noqa: S608
        history = f"""
            SELECT s.platform, s.account, x.fetched_at AS t, x.value AS v
            FROM metrics_series AS s JOIN metrics_samples AS x ON x.series_id = s.id
            WHERE {followers_where} AND {q.counted("x")}
        """  # noqa: S608
        params = [*sums_params, *latest_params, *followers_params]
        keys = ("platform", "account")
    same = " AND ".join(f"{{0}}.{key} = {{1}}.{key}" for key in keys)
    sql = f"""
        WITH p AS ({posts}), fw AS ({history}),
        f0 AS (SELECT {", ".join(keys)}, arg_min(v, t) AS v FROM fw GROUP BY ALL),
        j AS (
            SELECT p.*, COALESCE(b.v, f0.v) AS followers
            FROM p
            ASOF LEFT JOIN fw AS b ON {same.format("b", "p")} AND p.at >= b.t
            LEFT JOIN f0 ON {same.format("f0", "p")}
        )
        SELECT {columns} FROM (
            SELECT j.*,
                   CASE WHEN e IS NULL THEN NULL WHEN imp <> 0 THEN e / imp
                        WHEN followers <> 0 THEN e / followers END AS rate,
                   CASE WHEN e IS NULL THEN NULL WHEN imp <> 0 THEN 'impressions'
                        WHEN followers <> 0 THEN 'followers' END AS basis
            FROM j
        ) AS p
        WHERE {where}
        ORDER BY {_POST_ORDER}
    """  # noqa: S608
    return sql, params


def _load(
    src: sqlite3.Connection,
    duck: duckdb.DuckDBPyConnection,
    tmp: Path,
    table: str,
    columns: tuple[_Column, ...],
    alias: str,
    source: str,
    params: list[Any],
    reads: Mapping[str, str] | None = None,
) -> int:
    """Copy SQLite rows (``SELECT ... {source}``) into a DuckDB table, ``_BATCH`` at a time
    (``reads``: SQL read for a column instead of the column itself).

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
        read = (reads or {}).get(name, f"{alias}.{name}")
        if nullable:
            picked.append(f"({read}) IS NULL, COALESCE({read}, {_PLACEHOLDER[kind]})")
            csv_columns += [f"'{name}_null': 'INTEGER'", f"'{name}': '{read_as}'"]
            rebuilt.append(f"CASE WHEN {name}_null = 1 THEN NULL ELSE {value} END")
        else:
            picked.append(read)
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
