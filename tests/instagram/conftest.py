"""The Meta test helpers (in ``tests/facebook/conftest.py``), for this folder too, and what
the Instagram inbox tests share."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from brandkit import Media, Post
from brandkit.platforms.instagram import InstagramAdapter
from brandkit.testing import TINY_JPEG
from brandkit.testing._mediahost import LoopbackMediaHost
from brandkit.testing.instagram import InstagramEmulator
from tests.facebook.conftest import anyio_backend, emulator_clock, fast_polling

__all__ = ["anyio_backend", "emulator_clock", "fast_polling", "post"]


@pytest.fixture
def host() -> Iterator[LoopbackMediaHost]:
    """A media host on 127.0.0.1."""
    with LoopbackMediaHost() as host:
        yield host


@pytest.fixture
def emu(host: LoopbackMediaHost) -> Iterator[InstagramEmulator]:
    """An Instagram emulator served on 127.0.0.1 (files may define their own)."""
    emu = InstagramEmulator(media_host=host)
    with emu.serve():
        yield emu


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pages of 5 comments (and replies), at most 2 an edge: the bound is 10, not 1,000."""
    monkeypatch.setattr(InstagramAdapter, "comments_page", 5)
    monkeypatch.setattr(InstagramAdapter, "inbox_pages", 2)


def post(text: str) -> Post:
    """A post Instagram takes (one image)."""
    return Post(text=text, media=(Media.from_bytes(TINY_JPEG, alt="a", filename="a.jpg"),))
