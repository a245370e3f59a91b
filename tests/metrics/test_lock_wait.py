"""The metrics store's ``timeout`` (how long it waits for another process's lock) is checked
like the outbox's and the inbox's, and a PostgreSQL store given 0 does not wait for ever."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from brandkit.errors import ConfigurationError
from brandkit.metrics import MetricsStore


@pytest.mark.parametrize("timeout", [math.nan, math.inf, -1.0, "10", True, 8 * 86_400])
def test_a_timeout_that_is_no_wait_is_refused(tmp_path: Path, timeout: object) -> None:
    """NaN reached SQLite as int(nan) (a raw ValueError), infinity as an OverflowError, text
    as a TypeError: each is refused up front, naming the setting and its range; the file is
    not created."""
    with pytest.raises(ConfigurationError, match="timeout must be a number of seconds from 0"):
        MetricsStore(tmp_path / "m.db", timeout=timeout)  # type: ignore[arg-type]
    assert not (tmp_path / "m.db").exists()


def test_a_postgresql_store_given_no_wait_waits_a_millisecond(postgres_db: str) -> None:
    """PostgreSQL reads lock_timeout 0 as "no limit": timeout=0 made every write wait for
    ever on a row another process held. Every store sets at least 1 ms."""
    with MetricsStore(postgres_db, timeout=0) as store:
        conn = store._connect()  # type: ignore[attr-defined]
        try:
            (value,) = conn.execute("SHOW lock_timeout").fetchone()
        finally:
            conn.close()
    assert value == "1ms"
