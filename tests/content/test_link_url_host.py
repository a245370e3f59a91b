"""A link card's URL names a host (and a port that exists), or it is refused when the post is
made, saying what is wrong: Python's URL parser takes "https://:80/x" and port 99999 without
a word, and such a card went to the platform to be refused there, or shown as a dead link."""

from __future__ import annotations

import pytest

from brandkit import ContentError, Post
from brandkit.content import Article, Link


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("https://:443/launch", "no host"),
        ("https://user@/launch", "no host"),
        ("https:///launch", "absolute http(s) URL"),
        ("https://example.com:99999/launch", "port"),
        ("https://example.com:8o8o/launch", "port"),
        ("https://[::1/launch", "bracket"),
    ],
)
def test_a_url_without_a_host_or_with_a_bad_port_is_refused(url: str, says: str) -> None:
    with pytest.raises(ContentError) as caught:
        Post("hi", link=Link(url=url))
    assert caught.value.field == "link.url"
    message = str(caught.value)
    assert says in message and "Value error" not in message
    with pytest.raises(ContentError, match="canonical_url"):
        Article(title="t", body="b", canonical_url=url)


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com:8443/a",
        "http://[::1]:8080/x",
        "https://user:pw@example.com/",
        "https://例え.jp/パス",
        "HTTPS://EXAMPLE.COM",
    ],
)
def test_urls_with_a_host_are_taken(url: str) -> None:
    assert Link(url=url).url == url
