"""LinkedIn inbox: the newest comment a cursor saw being deleted must not move the cursor's
time back, or answers read again later (their recheck) come back as new."""

from __future__ import annotations

from datetime import timedelta

import pytest

from brandkit import Client, Post
from brandkit.platforms.linkedin import LinkedInAdapter
from brandkit.testing.linkedin import LinkedInEmulator
from tests.linkedin.conftest import FAST


def test_the_newest_comment_deleted_does_not_bring_old_answers_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A comment answered once, then a newer comment, read by a sync. The newer one is
    deleted; the next sync does not read the answer (its counts did not change). When the
    answer is read again (its recheck is due), it is not new: nothing comes back twice."""
    emu = LinkedInEmulator()
    with emu.serve(), Client(retry=FAST) as client:
        account = emu.account()
        (d,) = client.publish(Post(text="launch"), account)
        post = d.ids[0]
        top = emu.audience("fan").comment(post, "when in Europe?")
        emu.clock.advance(timedelta(seconds=5))
        emu.audience("fan2").comment(top, "and Asia?")
        emu.clock.advance(timedelta(seconds=5))
        newest = emu.audience("fan3").comment(post, "congrats")
        first = client.inbox(account)
        assert sorted(m.text for m in first.messages) == [
            "and Asia?",
            "congrats",
            "when in Europe?",
        ]

        emu.delete_comment(newest)
        second = client.inbox(account, since=first.cursor)
        assert second.messages == ()

        monkeypatch.setattr(LinkedInAdapter, "nested_recheck", 0.0)  # the recheck is due
        third = client.inbox(account, since=second.cursor)
        assert [m.text for m in third.messages] == []
        emu.clock.advance(timedelta(seconds=5))
        emu.audience("fan4").comment(top, "and Africa?")
        fourth = client.inbox(account, since=third.cursor)
        assert [m.text for m in fourth.messages] == ["and Africa?"]
