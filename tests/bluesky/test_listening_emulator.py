"""The Bluesky emulator's searchPosts, raw XRPC (its query syntax, filters, paging, limits,
errors and rate limits), and listening end to end over the socket: a known answer of a few
hundred posts found exactly once each across repeated searches and page boundaries."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from brandkit import AsyncClient, Client
from brandkit.listening import Query
from brandkit.platforms.bluesky import BlueskyAdapter
from brandkit.testing.bluesky import BlueskyEmulator, BlueskyLimits
from tests.bluesky._support import FAST
from tests.bluesky.test_emulator import Pds, error

SEARCH = "/xrpc/app.bsky.feed.searchPosts"
VIEW_KEYS = {
    "uri",
    "cid",
    "author",
    "record",
    "replyCount",
    "repostCount",
    "likeCount",
    "quoteCount",
    "bookmarkCount",
    "indexedAt",
    "viewer",
    "labels",
}


@pytest.fixture
def pds(emu: BlueskyEmulator) -> Iterator[Pds]:
    client = Pds(emu)
    yield client
    client.http.close()


def search(pds: Pds, **params: Any) -> httpx.Response:
    return pds.http.get(SEARCH, params=params, headers=pds.auth)


def texts(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [p["record"]["text"] for p in response.json()["posts"]]


def test_posts_come_newest_first_as_post_views(emu: BlueskyEmulator, pds: Pds) -> None:
    """The AppView's postView (author, record, counts, indexedAt), hitsTotal, and replies
    are found as well as posts."""
    fan = emu.audience("fan")
    first = fan.post("brandkit one", lang="en")
    emu.clock.advance(1)
    fan.reply(first, "brandkit two")
    answer = search(pds, q="brandkit")
    assert texts(answer) == ["brandkit two", "brandkit one"]
    body = answer.json()
    assert set(body) == {"hitsTotal", "posts"}  # no cursor: nothing more
    assert body["hitsTotal"] == 2
    view = body["posts"][1]
    assert set(view) == VIEW_KEYS
    assert view["uri"] == first
    assert view["author"]["handle"] == "fan.test" and "followersCount" not in view["author"]
    assert view["record"]["langs"] == ["en"]


def test_words_phrases_and_negation(emu: BlueskyEmulator, pds: Pds) -> None:
    """Words are ANDed (whole words, any case), quotes make a phrase, -word excludes one."""
    fan = emu.audience("fan")
    for text in ("Big launch day", "launch big day", "big day, no launch", "big job day"):
        fan.post(text)
        emu.clock.advance(1)
    assert texts(search(pds, q="big day")) == [
        "big job day",
        "big day, no launch",
        "launch big day",
        "Big launch day",
    ]
    assert texts(search(pds, q='"big day"')) == ["big day, no launch", "launch big day"]
    assert texts(search(pds, q="big day -job -launch")) == []
    assert texts(search(pds, q="big -job")) == [
        "big day, no launch",
        "launch big day",
        "Big launch day",
    ]


def test_hashtags_are_tag_facets_and_several_tags_must_all_be_there(
    emu: BlueskyEmulator, pds: Pds
) -> None:
    """The audience's #tags become tag facets as the app makes them (an emoji tag too, a
    trailing full stop left out); tag= takes several tags together (AND)."""
    fan = emu.audience("fan")
    both = fan.post("Ayo #BrandKit #kopi.")
    emu.clock.advance(1)
    fan.post("cuma #kopi")
    emu.clock.advance(1)
    fire = fan.post("panas #🔥 #ブランド")
    facets = emu.record(both).value["facets"]
    assert [f["features"][0]["tag"] for f in facets] == ["BrandKit", "kopi"]
    assert facets[1]["index"] == {"byteStart": 14, "byteEnd": 19}
    assert texts(search(pds, q="#kopi", tag=["kopi"])) == ["cuma #kopi", "Ayo #BrandKit #kopi."]
    assert texts(search(pds, q="#kopi", tag=["kopi", "brandkit"])) == ["Ayo #BrandKit #kopi."]
    assert [p["uri"] for p in search(pds, q="#🔥", tag=["🔥"]).json()["posts"]] == [fire]
    assert texts(search(pds, q="#ブランド")) == ["panas #🔥 #ブランド"]


def test_mentions_are_facets_of_the_account(emu: BlueskyEmulator, pds: Pds) -> None:
    """mentions= matches mention facets only: the account's own posts are not mentions."""
    fan = emu.audience("fan")
    fan.post(f"hello @{pds.handle}")
    fan.post("hello @nobody.example")
    answer = search(pds, q=f"@{pds.handle}", mentions=pds.handle)
    assert texts(answer) == [f"hello @{pds.handle}"]
    assert texts(search(pds, q="hello", mentions="nobody.example")) == []


def test_lang_since_and_until(emu: BlueskyEmulator, pds: Pds) -> None:
    """lang= matches the record's langs (en covers en-GB); since is inclusive, until is
    exclusive; a date alone is midnight UTC."""
    fan = emu.audience("fan")
    start = emu.clock.now()
    fan.post("kopi pagi", lang="id")
    emu.clock.advance(1)
    fan.post("kopi morning", lang="en-GB")
    emu.clock.advance(1)
    fan.post("kopi again", lang="en")
    assert texts(search(pds, q="kopi", lang="en")) == ["kopi again", "kopi morning"]
    second = (start + timedelta(seconds=1)).isoformat(timespec="milliseconds")
    third = (start + timedelta(seconds=2)).isoformat(timespec="milliseconds")
    assert texts(search(pds, q="kopi", since=second, until=third)) == ["kopi morning"]
    day = start.date()
    assert len(texts(search(pds, q="kopi", since=day.isoformat()))) == 3
    assert texts(search(pds, q="kopi", until=day.isoformat())) == []


