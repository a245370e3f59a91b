"""Reading what a media file really is: its type from its first bytes, its size, its pixels."""

from __future__ import annotations

import base64
import io
import os
import stat
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, Literal

from pydantic import ConfigDict, Field, model_validator

from brandkit.content._base import ContentModel
from brandkit.errors import ConfigurationError, MediaError

__all__ = ["Media", "MediaKind", "largest_media_bytes", "sniff"]

MediaKind = Literal["image", "gif", "video"]

# How many leading bytes sniffing and dimension probing of PNG, GIF and WebP need at most.
# JPEG frames can start later: the JPEG probe walks the file's segment headers instead.
_HEAD = 64 * 1024


EXTENSIONS: dict[str, str] = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "image/webp": "webp",
    "image/heic": "heic",
    "video/mp4": "mp4",
    "video/quicktime": "mov",
    "video/webm": "webm",
}
"""The extension a file of each type `sniff` measures is stored and served with. A
published file's extension is how a web server chooses to serve it (or run it): it comes
from the measured type, never from the name a caller gave."""


# ISO base media files ("ftyp" at byte 4) that are no video, by brand: each with what it is
# and what to convert it to. Every other brand but QuickTime's and HEIC's is a video (MP4,
# M4V, 3GP, ...), so these would be uploaded as videos and fail at the platform.
_AVIF = ("an AVIF image", "JPEG or PNG")
_NOT_VIDEO_BRANDS: dict[bytes, tuple[str, str]] = {
    b"avif": _AVIF,
    b"avis": _AVIF,
    b"avio": _AVIF,
    b"msf1": ("a HEIF image sequence", "an MP4 video or a GIF"),
    b"hevc": ("a HEIF image sequence", "an MP4 video or a GIF"),
    b"hevx": ("a HEIF image sequence", "an MP4 video or a GIF"),
    b"M4A ": ("an audio file (MPEG-4 audio)", "an MP4 video"),
    b"M4B ": ("an audio file (MPEG-4 audio)", "an MP4 video"),
    b"M4P ": ("an audio file (MPEG-4 audio)", "an MP4 video"),
    b"F4A ": ("an audio file (Flash audio)", "an MP4 video"),
    b"F4B ": ("an audio file (Flash audio)", "an MP4 video"),
    b"crx ": ("a Canon raw photo (CR3)", "JPEG or PNG"),
}
_HEIC_BRANDS = (b"heic", b"heix", b"mif1", b"heim", b"heis")


def _iso_brands(head: bytes) -> tuple[bytes, list[bytes]]:
    """The major brand and the compatible brands of the ftyp box at the start of ``head``."""
    (box,) = struct.unpack(">I", head[:4])
    end = min(max(box, 16), len(head))
    return head[8:12], [head[i : i + 4] for i in range(16, end - 3, 4)]


_EBML = b"\x1a\x45\xdf\xa3"
# The EBML header's DocType element: its id, then its size as a one-byte EBML number.
_DOC_TYPE = b"\x42\x82"


def _ebml_doc_type(head: bytes) -> bytes | None:
    """The DocType of the EBML header at the start of ``head`` (``webm``, ``matroska``), or
    None when it is not in the header's first bytes."""
    at = head.find(_DOC_TYPE, 4, 64)
    if at < 0 or at + 3 > len(head) or not head[at + 2] & 0x80:
        return None
    size = head[at + 2] & 0x7F
    return head[at + 3 : at + 3 + size]


def _not_media(head: bytes) -> tuple[str, str] | None:
    """What a file that starts like a supported video or HEIC image but is neither is, and
    what to convert it to (``None``: it is one of them, or no such file): an ISO base media
    file of another brand, a Matroska file (WebM's container, with WebM's first bytes)."""
    if head.startswith(_EBML):
        if _ebml_doc_type(head) == b"matroska":
            return "a Matroska (MKV) video", "an MP4 video (H.264)"
        return None
    if head[4:8] != b"ftyp" or len(head) < 12:
        return None
    major, compatible = _iso_brands(head)
    found = _NOT_VIDEO_BRANDS.get(major)
    if found is None and major in (b"mif1", b"msf1") and b"heic" not in compatible:
        # The generic HEIF brand: an AVIF image when its compatible brands say so.
        found = next((_AVIF for b in compatible if b in (b"avif", b"avis")), None)
    return found


