"""A media host names a file by its content and its measured type, never by the extension
of the name the caller gave it: a web server picks how to serve (or run) a file by its
extension, and the same image must always get the same URL."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from brandkit import Media
from brandkit.accounts import DirectoryMediaHost, PutMediaHost
from brandkit.testing import TINY_JPEG


@pytest.mark.parametrize("filename", ["shoe.html", "shoe.php", "shoe.svg", "shoe.png", "x.js"])
def test_directory_host_extension_is_the_measured_type(tmp_path: Path, filename: str) -> None:
    host = DirectoryMediaHost(tmp_path, "https://cdn.example.com/m")
    url = host(Media.from_bytes(TINY_JPEG, filename=filename))
    assert url.endswith(".jpg")
    (stored,) = tmp_path.iterdir()
    assert stored.suffix == ".jpg"
    assert stored.read_bytes() == TINY_JPEG


def test_same_image_same_url_whatever_its_name(tmp_path: Path) -> None:
    host = DirectoryMediaHost(tmp_path, "https://cdn.example.com/m")
    a = host(Media.from_bytes(TINY_JPEG, filename="a.jpg"))
    b = host(Media.from_bytes(TINY_JPEG, filename="b.JPEG"))
    c = host(Media.from_bytes(TINY_JPEG))
    assert a == b == c
    assert len(list(tmp_path.iterdir())) == 1


def test_put_host_extension_is_the_measured_type() -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return httpx.Response(201)

    host = PutMediaHost(
        "https://bucket.example/upload",
        "https://cdn.example.com",
        transport=httpx.MockTransport(answer),
    )
    url = host(Media.from_bytes(TINY_JPEG, filename="evil.html"))
    assert url.endswith(".jpg") and seen[0].endswith(".jpg")
