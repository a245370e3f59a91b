"""``Listener``: saved queries run on a schedule into the inbox's message store, with each
platform's quotas and costs respected, and the analysis of what they found."""

from __future__ import annotations

import inspect
import json
import logging
import math
import os
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

import attrs
import regex

from brandkit._durations import MAX_DURATION, parse_duration
from brandkit._limits import check_limit
from brandkit._terminal import escaped
from brandkit.errors import BrandkitError, ConfigurationError, RateLimited, Unsupported
from brandkit.inbox._model import Message
from brandkit.inbox._store import Inbox, _damaged, _message, _us
from brandkit.listening._query import Query, SearchPage, _bare, fold, saved_query

if TYPE_CHECKING:
    from brandkit._client import Client
    from brandkit.accounts import Account

__all__ = ["Listener", "QueryRun", "QuotaRefused", "Spike", "TopAuthor", "Watch"]

logger = logging.getLogger(__name__)

_EPOCH = date(1970, 1, 1)

# The SQLite file's tables (PostgreSQL's, versioned, are in brandkit.listening._postgres).
# Times are microseconds since 1970.
_SCHEMA = """
CREATE TABLE IF NOT EXISTS listening_queries (
    name TEXT PRIMARY KEY,
    query TEXT NOT NULL,
    accounts TEXT NOT NULL,
    budget INTEGER,
    every REAL NOT NULL,
    last_run BIGINT
);
CREATE TABLE IF NOT EXISTS listening_cursors (
    name TEXT NOT NULL,
    account TEXT NOT NULL,
    cursor TEXT,
    error TEXT,
    PRIMARY KEY (name, account)
);
CREATE TABLE IF NOT EXISTS listening_hits (
    name TEXT NOT NULL,
    platform TEXT NOT NULL,
    id TEXT NOT NULL,
    key TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    author TEXT NOT NULL,
    followers BIGINT,
    label TEXT,
    PRIMARY KEY (name, platform, id)
);
CREATE INDEX IF NOT EXISTS listening_hits_time ON listening_hits (name, created_at);
-- Whether any query found a post already (it is stored once): a look-up.
CREATE INDEX IF NOT EXISTS listening_hits_post ON listening_hits (platform, id);
CREATE TABLE IF NOT EXISTS listening_spend (
    name TEXT NOT NULL,
    account TEXT NOT NULL,
    day TEXT NOT NULL,
    read INTEGER NOT NULL,
    PRIMARY KEY (name, account, day)
);
CREATE TABLE IF NOT EXISTS listening_hashtags (
    account TEXT NOT NULL,
    hashtag TEXT NOT NULL,
    used_at BIGINT NOT NULL,
    PRIMARY KEY (account, hashtag)
);
"""

# Instagram: "You can query a maximum of 30 unique hashtags on behalf of an Instagram
# Business or Creator Account within a rolling, 7 day period."
INSTAGRAM_HASHTAGS = 30
INSTAGRAM_WINDOW = timedelta(days=7)

# Words too common to say anything about a conversation (English, Spanish, French,
# Indonesian), and the pieces of links.
_STOP = frozenset(
    " ".join(
        (
            "a an and are as at be but by for from has have i in is it its me my of on or our",
            "so that the their them they this to was we were what when which who will with",
            "you your https http www com rt de la le en el y que di dan yang ini itu",
        )
    ).split()
)
# A word keeps its combining marks (Hindi's vowel signs), as `Query.matches` reads it: cut
# at each, the top terms of such posts were pieces of words.
_WORD = regex.compile(r"#?\p{L}[\p{L}\p{M}\p{N}_'-]*")


def _utc_day(day: date | datetime) -> str:
    """The UTC day ``day`` names, as ``YYYY-MM-DD``: a date is that day; an aware datetime
    is read in UTC.

    Raises:
        ConfigurationError: a naive datetime (read in the machine's time zone, it named
            another day than the one meant) or something that is no day.
    """
    if isinstance(day, datetime):
        if day.tzinfo is None:
            raise ConfigurationError(
                f"day={day!r} has no time zone: add tzinfo=UTC (datetime.now(UTC), not "
                "datetime.now()), or give the date itself"
            )
        return day.astimezone(UTC).date().isoformat()
    if isinstance(day, date):
        return day.isoformat()
    raise ConfigurationError(
        f"day={day!r}: give a date or an aware datetime, such as date(2026, 3, 1)"
    )


@attrs.frozen
class Watch:
    """One saved query.

    Attributes:
        name: its name.
        query: what it finds.
        accounts: the keys of the accounts it searches with (one per platform to listen on).
        budget: most posts read per account per day (X bills each), or ``None``.
        every: how often it is due.
        last_run: when its last run started, or ``None``.
    """

    name: str
    query: Query
    accounts: tuple[str, ...]
    budget: int | None
    every: timedelta
    last_run: datetime | None


@attrs.frozen
class QueryRun:
    """What one query did on one account in a sync.

    Attributes:
        name: the query's name.
        account: the account's key.
        found: posts new to this query.
        read: posts the platform returned (what X bills).
        requests: requests made.
        error: why it did not run or stopped (the cursor stays), else ``None``.
        stopped: why it ended before reading everything new, else ``None``:
            ``"budget"`` (the query's daily ``budget`` is spent, or what is left of it is
            less than the platform's smallest page, which X would bill in full: it goes on
            tomorrow, UTC), ``"quota"`` (a quota refused it: Instagram's 30 hashtags per 7
            days before any request, or the platform's own, see ``error``) or ``"limit"``
            (the sync's ``limit``, the platform's page bound, or a later page of an X
            search failed after earlier ones were read and billed: the next sync goes on).
    """

    name: str
    account: str
    found: int = 0
    read: int = 0
    requests: int = 0
    error: str | None = None
    stopped: Literal["budget", "quota", "limit"] | None = None


@attrs.frozen
class Spike:
    """Volume that jumped above its recent baseline.

    Attributes:
        name: the query's name.
        start: the window's start (UTC).
        end: its end.
        count: posts found in the window.
        baseline: the mean count per window over the windows before it.
    """

    name: str
    start: datetime
    end: datetime
    count: int
    baseline: float


@attrs.frozen
class TopAuthor:
    """An author ranked by reach for one query.

    Attributes:
        handle: the author's handle (or id).
        platform: where they wrote.
        posts: how many of their posts the query found.
        reach: their followers when the platform says (else ``None``).
    """

    handle: str
    platform: str
    posts: int
    reach: int | None


@attrs.frozen
class _Alert:
    name: str
    factor: float
    window: timedelta
    callback: Callable[[Spike], Any]
    baseline_windows: int
    min_count: int


_LABEL_MAX = 1000


def _wrong_label(label: object) -> str | None:
    """What is wrong with a ``classify`` hook's label, or ``None`` when it can be stored."""
    if not isinstance(label, str):
        return f"{escaped(repr(label)[:60])} (a {type(label).__name__}, not text)"
    if "\x00" in label:
        return "a label holding a NUL character"
    if len(label) > _LABEL_MAX:
        return f"a label of {len(label):,} characters"
    return None


