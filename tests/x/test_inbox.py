"""Unit tests of the X adapter's conversation flows (inbox, replies, hide, like, answers),
fed with canned answers in X's shapes (no I/O)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from brandkit import Message, Post
from brandkit._flow import run_flow
from brandkit.errors import ConfigurationError, MalformedResponse, Rejected
from brandkit.inbox import Author
from brandkit.platforms._base import PartRef, ThreadContext
from brandkit.platforms.x import XAdapter, _bucket_of
from tests.x.conftest import Script, adapter, body_of, check_response, rendered, snowflake

BRAND = "1072250532645998596"
NOW = time.time()


def sid(seconds_ago: float, seq: int = 1) -> str:
    """An X id made ``seconds_ago`` before the test started."""
    return snowflake(NOW - seconds_ago, seq)


ROOT = sid(3600)
PART2 = sid(3590)


def post(
    post_id: str,
    text: str,
    author: str,
    *,
    replied: str | None = None,
    quoted: str | None = None,
    to_user: str | None = None,
    conversation: str | None = None,
) -> dict[str, Any]:
    """A post as the mentions timeline and recent search send it."""
    item: dict[str, Any] = {
        "id": post_id,
        "text": text,
        "author_id": author,
        "created_at": "2026-12-04T10:00:00.000Z",
        "conversation_id": conversation or post_id,
        "edit_history_tweet_ids": [post_id],
    }
    refs = []
    if replied:
        refs.append({"type": "replied_to", "id": replied})
    if quoted:
        refs.append({"type": "quoted", "id": quoted})
    if refs:
        item["referenced_tweets"] = refs
    if to_user:
        item["in_reply_to_user_id"] = to_user
    return item


USERS = [
    {"id": "2001", "username": "fan1", "name": "Fan One"},
    {"id": "2002", "username": "fan2", "name": "Fan Two"},
    {"id": BRAND, "username": "brand", "name": "Brand"},
]


def page(
    data: list[dict[str, Any]],
    *,
    tweets: list[dict[str, Any]] = (),  # type: ignore[assignment]
    next_token: str | None = None,
) -> dict[str, Any]:
    """A page of X's ``Get2UsersIdMentionsResponse`` (checked against the spec)."""
    body: dict[str, Any] = {"meta": {"result_count": len(data)}}
    if data:
        ids = sorted((int(d["id"]) for d in data), reverse=True)
        body["data"] = data
        body["meta"].update(newest_id=str(ids[0]), oldest_id=str(ids[-1]))
        body["includes"] = {"users": USERS}
        if tweets:
            body["includes"]["tweets"] = list(tweets)
    if next_token:
        body["meta"]["next_token"] = next_token
    check_response(body, "Get2UsersIdMentionsResponse")
    return body


MENTIONS = rf"/2/users/{BRAND}/mentions"


def params(request: httpx.Request) -> dict[str, str]:
    return dict(request.url.params)


def read(x: XAdapter, script: Script, cursor: str | None = None, limit: int = 5000) -> Any:
    return run_flow(x.inbox(cursor, limit=limit), script)


# -- inbox ---------------------------------------------------------------------------------


