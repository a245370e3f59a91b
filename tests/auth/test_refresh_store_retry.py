"""A refresh by the adapter of a stored account (X, Bluesky OAuth: both rotate their refresh
tokens) whose new tokens the store fails to take at first (its file locked past its
timeout, a database blip) is stored once the store takes it again: tried for up to
`STORE_WAIT` seconds, as `refresh_locked` does, and past that logged at ERROR (no token),
used by the request, and tried again at the account's next request. Before, one failed write left the live
session in memory only until the next refresh, hours later, and a crash meanwhile lost
the account (the stored refresh token is spent). Emulators over a socket, a real store
file that refuses its first writes."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from brandkit import Account, Client, Post, RetryPolicy, auth
from brandkit.auth import EncryptedStore, load_account
from brandkit.auth import store as store_module
from brandkit.auth.store import CredentialStoreLocked, new_key
from brandkit.errors import BrandkitError
from brandkit.testing.bluesky import BlueskyEmulator
from brandkit.testing.x import XEmulator

from .conftest import REDIRECT, bluesky_session, consent

FAST = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=5)
SCOPES = ["tweet.read", "tweet.write", "users.read", "offline.access"]
KEY = "acme"


class FailingStore(EncryptedStore):
    """An `EncryptedStore` whose next ``failures`` writes raise `CredentialStoreLocked`,
    as one whose file another writer holds past its timeout does."""

    failures = 0
    refused = 0

    def put(self, key: str, record: Any) -> None:
        if self.failures > 0:
            self.failures -= 1
            self.refused += 1
            raise CredentialStoreLocked(f"{self!r} stayed locked (a test)")
        super().put(key, record)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[FailingStore]:
    s = FailingStore(tmp_path / "credentials.db", key=new_key())
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


def x_account(emu: XEmulator, store: FailingStore) -> Account:
    app = emu.oauth_app(redirect_uri=REDIRECT, scopes=SCOPES)
    start = auth.x.start(app.client_id, REDIRECT, SCOPES, base_url=emu.base_url)
    creds = auth.x.finish(start, consent(start.url), client_secret=app.client_secret)
    store.put(KEY, auth.record_of(creds, client_secret=app.client_secret))
    return load_account(store, KEY)


def test_x_refresh_is_stored_after_the_first_writes_fail(store: FailingStore) -> None:
    emu = XEmulator()
    with emu.serve():
        account = x_account(emu, store)
        emu.clock.advance(7300)  # expired: the next post refreshes
        store.failures = 3
        assert post(account, "one") == "sent"
        assert store.refused == 3
        stored = store.get(KEY) or {}
        assert stored["refresh_token"] == account.secret("refresh_token")
        assert stored["refresh_token"] in emu._refresh  # the live one, on disk
        # Another process loading the store now gets the live session.
        assert post(load_account(store, KEY, name="other"), "two") == "sent"
        assert emu.count("POST", "/2/oauth2/token") == 2  # the code, then one refresh


def test_x_refresh_the_store_kept_refusing_is_stored_at_the_next_request(
    store: FailingStore, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(store_module, "STORE_WAIT", 0.3)
    emu = XEmulator()
    with emu.serve():
        account = x_account(emu, store)
        emu.clock.advance(7300)
        store.failures = 10_000
        with caplog.at_level(logging.WARNING, logger="brandkit.auth"):
            assert post(account, "one") == "sent"  # with the tokens only it holds
        assert store.refused > 1  # tried again, not once
        live = account.secret("refresh_token")
        assert live is not None and live in emu._refresh
        assert (store.get(KEY) or {})["refresh_token"] not in emu._refresh
        errors = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert errors and KEY in errors[0].getMessage()
        assert live not in caplog.text and str(account.secret("user_token")) not in caplog.text

        store.failures = 0  # the store is back: the next request stores the live session
        assert post(account, "two") == "sent"
        stored = store.get(KEY) or {}
        assert stored["refresh_token"] == live
        assert stored["expires_at"] is not None and stored["expires_at"] > 1.0
        assert emu.count("POST", "/2/oauth2/token") == 2  # nothing spent to store it
        assert post(load_account(store, KEY, name="other"), "three") == "sent"
        assert post(account, "four") == "sent"
        assert emu.count("POST", "/2/oauth2/token") == 2


def test_bluesky_refresh_the_store_kept_refusing_is_stored_at_the_next_request(
    store: FailingStore, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(store_module, "STORE_WAIT", 0.3)
    emu = BlueskyEmulator()
    with emu.serve():
        emu.add_user("brand.test")
        store.put(KEY, auth.record_of(bluesky_session(emu)))
        account = load_account(store, KEY)
        emu.expire_oauth_tokens()
        store.failures = 10_000
        with caplog.at_level(logging.WARNING, logger="brandkit.auth"):
            assert post(account, "one") == "sent"  # with the tokens only it holds
        live = account.secret("oauth_refresh_token")
        assert live is not None and live in emu._oauth_refresh
        assert any(r.levelno == logging.ERROR for r in caplog.records)
        assert live not in caplog.text

        store.failures = 0
        assert post(account, "two") == "sent"
        stored = store.get(KEY) or {}
        assert stored["refresh_token"] == live
        assert stored["expires_at"] is not None and stored["expires_at"] > 1.0
        assert post(load_account(store, KEY, name="other"), "three") == "sent"
        assert not any(s.revoked for s in emu._spent_refresh.values())
