"""PostgreSQL's side of tests/outbox/test_unwritten_publish.py: a publish whose delivery the
outbox cannot store (the table locked by another session past ``timeout``) raises
`OutboxConflict` instead of returning a ``pending`` delivery nobody stored."""

from __future__ import annotations

import httpx
import psycopg
import pytest

from brandkit import Client, OutboxConflict, Post
from brandkit._hooks import NullGovernor
from brandkit.outbox import Outbox
from tests.outbox._fakenet import OutboxNetEmulator


def test_publish_to_a_locked_outbox_raises(pg: str, emu: OutboxNetEmulator) -> None:
    acct = emu.account()
    with Outbox(pg, timeout=0.3) as box:
        with psycopg.connect(pg) as other:
            other.execute("LOCK TABLE brandkit_outbox_deliveries IN EXCLUSIVE MODE")
            http = httpx.Client(transport=emu.transport())
            with (
                Client(outbox=box, http=http, governor=NullGovernor()) as client,
                pytest.raises(OutboxConflict),
            ):
                client.publish(Post(text="launch day!"), acct)
        assert box.list() == []
    assert emu.post_texts() == []
