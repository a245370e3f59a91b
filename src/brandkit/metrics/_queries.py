"""The store's queries, as functions of a connection and a `Filter`.

SQL text is assembled only from fixed fragments (``Filter`` emits column names it owns and
``?`` placeholders; `Dialect` gives the table names); every value is bound as a parameter.

The same SQL runs on SQLite (`MetricsStore`), on DuckDB (`Analytics`, whose connection
sets ``integer_division`` so that ``/`` on integers truncates as SQLite's does) and on
PostgreSQL (`PostgresMetricsStore`, whose connection turns ``?`` into psycopg's ``%s``):
every function takes any `Connection` (``sqlite3.Connection`` is one). The SQL is written
in what the three engines share, so that the answers are the same on each: conditions are
never bare integers (``1 = 1``, ``CASE WHEN … THEN 1 ELSE 0 END`` rather than summing a
boolean), derived tables are named, and every ``ORDER BY`` on a column that may be NULL
says ``NULLS FIRST`` (SQLite's order; PostgreSQL's default is the opposite). What cannot be
shared, the tables' names (PostgreSQL's are prefixed) and a table of latest samples (the
analytics copy keeps one), is the connection's `Dialect`.

Each query is one SQL statement where SQLite can do the work (latest values, totals, sums
over time) and plain Python where the data is already small (per-post engagement, follower
look-ups, weekday × hour slots). `Analytics` answers six queries (``latest``, ``posts``,
``latest_of``, ``engagement``, ``best_times`` and ``series``) with DuckDB statements of its
own over the tables its refresh keeps; tests compare their answers with these.
"""

from __future__ import annotations

import bisect
import operator
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from itertools import accumulate, repeat
from typing import Any, Literal, Protocol

import attrs

from brandkit.errors import ConfigurationError
from brandkit.metrics._rows import (
    ENGAGEMENT_METRICS,
    FollowerGrowth,
    Point,
    PostEngagement,
    TimeSlot,
    Total,
    UnavailableMetric,
)
from brandkit.metrics._sample import MAX_VALUE, Metric, MetricSample, _is_metric_value
from brandkit.metrics._sql import Filter, from_us

__all__ = [
    "Connection",
    "Cursor",
    "Dialect",
    "GroupBy",
    "best_times",
    "count",
    "dialect_of",
    "engagement",
    "follower_growth",
    "latest",
    "latest_of",
    "open_rows",
    "posts",
    "readable",
    "row_to_sample",
    "samples_in",
    "series",
    "span",
    "step_of",
    "totals",
    "unavailable",
]

GroupBy = Literal["platform", "campaign", "account"]


class Cursor(Protocol):
    """The result of one statement, as the queries read it."""

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """What the queries need of a database connection: ``sqlite3.Connection`` or the
    DuckDB adapter of `Analytics`."""

    def execute(self, sql: str, parameters: Any = ..., /) -> Cursor: ...


@attrs.frozen
class Dialect:
    """What one engine's statements need beyond the shared SQL.

    A connection names its dialect in a ``dialect`` attribute; without one it gets the
    SQLite file's (tables ``metrics_*``), with the ``latest_table`` the connection may name.

    Attributes:
        prefix: the start of the store's table names (PostgreSQL's configurable prefix).
        latest_table: a table holding each series' latest sample (the analytics copy's),
            read instead of the history when a query has no period.
        latest_available_table: the same for each series' latest sample that is available
            and has a value (what `totals` and `engagement` add up).
    """

    prefix: str = ""
    latest_table: str | None = None
    latest_available_table: str | None = None

    @property
    def series(self) -> str:
        """The table of series (one row per post or account and metric)."""
        return f"{self.prefix}metrics_series"

    @property
    def samples(self) -> str:
        """The table of samples (one row per series and fetch time)."""
        return f"{self.prefix}metrics_samples"


SQLITE = Dialect()
"""The SQLite file's tables."""


def dialect_of(conn: Connection | None) -> Dialect:
    """The `Dialect` of ``conn`` (its ``dialect`` attribute, else SQLite's with the
    connection's ``latest_table`` and ``latest_available_table``; SQLite's for ``None``)."""
    dialect = getattr(conn, "dialect", None)
    if isinstance(dialect, Dialect):
        return dialect
    latest_table = getattr(conn, "latest_table", None)
    latest_available_table = getattr(conn, "latest_available_table", None)
    if latest_table is None and latest_available_table is None:
        return SQLITE
    return Dialect(latest_table=latest_table, latest_available_table=latest_available_table)


