"""LinkedIn conversations: the inbox and replies flows with canned answers, answering and
liking comments, and the emulator's comments, audience and reactions."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, quote

import httpx
import pytest

from brandkit import Account, Author, Client, ConfigurationError, DeliveryStatus, Post
from brandkit._flow import run_flow
from brandkit.delivery import new_tid, tid_time
from brandkit.errors import MalformedResponse
from brandkit.inbox import Message
from brandkit.platforms._base import PartRef, ThreadContext
from brandkit.platforms.linkedin import LinkedInAdapter
from brandkit.testing.linkedin import LinkedInEmulator
from tests.linkedin.conftest import FAST, ORG, Canned, answer, li_error, rendered

POST = "urn:li:share:7300000000000000001"
OTHER = "urn:li:share:7300000000000000002"
T0 = 1_790_000_000_000  # ms


def comment(
    cid: str,
    text: str,
    at: int,
    *,
    on: str = POST,
    actor: str = "urn:li:person:fan1",
    parent: str | None = None,
    nested: int = 0,
) -> dict[str, Any]:
    """A comment as GET /rest/socialActions/{urn}/comments shows it."""
    urn = f"urn:li:comment:({on},{cid})"
    data: dict[str, Any] = {
        "id": cid,
        "commentUrn": urn,
        "actor": actor,
        "object": on,
        "message": {"text": text, "attributes": []},
        "created": {"actor": actor, "time": at},
        "lastModified": {"actor": actor, "time": at},
        "commentsSummary": {"totalFirstLevelComments": nested, "aggregatedTotalComments": nested},
    }
    if parent is not None:
        data["parentComment"] = parent
    return data


def page(*elements: dict[str, Any], start: int = 0, total: int | None = None) -> httpx.Response:
    """One page of comments."""
    paging: dict[str, Any] = {"start": start, "count": 100, "links": []}
    paging["total"] = len(elements) if total is None else total
    return answer(200, {"paging": paging, "elements": list(elements)})


def posts(*urns: str) -> httpx.Response:
    """The posts finder's answer."""
    return answer(
        200,
        {"elements": [{"id": u, "commentary": "x", "lifecycleState": "PUBLISHED"} for u in urns]},
    )


def comments_path(urn: str) -> str:
    """The (decoded) path regex of the comments under ``urn``."""
    return re.escape(f"/rest/socialActions/{urn}/comments")


def params(request: httpx.Request) -> dict[str, str]:
    """The request's query parameters."""
    return {k: v[0] for k, v in parse_qs(request.url.query.decode()).items()}


# -- inbox ---------------------------------------------------------------------------------------


def test_inbox_reads_comments_once_with_their_parent_and_author(adapter: LinkedInAdapter) -> None:
    """From no cursor: the recent posts once, then each post's comments; the page's own
    comments are left out; a second read from the cursor with the same answers adds
    nothing, and a newer comment comes back alone."""
    first = [
        comment("1", "Great (news)", T0, actor="urn:li:person:aB3x"),
        comment("2", "our own answer", T0 + 5, actor=ORG),
    ]
    canned = Canned(
        ("GET", "/rest/posts", posts(POST)),
        ("GET", comments_path(POST), page(*first)),
    )
    got = run_flow(adapter._comment_inbox(None, limit=100), canned)
    (m,) = got.messages
    assert (m.id, m.kind, m.text) == (f"urn:li:comment:({POST},1)", "comment", "Great (news)")
    assert (m.in_reply_to, m.our_post, m.conversation) == (POST, POST, POST)
    assert (m.author.id, m.author.handle) == ("urn:li:person:aB3x", "aB3x")
    assert m.created_at == datetime.fromtimestamp(T0 / 1000, UTC)
    assert (
        m.url == f"https://www.linkedin.com/feed/update/{POST}/?commentUrn={quote(m.id, safe='')}"
    )
    assert m.raw["message"] == {"text": "Great (news)", "attributes": []}
    assert m.account == adapter.account.key and not got.more
    finder = params(canned.requests[0])
    assert (finder["q"], finder["author"], finder["count"]) == ("author", ORG, "20")
    assert params(canned.requests[1]) == {"start": "0", "count": "100"}

    again = Canned(
        ("GET", "/rest/posts", posts(POST)),
        ("GET", comments_path(POST), page(*first)),
    )
    second = run_flow(adapter._comment_inbox(got.cursor, limit=100), again)
    assert second.messages == ()
    later = comment("3", "and another", T0 + 9)
    third = run_flow(
        adapter._comment_inbox(second.cursor, limit=100),
        Canned(
            ("GET", "/rest/posts", posts(POST)),
            ("GET", comments_path(POST), page(*first, later)),
        ),
    )
    assert [x.text for x in third.messages] == ["and another"]


