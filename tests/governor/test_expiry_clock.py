"""A Redis state's expiry is reckoned on the clock its times are written in.

The governor stamps a Redis state with the server's clock (`RedisState.clock`), but the key's
TTL was reckoned from the host's own clock: on a host two hours ahead, a three-hour
``Retry-After`` was kept for 71 minutes, and every host sent into the platform's hold once
it was gone. (PostgreSQL stores an absolute ``expires_at`` in the entries' own clock.)
"""

from __future__ import annotations

import time
import types
from collections.abc import Iterator

import httpx
import pytest

from brandkit.governor import Governor, RedisState, _redis
from tests.governor._sqlite_worker import KEY, POLICIES
from tests.servers._servers import redis_url, unique_prefix  # noqa: F401 - fixture

AHEAD = 7200.0
HOLD = 10800.0  # longer than the declared window (an hour), whose slot lives as long
SCOPE = f"{KEY.platform}|{KEY.app}|{KEY.account}|{KEY.bucket}"


def _ahead(monkeypatch: pytest.MonkeyPatch, module: types.ModuleType) -> None:
    """The host's wall clock, as the store module reads it, is two hours ahead."""
    fake = types.SimpleNamespace(
        time=lambda: time.time() + AHEAD, sleep=time.sleep, monotonic=time.monotonic
    )
    monkeypatch.setattr(module, "time", fake)


def _hold(state: RedisState) -> None:
    gov = Governor(state)
    assert gov.acquire(KEY, 1, POLICIES) == 0.0
    wait = gov.observe(KEY, httpx.Response(429, headers={"Retry-After": str(int(HOLD))}))
    assert wait == HOLD


@pytest.fixture
def redis_state(redis_url: str) -> Iterator[RedisState]:  # noqa: F811 - the fixture imported above
    state = RedisState(redis_url, prefix=unique_prefix())
    yield state
    state.close()


def test_redis_keeps_a_hold_written_on_a_host_ahead(
    redis_state: RedisState, monkeypatch: pytest.MonkeyPatch
) -> None:
    _ahead(monkeypatch, _redis)
    _hold(redis_state)
    ttl = redis_state.ttl(SCOPE)
    assert ttl is not None and ttl > HOLD
