"""Telegram conversations: the inbox and replies flows with canned updates, answering,
deleting and liking comments, and the emulator's discussion groups and getUpdates."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import attrs
import httpx
import pytest

from brandkit import Account, Author, Client, ConfigurationError, DeliveryStatus, Post
from brandkit._flow import run_flow
from brandkit.delivery import new_tid
from brandkit.errors import Rejected
from brandkit.inbox import Message
from brandkit.platforms._base import PartRef, ThreadContext
from brandkit.platforms.telegram import TelegramAdapter
from brandkit.testing.telegram import TelegramEmulator
from tests.telegram.conftest import FAST, Canned, fail, ok, rendered, spec_problems

CHANNEL = {"id": -1001234567890, "type": "channel", "title": "Brand", "username": "brand"}
GROUP = {"id": -1009876543210, "type": "supergroup", "title": "Brand chat"}
OTHER_CHANNEL = {"id": -1005555555555, "type": "channel", "title": "Other", "username": "other"}
FAN = {"id": 51, "is_bot": False, "first_name": "Fan", "last_name": "One", "username": "fan1"}
T = 1_790_000_000


def forward(mid: int, post: int, channel: dict[str, Any] = CHANNEL) -> dict[str, Any]:
    """A channel post's automatic forward into the discussion group."""
    return {
        "message_id": mid,
        "from": {"id": 777000, "is_bot": False, "first_name": "Telegram"},
        "sender_chat": channel,
        "chat": GROUP,
        "date": T,
        "forward_origin": {"type": "channel", "chat": channel, "message_id": post, "date": T},
        "is_automatic_forward": True,
        "text": "the post",
    }


def said(
    mid: int,
    text: str,
    *,
    reply_to: dict[str, Any] | None = None,
    thread: int | None = None,
    chat: dict[str, Any] = GROUP,
    user: dict[str, Any] = FAN,
) -> dict[str, Any]:
    """A message of the audience."""
    data: dict[str, Any] = {"message_id": mid, "from": user, "chat": chat, "date": T + mid}
    if thread is not None:
        data["message_thread_id"] = thread
    if reply_to is not None:
        data["reply_to_message"] = reply_to
    data["text"] = text
    return data


def updates(*messages: dict[str, Any], first: int = 900) -> httpx.Response:
    """getUpdates' answer: one message update each, ids from ``first``."""
    return ok([{"update_id": first + i, "message": m} for i, m in enumerate(messages)])


# -- inbox ---------------------------------------------------------------------------------------


def test_inbox_reads_comments_replies_and_private_messages(adapter: TelegramAdapter) -> None:
    """From no cursor: one getUpdates (100, no wait, messages only); a comment on a post,
    an answer to that comment and a private message come back with their kind, parent,
    post and author; forwards, other channels' comments, chatter and bots are left out;
    the cursor is the next offset."""
    fwd = forward(10, 5)
    top = said(11, "Nice post", reply_to=fwd, thread=10)
    nested = said(12, "Agreed", reply_to=said(11, "Nice post", thread=10), thread=10)
    dm = said(3, "Hello bot", chat={"id": 51, "type": "private", "first_name": "Fan"})
    elsewhere = said(13, "elsewhere", reply_to=forward(20, 7, OTHER_CHANNEL), thread=20)
    chatter = said(14, "just chatting")
    bot = said(15, "beep", reply_to=fwd, thread=10, user={"id": 9, "is_bot": True})
    canned = Canned(("getUpdates", updates(fwd, top, nested, dm, elsewhere, chatter, bot)))
    got = run_flow(adapter.inbox(None, limit=100), canned)
    assert canned.call(0) == {
        "limit": 100,
        "timeout": 0,
        "allowed_updates": ["message", "edited_message"],
    }
    group = GROUP["id"]
    assert [(m.id, m.kind, m.in_reply_to, m.our_post) for m in got.messages] == [
        (f"{group}:11", "comment", "5", "5"),
        (f"{group}:12", "comment", f"{group}:11", "5"),
        ("51:3", "mention", None, None),
    ]
    first = got.messages[0]
    assert first.author == Author(id="51", handle="fan1", name="Fan One", url="https://t.me/fan1")
    assert first.url == "https://t.me/brand/5?comment=11"
    assert first.created_at == datetime.fromtimestamp(T + 11, UTC)
    assert first.raw["text"] == "Nice post" and first.extra["chat_id"] == str(group)
    assert json.loads(got.cursor or "")["offset"] == 907 and not got.more


