"""The outbox on PostgreSQL: the same deliveries, states and guarantees as the SQLite file,
for workers on several machines.

`PostgresOutbox` is an [`Outbox`][brandkit.Outbox]: it keeps the SQLite outbox's rules
(what a save may change, how a delivery is stored and read back, the history it writes) by
inheriting them, and replaces only the statements. What differs is how processes coordinate:

* **accounts are claimed first.** A worker takes an *account* (a row of ``outbox_accounts``,
  locked ``FOR UPDATE SKIP LOCKED``, then leased) before it takes that account's deliveries,
  so one account is served by one worker at a time and its posts go out in their order,
  while workers on other machines serve other accounts.
* **leases are measured on the database clock** (``now()``), never on a host's: a lease
  ends ``lease`` seconds after its holder last renewed it. A live outbox renews its leases
  from a background thread every quarter of ``lease``, so a live worker's leases never end
  (however slow its upload); a crashed host's end ``lease`` seconds after it stopped, and
  its deliveries are then taken over (one found ``sending`` comes back ``unknown`` and is
  looked up before anything is sent again).
* **what is due is judged on the database clock too**: without a ``clock``, the outbox's
  clock (what `claim` and `due` take as "now", and a `Worker`'s by default, for its retry
  times) is the database's, read now and then (`_DatabaseClock`), so that hosts whose clocks
  disagree publish a scheduled post at the same moment and honour each other's retry times.
* **adding a post wakes idle workers** (``NOTIFY``): `PostgresOutbox.wait_for_work` returns
  as soon as a post is added, instead of polling.
"""

from __future__ import annotations

import asyncio
import builtins
import functools
import hashlib
import logging
import os
import re
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from brandkit._durations import lock_wait
from brandkit._limits import check_limit
from brandkit.accounts import Account
from brandkit.backends import (
    DEFAULT_PREFIX,
    Schema,
    _readable,
    check_prefix,
    kind_of,
    migrate,
    redact_url,
    register,
    set_lock_timeout,
    stale,
)
from brandkit.backends import aconnect as pg_aconnect
from brandkit.backends import connect as pg_connect
from brandkit.delivery import Delivery, DeliveryStatus, send_at
from brandkit.errors import BrandkitError, ConfigurationError, OutboxConflict
from brandkit.outbox._store import (
    _AFTER_FINISHED,
    _FAR_LEASE,
    _HERE,
    _HOST,
    _IN_FLIGHT,
    _ROW,
    _UNKNOWN_STATUS,
    _UNSET,
    Outbox,
    OutboxEvent,
    _account_keys,
    _alive,
    _EventRow,
    _iso,
    _lease_seconds,
    _read_events,
    _row_faults,
    _Unset,
)

try:
    import psycopg
    from psycopg import errors as pg_errors
except ImportError:  # pragma: no cover - the extra is not installed
    psycopg = None  # type: ignore[assignment]

__all__ = ["PostgresOutbox"]

logger = logging.getLogger("brandkit.outbox")

# The outbox's tables, version by version (``brandkit db upgrade`` applies them too). Times
# the application chooses (a post's schedule, a retry time, creation) are the application's;
# lease ends are the database's (now()).
SCHEMA = register(
    Schema(
        "outbox",
        (
            (
                """CREATE TABLE {prefix}outbox_deliveries (
                    seq BIGSERIAL,
                    id TEXT PRIMARY KEY,
                    account TEXT NOT NULL,
                    platform TEXT NOT NULL,
                    status TEXT NOT NULL,
                    campaign TEXT,
                    scheduled_at TIMESTAMPTZ,
                    not_before TIMESTAMPTZ,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    error TEXT,
                    parts INTEGER NOT NULL DEFAULT 0,
                    created_at TIMESTAMPTZ NOT NULL,
                    updated_at TIMESTAMPTZ NOT NULL,
                    lease_owner TEXT,
                    lease_until TIMESTAMPTZ,
                    data TEXT NOT NULL
                )""",
                "CREATE INDEX {prefix}outbox_deliveries_due "
                "ON {prefix}outbox_deliveries (account, status, scheduled_at)",
                "CREATE INDEX {prefix}outbox_deliveries_status "
                "ON {prefix}outbox_deliveries (status)",
                "CREATE INDEX {prefix}outbox_deliveries_platform "
                "ON {prefix}outbox_deliveries (platform)",
                "CREATE INDEX {prefix}outbox_deliveries_campaign "
                "ON {prefix}outbox_deliveries (campaign)",
                "CREATE INDEX {prefix}outbox_deliveries_created "
                "ON {prefix}outbox_deliveries (created_at, seq)",
                "CREATE INDEX {prefix}outbox_deliveries_leased "
                "ON {prefix}outbox_deliveries (lease_owner) WHERE lease_owner IS NOT NULL",
                """CREATE TABLE {prefix}outbox_events (
                    seq BIGSERIAL PRIMARY KEY,
                    delivery_id TEXT NOT NULL,
                    at TIMESTAMPTZ NOT NULL,
                    status TEXT NOT NULL,
                    attempts INTEGER NOT NULL,
                    parts INTEGER NOT NULL,
                    note TEXT
                )""",
                "CREATE INDEX {prefix}outbox_events_delivery "
                "ON {prefix}outbox_events (delivery_id, seq)",
                # Who serves each account: claimed FOR UPDATE SKIP LOCKED, then leased.
                """CREATE TABLE {prefix}outbox_accounts (
                    account TEXT PRIMARY KEY,
                    lease_owner TEXT,
                    lease_until TIMESTAMPTZ
                )""",
            ),
        ),
    )
)

# A lease ``secs`` seconds from now on the database clock (NULL stays NULL: no lease).
_UNTIL = "now() + make_interval(secs => %s::float8)"


def _ended(column: str = "lease_until") -> str:
    """SQL: the lease ``column`` has ended, on the database clock. One ending past the
    longest lease an outbox takes (`_FAR_LEASE`: a hand edit, another tool, an infinity)
    holds nothing, rather than its delivery and its account for ever."""
    return f"({column} < now() OR {column} > now() + make_interval(secs => {_FAR_LEASE}))"


def _held(column: str = "lease_until") -> str:
    """SQL: the lease ``column`` has not ended (see `_ended`)."""
    return f"({column} >= now() AND {column} <= now() + make_interval(secs => {_FAR_LEASE}))"


# Seconds left on a lease on the database clock (negative: ended; NULL: none).
_LEFT = f"CASE WHEN {_ended()} THEN -1.0 ELSE EXTRACT(EPOCH FROM lease_until - now())::float8 END"


def _bad(column: str) -> str:
    """SQL: the time column holds what no brandkit writes and Python cannot read (an
    infinity, a year before 1 or after 9999: a TIMESTAMPTZ takes them from a hand edit or
    another tool). Such a row is due at once and failed by the claim (`_row_faults`),
    never left never due, nor read as a time (psycopg raises for it)."""
    return (
        f"({column} IS NOT NULL AND NOT ({column} >= '0001-01-01 00:00:00+00' "
        f"AND {column} < '10000-01-01 00:00:00+00'))"
    )


# `_ROW` with a creation time psycopg cannot read (an infinity) as NULL: such a row is
# read from its JSON, or dated at the epoch (`_damaged`), never raised for every listing.
_PG_ROW = _ROW.replace("created_at", f"CASE WHEN NOT {_bad('created_at')} THEN created_at END", 1)
# A row's damaged time columns as text (NULL for a good one), for `_row_faults`.
_BAD_TIMES = ", ".join(
    f"CASE WHEN {_bad(c)} THEN {c}::text END" for c in ("scheduled_at", "not_before")
)
# What a worker takes (as the SQLite outbox): pending, unknown, and sending whose publisher
# is gone, whose time has come and that no live process holds.
_DUE_TIME = (
    "(status IN ('pending', 'unknown', 'sending') "
    "AND ((scheduled_at IS NULL OR scheduled_at <= %(at)s) "
    "  AND (not_before IS NULL OR not_before <= %(at)s) "
    f"  OR {_bad('scheduled_at')} OR {_bad('not_before')}) "
    f"  OR {_UNKNOWN_STATUS}) "
)
_DUE = _DUE_TIME + f"AND (lease_owner IS NULL OR {_ended()})"


