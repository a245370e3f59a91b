"""Metrics: canonical samples, collection, a time-series store, queries and reports."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from brandkit.metrics._duck import Analytics
from brandkit.metrics._export import CSV_COLUMNS, read_csv
from brandkit.metrics._report import render_report, write_report
from brandkit.metrics._rows import (
    ENGAGEMENT_METRICS,
    FollowerGrowth,
    Point,
    PostEngagement,
    TimeSlot,
    Total,
    UnavailableMetric,
)
from brandkit.metrics._sample import METRICS, Metric, MetricSample
from brandkit.metrics._store import MetricsQueries, MetricsStore

if TYPE_CHECKING:
    from brandkit.metrics._postgres import PostgresMetricsStore

__all__ = [
    "CSV_COLUMNS",
    "ENGAGEMENT_METRICS",
    "METRICS",
    "Analytics",
    "FollowerGrowth",
    "Metric",
    "MetricSample",
    "MetricsQueries",
    "MetricsStore",
    "Point",
    "PostEngagement",
    "PostgresMetricsStore",
    "TimeSlot",
    "Total",
    "UnavailableMetric",
    "read_csv",
    "render_report",
    "write_report",
]


def __getattr__(name: str) -> Any:
    # The PostgreSQL store is imported on first use (its module imports psycopg if present).
    if name == "PostgresMetricsStore":
        from brandkit.metrics._postgres import PostgresMetricsStore

        return PostgresMetricsStore
    raise AttributeError(f"module 'brandkit.metrics' has no attribute {name!r}")
