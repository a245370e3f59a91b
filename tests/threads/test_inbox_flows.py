"""Threads conversations with canned answers (no I/O): the inbox's feeds, its cursor, paging
and ``limit``, replies, hiding."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from brandkit import Message
from brandkit._flow import run_flow
from brandkit.errors import ConfigurationError, MalformedResponse, Rejected, Unsupported
from brandkit.inbox import Author
from brandkit.platforms._base import PartRef
from brandkit.platforms.threads import ThreadsAdapter
from tests.facebook.conftest import Canned, answer
from tests.threads.test_flows import USER, account

T0 = 1_790_000_000  # 2026-09-21


def stamp(offset: int) -> str:
    """A Graph timestamp ``offset`` seconds after T0."""
    return datetime.fromtimestamp(T0 + offset, UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def item(item_id: str, offset: int, **fields: Any) -> dict[str, Any]:
    """A conversation or mentions item as Threads sends it."""
    body: dict[str, Any] = {
        "id": item_id,
        "text": f"text of {item_id}",
        "username": f"user{item_id}",
        "timestamp": stamp(offset),
        "permalink": f"https://www.threads.net/@user{item_id}/post/{item_id}",
        "replied_to": {"id": "p1"},
        "root_post": {"id": "p1"},
        "hide_status": "NOT_HUSHED",
        "is_reply": True,
        "is_reply_owned_by_me": False,
    }
    body.update(fields)
    return {k: v for k, v in body.items() if v is not None}


def page(*items: dict[str, Any], after: str | None = None, more: bool = False) -> Any:
    """One page of an edge: cursors, and ``next`` when ``more``."""
    body: dict[str, Any] = {"data": list(items)}
    if items:
        body["paging"] = {"cursors": {"before": "b", "after": after or f"after-{items[-1]['id']}"}}
        if more:
            body["paging"]["next"] = "https://graph.threads.net/v1.0/next"
    return answer(200, body)


def posts(*entries: tuple[str, bool | None]) -> tuple[str, str, Any]:
    """The account's latest posts with ``has_replies``."""
    data = [
        {"id": pid, "media_type": "TEXT_POST", **({} if has is None else {"has_replies": has})}
        for pid, has in entries
    ]
    return ("GET", rf"/v1\.0/{USER}/threads", answer(200, {"data": data}))


def conversation(post_id: str, response: Any) -> tuple[str, str, Any]:
    """An answer of ``GET /{post}/conversation``."""
    return ("GET", rf"/v1\.0/{post_id}/conversation", response)


def mentions(response: Any) -> tuple[str, str, Any]:
    """An answer of ``GET /{user}/mentions``."""
    return ("GET", rf"/v1\.0/{USER}/mentions", response)


def params(canned: Canned, index: int) -> dict[str, str]:
    """The query of request ``index``."""
    return dict(canned.requests[index].url.params)


def test_first_read_pages_conversations_and_mentions() -> None:
    """A first read lists the latest posts, reads each conversation with replies (newest
    first, pages of 100, following the cursor), leaves out the account's own replies and
    posts without replies or reposts, and reads mentions; a mention under a watched post
    comes once, as a reply."""
    adapter = ThreadsAdapter(account())
    canned = Canned(
        (
            "GET",
            rf"/v1\.0/{USER}/threads",
            answer(
                200,
                {
                    "data": [
                        {"id": "p1", "media_type": "TEXT_POST", "has_replies": True},
                        {"id": "p2", "media_type": "TEXT_POST", "has_replies": False},
                        {"id": "rp", "media_type": "REPOST_FACADE", "has_replies": True},
                    ]
                },
            ),
        ),
        conversation(
            "p1",
            page(
                item("r3", 30, replied_to={"id": "r1"}),
                item("own", 20, is_reply_owned_by_me=True),
                more=True,
            ),
        ),
        conversation("p1", page(item("r1", 10, hide_status="HIDDEN"))),
        mentions(
            page(
                item("m1", 25, replied_to=None, root_post={"id": "m1"}, is_reply=False),
                item("r3", 30, replied_to={"id": "r1"}),
            )
        ),
    )
    got = run_flow(adapter.inbox(None, limit=5000), canned)
    by_id = {m.id: m for m in got.messages}
    assert sorted(by_id) == ["m1", "r1", "r3"] and not got.more
    r3, r1, m1 = by_id["r3"], by_id["r1"], by_id["m1"]
    assert (r3.kind, r3.in_reply_to, r3.our_post, r3.conversation) == ("reply", "r1", "p1", "p1")
    assert r3.author == Author(id="userr3", handle="userr3", url="https://www.threads.net/@userr3")
    assert r3.created_at == datetime.fromtimestamp(T0 + 30, UTC)
    assert r3.raw["hide_status"] == "NOT_HUSHED" and r1.hidden and not r3.hidden
    assert (m1.kind, m1.in_reply_to, m1.our_post, m1.conversation) == ("mention", None, None, "m1")
    assert [r.url.path for r in canned.requests] == [
        f"/v1.0/{USER}/threads",
        "/v1.0/p1/conversation",
        "/v1.0/p1/conversation",
        f"/v1.0/{USER}/mentions",
    ]
    assert params(canned, 0)["limit"] == "50"
    assert params(canned, 1)["reverse"] == "true" and params(canned, 1)["limit"] == "100"
    assert "is_reply_owned_by_me" in params(canned, 1)["fields"]
    assert params(canned, 2)["after"] == "after-own"
    assert "since" not in params(canned, 3)
    state = json.loads(got.cursor or "")
    assert state["marks"] == {
        "p1": {"t": T0 + 30, "ids": ["r3"]},
        "mentions": {"t": T0 + 30, "ids": ["r3"]},
    }
    assert state["todo"] == [] and state["watched"] == ["p1", "p2"]


