"""A store that runs an update's change more than once gets the same decisions.

`RedisState` applies a change to a snapshot and writes it only if no other process wrote
those scopes meanwhile; on a conflict it runs the change again on fresh entries (so may any
optimistic store). The governor's change also touched this process's own state: a success
took the account off its list of accounts backing off, so the run that counted found it
gone and left the backoff's strikes stored (the next requests were held back for a probe
again), and a refusal after a corrected reset widened the server clock's margin once per
run (0.15 s instead of 0.05 s after one conflict). Those effects now happen once, after the
update.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import TypeVar

import httpx
import pytest

from brandkit._hooks import BucketKey
from brandkit.governor import Entries, Governor, MemoryState
from tests.governor.conftest import T0, FakeClock

T = TypeVar("T")
KEY = BucketKey("x", "api.x.com", "x:brand", "post")


class Conflicted(MemoryState):
    """A `MemoryState` whose every update loses its first attempt, as an optimistic store
    does when another process wrote meanwhile: the change runs on a copy that is thrown
    away, then again on the entries."""

    def update(self, scopes: Sequence[str], change: Callable[[Entries], T]) -> T:
        def twice(entries: Entries) -> T:
            change(copy.deepcopy(entries))
            return change(entries)

        return super().update(scopes, twice)


def _answer(status: int, now: float, remaining: int | None = None) -> httpx.Response:
    headers = {"Date": format_datetime(datetime.fromtimestamp(now, UTC), usegmt=True)}
    if remaining is not None:
        headers |= {
            "x-rate-limit-limit": "100",
            "x-rate-limit-remaining": str(remaining),
            "x-rate-limit-reset": str(int(T0 + 60)),
        }
    return httpx.Response(
        status, headers=headers, request=httpx.Request("POST", "https://api.x.com/2/tweets")
    )


class Ceiling(random.Random):
    """Full jitter that always draws its ceiling (a rerun draws again: same value)."""

    def uniform(self, a: float, b: float) -> float:
        return b


@pytest.mark.parametrize(
    "steps",
    [
        # A bare 429 (backoff and a probe), then the probe's success with headers.
        [(429, None), (200, 50)],
        # A window read, a refusal although the corrected reset had room (the margin
        # widens), then the window spent: its wait shows the margin.
        [(200, 50), (429, 49), (200, 0)],
    ],
    ids=["backoff cleared", "margin widened"],
)
def test_a_rerun_change_decides_as_a_single_run(steps: list[tuple[int, int | None]]) -> None:
    results = []
    for store in (MemoryState(), Conflicted()):
        clock = FakeClock(T0 + 0.4)
        gov = Governor(store, clock=clock, rng=Ceiling())
        waits = []
        for status, remaining in steps:
            wait = gov.acquire(KEY, 1, ())
            waits.append(wait)
            if wait:
                clock.advance(wait)
                assert gov.acquire(KEY, 1, ()) == 0.0
            clock.advance(0.25)
            answered = gov.observe(KEY, _answer(status, clock.now, remaining)) or 0.0
            waits.append(answered)
            clock.advance(answered)
        waits.append(gov.acquire(KEY, 1, ()))
        waits.append(gov.acquire(KEY, 1, ()))
        results.append(waits)
    assert results[1] == pytest.approx(results[0], abs=1e-9)
