"""Post.options for Telegram are checked before anything is sent: a forum topic id that is
not a whole positive number (a float, True, text) went out cut, as topic 1, or as an internal
error; a yes/no option given as text ("no") went out as yes."""

from __future__ import annotations

from typing import Any

import pytest

from brandkit import Client, ContentError, DeliveryStatus, Post
from brandkit.testing.telegram import TelegramEmulator
from tests.telegram.conftest import FAST

SENDS = r"/bot[^/]+/send\w+"


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"message_thread_id": 12.7}, "options.message_thread_id"),
        ({"message_thread_id": True}, "options.message_thread_id"),
        ({"message_thread_id": "general"}, "options.message_thread_id"),
        ({"message_thread_id": 0}, "options.message_thread_id"),
        ({"message_thread_id": 2**31}, "options.message_thread_id"),
        ({"disable_notification": "no"}, "options.disable_notification"),
        ({"protect_content": 1}, "options.protect_content"),
    ],
)
def test_a_bad_option_value_is_refused_before_sending(
    emu: TelegramEmulator, options: dict[str, Any], field: str
) -> None:
    """The delivery fails with a ContentError naming the option; nothing is sent."""
    with Client(retry=FAST) as client:
        (delivery,) = client.publish(Post(text="hello", options=options), [emu.account()])
    assert delivery.status is DeliveryStatus.FAILED
    assert isinstance(delivery.error, ContentError), repr(delivery.error)
    assert delivery.error.field == field and field.split(".")[1] in str(delivery.error)
    assert emu.count("POST", SENDS) == 0


def test_good_option_values_go_out(emu: TelegramEmulator) -> None:
    """Booleans, and a topic id as a number or as digits (from a config file), are sent."""
    options = {"disable_notification": True, "protect_content": False, "message_thread_id": "7"}
    with Client(retry=FAST) as client:
        (delivery,) = client.publish(Post(text="hello", options=options), [emu.account()])
    assert delivery.status is DeliveryStatus.SENT, delivery.error
    (sent,) = [r for r in emu.requests if r.url.path.endswith("/sendMessage")]
    body = sent.read()
    assert b'"message_thread_id":7' in body and b'"disable_notification":true' in body
    assert b"protect_content" not in body
