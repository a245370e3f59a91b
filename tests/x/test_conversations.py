"""Conversations against the X emulator: its new endpoints in X's shapes, and the public
Client reading, answering and moderating over a real socket."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from brandkit import Account, AsyncClient, Client, DeliveryStatus, Post
from brandkit.testing.x import MENTIONS_REACH, XEmulator
from tests.x.conftest import FAST, check_request, check_response, get


def send(emu: XEmulator, account: Account, method: str, path: str, body: Any) -> httpx.Response:
    headers = {"authorization": f"Bearer {account.secret('user_token')}"}
    return httpx.request(method, emu.base_url + path, json=body, headers=headers)


def brand_post(emu: XEmulator, text: str = "Tell us") -> str:
    return emu.seed_post("brand", text).id


FIELDS = "created_at,author_id,conversation_id,in_reply_to_user_id,referenced_tweets,entities"


# -- the audience ---------------------------------------------------------------------------


def test_a_fans_reply_starts_with_the_conversations_handles(emu: XEmulator, brand: Account) -> None:
    """As X's clients write them: the parent's author, then the handles the parent began
    with; the replier's own handle is not repeated."""
    root = brand_post(emu)
    first = emu.audience("fan1").reply(root, "Open on Sunday?")
    second = emu.audience("fan2").reply(first, "me too")
    own = emu.audience("fan1").reply(second, "great")
    assert emu.post(first).display_text == "@brand Open on Sunday?"
    assert emu.post(second).display_text == "@fan1 @brand me too"
    assert emu.post(own).display_text == "@fan2 @brand great"
    assert emu.post(second).conversation_id == root


def test_what_the_audience_writes_is_not_the_brands(emu: XEmulator, brand: Account) -> None:
    """``post_texts`` keeps to the accounts' posts; ``answers`` to theirs under a message."""
    root = brand_post(emu, "Ours")
    asked = emu.audience("fan1").reply(root, "Theirs")
    emu.audience("fan1").post("unrelated", lang="en")
    assert emu.post_texts() == ["Ours"]
    emu.seed_post("brand", "Our answer", in_reply_to=asked)
    emu.audience("fan2").reply(asked, "not an answer of ours")
    assert emu.answers(asked) == ["Our answer"]


def test_a_mention_names_the_newest_account_unless_it_names_one(emu: XEmulator) -> None:
    """The handle is added when the text does not hold an account's handle already."""
    with pytest.raises(ValueError, match="make an account"):
        emu.audience("early").mention("anyone?")
    emu.account(name="first")
    emu.account(name="second")
    added = emu.audience("fan").mention("hello")
    kept = emu.audience("fan").mention("hi @First")
    assert emu.post(added).display_text == "@second hello"
    assert emu.post(kept).display_text == "hi @First"


def test_the_audience_has_no_comments_and_needs_a_real_target(emu: XEmulator) -> None:
    """X has replies, not comments; a missing post is a KeyError."""
    emu.account(name="brand")
    with pytest.raises(NotImplementedError, match="reply"):
        emu.audience("fan").comment("1", "hi")
    with pytest.raises(KeyError):
        emu.audience("fan").reply("123456", "to nothing")


# -- GET /2/users/:id/mentions ----------------------------------------------------------------


def test_mentions_timeline_in_xs_shape(emu: XEmulator, brand: Account) -> None:
    """Newest first, with the authors and referenced posts asked for, ``meta`` and the
    rate-limit headers; valid against X's OpenAPI response schema."""
    root = brand_post(emu)
    reply = emu.audience("fan1").reply(root, "hi")
    mention = emu.audience("fan2").mention("yo")
    emu.audience("fan3").post("says nothing of the brand")
    user_id = brand.settings["user_id"]
    r = get(
        emu,
        brand,
        f"/2/users/{user_id}/mentions",
        max_results=5,
        expansions="author_id,referenced_tweets.id",
        **{"tweet.fields": FIELDS, "user.fields": "username,name"},
    )
    assert r.status_code == 200
    body = r.json()
    check_response(body, "Get2UsersIdMentionsResponse")
    assert [p["id"] for p in body["data"]] == [mention, reply]
    assert body["meta"] == {"result_count": 2, "newest_id": mention, "oldest_id": reply}
    assert {u["username"] for u in body["includes"]["users"]} == {"fan1", "fan2"}
    assert [t["id"] for t in body["includes"]["tweets"]] == [root]
    first = body["data"][1]
    assert first["in_reply_to_user_id"] == user_id and first["conversation_id"] == root
    assert first["entities"]["mentions"] == [{"start": 0, "end": 6, "username": "brand"}]
    assert r.headers["x-rate-limit-limit"] == "300"
    assert r.headers["x-rate-limit-remaining"] == "299"


