"""The HTML report: structure, data in every chart, escaping, no network, empty store."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from brandkit.errors import ConfigurationError
from brandkit.metrics import MetricSample, MetricsStore, render_report, write_report
from tests.metrics._data import AWKWARD_CAMPAIGN, at
from tests.metrics._html import read

CHARTS = {
    "engagement": ("polyline", "line"),
    "top-posts": ("rect", "bar"),
    "followers": ("polyline", "line"),
    "best-times": ("rect", "cell"),
}
NOW = datetime(2026, 3, 30, tzinfo=UTC)


def test_every_chart_has_an_svg_with_data(demo: MetricsStore) -> None:
    """Each chart section holds an <svg> with data marks (lines, bars, cells)."""
    page = read(render_report(demo, now=NOW))
    for section, (tag, css) in CHARTS.items():
        tags = [t for t, _ in page.sections[section]]
        assert "svg" in tags, section
        assert page.marks(section, tag, css), section
        assert "No data yet" not in page.section_text(section)


def test_chart_marks_match_the_data(demo: MetricsStore) -> None:
    """One line per platform, ten top posts, one line per account, one cell per slot."""
    page = read(render_report(demo, now=NOW))
    platforms = {t.group for t in demo.totals()}
    lines = page.marks("engagement", "polyline", "line")
    assert len(lines) == len(platforms)
    assert len(page.marks("top-posts", "rect", "bar")) == 10
    assert len(page.marks("followers", "polyline", "line")) == len(demo.follower_growth())
    assert len(page.marks("best-times", "rect", "cell")) == len(demo.best_times())
    assert (
        len(page.marks("best-times", "rect", "cell"))
        + len(page.marks("best-times", "rect", "empty-cell"))
        == 7 * 24
    )


def test_top_bar_is_the_most_engaged_post(demo: MetricsStore) -> None:
    """The first and longest bar is the post with the most engagements."""
    top = demo.engagement()[0]
    page = read(render_report(demo, now=NOW))
    bars = page.marks("top-posts", "rect", "bar")
    widths = [float(b["width"]) for b in bars]
    assert widths[0] == max(widths)
    assert f"{top.platform} · {top.post_id}" in page.section_text("top-posts")


def test_tables_and_summary(demo: MetricsStore) -> None:
    """The totals, unavailable and raw-number tables and the summary are there."""
    page = read(render_report(demo, now=NOW))
    assert "retired by Meta in Graph API v22" in page.section_text("unavailable")
    raw_rows = [a for t, a in page.sections["raw"] if t == "tr"]
    posts = {(s.platform, s.post_id) for s in demo.latest()}
    assert len(raw_rows) == len(posts) + 1  # the header row
    assert f"{len(posts)}" in page.section_text("summary")
    assert "instagram" in page.section_text("totals")


def test_escaping(store: MetricsStore) -> None:
    """Post ids, accounts, campaigns and reasons from data are escaped everywhere."""
    evil_post = '<img src=x onerror="alert(1)">'
    evil_account = 'x:<b>"brand"</b>'
    samples = []
    for hours, likes in ((1, 3), (5, 7)):
        samples.append(
            MetricSample(
                platform="x",
                account=evil_account,
                post_id=evil_post,
                metric="likes",
                value=likes,
                fetched_at=at(hours),
                campaign=AWKWARD_CAMPAIGN,
                posted_at=at(0),
            )
        )
    samples.append(
        MetricSample.unavailable(
            platform="x",
            account=evil_account,
            post_id=evil_post,
            metric="impressions",
            reason="<i>gone</i> & done",
            fetched_at=at(5),
        )
    )
    samples.append(
        MetricSample(
            platform="x", account=evil_account, metric="followers", value=10, fetched_at=at(1)
        )
    )
    store.add(samples)
    document = render_report(store, title="<Q2> & 'spring'", campaign=AWKWARD_CAMPAIGN, now=NOW)
    assert evil_post not in document
    assert "<b>" not in document and "<i>" not in document
    assert AWKWARD_CAMPAIGN not in document
    assert document.count("<script") == 1  # only the report's own script
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in document
    assert "&lt;i&gt;gone&lt;/i&gt; &amp; done" in document
    assert "<title>&lt;Q2&gt; &amp; &#x27;spring&#x27;</title>" in document
    page = read(document)
    assert evil_post in page.section_text("raw")  # the text itself is shown, as text
    assert page.marks("top-posts", "rect", "bar")


def test_no_network_needed(demo: MetricsStore) -> None:
    """No src/href points outside the file: no CDN, no fonts, no images to fetch."""
    document = render_report(demo, now=NOW)
    page = read(document)
    for tag, attrs in page.all_tags:
        for name in ("src", "href"):
            value = attrs.get(name)
            if value is not None:
                assert value.startswith(("data:", "#")), (tag, value)
    assert not re.search(r"url\(\s*['\"]?(?!data:)", document)
    assert "@import" not in document


def test_empty_store_says_no_data(store: MetricsStore) -> None:
    """An empty store gives a valid page whose sections say there is no data yet."""
    page = read(render_report(store, now=NOW))
    for section in ("engagement", "top-posts", "followers", "best-times", "totals", "raw"):
        assert "no " in page.section_text(section).lower(), section
        assert "svg" not in [t for t, _ in page.sections[section]], section


def test_campaign_filter(demo: MetricsStore) -> None:
    """A campaign report shows that campaign's posts only, and their accounts' followers."""
    page = read(render_report(demo, campaign="spring-launch", now=NOW))
    wanted = {s.post_id for s in demo.latest(campaign="spring-launch")}
    others = {s.post_id for s in demo.latest()} - wanted
    raw = page.section_text("raw")
    assert all(post in raw for post in wanted if post)
    assert not any(post in raw for post in others if post)
    assert "By campaign" not in page.section_text("totals")


def test_since_filter_and_bad_since(demo: MetricsStore) -> None:
    """since narrows the report and is shown; a bad since is a ConfigurationError."""
    document = render_report(demo, since="2026-03-20", now=NOW)
    assert '<span class="pill">since: 2026-03-20</span>' in document
    late = read(document)
    kept = {s.post_id for s in demo.latest(since="2026-03-20")}
    dropped = {s.post_id for s in demo.latest()} - kept
    assert dropped and kept
    assert not any(post in late.section_text("raw") for post in dropped if post)
    with pytest.raises(ConfigurationError):
        render_report(demo, since="soon")


def test_write_report_creates_the_file(demo: MetricsStore, tmp_path: Path) -> None:
    """write_report() writes one UTF-8 HTML file, creating folders, and returns its path."""
    out = write_report(demo, tmp_path / "deep" / "report.html", title="Weekly")
    assert out == tmp_path / "deep" / "report.html"
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "<title>Weekly</title>" in text
