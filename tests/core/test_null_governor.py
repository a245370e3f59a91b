"""NullGovernor honours a 429's Retry-After in seconds, and only a finite one."""

from __future__ import annotations

import httpx
import pytest

from brandkit._hooks import BucketKey, NullGovernor

KEY = BucketKey("x", "app", "acct", "post")


@pytest.mark.parametrize(
    ("status", "said", "wait"),
    [
        (429, "7", 7.0),
        (429, "-3", 0.0),
        (429, "inf", None),  # was inf: the request waited for ever (or the run gave up)
        (429, "nan", None),
        (429, "soon", None),
        (200, "7", None),
    ],
)
def test_observe_reads_a_finite_retry_after_of_a_429(
    status: int, said: str, wait: float | None
) -> None:
    response = httpx.Response(status, headers={"retry-after": said})
    assert NullGovernor().observe(KEY, response) == wait
