"""Flows of one account that find its token stale at the same moment (an ``AsyncClient``
publishing several posts at once, threads sharing an account) refresh it once, one after
the other: the first spends the refresh token, the others find the token replaced and use
the new one. Refresh tokens rotate, so a second refresh with the same one is refused by X
("authorize the app again") and, on Bluesky, ends the whole session ("Refresh token
replayed"): every token of the account dead until the user connects again."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from brandkit import Account, AsyncClient, Client, Delivery, DeliveryStatus, Post, RetryPolicy
from brandkit._flow import Flow, Send, Wait
from brandkit.auth import CredentialStoreLocked
from brandkit.auth import bluesky as bsky
from brandkit.platforms._oauth import refresh_alone
from brandkit.testing.bluesky import BlueskyEmulator
from brandkit.testing.x import XEmulator

from .conftest import bluesky_session

FAST = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=5)
REDIRECT = "http://127.0.0.1:8765/callback"
TEXTS = ["at once: one", "at once: two", "at once: three"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def bluesky() -> Iterator[BlueskyEmulator]:
    emulator = BlueskyEmulator()
    with emulator.serve():
        emulator.add_user("brand.test")
        yield emulator


@pytest.fixture
def x() -> Iterator[XEmulator]:
    emulator = XEmulator()
    with emulator.serve():
        yield emulator


def bluesky_account(emu: BlueskyEmulator, changes: list[Mapping[str, str]]) -> Account:
    return bsky.account_from(
        bluesky_session(emu),
        name="brand",
        on_credentials_changed=lambda _a, changed: changes.append(changed),
    )


def refresh_grants(requests: list[httpx.Request], path: str) -> int:
    return sum(
        1
        for r in requests
        if r.url.path == path
        and parse_qs(r.content.decode()).get("grant_type") == ["refresh_token"]
    )


async def publish_at_once(account: Account) -> list[Delivery]:
    async with AsyncClient(retry=FAST) as client:
        done = await asyncio.wait_for(
            asyncio.gather(*(client.publish(Post(text=t), account) for t in TEXTS)), timeout=30
        )
    return [d for (d,) in done]


@pytest.mark.anyio
async def test_bluesky_posts_at_once_refresh_once_and_keep_the_session(
    bluesky: BlueskyEmulator,
) -> None:
    changes: list[Mapping[str, str]] = []
    account = bluesky_account(bluesky, changes)
    first_refresh = account.secret("oauth_refresh_token")
    bluesky.expire_oauth_tokens()

    deliveries = await publish_at_once(account)

    assert [d.status for d in deliveries] == [DeliveryStatus.SENT] * 3, [
        d.error for d in deliveries
    ]
    assert refresh_grants(bluesky.requests, "/oauth/token") == 1
    assert sorted(bluesky.post_texts()) == sorted(TEXTS)
    # The session lives on: its new refresh token is good, and the hook was told once.
    assert len(changes) == 1
    new_refresh = account.secret("oauth_refresh_token")
    assert new_refresh and new_refresh != first_refresh
    assert new_refresh in bluesky._oauth_refresh
    assert not any(s.revoked for s in bluesky._spent_refresh.values())


@pytest.mark.anyio
async def test_x_posts_at_once_refresh_once(x: XEmulator) -> None:
    account = x.account(name="brand")
    x.clock.advance(7300)  # the access token has expired: every post gets a 401

    deliveries = await publish_at_once(account)

    assert [d.status for d in deliveries] == [DeliveryStatus.SENT] * 3, [
        d.error for d in deliveries
    ]
    assert x.count("POST", "/2/oauth2/token") == 1
    assert account.secret("refresh_token") in x._refresh


def test_x_threads_sharing_an_account_refresh_once(x: XEmulator) -> None:
    account = x.account(name="brand")
    x.clock.advance(7300)
    statuses: list[DeliveryStatus] = []
    barrier = threading.Barrier(len(TEXTS))

    def post(text: str) -> None:
        with Client(retry=FAST) as client:
            barrier.wait()
            (delivery,) = client.publish(Post(text=text), account)
        statuses.append(delivery.status)

    threads = [threading.Thread(target=post, args=(t,)) for t in TEXTS]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    assert statuses == [DeliveryStatus.SENT] * 3
    assert x.count("POST", "/2/oauth2/token") == 1


class _Owner:
    key = "x:owner"


def _drive(flow: Flow[None]) -> None:
    """A minimal driver: sleeps through each Wait, answers each Send with a 200."""
    step = next(flow)
    try:
        while True:
            if isinstance(step, Wait):
                time.sleep(step.seconds)
            step = flow.send(httpx.Response(200))
    except StopIteration:
        pass


def test_a_refresh_that_waits_too_long_says_so_and_spends_nothing() -> None:
    owner = _Owner()
    sent: list[Any] = []

    def refresh() -> Flow[None]:
        sent.append((yield Send(httpx.Request("POST", "https://x.invalid/2/oauth2/token"))))

    holder = refresh_alone(owner, refresh)
    assert isinstance(next(holder), Send)  # the first flow is at its token request
    with pytest.raises(CredentialStoreLocked, match="x:owner"):
        _drive(refresh_alone(owner, refresh, wait=0.05))
    assert sent == []
    holder.close()  # the first flow ends (or is dropped): its turn is given back
    _drive(refresh_alone(owner, refresh, wait=0.05))
    assert len(sent) == 1
