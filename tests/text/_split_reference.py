"""The splitter as it was before the per-platform ledgers (commit 7e74b84), kept only as the
reference the differential tests compare `brandkit.text.split` with. Do not import outside tests."""

# ruff: noqa
# mypy: ignore-errors

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Mapping
from typing import Any

import regex

from brandkit.errors import ContentError
from brandkit.text._bluesky import _spans as bluesky_spans
from brandkit.text._platforms import _measure, _Platform, _problems, resolve, x_refused_problem
from brandkit.text._split import _excerpt
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
_SENTENCE_END = regex.compile(r"[.!?…。！？‼⁉][\"'”’)\]»」』]*\Z")
_SENTENCE_TAIL = frozenset(".!?…。！？‼⁉\"'”’)]»」』")
_INNER_SENTENCE_END = regex.compile(r"[.!?。！？‼⁉]")
_MENTION_LIKE = regex.compile(r"(?<![\w@＠])[@＠][\w.\-]+(?:@[\w\-]+(?:\.[\w\-]+)+)?")
_TAG_LIKE = regex.compile(r"(?<![\w#＃$])[#＃$][^\s#＃@＠$]+")

PARAGRAPH, LINE, WORD = 3, 2, 1


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
        # Worked out on first use: the cut levels only near each cut, the protected ranges only
        # when a token has to be cut inside (most texts never need them).
        self.levels: dict[int, int] = {}
        self._protected: list[tuple[int, int]] | None = None
        self._starts: list[int] = []

    def _level(self, k: int) -> int:
        """How good a cut after token ``k`` is."""
        level = self.levels.get(k)
        if level is None:
            level = self.levels[k] = self._find_level(k)
        return level

    def _find_level(self, k: int) -> int:
        if k + 1 >= len(self.tokens):
            return PARAGRAPH
        start, end = self.tokens[k]
        gap = self.text[end : self.tokens[k + 1][0]]
        if gap != " ":  # the usual gap holds no line break: no need to look
            breaks = len(_LINE_BREAK.findall(gap))
            if breaks >= 2:
                return PARAGRAPH
            if breaks == 1:
                return LINE
        # Only a token ending in sentence punctuation or a closing mark can end a sentence.
        if self.text[end - 1] in _SENTENCE_TAIL and _SENTENCE_END.search(self.text, start, end):
            return LINE
        return WORD

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
        reach = self.tokens[best][1] - position
        line: int | None = None  # the last line or sentence end in reach, if no paragraph is
        for k in range(best, i - 1, -1):
            if 2 * (self.tokens[k][1] - position) < reach:
                break
            level = self._level(k)
            if level >= PARAGRAPH:
                return k
            if level >= LINE and line is None:
                line = k
        return best if line is None else line

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
            # The message's wording is the library's (an excerpt of a long piece): only
            # where it cuts is compared.
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
    # X: one measurement of the whole text answers every candidate part between tokens.
    ledger = XLedger(text, merged["config"]) if platform == "x" and XLedger.usable(text) else None
    if ledger is not None:
        length = ledger.length(0, len(text))
        if not _problems(text, platform, spec, merged, length, "text"):
            return [text]
    elif _measure(text, platform, merged, "text")[0].fits:
        return [text]

    def fits(part: str) -> bool:
        length = spec.length(part, merged)
        return length <= cap and not _problems(part, platform, spec, merged, length, "text")

    refused = x_refused_problem(text, "text") if platform == "x" else None
    if refused is not None:
        raise ContentError(refused[0], field="text", platform=platform, over_by=refused[1])
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

    def between_plain(start: int, end: int, index: int) -> bool:
        return between(start, end, "")

    parts = splitter.split(fits_plain, between_plain if ledger else None)
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

        parts = splitter.split(fits_numbered, between_numbered if ledger else None)
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
