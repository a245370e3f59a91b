"""``Article.author`` is a user id when it is digits: ``str.isdigit`` also takes "²", which
``int()`` refuses, and the delivery broke off with an internal error (a ValueError and its
traceback) rather than saying there is no such user."""

from __future__ import annotations

from brandkit import Client, DeliveryStatus, RetryPolicy
from brandkit.content import Article
from brandkit.errors import ContentError
from brandkit.testing.wordpress import WordPressEmulator

FAST = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=10, settle=0.05)


def test_an_author_of_other_digits_is_no_user_not_a_crash() -> None:
    emu = WordPressEmulator()
    with emu.serve(), Client(retry=FAST) as client:
        (d,) = client.publish(Article(title="A", body="x", author="²"), emu.account())
    assert d.status is DeliveryStatus.FAILED
    assert isinstance(d.error, ContentError) and d.error.field == "author"
    assert "no user" in str(d.error)
    assert emu.post_texts() == []


def test_an_author_id_is_used_as_it_is() -> None:
    emu = WordPressEmulator()
    with emu.serve(), Client(retry=FAST) as client:
        uid = emu.add_user("jane", role="author")
        (d,) = client.publish(Article(title="A", body="x", author=uid), emu.account())
        assert d.status is DeliveryStatus.SENT, d.error
        assert emu.item(d.parts[0].id)["author"] == uid