class Listener:
    """Saved searches by name, run on a schedule into the inbox's message store.

    ```python
    listener = Listener("brandkit.db")
    listener.watch("brand", Query(any=["brandkit"]), accounts=[x, sky], budget=500)
    listener.watch("rival", Query(any=["rivalco"]), accounts=[x, sky])
    with Client() as client:
        listener.sync(client)
    listener.share_of_voice()          # {"brand": 0.62, "rival": 0.38}
    ```

    Found posts are `brandkit.Message` objects of kind ``"found"`` in the inbox's tables
    (the same file may hold the outbox and the metrics); each is stored once whatever
    queries, accounts and runs find it, with the names of the queries that found it. Quotas
    are kept as data: X's per-query daily ``budget`` of posts read (never exceeded: the
    search is sized to what is left, and not sent when less than X's smallest page of 10
    is left), Instagram's 30 hashtags per 7 days per account (the 31st is refused before
    any request; a search's hashtags are counted before it, as Meta counts them), Threads'
    daily queries (the governor spends them).

    Args:
        store: an `Inbox`, the path of its SQLite file, or a ``postgresql://`` URL (the
            listener's tables go beside the inbox's, under its table prefix).
        clock: the current time (tests pass a fake).
        classify: a function giving each found message a label (a sentiment, a topic);
            its labels are stored and can be queried. It is called once per post new to a
            query (never for a post the query found before, through whichever account or
            run), outside the store's write transaction. When it raises, the post is stored
            unlabelled (``None``), the error is logged (`logging.exception`, naming the
            query and the post's key), and the sync goes on.

    Raises:
        ConfigurationError: the file cannot be opened.
    """

    def __init__(
        self,
        store: Inbox | str | os.PathLike[str] = "brandkit.db",
        *,
        clock: Callable[[], datetime] | None = None,
        classify: Callable[[Message], str | None] | None = None,
    ) -> None:
        self._own = not isinstance(store, Inbox)
        self.inbox = store if isinstance(store, Inbox) else Inbox(store, clock=clock)
        self.clock = clock or self.inbox.clock
        self.classify = classify
        self._accounts: dict[str, Account] = {}
        self._alerts: list[_Alert] = []
        # Per alert (its place in _alerts): where the window it last alerted for ends.
        self._alerted: dict[int, int] = {}
        from brandkit.inbox._postgres import PostgresInbox

        if isinstance(self.inbox, PostgresInbox):
            # Versioned (brandkit.listening._postgres), so that tables made by an older
            # brandkit are upgraded in place.
            from brandkit.listening._postgres import SCHEMA

            self.inbox._migrate_beside(SCHEMA)
            return
        with self._tx() as db:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)

    # -- plumbing ----------------------------------------------------------------------

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self.inbox._tx() as db:
            yield db

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        with self.inbox._reading() as db:
            yield db

    def close(self) -> None:
        """Close the file (when the listener opened it)."""
        if self._own:
            self.inbox.close()

    def __enter__(self) -> Listener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- saved queries -----------------------------------------------------------------

    def watch(
        self,
        name: str,
        query: Query,
        *,
        accounts: Sequence[Account],
        budget: int | None = None,
        every: str | float | timedelta = "15m",
    ) -> Watch:
        """Save (or replace) the query ``name``, searched with each of ``accounts``.

        Replacing a query with another definition (other terms, languages or times) forgets
        its cursors: the new query searches from the start on each account (what the old
        one found stays, and a post found again is not stored twice). Changing only the
        accounts, the budget or ``every`` keeps them.

        Args:
            name: the query's name (what reports and ``messages(name)`` use).
            query: what to find.
            accounts: the accounts to search with (one per platform to listen on).
            budget: most posts read per account per day (X bills each post read); the
                search is sized to what is left and skipped when less is left than the
                platform returns for one request (X: 10).
            every: how often the query is due (counted from when its last run started,
                less a twentieth, at most a minute, for a scheduler's jitter): a timedelta,
                seconds, or text such as ``"90s"``, ``"15m"``, ``"1h"``, ``"1d"`` (at most
                3650 days).

        Raises:
            ConfigurationError: no name (or one that is not text), a query that is not a
                `Query`, no account, accounts that are not a list of `Account` objects, a
                budget that is not a whole number from 1 to 2**63 - 1, or an ``every`` that
                is not a duration, negative, not finite or over 3650 days.
        """
        if not isinstance(name, str) or not name.strip():
            raise ConfigurationError("a saved query needs a name (text that is not blank)")
        if not isinstance(query, Query):
            # Text or a list of words met the store as AttributeError (no model_dump_json).
            example = (
                f"Query(any={query.split()!r:.60})"
                if isinstance(query, str)
                else "Query(any=[...])"
            )
            raise ConfigurationError(
                f"query {name!r} is a {type(query).__name__}, not a Query: give {example}"
            )
        from brandkit.accounts import account_list

        accounts = account_list(accounts)
        if not accounts:
            raise ConfigurationError(f"query {name!r} needs at least one account to search with")
        if budget is not None:
            check_limit(budget, name="budget", what="posts read a day per account", least=1)
        interval = parse_duration(every, name="every")
        for account in accounts:
            self._accounts[account.key] = account
        keys = tuple(dict.fromkeys(a.key for a in accounts))
        with self._tx() as db:
            row = db.execute(
                "SELECT query FROM listening_queries WHERE name = ?", (name,)
            ).fetchone()
            if row is not None and _saved_query(row[0]) != query:
                # Its cursors are where the old query stopped: the new one would skip its
                # older matches, or be refused by the platform's adapter.
                db.execute("DELETE FROM listening_cursors WHERE name = ?", (name,))
            db.execute(
                "INSERT INTO listening_queries (name, query, accounts, budget, every) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET query = "
                "excluded.query, accounts = excluded.accounts, budget = excluded.budget, "
                "every = excluded.every",
                (
                    name,
                    query.model_dump_json(),
                    json.dumps(list(keys)),
                    budget,
                    interval.total_seconds(),
                ),
            )
        watched = self.get(name)
        assert watched is not None
        return watched

    def forget_cursors(self, name: str, account: Account | str | None = None) -> None:
        """Forget where the saved query ``name`` stands on ``account`` (an account or its
        key; every account when left out) and make it due: its next run searches from the
        start, as far back as the platform searches (and bills), storing what is new.

        For a query whose saved cursor the platform's adapter refuses (damaged, or written
        by another brandkit): every run of it failed, and no sync can pass ``since=None``.

        Raises:
            ConfigurationError: ``account`` is neither an account nor its key.
        """
        from brandkit.accounts import account_key

        with self._tx() as db:
            if account is None:
                db.execute("DELETE FROM listening_cursors WHERE name = ?", (name,))
            else:
                db.execute(
                    "DELETE FROM listening_cursors WHERE name = ? AND account = ?",
                    (name, account_key(account)),
                )
            db.execute("UPDATE listening_queries SET last_run = NULL WHERE name = ?", (name,))

    def unwatch(self, name: str) -> None:
        """Forget the query ``name`` (what it found stays in the store)."""
        with self._tx() as db:
            db.execute("DELETE FROM listening_queries WHERE name = ?", (name,))
            db.execute("DELETE FROM listening_cursors WHERE name = ?", (name,))

    def get(self, name: str) -> Watch | None:
        """The saved query ``name``, or ``None``.

        Raises:
            ConfigurationError: it cannot be read (saved by a newer brandkit, or damaged):
                the error says how to save it again.
        """
        with self._reading() as db:
            row = db.execute(
                "SELECT name, query, accounts, budget, every, last_run FROM listening_queries "
                "WHERE name = ?",
                (name,),
            ).fetchone()
        return _watch(row) if row else None

    def queries(self) -> list[Watch]:
        """Every saved query, by name. One this version cannot read (saved by a newer
        brandkit, or damaged) is left out, with a warning in the log that names it: it must
        not stop the others' syncs and reports (`sync` reports it as a failed run)."""
        return self._queries()[0]

    def _queries(self) -> tuple[list[Watch], list[tuple[Sequence[Any], ConfigurationError]]]:
        """The saved queries that can be read, by name, and the rows of those that cannot,
        each with why."""
        with self._reading() as db:
            rows = db.execute(
                "SELECT name, query, accounts, budget, every, last_run FROM listening_queries "
                "ORDER BY name"
            ).fetchall()
        watches: list[Watch] = []
        broken: list[tuple[Sequence[Any], ConfigurationError]] = []
        for row in rows:
            try:
                watches.append(_watch(row))
            except ConfigurationError as exc:
                logger.warning("%s", escaped(str(exc)))
                broken.append((row, exc))
        return watches, broken

    def on_spike(
        self,
        name: str,
        callback: Callable[[Spike], Any],
        *,
        factor: float = 3.0,
        window: str | float | timedelta = "1h",
        baseline_windows: int = 24,
        min_count: int = 3,
    ) -> None:
        """Call ``callback`` after a sync when the posts ``name`` found in the last
        ``window`` number at least ``factor`` times the mean of the ``baseline_windows``
        windows before it (and at least ``min_count``). Each window alerts once: a window
        overlapping the last one alerted for (some of the same posts) does not alert again.

        Raises:
            ConfigurationError: no saved query ``name`` (`watch` it first), a factor that is
                not a finite number above 1, a ``min_count`` that is not a whole number
                from 1, a bad window (not a duration, under a second, or over 3650 days),
                ``baseline_windows`` below 1, or a baseline reaching back more than 3650
                days.
        """
        if (
            isinstance(factor, bool)
            or not isinstance(factor, int | float)
            or not math.isfinite(factor)
            or not factor > 1
        ):
            raise ConfigurationError(
                f"factor must be a finite number above 1, e.g. 3, not {factor!r}"
            )
        # Checked now: at every sync, a text would raise and 0 would report 0 posts a spike.
        check_limit(min_count, name="min_count", what="posts in a window at least", least=1)
        span = parse_duration(window, name="window")
        # The alerts divide by both at every sync: a zero would make each sync raise.
        if span < timedelta(seconds=1):
            raise ConfigurationError(f"window={window!r} is under a second: give e.g. 1h")
        if isinstance(baseline_windows, bool) or not isinstance(baseline_windows, int):
            raise ConfigurationError(
                f"baseline_windows={baseline_windows!r}: give a whole number of windows, e.g. 24"
            )
        if baseline_windows < 1:
            raise ConfigurationError(
                f"baseline_windows={baseline_windows}: give at least 1 window, e.g. 24"
            )
        tick = timedelta(microseconds=1)
        if span // tick * (baseline_windows + 1) > MAX_DURATION // tick:
            # The baseline is read from that far back at each sync: past year 1, it raises.
            # (In whole microseconds: a timedelta times a huge count would overflow.)
            raise ConfigurationError(
                f"window={window!r} times baseline_windows={baseline_windows} (and the window "
                f"itself) reaches back more than {MAX_DURATION.days} days: give a shorter "
                "window or fewer baseline windows"
            )
        if self.get(name) is None:
            # A name it does not know (a typo, a query not saved yet) never alerted, silently.
            known = [w.name for w in self.queries()]
            shown = ", ".join(repr(n) for n in known[:10]) + (", ..." if len(known) > 10 else "")
            raise ConfigurationError(
                f"no saved query {name!r} to alert on: save it first with "
                f"listener.watch({name!r}, ...)" + (f" (saved: {shown})" if known else "")
            )
        self._alerts.append(_Alert(name, factor, span, callback, baseline_windows, min_count))

    # -- running -----------------------------------------------------------------------

    def due(self) -> list[Watch]:
        """The saved queries due now: never run, or last started at least ``every`` ago
        (less a twentieth of it, at most a minute, so that a scheduler calling at that
        period, a little early or late, runs the query each time)."""
        return self._due(self.queries())

    def _due(self, watches: Sequence[Watch]) -> list[Watch]:
        """Those of ``watches`` due now (`due`)."""
        now = self.clock()
        # Subtracted, not added: a query saved by an older version with an ``every`` of
        # millions of days would carry last_run past year 9999 and raise here.
        return [
            w
            for w in watches
            if w.last_run is None or now - w.last_run >= w.every - _slack(w.every)
        ]

    def sync(
        self,
        client: Client,
        accounts: Sequence[Account] = (),
        *,
        force: bool = False,
        limit: int = 1000,
    ) -> list[QueryRun]:
        """Run every due query (every query with ``force``) from its cursor on each of its
        accounts, store what is new, and check the spike alerts.

        One account's refusal (a platform without search, a spent budget, a quota), or a
        store that could not write what its search read (locked by another process past
        its timeout: what was read is counted against the budget), is reported in its
        `QueryRun` and keeps its cursor; the others run all the same.

        Args:
            client: the client that searches.
            accounts: the accounts to search with, when this listener did not see them in
                `watch` (a new process).
            force: run every query, due or not.
            limit: most posts read per query per account in one sync.

        Raises:
            ConfigurationError: ``client`` is not a `brandkit.Client` (an ``AsyncClient``
                included), ``limit`` is not a whole number from 1 to 2**63 - 1, or
                ``accounts`` is not a list of `Account` objects.
        """
        search = getattr(client, "search", None)
        # Checked before any budget is set aside: met at the search, the error left the
        # day's budget spent, and the day's later syncs were refused.
        if not callable(search) or inspect.iscoroutinefunction(search):
            raise ConfigurationError(
                "Listener.sync takes a Client (brandkit.Client); an AsyncClient's searches "
                "would have to be awaited"
            )
        check_limit(limit, what="posts at most per query and account", least=1)
        from brandkit.accounts import account_list

        for account in account_list(accounts):
            self._accounts[account.key] = account
        runs: list[QueryRun] = []
        watches, broken = self._queries()
        # A query this version cannot read fails alone, reported at every sync; the others
        # run all the same.
        for row, error in broken:
            runs.extend(_unreadable(row, error))
        for watched in watches if force else self._due(watches):
            # When it started, not ended: a query every 15 minutes whose searches take 3
            # would otherwise not be due at the next sync 15 minutes on, and run every 30.
            started = self.clock()
            for key in watched.accounts:
                runs.append(self._run(client, watched, key, limit))
            with self._tx() as db:
                db.execute(
                    "UPDATE listening_queries SET last_run = ? WHERE name = ?",
                    (_us(started), watched.name),
                )
        self._check_alerts()
        return runs

    def _run(self, client: Client, watched: Watch, key: str, limit: int) -> QueryRun:
        account = self._accounts.get(key)
        if account is None:
            return QueryRun(
                watched.name,
                key,
                error=(
                    f"account {key} is not known: pass it to sync(client, accounts=[...]) "
                    "(brandkit listen sync: add it to the accounts file)"
                ),
            )
        day = self.clock().astimezone(UTC).date().isoformat()
        reserved = 0
        cursor: str | None = None
        try:
            allowed, reserved = self._allowance(watched, account, limit, day)
            cursor = self._cursor(watched.name, key)
            page = client.search(account, watched.query, since=cursor, limit=allowed)
        except BrandkitError as exc:
            if reserved:
                self._give_back(watched.name, key, day, -reserved)
            reason = self._failed(watched, account, exc, cursor=cursor)
            stopped: Literal["budget", "quota", "limit"] | None = None
            if isinstance(exc, QuotaRefused):
                stopped = "budget" if exc.quota == "budget" else "quota"
            elif isinstance(exc, RateLimited):
                stopped = "quota"
            return QueryRun(watched.name, key, error=reason, stopped=stopped)
        try:
            found = self._store(watched, account, page, day, reserved, cursor)
        except BrandkitError as exc:
            # The search was made (X billed what it read) but nothing of it was stored, and
            # the cursor stays: what was read takes the place of what was set aside, as a
            # stored page's does, and the next run reads the same posts again.
            if page.read != reserved:
                self._give_back(watched.name, key, day, page.read - reserved)
            reason = self._failed(watched, account, exc)
            return QueryRun(watched.name, key, 0, page.read, page.requests, error=reason)
        ended: Literal["budget", "limit"] | None = None
        if page.more:
            left = self._left(watched, account)
            ended = "budget" if left is not None and left < _smallest_page(account) else "limit"
        return QueryRun(watched.name, key, found, page.read, page.requests, stopped=ended)

    def _failed(
        self, watched: Watch, account: Account, exc: BrandkitError, *, cursor: str | None = None
    ) -> str:
        """Log and keep beside the cursor why a run of ``watched`` on ``account`` failed
        (searching from ``cursor``); returns the reason (its account's secrets taken out)."""
        key = account.key
        reason = f"{type(exc).__name__}: {exc}"
        if isinstance(exc, ConfigurationError) and cursor is not None and "since=None" in reason:
            # The platform's adapter refused the saved cursor (damaged, or written by another
            # brandkit) and says to search from the start, which a sync never does by itself.
            reason += (
                f" -- to search from the start, forget its saved cursors: "
                f"listener.forget_cursors({watched.name!r}), or brandkit listen sync "
                f"--from-start {watched.name}"
            )
        reason = account.redact(reason)
        if not isinstance(exc, Unsupported):
            # The platform's words: escaped, a line break in them would forge a log line.
            logger.warning("listening %s on %s stopped: %s", watched.name, key, escaped(reason))
        try:
            with self._tx() as db:
                db.execute(
                    "INSERT INTO listening_cursors (name, account, error) VALUES (?, ?, ?) "
                    "ON CONFLICT (name, account) DO UPDATE SET error = excluded.error",
                    # PostgreSQL refuses a NUL in text: the whole sync raised.
                    (watched.name, key, reason.replace("\x00", "\\x00")),
                )
        except BrandkitError as kept:
            # The store failed too (locked past its timeout): the run still says why.
            logger.warning(
                "listening %s on %s: its failure could not be kept beside its cursor: %s",
                watched.name,
                key,
                escaped(str(kept)),
            )
        return reason

    def _give_back(self, name: str, account: str, day: str, read: int) -> None:
        """`_count`, for a run that failed: a store that cannot write it (locked past its
        timeout) leaves the reservation counted, and says so, rather than raising."""
        try:
            self._count(name, account, day, read)
        except BrandkitError as exc:
            logger.warning(
                "listening %s on %s: its spend of %s could not be corrected by %+d (%s): "
                "what it set aside stays counted for the day",
                name,
                account,
                day,
                read,
                escaped(str(exc)),
            )

    def _left(self, watched: Watch, account: Account) -> int | None:
        """What is left of the query's budget today on ``account`` (``None``: no budget)."""
        if watched.budget is None:
            return None
        return watched.budget - self.spent(watched.name, account.key)

    def _allowance(self, watched: Watch, account: Account, limit: int, day: str) -> tuple[int, int]:
        """How many posts this run may read, and how many of them it set aside from the
        query's budget of ``day`` (counted as read until the search says how many it read),
        refusing before any request what a quota forbids; the hashtags the search will look
        up are counted before it (Instagram counts them when they are looked up, whether the
        search then fails or not)."""
        allowed, reserved = limit, 0
        if watched.budget is not None:
            allowed = reserved = self._reserve(watched, account, limit, day)
        try:
            tags = self._hashtags(account, watched.query)
            if tags:
                self._spend_hashtags(account, tags)
        except BaseException:
            if reserved:
                self._count(watched.name, account.key, day, -reserved)
            raise
        return allowed, reserved

    def _reserve(self, watched: Watch, account: Account, limit: int, day: str) -> int:
        """Set aside what is left of the query's budget of ``day`` (at most ``limit``) for
        one search, in the transaction that reads it: another process syncing the same
        query at the same time finds it spent, instead of reading (and X billing) it too."""
        assert watched.budget is not None
        where = (watched.name, account.key, day)
        with self._tx() as db:
            # The no-op update takes the row's lock on PostgreSQL until the reservation is
            # written (SQLite's write transaction holds the whole file already).
            db.execute(
                "INSERT INTO listening_spend (name, account, day, read) VALUES (?, ?, ?, 0) "
                "ON CONFLICT (name, account, day) DO UPDATE SET read = listening_spend.read",
                where,
            )
            row = db.execute(
                "SELECT read FROM listening_spend WHERE name = ? AND account = ? AND day = ?",
                where,
            ).fetchone()
            left = watched.budget - int(row[0])
            if left <= 0:
                raise QuotaRefused(
                    f"query {watched.name!r} has spent its budget of {watched.budget} posts "
                    f"read today on {account.key}; it runs again tomorrow (UTC)",
                    quota="budget",
                )
            smallest = _smallest_page(account)
            if left < smallest:
                # X returns (and bills) at least 10 posts: searching would pass the budget.
                raise QuotaRefused(
                    f"query {watched.name!r} has {left} of its budget of {watched.budget} "
                    f"posts read today left on {account.key}, fewer than the {smallest} "
                    f"{account.platform} returns (and bills) for a search: nothing was sent; "
                    "it runs again tomorrow (UTC)",
                    quota="budget",
                )
            allowed = min(limit, left)
            db.execute(
                "UPDATE listening_spend SET read = read + ? WHERE name = ? AND account = ? "
                "AND day = ?",
                (allowed, *where),
            )
        return allowed

    def _count(self, name: str, account: str, day: str, read: int) -> None:
        """Add ``read`` (negative: give back a reservation) to what ``name`` read on
        ``account`` on ``day``."""
        with self._tx() as db:
            self._add_spend(db, name, account, day, read)

    @staticmethod
    def _add_spend(db: sqlite3.Connection, name: str, account: str, day: str, read: int) -> None:
        db.execute(
            "INSERT INTO listening_spend (name, account, day, read) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (name, account, day) DO UPDATE SET "
            "read = listening_spend.read + excluded.read",
            (name, account, day, read),
        )

    @staticmethod
    def _hashtags(account: Account, query: Query) -> tuple[str, ...]:
        """The hashtags a search spends against a weekly quota (Instagram's), as the
        account's adapter counts them; none elsewhere."""
        from brandkit.platforms import adapter_class

        cls = adapter_class(account.platform)
        if not hasattr(cls, "hashtags_of"):
            return ()
        adapter: Any = cls(account)
        return tuple(adapter.hashtags_of(query))

    def _spend_hashtags(self, account: Account, hashtags: Sequence[str]) -> None:
        """Count ``hashtags`` as searched by ``account`` now, or raise `QuotaRefused` when
        they would pass Instagram's 30 unique hashtags per 7 days (a hashtag searched within
        the 7 days keeps its first time: Instagram counts it from then). The check and the
        count are one transaction: two syncs at once cannot both pass at 29."""
        now = self.clock()
        since = _us(now - INSTAGRAM_WINDOW)
        tags = list(dict.fromkeys(tag.lower() for tag in hashtags))
        with self._tx() as db:
            # The account's lock row (hashtag '', never within the 7 days): on PostgreSQL the
            # no-op update holds it until the count is written, as SQLite's write
            # transaction holds the whole file.
            db.execute(
                "INSERT INTO listening_hashtags (account, hashtag, used_at) VALUES (?, '', 0) "
                "ON CONFLICT (account, hashtag) DO UPDATE SET used_at = listening_hashtags.used_at",
                (account.key,),
            )
            used = {
                r[0]
                for r in db.execute(
                    "SELECT hashtag FROM listening_hashtags "
                    "WHERE account = ? AND used_at >= ? AND hashtag <> ''",
                    (account.key, since),
                )
            }
            new = [h for h in tags if h not in used]
            if len(used) + len(new) > INSTAGRAM_HASHTAGS:
                raise QuotaRefused(
                    f"{account.key} has searched {len(used)} unique hashtags in the last 7 "
                    f"days; {', '.join('#' + h for h in new)} would pass Instagram's limit of "
                    f"{INSTAGRAM_HASHTAGS} (nothing was sent)",
                    quota="hashtags",
                )
            for tag in tags:
                db.execute(
                    "INSERT INTO listening_hashtags (account, hashtag, used_at) VALUES "
                    "(?, ?, ?) ON CONFLICT (account, hashtag) DO UPDATE SET used_at = "
                    "CASE WHEN listening_hashtags.used_at < ? THEN excluded.used_at "
                    "ELSE listening_hashtags.used_at END",
                    (account.key, tag, _us(now), since),
                )

    def _cursor(self, name: str, account: str) -> str | None:
        with self._reading() as db:
            row = db.execute(
                "SELECT cursor FROM listening_cursors WHERE name = ? AND account = ?",
                (name, account),
            ).fetchone()
        return row[0] if row else None

    def _store(
        self,
        watched: Watch,
        account: Account,
        page: SearchPage,
        day: str,
        reserved: int,
        read_from: str | None,
    ) -> int:
        """Store ``page`` (searched from the cursor ``read_from``), count what it read, and
        save its cursor unless another run moved the saved one since; returns how many
        posts were new to the query."""
        messages = list(page.messages)
        # The hook runs before the write transaction (it may be slow: a model, a paid API),
        # so the posts new to the query are read first, outside it.
        with self._reading() as db:
            known, _ = _hits(db, watched.name, messages)
            messages = _answering_originals(db, messages)
        labels = self._labels(watched, [m for m in messages if (m.platform, m.id) not in known])
        now = self.clock()
        with self._tx() as db:
            # Read again inside the transaction, which is what counts: another process may
            # have stored some of these posts since. A post that looked known at the first
            # read and is fresh now (only if its hit was removed in between) stays
            # unlabelled: classifying it here would run the hook under the write lock.
            mine, stored = _hits(db, watched.name, messages)
            fresh = []
            for m in messages:
                if (m.platform, m.id) not in mine:
                    mine.add((m.platform, m.id))
                    fresh.append(m)
            db.executemany(
                "INSERT INTO listening_hits (name, platform, id, key, created_at, author, "
                "followers, label) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        watched.name,
                        m.platform,
                        m.id,
                        stored.get((m.platform, m.id), m.key),
                        _us(m.created_at),
                        # Who wrote it, for the analysis: PostgreSQL refuses a NUL in text
                        # (the message's data keeps the handle whole), as the inbox's does.
                        (m.author.handle or m.author.id).replace("\x00", ""),
                        m.author.followers,
                        labels.get(m.key),
                    )
                    for m in fresh
                ],
            )
            # A post found by several queries or accounts is one message in the store: the
            # first account's; the others' hits point at it.
            self.inbox._insert(db, [m for m in fresh if (m.platform, m.id) not in stored], _us(now))
            row = db.execute(
                "SELECT cursor FROM listening_cursors "  # noqa: S608 - a constant
                f"WHERE name = ? AND account = ?{self.inbox._row_lock}",
                (watched.name, account.key),
            ).fetchone()
            defined = db.execute(
                "SELECT query FROM listening_queries WHERE name = ?", (watched.name,)
            ).fetchone()
            # Another run of this query (a cron run overlapping this one) saved its cursor
            # since, or `watch` replaced the query: written over, an older cursor went back
            # and the next run searched (on X, paid) again what was stored, or the
            # replaced query's cursor was refused at every run of the new one.
            if (row[0] if row else None) == read_from and (
                defined is not None and _saved_query(defined[0]) == watched.query
            ):
                db.execute(
                    "INSERT INTO listening_cursors (name, account, cursor, error) VALUES "
                    "(?, ?, ?, NULL) ON CONFLICT (name, account) DO UPDATE SET cursor = "
                    "excluded.cursor, error = NULL",
                    (watched.name, account.key, page.cursor),
                )
            # What was read takes the place of what was set aside, on the day it was.
            self._add_spend(db, watched.name, account.key, day, page.read - reserved)
        return len(fresh)

    def _labels(self, watched: Watch, messages: Sequence[Message]) -> dict[str, str | None]:
        """The ``classify`` hook's label of each of ``messages`` (new to ``watched``) by key;
        a post the hook fails on is left unlabelled."""
        labels: dict[str, str | None] = {}
        if self.classify is None:
            return labels
        for m in messages:
            if m.key in labels:
                continue
            try:
                label = self.classify(m)
            except Exception:
                # The user's hook must not lose the page X billed, nor stop the other
                # queries: the post is stored without a label.
                logger.exception(
                    "the classify hook failed on post %s found by query %s; it is stored "
                    "unlabelled",
                    escaped(m.key),  # the platform's id: escaped, as its words are
                    watched.name,
                )
                label = None
            if label is not None and (wrong := _wrong_label(label)):
                # A score stored as its text on a file failed the page on PostgreSQL (a
                # text column), as a NUL did there alone: the same on every store.
                logger.error(
                    "the classify hook gave post %s found by query %s %s; it is stored "
                    "unlabelled: return text (at most %d characters, no NUL) or None",
                    escaped(m.key),
                    watched.name,
                    wrong,
                    _LABEL_MAX,
                )
                label = None
            labels[m.key] = label
        return labels

    def spent(self, name: str, account: Account | str, day: date | datetime | None = None) -> int:
        """Posts read by query ``name`` on ``account`` (an account or its key) on ``day``:
        a date, the UTC day of an aware datetime, or today (UTC).

        Raises:
            ConfigurationError: ``day`` is a naive datetime (add ``tzinfo=UTC``, or give
                the date) or no day, or ``account`` is neither an account nor its key.
        """
        from brandkit.accounts import account_key

        key = account_key(account)
        when = _utc_day(self.clock() if day is None else day)
        with self._reading() as db:
            row = db.execute(
                "SELECT read FROM listening_spend WHERE name = ? AND account = ? AND day = ?",
                (name, key, when),
            ).fetchone()
        return int(row[0]) if row else 0

    def hashtags_used(self, account: Account | str) -> list[str]:
        """The hashtags ``account`` (an account or its key) searched on Instagram in the
        last 7 days.

        Raises:
            ConfigurationError: ``account`` is neither an account nor its key.
        """
        from brandkit.accounts import account_key

        key = account_key(account)
        since = _us(self.clock() - INSTAGRAM_WINDOW)
        with self._reading() as db:
            rows = db.execute(
                "SELECT hashtag FROM listening_hashtags "
                "WHERE account = ? AND used_at >= ? AND hashtag <> '' ORDER BY hashtag",
                (key, since),
            ).fetchall()
        return [r[0] for r in rows]

    # -- reading back and analysis -------------------------------------------------------

    def messages(
        self,
        name: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        label: str | None = None,
    ) -> list[Message]:
        """What query ``name`` found, oldest first.

        Raises:
            BrandkitError: a stored post is damaged (the error names its row).
        """
        clauses, params = _window(name, since, until)
        if label is not None:
            clauses.append("h.label = ?")
            params.append(label)
        with self._reading() as db:
            rows = db.execute(
                "SELECT m.data, m.key FROM listening_hits h "  # noqa: S608
                "JOIN inbox_messages m ON m.key = h.key "
                f"WHERE {' AND '.join(clauses)} ORDER BY h.created_at, h.key",
                params,
            ).fetchall()
        # As the inbox reads its rows: a damaged one is named, to be removed or synced again.
        return [_message(data, key) for data, key in rows]

    def names(self, message: Message) -> list[str]:
        """The names of the queries that found ``message``."""
        with self._reading() as db:
            rows = db.execute(
                "SELECT name FROM listening_hits WHERE platform = ? AND id = ? ORDER BY name",
                (message.platform, message.id),
            ).fetchall()
        return [r[0] for r in rows]

    def labels(self, name: str) -> dict[str, int]:
        """How many posts of query ``name`` the ``classify`` hook gave each label."""
        with self._reading() as db:
            rows = db.execute(
                "SELECT label, COUNT(*) FROM listening_hits WHERE name = ? AND label IS NOT "
                "NULL GROUP BY label ORDER BY label",
                (name,),
            ).fetchall()
        return dict(rows)

    def volume(
        self,
        name: str | None = None,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[tuple[str, str, int]]:
        """``(day, query name, posts)`` per day (UTC) per query, oldest day first, of the
        posts made from ``since`` (inclusive) to ``until`` (not inclusive).

        Raises:
            ConfigurationError: ``since`` or ``until`` is not an aware datetime.
        """
        clauses: list[str] = []
        params: list[Any] = []
        if name is not None:
            clauses.append("name = ?")
            params.append(name)
        if since is not None:
            clauses.append("created_at >= ?")
            params.append(_us(since))
        if until is not None:
            clauses.append("created_at < ?")
            params.append(_us(until))
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        # The UTC day as its number since 1970 (integer division, the same in SQLite and
        # PostgreSQL, whose date functions differ); made a date here. Floored: both round
        # a division toward zero, which put a post before 1970 (a Bluesky createdAt is what
        # its client wrote) on the next day.
        with self._reading() as db:
            rows = db.execute(
                f"SELECT {_DAY_NUMBER} AS day, name, COUNT(*) "  # noqa: S608
                f"FROM listening_hits{where} GROUP BY day, name ORDER BY day, name",
                params,
            ).fetchall()
        return [((_EPOCH + timedelta(days=int(d))).isoformat(), n, int(c)) for d, n, c in rows]

    def share_of_voice(
        self,
        names: Sequence[str] | None = None,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> dict[str, float]:
        """Each query's share of the posts all of them found (brand vs competitors), from
        0 to 1; a post found by two queries counts for both.

        Raises:
            ConfigurationError: ``names`` is one name (text) rather than a list of them.
        """
        if isinstance(names, str):
            # Read as a list, a name's letters were taken for names, each with a share of 0.
            raise ConfigurationError(
                f"names is a str: give a list of query names, such as [{names!r}]"
            )
        wanted = list(names) if names is not None else [w.name for w in self.queries()]
        # Counted by the database: a query with years of posts is never read whole.
        counts = {n: self.count(n, since=since, until=until) for n in wanted}
        total = sum(counts.values())
        return {n: (c / total if total else 0.0) for n, c in counts.items()}

    def top_authors(
        self,
        name: str,
        n: int = 10,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[TopAuthor]:
        """The ``n`` authors of query ``name``'s posts with the most reach (followers,
        where the platform says), then posts; of the posts made from ``since`` (inclusive)
        to ``until`` (not inclusive) when they are given.

        Raises:
            ConfigurationError: ``n`` is not a whole number from 0, or ``since`` or
                ``until`` is not an aware datetime.
        """
        check_limit(n, name="n", what="authors")
        clauses, params = _window(name, since, until)
        # Ranked and cut by the database: a query's authors may be hundreds of thousands.
        # Text compares byte by byte on both stores, as Python compares it.
        with self._reading() as db:
            rows = db.execute(
                "SELECT h.author, h.platform, COUNT(*), MAX(h.followers) "  # noqa: S608
                f"FROM listening_hits h WHERE {' AND '.join(clauses)} "
                "GROUP BY h.author, h.platform "
                "ORDER BY COALESCE(MAX(h.followers), 0) DESC, COUNT(*) DESC, h.author, h.platform "
                "LIMIT ?",
                [*params, n],
            ).fetchall()
        return [TopAuthor(a, p, int(c), f) for a, p, c, f in rows]

    def top_terms(
        self,
        name: str,
        n: int = 20,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[tuple[str, int]]:
        """The ``n`` most used words and hashtags in query ``name``'s posts (common words and
        the query's own terms left out), in lower case, read as `Query.matches` reads words
        (``Café`` and ``café`` one term, ``’`` as ``'``); of the posts made from ``since``
        (inclusive) to ``until`` (not inclusive) when they are given.

        Raises:
            ConfigurationError: ``n`` is not a whole number from 0, or ``since`` or
                ``until`` is not an aware datetime.
            BrandkitError: a stored post is damaged (the error names its row).
        """
        check_limit(n, name="n", what="terms")
        watched = self.get(name)
        # Folded as queries match words: a post's "McDonald’s" is the query's "McDonald's",
        # and "Café" composed or decomposed one term.
        own = {_bare(fold(t).lstrip("#@")) for t in (watched.query.terms() if watched else [])}
        counts: Counter[str] = Counter()
        for text in self._texts(name, since, until):
            seen = set()
            for word in _WORD.findall(fold(text)):
                # "acme's" is the word acme (`Query.matches`): the query's own term.
                bare = _bare(word.strip("'-"))
                if len(bare) < 3 or bare.lstrip("#") in _STOP or bare.lstrip("#") in own:
                    continue
                if bare not in seen:
                    seen.add(bare)
                    counts[bare] += 1
        return counts.most_common(n)

    def count(
        self, name: str, *, since: datetime | None = None, until: datetime | None = None
    ) -> int:
        """How many posts query ``name`` found (``len(messages(...))`` without reading
        them)."""
        clauses, params = _window(name, since, until)
        with self._reading() as db:
            row = db.execute(
                f"SELECT COUNT(*) FROM listening_hits h WHERE {' AND '.join(clauses)}",  # noqa: S608
                params,
            ).fetchone()
        return int(row[0])

    def _texts(
        self, name: str, since: datetime | None = None, until: datetime | None = None
    ) -> Iterator[str]:
        """The texts of query ``name``'s posts, oldest first, read `_PAGE` at a time: a
        query with years of posts is never held in memory whole."""
        after: tuple[int, str] | None = None
        while True:
            clauses, params = _window(name, since, until)
            if after is not None:
                clauses.append("(h.created_at > ? OR (h.created_at = ? AND h.key > ?))")
                params += [after[0], after[0], after[1]]
            with self._reading() as db:
                rows = db.execute(
                    "SELECT h.created_at, h.key, m.data FROM listening_hits h "  # noqa: S608
                    "JOIN inbox_messages m ON m.key = h.key "
                    f"WHERE {' AND '.join(clauses)} ORDER BY h.created_at, h.key LIMIT ?",
                    [*params, _PAGE],
                ).fetchall()
            for _, key, data in rows:
                try:
                    text = json.loads(data).get("text")
                except (ValueError, AttributeError) as exc:
                    # Named, as `messages` names it, rather than a bare JSONDecodeError
                    # (a traceback from `brandkit listen top` and the report).
                    raise _damaged(key, exc) from None
                yield text if isinstance(text, str) else ""
            if len(rows) < _PAGE:
                return
            after = (rows[-1][0], rows[-1][1])

    def _count_between(self, name: str, start: int, end: int) -> int:
        """How many posts query ``name`` found made from ``start`` (inclusive) to ``end``
        (not inclusive), in microseconds since 1970."""
        with self._reading() as db:
            row = db.execute(
                "SELECT COUNT(*) FROM listening_hits "
                "WHERE name = ? AND created_at >= ? AND created_at < ?",
                (name, start, end),
            ).fetchone()
        return int(row[0])

    def _check_alerts(self) -> None:
        now = self.clock()
        for number, alert in enumerate(self._alerts):
            window_us = int(alert.window.total_seconds() * 1_000_000)
            end = _us(now)
            start = end - window_us
            history = start - window_us * alert.baseline_windows
            # Counted by the database: a baseline of 3650 days is never read whole.
            count = self._count_between(alert.name, start, end)
            before = self._count_between(alert.name, history, start)
            baseline = before / alert.baseline_windows
            if count >= max(alert.min_count, alert.factor * baseline):
                # A window overlapping the one alerted holds some of the same posts: the
                # spike they make is reported once (windows on the hour counted it twice).
                if start < self._alerted.get(number, start):
                    continue
                self._alerted[number] = end
                spike = Spike(
                    alert.name,
                    datetime.fromtimestamp(start / 1e6, UTC),
                    now,
                    count,
                    baseline,
                )
                try:
                    alert.callback(spike)
                except Exception:
                    # An alert that fails must not lose what the sync stored.
                    logger.exception("the spike alert of %s failed", alert.name)


class QuotaRefused(BrandkitError):
    """A quota refuses a saved query's run before any request: its daily ``budget`` of
    posts read is spent (or what is left is less than the platform's smallest page), or
    Instagram's 30 hashtags per 7 days would be passed.

    Attributes:
        quota: ``"budget"`` or ``"hashtags"``.
    """

    def __init__(self, message: str, *, quota: str = "budget") -> None:
        super().__init__(message)
        self.quota = quota


def _slack(every: timedelta) -> timedelta:
    """How early a query counts as due: a scheduler (cron) calling every ``every`` starts
    a little before or after the period."""
    return min(every / 20, timedelta(minutes=1))


def _saved_query(text: str) -> Query | None:
    """A saved query's definition (``None``: one this version cannot read)."""
    try:
        return saved_query(text)
    except ValueError:  # pydantic's ValidationError, ContentError
        return None


def _hits(
    db: sqlite3.Connection, name: str, messages: Sequence[Message]
) -> tuple[set[tuple[str, str]], dict[tuple[str, str], str]]:
    """Of ``messages``, the posts query ``name`` found before (as ``(platform, id)``), and
    the key of the stored message of each post any query found (a post is stored once,
    whichever query and account found it first)."""
    by_platform: dict[str, list[str]] = {}
    for m in messages:
        by_platform.setdefault(m.platform, []).append(m.id)
    mine: set[tuple[str, str]] = set()
    stored: dict[tuple[str, str], str] = {}
    for platform, ids in by_platform.items():
        # One look-up per chunk on the (platform, id) index, not a statement per post nor a
        # scan of everything found; chunks stay under SQLite's bound parameters.
        for i in range(0, len(ids), 400):
            chunk = ids[i : i + 400]
            marks = ", ".join("?" * len(chunk))
            for hit, p, post, key in db.execute(
                "SELECT name, platform, id, key FROM listening_hits WHERE "  # noqa: S608
                f"platform = ? AND id IN ({marks})",
                (platform, *chunk),
            ).fetchall():
                if hit == name:
                    mine.add((p, post))
                # The same message whatever the order rows come in.
                known = stored.get((p, post))
                stored[(p, post)] = key if known is None else min(known, key)
    return mine, stored


# X lets an author edit a post for a limited time after writing it (30 minutes in X's help and
# the emulator; an hour is said too): an edit's
# original was written at most this long before it. Taken wide, a margin costs only rows read.
_X_EDIT_WINDOW_US = 2 * 3600 * 1_000_000
# The most edited X messages one look-up reads, over at most two edit windows of time (see
# `_answering_originals`): past it, a version is left as X named it.
_MAX_EDITED_READ = 5000
# The longest edit chain read off a stored post (X: 6 versions).
_MAX_CHAIN = 16
# An X id (a snowflake): at most 19 ASCII digits (``str.isdigit`` takes others, some of
# which ``int`` refuses: a superscript failed the sync).
_SNOWFLAKE = regex.compile(r"[0-9]{1,19}")


def _chain(message: Message) -> tuple[str, ...]:
    """The ids of the versions of ``message`` other than the original's it keeps, as its
    last read said: X's newest (``extra["latest"]``) and the post's
    ``edit_history_tweet_ids``."""
    latest = message.extra.get("latest")
    if not isinstance(latest, str):
        return ()
    raw = message.raw
    history = raw.get("edit_history_tweet_ids") if isinstance(raw, dict) else None
    ids = [*(history if isinstance(history, list) else ())[:_MAX_CHAIN], latest]
    return tuple(
        v for v in ids if isinstance(v, str) and _SNOWFLAKE.fullmatch(v) and v != message.id
    )


def _answering_originals(db: sqlite3.Connection, messages: list[Message]) -> list[Message]:
    """``messages`` with each X reply's or quote's ``in_reply_to`` the original's id of the
    version it names, where the store holds that post with its edit chain.

    X names the version a post answers (``referenced_tweets``), after an edit not the id
    its message keeps (the original's): the search maps it when it read the parent too, and
    asking X would be one more billed read per post. An edited post is stored with the time
    its original was written (``created_at``), at most X's edit window before the version's
    snowflake time: the look-up reads the edited X messages of those windows, on the
    store's time index, with no request."""
    from brandkit.platforms.x import _answering_original, snowflake_time

    ours = {m.id for m in messages if m.platform == "x"}
    asked: dict[str, int] = {}
    for m in messages:
        v = m.in_reply_to
        if m.platform == "x" and v and v not in ours:
            made = snowflake_time(v)  # None for what is not an X id
            if made is not None:
                asked[v] = _us(made)
    if not asked:
        return messages
    # Each version's window, joined to the one before where they overlap (each row read once
    # per page), but no look-up over more than two windows of time: windows overlapping one
    # after another joined into one over a page's days, whose bound cut what any read.
    spans: list[list[int]] = []
    for t in sorted(asked.values()):
        lo, hi = t - _X_EDIT_WINDOW_US, t + 1000
        if not spans or lo > spans[-1][1]:
            spans.append([lo, hi])
        elif hi - spans[-1][0] <= 2 * _X_EDIT_WINDOW_US:
            spans[-1][1] = hi
        else:
            spans.append([spans[-1][1] + 1, hi])
    originals: dict[str, str] = {}
    for lo, hi in spans:
        rows = db.execute(
            "SELECT data, key FROM inbox_messages WHERE created_at >= ? AND created_at <= ? "
            "AND platform = 'x' AND edited_at IS NOT NULL LIMIT ?",
            (lo, hi, _MAX_EDITED_READ),
        ).fetchall()
        for data, key in rows:
            try:
                stored = _message(data, key)
            except BrandkitError:
                continue  # a damaged row says nothing of whose version this is
            for version in _chain(stored):
                if version in asked:
                    originals.setdefault(version, stored.id)
    if not originals:
        return messages
    return [_answering_original(m, originals) if m.platform == "x" else m for m in messages]


def _smallest_page(account: Account) -> int:
    """The fewest posts one search request of ``account``'s platform returns, and bills
    (X: 10); 1 where a request can ask for one."""
    from brandkit.platforms import adapter_class

    return int(getattr(adapter_class(account.platform), "search_min_page", 1))


_DAY = 86_400_000_000
# The UTC day of ``created_at`` (microseconds since 1970) as its number since 1970, floored.
# Without ``%``: psycopg reads it as a placeholder in a statement with parameters.
_DAY_NUMBER = (
    f"CASE WHEN created_at >= 0 THEN created_at / {_DAY} ELSE -((-created_at - 1) / {_DAY}) - 1 END"
)

_PAGE = 1000
"""Posts read at a time where a query's whole history is gone through (`Listener.top_terms`)."""


def _window(
    name: str, since: datetime | None, until: datetime | None
) -> tuple[list[str], list[Any]]:
    clauses = ["h.name = ?"]
    params: list[Any] = [name]
    if since is not None:
        clauses.append("h.created_at >= ?")
        params.append(_us(since))
    if until is not None:
        clauses.append("h.created_at < ?")
        params.append(_us(until))
    return clauses, params


def _watch(row: Sequence[Any]) -> Watch:
    """The saved query of a ``listening_queries`` row.

    Raises:
        ConfigurationError: the row cannot be read (saved by a newer brandkit, or
            damaged); the error names the query and says how to save it again.
    """
    name, query, accounts, budget, every, last_run = row
    try:
        keys = json.loads(accounts)
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise ValueError(f"its accounts are not a list of account keys: {accounts!r:.60}")
        return Watch(
            name=name,
            query=saved_query(query),
            accounts=tuple(keys),
            budget=budget,
            every=timedelta(seconds=every),
            last_run=datetime.fromtimestamp(last_run / 1e6, UTC) if last_run is not None else None,
        )
    except (ValueError, TypeError, OverflowError) as exc:
        reason = (str(exc).splitlines() or [type(exc).__name__])[0][:200]
        raise ConfigurationError(
            f"the saved query {name!r} cannot be read ({reason}): it was saved by a newer "
            f"brandkit, or damaged; save it again (listener.watch({name!r}, ...), brandkit "
            f"listen add) or remove it (listener.unwatch({name!r}), brandkit listen remove)"
        ) from None


def _unreadable(row: Sequence[Any], error: ConfigurationError) -> list[QueryRun]:
    """The runs that report why the saved query of ``row`` cannot run: one per account
    the row names (one with no account when those cannot be read either)."""
    try:
        keys = json.loads(row[2])
    except (ValueError, TypeError):
        keys = None
    if not isinstance(keys, list) or not keys or not all(isinstance(k, str) for k in keys):
        keys = [""]
    return [QueryRun(row[0], key, error=f"ConfigurationError: {error}") for key in keys]
