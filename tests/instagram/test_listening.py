"""Instagram listening with canned Graph answers (no I/O): what a query compiles to, the
hashtag search flow (ids, every page of recent_media, the cursor, limit and resume), and
what it refuses."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from brandkit import Account, Query
from brandkit._flow import run_flow
from brandkit.errors import (
    ConfigurationError,
    MalformedResponse,
    RateLimited,
    Rejected,
    Unsupported,
)
from brandkit.listening import SearchPage, UnsupportedQuery
from brandkit.platforms.instagram import FOUND_FIELDS, InstagramAdapter, SearchCursor
from tests.facebook.conftest import Canned, answer, graph_error, real

BASE = "https://graph.example"
IG = "17841400000000001"
TAG_ID = "17843826142012701"
SEARCH = r"/v25\.0/ig_hashtag_search"
RECENT = rf"/v25\.0/{TAG_ID}/recent_media"

# Two pages of a real recent_media answer (sns-sdks/python-facebook testdata,
# hashtag_recent_medias_fields_p1/p2.json, Apache-2.0: see tests/data/meta/LICENSE),
# with the caption, permalink and timestamp fields brandkit asks for added to each item.
REAL_P1: list[dict[str, Any]] = [
    {"id": "17983329973290591", "media_type": "IMAGE", "comments_count": 0, "like_count": 0},
    {"id": "17883420868492353", "media_type": "IMAGE", "comments_count": 0, "like_count": 0},
    {
        "id": "18091636405131559",
        "media_type": "CAROUSEL_ALBUM",
        "comments_count": 0,
        "like_count": 0,
    },
    {"id": "17930430856358487", "media_type": "IMAGE", "comments_count": 0, "like_count": 0},
    {"id": "17864387542648395", "media_type": "IMAGE", "comments_count": 1, "like_count": 3},
]
REAL_AFTER = (
    "UVZAGRFMzQlZAPSFpUZAEcxalYyMUtRME5rTjJSdlVtbG1iREZAqTUZAndGVIbG5TekJzUld0cFJuVm5RVUZAq"
    "TjJoNldEUnNXSEl3UjJWM2JHRnFZAMWxDYlhSSFFsZAFBZAMjFxUjJsd1VuazRSMlJDYTBKdU5WUm5NZAz09"
)
REAL_P2: list[dict[str, Any]] = [
    {"id": "17851662085865675", "media_type": "VIDEO", "comments_count": 0, "like_count": 0},
    {
        "id": "17844732772969202",
        "media_type": "CAROUSEL_ALBUM",
        "comments_count": 2,
        "like_count": 4,
    },
]


def account(base: str = BASE) -> Account:
    """An Instagram account (Facebook Login) on a made-up Graph host."""
    return Account.instagram(
        ig_user_id=IG,
        token="ig-token-secret",
        media_host=lambda m: "https://x/1.jpg",
        base_url=base,
    )


def adapter() -> InstagramAdapter:
    return InstagramAdapter(account())


def media(item: dict[str, Any], minute: int, caption: str = "Loving #brandkit") -> dict[str, Any]:
    """A recent_media item with the fields brandkit asks for."""
    return {
        **item,
        "caption": caption,
        "permalink": f"https://www.instagram.com/p/{item['id'][-6:]}/",
        "timestamp": f"2026-12-04T10:{minute:02d}:00+0000",
    }


def page(items: list[dict[str, Any]], after: str | None = None) -> dict[str, Any]:
    """A recent_media page: an ``after`` cursor only, and ``next`` while more follow."""
    out: dict[str, Any] = {"data": items}
    if after is not None:
        out["paging"] = {
            "cursors": {"after": after},
            "next": f"{BASE}/v25.0/{TAG_ID}/recent_media?after={after}",
        }
    return out


def hashtag_found(tag_id: str = TAG_ID) -> tuple[str, str, Any]:
    return ("GET", SEARCH, answer(200, {"data": [{"id": tag_id}]}))


def search(
    canned: Canned, query: Query, cursor: str | None = None, limit: int = 1000
) -> SearchPage:
    result: SearchPage = run_flow(adapter().search(query, cursor, limit=limit), canned)
    return result


# -- compile ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "feature"),
    [
        (Query(any=["brandkit"]), "words"),
        (Query(all=["brand", "kit"]), "words"),
        (Query(phrases=["brand kit"]), "phrases"),
        (Query(handles=["brandkit"]), "handles"),
        (Query(hashtags=["brandkit"], exclude=["job"]), "exclude"),
        (Query(hashtags=["brandkit"], languages=["en"]), "languages"),
        (Query(hashtags=["🍕"]), "hashtags"),
        (Query(hashtags=["brand-kit"]), "hashtags"),
        (Query(hashtags=['say"what']), "hashtags"),
    ],
)
def test_what_instagram_cannot_search_is_named(query: Query, feature: str) -> None:
    """Instagram searches hashtags only: each other operator (and an emoji or punctuation
    in a hashtag, which Meta's search refuses) is refused with the feature named."""
    with pytest.raises(UnsupportedQuery) as err:
        adapter().compile_query(query)
    assert err.value.feature == feature
    assert err.value.platform == "instagram"


def test_hashtags_compile_lowercased_once_each_in_any_script() -> None:
    """Hashtags go to ``q`` without ``#``, lower-cased (Instagram ignores case), each once,
    in the query's order; Indonesian, Japanese and decomposed accents (NFC) stay whole."""
    q = Query(hashtags=["#BrandKit", "kopisusu", "ラーメン", "brandkit", "cafe\u0301", "日本_旅行"])
    want = ("brandkit", "kopisusu", "ラーメン", "caf\u00e9", "日本_旅行")
    assert adapter().compile_query(q) == want
    assert adapter().hashtags_of(q) == want


def test_since_and_until_are_kept_as_filters() -> None:
    """``since``/``until`` compile (Meta has no such parameter; the media's timestamp is
    compared instead)."""
    q = Query(hashtags=["brandkit"], since=datetime(2026, 12, 4, tzinfo=UTC))
    assert adapter().compile_query(q) == ("brandkit",)


# -- the flow --------------------------------------------------------------------------------


def test_search_reads_every_page_and_gives_oldest_first() -> None:
    """One lookup of the hashtag's id, then every page of recent_media with the fields
    asked and the largest page (50): all media come once, oldest first, as found messages
    without an author (Meta names none), with the real bodies' counts in ``extra``."""
    p1 = [media(item, 50 - i) for i, item in enumerate(REAL_P1)]
    p2 = [media(item, 10 + i) for i, item in enumerate(REAL_P2)]
    canned = Canned(
        hashtag_found(),
        ("GET", RECENT, answer(200, page(p1, REAL_AFTER))),
        ("GET", RECENT, answer(200, page(p2))),
    )
    result = search(canned, Query(hashtags=["BrandKit"]))
    lookup, first, second = canned.requests
    assert dict(lookup.url.params) == {"user_id": IG, "q": "brandkit"}
    assert dict(first.url.params) == {"user_id": IG, "fields": FOUND_FIELDS, "limit": "50"}
    assert second.url.params["after"] == REAL_AFTER
    assert "access_token" not in str(first.url)
    ids = [m.id for m in result.messages]
    assert sorted(ids) == sorted(i["id"] for i in REAL_P1 + REAL_P2)
    assert [m.created_at for m in result.messages] == sorted(m.created_at for m in result.messages)
    m = next(m for m in result.messages if m.id == "17844732772969202")
    assert m.kind == "found" and m.author.id == "unknown" and m.author.handle is None
    assert m.text == "Loving #brandkit" and m.url == "https://www.instagram.com/p/969202/"
    assert m.extra["like_count"] == 4 and m.extra["media_type"] == "CAROUSEL_ALBUM"
    assert m.raw["comments_count"] == 2
    assert (result.read, result.more) == (7, False)


def test_cursor_keeps_the_id_and_what_was_given() -> None:
    """From the cursor, no lookup is made again (hashtag ids are static), and media given
    before are not given again, however Meta orders them; a new one is."""
    first = Canned(hashtag_found(), ("GET", RECENT, answer(200, page([media(REAL_P1[0], 1)]))))
    one = search(first, Query(hashtags=["brandkit"]))
    again = Canned(
        ("GET", RECENT, answer(200, page([media(REAL_P1[1], 0), media(REAL_P1[0], 1)]))),
    )
    two = search(again, Query(hashtags=["brandkit"]), one.cursor)
    assert [r.url.path for r in again.requests] == [f"/v25.0/{TAG_ID}/recent_media"]
    assert [m.id for m in two.messages] == [REAL_P1[1]["id"]]
    assert two.read == 2


def test_a_post_under_two_hashtags_is_given_once() -> None:
    """Several hashtags are one search each; a media tagged with both comes once."""
    other = "17843000000000002"
    both = media(REAL_P1[0], 1, "#brandkit #kopi")
    canned = Canned(
        hashtag_found(),
        ("GET", RECENT, answer(200, page([both]))),
        hashtag_found(other),
        ("GET", rf"/v25\.0/{other}/recent_media", answer(200, page([both, media(REAL_P1[1], 2)]))),
    )
    result = search(canned, Query(hashtags=["brandkit", "kopi"]))
    assert [m.id for m in result.messages] == [REAL_P1[0]["id"], REAL_P1[1]["id"]]
    assert [q.url.params.get("q") for q in canned.requests[::2]] == ["brandkit", "kopi"]


def test_limit_stops_with_more_and_resumes_where_it_stopped() -> None:
    """A search stops once ``limit`` media were read (more=True); the next goes on from
    Meta's ``after`` cursor, not from the first page again."""
    p1 = [media(item, i) for i, item in enumerate(REAL_P1)]
    canned = Canned(hashtag_found(), ("GET", RECENT, answer(200, page(p1, REAL_AFTER))))
    one = search(canned, Query(hashtags=["brandkit"]), limit=3)
    assert (one.more, one.read, len(one.messages)) == (True, 5, 5)
    rest = Canned(("GET", RECENT, answer(200, page([media(REAL_P2[0], 30)]))))
    two = search(rest, Query(hashtags=["brandkit"]), one.cursor, limit=3)
    assert rest.requests[0].url.params["after"] == REAL_AFTER
    assert [m.id for m in two.messages] == [REAL_P2[0]["id"]]
    assert two.more is False


def test_a_stale_meta_cursor_reads_the_hashtag_from_the_top() -> None:
    """Meta refusing the ``after`` cursor kept from an earlier search (code 100): the
    hashtag is read from its first page, and what was given is still not given again."""
    p1 = [media(item, i) for i, item in enumerate(REAL_P1)]
    canned = Canned(hashtag_found(), ("GET", RECENT, answer(200, page(p1, REAL_AFTER))))
    one = search(canned, Query(hashtags=["brandkit"]), limit=3)
    rest = Canned(
        ("GET", RECENT, graph_error(400, 100, "(#100) Invalid cursor")),
        ("GET", RECENT, answer(200, page([*p1, media(REAL_P2[0], 30)]))),
    )
    two = search(rest, Query(hashtags=["brandkit"]), one.cursor)
    assert rest.requests[0].url.params["after"] == REAL_AFTER
    assert "after" not in rest.requests[1].url.params
    assert [m.id for m in two.messages] == [REAL_P2[0]["id"]]


def test_a_refused_page_that_is_no_resume_is_an_error() -> None:
    """Code 100 on a page that is not a resumed cursor is Meta's refusal, raised."""
    canned = Canned(hashtag_found(), ("GET", RECENT, graph_error(400, 100, "(#100) nope")))
    with pytest.raises(Rejected):
        search(canned, Query(hashtags=["brandkit"]))
    assert len(canned.requests) == 2


def test_limit_between_hashtags_resumes_at_the_next_hashtag() -> None:
    """Stopped before a hashtag was read, the next search reads that hashtag and the ones
    after it only (those before were read in this round), and the round ends: a round
    where every hashtag fills the limit still finishes."""
    other = "17843000000000002"
    canned = Canned(hashtag_found(), ("GET", RECENT, answer(200, page([media(REAL_P1[0], 1)]))))
    one = search(canned, Query(hashtags=["brandkit", "kopi"]), limit=1)
    assert one.more is True
    rest = Canned(
        hashtag_found(other),
        ("GET", rf"/v25\.0/{other}/recent_media", answer(200, page([media(REAL_P1[1], 2)]))),
    )
    two = search(rest, Query(hashtags=["brandkit", "kopi"]), one.cursor, limit=1)
    assert [r.url.params.get("q") for r in rest.requests] == ["kopi", None]
    assert len(rest.requests) == 2
    assert [m.id for m in two.messages] == [REAL_P1[1]["id"]]
    assert two.more is False
    assert json.loads(two.cursor or "{}").get("resume") is None


def test_page_bound_stops_with_more_and_resumes(monkeypatch: pytest.MonkeyPatch) -> None:
    """A hashtag with more pages than `search_pages` stops there (the bound of a loop)
    with ``more`` and goes on from Meta's cursor next time, even under ``limit``."""
    monkeypatch.setattr(InstagramAdapter, "search_pages", 1)
    p1 = [media(item, i) for i, item in enumerate(REAL_P1)]
    canned = Canned(hashtag_found(), ("GET", RECENT, answer(200, page(p1, REAL_AFTER))))
    one = search(canned, Query(hashtags=["brandkit"]))
    assert one.more is True
    rest = Canned(("GET", RECENT, answer(200, page([media(REAL_P2[0], 30)]))))
    two = search(rest, Query(hashtags=["brandkit"]), one.cursor)
    assert rest.requests[0].url.params["after"] == REAL_AFTER
    assert (two.more, [m.id for m in two.messages]) == (False, [REAL_P2[0]["id"]])


def test_since_and_until_filter_by_timestamp() -> None:
    """Media outside ``since``/``until`` are left out."""
    items = [media(REAL_P1[0], 5), media(REAL_P1[1], 15), media(REAL_P1[2], 25)]
    canned = Canned(hashtag_found(), ("GET", RECENT, answer(200, page(items))))
    q = Query(
        hashtags=["brandkit"],
        since=datetime(2026, 12, 4, 10, 10, tzinfo=UTC),
        until=datetime(2026, 12, 4, 10, 20, tzinfo=UTC),
    )
    assert [m.id for m in search(canned, q).messages] == [REAL_P1[1]["id"]]


def test_unknown_hashtag_finds_nothing_without_reading_media() -> None:
    """Meta naming no id for a hashtag: nothing is tagged with it; no media read."""
    canned = Canned(("GET", SEARCH, answer(200, {"data": []})))
    result = search(canned, Query(hashtags=["nobodyusesthis"]))
    assert result.messages == () and len(canned.requests) == 1
    assert "nobodyusesthis" not in json.loads(result.cursor or "{}")["ids"]


def test_real_hashtag_search_body_is_read() -> None:
    """The real ``ig_hashtag_search`` answer (with ``name``) gives the id."""
    body = real("instagram/apidata/users/hashtag_search.json")
    tag_id = body["data"][0]["id"]
    canned = Canned(
        ("GET", SEARCH, answer(200, body)),
        ("GET", rf"/v25\.0/{tag_id}/recent_media", answer(200, page([]))),
    )
    result = search(canned, Query(hashtags=["developers"]))
    assert json.loads(result.cursor or "{}")["ids"] == {"developers": tag_id}


@pytest.mark.parametrize(
    "item",
    [
        {"id": "1789", "caption": "x"},  # no timestamp
        {"id": "1789", "timestamp": "yesterday"},
        {"id": "17/89", "timestamp": "2026-12-04T10:00:00+0000"},
        {"id": 1789, "timestamp": "2026-12-04T10:00:00+0000"},
        {"id": "1789", "timestamp": "2026-12-04T10:00:00+0000", "like_count": "3"},
    ],
)
def test_unreadable_media_is_malformed(item: dict[str, Any]) -> None:
    """A media without a readable time, or with an id that could leave a path, or a count
    that is no number: MalformedResponse, nothing half-read."""
    canned = Canned(hashtag_found(), ("GET", RECENT, answer(200, page([item]))))
    with pytest.raises(MalformedResponse):
        search(canned, Query(hashtags=["brandkit"]))


def test_unreadable_hashtag_answer_is_malformed() -> None:
    canned = Canned(("GET", SEARCH, answer(200, {"data": [{"id": "../me"}]})))
    with pytest.raises(MalformedResponse):
        search(canned, Query(hashtags=["brandkit"]))


def test_hashtag_quota_is_rate_limited_with_advice() -> None:
    """Code 18 (30 unique hashtags in 7 days): RateLimited on ``instagram:hashtags``, with
    what to do, and never a second request."""
    canned = Canned(("GET", SEARCH, graph_error(400, 18, "(#18) hashtag limit")))
    with pytest.raises(RateLimited) as err:
        search(canned, Query(hashtags=["brandkit"]))
    assert err.value.bucket == "instagram:hashtags"
    assert "30 unique hashtags" in str(err.value) and "recently_searched_hashtags" in str(err.value)
    assert len(canned.requests) == 1


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        "{}",
        json.dumps({"v": 2, "seen": {}, "ids": {}}),
        json.dumps({"v": 1, "seen": {"1": "yesterday"}, "ids": {}}),
        json.dumps({"v": 1, "seen": {}, "ids": {"brandkit": "../me"}}),
        json.dumps({"v": 1, "seen": {}, "ids": {}, "resume": ["brandkit"]}),
    ],
)
def test_garbled_cursor_says_pass_none(cursor: str) -> None:
    """A cursor brandkit did not make is refused before any request, saying what to pass."""
    canned = Canned()
    with pytest.raises(ConfigurationError, match="or None"):
        search(canned, Query(hashtags=["brandkit"]), cursor)
    assert canned.requests == []


