"""A very busy post: more answered comments than the cursor keeps one by one (1,000). The
cursor kept the answer counts of the last 1,000 read, so every sync read the answers of each
one past them again, one request each, however little changed: the cost grew with the
post. Over the emulator on 127.0.0.1, through the inbox store's sync into a SQLite file."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta
from pathlib import Path

import httpx

from brandkit import Post
from brandkit.platforms.linkedin import _MAX_NESTED_KEPT, LinkedInAdapter
from tests.linkedin.conftest import served_inbox

ANSWERED = _MAX_NESTED_KEPT + 200


def answer_lists(requests: list[httpx.Request]) -> int:
    """How many of ``requests`` read the answers under a comment."""
    return sum(1 for r in requests if r.url.path.startswith("/rest/socialActions/urn:li:comment:"))


def test_a_sync_of_a_busy_post_with_nothing_new_reads_no_answers(tmp_path: Path) -> None:
    """1,200 comments, each answered once. The first sync reads every answer list; a sync
    with nothing new reads the post's comment pages alone; one new answer costs the answer
    lists of a bounded share of the comments (not 200), and comes once. The cursor stays
    bounded (well under a megabyte)."""
    with served_inbox(tmp_path) as (emu, client, inbox, account):
        (d,) = client.publish(Post(text="launch"), account)
        post = d.ids[0]
        tops = []
        for i in range(ANSWERED):
            emu.clock.advance(timedelta(seconds=1))
            top = emu.audience(f"fan{i}").comment(post, f"question {i}")
            emu.audience(f"pal{i}").comment(top, f"answer {i}")
            tops.append(top)
        first = inbox.sync(client, [account])
        assert first.errors == {} and first.added == 2 * ANSWERED
        sent = len(emu.requests)
        assert inbox.sync(client, [account]).added == 0
        assert answer_lists(emu.requests[sent:]) == 0
        assert len(emu.requests) - sent <= 2 + ANSWERED // LinkedInAdapter.comment_page
        emu.clock.advance(timedelta(seconds=1))
        late = emu.audience("late").comment(tops[7], "me too")
        sent = len(emu.requests)
        third = inbox.sync(client, [account])
        assert third.added == 1 and late in {m.id for m in inbox.messages()}
        assert 1 <= answer_lists(emu.requests[sent:]) <= 20
        sent = len(emu.requests)
        assert inbox.sync(client, [account]).added == 0
        assert answer_lists(emu.requests[sent:]) == 0
    with sqlite3.connect(tmp_path / "inbox.db") as db:
        (cursor,) = db.execute("SELECT cursor FROM inbox_cursors").fetchone()
    db.close()
    assert len(cursor) < 200_000
    assert json.loads(cursor)
