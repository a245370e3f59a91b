"""The state of one budget window, and the arithmetic of pacing.

A `Slot` is one window of one budget (X's 100 posts / 15 min of one user, the app's
10,000 / 24 h). It works in one of two modes:

- **local**: nothing has been heard from the server yet; the slot paces by the declared
  policy with a compact log of its own sends, which is safe against servers that count in
  fixed windows *and* in sliding ones (no span of ``window`` seconds ever holds more than
  ``limit`` units).
- **server**: a response described the window; ``remaining`` and ``reset`` come from the
  server and are corrected by every later response. When ``remaining`` runs out the slot
  waits exactly until ``reset``.

A `Block` holds "not before" times: a ``Retry-After``, a Telegram ``retry_after``, the
exponential backoff after a 429 that said nothing, Meta's usage throttling.
"""

from __future__ import annotations

import math
from typing import Any, TypeAlias

from brandkit._durations import MAX_WINDOW
from brandkit.governor._parse import Window

__all__ = ["Block", "Entry", "Slot", "dump_entry", "load_entry"]

# Local mode merges sends closer than window / _RUN_SPLIT into one run (bounding the log at
# about that many runs); a run expires ``window`` after its *last* send, which is safe.
_RUN_SPLIT = 64
# A request whose answer never came (the connection broke) stops counting as in flight after
# this long: well beyond any request timeout.
FLIGHT_TTL = 120.0
# How long a request waits, again and again, for an answer in flight to say when a window
# whose length is unknown ends (see Slot.wait).
PROBE = 0.25
_MAX_FLIGHT = 512
# The largest share of a local window that the edge margin may take (see Slot.refresh).
EDGE_SHARE = 0.05