def test_comments_at_the_same_millisecond_are_not_lost(adapter: LinkedInAdapter) -> None:
    """A comment made in the millisecond of the newest one seen is still new."""
    a = comment("1", "a", T0)
    got = run_flow(
        adapter._comment_inbox(None, limit=10),
        Canned(("GET", "/rest/posts", posts(POST)), ("GET", comments_path(POST), page(a))),
    )
    b = comment("2", "b", T0)
    more = run_flow(
        adapter._comment_inbox(got.cursor, limit=10),
        Canned(("GET", "/rest/posts", posts(POST)), ("GET", comments_path(POST), page(a, b))),
    )
    assert [m.text for m in more.messages] == ["b"]


def test_nested_comments_are_read_where_their_counts_changed(adapter: LinkedInAdapter) -> None:
    """Comments on a comment are read from its own socialActions when its counts (first
    level, all levels) changed since the cursor; they answer the comment and come once.
    Unchanged counts cost no request until `nested_recheck` has passed: one deleted and
    another made between two syncs leave them as they were, so they are read again then."""
    now = [1_800_000_000.0]
    adapter.clock = lambda: now[0]
    top = comment("1", "question", T0, nested=1)
    top_urn = top["commentUrn"]
    child = comment("5", "me too", T0 + 3, on=POST, parent=top_urn)
    canned = Canned(
        ("GET", "/rest/posts", posts(POST)),
        ("GET", comments_path(POST), page(top)),
        ("GET", comments_path(top_urn), page(child)),
    )
    got = run_flow(adapter._comment_inbox(None, limit=10), canned)
    assert [(m.text, m.in_reply_to, m.our_post) for m in got.messages] == [
        ("question", POST, POST),
        ("me too", top_urn, POST),
    ]
    # Same counts: the nested comments are not asked for again.
    quiet = Canned(("GET", "/rest/posts", posts(POST)), ("GET", comments_path(POST), page(top)))
    got = run_flow(adapter._comment_inbox(got.cursor, limit=10), quiet)
    assert got.messages == () and len(quiet.requests) == 2
    # The first nested comment gone and another made, the counts as they were: read again
    # once `nested_recheck` has passed, and the new one comes, once.
    later = comment("6", "and me", T0 + 9, on=POST, parent=top_urn)
    now[0] += adapter.nested_recheck
    again = Canned(
        ("GET", "/rest/posts", posts(POST)),
        ("GET", comments_path(POST), page(top)),
        ("GET", comments_path(top_urn), page(later)),
    )
    got = run_flow(adapter._comment_inbox(got.cursor, limit=10), again)
    assert [m.text for m in got.messages] == ["and me"]
    # A count that changed is read at once.
    deeper = comment("1", "question", T0, nested=1)
    deeper["commentsSummary"]["aggregatedTotalComments"] = 2
    more = comment("7", "a reply's reply", T0 + 12, on=POST, parent=top_urn)
    changed = Canned(
        ("GET", "/rest/posts", posts(POST)),
        ("GET", comments_path(POST), page(deeper)),
        ("GET", comments_path(top_urn), page(later, more)),
    )
    got = run_flow(adapter._comment_inbox(got.cursor, limit=10), changed)
    assert [m.text for m in got.messages] == ["a reply's reply"]
    # A comment without nested comments costs no request of its own.
    bare = comment("1", "question", T0)
    quiet = Canned(("GET", "/rest/posts", posts(POST)), ("GET", comments_path(POST), page(bare)))
    assert run_flow(adapter._comment_inbox(got.cursor, limit=10), quiet).messages == ()
    assert len(quiet.requests) == 2


