"""Where brandkit keeps state: an SQLite file (the embedded default), PostgreSQL or Redis.

Stores take a *target*: a path (an SQLite file), a ``postgresql://`` URL or a ``redis://``
URL. `kind_of` tells which; `redact_url` gives a URL fit for messages and logs (the
password replaced by ``***``). The database drivers are optional extras, imported only when a
server is used: `psycopg` (``pip install brandkit[postgres]``) and `redis`
(``pip install brandkit[redis]``).

PostgreSQL schemas are versioned per *component* (``governor``, ``outbox``, …) and per *table
prefix*: the table ``<prefix>schema`` records each component's version, and `migrate` applies
the missing migrations in one transaction under an advisory lock, so that many workers
starting at once upgrade the schema exactly once. ``brandkit db upgrade URL`` does the same for
every component ahead of a deployment::

    from brandkit.backends import Schema, connect, migrate

    SCHEMA = Schema("example", ((
        "CREATE TABLE {prefix}example (id bigint PRIMARY KEY)",
    ),))
    with connect("postgresql://app@db/brandkit") as conn:
        migrate(conn, SCHEMA, prefix="brandkit_")

A component's PostgreSQL module is named ``_pg*.py`` or ``_postgres*.py`` in its package and
registers its `Schema` at import (`register`); ``brandkit db upgrade`` finds them by that name.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import math
import os
import pkgutil
import re
import select
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import SplitResult, parse_qsl, urlencode, urlsplit, urlunsplit

import attrs

from brandkit.errors import BrandkitError, ConfigurationError

if TYPE_CHECKING:
    import psycopg
    import redis
    import redis.asyncio

__all__ = [
    "DEFAULT_PREFIX",
    "Kind",
    "Schema",
    "ServerTimeClock",
    "aconnect",
    "amigrate",
    "aredis_client",
    "check_prefix",
    "connect",
    "discover",
    "kind_of",
    "migrate",
    "redact_url",
    "redis_client",
    "register",
    "registered",
    "scrub",
    "set_lock_timeout",
    "stale",
    "upgrade",
]

Kind = Literal["sqlite", "postgresql", "redis"]

DEFAULT_PREFIX = "brandkit_"
"""The table (and Redis key) prefix when none is given."""

_POSTGRES_SCHEMES = frozenset({"postgresql", "postgres"})
_REDIS_SCHEMES = frozenset({"redis", "rediss", "unix"})
# Lower case only: PostgreSQL folds unquoted names to lower case, and a prefix that needs
# quoting would have to be quoted in every statement of every component.
_PREFIX = re.compile(r"[a-z_][a-z0-9_]{0,39}")
_SECRET_PARAMS = frozenset({"password", "sslpassword", "passfile", "sslkey"})
_CONNECT_TIMEOUT = 10
# The longest connect timeout a URL may set: a connection attempt is bounded, as every wait.
_MAX_CONNECT_TIMEOUT = 300
# TCP keepalives on every PostgreSQL connection (libpq's names; a URL's own values win): a
# connection whose server vanished without a word (its host gone, a NAT or firewall that
# dropped the flow) is found dead after about a minute idle, where the system's defaults
# (two hours, then nine probes 75 s apart) left a worker blocked on its read that long.
_KEEPALIVES = {
    "keepalives": "1",
    "keepalives_idle": "30",
    "keepalives_interval": "10",
    "keepalives_count": "3",
}
# Milliseconds sent data may stay unacknowledged before the connection is closed (libpq's
# tcp_user_timeout, from libpq 12): a statement sent to a vanished server fails after a
# minute, not after the system's retransmissions (about 15 minutes). A slow statement is
# not cut: the server's host acknowledges what it received while the statement runs.
_TCP_USER_TIMEOUT = "60000"
# Seconds a migration (or a store opening) waits for another process's hold on the schema
# lock, whatever the connection's own lock_timeout: a store that waits a millisecond for a
# row failed to open whenever another opened at the same moment.
_SCHEMA_WAIT = 60.0
# Seconds `upgrade` lets a migration's statement wait for a table another session uses: an
# ALTER TABLE waiting for its lock queues every later query on the table behind it, so an
# unbounded wait (behind a transaction left open) stopped every worker with it.
_DDL_WAIT = 10.0


def kind_of(target: str | os.PathLike[str]) -> Kind:
    """Which backend ``target`` names: ``"postgresql"`` for a ``postgresql://`` (or
    ``postgres://``) URL, ``"redis"`` for ``redis://``, ``rediss://`` or ``unix://``, and
    ``"sqlite"`` for anything else without a scheme (a path, ``:memory:``).

    Raises:
        ConfigurationError: ``target`` has a URL scheme brandkit has no backend for.
    """
    if not isinstance(target, str):
        return "sqlite"
    match = re.match(r"([A-Za-z][A-Za-z0-9+.-]*)://", target)
    if match is None:
        return "sqlite"
    scheme = match.group(1).lower()
    if scheme in _POSTGRES_SCHEMES:
        return "postgresql"
    if scheme in _REDIS_SCHEMES:
        return "redis"
    raise ConfigurationError(
        f"{redact_url(target)}: no backend for {scheme}://; give an SQLite file path, a "
        "postgresql:// URL or a redis:// URL"
    )


def sql_kind(target: str | os.PathLike[str], kept: str) -> Literal["sqlite", "postgresql"]:
    """`kind_of` for a store kept in SQL: ``"sqlite"`` or ``"postgresql"``.

    Args:
        target: the store's path or URL.
        kept: what is kept, for the message (``"the inbox is"``, ``"metrics are"``).

    Raises:
        ConfigurationError: ``target`` names another backend (read as a path, a
            ``redis://`` URL became folders named after its host and password), is empty
            (SQLite opens a temporary database for it, gone with everything written into
            it when closed: an unset ``--db "$DB"``), or is not a path at all (``None``
            made a file named ``None``).
    """
    text = os.fspath(target) if isinstance(target, str | os.PathLike) else None
    if not isinstance(text, str) or not text.strip():
        shown = repr(text) if isinstance(text, str) else f"a {type(target).__name__}"
        raise ConfigurationError(
            f"the path is {shown}: {kept} kept in an SQLite file or on PostgreSQL; give a "
            "file (brandkit.db) or a postgresql:// URL"
        )
    kind = kind_of(target)
    if kind == "redis":
        raise ConfigurationError(
            f"{redact_url(target)}: {kept} kept in an SQLite file or on PostgreSQL; give a "
            "path or a postgresql:// URL"
        )
    return kind


def redact_url(url: str | os.PathLike[str]) -> str:
    """``url`` with its password (and any password-like query parameter) replaced by
    ``***``, for messages, reprs and logs. A path is returned as it is; a URL that cannot
    be parsed is replaced whole."""
    text = os.fspath(url)
    if "://" not in text:
        return text
    try:
        parts = urlsplit(text)
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, host = netloc.rsplit("@", 1)
            user = userinfo.split(":", 1)[0]
            netloc = f"{user}:***@{host}" if ":" in userinfo else f"{user}@{host}"
        query = parts.query
        if query:
            pairs = parse_qsl(query, keep_blank_values=True)
            query = urlencode(
                [(k, "***" if k.lower() in _SECRET_PARAMS else v) for k, v in pairs], safe="*/"
            )
        return urlunsplit(SplitResult(parts.scheme, netloc, parts.path, query, ""))
    except ValueError:
        return "<a URL that cannot be parsed>"


def scrub(text: str, url: str) -> str:
    """``text`` (a driver's error message) with the password of ``url`` replaced by ``***``."""
    try:
        parts = urlsplit(url)
        secrets = [parts.password] if parts.password else []
        secrets += [v for k, v in parse_qsl(parts.query) if k.lower() in _SECRET_PARAMS]
    except ValueError:
        return "(error message withheld: the URL cannot be parsed)"
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def check_prefix(prefix: str) -> str:
    """Return ``prefix`` if it can start table names: lower-case letters, digits and ``_``,
    not starting with a digit, at most 40 characters (PostgreSQL names end at 63).

    Raises:
        ConfigurationError: ``prefix`` is not such a string.
    """
    if not isinstance(prefix, str) or _PREFIX.fullmatch(prefix) is None:
        raise ConfigurationError(
            f"table prefix {prefix!r}: use lower-case letters, digits and _ (not starting "
            "with a digit, at most 40 characters), e.g. 'brandkit_'"
        )
    return prefix


# -- drivers -----------------------------------------------------------------------------


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError as exc:
        raise ConfigurationError(
            "PostgreSQL needs psycopg 3: pip install 'brandkit[postgres]'"
        ) from exc
    return psycopg


def _redis() -> Any:
    try:
        import redis
    except ImportError as exc:
        raise ConfigurationError("Redis needs redis-py: pip install 'brandkit[redis]'") from exc
    return redis


def _postgres_url(url: str) -> str:
    """``url`` as libpq takes it: its scheme in lower case (libpq reads ``POSTGRESQL://…``,
    which `kind_of` takes, as a broken ``key=value`` string: "missing "="")."""
    if kind_of(url) != "postgresql":
        raise ConfigurationError(f"{redact_url(url)} is not a postgresql:// URL")
    scheme, rest = url.split("://", 1)
    return f"{scheme.lower()}://{rest}"


def _options(pg: Any, target: str) -> dict[str, Any]:
    """The connection settings brandkit adds to those ``target`` sets itself: the TCP
    keepalives (`_KEEPALIVES`, and ``tcp_user_timeout`` where libpq knows it) and the
    connect timeout (`_CONNECT_TIMEOUT`), each only where the URL does not set it.

    Raises:
        psycopg.ProgrammingError: ``target`` is not a URL libpq can read.
        ConfigurationError: the URL's ``connect_timeout`` is not a whole number of seconds
            from 1 to `_MAX_CONNECT_TIMEOUT` (libpq reads 0 as waiting for ever).
    """
    given = pg.conninfo.conninfo_to_dict(target)
    options: dict[str, Any] = {
        name: value for name, value in _KEEPALIVES.items() if name not in given
    }
    if "tcp_user_timeout" not in given and pg.pq.version() >= 120000:
        options["tcp_user_timeout"] = _TCP_USER_TIMEOUT
    if "connect_timeout" not in given:
        options["connect_timeout"] = _CONNECT_TIMEOUT
    else:
        raw = str(given["connect_timeout"]).strip()
        if not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= _MAX_CONNECT_TIMEOUT):
            raise ConfigurationError(
                f"connect_timeout={raw[:20]!r} in the PostgreSQL URL: give a whole number of "
                f"seconds from 1 to {_MAX_CONNECT_TIMEOUT} (0 would wait for ever), or leave "
                f"it out for {_CONNECT_TIMEOUT}"
            )
    return options


def connect(url: str, *, autocommit: bool = False) -> psycopg.Connection[Any]:
    """A new psycopg connection to the PostgreSQL server of ``url`` (10 s connect timeout,
    unless the URL sets ``connect_timeout``: 1 to 300 s).

    Its TCP connection sends keepalives (after 30 s idle, every 10 s, given up after 3
    unanswered) and gives up on data the server has not acknowledged after 60 s
    (``tcp_user_timeout``), so that a server gone without a word (its host down, a NAT that
    dropped the flow) fails a read within about a minute instead of blocking it for hours.
    A URL that sets any of ``keepalives``, ``keepalives_idle``, ``keepalives_interval``,
    ``keepalives_count`` or ``tcp_user_timeout`` keeps its own value.

    Raises:
        ConfigurationError: psycopg is not installed, or ``url`` is not a postgresql:// URL.
        BrandkitError: the server cannot be reached or refused the connection (the message
            names the URL without its password).
    """
    pg = _psycopg()
    target = _postgres_url(url)
    try:
        conn: psycopg.Connection[Any] = pg.connect(
            target,
            autocommit=autocommit,
            **_options(pg, target),
        )
    except pg.Error as exc:
        raise BrandkitError(
            f"cannot connect to {redact_url(url)}: {scrub(str(exc), url)}"
        ) from None
    return conn


def stale(conn: Any) -> bool:
    """Whether ``conn`` (a psycopg connection, sync or async, between statements) can no
    longer be used: closed, or closed by the server while it was idle (a restart, a
    failover, ``idle_session_timeout``, ``pg_terminate_backend``).

    What the server sent meanwhile is read without waiting: on a live connection nothing
    (no round trip), on one the server closed its farewell (a FATAL notice) and the end of
    the stream, either of which marks it stale. A stale connection has not been sent
    anything of the next statement, so opening a new one in its place is always safe,
    where using it failed the call.
    """
    if conn.closed:
        return True
    pgconn = conn.pgconn
    if conn.info.transaction_status != _pq().TransactionStatus.IDLE:
        return False  # a transaction under way is its own statement's to fail
    farewell: list[object] = []

    def note(diagnostic: Any) -> None:
        if diagnostic.severity_nonlocalized in ("FATAL", "PANIC"):
            farewell.append(diagnostic)

    for _ in range(4):  # bounded: a farewell and the end of the stream come at once
        if not _readable(pgconn.socket):
            return False
        conn.add_notice_handler(note)
        try:
            pgconn.consume_input()
            # Parses what came: a message the server sent an idle session reaches the
            # notice handlers (its end of stream may still be on its way).
            pgconn.is_busy()
        except _psycopg().OperationalError:
            return True
        finally:
            conn.remove_notice_handler(note)
        if conn.closed or farewell:
            return True
    return False


def _pq() -> Any:
    from psycopg import pq

    return pq


def _readable(fd: int) -> bool:
    """Whether ``fd`` has something to read now (``poll``: a descriptor past 1023 is
    beyond ``select``)."""
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        return bool(poller.poll(0))
    return bool(select.select([fd], [], [], 0)[0])


def set_lock_timeout(conn: Any, seconds: float) -> None:
    """Bound how long statements on ``conn`` wait for a row or table lock to ``seconds``
    (PostgreSQL's ``lock_timeout``, in whole milliseconds). At least one: 0 is "wait for
    ever" to PostgreSQL, so a store given ``timeout=0`` (or under a millisecond) hung on a
    row another process held."""
    conn.execute(f"SET lock_timeout = {max(1, math.ceil(seconds * 1000))}")


async def aconnect(url: str, *, autocommit: bool = False) -> psycopg.AsyncConnection[Any]:
    """The async twin of `connect` (a ``psycopg.AsyncConnection``, with the same TCP
    keepalives).

    Raises:
        ConfigurationError: psycopg is not installed, or ``url`` is not a postgresql:// URL.
        BrandkitError: the server cannot be reached or refused the connection.
    """
    pg = _psycopg()
    target = _postgres_url(url)
    try:
        conn: psycopg.AsyncConnection[Any] = await pg.AsyncConnection.connect(
            target,
            autocommit=autocommit,
            **_options(pg, target),
        )
    except pg.Error as exc:
        raise BrandkitError(
            f"cannot connect to {redact_url(url)}: {scrub(str(exc), url)}"
        ) from None
    return conn


def _redis_url(url: str) -> str:
    if kind_of(url) != "redis":
        raise ConfigurationError(f"{redact_url(url)} is not a redis:// URL")
    return url


def redis_client(url: str, *, timeout: float = 10.0) -> redis.Redis:
    """A redis-py client for ``url`` with bounded connect and read timeouts (no connection
    is made until the first command).

    Raises:
        ConfigurationError: redis-py is not installed, or ``url`` is not a redis:// URL.
    """
    module = _redis()
    _redis_url(url)
    try:
        client: redis.Redis = module.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout
        )
    except ValueError as exc:
        raise ConfigurationError(f"{redact_url(url)}: {scrub(str(exc), url)}") from None
    return client


