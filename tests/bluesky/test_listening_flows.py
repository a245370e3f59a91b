"""Unit tests of Bluesky listening (no I/O): what `compile_query` makes of each part of a
query, the search flow fed canned searchPosts answers (paging, limit, marks, cursors, bad
answers), and an uploadBlob answer the adapter must not pass on as it came."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from brandkit import ConfigurationError, MalformedResponse, Media, Post, Rejected
from brandkit._flow import run_flow
from brandkit.content import Rendered, RenderedPart
from brandkit.listening import Query, UnsupportedQuery
from brandkit.listening._query import saved_query
from brandkit.platforms._base import ThreadContext
from brandkit.platforms.bluesky import BlueskyAdapter
from tests.bluesky._support import Script, body_of, png, sky_account, xrpc

DID = "did:plc:brand"
FAN = "did:plc:fan"
POST = "app.bsky.feed.post"
SEARCH = "app.bsky.feed.searchPosts"
CID = "bafyreiekv6q6albvxgqgzuty7x2hla4r32loald7b7vwhvaearsori2gky"
T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def adapter() -> BlueskyAdapter:
    return BlueskyAdapter(sky_account(access_jwt="access-0", refresh_jwt="refresh-0", did=DID))


def compiled(query: Query) -> list[dict[str, list[str]]]:
    """Each search's parameters, by name."""
    out = []
    for request in adapter().compile_query(query):
        params: dict[str, list[str]] = {}
        for k, v in request.params:
            params.setdefault(k, []).append(v)
        out.append(params)
    return out


def iso(t: datetime) -> str:
    return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def view(
    n: int, text: str | None = None, *, at: datetime | None = None, langs: tuple[str, ...] = ()
) -> dict[str, Any]:
    """A post view as searchPosts lists it."""
    when = iso(at or T0 + timedelta(seconds=n))
    record: dict[str, Any] = {
        "$type": POST,
        "text": text if text is not None else f"brandkit post {n}",
        "createdAt": when,
    }
    if langs:
        record["langs"] = list(langs)
    return {
        "uri": f"at://{FAN}/{POST}/3kfan{n:08d}",
        "cid": CID,
        "author": {"did": FAN, "handle": "fan.test", "displayName": "Fan", "labels": []},
        "record": record,
        "replyCount": 0,
        "repostCount": 0,
        "likeCount": 0,
        "quoteCount": 0,
        "indexedAt": when,
        "labels": [],
    }


def found(*views: dict[str, Any], cursor: str | None = None) -> httpx.Response:
    body: dict[str, Any] = {"posts": list(views), "hitsTotal": len(views)}
    if cursor is not None:
        body["cursor"] = cursor
    return xrpc(200, body)


def params_of(request: httpx.Request) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for k, v in request.url.params.multi_items():
        out.setdefault(k, []).append(v)
    return out


# -- compile_query ------------------------------------------------------------------------------


def test_any_terms_are_one_search_each() -> None:
    """The search has no OR: each any= term is a search of its own."""
    assert compiled(Query(any=["brandkit", "brand kit"])) == [
        {"q": ["brandkit"]},
        {"q": ['"brand kit"']},
    ]


def test_all_words_and_phrases_go_into_every_search() -> None:
    """all= words (a term of several words as a phrase) and phrases are ANDed into q."""
    assert compiled(Query(any=["a", "b"], all=["launch", "big day"], phrases=["so good"])) == [
        {"q": ['a launch "big day" "so good"']},
        {"q": ['b launch "big day" "so good"']},
    ]


def test_quotes_and_syntax_inside_a_term_are_dropped_not_passed_on() -> None:
    """A quote, a colon or a leading minus in a term cannot break out of it: the words are
    what the index holds, so the phrase of the words is what the term means."""
    assert compiled(Query(phrases=['say "hi" now'], all=["from:me", "-x"])) == [
        {"q": ['"from me" x "say hi now"']},
    ]
    # Words the syntax reads as operators are quoted.
    assert compiled(Query(all=["OR", "and"])) == [{"q": ['"OR" and']}]


def test_exclude_negates_single_words_and_leaves_longer_ones_to_the_reading() -> None:
    """``-word`` for a one-word exclusion (the syntax negates single keywords only)."""
    assert compiled(Query(any=["brandkit"], exclude=["job", "for hire", "NOT"])) == [
        {"q": ['brandkit -job -"NOT"']},
    ]


def test_hashtags_are_tag_filters_one_search_each() -> None:
    """tag= takes its values together (AND): each hashtag is a search, with #tag in q."""
    assert compiled(Query(hashtags=["brandkit", "BrandKit2"])) == [
        {"q": ["#brandkit"], "tag": ["brandkit"]},
        {"q": ["#BrandKit2"], "tag": ["BrandKit2"]},
    ]


