"""Facebook conversations with canned Graph answers (no I/O): the inbox read and its
cursor, paging and ``limit``, answers to comments and their lookup, moderation."""

from __future__ import annotations

import json
from typing import Any

import pytest

from brandkit import Account
from brandkit._flow import run_flow
from brandkit.content import RenderedPart
from brandkit.delivery import new_tid
from brandkit.errors import ConfigurationError, ContentError, MalformedResponse, Rejected
from brandkit.inbox import InboxPage, Message
from brandkit.platforms._base import PartRef, ThreadContext
from brandkit.platforms._graph import InboxCursor
from brandkit.platforms.facebook import COMMENT_FIELDS, FEED_FIELDS, FacebookAdapter
from brandkit.testing import png
from tests.facebook.conftest import Canned, answer, graph_error, real, rendered

BASE = "https://graph.example"
PAGE = "1234567890"
POST = f"{PAGE}_555"
POSTS = rf"/v25\.0/{PAGE}/feed"


def account() -> Account:
    """A Facebook account on a made-up Graph host."""
    return Account.facebook(page_id=PAGE, base_url=BASE, page_token="page-token-secret-1")


def comment(n: int, second: int, *, who: str | None = "42", parent: str | None = None) -> Any:
    """A comment as Meta sends it with COMMENT_FIELDS (``who=None``: ``from`` left out,
    as for someone who has not granted the app access)."""
    body: dict[str, Any] = {
        "id": f"555_{n}",
        "message": f"comment {n}",
        "created_time": f"2026-12-01T10:00:{second:02d}+0000",
        "is_hidden": False,
        "permalink_url": f"https://www.facebook.com/brand/posts/555/?comment_id={n}",
    }
    if who is not None:
        body["from"] = {"name": "Page" if who == PAGE else f"Fan {who}", "id": who}
    if parent is not None:
        body["parent"] = {"id": parent}
    return body


def edge(items: list[Any], after: str | None = None) -> dict[str, Any]:
    """A page of an edge, with ``next`` when ``after`` is given."""
    out: dict[str, Any] = {"data": items}
    if items:
        out["paging"] = {"cursors": {"before": "QkVGT1JF", "after": after or "TEFTVA=="}}
        if after:
            out["paging"]["next"] = f"{BASE}/v25.0/{POST}/comments?after={after}"
    return out


def posts(*comment_pages: dict[str, Any] | None) -> dict[str, Any]:
    """The Page feed with each post's comments expanded (``None``: no comments, so
    Meta leaves the edge out)."""
    data = []
    for i, page in enumerate(comment_pages):
        post: dict[str, Any] = {"id": POST if i == 0 else f"{PAGE}_{600 + i}"}
        if page is not None:
            post["comments"] = page
        data.append(post)
    return {"data": data, "paging": {"cursors": {"before": "QQ==", "after": "Qg=="}}}


def read(
    adapter: FacebookAdapter, canned: Canned, cursor: str | None = None, limit: int = 5000
) -> InboxPage:
    """Run one inbox read."""
    return run_flow(adapter.inbox(cursor, limit=limit), canned)


def test_one_request_reads_every_level_newest_first() -> None:
    """The inbox is one read of the Page's posts with the comments expanded (every level,
    newest first, 100 a page); the Page's own comment is left out; a reply points at its
    comment, a comment at the post; ``our_post`` is the post's id as published."""
    page = edge(
        [
            comment(3, 30, parent="555_1"),
            comment(2, 20, who=PAGE, parent="555_1"),
            comment(1, 10),
        ]
    )
    canned = Canned(("GET", POSTS, answer(200, posts(page, None))))
    got = read(FacebookAdapter(account()), canned)
    assert len(canned.requests) == 1
    params = canned.requests[0].url.params
    assert params["fields"] == (
        f"{FEED_FIELDS},comments.filter(stream).order(reverse_chronological).limit(100)"
        f"{{{COMMENT_FIELDS}}}"
    )
    assert params["limit"] == "25"
    assert [m.id for m in got.messages] == ["555_1", "555_3"]
    first, reply = got.messages
    assert (first.kind, first.in_reply_to, first.our_post, first.conversation) == (
        "comment",
        POST,
        POST,
        POST,
    )
    assert reply.in_reply_to == "555_1" and reply.our_post == POST
    assert (first.author.id, first.author.name) == ("42", "Fan 42")
    assert first.url == "https://www.facebook.com/brand/posts/555/?comment_id=1"
    assert first.raw["permalink_url"] == first.url and got.more is False