def test_one_page_holds_replies_mentions_and_quotes_each_with_its_parent() -> None:
    """The mentions timeline in one request: a reply to the brand's post (its leading
    @handle left out of the text), a mention, a quote naming the brand; the brand's own post
    that names itself is left out; the cursor is the newest id read."""
    reply, mention, quote, own = sid(50, 1), sid(40, 2), sid(30, 3), sid(20, 4)
    script = Script().on(
        "GET",
        MENTIONS,
        (
            200,
            page(
                [
                    post(own, "we are @brand", BRAND),
                    post(quote, "look at this @brand", "2002", quoted=ROOT),
                    post(mention, "hello @brand &amp; co", "2002"),
                    post(
                        reply,
                        "@brand Is it open on Sunday?",
                        "2001",
                        replied=ROOT,
                        to_user=BRAND,
                        conversation=ROOT,
                    ),
                ],
                tweets=[{"id": ROOT, "text": "Ask us", "author_id": BRAND}],
            ),
        ),
    )
    x = adapter()
    result = read(x, script)
    (request,) = script.requests
    sent = params(request)
    assert sent["max_results"] == "100" and "since_id" not in sent
    assert set(sent["expansions"].split(",")) == {"author_id", "referenced_tweets.id"}
    assert "conversation_id" in sent["tweet.fields"] and "referenced_tweets" in sent["tweet.fields"]
    got = {m.id: m for m in result.messages}
    assert set(got) == {reply, mention, quote}
    r = got[reply]
    assert (r.kind, r.in_reply_to, r.our_post, r.conversation) == ("reply", ROOT, ROOT, ROOT)
    assert r.text == "Is it open on Sunday?"
    assert r.author == Author(id="2001", handle="fan1", name="Fan One", url="https://x.com/fan1")
    assert r.url == f"https://x.com/fan1/status/{reply}"
    assert r.account == "x:x" and r.platform == "x" and not r.hidden
    assert r.raw["id"] == reply and r.raw["in_reply_to_user_id"] == BRAND
    m = got[mention]
    assert (m.kind, m.in_reply_to, m.our_post, m.text) == (
        "mention",
        None,
        None,
        "hello @brand & co",
    )
    q = got[quote]
    assert (q.kind, q.in_reply_to, q.our_post) == ("quote", ROOT, ROOT)
    assert result.more is False
    assert json.loads(result.cursor) == {"v": 1, "user": BRAND, "since": own}


def test_the_next_read_starts_after_the_cursor_and_an_empty_one_keeps_it() -> None:
    """``since_id`` is the newest id already read; nothing new keeps the cursor as it is."""
    script = Script().on("GET", MENTIONS, (200, page([])))
    cursor = json.dumps({"v": 1, "user": BRAND, "since": sid(10)})
    result = read(adapter(), script, cursor)
    assert result.messages == () and result.more is False
    assert params(script.requests[0])["since_id"] == sid(10)
    assert json.loads(result.cursor) == json.loads(cursor)


def test_pages_are_followed_with_the_pagination_token() -> None:
    """Two pages: the second asked for with the first's ``next_token``; the cursor is the
    newest id of the first page."""
    first = [post(sid(100 - i, i), f"@brand hi {i}", "2001") for i in range(100)]
    second = [post(sid(300 - i, i), f"@brand older {i}", "2002") for i in range(20)]
    script = Script().on(
        "GET", MENTIONS, (200, page(first, next_token="t0k3n")), (200, page(second))
    )
    result = read(adapter(), script)
    assert len(result.messages) == 120 and not result.more
    assert "pagination_token" not in params(script.requests[0])
    assert params(script.requests[1])["pagination_token"] == "t0k3n"
    assert json.loads(result.cursor)["since"] == sid(1, 99)


def test_a_page_with_no_posts_but_a_next_token_is_followed() -> None:
    """X: ``next_token`` "indicates that more results are available", and a page may hold
    fewer posts than asked, even none. The read goes on past an empty page, so the older
    mentions after it are read before the cursor moves to the newest id."""
    newer = [post(sid(10, i), f"@brand newer {i}", "2001") for i in range(3)]
    older = [post(sid(100, i), f"@brand older {i}", "2002") for i in range(3)]
    empty = {"meta": {"result_count": 0, "next_token": "t2"}}
    check_response(empty, "Get2UsersIdMentionsResponse")
    script = Script().on(
        "GET", MENTIONS, (200, page(newer, next_token="t1")), (200, empty), (200, page(older))
    )
    result = read(adapter(), script, json.dumps({"v": 1, "user": BRAND, "since": sid(1000)}))
    assert [params(r).get("pagination_token") for r in script.requests] == [None, "t1", "t2"]
    assert sorted(m.text for m in result.messages) == sorted(
        [f"@brand newer {i}" for i in range(3)] + [f"@brand older {i}" for i in range(3)]
    )
    assert not result.more
    assert json.loads(result.cursor)["since"] == max((p["id"] for p in newer), key=int)