class Slot:
    """One window of one budget (see the module docstring)."""

    __slots__ = (
        "aligned",
        "flight",
        "frac",
        "limit",
        "opened",
        "remaining",
        "reset",
        "runs",
        "seen",
        "server",
        "start",
        "trust",
        "window",
    )

    def __init__(
        self,
        limit: int,
        window: float | None,
        *,
        server: bool = False,
        remaining: int | None = None,
        reset: float | None = None,
        aligned: bool = False,
        trust: bool = True,
        seen: float | None = None,
        opened: float | None = None,
        frac: float | None = None,
        start: float | None = None,
        runs: list[list[float]] | None = None,
        flight: list[list[float]] | None = None,
    ) -> None:
        self.limit = limit
        self.window = window
        self.server = server
        self.remaining = limit if remaining is None else remaining
        self.reset = reset
        self.aligned = aligned
        self.trust = trust
        self.seen = seen
        self.opened = opened
        self.frac = frac
        self.start = start
        self.runs: list[list[float]] = runs if runs is not None else []
        # [time, cost] of our requests whose answers have not been seen yet.
        self.flight: list[list[float]] = flight if flight is not None else []

    def __repr__(self) -> str:
        mode = "server" if self.server else "local"
        return (
            f"Slot({mode}, limit={self.limit}, window={self.window}, "
            f"remaining={self.available()}, reset={self.reset})"
        )

    # -- pacing ----------------------------------------------------------------------------

    def available(self) -> int:
        """Units left in the current window (after `refresh`)."""
        if self.server:
            return self.remaining
        return self.limit - int(sum(run[2] for run in self.runs))

    def refresh(self, now: float, margin: float = 0.0) -> None:
        """Roll the window over if its reset has passed; forget expired local sends.

        ``margin`` (local mode) keeps a send in the log that much longer than one window: a
        send is logged when it was granted, but the server counts it when it arrives, up to
        one round trip later, so a window that the server opened with a slow first request
        ends later than our log says (Telegram's 20 messages per minute were refused at
        60.4 s). It is capped at 5 % of the window.
        """
        if self.server:
            flight = self.flight
            if flight and flight[-1][0] > now + FLIGHT_TTL:
                # Stamped far ahead of any clock that granted it (a host years ahead, a row
                # written by hand): no answer will ever come for it, and it would never expire.
                flight[:] = [f for f in flight if f[0] <= now + FLIGHT_TTL]
            reset = self.reset
            if reset is not None and now >= reset:
                # Our requests still in flight may reach the server after its reset and count
                # in the new window: they are carried over until their answers show where
                # they landed (see `land`).
                flight = self.flight
                if flight and flight[0][0] < now - FLIGHT_TTL:
                    flight[:] = [f for f in flight if f[0] >= now - FLIGHT_TTL]
                self.remaining = self.limit - int(sum(f[1] for f in flight))
                window = self.window
                if self.aligned and window:
                    # Epoch-aligned windows follow each other back to back, even after idling.
                    skipped = math.floor((now - reset) / window)
                    self.start = reset + skipped * window
                    self.reset = self.start + window
                else:
                    # Windows that start at the first request: the next one starts with ours.
                    self.start = now
                    self.reset = None
        elif self.runs and self.window is not None:
            horizon = now - self.window - min(margin, self.window * EDGE_SHARE)
            runs = self.runs
            if runs[-1][1] > now + FLIGHT_TTL:
                # Sends logged far ahead of now (as above) held the window spent until then:
                # they count as sent now, holding it one window at most.
                for run in runs:
                    run[0], run[1] = min(run[0], now), min(run[1], now)
            while runs and runs[0][1] <= horizon:
                runs.pop(0)

    def wait(self, now: float, cost: int, margin: float = 0.0) -> float:
        """Seconds until ``cost`` units fit (0: now). Call `refresh` first, with the
        same ``margin``."""
        if self.server:
            if self.remaining >= cost or self.remaining >= self.limit:
                return 0.0
            if self.reset is None:
                # The window rolled over and its end is not known yet (headers that give no
                # window length, and no declared policy): the budget is spent, so rather
                # than grant past it, wait for the answers of our requests sent in this
                # window to say when it ends. Requests carried over from the window before
                # are not waited for: one whose answer was lost (a dropped connection) or
                # carried no rate headers stays in flight until FLIGHT_TTL, and waiting for
                # it stalled every sender that long.
                start = self.start
                if any(
                    sent >= now - FLIGHT_TTL and (start is None or sent >= start)
                    for sent, _ in self.flight
                ):
                    return PROBE
                return 0.0
            return max(self.reset - now, 0.0)
        window = self.window
        if window is None or not self.runs:
            return 0.0
        window += min(margin, window * EDGE_SHARE)
        used = sum(run[2] for run in self.runs)
        need = used + cost - self.limit
        if need <= 0:
            return 0.0
        freed = 0.0
        for run in self.runs:
            freed += run[2]
            if freed >= need:
                return max(run[1] + window - now, 0.0)
        return max(self.runs[-1][1] + window - now, 0.0)

    def take(self, now: float, cost: int, pad: float) -> None:
        """Spend ``cost`` units now. ``pad`` widens a guessed reset (see `Governor`)."""
        window = self.window
        if self.server:
            flight = self.flight
            flight.append([now, float(cost)])
            if len(flight) > _MAX_FLIGHT:
                del flight[0]
            if self.reset is None and window is not None:
                # A new window that the server starts with this request: until a response
                # says when it ends, assume a little later than we could know.
                self.reset = now + window + pad
                self.opened = now
            self.remaining -= cost
            return
        if window is None:
            return
        runs = self.runs
        if not runs:
            self.opened = now
        if runs and now - runs[-1][0] <= window / _RUN_SPLIT:
            last = runs[-1]
            last[1] = now
            last[2] += cost
        else:
            runs.append([now, now, float(cost)])

    # -- learning --------------------------------------------------------------------------

    def land(
        self, now: float, *, current: bool, sent: float | None = None, cost: int | None = None
    ) -> None:
        """An answer arrived: its request is no longer in flight (which entry leaves: see
        `leave`). ``current`` says whether the answer described the current window; if not,
        and the request was carried into this window at its rollover, the server counted it
        in the old one: its units are given back."""
        entry = self.leave(sent, cost)
        if entry is None:
            return
        at, units = entry
        start = self.start
        if not current and start is not None and at < start and self.server:
            self.remaining = min(self.limit, self.remaining + int(units))

    def leave(self, sent: float | None, cost: int | None = None) -> list[float] | None:
        """Take the flight entry of the request granted at ``sent`` for ``cost`` units out of
        flight, and return it (``None``: none taken).

        With both known (the governor knows which grant was answered: the drivers settle a
        request in the thread or task that acquired it) only that request's own entry is
        taken. When it is not there, nothing is: the request was granted before this window
        kept a flight (in local mode, or before the answer that made the slot), or it was
        dropped as expired. Taking another instead would take a request still in flight out
        of the count, and a window rolling over then would hand its units out again.

        Without ``cost`` (which request it was is not known: the governor took this process's
        oldest grant still awaited), the entry at ``sent`` is taken, else the oldest; without
        either, the oldest."""
        flight = self.flight
        if sent is not None:
            for i, (at, units) in enumerate(flight):
                if at == sent and (cost is None or units == cost):
                    return flight.pop(i)
            if cost is not None:
                return None
        return flight.pop(0) if flight else None

    def lost(self, sent: float, cost: int | None = None) -> None:
        """A request is no longer in flight, and its answer says nothing of this window: it
        will never come (its connection broke, it timed out, its caller gave up), or it came
        without rate-limit headers (a proxy's 502) or only with another window's. Its entry
        is taken as `leave` says. The units stay spent: the server may have counted the
        request."""
        self.leave(sent, cost)

    def unsent(self, sent: float, cost: int) -> None:
        """The request granted at ``sent`` for ``cost`` units never reached the server (its
        connection was refused, it timed out connecting): it is no longer in flight, as for
        `lost`. In local mode its units are taken off the log, since no window the server
        counts holds it. In server mode they stay spent: an answer since the grant may have
        replaced our count with the server's, which never held it, so adding them back
        could promise more than the server has left."""
        if self.server:
            self.leave(sent, cost)
            return
        runs = self.runs
        for i in range(len(runs) - 1, -1, -1):
            run = runs[i]
            # The run that logged it covers its grant (a later send may have moved its end).
            if run[0] <= sent <= run[1] and run[2] >= cost:
                run[2] -= cost
                if run[2] <= 0:
                    del runs[i]
                return

    def learn(self, win: Window, now: float) -> bool:
        """Correct the slot with what a response says about its window.

        The server's reset wins over any guess; its ``remaining`` lowers ours (never raises
        it within a window: our own requests still in flight are not in the server's count).
        Returns whether the answer described the current window.
        """
        if win.limit is not None and win.limit > 0:
            self.limit = win.limit
        if win.reset is None or win.remaining is None:
            return True
        reset = self._boundary(win, now)
        if reset <= now:
            return False  # an answer about a window that has ended: nothing about this one
        window = self.window
        tol = min(1.5, window / 2) if window else 1.5
        if self.server and self.reset is not None and abs(reset - self.reset) <= tol:
            # The same window: every value is a safe bound, the earliest is the tightest.
            reset = min(reset, self.reset)
        self.remaining = min(self.available(), win.remaining)
        self.server = True
        self.runs = []
        self.reset = reset
        return True

    def _boundary(self, win: Window, now: float) -> float:
        """The earliest moment the window may be taken as reset.

        A reset with a fraction of a second is exact (Discord) or an upper bound: Mastodon's
        Rack::Attack writes ``request_time + (period - request_time.to_i % period)``, the
        boundary plus the request's fraction of a second. A whole-second reset may have
        been truncated (X, Bluesky), so ``resolution`` is added.

        Both are used as they are until the windows are proven to be aligned to the epoch
        (Rack::Attack, most Redis counters: key = now // period), whose boundaries are whole
        seconds and exact. Proof is either of:

        - two answers of one window whose fractional resets differ but fall in the same
          whole second, a multiple of the window length (a window that starts at the first
          request has one reset, however often it is sent);
        - two whole-second resets of consecutive windows on multiples of the window length,
          the second window opened only after the padded first reset (a window that starts
          at the first request would then end at least ``resolution`` later).

        A refusal after trusting the proof withdraws it (`distrust`).

        Whatever the header says, a window of known length that counted this request ends
        at the latest one window after the answer arrived (it began before the server
        handled the request): for a window that the request itself opened, that bound is
        far tighter than a truncated whole second. A reset sent further away than that
        contradicts the length, and is kept.
        """
        # The proofs below read the server's own values (its epoch multiples); the bound
        # found is moved back onto our clock.
        shift = win.offset
        bound = self._bound(win, shift) - shift
        window = self.window
        assert win.reset is not None
        if window is None or win.reset > now + window + 1.0:
            # A reset further than one window (and a rounded second) away contradicts the
            # window's length (a garbled RateLimit-Policy, or one naming another limit):
            # the server holds to its reset, not to the length.
            return bound
        return min(bound, now + window)

    def _bound(self, win: Window, shift: float) -> float:
        """`_boundary` on the server's clock (``shift``: its offset as taken)."""
        assert win.reset is not None
        # Servers send microseconds at most: rounding gives back the exact value sent.
        reset = round(win.reset + shift, 6) if shift else win.reset
        window = self.window
        if not (self.trust and window is not None and window >= 2 and window == int(window)):
            return reset + win.resolution
        floor = math.floor(reset)
        if floor % int(window):
            return reset + win.resolution
        if self.aligned:
            return float(floor)
        if win.resolution <= 0.0:
            if reset != floor:
                frac = self.frac
                if frac is not None and frac != reset and math.floor(frac) == floor:
                    self.aligned = True
                    return float(floor)
                self.frac = reset
            return reset
        opened, seen = self.opened, self.seen
        if (
            seen is not None
            and opened is not None
            and reset - seen == window
            and opened + shift >= seen + win.resolution
        ):
            self.aligned = True
            return reset
        self.seen = reset
        return reset + win.resolution

    def distrust(self) -> None:
        """A refusal came although the window looked reset: pad this server's resets."""
        self.trust = False
        self.aligned = False
        self.seen = None
        self.frac = None
        self.reset = None  # the answer's own (padded) reset replaces the trusted one


