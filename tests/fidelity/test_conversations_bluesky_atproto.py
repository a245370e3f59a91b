"""The atproto SDK reading and moderating the conversation an audience made on the Bluesky
emulator, over a real socket, exactly as a brand's tool does: notifications paged by cursor,
a post's thread, hiding replies with a threadgate's ``hiddenReplies``, and likes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from brandkit.testing.bluesky import BlueskyEmulator
from tests.fidelity.test_bluesky_atproto import Connect, connect, login

atproto = pytest.importorskip("atproto")
models = atproto.models

__all__ = ["connect"]  # the fixture, used by name

pytestmark = pytest.mark.filterwarnings(
    "ignore:Use 'content=<...>' to upload raw bytes:DeprecationWarning"
)


@pytest.fixture
def served() -> Iterator[tuple[BlueskyEmulator, str]]:
    """The emulator on a socket, no engagement but the audience's."""
    emu = BlueskyEmulator(engagement_per_hour=0, followers_per_hour=0)
    with emu.serve() as url:
        yield emu, url


def test_notifications_page_by_cursor(
    served: tuple[BlueskyEmulator, str], connect: Connect
) -> None:
    """Replies, a mention, a quote and a like by the audience: ``list_notifications`` pages
    them newest first by cursor, each once, with the reasons and the subject; ``reasons``
    narrows the read to conversations (likes left out)."""
    emu, url = served
    client = login(emu, url, connect)
    post = client.send_post("What should we make next?")
    fan, other = emu.audience("fan1"), emu.audience("fan2")
    made = [fan.reply(post.uri, f"idea {i}") for i in range(5)]
    made.append(other.mention("are you open on Sundays?"))
    made.append(other.quote(post.uri, "this!"))
    fan.like(post.uri)

    notes = client.app.bsky.notification.list_notifications
    seen: list[str] = []
    reasons: list[str] = []
    cursor = None
    for _ in range(10):
        page = notes(
            params={"limit": 3, "cursor": cursor, "reasons": ["reply", "mention", "quote"]}
        )
        seen.extend(n.uri for n in page.notifications)
        reasons.extend(n.reason for n in page.notifications)
        cursor = page.cursor
        if cursor is None:
            break
    assert seen == made[::-1]
    assert reasons == ["quote", "mention"] + ["reply"] * 5
    everything = notes(params={"limit": 50})
    like = everything.notifications[0]
    assert (like.reason, like.reason_subject, like.author.handle) == ("like", post.uri, "fan1.test")
    reply = everything.notifications[-1]
    assert reply.record.reply.parent.uri == post.uri and reply.record.text == "idea 0"
    assert reply.author.handle == "fan1.test" and reply.indexed_at