def sniff(head: bytes) -> tuple[str, MediaKind] | None:
    """The mime type and kind of a file from its first bytes, or ``None`` if unknown (or
    known not to be a supported image or video: an AVIF image, an M4A audio file)."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png", "image"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg", "image"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif", "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp", "image"
    if head[4:8] == b"ftyp":
        if _not_media(head) is not None:
            return None
        brand = head[8:12]
        if brand == b"qt  ":
            return "video/quicktime", "video"
        if brand in _HEIC_BRANDS:
            return "image/heic", "image"
        return "video/mp4", "video"
    if head.startswith(_EBML):
        return None if _not_media(head) is not None else ("video/webm", "video")
    return None


def _png_size(head: bytes) -> tuple[int, int] | None:
    if len(head) >= 24 and head[12:16] == b"IHDR":
        w, h = struct.unpack(">II", head[16:24])
        return int(w), int(h)
    return None


def _gif_size(head: bytes) -> tuple[int, int] | None:
    if len(head) >= 10:
        w, h = struct.unpack("<HH", head[6:10])
        return int(w), int(h)
    return None


def _webp_size(head: bytes) -> tuple[int, int] | None:
    chunk = head[12:16]
    if chunk == b"VP8 " and len(head) >= 30:
        w, h = struct.unpack("<HH", head[26:30])
        return int(w & 0x3FFF), int(h & 0x3FFF)
    if chunk == b"VP8L" and len(head) >= 25:
        b = head[21:25]
        w = 1 + (((b[1] & 0x3F) << 8) | b[0])
        h = 1 + (((b[3] & 0x0F) << 10) | (b[2] << 2) | ((b[1] & 0xC0) >> 6))
        return w, h
    if chunk == b"VP8X" and len(head) >= 30:
        w = 1 + int.from_bytes(head[24:27], "little")
        h = 1 + int.from_bytes(head[27:30], "little")
        return w, h
    return None


# A JPEG's frame header can sit behind large EXIF/XMP/ICC segments: the probe walks the
# segments by their lengths (seeking, never reading what it skips) and gives up after this
# many, so a crafted file cannot keep it walking.
_JPEG_MAX_SEGMENTS = 512
# EXIF orientations 5-8 rotate the image by 90 degrees: the displayed width is the stored
# height (TIFF/EXIF 2.32, tag 0x0112).
_ROTATED = frozenset({5, 6, 7, 8})


def _exif_orientation(app1: bytes) -> int | None:
    """The Orientation tag of an APP1 ``Exif`` payload (the bytes after the length)."""
    if not app1.startswith(b"Exif\0\0") or len(app1) < 14:
        return None
    tiff = app1[6:]
    order = tiff[:2]
    if order == b"II":
        end = "<"
    elif order == b"MM":
        end = ">"
    else:
        return None
    try:
        (ifd,) = struct.unpack(end + "I", tiff[4:8])
        (count,) = struct.unpack(end + "H", tiff[ifd : ifd + 2])
        for i in range(min(count, 256)):
            entry = tiff[ifd + 2 + 12 * i : ifd + 14 + 12 * i]
            tag, kind = struct.unpack(end + "HH", entry[:4])
            if tag == 0x0112 and kind == 3:  # SHORT
                (value,) = struct.unpack(end + "H", entry[8:10])
                return int(value)
    except struct.error:
        return None
    return None


def _jpeg_probe(fh: BinaryIO) -> tuple[int, int] | None:
    """The displayed ``(width, height)`` of the JPEG in ``fh``, EXIF orientation applied.

    Reads segment headers only (and the EXIF segment, at most 64 KiB); skipped segments are
    sought past, so a large file costs a few small reads.
    """
    fh.seek(2)
    orientation: int | None = None
    for _ in range(_JPEG_MAX_SEGMENTS):
        byte = fh.read(1)
        if not byte:
            return None
        if byte != b"\xff":
            continue
        marker_b = fh.read(1)
        while marker_b == b"\xff":  # fill bytes
            marker_b = fh.read(1)
        if not marker_b:
            return None
        marker = marker_b[0]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            continue
        if marker in (0xD9, 0xDA):  # end of image, start of scan: no frame header before
            return None
        raw_len = fh.read(2)
        if len(raw_len) < 2:
            return None
        (seg_len,) = struct.unpack(">H", raw_len)
        if seg_len < 2:
            return None
        # SOF0..SOF15 carry the frame size, except DHT (C4), JPG (C8) and DAC (CC).
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            frame = fh.read(5)
            if len(frame) < 5:
                return None
            h, w = struct.unpack(">HH", frame[1:5])
            if orientation in _ROTATED:
                return int(h), int(w)
            return int(w), int(h)
        if marker == 0xE1 and orientation is None:
            payload = fh.read(seg_len - 2)
            orientation = _exif_orientation(payload)
            continue
        fh.seek(seg_len - 2, io.SEEK_CUR)
    return None


def _dimensions(mime: str, head: bytes, fh: BinaryIO | None = None) -> tuple[int, int] | None:
    """The displayed size of an image: from ``head`` (its first bytes), and for JPEG from
    ``fh`` (the whole file, walked by segment headers; defaults to ``head`` itself)."""
    if fh is None:
        fh = io.BytesIO(head)
    if mime == "image/png":
        return _png_size(head)
    if mime == "image/gif":
        return _gif_size(head)
    if mime == "image/webp":
        return _webp_size(head)
    if mime == "image/jpeg":
        return _jpeg_probe(fh)
    return None


def largest_media_bytes() -> int:
    """The largest media file any built-in platform takes; brandkit refuses bigger files
    before reading them."""
    from brandkit.platforms._capabilities import BUILTIN_CAPABILITIES

    return max(
        max(r.max_image_bytes, r.max_gif_bytes, r.max_video_bytes)
        for r in (c.media for c in BUILTIN_CAPABILITIES.values())
    )


def _open_regular(p: Path) -> tuple[BinaryIO, int]:
    """``p`` opened for reading, and its size; refuses anything but a regular file.

    The file is opened without blocking and checked with ``fstat`` on the open descriptor, so
    a FIFO or device never blocks the caller and cannot be swapped in after the check.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(p, flags)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise MediaError(
                f"media {str(p)!r} is {_kind_of(st.st_mode)}, not a regular file: give the "
                "path of an image or video file",
                field="media",
            )
        # Unbuffered: the JPEG probe reads a few bytes between seeks, and a buffer would
        # fill 8 KiB at each of them.
        return os.fdopen(fd, "rb", buffering=0), st.st_size
    except BaseException:
        os.close(fd)
        raise


