"""The report's "First response (median of accounts)" card is the median of the accounts'
medians, interpolated as the inbox's own percentiles are: with an even number of accounts,
the mean of the two middle ones, not the upper one."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from brandkit.inbox import ResponseTimes, Volume
from brandkit.metrics import MetricsStore, render_report


class _Inbox:
    """An inbox stand-in answering with the inbox's own row types."""

    def __init__(self, minutes: list[float | None]) -> None:
        self._minutes = minutes

    def volume(self, **_: object) -> list[Volume]:
        return [Volume("2026-03-02", "x", 2 * len(self._minutes))]

    def response_times(self, **_: object) -> list[ResponseTimes]:
        return [
            ResponseTimes(
                f"x:a{i}",
                2,
                0,
                timedelta(minutes=m) if m is not None else None,
                timedelta(minutes=m) if m is not None else None,
            )
            for i, m in enumerate(self._minutes)
        ]


def _card(store: MetricsStore, minutes: list[float | None]) -> str:
    html = render_report(store, inbox=_Inbox(minutes))
    found = re.search(
        r'First response \(median of accounts\)</div><div class="value">([^<]*)<', html
    )
    assert found is not None
    return found.group(1)


@pytest.mark.parametrize(
    ("minutes", "shown"),
    [
        ([2, 58], "30 min"),  # two accounts: the mean of both
        ([58, 2, 10, None], "10 min"),  # an account without answers is left out
        ([2, 4, 10, 58], "7 min"),
        ([5], "5 min"),
        ([None], "–"),
    ],
)
def test_median_of_accounts(store: MetricsStore, minutes: list[float | None], shown: str) -> None:
    assert _card(store, minutes) == shown
