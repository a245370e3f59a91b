"""A Mastodon create whose answer was lost, tried again after Mastodon forgot its
Idempotency-Key (an hour): the worker looks the status up (`Client._find`, the adapter's
read-back of the account's statuses) and records it; it never posts it a second time. Over
a socket on 127.0.0.1, with the outbox in a SQLite file and the emulator's clock (which the
answers' Date header carries) moved on past the key's hour."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from brandkit import AsyncClient, DeliveryStatus, Post, RetryPolicy
from brandkit.outbox import Outbox, Worker
from brandkit.testing.mastodon import MastodonEmulator

QUICK = RetryPolicy(attempts=2, initial=0.001, max_backoff=0.002, max_wait=1.0)
STATUSES = "/api/v1/statuses"
# What Mastodon turns into HTML (a link, a remote mention, a hashtag, an ampersand, a line
# break): the read-back must match it to the text that was sent.
TEXT = "Spring & summer at @bob@else.example:\nhttps://example.com/a/long/path?x=1 #launch"


class Clock:
    """The worker's and the outbox's time, moved on with the emulator's."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def mastodon() -> Iterator[MastodonEmulator]:
    emu = MastodonEmulator()
    with emu.serve():
        yield emu


@pytest.mark.parametrize("later", [timedelta(minutes=65), timedelta(hours=3)])
@pytest.mark.parametrize("parts", [1, 2])
def test_a_lost_create_tried_after_its_key_expired_is_found_not_posted_again(
    mastodon: MastodonEmulator, tmp_path: Path, parts: int, later: timedelta
) -> None:
    account = mastodon.account()
    clock = Clock()
    # Over Mastodon's 500 characters, a thread of two statuses: the second's answer is lost.
    words = " ".join(f"word{i}" for i in range(70))
    text = TEXT if parts == 1 else f"{TEXT} {words}"
    with Outbox(str(tmp_path / "brandkit.db"), clock=clock) as box:
        (queued,) = box.add(Post(text=text), account)
        created = 0
        original = mastodon.handle

        def handle(request: httpx.Request) -> httpx.Response:
            nonlocal created
            if request.method == "POST" and request.url.path == STATUSES:
                body = request.read()
                if b'"visibility":"direct"' not in body and b'"visibility": "direct"' not in body:
                    created += 1
                    if created == parts:
                        # This part's create is stored and its answer lost, and so are the
                        # repeats with its key and the key probes: the delivery is left
                        # unknown.
                        mastodon.fault(method="POST", path=STATUSES, drop="after", times=50)
            return original(request)

        mastodon.handle = handle  # type: ignore[method-assign]
        client = AsyncClient(outbox=box, retry=QUICK, clock=clock)
        with Worker(box, [account], client=client, clock=clock) as worker:
            (first,) = worker.run_once()
            assert first.status is DeliveryStatus.UNKNOWN, first.error
            assert len(mastodon.posts) == parts  # the lost part is on Mastodon
            mastodon.handle = original  # type: ignore[method-assign]
            mastodon.clear_faults()

            # Mastodon has forgotten the key (just past its hour, or hours later).
            mastodon.clock.advance(later)
            clock.now += later
            (again,) = worker.run_once()

        assert again.id == queued.id
        assert again.status is DeliveryStatus.SENT, again.error
        assert len(mastodon.posts) == parts, [p["content"] for p in mastodon.posts]
        assert again.ids == [p["id"] for p in mastodon.posts]
        # Found by reading the account's statuses back, after the key probe found nothing.
        assert mastodon.count("GET", r"/api/v1/accounts/[^/]+/statuses") >= 1


# How far the instance's clock is behind the posting host's (negative: ahead of it).
SKEWS = [timedelta(minutes=12), timedelta(minutes=20), timedelta(minutes=-20)]


@pytest.mark.parametrize("another_host", [False, True])
@pytest.mark.parametrize("behind", SKEWS)
@pytest.mark.parametrize(
    "later", [timedelta(minutes=55), timedelta(minutes=65), timedelta(hours=3)]
)
def test_a_lost_create_is_not_posted_again_whatever_the_clocks_say(
    mastodon: MastodonEmulator,
    tmp_path: Path,
    behind: timedelta,
    later: timedelta,
    another_host: bool,
) -> None:
    """The key is stamped by the clock of the host that made it: one ahead of the instance
    made it look younger than it was, so past Mastodon's hour its "unknown key" was trusted
    (or the read-back started after the status) and the part was posted a second time. The
    retry may come from another host, whose clock agrees with the instance's."""
    mastodon.clock.advance(-behind)
    # Made after the clock moved: Mastodon's ids follow its clock, and the emulator's never
    # go back below an id it gave.
    account = mastodon.account()
    clock = Clock()
    with Outbox(str(tmp_path / "brandkit.db"), clock=clock) as box:
        box.add(Post(text=TEXT), account)
        client = AsyncClient(outbox=box, retry=QUICK, clock=clock)
        client._core.adapter_for(account).clock = lambda: clock.now.timestamp()  # type: ignore[attr-defined]
        mastodon.fault(method="POST", path=STATUSES, drop="after", times=50)
        with Worker(box, [account], client=client, clock=clock) as worker:
            (first,) = worker.run_once()
        assert first.status is DeliveryStatus.UNKNOWN, first.error
        assert len(mastodon.posts) == 1  # the create landed, its answer was lost
        mastodon.clear_faults()

        mastodon.clock.advance(later)
        clock.now += later
        client = AsyncClient(outbox=box, retry=QUICK, clock=clock)
        # The same host, or one whose clock is the instance's.
        offset = -behind if another_host else timedelta(0)
        client._core.adapter_for(account).clock = lambda: (clock.now + offset).timestamp()  # type: ignore[attr-defined]
        with Worker(box, [account], client=client, clock=clock) as worker:
            (again,) = worker.run_once()

    assert again.status is DeliveryStatus.SENT, again.error
    assert len(mastodon.posts) == 1, [p["content"] for p in mastodon.posts]
    assert again.ids == [mastodon.posts[0]["id"]]
