"""LinkedIn inbox: comments are paged by offset (start, count). A comment deleted while a
post's pages are read moves every later comment back by one, so the first comment of the
next page would fall on the page already read: skipped, and, older than the newest comment
the cursor keeps, never read afterwards."""

from __future__ import annotations

from typing import Any

import httpx

from brandkit import Client, Post
from brandkit.testing.linkedin import LinkedInEmulator
from tests.linkedin.conftest import FAST


class _DeletesAfterFirstPage(LinkedInEmulator):
    """Deletes the comment ``doomed`` (its author taking it back) right after answering the
    first page of the comments it is among."""

    doomed: str | None = None

    def _list_comments(self, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        response = super()._list_comments(request, **kwargs)  # type: ignore[call-arg]
        if self.doomed is not None and request.url.params.get("start") == "0":
            self.delete_comment(self.doomed)
            self.doomed = None
        return response


def test_a_comment_deleted_between_two_pages_skips_no_other() -> None:
    """150 comments, the 10th deleted after the first page of 100 was read: the other 149
    all reach the inbox (the 101st among them), and a later sync adds nothing."""
    emu = _DeletesAfterFirstPage()
    with emu.serve(), Client(retry=FAST) as client:
        account = emu.account()
        (d,) = client.publish(Post(text="giveaway"), account)
        ids = [emu.audience(f"fan{i}").comment(d.ids[0], f"c{i}") for i in range(150)]
        emu.doomed = ids[9]
        got = client.inbox(account)
        assert sorted(m.text for m in got.messages) == sorted(f"c{i}" for i in range(150) if i != 9)
        assert client.inbox(account, since=got.cursor).messages == ()