# `PostgresOutbox.release` without a retry time, in one statement: the delivery's lease
# given back if it is this outbox's, then its account's once no other delivery of the
# account is this outbox's (the statement's snapshot still shows the row just freed: it is
# left out by id). Nothing changes when another process holds the delivery, nor unless the
# row meets ``{finished}`` (`_release_finished`: only a finished one). Returns the stored
# status when the delivery exists.
_RELEASE_SQL = (
    "WITH this AS (SELECT id, account, status, lease_owner FROM {d} WHERE id = %(id)s "
    "  FOR UPDATE), "
    "go AS (SELECT * FROM this WHERE {finished} "
    "  AND (this.lease_owner IS NULL OR this.lease_owner = %(me)s)), "
    "freed AS (UPDATE {d} SET lease_owner = NULL, lease_until = NULL FROM go "
    "  WHERE {d}.id = go.id AND go.lease_owner = %(me)s RETURNING {d}.id), "
    "account AS (UPDATE {a} SET lease_owner = NULL, lease_until = NULL FROM go "
    "  WHERE {a}.account = go.account AND {a}.lease_owner = %(me)s "
    "  AND NOT EXISTS (SELECT 1 FROM {d} AS o WHERE o.account = go.account "
    "    AND o.lease_owner = %(me)s AND o.id <> go.id) RETURNING {a}.account) "
    "SELECT status, (SELECT count(*) FROM freed), (SELECT count(*) FROM account) FROM this"
)
# The statuses after which nothing is left to do (see _AFTER_FINISHED).
_FINISHED = "this.status IN ('sent', 'cancelled', 'deleted')"


def _dead_here(owner: str) -> bool:
    """``owner`` (``host:pid:fingerprint.nonce``) is a process of this machine and process
    namespace that has exited."""
    if _HERE is None:
        return False
    host, _, rest = owner.partition(":")
    pid, _, tail = rest.partition(":")
    if host != _HOST or not tail.startswith(_HERE + ".") or not pid.isdigit():
        return False
    return int(pid) != os.getpid() and not _alive(int(pid))


def _in_order(table: str, where: str) -> str:
    """The ids of the unfinished deliveries (rows ``where``) that no earlier pending
    delivery of the same account waits in front of: a post given a retry time holds its
    account's later posts back until then, so an account's posts go out in their order.
    (An ``unknown`` one does not: it may be on the platform already, and one that cannot
    be looked up waits for a person.)"""
    return (
        "SELECT id FROM (SELECT id, bool_or(status = 'pending' AND not_before > %(at)s "  # noqa: S608
        f"  AND NOT {_bad('not_before')}) OVER ("
        "  PARTITION BY account ORDER BY COALESCE(scheduled_at, created_at), created_at, seq "
        "  ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS held "
        f"FROM {table} WHERE (status IN ('pending', 'unknown', 'sending') "
        f"OR {_UNKNOWN_STATUS}) AND {where}) AS q "
        "WHERE held IS NOT TRUE"
    )


