"""Mastodon listening: query compilation, the search flows on canned answers, the emulator's
tag timeline and full-text search, and a known answer over a real socket."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from brandkit import Client, Query
from brandkit._flow import run_flow
from brandkit.errors import ConfigurationError, MalformedResponse
from brandkit.listening import UnsupportedQuery
from brandkit.platforms.mastodon import MastodonAdapter
from brandkit.testing.mastodon import MastodonEmulator
from tests.mastodon.conftest import FAST

# -- compile_query ------------------------------------------------------------------------------


def test_hashtags_alone_read_the_tag_timeline_of_each(adapter: MastodonAdapter) -> None:
    # Not one timeline with any[]: Mastodon answers nothing when it does not know the path's
    # tag, and its TagFeed reads only 4 tags.
    first, second = adapter.compile_query(
        Query(hashtags=["BrandKit", "brand_kit", "brandkit"], exclude=["job", "two words"])
    )
    assert first.timeline and second.timeline
    assert first.path == "/api/v1/timelines/tag/BrandKit"
    assert second.path == "/api/v1/timelines/tag/brand_kit"  # brandkit is BrandKit's
    assert first.params == second.params == (("none[]", "job"),)
    assert (first.alternative, second.alternative) == ("BrandKit", "brand_kit")
    (only,) = adapter.compile_query(Query(hashtags=["brandkit"]))
    assert only.params == () and only.alternative is None


def test_non_latin_hashtags_are_percent_encoded_in_the_path(adapter: MastodonAdapter) -> None:
    first, second = adapter.compile_query(Query(hashtags=["ブランド", "merekbagus"]))
    assert first.path == "/api/v1/timelines/tag/%E3%83%96%E3%83%A9%E3%83%B3%E3%83%89"
    assert second.path == "/api/v1/timelines/tag/merekbagus"


@pytest.mark.parametrize("tag", ["🎉", "brand-kit", "2024"])
def test_what_is_not_a_mastodon_hashtag_is_refused(adapter: MastodonAdapter, tag: str) -> None:
    with pytest.raises(UnsupportedQuery) as caught:
        adapter.compile_query(Query(hashtags=[tag]))
    assert caught.value.feature == "hashtags"


def test_handles_are_refused(adapter: MastodonAdapter) -> None:
    with pytest.raises(UnsupportedQuery) as caught:
        adapter.compile_query(Query(handles=["brand"]))
    assert caught.value.feature == "handles"


def test_words_go_to_full_text_search_one_search_per_alternative(
    adapter: MastodonAdapter,
) -> None:
    requests = adapter.compile_query(
        Query(
            any=["brandkit", "brand kit"],
            all=["murah"],
            phrases=["sangat bagus"],
            exclude=["lowongan", "job:ad"],
            languages=["id"],
        )
    )
    assert [r.path for r in requests] == ["/api/v2/search", "/api/v2/search"]
    assert not any(r.timeline for r in requests)
    qs = [dict(r.params)["q"] for r in requests]
    shared = 'murah "sangat bagus" -lowongan -"job:ad" language:id'
    assert qs == [f"brandkit {shared}", f'"brand kit" {shared}']
    assert dict(requests[0].params)["type"] == "statuses"


def test_japanese_words_and_hashtags_with_words(adapter: MastodonAdapter) -> None:
    requests = adapter.compile_query(Query(any=["ブランド"], hashtags=["brandkit"]))
    assert [dict(r.params)["q"] for r in requests] == ["ブランド", "brandkit"]


def test_several_languages_are_filtered_after_reading(adapter: MastodonAdapter) -> None:
    (request,) = adapter.compile_query(Query(all=["brandkit"], languages=["en", "id"]))
    assert dict(request.params)["q"] == "brandkit"


@pytest.mark.parametrize("language", ["english", "en_US", "e", "en-"])
@pytest.mark.parametrize("hashtags", [[], ["brandkit"]], ids=["search", "tag timeline"])
def test_a_language_that_is_no_code_is_refused(
    adapter: MastodonAdapter, language: str, hashtags: list[str]
) -> None:
    """A status's language is an ISO 639 code: ``english`` or ``en_US`` matched nothing,
    in the search's ``language:`` and after reading, with no word of why (X and Bluesky
    refused it)."""
    words = [] if hashtags else ["brandkit"]
    with pytest.raises(UnsupportedQuery, match=repr(language)) as caught:
        adapter.compile_query(Query(any=words, hashtags=hashtags, languages=[language, "en"]))
    assert caught.value.feature == "languages"
    for good in ("en", "kab", "zh-TW", "pt-BR"):
        assert adapter.compile_query(Query(any=["brandkit"], languages=[good]))


def test_a_double_quote_cannot_be_searched(adapter: MastodonAdapter) -> None:
    with pytest.raises(UnsupportedQuery) as caught:
        adapter.compile_query(Query(phrases=['the "best" kit']))
    assert caught.value.feature == "phrases"


# -- flows on canned answers --------------------------------------------------------------------

T0 = datetime(2026, 5, 1, 12, tzinfo=UTC)


def sid(n: int) -> str:
    """The Mastodon id of a status written n seconds after T0."""
    return str(int((T0 + timedelta(seconds=n)).timestamp() * 1000) << 16)


def status(n: int, text: str = "I like #brandkit", lang: str | None = "en") -> dict[str, Any]:
    return {
        "id": sid(n),
        "created_at": (T0 + timedelta(seconds=n)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "content": f"<p>{text}</p>",
        "url": f"https://masto.example/@fan/{sid(n)}",
        "uri": f"https://masto.example/users/fan/statuses/{sid(n)}",
        "in_reply_to_id": None,
        "in_reply_to_account_id": None,
        "visibility": "public",
        "language": lang,
        "account": {
            "id": "42",
            "acct": "fan",
            "display_name": "Fan",
            "url": "https://masto.example/@fan",
            "followers_count": 12,
        },
    }


def run(flow: Any, respond: Callable[[httpx.Request], httpx.Response]) -> Any:
    def attach(request: httpx.Request) -> httpx.Response:
        r = respond(request)
        return httpx.Response(r.status_code, headers=r.headers, content=r.content, request=request)

    return run_flow(flow, attach)


class Timeline:
    """A tag timeline of ``count`` statuses one second apart, paged forward by min_id."""

    def __init__(self, count: int) -> None:
        self.items = [status(n) for n in range(count)]
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        min_id = int(request.url.params["min_id"])
        limit = int(request.url.params["limit"])
        newer = [s for s in self.items if int(s["id"]) > min_id][:limit]
        return httpx.Response(200, json=list(reversed(newer)))


def test_tag_timeline_pages_forward_at_40(adapter: MastodonAdapter) -> None:
    timeline = Timeline(45)
    page = run(adapter.search(Query(hashtags=["brandkit"]), None, limit=1000), timeline)
    assert [m.id for m in page.messages] == [sid(n) for n in range(45)]
    assert page.read == 45
    assert not page.more
    assert [r.url.params["min_id"] for r in timeline.requests] == ["0", sid(39)]
    assert all(r.url.params["limit"] == "40" for r in timeline.requests)
    m = page.messages[0]
    assert m.kind == "found"
    assert m.author.followers == 12
    assert m.text == "I like #brandkit"
    timeline.items.append(status(100))
    again = run(adapter.search(Query(hashtags=["brandkit"]), page.cursor, limit=1000), timeline)
    assert [m.id for m in again.messages] == [sid(100)]


def test_limit_stops_with_more_and_the_cursor_continues(adapter: MastodonAdapter) -> None:
    timeline = Timeline(100)
    query = Query(hashtags=["brandkit"])
    first = run(adapter.search(query, None, limit=50), timeline)
    assert first.more
    assert first.read == 80
    rest = run(adapter.search(query, first.cursor, limit=50), timeline)
    assert not rest.more
    ids = [m.id for m in first.messages] + [m.id for m in rest.messages]
    assert ids == [sid(n) for n in range(100)]


def test_language_and_exclusion_narrow_what_was_read(adapter: MastodonAdapter) -> None:
    timeline = Timeline(0)
    timeline.items = [
        status(0, "#brandkit ok", "en"),
        status(1, "#brandkit bagus", "id"),
        status(2, "#brandkit job offer", "en"),
    ]
    query = Query(hashtags=["brandkit"], exclude=["job"], languages=["en"])
    page = run(adapter.search(query, None, limit=100), timeline)
    assert [m.text for m in page.messages] == ["#brandkit ok"]
    assert page.read == 3


def test_a_timeline_that_does_not_page_forward_is_malformed(adapter: MastodonAdapter) -> None:
    def backwards(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=[status(1)])

    first = run(adapter.search(Query(hashtags=["brandkit"]), None, limit=100), backwards)
    with pytest.raises(MalformedResponse):
        run(adapter.search(Query(hashtags=["brandkit"]), first.cursor, limit=100), backwards)


@pytest.mark.parametrize(
    "body", [b"not json", b'{"statuses": "x"}', b'[{"id": "1"}]', b'[{"id": "../x"}]']
)
def test_a_bad_answer_is_malformed(adapter: MastodonAdapter, body: bytes) -> None:
    with pytest.raises(MalformedResponse):
        run(
            adapter.search(Query(hashtags=["brandkit"]), None, limit=100),
            lambda r: httpx.Response(200, content=body),
        )
    with pytest.raises(MalformedResponse):
        run(
            adapter.search(Query(any=["brandkit"]), None, limit=100),
            lambda r: httpx.Response(200, content=body),
        )


@pytest.mark.parametrize("cursor", ["garbage", "{}", '{"v": 2, "spans": {}}', "x" * 300])
def test_a_garbled_cursor_is_refused(adapter: MastodonAdapter, cursor: str) -> None:
    with pytest.raises(ConfigurationError, match="pass since=None"):
        run(adapter.search(Query(hashtags=["brandkit"]), cursor, limit=10), Timeline(1))


def test_a_cursor_of_another_query_is_refused(adapter: MastodonAdapter) -> None:
    page = run(adapter.search(Query(hashtags=["brandkit"]), None, limit=10), Timeline(1))
    with pytest.raises(ConfigurationError, match="another query"):
        run(adapter.search(Query(hashtags=["other"]), page.cursor, limit=10), Timeline(1))


class Search:
    """/api/v2/search over ``items``: newest first, offset, min_id/max_id as whole seconds."""

    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items = items
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        p = request.url.params

        def second(value: str) -> int:
            return ((int(value) >> 16) // 1000) * 1000

        items = sorted(self.items, key=lambda s: int(s["id"]), reverse=True)
        if "min_id" in p:
            items = [s for s in items if (int(s["id"]) >> 16) > second(p["min_id"])]
        if "max_id" in p:
            items = [s for s in items if (int(s["id"]) >> 16) < second(p["max_id"])]
        offset, limit = int(p["offset"]), int(p["limit"])
        return httpx.Response(
            200, json={"accounts": [], "statuses": items[offset : offset + limit]}
        )


def test_full_text_search_reads_newest_first_and_resumes_below_where_it_stopped(
    adapter: MastodonAdapter,
) -> None:
    search = Search([status(n, "brandkit rocks") for n in range(100)])
    query = Query(any=["brandkit"])
    first = run(adapter.search(query, None, limit=50), search)
    assert first.more
    assert [r.url.params["offset"] for r in search.requests] == ["0", "40"]
    assert {m.id for m in first.messages} == {sid(n) for n in range(20, 100)}
    rest = run(adapter.search(query, first.cursor, limit=50), search)
    assert not rest.more
    assert {m.id for m in rest.messages} == {sid(n) for n in range(20)}
    search.items.append(status(200, "brandkit again"))
    new = run(adapter.search(query, rest.cursor, limit=50), search)
    assert [m.id for m in new.messages] == [sid(200)]


def test_each_alternative_is_one_search_and_a_post_is_found_once(
    adapter: MastodonAdapter,
) -> None:
    search = Search([status(1, "brandkit and brand kit")])
    page = run(adapter.search(Query(any=["brandkit", "brand kit"]), None, limit=50), search)
    assert len(search.requests) == 2
    assert [m.id for m in page.messages] == [sid(1)]
    assert page.read == 2


# -- the emulator ----------------------------------------------------------------------------


@pytest.fixture
def emu() -> Iterator[MastodonEmulator]:
    emu = MastodonEmulator()
    with emu.serve():
        yield emu


def get(emu: MastodonEmulator, path: str, token: str | None, **params: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with httpx.Client(base_url=emu.base_url) as http:
        return http.get(path, params=params, headers=headers)


def test_emulator_tag_timeline_any_all_none_and_links(emu: MastodonEmulator) -> None:
    a = emu.audience("a").post("#brandkit #cats")
    b = emu.audience("b@far.example").post("#BrandKit #dogs")
    c = emu.audience("c").post("#brandkit_fans only")
    emu.audience("d").post("no tags")
    r = get(emu, "/api/v1/timelines/tag/brandkit", None)
    assert [s["id"] for s in r.json()] == [b, a]
    r = get(emu, "/api/v1/timelines/tag/brandkit", None, **{"any[]": "brandkit_fans"})
    assert [s["id"] for s in r.json()] == [c, b, a]
    r = get(emu, "/api/v1/timelines/tag/brandkit", None, **{"none[]": "dogs"})
    assert [s["id"] for s in r.json()] == [a]
    r = get(emu, "/api/v1/timelines/tag/brandkit", None, **{"all[]": "dogs"})
    assert [s["id"] for s in r.json()] == [b]
    r = get(emu, "/api/v1/timelines/tag/brandkit", None, local="true", limit="1")
    assert [s["id"] for s in r.json()] == [a]
    assert f"max_id={a}" in r.headers["link"]
    assert "limit=1" in r.headers["link"]
    assert "local=true" in r.headers["link"]
    assert get(emu, "/api/v1/timelines/tag/nobody", None).json() == []
    assert "link" not in get(emu, "/api/v1/timelines/tag/nobody", None).headers


def test_emulator_tag_timeline_min_id_pages_forward(emu: MastodonEmulator) -> None:
    ids = [emu.audience("a").post(f"#x {n}") for n in range(5)]
    r = get(emu, "/api/v1/timelines/tag/x", None, min_id=ids[0], limit="2")
    assert [s["id"] for s in r.json()] == [ids[2], ids[1]]


def test_emulator_full_text_search_honours_the_indexable_opt_in(emu: MastodonEmulator) -> None:
    account = emu.account(username="brand")
    token = account.secret("token")
    emu.set_indexable("open")
    found = emu.audience("open").post("brandkit is great", lang="en")
    emu.audience("closed").post("brandkit is great too", lang="en")
    mentioned = emu.audience_write(emu.audience("closed"), "mention", "@brand brandkit rocks")
    r = get(emu, "/api/v2/search", token, q="brandkit", type="statuses")
    assert {s["id"] for s in r.json()["statuses"]} == {found, mentioned}
    assert r.json()["statuses"][0]["account"]["indexable"] in (True, False)
    assert get(emu, "/api/v2/search", None, q="brandkit", type="statuses").json()["statuses"] == []
    refused = get(emu, "/api/v2/search", None, q="brandkit", offset="1")
    assert refused.status_code == 401
    assert "pagination" in refused.json()["error"]


def test_emulator_full_text_syntax(emu: MastodonEmulator) -> None:
    token = emu.account(username="brand").secret("token")
    emu.set_indexable("f")
    fan = emu.audience("f")
    one = fan.post("brand kit is cheap", lang="en")
    two = fan.post("kit brand murah", lang="id")
    three = fan.post("brand kit job", lang="en")

    def q(text: str) -> set[str]:
        r = get(emu, "/api/v2/search", token, q=text, type="statuses")
        return {s["id"] for s in r.json()["statuses"]}

    assert q("brand kit") == {one, two, three}
    assert q('"brand kit"') == {one, three}
    assert q('"brand kit" -job') == {one}
    assert q("brand language:id") == {two}
    assert q('"unclosed') == set()
    assert q("nope:thing") == set()


def test_emulator_without_elasticsearch_finds_no_statuses() -> None:
    emu = MastodonEmulator(full_text_search=False, audience_indexable=True)
    with emu.serve():
        token = emu.account(username="brand").secret("token")
        emu.audience("f").post("brandkit")
        r = get(emu, "/api/v2/search", token, q="brandkit", type="statuses")
        assert r.json() == {"accounts": [], "statuses": [], "hashtags": []}


# -- over the socket ---------------------------------------------------------------------------


def test_known_answer_across_pages_and_repeated_searches() -> None:
    """300 posts by indexable and non-indexable voices; each query finds exactly the posts
    it should, once, whatever the limit, across repeated searches from the cursor."""
    emu = MastodonEmulator(audience_indexable=True)
    rng = random.Random(13)
    words = ["brandkit", "rival", "weather", "murah", "ブランド", "job"]
    langs = ["en", "id", "ja"]
    posts: list[tuple[str, str, str, str]] = []
    with emu.serve():
        account = emu.account(username="brand")
        emu.set_indexable("v0", False)
        queries = [
            Query(hashtags=["brandkit"]),
            Query(hashtags=["brandkit", "rival"], exclude=["job"]),
            Query(any=["brandkit", "ブランド"], languages=["en", "ja"]),
            Query(all=["murah"], phrases=["brandkit rocks"]),
        ]
        found: dict[int, dict[str, int]] = {i: {} for i in range(len(queries))}
        cursors: dict[int, str | None] = dict.fromkeys(range(len(queries)))
        with Client(retry=FAST) as client:
            for batch in range(3):
                for n in range(100):
                    voice = f"v{rng.randrange(6)}"
                    picked = rng.sample(words, 2)
                    tag = rng.choice(["#brandkit", "#rival", ""])
                    rocks = "brandkit rocks" if rng.random() < 0.2 else ""
                    text = f"{' '.join(picked)} {tag} {rocks} n{batch}-{n}"
                    lang = rng.choice(langs)
                    posts.append((emu.audience(voice).post(text, lang=lang), text, lang, voice))
                    emu.clock.advance(0.3)
                for i, query in enumerate(queries):
                    while True:
                        page = client.search(account, query, since=cursors[i], limit=35)
                        cursors[i] = page.cursor
                        for m in page.messages:
                            found[i][m.id] = found[i].get(m.id, 0) + 1
                        if not page.more:
                            break
        for i, query in enumerate(queries):
            full_text = bool(query.any or query.all or query.phrases)
            want = {
                pid
                for pid, text, lang, voice in posts
                if query.matches(text, language=lang) and not (full_text and voice == "v0")
            }
            assert set(found[i]) == want, query
            assert set(found[i].values()) <= {1}
            assert want


def test_since_and_until_bound_the_read_and_what_is_kept(adapter: MastodonAdapter) -> None:
    timeline = Timeline(10)
    query = Query(
        hashtags=["brandkit"], since=T0 + timedelta(seconds=3), until=T0 + timedelta(seconds=6)
    )
    page = run(adapter.search(query, None, limit=100), timeline)
    assert [m.id for m in page.messages] == [sid(3), sid(4), sid(5)]
    params = timeline.requests[0].url.params
    assert int(params["min_id"]) < int(sid(3))
    assert int(params["max_id"]) > int(sid(6))
    search = Search([status(n, "brandkit") for n in range(10)])
    words = Query(
        any=["brandkit"], since=T0 + timedelta(seconds=3), until=T0 + timedelta(seconds=6)
    )
    found = run(adapter.search(words, None, limit=100), search)
    assert [m.id for m in found.messages] == [sid(3), sid(4), sid(5)]
    assert "min_id" in search.requests[0].url.params
    assert "max_id" in search.requests[0].url.params


def test_a_japanese_hashtag_is_found_over_the_socket(emu: MastodonEmulator) -> None:
    account = emu.account(username="brand")
    said = emu.audience("fan").post("新しい #ブランド の話", lang="ja")
    emu.audience("fan").post("#brandkit", lang="en")
    with Client(retry=FAST) as client:
        page = client.search(account, Query(hashtags=["ブランド"], languages=["ja"]))
    assert [m.id for m in page.messages] == [said]
    assert page.messages[0].extra == {"language": "ja"}
