"""``app.bsky.notification.listNotifications`` with ``reasons`` on the Bluesky emulator, as
the AppView answers it (bluesky-social/atproto @ d6296a1c,
packages/bsky/src/api/app/bsky/notification/listNotifications.ts): each fetch reads one
unfiltered page of the dataplane (``paginateNotifications``), drops the other reasons, and
keeps the dataplane's cursor; ``fillPage`` (packages/bsky/src/api/util.ts) fetches again, for
what is still missing, at most 10 times. So a page can hold fewer than ``limit`` items, or
none, while its cursor says more follow. Read through atproto (a real client) and through
brandkit's inbox, with an audience that likes and reposts."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

import pytest

from brandkit import Client, Post
from brandkit.testing.bluesky import BlueskyEmulator
from tests.bluesky._support import FAST

atproto = pytest.importorskip("atproto")
request = importlib.import_module("atproto_client.request")

LIKE = "app.bsky.feed.like"
REPOST = "app.bsky.feed.repost"


@pytest.fixture
def site() -> Iterator[tuple[BlueskyEmulator, Any]]:
    """The served emulator and the brand's logged-in atproto client."""
    emu = BlueskyEmulator(engagement_per_hour=0, followers_per_hour=0)
    with emu.serve() as url:
        account = emu.account(handle="brand.test")
        transport = request.Request(timeout=5, trust_env=False, verify=False)
        client = atproto.Client(base_url=url, request=transport)
        client.login("brand.test", account.secret("app_password"))
        try:
            yield emu, client
        finally:
            transport.close()


def notifications(client: Any, **params: Any) -> Any:
    return client.app.bsky.notification.list_notifications({"priority": False, **params})


def test_the_audience_likes_and_reposts_and_the_brand_is_notified(
    site: tuple[BlueskyEmulator, Any],
) -> None:
    """A like and a repost are records in the fan's repository; the brand gets a ``like``
    and a ``repost`` notification whose ``reasonSubject`` is the post (indexer: like.ts,
    repost.ts ``notifsForInsert``); liking twice replaces the like; none for oneself."""
    emu, client = site
    post = client.send_post("hello")
    fan = emu.audience("fan")
    liked = fan.like(post.uri)
    assert fan.like(post.uri) != liked  # the PDS replaces a second like of one subject
    reposted = fan.repost(post.uri)
    client.like(post.uri, post.cid)  # the brand's own like notifies no one

    got = notifications(client).notifications
    assert [(n.reason, n.reason_subject, n.author.handle) for n in got] == [
        ("repost", post.uri, "fan.test"),
        ("like", post.uri, "fan.test"),
    ]
    assert got[0].uri == reposted and got[0].record.py_type == REPOST
    assert got[1].record.subject.uri == post.uri
    counts = client.get_posts([post.uri]).posts[0]
    assert (counts.like_count, counts.repost_count) == (2, 1)


def test_a_page_is_filled_by_at_most_ten_fetches_then_ends_short_with_a_cursor(
    site: tuple[BlueskyEmulator, Any],
) -> None:
    """30 likes above one mention, ``limit=2``: ten fetches read 20 likes, so the page is
    empty and its cursor is the 20th like's time; the next page finds the mention and ends."""
    emu, client = site
    post = client.send_post("hello")
    emu.audience("asker").mention("an old question")
    for i in range(30):
        emu.audience(f"fan{i}").like(post.uri)
    every = notifications(client, limit=100).notifications
    assert [n.reason for n in every] == ["like"] * 30 + ["mention"]

    first = notifications(client, reasons=["mention"], limit=2)
    assert first.notifications == []
    assert first.cursor == every[19].indexed_at

    second = notifications(client, reasons=["mention"], limit=2, cursor=first.cursor)
    assert [n.reason for n in second.notifications] == ["mention"]
    assert second.cursor is None
    # No seen time is kept: a page read from a cursor counts everything read (views:
    # ``isRead: lastSeenAt ? lastSeenAt > indexedAt : true``).
    assert second.notifications[0].is_read


def test_the_cursor_is_the_last_unfiltered_notification_read(
    site: tuple[BlueskyEmulator, Any],
) -> None:
    """Mentions between likes, ``limit=3``: fetches of 3, 2, 1, 1 fill the page with three
    mentions, and its cursor is the third one's time, since an older like follows."""
    emu, client = site
    post = client.send_post("hello")
    emu.audience("early").like(post.uri)
    emu.audience("fan").mention("m1")
    for i in range(2):
        emu.audience(f"a{i}").like(post.uri)
    emu.audience("fan").mention("m2")
    for i in range(2):
        emu.audience(f"b{i}").repost(post.uri)
    emu.audience("fan").mention("m3")

    page = notifications(client, reasons=["mention"], limit=3)
    texts = [n.record.text for n in page.notifications]
    assert texts == ["@brand.test m3", "@brand.test m2", "@brand.test m1"]
    assert page.cursor == page.notifications[-1].indexed_at
    rest = notifications(client, reasons=["mention"], limit=3, cursor=page.cursor)
    assert (rest.notifications, rest.cursor) == ([], None)


def test_brandkit_reads_every_message_among_likes_and_reposts_in_bounded_requests(
    site: tuple[BlueskyEmulator, Any],
) -> None:
    """Most notifications are likes and reposts, which the inbox does not ask for: reads of
    ``limit=2`` get short and empty pages with cursors, each read stays within ``limit`` + 1
    requests, and the reads that follow ``more`` find every reply and mention once."""
    emu, _ = site
    account = emu.account(handle="brand.test")
    with Client(retry=FAST, accounts=[account]) as bk:
        (d,) = bk.publish(Post(text="Tell us"), account)
        post = d.parts[0].uri
        assert post is not None
        wanted = [emu.audience("asker").mention("an early question")]
        for i in range(60):
            fan = emu.audience(f"fan{i}")
            fan.like(post)
            if i % 2:
                fan.repost(post)
            if i % 25 == 24:
                wanted.append(fan.reply(post, f"reply {i}"))
        wanted.append(emu.audience("late").mention("a late question"))

        got: list[str] = []
        cursor: str | None = None
        reads = 0
        while True:
            page = bk.inbox(account, since=cursor, limit=2)
            reads += 1
            assert page.requests <= 3
            got += [m.id for m in page.messages]
            cursor = page.cursor
            if not page.more:
                break
            assert reads < 50
        assert sorted(got) == sorted(wanted)
        again = bk.inbox(account, since=cursor, limit=2)
        # A page of ``limit`` at the top, then one whole page looking below the mark for
        # posts listed late (one request in all from ``limit`` 100 on).
        assert again.messages == () and not again.more and again.requests == 2
        assert bk.inbox(account, since=again.cursor).requests == 1
