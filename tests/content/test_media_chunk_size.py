"""Media.chunks takes a chunk size of at least one byte, for media in memory and on disk
alike."""

from __future__ import annotations

from pathlib import Path

import pytest

from brandkit import Media
from brandkit.errors import ConfigurationError
from brandkit.testing import TINY_JPEG


@pytest.mark.parametrize("size", [0, -3, True, 1.5])
def test_a_chunk_size_below_one_byte_is_refused(tmp_path: Path, size: object) -> None:
    """chunks(0) of a file said it "changed since it was measured", chunks(-3) of bytes gave
    nothing at all (an upload of zero bytes), and chunks(0) of bytes a bare ValueError."""
    path = tmp_path / "dot.jpg"
    path.write_bytes(TINY_JPEG)
    for media in (Media.from_path(path), Media.from_bytes(TINY_JPEG)):
        with pytest.raises(ConfigurationError, match="chunk size must be a whole number"):
            list(media.chunks(size))  # type: ignore[arg-type]


def test_every_byte_comes_in_chunks_of_the_size_asked(tmp_path: Path) -> None:
    path = tmp_path / "dot.jpg"
    path.write_bytes(TINY_JPEG)
    for media in (Media.from_path(path), Media.from_bytes(TINY_JPEG)):
        chunks = list(media.chunks(100))
        assert b"".join(chunks) == TINY_JPEG
        assert all(len(c) <= 100 for c in chunks)
