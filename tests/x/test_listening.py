"""X listening: the query compiled to recent-search operators, the search flow on scripted
answers, the emulator's recent search, and the public Client searching over a socket."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import httpx
import pytest

from brandkit import Account, AsyncClient, Client, Query
from brandkit._flow import run_flow
from brandkit.errors import ConfigurationError, MalformedResponse, RateLimited
from brandkit.listening import UnsupportedQuery
from brandkit.platforms.x import SEARCH_QUERY_CHARS, XAdapter, compile_query
from brandkit.testing.x import XEmulator
from tests.x.conftest import FAST, Script, adapter, check_response, snowflake

NOW = time.time()
SEARCH = r"/2/tweets/search/recent"


def sid(seconds_ago: float, seq: int = 1) -> str:
    return snowflake(NOW - seconds_ago, seq)


# -- compile_query: one test per operator ------------------------------------------------------


def test_one_word_is_bare_and_reposts_are_left_out() -> None:
    assert compile_query(Query(any=["brandkit"])) == "brandkit -is:retweet"


def test_any_hashtags_and_handles_are_one_group_of_alternatives() -> None:
    q = Query(any=["brandkit", "brand kit"], hashtags=["brandkit"], handles=["brand"])
    assert compile_query(q) == '(brandkit OR "brand kit" OR #brandkit OR @brand) -is:retweet'


def test_all_words_are_side_by_side_and_phrases_quoted() -> None:
    q = Query(all=["coffee", "sunday"], phrases=["open late"])
    assert compile_query(q) == 'coffee sunday "open late" -is:retweet'


def test_quotes_and_backslashes_in_a_phrase_are_escaped() -> None:
    q = Query(phrases=['the "best" kit', "a\\b"])
    assert compile_query(q) == '"the \\"best\\" kit" "a\\\\b" -is:retweet'


def test_exclusions_negate_each_word_and_phrase() -> None:
    q = Query(any=["brandkit"], exclude=["job", "hiring now"])
    assert compile_query(q) == 'brandkit -job -"hiring now" -is:retweet'


def test_languages_are_lang_operators_in_a_group() -> None:
    assert compile_query(Query(any=["kopi"], languages=["id"])) == "kopi lang:id -is:retweet"
    two = compile_query(Query(any=["kopi"], languages=["en", "id"]))
    assert two == "kopi (lang:en OR lang:id) -is:retweet"


def test_language_codes_go_to_x_in_lower_case() -> None:
    """Query takes a code in any case; X writes its own in lower case ("en", "zh-cn")."""
    assert compile_query(Query(any=["kopi"], languages=["EN"])) == "kopi lang:en -is:retweet"
    both = compile_query(Query(any=["kopi"], languages=["en", "EN", "zh-TW"]))
    assert both == "kopi (lang:en OR lang:zh-tw) -is:retweet"


def test_an_upper_case_language_finds_the_posts_of_that_language() -> None:
    emu = XEmulator()
    with emu.serve(), Client(retry=FAST) as client:
        emu.audience("fan").post("kopi pagi", lang="id")
        emu.audience("fan2").post("kopi morning", lang="en")
        found = client.search(emu.account(), Query(any=["kopi"], languages=["ID"]))
    assert [m.text for m in found.messages] == ["kopi pagi"]


def test_words_x_would_read_as_operators_are_phrases() -> None:
    q = Query(any=["from:me", "OR", "-minus", "(x", "#tag", "@at", "$cash", "10:30"])
    got = compile_query(q)
    assert got.startswith('("from:me" OR "OR" OR "-minus" OR "(x" OR "#tag" OR "@at"')
    assert '"$cash" OR "10:30")' in got


def test_indonesian_japanese_and_emoji_text() -> None:
    q = Query(
        any=["kopi susu", "新商品", "☕"],
        hashtags=["KopiSusu", "ブランド", "新商品_2026"],
        languages=["id", "ja"],
    )
    assert compile_query(q) == (
        '("kopi susu" OR 新商品 OR ☕ OR #KopiSusu OR #ブランド OR #新商品_2026) '
        "(lang:id OR lang:ja) -is:retweet"
    )


@pytest.mark.parametrize("tag", ["☕", "kopi☕", "brand-kit", "2026"])
def test_a_hashtag_x_does_not_recognise_is_refused(tag: str) -> None:
    with pytest.raises(UnsupportedQuery) as caught:
        compile_query(Query(hashtags=[tag]))
    assert caught.value.feature == "hashtags"
    assert "any=" in str(caught.value)


@pytest.mark.parametrize("handle", ["fan@mastodon.social", "a" * 16, "dot.ted"])
def test_a_handle_that_is_not_an_x_username_is_refused(handle: str) -> None:
    with pytest.raises(UnsupportedQuery) as caught:
        compile_query(Query(handles=[handle]))
    assert caught.value.feature == "handles"


def test_a_language_that_is_not_a_code_is_refused() -> None:
    with pytest.raises(UnsupportedQuery) as caught:
        compile_query(Query(any=["kopi"], languages=["Indonesian"]))
    assert caught.value.feature == "languages"


def test_a_query_over_512_characters_is_refused() -> None:
    fits = Query(any=["w" * (SEARCH_QUERY_CHARS - len(" -is:retweet"))])
    assert len(compile_query(fits)) == SEARCH_QUERY_CHARS
    over = Query(any=["w" * (SEARCH_QUERY_CHARS - len(" -is:retweet") + 1)])
    with pytest.raises(UnsupportedQuery) as caught:
        compile_query(over)
    assert caught.value.feature == "length"
    assert "513 characters" in str(caught.value)


def test_the_adapter_compiles_with_the_module_function() -> None:
    q = Query(any=["brandkit"], exclude=["job"])
    assert adapter().compile_query(q) == compile_query(q)
    assert adapter().capabilities.search is True


# -- the search flow on scripted answers -------------------------------------------------------


METRICS = {"followers_count": 120, "following_count": 1, "tweet_count": 3, "listed_count": 0}
USERS = [
    {"id": "2001", "username": "fan1", "name": "Fan One", "public_metrics": METRICS},
    {"id": "2002", "username": "fan2", "name": "Fan Two"},
]


def found(post_id: str, text: str, author: str = "2001", **extra: Any) -> dict[str, Any]:
    return {
        "id": post_id,
        "text": text,
        "author_id": author,
        "created_at": datetime.fromtimestamp(NOW - 60, UTC).isoformat().replace("+00:00", "Z"),
        "conversation_id": post_id,
        "edit_history_tweet_ids": [post_id],
        **extra,
    }


def page(posts: list[dict[str, Any]], token: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"result_count": len(posts)}
    if posts:
        meta["newest_id"] = posts[0]["id"]
        meta["oldest_id"] = posts[-1]["id"]
    if token:
        meta["next_token"] = token
    body: dict[str, Any] = {"meta": meta}
    if posts:
        body["data"] = posts
        body["includes"] = {"users": USERS}
    check_response(body, "Get2TweetsSearchRecentResponse")
    return body


def params(request: httpx.Request) -> dict[str, str]:
    return dict(request.url.params)


def position(cursor: str | None) -> dict[str, Any]:
    """A search cursor without the name of its query (``q``), which it must carry."""
    assert cursor is not None
    state = json.loads(cursor)
    assert len(state.pop("q")) == 16
    return dict(state)


def search(x: XAdapter, script: Script, query: Query, cursor: str | None = None, **kw: Any) -> Any:
    return run_flow(x.search(query, cursor, limit=kw.get("limit", 1000)), script)


def test_pages_are_read_with_next_token_oldest_first_with_followers() -> None:
    a, b, c = sid(30, 3), sid(20, 2), sid(10, 1)
    first = page(
        [found(c, "brandkit rocks", lang="en"), found(b, "@brand brandkit?", "2002")], "t1"
    )
    second = page([found(a, "old brandkit", replied="x")])
    script = Script().on("GET", SEARCH, (200, first), (200, second))
    got = search(adapter(), script, Query(any=["brandkit"]))
    assert [m.id for m in got.messages] == [a, b, c]
    assert all(m.kind == "found" and m.platform == "x" for m in got.messages)
    newest = got.messages[-1]
    assert newest.author.handle == "fan1" and newest.author.followers == 120
    assert newest.url == f"https://x.com/fan1/status/{c}"
    assert newest.raw["text"] == "brandkit rocks" and newest.extra["lang"] == "en"
    assert got.messages[1].author.followers is None  # X did not send fan2's metrics
    assert got.read == 3 and got.more is False
    assert position(got.cursor) == {"v": 1, "search": True, "since": c}
    sent = [params(r) for r in script.requests]
    assert sent[0]["query"] == "brandkit -is:retweet"
    assert sent[0]["max_results"] == "100"
    assert sent[0]["expansions"] == "author_id"
    assert "public_metrics" in sent[0]["user.fields"]
    assert "lang" in sent[0]["tweet.fields"]
    assert "next_token" not in sent[0] and sent[1]["next_token"] == "t1"


def test_the_limit_sizes_pages_and_stops_with_a_cursor_below_the_oldest_read() -> None:
    ids = [sid(1000 - i, i) for i in range(160)]  # oldest first
    newest_first = list(reversed(ids))
    posts = [found(i, f"brandkit {n}") for n, i in enumerate(newest_first)]
    script = Script().on(
        "GET",
        SEARCH,
        (200, page(posts[:100], "t1")),
        (200, page(posts[100:150], "t2")),
    )
    x = adapter()
    got = search(x, script, Query(any=["brandkit"]), limit=150)
    assert [params(r)["max_results"] for r in script.requests] == ["100", "50"]
    assert got.read == 150 and got.more is True and len(got.messages) == 150
    assert position(got.cursor) == {"v": 1, "search": True, "until": ids[10], "top": ids[-1]}
    rest = Script().on("GET", SEARCH, (200, page(posts[150:])))
    more = search(x, rest, Query(any=["brandkit"]), got.cursor, limit=150)
    (sent,) = [params(r) for r in rest.requests]
    assert sent["until_id"] == ids[10] and "since_id" not in sent
    assert [m.id for m in more.messages] == ids[:10]
    assert position(more.cursor) == {"v": 1, "search": True, "since": ids[-1]}
    after = Script().on("GET", SEARCH, (200, page([])))
    search(x, after, Query(any=["brandkit"]), more.cursor)
    assert params(after.requests[0])["since_id"] == ids[-1]


def test_a_limit_under_ten_is_refused_before_any_request() -> None:
    # X returns (and bills) at least 10 posts a request: a limit of 3 would read 10.
    script = Script().on("GET", SEARCH, (200, page([])))
    with pytest.raises(ConfigurationError, match="below the 10 posts"):
        search(adapter(), script, Query(any=["brandkit"]), limit=3)
    assert script.requests == []


@pytest.mark.parametrize(
    "body",
    [
        {"data": [{"id": "12", "text": "no author"}], "meta": {"result_count": 1}},
        {"data": [{"id": "not-an-id", "text": "x", "author_id": "2001"}]},
        {"data": "nope"},
        [],
    ],
)
def test_an_unreadable_page_is_malformed(body: Any) -> None:
    script = Script().on("GET", SEARCH, (200, body))
    with pytest.raises(MalformedResponse):
        search(adapter(), script, Query(any=["brandkit"]))


@pytest.mark.parametrize("cursor", ["garbled", '{"v": 1, "user": "1"}', '{"v":2,"search":true}'])
def test_a_garbled_cursor_says_to_pass_none(cursor: str) -> None:
    script = Script().on("GET", SEARCH, (200, page([])))
    with pytest.raises(ConfigurationError, match="since=None"):
        search(adapter(), script, Query(any=["brandkit"]), cursor)
    assert script.requests == []


def test_since_and_until_become_start_and_end_time_within_the_window() -> None:
    x = adapter()
    x.clock = lambda: NOW
    day = datetime.fromtimestamp(NOW, UTC) - timedelta(days=1)
    script = Script().on("GET", SEARCH, (200, page([])))
    search(x, script, Query(any=["k"], since=day, until=day + timedelta(hours=1)))
    sent = params(script.requests[-1])
    assert sent["start_time"] == day.strftime("%Y-%m-%dT%H:%M:%SZ")
    # X reads both to the second, end_time exclusive: the second that holds until is asked
    # for whole (what is read past until is dropped).
    end = math.ceil((day + timedelta(hours=1)).timestamp())
    assert sent["end_time"] == datetime.fromtimestamp(end, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    # A since before the 7 days is moved inside them; an until in the future is left out.
    long_ago = datetime.fromtimestamp(NOW, UTC) - timedelta(days=30)
    search(x, script, Query(any=["k"], since=long_ago, until=day + timedelta(days=3)))
    sent = params(script.requests[-1])
    start = datetime.fromisoformat(sent["start_time"].replace("Z", "+00:00"))
    assert (
        timedelta(days=6, hours=23) < datetime.fromtimestamp(NOW, UTC) - start < timedelta(days=7)
    )
    assert "end_time" not in sent
    # Until before the window: nothing can be found, and nothing is asked.
    before = len(script.requests)
    got = search(x, script, Query(any=["k"], until=long_ago))
    assert got.messages == () and got.read == 0 and len(script.requests) == before


def test_a_cursor_wins_over_since_and_an_expired_one_falls_back_to_the_window() -> None:
    x = adapter()
    x.clock = lambda: NOW
    script = Script().on("GET", SEARCH, (200, page([])))
    day = datetime.fromtimestamp(NOW, UTC) - timedelta(days=1)
    recent = json.dumps({"v": 1, "search": True, "since": sid(3600)})
    search(x, script, Query(any=["k"], since=day), recent)
    sent = params(script.requests[-1])
    assert sent["since_id"] == sid(3600) and "start_time" not in sent
    # A query whose since is later than the cursor: X would take since_id alone.
    search(
        x,
        script,
        Query(any=["k"], since=day),
        json.dumps({"v": 1, "search": True, "since": sid(2 * 86_400)}),
    )
    sent = params(script.requests[-1])
    assert "since_id" not in sent and sent["start_time"] == day.strftime("%Y-%m-%dT%H:%M:%SZ")
    stale = json.dumps({"v": 1, "search": True, "since": sid(8 * 86_400)})
    got = search(x, script, Query(any=["k"]), stale)
    sent = params(script.requests[-1])
    assert "since_id" not in sent and "start_time" not in sent
    assert position(got.cursor) == {"v": 1, "search": True}


def test_the_usage_cap_waits_until_the_period_ends() -> None:
    x = adapter()
    x.clock = lambda: datetime(2026, 12, 4, 20, 0, tzinfo=UTC).timestamp()
    capped = {
        "title": "UsageCapExceeded",
        "period": "Monthly",
        "scope": "Product",
        "detail": "Usage cap exceeded: Monthly product cap",
        "type": "https://api.twitter.com/2/problems/usage-capped",
    }
    headers = {"x-rate-limit-limit": "300", "x-rate-limit-remaining": "299"}
    script = Script().on("GET", SEARCH, (429, capped, headers))
    with pytest.raises(RateLimited) as caught:
        search(x, script, Query(any=["k"]))
    assert caught.value.bucket == "x:usage-cap:monthly"
    assert caught.value.reset_at == datetime(2027, 1, 1, tzinfo=UTC)
    assert caught.value.code == "usage-capped"
    assert "developer console" in str(caught.value)
    daily = Script().on("GET", SEARCH, (429, {**capped, "period": "Daily"}))
    with pytest.raises(RateLimited) as caught:
        search(x, daily, Query(any=["k"]))
    assert caught.value.reset_at == datetime(2026, 12, 5, tzinfo=UTC)
    assert caught.value.retry_after == 4 * 3600


# -- the emulator's recent search --------------------------------------------------------------


@pytest.fixture
def emu() -> Iterator[XEmulator]:
    emu = XEmulator()
    with emu.serve():
        yield emu


@pytest.fixture
def brand(emu: XEmulator) -> Account:
    return emu.account(name="brand", known_user=True)


def get(emu: XEmulator, account: Account, **params: Any) -> httpx.Response:
    headers = {"authorization": f"Bearer {account.secret('user_token')}"}
    return httpx.get(emu.base_url + "/2/tweets/search/recent", params=params, headers=headers)


def test_emulator_operators_have_xs_meaning(emu: XEmulator, brand: Account) -> None:
    """OR, grouping, AND before OR, negated words, phrases and groups, escaped quotes,
    hashtags, mentions, lang: and whole-word matching."""
    say = {
        "a": emu.audience("ana").post("I love brandkit", lang="en"),
        "b": emu.audience("budi").post("Kopi susu #KopiSusu enak", lang="id"),
        "c": emu.audience("chie").post("新商品 #ブランド です", lang="ja"),
        "d": emu.audience("dan").post('They said "best" kit ever', lang="en"),
        "e": emu.audience("eve").post("brandkits are not brandkit-jobs hiring", lang="en"),
        "f": emu.audience("fay").mention("what about this?"),
        "g": emu.audience("gus").post("brand kit and coffee ☕", lang="en"),
    }

    def ids(query: str) -> set[str]:
        r = get(emu, brand, query=query, max_results=100, **{"tweet.fields": "lang"})
        assert r.status_code == 200, r.text
        check_response(r.json(), "Get2TweetsSearchRecentResponse")
        return {p["id"] for p in r.json().get("data", [])}

    def of(*keys: str) -> set[str]:
        return {say[k] for k in keys}

    assert ids("brandkit") == of("a", "e")  # whole words: "brandkits" is another word
    assert ids("brandkit -hiring") == of("a")
    assert ids("brandkit OR #kopisusu") == of("a", "b", "e")
    assert ids("love brandkit OR coffee") == of("a", "g")  # (love brandkit) OR coffee
    assert ids("(love OR kit) -(coffee OR said)") == of("a")
    assert ids('"brand kit"') == of("g")
    assert ids('"said \\"best\\" kit"') == of("d")
    assert ids("#ブランド") == of("c") and ids("新商品") == of("c")
    assert ids("☕") == of("g")
    assert ids("@brand") == of("f")
    assert ids("(brandkit OR kopi OR 新商品) (lang:id OR lang:ja)") == of("b", "c")
    assert ids("brandkit -is:retweet lang:en") == of("a", "e")
    compiled = compile_query(Query(any=["brand kit"], phrases=['"best"'], exclude=["x"]))
    assert ids(compiled) == set()
    assert ids(compile_query(Query(phrases=['said "best" kit']))) == of("d")


def test_emulator_times_since_id_and_window(emu: XEmulator, brand: Account) -> None:
    """since_id wins over start_time; times before the 7 days, an end_time under 10 s
    before the request and an expired since_id are X's 400."""
    old = emu.seed_post("fan", "brandkit long ago", age=timedelta(days=3)).id
    new = emu.audience("fan").post("brandkit now", lang="en")
    now = emu.clock.now()

    def iso(at: datetime) -> str:
        return at.strftime("%Y-%m-%dT%H:%M:%SZ")

    r = get(emu, brand, query="brandkit", since_id=old, start_time=iso(now - timedelta(days=5)))
    assert [p["id"] for p in r.json()["data"]] == [new]
    r = get(emu, brand, query="brandkit", start_time=iso(now - timedelta(days=5)))
    assert [p["id"] for p in r.json()["data"]] == [new, old]
    r = get(emu, brand, query="brandkit", end_time=iso(now - timedelta(days=1)))
    assert [p["id"] for p in r.json()["data"]] == [old]
    for bad in (
        {"start_time": iso(now - timedelta(days=8))},
        {"end_time": iso(now)},
        {"since_id": snowflake(now.timestamp() - 8 * 86_400)},
    ):
        r = get(emu, brand, query="brandkit", **bad)
        assert r.status_code == 400, bad
        assert r.json()["type"].endswith("/invalid-request")