def test_mentions_pages_since_id_and_the_800_reach(emu: XEmulator, brand: Account) -> None:
    """Pages of ``max_results`` with a ``next_token``; ``since_id`` keeps only newer posts;
    only the 800 most recent mentions are there at all; bad parameters are X's 400."""
    user_id = brand.settings["user_id"]
    root = brand_post(emu)
    ids = [emu.audience(f"fan{i % 9}").reply(root, f"n{i}") for i in range(MENTIONS_REACH + 5)]
    path = f"/2/users/{user_id}/mentions"
    seen: list[str] = []
    token = None
    for _ in range(20):
        params: dict[str, Any] = {"max_results": 100}
        if token:
            params["pagination_token"] = token
        body = get(emu, brand, path, **params).json()
        seen += [p["id"] for p in body.get("data", [])]
        token = body["meta"].get("next_token")
        if not token:
            break
    assert seen == list(reversed(ids))[:MENTIONS_REACH]
    newer = get(emu, brand, path, since_id=ids[-3]).json()
    assert [p["id"] for p in newer["data"]] == [ids[-1], ids[-2]]
    for bad in ({"max_results": 4}, {"max_results": 101}, {"since_id": "abc"}):
        r = get(emu, brand, path, **bad)
        assert r.status_code == 400
        assert r.json()["type"].endswith("/invalid-request")
    missing = get(emu, brand, "/2/users/42/mentions").json()
    assert missing["errors"][0]["title"] == "Not Found Error"


def test_mentions_follow_what_changed_between_reads(emu: XEmulator, brand: Account) -> None:
    """Each read lists what names the brand then: a mention made since the last read, not
    a deleted one, an edit's newest version only while it still names the brand, and a
    post whose text a test set to name it."""
    path = f"/2/users/{brand.settings['user_id']}/mentions"
    first = emu.audience("fan1").mention("one")
    gone = emu.audience("fan2").mention("two")
    edited = emu.audience("fan3").mention("three")
    other = emu.audience("fan4").post("names no one")

    def listed() -> list[str]:
        return [p["id"] for p in get(emu, brand, path, max_results=100).json().get("data", [])]

    assert listed() == [edited, gone, first]
    emu.post(gone).deleted = True  # type: ignore[union-attr]
    kept = emu.edit(edited, "three, still @brand")
    later = emu.audience("fan5").mention("five")
    assert listed() == [later, kept, first]
    dropped = emu.edit(kept, "three, names no one now")
    emu.post(other).display_text = "@brand named after all"  # type: ignore[union-attr]
    assert dropped not in listed()
    assert listed() == [later, other, first]


