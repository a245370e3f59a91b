"""Bluesky rich-text facets, detected as ``@atproto/api``'s ``detectFacets`` does.

The regular expressions are those of ``packages/api/src/rich-text/util.ts``, translated from
JavaScript with its semantics kept: ``\\s`` is JavaScript's whitespace set, ``\\d`` and ``\\b``
are ASCII, ``[a-z]`` under the ``i`` flag is ``[a-zA-Z]``, ``$`` is the end of the text.

Detection order and rules (links, mentions, tags, cashtags):

* mention: ``@`` after the start, whitespace or ``(``, then ``[a-zA-Z0-9.-]+`` up to a word
  boundary; kept when it ends with ``.`` + a known TLD (case-sensitive) or ``.test``;
* link: ``https?://`` + non-space, or a domain ``[a-z][a-z0-9]*(\\.[a-z0-9]+)+`` with a known
  TLD + non-space, after the start, whitespace or ``(``; one trailing ``.,;:!?`` is dropped,
  then one ``)`` if the URL has no ``(``; a scheme-less one gets ``https://``;
* tag: ``#`` or ``＃`` after the start or whitespace, not followed by U+FE0F, with at least one
  character that is not a digit, space or punctuation; trailing punctuation is dropped; at most
  64 graphemes (upstream atproto#2657) and, so the record stays valid, at most 640 UTF-8 bytes
  (the lexicon's ``maxLength``);
* cashtag: ``$`` + a letter + up to 4 letters or digits after the start, whitespace or ``(``,
  followed by whitespace, the end, or ``.,;:!?)"'’``; stored as a tag ``$TICKER`` upper-cased.

Facets must not overlap; ``detectFacets`` does not promise that, so where two ranges overlap
the one that starts first (then the longer) is kept.
"""

from __future__ import annotations

import re
from typing import Any

import regex

from brandkit.text._data import bluesky_tlds
from brandkit.text._graphemes import grapheme_len, offset_map, require_text, utf8_len

# JavaScript's \s: WhiteSpace and LineTerminator of ECMAScript.
_WS = "\\t\\n\\v\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff"
_S = f"[{_WS}]"
_NS = f"[^{_WS}]"
_ZW = "\\u00ad\\u2060\\u200a\\u200b\\u200c\\u200d\\u20e2"

MENTION = regex.compile(
    rf"(^|{_S}|\()(@)([a-zA-Z0-9.-]+)"
    r"(?:(?<=[a-zA-Z0-9_])(?![a-zA-Z0-9_])|(?<![a-zA-Z0-9_])(?=[a-zA-Z0-9_]))"
)
URL = regex.compile(
    rf"(^|{_S}|\()(([hH][tT][tT][pP][sS]?://{_NS}+)"
    rf"|((?P<domain>[a-zA-Z][a-zA-Z0-9]*(\.[a-zA-Z0-9]+)+){_NS}*))"
)
TAG = regex.compile(
    rf"(^|{_S})[#＃]((?!\ufe0f)[^{_WS}{_ZW}]*[^0-9{_WS}\p{{P}}{_ZW}]+[^{_WS}{_ZW}]*)?"
)
_TRAILING_PUNCTUATION = regex.compile(r"\p{P}+\Z")
CASHTAG = regex.compile(rf"(^|{_S}|\()\$([A-Za-z][A-Za-z0-9]{{0,4}})(?={_S}|\Z|[.,;:!?)\"'\u2019])")

TAG_MAX_GRAPHEMES = 64
TAG_MAX_BYTES = 640

LINK = "app.bsky.richtext.facet#link"
MENTION_TYPE = "app.bsky.richtext.facet#mention"
TAG_TYPE = "app.bsky.richtext.facet#tag"


def is_valid_domain(domain: str) -> bool:
    """``detectFacets``'s ``isValidDomain``: ends with ``.`` + a known TLD (case-sensitive)."""
    head, dot, tld = domain.rpartition(".")
    del head
    return bool(dot) and tld in bluesky_tlds()


# MENTION, URL and CASHTAG hold nothing the ``re`` module lacks, and each begins with the
# text's start, whitespace or "(": a scan by ``re`` for the whitespace or "(" (one class,
# which it skips through in C), after a match of the rest at the very start, finds what the
# upstream pattern's scan finds (the start's alternative is tried first, as upstream does).
_MENTION_BODY = (
    r"(@)([a-zA-Z0-9.-]+)"
    r"(?:(?<=[a-zA-Z0-9_])(?![a-zA-Z0-9_])|(?<![a-zA-Z0-9_])(?=[a-zA-Z0-9_]))"
)
_URL_BODY = (
    rf"(([hH][tT][tT][pP][sS]?://{_NS}+)"
    rf"|((?P<domain>[a-zA-Z][a-zA-Z0-9]*(\.[a-zA-Z0-9]+)+){_NS}*))"
)
_CASHTAG_BODY = rf"\$([A-Za-z][A-Za-z0-9]{{0,4}})(?={_S}|\Z|[.,;:!?)\"'\u2019])"
_MENTION_AT_START = re.compile(f"(){_MENTION_BODY}")
_MENTION_AFTER = re.compile(f"([{_WS}(]){_MENTION_BODY}")
_URL_AT_START = re.compile(f"(){_URL_BODY}")
# The lookahead (what either kind of link begins with) lets most words fail at once.
_URL_AFTER = re.compile(f"([{_WS}(])(?=[hH]|[a-zA-Z][a-zA-Z0-9]*\\.){_URL_BODY}")
_CASHTAG_AT_START = re.compile(f"(){_CASHTAG_BODY}")
_CASHTAG_AFTER = re.compile(f"([{_WS}(]){_CASHTAG_BODY}")


