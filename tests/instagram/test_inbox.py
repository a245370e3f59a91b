"""Instagram conversations with canned Graph answers (no I/O): the inbox read and its
cursor, paging and ``limit``, answers to comments and their lookup, moderation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from brandkit import Account, Media
from brandkit._flow import run_flow
from brandkit.delivery import new_tid
from brandkit.errors import ConfigurationError, ContentError, MalformedResponse
from brandkit.inbox import InboxPage, Message
from brandkit.platforms._base import PartRef, ThreadContext
from brandkit.platforms.instagram import COMMENT_FIELDS, InstagramAdapter
from brandkit.testing import TINY_JPEG
from tests.facebook.conftest import Canned, answer, graph_error, real, rendered

BASE = "https://graph.example"
IG = "17841400000000001"
MEDIA = "17900000000000001"
LIST = rf"/v25\.0/{IG}/media"
TAGS = rf"/v25\.0/{IG}/tags"


def no_tags() -> tuple[str, str, Any]:
    """The answer of ``/tags`` (the media others tagged the account in) when there are
    none: a read from the top asks it after the media."""
    return ("GET", TAGS, answer(200, {"data": []}))


def account() -> Account:
    """An Instagram account on a made-up Graph host."""
    return Account.instagram(
        ig_user_id=IG,
        token="ig-token-secret",
        media_host=lambda m: "https://cdn/x.jpg",
        base_url=BASE,
    )


def comment(n: int, second: int, *, who: str = "ada", ours: bool = False, **extra: Any) -> Any:
    """A comment as Meta sends it with COMMENT_FIELDS (``user`` only on the account's
    own)."""
    body: dict[str, Any] = {
        "id": f"1790{n:04d}",
        "text": f"comment {n}",
        "username": "brand" if ours else who,
        "timestamp": f"2026-12-01T10:00:{second:02d}+0000",
        "hidden": False,
        "from": {"id": IG if ours else f"99{n}", "username": "brand" if ours else who},
        **extra,
    }
    if ours:
        body["user"] = {"id": IG}
    return body


def edge(items: list[Any], after: str | None = None) -> dict[str, Any]:
    """A page of an edge, with ``next`` when ``after`` is given."""
    out: dict[str, Any] = {"data": items}
    if items:
        out["paging"] = {"cursors": {"before": "QkVG", "after": after or "TEFTVA=="}}
        if after:
            out["paging"]["next"] = f"{BASE}/v25.0/x/comments?after={after}"
    return out


def media(*pages: dict[str, Any] | None) -> dict[str, Any]:
    """The account's media with each one's comments expanded (``None``: none)."""
    data = []
    for i, page in enumerate(pages):
        item: dict[str, Any] = {"id": MEDIA if i == 0 else f"1791{i:013d}"}
        if page is not None:
            item["comments"] = page
        data.append(item)
    return {"data": data}


def read(
    adapter: InstagramAdapter, canned: Canned, cursor: str | None = None, limit: int = 5000
) -> InboxPage:
    """Run one inbox read."""
    return run_flow(adapter.inbox(cursor, limit=limit), canned)


def test_one_request_reads_comments_and_replies() -> None:
    """One read of the media with comments and their replies expanded (50 a page); the
    account's own (``user`` set) left out; a reply points at its comment; then one read
    of the media others tagged the account in."""
    top = comment(1, 10, replies=edge([comment(2, 20, who="bob"), comment(3, 30, ours=True)]))
    canned = Canned(("GET", LIST, answer(200, media(edge([comment(4, 40), top]), None))), no_tags())
    got = read(InstagramAdapter(account()), canned)
    assert len(canned.requests) == 2
    nested = f"{COMMENT_FIELDS},replies.limit(50){{{COMMENT_FIELDS}}}"
    assert canned.requests[0].url.params["fields"] == f"id,permalink,comments.limit(50){{{nested}}}"
    assert [m.id for m in got.messages] == ["17900001", "17900002", "17900004"]
    first, reply, latest = got.messages
    assert (first.in_reply_to, first.our_post, first.kind) == (MEDIA, MEDIA, "comment")
    assert reply.in_reply_to == "17900001" and reply.author.handle == "bob"
    assert latest.author.url == "https://www.instagram.com/ada/" and latest.url is None


def test_tagged_media_are_mentions_and_instagram_login_reads_no_tags() -> None:
    """A media someone tagged the account in (``/tags``) is a mention with its author,
    caption and permalink; an Instagram Login account (graph.instagram.com, where Meta
    documents no ``tags`` edge) reads its comments alone, in one request."""
    tag = {
        "id": "17950000000000001",
        "caption": "boots by @brand",
        "username": "bob",
        "timestamp": "2026-12-01T10:00:50+0000",
        "permalink": "https://www.instagram.com/p/Cx/",
    }
    canned = Canned(
        ("GET", LIST, answer(200, media(edge([comment(1, 10)])))),
        ("GET", TAGS, answer(200, {"data": [tag]})),
    )
    first, tagged = read(InstagramAdapter(account()), canned).messages
    assert canned.requests[1].url.params["fields"] == "id,caption,username,timestamp,permalink"
    assert (tagged.kind, tagged.author.handle, tagged.text, tagged.url, tagged.our_post) == (
        "mention",
        "bob",
        "boots by @brand",
        "https://www.instagram.com/p/Cx/",
        None,
    )
    login = Account.instagram(
        ig_user_id=IG,
        token="t",
        media_host=lambda m: "https://cdn/x.jpg",
        base_url="https://graph.instagram.com",
    )
    only = Canned(("GET", LIST, answer(200, media(edge([comment(1, 10)])))))
    assert [m.id for m in read(InstagramAdapter(login), only).messages] == [first.id]


def test_a_real_comment_body_reads() -> None:
    """A real page of comments (sns-sdks testdata: no username or from asked) reads."""
    sample = real("instagram/apidata/medias/comments_p2.json")
    canned = Canned(("GET", LIST, answer(200, media(sample))), no_tags())
    got = read(InstagramAdapter(account()), canned)
    assert {m.text for m in got.messages} == {c["text"] for c in sample["data"]}
    assert {m.author.id for m in got.messages} == {"unknown"}


@pytest.mark.parametrize(
    "bad",
    [
        {"id": 1790, "text": "x", "timestamp": "2026-12-01T10:00:00+0000"},
        {"id": "1790", "text": "x", "timestamp": "soon"},
        {"id": "1790", "text": "x", "timestamp": "2026-12-01T10:00:00+0000", "hidden": 0},
        {"id": "1790", "text": "x", "timestamp": "2026-12-01T10:00:00+0000", "replies": []},
    ],
)
def test_a_comment_brandkit_cannot_read_is_malformed(bad: dict[str, Any]) -> None:
    """A numeric id, a bad time, a non-boolean ``hidden`` or replies that are no edge is
    a MalformedResponse."""
    canned = Canned(("GET", LIST, answer(200, media(edge([bad])))))
    with pytest.raises(MalformedResponse):
        read(InstagramAdapter(account()), canned)


def test_a_garbled_cursor_is_refused_before_any_request() -> None:
    """A cursor brandkit did not make is a ConfigurationError that says to pass None."""
    canned = Canned()
    with pytest.raises(ConfigurationError, match="None"):
        read(InstagramAdapter(account()), canned, '{"v":1,"at":-1,"seen":[]}')
    assert canned.requests == []


def test_every_page_is_read_since_old_comments_take_new_replies() -> None:
    """Comments come newest first and a new reply can sit under an old comment, so every
    page of comments and of replies is read (with Meta's cursor); the next read from the
    cursor gives only the new reply."""
    adapter = InstagramAdapter(account())
    old = comment(1, 1, replies=edge([comment(2, 2)], "UkVQ"))
    canned = Canned(
        ("GET", LIST, answer(200, media(edge([comment(5, 5)], "Q09N")))),
        no_tags(),
        ("GET", rf"/v25\.0/{MEDIA}/comments", answer(200, edge([old]))),
        ("GET", r"/v25\.0/17900001/replies", answer(200, edge([comment(3, 3)]))),
    )
    got = read(adapter, canned)
    assert [m.id for m in got.messages] == ["17900001", "17900002", "17900003", "17900005"]
    assert canned.requests[2].url.params["after"] == "Q09N"
    assert dict(canned.requests[3].url.params) == {
        "fields": COMMENT_FIELDS,
        "limit": "50",
        "after": "UkVQ",
    }
    later = comment(1, 1, replies=edge([comment(2, 2), comment(6, 50)]))
    again = Canned(("GET", LIST, answer(200, media(edge([comment(5, 5), later])))), no_tags())
    assert [m.id for m in read(adapter, again, got.cursor).messages] == ["17900006"]


def test_limit_stops_with_more_and_the_cursor_continues() -> None:
    """``limit`` gives the oldest new messages and ``more``; the cursor continues."""
    adapter = InstagramAdapter(account())
    page = edge([comment(n, 7) for n in (4, 3, 2, 1)])
    first = read(adapter, Canned(("GET", LIST, answer(200, media(page))), no_tags()), limit=3)
    assert [m.id for m in first.messages] == ["17900001", "17900002", "17900003"] and first.more
    rest = read(adapter, Canned(("GET", LIST, answer(200, media(page))), no_tags()), first.cursor)
    assert [m.id for m in rest.messages] == ["17900004"] and not rest.more


def message(n: int = 1, **extra: Any) -> Message:
    """A message as the inbox reads it for this account."""
    canned = Canned(("GET", LIST, answer(200, media(edge([comment(n, 9, **extra)])))), no_tags())
    (m,) = read(InstagramAdapter(account()), canned).messages
    return m


def test_an_answer_is_a_reply_to_the_comment_without_media() -> None:
    """An answer goes to POST /{comment-id}/replies with the message; it renders without
    media (a post still needs one); media on an answer is refused before sending."""
    adapter = InstagramAdapter(account())
    caps = run_flow(adapter.prepare(), Canned())
    assert caps.media.min_items == 1  # a post still needs an image
    target = adapter.reply_target(message())
    rules = adapter.answer_capabilities(caps, target)
    assert rules.media.min_items == rules.media.max_items == 0 and not rules.threads
    post = rendered("instagram", "Thanks!")
    canned = Canned(("POST", r"/v25\.0/17900001/replies", answer(200, {"id": "17900077"})))
    ref = run_flow(
        adapter.publish_part(post, post.parts[0], ThreadContext(new_tid(), reply_to=target)),
        canned,
    )
    assert ref.id == "17900077" and canned.form(0) == {"message": "Thanks!"}
    with pytest.raises(ContentError, match="at least one image"):
        run_flow(adapter.publish_part(post, post.parts[0], ThreadContext(new_tid())), Canned())
    pic = rendered("instagram", "look", media=(Media.from_bytes(TINY_JPEG, alt="x"),))
    with pytest.raises(ContentError, match="text only"):
        run_flow(
            adapter.publish_part(pic, pic.parts[0], ThreadContext(new_tid(), reply_to=target)),
            Canned(),
        )


def test_a_lost_answer_is_found_among_the_comments_replies() -> None:
    """find_part reads the replies of the comment (of the top-level comment, for a reply)
    and takes the account's own with the same text, not a fan's."""
    adapter = InstagramAdapter(account())
    target = adapter.reply_target(message(5, parent_id="17900001"))
    assert target.extra["thread"] == "17900001"
    post = rendered("instagram", "Thanks!")
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")
    ours = {**comment(8, 0, ours=True), "text": "Thanks!", "timestamp": now}
    theirs = {**comment(9, 0), "text": "Thanks!", "timestamp": now}
    ctx = ThreadContext(new_tid(), reply_to=target)
    canned = Canned(("GET", r"/v25\.0/17900001/replies", answer(200, edge([theirs, ours]))))
    ref = run_flow(adapter.find_part(post, post.parts[0], ctx), canned)
    assert ref is not None and ref.id == "17900008"
    none = Canned(("GET", r"/v25\.0/17900001/replies", answer(200, edge([theirs]))))
    assert run_flow(adapter.find_part(post, post.parts[0], ctx), none) is None


def test_a_lost_answer_is_this_answer_not_an_older_twin() -> None:
    """The account answered the same comment with the same words two minutes before this
    answer's key was made; this answer's create was lost but landed. The lookup takes the
    one made since the key, not the older one; with only the older one there, it is
    taken (a local clock ahead of Meta's)."""
    adapter = InstagramAdapter(account())
    target = adapter.reply_target(message(5, parent_id="17900001"))
    post = rendered("instagram", "Thanks!")
    ctx = ThreadContext(new_tid(), reply_to=target)
    before = (datetime.now(UTC) - timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M:%S+0000")
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")
    older = {**comment(7, 0, ours=True), "text": "Thanks!", "timestamp": before}
    newer = {**comment(8, 0, ours=True), "text": "Thanks!", "timestamp": now}
    replies = r"/v25\.0/17900001/replies"
    canned = Canned(("GET", replies, answer(200, edge([newer, older]))))
    ref = run_flow(adapter.find_part(post, post.parts[0], ctx), canned)
    assert ref is not None and ref.id == "17900008"
    only = Canned(("GET", replies, answer(200, edge([older]))))
    ref = run_flow(adapter.find_part(post, post.parts[0], ctx), only)
    assert ref is not None and ref.id == "17900007"


def test_moderation_requests() -> None:
    """Hide posts ``hide``; delete counts a comment already gone as deleted; liking is not
    in Instagram's API."""
    adapter = InstagramAdapter(account())
    m = message()
    gone = graph_error(400, 100, "Unsupported delete request.", subcode=33)
    canned = Canned(
        ("POST", r"/v25\.0/17900001", answer(200, {"success": True})),
        ("DELETE", r"/v25\.0/17900001", gone),
        ("GET", r"/v25\.0/17900001", graph_error(400, 100, "Unsupported get", subcode=33)),
    )
    run_flow(adapter.set_hidden(m, True), canned)
    run_flow(adapter.delete_message(m), canned)
    assert canned.form(0) == {"hide": "true"}
    caps = InstagramAdapter.capabilities
    assert caps.inbox == {"comment", "mention"} and caps.hide_messages and caps.delete_messages
    assert not caps.like_messages


def test_replies_read_the_media() -> None:
    """``replies`` reads the media's comments with their replies, oldest first."""
    top = comment(1, 1, replies=edge([comment(2, 2)]))
    canned = Canned(("GET", rf"/v25\.0/{MEDIA}/comments", answer(200, edge([comment(3, 3), top]))))
    got = run_flow(InstagramAdapter(account()).replies([PartRef(index=0, id=MEDIA)]), canned)
    assert [m.id for m in got] == ["17900001", "17900002", "17900003"]


@pytest.mark.parametrize(
    ("cursor", "says"),
    [
        ({"v": 1, "platform": "instagram", "account": "17841400000000999", "at": 5}, "another"),
        ({"v": 1, "platform": "facebook", "account": "1234567890", "at": 5}, "facebook inbox"),
        ({"v": 1, "user": IG, "marks": {}, "watched": [], "todo": []}, "threads inbox"),
    ],
)
def test_another_accounts_or_platforms_cursor_is_refused(cursor: Any, says: str) -> None:
    """A cursor another account's or another platform's inbox made is a
    ConfigurationError that says what to pass, before any request."""
    import json

    canned = Canned()
    with pytest.raises(ConfigurationError, match=says) as caught:
        read(InstagramAdapter(account()), canned, json.dumps({"seen": [], **cursor}))
    assert "pass since=None, or the cursor saved for this account" in str(caught.value)
    assert canned.requests == []