# The columns of a sample row, in the order ``row_to_sample`` reads them.
_COLUMNS = (
    "s.platform, s.account, s.post_id, s.metric, x.value, x.available, x.reason, "
    "x.raw_name, x.fetched_at, s.delivery_id, s.campaign, s.posted_at"
)
Row = tuple[Any, ...]


def row_to_sample(row: Row, times: dict[int, datetime] | None = None) -> MetricSample:
    """A sample row (``_COLUMNS`` order) as a [`MetricSample`][brandkit.MetricSample].

    ``times`` memoises epoch-microsecond conversions: rows of one post share their fetch
    and publication times, so a query turning many rows into samples converts each once.
    """
    if times is None:
        times = {}
    fetched = times.get(row[8])
    if fetched is None:
        fetched = times[row[8]] = from_us(row[8])
    posted = None
    if row[11] is not None:
        posted = times.get(row[11])
        if posted is None:
            posted = times[row[11]] = from_us(row[11])
    row = readable(row)
    value, available, reason = row[4], bool(row[5]), row[6]
    return MetricSample(
        platform=row[0],
        account=row[1],
        post_id=row[2],
        metric=row[3],
        value=value,
        available=available,
        reason=reason,
        raw_name=row[7],
        fetched_at=fetched,
        delivery_id=row[9],
        campaign=row[10],
        posted_at=posted,
    )


def readable(row: Row) -> Row:
    """``row`` (``_COLUMNS`` order) as every reader takes it (`row_to_sample`, the CSV and
    DataFrame exports): a value that is no count becomes unavailable, with `damaged_reason`.
    """
    value = row[4]
    if value is None or _is_metric_value(value):
        return row
    # Stored before values were checked (a platform's negative count, text in SQLite's
    # loosely typed column): read as unavailable, with what was stored, rather than make
    # every query of the store fail, or an export that cannot be read back.
    return (*row[:4], None, False, damaged_reason(value), *row[7:])


PostKey = tuple[str, str, str]
"""A post: its ``(platform, account, post_id)``."""

# Post ids per statement of `latest_of`: far below SQLite's oldest limit on parameters (999).
POST_IDS_PER_STATEMENT = 500


def damaged_reason(value: object) -> str:
    """The reason a sample holding ``value``, which is no count (stored before values were
    checked), is read as unavailable (`latest` and `unavailable` on every engine)."""
    return f"stored value {value!r} is not a count"


# A value that is a count: what `row_to_sample` (`_is_metric_value`) reads as one. NaN and
# the infinities fail the range on every engine (PostgreSQL and DuckDB sort NaN above
# every number); SQLite holds no NaN, and sorts a text above every number.
_COUNT = "({0}.value >= 0 AND {0}.value <= " + str(MAX_VALUE) + ")"


def counted(alias: str) -> str:
    """SQL: the sample ``alias`` carries a count that the sums add up (`series`,
    `totals`, `engagement`, follower counts, on every engine): available, with a value
    from 0 to `MAX_VALUE`. A value stored before values were checked (a negative count)
    is left out, as `latest` reads it as unavailable."""
    return f"({alias}.available AND {_COUNT.format(alias)})"


def damaged(alias: str) -> str:
    """SQL: the sample ``alias`` holds a value that is no count (stored before values were
    checked), which `latest` reads as unavailable whatever its ``available`` says."""
    return f"({alias}.value IS NOT NULL AND NOT {_COUNT.format(alias)})"


# A sample that carries a number: the readings the sums add up, over a samples table's alias.
_OK = counted("{0}")