def test_a_cursor_from_before_with_first_level_counts_is_read(adapter: LinkedInAdapter) -> None:
    """Cursors written before kept each comment's first-level count alone ("n": {urn: 1}):
    they are still read, and such a comment's nested comments are read once more."""
    top = comment("1", "question", T0, nested=1)
    top_urn = top["commentUrn"]
    child = comment("5", "me too", T0 + 3, on=POST, parent=top_urn)
    old = json.dumps(
        {"v": 1, "posts": {POST: {"t": T0 + 3, "ids": [child["commentUrn"]], "n": {top_urn: 1}}}}
    )
    canned = Canned(
        ("GET", "/rest/posts", posts(POST)),
        ("GET", comments_path(POST), page(top)),
        ("GET", comments_path(top_urn), page(child)),
    )
    got = run_flow(adapter._comment_inbox(old, limit=10), canned)
    assert got.messages == () and len(canned.requests) == 3


def test_comments_page_by_page(adapter: LinkedInAdapter) -> None:
    """More than a page: start moves by what came back, and stops at the total."""
    first = [comment(str(i), f"c{i}", T0 + i) for i in range(100)]
    second = [comment(str(i), f"c{i}", T0 + i) for i in range(100, 130)]
    canned = Canned(
        ("GET", "/rest/posts", posts(POST)),
        ("GET", comments_path(POST), page(*first, total=130)),
        ("GET", comments_path(POST), page(*second, start=100, total=130)),
    )
    got = run_flow(adapter._comment_inbox(None, limit=1000), canned)
    assert len(got.messages) == 130
    assert params(canned.requests[2])["start"] == "100"


def test_without_a_total_a_page_filled_to_the_servers_count_is_not_the_end(
    adapter: LinkedInAdapter,
) -> None:
    """No paging.total, and the server answered 50 where 100 were asked for (its
    paging.count says 50): reading goes on, and stops at a page shorter than that."""

    def capped(elements: list[dict[str, Any]], start: int) -> httpx.Response:
        paging = {"start": start, "count": 50, "links": []}
        return answer(200, {"paging": paging, "elements": elements})

    first = [comment(str(i), f"c{i}", T0 + i) for i in range(50)]
    second = [comment(str(i), f"c{i}", T0 + i) for i in range(50, 80)]
    canned = Canned(
        ("GET", "/rest/posts", posts(POST)),
        ("GET", comments_path(POST), capped(first, 0)),
        ("GET", comments_path(POST), capped(second, 50)),
    )
    got = run_flow(adapter._comment_inbox(None, limit=1000), canned)
    assert len(got.messages) == 80 and not canned.answers
    assert params(canned.requests[2])["start"] == "50"


def test_a_short_page_ends_the_comments_even_below_a_larger_total(
    adapter: LinkedInAdapter,
) -> None:
    """A page shorter than asked for is the end, as LinkedIn documents, though paging.total
    is larger (a total that counts nested comments): no request for an empty page."""
    canned = Canned(
        ("GET", "/rest/posts", posts(POST)),
        ("GET", comments_path(POST), page(comment("1", "hi", T0), total=7)),
    )
    assert [m.text for m in run_flow(adapter._comment_inbox(None, limit=10), canned).messages] == [
        "hi"
    ]
    assert len(canned.requests) == 2


def test_limit_stops_between_posts_and_the_cursor_continues(adapter: LinkedInAdapter) -> None:
    """At the limit the read stops after a whole post; the next read takes the posts left
    without asking for the posts again."""
    canned = Canned(
        ("GET", "/rest/posts", posts(POST, OTHER)),
        ("GET", comments_path(POST), page(comment("1", "one", T0), comment("2", "two", T0))),
    )
    got = run_flow(adapter._comment_inbox(None, limit=1), canned)
    assert [m.text for m in got.messages] == ["one", "two"] and got.more
    rest = Canned(("GET", comments_path(OTHER), page(comment("7", "other", T0, on=OTHER))))
    after = run_flow(adapter._comment_inbox(got.cursor, limit=1), rest)
    assert [m.text for m in after.messages] == ["other"] and not after.more
    assert json.loads(after.cursor or "")["posts"].keys() == {POST, OTHER}


