"""The Instagram emulator's hashtag search answers as the Graph API does: ids, recent
media's shape and paging, the 24-hour window, the 30 unique hashtags of 7 days."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from brandkit.testing.instagram import InstagramEmulator, hashtag_id, hashtags_in
from tests.facebook.conftest import real


@pytest.fixture
def emu() -> Iterator[InstagramEmulator]:
    """An in-process emulator."""
    emu = InstagramEmulator()
    yield emu
    emu.close()


@pytest.fixture
def http(emu: InstagramEmulator) -> Iterator[httpx.Client]:
    """An httpx client answered by the emulator in-process."""
    with httpx.Client(transport=emu.transport(), base_url="http://graph.test") as client:
        yield client


class Who:
    """An account's id and auth header."""

    def __init__(self, emu: InstagramEmulator, username: str | None = None) -> None:
        acct = emu.account(username=username)
        self.id = str(acct.settings["ig_user_id"])
        self.headers = {"authorization": f"Bearer {acct.secret('token')}"}


def lookup(http: httpx.Client, who: Who, q: str) -> httpx.Response:
    return http.get(
        "/v25.0/ig_hashtag_search", params={"user_id": who.id, "q": q}, headers=who.headers
    )


def recent(http: httpx.Client, who: Who, tag_id: str, **params: Any) -> httpx.Response:
    return http.get(
        f"/v25.0/{tag_id}/recent_media",
        params={"user_id": who.id, **params},
        headers=who.headers,
    )


def test_lookup_has_the_real_shape_and_global_ids(
    emu: InstagramEmulator, http: httpx.Client
) -> None:
    """``{"data": [{"id"}]}`` as the real answer (which may add ``name``); one name, one id,
    whatever the case or the account; the hashtag node answers id and name."""
    who, other = Who(emu), Who(emu)
    body = lookup(http, who, "BrandKit").json()
    real_keys = set(real("instagram/apidata/users/hashtag_search.json")["data"][0])
    assert set(body["data"][0]) <= real_keys
    tag_id = body["data"][0]["id"]
    assert (
        tag_id == hashtag_id("brandkit") == lookup(http, other, "brandkit").json()["data"][0]["id"]
    )
    node = http.get(f"/v25.0/{tag_id}", params={"fields": "id,name"}, headers=who.headers)
    assert node.json() == real("instagram/models/ig_hashtag.json") | {
        "id": tag_id,
        "name": "brandkit",
    }


def test_lookup_refuses_what_is_no_hashtag(emu: InstagramEmulator, http: httpx.Client) -> None:
    """An emoji or punctuation, a missing q or user_id, someone else's user_id: code 100."""
    who, other = Who(emu), Who(emu)
    for q in ("🍕", "brand-kit", ""):
        assert lookup(http, who, q).json()["error"]["code"] == 100
    no_user = http.get("/v25.0/ig_hashtag_search", params={"q": "x"}, headers=who.headers)
    assert no_user.json()["error"]["code"] == 100
    theirs = http.get(
        "/v25.0/ig_hashtag_search", params={"user_id": other.id, "q": "x"}, headers=who.headers
    )
    assert theirs.json()["error"]["error_subcode"] == 33


def test_recent_media_is_what_the_audience_tagged_in_24_hours(
    emu: InstagramEmulator, http: httpx.Client
) -> None:
    """Public posts whose caption holds the hashtag (any case, any script, not inside a
    word), from the last 24 hours of the emulator clock; fields as asked, no username."""
    who = Who(emu)
    old = emu.audience("early").post("Yesterday's #BrandKit")
    emu.clock.advance(25 * 3600)
    fresh = emu.audience("fan").post("Loving #brandkit today", lang="en")
    emu.audience("fan").post("no tag: brandkit, #brandkitten, x#brandkit")
    japanese = emu.audience("ken").post("ラーメン #ブランドキット")
    tag_id = lookup(http, who, "brandkit").json()["data"][0]["id"]
    fields = "id,caption,media_type,permalink,timestamp,like_count,comments_count"
    body = recent(http, who, tag_id, fields=fields).json()
    assert [m["id"] for m in body["data"]] == [fresh]
    item = body["data"][0]
    assert set(item) == set(fields.split(","))
    assert item["caption"] == "Loving #brandkit today" and item["media_type"] == "IMAGE"
    assert item["permalink"].startswith("https://www.instagram.com/p/")
    assert old not in [m["id"] for m in body["data"]]
    jp = lookup(http, who, "ブランドキット").json()["data"][0]["id"]
    assert [m["id"] for m in recent(http, who, jp).json()["data"]] == [japanese]
    refused = recent(http, who, tag_id, fields="id,username").json()["error"]
    assert refused["code"] == 100 and "username" in refused["message"]
    assert hashtags_in("#A #b x#c ＃Ｄ") == {"a", "b", "ｄ"}


