"""Metrics: canonical samples, collection, a time-series store, queries and reports."""

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
    "TimeSlot",
    "Total",
    "UnavailableMetric",
    "read_csv",
    "render_report",
    "write_report",
]
