"""A message built with a time that UTC cannot hold (an offset that takes it past year
9999) is refused with the model's typed error, as a naive time is, never OverflowError."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from brandkit import Author, Message
from brandkit.errors import ConfigurationError

LATE = datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-1)))
EARLY = datetime(1, 1, 1, 0, 0, tzinfo=timezone(timedelta(hours=1)))


def message(**kw: object) -> Message:
    """A message with the given times."""
    fields: dict[str, object] = {
        "platform": "mastodon",
        "account": "mastodon:brand",
        "id": "1",
        "kind": "mention",
        "author": Author(id="2", handle="fan"),
        "text": "hi",
        "created_at": datetime(2026, 12, 1, tzinfo=UTC),
    }
    fields.update(kw)
    return Message(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize("field", ["created_at", "edited_at"])
@pytest.mark.parametrize("when", [LATE, EARLY])
def test_a_time_utc_cannot_hold_is_a_field_error(field: str, when: datetime) -> None:
    """The error names the field and is a ConfigurationError (and the ValueError the
    model's field errors have always been)."""
    with pytest.raises(ConfigurationError, match=field) as caught:
        message(**{field: when})
    assert isinstance(caught.value, ValueError)


def test_a_time_with_an_offset_still_reads_in_utc() -> None:
    """The last second of year 9999 at +01:00 is an hour earlier in UTC, and kept."""
    plus = datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=1)))
    got = message(created_at=plus, edited_at=plus)
    assert got.created_at == got.edited_at == datetime(9999, 12, 31, 22, 59, 59, tzinfo=UTC)
    assert got.created_at.tzinfo is UTC
