"""``timeout=0`` on PostgreSQL: no wait for a locked row, never an endless one."""

from __future__ import annotations

import threading

import psycopg

from brandkit import Post
from brandkit.errors import OutboxConflict
from brandkit.outbox import Outbox
from tests.outbox._fakenet import OutboxNetEmulator


def test_timeout_zero_does_not_wait_forever_for_a_locked_row(
    pg: str, emu: OutboxNetEmulator
) -> None:
    """PostgreSQL reads ``lock_timeout = 0`` as "no limit": a timeout of 0 s (or under a
    millisecond) must still end in an OutboxConflict, at once."""
    for timeout in (0, 0.0004):
        with Outbox(pg, timeout=timeout) as box:
            (d,) = box.add(Post(text="x"), emu.account())
            outcome: list[object] = []

            def cancel(
                box: Outbox = box, delivery_id: str = d.id, outcome: list[object] = outcome
            ) -> None:
                try:
                    box.cancel(delivery_id)
                    outcome.append(None)
                except BaseException as exc:
                    outcome.append(exc)

            with psycopg.connect(pg) as other:
                other.execute(
                    "SELECT 1 FROM brandkit_outbox_deliveries WHERE id = %s FOR UPDATE", (d.id,)
                )
                thread = threading.Thread(target=cancel)
                thread.start()
                thread.join(5)
                hung = thread.is_alive()
            # The lock is gone with the other session: a hung cancel ends now.
            thread.join(5)
            assert not hung, f"timeout={timeout}: cancel waited for the lock without limit"
            assert len(outcome) == 1
            assert isinstance(outcome[0], OutboxConflict)
