"""A media file that changes between being measured and being uploaded is refused with a
`MediaError`, never streamed as it now is: adapters announce the measured size to the
platform (X's INIT total_bytes, Facebook's file_size, a PUT's Content-Length)."""

from __future__ import annotations

from pathlib import Path

import pytest

from brandkit import Media, MediaError
from brandkit.testing import TINY_JPEG


def _measured(tmp_path: Path) -> tuple[Path, Media]:
    path = tmp_path / "photo.jpg"
    path.write_bytes(TINY_JPEG)
    return path, Media.from_path(path, alt="a photo")


def test_unchanged_file_streams_as_measured(tmp_path: Path) -> None:
    _, media = _measured(tmp_path)
    assert b"".join(media.chunks(7)) == TINY_JPEG
    assert all(len(c) <= 7 for c in media.chunks(7))
    assert media.read() == TINY_JPEG


def test_grown_file_is_refused(tmp_path: Path) -> None:
    """Bytes appended after measuring would be sent past the size announced."""
    path, media = _measured(tmp_path)
    with path.open("ab") as fh:
        fh.write(b"\0" * 5000)
    with pytest.raises(MediaError, match="changed since it was measured") as info:
        b"".join(media.chunks())
    assert info.value.field == "media"
    with pytest.raises(MediaError):
        media.read()


def test_truncated_file_is_refused(tmp_path: Path) -> None:
    path, media = _measured(tmp_path)
    path.write_bytes(TINY_JPEG[:100])
    with pytest.raises(MediaError, match="changed since it was measured"):
        list(media.chunks())


def test_file_growing_while_read_is_refused(tmp_path: Path) -> None:
    """A file written to while it is streamed: what is past the measured size is not sent."""
    path, media = _measured(tmp_path)
    chunks = media.chunks(64)
    first = next(chunks)
    assert first == TINY_JPEG[:64]
    with path.open("ab") as fh:
        fh.write(b"\0" * 100)
    with pytest.raises(MediaError, match="changed since it was measured"):
        list(chunks)


def test_replaced_by_another_kind_is_refused(tmp_path: Path) -> None:
    """Same size, other content: no longer the JPEG it was measured as."""
    path, media = _measured(tmp_path)
    path.write_bytes(b"<html>" + b"x" * (len(TINY_JPEG) - 6))
    with pytest.raises(MediaError, match="no longer"):
        list(media.chunks())


def test_deleted_file_is_a_media_error(tmp_path: Path) -> None:
    """Not a bare FileNotFoundError from deep inside an upload (the client would log it as
    an internal error)."""
    path, media = _measured(tmp_path)
    path.unlink()
    with pytest.raises(MediaError, match="cannot read media file") as info:
        list(media.chunks())
    assert str(path) in str(info.value)
