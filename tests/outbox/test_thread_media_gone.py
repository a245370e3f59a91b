"""A thread whose first part, the one that carries the image, is already published needs
the image file no more: its other parts are text. Deleting the file then must not fail the
rest of the thread (the worker failed it with "media file is gone, put it back")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from brandkit import Client, DeliveryStatus, Post, RetryPolicy
from brandkit._hooks import NullGovernor
from brandkit.content import Media
from brandkit.outbox import Outbox, Worker
from brandkit.testing._images import png
from brandkit.testing.mastodon import MastodonEmulator

FAST = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=0.5)


def test_the_rest_of_a_thread_goes_without_the_published_image(db: Path, tmp_path: Path) -> None:
    image = tmp_path / "chart.png"
    image.write_bytes(png(16, 9))
    # One status per window: the thread's second part is refused with a 429 and waits.
    emu = MastodonEmulator(rate_limits={"statuses": (1, 60.0)})
    text = " ".join(f"word{i}" for i in range(120))  # over 500 characters: two parts
    now = [datetime.now(UTC)]  # the emulator's 429 names a reset on the machine's clock
    with emu.serve():
        account = emu.account(name="brand")
        with Outbox(db, clock=lambda: now[0]) as box:
            (d,) = box.add(Post(text=text, media=(Media.from_path(image, alt="chart"),)), account)
            http = httpx.Client(transport=emu.transport())
            # No governor: the emulator's window moves with its clock, not the machine's.
            with Client(outbox=box, http=http, retry=FAST, governor=NullGovernor()) as client:
                worker = Worker(box, [account], client=client, clock=lambda: now[0])
                with worker:
                    worker.run_once()
                first = box.get(d.id)
                assert first is not None and first.status is DeliveryStatus.PENDING
                assert [p.index for p in first.parts] == [0]
                image.unlink()
                emu.clock.advance(timedelta(minutes=2))
                now[0] += timedelta(minutes=2)
                with worker:
                    worker.run_once()
                done = box.get(d.id)
    assert done is not None and done.status is DeliveryStatus.SENT, done and done.error
    assert len(emu.post_texts()) == 2
