"""Unit tests of the Bluesky adapter's conversation flows, fed canned XRPC answers (no I/O):
the inbox (listNotifications), a post's replies (getPostThread), answers, hiding, likes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from brandkit import ConfigurationError, MalformedResponse, Message, Rejected, Unsupported
from brandkit._flow import run_flow
from brandkit.inbox import Author
from brandkit.platforms._base import PartRef, ThreadContext
from brandkit.platforms.bluesky import BlueskyAdapter
from tests.bluesky._support import Script, body_of, sky_account, xrpc

DID = "did:plc:brand"
FAN = "did:plc:fan"
POST = "app.bsky.feed.post"
OURS = "3kaaaaaaaaa22"
OUR_URI = f"at://{DID}/{POST}/{OURS}"
CID = "bafyreiekv6q6albvxgqgzuty7x2hla4r32loald7b7vwhvaearsori2gky"
CID2 = "bafyreibdsz62ikfbszvibe5dugvugge74ze4p4f6crppfnt6k6422cg4pe"
LIST = "app.bsky.notification.listNotifications"
T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def adapter() -> BlueskyAdapter:
    """An adapter with a saved session for the brand's DID."""
    return BlueskyAdapter(sky_account(access_jwt="access-0", refresh_jwt="refresh-0", did=DID))


def iso(t: datetime) -> str:
    return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def note(
    n: int,
    *,
    reason: str = "reply",
    at: datetime | None = None,
    parent: str = OUR_URI,
    root: str = OUR_URI,
    author: str = FAN,
    subject: str | None = OUR_URI,
) -> dict[str, Any]:
    """A notification view as the AppView sends it."""
    record: dict[str, Any] = {"$type": POST, "text": f"message {n}", "createdAt": iso(T0)}
    if reason == "reply":
        record["reply"] = {"root": {"uri": root, "cid": CID}, "parent": {"uri": parent, "cid": CID}}
    view: dict[str, Any] = {
        "uri": f"at://{author}/{POST}/3kfan{n:08d}",
        "cid": CID2,
        "author": {"did": author, "handle": "fan.test", "displayName": "Fan", "labels": []},
        "reason": reason,
        "record": record,
        "isRead": False,
        "indexedAt": iso(at or T0 + timedelta(seconds=n)),
        "labels": [],
    }
    if subject is not None and reason != "mention":
        view["reasonSubject"] = subject
    return view


def page(*notes: Any, cursor: str | None = None) -> httpx.Response:
    body: dict[str, Any] = {"notifications": list(notes), "priority": False}
    if cursor:
        body["cursor"] = cursor
    return xrpc(200, body)


def newest_first(*ns: int) -> list[dict[str, Any]]:
    return [note(n) for n in sorted(ns, reverse=True)]


def message(**kw: Any) -> Message:
    """A message as the inbox reads it (a reply to the brand's post)."""
    uri = kw.pop("uri", f"at://{FAN}/{POST}/3kfan00000001")
    fields: dict[str, Any] = {
        "platform": "bluesky",
        "account": adapter().account.key,
        "id": uri,
        "kind": "reply",
        "author": Author(id=FAN, handle="fan.test"),
        "text": "hi",
        "created_at": T0,
        "in_reply_to": OURS,
        "our_post": OURS,
        "extra": {"uri": uri, "cid": CID2, "root": {"uri": OUR_URI, "cid": CID}},
    }
    fields.update(kw)
    return Message(**fields)


# -- inbox -------------------------------------------------------------------------------------