def test_endless_empty_pages_are_malformed_and_keep_the_cursor() -> None:
    empty = {"meta": {"result_count": 0, "next_token": "again"}}
    script = Script().on("GET", MENTIONS, *[(200, empty)] * 100)
    with pytest.raises(MalformedResponse, match="empty mentions pages"):
        read(adapter(), script, json.dumps({"v": 1, "user": BRAND, "since": sid(1000)}))
    assert len(script.requests) == 100


def test_a_read_stopped_at_its_limit_goes_on_below_the_oldest_post_read() -> None:
    """``limit`` sizes the pages (no more posts paid for than asked) and stops the read with
    ``more``; the next read keeps ``since_id`` and adds ``until_id``; when it is done, the
    cursor jumps to the newest id of the whole sweep."""
    since = sid(1000)
    newest = [post(sid(100 - i, i), f"@brand n{i}", "2001") for i in range(30)]
    older = [post(sid(500 - i, i), f"@brand o{i}", "2002") for i in range(10)]
    script = Script().on(
        "GET", MENTIONS, (200, page(newest, next_token="more")), (200, page(older))
    )
    start = json.dumps({"v": 1, "user": BRAND, "since": since})
    x = adapter()
    first = read(x, script, start, limit=30)
    assert [params(r)["max_results"] for r in script.requests] == ["30"]
    assert len(first.messages) == 30 and first.more
    state = json.loads(first.cursor)
    assert state == {
        "v": 1,
        "user": BRAND,
        "since": since,
        "until": sid(100, 0),
        "top": sid(71, 29),
    }
    second = read(x, script, first.cursor, limit=30)
    sent = params(script.requests[1])
    assert (sent["since_id"], sent["until_id"]) == (since, sid(100, 0))
    assert len(second.messages) == 10 and not second.more
    assert json.loads(second.cursor) == {"v": 1, "user": BRAND, "since": sid(71, 29)}


def test_a_small_limit_still_asks_for_the_five_posts_x_requires() -> None:
    """X's mentions timeline takes ``max_results`` from 5 to 100."""
    script = Script().on("GET", MENTIONS, (200, page([])))
    read(adapter(), script, limit=2)
    assert params(script.requests[0])["max_results"] == "5"


@pytest.mark.parametrize(
    "cursor",
    ["not json", "{}", '{"v": 2, "user": "1"}', '{"v": 1, "user": "1", "since": "x1"}', "[]"],
)
def test_a_garbled_cursor_is_refused_before_any_request(cursor: str) -> None:
    """A cursor brandkit did not make is a ConfigurationError that says to pass None."""
    script = Script()
    with pytest.raises(ConfigurationError, match="since=None"):
        read(adapter(), script, cursor)
    assert script.requests == []


def test_another_accounts_cursor_is_refused() -> None:
    """A cursor of another X user would skip this account's mentions."""
    script = Script()
    with pytest.raises(ConfigurationError, match="belongs to user 42"):
        read(adapter(), script, json.dumps({"v": 1, "user": "42"}))
    assert script.requests == []


@pytest.mark.parametrize(
    "body",
    [
        {"data": [{"id": "1", "text": "no author"}], "meta": {"result_count": 1}},
        {"data": [{"id": 1, "text": "numeric id", "author_id": "2"}]},
        {"data": "not a list"},
        "<html>busy</html>",
    ],
)
def test_an_answer_brandkit_cannot_read_is_malformed(body: Any) -> None:
    """A page that breaks X's shape is MalformedResponse (no cursor comes back)."""
    script = Script().on("GET", MENTIONS, (200, body))
    with pytest.raises(MalformedResponse):
        read(adapter(), script)


def test_an_answer_with_only_errors_is_rejected_with_xs_words() -> None:
    """X answers 200 with only ``errors`` for a user it cannot find."""
    body = {
        "errors": [
            {
                "detail": f"Could not find user with id: [{BRAND}].",
                "title": "Not Found Error",
                "type": "https://api.twitter.com/2/problems/resource-not-found",
            }
        ]
    }
    script = Script().on("GET", MENTIONS, (200, body))
    with pytest.raises(Rejected, match="Could not find user") as info:
        read(adapter(), script)
    assert info.value.code == "resource-not-found"