def _scan(at_start: re.Pattern[str], after: re.Pattern[str], text: str) -> list[re.Match[str]]:
    """What the upstream ``(^|\\s|\\()...`` pattern's ``finditer`` finds, from the pattern's
    rest matched at the text's start and its scan after whitespace or "(" from there on."""
    first = at_start.match(text)
    if first is None:
        return list(after.finditer(text))
    found = [first]
    found.extend(after.finditer(text, first.end()))
    return found


def _url_matches(text: str) -> list[re.Match[str]]:
    """What ``URL.finditer(text)`` finds (see `_scan`)."""
    return _scan(_URL_AT_START, _URL_AFTER, text)


_HASH = regex.compile("[#＃]")
# The characters of `_S` (JavaScript's whitespace), for a test of one character.
_SPACES = frozenset(
    "\t\n\x0b\x0c\r \xa0\u1680\u2028\u2029\u202f\u205f\u3000\ufeff"
    + "".join(map(chr, range(0x2000, 0x200B)))
)


def _tag_matches(text: str) -> list[regex.Match[str]]:
    """What ``TAG.finditer(text)`` finds, tried only at each "#" or "＃" that begins the text
    or follows whitespace: a match begins there (with the whitespace), and holds no
    whitespace after it, so no match covers the next such one."""
    found: list[regex.Match[str]] = []
    for mark in _HASH.finditer(text):
        at = mark.start()
        if at and text[at - 1] not in _SPACES:
            continue
        match = TAG.match(text, at - 1 if at else 0)
        if match is not None:
            found.append(match)
    return found


def _spans(text: str) -> list[tuple[int, int, int, dict[str, Any]]]:
    """Detected ranges as (start, end, rank, feature), code point offsets, in detection order."""
    found: list[tuple[int, int, int, dict[str, Any]]] = []
    if "@" in text:
        for m in _scan(_MENTION_AT_START, _MENTION_AFTER, text):
            handle = m.group(3)
            if is_valid_domain(handle) or handle.endswith(".test"):
                start = m.start(2)
                found.append((start, m.end(3), 1, {"$type": MENTION_TYPE, "handle": handle}))
    if "." in text:
        for m in _url_matches(text):
            uri = m.group(2)
            if not uri.startswith("http"):
                domain = m.group("domain")
                if not domain or not is_valid_domain(domain):
                    continue
                uri = "https://" + uri
            start, end = m.span(2)
            if uri[-1] in ".,;:!?":
                uri = uri[:-1]
                end -= 1
            if uri.endswith(")") and "(" not in uri:
                uri = uri[:-1]
                end -= 1
            found.append((start, end, 0, {"$type": LINK, "uri": uri}))
    if "#" in text or "＃" in text:
        for hashed in _tag_matches(text):
            tag = hashed.group(2)
            if not tag:
                continue
            # JavaScript's trim() is a no-op here: the tag holds no JavaScript whitespace.
            # A tag ending in an ASCII letter or digit (most) has no punctuation to drop.
            last = tag[-1]
            if not (last.isascii() and last.isalnum()):
                tag = _TRAILING_PUNCTUATION.sub("", tag)
            if not tag or grapheme_len(tag) > TAG_MAX_GRAPHEMES or utf8_len(tag) > TAG_MAX_BYTES:
                continue
            start = hashed.start() + len(hashed.group(1))
            found.append((start, start + 1 + len(tag), 2, {"$type": TAG_TYPE, "tag": tag}))
    if "$" in text:
        for m in _scan(_CASHTAG_AT_START, _CASHTAG_AFTER, text):
            ticker = m.group(2).upper()
            start = m.start() + len(m.group(1))
            found.append(
                (start, start + 1 + len(ticker), 3, {"$type": TAG_TYPE, "tag": "$" + ticker})
            )
    return found


def facets(text: str) -> list[dict[str, Any]]:
    """Bluesky rich-text facets for ``text``, in the lexicon's JSON shape.

    Links carry ``uri``, tags and cashtags ``tag`` (without ``#``; cashtags as ``$TICKER``).
    Mentions carry ``handle`` (without ``@``) instead of ``did``: an adapter resolves the
    handle (``com.atproto.identity.resolveHandle``) and replaces ``handle`` by ``did`` before
    sending. Offsets are UTF-8 bytes, sorted by ``byteStart``, never overlapping.

    Raises:
        ContentError: ``text`` is not a str (any string is accepted; text with nothing to
            detect gives ``[]``).
    """
    require_text(text)
    spans = _spans(text)
    if not spans:
        return []
    spans.sort(key=lambda s: (s[0], -s[1], s[2]))
    kept: list[tuple[int, int, int, dict[str, Any]]] = []
    for span in spans:
        if span[1] <= span[0]:
            continue
        if kept and span[0] < kept[-1][1]:
            continue
        kept.append(span)
    offsets = offset_map(text, [p for s in kept for p in (s[0], s[1])], unit="utf8")
    return [
        {"index": {"byteStart": offsets[s[0]], "byteEnd": offsets[s[1]]}, "features": [s[3]]}
        for s in kept
    ]
