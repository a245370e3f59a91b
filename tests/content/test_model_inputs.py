"""Post fields given the wrong kind of value are refused saying what to give instead, never
turned into something else."""

from __future__ import annotations

from pathlib import Path

import pytest

from brandkit import ContentError, MediaError, Post
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


@pytest.mark.parametrize(
    ("media", "field", "hint"),
    [
        ("photo.jpg", "media", "Media.from_path('photo.jpg', alt=...)"),
        (Path("photo.jpg"), "media", "Media.from_path('photo.jpg', alt=...)"),
        (["photo.jpg"], "media[0]", "Media.from_path('photo.jpg', alt=...)"),
        ([b"\x89PNG"], "media[0]", "Media.from_bytes(data, alt=...)"),
    ],
)
def test_a_path_or_bytes_given_as_media_says_how_to_make_media(
    media: object, field: str, hint: str
) -> None:
    """media=["photo.jpg"] failed with "Post.media.0: Input should be a valid dictionary or
    instance of Media": nothing said that a path is made into Media by Media.from_path."""
    with pytest.raises(MediaError) as caught:
        Post("We launched", media=media)  # type: ignore[arg-type]
    assert caught.value.field == field
    assert hint in str(caught.value)
    with pytest.raises(MediaError, match=r"Media\.from_"):
        Variant(media=media)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["false", "no", 0, 1, [True]])
def test_thread_numbering_is_true_or_false(value: object) -> None:
    """thread_numbering="false" (text from a form or a config file) numbered the thread:
    render read the option with bool(), and any non-empty text is true."""
    with pytest.raises(ContentError) as caught:
        Post("We launched", options={"thread_numbering": value})
    assert caught.value.field == "options.thread_numbering"
    assert "True or False" in str(caught.value)
    with pytest.raises(ContentError) as caught:
        Post("We launched", variants={"x": Variant(options={"thread_numbering": value})})
    assert caught.value.field == "options.thread_numbering"
    for flag in (True, False, None):
        assert Post("a", options={"thread_numbering": flag}).options["thread_numbering"] is flag
