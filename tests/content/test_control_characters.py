"""A control character in a post or an article (a NUL pasted from a PDF, an escape from a
terminal) is refused when it is made, naming the field and the character: Mastodon's
PostgreSQL refuses a NUL with a 500, so the post was tried again and again; WordPress strips
it for most users, so a lost create was not found again by its title and went out twice.
Tab, line feed and carriage return are text."""

from __future__ import annotations

import pytest

from brandkit import ContentError, Post
from brandkit.content import Article, Link


@pytest.mark.parametrize("char", ["\x00", "\x08", "\x0b", "\x0c", "\x1b", "\x7f"])
def test_a_control_character_is_refused_where_the_post_is_made(char: str) -> None:
    with pytest.raises(ContentError, match=rf"Post\.text .*U\+{ord(char):04X} at position 5"):
        Post(text=f"hello{char}world")
    with pytest.raises(ContentError, match=r"Article\.title") as info:
        Article(title=f"Launch{char}", body="We launched.")
    assert info.value.field == "title"
    with pytest.raises(ContentError, match=r"Article\.body"):
        Article(title="Launch", body=f"We {char}launched.")
    with pytest.raises(ContentError, match=r"Link\.title"):
        Link(url="https://example.com/", title=f"A{char}")
    with pytest.raises(ContentError, match=r"Variant\.text"):
        Post.model_validate({"text": "hi", "variants": {"x": {"text": f"hi{char}"}}})


def test_tabs_and_line_breaks_are_text() -> None:
    post = Post(text="one\ttwo\nthree\r\nfour")
    assert post.text == "one\ttwo\nthree\r\nfour"
    assert Article(title="T", body="para one\r\n\r\npara\ttwo").body.endswith("\ttwo")
