"""Instagram inbox reads that stop at their page bound with more to read (a media's new
comments, or the replies of one comment): the next reads go on from Meta's ``after``
cursor, so no comment or reply is lost and each is given once; and inbox cursors belong
to their account."""

from __future__ import annotations

from collections import Counter

import pytest

from brandkit import Client
from brandkit.errors import ConfigurationError
from brandkit.platforms.instagram import InstagramAdapter
from brandkit.testing.instagram import InstagramEmulator
from tests.facebook.conftest import FAST
from tests.inbox_reads import follow, read_on
from tests.instagram.conftest import post

# The adapters read the emulator's clock: these tests run it minutes ahead of real time,
# and a Date that far ahead of the local clock is not believed.
pytestmark = pytest.mark.usefixtures("emulator_clock")


def flat(reads: list[list[str]]) -> list[str]:
    return [text for read in reads for text in read]


@pytest.mark.usefixtures("small_pages")
def test_replies_past_the_page_bound_come_in_the_next_reads(emu: InstagramEmulator) -> None:
    """23 new replies under one comment, a bound of 10 (replies come oldest first): the
    reads that follow ``more`` go on from Meta's cursor and give all 23, each once."""
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
        reads, cursor = follow(client, account, cursor)
        got = flat(reads)
        assert len(reads) > 1 and sorted(got) == sorted(written) and len(got) == len(set(got))
        again, _ = follow(client, account, cursor)
        assert flat(again) == []


@pytest.mark.usefixtures("small_pages")
def test_replies_younger_than_metas_clock_slack_wait_for_a_later_round(
    emu: InstagramEmulator,
) -> None:
    """Replies past the bound written less than a minute before the read began wait for
    a later read (one whose round starts after Meta's clock moved on); none is lost and
    none comes twice."""
    account = emu.account(username="brand")
    with Client(retry=FAST) as client:
        (d,) = client.publish(post("Giveaway"), account)
        asked = emu.audience("ada").comment(d.ids[0], "reply here")
        cursor = client.inbox(account).cursor
        written = []
        for i in range(23):
            emu.clock.advance(1)
            written.append(f"reply {i}")
            emu.audience("fan").comment(asked, written[-1])
        now, cursor = follow(client, account, cursor)
        emu.clock.advance(120)
        later, cursor = follow(client, account, cursor)
        got = flat(now) + flat(later)
        assert sorted(got) == sorted(written) and len(got) == len(set(got))
        assert flat(now) == written[:10] and flat(later)  # the first page bound's worth
        assert flat(follow(client, account, cursor)[0]) == []


@pytest.mark.usefixtures("small_pages")
def test_comments_past_the_page_bound_come_in_the_next_reads(emu: InstagramEmulator) -> None:
    """23 new comments on one media, a bound of 10 (comments come newest first): the
    older new ones come in the reads that follow ``more``, each once."""
    account = emu.account(username="brand")
    with Client(retry=FAST) as client:
        (d,) = client.publish(post("Giveaway"), account)
        emu.audience("early").comment(d.ids[0], "before the cursor")
        cursor = client.inbox(account).cursor
        written = []
        for i in range(23):
            emu.clock.advance(1)
            written.append(f"new {i}")
            emu.audience(f"fan{i % 3}").comment(d.ids[0], written[-1])
        reads, cursor = follow(client, account, cursor)
        got = flat(reads)
        assert len(reads) > 1 and sorted(got) == sorted(written) and len(got) == len(set(got))
        assert flat(follow(client, account, cursor)[0]) == []


def test_another_accounts_cursor_is_refused(emu: InstagramEmulator) -> None:
    """One account's cursor given for another is a ConfigurationError that says what to
    pass (its mark would skip the other account's older comments)."""
    first, second = emu.account(username="one"), emu.account(username="two")
    with Client(retry=FAST) as client:
        (d2,) = client.publish(post("two"), second)
        emu.audience("fan").comment(d2.ids[0], "hello two")
        emu.clock.advance(60)
        (d1,) = client.publish(post("one"), first)
        emu.audience("fan").comment(d1.ids[0], "hello one")
        cursor = client.inbox(first).cursor
        with pytest.raises(ConfigurationError, match=r"since=None, or the cursor saved"):
            client.inbox(second, since=cursor)
        assert [m.text for m in client.inbox(second).messages] == ["hello two"]


def test_reads_past_limit_go_on_without_reading_every_page_again(
    emu: InstagramEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Four media with 25 new comments each (pages of 5), limit=20: following ``more``
    gives all 100 once, at most 20 a read, in at most the requests of two passes (17 a
    pass: the media and 4 more pages each), since a page read but not given is read
    once more, and no more (33 requests). Each read went on from the top, reading every
    page again: 85."""
    monkeypatch.setattr(InstagramAdapter, "comments_page", 5)
    account = emu.account(username="brand")
    with Client(retry=FAST) as client:
        media = [client.publish(post(f"m{j}"), account)[0] for j in range(4)]
        cursor = client.inbox(account).cursor
        written = []
        for i in range(25):
            emu.clock.advance(1)
            for j, d in enumerate(media):
                written.append(f"m{j} c{i}")
                emu.audience("fan").comment(d.ids[0], written[-1])
        emu.clock.advance(120)
        before = emu.count("GET")
        pages = read_on(client, account, cursor, limit=20, most=100)
        assert all(len(page.messages) <= 20 for page in pages)
        assert Counter(m.text for p in pages for m in p.messages) == Counter(written)
        assert emu.count("GET") - before <= 2 * 17
        assert client.inbox(account, since=pages[-1].cursor).messages == ()
