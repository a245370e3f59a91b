"""The governor: paces every request so the platforms' limits are used fully, never exceeded."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import itertools
import logging
import math
import random
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Coroutine, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from brandkit._durations import backoff, checked_seconds, policy_fits
from brandkit._hooks import BucketKey
from brandkit.backends import ServerTimeClock
from brandkit.errors import ConfigurationError, RateLimited
from brandkit.governor._clock import MonotonicClock
from brandkit.governor._parse import DEFAULT_MAX_WAIT, RateLimitInfo, Window, parse_rate_limit
from brandkit.governor._skew import ServerClock, ServerClocks, date_of
from brandkit.governor._slots import FLIGHT_TTL, Block, Slot
from brandkit.governor._state import Entries, MemoryState, StateStore

if TYPE_CHECKING:
    from brandkit.platforms._base import RatePolicy

__all__ = ["Governor", "rate_limited"]

T = TypeVar("T")
logger = logging.getLogger("brandkit.governor")

_MAX_BACKOFF = 7 * 86400.0  # the largest backoff setting taken, in seconds
_BLOCK = "!block"  # Retry-After, Telegram retry_after, backoff after a bare 429
_USAGE = "!usage"  # Meta usage throttling
_HEADER_ONLY = "hdr"  # a window the server describes and no declared policy matches
# Local windows end this much (plus the slowest recent round trip) after our log says; a
# server stamps a request when it arrives, and may count in whole seconds.
EDGE_MARGIN = 0.1
_RTT_SAMPLES = 32
_MAX_GRANTS = 512
# Plans kept per governor: past this many keys, the least recently used ones that await no
# answer are dropped (a worker serving accounts that come and go grew without end, a few KB
# each); one is made again on use, as a process that just started would make it.
_MAX_PLANS = 4096
_EVICT_SCAN = 64  # plans looked at per key added past the bound, beyond the excess
# An account scope this process saw backing off is forgotten this long after it was last
# seen so (the refusal, or an acquire that found its strikes): the answer it waits for, to
# a request granted then, comes within FLIGHT_TTL or never, and every later acquire of the
# account notes it again while the strikes are stored. At most `_MAX_PLANS` are kept (the
# least recently seen dropped first), as many as the plans.
_STRUCK_TTL = 2 * FLIGHT_TTL
# The longest a cancelled task waits for the governor's state change under way (a grant to
# give back, an answer or a lost request to settle) before it lets the cancellation through.
SETTLE_WAIT = 10.0

# The last grant made in this context (a thread, an asyncio task): the governor's token, its
# key, its time and its cost. A driver sends each request in the context that acquired it,
# so `Governor.observe`, `unanswered` and `unsent` know exactly which grant they settle,
# whatever else is in flight: its time and cost name its flight entry (Slot.leave).
_GRANT: contextvars.ContextVar[tuple[object, BucketKey, float, int] | None] = (
    contextvars.ContextVar("brandkit_governor_grant", default=None)
)


def _samples(clock: Any) -> bool:
    """Whether reading ``clock`` now asks a server (a `ServerTimeClock` due to resample)."""
    return isinstance(clock, ServerTimeClock) and clock.due()


def _slot_name(window: float) -> str:
    return f"{window:g}s"


class _Plan:
    """What one bucket key means in the store: its scopes and declared windows."""

    __slots__ = (
        "account",
        "account_wide",
        "app",
        "app_wide",
        "block",
        "cost",
        "declared",
        "edge",
        "grants",
        "lock",
        "names",
        "rtts",
        "scopes",
        "spends",
        "src",
    )

    def __init__(self, key: BucketKey, policies: Sequence[RatePolicy]) -> None:
        for p in policies:
            _check_policy(key, p)
        base = f"{key.platform}|{key.app}"
        self.account = f"{base}|{key.account}|{key.bucket}"
        self.app = f"{base}||{key.bucket}"
        self.account_wide = f"{base}|{key.account}|*"
        self.app_wide = f"{base}||*"
        # A limit that every request spends, whatever its bucket (Mastodon's ``api`` counts
        # statuses, media and deletes too), lives in its own bucket's scope: the requests of
        # every bucket and the answers of its own then draw on one budget.
        every = [p for p in policies if p.every_request and p.bucket != key.bucket]
        shared = [
            f"{base}||{p.bucket}" if p.scope == "app" else f"{base}|{key.account}|{p.bucket}"
            for p in every
        ]
        self.spends = frozenset((self.account, self.app, *shared))
        self.scopes = (
            self.account,
            self.app,
            *dict.fromkeys(shared),
            self.account_wide,
            self.app_wide,
        )
        self.block = (self.account, _BLOCK)
        self.declared = tuple(
            ((self.app if p.scope == "app" else self.account, _slot_name(p.window)), p)
            for p in policies
            if p.bucket == key.bucket
        ) + tuple(
            ((scope, _slot_name(p.window)), p) for scope, p in zip(shared, every, strict=True)
        )
        self.src: object = policies
        self.cost = 1
        # Which slot each header family was matched to last time (matching is stable).
        self.names: dict[str, tuple[str, str]] = {}
        # Round trips (grant to answer) of this process's recent requests, and the edge
        # margin they give local windows (see Slot.refresh).
        self.lock = threading.Lock()
        self.grants: deque[float] = deque(maxlen=_MAX_GRANTS)
        self.rtts: deque[float] = deque(maxlen=_RTT_SAMPLES)
        self.edge = EDGE_MARGIN

    def granted(self, now: float) -> None:
        """A request of this bucket may leave now."""
        self.grants.append(now)  # atomic; answered() holds the lock for its two steps

    def answered(self, now: float, sent: float | None) -> float | None:
        """An answer of this bucket arrived, to the request granted at ``sent`` (``None``: not
        known, taken as the oldest grant still awaited): its round trip is known. Returns
        that grant's time (no later than the answered request left), if any."""
        with self.lock:
            if sent is None:
                sent = self._oldest(now)
                if sent is None:
                    return None
            else:
                self._drop(sent)
            self.rtts.append(now - sent)
            self.edge = EDGE_MARGIN + max(self.rtts)
            return sent

    def unanswered(self, now: float) -> float | None:
        """A request of this bucket will get no answer, and which one is not known: the
        oldest grant is no longer awaited (the next answer would otherwise be timed from
        it, a round trip far too long). Returns that grant's time, if any is still within
        FLIGHT_TTL."""
        with self.lock:
            return self._oldest(now)

    def forget(self, sent: float, now: float) -> bool:
        """The request granted at ``sent`` will get no answer: its grant is no longer
        awaited. Returns whether it is still within FLIGHT_TTL (an older one counts as in
        flight nowhere)."""
        with self.lock:
            self._drop(sent)
        return now - sent <= FLIGHT_TTL

    def awaited(self, now: float) -> bool:
        """Whether a grant of this bucket still awaits its answer (within FLIGHT_TTL)."""
        with self.lock:
            return bool(self.grants) and now - self.grants[-1] <= FLIGHT_TTL

    def _drop(self, sent: float) -> None:
        """Take the grant made at ``sent`` off the queue, if it is still there (one that an
        answer matched to the oldest grant took is not). Call with the lock held."""
        with contextlib.suppress(ValueError):
            self.grants.remove(sent)

    def _oldest(self, now: float) -> float | None:
        """The oldest grant still awaited, taken off the queue. Call with the lock held."""
        grants = self.grants
        while grants and now - grants[0] > FLIGHT_TTL:
            grants.popleft()  # its answer never came and no one said so
        return grants.popleft() if grants else None


