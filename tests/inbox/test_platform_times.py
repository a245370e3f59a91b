"""brandkit.platforms._times: how every adapter reads a time a platform sends."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pydantic
import pytest

from brandkit.platforms._times import UtcTime, parse_time


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("2026-12-01T09:00:00.000Z", datetime(2026, 12, 1, 9, tzinfo=UTC)),
        ("2019-08-12T03:45:11+0000", datetime(2019, 8, 12, 3, 45, 11, tzinfo=UTC)),
        ("2026-12-01T10:00:00+01:00", datetime(2026, 12, 1, 9, tzinfo=UTC)),
        ("2026-12-01T10:00:00+0100", datetime(2026, 12, 1, 9, tzinfo=UTC)),
        ("2026-12-01T09:00:00", datetime(2026, 12, 1, 9, tzinfo=UTC)),
        ("9999-12-31T23:59:59+01:00", datetime(9999, 12, 31, 22, 59, 59, tzinfo=UTC)),
    ],
)
def test_a_time_reads_as_aware_utc(text: str, want: datetime) -> None:
    got = parse_time(text)
    assert got == want and got is not None and got.tzinfo is UTC


@pytest.mark.parametrize(
    "value",
    [
        "9999-12-31T23:59:59-01:00",
        "9999-12-31T23:59:59-0100",
        "0001-01-01T00:00:00+01:00",
        "yesterday",
        "",
        "2026-12-01T09:00:00Z" + " " * 100,
        None,
        1733043600,
        ["2026-12-01T09:00:00Z"],
    ],
)
def test_what_is_no_time_in_utc_is_unknown(value: Any) -> None:
    assert parse_time(value) is None


class _Answer(pydantic.BaseModel):
    at: UtcTime


def test_an_answer_time_reads_in_utc_or_fails_validation() -> None:
    assert _Answer(at="2026-12-01T10:00:00+01:00").at == datetime(2026, 12, 1, 9, tzinfo=UTC)  # type: ignore[arg-type]
    with pytest.raises(pydantic.ValidationError, match="past what a UTC time holds"):
        _Answer(at="9999-12-31T23:59:59-01:00")  # type: ignore[arg-type]