class PostgresOutbox(Outbox):
    """Durable deliveries in a PostgreSQL database, for workers on many machines.

    `Outbox("postgresql://…")` returns one; the API, the states and what a save refuses are
    those of the SQLite [`Outbox`][brandkit.Outbox].

    ```python
    from brandkit.outbox import Outbox, Worker

    outbox = Outbox("postgresql://brandkit@db.internal/brandkit", prefix="acme_")
    with Worker(outbox, accounts) as worker:
        worker.run_forever(poll=30)       # woken at once when a post is added
    ```

    Args:
        url: a libpq URL (``postgresql://user:password@host:port/database?sslmode=…``).
        lease: seconds after its holder stopped renewing them (it crashed, or lost the
            database) that its leases end and other workers take its deliveries over. A
            live outbox renews its own every ``lease / 4`` seconds. Above 0, at most 7
            days.
        clock: the current time, for the times the outbox itself writes and for what is
            due (tests pass a fake). By default the database server's clock (read when
            the outbox opens and again at most every 30 s, in between from this host's
            monotonic clock, so a reading seldom costs a round trip): workers on hosts whose
            clocks disagree then agree on when a scheduled post or a retry is due. Leases
            always use the database's clock.
        timeout: seconds to wait for a row another process holds locked before giving up
            with [`OutboxConflict`][brandkit.errors.OutboxConflict]; from 0 (do not wait) to
            7 days. (Connecting gives up after 10 s.)
        accounts: as for [`Outbox`][brandkit.Outbox].
        create: create the tables when they are missing (``False``: refuse a database
            without them, so that a mistyped URL is an error rather than a new outbox).
        prefix: put before every table name (lower-case letters, digits, ``_``), so that
            several outboxes, or other applications, share one database.
        accounts_per_claim: the most accounts one `claim` takes, so that one worker does
            not take every account while others stay idle.

    Raises:
        ConfigurationError: psycopg is not installed, the URL or prefix is malformed, the
            server cannot be reached or refuses the login, the tables are missing while
            ``create`` is ``False``, or they belong to a newer brandkit; ``lease`` or
            ``timeout`` is out of range, or ``accounts_per_claim`` is not a whole number
            from 1.
    """

    what = "outbox"

    def __init__(
        self,
        url: str = "",
        *,
        lease: float = 60.0,
        clock: Callable[[], datetime] | None = None,
        timeout: float = 10.0,
        accounts: Mapping[str, Account] | Iterable[Account] | None = None,
        create: bool = True,
        prefix: str | None = DEFAULT_PREFIX,
        accounts_per_claim: int | None = 8,
    ) -> None:
        url = str(url)
        # None (as Outbox's signature gives it) means the default.
        prefix = DEFAULT_PREFIX if prefix is None else prefix
        accounts_per_claim = 8 if accounts_per_claim is None else accounts_per_claim
        if kind_of(url) != "postgresql":
            raise ConfigurationError(f"{redact_url(url)} is not a postgresql:// URL")
        check_prefix(prefix)
        # A float reached the claim's LIMIT and failed every claim; a bool passed as 1.
        check_limit(
            accounts_per_claim,
            name="accounts_per_claim",
            what="accounts one claim takes at most",
            least=1,
        )
        self._init_common(lease=lease, clock=clock, timeout=timeout, accounts=accounts)
        self.url = url
        self.path = redact_url(url)
        self.prefix = prefix
        self.accounts_per_claim = accounts_per_claim
        self.channel = f"{prefix}outbox"
        self._t = {name: f"{prefix}outbox_{name}" for name in ("deliveries", "events", "accounts")}
        # The lock under which `insert_once` and a new account's row are written (see
        # `_insert_once_in`, `_insert`); the prefix keeps outboxes that share a database apart.
        digest = hashlib.blake2b(f"brandkit-insert-once:{prefix}".encode(), digest_size=8)
        self._insert_key = int.from_bytes(digest.digest(), "big", signed=True)
        self._lock = threading.RLock()
        self._conn: Any = None
        self._listener: Any = None
        self._alistener: Any = None
        # A post may have been added that no look saw and no wait will be woken for (the
        # listening connection was lost, or a claim took its wake-ups and then failed):
        # the next wait returns at once, so that the worker looks.
        self._look = False
        self._alook = False
        self._stopped = threading.Event()
        self._held: set[str] = set()
        self._held_lock = threading.Lock()
        try:
            self._conn = self._connect()
        except ConfigurationError:
            raise
        except BrandkitError as exc:
            raise ConfigurationError(str(exc)) from None
        try:
            self._migrate_pg(create)
            if clock is None:
                # Before `recover`, which stamps what it finds with the clock.
                self.clock = _DatabaseClock(self)
            self.recover()
        except BaseException:
            self._conn.close()
            raise
        # Every lease is above 0 (`_lease_seconds`), so every outbox renews its own.
        self._heart = threading.Thread(
            target=_heartbeat,
            args=(weakref.ref(self), self._stopped, max(0.05, self.lease / 4)),
            name="brandkit-outbox-leases",
            daemon=True,
        )
        self._heart.start()

    def _init_common(
        self,
        *,
        lease: float,
        clock: Callable[[], datetime] | None,
        timeout: float,
        accounts: Mapping[str, Account] | Iterable[Account] | None,
    ) -> None:
        """What every outbox sets up (owner, clock, accounts), without opening a file."""
        self.lease = _lease_seconds(lease)
        self.clock = clock or (lambda: datetime.now(UTC))
        self.timeout = lock_wait(timeout)
        # The nonce starts with this machine's fingerprint: a lease of a process that died
        # on this very machine (and process namespace) is freed at once (`_dead_here`).
        self.owner = f"{_HOST}:{os.getpid()}:{_HERE or 'x'}.{uuid.uuid4().hex[:8]}"
        self.accounts = None
        if accounts is not None:
            self.use_accounts(accounts)
        self._last_post = None

    # -- connections ---------------------------------------------------------------------

    def _connect(self) -> Any:
        """A new connection in autocommit mode (transactions are explicit), on UTC, with
        lock waits bounded by ``timeout``.

        Raises:
            ConfigurationError: psycopg is missing.
            BrandkitError: the server cannot be reached or refused the login.
        """
        conn = pg_connect(self.url, autocommit=True)
        try:
            conn.execute("SET TIME ZONE 'UTC'")
            # A row another process keeps locked longer than this is a conflict, not a hang.
            set_lock_timeout(conn, self.timeout)
        except BaseException:
            conn.close()
            raise
        return conn

    def _connection(self) -> Any:
        """The connection, opened again if the last one broke or the server closed it while
        it was idle (a restart, ``idle_session_timeout``: `stale`)."""
        if self._conn is None or stale(self._conn):
            if self._stopped.is_set():
                raise BrandkitError(f"the outbox {self.path!r} is closed: open it again")
            if self._conn is not None:
                self._conn.close()
            try:
                self._conn = self._connect()
            except ConfigurationError:
                raise
            except BrandkitError as exc:
                # Down for a moment (a restart, a failover): a worker tries again later.
                raise OutboxConflict(f"{exc}; try again") from None
        return self._conn

    @contextmanager
    def _errors(self, *, opening: bool = False) -> Iterator[None]:
        """psycopg's failures as brandkit's errors: a lock held past ``timeout``, a
        deadlock or a row of the outbox written by another process at the same moment is an
        `OutboxConflict`; anything else a `BrandkitError` (a `ConfigurationError` while
        ``opening``), a duplicate key in a table of the caller's too."""
        try:
            yield
        except pg_errors.UniqueViolation as exc:
            table = exc.diag.table_name
            if not opening and table is not None and table not in self._t.values():
                # A statement of the caller's own (`Outbox.transaction`) collided with a row
                # of its table: that row stays, so no retry settles it, as none would on
                # SQLite (which names it the same way).
                raise BrandkitError(
                    f"outbox {self.path!r}: a statement of the transaction was refused "
                    f"({_first_line(exc)}): nothing was written; check the keys it writes"
                ) from None
            raise OutboxConflict(
                f"the outbox {self.path!r}: another process holds or wrote the same rows "
                f"({_first_line(exc)}); nothing was written: try again"
            ) from None
        except (
            pg_errors.LockNotAvailable,
            pg_errors.DeadlockDetected,
            pg_errors.SerializationFailure,
        ) as exc:
            raise OutboxConflict(
                f"the outbox {self.path!r}: another process holds or wrote the same rows "
                f"({_first_line(exc)}); nothing was written: try again"
            ) from None
        except psycopg.OperationalError as exc:
            if opening:
                raise ConfigurationError(
                    f"cannot open the outbox at {self.path!r}: {_first_line(exc)}"
                ) from None
            # The server went away (a restart, a failover): the next call connects again.
            conn = self._conn
            if conn is not None and not conn.closed:
                conn.close()
            raise OutboxConflict(
                f"lost the connection to the outbox {self.path!r} ({_first_line(exc)}); "
                "try again: whether the last change was written is not known, so a "
                "delivery it concerned is read again before anything is sent"
            ) from None
        except psycopg.Error as exc:
            if opening:
                raise ConfigurationError(
                    f"cannot open the outbox at {self.path!r}: {_first_line(exc)}"
                ) from None
            raise BrandkitError(f"outbox {self.path!r}: {_first_line(exc)}") from None

    @contextmanager
    def _tx(self) -> Iterator[Any]:
        """One transaction on the outbox's connection; yields a cursor."""
        self._not_nested()
        with self._lock, self._errors():
            conn = self._connection()
            with conn.transaction(), conn.cursor() as cur:
                yield cur

    @contextmanager
    def _reading(self) -> Iterator[Any]:
        """A cursor for reading; it also runs the SQLite outbox's reading statements
        (`get`, `list`, `counts`, short ids are inherited, not written twice)."""
        with self._lock, self._errors(), self._connection().cursor() as cur:
            yield _Statements(cur, self.prefix)

    def _migrate_pg(self, create: bool) -> None:
        """Bring the tables up to date (`brandkit.backends.migrate`), or refuse a database
        without them when ``create`` is ``False``."""
        table = self._t["deliveries"]
        with self._lock, self._errors(opening=True):
            if not create:
                row = self._conn.execute("SELECT to_regclass(%s) IS NOT NULL", (table,))
                if not row.fetchone()[0]:
                    raise ConfigurationError(
                        f"no outbox at {self.path!r} with prefix {self.prefix!r} (no table "
                        f"{table}): check the URL and prefix, or create it (create=True, or "
                        "brandkit db upgrade)"
                    )
            migrate(self._conn, SCHEMA, prefix=self.prefix)

    def _renew(self, conn: Any) -> Any:
        """Renew this outbox's leases on ``conn`` (opened when ``None`` or broken);
        returns the connection to use next time."""
        with self._held_lock:
            held = builtins.list(self._held)
        if not held:
            return conn
        if conn is None or stale(conn):
            if conn is not None:
                conn.close()
            conn = self._connect()
        d, a = self._t["deliveries"], self._t["accounts"]
        args = {"lease": self.lease, "me": self.owner, "held": held}
        with conn.transaction():
            conn.execute(
                f"UPDATE {d} SET lease_until = now() + make_interval(secs => %(lease)s::float8) "  # noqa: S608
                "WHERE lease_owner = %(me)s AND id = ANY(%(held)s)",
                args,
            )
            conn.execute(
                f"UPDATE {a} SET lease_until = now() + make_interval(secs => %(lease)s::float8) "  # noqa: S608
                f"WHERE lease_owner = %(me)s AND account IN (SELECT account FROM {d} "
                "WHERE lease_owner = %(me)s AND id = ANY(%(held)s))",
                args,
            )
        return conn

    def _hold(self, delivery_id: str, owner: str | None) -> None:
        """Note whether this outbox now leases ``delivery_id``: only what it is working on
        is renewed, so a lease it failed to give back (the server was away) still ends."""
        with self._held_lock:
            if owner is not None and owner == self.owner:
                self._held.add(delivery_id)
            else:
                self._held.discard(delivery_id)

    def close(self) -> None:
        """Stop renewing leases and close the connections (leases still held end after
        ``lease`` seconds; a worker releases its own before)."""
        self._stopped.set()
        heart = getattr(self, "_heart", None)
        if heart is not None:
            heart.join(5)
        with self._lock:
            for conn in (self._conn, self._listener):
                if conn is not None:
                    conn.close()
            self._listener = None
        # The async wait's own: it stayed open on the server while the outbox lived.
        alistener, self._alistener = self._alistener, None
        _close_async(alistener)

    def __del__(self) -> None:
        # Dropped without close(): give the server its connections back all the same.
        stopped = getattr(self, "_stopped", None)
        if stopped is not None:
            stopped.set()
        for name in ("_conn", "_listener"):
            conn = getattr(self, name, None)
            if conn is not None and not conn.closed:
                conn.close()
        _close_async(getattr(self, "_alistener", None))

    def __repr__(self) -> str:
        return f"PostgresOutbox({self.path!r})"

    # -- the lease rules, on the database's clock ----------------------------------------

    @staticmethod
    def _lease_open(owner: str | None, until: float | None, delivery_id: str | None = None) -> bool:
        """No live process holds the lease: there is none, or it ended (``until`` is the
        seconds left on it, measured by the database)."""
        return owner is None or until is None or until < 0 or _dead_here(owner)

    def _dead_owners_here(self, db: Any) -> builtins.list[str]:
        """The owners of unexpired leases that are processes of this machine (and process
        namespace) that have exited."""
        if _HERE is None:
            return []
        host = _HOST.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"{host}:%:{_HERE}.%"
        d, a = self._t["deliveries"], self._t["accounts"]
        db.execute(
            f"SELECT lease_owner FROM {d} WHERE lease_owner LIKE %(p)s "  # noqa: S608
            "AND lease_until >= now() "
            f"UNION SELECT lease_owner FROM {a} WHERE lease_owner LIKE %(p)s "
            "AND lease_until >= now()",
            {"p": pattern},
        )
        return [owner for (owner,) in db.fetchall() if _dead_here(owner)]

    def _free_dead_here(self, db: Any) -> None:
        """End at once the leases of processes of this machine that have exited (a worker
        restarted after ``kill -9`` does not wait for its own old leases to expire)."""
        dead = self._dead_owners_here(db)
        if dead:
            for table in (self._t["deliveries"], self._t["accounts"]):
                db.execute(
                    f"UPDATE {table} SET lease_until = now() - interval '1 second' "  # noqa: S608
                    "WHERE lease_owner = ANY(%s)",
                    (dead,),
                )

    # -- the row writers the inherited rules call ------------------------------------------

    def _fetch(self, db: Any, delivery_id: str) -> tuple[Delivery, str | None, float | None]:
        db.execute(
            f"SELECT {_PG_ROW}, lease_owner, {_LEFT} FROM {self._t['deliveries']} "  # noqa: S608
            "WHERE id = %s FOR UPDATE",
            (delivery_id,),
        )
        row = db.fetchone()
        if row is None:
            raise BrandkitError(f"the outbox has no delivery {delivery_id!r}")
        return self._load(row[0], row[1:6]), row[6], row[7]

    def _events(self, db: Any, rows: builtins.list[_EventRow]) -> None:  # type: ignore[override]
        if rows:
            # One statement for the one or two rows of a state change (executemany costs
            # a pipeline's set-up on every call).
            values = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(rows))
            db.execute(
                f"INSERT INTO {self._t['events']} "  # noqa: S608
                f"(delivery_id, at, status, attempts, parts, note) VALUES {values}",
                [v for row in rows for v in row],
            )

    def _insert(
        self,
        db: Any,
        delivery: Delivery,
        lease_owner: str | None,
        lease_until: float | None,
        *,
        error: str | _Unset | None = _UNSET,
        columns: tuple[Any, ...] | None = None,
    ) -> None:
        """Insert the row (``lease_until``: seconds of lease from now) and its first
        history; a pending delivery wakes the idle workers when the transaction commits."""
        if isinstance(error, _Unset):
            error = self._error_text(delivery)
        if columns is None:
            columns = self._columns(delivery, error)
        d = self._t["deliveries"]
        db.execute(
            f"INSERT INTO {d} (account, platform, status, campaign, scheduled_at, attempts, "  # noqa: S608
            "error, parts, created_at, updated_at, data, lease_owner, lease_until, id) "
            f"VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, {_UNTIL}, %s)",
            (*columns, lease_owner, lease_until, delivery.id),
        )
        self._hold(delivery.id, lease_owner)
        a = self._t["accounts"]
        # A new account's row is written under the outbox's insert lock (`_insert_once_in`'s),
        # held to commit: an insert waits for another transaction's uncommitted row, so two
        # adding the same new accounts in opposite orders (or an add and an insert_once) each
        # waited for the other's and PostgreSQL aborted one (an OutboxConflict). Under the
        # one lock no transaction holds a new row another needs; a committed row takes none.
        # One statement (the lock taken in its subquery, before the row): one round trip
        # per delivery inserted, not two.
        db.execute(
            f"INSERT INTO {a} (account) SELECT %s FROM ("  # noqa: S608
            "SELECT pg_advisory_xact_lock(%s)::text AS locked "
            f"WHERE NOT EXISTS (SELECT 1 FROM {a} WHERE account = %s)) AS held "
            "WHERE held.locked IS NOT NULL ON CONFLICT DO NOTHING",
            (delivery.account, self._insert_key, delivery.account),
        )
        if delivery.status is DeliveryStatus.PENDING:
            # Delivered at commit, once per transaction (identical notifications merge).
            db.execute("SELECT pg_notify(%s, '')", (self.channel,))
        self._first_events(db, delivery, error, columns)

    def _write(
        self,
        db: Any,
        delivery: Delivery,
        *,
        lease_owner: str | None,
        lease_until: float | None,
        not_before: str | _Unset | None = _UNSET,
        columns: tuple[Any, ...] | None = None,
    ) -> None:
        """Update the whole row; ``lease_until`` is seconds of lease from now."""
        if columns is None:
            columns = self._columns(delivery, self._error_text(delivery))
        sets = (
            "account = %s, platform = %s, status = %s, campaign = %s, scheduled_at = %s, "
            "attempts = %s, error = %s, parts = %s, created_at = %s, updated_at = %s, "
            f"data = %s, lease_owner = %s, lease_until = {_UNTIL}"
        )
        args: builtins.list[Any] = [*columns, lease_owner, lease_until]
        if not isinstance(not_before, _Unset):
            sets += ", not_before = %s"
            args.append(not_before)
        args.append(delivery.id)
        db.execute(f"UPDATE {self._t['deliveries']} SET {sets} WHERE id = %s", args)  # noqa: S608
        self._hold(delivery.id, lease_owner)

    # -- the drivers' protocol -----------------------------------------------------------

    def _save_in(
        self,
        db: Any,
        delivery: Delivery,
        error: str | None,
        columns: tuple[Any, ...],
    ) -> None:
        status = delivery.status.value
        db.execute(
            f"SELECT status, attempts, parts, lease_owner, {_LEFT}, error "  # noqa: S608
            f"FROM {self._t['deliveries']} WHERE id = %s FOR UPDATE",
            (delivery.id,),
        )
        row = db.fetchone()
        lease_owner: str | None = None
        lease: float | None = None
        if status in _IN_FLIGHT:
            lease_owner, lease = self.owner, self.lease
        if row is None:
            # As on SQLite: an article goes out at once whatever its time (the blog
            # schedules it), so the process that saves it keeps it until it has sent it.
            scheduled = send_at(delivery.post)
            if status == "pending" and scheduled is not None and scheduled > self.clock():
                lease_owner, lease = None, None
            self._insert(db, delivery, lease_owner, lease, error=error, columns=columns)
            return
        stored, stored_attempts, stored_parts, owner, left, stored_error = row
        self._check_save(delivery, stored, stored_attempts, stored_parts, owner, left)
        self._write(db, delivery, lease_owner=lease_owner, lease_until=lease, columns=columns)
        self._events(
            db,
            self._save_events(delivery, stored, stored_attempts, stored_parts, stored_error, error),
        )

    def _save_events(
        self,
        delivery: Delivery,
        stored: str,
        stored_attempts: int,
        stored_parts: int,
        stored_error: str | None,
        error: str | None,
    ) -> builtins.list[_EventRow]:
        """The history rows of a save over a stored row (as the SQLite outbox writes them)."""
        status, parts, at = delivery.status.value, len(delivery.parts), _iso(delivery.updated_at)
        events: builtins.list[_EventRow] = []
        if parts > stored_parts and stored == "sending" and status != stored:
            events.append(self._event_row(delivery, stored, None, at))
        if (
            stored != status
            or stored_parts != parts
            or stored_attempts != delivery.attempts
            or (error is not None and error != stored_error)
        ):
            events.append(self._event_row(delivery, status, error, at))
        return events

    # -- taking and giving back work -----------------------------------------------------

    def recover(self) -> int:
        """Mark every delivery left ``sending`` by a process whose lease ended as
        ``unknown``; returns how many were found. Runs when the outbox opens."""
        at = self.clock()
        with self._tx() as db:
            self._free_dead_here(db)
            db.execute(
                f"SELECT {_PG_ROW} FROM {self._t['deliveries']} WHERE status = 'sending' "  # noqa: S608
                f"AND (lease_owner IS NULL OR {_ended()}) FOR UPDATE SKIP LOCKED"
            )
            return self._recover_rows(db, db.fetchall(), at)

    def claim(
        self,
        now: datetime | None = None,
        *,
        accounts: Iterable[str] | None = None,
        limit: int = 100,
        failed: builtins.list[Delivery] | None = None,
    ) -> builtins.list[Delivery]:
        """Take the deliveries due at ``now`` for this outbox's lease, oldest first, from at
        most ``accounts_per_claim`` accounts that no other live worker serves (a damaged
        row is failed instead, and added to ``failed``: see
        [`Outbox.claim`][brandkit.Outbox.claim]).

        In one transaction: the accounts are locked ``FOR UPDATE SKIP LOCKED`` (two
        workers never wait for each other, and never take the same account) and leased,
        then their due deliveries are leased. Each account stays this outbox's until
        `release` gave back the last of its deliveries (or the lease ended, if this
        process died). A delivery found ``sending`` whose publisher is gone comes back
        ``unknown``: its next part is looked up before anything is sent.

        Raises:
            OutboxConflict: a row stayed locked by another process past ``timeout``.
            ConfigurationError: ``limit`` is not a whole number from 0 to 2**63 - 1,
                ``now`` is not a timezone-aware datetime, or ``accounts`` is not a list of
                account keys.
        """
        check_limit(limit, what="deliveries")
        keys = _account_keys(accounts)
        if keys is not None and not keys:
            return []
        look = self._listen_before_look()
        try:
            return self._claim_now(now, keys, limit, failed)
        except BaseException:
            # Nothing was looked at: the wake-ups taken above are the next wait's again.
            self._look = self._look or look
            raise

    async def _aclaim_listening(
        self,
        now: datetime | None = None,
        *,
        accounts: Iterable[str] | None = None,
        limit: int = 100,
        failed: builtins.list[Delivery] | None = None,
    ) -> builtins.list[Delivery]:
        """`claim` for a caller that waits with `await_work` (an asynchronous worker's
        idle wait): it listens before it looks on the asynchronous connection that wait
        uses, and runs the claim off the event loop. `claim` would listen on a synchronous
        connection of its own, which nothing waits on: one more session on the server for
        the worker's life.

        Raises:
            OutboxConflict, ConfigurationError: as `claim`.
        """
        check_limit(limit, what="deliveries")
        keys = _account_keys(accounts)
        if keys is not None and not keys:
            return []
        look = await self._alisten_before_look()
        try:
            return await asyncio.to_thread(self._claim_now, now, keys, limit, failed)
        except BaseException:
            self._alook = self._alook or look
            raise

    def _claim_now(
        self,
        now: datetime | None,
        keys: builtins.list[str] | None,
        limit: int,
        failed: builtins.list[Delivery] | None,
    ) -> builtins.list[Delivery]:
        """`claim` once listening (``now`` ``None``: the outbox's clock)."""
        at = now or self.clock()
        return self._claim(self._t["deliveries"], self._t["accounts"], at, keys, limit, failed)

    def _claim(
        self,
        d: str,
        a: str,
        at: datetime,
        keys: builtins.list[str] | None,
        limit: int,
        failed: builtins.list[Delivery] | None,
    ) -> builtins.list[Delivery]:
        """`claim`'s transaction, once listening."""
        args: dict[str, Any] = {
            "at": _iso(at),
            "me": self.owner,
            "lease": self.lease,
            "keys": keys,
            "n": min(self.accounts_per_claim, limit),
            "limit": limit,
        }
        only = "AND a.account = ANY(%(keys)s) " if keys is not None else ""
        with self._tx() as db:
            self._free_dead_here(db)
            db.execute(
                f"SELECT a.account FROM {a} a "  # noqa: S608
                "WHERE (a.lease_owner IS NULL OR a.lease_owner = %(me)s "
                f"  OR {_ended('a.lease_until')}) "
                f"{only}"
                f"AND EXISTS (SELECT 1 FROM {d} WHERE account = a.account AND {_DUE}) "
                # A delivery being published (a Client's publish too) holds its account.
                f"AND NOT EXISTS (SELECT 1 FROM {d} WHERE account = a.account "
                f"  AND lease_owner IS NOT NULL AND {_held()}) "
                f"ORDER BY (SELECT min(COALESCE(scheduled_at, created_at)) FROM {d} "
                f"  WHERE account = a.account AND {_DUE}), a.account "
                "LIMIT %(n)s FOR UPDATE OF a SKIP LOCKED",
                args,
            )
            taken_accounts = [r[0] for r in db.fetchall()]
            if not taken_accounts:
                return []
            args["taken"] = taken_accounts
            db.execute(
                f"UPDATE {a} SET lease_owner = %(me)s, "  # noqa: S608
                "lease_until = now() + make_interval(secs => %(lease)s::float8) "
                "WHERE account = ANY(%(taken)s)",
                args,
            )
            db.execute(
                f"SELECT {_PG_ROW}, {_BAD_TIMES} FROM {d} WHERE {_DUE} "  # noqa: S608
                f"AND id IN ({_in_order(d, 'account = ANY(%(taken)s)')}) "
                "ORDER BY COALESCE(scheduled_at, created_at), created_at, seq "
                "LIMIT %(limit)s FOR UPDATE",
                args,
            )
            taken: builtins.list[Delivery] = []
            for row in db.fetchall():
                delivery = self._load(row[0], row[1:6])
                if not self._takes(db, delivery, _row_faults(row[4], row[6:8]), at, failed):
                    continue
                self._write(db, delivery, lease_owner=self.owner, lease_until=self.lease)
                taken.append(delivery)
            served = {t.account for t in taken}
            idle = [k for k in taken_accounts if k not in served]
            if idle:
                # Locked but nothing taken (the limit was reached): free for others.
                db.execute(
                    f"UPDATE {a} SET lease_owner = NULL, lease_until = NULL "  # noqa: S608
                    "WHERE account = ANY(%s)",
                    (idle,),
                )
            return taken

    def release(self, delivery_id: str, *, retry_at: datetime | None = None) -> None:
        """Give up this outbox's lease on a delivery (a no-op when another holds it), and
        on its account once none of the account's deliveries is held any more.

        With ``retry_at``: a ``failed`` delivery becomes ``pending`` again and a pending or
        ``unknown`` one waits, until then (see [`Outbox.release`][brandkit.Outbox.release]).

        Raises:
            BrandkitError: no such delivery.
            ConfigurationError: ``retry_at`` is not a timezone-aware datetime.
            OutboxConflict: a row stayed locked by another process past ``timeout``.
        """
        if retry_at is not None:
            # Refused as on SQLite (PostgreSQL would read a naive time as UTC).
            retry_at = datetime.fromisoformat(_iso(retry_at))
        d, a = self._t["deliveries"], self._t["accounts"]
        # No longer renewed from here on, even if giving it back fails: it then ends.
        self._hold(delivery_id, None)
        if retry_at is None:
            # The release after every attempt: one statement, one round trip (no
            # transaction around it: a statement is atomic on its own).
            with self._lock, self._errors():
                found = self._connection().execute(
                    _RELEASE_SQL.format(d=d, a=a, finished="TRUE"),
                    {"id": delivery_id, "me": self.owner},
                )
                if found.fetchone() is None:
                    raise BrandkitError(f"the outbox has no delivery {delivery_id!r}")
            return
        with self._tx() as db:
            db.execute(
                f"SELECT status, lease_owner, account, data FROM {d} "  # noqa: S608
                "WHERE id = %s FOR UPDATE",
                (delivery_id,),
            )
            row = db.fetchone()
            if row is None:
                raise BrandkitError(f"the outbox has no delivery {delivery_id!r}")
            status, owner, account, data = row
            if owner not in (None, self.owner):
                return
            if retry_at is not None and status == "failed":
                self._pend_again(db, self._load(data), retry_at)
            elif retry_at is not None and status in ("pending", "unknown"):
                db.execute(
                    f"UPDATE {d} SET lease_owner = NULL, lease_until = NULL, "  # noqa: S608
                    "not_before = %s WHERE id = %s",
                    (retry_at, delivery_id),
                )
            elif owner is not None:
                db.execute(
                    f"UPDATE {d} SET lease_owner = NULL, lease_until = NULL "  # noqa: S608
                    "WHERE id = %s",
                    (delivery_id,),
                )
            db.execute(
                f"UPDATE {a} SET lease_owner = NULL, lease_until = NULL "  # noqa: S608
                "WHERE account = %s AND lease_owner = %s AND NOT EXISTS "
                f"(SELECT 1 FROM {d} WHERE account = %s AND lease_owner = %s)",
                (account, self.owner, account, self.owner),
            )

    def _release_finished(self, delivery_id: str) -> DeliveryStatus | None:
        """The SQLite outbox's, in one statement (one round trip): a finished delivery's
        lease and then its account's given back as `release` does; the stored status
        returned either way."""
        d, a = self._t["deliveries"], self._t["accounts"]
        with self._lock, self._errors():
            row = (
                self._connection()
                .execute(
                    _RELEASE_SQL.format(d=d, a=a, finished=_FINISHED),
                    {"id": delivery_id, "me": self.owner},
                )
                .fetchone()
            )
        if row is None:
            return None
        status = DeliveryStatus(row[0])
        if status.value in _AFTER_FINISHED:
            self._hold(delivery_id, None)
        return status

    def insert_once(self, delivery: Delivery) -> Delivery:
        """Write ``delivery`` unless one with its id is stored already; return the stored
        one (two processes inserting the same answer at once make one delivery)."""
        with self._tx() as db:
            return self._insert_once_in(db, delivery, False)

    def _insert_once_in(self, db: Any, delivery: Delivery, lease: bool) -> Delivery:
        """`insert_once` in the transaction of ``db`` (`Outbox.transaction`'s too);
        ``lease``: written as `save` writes it (leased to this outbox while pending)."""
        db.execute(
            f"SELECT data FROM {self._t['deliveries']} WHERE id = %s",  # noqa: S608
            (delivery.id,),
        )
        row = db.fetchone()
        if row is not None:
            return self._load(row[0])
        # Another process may insert the same id meanwhile: wait for it, take its row. One
        # lock for every insert_once of the outbox, held until the transaction ends: a lock
        # per id, taken as each was inserted, let two transactions inserting overlapping ids
        # in opposite orders (two processes queuing the same announcements) each wait for
        # the other's, and PostgreSQL aborted one (an OutboxConflict). With one lock there is
        # no order to get wrong: the second waits at its first insert for the first's
        # commit, then finds the rows that one wrote. Taken only when the id is not stored.
        db.execute("SELECT pg_advisory_xact_lock(%s)", (self._insert_key,))
        db.execute(
            f"SELECT data FROM {self._t['deliveries']} WHERE id = %s",  # noqa: S608
            (delivery.id,),
        )
        row = db.fetchone()
        if row is not None:
            return self._load(row[0])
        return self._insert_absent(db, delivery, lease)

    # -- waiting for work ----------------------------------------------------------------

    def _listen(self) -> bool:
        """Listen for added posts on a connection of its own (opened once, and again when
        the last one was lost). Returns whether it was opened now.

        Raises:
            BrandkitError: the server cannot be reached (or the outbox is closed).
            psycopg.Error: ``LISTEN`` failed.
        """
        if self._listener is not None and not self._listener.closed:
            return False
        self._listener = None
        conn = self._connect()
        try:
            conn.execute(f'LISTEN "{self.channel}"')
        except BaseException:
            conn.close()
            raise
        if self._stopped.is_set():
            # close() ran while this connected: it would outlive the outbox.
            conn.close()
            raise BrandkitError(f"the outbox {self.path!r} is closed: open it again")
        self._listener = conn
        return True

    def _drop_listener(self, exc: BaseException) -> None:
        """The listening connection failed (the server closed it: a restart, a failover,
        ``idle_session_timeout``, ``pg_terminate_backend``): close it, and have the next
        wait return at once, since a post added while nobody listened woke nobody."""
        logger.warning(
            "outbox %s: the connection listening for new posts was lost (%s); listening again",
            self.path,
            _first_line(exc),
        )
        if self._listener is not None:
            self._listener.close()
        self._listener = None
        self._look = True

    def _listen_before_look(self) -> bool:
        """Before `claim` looks: make sure a live connection listens (a post added after
        the look then wakes the next wait), and take the wake-ups that came meanwhile
        (the look sees their posts). Returns whether a wait was to return at once."""
        try:
            listener = self._listener
            if listener is not None and not listener.closed:
                try:
                    woken, farewell = _drain(listener)
                    self._look = self._look or woken
                    if farewell is not None:
                        raise psycopg.OperationalError(farewell)
                except psycopg.Error as exc:
                    self._drop_listener(exc)
            self._listen()
        except (BrandkitError, psycopg.Error):
            # Only the wake-up is lost: an idle worker still looks again after its poll.
            logger.warning("outbox %s: cannot listen for new posts", self.path)
            return False  # the next wait tries again, and returns at once when it can
        look, self._look = self._look, False
        return look

    def wait_for_work(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for a post to be added (``NOTIFY``); returns
        whether to look for work. Listening starts at the first `claim` (or wait), and a
        post added since then counts even if nobody was waiting: the wait returns at once
        for it.

        When the server closes the listening connection (a restart, a failover,
        ``idle_session_timeout``, ``pg_terminate_backend``), the wait notices at once,
        listens on a new connection and returns ``True``: a post added meanwhile woke
        nobody, so the caller looks. When the server cannot be reached, it returns
        ``False`` after at most a second (and tries again at the next wait).
        """
        if self._stopped.is_set():
            return False
        try:
            self._listen()
        except (BrandkitError, psycopg.Error):
            logger.warning("outbox %s: cannot listen for new posts", self.path, exc_info=True)
            self._stopped.wait(min(max(0.0, timeout), 1.0))
            return False
        if self._look:
            self._look = False
            return True
        try:
            woken = False
            for _ in self._listener.notifies(timeout=max(0.0, timeout), stop_after=1):
                woken = True
            if woken:
                # Several adds while busy are one reason to look: drain them.
                for _ in self._listener.notifies(timeout=0.0):
                    pass
            return woken
        except psycopg.Error as exc:
            if self._stopped.is_set():
                return False  # closed under the wait (close() ends its connection)
            self._drop_listener(exc)
        # Listen again at once: a wait that slept first missed what was added meanwhile.
        return self.wait_for_work(0.0)

    async def _alisten(self) -> Any:
        """The asynchronous twin of `_listen`: the connection `await_work` listens on
        (opened once, and again when the last one was lost); ``None`` once the outbox is
        closed.

        Raises:
            BrandkitError: the server cannot be reached.
            psycopg.Error: ``LISTEN`` failed.
        """
        listener = self._alistener
        if listener is not None and not listener.closed:
            return listener
        self._alistener = None
        listener = await pg_aconnect(self.url, autocommit=True)
        try:
            await listener.execute(f'LISTEN "{self.channel}"')
        except BaseException:
            await listener.close()
            raise
        if self._stopped.is_set():
            # close() ran while this connected: it would outlive the outbox.
            await listener.close()
            return None
        self._alistener = listener
        return listener

    async def _adrop_listener(self, listener: Any, exc: BaseException) -> None:
        """`_drop_listener` for the asynchronous wait's connection."""
        logger.warning(
            "outbox %s: the connection listening for new posts was lost (%s); listening again",
            self.path,
            _first_line(exc),
        )
        if self._alistener is listener:
            self._alistener = None
        await listener.close()
        self._alook = True

    async def _alisten_before_look(self) -> bool:
        """`_listen_before_look` for a caller that waits with `await_work`: make sure its
        connection listens before the look, and take the wake-ups that came meanwhile.
        Returns whether its next wait was to return at once."""
        try:
            listener = self._alistener
            if listener is not None and not listener.closed:
                try:
                    woken, farewell = await _adrain(listener)
                    self._alook = self._alook or woken
                    if farewell is not None:
                        raise psycopg.OperationalError(farewell)
                except psycopg.Error as exc:
                    await self._adrop_listener(listener, exc)
            await self._alisten()
        except (BrandkitError, psycopg.Error):
            # Only the wake-up is lost: an idle worker still looks again after its poll.
            logger.warning("outbox %s: cannot listen for new posts", self.path)
            return False
        look, self._alook = self._alook, False
        return look

    async def await_work(self, timeout: float) -> bool:
        """`wait_for_work` without blocking the event loop (psycopg's async connection):
        it returns ``True`` too when its connection was lost and it listens on a new one."""
        if self._stopped.is_set():
            return False
        try:
            listener = await self._alisten()
        except (BrandkitError, psycopg.Error):
            logger.warning("outbox %s: cannot listen for new posts", self.path, exc_info=True)
            await asyncio.sleep(min(max(0.0, timeout), 1.0))
            return False
        if listener is None:
            return False  # closed while it connected
        if self._alook:
            self._alook = False
            return True
        woken = False
        # Cut off mid-wait (a shorter `asyncio.wait_for`, a stopped worker), the connection
        # is kept: psycopg reads the socket only once its wait for it has ended, so a
        # cancelled wait read nothing, and the idle listening session is left as it was
        # (what came meanwhile wakes the next wait). Closed, every cut-off wait cost a new
        # session, and a post added before the next one woke nobody.
        try:
            async for _ in listener.notifies(timeout=max(0.0, timeout), stop_after=1):
                woken = True
        except psycopg.Error as exc:
            if self._stopped.is_set():
                return False  # closed under the wait (close() ends its connection)
            await self._adrop_listener(listener, exc)
            # Listen again at once: a post added meanwhile woke nobody (returns True).
            return await self.await_work(0.0)
        return woken

    # -- reading (get, list, counts and id look-up are the SQLite outbox's, see _Statements) --

    def history(self, delivery_id: str) -> builtins.list[OutboxEvent]:
        """Every recorded step of one delivery, oldest first (empty for an unknown id)."""
        with self._reading() as db:
            db.execute(
                # A time psycopg cannot read (an infinity) comes as its text, shown damaged.
                f"SELECT CASE WHEN NOT {_bad('at')} THEN at END, "  # noqa: S608
                f"CASE WHEN {_bad('at')} THEN at::text END, "
                f"status, attempts, parts, note FROM {self._t['events']} "
                "WHERE delivery_id = %s ORDER BY seq",
                (delivery_id,),
            )
            rows = db.fetchall()
        return _read_events((at if at is not None else text, *rest) for at, text, *rest in rows)

    def next_due(self, accounts: Iterable[str] | None = None) -> datetime | None:
        """When the earliest pending or unknown delivery (of these account keys) is due;
        ``None`` when there is none. A time in the past means it is due now.

        Raises:
            ConfigurationError: ``accounts`` is not a list of account keys.
        """
        bad = f"{_bad('scheduled_at')} OR {_bad('not_before')}"
        sql = (
            # A damaged time is due at once (the next claim fails its row), never read.
            f"SELECT MIN(GREATEST(scheduled_at, not_before)) FILTER (WHERE NOT ({bad})), "  # noqa: S608
            f"bool_or((scheduled_at IS NULL AND not_before IS NULL) OR {bad}) "
            f"FROM {self._t['deliveries']} WHERE status IN ('pending', 'unknown')"
        )
        args: builtins.list[Any] = []
        keys = _account_keys(accounts)
        if keys is not None:
            if not keys:
                return None
            sql += " AND account = ANY(%s)"
            args.append(keys)
        with self._reading() as db:
            db.execute(sql, args)
            row = db.fetchone()
        if row is None or row[1] is None:
            return None
        if row[1]:
            return self.clock()
        when: datetime = row[0]
        return when

    def due(
        self,
        now: datetime | None = None,
        *,
        accounts: Iterable[str] | None = None,
        limit: int = 100,
    ) -> builtins.list[Delivery]:
        """What a worker would take at ``now``: pending and unknown deliveries whose time
        has come and that no live process holds, oldest first. Reads only.

        Raises:
            ConfigurationError: ``limit`` is not a whole number from 0 to 2**63 - 1,
                ``now`` is not a timezone-aware datetime, or ``accounts`` is not a list of
                account keys.
        """
        check_limit(limit, what="deliveries")
        keys = _account_keys(accounts)
        if keys is not None and not keys:
            return []
        with self._reading() as db:
            db.execute(*self._due_query(db, _PG_ROW, now, keys, limit))
            rows = db.fetchall()
        return [self._load(r[0], r[1:]) for r in rows]

    def due_accounts(self, now: datetime | None = None) -> builtins.list[str]:
        """The accounts (keys, sorted) of every delivery `due` would return at ``now``,
        however many deliveries there are.

        Raises:
            ConfigurationError: ``now`` is not a timezone-aware datetime.
        """
        with self._reading() as db:
            sql, args = self._due_query(db, "account", now, None, None)
            db.execute(
                f"SELECT DISTINCT account FROM ({sql}) AS due ORDER BY account",  # noqa: S608
                args,
            )
            return [str(r[0]) for r in db.fetchall()]

    def _due_query(
        self,
        db: Any,
        columns: str,
        now: datetime | None,
        keys: builtins.list[str] | None,
        limit: int | None,
    ) -> tuple[str, dict[str, Any]]:
        """`due`'s statement selecting ``columns`` (``limit`` ``None``: all of them). A lease
        of a process of this machine that has exited counts as ended, as `claim` ends it
        (without writing: ``due`` only reads)."""
        d = self._t["deliveries"]
        args: dict[str, Any] = {
            "at": _iso(now or self.clock()),
            "keys": keys,
            "limit": limit,
            "dead": self._dead_owners_here(db),
        }
        only = "AND account = ANY(%(keys)s) " if keys is not None else ""
        return (
            f"SELECT {columns} FROM {d} WHERE {_DUE_TIME} {only}"  # noqa: S608
            f"AND (lease_owner IS NULL OR {_ended()} "
            "  OR lease_owner = ANY(%(dead)s::text[])) "
            f"AND account NOT IN (SELECT account FROM {d} "
            f"  WHERE lease_owner IS NOT NULL AND {_held()} "
            "  AND NOT lease_owner = ANY(%(dead)s::text[])) "
            f"AND id IN ({_in_order(d, 'TRUE')}) "
            # LIMIT NULL is no limit.
            "ORDER BY COALESCE(scheduled_at, created_at), created_at, seq LIMIT %(limit)s",
            args,
        )


class _Statements:
    """A psycopg cursor that also runs the SQLite outbox's statements: their ``?``
    placeholders become ``%s`` (a statement with its own ``%`` placeholders is left as it
    is), their table names get this outbox's prefix, ``rowid`` (insertion order) is
    ``seq``."""

    def __init__(self, cursor: Any, prefix: str) -> None:
        self._cursor = cursor
        self._prefix = prefix

    def execute(self, sql: str, args: Any = None) -> Any:
        self._cursor.execute(_translate(sql, self._prefix), args or None)
        return self._cursor

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)


