"""How far below its mark a Bluesky inbox read looks for replies listed late
(`BlueskyAdapter.inbox_lookback`): a reply listed further below the last sync's mark than
15 minutes comes once the look-back covers it, once, into a real SQLite inbox; a look-back
outside 0 to a day is refused before any request."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from brandkit import Client, ConfigurationError, Inbox, Post
from brandkit.platforms.bluesky import BlueskyAdapter
from brandkit.testing.bluesky import BlueskyEmulator
from tests.bluesky._support import FAST
from tests.inbox_reads import read_on


def test_a_reply_forty_minutes_below_the_mark_comes_once_with_an_hour_of_look_back(
    served: BlueskyEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fan whose clock runs 40 minutes behind replies after a sync: with the default 15
    minutes the next sync does not see it; with an hour it does, and the syncs after add
    nothing (the SQLite inbox holds it once, unchanged)."""
    emu = served
    account = emu.account(name="brand")
    with Client(retry=FAST, accounts=[account]) as client:
        (d,) = client.publish(Post(text="Tell us"), account)
        emu.audience("fan").reply(d.ids[0], "first")
        emu.clock.advance(3600)
        emu.audience("fan2").reply(d.ids[0], "second")
        page = client.inbox(account)
        assert len(page.messages) == 2
        emu.clock.advance(60)
        emu.audience_clock_lag = 40 * 60.0
        late = emu.audience("fan3").reply(d.ids[0], "my clock is behind")
        emu.audience_clock_lag = 0.0
        assert client.inbox(account, since=page.cursor).messages == ()

        monkeypatch.setattr(BlueskyAdapter, "inbox_lookback", timedelta(hours=1))
        inbox = Inbox(tmp_path / "inbox.db")
        try:
            inbox.sync(client, [account])  # from the start: the two replies and the late one
            stored = {m.id: m.text for m in inbox.messages()}
            assert late in stored and len(stored) == 3
            emu.clock.advance(60)
            later = emu.audience("fan4").reply(d.ids[0], "on time")
            emu.clock.advance(60)
            emu.audience_clock_lag = 40 * 60.0
            later_late = emu.audience("fan5").reply(d.ids[0], "also behind")
            emu.audience_clock_lag = 0.0
            report = inbox.sync(client, [account])
            assert (report.added, report.updated) == (2, 0)
            again = inbox.sync(client, [account])
            assert (again.added, again.updated) == (0, 0)
            ids = [m.id for m in inbox.messages()]
            assert sorted(ids) == sorted({*stored, later, later_late})
        finally:
            inbox.close()

        # The same, read by hand from the cursor of a sync before the late reply.
        cursor = client.inbox(account).cursor
        emu.clock.advance(60)
        emu.audience_clock_lag = 40 * 60.0
        third = emu.audience("fan6").reply(d.ids[0], "behind again")
        emu.audience_clock_lag = 0.0
        got = client.inbox(account, since=cursor)
        assert [m.id for m in got.messages] == [third]
        assert client.inbox(account, since=got.cursor).messages == ()


@pytest.mark.parametrize("bad", [timedelta(days=2), timedelta(seconds=-1), 900])
def test_a_look_back_outside_zero_to_a_day_is_refused(
    served: BlueskyEmulator, monkeypatch: pytest.MonkeyPatch, bad: object
) -> None:
    account = served.account(name="brand")
    monkeypatch.setattr(BlueskyAdapter, "inbox_lookback", bad)
    with Client(retry=FAST, accounts=[account]) as client:
        before = len(served.requests)
        with pytest.raises(ConfigurationError, match="inbox_lookback"):
            client.inbox(account)
        assert len(served.requests) == before


def test_a_look_back_changed_during_a_round_gives_nothing_twice(
    served: BlueskyEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read stopped at ``limit`` (a round) passes replies 20 and 30 minutes below its top
    without keeping them (the look-back is 15 minutes); widened to an hour before the round
    ends, the round still closes on its own window, so the read after does not give those
    two again."""
    emu = served
    account = emu.account(name="brand")
    with Client(retry=FAST, accounts=[account]) as client:
        (d,) = client.publish(Post(text="Tell us"), account)
        emu.audience("fan0").reply(d.ids[0], "base")
        cursor = client.inbox(account).cursor
        emu.clock.advance(20 * 60)
        written = [emu.audience("fan1").reply(d.ids[0], "minus 30")]
        emu.clock.advance(10 * 60)
        written.append(emu.audience("fan2").reply(d.ids[0], "minus 20"))
        emu.clock.advance(20 * 60)
        written.append(emu.audience("fan3").reply(d.ids[0], "top"))
        first = client.inbox(account, since=cursor, limit=3)
        assert first.more and sorted(m.id for m in first.messages) == sorted(written)
        monkeypatch.setattr(BlueskyAdapter, "inbox_lookback", timedelta(hours=1))
        pages = read_on(client, account, first.cursor)
        assert [m.id for p in pages for m in p.messages] == []
        again = client.inbox(account, since=pages[-1].cursor)
        assert again.messages == ()