def test_emulator_usage_cap_is_xs_429() -> None:
    """The cap counts posts returned; once spent, X's usage-capped body with the rate-limit
    headers; a daily cap opens again the next day."""
    emu = XEmulator(usage_cap=15, usage_cap_period="Daily", token_lifetime=3 * 86_400)
    with emu.serve():
        _usage_cap(emu, emu.account(name="brand", known_user=True))


def _usage_cap(emu: XEmulator, brand: Account) -> None:
    for n in range(30):
        emu.audience(f"fan{n % 3}").post(f"brandkit {n}", lang="en")
    first = get(emu, brand, query="brandkit", max_results=10)
    second = get(emu, brand, query="brandkit", max_results=10)
    assert first.status_code == second.status_code == 200
    assert emu.posts_read == 20
    capped = get(emu, brand, query="brandkit", max_results=10)
    assert capped.status_code == 429
    body = capped.json()
    assert body["title"] == "UsageCapExceeded" and body["period"] == "Daily"
    assert body["detail"] == "Usage cap exceeded: Daily product cap"
    assert body["type"] == "https://api.twitter.com/2/problems/usage-capped"
    assert capped.headers["x-rate-limit-remaining"] == "297"
    emu.clock.advance(timedelta(days=1))
    # The posts are now a day older, still inside the window.
    assert get(emu, brand, query="brandkit", max_results=10).status_code == 200


