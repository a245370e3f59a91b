"""The credential store in PostgreSQL (issue 15): the behaviour suite `EncryptedStore`
passes (tests/auth/test_store.py, run here against `PostgresStore`), a wrong key and a
moved record refused, no token in clear in the table or the server's files, the lock across
connections, and two processes refreshing one X token at once through it."""

from __future__ import annotations

import base64
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from brandkit.auth import PostgresStore, _pgstore
from brandkit.auth.store import CredentialStore, CredentialStoreLocked, WrongStoreKey
from brandkit.errors import ConfigurationError
from brandkit.testing.x import XEmulator
from tests.servers._servers import (  # noqa: F401 - fixtures
    postgres_db,
    postgres_server,
    postgres_url,
    unique_prefix,
)

# The behaviour suite of EncryptedStore, collected here with this module's `store` fixture.
from .test_store import (  # noqa: F401 - collected as tests of this module
    KEY,
    OTHER,
    TOKENS,
    test_put_get_keys_remove_round_trip,
    test_refresh_locked_keeps_the_record_when_the_refresh_fails,
    test_refresh_locked_refreshes_an_expired_token_and_stores_it,
    test_refresh_locked_returns_what_another_process_stored,
    test_refresh_locked_skips_a_token_that_is_not_expired_unless_forced,
    test_the_lock_excludes_another_holder_and_times_out,
    x_record,
)
from .test_store_processes import (
    ROUNDS,
    check_each_refresh_token_used_once,
    check_one_refresh_after_401,
    post_after_401,
    run_two,
)


@pytest.fixture
def store(postgres_url: str) -> Iterator[PostgresStore]:  # noqa: F811
    with PostgresStore(postgres_url, key=KEY, prefix=unique_prefix()) as s:
        yield s


@pytest.fixture
def emu() -> Iterator[XEmulator]:
    emulator = XEmulator()
    with emulator.serve():
        yield emulator


def test_importing_brandkit_auth_does_not_import_psycopg() -> None:
    code = "import sys, brandkit.auth, brandkit.auth.store; print('psycopg' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_it_is_a_credential_store_and_its_repr_hides_the_password(
    store: PostgresStore,
    postgres_url: str,  # noqa: F811
) -> None:
    assert isinstance(store, CredentialStore)
    password = postgres_server().password
    assert password in postgres_url
    texts = [repr(store), str(store), repr(vars(store))]
    assert all(password not in t and KEY not in t for t in texts)
    assert "***" in repr(store)


def test_a_wrong_key_is_refused_and_the_right_one_opens_it(postgres_url: str) -> None:  # noqa: F811
    prefix = unique_prefix()
    with PostgresStore(postgres_url, key=KEY, prefix=prefix) as s:
        s.put("acme-x", x_record())
    with pytest.raises(WrongStoreKey, match="another key") as refused:
        PostgresStore(postgres_url, key=OTHER, prefix=prefix)
    assert isinstance(refused.value, ConfigurationError)
    assert OTHER not in str(refused.value) and KEY not in str(refused.value)
    with PostgresStore(postgres_url, key=KEY, prefix=prefix) as s:
        assert s.get("acme-x") == x_record()
    # Another prefix in the same database is another store.
    with PostgresStore(postgres_url, key=OTHER, prefix=unique_prefix()) as s:
        assert s.keys() == []


def test_a_record_moved_to_another_key_is_refused(store: PostgresStore) -> None:
    store.put("a", x_record())
    store.put("b", x_record(access="AT-b"))
    store._run(
        f"UPDATE {store.prefix}credentials SET nonce = b.nonce, data = b.data"
        f" FROM {store.prefix}credentials b WHERE b.key = 'b' AND {store.prefix}credentials.key = 'a'"
    )
    with pytest.raises(WrongStoreKey, match="'a'"):
        store.get("a")


