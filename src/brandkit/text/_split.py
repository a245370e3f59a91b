"""Split a long text into thread parts that each fit a platform's rules.

The text is read as tokens: maximal runs of grapheme clusters that are not all whitespace.
Parts end at the end of a token and the next part starts at the next token, so the
whitespace at a cut is dropped and nothing else is. Between tokens the cut prefers, in turn,
a paragraph break (a blank line), a line break or the end of a sentence, then any space: the
best kind of cut in reach is taken when it leaves the part at least half as long as the
longest part that fits. Only a token that cannot fit in a part on its own is cut inside,
between grapheme clusters, after sentence punctuation when it can (CJK text has no spaces),
and never inside a URL, mention, hashtag or cashtag found in the whole text.

Whether a part fits is always decided by the rules of [`measure`][brandkit.text.measure] (so
Bluesky's byte limit and Threads' link cap hold too). The longest fitting part is found by
galloping from the previous part's size, then bisecting over the cut candidates. On X,
Mastodon, Bluesky and Threads the text is measured once: running totals of its length at the
token boundaries answer each candidate part without measuring it (where a text's pieces would
not add up, e.g. a mark joining a space, each candidate is measured instead). That one
measurement also gives the whole text's length (no separate count) and, for `thread_parts`,
every part's length, so rendering a thread measures no part again. On X, Bluesky and Threads
the measurement is inverted (`XLedger.reach`, `_Ledger.reach`): it gives the last position
where the part still fits, and the part ends at the last token end before it, found by
position without listing the tokens and with no candidate tried.
"""

from __future__ import annotations

import heapq
import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Mapping
from functools import cache
from itertools import accumulate, compress, count
from operator import add
from typing import Any

import regex

from brandkit.errors import ContentError
from brandkit.text._bluesky import _spans as bluesky_spans
from brandkit.text._counts import emoji_extras
from brandkit.text._graphemes import GRAPHEME, grapheme_len, require_text, utf8_len
from brandkit.text._mastodon import _REMOTE_MENTION
from brandkit.text._platforms import (
    BLUESKY_MAX_BYTES,
    THREADS_MAX_LINKS,
    _measure,
    _Platform,
    _problems,
    resolved,
    x_refused,
    x_refused_problem,
)
from brandkit.text._urls import extract_urls, urls_at_most
from brandkit.text._x import XLedger, x_widest

_NOT_SPACE = r"[^\s\x1c-\x1f]"
# A cluster is whitespace when it starts and ends with whitespace (" ", "\r\n"); " \u0301"
# (a space carrying an accent) is not, and stays inside a token.
_TOKEN = regex.compile(rf"(?:(?={_NOT_SPACE})\X|\X(?<={_NOT_SPACE}))+")
# Where whitespace and its neighbours share a grapheme cluster (a space carrying a combining
# mark, a prepended mark before a space): only then can a token differ from a run of non-space.
_MIXED_CLUSTER = regex.compile(
    r"\s[\p{Grapheme_Cluster_Break=Extend}\p{Grapheme_Cluster_Break=ZWJ}"
    r"\p{Grapheme_Cluster_Break=SpacingMark}]|\p{Grapheme_Cluster_Break=Prepend}\s"
)
# A mark that joins the cluster before it, a prepended mark; and what ends a run of code
# points merged into one range by `_mix_search` (an emoji, which often follows a space).
_MARK_RUN = regex.compile(
    r"[\p{Grapheme_Cluster_Break=Extend}\p{Grapheme_Cluster_Break=ZWJ}"
    r"\p{Grapheme_Cluster_Break=SpacingMark}]+"
)
_PREPEND_RUN = regex.compile(r"\p{Grapheme_Cluster_Break=Prepend}+")
_PICTOGRAPHIC = regex.compile(r"[\p{Extended_Pictographic}\p{Regional_Indicator}]")
# Whitespace other than a space, and a character that is not whitespace.
# (Listed: ``re`` tests a list of characters faster than ``[^\S ]``; a test checks every code
# point.)
_SPACE_BUT_LF = "\t\x0b\x0c\r\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_OTHER_SPACE = re.compile(f"[\n{_SPACE_BUT_LF}]")
# The same but for a line feed: most texts hold no whitespace but spaces and line feeds.
_RARE_SPACE = re.compile(f"[{_SPACE_BUT_LF}]")
_NOT_SPACE_CHAR = re.compile(r"\S")
# Whitespace runs of two code points or more (most runs in a text are one space).
_WIDE_SPACE = re.compile(r"\s\s+")
# A CR LF is one line break (the lookbehind joins the LF to its CR): a pattern that begins
# with a class lets the search skip from candidate to candidate in C.
_LINE_BREAK = re.compile(r"[\n\r\u2028\u2029\x0b\x0c\x85](?:(?<=\r)\n)?")
# Sentence punctuation and the closing marks after it, where whitespace follows: a cut after
# a token is a sentence end when one of these ends where the token does.
_SENTENCE_END_BEFORE_SPACE = re.compile(r"[.!?…。！？‼⁉][\"'”’)\]»」』]*(?=\s)")
# In a text whose whitespace is all " ": the first non-space.
_NOT_SPACE_FLAT = re.compile("[^ ]")
# The same, reversed: whitespace, closing marks, the punctuation; where it starts in a reversed
# text is where the sentence end is in the text.
_SENTENCE_END_REVERSED = re.compile(r"\s[\"'”’)\]»」』]*[.!?…。！？‼⁉]")
_INNER_SENTENCE_END = regex.compile(r"[.!?。！？‼⁉]")
_MENTION_LIKE = regex.compile(r"(?<![\w@＠])[@＠][\w.\-]+(?:@[\w\-]+(?:\.[\w\-]+)+)?")
_TAG_LIKE = regex.compile(r"(?<![\w#＃$])[#＃$][^\s#＃@＠$]+")


# Code points of a long token cut into clusters and tested at once (`_Splitter._cut_inside`):
# more than a part of any platform's usual limit holds, so one window is most often enough.
_CUT_WINDOW = 4096
_MIN_WINDOW = 64


def _protected(text: str) -> list[tuple[int, int]]:
    """Ranges no cut may fall inside: URLs, mentions, hashtags and cashtags (merged)."""
    spans = [(u.start, u.end) for u in extract_urls(text)]
    spans.extend((s[0], s[1]) for s in bluesky_spans(text))
    spans.extend(m.span() for m in _MENTION_LIKE.finditer(text))
    spans.extend(m.span() for m in _TAG_LIKE.finditer(text))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start < merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _flat_lf(text: str) -> tuple[str, bool]:
    """``text`` with every kind of whitespace made a space (split at each space, it gives
    `_pieces`), and whether the only whitespace of ``text`` besides spaces is line feeds
    (then its line breaks are its line feeds)."""
    # Most texts hold no other: a search and a replace in C cost half the substitution.
    if _RARE_SPACE.search(text) is None:
        return text.replace("\n", " "), True
    return _OTHER_SPACE.sub(" ", text), False


