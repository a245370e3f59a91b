"""Instagram hashtag search: a cursor names its hashtags and account; another query's is
refused before any request (the media it gave would be skipped here), and a cursor written
before cursors named their query is still read."""

from __future__ import annotations

import json

import pytest

from brandkit import Account, Query
from brandkit._flow import run_flow
from brandkit.errors import ConfigurationError
from brandkit.platforms.instagram import InstagramAdapter, SearchCursor
from tests.facebook.conftest import Canned, answer
from tests.instagram.test_listening import (
    BASE,
    IG,
    REAL_P1,
    RECENT,
    hashtag_found,
    media,
    page,
    search,
)


def test_another_querys_cursor_is_refused_before_any_request() -> None:
    both = media(REAL_P1[0], 1, "sale #acme #acmesale")
    first = search(
        Canned(hashtag_found(), ("GET", RECENT, answer(200, page([both])))),
        Query(hashtags=["acme"]),
    )
    assert len(json.loads(first.cursor or "")["q"]) == 16
    canned = Canned(hashtag_found(), ("GET", RECENT, answer(200, page([both]))))
    with pytest.raises(ConfigurationError, match="another query") as caught:
        search(canned, Query(hashtags=["acmesale"]), first.cursor)
    assert "None" in str(caught.value)
    assert canned.requests == []
    fresh = search(canned, Query(hashtags=["acmesale"]))
    assert [m.id for m in fresh.messages] == [both["id"]]


def test_the_same_hashtags_in_another_order_are_the_same_query() -> None:
    other = "17843000000000002"
    recent = (
        ("GET", RECENT, answer(200, page([]))),
        ("GET", rf"/v25\.0/{other}/recent_media", answer(200, page([]))),
    )
    first = Canned(hashtag_found(), recent[0], hashtag_found(other), recent[1])
    one = search(first, Query(hashtags=["acme", "Kopi"]))
    again = Canned(*recent)
    search(again, Query(hashtags=["kopi", "acme"]), one.cursor)
    assert len(again.requests) == 2  # no lookup: the ids came with the cursor


def test_another_accounts_cursor_is_refused() -> None:
    canned = Canned(hashtag_found(), ("GET", RECENT, answer(200, page([]))))
    mine = search(canned, Query(hashtags=["acme"]))
    other = InstagramAdapter(
        Account.instagram(ig_user_id=IG, token="ig-token-secret", base_url=BASE, name="other")
    )
    with pytest.raises(ConfigurationError, match="another account"):
        run_flow(other.search(Query(hashtags=["acme"]), mine.cursor, limit=10), canned)


def test_a_cursor_written_before_cursors_named_their_query_is_still_read() -> None:
    given = media(REAL_P1[0], 1)
    old = SearchCursor(seen={given["id"]: 1}, ids={"brandkit": "17843826142012701"}).encode()
    assert "q" not in json.loads(old)
    canned = Canned(("GET", RECENT, answer(200, page([given]))))
    again = search(canned, Query(hashtags=["brandkit"]), old)
    assert again.messages == ()  # what it gave is still not given again
    assert SearchCursor.decode(again.cursor).query is not None


@pytest.mark.parametrize("q", ["", "ABCDEF0123456789", "0123", 12])
def test_a_garbled_query_name_is_refused(q: object) -> None:
    with pytest.raises(ConfigurationError, match="not one brandkit made"):
        SearchCursor.decode(json.dumps({"v": 1, "seen": {}, "ids": {}, "q": q}))
