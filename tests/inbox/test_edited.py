"""A message its author edits after the inbox stored it: the next read that sees the edit
brings the stored text up to date (the team reads what the customer says now), keeps the
team's work on it, and counts it as updated, not added. Against the Mastodon emulator on
127.0.0.1, on an SQLite file and (conftest's BOTH_BACKENDS) on PostgreSQL."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs
import pytest

from brandkit import Account, Author, Client, Inbox, Message, Post
from brandkit.errors import ConfigurationError
from brandkit.inbox import MessageStatus
from brandkit.testing.mastodon import MastodonEmulator
from tests.mastodon.conftest import FAST


@pytest.fixture
def emu() -> Iterator[MastodonEmulator]:
    emu = MastodonEmulator()
    with emu.serve():
        yield emu


@pytest.fixture
def account(emu: MastodonEmulator) -> Account:
    return emu.account(username="acme")


def test_a_sync_reads_an_edit_of_a_stored_message_and_keeps_the_teams_work(
    emu: MastodonEmulator, account: Account, tmp_path: Path
) -> None:
    """The brand boosted a reply (Mastodon notifies edits to boosters only); its author edits
    it after the team answered: the stored text becomes the edited one, its status, assignee
    and answer time stay; syncing again changes nothing and counts nothing."""
    inbox = Inbox(tmp_path / "i.db")
    with Client(retry=FAST, accounts=[account]) as client:
        (d,) = client.publish(Post(text="Our autumn collection is out!"), account)
        said = emu.audience("ana").reply(d.ids[0], "Love the green coat!")
        emu.audience("acme").reblog(said)  # the brand shares the praise
        first = inbox.sync(client, [account])
        assert (first.added, first.updated) == (1, 0)
        (message,) = inbox.unanswered()
        assert message.text == "@acme Love the green coat!" and message.edited_at is None
        inbox.assign(message, to="ben@agency.example")
        inbox.reply(client, message, Post(text="Thank you, Ana!"))
        before = inbox.response_times()

        emu.audience("ana").edit(said, "Love the green coat! ...but its zip broke in a week")
        edited = inbox.sync(client, [account])
        stored = inbox.get(message.key)
        assert stored is not None
        assert stored.text == "@acme Love the green coat! ...but its zip broke in a week"
        assert (edited.added, edited.updated) == (0, 1)
        assert edited.accounts[0].updated == 1
        assert stored.edited_at is not None and stored.edited_at > stored.created_at
        assert (stored.kind, stored.our_post) == ("reply", d.ids[0])
        assert inbox.status(message) is MessageStatus.REPLIED
        assert inbox.messages(assignee="ben@agency.example") == [stored]
        assert inbox.response_times() == before

        again = inbox.sync(client, [account])
        assert (again.added, again.updated) == (0, 0)
    inbox.close()


def test_an_older_reading_never_replaces_a_later_edit(
    emu: MastodonEmulator, account: Account, tmp_path: Path
) -> None:
    """The replies of a post (which Mastodon serves as they are now) bring an edit no
    notification told of; the first reading, or an edit older than the stored one, added
    afterwards (a slow process, a replayed page), changes nothing."""
    inbox = Inbox(tmp_path / "i.db")
    with Client(retry=FAST, accounts=[account]) as client:
        (d,) = client.publish(Post(text="Tell us about your order"), account)
        said = emu.audience("cara").reply(d.ids[0], "It came today")
        inbox.sync(client, [account])
        (original,) = inbox.messages()
        inbox.mark(original, "seen")
        emu.audience("cara").edit(said, "It came today, and it's still broken")
        quiet = inbox.sync(client, [account])  # no notification for an edit: nothing new
        assert quiet.added == 0
        assert inbox.add(client.replies(d)) == 0
        (now,) = inbox.messages()
        assert now.text == "@acme It came today, and it's still broken"
        assert quiet.updated == 0
        assert now.edited_at is not None
        assert inbox.status(now) is MessageStatus.SEEN

        older = attrs.evolve(now, text="stale edit", edited_at=now.edited_at - timedelta(seconds=1))
        assert inbox.add([original, older, now]) == 0
        assert [m.text for m in inbox.messages()] == [now.text]

        # Read again from the start (forget_cursor): the same edit, stored already.
        inbox.forget_cursor(account)
        replay = inbox.sync(client, [account])
        assert (replay.added, replay.updated) == (0, 0)
        assert inbox.messages() == [now]
    inbox.close()


def test_a_found_post_never_replaces_the_audiences_message(tmp_path: Path) -> None:
    """A later edit read by listening (kind ``found``) leaves the audience's message it is
    as the inbox read it: its kind and the team's view stay."""
    inbox = Inbox(tmp_path / "i.db")
    t0 = datetime(2026, 12, 1, 9, tzinfo=UTC)
    reply = Message(
        platform="mastodon",
        account="mastodon:acme",
        id="7",
        kind="reply",
        author=Author(id="u1", handle="ana"),
        text="first",
        created_at=t0,
    )
    inbox.add([reply])
    found = attrs.evolve(reply, kind="found", text="edited", edited_at=t0 + timedelta(hours=1))
    assert inbox.add([found]) == 0
    assert inbox.messages() == [reply]
    edited = attrs.evolve(reply, text="edited", edited_at=t0 + timedelta(hours=1))
    assert inbox.add([edited]) == 0
    assert inbox.messages() == [edited]
    inbox.close()


