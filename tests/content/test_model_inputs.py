"""Post fields given the wrong kind of value are refused saying what to give instead, never
turned into something else."""

from __future__ import annotations

import pytest

from brandkit import ContentError, Post
from brandkit.content import Variant


@pytest.mark.parametrize(
    ("tag", "shown"),
    [(None, "None"), (2026, "int 2026"), (1.5, "float 1.5"), (b"launch", "bytes b'launch'")],
)
def test_a_hashtag_that_is_not_text_is_refused(tag: object, shown: str) -> None:
    """hashtags=[None] (a missing value of a spreadsheet column) posted "#None": str() made
    a tag of anything."""
    with pytest.raises(ContentError) as caught:
        Post("We launched", hashtags=["ok", tag])  # type: ignore[list-item]
    assert caught.value.field == "hashtags[1]"
    assert f"hashtags[1] is {shown}, not text" in str(caught.value)
    with pytest.raises(ContentError, match=r"hashtags\[0\]"):
        Variant(hashtags=[tag])  # type: ignore[list-item]
