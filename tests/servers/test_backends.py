"""brandkit.backends: URL dispatch, redaction, connections and versioned migrations."""

from __future__ import annotations

import asyncio
import io
import json
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

from brandkit import backends
from brandkit.backends import Schema, check_prefix, kind_of, migrate, redact_url
from brandkit.cli import main
from brandkit.errors import BrandkitError, ConfigurationError

V1 = ("CREATE TABLE {prefix}thing (id bigint PRIMARY KEY)",)
V2 = ("ALTER TABLE {prefix}thing ADD COLUMN note text DEFAULT '{}'",)


@pytest.mark.parametrize(
    ("target", "kind"),
    [
        ("postgresql://u:p@h/db", "postgresql"),
        ("postgres://h/db", "postgresql"),
        ("redis://localhost:6379/0", "redis"),
        ("rediss://h", "redis"),
        ("unix:///run/redis.sock", "redis"),
        ("outbox.db", "sqlite"),
        (":memory:", "sqlite"),
        ("/var/lib/x/postgresql.db", "sqlite"),
        (Path("postgresql://not-a-url"), "sqlite"),
    ],
)
def test_kind_of(target: str, kind: str) -> None:
    assert kind_of(target) == kind


def test_unknown_scheme_is_refused_without_its_password() -> None:
    with pytest.raises(ConfigurationError, match="no backend for mysql://") as info:
        kind_of("mysql://root:hunter2@db/x")
    assert "hunter2" not in str(info.value)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://app:s3cret@db:5432/bk", "postgresql://app:***@db:5432/bk"),
        ("redis://:s3cret@127.0.0.1:6379/0", "redis://:***@127.0.0.1:6379/0"),
        (
            "postgresql://app@db/bk?password=s3cret&sslmode=require",
            "postgresql://app@db/bk?password=***&sslmode=require",
        ),
        ("postgresql://db/bk", "postgresql://db/bk"),
        ("state.db", "state.db"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


@pytest.mark.parametrize("prefix", ["brandkit_", "a", "_x9", "team_42_"])
def test_good_prefixes(prefix: str) -> None:
    assert check_prefix(prefix) == prefix


@pytest.mark.parametrize("prefix", ["", "9x", "Brand", "x-y", "x;drop table t", "a" * 41, "é"])
def test_bad_prefixes(prefix: str) -> None:
    with pytest.raises(ConfigurationError, match="table prefix"):
        check_prefix(prefix)


def test_missing_driver_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)
    monkeypatch.setitem(sys.modules, "redis", None)
    with pytest.raises(ConfigurationError, match=r"pip install 'brandkit\[postgres\]'"):
        backends.connect("postgresql://127.0.0.1/x")
    with pytest.raises(ConfigurationError, match=r"pip install 'brandkit\[redis\]'"):
        backends.redis_client("redis://127.0.0.1/0")


def test_connect_failure_hides_the_password(postgres_url: str) -> None:
    parts = urlsplit(postgres_url)
    wrong = postgres_url.replace(f":{parts.password}@", ":Wr0ngPassw0rd@")
    with pytest.raises(BrandkitError, match="cannot connect") as info:
        backends.connect(wrong)
    assert "Wr0ngPassw0rd" not in str(info.value)
    # The driver's exception is not chained: its text or conninfo could carry the secret.
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_a_scheme_in_capitals_connects(postgres_db: str) -> None:
    """kind_of takes POSTGRESQL:// (schemes ignore case), but libpq read it as a broken
    key=value string ('missing "=" after ...'): every store failed to open."""
    from brandkit.inbox import Inbox

    scheme, rest = postgres_db.split("://", 1)
    shouted = f"{scheme.upper()}://{rest}"
    with backends.connect(shouted, autocommit=True) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    with Inbox(shouted) as inbox:
        assert inbox.messages() == []


