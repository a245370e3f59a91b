"""Titles and summaries the feed gives as plain text keep their angle brackets: a tech
blog's "Vec<T> in Rust" is not HTML with a <T> tag to drop."""

from __future__ import annotations

from pathlib import Path

from brandkit.feeds import FeedWatcher
from tests.feeds.conftest import FeedServer
from tests.feeds.documents import rss

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Dev Blog</title><id>urn:dev</id><updated>2026-12-03T18:30:02Z</updated>
  <entry>
    <title type="text">Why &lt;div&gt; soup hurts &amp; how to fix it</title>
    <link href="https://dev.example/div-soup"/>
    <id>urn:dev:1</id><updated>2026-12-03T18:30:02Z</updated>
    <summary type="text">Replace &lt;div&gt; with &lt;main&gt; and &lt;nav&gt;.</summary>
  </entry>
</feed>
"""


def test_plain_text_titles_keep_angle_brackets(feed_server: FeedServer, tmp_path: Path) -> None:
    """An RSS title feedparser reads as plain text, and an Atom type="text" title and
    summary, are announced as written, not stripped as if they were tags."""
    feed_server.feed(
        "/rss.xml",
        rss(
            "<item><title>Vec&lt;T&gt; in Rust</title><link>https://dev.example/vec</link>"
            "<guid>urn:dev:vec</guid><description>Growable arrays.</description></item>"
        ),
    )
    feed_server.feed("/atom.xml", ATOM, ctype="application/atom+xml")
    state = str(tmp_path / "brandkit.db")
    with FeedWatcher(f"{feed_server.url}/rss.xml", state=state, images=False) as w:
        (vec,) = w.poll()
    assert vec.post.text == "Vec<T> in Rust\n\nhttps://dev.example/vec"
    with FeedWatcher(
        f"{feed_server.url}/atom.xml", state=state, images=False, template="{title}: {summary}"
    ) as w:
        (div,) = w.poll()
    assert div.entry.title == "Why <div> soup hurts & how to fix it"
    assert div.post.text == (
        "Why <div> soup hurts & how to fix it: Replace <div> with <main> and <nav>."
    )
