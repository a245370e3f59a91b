"""A server that echoes the request in its error page ("Cannot GET /feed.xml?token=…", as
Express answers, or a 401 naming the user) must not put a private feed's token or password
into the error brandkit raises: the message quotes the first 300 characters of the body."""

from __future__ import annotations

from pathlib import Path

import pytest

from brandkit.errors import AuthError, PlatformError, Rejected
from brandkit.feeds import FeedWatcher
from tests.feeds.conftest import FeedServer


@pytest.mark.parametrize(
    ("status", "raised"), [(404, Rejected), (401, AuthError), (500, PlatformError)]
)
def test_an_echoed_token_or_password_is_not_in_the_error(
    feed_server: FeedServer, tmp_path: Path, status: int, raised: type[Exception]
) -> None:
    echoed = (
        f"<h1>Error {status}</h1><pre>Cannot GET /feed.xml?token=s3cret%2Bkey&amp;u=1 "
        "as reader:pa55word (token s3cret+key, s3cret%2Bkey)</pre>"
    ).encode()
    feed_server.routes["/feed.xml?token=s3cret%2Bkey&u=1"] = (
        status,
        {"Content-Type": "text/html"},
        echoed,
    )
    url = (
        f"http://reader:pa55word@{feed_server.url.removeprefix('http://')}"
        "/feed.xml?token=s3cret%2Bkey&u=1"
    )
    with (
        FeedWatcher(url, state=str(tmp_path / "brandkit.db"), images=False) as watcher,
        pytest.raises(raised) as info,
    ):
        watcher.poll()
    text = f"{info.value} {info.value!r}"
    assert "Cannot GET /feed.xml" in text  # the server's words are still quoted
    for secret in ("s3cret", "pa55word"):
        assert secret not in text


def test_a_page_that_is_no_feed_keeps_the_token_out_of_the_errors_body() -> None:
    """`MalformedResponse.body` promises its secrets redacted: a login page served instead
    of a private feed often carries the address asked for."""
    from brandkit.errors import MalformedResponse
    from brandkit.feeds import parse

    page = (
        b'<html><body><form action="/login?next=/feed.xml%3Ftoken%3Ds3cret">'
        b"<p>Sign in to read /feed.xml?token=s3cret</p></form></body></html>"
    )
    with pytest.raises(MalformedResponse) as info:
        parse(page, url="https://blog.example/feed.xml?token=s3cret")
    assert "Sign in to read" in info.value.body
    assert "s3cret" not in info.value.body
    assert "s3cret" not in f"{info.value} {info.value!r} {info.value.to_dict()}"
