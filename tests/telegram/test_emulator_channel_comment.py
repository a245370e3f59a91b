"""The emulator's comments written on behalf of a channel: Telegram sends them with its
placeholder user "Channel_Bot" in ``from`` and the channel in ``sender_chat``."""

from __future__ import annotations

import httpx

from brandkit import Client, Post
from brandkit.testing.telegram import TelegramEmulator
from tests.telegram.conftest import FAST, full_spec


def test_a_comment_as_a_channel_comes_with_the_channel_as_sender(emu: TelegramEmulator) -> None:
    """The update's message: from is Channel_Bot (id 136817688, a bot), sender_chat the
    public channel, in the post's comment thread; every field is one the Bot API spec has."""
    account = emu.account()
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="Big news"), account)
    said = emu.channel_comment(d.ids[0], "we agree", channel="partnerchan")
    token = account.secret("bot_token")
    with httpx.Client(base_url=emu.base_url) as http:
        got = http.post(f"/bot{token}/getUpdates", json={}).json()
    forward, comment = (u["message"] for u in got["result"])
    assert comment["from"] == {
        "id": 136817688,
        "is_bot": True,
        "first_name": "Channel",
        "username": "Channel_Bot",
    }
    assert comment["sender_chat"]["type"] == "channel"
    assert comment["sender_chat"]["username"] == "partnerchan"
    assert comment["text"] == "we agree"
    assert comment["reply_to_message"]["message_id"] == forward["message_id"]
    assert comment["message_thread_id"] == forward["message_id"]
    assert said == f"{comment['chat']['id']}:{comment['message_id']}"
    fields = {f["name"] for f in full_spec().types["Message"]["fields"]}
    assert set(comment) <= fields
