"""The worker: due posts published once, in order, with failures retried or explained."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs
import httpx
import pytest

from brandkit import (
    Account,
    AsyncClient,
    Client,
    ConfigurationError,
    DeliveryStatus,
    PlatformUnavailable,
    Post,
    RateLimited,
    Rejected,
    RetryPolicy,
)
from brandkit._hooks import NullGovernor
from brandkit.errors import OutboxConflict
from brandkit.outbox import Outbox, Worker
from brandkit.platforms._base import PartRef
from tests.outbox._fakenet import NAME, TOKEN, OutboxNetEmulator

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
FAST = RetryPolicy(attempts=3, initial=0.001, max_backoff=0.002, max_wait=1.0)


class FakeClock:
    """A settable clock."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


async def no_sleep(seconds: float) -> None:
    """Skip the driver's waits."""


def make_worker(
    outbox: Outbox,
    emu: OutboxNetEmulator,
    accounts: list[Account],
    clock: FakeClock,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    **kw: object,
) -> Worker:
    client = AsyncClient(
        outbox=outbox,
        http=httpx.AsyncClient(transport=transport or emu.transport()),
        governor=NullGovernor(),
        retry=FAST,
        sleep=no_sleep,
        clock=clock,
    )
    return Worker(outbox, {a.name: a for a in accounts}, client=client, clock=clock, **kw)  # type: ignore[arg-type]


def test_publishes_due_posts_and_waits_for_scheduled(
    outbox: Outbox, emu: OutboxNetEmulator
) -> None:
    """A post is published when due; a scheduled one only once the clock reaches it."""
    clock, acct = FakeClock(), emu.account()
    (now,) = outbox.add(Post(text="now"), acct)
    (later,) = outbox.add(Post(text="later", scheduled_at=T0 + timedelta(hours=1)), acct)
    with make_worker(outbox, emu, [acct], clock) as worker:
        assert [d.id for d in worker.run_once()] == [now.id]
        assert emu.post_texts() == ["now"]
        clock.advance(minutes=59)
        assert worker.run_once() == []
        clock.advance(minutes=1)
        (done,) = worker.run_once()
    assert done.id == later.id
    assert done.ok
    assert emu.post_texts() == ["now", "later"]
    assert outbox.counts()[DeliveryStatus.SENT] == 2


def test_thread_parts_are_chained_in_order(outbox: Outbox, emu: OutboxNetEmulator) -> None:
    """Each part of a thread replies to the one before it."""
    clock, acct = FakeClock(), emu.account()
    outbox.add(Post(text="one | two | three"), acct)
    with make_worker(outbox, emu, [acct], clock) as worker:
        (d,) = worker.run_once()
    assert d.ok
    assert emu.post_texts() == ["one", "two", "three"]
    assert [p["reply_to"] for p in emu.posts] == [None, "1", "2"]
    assert d.ids == ["1", "2", "3"]


def test_accounts_in_parallel_each_in_order(outbox: Outbox, emu: OutboxNetEmulator) -> None:
    """Accounts are served at the same time; one account's posts never overlap or reorder."""
    clock = FakeClock()
    accounts = [
        Account(NAME, name=f"a{i}", base_url=f"http://a{i}.invalid", secrets={"token": TOKEN})
        for i in range(3)
    ]
    for n in range(3):
        for acct in accounts:
            outbox.add(Post(text=f"{acct.name} post {n} | reply {n}"), acct)
            clock.advance(seconds=1)
    in_flight: dict[str, int] = defaultdict(int)
    peak: dict[str, int] = defaultdict(int)
    total = {"now": 0, "peak": 0}

    async def handler(request: httpx.Request) -> httpx.Response:
        host = request.url.host
        in_flight[host] += 1
        total["now"] += 1
        peak[host] = max(peak[host], in_flight[host])
        total["peak"] = max(total["peak"], total["now"])
        await asyncio.sleep(0.01)
        in_flight[host] -= 1
        total["now"] -= 1
        return emu.handle(request)

    worker = make_worker(
        outbox, emu, accounts, clock, transport=httpx.MockTransport(handler), concurrency=3
    )
    with worker:
        done = worker.run_once()
    assert len(done) == 9
    assert all(d.ok for d in done)
    assert total["peak"] >= 2
    assert all(v == 1 for v in peak.values())
    for acct in accounts:
        texts = [t for t in emu.post_texts() if t.startswith(acct.name) or "reply" in t]
        mine = [t for t in texts if t.startswith(acct.name)]
        assert mine == [f"{acct.name} post {n}" for n in range(3)]


