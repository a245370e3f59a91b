"""Fixtures for the Bluesky tests: emulators (in-process and served) and a quiet governor."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from brandkit._hooks import NullGovernor
from brandkit.testing.bluesky import BlueskyEmulator


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def emu() -> BlueskyEmulator:
    """A fresh emulator without rate limits (as the PDS ships)."""
    return BlueskyEmulator()


@pytest.fixture
def served(emu: BlueskyEmulator) -> Iterator[BlueskyEmulator]:
    """The emulator served on 127.0.0.1."""
    with emu.serve():
        yield emu


@pytest.fixture
def null_governor() -> NullGovernor:
    """A governor that only honours 429 answers (to see the platform's own refusals)."""
    return NullGovernor()
