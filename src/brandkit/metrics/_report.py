"""``write_report``: one self-contained HTML file with charts of what the store holds.

No network is needed to view it: the CSS is inline, the charts are SVG drawn here, and
the only script (sortable tables) is a few lines inline. Every name that comes from data
(post ids, post texts, campaigns, accounts, reasons) is escaped, and a post's link is
written only when it is an http(s) URL.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol, TypeVar, runtime_checkable
from urllib.parse import urlsplit

import attrs

from brandkit._quantiles import percentile
from brandkit.metrics._files import replaced
from brandkit.metrics._rows import (
    ENGAGEMENT_METRICS,
    FollowerGrowth,
    PostEngagement,
    TimeSlot,
    Total,
    UnavailableMetric,
)
from brandkit.metrics._sample import METRICS, Metric, MetricSample
from brandkit.metrics._sql import AccountWhere, CampaignWhere, TimeLike, parse_period
from brandkit.metrics._store import MetricsQueries
from brandkit.metrics._svg import (
    WEEKDAYS,
    Bar,
    Line,
    bar_chart,
    color_for,
    esc,
    fmt_number,
    fmt_percent,
    heatmap,
    line_chart,
    palette,
)

if TYPE_CHECKING:
    from brandkit.delivery import Delivery
    from brandkit.inbox._store import Inbox
    from brandkit.listening._listener import Listener

__all__ = ["DeliveryLookup", "PostSource", "render_report", "write_report"]

RAW_ROWS = 200
"""The raw-numbers table shows at most this many posts (the CSV export has them all)."""

TOP_POSTS = 10

EXCERPT = 80
"""A post's text is shown cut to this many characters."""

T = TypeVar("T")

TABLE_ROWS = 100
"""The campaign totals, the unavailable metrics and the follower growth show at most this
many rows (the most posts, series or followers first); the queries and the CSV export have
them all."""

REASON = 300
"""A platform's reason is shown cut to this many characters."""

METRIC_COLUMNS = 24
"""The raw-numbers and totals tables show at most this many metric columns: the canonical
metrics, then the platforms' own names that the most posts carry; the queries and the CSV
export have them all."""


def _most(items: Sequence[T], weight: Callable[[T], float]) -> tuple[list[T], int]:
    """The `TABLE_ROWS` items of the greatest ``weight``, in their own order, and how many
    were left out."""
    if len(items) <= TABLE_ROWS:
        return list(items), 0
    ranked = sorted(range(len(items)), key=lambda i: (-weight(items[i]), i))[:TABLE_ROWS]
    return [items[i] for i in sorted(ranked)], len(items) - TABLE_ROWS


def _left_out(shown: str, count: int, where: str) -> str:
    """The note under a table that leaves ``count`` rows out."""
    if not count:
        return ""
    return (
        f'<p class="hint" style="margin-top:10px">Showing the {TABLE_ROWS} {shown}; '
        f"{count:,} more: {where}.</p>"
    )


@runtime_checkable
class DeliveryLookup(Protocol):
    """Anything that finds a delivery by its id: a `brandkit.outbox.Outbox`, or a ``dict``
    of deliveries by id."""

    def get(self, delivery_id: str, /) -> Delivery | None:
        """The delivery with this id, or ``None``."""
        ...


PostSource = DeliveryLookup | Iterable["Delivery"]
"""Where the report finds each post's text and public URL: an outbox (or anything with
``get(delivery_id)``), or the deliveries themselves (``client.publish(...)``'s result)."""


@attrs.frozen
class _PostInfo:
    """What the report shows of a post besides its numbers."""

    excerpt: str
    url: str | None
    part: int = 0
    deleted: bool = False


def _excerpt(text: str, most: int = EXCERPT) -> str:
    """The text on one line, cut at a word boundary to at most ``most`` characters."""
    flat = " ".join(text.split())
    if len(flat) <= most:
        return flat
    cut = flat[: most - 1]
    space = cut.rfind(" ")
    if flat[most - 1] != " " and space >= most // 2:  # mid-word: drop the broken word
        cut = cut[:space]
    return cut.rstrip(" ,;:.-") + "…"


def _safe_url(url: str | None) -> str | None:
    """``url`` when it is an absolute http(s) URL; anything else (``javascript:``, ...)
    would run or fetch something when clicked, so it is not linked."""
    if not url:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url


def _info(delivery: Delivery, post_id: str) -> _PostInfo:
    """The post's text (its platform's variant) and the URL of the part ``post_id`` (none
    once the delivery is deleted: the address is the platform's "not found")."""
    from brandkit.delivery import DeliveryStatus

    text = delivery.post.for_platform(delivery.platform).text
    deleted = delivery.status is DeliveryStatus.DELETED
    for part in delivery.parts:
        if post_id in (part.id, part.uri):
            url = None if deleted else _safe_url(part.url)
            return _PostInfo(excerpt=_excerpt(text), url=url, part=part.index, deleted=deleted)
    return _PostInfo(excerpt=_excerpt(text), url=None, deleted=deleted)


def _post_infos(
    source: PostSource | None, wanted: Iterable[PostEngagement]
) -> dict[tuple[str, str, str], _PostInfo]:
    """Text and URL of each wanted post that ``source`` knows, by (platform, account, id).

    An outbox is asked only about the posts shown (at most a few hundred look-ups); given
    deliveries, a post is found by its delivery id, else by its account and platform id.
    """
    if source is None:
        return {}
    out: dict[tuple[str, str, str], _PostInfo] = {}
    by_part: Mapping[tuple[str, str], Delivery] = {}
    lookup: DeliveryLookup
    if isinstance(source, DeliveryLookup):
        lookup = source
    else:
        deliveries = list(source)
        lookup = {d.id: d for d in deliveries}
        by_part = {
            (d.account, ref): d
            for d in deliveries
            for part in d.parts
            for ref in (part.id, part.uri)
            if ref
        }
    for post in wanted:
        key = (post.platform, post.account, post.post_id)
        if key in out:
            continue
        found = lookup.get(post.delivery_id) if post.delivery_id else None
        if found is None:
            found = by_part.get((post.account, post.post_id))
        if found is not None:
            out[key] = _info(found, post.post_id)
    return out


