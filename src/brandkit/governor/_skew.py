"""How far a server's clock is from ours, learned from its answers.

A reset sent as an absolute time (X's epoch seconds, Mastodon's ISO 8601, Bluesky's floored
epoch) is a time on the *server's* clock. Compared with ours as it is, a client 0.1 s ahead
of the server sends the first request of each window 0.1 s before the server's window has
ended, and is refused.

Every answer bounds the offset ``theta = server clock - our clock``:

- its ``Date`` header ``D`` (whole seconds, truncated) was written at a server time in
  ``[D, D + 1)``, while the request was in flight: after it was granted (``a``, our clock)
  and before the answer was seen (``r``). So ``D - r <= theta < D + 1 - a``;
- a Rack::Attack reset (Mastodon: ``request_time + (period - request_time.to_i % period)``)
  carries the server's request time to the microsecond in its fraction of a second, once the
  windows are proven aligned; with ``D`` it gives ``theta`` within one round trip.

The tightest bounds across answers are kept per origin (scheme, host, port). They are aged
by a drift allowance (clocks run apart slowly), and reset when a new answer contradicts them
(a clock was stepped). Absolute resets are moved onto our clock by the *lower* bound, minus an
adaptive margin: waiting until our clock reads ``reset - lower`` means the server's clock
reads at least ``reset``. A refusal despite that widens the margin.
"""

from __future__ import annotations

import email.utils
import math
import threading

import httpx

__all__ = ["ServerClock", "ServerClocks", "date_of"]

# Clocks drift apart by at most this much per second (100 ppm: an unsynchronised quartz).
DRIFT = 1e-4
# A refusal despite the correction widens the margin by this much (doubling), up to the cap.
MARGIN_STEP = 0.05
MARGIN_CAP = 1.0
# The offset is believed only within a day; a bigger one is a broken Date, not a clock.
_MAX_OFFSET = 86400.0
_MAX_ORIGINS = 4096


class ServerClock:
    """Bounds on one server's clock offset (``server - ours``, seconds)."""

    __slots__ = ("hi", "hi_at", "lo", "lo_at", "lock", "margin")

    def __init__(self) -> None:
        self.lo: float | None = None
        self.lo_at = 0.0
        self.hi: float | None = None
        self.hi_at = 0.0
        self.margin = 0.0
        self.lock = threading.Lock()

    def __repr__(self) -> str:
        return f"ServerClock(lo={self.lo}, hi={self.hi}, margin={self.margin})"

    def bounds(self, now: float) -> tuple[float, float]:
        """The offset's bounds now (``-inf``/``inf`` when unknown), aged by the drift."""
        lo = -math.inf if self.lo is None else self.lo - DRIFT * (now - self.lo_at)
        hi = math.inf if self.hi is None else self.hi + DRIFT * (now - self.hi_at)
        return lo, hi

    def shift(self, now: float) -> float:
        """How far to move the server's absolute times back onto our clock: the offset's
        lower bound minus the margin (0.0 while nothing bounds it from below)."""
        # Read without the lock: each field is replaced whole, and a stale read is one
        # answer older, which is as safe.
        lo = self.lo
        if lo is None:
            return 0.0
        return lo - DRIFT * (now - self.lo_at) - self.margin

    def learn(self, lo: float, hi: float, now: float) -> None:
        """One answer says ``lo <= offset <= hi`` (``hi`` may be ``inf``: unknown)."""
        if not (-_MAX_OFFSET < lo < _MAX_OFFSET and lo <= hi):
            return
        with self.lock:
            old_lo, old_hi = self.bounds(now)
            if lo > old_hi or hi < old_lo:
                # Contradiction: one of the clocks was stepped. Start again from this answer.
                self.lo = self.hi = None
                old_lo, old_hi = -math.inf, math.inf
            if lo >= old_lo:
                self.lo, self.lo_at = lo, now
            if hi <= old_hi and hi < _MAX_OFFSET:
                self.hi, self.hi_at = hi, now

    def learn_date(self, date: float, sent: float | None, now: float) -> None:
        """An answer with ``Date: date`` (epoch seconds), to a request granted at ``sent``
        (our clock; ``None`` if unknown) and seen at ``now``."""
        lo, hi = date - now, math.inf if sent is None else date + 1.0 - sent
        old_lo, old_hi = self.lo, self.hi
        if old_lo is not None and old_hi is not None:
            # Most answers tighten nothing: checked without the lock (see shift).
            age = DRIFT * (now - self.lo_at)
            if old_lo - age >= lo and old_hi + DRIFT * (now - self.hi_at) <= hi:
                return
        self.learn(lo, hi, now)

    def learn_request_time(
        self, fraction: float, date: float, sent: float | None, now: float
    ) -> None:
        """A Rack::Attack reset says the server counted the request at ``k + fraction`` for
        a whole second ``k``; it did so before writing ``Date: date``, so ``k`` is ``date`` or
        ``date - 1``. When the current bounds leave one of the two, the offset is known
        within the request's round trip."""
        if sent is None or not 0.0 < fraction < 1.0:
            return
        with self.lock:
            lo, hi = self.bounds(now)
        fits = [
            (k + fraction - now, k + fraction - sent)
            for k in (date, date - 1.0)
            if k + fraction - sent >= lo and k + fraction - now <= hi
        ]
        if len(fits) == 1:
            self.learn(*fits[0], now)

    def widen(self) -> None:
        """A refusal came although the corrected reset had passed: keep further away."""
        with self.lock:
            self.margin = min(self.margin * 2.0 + MARGIN_STEP, MARGIN_CAP)