def _kind_of(mode: int) -> str:
    """What a file that is not a regular one is, in words."""
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a file brandkit can read"


def _open_failed(label: str, exc: OSError, *, again: bool = False) -> MediaError:
    """The error for a media file that could not be opened: what the case is and what to
    do about it. ``again``: the file was measured before (an upload reads it again)."""
    head = f"cannot read media file {label!r}"
    if isinstance(exc, FileNotFoundError | NotADirectoryError):
        why = "" if isinstance(exc, FileNotFoundError) else " (a part of it is not a directory)"
        if again:
            return MediaError(
                f"{head}: it does not exist any more{why}: put it back and try again",
                field="media",
            )
        where = "" if os.path.isabs(label) else f" (a relative path is read from {os.getcwd()})"
        return MediaError(
            f"media file {label!r} does not exist{why}: check the path{where}", field="media"
        )
    if isinstance(exc, PermissionError):
        return MediaError(
            f"{head}: permission denied: give the user running brandkit read access to it "
            "(and to its directories), or copy it somewhere that user can read",
            field="media",
        )
    return MediaError(f"{head}{' any more' if again else ''}: {exc.strerror or exc}", field="media")


def _check_size(label: str, size: int, limit: int) -> None:
    if size > limit:
        raise MediaError(
            f"media {label!r} is {size:,} bytes, more than any platform takes ({limit:,} bytes)",
            field="media",
            over_by=size - limit,
        )