def test_inbox_reads_replies_mentions_and_quotes_in_one_page() -> None:
    """One listNotifications (reasons reply, mention, quote; 100 a page; priority off) gives
    every kind, with ids in the adapter's form (own posts by record key)."""
    script = Script().on(
        LIST,
        page(
            note(3, reason="quote"),
            note(2, reason="mention", subject=None),
            note(1),
        ),
    )
    got = run_flow(adapter().inbox(None, limit=5000), script)
    (request,) = script.requests
    params = request.url.params
    assert params.get_list("reasons") == ["reply", "mention", "quote"]
    assert params["limit"] == "100" and params["priority"] == "false"
    assert "cursor" not in params
    kinds = {m.kind: m for m in got.messages}
    assert set(kinds) == {"reply", "mention", "quote"}
    reply = kinds["reply"]
    assert reply.id == f"at://{FAN}/{POST}/3kfan00000001"
    assert reply.in_reply_to == reply.our_post == reply.conversation == OURS
    assert reply.author == Author(
        id=FAN, handle="fan.test", name="Fan", url="https://bsky.app/profile/fan.test"
    )
    assert reply.url == "https://bsky.app/profile/fan.test/post/3kfan00000001"
    assert reply.extra["root"] == {"uri": OUR_URI, "cid": CID}
    assert reply.raw["reason"] == "reply"
    assert kinds["quote"].our_post == OURS and kinds["quote"].in_reply_to is None
    assert kinds["mention"].our_post is None
    assert got.more is False and got.cursor is not None


def test_a_reply_under_the_brands_answer_in_someone_elses_thread() -> None:
    """our_post is the brand's post the reply answers when the thread is someone else's;
    in_reply_to and conversation keep the others' AT URIs."""
    other_root = f"at://did:plc:other/{POST}/3kroot0000000"
    mine = f"at://{DID}/{POST}/3kmine0000000"
    script = Script().on(LIST, page(note(1, root=other_root, parent=mine, subject=mine)))
    (m,) = run_flow(adapter().inbox(None, limit=10), script).messages
    assert m.in_reply_to == "3kmine0000000" and m.our_post == "3kmine0000000"
    assert m.conversation == other_root


def test_pages_until_the_platform_has_no_more_then_a_second_read_stops_at_the_mark() -> None:
    """150 notifications: two pages; the next read (nothing new) returns nothing; a new one
    is then read alone."""
    first = newest_first(*range(51, 151))
    second = newest_first(*range(1, 51))
    script = Script().on(LIST, page(*first, cursor=first[-1]["indexedAt"]), page(*second))
    got = run_flow(adapter().inbox(None, limit=5000), script)
    assert len(got.messages) == 150 and len(script.requests) == 2
    assert script.requests[1].url.params["cursor"] == first[-1]["indexedAt"]

    # All 150 lie within the 15 minutes below the mark, which a read looks through for
    # posts listed late: two pages again, and nothing new in them.
    again = Script().on(LIST, page(*first, cursor=first[-1]["indexedAt"]), page(*second))
    nothing = run_flow(adapter().inbox(got.cursor, limit=5000), again)
    assert nothing.messages == () and len(again.requests) == 2 and not nothing.more

    newer = newest_first(*range(52, 152))
    third = Script().on(
        LIST, page(*newer, cursor=newer[-1]["indexedAt"]), page(*newest_first(*range(1, 52)))
    )
    new = run_flow(adapter().inbox(nothing.cursor, limit=5000), third)
    assert [m.text for m in new.messages] == ["message 151"]
    assert len(third.requests) == 2


def test_a_read_looks_fifteen_minutes_below_its_mark_for_posts_listed_late() -> None:
    """The AppView lists a post at the earlier of its createdAt and its indexing: one whose
    author's clock runs behind comes below the last mark. A read takes it there, gives what
    it read before no second time, and stops at the first notification more than 15
    minutes below the mark, in one request."""
    minutes = [note(n, at=T0 + timedelta(minutes=10 * n)) for n in (5, 4, 3, 2, 1)]
    got = run_flow(adapter().inbox(None, limit=50), Script().on(LIST, page(*minutes)))
    assert len(got.messages) == 5
    late = note(9, at=T0 + timedelta(minutes=45))  # below the mark (50), new
    listed = [note(6, at=T0 + timedelta(minutes=60)), minutes[0], late, *minutes[1:]]
    script = Script().on(LIST, page(*listed, cursor="x"))
    again = run_flow(adapter().inbox(got.cursor, limit=50), script)
    assert [m.text for m in again.messages] == ["message 6", "message 9"]
    assert len(script.requests) == 1 and not again.more
    script = Script().on(LIST, page(*listed, cursor="x"))
    assert run_flow(adapter().inbox(again.cursor, limit=50), script).messages == ()


