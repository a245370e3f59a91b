"""Real PostgreSQL and Redis servers for the tests, started on 127.0.0.1 in a temporary dir.

Other test directories use them by importing the fixtures into their ``conftest.py``::

    from tests.servers._servers import postgres_db, postgres_url, redis_clean_url, redis_url

Each server is started once per test process, whichever directory asks first (the processes
are kept here, not in a fixture's cache, so importing the fixtures into several conftests
still starts one server), and stopped when the process exits. The binaries come from Debian's
packages (``tests/servers/install.sh``). Without them the tests are skipped on a developer's
machine and FAIL when ``CI`` is set, so CI can never pass by skipping.

PostgreSQL refuses to run as root: as uid 0 the server runs as the ``postgres`` user (via
``runuser``) in a directory handed to that user. Both servers get a random password (so other
users of a shared machine cannot use them) that lives only in the URL the fixtures return.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

import pytest

__all__ = [
    "PostgresServer",
    "RedisServer",
    "fresh_database",
    "in_ci",
    "postgres_db",
    "postgres_url",
    "redis_clean_url",
    "redis_url",
    "schema_url",
    "unique_prefix",
]

START_TIMEOUT = 60.0  # seconds: initdb plus the first start on a loaded 2-core machine
STOP_TIMEOUT = 15.0


def in_ci() -> bool:
    """Whether ``CI`` is set to something true (then missing servers fail the tests)."""
    return os.environ.get("CI", "").strip().lower() not in {"", "0", "false", "no"}


def _missing(what: str) -> None:
    message = f"{what} (run tests/servers/install.sh)"
    if in_ci():
        pytest.fail(f"CI is set but {message}", pytrace=False)
    pytest.skip(message)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _tail(path: Path, limit: int = 2000) -> str:
    try:
        return path.read_text(errors="replace")[-limit:]
    except OSError:
        return ""


def _pg_bin() -> Path | None:
    """The newest PostgreSQL bin directory that has initdb and postgres."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0,
    )
    for directory in reversed(found):
        if (Path(directory) / "initdb").exists() and (Path(directory) / "postgres").exists():
            return Path(directory)
    return None


class PostgresServer:
    """A throwaway PostgreSQL cluster: ``initdb`` in a temporary dir, ``postgres`` listening on
    127.0.0.1 only (and a unix socket in that dir), fsync on, a random superuser password."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="brandkit-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.user = "brandkit"
        self.password = secrets.token_urlsafe(18)
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self._as: list[str] = []
        if os.getuid() == 0:
            # PostgreSQL will not run as root: hand the directory to the postgres user.
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                _missing("no 'postgres' user to run PostgreSQL as (uid 0)")
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]
        os.chmod(self.root, 0o700)

    @property
    def url(self) -> str:
        """The superuser's URL (password included) to the ``postgres`` database."""
        return (
            f"postgresql://{self.user}:{quote(self.password, safe='')}"
            f"@127.0.0.1:{self.port}/postgres"
        )

    def start(self) -> None:
        pwfile = self.root / "pw"
        pwfile.write_text(self.password + "\n")
        os.chmod(pwfile, 0o600)
        if self._as:
            owner = pwd.getpwnam("postgres")
            os.chown(pwfile, owner.pw_uid, owner.pw_gid)
        try:
            subprocess.run(
                [
                    *self._as,
                    str(self.bindir / "initdb"),
                    "-D",
                    str(self.data),
                    "-U",
                    self.user,
                    f"--pwfile={pwfile}",
                    "--auth-host=scram-sha-256",
                    "--auth-local=scram-sha-256",
                    "-E",
                    "UTF8",
                    "--locale=C",
                ],
                check=True,
                capture_output=True,
                timeout=START_TIMEOUT,
            )
        except subprocess.CalledProcessError as exc:
            pytest.fail(f"initdb failed: {exc.stderr.decode(errors='replace')[-2000:]}")
        finally:
            pwfile.unlink(missing_ok=True)
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                [
                    *self._as,
                    str(self.bindir / "postgres"),
                    "-D",
                    str(self.data),
                    "-p",
                    str(self.port),
                    "-k",
                    str(self.root),
                    "-c",
                    "listen_addresses=127.0.0.1",
                    "-c",
                    "fsync=on",
                    "-c",
                    "max_connections=200",
                    "-c",
                    "shared_buffers=32MB",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait_ready()

    def _wait_ready(self) -> None:
        import psycopg

        deadline = time.monotonic() + START_TIMEOUT
        last: Exception | None = None
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                pytest.fail(f"postgres exited at start:\n{_tail(self.log)}", pytrace=False)
            try:
                with psycopg.connect(self.url, connect_timeout=2) as conn:
                    conn.execute("SELECT 1")
                return
            except psycopg.OperationalError as exc:
                last = exc
                time.sleep(0.1)
        self.stop()
        pytest.fail(
            f"postgres not ready after {START_TIMEOUT:.0f} s ({type(last).__name__}):\n"
            f"{_tail(self.log)}",
            pytrace=False,
        )

    def stop(self) -> None:
        """Fast shutdown (SIGINT to the postmaster), SIGKILL after a bounded wait."""
        pidfile = self.data / "postmaster.pid"
        with contextlib.suppress(OSError, ValueError, IndexError):
            pid = int(pidfile.read_text().splitlines()[0])
            os.kill(pid, signal.SIGINT)
            deadline = time.monotonic() + STOP_TIMEOUT
            while time.monotonic() < deadline and pidfile.exists():
                time.sleep(0.05)
        if self.proc is not None:
            try:
                self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=STOP_TIMEOUT)
            self.proc = None
        shutil.rmtree(self.root, ignore_errors=True)


