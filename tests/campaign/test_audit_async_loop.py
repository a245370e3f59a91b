"""`arelease` (the async worker's release before each claim) does its SQLite work off the
event loop, as the worker's claim does: a file locked by another process (another worker's
write) stopped the loop for as long as the lock was held, and every other account's
requests under way on it with it."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path

from brandkit import AsyncClient, Post
from brandkit.campaign import Campaign, arelease, holds, queue
from brandkit.content import Article
from brandkit.outbox import Outbox
from tests.campaign.conftest import FAST, Site

LOCKED = 1.5  # seconds another process holds the file's write lock


def test_arelease_leaves_the_loop_free_while_the_file_is_locked(site: Site, tmp_path: Path) -> None:
    path = tmp_path / "brandkit.db"
    outbox = Outbox(str(path))
    camp = Campaign(
        Article(title="Acme opens in Lisbon", body="Forty engineers."),
        announce=Post(text="We are in Lisbon! {url}"),
        to=site.networks,
    )
    # The article is not sent yet: the release's look writes the hold's next look.
    hold = queue(outbox, camp, [site.blog_account])

    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    threading.Timer(LOCKED, other.execute, ("COMMIT",)).start()

    async def main() -> float:
        gaps: list[float] = []
        done = asyncio.Event()

        async def ticker() -> None:
            last = time.monotonic()
            while not done.is_set():
                await asyncio.sleep(0.02)
                now = time.monotonic()
                gaps.append(now - last)
                last = now

        async def run() -> None:
            async with AsyncClient(retry=FAST) as client:
                assert await arelease(outbox, client) == []
            done.set()

        await asyncio.gather(ticker(), run())
        return max(gaps)

    started = time.monotonic()
    worst = asyncio.run(main())
    other.close()
    assert time.monotonic() - started >= LOCKED * 0.9  # the release did wait for the lock
    assert worst < LOCKED / 2, f"the event loop stood still for {worst:.2f} s"
    (stored,) = holds(outbox)
    assert stored.id == hold.id and stored.reason == "waiting for the article to be published"
