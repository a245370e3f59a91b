"""A comment's ``raw`` never holds the account's token.

Graph writes the access token into every ``paging.next`` link, nested edges' too: a comment
read with its replies expanded (``replies.limit(n){...}``) carries a ``next`` with the token
when it has more replies than the page. Kept whole in ``Message.raw``, the token went into
the inbox's file (and anything that logs a message).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from brandkit import Client, Inbox
from brandkit.testing.instagram import InstagramEmulator
from tests.facebook.conftest import FAST
from tests.instagram.conftest import post

pytestmark = pytest.mark.usefixtures("emulator_clock")


@pytest.mark.usefixtures("small_pages")
def test_no_token_in_messages_or_the_inbox_file(emu: InstagramEmulator, tmp_path: Path) -> None:
    account = emu.account(username="brand")
    token = account.secret("token")
    assert token
    with Client(retry=FAST) as client:
        (d,) = client.publish(post("launch"), account)
        assert d.ok, d.error
        comment = emu.audience("fan").comment(d.ids[0], "love it")
        for r in range(8):
            emu.audience(f"r{r}").comment(comment, f"reply {r}")
        emu.clock.advance(120)
        with Inbox(tmp_path / "inbox.db") as inbox:
            report = inbox.sync(client, [account])
            assert report.added == 9, report
            stored = inbox.messages()
    top = next(m for m in stored if m.text == "love it")
    # The replies' cursors are kept; the link that carries the token is not.
    assert top.raw["replies"]["paging"]["cursors"]["after"]
    assert "next" not in top.raw["replies"]["paging"]
    for m in stored:
        assert token not in json.dumps(m.raw)
    for f in tmp_path.iterdir():
        assert token.encode() not in f.read_bytes(), f.name