def _latest_sql(
    f: Filter,
    columns: str = _COLUMNS,
    conn: Connection | None = None,
    post_ids: Sequence[str] = (),
    *,
    available: bool = False,
) -> tuple[str, list[Any]]:
    """``SELECT {columns}`` over the latest sample (``x``) in ``f``'s period of each
    matching series (``s``; of these ``post_ids`` only, when given).

    With ``available``, ``a`` is also joined: the series' latest sample in the period that
    is available and has a value (``x`` itself when it has; NULL columns when the series
    has none), so that a series whose newest reading is "unavailable" (a deleted post, a
    metric the platform stopped giving) still contributes its last known value.
    """
    d = dialect_of(conn)
    series_where, series_params = f.series_where("s", post_ids)
    if d.latest_table and not f.has_period:
        # The connection keeps each series' latest sample in a table of its own (the
        # analytics copy does): the same rows as the MAX below, without reading history.
        latest = f"JOIN {d.latest_table} AS x ON x.series_id = s.id"
        latest_params: list[Any] = []
    else:
        time_where, latest_params = f.time_where("y")
        latest = f"""
            JOIN {d.samples} AS x ON x.series_id = s.id AND x.fetched_at = (
                SELECT MAX(y.fetched_at) FROM {d.samples} AS y
                WHERE y.series_id = s.id AND {time_where})
        """  # noqa: S608
    known = ""
    known_params: list[Any] = []
    if available and d.latest_available_table and not f.has_period:
        known = f"LEFT JOIN {d.latest_available_table} AS a ON a.series_id = s.id"
    elif available:
        # The history is searched only when the latest sample is not itself the answer:
        # SQLite and PostgreSQL evaluate a CASE branch only when it is taken.
        time_where, known_params = f.time_where("z")
        known = f"""
            LEFT JOIN {d.samples} AS a ON a.series_id = s.id AND a.fetched_at = CASE
                WHEN {_OK.format("x")} THEN x.fetched_at
                ELSE (SELECT MAX(z.fetched_at) FROM {d.samples} AS z
                      WHERE z.series_id = s.id AND {time_where} AND {_OK.format("z")})
            END
        """  # noqa: S608
    sql = f"""
        SELECT {columns}
        FROM {d.series} AS s {latest} {known}
        WHERE {series_where}
    """  # noqa: S608
    return sql, [*latest_params, *known_params, *series_params]


def _joined(
    f: Filter,
    select: str,
    *,
    extra: str = "",
    tail: str = "",
    conn: Connection | None = None,
) -> tuple[str, list[Any]]:
    """``SELECT {select}`` over the matching samples joined to their series (``s``, ``x``)."""
    d = dialect_of(conn)
    where, params = f.where("s", "x")
    sql = f"""
        SELECT {select}
        FROM {d.series} AS s JOIN {d.samples} AS x ON x.series_id = s.id
        WHERE {where}{extra}
        {tail}
    """  # noqa: S608
    return sql, params


def open_rows(conn: Connection, f: Filter) -> Cursor:
    """A cursor over every matching sample row, series by series and oldest first."""
    return conn.execute(*_joined(f, _COLUMNS, tail="ORDER BY s.id, x.fetched_at", conn=conn))


def count(conn: Connection, f: Filter) -> int:
    """How many samples match."""
    row = conn.execute(*_joined(f, "COUNT(*)", conn=conn)).fetchone()
    return int(row[0])


def span(conn: Connection, f: Filter) -> tuple[datetime, datetime] | None:
    """The first and last fetch times of the matching samples, or ``None``."""
    row = conn.execute(*_joined(f, "MIN(x.fetched_at), MAX(x.fetched_at)", conn=conn)).fetchone()
    if row[0] is None:
        return None
    return from_us(row[0]), from_us(row[1])


def latest(conn: Connection, f: Filter) -> list[MetricSample]:
    """The latest sample of every matching series (available or not)."""
    sql, params = _latest_sql(f, _COLUMNS, conn)
    rows = conn.execute(f"{sql} ORDER BY {LATEST_ORDER}", params)
    times: dict[int, datetime] = {}
    return [row_to_sample(row, times) for row in rows]


# The order of `latest`'s rows (SQLite's: NULL first), over a query's ``s`` columns.
LATEST_ORDER = "s.platform, s.account, s.post_id NULLS FIRST, s.metric"


def latest_page(conn: Connection, f: Filter, limit: int) -> tuple[list[MetricSample], int]:
    """`latest`'s first ``limit`` samples (``limit`` above 0), and how many `latest` has.

    The limit is the statement's: a page of a large history builds as many samples as it
    shows, not one per series.
    """
    sql, params = _latest_sql(f, _COLUMNS, conn)
    rows = conn.execute(f"{sql} ORDER BY {LATEST_ORDER} LIMIT ?", [*params, limit])
    times: dict[int, datetime] = {}
    page = [row_to_sample(row, times) for row in rows]
    if len(page) < limit:
        return page, len(page)
    counted, counted_params = _latest_sql(f, "1", conn)
    row = conn.execute(f"SELECT COUNT(*) FROM ({counted}) AS n", counted_params).fetchone()  # noqa: S608
    return page, int(row[0])


