"""Two processes sharing one encrypted store refresh one X token at the same moment, 50
times each, against the X emulator over a socket (issue 15): the emulator sees each
refresh token used once, and both processes can post afterwards."""

from __future__ import annotations

import multiprocessing
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

from brandkit import auth
from brandkit.auth.store import EncryptedStore, new_key
from brandkit.testing.x import OAuthApp, XEmulator

from ._store_worker import KEY, refresher
from .conftest import REDIRECT, consent

SCOPES = ["tweet.read", "tweet.write", "users.read", "offline.access"]
ROUNDS = 50


@pytest.fixture
def emu() -> Iterator[XEmulator]:
    emulator = XEmulator()
    with emulator.serve():
        yield emulator


def connect(emu: XEmulator, app: OAuthApp, db: Path, store_key: str) -> None:
    start = auth.x.start(app.client_id, REDIRECT, SCOPES, base_url=emu.base_url)
    creds = auth.x.finish(start, consent(start.url), client_secret=app.client_secret)
    with EncryptedStore(db, key=store_key) as store:
        store.put(KEY, creds.to_dict())


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


def run_two(emu: XEmulator, tmp_path: Path, rounds: int, locked: bool) -> list[dict[str, Any]]:
    app = emu.oauth_app(redirect_uri=REDIRECT, scopes=SCOPES)
    assert app.client_secret is not None
    db = tmp_path / "creds.db"
    store_key = new_key()
    connect(emu, app, db, store_key)
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager:
        barrier = manager.Barrier(2)
        with ProcessPoolExecutor(max_workers=2, mp_context=ctx) as pool:
            futures = [
                pool.submit(
                    refresher, str(db), store_key, app.client_secret, rounds, barrier, name, locked
                )
                for name in ("one", "two")
            ]
            return [f.result(timeout=240) for f in futures]


@pytest.mark.slow
def test_two_processes_refresh_one_token_and_never_spend_it_twice(
    emu: XEmulator, tmp_path: Path
) -> None:
    results = run_two(emu, tmp_path, ROUNDS, locked=True)

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


@pytest.mark.slow
def test_without_the_lock_one_process_spends_a_refresh_token_twice(
    emu: XEmulator, tmp_path: Path
) -> None:
    """The control that shows the test above can fail: the bare refresh, at the same
    moment in two processes, sends the one refresh token twice and X refuses one."""
    results = run_two(emu, tmp_path, 1, locked=False)
    used = refresh_tokens_used(emu)
    assert list(used.values()) == [2]
    assert sorted(len(r["errors"]) for r in results) == [0, 1]
    assert {e for r in results for e in r["errors"]} == {"GrantRefused"}