def test_next_read_stops_at_what_it_saw() -> None:
    """From a cursor, a conversation is read only down to the newest reply already seen
    (one page, though Threads offers more), mentions from ``since``, and only what is new
    comes back; with nothing new, nothing does, and the cursor stays put."""
    adapter = ThreadsAdapter(account())
    first = run_flow(
        adapter.inbox(None, limit=5000),
        Canned(
            posts(("p1", True)),
            conversation("p1", page(item("r2", 20), item("r1", 10))),
            mentions(page(item("m1", 15, root_post={"id": "m1"}, replied_to=None))),
        ),
    )
    canned = Canned(
        posts(("p1", True)),
        conversation(
            "p1", page(item("r4", 40), item("r3", 20), item("r2", 20), item("r1", 10), more=True)
        ),
        mentions(page(item("m1", 15, root_post={"id": "m1"}, replied_to=None))),
    )
    second = run_flow(adapter.inbox(first.cursor, limit=5000), canned)
    # r3 has the same second as r2, which was seen: it is new all the same.
    assert sorted(m.id for m in second.messages) == ["r3", "r4"]
    assert len(canned.requests) == 3
    assert params(canned, 2)["since"] == str(T0 + 15)
    canned = Canned(
        posts(("p1", True)),
        conversation("p1", page(item("r4", 40), item("r1", 10), more=True)),
        mentions(page()),
    )
    third = run_flow(adapter.inbox(second.cursor, limit=5000), canned)
    assert third.messages == () and len(canned.requests) == 3
    assert json.loads(third.cursor or "")["marks"] == json.loads(second.cursor or "")["marks"]


def test_replies_of_one_second_stay_seen_across_reads() -> None:
    """Threads' timestamps are whole seconds: a reply of the same second as the mark is new
    once, and the ones seen before at that second stay seen when the mark takes it in."""
    adapter = ThreadsAdapter(account())
    cursor = None
    for shown, new in (([item("r1", 10)], ["r1"]), ([item("r2", 10), item("r1", 10)], ["r2"])):
        canned = Canned(posts(("p1", True)), conversation("p1", page(*shown)), mentions(page()))
        got = run_flow(adapter.inbox(cursor, limit=100), canned)
        assert [m.id for m in got.messages] == new
        cursor = got.cursor
    assert json.loads(cursor or "")["marks"]["p1"] == {"t": T0 + 10, "ids": ["r1", "r2"]}
    canned = Canned(
        posts(("p1", True)),
        conversation("p1", page(item("r2", 10), item("r1", 10))),
        mentions(page()),
    )
    assert run_flow(adapter.inbox(cursor, limit=100), canned).messages == ()


