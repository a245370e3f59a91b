"""Bluesky OAuth accounts kept in the credential store refresh under the store's lock.

Its refresh tokens are single use, and the authorization server ends the whole session when
a spent one comes back ("Refresh token replayed"). So two holders of one stored account (two
workers, two processes: two `load_account`) must spend each refresh token once: the first
refreshes under the lock and stores the new session (tokens, DPoP key, expiry, nonce) before
letting go; the second reads the store under the lock and takes that session. And
`refresh_accounts` (what the outbox worker runs) gives the account its new expiry where the
adapter reads it, so that it does not refresh again at once."""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import parse_qs

import pytest

from brandkit import Account, AsyncClient, Client, DeliveryStatus, Post, RetryPolicy, auth
from brandkit.auth import EncryptedStore, load_account, refresh_accounts
from brandkit.platforms.bluesky import set_oauth_refresh_hook
from brandkit.testing.bluesky import BlueskyEmulator

from .conftest import bluesky_session

FAST = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=30)
EMULATOR = BlueskyEmulator  # served as the emu fixture (conftest), with USERS
USERS = ("brand.test",)
KEY = "brand"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def stored_record(emu: BlueskyEmulator, store: EncryptedStore, **changes: Any) -> dict[str, Any]:
    record = {**auth.record_of(bluesky_session(emu)), **changes}
    store.put(KEY, record)
    return record


def refreshes(emu: BlueskyEmulator) -> list[str]:
    """The refresh tokens sent to the token endpoint, in order."""
    out = []
    for r in emu.requests:
        if r.url.path == "/oauth/token":
            form = parse_qs(r.content.decode())
            if form["grant_type"] == ["refresh_token"]:
                out.append(form["refresh_token"][0])
    return out


def post(account: Account, text: str) -> DeliveryStatus:
    with Client(retry=FAST) as client:
        (delivery,) = client.publish(Post(text=text), account)
    assert delivery.error is None, delivery.error
    return delivery.status


def assert_holds_the_stored_session(account: Account, stored: dict[str, Any]) -> None:
    assert account.secret("oauth_access_token") == stored["access_token"]
    assert account.secret("oauth_refresh_token") == stored["refresh_token"]
    assert account.secret("dpop_key") == stored["dpop_key"]
    assert account.settings["oauth"]["expires_at"] == stored["expires_at"]
    assert account.settings["oauth"]["dpop_nonce"] == stored["dpop_nonce"]


def test_two_holders_refused_after_expiry_spend_the_refresh_token_once(
    emu: BlueskyEmulator, store: EncryptedStore
) -> None:
    """The access token expires at the PDS; both holders are refused with invalid_token.
    The first refreshes under the store's lock and stores the new session (expiry and the
    server's new nonce included); the second takes it: one refresh, both posts sent, and
    the session lives on for a new load."""
    record = stored_record(emu, store)
    first = load_account(store, KEY, name="first")
    second = Account.from_store(store, KEY, name="second")
    emu.expire_oauth_tokens()
    nonce = emu.rotate_dpop_nonce()  # the refresh's answer carries it: the store must too
    assert post(first, "from the first") is DeliveryStatus.SENT
    assert post(second, "from the second") is DeliveryStatus.SENT
    assert refreshes(emu) == [record["refresh_token"]]  # one refresh, never a replay
    stored = store.get(KEY) or {}
    assert stored["access_token"] != record["access_token"]
    assert stored["refresh_token"] != record["refresh_token"]
    assert stored["dpop_key"] == record["dpop_key"]  # the session keeps its key
    assert stored["dpop_nonce"] == nonce != record["dpop_nonce"]
    assert stored["expires_at"] == pytest.approx(time.time() + 3600, abs=60)
    assert stored["expires_at"] > record["expires_at"]
    assert_holds_the_stored_session(first, stored)
    assert_holds_the_stored_session(second, stored)
    assert post(load_account(store, KEY), "from a new load") is DeliveryStatus.SENT
    assert len(refreshes(emu)) == 1
    assert sorted(emu.post_texts()) == ["from a new load", "from the first", "from the second"]


