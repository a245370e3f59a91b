"""The worker sets a delivery back by a server's wait (a 429's reset, a 503's Retry-After) no
longer than the client's governor takes such a wait for (`Governor(max_server_wait=...)`),
when that is under the day the worker caps it at anyway: it used to cap at the day alone,
so an account whose governor allowed a retry after 10 minutes sat out the server's whole
wait, the governor's setting ignored."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from brandkit import AsyncClient, DeliveryStatus, Post, RetryPolicy
from brandkit.governor import Governor
from brandkit.governor._parse import DEFAULT_MAX_WAIT
from brandkit.outbox import Outbox, Worker
from brandkit.testing.mastodon import MastodonEmulator

QUICK = RetryPolicy(attempts=2, initial=0.001, max_backoff=0.002, max_wait=1.0)
STATUSES = "/api/v1/statuses"


class Clock:
    """A settable clock on today's date (the emulator's answers carry real times)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def mastodon() -> Iterator[MastodonEmulator]:
    emu = MastodonEmulator()
    with emu.serve():
        yield emu


def _refuse(emu: MastodonEmulator, kind: str, clock: Clock, seconds: int) -> None:
    if kind == "429":
        reset = (clock.now + timedelta(seconds=seconds)).isoformat()
        headers = {
            "x-ratelimit-limit": "300",
            "x-ratelimit-remaining": "0",
            "x-ratelimit-reset": reset,
        }
        emu.fault(method="POST", path=STATUSES, status=429, headers=headers, times=1)
    else:
        # Down while the adapter reads the instance's limits, before the create: nothing
        # can be on the platform, so the delivery waits as a 503 says.
        headers = {"retry-after": str(seconds)}
        emu.fault(method="GET", path="/api/v2/instance", status=503, headers=headers, times=1)


@pytest.mark.parametrize("kind", ["429", "503"])
def test_a_servers_wait_is_capped_at_the_governors_max_server_wait(
    mastodon: MastodonEmulator, tmp_path: Path, kind: str
) -> None:
    clock, account = Clock(), mastodon.account()
    start = clock.now
    with Outbox(str(tmp_path / "brandkit.db"), clock=clock) as box:
        box.add(Post(text="spring"), account)
        _refuse(mastodon, kind, clock, 5000)
        governor = Governor(clock=lambda: clock.now.timestamp(), max_server_wait=600)
        client = AsyncClient(outbox=box, governor=governor, retry=QUICK, clock=clock)
        with Worker(box, [account], client=client, clock=clock) as worker:
            (first,) = worker.run_once()
            assert first.status is not DeliveryStatus.SENT
            # Was start + 5000 s: the server's wait, past what the governor takes.
            assert box.next_due() == start + timedelta(seconds=600)
            clock.now = start + timedelta(seconds=600)
            (done,) = worker.run_once()
        assert done.status is DeliveryStatus.SENT
    assert mastodon.post_texts() == ["spring"]


def test_a_longer_cap_is_still_looked_at_once_a_day(
    mastodon: MastodonEmulator, tmp_path: Path
) -> None:
    """A cap over a day (X's monthly usage cap) holds the governor that long; the worker
    still looks once a day (the governor refuses again without sending)."""
    clock, account = Clock(), mastodon.account()
    start = clock.now
    with Outbox(str(tmp_path / "brandkit.db"), clock=clock) as box:
        box.add(Post(text="summer"), account)
        _refuse(mastodon, "429", clock, 3 * 86400)
        governor = Governor(clock=lambda: clock.now.timestamp(), max_server_wait=7 * 86400)
        client = AsyncClient(outbox=box, governor=governor, retry=QUICK, clock=clock)
        with Worker(box, [account], client=client, clock=clock) as worker:
            (first,) = worker.run_once()
        stored = box.get(first.id)
        assert stored is not None and stored.status is DeliveryStatus.PENDING
        # A day, to the second the server's answer gives its clock in.
        due = box.next_due()
        assert due is not None
        assert abs(due - (start + timedelta(seconds=DEFAULT_MAX_WAIT))) < timedelta(seconds=1)
    assert mastodon.count("POST", STATUSES) == 1