def test_emulator_users_carry_followers_and_posts_their_language(
    emu: XEmulator, brand: Account
) -> None:
    said = emu.audience("budi").post("kopi brandkit", lang="id")
    r = get(
        emu,
        brand,
        query="brandkit",
        expansions="author_id",
        **{"tweet.fields": "lang,author_id", "user.fields": "public_metrics"},
    )
    body = r.json()
    assert body["data"][0]["id"] == said and body["data"][0]["lang"] == "id"
    (user,) = body["includes"]["users"]
    assert user["username"] == "budi"
    assert user["public_metrics"]["followers_count"] == emu.followers(emu.user("budi"))


# -- the Client over a socket ------------------------------------------------------------------


def test_client_refuses_an_inexpressible_query_before_any_request(
    emu: XEmulator, brand: Account
) -> None:
    with Client(retry=FAST) as client:
        before = len(emu.requests)
        with pytest.raises(UnsupportedQuery):
            client.search(brand, Query(hashtags=["☕"]))
        assert len(emu.requests) == before


def test_a_since_before_the_window_is_not_refused_by_x(emu: XEmulator, brand: Account) -> None:
    emu.seed_post("fan", "brandkit last month", age=timedelta(days=9))
    recent = emu.audience("fan").post("brandkit today", lang="en")
    long_ago = emu.clock.now() - timedelta(days=60)
    with Client(retry=FAST) as client:
        got = client.search(brand, Query(any=["brandkit"], since=long_ago))
    assert [m.id for m in got.messages] == [recent]