def _check_policy(key: BucketKey, policy: RatePolicy) -> None:
    """Refuse a declared policy no window can keep: a limit below 1 or a window that is not
    a positive number of seconds up to a year would make a budget that never runs out."""
    if not policy_fits(policy.limit, policy.window):
        raise ConfigurationError(
            f"{key.platform} adapter declares {policy!r}: give a limit of at least 1 and a "
            "window of seconds above 0 and at most a year"
        )


class Governor:
    """Paces requests per (platform, app, account, bucket) so that no request is refused.

    - Starts from the adapter's declared `RatePolicy` list, so
      the first request of a run is already paced.
    - Learns from every response (all header styles, see `parse_rate_limit`): the
      server's ``remaining`` and ``reset`` replace the guesses.
    - Sends as soon as a window allows; when a window is spent, waits exactly until it
      resets. Whole-second resets that may have been truncated get ``resolution`` seconds
      more, unless the window is epoch-aligned and so exact.
    - Reads absolute resets on the server's clock: each origin's offset from ours is
      bounded by its answers' ``Date`` (and, for Rack::Attack, by the request time its
      resets carry), and resets are moved by the safe bound, with a margin that widens when
      a request is refused anyway.
    - Keeps its own log of sends (before any header) one edge margin past each window: a
      server counts a request when it arrives, up to a round trip after we logged it.
    - After a 429 that says nothing about when to come back, backs off exponentially with
      full jitter up to ``backoff_cap``, and lets only one request probe at a time.
    - Meta usage percentages at or above ``usage_threshold`` space calls out (one per
      36 s per point above the threshold); ``estimated_time_to_regain_access`` is honoured.

    ```python
    from brandkit import Client
    from brandkit.governor import Governor, SQLiteState

    client = Client(governor=Governor(SQLiteState("budget.db")))  # shared by processes
    ```

    Args:
        store: where state lives (default: `MemoryState`).
        clock: the current time in float seconds since the epoch (default: the store's
            shared clock when it has one, as `RedisState` and `PostgresState` do, so that
            hosts whose clocks disagree stamp the state alike; else a monotonic clock
            anchored on the wall clock). Tests pass a fake.
        resolution: seconds added to a reset the server may have truncated to whole seconds.
        backoff_base: the first backoff ceiling after a bare 429, in seconds.
        backoff_cap: the largest backoff ceiling, in seconds.
        usage_threshold: the Meta usage percentage at which calls are spaced out.
        rng: the random source of the jitter (tests pass a seeded one).
        max_server_wait: the longest wait a server may impose, in seconds (default 24 h): a
            ``Retry-After``, a reset or a Meta regain time further ahead is clamped to it, so
            that one hostile or broken answer cannot park an account for years. A window only
            declared (a `RatePolicy` no answer described) keeps its own wait.

    Raises:
        ConfigurationError: ``max_server_wait`` is not a positive finite number,
            ``resolution`` not seconds from 0 to an hour, ``backoff_base`` or
            ``backoff_cap`` not seconds above 0 and at most a week, or ``usage_threshold``
            not a percentage above 0 and at most 100.
    """

    def __init__(
        self,
        store: StateStore | None = None,
        *,
        clock: Callable[[], float] | None = None,
        resolution: float = 1.0,
        backoff_base: float = 1.0,
        backoff_cap: float = 300.0,
        usage_threshold: float = 90.0,
        rng: random.Random | None = None,
        max_server_wait: float = DEFAULT_MAX_WAIT,
    ) -> None:
        if not (isinstance(max_server_wait, int | float) and 0 < max_server_wait < math.inf):
            raise ConfigurationError(
                f"Governor(max_server_wait={max_server_wait!r}): give a positive number of "
                "seconds (default 86400)"
            )
        self.max_server_wait = float(max_server_wait)
        self.store: StateStore = store if store is not None else MemoryState()
        if clock is None:
            # A store shared by hosts (RedisState, PostgresState) offers its server's clock:
            # times written by hosts whose clocks disagree would be read wrongly by the others.
            shared = getattr(self.store, "clock", None)
            clock = shared if isinstance(shared, ServerTimeClock) else MonotonicClock()
        self.clock: Callable[[], float] = clock
        # A NaN here made every hold a "not before" of NaN, which holds nothing: requests
        # went at once after a bare 429, into more of them.
        self.resolution = checked_seconds(
            resolution,
            name="Governor(resolution=...)",
            most=3600.0,
            zero=True,
            why="added to whole-second resets a server may have truncated, e.g. 1.0",
        )
        self.backoff_base = checked_seconds(
            backoff_base,
            name="Governor(backoff_base=...)",
            most=_MAX_BACKOFF,
            why="the first backoff ceiling after a bare 429, e.g. 1.0",
        )
        self.backoff_cap = checked_seconds(
            backoff_cap,
            name="Governor(backoff_cap=...)",
            most=_MAX_BACKOFF,
            why="the largest backoff ceiling after bare 429s, e.g. 300",
        )
        if (
            isinstance(usage_threshold, bool)
            or not isinstance(usage_threshold, int | float)
            or not 0 < usage_threshold <= 100
        ):
            raise ConfigurationError(
                f"Governor(usage_threshold=...) must be a percentage above 0 and at most 100 "
                f"(the Meta usage at which calls are spaced out, e.g. 90), not "
                f"{usage_threshold!r}"
            )
        self.usage_threshold = float(usage_threshold)
        self._rng = rng if rng is not None else random.Random()
        self._token = object()  # whose grant `_GRANT` holds
        # Bounded (see `_plan`); most recently used last.
        self._plans: OrderedDict[BucketKey, _Plan] = OrderedDict()
        self._plans_lock = threading.Lock()
        # Scopes that this process saw backing off; a success there must clear the strikes.
        self._struck = _Struck()
        # Each server's clock offset, learned from its answers (kept in this process).
        self._servers = ServerClocks()

    # -- the GovernorProtocol ----------------------------------------------------------------

    def acquire(self, key: BucketKey, cost: int, policies: Sequence[RatePolicy]) -> float:
        """Reserve ``cost`` units of ``key``'s budget and return 0, or return the seconds to
        wait before asking again (nothing is reserved then).

        ``policies`` are the adapter's declared policies (those of other buckets are
        ignored). Never raises for a rate limit: the caller decides how long it will wait.

        Raises:
            ConfigurationError: a policy declares a limit below 1 or a window that is not
                seconds above 0 and at most a year (a budget that would never run out).
            BrandkitError: the state store failed (e.g. an SQLite file that cannot be written).
        """
        plan, now, change = self._reserve(key, cost, policies, self.clock())
        return self._reserved(key, cost, plan, now, self.store.update(plan.scopes, change))

    async def aacquire(self, key: BucketKey, cost: int, policies: Sequence[RatePolicy]) -> float:
        """`acquire` without blocking the event loop: the store's ``aupdate`` when it has
        one (`MemoryState` inline, `SQLiteState` in a worker thread, `RedisState` and
        `PostgresState` on their servers' async clients), else its ``update`` in a worker
        thread. The same decision as `acquire`, made by the same code.

        A task cancelled while the store decides still lets the update end (at most
        `SETTLE_WAIT` seconds): a grant it made is settled at once as `unsent` (the request
        never left), instead of counting as in flight until it expires, and then the
        cancellation goes on.

        Raises:
            ConfigurationError: as `acquire`.
            BrandkitError: the state store failed.
        """
        plan, now, change = self._reserve(key, cost, policies, await self._anow())
        guard = _Guard()
        wait = await self._aupdate(plan.scopes, change, guard)
        if guard.cancelled is not None:
            if wait == 0.0:
                # Granted as the task was cancelled: that request will never leave.
                def unsend(entries: Entries) -> None:
                    _settle(plan, entries, now, cost, refund=True)

                await self._aupdate(plan.scopes, unsend, guard)
            raise guard.cancelled
        return self._reserved(key, cost, plan, now, wait)

    def _reserve(
        self, key: BucketKey, cost: int, policies: Sequence[RatePolicy], now: float
    ) -> tuple[_Plan, float, Callable[[Entries], float]]:
        """What `acquire` does to the state at ``now``: its plan, and the change to apply."""
        plan = self._plan(key, policies, now)
        plan.cost = cost
        pad = self.resolution
        edge = plan.edge
        cap = self.max_server_wait

        spends = plan.spends

        def change(entries: Entries) -> float:
            for name, policy in plan.declared:
                found = entries.get(name)
                if found is None:
                    entries[name] = Slot(policy.limit, policy.window)
                elif type(found) is Slot and not found.server and found.limit != policy.limit:
                    # Until the platform describes it, a window is paced by the declared
                    # policy: a slot stored under an earlier one (an upgrade that corrected a
                    # limit) takes the limit declared now, or it kept the old one for good.
                    found.limit = policy.limit
            # What a server imposed (its resets, Retry-After, backoff and usage holds) is
            # capped; a window only declared keeps its own wait: the cap is for hostile or
            # broken answers, and cutting a declared day to it reported "in 600 s" all day.
            held = 0.0
            paced = 0.0
            slots: list[Slot] = []
            probes: list[Block] = []
            for (scope, _), entry in entries.items():
                if type(entry) is Slot:
                    if scope in spends:
                        entry.refresh(now, edge)
                        slots.append(entry)
                        w = entry.wait(now, cost, edge)
                        if entry.server:
                            held = max(held, w)
                        else:
                            paced = max(paced, w)
                elif isinstance(entry, Block):
                    if entry.until > now and (w := entry.until - now) > held:
                        held = w
                    if entry.strikes:
                        probes.append(entry)
                        self._struck.add(scope, now)
            if held > cap:
                # A hold stored further ahead than this governor's cap (by a governor with a
                # larger one, an older version, a hand-written row) is brought within it and
                # written back: the wait returned is capped, so the hold must end then too,
                # or every acquire would say "in 24 h" again, day after day.
                held = cap
                latest = now + cap
                for entry in entries.values():
                    if type(entry) is Slot:
                        if entry.server and entry.reset is not None and entry.reset > latest:
                            entry.reset = latest
                    elif isinstance(entry, Block) and entry.until > latest:
                        entry.until = latest
            wait = max(held, paced)
            if wait > 0.0:
                return wait
            for slot in slots:
                slot.take(now, cost, pad)
            for block in probes:
                # One request probes the platform; the others wait for its answer.
                block.until = now + self._ceiling(block.strikes)
            return 0.0

        return plan, now, change

    def _plan(self, key: BucketKey, policies: Sequence[RatePolicy] | None, now: float) -> _Plan:
        """``key``'s plan for ``policies`` (``None``: whichever it has, else one without
        any), made if needed, and marked as just used. Past `_MAX_PLANS` plans, the least
        recently used that await no answer are dropped.

        Raises:
            ConfigurationError: a policy that no window can keep (see `_check_policy`).
        """
        plans = self._plans
        with self._plans_lock:
            plan = plans.get(key)
            if plan is not None and (policies is None or plan.src is policies):
                plans.move_to_end(key)
                return plan
            plan = plans[key] = _Plan(key, () if policies is None else policies)
            plans.move_to_end(key)
            excess = len(plans) - _MAX_PLANS
            if excess > 0:
                # A plan whose grant still awaits its answer is kept: its answer, or its
                # loss, must settle that grant (`unanswered`, `unsent`).
                idle = [
                    k
                    for k, p in itertools.islice(plans.items(), excess + _EVICT_SCAN)
                    if k != key and not p.awaited(now)
                ]
                for k in idle[:excess]:
                    del plans[k]
            return plan

    def _reserved(self, key: BucketKey, cost: int, plan: _Plan, now: float, wait: float) -> float:
        """The store's answer to `_reserve`'s change, as `acquire` returns it (a server's
        holds already brought within ``max_server_wait``, a declared window's wait its own,
        at most its length)."""
        if wait == 0.0:
            plan.granted(now)
            _GRANT.set((self._token, key, now, cost))
        return wait

    def observe(self, key: BucketKey, response: httpx.Response) -> float | None:
        """Learn from ``response``; return the seconds to wait before repeating the request
        when the response refused it for going too fast (a 429, Telegram's body, Meta's
        throttling codes), else ``None``.

        Any response, even one without rate-limit headers (a proxy's 502), takes its
        request out of flight; its units stay spent. Its request is the grant `acquire` made
        for ``key`` in this thread or asyncio task, as the drivers observe it; called
        elsewhere, which request it answers is not known, and this process's oldest grant of
        ``key`` still awaited is taken. Call it once per response, and never also
        `unanswered`.

        Raises:
            BrandkitError: the state store failed. A malformed header never raises.
        """
        now = self.clock()
        change = self._hear(key, response, now, self._claim(key))
        if change is None:
            return None
        scopes, learn = change
        return self._heard(self.store.update(scopes, learn))

    async def aobserve(self, key: BucketKey, response: httpx.Response) -> float | None:
        """`observe` without blocking the event loop (the store as for `aacquire`).

        A task cancelled meanwhile still takes its request out of flight (the update ends,
        at most `SETTLE_WAIT` seconds later); then the cancellation goes on.

        Raises:
            BrandkitError: the state store failed. A malformed header never raises.
        """
        guard = _Guard()
        now = await self._anow(guard)
        change = self._hear(key, response, now, self._claim(key))
        wait = None
        if change is not None:
            wait = await self._aupdate(*change, guard)
        guard.check()
        return self._heard(wait)

    def unanswered(self, key: BucketKey) -> None:
        """Say that a request `acquire` granted for ``key`` will get no answer to `observe`:
        its connection broke, it timed out, or its sender gave up (a cancelled task).

        The request is no longer awaited. Once a window whose end is unknown has rolled
        over and its budget is spent, senders wait for the answers of that window's requests
        in flight, since one will say when the window ends; without this call they would
        wait for a lost one until it expires (two minutes). Its units stay spent: the server
        may have counted it. The drivers call it on every way out of a granted request that
        leaves no response; call it at most once per such request, and never for one whose
        response was observed (that would settle another request, still in flight).

        The request is known exactly when this is called in the thread or asyncio task that
        acquired it, as the drivers do; elsewhere this process's oldest grant of ``key``
        still awaited is settled.

        Raises:
            BrandkitError: the state store failed.
        """
        now = self.clock()
        change = self._settling(key, self._claim(key), now, refund=False)
        if change is not None:
            self.store.update(*change)

    async def aunanswered(self, key: BucketKey) -> None:
        """`unanswered` without blocking the event loop (the store as for `aacquire`); a task
        cancelled meanwhile still settles the request, as for `aobserve`.

        Raises:
            BrandkitError: the state store failed.
        """
        await self._asettle(key, refund=False)

    def unsent(self, key: BucketKey) -> None:
        """Say that a request `acquire` granted for ``key`` provably never reached the
        server: its connection was refused or timed out, or its host was not found, before
        any of it was written (``httpx.ConnectError``, ``ConnectTimeout``, ``PoolTimeout``,
        ``UnsupportedProtocol``).

        It is settled as by `unanswered`, and its units are given back where they are only
        our own log's (a window the server has not described yet): the server never
        counted it, so a network outage no longer spends the budget of every attempt made
        during it. A window the server described keeps them spent until it resets, since an
        answer may have replaced our count with the server's, which never held them.

        The grant is known exactly when this is called in the context (thread or asyncio
        task) that acquired it, as the drivers do; elsewhere it is settled as by
        `unanswered`, its units kept. Call it at most once per such request, instead of
        `unanswered`, and never for one whose response was observed.

        Raises:
            BrandkitError: the state store failed.
        """
        now = self.clock()
        change = self._settling(key, self._claim(key), now, refund=True)
        if change is not None:
            self.store.update(*change)

    async def aunsent(self, key: BucketKey) -> None:
        """`unsent` without blocking the event loop (the store as for `aacquire`); a task
        cancelled meanwhile still settles the request, as for `aobserve`.

        Raises:
            BrandkitError: the state store failed.
        """
        await self._asettle(key, refund=True)

    async def _asettle(self, key: BucketKey, *, refund: bool) -> None:
        """`unanswered` (``refund``: `unsent`) for async code, to its end (see `_Guard`)."""
        guard = _Guard()
        now = await self._anow(guard)
        change = self._settling(key, self._claim(key), now, refund=refund)
        if change is not None:
            await self._aupdate(*change, guard)
        guard.check()

    def _claim(self, key: BucketKey) -> tuple[float, int] | None:
        """The grant of ``key`` that this governor made last in this context (thread or
        asyncio task), if it is not settled yet: its time and cost. It is settled now (an
        answer or a settling call takes it once), so a later `unsent` can never give back
        the units of a request that was answered."""
        grant = _GRANT.get()
        if grant is None or grant[0] is not self._token or grant[1] != key:
            return None
        _GRANT.set(None)
        return grant[2], grant[3]

    def _settling(
        self, key: BucketKey, grant: tuple[float, int] | None, now: float, *, refund: bool
    ) -> tuple[Sequence[str], Callable[[Entries], None]] | None:
        """What `unanswered` (``refund``: `unsent`) does to the state: the scopes and the
        change to apply, or ``None`` when there is nothing to settle (no grant of ``key``
        still awaited; one older than FLIGHT_TTL no longer counts as in flight anyway).

        ``grant`` is the request's own (`_claim`). Without it, which request it was is not
        known: this process's oldest grant of ``key`` still awaited is settled, and its
        units stay spent."""
        plan = self._plans.get(key)
        if plan is None:
            return None
        if grant is None:
            sent = plan.unanswered(now)
            if sent is None:
                return None
            return plan.scopes, lambda entries: _settle(plan, entries, sent)
        sent, cost = grant
        if not plan.forget(sent, now):
            return None
        return plan.scopes, lambda entries: _settle(plan, entries, sent, cost, refund=refund)

    def _heard(self, wait: float | None) -> float | None:
        return None if wait is None else min(wait, self.max_server_wait)

    def _hear(
        self,
        key: BucketKey,
        response: httpx.Response,
        now: float,
        grant: tuple[float, int] | None,
    ) -> tuple[Sequence[str], Callable[[Entries], float | None]] | None:
        """What `observe` does to the state after ``response``, the answer to ``grant``'s
        request (`_claim`; ``None``: not known): the scopes and the change to apply (it
        returns the wait `observe` returns), or ``None`` when there is nothing to write."""
        plan = self._plan(key, None, now)
        sent = plan.answered(now, grant[0] if grant is not None else None)
        cost = grant[1] if grant is not None else None
        server = self._servers.get(response)
        date = date_of(response) if server is not None else None
        shift = 0.0
        if server is not None:
            if date is not None:
                server.learn_date(date, sent, now)
            shift = server.shift(now)
        info = parse_rate_limit(response, now=now, max_wait=self.max_server_wait, offset=shift)
        if info is None:
            struck = plan.account in self._struck
            if sent is None and not struck:
                return None

            def settle(entries: Entries) -> None:
                # No rate-limit headers (a proxy's 502, a front end's 500, an endpoint that
                # sends none): nothing is learnt about the window, but the request is no
                # longer in flight.
                if sent is not None:
                    _settle(plan, entries, sent, cost)
                if struck:
                    self._clear(plan, entries)

            return plan.scopes, settle
        heard = _Heard(now, response.status_code, server, date, sent, cost)
        # Read before the change: a store may run it twice (RedisState after a conflict),
        # and a first run that cleared the backoff takes the account off the list.
        heard.struck = plan.account in self._struck
        return plan.scopes, lambda entries: self._learn(plan, entries, info, heard)

    # -- the store and the clock, from async code ----------------------------------------------

    async def _aupdate(
        self, scopes: Sequence[str], change: Callable[[Entries], T], guard: _Guard
    ) -> T:
        """``store.update`` without blocking the event loop, to its end even when the task
        is cancelled meanwhile (see `_Guard`)."""
        store = self.store
        if type(store) is MemoryState:
            # Inline: it never waits, so no cancellation can come while it runs.
            return store.update(scopes, change)
        aupdate = getattr(store, "aupdate", None)
        if aupdate is not None:
            work: Coroutine[Any, Any, T] = aupdate(scopes, change)
        else:
            # A store of the user's own without an async twin may wait on I/O: not on the loop.
            work = asyncio.to_thread(store.update, scopes, change)
        return await guard.run(work)

    async def _anow(self, guard: _Guard | None = None) -> float:
        """``self.clock()``; a server's clock that is due for a new sample (a round trip to
        Redis or PostgreSQL, once every few seconds) is read in a worker thread (with a
        ``guard``, to its end even when the task is cancelled meanwhile)."""
        clock = self.clock
        if _samples(clock):
            work = asyncio.to_thread(clock)
            return await (guard.run(work) if guard is not None else work)
        return clock()

    # -- learning ------------------------------------------------------------------------------

    def _clear(self, plan: _Plan, entries: Entries) -> None:
        block = entries.get(plan.block)
        if isinstance(block, Block) and block.strikes:
            block.strikes = 0
            block.until = 0.0
        self._struck.discard(plan.account)

    def _learn(
        self, plan: _Plan, entries: Entries, info: RateLimitInfo, heard: _Heard
    ) -> float | None:
        now, status = heard.now, heard.status
        waits: list[float] = []
        landed: dict[int, tuple[Slot, bool]] = {}
        limited = info.limited
        names = plan.names
        for win in info.windows:
            if not win.limit and win.remaining is None:
                continue  # no count at all (a limit of 0 alone promises nothing)
            key = names.get(win.name if win.scope == "account" else "app:" + win.name)
            slot = entries.get(key) if key is not None else None
            if type(slot) is not Slot:
                scope = plan.app if win.scope == "app" else plan.account
                key = (scope, _match(entries, scope, win, now))
                names[win.name if win.scope == "account" else "app:" + win.name] = key
                slot = entries.get(key)
                if not isinstance(slot, Slot):
                    limit = win.limit or max(win.remaining or 0, 1)
                    slot = entries[key] = Slot(limit, win.window, remaining=limit)
            if not win.limit:
                # No readable limit, or 0 (which would make a budget that never runs out):
                # the window allows at least what it says remains, and one request once it
                # resets; its remaining and reset count all the same.
                win = win._replace(limit=max(slot.limit, win.remaining or 0, 1))
            slot.refresh(now, plan.edge)
            refused_late = limited and win.offset and slot.remaining >= plan.cost
            if refused_late and heard.server is not None and not heard.widened:
                # Refused although the corrected reset had passed: the server's clock (or the
                # one that stamps its Date) is further off than the answers showed. Once per
                # answer, however many times a store runs this change.
                heard.widened = True
                heard.server.widen()
            if limited and slot.aligned:
                # Refused although the window looked reset on time: the alignment guess was
                # wrong for this server; pad its resets from now on.
                slot.distrust()
            current = slot.learn(win, now)
            if slot.aligned and win.offset and not win.resolution and heard.date is not None:
                # (A nonzero offset marks a reset the server sent as an absolute time.)
                _request_time(slot, win, heard)
            seen = landed.get(id(slot))
            landed[id(slot)] = (slot, current or (seen is not None and seen[1]))
            if limited and slot.server and slot.remaining < plan.cost:
                reset = slot.reset
                if reset is not None and reset > now:
                    waits.append(reset - now)
        for slot, current in landed.values():
            slot.land(now, current=current, sent=heard.sent, cost=heard.cost)
        if heard.sent is not None:
            # The slots this answer said nothing about: the request is out of their flight
            # too, or it would hold their senders (see Slot.wait) until FLIGHT_TTL.
            _settle(plan, entries, heard.sent, heard.cost, landed)
        usage = info.app_usage is not None or info.account_usage is not None
        if usage:
            if info.app_usage is not None:
                # A regain time or Retry-After holds every account of the app only when the
                # app itself is spent: one Page over its Business Use Case budget (the
                # wait's usual source) must not stop the app's other Pages.
                spent = info.app_usage >= 100.0
                wait = info.retry_after if spent else None
                self._usage(entries, plan.app_wide, info.app_usage, wait, now)
            if info.account_usage is not None:
                self._usage(entries, plan.account_wide, info.account_usage, info.retry_after, now)
        if info.retry_after is not None and (status >= 400 or info.limited):
            block = self._block(entries, plan)
            block.until = max(block.until, now + info.retry_after)
            waits.append(info.retry_after)
        if not info.limited:
            if heard.struck or plan.account in self._struck:
                self._clear(plan, entries)
            return None
        if usage:
            for scope in (plan.app_wide, plan.account_wide):
                hold = entries.get((scope, _USAGE))
                if isinstance(hold, Block) and hold.wait(now) > 0:
                    waits.append(hold.wait(now))
        if waits:
            return max(waits)
        # A refusal that says nothing: back off exponentially with full jitter.
        block = self._block(entries, plan)
        block.strikes += 1
        delay = self._rng.uniform(0.0, self._ceiling(block.strikes))
        block.until = now + delay  # replaces the hold that kept others behind the probe
        self._struck.add(plan.account, now)
        return block.until - now

    @staticmethod
    def _block(entries: Entries, plan: _Plan) -> Block:
        block = entries.get(plan.block)
        if not isinstance(block, Block):
            block = entries[plan.block] = Block()
        return block

    def _usage(
        self, entries: Entries, scope: str, pct: float, wait: float | None, now: float
    ) -> None:
        block = entries.get((scope, _USAGE))
        if not isinstance(block, Block):
            block = Block()
            entries[(scope, _USAGE)] = block
        if wait is not None and wait > 0:
            block.until = max(block.until, now + wait)
        elif pct >= self.usage_threshold:
            over = min(pct, 100.0) - self.usage_threshold + 1.0
            block.until = max(block.until, now + 36.0 * over)
        # A lower usage never shortens a hold: every request of its scope waits while it is
        # on, so an answer arriving meanwhile is one sent before it, measured earlier.

    def _ceiling(self, strikes: int) -> float:
        return backoff(self.backoff_base, strikes - 1, self.backoff_cap)


