"""A 401 to a feed whose URL carries a user and password: the error says that login was
refused (brandkit sent it), not that brandkit sends no credentials."""

from __future__ import annotations

from pathlib import Path

import pytest

from brandkit.errors import AuthError
from brandkit.feeds import FeedWatcher
from tests.feeds.conftest import FeedServer


def test_a_refused_login_is_said_as_such(feed_server: FeedServer, tmp_path: Path) -> None:
    feed_server.routes["/feed.xml"] = (401, {"Content-Type": "text/plain"}, b"bad login")
    host = feed_server.url.removeprefix("http://")
    with (
        FeedWatcher(
            f"http://reader:wr0ngpass@{host}/feed.xml",
            state=str(tmp_path / "brandkit.db"),
            images=False,
        ) as w,
        pytest.raises(AuthError) as info,
    ):
        w.poll()
    text = str(info.value)
    assert "no credentials" not in text
    assert "user and password" in text
    assert "wr0ngpass" not in text and "wr0ngpass" not in repr(info.value)
    assert feed_server.hits("/feed.xml")[0]["authorization"].startswith("Basic ")
