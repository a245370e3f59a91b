"""dev.to's 25 MB cover-image limit (declared in the capabilities) was never checked: a
larger image was put on the media host and its URL sent, to be refused by Forem or kept as
a broken cover. It is refused before the image is hosted or anything is sent, naming the
limit, as the Ghost and WordPress adapters refuse theirs."""

from __future__ import annotations

from brandkit import Client
from brandkit.content import Article, Media
from brandkit.errors import MediaError
from brandkit.platforms.devto import DevtoAdapter
from brandkit.testing import LoopbackMediaHost, png
from brandkit.testing.devto import DevtoEmulator

LIMIT = DevtoAdapter.capabilities.media.max_image_bytes


def cover(size: int) -> Media:
    head = png()
    return Media.from_bytes(head + b"\0" * (size - len(head)), alt="cover")


def test_a_cover_over_25_mb_is_refused_before_it_is_hosted(
    emu: DevtoEmulator, client: Client
) -> None:
    hosted: list[str] = []
    with LoopbackMediaHost() as host:

        def counting(media: Media) -> str:
            hosted.append(media.filename)
            return host(media)

        article = Article(title="Launch", body="Up.", featured_image=cover(LIMIT + 1))
        (d,) = client.publish(article, emu.account(media_host=counting))
    assert isinstance(d.error, MediaError) and d.error.field == "featured_image"
    assert "25,000,000" in str(d.error)
    assert d.error.over_by == 1
    assert hosted == [] and emu.requests == []


def test_a_cover_of_25_mb_is_sent(emu: DevtoEmulator, client: Client) -> None:
    with LoopbackMediaHost() as host:
        article = Article(title="Launch", body="Up.", featured_image=cover(LIMIT))
        (d,) = client.publish(article, emu.account(media_host=host))
    assert d.ok, d.error
    (stored,) = emu.articles()
    assert stored["cover_image"] is not None
