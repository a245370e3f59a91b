"""A getUpdates page whose ids cannot move the offset, but which has messages, is read all
the same (7827cb0): Telegram then sends the same updates at every read until a readable
update after them confirms them or it drops them after 24 hours. Each such read logged the
same warning and gave the same messages again, so a direct ``client.inbox`` caller saw them
once per sync for up to a day. The cursor now remembers that it warned for the offset and
the messages it gave. Over the emulator (on 127.0.0.1), through `Client.inbox` and the
inbox store's sync into a real SQLite file."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from brandkit import Client, ConfigurationError, Inbox
from brandkit.testing.telegram import TelegramEmulator
from tests.telegram.conftest import FAST

LOGGER = "brandkit.platforms.telegram"


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The telegram adapter's warnings about updates that cannot move the offset."""
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == LOGGER and "cannot move the offset" in r.getMessage()
    ]


def test_a_page_held_by_an_id_far_ahead_is_warned_once_and_gives_each_message_once(
    emu: TelegramEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    """A garbled id far past the others (still 32-bit), last in Telegram's queue: taken as
    the offset, Telegram finds it "in the future" and answers from its queue's start, and
    with nothing readable after it no offset can confirm it. Six reads: one warning, each
    message once; its edit (a readable update after it) comes once and confirms it."""
    account = emu.account()
    said = [emu.audience(f"f{i}").mention(f"hi {i}") for i in range(2)]
    emu.garble(said[1], update={"update_id": 2_000_000_000})
    with caplog.at_level("WARNING", logger=LOGGER), Client(retry=FAST) as client:
        pages = [client.inbox(account)]
        for _ in range(5):
            pages.append(client.inbox(account, since=pages[-1].cursor))
        given = [m.id for page in pages for m in page.messages]
        assert Counter(given) == Counter(said)
        assert len(warnings(caplog)) == 1
        assert json.loads(pages[-1].cursor or "")["offset"] == 2_000_000_001

        emu.edit(said[1], "hi 1, edited")
        edited = client.inbox(account, since=pages[-1].cursor)
        assert [(m.id, m.text) for m in edited.messages] == [(said[1], "hi 1, edited")]
        assert edited.messages[0].edited_at is not None
        last = client.inbox(account, since=edited.cursor)
        assert last.messages == ()
    (bot,) = emu.bots.values()
    assert emu.pending_updates(bot) == 0
    assert len(warnings(caplog)) == 1
    assert account.secret("bot_token") not in caplog.text


def test_a_page_held_by_an_id_already_confirmed_is_warned_once_per_offset(
    emu: TelegramEmulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An update listed with an id below those confirmed takes the offset back to it, and
    comes again at every read. Through the inbox store: three syncs, one warning, each
    message added once and none given twice to the store; a readable update after it
    moves the offset on, and a later stuck offset is warned about again."""
    account = emu.account()
    said = [emu.audience(f"f{i}").mention(f"hi {i}") for i in range(2)]
    token = account.secret("bot_token")
    with (
        caplog.at_level("WARNING", logger=LOGGER),
        Inbox(tmp_path / "inbox.db") as inbox,
        Client(retry=FAST) as client,
    ):
        assert inbox.sync(client, [account]).errors == {}
        confirmed = json.loads(inbox.cursor(account) or "")["offset"]
        odd = emu.audience("odd").mention("again?")
        emu.garble(odd, update={"update_id": confirmed - 2})
        reports = [inbox.sync(client, [account]) for _ in range(3)]
        assert [r.errors for r in reports] == [{}, {}, {}]
        assert [r.added for r in reports] == [1, 0, 0]
        assert [r.updated for r in reports] == [0, 0, 0]
        assert len(warnings(caplog)) == 1
        stored = sorted(m.id for m in inbox.messages(account=account.key))
        assert stored == sorted([*said, odd])
        # The page gives nothing at the later reads, directly either.
        page = client.inbox(account, since=inbox.cursor(account))
        assert page.messages == ()
        assert len(warnings(caplog)) == 1

        later = emu.audience("late").mention("moves it on")
        report = inbox.sync(client, [account])
        assert report.errors == {} and report.added == 1
        assert json.loads(inbox.cursor(account) or "")["offset"] > confirmed
        assert inbox.sync(client, [account]).added == 0
        (bot,) = emu.bots.values()
        assert emu.pending_updates(bot) == 0
        stored = sorted(m.id for m in inbox.messages(account=account.key))
        assert stored == sorted([*said, odd, later])
    assert len(warnings(caplog)) == 1
    assert token not in caplog.text


@pytest.mark.parametrize(
    "extra",
    [
        {"given": "123:4"},
        {"given": [123]},
        {"given": ["not a message id"]},
        {"given": ["-100123:4@x"]},
        {"warned": -1},
        {"warned": True},
        {"warned": 2**31},
    ],
)
def test_a_cursor_with_junk_given_or_warned_is_refused_before_a_request(
    emu: TelegramEmulator, extra: dict[str, object]
) -> None:
    """What the cursor keeps of the messages given and the warning is checked as the rest
    of it is: junk is a ConfigurationError saying to pass since=None, before a request."""
    account = emu.account()
    emu.audience("f").mention("hi")
    with Client(retry=FAST) as client:
        first = client.inbox(account)
        cursor = {**json.loads(first.cursor or ""), **extra}
        sent = len(emu.requests)
        with pytest.raises(ConfigurationError, match="since=None"):
            client.inbox(account, since=json.dumps(cursor))
        assert emu.requests[sent:] == []
