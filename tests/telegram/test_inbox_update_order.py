"""The getUpdates offset is one past the highest update id read, not the last listed: the
Bot API says updates may come out of order ("restore the correct update sequence, should
they get out of order") and that the offset is "greater by one than the highest among the
identifiers of previously received updates". Over the emulator (on 127.0.0.1), through
`Client.inbox` and the inbox store's sync into a real SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from brandkit import Account, Client, Inbox, Post
from brandkit._flow import run_flow
from brandkit.platforms.telegram import TelegramAdapter
from brandkit.testing.telegram import TelegramEmulator
from tests.telegram.conftest import FAST, RAW, Canned, ok


def mentions(emu: TelegramEmulator, n: int) -> list[str]:
    """``n`` private messages to the bot from different people, oldest first (their ids)."""
    return [emu.audience(f"f{i}").mention(f"hi {i}") for i in range(n)]


def list_updates_backwards(emu: TelegramEmulator) -> None:
    """From now on each getUpdates answer brandkit gets lists its updates newest first, as
    a proxy that garbles the order would; what Telegram does with the request (the offset
    it confirms) is unchanged."""
    handle = emu.handle

    def backwards(request: httpx.Request) -> httpx.Response:
        response = handle(request)
        if not request.url.path.endswith("/getUpdates") or request.headers.get(RAW):
            return response
        body = response.json()
        assert body["ok"] is True
        body["result"].reverse()
        return httpx.Response(response.status_code, json=body, request=request)

    emu.handle = backwards  # type: ignore[method-assign]


def waiting_ids(emu: TelegramEmulator, account: Account) -> list[int]:
    """The ids of the updates waiting for the account's bot, asked without an offset (so
    that nothing is confirmed)."""
    token = account.secret("bot_token")
    with httpx.Client(base_url=emu.base_url, headers={RAW: "1"}) as http:
        result = http.post(f"/bot{token}/getUpdates", json={"timeout": 0}).json()["result"]
    return [u["update_id"] for u in result]


def test_updates_listed_out_of_order_are_confirmed_by_the_highest(emu: TelegramEmulator) -> None:
    """Three updates listed highest first: the offset came from the last listed (the
    lowest), so the next read got the other two again. It is one past the highest, and
    the next read gets only what came after."""
    account = emu.account()
    said = mentions(emu, 4)
    ids = waiting_ids(emu, account)
    emu.garble(said[0], update={"update_id": ids[2]})
    emu.garble(said[2], update={"update_id": ids[0]})
    with Client(retry=FAST) as client:
        page = client.inbox(account, limit=3)
        assert sorted(m.id for m in page.messages) == sorted(said[:3])
        assert json.loads(page.cursor or "")["offset"] == ids[2] + 1
        rest = client.inbox(account, since=page.cursor, limit=3)
    assert [m.id for m in rest.messages] == [said[3]]


def test_a_lower_id_listed_last_does_not_hold_the_inbox(
    emu: TelegramEmulator, tmp_path: Path
) -> None:
    """A full page whose last update carries a lower id (garbled) made that id the offset:
    it confirmed nothing, the next read got the same page, and the sync stopped there at
    every run, the later messages never read. The highest id moves the inbox on: the five
    messages are stored in one sync and every update is confirmed."""
    account = emu.account()
    said = mentions(emu, 5)
    emu.garble(said[2], update={"update_id": 7})
    with Inbox(tmp_path / "inbox.db") as inbox, Client(retry=FAST) as client:
        report = inbox.sync(client, [account], limit=3)
        assert report.errors == {}
        assert sorted(m.id for m in inbox.messages(account=account.key)) == sorted(said)
    (bot,) = emu.bots.values()
    assert emu.pending_updates(bot) == 0


def test_a_page_that_cannot_move_the_offset_is_read_once_per_sync_and_logged(
    emu: TelegramEmulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An update listed with an id below those already confirmed (garbled) cannot be
    confirmed by an offset from it. Once the offset stands still on it, a sync reads it
    in one request (more is not set), with a warning; the next readable update confirms
    it."""
    account = emu.account()
    first = mentions(emu, 2)
    ids = waiting_ids(emu, account)
    with (
        caplog.at_level("WARNING", logger="brandkit.platforms.telegram"),
        Inbox(tmp_path / "inbox.db") as inbox,
        Client(retry=FAST) as client,
    ):
        assert inbox.sync(client, [account]).errors == {}
        odd = emu.audience("odd").mention("again?")
        emu.garble(odd, update={"update_id": ids[0]})
        assert inbox.sync(client, [account]).errors == {}  # read; the offset goes back to it
        sent = len(emu.requests)
        assert inbox.sync(client, [account]).errors == {}
        assert len(emu.requests) == sent + 1
        assert any("cannot confirm" in r.getMessage() for r in caplog.records)
        later = emu.audience("late").mention("still there?")
        assert inbox.sync(client, [account]).errors == {}
        assert inbox.sync(client, [account]).errors == {}
        stored = sorted(m.id for m in inbox.messages(account=account.key))
    assert stored == sorted([*first, odd, later])
    (bot,) = emu.bots.values()
    assert emu.pending_updates(bot) == 0