def test_limit_stops_mid_feed_and_the_cursor_continues() -> None:
    """At ``limit`` the read stops with ``more`` between pages; the next read continues
    the same round from Threads' cursor without listing the posts again, and only once the
    round is done does the mark move."""
    adapter = ThreadsAdapter(account())
    canned = Canned(
        posts(("p1", True), ("p2", True)),
        conversation("p1", page(item("a3", 30), item("a2", 20), more=True, after="c1")),
    )
    one = run_flow(adapter.inbox(None, limit=2), canned)
    assert [m.id for m in one.messages] == ["a3", "a2"] and one.more
    state = json.loads(one.cursor or "")
    assert state["todo"][0] == {
        "feed": "p1",
        "after": "c1",
        "top": {"t": T0 + 30, "ids": ["a3"]},
        "floor": {"t": T0 + 20, "ids": ["a2"]},  # the oldest read before "c1"
        "again": False,  # not read again from the first page in this round
    }
    assert state["marks"] == {}
    canned = Canned(
        conversation("p1", page(item("a1", 10))),
        conversation("p2", page(item("b1", 5, replied_to={"id": "p2"}, root_post={"id": "p2"}))),
        mentions(page()),
    )
    two = run_flow(adapter.inbox(one.cursor, limit=3), canned)
    assert [m.id for m in two.messages] == ["a1", "b1"] and not two.more
    assert params(canned, 0)["after"] == "c1"
    assert two.messages[1].our_post == "p2"
    marks = json.loads(two.cursor or "")["marks"]
    assert marks["p1"] == {"t": T0 + 30, "ids": ["a3"]} and marks["p2"]["t"] == T0 + 5


def test_mentions_page_without_next_is_followed_while_full() -> None:
    """``/mentions`` sends cursors but no ``next``: a full page is followed by another
    read from its ``after`` cursor; a short one ends the feed."""
    adapter = ThreadsAdapter(account())
    full = [item(f"m{i}", 100 - i, root_post={"id": f"m{i}"}, replied_to=None) for i in range(100)]
    canned = Canned(
        posts(),
        mentions(page(*full, after="m-after")),
        mentions(page(item("m100", 0, root_post={"id": "m100"}, replied_to=None))),
    )
    got = run_flow(adapter.inbox(None, limit=5000), canned)
    assert len(got.messages) == 101 and params(canned, 2)["after"] == "m-after"


@pytest.mark.parametrize(
    "bad",
    [
        {"timestamp": "yesterday"},
        {"timestamp": None},
        {"id": 1234},
        {"id": "../me"},
        {"replied_to": "r1"},
        {"is_reply_owned_by_me": "no"},
    ],
)
def test_bad_answer_is_malformed(bad: dict[str, Any]) -> None:
    """A conversation item brandkit cannot read (no or a wrong timestamp, a number or a
    path for an id, a wrong shape) is a MalformedResponse, not a guess."""
    adapter = ThreadsAdapter(account())
    canned = Canned(posts(("p1", True)), conversation("p1", page(item("r1", 10, **bad))))
    with pytest.raises(MalformedResponse):
        run_flow(adapter.inbox(None, limit=10), canned)


@pytest.mark.parametrize(
    "cursor",
    [
        "not json",
        "{}",
        json.dumps({"v": 2, "user": USER}),
        json.dumps({"v": 1, "user": USER, "marks": {"p1": {"t": "soon"}}}),
        json.dumps({"v": 1, "user": USER, "extra": 1}),
    ],
)
def test_garbled_cursor_is_refused_before_any_request(cursor: str) -> None:
    """A cursor brandkit did not make is a ConfigurationError that says to pass None."""
    adapter = ThreadsAdapter(account())
    canned = Canned()
    with pytest.raises(ConfigurationError, match="since=None"):
        run_flow(adapter.inbox(cursor, limit=10), canned)
    assert canned.requests == []


def test_cursor_of_another_account_is_refused() -> None:
    """Another Threads account's cursor is refused (it would skip this one's messages)."""
    adapter = ThreadsAdapter(account())
    other = json.dumps({"v": 1, "user": "999"})
    with pytest.raises(ConfigurationError, match="another Threads account"):
        run_flow(adapter.inbox(other, limit=10), Canned())


def test_inbox_posts_setting_is_bounded() -> None:
    """``inbox_posts`` is how many posts are watched, one page of at most 100."""
    acct = account()
    acct.settings["inbox_posts"] = 7
    canned = Canned(posts(), mentions(page()))
    run_flow(ThreadsAdapter(acct).inbox(None, limit=10), canned)
    assert params(canned, 0)["limit"] == "7"
    for bad in (500, 0, "7", True):
        acct.settings["inbox_posts"] = bad
        with pytest.raises(ConfigurationError, match="between 1 and 100"):
            run_flow(ThreadsAdapter(acct).inbox(None, limit=10), Canned())


