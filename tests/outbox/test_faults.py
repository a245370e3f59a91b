"""Fault injection through the worker and the outbox, on the Mastodon and X emulators.

429 storms, 5xx, connections dropped after the post was stored, answers slower than the
client waits, expired and revoked tokens: in every case each post exists at most once on the
platform, no delivery is lost, and each outcome is explained by the outbox (status, typed
error, history).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from brandkit import (
    Account,
    AsyncClient,
    AuthError,
    Client,
    DeliveryStatus,
    Post,
    RateLimited,
    RetryPolicy,
)
from brandkit._hooks import NullGovernor
from brandkit.delivery import Delivery
from brandkit.outbox import Outbox, Worker
from brandkit.testing import Emulator
from brandkit.testing.mastodon import MastodonEmulator
from brandkit.testing.x import XEmulator

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
CREATE = {"mastodon": "/api/v1/statuses", "x": "/2/tweets"}


class FakeClock:
    """The worker's clock, moved by hand."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


async def no_sleep(seconds: float) -> None:
    """The driver's waits pass at once."""


class Rig:
    """One emulator on a socket, one account, an outbox and a worker with short timeouts."""

    def __init__(self, platform: str, db: Path) -> None:
        self.platform = platform
        self.emu: Emulator = MastodonEmulator() if platform == "mastodon" else XEmulator()
        self.db = db
        self.clock = FakeClock()
        self.changed: list[str] = []

    def start(self, *, timeout: float = 2.0) -> Iterator[Rig]:
        with self.emu.serve():
            self.account: Account = self.emu.account(
                name="brand",
                on_credentials_changed=lambda acct, new: self.changed.extend(new),
            )
            self.outbox = Outbox(self.db)
            client = AsyncClient(
                outbox=self.outbox,
                timeout=timeout,
                retry=RetryPolicy(attempts=4, initial=0.001, max_backoff=0.002, max_wait=5),
                sleep=no_sleep,
                clock=self.clock,
                # The driver's waits are skipped, so a governor keyed to real time would spin.
                governor=NullGovernor(),
            )
            self.worker = Worker(
                self.outbox, [self.account], client=client, clock=self.clock, backoff=60
            )
            try:
                yield self
            finally:
                self.worker.close()
                self.outbox.close()

    def add(self, text: str) -> Delivery:
        (d,) = self.outbox.add(Post(text=text), self.account)
        return d

    def run(self, minutes: float = 0) -> list[Delivery]:
        self.clock.now += timedelta(minutes=minutes)
        return self.worker.run_once()

    def settle(self, d: Delivery, rounds: int = 6) -> Delivery:
        """Run the worker until the delivery is finished or needs a person."""
        self.run()
        for _ in range(rounds):
            if self.stored(d).status not in (DeliveryStatus.PENDING, DeliveryStatus.UNKNOWN):
                break
            self.run(minutes=5)
        return self.stored(d)

    def parts(self, d: Delivery) -> list[str]:
        """The texts the platform should end up with for ``d``."""
        with Client() as client:
            return [p.text for p in client.render(d.post, self.account).parts]

    def fault(self, **kw: object) -> None:
        self.emu.fault(method="POST", path=CREATE[self.platform], **kw)

    def stored(self, d: Delivery) -> Delivery:
        got = self.outbox.get(d.id)
        assert got is not None
        return got

    def notes(self, d: Delivery) -> str:
        return "\n".join(e.note or "" for e in self.outbox.history(d.id))


@pytest.fixture(params=["mastodon", "x"])
def rig(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Rig]:
    """A rig on each platform."""
    yield from Rig(request.param, tmp_path / "faults.db").start()


def test_429_storm_then_sent_once(rig: Rig) -> None:
    """More 429s than the driver retries: the delivery waits for its turn, then goes once."""
    d = rig.add("through the storm")
    rig.fault(status=429, headers={"retry-after": "1"}, times=6)
    (first,) = rig.run()
    assert first.status is DeliveryStatus.FAILED
    assert isinstance(first.error, RateLimited)
    assert rig.stored(d).status is DeliveryStatus.PENDING
    assert rig.run(minutes=0.5) == []
    (second,) = rig.run(minutes=2)
    assert second.ok
    assert rig.emu.post_texts() == ["through the storm"]
    assert "429" in rig.notes(d)


def test_5xx_then_sent_once(rig: Rig) -> None:
    """Server errors on the create: retried (with a lookup first), one post in the end."""
    d = rig.add("after the outage")
    rig.fault(status=503, times=3)
    done = rig.settle(d)
    assert done.ok
    assert rig.emu.post_texts() == ["after the outage"]
    if rig.platform == "x":
        # X has no idempotency key: the driver never repeats the create by itself.
        assert done.attempts == 2
        assert "503" in rig.notes(d)


def test_dropped_after_store_is_not_duplicated(rig: Rig) -> None:
    """The connection drops after the platform stored a thread's first part: it is found
    (X) or deduplicated by its key (Mastodon); the thread goes on from there."""
    d = rig.add(" ".join(f"word{i}" for i in range(120)))
    rig.fault(drop="after", times=1)
    (done,) = rig.run()
    assert done.ok
    want = rig.parts(d)
    assert len(want) >= 2
    assert rig.emu.post_texts() == want
    assert len(done.parts) == len(want)


@pytest.mark.parametrize("platform", ["mastodon", "x"])
def test_slow_answer_is_not_duplicated(tmp_path: Path, platform: str) -> None:
    """An answer slower than the client waits: the post lands once, never twice."""
    rig_iter = Rig(platform, tmp_path / "slow.db").start(timeout=0.2)
    rig = next(rig_iter)
    try:
        d = rig.add("slow but sure")
        rig.fault(delay=0.5, times=1)
        rig.settle(d)
        time.sleep(0.6)  # let the slow request finish on the server before counting
        assert rig.emu.post_texts().count("slow but sure") == 1
        assert rig.stored(d).status is DeliveryStatus.SENT
    finally:
        rig_iter.close()


def test_expired_x_token_is_refreshed_and_kept_out_of_the_file(tmp_path: Path) -> None:
    """An expired X token is refreshed once; the post goes out; no token reaches the file."""
    rig_iter = Rig("x", tmp_path / "token.db").start()
    rig = next(rig_iter)
    try:
        d = rig.add("after a refresh")
        assert isinstance(rig.emu, XEmulator)
        rig.emu.expire_tokens()
        (done,) = rig.run()
        assert done.ok
        assert "user_token" in rig.changed
        tokens = [rig.account.secret(k) for k in ("user_token", "refresh_token", "client_secret")]
        assert rig.stored(d).ok
    finally:
        rig_iter.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("token.db"))
    assert b"after a refresh" in raw
    for token in tokens:
        assert token
        assert token.encode() not in raw


def test_revoked_mastodon_token_fails_with_the_reason(tmp_path: Path) -> None:
    """A revoked token: the delivery fails with the platform's words and is not retried."""
    rig_iter = Rig("mastodon", tmp_path / "revoked.db").start()
    rig = next(rig_iter)
    try:
        d = rig.add("never sent")
        assert isinstance(rig.emu, MastodonEmulator)
        rig.emu.revoke_tokens()
        (done,) = rig.run()
        assert done.status is DeliveryStatus.FAILED
        assert isinstance(done.error, AuthError)
        assert "revoked" in (done.error.platform_message or "")
        assert rig.run(minutes=120) == []
        assert rig.stored(d).status is DeliveryStatus.FAILED
        assert rig.emu.post_texts() == []
    finally:
        rig_iter.close()
