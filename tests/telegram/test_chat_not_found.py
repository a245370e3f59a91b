"""Telegram answers "chat not found" for a chat_id it cannot resolve: most often a channel
name written without its "@", or a chat the bot was never added to. The error says how
chat_id is written."""

from __future__ import annotations

import pytest

from brandkit import Account, Client, DeliveryStatus, Post, Rejected
from brandkit.testing.telegram import TelegramEmulator
from tests.telegram.conftest import FAST


def _with_chat(account: Account, chat_id: str | int) -> Account:
    return Account.telegram(
        bot_token=account.secret("bot_token") or "",
        chat_id=chat_id,
        base_url=account.base_url,
    )


@pytest.mark.parametrize(
    "written", ["brandnews", "https://t.me/brandnews", "t.me/brandnews/", " @brandnews"]
)
def test_a_name_without_its_at_sign_is_named_with_it(emu: TelegramEmulator, written: str) -> None:
    """chat_id="brandnews" (or the channel's t.me link, or "@brandnews" with a space)
    fails saying to write "@brandnews"; the token is not in it."""
    account = _with_chat(emu.account(chat="brandnews"), written)
    with Client(retry=FAST) as client:
        (delivery,) = client.publish(Post(text="hello"), [account])
    assert delivery.status is DeliveryStatus.FAILED
    assert isinstance(delivery.error, Rejected), delivery.error
    message = str(delivery.error)
    assert "chat not found" in message and "chat_id='@brandnews'" in message
    assert (account.secret("bot_token") or "") not in message


def test_an_unknown_chat_says_how_chat_id_is_written(emu: TelegramEmulator) -> None:
    """A numeric id the bot cannot see fails naming both forms and the bot's membership."""
    account = _with_chat(emu.account(), -1009999999999)
    with Client(retry=FAST) as client:
        (delivery,) = client.publish(Post(text="hello"), [account])
    assert delivery.status is DeliveryStatus.FAILED
    message = str(delivery.error)
    assert "chat not found" in message
    assert "'@channelname'" in message and "-100" in message and "member" in message


def test_text_that_is_no_name_gets_the_general_advice(emu: TelegramEmulator) -> None:
    """A chat_id that cannot be a username is not turned into a wrong '@' suggestion."""
    account = _with_chat(emu.account(), "my channel!")
    with Client(retry=FAST) as client:
        (delivery,) = client.publish(Post(text="hello"), [account])
    message = str(delivery.error)
    assert "'@channelname'" in message and "'@my" not in message
