"""The credential store (issue 15): the read-only environment store, the encrypted SQLite
file (no plaintext on disk, a wrong key refused, 0600, nothing secret in reprs or errors),
the per-account lock, and `refresh_locked` not spending a refresh token twice."""

from __future__ import annotations

import base64
import os
import stat
import sys
import threading
import time
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from brandkit import Account
from brandkit.auth import XCredentials
from brandkit.auth.store import (
    KEY_ENV,
    CredentialStore,
    CredentialStoreLocked,
    EncryptedStore,
    EnvironmentStore,
    ReadOnlyStore,
    WrongStoreKey,
    new_key,
    refresh_locked,
)
from brandkit.errors import ConfigurationError

KEY = new_key()
OTHER = new_key()
TOKENS = {
    "access_token": "AT-secret-access-5f1c0e9d",
    "refresh_token": "RT-secret-refresh-9a7b3c21",
}


def x_record(
    access: str = TOKENS["access_token"],
    refresh: str = TOKENS["refresh_token"],
    expires_at: float | None = None,
) -> dict[str, Any]:
    return {
        "platform": "x",
        "access_token": access,
        "refresh_token": refresh,
        "expires_at": expires_at,
        "scopes": ["tweet.read", "offline.access"],
        "client_id": "app-1",
        "base_url": None,
    }


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EncryptedStore]:
    with EncryptedStore(tmp_path / "creds.db", key=KEY) as s:
        yield s


def test_put_get_keys_remove_round_trip(store: EncryptedStore) -> None:
    assert isinstance(store, CredentialStore)
    assert store.get("acme-x") is None
    store.put("acme-x", x_record())
    store.put("acme-masto", {"platform": "mastodon", "access_token": "M-secret"})
    assert store.get("acme-x") == x_record()
    assert XCredentials.from_dict(store.get("acme-x") or {}).client_id == "app-1"
    assert store.keys() == ["acme-masto", "acme-x"]
    store.put("acme-x", x_record(access="AT-2"))
    assert (store.get("acme-x") or {})["access_token"] == "AT-2"
    store.remove("acme-x")
    store.remove("acme-x")  # twice: nothing happens
    assert store.keys() == ["acme-masto"]


def test_the_file_holds_no_plaintext_secret(tmp_path: Path) -> None:
    """Every token is grepped for in the database and its -wal and -shm files, as
    written (WAL not yet checkpointed) and after closing."""
    path = tmp_path / "creds.db"
    secrets = [*TOKENS.values(), "M-secret-mastodon-77aa", "client-secret-x-1234"]
    store = EncryptedStore(path, key=KEY)
    store.put("acme-x", x_record())
    store.put("acme-masto", {"access_token": secrets[2], "client_secret": secrets[3]})

    def files() -> list[Path]:
        return [p for p in tmp_path.iterdir() if p.is_file()]

    def scan() -> list[str]:
        blobs = [p.read_bytes() for p in files()]
        found = []
        for s in secrets:
            for form in (s.encode(), s.encode("utf-16-le"), base64.b64encode(s.encode())):
                if any(form in b for b in blobs):
                    found.append(s)
        return found

    assert any(p.name.endswith("-wal") for p in files())
    assert sum(p.stat().st_size for p in files()) > 4096  # the scan reads real files
    assert scan() == []
    assert KEY.encode() not in b"".join(p.read_bytes() for p in files())
    store.close()
    assert scan() == []
    # The check is able to fail: the same grep finds a token written in clear.
    (tmp_path / "plain.txt").write_text(TOKENS["access_token"])
    assert scan() == [TOKENS["access_token"]]