def test_recent_media_pages_by_after_only_in_no_time_order(
    emu: InstagramEmulator, http: httpx.Client
) -> None:
    """At most 50 a page whatever ``limit`` asks; an ``after`` cursor and ``next`` while
    more follow, never ``before`` or ``previous``; every media once across the pages; the
    order is not the posting order (as Meta warns)."""
    who = Who(emu)
    posted = [emu.audience(f"v{n % 7}").post(f"#kopi number {n}") for n in range(120)]
    tag_id = lookup(http, who, "kopi").json()["data"][0]["id"]
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 100}
    sizes = []
    for _ in range(10):
        body = recent(http, who, tag_id, **params).json()
        seen.extend(m["id"] for m in body["data"])
        sizes.append(len(body["data"]))
        paging = body.get("paging", {})
        assert "previous" not in paging and "before" not in paging.get("cursors", {})
        if "next" not in paging:
            break
        # Graph writes the request's token into next (the header's token here).
        token = who.headers["authorization"].split()[1]
        assert httpx.URL(paging["next"]).params["access_token"] == token
        params["after"] = paging["cursors"]["after"]
    assert sizes == [50, 50, 20]
    assert sorted(seen) == sorted(posted) and len(set(seen)) == 120
    assert seen != posted and seen != posted[::-1]
    bad = recent(http, who, tag_id, after="not-a-cursor").json()["error"]
    assert bad["code"] == 100


def test_top_media_has_no_24_hours_and_most_liked_first(
    emu: InstagramEmulator, http: httpx.Client
) -> None:
    who = Who(emu)
    old = emu.audience("a").post("#kopi old")
    emu.clock.advance(48 * 3600)
    new = emu.audience("b").post("#kopi new")
    tag_id = lookup(http, who, "kopi").json()["data"][0]["id"]
    body = http.get(
        f"/v25.0/{tag_id}/top_media",
        params={"user_id": who.id, "fields": "id,like_count"},
        headers=who.headers,
    ).json()
    assert [m["id"] for m in body["data"]] == [old, new]
    assert body["data"][0]["like_count"] > body["data"][1]["like_count"]


def test_thirty_unique_hashtags_per_rolling_seven_days(
    emu: InstagramEmulator, http: httpx.Client
) -> None:
    """30 unique hashtags pass; a repeat does not count; the 31st is refused with code 18
    and a user message, per account; 7 days after the first query it leaves the window
    (a repeat did not restart its 7 days) and a new hashtag passes."""
    who, other = Who(emu), Who(emu)
    for n in range(30):
        assert lookup(http, who, f"tag{n}").status_code == 200
        if n == 0:
            emu.clock.advance(3600)
    assert lookup(http, who, "TAG0").status_code == 200  # a repeat, any case
    refused = lookup(http, who, "tag30")
    assert refused.status_code == 400
    err = refused.json()["error"]
    assert err["code"] == 18 and err["error_user_msg"] and err["type"] == "OAuthException"
    assert lookup(http, other, "tag30").status_code == 200  # the limit is per account
    assert len(emu.hashtag_queries(who.id)) == 30
    listed = http.get(
        f"/v25.0/{who.id}/recently_searched_hashtags", params={"limit": 50}, headers=who.headers
    ).json()
    assert len(listed["data"]) == 30 and listed["data"][0] == {"id": hashtag_id("tag0")}
    emu.clock.advance(7 * 86_400 - 3600)
    assert lookup(http, who, "tag30").status_code == 200
    assert lookup(http, who, "tag31").status_code == 400


def test_reading_a_hashtags_media_counts_it_too(emu: InstagramEmulator, http: httpx.Client) -> None:
    """An id kept from an earlier week still spends the hashtag when its media are read:
    past 30, recent_media of a hashtag not queried in the window is refused with code 18."""
    who = Who(emu)
    kept = lookup(http, who, "kopi").json()["data"][0]["id"]
    emu.clock.advance(7 * 86_400)
    for n in range(30):
        lookup(http, who, f"tag{n}")
    assert recent(http, who, kept).json()["error"]["code"] == 18


def test_unknown_hashtag_id_and_usage_headers(emu: InstagramEmulator, http: httpx.Client) -> None:
    """A hashtag id nobody looked up is Meta's "Unsupported get request"; answers carry
    the usage headers of the account's budget."""
    who = Who(emu)
    answer = recent(http, who, "17840000000000000")
    assert answer.json()["error"]["error_subcode"] == 33
    ok = lookup(http, who, "kopi")
    assert "x-app-usage" in ok.headers and "x-business-use-case-usage" in ok.headers


def test_other_audience_kinds_still_work(emu: InstagramEmulator, http: httpx.Client) -> None:
    """Comments still go through the audience; a mention is a media that tags one of the
    accounts (the one whose ``@username`` it holds, else the one made last), listed by
    that account's ``/tags`` alone, newest first."""
    with pytest.raises(KeyError, match="account"):
        emu.audience("fan").mention("nobody to tag yet")
    first, last = Who(emu, "acme"), Who(emu)
    to_first = emu.audience("fan").mention("hi @ACME")
    emu.clock.advance(5)
    to_last = emu.audience("bob").mention("hi there")
    emu.clock.advance(5)
    also_last = emu.audience("cy").mention("hi @acmeco")

    def tags(who: Who) -> Any:
        got = http.get(
            f"/v25.0/{who.id}/tags", params={"fields": "id,caption,username"}, headers=who.headers
        )
        return got.json()["data"]

    assert tags(first) == [{"id": to_first, "caption": "hi @ACME", "username": "fan"}]
    assert [m["id"] for m in tags(last)] == [also_last, to_last]
    with pytest.raises(KeyError):
        emu.audience("fan").comment("1234", "hello")
    with pytest.raises(ValueError, match="hashtags"):
        emu.audience("fan").post(" ".join(f"#t{n}" for n in range(31)))
