"""A mention whose ``created_at`` no UTC datetime holds is read like one without a time:
brandkit reads the time from its id, and the read goes on."""

from __future__ import annotations

from pathlib import Path

from brandkit import Account, Client, Inbox
from brandkit.platforms.x import snowflake_time
from brandkit.testing.x import XEmulator
from tests.x.conftest import FAST, one_mention_answer, serve_mentions


def test_a_created_at_past_the_calendar_reads_the_time_from_the_id(
    emu: XEmulator, brand: Account, tmp_path: Path
) -> None:
    """``9999-12-31T23:59:59-01:00`` is past year 9999 in UTC: the read used to end in an
    ``OverflowError`` while the message wrote it in UTC, and the sync stored nothing."""
    emu.audience("fan").mention("@brand my order 123 came broken")
    body = one_mention_answer(emu, brand)
    (post,) = body["data"]
    post["created_at"] = "9999-12-31T23:59:59-01:00"
    serve_mentions(emu, body)
    with Client(retry=FAST) as client, Inbox(tmp_path / "inbox.db") as inbox:
        report = inbox.sync(client, [brand])
        assert report.added == 1, report
        (message,) = inbox.messages()
        assert message.text.endswith("my order 123 came broken")
        assert message.created_at == snowflake_time(post["id"])