def test_an_inbox_file_from_before_edit_times_is_upgraded_and_updated(tmp_path: Path) -> None:
    """A file written before brandkit kept edit times gets the column on opening; its
    messages read as never edited, and a later edit replaces their text."""
    path = tmp_path / "old.db"
    t0 = datetime(2026, 12, 1, 9, tzinfo=UTC)
    old = Message(
        platform="mastodon",
        account="mastodon:acme",
        id="7",
        kind="mention",
        author=Author(id="u1", handle="ana"),
        text="where is my order?",
        created_at=t0,
    )
    data = old.to_dict()
    del data["edited_at"]  # as an earlier brandkit wrote it
    with sqlite3.connect(path) as db:
        db.executescript(
            "CREATE TABLE inbox_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
            "INSERT INTO inbox_meta VALUES ('schema_version', '1');"
            "CREATE TABLE inbox_messages (key TEXT PRIMARY KEY, platform TEXT NOT NULL, "
            "account TEXT NOT NULL, id TEXT NOT NULL, kind TEXT NOT NULL, author TEXT NOT "
            "NULL, created_at INTEGER NOT NULL, fetched_at INTEGER NOT NULL, status TEXT NOT "
            "NULL DEFAULT 'new', assignee TEXT, our_post TEXT, conversation TEXT, replied_at "
            "INTEGER, reply_delivery TEXT, data TEXT NOT NULL);"
        )
        db.execute(
            "INSERT INTO inbox_messages (key, platform, account, id, kind, author, created_at, "
            "fetched_at, status, data) VALUES (?, 'mastodon', 'mastodon:acme', '7', "
            "'mention', 'ana', 0, 0, 'seen', ?)",
            (old.key, json.dumps(data)),
        )
    with Inbox(path) as inbox:
        assert inbox.messages() == [old]
        edited = attrs.evolve(old, text="where is my order? it's been 3 weeks", edited_at=t0)
        assert inbox.add([edited]) == 0
        assert inbox.messages() == [edited]
        assert inbox.status(old) is MessageStatus.SEEN


def test_edited_at_round_trips_and_must_be_aware() -> None:
    t0 = datetime(2026, 12, 1, 9, tzinfo=UTC)
    message = Message(
        platform="x",
        account="x:acme",
        id="1",
        kind="mention",
        author=Author(id="u1"),
        text="hi",
        created_at=t0,
        edited_at=t0 + timedelta(minutes=5),
    )
    assert Message.from_dict(json.loads(message.to_json())) == message
    assert Message.from_dict(message.to_dict()).edited_at == t0 + timedelta(minutes=5)
    with pytest.raises(ConfigurationError, match="edited_at"):
        attrs.evolve(message, edited_at=datetime(2026, 12, 1, 9))
