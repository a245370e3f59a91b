"""Edits on Telegram: a message edited before the inbox read it is read as it is now
(Telegram sends the edit as an ``edited_message`` update, apart from the ``message`` that
still holds the first text); one edited after it was read comes again as edited, and the
inbox store replaces the text it holds."""

from __future__ import annotations

from pathlib import Path

from brandkit import Client, Inbox, Post
from brandkit.inbox import MessageStatus
from brandkit.testing.telegram import TelegramEmulator
from tests.telegram.conftest import FAST


def test_a_comment_and_a_private_message_edited_before_the_read_come_as_edited(
    emu: TelegramEmulator,
) -> None:
    """Each comes once with its edited text and edit time; an edit made after the read
    comes again, once."""
    account = emu.account()
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="Ask me"), account)
        page = client.inbox(account)  # the bot reads its updates from here on
        comment = emu.audience("fan").comment(d.ids[0], "hi")
        emu.edit(comment, "hi, my order 123 never arrived")
        private = emu.audience("ann").mention("hello")
        emu.edit(private, "hello, is the shop open today?")
        page = client.inbox(account, since=page.cursor)
        assert [(m.id, m.text) for m in page.messages] == [
            (comment, "hi, my order 123 never arrived"),
            (private, "hello, is the shop open today?"),
        ]
        assert all(m.edited_at is not None for m in page.messages)
        assert page.messages[0].kind == "comment" and page.messages[0].our_post == d.ids[0]
        emu.clock.advance(5)
        emu.edit(comment, "never mind, it came")
        later = client.inbox(account, since=page.cursor)
        assert [(m.id, m.kind, m.our_post, m.text) for m in later.messages] == [
            (comment, "comment", d.ids[0], "never mind, it came")
        ]
        first, last = page.messages[0].edited_at, later.messages[0].edited_at
        assert first is not None and last is not None and last > first
        assert client.inbox(account, since=later.cursor).messages == ()


def test_a_sync_brings_a_stored_comment_up_to_its_later_edit(
    emu: TelegramEmulator, tmp_path: Path
) -> None:
    """The comment the team already took on is edited: the next sync updates its text,
    keeps its status and assignee, and counts it as updated, not added."""
    account = emu.account()
    with Client(retry=FAST) as client, Inbox(tmp_path / "i.db") as inbox:
        (d,) = client.publish(Post(text="Ask me"), account)
        inbox.sync(client, [account])
        comment = emu.audience("fan").comment(d.ids[0], "my order 123 came")
        assert inbox.sync(client, [account]).added == 1
        (stored,) = inbox.unanswered()
        inbox.mark(stored, "seen")
        inbox.assign(stored, to="ana@agency.example")
        emu.clock.advance(5)
        emu.edit(comment, "my order 123 came, and it's broken")
        report = inbox.sync(client, [account])
        (now,) = inbox.messages()
        assert (now.id, now.text) == (comment, "my order 123 came, and it's broken")
        assert (report.added, report.updated) == (0, 1)
        assert inbox.status(now) is MessageStatus.SEEN
        assert inbox.messages(assignee="ana@agency.example") == [now]
        again = inbox.sync(client, [account])
        assert (again.added, again.updated) == (0, 0)
