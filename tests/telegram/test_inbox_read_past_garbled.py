"""An update with a garbled ``update_id`` among the bot's updates must not hold the inbox:
taken as the offset, an id far ahead is "in the future" to Telegram, which answers from its
queue's start, so the same page came at every read, the updates past it unread until
Telegram dropped it after 24 hours (with them, if they were as old). And a page that cannot
move the offset with no message for the brand failed every sync for up to a day, over what
no user can fix. Over the emulator (on 127.0.0.1), through the inbox store's sync into a
real SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from brandkit import Client, Inbox
from brandkit.testing.telegram import TelegramEmulator
from tests.telegram.conftest import FAST

LOGGER = "brandkit.platforms.telegram"


def stuck_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The adapter's warnings about a page that cannot move the offset."""
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == LOGGER and "cannot move the offset" in r.getMessage()
    ]


@pytest.mark.parametrize(
    ("position", "shown"),
    [(2, 2_000_000_000), (99, 2_000_000_000), (0, 1_999_999_999)],
    ids=["early", "last-of-page", "first"],
)
def test_updates_past_a_garbled_id_are_read_at_once(
    emu: TelegramEmulator,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    position: int,
    shown: int,
) -> None:
    """250 private messages, one of the first page's updates showing a garbled id far
    ahead. Two syncs store all 250, each once; nothing of the bot's
    waits any more (the garbled update confirmed with the others); no sync fails."""
    account = emu.account()
    said = [emu.audience(f"f{i}").mention(f"hi {i}") for i in range(250)]
    emu.garble(said[position], update={"update_id": shown})
    with (
        caplog.at_level("WARNING", logger=LOGGER),
        Inbox(tmp_path / "inbox.db") as inbox,
        Client(retry=FAST) as client,
    ):
        reports = [inbox.sync(client, [account]) for _ in range(2)]
        assert [r.errors for r in reports] == [{}, {}]
        stored = [m.id for m in inbox.messages(account=account.key)]
        assert sorted(stored) == sorted(said)
        assert sum(r.added for r in reports) == 250
        offset = json.loads(inbox.cursor(account) or "")["offset"]
    (bot,) = emu.bots.values()
    assert emu.pending_updates(bot) == 0
    assert offset < 2**31 - 1 and offset != shown + 1
    assert stuck_warnings(caplog) == []


def test_a_held_page_with_no_message_for_the_brand_is_no_error(
    emu: TelegramEmulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The bot's one waiting update has an id far ahead and a message brandkit cannot
    read: no offset can confirm it while nothing follows it. The syncs report no error
    (before: MalformedResponse at each one, for up to a day), the WARNING is logged once,
    and the message that comes next is stored, its offset confirming both."""
    account = emu.account()
    odd = emu.audience("odd").mention("garbled")
    emu.garble(odd, date=10**20, update={"update_id": 2_000_000_000})
    token = account.secret("bot_token") or ""
    with (
        caplog.at_level("WARNING", logger=LOGGER),
        Inbox(tmp_path / "inbox.db") as inbox,
        Client(retry=FAST) as client,
    ):
        reports = [inbox.sync(client, [account]) for _ in range(4)]
        assert [r.errors for r in reports] == [{}, {}, {}, {}]
        assert len(stuck_warnings(caplog)) == 1
        assert inbox.messages(account=account.key) == []
        later = emu.audience("late").mention("anyone there?")
        assert inbox.sync(client, [account]).errors == {}
        assert [m.id for m in inbox.messages(account=account.key)] == [later]
        assert inbox.sync(client, [account]).errors == {}
    (bot,) = emu.bots.values()
    assert emu.pending_updates(bot) == 0
    assert len(stuck_warnings(caplog)) == 1
    assert token not in caplog.text and token.partition(":")[2] not in caplog.text