def test_the_offset_follows_ids_telegram_restarted_lower(adapter: TelegramAdapter) -> None:
    """After a week without updates Telegram picks the next update id at random, maybe
    below the cursor's offset, and answers an offset past its queue from the queue's start.
    The next offset follows the new ids: held at the old one, every read would get the
    same updates again, none ever confirmed."""
    cursor = json.dumps({"offset": 900_000_000, "threads": {}, "bot": adapter._bot_id})
    restarted = Canned(("getUpdates", ok([{"update_id": 5}, {"update_id": 6}])))
    page = run_flow(adapter.inbox(cursor, limit=10), restarted)
    assert restarted.call(0)["offset"] == 900_000_000
    assert json.loads(page.cursor or "")["offset"] == 7


def test_a_page_held_by_an_id_far_ahead_still_gives_its_messages(
    emu: TelegramEmulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A garbled id far past the others (still 32-bit), taken as the offset, is "in the
    future" to Telegram, which answers from its queue's start, the garbled update first
    again. The messages of that page were lost with it (MalformedResponse); they are
    stored, and the next sync's offset, from the other ids, confirms it."""
    account = emu.account()
    said = mentions(emu, 2)
    emu.garble(said[0], update={"update_id": 2_000_000_000})
    with (
        caplog.at_level("WARNING", logger="brandkit.platforms.telegram"),
        Inbox(tmp_path / "inbox.db") as inbox,
        Client(retry=FAST) as client,
    ):
        assert inbox.sync(client, [account]).errors == {}
        later = emu.audience("late").mention("still there?")
        assert inbox.sync(client, [account]).errors == {}
        stored = sorted(m.id for m in inbox.messages(account=account.key))
        assert inbox.sync(client, [account]).added == 0
    assert stored == sorted([*said, later])
    (bot,) = emu.bots.values()
    assert emu.pending_updates(bot) == 0


def test_updates_listed_newest_first_are_read_in_id_order(
    emu: TelegramEmulator, tmp_path: Path
) -> None:
    """A page listed newest first (over 127.0.0.1, the answer reordered on its way): the
    edit of a private message came before its first text, which then replaced it, and a
    comment on a comment came before the automatic forward and the comment that say which
    post its thread is under, so it was left out and its update confirmed (lost). Read in
    update_id order, the store holds the edited text and all three comments."""
    account = emu.account()
    with Inbox(tmp_path / "inbox.db") as inbox, Client(retry=FAST) as client:
        assert inbox.sync(client, [account]).errors == {}  # the bot now takes edits
        said = emu.audience("ann").mention("hello")
        emu.edit(said, "hello, is the shop open today?")
        (d,) = client.publish(Post(text="Big news"), account)
        top = emu.audience("fan").comment(d.ids[0], "wow")
        nested = emu.audience("pal").comment(top, "indeed")
        list_updates_backwards(emu)
        assert inbox.sync(client, [account]).errors == {}
        # The next sync confirms the page (its offset goes out) and finds nothing after it.
        again = inbox.sync(client, [account])
        assert again.errors == {} and (again.added, again.updated) == (0, 0)
        stored = {m.id: m for m in inbox.messages(account=account.key)}
    assert stored[said].text == "hello, is the shop open today?"
    assert stored[said].edited_at is not None
    assert sorted(stored) == sorted([said, top, nested])
    assert (stored[nested].our_post, stored[nested].in_reply_to) == (d.ids[0], top)
    (bot,) = emu.bots.values()
    assert emu.pending_updates(bot) == 0
