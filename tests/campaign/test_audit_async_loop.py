"""`arelease` (the async worker's release before each claim) does its SQLite work off the
event loop, as the worker's claim does: a file locked by another process (another worker's
write) stopped the loop for as long as the lock was held, and every other account's
requests under way on it with it."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from brandkit import AsyncClient, Post
from brandkit.campaign import Campaign, arelease, holds, queue
from brandkit.content import Article
from brandkit.outbox import Outbox
from tests.campaign.conftest import FAST, Site


def test_arelease_leaves_the_loop_free_while_the_file_is_locked(site: Site, tmp_path: Path) -> None:
    """Another connection holds the file's write lock, and only the event loop lets it go:
    a release that waits for the lock on the loop would never see it let go (and fail when
    its wait runs out); one that waits off the loop finishes once the loop has let it go."""
    path = tmp_path / "brandkit.db"
    outbox = Outbox(str(path), timeout=5)
    camp = Campaign(
        Article(title="Acme opens in Lisbon", body="Forty engineers."),
        announce=Post(text="We are in Lisbon! {url}"),
        to=site.networks,
    )
    # The article is not sent yet: the release's look writes the hold's next look.
    hold = queue(outbox, camp, [site.blog_account])

    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    events: list[str] = []

    async def main() -> None:
        async def let_go() -> None:
            # Turns of the loop while the release is under way, then the lock goes.
            for _ in range(5):
                await asyncio.sleep(0.02)
            other.execute("COMMIT")
            events.append("let go")

        async def run() -> None:
            async with AsyncClient(retry=FAST) as client:
                assert await arelease(outbox, client) == []
            events.append("released")

        await asyncio.gather(let_go(), run())

    asyncio.run(main())
    other.close()
    assert events == ["let go", "released"]
    (stored,) = holds(outbox)
    assert stored.id == hold.id and stored.reason == "waiting for the article to be published"
