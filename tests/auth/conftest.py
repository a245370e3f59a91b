"""Shared helpers for the connect-flow tests: a served emulator and the user's browser."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from brandkit.auth import EncryptedStore
from brandkit.auth import bluesky as bsky
from brandkit.auth.store import new_key
from brandkit.testing.bluesky import BlueskyEmulator
from brandkit.testing.mastodon import MastodonEmulator
from brandkit.testing.x import XEmulator

REDIRECT = "https://app.example/callback"
LOOPBACK = "http://127.0.0.1:8765/callback"
"""The redirect URI of brandkit's Bluesky loopback client in these tests."""


@pytest.fixture
def emu(request: pytest.FixtureRequest) -> Iterator[Any]:
    """The module's ``EMULATOR`` (an emulator class), served on 127.0.0.1, with the users
    its ``USERS`` names (Bluesky handles). A module that needs its emulator made otherwise
    defines its own ``emu``."""
    emulator = request.module.EMULATOR()
    with emulator.serve():
        for handle in getattr(request.module, "USERS", ()):
            emulator.add_user(handle)
        yield emulator


@pytest.fixture
def app(request: pytest.FixtureRequest, emu: Any) -> Any:
    """The emulator's OAuth app, its redirect URI `REDIRECT`, its scopes the module's
    ``SCOPES``."""
    return emu.oauth_app(redirect_uri=REDIRECT, scopes=request.module.SCOPES)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EncryptedStore]:
    """An encrypted credential store in a fresh file, with a new key; closed after."""
    s = EncryptedStore(tmp_path / "credentials.db", key=new_key())
    yield s
    s.close()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def consent(url: str) -> str:
    """What the user's browser does: open the authorization URL and come back to the
    redirect it answers with (the emulated user consents at once)."""
    with httpx.Client(timeout=10) as http:
        response = http.get(url, follow_redirects=False)
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(REDIRECT)
    return location


def bluesky_session(emu: BlueskyEmulator, handle: str = "brand.test") -> bsky.BlueskyCredentials:
    """``handle``'s OAuth session on ``emu`` through brandkit's loopback client: the flow's
    start, the user's consent (at once, as the emulated user gives it) and the exchange."""
    start = bsky.start(
        handle, bsky.loopback_client(LOOPBACK), plc_url=emu.base_url, resolver=emu.base_url
    )
    with httpx.Client(timeout=10) as http:
        location = http.get(start.url, follow_redirects=False).headers["location"]
    return bsky.finish(start, location, clock=emu.clock.time)


def leaks(texts: list[str], secrets: list[str]) -> list[str]:
    """The secrets found in any of ``texts``."""
    return [s for s in secrets if any(s in t for t in texts)]


X_SCOPES = ["tweet.read", "tweet.write", "users.read", "offline.access"]


@pytest.fixture
def x_emu() -> Iterator[XEmulator]:
    """An X emulator served on 127.0.0.1."""
    emu = XEmulator()
    with emu.serve():
        yield emu


@pytest.fixture
def masto() -> Iterator[MastodonEmulator]:
    """A Mastodon emulator served on 127.0.0.1."""
    emu = MastodonEmulator()
    with emu.serve():
        yield emu


def forget_finished() -> None:
    """Forget the authorizations this process finished (`brandkit.auth._core.redeem`), as
    another process knows nothing of them: a code replayed then reaches the platform,
    whose refusal the tests read."""
    from brandkit.auth import _core

    with _core._spent_lock:
        _core._spent.clear()
