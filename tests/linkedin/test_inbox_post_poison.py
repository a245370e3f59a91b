"""A "poison" post: one element of the page's post list (``GET /rest/posts?q=author``, which
the inbox reads to find the posts whose comments it reads) that brandkit cannot read must
cost that post only, not the account's whole inbox; and its comments must still come once
it reads again. Over the emulator (on 127.0.0.1); the inbox store's syncs write a real
SQLite file."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from brandkit import Post
from tests.linkedin.conftest import served_inbox

LOGGER = "brandkit.platforms.linkedin"


def test_a_post_that_cannot_be_read_is_skipped_and_its_comments_come_later(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Three posts with a comment each are synced; then the middle post's
    ``lifecycleState`` comes as a number while a comment is made on each post. The sync
    succeeds, stores the other two posts' new comments and logs the bad post once a sync
    (its URN and the field, not the value nor the token). Once the post reads again, its
    comment made meanwhile comes, and the one read before does not come again."""
    with (
        caplog.at_level("WARNING", logger=LOGGER),
        served_inbox(tmp_path) as (emu, client, inbox, account),
    ):
        posts = []
        for i in range(3):
            emu.clock.advance(timedelta(seconds=1))
            (d,) = client.publish(Post(text=f"launch {i}"), account)
            posts.append(d.ids[0])
        first = [emu.audience(f"fan{i}").comment(p, "hello") for i, p in enumerate(posts)]
        assert inbox.sync(client, [account]).errors == {}
        assert {m.id for m in inbox.messages()} == set(first)

        bad = posts[1]
        with emu.lock:
            emu._posts[bad].lifecycle_state = 982451653  # type: ignore[assignment]
        emu.clock.advance(timedelta(seconds=1))
        second = [emu.audience(f"late{i}").comment(p, "still?") for i, p in enumerate(posts)]
        assert inbox.sync(client, [account]).errors == {}
        meanwhile = {m.id for m in inbox.messages()}
        token = account.secret("token")

        with emu.lock:
            emu._posts[bad].lifecycle_state = "PUBLISHED"
        page = client.inbox(account, inbox.cursor(account))
        assert inbox.sync(client, [account]).errors == {}
        after = {m.id for m in inbox.messages()}
    assert meanwhile == {*first, second[0], second[2]}
    # Read again, the post gives the comment made while it was skipped, and that one only.
    assert [m.id for m in page.messages] == [second[1]]
    assert after == {*first, *second}
    (record,) = [r for r in caplog.records if r.name == LOGGER]
    text = record.getMessage()
    assert bad in text and "lifecycleState" in text and "cannot be read" in text
    assert account.key in text and "982451653" not in text
    assert token and token not in text


def test_a_post_whose_urn_cannot_be_read_keeps_what_was_seen_of_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A post read before comes with an ``id`` that is a number (no URN to keep its
    cursor by): the sync succeeds with the other post, logs the bad one, and keeps what it
    saw of the posts it no longer finds. Once the post reads again, only the comment made
    meanwhile comes, not those read before."""
    with (
        caplog.at_level("WARNING", logger=LOGGER),
        served_inbox(tmp_path) as (emu, client, inbox, account),
    ):
        (good,) = client.publish(Post(text="launch"), account)
        emu.clock.advance(timedelta(seconds=1))
        (odd,) = client.publish(Post(text="and again"), account)
        bad = odd.ids[0]
        before = [emu.audience(f"fan{i}").comment(bad, f"hello {i}") for i in range(2)]
        assert inbox.sync(client, [account]).errors == {}

        with emu.lock:
            emu._posts[bad].urn = 982451653  # type: ignore[assignment]
        emu.clock.advance(timedelta(seconds=1))
        later = emu.audience("late").comment(bad, "still?")
        beside = emu.audience("other").comment(good.ids[0], "and here?")
        assert inbox.sync(client, [account]).errors == {}
        meanwhile = {m.id for m in inbox.messages()}

        with emu.lock:
            emu._posts[bad].urn = bad
        page = client.inbox(account, inbox.cursor(account))
    assert meanwhile == {*before, beside}
    assert [m.id for m in page.messages] == [later]
    (record,) = [r for r in caplog.records if r.name == LOGGER]
    text = record.getMessage()
    assert "post 982451653 cannot be read (id:" in text and account.key in text


def test_a_post_field_the_inbox_does_not_use_costs_nothing(tmp_path: Path) -> None:
    """A post whose ``commentary`` comes as a number: the inbox reads only a post's URN
    and state, so its comments come, with no warning."""
    with served_inbox(tmp_path) as (emu, client, inbox, account):
        (d,) = client.publish(Post(text="launch"), account)
        said = emu.audience("fan").comment(d.ids[0], "hello")
        with emu.lock:
            emu._posts[d.ids[0]].commentary = 982451653  # type: ignore[assignment]
        assert inbox.sync(client, [account]).errors == {}
        assert [m.id for m in inbox.messages()] == [said]


@pytest.mark.parametrize(
    ("field", "value"),
    [("lifecycle_state", 982451653), ("urn", 982451653)],
    ids=["state", "urn"],
)
def test_a_post_that_stays_unreadable_is_logged_once_not_at_every_sync(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, field: str, value: object
) -> None:
    """A post of the posts request that stays unreadable (its state, or its URN, a
    number) was logged at every sync for as long as it was among the recent posts: a
    WARNING every few minutes for weeks. The cursor keeps it as met (its URN, else a
    digest), so it is logged once; the other post's comments still come, and once it
    reads, the comment made on it meanwhile comes."""
    with (
        caplog.at_level("WARNING", logger=LOGGER),
        served_inbox(tmp_path) as (emu, client, inbox, account),
    ):
        (good,) = client.publish(Post(text="launch"), account)
        emu.clock.advance(timedelta(seconds=1))
        (odd,) = client.publish(Post(text="and again"), account)
        bad = odd.ids[0]
        first = emu.audience("fan").comment(bad, "hello")
        assert inbox.sync(client, [account]).errors == {}

        with emu.lock:
            setattr(emu._posts[bad], field, value)
        beside = []
        for i in range(3):
            emu.clock.advance(timedelta(seconds=1))
            beside.append(emu.audience(f"other{i}").comment(good.ids[0], f"and here {i}?"))
            assert inbox.sync(client, [account]).errors == {}
        later = emu.audience("late").comment(bad, "still?")
        meanwhile = {m.id for m in inbox.messages()}

        with emu.lock:
            setattr(emu._posts[bad], field, bad if field == "urn" else "PUBLISHED")
        assert inbox.sync(client, [account]).errors == {}
        after = {m.id for m in inbox.messages()}
    assert meanwhile == {first, *beside}
    assert after == {first, *beside, later}
    records = [r for r in caplog.records if r.name == LOGGER]
    assert len(records) == 1, [r.getMessage() for r in records]
    assert "cannot be read" in records[0].getMessage()