class _Struck:
    """The account scopes this process saw backing off after bare 429s (their strikes are
    stored), so that a success there clears the strikes: `Governor._struck`.

    Bounded: a scope not seen backing off for `_STRUCK_TTL` seconds (the refusal, or an
    acquire that found its strikes) is forgotten, and past `_MAX_PLANS` scopes the least
    recently seen go first. A set kept every account that ever backed off and never
    succeeded again (a revoked token, an account no longer served), for the process's life.
    An account still in use is noted again by its next acquire, before its request leaves.
    """

    __slots__ = ("_lock", "_seen")

    def __init__(self) -> None:
        self._lock = threading.Lock()  # stores run their changes in threads too
        self._seen: OrderedDict[str, float] = OrderedDict()  # scope: when last seen

    def add(self, scope: str, now: float) -> None:
        """Note that ``scope`` backs off at ``now``, and forget what is too old."""
        with self._lock:
            seen = self._seen
            seen[scope] = now
            seen.move_to_end(scope)
            horizon = now - _STRUCK_TTL
            while len(seen) > _MAX_PLANS or next(iter(seen.values())) < horizon:
                seen.popitem(last=False)

    def discard(self, scope: str) -> None:
        """``scope`` no longer backs off (a success cleared its strikes)."""
        with self._lock:
            self._seen.pop(scope, None)

    def __contains__(self, scope: object) -> bool:
        return scope in self._seen

    def __len__(self) -> int:
        return len(self._seen)