@functools.lru_cache(maxsize=64)
def _translate(sql: str, prefix: str) -> str:
    if "?" in sql and "%" not in sql:
        sql = sql.replace("?", "%s")
    sql = sql.replace(_ROW, _PG_ROW)
    sql = _TABLES.sub(lambda m: prefix + m.group(0), sql)
    return _ROWID.sub("seq", sql)


_TABLES = re.compile(r"(?<![A-Za-z0-9_])outbox_(?:deliveries|events|accounts)\b")
_ROWID = re.compile(r"\browid\b")


def _heartbeat(ref: weakref.ref[PostgresOutbox], stopped: threading.Event, period: float) -> None:
    """Renew an outbox's leases every ``period`` seconds until it is closed or forgotten
    (its own connection, so a long transaction on the outbox's never delays a renewal; a
    weak reference, so an outbox dropped without `close` does not live on in its thread)."""
    conn: Any = None
    try:
        while not stopped.wait(period):
            box = ref()
            if box is None:
                return
            try:
                conn = box._renew(conn)
            except Exception:
                logger.warning("outbox %s: could not renew leases", box.path, exc_info=True)
                if conn is not None:
                    conn.close()
                conn = None
            del box
    finally:
        if conn is not None:
            conn.close()


# How often `_DatabaseClock` reads the database's clock again: its offset from this host's
# monotonic clock drifts by far less than a second an hour, so a reading now and then is
# plenty, and costs one short round trip.
_CLOCK_EVERY = 30.0
# A new reading moves the clock only when it differs by more than its own round trip (or
# this): readings do not jitter, nor step back by the noise of a round trip.
_CLOCK_STEP = 0.005


