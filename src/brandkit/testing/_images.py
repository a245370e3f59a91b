"""Valid image bytes made in code, so tests and examples need no files; and the file names
the platforms give stored media."""

from __future__ import annotations

import struct
import zlib

from brandkit.content._media import EXTENSIONS, sniff

__all__ = ["MEDIA_EXTENSIONS", "TINY_JPEG", "media_extension", "png"]

MEDIA_EXTENSIONS = EXTENSIONS
"""The extension a stored file of each media type is served with."""


def media_extension(data: bytes = b"", mime_type: str | None = None) -> str:
    """The extension the platforms serve a stored upload with (without the dot).

    The platforms name stored media by what the bytes are, not by the name the client sent
    (often none: ``"blob"``, ``"photo"``): the type is sniffed from the file's signature
    (JPEG, PNG, GIF, WebP, HEIC, MP4, MOV, WebM). When the bytes say nothing, a known
    ``mime_type`` decides; else ``"bin"``.
    """
    found = sniff(data[:64]) if data else None
    if found is not None and found[0] in MEDIA_EXTENSIONS:
        return MEDIA_EXTENSIONS[found[0]]
    if mime_type:
        return MEDIA_EXTENSIONS.get(mime_type.split(";", 1)[0].strip().lower(), "bin")
    return "bin"


def png(width: int = 8, height: int = 6) -> bytes:
    """A valid RGB PNG of ``width`` × ``height`` pixels with a simple gradient."""
    raw = b"".join(
        b"\x00"
        + b"".join(bytes((x * 255 // max(1, width - 1), y * 4 % 256, 180)) for x in range(width))
        for y in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


# The smallest baseline JPEG (1x1, grey), for platforms that take only JPEG.
TINY_JPEG = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb004300080606070605080707070909080a0c140d0c0b0b0c"
    "1912130f141d1a1f1e1d1a1c1c20242e2720222c231c1c2837292c30313434341f27393d38323c2e333432ffc0"
    "000b080001000101011100ffc4001f0000010501010101010100000000000000000102030405060708090a0bff"
    "c400b5100002010303020403050504040000017d01020300041105122131410613516107227114328191a10823"
    "42b1c11552d1f02433627282090a161718191a25262728292a3435363738393a434445464748494a5354555657"
    "58595a636465666768696a737475767778797a838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aa"
    "b2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8"
    "f9faffda0008010100003f00fbd3ffd9"
)
