"""The server fixtures start real, private servers on 127.0.0.1."""

from __future__ import annotations

import os
import stat
from urllib.parse import urlsplit

import psycopg
import pytest
import redis

from tests.servers import _servers


def test_postgres_listens_on_loopback_with_fsync(postgres_url: str) -> None:
    """The cluster is real, reachable on 127.0.0.1 only, durable (fsync on)."""
    assert urlsplit(postgres_url).hostname == "127.0.0.1"
    with psycopg.connect(postgres_url) as conn:
        settings = dict(
            conn.execute(
                "SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'listen_addresses')"
            ).fetchall()
        )
    assert settings == {"fsync": "on", "listen_addresses": "127.0.0.1"}


def test_postgres_refuses_a_wrong_password(postgres_url: str) -> None:
    """Other users of the machine cannot use the server without its password."""
    parts = urlsplit(postgres_url)
    wrong = postgres_url.replace(f":{parts.password}@", ":wrong@")
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(wrong, connect_timeout=5)


def test_postgres_db_is_fresh_and_dropped(postgres_url: str) -> None:
    """Each fresh database starts empty and is gone after the drop."""
    url = _servers.fresh_database(postgres_url)
    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(url) as conn:
        conn.execute("CREATE TABLE t (x int)")
        conn.commit()
    other = _servers.fresh_database(postgres_url)
    with psycopg.connect(other) as conn:
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE tablename = 't'").fetchone() == (
            0,
        )
    _servers.drop_database(url)
    _servers.drop_database(other)
    with psycopg.connect(postgres_url) as conn:
        assert (
            conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None
        )


def test_redis_is_private_and_not_persistent(redis_clean_url: str) -> None:
    """Redis answers only with the password, keeps nothing on disk, listens on loopback."""
    client = redis.Redis.from_url(redis_clean_url)
    try:
        assert client.dbsize() == 0
        assert client.config_get("save") == {"save": ""}
        assert client.config_get("bind")["bind"] == "127.0.0.1"
    finally:
        client.close()
    parts = urlsplit(redis_clean_url)
    anonymous = redis.Redis(host="127.0.0.1", port=parts.port)
    try:
        with pytest.raises(redis.AuthenticationError):
            anonymous.ping()
    finally:
        anonymous.close()


def test_one_server_per_process(postgres_url: str, redis_url: str) -> None:
    """Asking again returns the running servers, not new ones; their dirs are private."""
    assert _servers.postgres_server().url == postgres_url
    assert _servers.redis_server().url == redis_url
    for server in (_servers.postgres_server(), _servers.redis_server()):
        assert stat.S_IMODE(os.stat(server.root).st_mode) == 0o700


def test_missing_binaries_fail_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    """Missing servers skip on a developer's machine and fail when CI is set."""
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI is set"):
        _servers._missing("PostgreSQL is not installed")
    monkeypatch.setenv("CI", "")
    with pytest.raises(pytest.skip.Exception):
        _servers._missing("PostgreSQL is not installed")
