"""A Telegram inbox cursor names its bot: another bot's cursor is refused before any
request, since its ``offset`` would confirm (and so delete for good) this bot's unread
updates. Over the emulator, on 127.0.0.1."""

from __future__ import annotations

import json

import pytest

from brandkit import Account, Client, ConfigurationError
from brandkit.testing.telegram import TelegramEmulator
from tests.telegram.conftest import FAST


def two_bots(emu: TelegramEmulator) -> tuple[Account, Account]:
    """Bot B with two private messages waiting, then bot A with one (a private message goes
    to the newest bot): A's update ids are above all of B's."""
    b = emu.account(name="brand-b")
    emu.audience("fan1").mention("hello B 1")
    emu.audience("fan2").mention("hello B 2")
    a = emu.account(name="brand-a")
    emu.audience("fan3").mention("hello A")
    return a, b


def get_updates(emu: TelegramEmulator) -> int:
    return emu.count("*", r"/bot[^/]*/getUpdates/?")


def bot_id(account: Account) -> int:
    return int((account.secret("bot_token") or "").partition(":")[0])


def test_another_bots_cursor_is_refused_before_any_request(emu: TelegramEmulator) -> None:
    """B given A's cursor: ConfigurationError naming both accounts, nothing sent, and B's
    updates are still there for B's own read."""
    a, b = two_bots(emu)
    with Client(retry=FAST) as client:
        a_page = client.inbox(a)
        assert [m.text for m in a_page.messages] == ["hello A"]
        sent = len(emu.requests)
        with pytest.raises(ConfigurationError, match="another") as refused:
            client.inbox(b, since=a_page.cursor)
        assert len(emu.requests) == sent
        assert "since=None" in str(refused.value) and b.key in str(refused.value)
        assert [m.text for m in client.inbox(b).messages] == ["hello B 1", "hello B 2"]


def test_the_cursor_names_the_bot_and_holds_no_secret(emu: TelegramEmulator) -> None:
    """The cursor holds the bot's public id (the token before ':'), never the token."""
    a, _ = two_bots(emu)
    with Client(retry=FAST) as client:
        cursor = client.inbox(a).cursor
    assert cursor is not None
    token = a.secret("bot_token") or ""
    assert token.partition(":")[2] not in cursor and token not in cursor
    assert json.loads(cursor)["bot"] == bot_id(a)


def test_the_bots_own_cursor_still_reads_on(emu: TelegramEmulator) -> None:
    """A read from the bot's own cursor confirms what it read and returns what is new."""
    a, _ = two_bots(emu)
    with Client(retry=FAST) as client:
        first = client.inbox(a)
        emu.audience("fan4").mention("hello A again")
        later = client.inbox(a, since=first.cursor)
        assert [m.text for m in later.messages] == ["hello A again"]
        assert client.inbox(a, since=later.cursor).messages == ()


def test_a_cursor_saved_before_without_its_bot_is_still_read(emu: TelegramEmulator) -> None:
    """A cursor from an earlier brandkit (offset and threads only) is taken as this bot's:
    its offset goes out, and the new cursor names the bot."""
    a, _ = two_bots(emu)
    with Client(retry=FAST) as client:
        first = client.inbox(a)
        old = json.loads(first.cursor or "")
        old.pop("bot", None)
        emu.audience("fan4").mention("hello A again")
        before = get_updates(emu)
        later = client.inbox(a, since=json.dumps({"offset": old["offset"], "threads": {}}))
        assert get_updates(emu) == before + 1
        assert [m.text for m in later.messages] == ["hello A again"]
        assert json.loads(later.cursor or "")["bot"] == bot_id(a)


def test_a_bot_field_that_is_not_an_id_is_garbled(emu: TelegramEmulator) -> None:
    """A cursor whose bot is not a user id is not one brandkit made (nothing sent)."""
    a, _ = two_bots(emu)
    with Client(retry=FAST) as client:
        sent = len(emu.requests)
        with pytest.raises(ConfigurationError, match="since=None"):
            client.inbox(a, since='{"offset":3,"threads":{},"bot":"me"}')
        assert len(emu.requests) == sent
