"""``client.replies(answer)`` for an answer to a post its author had edited. An edit is a new
post with a new id in the same conversation, whose ``conversation_id`` stays the original's
(the post that started it). The answer goes to the newest version, and named that version as
the conversation `replies` searches (``conversation_id:<newest>``), which X's search does
not match: every reply under the answer was dropped. Over the X emulator on 127.0.0.1."""

from __future__ import annotations

from brandkit import Account, Client, DeliveryStatus, Post
from brandkit.testing.x import XEmulator
from tests.x.conftest import FAST

WORDS = " ".join(f"word{i}" for i in range(80))


def test_replies_under_an_answer_to_an_edited_mention_come_back(
    emu: XEmulator, brand: Account
) -> None:
    """A fan's mention, edited before the brand reads it; the brand answers in two parts
    and edits the second (a self-thread part). Replies to the first part, to the edited
    second part, and to a reply further down all come back, each ``in_reply_to`` the
    original's id (what ``answer.ids`` and ``Message.id`` hold)."""
    with Client(retry=FAST) as client:
        asked = emu.audience("fan").mention("do you ship abroad?")
        emu.clock.advance(30)
        post = emu.post(asked)
        assert post is not None
        newest = emu.edit(asked, f"{post.text} To Spain?")
        (message,) = client.inbox(brand).messages
        assert (message.id, message.extra["latest"]) == (asked, newest)
        answer = client.reply(message, Post(text=WORDS))
        assert answer.status is DeliveryStatus.SENT, answer.error
        assert len(answer.ids) == 2
        emu.clock.advance(60)
        second = emu.edit(answer.ids[1], "and the last words, edited")
        first_reply = emu.audience("fan2").reply(answer.ids[0], "thanks!")
        to_edit = emu.audience("fan3").reply(second, "which words?")
        deeper = emu.audience("fan").reply(to_edit, "these ones")
        got = client.replies(answer)
    assert [m.id for m in got] == [first_reply, to_edit, deeper]
    assert [m.in_reply_to for m in got] == [answer.ids[0], answer.ids[1], to_edit]
    assert all(m.our_post == answer.ids[0] for m in got)


def test_replies_under_an_answer_to_an_unedited_mention_still_come_back(
    emu: XEmulator, brand: Account
) -> None:
    """The same without the fan's edit: the conversation is the mention's own."""
    with Client(retry=FAST) as client:
        emu.audience("fan").mention("do you ship abroad?")
        (message,) = client.inbox(brand).messages
        answer = client.reply(message, Post(text="Yes, to all of Europe"))
        assert answer.status is DeliveryStatus.SENT, answer.error
        thanks = emu.audience("fan").reply(answer.ids[0], "thanks!")
        got = client.replies(answer)
    assert [(m.id, m.in_reply_to) for m in got] == [(thanks, answer.ids[0])]