def _sniffed(label: str, size: int, head: bytes) -> tuple[str, MediaKind]:
    if size == 0:
        raise MediaError(f"media {label!r} is empty", field="media")
    found = sniff(head)
    other = _not_media(head) if found is None else None
    if other is not None:
        what, into = other
        raise MediaError(
            f"media {label!r} is {what}, which brandkit does not send (it sends PNG, JPEG, "
            f"GIF, WebP, HEIC, MP4, MOV and WebM): convert it to {into}",
            field="media",
        )
    if found is None:
        raise MediaError(
            f"media {label!r} is not a supported image or video (PNG, JPEG, GIF, WebP, "
            "HEIC, MP4, MOV, WebM): its first bytes match none of them",
            field="media",
        )
    return found


class Media(ContentModel):
    """One image, animated GIF or video to attach to a post, with its alt text.

    Build it with `from_path` or `from_bytes`. The mime type, kind, size and (for
    images) pixel dimensions are always read from the content itself; values a caller passes
    for them are ignored. A file given by path is not loaded into memory: uploads stream it,
    and measuring it reads only its headers. A relative path is made absolute (from the
    working directory when the media is made), so a later upload from elsewhere reads the
    same file. Image dimensions are as displayed: a JPEG whose
    EXIF orientation turns it by 90 degrees has its width and height swapped.

    Raises:
        MediaError: the file is missing, empty, not a regular file (a FIFO, a directory),
            larger than any platform takes (`largest_media_bytes`), or not a supported
            image or video.
    """

    model_config = ConfigDict(
        frozen=True, extra="forbid", ser_json_bytes="base64", val_json_bytes="base64"
    )

    path: Path | None = None
    data: bytes | None = Field(default=None, repr=False)
    alt: str = ""
    filename: str = ""
    mime_type: str = ""
    kind: MediaKind = "image"
    size: int = 0
    width: int | None = None
    height: int | None = None

    @model_validator(mode="before")
    @classmethod
    def _measure(cls, values: Any) -> Any:
        if not isinstance(values, dict):
            return values
        values = dict(values)
        path, data = values.get("path"), values.get("data")
        if (path is None) == (data is None):
            raise MediaError(
                "media needs exactly one source: Media.from_path(path) or Media.from_bytes(data)",
                field="media",
            )
        limit = largest_media_bytes()
        if path is not None:
            if not isinstance(path, str | os.PathLike):
                raise MediaError(
                    f"media path must be text or a pathlib.Path, got {type(path).__name__}",
                    field="media",
                )
            p = Path(path)
            label = str(p)
            if "\0" in label:
                raise MediaError(
                    f"media path {label!r} holds a NUL character: no file has that name",
                    field="media",
                )
            try:
                fh, size = _open_regular(p)
            except OSError as exc:
                raise _open_failed(label, exc) from None
            with fh:
                _check_size(label, size, limit)
                try:
                    head = fh.read(_HEAD)
                    mime, kind = _sniffed(label, size, head)
                    dims = _dimensions(mime, head, fh)
                except OSError as exc:
                    raise MediaError(
                        f"cannot read media file {label!r}: {exc.strerror or exc}", field="media"
                    ) from None
            values["filename"] = values.get("filename") or p.name
            # Kept absolute: the file is read again at upload, maybe by an outbox worker
            # whose working directory is not this one. (Not resolved: a symlink stays one.)
            values["path"] = p.absolute()
        else:
            if isinstance(data, str):
                # JSON carries bytes as base64 (the outbox stores posts that way).
                try:
                    data = base64.b64decode(data.replace("-", "+").replace("_", "/"), validate=True)
                except ValueError:
                    raise MediaError(
                        "media data must be bytes (or base64 text in JSON)", field="media"
                    ) from None
            if not isinstance(data, bytes | bytearray | memoryview):
                # bytes() of a number allocates that many zero bytes, and of a file object
                # fails deep inside with a TypeError.
                raise MediaError(
                    f"media data must be bytes, got {type(data).__name__}: pass the file's "
                    "content (or its path, with Media.from_path)",
                    field="media",
                )
            raw = bytes(data)
            values["data"] = raw
            size, label = len(raw), values.get("filename") or "<bytes>"
            _check_size(label, size, limit)
            head = raw[:_HEAD]
            mime, kind = _sniffed(label, size, head)
            dims = _dimensions(mime, head, io.BytesIO(raw))
        if not values.get("filename"):
            ext = mime.split("/")[1].replace("jpeg", "jpg").replace("quicktime", "mov")
            values["filename"] = f"media.{ext}"
        values.update(
            mime_type=mime,
            kind=kind,
            size=size,
            width=dims[0] if dims else None,
            height=dims[1] if dims else None,
        )
        return values

    @classmethod
    def from_path(cls, path: str | Path, *, alt: str = "") -> Media:
        """Media from a file on disk; the file is read when it is uploaded.

        Raises:
            MediaError: the file does not exist, is not a regular file, is empty, is larger
                than any platform takes, or is not a supported type.
        """
        return cls(path=Path(path), alt=alt)

    @classmethod
    def from_bytes(cls, data: bytes, *, alt: str = "", filename: str = "") -> Media:
        """Media from bytes in memory.

        Raises:
            MediaError: the bytes are empty or not a supported image or video.
        """
        return cls(data=data, alt=alt, filename=filename)

    def with_alt(self, alt: str) -> Media:
        """A copy with other alt text."""
        return self.model_copy(update={"alt": alt})

    def read(self) -> bytes:
        """The whole content. Prefer [`chunks`][brandkit.Media.chunks] for large files.

        Raises:
            MediaError: the file cannot be read any more, is no longer a regular file, or
                changed since it was measured (see `chunks`).
        """
        if self.data is not None:
            return self.data
        return b"".join(self.chunks())

    def chunks(self, size: int = 1024 * 1024) -> Iterator[bytes]:
        """The content in chunks of at most ``size`` bytes, read as they are needed.

        A file is streamed only as it was measured: adapters announce ``size`` to the
        platform before they send a byte (an upload's total, a ``Content-Length``), so a
        file that is now longer or shorter, or no longer of its measured type, is refused
        instead of sent.

        Raises:
            MediaError: the file cannot be read any more, is no longer a regular file (a
                FIFO would block forever), or changed since it was measured.
            ConfigurationError: ``size`` is not a whole number of at least 1 (0 read nothing
                and looked like a file cut short; a negative size, like no content at all).
        """
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ConfigurationError(
                f"the chunk size must be a whole number of bytes, at least 1, got {size!r}"
            )
        if self.data is not None:
            for i in range(0, len(self.data), size):
                yield self.data[i : i + size]
            return
        assert self.path is not None
        label = str(self.path)
        try:
            fh, now = _open_regular(self.path)
        except OSError as exc:
            raise _open_failed(label, exc, again=True) from None
        with fh:
            if now != self.size:
                raise self._changed(f"it was {self.size:,} bytes, it is {now:,} now")
            left = self.size
            first = True
            while left > 0:
                try:
                    chunk = fh.read(min(size, left))
                except OSError as exc:
                    raise MediaError(
                        f"cannot read media file {label!r} any more: {exc.strerror or exc}",
                        field="media",
                    ) from None
                if not chunk:
                    done = self.size - left
                    raise self._changed(f"it ended after {done:,} of {self.size:,} bytes")
                if first:
                    first = False
                    # The first bytes say the type (a chunk too small to say it is let be).
                    if len(chunk) >= 16 or len(chunk) == self.size:
                        found = sniff(chunk)
                        if found is None or found[0] != self.mime_type:
                            raise self._changed(f"it is no longer {self.mime_type}")
                left -= len(chunk)
                yield chunk
            if fh.read(1):
                raise self._changed(f"it is longer than the {self.size:,} bytes measured")

    def _changed(self, how: str) -> MediaError:
        return MediaError(
            f"media file {str(self.path)!r} changed since it was measured ({how}): "
            "make the post again once the file is complete",
            field="media",
        )

    @property
    def aspect_ratio(self) -> tuple[int, int] | None:
        """``(width, height)`` when known."""
        if self.width and self.height:
            return self.width, self.height
        return None

    def __repr__(self) -> str:
        where = str(self.path) if self.path else f"<{self.size} bytes>"
        return f"Media({where!r}, {self.mime_type}, {self.size} B, alt={self.alt!r})"

    __str__ = __repr__
