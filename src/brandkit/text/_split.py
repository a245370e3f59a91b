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
not add up, e.g. a mark joining a space, each candidate is measured instead).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Mapping
from typing import Any

import regex

from brandkit.errors import ContentError
from brandkit.text._bluesky import _spans as bluesky_spans
from brandkit.text._counts import threads_length
from brandkit.text._graphemes import grapheme_len, utf8_len
from brandkit.text._mastodon import _REMOTE_MENTION
from brandkit.text._platforms import (
    BLUESKY_MAX_BYTES,
    THREADS_MAX_LINKS,
    _measure,
    _Platform,
    _problems,
    resolve,
)
from brandkit.text._urls import extract_urls
from brandkit.text._x import XLedger

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
_NOT_SPACE_RUN = regex.compile(rf"{_NOT_SPACE}+")
_LINE_BREAK = regex.compile(r"\r\n|[\n\r\u2028\u2029\x0b\x0c\x85]")
# Sentence punctuation and the closing marks after it; a cut after a token is a sentence end
# when one of these ends where the token does.
_SENTENCE_ENDS = regex.compile(r"[.!?…。！？‼⁉][\"'”’)\]»」』]*")
_INNER_SENTENCE_END = regex.compile(r"[.!?。！？‼⁉]")
_MENTION_LIKE = regex.compile(r"(?<![\w@＠])[@＠][\w.\-]+(?:@[\w\-]+(?:\.[\w\-]+)+)?")
_TAG_LIKE = regex.compile(r"(?<![\w#＃$])[#＃$][^\s#＃@＠$]+")


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


