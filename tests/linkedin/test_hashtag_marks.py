"""A hashtag is the whole word, combining marks included: Devanagari and Thai vowel signs,
accents typed as a letter plus a combining accent (macOS's decomposed text), and the zero-width
non-joiner of Persian are part of the word, so the template LinkedIn stores names all of it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from brandkit import Client, DeliveryStatus, Post
from brandkit.platforms.linkedin import little_text
from brandkit.testing.linkedin import LinkedInEmulator
from tests.linkedin.conftest import FAST

TAGS = ["हिन्दी", "สวัสดี", "cafe\u0301", "می\u200cخواهم", "தமிழ்"]


@pytest.fixture
def emu() -> Iterator[LinkedInEmulator]:
    """An emulator on 127.0.0.1."""
    emu = LinkedInEmulator()
    with emu.serve():
        yield emu


@pytest.mark.parametrize("tag", TAGS)
def test_the_stored_hashtag_is_the_whole_word(emu: LinkedInEmulator, tag: str) -> None:
    """Sent over HTTP, the commentary LinkedIn keeps holds one template naming the whole
    tag, and nothing of the word is left outside it."""
    text = f"News #{tag} today"
    with Client(retry=FAST) as client:
        (delivery,) = client.publish(Post(text=text, utm=False), emu.account())
    assert delivery.status is DeliveryStatus.SENT, delivery.error
    (post,) = emu.posts
    assert post.commentary == f"News {{hashtag|\\#|{tag}}} today"
    assert post.text == text and not post.truncated


def test_a_mark_before_the_sign_starts_no_hashtag() -> None:
    """A "#" right after a letter with its mark is inside a word, as after any letter."""
    assert little_text("हि#tag") == "हि\\#tag"
