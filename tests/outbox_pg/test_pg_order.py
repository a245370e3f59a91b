"""An account's posts keep their order when one of them must wait: the worker holds the rest
of the account back with it, and the PostgreSQL claim never takes a later post of an account
past an earlier one waiting for its retry time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from brandkit import AsyncClient, DeliveryStatus, Post, RetryPolicy
from brandkit._hooks import NullGovernor
from brandkit.outbox import Outbox, Worker
from tests.outbox._fakenet import OutboxNetEmulator
from tests.outbox.conftest import db  # noqa: F401 - fixture: SQLite and PostgreSQL

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def test_a_post_waiting_to_retry_holds_its_accounts_later_posts(
    pg: str, emu: OutboxNetEmulator
) -> None:
    """Released with a retry time, the first post holds the account's second post back
    (another account's post is not held); at the retry time both come, in order."""
    a, b = emu.account(name="a"), emu.account(name="b")
    with Outbox(pg) as box:
        first, second = box.add(Post(text="1"), a) + box.add(Post(text="2"), a)
        (other,) = box.add(Post(text="3"), b)
        taken = box.claim(T0)
        assert [d.id for d in taken] == [first.id, second.id, other.id]
        box.release(first.id, retry_at=T0 + timedelta(minutes=5))
        box.release(second.id)
        box.release(other.id)
        assert [d.id for d in box.due(T0)] == [other.id]
        assert [d.id for d in box.claim(T0)] == [other.id]
        box.release(other.id)
        later = T0 + timedelta(minutes=5)
        assert [d.id for d in box.claim(later, accounts=[a.key])] == [first.id, second.id]


def test_an_outage_defers_the_rest_of_the_account(db: Path | str, emu: OutboxNetEmulator) -> None:  # noqa: F811
    """A post that fails with a 5xx (after the client's own retries) is retried later, and
    the account's next post waits with it rather than going out first."""
    clock = [T0]
    acct = emu.account()
    with Outbox(db) as box:
        _, second = box.add(Post(text="first"), acct) + box.add(Post(text="second"), acct)
        emu.fault(method="POST", path="/posts", status=503, times=2)
        client = AsyncClient(
            outbox=box,
            http=httpx.AsyncClient(transport=emu.transport()),
            governor=NullGovernor(),
            retry=RetryPolicy(attempts=2, initial=0.0),
            accounts=[acct],
            clock=lambda: clock[0],
        )
        with Worker(box, [acct], client=client, clock=lambda: clock[0], backoff=30) as worker:
            worker.run_once()
            assert emu.post_texts() == []
            assert box.get(second.id).status is DeliveryStatus.PENDING  # type: ignore[union-attr]
            clock[0] = T0 + timedelta(seconds=31)
            worker.run_once()
    assert emu.post_texts() == ["first", "second"]