def _pieces(flat: str) -> list[str]:
    """A `_flat_lf` text split at each space: its tokens where no cluster mixes whitespace with
    its neighbours (`_mixes`), and empty strings between neighbouring spaces."""
    return flat.split(" ")


@cache
def _mix_search() -> re.Pattern[str]:
    """An ``re`` search for a space before a mark (`_MARK_RUN`'s code points) or after a
    prepended mark (`_PREPEND_RUN`'s), read from the ``regex`` module's Unicode data: each
    class exact up to U+FFFF and, above, a few ranges that cover it (ranges with no emoji
    between them are one range).

    It begins with the space, which ``re`` finds in C, and tests the code point after it by
    one table lookup up to U+FFFF but against each range in turn above: with every range of
    the exact class it costs more than ``regex``'s property test, with a few about half of
    the two searches ``regex`` needs. A test checks that it finds all the exact ones do."""
    found: dict[regex.Pattern[str], list[tuple[int, int]]] = {_MARK_RUN: [], _PREPEND_RUN: []}
    for plane in (0x0, 0x10000, 0xE0000):  # no other plane holds a mark (a test checks)
        chars = "".join(map(chr, range(plane, plane + 0x10000)))
        for pattern, ranges in found.items():
            for match in pattern.finditer(chars):
                low, high = plane + match.start(), plane + match.end() - 1
                if (
                    low > 0xFFFF
                    and ranges
                    and ranges[-1][0] >= plane
                    and not _PICTOGRAPHIC.search(chars, ranges[-1][1] + 1 - plane, low - plane)
                ):
                    ranges[-1] = (ranges[-1][0], high)
                else:
                    ranges.append((low, high))

    def listed(ranges: list[tuple[int, int]]) -> str:
        return "".join(f"\\U{low:08x}-\\U{high:08x}" for low, high in ranges)

    marks, prepended = listed(found[_MARK_RUN]), listed(found[_PREPEND_RUN])
    return re.compile(f" (?:[{marks}]|(?<=[{prepended}] ))")


def _mixes(text: str, flat: str) -> bool:
    """Whether a grapheme cluster of ``text`` mixes whitespace with its neighbour. Only where
    a space (in the `_flat_lf` text) precedes a mark or follows a prepended one can one: one
    search for that in ``re`` (`_mix_search`, which may find a little more) costs less than
    the exact one, which is left for such texts."""
    return (
        not text.isascii()
        and _mix_search().search(flat) is not None
        and _MIXED_CLUSTER.search(text) is not None
    )


def _token_ends(pieces: list[str]) -> list[int]:
    """The ends of the runs of non-space in a text, from its `_pieces`: running totals of
    their lengths place them, all in C, where a list of match spans costs a Python step per
    token. (``re``'s ``\\s`` is `str.isspace`, ``regex``'s ``[\\s\\x1c-\\x1f]``: a
    test checks all of Unicode.)
    """
    # Piece k ends where the pieces before it and the k spaces after them do; the empty
    # pieces are the spaces' neighbours, not tokens.
    return list(compress(map(add, accumulate(map(len, pieces)), count()), pieces))