def test_posts_that_left_the_window_are_forgotten(adapter: LinkedInAdapter) -> None:
    """The cursor keeps only the posts of the current window: it stays bounded."""
    got = run_flow(
        adapter._comment_inbox(None, limit=10),
        Canned(("GET", "/rest/posts", posts(POST)), ("GET", comments_path(POST), page())),
    )
    later = run_flow(
        adapter._comment_inbox(got.cursor, limit=10),
        Canned(("GET", "/rest/posts", posts(OTHER)), ("GET", comments_path(OTHER), page())),
    )
    assert list(json.loads(later.cursor or "")["posts"]) == [OTHER]


@pytest.mark.parametrize(
    "cursor",
    [
        "not json",
        "[]",
        '{"v": 2, "posts": {}}',
        '{"v": 1}',
        '{"v": 1, "posts": {"urn:li:share:1": {"t": "x", "ids": [], "n": {}}}}',
        '{"v": 1, "posts": {"nope": {"t": 1, "ids": [], "n": {}}}}',
        '{"v": 1, "posts": {}, "todo": [1]}',
    ],
)
def test_a_garbled_cursor_says_to_pass_none(adapter: LinkedInAdapter, cursor: str) -> None:
    """A cursor this adapter did not make is refused before any request."""
    canned = Canned()
    with pytest.raises(ConfigurationError, match="since=None"):
        run_flow(adapter._comment_inbox(cursor, limit=10), canned)
    assert canned.requests == []


@pytest.mark.parametrize("time", [None, 10**18], ids=["no time", "past year 9999"])
def test_a_comment_brandkit_cannot_read_is_skipped_with_a_warning(
    adapter: LinkedInAdapter, time: int | None, caplog: pytest.LogCaptureFixture
) -> None:
    """A comment without its time, or one no date can hold, is left out with a warning
    naming it and the field: the page's other comments are read (it used to fail the page,
    at every sync)."""
    bad = comment("1", "x", 10**18 if time is None else time)
    if time is None:
        del bad["created"]
    canned = Canned(
        ("GET", "/rest/posts", posts(POST)),
        ("GET", comments_path(POST), page(bad, comment("2", "fine", T0))),
    )
    with caplog.at_level("WARNING", logger="brandkit.platforms.linkedin"):
        got = run_flow(adapter._comment_inbox(None, limit=10), canned)
    assert [m.text for m in got.messages] == ["fine"]
    (record,) = caplog.records
    assert "created" in record.getMessage() and bad["commentUrn"] in record.getMessage()


def test_a_page_without_its_list_is_malformed(adapter: LinkedInAdapter) -> None:
    """A page whose ``elements`` is no list cannot be read as a page: MalformedResponse."""
    canned = Canned(
        ("GET", "/rest/posts", posts(POST)),
        ("GET", comments_path(POST), answer(200, {"elements": "none"})),
    )
    with pytest.raises(MalformedResponse, match="elements"):
        run_flow(adapter._comment_inbox(None, limit=10), canned)


def test_another_accounts_cursor_is_refused(adapter: LinkedInAdapter) -> None:
    """The cursor names the author whose posts it follows: another account's is refused
    before it reads that account's posts as this one's (a cursor from before, without an
    author, is still read)."""
    canned = Canned(
        ("GET", "/rest/posts", posts(POST, OTHER)),
        ("GET", comments_path(POST), page(comment("1", "one", T0))),
    )
    got = run_flow(adapter._comment_inbox(None, limit=1), canned)
    assert got.more and json.loads(got.cursor or "")["a"] == ORG
    member = LinkedInAdapter(Account.linkedin(token="t", author="urn:li:person:someone"))
    refused = Canned()
    with pytest.raises(ConfigurationError, match="another account"):
        run_flow(member.inbox(got.cursor, limit=10), refused)
    assert refused.requests == []
    old = json.loads(got.cursor or "")
    del old["a"]
    rest = Canned(("GET", comments_path(OTHER), page(comment("7", "other", T0, on=OTHER))))
    after = run_flow(adapter._comment_inbox(json.dumps(old), limit=10), rest)
    assert [m.text for m in after.messages] == ["other"]


