"""LinkedIn inbox: a comment or a post deleted while a sync reads it is skipped (its answers
went with it), the sync succeeds and its cursor moves; other refusals still fail it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from brandkit import Client, Post
from brandkit.errors import AuthError, PlatformUnavailable, RateLimited
from brandkit.inbox import Inbox
from brandkit.testing.linkedin import LinkedInEmulator
from tests.linkedin.conftest import FAST


class _DeletesAfterListing(LinkedInEmulator):
    """Deletes the comments in ``doomed`` (as their author would) right after it answered
    the listing of the post they are on: between a sync's two reads."""

    doomed: set[str]

    def _list_comments(self, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        response = super()._list_comments(request, **kwargs)  # type: ignore[call-arg]
        target = kwargs["target"]
        for urn in sorted(self.doomed):
            comment = self._comments.get(urn)
            if comment is not None and comment.object == target and not comment.deleted_at:
                self.delete_comment(urn)
                self.doomed.discard(urn)
        return response


def test_a_comment_deleted_before_its_answers_are_read_is_skipped(tmp_path: Path) -> None:
    """The post's comments are read, then the answered comment is deleted before its
    answers are: that read is a 404. The comment read before is kept, its answers (gone
    with it) are not read, the sync succeeds and its cursor moves; the next sync reads a
    new comment and nothing else."""
    emu = _DeletesAfterListing()
    with (
        emu.serve(),
        Client(retry=FAST) as client,
        Inbox(tmp_path / "inbox.db") as inbox,
    ):
        account = emu.account()
        (d,) = client.publish(Post(text="launch"), account)
        post = d.ids[0]
        emu.audience("early").comment(post, "first!")
        top = emu.audience("fan").comment(post, "when in Europe?")
        emu.audience("fan2").comment(top, "and Asia?")
        emu.doomed = {top}

        report = inbox.sync(client, [account])
        (got,) = report.accounts
        assert got.error is None
        assert emu.count("GET", r"/rest/socialActions/urn:li:comment:.+/comments") == 1
        assert sorted(m.text for m in inbox.messages()) == ["first!", "when in Europe?"]
        assert [c.text for c in emu.comments(post)] == ["first!"]  # the answer went with it

        emu.audience("late").comment(post, "congrats")
        (again,) = inbox.sync(client, [account]).accounts
        assert (again.error, again.added) == (None, 1)
        assert sorted(m.text for m in inbox.messages()) == ["congrats", "first!", "when in Europe?"]


def test_a_post_deleted_while_the_cursor_holds_it_is_skipped() -> None:
    """A read that stops at ``limit`` keeps the posts left in its cursor. One of them
    deleted by the brand before the next read answers 404: that post is skipped (not an
    error at every later sync) and the read goes on to the end."""
    emu = LinkedInEmulator()
    with emu.serve(), Client(retry=FAST) as client:
        account = emu.account()
        (a,) = client.publish(Post(text="first"), account)
        (b,) = client.publish(Post(text="second"), account)
        emu.audience("fan").comment(a.ids[0], "on a")
        emu.audience("fan").comment(b.ids[0], "on b")
        page1 = client.inbox(account, limit=1)
        assert page1.more and len(page1.messages) == 1
        (left,) = {a.ids[0], b.ids[0]} - {page1.messages[0].our_post}
        client.delete(a if a.ids[0] == left else b)

        page2 = client.inbox(account, since=page1.cursor, limit=1)
        assert (page2.messages, page2.more) == ((), False)
        (kept,) = {a.ids[0], b.ids[0]} - {left}
        emu.audience("fan2").comment(kept, "still here")
        page3 = client.inbox(account, since=page2.cursor)
        assert [m.text for m in page3.messages] == ["still here"]


@pytest.mark.parametrize(
    ("status", "error"),
    [(401, AuthError), (403, AuthError), (429, RateLimited), (503, PlatformUnavailable)],
)
def test_other_refusals_of_the_answers_still_fail_the_read(
    status: int, error: type[Exception]
) -> None:
    """Only a 404 reads as deleted: a refused, throttled or failing read of a comment's
    answers still fails the sync (after the retries), its cursor unmoved."""
    emu = LinkedInEmulator()
    with emu.serve(), Client(retry=FAST) as client:
        account = emu.account()
        (d,) = client.publish(Post(text="launch"), account)
        top = emu.audience("fan").comment(d.ids[0], "when?")
        emu.audience("fan2").comment(top, "and where?")
        emu.fault(
            method="GET",
            path=r"/rest/socialActions/urn:li:comment:.+/comments",
            status=status,
            body={"status": status, "message": "scripted"},
            times=100,
        )
        with pytest.raises(error):
            client.inbox(account)
