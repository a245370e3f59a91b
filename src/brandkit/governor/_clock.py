"""The governor's time: wall-clock seconds, advanced by the monotonic clock."""

from __future__ import annotations

import time

__all__ = ["MonotonicClock"]

# How often the mapping is checked against the wall clock, and how far the two may drift
# apart before the wall clock (which the servers' resets are written in) is followed again.
_CHECK_EVERY = 10.0
_MAX_DRIFT = 0.05


class MonotonicClock:
    """Seconds since the epoch, as a float, that never jump between two close readings.

    Resets sent by platforms are wall-clock times, so the governor needs wall time; a wall
    clock stepped by NTP in the middle of a wait would make a computed wait wrong, so the
    readings advance with ``time.monotonic()`` from an anchor taken on the wall clock. The
    anchor is re-taken when the two have drifted apart by more than 50 ms (a step of the
    system clock), checked at most every 10 s.
    """

    def __init__(self) -> None:
        self._anchor = time.time() - time.monotonic()
        self._checked = time.monotonic()

    def __call__(self) -> float:
        mono = time.monotonic()
        if mono - self._checked > _CHECK_EVERY:
            self._checked = mono
            anchor = time.time() - mono
            if abs(anchor - self._anchor) > _MAX_DRIFT:
                self._anchor = anchor
        return self._anchor + mono
