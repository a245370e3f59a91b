"""What the Ghost tests share: the served emulator and a client with quick retries."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from brandkit import Client, RetryPolicy
from brandkit.testing.ghost import GhostEmulator

FAST = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=30, settle=0.05)
CREATE = r"/ghost/api/admin/posts/"
# Ghost's 401 for a token whose exp has passed on its clock (UnauthorizedError, INVALID_JWT).
EXPIRED_REFUSAL = {
    "errors": [
        {
            "message": "Invalid token: jwt expired",
            "context": None,
            "type": "UnauthorizedError",
            "details": None,
            "property": None,
            "help": None,
            "code": "INVALID_JWT",
            "id": "x",
            "ghostErrorCode": None,
        }
    ]
}
"""The create's path, for faults and counts."""


@pytest.fixture
def emu() -> Iterator[GhostEmulator]:
    """A Ghost site served on 127.0.0.1."""
    emu = GhostEmulator()
    with emu.serve():
        yield emu


@pytest.fixture
def client() -> Iterator[Client]:
    """brandkit's client with quick retries."""
    with Client(retry=FAST) as client:
        yield client