class ServerClocks:
    """One `ServerClock` per origin (bounded: past 4096 origins, all are forgotten)."""

    def __init__(self) -> None:
        self._clocks: dict[str, ServerClock] = {}
        # The same by the URL's raw parts, looked up on every answer without formatting.
        self._by_raw: dict[tuple[bytes, bytes, int | None], ServerClock] = {}
        self._lock = threading.Lock()

    def get(self, response: httpx.Response) -> ServerClock | None:
        """The clock of the server that sent ``response`` (``None`` without a request)."""
        try:
            url = response.request.url
        except RuntimeError:
            return None
        raw = (url.raw_scheme, url.raw_host, url.port)
        clock = self._by_raw.get(raw)
        if clock is not None:
            return clock
        port = url.port or (443 if url.scheme == "https" else 80)
        origin = f"{url.scheme}://{url.host}:{port}"
        with self._lock:
            if len(self._clocks) >= _MAX_ORIGINS:
                self._clocks.clear()
                self._by_raw.clear()
            clock = self._clocks.setdefault(origin, ServerClock())
            self._by_raw[raw] = clock
        return clock


_DATES: dict[str, float | None] = {}


def date_of(response: httpx.Response) -> float | None:
    """The ``Date`` header of ``response`` in epoch seconds, if readable (remembered: a
    second's answers share it). An answer with an ``Age`` header came from a cache (RFC 9111
    §5.1): its ``Date`` is when the origin made it, maybe hours ago, which would move the
    server's clock back by as much and hold every absolute reset that long: ``None``."""
    raw = None
    items = getattr(response.headers, "_list", None)
    if isinstance(items, list):
        # httpx's own (lowercased, undecoded) list: a loop here is cheaper than get().
        for _, key, data in items:
            if key == b"date" and raw is None:
                raw = data.decode("latin-1")
            elif key == b"age":
                return None
    else:
        if "age" in response.headers:
            return None
        raw = response.headers.get("date")
    if raw is None or len(raw) > 64:
        return None
    if raw in _DATES:
        return _DATES[raw]
    try:
        when = email.utils.parsedate_to_datetime(raw)
        value: float | None = when.timestamp() if when.tzinfo is not None else None
    except (TypeError, ValueError, IndexError, OverflowError):
        value = None
    if len(_DATES) > 256:
        _DATES.clear()
    _DATES[raw] = value
    return value