def test_replies_reads_one_post(adapter: LinkedInAdapter) -> None:
    """replies() reads the post's comments (nested too), the page's own left out."""
    top = comment("1", "q", T0, nested=1)
    canned = Canned(
        ("GET", comments_path(POST), page(top, comment("2", "ours", T0, actor=ORG))),
        ("GET", comments_path(top["commentUrn"]), page(comment("3", "a", T0 + 1))),
    )
    got = run_flow(adapter.replies([PartRef(index=0, id=POST)]), canned)
    assert [m.text for m in got] == ["q", "a"]


# -- answering, liking ----------------------------------------------------------------------------


def message(adapter: LinkedInAdapter, cid: str = "1", parent: str | None = None) -> Message:
    """A comment on POST as the inbox reports it."""
    urn = f"urn:li:comment:({POST},{cid})"
    return Message(
        platform="linkedin",
        account=adapter.account.key,
        id=urn,
        kind="comment",
        author=Author(id="urn:li:person:fan1"),
        text="hi",
        created_at=datetime.now(UTC),
        in_reply_to=parent or POST,
        our_post=POST,
        extra={"post": POST},
    )


def test_an_answer_is_a_nested_comment(adapter: LinkedInAdapter) -> None:
    """publish_part under a message comments under it as the page: plain text (not little
    text), parentComment, and the ref is the new comment."""
    target = adapter.reply_target(message(adapter))
    made = comment("9", "Thanks (really)!", T0, actor=ORG, parent=target.id)
    canned = Canned(("POST", comments_path(target.id), answer(201, made, **{"x-restli-id": "9"})))
    post = rendered("Thanks (really)!")
    ctx = ThreadContext(key=new_tid(), reply_to=target)
    ref = run_flow(adapter.publish_part(post, post.parts[0], ctx), canned)
    assert canned.body(0) == {
        "actor": ORG,
        "object": POST,
        "message": {"text": "Thanks (really)!"},
        "parentComment": target.id,
    }
    assert ref.id == made["commentUrn"] and ref.extra["post"] == POST


def test_an_answer_to_a_nested_comment_goes_under_its_parent(adapter: LinkedInAdapter) -> None:
    """LinkedIn nests one level: the answer to a nested comment is under the top one."""
    parent = f"urn:li:comment:({POST},1)"
    target = adapter.reply_target(message(adapter, "5", parent=parent))
    assert target.id == parent and target.extra["post"] == POST


def test_a_lost_answer_is_found_among_the_comments(adapter: LinkedInAdapter) -> None:
    """find_part under a message finds the page's comment with that text made since the
    attempt began; an older one or someone else's is not it."""
    key = new_tid()
    started = tid_time(key)
    assert started is not None
    ms = int(started.timestamp() * 1000)
    target = adapter.reply_target(message(adapter))
    canned = Canned(
        (
            "GET",
            comments_path(target.id),
            page(
                comment("2", "Yes.", ms - 3_600_000, actor=ORG),
                comment("3", "Yes.", ms + 10, actor="urn:li:person:x"),
                comment("4", "Yes.", ms + 20, actor=ORG),
            ),
        )
    )
    post = rendered("Yes.")
    ctx = ThreadContext(key=key, reply_to=target)
    ref = run_flow(adapter.find_part(post, post.parts[0], ctx), canned)
    assert ref is not None and ref.id == f"urn:li:comment:({POST},4)"


def test_like_is_a_reaction_as_the_page(adapter: LinkedInAdapter) -> None:
    """POST /rest/reactions?actor=<page> with root and LIKE."""
    m = message(adapter)
    canned = Canned(("POST", "/rest/reactions", answer(201, {"root": m.id})))
    run_flow(adapter.like(m), canned)
    assert params(canned.requests[0]) == {"actor": ORG}
    assert canned.body(0) == {"root": m.id, "reactionType": "LIKE"}


