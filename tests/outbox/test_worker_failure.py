"""An outbox failure while other accounts are being served ends the run only after their
attempts have ended and every lease was given back (as run_forever's docstring says)."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from brandkit import AsyncClient, DeliveryStatus, Post, RetryPolicy
from brandkit._hooks import NullGovernor
from brandkit.errors import BrandkitError
from brandkit.outbox import Outbox, Worker
from tests.outbox._fakenet import OutboxNetEmulator

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
FAST = RetryPolicy(attempts=3, initial=0.001, max_backoff=0.002, max_wait=1.0)


class _SlowCreates(httpx.AsyncBaseTransport):
    """Every create takes ``delay`` seconds."""

    def __init__(self, emu: OutboxNetEmulator, delay: float) -> None:
        self.inner, self.delay = emu.transport(), delay

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            await asyncio.sleep(self.delay)
        return await self.inner.handle_async_request(request)


async def _no_sleep(seconds: float) -> None:
    """Skip the driver's waits."""


def test_a_failing_claim_lets_the_attempts_under_way_finish(
    db: Path | str, emu: OutboxNetEmulator
) -> None:
    """The second claim fails (a disk full, a broken database) while the first claim's
    post is on its way: run_forever raises that failure once the post's attempt has ended
    and been recorded, not by cutting it off and giving its lease back mid-send."""
    acct = emu.account()
    box = Outbox(db, clock=lambda: T0)
    (d,) = box.add(Post(text="on its way"), acct)
    real_claim = box.claim
    calls: list[int] = []

    def claim(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) > 1:
            raise BrandkitError("outbox 'brandkit.db': database or disk is full")
        return real_claim(*args, **kwargs)

    box.claim = claim  # type: ignore[method-assign]
    client = AsyncClient(
        outbox=box,
        http=httpx.AsyncClient(transport=_SlowCreates(emu, 0.5)),
        governor=NullGovernor(),
        retry=FAST,
        sleep=_no_sleep,
        clock=lambda: T0,
    )
    worker = Worker(box, [acct], client=client, clock=lambda: T0, concurrency=2)
    raised: list[BaseException] = []

    def run() -> None:
        try:
            worker.run_forever(0.01, threading.Event())
        except BaseException as exc:
            raised.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(15)
    assert not thread.is_alive()
    try:
        assert len(raised) == 1
        assert isinstance(raised[0], BrandkitError)
        assert "disk is full" in str(raised[0])
        # Raised after the attempt under way ended: the post is out, and recorded so.
        stored = box.get(d.id)
        assert stored is not None
        assert stored.status is DeliveryStatus.SENT
        assert emu.post_texts() == ["on its way"]
    finally:
        worker.close()
        box.close()
