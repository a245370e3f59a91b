"""Text from outside (a platform's error, the audience's words) as a terminal shows it."""

from __future__ import annotations

import unicodedata

__all__ = ["escaped", "shown"]

# Bidirectional overrides and isolates: shown as they are, they reorder the rest of the line
# (a handle could make its text read as someone else's).
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def escaped(text: str) -> str:
    """``text`` with its control characters (an escape sequence would set the window
    title, write the clipboard or hide what follows; a newline would start a forged line),
    bidirectional overrides and lone surrogates written as Python writes them escaped
    (``\\x1b``, ``\\n``, ``\\u202e``); everything else, emoji joiners included, as it
    is."""
    if text.isascii() and text.isprintable():
        return text
    return "".join(
        repr(c)[1:-1] if c in _BIDI or unicodedata.category(c) in ("Cc", "Cs") else c for c in text
    )


def shown(text: str) -> str:
    """``text`` as one line that a terminal prints and does not obey: whitespace runs
    become one space, then `escaped`."""
    return escaped(" ".join(text.split()))
