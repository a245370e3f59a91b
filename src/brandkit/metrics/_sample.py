"""One metric value at one moment: the unit of brandkit's analytics."""

from __future__ import annotations

import enum
import math
import numbers
import re
from datetime import UTC, datetime
from typing import Any

import attrs

from brandkit._counts import MAX_VALUE
from brandkit.errors import ConfigurationError

__all__ = ["MAX_VALUE", "METRICS", "Metric", "MetricSample"]


class Metric(enum.StrEnum):
    """Canonical metric names; each platform's own name is kept beside the value."""

    IMPRESSIONS = "impressions"
    REACH = "reach"
    LIKES = "likes"
    REPOSTS = "reposts"
    REPLIES = "replies"
    QUOTES = "quotes"
    BOOKMARKS = "bookmarks"
    LINK_CLICKS = "link_clicks"
    PROFILE_CLICKS = "profile_clicks"
    VIDEO_VIEWS = "video_views"
    SHARES = "shares"
    FOLLOWERS = "followers"


METRICS: tuple[str, ...] = tuple(m.value for m in Metric)


def _is_metric_value(value: object) -> bool:
    # Plain int and float first, without the numbers ABCs: a collect builds thousands of
    # samples, and the ABC checks cost more than building the sample (NaN fails both
    # comparisons; an infinity fails the upper one).
    if type(value) is int or type(value) is float:
        return 0 <= value <= MAX_VALUE
    # bool is an int to Python, but True likes is a caller's mistake, not a count.
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return False
    if isinstance(value, numbers.Integral):
        # Compared as an integer: 10**400 is past every float.
        return 0 <= int(value) <= MAX_VALUE
    try:
        number = float(value)
    except OverflowError:
        return False
    return math.isfinite(number) and 0 <= number <= MAX_VALUE


def _check_value(sample: MetricSample, attribute: attrs.Attribute[Any], value: Any) -> None:
    """Refuse what no metric can be, naming the metric and the value.

    Raises:
        ConfigurationError: ``value`` is not ``None`` nor a finite number in 0..`MAX_VALUE`.
    """
    if value is None or _is_metric_value(value):
        return
    shown = repr(value)
    if len(shown) > 60:
        shown = f"{shown[:57]}..."
    raise ConfigurationError(
        f"metric {str(sample.metric)!r} of {sample.account} got value {shown}: a metric "
        f"value is a finite number from 0 to {MAX_VALUE} (2**53), or None when unavailable"
    )


def _utc(value: datetime) -> datetime:
    if not isinstance(value, datetime):
        # ISO text from an import, a date or epoch seconds failed inside attrs with an
        # AttributeError ('str' object has no attribute 'tzinfo').
        raise ConfigurationError(
            f"MetricSample fetched_at must be an aware datetime; got "
            f"{type(value).__name__} {value!r:.100}"
        )
    if value.tzinfo is None:
        raise _NaiveTime("fetched_at")
    return value.astimezone(UTC)


