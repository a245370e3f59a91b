"""Articles published at once (an AsyncClient gathering them, threads sharing a Client) find
or create each new tag and category once: each looked the name up, found nothing, and
created it, and WordPress, whose ``wp_insert_term`` checks the name and inserts it in two
steps, kept every copy ("Launch", "launch-2"...), the posts split between them. One flow of
the account's adapter now finds or creates a name at a time; the others look it up after."""

from __future__ import annotations

import asyncio

import pytest

from brandkit import AsyncClient, RetryPolicy
from brandkit.content import Article
from brandkit.testing.wordpress import WordPressEmulator

FAST = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=10, settle=0.05)
TAGS = r"/wp-json/wp/v2/tags"
CATEGORIES = r"/wp-json/wp/v2/categories"


@pytest.fixture
def anyio_backend() -> str:
    """Async tests run on asyncio."""
    return "asyncio"


@pytest.mark.anyio
async def test_articles_published_at_once_create_a_new_term_once() -> None:
    emu = WordPressEmulator()
    with emu.serve():
        blog = emu.account()
        # The first look-ups are slow: every article has asked before any has created.
        emu.fault(method="GET", path=TAGS, delay=0.3, times=1)
        emu.fault(method="GET", path=CATEGORIES, delay=0.3, times=1)
        async with AsyncClient(retry=FAST) as client:
            done = await asyncio.gather(
                *(
                    client.publish(
                        Article(
                            title=f"Launch {n}",
                            body="x",
                            tags=["Launch", "Berlin"],
                            categories=["Press releases"],
                        ),
                        blog,
                    )
                    for n in range(4)
                )
            )
        assert all(d.ok for (d,) in done), [d.error for (d,) in done]
        assert emu.count("POST", TAGS) == 2
        assert emu.count("POST", CATEGORIES) == 1
        assert len({tuple(emu.item(d.parts[0].id)["tags"]) for (d,) in done}) == 1
