"""`refresh_accounts` (what the outbox worker runs before it publishes) never refreshes from
a stored record whose refresh token the account already spent: when an adapter's refresh
could not be stored (the store was down), the store still holds the session it replaced,
and the worker's refresh ahead of expiry sent that spent refresh token. Bluesky's server
takes that as a replay and ends the whole session, the live one in the account's memory
too: the account had to be connected again. Now the account's live session is stored first
(as its own next request would), and the refresh, if any is due, starts from it. The
emulator over a socket, a real store file held by another SQLite writer."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from brandkit import Account, Client, Post, RetryPolicy, auth
from brandkit.auth import EncryptedStore, load_account, refresh_accounts
from brandkit.auth import store as store_module
from brandkit.auth.store import new_key
from brandkit.testing.bluesky import BlueskyEmulator

from .conftest import bluesky_session

FAST = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=5)
KEY = "acme"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EncryptedStore]:
    s = EncryptedStore(tmp_path / "credentials.db", key=new_key(), timeout=0.2)
    yield s
    s.close()


def post(account: Account, text: str) -> str:
    with Client(retry=FAST) as client:
        (delivery,) = client.publish(Post(text=text), account)
    return delivery.status.value + (f" {delivery.error!r}" if delivery.error else "")


def test_the_worker_refresh_starts_from_the_session_the_store_could_not_take(
    store: EncryptedStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "STORE_WAIT", 0.3)
    emu = BlueskyEmulator()
    with emu.serve():
        emu.add_user("brand.test")
        # A session whose access token expires in 30 s: the adapter refreshes it before
        # its next request, and the worker's refresh ahead (5 minutes) finds it due.
        record = {**auth.record_of(bluesky_session(emu)), "expires_at": time.time() + 30}
        store.put(KEY, record)
        # Loaded earlier by a long-running worker (a load would refresh it ahead now).
        account = load_account(store, KEY, refresh=False)

        other = sqlite3.connect(store.path)
        other.execute("BEGIN IMMEDIATE")
        try:
            assert post(account, "one") == "sent"  # refreshed; the store could not take it
        finally:
            other.rollback()
            other.close()
        live = account.secret("oauth_refresh_token")
        assert (store.get(KEY) or {})["refresh_token"] == record["refresh_token"]  # spent

        outcomes = refresh_accounts(store, [account])
        assert not outcomes[KEY].startswith("failed"), outcomes
        assert not any(s.revoked for s in emu._spent_refresh.values())  # no replay
        stored = store.get(KEY) or {}
        assert stored["refresh_token"] == account.secret("oauth_refresh_token")
        assert stored["refresh_token"] in emu._oauth_refresh
        assert live in emu._oauth_refresh or live in emu._spent_refresh
        # The account has its real expiry back: nothing is refreshed for its next post.
        grants = len(emu._spent_refresh)
        assert post(account, "two") == "sent"
        assert len(emu._spent_refresh) == grants
        assert post(load_account(store, KEY, name="other"), "three") == "sent"
        assert {"one", "two", "three"} <= set(emu.post_texts())


def test_while_the_store_still_fails_the_spent_stored_session_is_not_refreshed(
    store: EncryptedStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "STORE_WAIT", 0.3)
    emu = BlueskyEmulator()
    with emu.serve():
        emu.add_user("brand.test")
        record = {**auth.record_of(bluesky_session(emu)), "expires_at": time.time() + 30}
        store.put(KEY, record)
        account = load_account(store, KEY, refresh=False)
        other = sqlite3.connect(store.path)
        other.execute("BEGIN IMMEDIATE")
        try:
            assert post(account, "one") == "sent"
            outcomes = refresh_accounts(store, [account])
            assert outcomes[KEY].startswith("failed: ") and "not refreshed" in outcomes[KEY]
            assert str(record["refresh_token"]) not in outcomes[KEY]
        finally:
            other.rollback()
            other.close()
        assert not any(s.revoked for s in emu._spent_refresh.values())  # no replay
        assert post(account, "two") == "sent"  # stores the live session
        assert (store.get(KEY) or {})["refresh_token"] == account.secret("oauth_refresh_token")


def test_a_load_whose_refresh_the_store_could_not_take_keeps_the_session(
    store: EncryptedStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`load_account` refreshes a token due soon; the store could not take the result.
    Before, the load raised `CredentialsNotStored` and the new session was lost with it
    (the stored refresh token spent: connect again). Now the account keeps it, posts with
    it and stores it once the store answers."""
    monkeypatch.setattr(store_module, "STORE_WAIT", 0.3)
    emu = BlueskyEmulator()
    with emu.serve():
        emu.add_user("brand.test")
        record = {**auth.record_of(bluesky_session(emu)), "expires_at": time.time() + 30}
        store.put(KEY, record)
        other = sqlite3.connect(store.path)
        other.execute("BEGIN IMMEDIATE")
        try:
            account = load_account(store, KEY)  # refreshed ahead; not stored
            assert account.secret("oauth_refresh_token") != record["refresh_token"]
            assert post(account, "one") == "sent"
        finally:
            other.rollback()
            other.close()
        assert post(account, "two") == "sent"  # stores the live session first
        stored = store.get(KEY) or {}
        assert stored["refresh_token"] == account.secret("oauth_refresh_token")
        assert stored["refresh_token"] in emu._oauth_refresh
        assert not any(s.revoked for s in emu._spent_refresh.values())
        assert post(load_account(store, KEY, name="other"), "three") == "sent"
