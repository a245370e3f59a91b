"""LinkedIn inbox: a comment its author edits (LinkedIn's "Edit a Comment": a new
``message``, ``lastModified`` later than ``created``) comes again with ``edited_at``, once
per edit, and the inbox store brings the text it holds up to date."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from brandkit import Client, Inbox, Post
from brandkit.inbox import MessageStatus
from brandkit.platforms.linkedin import LinkedInAdapter
from brandkit.testing.linkedin import LinkedInEmulator
from tests.linkedin.conftest import FAST


def test_a_sync_brings_a_stored_comment_up_to_its_edit_at_no_extra_request(
    tmp_path: Path,
) -> None:
    """The edit is read by the sync's usual requests: the stored comment's text is
    replaced, its status and assignee kept, counted as updated once."""
    emu = LinkedInEmulator()
    with emu.serve(), Client(retry=FAST) as client, Inbox(tmp_path / "inbox.db") as inbox:
        account = emu.account()
        (d,) = client.publish(Post(text="launch"), account)
        comment = emu.audience("fan").comment(d.ids[0], "my order 123 came")
        assert inbox.sync(client, [account]).added == 1
        (stored,) = inbox.unanswered()
        assert stored.edited_at is None
        inbox.mark(stored, "seen")
        inbox.assign(stored, to="ana@agency.example")
        quiet = inbox.sync(client, [account])
        assert (quiet.added, quiet.updated) == (0, 0)
        emu.clock.advance(timedelta(minutes=3))
        emu.edit_comment(comment, "my order 123 came, and it's broken")
        report = inbox.sync(client, [account])
        assert (report.added, report.updated) == (0, 1)
        assert report.requests == quiet.requests
        (now,) = inbox.messages()
        assert (now.id, now.text) == (comment, "my order 123 came, and it's broken")
        assert now.edited_at is not None
        assert (now.edited_at - now.created_at).total_seconds() == pytest.approx(180, abs=1)
        assert inbox.status(now) is MessageStatus.SEEN
        assert inbox.messages(assignee="ana@agency.example") == [now]
        cursor = inbox.cursor(account)
        assert client.inbox(account, since=cursor).messages == ()
        again = inbox.sync(client, [account])
        assert (again.added, again.updated) == (0, 0)


def test_each_edit_comes_once_and_a_nested_ones_at_its_recheck(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A comment edited before the first read comes once, as edited; a later edit of it
    comes again once. An answer's edit is read when its parent's comments are read again
    (their recheck), even after a later edit of another comment."""
    emu = LinkedInEmulator()
    with emu.serve(), Client(retry=FAST) as client:
        account = emu.account()
        (d,) = client.publish(Post(text="launch"), account)
        top = emu.audience("fan").comment(d.ids[0], "when in Europe?")
        emu.clock.advance(timedelta(seconds=5))
        nested = emu.audience("fan2").comment(top, "and Asia?")
        emu.clock.advance(timedelta(seconds=5))
        emu.edit_comment(top, "when in Europe? Spain?")
        first = client.inbox(account)
        assert sorted((m.text, m.edited_at is not None) for m in first.messages) == [
            ("and Asia?", False),
            ("when in Europe? Spain?", True),
        ]
        emu.clock.advance(timedelta(seconds=5))
        emu.edit_comment(nested, "and Asia? Japan?")
        emu.clock.advance(timedelta(seconds=5))
        emu.edit_comment(top, "when in Europe? Spain or Italy?")
        second = client.inbox(account, since=first.cursor)
        assert [m.text for m in second.messages] == ["when in Europe? Spain or Italy?"]
        monkeypatch.setattr(LinkedInAdapter, "nested_recheck", 0.0)  # the recheck is due
        third = client.inbox(account, since=second.cursor)
        assert [(m.id, m.text) for m in third.messages] == [(nested, "and Asia? Japan?")]
        assert client.inbox(account, since=third.cursor).messages == ()
