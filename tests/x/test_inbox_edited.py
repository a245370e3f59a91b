"""Edits on X: an edit is a new post with a new id, the chain's ids in every version's
``edit_history_tweet_ids`` (original first), and timelines give only the newest version
(docs.x.com fundamentals/edit-posts, x-api/posts/timelines). The inbox keeps the original's
message and brings its text up to the newest version; answers go to the newest version."""

from __future__ import annotations

from pathlib import Path

import pytest

from brandkit import Account, Client, DeliveryStatus, Inbox, Post
from brandkit.inbox import MessageStatus
from brandkit.testing.x import EDIT_WINDOW, XEmulator
from tests.x.conftest import FAST, check_response, get

FIELDS = "created_at,author_id,conversation_id,in_reply_to_user_id,referenced_tweets"


def test_an_edit_is_a_new_post_and_the_mentions_timeline_gives_the_newest(
    emu: XEmulator, brand: Account
) -> None:
    """The newest version alone, with the chain; a lookup by the old id gives the old
    version; a reply to someone else cannot be edited; a delete takes the whole chain."""
    root = emu.seed_post("brand", "Tell us")
    first = emu.audience("fan").mention("my order 123 came")
    emu.clock.advance(60)
    second = emu.edit(first, "@brand my order 123 came, and it's broken")
    assert int(second) > int(first)
    user_id = brand.settings["user_id"]
    r = get(
        emu,
        brand,
        f"/2/users/{user_id}/mentions",
        expansions="author_id",
        **{"tweet.fields": FIELDS + ",edit_controls", "user.fields": "username"},
    )
    body = r.json()
    check_response(body, "Get2UsersIdMentionsResponse")
    (only,) = body["data"]
    assert only["id"] == second and only["edit_history_tweet_ids"] == [first, second]
    assert only["text"] == "@brand my order 123 came, and it's broken"
    assert only["edit_controls"]["edits_remaining"] == 4
    old = get(emu, brand, "/2/tweets", ids=first).json()["data"][0]
    assert old["text"] == "@brand my order 123 came"
    assert old["edit_history_tweet_ids"] == [first, second]
    with pytest.raises(ValueError, match="newer version"):
        emu.edit(first, "again")
    reply = emu.audience("fan2").reply(root.id, "hi")
    with pytest.raises(ValueError, match="someone else"):
        emu.edit(reply, "hello")
    emu.clock.advance(EDIT_WINDOW)
    with pytest.raises(ValueError, match="edit window"):
        emu.edit(second, "late")
    assert emu.post(first) is not None and not emu.post(first).deleted  # type: ignore[union-attr]


def test_a_sync_brings_a_stored_mention_up_to_its_edit_once(
    emu: XEmulator, brand: Account, tmp_path: Path
) -> None:
    """The mention the team took on is edited (a new post on X): the next sync updates the
    stored one (its original id), keeps status and assignee, adds nothing, and the answer
    goes to the newest version."""
    with Client(retry=FAST) as client, Inbox(tmp_path / "inbox.db") as inbox:
        inbox.sync(client, [brand])
        first = emu.audience("fan").mention("my order 123 came")
        assert inbox.sync(client, [brand]).added == 1
        (stored,) = inbox.unanswered()
        inbox.mark(stored, "seen")
        inbox.assign(stored, to="ana@agency.example")
        emu.clock.advance(120)
        second = emu.edit(first, "@brand my order 123 came, and it's broken")
        report = inbox.sync(client, [brand])
        assert (report.added, report.updated) == (0, 1)
        (now,) = inbox.messages()
        assert (now.id, now.text) == (first, "@brand my order 123 came, and it's broken")
        assert now.edited_at is not None and now.edited_at > now.created_at
        assert now.created_at == stored.created_at
        assert now.url is not None and now.url.endswith(second)
        assert inbox.status(now) is MessageStatus.SEEN
        assert inbox.messages(assignee="ana@agency.example") == [now]
        again = inbox.sync(client, [brand])
        assert (again.added, again.updated) == (0, 0)
        answer = inbox.reply(client, now, Post(text="Sorry! A new one is on its way."))
        assert answer.status is DeliveryStatus.SENT, answer.error
        assert emu.post(answer.ids[0]).in_reply_to == second  # type: ignore[union-attr]
        client.like(now, brand)
        assert emu.likes(second) == ["brand"]


