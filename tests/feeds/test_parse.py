"""Reading RSS 2.0 and Atom documents from bytes, without any network."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import pytest

from brandkit.errors import ConfigurationError, MalformedResponse
from brandkit.feeds import parse
from brandkit.feeds._parse import MAX_ENTRIES
from tests.feeds.conftest import FeedServer
from tests.feeds.documents import ATOM, item, rss


def test_rss20_entries_as_wordpress_writes_them() -> None:
    """Every field of an RSS 2.0 item is read: guid as key, HTML summary as text, the date in UTC."""
    feed = parse(rss(item(2, day=3, image="https://acme.example/t.jpg"), item(1, day=2)))
    assert feed.title == "Acme News"
    assert feed.version == "rss20"
    assert feed.warnings == ()
    newest, oldest = feed.entries
    assert newest.key == "https://acme.example/?p=2"
    assert newest.title == "Release 2: Acme & Partners"
    assert newest.url == "https://acme.example/news/release-2/"
    assert newest.summary == "Acme announces release 2, with faster exports & new reports."
    assert newest.published == datetime(2026, 12, 3, 9, 30, tzinfo=UTC)
    assert newest.image == "https://acme.example/t.jpg"
    assert newest.author == "Jane Doe"
    assert oldest.image is None


def test_atom_relative_links_resolved_against_xml_base() -> None:
    """Atom's relative alternate link is made absolute; content stands in for a missing
    summary, scripts dropped; an image enclosure is the entry's image."""
    feed = parse(ATOM, url="https://blog.example.org/atom.xml")
    assert feed.version == "atom10"
    second, first = feed.entries
    assert second.url == "https://blog.example.org/posts/second"
    assert second.title == "Café & code: our second post"
    assert second.summary == "The second post, in full."
    assert second.image == "https://blog.example.org/img/second.png"
    assert second.author == "Ana Lima"
    assert second.key == "urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6b"
    assert first.summary == "A short summary of the first post."
    assert first.published == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def test_image_from_the_first_img_of_the_summary() -> None:
    """Without Media RSS or an enclosure, the summary's first <img> gives the card image."""
    desc = '<p>Text</p><img src="https://acme.example/a.png"><img src="https://acme.example/b.png">'
    (entry,) = parse(rss(item(1, description=desc))).entries
    assert entry.image == "https://acme.example/a.png"
    assert entry.summary == "Text"


def test_key_falls_back_to_link_then_to_a_stable_digest() -> None:
    """An item without guid is known by its link; one without either by a digest that is
    the same for the same title and date."""
    no_guid = "<item><title>A</title><link>https://acme.example/a</link></item>"
    bare = "<item><title>B</title><pubDate>Fri, 04 Dec 2026 10:00:00 GMT</pubDate></item>"
    a, b = parse(rss(no_guid, bare)).entries
    assert a.key == "https://acme.example/a"
    assert b.key.startswith("sha256:")
    assert b.url is None
    assert parse(rss(bare)).entries[0].key == b.key


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"<!doctype html><html><head><title>Acme</title></head><body>Blog</body></html>",
        b'{"items": []}',
        b"\x89PNG\r\n\x1a\n\x00\x00",
    ],
    ids=["empty", "html-page", "json", "binary"],
)
def test_what_is_not_a_feed_raises_malformed(data: bytes) -> None:
    """A site's page, JSON or binary is refused with a message that says what to look for."""
    with pytest.raises(MalformedResponse, match="not an RSS or Atom feed") as info:
        parse(data, url="https://acme.example/")
    assert info.value.platform == "feed"
    assert "rel='alternate'" in str(info.value)


def test_a_feed_with_small_faults_is_read_with_a_warning() -> None:
    """An undefined entity (HTML's &nbsp; in XML) does not lose the feed: it is read by the
    lenient parser and the fault reported."""
    bad = (
        b"<rss version='2.0'><channel><title>x</title><item><title>a&nbsp;b</title>"
        b"<link>https://x.example/a</link></item></channel></rss>"
    )
    feed = parse(bad)
    assert [e.url for e in feed.entries] == ["https://x.example/a"]
    assert feed.warnings and "entity" in feed.warnings[0]


