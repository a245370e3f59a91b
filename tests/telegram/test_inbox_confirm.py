"""Telegram's getUpdates confirms every update before the ``offset`` it is sent: the inbox
must never send an offset past updates its caller has not stored yet. Over the emulator
(on 127.0.0.1), through the inbox store's sync and `Client.inbox`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from brandkit import Client, Inbox, RetryPolicy
from brandkit.errors import PlatformUnavailable
from brandkit.testing.telegram import TelegramEmulator
from tests.telegram.conftest import FAST

# A lost answer is retried a few times, quickly, and then given up.
SHORT = RetryPolicy(initial=0.01, max_backoff=0.02, max_wait=0.5)


def lose_answers_from(emu: TelegramEmulator, nth: int) -> Callable[[], None]:
    """From the ``nth`` getUpdates on, Telegram handles the request (an offset in it
    confirms the earlier updates) but its answer is lost: a proxy answers 502. Returns
    the function that heals it."""
    handle = emu.handle
    state = {"seen": 0, "broken": True}

    def lossy(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/getUpdates") and state["broken"]:
            state["seen"] += 1
            if state["seen"] >= nth:
                handle(request)
                return httpx.Response(502, text="<html>Bad Gateway</html>", request=request)
        return handle(request)

    emu.handle = lossy  # type: ignore[method-assign]

    def heal() -> None:
        state["broken"] = False

    return heal


def mentions(emu: TelegramEmulator, n: int) -> list[str]:
    """``n`` private messages to the bot from different people, oldest first (their ids)."""
    return [emu.audience(f"f{i}").mention(f"hi {i}") for i in range(n)]


def test_a_failed_later_page_loses_no_update(emu: TelegramEmulator, tmp_path: Path) -> None:
    """150 updates; every getUpdates after the first is handled by Telegram but its answer
    is lost. The sync stores the first page with its cursor and reports the error; the
    next sync, from that cursor, stores the other 50: each of the 150 once, none lost (the
    offset confirming page 1 went out only after page 1 was stored)."""
    account = emu.account()
    said = mentions(emu, 150)
    heal = lose_answers_from(emu, 2)
    with Inbox(tmp_path / "inbox.db") as inbox, Client(retry=SHORT) as client:
        first = inbox.sync(client, [account])
        assert account.key in first.errors and "502" in first.errors[account.key]
        stored = [m.id for m in inbox.messages(account=account.key)]
        heal()
        second = inbox.sync(client, [account])
        assert second.errors == {}
        assert [m.id for m in inbox.messages(account=account.key)] == said
        # The first sync kept page 1 and its cursor; the second read from there.
        assert stored == said[:100] and second.added == 50
        # Nothing is left: a third sync finds no update.
        third = inbox.sync(client, [account])
        assert third.added == 0 and third.errors == {}


def test_a_read_that_fails_keeps_every_update_for_the_next(emu: TelegramEmulator) -> None:
    """Without a store: the caller who keeps its old cursor after a failed read gets
    again everything that read would have returned (the audit's repro)."""
    account = emu.account()
    said = mentions(emu, 150)
    with Client(retry=SHORT) as client:
        page = client.inbox(account)
        assert [m.id for m in page.messages] == said[:100] and page.more
        assert page.requests == 1
        heal = lose_answers_from(emu, 1)
        with pytest.raises(PlatformUnavailable, match="502"):
            client.inbox(account, since=page.cursor)
        heal()
        again = client.inbox(account, since=page.cursor)
        assert [m.id for m in again.messages] == said[100:] and not again.more


def test_limit_is_respected_over_the_emulator(emu: TelegramEmulator, tmp_path: Path) -> None:
    """limit=10 on 150 updates: one getUpdates of 10, 10 messages, more set; following the
    cursors reads the 150 once each; a sync with limit=10 stores all 150 in 15 reads of
    10 (the 16th, empty, ends it)."""
    account = emu.account()
    said = mentions(emu, 150)
    with Client(retry=FAST) as client:
        page = client.inbox(account, limit=10)
        assert [m.id for m in page.messages] == said[:10] and page.more
        assert page.requests == 1
        got = [m.id for m in page.messages]
        while page.more:
            page = client.inbox(account, since=page.cursor, limit=10)
            assert len(page.messages) <= 10
            got += [m.id for m in page.messages]
        assert got == said
    fresh = TelegramEmulator()
    with fresh.serve():
        other = fresh.account()
        more = mentions(fresh, 150)
        with Inbox(tmp_path / "inbox.db") as inbox, Client(retry=FAST) as client:
            report = inbox.sync(client, [other], limit=10)
            assert report.errors == {} and report.added == 150
            assert report.requests == 16
            assert [m.id for m in inbox.messages(account=other.key)] == more
