"""The durations users write (``90s``, ``15m``, ``1h``, ``1d``, seconds, a timedelta): one
parser for the listener's ``every`` and ``window`` and the inbox command's ``--older-than``."""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Callable
from datetime import timedelta

from brandkit.errors import ConfigurationError

__all__ = [
    "MAX_DURATION",
    "MAX_LIFETIME",
    "MAX_LOCK_WAIT",
    "MAX_TIMEOUT",
    "MAX_WINDOW",
    "backoff",
    "checked_seconds",
    "expiry_after",
    "lock_wait",
    "parse_duration",
    "policy_fits",
    "seconds_arg",
    "stored_time",
]

MAX_WINDOW = 366 * 86400.0
"""The longest rate-limit window taken, in seconds: no platform declares one past a year."""


def policy_fits(limit: object, window: object) -> bool:
    """Whether a rate-limit policy of ``limit`` units per ``window`` seconds keeps a window:
    a whole limit of at least 1 and a window above 0 and at most `MAX_WINDOW` (a limit below
    1, or a window of 0, NaN or infinity, makes a budget that never runs out)."""
    return (
        isinstance(limit, int)
        and not isinstance(limit, bool)
        and limit >= 1
        and isinstance(window, int | float)
        and not isinstance(window, bool)
        and 0 < window <= MAX_WINDOW
    )


MAX_DURATION = timedelta(days=3650)
"""The longest duration accepted: ten years, so that a time plus or minus it never leaves
the years datetime can hold (a stored ``every`` of millions of days would make every later
schedule check raise)."""

MAX_TIMEOUT = 3600.0
"""The longest ``--timeout`` a command's request may wait (seconds)."""

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_TEXT = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*")
_HOW = "write e.g. 90s, 15m, 1h or 1d"


def parse_duration(value: str | float | timedelta, *, name: str | None = None) -> timedelta:
    """``value`` as a timedelta: a timedelta, a number of seconds, or text such as ``90s``,
    ``15m``, ``1h``, ``1d`` (a bare number is seconds).

    Args:
        value: the duration.
        name: what it is (``"every"``, ``"--older-than"``), for the error.

    Raises:
        ConfigurationError: ``value`` is not a duration, is negative, is not a finite
            number, or is longer than `MAX_DURATION` (3650 days).
    """
    said = f"{name}={value!r}" if name else repr(value)
    seconds: float | int
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, bool) or not isinstance(value, int | float | str):
        # True would be one second: a mistake, not a duration.
        raise ConfigurationError(f"{said} is not a duration: {_HOW}")
    elif isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigurationError(f"{said} is not a finite duration: {_HOW}")
        seconds = value
    else:
        found = _TEXT.fullmatch(value)
        if not found:
            raise ConfigurationError(f"{said} is not a duration: {_HOW}")
        # A long run of digits makes inf here, which the bound below refuses.
        seconds = float(found[1]) * _UNITS[found[2] or "s"]
    if seconds < 0:
        raise ConfigurationError(f"{said} is negative: give a duration of 0 or more ({_HOW})")
    # Compared before a timedelta is made: an int of any size compares, but would overflow
    # it.
    if seconds > MAX_DURATION.total_seconds():
        raise ConfigurationError(
            f"{said} is longer than the {MAX_DURATION.days} days brandkit accepts: give a "
            f"shorter one ({_HOW})"
        )
    return value if isinstance(value, timedelta) else timedelta(seconds=seconds)


def checked_seconds(
    value: object, *, name: str, most: float, zero: bool = False, why: str
) -> float:
    """``value`` as seconds, when it is a finite number (not a bool), more than 0 (or 0 and
    more with ``zero``), at most ``most``: one check for the library's settings in seconds
    (an outbox's lease, a worker's poll and backoffs), as `seconds_arg` is for the command
    line's.

    Raises:
        ConfigurationError: it is not; the message names the setting, the range and ``why``
            (what the setting does, with an example).
    """
    low = "from 0 to" if zero else "above 0 and at most"
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not (0 <= value <= most)
        or (value == 0 and not zero)
    ):
        raise ConfigurationError(
            f"{name} must be a number of seconds {low} {most:.0f} ({why}), not {value!r}"
        )
    return float(value)


MAX_LOCK_WAIT = 7 * 86_400.0
"""The longest a store (outbox, inbox, metrics) waits for another process's lock (seconds)."""


def lock_wait(timeout: object) -> float:
    """A store's ``timeout`` (how long to wait for another process's lock) as seconds: NaN
    and infinity reached the database as an endless wait or an OverflowError, and text or a
    negative wait failed later with a raw error.

    Raises:
        ConfigurationError: it is not a number of seconds from 0 to `MAX_LOCK_WAIT`.
    """
    return checked_seconds(
        timeout,
        name="timeout",
        most=MAX_LOCK_WAIT,
        zero=True,
        why="how long to wait for another process's lock before giving up, e.g. 10",
    )


def seconds_arg(
    *, most: float = math.inf, zero: bool = False, what: str = "a number of seconds"
) -> Callable[[str], float]:
    """An argparse ``type`` for a command-line option in seconds: a finite number, more than
    0 (or 0 and more with ``zero``), at most ``most``. NaN, infinity, a negative or an
    overflowing value reached the library as no timeout, a wait no clock holds, or a margin
    no token is ever within.
    """
    low = "0 or more" if zero else "more than 0"
    high = f" and at most {most:g}" if math.isfinite(most) else ""

    def seconds(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not (0 <= value <= most and math.isfinite(value)) or (value == 0 and not zero):
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}: give {low}{high}")
        return value

    return seconds


def backoff(base: float, doublings: int, cap: float) -> float:
    """``base`` doubled ``doublings`` times (none below 0), at most ``cap``: the one
    exponential backoff of the retry policy, the worker and the governor. The doubling stops
    where a float does (``2.0 ** 1024`` raises OverflowError): a long run of failures keeps
    its cap instead of failing every later attempt."""
    return float(min(cap, base * 2.0 ** min(max(doublings, 0), 1023)))


def stored_time(value: object) -> float | None:
    """A stored or configured time (epoch seconds: a token's ``expires_at``, a JWT's
    ``exp``) as a float, or ``None`` for what is none: NaN and infinity (JSON parsers read
    ``NaN`` and ``Infinity``, and no comparison with NaN is ever true, so such a token was
    never renewed ahead), a boolean (``true`` read as 1970, renewed at every request), not a
    number. The one rule every reader of an expiry follows. Raises nothing."""
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


MAX_LIFETIME = 100 * 365 * 86_400.0
"""The longest token lifetime read as one (seconds); a longer one is read as no expiry."""


def expiry_after(now: float, expires_in: object) -> float | None:
    """When a token that lives ``expires_in`` seconds (a token answer's) from ``now``
    expires: ``None`` (no known expiry) when the answer gives no lifetime, or one that no
    clock holds: not a finite number (JSON parsers take ``NaN``, ``Infinity``, ``1e400``),
    not positive, or longer than `MAX_LIFETIME`. The one rule for the connect flows and the
    adapters' own refreshes. Raises nothing: a token answer is never thrown away for its
    lifetime, since a refresh's answer holds the only copy of a rotated refresh token."""
    if (
        not isinstance(expires_in, int | float)
        or isinstance(expires_in, bool)
        or not math.isfinite(expires_in)
        or not 0 < expires_in <= MAX_LIFETIME
    ):
        return None
    return now + float(expires_in)