class _Guard:
    """Lets the state changes of one governor call end although its task is cancelled
    meanwhile, then lets the cancellation through.

    An update handed to a thread or a server cannot be called back once it started (SQLite's
    thread commits anyway; Redis or PostgreSQL may have committed when the answer is lost).
    Were the task to unwind at once, a grant made, an answer or a lost request would never be
    settled, and would count as in flight until FLIGHT_TTL, holding senders of its bucket.
    So each step is awaited to its end, at most `SETTLE_WAIT` seconds after the first
    cancellation; later ones are taken as the same. Past that the step goes on alone and the
    cancellation goes through (`cancelled` holds it; `check` raises it)."""

    __slots__ = ("cancelled", "deadline")

    def __init__(self) -> None:
        self.cancelled: asyncio.CancelledError | None = None
        self.deadline = math.inf

    async def run(self, work: Coroutine[Any, Any, T]) -> T:
        """``await work``, to its end (see the class)."""
        task = asyncio.ensure_future(work)
        if self.cancelled is None:
            try:
                return await asyncio.shield(task)
            except asyncio.CancelledError as exc:
                if task.cancelled():
                    raise  # the step itself was cancelled (its loop is closing)
                self.cancelled = exc
                self.deadline = time.monotonic() + SETTLE_WAIT
        while not task.done():
            left = self.deadline - time.monotonic()
            if left <= 0:
                _abandon(task)
                raise self.cancelled
            try:
                await asyncio.wait([task], timeout=left)
            except asyncio.CancelledError:
                continue  # asked again: the first request goes through
        if task.cancelled() or task.exception() is not None:
            # The step failed: the cancellation, not the store's error, ends the task.
            raise self.cancelled from None if task.cancelled() else task.exception()
        return task.result()

    def check(self) -> None:
        """Let a cancellation that came meanwhile through."""
        if self.cancelled is not None:
            raise self.cancelled