def posts(conn: Connection, f: Filter) -> list[PostKey]:
    """Each post `latest` has a sample of with ``f`` (a posts filter), once, in its order."""
    sql, params = _latest_sql(f, "s.platform, s.account, s.post_id", conn)
    rows = conn.execute(
        f"""
        SELECT s.platform, s.account, s.post_id FROM ({sql}) AS s
        GROUP BY s.platform, s.account, s.post_id
        ORDER BY s.platform, s.account, s.post_id NULLS FIRST
        """,  # noqa: S608
        params,
    )
    return [(platform, account, post_id) for platform, account, post_id in rows]


def latest_of(conn: Connection, f: Filter, keys: Iterable[PostKey]) -> list[MetricSample]:
    """`latest`'s samples (``f``, a posts filter) of these posts only: post by post in the
    order given (each once), each post's metrics in `latest`'s order.

    The posts' ids are read ``POST_IDS_PER_STATEMENT`` at a time; a row of another post
    with the same id (on another platform or account) is skipped, not built.
    """
    wanted: dict[PostKey, list[MetricSample]] = {}
    for platform, account, post_id in keys:
        wanted.setdefault((platform, account, post_id), [])
    ids = list(dict.fromkeys(post_id for _, _, post_id in wanted))
    times: dict[int, datetime] = {}
    for start in range(0, len(ids), POST_IDS_PER_STATEMENT):
        sql, params = _latest_sql(f, _COLUMNS, conn, ids[start : start + POST_IDS_PER_STATEMENT])
        for row in conn.execute(f"{sql} ORDER BY {LATEST_ORDER}", params):
            found = wanted.get((row[0], row[1], row[2]))
            if found is not None:
                found.append(row_to_sample(row, times))
    return [sample for samples in wanted.values() for sample in samples]


def step_of(interval: timedelta | None) -> int:
    """``series``' bucket width in microseconds (1: every reading its own point).

    Raises:
        ConfigurationError: ``interval`` is not a timedelta of at least a microsecond.
    """
    if interval is None:
        return 1
    if not isinstance(interval, timedelta) or interval < timedelta(microseconds=1):
        # A number of seconds (interval=3600) raised TypeError from deep in the query, and
        # a zero or negative width gave a point per reading as if none had been asked for.
        raise ConfigurationError(
            f"interval={interval!r}: give the width of a point as a positive timedelta, "
            "e.g. timedelta(days=1)"
        )
    return interval // timedelta(microseconds=1)


def series(conn: Connection, f: Filter, interval: timedelta | None = None) -> list[Point]:
    """The sum over matching series of each one's latest available value, over time.

    Each series contributes the difference to its previous available value at each of its
    samples, so that the running sum is the total of the latest values at every moment
    without ever holding all samples in Python. Selecting the series with ``IN`` (not a
    join) makes SQLite read samples in primary-key order, which is the window's order, so
    it needs no sort (measured 2.6 s → 0.8 s for 600k samples).
    """
    step = step_of(interval)
    d = dialect_of(conn)
    where, params = samples_in(f, d.series)
    rows = conn.execute(
        f"""
        SELECT b, SUM(v - COALESCE(p, 0)), SUM(CASE WHEN p IS NULL THEN 1 ELSE 0 END) FROM (
            SELECT x.fetched_at / ? AS b, x.value AS v,
                   LAG(x.value) OVER (PARTITION BY x.series_id ORDER BY x.fetched_at) AS p
            FROM {d.samples} AS x
            WHERE {where} AND {_OK.format("x")}
        ) AS changes GROUP BY b ORDER BY b
        """,  # noqa: S608
        [step, *params],
    )
    return running_points(rows, step)


def samples_in(
    f: Filter, series_table: str, alias: str = "x", post_ids: Sequence[str] = ()
) -> tuple[str, list[Any]]:
    """A condition on a table of samples (as ``alias``, with ``series_id`` and
    ``fetched_at``) keeping those of ``f``'s series (read from ``series_table``; of these
    ``post_ids`` only, when given) in its period, and its parameters (`series` on every
    engine, the analytics copy's latest samples in a period)."""
    series_where, series_params = f.series_where("s", post_ids)
    time_where, time_params = f.time_where(alias)
    sql = (
        f"{alias}.series_id IN (SELECT s.id FROM {series_table} AS s WHERE {series_where}) "  # noqa: S608
        f"AND {time_where}"
    )
    return sql, [*series_params, *time_params]


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def running_points(rows: Iterable[Row], step: int) -> list[Point]:
    """The running sum of ``(bucket, change, new series)`` rows, one `Point` per bucket of
    ``step`` microseconds (`series` on every engine).

    Built column by column with ``map`` and ``accumulate`` (a series of every reading has
    tens of thousands of points): the same additions in the same order as a loop adding
    each change to a total that starts at 0.0, and each time `from_us`'s arithmetic.
    """
    columns = list(zip(*rows, strict=True))
    if not columns:
        return []
    buckets, deltas, new = columns
    totals = accumulate(deltas, operator.add, initial=0.0)
    sources = accumulate(new, operator.add, initial=0)
    # Skip the initial values, which no point carries.
    next(totals)
    next(sources)
    us = map(operator.mul, buckets, repeat(step))
    times = map(_EPOCH.__add__, map(timedelta, repeat(0), repeat(0), us))
    return list(map(Point, times, totals, sources))


