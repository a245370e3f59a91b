"""An entry's key does not change when its feed starts redirecting.

A relative permalink ``<guid>`` (invalid, but written by hand-made feeds) or Atom ``<id>``, and
an entry without one (its key is its link), are made absolute against an address. Were it the
address that answered after redirects, a feed that moves (http to https, a new path) would
make every such entry new again, and each would be announced a second time.
"""

from __future__ import annotations

from pathlib import Path

from brandkit.feeds import FeedState, FeedWatcher, parse
from tests.feeds.conftest import FeedServer


def _rss(*items: str) -> bytes:
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Acme</title>'
        "<link>https://acme.example/</link>" + "".join(items) + "</channel></rss>"
    ).encode()


ITEMS = (
    "<item><title>One</title><link>one.html</link><guid>one.html</guid>"
    "<pubDate>Mon, 30 Nov 2026 10:00:00 +0000</pubDate></item>",
    "<item><title>Two</title><link>two.html</link>"
    "<pubDate>Tue, 01 Dec 2026 10:00:00 +0000</pubDate></item>",
    "<item><title>Three</title><link>https://acme.example/three</link>"
    '<guid isPermaLink="false">three</guid>'
    "<pubDate>Wed, 02 Dec 2026 10:00:00 +0000</pubDate></item>",
)

ATOM = (
    b'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
    b"<title>Acme</title><id>urn:acme</id><updated>2026-12-01T10:00:00Z</updated>"
    b'<entry><title>Four</title><id>four</id><link rel="alternate" href="four.html"/>'
    b"<updated>2026-12-01T10:00:00Z</updated></entry></feed>"
)


def _announce_all(w: FeedWatcher) -> list[str]:
    got = w.poll()
    for announcement in got:
        w.done(announcement)
    return [a.entry.title for a in got]


def test_a_feed_that_starts_redirecting_announces_nothing_again(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    state = str(tmp_path / "state.db")
    feed_server.feed("/blog/feed.xml", _rss(*ITEMS))
    with FeedWatcher(feed_server.url + "/blog/feed.xml", state=state, images=False) as w:
        assert sorted(_announce_all(w)) == ["One", "Three", "Two"]
    # The site moves its feed; the old address answers 301.
    feed_server.feed("/news/rss/index.xml", _rss(*ITEMS))
    feed_server.routes["/blog/feed.xml"] = (301, {"Location": "/news/rss/index.xml"}, b"")
    with FeedWatcher(feed_server.url + "/blog/feed.xml", state=state, images=False) as w:
        assert _announce_all(w) == []
        # What is new after the move is still announced, its link on the new address.
        feed_server.feed(
            "/news/rss/index.xml",
            _rss(
                *ITEMS,
                "<item><title>Five</title><link>five.html</link><guid>five.html</guid>"
                "<pubDate>Thu, 03 Dec 2026 10:00:00 +0000</pubDate></item>",
            ),
        )
        got = w.poll()
        assert [a.entry.title for a in got] == ["Five"]
        assert got[0].entry.url == feed_server.url + "/news/rss/five.html"


def test_an_atom_feed_that_starts_redirecting_announces_nothing_again(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    state = str(tmp_path / "state.db")
    feed_server.feed("/a/atom.xml", ATOM, ctype="application/atom+xml")
    with FeedWatcher(feed_server.url + "/a/atom.xml", state=state, images=False) as w:
        assert _announce_all(w) == ["Four"]
    feed_server.feed("/b/atom.xml", ATOM, ctype="application/atom+xml")
    feed_server.routes["/a/atom.xml"] = (308, {"Location": "/b/atom.xml"}, b"")
    with FeedWatcher(feed_server.url + "/a/atom.xml", state=state, images=False) as w:
        assert _announce_all(w) == []


def test_entries_stored_under_the_redirect_targets_keys_keep_their_state(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    """A feed that already redirected when its state was written (its relative keys made
    absolute against the address a redirect led to, as brandkit did before): an announced
    entry stays announced, a pending one is offered once, nothing is new again."""
    state = str(tmp_path / "state.db")
    feed_server.feed("/news/rss/index.xml", _rss(*ITEMS))
    feed_server.routes["/blog/feed.xml"] = (301, {"Location": "/news/rss/index.xml"}, b"")
    configured = feed_server.url + "/blog/feed.xml"
    old = parse(_rss(*ITEMS), url=feed_server.url + "/news/rss/index.xml").entries
    assert {e.key for e in old} == {
        feed_server.url + "/news/rss/one.html",
        feed_server.url + "/news/rss/two.html",
        "three",
    }
    with FeedState(state) as written:
        written.record(configured, old, etag=None, last_modified=None)
        for entry in old:
            if entry.title != "Two":
                written.done(configured, entry.key, "announced")
    with FeedWatcher(configured, state=state, images=False) as w:
        got = w.poll()
        # Under the key it was stored with: a delivery queued for it before a crash has
        # its id made from that key, and queueing it again must make the same one.
        assert [(a.entry.title, a.entry.key) for a in got] == [
            ("Two", feed_server.url + "/news/rss/two.html")
        ]
        w.done(got[0])
        assert w.poll() == []
        assert len(w.state.pending(w.url, 10)) == 0