KINDS = [
    "I love brandkit",
    "brand kit is nice",
    "Kopi susu enak #KopiSusu",
    "brandkit job opening, hiring",
    "新商品 #ブランド の話",
    "the weather today",
    "rival is better than brandkit",
    "Rival launches #KopiSusu",
    'they said "best kit" about brandkit',
    "nothing to see",
]
LANGS = ["en", "en", "id", "en", "ja", "en", "en", "id", "en", None]
QUERIES = [
    Query(any=["brandkit", "brand kit"], exclude=["job"]),
    Query(hashtags=["kopisusu", "ブランド"], languages=["id", "ja"]),
    Query(any=["rival"], all=["brandkit"]),
    Query(phrases=["best kit"]),
    Query(handles=["brand"], any=["rival"]),
]


def _post_all(emu: XEmulator, start: int, count: int) -> None:
    for n in range(start, start + count):
        member = emu.audience(f"voice{n % 17}")
        text = f"{KINDS[n % len(KINDS)]} #{n}"
        if n % 13 == 0:
            member.mention(text)  # "@brand ..." as X's clients write it
        else:
            member.post(text, lang=LANGS[n % len(LANGS)])


def _expected(emu: XEmulator, query: Query) -> set[str]:
    # A post without a language is one X could not classify ("und"): no lang: matches it.
    return {
        p.id
        for p in emu.posts
        if query.matches(
            p.display_text,
            language=p.lang or "und",
            author=emu.users[p.author_id].username,
        )
    }


