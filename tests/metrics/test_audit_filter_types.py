"""A filter of the wrong type (``post_id=1``, ``campaign=["a"]``, ``metric=5``) is refused
with a `ConfigurationError` naming the keyword, on every backend alike: SQLite matched
``post_id=1`` to the post ``"1"`` while PostgreSQL failed with ``operator does not exist``
(as a `BrandkitError`, which reads as a database failure), and a list raised sqlite3's own
``ProgrammingError`` on one and matched nothing on the other."""

from __future__ import annotations

from typing import Any

import pytest

from brandkit.errors import ConfigurationError
from brandkit.metrics import MetricsStore
from tests.metrics._data import small_samples

BAD: list[tuple[str, Any]] = [
    ("platform", 5),
    ("account", b"x:brand"),
    ("post_id", 1),
    ("campaign", ["spring"]),
    ("metric", 5),
    ("metric", [1]),
    ("metric", ["likes", None]),
]


@pytest.mark.parametrize(("name", "value"), BAD, ids=[f"{n}={v!r}" for n, v in BAD])
def test_a_filter_of_the_wrong_type_is_a_configuration_error(
    store: MetricsStore, name: str, value: Any
) -> None:
    store.add(small_samples())
    with pytest.raises(ConfigurationError, match=name):
        store.latest(**{name: value})
    with pytest.raises(ConfigurationError, match=name):
        store.count(**{name: value})


def test_the_series_metric_argument_is_checked_too(store: MetricsStore) -> None:
    with pytest.raises(ConfigurationError, match="metric"):
        store.series(5)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["spring\x00", "spring\ud800"], ids=["nul", "surrogate"])
def test_a_filter_no_store_can_hold_is_a_configuration_error(store: MetricsStore, bad: str) -> None:
    """PostgreSQL refused a NUL (as a `BrandkitError`), SQLite raised ``UnicodeEncodeError``
    on a lone surrogate: no stored text holds either, so the filter is refused alike."""
    store.add(small_samples())
    with pytest.raises(ConfigurationError, match="campaign"):
        store.latest(campaign=bad)
