"""The emulator clock's window start: what tests call before counting requests against an
epoch-aligned window (Mastodon's), so that no reset falls among them."""

from __future__ import annotations

import math
from datetime import datetime

import httpx
import pytest

from brandkit.testing._emulator import Clock
from brandkit.testing.mastodon import MastodonEmulator


@pytest.mark.parametrize("period", [1.0, 60.0, 300.0, 10800.0, 7.5])
def test_start_window_lands_at_the_start_of_a_window(period: float) -> None:
    clock = Clock()
    clock.advance(period * 0.99)  # well inside a window, whatever the wall clock says
    clock.start_window(period)
    now = clock.time()
    into = now % period
    assert 0 < into < 0.5  # just past the boundary, not just before it
    assert math.floor(now) // period * period <= now


def test_start_window_refuses_a_period_that_is_not_positive() -> None:
    for bad in (0.0, -5.0, math.nan):
        with pytest.raises(ValueError, match="positive number of seconds"):
            Clock().start_window(bad)


def test_a_mastodon_window_started_lasts_its_whole_period() -> None:
    emu = MastodonEmulator(rate_limits={"api": (2, 300.0)})
    emu.clock.start_window(300.0)
    token = emu.account().secret("token")
    with emu.serve(), httpx.Client(base_url=emu.base_url) as http:
        answers = [
            http.get(
                "/api/v1/accounts/verify_credentials",
                headers={"Authorization": f"Bearer {token}"},
            )
            for _ in range(3)
        ]
    assert [a.status_code for a in answers] == [200, 200, 429]
    reset = answers[-1].headers["x-ratelimit-reset"]
    left = datetime.fromisoformat(reset).timestamp() - emu.clock.time()
    assert 299 < left <= 300
