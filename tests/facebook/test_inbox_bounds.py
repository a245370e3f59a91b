"""The bounds of Facebook inbox reads: a read gives at most ``limit`` messages, the one
that starts a round too, with none lost or given twice; and a ``Date`` header far ahead
of the local clock does not move the inbox mark past comments not read yet."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from email.utils import format_datetime

import pytest

from brandkit import Client, Post
from brandkit.testing.facebook import FacebookEmulator
from tests.facebook.conftest import FAST
from tests.inbox_reads import read_on

# The adapters read the emulator's clock: these tests run it minutes ahead of real time,
# and a Date that far ahead of the local clock is not believed.
pytestmark = pytest.mark.usefixtures("emulator_clock")


@pytest.mark.usefixtures("small_pages")
@pytest.mark.parametrize("limit", [1, 4, 7, 12])
def test_every_read_gives_at_most_limit_and_each_comment_once(
    emu: FacebookEmulator, limit: int
) -> None:
    """Three posts with 23 new comments each: the read that starts a round stops at
    ``limit`` (the oldest it found), and so does every read after it; following ``more``
    gives all 69 comments, each once, and then nothing."""
    account = emu.account()
    with Client(retry=FAST) as client:
        posts = [client.publish(Post(text=f"post {j}"), account)[0] for j in range(3)]
        cursor = client.inbox(account).cursor
        written = []
        for i in range(23):
            for j, d in enumerate(posts):
                emu.clock.advance(1)
                written.append(f"p{j} c{i}")
                emu.audience(f"fan{i % 4}").comment(d.ids[0], written[-1])
        pages = read_on(client, account, cursor, limit=limit, most=500)
        assert all(len(page.messages) <= limit for page in pages)
        got = Counter(m.text for page in pages for m in page.messages)
        assert got == Counter(written)
        assert client.inbox(account, since=pages[-1].cursor).messages == ()


@pytest.mark.usefixtures("small_pages")
def test_comments_written_while_a_cut_round_goes_on_come_once(emu: FacebookEmulator) -> None:
    """Comments written between the reads of a round that stopped at ``limit`` come once,
    with the rest."""
    account = emu.account()
    with Client(retry=FAST) as client:
        busy, quiet = (client.publish(Post(text=t), account)[0] for t in ("Busy", "Quiet"))
        cursor = client.inbox(account).cursor
        written = []
        for i in range(23):
            emu.clock.advance(1)
            written.append(f"busy {i}")
            emu.audience("fan").comment(busy.ids[0], written[-1])
        written.append("quiet 0")
        emu.audience("fan").comment(quiet.ids[0], "quiet 0")
        page = client.inbox(account, since=cursor, limit=3)
        given = [m.text for m in page.messages]
        for n in range(8):
            assert page.more
            emu.clock.advance(1)
            for post, text in ((busy, f"busy late {n}"), (quiet, f"quiet late {n}")):
                written.append(text)
                emu.audience("fan").comment(post.ids[0], text)
            page = client.inbox(account, since=page.cursor, limit=3)
            assert len(page.messages) <= 3
            given += [m.text for m in page.messages]
        rest = read_on(client, account, page.cursor, limit=3, most=100)
        assert all(len(p.messages) <= 3 for p in rest)
        given += [m.text for p in rest for m in p.messages]
        assert Counter(given) == Counter(written)


@pytest.mark.usefixtures("small_pages")
@pytest.mark.parametrize("limit", [1, 3])
def test_comments_of_one_second_past_a_cut_come_once(
    emu: FacebookEmulator, monkeypatch: pytest.MonkeyPatch, limit: int
) -> None:
    """23 new comments on one post, all in the same second (Meta stamps whole seconds):
    the read that stops at ``limit`` holds some of that second back and leaves the rest
    to its round; following ``more`` gives all of them, each once."""
    account = emu.account()
    now = [float(int(emu.clock.time()))]
    monkeypatch.setattr(emu.clock, "time", lambda: now[0])
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="Flash sale"), account)
        cursor = client.inbox(account).cursor
        now[0] += 5
        written = [f"n{i}" for i in range(23)]
        for text in written:
            emu.audience("fan").comment(d.ids[0], text)
        pages = read_on(client, account, cursor, limit=limit, most=200)
        assert all(len(page.messages) <= limit for page in pages)
        got = Counter(m.text for page in pages for m in page.messages)
        assert got == Counter(written)
        now[0] += 120
        assert client.inbox(account, since=pages[-1].cursor).messages == ()


@pytest.mark.usefixtures("small_pages")
@pytest.mark.parametrize("ahead", [timedelta(minutes=5), timedelta(days=1)], ids=str)
def test_a_date_header_ahead_does_not_skip_comments(
    emu: FacebookEmulator, ahead: timedelta
) -> None:
    """The answer that starts a round says it is later than it is (five minutes, more
    than Meta's minute of slack, or a day): the round still gives every comment once,
    and a comment written after it is read by the next read."""
    account = emu.account()
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="Giveaway!"), account)
        cursor = client.inbox(account).cursor
        written = []
        for i in range(12):
            emu.clock.advance(1)
            written.append(f"new {i}")
            emu.audience("fan").comment(d.ids[0], written[-1])
        date = format_datetime(emu.clock.now() + ahead, usegmt=True)
        emu.fault(method="GET", path=r".*/feed", headers={"date": date})
        pages = read_on(client, account, cursor)
        got = [m.text for page in pages for m in page.messages]
        assert len(pages) > 1 and sorted(got) == sorted(written) and len(got) == len(set(got))
        emu.clock.advance(1)
        emu.audience("fan").comment(d.ids[0], "a question after the round")
        later = client.inbox(account, since=pages[-1].cursor)
        assert [m.text for m in later.messages] == ["a question after the round"]
