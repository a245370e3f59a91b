"""A server that answers 5xx with ``Retry-After`` (a WordPress site in maintenance mode, an
instance upgrading) says when it will be back: the client's repeats, a publish outside a
worker and the worker's next try wait at least that long, and the error keeps the wait
through the outbox. Before, a 503 with ``Retry-After: 600`` was asked again after the usual
backoff (milliseconds in the client, 30 s in the worker), every attempt spent on it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from brandkit import Client, DeliveryStatus, PlatformUnavailable, Post, RetryPolicy
from brandkit._hooks import NullGovernor
from brandkit.delivery import error_from_dict
from brandkit.outbox import Outbox, Worker
from brandkit.testing.mastodon import MastodonEmulator

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
INSTANCE = "/api/v2/instance"


class FakeClock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def test_the_client_waits_for_the_announced_end_of_an_outage_over_a_socket() -> None:
    emu = MastodonEmulator()
    with emu.serve():
        account = emu.account(name="brand")
        emu.fault(method="GET", path=INSTANCE, status=503, headers={"Retry-After": "7"})
        slept: list[float] = []
        retry = RetryPolicy(attempts=3, initial=0.01, max_backoff=0.02, max_wait=60.0)
        with Client(retry=retry, sleep=slept.append, governor=NullGovernor()) as client:
            (d,) = client.publish(Post(text="back after maintenance"), account)
        assert d.status is DeliveryStatus.SENT
        assert slept == [7.0]
        assert emu.count("GET", INSTANCE) == 2
    assert emu.post_texts() == ["back after maintenance"]


def test_an_outage_longer_than_max_wait_is_not_asked_again_in_the_call() -> None:
    emu = MastodonEmulator()
    with emu.serve():
        account = emu.account(name="brand")
        emu.fault(method="GET", path=INSTANCE, status=503, headers={"Retry-After": "600"}, times=10)
        slept: list[float] = []
        retry = RetryPolicy(attempts=4, initial=0.01, max_backoff=0.02, max_wait=60.0)
        with Client(retry=retry, sleep=slept.append, governor=NullGovernor()) as client:
            (d,) = client.publish(Post(text="later"), account)
        assert emu.count("GET", INSTANCE) == 1 and slept == []
    # Nothing was sent: the attempt could not start.
    assert d.status is DeliveryStatus.PENDING
    assert isinstance(d.error, PlatformUnavailable) and d.error.retry_after == 600.0
    assert d.error.to_dict()["retry_after"] == 600.0
    back = error_from_dict(d.error.to_dict())
    assert isinstance(back, PlatformUnavailable) and back.retry_after == 600.0
    assert emu.post_texts() == []


def test_a_5xx_without_retry_after_keeps_the_usual_backoff() -> None:
    emu = MastodonEmulator()
    account = emu.account(name="brand")
    emu.fault(method="GET", path=INSTANCE, status=502)
    slept: list[float] = []
    retry = RetryPolicy(attempts=3, initial=0.25, max_backoff=0.5, max_wait=60.0)
    with Client(
        http=httpx.Client(transport=emu.transport()),
        retry=retry,
        sleep=slept.append,
        governor=NullGovernor(),
    ) as client:
        (d,) = client.publish(Post(text="hello"), account)
    assert d.status is DeliveryStatus.SENT and d.error is None
    assert len(slept) == 1 and slept[0] <= 0.5


def test_the_worker_and_a_publish_outside_it_wait_as_long_as_the_server_said(
    db: Path | str,
) -> None:
    clock, emu = FakeClock(), MastodonEmulator()
    account = emu.account(name="brand")
    emu.fault(method="GET", path=INSTANCE, status=503, headers={"Retry-After": "600"}, times=10**6)
    fast = RetryPolicy(attempts=2, initial=0.001, max_backoff=0.002, max_wait=60.0, settle=0.0)

    def client(outbox: Outbox) -> Client:
        return Client(
            outbox=outbox,
            http=httpx.Client(transport=emu.transport()),
            retry=fast,
            clock=clock,
            sleep=lambda _s: None,
            governor=NullGovernor(),
        )

    with Outbox(db, clock=clock) as outbox:
        # Outside a worker: the delivery is handed back due when the server said.
        with client(outbox) as c:
            (outside,) = c.publish(Post(text="outside"), account)
        assert outside.status is DeliveryStatus.PENDING
        assert outbox.next_due() == T0 + timedelta(seconds=600)
        stored = outbox.get(outside.id)
        assert stored is not None and isinstance(stored.error, PlatformUnavailable)
        assert stored.error.retry_after == 600.0

        clock.now = T0 + timedelta(seconds=600)
        with Worker(
            outbox, [account], client=client(outbox), clock=clock, backoff=30, max_attempts=5
        ) as worker:
            (done,) = worker.run_once()
            assert done.id == outside.id and done.status is DeliveryStatus.PENDING
            # Not the worker's 30 s backoff: the ten minutes the server announced.
            assert outbox.next_due() == clock.now + timedelta(seconds=600)
            emu.clear_faults()
            clock.now += timedelta(seconds=599)
            assert worker.run_once() == []
            clock.now += timedelta(seconds=1)
            (done,) = worker.run_once()
        assert done.status is DeliveryStatus.SENT
    assert emu.post_texts() == ["outside"]


def test_a_create_refused_by_an_announced_outage_is_tried_when_the_server_said(
    db: Path | str,
) -> None:
    """The create itself answered 503 with ``Retry-After``: looked up (not there), failed
    "not now", and tried again by the worker no sooner than the server said."""
    clock, emu = FakeClock(), MastodonEmulator()
    account = emu.account(name="brand")
    emu.fault(method="POST", path="/api/v1/statuses", status=503, headers={"Retry-After": "900"})
    fast = RetryPolicy(attempts=2, initial=0.001, max_backoff=0.002, max_wait=60.0, settle=0.0)
    with Outbox(db, clock=clock) as outbox:
        (d,) = outbox.add(Post(text="launch"), account)
        client = Client(
            outbox=outbox,
            http=httpx.Client(transport=emu.transport()),
            retry=fast,
            clock=clock,
            sleep=lambda _s: None,
            governor=NullGovernor(),
        )
        with Worker(outbox, [account], client=client, clock=clock, backoff=30) as worker:
            (done,) = worker.run_once()
            assert done.status is DeliveryStatus.FAILED
            assert isinstance(done.error, PlatformUnavailable)
            assert done.error.retry_after == 900.0
            assert outbox.next_due() == T0 + timedelta(seconds=900)
            clock.now = T0 + timedelta(seconds=899)
            assert worker.run_once() == []
            clock.now = T0 + timedelta(seconds=900)
            (done,) = worker.run_once()
        assert done.id == d.id and done.status is DeliveryStatus.SENT
    assert emu.post_texts() == ["launch"]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "brandkit.db"