class _Splitter:
    def __init__(
        self,
        text: str,
        platform: str,
        spec: _Platform,
        options: Mapping[str, Any],
        flat: str | None = None,
        mixed: bool | None = None,
        lf_only: bool | None = None,
    ) -> None:
        self.text = text
        self.platform = platform
        self.spec = spec
        self.options = options
        # The tokens' starts are kept only where a token may begin with whitespace; elsewhere
        # a token starts at the first non-space after the one before it, found when needed.
        self._starts: list[int] | None = None
        if flat is None:
            flat, lf_only = _flat_lf(text)
        self.flat = flat
        # Whether the text's only line breaks are line feeds (None: not known).
        self._lf_only = lf_only
        self.mixed = _mixes(text, self.flat) if mixed is None else mixed
        # The tokens' ends, listed on first use (`split_by_position` needs none).
        self._ends: list[int] | None = None
        # Worked out on first use: the protected ranges only when a token has to be cut
        # inside (most texts never need them).
        self._protected: list[tuple[int, int]] | None = None
        self._protected_starts: list[int] = []
        self._breaks: tuple[list[int], list[int]] | None = None
        self._lines: list[int] | None = None
        self._window = _CUT_WINDOW  # see `_cut_inside`

    @property
    def ends(self) -> list[int]:
        """Where each token ends, in order."""
        if self._ends is None:
            if not self.mixed:
                self._ends = _token_ends(_pieces(self.flat))
            else:
                spans = [m.span() for m in _TOKEN.finditer(self.text)]
                self._starts = [start for start, _ in spans]
                self._ends = [end for _, end in spans]
        return self._ends

    def start(self, k: int) -> int:
        """Where token ``k`` starts."""
        if self._starts is not None:
            return self._starts[k]
        found = _NOT_SPACE_CHAR.search(self.text, self.ends[k - 1] if k else 0)
        assert found is not None
        return found.start()

    @property
    def tokens(self) -> list[tuple[int, int]]:
        """The tokens as (start, end) spans."""
        return [(self.start(k), end) for k, end in enumerate(self.ends)]

    def _line_breaks(self) -> list[int]:
        """Where each line break starts in the whole text (one scan, on first use)."""
        if self._lines is None:
            if self._breaks is not None:
                self._lines = self._breaks[0]
            elif self._lf_only:
                # A find per line feed in C, where the search tests every code point.
                lines, find = [], self.text.find
                at = find("\n")
                while at >= 0:
                    lines.append(at)
                    at = find("\n", at + 1)
                self._lines = lines
            else:
                self._lines = [m.start() for m in _LINE_BREAK.finditer(self.text)]
        return self._lines

    def _break_positions(self) -> tuple[list[int], list[int]]:
        """Where each line break starts, and where each sentence end followed by whitespace
        ends, in the whole text: one search each, on first use (most texts hold few of
        either; a CJK one a sentence end in every phrase, found in C all the same)."""
        if self._breaks is None:
            text = self.text
            lines = self._line_breaks()
            self._breaks = lines, [m.end() for m in _SENTENCE_END_BEFORE_SPACE.finditer(text)]
        return self._breaks

    def breaks(self, low: int, high: int) -> tuple[list[int], list[int]]:
        """The tokens ``k`` in ``low..high`` (``high`` before the last token) after which a cut
        is a paragraph break (two or more line breaks in the gap after ``k``), and those after
        which it is a line break or a sentence end (punctuation, maybe closing marks, ending
        the token), each in order."""
        ends = self.ends
        sentence_ends = self._break_positions()[1]
        counts = self._gaps(low, high)
        lines = {k for k, n in counts.items() if n == 1}
        first = bisect_left(sentence_ends, ends[low])
        for end in sentence_ends[first : bisect_right(sentence_ends, ends[high])]:
            k = bisect_left(ends, end)
            if ends[k] == end and counts.get(k, 0) < 2:
                lines.add(k)
        return sorted(k for k, n in counts.items() if n >= 2), sorted(lines)

    def _gaps(self, low: int, high: int) -> dict[int, int]:
        """How many line breaks the gap after each token ``k`` in ``low..high`` holds (where
        it holds any)."""
        ends = self.ends
        line_breaks = self._break_positions()[0]
        counts: dict[int, int] = {}
        # A line break is never inside a token (it is a cluster of its own, or half of CR LF,
        # which is whitespace): those before the end of token high + 1 are in the gaps.
        first = bisect_left(line_breaks, ends[low])
        for at in line_breaks[first : bisect_left(line_breaks, ends[high + 1])]:
            k = bisect_right(ends, at) - 1
            counts[k] = counts.get(k, 0) + 1
        return counts

    def _inside_protected(self, position: int) -> tuple[int, int] | None:
        if self._protected is None:
            self._protected = _protected(self.text)
            self._protected_starts = [s for s, _ in self._protected]
        k = bisect_left(self._protected_starts, position) - 1
        if k >= 0:
            start, end = self._protected[k]
            if start < position < end:
                return start, end
        return None

    def split(
        self,
        fits: Callable[[str, int], bool],
        fits_from: Callable[[int, int], Callable[[int], bool]] | None = None,
    ) -> list[tuple[int, int, bool]]:
        """The parts in order, as (start, end, whole): ``whole`` when the part runs from a
        token's start to a token's end. ``fits(part, index)`` decides, or for a whole part
        ``fits_from(start, index)`` when given: the test of the part's end (a measurement of
        the whole text answers it without measuring the part)."""
        text, ends = self.text, self.ends
        parts: list[tuple[int, int, bool]] = []
        i = 0
        size = len(ends)
        position = self.start(0) if ends else len(text)
        whole = True  # the part begins where a token does
        hint = 16  # tokens per part: parts are alike, so the last one is the first guess
        while i < size:
            index = len(parts)

            def ok(end: int, _start: int = position, _index: int = index) -> bool:
                return fits(text[_start:end], _index)

            if not whole and ends[i] - position > _CUT_WINDOW:
                # Inside a long token: each probe of `_longest` would measure the rest of
                # the token, once per part (quadratic); it is cut by windows instead, unless
                # its rest turns out to fit.
                cut = self._cut_inside(position, ends[i], ok, may_fit=True)
                if cut is not None:
                    parts.append((position, cut, False))
                    position = cut
                    continue
            best = self._longest(
                i, fits_from(position, index) if fits_from is not None and whole else ok, hint
            )
            if best is None:
                cut = self._cut_inside(position, ends[i], ok)
                assert cut is not None
                parts.append((position, cut, False))
                position = cut
                whole = False
                continue
            pick = self._prefer(i, best, position)
            parts.append((position, ends[pick], whole))
            hint = best - i + 1
            i = pick + 1
            position = self.start(i) if i < size else len(text)
            whole = True
        return parts

    def _longest(self, i: int, ok: Callable[[int], bool], hint: int) -> int | None:
        """The last token ``j >= i`` such that the part up to its end fits, or None.

        Starts at the hint, gallops up or down from it, then bisects: a few measurements
        per part when parts are alike.
        """
        ends = self.ends
        last = len(ends) - 1
        probe = min(i + max(hint, 1) - 1, last)
        good: int | None
        bad: int | None
        if ok(ends[probe]):
            good, bad = probe, None
            step = 1
            while good < last:
                probe = min(good + step, last)
                if not ok(ends[probe]):
                    bad = probe
                    break
                good = probe
                step *= 2
            if bad is None:
                return good
        else:
            good, bad = None, probe
            step = 1
            while good is None:
                if bad == i:
                    return None  # token i alone does not fit
                probe = max(bad - step, i)
                if ok(ends[probe]):
                    good = probe
                else:
                    bad = probe
                    step *= 2
        while bad - good > 1:
            middle = (good + bad) // 2
            if ok(ends[middle]):
                good = middle
            else:
                bad = middle
        return good

    def split_by_position(
        self, fits_from: Callable[[int, int], Callable[[int], bool]]
    ) -> list[tuple[int, int, bool]] | None:
        """`split` for a text where no cluster mixes whitespace with its neighbours and every
        token fits in a part, without listing the tokens: the part's end is searched among
        positions, each probe moved to the end of the token it falls in (one search in C),
        and the better cuts are looked for near the end only. Takes ``fits_from`` as `split`
        does; None where a token does not fit in a part on its own (`split` cuts it)."""
        assert not self.mixed
        text, flat = self.text, self.flat
        size = len(text)
        last = len(text.rstrip())  # where the last token ends (str.isspace is re's \s)
        found = _NOT_SPACE_FLAT.search(flat)
        position = found.start() if found else size
        parts: list[tuple[int, int, bool]] = []
        hint = 256  # code points per part: parts are alike, so the last one is the first guess
        while position < size:
            test = fits_from(position, len(parts))
            first = flat.find(" ", position)
            first = size if first < 0 else first
            if not test(first):
                return None  # the token must be cut inside
            best = self._longest_end(position, first, last, test, hint)
            pick = self._prefer_end(position, best, last)
            parts.append((position, pick, True))
            hint = best - position
            found = _NOT_SPACE_FLAT.search(flat, pick)
            position = found.start() if found else size
        return parts

    def split_by_reach(
        self, reach_from: Callable[[int, int], int]
    ) -> list[tuple[int, int, bool]] | None:
        """`split_by_position` with no candidate tried: ``reach_from(start, index)`` gives the
        last position where the part from ``start`` still fits (the measurement inverted,
        `XLedger.reach` or `_Ledger.reach`), and the part's longest end is the last token end
        at or before it.
        None where a token does not fit in a part on its own (`split` cuts it)."""
        assert not self.mixed
        text, flat = self.text, self.flat
        last = len(text.rstrip())  # where the last token ends (str.isspace is re's \s)
        parts: list[tuple[int, int, bool]] = []
        if not last:
            return parts  # only whitespace
        found = _NOT_SPACE_FLAT.search(flat)
        assert found is not None  # a token ends at `last`
        position = found.start()
        prefer, append = self._prefer_end, parts.append
        while True:
            reach = reach_from(position, len(parts))
            if reach >= last:
                append((position, last, True))
                return parts
            # The last token end at or before `reach`: a space there or before it ends the
            # gap, the gap's start is a token's end.
            best = reach if flat[reach] == " " else flat.rfind(" ", position, reach)
            if best <= position:
                return None  # the first token does not fit: it must be cut inside
            while flat[best - 1] == " ":
                best -= 1
            pick = prefer(position, best, last)
            append((position, pick, True))
            # The next token starts after the gap (a token follows: pick is before `last`).
            position = pick + 1
            while flat[position] == " ":
                position += 1

    def _token_end(self, position: int) -> int:
        """The first token end at or after ``position`` (before the text's last one)."""
        flat = self.flat
        end = flat.find(" ", position)
        if end < 0:
            return len(flat)
        if end and flat[end - 1] != " ":
            return end
        found = _NOT_SPACE_FLAT.search(flat, end)  # in a gap: the next token's end
        if found is None:
            return len(flat)
        end = flat.find(" ", found.start())
        return len(flat) if end < 0 else end

    def _longest_end(
        self, position: int, good: int, last: int, ok: Callable[[int], bool], hint: int
    ) -> int:
        """The last token end ``e`` after ``good`` (a token end that fits) such that the part
        from ``position`` to ``e`` fits: a probe at the hint, a gallop up or down from it in
        growing steps, then a bisection of the positions between the last end known to fit
        and the first known not to (each probe moved to the end of its token)."""
        token_end = self._token_end
        high = last + 1  # no end at or after `high` fits; the answer is in (good, high)
        end = min(token_end(max(position + hint, good + 1)), last)
        step = 8  # code points: about a word
        if ok(end):
            good = end
            while good < last:
                end = min(token_end(good + step), last)
                if not ok(end):
                    high = end
                    break
                good = end
                step *= 2
            else:
                return good
        else:
            high = end
            while high - step > good:
                end = token_end(high - step)
                if end < high:
                    if ok(end):
                        good = end
                        break
                    high = end
                step *= 2
        while high - good > 1:
            middle = (good + high) // 2
            end = token_end(middle)
            if end >= high:
                high = middle  # no token ends in [middle, high)
            elif ok(end):
                good = end
            else:
                high = end
        return good

    def _prefer_end(self, position: int, best: int, last: int) -> int:
        """`_prefer` by position: the cut to take among the token ends from ``position`` to
        ``best``, the best kind that keeps half the part. The text's line breaks (found once)
        are looked up by bisection, the sentence end searched in the half of the part only."""
        if best >= last:
            return best
        flat = self.flat
        low = self._token_end(position + (best - position + 1) // 2)  # the first end keeping half
        lines = self._line_breaks()
        line = -1
        if lines:
            after = best + 1  # where the next token starts (one does: best is before last)
            while flat[after] == " ":
                after += 1
            first, stop = bisect_left(lines, low), bisect_left(lines, after)
            if first < stop:
                previous = key = paragraph = -1
                breaks = 0  # in the gap after `line`
                for at in lines[first:stop]:
                    # The gap holding it follows the token that ends at the last non-space
                    # before it: walked back to, or to the line break before it in the same
                    # gap, which has the same (so a long gap is walked once).
                    known, key = key, at
                    while flat[key - 1] == " ":
                        key -= 1
                        if key == previous:
                            key = known
                            break
                    previous = at
                    # The gaps come in order, each line break of one after the other: the
                    # last gap seen is the last one, and the last to reach two breaks the
                    # last paragraph break.
                    if key == line:
                        breaks += 1
                        if breaks == 2:
                            paragraph = key
                    else:
                        line, breaks = key, 1
                if paragraph >= 0:
                    return paragraph
        # The last sentence end at or before the cut (it is a token end: whitespace follows),
        # if it keeps half the part and comes after that line break: searched from the start
        # of the token that ends at `floor` (a sentence end at or after `floor` begins there
        # or after the whitespace that follows it).
        floor = line + 1 if line >= 0 else low
        begin = max(flat.rfind(" ", position, floor) + 1, position)
        # Searched in the reversed text from the cut back: the first match found is the last
        # sentence end, where a search forward goes through every one before it.
        text = self.text
        backwards = text[best : begin - 1 : -1] if begin else text[best::-1]
        found = _SENTENCE_END_REVERSED.search(backwards)
        if found is not None and best - found.start() >= floor:
            return best - found.start()
        return line if line >= 0 else best

    def _prefer(self, i: int, best: int, position: int) -> int:
        """The cut to take among tokens ``i..best``: the best kind that keeps half the part."""
        ends = self.ends
        if best == len(ends) - 1:
            return best
        reach = ends[best] - position
        # The tokens whose end keeps at least half the reach: those from `low` on.
        low = max(i, bisect_left(ends, position + (reach + 1) // 2))
        if low > best:
            return best
        cut = self._cut_after(low, best)
        return best if cut is None else cut

    def _cut_after(self, low: int, high: int) -> int | None:
        """The last paragraph break after a token in ``low..high`` (``high`` before the last
        token), else the last line break or sentence end there, else None: what `breaks`
        says, found from the end without listing the others."""
        ends = self.ends
        line_breaks, sentence_ends = self._break_positions()
        line = -1
        if line_breaks:
            counts = self._gaps(low, high)
            if counts:
                paragraph = max((k for k, n in counts.items() if n >= 2), default=-1)
                if paragraph >= 0:
                    return paragraph
                line = max(counts)
        # The last sentence end after a token in reach and after that line break, if any.
        # Whitespace follows each, so it ends a token, except where a token itself holds
        # whitespace (a space carrying a mark): there each is checked.
        floor = ends[max(low, line + 1)]
        q = bisect_right(sentence_ends, ends[high]) - 1
        while q >= 0 and sentence_ends[q] >= floor:
            k = bisect_left(ends, sentence_ends[q])
            if ends[k] == sentence_ends[q]:
                return k
            q -= 1
        return line if line >= 0 else None

    def _cut_inside(
        self, position: int, end: int, ok: Callable[[int], bool], *, may_fit: bool = False
    ) -> int | None:
        """Cut the token running from ``position`` to ``end``, which does not fit whole (with
        ``may_fit``: None when it does).

        Only a window of the token after ``position`` is cut into clusters and tested, grown
        while the part still fits at its end: a part takes a little of a long token, and
        going over all the rest of it for every part is quadratic (minutes for a 200,000
        code point run without spaces)."""
        text = self.text
        # Parts are alike: twice the last cut part is the first guess.
        window = self._window
        while True:
            stop = min(end, position + window)
            # The last cluster found may be cut short by the window (or is the token's end,
            # which does not fit): not a place to cut.
            bounds = [m.end() for m in GRAPHEME.finditer(text, position, stop)][:-1]
            allowed = [b for b in bounds if self._inside_protected(b) is None]
            if stop == end or (allowed and not ok(allowed[-1])):
                break
            window *= 2
        if may_fit and stop == end and ok(end):
            return None
        if not allowed or not ok(allowed[0]):
            raise self._no_fit(position, allowed[0] if allowed else end)
        good, bad = 0, None
        step = 1
        while good < len(allowed) - 1:
            probe = min(good + step, len(allowed) - 1)
            if ok(allowed[probe]):
                good = probe
                step *= 2
            else:
                bad = probe
                break
        if bad is not None:
            while bad - good > 1:
                middle = (good + bad) // 2
                if ok(allowed[middle]):
                    good = middle
                else:
                    bad = middle
        reach = allowed[good] - position
        self._window = max(_MIN_WINDOW, 2 * reach)
        for k in range(good, -1, -1):
            if 2 * (allowed[k] - position) < reach:
                break
            if _INNER_SENTENCE_END.match(text, allowed[k] - 1):
                return allowed[k]
        return allowed[good]

    def _no_fit(self, position: int, end: int) -> ContentError:
        """The error for a piece of text that cannot fit in a part on its own."""
        piece = self.text[position:end]
        result = _measure(piece, self.platform, self.options, "text")[0]
        span = self._inside_protected(position + 1) if end - position > 1 else None
        if span is not None:
            piece = self.text[span[0] : span[1]]
            result = _measure(piece, self.platform, self.options, "text")[0]
            first = piece[:1]
            kind = {
                "@": "mention",
                "＠": "mention",
                "#": "hashtag",
                "＃": "hashtag",
                "$": "cashtag",
            }
            what = kind.get(first, "link")
            message = (
                f"text has a {what} that cannot fit in one part on {self.platform}: "
                f"{_excerpt(piece)} is {result.length} {result.unit}, over the "
                f"{result.limit} a part can hold: shorten the {what}"
            )
        else:
            message = (
                f"text cannot be split on {self.platform}: {_excerpt(piece)!r} alone does not "
                f"fit in a part ({result.length} of {result.limit} {result.unit})"
            )
        return ContentError(
            message,
            field="text",
            platform=self.platform,
            over_by=max(1, result.length - result.limit),
        )


def _excerpt(piece: str, most: int = 500) -> str:
    """``piece`` as an error shows it: whole up to ``most`` code points (a link to find in
    the text), else its start and end around an ellipsis (a pasted 200,000-character link
    went whole into the message)."""
    if len(piece) <= most:
        return piece
    return f"{piece[: most - 100]}…{piece[-99:]}"


# A cluster that could join the one before it across a cut (or a spoiler's end): only where
# the text has none at a token's start, and no prepended mark at all, do the lengths of the
# pieces between tokens add up.
_JOINS_BACK = regex.compile(
    r"[\p{Grapheme_Cluster_Break=Extend}\p{Grapheme_Cluster_Break=ZWJ}"
    r"\p{Grapheme_Cluster_Break=SpacingMark}]"
)
_PREPEND = regex.compile(r"\p{Grapheme_Cluster_Break=Prepend}")
# A cluster of two or more code points holds one of these (an extending or spacing mark, a
# joiner, a regional indicator, a Hangul jamo; a prepended mark is ruled out before): a token
# without any is as many clusters as code points, so only the tokens with one are measured.
_JOINING = (
    r"[\p{Grapheme_Cluster_Break=Extend}\p{Grapheme_Cluster_Break=ZWJ}"
    r"\p{Grapheme_Cluster_Break=SpacingMark}\p{Grapheme_Cluster_Break=Regional_Indicator}"
    r"\p{Grapheme_Cluster_Break=L}\p{Grapheme_Cluster_Break=V}\p{Grapheme_Cluster_Break=T}]"
)
_JOINING_CHAR = regex.compile(_JOINING)
_SPACE = regex.compile(r"[\s\x1c-\x1f]")
_SPACE_BEFORE = regex.compile(r"[\s\x1c-\x1f]", regex.REVERSE)


# Code points above U+FFFF: the one class the ``re`` module tests quickly for them.
_ASTRAL_CHAR = re.compile("[\U00010000-\U0010ffff]")


@cache
def _joining_classes() -> tuple[re.Pattern[str], frozenset[str]]:
    """`_JOINING_CHAR` split in two, read from the ``regex`` module's Unicode data: a ``re``
    class of its code points up to U+FFFF (which ``re`` tests by one table lookup, where
    ``regex`` tests seven properties) and the set of those above, which lie in planes 1 and
    14 (a test checks every code point)."""
    bmp = "".join(map(chr, range(0x10000)))
    ranges = "".join(
        f"\\u{m.start():04x}-\\u{m.end() - 1:04x}" for m in regex.finditer(f"{_JOINING}+", bmp)
    )
    astral = frozenset(
        match.group()
        for plane in (0x10000, 0xE0000)
        for match in _JOINING_CHAR.finditer("".join(map(chr, range(plane, plane + 0x10000))))
    )
    return re.compile(f"[{ranges}]"), astral


def _joining_positions(value: str) -> list[int]:
    """Where `_JOINING_CHAR` matches in ``value``, in order (see `_joining_classes`)."""
    if value.isascii():
        return []  # no ASCII character joins a cluster (a test checks)
    bmp, astral = _joining_classes()
    found = [m.start() for m in bmp.finditer(value)]
    more = [m.start() for m in _ASTRAL_CHAR.finditer(value) if m.group() in astral]
    return sorted(found + more) if more else found


def _special_tokens(
    value: str, found: regex.Pattern[str] | Iterable[int], flat: str | None = None
) -> list[tuple[int, str]]:
    """The tokens of ``value`` holding a match of ``found`` (or a character at one of the
    positions ``found``), each as its end and its text: one scan for the code points, two
    searches for each such token's ends (a find of " " each way in ``value``'s `_flat_lf` text
    when given)."""
    out: list[tuple[int, str]] = []
    end = -1
    positions = (
        (m.start() for m in found.finditer(value)) if isinstance(found, regex.Pattern) else found
    )
    if flat is not None:
        size = len(flat)
        for at in positions:
            if at < end:
                continue  # in the token just taken
            end = flat.find(" ", at)
            if end < 0:
                end = size
            out.append((end, value[flat.rfind(" ", 0, at) + 1 : end]))
        return out
    for at in positions:
        if at < end:
            continue  # in the token just taken
        space = _SPACE.search(value, at)
        end = space.start() if space else len(value)
        space = _SPACE_BEFORE.search(value, 0, at)
        out.append((end, value[space.end() if space else 0 : end]))
    return out


class _Offsets:
    """Sparse running totals: the sum of the amounts placed at or before a position."""

    def __init__(self, amounts: list[tuple[int, int]]) -> None:
        amounts.sort()
        self.positions = [position for position, _ in amounts]
        self.sums = [0]
        for _, amount in amounts:
            self.sums.append(self.sums[-1] + amount)

    def at(self, position: int) -> int:
        return self.sums[bisect_right(self.positions, position)]


def _extra_clusters(value: str, flat: str | None = None) -> _Offsets:
    """Clusters minus code points of ``value`` up to a position, for positions at token
    boundaries (a CR LF counts one, a token with joining code points what it measures);
    ``flat``: ``value``'s `_flat_lf` text, when known."""
    amounts = [
        (end, grapheme_len(token) - len(token))
        for end, token in _special_tokens(
            value, _JOINING_CHAR if flat is None else _joining_positions(value), flat
        )
    ]
    at = value.find("\r\n")
    while at >= 0:
        amounts.append((at + 2, -1))
        at = value.find("\r\n", at + 2)
    return _Offsets(amounts)


class _Ledger:
    """One measurement of a whole text for Mastodon, Bluesky or Threads, giving the length of
    any piece from a token's start to a token's end, plus an ASCII suffix that begins with a
    space (thread numbering), without measuring the piece.

    A URL, mention or grapheme cluster never spans whitespace in the texts this is built for
    (`build` says which), so a piece's length is its code points plus what its few special
    tokens add (joined clusters, emoji bytes, a URL's placeholder): sparse running totals,
    looked up by bisection.
    """

    def __init__(
        self,
        text: str,
        platform: str,
        cap: int,
        extra: _Offsets,
        shifts: tuple[_Offsets, _Offsets] | None = None,
        links: list[tuple[int, int, str]] | None = None,
        before: int = 0,
        unique_links: int = 0,
    ) -> None:
        self.text = text
        self.platform = platform
        self.cap = cap
        self.extra = extra
        self.shifts = shifts
        self.links = links
        self.link_starts = [start for start, _, _ in links] if links else []
        # What every part counts besides its own text: a Mastodon content warning.
        self.before = before
        self.unique_links = unique_links
        self._starts: list[int] | None = None  # for `reach`, on first use

    @classmethod
    def build(
        cls,
        text: str,
        platform: str,
        spec: _Platform,
        merged: Mapping[str, Any],
        mixed: bool,
        flat: str,
    ) -> _Ledger | None:
        """The ledger of ``text`` on ``platform``, or None where pieces would not measure as
        the sum of their parts (then each candidate part is measured); ``mixed``: a grapheme
        cluster of ``text`` mixes whitespace with its neighbour (`_mixes`); ``flat``: its
        `_flat_lf` text."""
        if platform not in _LEDGER_PLATFORMS:
            return None
        if mixed or (not text.isascii() and _PREPEND.search(text)):
            return None
        if not XLedger.usable(text):
            return None
        cap = spec.limit(merged)
        if platform == "bluesky":
            return cls(text, platform, cap, _extra_clusters(text, flat))
        if platform == "threads":
            links = None
            # A text with too few domains for more links than the cap is not searched:
            # no part of it can break the cap, and 0 tells `_problems` so.
            unique = 0
            if not urls_at_most(text, THREADS_MAX_LINKS):
                found = extract_urls(text)
                unique = len({url.url for url in found})
                if unique > THREADS_MAX_LINKS:
                    links = [(url.start, url.end, url.url) for url in found]
            # No cluster spans whitespace here, so each token is cut as the whole text is:
            # the emoji clusters `threads_length` finds, placed where each ends, give every
            # piece between tokens its count, for one pass over the text.
            emoji = _Offsets(emoji_extras(text))
            return cls(text, platform, cap, emoji, links=links, unique_links=unique)
        return cls._mastodon(text, cap, merged)

    @classmethod
    def _mastodon(cls, text: str, cap: int, merged: Mapping[str, Any]) -> _Ledger | None:
        # Mastodon counts the text with its URLs as placeholders and remote mentions without
        # their domain (`countable_text`): that countable text keeps the whitespace, so a
        # position between tokens moves by what the replacements before it took away.
        reserved = merged["characters_reserved_per_url"]
        pieces: list[str] = []
        url_shifts: list[tuple[int, int]] = []
        position = 0
        for url in extract_urls(text, require_protocol=True):
            end = url.end
            if "?" not in url.url:
                end -= len(url.url) - len(url.url.rstrip("="))
            pieces.append(text[position : url.start])
            pieces.append("x" * reserved)
            url_shifts.append((end, reserved - (end - url.start)))
            position = end
        pieces.append(text[position:])
        replaced = "".join(pieces)
        removed = [(m.end(2), m.end(3) - m.end(2)) for m in _REMOTE_MENTION.finditer(replaced)]
        countable = _REMOTE_MENTION.sub(r"\1@\3", replaced) if removed else replaced
        if (not countable.isascii() and _MIXED_CLUSTER.search(countable)) or (
            reserved == 0 and url_shifts
        ):
            return None  # a URL counted as nothing leaves no token where it stood
        spoiler = merged["spoiler_text"]
        if spoiler and (
            not spoiler[-1].isascii() or spoiler[-1] == "\r" or _JOINS_BACK.match(countable)
        ):
            return None  # the warning's last cluster could take in the text's first
        return cls(
            text,
            "mastodon",
            cap,
            _extra_clusters(countable),
            shifts=(_Offsets(url_shifts), _Offsets(removed)),
            before=grapheme_len(spoiler),
        )

    def _at(self, position: int) -> int:
        """The length of ``text[:position]``, for a position at a token's start or end."""
        if self.shifts is not None:
            urls, mentions = self.shifts
            position += urls.at(position)
            position += mentions.at(position)
        return position + self.extra.at(position)

    def length(self, start: int, end: int, suffix: str = "") -> int:
        """The length of ``text[start:end] + suffix`` by `count` (``suffix``: ASCII)."""
        return self.before + self._at(end) - self._at(start) + len(suffix)

    def test(self, start: int, suffix: str = "") -> Callable[[int], bool]:
        """Whether ``text[start:end] + suffix`` passes every rule of the platform, as a test
        of ``end``: what depends on ``start`` only is worked out once, here."""
        limit = self.cap - self.before - len(suffix) + self._at(start)
        positions, sums = self.extra.positions, self.extra.sums
        if self.shifts is not None:
            (url_at, url_sum), (mention_at, mention_sum) = (
                (self.shifts[0].positions, self.shifts[0].sums),
                (self.shifts[1].positions, self.shifts[1].sums),
            )

            def countable(end: int) -> bool:
                end += url_sum[bisect_right(url_at, end)]
                end += mention_sum[bisect_right(mention_at, end)]
                return end + sums[bisect_right(positions, end)] <= limit

            return countable
        if self.platform == "bluesky":
            text = self.text
            room = BLUESKY_MAX_BYTES - len(suffix)

            # UTF-8 takes at most 4 bytes a code point: only a long piece can pass the cap.
            def graphemes(end: int) -> bool:
                return end + sums[bisect_right(positions, end)] <= limit and (
                    4 * (end - start) <= room or utf8_len(text[start:end]) <= room
                )

            return graphemes
        if self.links is None:

            def characters(end: int) -> bool:
                return end + sums[bisect_right(positions, end)] <= limit

            return characters

        def characters_and_links(end: int) -> bool:
            return end + sums[bisect_right(positions, end)] <= limit and self._links_fit(start, end)

        return characters_and_links

    def _links_fit(self, start: int, end: int) -> bool:
        """Whether ``text[start:end]`` holds at most Threads' number of different links."""
        assert self.links is not None
        k = bisect_left(self.link_starts, start)
        seen: set[str] = set()
        for _, link_end, url in self.links[k:]:
            if link_end > end:
                break
            seen.add(url)
        return len(seen) <= THREADS_MAX_LINKS

    def _link_reach(self, start: int) -> int:
        """The last position such that a token end after ``start`` at or before it keeps the
        part within Threads' link cap (`_links_fit`): short of the end of the link that makes
        one different link too many. The links are in order and do not overlap, so a part
        holds those of a run from its start, and more of them the further it goes."""
        assert self.links is not None
        seen: set[str] = set()
        for _, link_end, url in self.links[bisect_left(self.link_starts, start) :]:
            seen.add(url)
            if len(seen) > THREADS_MAX_LINKS:
                return link_end - 1
        return len(self.text)

    def fits(self, start: int, end: int, suffix: str = "") -> bool:
        """Whether ``text[start:end] + suffix`` passes every rule of the platform."""
        return self.test(start, suffix)(end)

    @property
    def reaches(self) -> bool:
        """Whether `reach` answers: on Bluesky and Threads (Mastodon's URL and mention shifts
        are not inverted here)."""
        return self.platform in ("bluesky", "threads") and self.shifts is None

    def reach(self, start: int, suffix: str = "") -> int:
        """The last position ``p`` such that a token end ``e`` after ``start`` passes every
        rule (`test`) exactly when ``e <= p``, for ``start`` at a token's start (``p < start``
        when no piece fits). Needs `reaches`.

        The length of ``text[:p]`` is ``p`` plus the running total of the amounts placed at
        or before ``p`` (clusters joined, CR LF; on Threads each emoji's extra bytes): between
        two such places it grows by one per code point, and taken at token ends and at the
        places it never falls. So the last place whose length is within the limit fixes the
        running total, and the limit less that total (short of the next place) gives ``p``.
        The byte limit binds only where four bytes a code point could pass it; Threads' link
        cap where the part would hold one link too many (`_link_reach`).
        """
        positions, sums = self.extra.positions, self.extra.sums
        starts = self._starts
        if starts is None:
            # The length at each place (index k: the k-th place's, 0 at the text's start).
            starts = self._starts = [0, *map(add, positions, sums[1:])]
        limit = self.cap - self.before - len(suffix) + self._at(start)
        k = bisect_right(starts, limit) - 1
        if k < 0:
            return -1
        reach = limit - sums[k]
        if k < len(positions):
            reach = min(reach, positions[k] - 1)
        if self.platform == "threads":
            return reach if self.links is None else min(reach, self._link_reach(start))
        room = BLUESKY_MAX_BYTES - len(suffix)
        if 4 * (reach - start) > room:
            # The last position whose piece is within the byte limit, by bisection (each
            # code point is 1 to 4 bytes): only for pieces of long clusters.
            low, high = start + room // 4, min(len(self.text), start + room) + 1
            while high - low > 1:
                middle = (low + high) // 2
                if utf8_len(self.text[start:middle]) <= room:
                    low = middle
                else:
                    high = middle
            reach = min(reach, low)
        return reach


_MAX_ROUNDS = 50
# The platforms whose length a `_Ledger` gives (X has its own, `XLedger`).
_LEDGER_PLATFORMS = ("mastodon", "bluesky", "threads")


def split(text: str, platform: str, *, numbered: bool = False, **options: Any) -> list[str]:
    """Split ``text`` into thread parts that each fit ``platform`` by `measure`.

    Text that fits is returned unchanged as ``[text]`` (so ``""`` gives ``[""]``, never an
    empty list). Otherwise parts end at paragraph breaks, then line breaks or sentence ends,
    then spaces; the whitespace at each cut is dropped; a URL, mention, hashtag, word or
    grapheme cluster is never cut, except that a single word longer than a part is cut between
    grapheme clusters. Joining the parts with a space or newline at each cut gives back the
    original words in order.

    With ``numbered=True`` each part ends with `` 1/3``-style numbering (a space, the part's
    number, ``/``, the total), counted inside the limit; the total is settled by splitting
    again until it no longer changes. A text that fits in one part gets no number.

    Options are those of `count`; a Mastodon ``spoiler_text`` counts in every part.

    Raises:
        ContentError: a URL, mention or hashtag (or a single grapheme cluster) is too long to
            fit in a part on its own, the message naming it; or a Mastodon content warning
            leaves no room for text in any part; or ``text`` is not a str.
        ConfigurationError: unknown platform, unknown option, or an option of the wrong type.
    """
    require_text(text)
    return _split(text, platform, numbered, options, measured=False)[0]


def thread_parts(
    text: str, platform: str, *, numbered: bool, most: int, options: Mapping[str, Any]
) -> tuple[list[tuple[str, int]], int]:
    """`split` with each part's length by `count`, for a thread of at most ``most`` parts,
    and the platform's limit. One measurement of the text gives the lengths where it can,
    so that rendering a thread measures no part again.

    A text that no split could fit in ``most`` parts is refused after its one measurement;
    otherwise all its parts are given (more than ``most`` of them, for the caller to refuse),
    their lengths only when there are at most ``most``.

    Raises:
        ContentError: as `split`; or the text is longer than ``most`` parts can hold however
            it is cut, the message saying by how much at least.
        ConfigurationError: as `split`.
    """
    parts, lengths, cap = _split(text, platform, numbered, options, measured=True, most=most)
    if lengths is None:
        return [(part, 0) for part in parts], cap
    return list(zip(parts, lengths, strict=True)), cap


def _refuse_past(
    text: str,
    platform: str,
    spec: _Platform,
    merged: Mapping[str, Any],
    length: int,
    cap: int,
    most: int,
) -> None:
    """Raise when ``text`` (of ``length``) cannot fit in ``most`` parts however it is cut.

    The parts hold all of the text but the whitespace at the cuts: at most ``most + 1``
    runs (between the parts, before the first, after the last), each weighing at most its
    code points times the heaviest weight one can have. If the rest is still more than
    ``most`` full parts hold, no split fits (a content warning repeated in every part, or
    thread numbering, only takes more room).
    """
    # The widest runs of two or more, the rest counted as one code point each whether or not
    # the text has that many more runs (an overestimate keeps the bound safe).
    runs = heapq.nlargest(most + 1, map(len, _WIDE_SPACE.findall(text)))
    spaces = sum(runs) + most + 1 - len(runs)
    widest = x_widest(merged["config"]) if platform == "x" else 1
    over = length - spaces * widest - most * cap
    if over > 0:
        raise ContentError(
            f"text is {length} {spec.unit} on {platform}: more than the {most} parts "
            f"of at most {cap} that brandkit allows in one thread can hold, however it is "
            f"cut: shorten it by at least {over}",
            field="text",
            platform=platform,
            over_by=over,
        )


def _split(
    text: str,
    platform: str,
    numbered: bool,
    options: Mapping[str, Any],
    *,
    measured: bool,
    most: int | None = None,
) -> tuple[list[str], list[int] | None, int]:
    """The parts of ``text``; with ``measured``, also each part's length (else None, and
    None when there are more than ``most``); and the platform's limit. With ``most``, a text
    longer than that many parts can hold however it is cut is refused (`_refuse_past`)
    before it is split."""
    spec, merged = resolved(platform, options)
    cap = spec.limit(merged)
    size = len(text)
    # X, Mastodon, Bluesky, Threads: one measurement of the whole text answers every candidate
    # part between tokens, and the whole text's length too. It costs about a count, so it is
    # taken first only for a text long enough to need splitting (a short one is counted).
    ledger: XLedger | None = None
    totals: _Ledger | None = None
    flat: str | None = None
    mixed: bool | None = None
    lf_only: bool | None = None
    tried = 2 * size > cap
    if tried:
        if platform == "x":
            ledger = XLedger(text, merged["config"]) if XLedger.usable(text) else None
            # A text surely over the limit needs the running weights to be split, and they
            # give its length too. Otherwise it is measured without them first: it may fit,
            # or be long enough to be refused outright.
            if (
                ledger is not None
                and (most is None or size * x_widest(merged["config"]) <= most * cap)
                and ledger.least_length() > cap
            ):
                ledger.track()
        elif platform in _LEDGER_PLATFORMS:
            flat, lf_only = _flat_lf(text)
            mixed = _mixes(text, flat)
            totals = _Ledger.build(text, platform, spec, merged, mixed, flat)
    if ledger is not None:
        length = ledger.length(0, size)
    elif totals is not None:
        length = totals.length(0, size)
    else:
        length = spec.length(text, merged)
    links = totals.unique_links if totals is not None and platform == "threads" else None
    if most is not None and length > most * cap:
        _refuse_past(text, platform, spec, merged, length, cap, most)
    # Over the limit, the text is split whatever else it breaks: no sentence is written.
    if length <= cap and not _problems(
        text, platform, spec, merged, length, "text", links=links, cap=cap
    ):
        return [text], [length], cap
    refused = x_refused_problem(text, "text") if platform == "x" else None
    if refused is not None:
        # Every part holding the character fails, however the text is cut.
        raise ContentError(refused[0], field="text", platform=platform, over_by=refused[1])
    if not tried:
        if platform == "x":
            ledger = XLedger(text, merged["config"]) if XLedger.usable(text) else None
        elif platform in _LEDGER_PLATFORMS:
            flat, lf_only = _flat_lf(text)
            mixed = _mixes(text, flat)
            totals = _Ledger.build(text, platform, spec, merged, mixed, flat)

    def fits(part: str) -> bool:
        length = spec.length(part, merged)
        return length <= cap and not _problems(
            part, platform, spec, merged, length, "text", cap=cap
        )

    if platform == "mastodon" and not fits("x"):
        warning = spec.length("", merged)
        raise ContentError(
            f"spoiler_text is {warning} characters on mastodon and every part repeats it, "
            f"leaving no room under the limit of {cap}: shorten the content warning",
            field="spoiler_text",
            platform=platform,
            over_by=warning - cap + 1,
        )
    splitter = _Splitter(text, platform, spec, merged, flat, mixed, lf_only)

    # X's one rule besides the length counts refused characters: a text without any has no
    # part with any, and the parts need not be looked at for them.
    clean = ledger is not None and not x_refused(text)

    def test_from(start: int, suffix: str) -> Callable[[int], bool]:
        """The test of a part's end, for a part from a token's start to a token's end."""
        if totals is not None:
            return totals.test(start, suffix)
        assert ledger is not None
        if clean:
            return ledger.test(start, cap, suffix)

        def ok(end: int) -> bool:
            assert ledger is not None
            length = ledger.length(start, end, suffix)
            if length > cap:
                return False
            part = text[start:end] + suffix
            return not _problems(part, platform, spec, merged, length, "text", cap=cap)

        return ok

    answers = ledger is not None or totals is not None

    def lengths(spans: list[tuple[int, int, bool]], suffixes: list[str]) -> list[int] | None:
        """Each part's length by `count` (when asked for): from the measurement where it
        answers, else measured."""
        if not measured or (most is not None and len(spans) > most):
            return None
        if ledger is not None and ledger.reaches and all(whole for _, _, whole in spans):
            return ledger.lengths([(start, end) for start, end, _ in spans], suffixes)
        out = []
        for (start, end, whole), suffix in zip(spans, suffixes, strict=True):
            if whole and ledger is not None:
                out.append(ledger.length(start, end, suffix))
            elif whole and totals is not None:
                out.append(totals.length(start, end, suffix))
            else:
                out.append(spec.length(text[start:end] + suffix, merged))
        return out

    def fits_plain(part: str, index: int) -> bool:
        return fits(part)

    def from_plain(start: int, index: int) -> Callable[[int], bool]:
        return test_from(start, "")

    # X, and Bluesky and Threads where their measurement answers: the parts found by position,
    # with no token list (on X the measurement inverted when it can be, else candidates tried).
    by_position = (clean or (totals is not None and totals.reaches)) and not splitter.mixed
    reaches = by_position and (totals is not None or (ledger is not None and ledger.reaches))

    def parts_of(
        fits: Callable[[str, int], bool],
        fits_from: Callable[[int, int], Callable[[int], bool]],
        reach_from: Callable[[int, int], int],
    ) -> list[tuple[int, int, bool]]:
        if by_position:
            if reaches:
                spans = splitter.split_by_reach(reach_from)
            else:
                spans = splitter.split_by_position(fits_from)
            if spans is not None:
                return spans
        return splitter.split(fits, fits_from if answers else None)

    def reach_plain(start: int, index: int) -> int:
        if totals is not None:
            return totals.reach(start)
        assert ledger is not None
        return ledger.reach(start, cap)

    spans = parts_of(fits_plain, from_plain, reach_plain)
    if not spans:
        return [""], [spec.length("", merged)] if measured else None, cap
    if not numbered or len(spans) == 1:
        return [text[s:e] for s, e, _ in spans], lengths(spans, [""] * len(spans)), cap
    total = len(spans)
    for _ in range(_MAX_ROUNDS):

        def fits_numbered(part: str, index: int, _total: int = total) -> bool:
            return fits(f"{part} {index + 1}/{_total}")

        def from_numbered(start: int, index: int, _total: int = total) -> Callable[[int], bool]:
            return test_from(start, f" {index + 1}/{_total}")

        def reach_numbered(start: int, index: int, _total: int = total) -> int:
            if totals is not None:
                return totals.reach(start, f" {index + 1}/{_total}")
            assert ledger is not None
            return ledger.reach(start, cap, f" {index + 1}/{_total}")

        spans = parts_of(fits_numbered, from_numbered, reach_numbered)
        if len(spans) <= total:
            final = [f" {k + 1}/{len(spans)}" for k in range(len(spans))]
            # With as many parts as numbered for, each part was checked with its final number.
            if len(spans) == total or all(
                fits(text[s:e] + suffix) for (s, e, _), suffix in zip(spans, final, strict=True)
            ):
                parts = [text[s:e] + suffix for (s, e, _), suffix in zip(spans, final, strict=True)]
                return parts, lengths(spans, final), cap
            total += 1
        else:
            total = len(spans)
    raise ContentError(  # pragma: no cover - the total only grows and is bounded by the text
        f"text could not be numbered on {platform}: the part count did not settle",
        field="text",
        platform=platform,
    )