class RedisServer:
    """A throwaway Redis: 127.0.0.1 only, no persistence, a random password."""

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.root = Path(tempfile.mkdtemp(prefix="brandkit-redis-"))
        self.password = secrets.token_urlsafe(18)
        self.port = free_port()
        self.log = self.root / "redis.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The URL (password included) of database 0."""
        return f"redis://:{quote(self.password, safe='')}@127.0.0.1:{self.port}/0"

    def start(self) -> None:
        # The password goes in a 0600 file, not argv (which every user can read in ps).
        conf = self.root / "redis.conf"
        conf.write_text(
            f'port {self.port}\nbind 127.0.0.1\nprotected-mode yes\nsave ""\n'
            f"appendonly no\ndir {self.root}\nrequirepass {self.password}\n"
            f"logfile {self.log}\ndaemonize no\n"
        )
        os.chmod(conf, 0o600)
        self.proc = subprocess.Popen(
            [self.binary, str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        import redis

        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"redis-server exited at start:\n{_tail(self.log)}", pytrace=False)
            try:
                client = redis.Redis.from_url(self.url, socket_timeout=2)
                try:
                    client.ping()
                finally:
                    client.close()
                return
            except redis.RedisError:
                time.sleep(0.05)
        self.stop()
        pytest.fail(f"redis-server not ready:\n{_tail(self.log)}", pytrace=False)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=STOP_TIMEOUT)
            self.proc = None
        shutil.rmtree(self.root, ignore_errors=True)


# One server of each kind per test process, however many conftests import the fixtures.
_running: dict[str, PostgresServer | RedisServer] = {}


def _stop_all() -> None:
    while _running:
        _, server = _running.popitem()
        server.stop()


atexit.register(_stop_all)


def postgres_server() -> PostgresServer:
    """This process's PostgreSQL server, started on first use (skip/fail when missing)."""
    server = _running.get("postgres")
    if isinstance(server, PostgresServer):
        return server
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _missing("psycopg is not installed (pip install -e '.[test]')")
    bindir = _pg_bin()
    if bindir is None:
        _missing("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/postgres)")
    assert bindir is not None
    pg = PostgresServer(bindir)
    try:
        pg.start()
    except BaseException:
        pg.stop()
        raise
    _running["postgres"] = pg
    return pg


def redis_server() -> RedisServer:
    """This process's Redis server, started on first use (skip/fail when missing)."""
    server = _running.get("redis")
    if isinstance(server, RedisServer):
        return server
    try:
        import redis  # noqa: F401
    except ImportError:
        _missing("redis-py is not installed (pip install -e '.[test]')")
    binary = shutil.which("redis-server")
    if binary is None:
        _missing("redis-server is not installed")
    assert binary is not None
    rd = RedisServer(binary)
    try:
        rd.start()
    except BaseException:
        rd.stop()
        raise
    _running["redis"] = rd
    return rd


def fresh_database(url: str) -> str:
    """Create an empty database on the server of ``url`` and return its URL."""
    import psycopg

    name = f"bk_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def drop_database(url: str) -> None:
    """Drop the database of ``url`` (made by `fresh_database`), closing its sessions."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def unique_prefix() -> str:
    """A table/key prefix no other test uses (for sharing one database between tests)."""
    return f"t{uuid.uuid4().hex[:10]}_"


def schema_url(server_url: str) -> str:
    """The URL of a new, empty schema on the server of ``server_url``: a store opened with
    it sees only its own tables (its connections' ``search_path``), so tests share one
    database without seeing each other's tables."""
    import psycopg

    schema = unique_prefix().rstrip("_")
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    parts = urlsplit(server_url)
    query = urlencode({"options": f"-c search_path={schema}"}, quote_via=quote)
    return urlunsplit(parts._replace(query=query))


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The URL of a running PostgreSQL server (superuser, database ``postgres``)."""
    return postgres_server().url


@pytest.fixture
def postgres_db(postgres_url: str) -> Iterator[str]:
    """The URL of a new empty database, dropped after the test."""
    url = fresh_database(postgres_url)
    try:
        yield url
    finally:
        drop_database(url)


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The URL of a running Redis server (database 0)."""
    return redis_server().url


@pytest.fixture
def redis_clean_url(redis_url: str) -> str:
    """The Redis URL, with every key of its database deleted first."""
    import redis

    client = redis.Redis.from_url(redis_url, socket_timeout=5)
    try:
        client.flushdb()
    finally:
        client.close()
    return redis_url


def skip_sqlite_only(
    items: list[pytest.Item],
    param: str,
    tests: Mapping[str, str],
    modules: Mapping[str, str] | None = None,
) -> None:
    """In a suite run on both backends (``param`` names the backend), skip the PostgreSQL
    run of the tests about SQLite itself, by test name or module file, with the reason
    given (for pytest_collection_modifyitems)."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is None or callspec.params.get(param) != "postgresql":
            continue
        reason = tests.get(getattr(item, "originalname", item.name))
        reason = reason or (modules or {}).get(item.path.name)
        if reason is not None:
            item.add_marker(pytest.mark.skip(reason=f"SQLite only: {reason}"))
