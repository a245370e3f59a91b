"""X's weighted length, as twitter-text 3.x ``parseTweet`` computes it.

1. The text is normalised to NFC.
2. Every URL the twitter-text extractor finds counts ``transformedURLLength`` (23) × scale.
3. With ``emojiParsingEnabled`` (config v3) every emoji sequence counts ``defaultWeight`` once.
4. Every other code point counts the weight of the first config range holding it, or
   ``defaultWeight``; the sum is divided by ``scale``.

Emoji sequences are recognised from current Unicode data (the ``regex`` module's, read once
into a pattern of the faster ``re`` module) rather than from twemoji 11, which twitter-text
3.1.0 bundles: keycaps, flags, tag sequences (subdivision flags), modifier sequences,
text-style emoji made emoji by U+FE0F, and ZWJ sequences of those. A single code point needs
no rule: it has its own weight (200 for every emoji except a bare ``©`` or ``®``, which
twitter-text counts 1 like any Latin-1 character).
"""

from __future__ import annotations

import re
import sys
import unicodedata
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from functools import cache, lru_cache
from itertools import accumulate
from operator import mul
from typing import Any

import regex

from brandkit.text._data import twitter_config
from brandkit.text._urls import extract_urls

_TAGS = r"[\U000E0020-\U000E007E]+\U000E007F"
_TEXT_STYLE = r"[\p{Extended_Pictographic}--\p{Emoji_Presentation}]"
_ELEMENT = (
    r"(?:\p{Emoji_Modifier_Base}\p{Emoji_Modifier}"
    rf"|{_TEXT_STYLE}\uFE0F"
    r"|\p{Emoji_Presentation})"
    rf"(?:{_TAGS})?"
)
EMOJI_SEQUENCE = regex.compile(
    r"[#*0-9]\uFE0F?\u20E3"  # keycap
    r"|\p{Regional_Indicator}\p{Regional_Indicator}"  # flag
    rf"|{_ELEMENT}(?:\u200D{_ELEMENT})+"  # ZWJ sequence
    r"|\p{Emoji_Modifier_Base}\p{Emoji_Modifier}"  # skin tone
    rf"|{_TEXT_STYLE}\uFE0F"  # text-style emoji shown as emoji
    rf"|\U0001F3F4{_TAGS}",  # subdivision flag
    regex.V1,
)
"""Emoji of more than one code point; each counts as one emoji."""

# Every emoji property below has its code points under U+20000 (a test checks all of Unicode),
# so the classes are read from the ``regex`` module's data over that range only.
_EMOJI_CODE_POINTS = 0x20000


def _code_point_ranges(prop: str, chars: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end() - 1) for m in regex.finditer(f"[{prop}]+", chars, regex.V1)]


def _class(ranges: list[tuple[int, int]]) -> str:
    return "".join(f"\\U{lo:08x}-\\U{hi:08x}" for lo, hi in ranges)