def test_notifications_at_the_same_time_as_the_mark_are_told_apart_by_uri() -> None:
    """The mark keeps the URIs seen at its time: one more at the same millisecond is new."""
    a, b = note(1, at=T0), note(2, at=T0)
    got = run_flow(adapter().inbox(None, limit=10), Script().on(LIST, page(a)))
    later = run_flow(adapter().inbox(got.cursor, limit=10), Script().on(LIST, page(b, a)))
    assert [m.text for m in later.messages] == ["message 2"]


def test_limit_stops_at_a_page_boundary_and_the_next_read_goes_on() -> None:
    """limit=3 of 5 new: a page of 3, ``more`` and a cursor that resumes; the rest follows,
    and only then does the mark move to the newest read."""
    notes = newest_first(1, 2, 3, 4, 5)
    script = Script().on(LIST, page(*notes[:3], cursor=notes[2]["indexedAt"]))
    first = run_flow(adapter().inbox(None, limit=3), script)
    assert script.requests[0].url.params["limit"] == "3"
    assert [m.text for m in first.messages] == ["message 5", "message 4", "message 3"]
    assert first.more
    rest = Script().on(LIST, page(*notes[3:]))
    second = run_flow(adapter().inbox(first.cursor, limit=3), rest)
    assert rest.requests[0].url.params["cursor"] == notes[2]["indexedAt"]
    assert [m.text for m in second.messages] == ["message 2", "message 1"]
    assert not second.more
    latest = Script().on(LIST, page(note(6), *notes))
    third = run_flow(adapter().inbox(second.cursor, limit=3), latest)
    assert [m.text for m in third.messages] == ["message 6"]


def test_a_page_that_hands_back_the_cursor_it_was_asked_for_is_malformed() -> None:
    """A list that does not go back (the same cursor again) is not its end: the read stops
    with a typed error and the cursor is not moved past the notifications behind it."""
    notes = newest_first(1, 2, 3, 4)
    stuck = notes[1]["indexedAt"]
    script = Script().on(LIST, page(*notes[:2], cursor=stuck), page(*notes[2:3], cursor=stuck))
    with pytest.raises(MalformedResponse, match="the cursor it was asked for"):
        run_flow(adapter().inbox(None, limit=10), script)
    assert len(script.requests) == 2


def test_another_accounts_cursor_is_refused() -> None:
    """The cursor names the account's DID: another account's is refused before it can skip
    this account's older notifications (a cursor without a DID, from an older brandkit, is
    still read)."""
    got = run_flow(adapter().inbox(None, limit=10), Script().on(LIST, page(note(1))))
    other = BlueskyAdapter(
        sky_account(access_jwt="access-1", refresh_jwt="refresh-1", did="did:plc:other")
    )
    script = Script()
    with pytest.raises(ConfigurationError, match="another account"):
        run_flow(other.inbox(got.cursor, limit=10), script)
    assert script.requests == []
    old = '{"v":1,"seen":"' + iso(T0) + '"}'
    again = run_flow(other.inbox(old, limit=10), Script().on(LIST, page(note(1))))
    assert [m.text for m in again.messages] == ["message 1"]


def test_the_accounts_own_posts_are_not_messages() -> None:
    """A notification about the brand's own post (another session of it) is skipped."""
    script = Script().on(LIST, page(note(2, author=DID), note(1)))
    got = run_flow(adapter().inbox(None, limit=10), script)
    assert [m.text for m in got.messages] == ["message 1"]


@pytest.mark.parametrize(
    "cursor", ["not json", "{}", '{"v": 2}', '{"v": 1, "seen": "yesterday"}', '{"v":1,"x":1}']
)
def test_a_garbled_cursor_is_refused_before_any_request(cursor: str) -> None:
    """A cursor brandkit did not write: ConfigurationError saying to pass None."""
    script = Script()
    with pytest.raises(ConfigurationError, match="since=None"):
        run_flow(adapter().inbox(cursor, limit=10), script)
    assert script.requests == []


@pytest.mark.parametrize(
    "bad",
    [{"notifications": "none"}, {"cursor": "x"}, {"notifications": [], "cursor": 7}],
)
def test_an_answer_brandkit_cannot_read_is_malformed(bad: dict[str, Any]) -> None:
    """No list of notifications, or a cursor that is no text: the page cannot be read."""
    with pytest.raises(MalformedResponse):
        run_flow(adapter().inbox(None, limit=10), Script().on(LIST, xrpc(200, bad)))