def test_sync_client_worker(outbox: Outbox, emu: OutboxNetEmulator) -> None:
    """A worker given a synchronous Client publishes one delivery after another."""
    clock, a, b = FakeClock(), emu.account(name="a"), emu.account(name="b")
    outbox.add(Post(text="x | y"), [a, b])
    client = Client(outbox=outbox, http=httpx.Client(transport=emu.transport()), clock=clock)
    with Worker(outbox, [a, b], client=client, clock=clock) as worker:
        done = worker.run_once()
    assert [d.status for d in done] == [DeliveryStatus.SENT, DeliveryStatus.SENT]
    assert emu.post_texts() == ["x", "y", "x", "y"]
    with pytest.raises(ConfigurationError, match="synchronous"):
        asyncio.run(worker.arun_once())


def test_outage_is_retried_later_without_duplicates(outbox: Outbox, emu: OutboxNetEmulator) -> None:
    """A 5xx on the create: looked up, failed, retried after backoff, sent once."""
    clock, acct = FakeClock(), emu.account()
    (d,) = outbox.add(Post(text="hello"), acct)
    emu.fault(method="POST", path="/posts", status=503, times=2)
    with make_worker(outbox, emu, [acct], clock, backoff=30) as worker:
        (first,) = worker.run_once()
        assert first.status is DeliveryStatus.FAILED
        assert isinstance(first.error, PlatformUnavailable)
        stored = outbox.get(d.id)
        assert stored is not None
        assert stored.status is DeliveryStatus.PENDING
        clock.advance(seconds=29)
        assert worker.run_once() == []
        clock.advance(seconds=1)
        (second,) = worker.run_once()
    assert second.ok
    assert second.attempts == 2
    assert emu.post_texts() == ["hello"]
    notes = [e.note or "" for e in outbox.history(d.id)]
    assert any("503" in n for n in notes)
    assert any(n.startswith("retry at") for n in notes)


def test_gives_up_after_max_attempts(outbox: Outbox, emu: OutboxNetEmulator) -> None:
    """A platform that stays down leaves the delivery failed, with the platform's words."""
    clock, acct = FakeClock(), emu.account()
    (d,) = outbox.add(Post(text="hello"), acct)
    emu.fault(method="POST", path="/posts", status=503, times=100)
    with make_worker(outbox, emu, [acct], clock, max_attempts=2, backoff=1) as worker:
        for _ in range(4):
            worker.run_once()
            clock.advance(minutes=5)
    stored = outbox.get(d.id)
    assert stored is not None
    assert stored.status is DeliveryStatus.FAILED
    assert stored.attempts == 2
    assert isinstance(stored.error, PlatformUnavailable)
    assert stored.error.platform_message == "scripted fault"
    assert emu.posts == []


def test_rejection_is_final(outbox: Outbox, emu: OutboxNetEmulator) -> None:
    """A 4xx refusal is not retried: the delivery stays failed for a person to look at."""
    clock, acct = FakeClock(), emu.account()
    (d,) = outbox.add(Post(text="hello"), acct)
    emu.fault(method="POST", path="/posts", status=422, times=1)
    with make_worker(outbox, emu, [acct], clock) as worker:
        (done,) = worker.run_once()
        clock.advance(hours=5)
        assert worker.run_once() == []
    assert isinstance(done.error, Rejected)
    assert outbox.get(d.id).status is DeliveryStatus.FAILED  # type: ignore[union-attr]
    assert emu.posts == []