def test_mentions_between_ids_times_and_tokens(emu: XEmulator, brand: Account) -> None:
    """until_id and since_id bound the window (neither is in it), start_time and end_time
    too; a next_token pages below the page it came with, its previous_token back above."""
    path = f"/2/users/{brand.settings['user_id']}/mentions"
    ids = []
    for i in range(12):
        ids.append(emu.audience(f"fan{i}").mention(f"m{i}"))
        emu.clock.advance(60)
    newest_first = ids[::-1]

    def read(**params: Any) -> dict[str, Any]:
        body: dict[str, Any] = get(emu, brand, path, **params).json()
        return body

    def listed(body: dict[str, Any]) -> list[str]:
        return [p["id"] for p in body.get("data", [])]

    between = read(since_id=ids[2], until_id=ids[9], max_results=5)
    assert listed(between) == newest_first[3:8]
    older = read(since_id=ids[2], until_id=ids[9], pagination_token=between["meta"]["next_token"])
    assert listed(older) == newest_first[8:9]
    assert "next_token" not in older["meta"]
    back = read(
        since_id=ids[2],
        until_id=ids[9],
        pagination_token=older["meta"]["previous_token"],
        max_results=5,
    )
    assert listed(back) == newest_first[3:8]
    made = emu.post(ids[5]).created_at  # type: ignore[union-attr]
    start = datetime.fromtimestamp(made - 1, UTC).isoformat().replace("+00:00", "Z")
    end = datetime.fromtimestamp(made + 150, UTC).isoformat().replace("+00:00", "Z")
    assert listed(read(start_time=start, end_time=end, until_id=ids[7])) == [ids[6], ids[5]]
    assert listed(read(since_id=ids[11])) == []
    assert listed(read(until_id=ids[0])) == []


# -- GET /2/tweets/search/recent --------------------------------------------------------------


def test_conversation_search_in_xs_shape(emu: XEmulator, brand: Account) -> None:
    """``conversation_id:`` finds the replies (not the post that started it), within 7 days,
    newest first, 10 to 100 a page with ``next_token``."""
    root = brand_post(emu)
    old = emu.seed_post("brand", "Last month", age=timedelta(days=8)).id
    emu.seed_post("stranger", "late", in_reply_to=old, age=timedelta(days=8))
    replies = [emu.audience("fan").reply(root, f"r{i}") for i in range(12)]
    r = get(emu, brand, "/2/tweets/search/recent", query=f"conversation_id:{root}", max_results=10)
    body = r.json()
    check_response(body, "Get2TweetsSearchRecentResponse")
    assert [p["id"] for p in body["data"]] == list(reversed(replies))[:10]
    assert r.headers["x-rate-limit-limit"] == "300"
    rest = get(
        emu,
        brand,
        "/2/tweets/search/recent",
        query=f"conversation_id:{root}",
        next_token=body["meta"]["next_token"],
    ).json()
    assert [p["id"] for p in rest["data"]] == [replies[1], replies[0]]
    assert "next_token" not in rest["meta"]
    stale = get(emu, brand, "/2/tweets/search/recent", query=f"conversation_id:{old}").json()
    assert stale == {"meta": {"result_count": 0}}


def test_search_terms_and_refusals(emu: XEmulator, brand: Account) -> None:
    """``from:``, ``-from:``, ``is:reply``, ``@handle`` and words are ANDed; an unknown
    operator, only conjunction-required operators, an unclosed group or phrase, an empty or
    over-long query and too small a page are X's 400."""
    root = brand_post(emu, "Coffee news")
    a = emu.audience("alice").reply(root, "love the coffee")
    emu.audience("bob").reply(root, "tea please")
    c = emu.audience("carol").mention("coffee time")

    def ids(query: str) -> list[str]:
        body = get(emu, brand, "/2/tweets/search/recent", query=query).json()
        return [p["id"] for p in body.get("data", [])]

    assert ids("coffee -from:brand") == [c, a]
    assert ids("coffee is:reply") == [a]
    assert ids("@brand from:carol") == [c]
    assert ids("-is:reply coffee") == [c, root]
    bad = ("nope:x coffee", "lang:en", "-coffee", "(a OR b", 'a "b', "a OR", "", "x" * 513)
    for query in bad:
        r = get(emu, brand, "/2/tweets/search/recent", query=query)
        assert r.status_code == 400, query
    assert get(emu, brand, "/2/tweets/search/recent", query="a", max_results=5).status_code == 400


# -- PUT /2/tweets/:id/hidden and POST /2/users/:id/likes --------------------------------------