def test_deleting_an_answer_deletes_the_comment(adapter: LinkedInAdapter) -> None:
    """delete_part of a comment ref: DELETE under its thread with the actor."""
    urn = f"urn:li:comment:({POST},9)"
    canned = Canned(("DELETE", comments_path(POST) + "/9", answer(204)))
    run_flow(adapter.delete_part(PartRef(index=0, id=urn)), canned)
    assert params(canned.requests[0]) == {"actor": ORG}


def test_a_refused_comment_read_is_typed(adapter: LinkedInAdapter) -> None:
    """Without the read permission the inbox raises LinkedIn's refusal."""
    refusal = li_error(403, "Not enough permissions to access: x", "ACCESS_DENIED")
    with pytest.raises(Exception, match="permission"):
        run_flow(
            adapter._comment_inbox(None, limit=1),
            Canned(("GET", "/rest/posts", posts(POST)), ("GET", comments_path(POST), refusal)),
        )


# -- the emulator --------------------------------------------------------------------------------


def test_emulator_audience_comments_and_what_it_cannot() -> None:
    """The audience comments on posts and comments; quotes and replies are not LinkedIn's
    and say what to use; an unknown target is a KeyError."""
    emu = LinkedInEmulator()
    with emu.serve():
        account = emu.account()
        with Client(retry=FAST) as client:
            (d,) = client.publish(Post(text="Hello"), account)
        fan = emu.audience("fan1")
        first = fan.comment(d.ids[0], "hi")
        nested = emu.audience("fan2").comment(first, "hi back")
        assert [c.urn for c in emu.comments(d.ids[0])] == [first, nested]
        assert emu.comments(d.ids[0])[1].object == first
        for call in (lambda: fan.quote(d.ids[0], "x"),):
            with pytest.raises(NotImplementedError, match="comment"):
                call()
        with pytest.raises(NotImplementedError, match="comment"):
            fan.reply(d.ids[0], "x")
        with pytest.raises(KeyError):
            fan.comment("urn:li:share:1", "x")
        assert emu.post_texts() == ["Hello"]


def test_emulator_comment_pages_and_reactions() -> None:
    """GET comments pages with start/count (100 at most, total given); POST
    /rest/reactions is counted in likesSummary; answers() lists the page's own."""
    emu = LinkedInEmulator()
    account = emu.account()
    headers = {
        "authorization": f"Bearer {account.secret('token')}",
        "linkedin-version": str(account.settings["version"]),
        "x-restli-protocol-version": "2.0.0",
    }
    with httpx.Client(transport=emu.transport(), base_url="http://li.test") as http:
        r = http.post("/rest/posts", headers=headers, json=_post_body(org_of(account)))
        urn = r.headers["x-restli-id"]
        ids = [emu.audience(f"f{i}").comment(urn, f"c{i}") for i in range(130)]
        path = f"/rest/socialActions/{quote(urn, safe='')}/comments"
        one = http.get(path, params={"start": 0, "count": 500}, headers=headers).json()
        # Rest.li's next link, as LinkedIn sends it (the emulator sent none before 3bbe9a6).
        assert one["paging"] == {
            "start": 0,
            "count": 100,
            "total": 130,
            "links": [
                {"rel": "next", "href": f"{path}?start=100&count=100", "type": "application/json"}
            ],
        }
        two = http.get(path, params={"start": 100, "count": 100}, headers=headers).json()
        assert [e["commentUrn"] for e in one["elements"] + two["elements"]] == ids
        liked = http.post(
            "/rest/reactions",
            params={"actor": org_of(account)},
            headers=headers,
            json={"root": ids[0], "reactionType": "LIKE"},
        )
        assert liked.status_code == 201 and liked.json()["reactionType"] == "LIKE"
        assert emu.reactions(ids[0]) == {org_of(account): "LIKE"}
        first = http.get(path, params={"count": 1}, headers=headers).json()["elements"][0]
        assert first["likesSummary"]["totalLikes"] == 1
        bad = http.post(
            "/rest/reactions",
            params={"actor": org_of(account)},
            headers=headers,
            json={"root": ids[0], "reactionType": "WOW"},
        )
        assert bad.status_code == 422 and "reactionType" in bad.json()["message"]
        answered = http.post(
            f"/rest/socialActions/{quote(ids[0], safe='')}/comments",
            headers=headers,
            json={
                "actor": org_of(account),
                "object": urn,
                "message": {"text": "thanks"},
                "parentComment": ids[0],
            },
        )
        assert answered.status_code == 201
        assert emu.answers(ids[0]) == ["thanks"] and emu.answers(ids[1]) == []


