"""Hosts sharing a Redis or PostgreSQL budget stamp it with one clock by default.

The governor writes times into the shared state (its own sends, resets moved onto its clock).
``Governor(RedisState(url))`` used the host's wall clock unless ``clock=state.clock`` was
also passed: a host whose clock was an hour behind logged its sends an hour in the past, and
every other host read the window as free again and spent it a second time.
"""

from __future__ import annotations

import time
import types
from collections.abc import Iterator

import pytest

from brandkit.governor import Governor, PostgresState, RedisState, _clock
from brandkit.platforms._base import RatePolicy
from tests.governor._sqlite_worker import KEY
from tests.servers._servers import (  # noqa: F401 - fixtures
    postgres_url,
    redis_url,
    schema_url,
    unique_prefix,
)

POLICIES = (RatePolicy("post", 30, 3600.0),)
BEHIND = 3700.0  # seconds: more than the window


@pytest.fixture(params=["redis", "postgres"])
def open_store(request: pytest.FixtureRequest) -> Iterator[object]:
    """Opens stores of one shared state (one per simulated host)."""
    opened: list[RedisState | PostgresState] = []
    if request.param == "redis":
        url = request.getfixturevalue("redis_url")
        prefix = unique_prefix()

        def open_() -> RedisState | PostgresState:
            opened.append(RedisState(url, prefix=prefix))
            return opened[-1]
    else:
        url = schema_url(request.getfixturevalue("postgres_url"))

        def open_() -> RedisState | PostgresState:
            opened.append(PostgresState(url))
            return opened[-1]

    yield open_
    for store in opened:
        store.close()


def test_a_host_whose_clock_is_behind_does_not_free_the_window_for_others(
    open_store: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Host A's wall clock is behind by more than the window; its governor is made then.
    late = types.SimpleNamespace(time=lambda: time.time() - BEHIND, monotonic=time.monotonic)
    monkeypatch.setattr(_clock, "time", late)
    host_a = Governor(open_store())  # type: ignore[operator]
    monkeypatch.undo()
    host_b = Governor(open_store())  # type: ignore[operator]

    assert sum(host_a.acquire(KEY, 1, POLICIES) == 0.0 for _ in range(30)) == 30
    assert host_b.acquire(KEY, 1, POLICIES) > 3000.0


def test_a_clock_passed_is_kept(open_store: object) -> None:
    def mine() -> float:
        return 1_800_000_000.0

    assert Governor(open_store(), clock=mine).clock is mine  # type: ignore[operator]
