"""What `Media` is made from is checked first: bytes (or base64 text, as JSON carries them)
and a path. Anything else is a `MediaError` that says what to pass, never a TypeError from
deep inside, and never a number taken as a count of zero bytes to allocate."""

from __future__ import annotations

import io
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from brandkit import Media, MediaError
from brandkit.testing import TINY_JPEG


@pytest.mark.parametrize(
    "data",
    [io.BytesIO(TINY_JPEG), [0xFF, 0xD8, 0xFF], 12, 3.5, object()],
    ids=["file-object", "list", "int", "float", "object"],
)
def test_data_that_is_not_bytes_is_refused(data: Any) -> None:
    with pytest.raises(MediaError, match="must be bytes") as info:
        Media.from_bytes(data)
    assert info.value.field == "media"


def test_a_large_number_allocates_nothing() -> None:
    """bytes(n) would allocate n zero bytes before any size check."""
    tracemalloc.start()
    try:
        with pytest.raises(MediaError, match="must be bytes"):
            Media.from_bytes(200_000_000)  # type: ignore[arg-type]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 10_000_000


def test_bytes_like_data_is_taken() -> None:
    for data in (TINY_JPEG, bytearray(TINY_JPEG), memoryview(TINY_JPEG)):
        media = Media.from_bytes(data)
        assert media.read() == TINY_JPEG and media.mime_type == "image/jpeg"


@pytest.mark.parametrize("path", [5, b"photo.jpg", "photo\0.jpg"], ids=["int", "bytes", "nul"])
def test_path_that_is_no_path_is_refused(path: Any) -> None:
    with pytest.raises(MediaError) as info:
        Media(path=path)
    assert info.value.field == "media"


def test_path_as_text_is_taken(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    path.write_bytes(TINY_JPEG)
    assert Media(path=str(path)).size == len(TINY_JPEG)
