"""The chart helpers: ticks, number formats, escaping, marks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from brandkit.metrics._svg import (
    Bar,
    Line,
    bar_chart,
    esc,
    fmt_number,
    fmt_percent,
    heatmap,
    line_chart,
    nice_ticks,
    time_label,
    time_ticks,
)
from tests.metrics._html import read

T = datetime(2026, 3, 2, tzinfo=UTC)


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (0, 100, [0, 20, 40, 60, 80, 100]),
        (0, 7, [0, 2, 4, 6, 8]),
        (0, 0.3, [0, 0.1, 0.2, 0.3]),
        (1020, 1380, [1000, 1100, 1200, 1300, 1400]),
        (5, 5, [5, 5.2, 5.4, 5.6, 5.8, 6]),
    ],
)
def test_nice_ticks(low: float, high: float, expected: list[float]) -> None:
    """Ticks are round numbers covering the range."""
    assert nice_ticks(low, high) == pytest.approx(expected)


def test_time_ticks_choose_a_round_step() -> None:
    """Hours for a day, days for a week, Mondays for months, month starts for a year."""
    ticks, unit = time_ticks(T, T + timedelta(hours=20))
    assert unit == "hour" and ticks[0] == T and ticks[1] - ticks[0] == timedelta(hours=6)
    ticks, unit = time_ticks(T + timedelta(hours=5), T + timedelta(days=6))
    assert unit == "day" and ticks[0] == T + timedelta(days=1)
    ticks, unit = time_ticks(T, T + timedelta(days=60))
    assert unit == "day" and all(t.weekday() == 0 for t in ticks)
    ticks, unit = time_ticks(T, T + timedelta(days=400))
    assert (
        unit == "month"
        and all(t.day == 1 for t in ticks)
        and ticks[0] == datetime(2026, 4, 1, tzinfo=UTC)
    )
    assert time_label(T + timedelta(hours=6), "hour") == "Mar 2 06:00"
    assert time_label(T, "day") == "Mar 2"
    assert time_label(T, "month") == "Mar 2026"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "–"),
        (0, "0"),
        (7, "7"),
        (12.5, "12.5"),
        (0.25, "0.25"),
        (999, "999"),
        (1234, "1.2k"),
        (2_500_000, "2.5M"),
        (150_000, "150k"),
        (-3400, "-3.4k"),
        (1e9, "1B"),
    ],
)
def test_fmt_number(value: float | None, text: str) -> None:
    """Numbers are shortened for charts and cards."""
    assert fmt_number(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (999_999, "1M"),
        (999_500, "1M"),
        (-999_999, "-1M"),
        (999_999_999, "1B"),
        (999.99, "1k"),
        (9.999, "10.0"),
        (999_499, "999k"),
        (99_950, "100k"),
    ],
)
def test_fmt_number_rounding_up_takes_the_next_unit(value: float, text: str) -> None:
    """A number that rounds up to 1000 of a unit reads as 1 of the next one (a count of
    999,999 followers was shown as "1000k"), and a small one that rounds up to 10 keeps
    one decimal like every other number from 10 up."""
    assert fmt_number(value) == text


def test_fmt_percent() -> None:
    """Rates print as percentages with two decimals."""
    assert (fmt_percent(0.0512), fmt_percent(None)) == ("5.12%", "–")


def test_esc_quotes_too() -> None:
    """esc() makes text safe in attributes as well as in element content."""
    assert esc('<a href="x">\'&') == "&lt;a href=&quot;x&quot;&gt;&#x27;&amp;"


def test_line_chart_marks_and_scale() -> None:
    """Each line is a polyline with one tooltip dot per point, within the plot area."""
    svg = line_chart(
        [Line("a", "#000", [(T, 0), (T + timedelta(days=1), 10)]), Line("b<", "#111", [(T, 5)])],
        label="L",
    )
    page = read(f"<section id='s'>{svg}</section>")
    lines = page.marks("s", "polyline", "line")
    assert len(lines) == 2
    first = [tuple(map(float, p.split(","))) for p in lines[0]["points"].split()]
    assert first[0][0] < first[1][0] and first[0][1] > first[1][1]  # later and higher
    assert len(page.marks("s", "circle", "dot")) == 3
    assert "b&lt;" in svg
    assert line_chart([], label="L") == ""


def test_bar_chart_widths_follow_values() -> None:
    """Bars are as long as their values, the largest filling the plot."""
    svg = bar_chart([Bar("one", 10, "#000"), Bar("two", 5, "#000")], label="B")
    bars = read(f"<section id='s'>{svg}</section>").marks("s", "rect", "bar")
    assert float(bars[0]["width"]) == pytest.approx(2 * float(bars[1]["width"]))
    assert bar_chart([], label="B") == ""


def test_heatmap_cells() -> None:
    """One cell per slot with data, the rest empty, the best one outlined."""
    svg = heatmap({(0, 9): (10.0, 2), (4, 17): (3.0, 1)}, label="H", zone="UTC")
    page = read(f"<section id='s'>{svg}</section>")
    cells = page.marks("s", "rect", "cell")
    assert len(cells) == 2
    assert len(page.marks("s", "rect", "empty-cell")) == 7 * 24 - 2
    assert [c.get("stroke") for c in cells] == ["#f59e0b", None]
    assert heatmap({}, label="H", zone="UTC") == ""