def _post_cell(post_id: str, info: _PostInfo | None) -> str:
    """The post as a table cell: its text excerpt, linked to it when its URL is known; the
    platform's id when the text is unknown."""
    if info is None or not info.excerpt:
        label = f"<code>{esc(post_id)}</code>"
    else:
        label = esc(info.excerpt)
    if info is not None and info.part:
        label += f' <span class="part">(part {info.part + 1})</span>'
    if info is not None and info.deleted:
        label += ' <span class="part">(deleted)</span>'
    if info is not None and info.url:
        label = (
            f'<a href="{esc(info.url)}" rel="noopener noreferrer" target="_blank" '
            f'title="{esc(post_id)}">{label}</a>'
        )
    return f'<td class="text wrap post">{label}</td>'


def _rate_cells(post: PostEngagement | None) -> str:
    """The engagement rate and what it divides by, as two table cells."""
    rate = post.rate if post is not None else None
    basis = post.basis if post is not None and post.rate is not None else None
    return (
        f'<td data-v="{rate if rate is not None else -1}">{esc(fmt_percent(rate))}</td>'
        f'<td class="text basis">{esc(basis or "–")}</td>'
    )


_INTERVALS = tuple(
    timedelta(hours=h) for h in (1, 3, 6, 12, 24, 24 * 7, 24 * 30, 24 * 91, 24 * 365)
)


def _interval(first: datetime, last: datetime, points: int = 120) -> timedelta:
    """The shortest interval that keeps a chart under ``points`` points."""
    for step in _INTERVALS:
        if (last - first) / step <= points:
            return step
    return _INTERVALS[-1]


_CSS = """
:root { --ink:#111827; --muted:#6b7280; --line:#e5e7eb; --bg:#f5f6fa; --card:#fff;
  --accent:#4338ca; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--ink);
  font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif; }
main { max-width:1120px; margin:0 auto; padding:32px 24px 48px; }
header h1 { margin:0 0 4px; font-size:28px; letter-spacing:-0.01em; }
header .meta { margin:0; color:var(--muted); }
header .filters { margin:8px 0 0; display:flex; gap:8px; flex-wrap:wrap; }
.pill { display:inline-block; padding:2px 10px; border-radius:999px; background:#e0e7ff;
  color:#3730a3; font-size:13px; }
.cards { display:grid; grid-template-columns:repeat(auto-fit,minmax(150px,1fr)); gap:12px;
  margin:24px 0; }
.card { background:var(--card); border:1px solid var(--line); border-radius:12px;
  padding:14px 16px; }
.card .label { color:var(--muted); font-size:13px; }
.card .value { font-size:24px; font-weight:650; margin-top:2px; }
.card .sub { color:var(--muted); font-size:12px; }
section.panel { background:var(--card); border:1px solid var(--line); border-radius:12px;
  padding:20px 22px; margin:18px 0; }
section.panel h2 { margin:0 0 2px; font-size:18px; }
section.panel .hint { margin:0 0 14px; color:var(--muted); font-size:13px; }
.empty { margin:8px 0; padding:18px; border:1px dashed var(--line); border-radius:10px;
  color:var(--muted); text-align:center; }
svg.chart { width:100%; height:auto; display:block; }
svg .grid line { stroke:var(--line); stroke-width:1; }
svg .grid line.x-tick { stroke:#f1f2f6; }
svg text { font:12px system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;
  fill:var(--muted); }
svg .y-label { text-anchor:end; }
svg .x-label { text-anchor:middle; }
svg .axis-title { text-anchor:middle; }
svg .line { fill:none; stroke-width:2.5; stroke-linejoin:round; stroke-linecap:round; }
svg .dot { stroke:#fff; stroke-width:1.5; }
svg .dot.hit { fill-opacity:0; stroke:none; }
svg .bar-label { text-anchor:end; fill:var(--ink); font-size:13px; }
svg .bar-value { fill:var(--ink); font-size:12px; }
svg .day-label { text-anchor:end; }
svg .empty-cell { fill:#f3f4f6; }
svg .cell:hover, svg .bar:hover { opacity:.85; }
.legend { display:flex; flex-wrap:wrap; gap:6px 16px; margin:10px 0 14px; padding:0;
  list-style:none; font-size:13px; }
.legend .swatch { display:inline-block; width:12px; height:12px; border-radius:3px;
  margin-right:6px; vertical-align:-1px; }
.legend .swatch.dashed { background:repeating-linear-gradient(90deg,currentColor 0 5px,
  transparent 5px 8px) !important; height:3px; vertical-align:3px; }
.scale { display:flex; align-items:center; gap:8px; color:var(--muted); font-size:12px;
  margin-top:8px; }
.scale .ramp { width:160px; height:10px; border-radius:5px;
  background:linear-gradient(90deg,#e0e7ff,#312e81); }
.best { margin:10px 0 0; font-size:14px; }
.table-wrap { overflow-x:auto; }
table { border-collapse:collapse; width:100%; font-size:13px; }
th, td { padding:6px 10px; border-bottom:1px solid var(--line); text-align:right;
  white-space:nowrap; }
th { background:#f9fafb; color:#374151; font-weight:600; position:sticky; top:0; }
th.sortable { cursor:pointer; user-select:none; }
th.sortable::after { content:" ↕"; color:#9ca3af; font-weight:400; }
th.asc::after { content:" ↑"; } th.desc::after { content:" ↓"; }
td.text, th.text { text-align:left; }
td.wrap { white-space:normal; overflow-wrap:anywhere; min-width:140px; max-width:280px; }
td.na { color:#9ca3af; }
td.post a { color:var(--accent); text-decoration:none; }
td.post a:hover { text-decoration:underline; }
td.post .part, td.basis { color:var(--muted); }
td.up { color:#047857; } td.down { color:#b91c1c; }
.badge { display:inline-block; width:8px; height:8px; border-radius:50%; margin-right:6px; }
code { font-size:12px; background:#f3f4f6; padding:1px 5px; border-radius:4px; }
footer { color:var(--muted); font-size:12px; margin-top:28px; text-align:center; }
"""

