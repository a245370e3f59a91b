"""getUpdates' 409 has two causes, which Telegram words apart: a webhook is set, or another
process is reading the same bot's updates. The advice must fit the cause."""

from __future__ import annotations

import pytest

from brandkit import Client
from brandkit.errors import ConfigurationError
from brandkit.testing.telegram import TelegramEmulator

from .conftest import FAST

WEBHOOK = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to "
    "delete the webhook first"
)
OTHER_READER = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance "
    "is running"
)


@pytest.mark.parametrize(
    ("description", "advice", "wrong"),
    [
        (WEBHOOK, "deleteWebhook", "only one"),
        (OTHER_READER, "only one", "deleteWebhook"),
    ],
)
def test_a_getupdates_conflict_names_its_cause(
    emu: TelegramEmulator, description: str, advice: str, wrong: str
) -> None:
    """Each 409 of getUpdates is a ConfigurationError with Telegram's words and the advice
    for its own cause (never "call deleteWebhook" for a second reader of the bot)."""
    account = emu.account()
    body = {"ok": False, "error_code": 409, "description": description}
    emu.fault(method="POST", path=r"/bot[^/]+/getUpdates", status=409, body=body)
    with Client(retry=FAST) as client, pytest.raises(ConfigurationError) as caught:
        client.inbox(account)
    message = str(caught.value)
    assert description in message
    assert advice in message and wrong not in message
