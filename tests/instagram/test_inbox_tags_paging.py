"""The media others tagged the account in (``GET /{ig-user-id}/tags``) are read page after
page down to the inbox cursor's mark, so a burst of tags between two syncs is not cut at
one page; the edge pages by cursors alone (Meta's reference: no ``next``/``previous``)."""

from __future__ import annotations

from collections import Counter

import httpx
import pytest

from brandkit import Client
from brandkit.platforms.instagram import InstagramAdapter
from brandkit.testing.instagram import InstagramEmulator
from tests.facebook.conftest import FAST
from tests.inbox_reads import read_on

# The adapters read the emulator's clock: these tests run it minutes ahead of real time,
# and a Date that far ahead of the local clock is not believed.
pytestmark = pytest.mark.usefixtures("emulator_clock")


def test_a_burst_of_tags_between_two_syncs_comes_whole_at_the_fewest_requests(
    emu: InstagramEmulator,
) -> None:
    """60 tags after the last sync (50 a page): all 60 come, each once, in one read of
    three requests (the media, and two pages of tags, the second reaching the mark); the
    next read finds none, in one page."""
    account = emu.account(username="brand")
    with Client(retry=FAST) as client:
        first = emu.audience("ada").mention("hello @brand")
        page = client.inbox(account)
        assert [m.id for m in page.messages] == [first]
        burst = []
        for i in range(60):
            if i % 7 == 0:
                emu.clock.advance(1)  # some share a second, some do not
            burst.append(emu.audience(f"fan{i}").mention(f"tag {i} @brand"))
        before = len(emu.requests)
        page = client.inbox(account, since=page.cursor)
        assert sorted(m.id for m in page.messages) == sorted(burst) and not page.more
        assert all(m.kind == "mention" for m in page.messages)
        made = emu.requests[before:]
        tags = [r for r in made if r.url.path.endswith("/tags")]
        assert (len(made), len(tags)) == (3, 2)
        assert tags[0].url.params["limit"] == str(InstagramAdapter.tags_page)
        before = len(emu.requests)
        assert client.inbox(account, since=page.cursor).messages == ()
        assert (
            emu.count("GET", r".*/tags")
            - sum(1 for r in emu.requests[:before] if r.url.path.endswith("/tags"))
            == 1
        )


def test_tags_past_the_page_bound_come_in_the_next_reads_once_each(
    emu: InstagramEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pages of 5, at most 2 a read: 17 tags after the mark come over the reads that follow
    ``more`` (from Meta's ``after`` cursor), each once; a tag made later comes next."""
    monkeypatch.setattr(InstagramAdapter, "tags_page", 5)
    monkeypatch.setattr(InstagramAdapter, "inbox_pages", 2)
    account = emu.account(username="brand")
    with Client(retry=FAST) as client:
        emu.audience("ada").mention("hello @brand")
        cursor = client.inbox(account).cursor
        burst = []
        for i in range(17):
            emu.clock.advance(1)
            burst.append(emu.audience(f"fan{i}").mention(f"tag {i} @brand"))
        emu.clock.advance(120)
        pages = read_on(client, account, cursor)
        given = Counter(m.id for p in pages for m in p.messages)
        assert len(pages) > 1 and sorted(given) == sorted(burst)
        assert set(given.values()) == {1}
        later = emu.audience("cy").mention("me too @brand")
        after = read_on(client, account, pages[-1].cursor)
        assert [m.id for p in after for m in p.messages] == [later]


def test_tags_page_by_cursors_alone(emu: InstagramEmulator) -> None:
    """As Meta documents the edge: cursors but no ``next``/``previous``; the ``after``
    cursor of the last page reads an empty page."""
    account = emu.account(username="brand")
    made = [emu.audience(f"fan{i}").mention(f"tag {i} @brand") for i in range(3)]
    user = account.settings["ig_user_id"]
    headers = {"authorization": f"Bearer {account.secret('token')}"}
    url = f"{emu.base_url}/v25.0/{user}/tags"
    http = httpx.Client(timeout=10)
    one = http.get(url, params={"limit": 2}, headers=headers).json()
    assert [m["id"] for m in one["data"]] == made[::-1][:2]
    assert set(one["paging"]) == {"cursors"}
    after = one["paging"]["cursors"]["after"]
    two = http.get(url, params={"limit": 2, "after": after}, headers=headers).json()
    assert [m["id"] for m in two["data"]] == [made[0]] and set(two["paging"]) == {"cursors"}
    end = two["paging"]["cursors"]["after"]
    assert http.get(url, params={"limit": 2, "after": end}, headers=headers).json() == {"data": []}
    http.close()


def test_a_burst_after_a_first_sync_that_found_nothing_comes_whole(
    emu: InstagramEmulator,
) -> None:
    """A new account's first sync finds nothing, so there is no newest message to mark;
    the 60 tags that follow still come, all of them, once (a read without a mark would
    take the edge's first page alone)."""
    account = emu.account(username="brand")
    with Client(retry=FAST) as client:
        page = client.inbox(account)
        assert page.messages == ()
        emu.clock.advance(5)
        burst = [emu.audience(f"fan{i}").mention(f"tag {i} @brand") for i in range(60)]
        pages = read_on(client, account, page.cursor)
        given = Counter(m.id for p in pages for m in p.messages)
        assert sorted(given) == sorted(burst) and set(given.values()) == {1}
