"""The Threads emulator's conversations: the audience, ``/mentions``, ``/conversation``
paging and cursors, answers and what the account may see (Meta's reply management and
mentions pages, field by field)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from brandkit.testing.threads import ThreadsEmulator
from tests.threads.test_emulator import Who, container, publish


@pytest.fixture
def emu() -> Iterator[ThreadsEmulator]:
    """An in-process emulator (closed after the test)."""
    emu = ThreadsEmulator()
    try:
        yield emu
    finally:
        emu.close()


@pytest.fixture
def http(emu: ThreadsEmulator) -> Iterator[httpx.Client]:
    """An httpx client answered by the emulator in-process."""
    with httpx.Client(transport=emu.transport(), base_url="http://threads.test") as client:
        yield client


def post(http: httpx.Client, who: Who, text: str, reply_to: str | None = None) -> str:
    """Publish a text post (or reply) through the API; its id."""
    data = {"media_type": "TEXT", "text": text}
    if reply_to is not None:
        data["reply_to_id"] = reply_to
    made = container(http, who, **data)
    assert made.status_code == 200, made.text
    published = publish(http, who, made.json()["id"])
    assert published.status_code == 200, published.text
    return str(published.json()["id"])


def get(http: httpx.Client, who: Who, path: str, **params: Any) -> httpx.Response:
    """A GET as ``who``."""
    return http.get(path, params=params, headers=who.headers)


def test_audience_replies_mentions_and_posts(emu: ThreadsEmulator, http: httpx.Client) -> None:
    """The audience replies to a post or to a reply, mentions the first account (its handle
    added when missing) and posts; none of it is the account's own; what Threads does not
    have is refused by name."""
    brand = Who(emu)
    root = post(http, brand, "Launch day")
    fan = emu.audience("ada")
    first = fan.reply(root, "Congrats")
    nested = emu.audience("bob").reply(first, "Agreed")
    mention = fan.mention("you should see this")
    named = emu.audience("cy").mention("hey @BRANDKIT1.")
    plain = fan.post("just a thought")
    assert emu.post_texts() == ["Launch day"] and [p["id"] for p in emu.posts] == [root]
    assert [(r["id"], r["reply_to"], r["audience"]) for r in emu.replies(root)] == [
        (first, root, True),
        (nested, first, True),
    ]
    seen = get(http, brand, f"/v1.0/{mention}", fields="text,username,root_post,is_reply")
    assert seen.json() == {
        "text": "@brandkit1 you should see this",
        "username": "ada",
        "root_post": {"id": mention},
        "is_reply": False,
        "id": mention,
    }
    assert get(http, brand, f"/v1.0/{named}", fields="text").json()["text"] == "hey @BRANDKIT1."
    assert get(http, brand, f"/v1.0/{plain}").json()["error"]["error_subcode"] == 33
    for kind in ("comment", "quote"):
        with pytest.raises(NotImplementedError, match="reply, mention or post"):
            getattr(fan, kind)(root, "x")
    with pytest.raises(KeyError):
        fan.reply("123", "to nothing")


def test_mentions_edge(emu: ThreadsEmulator, http: httpx.Client) -> None:
    """``GET /{user}/mentions``: the public posts naming the account, newest first, with
    ``since``/``until`` (since at least 1688540400), ``limit`` and cursors but no ``next``;
    another account's mentions and the account's own posts are not in it; usage headers
    come with it."""
    brand, other = Who(emu), Who(emu)
    post(http, brand, "talking to myself @brandkit1")
    ids = []
    for i in range(3):
        ids.append(emu.audience(f"fan{i}").mention(f"mention {i}"))
        emu.clock.advance(10)
    emu.audience("x").mention("@brandkit2 not you")
    fields = "id,text,username,timestamp,permalink,root_post,replied_to,is_reply"
    whole = get(http, brand, f"/v1.0/{brand.id}/mentions", fields=fields)
    assert whole.headers["x-app-usage"]
    data = whole.json()["data"]
    assert [m["id"] for m in data] == ids[::-1]
    first = data[-1]
    assert first["username"] == "fan0" and first["is_reply"] is False
    assert first["permalink"].startswith("https://www.threads.net/@fan0/post/")
    assert "replied_to" not in first and first["root_post"] == {"id": ids[0]}
    one = get(http, brand, f"/v1.0/{brand.id}/mentions", limit=2)
    assert [m["id"] for m in one.json()["data"]] == [ids[2], ids[1]]
    paging = one.json()["paging"]
    assert set(paging) == {"cursors"} and set(paging["cursors"]) == {"before", "after"}
    two = get(http, brand, f"/v1.0/{brand.id}/mentions", limit=2, after=paging["cursors"]["after"])
    assert [m["id"] for m in two.json()["data"]] == [ids[0]]
    since = int(emu._posts[ids[1]].created_at)
    recent = get(http, brand, f"/v1.0/{brand.id}/mentions", since=since)
    assert [m["id"] for m in recent.json()["data"]] == [ids[2], ids[1]]
    for bad in ({"since": 1_600_000_000}, {"since": since, "until": since}):
        refused = get(http, brand, f"/v1.0/{brand.id}/mentions", **bad)
        assert refused.status_code == 400 and refused.json()["error"]["code"] == 100
    assert get(http, other, f"/v1.0/{other.id}/mentions", fields="text").json()["data"][0][
        "text"
    ] == ("@brandkit2 not you")
    stranger = get(http, other, f"/v1.0/{brand.id}/mentions")
    assert stranger.json()["error"]["error_subcode"] == 33


def test_conversation_pages_hold_their_place(emu: ThreadsEmulator, http: httpx.Client) -> None:
    """``/conversation`` pages by ``limit`` (default 25, at most 100) with a ``next`` link
    while more remain; a cursor is tied to its reply, so replies arriving between two pages
    neither repeat nor hide any; the account's own replies say ``is_reply_owned_by_me``."""
    brand = Who(emu)
    root = post(http, brand, "Ask me anything")
    fans = []
    for i in range(5):
        fans.append(emu.audience(f"fan{i}").reply(root, f"question {i}"))
        emu.clock.advance(1)
    answer = post(http, brand, "an answer", reply_to=fans[0])
    path = f"/v1.0/{root}/conversation"
    first = get(http, brand, path, limit=2, fields="id,is_reply_owned_by_me,username").json()
    assert [r["id"] for r in first["data"]] == [answer, fans[4]]
    assert first["data"][0] == {"id": answer, "is_reply_owned_by_me": True, "username": "brandkit1"}
    assert first["data"][1]["is_reply_owned_by_me"] is False
    assert "after=" in first["paging"]["next"]
    emu.clock.advance(1)
    late = emu.audience("late").reply(root, "me too")
    second = get(http, brand, path, limit=2, after=first["paging"]["cursors"]["after"]).json()
    assert [r["id"] for r in second["data"]] == [fans[3], fans[2]]
    third = get(http, brand, path, limit=2, after=second["paging"]["cursors"]["after"]).json()
    assert [r["id"] for r in third["data"]] == [fans[1], fans[0]] and "next" not in third["paging"]
    back = get(http, brand, path, limit=2, before=third["paging"]["cursors"]["before"]).json()
    assert [r["id"] for r in back["data"]] == [fans[3], fans[2]]
    assert [r["id"] for r in get(http, brand, path, limit=1).json()["data"]] == [late]
    assert len(get(http, brand, path, limit=500).json()["data"]) == 7
    assert len(get(http, brand, path).json()["data"]) == 7
    for bad in ({"limit": "many"}, {"after": "x", "before": "y"}, {"after": "garbage"}):
        refused = get(http, brand, path, **bad)
        assert refused.status_code == 400 and refused.json()["error"]["code"] == 100, bad
    listed = get(http, brand, f"/v1.0/{brand.id}/threads", fields="id,has_replies").json()
    assert listed["data"] == [{"id": root, "has_replies": True}]


def test_answers_to_messages_and_mentions(emu: ThreadsEmulator, http: httpx.Client) -> None:
    """The account answers a reply and a mention with reply containers; ``answers`` lists
    what it wrote directly under each, and counts on the reply quota."""
    brand = Who(emu)
    root = post(http, brand, "Hello")
    asked = emu.audience("ada").reply(root, "When?")
    mention = emu.audience("bob").mention("are you open?")
    post(http, brand, "Tomorrow", reply_to=asked)
    post(http, brand, "Yes!", reply_to=mention)
    assert emu.answers(asked) == ["Tomorrow"] and emu.answers(mention) == ["Yes!"]
    assert emu.answers(root) == [] and emu.post_texts() == ["Hello", "Tomorrow", "Yes!"]
    usage = get(
        http, brand, f"/v1.0/{brand.id}/threads_publishing_limit", fields="reply_quota_usage"
    )
    assert usage.json()["data"][0]["reply_quota_usage"] == 2
    own = get(http, brand, f"/v1.0/{brand.id}/replies", fields="id,replied_to").json()["data"]
    assert {r["replied_to"]["id"] for r in own} == {asked, mention}