@cache
def _emoji_pattern() -> re.Pattern[str]:
    """`EMOJI_SEQUENCE` for the ``re`` module: the same alternatives, in the same order, over
    the same code points (read from the ``regex`` module's Unicode data), written so that a
    search skips every character that cannot begin a sequence in one C loop.

    The pattern takes the first character from one class (the first characters of every
    alternative, astral ones widened to one range), then each alternative checks with a
    lookbehind that this character is one it may begin with: the alternatives and their order
    are upstream's, so the matches are `EMOJI_SEQUENCE`'s.
    """
    codes = array("I", range(_EMOJI_CODE_POINTS))
    if codes.itemsize == 4:
        encoding = "utf-32-le" if sys.byteorder == "little" else "utf-32-be"
        chars = codes.tobytes().decode(encoding, "surrogatepass")
    else:  # pragma: no cover - no 32-bit array type on this platform
        chars = "".join(map(chr, range(_EMOJI_CODE_POINTS)))
    base = _code_point_ranges(r"\p{Emoji_Modifier_Base}", chars)
    modifier = _class(_code_point_ranges(r"\p{Emoji_Modifier}", chars))
    text_style = _code_point_ranges(r"\p{Extended_Pictographic}--\p{Emoji_Presentation}", chars)
    presentation = _code_point_ranges(r"\p{Emoji_Presentation}", chars)
    indicator = _class(_code_point_ranges(r"\p{Regional_Indicator}", chars))
    firsts = [*base, *text_style, *presentation]
    astral = [r for r in firsts if r[1] > 0xFFFF]
    starts = _class([r for r in firsts if r[1] <= 0xFFFF])
    if astral:  # one range over all astral first characters: one test, not one per range
        starts += _class([(min(lo for lo, _ in astral), max(hi for _, hi in astral))])
    b, t, p = _class(base), _class(text_style), _class(presentation)
    tags = r"[\U000e0020-\U000e007e]+\U000e007f"
    element = f"(?:[{b}][{modifier}]|[{t}]\ufe0f|[{p}])(?:{tags})?"
    element_rest = f"(?:(?<=[{b}])[{modifier}]|(?<=[{t}])\ufe0f|(?<=[{p}]))(?:{tags})?"
    return re.compile(
        f"[#*0-9{indicator}{starts}]"
        # The second code point of every sequence is one of these (U+FE0F, the keycap mark, a
        # regional indicator, a skin tone, U+200D or a tag): a lone emoji fails here at once.
        "(?=[\u20e3\u200d\ufe0f\U0001f1e6-\U0001f1ff\U0001f3fb-\U0001f3ff\U000e0020-\U000e007f])"
        "(?:"
        r"(?<=[#*0-9])\ufe0f?\u20e3"  # keycap
        # Every other sequence begins with a character outside ASCII: one cheap test first
        # (digits are common in text, and the classes below are long).
        r"|(?<=[^\x00-\x7f])(?:"
        f"(?<=[{indicator}])[{indicator}]"  # flag
        f"|{element_rest}(?:\u200d{element})+"  # ZWJ sequence
        f"|(?<=[{b}])[{modifier}]"  # skin tone
        f"|(?<=[{t}])\ufe0f"  # text-style emoji shown as emoji
        f"|(?<=\U0001f3f4){tags}"  # subdivision flag
        "))"
    )


def emoji_sequences(text: str) -> list[tuple[int, int]]:
    """The spans of `EMOJI_SEQUENCE` in ``text``, as ``finditer`` finds them."""
    return [m.span() for m in _emoji_pattern().finditer(text)]


