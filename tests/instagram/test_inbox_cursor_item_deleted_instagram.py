"""An Instagram inbox read stopped at its page bound keeps Meta's ``after`` cursor of a
comment's replies; the account deletes the reply that cursor names before the next read.
Meta invalidates such a cursor (400 code 100, as the emulator answers): the next read
reads the replies again from their first page, and every reply comes once; before, that
read and every later one failed on the same cursor."""

from __future__ import annotations

import json
import logging
from collections import Counter

import pytest

from brandkit import Client
from brandkit.platforms.instagram import InstagramAdapter
from brandkit.testing.instagram import InstagramEmulator
from tests.facebook.conftest import FAST, INVALID_CURSOR
from tests.inbox_reads import follow, read_on
from tests.instagram.conftest import post

pytestmark = pytest.mark.usefixtures("emulator_clock")


@pytest.mark.usefixtures("small_pages")
def test_a_round_goes_on_when_its_cursors_reply_is_deleted(
    emu: InstagramEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    account = emu.account(username="brand")
    with Client(retry=FAST) as client:
        (d,) = client.publish(post("Giveaway"), account)
        asked = emu.audience("ada").comment(d.ids[0], "reply here")
        cursor = client.inbox(account).cursor
        written = []
        for i in range(23):
            emu.clock.advance(1)
            written.append(f"reply {i}")
            emu.audience(f"fan{i % 3}").comment(asked, written[-1])
        emu.clock.advance(120)
        first = client.inbox(account, since=cursor)
        assert first.more
        (edge,) = [e for e, a in json.loads(first.cursor or "")["resume"] if a]
        assert edge.endswith(f"/{asked}")
        # Replies come oldest first: the cursor names the newest reply given.
        newest = max(first.messages, key=lambda m: (m.created_at, m.id))
        client.delete_comment(newest, account)
        with caplog.at_level(logging.WARNING, logger="brandkit.platforms._graph"):
            reads, last = follow(client, account, first.cursor)
        assert any("paging cursor" in r.getMessage() for r in caplog.records)
        got = Counter([m.text for m in first.messages] + [t for r in reads for t in r])
        assert got == Counter(written)
        emu.clock.advance(1)
        emu.audience("fan9").comment(asked, "later")
        emu.clock.advance(120)
        reads, _ = follow(client, account, last)
        assert [t for r in reads for t in r] == ["later"]


def test_tagged_media_go_on_when_meta_invalidates_the_cursor(
    emu: InstagramEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pages of 5 tags, at most 2 a read: the read stops with ``more`` and Meta's cursor of
    ``/tags``, which Meta then refuses as invalid (as it does once its media is deleted):
    the next read reads the tags from the first page again, and every tag comes once."""
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
        first = client.inbox(account, since=cursor)
        assert first.more
        refusal = emu.fault(method="GET", path=r".*/tags", status=400, body=INVALID_CURSOR)
        pages = read_on(client, account, first.cursor)
        assert refusal.times == 0
        given = Counter(m.id for p in [first, *pages] for m in p.messages)
        assert given == Counter(burst)
        later = emu.audience("cy").mention("me too @brand")
        emu.clock.advance(120)
        after = read_on(client, account, pages[-1].cursor)
        assert [m.id for p in after for m in p.messages] == [later]


def test_tags_read_again_from_the_first_page_stopped_short_give_nothing_twice(
    emu: InstagramEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two reads of a round page the tagged media down to a cursor Meta then refuses; the
    next read reads them again from the first page, at most two pages, and stops before
    it is back where the round was. The read after it went on from there leaving nothing
    out, so the media the round's earlier reads gave came twice; they now come once."""
    monkeypatch.setattr(InstagramAdapter, "tags_page", 5)
    monkeypatch.setattr(InstagramAdapter, "inbox_pages", 2)
    account = emu.account(username="brand")
    with Client(retry=FAST) as client:
        emu.audience("ada").mention("hello @brand")
        cursor = client.inbox(account).cursor
        burst = []
        for i in range(40):
            emu.clock.advance(1)
            burst.append(emu.audience(f"fan{i}").mention(f"tag {i} @brand"))
        emu.clock.advance(120)
        first = client.inbox(account, since=cursor)
        second = client.inbox(account, since=first.cursor)
        assert first.more and second.more
        refusal = emu.fault(method="GET", path=r".*/tags", status=400, body=INVALID_CURSOR)
        pages = read_on(client, account, second.cursor)
        assert refusal.times == 0
        given = Counter(m.id for p in [first, second, *pages] for m in p.messages)
        assert given == Counter(burst)


def test_reading_tags_again_from_an_invalid_cursor_keeps_the_page_bound(
    emu: InstagramEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read of a round sends at most ``inbox_pages`` requests. Going on with the tagged
    media from a cursor Meta refuses costs the refused request too: it was not counted,
    so such a read sent one request past the bound (three with a bound of two)."""
    monkeypatch.setattr(InstagramAdapter, "tags_page", 5)
    monkeypatch.setattr(InstagramAdapter, "inbox_pages", 2)
    account = emu.account(username="brand")
    with Client(retry=FAST) as client:
        emu.audience("ada").mention("hello @brand")
        cursor = client.inbox(account).cursor
        for i in range(30):
            emu.clock.advance(1)
            emu.audience(f"fan{i}").mention(f"tag {i} @brand")
        emu.clock.advance(120)
        first = client.inbox(account, since=cursor)
        assert first.more
        refusal = emu.fault(method="GET", path=r".*/tags", status=400, body=INVALID_CURSOR)
        before = emu.count("GET", r".*/tags")
        second = client.inbox(account, since=first.cursor)
        assert refusal.times == 0
        assert second.more
        assert emu.count("GET", r".*/tags") - before <= InstagramAdapter.inbox_pages
