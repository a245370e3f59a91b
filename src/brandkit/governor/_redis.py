"""Governor state in Redis: processes on many hosts spend one budget.

Each scope is one Redis hash (``<prefix>gov:{<platform>|<app>}<rest of the scope>``, field =
entry name, value = the entry as JSON, plus a version field ``~v`` counting its writes). An
update reads the hashes of its scopes in one MULTI (a consistent snapshot), lets the governor
change the entries, and writes the result with a Lua script that first checks that no scope's
version moved: the compare-and-set is atomic on the server. If another process wrote any of
these scopes in between, nothing is written and the update starts again on the fresh state
(a bounded number of times). Two round trips per update, however many scopes. Every hash
expires a while after the last of its windows, resets and blocks, so idle accounts leave
nothing behind.

The scopes of one app share a hash tag, so one update's keys live in one slot of a Redis
Cluster as well.

An update is written once, as steps (read, compare-and-set, pause) that two drivers perform:
`RedisState.update` with redis-py, `RedisState.aupdate` with ``redis.asyncio`` (for
``AsyncClient``: the event loop never waits on Redis).
"""

from __future__ import annotations

import asyncio
import math
import random
import threading
import time
from collections.abc import Callable, Generator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from brandkit._durations import MAX_TIMEOUT, checked_seconds
from brandkit.backends import (
    DEFAULT_PREFIX,
    ServerTimeClock,
    aredis_client,
    check_prefix,
    redact_url,
    redis_client,
    scrub,
)
from brandkit.errors import BrandkitError
from brandkit.governor._aio import PerLoop
from brandkit.governor._slots import FLIGHT_TTL, Block, Entry
from brandkit.governor._state import Entries, _dump, _load

if TYPE_CHECKING:
    import redis
    import redis.asyncio
    from redis.commands.core import AsyncScript

__all__ = ["RedisState"]

T = TypeVar("T")

MAX_ATTEMPTS = 200  # optimistic retries of one update before it gives up
_BACKOFF_CAP = 0.02  # seconds: the longest pause between two attempts
# How long state outlives its last window: a key expires this long after the latest reset,
# window end or block it holds (never sooner than _MIN_TTL, never later than _MAX_TTL).
_GRACE = 60.0
_MIN_TTL = 60.0
_MAX_TTL = 8 * 86400.0
_UNKNOWN_WINDOW = 3600.0  # a server window of unknown length is kept at least this long
_STRIKES_MEMORY = 600.0  # backoff strikes are remembered this long after their block ends


def expires_at(entry: Entry, now: float) -> float:
    """When ``entry`` no longer says anything the governor would not assume anyway: its
    window has passed with every send and reset it logged, or its block (and the strikes
    that grow the next backoff) has run out. In the entry's own clock."""
    if isinstance(entry, Block):
        return max(entry.until, now) + _STRIKES_MEMORY
    window = entry.window if entry.window else _UNKNOWN_WINDOW
    ends = [now + window]
    if entry.reset is not None:
        ends.append(entry.reset + window)
    if entry.start is not None:
        ends.append(entry.start + window)
    if entry.runs:
        ends.append(max(run[1] for run in entry.runs) + window)
    if entry.flight:
        ends.append(max(f[0] for f in entry.flight) + FLIGHT_TTL)
    return max(ends)


def ttl_ms(entries: Sequence[Entry], now: float) -> int:
    """The milliseconds a scope holding ``entries`` must live."""
    end = max((expires_at(e, now) for e in entries), default=now) + _GRACE
    return math.ceil(min(max(end - now, _MIN_TTL), _MAX_TTL) * 1000)


_VERSION = b"~v"  # a hash field counting the writes of its scope (entry names never start with ~)
# Compare-and-set of several scopes: ARGV holds the versions read (one per key), then per key
# its TTL in ms (0: keep), the fields to delete and the field/value pairs to set. Nothing is
# written unless every key still has the version that was read.
_CAS = """
local n = #KEYS
for i = 1, n do
  local v = redis.call('HGET', KEYS[i], '~v') or ''
  if v ~= ARGV[i] then return 0 end
end
local pos = n + 1
for i = 1, n do
  local ttl = tonumber(ARGV[pos]); pos = pos + 1
  local ndel = tonumber(ARGV[pos]); pos = pos + 1
  for j = 1, ndel do redis.call('HDEL', KEYS[i], ARGV[pos]); pos = pos + 1 end
  local nset = tonumber(ARGV[pos]); pos = pos + 1
  for j = 1, nset do
    redis.call('HSET', KEYS[i], ARGV[pos], ARGV[pos + 1]); pos = pos + 2
  end
  if ndel > 0 or nset > 0 then
    redis.call('HINCRBY', KEYS[i], '~v', 1)
    if ttl > 0 then redis.call('PEXPIRE', KEYS[i], ttl) end
  end
end
return 1
"""


@attrs.frozen
class _Read:
    """Read every hash of ``keys`` in one MULTI (a consistent snapshot); answer: the hashes."""

    keys: list[str]