def totals(conn: Connection, f: Filter, by: GroupBy) -> list[Total]:
    """Per group and metric: the sum of each series' latest available value."""
    if by not in ("platform", "campaign", "account"):
        raise ConfigurationError(f"totals are by 'platform', 'campaign' or 'account'; not {by!r}")
    # ``v``: the latest available value (NULL without one); ``bad``: the latest reading
    # is not available (or holds no count), which is counted even when an earlier value
    # still contributes.
    sql, params = _latest_sql(
        f,
        f"s.{by} AS g, s.metric AS m, a.value AS v, "
        f"CASE WHEN {_OK.format('x')} THEN 0 ELSE 1 END AS bad",
        conn,
        available=True,
    )
    rows = conn.execute(
        f"""
        SELECT g, m, SUM(v), SUM(CASE WHEN v IS NULL THEN 0 ELSE 1 END), SUM(bad)
        FROM ({sql}) AS l GROUP BY g, m ORDER BY g NULLS FIRST, m
        """,  # noqa: S608
        params,
    )
    return [
        Total(group=g, metric=m, value=v, posts=int(ok), unavailable=int(bad))
        for g, m, v, ok, bad in rows
    ]


def unavailable(conn: Connection, f: Filter) -> list[UnavailableMetric]:
    """The metrics whose latest sample says unavailable, grouped by platform and reason.

    A latest sample holding a value that is no count is one (as `latest` reads it), its
    reason `damaged_reason`'s, grouped by the value stored.
    """
    sql, params = _latest_sql(f, _COLUMNS, conn)
    return unavailable_rows(conn.execute(unavailable_sql(f"({sql}) AS l", "l"), params).fetchall())


def unavailable_sql(source: str, alias: str) -> str:
    """The statement of `unavailable` over ``source`` (latest samples as ``alias``, with
    their series' platform and metric), for `unavailable_rows`."""
    bad = damaged(alias)
    return f"""
        SELECT platform, metric, raw_name, why, bad, COUNT(*), MAX(fetched_at) FROM (
            SELECT {alias}.platform, {alias}.metric, {alias}.raw_name, {alias}.fetched_at,
                   CASE WHEN {bad} THEN NULL ELSE {alias}.reason END AS why,
                   CASE WHEN {bad} THEN {alias}.value END AS bad
            FROM {source} WHERE NOT {alias}.available OR {bad}
        ) AS u
        GROUP BY platform, metric, raw_name, why, bad
        ORDER BY platform, metric, raw_name NULLS FIRST, why NULLS FIRST, bad
    """  # noqa: S608


def unavailable_rows(rows: Iterable[Row]) -> list[UnavailableMetric]:
    """`unavailable_sql`'s rows as `UnavailableMetric` values, with the reason `latest`
    gives a value that is no count."""
    return [
        UnavailableMetric(
            platform=p,
            metric=m,
            raw_name=raw,
            reason=damaged_reason(bad) if bad is not None else why,
            series=int(n),
            last_seen=from_us(t),
        )
        for p, m, raw, why, bad, n, t in rows
    ]


def _follower_history(
    conn: Connection, f: Filter
) -> dict[tuple[str, str], list[tuple[int, float]]]:
    """Available follower counts per (platform, account) of ``f``'s account series, oldest
    first."""
    rows = conn.execute(
        *_joined(
            f,
            "s.platform, s.account, x.fetched_at, x.value",
            extra=f" AND {counted('x')}",
            tail="ORDER BY s.platform, s.account, x.fetched_at",
            conn=conn,
        )
    )
    history: dict[tuple[str, str], list[tuple[int, float]]] = defaultdict(list)
    for platform, account, at, value in rows:
        history[(platform, account)].append((at, value))
    return history


