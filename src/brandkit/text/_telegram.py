"""Telegram Bot API ``MessageEntity`` detection (urls, mentions, hashtags).

Offsets and lengths are UTF-16 code units, as the Bot API wants them. The rules follow
Telegram's own parser (tdlib ``MessageEntity.cpp``: ``match_mentions``, ``match_hashtags``):

* mention: ``@`` not after a letter, digit or ``_``; then 5 to 32 of ``[A-Za-z0-9_]`` (public
  usernames are at least 5 long) not followed by a letter, digit or ``_``;
* hashtag: ``#`` not after a hashtag character; then up to 256 letters, digits, ``_``, ZWNJ,
  ``·`` or Sinhala characters with at least one letter, not directly followed by ``#``;
* url: what the twitter-text extractor finds (with or without a protocol).

Where two ranges overlap, the one that starts first (then the longer) is kept.
"""

from __future__ import annotations

from typing import Any

import regex

from brandkit.text._graphemes import offset_map, require_text
from brandkit.text._urls import extract_urls

_WORD = r"\p{L}\p{Nd}\p{Nl}\p{No}_"
MENTION = regex.compile(rf"(?<![{_WORD}])@[A-Za-z0-9_]{{5,32}}(?![A-Za-z0-9_{_WORD}])")
_HASHTAG_CHAR = r"\p{L}\p{Nd}_\u200c\u00b7\u0d80-\u0dff"
HASHTAG = regex.compile(rf"(?<![{_HASHTAG_CHAR}])#([{_HASHTAG_CHAR}]++)(?!#)")
_LETTER = regex.compile(r"\p{L}")
_MAX_HASHTAG = 256


def telegram_entities(text: str) -> list[dict[str, Any]]:
    """Bot API ``MessageEntity`` dicts for the URLs, mentions and hashtags in ``text``.

    Each dict is ``{"type": "url" | "mention" | "hashtag", "offset": int, "length": int}``
    with UTF-16 offsets, sorted by offset, never overlapping.

    Raises:
        ContentError: ``text`` is not a str (any string is accepted; text with nothing to
            detect gives ``[]``).
    """
    require_text(text)
    spans: list[tuple[int, int, str]] = [(u.start, u.end, "url") for u in extract_urls(text)]
    if "@" in text:
        spans.extend((m.start(), m.end(), "mention") for m in MENTION.finditer(text))
    if "#" in text:
        for m in HASHTAG.finditer(text):
            body = m.group(1)
            if not _LETTER.search(body[:_MAX_HASHTAG]):
                continue
            spans.append((m.start(), m.start() + 1 + min(len(body), _MAX_HASHTAG), "hashtag"))
    if not spans:
        return []
    spans.sort(key=lambda s: (s[0], -s[1]))
    kept: list[tuple[int, int, str]] = []
    for span in spans:
        if not kept or span[0] >= kept[-1][1]:
            kept.append(span)
    offsets = offset_map(text, [p for s in kept for p in (s[0], s[1])], unit="utf16")
    return [
        {"type": kind, "offset": offsets[start], "length": offsets[end] - offsets[start]}
        for start, end, kind in kept
    ]