def test_the_files_are_private(store: EncryptedStore) -> None:
    store.put("acme-x", x_record())
    for suffix in ("", "-wal", "-shm"):
        mode = stat.S_IMODE(os.stat(store.path + suffix).st_mode)
        assert mode == 0o600, (suffix, oct(mode))
    with store.lock("acme-x"):
        (lock_file,) = Path(store.path + ".locks").iterdir()
        assert stat.S_IMODE(lock_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(Path(store.path + ".locks").stat().st_mode) == 0o700


def test_a_wrong_key_is_refused_with_a_typed_error(tmp_path: Path) -> None:
    path = tmp_path / "creds.db"
    with EncryptedStore(path, key=KEY) as s:
        s.put("acme-x", x_record())
    with pytest.raises(WrongStoreKey, match="another key") as refused:
        EncryptedStore(path, key=OTHER)
    assert isinstance(refused.value, ConfigurationError)
    assert OTHER not in str(refused.value) and KEY not in str(refused.value)
    with EncryptedStore(path, key=KEY) as s:  # the right key still opens it
        assert s.get("acme-x") == x_record()


def test_a_record_changed_on_disk_or_moved_to_another_key_is_refused(
    store: EncryptedStore,
) -> None:
    store.put("a", x_record())
    store.put("b", x_record(access="AT-b"))
    with store._tx() as db:
        # b's sealed record copied under a: it is bound to the key "b".
        db.execute(
            "UPDATE credentials SET nonce = (SELECT nonce FROM credentials WHERE key = 'b'), "
            "data = (SELECT data FROM credentials WHERE key = 'b') WHERE key = 'a'"
        )
    with pytest.raises(WrongStoreKey, match="'a'"):
        store.get("a")
    with store._tx() as db:
        row = db.execute("SELECT data FROM credentials WHERE key = 'b'").fetchone()
        flipped = bytes([row[0][0] ^ 1]) + row[0][1:]
        db.execute("UPDATE credentials SET data = ? WHERE key = 'b'", (flipped,))
    with pytest.raises(WrongStoreKey):
        store.get("b")


def test_the_key_never_appears_in_reprs_or_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, KEY)
    store = EncryptedStore(tmp_path / "creds.db")  # key from the environment
    store.put("acme-x", x_record())
    raw = base64.b64decode(KEY)
    texts = [repr(store), str(store), repr(vars(store))]
    with pytest.raises(ConfigurationError) as not_json:
        store.put("x", {"token": object(), "access_token": TOKENS["access_token"]})
    texts.append(str(not_json.value))
    store.close()
    monkeypatch.setenv(KEY_ENV, "c2hvcnQ=" + KEY[:10])
    with pytest.raises(ConfigurationError, match="not base64 of 32 bytes") as bad:
        EncryptedStore(tmp_path / "creds.db")
    texts.append(str(bad.value))
    for text in texts:
        assert KEY not in text and KEY[:10] not in text and str(raw) not in text
        assert TOKENS["access_token"] not in text
    assert not any(isinstance(v, bytes | str) and KEY in str(v) for v in vars(store).values())


def test_no_key_says_how_to_make_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.setitem(sys.modules, "keyring", None)  # not installed
    with pytest.raises(ConfigurationError, match=rf"{KEY_ENV}.*new_key\(\)"):
        EncryptedStore(tmp_path / "creds.db")
    assert not (tmp_path / "creds.db").exists()


def test_the_key_comes_from_the_os_keyring_when_keyring_is_installed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[tuple[str, str]] = []

    def get_password(service: str, user: str) -> str:
        asked.append((service, user))
        return KEY

    fake = types.ModuleType("keyring")
    fake.get_password = get_password  # type: ignore[attr-defined]
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.setitem(sys.modules, "keyring", fake)
    with EncryptedStore(tmp_path / "creds.db") as s:
        s.put("acme-x", x_record())
    assert asked == [("brandkit", "credential-store")]
    with EncryptedStore(tmp_path / "creds.db", key=KEY) as s:  # the same key
        assert s.get("acme-x") == x_record()


def test_environment_store_reads_what_account_load_reads_and_refuses_writes(
    tmp_path: Path,
) -> None:
    path = tmp_path / "accounts.toml"
    path.write_text(
        '[accounts.acme_x]\nplatform = "x"\nuser_token_env = "ACME_X_TOKEN"\n\n'
        '[accounts.acme_masto]\nplatform = "mastodon"\n'
        'instance_url = "https://mastodon.example"\ntoken_env = "ACME_M"\n'
    )
    env = {"ACME_X_TOKEN": "x-secret-env", "ACME_M": "m-secret-env"}
    store = EnvironmentStore(path, environ=env)
    assert isinstance(store, CredentialStore)
    assert store.keys() == ["acme_masto", "acme_x"]
    assert store.get("acme_x") == {"platform": "x", "user_token": "x-secret-env"}
    record = store.get("acme_masto") or {}
    assert record["token"] == "m-secret-env"
    assert store.get("nobody") is None
    # The record is the factory's keyword arguments: it makes the same account.
    made = Account.mastodon(**{k: v for k, v in record.items() if k != "platform"})
    assert made.platform == Account.load(path, environ=env)["acme_masto"].platform
    with pytest.raises(ReadOnlyStore, match="read-only"):
        store.put("acme_x", {"user_token": "new"})
    with pytest.raises(ReadOnlyStore, match="read-only"):
        store.remove("acme_x")
    assert "x-secret-env" not in repr(store)
    with pytest.raises(ConfigurationError, match="ACME_M"):
        EnvironmentStore(path, environ={"ACME_X_TOKEN": "x"}).get("acme_x")