# Sort a table by a column when its header is clicked (numbers by data-v, text otherwise).
# The attribute set at the end shows (to a reader of the DOM) that the script ran through.
_JS = """
var sortable = document.querySelectorAll("table.sortable");
sortable.forEach(function (table) {
  table.querySelectorAll("th.sortable").forEach(function (th, index) {
    th.addEventListener("click", function () {
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      var asc = !th.classList.contains("asc");
      table.querySelectorAll("th").forEach(function (h) { h.classList.remove("asc", "desc"); });
      th.classList.add(asc ? "asc" : "desc");
      rows.sort(function (a, b) {
        var x = a.cells[index].getAttribute("data-v") || a.cells[index].textContent;
        var y = b.cells[index].getAttribute("data-v") || b.cells[index].textContent;
        var nx = parseFloat(x), ny = parseFloat(y);
        var c = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
        return asc ? c : -c;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});
document.documentElement.setAttribute("data-sortable-tables", String(sortable.length));
"""


def _nothing(where: CampaignWhere, what: str = "data") -> str:
    """What a section without data says. "Yet" only in a report of everything: a period or
    a campaign with nothing in it is no sign that nothing was ever collected."""
    campaign = where.get("campaign") is not None
    period = where.get("since") is not None or where.get("until") is not None
    if campaign and period:
        return f"No {what} for this campaign in this period."
    if campaign:
        return f"No {what} for this campaign."
    if period:
        return f"No {what} in this period."
    return f"No {what} yet."


def _empty(text: str) -> str:
    return f'<p class="empty">{esc(text)}</p>'


def _panel(section_id: str, title: str, hint: str, body: str) -> str:
    return (
        f'<section class="panel" id="{esc(section_id)}"><h2>{esc(title)}</h2>'
        f'<p class="hint">{esc(hint)}</p>{body}</section>'
    )


def _legend(items: Sequence[tuple[str, str, bool]]) -> str:
    cells = "".join(
        f'<li><span class="swatch{" dashed" if dashed else ""}" '
        f'style="background:{esc(color)};color:{esc(color)}"></span>{esc(label)}</li>'
        for label, color, dashed in items
    )
    return f'<ul class="legend">{cells}</ul>'


def _card(label: str, value: str, sub: str = "") -> str:
    extra = f'<div class="sub">{esc(sub)}</div>' if sub else ""
    return (
        f'<div class="card"><div class="label">{esc(label)}</div>'
        f'<div class="value">{esc(value)}</div>{extra}</div>'
    )


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if value else "–"


def _engagement_section(
    store: MetricsQueries, platforms: Sequence[str], where: CampaignWhere
) -> str:
    span = store.span(metric=ENGAGEMENT_METRICS, scope="posts", **where)
    hint = (
        "Running total of likes, reposts, replies, quotes, bookmarks and shares of every "
        "post, per platform (each post counts with its latest available reading)."
    )
    if span is None:
        return _panel("engagement", "Engagement over time", hint, _empty(_nothing(where)))
    step = _interval(*span)
    lines: list[Line] = []
    for i, platform in enumerate(platforms):
        of_platform: CampaignWhere = {**where, "platform": platform}
        points = store.series(ENGAGEMENT_METRICS, interval=step, **of_platform)
        if points:
            lines.append(
                Line(
                    label=platform,
                    color=color_for(platform, i),
                    points=[(p.at, p.value) for p in points],
                )
            )
    if not lines:
        return _panel("engagement", "Engagement over time", hint, _empty(_nothing(where)))
    # A total holds its value after its last reading: draw every line to the common end.
    end = max(line.points[-1][0] for line in lines)
    lines = [
        attrs.evolve(line, points=[*line.points, (end, line.points[-1][1])])
        if line.points[-1][0] < end
        else line
        for line in lines
    ]
    chart = line_chart(lines, label="Engagements over time per platform", y_title="engagements")
    legend = _legend([(line.label, line.color, False) for line in lines])
    step_text = _step_text(step)
    return _panel(
        "engagement", "Engagement over time", f"{hint} One point per {step_text}.", chart + legend
    )


def _step_text(step: timedelta) -> str:
    hours = step / timedelta(hours=1)
    if hours < 24:
        return f"{hours:g} hour{'s' if hours != 1 else ''}"
    days = hours / 24
    return "day" if days == 1 else f"{days:g} days"


def _top_posts_section(
    posts: Sequence[PostEngagement],
    infos: Mapping[tuple[str, str, str], _PostInfo],
    nothing: str = "No data yet.",
) -> str:
    hint = (
        "The posts with the most engagements (latest available readings), with their "
        "engagement rate and what it divides by."
    )
    ranked = [p for p in posts if p.engagements is not None][:TOP_POSTS]
    if not ranked:
        return _panel("top-posts", "Top posts", hint, _empty(nothing))
    platforms = sorted({p.platform for p in ranked})
    bars = []
    rows = []
    for rank, p in enumerate(ranked, 1):
        info = infos.get((p.platform, p.account, p.post_id))
        name = info.excerpt if info is not None and info.excerpt else p.post_id
        bars.append(
            Bar(
                label=f"{p.platform} · {name}",
                value=p.engagements or 0.0,
                color=color_for(p.platform, platforms.index(p.platform)),
                tooltip=(
                    f"{p.platform} post {p.post_id} ({p.account})"
                    + (f", campaign {p.campaign}" if p.campaign else "")
                    + f": {fmt_number(p.engagements)} engagements"
                    + (f", {fmt_percent(p.rate)} of {p.basis}" if p.rate is not None else "")
                    + (f"\n{info.excerpt}" if info is not None and info.excerpt else "")
                ),
                note=(f"· {fmt_percent(p.rate)} of {p.basis}" if p.rate is not None else ""),
            )
        )
        rows.append(
            f'<tr><td data-v="{rank}">{rank}</td>{_post_cell(p.post_id, info)}'
            f'<td class="text"><span class="badge" style="background:'
            f'{esc(color_for(p.platform))}"></span>{esc(p.platform)}</td>'
            f'<td class="text">{esc(p.account)}</td>'
            f'<td data-v="{p.engagements}">{esc(fmt_number(p.engagements))}</td>'
            f'<td data-v="{p.impressions if p.impressions is not None else -1}">'
            f"{esc(fmt_number(p.impressions))}</td>{_rate_cells(p)}</tr>"
        )
    chart = bar_chart(bars, label="Top posts by engagements")
    table = (
        '<div class="table-wrap"><table class="top sortable"><thead><tr>'
        '<th class="sortable">#</th><th class="text sortable">post</th>'
        '<th class="text sortable">platform</th><th class="text sortable">account</th>'
        '<th class="sortable">engagements</th><th class="sortable">impressions</th>'
        '<th class="sortable">eng. rate</th><th class="text sortable">rate basis</th>'
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )
    return _panel("top-posts", "Top posts", hint, chart + table)