_ABANDONED: set[asyncio.Future[Any]] = set()


def _abandon(task: asyncio.Future[Any]) -> None:
    """A state change that outlasted `SETTLE_WAIT` after its task was cancelled: it goes on
    alone (held here until it ends, its outcome read)."""
    logger.warning(
        "the rate-limit state did not answer within %g s of a cancellation; a request may "
        "count as in flight until it expires (%g s)",
        SETTLE_WAIT,
        FLIGHT_TTL,
    )
    _ABANDONED.add(task)
    task.add_done_callback(_ended)


def _ended(task: asyncio.Future[Any]) -> None:
    _ABANDONED.discard(task)
    if not task.cancelled():
        task.exception()  # read, so that asyncio does not report it as never retrieved


class _Heard:
    """What one answer says besides its rate-limit headers."""

    __slots__ = ("cost", "date", "now", "sent", "server", "status", "struck", "widened")

    def __init__(
        self,
        now: float,
        status: int,
        server: ServerClock | None,
        date: float | None,
        sent: float | None,
        cost: int | None,
    ) -> None:
        self.now = now
        self.status = status
        self.server = server
        self.date = date
        self.sent = sent  # the answered request's grant time (its own, or the oldest)
        self.cost = cost  # its cost when the grant is its own (see Slot.leave)
        self.struck = False  # the account was backing off when the answer came
        self.widened = False  # the server clock's margin was widened for this answer


