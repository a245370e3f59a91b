"""Shared helpers for the connect-flow tests: a served emulator and the user's browser."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from brandkit.auth import EncryptedStore
from brandkit.auth.store import new_key

REDIRECT = "https://app.example/callback"


@pytest.fixture
def emu(request: pytest.FixtureRequest) -> Iterator[Any]:
    """The module's ``EMULATOR`` (an emulator class), served on 127.0.0.1. A module that
    needs its emulator made otherwise defines its own ``emu``."""
    emulator = request.module.EMULATOR()
    with emulator.serve():
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


def leaks(texts: list[str], secrets: list[str]) -> list[str]:
    """The secrets found in any of ``texts``."""
    return [s for s in secrets if any(s in t for t in texts)]