def _utc_or_none(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise ConfigurationError(
            f"MetricSample posted_at must be a datetime or None; got "
            f"{type(value).__name__} {value!r:.100}"
        )
    if value.tzinfo is None:
        # Taken as UTC, a local time (datetime.now()) put the post hours off in the store
        # and its best-times slot, where the same naive fetched_at was refused.
        raise _NaiveTime("posted_at")
    return value.astimezone(UTC)


class _NaiveTime(ConfigurationError, ValueError):
    """A sample's time without a time zone: a ConfigurationError as every other field's,
    and the ValueError a naive ``fetched_at`` always raised."""

    def __init__(self, field: str) -> None:
        super().__init__(
            f"MetricSample {field} must be timezone-aware: give it a time zone, such as "
            f"tzinfo=UTC (datetime(..., tzinfo=UTC), or .replace(tzinfo=UTC) if it is UTC)"
        )


# A sample's names: the first three always text, the others text or None.
_NAMES = frozenset({"platform", "account", "metric"})
# The platform's words about a metric, rather than names that identify a series.
_PROSE = frozenset({"reason", "raw_name"})
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
"""What no backend keeps in text: a NUL (PostgreSQL refuses it) or a lone surrogate (no
UTF-8 encodes one)."""
_TEXT_FIELDS = (
    "platform",
    "account",
    "metric",
    "post_id",
    "raw_name",
    "reason",
    "delivery_id",
    "campaign",
)


@attrs.frozen
class MetricSample:
    """A metric of a post (or of an account, when ``post_id`` is ``None``) at ``fetched_at``.

    Raises:
        ConfigurationError: ``value`` is negative, NaN, infinite, past `MAX_VALUE`, a
            boolean or not a number; the message names the metric and the value. Or a
            name is not text (``platform``, ``account`` and ``metric``; ``post_id``,
            ``raw_name``, ``reason``, ``delivery_id`` and ``campaign`` when given), or
            ``posted_at`` or ``fetched_at`` is not a datetime, or ``available`` is no
            truth value (``True``, ``False``, 0 or 1).
            A naive ``fetched_at`` or ``posted_at`` (no time zone) raises one too, which is
            also a ``ValueError``.

    Attributes:
        platform: the platform's name.
        account: the account's key (``platform:name``).
        metric: the canonical name (see [`Metric`][brandkit.metrics.Metric]).
        value: the number (finite, from 0 to `MAX_VALUE`: every metric is a count), or
            ``None`` when unavailable; another real number type (numpy's, a Fraction) is
            kept as an ``int`` (an integral one) or a ``float``.
        fetched_at: when brandkit read it (aware UTC); repeated samples form a time series.
        post_id: the platform's id of the post; ``None`` for account metrics.
        raw_name: the platform's own name for the metric (``"favourites_count"``, ...).
        available: ``False`` when the platform does not offer the metric or has retired it.
        reason: why it is unavailable.
        delivery_id: brandkit's delivery the post came from, when known.
        campaign: the post's campaign, when known.
        posted_at: when the post was published, when known (aware; kept in UTC).
    """

    platform: str
    account: str
    metric: str
    value: float | None = attrs.field(validator=_check_value)
    fetched_at: datetime = attrs.field(converter=_utc)
    post_id: str | None = None
    raw_name: str | None = None
    available: bool = True
    reason: str | None = None
    delivery_id: str | None = None
    campaign: str | None = None
    posted_at: datetime | None = attrs.field(default=None, converter=_utc_or_none)

    def __attrs_post_init__(self) -> None:
        available = self.available
        if type(available) is not bool:
            kind = type(available)
            # 0 and 1, and numpy's bool (a DataFrame row's), are truth values; "false" was
            # truthy, and stored an unavailable sample as available, its reason unlisted.
            if (kind is int and available in (0, 1)) or (
                kind.__module__ == "numpy" and kind.__name__ in ("bool", "bool_")
            ):
                object.__setattr__(self, "available", bool(available))
            else:
                raise ConfigurationError(
                    f"MetricSample available must be True or False; got {kind.__name__} "
                    f"{available!r:.100}"
                )
        value = self.value
        if value is not None and type(value) is not int and type(value) is not float:
            # A count of another type (numpy's, from a DataFrame row; a Fraction), checked
            # by _check_value: SQLite bound numpy's integers as bytes and refused a Fraction.
            number = int(value) if isinstance(value, numbers.Integral) else float(value)
            object.__setattr__(self, "value", number)
        # Checked here, where an adapter makes the sample: the engines would each store or
        # refuse another type their own way (SQLite keeps post_id=123 as "123",
        # PostgreSQL refuses it), and a missing name failed the whole add as a database
        # error.
        for name in _TEXT_FIELDS:
            value = getattr(self, name)
            if not isinstance(value, str):
                if value is None and name not in _NAMES:
                    continue
                raise ConfigurationError(
                    f"MetricSample {name} must be text{'' if name in _NAMES else ' or None'}; "
                    f"got {type(value).__name__} {value!r:.100}"
                )
            if value.isascii() and "\x00" not in value:
                continue  # the common case, checked without a regular expression
            if UNSTORABLE.search(value) is None:
                continue
            if name in _PROSE:
                # A platform's own words: kept, minus what no backend can hold (PostgreSQL
                # refuses NUL in text, no UTF-8 encodes a lone surrogate).
                object.__setattr__(self, name, UNSTORABLE.sub("\ufffd", value))
                continue
            raise ConfigurationError(
                f"MetricSample {name} {value!r:.100} holds a NUL or a lone surrogate, which "
                "no store can keep as text"
            )

    @classmethod
    def unavailable(
        cls,
        *,
        platform: str,
        account: str,
        metric: str,
        reason: str,
        fetched_at: datetime | None = None,
        post_id: str | None = None,
        raw_name: str | None = None,
    ) -> MetricSample:
        """A metric the platform does not offer (or has retired), with the reason."""
        return cls(
            platform=platform,
            account=account,
            metric=metric,
            value=None,
            fetched_at=fetched_at or datetime.now(UTC),
            post_id=post_id,
            raw_name=raw_name,
            available=False,
            reason=reason,
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain data (times as ISO 8601)."""
        data = attrs.asdict(self)
        data["fetched_at"] = self.fetched_at.isoformat()
        data["posted_at"] = self.posted_at.isoformat() if self.posted_at else None
        return data