@pytest.mark.parametrize(
    "bad",
    [
        {**note(2), "author": {"handle": "fan.test"}},
        {**note(2), "record": "text"},
        {**note(2), "indexedAt": "soon"},
        {**note(2), "uri": 7},
        "a notification",
    ],
)
def test_a_notification_brandkit_cannot_read_is_skipped(bad: Any) -> None:
    """A missing author DID, a record that is no object, an indexedAt that is no time, a
    URI that is none, no object at all: that notification is left out, the others of the
    page are read, and the cursor moves past it."""
    got = run_flow(adapter().inbox(None, limit=10), Script().on(LIST, page(bad, note(1))))
    assert [m.text for m in got.messages] == ["message 1"]
    assert got.cursor is not None and not got.more


def test_a_refused_read_is_typed() -> None:
    """The platform's error comes back typed (the cursor is not moved: no page returned)."""
    script = Script().on(
        LIST, xrpc(400, {"error": "InvalidRequest", "message": "Malformed cursor"})
    )
    with pytest.raises(Rejected, match="Malformed cursor"):
        run_flow(adapter().inbox(None, limit=10), script)


# -- replies (getPostThread) -------------------------------------------------------------------


def post_view(uri: str, author: str, text: str, parent: str | None) -> dict[str, Any]:
    record: dict[str, Any] = {"$type": POST, "text": text, "createdAt": iso(T0)}
    if parent:
        record["reply"] = {
            "root": {"uri": OUR_URI, "cid": CID},
            "parent": {"uri": parent, "cid": CID},
        }
    return {
        "uri": uri,
        "cid": CID2,
        "author": {"did": author, "handle": f"{author[8:]}.test"},
        "record": record,
        "indexedAt": iso(T0),
    }


def test_replies_walk_the_thread_flag_hidden_ones_and_skip_the_brands_own() -> None:
    """One getPostThread (depth 50, no parents); nested replies are read, the brand's own
    answers are not messages, a reply the threadgate hides is flagged; a not-found reply
    is skipped."""
    fan1 = f"at://{FAN}/{POST}/3kfan00000001"
    mine = f"at://{DID}/{POST}/3kmine0000000"
    fan2 = f"at://{FAN}/{POST}/3kfan00000002"
    thread = {
        "$type": "app.bsky.feed.defs#threadViewPost",
        "post": post_view(OUR_URI, DID, "our post", None),
        "replies": [
            {
                "post": post_view(fan1, FAN, "first", OUR_URI),
                "replies": [
                    {
                        "post": post_view(mine, DID, "our answer", fan1),
                        "replies": [{"post": post_view(fan2, FAN, "second", mine), "replies": []}],
                    }
                ],
            },
            {"$type": "app.bsky.feed.defs#notFoundPost", "uri": "at://x/y/z", "notFound": True},
        ],
    }
    gate = {"uri": "at://g", "cid": CID, "record": {"hiddenReplies": [fan2]}, "lists": []}
    script = Script().on(
        "app.bsky.feed.getPostThread", xrpc(200, {"thread": thread, "threadgate": gate})
    )
    ref = PartRef(index=0, id=OURS, uri=OUR_URI, cid=CID)
    got = {m.text: m for m in run_flow(adapter().replies([ref]), script)}
    assert set(got) == {"first", "second"}
    assert not got["first"].hidden and got["second"].hidden
    assert got["second"].in_reply_to == "3kmine0000000" and got["second"].our_post == OURS
    params = script.requests[0].url.params
    assert params["uri"] == OUR_URI and params["depth"] == "50"
    assert params["parentHeight"] == "0" and len(script.requests) == 1


# -- answering ---------------------------------------------------------------------------------


def test_reply_target_carries_the_strong_refs_and_the_root() -> None:
    """The parent is the message's strong ref; extra["root"] the conversation's root."""
    ref = adapter().reply_target(message())
    assert (ref.uri, ref.cid) == (f"at://{FAN}/{POST}/3kfan00000001", CID2)
    assert ref.extra["root"] == PartRef(index=0, id=OURS, uri=OUR_URI, cid=CID).to_dict()
    thread = ThreadContext(key="3kbbbbbbbbb22", reply_to=ref)
    assert thread.root is not None and thread.root.uri == OUR_URI