@pytest.mark.parametrize("limit", [10, 37, 100, 1000])
def test_known_answer_each_match_once_across_syncs_and_pages(
    emu: XEmulator, brand: Account, limit: int
) -> None:
    """300 posts, five queries with a known answer (`Query.matches` on what X shows):
    syncing from the cursor, at page boundaries set by ``limit``, finds exactly the
    matching posts, each once; after 40 more posts the next sync finds exactly the new
    matches. Each search reads at most ``limit`` (X bills each post read), and what the
    emulator billed is what the searches say they read."""
    _post_all(emu, 0, 300)
    cursors: dict[int, str | None] = {}
    billed = 0

    def sync(client: Client, n: int, query: Query) -> list[str]:
        nonlocal billed
        seen: list[str] = []
        for _ in range(100):
            got = client.search(brand, query, since=cursors.get(n), limit=limit)
            assert got.read <= limit
            billed += got.read
            seen += [m.id for m in got.messages]
            cursors[n] = got.cursor
            if not got.more:
                return seen
        raise AssertionError("the search never finished")

    with Client(retry=FAST) as client:
        for n, query in enumerate(QUERIES):
            seen = sync(client, n, query)
            assert len(seen) == len(set(seen)), f"query {n} found a post twice"
            assert set(seen) == _expected(emu, query), f"query {n}"
            assert seen, f"query {n} finds nothing: the test would prove nothing"
        old = {n: _expected(emu, q) for n, q in enumerate(QUERIES)}
        _post_all(emu, 300, 40)
        for n, query in enumerate(QUERIES):
            seen = sync(client, n, query)
            want = _expected(emu, query) - old[n]
            assert len(seen) == len(set(seen)), f"query {n} found a post twice"
            assert set(seen) == want, f"query {n}"
            assert want, f"query {n} finds nothing new: the test would prove nothing"
    assert billed == emu.posts_read