def _downsample(
    points: Sequence[tuple[datetime, float]], most: int = 240
) -> list[tuple[datetime, float]]:
    if len(points) <= most:
        return list(points)
    stride = len(points) / most
    picked = [points[int(i * stride)] for i in range(most)]
    if picked[-1] != points[-1]:
        picked.append(points[-1])
    return picked


def _followers_section(
    growth: Sequence[FollowerGrowth], nothing: str = "No follower counts collected yet."
) -> str:
    hint = "Follower counts as read at each collection, per account."
    if not growth:
        return _panel("followers", "Follower growth", hint, _empty(nothing))
    # An agency's store may follow thousands of accounts: a line, a legend entry and a row
    # each made a report of megabytes. The largest are shown, the others counted.
    growth, dropped = _most(growth, lambda g: g.last)
    lines = []
    per_platform: dict[str, int] = defaultdict(int)
    for i, g in enumerate(growth):
        seen = per_platform[g.platform]
        per_platform[g.platform] += 1
        color = color_for(g.platform, i) if seen == 0 else palette(i + 3)
        lines.append(
            Line(
                label=g.account,
                color=color,
                points=_downsample([(p.at, p.value) for p in g.points]),
                dashed=seen > 0,
            )
        )
    chart = line_chart(
        lines, label="Followers over time per account", y_title="followers", from_zero=False
    )
    legend = _legend([(line.label, line.color, line.dashed) for line in lines])
    rows = []
    for g in growth:
        trend = "up" if g.delta > 0 else "down" if g.delta < 0 else ""
        sign = "+" if g.delta > 0 else ""
        rows.append(
            f'<tr><td class="text">{esc(g.platform)}</td><td class="text">{esc(g.account)}</td>'
            f'<td data-v="{g.first}">{esc(fmt_number(g.first))}</td>'
            f'<td data-v="{g.last}">{esc(fmt_number(g.last))}</td>'
            f'<td class="{trend}" data-v="{g.delta}">{sign}{esc(fmt_number(g.delta))}</td>'
            f"<td>{esc(fmt_percent(g.growth))}</td>"
            f'<td class="text">{esc(_when(g.first_at))} → {esc(_when(g.last_at))}</td></tr>'
        )
    table = (
        '<div class="table-wrap"><table class="growth"><thead><tr>'
        '<th class="text">Platform</th><th class="text">Account</th><th>First</th>'
        '<th>Last</th><th>Change</th><th>Growth</th><th class="text">Period (UTC)</th>'
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    ) + _left_out(
        "accounts with the most followers",
        dropped,
        "<code>store.follower_growth()</code> gives them all",
    )
    return _panel("followers", "Follower growth", hint, chart + legend + table)


def _best_times_section(
    slots: Sequence[TimeSlot],
    zone: str,
    nothing: str = "No posts with a known publication time and engagements yet.",
) -> str:
    hint = (
        f"Mean engagements of the posts published in each weekday × hour slot ({zone}); "
        "darker is better, the outlined slot is the best."
    )
    if not slots:
        return _panel(
            "best-times",
            "Best times to post",
            hint,
            _empty(nothing),
        )
    cells = {(s.weekday, s.hour): (s.mean_engagements, s.posts) for s in slots}
    chart = heatmap(cells, label=f"Mean engagements by weekday and hour ({zone})", zone=zone)
    top = ", ".join(
        f"{WEEKDAYS[s.weekday]} {s.hour:02d}:00 ({fmt_number(s.mean_engagements)} per post, "
        f"{s.posts} post{'s' if s.posts != 1 else ''})"
        for s in slots[:3]
    )
    scale = (
        '<div class="scale"><span>fewer</span><span class="ramp"></span><span>more '
        "engagements per post</span></div>"
    )
    best = f'<p class="best"><strong>Best slots:</strong> {esc(top)}</p>'
    return _panel("best-times", "Best times to post", hint, chart + scale + best)


def _columns(totals: Iterable[Total]) -> tuple[list[str], int]:
    """The metric columns of the totals and raw tables, and how many metrics were left out.

    A metric name per day or per post (an import, a platform's own names) made a column
    each, a table thousands of columns wide: the canonical metrics are always shown, then
    the other names the most posts carry, up to `METRIC_COLUMNS`.
    """
    carried: dict[str, int] = defaultdict(int)
    for t in totals:
        carried[t.metric] += max(t.posts, t.unavailable)
    canonical = [m for m in METRICS if m in carried]
    others = sorted(set(carried) - set(canonical), key=lambda m: (-carried[m], m))
    kept = others[: max(0, METRIC_COLUMNS - len(canonical))]
    return canonical + sorted(kept), len(others) - len(kept)


def _metrics_left_out(count: int) -> str:
    """The note under a table that leaves ``count`` metric columns out."""
    if not count:
        return ""
    return (
        f'<p class="hint" style="margin-top:10px">{count:,} more metrics (those the fewest '
        "posts carry) have no column here: <code>brandkit metrics export</code> writes "
        "them all.</p>"
    )