def test_the_user_id_is_asked_for_once_when_unknown() -> None:
    """Without a user id in the settings, ``GET /2/users/me`` comes first."""
    x = adapter(user_id=None, username=None)
    x.account.settings.pop("user_id", None)
    x.account.settings.pop("username", None)
    script = (
        Script()
        .on("GET", r"/2/users/me", (200, {"data": {"id": BRAND, "username": "brand", "name": "B"}}))
        .on("GET", MENTIONS, (200, page([])))
    )
    read(x, script)
    read(x, script)
    assert len(script.sent("GET", r"/2/users/me")) == 1


def test_deeper_replies_in_the_brands_conversations() -> None:
    """A reply to the second part of the brand's thread and a reply to a fan's answer to the
    brand's post are replies of the brand's post; a reply in someone else's conversation
    that names the brand is a mention."""
    fan_answer = sid(60, 1)
    to_part2, to_fan, elsewhere, foreign = sid(50, 2), sid(40, 3), sid(30, 4), sid(900, 5)
    script = Script().on(
        "GET",
        MENTIONS,
        (
            200,
            page(
                [
                    post(
                        elsewhere,
                        "@fan2 @brand agreed",
                        "2001",
                        replied=foreign,
                        to_user="2002",
                        conversation=foreign,
                    ),
                    post(
                        to_fan,
                        "@fan1 @brand me too",
                        "2002",
                        replied=fan_answer,
                        to_user="2001",
                        conversation=ROOT,
                    ),
                    post(
                        to_part2,
                        "@brand and part two?",
                        "2001",
                        replied=PART2,
                        to_user=BRAND,
                        conversation=ROOT,
                    ),
                ],
                tweets=[
                    post(PART2, "part two", BRAND, replied=ROOT, to_user=BRAND, conversation=ROOT),
                    post(
                        fan_answer,
                        "@brand first",
                        "2001",
                        replied=ROOT,
                        to_user=BRAND,
                        conversation=ROOT,
                    ),
                    post(foreign, "my own post", "2002"),
                ],
            ),
        ),
    )
    got = {m.id: m for m in read(adapter(), script).messages}
    assert (got[to_part2].kind, got[to_part2].in_reply_to, got[to_part2].our_post) == (
        "reply",
        PART2,
        ROOT,
    )
    assert (got[to_fan].kind, got[to_fan].in_reply_to, got[to_fan].our_post) == (
        "reply",
        fan_answer,
        ROOT,
    )
    assert got[to_fan].text == "me too"
    assert (got[elsewhere].kind, got[elsewhere].our_post) == ("mention", None)


# -- one post's conversation ---------------------------------------------------------------


def test_replies_read_the_conversation_by_recent_search() -> None:
    """``conversation_id:<root>``, 100 a page, ``next_token``; the brand's own answers and
    the root are left out; every reply belongs to the brand's post."""
    fan_reply, brand_answer, deeper = sid(50, 1), sid(40, 2), sid(30, 3)
    first = {
        "data": [
            post(deeper, "@brand @fan1 thanks", "2002", replied=brand_answer, conversation=ROOT),
            post(brand_answer, "Yes", BRAND, replied=fan_reply, to_user="2001", conversation=ROOT),
        ],
        "includes": {"users": USERS},
        "meta": {
            "result_count": 2,
            "newest_id": deeper,
            "oldest_id": brand_answer,
            "next_token": "b26v89c19zqg8o3fpdy",
        },
    }
    second = {
        "data": [
            post(fan_reply, "@brand open?", "2001", replied=ROOT, to_user=BRAND, conversation=ROOT)
        ],
        "includes": {"users": USERS},
        "meta": {"result_count": 1, "newest_id": fan_reply, "oldest_id": fan_reply},
    }
    # A page between them with no posts but a next_token: X has more after it.
    empty = {"meta": {"result_count": 0, "next_token": "c3"}}
    for body in (first, empty, second):
        check_response(body, "Get2TweetsSearchRecentResponse")
    script = Script().on(
        "GET", r"/2/tweets/search/recent", (200, first), (200, empty), (200, second)
    )
    got = run_flow(
        adapter().replies([PartRef(index=0, id=ROOT), PartRef(index=1, id=PART2)]), script
    )
    assert [m.id for m in got] == [fan_reply, deeper]  # oldest first
    assert all(m.kind == "reply" and m.our_post == ROOT for m in got)
    assert got[1].in_reply_to == brand_answer
    sent = [params(r) for r in script.requests]
    assert sent[0]["query"] == f"conversation_id:{ROOT}" and sent[0]["max_results"] == "100"
    assert [r.get("next_token") for r in sent] == [None, "b26v89c19zqg8o3fpdy", "c3"]


