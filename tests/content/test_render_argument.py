"""render takes a Post: text or anything else is refused saying how to make one."""

from __future__ import annotations

import pytest

from brandkit import render
from brandkit.errors import ConfigurationError


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("We launched", "render takes a Post, not a str: give Post(text='We launched')"),
        (None, "render takes a Post, not a NoneType: give Post(text=...)"),
    ],
)
def test_render_of_something_else_than_a_post_says_what_to_give(value: object, says: str) -> None:
    """render("We launched", "x") failed with "'str' object has no attribute
    'for_platform'"."""
    with pytest.raises(ConfigurationError) as caught:
        render(value, "x")  # type: ignore[arg-type]
    assert str(caught.value) == says