def test_a_document_cut_short_is_refused_whole() -> None:
    """A truncated feed would give half entries (no guid, no summary): nothing of it is used."""
    whole = rss(item(2, day=3), item(1, day=2))
    with pytest.raises(MalformedResponse, match="cut short"):
        parse(whole[: len(whole) // 2])


def test_at_most_max_entries_are_read() -> None:
    """A huge feed is cut to its first MAX_ENTRIES entries (the newest)."""
    items = [
        f"<item><title>{i}</title><link>https://x.example/{i}</link></item>"
        for i in range(MAX_ENTRIES + 5)
    ]
    feed = parse(rss(*items))
    assert len(feed.entries) == MAX_ENTRIES
    assert feed.entries[0].url == "https://x.example/0"


def test_bytes_that_look_like_an_address_are_never_fetched(feed_server: FeedServer) -> None:
    """parse() reads its bytes as a document: a URL in them is not fetched (feedparser would
    fetch a str that looks like one)."""
    feed_server.feed("/feed.xml", rss(item(1)))
    with pytest.raises(MalformedResponse):
        parse(f"{feed_server.url}/feed.xml".encode())
    assert feed_server.requests == []


def test_without_feedparser_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without feedparser installed, the error says which extra to install."""
    monkeypatch.setitem(sys.modules, "feedparser", None)
    with pytest.raises(ConfigurationError, match=r"pip install 'brandkit\[feeds\]'"):
        parse(rss(item(1)))


def test_importing_brandkit_feeds_does_not_import_feedparser() -> None:
    """The extra is only needed when a feed is read."""
    import subprocess

    code = "import sys, brandkit.feeds; print('feedparser' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize(
    "url",
    ["http://[zz]/x.png", "http://[::1/x.png", "http://cdn.test:abc/x.png", "http://h:99999/"],
)
def test_a_url_that_cannot_be_read_is_no_url_not_an_unreadable_feed(url: str) -> None:
    """urlsplit raises ValueError on a bad ``[...]`` host or port: one entry's image or link
    written so must cost that entry its image (or link), not make every poll of the feed
    fail."""
    feed = parse(rss(item(1, image=url), item(2, link=url)))
    assert [e.image for e in feed.entries] == [None, None]
    assert [e.url for e in feed.entries] == ["https://acme.example/news/release-1/", None]


def test_relative_image_addresses_are_resolved_against_the_feeds_address() -> None:
    """A static site's feed (Hugo, Jekyll) gives its Media RSS thumbnail or image
    enclosure as a path: the card must get the image, not go without it."""
    document = (
        b'<?xml version="1.0"?>\n<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/">'
        b"<channel><title>t</title>"
        b'<item><title>a</title><link>/post/1</link><media:thumbnail url="/img/1.png"/></item>'
        b"<item><title>b</title><link>https://acme.example/post/2</link>"
        b'<enclosure url="img/2.jpg" type="image/jpeg" length="1"/></item>'
        b"<item><title>c</title><link>https://acme.example/post/3</link>"
        b'<media:content url="//cdn.example/3.png" medium="image"/></item>'
        b"<item><title>d</title><link>https://acme.example/post/4</link>"
        b'<media:thumbnail url="javascript:alert(1)"/></item>'
        b"</channel></rss>"
    )
    one, two, three, four = parse(document, url="https://acme.example/blog/feed.xml").entries
    assert one.url == "https://acme.example/post/1"
    assert one.image == "https://acme.example/img/1.png"
    assert two.image == "https://acme.example/blog/img/2.jpg"
    assert three.image == "https://cdn.example/3.png"
    assert four.image is None
    # Without the document's address, a path is no address.
    assert parse(document).entries[0].image is None


def test_comments_after_the_root_element_are_read_in_linear_time() -> None:
    """A faulty document ending in many comments and a stray byte took a time exponential
    in their number to be judged cut short (40 of them: hours, holding the GIL)."""
    import subprocess

    program = (
        "from brandkit.feeds import parse\n"
        "from brandkit.errors import MalformedResponse\n"
        'doc = (b\'<?xml version="1.0"?><rss version="2.0"><channel><title>&nope;</title>\'\n'
        "       b'<item><title>a</title><link>https://acme.example/1</link></item>'\n"
        "       b'</channel></rss>' + b'<!-- cached -->' * 200)\n"
        "print(len(parse(doc).entries))\n"
        "try:\n"
        "    parse(doc + b'x')\n"
        "except MalformedResponse as exc:\n"
        "    print('cut' if 'ends before its closing tag' in str(exc) else exc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=20, check=True
    )
    assert done.stdout.split() == ["1", "cut"]


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be", "utf-32"])
def test_a_utf16_feed_with_a_small_fault_is_read_not_called_cut(codec: str) -> None:
    """A UTF-16 (or UTF-32) document with an undefined entity is read with a warning as the
    same document in UTF-8 is; cut short, it is still refused."""
    document = (
        f'<?xml version="1.0" encoding="{codec.upper()}"?><rss version="2.0"><channel>'
        "<title>t &nope;</title><item><title>a</title><link>https://acme.example/1</link>"
        "</item></channel></rss>\n"
    )
    data = document.encode(codec)
    feed = parse(data)
    assert [e.url for e in feed.entries] == ["https://acme.example/1"]
    assert feed.warnings
    with pytest.raises(MalformedResponse, match="ends before its closing tag"):
        parse(data[: len(data) - len("</channel></rss>\n".encode(codec)) + 4])


def test_an_ipv6_address_is_shown_in_brackets() -> None:
    """``http://::1:8080/feed`` read as another address (``::1:8080``, port 80): messages
    show an IPv6 host as it is written in a URL, still without the password or query."""
    from brandkit.feeds._fetch import shown

    assert shown("http://[::1]:8080/feed?token=1") == "http://[::1]:8080/feed?…"
    assert shown("https://u:p@[2001:db8::1]/f") == "https://[2001:db8::1]/f"
    assert shown("https://u:p@blog.example.com:8443/f") == "https://blog.example.com:8443/f"


def test_surrogate_character_references_do_not_crash_the_parse() -> None:
    """An emoji written as two UTF-16 halves (``&#55357;&#56832;``, as old PHP sites write
    them) is the emoji; a lone half is a replacement character. Both raised a bare
    UnicodeEncodeError from feedparser, and the poll with it."""
    document = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>News &#55357;&#56832;</title>'
        b"<item><title>a &#xD83D;&#xDE00; b &#xD800; c</title>"
        b"<link>https://acme.example/1</link></item></channel></rss>"
    )
    feed = parse(document)
    assert feed.title == "News \U0001f600"
    assert feed.entries[0].title == "a \U0001f600 b \ufffd c"
    # A number past Unicode raised OverflowError, however many digits it has.
    past = b"<rss version='2.0'><channel><title>a &#99999999999; &#" + b"9" * 6000 + b"; b"
    assert parse(past + b"</title></channel></rss>").title == "a \ufffd \ufffd b"
    wide = document.decode().replace('version="1.0"', 'version="1.0" encoding="UTF-16"')
    with pytest.raises(MalformedResponse):
        parse(wide.replace("&#xD800;", "&#xD800;&#xD800;").encode("utf-16"))