# -- answering -----------------------------------------------------------------------------


def message(**kw: Any) -> Message:
    """A reply from fan1 to the brand's post, as the inbox reads it."""
    args: dict[str, Any] = {
        "platform": "x",
        "account": "x:x",
        "id": sid(50),
        "kind": "reply",
        "author": Author(id="2001", handle="fan1"),
        "text": "Is it open on Sunday?",
        "created_at": "2026-12-04T10:00:00+00:00",
        "in_reply_to": PART2,
        "conversation": ROOT,
        "our_post": ROOT,
    }
    args.update(kw)
    from datetime import datetime

    args["created_at"] = datetime.fromisoformat(args["created_at"])
    return Message(**args)


def test_an_answer_is_posted_under_the_message() -> None:
    """The target keeps the conversation's root; part 0 is posted in reply to the message."""
    x = adapter()
    target = x.reply_target(message())
    assert target.id == sid(50)
    assert target.extra["root"] == PartRef(index=0, id=ROOT).to_dict()
    ctx = ThreadContext(key="3lbxyz2345abc", reply_to=target)
    assert ctx.root is not None and ctx.root.id == ROOT
    script = Script().on("POST", r"/2/tweets", (201, {"data": {"id": sid(1), "text": "Yes"}}))
    part = rendered("Yes, from ten to four.")
    ref = run_flow(x.publish_part(part, part.parts[0], ctx), script)
    assert body_of(script.requests[0])["reply"] == {"in_reply_to_tweet_id": sid(50)}
    assert ref.extra["in_reply_to"] == sid(50)


def test_an_answer_of_another_account_is_refused() -> None:
    """``reply_target`` checks that the message is this account's."""
    with pytest.raises(ConfigurationError, match="act on it with that account"):
        adapter().reply_target(message(account="x:other"))


def test_a_lost_answer_is_found_even_with_the_fans_handle_put_first() -> None:
    """``find_part`` looks under the message; an answer that came back with ``@fan1``
    before its text is still the answer."""
    x = adapter()
    target = x.reply_target(message())
    key = "3lbxyz2345abc"
    answer = {
        "id": sid(1),
        "text": "@fan1 Yes, from ten to four.",
        "created_at": "2099-01-01T00:00:00.000Z",
        "referenced_tweets": [{"type": "replied_to", "id": sid(50)}],
    }
    other = dict(answer, id=sid(2), referenced_tweets=[{"type": "replied_to", "id": ROOT}])
    script = Script().on("GET", rf"/2/users/{BRAND}/tweets", (200, {"data": [other, answer]}))
    part = rendered("Yes, from ten to four.")
    ctx = ThreadContext(key=key, reply_to=target)
    ref = run_flow(x.find_part(part, part.parts[0], ctx), script)
    assert ref is not None and ref.id == sid(1)


# -- moderation ----------------------------------------------------------------------------


