"""A report of a period (or a campaign) without data said "No data yet" in every section
and "no data yet" in its header, on a store full of samples: as if nothing had ever been
collected, when only that week (or that campaign) had nothing. Each empty section now says
what was asked; "yet" stays for a report of everything from an empty store."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from brandkit.metrics import MetricsStore, render_report
from tests.metrics._html import read

NOW = datetime(2026, 3, 30, tzinfo=UTC)
SECTIONS = ("engagement", "top-posts", "followers", "best-times", "totals", "raw")


def _header(page: str) -> str:
    found = re.search(r'<p class="meta">([^<]*)</p>', page)
    assert found is not None
    return found.group(1)


@pytest.mark.parametrize(
    ("where", "said"),
    [
        ({"since": "2030-01-01"}, "in this period"),
        ({"until": "2000-01-01"}, "in this period"),
        ({"campaign": "nowhere"}, "for this campaign"),
        ({"campaign": "nowhere", "since": "2030-01-01"}, "for this campaign in this period"),
    ],
)
def test_an_empty_period_or_campaign_says_so(
    small: MetricsStore, where: dict[str, str], said: str
) -> None:
    assert small.count() > 0
    raw = render_report(small, now=NOW, **where)  # type: ignore[arg-type]
    page = read(raw)
    for section in SECTIONS:
        text = page.section_text(section)
        assert "yet" not in text, (section, text)
        assert said in text, (section, text)
    assert _header(raw).startswith(f"no data {said} ·")


def test_an_empty_store_still_says_no_data_yet(store: MetricsStore) -> None:
    raw = render_report(store, now=NOW)
    page = read(raw)
    for section in SECTIONS:
        assert "yet" in page.section_text(section), section
    assert _header(raw).startswith("no data yet ·")
