"""Times a platform sends, read once for every adapter: what cannot be read, or lies
outside what a UTC datetime holds, is unknown (``None``) or a validation error, never an
``OverflowError`` later in whatever writes it in UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import pydantic

__all__ = ["UtcTime", "parse_time", "utc"]

# The longest ISO 8601 text a platform writes is ~32 characters (microseconds and an
# offset); far longer text is no time, and is not worth parsing.
_LONGEST = 64


def utc(value: datetime) -> datetime | None:
    """``value`` in UTC (a naive one read as UTC), or ``None`` when UTC holds no such time
    (an offset that takes it past year 9999 or before year 1)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def parse_time(value: Any) -> datetime | None:
    """ISO 8601 text (``2026-12-01T09:00:00.000Z``, ``+00:00``, or the Graph API's
    ``2019-08-12T03:45:11+0000``) as an aware UTC datetime; text without an offset is read
    as UTC.

    Returns:
        The time, or ``None`` for anything that is not such text, and for a time no UTC
        datetime holds (``9999-12-31T23:59:59-01:00``): an unknown time, as the adapters
        already read a time that is not one. Never raises.
    """
    if not isinstance(value, str) or not value or len(value) > _LONGEST:
        return None
    text = value
    if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":
        text = f"{text[:-2]}:{text[-2:]}"  # +0000 -> +00:00, whatever fromisoformat takes
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return utc(when)


def _in_utc(value: datetime) -> datetime:
    when = utc(value)
    if when is None:
        raise ValueError(f"{value.isoformat()} is past what a UTC time holds (years 1-9999)")
    return when


UtcTime = Annotated[pydantic.AwareDatetime, pydantic.AfterValidator(_in_utc)]
"""An answer's ISO 8601 time with an offset, read as aware UTC; one no UTC datetime holds
fails validation (a malformed answer), as text that is no time does."""
