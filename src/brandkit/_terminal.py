"""Text from outside (a platform's error, the audience's words) as a terminal shows it."""

from __future__ import annotations

import unicodedata

__all__ = ["shown"]

# Bidirectional overrides and isolates: shown as they are, they reorder the rest of the line
# (a handle could make its text read as someone else's).
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def shown(text: str) -> str:
    """``text`` as one line that a terminal prints and does not obey: whitespace runs
    become one space, and control characters (an escape sequence would set the window
    title, write the clipboard or hide what follows), bidirectional overrides and lone
    surrogates are written as ``\\x1b``-style escapes. Emoji joiners and other format
    characters stay."""
    flat = " ".join(text.split())
    if flat.isascii() and flat.isprintable():
        return flat
    return "".join(
        (f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}")
        if c in _BIDI or unicodedata.category(c) in ("Cc", "Cs")
        else c
        for c in flat
    )
