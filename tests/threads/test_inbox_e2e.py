"""Threads conversations end to end: brandkit's client against the emulator over a socket."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from brandkit import Account, Client, DeliveryStatus, Post, RetryPolicy
from brandkit.testing.threads import ThreadsEmulator

FAST = RetryPolicy(attempts=3, initial=0.01, max_backoff=0.05, max_wait=5)


@pytest.fixture
def emu() -> Iterator[ThreadsEmulator]:
    """The emulator, served on 127.0.0.1."""
    emu = ThreadsEmulator()
    with emu.serve():
        yield emu


@pytest.fixture
def account(emu: ThreadsEmulator) -> Account:
    """The brand's account."""
    return emu.account(username="brand")


def test_inbox_in_small_reads_gets_everything_once(emu: ThreadsEmulator, account: Account) -> None:
    """Read 50 at a time while the audience keeps writing, every reply (nested ones too)
    and mention comes exactly once; the brand's own self-thread parts and answers never
    do; a mention written as a reply under the brand's post comes as a reply."""
    long_text = " ".join(f"word{i}" for i in range(200))
    with Client(retry=FAST) as client:
        (thread,) = client.publish(Post(text=long_text), account)
        (single,) = client.publish(Post(text="Short one"), account)
        assert thread.ok and single.ok and len(thread.parts) > 1
        said: dict[str, str] = {}
        for i in range(70):
            target = thread.ids[i % len(thread.ids)] if i % 2 else single.ids[0]
            said[emu.audience(f"fan{i % 9}").reply(target, f"reply {i}")] = "reply"
        nested = next(iter(said))
        said[emu.audience("deep").reply(nested, "a reply to a reply")] = "reply"
        for i in range(3):
            said[emu.audience(f"caller{i}").mention(f"mention {i}")] = "mention"
        both = emu.audience("both").reply(single.ids[0], "@brand you there?")
        said[both] = "reply"
        first = client.inbox(account, limit=50)
        assert first.more and 50 <= len(first.messages) <= 150
        got = {m.id: m for m in first.messages}
        cursor = first.cursor
        late = emu.audience("late").reply(single.ids[0], "sorry I'm late")
        said[late] = "reply"
        for _ in range(10):
            page = client.inbox(account, since=cursor, limit=50)
            assert not set(got) & {m.id for m in page.messages}
            got.update({m.id: m for m in page.messages})
            cursor = page.cursor
            if not page.more:
                break
        # The late reply came after its conversation was read in that round: the next
        # round has it.
        again = client.inbox(account, since=cursor)
        assert not set(got) & {m.id for m in again.messages}
        got.update({m.id: m for m in again.messages})
        quiet = client.inbox(account, since=again.cursor)
        assert quiet.messages == () and quiet.requests == 4  # posts, 2 conversations, mentions
        assert set(got) == set(said)
        assert {m.kind for m in got.values() if said[m.id] == "mention"} == {"mention"}
        assert got[both].kind == "reply" and got[both].our_post == single.ids[0]
        assert got[nested].our_post in (single.ids[0], thread.ids[0])
        deep = next(m for m in got.values() if m.text == "a reply to a reply")
        assert deep.in_reply_to == nested
        on_thread = [m for m in got.values() if m.our_post == thread.ids[0]]
        assert {m.in_reply_to for m in on_thread} <= set(thread.ids) | {nested}


def test_replies_hide_and_answer(emu: ThreadsEmulator, account: Account) -> None:
    """``replies`` reads one post's conversation oldest first; hiding a top-level reply
    hides the one under it (as Threads then shows); a mention is answered under it."""
    with Client(retry=FAST, accounts=[account]) as client:
        (d,) = client.publish(Post(text="Be nice"), account)
        rude = emu.audience("troll").reply(d.ids[0], "rude")
        below = emu.audience("pal").reply(rude, "agreed")
        mention = emu.audience("fan").mention("do you ship to Oslo?")
        page = client.inbox(account)
        by_id = {m.id: m for m in page.messages}
        client.hide(by_id[rude])
        thread = client.replies(d)
        assert [(m.id, m.hidden) for m in thread] == [(rude, True), (below, True)]
        client.unhide(by_id[rude])
        assert not any(m.hidden for m in client.replies(d))
        answer = client.reply(by_id[mention], Post(text="Yes, we do."))
        assert answer.status is DeliveryStatus.SENT, answer.error
        assert emu.answers(mention) == ["Yes, we do."]
        assert client.inbox(account, since=page.cursor).messages == ()


def test_an_unhidden_reply_reads_unhushed_and_shown(emu: ThreadsEmulator, account: Account) -> None:
    """Hidden then shown again, a reply (and the one under it) reads ``UNHUSHED``, the
    state Meta lists for it, not ``NOT_HUSHED`` as one never hidden; both read as shown."""
    with Client(retry=FAST, accounts=[account]) as client:
        (d,) = client.publish(Post(text="Be nice"), account)
        rude = emu.audience("troll").reply(d.ids[0], "rude")
        below = emu.audience("pal").reply(rude, "agreed")
        calm = emu.audience("calm").reply(d.ids[0], "hello")
        by_id = {m.id: m for m in client.inbox(account).messages}
        client.hide(by_id[rude])
        client.unhide(by_id[rude])
        thread = {m.id: m for m in client.replies(d)}
    assert {i: (m.raw["hide_status"], m.hidden) for i, m in thread.items()} == {
        rude: ("UNHUSHED", False),
        below: ("UNHUSHED", False),
        calm: ("NOT_HUSHED", False),
    }


@pytest.mark.parametrize(
    ("status", "hidden"),
    [("COVERED", True), ("BLOCKED", True), ("RESTRICTED", True), ("SOMETHING_NEW", False)],
)
def test_every_hide_status_reads_as_shown_or_hidden(
    emu: ThreadsEmulator, account: Account, status: str, hidden: bool
) -> None:
    """A reply Threads keeps out of sight on its own (a hidden-words filter's cover, a
    blocked or restricted author) is hidden like one the brand hid; a state Meta adds
    later reads as shown, and the rest of the read goes on."""
    with Client(retry=FAST, accounts=[account]) as client:
        (d,) = client.publish(Post(text="Be nice"), account)
        odd = emu.audience("odd").reply(d.ids[0], "odd one")
        calm = emu.audience("calm").reply(d.ids[0], "hello")
        emu.set_hide_status(odd, status)
        got = {m.id: m for m in client.inbox(account).messages}
    assert got[odd].raw["hide_status"] == status
    assert (got[odd].hidden, got[calm].hidden) == (hidden, False)