def _totals_table(totals: Sequence[Total], label: str, none_label: str) -> str:
    metrics, hidden = _columns(totals)
    groups: dict[str | None, dict[str, Total]] = defaultdict(dict)
    for t in totals:
        groups[t.group][t.metric] = t
    head = "".join(f'<th class="sortable">{esc(m.replace("_", " "))}</th>' for m in metrics)
    # A post whose latest reading is unavailable but that had a value before counts in
    # both ``posts`` and ``unavailable``, so their sum would count it twice. The larger
    # of the two is every post of the metric unless some never had a value while others
    # still have one; the metric most posts have (likes, usually) gives the count.
    counted = [
        (
            group,
            by_metric,
            max((max(t.posts, t.unavailable) for t in by_metric.values()), default=0),
        )
        for group, by_metric in groups.items()
    ]
    # One campaign per post (a feed's entries, say) would make a row per post.
    kept, dropped = _most(counted, lambda row: row[2])
    rows = []
    for group, by_metric, posts in kept:
        name = group if group is not None else none_label
        cells = []
        for m in metrics:
            found = by_metric.get(m)
            if found is None:
                cells.append('<td class="na" data-v="-1">–</td>')
            elif found.value is None:
                cells.append('<td class="na" data-v="-1" title="unavailable">n/a</td>')
            else:
                note = f" ({found.unavailable} n/a)" if found.unavailable else ""
                cells.append(
                    f'<td data-v="{found.value}">{esc(fmt_number(found.value))}{esc(note)}</td>'
                )
        rows.append(
            f'<tr><td class="text wrap">{esc(name)}</td><td data-v="{posts}">{posts}</td>'
            f"{''.join(cells)}</tr>"
        )
    return (
        (
            '<div class="table-wrap"><table class="totals sortable"><thead><tr>'
            f'<th class="text sortable">{esc(label)}</th><th class="sortable">posts</th>{head}'
            f"</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
        )
        + _left_out(
            f"{label}s with the most posts",
            dropped,
            f"<code>store.totals(by=&quot;{esc(label)}&quot;)</code> gives them all",
        )
        + _metrics_left_out(hidden)
    )


def _totals_section(
    by_platform: Sequence[Total],
    by_campaign: Sequence[Total] | None,
    nothing: str = "No data yet.",
) -> str:
    hint = (
        "Sum of each post's latest available value, per platform and per campaign; "
        "(n n/a): posts whose latest reading is unavailable (an earlier value still counts)."
    )
    if not by_platform:
        return _panel("totals", "Totals", hint, _empty(nothing))
    body = _totals_table(by_platform, "platform", "–")
    if by_campaign:
        body += '<h3 style="font-size:15px;margin:18px 0 8px">By campaign</h3>'
        body += _totals_table(by_campaign, "campaign", "(no campaign)")
    return _panel("totals", "Totals", hint, body)


def _unavailable_section(items: Sequence[UnavailableMetric]) -> str:
    if not items:
        return ""
    # A platform whose reason names each post would make a row per post, and its words
    # are its own: each shown cut, as a post's text is.
    kept, dropped = _most(items, lambda u: u.series)
    rows = "".join(
        f'<tr><td class="text">{esc(u.platform)}</td><td class="text">{esc(u.metric)}</td>'
        f'<td class="text"><code>{esc(_excerpt(u.raw_name or "–", REASON))}</code></td>'
        f'<td class="text wrap">{esc(_excerpt(u.reason or "–", REASON))}</td>'
        f'<td>{u.series}</td><td class="text">{esc(_when(u.last_seen))}</td></tr>'
        for u in kept
    )
    table = (
        '<div class="table-wrap"><table class="unavailable"><thead><tr>'
        '<th class="text">Platform</th><th class="text">Metric</th>'
        '<th class="text">Platform name</th><th class="text">Reason</th><th>Series</th>'
        f'<th class="text">Last seen (UTC)</th></tr></thead><tbody>{rows}</tbody></table></div>'
    ) + _left_out(
        "reasons given for the most series",
        dropped,
        "<code>store.unavailable()</code> lists them all",
    )
    hint = "Metrics the platforms did not give at the latest reading, with their reasons."
    return _panel("unavailable", "Unavailable metrics", hint, table)


def _with_zero_days(points: Sequence[tuple[datetime, float]]) -> list[tuple[datetime, float]]:
    """Daily counts (days without any left out, as the stores give them) with a zero on
    each side of every gap, so that the line drops to 0 for the days without messages
    instead of being drawn straight across them; at most three points per day given."""
    day = timedelta(days=1)
    out: list[tuple[datetime, float]] = []
    for at, value in sorted(points):
        if out and at - out[-1][0] > day:
            out.append((out[-1][0] + day, 0.0))
            if at - out[-1][0] > day:
                out.append((at - day, 0.0))
        out.append((at, value))
    return out


def _conversation_section(
    inbox: Inbox | None, since: TimeLike | None = None, until: TimeLike | None = None
) -> str:
    """Messages per day per platform, first-response times and what still waits, of the
    messages received in the report's period (``since`` inclusive, ``until`` not, as for
    the samples)."""
    if inbox is None:
        return ""
    hint = (
        "The audience's replies, comments, mentions and quotes per day (UTC), and how fast "
        "each account gave its first answer."
    )
    first, after = parse_period(since, until)
    # The inbox's bounds are inclusive: a microsecond before ``until`` is the last one in.
    last = after - timedelta(microseconds=1) if after is not None else None
    volume = inbox.volume(since=first, until=last)
    if not volume:
        # The inbox is read by the period alone (a campaign does not narrow it): an empty
        # period is no sign that nothing was ever synced.
        nothing = (
            "No messages synced yet."
            if first is None and after is None
            else ("No messages in this period.")
        )
        return _panel("conversations", "Conversations", hint, _empty(nothing))
    by_platform: dict[str, list[tuple[datetime, float]]] = defaultdict(list)
    for v in volume:
        day = datetime.fromisoformat(v.day).replace(tzinfo=UTC)
        by_platform[v.platform].append((day, float(v.count)))
    lines = [
        Line(label=name, color=color_for(name, i), points=_with_zero_days(points))
        for i, (name, points) in enumerate(sorted(by_platform.items()))
    ]
    chart = line_chart(lines, label="Messages per day per platform", y_title="messages")
    legend = _legend([(line.label, line.color, False) for line in lines])
    times = inbox.response_times(since=first, until=last)
    waiting = sum(t.unanswered for t in times)
    answered = sum(t.answered for t in times)
    medians = [t.median.total_seconds() for t in times if t.median is not None]
    cards = (
        '<div class="cards">'
        + _card("Messages", fmt_number(sum(v.count for v in volume)))
        + _card("Answered", fmt_number(answered))
        + _card("Unanswered", fmt_number(waiting))
        + _card(
            "First response (median of accounts)",
            _span(timedelta(seconds=percentile(medians, 0.5))) if medians else "–",
        )
        + "</div>"
    )
    # An agency's inbox holds thousands of accounts: a row each, as the other tables were.
    kept, dropped = _most(times, lambda t: t.answered + t.unanswered)
    rows = [
        f'<tr><td class="text">{esc(t.account)}</td>'
        f'<td data-v="{t.answered}">{esc(fmt_number(t.answered))}</td>'
        f'<td data-v="{t.unanswered}">{esc(fmt_number(t.unanswered))}</td>'
        f"<td>{esc(_span(t.median))}</td><td>{esc(_span(t.p90))}</td></tr>"
        for t in kept
    ]
    table = (
        '<div class="table-wrap"><table class="responses"><thead><tr>'
        '<th class="text">Account</th><th>Answered</th><th>Unanswered</th>'
        "<th>First response (median)</th><th>First response (p90)</th>"
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    ) + _left_out(
        "accounts with the most messages",
        dropped,
        "<code>inbox.response_times()</code> gives them all",
    )
    return _panel("conversations", "Conversations", hint, cards + chart + legend + table)


