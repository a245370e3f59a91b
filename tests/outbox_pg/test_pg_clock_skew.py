"""Workers on hosts whose clocks disagree: what is due, and the retry times they write, are
judged on the database server's clock, not on each host's."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

import brandkit._client
import brandkit.outbox._postgres
import brandkit.outbox._store
import brandkit.outbox._worker
import brandkit.platforms._base
from brandkit import (
    AsyncClient,
    Client,
    DeliveryStatus,
    PlatformUnavailable,
    Post,
    RateLimited,
    RetryPolicy,
)
from brandkit._hooks import BucketKey, NullGovernor
from brandkit.outbox import Outbox, Worker
from brandkit.platforms._base import RatePolicy
from tests.outbox._fakenet import OutboxNetEmulator

FAST = RetryPolicy(attempts=3, initial=0.001, max_backoff=0.002, max_wait=1.0)
# How far this host's clock is off (what `datetime.now` answers in brandkit's modules).
_SKEW = [timedelta()]


class _AnyDatetime(type):
    # A plain datetime is still one for the patched modules' isinstance checks.
    def __instancecheck__(cls, obj: object) -> bool:
        return isinstance(obj, datetime)


class _HostDatetime(datetime, metaclass=_AnyDatetime):
    """`datetime` whose ``now`` is this host's clock, off by ``_SKEW``."""

    @classmethod
    def now(cls, tz: Any = None) -> Any:
        return datetime.now(tz) + _SKEW[0]


@pytest.fixture
def host_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[timedelta]]:
    """This host's clock as brandkit reads it, set off by assigning ``host_clock[0]``."""
    for module in (
        brandkit.outbox._worker,
        brandkit.outbox._store,
        brandkit._client,
        brandkit.platforms._base,
    ):
        monkeypatch.setattr(module, "datetime", _HostDatetime)
    _SKEW[0] = timedelta()
    yield _SKEW
    _SKEW[0] = timedelta()


class _Exhausted(NullGovernor):
    """A rate-limit budget that resets in 120 s: the client refuses at once, with a
    `RateLimited` whose reset time it stamps with its own (this host's) clock."""

    def acquire(self, key: BucketKey, cost: int, policies: Sequence[RatePolicy]) -> float:
        return 120.0


def _async_client(
    box: Outbox, emu: OutboxNetEmulator, governor: NullGovernor | None = None
) -> AsyncClient:
    # No clock given: the client keeps this host's, as a user's would.
    return AsyncClient(
        outbox=box,
        http=httpx.AsyncClient(transport=emu.transport()),
        governor=governor or NullGovernor(),
        retry=FAST,
    )


@pytest.mark.parametrize("every", [30.0, 0.0], ids=["sampled", "read-each-time"])
def test_fast_host_does_not_publish_a_scheduled_post_early(
    pg: str,
    emu: OutboxNetEmulator,
    host_clock: list[timedelta],
    monkeypatch: pytest.MonkeyPatch,
    every: float,
) -> None:
    """A post scheduled 5 minutes ahead is not published by a worker whose host clock runs
    10 minutes ahead (an embargoed announcement out early); a `now` given still wins. Also
    with the database's clock read again at every reading (inside the outbox's transactions
    and from the worker's threads too)."""
    monkeypatch.setattr(brandkit.outbox._postgres, "_CLOCK_EVERY", every, raising=False)
    acct = emu.account()
    when = datetime.now(UTC) + timedelta(minutes=5)
    with Outbox(pg) as box:
        (d,) = box.add(Post(text="embargoed", scheduled_at=when), acct)
    host_clock[0] = timedelta(minutes=10)
    with Outbox(pg) as box, Worker(box, [acct], client=_async_client(box, emu)) as worker:
        # The outbox reads the database's time, whatever this host's says.
        assert abs(box.clock() - datetime.now(UTC)) < timedelta(seconds=5)
        assert box.due() == []
        assert worker.run_once() == []
        assert emu.posts == []
        assert box.get(d.id).status is DeliveryStatus.PENDING  # type: ignore[union-attr]
        (done,) = worker.run_once(now=when + timedelta(seconds=1))
    assert done.status is DeliveryStatus.SENT
    assert emu.post_texts() == ["embargoed"]


