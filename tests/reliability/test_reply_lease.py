"""`Client.reply` / `AsyncClient.reply` whose attempt cannot start (the rate limit resets in an
hour) leave the answer ``pending`` in the outbox with no lease and its retry time, for a worker.
Before the fix the publishing process kept the lease: no worker (nor `outbox retry`) could
take the answer while that process ran."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from brandkit import Account, AsyncClient, Client, DeliveryStatus, Outbox, Post, RateLimited
from brandkit._hooks import BucketKey, NullGovernor
from brandkit.outbox import Worker
from brandkit.platforms._base import RatePolicy
from tests.inbox.conftest import NAME, ChatServer

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class Limited(NullGovernor):
    def __init__(self) -> None:
        self.on = True

    def acquire(self, key: BucketKey, cost: int, policies: Sequence[RatePolicy]) -> float:
        return 3600.0 if self.on and key.bucket == "post" else 0.0


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_an_answer_refused_by_the_rate_limit_is_left_to_a_worker(tmp_path: Path, kind: str) -> None:
    server, now = ChatServer(), [T0]
    account = Account(NAME, name="brand", base_url="https://chat.example")
    server.say("fan", "price?")
    governor = Limited()
    transport = httpx.MockTransport(server.handler)

    def clock() -> datetime:
        return now[0]

    with Outbox(tmp_path / "o.db") as outbox, Outbox(tmp_path / "o.db") as other:
        with Client(http=httpx.Client(transport=transport), accounts=[account]) as reader:
            (message,) = reader.inbox(account).messages
        if kind == "sync":
            with Client(
                http=httpx.Client(transport=transport),
                outbox=outbox,
                governor=governor,
                accounts=[account],
                clock=clock,
            ) as client:
                answer = client.reply(message, Post(text="Ten euros."))
        else:

            async def go() -> Any:
                async with AsyncClient(
                    http=httpx.AsyncClient(transport=transport),
                    outbox=outbox,
                    governor=governor,
                    accounts=[account],
                    clock=clock,
                ) as client:
                    return await client.reply(message, Post(text="Ten euros."))

            answer = asyncio.run(go())
        assert answer.status is DeliveryStatus.PENDING
        assert isinstance(answer.error, RateLimited)
        assert other.claim(T0 + timedelta(minutes=30)) == []  # waits for the reset
        now[0] = T0 + timedelta(hours=2)
        worker_client = Client(
            http=httpx.Client(transport=transport),
            outbox=other,
            governor=NullGovernor(),
            clock=clock,
        )
        with Worker(other, [account], client=worker_client, clock=clock) as worker:
            (done,) = worker.run_once()
        assert done.id == answer.id and done.status is DeliveryStatus.SENT
    assert [p["text"] for p in server.posts] == ["Ten euros."]
