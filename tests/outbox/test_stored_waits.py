"""A stored rate limit's wait or reset (a hand edit, another tool, a governor's long window)
is read no longer than brandkit waits for a server (24 h): a wait of 1e300 s crashed the
worker with OverflowError and a reset in year 9999 parked the delivery for ever, silently."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from brandkit import AsyncClient, DeliveryStatus, Post, RateLimited
from brandkit._hooks import NullGovernor
from brandkit.delivery import Delivery
from brandkit.governor._parse import DEFAULT_MAX_WAIT
from brandkit.outbox import Outbox, Worker
from tests.outbox._fakenet import OutboxNetEmulator
from tests.outbox.test_damaged_rows import _damage

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
DAY = timedelta(seconds=DEFAULT_MAX_WAIT)


class _BrokenAsync(AsyncClient):
    """A client whose attempts break off before anything is sent."""

    async def _deliver(self, delivery: Any, account: Any = None) -> Any:
        raise RuntimeError("the attempt broke off")


def _store_limit(db: Path | str, box: Outbox, d: Delivery, status: str, **error: Any) -> None:
    raw = json.loads(box._data_json(d))
    raw["error"] = {"type": "RateLimited", "message": "slow down", "platform": "outboxnet", **error}
    raw["status"] = status
    raw["attempts"] = 1
    _damage(db, d.id, json.dumps(raw), status=status)


def test_a_huge_stored_wait_is_read_as_a_day_and_says_so() -> None:
    data = Delivery(
        id="d1", account="a", platform="outboxnet", post=Post(text="x"), created_at=T0
    ).to_dict()
    data["error"] = {"type": "RateLimited", "message": "slow down", "retry_after": 1e300}
    err = Delivery.from_dict(data).error
    assert isinstance(err, RateLimited)
    assert err.retry_after == DEFAULT_MAX_WAIT
    assert "cut" in str(err) and "1e+300" in str(err)
    data["error"] = {"type": "PlatformUnavailable", "message": "down", "retry_after": 1e300}
    assert Delivery.from_dict(data).error.retry_after == DEFAULT_MAX_WAIT  # type: ignore[union-attr]
    # What a server may say is read as it was, without a note.
    data["error"] = {"type": "RateLimited", "message": "slow down", "retry_after": 600.0}
    err = Delivery.from_dict(data).error
    assert isinstance(err, RateLimited) and err.retry_after == 600.0
    assert str(err) == "slow down"


def test_an_attempt_that_breaks_off_over_a_huge_stored_wait_does_not_crash_the_worker(
    db: Path | str, emu: OutboxNetEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    acct = emu.account()
    with Outbox(db, clock=lambda: T0) as box:
        (d,) = box.add(Post(text="x"), acct)
        _store_limit(db, box, d, "pending", retry_after=1e300)
        client = _BrokenAsync(
            outbox=box,
            http=httpx.AsyncClient(transport=emu.transport()),
            governor=NullGovernor(),
            clock=lambda: T0,
        )
        with Worker(box, [acct], client=client, clock=lambda: T0) as worker:
            worker.run_once()  # raised OverflowError: the whole run ended
        assert box.next_due() == T0 + DAY
    assert "cut to 86400 s" in caplog.text


def test_a_stranded_delivery_whose_stored_reset_is_in_year_9999_is_tried_within_a_day(
    db: Path | str, emu: OutboxNetEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    acct = emu.account()
    now = [T0]
    caplog.set_level(logging.INFO, logger="brandkit.outbox")
    with Outbox(db, clock=lambda: now[0]) as box:
        (d,) = box.add(Post(text="x"), acct)
        _store_limit(db, box, d, "failed", reset_at="9999-12-31T00:00:00+00:00")
        client = AsyncClient(
            outbox=box,
            http=httpx.AsyncClient(transport=emu.transport()),
            governor=NullGovernor(),
            clock=lambda: now[0],
        )
        with Worker(box, [acct], client=client, clock=lambda: now[0]) as worker:
            assert worker.run_once() == []
            stored = box.get(d.id)
            assert stored is not None and stored.status is DeliveryStatus.PENDING
            assert box.next_due() == T0 + DAY  # was 9999-12-31: parked, silently
            assert "cut" in str(stored.error)
            now[0] = T0 + DAY
            (done,) = worker.run_once()
        assert done.status is DeliveryStatus.SENT
    assert emu.post_texts() == ["x"]
    assert "9999-12-31" in caplog.text
