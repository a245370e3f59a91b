"""Per-platform measures that need no parser of their own: Threads, Instagram, code points."""

from __future__ import annotations

import regex

from brandkit.text._graphemes import GRAPHEME, utf8_len
from brandkit.text._urls import extract_urls

# A grapheme cluster holding one of these is an emoji for Threads' count.
_EMOJI_CHAR = regex.compile(r"[\p{Extended_Pictographic}\p{Regional_Indicator}\u20E3]")

# A hashtag holds a letter or an emoji (Instagram makes tags of emoji: #🍕, #pizza🍕), and
# no tag of an all-digit "#1".
_TAG_EMOJI = r"\p{Extended_Pictographic}\p{Emoji_Modifier}\p{Regional_Indicator}\u200d\ufe0f\u20e3"
INSTAGRAM_HASHTAG = regex.compile(
    rf"(?<![\w#＃])[#＃][\w{_TAG_EMOJI}]*?"
    rf"(?:[^\W\d_]|[\p{{Extended_Pictographic}}\p{{Regional_Indicator}}])[\w{_TAG_EMOJI}]*"
)
INSTAGRAM_MENTION = regex.compile(r"(?<![\w@＠])[@＠][\w.]+")


def instagram_tags(pattern: regex.Pattern[str], text: str) -> int:
    """How many matches of ``pattern`` (`INSTAGRAM_HASHTAG`, `INSTAGRAM_MENTION`) ``text``
    holds outside its links: a link's ``#fragment`` or ``/@author/`` path is the link's."""
    found = [m.start() for m in pattern.finditer(text)]
    if not found:
        return 0
    spans = [(u.start, u.end) for u in extract_urls(text)]
    return sum(1 for at in found if not any(start <= at < end for start, end in spans))


# Where every text has a grapheme cluster boundary, whatever else it holds: between x and y
# where (1) either is a control, CR or LF, but not CR then LF (GB3-5 come before every rule
# that joins); (2) both are of class Other and not pictographic (every rule that joins needs
# a mark, a prepended mark, a Hangul jamo, ZWJ, a regional indicator or a virama, each of a
# class of its own); (3) y is printable ASCII and x no prepended mark (GB9b is the only rule
# that joins such a y); (4) x is printable ASCII and y no mark (GB9, GB9a). Neither x nor y
# can be in the middle of a chain a later rule looks back along (pictographic Extend* ZWJ,
# regional indicators, consonant virama), so the text from there on, cut on its own, falls
# into the same clusters.
_PLAIN = r"[\p{GCB=Other}--\p{Extended_Pictographic}]"
_CLUSTER_BOUNDARY = regex.compile(
    r"(?:(?<=[\p{GCB=Control}\r\n])|(?=[\p{GCB=Control}\r\n]))(?!(?<=\r)\n)"
    rf"|(?<={_PLAIN})(?={_PLAIN})"
    r"|(?<!\p{GCB=Prepend})(?=[\x20-\x7e])"
    r"|(?<=[\x20-\x7e])(?![\p{GCB=Extend}\p{GCB=ZWJ}\p{GCB=SpacingMark}])",
    regex.V1,
)


def threads_length(text: str) -> int:
    """Threads' length: code points, except that an emoji counts its UTF-8 bytes.

    An emoji is a grapheme cluster that holds a pictographic character, a regional indicator
    (flags) or the keycap mark: the whole cluster, ZWJ, skin tone and U+FE0F included, counts
    its UTF-8 length (``👍`` 4, ``👍🏽`` 8, ``👨‍👩‍👧‍👦`` 25). Everything else counts one per code
    point, so a combining accent counts apart from its letter: never fewer than Threads counts.
    """
    if text.isascii():
        return len(text)
    return len(text) + sum(extra for _, extra in emoji_extras(text))


def emoji_extras(text: str) -> list[tuple[int, int]]:
    """Each emoji cluster of ``text`` (see `threads_length`) as where it ends and what it
    counts past its code points, in order: the split's running totals of a text place these,
    so that it counts the text as `threads_length` does, by the same cut."""
    if text.isascii():
        return []
    # Only the clusters around each emoji character are cut, from the boundary every text has
    # before it to the next one after it (`_CLUSTER_BOUNDARY`): the same clusters as the whole
    # text cut, at a cost that follows the emoji, not the text.
    extras: list[tuple[int, int]] = []
    done = 0
    boundary_at, next_boundary = _CLUSTER_BOUNDARY.match, _CLUSTER_BOUNDARY.search
    for found in _EMOJI_CHAR.finditer(text):
        position = found.start()
        if position < done:
            continue  # in the clusters already counted
        start = position
        while start > done and boundary_at(text, start) is None:
            start -= 1
        after = next_boundary(text, position + 1)
        done = after.start() if after is not None else len(text)
        for cluster in GRAPHEME.findall(text[start:done]):
            start += len(cluster)
            if _EMOJI_CHAR.search(cluster):
                extras.append((start, utf8_len(cluster) - len(cluster)))
    return extras


def unique_links(text: str) -> list[str]:
    """The distinct URLs in ``text`` (twitter-text extractor), in order of appearance."""
    seen: dict[str, None] = {}
    for url in extract_urls(text):
        seen.setdefault(url.url, None)
    return list(seen)
