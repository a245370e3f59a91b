"""A token answer's ``expires_in`` that no clock holds (``NaN``, ``Infinity``, ``1e400``,
``1e300``, zero or negative: JSON parsers take them all) gives credentials without a known
expiry, not an ``expires_at`` of NaN or infinity that is never due and that ``brandkit
accounts list`` cannot print. The answer itself is kept: it may hold the only copy of a
rotated refresh token. A fixed answer from a server on 127.0.0.1; a real encrypted store."""

from __future__ import annotations

import contextlib
import io
import math
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from brandkit import auth
from brandkit.auth import EncryptedStore, InstagramCredentials, ThreadsCredentials
from brandkit.auth.store import new_key
from brandkit.auth.x import XCredentials
from brandkit.cli import main

from ._servers import Trickle

ODD = ["NaN", "Infinity", "-Infinity", "1e400", "1e300", "0", "-5"]


def answer(expires_in: str) -> bytes:
    return (
        '{"token_type": "bearer", "access_token": "AT-new", "refresh_token": "RT-new", '
        f'"expires_in": {expires_in}}}'
    ).encode()


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch) -> str:
    value = new_key()
    monkeypatch.setenv("BRANDKIT_STORE_KEY", value)
    return value


@contextlib.contextmanager
def serve(body: bytes) -> Iterator[str]:
    server = Trickle(body)
    try:
        yield server.url
    finally:
        server.close()


@pytest.mark.parametrize("expires_in", ODD)
def test_x_refresh_with_a_lifetime_no_clock_holds(expires_in: str) -> None:
    with serve(answer(expires_in)) as url:
        old = XCredentials(
            access_token=SecretStr("AT-old"),
            refresh_token=SecretStr("RT-old"),
            expires_at=None,
            scopes=("tweet.read", "offline.access"),
            client_id="app",
            base_url=url,
        )
        new = auth.x.refresh(old)
        assert new.expires_at is None
        assert new.refresh_token is not None
        assert new.refresh_token.get_secret_value() == "RT-new"


@pytest.mark.parametrize("expires_in", ["NaN", "Infinity", "1e300"])
def test_threads_refresh_with_a_lifetime_no_clock_holds(expires_in: str) -> None:
    with serve(answer(expires_in)) as url:
        new = auth.threads.refresh(meta_creds(ThreadsCredentials, url, long_lived=True))
        assert new.expires_at is None or math.isfinite(new.expires_at)
        assert new.access_token.get_secret_value() == "AT-new"


def test_accounts_list_prints_a_record_stored_with_an_infinite_expiry(
    tmp_path: Path, key: str
) -> None:
    """Records stored before the lifetime was checked may hold infinity or NaN."""
    path = tmp_path / "credentials.db"
    store = EncryptedStore(path)
    try:
        for name, at in (("inf", math.inf), ("nan", math.nan), ("far", 1e300)):
            store.put(
                f"x-{name}",
                {
                    "platform": "x",
                    "access_token": "AT-secret-1",
                    "refresh_token": "RT-secret-1",
                    "expires_at": at,
                    "scopes": ["tweet.read"],
                    "client_id": "app",
                },
            )
    finally:
        store.close()
    out = io.StringIO()
    assert main(["accounts", "list", "--store", str(path)], out) == 0
    text = out.getvalue()
    assert "x-inf" in text and "x-nan" in text and "x-far" in text
    assert "secret-1" not in text


def meta_creds(cls: type[ThreadsCredentials], url: str, *, long_lived: bool) -> ThreadsCredentials:
    return cls(
        access_token=SecretStr("AT-old"),
        user_id="1",
        expires_at=1.0,
        issued_at=0.0,
        long_lived=long_lived,
        scopes=("threads_basic",),
        client_id="app",
        base_url=url,
    )


@pytest.mark.parametrize("expires_in", [None, "NaN", "0"])
def test_a_meta_long_lived_token_without_a_lifetime_gets_the_documented_60_days(
    tmp_path: Path, key: str, expires_in: str | None
) -> None:
    """Without an expiry, a Threads or Instagram token would never be due for a refresh
    ahead and would die unrefreshed after its 60 days."""
    body = (
        b'{"access_token": "AT-new", "token_type": "bearer"}'
        if expires_in is None
        else answer(expires_in)
    )
    now = 1_800_000_000.0
    with serve(body) as url:
        refreshed = auth.threads.refresh(meta_creds(ThreadsCredentials, url, long_lived=True))
        exchanged = auth.instagram.exchange(
            meta_creds(InstagramCredentials, url, long_lived=False),
            client_secret="app-secret",
            clock=lambda: now,
        )
    assert refreshed.expires_at is not None
    assert refreshed.expires_at > refreshed.issued_at + 59 * 86_400
    assert exchanged.expires_at == now + 60 * 86_400
    assert exchanged.long_lived
    # Stored, its expiry is known: refresh_due refreshes it a week before it ends.
    store = EncryptedStore(tmp_path / "credentials.db")
    try:
        store.put("ig", auth.record_of(exchanged))
        record = store.get("ig") or {}
    finally:
        store.close()
    expiry = auth.expiry_of(record)
    assert expiry.refreshable and expiry.expires_at == now + 60 * 86_400
