"""Small inline SVG charts (line, horizontal bars, weekday × hour heatmap).

Every piece of text that reaches the markup goes through `esc`; numbers are
formatted here. Charts scale with their container (``viewBox`` and ``width: 100%``).
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

import attrs

__all__ = [
    "Bar",
    "Line",
    "bar_chart",
    "color_for",
    "esc",
    "fmt_number",
    "fmt_percent",
    "heatmap",
    "line_chart",
    "nice_ticks",
    "palette",
    "time_label",
    "time_ticks",
]

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

_PLATFORM_COLORS = {
    "bluesky": "#2563eb",
    "facebook": "#f59e0b",
    "instagram": "#db2777",
    "linkedin": "#0e7490",
    "mastodon": "#7c3aed",
    "telegram": "#10b981",
    "threads": "#6b7280",
    "x": "#111827",
}
_PALETTE = (
    "#2563eb",
    "#f59e0b",
    "#db2777",
    "#10b981",
    "#7c3aed",
    "#0e7490",
    "#dc2626",
    "#65a30d",
    "#a16207",
    "#111827",
)


def esc(value: object) -> str:
    """Text made safe for HTML and SVG, attributes included."""
    return html.escape(str(value), quote=True)


def color_for(name: str, index: int = 0) -> str:
    """A platform's color, or a palette color by index for anything else."""
    return _PLATFORM_COLORS.get(name, _PALETTE[index % len(_PALETTE)])


def palette(index: int) -> str:
    """The ``index``-th color of the categorical palette."""
    return _PALETTE[index % len(_PALETTE)]


def fmt_number(value: float | None) -> str:
    """1234 → ``1.2k``, 2500000 → ``2.5M``; ``None`` → ``–``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if abs(value) < 1e3:
        if float(value).is_integer():
            return f"{int(value)}"
        text = f"{value:.2f}"
        if abs(float(text)) >= 10:  # 9.999 rounds to "10.00": one decimal from 10 up
            text = f"{value:.1f}"
        if abs(float(text)) < 1e3:
            return text
    # The unit is chosen after rounding: 999,999 rounds to 1000 thousands, which is "1M".
    for limit, suffix in ((1e3, "k"), (1e6, "M"), (1e9, "B")):
        scaled = value / limit
        text = f"{scaled:.1f}" if abs(scaled) < 100 else f"{scaled:.0f}"
        if abs(float(text)) < 1e3 or suffix == "B":
            return text.removesuffix(".0") + suffix
    raise AssertionError("unreachable: the last unit always returns")  # pragma: no cover


def fmt_percent(value: float | None) -> str:
    """0.0512 → ``5.12%``; ``None`` → ``–``."""
    if value is None:
        return "–"
    return f"{value * 100:.2f}%"


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering ``[low, high]`` (steps of 1, 2 or 5 × 10ⁿ)."""
    if high <= low:
        high = low + 1
    raw = (high - low) / max(1, count)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    start = math.floor(low / step) * step
    ticks: list[float] = []
    index = 0
    while True:
        value = round(start + index * step, 10)
        ticks.append(value)
        if value >= high - step * 1e-9:
            return ticks
        index += 1


_TIME_STEPS = tuple(timedelta(hours=h) for h in (1, 2, 3, 6, 12, 24, 48, 72, 24 * 7, 24 * 14))


def time_ticks(low: datetime, high: datetime, count: int = 6) -> tuple[list[datetime], str]:
    """Tick times covering ``[low, high]`` (UTC) and their unit (for `time_label`)."""
    span = max(high - low, timedelta(hours=1))
    for step in _TIME_STEPS:
        if span / step <= count:
            break
    else:
        return _month_ticks(low, high, count), "month"
    epoch = datetime(1970, 1, 5, tzinfo=UTC)  # a Monday: weekly ticks fall on Mondays
    first = epoch + math.ceil((low - epoch) / step) * step
    ticks: list[datetime] = []
    at = first
    while at <= high:
        ticks.append(at)
        at += step
    return ticks, ("hour" if step < timedelta(days=1) else "day")


def _month_ticks(low: datetime, high: datetime, count: int) -> list[datetime]:
    months = (high.year - low.year) * 12 + high.month - low.month + 1
    every = max(1, math.ceil(months / count))
    year, month = low.year, low.month
    if low.day > 1 or low.time() != datetime.min.time():
        month += 1
    ticks: list[datetime] = []
    while True:
        year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
        at = datetime(year, month, 1, tzinfo=UTC)
        if at > high:
            return ticks
        ticks.append(at)
        month += every


