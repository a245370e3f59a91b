"""Where a process cannot be asked whether it runs (Windows: ``os.kill(pid, 0)`` would end
it), a local owner's lease ends when it expires, as another machine's does."""

from __future__ import annotations

import os
import socket
import time

import pytest

from brandkit.outbox import Outbox


def test_without_a_liveness_check_a_local_lease_ends_when_it_expires(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Before, such an owner counted as alive for ever: a worker killed mid-send held its
    delivery, and every later post of its account, until someone edited the file."""
    owner = f"{socket.gethostname()}:{os.getpid() + 1}:deadbeef"
    with monkeypatch.context() as patched:
        patched.setattr(os, "name", "nt")
        expired = Outbox._lease_open(owner, time.time() - 1)
        running = Outbox._lease_open(owner, time.time() + 60)
    assert expired is True
    assert running is False