def _listening_section(
    listener: Listener | None, since: TimeLike | None = None, until: TimeLike | None = None
) -> str:
    """Volume per query per day, share of voice, top authors and terms per query, of the
    posts made in the report's period (``since`` inclusive, ``until`` not, as for the
    samples)."""
    if listener is None:
        return ""
    first, after = parse_period(since, until)
    hint = (
        "Public posts the saved queries found, per day (UTC); share of voice between the "
        "queries; the authors with the most reach and the most used terms of each."
    )
    watched = listener.queries()
    volume = listener.volume(since=first, until=after)
    if not watched or not volume:
        # As for the inbox: the period alone narrows what the queries found.
        if not watched:
            nothing = "No saved query yet."
        elif first is None and after is None:
            nothing = "No saved query has found posts yet."
        else:
            nothing = "No saved query found posts in this period."
        return _panel("listening", "Listening", hint, _empty(nothing))
    by_query: dict[str, list[tuple[datetime, float]]] = defaultdict(list)
    found: dict[str, int] = defaultdict(int)
    for day, name, count in volume:
        by_query[name].append((datetime.fromisoformat(day).replace(tzinfo=UTC), float(count)))
        found[name] += count
    # An agency saves hundreds of queries: a line, a bar and a table (two more reads of the
    # store) each made a page of hundreds of tables. The busiest are shown, as elsewhere.
    drawn, _ = _most(sorted(by_query), lambda name: found[name])
    lines = [
        Line(label=name, color=palette(i), points=_with_zero_days(by_query[name]))
        for i, name in enumerate(drawn)
    ]
    chart = line_chart(lines, label="Posts found per day per query", y_title="posts")
    legend = _legend([(line.label, line.color, False) for line in lines])
    shown, dropped = _most(watched, lambda w: found.get(w.name, 0))
    # Listener.share_of_voice's shares (a count per saved query, over all of them), from
    # the volume already read rather than one more statement per query.
    total = sum(found.get(w.name, 0) for w in watched)
    share = {w.name: found.get(w.name, 0) / total if total else 0.0 for w in shown}
    bars = bar_chart(
        [
            Bar(label=name, value=round(value * 100, 1), color=palette(i), note="%")
            for i, (name, value) in enumerate(sorted(share.items(), key=lambda kv: -kv[1]))
        ],
        label="Share of voice between the saved queries, in percent",
    )
    tables = []
    for w in shown:
        authors = "".join(
            f'<tr><td class="text">{esc(a.handle)}</td><td class="text">{esc(a.platform)}</td>'
            f'<td data-v="{a.reach or 0}">{esc(fmt_number(a.reach))}</td>'
            f'<td data-v="{a.posts}">{esc(fmt_number(a.posts))}</td></tr>'
            for a in listener.top_authors(w.name, 5, since=first, until=after)
        )
        terms = ", ".join(
            f"{t} ({n})" for t, n in listener.top_terms(w.name, 10, since=first, until=after)
        )
        tables.append(
            f"<h3>{esc(w.name)}</h3>"
            '<div class="table-wrap"><table class="authors"><thead><tr>'
            '<th class="text">Author</th><th class="text">Platform</th><th>Reach</th>'
            f"<th>Posts</th></tr></thead><tbody>{authors}</tbody></table></div>"
            f'<p class="hint">Top terms: {esc(terms or "–")}</p>'
        )
    tables.append(
        _left_out(
            "saved queries that found the most posts",
            dropped,
            "<code>brandkit listen top NAME</code> shows each",
        )
    )
    return _panel("listening", "Listening", hint, chart + legend + bars + "".join(tables))


def _span(value: timedelta | None) -> str:
    """A duration for people: ``45 s``, ``12 min``, ``3.5 h``, ``2.1 d``."""
    if value is None:
        return "–"
    seconds = value.total_seconds()
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def _raw_order(
    keys: Iterable[tuple[str, str, str]], rank: Mapping[tuple[str, str, str], PostEngagement]
) -> list[tuple[str, str, str]]:
    """The raw table's posts, most engaged first."""
    return sorted(keys, key=lambda k: (-(rank[k].engagements or 0.0) if k in rank else 0.0, k))


