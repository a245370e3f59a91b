"""Quantiles shared by the inbox's response times and the metrics report."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["percentile"]


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0.5: the median) of ``values`` by linear interpolation between
    the closest ranks.

    Raises:
        IndexError: ``values`` is empty.
    """
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)
