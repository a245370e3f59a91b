"""Accounts made of connected credentials refresh ahead of expiry (X, LinkedIn): the expiry
that ``finish`` returns goes into the account, so the first post after it passes (on the
emulator clock) refreshes first and never sends the expired token; a refresh moves the
expiry on, and ``credentials_of(account)`` gives it back."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest

from brandkit import Account, Client, DeliveryStatus, Post, RetryPolicy, auth
from brandkit.testing.linkedin import LinkedInEmulator
from brandkit.testing.x import XEmulator

from .conftest import REDIRECT, consent

FAST = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=30)
X_SCOPES = ["tweet.read", "tweet.write", "users.read", "offline.access"]
LI_SCOPES = ["w_organization_social", "r_organization_social", "rw_organization_admin"]


@pytest.fixture
def x_emu() -> Iterator[XEmulator]:
    emulator = XEmulator()
    with emulator.serve():
        yield emulator


@pytest.fixture
def li_emu() -> Iterator[LinkedInEmulator]:
    emulator = LinkedInEmulator()
    with emulator.serve():
        yield emulator


def post(client: Client, account: Account, text: str) -> DeliveryStatus:
    (delivery,) = client.publish(Post(text=text), account)
    return delivery.status


def bearer(request: httpx.Request) -> str:
    return str(request.headers.get("authorization", ""))


def test_x_refreshes_before_expiry_and_never_sends_the_expired_token(x_emu: XEmulator) -> None:
    app = x_emu.oauth_app(redirect_uri=REDIRECT, scopes=X_SCOPES)
    start = auth.x.start(app.client_id, REDIRECT, X_SCOPES, base_url=x_emu.base_url)
    creds = auth.x.finish(
        start, consent(start.url), client_secret=app.client_secret, clock=x_emu.clock.time
    )
    stored: list[auth.XCredentials | None] = []
    account = auth.account_from(
        creds,
        name="brand",
        client_secret=app.client_secret,
        on_credentials_changed=lambda a, _: stored.append(auth.x.credentials_of(a)),
    )
    assert auth.x.credentials_of(account) == creds  # round trip, expiry and scopes included
    with Client(retry=FAST) as client:
        client._core.adapter_for(account).clock = x_emu.clock.time  # type: ignore[attr-defined]
        assert post(client, account, "Before") is DeliveryStatus.SENT

        x_emu.clock.advance(timedelta(hours=2, seconds=1))  # the 2-hour token has expired
        expired = f"Bearer {creds.access_token.get_secret_value()}"
        seen = len(x_emu.requests)
        assert post(client, account, "After") is DeliveryStatus.SENT

        after = x_emu.requests[seen:]
        assert [r for r in after if bearer(r) == expired] == []  # no request spent on a 401
        assert after[0].url.path == "/2/oauth2/token"  # the refresh came first
        assert x_emu.post_texts() == ["Before", "After"]

    # The hook saw the new expiry with the new tokens: storing them keeps refreshing ahead.
    (new,) = stored
    assert new is not None and new.expires_at is not None
    assert new.access_token != creds.access_token and new.refresh_token != creds.refresh_token
    assert 7_100 < new.expires_at - x_emu.clock.time() <= 7_200
    assert new.scopes == creds.scopes and new.client_id == creds.client_id
    assert account.settings["token_expires_at"] == new.expires_at

    # A new client's adapter of the same account knows the refreshed expiry too.
    x_emu.clock.advance(timedelta(hours=2, seconds=1))
    seen = len(x_emu.requests)
    with Client(retry=FAST) as client:
        client._core.adapter_for(account).clock = x_emu.clock.time  # type: ignore[attr-defined]
        assert post(client, account, "Later") is DeliveryStatus.SENT
    assert x_emu.requests[seen].url.path == "/2/oauth2/token"
    assert len(stored) == 2
    assert [
        r
        for r in x_emu.requests[seen:]
        if bearer(r) == f"Bearer {new.access_token.get_secret_value()}"
    ] == []


def test_linkedin_refreshes_before_expiry(li_emu: LinkedInEmulator) -> None:
    app = li_emu.oauth_app(redirect_uri=REDIRECT, scopes=LI_SCOPES, refresh_tokens=True)
    start = auth.linkedin.start(app.client_id, REDIRECT, LI_SCOPES, base_url=li_emu.base_url)
    creds = auth.linkedin.finish(
        start, consent(start.url), client_secret=app.client_secret, clock=li_emu.clock.time
    )
    (page,) = auth.linkedin.organizations(creds)
    stored: list[auth.LinkedInCredentials | None] = []
    account = auth.account_from(
        creds,
        author=page,
        client_secret=app.client_secret,
        on_credentials_changed=lambda a, _: stored.append(auth.linkedin.credentials_of(a)),
    )
    assert auth.linkedin.credentials_of(account) == creds
    li_emu.clock.advance(timedelta(days=60, seconds=1))  # the 60-day token has expired
    expired = f"Bearer {creds.access_token.get_secret_value()}"
    seen = len(li_emu.requests)
    with Client(retry=FAST) as client:
        client._core.adapter_for(account).clock = li_emu.clock.time  # type: ignore[attr-defined]
        assert post(client, account, "After sixty days") is DeliveryStatus.SENT

    after = li_emu.requests[seen:]
    assert [r for r in after if bearer(r) == expired] == []
    assert after[0].url.path == "/oauth/v2/accessToken"
    (new,) = stored
    assert new is not None and new.expires_at is not None
    assert new.expires_at == pytest.approx(li_emu.clock.time() + 60 * 86_400, abs=5)
    assert new.refresh_expires_at == creds.refresh_expires_at


@pytest.mark.parametrize("value", [True, float("nan"), float("inf"), "1900000000"])
def test_an_expiry_that_is_not_a_time_is_an_unknown_one(x_emu: XEmulator, value: object) -> None:
    """A token's expiry of ``true`` (read as 1970: a refresh before every request) or NaN
    (no comparison is true: never refreshed ahead) is no expiry, by the one rule of
    `stored_time` every reader now follows: the adapter reads none, and posts do not
    refresh."""
    from brandkit._durations import stored_time

    app = x_emu.oauth_app(redirect_uri=REDIRECT, scopes=X_SCOPES)
    start = auth.x.start(app.client_id, REDIRECT, X_SCOPES, base_url=x_emu.base_url)
    creds = auth.x.finish(
        start, consent(start.url), client_secret=app.client_secret, clock=x_emu.clock.time
    )
    account = auth.account_from(creds, name="brand", client_secret=app.client_secret)
    account.settings["token_expires_at"] = value
    assert stored_time(value) is None
    assert auth.x.credentials_of(account).expires_at is None  # type: ignore[union-attr]
    with Client(retry=FAST) as client:
        adapter = client._core.adapter_for(account)
        adapter.clock = x_emu.clock.time  # type: ignore[attr-defined]
        assert adapter.token_expires_at is None  # type: ignore[attr-defined]
        assert post(client, account, "One") is DeliveryStatus.SENT
        assert post(client, account, "Two") is DeliveryStatus.SENT
    # The code exchange of finish, and no refresh.
    assert [r.url.path for r in x_emu.requests].count("/2/oauth2/token") == 1
    assert x_emu.post_texts() == ["One", "Two"]
