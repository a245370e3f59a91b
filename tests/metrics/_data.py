"""Deterministic, realistic metric samples for the report and query tests."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta

import attrs

from brandkit.metrics import Metric, MetricSample

NOW = datetime(2026, 3, 29, 18, 0, tzinfo=UTC)
START = datetime(2026, 3, 1, tzinfo=UTC)
AWKWARD_CAMPAIGN = "<script>alert(\"x\")</script> & 'Q2'"

# platform -> (accounts, metrics it gives, a scale of its audience)
_PLATFORMS: dict[str, tuple[tuple[str, ...], tuple[str, ...], float]] = {
    "x": (
        ("x:brand", "x:support"),
        ("impressions", "likes", "reposts", "replies", "quotes", "bookmarks"),
        1.0,
    ),
    "bluesky": (("bluesky:brand.bsky.social",), ("likes", "reposts", "replies", "quotes"), 0.6),
    "mastodon": (("mastodon:brand@mastodon.social",), ("likes", "reposts", "replies"), 0.4),
    "linkedin": (("linkedin:brand",), ("impressions", "likes", "replies", "reposts"), 0.8),
    "instagram": (
        ("instagram:brand",),
        ("impressions", "reach", "likes", "replies", "shares"),
        1.2,
    ),
}
_AGES = (
    timedelta(hours=1),
    timedelta(hours=6),
    timedelta(days=1),
    timedelta(days=3),
    timedelta(days=7),
)


def demo_samples(seed: int = 7) -> list[MetricSample]:
    """About forty posts on five platforms over four weeks, collected at five ages each,
    daily follower counts, and Instagram impressions retired half-way."""
    rnd = random.Random(seed)
    out: list[MetricSample] = []
    campaigns = ("spring-launch", AWKWARD_CAMPAIGN, None)
    n = 0
    for platform, (accounts, metrics, scale) in _PLATFORMS.items():
        for account in accounts:
            followers = rnd.randint(800, 5000) * scale
            day = START
            while day <= NOW:
                followers += rnd.randint(-5, 40) * scale
                out.append(
                    MetricSample(
                        platform=platform,
                        account=account,
                        metric=Metric.FOLLOWERS,
                        value=round(followers),
                        fetched_at=day,
                        raw_name="followers_count",
                    )
                )
                day += timedelta(days=1)
            for _ in range(8 if platform != "x" else 5):
                n += 1
                posted = START + timedelta(
                    days=rnd.randint(0, 20), hours=rnd.choice((8, 9, 12, 13, 17, 18, 20))
                )
                # Tuesdays and Thursdays mornings do better, to give the heatmap a shape.
                boost = 2.5 if posted.weekday() in (1, 3) and posted.hour < 13 else 1.0
                reach = rnd.randint(300, 3000) * scale * boost
                post_id = f"{platform[:2]}{n:04d}" if platform != "x" else f"18{n:015d}"
                campaign = campaigns[n % 3]
                for age in _AGES:
                    fetched = posted + age
                    if fetched > NOW:
                        break
                    grown = 1 - math.exp(-age / timedelta(hours=18))
                    for metric in metrics:
                        if (
                            platform == "instagram"
                            and metric == "impressions"
                            and fetched > START + timedelta(days=14)
                        ):
                            out.append(
                                MetricSample.unavailable(
                                    platform=platform,
                                    account=account,
                                    post_id=post_id,
                                    metric=metric,
                                    raw_name="impressions",
                                    reason="retired by Meta in Graph API v22; use views",
                                    fetched_at=fetched,
                                )
                            )
                            continue
                        share = {
                            "impressions": 1.0,
                            "reach": 0.7,
                            "likes": 0.04,
                            "reposts": 0.008,
                            "replies": 0.005,
                            "quotes": 0.002,
                            "bookmarks": 0.003,
                            "shares": 0.006,
                        }[metric]
                        value = round(reach * share * grown * rnd.uniform(0.9, 1.1))
                        out.append(
                            MetricSample(
                                platform=platform,
                                account=account,
                                post_id=post_id,
                                metric=metric,
                                value=value,
                                fetched_at=fetched,
                                raw_name=metric,
                                campaign=campaign,
                                delivery_id=f"d-{post_id}",
                                posted_at=posted,
                            )
                        )
    return out


# A small data set whose query results are worked out by hand in the tests.
T0 = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday


def at(hours: float) -> datetime:
    """``T0`` plus some hours."""
    return T0 + timedelta(hours=hours)


def _post(
    platform: str,
    account: str,
    post_id: str,
    hours: float,
    campaign: str | None,
    posted: datetime,
    **values: float,
) -> list[MetricSample]:
    return [
        MetricSample(
            platform=platform,
            account=account,
            post_id=post_id,
            metric=metric,
            value=value,
            fetched_at=at(hours),
            raw_name=f"{metric}_count",
            campaign=campaign,
            delivery_id=f"d-{post_id}",
            posted_at=posted,
        )
        for metric, value in values.items()
    ]


def small_samples() -> list[MetricSample]:
    """Two X posts and one Bluesky post, read twice each, and follower counts.

    x/1 (campaign "launch", posted Mon 09:00): +10h likes 10 reposts 2 replies 1 impr. 200;
        +34h likes 30 reposts 5 replies 3 quotes 2 impr. 1000.
    x/2 (no campaign, posted Tue 15:00): +40h likes 4, +60h likes 8; impressions
        unavailable at both readings.
    bluesky/b1 ("launch", posted Mon 09:30): +12h likes 5 reposts 1 replies 0 quotes 0;
        +36h likes 9 reposts 1 replies 2 quotes 0.
    followers: x:brand 1000 (+0h), 1010 (+24h), 1030 (+48h); bluesky:b 200 (+6h), 220 (+30h).
    """
    x1 = at(9)
    x2 = at(24 + 15)
    b1 = at(9.5)
    out = [
        *_post(
            "x", "x:brand", "1", 10, "launch", x1, likes=10, reposts=2, replies=1, impressions=200
        ),
        *_post(
            "x",
            "x:brand",
            "1",
            34,
            "launch",
            x1,
            likes=30,
            reposts=5,
            replies=3,
            quotes=2,
            impressions=1000,
        ),
        *_post("x", "x:brand", "2", 40, None, x2, likes=4),
        *_post("x", "x:brand", "2", 60, None, x2, likes=8),
        *_post(
            "bluesky", "bluesky:b", "b1", 12, "launch", b1, likes=5, reposts=1, replies=0, quotes=0
        ),
        *_post(
            "bluesky", "bluesky:b", "b1", 36, "launch", b1, likes=9, reposts=1, replies=2, quotes=0
        ),
    ]
    for hours in (40, 60):
        gone = MetricSample.unavailable(
            platform="x",
            account="x:brand",
            post_id="2",
            metric="impressions",
            raw_name="impression_count",
            reason="needs elevated access",
            fetched_at=at(hours),
        )
        # Stamped as the collector stamps every sample of a post.
        out.append(attrs.evolve(gone, delivery_id="d-2", posted_at=x2))
    for account, platform, readings in (
        ("x:brand", "x", ((0, 1000), (24, 1010), (48, 1030))),
        ("bluesky:b", "bluesky", ((6, 200), (30, 220))),
    ):
        for hours, value in readings:
            out.append(
                MetricSample(
                    platform=platform,
                    account=account,
                    metric="followers",
                    value=value,
                    fetched_at=at(hours),
                    raw_name="followers_count",
                )
            )
    return out
