"""A GIF is an image for a link card's thumbnail.

Bluesky's ``app.bsky.embed.external`` takes a ``thumb`` blob of any ``image/*`` and LinkedIn's
Images API takes GIF; brandkit refused a GIF thumbnail as "must be an image, got image/gif"
(a GIF is its own media kind, for the platforms that limit animated images apart).
"""

from __future__ import annotations

from brandkit import Client, Link, Media, Post
from brandkit.testing.bluesky import BlueskyEmulator
from brandkit.testing.linkedin import LinkedInEmulator

GIF = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x00\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)


def _link() -> Link:
    return Link(
        url="https://example.com/launch",
        title="Launch",
        description="All about it",
        thumbnail=Media.from_bytes(GIF),
    )


def test_bluesky_card_takes_a_gif_thumbnail() -> None:
    emu = BlueskyEmulator()
    with emu.serve(), Client() as client:
        (d,) = client.publish(Post(text="We launched", link=_link(), utm=False), emu.account())
        assert d.ok, d.error
        (stored,) = emu.posts()
        thumb = stored.value["embed"]["external"]["thumb"]
        assert thumb["mimeType"] == "image/gif"
        assert emu.blobs[(stored.did, thumb["ref"]["$link"])].data == GIF


def test_linkedin_article_takes_a_gif_thumbnail() -> None:
    emu = LinkedInEmulator()
    with emu.serve(), Client() as client:
        (d,) = client.publish(Post(text="Read this", link=_link(), utm=False), emu.account())
        assert d.ok, d.error
        article = emu.posts[0].content["article"]  # type: ignore[index]
        assert article["thumbnail"].startswith("urn:li:image:")