def test_a_quote_edited_before_the_first_read_comes_once_as_edited(
    emu: XEmulator, brand: Account
) -> None:
    """Only the newest version is in the timeline: one message, the original's id and
    time, the newest text, ``edited_at`` the newest version's time."""
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="Our new kit"), brand)
        first = emu.audience("fan").quote(d.ids[0], "@brand looks ok")
        made = emu.clock.now()
        emu.clock.advance(300)
        emu.edit(first, "@brand looks great")
        emu.clock.advance(60)
        (message,) = client.inbox(brand).messages
        assert (message.id, message.kind, message.text) == (first, "quote", "@brand looks great")
        assert message.our_post == d.ids[0]
        assert abs((message.created_at - made).total_seconds()) < 1
        assert message.edited_at is not None
        assert abs((message.edited_at - made).total_seconds() - 300) < 1


def test_replies_to_an_edited_part_of_an_answer_are_under_it(
    emu: XEmulator, brand: Account
) -> None:
    """The brand edits the second part of a two-part answer (a self-thread part: a new post,
    a new id); X names the version a reply answers, so replies to the edit, and replies to
    an edited reply further down, still hang under the answer, each ``in_reply_to`` the
    original's id, as ``Message.id`` and ``delivery.ids`` are."""
    words = " ".join(f"word{i}" for i in range(80))
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="Ask us"), brand)
        emu.audience("fan1").reply(d.ids[0], "Vegan options?")
        (message,) = client.inbox(brand).messages
        answer = client.reply(message, Post(text=words))
        assert answer.status is DeliveryStatus.SENT, answer.error
        assert len(answer.ids) == 2
        emu.clock.advance(60)
        second = emu.edit(answer.ids[1], "and the last words, edited")
        under = emu.audience("fan2").reply(second, "Which ones?")
        more = emu.audience("fan2").reply(under, "and gluten-free?")
        emu.clock.advance(60)
        more_now = emu.edit(more, "and gluten-free ones?")
        deeper = emu.audience("fan3").reply(more_now, "following")
        got = client.replies(answer)
    assert [m.id for m in got] == [under, more, deeper]
    assert [m.in_reply_to for m in got] == [answer.ids[1], under, more]
    assert got[1].extra["latest"] == more_now


def test_a_reply_to_the_edited_post_is_a_reply_to_the_brands_post(
    emu: XEmulator, brand: Account
) -> None:
    """A reply to the newest version of the brand's edited post answers that post in the
    inbox and in ``replies``: ``our_post`` and ``in_reply_to`` are the delivery's id."""
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="Our new kit is out"), brand)
        emu.clock.advance(60)
        newest = emu.edit(d.ids[0], "Our new kit is out now")
        asked = emu.audience("fan").reply(newest, "Price?")
        (message,) = client.inbox(brand).messages
        (read,) = client.replies(d)
    for m in (message, read):
        assert (m.id, m.kind, m.our_post, m.in_reply_to) == (asked, "reply", d.ids[0], d.ids[0])


LOOKUP = r"/2/tweets"