@pytest.mark.parametrize(
    "garble",
    [
        pytest.param({"date": 10**20}, id="date-past-any-clock"),
        pytest.param({"date": -(10**20)}, id="date-before-any-clock"),
        pytest.param({"date": -1}, id="negative-date"),
        pytest.param({"chat": "brand chat"}, id="chat-not-an-object"),
        pytest.param({"message_id": "11"}, id="id-as-text"),
    ],
)
def test_an_update_brandkit_cannot_read_is_skipped_not_held(
    adapter: TelegramAdapter, garble: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    """A message brandkit cannot read (a date past what a clock holds raised OverflowError
    once) is skipped with a warning naming its update, and the cursor moves past it: held,
    it came back at every read (Telegram resends what is not confirmed), so the bot's inbox
    never moved again. The messages around it are read."""
    fwd = forward(10, 5)
    bad = {**said(11, "a", reply_to=fwd, thread=10), **garble}
    good = said(12, "b", reply_to=fwd, thread=10)
    with caplog.at_level("WARNING", logger="brandkit.platforms.telegram"):
        got = run_flow(
            adapter.inbox(None, limit=100), Canned(("getUpdates", updates(fwd, bad, good)))
        )
    assert [m.id for m in got.messages] == [f"{GROUP['id']}:12"]
    assert json.loads(got.cursor or "")["offset"] == 903
    (record,) = caplog.records
    assert "update 901 cannot be read" in record.getMessage()


def test_the_cursor_confirms_and_remembers_threads(adapter: TelegramAdapter) -> None:
    """The next read sends offset = highest update + 1; a later answer in a thread seen
    earlier (its forward in an earlier read) still knows its post."""
    fwd = forward(10, 5)
    got = run_flow(
        adapter.inbox(None, limit=10),
        Canned(("getUpdates", updates(fwd, said(11, "a", reply_to=fwd, thread=10)))),
    )
    canned = Canned(
        ("getUpdates", updates(said(12, "b", reply_to=said(11, "a"), thread=10), first=902))
    )
    later = run_flow(adapter.inbox(got.cursor, limit=10), canned)
    assert canned.call(0)["offset"] == 902
    assert [(m.in_reply_to, m.our_post) for m in later.messages] == [(f"{GROUP['id']}:11", "5")]
    nothing = Canned(("getUpdates", ok([])))
    quiet = run_flow(adapter.inbox(later.cursor, limit=10), nothing)
    assert quiet.messages == () and quiet.cursor == later.cursor
    assert nothing.call(0)["offset"] == 903


def test_a_read_is_one_page_and_a_full_page_says_more(
    adapter: TelegramAdapter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One read sends one getUpdates: a second page's offset would confirm the first
    before the caller stored it. A full page sets more with the cursor after it; the next
    read sends that offset and stops at a page that is not full."""
    monkeypatch.setattr(TelegramAdapter, "update_page", 2)
    fwd = forward(10, 5)
    canned = Canned(("getUpdates", updates(fwd, said(11, "a", reply_to=fwd), first=1)))
    got = run_flow(adapter.inbox(None, limit=100), canned)
    assert [m.text for m in got.messages] == ["a"] and got.more
    assert len(canned.requests) == 1 and canned.call(0)["limit"] == 2
    assert json.loads(got.cursor or "")["offset"] == 3
    rest = Canned(("getUpdates", updates(said(12, "b", reply_to=fwd), first=3)))
    after = run_flow(adapter.inbox(got.cursor, limit=100), rest)
    assert [m.text for m in after.messages] == ["b"] and not after.more
    assert rest.call(0)["offset"] == 3


def test_limit_caps_the_page_and_sets_more(adapter: TelegramAdapter) -> None:
    """limit below 100 asks Telegram for that many updates (each is at most one message):
    a full page comes back with more set and the cursor continuing after it."""
    fwd = forward(10, 5)
    canned = Canned(
        ("getUpdates", updates(said(11, "a", reply_to=fwd), said(12, "b", reply_to=fwd)))
    )
    got = run_flow(adapter.inbox(None, limit=2), canned)
    assert canned.call(0) == {
        "limit": 2,
        "timeout": 0,
        "allowed_updates": ["message", "edited_message"],
    }
    assert len(got.messages) == 2 and got.more
    assert json.loads(got.cursor or "")["offset"] == 902
    short = Canned(("getUpdates", updates(said(13, "c", reply_to=fwd), first=902)))
    last = run_flow(adapter.inbox(got.cursor, limit=2), short)
    assert [m.text for m in last.messages] == ["c"] and not last.more


@pytest.mark.parametrize(
    "cursor",
    ["12", "not json", '{"offset": -1, "threads": {}}', '{"offset": "3", "threads": {}}', "{}"],
)
def test_a_garbled_cursor_says_to_pass_none(adapter: TelegramAdapter, cursor: str) -> None:
    """A cursor this adapter did not make is refused before any request."""
    canned = Canned()
    with pytest.raises(ConfigurationError, match="since=None"):
        run_flow(adapter.inbox(cursor, limit=10), canned)
    assert canned.requests == []


def test_an_update_without_its_id_alone_is_no_error(adapter: TelegramAdapter) -> None:
    """A page of only an update without its id cannot move the cursor: no message, no
    error (it was a MalformedResponse at every read until a readable update came), and a
    cursor from the queue's start that keeps the warning given."""
    bad = httpx.Response(200, json={"ok": True, "result": [{"message": said(1, "x")}]})
    page = run_flow(adapter.inbox(None, limit=10), Canned(("getUpdates", bad)))
    assert page.messages == () and not page.more
    cursor = json.loads(page.cursor or "")
    assert (cursor["offset"], cursor["warned"]) == (0, 0)


def test_a_webhook_blocks_getupdates_and_says_so(adapter: TelegramAdapter) -> None:
    """Telegram's 409 for a bot with a webhook is a ConfigurationError naming the fix."""
    conflict = fail(
        409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook"
    )
    with pytest.raises(ConfigurationError, match="deleteWebhook"):
        run_flow(adapter.inbox(None, limit=10), Canned(("getUpdates", conflict)))


def test_replies_reads_held_updates_of_one_post_without_confirming(
    adapter: TelegramAdapter,
) -> None:
    """replies() keeps the comments of the post among the held updates; no offset is
    sent, so nothing is confirmed."""
    fwd, other = forward(10, 5), forward(20, 6)
    canned = Canned(
        (
            "getUpdates",
            updates(fwd, other, said(11, "on 5", reply_to=fwd), said(21, "on 6", reply_to=other)),
        )
    )
    got = run_flow(adapter.replies([PartRef(index=0, id="5")]), canned)
    assert [m.text for m in got] == ["on 5"] and "offset" not in canned.call(0)


# -- answering, deleting, liking ------------------------------------------------------------------


def comment_message(adapter: TelegramAdapter, mid: int = 11) -> Message:
    """A comment as the inbox reports it."""
    return Message(
        platform="telegram",
        account=adapter.account.key,
        id=f"{GROUP['id']}:{mid}",
        kind="comment",
        author=Author(id="51", handle="fan1"),
        text="Nice post",
        created_at=datetime.now(UTC),
        in_reply_to="5",
        our_post="5",
        extra={"chat_id": str(GROUP["id"])},
    )


def test_an_answer_goes_to_the_discussion_group(adapter: TelegramAdapter) -> None:
    """The answer is sent to the comment's chat (not the channel) replying to it; its ref
    names that chat, so deleting it deletes there."""
    target = adapter.reply_target(comment_message(adapter))
    sent = {"message_id": 40, "chat": GROUP, "date": T, "text": "Thanks!"}
    canned = Canned(("sendMessage", ok(sent)))
    post = rendered("Thanks!")
    ref = run_flow(
        adapter.publish_part(post, post.parts[0], ThreadContext(key=new_tid(), reply_to=target)),
        canned,
    )
    call = canned.call(0)
    assert (call["chat_id"], call["reply_parameters"]) == (GROUP["id"], {"message_id": 11})
    assert ref.id == "40" and ref.extra["chat_id"] == str(GROUP["id"])
    gone = Canned(("deleteMessage", ok(True)))
    run_flow(adapter.delete_part(ref), gone)
    assert gone.call(0) == {"chat_id": GROUP["id"], "message_id": 40}


def test_delete_and_like_a_comment(adapter: TelegramAdapter) -> None:
    """deleteMessage in the comment's chat (already gone is fine; can't be deleted is
    Rejected); setMessageReaction with one thumbs-up."""
    m = comment_message(adapter)
    canned = Canned(("deleteMessage", ok(True)))
    run_flow(adapter.delete_message(m), canned)
    assert canned.call(0) == {"chat_id": GROUP["id"], "message_id": 11}
    run_flow(
        adapter.delete_message(m),
        Canned(("deleteMessage", fail(400, "Bad Request: message to delete not found"))),
    )
    with pytest.raises(Rejected, match="can't be deleted"):
        run_flow(
            adapter.delete_message(m),
            Canned(("deleteMessage", fail(400, "Bad Request: message can't be deleted"))),
        )
    liked = Canned(("setMessageReaction", ok(True)))
    run_flow(adapter.like(m), liked)
    assert liked.call(0) == {
        "chat_id": GROUP["id"],
        "message_id": 11,
        "reaction": [{"type": "emoji", "emoji": "\N{THUMBS UP SIGN}"}],
    }


def test_a_message_id_brandkit_did_not_make_is_refused(adapter: TelegramAdapter) -> None:
    """An id without the chat cannot be acted on: ConfigurationError before any request."""
    m = comment_message(adapter)
    bare = attrs.evolve(m, id="11")
    with pytest.raises(ConfigurationError, match="chat_id:message_id"):
        adapter.reply_target(bare)


# -- the emulator --------------------------------------------------------------------------------


def bot_call(emu: TelegramEmulator, account: Account, method: str, **body: Any) -> Any:
    """Call a Bot API method of the account's bot in-process; the decoded body."""
    token = account.secret("bot_token")
    with httpx.Client(transport=emu.transport(), base_url="https://api.telegram.test") as c:
        return c.post(f"/bot{token}/{method}", json=body).json()


def test_emulator_discussion_group_forwards_and_comments(emu: TelegramEmulator) -> None:
    """A channel post is forwarded into the linked group; comments and answers to comments
    arrive as message updates in the real shapes; post_texts stays the brand's."""
    account = emu.account()
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="Big news"), account)
    channel = emu._resolve(account.settings["chat_id"])
    group_id = channel.linked_chat_id
    assert group_id is not None
    first = emu.audience("fan").comment(d.ids[0], "wow")
    emu.audience("pal").comment(first, "indeed")
    got = bot_call(emu, account, "getUpdates")
    fwd, top, nested = (u["message"] for u in got["result"])
    assert fwd["is_automatic_forward"] is True and fwd["from"]["id"] == 777000
    assert fwd["forward_origin"]["message_id"] == int(d.ids[0])
    assert fwd["sender_chat"]["id"] == channel.id and fwd["chat"]["id"] == group_id
    assert top["reply_to_message"]["message_id"] == fwd["message_id"]
    assert top["message_thread_id"] == fwd["message_id"] and top["from"]["username"] == "fan"
    assert nested["reply_to_message"]["message_id"] == top["message_id"]
    assert "reply_to_message" not in nested["reply_to_message"]
    assert f"{group_id}:{top['message_id']}" == first
    assert emu.post_texts() == ["Big news"]
    chat_info = bot_call(emu, account, "getChat", chat_id=account.settings["chat_id"])
    assert chat_info["result"]["linked_chat_id"] == group_id
    with pytest.raises(NotImplementedError, match="comment"):
        emu.audience("fan").quote(d.ids[0], "x")
    with pytest.raises(KeyError):
        emu.audience("fan").comment("999", "no such post")