def test_migrate_creates_then_upgrades_once(postgres_db: str) -> None:
    with backends.connect(postgres_db) as conn:
        assert migrate(conn, Schema("thing", (V1,)), prefix="a_") == 0
        assert migrate(conn, Schema("thing", (V1,)), prefix="a_") == 1
        assert migrate(conn, Schema("thing", (V1, V2)), prefix="a_") == 1
        conn.execute("INSERT INTO a_thing (id) VALUES (1)")
        assert conn.execute("SELECT note FROM a_thing").fetchone() == ("{}",)
        rows = conn.execute("SELECT component, version FROM a_schema").fetchall()
        assert rows == [("thing", 2)]
        # Another prefix is another set of tables, versioned on its own.
        assert migrate(conn, Schema("thing", (V1,)), prefix="b_") == 0
        assert conn.execute("SELECT version FROM b_schema").fetchone() == (1,)


def test_newer_schema_is_refused(postgres_db: str) -> None:
    with backends.connect(postgres_db) as conn:
        migrate(conn, Schema("thing", (V1, V2)))
        with pytest.raises(ConfigurationError, match="version 2, newer than this brandkit"):
            migrate(conn, Schema("thing", (V1,)))


def test_failed_migration_leaves_nothing(postgres_db: str) -> None:
    broken = Schema("thing", (V1, ("ALTER TABLE {prefix}thing ADD COLUMN x nosuchtype",)))
    with backends.connect(postgres_db) as conn:
        with pytest.raises(BrandkitError, match="migrating the thing schema"):
            migrate(conn, broken)
        assert conn.execute("SELECT to_regclass('brandkit_thing')").fetchone() == (None,)
        assert migrate(conn, Schema("thing", (V1,))) == 0


def test_concurrent_migrations_apply_once(postgres_db: str) -> None:
    """Eight workers starting at once: one applies the migration, the others wait and see
    it done (a second CREATE TABLE would fail)."""
    schema = Schema("thing", (V1, V2))
    start = threading.Barrier(8)
    befores: list[int] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with backends.connect(postgres_db) as conn:
                start.wait(timeout=30)
                befores.append(migrate(conn, schema))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert sorted(befores) == [0] + [2] * 7


def _hold_schema_lock(url: str, prefix: str, seconds: float) -> threading.Thread:
    """Another process migrating: it holds ``prefix``'s schema lock for ``seconds``."""
    held = threading.Event()

    def hold() -> None:
        with psycopg.connect(url) as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (backends._lock_key(prefix),))
            held.set()
            time.sleep(seconds)

    thread = threading.Thread(target=hold)
    thread.start()
    assert held.wait(30)
    return thread


def test_a_store_that_waits_for_no_lock_still_waits_for_a_migration(postgres_db: str) -> None:
    """A store opened with timeout=0 (lock waits of a millisecond) while another process
    migrated (ten workers of a new deployment starting at once) failed to open with
    "canceling statement due to lock timeout"; it waits for the schema lock instead, and
    its own lock waits stay as short as asked."""
    from brandkit.governor import PostgresState

    holder = _hold_schema_lock(postgres_db, "w_", 0.5)
    try:
        with PostgresState(postgres_db, prefix="w_", timeout=0) as state:
            assert state.entries("s") == {}
            conn = state._connect()
            assert conn.execute("SHOW lock_timeout").fetchone() == ("1ms",)
    finally:
        holder.join()

    async def amigrated() -> int:
        async with await backends.aconnect(postgres_db) as conn:
            await conn.execute("SET lock_timeout = 1")
            await conn.commit()
            found = await backends.amigrate(conn, Schema("thing", (V1,)), prefix="w_")
            cur = await conn.execute("SHOW lock_timeout")
            assert await cur.fetchone() == ("1ms",)
            return found

    holder = _hold_schema_lock(postgres_db, "w_", 0.5)
    try:
        assert asyncio.run(amigrated()) == 0
    finally:
        holder.join()


