"""`refresh_locked` on a read-only store (`EnvironmentStore`) refuses before it calls the
refresh: a refresh rotates the refresh token at the platform, and the new one would have
nowhere to go, leaving the environment's token dead. A refresh that is not due is still no
error (nothing is written)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from brandkit.auth import ReadOnlyStore
from brandkit.auth.store import EncryptedStore, EnvironmentStore, new_key, refresh_locked

ACCOUNTS = """[accounts.acme]
platform = "x"
client_id = "cid"
user_token_env = "ACME_TOKEN"
refresh_token_env = "ACME_REFRESH"
client_secret_env = "ACME_SECRET"
"""
ENV = {"ACME_TOKEN": "at-secret", "ACME_REFRESH": "rt-secret", "ACME_SECRET": "cs-secret"}


@pytest.fixture
def env_store(tmp_path: Path) -> EnvironmentStore:
    path = tmp_path / "accounts.toml"
    path.write_text(ACCOUNTS, encoding="utf-8")
    return EnvironmentStore(path, environ=ENV)


@pytest.mark.parametrize("force", [False, True])
def test_read_only_store_is_refused_before_the_refresh(
    env_store: EnvironmentStore, force: bool
) -> None:
    calls: list[Mapping[str, Any]] = []

    def refresh(record: Mapping[str, Any]) -> dict[str, Any]:
        calls.append(record)
        return {**record, "refresh_token": "rotated"}

    with pytest.raises(ReadOnlyStore) as info:
        refresh_locked(env_store, "acme", refresh, force=force)
    assert calls == []  # the refresh token was not spent
    message = str(info.value)
    assert "read-only" in message and "'acme'" in message and "EncryptedStore" in message
    assert not any(secret in message for secret in ENV.values())


def test_read_only_store_returns_a_record_that_is_not_due(env_store: EnvironmentStore) -> None:
    """Another holder refreshed (``had`` differs): the stored record, no error, no call."""
    record = refresh_locked(
        env_store,
        "acme",
        lambda r: pytest.fail("refresh called"),
        had={"refresh_token": "an older one"},
    )
    assert record["refresh_token"] == "rt-secret"


def test_writable_store_still_refreshes(tmp_path: Path) -> None:
    with EncryptedStore(tmp_path / "credentials.db", key=new_key()) as store:
        store.put("acme", {"platform": "x", "refresh_token": "rt", "expires_at": time.time()})
        new = refresh_locked(store, "acme", lambda r: {**r, "refresh_token": "rt2"})
        assert new["refresh_token"] == "rt2"
        assert (store.get("acme") or {})["refresh_token"] == "rt2"
