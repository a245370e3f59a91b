"""Units of text: extended grapheme clusters, UTF-8 bytes, UTF-16 code units.

Python strings index code points. Platforms count other units: Bluesky and Mastodon count
extended grapheme clusters (``regex``'s ``\\X``, kept current with Unicode), Bluesky facets
index UTF-8 bytes, Telegram entities index UTF-16 code units.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import accumulate, repeat

import regex

from brandkit.errors import ContentError

GRAPHEME = regex.compile(r"\X")


def require_text(value: object, field: str = "text") -> None:
    """Refuse a ``value`` that is not a str, where the text functions take text.

    Raises:
        ContentError: naming ``field`` and what was given (bytes: to decode them first).
    """
    if not isinstance(value, str):
        hint = (
            ": decode it first, e.g. value.decode('utf-8')"
            if isinstance(value, bytes | bytearray | memoryview)
            else ""
        )
        raise ContentError(
            f"{field} must be text (str), got {type(value).__name__}{hint}", field=field
        )


_ASTRAL = regex.compile(r"[\U00010000-\U0010FFFF]")


def grapheme_len(text: str) -> int:
    """The number of extended grapheme clusters in ``text``."""
    if text.isascii():
        # In ASCII only CR LF forms a two-code-point cluster.
        return len(text) - text.count("\r\n")
    return GRAPHEME.subn("", text)[1]


def graphemes(text: str) -> list[str]:
    """``text`` cut into its extended grapheme clusters."""
    return GRAPHEME.findall(text)


def utf8_len(text: str) -> int:
    """The length of ``text`` in UTF-8 bytes (lone surrogates count 3, as in JavaScript)."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-8", "surrogatepass"))


def utf16_len(text: str) -> int:
    """The length of ``text`` in UTF-16 code units: code points above U+FFFF count 2."""
    if text.isascii():
        return len(text)
    return len(text) + len(_ASTRAL.findall(text))


def offset_map(text: str, positions: Iterable[int], *, unit: str) -> dict[int, int]:
    """Map code point offsets of ``text`` to ``unit`` offsets (``"utf8"`` or ``"utf16"``).

    Walks the text once, so converting many offsets costs one pass.
    """
    if text.isascii():  # every unit is a code point
        return {pos: pos for pos in positions}
    result: dict[int, int] = {}
    last_cp = 0
    last_unit = 0
    if unit == "utf8":
        # The pieces between the positions encoded and their lengths summed, all in C.
        ordered = sorted(set(positions))
        pieces = map(text.__getitem__, map(slice, [0, *ordered[:-1]], ordered))
        sizes = map(len, map(str.encode, pieces, repeat("utf-8"), repeat("surrogatepass")))
        return dict(zip(ordered, accumulate(sizes), strict=True))
    for pos in sorted(set(positions)):
        last_unit += utf16_len(text[last_cp:pos])
        last_cp = pos
        result[pos] = last_unit
    return result