def test_rate_limit_defers_the_whole_account(outbox: Outbox, emu: OutboxNetEmulator) -> None:
    """A rate limit longer than the driver waits defers that account's posts, in order."""
    clock, acct, other = FakeClock(), emu.account(name="busy"), emu.account(name="calm")
    (first,) = outbox.add(Post(text="first"), acct)
    clock.advance(seconds=1)
    (second,) = outbox.add(Post(text="second"), acct)
    outbox.add(Post(text="elsewhere"), other)
    emu.fault(method="POST", path="/posts", status=429, headers={"retry-after": "120"}, times=1)
    with make_worker(outbox, emu, [acct, other], clock, backoff=60) as worker:
        done = {d.id: d for d in worker.run_once()}
        assert isinstance(done[first.id].error, RateLimited)
        assert done[second.id].attempts == 0
        assert "elsewhere" in emu.post_texts()
        clock.advance(seconds=59)
        assert worker.run_once() == []
        clock.advance(seconds=1)
        again = worker.run_once()
    assert [d.id for d in again] == [first.id, second.id]
    assert emu.post_texts() == ["elsewhere", "first", "second"]


def test_unknown_is_reconciled_never_resent(outbox: Outbox, emu: OutboxNetEmulator) -> None:
    """A create whose answer was lost stays unknown until a lookup settles it; no re-send."""
    clock = FakeClock()
    acct = emu.account(findable=False)
    (d,) = outbox.add(Post(text="hello"), acct)
    emu.fault(method="POST", path="/posts", drop="after", times=1)
    with make_worker(outbox, emu, [acct], clock, backoff=10) as worker:
        (done,) = worker.run_once()
        assert done.status is DeliveryStatus.UNKNOWN
        clock.advance(seconds=10)
        (again,) = worker.run_once()
        assert again.status is DeliveryStatus.UNKNOWN
        assert emu.post_texts() == ["hello"]
        outbox.retry(d.id)
        assert outbox.get(d.id).status is DeliveryStatus.UNKNOWN  # type: ignore[union-attr]
        acct.settings["findable"] = True
        (settled,) = worker.run_once()
    assert settled.ok
    assert settled.ids == ["1"]
    assert emu.post_texts() == ["hello"]


def test_dropped_answer_is_found(outbox: Outbox, emu: OutboxNetEmulator) -> None:
    """The connection drops after the platform stored the part: it is found, not re-sent."""
    clock, acct = FakeClock(), emu.account()
    outbox.add(Post(text="a | b"), acct)
    emu.fault(method="POST", path="/posts", drop="after", times=1)
    with make_worker(outbox, emu, [acct], clock) as worker:
        (d,) = worker.run_once()
    assert d.ok
    assert emu.post_texts() == ["a", "b"]
    assert emu.count("GET", "/posts") == 1


def test_idempotent_platform_retries_the_create(outbox: Outbox, emu: OutboxNetEmulator) -> None:
    """With an idempotency key the driver repeats the create and the platform deduplicates."""
    clock, acct = FakeClock(), emu.account(idempotent=True, findable=False)
    outbox.add(Post(text="once"), acct)
    emu.fault(method="POST", path="/posts", drop="after", times=1)
    with make_worker(outbox, emu, [acct], clock) as worker:
        (d,) = worker.run_once()
    assert d.ok
    assert emu.count("POST", "/posts") == 2
    assert emu.post_texts() == ["once"]


def test_resumes_a_thread_after_a_crash(db: Path, emu: OutboxNetEmulator) -> None:
    """A worker killed after part 2 landed but before it was recorded resumes at part 3."""
    acct = emu.account()
    first = Outbox(db)
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    first.owner = f"{socket.gethostname()}:{child.pid}:dead"
    (d,) = first.add(Post(text="a | b | c"), acct)
    d.keys, d.status, d.attempts = ["k1", "k2", "k3"], DeliveryStatus.SENDING, 1
    d.parts.append(PartRef(index=0, id="1"))
    first.save(d)
    first.close()
    emu.posts += [
        {"id": "1", "text": "a", "key": "k1", "reply_to": None},
        {"id": "2", "text": "b", "key": "k2", "reply_to": "1"},
    ]
    box = Outbox(db)
    with make_worker(box, emu, [acct], FakeClock()) as worker:
        (done,) = worker.run_once()
    assert done.ok
    assert done.ids == ["1", "2", "3"]
    assert emu.post_texts() == ["a", "b", "c"]
    assert emu.posts[2]["reply_to"] == "2"
    assert done.attempts == 2
    box.close()


