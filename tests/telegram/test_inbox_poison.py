"""A "poison" update: one update brandkit cannot read among readable ones must not stop the
bot's inbox. Telegram resends every update until an ``offset`` confirms it (for 24 hours),
so one held update would come back at every read. Over the emulator (on 127.0.0.1),
through the inbox store's sync into a real SQLite file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from brandkit import Client, Inbox, Post
from brandkit.testing.telegram import TelegramEmulator, parse_request
from tests.telegram.conftest import FAST

LOGGER = "brandkit.platforms.telegram"


def sync_twice(
    emu: TelegramEmulator,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    bad: int,
    **garble: Any,
) -> tuple[list[str], list[str], list[str], str]:
    """Three private messages, the ``bad``-th garbled; a sync, a fourth message, a second
    sync. Returns the good ids, the ids stored after each sync, and the bot's token."""
    account = emu.account()
    said = [emu.audience(f"f{i}").mention(f"hi {i}") for i in range(3)]
    emu.garble(said.pop(bad), **garble)
    token = account.secret("bot_token") or ""
    with (
        caplog.at_level("WARNING", logger=LOGGER),
        Inbox(tmp_path / "inbox.db") as inbox,
        Client(retry=FAST) as client,
    ):
        one = inbox.sync(client, [account])
        assert one.errors == {}
        stored = [m.id for m in inbox.messages(account=account.key)]
        later = emu.audience("late").mention("still there?")
        two = inbox.sync(client, [account])
        assert two.errors == {}
        again = [m.id for m in inbox.messages(account=account.key)]
        # A third read confirms the second's updates: nothing of the bot's waits any more,
        # the garbled update included.
        assert inbox.sync(client, [account]).errors == {}
    (bot,) = emu.bots.values()
    assert emu.pending_updates(bot) == 0
    return [*said, later], stored, again, token


