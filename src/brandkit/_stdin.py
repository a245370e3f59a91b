"""The text a command line takes as an argument, or from standard input when it is ``-``
(``brandkit preview -``, ``brandkit outbox add ... -``, ``brandkit inbox reply ID -``),
read with a bound."""

from __future__ import annotations

import sys
from typing import Protocol

from brandkit.errors import ConfigurationError

__all__ = ["MAX_TEXT_BYTES", "text_argument"]

MAX_TEXT_BYTES = 1 << 20
"""The most text read from standard input (1 MiB of UTF-8; the longest post any platform
takes, a WordPress or Ghost article, is far shorter)."""


class _Readable(Protocol):
    def read(self, size: int = ..., /) -> str: ...


def text_argument(value: str, *, stdin: _Readable | None = None) -> str:
    """``value``, or what standard input holds when ``value`` is ``-``, up to
    `MAX_TEXT_BYTES`.

    At most ``MAX_TEXT_BYTES + 1`` characters are read, so that a mistaken pipe (a log, a
    disk image, ``/dev/zero``) is refused at once instead of read until memory runs out.

    Args:
        value: the command's argument.
        stdin: where to read (``sys.stdin`` when not given).

    Raises:
        ConfigurationError: standard input holds more than `MAX_TEXT_BYTES` (in UTF-8), or
            bytes that are not text in its encoding (UTF-8, a Latin-1 file piped in).
    """
    if value != "-":
        return value
    stream: _Readable = sys.stdin if stdin is None else stdin
    try:
        text = stream.read(MAX_TEXT_BYTES + 1)
    except UnicodeDecodeError as exc:
        raise ConfigurationError(
            f"standard input is not {exc.encoding.upper()} text: convert it first, e.g. with "
            "iconv -f latin1 -t utf-8 (nothing was sent or stored)"
        ) from None
    # A character is at least one byte: more characters than the cap, or more bytes once
    # encoded, is too much. (surrogatepass: a lone surrogate is counted, not an error here.)
    if len(text) > MAX_TEXT_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_TEXT_BYTES:
        raise ConfigurationError(
            f"standard input holds more than {MAX_TEXT_BYTES >> 20} MiB, more than any post: "
            "check what is piped in, or shorten the text (nothing was sent or stored)"
        )
    return text
