"""A rate limit whose reset is more than a day away is waited for a day at a time (as
docs/outbox.md says): the worker schedules the delivery at most a day ahead, looks again
then, and the governor, still holding the account, refuses again without sending anything;
the post goes out once the hold ends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from brandkit import AsyncClient, DeliveryStatus, Post
from brandkit.governor import Governor
from brandkit.outbox import Outbox, Worker
from brandkit.platforms._base import RatePolicy
from tests.outbox._fakenet import OutboxNetAdapter, OutboxNetEmulator

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def test_a_three_day_hold_is_waited_a_day_at_a_time_without_sending(
    pg: str, emu: OutboxNetEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One post per three days, as a plugin adapter may declare.
    monkeypatch.setattr(
        OutboxNetAdapter, "rate_policies", (RatePolicy("post", 1, 3 * DAY.total_seconds()),)
    )
    now = [T0]
    with Outbox(pg, clock=lambda: now[0]) as box, emu.serve():
        acct = emu.account()
        box.add(Post(text="first"), acct)
        box.add(Post(text="second"), acct)
        client = AsyncClient(
            outbox=box,
            governor=Governor(clock=lambda: now[0].timestamp()),
            clock=lambda: now[0],
        )
        with Worker(box, [acct], client=client, clock=lambda: now[0]) as worker:
            worker.run_once()
            assert emu.post_texts() == ["first"]
            assert box.next_due() == T0 + DAY  # not the reset, three days ahead
            sent = len(emu.requests)
            for day in (1, 2):
                now[0] = T0 + day * DAY
                (waiting,) = worker.run_once()
                assert waiting.status is DeliveryStatus.PENDING
                assert len(emu.requests) == sent  # refused by the governor: nothing sent
                assert box.next_due() == now[0] + DAY
            now[0] = T0 + 3 * DAY + timedelta(seconds=5)
            (done,) = worker.run_once()
            assert done.status is DeliveryStatus.SENT
    assert emu.post_texts() == ["first", "second"]
