"""`load_account` (what ``brandkit run --store`` calls for every stored account at start)
refreshes a token ahead of its expiry; when that refresh fails while the token still works
(the token endpoint down or limiting), the account is loaded with the token it has and posts,
with a warning that names no secret. A token that has expired still needs the refresh, whose
error is raised. X emulator over a socket, a real encrypted SQLite store."""

from __future__ import annotations

import logging

import pytest

from brandkit import Client, DeliveryStatus, Post, RetryPolicy, auth
from brandkit.auth import EncryptedStore, XCredentials
from brandkit.errors import PlatformUnavailable, RateLimited
from brandkit.testing.x import OAuthApp, XEmulator

from .conftest import REDIRECT, consent, leaks

FAST = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=30)
SCOPES = ["tweet.read", "tweet.write", "users.read", "offline.access"]
EMULATOR = XEmulator  # served as the emu fixture (conftest), with the app of SCOPES


def stored_x(emu: XEmulator, app: OAuthApp, store: EncryptedStore) -> XCredentials:
    start = auth.x.start(app.client_id, REDIRECT, SCOPES, base_url=emu.base_url)
    creds = auth.x.finish(start, consent(start.url), client_secret=app.client_secret)
    store.put("acme-x", auth.record_of(creds, client_secret=app.client_secret))
    return creds


def test_a_failed_refresh_ahead_leaves_the_working_token_in_use(
    emu: XEmulator, app: OAuthApp, store: EncryptedStore, caplog: pytest.LogCaptureFixture
) -> None:
    creds = stored_x(emu, app, store)
    assert creds.expires_at is not None
    before = store.get("acme-x")
    soon = creds.expires_at - 120  # within X's five-minute margin, not expired
    emu.fault(path="/2/oauth2/token", status=503)
    with caplog.at_level(logging.WARNING, logger="brandkit.auth"):
        account = auth.load_account(store, "acme-x", clock=lambda: soon)
    assert account.secret("user_token") == creds.access_token.get_secret_value()
    assert store.get("acme-x") == before
    with Client(retry=FAST) as client:
        (delivery,) = client.publish(Post(text="Still posting"), account)
    assert delivery.status is DeliveryStatus.SENT
    assert "acme-x was not refreshed ahead" in caplog.text
    assert "PlatformUnavailable" in caplog.text
    secrets = [creds.access_token.get_secret_value(), app.client_secret or ""]
    assert creds.refresh_token is not None
    assert not leaks([caplog.text], [*secrets, creds.refresh_token.get_secret_value()])


def test_a_failed_refresh_of_an_expired_token_is_raised(
    emu: XEmulator, app: OAuthApp, store: EncryptedStore
) -> None:
    creds = stored_x(emu, app, store)
    assert creds.expires_at is not None
    late = creds.expires_at + 10
    emu.fault(path="/2/oauth2/token", status=429)
    with pytest.raises(RateLimited):
        auth.load_account(store, "acme-x", clock=lambda: late)
    emu.fault(path="/2/oauth2/token", status=500)
    with pytest.raises(PlatformUnavailable):
        auth.load_account(store, "acme-x", clock=lambda: late)
    # Once the endpoint answers, the same stored refresh token refreshes.
    account = auth.load_account(store, "acme-x", clock=lambda: late)
    assert account.secret("user_token") != creds.access_token.get_secret_value()
