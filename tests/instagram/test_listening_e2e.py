"""Instagram listening end to end over the socket: a known answer across repeated searches
and page boundaries, and the 30 unique hashtags of 7 days."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator

import pytest

from brandkit import Account, Client, Query, RetryPolicy
from brandkit.errors import RateLimited
from brandkit.platforms.instagram import InstagramAdapter
from brandkit.testing.instagram import InstagramEmulator

FAST = RetryPolicy(initial=0.01, max_backoff=0.05)

WORDS = ["coffee", "morning", "brandkit", "launch", "kopi", "enak", "美味しい", "today"]
TAGS = ["#brandkit", "#BrandKit", "#kopi", "#ラーメン", "#brandkitten", "#kopisusu", "#travel"]


@pytest.fixture
def emu() -> Iterator[InstagramEmulator]:
    """The emulator, served on 127.0.0.1."""
    emu = InstagramEmulator()
    with emu.serve():
        yield emu


@pytest.fixture
def account(emu: InstagramEmulator) -> Account:
    acct: Account = emu.account()
    return acct


def caption(rng: random.Random) -> str:
    words = rng.sample(WORDS, 3)
    tags = rng.sample(TAGS, rng.randint(0, 2))
    return " ".join(words + tags)


def drain(
    client: Client, account: Account, query: Query, cursor: str | None, limit: int
) -> tuple[list[str], str | None, int]:
    """Search until ``more`` is false; the ids found, the last cursor and the requests."""
    ids: list[str] = []
    requests = 0
    for _ in range(100):
        page = client.search(account, query, since=cursor, limit=limit)
        ids.extend(m.id for m in page.messages)
        requests += page.requests
        cursor = page.cursor
        if not page.more:
            return ids, cursor, requests
    raise AssertionError("the search never finished")


@pytest.mark.parametrize("limit", [1000, 37, 120])
def test_known_answer_across_repeated_searches_and_pages(
    emu: InstagramEmulator, account: Account, limit: int
) -> None:
    """300 public posts, three queries: each search finds exactly the posts the query
    matches (Query.matches, the reference meaning), each once, across page boundaries and
    limits that stop mid-page; later searches from the cursor find exactly the new ones."""
    rng = random.Random(13)
    texts: dict[str, str] = {}
    for n in range(300):
        text = caption(rng)
        texts[emu.audience(f"voice{n % 23}").post(text, lang="en")] = text
    queries = [
        Query(hashtags=["brandkit"]),
        Query(hashtags=["kopi", "ラーメン"]),
        Query(hashtags=["BrandKit", "kopisusu"]),
    ]
    with Client(retry=FAST) as client:
        cursors: list[str | None] = []
        for query in queries:
            want = sorted(i for i, t in texts.items() if query.matches(t))
            got, cursor, requests = drain(client, account, query, None, limit)
            assert sorted(got) == want and len(got) == len(set(got)), query
            if limit == 1000:
                tags = InstagramAdapter(account).hashtags_of(query)
                per_tag = [
                    sum(1 for t in texts.values() if Query(hashtags=[tag]).matches(t))
                    for tag in tags
                ]
                least = len(tags) + sum(max(1, math.ceil(n / 50)) for n in per_tag)
                assert requests == least
            cursors.append(cursor)
        again = [
            drain(client, account, q, c, limit)[0] for q, c in zip(queries, cursors, strict=True)
        ]
        assert again == [[], [], []]
        new: dict[str, str] = {}
        for n in range(60):
            text = caption(rng)
            new[emu.audience(f"late{n % 5}").post(text)] = text
        for query, cursor in zip(queries, cursors, strict=True):
            want = sorted(i for i, t in new.items() if query.matches(t))
            got, _, _ = drain(client, account, query, cursor, limit)
            assert sorted(got) == want and len(got) == len(set(got)), query


def test_posts_arriving_between_pages_are_found_next_time(
    emu: InstagramEmulator, account: Account
) -> None:
    """Posts made while a search is paused at its limit land anywhere in Meta's order
    (before the page it stopped at, too): the next searches find every one, once."""
    query = Query(hashtags=["kopi"])
    first = [emu.audience("a").post(f"#kopi {n}") for n in range(130)]
    found: list[str] = []
    with Client(retry=FAST) as client:
        page = client.search(account, query, limit=50)
        assert page.more
        found.extend(m.id for m in page.messages)
        later = [emu.audience("b").post(f"#kopi late {n}") for n in range(40)]
        ids, cursor, _ = drain(client, account, query, page.cursor, 50)
        found.extend(ids)
        # A full read from the top picks up what landed before the resumed page.
        ids, _, _ = drain(client, account, query, cursor, 1000)
        found.extend(ids)
    assert sorted(found) == sorted(first + later)


def test_thirty_first_hashtag_is_rate_limited_once(
    emu: InstagramEmulator, account: Account
) -> None:
    """A query of 30 hashtags spends the week's 30; searching them again costs nothing
    more; a 31st hashtag is refused by Meta with code 18: RateLimited on
    ``instagram:hashtags`` after one request, never repeated."""
    user = str(account.settings["ig_user_id"])
    thirty = Query(hashtags=[f"tag{n}" for n in range(30)])
    with Client(retry=FAST) as client:
        client.search(account, thirty)
        assert len(emu.hashtag_queries(user)) == 30
        client.search(account, thirty)
        before = len(emu.requests)
        with pytest.raises(RateLimited) as err:
            client.search(account, Query(hashtags=["tag30"]))
        assert len(emu.requests) - before == 1
        assert err.value.bucket == "instagram:hashtags"
        emu.clock.advance(7 * 86_400)
        assert client.search(account, Query(hashtags=["tag30"])).messages == ()


def test_unsupported_query_is_refused_before_any_request(
    emu: InstagramEmulator, account: Account
) -> None:
    """Words on Instagram: UnsupportedQuery naming them, nothing sent."""
    from brandkit.listening import UnsupportedQuery

    with Client(retry=FAST) as client:
        before = len(emu.requests)
        with pytest.raises(UnsupportedQuery) as err:
            client.search(account, Query(any=["brandkit"], hashtags=["brandkit"]))
        assert err.value.feature == "words"
        assert len(emu.requests) == before


@pytest.mark.anyio
async def test_async_search_finds_the_same(emu: InstagramEmulator, account: Account) -> None:
    """AsyncClient.search: the same posts, the same cursor semantics."""
    from brandkit import AsyncClient

    tagged = [emu.audience("a").post(f"#kopi {n}") for n in range(55)]
    emu.audience("b").post("kopi without the tag")
    async with AsyncClient(retry=FAST) as client:
        page = await client.search(account, Query(hashtags=["kopi"]))
        assert sorted(m.id for m in page.messages) == sorted(tagged)
        assert page.requests == 3
        again = await client.search(account, Query(hashtags=["kopi"]), since=page.cursor)
        assert again.messages == () and again.requests == 2