def test_no_token_is_in_clear_in_the_table_or_the_server_files(store: PostgresStore) -> None:
    secrets = [*TOKENS.values(), "M-secret-mastodon-77aa", "client-secret-x-1234"]
    store.put("acme-x", x_record())
    store.put("acme-masto", {"access_token": secrets[2], "client_secret": secrets[3]})

    def found_in(blobs: list[bytes]) -> list[str]:
        forms = {
            s: (s.encode(), base64.b64encode(s.encode()), s.encode().hex().encode())
            for s in secrets
        }
        return [s for s, fs in forms.items() if any(f in b for f in fs for b in blobs)]

    rows = store._run(f"SELECT key, nonce, data FROM {store.prefix}credentials ORDER BY key")
    table = [b"|".join(bytes(c) if not isinstance(c, str) else c.encode() for c in r) for r in rows]
    assert [r[0] for r in rows] == ["acme-masto", "acme-x"]  # the names are readable
    assert found_in(table) == []
    # The server's own files (heap, WAL) after a checkpoint.
    store._run("CHECKPOINT")
    files = [p for p in postgres_server().data.rglob("*") if p.is_file()]
    blobs = [p.read_bytes() for p in files if p.stat().st_size < 64 * 1024 * 1024]
    assert any(b"acme-masto" in b for b in blobs)  # the scan reads the table's pages
    assert found_in(blobs) == []
    assert KEY.encode() not in b"".join(blobs)
    # The check can fail: a token written in clear is found.
    store._run(
        f"INSERT INTO {store.prefix}credential_meta VALUES ('plain', %s)", (TOKENS["access_token"],)
    )
    rows = store._run(f"SELECT value FROM {store.prefix}credential_meta")
    assert found_in([str(r[0]).encode() for r in rows]) == [TOKENS["access_token"]]


def test_the_lock_holds_against_another_store_object(
    store: PostgresStore,
    postgres_url: str,  # noqa: F811
) -> None:
    """A second PostgresStore (as another host would open) waits, then times out."""

    other = PostgresStore(postgres_url, key=KEY, prefix=store.prefix)
    try:
        with store.lock("acme-x"):
            with (
                pytest.raises(CredentialStoreLocked, match="acme-x"),
                other.lock("acme-x", timeout=0.2),
            ):
                pass
            with pytest.raises(CredentialStoreLocked), other.lock("acme-x", timeout=0):
                pass
        with other.lock("acme-x", timeout=0.2):
            pass
    finally:
        other.close()


def test_polling_a_busy_lock_reuses_one_connection(
    store: PostgresStore,
    postgres_url: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A refresh that polls a key another host holds opens one connection, not one per
    poll; each hold lets its lock go (the other store takes it at once) and the connection
    is used again; one the server closed meanwhile is replaced."""
    opened: list[object] = []
    real = _pgstore.connect

    def counting(*args: Any, **kwargs: Any) -> Any:
        conn = real(*args, **kwargs)
        opened.append(conn)
        return conn

    other = PostgresStore(postgres_url, key=KEY, prefix=store.prefix)
    try:
        with other.lock("acme-x"):
            # Counted from here: the other store's hold (its connection, kept after) is not.
            monkeypatch.setattr(_pgstore, "connect", counting)
            for _ in range(5):
                with pytest.raises(CredentialStoreLocked), store.lock("acme-x", timeout=0):
                    pass
        assert len(opened) == 1
        for _ in range(3):
            with store.lock("acme-x", timeout=0):
                pass
            with other.lock("acme-x", timeout=0):  # let go: taken at once
                pass
        assert len(opened) == 1

        (conn,) = opened
        with other.lock("kill"), other._connect().cursor() as cur:
            cur.execute("SELECT pg_terminate_backend(%s)", (conn.info.backend_pid,))  # type: ignore[attr-defined]
        with store.lock("acme-x", timeout=0):
            pass
        assert len(opened) == 2
    finally:
        other.close()
    store.close()
    assert all(c.closed for c in opened)  # type: ignore[attr-defined]


@pytest.mark.slow
def test_two_processes_refresh_one_token_through_postgres_and_never_spend_it_twice(
    emu: XEmulator,
    postgres_db: str,  # noqa: F811
) -> None:
    results = run_two(emu, postgres_db, ROUNDS, locked=True)
    check_each_refresh_token_used_once(emu, results)


@pytest.mark.slow
def test_two_processes_refused_at_once_refresh_once_under_the_postgres_lock(
    emu: XEmulator,
    postgres_db: str,  # noqa: F811
) -> None:
    results, first_refresh = post_after_401(emu, postgres_db)
    check_one_refresh_after_401(emu, results, first_refresh)


def test_brandkit_db_upgrade_creates_the_tables_ahead(postgres_db: str) -> None:  # noqa: F811
    from brandkit.backends import connect, upgrade

    assert upgrade(postgres_db, components=["credentials"]) == {"credentials": (0, 2)}
    with connect(postgres_db) as conn:
        for table in ("brandkit_credentials", "brandkit_finished_authorizations"):
            row = conn.execute("SELECT to_regclass(%s)", (table,)).fetchone()
            assert row is not None and row[0] == table
    with PostgresStore(postgres_db, key=KEY) as s:
        s.put("acme-x", x_record())
        assert s.keys() == ["acme-x"]
