"""A report of a period without messages (or without listening posts) said "No messages
synced yet." and "No saved query has found posts yet." on an inbox full of messages and a
listener with years of finds, as if nothing had ever been synced: the other sections say
"in this period" since 08830e5, these two kept "yet". Each now says what was asked; "yet"
stays for a report of everything, whose inbox or listener has nothing."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from brandkit import Account, Author, Message, Query
from brandkit.inbox import Inbox
from brandkit.listening import Listener
from brandkit.metrics import MetricsStore, render_report

NOW = datetime(2026, 3, 30, tzinfo=UTC)


def _section(page: str, name: str) -> str:
    found = re.search(rf'<section class="panel" id="{name}">(.*?)</section>', page, re.S)
    assert found is not None, name
    return found.group(1)


def _empty(page: str, name: str) -> str:
    found = re.search(r'<p class="empty">([^<]*)</p>', _section(page, name))
    assert found is not None, name
    return found.group(1)


def test_a_period_without_messages_or_finds_says_so(small: MetricsStore, tmp_path: Path) -> None:
    with Inbox(tmp_path / "inbox.db") as inbox, Listener(inbox) as listener:
        inbox.add(
            [
                Message(
                    platform="x",
                    account="x:brand",
                    id="m1",
                    kind="reply",
                    author=Author(id="u1", handle="fan"),
                    text="love it",
                    created_at=datetime(2026, 3, 2, 9, tzinfo=UTC),
                )
            ]
        )
        listener.watch("brand", Query(any=["brandkit"]), accounts=[Account("x", name="brand")])
        # The inbox has a message, but not in 2030.
        assert "Messages" in _section(render_report(small, now=NOW, inbox=inbox), "conversations")
        for where in ({"since": "2030-01-01"}, {"until": "2000-01-01"}):
            page = render_report(small, now=NOW, inbox=inbox, listener=listener, **where)  # type: ignore[arg-type]
            assert _empty(page, "conversations") == "No messages in this period."
            assert _empty(page, "listening") == "No saved query found posts in this period."
        # A campaign does not narrow the inbox or the listener: without a period, "yet".
        page = render_report(small, now=NOW, listener=listener, campaign="launch")
        assert _empty(page, "listening") == "No saved query has found posts yet."


def test_an_empty_inbox_and_listener_still_say_yet(small: MetricsStore, tmp_path: Path) -> None:
    with Inbox(tmp_path / "inbox.db") as inbox, Listener(inbox) as listener:
        page = render_report(small, now=NOW, inbox=inbox, listener=listener)
        assert _empty(page, "conversations") == "No messages synced yet."
        assert _empty(page, "listening") == "No saved query yet."
        listener.watch("brand", Query(any=["brandkit"]), accounts=[Account("x", name="brand")])
        page = render_report(small, now=NOW, inbox=inbox, listener=listener)
        assert _empty(page, "listening") == "No saved query has found posts yet."