class _Weigher:
    """Weighs text by a twitter-text config: ranges, default weight, scale, URL length."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.default: int = config["defaultWeight"]
        self.scale: int = config["scale"]
        self.url_weight: int = config["transformedURLLength"] * self.scale
        self.emoji: bool = bool(config.get("emojiParsingEnabled", False))
        by_weight: dict[int, list[str]] = {}
        for item in config["ranges"]:  # the shipped configs' ranges do not overlap
            start, end, weight = item["start"], item["end"], item["weight"]
            by_weight.setdefault(weight, []).append(f"\\U{start:08x}-\\U{end:08x}")
        self.classes = [
            (weight, re.compile("[" + "".join(parts) + "]")) for weight, parts in by_weight.items()
        ]
        # Runs of each class: the code points of a class come in runs (a word, a CJK phrase),
        # so summing the runs' lengths touches a few strings where one per code point would
        # be built.
        self.runs = [
            (weight, re.compile("[" + "".join(parts) + "]+")) for weight, parts in by_weight.items()
        ]
        # The same runs as separators kept by a split: the text falls into pieces that
        # alternate between the other code points and a run, all in C.
        self.split_runs = [
            (weight, re.compile("([" + "".join(parts) + "]+)"))
            for weight, parts in by_weight.items()
        ]
        # The plain weight of an emoji sequence: the same few recur, so they are remembered
        # (a bounded cache of short pieces only: no link is kept).
        self.plain_piece = lru_cache(maxsize=1024)(self.plain)
        weights = [self.default, *(weight for weight, _ in self.runs)]
        self.lightest: int = min(weights)
        self.heaviest: int = max(weights)
        ascii_weights = {self._one(chr(c)) for c in range(0x80)}
        self.ascii_weight: int | None = ascii_weights.pop() if len(ascii_weights) == 1 else None

    def _one(self, char: str) -> int:
        for weight, pattern in self.classes:
            if pattern.match(char):
                return weight
        return self.default

    def plain(self, text: str) -> int:
        """The weight of text counted code point by code point."""
        if not text:
            return 0
        if self.ascii_weight is not None and text.isascii():
            return len(text) * self.ascii_weight
        rest = len(text)
        total = 0
        for weight, runs in self.runs:
            hits = sum(map(len, runs.findall(text)))
            total += hits * weight
            rest -= hits
        return total + rest * self.default


@cache
def _weigher(config: str) -> _Weigher:
    return _Weigher(twitter_config(config))


@cache
def x_limit(config: str) -> int:
    """``maxWeightedTweetLength`` of a config."""
    limit: int = twitter_config(config)["maxWeightedTweetLength"]
    return limit


def x_widest(config: str) -> int:
    """The most one code point counts under a config (its heaviest weight, rounded up)."""
    weigher = _weigher(config)
    return -(-weigher.heaviest // weigher.scale)


def _counted(text: str, weigher: _Weigher) -> list[tuple[int, int, int]]:
    """The URLs and emoji sequences of (NFC) ``text`` that count as a whole: (start, end,
    weight), in order, each that starts inside an earlier one left out."""
    urls = extract_urls(text)
    emoji = emoji_sequences(text) if weigher.emoji and not text.isascii() else None
    if not urls and not emoji:
        return []
    # (start, kind, end): kind 0 = URL, checked before an emoji that starts at the same place.
    events: list[tuple[int, int, int]] = [(url.start, 0, url.start + len(url.url)) for url in urls]
    if emoji:
        events.extend((start, 1, end) for start, end in emoji)
        events.sort()
    counted = []
    position = 0
    for start, kind, end in events:
        if start < position:
            continue  # inside a URL or emoji counted already
        counted.append((start, end, weigher.url_weight if kind == 0 else weigher.default))
        position = end
    return counted


def weighted_length(text: str, config: str = "v3") -> int:
    """X's weighted length of ``text`` under the twitter-text config ``config``.

    Raises:
        KeyError: ``config`` is not ``v1``, ``v2`` or ``v3``.
    """
    weigher = _weigher(config)
    if not text.isascii():  # ASCII is NFC already
        text = unicodedata.normalize("NFC", text)
    # The whole text weighed code point by code point once, then each URL or emoji sequence
    # swapped for its own weight: one pass over the text instead of one per gap.
    total = weigher.plain(text)
    ascii_weight = weigher.ascii_weight
    for start, end, weight in _counted(text, weigher):
        piece = text[start:end]
        if ascii_weight is not None and piece.isascii():  # most URLs: no call, no regex
            total += weight - len(piece) * ascii_weight
        else:
            total += weight - weigher.plain(piece)
    return -(-total // weigher.scale)  # a fractional weight rounds up: never under-count


# The longest piece whose plain weight is remembered (emoji sequences are shorter; a URL is
# weighed each time, and not kept).
_REMEMBERED = 16

# Characters that separate tokens for the splitter but can sit inside a URL's domain.
_INNER_SEPARATORS = ("\x1c", "\x1d", "\x1e", "\x1f")


class XLedger:
    """One X measurement of a whole text, giving the weighted length of its pieces.

    A URL or emoji sequence never holds whitespace, so in an NFC text the piece between two
    whitespace boundaries holds exactly the URLs and emoji sequences the whole text holds
    there: its weight is the plain weight of its code points plus, for each of them, its own
    weight minus its plain one. The splitter asks this instead of measuring every candidate.

    With at most one weight class (every shipped config: v1 has none, v2 and v3 one), the
    text falls into pieces alternating between code points of the default weight and runs of
    the class's: running weights at the pieces' bounds give the plain weight of ``text[:p]``
    by one bisection (the weight at the start of p's piece, plus p's distance into it times
    that piece's weight), found in C by one split and two running totals.
    """

    def __init__(self, text: str, config: str) -> None:
        self.text = text
        self.weigher = weigher = _weigher(config)
        counted = _counted(text, weigher)
        self.starts = [start for start, _, _ in counted]
        self.ends = [end for _, end, _ in counted]
        self.adjust = adjust = [0]
        plain, remembered = weigher.plain, weigher.plain_piece
        ascii_weight = weigher.ascii_weight
        total = 0
        for start, end, weight in counted:
            piece = text[start:end]
            if ascii_weight is not None and piece.isascii():  # most URLs: no call
                total += weight - (end - start) * ascii_weight
            else:
                short = end - start <= _REMEMBERED
                total += weight - (remembered(piece) if short else plain(piece))
            adjust.append(total)
        # The running weights at the pieces' bounds, worked out by `track` (None with more
        # than one weight class: then each piece is weighed when asked).
        self.bounds: list[int] | None = None
        self.rates: list[int] = []
        self.weights: list[int] = []
        self._tracked = False
        # The weight of the text up to the end of each URL or emoji sequence (index k: the
        # k-th, 0 for none), for `reach`; it only grows. Worked out on first use.
        self._at_ends: list[int] | None = None

    def least_length(self) -> int:
        """The least the whole text can weigh: every code point outside its URLs and emoji
        sequences at the lightest weight (no scan of the text)."""
        weigher = self.weigher
        return -(-(len(self.text) * weigher.lightest + self.adjust[-1]) // weigher.scale)

    def track(self) -> list[int] | None:
        """Work out the running weights (once) and give `bounds`. Every method that needs
        them calls this; before it, only the whole text's length is known (as
        `weighted_length` measures it), which is all a text refused outright needs."""
        if self._tracked:
            return self.bounds
        self._tracked = True
        weigher, text = self.weigher, self.text
        if len(weigher.runs) <= 1:
            if weigher.runs:
                lengths = list(map(len, weigher.split_runs[0][1].split(text)))
                light: int = weigher.runs[0][0]
            else:
                lengths, light = [len(text)], weigher.default
            # Piece k weighs the default per code point when k is even, the class's when odd;
            # the 0 after the last piece stands for the text's end.
            self.rates = [weigher.default, light] * (len(lengths) // 2) + [weigher.default, 0]
            self.bounds = list(accumulate(lengths, initial=0))
            self.weights = list(accumulate(map(mul, lengths, self.rates), initial=0))
        return self.bounds

    @staticmethod
    def usable(text: str) -> bool:
        """Whether pieces of ``text`` measure as the ledger says: NFC already, and no
        separator a URL may hold."""
        # Four finds of one character each cost less than one search for a class of four.
        return unicodedata.is_normalized("NFC", text) and not any(
            map(text.__contains__, _INNER_SEPARATORS)
        )

    def _before(self, position: int) -> int:
        """The weight of ``text[:position]``, URLs and emoji sequences before it counted whole,
        for a position not inside one (needs `bounds`)."""
        bounds = self.track()
        assert bounds is not None
        j = bisect_right(bounds, position) - 1
        return (
            self.weights[j]
            + (position - bounds[j]) * self.rates[j]
            + self.adjust[bisect_left(self.starts, position)]
        )

    def length(self, start: int, end: int, suffix: str = "") -> int:
        """The weighted length of ``text[start:end] + suffix``, for ``start`` and ``end`` at
        whitespace boundaries (or the text's ends) and a ``suffix`` of ASCII that begins with
        a space (thread numbering)."""
        weigher = self.weigher
        if not self._tracked and start == 0 and end == len(self.text):
            # The whole text, as `weighted_length` weighs it: no running weights needed.
            total = weigher.plain(self.text) + self.adjust[-1]
        elif self.track() is not None:
            total = self._before(end) - self._before(start)
        else:
            first = bisect_left(self.starts, start)
            last = bisect_left(self.starts, end)
            total = weigher.plain(self.text[start:end]) + self.adjust[last] - self.adjust[first]
        total += weigher.plain(suffix)
        return -(-total // weigher.scale)

    def lengths(self, spans: list[tuple[int, int]], suffixes: list[str]) -> list[int]:
        """`length` of each ``(start, end)`` with its suffix (needs `reaches`)."""
        bounds, weights, rates = self.track(), self.weights, self.rates
        assert bounds is not None
        starts, adjust = self.starts, self.adjust
        scale, plain = self.weigher.scale, self.weigher.plain
        out = []
        for (start, end), suffix in zip(spans, suffixes, strict=True):
            j = bisect_right(bounds, end) - 1
            k = bisect_right(bounds, start) - 1
            total = (
                weights[j]
                + (end - bounds[j]) * rates[j]
                + adjust[bisect_left(starts, end)]
                - weights[k]
                - (start - bounds[k]) * rates[k]
                - adjust[bisect_left(starts, start)]
            )
            if suffix:
                total += plain(suffix)
            out.append(-(-total // scale))
        return out

    def test(self, start: int, cap: int, suffix: str = "") -> Callable[[int], bool]:
        """Whether ``length(start, end, suffix) <= cap``, as a test of ``end`` (for ``end`` at a
        whitespace boundary after ``start``): what depends on ``start`` is worked out once."""
        weigher = self.weigher
        adjust, adjust_starts = self.adjust, self.starts
        # A weight rounded up is at most the cap exactly when the weight is at most cap x scale.
        room = cap * weigher.scale
        if suffix:
            room -= weigher.plain(suffix)
        bounds = self.track()
        if bounds is None:
            text, plain = self.text, weigher.plain
            room += adjust[bisect_left(adjust_starts, start)]

            def weighed(end: int) -> bool:
                return plain(text[start:end]) + adjust[bisect_left(adjust_starts, end)] <= room

            return weighed
        room += self._before(start)
        weights, rates = self.weights, self.rates

        def counted(end: int) -> bool:
            j = bisect_right(bounds, end) - 1
            weight = weights[j] + (end - bounds[j]) * rates[j]
            return weight + adjust[bisect_left(adjust_starts, end)] <= room

        return counted

    @property
    def reaches(self) -> bool:
        """Whether `reach` answers: the config has at most one weight class (every shipped
        one does)."""
        return len(self.weigher.runs) <= 1

    def reach(self, start: int, cap: int, suffix: str = "") -> int:
        """The last position ``p`` not inside a URL or emoji sequence such that
        ``length(start, p, suffix) <= cap`` holds, for ``start`` at a whitespace boundary and
        a ``suffix`` as `length` takes (``p < start`` when not even the suffix fits alone).

        ``length(start, p)`` only grows with ``p`` over such positions (every code point and
        every URL or emoji weighs something), so the last token end at or before ``p`` is the
        end of the longest part from ``start`` that fits: the splitter takes it from here
        instead of trying candidate ends. Needs `reaches`.
        """
        bounds = self.bounds if self._tracked else self.track()
        assert bounds is not None
        weights, rates, starts, adjust = self.weights, self.rates, self.starts, self.adjust
        j = bisect_right(bounds, start) - 1  # `_before(start)`, inline: once per part
        room = cap * self.weigher.scale + weights[j] + (start - bounds[j]) * rates[j]
        room += adjust[bisect_left(starts, start)]
        if suffix:
            room -= self.weigher.plain(suffix)
        at_ends = self._at_ends
        if at_ends is None:
            pieces = [bisect_right(bounds, end) - 1 for end in self.ends]
            at_ends = self._at_ends = [0]
            at_ends += [
                weights[j] + (end - bounds[j]) * rates[j] + more
                for j, end, more in zip(pieces, self.ends, adjust[1:], strict=True)
            ]
        # The URLs and emoji sequences wholly before p: as many as end at or before a weight
        # within room. p then lies between the end of the last of them and the start of the
        # next, where the weight is the plain one plus their adjustment.
        k = bisect_right(at_ends, room) - 1
        if k < 0:
            return -1
        plain = room - adjust[k]
        j = bisect_right(weights, plain) - 1
        if j == len(weights) - 1:
            position = len(self.text)
        else:  # inside piece j, whose weights run from weights[j] below to weights[j + 1] above
            position = bounds[j] + (plain - weights[j]) // rates[j]
        return min(position, starts[k]) if k < len(starts) else position
