"""A quote and media on one post: X takes one or the other (``media`` and ``quote_tweet_id``
are mutually exclusive in ``POST /2/tweets``). brandkit posted the image and dropped the quote
without a word; now the delivery fails before anything is sent, saying what to change."""

from __future__ import annotations

from brandkit import Client, DeliveryStatus, Media, Post
from brandkit.errors import ContentError
from brandkit.testing.conformance import tiny_png
from brandkit.testing.x import XEmulator
from tests.x.conftest import FAST


def test_a_quote_with_media_is_refused_before_anything_is_sent() -> None:
    emu = XEmulator()
    with emu.serve(), Client(retry=FAST) as client:
        acct = emu.account(name="brand")
        quoted = emu.seed_post("brand", "The original")
        image = Media.from_bytes(tiny_png(), alt="A picture")
        post = Post(text="Look at this", media=(image,), options={"quote_tweet_id": quoted.id})
        (d,) = client.publish(post, acct)
    assert d.status is DeliveryStatus.FAILED
    assert isinstance(d.error, ContentError), d.error
    assert d.error.field == "options.quote_tweet_id"
    assert "media" in str(d.error)
    assert emu.post_texts() == ["The original"]
    assert emu.count("POST", r"/2/media/upload/initialize") == 0


def test_a_quote_without_media_is_posted() -> None:
    emu = XEmulator()
    with emu.serve(), Client(retry=FAST) as client:
        acct = emu.account(name="brand")
        quoted = emu.seed_post("brand", "The original")
        (d,) = client.publish(Post(text="Quoting", options={"quote_tweet_id": quoted.id}), acct)
    assert d.ok, d.error
    assert emu.posts[-1].quote_tweet_id == quoted.id
