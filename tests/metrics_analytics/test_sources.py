"""What the analytics copy can be made from: an SQLite store's file, nothing else."""

from __future__ import annotations

import pytest

from brandkit.errors import ConfigurationError
from brandkit.metrics import Analytics

pytest.importorskip("duckdb")


@pytest.mark.parametrize(
    "url", ["postgresql://app:s3cret@127.0.0.1:1/metrics", "postgres://app:s3cret@db/metrics"]
)
def test_a_postgresql_store_is_refused_with_what_to_do(url: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Analytics(url)
    message = str(caught.value)
    assert "PostgreSQL store answers its queries itself" in message
    assert "s3cret" not in message


class _PostgresLike:
    """What `Analytics` sees of an open PostgreSQL store: its redacted URL as ``path``."""

    path = "postgresql://app:***@127.0.0.1/metrics"


def test_an_open_postgresql_store_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from brandkit.metrics import _duck

    monkeypatch.setattr(_duck, "MetricsQueries", _PostgresLike)
    with pytest.raises(ConfigurationError, match="copies an SQLite metrics store"):
        Analytics(_PostgresLike())  # type: ignore[arg-type]


def test_a_memory_store_is_still_refused() -> None:
    with pytest.raises(ConfigurationError, match="not ':memory:'"):
        Analytics(":memory:")