@attrs.frozen
class _Cas:
    """Run the compare-and-set script; answer: whether it wrote."""

    keys: list[str]
    args: list[str | int]


@attrs.frozen
class _Pause:
    """Sleep before the next attempt (a conflict); answer: ``None``."""

    seconds: float


_Step = _Read | _Cas | _Pause


class RedisState:
    """Governor state in Redis, shared by every process on every host that uses the same
    server and prefix.

    ```python
    from brandkit.governor import Governor, RedisState

    state = RedisState("redis://:password@redis.internal:6379/0")
    governor = Governor(state, clock=state.clock)  # one clock for all hosts: Redis TIME
    ```

    Updates are atomic: a snapshot read, then a server-side compare-and-set (a Lua script),
    retried on a conflict with jittered pauses, at most 200 times. ``change`` may therefore
    run more than once, each time on freshly read entries; only the last run's result is
    stored and returned. An entry that cannot be read
    back is dropped, as `SQLiteState` does.

    `aupdate` is the same update for async code, over ``redis.asyncio``: one client per event
    loop, made on first use and closed when that loop shuts down (``asyncio.run``,
    ``asyncio.Runner``), or earlier by ``await state.aclose()``.

    Args:
        url: a ``redis://``, ``rediss://`` or ``unix://`` URL (the password is never shown in
            messages or the repr).
        prefix: the key prefix (lower-case letters, digits, ``_``), so that several
            deployments can share one Redis.
        timeout: the connect and read timeout of each command, in seconds (above 0 and at
            most an hour).

    Raises:
        ConfigurationError: redis-py is not installed, the URL is not a Redis URL, the
            prefix is invalid, or ``timeout`` is not a number of seconds above 0 and at
            most 3600.
    """

    def __init__(self, url: str, *, prefix: str = DEFAULT_PREFIX, timeout: float = 10.0) -> None:
        self.prefix = check_prefix(prefix)
        self._url = url
        # Checked here: NaN, infinity or text failed only at the first command, with a bare
        # error, and None waited without end.
        self._timeout = checked_seconds(
            timeout,
            name="RedisState(timeout=...)",
            most=MAX_TIMEOUT,
            why="the connect and read timeout of each command, e.g. 10",
        )
        self._client: redis.Redis = redis_client(url, timeout=self._timeout)
        self._script = self._client.register_script(_CAS)
        # A redis.asyncio client is bound to the loop it was first used on.
        self._aclients: PerLoop[tuple[redis.asyncio.Redis, AsyncScript]] = PerLoop(
            self._new_aclient, _close_aclient
        )
        self._rng = random.Random()
        self._rng_lock = threading.Lock()
        self.clock = ServerTimeClock(self.server_time)
        """The server's clock (``TIME``), for ``Governor(clock=...)``."""

    def __repr__(self) -> str:
        return f"RedisState({redact_url(self._url)!r}, prefix={self.prefix!r})"

    def key(self, scope: str) -> str:
        """The Redis key of ``scope``'s hash."""
        parts = scope.split("|", 2)
        if len(parts) == 3:
            return f"{self.prefix}gov:{{{parts[0]}|{parts[1]}}}|{parts[2]}"
        return f"{self.prefix}gov:{{{scope}}}"

    def _fail(self, exc: Exception) -> BrandkitError:
        detail = scrub(f"{type(exc).__name__}: {exc}", self._url)
        return BrandkitError(f"governor state {redact_url(self._url)} failed: {detail}")

    def server_time(self) -> float:
        """Redis ``TIME`` as float seconds since the epoch.

        Raises:
            BrandkitError: Redis cannot be reached.
        """
        import redis

        try:
            seconds, micros = self._client.time()
        except redis.RedisError as exc:
            raise self._fail(exc) from None
        return float(seconds) + float(micros) / 1e6

    def update(self, scopes: Sequence[str], change: Callable[[Entries], T]) -> T:
        """See `StateStore.update`.

        Raises:
            BrandkitError: Redis cannot be reached, or the scopes stayed contended for 200
                attempts in a row.
        """
        import redis

        steps = self._steps(scopes, change)
        try:
            step = next(steps)
            while True:
                answer: Any = None
                if isinstance(step, _Read):
                    with self._client.pipeline(transaction=True) as pipe:
                        for key in step.keys:
                            pipe.hgetall(key)
                        answer = pipe.execute()
                elif isinstance(step, _Cas):
                    answer = bool(self._script(keys=step.keys, args=step.args))
                else:
                    time.sleep(step.seconds)
                step = steps.send(answer)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        except redis.RedisError as exc:
            raise self._fail(exc) from None

    async def aupdate(self, scopes: Sequence[str], change: Callable[[Entries], T]) -> T:
        """`update` for async code, over ``redis.asyncio``: the same steps, the same
        atomicity, without blocking the event loop.

        Raises:
            BrandkitError: as `update`.
        """
        import redis

        client, script = await self._aclients.get()
        steps = self._steps(scopes, change)
        try:
            step = next(steps)
            while True:
                answer: Any = None
                if isinstance(step, _Read):
                    async with client.pipeline(transaction=True) as pipe:
                        for key in step.keys:
                            pipe.hgetall(key)
                        answer = await pipe.execute()
                elif isinstance(step, _Cas):
                    answer = bool(await script(keys=step.keys, args=step.args))
                else:
                    await asyncio.sleep(step.seconds)
                step = steps.send(answer)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        except redis.RedisError as exc:
            raise self._fail(exc) from None

    def _new_aclient(self) -> tuple[redis.asyncio.Redis, AsyncScript]:
        client = aredis_client(self._url, timeout=self._timeout)
        return client, client.register_script(_CAS)

    def _steps(
        self, scopes: Sequence[str], change: Callable[[Entries], T]
    ) -> Generator[_Step, Any, T]:
        """One update as steps for a driver: read the scopes' hashes, apply ``change``,
        compare-and-set; after a conflict, pause and start again (at most 200 times)."""
        keys = {scope: self.key(scope) for scope in dict.fromkeys(scopes)}
        names = list(keys.values())
        for attempt in range(MAX_ATTEMPTS):
            # Round trip 1: every hash of the scopes, read in one MULTI.
            hashes: list[dict[Any, Any]] = yield _Read(names)
            result, args = self._changed(keys, hashes, change)
            # Round trip 2: the script writes only if no scope changed since the snapshot.
            if args is None or (yield _Cas(names, args)):
                return result
            with self._rng_lock:
                pause = self._rng.uniform(0, min(_BACKOFF_CAP, 0.0005 * 2**attempt))
            yield _Pause(pause)
        raise BrandkitError(
            f"governor state {redact_url(self._url)}: {MAX_ATTEMPTS} conflicting updates in a "
            "row; too many processes spend this budget at once"
        )

    def _changed(
        self,
        keys: dict[str, str],
        hashes: list[dict[Any, Any]],
        change: Callable[[Entries], T],
    ) -> tuple[T, list[str | int] | None]:
        """``change`` applied to the snapshot ``hashes``: its result, and the script's
        arguments that write it (``None``: nothing to write)."""
        stored: dict[tuple[str, str], str] = {}
        versions: list[str] = []
        entries: Entries = {}
        drops: dict[str, list[str]] = {}
        for scope, raw in zip(keys, hashes, strict=True):
            version = b""
            for field, value in raw.items():
                if field == _VERSION:
                    version = value
                    continue
                name = field.decode("utf-8", "replace")
                text = value.decode("utf-8", "replace")
                stored[(scope, name)] = text
                entry = _load(text)
                if entry is None:
                    drops.setdefault(scope, []).append(name)
                else:
                    entries[(scope, name)] = entry
            versions.append(version.decode("ascii", "replace"))
        result = change(entries)
        writes: dict[str, list[str]] = {}
        for (scope, name), entry in entries.items():
            if scope not in keys:
                continue  # change() may only add entries under the scopes it was given
            data = _dump(entry)
            if data is None:
                drops.setdefault(scope, []).append(name)
            elif stored.get((scope, name)) != data:
                writes.setdefault(scope, []).extend((name, data))
        if not drops and not writes:
            return result, None
        # The TTLs are reckoned on the clock the entries are written in: the server's, which
        # the governor reads by default (`clock`), once it has been sampled; the host's own,
        # hours off, kept a hold that long too short. Never a round trip here.
        clock = self.clock
        now = time.time() if clock.due() else clock()
        args: list[str | int] = [*versions]
        for scope in keys:
            kept = [e for (s, _), e in entries.items() if s == scope]
            dels = drops.get(scope, [])
            sets = writes.get(scope, [])
            args += [ttl_ms(kept, now) if kept else 0, len(dels), *dels, len(sets) // 2, *sets]
        return result, args

    def entries(self, scope: str) -> dict[str, Entry]:
        """The entries of ``scope`` (for inspection and tests)."""
        return self.update([scope], lambda found: {name: e for (_, name), e in found.items()})

    def ttl(self, scope: str) -> float | None:
        """Seconds until ``scope``'s state expires (``None``: no state)."""
        millis: Any = self._client.pttl(self.key(scope))
        return None if int(millis) < 0 else int(millis) / 1000

    def __enter__(self) -> RedisState:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def aclose(self) -> None:
        """Close the ``redis.asyncio`` client of the running event loop now (if `aupdate`
        made one; it would be closed with its loop anyway). The synchronous client stays
        open until `close`."""
        await self._aclients.aclose()

    def close(self) -> None:
        """Close this process's connections (and the async clients of event loops that are
        not running; one of a running loop is closed by `aclose` or with its loop)."""
        self._client.close()
        self._aclients.close_idle()


async def _close_aclient(found: tuple[redis.asyncio.Redis, AsyncScript]) -> None:
    await found[0].aclose()
