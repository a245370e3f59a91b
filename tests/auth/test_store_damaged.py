"""A credential store file changed by hand or damaged on disk: every read of it raises
`WrongStoreKey` (a `ConfigurationError`) that says what happened, never a ValueError,
TypeError or binascii.Error from the decryption underneath."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from brandkit.auth.store import EncryptedStore, WrongStoreKey, new_key
from brandkit.errors import ConfigurationError


def _made(tmp_path: Path) -> tuple[Path, str]:
    path, key = tmp_path / "credentials.db", new_key()
    store = EncryptedStore(path, key=key)
    store.put("acme-x", {"platform": "x", "access_token": "tok-secret"})
    store.close()
    return path, key


def _change(path: Path, sql: str) -> None:
    db = sqlite3.connect(path)
    db.execute(sql)
    db.commit()
    db.close()


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE credentials SET nonce = x'0102'",  # a nonce AES-GCM cannot take
        "UPDATE credentials SET data = 'edited by hand'",  # text where bytes were
        "UPDATE credentials SET nonce = 'abcdefghijkl'",
    ],
)
def test_a_changed_record_is_a_typed_error(tmp_path: Path, sql: str) -> None:
    path, key = _made(tmp_path)
    _change(path, sql)
    store = EncryptedStore(path, key=key)
    try:
        with pytest.raises(WrongStoreKey, match="acme-x") as caught:
            store.get("acme-x")
        assert isinstance(caught.value, ConfigurationError)
        assert "tok-secret" not in str(caught.value)
    finally:
        store.close()


@pytest.mark.parametrize("value", ["abc", "%%%%", ""])
def test_a_damaged_check_value_is_a_typed_error(tmp_path: Path, value: str) -> None:
    path, key = _made(tmp_path)
    _change(path, f"UPDATE credential_meta SET value = '{value}' WHERE key = 'check'")
    with pytest.raises(WrongStoreKey, match="does not open"):
        EncryptedStore(path, key=key)


def test_an_untouched_store_still_opens(tmp_path: Path) -> None:
    path, key = _made(tmp_path)
    store = EncryptedStore(path, key=key)
    try:
        assert store.get("acme-x") == {"platform": "x", "access_token": "tok-secret"}
    finally:
        store.close()


def test_a_wrong_key_never_claims_a_store_whose_check_value_is_gone(tmp_path: Path) -> None:
    """A store whose check value was lost (a table copied without it, a row deleted by hand)
    but whose records remain: a wrong key is refused from the records, and does not seal a
    new check value that would then lock the right key out."""
    path, key = _made(tmp_path)
    _change(path, "DELETE FROM credential_meta WHERE key = 'check'")
    with pytest.raises(WrongStoreKey, match="another key"):
        EncryptedStore(path, key=new_key())
    store = EncryptedStore(path, key=key)  # the right key still opens it, and reads it
    try:
        assert store.get("acme-x") == {"platform": "x", "access_token": "tok-secret"}
    finally:
        store.close()
    with pytest.raises(WrongStoreKey):
        EncryptedStore(path, key=new_key())  # refused by the check value sealed again


def test_an_empty_store_without_a_check_value_takes_the_key(tmp_path: Path) -> None:
    path, _ = _made(tmp_path)
    _change(path, "DELETE FROM credential_meta WHERE key = 'check'")
    _change(path, "DELETE FROM credentials")
    other = new_key()
    EncryptedStore(path, key=other).close()
    with pytest.raises(WrongStoreKey):
        EncryptedStore(path, key=new_key())