def test_emulator_getupdates_offset_limit_and_allowed(emu: TelegramEmulator) -> None:
    """An offset confirms every earlier update (never sent again); a negative one keeps
    the last; limit is clamped to 1-100; allowed_updates holds for later calls."""
    account = emu.account()
    for i in range(3):
        emu.audience(f"f{i}").mention(f"hi {i}")
    every = bot_call(emu, account, "getUpdates", limit=500)["result"]
    ids = [u["update_id"] for u in every]
    assert len(ids) == 3 and ids == list(range(ids[0], ids[0] + 3))
    assert every[0]["message"]["chat"]["type"] == "private"
    assert [u["update_id"] for u in bot_call(emu, account, "getUpdates", limit=0)["result"]] == [
        ids[0]
    ]
    assert [u["update_id"] for u in bot_call(emu, account, "getUpdates", offset=-1)["result"]] == [
        ids[2]
    ]
    assert bot_call(emu, account, "getUpdates", offset=ids[2] + 1)["result"] == []
    assert bot_call(emu, account, "getUpdates")["result"] == []  # confirmed: gone
    bot_call(emu, account, "getUpdates", allowed_updates=["channel_post"])
    emu.audience("late").mention("ignored")
    assert bot_call(emu, account, "getUpdates")["result"] == []


