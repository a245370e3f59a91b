"""Telegram refuses a photo whose width and height add up to more than 10000 or whose sides
differ more than 20 times (sendPhoto, Bot API 10.1): brandkit refuses it first, saying so."""

from __future__ import annotations

import struct
import zlib

import pytest

from brandkit import Client, DeliveryStatus, Media, MediaError, Post
from brandkit.testing.telegram import TelegramEmulator
from tests.telegram.conftest import FAST

SENDS = r"/bot[^/]+/send(Photo|MediaGroup)"


def png(width: int, height: int) -> bytes:
    """A PNG that says it is ``width`` x ``height`` (its header is what is measured; its few
    pixel bytes keep a test of 5000 x 5000 fast)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    head = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", head)
        + chunk(b"IDAT", zlib.compress(b"\x00\x80"))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    ("width", "height", "rule"),
    [(100, 2010, "20 times"), (5001, 5000, "10000"), (2010, 100, "20 times")],
)
def test_a_photo_telegram_refuses_is_refused_first(
    emu: TelegramEmulator, width: int, height: int, rule: str
) -> None:
    """Alone or in an album, the photo is refused with a MediaError naming it and the rule;
    nothing reaches Telegram."""
    bad = Media.from_bytes(png(width, height))
    fine = Media.from_bytes(png(40, 30))
    with Client(retry=FAST) as client:
        (alone,) = client.publish(Post(text="tall", media=(bad,)), [emu.account()])
        (album,) = client.publish(Post(text="album", media=(fine, bad)), [emu.account()])
    for delivery, index in ((alone, 0), (album, 1)):
        assert delivery.status is DeliveryStatus.FAILED
        assert isinstance(delivery.error, MediaError), delivery.error
        assert delivery.error.field == f"media[{index}]"
        assert f"{width}x{height}" in str(delivery.error) and rule in str(delivery.error)
    assert emu.count("POST", SENDS) == 0


def test_photos_at_the_limits_are_sent(emu: TelegramEmulator) -> None:
    """Sides exactly 20 times apart, and 10000 in total, are what Telegram still takes."""
    photos = (Media.from_bytes(png(100, 2000)), Media.from_bytes(png(5000, 5000)))
    with Client(retry=FAST) as client:
        (delivery,) = client.publish(Post(text="at the limits", media=photos), [emu.account()])
    assert delivery.status is DeliveryStatus.SENT, delivery.error
    assert emu.count("POST", SENDS) == 1
