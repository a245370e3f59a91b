"""A "poison" comment: one brandkit cannot read among readable ones must not stop the
organization's inbox. Every sync reads a watched post's comments again, so a held page
would be refused at every sync. Over the emulator (on 127.0.0.1), through the inbox store's
sync into a real SQLite file."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from brandkit import Post
from tests.linkedin.conftest import served_inbox

LOGGER = "brandkit.platforms.linkedin"
MENTIONS = "brandkit.platforms._linkedin_mentions"


def test_a_comment_that_cannot_be_read_is_skipped_and_logged_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The newest of three comments has a ``message.text`` that is a number: the two good
    ones are stored, the bad one is logged once (its URN and the field, not the value nor
    the token), and later syncs store what came after it without logging it again."""
    with (
        caplog.at_level("WARNING", logger=LOGGER),
        served_inbox(tmp_path) as (emu, client, inbox, account),
    ):
        (d,) = client.publish(Post(text="launch"), account)
        said = []
        for i in range(3):
            emu.clock.advance(timedelta(seconds=1))
            said.append(emu.audience(f"fan{i}").comment(d.ids[0], f"hello {i}"))
        bad = said.pop()
        with emu.lock:
            emu._comments[bad].text = 982451653  # type: ignore[assignment]
        assert inbox.sync(client, [account]).errors == {}
        stored = {m.id for m in inbox.messages()}
        emu.clock.advance(timedelta(seconds=1))
        later = emu.audience("late").comment(d.ids[0], "still there?")
        assert inbox.sync(client, [account]).errors == {}
        again = {m.id for m in inbox.messages()}
        assert inbox.sync(client, [account]).errors == {}
        token = account.secret("token")
    assert stored == set(said)
    assert again == {*said, later}
    (record,) = [r for r in caplog.records if r.name == LOGGER]
    text = record.getMessage()
    assert bad in text and "message.text" in text and "cannot be read" in text
    assert account.key in text and "982451653" not in text
    assert token and token not in text


def test_a_mention_that_cannot_be_read_is_skipped_and_logged_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A notification whose decorated post's ``text`` is a number, between two good
    mentions: the good ones are stored, the bad one is logged once (its notification id and
    the field, not the value nor the token), and later syncs store what came after it
    without logging it again."""
    with (
        caplog.at_level("WARNING", logger=MENTIONS),
        served_inbox(tmp_path) as (emu, client, inbox, account),
    ):
        said = []
        for i in range(3):
            emu.clock.advance(timedelta(seconds=1))
            said.append(emu.audience(f"caller{i}").mention(f"love it #{i}"))
        bad = said.pop(1)
        with emu.lock:
            held = emu._mentions[bad]
            held.commentary = 982451653  # type: ignore[assignment]
        assert inbox.sync(client, [account]).errors == {}
        stored = {m.id for m in inbox.messages()}
        emu.clock.advance(timedelta(seconds=1))
        later = emu.audience("late").mention("still there?")
        assert inbox.sync(client, [account]).errors == {}
        again = {m.id for m in inbox.messages()}
        assert inbox.sync(client, [account]).errors == {}
        token = account.secret("token")
    assert stored == set(said)
    assert again == {*said, later}
    (record,) = [r for r in caplog.records if r.name == MENTIONS]
    text = record.getMessage()
    assert str(held.notification_id) in text and "cannot be read" in text
    assert "decoratedGeneratedActivity.share.text" in text
    assert account.key in text and "982451653" not in text
    assert token and token not in text


def test_a_comment_without_a_readable_time_is_logged_once_and_comes_once_it_reads(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A comment whose ``created`` time no date holds (so nothing places it for the
    cursor's time mark) is logged at the first sync only, not at each of the next; once
    it reads, it comes once, although it is older than the comments the cursor saw."""
    with (
        caplog.at_level("WARNING", logger=LOGGER),
        served_inbox(tmp_path) as (emu, client, inbox, account),
    ):
        (d,) = client.publish(Post(text="launch"), account)
        emu.clock.advance(timedelta(seconds=1))
        bad = emu.audience("fan").comment(d.ids[0], "hello")
        emu.clock.advance(timedelta(seconds=1))
        good = emu.audience("fan2").comment(d.ids[0], "hi")
        with emu.lock:
            made = emu._comments[bad].created_at
            emu._comments[bad].created_at = 1e20  # 1e23 ms: past any date
        for _ in range(3):
            assert inbox.sync(client, [account]).errors == {}
        stored = {m.id for m in inbox.messages()}
        warned = [r.getMessage() for r in caplog.records if r.name == LOGGER]

        with emu.lock:
            emu._comments[bad].created_at = made
        page = client.inbox(account, inbox.cursor(account))
        for _ in range(2):
            assert inbox.sync(client, [account]).errors == {}
        after = [m.id for m in inbox.messages()]
        again = client.inbox(account, inbox.cursor(account))
    assert stored == {good}
    (text,) = warned
    assert bad in text and "created.time" in text and "cannot be read" in text
    assert [m.id for m in page.messages] == [bad]
    assert sorted(after) == sorted([good, bad])
    assert list(again.messages) == []


def test_a_comment_without_a_readable_time_or_urn_is_logged_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A comment with neither a readable time nor a URN (``commentUrn`` a number): still
    logged once over three syncs, and the readable comment beside it stored."""
    with (
        caplog.at_level("WARNING", logger=LOGGER),
        served_inbox(tmp_path) as (emu, client, inbox, account),
    ):
        (d,) = client.publish(Post(text="launch"), account)
        bad = emu.audience("fan").comment(d.ids[0], "hello")
        good = emu.audience("fan2").comment(d.ids[0], "hi")
        with emu.lock:
            emu._comments[bad].created_at = 1e20
            emu._comments[bad].urn = 982451653  # type: ignore[assignment]
        for _ in range(3):
            assert inbox.sync(client, [account]).errors == {}
        stored = {m.id for m in inbox.messages()}
    assert stored == {good}
    (record,) = [r for r in caplog.records if r.name == LOGGER]
    assert "created.time" in record.getMessage()


def test_a_comment_without_a_urn_liked_between_syncs_is_still_logged_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Such a comment was known by a digest of its whole JSON, so each like it got (its
    ``likesSummary``) made it a comment never met and logged it again at every sync: it is
    known by what names it (its ``id``, actor, object and creation), which a like leaves."""
    with (
        caplog.at_level("WARNING", logger=LOGGER),
        served_inbox(tmp_path) as (emu, client, inbox, account),
    ):
        (d,) = client.publish(Post(text="launch"), account)
        bad = emu.audience("fan").comment(d.ids[0], "hello")
        good = emu.audience("fan2").comment(d.ids[0], "hi")
        with emu.lock:
            emu._comments[bad].created_at = 1e20
            emu._comments[bad].urn = 982451653  # type: ignore[assignment]
        for i in range(3):
            with emu.lock:
                emu._reactions[(f"urn:li:person:liker{i}", 982451653)] = "LIKE"  # type: ignore[index]
            assert inbox.sync(client, [account]).errors == {}
        stored = {m.id for m in inbox.messages()}
    assert stored == {good}
    (record,) = [r for r in caplog.records if r.name == LOGGER]
    assert "created.time" in record.getMessage()
