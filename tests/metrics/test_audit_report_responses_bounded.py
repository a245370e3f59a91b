"""The report's conversation section had a row per account in its first-response table:
an agency inbox of thousands of accounts made a table of thousands of rows, where every
other table of the report shows 100 and says how many more. It shows the 100 accounts
with the most messages, and the cards still count every account."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from brandkit import Author, Message
from brandkit.inbox import Inbox
from brandkit.metrics import MetricsStore, render_report

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)


def _message(account: int, n: int) -> Message:
    return Message(
        platform="x",
        account=f"x:a{account:03d}",
        id=f"m{account}-{n}",
        kind="reply",
        author=Author(id=f"u{n}"),
        text="hello",
        created_at=T0 + timedelta(minutes=n),
    )


def test_the_response_table_shows_the_busiest_accounts(store: MetricsStore, tmp_path: Path) -> None:
    with Inbox(tmp_path / "inbox.db") as inbox:
        # 130 accounts with a message each; the last one with three.
        inbox.add([_message(i, 0) for i in range(130)])
        inbox.add([_message(129, n) for n in (1, 2)])
        page = render_report(store, inbox=inbox)
    section = page.split('id="conversations"', 1)[1].split("</section>", 1)[0]
    rows = re.findall(r'<tr><td class="text">(x:a\d+)</td>', section)
    assert len(rows) == 100 and "x:a129" in rows and rows[:99] == [f"x:a{i:03d}" for i in range(99)]
    assert "Showing the 100 accounts with the most messages; 30 more" in section
    assert re.search(r'Unanswered</div><div class="value">132<', section)