def test_indonesian_japanese_and_emoji_are_passed_as_they_are() -> None:
    """Non-Latin words and hashtags, and emoji hashtags, go through unchanged."""
    query = Query(any=["merek keren"], all=["ブランド"], hashtags=["ブランドキット", "🔥"])
    assert compiled(query) == [
        {"q": ['"merek keren" ブランド']},
        {"q": ["#ブランドキット ブランド"], "tag": ["ブランドキット"]},
        {"q": ["#🔥 ブランド"], "tag": ["🔥"]},
    ]


def test_handles_are_mentions_filters_one_search_each() -> None:
    assert compiled(Query(handles=["alice.bsky.social", "did:plc:bob"], all=["hi"])) == [
        {"q": ["@alice.bsky.social hi"], "mentions": ["alice.bsky.social"]},
        {"q": ["@did:plc:bob hi"], "mentions": ["did:plc:bob"]},
    ]


def test_each_language_is_a_search() -> None:
    """lang= takes one language: each is a search, times each alternative."""
    got = compiled(Query(any=["a", "b"], languages=["en", "id"]))
    assert got == [
        {"q": ["a"], "lang": ["en"]},
        {"q": ["b"], "lang": ["en"]},
        {"q": ["a"], "lang": ["id"]},
        {"q": ["b"], "lang": ["id"]},
    ]


@pytest.mark.parametrize(
    ("query", "feature"),
    [
        (Query(any=["🔥"]), "any"),
        # Query refuses a term of punctuation alone; one saved before it did still loads.
        (saved_query('{"any": ["x"], "all": ["!!!"]}'), "all"),
        (Query(phrases=["🎉 🎉"]), "phrases"),
        (Query(hashtags=["x" * 65]), "hashtags"),
        (Query(hashtags=['say"hi']), "hashtags"),
        (Query(handles=["brand"]), "handles"),
        (Query(any=["x"], languages=["english please"]), "languages"),
        (Query(any=[f"w{n}" for n in range(9)], languages=["en", "id", "ja", "de"]), "size"),
    ],
)
def test_what_cannot_be_expressed_is_refused_naming_it(query: Query, feature: str) -> None:
    with pytest.raises(UnsupportedQuery) as caught:
        adapter().compile_query(query)
    assert caught.value.feature == feature


# -- the search flow ----------------------------------------------------------------------------


def test_one_page_newest_first_becomes_found_messages_oldest_first() -> None:
    """sort=latest, 100 a page, the session's token; found messages with the post's author,
    url, time, language and the platform's own JSON."""
    script = Script().on(SEARCH, found(view(2, langs=("en",)), view(1)))
    page = run_flow(adapter().search(Query(any=["brandkit"]), None, limit=100), script)
    (request,) = script.calls(SEARCH)
    assert params_of(request) == {"q": ["brandkit"], "sort": ["latest"], "limit": ["100"]}
    assert request.headers["Authorization"] == "Bearer access-0"
    assert [m.text for m in page.messages] == ["brandkit post 1", "brandkit post 2"]
    first = page.messages[1]
    assert first.kind == "found" and first.id == f"at://{FAN}/{POST}/3kfan00000002"
    assert first.author.handle == "fan.test" and first.author.followers is None
    assert first.url == "https://bsky.app/profile/fan.test/post/3kfan00000002"
    assert first.created_at == T0 + timedelta(seconds=2)
    assert first.extra["language"] == "en"
    assert first.raw["uri"] == first.id
    assert (page.read, page.more) == (2, False)


def test_pages_follow_the_cursor_and_the_next_search_starts_at_the_mark() -> None:
    script = Script().on(SEARCH, found(view(4), view(3), cursor="2"), found(view(2), view(1)))
    page = run_flow(adapter().search(Query(any=["brandkit"]), None, limit=100), script)
    assert [params_of(r).get("cursor") for r in script.calls(SEARCH)] == [None, ["2"]]
    assert len(page.messages) == 4
    # Next time: since the newest post read (inclusive), the posts of that millisecond
    # already read skipped by URI.
    same_ms = view(5, at=T0 + timedelta(seconds=4))
    again = Script().on(SEARCH, found(view(6), same_ms, view(4)))
    later = run_flow(adapter().search(Query(any=["brandkit"]), page.cursor, limit=100), again)
    assert params_of(again.calls(SEARCH)[0])["since"] == [iso(T0 + timedelta(seconds=4))]
    assert [m.text for m in later.messages] == ["brandkit post 5", "brandkit post 6"]


