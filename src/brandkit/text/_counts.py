"""Per-platform measures that need no parser of their own: Threads, Instagram, code points."""

from __future__ import annotations

import regex

from brandkit.text._graphemes import GRAPHEME, utf8_len
from brandkit.text._urls import extract_urls

# A grapheme cluster holding one of these is an emoji for Threads' count.
_EMOJI_CHAR = regex.compile(r"[\p{Extended_Pictographic}\p{Regional_Indicator}\u20E3]")

INSTAGRAM_HASHTAG = regex.compile(r"(?<![\w#＃])[#＃]\w+")
INSTAGRAM_MENTION = regex.compile(r"(?<![\w@＠])[@＠][\w.]+")


def threads_length(text: str) -> int:
    """Threads' length: code points, except that an emoji counts its UTF-8 bytes.

    An emoji is a grapheme cluster that holds a pictographic character, a regional indicator
    (flags) or the keycap mark: the whole cluster, ZWJ, skin tone and U+FE0F included, counts
    its UTF-8 length (``👍`` 4, ``👍🏽`` 8, ``👨‍👩‍👧‍👦`` 25). Everything else counts one per code
    point, so a combining accent counts apart from its letter: never fewer than Threads counts.
    """
    total = len(text)
    if text.isascii() or not _EMOJI_CHAR.search(text):
        return total
    for cluster in GRAPHEME.findall(text):
        if _EMOJI_CHAR.search(cluster):
            total += utf8_len(cluster) - len(cluster)
    return total


def unique_links(text: str) -> list[str]:
    """The distinct URLs in ``text`` (twitter-text extractor), in order of appearance."""
    seen: dict[str, None] = {}
    for url in extract_urls(text):
        seen.setdefault(url.url, None)
    return list(seen)
