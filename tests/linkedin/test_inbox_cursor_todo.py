"""The posts an inbox cursor keeps to read next (``todo``) are checked as its ``posts`` are:
before, any string there (a hand-edited or damaged cursor) was sent to LinkedIn as a post
URN, where the same junk among ``posts`` was refused. Over the emulator (on 127.0.0.1), with
the cursor saved in a real SQLite inbox file, and through ``client.inbox``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from brandkit import Client, ConfigurationError, Inbox, Post
from brandkit.testing.linkedin import LinkedInEmulator
from tests.linkedin.conftest import FAST, save_cursor

JUNK = "not-a-post-7212345678901234567"


def test_a_saved_cursor_with_junk_to_read_next_is_refused_before_a_request(
    tmp_path: Path,
) -> None:
    """The saved cursor holds a junk string among the posts left to read: the sync of the
    account fails as a cursor brandkit did not make (as junk among ``posts`` does), saying
    to read from the start, and no request names the junk; the cursor is left as it was."""
    emu = LinkedInEmulator()
    db = tmp_path / "inbox.db"
    with emu.serve(), Client(retry=FAST) as client, Inbox(db) as inbox:
        account = emu.account()
        (d,) = client.publish(Post(text="launch"), account)
        post = d.ids[0]
        emu.audience("fan").comment(post, "hello")
        assert inbox.sync(client, [account]).errors == {}
        saved = json.loads(inbox.cursor(account) or "")
        assert post in saved["posts"]
        saved["todo"] = [JUNK, post]
        save_cursor(db, account.key, saved)

        sent = len(emu.requests)
        report = inbox.sync(client, [account])
        error = report.errors[account.key]
        assert "not a LinkedIn inbox cursor" in error and "since=None" in error
        assert JUNK in error
        assert not any(JUNK in str(r.url) for r in emu.requests[sent:])
        assert json.loads(inbox.cursor(account) or "") == saved

        # The same junk among the posts is refused alike: the two checks are one.
        saved.pop("todo")
        saved["posts"][JUNK] = saved["posts"][post]
        save_cursor(db, account.key, saved)
        assert "not a LinkedIn inbox cursor" in inbox.sync(client, [account]).errors[account.key]


@pytest.mark.parametrize(
    "todo",
    [
        [JUNK],
        ["urn:li:share:"],
        [" urn:li:share:1"],
        ["urn:li:share:1 2"],
        [""],
        # Not a list: a string was read a character at a time, a dict by its keys.
        "urn:li:share:1",
        {"urn:li:share:1": 1},
        # More posts than the posts request lists (100): each would be one request.
        [f"urn:li:share:{n}" for n in range(1, 10_002)],
    ],
)
def test_client_inbox_refuses_a_cursor_with_junk_to_read_next(todo: object) -> None:
    """``client.inbox`` with a crafted cursor: a ``todo`` that is not a list of share or
    ugcPost URNs is a ``ConfigurationError`` before any request."""
    emu = LinkedInEmulator()
    with emu.serve(), Client(retry=FAST) as client:
        account = emu.account()
        (d,) = client.publish(Post(text="launch"), account)
        emu.audience("fan").comment(d.ids[0], "hello")
        first = client.inbox(account)
        assert [m.text for m in first.messages] == ["hello"]
        cursor = json.loads(first.cursor or "")
        cursor["todo"] = todo
        sent = len(emu.requests)
        with pytest.raises(ConfigurationError, match="since=None"):
            client.inbox(account, since=json.dumps(cursor))
        assert emu.requests[sent:] == []
