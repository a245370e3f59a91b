"""A message edited before the inbox read it is read as it is now: Telegram sends the edit
as an ``edited_message`` update, apart from the ``message`` that still holds the first text."""

from __future__ import annotations

from brandkit import Client, Post
from brandkit.testing.telegram import TelegramEmulator
from tests.telegram.conftest import FAST


def test_a_comment_and_a_private_message_edited_before_the_read_come_as_edited(
    emu: TelegramEmulator,
) -> None:
    """Each comes once with its edited text; an edit made after the read adds nothing."""
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
        assert page.messages[0].kind == "comment" and page.messages[0].our_post == d.ids[0]
        emu.edit(comment, "never mind, it came")
        later = client.inbox(account, since=page.cursor)
        assert later.messages == ()
        assert client.inbox(account, since=later.cursor).messages == ()
