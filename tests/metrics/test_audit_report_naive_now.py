"""``render_report(now=...)`` with a naive time read it in the machine's local zone (a
server in Tokyo printed "generated 03:00 UTC" for noon), where every other time brandkit
takes naive is UTC (``since``, ``until``)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from brandkit.metrics import MetricsStore, render_report


@pytest.fixture
def in_tokyo(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("in_tokyo")
def test_a_naive_now_is_utc(small: MetricsStore) -> None:
    assert datetime(2026, 3, 30, 12).astimezone().utcoffset() is not None
    page = render_report(small, now=datetime(2026, 3, 30, 12))
    assert "generated 2026-03-30 12:00 UTC" in page
    aware = render_report(small, now=datetime(2026, 3, 30, 12, tzinfo=UTC))
    assert "generated 2026-03-30 12:00 UTC" in aware