def aredis_client(url: str, *, timeout: float = 10.0) -> redis.asyncio.Redis:
    """The async twin of `redis_client` (a ``redis.asyncio.Redis``).

    Raises:
        ConfigurationError: redis-py is not installed, or ``url`` is not a redis:// URL.
    """
    _redis()
    _redis_url(url)
    import redis.asyncio

    try:
        client: redis.asyncio.Redis = redis.asyncio.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout
        )
    except ValueError as exc:
        raise ConfigurationError(f"{redact_url(url)}: {scrub(str(exc), url)}") from None
    return client


# -- schemas -----------------------------------------------------------------------------


@attrs.frozen
class Schema:
    """The PostgreSQL schema of one component, as the list of its migrations.

    ``migrations[i]`` brings the component from version ``i`` to ``i + 1``: a sequence of SQL
    statements in which ``{prefix}`` stands for the table prefix (replaced as text, so other
    braces need no escaping). Migrations are only ever appended: a released one never changes.
    """

    component: str
    migrations: tuple[tuple[str, ...], ...]

    @property
    def version(self) -> int:
        """The version this brandkit brings the component to."""
        return len(self.migrations)


_registry: dict[str, Schema] = {}


def register(schema: Schema) -> Schema:
    """Record ``schema`` for ``brandkit db upgrade`` and return it (call at import).

    Raises:
        ConfigurationError: another schema is already registered under the same component.
    """
    known = _registry.get(schema.component)
    if known is not None and known != schema:
        raise ConfigurationError(f"two schemas registered for component {schema.component!r}")
    _registry[schema.component] = schema
    return schema


