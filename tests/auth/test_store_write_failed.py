"""A refresh whose new tokens the credential store could not keep (another process held
the SQLite file past the store's timeout) spent the stored refresh token: the live session
is then only in the account's memory. The account posts with it (the request that refreshed
too: failing it left a post never sent in "sending"), and at its next refresh it stores
that session first, rather than taking the stored one, whose refresh
token is dead (on X a refusal, "authorize the app again"; on Bluesky a replay, which ends
the whole session)."""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from brandkit import Account, Client, Post, RetryPolicy, auth
from brandkit.auth import CredentialsNotStored, EncryptedStore, load_account
from brandkit.auth import store as store_module
from brandkit.auth._records import refresh_record
from brandkit.auth.store import new_key
from brandkit.errors import BrandkitError
from brandkit.testing.bluesky import BlueskyEmulator
from brandkit.testing.x import XEmulator

from .conftest import REDIRECT, bluesky_session, consent

FAST = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=5)
SCOPES = ["tweet.read", "tweet.write", "users.read", "offline.access"]
LOOPBACK = "http://127.0.0.1:8765/callback"
KEY = "acme"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EncryptedStore]:
    s = EncryptedStore(tmp_path / "credentials.db", key=new_key(), timeout=0.2)
    yield s
    s.close()


def post(account: Account, text: str) -> str:
    """The delivery's status, or the type of the error ``publish`` raised."""
    try:
        with Client(retry=FAST) as client:
            (delivery,) = client.publish(Post(text=text), account)
    except BrandkitError as exc:
        return type(exc).__name__
    return delivery.status.value


def while_another_writer_holds(store: EncryptedStore, account: Account, text: str) -> str:
    other = sqlite3.connect(store.path)
    other.execute("BEGIN IMMEDIATE")
    try:
        return post(account, text)
    finally:
        other.rollback()
        other.close()


def test_x_keeps_the_refresh_the_store_could_not_keep(
    store: EncryptedStore, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "STORE_WAIT", 0.5)  # tried again that long
    emu = XEmulator()
    with emu.serve():
        app = emu.oauth_app(redirect_uri=REDIRECT, scopes=SCOPES)
        start = auth.x.start(app.client_id, REDIRECT, SCOPES, base_url=emu.base_url)
        creds = auth.x.finish(start, consent(start.url), client_secret=app.client_secret)
        store.put(KEY, auth.record_of(creds, client_secret=app.client_secret))
        account = load_account(store, KEY)
        emu.clock.advance(7300)  # expired: the next post refreshes

        with caplog.at_level(logging.WARNING, logger="brandkit.auth"):
            assert while_another_writer_holds(store, account, "one") == "sent"
        live = account.secret("refresh_token")
        assert live in emu._refresh  # the rotated token, in memory only
        assert (store.get(KEY) or {})["refresh_token"] not in emu._refresh

        assert post(account, "two") == "sent"
        emu.clock.advance(7300)
        assert post(account, "three") == "sent"  # refreshed with the live token
        assert post(account, "four") == "sent"

        stored = store.get(KEY) or {}
        assert stored["refresh_token"] == account.secret("refresh_token")
        assert stored["refresh_token"] in emu._refresh
        assert emu.count("POST", "/2/oauth2/token") == 3  # code, then two refreshes
        # Another process loading the store now gets the live session.
        assert post(load_account(store, KEY, name="other"), "five") == "sent"
        # The failed write was reported, without a token.
        assert KEY in caplog.text
        assert live is not None and live not in caplog.text


def test_bluesky_keeps_the_refresh_the_store_could_not_keep(
    store: EncryptedStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "STORE_WAIT", 0.5)
    emu = BlueskyEmulator()
    with emu.serve():
        emu.add_user("brand.test")
        store.put(KEY, auth.record_of(bluesky_session(emu)))
        account = load_account(store, KEY)
        emu.expire_oauth_tokens()

        # The post goes out with the new tokens the store could not take.
        assert while_another_writer_holds(store, account, "one") == "sent"
        assert account.secret("oauth_refresh_token") in emu._oauth_refresh
        assert (store.get(KEY) or {})["refresh_token"] not in emu._oauth_refresh

        emu.expire_oauth_tokens()
        assert post(account, "two") == "sent"
        assert post(account, "three") == "sent"

        assert not any(s.revoked for s in emu._spent_refresh.values())
        stored = store.get(KEY) or {}
        assert stored["refresh_token"] == account.secret("oauth_refresh_token")
        assert stored["refresh_token"] in emu._oauth_refresh
        assert {"one", "two", "three"} <= set(emu.post_texts())


def x_record(emu: XEmulator) -> dict[str, object]:
    app = emu.oauth_app(redirect_uri=REDIRECT, scopes=SCOPES)
    start = auth.x.start(app.client_id, REDIRECT, SCOPES, base_url=emu.base_url)
    creds = auth.x.finish(start, consent(start.url), client_secret=app.client_secret)
    return auth.record_of(creds, client_secret=app.client_secret)


def test_refresh_due_stores_its_refresh_once_the_writer_lets_go(store: EncryptedStore) -> None:
    """The refresh spent the stored refresh token: the new one is stored as soon as the
    other writer lets the file go, rather than lost with a "try again" that cannot work."""
    emu = XEmulator()
    with emu.serve():
        store.put(KEY, x_record(emu))
        other = sqlite3.connect(store.path, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")
        timer = threading.Timer(0.6, other.rollback)
        timer.start()
        try:
            assert auth.refresh_due(store, force=True) == {KEY: "refreshed"}
        finally:
            timer.join()
            other.close()
        stored = store.get(KEY) or {}
        assert stored["refresh_token"] in emu._refresh
        assert post(load_account(store, KEY), "after the refresh") == "sent"


def test_a_store_that_keeps_failing_says_the_credentials_are_lost(
    store: EncryptedStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "STORE_WAIT", 0.3)
    emu = XEmulator()
    with emu.serve():
        record = x_record(emu)
        store.put(KEY, record)
        other = sqlite3.connect(store.path)
        other.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(CredentialsNotStored) as info:
                auth.refresh_locked(
                    store,
                    KEY,
                    refresh_record,
                    force=True,
                )
        finally:
            other.rollback()
            other.close()
        message = str(info.value)
        assert repr(KEY) in message and "connect the account again" in message
        assert not any(
            str(value) in message for value in (record["access_token"], record["refresh_token"])
        )
        assert emu.count("POST", "/2/oauth2/token") == 2  # the code, then one refresh


def test_the_pending_record_is_not_in_a_repr() -> None:
    """The link between a stored account's saver and its refresh hook keeps a refresh
    whose record could not be stored; its repr (an error report, a debugger) shows none
    of it."""
    from brandkit.auth._records import _StoreLink

    link = _StoreLink()
    link.unsaved = ("AT-old", {"access_token": "AT-SECRET-123", "refresh_token": "RT-SECRET"})
    assert "SECRET" not in repr(link) and "SECRET" not in str(link)