def test_thread_threadgate_hides_and_like(
    served: tuple[BlueskyEmulator, str], connect: Connect
) -> None:
    """``get_post_thread`` shows the audience's replies; a threadgate created with
    ``hiddenReplies`` (record key: the root's) comes beside the thread and in the root's
    post view, and the hidden reply leaves the brand's notifications; ``put_record`` adds a second; ``like`` likes a reply,
    its count and the viewer state's ``like`` (the like record's URI) show it, and
    ``unlike`` of that URI takes it back."""
    emu, url = served
    client = login(emu, url, connect)
    post = client.send_post("Launch day")
    rude = emu.audience("troll").reply(post.uri, "meh")
    kind = emu.audience("fan1").reply(post.uri, "Congrats!")
    also = emu.audience("fan2").reply(kind, "Same here")

    thread = client.get_post_thread(post.uri).thread
    assert {r.post.uri for r in thread.replies} == {rude, kind}
    (branch,) = [r for r in thread.replies if r.post.uri == kind]
    assert [r.post.uri for r in branch.replies] == [also]

    rkey = post.uri.rsplit("/", 1)[1]
    gate = client.app.bsky.feed.threadgate.create(
        client.me.did,
        models.AppBskyFeedThreadgate.Record(
            post=post.uri, created_at=client.get_current_time_iso(), hidden_replies=[rude]
        ),
        rkey=rkey,
    )
    assert gate.uri.endswith(f"/app.bsky.feed.threadgate/{rkey}")
    assert emu.is_hidden(rude) and not emu.is_hidden(kind)
    gated = client.get_post_thread(post.uri)
    assert gated.threadgate.uri == gate.uri
    assert gated.threadgate.record.hidden_replies == [rude]
    # The root's own view carries its threadgate (a tool reads the hidden list there before
    # adding to it); replies' views do not.
    assert gated.thread.post.threadgate.uri == gate.uri
    (root_view,) = client.get_posts([post.uri]).posts
    assert root_view.threadgate.record.hidden_replies == [rude]
    assert all(r.post.threadgate is None for r in gated.thread.replies)
    listed = client.app.bsky.notification.list_notifications(params={"reasons": ["reply"]})
    assert rude not in {n.uri for n in listed.notifications}

    client.com.atproto.repo.put_record(
        models.ComAtprotoRepoPutRecord.Data(
            repo=client.me.did,
            collection="app.bsky.feed.threadgate",
            rkey=rkey,
            record=models.AppBskyFeedThreadgate.Record(
                post=post.uri,
                created_at=client.get_current_time_iso(),
                hidden_replies=[rude, also],
            ),
        )
    )
    assert emu.is_hidden(also)
    assert client.get_post_thread(post.uri).threadgate.record.hidden_replies == [rude, also]

    reply = client.get_posts([kind]).posts[0]
    liked = client.like(reply.uri, reply.cid)
    assert liked.uri.startswith(f"at://{client.me.did}/app.bsky.feed.like/")
    after = client.get_posts([kind]).posts[0]
    assert after.like_count == 1 and after.viewer.like == liked.uri
    (in_thread,) = [
        r for r in client.get_post_thread(post.uri).thread.replies if r.post.uri == kind
    ]
    assert in_thread.post.viewer.like == liked.uri
    # A tool undoes the like by the URI the viewer state names, as Bluesky's apps do.
    assert client.unlike(after.viewer.like) is True
    undone = client.get_posts([kind]).posts[0]
    assert undone.like_count == 0 and undone.viewer.like is None


def test_unread_notifications_are_marked_seen(
    served: tuple[BlueskyEmulator, str], connect: Connect
) -> None:
    """The atproto SDK's notification loop: read the unread count, list, handle those not
    ``is_read``, then ``update_seen`` with the time taken before the read; afterwards the
    count is 0, every notification is read and ``seen_at`` says when, and only what came
    later is unread."""
    emu, url = served
    # All that follows was written a minute before the client reads the time it marks seen
    # (its own clock, as the SDK's example takes it), so that no index time can tie with it.
    emu.clock.advance(-60)
    client = login(emu, url, connect)
    post = client.send_post("Ask us anything")
    fan = emu.audience("fan1")
    first = [fan.reply(post.uri, f"question {i}") for i in range(3)]
    notes = client.app.bsky.notification
    assert notes.get_unread_count().count == 3

    last_seen_at = client.get_current_time_iso()
    listed = notes.list_notifications()
    assert {n.uri for n in listed.notifications} == set(first)
    assert notes.update_seen({"seen_at": last_seen_at}) is True
    assert notes.get_unread_count().count == 0
    again = notes.list_notifications()
    assert all(n.is_read for n in again.notifications)
    assert again.seen_at is not None and again.seen_at[:19] == last_seen_at[:19]

    emu.clock.advance(120)
    later = emu.audience("fan2").mention("one more")
    assert notes.get_unread_count().count == 1
    fresh = notes.list_notifications(params={"limit": 2})
    assert [(n.uri, n.is_read) for n in fresh.notifications] == [(later, False), (first[-1], True)]
    older = notes.list_notifications(params={"limit": 2, "cursor": fresh.cursor})
    assert [n.is_read for n in older.notifications] == [True, True]
    assert older.seen_at == fresh.seen_at  # a kept seen time comes with every page