def time_label(at: datetime, unit: str) -> str:
    """``Mar 2 06:00``, ``Mar 2`` or ``Mar 2026``, by tick unit."""
    if unit == "month":
        return f"{at:%b %Y}"
    if unit == "day":
        return f"{at:%b} {at.day}"
    return f"{at:%b} {at.day} {at:%H:%M}"


@attrs.frozen
class Line:
    """One line of a line chart."""

    label: str
    color: str
    points: Sequence[tuple[datetime, float]]
    dashed: bool = False


_W, _H = 960, 300
_LEFT, _RIGHT, _TOP, _BOTTOM = 64, 20, 16, 36


def line_chart(
    lines: Sequence[Line], *, label: str, y_title: str = "", from_zero: bool = True
) -> str:
    """A time-series line chart; each point carries a tooltip. With ``from_zero=False``
    the value axis starts near the smallest value (for slowly growing counts)."""
    points = [p for line in lines for p in line.points]
    if not points:
        return ""
    t0 = min(p[0] for p in points)
    t1 = max(p[0] for p in points)
    if t1 == t0:
        t0, t1 = t0 - timedelta(hours=12), t1 + timedelta(hours=12)
    lo = min(p[1] for p in points)
    hi = max(p[1] for p in points)
    if from_zero:
        lo = min(0.0, lo)
    elif hi > lo:
        lo = max(0.0, lo - (hi - lo) * 0.1)
    y_ticks = nice_ticks(lo, hi if hi > lo else lo + 1)
    y0, y1 = y_ticks[0], y_ticks[-1]
    plot_w, plot_h = _W - _LEFT - _RIGHT, _H - _TOP - _BOTTOM
    span = (t1 - t0).total_seconds()

    def x(at: datetime) -> float:
        return _LEFT + (at - t0).total_seconds() / span * plot_w

    def y(value: float) -> float:
        return _TOP + plot_h - (value - y0) / (y1 - y0) * plot_h

    out = [
        f'<svg class="chart line-chart" viewBox="0 0 {_W} {_H}" role="img" '
        f'aria-label="{esc(label)}" preserveAspectRatio="xMidYMid meet">'
    ]
    out.append('<g class="grid">')
    for tick in y_ticks:
        ty = y(tick)
        out.append(
            f'<line x1="{_LEFT}" x2="{_W - _RIGHT}" y1="{ty:.1f}" y2="{ty:.1f}"/>'
            f'<text class="y-label" x="{_LEFT - 8}" y="{ty + 4:.1f}">{esc(fmt_number(tick))}</text>'
        )
    ticks, unit = time_ticks(t0, t1)
    for at in ticks:
        tx = x(at)
        out.append(
            f'<line class="x-tick" x1="{tx:.1f}" x2="{tx:.1f}" y1="{_TOP}" y2="{_TOP + plot_h}"/>'
            f'<text class="x-label" x="{tx:.1f}" y="{_H - 12}">{esc(time_label(at, unit))}</text>'
        )
    out.append("</g>")
    if y_title:
        out.append(
            f'<text class="axis-title" x="14" y="{_TOP + plot_h / 2:.1f}" '
            f'transform="rotate(-90 14 {_TOP + plot_h / 2:.1f})">{esc(y_title)}</text>'
        )
    # Dots on every line or on none (some dotted lines look uneven), and only while they
    # stay apart; the invisible ones still carry the tooltips.
    show_dots = sum(len(line.points) for line in lines) <= 120
    for line in lines:
        if not line.points:
            continue
        coords = " ".join(f"{x(at):.1f},{y(v):.1f}" for at, v in line.points)
        dash = ' stroke-dasharray="6 4"' if line.dashed else ""
        out.append(
            f'<g class="series" data-label="{esc(line.label)}">'
            f'<polyline class="line" points="{coords}" stroke="{esc(line.color)}"{dash}/>'
        )
        for at, v in line.points:
            tip = f"{line.label} · {at.strftime('%Y-%m-%d %H:%M')} UTC · {fmt_number(v)}"
            radius = 2.5 if show_dots else 5
            cls = "dot" if show_dots else "dot hit"
            out.append(
                f'<circle class="{cls}" cx="{x(at):.1f}" cy="{y(v):.1f}" r="{radius}" '
                f'fill="{esc(line.color)}"><title>{esc(tip)}</title></circle>'
            )
        out.append("</g>")
    out.append("</svg>")
    return "".join(out)


