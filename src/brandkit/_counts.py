"""The bound of a metric value, and the answer field type adapters read counts with: one
module without dependencies, so that a blog-only process can bound its counts without
loading the metrics package."""

from __future__ import annotations

from typing import Annotated

import pydantic

__all__ = ["MAX_VALUE", "MetricCount"]

MAX_VALUE = 2**53
"""The largest metric value brandkit keeps: every count up to it is exact in a float (so
SQLite's REAL, PostgreSQL's double precision and DuckDB agree on it), and no platform counts
anywhere near it. Adapters refuse an answer past it as malformed."""

MetricCount = Annotated[int, pydantic.Strict(), pydantic.Field(ge=0, le=MAX_VALUE)]
"""A count in a platform's answer that becomes a metric: a JSON integer, never negative,
never past `MAX_VALUE`; an answer with another number is malformed, not a metric."""
