"""A stray control character in an entry's title or summary (a backspace pasted from an
editor, an ``&#x7;``): no platform shows it and posts refuse it, so it is dropped from the
text instead of the whole entry going unannounced."""

from __future__ import annotations

from pathlib import Path

from brandkit.feeds import FeedWatcher
from tests.feeds.conftest import FeedServer
from tests.feeds.documents import rss


def test_control_characters_are_dropped_not_the_entry(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    feed_server.feed(
        "/feed.xml",
        rss(
            "<item><title>Launch&#x7; day\x08 is here</title>"
            "<link>https://acme.example/launch</link><guid>urn:launch</guid>"
            "<description>Doors open\x1b at nine.</description></item>"
        ),
    )
    with FeedWatcher(
        f"{feed_server.url}/feed.xml",
        state=str(tmp_path / "brandkit.db"),
        images=False,
        template="{title}: {summary} {url}",
    ) as w:
        got = w.poll()
    assert [i.post.text for i in got] == [
        "Launch day is here: Doors open at nine. https://acme.example/launch"
    ]