def test_emulator_refuses_deleting_someone_elses_comment() -> None:
    """DELETE of an audience member's comment as the page is refused (403): LinkedIn
    documents no way to delete other people's comments."""
    emu = LinkedInEmulator()
    account = emu.account()
    headers = {
        "authorization": f"Bearer {account.secret('token')}",
        "linkedin-version": str(account.settings["version"]),
        "x-restli-protocol-version": "2.0.0",
    }
    with httpx.Client(transport=emu.transport(), base_url="http://li.test") as http:
        r = http.post("/rest/posts", headers=headers, json=_post_body(org_of(account)))
        urn = r.headers["x-restli-id"]
        theirs = emu.audience("fan").comment(urn, "mine")
        cid = theirs.rsplit(",", 1)[1].rstrip(")")
        gone = http.delete(
            f"/rest/socialActions/{quote(urn, safe='')}/comments/{cid}",
            params={"actor": org_of(account)},
            headers=headers,
        )
        assert gone.status_code == 403
        assert [c.urn for c in emu.comments(urn)] == [theirs]


def test_inbox_over_the_emulator_with_nested_answers_and_limit() -> None:
    """End to end in-process: comments on two posts and a nested one come back once, in
    pages bounded by limit; the page's own answer is not read back as a message."""
    emu = LinkedInEmulator()
    with emu.serve(), Client(retry=FAST) as client:
        account = emu.account()
        (a,) = client.publish(Post(text="first"), account)
        (b,) = client.publish(Post(text="second"), account)
        top = emu.audience("fan").comment(a.ids[0], "on a")
        emu.audience("fan").comment(b.ids[0], "on b")
        page1 = client.inbox(account, limit=1)
        assert page1.more and len(page1.messages) == 1
        page2 = client.inbox(account, since=page1.cursor, limit=1)
        assert not page2.more
        seen = {m.text for m in page1.messages + page2.messages}
        assert seen == {"on a", "on b"}
        (m,) = [x for x in page1.messages + page2.messages if x.id == top]
        answer_ = client.reply(m, Post(text="thanks"))
        assert answer_.status is DeliveryStatus.SENT
        emu.audience("other").comment(top, "me too")
        later = client.inbox(account, since=page2.cursor)
        assert [(x.text, x.in_reply_to) for x in later.messages] == [("me too", top)]
        client.like(m)
        assert emu.reactions(top) == {account.settings["author"]: "LIKE"}


def org_of(account: Any) -> str:
    """The account's organization URN."""
    return str(account.settings["author"])


def _post_body(author: str) -> dict[str, Any]:
    return {
        "author": author,
        "commentary": "hello",
        "visibility": "PUBLIC",
        "distribution": {"feedDistribution": "MAIN_FEED"},
        "lifecycleState": "PUBLISHED",
    }