class _Splitter:
    def __init__(
        self, text: str, platform: str, spec: _Platform, options: Mapping[str, Any]
    ) -> None:
        self.text = text
        self.platform = platform
        self.spec = spec
        self.options = options
        tokens = _NOT_SPACE_RUN if not _MIXED_CLUSTER.search(text) else _TOKEN
        self.tokens = [m.span() for m in tokens.finditer(text)]
        self.ends = [end for _, end in self.tokens]
        # Where a cut is better than between words, found in one pass over the text: the
        # tokens a paragraph break follows, and those a line break or a sentence end does.
        self.paragraphs, self.lines = self._breaks()
        # Worked out on first use: the protected ranges only when a token has to be cut
        # inside (most texts never need them).
        self._protected: list[tuple[int, int]] | None = None
        self._starts: list[int] = []

    def _breaks(self) -> tuple[list[int], list[int]]:
        """The tokens (by index, in order, the last one left out) after which a cut is a
        paragraph break (two or more line breaks in the gap), and those after which it is a
        line break or a sentence end (punctuation, maybe closing marks, ending the token)."""
        text, tokens, ends = self.text, self.tokens, self.ends
        last = len(tokens) - 1
        breaks: dict[int, int] = {}
        for match in _LINE_BREAK.finditer(text):
            k = bisect_right(ends, match.start()) - 1
            if 0 <= k < last and match.start() < tokens[k + 1][0]:  # in the gap after k
                breaks[k] = breaks.get(k, 0) + 1
        lines = {k for k, n in breaks.items() if n == 1}
        for match in _SENTENCE_ENDS.finditer(text):
            k = bisect_left(ends, match.end())
            if k < last and ends[k] == match.end() and breaks.get(k, 0) < 2:
                lines.add(k)
        return sorted(k for k, n in breaks.items() if n >= 2), sorted(lines)

    def _inside_protected(self, position: int) -> tuple[int, int] | None:
        if self._protected is None:
            self._protected = _protected(self.text)
            self._starts = [s for s, _ in self._protected]
        k = bisect_left(self._starts, position) - 1
        if k >= 0:
            start, end = self._protected[k]
            if start < position < end:
                return start, end
        return None

    def split(
        self,
        fits: Callable[[str, int], bool],
        fits_between: Callable[[int, int, int], bool] | None = None,
    ) -> list[str]:
        """Parts in order; ``fits(part, index)`` decides, or ``fits_between(start, end,
        index)`` for a part from a token's start to a token's end, when given (a measurement
        of the whole text answers those without measuring the part)."""
        text, tokens = self.text, self.tokens
        parts: list[str] = []
        i = 0
        position = tokens[0][0] if tokens else len(text)
        hint = 16  # tokens per part: parts are alike, so the last one is the first guess
        while i < len(tokens):
            index = len(parts)

            def ok(end: int, _start: int = position, _index: int = index) -> bool:
                return fits(text[_start:end], _index)

            whole_tokens: Callable[[int], bool] = ok
            if fits_between is not None and position == tokens[i][0]:

                def whole_tokens(end: int, _start: int = position, _index: int = index) -> bool:
                    return fits_between(_start, end, _index)

            best = self._longest(i, whole_tokens, hint)
            if best is None:
                cut = self._cut_inside(position, tokens[i][1], ok)
                parts.append(text[position:cut])
                position = cut
                continue
            pick = self._prefer(i, best, position)
            parts.append(text[position : tokens[pick][1]])
            hint = best - i + 1
            i = pick + 1
            position = tokens[i][0] if i < len(tokens) else len(text)
        return parts

    def _longest(self, i: int, ok: Callable[[int], bool], hint: int) -> int | None:
        """The last token ``j >= i`` such that the part up to its end fits, or None.

        Starts at the hint, gallops up or down from it, then bisects: a few measurements
        per part when parts are alike.
        """
        tokens = self.tokens
        last = len(tokens) - 1
        probe = min(i + max(hint, 1) - 1, last)
        good: int | None
        bad: int | None
        if ok(tokens[probe][1]):
            good, bad = probe, None
            step = 1
            while good < last:
                probe = min(good + step, last)
                if not ok(tokens[probe][1]):
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
                if ok(tokens[probe][1]):
                    good = probe
                else:
                    bad = probe
                    step *= 2
        while bad - good > 1:
            middle = (good + bad) // 2
            if ok(tokens[middle][1]):
                good = middle
            else:
                bad = middle
        return good

    def _prefer(self, i: int, best: int, position: int) -> int:
        """The cut to take among tokens ``i..best``: the best kind that keeps half the part."""
        if best == len(self.tokens) - 1:
            return best
        reach = self.ends[best] - position
        # The tokens whose end keeps at least half the reach: those from `low` on.
        low = max(i, bisect_left(self.ends, position + (reach + 1) // 2))
        for kinds in (self.paragraphs, self.lines):
            k = bisect_right(kinds, best) - 1
            if k >= 0 and kinds[k] >= low:
                return kinds[k]
        return best

    def _cut_inside(self, position: int, end: int, ok: Callable[[int], bool]) -> int:
        """Cut the token running from ``position`` to ``end``, which does not fit whole."""
        text = self.text
        bounds = [m.end() for m in regex.finditer(r"\X", text, pos=position, endpos=end)][:-1]
        allowed = [b for b in bounds if self._inside_protected(b) is None]
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
                f"text has a {what} that cannot fit in one part on {self.platform}: {piece} is "
                f"{result.length} {result.unit}, over the {result.limit} a part can hold: "
                f"shorten the {what}"
            )
        else:
            message = (
                f"text cannot be split on {self.platform}: {piece!r} alone does not fit in a "
                f"part ({result.length} of {result.limit} {result.unit})"
            )
        return ContentError(
            message,
            field="text",
            platform=self.platform,
            over_by=max(1, result.length - result.limit),
        )


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
_EMOJI_CHAR = regex.compile(r"[\p{Extended_Pictographic}\p{Regional_Indicator}\u20E3]")
_SPACE = regex.compile(r"[\s\x1c-\x1f]")
_SPACE_BEFORE = regex.compile(r"[\s\x1c-\x1f]", regex.REVERSE)


def _special_tokens(value: str, found: regex.Pattern[str]) -> list[tuple[int, str]]:
    """The tokens of ``value`` holding a match of ``found``, each as its end and its text:
    one scan for the code points, two searches for each such token's ends."""
    out: list[tuple[int, str]] = []
    end = -1
    for match in found.finditer(value):
        at = match.start()
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


def _extra_clusters(value: str) -> _Offsets:
    """Clusters minus code points of ``value`` up to a position, for positions at token
    boundaries (a CR LF counts one, a token with joining code points what it measures)."""
    amounts = [
        (end, grapheme_len(token) - len(token))
        for end, token in _special_tokens(value, _JOINING_CHAR)
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
    ) -> None:
        self.text = text
        self.platform = platform
        self.cap = cap
        self.extra = extra
        self.shifts = shifts
        self.links = links
        self.link_starts = [start for start, _, _ in links] if links else []

    @classmethod
    def build(
        cls,
        text: str,
        platform: str,
        spec: _Platform,
        merged: Mapping[str, Any],
    ) -> _Ledger | None:
        """The ledger of ``text`` on ``platform``, or None where pieces would not measure as
        the sum of their parts (then each candidate part is measured)."""
        if platform not in ("mastodon", "bluesky", "threads"):
            return None
        if _MIXED_CLUSTER.search(text) or _PREPEND.search(text) or not XLedger.usable(text):
            return None
        cap = spec.limit(merged)
        if platform == "bluesky":
            return cls(text, platform, cap, _extra_clusters(text))
        if platform == "threads":
            found = extract_urls(text)
            links = None
            if len({url.url for url in found}) > THREADS_MAX_LINKS:
                links = [(url.start, url.end, url.url) for url in found]
            emoji = [
                (end, threads_length(token) - len(token))
                for end, token in _special_tokens(text, _EMOJI_CHAR)
            ]
            return cls(text, platform, cap, _Offsets(emoji), links=links)
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
        if _MIXED_CLUSTER.search(countable) or (reserved == 0 and url_shifts):
            return None  # a URL counted as nothing leaves no token where it stood
        spoiler = merged["spoiler_text"]
        if spoiler and (
            not spoiler[-1].isascii() or spoiler[-1] == "\r" or _JOINS_BACK.match(countable)
        ):
            return None  # the warning's last cluster could take in the text's first
        return cls(
            text,
            "mastodon",
            cap - grapheme_len(spoiler),  # the room the warning leaves
            _extra_clusters(countable),
            shifts=(_Offsets(url_shifts), _Offsets(removed)),
        )

    def fits(self, start: int, end: int, suffix: str = "") -> bool:
        """Whether ``text[start:end] + suffix`` passes every rule of the platform."""
        if self.shifts is not None:
            urls, mentions = self.shifts
            start += urls.at(start)
            start += mentions.at(start)
            end += urls.at(end)
            end += mentions.at(end)
        extra = len(suffix)  # ASCII: one grapheme, one byte, one character each
        length = end - start + self.extra.at(end) - self.extra.at(start) + extra
        if length > self.cap:
            return False
        # UTF-8 takes at most 4 bytes a code point: only a long piece can pass Bluesky's cap.
        if (
            self.platform == "bluesky"
            and 4 * (end - start) + extra > BLUESKY_MAX_BYTES
            and utf8_len(self.text[start:end]) + extra > BLUESKY_MAX_BYTES
        ):
            return False
        if self.links is not None:
            k = bisect_left(self.link_starts, start)
            seen: set[str] = set()
            for _, link_end, url in self.links[k:]:
                if link_end > end:
                    break
                seen.add(url)
            if len(seen) > THREADS_MAX_LINKS:
                return False
        return True


_MAX_ROUNDS = 50


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
            leaves no room for text in any part.
        ConfigurationError: unknown platform, unknown option, or an option of the wrong type.
    """
    spec, merged = resolve(platform, options)
    cap = spec.limit(merged)
    # X: one measurement of the whole text answers every candidate part between tokens. It
    # costs more than a count, so a text short enough to fit is counted first.
    ledger: XLedger | None = None
    if platform == "x" and 2 * len(text) > cap and XLedger.usable(text):
        ledger = XLedger(text, merged["config"])
        length = ledger.length(0, len(text))
    else:
        length = spec.length(text, merged)
    if not _problems(text, platform, spec, merged, length, "text"):
        return [text]
    if ledger is None and platform == "x" and XLedger.usable(text):
        ledger = XLedger(text, merged["config"])

    def fits(part: str) -> bool:
        length = spec.length(part, merged)
        return length <= cap and not _problems(part, platform, spec, merged, length, "text")

    if platform == "mastodon" and not fits("x"):
        warning = spec.length("", merged)
        raise ContentError(
            f"spoiler_text is {warning} characters on mastodon and every part repeats it, "
            f"leaving no room under the limit of {cap}: shorten the content warning",
            field="spoiler_text",
            platform=platform,
            over_by=warning - cap + 1,
        )
    splitter = _Splitter(text, platform, spec, merged)

    def fits_plain(part: str, index: int) -> bool:
        return fits(part)

    # X's one rule besides the length counts refused characters: a text without any has no
    # part with any, and the parts need not be looked at for them.
    clean = ledger is not None and not _problems(text, platform, spec, merged, 0, "text")

    def between(start: int, end: int, suffix: str) -> bool:
        assert ledger is not None
        length = ledger.length(start, end, suffix)
        if length > cap:
            return False
        return clean or not _problems(
            text[start:end] + suffix, platform, spec, merged, length, "text"
        )

    # Mastodon, Bluesky, Threads: running totals of the whole text's length do the same.
    totals = _Ledger.build(text, platform, spec, merged)
    if totals is not None:

        def between(start: int, end: int, suffix: str) -> bool:
            assert totals is not None
            return totals.fits(start, end, suffix)

    def between_plain(start: int, end: int, index: int) -> bool:
        return between(start, end, "")

    parts = splitter.split(fits_plain, between_plain if ledger or totals else None)
    if not parts:
        return [""]
    if not numbered or len(parts) == 1:
        return parts
    total = len(parts)
    for _ in range(_MAX_ROUNDS):

        def fits_numbered(part: str, index: int, _total: int = total) -> bool:
            return fits(f"{part} {index + 1}/{_total}")

        def between_numbered(start: int, end: int, index: int, _total: int = total) -> bool:
            return between(start, end, f" {index + 1}/{_total}")

        parts = splitter.split(fits_numbered, between_numbered if ledger or totals else None)
        if len(parts) <= total:
            final = [f"{part} {k + 1}/{len(parts)}" for k, part in enumerate(parts)]
            if all(fits(p) for p in final):
                return final
            total += 1
        else:
            total = len(parts)
    raise ContentError(  # pragma: no cover - the total only grows and is bounded by the text
        f"text could not be numbered on {platform}: the part count did not settle",
        field="text",
        platform=platform,
    )
