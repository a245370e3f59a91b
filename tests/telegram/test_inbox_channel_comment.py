"""A comment written on behalf of a channel (Telegram lets users comment as one of their
channels) is the audience speaking: the inbox reads it with the channel as its author, and it
can be answered. Its ``from`` is Telegram's placeholder bot user, which is not the author."""

from __future__ import annotations

from brandkit import Client, DeliveryStatus, Post
from brandkit.testing.telegram import TelegramEmulator
from tests.telegram.conftest import FAST


def test_a_comment_as_a_channel_is_read_and_answered(emu: TelegramEmulator) -> None:
    """Read once, with the channel's id, username, title and link as the author; the answer
    goes under it in the discussion group."""
    account = emu.account()
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="Ask me"), account)
        fan = emu.audience("fan").comment(d.ids[0], "as myself")
        partner = emu.channel_comment(d.ids[0], "as our channel", channel="partnerchan")
        page = client.inbox(account)
        assert [m.id for m in page.messages] == [fan, partner]
        message = page.messages[1]
        assert message.kind == "comment" and message.text == "as our channel"
        assert message.our_post == d.ids[0]
        assert message.author.handle == "partnerchan"
        assert message.author.name == "Partnerchan"
        assert message.author.url == "https://t.me/partnerchan"
        assert message.author.id.startswith("-100")
        answered = client.reply(message, Post(text="Thanks, partner"))
        assert answered.status is DeliveryStatus.SENT, answered.error
    assert emu.answers(partner) == ["Thanks, partner"]


def test_the_brands_own_channel_and_anonymous_admins_are_not_the_audience(
    emu: TelegramEmulator,
) -> None:
    """A comment the brand writes as its own channel is not read as the audience's."""
    account = emu.account(chat="brandchan")
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="Ask me"), account)
        emu.channel_comment(d.ids[0], "the brand itself", channel="brandchan")
        page = client.inbox(account)
    assert not page.messages