@attrs.frozen
class Bar:
    """One bar of a horizontal bar chart."""

    label: str
    value: float
    color: str
    tooltip: str = ""
    note: str = ""


def bar_chart(bars: Sequence[Bar], *, label: str) -> str:
    """Horizontal bars, largest first as given, with the value (and a note) at the end."""
    if not bars:
        return ""
    row, label_w, value_w = 30, 260, 150
    height = _TOP + row * len(bars) + 8
    plot_w = _W - label_w - value_w
    top = max(b.value for b in bars) or 1.0
    out = [
        f'<svg class="chart bar-chart" viewBox="0 0 {_W} {height}" role="img" '
        f'aria-label="{esc(label)}" preserveAspectRatio="xMidYMid meet">'
    ]
    for i, bar in enumerate(bars):
        by = _TOP + i * row
        width = max(2.0, bar.value / top * plot_w)
        text = bar.label if len(bar.label) <= 34 else bar.label[:33] + "…"
        tip = bar.tooltip or f"{bar.label}: {fmt_number(bar.value)}"
        value_text = fmt_number(bar.value) + (f"  {bar.note}" if bar.note else "")
        out.append(
            f'<g class="bar-row"><title>{esc(tip)}</title>'
            f'<text class="bar-label" x="{label_w - 10}" y="{by + 18}">{esc(text)}</text>'
            f'<rect class="bar" x="{label_w}" y="{by + 4}" width="{width:.1f}" height="{row - 10}" '
            f'rx="3" fill="{esc(bar.color)}"/>'
            f'<text class="bar-value" x="{label_w + width + 8:.1f}" y="{by + 18}">'
            f"{esc(value_text)}</text></g>"
        )
    out.append("</svg>")
    return "".join(out)


def _shade(fraction: float) -> str:
    """From a pale to a deep indigo as ``fraction`` goes from 0 to 1."""
    light, dark = (224, 231, 255), (49, 46, 129)
    f = min(1.0, max(0.0, fraction)) ** 0.8
    r, g, b = (round(lo + (hi - lo) * f) for lo, hi in zip(light, dark, strict=True))
    return f"#{r:02x}{g:02x}{b:02x}"


def heatmap(cells: Mapping[tuple[int, int], tuple[float, int]], *, label: str, zone: str) -> str:
    """A weekday × hour grid; ``cells[(weekday, hour)] = (mean engagements, posts)``."""
    if not cells:
        return ""
    cell, gap, left, top = 34, 3, 52, 26
    width = left + 24 * cell + 8
    height = top + 7 * cell + 8
    peak = max(v for v, _ in cells.values()) or 1.0
    best = max(cells, key=lambda k: cells[k][0])
    out = [
        f'<svg class="chart heatmap" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{esc(label)}" preserveAspectRatio="xMidYMid meet">'
    ]
    for hour in range(0, 24, 2):
        out.append(
            f'<text class="x-label" x="{left + hour * cell + cell / 2:.1f}" y="{top - 8}">'
            f"{hour:02d}</text>"
        )
    for day, name in enumerate(WEEKDAYS):
        cy = top + day * cell
        out.append(
            f'<text class="day-label" x="{left - 10}" y="{cy + cell / 2 + 4:.1f}">{name}</text>'
        )
        for hour in range(24):
            cx = left + hour * cell
            found = cells.get((day, hour))
            if found is None:
                out.append(
                    f'<rect class="empty-cell" x="{cx}" y="{cy}" width="{cell - gap}" '
                    f'height="{cell - gap}" rx="4"/>'
                )
                continue
            value, posts = found
            tip = (
                f"{name} {hour:02d}:00–{hour:02d}:59 {zone}: {fmt_number(value)} engagements "
                f"per post ({posts} post{'s' if posts != 1 else ''})"
            )
            extra = ' stroke="#f59e0b" stroke-width="3"' if (day, hour) == best else ""
            out.append(
                f'<rect class="cell" x="{cx}" y="{cy}" width="{cell - gap}" '
                f'height="{cell - gap}" rx="4" fill="{_shade(value / peak)}"{extra}>'
                f"<title>{esc(tip)}</title></rect>"
            )
    out.append("</svg>")
    return "".join(out)