def test_other_accounts_are_left_alone(outbox: Outbox, emu: OutboxNetEmulator) -> None:
    """A worker publishes only for the accounts it was given."""
    clock, mine, theirs = FakeClock(), emu.account(name="mine"), emu.account(name="theirs")
    outbox.add(Post(text="x"), [mine, theirs])
    with make_worker(outbox, emu, [mine], clock) as worker:
        (d,) = worker.run_once()
    assert d.account == "outboxnet:mine"
    assert outbox.counts()[DeliveryStatus.PENDING] == 1


def test_client_must_write_to_the_same_outbox(outbox: Outbox, emu: OutboxNetEmulator) -> None:
    """A worker whose client writes elsewhere (or nowhere) is refused at once."""
    with pytest.raises(ConfigurationError, match="same outbox"):
        Worker(outbox, [emu.account()], client=Client())
    with pytest.raises(ConfigurationError, match="concurrency=0"):
        Worker(outbox, [emu.account()], concurrency=0)


def test_run_forever_until_stopped(outbox: Outbox, emu: OutboxNetEmulator) -> None:
    """run_forever publishes what becomes due and returns when told to stop."""
    clock, acct = FakeClock(), emu.account()
    seen: list[str] = []
    stop = threading.Event()
    worker = make_worker(outbox, emu, [acct], clock)
    thread = threading.Thread(
        target=worker.run_forever, args=(0.01, stop), kwargs={"on_delivery": seen.append}
    )
    thread.start()
    outbox.add(Post(text="first"), acct)
    outbox.add(Post(text="second", scheduled_at=T0 + timedelta(minutes=1)), acct)
    deadline = time.monotonic() + 10
    while len(seen) < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    clock.advance(minutes=1)
    while len(seen) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    stop.set()
    thread.join(10)
    assert not thread.is_alive()
    worker.close()
    assert emu.post_texts() == ["first", "second"]


@pytest.mark.anyio
async def test_async_worker_in_a_running_loop(outbox: Outbox, emu: OutboxNetEmulator) -> None:
    """Inside an event loop, arun_once works and run_once says to use it."""
    clock, acct = FakeClock(), emu.account()
    outbox.add(Post(text="async"), acct)
    worker = make_worker(outbox, emu, [acct], clock)
    with pytest.raises(ConfigurationError, match="arun_once"):
        worker.run_once()
    (d,) = await worker.arun_once()
    await worker.aclose()
    assert d.ok


def test_default_client_over_a_socket(outbox: Outbox, emu: OutboxNetEmulator) -> None:
    """With no client given, the worker makes its own and publishes over real HTTP."""
    with emu.serve():
        acct = emu.account()
        outbox.add(Post(text="a | b"), acct)
        with Worker(outbox, {"main": acct}) as worker:
            (d,) = worker.run_once()
    assert d.ok
    assert emu.post_texts() == ["a", "b"]


def test_timed_out_create_that_lands_late_is_not_duplicated(
    outbox: Outbox, emu: OutboxNetEmulator
) -> None:
    """A create slower than the client's timeout, on a platform with no duplicate check."""
    emu.fault(method="POST", path="/posts", delay=0.4, times=1)
    with emu.serve():
        acct = emu.account()
        outbox.add(Post(text="late"), acct)
        settle = {"settle": 0.6} if "settle" in attrs.fields_dict(RetryPolicy) else {}
        retry = RetryPolicy(attempts=3, initial=0.001, max_backoff=0.002, **settle)
        client = AsyncClient(outbox=outbox, timeout=0.15, retry=retry)
        with Worker(outbox, [acct], client=client) as worker:
            worker.run_once()
        time.sleep(0.5)
    assert emu.post_texts() == ["late"]


