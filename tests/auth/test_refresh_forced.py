"""A forced refresh (``brandkit accounts refresh --force``, `refresh_due(force=True)`) of an
account that another process refreshed since this one read it takes the stored tokens and
spends nothing, also on the platforms without refresh tokens (Threads, Instagram: the
access token itself is refreshed, and Meta refuses to refresh one younger than a day).
Threads emulator over a socket, a real encrypted SQLite store."""

from __future__ import annotations

import time
from datetime import timedelta

from brandkit import auth
from brandkit.auth import EncryptedStore, refresh_locked
from brandkit.auth._records import refresh_record
from brandkit.testing.threads import ThreadsEmulator

from .conftest import REDIRECT, consent

DAY = 86_400.0
SCOPES = ["threads_basic", "threads_content_publish"]


def test_a_forced_refresh_after_another_processs_takes_its_token(store: EncryptedStore) -> None:
    emu = ThreadsEmulator()
    with emu.serve():
        app = emu.oauth_app(redirect_uri=REDIRECT, scopes=SCOPES)
        start = auth.threads.start(app.client_id, REDIRECT, SCOPES, base_url=emu.base_url)
        creds = auth.threads.finish(start, consent(start.url), client_secret=app.client_secret)
        record = auth.record_of(creds)
        record["issued_at"] = time.time() - 2 * DAY
        store.put("t", record)
        emu.clock.advance(timedelta(days=2))

        # Two `brandkit accounts refresh --force` at once: both read the record, one
        # refreshes first; the other then holds the record it read before.
        read_before = store.get("t")
        assert read_before is not None
        assert auth.refresh_due(store, force=True) == {"t": "refreshed"}
        stored = store.get("t")
        assert stored is not None and stored["access_token"] != record["access_token"]

        calls: list[str] = []

        def refresh(r: dict[str, object]) -> dict[str, object]:
            calls.append("refresh")
            return refresh_record(r)

        got = refresh_locked(store, "t", refresh, had=read_before, force=True)
        assert calls == []  # Meta would refuse the day-young token: nothing is sent
        assert got == stored
        assert store.get("t") == stored


def test_a_caller_record_without_an_access_token_is_compared_by_its_refresh_token(
    store: EncryptedStore,
) -> None:
    """``had`` holding only the refresh token says nothing about the access token: the
    refresh goes ahead when the refresh token is still the stored one."""
    record = {
        "platform": "x",
        "access_token": "AT-1",
        "refresh_token": "RT-1",
        "expires_at": time.time() - 1,
        "scopes": ["tweet.read"],
        "client_id": "app",
    }
    store.put("acme-x", record)
    calls: list[str] = []

    def refresh(r: dict[str, object]) -> dict[str, object]:
        calls.append("refresh")
        return {**r, "access_token": "AT-2", "refresh_token": "RT-2"}

    got = refresh_locked(store, "acme-x", refresh, had={"refresh_token": "RT-1"}, force=True)
    assert calls == ["refresh"]
    assert got["access_token"] == "AT-2"
