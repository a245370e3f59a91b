"""A few thousand samples with the edge cases a second database engine could get wrong."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone

from brandkit.metrics import MetricSample

START = datetime(2026, 1, 1, tzinfo=UTC)
# Text that CSV, SQL quoting or NULL handling could mangle; "" must stay apart from None.
AWKWARD = ('He said "go", then left\nnew line', "", "naïve, 日本語 ✓", "\\N", "NULL", None)
_PLATFORMS = {
    "x": ("x:brand", "x:support"),
    "bluesky": ("bluesky:brand.bsky.social",),
    "mastodon": ("mastodon:brand@mastodon.social", "mastodon:b2@fosstodon.org"),
    "instagram": ("instagram:brand",),
}
_METRICS = ("impressions", "likes", "reposts", "replies", "shares", "bookmarks")
# Posting times given in several zones (stored as UTC; best_times reads them back in others).
_ZONES = (UTC, timezone(timedelta(hours=9)), timezone(timedelta(hours=-5, minutes=-30)))


def edge_samples(seed: int = 11, posts: int = 60) -> list[MetricSample]:
    """Posts on four platforms read six times each, follower counts, unavailable metrics,
    values that are None while available, fractional values (exact in binary, so that
    sums do not depend on their order), microsecond times, and one reading before 1970."""
    rnd = random.Random(seed)
    accounts = [(p, a) for p, names in _PLATFORMS.items() for a in names]
    out: list[MetricSample] = []
    for n in range(posts):
        platform, account = accounts[n % len(accounts)]
        zone = _ZONES[n % len(_ZONES)]
        posted = (START + timedelta(hours=rnd.randrange(0, 24 * 30), minutes=n)).astimezone(zone)
        campaign = AWKWARD[n % len(AWKWARD)]
        for reading in range(6):
            fetched = posted + timedelta(hours=reading * 7, microseconds=rnd.randrange(10**6))
            for metric in _METRICS:
                if platform == "instagram" and metric == "impressions" and reading >= 3:
                    out.append(
                        MetricSample.unavailable(
                            platform=platform,
                            account=account,
                            post_id=f"p{n}",
                            metric=metric,
                            raw_name=AWKWARD[reading % len(AWKWARD)],
                            reason=f'retired, "v22"\n{reading % 2}',
                            fetched_at=fetched,
                        )
                    )
                    continue
                if platform == "bluesky" and metric == "impressions":
                    continue  # a metric the platform never gives
                value: float | None = rnd.randrange(0, 400) + rnd.choice((0, 0.5, 0.25))
                if rnd.random() < 0.03:
                    value = None  # available but empty: left out of every sum
                out.append(
                    MetricSample(
                        platform=platform,
                        account=account,
                        post_id=f"p{n}",
                        metric=metric,
                        value=value,
                        fetched_at=fetched,
                        raw_name=AWKWARD[(n + reading) % len(AWKWARD)],
                        delivery_id=None if n % 5 == 0 else f"d{n}",
                        campaign=campaign,
                        posted_at=None if n % 9 == 0 else posted,
                    )
                )
    for platform, account in accounts:
        followers = rnd.randint(100, 5000)
        for day in range(40):
            followers += rnd.randint(-20, 50)
            out.append(
                MetricSample(
                    platform=platform,
                    account=account,
                    metric="followers",
                    value=followers,
                    fetched_at=START + timedelta(days=day, hours=rnd.randrange(24)),
                    raw_name="followers_count",
                )
            )
    # Before the epoch: negative microseconds, whose time buckets truncate toward zero.
    out.append(
        MetricSample(
            platform="x",
            account="x:brand",
            post_id="old",
            metric="likes",
            value=3,
            fetched_at=datetime(1969, 12, 31, 23, 30, tzinfo=UTC),
            posted_at=datetime(1969, 12, 31, 20, 0, tzinfo=UTC),
        )
    )
    return out
