"""A link card's URL (and an article's canonical URL) with whitespace or a control
character in it is refused when the post is made. Python's URL parser drops tabs and line
breaks before it looks, so such a URL passed the check and went to the platform as
written, to be refused there (or cut at the break)."""

from __future__ import annotations

import pytest

from brandkit import ContentError, Post
from brandkit.content import Article, Link


@pytest.mark.parametrize(
    "url",
    [
        "https://ex.com/a\nb",
        "https://ex.com/a b",
        "https://ex.com/\tx",
        "https://ex.com/\x00",
        " https://ex.com",
    ],
)
def test_link_url_with_whitespace_is_refused(url: str) -> None:
    with pytest.raises(ContentError, match=r"link\.url") as info:
        Post("hi", link=Link(url=url))
    assert info.value.field == "link.url"
    with pytest.raises(ContentError, match="canonical_url"):
        Article(title="t", body="b", canonical_url=url)


def test_a_long_url_is_not_quoted_whole() -> None:
    with pytest.raises(ContentError) as info:
        Link(url="ftp://ex.com/" + "a" * 100_000)
    assert len(str(info.value)) < 500


def test_good_urls_are_taken() -> None:
    for url in ("https://ex.com", "https://ex.com/a%20b?q=1#f", "http://[::1]:8080/x"):
        assert Link(url=url).url == url
