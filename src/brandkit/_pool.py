"""httpcore 1.0's connection pools with their bookkeeping pass made linear.

httpcore runs ``_assign_requests_to_connections`` when a request arrives and when an answer
is done. Its first loop keeps at most ``max_keepalive_connections`` idle connections, but
counts them with ``len([c.is_idle() for c in connections])`` for each idle connection: the
length of that list is the number of *all* connections, and building it is a pass over
them. So each pass costs connections² calls, and while more than ``max_keepalive_connections``
(20) connections are open, idle ones are closed until 20 remain, however few are idle: an
`AsyncClient` reading 32 accounts of one host opened a new connection (a TLS handshake) for
nearly every request. httpcore#1035 and httpx2#974 describe it; httpcore 1.0.9 still has it.

brandkit's own clients use the pools below (`adopt`), whose pass walks the connections once,
counts the idle ones, and never closes a connection it has just given to a waiting request
(httpcore#1110). Everything else is httpcore's.

The async pool's connections also take their locks without a pass of the event loop when
no one holds them (`_QuickLock`). httpcore's are anyio locks, which always yield first: three
passes for each request on a connection that only one request uses at a time. While the loop
is busy (an inbox sync parsing pages for 20 accounts), each pass waits for everything else
that is ready, so a request that needed 50 ms took 100-400 ms to make.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpcore

try:  # httpcore 1.0's layout; adopt() leaves the pools of any other httpcore alone
    from httpcore._async.http11 import AsyncHTTP11Connection, HTTPConnectionState
    from httpcore._sync.http11 import HTTP11Connection
    from httpcore._synchronization import AsyncLock
except ImportError:  # pragma: no cover - another httpcore
    AsyncHTTP11Connection = AsyncLock = HTTP11Connection = HTTPConnectionState = None  # type: ignore[assignment,misc]

_HTTP11 = (AsyncHTTP11Connection, HTTP11Connection)

__all__ = ["adopt"]


def _assign_requests_to_connections(self: Any) -> list[Any]:
    """The pools' bookkeeping pass, with httpcore 1.0's behaviour otherwise: drop closed
    connections, close expired ones and idle ones past ``max_keepalive_connections``, then
    give each waiting request an available connection to its origin, a new one while the
    pool has room, or a new one in place of an idle one. Returns the connections to close."""
    closing: list[Any] = []
    # A connection given to a request that has not started on it yet still reads as idle.
    spoken_for = {id(r.connection) for r in self._requests if r.connection is not None}
    live: list[Any] = []
    idle: list[Any] = []
    for connection in self._connections:
        if connection.is_closed():
            continue
        if connection.has_expired() or (
            id(connection) not in spoken_for and _never_used(connection)
        ):
            closing.append(connection)
            continue
        live.append(connection)
        if connection.is_idle() and id(connection) not in spoken_for:
            idle.append(connection)
    # The oldest idle connections (first in the list) go first, as httpcore closes them.
    surplus = {id(c) for c in idle[: max(0, len(idle) - self._max_keepalive_connections)]}
    closing += [c for c in live if id(c) in surplus]
    self._connections[:] = [c for c in live if id(c) not in surplus]

    for pool_request in self._requests:
        if not pool_request.is_queued():
            continue
        origin = pool_request.request.url.origin
        connection = next(
            (c for c in self._connections if c.can_handle_request(origin) and c.is_available()),
            None,
        )
        if connection is None:
            if len(self._connections) >= self._max_connections:
                spare = next(
                    (c for c in self._connections if c.is_idle() and id(c) not in spoken_for),
                    None,
                )
                if spare is None:
                    continue  # the request waits for a connection to come free
                self._connections.remove(spare)
                closing.append(spare)
            connection = self.create_connection(origin)
            self._connections.append(connection)
        self._handing_out(connection)
        pool_request.assign_to_connection(connection)
        spoken_for.add(id(connection))
    return closing


def _never_used(connection: Any) -> bool:
    """Whether ``connection`` was given to a request that left before using it: never
    connected, or connected but with no request started on it (HTTP/1.1 ``NEW``).

    A request cancelled (a caller's ``asyncio.timeout``) after the pass gave it a new
    connection, and before it started on it, leaves that connection neither idle, closed,
    expired nor available: httpcore keeps it, and its slot, forever (httpcore#1093), and
    once ``max_connections`` are such, every request ends in ``PoolTimeout``. Asked only of
    connections no queued or running request holds."""
    inner = getattr(connection, "_connection", connection)
    if inner is None:
        return not getattr(connection, "_connect_failed", True)
    return type(inner) in _HTTP11 and inner._state is HTTPConnectionState.NEW


class _Pool(httpcore.ConnectionPool):
    _assign_requests_to_connections = _assign_requests_to_connections

    @staticmethod
    def _handing_out(connection: Any) -> None:
        """Called for each connection the pass gives to a request (nothing to do here)."""


class _QuickLock:
    """httpcore's ``AsyncLock`` on ``asyncio.Lock``: taken at once when free (anyio's lock
    first yields to the event loop, even then), waited for in turn when held."""

    __slots__ = ("_lock",)

    def __init__(self) -> None:
        self._lock = asyncio.Lock()

    async def __aenter__(self) -> _QuickLock:
        await self._lock.acquire()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._lock.release()


def _quicken(owner: object, name: str) -> None:
    """Replace ``owner``'s httpcore lock ``name`` by a `_QuickLock`, unless it is held (or
    is not httpcore's ``AsyncLock``)."""
    lock = getattr(owner, name, None)
    if type(lock) is not AsyncLock:
        return
    inner = getattr(lock, "_anyio_lock", None)
    if inner is not None and inner.locked():
        return
    setattr(owner, name, _QuickLock())


class _AsyncPool(httpcore.AsyncConnectionPool):
    _assign_requests_to_connections = _assign_requests_to_connections

    @staticmethod
    def _handing_out(connection: Any) -> None:
        """Quicken the locks of a connection the pass gives to a request: new, or between
        requests, so no one holds them. Its HTTP/1.1 connection exists once its first
        request has connected, so that lock is replaced from its second request on."""
        _quicken(connection, "_request_lock")
        inner = getattr(connection, "_connection", None)
        if type(inner) is AsyncHTTP11Connection:
            _quicken(inner, "_state_lock")


def adopt(pool: object) -> None:
    """Give ``pool`` (the pool inside an ``httpx`` transport brandkit made) the linear
    pass; a pool of another class, or of an httpcore other than 1.0, is left as it is."""
    if not httpcore.__version__.startswith("1.0."):
        return
    if type(pool) is httpcore.ConnectionPool:
        pool.__class__ = _Pool
    elif type(pool) is httpcore.AsyncConnectionPool:
        pool.__class__ = _AsyncPool
