"""``options["sensitive"]`` is a bool, checked before anything is sent.

It was sent as ``bool(value)``: ``"false"``, ``"no"`` or ``0.0``-like strings marked the
media sensitive (hidden behind a warning) while the user said they were not.
"""

from __future__ import annotations

from typing import Any

import pytest

from brandkit import Client, DeliveryStatus, Media, Post
from brandkit.errors import ContentError
from brandkit.testing.conformance import tiny_png
from brandkit.testing.mastodon import MastodonEmulator
from tests.mastodon.conftest import FAST


@pytest.mark.parametrize("value", ["false", "no", 1])
def test_a_sensitive_that_is_no_bool_fails_before_anything_is_sent(value: Any) -> None:
    emu = MastodonEmulator()
    with emu.serve(), Client(retry=FAST) as client:
        acct = emu.account()
        image = Media.from_bytes(tiny_png(), alt="A picture")
        post = Post(text="Look", media=(image,), options={"sensitive": value})
        (d,) = client.publish(post, acct)
    assert d.status is DeliveryStatus.FAILED
    assert isinstance(d.error, ContentError), d.error
    assert d.error.field == "options.sensitive"
    assert emu.post_texts() == [] and emu.uploads == []


@pytest.mark.parametrize("value", [True, False])
def test_a_bool_reaches_the_status(value: bool) -> None:
    emu = MastodonEmulator()
    with emu.serve(), Client(retry=FAST) as client:
        acct = emu.account()
        image = Media.from_bytes(tiny_png(), alt="A picture")
        (d,) = client.publish(Post(text="Look", media=(image,), options={"sensitive": value}), acct)
    assert d.ok, d.error
    assert emu.posts[0]["sensitive"] is value
