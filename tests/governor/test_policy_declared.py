"""A `RatePolicy` that no window can keep is refused where the adapter declares it.

The governor refused such a policy only at the first acquire, so an adapter's bug (a limit of
0, a window of 0 or of NaN, a scope spelt ``"App"``) passed its import and its unit tests and
failed in the first run that sent a request. It is refused when it is made, saying what to
declare; the governor still refuses one that skipped the check.
"""

from __future__ import annotations

import pytest

from brandkit._hooks import BucketKey
from brandkit.errors import ConfigurationError
from brandkit.governor import Governor
from brandkit.platforms._base import RatePolicy
from tests.governor.conftest import FakeClock

YEAR = 366 * 86400.0


@pytest.mark.parametrize(
    ("limit", "window"),
    [
        (0, 60.0),
        (-1, 60.0),
        (1.5, 60.0),
        (10.0, 60.0),
        (True, 60.0),
        ("10", 60.0),
        (10, 0.0),
        (10, -60.0),
        (10, float("nan")),
        (10, float("inf")),
        (10, YEAR + 1),
        (10, True),
        (10, "60"),
        (10, None),
    ],
)
def test_a_limit_or_window_no_budget_can_keep_is_refused_when_declared(
    limit: object, window: object
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        RatePolicy("post", limit, window)  # type: ignore[arg-type]
    message = str(caught.value)
    assert "RatePolicy" in message and "'post'" in message
    assert "a limit of at least 1" in message and "at most a year" in message


@pytest.mark.parametrize("scope", ["App", "user", "", None])
def test_an_unknown_scope_is_refused_when_declared(scope: object) -> None:
    """Before: any scope but ``"app"`` was taken as per account, silently."""
    with pytest.raises(ConfigurationError, match="'account' or 'app'"):
        RatePolicy("post", 10, 60.0, scope=scope)  # type: ignore[arg-type]


@pytest.mark.parametrize("bucket", ["", None, 3])
def test_a_bucket_that_is_not_a_name_is_refused_when_declared(bucket: object) -> None:
    with pytest.raises(ConfigurationError, match="bucket"):
        RatePolicy(bucket, 10, 60.0)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("limit", "window", "scope"),
    [(1, 0.001, "account"), (150, 86_400.0, "account"), (4800, 86_400, "app"), (1, YEAR, "app")],
)
def test_a_policy_a_budget_can_keep_is_taken(
    clock: FakeClock, limit: int, window: float, scope: str
) -> None:
    policy = RatePolicy("post", limit, window, scope=scope)
    key = BucketKey("fake", "app", "fake:a1", "post")
    assert Governor(clock=clock).acquire(key, 1, (policy,)) == 0.0