def test_an_answer_deleted_and_another_made_between_syncs_is_read_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A comment's counts of answers are all LinkedIn tells of them: one deleted and another
    made between two syncs leave them as they were. With ``nested_recheck = 0`` (every
    answered comment read at every sync) the new answer comes at the next sync, once; by
    default it comes once the recheck time has passed (see the canned test above)."""
    monkeypatch.setattr(LinkedInAdapter, "nested_recheck", 0.0)
    emu = LinkedInEmulator()
    with emu.serve(), Client(retry=FAST) as client:
        account = emu.account()
        (d,) = client.publish(Post(text="launch"), account)
        top = emu.audience("fan").comment(d.ids[0], "when in Europe?")
        first = client.inbox(account)
        (m,) = first.messages
        ours = client.reply(m, Post(text="in May"))
        assert ours.status is DeliveryStatus.SENT
        second = client.inbox(account, since=first.cursor)
        assert second.messages == ()
        client.delete(ours)
        emu.audience("fan2").comment(top, "and Asia?")
        third = client.inbox(account, since=second.cursor)
        assert [(x.text, x.in_reply_to) for x in third.messages] == [("and Asia?", top)]
        assert client.inbox(account, since=third.cursor).messages == ()


def test_a_comment_on_a_nested_comment_is_read() -> None:
    """A nested comment tells its own count of comments under it: a comment two levels
    down (the API takes one) reaches the inbox, answering the nested comment, once."""
    emu = LinkedInEmulator()
    with emu.serve(), Client(retry=FAST) as client:
        account = emu.account()
        (d,) = client.publish(Post(text="launch"), account)
        top = emu.audience("fan").comment(d.ids[0], "when?")
        nested = emu.audience("fan2").comment(top, "in May, I read")
        first = client.inbox(account)
        assert {m.text for m in first.messages} == {"when?", "in May, I read"}
        deep = emu.audience("fan").comment(nested, "where did you read that?")
        second = client.inbox(account, since=first.cursor)
        assert [(m.id, m.in_reply_to) for m in second.messages] == [(deep, nested)]
        assert client.inbox(account, since=second.cursor).messages == ()


def test_pages_smaller_than_asked_for_are_read_to_the_total() -> None:
    """The largest count of a comments page is not confirmed: where LinkedIn serves fewer
    comments a page than asked for (its paging.count says so), reading goes on to the
    end instead of stopping at the first page."""
    emu = LinkedInEmulator(comment_page_max=50)
    with emu.serve(), Client(retry=FAST) as client:
        account = emu.account()
        (d,) = client.publish(Post(text="launch"), account)
        for i in range(130):
            emu.audience(f"fan{i}").comment(d.ids[0], f"c{i}")
        got = client.inbox(account)
        assert sorted(m.text for m in got.messages) == sorted(f"c{i}" for i in range(130))
        assert client.inbox(account, since=got.cursor).messages == ()


def test_emulator_aggregated_count_takes_every_level() -> None:
    """commentsSummary: totalFirstLevelComments counts the comments directly under a
    comment, aggregatedTotalComments every one below it (deleted ones left out)."""
    emu = LinkedInEmulator()
    account = emu.account()
    headers = {
        "authorization": f"Bearer {account.secret('token')}",
        "linkedin-version": str(account.settings["version"]),
        "x-restli-protocol-version": "2.0.0",
    }
    with emu.serve() as base, httpx.Client(base_url=base) as http:
        r = http.post("/rest/posts", headers=headers, json=_post_body(org_of(account)))
        post = r.headers["x-restli-id"]
        top = emu.audience("a").comment(post, "top")
        mid = emu.audience("b").comment(top, "mid")
        emu.audience("c").comment(mid, "deep")
        emu.audience("d").comment(top, "mid 2")
        path = f"/rest/socialActions/{quote(post, safe='')}/comments"
        (got,) = http.get(path, headers=headers).json()["elements"]
        assert got["commentsSummary"] == {
            "totalFirstLevelComments": 2,
            "aggregatedTotalComments": 3,
        }


def test_the_warning_about_an_unreadable_comment_is_one_line(
    adapter: LinkedInAdapter, caplog: pytest.LogCaptureFixture
) -> None:
    """The comment's URN is the platform's text: a line break or an escape sequence in it
    is written escaped, so the warning cannot forge another log line."""
    bad = comment("1", "x", T0)
    bad["commentUrn"] = "urn:li:comment:1\nCRITICAL all tokens revoked\x1b[2J"
    bad["message"] = {"text": 5}
    canned = Canned(
        ("GET", "/rest/posts", posts(POST)),
        ("GET", comments_path(POST), page(bad, comment("2", "fine", T0))),
    )
    with caplog.at_level("WARNING", logger="brandkit.platforms.linkedin"):
        run_flow(adapter._comment_inbox(None, limit=10), canned)
    (record,) = caplog.records
    text = record.getMessage()
    assert "\n" not in text and "\x1b" not in text
    assert "urn:li:comment:1\\nCRITICAL all tokens revoked\\x1b[2J" in text
