"""Metrics: canonical samples, collection, a time-series store, queries and reports."""

from brandkit.metrics._sample import METRICS, Metric, MetricSample

__all__ = ["METRICS", "Metric", "MetricSample"]
