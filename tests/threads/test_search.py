"""Threads listening: query compilation, the keyword-search flow on canned answers, the
emulator's /keyword_search (modes, paging, quota), conformance and a known answer over a
real socket."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from brandkit import Client, Query, RateLimited, RetryPolicy
from brandkit._flow import run_flow
from brandkit.errors import ConfigurationError, MalformedResponse
from brandkit.listening import UnsupportedQuery
from brandkit.platforms.threads import KeywordQuery, ThreadsAdapter
from brandkit.testing.threads import ThreadsEmulator
from tests.threads.test_flows import account

FAST = RetryPolicy(initial=0.01, max_backoff=0.05)


@pytest.fixture
def adapter() -> ThreadsAdapter:
    return ThreadsAdapter(account())


# -- compile_query ------------------------------------------------------------------------------


def test_each_keyword_and_each_topic_tag_is_one_query(adapter: ThreadsAdapter) -> None:
    got = adapter.compile_query(
        Query(any=["brandkit", "merek bagus", "ブランド"], hashtags=["BrandKit", "🎉"])
    )
    assert got == (
        KeywordQuery("brandkit", "KEYWORD"),
        KeywordQuery("merek bagus", "KEYWORD"),
        KeywordQuery("ブランド", "KEYWORD"),
        KeywordQuery("BrandKit", "TAG"),
        KeywordQuery("🎉", "TAG"),
    )


def test_without_alternatives_the_first_phrase_is_the_keyword(adapter: ThreadsAdapter) -> None:
    q = Query(all=["murah"], phrases=['the "best" kit'])
    assert adapter.compile_query(q) == (KeywordQuery('the "best" kit', "KEYWORD"),)
    assert adapter.compile_query(Query(all=["murah", "kit"])) == (KeywordQuery("murah", "KEYWORD"),)


@pytest.mark.parametrize(
    ("query", "feature"),
    [
        (Query(any=["a"], exclude=["job"]), "exclude"),
        (Query(any=["a"], languages=["en"]), "languages"),
        (Query(handles=["brand"]), "handles"),
        (Query(hashtags=["brand.kit"]), "hashtags"),
        (Query(hashtags=["a&b"]), "hashtags"),
        (Query(hashtags=["x" * 51]), "hashtags"),
    ],
)
def test_what_keyword_search_cannot_filter_is_refused(
    adapter: ThreadsAdapter, query: Query, feature: str
) -> None:
    with pytest.raises(UnsupportedQuery) as caught:
        adapter.compile_query(query)
    assert caught.value.feature == feature


def test_the_daily_query_limit_is_a_governor_bucket() -> None:
    policies = {p.bucket: p for p in ThreadsAdapter.rate_policies}
    assert policies["keyword_search"].limit == 2200
    assert policies["keyword_search"].window == 86_400.0


# -- the flow on canned answers ----------------------------------------------------------------

T0 = datetime(2026, 5, 1, 12, tzinfo=UTC)


def post(n: int, text: str = "brandkit is nice") -> dict[str, Any]:
    when = T0 + timedelta(seconds=n)
    return {
        "id": str(18_100_000_000_000_000 + n),
        "text": text,
        "media_type": "TEXT_POST",
        "permalink": f"https://www.threads.net/@fan/post/p{n}",
        "timestamp": when.strftime("%Y-%m-%dT%H:%M:%S+0000"),
        "username": "fan",
        "has_replies": False,
        "is_quote_post": False,
        "is_reply": False,
    }


class Feed:
    """/keyword_search over ``items`` (newest first), ``size`` a page, after-cursors by index."""

    def __init__(self, items: list[dict[str, Any]], size: int = 100) -> None:
        self.items = items
        self.size = size
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        p = request.url.params
        items = sorted(self.items, key=lambda i: i["timestamp"], reverse=True)
        if "since" in p:
            since = datetime.fromtimestamp(int(p["since"]), UTC)
            items = [
                i
                for i in items
                if datetime.strptime(i["timestamp"], "%Y-%m-%dT%H:%M:%S%z") >= since
            ]
        start = int(p.get("after", "0"))
        chunk = items[start : start + self.size]
        body: dict[str, Any] = {"data": chunk}
        if chunk:
            body["paging"] = {"cursors": {"before": str(start), "after": str(start + len(chunk))}}
            if start + len(chunk) < len(items):
                body["paging"]["next"] = "https://graph.threads.net/v1.0/keyword_search?after=x"
        return httpx.Response(200, json=body, request=request)


def run(flow: Any, respond: Callable[[httpx.Request], httpx.Response]) -> Any:
    return run_flow(flow, respond)


def test_search_reads_recent_pages_and_resumes_from_its_mark(adapter: ThreadsAdapter) -> None:
    feed = Feed([post(n) for n in range(150)])
    query = Query(any=["brandkit"])
    page = run(adapter.search(query, None, limit=1000), feed)
    assert len(page.messages) == 150
    assert page.read == 150
    assert [m.created_at for m in page.messages] == sorted(m.created_at for m in page.messages)
    first = feed.requests[0].url.params
    assert (first["q"], first["search_type"], first["search_mode"], first["limit"]) == (
        "brandkit",
        "RECENT",
        "KEYWORD",
        "100",
    )
    assert "owner" not in first["fields"]
    assert len(feed.requests) == 2
    m = page.messages[0]
    assert (m.kind, m.author.handle, m.url) == (
        "found",
        "fan",
        "https://www.threads.net/@fan/post/p0",
    )
    feed.items.append(post(400))
    again = run(adapter.search(query, page.cursor, limit=1000), feed)
    assert [m.id for m in again.messages] == [post(400)["id"]]
    assert feed.requests[-1].url.params["since"] == str(
        int((T0 + timedelta(seconds=149)).timestamp())
    )


def test_limit_stops_with_more_and_the_cursor_goes_on(adapter: ThreadsAdapter) -> None:
    feed = Feed([post(n) for n in range(250)])
    query = Query(any=["brandkit"])
    first = run(adapter.search(query, None, limit=100), feed)
    assert first.more
    rest = run(adapter.search(query, first.cursor, limit=1000), feed)
    assert not rest.more
    ids = [m.id for m in first.messages] + [m.id for m in rest.messages]
    assert sorted(ids) == sorted(post(n)["id"] for n in range(250))


def test_what_was_read_is_narrowed_to_the_query(adapter: ThreadsAdapter) -> None:
    feed = Feed([post(0, "brandkit murah sekali"), post(1, "brandkit mahal")])
    page = run(adapter.search(Query(all=["brandkit", "murah"]), None, limit=10), feed)
    assert [m.text for m in page.messages] == ["brandkit murah sekali"]
    assert page.read == 2


def test_a_post_two_keywords_find_is_found_once(adapter: ThreadsAdapter) -> None:
    feed = Feed([post(0, "brandkit and rival")])
    page = run(adapter.search(Query(any=["brandkit", "rival"]), None, limit=10), feed)
    assert len(feed.requests) == 2
    assert len(page.messages) == 1


@pytest.mark.parametrize(
    "body",
    [
        b"nope",
        b'{"data": "x"}',
        b'{"data": [{"id": "1"}]}',
        b'{"data": [{"id": "1", "timestamp": "yesterday"}]}',
    ],
)
def test_a_bad_answer_is_malformed(adapter: ThreadsAdapter, body: bytes) -> None:
    with pytest.raises(MalformedResponse):
        run(
            adapter.search(Query(any=["brandkit"]), None, limit=10),
            lambda r: httpx.Response(200, content=body, request=r),
        )


@pytest.mark.parametrize("cursor", ["garbage", "{}", '{"v": 1, "queries": {"k": 3}}'])
def test_a_garbled_cursor_is_refused(adapter: ThreadsAdapter, cursor: str) -> None:
    with pytest.raises(ConfigurationError, match="pass since=None"):
        run(adapter.search(Query(any=["brandkit"]), cursor, limit=10), Feed([]))


def test_a_cursor_of_another_query_is_refused(adapter: ThreadsAdapter) -> None:
    page = run(adapter.search(Query(any=["brandkit"]), None, limit=10), Feed([post(0)]))
    with pytest.raises(ConfigurationError, match="another query"):
        run(adapter.search(Query(any=["rival"]), page.cursor, limit=10), Feed([]))


# -- the emulator ----------------------------------------------------------------------------


@pytest.fixture
def emu() -> Iterator[ThreadsEmulator]:
    emu = ThreadsEmulator()
    with emu.serve():
        yield emu


def search(emu: ThreadsEmulator, token: str, **params: Any) -> httpx.Response:
    with httpx.Client(base_url=emu.base_url) as http:
        return http.get(
            "/v1.0/keyword_search", params=params, headers={"Authorization": f"Bearer {token}"}
        )


def test_emulator_keyword_and_tag_modes(emu: ThreadsEmulator) -> None:
    token = emu.account().secret("token")
    one = emu.audience("a").post("brandkit murah #BrandKit")
    two = emu.audience("b").post("murah sekali brandkit")
    emu.audience("c").post("nothing here")
    got = search(emu, token, q="murah brandkit", search_type="RECENT", fields="id,text,username")
    assert [d["id"] for d in got.json()["data"]] == [two, one]
    assert got.json()["data"][0]["username"] == "b"
    tagged = search(emu, token, q="brandkit", search_mode="TAG", fields="id,owner")
    assert tagged.json()["data"] == [{"id": one}]
    assert search(emu, token, q="x", search_type="LATEST").status_code == 400
    assert search(emu, token).json()["error"]["code"] == 100


def test_emulator_keyword_finds_words_as_a_reader_reads_them(emu: ThreadsEmulator) -> None:
    """A brand's possessive, an elided article, Turkish's capital İ, a full-width word and
    Japanese without spaces are the word searched for, as Threads' own search (and
    `Query.matches`) reads them: the emulator had read ``brandkit's`` as one word, so a
    search for ``brandkit`` found none of these posts that Threads returns."""
    acct = emu.account()
    texts = [
        "brandkit's new release",
        "j'adore l'brandkit",
        "ＢＲＡＮＤＫＩＴ rocks",
        "Gezi İstanbul brandkit",
    ]
    posts = [emu.audience(f"u{n}").post(text) for n, text in enumerate(texts)]
    emu.audience("z").post("don't brand kits")
    token = acct.secret("token")
    got = search(emu, token, q="brandkit", search_type="RECENT", limit="10").json()["data"]
    assert sorted(d["id"] for d in got) == sorted(posts)
    tokyo = emu.audience("j").post("来週東京に行きます")
    assert [d["id"] for d in search(emu, token, q="東京").json()["data"]] == [tokyo]
    capital = search(emu, token, q="İSTANBUL").json()["data"]
    assert [d["id"] for d in capital] == [posts[3]]
    assert [d["id"] for d in search(emu, token, q="istanbul").json()["data"]] == [posts[3]]
    assert search(emu, token, q="don").json()["data"] == []
    with Client(retry=FAST) as client:
        found = client.search(acct, Query(any=["brandkit"]))
    assert sorted(m.id for m in found.messages) == sorted(posts)


def test_emulator_tag_mode_folds_a_topic_tag_as_its_text(emu: ThreadsEmulator) -> None:
    token = emu.account().secret("token")
    chip = emu.audience("a").post("Gezi notes")
    emu.set_topic_tag(chip, "İstanbul")
    got = search(emu, token, q="istanbul", search_mode="TAG").json()["data"]
    assert [d["id"] for d in got] == [chip]


def test_emulator_tag_mode_finds_a_topic_tag_chosen_apart_from_the_text(
    emu: ThreadsEmulator,
) -> None:
    token = emu.account().secret("token")
    chip = emu.audience("a").post("Our new release is out")
    emu.set_topic_tag(chip, "BrandKit")
    emu.audience("b").post("brandkit without a tag")
    tagged = search(emu, token, q="brandkit", search_mode="TAG", fields="id,text,topic_tag")
    assert tagged.json()["data"] == [
        {"id": chip, "text": "Our new release is out", "topic_tag": "BrandKit"}
    ]
    with pytest.raises(ValueError, match="topic tag"):
        emu.set_topic_tag(chip, "brand.kit")


def test_a_post_tagged_apart_from_its_text_is_found_once(emu: ThreadsEmulator) -> None:
    """A topic tag picked in Threads' composer is not in the text: the search's TAG query
    finds the post by it, and the match keeps it (it was dropped for want of ``#tag``), once
    although the keyword query of the same search finds it too."""
    acct = emu.account()
    chip = emu.audience("a").post("brandkit launch day")
    emu.set_topic_tag(chip, "BrandKit")
    inline = emu.audience("b").post("so good #brandkit")
    emu.audience("c").post("nothing here")
    with Client(retry=FAST) as client:
        found = client.search(acct, Query(hashtags=["brandkit"]))
        both = client.search(acct, Query(any=["launch"], hashtags=["brandkit"]), since=None)
    assert {m.id for m in found.messages} == {chip, inline}
    assert {m.text for m in found.messages} == {"brandkit launch day", "so good #brandkit"}
    assert sorted(m.id for m in both.messages) == sorted({chip, inline})


def test_emulator_pages_with_cursors_and_next(emu: ThreadsEmulator) -> None:
    token = emu.account().secret("token")
    for n in range(5):
        emu.audience("a").post(f"brandkit {n}")
        emu.clock.advance(1)
    first = search(emu, token, q="brandkit", search_type="RECENT", limit="2").json()
    assert len(first["data"]) == 2
    assert "next" in first["paging"]
    after = first["paging"]["cursors"]["after"]
    second = search(emu, token, q="brandkit", search_type="RECENT", limit="2", after=after).json()
    assert {d["id"] for d in first["data"]}.isdisjoint(d["id"] for d in second["data"])


def test_emulator_quota_counts_only_queries_that_find_something() -> None:
    emu = ThreadsEmulator(keyword_search_quota=2)
    with emu.serve():
        token = emu.account().secret("token")
        emu.audience("a").post("brandkit")
        for _ in range(3):
            assert search(emu, token, q="nothing").status_code == 200
        assert search(emu, token, q="brandkit").status_code == 200
        assert search(emu, token, q="brandkit").status_code == 200
        refused = search(emu, token, q="brandkit")
        assert refused.status_code == 400
        assert refused.json()["error"]["code"] == 17
        emu.clock.advance(86_401)
        assert search(emu, token, q="brandkit").status_code == 200


def test_emulator_without_approval_searches_own_posts_only() -> None:
    emu = ThreadsEmulator(keyword_search_approved=False)
    with emu.serve():
        token = emu.account().secret("token")
        emu.audience("a").post("brandkit")
        assert search(emu, token, q="brandkit").json() == {"data": []}


def test_the_quota_error_is_rate_limited_in_the_keyword_search_bucket() -> None:
    emu = ThreadsEmulator(keyword_search_quota=1)
    with emu.serve():
        acct = emu.account()
        emu.audience("a").post("brandkit")
        with Client(retry=FAST) as client:
            client.search(acct, Query(any=["brandkit"]))
            with pytest.raises(RateLimited) as caught:
                client.search(acct, Query(any=["brandkit"]))
        assert caught.value.bucket == "threads:keyword_search"
        assert caught.value.retry_after == 86_400.0


# -- over the socket ---------------------------------------------------------------------------


def test_known_answer_across_pages_and_repeated_searches() -> None:
    emu = ThreadsEmulator()
    rng = random.Random(13)
    words = ["brandkit", "rival", "weather", "murah", "ブランド"]
    posts: list[tuple[str, str]] = []
    queries = [
        Query(any=["brandkit"]),
        Query(any=["brandkit", "ブランド"]),
        Query(hashtags=["rival"]),
        Query(all=["murah", "brandkit"]),
    ]
    with emu.serve():
        account_ = emu.account()
        found: list[dict[str, int]] = [{} for _ in queries]
        cursors: list[str | None] = [None] * len(queries)
        with Client(retry=FAST) as client:
            for batch in range(3):
                for n in range(100):
                    text = f"{' '.join(rng.sample(words, 2))} {rng.choice(['#rival', ''])} n{batch}-{n}"
                    posts.append((emu.audience(f"v{rng.randrange(5)}").post(text), text))
                    emu.clock.advance(0.3)
                for i, query in enumerate(queries):
                    while True:
                        page = client.search(account_, query, since=cursors[i], limit=60)
                        cursors[i] = page.cursor
                        for m in page.messages:
                            found[i][m.id] = found[i].get(m.id, 0) + 1
                        if not page.more:
                            break
    for i, query in enumerate(queries):
        want = {pid for pid, text in posts if query.matches(text)}
        assert want
        assert set(found[i]) == want, query
        assert set(found[i].values()) == {1}


def test_since_and_until_are_sent_in_unix_seconds(adapter: ThreadsAdapter) -> None:
    feed = Feed([post(n) for n in range(10)])
    query = Query(
        any=["brandkit"], since=T0 + timedelta(seconds=3), until=T0 + timedelta(seconds=6)
    )
    page = run(adapter.search(query, None, limit=100), feed)
    params = feed.requests[0].url.params
    assert params["since"] == str(int((T0 + timedelta(seconds=3)).timestamp()))
    assert params["until"] == str(int((T0 + timedelta(seconds=6)).timestamp()))
    assert [m.id for m in page.messages] == [post(n)["id"] for n in (3, 4, 5)]


def test_an_emoji_topic_tag_and_indonesian_words_over_the_socket(emu: ThreadsEmulator) -> None:
    account_ = emu.account()
    tagged = emu.audience("a").post("pesta #🎉 malam ini")
    worded = emu.audience("b").post("merek bagus sekali")
    emu.audience("c").post("bagus")
    with Client(retry=FAST) as client:
        page = client.search(account_, Query(any=["merek bagus"], hashtags=["🎉"]))
    assert sorted(m.id for m in page.messages) == sorted([tagged, worded])
    assert page.requests == 2