def test_a_real_comment_body_reads() -> None:
    """A real comment body (sns-sdks testdata) reads as a message, its extra fields kept in
    ``raw``."""
    sample = real("facebook/models/comment.json")
    canned = Canned(("GET", POSTS, answer(200, posts(edge([sample])))))
    (m,) = read(FacebookAdapter(account()), canned).messages
    assert (m.id, m.text, m.author.name) == (sample["id"], "My Nice Car ", "Kun Liu")
    assert m.created_at.isoformat() == "2021-07-23T08:35:18+00:00"
    assert m.raw["can_hide"] is True and m.raw["attachment"]["type"] == "photo"


def test_a_comment_without_from_has_an_unknown_author() -> None:
    """Meta leaves ``from`` out for people who have not granted the app access: the
    message is kept, its author unknown."""
    canned = Canned(("GET", POSTS, answer(200, posts(edge([comment(1, 5, who=None)])))))
    (m,) = read(FacebookAdapter(account()), canned).messages
    assert m.author.id == "unknown" and m.author.name is None


@pytest.mark.parametrize(
    "bad",
    [
        {"id": 555, "message": "x", "created_time": "2026-12-01T10:00:00+0000"},
        {"id": "555_1", "message": "x", "created_time": "yesterday"},
        {"id": "555_1", "message": "x"},
        {"id": "555_1", "created_time": "2026-12-01T10:00:00+0000", "is_hidden": "no"},
    ],
)
def test_a_comment_brandkit_cannot_read_is_malformed(bad: dict[str, Any]) -> None:
    """A numeric id, a time that is no Graph time, a missing time or a non-boolean
    ``is_hidden`` is a MalformedResponse, not a silently skipped comment."""
    canned = Canned(("GET", POSTS, answer(200, posts(edge([bad])))))
    with pytest.raises(MalformedResponse):
        read(FacebookAdapter(account()), canned)


@pytest.mark.parametrize(
    "cursor",
    ["not json", "[]", '{"v":2}', '{"v":1,"at":"x","seen":[]}', '{"v":1,"at":1,"seen":[3]}'],
)
def test_a_garbled_cursor_is_refused_before_any_request(cursor: str) -> None:
    """A cursor brandkit did not make is a ConfigurationError that says to pass None."""
    canned = Canned()
    with pytest.raises(ConfigurationError, match="None"):
        read(FacebookAdapter(account()), canned, cursor)
    assert canned.requests == []


def test_a_full_page_of_new_comments_reads_on_until_one_was_seen() -> None:
    """When a post's first page is all new, the post's comments are read on with the
    cursor Meta gave (same fields, filter and order), and reading stops at the page that
    holds a comment already seen; the second read adds nothing."""
    adapter = FacebookAdapter(account())
    cursor = InboxCursor(at=int(_ts(5)), seen=frozenset({"555_1"})).encode()
    canned = Canned(
        ("GET", POSTS, answer(200, posts(edge([comment(5, 50), comment(4, 40)], "QUZURVI=")))),
        (
            "GET",
            rf"/v25\.0/{POST}/comments",
            answer(200, edge([comment(3, 30), comment(2, 20)], "TU9SRQ==")),
        ),
        (
            "GET",
            rf"/v25\.0/{POST}/comments",
            answer(200, edge([comment(6, 6), comment(1, 5), comment(0, 1)], "RU5E")),
        ),
    )
    got = read(adapter, canned, cursor)
    assert [m.id for m in got.messages] == ["555_6", "555_2", "555_3", "555_4", "555_5"]
    assert len(canned.requests) == 3
    follow = canned.requests[1].url.params
    assert dict(follow) == {
        "fields": COMMENT_FIELDS,
        "filter": "stream",
        "order": "reverse_chronological",
        "limit": "100",
        "after": "QUZURVI=",
    }
    assert canned.requests[2].url.params["after"] == "TU9SRQ=="
    again = Canned(("GET", POSTS, answer(200, posts(edge([comment(5, 50), comment(4, 40)])))))
    assert read(adapter, again, got.cursor).messages == ()