class _HeldBack(httpx.AsyncBaseTransport):
    """Holds the create of the post "slow" until ``needed`` other posts are on the
    emulator (at most ``limit`` seconds); every other request goes through at once."""

    def __init__(self, emu: OutboxNetEmulator, needed: int, limit: float = 5.0) -> None:
        self.inner = emu.transport()
        self.emu, self.needed, self.limit = emu, needed, limit
        self.others_before_slow: int | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and b'"slow"' in request.content:
            deadline = time.monotonic() + self.limit
            while len(self.emu.posts) < self.needed and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            self.others_before_slow = len(self.emu.posts)
        return await self.inner.handle_async_request(request)


def test_run_forever_serves_other_accounts_while_one_is_slow(
    outbox: Outbox, emu: OutboxNetEmulator
) -> None:
    """A free slot takes the next account's posts at once: a slow account does not hold
    back the claim after it (a series of runs would wait for the slowest of each), and
    each account's posts still go out in their order."""
    clock, slow, fast = FakeClock(), emu.account(name="slow"), emu.account(name="fast")
    held = _HeldBack(emu, needed=3)
    outbox.add(Post(text="slow"), slow)
    for text in ("f1", "f2", "f3"):
        outbox.add(Post(text=text), fast)
    seen: list[str] = []
    stop = threading.Event()
    worker = make_worker(outbox, emu, [slow, fast], clock, transport=held, concurrency=2, batch=2)

    def on_delivery(delivery: object) -> None:
        seen.append(str(getattr(delivery, "id", "")))
        if len(seen) == 4:
            stop.set()

    thread = threading.Thread(
        target=worker.run_forever, args=(0.01, stop), kwargs={"on_delivery": on_delivery}
    )
    thread.start()
    thread.join(20)
    assert not thread.is_alive()
    worker.close()
    # The three fast posts went out while the slow one was held.
    assert held.others_before_slow == 3
    assert emu.post_texts() == ["f1", "f2", "f3", "slow"]
    assert outbox.counts()[DeliveryStatus.SENT] == 4


def test_arun_forever_serves_other_accounts_while_one_is_slow(
    outbox: Outbox, emu: OutboxNetEmulator
) -> None:
    """In a running event loop too, a free slot takes the next account's posts at once
    (arun_forever is not a series of arun_once), each account's posts in their order, and
    ``on_idle`` is called when nothing is left."""
    clock, slow, fast = FakeClock(), emu.account(name="slow"), emu.account(name="fast")
    held = _HeldBack(emu, needed=3)
    outbox.add(Post(text="slow"), slow)
    for text in ("f1", "f2", "f3"):
        outbox.add(Post(text=text), fast)
    seen: list[str] = []
    idle: list[int] = []
    worker = make_worker(outbox, emu, [slow, fast], clock, transport=held, concurrency=2, batch=2)

    async def main() -> None:
        stop = asyncio.Event()

        def on_idle() -> None:
            idle.append(len(seen))
            stop.set()

        await asyncio.wait_for(
            worker.arun_forever(
                0.01, stop, on_delivery=lambda d: seen.append(d.id), on_idle=on_idle
            ),
            20,
        )
        await worker.aclose()

    asyncio.run(main())
    assert held.others_before_slow == 3
    assert emu.post_texts() == ["f1", "f2", "f3", "slow"]
    assert outbox.counts()[DeliveryStatus.SENT] == 4
    assert idle == [4]