@pytest.mark.parametrize("limit", ["answer", "budget"])
def test_slow_host_retry_time_is_not_due_early_for_another(
    pg: str, emu: OutboxNetEmulator, host_clock: list[timedelta], limit: str
) -> None:
    """A rate limit met by a worker whose host clock runs 10 minutes behind: the retry time
    it writes (its backoff of 30 s after a 429, or the budget's reset 120 s on) is as far
    on for every other worker too, not minutes ago (the backoff lost, the limited account
    hammered by the next worker)."""
    acct = emu.account()
    with Outbox(pg) as box:
        (d,) = box.add(Post(text="hello"), acct)
    governor: NullGovernor | None = None
    if limit == "answer":
        headers = {"retry-after": "120"}  # past the client's max_wait: refused at once
        emu.fault(method="POST", path="/posts", status=429, headers=headers, times=1)
    else:
        governor = _Exhausted()
    host_clock[0] = -timedelta(minutes=10)
    with (
        Outbox(pg) as box,
        Worker(box, [acct], client=_async_client(box, emu, governor)) as slow,
    ):
        (done,) = slow.run_once()
    assert isinstance(done.error, RateLimited)
    assert emu.posts == []
    stored = Outbox(pg)
    try:
        retry = stored.next_due()
    finally:
        stored.close()
    assert retry is not None
    assert retry > datetime.now(UTC) + timedelta(seconds=20)
    # Another worker, its host's clock right: nothing is due before the retry time.
    host_clock[0] = timedelta()
    with Outbox(pg) as box, Worker(box, [acct], client=_async_client(box, emu)) as other:
        assert other.run_once() == []
        assert emu.posts == []
        (again,) = other.run_once(now=datetime.now(UTC) + timedelta(minutes=3))
    assert again.id == d.id
    assert again.status is DeliveryStatus.SENT
    assert emu.post_texts() == ["hello"]


@pytest.mark.parametrize("skew", [-10, 10], ids=["host-behind", "host-ahead"])
@pytest.mark.parametrize("failure", ["503", "budget"])
def test_publish_outside_a_worker_writes_its_retry_time_on_the_database_clock(
    pg: str, emu: OutboxNetEmulator, host_clock: list[timedelta], failure: str, skew: int
) -> None:
    """`Client.publish` with the outbox, on a host whose clock is 10 minutes off, told to
    come back in 120 s (a 503's Retry-After, or the rate-limit budget's reset): the retry
    time it gives the outbox is 120 s on the database's clock. It was on the host's, so a
    host behind made the retry due at once for every worker (the limited account tried
    again), one ahead held the post back 10 minutes more."""
    acct = emu.account()
    governor: NullGovernor = NullGovernor()
    if failure == "budget":
        governor = _Exhausted()
    else:
        headers = {"retry-after": "120"}  # past the client's max_wait: refused at once
        emu.fault(method="POST", path="/posts", status=503, headers=headers, times=1)
    host_clock[0] = timedelta(minutes=skew)
    with (
        Outbox(pg) as box,
        Client(
            outbox=box,
            http=httpx.Client(transport=emu.transport()),
            governor=governor,
            retry=FAST,
        ) as client,
    ):
        before = datetime.now(UTC)  # this module's datetime: the real clock, the server's
        (done,) = client.publish(Post(text="hello"), [acct])
        assert isinstance(done.error, RateLimited | PlatformUnavailable)
        stored = box.get(done.id)
        assert stored is not None
        assert stored.status is DeliveryStatus.PENDING
        retry = box.next_due()
    assert emu.posts == []
    assert retry is not None
    assert before + timedelta(seconds=100) < retry < datetime.now(UTC) + timedelta(seconds=140)


@pytest.mark.parametrize("skew", [-10, 10], ids=["host-behind", "host-ahead"])
def test_publish_outside_a_worker_with_no_retry_hint_is_due_now_on_the_database_clock(
    pg: str, emu: OutboxNetEmulator, host_clock: list[timedelta], skew: int
) -> None:
    """A 429 that names no time to come back (no Retry-After, no reset) to `Client.publish`
    on a host 10 minutes off: the delivery goes back to the outbox due now on the database's
    clock. It was due at this host's now, so a host ahead held the post back 10 minutes."""
    acct = emu.account()
    emu.fault(method="POST", path="/posts", status=429, times=10)
    host_clock[0] = timedelta(minutes=skew)
    with (
        Outbox(pg) as box,
        Client(
            outbox=box,
            http=httpx.Client(transport=emu.transport()),
            governor=NullGovernor(),
            retry=FAST,
        ) as client,
    ):
        before = datetime.now(UTC)  # this module's datetime: the real clock, the server's
        (done,) = client.publish(Post(text="hello"), [acct])
        assert isinstance(done.error, RateLimited), done.error
        assert done.error.retry_after is None and done.error.reset_at is None
        stored = box.get(done.id)
        assert stored is not None and stored.status is DeliveryStatus.PENDING
        retry = box.next_due()
    assert emu.posts == []
    assert retry is not None
    assert before - timedelta(seconds=5) < retry < datetime.now(UTC) + timedelta(seconds=5)