def follower_growth(conn: Connection, f: Filter) -> list[FollowerGrowth]:
    """First, last and every follower count of each matching account in the period."""
    out: list[FollowerGrowth] = []
    for (platform, account), history in sorted(_follower_history(conn, f.of_followers()).items()):
        (first_at, first), (last_at, last) = history[0], history[-1]
        out.append(
            FollowerGrowth(
                platform=platform,
                account=account,
                first=first,
                last=last,
                first_at=from_us(first_at),
                last_at=from_us(last_at),
                points=tuple(Point(at=from_us(t), value=v) for t, v in history),
            )
        )
    return out


def _followers_at(history: Sequence[tuple[int, float]], at: int) -> float | None:
    """The last count read at or before ``at``, else the first one read after it."""
    if not history:
        return None
    i = bisect.bisect_right(history, (at, float("inf")))
    return history[i - 1][1] if i else history[0][1]


def engagement(conn: Connection, f: Filter) -> list[PostEngagement]:
    """Every matching post's engagements and engagement rate (see `PostEngagement`)."""
    g = f.of_posts((*ENGAGEMENT_METRICS, Metric.IMPRESSIONS.value))
    # One row per post, summed in SQL from each metric's latest available sample (``a``;
    # NULL when the metric has none).
    engagement_marks = ", ".join("?" for _ in ENGAGEMENT_METRICS)
    sql, params = _latest_sql(
        g,
        "s.platform, s.account, s.post_id, s.metric, a.value, a.fetched_at AS read_at, "
        "x.fetched_at, s.campaign, s.delivery_id, s.posted_at",
        conn,
        available=True,
    )
    rows = conn.execute(
        f"""
        SELECT l.platform, l.account, l.post_id, MAX(l.campaign), MAX(l.delivery_id),
               MAX(l.posted_at),
               SUM(CASE WHEN l.metric IN ({engagement_marks}) THEN l.value END),
               MAX(CASE WHEN l.metric = ? THEN l.value END),
               MAX(CASE WHEN l.metric IN ({engagement_marks}) THEN l.read_at END),
               MAX(l.fetched_at)
        FROM ({sql}) AS l
        GROUP BY l.platform, l.account, l.post_id
        """,  # noqa: S608
        [*ENGAGEMENT_METRICS, Metric.IMPRESSIONS.value, *ENGAGEMENT_METRICS, *params],
    ).fetchall()
    # Follower counts at any time: the period filter does not apply to the denominator.
    followers = _follower_history(conn, f.of_followers(period=False))
    out: list[PostEngagement] = []
    for row in rows:
        platform, account, post_id, campaign, delivery_id, posted_us = row[:6]
        engagements, impressions, engaged_us, last_us = row[6:]
        fetched_us = engaged_us if engaged_us is not None else last_us
        posted_at = from_us(posted_us) if posted_us is not None else None
        follower_count = _followers_at(followers.get((platform, account), ()), fetched_us)
        rate: float | None = None
        basis: Literal["impressions", "followers"] | None = None
        if engagements is not None:
            if impressions:
                rate, basis = engagements / impressions, "impressions"
            elif follower_count:
                rate, basis = engagements / follower_count, "followers"
        out.append(
            PostEngagement(
                platform=platform,
                account=account,
                post_id=post_id,
                campaign=campaign,
                delivery_id=delivery_id,
                posted_at=posted_at,
                fetched_at=from_us(fetched_us),
                engagements=engagements,
                impressions=impressions,
                followers=follower_count,
                rate=rate,
                basis=basis,
            )
        )
    out.sort(key=lambda e: (-(e.engagements or 0.0), e.platform, e.account, e.post_id))
    return out


def best_times(conn: Connection, f: Filter, tz: tzinfo) -> list[TimeSlot]:
    """Mean engagements of the posts published in each weekday × hour slot, best first."""
    slots: dict[tuple[int, int], list[PostEngagement]] = defaultdict(list)
    for post in engagement(conn, f):
        if post.posted_at is None or post.engagements is None:
            continue
        local = post.posted_at.astimezone(tz)
        slots[(local.weekday(), local.hour)].append(post)
    out: list[TimeSlot] = []
    for (weekday, hour), posts in slots.items():
        rates = [p.rate for p in posts if p.rate is not None]
        out.append(
            TimeSlot(
                weekday=weekday,
                hour=hour,
                posts=len(posts),
                mean_engagements=sum(p.engagements or 0.0 for p in posts) / len(posts),
                mean_rate=sum(rates) / len(rates) if rates else None,
            )
        )
    out.sort(key=lambda s: (-s.mean_engagements, s.weekday, s.hour))
    return out
