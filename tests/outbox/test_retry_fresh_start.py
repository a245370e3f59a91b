"""A person's retry of a delivery is a fresh start: its attempts count from zero again
(the history keeps the earlier ones). It kept the count: a delivery that had failed after
``max_attempts`` got one attempt after the retry and failed again at the first outage."""

from __future__ import annotations

from brandkit import DeliveryStatus, PlatformUnavailable, Post
from brandkit.outbox import Outbox
from tests.outbox._fakenet import OutboxNetEmulator
from tests.outbox.test_worker import FakeClock, make_worker


def _status(outbox: Outbox, delivery_id: str) -> tuple[DeliveryStatus, int]:
    stored = outbox.get(delivery_id)
    assert stored is not None
    return stored.status, stored.attempts


def test_a_retried_delivery_gets_max_attempts_again(outbox: Outbox, emu: OutboxNetEmulator) -> None:
    clock, acct = FakeClock(), emu.account()
    (d,) = outbox.add(Post(text="hello"), acct)
    emu.fault(method="POST", path="/posts", status=503, times=100)
    with make_worker(outbox, emu, [acct], clock, max_attempts=3, backoff=1) as worker:
        for _ in range(3):
            worker.run_once()
            clock.advance(minutes=5)
        assert _status(outbox, d.id) == (DeliveryStatus.FAILED, 3)

        retried = outbox.retry(d.id)
        assert (retried.status, retried.attempts) == (DeliveryStatus.PENDING, 0)
        assert _status(outbox, d.id) == (DeliveryStatus.PENDING, 0)
        history = outbox.history(d.id)
        # The earlier attempts stay in the history; the retry says how many there were.
        assert max(e.attempts for e in history) == 3
        assert history[-1].note == "retry requested (a fresh start after 3 attempt(s))"
        assert history[-1].attempts == 0

        worker.run_once()  # the outage goes on: one of three attempts, not the last
        clock.advance(minutes=5)
        assert _status(outbox, d.id) == (DeliveryStatus.PENDING, 1)
        worker.run_once()
        clock.advance(minutes=5)
        worker.run_once()
        clock.advance(minutes=5)
        stored = outbox.get(d.id)
        assert stored is not None and (stored.status, stored.attempts) == (
            DeliveryStatus.FAILED,
            3,
        )
        assert isinstance(stored.error, PlatformUnavailable)

        emu.clear_faults()
        outbox.retry(d.id)
        (done,) = worker.run_once()
    assert done.status is DeliveryStatus.SENT and done.attempts == 1
    assert emu.post_texts() == ["hello"]


def test_a_retried_unknown_delivery_is_looked_up_with_a_fresh_count(
    outbox: Outbox, emu: OutboxNetEmulator
) -> None:
    """An unknown one stays unknown (looked up first, never sent blindly) and starts
    over too: its lookups are paced from the first backoff again."""
    (d,) = outbox.add(Post(text="hello"), emu.account())
    d.status, d.attempts = DeliveryStatus.UNKNOWN, 7
    outbox.save(d)
    retried = outbox.retry(d.id)
    assert (retried.status, retried.attempts) == (DeliveryStatus.UNKNOWN, 0)
    assert _status(outbox, d.id) == (DeliveryStatus.UNKNOWN, 0)
    assert outbox.history(d.id)[-1].note == (
        "reconciliation requested (a fresh start after 7 attempt(s))"
    )