def test_a_migration_held_up_too_long_says_so(
    postgres_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(backends, "_SCHEMA_WAIT", 0.2)
    holder = _hold_schema_lock(postgres_db, "w_", 1.0)
    try:
        with (
            backends.connect(postgres_db) as conn,
            pytest.raises(BrandkitError, match="another process held the schema lock"),
        ):
            migrate(conn, Schema("thing", (V1,)), prefix="w_")
    finally:
        holder.join()


@pytest.fixture
def worker_url(postgres_db: str) -> Iterator[str]:
    """``postgres_db`` as a least-privilege role: it may read and write rows, not create
    tables (the deployment runs ``brandkit db upgrade`` as another user)."""
    role = f"worker_{uuid.uuid4().hex[:10]}"
    password = uuid.uuid4().hex
    with psycopg.connect(postgres_db, autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
        admin.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
        admin.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON TABLES TO {role}")
        admin.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON SEQUENCES TO {role}")
    parts = urlsplit(postgres_db)
    try:
        yield parts._replace(netloc=f"{role}:{password}@{parts.hostname}:{parts.port}").geturl()
    finally:
        with psycopg.connect(postgres_db, autocommit=True) as admin:
            admin.execute(f"DROP OWNED BY {role}")
            admin.execute(f"DROP ROLE {role}")


def test_a_user_without_create_rights_opens_an_upgraded_database(
    postgres_db: str, worker_url: str
) -> None:
    """Workers connect as a user that may not create tables, once ``brandkit db upgrade``
    has run as one that may: every store opened (even ``Outbox(create=False)``) failed with
    "permission denied for schema public", as each open ran CREATE TABLE IF NOT EXISTS. An
    up-to-date schema is now only read."""
    from brandkit import Account, Post
    from brandkit.auth._pgstore import PostgresStore
    from brandkit.governor import PostgresState, Slot
    from brandkit.inbox import Inbox
    from brandkit.outbox import Outbox

    with psycopg.connect(worker_url) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("CREATE TABLE brandkit_nope (id int)")  # the test can fail
    backends.upgrade(postgres_db)
    account = Account.mastodon("https://social.example", token="t", name="a")
    with Outbox(worker_url, create=False) as box:
        box.add(Post(text="hello"), account)
    with PostgresState(worker_url) as state:
        state.update(["s"], lambda e: e.__setitem__(("s", "60s"), Slot(5, 60.0)))
    with PostgresStore(worker_url, key=b"k" * 32) as store:
        store.put("acme", {"token": "t"})
    with Inbox(worker_url) as inbox:
        assert inbox.messages() == []

    async def amigrated() -> int:
        async with await backends.aconnect(worker_url) as conn:
            return await backends.amigrate(conn, discover_one("outbox"))

    assert asyncio.run(amigrated()) == discover_one("outbox").version
    # Behind: migrating needs the rights, and says what failed.
    with (
        backends.connect(worker_url) as conn,
        pytest.raises(BrandkitError, match="migrating the thing schema"),
    ):
        migrate(conn, Schema("thing", (V1,)))


def test_cli_status_fails_for_a_database_newer_than_this_brandkit(
    postgres_db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """After a rollback to an older brandkit, ``db status`` exited 0 though every store of
    this brandkit refuses to open the newer schema: a start-up check passed, the workers
    then failed."""
    backends.discover()
    monkeypatch.setattr(backends, "_registry", {})
    with backends.connect(postgres_db) as conn:
        migrate(conn, Schema("thing", (V1, V2)), prefix="t_")
    backends.register(Schema("thing", (V1,)))
    import brandkit.backends._cli as cli

    monkeypatch.setattr(cli, "discover", backends.registered)
    monkeypatch.setenv("BRANDKIT_DATABASE_URL", postgres_db)
    out = io.StringIO()
    assert main(["db", "status", "--prefix", "t_"], out=out) == 1
    assert "thing: database 2, this brandkit 1 (newer: upgrade brandkit)" in out.getvalue()
    out = io.StringIO()
    assert main(["db", "status", "--prefix", "t_", "--json"], out=out) == 1
    assert json.loads(out.getvalue()) == {"thing": {"database": 2, "latest": 1}}


def test_cli_status_says_why_it_cannot_read_the_versions(
    postgres_db: str,
    worker_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A user who may not read ``<prefix>schema``: one line saying so (exit 1), not a
    traceback, and not the password."""
    backends.upgrade(postgres_db)
    role = urlsplit(worker_url).username
    with psycopg.connect(postgres_db, autocommit=True) as admin:
        admin.execute(f"REVOKE SELECT ON brandkit_schema FROM {role}")
    monkeypatch.setenv("BRANDKIT_DATABASE_URL", worker_url)
    assert main(["db", "status"], out=io.StringIO()) == 1
    err = capsys.readouterr().err
    assert "permission denied" in err and "brandkit_schema" in err
    password = urlsplit(worker_url).password
    assert password and password not in err


def test_db_upgrade_gives_up_on_a_table_held_by_a_long_transaction(
    postgres_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``brandkit db upgrade`` waited without end for a table a long transaction held
    (an admin's open shell): and while its ALTER TABLE waits, every other query on that
    table queues behind it, so the whole fleet stopped. It now gives up after a bounded
    wait, having changed nothing, and says why."""
    monkeypatch.setattr(backends, "_registry", {})
    backends.register(Schema("thing", (V1, V2)))
    monkeypatch.setattr(backends, "discover", backends.registered)
    monkeypatch.setattr(backends, "_DDL_WAIT", 0.3)
    with backends.connect(postgres_db) as conn:
        migrate(conn, Schema("thing", (V1,)))
    raised: list[BaseException | None] = []

    def run() -> None:
        try:
            backends.upgrade(postgres_db)
        except BaseException as exc:
            raised.append(exc)
        else:
            raised.append(None)

    with psycopg.connect(postgres_db) as holder:
        holder.execute("SELECT count(*) FROM brandkit_thing")  # a transaction left open
        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        thread.join(10)
        waited_for_ever = thread.is_alive()
        holder.rollback()
    thread.join(10)
    assert not waited_for_ever, "the upgrade waited for the table without end"
    (exc,) = raised
    assert isinstance(exc, BrandkitError)
    assert "another session" in str(exc) and "nothing was changed" in str(exc)
    assert backends.upgrade(postgres_db) == {"thing": (1, 2)}  # once it is free


def discover_one(component: str) -> Schema:
    return backends.discover()[component]


def test_async_twins(postgres_db: str) -> None:
    async def go() -> int:
        conn = await backends.aconnect(postgres_db)
        async with conn:
            first = await backends.amigrate(conn, Schema("thing", (V1,)))
            again = await backends.amigrate(conn, Schema("thing", (V1, V2)))
            cur = await conn.execute("SELECT version FROM brandkit_schema")
            assert await cur.fetchone() == (2,)
            return first * 10 + again

    assert asyncio.run(go()) == 1


def test_cli_upgrade_and_status(
    postgres_db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``brandkit db upgrade`` migrates every registered component (URL from the environment,
    so the password is never on the command line or in the output)."""
    # Every component's module imported first: one imported by main() for the first time
    # registered its schema into the registry below, and was migrated with it.
    backends.discover()
    monkeypatch.setattr(backends, "_registry", {})
    backends.register(Schema("thing", (V1, V2)))
    monkeypatch.setattr(backends, "discover", backends.registered)
    import brandkit.backends._cli as cli

    monkeypatch.setattr(cli, "discover", backends.registered)
    monkeypatch.setenv("BRANDKIT_DATABASE_URL", postgres_db)
    password = urlsplit(postgres_db).password
    assert password
    out = io.StringIO()
    assert main(["db", "status", "--prefix", "t_"], out=out) == 1
    assert "thing: database 0, this brandkit 2" in out.getvalue()
    out = io.StringIO()
    assert main(["db", "upgrade", "--prefix", "t_"], out=out) == 0
    assert "thing: version 2 (0 -> 2)" in out.getvalue()
    assert password not in out.getvalue()
    out = io.StringIO()
    assert main(["db", "upgrade", "--prefix", "t_"], out=out) == 0
    assert "thing: version 2 (up to date)" in out.getvalue()
    out = io.StringIO()
    assert main(["db", "status", "--prefix", "t_"], out=out) == 0
    with psycopg.connect(postgres_db) as conn:
        assert conn.execute("SELECT component, version FROM t_schema").fetchall() == [("thing", 2)]


@pytest.mark.parametrize("verb", ["status", "upgrade"])
def test_cli_usage_errors_exit_2_saying_what_to_give(
    verb: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """What was given is wrong before any database is asked: a usage error (exit status 2),
    never 1, which ``db status`` answers for a database behind this brandkit (a deploy
    script that upgrades on 1 upgraded nothing and failed again)."""
    monkeypatch.delenv("BRANDKIT_DATABASE_URL", raising=False)
    assert main(["db", verb], out=io.StringIO()) == 2
    err = capsys.readouterr().err
    assert f"brandkit db {verb}: error:" in err
    assert "postgresql://" in err and "BRANDKIT_DATABASE_URL" in err
    assert main(["db", verb, "--prefix", "Bad-Prefix", "postgresql://h/db"]) == 2
    assert "table prefix" in capsys.readouterr().err
    assert main(["db", verb, "redis://:pw@127.0.0.1:1/0"], out=io.StringIO()) == 2
    err = capsys.readouterr().err
    assert "only PostgreSQL" in err and ":pw@" not in err
    monkeypatch.setenv("BRANDKIT_DATABASE_URL", "brandkit.db")
    assert main(["db", verb], out=io.StringIO()) == 2
    assert "only PostgreSQL" in capsys.readouterr().err


def test_cli_an_unknown_component_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """``--component`` names what to upgrade: a misspelt one exited 1, as a failed
    upgrade does; it is a usage error (2) naming the known ones, before any connection."""
    argv = ["db", "upgrade", "--component", "outbx", "postgresql://u:pw@127.0.0.1:1/db"]
    assert main(argv, out=io.StringIO()) == 2
    err = capsys.readouterr().err
    assert "brandkit db upgrade: error: unknown component(s) outbx" in err
    assert "outbox" in err and "governor" in err and ":pw@" not in err


def test_server_time_clock_follows_the_server_without_jitter(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The clock reads the server's offset once, keeps it while it moves less than a round
    trip, follows a real step, and keeps the last offset when a re-sample fails."""
    mono = [1000.0]
    monkeypatch.setattr(backends.time, "monotonic", lambda: mono[0])
    server = [5000.0]
    calls = []

    def sample() -> float:
        calls.append(mono[0])
        if server[0] < 0:
            raise BrandkitError("down")
        return server[0] + (mono[0] - 1000.0)

    clock = backends.ServerTimeClock(sample, every=10.0)
    assert clock() == 5000.0
    mono[0] += 5
    assert clock() == 5005.0 and len(calls) == 1  # between samples: the monotonic clock
    mono[0] += 6
    server[0] += 0.001  # 1 ms of noise: not followed
    assert clock() == 5011.0 and len(calls) == 2
    mono[0] += 11
    server[0] += 2.0  # the server's clock stepped: followed
    assert clock() == pytest.approx(5024.001)
    mono[0] += 11
    server[0] = -1  # the server is unreachable: the last offset stays
    assert clock() == pytest.approx(5035.001)


def test_server_time_clock_first_sample_must_work() -> None:
    def down() -> float:
        raise BrandkitError("governor state redis://:***@h failed")

    with pytest.raises(BrandkitError, match="failed"):
        backends.ServerTimeClock(down)()