class Block:
    """A "not before" time for a whole scope, and the count of 429s that said nothing."""

    __slots__ = ("strikes", "until")

    def __init__(self, until: float = 0.0, strikes: int = 0) -> None:
        self.until = until
        self.strikes = strikes

    def __repr__(self) -> str:
        return f"Block(until={self.until}, strikes={self.strikes})"

    def wait(self, now: float) -> float:
        """Seconds until the block lifts (0: not blocked)."""
        return max(self.until - now, 0.0)


Entry: TypeAlias = Slot | Block


def dump_entry(entry: Entry) -> list[Any]:
    """Plain JSON-able data for a state store. A later version only ever appends fields, so
    that the processes of two versions sharing one state during an upgrade read each
    other's entries (see `load_entry`)."""
    if isinstance(entry, Block):
        return [1, entry.until, entry.strikes]
    return [
        0,
        entry.limit,
        entry.window,
        entry.server,
        entry.remaining,
        entry.reset,
        entry.aligned,
        entry.trust,
        entry.seen,
        entry.opened,
        entry.frac,
        entry.start,
        entry.runs,
        entry.flight,
    ]


def load_entry(data: list[Any]) -> Entry:
    """Back from `dump_entry`. Fields after those this version writes (appended by a newer
    one sharing the state) are ignored: the entry is read, not dropped.

    Raises:
        ValueError: ``data`` is not what `dump_entry` writes, or holds a value no
            governor writes (not finite, out of range); a store drops such an entry.
    """
    if not isinstance(data, list) or not data:
        raise ValueError("not a governor entry")
    if data[0] == 1:
        if len(data) < 3:
            raise ValueError("not a governor entry")
        return Block(_time(data[1]), _count(data[2]))
    if data[0] != 0 or len(data) < 14:
        raise ValueError("not a governor entry")
    (_, limit, window, server, remaining, reset, aligned, trust, seen, opened, frac, start) = data[
        :12
    ]
    most = _count(limit)
    length = _opt(window)
    # No governor writes these, and each makes a budget that never runs out (a window of no
    # length forgets every send; a limit of 0 lets any cost through once the window is full).
    if most < 1:
        raise ValueError("a limit below 1")
    if length is not None and not 0.0 < length <= MAX_WINDOW:
        raise ValueError("a window length out of range")
    return Slot(
        most,
        length,
        server=bool(server),
        # More left than the window allows is granted as the limit at most.
        remaining=min(_count(remaining, signed=True), most),
        reset=_opt(reset),
        aligned=bool(aligned),
        trust=bool(trust),
        seen=_opt(seen),
        opened=_opt(opened),
        frac=_opt(frac),
        start=_opt(start),
        runs=_log(data[12], 3),
        flight=_log(data[13], 2),
    )


def _time(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("not a number")
    number = float(value)
    if not math.isfinite(number) or abs(number) > 1e12:
        raise ValueError("a time out of range")
    return number


def _opt(value: Any) -> float | None:
    return None if value is None else _time(value)


def _count(value: Any, *, signed: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("not a count")
    if not math.isfinite(value) or abs(value) > 10**12 or (value < 0 and not signed):
        raise ValueError("a count out of range")
    return int(value)


def _log(value: Any, width: int) -> list[list[float]]:
    if not isinstance(value, list) or len(value) > 4 * _MAX_FLIGHT:
        raise ValueError("not a log")
    out = []
    for item in value:
        if not isinstance(item, list) or len(item) != width:
            raise ValueError("not a log")
        out.append([_time(x) for x in item])
    # In time order, as a governor appends them (the readers look at the ends of a log); a
    # row from elsewhere may not be.
    out.sort()
    return out