def test_threadgate_allow_rules_close_a_thread(
    served: tuple[BlueskyEmulator, str], connect: Connect
) -> None:
    """A threadgate's ``allow``: an empty list lets no one reply, a mention rule only those
    the root post mentions. A reply written against the gate is still stored (the PDS takes
    it) but the AppView leaves it out of the thread and the reply count and notifies no one
    of it; replies from before the gate, and the brand's own, stay."""
    emu, url = served
    client = login(emu, url, connect)
    gate = client.app.bsky.feed.threadgate
    closed = client.send_post("No questions, please")
    early = emu.audience("fan1").reply(closed.uri, "too late to stop me")
    gate.create(
        client.me.did,
        models.AppBskyFeedThreadgate.Record(
            post=closed.uri, created_at=client.get_current_time_iso(), allow=[]
        ),
        rkey=closed.uri.rsplit("/", 1)[1],
    )
    blocked = emu.audience("fan2").reply(closed.uri, "but why?")
    own = client.send_post(
        "We will answer here",
        reply_to=models.AppBskyFeedPost.ReplyRef(
            root=models.create_strong_ref(closed), parent=models.create_strong_ref(closed)
        ),
    )
    thread = client.get_post_thread(closed.uri).thread
    assert {r.post.uri for r in thread.replies} == {early, own.uri}
    assert thread.post.reply_count == 2
    replies = client.app.bsky.notification.list_notifications(params={"reasons": ["reply"]})
    assert {n.uri for n in replies.notifications} == {early}
    assert emu.records[blocked].value["text"] == "but why?"  # stored all the same

    fan1 = client.get_profile("fan1.test")
    text = atproto.client_utils.TextBuilder().text("Only ").mention("@fan1.test", fan1.did)
    invited = client.send_post(text)
    gate.create(
        client.me.did,
        models.AppBskyFeedThreadgate.Record(
            post=invited.uri,
            created_at=client.get_current_time_iso(),
            allow=[models.AppBskyFeedThreadgate.MentionRule()],
        ),
        rkey=invited.uri.rsplit("/", 1)[1],
    )
    welcome = emu.audience("fan1").reply(invited.uri, "thanks for asking me")
    emu.audience("fan2").reply(invited.uri, "me too?")
    thread = client.get_post_thread(invited.uri).thread
    assert [r.post.uri for r in thread.replies] == [welcome]


def test_signed_out_reads_carry_no_viewer_state(
    served: tuple[BlueskyEmulator, str], connect: Connect
) -> None:
    """The AppView hydrates ``viewer`` (on post views and their authors, and on a
    profile) only for a read with a session: the atproto SDK reading a thread, posts and
    a profile without logging in gets ``viewer`` None everywhere; the brand, signed in,
    still gets its like's URI in ``viewer.like``."""
    emu, url = served
    client = login(emu, url, connect)
    post = client.send_post("What should we make next?")
    emu.audience("fan1").reply(post.uri, "More boots!")
    like = client.like(post.uri, post.cid)
    anon = connect(url)

    thread = anon.get_post_thread(post.uri).thread
    views = [thread.post, thread.replies[0].post]
    assert [v.viewer for v in views] == [None, None]
    assert [v.author.viewer for v in views] == [None, None]
    (read,) = anon.get_posts([post.uri]).posts
    assert read.viewer is None and read.author.viewer is None and read.like_count == 1
    profile = anon.get_profile(client.me.did)
    assert profile.viewer is None and profile.handle == client.me.handle

    (mine,) = client.get_posts([post.uri]).posts
    assert mine.viewer is not None and mine.viewer.like == like.uri
    assert mine.author.viewer is not None and mine.author.viewer.muted is False
