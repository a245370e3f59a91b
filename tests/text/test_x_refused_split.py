"""A text holding a character X refuses (a byte order mark from a file read as "utf-8", not
"utf-8-sig") cannot be made to fit by splitting: split and render say so, and where it is."""

from __future__ import annotations

import pytest

from brandkit import ContentError, Post, render, text


@pytest.mark.parametrize(
    ("value", "where"),
    [
        ("\ufeffWe launched today", "U+FEFF at position 0"),
        ("We launched \ufffe today", "U+FFFE at position 12"),
        ("We launched today. " * 40 + "\uffff", "U+FFFF at position 760"),
    ],
)
def test_split_and_render_name_the_refused_character(value: str, where: str) -> None:
    """They said "'\\ufeff' alone does not fit in a part (2 of 280 weighted characters)":
    a part two characters long that does not fit under 280, and nothing about what to do."""
    for attempt in (lambda: text.split(value, "x"), lambda: render(Post(value), "x")):
        with pytest.raises(ContentError) as caught:
            attempt()
        message = str(caught.value)
        assert "X refuses" in message and where in message and "remove it" in message
        assert "alone does not fit" not in message
        assert (caught.value.field, caught.value.platform, caught.value.over_by) == (
            "text",
            "x",
            1,
        )


def test_measure_says_where_the_first_one_is() -> None:
    assert text.measure("ok\ufffe and \ufeff", "x").problems == (
        "text has 2 characters X refuses (U+FFFE, U+FEFF or U+FFFF; the first, U+FFFE at "
        "position 2): remove them",
    )