def test_limit_stops_with_more_and_the_next_search_goes_on_below_where_it_stopped() -> None:
    """A stop at the limit keeps the oldest post read; the next search asks until just past
    it and skips what was read, then the mark moves to the newest of the whole read."""
    script = Script().on(SEARCH, found(view(9), view(8), cursor="2"))
    first = run_flow(adapter().search(Query(any=["brandkit"]), None, limit=2), script)
    assert (first.more, [m.text for m in first.messages]) == (
        True,
        ["brandkit post 8", "brandkit post 9"],
    )
    # A new post (10) came meanwhile; the rest (8 again, 7, 6) is below the stop.
    rest = Script().on(SEARCH, found(view(8), view(7), view(6)))
    second = run_flow(adapter().search(Query(any=["brandkit"]), first.cursor, limit=100), rest)
    sent = params_of(rest.calls(SEARCH)[0])
    assert sent["until"] == [iso(T0 + timedelta(seconds=8, milliseconds=1))]
    assert "since" not in sent
    assert [m.text for m in second.messages] == ["brandkit post 6", "brandkit post 7"]
    assert not second.more
    newest = Script().on(SEARCH, found(view(10), view(9)))
    third = run_flow(adapter().search(Query(any=["brandkit"]), second.cursor, limit=100), newest)
    assert params_of(newest.calls(SEARCH)[0])["since"] == [iso(T0 + timedelta(seconds=9))]
    assert [m.text for m in third.messages] == ["brandkit post 10"]


def test_a_post_an_earlier_search_of_the_query_lists_is_left_to_it() -> None:
    """any=[a, b]: a post with both words comes once, from the search for a."""
    both = view(1, "a and b")
    script = Script().on(SEARCH, found(both), found(both, view(2, "only b")))
    page = run_flow(adapter().search(Query(any=["a", "b"]), None, limit=100), script)
    assert [m.text for m in page.messages] == ["a and b", "only b"]
    assert page.read == 3


def test_a_limit_reached_by_one_search_leaves_the_next_for_the_next_time() -> None:
    """any=[a, b] with limit 2: the search for a reads its 3 posts (one page) and the one
    for b waits (more), then runs next time while a asks only for what is new."""
    script = Script().on(SEARCH, found(view(3, "a 3"), view(2, "a 2"), view(1, "a 1")))
    query = Query(any=["a", "b"])
    first = run_flow(adapter().search(query, None, limit=2), script)
    assert [params_of(r)["q"] for r in script.calls(SEARCH)] == [["a"]]
    assert first.more and len(first.messages) == 3
    rest = Script().on(SEARCH, found(), found(view(4, "b 4")))
    second = run_flow(adapter().search(query, first.cursor, limit=2), rest)
    sent = [params_of(r) for r in rest.calls(SEARCH)]
    assert sent[0]["since"] == [iso(T0 + timedelta(seconds=3))] and "since" not in sent[1]
    assert [m.text for m in second.messages] == ["b 4"] and not second.more


def test_what_is_read_is_narrowed_to_the_query() -> None:
    """The backend stems and matches loosely; brandkit keeps what Query.matches, in the
    query's languages (en covers en-GB) and times."""
    script = Script().on(
        SEARCH,
        found(
            view(4, "brandkit for hire"),
            view(3, "brandkits galore"),
            view(2, "brandkit in english", langs=("en-GB",)),
            view(1, "brandkit dalam bahasa", langs=("id",)),
        ),
    )
    query = Query(any=["brandkit"], exclude=["for hire"], languages=["en"])
    page = run_flow(adapter().search(query, None, limit=100), script)
    assert [m.text for m in page.messages] == ["brandkit in english"]
    assert page.read == 4


def test_since_and_until_of_the_query_are_sent() -> None:
    script = Script().on(SEARCH, found())
    query = Query(any=["x"], since=T0, until=T0 + timedelta(days=1))
    run_flow(adapter().search(query, None, limit=10), script)
    sent = params_of(script.calls(SEARCH)[0])
    assert (sent["since"], sent["until"]) == ([iso(T0)], [iso(T0 + timedelta(days=1))])


@pytest.mark.parametrize(
    "cursor",
    ["not json", "{}", '{"v": 2, "spans": {}}', '{"v": 1, "spans": {"q=x": {"seen": "now"}}}'],
)
def test_a_garbled_cursor_is_refused_before_any_request(cursor: str) -> None:
    script = Script()
    with pytest.raises(ConfigurationError, match="since=None"):
        run_flow(adapter().search(Query(any=["x"]), cursor, limit=10), script)
    assert script.requests == []


def test_a_cursor_of_another_query_is_refused() -> None:
    script = Script().on(SEARCH, found(view(1)))
    page = run_flow(adapter().search(Query(any=["brandkit"]), None, limit=10), script)
    with pytest.raises(ConfigurationError, match="another query"):
        run_flow(adapter().search(Query(any=["other"]), page.cursor, limit=10), Script())


