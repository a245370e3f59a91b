"""Reading request bodies the way the platforms' servers do: multipart/form-data parts."""

from __future__ import annotations

import re
from collections.abc import Iterator

__all__ = ["multipart"]


def multipart(body: bytes, boundary: bytes) -> Iterator[tuple[str, str | None, str, bytes]]:
    """``(name, filename, content type, data)`` of each part of a multipart/form-data body."""
    delimiter = b"--" + boundary
    for section in body.split(delimiter)[1:]:
        if section.startswith(b"--"):
            break
        section = section.removeprefix(b"\r\n")
        head, _, data = section.partition(b"\r\n\r\n")
        data = data.removesuffix(b"\r\n")
        headers: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        disposition = headers.get("content-disposition", "")
        name_match = re.search(r'(?<![\w*])name="([^"]*)"', disposition)
        file_match = re.search(r'filename="([^"]*)"', disposition)
        if name_match is None:
            continue
        yield (
            name_match.group(1),
            file_match.group(1) if file_match else None,
            headers.get("content-type", "application/octet-stream"),
            data,
        )
