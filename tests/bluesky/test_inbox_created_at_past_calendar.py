"""A reply whose ``createdAt`` (written by the author's app, any text) no UTC datetime
holds is read like one whose ``createdAt`` is not a time: at the time the AppView
indexed it; a notification whose ``indexedAt`` no UTC datetime holds is skipped as
unreadable, as one whose ``indexedAt`` is not a time is."""

from __future__ import annotations

from datetime import datetime

import httpx
import pytest

from brandkit import Client, Post
from brandkit.testing.bluesky import BlueskyEmulator
from tests.bluesky._support import FAST

NOTIFICATIONS = "app.bsky.notification.listNotifications"


def test_a_created_at_past_year_9999_in_utc_reads_as_the_indexed_time(
    served: BlueskyEmulator,
) -> None:
    """``9999-12-31T23:59:59-01:00`` is past year 9999 once written in UTC: the read used
    to end in an ``OverflowError`` while the message wrote it in UTC."""
    emu = served
    account = emu.account(name="brand")
    with Client(retry=FAST, accounts=[account]) as client:
        (d,) = client.publish(Post(text="Tell us"), account)
        odd = emu.audience("fan").reply(d.ids[0], "my clock is odd")
        fine = emu.audience("fan2").reply(d.ids[0], "mine is fine")
        with emu.lock:
            emu.records[odd].value["createdAt"] = "9999-12-31T23:59:59-01:00"
        got = {m.id: m for m in client.inbox(account).messages}
    assert set(got) == {odd, fine}
    indexed = datetime.fromisoformat(got[odd].extra["indexed_at"].replace("Z", "+00:00"))
    assert got[odd].created_at == indexed
    assert got[odd].text == "my clock is odd"


def test_an_indexed_at_past_year_9999_in_utc_is_skipped_as_unreadable(
    served: BlueskyEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    """``indexedAt`` is the AppView's own time, which places a notification in the list:
    one past year 9999 in UTC is no time (not an OverflowError), so the notification is
    skipped with a warning, as one that is not a time is, and the other one is read."""
    emu = served
    account = emu.account(name="brand")
    with Client(retry=FAST, accounts=[account]) as client:
        (d,) = client.publish(Post(text="Tell us"), account)
        odd = emu.audience("fan").reply(d.ids[0], "hello")
        fine = emu.audience("fan2").reply(d.ids[0], "hi")
        assert len(client.inbox(account).messages) == 2
        (read,) = [r for r in emu.requests if r.url.path.endswith(NOTIFICATIONS)]
        body = httpx.get(str(read.url), headers=read.headers).json()
        (item,) = [n for n in body["notifications"] if n["uri"] == odd]
        item["indexedAt"] = "9999-12-31T23:59:59-01:00"
        emu.fault(method="GET", path=f"/xrpc/{NOTIFICATIONS}", status=200, body=body)
        with caplog.at_level("WARNING", logger="brandkit.platforms.bluesky"):
            assert [m.id for m in client.inbox(account).messages] == [fine]
    (warned,) = [r.getMessage() for r in caplog.records if r.name == "brandkit.platforms.bluesky"]
    assert odd in warned and "indexedAt" in warned
