"""A Facebook inbox read stopped at its page bound keeps Meta's ``after`` cursor; the Page
deletes the comment that cursor names before the next read (a spam comment, say). Meta
invalidates such a cursor (400 code 100, as the emulator answers): the next read reads the
post again from its first page, and every comment comes once; before, that read and every
later one failed on the same cursor."""

from __future__ import annotations

import json
import logging
from collections import Counter

import pytest

from brandkit import Client, Post
from brandkit.errors import Rejected
from brandkit.testing.facebook import FacebookEmulator
from tests.facebook.conftest import FAST, INVALID_CURSOR, NO_SUCH_FIELD
from tests.inbox_reads import follow

pytestmark = pytest.mark.usefixtures("emulator_clock")


@pytest.mark.usefixtures("small_pages")
def test_a_round_goes_on_when_its_cursors_comment_is_deleted(
    emu: FacebookEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    account = emu.account()
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="Giveaway!"), account)
        cursor = client.inbox(account).cursor
        written = []
        for i in range(23):
            emu.clock.advance(1)
            written.append(f"new {i}")
            emu.audience(f"fan{i % 3}").comment(d.ids[0], written[-1])
        first = client.inbox(account, since=cursor)
        assert first.more
        (after,) = [a for _, a in json.loads(first.cursor or "")["resume"]]
        assert after
        # The cursor names the last comment of the last page given: the oldest given.
        oldest = min(first.messages, key=lambda m: (m.created_at, m.id))
        client.delete_comment(oldest, account)
        with caplog.at_level(logging.WARNING, logger="brandkit.platforms._graph"):
            reads, last = follow(client, account, first.cursor)
        # It names the account, which tells one Page's inbox from another's.
        warned = [r.getMessage() for r in caplog.records if "paging cursor" in r.getMessage()]
        assert warned and all(m.startswith(f"{account.key}: ") for m in warned), warned
        got = Counter([m.text for m in first.messages] + [t for r in reads for t in r])
        assert got == Counter(written)
        # The inbox goes on: the next comment comes, once.
        emu.clock.advance(1)
        emu.audience("fan9").comment(d.ids[0], "later")
        reads, _ = follow(client, account, last)
        assert [t for r in reads for t in r] == ["later"]


@pytest.mark.usefixtures("small_pages")
def test_a_first_page_refused_too_is_raised_once(emu: FacebookEmulator) -> None:
    """The read from the first page is tried once: when Meta refuses it too, the read
    raises (no loop), and the cursor, kept, works once Meta answers again."""
    account = emu.account()
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="Giveaway!"), account)
        cursor = client.inbox(account).cursor
        for i in range(23):
            emu.clock.advance(1)
            emu.audience(f"fan{i % 3}").comment(d.ids[0], f"new {i}")
        first = client.inbox(account, since=cursor)
        assert first.more
        emu.fault(method="GET", path=r".*/comments", status=400, body=INVALID_CURSOR, times=3)
        before = emu.count("GET", r".*/comments")
        with pytest.raises(Rejected, match="Invalid cursor"):
            client.inbox(account, since=first.cursor)
        assert emu.count("GET", r".*/comments") - before == 2  # the cursor, the first page
        emu.clear_faults()
        reads, _ = follow(client, account, first.cursor)
        got = Counter([m.text for m in first.messages] + [t for r in reads for t in r])
        assert got == Counter(f"new {i}" for i in range(23))


@pytest.mark.usefixtures("small_pages")
def test_a_read_again_from_the_first_page_stopped_short_gives_nothing_twice(
    emu: FacebookEmulator,
) -> None:
    """Two reads of a round page down to a cursor Meta then refuses; the next read reads
    the post again from its first page, at most two pages, and stops before it is back
    where the round was. The read after it went on from there leaving nothing out, so the
    comments the round's earlier reads gave came twice; they now come once."""
    account = emu.account()
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="Giveaway!"), account)
        cursor = client.inbox(account).cursor
        written = []
        for i in range(43):
            emu.clock.advance(1)
            written.append(f"new {i}")
            emu.audience(f"fan{i % 3}").comment(d.ids[0], written[-1])
        first = client.inbox(account, since=cursor)
        second = client.inbox(account, since=first.cursor)
        assert first.more and second.more
        refusal = emu.fault(method="GET", path=r".*/comments", status=400, body=INVALID_CURSOR)
        reads, _ = follow(client, account, second.cursor)
        assert refusal.times == 0
        got = Counter([m.text for p in (first, second) for m in p.messages])
        got.update(t for r in reads for t in r)
        assert got == Counter(written)


@pytest.mark.usefixtures("small_pages")
def test_another_code_100_on_the_cursor_is_raised_at_once(
    emu: FacebookEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    """A read going on from Meta's cursor that Meta refuses with code 100 for a reason
    other than the cursor raises that refusal at once, the cursor kept. Before, any code
    100 without a subcode was taken for an invalidated cursor: a warning that the cursor
    was invalid, and the post read again from its first page."""
    account = emu.account()
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="Giveaway!"), account)
        cursor = client.inbox(account).cursor
        for i in range(23):
            emu.clock.advance(1)
            emu.audience(f"fan{i % 3}").comment(d.ids[0], f"new {i}")
        first = client.inbox(account, since=cursor)
        assert first.more
        emu.fault(method="GET", path=r".*/comments", status=400, body=NO_SUCH_FIELD)
        before = emu.count("GET", r".*/comments")
        with (
            caplog.at_level(logging.WARNING, logger="brandkit.platforms._graph"),
            pytest.raises(Rejected, match="nonexisting field"),
        ):
            client.inbox(account, since=first.cursor)
        assert emu.count("GET", r".*/comments") - before == 1
        assert not [r for r in caplog.records if "paging cursor" in r.getMessage()]
        reads, _ = follow(client, account, first.cursor)
        got = Counter([m.text for m in first.messages] + [t for r in reads for t in r])
        assert got == Counter(f"new {i}" for i in range(23))


@pytest.mark.usefixtures("small_pages")
def test_metas_invalid_cursors_code_reads_again_from_the_first_page(
    emu: FacebookEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    """Code 2642 ("Invalid cursors values", Meta's code for a cursor it cannot read in its
    Marketing API references) is taken as an invalidated cursor too: the edge is read again
    from its first page, every comment once. Before, only code 100 was, and 2642 failed
    every later read of the account's inbox."""
    account = emu.account()
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="Giveaway!"), account)
        cursor = client.inbox(account).cursor
        for i in range(23):
            emu.clock.advance(1)
            emu.audience(f"fan{i % 3}").comment(d.ids[0], f"new {i}")
        first = client.inbox(account, since=cursor)
        assert first.more
        message = "(#2642) Invalid cursors values"
        body = {"error": {"message": message, "type": "OAuthException", "code": 2642}}
        refusal = emu.fault(method="GET", path=r".*/comments", status=400, body=body)
        with caplog.at_level(logging.WARNING, logger="brandkit.platforms._graph"):
            reads, _ = follow(client, account, first.cursor)
        assert refusal.times == 0
        assert [r for r in caplog.records if "paging cursor" in r.getMessage()]
        got = Counter([m.text for m in first.messages] + [t for r in reads for t in r])
        assert got == Counter(f"new {i}" for i in range(23))
