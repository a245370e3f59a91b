"""A "#" inside a link is part of the link, not a hashtag: the commentary LinkedIn stores
keeps the URL whole and turns only the text's own hashtags into templates."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from brandkit import Client, DeliveryStatus, Post
from brandkit.platforms.linkedin import little_text, visible_text
from brandkit.testing.linkedin import LinkedInEmulator, parse_little_text
from tests.linkedin.conftest import FAST

# Each URL's "#" follows a character that is not a word character: ")", "-", "?", "=".
URLS = [
    "https://en.wikipedia.org/wiki/Mercury_(planet)#Orbit",
    "https://example.com/docs/setup-#install",
    "https://example.com/guide/?#step2",
    "example.com/search?q=#results",
]


@pytest.fixture
def emu() -> Iterator[LinkedInEmulator]:
    """An emulator on 127.0.0.1."""
    emu = LinkedInEmulator()
    with emu.serve():
        yield emu


@pytest.mark.parametrize("url", URLS)
def test_a_fragment_in_a_link_is_not_made_a_hashtag(emu: LinkedInEmulator, url: str) -> None:
    """Sent over HTTP, the stored commentary holds one hashtag template (the text's own
    #launch) and the URL as escaped plain text; readers see the text unchanged."""
    text = f"Read {url} for the details #launch"
    with Client(retry=FAST) as client:
        (delivery,) = client.publish(Post(text=text, utm=False), emu.account())
    assert delivery.status is DeliveryStatus.SENT, delivery.error
    (post,) = emu.posts
    assert post.text == text and not post.truncated
    assert post.commentary.count("{hashtag|") == 1
    assert post.commentary.endswith(" {hashtag|\\#|launch}")
    assert visible_text(post.commentary) == text


def test_hashtags_beside_links_stay_hashtags() -> None:
    """A hashtag right after a link (a space between) or before one is still a template,
    and a text without links is escaped as before."""
    text = "#news https://example.com/a_(b)#c #more"
    sent = little_text(text)
    assert sent.startswith("{hashtag|\\#|news} ")
    assert sent.endswith(" {hashtag|\\#|more}")
    assert "https://example.com/a\\_\\(b\\)\\#c" in sent
    kept, visible, cut = parse_little_text(sent)
    assert not cut and kept == sent and visible == text
    assert little_text("(#tag) a_b") == "\\({hashtag|\\#|tag}\\) a\\_b"
