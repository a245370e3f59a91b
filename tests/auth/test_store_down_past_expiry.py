"""A credential store that stays down (here: another writer holding its SQLite file) past
the expiry of the tokens an adapter refreshed, and could not store, no longer turns every
request into a 401: the live session is in the account's memory only, and when its access
token is due it is refreshed there, with the live refresh token (which no other holder
has), and kept for the store. Once the store answers, the newest session is stored, and
no refresh token was ever sent twice. The emulator over a socket, a real store file; the
access tokens live 62 seconds, so the adapter finds them due two seconds after a refresh."""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from brandkit import Account, Client, Post, RetryPolicy, auth
from brandkit.auth import EncryptedStore, load_account
from brandkit.auth import store as store_module
from brandkit.auth.store import new_key
from brandkit.errors import BrandkitError
from brandkit.testing.bluesky import BlueskyEmulator

from .conftest import bluesky_session

FAST = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=5)
KEY = "acme"
TTL = 62.0  # the adapter refreshes 60 s ahead of expiry: due 2 s after it is issued


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EncryptedStore]:
    s = EncryptedStore(tmp_path / "credentials.db", key=new_key(), timeout=0.2)
    yield s
    s.close()


def post(account: Account, text: str) -> str:
    """The delivery's status, with its error's type when it has one."""
    try:
        with Client(retry=FAST) as client:
            (delivery,) = client.publish(Post(text=text), account)
    except BrandkitError as exc:
        return type(exc).__name__
    error = f" {type(delivery.error).__name__}" if delivery.error else ""
    return delivery.status.value + error


def refresh_tokens_sent(emu: BlueskyEmulator) -> list[str]:
    from urllib.parse import parse_qs

    sent = []
    for r in emu.requests:
        if r.url.path == "/oauth/token":
            form = parse_qs(r.content.decode())
            if form["grant_type"] == ["refresh_token"]:
                sent.append(form["refresh_token"][0])
    return sent


def test_bluesky_refreshes_in_memory_while_the_store_is_down(
    store: EncryptedStore, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(store_module, "STORE_WAIT", 0.3)
    emu = BlueskyEmulator()
    with emu.serve():
        emu.add_user("brand.test")
        store.put(KEY, auth.record_of(bluesky_session(emu)))
        account = load_account(store, KEY)
        emu.oauth_access_ttl = TTL
        emu.expire_oauth_tokens()

        other = sqlite3.connect(store.path)
        other.execute("BEGIN IMMEDIATE")  # the store is down from here on
        try:
            with caplog.at_level(logging.WARNING, logger="brandkit.auth"):
                # Refreshed, and sent with the new tokens the store could not take.
                assert post(account, "one") == "sent"
                first_live = account.secret("oauth_access_token")
                assert post(account, "two") == "sent"
                # The live token is now due by the adapter's clock, and the server has
                # dropped it: sent as it was, it was refused at each request.
                time.sleep(TTL - 60.0 + 0.2)
                emu.expire_oauth_tokens()
                assert post(account, "three") == "sent"
                assert account.secret("oauth_access_token") != first_live
                assert post(account, "four") == "sent"
        finally:
            other.rollback()
            other.close()

        assert post(account, "five") == "sent"  # stores the live session first
        stored = store.get(KEY) or {}
        assert stored["access_token"] == account.secret("oauth_access_token")
        assert stored["refresh_token"] == account.secret("oauth_refresh_token")
        assert stored["refresh_token"] in emu._oauth_refresh
        sent = refresh_tokens_sent(emu)
        assert len(sent) == len(set(sent)) == 2  # none replayed
        assert not any(s.revoked for s in emu._spent_refresh.values())
        assert {"one", "two", "three", "four", "five"} <= set(emu.post_texts())
        # Logged with the key, never a token.
        assert KEY in caplog.text
        for token in (*sent, stored["access_token"], stored["refresh_token"], first_live):
            assert str(token) not in caplog.text


def test_x_refreshes_in_memory_while_the_store_is_down(
    store: EncryptedStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from brandkit.testing.x import XEmulator

    from .conftest import REDIRECT, consent

    monkeypatch.setattr(store_module, "STORE_WAIT", 0.3)
    scopes = ["tweet.read", "tweet.write", "users.read", "offline.access"]
    emu = XEmulator()
    with emu.serve():
        app = emu.oauth_app(redirect_uri=REDIRECT, scopes=scopes)
        start = auth.x.start(app.client_id, REDIRECT, scopes, base_url=emu.base_url)
        creds = auth.x.finish(start, consent(start.url), client_secret=app.client_secret)
        store.put(KEY, auth.record_of(creds, client_secret=app.client_secret))
        account = load_account(store, KEY)
        emu.token_lifetime = TTL
        emu.expire_tokens()

        other = sqlite3.connect(store.path)
        other.execute("BEGIN IMMEDIATE")
        try:
            assert post(account, "one") == "sent"  # refreshed; the store could not take it
            first_live = account.secret("user_token")
            time.sleep(TTL - 60.0 + 0.2)
            emu.expire_tokens()
            assert post(account, "two") == "sent"
            assert account.secret("user_token") != first_live
        finally:
            other.rollback()
            other.close()

        assert post(account, "three") == "sent"
        stored = store.get(KEY) or {}
        assert stored["refresh_token"] == account.secret("refresh_token")
        assert stored["refresh_token"] in emu._refresh
        assert emu.count("POST", "/2/oauth2/token") == 3  # the code, then two refreshes
