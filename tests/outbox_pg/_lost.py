"""The server dropping an outbox's session while a call is under way (a restart or failover
in the middle of a statement), for the tests of what such a call does."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg

from brandkit.outbox._postgres import PostgresOutbox


def lost_mid_call(box: PostgresOutbox, url: str, delivery_id: str, call: Callable[[], Any]) -> Any:
    """Run ``call`` while another session holds ``delivery_id``'s row, end ``box``'s session
    once ``call`` waits for that row, and return what ``call`` raised (``None``: nothing).

    Sessions the server ended while they were idle are opened anew before use, so only a
    session lost during a statement shows what a lost call does."""
    raised: list[BaseException | None] = []
    pid = box._conn.info.backend_pid

    def run() -> None:
        try:
            call()
        except BaseException as exc:
            raised.append(exc)
        else:
            raised.append(None)

    with psycopg.connect(url) as holder, psycopg.connect(url, autocommit=True) as admin:
        holder.execute(
            f"SELECT 1 FROM {box._t['deliveries']} WHERE id = %s FOR UPDATE",
            (delivery_id,),
        )
        thread = threading.Thread(target=run)
        thread.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            row = admin.execute(
                "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", (pid,)
            ).fetchone()
            if row is not None and row[0] == "Lock":
                break
            time.sleep(0.01)
        else:
            raise AssertionError("the call never waited for the row: the test proves nothing")
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        thread.join(30)
        holder.rollback()
    assert raised, "the call did not return"
    return raised[0]