def test_arun_forever_stops_at_once_and_releases_its_leases(
    outbox: Outbox, emu: OutboxNetEmulator
) -> None:
    """Setting ``stop`` interrupts an attempt under way (held here for up to 30 s): the run
    ends promptly, the post it could not finish is not lost, and no lease is left, so
    another worker takes it at once."""
    clock, acct = FakeClock(), emu.account(name="slow")
    held = _HeldBack(emu, needed=99, limit=30.0)
    (delivery,) = outbox.add(Post(text="slow"), acct)
    worker = make_worker(outbox, emu, [acct], clock, transport=held)

    async def main() -> float:
        stop = asyncio.Event()
        run = asyncio.create_task(worker.arun_forever(0.01, stop))
        # "sending" is written just before the create leaves, which the transport holds.
        while (stored := outbox.get(delivery.id)) is None or (
            stored.status is not DeliveryStatus.SENDING
        ):
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
        started = time.monotonic()
        stop.set()
        await asyncio.wait_for(run, 10)
        await worker.aclose()
        return time.monotonic() - started

    assert asyncio.run(main()) < 5.0
    assert emu.post_texts() == []
    counts = outbox.counts()
    assert counts[DeliveryStatus.SENT] == 0
    assert counts[DeliveryStatus.PENDING] + counts[DeliveryStatus.SENDING] == 1
    again = make_worker(outbox, emu, [acct], clock)
    (done,) = again.run_once()
    again.close()
    assert done.status is DeliveryStatus.SENT
    assert emu.post_texts() == ["slow"]


@pytest.mark.parametrize("poll", [0, -1.0, float("nan"), float("inf"), 1e300, 86_401])
def test_run_forever_refuses_a_poll_that_is_no_wait(
    outbox: Outbox, emu: OutboxNetEmulator, poll: float
) -> None:
    """Checked before the worker starts: 1e300 raised OverflowError at the first idle wait."""
    worker = Worker(outbox, [emu.account()], client=Client(outbox=outbox, governor=NullGovernor()))
    with pytest.raises(ConfigurationError, match="poll must be"):
        worker.run_forever(poll, stop=threading.Event())
    worker.close()


def test_arun_forever_refuses_a_synchronous_client(outbox: Outbox, emu: OutboxNetEmulator) -> None:
    worker = Worker(outbox, [emu.account()], client=Client(outbox=outbox, governor=NullGovernor()))

    with pytest.raises(ConfigurationError, match="run_forever"):
        asyncio.run(worker.arun_forever(0.01))
    worker.close()


def test_an_unknown_delivery_without_a_lookup_is_not_looked_at_every_backoff(
    tmp_path: Path,
) -> None:
    """A Telegram delivery left unknown (the send's answer was lost; Telegram offers no
    lookup) waits for a person: the worker takes it again only once per `max_backoff`, not
    every `backoff` forever with the same "unknown" line each time, and a person's
    `resolve` settles it."""
    from brandkit.testing import emulator

    emu = emulator("telegram")
    now = datetime(2030, 1, 1, tzinfo=UTC)

    def clock() -> datetime:
        return now

    with emu.serve():
        account = emu.account(name="channel")
        emu.fault(method="POST", path=".*/sendMessage", drop="after")
        box = Outbox(tmp_path / "brandkit.db", clock=clock)
        (delivery,) = box.add(Post(text="hello"), account)
        with Worker(box, [account], clock=clock, backoff=30, max_backoff=3600) as worker:
            (first,) = worker.run_once()
            assert first.status is DeliveryStatus.UNKNOWN
            taken = 0
            for _ in range(11):  # 55 minutes, 5 at a time
                now += timedelta(minutes=5)
                taken += len(worker.run_once())
            assert taken == 0
            assert box.next_due() == datetime(2030, 1, 1, 1, tzinfo=UTC)
            box.resolve(delivery.id, sent_url="https://t.me/channel/1")
            assert box.get(delivery.id).status is DeliveryStatus.SENT  # type: ignore[union-attr]
        box.close()


