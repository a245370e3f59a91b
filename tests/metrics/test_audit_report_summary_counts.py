"""The report's summary said "1 platforms" and "1 accounts", and counted the platforms of
the posts only while its account count took in the accounts with follower counts alone:
one X post and a Mastodon account's followers read "2 accounts, 1 platforms". The
platforms are now those of the accounts counted, and each figure is singular or plural as
it should be."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from brandkit.metrics import MetricSample, MetricsStore, render_report

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
NOW = datetime(2026, 3, 30, tzinfo=UTC)


def _cards(store: MetricsStore) -> dict[str, tuple[str, str]]:
    page = render_report(store, now=NOW)
    summary = page.split('id="summary"', 1)[1].split("</section>", 1)[0]
    found = re.findall(
        r'<div class="label">([^<]*)</div><div class="value">([^<]*)</div>'
        r'(?:<div class="sub">([^<]*)</div>)?',
        summary,
    )
    return {label: (value, sub) for label, value, sub in found}


def _post(platform: str, account: str, post_id: str, likes: int) -> MetricSample:
    return MetricSample(
        platform=platform,
        account=account,
        metric="likes",
        value=likes,
        fetched_at=T0,
        post_id=post_id,
        posted_at=T0 - timedelta(hours=1),
    )


def _followers(platform: str, account: str, count: int, hours: int) -> MetricSample:
    return MetricSample(
        platform=platform,
        account=account,
        metric="followers",
        value=count,
        fetched_at=T0 + timedelta(hours=hours),
    )


def test_one_of_each_is_singular(store: MetricsStore) -> None:
    store.add([_post("x", "x:brand", "1", 5)])
    cards = _cards(store)
    assert cards["Posts"] == ("1", "1 sample")
    assert cards["Accounts"] == ("1", "1 platform")


def test_follower_only_accounts_count_their_platform(store: MetricsStore) -> None:
    store.add(
        [
            _post("x", "x:brand", "1", 5),
            _post("x", "x:brand", "2", 7),
            _followers("mastodon", "mastodon:brand", 100, 0),
            _followers("mastodon", "mastodon:brand", 110, 5),
        ]
    )
    cards = _cards(store)
    assert cards["Accounts"] == ("2", "2 platforms")
    assert cards["Follower change"] == ("+10", "1 account")
    assert cards["Posts"] == ("2", "4 samples")