def test_hide_a_reply_in_the_accounts_own_conversation(emu: XEmulator, brand: Account) -> None:
    """X's answer ``{"data": {"hidden": true}}``; the reply is still read back (X shows it
    behind "View hidden replies"); only the conversation's author can hide, only replies."""
    root = brand_post(emu)
    rude = emu.audience("troll").reply(root, "rude")
    body = {"hidden": True}
    check_request(body, "TweetHideRequest")
    r = send(emu, brand, "PUT", f"/2/tweets/{rude}/hidden", body)
    assert r.status_code == 200 and r.json() == {"data": {"hidden": True}}
    check_response(r.json(), "TweetHideResponse")
    assert emu.is_hidden(rude)
    found = get(emu, brand, "/2/tweets/search/recent", query=f"conversation_id:{root}").json()
    assert [p["id"] for p in found["data"]] == [rude]
    assert send(emu, brand, "PUT", f"/2/tweets/{rude}/hidden", {"hidden": False}).json() == {
        "data": {"hidden": False}
    }
    assert not emu.is_hidden(rude)
    other = emu.account(name="other")
    refused = send(emu, other, "PUT", f"/2/tweets/{rude}/hidden", body)
    assert refused.status_code == 403 and "conversations you started" in refused.json()["detail"]
    assert send(emu, brand, "PUT", f"/2/tweets/{root}/hidden", body).status_code == 403
    assert send(emu, brand, "PUT", f"/2/tweets/{rude}/hidden", {"hide": True}).status_code == 400
    assert send(emu, brand, "PUT", "/2/tweets/999/hidden", body).status_code == 404


def test_like_counts_once_and_only_for_oneself(emu: XEmulator, brand: Account) -> None:
    """``{"data": {"liked": true}}``; liking again changes nothing; another user id is a
    403."""
    root = brand_post(emu)
    kind = emu.audience("fan").reply(root, "nice")
    user_id = brand.settings["user_id"]
    before = emu.engagement(kind)["like_count"]
    for _ in range(2):
        r = send(emu, brand, "POST", f"/2/users/{user_id}/likes", {"tweet_id": kind})
        assert r.json() == {"data": {"liked": True}}
        check_response(r.json(), "UsersLikesCreateResponse")
    assert emu.engagement(kind)["like_count"] == before + 1
    assert emu.likes(kind) == ["brand"]
    assert send(emu, brand, "POST", "/2/users/42/likes", {"tweet_id": kind}).status_code == 403
    assert (
        send(emu, brand, "POST", f"/2/users/{user_id}/likes", {"tweet_id": "9"}).status_code == 404
    )


# -- the public client over the socket ----------------------------------------------------------


def test_inbox_reads_replies_mentions_and_quotes_that_name_the_brand(
    emu: XEmulator, brand: Account
) -> None:
    """One request; a quote that does not name the brand is not in its mentions on X either;
    a reply to a fan's reply in the brand's conversation is a reply of the brand's post."""
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="Our new blend is out"), brand)
        root = d.ids[0]
        asked = emu.audience("fan1").reply(root, "Price?")
        deeper = emu.audience("fan2").reply(asked, "also curious")
        named = emu.audience("fan3").quote(root, "Look what @brand made")
        emu.audience("fan4").quote(root, "meh")
        before = len(emu.requests)
        page = client.inbox(brand)
        assert len(emu.requests) - before == page.requests == 1
    got = {m.id: m for m in page.messages}
    assert set(got) == {asked, deeper, named}
    assert [m.id for m in page.messages] == [asked, deeper, named]  # oldest first
    assert (got[deeper].kind, got[deeper].in_reply_to, got[deeper].our_post) == (
        "reply",
        asked,
        root,
    )
    assert got[deeper].text == "also curious"
    assert (got[named].kind, got[named].our_post) == ("quote", root)


def test_inbox_limit_goes_on_where_it_stopped(emu: XEmulator, brand: Account) -> None:
    """250 replies read 100 at a time: the first read returns the newest 100 and ``more``;
    the reads that follow return the rest, each once; a later read finds only what is new."""
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="Big launch"), brand)
        said = [emu.audience(f"fan{i % 13}").reply(d.ids[0], f"r{i}") for i in range(250)]
        first = client.inbox(brand, limit=100)
        assert first.more and [m.id for m in first.messages] == said[150:]
        second = client.inbox(brand, since=first.cursor, limit=100)
        third = client.inbox(brand, since=second.cursor, limit=100)
        assert second.more and not third.more
        read = [m.id for p in (first, second, third) for m in p.messages]
        assert sorted(read, key=int) == said
        assert (first.requests, second.requests, third.requests) == (1, 1, 1)
        late = emu.audience("late").reply(d.ids[0], "missed it")
        fourth = client.inbox(brand, since=third.cursor, limit=100)
        assert [m.id for m in fourth.messages] == [late]
        state = json.loads(fourth.cursor)
        assert state == {"v": 1, "user": brand.settings["user_id"], "since": late}