def test_limit_stops_with_more_and_the_cursor_continues() -> None:
    """``limit`` gives the oldest new messages and ``more``; reading again from the cursor
    gives the rest, comments of the same second included, each once."""
    adapter = FacebookAdapter(account())
    page = edge([comment(n, 10 if n > 1 else n) for n in (5, 4, 3, 2, 1)])
    first = read(adapter, Canned(("GET", POSTS, answer(200, posts(page)))), limit=3)
    assert [m.id for m in first.messages] == ["555_1", "555_2", "555_3"] and first.more
    rest = read(adapter, Canned(("GET", POSTS, answer(200, posts(page)))), first.cursor)
    assert [m.id for m in rest.messages] == ["555_4", "555_5"] and not rest.more


def test_replies_read_the_whole_post_oldest_first() -> None:
    """``replies`` reads the post's comments (every level, chronological, 100 a page) and
    follows the pages."""
    canned = Canned(
        ("GET", rf"/v25\.0/{POST}/comments", answer(200, edge([comment(1, 1)], "TkVYVA=="))),
        ("GET", rf"/v25\.0/{POST}/comments", answer(200, edge([comment(2, 2)]))),
    )
    got = run_flow(FacebookAdapter(account()).replies([PartRef(index=0, id=POST)]), canned)
    assert [m.id for m in got] == ["555_1", "555_2"]
    assert canned.requests[0].url.params["order"] == "chronological"
    assert canned.requests[0].url.params["filter"] == "stream"


def message(n: int = 1, parent: str | None = None) -> Message:
    """A message as the inbox reads it for this account."""
    canned = Canned(("GET", POSTS, answer(200, posts(edge([comment(n, 9, parent=parent)])))))
    (m,) = read(FacebookAdapter(account()), canned).messages
    return m


def answer_part(text: str = "Thanks!") -> tuple[Any, RenderedPart]:
    """A rendered answer."""
    post = rendered("facebook", text)
    return post, post.parts[0]


def test_an_answer_is_a_comment_under_the_message() -> None:
    """An answer goes to POST /{comment-id}/comments with the message, then its permalink
    is read."""
    adapter = FacebookAdapter(account())
    target = adapter.reply_target(message())
    post, part = answer_part()
    canned = Canned(
        ("POST", r"/v25\.0/555_1/comments", answer(200, {"id": "555_77"})),
        ("GET", r"/v25\.0/555_77", answer(200, {"id": "555_77", "permalink_url": "https://f/77"})),
    )
    ref = run_flow(
        adapter.publish_part(post, part, ThreadContext(new_tid(), reply_to=target)), canned
    )
    assert (ref.id, ref.url) == ("555_77", "https://f/77")
    assert canned.form(0) == {"message": "Thanks!"}


def test_an_answer_with_media_is_refused_before_sending() -> None:
    """Comments are answered with text only."""
    from brandkit import Media

    adapter = FacebookAdapter(account())
    target = adapter.reply_target(message())
    post = rendered("facebook", "look", media=(Media.from_bytes(png(4, 4), alt="x"),))
    canned = Canned()
    with pytest.raises(ContentError):
        run_flow(
            adapter.publish_part(post, post.parts[0], ThreadContext(new_tid(), reply_to=target)),
            canned,
        )
    assert canned.requests == []


def test_a_lost_answer_is_found_among_the_pages_own_replies() -> None:
    """find_part reads the comment's replies newest first and takes the Page's own with
    the same text (not a fan's with the same words); nothing there: None."""
    adapter = FacebookAdapter(account())
    target = adapter.reply_target(message())
    post, part = answer_part("Thanks!")
    ctx = ThreadContext(new_tid(), reply_to=target)
    now = _now_graph()
    ours = {**comment(8, 0, who=PAGE), "message": "Thanks!", "created_time": now}
    theirs = {**comment(9, 0), "message": "Thanks!", "created_time": now}
    canned = Canned(("GET", r"/v25\.0/555_1/comments", answer(200, edge([theirs, ours]))))
    ref = run_flow(adapter.find_part(post, part, ctx), canned)
    assert ref is not None and ref.id == "555_8"
    assert canned.requests[0].url.params["order"] == "reverse_chronological"
    none = Canned(("GET", r"/v25\.0/555_1/comments", answer(200, edge([theirs]))))
    assert run_flow(adapter.find_part(post, part, ctx), none) is None


