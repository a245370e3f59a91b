"""The content model: typed errors naming the field, media measured from content."""

from __future__ import annotations

import base64
from datetime import datetime
from pathlib import Path

import pytest

from brandkit import ContentError, Link, Media, MediaError, Post, Variant

PNG_2x3 = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAIAAAADCAYAAAC56t6BAAAAEklEQVR4nGP4z8DwHwYZkDkAV/0I+LJq3rkAAAAASUVORK5CYII="
)


def test_media_type_and_size_come_from_content(tmp_path: Path) -> None:
    """A PNG saved as .jpg is still a PNG, and its pixel size is read."""
    path = tmp_path / "photo.jpg"
    path.write_bytes(PNG_2x3)
    m = Media.from_path(path, alt="a dot")
    assert (m.mime_type, m.kind, m.size, m.width, m.height) == ("image/png", "image", 74, 2, 3)
    forged = Media(data=PNG_2x3, mime_type="video/mp4", size=1)
    assert forged.mime_type == "image/png" and forged.size == len(PNG_2x3)


def test_media_rejects_unknown_and_missing(tmp_path: Path) -> None:
    """Unknown bytes and missing files raise MediaError saying what is wrong."""
    with pytest.raises(MediaError, match="not a supported"):
        Media.from_bytes(b"hello there")
    with pytest.raises(MediaError, match="cannot read"):
        Media.from_path(tmp_path / "nope.png")
    with pytest.raises(MediaError, match="empty"):
        Media.from_bytes(b"")


def test_media_streams_in_chunks(tmp_path: Path) -> None:
    """chunks() yields the file in pieces that join to the whole."""
    data = PNG_2x3 + b"\0" * 5000
    path = tmp_path / "big.png"
    path.write_bytes(data)
    chunks = list(Media.from_path(path).chunks(1024))
    assert b"".join(chunks) == data and max(map(len, chunks)) == 1024


def test_post_roundtrips_through_json() -> None:
    """A post with media survives JSON (the outbox stores posts this way)."""
    post = Post(text="hi", media=[Media.from_bytes(PNG_2x3, alt="dot")], hashtags=["#a", "b"])
    again = Post.model_validate_json(post.model_dump_json())
    assert again == post and again.hashtags == ("a", "b")


@pytest.mark.parametrize(
    ("kwargs", "field", "fragment"),
    [
        ({}, "text", "needs text, media or a link"),
        ({"text": 3}, "text", "valid string"),
        ({"text": "a", "language": "english"}, "language", "ISO 639"),
        ({"text": "a", "hashtags": "launch"}, "hashtags", "must be a list"),
        ({"text": "a", "hashtags": ["two words"]}, "hashtags", "one word"),
        ({"text": "a", "scheduled_at": datetime(2030, 1, 1)}, "scheduled_at", "timezone-aware"),
        ({"text": "a", "colour": "red"}, "colour", "unknown field"),
    ],
)
def test_invalid_post_names_field(kwargs: dict[str, object], field: str, fragment: str) -> None:
    """Each invalid input raises ContentError naming the field and what to fix."""
    with pytest.raises(ContentError, match=fragment) as info:
        Post(**kwargs)  # type: ignore[arg-type]
    assert info.value.field == field


def test_link_must_be_http() -> None:
    """A link card URL must be absolute http(s)."""
    with pytest.raises(ContentError, match="absolute http"):
        Link(url="ftp://example.com/file")


def test_variant_overrides_only_its_fields() -> None:
    """A variant replaces the fields it sets, for its platform only."""
    post = Post(
        text="long text",
        hashtags=["a"],
        options={"visibility": "public"},
        variants={"x": Variant(text="short", options={"extra": 1})},
    )
    x = post.for_platform("x")
    assert (x.text, x.hashtags, x.options) == (
        "short",
        ("a",),
        {"visibility": "public", "extra": 1},
    )
    assert post.for_platform("mastodon") is post
