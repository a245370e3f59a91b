"""An accounts file where no lock files can be made beside it (a read-only mount, such as a
Kubernetes ConfigMap): `refresh_locked` on the read-only `EnvironmentStore` needs no lock
(it never writes), so it answers as it does elsewhere instead of raising an OSError; and a
store's lock that cannot be made is a typed error that names the place."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from brandkit.auth import ReadOnlyStore
from brandkit.auth.store import EncryptedStore, EnvironmentStore, new_key, refresh_locked
from brandkit.errors import ConfigurationError

ACCOUNTS = """[accounts.acme]
platform = "x"
client_id = "cid"
user_token_env = "ACME_TOKEN"
refresh_token_env = "ACME_REFRESH"
"""
ENV = {"ACME_TOKEN": "at-secret", "ACME_REFRESH": "rt-secret"}


@pytest.fixture
def env_store(tmp_path: Path) -> EnvironmentStore:
    path = tmp_path / "accounts.toml"
    path.write_text(ACCOUNTS, encoding="utf-8")
    # Where the lock directory would go, something that is not one (as root, a chmod would
    # not stop mkdir; this does).
    (tmp_path / "accounts.toml.locks").write_text("", encoding="utf-8")
    return EnvironmentStore(path, environ=ENV)


def _never(record: Mapping[str, Any]) -> dict[str, Any]:
    raise AssertionError("refresh called")


def test_a_refresh_that_is_not_needed_returns_the_record(env_store: EnvironmentStore) -> None:
    record = refresh_locked(env_store, "acme", _never, had={"refresh_token": "older"})
    assert record["refresh_token"] == "rt-secret"


def test_a_refresh_that_is_needed_is_refused_as_read_only(env_store: EnvironmentStore) -> None:
    with pytest.raises(ReadOnlyStore, match="read-only"):
        refresh_locked(env_store, "acme", _never, force=True)


def test_a_lock_that_cannot_be_made_is_a_typed_error(tmp_path: Path) -> None:
    store = EncryptedStore(tmp_path / "credentials.db", key=new_key())
    try:
        (tmp_path / "credentials.db.locks").write_text("", encoding="utf-8")
        with pytest.raises(ConfigurationError, match=r"credentials\.db\.locks"), store.lock("acme"):
            pass
    finally:
        store.close()
