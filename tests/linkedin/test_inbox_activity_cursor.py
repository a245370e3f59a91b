"""Inbox cursors saved before brandkit kept only share and ugcPost URNs: the posts request
then gave any URN a post listed (``urn:li:activity:…`` too) to the cursor, which the cursor
check now refuses, so the account's every sync failed until its cursor was dropped by hand.
Over the emulator (on 127.0.0.1), with the cursor saved in a real SQLite inbox file."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from brandkit import Client, Inbox, Post
from brandkit.testing.linkedin import LinkedInEmulator
from tests.linkedin.conftest import FAST, save_cursor

LOGGER = "brandkit.platforms.linkedin"
ACTIVITY = "urn:li:activity:7212345678901234567"


def test_a_saved_cursor_with_an_activity_urn_is_read_without_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The saved cursor holds an entry for ``urn:li:activity:…`` beside the page's post (and
    that URN among the posts left to read). The sync succeeds: the entry is dropped with a
    warning naming it, the comment made since comes once, the one read before does not come
    again, and the cursor saved after it no longer holds the URN (no warning at the next
    sync)."""
    emu = LinkedInEmulator()
    db = tmp_path / "inbox.db"
    with (
        caplog.at_level("WARNING", logger=LOGGER),
        emu.serve(),
        Client(retry=FAST) as client,
        Inbox(db) as inbox,
    ):
        account = emu.account()
        (d,) = client.publish(Post(text="launch"), account)
        post = d.ids[0]
        first = emu.audience("fan").comment(post, "hello")
        assert inbox.sync(client, [account]).errors == {}
        saved = json.loads(inbox.cursor(account) or "")
        assert post in saved["posts"]
        old = {"t": 1_700_000_000_000, "ids": ["urn:li:comment:(urn:li:activity:1,2)"], "n": {}}
        saved["posts"][ACTIVITY] = old
        saved["todo"] = [ACTIVITY, post]
        save_cursor(db, account.key, saved)

        emu.clock.advance(timedelta(seconds=1))
        later = emu.audience("late").comment(post, "still there?")
        sent = len(emu.requests)
        report = inbox.sync(client, [account])
        assert report.errors == {} and report.added == 1
        assert sorted(m.id for m in inbox.messages()) == sorted([first, later])
        assert not any(ACTIVITY.split(":")[-1] in str(r.url) for r in emu.requests[sent:])
        after = json.loads(inbox.cursor(account) or "")
        assert ACTIVITY not in after["posts"] and post in after["posts"]
        warned = [r.getMessage() for r in caplog.records if r.name == LOGGER]
        assert len(warned) == 1 and ACTIVITY in warned[0]
        assert account.secret("token") not in warned[0]

        assert inbox.sync(client, [account]).errors == {}
        assert len([r for r in caplog.records if r.name == LOGGER]) == 1