def test_an_answer_goes_to_an_edit_made_after_the_last_read(
    emu: XEmulator, brand: Account, tmp_path: Path
) -> None:
    """The mention is edited again after the sync that read its first edit: the answer goes
    to the newest version, found with one lookup (``GET /2/tweets?ids=``) of the message
    read while X still allowed edits; a lost answer is found under that version, not
    posted twice."""
    with Client(retry=FAST) as client, Inbox(tmp_path / "inbox.db") as inbox:
        first = emu.audience("fan").mention("my order 123 came")
        inbox.sync(client, [brand])
        emu.clock.advance(60)
        second = emu.edit(first, "@brand my order 123 came broken")
        assert inbox.sync(client, [brand]).updated == 1
        emu.clock.advance(60)
        third = emu.edit(second, "@brand my order 123 came broken, photo attached")
        (message,) = inbox.messages()
        assert message.extra["latest"] == second
        before = emu.count("GET", LOOKUP)
        emu.fault(method="POST", path=r"/2/tweets", drop="after")
        answer = inbox.reply(client, message, Post(text="Sorry! A new one is on its way."))
        assert answer.status is DeliveryStatus.SENT, answer.error
        assert emu.count("GET", LOOKUP) - before == 1
        assert emu.post(answer.ids[0]).in_reply_to == third  # type: ignore[union-attr]
        assert emu.answers(third) == ["Sorry! A new one is on its way."]
        assert emu.answers(first) == emu.answers(second) == []


def test_an_answer_goes_to_the_first_edit_made_after_the_read(
    emu: XEmulator, brand: Account
) -> None:
    """Read before any edit but while X allowed one: the answer goes to the edit."""
    with Client(retry=FAST) as client:
        first = emu.audience("fan").mention("where is my order")
        (message,) = client.inbox(brand).messages
        emu.clock.advance(60)
        second = emu.edit(first, "@brand where is my order 123")
        answer = client.reply(message, Post(text="Checking now."))
        assert answer.status is DeliveryStatus.SENT, answer.error
        assert emu.post(answer.ids[0]).in_reply_to == second  # type: ignore[union-attr]


def test_no_lookup_for_a_message_that_cannot_change(emu: XEmulator, brand: Account) -> None:
    """A reply to the brand (X cannot edit a reply to someone else) and posts read after
    their edit window closed, edited or not, are answered with no lookup."""
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="Questions?"), brand)
        reply = emu.audience("fan1").reply(d.ids[0], "When?")
        plain = emu.audience("fan2").mention("hello")
        edited = emu.audience("fan3").mention("helo")
        emu.clock.advance(60)
        newest = emu.edit(edited, "@brand hello")
        emu.clock.advance(EDIT_WINDOW)
        messages = {m.id: m for m in client.inbox(brand).messages}
        assert set(messages) == {reply, plain, edited}
        before = emu.count("GET", LOOKUP)
        for i, (key, parent) in enumerate(((reply, reply), (plain, plain), (edited, newest))):
            answer = client.reply(messages[key], Post(text=f"Thanks, {i}!"))
            assert answer.status is DeliveryStatus.SENT, answer.error
            assert emu.post(answer.ids[0]).in_reply_to == parent  # type: ignore[union-attr]
        assert emu.count("GET", LOOKUP) == before


def test_hide_and_like_go_to_an_edit_made_after_the_read(emu: XEmulator, brand: Account) -> None:
    """A fan's second reply (to their own reply: a self-thread, which X lets them edit) is
    edited after the read: hiding it hides the newest version, the one X shows, and a like
    goes to it too; each with one lookup."""
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="Questions?"), brand)
        first = emu.audience("fan").reply(d.ids[0], "When?")
        second = emu.audience("fan").reply(first, "hello??")
        messages = {m.id: m for m in client.inbox(brand).messages}
        emu.clock.advance(60)
        newest = emu.edit(second, "you are all useless")
        before = emu.count("GET", LOOKUP)
        client.hide(messages[second], brand)
        assert emu.is_hidden(newest)
        client.like(messages[second], brand)
        assert emu.likes(newest) == ["brand"]
        assert emu.count("GET", LOOKUP) - before == 2
        client.hide(messages[first], brand)
        assert emu.is_hidden(first)
        assert emu.count("GET", LOOKUP) - before == 2