def test_a_lost_answer_is_this_answer_not_an_older_twin() -> None:
    """The Page answered the same comment with the same words two minutes before this
    answer's key was made; this answer's create was lost but landed. The lookup takes the
    answer made since the key, not the older one (whose id would leave this answer under
    no delivery); with only the older one there, it is taken (a local clock ahead of
    Meta's)."""
    from datetime import UTC, datetime, timedelta

    adapter = FacebookAdapter(account())
    target = adapter.reply_target(message())
    post, part = answer_part("Thanks!")
    ctx = ThreadContext(new_tid(), reply_to=target)
    before = (datetime.now(UTC) - timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M:%S+0000")
    older = {**comment(7, 0, who=PAGE), "message": "Thanks!", "created_time": before}
    newer = {**comment(8, 0, who=PAGE), "message": "Thanks!", "created_time": _now_graph()}
    canned = Canned(("GET", r"/v25\.0/555_1/comments", answer(200, edge([newer, older]))))
    ref = run_flow(adapter.find_part(post, part, ctx), canned)
    assert ref is not None and ref.id == "555_8"
    only = Canned(("GET", r"/v25\.0/555_1/comments", answer(200, edge([older]))))
    ref = run_flow(adapter.find_part(post, part, ctx), only)
    assert ref is not None and ref.id == "555_7"


def test_an_answer_to_a_reply_is_looked_for_under_its_comment() -> None:
    """Facebook threads one level deep: a lost answer to a reply is looked for among the
    replies of the reply's comment."""
    adapter = FacebookAdapter(account())
    target = adapter.reply_target(message(3, parent="555_1"))
    assert target.extra["thread"] == "555_1"
    post, part = answer_part()
    canned = Canned(("GET", r"/v25\.0/555_1/comments", answer(200, edge([]))))
    assert (
        run_flow(adapter.find_part(post, part, ThreadContext(new_tid(), reply_to=target)), canned)
        is None
    )


def test_moderation_requests() -> None:
    """Hide and show again post is_hidden to the comment; delete counts a comment already
    gone as deleted; like posts to /likes; a refusal is typed."""
    adapter = FacebookAdapter(account())
    m = message()
    gone = graph_error(400, 100, "Unsupported delete request.", subcode=33)
    canned = Canned(
        ("POST", r"/v25\.0/555_1", answer(200, {"success": True})),
        ("POST", r"/v25\.0/555_1", answer(200, {"success": True})),
        ("DELETE", r"/v25\.0/555_1", gone),
        ("GET", r"/v25\.0/555_1", graph_error(400, 100, "Unsupported get request.", subcode=33)),
        ("POST", r"/v25\.0/555_1/likes", answer(200, {"success": True})),
        (
            "POST",
            r"/v25\.0/555_1",
            graph_error(400, 100, "(#100) The Page cannot hide its own comment"),
        ),
    )
    run_flow(adapter.set_hidden(m, True), canned)
    run_flow(adapter.set_hidden(m, False), canned)
    run_flow(adapter.delete_message(m), canned)
    run_flow(adapter.like(m), canned)
    assert canned.form(0) == {"is_hidden": "true"} and canned.form(1) == {"is_hidden": "false"}
    with pytest.raises(Rejected, match="cannot hide"):
        run_flow(adapter.set_hidden(m, True), canned)


def _ts(second: int) -> float:
    from datetime import UTC, datetime

    return datetime(2026, 12, 1, 10, 0, second, tzinfo=UTC).timestamp()


def _now_graph() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def test_cursor_round_trip() -> None:
    """The cursor is compact JSON, naming its platform and Page, that reads back to
    itself."""
    c = InboxCursor(at=5, seen=frozenset({"b", "a"}), platform="facebook", account=PAGE)
    assert json.loads(c.encode()) == {
        "v": 1,
        "platform": "facebook",
        "account": PAGE,
        "at": 5,
        "seen": ["a", "b"],
    }
    assert InboxCursor.decode(c.encode(), "facebook", PAGE) == c


def test_capabilities_and_a_throttled_read() -> None:
    """Facebook declares comments and mentions (posts people write on the Page), hiding,
    deleting and liking; a throttled inbox read is RateLimited with Meta's wait, so the
    caller's cursor does not move."""
    from brandkit.errors import RateLimited

    caps = FacebookAdapter.capabilities
    assert caps.inbox == {"comment", "mention"}
    assert caps.hide_messages and caps.delete_messages and caps.like_messages
    usage = {
        PAGE: [
            {
                "type": "pages",
                "call_count": 100,
                "total_cputime": 1,
                "total_time": 1,
                "estimated_time_to_regain_access": 3,
            }
        ]
    }
    throttled = graph_error(
        400,
        80001,
        "(#80001) There have been too many calls to this Page account.",
        **{"x-business-use-case-usage": json.dumps(usage)},
    )
    with pytest.raises(RateLimited) as caught:
        read(FacebookAdapter(account()), Canned(("GET", POSTS, throttled)))
    assert caught.value.retry_after == 180.0


def _threads_cursor() -> str:
    return json.dumps({"v": 1, "user": "42", "marks": {}, "watched": [], "todo": []})


def _instagram_cursor() -> str:
    return InboxCursor(at=5, platform="instagram", account="17841400000000001").encode()


@pytest.mark.parametrize(
    ("cursor", "says"),
    [
        (lambda: InboxCursor(at=5, platform="facebook", account="999").encode(), "another"),
        (_instagram_cursor, "instagram inbox"),
        (_threads_cursor, "threads inbox"),
    ],
)
def test_another_accounts_or_platforms_cursor_is_refused(cursor: Any, says: str) -> None:
    """A cursor another Page's or another platform's inbox made is a ConfigurationError
    that says what to pass, before any request: its mark would skip this Page's
    messages."""
    canned = Canned()
    with pytest.raises(ConfigurationError, match=says) as caught:
        read(FacebookAdapter(account()), canned, cursor())
    assert "pass since=None, or the cursor saved for this account" in str(caught.value)
    assert canned.requests == []


def test_a_cursor_from_before_cursors_named_their_page_is_taken() -> None:
    """A cursor saved by an earlier brandkit (no platform, no account) cannot be checked:
    it is taken as it is, and the cursor the read returns names the Page."""
    old = json.dumps({"v": 1, "at": int(_ts(5)), "seen": ["555_1"]})
    canned = Canned(("GET", POSTS, answer(200, posts(edge([comment(2, 9), comment(1, 5)])))))
    got = read(FacebookAdapter(account()), canned, old)
    assert [m.id for m in got.messages] == ["555_2"]
    assert json.loads(got.cursor or "")["account"] == PAGE
    half = json.dumps({"v": 1, "platform": "facebook", "at": 5, "seen": []})
    with pytest.raises(ConfigurationError, match="None"):
        read(FacebookAdapter(account()), Canned(), half)


def test_a_round_goes_on_from_metas_cursor_and_a_gone_post_ends_it() -> None:
    """A cursor whose round has a post to go on with reads it from the ``after`` cursor
    it keeps (no read of the posts); a post deleted meanwhile (code 100, subcode 33) ends
    its part, and the mark moves to the round's."""
    top = InboxCursor(at=int(_ts(50)), seen=frozenset({"555_9"}))
    state = InboxCursor(
        at=int(_ts(5)),
        seen=frozenset({"555_1"}),
        platform="facebook",
        account=PAGE,
        top=top,
        resume=((POST, "QUZURVI="), (f"{PAGE}_601", "T1RIRVI=")),
    )
    gone = graph_error(400, 100, "Unsupported get request.", subcode=33)
    canned = Canned(
        ("GET", rf"/v25\.0/{POST}/comments", answer(200, edge([comment(3, 30), comment(1, 5)]))),
        ("GET", rf"/v25\.0/{PAGE}_601/comments", gone),
    )
    got = read(FacebookAdapter(account()), canned, state.encode())
    assert [m.id for m in got.messages] == ["555_3"] and not got.more
    assert canned.requests[0].url.params["after"] == "QUZURVI="
    assert canned.requests[1].url.params["after"] == "T1RIRVI="
    after = InboxCursor.decode(got.cursor, "facebook", PAGE)
    assert (after.at, after.seen, after.top, after.resume) == (top.at, top.seen, None, ())
