"""Deliveries a driver ends outside a worker (`Client.publish`, `deliver`, `AsyncClient.publish`)
are handed back to the outbox, and the worker keeps each account's posts in order when an
attempt cannot start. Each test failed before its fix (see the docstrings); every test runs
on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from brandkit import (
    Account,
    AsyncClient,
    Client,
    DeliveryStatus,
    OutboxConflict,
    PlatformUnavailable,
    Post,
    RateLimited,
    RetryPolicy,
    TransportError,
)
from brandkit._hooks import BucketKey, NullGovernor
from brandkit.outbox import Outbox, Worker
from brandkit.platforms._base import RatePolicy
from brandkit.testing.mastodon import MastodonEmulator
from tests.outbox._fakenet import OutboxNetEmulator

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
FAST = RetryPolicy(attempts=2, initial=0.001, max_backoff=0.002, max_wait=60.0, settle=0.0)


class FakeClock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


class Limited(NullGovernor):
    """The governor after the platform said "come back in an hour" for creates."""

    def acquire(self, key: BucketKey, cost: int, policies: Sequence[RatePolicy]) -> float:
        return 3600.0 if key.bucket == "post" else 0.0


def refusing(emu: Any, refuse: Callable[[httpx.Request], bool]) -> httpx.MockTransport:
    """``emu``'s transport, with the connection refused (nothing sent) where ``refuse`` says."""
    inner = emu.transport()

    def handler(request: httpx.Request) -> httpx.Response:
        if refuse(request):
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        response: httpx.Response = inner.handle_request(request)
        return response

    return httpx.MockTransport(handler)


def sync_client(
    outbox: Outbox, transport: httpx.BaseTransport, clock: FakeClock, **kw: Any
) -> Client:
    kw.setdefault("governor", NullGovernor())
    return Client(
        outbox=outbox,
        http=httpx.Client(transport=transport),
        retry=FAST,
        clock=clock,
        sleep=lambda _s: None,
        **kw,
    )


def async_client(
    outbox: Outbox, transport: httpx.AsyncBaseTransport, clock: FakeClock, **kw: Any
) -> AsyncClient:
    async def no_sleep(_s: float) -> None:
        return None

    kw.setdefault("governor", NullGovernor())
    return AsyncClient(
        outbox=outbox,
        http=httpx.AsyncClient(transport=transport),
        retry=FAST,
        clock=clock,
        sleep=no_sleep,
        **kw,
    )


def send_all(box: Outbox, emu: Any, accounts: list[Account], clock: FakeClock) -> list[Any]:
    """One run of a worker of ``box`` (another process's, for the outbox's leases)."""
    client = sync_client(box, emu.transport(), clock)
    with Worker(box, accounts, client=client, clock=clock) as worker:
        return worker.run_once()


# -- 1. a delivery whose attempt could not start is the worker's, not stuck -------------------


@pytest.mark.parametrize("how", ["publish", "deliver", "apublish"])
def test_a_publish_refused_by_the_rate_limit_is_left_to_a_worker(
    db: Path | str, emu: OutboxNetEmulator, how: str
) -> None:
    """The governor refuses for an hour: the delivery is ``pending`` with no lease and its
    retry time, and it holds its account's later post back; after the reset a worker (of
    another outbox: another process) sends both, in order, once. Before the fix the row
    stayed leased by the publishing process: no worker took it nor any later post of the
    account (and retry/cancel refused it as "being published right now")."""
    clock, acct = FakeClock(), emu.account()
    with Outbox(db) as outbox, Outbox(db) as other:
        if how == "publish":
            with sync_client(outbox, emu.transport(), clock, governor=Limited()) as client:
                (d,) = client.publish(Post(text="first"), acct)
        elif how == "deliver":
            (d,) = outbox.add(Post(text="first"), acct)
            with sync_client(outbox, emu.transport(), clock, governor=Limited()) as client:
                client.deliver(d, acct)
        else:

            async def go() -> Any:
                async with async_client(
                    outbox, emu.transport(), clock, governor=Limited()
                ) as client:
                    return await client.publish(Post(text="first"), acct)

            (d,) = asyncio.run(go())
        assert d.status is DeliveryStatus.PENDING and isinstance(d.error, RateLimited)
        clock.advance(seconds=1)
        (second,) = outbox.add(Post(text="second"), acct)
        # Before the reset nothing of the account is due; the first is not being published.
        assert other.claim(T0 + timedelta(minutes=30)) == []
        assert other.retry(d.id).status is DeliveryStatus.PENDING  # no "being published"
        other.release(d.id, retry_at=T0 + timedelta(hours=1))
        clock.advance(hours=2)
        done = send_all(other, emu, [acct], clock)
        assert [x.id for x in done] == [d.id, second.id]
        assert [x.status for x in done] == [DeliveryStatus.SENT] * 2
    assert emu.post_texts() == ["first", "second"]