def test_emulator_delete_and_react_as_group_admin(emu: TelegramEmulator) -> None:
    """An admin bot deletes an audience comment in the group (gone from what the group
    holds; a second delete is "not found"); a bot that is not an admin cannot; a bot sets
    one emoji reaction; an unknown message is refused in Telegram's error shape."""
    account = emu.account()
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="Post"), account)
    said_id = emu.audience("troll").comment(d.ids[0], "rude")
    chat, mid = said_id.split(":")
    liked = bot_call(
        emu,
        account,
        "setMessageReaction",
        chat_id=int(chat),
        message_id=int(mid),
        reaction=[{"type": "emoji", "emoji": "👍"}],
    )
    assert liked == {"ok": True, "result": True}
    assert list(emu.reactions(said_id).values()) == [["👍"]]
    two = bot_call(
        emu,
        account,
        "setMessageReaction",
        chat_id=int(chat),
        message_id=int(mid),
        reaction=[{"type": "emoji", "emoji": "👍"}, {"type": "emoji", "emoji": "🔥"}],
    )
    assert two["ok"] is False and two["error_code"] == 400
    stranger = emu.bot()
    emu.set_admin(int(chat), stranger, can_post=False)
    token = stranger.token
    with httpx.Client(transport=emu.transport(), base_url="https://api.telegram.test") as c:
        refused = c.post(
            f"/bot{token}/deleteMessage", json={"chat_id": int(chat), "message_id": int(mid)}
        ).json()
    assert refused == {
        "ok": False,
        "error_code": 400,
        "description": "Bad Request: message can't be deleted",
    }
    deleted = bot_call(emu, account, "deleteMessage", chat_id=int(chat), message_id=int(mid))
    assert deleted == {"ok": True, "result": True}
    assert all(m.message_id != int(mid) for m in emu.messages(int(chat), everyone=True))
    again = bot_call(emu, account, "deleteMessage", chat_id=int(chat), message_id=int(mid))
    assert again["description"] == "Bad Request: message to delete not found"


