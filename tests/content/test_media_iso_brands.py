"""Media of the ISO file format family: only videos and HEIC images pass for what they are."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from brandkit import Media, MediaError


def _iso_file(major: bytes, *compatible: bytes) -> bytes:
    """The start of an ISO base media file: its ftyp box, then some other box."""
    ftyp = b"ftyp" + major + b"\0\0\0\0" + b"".join(compatible)
    return struct.pack(">I", 4 + len(ftyp)) + ftyp + struct.pack(">I", 16) + b"free" + b"\0" * 8


@pytest.mark.parametrize(
    ("major", "compatible", "what"),
    [
        (b"avif", (b"avif", b"mif1", b"miaf"), "an AVIF image"),
        (b"avis", (b"avis", b"msf1"), "an AVIF image"),
        (b"mif1", (b"mif1", b"avif", b"miaf"), "an AVIF image"),
        (b"M4A ", (b"M4A ", b"isom"), "an audio file"),
        (b"M4B ", (b"M4B ",), "an audio file"),
        (b"crx ", (b"crx ",), "a Canon raw photo"),
    ],
)
def test_a_file_that_is_no_video_is_not_taken_for_one(
    tmp_path: Path, major: bytes, compatible: tuple[bytes, ...], what: str
) -> None:
    """Every ftyp brand but QuickTime's and HEIC's was taken for an MP4 video: an AVIF photo
    or an M4A podcast was uploaded to X or Mastodon as a video, and failed there after the
    upload (or in the platform's processing) instead of here, saying why."""
    data = _iso_file(major, *compatible)
    with pytest.raises(MediaError) as caught:
        Media.from_bytes(data, filename="upload")
    assert what in str(caught.value)
    assert "convert it" in str(caught.value)
    path = tmp_path / "file.mp4"
    path.write_bytes(data)
    with pytest.raises(MediaError, match=what):
        Media.from_path(path)


@pytest.mark.parametrize(
    ("major", "compatible", "mime", "kind"),
    [
        (b"isom", (b"isom", b"iso2", b"avc1", b"mp41"), "video/mp4", "video"),
        (b"mp42", (b"mp42", b"isom"), "video/mp4", "video"),
        (b"M4V ", (b"M4V ", b"M4A ", b"mp42", b"isom"), "video/mp4", "video"),
        (b"3gp4", (b"3gp4", b"isom"), "video/mp4", "video"),
        (b"qt  ", (b"qt  ",), "video/quicktime", "video"),
        (b"heic", (b"mif1", b"heic"), "image/heic", "image"),
        (b"mif1", (b"mif1", b"heic"), "image/heic", "image"),
    ],
)
def test_videos_and_heic_pass_as_before(
    major: bytes, compatible: tuple[bytes, ...], mime: str, kind: str
) -> None:
    media = Media.from_bytes(_iso_file(major, *compatible))
    assert (media.mime_type, media.kind) == (mime, kind)


def _ebml(doc_type: bytes) -> bytes:
    """An EBML header (version 1, the given DocType), then the start of a Segment."""
    body = b"\x42\x86\x81\x01" + b"\x42\xf7\x81\x01" + b"\x42\xf2\x81\x04" + b"\x42\xf3\x81\x08"
    body += b"\x42\x82" + bytes([0x80 | len(doc_type)]) + doc_type
    body += b"\x42\x87\x81\x04" + b"\x42\x85\x81\x02"
    return b"\x1a\x45\xdf\xa3" + bytes([0x80 | len(body)]) + body + b"\x18\x53\x80\x67" + b"\0" * 64


def test_a_matroska_video_is_not_taken_for_webm() -> None:
    """WebM and Matroska share their first bytes: an MKV was sent as video/webm, which
    Mastodon refuses once uploaded (it finds video/x-matroska) and X does not take."""
    with pytest.raises(MediaError, match=r"a Matroska \(MKV\) video.*convert it to an MP4"):
        Media.from_bytes(_ebml(b"matroska"), filename="clip.mkv")
    media = Media.from_bytes(_ebml(b"webm"))
    assert (media.mime_type, media.kind) == ("video/webm", "video")
