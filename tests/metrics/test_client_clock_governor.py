"""`Client(clock=...)` made its default rate-limit governor on real time: the resets that
emulators on a simulated clock send (days ahead of real time) read as a day's wait, and after
about five simulated weeks of daily follower reads on X, `RateLimited` stopped the run."""

from __future__ import annotations

from datetime import timedelta

from brandkit import Client
from brandkit.testing import Clock, emulator


def test_the_default_governor_runs_on_the_clients_clock() -> None:
    clock = Clock()
    x = emulator("x", clock=clock)
    with x.serve():
        brand = x.account()
        with Client(clock=clock.now) as client:
            for _day in range(60):
                clock.advance(timedelta(days=1))
                (followers,) = client.collect_account(brand)
                assert abs(followers.fetched_at - clock.now()) < timedelta(seconds=5)