def test_reply_target_without_strong_refs_says_to_read_again() -> None:
    """A message stored without its refs cannot be answered: read it again."""
    with pytest.raises(ConfigurationError, match=r"client\.inbox"):
        adapter().reply_target(message(extra={}))


def test_reply_target_refuses_another_accounts_message() -> None:
    with pytest.raises(ConfigurationError, match="belongs to"):
        adapter().reply_target(message(account="bluesky:someone-else"))


def test_an_answer_is_created_under_the_message_after_checking_it_exists() -> None:
    """getRecord of the parent, then createRecord with root and parent strong refs."""
    from brandkit import Post
    from brandkit.content import Rendered, RenderedPart

    a = adapter()
    target = a.reply_target(message())
    created = {"uri": f"at://{DID}/{POST}/3kbbbbbbbbb22", "cid": CID, "commit": {}}
    script = (
        Script()
        .on("com.atproto.repo.getRecord", xrpc(200, {"uri": target.uri, "cid": CID2, "value": {}}))
        .on("com.atproto.repo.createRecord", xrpc(200, created))
    )
    part = RenderedPart(index=0, text="thanks", length=6, limit=300)
    rendered = Rendered(
        platform="bluesky", parts=(part,), post=Post(text="thanks"), capabilities=a.capabilities
    )
    thread = ThreadContext(key="3kbbbbbbbbb22", reply_to=target)
    ref = run_flow(a.publish_part(rendered, part, thread), script)
    assert ref.id == "3kbbbbbbbbb22"
    assert script.names() == ["com.atproto.repo.getRecord", "com.atproto.repo.createRecord"]
    assert script.requests[0].url.params["repo"] == FAN
    record = body_of(script.requests[1])["record"]
    assert record["reply"] == {
        "root": {"uri": OUR_URI, "cid": CID},
        "parent": {"uri": target.uri, "cid": CID2},
    }


def test_an_answer_to_a_deleted_message_is_refused_before_the_create() -> None:
    """The parent is gone: Rejected naming it, and nothing is created."""
    from brandkit import Post
    from brandkit.content import Rendered, RenderedPart

    a = adapter()
    script = Script().on(
        "com.atproto.repo.getRecord",
        xrpc(400, {"error": "RecordNotFound", "message": "Could not locate record"}),
    )
    part = RenderedPart(index=0, text="thanks", length=6, limit=300)
    rendered = Rendered(
        platform="bluesky", parts=(part,), post=Post(text="thanks"), capabilities=a.capabilities
    )
    thread = ThreadContext(key="3kbbbbbbbbb22", reply_to=a.reply_target(message()))
    with pytest.raises(Rejected, match="deleted"):
        run_flow(a.publish_part(rendered, part, thread), script)
    assert script.names() == ["com.atproto.repo.getRecord"]


# -- hiding ------------------------------------------------------------------------------------

GET = "com.atproto.repo.getRecord"
PUT = "com.atproto.repo.putRecord"
NOT_FOUND = xrpc(400, {"error": "RecordNotFound", "message": "Could not locate record"})
GATE_URI = f"at://{DID}/app.bsky.feed.threadgate/{OURS}"
PUT_OK = xrpc(200, {"uri": "at://x", "cid": CID})


def gate_answer(**value: Any) -> httpx.Response:
    record = {"$type": "app.bsky.feed.threadgate", "post": OUR_URI, "createdAt": iso(T0)}
    return xrpc(200, {"uri": GATE_URI, "cid": CID, "value": {**record, **value}})


def test_hiding_creates_a_threadgate_at_the_roots_key_that_lets_everyone_reply() -> None:
    """No threadgate yet: one is put at the root's record key, swap null, no ``allow``."""
    script = Script().on(GET, NOT_FOUND).on(PUT, PUT_OK)
    run_flow(adapter().set_hidden(message(), True), script)
    assert script.requests[0].url.params["rkey"] == OURS
    body = body_of(script.requests[1])
    assert body["rkey"] == OURS and body["swapRecord"] is None
    assert body["collection"] == "app.bsky.feed.threadgate"
    assert body["record"]["post"] == OUR_URI
    assert body["record"]["hiddenReplies"] == [f"at://{FAN}/{POST}/3kfan00000001"]
    assert "allow" not in body["record"]