def test_cursor_forgets_what_recent_media_no_longer_shows() -> None:
    """Ids older than two days before the newest are dropped (recent_media shows 24 hours),
    and at most MAX_SEEN are kept, the newest."""
    day = 86_400
    cursor = SearchCursor(seen={"old": 0, "edge": 3 * day - 2 * day, "new": 3 * day})
    assert cursor.pruned() == {"new": 3 * day, "edge": day}
    many = SearchCursor(seen={str(i): i for i in range(SearchCursor.MAX_SEEN + 5)})
    kept = many.pruned()
    assert len(kept) == SearchCursor.MAX_SEEN and "4" not in kept and "5" in kept


def test_instagram_login_accounts_cannot_search() -> None:
    """Hashtag search is Facebook Login for Business only: an Instagram Login account
    (graph.instagram.com) is told so before any request."""
    acct = account("https://graph.instagram.com")
    canned = Canned()
    with pytest.raises(Unsupported, match="Facebook Login"):
        run_flow(InstagramAdapter(acct).search(Query(hashtags=["x"]), None, limit=10), canned)
    assert canned.requests == []


def test_search_requests_count_in_the_search_bucket() -> None:
    """Hashtag lookups and media reads are paced as ``search`` (Meta's Platform Rate
    Limits, 200 an hour), not against the Business Use Case budget."""
    ad = adapter()
    assert any(p.bucket == "search" and p.limit == 200 for p in ad.rate_policies)
    for path in ("ig_hashtag_search", f"{TAG_ID}/recent_media", f"{TAG_ID}/top_media"):
        assert ad.bucket_of(ad.request("GET", f"/{path}")) == "search"
    assert ad.capabilities.search is True