def _capped(emu: XEmulator, brand: Account) -> tuple[RateLimited, int]:
    """Two searches of 20 under a cap of 30, then a third: its error and its requests
    (two attempts at most, to keep the test short)."""
    emu.usage_cap = 30
    for n in range(60):
        emu.audience(f"fan{n % 4}").post(f"brandkit {n}", lang="en")
    with Client(retry=attrs.evolve(FAST, attempts=2)) as client:
        first = client.search(brand, Query(any=["brandkit"]), limit=20)
        second = client.search(brand, Query(any=["brandkit"]), since=first.cursor, limit=20)
        assert first.read == second.read == 20 and second.more
        before = len(emu.requests)
        with pytest.raises(RateLimited) as caught:
            client.search(brand, Query(any=["brandkit"]), since=second.cursor, limit=20)
    return caught.value, len(emu.requests) - before


def test_client_stops_at_the_usage_cap(emu: XEmulator, brand: Account) -> None:
    """The capped search is a RateLimited of the usage-cap bucket; no post is read past
    what was billed before the cap."""
    error, _ = _capped(emu, brand)
    assert error.bucket == "x:usage-cap:monthly"
    assert error.retry_after is not None and error.retry_after > 86_400 / 2
    assert emu.posts_read == 40


def test_client_does_not_ask_again_after_the_usage_cap(emu: XEmulator, brand: Account) -> None:
    """The cap's 429 comes while the 15-minute window has room: the platform's own wait
    (until the period ends) wins, so the client does not ask again."""
    _, requests = _capped(emu, brand)
    assert requests == 1


