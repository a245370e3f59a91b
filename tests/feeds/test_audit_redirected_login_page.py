"""A private feed whose server redirects to a login page (served 200, as HTML) that echoes
the token it was asked with: the error quotes the page without the feed's token."""

from __future__ import annotations

from pathlib import Path

import pytest

from brandkit.errors import MalformedResponse
from brandkit.feeds import FeedWatcher
from tests.feeds.conftest import FeedServer


def test_login_page_after_a_redirect_keeps_the_feeds_token_out(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    """The page came from the redirect's target, whose address holds no token: the token
    of the feed's own address is still blanked from the error and its body."""
    feed_server.routes["/feed.xml?token=s3cretKEY"] = (302, {"Location": "/login"}, b"")
    feed_server.routes["/login"] = (
        200,
        {"Content-Type": "text/html"},
        b'<html><body><form action="/login"><p>Sign in to read your feed</p>'
        b'<input type="hidden" name="token" value="s3cretKEY"></form></body></html>',
    )
    url = f"{feed_server.url}/feed.xml?token=s3cretKEY"
    with (
        FeedWatcher(url, state=str(tmp_path / "brandkit.db"), images=False) as watcher,
        pytest.raises(MalformedResponse) as info,
    ):
        watcher.poll()
    assert "Sign in to read" in info.value.body
    text = f"{info.value} {info.value!r} {info.value.body} {info.value.to_dict()}"
    assert "s3cretKEY" not in text
