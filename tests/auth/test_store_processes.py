"""Two processes sharing one encrypted store refresh one X token at the same moment, 50
times each, against the X emulator over a socket (issue 15): the emulator sees each
refresh token used once, and both processes can post afterwards. And two processes whose
stored X token is expired at the emulator both get a 401 at once: the refresh after it is
serialized by the store's lock, so the refresh token is spent once and both post.

The PostgreSQL store runs the same processes (tests/auth/test_pgstore.py)."""

from __future__ import annotations

import asyncio
import multiprocessing
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

from brandkit import AsyncClient, Client, Post, auth
from brandkit.auth.store import EncryptedStore, new_key
from brandkit.testing.linkedin import LinkedInEmulator
from brandkit.testing.x import OAuthApp, XEmulator

from ._store_worker import FAST, KEY, open_store, poster, refresher
from .conftest import REDIRECT, consent

SCOPES = ["tweet.read", "tweet.write", "users.read", "offline.access"]
ROUNDS = 50


@pytest.fixture
def emu() -> Iterator[XEmulator]:
    emulator = XEmulator()
    with emulator.serve():
        yield emulator


def connect(emu: XEmulator, app: OAuthApp, target: str, store_key: str) -> dict[str, Any]:
    """Connect an X account and keep it in the store at ``target``; returns the record."""
    start = auth.x.start(app.client_id, REDIRECT, SCOPES, base_url=emu.base_url)
    creds = auth.x.finish(start, consent(start.url), client_secret=app.client_secret)
    record = auth.record_of(creds, client_secret=app.client_secret)
    with open_store(target, store_key) as store:
        store.put(KEY, record)
    return record


def refresh_tokens_used(emu: XEmulator) -> Counter[str]:
    """How many token requests the emulator received per refresh token."""
    used: Counter[str] = Counter()
    for request in emu.requests:
        if request.url.path != "/2/oauth2/token":
            continue
        form = parse_qs(request.content.decode())
        if form.get("grant_type") == ["refresh_token"]:
            used[form["refresh_token"][0]] += 1
    return used


def run_two(emu: XEmulator, target: str, rounds: int, locked: bool) -> list[dict[str, Any]]:
    """Two processes refreshing the token kept at ``target`` (a file or a URL)."""
    app = emu.oauth_app(redirect_uri=REDIRECT, scopes=SCOPES)
    assert app.client_secret is not None
    store_key = new_key()
    connect(emu, app, target, store_key)
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager:
        barrier = manager.Barrier(2)
        with ProcessPoolExecutor(max_workers=2, mp_context=ctx) as pool:
            futures = [
                pool.submit(
                    refresher, target, store_key, app.client_secret, rounds, barrier, name, locked
                )
                for name in ("one", "two")
            ]
            return [f.result(timeout=240) for f in futures]


def check_each_refresh_token_used_once(emu: XEmulator, results: list[dict[str, Any]]) -> None:
    used = refresh_tokens_used(emu)
    assert sum(used.values()) == ROUNDS  # one refresh per round, by one process or the other
    assert set(used.values()) == {1}, used.most_common(3)
    assert [r["errors"] for r in results] == [[], []]
    assert sum(r["refreshed"] for r in results) == ROUNDS
    # Both processes hold the same, newest credentials after every round.
    assert results[0]["seen"] == results[1]["seen"]
    assert len(set(results[0]["seen"])) == ROUNDS
    assert [r["status"] for r in results] == ["sent", "sent"]
    assert sorted(emu.post_texts()) == ["Still working: one", "Still working: two"]


def post_after_401(emu: XEmulator, target: str) -> tuple[list[dict[str, Any]], str]:
    """Connect, expire the tokens at the emulator (the stored expiry still says they are
    good, so nothing refreshes ahead), then two processes post at one moment. Returns
    their results and the refresh token the connection gave."""
    app = emu.oauth_app(redirect_uri=REDIRECT, scopes=SCOPES)
    store_key = new_key()
    record = connect(emu, app, target, store_key)
    emu.expire_tokens()
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager:
        barrier = manager.Barrier(2)
        with ProcessPoolExecutor(max_workers=2, mp_context=ctx) as pool:
            futures = [
                pool.submit(poster, target, store_key, barrier, name) for name in ("one", "two")
            ]
            return [f.result(timeout=120) for f in futures], str(record["refresh_token"])


def check_one_refresh_after_401(
    emu: XEmulator, results: list[dict[str, Any]], first_refresh: str
) -> None:
    used = refresh_tokens_used(emu)
    assert dict(used) == {first_refresh: 1}  # spent once, by one of the two
    assert [(r["status"], r["error"]) for r in results] == [("sent", None), ("sent", None)]
    # Each process asked who it is, was refused (401), and asked again after the one
    # refresh (a request is repeated only after a 401); then each posted once.
    paths = Counter(f"{r.method} {r.url.path}" for r in emu.requests)
    assert paths["GET /2/users/me"] == 4, paths
    assert paths["POST /2/tweets"] == 2, paths
    # Both ended with the one new token, the one the store holds.
    assert results[0]["token"] == results[1]["token"] == results[0]["stored"]
    assert sorted(emu.post_texts()) == ["After the 401: one", "After the 401: two"]