def registered() -> dict[str, Schema]:
    """The schemas registered so far, by component."""
    return dict(_registry)


def discover() -> dict[str, Schema]:
    """Import every component's PostgreSQL module (``brandkit.<package>._pg*`` and
    ``._postgres*``) so that its schema is registered, and return the registered schemas.
    Importing them needs no driver."""
    import brandkit

    for package in pkgutil.iter_modules(brandkit.__path__):
        if not package.ispkg or package.name.startswith("_"):
            continue
        name = f"brandkit.{package.name}"
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            continue
        for module in pkgutil.iter_modules(spec.submodule_search_locations):
            if module.name.startswith(("_pg", "_postgres")):
                importlib.import_module(f"{name}.{module.name}")
    return registered()


def _lock_key(prefix: str) -> int:
    """The advisory lock of ``prefix``'s schema (a signed 64-bit key)."""
    digest = hashlib.blake2b(f"brandkit-schema:{prefix}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _plan(schema: Schema, prefix: str, found: int | None) -> list[str]:
    """The statements that bring ``schema`` from version ``found`` to its latest."""
    current = found or 0
    if current > schema.version:
        raise ConfigurationError(
            f"the database's {schema.component} schema (prefix {prefix!r}) is version "
            f"{current}, newer than this brandkit knows ({schema.version}): upgrade brandkit"
        )
    return [
        step.replace("{prefix}", prefix)
        for migration in schema.migrations[current:]
        for step in migration
    ]


def _migration_failed(schema: Schema, prefix: str, exc: Exception) -> BrandkitError:
    where = f"migrating the {schema.component} schema (prefix {prefix!r}) failed"
    if isinstance(exc, _psycopg().errors.LockNotAvailable):
        return BrandkitError(
            f"{where}: another session kept one of its tables in use past the lock timeout "
            "(a long transaction?); nothing was changed: try again once it has ended"
        )
    return BrandkitError(f"{where}: {exc}")


def _schema_reads(prefix: str) -> tuple[str, str]:
    """Whether the table of versions exists (on the search path, as every statement finds
    it), and one component's version in it."""
    return (
        "SELECT to_regclass(%s) IS NOT NULL",
        f"SELECT version FROM {prefix}schema WHERE component = %s",  # noqa: S608 - prefix validated
    )


def _schema_table(prefix: str) -> tuple[str, str]:
    return (
        f"CREATE TABLE IF NOT EXISTS {prefix}schema ("
        " component text PRIMARY KEY, version integer NOT NULL,"
        " updated_at timestamptz NOT NULL DEFAULT now())",
        f"INSERT INTO {prefix}schema (component, version) VALUES (%s, %s)"  # noqa: S608 - prefix validated
        " ON CONFLICT (component) DO UPDATE SET version = excluded.version, updated_at = now()",
    )


# The connection's own lock_timeout, read before the schema lock's is set for the rest of the
# transaction (the MATERIALIZED CTE is read before set_config runs).
_WAIT_SCHEMA = (
    "WITH own AS MATERIALIZED (SELECT current_setting('lock_timeout') AS v) "
    "SELECT v, set_config('lock_timeout', %s, true) FROM own"
)
_RESTORE = "SELECT set_config('lock_timeout', %s, true)"
_SCHEMA_LOCK = "SELECT pg_advisory_xact_lock(%s)"


def _schema_wait() -> str:
    return f"{max(1, math.ceil(_SCHEMA_WAIT * 1000))}ms"


def _held_up(schema: Schema, prefix: str) -> BrandkitError:
    return BrandkitError(
        f"migrating the {schema.component} schema (prefix {prefix!r}) failed: another process "
        f"held the schema lock longer than {_SCHEMA_WAIT:g} s (a migration still running?); "
        "try again once it is done"
    )


def migrate(conn: psycopg.Connection[Any], schema: Schema, *, prefix: str = DEFAULT_PREFIX) -> int:
    """Bring ``schema`` up to date on ``conn``'s database and return the version it was at
    (0: new). All missing migrations run in one transaction under an advisory lock, so
    concurrent callers apply them once and a failed migration leaves nothing behind. The
    lock is waited for up to 60 s whatever ``conn``'s ``lock_timeout``; the migration's
    statements keep ``conn``'s.

    Raises:
        ConfigurationError: ``prefix`` is invalid, or the database's schema is newer than
            this brandkit.
        BrandkitError: a statement failed (the transaction is rolled back), or another
            process held the schema lock for more than 60 s.
    """
    check_prefix(prefix)
    pg = _psycopg()
    create, record = _schema_table(prefix)
    exists, read = _schema_reads(prefix)
    try:
        # Up to date, as nearly every open finds it: only read, without the lock or any
        # DDL, so that a user who may not create tables (the workers, once `brandkit db
        # upgrade` ran as another) opens the stores.
        with conn.transaction():
            known = conn.execute(exists, (f"{prefix}schema",)).fetchone()
            row = None
            if known is not None and known[0]:
                row = conn.execute(read, (schema.component,)).fetchone()
        if row is not None and int(row[0]) >= schema.version:
            _plan(schema, prefix, int(row[0]))  # refuses a newer one
            return int(row[0])
        with conn.transaction():
            row = conn.execute(_WAIT_SCHEMA, (_schema_wait(),)).fetchone()
            own = str(row[0]) if row else "0"
            try:
                conn.execute(_SCHEMA_LOCK, (_lock_key(prefix),))
            except pg.errors.LockNotAvailable:
                raise _held_up(schema, prefix) from None
            # The migration's own statements wait for table locks as the connection does.
            conn.execute(_RESTORE, (own,))
            conn.execute(create)
            row = conn.execute(read, (schema.component,)).fetchone()
            found = int(row[0]) if row else 0
            steps = _plan(schema, prefix, found)
            for step in steps:
                conn.execute(step)
            if steps or row is None:
                conn.execute(record, (schema.component, schema.version))
    except pg.Error as exc:
        raise _migration_failed(schema, prefix, exc) from exc
    return found


async def amigrate(
    conn: psycopg.AsyncConnection[Any], schema: Schema, *, prefix: str = DEFAULT_PREFIX
) -> int:
    """The async twin of `migrate`.

    Raises:
        ConfigurationError: ``prefix`` is invalid, or the database's schema is newer than
            this brandkit.
        BrandkitError: a statement failed (the transaction is rolled back), or another
            process held the schema lock for more than 60 s.
    """
    check_prefix(prefix)
    pg = _psycopg()
    create, record = _schema_table(prefix)
    exists, read = _schema_reads(prefix)
    try:
        # Up to date: only read (see `migrate`).
        async with conn.transaction():
            cur = await conn.execute(exists, (f"{prefix}schema",))
            known = await cur.fetchone()
            row = None
            if known is not None and known[0]:
                cur = await conn.execute(read, (schema.component,))
                row = await cur.fetchone()
        if row is not None and int(row[0]) >= schema.version:
            _plan(schema, prefix, int(row[0]))  # refuses a newer one
            return int(row[0])
        async with conn.transaction():
            cur = await conn.execute(_WAIT_SCHEMA, (_schema_wait(),))
            row = await cur.fetchone()
            own = str(row[0]) if row else "0"
            try:
                await conn.execute(_SCHEMA_LOCK, (_lock_key(prefix),))
            except pg.errors.LockNotAvailable:
                raise _held_up(schema, prefix) from None
            await conn.execute(_RESTORE, (own,))
            await conn.execute(create)
            cur = await conn.execute(read, (schema.component,))
            row = await cur.fetchone()
            found = int(row[0]) if row else 0
            steps = _plan(schema, prefix, found)
            for step in steps:
                await conn.execute(step)
            if steps or row is None:
                await conn.execute(record, (schema.component, schema.version))
    except pg.Error as exc:
        raise _migration_failed(schema, prefix, exc) from exc
    return found


def upgrade(
    url: str, *, prefix: str = DEFAULT_PREFIX, components: Sequence[str] | None = None
) -> dict[str, tuple[int, int]]:
    """Bring every registered component's schema (or only ``components``) up to date in the
    database of ``url``; returns ``{component: (version before, version now)}``. A statement
    waits at most 10 s for a table another session uses (then that component's migration
    is rolled back, and the error says so).

    Raises:
        ConfigurationError: ``url`` is not a postgresql:// URL, psycopg is missing, the
            prefix is invalid, a component is unknown or its schema is newer than this
            brandkit.
        BrandkitError: the server cannot be reached or a migration failed.
    """
    check_prefix(prefix)
    _postgres_url(url)
    schemas = discover()
    if components is not None:
        unknown = sorted(set(components) - set(schemas))
        if unknown:
            raise ConfigurationError(
                f"unknown component(s) {', '.join(unknown)}; known: {', '.join(sorted(schemas))}"
            )
        schemas = {name: schemas[name] for name in components}
    done: dict[str, tuple[int, int]] = {}
    with connect(url, autocommit=True) as conn:
        set_lock_timeout(conn, _DDL_WAIT)
        for name in sorted(schemas):
            before = migrate(conn, schemas[name], prefix=prefix)
            done[name] = (before, schemas[name].version)
    return done


# -- the shared clock ------------------------------------------------------------------------

_RESYNC_EVERY = 10.0
_MIN_STEP = 0.005


class ServerTimeClock:
    """Seconds since the epoch on a server's clock (Redis ``TIME``, PostgreSQL ``now()``),
    read between samples from this host's monotonic clock.

    Hosts whose clocks disagree share one budget correctly only if they stamp it with one
    clock: a ``Governor`` on a store that has one (``state.clock`` of ``RedisState`` and
    ``PostgresState``) uses it by default; a ``clock`` passed to the governor is used instead.
    The server is asked at first use and then at most every 10 s; the offset is taken at the
    middle of the round trip and only re-anchored when it moved by more than that round trip
    (so readings do not jitter). A failed re-sample keeps the last offset.

    Args:
        sample: returns the server's current time in float seconds since the epoch.

    Raises:
        BrandkitError: (on a reading) the first sample failed.
    """

    def __init__(self, sample: Callable[[], float], *, every: float = _RESYNC_EVERY) -> None:
        self._sample = sample
        self._every = every
        self._base: float | None = None
        self._checked = 0.0
        self._lock = threading.Lock()

    def due(self) -> bool:
        """Whether the next reading asks the server (the first one, or a re-sample).

        An event loop reads the clock inline when this is false and in a thread when true,
        so that only the rare reading that makes a round trip leaves the loop.
        """
        return self._base is None or time.monotonic() - self._checked > self._every

    def __call__(self) -> float:
        mono = time.monotonic()
        if self._base is None or mono - self._checked > self._every:
            with self._lock:
                if self._base is None or time.monotonic() - self._checked > self._every:
                    self._resync()
        assert self._base is not None
        return self._base + mono

    def _resync(self) -> None:
        old = self._base
        before = time.monotonic()
        try:
            server = self._sample()
        except BrandkitError:
            if old is None:
                raise
            self._checked = time.monotonic()
            return
        after = time.monotonic()
        base = server - (before + after) / 2
        self._checked = after
        if old is None or abs(base - old) > max(_MIN_STEP, after - before):
            self._base = base
