"""A worker's look for failures left unscheduled ("not now" failed, its retry never
written) reads only those, a bounded batch per claim: it loaded every failed delivery of
the outbox at each start (and after each conflict), failures that mean "no" included, which
pile up for ever."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from brandkit import (
    Account,
    AsyncClient,
    DeliveryStatus,
    PlatformUnavailable,
    Post,
    RateLimited,
    Rejected,
)
from brandkit._hooks import NullGovernor
from brandkit.delivery import Delivery
from brandkit.errors import BrandkitError
from brandkit.outbox import Outbox, Worker
from brandkit.outbox import _worker as worker_module
from brandkit.outbox._store import Outbox as SQLiteOutbox
from tests.outbox._fakenet import NAME, OutboxNetEmulator

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def _failed(acct: Account, n: int, error: BrandkitError, attempts: int = 1) -> list[Delivery]:
    return [
        Delivery(
            account=acct.key,
            platform=NAME,
            post=Post(text=f"post {i}"),
            status=DeliveryStatus.FAILED,
            error=error,
            attempts=attempts,
            created_at=T0 - timedelta(hours=1),
            updated_at=T0 - timedelta(hours=1),
        )
        for i in range(n)
    ]


def _worker(box: Outbox, emu: OutboxNetEmulator, acct: Account) -> Worker:
    client = AsyncClient(
        outbox=box,
        http=httpx.AsyncClient(transport=emu.transport()),
        governor=NullGovernor(),
        clock=lambda: T0,
    )
    # A retry time far enough that nothing put back is claimed in the same pass.
    return Worker(box, [acct], client=client, clock=lambda: T0, backoff=7200, max_backoff=7200)


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many stored deliveries were read (every read of a row goes through `_load`)."""
    count = [0]
    real = SQLiteOutbox._load

    def counting(data: Any, row: Any = None) -> Delivery:
        count[0] += 1
        return real(data, row)

    monkeypatch.setattr(SQLiteOutbox, "_load", staticmethod(counting))
    return count


def test_failures_that_mean_no_are_not_read_by_the_sweep(
    outbox: Outbox, emu: OutboxNetEmulator, loads: list[int]
) -> None:
    acct, other = emu.account(name="a"), emu.account(name="b")
    outbox.save_many(_failed(acct, 1000, Rejected("no", platform=NAME)))
    # Not now, but its attempts are spent; and another worker's account's.
    outbox.save_many(_failed(acct, 5, PlatformUnavailable("down", platform=NAME), attempts=9))
    outbox.save_many(_failed(other, 5, RateLimited("slow", platform=NAME)))
    (stranded,) = _failed(acct, 1, PlatformUnavailable("down", platform=NAME))
    outbox.save(stranded)
    loads[0] = 0
    with _worker(outbox, emu, acct) as worker:
        assert worker.run_once() == []
        # Read by the sweep, then by its release: was 1012, every failed delivery.
        assert loads[0] <= 2
    back = outbox.get(stranded.id)
    assert back is not None and back.status is DeliveryStatus.PENDING
    assert outbox.counts()[DeliveryStatus.FAILED] == 1010
    assert emu.post_texts() == []


def test_many_stranded_failures_are_put_back_a_bounded_batch_per_claim(
    outbox: Outbox, emu: OutboxNetEmulator, loads: list[int]
) -> None:
    acct = emu.account()
    batch = getattr(worker_module, "_SWEEP_BATCH", 500)
    outbox.save_many(_failed(acct, 2 * batch + 7, RateLimited("slow", platform=NAME)))
    with _worker(outbox, emu, acct) as worker:
        for pending in (batch, 2 * batch, 2 * batch + 7, 2 * batch + 7):
            loads[0] = 0
            assert worker.run_once() == []
            assert loads[0] <= 2 * batch  # read by the sweep, then by its release
            assert outbox.counts()[DeliveryStatus.PENDING] == pending
    assert outbox.counts()[DeliveryStatus.FAILED] == 0
    assert outbox.next_due() == T0 + timedelta(seconds=7200) - timedelta(hours=1)
