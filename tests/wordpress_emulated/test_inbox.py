"""WordPress comments in the inbox, against the emulator: what a read returns, its cursor and
limit, held comments, visitors' names, the account's own answers left out, moderation."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from brandkit import Account, Client, DeliveryStatus, Post, RetryPolicy
from brandkit.content import Article
from brandkit.errors import ConfigurationError
from brandkit.testing.wordpress import WordPressEmulator

FAST = RetryPolicy(initial=0.01, max_backoff=0.05)


@pytest.fixture
def emu() -> Iterator[WordPressEmulator]:
    """A WordPress emulator without the install's sample comment, served on 127.0.0.1."""
    emu = WordPressEmulator(timezone="Europe/Berlin")
    emu.remove_comment(1)
    with emu.serve():
        yield emu


@pytest.fixture
def blog(emu: WordPressEmulator) -> Account:
    """The admin's account."""
    return emu.account()


def _publish(client: Client, blog: Account, title: str) -> str:
    (d,) = client.publish(Article(title=title, body="x"), [blog])
    assert d.status is DeliveryStatus.SENT, d.error
    return d.parts[0].id


def test_held_comment_is_hidden_with_the_visitors_name(
    emu: WordPressEmulator, blog: Account
) -> None:
    """A visitor's comment waiting for moderation is read with ``hidden`` set, the status in
    ``extra``, the visitor's name, and a reply to a comment points at that comment."""
    with Client(retry=FAST) as client:
        post_id = _publish(client, blog, "Open day")
        first = emu.audience("Ana").comment(post_id, "When does it start?")
        emu.approve(first)
        second = emu.audience("Ben").reply(f"c{first}", "Same question")
        page = client.inbox(blog)
    got = {m.id: m for m in page.messages}
    assert list(got) == [first, second]
    assert not got[first].hidden and got[first].extra["status"] == "approved"
    assert got[second].hidden and got[second].extra["status"] == "hold"
    assert got[second].in_reply_to == first
    assert got[second].our_post == got[second].conversation == post_id
    assert got[second].author.name == "Ben"
    assert got[second].author.id == "guest:Ben"
    assert got[second].url is not None and got[second].url.endswith(f"#comment-{second}")


def test_cursor_and_limit(emu: WordPressEmulator, blog: Account) -> None:
    """``limit`` gives the oldest new comments and sets ``more``; reading on from the cursor
    gives the rest, each once, then nothing."""
    with Client(retry=FAST) as client:
        post_id = _publish(client, blog, "Many words")
        said = [emu.audience(f"fan{i}").comment(post_id, f"comment {i}") for i in range(7)]
        first = client.inbox(blog, limit=3)
        assert [m.id for m in first.messages] == said[:3] and first.more
        rest = client.inbox(blog, since=first.cursor)
        assert [m.id for m in rest.messages] == said[3:] and not rest.more
        assert client.inbox(blog, since=rest.cursor).messages == ()


def test_more_than_a_page_is_read_across_pages(emu: WordPressEmulator, blog: Account) -> None:
    """150 new comments: two pages of 100, all read once, oldest first."""
    with Client(retry=FAST) as client:
        post_id = _publish(client, blog, "Popular")
        said = [emu.audience(f"f{i % 9}").comment(post_id, f"c{i}") for i in range(150)]
        page = client.inbox(blog)
    assert [m.id for m in page.messages] == said
    lists = [r for r in emu.requests if r.url.path.endswith("/comments") and r.method == "GET"]
    # The second page starts (``offset``) on the last comment of the first.
    assert [r.url.params.get("offset") for r in lists] == [None, "99"]


def test_own_answers_are_not_messages(emu: WordPressEmulator, blog: Account) -> None:
    """The account's answer is stored under the comment, and later reads leave it out."""
    with Client(retry=FAST) as client:
        (article,) = client.publish(Article(title="Ask away", body="x"), [blog])
        post_id = article.parts[0].id
        asked = emu.audience("Cleo").comment(post_id, "Is parking free?")
        (message,) = client.inbox(blog).messages
        answer = client.reply(message, Post(text="Yes, all day."))
        assert answer.status is DeliveryStatus.SENT, answer.error
        assert emu.answers(asked) == ["Yes, all day."]
        stored = emu.comments(post_id)
        assert [(c["parent"], c["author"]) for c in stored[1:]] == [(int(asked), 1)]
        assert client.inbox(blog).messages == (message,)
        assert client.replies(article) == [message]


def test_delete_trashes_and_again_is_done(emu: WordPressEmulator, blog: Account) -> None:
    """Deleting moves the comment to the trash (a later read leaves it out); deleting it
    again, or once it is gone, is not an error."""
    with Client(retry=FAST) as client:
        post_id = _publish(client, blog, "Spam magnet")
        spam = emu.audience("bot").comment(post_id, "buy now")
        (message,) = client.inbox(blog).messages
        client.delete_comment(message, blog)
        assert emu.comments(post_id)[0]["status"] == "trash"
        client.delete_comment(message, blog)
        emu.remove_comment(spam)
        client.delete_comment(message, blog)
        assert client.inbox(blog).messages == ()


@pytest.mark.parametrize("cursor", ['{"v":1,"at":5,"seen":[]}', '{"v":1,"id":-3}', "12"])
def test_a_cursor_of_another_kind_is_refused(blog: Account, cursor: str) -> None:
    """A cursor WordPress's inbox did not make (another platform's too) is a
    ConfigurationError that says what to pass."""
    with Client(retry=FAST) as client, pytest.raises(ConfigurationError, match="cursor"):
        client.inbox(blog, since=cursor)