def _settle(
    plan: _Plan,
    entries: Entries,
    sent: float,
    cost: int | None = None,
    landed: dict[int, tuple[Slot, bool]] | None = None,
    *,
    refund: bool = False,
) -> None:
    """Take the request granted at ``sent`` for ``cost`` units (``None``: not known, see
    `Slot.leave`) out of the flight of every slot it spent on (but those in ``landed``, which
    an answer already took it from): it got an answer that said nothing of those windows, or
    none at all. Its units stay spent (`Slot.lost`), but with ``refund`` for a request that
    never reached the server (`Slot.unsent`)."""
    spends = plan.spends
    for (scope, _), entry in entries.items():
        if type(entry) is Slot and scope in spends and (landed is None or id(entry) not in landed):
            if refund and cost is not None:
                entry.unsent(sent, cost)
            else:
                entry.lost(sent, cost)


def _request_time(slot: Slot, win: Window, heard: _Heard) -> None:
    """A Rack::Attack reset of a window proven aligned: its fraction is the server's request
    time's (``request_time + (period - request_time.to_i % period)``), which pins the server
    clock's offset within the round trip (see `brandkit.governor._skew`)."""
    if heard.server is None or heard.date is None or win.reset is None or not slot.window:
        return
    sent = round(win.reset + win.offset, 6)
    whole = math.floor(sent)
    if whole % int(slot.window):
        return
    heard.server.learn_request_time(sent - whole, heard.date, heard.sent, heard.now)


