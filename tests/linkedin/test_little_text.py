"""Little text: brandkit's escaping, and the emulator's parser that cuts unescaped text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from brandkit.platforms.linkedin import RESERVED, little_text, visible_text
from brandkit.testing.linkedin import parse_little_text

TEXTS = [
    "Plain words only",
    "Hello (world) [1] {2} <3> *bold* _under_ ~strike~ | pipe \\ backslash @ at",
    "Price: 10 * 3 = 30; see https://example.com/a_b(c)?x=1#frag",
    "#launch day with #AI and #2026 and ＃wide",
    "email me: someone@example.com",
    "Thanks @[Acme (EU)](urn:li:organization:1234) and @[Eddy](urn:li:person:abc-1)!",
    "emoji 😀 and CJK 日本語 (and reserved) ~",
]


@pytest.mark.parametrize("text", TEXTS)
def test_escaped_text_survives_linkedins_parser_whole(text: str) -> None:
    """What brandkit sends is never cut, and readers see exactly the text (mentions as
    names)."""
    kept, visible, cut = parse_little_text(little_text(text))
    assert not cut and kept == little_text(text)
    expected = text.replace("@[Acme (EU)](urn:li:organization:1234)", "Acme (EU)").replace(
        "@[Eddy](urn:li:person:abc-1)", "Eddy"
    )
    assert visible == expected == visible_text(little_text(text))


@pytest.mark.parametrize("char", sorted(RESERVED - {"\\"}))
def test_each_reserved_character_unescaped_cuts_the_post(char: str) -> None:
    """Sent raw, every reserved character (outside an element) makes LinkedIn drop the rest."""
    raw = f"before {char} after"
    kept, visible, cut = parse_little_text(raw)
    assert cut and visible == "before " and kept == "before "
    kept, visible, cut = parse_little_text(little_text(raw))
    assert not cut and visible == raw


def test_unescaped_backslash_eats_itself() -> None:
    """A raw backslash escapes the next character, so it vanishes from the post."""
    _kept, visible, cut = parse_little_text("C:\\dir a\\b")
    assert (visible, cut) == ("C:dir ab", False)
    assert parse_little_text(little_text("a\\b"))[1] == "a\\b"


def test_hashtags_become_templates() -> None:
    """#tag is sent as {hashtag|\\#|tag}; numbers alone and URL fragments are no hashtags."""
    assert little_text("#launch") == "{hashtag|\\#|launch}"
    assert little_text("＃wide") == "{hashtag|＃|wide}"
    assert little_text("#2026") == "\\#2026"
    assert little_text("a.com/#x") == "a.com/\\#x"


def test_backslash_is_escaped_once() -> None:
    """A backslash becomes two, and the characters after it are escaped on their own."""
    assert little_text("a\\(b") == "a\\\\\\(b"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(sorted(RESERVED) + list("ab #@[]()\n😀")), max_size=60))
def test_any_text_round_trips(text: str) -> None:
    """For any text, the escaped commentary is kept whole and shows the text (mention
    syntax aside)."""
    sent = little_text(text)
    _kept, visible, cut = parse_little_text(sent)
    assert not cut
    assert visible == visible_text(sent)
    if "](urn:li:" not in text:
        assert visible == text
