"""A "poison" notification: one whose post record brandkit cannot read (records are
written by any app, and other PDS implementations check them loosely) among readable
ones must not stop the account's inbox. The read restarts at its mark, so a held page
would be read, and refused, at every sync. Over the emulator (on 127.0.0.1), through the
inbox store's sync into a real SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest

from brandkit import Client, Inbox, Post
from brandkit.listening import Query
from brandkit.testing.bluesky import BlueskyEmulator
from tests.bluesky._support import FAST, write_deep_reply

LOGGER = "brandkit.platforms.bluesky"


def test_a_reply_whose_record_cannot_be_read_is_skipped_and_the_inbox_goes_on(
    served: BlueskyEmulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A reply whose ``text`` is a number, between two good ones: the good ones are
    stored, the bad one is logged once (its URI and the field, not the value nor the
    session's tokens), and the next syncs store what came after it without reading it
    again."""
    emu = served
    account = emu.account(name="brand")
    with (
        caplog.at_level("WARNING", logger=LOGGER),
        Inbox(tmp_path / "inbox.db") as inbox,
        Client(retry=FAST, accounts=[account]) as client,
    ):
        (d,) = client.publish(Post(text="Tell us"), account)
        said = [emu.audience(f"fan{i}").reply(d.ids[0], f"hello {i}") for i in range(3)]
        bad = said.pop(1)
        with emu.lock:
            emu.records[bad].value["text"] = 982451653
        assert inbox.sync(client, [account]).errors == {}
        stored = {m.id for m in inbox.messages(account=account.key)}
        later = emu.audience("late").reply(d.ids[0], "still there?")
        assert inbox.sync(client, [account]).errors == {}
        again = {m.id for m in inbox.messages(account=account.key)}
        assert inbox.sync(client, [account]).errors == {}
        secrets = [account.secret(k) for k in ("app_password", "access_jwt", "refresh_jwt")]
    assert stored == set(said)
    assert again == {*said, later}
    (record,) = [r for r in caplog.records if r.name == LOGGER]
    text = record.getMessage()
    assert bad in text and "record.text" in text and "cannot be read" in text
    assert "brand" in text and "982451653" not in text
    assert all(s not in text for s in secrets if s)


def test_a_found_post_whose_record_cannot_be_read_is_skipped_and_listening_goes_on(
    served: BlueskyEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    """searchPosts lists other apps' records too: one with a malformed ``facets`` among
    good ones is skipped with a warning (its URI and the field), the others are found, and
    the next search reads past it rather than stopping on it again."""
    emu = served
    account = emu.account(name="brand", handle="brand.test")
    fan = emu.audience("fan")
    posts = []
    for i in range(3):
        posts.append(fan.post(f"kopi {i}", lang="en"))
        emu.clock.advance(1)
    bad = posts.pop(1)
    with emu.lock:
        emu.records[bad].value["facets"] = [982451653]
    query = Query(any=("kopi",))
    with caplog.at_level("WARNING", logger=LOGGER), Client(retry=FAST) as client:
        one = client.search(account, query)
        later = fan.post("kopi later", lang="en")
        two = client.search(account, query, since=one.cursor)
    assert sorted(m.id for m in one.messages) == sorted(posts)
    assert [m.id for m in two.messages] == [later]
    (record,) = [r for r in caplog.records if r.name == LOGGER]
    text = record.getMessage()
    assert bad in text and "record.facets" in text and "982451653" not in text


def test_a_reply_whose_record_nests_past_any_reader_does_not_stop_the_inbox(
    served: BlueskyEmulator, tmp_path: Path
) -> None:
    """A reply whose record has a field nested 900 levels (no JSON reader goes that deep;
    the PDS stores it): its page is read, with what lies too deep as null, and it is
    stored with the good replies around it, sync after sync."""
    emu = served
    account = emu.account(name="brand")
    with (
        Inbox(tmp_path / "inbox.db") as inbox,
        Client(retry=FAST, accounts=[account]) as client,
    ):
        (d,) = client.publish(Post(text="Tell us"), account)
        top = f"at://{emu.user('brand.test').did}/app.bsky.feed.post/{d.ids[0]}"
        first = emu.audience("fan1").reply(d.ids[0], "before")
        deep = write_deep_reply(emu, top, 900)
        last = emu.audience("fan2").reply(d.ids[0], "after")
        assert inbox.sync(client, [account]).errors == {}
        later = emu.audience("fan3").reply(d.ids[0], "later")
        assert inbox.sync(client, [account]).errors == {}
        stored = {m.id: m.text for m in inbox.messages(account=account.key)}
    assert stored == {first: "before", deep: "deep", last: "after", later: "later"}
