"""render(): UTM tags leave a link's own query as written, and a Threads link card counts
among the first part's links as Threads counts it."""

from __future__ import annotations

import pytest

from brandkit import ContentError, Post, render
from brandkit.content import Link
from brandkit.content._render import add_utm


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/?q=%FF",  # Latin-1 encoded: was rewritten to %EF%BF%BD
        "https://example.com/?a=1;b=2",  # ';' separated: was encoded to a=1%3Bb%3D2
        "https://example.com/?amp",  # a flag without '=': was turned into amp=
        "https://example.com/?q=a%20b&next=%2Fa%3Fb",  # encodings the site chose
        "https://example.com/p?q=日本",  # the text keeps its IRI, not a longer %-form
    ],
)
def test_utm_keeps_the_existing_query_byte_for_byte(url: str) -> None:
    tagged = add_utm(url, "x")
    assert tagged == f"{url}&utm_source=x&utm_medium=social"


def test_utm_keeps_a_fragment_after_the_query() -> None:
    assert (
        add_utm("https://example.com/p?x=%2F#top", "mastodon")
        == "https://example.com/p?x=%2F&utm_source=mastodon&utm_medium=social#top"
    )


def test_utm_after_a_trailing_ampersand_adds_none() -> None:
    assert add_utm("https://example.com/?a=1&", "x") == (
        "https://example.com/?a=1&utm_source=x&utm_medium=social"
    )


def test_utm_in_a_rendered_post_keeps_the_query() -> None:
    body = "Sale: https://shop.example.com/p?id=7;ref=mail"
    out = render(Post(text=body, utm=True), "mastodon").parts[0].text
    assert out == f"{body}&utm_source=mastodon&utm_medium=social"


def _five_links() -> str:
    return " ".join(f"https://site{i}.example.com/a" for i in range(5))


def test_threads_card_to_a_sixth_page_is_refused_before_sending() -> None:
    """Threads counts link_attachment among a post's links: five in the text and a card to
    another page is THREADS_API__LINK_LIMIT_EXCEEDED at container creation. render said it
    fitted."""
    post = Post(text=_five_links(), link=Link(url="https://other.example.com/page"), utm=False)
    with pytest.raises(ContentError) as caught:
        render(post, "threads")
    error = caught.value
    assert error.field == "link"
    assert error.over_by == 1
    assert "https://other.example.com/page" in str(error)


def test_threads_card_already_in_the_text_counts_once() -> None:
    post = Post(text=_five_links(), link=Link(url="https://site0.example.com/a"), utm=False)
    rendered = render(post, "threads")
    assert rendered.link is not None
    assert len(rendered.parts) == 1


def test_threads_card_with_four_links_in_the_text_fits() -> None:
    links = " ".join(f"https://site{i}.example.com/a" for i in range(4))
    post = Post(text=links, link=Link(url="https://other.example.com/page"), utm=True)
    rendered = render(post, "threads")
    assert rendered.link is not None
    assert rendered.link.url.startswith("https://other.example.com/page?utm_source=threads")
