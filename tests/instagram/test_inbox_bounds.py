"""The bounds of Instagram inbox reads: the read that starts a round gives at most
``limit`` messages, a read that goes on with a round makes at most `inbox_pages`
requests (the replies' included), none is lost or given twice; and a ``Date`` header far
ahead of the local clock does not move the inbox mark past replies not read yet."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta
from email.utils import format_datetime

import pytest

from brandkit import Account, Client, InboxPage
from brandkit.platforms.instagram import InstagramAdapter
from brandkit.testing.instagram import InstagramEmulator
from tests.facebook.conftest import FAST
from tests.inbox_reads import read_on
from tests.instagram.conftest import post

# The adapters read the emulator's clock: these tests run it minutes ahead of real time,
# and a Date that far ahead of the local clock is not believed.
pytestmark = pytest.mark.usefixtures("emulator_clock")


def reads(
    client: Client, account: Account, cursor: str | None, limit: int
) -> list[tuple[bool, InboxPage]]:
    """The reads from ``cursor`` while each says ``more``, each with whether it went on
    with a round (its cursor kept edges to resume)."""
    out: list[tuple[bool, InboxPage]] = []
    while True:
        in_round = cursor is not None and "resume" in json.loads(cursor)
        page = client.inbox(account, since=cursor, limit=limit)
        out.append((in_round, page))
        cursor = page.cursor
        if not page.more:
            return out
        assert len(out) < 400, "the reads never stop saying more"


@pytest.mark.usefixtures("small_pages")
@pytest.mark.parametrize("limit", [3, 8])
def test_reads_keep_their_bounds_and_give_each_message_once(
    emu: InstagramEmulator, limit: int
) -> None:
    """Two media with 11 new comments each, each comment with 6 replies (more than a
    page): the read that starts a round gives at most ``limit``, every read of a round
    at most `inbox_pages` requests, and following ``more`` gives all 154, each once."""
    account = emu.account(username="brand")
    with Client(retry=FAST) as client:
        media = [client.publish(post(f"m{j}"), account)[0] for j in range(2)]
        cursor = client.inbox(account).cursor
        written = []
        for i in range(11):
            for j, d in enumerate(media):
                emu.clock.advance(1)
                written.append(f"m{j} c{i}")
                comment = emu.audience(f"fan{i}").comment(d.ids[0], written[-1])
                for r in range(6):
                    written.append(f"m{j} c{i} r{r}")
                    emu.audience(f"r{r}").comment(comment, written[-1])
        emu.clock.advance(120)
        done = reads(client, account, cursor, limit)
        assert all(len(page.messages) <= limit for in_round, page in done if not in_round)
        assert all(page.requests <= InstagramAdapter.inbox_pages for r, page in done if r)
        assert any(in_round for in_round, _ in done)
        got = Counter(m.text for _, page in done for m in page.messages)
        assert got == Counter(written)
        assert client.inbox(account, since=done[-1][1].cursor).messages == ()


@pytest.mark.usefixtures("small_pages")
@pytest.mark.parametrize("ahead", [timedelta(minutes=5), timedelta(days=1)], ids=str)
def test_a_date_header_ahead_does_not_skip_replies(
    emu: InstagramEmulator, ahead: timedelta
) -> None:
    """The answer that starts a round says it is later than it is (five minutes, more
    than Meta's minute of slack, or a day): the round gives every reply once, and a
    reply written after it is read by the next read."""
    account = emu.account(username="brand")
    with Client(retry=FAST) as client:
        (d,) = client.publish(post("Giveaway"), account)
        asked = emu.audience("ada").comment(d.ids[0], "reply here")
        cursor = client.inbox(account).cursor
        written = []
        for i in range(12):
            emu.clock.advance(1)
            written.append(f"reply {i}")
            emu.audience("fan").comment(asked, written[-1])
        emu.clock.advance(120)
        date = format_datetime(emu.clock.now() + ahead, usegmt=True)
        emu.fault(method="GET", path=r".*/media", headers={"date": date})
        pages = read_on(client, account, cursor)
        emu.clock.advance(120)
        pages += read_on(client, account, pages[-1].cursor)
        got = [m.text for page in pages for m in page.messages]
        assert sorted(got) == sorted(written) and len(got) == len(set(got))
        emu.clock.advance(1)
        emu.audience("fan").comment(d.ids[0], "a question after the round")
        later = client.inbox(account, since=pages[-1].cursor)
        assert [m.text for m in later.messages] == ["a question after the round"]
