"""The typed rows that the store's queries return."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import attrs

from brandkit.metrics._sample import Metric

__all__ = [
    "ENGAGEMENT_METRICS",
    "FollowerGrowth",
    "Point",
    "PostEngagement",
    "TimeSlot",
    "Total",
    "UnavailableMetric",
]

ENGAGEMENT_METRICS: tuple[str, ...] = (
    Metric.LIKES.value,
    Metric.REPOSTS.value,
    Metric.REPLIES.value,
    Metric.QUOTES.value,
    Metric.BOOKMARKS.value,
    Metric.SHARES.value,
)
"""The metrics that add up to a post's engagements."""


@attrs.frozen
class Point:
    """One point of a time series.

    Attributes:
        at: the sample time, or the start of the interval when the series is bucketed.
        value: the sum, over every matching post (or account), of its latest available
            value at ``at`` (at the end of the interval when bucketed).
        sources: how many posts (or accounts, per metric) contribute to ``value``.
    """

    at: datetime
    value: float
    sources: int = 1


@attrs.frozen
class Total:
    """The sum of each post's latest value of one metric, for one group.

    Attributes:
        group: the platform, campaign or account (``None``: posts without a campaign).
        metric: the canonical metric name.
        value: the sum of the latest available values; ``None`` when no post has one.
        posts: how many posts contribute a value.
        unavailable: how many posts' latest sample says the metric is unavailable.
    """

    group: str | None
    metric: str
    value: float | None
    posts: int
    unavailable: int


@attrs.frozen
class PostEngagement:
    """One post's engagements and engagement rate.

    ``engagements`` is the sum of the latest available values of
    `ENGAGEMENT_METRICS`; ``rate`` is ``engagements / impressions`` when impressions
    are known and above zero, else ``engagements / followers`` (the account's followers when
    the engagement numbers were read), else ``None``.

    Attributes:
        platform, account, post_id, campaign, delivery_id: which post.
        posted_at: when it was published, if known.
        fetched_at: the time of its latest engagement sample.
        engagements: the sum, or ``None`` when none of the metrics is available.
        impressions: the latest available impressions, if any.
        followers: the account's followers at ``fetched_at``, if known.
        rate: the engagement rate (0.05 = 5 %), or ``None``.
        basis: ``"impressions"`` or ``"followers"``: what ``rate`` divides by.
    """

    platform: str
    account: str
    post_id: str
    campaign: str | None
    delivery_id: str | None
    posted_at: datetime | None
    fetched_at: datetime
    engagements: float | None
    impressions: float | None
    followers: float | None
    rate: float | None
    basis: Literal["impressions", "followers"] | None


@attrs.frozen
class FollowerGrowth:
    """An account's followers over a period.

    Attributes:
        platform, account: which account.
        first, last: the first and last available follower counts in the period.
        first_at, last_at: when they were read.
        delta: ``last - first``.
        points: every available follower count in the period, oldest first.
    """

    platform: str
    account: str
    first: float
    last: float
    first_at: datetime
    last_at: datetime
    points: tuple[Point, ...]

    @property
    def delta(self) -> float:
        """How many followers were gained (negative: lost)."""
        return self.last - self.first

    @property
    def growth(self) -> float | None:
        """``delta / first`` (0.1 = 10 %), or ``None`` when ``first`` is 0."""
        return self.delta / self.first if self.first else None


@attrs.frozen
class TimeSlot:
    """The posts published in one weekday × hour slot and how they did.

    Attributes:
        weekday: 0 = Monday … 6 = Sunday, in the time zone asked for.
        hour: 0–23, in the time zone asked for.
        posts: how many posts were published in the slot (with known engagements).
        mean_engagements: their mean engagements.
        mean_rate: the mean of their engagement rates, over the posts that have one.
    """

    weekday: int
    hour: int
    posts: int
    mean_engagements: float
    mean_rate: float | None


@attrs.frozen
class UnavailableMetric:
    """A metric that a platform did not give, with its reason.

    Attributes:
        platform: the platform.
        metric: the canonical name.
        raw_name: the platform's own name, if any.
        reason: why (as the adapter said).
        series: how many posts or accounts have this as their latest sample.
        last_seen: the latest such sample.
    """

    platform: str
    metric: str
    raw_name: str | None
    reason: str | None
    series: int
    last_seen: datetime