def test_the_lock_excludes_another_holder_and_times_out(store: EncryptedStore) -> None:
    held = threading.Event()
    release = threading.Event()

    def holder() -> None:
        with store.lock("acme-x"):
            held.set()
            release.wait(10)

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert held.wait(10)
        started = time.monotonic()
        with (
            pytest.raises(CredentialStoreLocked, match="acme-x"),
            store.lock("acme-x", timeout=0.2),
        ):
            pass
        assert 0.2 <= time.monotonic() - started < 5
        with store.lock("other-account", timeout=0.2):  # other keys are free
            pass
    finally:
        release.set()
        thread.join(10)
    with store.lock("acme-x", timeout=0.2):  # let go: free again
        pass


class Refresher:
    """A refresh that rotates like X and counts its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, old: dict[str, Any]) -> dict[str, Any]:
        self.calls += 1
        return x_record(
            access=f"AT-{self.calls}", refresh=f"RT-{self.calls}", expires_at=time.time() + 7200
        )


def test_refresh_locked_refreshes_an_expired_token_and_stores_it(store: EncryptedStore) -> None:
    store.put("acme-x", x_record(expires_at=time.time() - 1))
    refresh = Refresher()
    new = refresh_locked(store, "acme-x", refresh)
    assert refresh.calls == 1
    assert new["refresh_token"] == "RT-1"
    assert store.get("acme-x") == new


def test_refresh_locked_returns_what_another_process_stored(store: EncryptedStore) -> None:
    """The caller holds an old record: the stored refresh token differs, so the stored
    record is returned and the old refresh token is not spent again."""
    old = x_record(expires_at=time.time() - 1)
    store.put("acme-x", x_record(access="AT-new", refresh="RT-new", expires_at=time.time() - 1))
    refresh = Refresher()
    got = refresh_locked(store, "acme-x", refresh, had=old, force=True)
    assert refresh.calls == 0
    assert got["refresh_token"] == "RT-new"


def test_refresh_locked_skips_a_token_that_is_not_expired_unless_forced(
    store: EncryptedStore,
) -> None:
    fresh = x_record(expires_at=time.time() + 3600)
    store.put("acme-x", fresh)
    refresh = Refresher()
    assert refresh_locked(store, "acme-x", refresh, had=fresh) == fresh
    assert refresh.calls == 0
    # Within the margin it is expired; force refreshes a token the clock thinks is good.
    assert refresh_locked(store, "acme-x", refresh, had=fresh, margin=7200)["access_token"] == (
        "AT-1"
    )
    current = store.get("acme-x") or {}
    assert refresh_locked(store, "acme-x", refresh, had=current, force=True)["access_token"] == (
        "AT-2"
    )
    assert refresh.calls == 2


def test_refresh_locked_keeps_the_record_when_the_refresh_fails(store: EncryptedStore) -> None:
    store.put("acme-x", x_record(expires_at=0))

    def failing(old: dict[str, Any]) -> dict[str, Any]:
        raise ConfigurationError("refused")

    with pytest.raises(ConfigurationError, match="refused"):
        refresh_locked(store, "acme-x", failing)
    assert store.get("acme-x") == x_record(expires_at=0)
    with store.lock("acme-x", timeout=0.1):  # the lock was let go
        pass
    with pytest.raises(ConfigurationError, match="no credentials are stored under 'none'"):
        refresh_locked(store, "none", Refresher())


def test_refresh_locked_on_a_read_only_store_says_so(tmp_path: Path) -> None:
    path = tmp_path / "accounts.toml"
    path.write_text('[accounts.a]\nplatform = "x"\nuser_token_env = "T"\n')
    store = EnvironmentStore(path, environ={"T": "tok"})
    with pytest.raises(ReadOnlyStore):
        refresh_locked(store, "a", Refresher())
