"""An Instagram inbox read stopped at its page bound keeps Meta's ``after`` cursor of a
comment's replies; the account deletes the reply that cursor names before the next read.
Meta invalidates such a cursor (400 code 100, as the emulator answers): the next read
reads the replies again from their first page, and every reply comes once; before, that
read and every later one failed on the same cursor."""

from __future__ import annotations

import json
import logging
from collections import Counter

import pytest

from brandkit import Client
from brandkit.testing.instagram import InstagramEmulator
from tests.facebook.conftest import FAST
from tests.inbox_reads import follow
from tests.instagram.conftest import post

pytestmark = pytest.mark.usefixtures("emulator_clock")


@pytest.mark.usefixtures("small_pages")
def test_a_round_goes_on_when_its_cursors_reply_is_deleted(
    emu: InstagramEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    account = emu.account(username="brand")
    with Client(retry=FAST) as client:
        (d,) = client.publish(post("Giveaway"), account)
        asked = emu.audience("ada").comment(d.ids[0], "reply here")
        cursor = client.inbox(account).cursor
        written = []
        for i in range(23):
            emu.clock.advance(1)
            written.append(f"reply {i}")
            emu.audience(f"fan{i % 3}").comment(asked, written[-1])
        emu.clock.advance(120)
        first = client.inbox(account, since=cursor)
        assert first.more
        (edge,) = [e for e, a in json.loads(first.cursor or "")["resume"] if a]
        assert edge.endswith(f"/{asked}")
        # Replies come oldest first: the cursor names the newest reply given.
        newest = max(first.messages, key=lambda m: (m.created_at, m.id))
        client.delete_comment(newest, account)
        with caplog.at_level(logging.WARNING, logger="brandkit.platforms._graph"):
            reads, last = follow(client, account, first.cursor)
        assert any("paging cursor" in r.getMessage() for r in caplog.records)
        got = Counter([m.text for m in first.messages] + [t for r in reads for t in r])
        assert got == Counter(written)
        emu.clock.advance(1)
        emu.audience("fan9").comment(asked, "later")
        emu.clock.advance(120)
        reads, _ = follow(client, account, last)
        assert [t for r in reads for t in r] == ["later"]