class _DatabaseClock:
    """The database server's current time (``clock_timestamp()``), the default
    `PostgresOutbox.clock`: read on the outbox's connection when the outbox opens, then again
    at most every `_CLOCK_EVERY` seconds; in between, this host's monotonic clock plus the
    offset of the last reading (taken at the middle of its round trip, so off by at most half
    of it). Stepping this host's clock (NTP, a person) changes nothing.

    A re-reading never waits for a lock, nor breaks a transaction: it is skipped (the last
    offset serving on) while another thread uses the outbox's connection or a transaction is
    open on it, and one that fails keeps the last offset. It holds the outbox weakly, so
    that a dropped outbox is not kept alive (with its connections) by its own clock.

    Raises:
        ConfigurationError: (when made) the first reading failed.
    """

    # Every host's outbox on this database reads the same clock: a `Worker` takes it as its
    # own (for the retry times it writes) unless given another.
    shared = True

    def __init__(self, box: PostgresOutbox) -> None:
        self._box = weakref.ref(box)
        with box._lock, box._errors(opening=True):
            self._base, self._checked = self._read(box._conn)

    @staticmethod
    def _read(conn: Any) -> tuple[float, float]:
        """The offset of the database's clock from this host's monotonic one, and the
        monotonic time it was read at."""
        before = time.monotonic()
        row = conn.execute("SELECT EXTRACT(EPOCH FROM clock_timestamp())::float8").fetchone()
        after = time.monotonic()
        return float(row[0]) - (before + after) / 2, after

    def due(self) -> bool:
        """Whether the next reading asks the database (an event loop reads it in a thread
        then, else inline)."""
        return time.monotonic() - self._checked > _CLOCK_EVERY

    def __call__(self) -> datetime:
        if self.due():
            self._resync()
        return datetime.fromtimestamp(self._base + time.monotonic(), UTC)

    def _resync(self) -> None:
        box = self._box()
        if box is None or not box._lock.acquire(blocking=False):
            return  # busy (or gone): the last offset serves until the next reading
        try:
            conn = box._conn
            if (
                conn is None
                or conn.closed
                or conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE
            ):
                return
            before = time.monotonic()
            try:
                base, self._checked = self._read(conn)
            except psycopg.Error:
                # The next statement finds the connection broken and opens another.
                self._checked = time.monotonic()
                logger.debug("outbox %s: could not read the database's clock", box.path)
                return
            if abs(base - self._base) > max(_CLOCK_STEP, self._checked - before):
                self._base = base
        finally:
            box._lock.release()


