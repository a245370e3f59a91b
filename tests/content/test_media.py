"""Media measuring: EXIF orientation, header-only reads, FIFOs and huge files refused first."""

from __future__ import annotations

import os
import struct
import threading
from pathlib import Path
from typing import Any

import pytest

from brandkit import ContentError, Media, MediaError, Post, render
from brandkit.content._media import largest_media_bytes
from brandkit.testing import TINY_JPEG


def _jpeg(width: int, height: int, *, orientation: int | None = None, order: str = "II") -> bytes:
    """TINY_JPEG with its frame header saying ``width`` x ``height`` and, if given, an EXIF
    APP1 segment (before the JFIF one, as cameras write it) with that Orientation."""
    sof = TINY_JPEG.index(b"\xff\xc0")
    body = bytearray(TINY_JPEG)
    body[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    if orientation is None:
        return bytes(body)
    end = "<" if order == "II" else ">"
    # TIFF header, IFD0 at offset 8 with two entries: Make (ASCII, ignored) and Orientation.
    tiff = order.encode() + struct.pack(end + "HI", 42, 8)
    tiff += struct.pack(end + "H", 2)
    tiff += struct.pack(end + "HHII", 0x010F, 2, 4, 0)
    tiff += struct.pack(end + "HHIHH", 0x0112, 3, 1, orientation, 0)
    tiff += struct.pack(end + "I", 0)
    app1 = b"Exif\0\0" + tiff
    return b"\xff\xd8" + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + bytes(body[2:])


@pytest.mark.parametrize("order", ["II", "MM"])
@pytest.mark.parametrize(
    ("orientation", "size"),
    [(1, (30, 20)), (2, (30, 20)), (3, (30, 20)), (4, (30, 20))]
    + [(o, (20, 30)) for o in (5, 6, 7, 8)],
)
def test_exif_orientation_swaps_width_and_height(
    orientation: int, size: tuple[int, int], order: str
) -> None:
    """A 30x20 JPEG whose EXIF orientation is 5-8 is displayed 20x30: that is its size."""
    m = Media.from_bytes(_jpeg(30, 20, orientation=orientation, order=order))
    assert (m.width, m.height) == size
    assert m.aspect_ratio == size


def test_bluesky_aspect_ratio_follows_orientation(tmp_path: Path) -> None:
    """A portrait phone photo (stored landscape, Orientation 6) is portrait on Bluesky too."""
    path = tmp_path / "phone.jpg"
    path.write_bytes(_jpeg(4032, 3024, orientation=6))
    m = Media.from_path(path, alt="portrait")
    rendered = render(Post(text="hi", media=[m]), "bluesky")
    assert rendered.media[0].aspect_ratio == (3024, 4032)
    assert Media.from_bytes(_jpeg(4032, 3024)).aspect_ratio == (4032, 3024)


def _bytes_read() -> int:
    """Bytes this process has read through read() calls so far (Linux /proc/self/io)."""
    try:
        text = Path("/proc/self/io").read_text()
    except OSError:
        pytest.skip("needs /proc/self/io to count the bytes read")
    return int(text.split("rchar:")[1].split()[0])


def test_jpeg_is_measured_from_its_headers(tmp_path: Path) -> None:
    """A JPEG whose frame header sits behind 20 MB of metadata segments is measured by
    walking the segment headers: a few hundred KiB read, not the file."""
    path = tmp_path / "big.jpg"
    segments = 320
    with path.open("wb") as fh:
        fh.write(b"\xff\xd8")
        for _ in range(segments):
            # APP2 segments of the largest length; their content stays a sparse hole.
            fh.write(b"\xff\xe2" + struct.pack(">H", 0xFFFF))
            fh.seek(0xFFFF - 2, os.SEEK_CUR)
        fh.write(_jpeg(640, 480)[2:])
    assert path.stat().st_size > 20_000_000
    before = _bytes_read()
    m = Media.from_path(path)
    read = _bytes_read() - before
    assert (m.width, m.height) == (640, 480)
    assert read < 1_000_000


def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    """A FIFO as a media path is refused at once (never opened for a blocking read)."""
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    outcome: list[BaseException] = []

    def measure() -> None:
        try:
            Media.from_path(fifo)
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=measure, daemon=True)
    worker.start()
    worker.join(5)
    if worker.is_alive():  # unblock the hung open so the test process can end
        with open(fifo, "wb"):
            pass
        pytest.fail("Media.from_path blocked on a FIFO")
    (error,) = outcome
    assert isinstance(error, MediaError) and "not a regular file" in str(error)
    with pytest.raises(MediaError, match="not a regular file"):
        Media.from_path(tmp_path)


def test_file_over_every_platform_limit_is_refused_before_reading(tmp_path: Path) -> None:
    """A 2 GiB sparse JPEG is refused from its size alone: no byte of it is read."""
    path = tmp_path / "huge.jpg"
    with path.open("wb") as fh:
        fh.write(TINY_JPEG)
        fh.truncate(2 * 1024**3)
    before = _bytes_read()
    with pytest.raises(MediaError, match="more than any platform takes") as info:
        Media.from_path(path)
    assert _bytes_read() - before < 64 * 1024
    assert info.value.over_by == 2 * 1024**3 - largest_media_bytes()
    assert largest_media_bytes() == 1024 * 1000 * 1000  # Facebook video, the largest


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"text": "caf\udce9"}, "text"),
        ({"text": "a", "hashtags": ["ok", "bad\ud800"]}, "hashtags[1]"),
        ({"text": "a", "campaign": "\udfff"}, "campaign"),
        ({"text": "a", "options": {"visibility": "\ud83d"}}, "options.visibility"),
        ({"text": "a", "link": {"url": "https://a.example/", "title": "\udc80"}}, "title"),
    ],
)
def test_lone_surrogates_are_content_errors(kwargs: dict[str, Any], field: str) -> None:
    """Text with a lone surrogate (bytes decoded with surrogateescape) is a ContentError
    naming the field, never a serialization error later in the outbox."""
    with pytest.raises(ContentError, match="lone surrogate") as info:
        Post(**kwargs)
    assert info.value.field == field
    with pytest.raises(ContentError, match=r"Media\.alt holds a lone surrogate"):
        Media.from_bytes(TINY_JPEG, alt="\udc80")
