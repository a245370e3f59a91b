"""Against a real WordPress: articles published at once by one AsyncClient create each new
tag and category once. Each used to look the name up, find nothing and create it, and
WordPress (``wp_insert_term`` checks the name, then inserts) kept the copies: "Launch",
"launch-2"..., the posts split between them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from brandkit import AsyncClient
from brandkit.content import Article
from tests.wordpress.test_wp_brandkit import V2, account, unique
from tests.wordpress.wp_harness import WordPressServer


@pytest.fixture
def http(wordpress: WordPressServer) -> Iterator[httpx.Client]:
    """A raw client for reading back what WordPress stored."""
    with wordpress.client() as client:
        yield client


@pytest.mark.anyio
async def test_articles_published_at_once_create_each_term_once(
    wordpress: WordPressServer, http: httpx.Client
) -> None:
    word = unique("launch")
    tags = [f"{word} {n}" for n in range(4)]
    category = f"{word} news"
    blog = account(wordpress, wordpress)
    async with AsyncClient() as client:
        done = await asyncio.gather(
            *(
                client.publish(
                    Article(title=f"{word} {n}", body="x", tags=tags, categories=[category]),
                    blog,
                )
                for n in range(6)
            )
        )
    assert all(d.ok for (d,) in done), [d.error for (d,) in done]
    for taxonomy, names in (("tags", tags), ("categories", [category])):
        found = http.get(f"{V2}/{taxonomy}", params={"search": word, "per_page": "100"}).json()
        assert sorted(t["name"] for t in found) == sorted(names), found
        assert all(t["count"] == 6 for t in found), found