def test_an_unreadable_message_is_skipped_and_the_next_sync_goes_on(
    emu: TelegramEmulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A message dated past any clock, between two good ones: the good ones are stored,
    the bad one is logged once (its update id, no token) and confirmed with the others,
    and the next sync stores what came after it."""
    good, stored, again, token = sync_twice(emu, tmp_path, caplog, 1, date=10**20)
    assert stored == good[:2]
    assert again == good
    (record,) = [r for r in caplog.records if r.name == LOGGER]
    text = record.getMessage()
    assert "cannot be read" in text and "message.date" in text
    assert token not in text and token.partition(":")[2] not in text


def test_an_update_with_a_negative_id_does_not_stop_the_inbox(
    emu: TelegramEmulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Telegram's update ids are positive. A garbled one (-5) as the last of a page made
    the next offset -4, which the saved cursor then refused at every sync ("not a Telegram
    inbox cursor brandkit made"): the inbox stopped for good. It is skipped with a warning,
    and the offset comes from the updates that have an id."""
    good, stored, again, token = sync_twice(emu, tmp_path, caplog, 2, update={"update_id": -5})
    assert stored == good[:2]
    assert again == good
    records = [r for r in caplog.records if r.name == LOGGER]
    assert records and all("update -5 cannot be read" in r.getMessage() for r in records)
    assert all(token.partition(":")[2] not in r.getMessage() for r in records)


def sent_offsets(emu: TelegramEmulator) -> list[int]:
    """The ``offset`` of every getUpdates brandkit sent (absent ones left out)."""
    offsets = []
    for request in emu.requests:
        call = parse_request(request)
        if call is not None and call.method == "getUpdates" and "offset" in call.params:
            offsets.append(int(call.params["offset"]))
    return offsets


@pytest.mark.parametrize(
    ("bad", "update_id"),
    [(1, "not-an-id"), (1, None), (1, 2.5), (1, True), (2, "not-an-id")],
    ids=["text", "null", "fraction", "true", "text-last"],
)
def test_an_update_without_an_integer_id_is_skipped_not_the_page(
    emu: TelegramEmulator,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    bad: int,
    update_id: Any,
) -> None:
    """An update whose update_id is not an integer failed the whole getUpdates page as
    MalformedResponse; Telegram sends it again until an offset confirms it, so no message
    of the bot came again. It is skipped with a warning (no token, not its value), the
    others are stored, and the offset from the highest readable id confirms it (the next
    read's, when it was listed last)."""
    good, stored, again, token = sync_twice(
        emu, tmp_path, caplog, bad, update={"update_id": update_id}
    )
    assert stored == good[:2]
    assert again == good
    records = [r for r in caplog.records if r.name == LOGGER]
    assert records and all("without an integer update_id" in r.getMessage() for r in records)
    assert all(token.partition(":")[2] not in r.getMessage() for r in records)
    assert all("not-an-id" not in r.getMessage() for r in records)


def test_updates_without_an_id_alone_are_no_error_and_read_once(
    emu: TelegramEmulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A page of only updates without an integer update_id cannot move the cursor (no
    offset confirms them). The sync reported it as MalformedResponse, at every sync until
    a readable update came; it is no error now, warned about once, after one request each.
    Once a readable update comes after them, the next sync stores it and its offset
    confirms them."""
    account = emu.account()
    for i in range(2):
        emu.garble(emu.audience(f"f{i}").mention(f"hi {i}"), update={"update_id": None})
    with (
        caplog.at_level("WARNING", logger=LOGGER),
        Inbox(tmp_path / "inbox.db") as inbox,
        Client(retry=FAST) as client,
    ):
        reports = [inbox.sync(client, [account]) for _ in range(2)]
        assert [r.errors for r in reports] == [{}, {}]
        assert len(emu.requests) == 2
        assert json.loads(inbox.cursor(account) or "")["offset"] == 0
        held = [r for r in caplog.records if "cannot move the offset" in r.getMessage()]
        assert len(held) == 1
        later = emu.audience("late").mention("anyone there?")
        two = inbox.sync(client, [account])
        assert two.errors == {}
        assert [m.id for m in inbox.messages(account=account.key)] == [later]
        assert inbox.sync(client, [account]).errors == {}
    (bot,) = emu.bots.values()
    assert emu.pending_updates(bot) == 0


def test_replies_skip_an_update_without_an_integer_id(
    emu: TelegramEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    """replies() read the held updates as one page: one without an integer update_id made
    it MalformedResponse, hiding every comment of the post. It is skipped with a warning,
    the other comment comes back, and nothing is confirmed."""
    account = emu.account()
    with caplog.at_level("WARNING", logger=LOGGER), Client(retry=FAST) as client:
        (delivery,) = client.publish(Post(text="Big news"), account)
        kept = emu.audience("a").comment(delivery.ids[0], "first!")
        emu.garble(emu.audience("b").comment(delivery.ids[0], "second"), update={"update_id": "x"})
        got = client.replies(delivery)
    assert [m.id for m in got] == [kept]
    assert any("without an integer update_id" in r.getMessage() for r in caplog.records)
    (bot,) = emu.bots.values()
    assert emu.pending_updates(bot) == 3  # the post's forward and the two comments


@pytest.mark.parametrize("update_id", [2**31 - 1, 2**40, 2**53 + 1, 10**30])
def test_an_update_id_past_32_bits_is_skipped_never_an_offset(
    emu: TelegramEmulator, tmp_path: Path, caplog: pytest.LogCaptureFixture, update_id: int
) -> None:
    """Telegram reads offset as a signed 32-bit integer (its update ids stop at
    2,000,000,000); a garbled id past that, listed last, became the next offset, which
    confirmed every update of the bot then waiting (the emulator; Telegram wraps such a
    number around, to a negative offset that drops all but the last updates). It is
    skipped with a warning like any unreadable update, and no offset sent goes past 32
    bits."""
    good, stored, again, token = sync_twice(
        emu, tmp_path, caplog, 2, update={"update_id": update_id}
    )
    assert stored == good[:2]
    assert again == good
    offsets = sent_offsets(emu)
    assert offsets and all(0 < o < 2**31 for o in offsets)
    records = [r for r in caplog.records if r.name == LOGGER]
    assert records and all("update_id" in r.getMessage() for r in records)
    assert all(token.partition(":")[2] not in r.getMessage() for r in records)


def test_a_cursor_offset_past_32_bits_is_read_from_the_queue_start(
    emu: TelegramEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    """A cursor saved with an offset past 32 bits (brandkit made such offsets from a
    garbled update id before it skipped them) was refused at every sync after an upgrade,
    the account's inbox stopped until the cursor was dropped by hand, and its comment
    threads with it. Its offset is dropped with one warning (Telegram answers such an
    offset from its queue's start anyway, as does 0), the threads and bot kept: the waiting update
    is read, and the next cursor holds a 32-bit offset."""
    account = emu.account()
    said = emu.audience("f").mention("hi")
    (bot,) = emu.bots.values()
    threads = {"-100123:7": "-100999:42"}
    cursor = json.dumps({"offset": 2**40 + 1, "threads": threads, "bot": bot.id})
    with caplog.at_level("WARNING", logger=LOGGER), Client(retry=FAST) as client:
        page = client.inbox(account, since=cursor)
        assert [m.id for m in page.messages] == [said]
        assert page.cursor is not None
        saved = json.loads(page.cursor)
        assert 0 < saved["offset"] < 2**31 and saved["threads"] == threads
        assert saved["bot"] == bot.id
        client.inbox(account, since=page.cursor)
    assert sent_offsets(emu) == [0, saved["offset"]]
    assert emu.pending_updates(bot) == 0
    (record,) = [r for r in caplog.records if r.name == LOGGER]
    assert "32 bits" in record.getMessage()
    token = account.secret("bot_token") or ""
    assert token.partition(":")[2] not in record.getMessage()