def test_inbox_end_to_end_with_answers_deletes_and_likes(emu: TelegramEmulator) -> None:
    """Over the socket: comments and a private message read once; the answer to the
    private message goes to that chat; deleting a comment and liking one work; the next
    read adds only what is new; every request matches the full Bot API spec."""
    account = emu.account()
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="Ask me"), account)
        c1 = emu.audience("a").comment(d.ids[0], "first")
        dm = emu.audience("b").mention("a private word")
        page = client.inbox(account)
        assert [m.id for m in page.messages] == [c1, dm]
        comment, private = page.messages
        answered = client.reply(private, Post(text="Thanks for writing"))
        assert answered.status is DeliveryStatus.SENT, answered.error
        assert emu.answers(dm) == ["Thanks for writing"]
        client.like(comment)
        client.delete_comment(comment)
        assert all(f"{m.chat_id}:{m.message_id}" != c1 for m in emu.messages(everyone=True))
        c2 = emu.audience("a").comment(d.ids[0], "second")
        later = client.inbox(account, since=page.cursor)
        assert [m.id for m in later.messages] == [c2]
    assert spec_problems(emu.requests) == []


def test_emulator_getupdates_offset_far_ahead_or_past_32_bits(emu: TelegramEmulator) -> None:
    """As the Bot API server reads offset: more than 10 past the next update id it is "in
    the future" and answered from the queue's start, confirming nothing (the emulator
    confirmed every waiting update); past 32 bits it wraps around, 2**32 - 1 being -1,
    which keeps the last update only."""
    account = emu.account()
    for i in range(3):
        emu.audience(f"f{i}").mention(f"hi {i}")
    ids = [u["update_id"] for u in bot_call(emu, account, "getUpdates")["result"]]
    (bot,) = emu.bots.values()
    ahead = bot_call(emu, account, "getUpdates", offset=ids[2] + 12)["result"]
    assert [u["update_id"] for u in ahead] == ids and emu.pending_updates(bot) == 3
    wrapped = bot_call(emu, account, "getUpdates", offset=2**32 - 1)["result"]
    assert [u["update_id"] for u in wrapped] == [ids[2]] and emu.pending_updates(bot) == 1
    assert bot_call(emu, account, "getUpdates", offset=ids[2] + 11)["result"] == []
    assert emu.pending_updates(bot) == 0