def _raw_section(
    order: Sequence[tuple[str, str, str]],
    shown: Sequence[MetricSample],
    totals: Sequence[Total],
    posts: Sequence[PostEngagement],
    infos: Mapping[tuple[str, str, str], _PostInfo],
    nothing: str = "No data yet.",
) -> str:
    """The raw-numbers table: ``order`` holds every post (most engaged first), ``shown``
    the latest samples of the first `RAW_ROWS` of them, ``totals`` the totals per platform
    of the same samples (their metrics are the columns, see `_columns`)."""
    hint = "Latest value of every metric of every post."
    if not order:
        return _panel("raw", "Raw numbers", hint, _empty(nothing))
    table: dict[tuple[str, str, str], dict[str, MetricSample]] = defaultdict(dict)
    for s in shown:
        assert s.post_id is not None
        table[(s.platform, s.account, s.post_id)][s.metric] = s
    rank = {(p.platform, p.account, p.post_id): p for p in posts}
    metrics, hidden = _columns(totals)
    head = "".join(f'<th class="sortable">{esc(m.replace("_", " "))}</th>' for m in metrics)
    rows = []
    for key in order[:RAW_ROWS]:
        platform, account, post_id = key
        by_metric = table[key]
        first = next(iter(by_metric.values()))
        eng = rank.get(key)
        cells = []
        for m in metrics:
            sample = by_metric.get(m)
            if sample is None:
                cells.append('<td class="na" data-v="-1">–</td>')
            elif not sample.available or sample.value is None:
                why = sample.reason or "unavailable"
                cells.append(f'<td class="na" data-v="-1" title="{esc(why)}">n/a</td>')
            else:
                cells.append(f'<td data-v="{sample.value}">{esc(fmt_number(sample.value))}</td>')
        rows.append(
            f'<tr><td class="text"><span class="badge" style="background:'
            f'{esc(color_for(platform))}"></span>{esc(platform)}</td>'
            f'<td class="text">{esc(account)}</td>{_post_cell(post_id, infos.get(key))}'
            f'<td class="text wrap">{esc(first.campaign or "–")}</td>'
            f'<td class="text">{esc(_when(first.posted_at))}</td>{"".join(cells)}'
            f"{_rate_cells(eng)}</tr>"
        )
    note = ""
    if len(order) > RAW_ROWS:
        note = (
            f'<p class="hint" style="margin-top:10px">Showing the {RAW_ROWS} most engaged of '
            f"{len(order)} posts; <code>brandkit metrics export</code> writes them all.</p>"
        )
    html_table = (
        '<div class="table-wrap"><table class="raw sortable"><thead><tr>'
        '<th class="text sortable">platform</th><th class="text sortable">account</th>'
        '<th class="text sortable">post</th><th class="text sortable">campaign</th>'
        f'<th class="text sortable">posted (UTC)</th>{head}<th class="sortable">eng. rate</th>'
        '<th class="text sortable">rate basis</th>'
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table></div>{note}"
    ) + _metrics_left_out(hidden)
    return _panel("raw", "Raw numbers", hint, html_table)


def _posts(n: int) -> str:
    return _many(n, "post")


def _many(n: int, noun: str) -> str:
    """``1 post``, ``2 posts``, ``1,200 samples``."""
    return f"{n:,} {noun}{'s' if n != 1 else ''}"


def _pooled_rate(
    posts: Sequence[PostEngagement], basis: Literal["impressions", "followers"]
) -> tuple[float | None, int]:
    """Σ engagements ÷ Σ base over the posts whose rate is on ``basis``, and how many.

    Pooled rather than a mean of the posts' rates, so that a post seen by ten people does
    not weigh as much as one seen by ten thousand. Each post's base is the one its own
    rate uses (see ``PostEngagement``), so the two figures never mix.
    """
    chosen = [p for p in posts if p.rate is not None and p.basis == basis]
    base = sum((p.impressions if basis == "impressions" else p.followers) or 0.0 for p in chosen)
    if not chosen or not base:
        return None, len(chosen)
    return sum(p.engagements or 0.0 for p in chosen) / base, len(chosen)


def _summary(
    post_keys: Sequence[tuple[str, str, str]],
    posts: Sequence[PostEngagement],
    growth: Sequence[FollowerGrowth],
    by_platform: Sequence[Total],
    samples: int,
) -> str:
    # The accounts with follower counts alone (no post in the report) count too, and so
    # do their platforms: "2 accounts, 1 platform" for an X post and Mastodon followers.
    accounts = {account for _, account, _ in post_keys} | {g.account for g in growth}
    platforms = {platform for platform, _, _ in post_keys} | {g.platform for g in growth}
    impressions = [t.value for t in by_platform if t.metric == Metric.IMPRESSIONS and t.value]
    engagements = [p.engagements for p in posts if p.engagements is not None]
    by_impressions, seen = _pooled_rate(posts, "impressions")
    by_followers, unseen = _pooled_rate(posts, "followers")
    net = sum(g.delta for g in growth)
    cards = [
        _card("Posts", f"{len(post_keys):,}", _many(samples, "sample")),
        _card("Accounts", f"{len(accounts):,}", _many(len(platforms), "platform")),
        _card("Impressions", fmt_number(sum(impressions)) if impressions else "–"),
        _card("Engagements", fmt_number(sum(engagements)) if engagements else "–"),
        _card(
            "Engagement rate",
            fmt_percent(by_impressions),
            f"engagements ÷ impressions, {_posts(seen)}" if seen else "no post has impressions",
        ),
        _card(
            "Follower change",
            (("+" if net > 0 else "") + fmt_number(net)) if growth else "–",
            _many(len(growth), "account") if growth else "",
        ),
    ]
    if unseen:
        # Posts without impressions get their own figure: per follower is a different
        # (usually much higher) number, and mixing it in would make the headline meaningless.
        cards.insert(
            5,
            _card(
                "Rate per follower",
                fmt_percent(by_followers),
                f"engagements ÷ followers, {_posts(unseen)} without impressions",
            ),
        )
    return f'<section class="cards" id="summary">{"".join(cards)}</section>'


