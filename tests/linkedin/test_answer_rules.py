"""LinkedIn answers are comments: text alone, one part, no link card. Render refuses what a
comment cannot carry before the answer is stored or anything is sent."""

from __future__ import annotations

from pathlib import Path

import pytest

from brandkit import Account, Client, DeliveryStatus, Link, Outbox, Post, text
from brandkit.errors import ContentError, MediaError
from brandkit.inbox import Message
from brandkit.platforms.linkedin import LinkedInAdapter
from brandkit.testing.linkedin import LinkedInEmulator
from tests.linkedin.conftest import FAST, picture

URL = "https://example.com/launch"


def _comment_requests(emu: LinkedInEmulator) -> list[str]:
    """The paths of the comments and image uploads the emulator was asked to create."""
    return [
        r.url.path
        for r in emu.requests
        if r.method == "POST" and ("/comments" in r.url.path or r.url.path == "/rest/images")
    ]


def _fan_comment(emu: LinkedInEmulator, client: Client) -> tuple[Account, Message]:
    account = emu.account()
    (post,) = client.publish(Post(text="Launch day"), account)
    assert post.ok, post.error
    emu.audience("fan").comment(post.ids[0], "Where can I read more?")
    (message,) = client.inbox(account).messages
    return account, message


def test_answer_capabilities_are_a_comments() -> None:
    """One part, no media; the link-card rules stay the post's (answers carry no card)."""
    emu = LinkedInEmulator()
    with emu.serve(), Client(retry=FAST) as client:
        account, message = _fan_comment(emu, client)
    adapter = LinkedInAdapter(account)
    caps = adapter.capabilities
    rules = adapter.answer_capabilities(caps, adapter.reply_target(message))
    assert rules.media.max_items == rules.media.min_items == 0
    assert not rules.threads and rules.max_parts == 1
    assert rules.link_card_rules == caps.link_card_rules and not rules.link_card_rules.on_replies
    assert rules.text_rules == caps.text_rules and rules.platform == "linkedin"


def test_media_on_an_answer_is_refused_before_it_is_queued(tmp_path: Path) -> None:
    """Outbox.add_reply renders with the answer's rules: an image is a MediaError that says
    to leave it out, and nothing is stored, uploaded or commented."""
    emu = LinkedInEmulator(image_processing=0.0)
    with emu.serve(), Client(retry=FAST) as client:
        account, message = _fan_comment(emu, client)
        with Outbox(tmp_path / "o.db") as outbox:
            with pytest.raises(MediaError, match="leave the media out") as raised:
                outbox.add_reply(message, Post(text="Here", media=[picture()]), account)
            assert outbox.list() == []
    assert raised.value.field == "media" and raised.value.platform == "linkedin"
    assert _comment_requests(emu) == []
    assert emu.answers(message.id) == []


def test_media_on_an_answer_fails_before_any_request() -> None:
    """Client.reply without an outbox: the answer fails with the same typed error, before
    an image is uploaded or a comment made."""
    emu = LinkedInEmulator(image_processing=0.0)
    with emu.serve(), Client(retry=FAST) as client:
        _, message = _fan_comment(emu, client)
        answer = client.reply(message, Post(text="Here", media=[picture()]))
    assert answer.status is DeliveryStatus.FAILED
    assert isinstance(answer.error, MediaError)
    assert "linkedin answers carry no media" in str(answer.error)
    assert _comment_requests(emu) == []


def test_a_link_on_an_answer_goes_in_the_comment_text() -> None:
    """No card on a comment: the URL reaches the comment's text."""
    emu = LinkedInEmulator()
    with emu.serve(), Client(retry=FAST) as client:
        _, message = _fan_comment(emu, client)
        answer = client.reply(message, Post(text="Here", link=Link(url=URL, title="Launch")))
    assert answer.status is DeliveryStatus.SENT, answer.error
    assert emu.answers(message.id) == [f"Here\n\n{URL}"]


def test_an_answer_over_a_comments_length_is_refused_before_it_is_queued(
    tmp_path: Path,
) -> None:
    """A comment takes 1,250 characters, a post 3,000: an answer of 1,251 is a ContentError
    from render (nothing stored, nothing sent), and one of 1,250 lands whole."""
    emu = LinkedInEmulator()
    with emu.serve(), Client(retry=FAST) as client:
        account, message = _fan_comment(emu, client)
        with Outbox(tmp_path / "o.db") as outbox:
            with pytest.raises(
                ContentError, match="1251 characters on linkedin, 1 over the limit of 1250"
            ) as raised:
                outbox.add_reply(message, Post(text="a" * 1251), account)
            assert outbox.list() == []
        assert raised.value.platform == "linkedin"
        assert _comment_requests(emu) == []
        answer = client.reply(message, Post(text="b" * 1250))
    assert answer.status is DeliveryStatus.SENT, answer.error
    assert emu.answers(message.id) == ["b" * 1250]
    # A post of the same length is still a post: 3,000 is its limit.
    assert text.limit("linkedin") == 3000 and text.limit("linkedin", comment=True) == 1250
    assert text.measure("c" * 2000, "linkedin").fits
    assert not text.measure("c" * 2000, "linkedin", comment=True).fits
