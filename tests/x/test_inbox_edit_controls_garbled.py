"""An ``edit_controls`` brandkit cannot use costs at most a look-up before an answer, never
the inbox read: X writes ``editable_until`` in UTC, but a garbled one may be any time."""

from __future__ import annotations

from pathlib import Path

from brandkit import Account, Client, Inbox
from brandkit.testing.x import XEmulator
from tests.x.conftest import FAST, one_mention_answer, serve_mentions


def test_a_window_end_past_the_calendar_does_not_fail_the_read(
    emu: XEmulator, brand: Account, tmp_path: Path
) -> None:
    """A mention whose ``editable_until`` lies past year 9999 once written in UTC (a
    negative offset on the last day) is stored like any other; the read used to end in an
    ``OverflowError`` while brandkit wrote that time in UTC, and the sync stored nothing."""
    emu.audience("fan").mention("@brand my order 123 came broken")
    body = one_mention_answer(emu, brand)
    (post,) = body["data"]
    post["edit_controls"] = {
        "is_edit_eligible": True,
        "editable_until": "9999-12-31T23:59:59-01:00",
        "edits_remaining": 5,
    }
    serve_mentions(emu, body)
    with Client(retry=FAST) as client, Inbox(tmp_path / "inbox.db") as inbox:
        report = inbox.sync(client, [brand])
        assert report.added == 1, report
        (message,) = inbox.messages()
        assert message.text.endswith("my order 123 came broken")
