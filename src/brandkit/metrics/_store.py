"""``MetricsStore``: metric samples in SQLite, as time series, with the queries on them."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import operator
import os
import sqlite3
import threading
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime, timedelta, tzinfo
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, TypeVar, Unpack, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from brandkit._durations import lock_wait
from brandkit._sqlite import begin_immediate, create_private, retry_locked
from brandkit.backends import sql_kind
from brandkit.errors import BrandkitError, ConfigurationError
from brandkit.metrics import _queries as q
from brandkit.metrics._rows import (
    FollowerGrowth,
    Point,
    PostEngagement,
    TimeSlot,
    Total,
    UnavailableMetric,
)
from brandkit.metrics._sample import MetricSample
from brandkit.metrics._sql import (
    SCHEMA,
    SCHEMA_VERSION,
    AccountWhere,
    CampaignWhere,
    Filter,
    PostWhere,
    SampleWhere,
    Scope,
    TotalsWhere,
    _text,
    from_us,
    to_us,
)

if TYPE_CHECKING:
    import pandas  # type: ignore[import-untyped, import-not-found, unused-ignore]

    from brandkit.metrics._duck import Analytics

__all__ = ["MetricsStore"]

T = TypeVar("T")

_CHUNK = 20_000
# Series ids are cached so that ingest needs no look-up per sample; the cache is dropped
# when it grows past this many series (memory stays bounded on huge stores).
_CACHE_LIMIT = 500_000

_ROW_KEY = operator.itemgetter(0, 1)  # (series_id, fetched_at): the samples' primary key
_INSERT_SAMPLE = (
    "INSERT OR IGNORE INTO metrics_samples "
    "(series_id, fetched_at, value, available, raw_name, reason) VALUES (?, ?, ?, ?, ?, ?)"
)

# A sample's series and its post, as conditions on the series table. A post's series and an
# account's are found by two statements rather than one ``post_id IS ?``, so that each uses
# its own partial unique index.
_POST = "post_id = ? AND platform = ? AND account = ?"
_POST_METRIC = f"{_POST} AND metric = ?"
_ACCOUNT_METRIC = "post_id IS NULL AND account = ? AND platform = ? AND metric = ?"
_STAMPS = "delivery_id, campaign, posted_at"

# (platform, account, post_id, metric) -> [series id, delivery_id, campaign, posted_at]
_Key = tuple[str, str, str | None, str]
_Cached = list[Any]


class MetricsQueries:
    """The query methods shared by [`MetricsStore`][brandkit.metrics.MetricsStore] (SQLite)
    and [`Analytics`][brandkit.metrics.Analytics] (DuckDB): same signatures, same results.

    A subclass gives `_reading` (the connection for one statement) and `_read` (one
    consistent snapshot for several); the SQL is `brandkit.metrics._queries`'s. Each public
    method reads and checks its filter keywords here, for every engine, and hands the
    `Filter` to an answering method (`_latest`, `_series`, ...) that a subclass may answer
    its own way, as `Analytics` does.
    """

    def _reading(self) -> AbstractContextManager[q.Connection]:
        raise NotImplementedError

    def _read(self) -> AbstractContextManager[q.Connection]:
        raise NotImplementedError

    def count(self, *, scope: Scope = "all", **where: Unpack[SampleWhere]) -> int:
        """How many samples match (unavailable ones included).

        Args:
            **where: filters: platform, account, post_id, campaign, metric, since, until.

        Raises:
            ConfigurationError: a time is not ISO 8601, or the store is closed.
        """
        f = Filter.of("count", SampleWhere, where, scope=scope)
        with self._reading() as conn:
            return q.count(conn, f)

    def span(
        self, *, scope: Scope = "all", **where: Unpack[SampleWhere]
    ) -> tuple[datetime, datetime] | None:
        """The first and last fetch times of the matching samples; ``None`` when there are
        none.

        Args:
            **where: filters: platform, account, post_id, campaign, metric, since, until.

        Raises:
            ConfigurationError: a time is not ISO 8601, or the store is closed.
        """
        f = Filter.of("span", SampleWhere, where, scope=scope)
        with self._reading() as conn:
            return q.span(conn, f)

    def latest(
        self, *, scope: Scope | None = None, **where: Unpack[SampleWhere]
    ) -> list[MetricSample]:
        """The latest sample of each post and metric (of each account with ``scope="account"``).

        A latest sample that says "unavailable" is returned as it is (``available=False``
        with its reason). With ``until``, the values are those known at that time.

        Args:
            **where: filters: platform, account, post_id, campaign, metric, since, until.

        Raises:
            ConfigurationError: a time is not ISO 8601, or the store is closed.
        """
        return self._latest(Filter.of("latest", SampleWhere, where, scope=scope))

    def posts(self, **where: Unpack[SampleWhere]) -> list[tuple[str, str, str]]:
        """The posts that `latest` has samples of with the same filters: each one's
        ``(platform, account, post_id)``, once, in `latest`'s order.

        For what needs the posts but not every value (counting them, choosing a page of
        them for `latest_of`): on a large history `latest` builds one
        [`MetricSample`][brandkit.MetricSample] per post and metric, this one tuple per post.

        Args:
            **where: filters: platform, account, post_id, campaign, metric, since, until.

        Raises:
            ConfigurationError: a time is not ISO 8601, or the store is closed.
        """
        return self._posts(Filter.of("posts", SampleWhere, where, scope="posts"))

    def latest_of(
        self, posts: Iterable[tuple[str, str, str]], **where: Unpack[SampleWhere]
    ) -> list[MetricSample]:
        """`latest`'s samples of these posts only, post by post in the order given (a post
        given twice comes once), each post's metrics in `latest`'s order.

        A page of posts chosen from `posts` (the report's raw-numbers table shows the 200
        most engaged) costs what that page holds, not the whole history's latest values.

        Args:
            posts: each post's ``(platform, account, post_id)``, as `posts` gives them; a
                post without a matching sample is left out.
            **where: filters: platform, account, post_id, campaign, metric, since, until.

        Raises:
            ConfigurationError: a time is not ISO 8601, a post is not three texts (a post id
                is the platform's id as text, as `posts` gives it), or the store is closed.
        """
        f = Filter.of("latest_of", SampleWhere, where, scope="posts")
        return self._latest_of(f, _post_keys(posts))

    def series(
        self,
        metric: str | Sequence[str],
        *,
        interval: timedelta | None = None,
        scope: Scope | None = None,
        **where: Unpack[PostWhere],
    ) -> list[Point]:
        """A time series of one metric (or the sum of several) for a post, an account, a
        platform, a campaign, or everything.

        At each time, the value is the sum over the matching posts of each post's latest
        available value, so a single post's series is its own samples and a platform's is
        its running total. Several metrics add up (``series(ENGAGEMENT_METRICS, ...)``).
        ``"followers"`` alone reads the accounts' follower counts. With ``interval``
        (e.g. ``timedelta(days=1)``), there is one point per interval (aligned to the Unix
        epoch, so days start at 00:00 UTC), labelled with its start and carrying the value
        at its end. Unavailable samples are left out of the sum.

        Args:
            **where: filters: platform, account, post_id, campaign, since, until.

        Raises:
            ConfigurationError: a time is not ISO 8601, ``interval`` is not a positive
                timedelta, or the store is closed.
        """
        return self._series(
            Filter.of("series", PostWhere, where, scope=scope, metric=metric), interval
        )

    def totals(self, by: q.GroupBy = "platform", **where: Unpack[TotalsWhere]) -> list[Total]:
        """Per platform, campaign or account, and per metric: the sum of each post's latest
        available value in the period, with how many posts contributed and how many have
        "unavailable" as their latest reading (a deleted post still contributes its last
        value, and counts in both).

        Args:
            **where: filters: platform, account, campaign, metric, since, until.

        Raises:
            ConfigurationError: ``by`` is not ``"platform"``, ``"campaign"`` or
                ``"account"``; a time is not ISO 8601; the store is closed.
        """
        f = Filter.of("totals", TotalsWhere, where, scope="posts")
        with self._reading() as conn:
            return q.totals(conn, f, by)

    def engagement(self, **where: Unpack[PostWhere]) -> list[PostEngagement]:
        """Each post's engagements and engagement rate, most engaged first.

        engagements = likes + reposts + replies + quotes + bookmarks + shares (each post's
        latest available values in the period, earlier ones when the latest reading says
        "unavailable"; a metric the platform does not give counts as absent).
        rate = engagements / impressions when the post has impressions above zero, else
        engagements / followers, with the account's follower count at the time the
        engagement numbers were read (the last count read at or before, else the first
        one after). ``basis`` says which.

        Args:
            **where: filters: platform, account, post_id, campaign, since, until.

        Raises:
            ConfigurationError: a time is not ISO 8601, or the store is closed.
        """
        return self._engagement(Filter.of("engagement", PostWhere, where, scope="posts"))

    def follower_growth(self, **where: Unpack[AccountWhere]) -> list[FollowerGrowth]:
        """Each account's first and last follower counts in the period, the change, and
        every count read in between.

        Args:
            **where: filters: platform, account, since, until.

        Raises:
            ConfigurationError: a time is not ISO 8601, or the store is closed.
        """
        f = Filter.of("follower_growth", AccountWhere, where)
        with self._reading() as conn:
            return q.follower_growth(conn, f)

    def best_times(
        self, *, tz: str | tzinfo = "UTC", **where: Unpack[CampaignWhere]
    ) -> list[TimeSlot]:
        """Weekday × hour slots by the mean engagements of the posts published in them,
        best first. Posts without a known publication time or engagements are left out.

        Args:
            **where: filters: platform, account, campaign, since, until.
            tz: the time zone of the weekdays and hours (an IANA name or a tzinfo).

        Raises:
            ConfigurationError: the time zone is unknown, a time is not ISO 8601, or the
                store is closed.
        """
        zone = _zone(tz)
        return self._best_times(Filter.of("best_times", CampaignWhere, where, scope="posts"), zone)

    def unavailable(self, **where: Unpack[CampaignWhere]) -> list[UnavailableMetric]:
        """The metrics whose latest sample says unavailable, with the platforms' reasons
        (and those whose latest sample holds a value that is no count, stored by an older
        version: `latest` reads it as unavailable, with the reason ``stored value … is not
        a count``, and the sums leave it out).

        Args:
            **where: filters: platform, account, campaign, since, until.

        Raises:
            ConfigurationError: a time is not ISO 8601, or the store is closed.
        """
        f = Filter.of("unavailable", CampaignWhere, where, scope="all")
        with self._reading() as conn:
            return q.unavailable(conn, f)

    # The answers to a built filter. Each public method above reads and checks its keywords
    # once, for every engine; `Analytics` answers these six with DuckDB statements of its own.

    def _latest(self, f: Filter) -> list[MetricSample]:
        with self._reading() as conn:
            return q.latest(conn, f)

    def _latest_page(self, f: Filter, limit: int) -> tuple[list[MetricSample], int]:
        """`latest`'s first ``limit`` samples (above 0) and how many it has in all."""
        with self._reading() as conn:
            return q.latest_page(conn, f, limit)

    def _posts(self, f: Filter) -> list[tuple[str, str, str]]:
        with self._reading() as conn:
            return q.posts(conn, f)

    def _latest_of(self, f: Filter, posts: Iterable[tuple[str, str, str]]) -> list[MetricSample]:
        with self._reading() as conn:
            return q.latest_of(conn, f, posts)

    def _series(self, f: Filter, interval: timedelta | None) -> list[Point]:
        with self._reading() as conn:
            return q.series(conn, f, interval)

    def _engagement(self, f: Filter) -> list[PostEngagement]:
        with self._read() as conn:
            return q.engagement(conn, f)

    def _best_times(self, f: Filter, zone: tzinfo) -> list[TimeSlot]:
        with self._read() as conn:
            return q.best_times(conn, f, zone)


class MetricsStore(MetricsQueries):
    """Metric samples in a SQLite file: idempotent ingest, time series, totals, reports.

    ```python
    with MetricsStore("brandkit.db") as store:
        store.add(client.collect(deliveries))
        for row in store.totals(by="platform"):
            print(row.group, row.metric, row.value)
    ```

    The file may be shared with the outbox (every table is named ``metrics_*``) and with
    other processes: the store opens it in WAL mode and waits up to ``timeout`` seconds
    for a lock. One store may be used from several threads.

    Queries take their filters as keywords, each method the ones that make sense for it
    (its signature names the set): ``platform`` and ``account`` (an account key such as
    ``"x:brand"``); ``campaign``; ``post_id`` (the platform's id of one post); ``metric``
    (one canonical name or several; an empty list matches none); ``since`` and ``until``.
    Times are aware datetimes or ISO 8601 text; naive ones are read as UTC. ``since`` is
    inclusive, ``until`` exclusive, and both apply to the time a sample was fetched. An
    unknown keyword is a ``TypeError`` naming the closest one the method takes.

    Every method raises [`BrandkitError`][brandkit.errors.BrandkitError] when the database itself
    fails (another process held the lock past ``timeout``, the disk is full), and
    [`ConfigurationError`][brandkit.errors.ConfigurationError] once the store is closed.

    A ``postgresql://`` URL gives the same store on a PostgreSQL server
    ([`PostgresMetricsStore`][brandkit.metrics.PostgresMetricsStore]: the same methods and
    answers, for collectors and reports on several machines):

    ```python
    store = MetricsStore("postgresql://brandkit@db.internal/brandkit", prefix="acme_")
    ```

    Args:
        path_or_connection: a file path (created if missing), ``":memory:"``, an open
            ``sqlite3.Connection`` that the caller owns (its pragmas are left alone and
            `close` does not close it), or a ``postgresql://`` URL.
        timeout: seconds to wait for another process's lock before failing.
        prefix: PostgreSQL only: put before every table name (default ``brandkit_``).

    Raises:
        ConfigurationError: the file cannot be opened, is not a SQLite database, or was
            written by a newer brandkit; ``prefix`` is given for an SQLite file; the
            target is a URL of another kind (``redis://``).
    """

    # The tables' names: ``metrics_*`` in an SQLite file (a PostgreSQL store's are prefixed).
    _dialect: q.Dialect = q.SQLITE

    def __new__(
        cls,
        path_or_connection: str | os.PathLike[str] | sqlite3.Connection = "brandkit.db",
        *_: Any,
        **__: Any,
    ) -> MetricsStore:
        # A PostgreSQL URL gives the same store on a server (brandkit.metrics._postgres).
        # Checked for subclasses too: an empty path is a temporary database (see sql_kind).
        if (
            not isinstance(path_or_connection, sqlite3.Connection)
            and sql_kind(path_or_connection, "metrics are") == "postgresql"
            and cls is MetricsStore
        ):
            from brandkit.metrics._postgres import PostgresMetricsStore

            return object.__new__(PostgresMetricsStore)
        return object.__new__(cls)

    def __init__(
        self,
        path_or_connection: str | os.PathLike[str] | sqlite3.Connection = "brandkit.db",
        *,
        timeout: float = 30.0,
        prefix: str | None = None,
    ) -> None:
        if prefix is not None:
            raise ConfigurationError(
                "prefix= names PostgreSQL tables; an SQLite metrics store's tables are always "
                "metrics_* (give a postgresql:// URL, or leave prefix out)"
            )
        timeout = lock_wait(timeout)
        self._lock = threading.RLock()
        self._cache: dict[_Key, _Cached] = {}
        # How long a write waits for another process's lock, on a file the store opened (a
        # connection the caller passes keeps its own busy handler).
        self._lock_wait: float | None = None
        if isinstance(path_or_connection, sqlite3.Connection):
            self._conn = path_or_connection
            self._owned = False
            self.path: str | None = None
        else:
            self.path = os.fspath(path_or_connection)
            try:
                create_private(self.path)
                self._conn = sqlite3.connect(
                    self.path, timeout=timeout, isolation_level=None, check_same_thread=False
                )
            except (sqlite3.Error, OSError) as exc:
                raise ConfigurationError(f"cannot open metrics store {self.path!r}: {exc}") from exc
            self._owned = True
            self._lock_wait = timeout
        try:
            if self._owned:
                self._conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
                _wal(self._conn, timeout)
                self._conn.execute("PRAGMA synchronous = NORMAL")
                # A sample under a series id that does not exist (a stale cache entry) is
                # refused instead of being read as another post's metric.
                self._conn.execute("PRAGMA foreign_keys = ON")
                # 64 MiB of page cache (used only as the file grows): ingest touches pages
                # all over the samples table, and the 2 MiB default thrashes past ~100k
                # samples (measured: +40 % ingest rate at 1M samples).
                self._conn.execute("PRAGMA cache_size = -65536")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            self.close()
            raise ConfigurationError(f"cannot use {self.path or 'connection'!r}: {exc}") from exc
        except BrandkitError:
            self.close()
            raise

    # -- plumbing ----------------------------------------------------------------------------

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """Database failures (lock timeout, full disk, corruption) as BrandkitError."""
        try:
            yield
        except sqlite3.OperationalError as exc:
            raise BrandkitError(f"metrics store {self.path or 'connection'!r}: {exc}") from exc
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.ProgrammingError | sqlite3.InterfaceError):
                raise
            raise BrandkitError(f"metrics store {self.path or 'connection'!r}: {exc}") from exc

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (a savepoint inside the caller's own transaction)."""
        with self._lock, self._errors():
            conn = self._connection()
            nested = conn.in_transaction
            if nested:
                conn.execute("SAVEPOINT metrics_write")
            elif self._lock_wait is not None:
                begin_immediate(conn, self._lock_wait)  # short steps, not SQLite's backoff
            else:
                conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("RELEASE metrics_write" if nested else "COMMIT")
            except BaseException:
                if nested:
                    conn.execute("ROLLBACK TO metrics_write")
                    conn.execute("RELEASE metrics_write")
                elif conn.in_transaction:
                    conn.execute("ROLLBACK")
                # Series ids created in the rolled-back transaction must not be reused.
                self._cache.clear()
                raise

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        """The connection for one read statement, under the lock."""
        with self._lock, self._errors():
            yield self._connection()

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """One consistent snapshot for queries made of several statements."""
        with self._lock, self._errors():
            conn = self._connection()
            if conn.in_transaction:
                yield conn
                return
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                conn.execute("COMMIT")

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise ConfigurationError("this MetricsStore is closed")
        return self._conn

    def _migrate(self) -> None:
        """Create the tables unless this file already has them (then no write lock)."""
        conn = self._connection()
        if self._check_version(conn) == SCHEMA_VERSION:
            return
        with self._write() as conn:
            # executescript() would commit on its own; run the statements inside this one.
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            if self._check_version(conn) is None:
                conn.execute(
                    "INSERT INTO metrics_meta (key, value) VALUES ('schema_version', ?)",
                    (str(SCHEMA_VERSION),),
                )

    @staticmethod
    def _check_version(conn: sqlite3.Connection) -> int | None:
        """The file's schema version (``None``: no tables yet).

        Raises:
            ConfigurationError: a newer brandkit wrote the file.
        """
        try:
            row = conn.execute(
                "SELECT value FROM metrics_meta WHERE key = 'schema_version'"
            ).fetchone()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return None
            raise
        if row is None:
            return None
        version = int(row[0])
        if version > SCHEMA_VERSION:
            raise ConfigurationError(
                f"this metrics store was written by a newer brandkit (schema {version}, "
                f"this version reads {SCHEMA_VERSION}); upgrade brandkit"
            )
        return version

    def close(self) -> None:
        """Close the file (a connection passed in by the caller is left open)."""
        with self._lock:
            conn, self._conn = self._conn, None  # type: ignore[assignment]
            if conn is not None and self._owned:
                conn.close()

    def __enter__(self) -> MetricsStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        where = self.path if self.path is not None else "connection"
        return f"MetricsStore({where!r})"

    # -- ingest ------------------------------------------------------------------------------

    def add(self, samples: Iterable[MetricSample]) -> int:
        """Store samples; return how many were new.

        A sample already stored (same platform, account, post, metric and fetch time) is
        skipped (the first value stays), so adding the same samples again is safe. All
        samples of one call are committed together. Delivery id, campaign and posted time
        belong to the post: a sample that carries them stamps every metric of its post,
        earlier ones included, and a later non-empty stamp replaces an earlier one. On a
        caller's connection each call looks its series up afresh, as the caller may have
        rolled back the transaction that created them.

        Raises:
            ConfigurationError: the store is closed, or something given is not a
                `MetricSample`; nothing of this call is stored.
            BrandkitError: the database failed (another process held the lock for longer
                than ``timeout``, the disk is full); nothing of this call is stored.
        """
        inserted = 0
        cache = self._cache
        micro = to_us
        with self._write() as conn:
            if not self._owned:
                # The caller may have rolled back (or committed elsewhere) since the last
                # call, dropping series this cache still names: trust nothing from before.
                cache.clear()
            batch: list[tuple[Any, ...]] = []
            append = batch.append
            for sample in samples:
                if type(sample) is not MetricSample and not isinstance(sample, MetricSample):
                    raise not_a_sample(sample)
                # The common case, a known series with nothing new to stamp, stays inline:
                # ingest speed is this loop.
                entry = cache.get((sample.platform, sample.account, sample.post_id, sample.metric))
                if (
                    entry is None
                    or (sample.delivery_id is not None and sample.delivery_id != entry[1])
                    or (sample.campaign is not None and sample.campaign != entry[2])
                    or (sample.posted_at is not None and sample.posted_at != entry[3])
                ):
                    series = self._series_id(conn, sample)
                else:
                    series = entry[0]
                at = sample.fetched_at  # aware UTC (MetricSample converts it)
                append(
                    (
                        series,
                        # Exact: a float timestamp carried a last microsecond into the
                        # next second from about the year 2300.
                        micro(at),
                        sample.value,
                        1 if sample.available else 0,
                        sample.raw_name,
                        sample.reason,
                    )
                )
                if len(batch) >= _CHUNK:
                    inserted += self._insert(conn, batch)
                    batch.clear()
            if batch:
                inserted += self._insert(conn, batch)
        return inserted

    # -- async -------------------------------------------------------------------------------

    async def aadd(self, samples: Iterable[MetricSample]) -> int:
        """`add` for async code: the same transaction, run in a worker thread, so that the
        event loop never waits for the database (another process's write lock, up to
        ``timeout``; the commit's fsync; a PostgreSQL round trip).

        The samples are read into a list first, on the loop (a generator of the caller's
        runs there, not in the thread). The rules are `add`'s: all samples of the call are
        committed together or none is, and a sample already stored is skipped, so adding
        again after a failure, or after a cancellation, never stores one twice. When the
        awaiting task is cancelled while the write is under way, the write (which a thread
        cannot be made to drop) is awaited to its end, committed or rolled back, before
        ``CancelledError`` is raised: once `aadd` is over, so is its transaction.

        ```python
        async with AsyncClient() as client:
            new = await store.aadd(await client.collect(deliveries))
        ```

        Raises:
            ConfigurationError: the store is closed, or something given is not a
                `MetricSample`.
            BrandkitError: as `add` (the lock was held past ``timeout``, the disk is full);
                nothing of this call is stored.
        """
        batch = list(samples)
        return await _to_thread(functools.partial(self.add, batch))

    async def alatest(
        self, *, scope: Scope | None = None, **where: Unpack[SampleWhere]
    ) -> list[MetricSample]:
        """`latest` for async code, in a worker thread (see `aadd`): a query waits for the
        store's own lock while another thread of this process writes through it.

        Raises:
            ConfigurationError: a time is not ISO 8601, or the store is closed.
            BrandkitError: the database failed.
        """
        return await _to_thread(functools.partial(self.latest, scope=scope, **where))

    async def acount(self, *, scope: Scope = "all", **where: Unpack[SampleWhere]) -> int:
        """`count` for async code, in a worker thread (see `aadd`).

        Raises:
            ConfigurationError: a time is not ISO 8601, or the store is closed.
            BrandkitError: the database failed.
        """
        return await _to_thread(functools.partial(self.count, scope=scope, **where))

    def _insert(self, conn: sqlite3.Connection, batch: list[tuple[Any, ...]]) -> int:
        """Store sample rows, leaving those already stored; return how many were new."""
        # In key order, consecutive rows land on the same B-tree pages: a collection round
        # touches every series once, which in arrival order is a random walk over the file.
        batch.sort(key=_ROW_KEY)
        before = conn.total_changes
        conn.executemany(_INSERT_SAMPLE, batch)
        return conn.total_changes - before

    def _series_id(self, conn: Any, sample: MetricSample) -> int:
        """The id of the sample's series, created if new; keeps the post's stamps current.

        Stamps (delivery id, campaign, posted time) belong to the post, so they are shared
        by all its metrics: a new metric of a known post inherits them, and a sample that
        brings new ones updates every metric of its post. The cache keeps, per series,
        ``[id, delivery_id, campaign, posted_at]`` (posted_at as an aware datetime).
        """
        key = (sample.platform, sample.account, sample.post_id, sample.metric)
        posted = to_us(sample.posted_at) if sample.posted_at is not None else None
        stamps = [sample.delivery_id, sample.campaign, posted]
        cached = self._cache.get(key)
        if cached is None:
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            row = self._find_series(conn, sample)
            if row is None:
                inherited = self._post_stamps(conn, sample)
                merged = [n if n is not None else o for n, o in zip(stamps, inherited, strict=True)]
                created = self._new_series(conn, key, merged)
                self._cache[key] = _entry(created, merged)
                if sample.post_id is not None and merged != inherited and any(inherited):
                    self._restamp(conn, sample, merged)
                return created
            series_id, *known = row
        else:
            series_id = cached[0]
            known = [cached[1], cached[2], to_us(cached[3]) if cached[3] is not None else None]
        merged = [n if n is not None else o for n, o in zip(stamps, known, strict=True)]
        if merged != known:
            if sample.post_id is None:
                conn.execute(
                    f"UPDATE {self._dialect.series} "  # noqa: S608
                    "SET delivery_id = ?, campaign = ?, posted_at = ? WHERE id = ?",
                    (*merged, series_id),
                )
            else:
                self._restamp(conn, sample, merged)
        self._cache[key] = _entry(series_id, merged)
        return int(series_id)

    def _find_series(self, conn: Any, sample: MetricSample) -> Sequence[Any] | None:
        """The stored series of the sample, as ``(id, delivery_id, campaign, posted_at)``,
        or ``None`` when it has none yet."""
        if sample.post_id is None:
            where = _ACCOUNT_METRIC
            args: tuple[Any, ...] = (sample.account, sample.platform, sample.metric)
        else:
            where = _POST_METRIC
            args = (sample.post_id, sample.platform, sample.account, sample.metric)
        row: Sequence[Any] | None = conn.execute(
            f"SELECT id, {_STAMPS} FROM {self._dialect.series} WHERE {where}",  # noqa: S608
            args,
        ).fetchone()
        return row

    def _new_series(self, conn: Any, key: _Key, stamps: list[Any]) -> int:
        """Create the series of ``key`` with these stamps; return its id."""
        cursor = conn.execute(
            f"INSERT INTO {self._dialect.series} "  # noqa: S608
            f"(platform, account, post_id, metric, {_STAMPS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (*key, *stamps),
        )
        assert cursor.lastrowid is not None
        return int(cursor.lastrowid)

    def _post_stamps(self, conn: Any, sample: MetricSample) -> list[Any]:
        """The stamps already known for the sample's post (from its other metrics): those
        of the metric that has the most of them."""
        if sample.post_id is None:
            return [None, None, None]
        missing = " + ".join(
            f"CASE WHEN {column} IS NULL THEN 1 ELSE 0 END" for column in _STAMPS.split(", ")
        )
        row = conn.execute(
            f"SELECT {_STAMPS} FROM {self._dialect.series} WHERE {_POST} "  # noqa: S608
            f"ORDER BY {missing} LIMIT 1",
            (sample.post_id, sample.platform, sample.account),
        ).fetchone()
        return list(row) if row else [None, None, None]

    def _restamp(self, conn: Any, sample: MetricSample, stamps: list[Any]) -> None:
        """Give every metric of the sample's post these stamps (``None`` keeps the old)."""
        conn.execute(
            f"UPDATE {self._dialect.series} SET delivery_id = COALESCE(?, delivery_id), "  # noqa: S608
            "campaign = COALESCE(?, campaign), posted_at = COALESCE(?, posted_at) "
            f"WHERE {_POST}",
            (*stamps, sample.post_id, sample.platform, sample.account),
        )

    # -- reading -----------------------------------------------------------------------------

    def samples(
        self, *, scope: Scope = "all", **where: Unpack[SampleWhere]
    ) -> Iterator[MetricSample]:
        """Every matching sample, unavailable ones included, series by series, oldest first.

        Args:
            **where: filters: platform, account, post_id, campaign, metric, since, until.

        Raises:
            ConfigurationError: a time is not ISO 8601, or the store is closed.
        """
        f = Filter.of("samples", SampleWhere, where, scope=scope)
        for rows in self._chunks(f):
            times: dict[int, datetime] = {}
            yield from (q.row_to_sample(row, times) for row in rows)

    def _chunks(self, f: Filter) -> Generator[list[tuple[Any, ...]], None, None]:
        """Matching sample rows in chunks, for export (no object per sample).

        The lock is held per chunk, not across ``yield``, so a slow consumer never blocks
        other threads.
        """
        with self._reading() as conn:
            cursor = cast(sqlite3.Cursor, q.open_rows(conn, f))
        try:
            while True:
                with self._lock, self._errors():
                    rows = cursor.fetchmany(10_000)
                if not rows:
                    return
                yield rows
        finally:
            with self._lock:
                # The store may have been closed before an abandoned iterator is collected.
                if self._conn is not None:
                    with contextlib.suppress(sqlite3.ProgrammingError):
                        cursor.close()

    # -- analytics ---------------------------------------------------------------------------

    def analytics(
        self, path: str | os.PathLike[str] | None = None, *, refresh: bool = True
    ) -> Analytics:
        """The analytics path over this store's file: the same queries answered by DuckDB
        from an incrementally refreshed copy (see [`Analytics`][brandkit.metrics.Analytics]).

        Args:
            path: the DuckDB file (default: this store's path with ``.duckdb`` appended).
            refresh: bring the copy up to date now.

        Raises:
            ConfigurationError: duckdb is not installed (``pip install 'brandkit[analytics]'``),
                or this store is not on a file.
        """
        from brandkit.metrics._duck import Analytics

        return Analytics(self, path, refresh=refresh)

    # -- export ------------------------------------------------------------------------------

    def to_csv(
        self,
        path_or_file: str | os.PathLike[str] | IO[str],
        *,
        formula_guard: bool = True,
        **where: Unpack[SampleWhere],
    ) -> int:
        """Write the matching samples as CSV (one row per sample, times in ISO 8601 UTC);
        return how many rows were written. `brandkit.metrics.read_csv` reads it back. A
        file named by its path is written whole or not at all (beside it, then renamed over
        it): an export cut short leaves the file that was there.

        Text that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``,
        ``@``, a tab or a carriage return, e.g. a campaign named ``=HYPERLINK(...)``) is
        written with a leading ``'`` as OWASP recommends; ``formula_guard=False`` writes
        it as it is. ``read_csv`` reads a guarded file back unchanged, and an unguarded one
        too except text that itself starts with ``'`` and then a formula character
        (``'=x``), whose ``'`` it takes for a guard and drops.

        Args:
            **where: filters: platform, account, post_id, campaign, metric, since, until.

        Raises:
            ConfigurationError: a time is not ISO 8601, or the store is closed.
            OSError: the file cannot be written.
        """
        from brandkit.metrics._export import write_csv

        chunks = self._chunks(Filter.of("to_csv", SampleWhere, where, scope="all"))
        try:
            return write_csv(chunks, path_or_file, formula_guard=formula_guard)
        finally:
            chunks.close()

    def to_dataframe(self, **where: Unpack[SampleWhere]) -> pandas.DataFrame:
        """The matching samples as a pandas DataFrame (one row per sample; ``fetched_at``
        and ``posted_at`` as UTC datetimes, ``value`` as float with NaN when unavailable).

        Args:
            **where: filters: platform, account, post_id, campaign, metric, since, until.

        Raises:
            ConfigurationError: pandas is not installed (``pip install 'brandkit[pandas]'``),
                a time is not ISO 8601, or the store is closed.
        """
        from brandkit.metrics._export import dataframe

        chunks = self._chunks(Filter.of("to_dataframe", SampleWhere, where, scope="all"))
        try:
            return dataframe(chunks)
        finally:
            chunks.close()


def _wal(conn: sqlite3.Connection, timeout: float) -> None:
    """Put the file in WAL mode, waiting up to ``timeout`` seconds for other connections.

    Switching a new file to WAL needs its exclusive lock, and while another connection
    holds the write lock of a file still in rollback mode (another store creating its
    tables in the same new file) SQLite refuses at once with "database is locked", without
    calling the busy handler. So the switch is retried here, within the store's timeout,
    like any other wait for a lock.
    """
    retry_locked(lambda: conn.execute("PRAGMA journal_mode = WAL"), timeout, first=0.005, most=0.1)


async def _to_thread(call: Callable[[], T]) -> T:
    """``call()`` in asyncio's default executor, awaited to its end even when the awaiting
    task is cancelled meanwhile (the cancellation is raised once it has ended).

    A store's call in a thread cannot be called back; were the task to unwind at once, the
    caller could not tell whether the transaction is still open. Its end is bounded by the
    store's ``timeout`` (each lock wait) and the work itself.
    """
    task = asyncio.ensure_future(asyncio.to_thread(call))
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        while not task.done():
            try:
                await asyncio.wait([task])
            except asyncio.CancelledError:
                continue  # asked again to stop: the first request is raised below
        if not task.cancelled():
            task.exception()  # the outcome is dropped with the cancellation: mark it seen
        raise


def _entry(series_id: int, stamps: list[Any]) -> list[Any]:
    """A cache entry: the series id and its stamps, posted_at as an aware datetime."""
    delivery_id, campaign, posted = stamps
    return [series_id, delivery_id, campaign, from_us(posted) if posted is not None else None]


def not_a_sample(value: object) -> ConfigurationError:
    """The error for something given to `MetricsStore.add` that is no sample (a dict, the
    column names a DataFrame iterates over): it failed inside the loop as AttributeError."""
    return ConfigurationError(
        "add() takes MetricSample objects (as client.collect gives them, or read_csv reads "
        f"a CSV into); got {type(value).__name__} {value!r:.100}"
    )


def _post_keys(posts: Iterable[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """``posts`` as `latest_of` reads them.

    Raises:
        ConfigurationError: a post is not a ``(platform, account, post_id)`` of texts (an id
            given as a number matched nothing on SQLite and failed the statement on
            PostgreSQL, where the ``post_id=`` filter refuses it on both), or one holds a
            NUL or a lone surrogate.
    """
    keys: list[tuple[str, str, str]] = []
    for post in posts:
        key = tuple(post) if isinstance(post, (tuple, list)) else ()
        if len(key) != 3 or not all(isinstance(part, str) for part in key):
            raise ConfigurationError(
                "latest_of() takes each post as posts() gives it, a (platform, account, "
                f"post_id) of texts; got {post!r:.100}"
            )
        for name, part in zip(("platform", "account", "post_id"), key, strict=True):
            _text(part, name)  # a NUL failed PostgreSQL's statement and matched nothing on SQLite
        keys.append((key[0], key[1], key[2]))
    return keys


def _zone(tz: str | tzinfo) -> tzinfo:
    if isinstance(tz, tzinfo):
        return tz
    if not isinstance(tz, str):
        # An offset in hours (tz=2) failed later, deep in the query, with a TypeError.
        raise ConfigurationError(
            f"tz={tz!r}: give an IANA time zone name ('Europe/Berlin') or a tzinfo"
        )
    try:
        return ZoneInfo(tz)
    # OSError: a region alone ("Europe") is a folder of the zone database, and a very long
    # name is no file name at all; neither is a zone, whatever the file system says.
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ConfigurationError(f"unknown time zone {tz!r} (use an IANA name)") from None
