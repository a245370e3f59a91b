"""`Outbox.recorded_ids`: the posts other deliveries of an account recorded, which a
read-back after a lost answer never takes for a part (tests/facebook/test_publish_readback.py
shows the post it saves), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from brandkit import Account, DeliveryStatus, Post
from brandkit.outbox import Outbox
from brandkit.platforms._base import PartRef
from tests.outbox._fakenet import OutboxNetEmulator

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def _sent(outbox: Outbox, account: Account, ids: list[str], at: datetime) -> str:
    (d,) = outbox.add(Post(text="same words"), account)
    d.parts = [PartRef(index=i, id=pid) for i, pid in enumerate(ids)]
    d.status = DeliveryStatus.SENT
    d.updated_at = at
    outbox.save(d)
    return d.id


def test_the_ids_of_other_deliveries_of_the_account_written_since(
    outbox: Outbox, emu: OutboxNetEmulator
) -> None:
    brand, other = emu.account(name="brand"), emu.account(name="other")
    _sent(outbox, brand, ["old"], T0 - timedelta(days=2))
    _sent(outbox, brand, ["a1", "a2"], T0)
    own = _sent(outbox, brand, ["mine"], T0 + timedelta(minutes=1))
    _sent(outbox, other, ["theirs"], T0)
    (pending,) = outbox.add(Post(text="not sent"), brand)
    since = T0 - timedelta(hours=1)
    assert outbox.recorded_ids(brand.key, since, exclude=own) == {"a1", "a2"}
    assert outbox.recorded_ids(brand.key, since) == {"a1", "a2", "mine"}
    assert outbox.recorded_ids(brand.key, T0 - timedelta(days=3)) >= {"old", "a1", "mine"}
    assert outbox.recorded_ids(other.key, since) == {"theirs"}
    assert outbox.recorded_ids("x:nobody", since) == set()
    assert pending.id not in outbox.recorded_ids(brand.key, since)