def test_replies_read_the_whole_conversation_oldest_first() -> None:
    """``replies`` reads ``/conversation?reverse=false`` page after page and leaves the
    account's own replies out."""
    adapter = ThreadsAdapter(account())
    canned = Canned(
        conversation(
            "p1", page(item("r1", 1), item("own", 2, is_reply_owned_by_me=True), more=True)
        ),
        conversation("p1", page(item("r2", 3))),
    )
    got = run_flow(adapter.replies([PartRef(index=0, id="p1")]), canned)
    assert [m.id for m in got] == ["r1", "r2"] and all(m.our_post == "p1" for m in got)
    assert params(canned, 0)["reverse"] == "false" and params(canned, 1)["after"] == "after-own"


def message(kind: str = "reply", **kw: Any) -> Message:
    """A message of the test account."""
    base: dict[str, Any] = {
        "platform": "threads",
        "account": account().key,
        "id": "r1",
        "kind": kind,
        "author": Author(id="ada", handle="ada"),
        "text": "hi",
        "created_at": datetime.now(UTC),
        "conversation": "p1",
    }
    base.update(kw)
    return Message(**base)


def test_reply_target_names_the_conversation_root() -> None:
    """An answer replies to the message (``reply_to_id``), its root recorded in extra."""
    adapter = ThreadsAdapter(account())
    target = adapter.reply_target(message(url="https://www.threads.net/@ada/post/x"))
    assert (target.id, target.url) == ("r1", "https://www.threads.net/@ada/post/x")
    assert target.extra == {"root": PartRef(index=0, id="p1").to_dict()}
    assert adapter.reply_target(message(id="p9", conversation="p9")).extra == {}
    with pytest.raises(ConfigurationError):
        adapter.reply_target(message(account="threads:someone-else"))


def test_hide_and_show_a_reply() -> None:
    """Hiding posts ``hide=true`` to manage_reply (showing, ``false``); Meta's
    ``{"success": false}`` is a Rejected; a mention cannot be hidden (no request)."""
    adapter = ThreadsAdapter(account())
    path = r"/v1\.0/r1/manage_reply"
    canned = Canned(
        ("POST", path, answer(200, {"success": True})),
        ("POST", path, answer(200, {"success": True})),
    )
    run_flow(adapter.set_hidden(message(), True), canned)
    run_flow(adapter.set_hidden(message(), False), canned)
    assert [canned.form(i) for i in (0, 1)] == [{"hide": "true"}, {"hide": "false"}]
    with pytest.raises(Rejected, match="success"):
        run_flow(
            adapter.set_hidden(message(), True),
            Canned(("POST", path, answer(200, {"success": False}))),
        )
    with pytest.raises(MalformedResponse):
        run_flow(
            adapter.set_hidden(message(), True),
            Canned(("POST", path, answer(200, {"success": "yes"}))),
        )
    with pytest.raises(Unsupported):
        run_flow(adapter.set_hidden(message("mention"), True), Canned())


def test_declared_capabilities() -> None:
    """Replies and mentions are read, replies hidden; no like, no delete of others'."""
    caps = ThreadsAdapter.capabilities
    assert caps.inbox == frozenset({"reply", "mention"})
    assert caps.hide_messages and not caps.like_messages and not caps.delete_messages


@pytest.mark.parametrize("platform", ["facebook", "instagram"])
def test_a_facebook_or_instagram_cursor_is_refused(platform: str) -> None:
    """A Facebook or Instagram inbox cursor (Meta's other comment inboxes) is refused
    before any request, with what to pass instead."""
    from brandkit.platforms._graph import InboxCursor

    adapter = ThreadsAdapter(account())
    for cursor in (
        InboxCursor(at=5, platform=platform, account=USER).encode(),
        json.dumps({"v": 1, "at": 5, "seen": []}),  # as saved before cursors named an account
    ):
        canned = Canned()
        with pytest.raises(ConfigurationError, match="since=None"):
            run_flow(adapter.inbox(cursor, limit=10), canned)
        assert canned.requests == []