def test_hiding_keeps_allow_and_swaps_on_the_cid() -> None:
    """An existing threadgate keeps its rules; the put swaps on the cid read."""
    allow = [{"$type": "app.bsky.feed.threadgate#followerRule"}]
    script = Script().on(GET, gate_answer(allow=allow, hiddenReplies=["at://a/b/c"]))
    script.on(PUT, PUT_OK)
    run_flow(adapter().set_hidden(message(), True), script)
    body = body_of(script.requests[1])
    assert body["swapRecord"] == CID and body["record"]["allow"] == allow
    assert body["record"]["hiddenReplies"] == ["at://a/b/c", f"at://{FAN}/{POST}/3kfan00000001"]


def test_a_concurrent_change_is_read_again_and_nothing_is_written_when_done() -> None:
    """InvalidSwap: read again; already hidden then: no second write."""
    uri = f"at://{FAN}/{POST}/3kfan00000001"
    script = Script().on(GET, NOT_FOUND, gate_answer(hiddenReplies=[uri]))
    script.on(PUT, xrpc(400, {"error": "InvalidSwap", "message": "Record was at x"}))
    run_flow(adapter().set_hidden(message(), True), script)
    assert script.names() == [GET, PUT, GET]


def test_unhiding_takes_the_uri_out() -> None:
    uri = f"at://{FAN}/{POST}/3kfan00000001"
    script = Script().on(GET, gate_answer(hiddenReplies=[uri, "at://a/b/c"])).on(PUT, PUT_OK)
    run_flow(adapter().set_hidden(message(), False), script)
    assert body_of(script.requests[1])["record"]["hiddenReplies"] == ["at://a/b/c"]


def test_a_full_threadgate_is_refused_with_what_to_do() -> None:
    script = Script().on(GET, gate_answer(hiddenReplies=[f"at://a/b/{i}" for i in range(300)]))
    with pytest.raises(Rejected, match="300"):
        run_flow(adapter().set_hidden(message(), True), script)


def test_hiding_outside_the_brands_threads_is_unsupported_before_any_request() -> None:
    """A mention (no reply) or a reply in a thread someone else started."""
    script = Script()
    mention = message(kind="mention", extra={"uri": "at://did:plc:fan/p/1", "cid": CID})
    with pytest.raises(Unsupported, match="replies only"):
        run_flow(adapter().set_hidden(mention, True), script)
    theirs = message(
        extra={
            "uri": "at://did:plc:fan/p/1",
            "cid": CID,
            "root": {"uri": f"at://did:plc:other/{POST}/3kroot0000000", "cid": CID},
        }
    )
    with pytest.raises(Unsupported, match="thread's author"):
        run_flow(adapter().set_hidden(theirs, True), script)
    assert script.requests == []


# -- likes -------------------------------------------------------------------------------------


def test_a_like_is_created_at_a_key_made_from_the_message() -> None:
    """The same message gives the same TID key; a 500 that hides an existing like is
    looked up and accepted."""
    created = xrpc(200, {"uri": "at://l", "cid": CID})
    first = Script().on("com.atproto.repo.createRecord", created)
    run_flow(adapter().like(message()), first)
    body = body_of(first.requests[0])
    assert body["collection"] == "app.bsky.feed.like"
    assert body["record"]["subject"] == {"uri": f"at://{FAN}/{POST}/3kfan00000001", "cid": CID2}
    second = (
        Script()
        .on("com.atproto.repo.createRecord", xrpc(500, {"error": "InternalServerError"}))
        .on(GET, xrpc(200, {"uri": "at://l", "cid": CID, "value": {}}))
    )
    run_flow(adapter().like(message()), second)
    assert body_of(second.requests[0])["rkey"] == body["rkey"]
    assert second.requests[1].url.params["rkey"] == body["rkey"]
    assert body["rkey"][0] in "234567abcdefghij" and len(body["rkey"]) == 13
