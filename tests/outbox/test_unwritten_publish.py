"""`Client.publish` whose delivery the outbox refuses to store (its file locked by another
process) raises `OutboxConflict`: nothing was stored nor sent, and no worker knows the post.
Before the fix it returned a ``pending`` delivery as if queued, and the post was lost."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from brandkit import AsyncClient, Client, OutboxConflict, Post
from brandkit._hooks import NullGovernor
from brandkit.outbox import Outbox
from tests.outbox._fakenet import OutboxNetEmulator


@pytest.fixture
def box(tmp_path: Path) -> Iterator[Outbox]:
    """An outbox whose file's write lock another process holds (taken once it is open)."""
    path = tmp_path / "brandkit.db"
    outbox = Outbox(path, timeout=0.2)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield outbox
    finally:
        other.execute("ROLLBACK")
        other.close()
        outbox.close()


def test_publish_to_a_locked_outbox_raises(box: Outbox, emu: OutboxNetEmulator) -> None:
    acct = emu.account()
    http = httpx.Client(transport=emu.transport())
    with (
        Client(outbox=box, http=http, governor=NullGovernor()) as client,
        pytest.raises(OutboxConflict, match="locked"),
    ):
        client.publish(Post(text="launch day!"), acct)
    assert box.list() == []
    assert emu.post_texts() == []


def test_async_publish_to_a_locked_outbox_raises(box: Outbox, emu: OutboxNetEmulator) -> None:
    acct = emu.account()

    async def go() -> None:
        http = httpx.AsyncClient(transport=emu.transport())
        async with AsyncClient(outbox=box, http=http, governor=NullGovernor()) as client:
            await client.publish(Post(text="launch day!"), acct)

    with pytest.raises(OutboxConflict, match="locked"):
        asyncio.run(go())
    assert box.list() == []
    assert emu.post_texts() == []


def test_publish_to_several_accounts_of_a_locked_outbox_raises_too(
    box: Outbox, emu: OutboxNetEmulator
) -> None:
    """As it did before: the first write of all the deliveries is refused."""
    a, b = emu.account(name="a"), emu.account(name="b")
    http = httpx.Client(transport=emu.transport())
    with (
        Client(outbox=box, http=http, governor=NullGovernor()) as client,
        pytest.raises(OutboxConflict),
    ):
        client.publish(Post(text="launch day!"), [a, b])
    assert emu.post_texts() == []