def test_answer_hide_and_like_through_the_client(emu: XEmulator, brand: Account) -> None:
    """The answer is threaded under the message; hide, unhide and like change what the
    emulator holds."""
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="Questions?"), brand)
        asked = emu.audience("fan").reply(d.ids[0], "When?")
        (message,) = client.inbox(brand).messages
        answer = client.reply(message, Post(text="Tomorrow at nine."))
        assert answer.status is DeliveryStatus.SENT, answer.error
        assert emu.post(answer.ids[0]).in_reply_to == asked
        assert emu.answers(asked) == ["Tomorrow at nine."]
        client.hide(message, brand)
        assert emu.is_hidden(asked)
        client.unhide(message, brand)
        assert not emu.is_hidden(asked)
        client.like(message, brand)
        assert emu.likes(asked) == ["brand"]
        # The brand's answer is not a message of its own inbox.
        (again,) = client.inbox(brand).messages
        assert again.id == asked


def test_an_answer_whose_create_is_lost_lands_once_when_x_puts_the_handle_first() -> None:
    """Where X shows ``@fan`` before an answer's text, a lost answer is still found under
    the message and not posted twice."""
    emu = XEmulator(reply_handles=True)
    with emu.serve():
        brand = emu.account(name="brand")
        with Client(retry=FAST) as client:
            (d,) = client.publish(Post(text="Ask away"), brand)
            asked = emu.audience("fan").reply(d.ids[0], "Shipping?")
            (message,) = client.inbox(brand).messages
            emu.fault(method="POST", path=r"/2/tweets", drop="after")
            answer = client.reply(message, Post(text="Worldwide."))
            assert answer.status is DeliveryStatus.SENT, answer.error
            again = client.reply(message, Post(text="Worldwide."))
            assert again.id == answer.id
        assert emu.answers(asked) == ["Worldwide."]
        assert emu.post(answer.ids[0]).display_text == "@fan Worldwide."


@pytest.mark.anyio
async def test_async_replies_of_a_thread(emu: XEmulator, brand: Account) -> None:
    """``AsyncClient.replies`` reads the conversation of a two-part thread by search."""
    words = " ".join(f"word{i}" for i in range(80))
    async with AsyncClient(retry=FAST) as client:
        (d,) = await client.publish(Post(text=words), brand)
        assert len(d.ids) >= 2
        a = emu.audience("fan").reply(d.ids[-1], "to the last part")
        b = emu.audience("fan2").reply(d.ids[0], "to the first")
        got = await client.replies(d)
    assert [m.id for m in got] == [a, b]
    assert all(m.our_post == d.ids[0] for m in got)
    assert got[0].in_reply_to == d.ids[-1]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def test_replies_of_an_answer_are_what_hangs_under_it(emu: XEmulator, brand: Account) -> None:
    """An answer joins the conversation of the post it answers: ``replies`` searches that
    conversation and keeps only what answers the answer, directly or further down."""
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="Ask us"), brand)
        asked = emu.audience("fan1").reply(d.ids[0], "Vegan options?")
        (message,) = client.inbox(brand).messages
        answer = client.reply(message, Post(text="Yes, three of them."))
        assert answer.parts[0].extra["conversation"] == d.ids[0]
        under = emu.audience("fan1").reply(answer.ids[0], "Which ones?")
        deeper = emu.audience("fan2").reply(under, "following")
        emu.audience("fan3").reply(d.ids[0], "unrelated question")
        emu.audience("fan4").reply(asked, "me too")
        got = client.replies(answer)
    assert [m.id for m in got] == [under, deeper]
    assert all(m.our_post == answer.ids[0] for m in got)
