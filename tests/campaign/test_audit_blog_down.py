"""A blog that is down is asked once per release run, not once per hold: each look at a
down blog runs the client's whole retry sequence, so with many held announcements on one
blog a worker's run stalled for each of them in turn, and no other account's posts went
out meanwhile. The holds it could not ask about wait as before."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from brandkit import Client, Post
from brandkit.campaign import Campaign, holds, publish, release
from brandkit.content import Article
from brandkit.outbox import Outbox
from tests.campaign.conftest import FAST, Site

HOLDS = 4


def test_a_down_blog_is_asked_once_per_run(site: Site, tmp_path: Path) -> None:
    when = datetime.now(UTC) + timedelta(minutes=10)
    outbox = Outbox(str(tmp_path / "brandkit.db"))
    with Client(retry=FAST, outbox=outbox) as client:
        for n in range(HOLDS):
            camp = Campaign(
                Article(title=f"Launch day {n}", body="Out now.", scheduled_at=when),
                announce=Post(text=f"Launch {n}: {{url}}"),
                to=site.networks,
            )
            (article,) = publish(client, camp, [site.blog_account])
            assert article.ok
        site.blog.clock.advance(timedelta(minutes=11))
        before = site.blog.count("GET")
        site.blog.fault(method="GET", path=".*", status=503, times=1000)
        assert release(outbox, client, now=when + timedelta(minutes=1)) == []
        asked = site.blog.count("GET") - before
        assert asked <= FAST.attempts, f"the down blog was asked {asked} times in one run"
        assert [h.status for h in holds(outbox)] == ["held"] * HOLDS
        assert all("could not ask the blog" in (h.reason or "") for h in holds(outbox))

        # Back up: the next run asks it about each hold, and releases them all.
        site.blog.clear_faults()
        queued = release(outbox, client, now=when + timedelta(minutes=3))
    assert len(queued) == HOLDS * len(site.networks)
    assert [h.status for h in holds(outbox)] == ["released"] * HOLDS


def test_a_down_blog_is_asked_once_per_async_run(site: Site, tmp_path: Path) -> None:
    import asyncio

    from brandkit import AsyncClient
    from brandkit.campaign import arelease

    when = datetime.now(UTC) + timedelta(minutes=10)
    outbox = Outbox(str(tmp_path / "brandkit.db"))
    with Client(retry=FAST, outbox=outbox) as client:
        for n in range(HOLDS):
            camp = Campaign(
                Article(title=f"Launch day {n}", body="Out now.", scheduled_at=when),
                announce=Post(text=f"Launch {n}: {{url}}"),
                to=site.networks,
            )
            publish(client, camp, [site.blog_account])
    site.blog.clock.advance(timedelta(minutes=11))
    before = site.blog.count("GET")
    site.blog.fault(method="GET", path=".*", status=503, times=1000)

    async def run() -> None:
        async with AsyncClient(retry=FAST, outbox=outbox) as client:
            accounts = {a.key: a for a in [site.blog_account, *site.networks]}
            assert await arelease(outbox, client, accounts, now=when + timedelta(minutes=1)) == []

    asyncio.run(run())
    assert site.blog.count("GET") - before <= FAST.attempts
    assert [h.status for h in holds(outbox)] == ["held"] * HOLDS
