"""What the Forem tests share: the served emulator and a client with quick retries."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from brandkit import Client, RetryPolicy
from brandkit.testing.devto import DevtoEmulator

FAST = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=30, settle=0.05)
CREATE = r"/api/articles"
"""The create's path, for faults and counts."""


@pytest.fixture
def emu() -> Iterator[DevtoEmulator]:
    """A Forem served on 127.0.0.1, one write per second per key as dev.to allows."""
    emu = DevtoEmulator()
    with emu.serve():
        yield emu


@pytest.fixture
def client() -> Iterator[Client]:
    """brandkit's client with quick retries."""
    with Client(retry=FAST) as client:
        yield client
