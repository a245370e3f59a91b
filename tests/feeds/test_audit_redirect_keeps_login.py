"""A password-protected feed (``https://reader:pass@host/feed``) whose server redirects to
its canonical address, written absolute (``Location: http://host/feed.xml``): the login
goes on to the same server, as a browser's would."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from brandkit.errors import AuthError
from brandkit.feeds import FeedWatcher
from tests.feeds.conftest import FeedServer
from tests.feeds.documents import item, rss

LOGIN = "Basic " + base64.b64encode(b"reader:pa55word").decode()


def test_credentials_follow_a_redirect_to_the_same_server(
    feed_server: FeedServer, other_server: FeedServer, tmp_path: Path
) -> None:
    """Sent again to the same host and port; never to another server."""

    def private(headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        if headers.get("authorization") != LOGIN:
            return 401, {"WWW-Authenticate": 'Basic realm="feed"'}, b"login required"
        return 200, {"Content-Type": "application/rss+xml"}, rss(item(1))

    feed_server.routes["/feed.xml"] = private
    feed_server.routes["/old.xml"] = (301, {"Location": f"{feed_server.url}/feed.xml"}, b"")
    host = feed_server.url.removeprefix("http://")
    state = str(tmp_path / "brandkit.db")
    with FeedWatcher(f"http://reader:pa55word@{host}/old.xml", state=state, images=False) as w:
        assert len(w.poll()) == 1
    other_server.routes["/feed.xml"] = private
    feed_server.routes["/moved.xml"] = (301, {"Location": f"{other_server.url}/feed.xml"}, b"")
    with (
        FeedWatcher(f"http://reader:pa55word@{host}/moved.xml", state=state, images=False) as w,
        pytest.raises(AuthError),
    ):
        w.poll()
    assert all("authorization" not in h for h in other_server.hits("/feed.xml"))
