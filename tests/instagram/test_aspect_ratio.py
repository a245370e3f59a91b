"""Instagram feed images are 4:5 to 1.91:1: one outside that range is refused before the
media is put on the media host or a container is made."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from brandkit import Account, Client, DeliveryStatus, Media, MediaError, Post
from brandkit.testing import TINY_JPEG
from brandkit.testing._mediahost import LoopbackMediaHost
from brandkit.testing.instagram import InstagramEmulator
from tests.facebook.conftest import FAST

_SOF = bytes.fromhex("ffc0000b080001000101")


def jpeg(width: int, height: int) -> Media:
    """TINY_JPEG with its frame header saying ``width`` x ``height`` pixels."""
    assert _SOF in TINY_JPEG
    sof = bytes.fromhex("ffc0000b08") + height.to_bytes(2, "big") + width.to_bytes(2, "big")
    data = TINY_JPEG.replace(_SOF, sof + b"\x01")
    return Media.from_bytes(data, alt="a photo", filename="photo.jpg")


@pytest.fixture
def emu(host: LoopbackMediaHost) -> Iterator[InstagramEmulator]:
    """An Instagram emulator served on 127.0.0.1."""
    emu = InstagramEmulator(media_host=host)
    with emu.serve():
        yield emu


@pytest.fixture
def account(emu: InstagramEmulator) -> Account:
    """An account whose media_host is the loopback host."""
    return emu.account(username="brand")


@pytest.mark.parametrize(("width", "height"), [(1080, 1920), (1080, 1351), (1920, 1000)])
def test_an_image_outside_4_5_to_1_91_is_refused_before_any_container(
    emu: InstagramEmulator, account: Account, width: int, height: int
) -> None:
    """A phone's 9:16 photo (or one a pixel past either end) would be refused by Meta with
    36003/2207009 only after the file was made public and a container asked for: it fails
    as a MediaError naming the range, and nothing reaches Instagram."""
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="tall", media=(jpeg(width, height),)), account)
    assert d.status is DeliveryStatus.FAILED
    assert isinstance(d.error, MediaError), d.error
    assert f"{width}x{height}" in str(d.error) and "4:5" in str(d.error)
    assert emu.containers == []


@pytest.mark.parametrize(("width", "height"), [(1080, 1350), (1080, 1080), (1910, 1000)])
def test_an_image_within_the_range_is_published(
    emu: InstagramEmulator, account: Account, width: int, height: int
) -> None:
    """Both ends of the range and a square are published."""
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="fits", media=(jpeg(width, height),)), account)
    assert d.status is DeliveryStatus.SENT, d.error
    assert len(emu.posts) == 1


def test_carousel_items_are_not_held_to_the_range(emu: InstagramEmulator, account: Account) -> None:
    """Instagram crops a carousel's items to the first one's frame: a tall item is kept."""
    media = (jpeg(1080, 1080), jpeg(1080, 1920))
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="album", media=media), account)
    assert d.status is DeliveryStatus.SENT, d.error
    assert emu.posts[0]["media_type"] == "CAROUSEL_ALBUM"
