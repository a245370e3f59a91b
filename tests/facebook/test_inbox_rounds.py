"""Facebook inbox reads that stop at their page bound (or their ``limit``) with a post
still new: the next reads go on with that post from Meta's ``after`` cursor, so no comment
is lost and each is given once; and inbox cursors belong to their Page."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from brandkit import Client, Inbox, Post
from brandkit.errors import ConfigurationError
from brandkit.platforms.facebook import FacebookAdapter
from brandkit.testing.facebook import FacebookEmulator
from tests.facebook.conftest import FAST
from tests.inbox_reads import follow, read_on

# The adapters read the emulator's clock: these tests run it minutes ahead of real time,
# and a Date that far ahead of the local clock is not believed.
pytestmark = pytest.mark.usefixtures("emulator_clock")


@pytest.mark.usefixtures("small_pages")
def test_comments_past_the_page_bound_come_in_the_next_read(emu: FacebookEmulator) -> None:
    """23 new comments on one post, a bound of 10: the first read gives the newest 10
    with ``more``, the reads that follow go on with the older ones (none lost, each
    once), and then the cursor has them all."""
    account = emu.account()
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="Giveaway!"), account)
        emu.audience("early").comment(d.ids[0], "before the cursor")
        cursor = client.inbox(account).cursor
        written = []
        for i in range(23):
            emu.clock.advance(1)
            written.append(f"new {i}")
            emu.audience(f"fan{i % 3}").comment(d.ids[0], written[-1])
        reads, cursor = follow(client, account, cursor)
        assert len(reads) > 1 and reads[0] == written[-10:]
        got = [text for read in reads for text in read]
        assert sorted(got) == sorted(written) and len(got) == len(set(got))
        again = client.inbox(account, since=cursor)
        assert again.messages == () and not again.more
        emu.clock.advance(1)
        emu.audience("late").comment(d.ids[0], "after the round")
        assert [m.text for m in client.inbox(account, since=cursor).messages] == ["after the round"]


@pytest.mark.usefixtures("small_pages")
def test_comments_written_during_a_round_come_once_in_the_next(emu: FacebookEmulator) -> None:
    """While a round goes on with a busy post, new comments on it and on a post already
    read in full wait for the next round: every comment is given exactly once."""
    account = emu.account()
    with Client(retry=FAST) as client:
        (busy,) = client.publish(Post(text="Busy"), account)
        (quiet,) = client.publish(Post(text="Quiet"), account)
        cursor = client.inbox(account).cursor
        written = []
        for i in range(23):
            emu.clock.advance(1)
            written.append(f"busy {i}")
            emu.audience("fan").comment(busy.ids[0], written[-1])
        for i in range(2):
            written.append(f"quiet {i}")
            emu.audience("fan").comment(quiet.ids[0], written[-1])
        first = client.inbox(account, since=cursor)
        assert first.more
        emu.clock.advance(1)
        for post, text in ((busy, "busy late"), (quiet, "quiet late")):
            written.append(text)
            emu.audience("fan").comment(post.ids[0], text)
        reads, cursor = follow(client, account, first.cursor)
        next_round, _ = follow(client, account, cursor)
        got = Counter(
            [m.text for m in first.messages] + [t for read in reads + next_round for t in read]
        )
        assert got == Counter(written)
        assert sorted(t for read in next_round for t in read) == ["busy late", "quiet late"]


@pytest.mark.usefixtures("small_pages")
def test_limit_stops_a_long_post_and_the_round_gives_the_rest(emu: FacebookEmulator) -> None:
    """With a small ``limit`` the read stops reading a long post once it has about that
    many (a page at most past it) and goes on from Meta's cursor: each comment once, the
    ones past the page bound too."""
    account = emu.account()
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="Count off"), account)
        cursor = client.inbox(account).cursor
        written = []
        for i in range(23):
            emu.clock.advance(1)
            written.append(f"n{i}")
            emu.audience("fan").comment(d.ids[0], written[-1])
        reads, _ = follow(client, account, cursor, limit=4)
        assert len(reads) > 1 and all(len(r) <= 4 + FacebookAdapter.comments_page for r in reads)
        got = [t for read in reads for t in read]
        assert sorted(got) == sorted(written) and len(got) == len(set(got))


def test_another_pages_cursor_is_refused(emu: FacebookEmulator) -> None:
    """Page 1's cursor given for page 2 is a ConfigurationError that says what to pass
    (it would skip page 2's older comments); page 2 reads with its own or None."""
    first, second = emu.account(name="p1"), emu.account(name="p2")
    with Client(retry=FAST) as client:
        (d2,) = client.publish(Post(text="page 2 post"), second)
        emu.audience("fan").comment(d2.ids[0], "hello page 2")
        emu.clock.advance(60)
        (d1,) = client.publish(Post(text="page 1 post"), first)
        emu.audience("fan").comment(d1.ids[0], "hello page 1")
        cursor = client.inbox(first).cursor
        with pytest.raises(ConfigurationError, match=r"since=None, or the cursor saved"):
            client.inbox(second, since=cursor)
        assert [m.text for m in client.inbox(second).messages] == ["hello page 2"]
        assert client.inbox(first, since=cursor).messages == ()


@pytest.mark.usefixtures("small_pages")
def test_one_sync_stores_every_comment_past_the_bound_once(
    emu: FacebookEmulator, tmp_path: Path
) -> None:
    """The inbox store reads again at once while a read says ``more``: one sync stores
    all 23 new comments, each read once, and the next sync reads nothing."""
    account = emu.account()
    with Client(retry=FAST) as client, Inbox(tmp_path / "inbox.db") as inbox:
        (d,) = client.publish(Post(text="Giveaway!"), account)
        emu.audience("early").comment(d.ids[0], "before")
        inbox.sync(client, [account])
        for i in range(23):
            emu.clock.advance(1)
            emu.audience("fan").comment(d.ids[0], f"new {i}")
        report = inbox.sync(client, [account])
        assert (report.added, report.accounts[0].read, report.errors) == (23, 23, {})
        assert inbox.sync(client, [account]).accounts[0].read == 0
        assert len(inbox.messages()) == 24


def test_reads_past_limit_go_on_without_reading_the_busy_post_again(
    emu: FacebookEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ten posts with a page of new comments each, then 100 newer ones on a busy post,
    limit=30 (pages of 10): following ``more`` gives all 200 once, at most 30 a read, in
    about the requests of one pass (a request for the posts, the busy post's 9 more
    pages and the quiet ones' second: 18 requests). The reads went on from the top after
    each round, reading the busy post's pages again each time: 42."""
    monkeypatch.setattr(FacebookAdapter, "comments_page", 10)
    account = emu.account()
    with Client(retry=FAST) as client:
        quiet = [client.publish(Post(text=f"quiet {j}"), account)[0] for j in range(10)]
        (busy,) = client.publish(Post(text="busy"), account)
        cursor = client.inbox(account).cursor
        written = []
        for i in range(10):
            emu.clock.advance(1)
            for j, d in enumerate(quiet):
                written.append(f"q{j} c{i}")
                emu.audience("fan").comment(d.ids[0], written[-1])
        for i in range(100):
            emu.clock.advance(1)
            written.append(f"busy {i}")
            emu.audience("fan").comment(busy.ids[0], written[-1])
        emu.clock.advance(120)
        before = emu.count("GET")
        pages = read_on(client, account, cursor, limit=30, most=100)
        assert all(len(page.messages) <= 30 for page in pages)
        assert Counter(m.text for p in pages for m in p.messages) == Counter(written)
        assert emu.count("GET") - before <= 24
        assert client.inbox(account, since=pages[-1].cursor).messages == ()
