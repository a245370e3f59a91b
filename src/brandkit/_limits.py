"""How many rows or posts a caller asks for (``limit=``), checked once for every store."""

from __future__ import annotations

from brandkit.errors import ConfigurationError

__all__ = ["MAX_LIMIT", "check_limit"]

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
