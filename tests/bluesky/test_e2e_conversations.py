"""Conversations end to end: brandkit's Client against the Bluesky emulator on a socket."""

from __future__ import annotations

import time

import pytest

from brandkit import Client, DeliveryStatus, Post, Rejected, Unsupported
from brandkit.testing._emulator import Clock
from brandkit.testing.bluesky import BlueskyEmulator
from tests.bluesky._support import FAST

LIKE = "app.bsky.feed.like"


def test_replies_hide_like_and_a_deleted_message(served: BlueskyEmulator) -> None:
    """A post's conversation comes back with hidden replies flagged; a like lands once; a
    reply in someone else's thread cannot be hidden; a deleted message cannot be answered."""
    emu = served
    account = emu.account(name="brand")
    with Client(retry=FAST, accounts=[account]) as client:
        (d,) = client.publish(Post(text="Tell us"), account)
        rude = emu.audience("troll").reply(d.ids[0], "rude")
        nice = emu.audience("fan").reply(d.ids[0], "nice")
        deeper = emu.audience("fan2").reply(nice, "agreed")
        page = client.inbox(account)
        by_id = {m.id: m for m in page.messages}
        # fan2 answered fan, two levels under the brand's post: the brand is told too.
        assert set(by_id) == {rude, nice, deeper}
        assert by_id[deeper].in_reply_to == nice and by_id[deeper].our_post == d.ids[0]
        client.hide(by_id[rude])
        thread = {m.id: m for m in client.replies(d)}
        assert set(thread) == {rude, nice, deeper}
        assert thread[rude].hidden and not thread[nice].hidden
        assert thread[deeper].in_reply_to == nice and thread[deeper].our_post == d.ids[0]

        client.like(by_id[nice])
        client.like(by_id[nice])
        brand_did = emu.user("brand.test").did
        likes = [r for r in emu.records.values() if r.did == brand_did and r.collection == LIKE]
        assert [r.value["subject"]["uri"] for r in likes] == [nice]

        other = emu.audience("other").post("my own thread")
        emu.audience("fan3").reply(other, f"@{account.settings['handle']} what do you think?")
        (mention,) = client.inbox(account, since=page.cursor).messages
        assert mention.kind == "mention" and mention.in_reply_to == other
        before = len(emu.requests)
        with pytest.raises(Unsupported, match="thread's author"):
            client.hide(mention)
        assert len(emu.requests) == before  # refused before any request

        with emu.lock:
            del emu.records[nice]
        answer = client.reply(by_id[nice], Post(text="thanks!"))
    assert answer.status is DeliveryStatus.FAILED
    assert isinstance(answer.error, Rejected) and "deleted" in str(answer.error)
    assert emu.answers(rude) == []


def test_a_reply_listed_below_the_last_sync_still_comes(served: BlueskyEmulator) -> None:
    """The AppView lists a post at the earlier of its createdAt and when it was indexed:
    a fan whose phone runs two minutes behind writes a reply that is listed below what the
    last sync read. It comes in the next sync, once, and what came before does not again."""
    emu = served
    account = emu.account(name="brand")
    with Client(retry=FAST, accounts=[account]) as client:
        (d,) = client.publish(Post(text="Tell us"), account)
        early = emu.audience("fan").reply(d.ids[0], "first")
        emu.clock.advance(60)
        emu.audience("fan2").reply(d.ids[0], "second")
        page = client.inbox(account)
        assert len(page.messages) == 2
        emu.clock.advance(30)
        emu.audience_clock_lag = 120.0
        late = emu.audience("fan3").reply(d.ids[0], "my clock is behind")
        emu.audience_clock_lag = 0.0
        emu.clock.advance(1)
        on_time = emu.audience("fan4").reply(d.ids[0], "on time")
        again = client.inbox(account, since=page.cursor)
        assert sorted(m.id for m in again.messages) == sorted([late, on_time])
        assert early not in {m.id for m in again.messages}
        assert client.inbox(account, since=again.cursor).messages == ()


class _Frozen(Clock):
    """Time that stands still: every record is written in the same millisecond."""

    def __init__(self) -> None:
        super().__init__()
        self._at = time.time()

    def time(self) -> float:
        return self._at


def test_a_burst_of_replies_comes_in_full() -> None:
    """Replies written faster than one a millisecond (a popular post, a script) are listed
    in the order they were indexed, each once: a burst of 1,100 in one instant comes in full
    in one read (the emulator used to list those past the first second at their createdAt,
    all the same, and paging by time lost some)."""
    emu = BlueskyEmulator(clock=_Frozen())
    with emu.serve():
        account = emu.account(name="brand")
        with Client(retry=FAST, accounts=[account]) as client:
            (d,) = client.publish(Post(text="Giveaway!"), account)
            said = {emu.audience(f"fan{i % 50}").reply(d.ids[0], f"me {i}") for i in range(1100)}
            page = client.inbox(account, limit=2000)
    got = [m.id for m in page.messages]
    assert len(got) == len(set(got)) == 1100
    assert set(got) == said