def test_hide_and_show_again() -> None:
    """``PUT /2/tweets/:id/hidden`` with ``{"hidden": …}``; X's answer says the new state."""
    x = adapter()
    script = Script().on(
        "PUT",
        rf"/2/tweets/{sid(50)}/hidden",
        lambda r: (200, {"data": {"hidden": body_of(r)["hidden"]}}),
    )
    run_flow(x.set_hidden(message(), True), script)
    run_flow(x.set_hidden(message(), False), script)
    assert [body_of(r) for r in script.requests] == [{"hidden": True}, {"hidden": False}]
    assert script.requests[0].headers["content-type"] == "application/json"


def test_hide_answered_with_the_other_state_is_rejected() -> None:
    """X saying the reply is not hidden after a hide is not taken for success."""
    script = Script().on("PUT", r"/2/tweets/\d+/hidden", (200, {"data": {"hidden": False}}))
    with pytest.raises(Rejected, match="hidden=false"):
        run_flow(adapter().set_hidden(message(), True), script)


def test_hide_outside_the_accounts_conversation_carries_xs_refusal() -> None:
    """X refuses to hide a reply in a conversation the account did not start."""
    refusal = {
        "title": "Forbidden",
        "detail": "You can only hide or unhide replies to conversations you started.",
        "type": "about:blank",
        "status": 403,
    }
    script = Script().on("PUT", r"/2/tweets/\d+/hidden", (403, refusal))
    with pytest.raises(Rejected, match="conversations you started"):
        run_flow(adapter().set_hidden(message(), True), script)


def test_a_mention_cannot_be_hidden_and_nothing_is_sent() -> None:
    """Only replies can be hidden on X."""
    script = Script()
    with pytest.raises(ConfigurationError, match="hides only replies"):
        run_flow(adapter().set_hidden(message(kind="mention", in_reply_to=None), True), script)
    assert script.requests == []


def test_like_posts_the_message_id_for_the_account() -> None:
    """``POST /2/users/:id/likes`` ``{"tweet_id"}``."""
    script = Script().on("POST", rf"/2/users/{BRAND}/likes", (200, {"data": {"liked": True}}))
    run_flow(adapter().like(message()), script)
    assert body_of(script.requests[0]) == {"tweet_id": sid(50)}
    bad = Script().on("POST", r"/2/users/\d+/likes", (200, {"data": {}}))
    with pytest.raises(MalformedResponse):
        run_flow(adapter().like(message()), bad)


def test_conversation_requests_have_their_own_rate_buckets() -> None:
    """Each endpoint is paced by its own declared limit."""
    base = "https://api.x.test"
    cases = {
        ("GET", f"/2/users/{BRAND}/mentions"): "mentions",
        ("GET", "/2/tweets/search/recent"): "search",
        ("PUT", "/2/tweets/123/hidden"): "hide",
        ("POST", f"/2/users/{BRAND}/likes"): "like",
    }
    for (method, path), bucket in cases.items():
        assert _bucket_of(httpx.Request(method, base + path)) == bucket
    declared = {p.bucket: p.limit for p in XAdapter.rate_policies}
    assert declared["mentions"] == 300 and declared["hide"] == 50


def test_capabilities_name_what_x_can_do() -> None:
    """Replies, mentions, quotes; hide and like; no deleting others' posts."""
    caps = XAdapter.capabilities
    assert caps.inbox == frozenset({"reply", "mention", "quote"})
    assert caps.hide_messages and caps.like_messages and not caps.delete_messages


def test_a_reply_post_is_left_as_written() -> None:
    """X threads an answer by ``in_reply_to_tweet_id``; no @handle is added."""
    answer = Post(text="Thanks!")
    assert adapter().reply_post(message(), answer) is answer


def test_a_time_without_an_offset_is_read_as_utc() -> None:
    """X writes every time in UTC with a ``Z``; one without an offset is read as UTC, not
    turned into an error that is not brandkit's."""
    item = post(sid(10), "@brand hello", "2001")
    item["created_at"] = "2026-12-04T10:00:00"
    body = {"data": [item], "meta": {"result_count": 1}, "includes": {"users": USERS}}
    result = read(adapter(), Script().on("GET", MENTIONS, (200, body)))
    (message,) = result.messages
    assert message.created_at == datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