@pytest.mark.anyio
async def test_async_client_searches_too(emu: XEmulator, brand: Account) -> None:
    said = emu.audience("fan").post("brandkit async", lang="en")
    emu.audience("fan").post("unrelated", lang="en")
    async with AsyncClient(retry=FAST) as client:
        got = await client.search(brand, Query(any=["brandkit"]))
    assert [m.id for m in got.messages] == [said]
    assert got.requests == 1 and got.read == 1


def test_an_edited_post_found_by_a_search_is_the_message_the_inbox_reads() -> None:
    """An edit on X is a new post with a new id, and search gives the newest version: the
    found message keeps the original's id (as the inbox's does), so a saved search and the
    inbox store one row for it, and the edit updates it; it was a second message under the
    new id."""
    emu = XEmulator()
    with emu.serve(), Client(retry=FAST) as client:
        brand = emu.account(name="brand", known_user=True)
        first = emu.audience("fan").mention("kopi at the shop is great")
        emu.clock.advance(60)
        newest = emu.edit(first, "@brand kopi at the shop is great, but served cold")
        found = client.search(brand, Query(any=["kopi"]))
        page = client.inbox(brand)
    (f,) = found.messages
    (m,) = page.messages
    assert (f.id, f.key) == (m.id, m.key) == (first, f"{brand.key}|{first}")
    assert f.text.endswith("served cold")
    assert f.edited_at is not None and f.edited_at > f.created_at
    assert f.extra["latest"] == newest
    assert f.url is not None and f.url.endswith(newest)
