"""RSS and Atom documents into `Feed` and `Entry` values, with feedparser (no network)."""

from __future__ import annotations

import calendar
import hashlib
import html
import io
import logging
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

import attrs

from brandkit.errors import ConfigurationError, MalformedResponse
from brandkit.feeds._fetch import scrubbed, shown
from brandkit.text._graphemes import GRAPHEME

__all__ = ["MAX_ENTRIES", "Entry", "Feed", "parse", "plain_text"]

logger = logging.getLogger("brandkit.feeds")

MAX_ENTRIES = 1000
"""The most entries read from one document: a feed is a window on the latest entries, and a
document with more is cut to its newest (by their dates; without dates, the first ones,
which feeds put newest first), kept in the document's order."""

# Kept from an entry's text fields: enough for a card and a post, never a whole article
# (the title's bound is the author's too).
_MAX_TITLE = 500
_MAX_SUMMARY = 5000


@attrs.frozen
class Entry:
    """One entry of a feed (an RSS ``<item>`` or an Atom ``<entry>``).

    Attributes:
        key: what identifies the entry in its feed: its ``<guid>`` or Atom ``<id>``, else
            its link, else a digest of its title and date.
        title: the title as plain text (``""`` when it has none).
        url: the entry's absolute http(s) link, or ``None`` when it has none.
        summary: the summary (or the content, when there is no summary) as plain text.
        published: when it was published (or updated), aware UTC, if the feed says.
        image: the absolute http(s) URL of the entry's image (Media RSS thumbnail or
            content, an image enclosure, or the first ``<img>`` of its HTML), if any.
        author: the author's name, if any.
    """

    key: str
    title: str
    url: str | None
    summary: str
    published: datetime | None = None
    image: str | None = None
    author: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data (as the watch state stores it)."""
        return {
            "key": self.key,
            "title": self.title,
            "url": self.url,
            "summary": self.summary,
            "published": self.published.isoformat() if self.published else None,
            "image": self.image,
            "author": self.author,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Entry:
        """Back from `to_dict`.

        Raises:
            ValueError: ``data`` is not what `to_dict` gives (not a mapping, no key, a
                field of the wrong type, a date that is not ISO 8601 with its zone).
        """
        if not isinstance(data, Mapping) or not isinstance(data.get("key"), str):
            raise ValueError(f"not a stored entry (a mapping with a text key): {data!r:.200}")
        texts = {}
        for name in ("title", "url", "summary", "published", "image", "author"):
            value = data.get(name)
            if value is not None and not isinstance(value, str):
                raise ValueError(
                    f"{name} of entry {data['key']!r:.200} is not text: {value!r:.200}"
                )
            texts[name] = value
        published = datetime.fromisoformat(texts["published"]) if texts["published"] else None
        if published is not None and published.tzinfo is None:
            raise ValueError(f"published of entry {data['key']!r:.200} has no time zone")
        return cls(
            key=data["key"],
            title=texts["title"] or "",
            url=texts["url"],
            summary=texts["summary"] or "",
            published=published,
            image=texts["image"],
            author=texts["author"],
        )


@attrs.frozen
class Feed:
    """A parsed feed document.

    Attributes:
        title: the feed's title (plain text).
        url: the site's link as the feed gives it, if any.
        version: the format feedparser recognised (``"rss20"``, ``"atom10"``, ...).
        entries: the entries in document order (feeds put the newest first).
        warnings: what was wrong with a document that could still be read (feedparser's
            "bozo" exception, e.g. an undefined entity), one line each.
    """

    title: str
    url: str | None
    version: str
    entries: tuple[Entry, ...]
    warnings: tuple[str, ...] = ()


class _Text(HTMLParser):
    """Collects the text of an HTML fragment (scripts and styles dropped) and its first
    image source."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.image: str | None = None
        self._skip = 0

    def handle_starttag(self, tag: str, attrs_: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag == "img" and self.image is None:
            self.image = dict(attrs_).get("src")
        elif tag in ("p", "br", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6"):
            self.out.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.out.append(data)


def _html_parts(value: str) -> tuple[str, str | None]:
    parser = _Text()
    try:
        parser.feed(value)
        parser.close()
    except (ValueError, AssertionError):  # html.parser on hopeless markup
        return re.sub(r"<[^>]*>", " ", value), None
    return "".join(parser.out), parser.image


def cut(text: str, most: int) -> str:
    """The longest start of ``text`` of at most ``most`` code points that ends between two
    grapheme clusters: a flag or a family emoji cut in half shows as other characters."""
    if len(text) <= most:
        return text
    end = 0
    for match in GRAPHEME.finditer(text):
        if match.end() > most:
            break
        end = match.end()
    return text[:end]


# Control characters that are not whitespace (those go with the collapsing): no platform
# shows them and a post refuses them, which would leave the whole entry unannounced.
_UNSENDABLE = re.compile(r"[\s\x00-\x1f\x7f]")
_CONTROL = re.compile("[\x00-\x08\x0e-\x1f\x7f]")


def _collapsed(text: str) -> str:
    return " ".join(_CONTROL.sub("", text).split())


def _text(value: str, kind: object) -> tuple[str, str | None]:
    """The text of a field feedparser read as ``kind`` (its ``type``), whitespace collapsed
    and control characters dropped, and the first image of its HTML. Plain text is taken
    as written: "Vec<T> in Rust" or "Why <div> soup hurts" is not HTML whose tags are to
    be dropped."""
    if kind == "text/plain":
        return _collapsed(value), None
    text, image = _html_parts(value)
    return _collapsed(html.unescape(text)), image


def _kind(detail: object) -> object:
    return detail.get("type") if isinstance(detail, Mapping) else None


def plain_text(value: str) -> str:
    """The text of an HTML fragment, entities decoded, whitespace collapsed and control
    characters dropped."""
    text, _ = _html_parts(value)
    return _collapsed(html.unescape(text))


def _http_url(value: Any, base: str | None = None) -> str | None:
    """``value`` if it is an absolute http(s) URL, or a relative one made absolute against
    ``base`` (the document's address), else ``None``."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        if base and text and not urlsplit(text).scheme:
            text = urljoin(base, text)
        parts = urlsplit(text)
        parts.port  # noqa: B018 (raises on a port that is not a number, or out of range)
    except ValueError:
        # An unclosed or bad "[...]" host, a port such as ":abc": the feed's content, and
        # one entry's link must not make the whole feed unreadable.
        return None
    if parts.scheme.lower() in ("http", "https") and parts.netloc:
        return text
    return None


def _public_base(url: str | None) -> str | None:
    """``url`` as the base of the entries' relative links and images: without its user,
    password, query and fragment. A private feed's address carries its password or token
    there, and a link resolved against it (``/news/1/``, ``#entry``) would carry them into
    the announcement that publishes it."""
    if not url:
        return None
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return None
    if ":" in host:
        host = f"[{host}]"  # an IPv6 address, as a URL writes it
    return urlunsplit((parts.scheme, f"{host}{port}", parts.path, "", ""))


def _when(entry: Mapping[str, Any]) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if value:
            try:
                return datetime.fromtimestamp(calendar.timegm(value), UTC)
            except (OverflowError, ValueError, TypeError):
                continue
    return None


def _newest(entries: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """The `MAX_ENTRIES` newest of ``entries`` (pairs of an entry and the same entry read
    for its key; by date, undated ones after the dated, then in document order), in
    document order: a feed written oldest first keeps its newest, which are the ones to
    announce."""
    stamps = [_when(e) for e, _ in entries]
    if not any(stamps):
        return entries[:MAX_ENTRIES]
    floor = datetime.min.replace(tzinfo=UTC)
    ranked = sorted(range(len(entries)), key=lambda i: (-(stamps[i] or floor).timestamp(), i))
    return [entries[i] for i in sorted(ranked[:MAX_ENTRIES])]


def _image(entry: Mapping[str, Any], html_image: str | None, base: str | None) -> str | None:
    # feedparser leaves Media RSS addresses and RSS enclosures as the feed wrote them: a
    # static site's feed often gives them as paths.
    for item in entry.get("media_thumbnail") or ():
        if url := _http_url(item.get("url"), base):
            return url
    for item in entry.get("media_content") or ():
        medium = str(item.get("medium") or "")
        kind = str(item.get("type") or "")
        if (medium == "image" or kind.startswith("image/")) and (
            url := _http_url(item.get("url"), base)
        ):
            return url
    for link in entry.get("links") or ():
        is_image = str(link.get("type") or "").startswith("image/")
        if (
            link.get("rel") == "enclosure"
            and is_image
            and (url := _http_url(link.get("href"), base))
        ):
            return url
    return _http_url(html_image, base)


def _link(raw: Mapping[str, Any]) -> str | None:
    url = _http_url(raw.get("link"))
    if url is None:
        # Atom may give only rel="alternate" links of which feedparser picked none.
        for link in raw.get("links") or ():
            if link.get("rel", "alternate") == "alternate" and (url := _http_url(link.get("href"))):
                break
    return url


def _key(raw: Mapping[str, Any], title: str, published: datetime | None) -> str:
    """What identifies the entry feedparser read as ``raw``: its guid or id, else its link,
    else a digest of its title and date."""
    key = str(raw.get("id") or "").strip() or _link(raw)
    if not key:
        stamp = published.isoformat() if published else ""
        key = "sha256:" + hashlib.sha256(f"{title}\n{stamp}".encode()).hexdigest()
    return key[:2000]


def _entry(
    raw: Mapping[str, Any], base: str | None = None, keyed: Mapping[str, Any] | None = None
) -> Entry:
    """The entry feedparser read as ``raw``; its key from ``keyed``, the same entry read
    against the feed's own address, when that is another (see `parse`'s ``origin``)."""
    title = cut(_text(str(raw.get("title") or ""), _kind(raw.get("title_detail")))[0], _MAX_TITLE)
    url = _link(raw)
    if url is not None:
        # A space in a slug or file name, as browsers send it (%20): a post refuses a link
        # with whitespace, and the entry would go unannounced. (Its key is left as it was.)
        url = _UNSENDABLE.sub(lambda m: quote(m.group(), safe=""), url)
    summary_html = str(raw.get("summary") or "")
    content = raw.get("content") or ()
    content_html = str(content[0].get("value") or "") if content else ""
    content_kind = _kind(content[0]) if content else None
    if summary_html:
        summary_text, html_image = _text(summary_html, _kind(raw.get("summary_detail")))
    else:
        summary_text, html_image = _text(content_html, content_kind)
    summary = cut(summary_text, _MAX_SUMMARY)
    if html_image is None and content_html:
        html_image = _text(content_html, content_kind)[1]
    published = _when(raw)
    key = _key(raw if keyed is None else keyed, title, published)
    author = cut(plain_text(str(raw.get("author") or "")), _MAX_TITLE) or None
    return Entry(
        key=key,
        title=title,
        url=url,
        summary=summary,
        published=published,
        image=_image(raw, html_image, base),
        author=author,
    )


# A comment's text never runs past its "-->": were it allowed to (".*?"), a tail of many
# comments and a stray byte would be tried in exponentially many ways.
_CLOSING = re.compile(
    rb"</\s*(?:[\w.-]+:)?(?:rss|feed|rdf)\s*>\s*(?:<!--(?:(?!-->).)*-->\s*)*\Z", re.I | re.S
)


# How a document in UTF-16 or UTF-32 starts (a byte order mark, or "<?" without one), its
# codec and the width of its characters: its end is decoded before it is looked at.
_WIDE = (
    (b"\xff\xfe\x00\x00", "utf-32-le", 4),
    (b"\x00\x00\xfe\xff", "utf-32-be", 4),
    (b"<\x00\x00\x00?\x00\x00\x00", "utf-32-le", 4),
    (b"\x00\x00\x00<\x00\x00\x00?", "utf-32-be", 4),
    (b"\xff\xfe", "utf-16-le", 2),
    (b"\xfe\xff", "utf-16-be", 2),
    (b"<\x00?\x00", "utf-16-le", 2),
    (b"\x00<\x00?", "utf-16-be", 2),
)


def _truncated(data: bytes) -> bool:
    """Whether the document stops before its root element's closing tag."""
    tail = data[-4096:]
    for start, codec, width in _WIDE:
        if data.startswith(start):
            # Whole characters from the end (a cut one is replaced, and the tag is missing).
            size = len(data) - len(data) % width
            tail = data[max(0, size - 4096 * width) : size].decode(codec, "replace").encode()
            break
    return _CLOSING.search(tail.rstrip(b"\x00 \t\r\n")) is None


_CHAR_REF = re.compile(rb"&#(?:[xX]([0-9a-fA-F]+)|([0-9]+));")


def _surrogate_refs(data: bytes) -> bytes:
    """``data`` with its character references to UTF-16 halves (``&#55357;&#56832;``, an
    emoji as old PHP sites write it) made references to the character they pair into, and
    a lone half (or a number past Unicode) U+FFFD: feedparser raises on either."""
    if b"&#" not in data:
        return data
    out: list[bytes] = []
    at = 0
    pending: tuple[int, int, int] | None = None  # a high half: (start, end, value)

    def value(match: re.Match[bytes]) -> int:
        hexa, decimal = match.groups()
        digits = (hexa if hexa is not None else decimal).lstrip(b"0")
        if len(digits) > 8:
            return 0x110000  # past Unicode, however long (int() of 5,000 digits raises)
        return int(hexa, 16) if hexa is not None else int(decimal)

    for match in _CHAR_REF.finditer(data):
        code = value(match)
        if pending is not None:
            start, end, high = pending
            pending = None
            out.append(data[at:start])
            if match.start() == end and 0xDC00 <= code <= 0xDFFF:
                joined = 0x10000 + ((high - 0xD800) << 10) + (code - 0xDC00)
                out.append(b"&#x%X;" % joined)
                at = match.end()
                continue
            out.append(b"&#xFFFD;")
            at = end
        if 0xD800 <= code <= 0xDBFF:
            pending = (match.start(), match.end(), code)
        elif 0xDC00 <= code <= 0xDFFF or code > 0x10FFFF:
            out.append(data[at : match.start()] + b"&#xFFFD;")
            at = match.end()
    if pending is not None:
        out.append(data[at : pending[0]] + b"&#xFFFD;")
        at = pending[1]
    out.append(data[at:])
    return b"".join(out)


def _feedparser() -> Any:
    try:
        import feedparser  # type: ignore[import-untyped]
    except ImportError:
        raise ConfigurationError(
            "brandkit.feeds needs the feedparser package: pip install 'brandkit[feeds]'"
        ) from None
    return feedparser


def parse(
    data: bytes,
    *,
    url: str | None = None,
    content_type: str | None = None,
    origin: str | None = None,
) -> Feed:
    """Parse an RSS (0.9x, 1.0, 2.0) or Atom document held in ``data``; no network.

    Relative links and image addresses are resolved against ``url`` (the address the
    document came from) and HTML in summaries is read as text. A document with small
    faults that can still be read (feedparser's "bozo" documents) is parsed and its faults
    listed in `Feed.warnings`.

    Args:
        data: the document's bytes as served (the XML declaration or ``content_type``
            gives the encoding).
        url: where the document came from, to resolve relative links (against it
            without its user, password and query, which a private feed's address uses
            for its credentials).
        content_type: the ``Content-Type`` it was served with, if known.
        origin: the feed's own address, when ``url`` is where a redirect led: an entry's
            `Entry.key` made from a relative ``<guid>`` or ``<id>`` (or, without one, a
            relative link) is made absolute against it, so that a feed which starts
            redirecting (http to https, a new path) does not make its entries new again.
            Links and images are still resolved against ``url``.

    Raises:
        ConfigurationError: feedparser is not installed (``pip install 'brandkit[feeds]'``).
        MalformedResponse: ``data`` is not an RSS or Atom feed, or one feedparser fails
            on (``platform="feed"``; its ``body`` keeps the first 2,000 characters).
    """
    return read_feed(data, url=url, content_type=content_type, origin=origin)[0]


def read_feed(
    data: bytes,
    *,
    url: str | None = None,
    content_type: str | None = None,
    origin: str | None = None,
) -> tuple[Feed, dict[str, str]]:
    """`parse`, and the keys its entries had before ``origin`` was heeded: for each entry
    whose key differs when made absolute against ``url`` instead, its key to that one.
    A feed state written before then knows the entry by the latter (see
    `FeedState.record`'s ``aliases``).

    Raises:
        The errors of `parse`.
    """
    feedparser = _feedparser()
    base = _public_base(url)
    headers = {"content-type": content_type} if content_type else {}
    where = f" at {shown(url)}" if url else ""

    def unreadable(message: str, body: bytes) -> MalformedResponse:
        # A login page served instead of a private feed often carries the address asked for;
        # after a redirect, the one asked for first (``origin``) holds the token.
        text = body.decode("utf-8", "replace")
        asked = [u for u in (url, origin) if u]
        return MalformedResponse(message, platform="feed", body=scrubbed(text, *asked))

    # A stream, never a str: feedparser fetches a str that looks like a URL, or opens it
    # as a file name.
    def read(against: str | None) -> Any:
        try:
            return feedparser.parse(
                io.BytesIO(_surrogate_refs(data)),
                response_headers={**headers, "content-location": against or ""},
            )
        except (UnicodeError, ValueError, OverflowError, RecursionError) as exc:
            # feedparser's own failures on hostile documents (a character it cannot
            # encode): the feed's fault, said as such, not a crash of the poll.
            raise unreadable(
                f"the feed{where} could not be read ({type(exc).__name__}: {exc}); nothing "
                "of it is used",
                data[:2000],
            ) from None

    result = read(base)
    version = str(result.get("version") or "")
    problem = result.get("bozo_exception") if result.get("bozo") else None
    if type(problem).__name__ == "NonXMLContentType":
        # Served as text/plain or without a type: common, and harmless once it parses.
        problem = None
    if not version:
        why = f": {problem}" if problem else ""
        raise unreadable(
            f"the document{where} is not an RSS or Atom feed{why}; check the feed's address "
            "(a site's page is not its feed: look for its <link rel='alternate'> feed link)",
            data[:2000],
        )
    if problem is not None and _truncated(data):
        # A cut document reads as a half entry (a missing guid, summary or date): announced,
        # it could never be corrected, and its key might change once the whole one is read.
        raise unreadable(
            f"the feed{where} ends before its closing tag (it was cut short: {problem}); "
            "nothing of it is used",
            data[-2000:],
        )
    warnings = (f"{type(problem).__name__}: {problem}",) if problem else ()
    if warnings:
        logger.warning(
            "feed %s has faults but was read: %s", shown(url) if url else "(bytes)", warnings[0]
        )
    raw_entries = list(result.get("entries") or ())
    keyed = raw_entries
    home = _public_base(origin) if origin else base
    if home != base and raw_entries:
        # Read a second time, only for a feed that redirected: feedparser makes a
        # permalink guid absolute against the one address it is given, and the key must
        # not follow the feed to its new address.
        again = list(read(home).get("entries") or ())
        if len(again) == len(raw_entries):
            keyed = again
    pairs = list(zip(raw_entries, keyed, strict=True))
    if len(pairs) > MAX_ENTRIES:
        logger.warning(
            "feed %s has %d entries; only the first %d are read",
            shown(url) if url else "(bytes)",
            len(raw_entries),
            MAX_ENTRIES,
        )
        pairs = _newest(pairs)
    info = result.get("feed") or {}
    entries = tuple(_entry(e, base, k) for e, k in pairs)
    aliases = {}
    if keyed is not raw_entries:
        for entry, (e, _) in zip(entries, pairs, strict=True):
            if (before := _key(e, entry.title, entry.published)) != entry.key:
                aliases[entry.key] = before
    feed = Feed(
        title=cut(plain_text(str(info.get("title") or "")), _MAX_TITLE),
        url=_http_url(info.get("link")),
        version=version,
        entries=entries,
        warnings=warnings,
    )
    return feed, aliases
