"""``options["reply_settings"]`` is checked before anything is sent.

X takes ``following``, ``mentionedUsers``, ``subscribers`` or ``verified``. A value of
another type (a list, a bool) was left out without a word, so the post went up open to
everyone's replies; a misspelt one was refused by X only after the media were uploaded.
``"everyone"`` (X's default, which X does not take as a value) now posts without the field.
"""

from __future__ import annotations

from typing import Any

import pytest

from brandkit import Client, DeliveryStatus, Media, Post
from brandkit.errors import ContentError
from brandkit.testing.conformance import tiny_png
from brandkit.testing.x import XEmulator
from tests.x.conftest import FAST


@pytest.mark.parametrize("value", [["following"], True, "Following", "followers", ""])
def test_a_reply_setting_x_does_not_take_fails_before_anything_is_sent(value: Any) -> None:
    emu = XEmulator()
    with emu.serve(), Client(retry=FAST) as client:
        acct = emu.account(name="brand")
        image = Media.from_bytes(tiny_png(), alt="A picture")
        post = Post(text="Ask me", media=(image,), options={"reply_settings": value})
        (d,) = client.publish(post, acct)
    assert d.status is DeliveryStatus.FAILED
    assert isinstance(d.error, ContentError), d.error
    assert d.error.field == "options.reply_settings"
    assert "mentionedUsers" in str(d.error)
    assert emu.posts == [] and emu.count("POST", r"/2/media/upload/initialize") == 0


def test_everyone_is_x_default_and_posts_without_the_field() -> None:
    emu = XEmulator()
    with emu.serve(), Client(retry=FAST) as client:
        acct = emu.account(name="brand")
        (d,) = client.publish(Post(text="Open", options={"reply_settings": "everyone"}), acct)
    assert d.ok, d.error
    assert emu.post_texts() == ["Open"]


def test_a_setting_x_takes_reaches_the_post() -> None:
    emu = XEmulator()
    with emu.serve(), Client(retry=FAST) as client:
        acct = emu.account(name="brand")
        post = Post(text="Mentioned only", options={"reply_settings": "mentionedUsers"})
        (d,) = client.publish(post, acct)
    assert d.ok, d.error
    assert emu.posts[0].reply_settings == "mentionedUsers"