@pytest.mark.slow
def test_two_processes_refresh_one_token_and_never_spend_it_twice(
    emu: XEmulator, tmp_path: Path
) -> None:
    results = run_two(emu, str(tmp_path / "creds.db"), ROUNDS, locked=True)
    check_each_refresh_token_used_once(emu, results)


@pytest.mark.slow
def test_two_processes_refused_at_once_refresh_once_under_the_store_lock(
    emu: XEmulator, tmp_path: Path
) -> None:
    results, first_refresh = post_after_401(emu, str(tmp_path / "creds.db"))
    check_one_refresh_after_401(emu, results, first_refresh)


@pytest.mark.slow
def test_without_the_lock_one_process_spends_a_refresh_token_twice(
    emu: XEmulator, tmp_path: Path
) -> None:
    """The control that shows the test above can fail: the bare refresh, at the same
    moment in two processes, sends the one refresh token twice and X refuses one."""
    results = run_two(emu, str(tmp_path / "creds.db"), 1, locked=False)
    used = refresh_tokens_used(emu)
    assert list(used.values()) == [2]
    assert sorted(len(r["errors"]) for r in results) == [0, 1]
    assert {e for r in results for e in r["errors"]} == {"GrantRefused"}


@pytest.mark.anyio
async def test_two_flows_of_one_process_refused_at_once_refresh_once(
    emu: XEmulator, tmp_path: Path
) -> None:
    """Within one process (AsyncClient, two posts at once) the second refresh waits for
    the first through the driver instead of blocking the event loop on the store's lock,
    then takes the stored tokens: one refresh, both posts sent."""
    target = str(tmp_path / "creds.db")
    app = emu.oauth_app(redirect_uri=REDIRECT, scopes=SCOPES)
    store_key = new_key()
    record = connect(emu, app, target, store_key)
    emu.expire_tokens()
    with open_store(target, store_key) as store:
        account = auth.load_account(store, KEY)
        async with AsyncClient(retry=FAST) as client:
            done = await asyncio.wait_for(
                asyncio.gather(
                    client.publish(Post(text="At once: one"), account),
                    client.publish(Post(text="At once: two"), account),
                ),
                timeout=30,
            )
        stored = store.get(KEY) or {}
    assert [d.status.value for (d,) in done] == ["sent", "sent"]
    assert dict(refresh_tokens_used(emu)) == {record["refresh_token"]: 1}
    assert account.secret("user_token") == stored["access_token"] != record["access_token"]
    assert isinstance(stored["expires_at"], float)  # the refresh's expiry, not unknown
    assert sorted(emu.post_texts()) == ["At once: one", "At once: two"]
    # Both flows were refused (each asked who it is twice): both went through the hook.
    paths = Counter(f"{r.method} {r.url.path}" for r in emu.requests)
    assert paths["GET /2/users/me"] == 4, paths


def test_a_linkedin_account_takes_the_tokens_another_refreshed_after_its_401(
    tmp_path: Path,
) -> None:
    """Two accounts loaded from one store (as two processes would) hold the same LinkedIn
    token; it expires at the emulator. The first is refused and refreshes under the lock;
    the second, refused too, reads the store under the lock and takes the new token
    instead of refreshing again."""
    scopes = ["w_organization_social", "r_organization_social", "rw_organization_admin"]
    linkedin = LinkedInEmulator()
    with linkedin.serve(), EncryptedStore(tmp_path / "creds.db", key=new_key()) as store:
        app = linkedin.oauth_app(redirect_uri=REDIRECT, scopes=scopes, refresh_tokens=True)
        start = auth.linkedin.start(app.client_id, REDIRECT, scopes, base_url=linkedin.base_url)
        creds = auth.linkedin.finish(start, consent(start.url), client_secret=app.client_secret)
        (page,) = auth.linkedin.organizations(creds)
        store.put("l", auth.record_of(creds, client_secret=app.client_secret, author=page))
        first = auth.load_account(store, "l", name="first")
        second = auth.load_account(store, "l", name="second")
        linkedin.expire_tokens()
        with Client(retry=FAST) as client:
            (one,) = client.publish(Post(text="First after expiry"), first)
            (two,) = client.publish(Post(text="Second after expiry"), second)
        stored = store.get("l") or {}
    assert (one.status.value, two.status.value) == ("sent", "sent")
    grants = [
        parse_qs(r.content.decode())["grant_type"][0]
        for r in linkedin.requests
        if r.url.path == "/oauth/v2/accessToken"
    ]
    assert grants == ["authorization_code", "refresh_token"]  # one refresh, not two
    assert first.secret("token") == second.secret("token") == stored["access_token"]
    assert stored["access_token"] != creds.access_token