class _Farewell:
    """A notice handler that keeps the server's farewell on a listening connection: the
    first FATAL (or PANIC) notice's message, sent as it closes the connection (its end of
    stream may still be on its way)."""

    def __init__(self) -> None:
        self.message: str | None = None

    def __call__(self, diagnostic: Any) -> None:
        if self.message is None and diagnostic.severity_nonlocalized in ("FATAL", "PANIC"):
            self.message = diagnostic.message_primary or "the server closed the connection"

    def more(self, listener: Any) -> bool:
        """Whether something came on ``listener`` that a read without waiting takes."""
        return not listener.closed and self.message is None and _readable(listener.pgconn.socket)


# One read each for wake-ups, a farewell and the end of the stream, as long as something is
# there (bounded: they come at once).
_DRAIN_READS = 8


def _drain(listener: Any) -> tuple[bool, str | None]:
    """Read what came on an idle listening connection without waiting: whether it held
    wake-ups, and the server's farewell (`_Farewell`), if any.

    Raises:
        psycopg.OperationalError: the server closed the connection.
    """
    woken = False
    farewell = _Farewell()
    listener.add_notice_handler(farewell)
    try:
        for _ in range(_DRAIN_READS):
            if not farewell.more(listener):
                break
            for _ in listener.notifies(timeout=0.0):
                woken = True
    finally:
        listener.remove_notice_handler(farewell)
    return woken, farewell.message


async def _adrain(listener: Any) -> tuple[bool, str | None]:
    """`_drain` for an asynchronous listening connection.

    Raises:
        psycopg.OperationalError: the server closed the connection.
    """
    woken = False
    farewell = _Farewell()
    listener.add_notice_handler(farewell)
    try:
        for _ in range(_DRAIN_READS):
            if not farewell.more(listener):
                break
            async for _ in listener.notifies(timeout=0.0):
                woken = True
    finally:
        listener.remove_notice_handler(farewell)
    return woken, farewell.message


def _close_async(conn: Any) -> None:
    """Close a psycopg ``AsyncConnection`` from synchronous code (`PostgresOutbox.close`):
    its ``close`` awaits nothing (no pool), so it runs to its end at once."""
    if conn is None or conn.closed:
        return
    closing = conn.close()
    try:
        closing.send(None)
    except StopIteration:
        return
    # It did wait for something after all: not here; the connection ends with the object.
    closing.close()


def _first_line(exc: BaseException) -> str:
    """An error's first line (psycopg's carry the server's DETAIL and HINT after it)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
