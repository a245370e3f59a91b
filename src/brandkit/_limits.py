"""How many rows or posts a caller asks for (``limit=``), checked once for every store."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from brandkit.errors import ConfigurationError

__all__ = ["MAX_LIMIT", "check_limit", "count_arg"]

MAX_LIMIT = (1 << 63) - 1
"""The largest limit: SQLite's and PostgreSQL's largest integer (a larger one is refused by
the database with an error that does not say which argument was wrong)."""


def check_limit(value: object, *, what: str, least: int = 0, name: str = "limit") -> int:
    """``value`` if it is a whole number from ``least`` to `MAX_LIMIT`.

    Args:
        value: what the caller passed.
        what: what it counts, for the message (``"messages"``, ``"posts read per query"``).
        least: the smallest value allowed (0, or 1 where none would do nothing).
        name: the argument's name, for the message.

    Raises:
        ConfigurationError: ``value`` is not an ``int`` (a ``bool`` is not), or is out of
            that range; the message says what to pass.
    """
    if isinstance(value, bool) or not isinstance(value, int) or not least <= value <= MAX_LIMIT:
        raise ConfigurationError(
            f"{name}={value!r}: give how many {what}, a whole number from {least} to {MAX_LIMIT:,}"
        )
    return value


def count_arg(*, least: int = 0, what: str = "items") -> Callable[[str], int]:
    """An ``argparse`` type for a command line option that counts (``--limit``,
    ``--concurrency``): a whole number from ``least`` to `MAX_LIMIT`, else a usage error
    (exit status 2, said with the option's name) rather than the library's refusal later
    (exit status 1, after the store was opened)."""

    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a whole number: give how many {what}, from {least}"
            ) from None
        if not least <= value <= MAX_LIMIT:
            raise argparse.ArgumentTypeError(
                f"{value} is out of range: give how many {what}, from {least} to {MAX_LIMIT:,}"
            )
        return value

    return parse
