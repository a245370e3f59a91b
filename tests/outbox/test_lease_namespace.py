"""A lease owner of this host name but another process namespace (a container sharing
the host's name: host networking) is not judged by this namespace's process ids."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from brandkit import DeliveryStatus, Post
from brandkit.outbox import Outbox
from tests.outbox._fakenet import OutboxNetEmulator

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def _exited_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _left_sending(db: Path | str, emu: OutboxNetEmulator, owner: str) -> str:
    """A delivery ``owner`` is sending, its lease 1.5 s long (its outbox then closed, so
    that nothing renews it)."""
    box = Outbox(db, lease=1.5)
    box.owner = owner
    (d,) = box.add(Post(text="x"), emu.account())
    (held,) = box.claim(T0)
    held.status = DeliveryStatus.SENDING
    held.attempts = 1
    held.keys = ["k"]
    box.save(held)
    box.close()
    return d.id


def test_a_publisher_in_another_namespace_keeps_its_lease_until_it_ends(
    db: Path | str, emu: OutboxNetEmulator
) -> None:
    """Its process id means nothing here: that no process here has it must not free its
    delivery at once (the other container may be sending it right now); the lease ends
    when it expires, as another machine's does."""
    # The fingerprint part (before the '.') is not this namespace's.
    owner = f"{socket.gethostname()}:{_exited_pid()}:0badf00d.cafe1234"
    delivery_id = _left_sending(db, emu, owner)
    with Outbox(db) as box:
        assert box.get(delivery_id).status is DeliveryStatus.SENDING  # type: ignore[union-attr]
        assert box.claim(T0) == []
        time.sleep(1.8)
        (taken,) = box.claim(T0)
    assert taken.id == delivery_id
    assert taken.status is DeliveryStatus.UNKNOWN


def test_a_dead_publisher_of_this_namespace_is_taken_over_at_once(
    db: Path | str, emu: OutboxNetEmulator
) -> None:
    """An owner written by an outbox of this namespace whose process has exited: its
    delivery is taken over at once (reconciled as unknown), lease or not."""
    with Outbox(db) as probe:
        here = probe.owner.rsplit(":", 1)[1].partition(".")[0]
    owner = f"{socket.gethostname()}:{_exited_pid()}:{here}.cafe1234"
    delivery_id = _left_sending(db, emu, owner)
    with Outbox(db, lease=600) as box:
        stored = box.get(delivery_id)
        assert stored is not None
        assert stored.status is DeliveryStatus.UNKNOWN  # recovered when the outbox opened
        (taken,) = box.claim(T0)
    assert taken.id == delivery_id