def _match(entries: Entries, scope: str, win: Window, now: float) -> str:
    """The name of the slot that a header window describes.

    A window of known length matches the slot of that length. A window of unknown length
    (X's ``x-rate-limit-*``, Mastodon's) matches a slot it can fit in (its reset lies within
    one window from now), preferring one with the same limit, then the shortest.
    """
    slots = [(name, e) for (sc, name), e in entries.items() if sc == scope and isinstance(e, Slot)]
    if win.window is not None:
        for name, slot in slots:
            if slot.window is not None and abs(slot.window - win.window) <= 0.01 * win.window:
                return name
        return _slot_name(win.window)
    horizon = None if win.reset is None else win.reset - now
    fits = [
        (name, slot)
        for name, slot in slots
        if slot.window is None or horizon is None or horizon <= slot.window + 1.0 + win.resolution
    ]
    same = [(name, slot) for name, slot in fits if slot.limit == win.limit]
    pool = same or fits
    if not pool:
        return _HEADER_ONLY
    return min(pool, key=lambda item: item[1].window or float("inf"))[0]


def rate_limited(
    key: BucketKey, seconds: float, *, platform_message: str | None = None
) -> RateLimited:
    """The [`RateLimited`][brandkit.errors.RateLimited] error for ``key`` when its budget frees up
    in ``seconds``: it carries ``retry_after``, ``reset_at`` and the bucket
    (``"platform:bucket"``). Returned, not raised."""
    reset_at = datetime.fromtimestamp(datetime.now(UTC).timestamp() + seconds, UTC)
    return RateLimited(
        f"{key.platform} rate limit {key.bucket!r} frees up in {seconds:.1f} s "
        f"(at {reset_at.isoformat(timespec='seconds')})",
        platform=key.platform,
        retry_after=seconds,
        reset_at=reset_at,
        bucket=f"{key.platform}:{key.bucket}",
        platform_message=platform_message,
        status_code=429 if platform_message is not None else None,
    )