def test_a_cursor_of_a_query_with_the_same_searches_but_other_filters_is_refused() -> None:
    """The same searchPosts requests, another query (it excludes a word): reading on from
    the first query's marks would skip the second's older posts, so the cursor names its
    query (one from before, naming none, is still read)."""
    script = Script().on(SEARCH, found(view(1)))
    page = run_flow(adapter().search(Query(any=["brandkit"]), None, limit=10), script)
    narrower = Query(any=["brandkit"], exclude=["job"])
    refused = Script()
    with pytest.raises(ConfigurationError, match="another query"):
        run_flow(adapter().search(narrower, page.cursor, limit=10), refused)
    assert refused.requests == []
    old = json.loads(page.cursor or "")
    del old["q"]
    again = Script().on(SEARCH, found(view(1)))
    run_flow(adapter().search(Query(any=["brandkit"]), json.dumps(old), limit=10), again)
    assert len(again.requests) == 1


@pytest.mark.parametrize(
    "bad",
    [{"cursor": "1"}, {"posts": "none"}],
)
def test_an_answer_brandkit_cannot_read_is_malformed(bad: dict[str, Any]) -> None:
    """No list of posts."""
    with pytest.raises(MalformedResponse):
        run_flow(
            adapter().search(Query(any=["x"]), None, limit=10), Script().on(SEARCH, xrpc(200, bad))
        )


@pytest.mark.parametrize(
    "bad",
    [
        {**view(2), "author": {"handle": "fan.test"}},
        {**view(2), "record": "text"},
        {**view(2), "indexedAt": "soon"},
        {**view(2), "indexedAt": 17},
        {**view(2), "uri": "https://example.com"},
    ],
)
def test_a_post_brandkit_cannot_read_is_skipped(bad: dict[str, Any]) -> None:
    """A missing author DID, a record that is no object (any app writes records), or AppView
    fields (its URI, indexedAt) that do not place it: that post is left out and the others
    of the page are found."""
    got = run_flow(
        adapter().search(Query(any=["brandkit"]), None, limit=10),
        Script().on(SEARCH, xrpc(200, {"posts": [bad, view(1)]})),
    )
    assert [m.text for m in got.messages] == [view(1)["record"]["text"]]


def test_a_refused_search_is_typed() -> None:
    script = Script().on(SEARCH, xrpc(400, {"error": "BadQueryString", "message": "bad q"}))
    with pytest.raises(Rejected, match="bad q"):
        run_flow(adapter().search(Query(any=["x"]), None, limit=10), script)


# -- uploadBlob answers ------------------------------------------------------------------------


def _publish_with_image(blob_answer: httpx.Response) -> Script:
    script = Script().on("com.atproto.repo.uploadBlob", blob_answer)
    script.on(
        "com.atproto.repo.createRecord",
        xrpc(200, {"uri": f"at://{DID}/{POST}/3kabcdefgh2a2", "cid": CID}),
    )
    part = RenderedPart(
        index=0, text="hi", length=2, limit=300, media=(Media.from_bytes(png(2, 2)),)
    )
    rendered = Rendered(
        platform="bluesky",
        parts=(part,),
        post=Post(text="hi"),
        capabilities=BlueskyAdapter.capabilities,
    )
    run_flow(adapter().publish_part(rendered, part, ThreadContext(key="3kabcdefgh2a2")), script)
    return script


@pytest.mark.parametrize(
    "blob",
    [
        '{"$type": Infinity, "ref": {"$link": "bafkrei1"}, "mimeType": "image/png", "size": 9}',
        '{"$type": "blob", "ref": {"$link": "bafkrei1"}, "mimeType": "image/png", "size": NaN}',
        '{"$type": "blob", "ref": {"$link": "bafkrei1"}, "mimeType": "image/png", "size": 9.5}',
        '{"$type": "blob", "ref": "bafkrei1", "mimeType": "image/png", "size": 9}',
        '{"$type": "blob", "ref": {"$link": "bafkrei1"}, "size": 9}',
    ],
)
def test_an_upload_answer_that_is_not_a_blob_is_malformed(blob: str) -> None:
    """A non-finite number (which the JSON encoder of the next request would refuse with a
    ValueError), a float size, a bare ref, no MIME type: MalformedResponse, nothing sent."""
    answer = httpx.Response(
        200, content=f'{{"blob": {blob}}}'.encode(), headers={"content-type": "application/json"}
    )
    with pytest.raises(MalformedResponse):
        _publish_with_image(answer)


def test_the_blob_goes_into_the_record_as_the_data_model_defines_it() -> None:
    """Fields beyond the blob's four are not carried into the record."""
    blob = {"$type": "blob", "ref": {"$link": "bafkrei1"}, "mimeType": "image/png", "size": 9}
    script = _publish_with_image(xrpc(200, {"blob": {**blob, "extra": [1.5]}}))
    record = body_of(script.calls("com.atproto.repo.createRecord")[0])["record"]
    assert record["embed"]["images"][0]["image"] == blob
