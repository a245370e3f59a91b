"""Reading what a media file really is: its type from its first bytes, its size, its pixels."""

from __future__ import annotations

import base64
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import ConfigDict, Field, model_validator

from brandkit.content._base import ContentModel
from brandkit.errors import MediaError

__all__ = ["Media", "MediaKind", "sniff"]

MediaKind = Literal["image", "gif", "video"]

# How many leading bytes sniffing and dimension probing need at most. JPEG frames can start
# later than this, which is why the JPEG probe reads on from the file when it has to.
_HEAD = 64 * 1024


def sniff(head: bytes) -> tuple[str, MediaKind] | None:
    """The mime type and kind of a file from its first bytes, or ``None`` if unknown."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png", "image"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg", "image"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif", "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp", "image"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand == b"qt  ":
            return "video/quicktime", "video"
        if brand in (b"heic", b"heix", b"mif1", b"heim", b"heis"):
            return "image/heic", "image"
        return "video/mp4", "video"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm", "video"
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


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    i = 2
    n = len(data)
    while i + 9 < n:
        if data[i] != 0xFF:
            i += 1
            continue
        marker = data[i + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        seg_len = struct.unpack(">H", data[i + 2 : i + 4])[0]
        # SOF0..SOF15 carry the frame size, except DHT (C4), JPG (C8) and DAC (CC).
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            h, w = struct.unpack(">HH", data[i + 5 : i + 9])
            return int(w), int(h)
        i += 2 + seg_len
    return None


def _dimensions(mime: str, data: bytes) -> tuple[int, int] | None:
    if mime == "image/png":
        return _png_size(data)
    if mime == "image/gif":
        return _gif_size(data)
    if mime == "image/webp":
        return _webp_size(data)
    if mime == "image/jpeg":
        return _jpeg_size(data)
    return None


class Media(ContentModel):
    """One image, animated GIF or video to attach to a post, with its alt text.

    Build it with :meth:`from_path` or :meth:`from_bytes`. The mime type, kind, size and (for
    images) pixel dimensions are always read from the content itself; values a caller passes
    for them are ignored. A file given by path is not loaded into memory: uploads stream it.

    Raises:
        MediaError: the file is missing, empty, or not a supported image or video.
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
        if path is not None:
            p = Path(path)
            try:
                size = p.stat().st_size
                with p.open("rb") as fh:
                    head = fh.read(_HEAD)
            except OSError as exc:
                raise MediaError(
                    f"cannot read media file {str(p)!r}: {exc.strerror or exc}", field="media"
                ) from None
            label = str(p)
            values["filename"] = values.get("filename") or p.name
        else:
            if isinstance(data, str):
                # JSON carries bytes as base64 (the outbox stores posts that way).
                try:
                    data = base64.b64decode(data.replace("-", "+").replace("_", "/"), validate=True)
                except ValueError:
                    raise MediaError(
                        "media data must be bytes (or base64 text in JSON)", field="media"
                    ) from None
            raw = bytes(data)
            values["data"] = raw
            size, head, label = len(raw), raw[:_HEAD], values.get("filename") or "<bytes>"
        if size == 0:
            raise MediaError(f"media {label!r} is empty", field="media")
        found = sniff(head)
        if found is None:
            raise MediaError(
                f"media {label!r} is not a supported image or video (PNG, JPEG, GIF, WebP, "
                "HEIC, MP4, MOV, WebM): its first bytes match none of them",
                field="media",
            )
        mime, kind = found
        dims = _dimensions(mime, head)
        if dims is None and mime == "image/jpeg" and path is not None:
            # A JPEG's frame header can sit behind large EXIF blocks.
            dims = _jpeg_size(Path(path).read_bytes())
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
            MediaError: the file does not exist, is empty, or is not a supported type.
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
        """The whole content. Prefer :meth:`chunks` for large files."""
        if self.data is not None:
            return self.data
        assert self.path is not None
        return self.path.read_bytes()

    def chunks(self, size: int = 1024 * 1024) -> Iterator[bytes]:
        """The content in chunks of at most ``size`` bytes, read as they are needed."""
        if self.data is not None:
            for i in range(0, len(self.data), size):
                yield self.data[i : i + size]
            return
        assert self.path is not None
        with self.path.open("rb") as fh:
            while chunk := fh.read(size):
                yield chunk

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
