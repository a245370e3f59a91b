"""Where a post's link goes in the text (no card on the platform), it is added unless the text
links that very page already: a longer URL that starts with it is another page."""

from __future__ import annotations

import pytest

from brandkit import Post, render
from brandkit.content import Link

_CARD = "https://example.com/launch"


@pytest.mark.parametrize("platform", ["x", "mastodon", "telegram"])
@pytest.mark.parametrize(
    "body",
    [
        "Read the FAQ https://example.com/launch-faq",
        "Older post: https://example.com/launch/2025",
        "Tagged https://example.com/launch?ref=mail",
    ],
)
def test_a_longer_url_in_the_text_is_not_the_link(platform: str, body: str) -> None:
    """The link was dropped: its URL was found as a piece of the longer one ("in" on the
    text), so the post went out without the page it was made to announce."""
    post = Post(body, link=Link(url=_CARD))
    assert render(post, platform).parts[-1].text == f"{body}\n\n{_CARD}"


@pytest.mark.parametrize("platform", ["x", "mastodon", "telegram"])
@pytest.mark.parametrize(
    "body",
    [
        f"It is out: {_CARD}",
        f"It is out ({_CARD}).",
        f"It is out: {_CARD}. Tell us!",
        f"{_CARD}\nIt is out",
        f"It is out: {_CARD}/",
    ],
)
def test_the_link_in_the_text_is_not_added_again(platform: str, body: str) -> None:
    assert render(Post(body, link=Link(url=_CARD)), platform).parts[-1].text == body
    # The same page, written with a trailing "/" on one side or the other.
    assert render(Post(body, link=Link(url=f"{_CARD}/")), platform).parts[-1].text == body
