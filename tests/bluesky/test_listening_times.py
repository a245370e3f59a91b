"""Listening over the socket when the AppView lists a post whose own time is no ISO text:
that post cannot be placed in the search's order, so it is skipped with a WARNING and moves
no mark; the rest of the search is read whole, across stops."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from brandkit import Client, MalformedResponse
from brandkit.listening import Query
from brandkit.platforms.bluesky import BlueskyAdapter
from brandkit.testing.bluesky import BlueskyEmulator
from tests.bluesky._support import FAST

SEARCH = r"/xrpc/app\.bsky\.feed\.searchPosts"


def _first_page(emu: BlueskyEmulator, account: Any) -> dict[str, Any]:
    """The emulator's own first page of the search the adapter makes first."""
    with httpx.Client(base_url=emu.base_url) as http:
        session = http.post(
            "/xrpc/com.atproto.server.createSession",
            json={
                "identifier": account.settings["handle"],
                "password": account.secret("app_password"),
            },
        ).json()
        page = http.get(
            "/xrpc/app.bsky.feed.searchPosts",
            params={"q": "launch", "sort": "latest", "limit": 5},
            headers={"Authorization": f"Bearer {session['accessJwt']}"},
        )
    assert page.status_code == 200, page.text
    body: dict[str, Any] = page.json()
    return body


@pytest.mark.parametrize("garbled", [17, 4_102_444_800_000, 1.5e9, None, True])
def test_a_post_whose_indexed_at_is_no_text_ends_no_search_early(
    served: BlueskyEmulator,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    garbled: Any,
) -> None:
    """20 posts, pages of 5, searches of 8 posts; the first page lists one post whose
    ``indexedAt`` is a number (pydantic would read 17 as 1970, 4.1e12 ms as 2100), null or
    a boolean. Every other post comes once across the stops, and the next search, once
    more posts are made, finds just those."""
    emu = served
    monkeypatch.setattr(BlueskyAdapter, "search_page", 5)
    account = emu.account(name="brand")
    made = []
    for n in range(20):
        made.append(emu.audience(f"fan{n % 3}").post(f"launch day {n}"))
        emu.clock.advance(1)
    page = _first_page(emu, account)
    bad = page["posts"][2]["uri"]
    page["posts"][2]["indexedAt"] = garbled
    emu.fault(path=SEARCH, status=200, body=page)
    query = Query(any=["launch"])
    seen: list[str] = []
    cursor: str | None = None
    with (
        Client(retry=FAST) as client,
        caplog.at_level("WARNING", logger="brandkit.platforms.bluesky"),
    ):
        for _ in range(10):
            found = client.search(account, query, since=cursor, limit=8)
            seen += [m.id for m in found.messages]
            cursor = found.cursor
            if not found.more:
                break
        assert sorted(seen) == sorted(u for u in made if u != bad)
        assert any(bad in r.getMessage() for r in caplog.records)
        emu.clock.advance(1)
        later = [emu.audience("late").post(f"launch again {n}") for n in range(3)]
        again = client.search(account, query, since=cursor)
    assert sorted(m.id for m in again.messages) == sorted(later)


def test_more_than_a_page_of_posts_without_a_time_in_a_row_is_malformed(
    served: BlueskyEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An AppView whose answers changed shape (every post's indexedAt a number, page after
    page) stops the search with MalformedResponse once more than 100 in a row cannot be
    placed, rather than going through the whole search at every read; the cursor given
    stays the one to read from."""
    emu = served
    monkeypatch.setattr(BlueskyAdapter, "search_page", 5)
    account = emu.account(name="brand")
    for n in range(5):
        emu.audience("fan").post(f"launch day {n}")
    page = _first_page(emu, account)
    before = emu.count(path=SEARCH)
    for k in range(21):
        posts = [
            {**post, "uri": f"{post['uri'][:-6]}{k:03d}{i:03d}", "indexedAt": 17}
            for i, post in enumerate(page["posts"])
        ]
        emu.fault(path=SEARCH, status=200, body={"posts": posts, "cursor": str(5 * (k + 1))})
    with Client(retry=FAST) as client, pytest.raises(MalformedResponse, match="more than 100"):
        client.search(account, Query(any=["launch"]), limit=1000)
    assert emu.count(path=SEARCH) - before == 21
