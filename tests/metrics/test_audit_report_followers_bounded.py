"""The follower section stays bounded however many accounts the store follows, as the other
tables do (`TABLE_ROWS`): 3,000 accounts with 60 daily counts each made a report of 27 MB,
a chart of 3,000 lines, a legend and a table of 3,000 rows."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from brandkit.metrics import MetricSample, MetricsStore, render_report
from brandkit.metrics._report import TABLE_ROWS
from tests.metrics._data import at

NOW = datetime(2026, 3, 30, tzinfo=UTC)
ACCOUNTS = TABLE_ROWS + 30


def _section(page: str) -> str:
    found = re.search(r'<section class="panel" id="followers">(.*?)</section>', page, re.S)
    assert found is not None
    return found.group(1)


def test_many_accounts_show_the_largest_and_say_how_many_more(store: MetricsStore) -> None:
    store.add(
        MetricSample(
            platform="x",
            account=f"x:acct{n:04d}",
            metric="followers",
            value=1000 + n + day,
            fetched_at=at(0) + timedelta(days=day),
        )
        for n in range(ACCOUNTS)
        for day in range(3)
    )
    section = _section(render_report(store, now=NOW))
    rows = re.findall(r'<tr><td class="text">x</td><td class="text">(x:acct\d+)</td>', section)
    # The accounts with the most followers, the smallest left out and counted.
    assert sorted(rows) == [f"x:acct{n:04d}" for n in range(30, ACCOUNTS)]
    assert section.count("<li>") <= TABLE_ROWS
    assert section.count("<polyline") <= TABLE_ROWS
    assert f"{ACCOUNTS - TABLE_ROWS:,} more" in section
    assert "store.follower_growth()" in section


def test_a_few_accounts_are_all_shown(store: MetricsStore) -> None:
    store.add(
        MetricSample(platform="x", account=f"x:a{n}", metric="followers", value=n, fetched_at=at(1))
        for n in range(3)
    )
    section = _section(render_report(store, now=NOW))
    assert all(f'<td class="text">x:a{n}</td>' in section for n in range(3))
    assert "more" not in section