def test_a_long_run_of_attempts_keeps_its_backoff_capped(
    outbox: Outbox, emu: OutboxNetEmulator
) -> None:
    """An unknown delivery is looked up again, paced, until the platform answers, and a
    rate-limited one is tried again without a cap on attempts: the attempts grow without
    end. Past 1,024 of them ``backoff * 2**(attempts - 1)`` could not be made a float, so
    settling the attempt raised OverflowError and the whole run failed, every time. The
    wait stays ``max_backoff``."""
    clock = FakeClock()
    acct = emu.account(findable=False)
    (d,) = outbox.add(Post(text="hello"), acct)
    emu.fault(method="POST", path="/posts", drop="after", times=1)
    # Seconds as floats, as the defaults and the command line give them.
    with make_worker(outbox, emu, [acct], clock, backoff=10.0, max_backoff=60.0) as worker:
        (done,) = worker.run_once()
        assert done.status is DeliveryStatus.UNKNOWN
        stored = outbox.get(d.id)
        assert stored is not None
        stored.attempts = 1100  # as after 1,100 lookups
        outbox.save(stored)
        clock.advance(seconds=60)
        (again,) = worker.run_once()
        assert again.status is DeliveryStatus.UNKNOWN
        assert outbox.due(clock() + timedelta(seconds=59)) == []
        assert [x.id for x in outbox.due(clock() + timedelta(seconds=60))] == [d.id]
    assert emu.post_texts() == ["hello"]


class _Refused(httpx.AsyncBaseTransport):
    """Refuses the connections of the first ``times`` creates (nothing of them reached the
    platform); everything else goes to the emulator."""

    def __init__(self, emu: OutboxNetEmulator, times: int) -> None:
        self.inner = emu.transport()
        self.times = times

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and self.times > 0:
            self.times -= 1
            raise httpx.ConnectError("connection refused", request=request)
        return await self.inner.handle_async_request(request)


def test_a_not_now_failure_stranded_by_a_crash_is_tried_again(
    outbox: Outbox, emu: OutboxNetEmulator
) -> None:
    """A failure that means "not now" is saved ``failed`` by the attempt, then made
    ``pending`` with its retry time by the worker's release: two writes. A worker killed
    between them (or whose release met a locked outbox) left it ``failed`` for good,
    although the worker promises to try it again: no later run took it. A worker that
    starts puts such a delivery back to ``pending`` with its retry time."""
    clock = FakeClock()
    acct = emu.account()
    (d,) = outbox.add(Post(text="later"), acct)
    real = outbox.release

    def crashed(delivery_id: str, *, retry_at: datetime | None = None) -> None:
        if retry_at is not None:
            raise OutboxConflict("stands for the process dying before this write")
        real(delivery_id)

    outbox.release = crashed  # type: ignore[method-assign]
    refusing = _Refused(emu, times=FAST.attempts)  # every try of the first attempt
    with (
        make_worker(outbox, emu, [acct], clock, transport=refusing, backoff=10.0) as worker,
        pytest.raises(OutboxConflict),
    ):
        worker.run_once()
    outbox.release = real  # type: ignore[method-assign]
    stranded = outbox.get(d.id)
    assert stranded is not None and stranded.status is DeliveryStatus.FAILED
    assert emu.post_texts() == []
    clock.advance(seconds=10)
    with make_worker(outbox, emu, [acct], clock, transport=refusing, backoff=10.0) as worker:
        (done,) = worker.run_once()
    assert done.ok
    assert emu.post_texts() == ["later"]


def test_a_not_now_failure_whose_release_met_a_lock_is_tried_again_by_the_same_worker(
    outbox: Outbox, emu: OutboxNetEmulator
) -> None:
    """The same, without a restart: a release refused by a locked outbox is a conflict the
    worker logs and goes on from; its next claim puts the delivery back to ``pending``."""
    clock = FakeClock()
    acct = emu.account()
    (d,) = outbox.add(Post(text="later"), acct)
    real = outbox.release
    refusals = [OutboxConflict("the outbox stayed locked")]

    def locked(delivery_id: str, *, retry_at: datetime | None = None) -> None:
        if retry_at is not None and refusals:
            raise refusals.pop()
        real(delivery_id, retry_at=retry_at)

    outbox.release = locked  # type: ignore[method-assign]
    refusing = _Refused(emu, times=FAST.attempts)
    with make_worker(outbox, emu, [acct], clock, transport=refusing, backoff=10.0) as worker:
        with pytest.raises(OutboxConflict):
            worker.run_once()
        stranded = outbox.get(d.id)
        assert stranded is not None and stranded.status is DeliveryStatus.FAILED
        clock.advance(seconds=10)
        (done,) = worker.run_once()
    assert done.ok
    assert emu.post_texts() == ["later"]