def test_a_publish_during_an_outage_while_preparing_is_left_to_a_worker(db: Path | str) -> None:
    """A 503 while the adapter reads the instance's limits (nothing was sent): ``pending``,
    no lease, due at once for a worker, which sends it once."""
    clock, emu = FakeClock(), MastodonEmulator()
    acct = emu.account(name="brand")
    emu.fault(method="GET", path="/api/v2/instance", status=503, times=50)
    with Outbox(db) as outbox, Outbox(db) as other:
        with sync_client(outbox, emu.transport(), clock) as client:
            (d,) = client.publish(Post(text="hello"), acct)
        assert d.status is DeliveryStatus.PENDING
        assert isinstance(d.error, PlatformUnavailable)
        emu.clear_faults()
        done = send_all(other, emu, [acct], clock)
        assert [(x.id, x.status) for x in done] == [(d.id, DeliveryStatus.SENT)]
    assert emu.post_texts() == ["hello"]


def test_a_sending_delivery_whose_last_save_failed_is_reconciled_by_a_worker(
    db: Path | str, emu: OutboxNetEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The post is on the platform but the save recording it was refused (the outbox stayed
    locked): the row stays ``sending``, and is given back, so that a worker looks it up and
    finds it (never sends it again). Before the fix it stayed leased by the publisher."""
    clock, acct = FakeClock(), emu.account()
    with Outbox(db) as outbox, Outbox(db) as other:
        real = outbox.save
        failed: list[str] = []

        def flaky(delivery: Any) -> None:
            if delivery.status is DeliveryStatus.SENT and not failed:
                failed.append(delivery.id)
                raise OutboxConflict("the outbox stayed locked by another process")
            real(delivery)

        monkeypatch.setattr(outbox, "save", flaky)
        with sync_client(outbox, emu.transport(), clock) as client:
            (d,) = client.publish(Post(text="hello"), acct)
        assert failed == [d.id] and d.status is DeliveryStatus.SENDING
        done = send_all(other, emu, [acct], clock)
        assert [(x.id, x.status) for x in done] == [(d.id, DeliveryStatus.SENT)]
    assert emu.post_texts() == ["hello"]


# -- 2. the worker keeps an account's order when an attempt cannot start ----------------------


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_an_attempt_that_cannot_start_holds_back_the_accounts_later_posts(
    db: Path | str, kind: str
) -> None:
    """A 503 while preparing the first post: the second post of the account waits for it.
    Before the fix the worker went on with the second post: it went out first."""
    clock, emu = FakeClock(), MastodonEmulator()
    acct = emu.account(name="brand")
    with Outbox(db, clock=clock) as outbox:
        (first,) = outbox.add(Post(text="1st: announcement"), acct)
        clock.advance(seconds=1)
        (second,) = outbox.add(Post(text="2nd: follow-up"), acct)
        # Every try of the driver's (FAST: 2) for one run.
        emu.fault(method="GET", path="/api/v2/instance", status=503, times=2)
        client: Client | AsyncClient
        if kind == "sync":
            client = sync_client(outbox, emu.transport(), clock)
        else:
            client = async_client(outbox, emu.transport(), clock)
        with Worker(outbox, [acct], client=client, clock=clock, backoff=30) as worker:
            clock.advance(seconds=1)
            worker.run_once()
            assert emu.post_texts() == []
            assert outbox.get(second.id).status is DeliveryStatus.PENDING  # type: ignore[union-attr]
            clock.advance(seconds=29)
            assert worker.run_once() == []
            clock.advance(seconds=1)
            done = worker.run_once()
        assert [x.id for x in done] == [first.id, second.id]
    assert emu.post_texts() == ["1st: announcement", "2nd: follow-up"]


def test_an_attempt_that_never_starts_is_bounded_by_max_attempts(db: Path | str) -> None:
    """An instance that keeps answering 503 while preparing: each try counts, the waits grow
    (30 s, 60 s), and after ``max_attempts`` the delivery fails with its reason. Before the
    fix it stayed ``pending`` with 0 attempts, retried every 60 s forever."""
    clock, emu = FakeClock(), MastodonEmulator()
    acct = emu.account(name="brand")
    emu.fault(method="GET", path="/api/v2/instance", status=503, times=10**6)
    with Outbox(db, clock=clock) as outbox:
        (d,) = outbox.add(Post(text="hello"), acct)
        client = sync_client(outbox, emu.transport(), clock)
        worker = Worker(outbox, [acct], client=client, clock=clock, backoff=30, max_attempts=3)
        waits = []
        for _ in range(3):
            (done,) = worker.run_once()
            due = outbox.next_due()
            if due is not None and done.status is DeliveryStatus.PENDING:
                waits.append((due - clock.now).total_seconds())
                clock.now = due
        stored = outbox.get(d.id)
        assert stored is not None
        assert stored.status is DeliveryStatus.FAILED and stored.attempts == 3
        assert isinstance(stored.error, PlatformUnavailable)
        assert waits == [30.0, 60.0]
        clock.advance(days=1)
        assert worker.run_once() == []
    assert emu.post_texts() == []


def test_a_rate_limit_before_the_attempt_is_waited_for_without_a_cap(
    db: Path | str, emu: OutboxNetEmulator
) -> None:
    """The governor's refusal is no failure of the post: however often, it waits for the
    reset and is never failed by ``max_attempts`` (as documented)."""
    clock, acct = FakeClock(), emu.account()
    with Outbox(db, clock=clock) as outbox:
        (d,) = outbox.add(Post(text="hello"), acct)
        client = sync_client(outbox, emu.transport(), clock, governor=Limited())
        with Worker(outbox, [acct], client=client, clock=clock, max_attempts=2) as worker:
            for _ in range(4):
                (done,) = worker.run_once()
                assert done.status is DeliveryStatus.PENDING
                clock.advance(hours=1, seconds=1)
        stored = outbox.get(d.id)
        assert stored is not None
        assert stored.status is DeliveryStatus.PENDING and stored.attempts == 0
    assert emu.post_texts() == []


# -- 3. a refused connection is a failure, not a post in doubt -------------------------------


@pytest.mark.parametrize("how", ["publish", "apublish"])
def test_a_refused_create_is_left_pending_and_a_worker_sends_it_later(
    db: Path | str, emu: OutboxNetEmulator, how: str
) -> None:
    """The create's connection refused on a platform without lookup: not delivered (the
    error says so), so it goes back to ``pending`` for a worker, and the copy returned says
    so too (from `AsyncClient` as from `Client`); a worker sends it once the network is
    back. Before the fix it was ``unknown``: stranded for a person to resolve."""
    clock, acct = FakeClock(), emu.account(findable=False)
    refuse = [True]
    transport = refusing(emu, lambda r: refuse[0] and r.method == "POST")
    with Outbox(db) as outbox, Outbox(db) as other:
        if how == "publish":
            with sync_client(outbox, transport, clock) as client:
                (d,) = client.publish(Post(text="hello"), acct)
        else:

            async def go() -> Any:
                async with async_client(outbox, transport, clock) as client:
                    return await client.publish(Post(text="hello"), acct)

            (d,) = asyncio.run(go())
        assert d.status is DeliveryStatus.PENDING
        assert isinstance(d.error, TransportError) and not d.error.maybe_delivered
        stored = outbox.get(d.id)
        assert stored is not None and stored.status is DeliveryStatus.PENDING
        refuse[0] = False
        done = send_all(other, emu, [acct], clock)
        assert [(x.id, x.status) for x in done] == [(d.id, DeliveryStatus.SENT)]
    assert emu.post_texts() == ["hello"]


def test_a_refused_create_in_a_worker_is_retried_with_backoff(
    db: Path | str, emu: OutboxNetEmulator
) -> None:
    """In the worker: failed "not now", tried again after ``backoff``, sent once."""
    clock, acct = FakeClock(), emu.account(findable=False)
    refuse = [True]
    transport = refusing(emu, lambda r: refuse[0] and r.method == "POST")
    with Outbox(db, clock=clock) as outbox:
        outbox.add(Post(text="hello"), acct)
        client = sync_client(outbox, transport, clock)
        with Worker(outbox, [acct], client=client, clock=clock, backoff=30) as worker:
            (first,) = worker.run_once()
            assert first.status is DeliveryStatus.FAILED
            refuse[0] = False
            clock.advance(seconds=30)
            (again,) = worker.run_once()
        assert again.status is DeliveryStatus.SENT and again.attempts == 2
    assert emu.post_texts() == ["hello"]


def test_a_refused_resend_after_a_lost_create_keeps_the_doubt(
    db: Path | str, emu: OutboxNetEmulator
) -> None:
    """The first create's connection dropped (it may have landed), a lookup found nothing,
    the new create was refused: not delivered (back to ``pending`` for a worker) and the
    next attempt still looks the part up before sending."""
    clock, acct = FakeClock(), emu.account()
    posts, down = [0], [True]

    def refuse(request: httpx.Request) -> bool:
        if request.method != "POST":
            return False
        posts[0] += 1
        return down[0] and posts[0] >= 2  # the first is dropped by the emulator

    emu.fault(method="POST", path="/posts", drop="before", times=1)
    with Outbox(db) as outbox:
        with sync_client(outbox, refusing(emu, refuse), clock) as client:
            (d,) = client.publish(Post(text="hello"), acct)
            assert d.status is DeliveryStatus.PENDING and d.look_first
            assert isinstance(d.error, TransportError) and not d.error.maybe_delivered
            down[0] = False
            seen = len(emu.requests)
            client.deliver(d, acct)
        assert d.status is DeliveryStatus.SENT
    assert [r.method for r in emu.requests[seen:]] == ["GET", "POST"]
    assert emu.post_texts() == ["hello"]


def test_a_refused_repeat_of_a_create_that_may_have_landed_stays_unknown(
    db: Path | str, emu: OutboxNetEmulator
) -> None:
    """An idempotent create stored but its answer lost, then its repeat refused: the first
    may be on the platform, so the delivery is ``unknown`` (looked up), never ``failed``."""
    clock, acct = FakeClock(), emu.account(idempotent=True)
    posts = [0]

    def refuse(request: httpx.Request) -> bool:
        if request.method != "POST":
            return False
        posts[0] += 1
        return posts[0] >= 2

    emu.fault(method="POST", path="/posts", drop="after", times=1)
    with Outbox(db) as outbox:
        with sync_client(outbox, refusing(emu, refuse), clock) as client:
            (d,) = client.publish(Post(text="hello"), acct)
        assert d.status is DeliveryStatus.UNKNOWN
    assert emu.post_texts() == ["hello"]


# -- 5. one account given twice is one delivery ----------------------------------------------


def test_the_same_account_given_twice_is_published_once(
    db: Path | str, emu: OutboxNetEmulator
) -> None:
    """``[acct, acct]`` (or two objects with one key): one delivery, one post. Before the
    fix the post was published twice."""
    clock, acct = FakeClock(), emu.account(name="brand")
    twin = emu.account(name="brand")
    with Outbox(db) as outbox:
        assert len(outbox.add(Post(text="queued"), [acct, twin, acct])) == 1
        with sync_client(outbox, emu.transport(), clock) as client:
            assert len(client.publish(Post(text="now"), [acct, acct])) == 1

        async def go() -> Any:
            async with async_client(outbox, emu.transport(), clock) as client:
                return await client.publish(Post(text="async"), [acct, twin])

        assert len(asyncio.run(go())) == 1
    assert emu.post_texts() == ["now", "async"]


# -- 6. the copy a caller holds says what the outbox holds -----------------------------------


@pytest.mark.parametrize("how", ["publish", "apublish"])
def test_a_delivery_that_broke_off_stays_failed_in_the_copy_too(db: Path | str, how: str) -> None:
    """One account of a publish is of an unknown platform: it breaks off ``failed`` (a
    "no", not a "not now"), and the copy returned says ``failed`` as the outbox does.
    Before the fix the copy said ``pending`` while the outbox held ``failed``."""
    clock, emu = FakeClock(), MastodonEmulator()
    accounts = [emu.account(name="a"), Account("nosuch", name="z", base_url="http://x.invalid")]
    with Outbox(db) as outbox:
        if how == "publish":
            with sync_client(outbox, emu.transport(), clock) as client:
                out = client.publish(Post(text="hi"), accounts)
        else:

            async def go() -> Any:
                async with async_client(outbox, emu.transport(), clock) as client:
                    return await client.publish(Post(text="hi"), accounts)

            out = asyncio.run(go())
        stored = [outbox.get(d.id) for d in out]
        assert [d.status for d in out] == [DeliveryStatus.SENT, DeliveryStatus.FAILED]
        assert [s.status for s in stored if s is not None] == [d.status for d in out]


@pytest.mark.parametrize(("answer", "copy"), [(422, "failed"), (None, "pending")])
def test_a_cancelled_async_publish_leaves_finished_copies_as_the_outbox_holds_them(
    db: Path | str, answer: int | None, copy: str
) -> None:
    """``AsyncClient.publish`` to two accounts, cancelled while the second's create hangs,
    after the first's create ended: refused (422: ``failed``, there and in the copy), or
    its connection refused (not sent: handed back ``pending`` for a worker, there and in
    the copy). Before the fix the refused one's copy said ``pending`` while the outbox
    said ``failed``, and the one not sent stayed ``failed`` in the outbox."""
    clock, emu = FakeClock(), MastodonEmulator()
    a, b = emu.account(name="a"), emu.account(name="b")
    token_b = b.secret("token")
    assert token_b
    inner = emu.transport()

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path == "/api/v1/statuses":
            if token_b in request.headers.get("authorization", ""):
                await asyncio.sleep(3600)  # until cancelled
            if answer is None:
                raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
            return httpx.Response(answer, json={"error": "no"})
        response: httpx.Response = inner.handle_request(request)
        return response

    held: list[Any] = []

    async def main(outbox: Outbox) -> None:
        client = async_client(outbox, httpx.MockTransport(handler), clock)
        inner_deliver = client._deliver

        async def spy(d: Any, acct: Any = None) -> Any:
            held.append(d)
            return await inner_deliver(d, acct)

        client._deliver = spy  # type: ignore[method-assign]
        async with client:
            task = asyncio.create_task(client.publish(Post(text="hello"), [a, b]))
            for _ in range(500):
                await asyncio.sleep(0.01)
                if held and held[0].status is DeliveryStatus.FAILED:
                    break
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    with Outbox(db) as outbox:
        asyncio.run(main(outbox))
        first = held[0]
        stored = outbox.get(first.id)
        assert stored is not None
        assert (first.status.value, stored.status.value) == (copy, copy)