def test_two_holders_refresh_ahead_of_expiry_once(
    emu: BlueskyEmulator, store: EncryptedStore
) -> None:
    """Both holders see their token expire within the adapter's margin and refresh before
    posting: the second, under the lock, finds the stored token is no longer the one it
    holds and takes the stored session instead of spending its refresh token."""
    record = stored_record(emu, store, expires_at=time.time() + 30)
    first = load_account(store, KEY, name="first", refresh=False)
    second = load_account(store, KEY, name="second", refresh=False)
    assert post(first, "one") is DeliveryStatus.SENT
    assert post(second, "two") is DeliveryStatus.SENT
    assert refreshes(emu) == [record["refresh_token"]]
    stored = store.get(KEY) or {}
    assert stored["expires_at"] > time.time() + 3000
    assert_holds_the_stored_session(first, stored)
    assert_holds_the_stored_session(second, stored)
    assert post(Account.from_store(store, KEY), "three") is DeliveryStatus.SENT
    assert len(refreshes(emu)) == 1


@pytest.mark.anyio
async def test_two_holders_refused_at_once_in_one_event_loop_refresh_once(
    emu: BlueskyEmulator, store: EncryptedStore
) -> None:
    """Two holders posting at the same moment (one AsyncClient): the second refresh waits
    for the lock through the driver, never blocking the loop, then takes the stored
    session."""
    record = stored_record(emu, store)
    first = load_account(store, KEY, name="first")
    second = load_account(store, KEY, name="second")
    emu.expire_oauth_tokens()
    async with AsyncClient(retry=FAST) as client:
        done = await asyncio.wait_for(
            asyncio.gather(
                client.publish(Post(text="at once: one"), first),
                client.publish(Post(text="at once: two"), second),
            ),
            timeout=30,
        )
    assert [d.status for (d,) in done] == [DeliveryStatus.SENT, DeliveryStatus.SENT]
    assert refreshes(emu) == [record["refresh_token"]]
    stored = store.get(KEY) or {}
    assert_holds_the_stored_session(first, stored)
    assert_holds_the_stored_session(second, stored)
    assert sorted(emu.post_texts()) == ["at once: one", "at once: two"]


def test_refresh_accounts_gives_the_account_its_new_expiry(
    emu: BlueskyEmulator, store: EncryptedStore
) -> None:
    """`refresh_accounts` (the outbox worker's refresh) refreshes a due session and gives
    the account its new expiry and nonce in ``settings["oauth"]``, where the adapter reads
    them: the next post makes no token request."""
    stored_record(emu, store, expires_at=time.time() + 30)
    account = load_account(store, KEY, refresh=False)
    assert refresh_accounts(store, [account]) == {KEY: "refreshed"}
    assert len(refreshes(emu)) == 1
    stored = store.get(KEY) or {}
    assert stored["expires_at"] > time.time() + 3000
    assert_holds_the_stored_session(account, stored)
    assert "oauth_expires_at" not in account.secret_names
    assert post(account, "after the worker's refresh") is DeliveryStatus.SENT
    assert len(refreshes(emu)) == 1
    assert store.get(KEY) == stored


def test_a_refresh_outside_the_hook_stores_its_expiry_and_nonce(
    emu: BlueskyEmulator, store: EncryptedStore
) -> None:
    """Without the refresh hook, the adapter's own refresh reaches the store through
    ``on_credentials_changed`` with its new expiry and nonce, not only the tokens."""
    record = stored_record(emu, store, expires_at=time.time() + 30)
    account = load_account(store, KEY, refresh=False)
    set_oauth_refresh_hook(account, None)
    nonce = emu.rotate_dpop_nonce()
    assert post(account, "one") is DeliveryStatus.SENT
    stored = store.get(KEY) or {}
    assert stored["access_token"] != record["access_token"]
    assert stored["dpop_nonce"] == nonce
    assert stored["expires_at"] > time.time() + 3000
    assert_holds_the_stored_session(account, stored)