def render_report(
    store: MetricsQueries,
    *,
    campaign: str | None = None,
    since: TimeLike | None = None,
    until: TimeLike | None = None,
    title: str = "brandkit analytics report",
    tz: str | tzinfo = "UTC",
    now: datetime | None = None,
    deliveries: PostSource | None = None,
    inbox: Inbox | None = None,
    listener: Listener | None = None,
) -> str:
    """The report as one HTML document (see [`write_report`][brandkit.write_report]).

    Args:
        now: the "generated" time shown (default: the current time; a naive one is UTC).

    Raises:
        ConfigurationError: a time is not ISO 8601, the time zone is unknown, or the store
            is closed.
    """
    from brandkit import __version__

    zone = tz if isinstance(tz, str) else str(tz)
    # The posts (not every latest value: on a large history that is hundreds of thousands
    # of samples); the raw table reads the latest values of the posts it shows.
    # The report's filters, as every query takes them (the period alone: follower counts,
    # and totals per campaign when no campaign is chosen).
    where: CampaignWhere = {"campaign": campaign, "since": since, "until": until}
    in_period: AccountWhere = {"since": since, "until": until}
    post_keys = store.posts(**where)
    posts = store.engagement(**where)
    by_platform = store.totals("platform", **where)
    by_campaign = store.totals("campaign", **in_period) if campaign is None else None
    growth = store.follower_growth(**in_period)
    if campaign is not None:
        involved = {account for _, account, _ in post_keys}
        growth = [g for g in growth if g.account in involved]
    slots = store.best_times(tz=tz, **where)
    missing = store.unavailable(**where)
    samples = store.count(**where)
    span = store.span(**where)
    platforms = sorted({t.group for t in by_platform if t.group is not None})
    # Texts are looked up only for the posts the top list and the raw table show.
    ranked = {(p.platform, p.account, p.post_id): p for p in posts}
    shown = _raw_order(post_keys, ranked)
    raw = store.latest_of(shown[:RAW_ROWS], **where)
    wanted = [*posts[:TOP_POSTS], *(ranked[k] for k in shown[:RAW_ROWS] if k in ranked)]
    infos = _post_infos(deliveries, wanted)

    generated = now or datetime.now(UTC)
    # Naive is UTC, as for since and until: astimezone() would read it in the machine's zone.
    generated = (
        generated.replace(tzinfo=UTC) if generated.tzinfo is None else generated.astimezone(UTC)
    )
    nothing = _nothing(where)
    period = (
        f"data read {_when(span[0])} → {_when(span[1])} UTC"
        if span
        else nothing.rstrip(".").lower()
    )
    pills = [
        f'<span class="pill">{esc(name)}: {esc(value)}</span>'
        for name, value in where.items()
        if value is not None
    ]
    header = (
        f"<header><h1>{esc(title)}</h1>"
        f'<p class="meta">{esc(period)} · generated {esc(_when(generated))} UTC</p>'
        + (f'<p class="filters">{"".join(pills)}</p>' if pills else "")
        + "</header>"
    )
    body = "".join(
        [
            header,
            _summary(post_keys, posts, growth, by_platform, samples),
            _engagement_section(store, platforms, where),
            _top_posts_section(posts, infos, nothing),
            _followers_section(growth, _nothing(where, "follower counts")),
            _best_times_section(
                slots, zone, _nothing(where, "posts with a known publication time and engagements")
            ),
            _conversation_section(inbox, since, until),
            _listening_section(listener, since, until),
            _totals_section(by_platform, by_campaign, nothing),
            _unavailable_section(missing),
            # Totals are per group and metric over the same latest samples: the raw
            # table's columns are the platform totals' ones.
            _raw_section(shown, raw, by_platform, posts, infos, nothing),
            f"<footer>brandkit {esc(__version__)} · times in UTC unless marked · a post's "
            "engagement rate = engagements ÷ impressions, or ÷ followers where the platform "
            "gives no impressions (its rate basis); the summary pools each basis apart"
            "</footer>",
        ]
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,">'
        f"<title>{esc(title)}</title><style>{_CSS}</style></head>"
        f"<body><main>{body}</main><script>{_JS}</script></body></html>\n"
    )


def write_report(
    store: MetricsQueries,
    out_path: str | os.PathLike[str],
    *,
    campaign: str | None = None,
    since: TimeLike | None = None,
    until: TimeLike | None = None,
    title: str = "brandkit analytics report",
    tz: str | tzinfo = "UTC",
    deliveries: PostSource | None = None,
    inbox: Inbox | None = None,
    listener: Listener | None = None,
) -> Path:
    """Write the analytics report: one self-contained HTML file; returns its path.

    Sections: summary figures, engagement over time per platform, top posts, follower
    growth, best times to post (weekday × hour heatmap in ``tz``), conversations (with
    ``inbox``), listening (with ``listener``), totals per platform and campaign,
    unavailable metrics with the platforms' reasons, and the raw numbers. A section without
    data says so. The file needs no network to be viewed.

    The metrics store knows posts by their platform ids only. Given ``deliveries`` (the
    `Outbox` the posts went through, or the `Delivery` objects ``client.publish``
    returned), the top posts and the raw numbers show each post's text (its first 80
    characters, its platform's variant) linked to its public URL; posts it does not know
    keep their ids.

    The file is written whole or not at all (beside it, then renamed over it): a write cut
    short leaves the file that was there.

    The headline engagement rate is Σ engagements ÷ Σ impressions over the posts that have
    impressions; posts without impressions are pooled apart, per follower, in a second
    figure. Each post's own rate says which basis it uses.

    Args:
        store: the metrics store to report on, or its `Analytics` (the same HTML, from
            DuckDB: for large histories).
        out_path: where to write (parent folders are created).
        campaign: report on this campaign's posts only.
        since: only samples fetched, and messages received (``inbox``), at or after this
            time (ISO 8601 text or a datetime; naive ones are UTC).
        until: only samples fetched, and messages received, before this time.
        title: the page title.
        tz: the time zone of the best-times heatmap.
        deliveries: where to find each post's text and URL: an outbox (anything with
            ``get(delivery_id)``) or an iterable of deliveries.
        inbox: an [`Inbox`][brandkit.Inbox]: the report then has a conversation section
            (messages per day per platform, first-response times, unanswered count).
        listener: a [`Listener`][brandkit.Listener]: the report then has a listening
            section (posts found per query per day, share of voice, top authors and terms).

    Raises:
        ConfigurationError: a time is not ISO 8601, the time zone is unknown, or the store
            (or the outbox) is closed.
        OSError: the file cannot be written.
    """
    path = Path(out_path)
    document = render_report(
        store,
        campaign=campaign,
        since=since,
        until=until,
        title=title,
        tz=tz,
        deliveries=deliveries,
        inbox=inbox,
        listener=listener,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    with replaced(path) as out:
        out.write(document)
    return path