def test_pages_by_an_offset_cursor(emu: BlueskyEmulator, pds: Pds) -> None:
    fan = emu.audience("fan")
    for n in range(5):
        fan.post(f"kopi {n}")
        emu.clock.advance(1)
    first = search(pds, q="kopi", limit=2)
    assert texts(first) == ["kopi 4", "kopi 3"]
    assert first.json()["cursor"] == "2" and first.json()["hitsTotal"] == 5
    second = search(pds, q="kopi", limit=2, cursor="2")
    assert texts(second) == ["kopi 2", "kopi 1"]
    last = search(pds, q="kopi", limit=2, cursor="4")
    assert texts(last) == ["kopi 0"] and "cursor" not in last.json()


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "x", "limit": "0"}, (400, "InvalidRequest")),
        ({"q": "x", "limit": "101"}, (400, "InvalidRequest")),
        ({"limit": "10"}, (400, "InvalidRequest")),
        ({"q": "x", "cursor": "page2"}, (400, "InvalidRequest")),
        ({"q": "  "}, (400, "BadQueryString")),
        ({"q": "x", "since": "last week"}, (400, "BadQueryString")),
    ],
)
def test_bad_parameters_are_refused(pds: Pds, params: dict[str, str], expected: Any) -> None:
    assert error(search(pds, **params))[:2] == expected


def test_a_session_is_required(pds: Pds) -> None:
    answer = pds.http.get(SEARCH, params={"q": "x"})
    assert answer.status_code == 401


def test_searches_are_rate_limited_like_every_read() -> None:
    emu = BlueskyEmulator(rate_limits=BlueskyLimits(api=((3, 300.0),)))
    pds = Pds(emu)  # the login spends one
    answers = [search(pds, q="x") for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[0].headers["RateLimit-Policy"] == "3;w=300"
    assert error(answers[2])[1] == "RateLimitExceeded"


# -- listening end to end ----------------------------------------------------------------------

WORDS = ("kopi", "teh", "susu", "air")


def _populate(emu: BlueskyEmulator, brand: str, start: int, count: int) -> None:
    """``count`` posts by nine fans: words, tags, languages, mentions of the brand, replies;
    bursts of several posts in the same millisecond."""
    last: str | None = None
    for n in range(start, start + count):
        fan = emu.audience(f"fan{n % 9}")
        word = WORDS[n % 4]
        text = f"{word} nomor {n}"
        if n % 5 == 0:
            text += " #ブランド"
        if n % 7 == 0:
            text += f" @{brand}"
        if n % 11 == 0:
            text += " lowongan kerja"
        lang = "ja" if n % 3 == 0 else "id"
        if n % 13 == 0 and last is not None:
            last = fan.reply(last, text)
        else:
            last = fan.post(text, lang=lang)
        if n % 4 == 3:
            emu.clock.advance(0.5)  # else the same millisecond as the last


def _expected(emu: BlueskyEmulator, query: Query) -> set[str]:
    out = set()
    for rec in emu.records.values():
        if rec.collection != "app.bsky.feed.post" or rec.did == emu.user("brand.test").did:
            continue
        langs = rec.value.get("langs") or [None]
        if query.languages and langs[0] is None:
            continue  # lang= finds posts that say their language (replies here do not)
        if query.matches(rec.text, language=langs[0]):
            out.add(rec.uri)
    return out


QUERIES = (
    Query(any=["kopi", "teh"]),
    Query(any=["nomor"], exclude=["kerja"], languages=["ja"]),
    Query(hashtags=["ブランド"]),
    Query(handles=["brand.test"], exclude=["kerja"]),
)


@pytest.mark.parametrize("query", QUERIES, ids=["any", "exclude-lang", "tag", "mention"])
def test_known_answer_each_match_once_across_stops_and_new_posts(
    served: BlueskyEmulator, query: Query, monkeypatch: pytest.MonkeyPatch
) -> None:
    """300 posts; pages of 10 and searches of about 25 posts (stops past page boundaries,
    bursts of posts in one millisecond split between pages): every matching post comes
    exactly once; 60 posts more, and the next searches find just the new ones."""
    monkeypatch.setattr(BlueskyAdapter, "search_page", 10)
    account = served.account(name="brand", handle="brand.test")
    _populate(served, "brand.test", 0, 300)
    seen: list[str] = []
    cursor: str | None = None
    stops = 0
    with Client(retry=FAST) as client:
        for _ in range(50):
            page = client.search(account, query, since=cursor, limit=25)
            seen += [m.id for m in page.messages]
            cursor = page.cursor
            if not page.more:
                break
            stops += 1
        assert stops >= 1
        wanted = _expected(served, query)
        assert len(wanted) > 10
        assert sorted(seen) == sorted(wanted)
        assert client.search(account, query, since=cursor).messages == ()
        before = set(served.records)
        _populate(served, "brand.test", 300, 60)
        new: list[str] = []
        for _ in range(50):
            page = client.search(account, query, since=cursor, limit=25)
            new += [m.id for m in page.messages]
            cursor = page.cursor
            if not page.more:
                break
        assert sorted(new) == sorted(_expected(served, query) - before)


@pytest.mark.anyio
async def test_async_client_finds_the_same(served: BlueskyEmulator) -> None:
    account = served.account(name="brand", handle="brand.test")
    _populate(served, "brand.test", 0, 120)
    query = QUERIES[0]
    async with AsyncClient(retry=FAST) as client:
        page = await client.search(account, query)
    assert sorted(m.id for m in page.messages) == sorted(_expected(served, query))
    # Two searches (kopi, teh), each of 30 posts: one page each.
    assert page.requests == 1 + 2
