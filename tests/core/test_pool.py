"""brandkit._pool: the pools of brandkit's own clients keep httpcore's rules in one linear
pass: idle connections kept up to ``max_keepalive_connections`` (counted as idle, not as all),
a connection given to a waiting request never closed under it, and over real sockets an
AsyncClient with more concurrent requests than that keeps its connections instead of opening
one per request."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import httpcore
import httpx
import pytest
from httpcore._synchronization import AsyncLock

from brandkit import AsyncClient, Client
from brandkit._pool import _AsyncPool, _Pool, _quicken, _QuickLock, adopt
from tests.core.test_asyncnet import http_answer, serve

ORIGIN = httpcore.URL("http://a.example/").origin
OTHER = httpcore.URL("http://b.example/").origin


class FakeConnection:
    """A connection's state as the pool reads it; counts the reads of ``is_idle``."""

    reads = 0

    def __init__(
        self,
        origin: Any = ORIGIN,
        *,
        idle: bool = True,
        closed: bool = False,
        expired: bool = False,
    ) -> None:
        self.origin, self.idle, self.closed, self.expired = origin, idle, closed, expired

    def is_idle(self) -> bool:
        FakeConnection.reads += 1
        return self.idle

    def is_closed(self) -> bool:
        return self.closed

    def has_expired(self) -> bool:
        return self.expired

    def is_available(self) -> bool:
        return self.idle and not self.closed

    def can_handle_request(self, origin: Any) -> bool:
        return bool(origin == self.origin)


def pool(cls: type[Any] = _Pool, **limits: Any) -> Any:
    # The two classes share one pass; the sync one's requests need no running loop.
    made = cls(**limits)
    made.create_connection = lambda origin: FakeConnection(origin, idle=False)
    return made


def waiting(the_pool: Any, url: str = "http://a.example/x") -> Any:
    request = httpcore.Request("GET", url)
    entry = (
        httpcore._async.connection_pool.AsyncPoolRequest(request)
        if isinstance(the_pool, httpcore.AsyncConnectionPool)
        else httpcore._sync.connection_pool.PoolRequest(request)
    )
    the_pool._requests.append(entry)
    return entry


@pytest.mark.parametrize("cls", [_Pool, _AsyncPool])
def test_idle_connections_past_the_keepalive_limit_are_closed_and_counted_as_idle(
    cls: type[Any],
) -> None:
    """25 busy and 5 idle connections under a limit of 20 idle: nothing is closed (httpcore
    1.0 counted all 30 and closed the 5). 25 idle: the 5 past the limit close; closed and
    expired ones go too."""
    p = pool(cls, max_connections=100, max_keepalive_connections=20)
    p._connections[:] = [FakeConnection(idle=False) for _ in range(25)]
    p._connections += [FakeConnection() for _ in range(5)]
    assert p._assign_requests_to_connections() == []
    assert len(p._connections) == 30

    idle = [FakeConnection() for _ in range(25)]
    gone, stale = FakeConnection(closed=True), FakeConnection(expired=True)
    p._connections[:] = [*idle, gone, stale]
    closing = p._assign_requests_to_connections()
    # The oldest idle ones (first in the list) go, as httpcore closes them.
    assert closing == [stale, *idle[:5]]
    assert p._connections == idle[5:]


def test_a_connection_given_to_a_waiting_request_is_never_closed_as_surplus() -> None:
    """With no keep-alive at all, an idle connection already given to a request that has
    not started on it stays; an idle one nobody waits for is closed."""
    p = pool(max_connections=10, max_keepalive_connections=0)
    given, spare = FakeConnection(), FakeConnection()
    p._connections[:] = [given, spare]
    waiting(p).assign_to_connection(given)
    assert p._assign_requests_to_connections() == [spare]
    assert p._connections == [given]


def test_one_pass_reads_each_connection_s_state_once() -> None:
    """100 idle connections: httpcore 1.0's pass read ``is_idle`` 10,100 times."""
    p = pool(max_connections=200, max_keepalive_connections=100)
    p._connections[:] = [FakeConnection() for _ in range(100)]
    FakeConnection.reads = 0
    p._assign_requests_to_connections()
    assert FakeConnection.reads == 100


def test_a_waiting_request_gets_a_connection_to_its_origin_or_a_new_one() -> None:
    p = pool(max_connections=3)
    mine = FakeConnection(ORIGIN)
    p._connections[:] = [FakeConnection(OTHER, idle=False), mine]
    first = waiting(p)
    p._assign_requests_to_connections()
    assert first.connection is mine
    second = waiting(p, "http://b.example/y")  # b's connection is busy: a new one
    p._assign_requests_to_connections()
    assert second.connection not in (mine, None) and len(p._connections) == 3
    assert second.connection.origin == OTHER


def test_a_full_pool_replaces_an_idle_connection_but_never_one_spoken_for() -> None:
    """Full (2 of 2): a request for another origin takes the place of an idle connection,
    not of the idle one already given to a request that has not started on it; with no
    other idle one it waits."""
    p = pool(max_connections=2)
    given, spare = FakeConnection(ORIGIN), FakeConnection(ORIGIN)
    p._connections[:] = [given, spare]
    early = waiting(p)
    early.assign_to_connection(given)  # not started yet: still idle
    other = waiting(p, "http://b.example/")
    closing = p._assign_requests_to_connections()
    assert closing == [spare]
    assert given in p._connections and other.connection.origin == OTHER
    late = waiting(p, "http://b.example/z")
    p._connections[1].idle = False
    assert p._assign_requests_to_connections() == []
    assert late.connection is None  # waits for one to come free


def test_a_connection_given_out_in_a_pass_is_not_replaced_later_in_that_pass() -> None:
    """Full (2 of 2), two waiting requests: the first takes the idle connection to its
    origin; the second, for another origin, replaces the other idle one, not that one."""
    p = pool(max_connections=2)
    first_idle, second_idle = FakeConnection(ORIGIN), FakeConnection(ORIGIN)
    p._connections[:] = [first_idle, second_idle]
    mine, theirs = waiting(p), waiting(p, "http://b.example/")
    assert p._assign_requests_to_connections() == [second_idle]
    assert mine.connection is first_idle and first_idle in p._connections
    assert theirs.connection.origin == OTHER


def test_brandkit_s_own_clients_use_the_linear_pools() -> None:
    with Client() as client:
        assert type(client._transport._pool) is _Pool  # type: ignore[union-attr]

    async def main() -> None:
        async with AsyncClient() as client:
            assert type(client._transport._pool) is _AsyncPool  # type: ignore[union-attr]

    asyncio.run(main())
    theirs = httpx.Client()
    adopt(theirs._transport._pool)  # type: ignore[attr-defined]
    assert type(theirs._transport._pool) is _Pool  # type: ignore[attr-defined]
    with Client(http=theirs) as passed:
        assert passed._http is theirs
    theirs.close()
    untouched = object()
    adopt(untouched)
    assert type(untouched) is object


def test_more_concurrent_requests_than_keepalive_reuse_their_connections() -> None:
    """32 tasks, 9 requests each, over real sockets to one keep-alive server on 127.0.0.1:
    the pool keeps about one connection per task (httpcore 1.0's opened one per request
    past 20 connections: a TLS handshake each on HTTPS)."""
    tasks, rounds = 32, 9

    async def main() -> int:
        async with serve(http_answer) as port, AsyncClient() as client:
            the_pool = client._transport._pool  # type: ignore[union-attr]
            opened = [0]
            create = the_pool.create_connection

            def counted(origin: Any) -> Any:
                opened[0] += 1
                return create(origin)

            the_pool.create_connection = counted

            async def task(i: int) -> None:
                for j in range(rounds):
                    answer = await client._http.get(f"http://127.0.0.1:{port}/t{i}r{j}")
                    assert answer.text == f"/t{i}r{j}"

            await asyncio.gather(*(task(i) for i in range(tasks)))
            return opened[0]

    opened = asyncio.run(asyncio.wait_for(main(), 60))
    assert tasks <= opened <= 2 * tasks < tasks * rounds


def test_a_request_on_a_kept_alive_connection_takes_four_passes_of_the_event_loop() -> None:
    """Counted by a task that runs once per pass of the loop, the server in the same loop:
    a request on a connection kept alive takes 4 passes (httpcore's anyio locks, which
    yield before taking a free lock, made it 7). Each pass waits for everything else that
    is ready, so on a busy loop (an inbox sync of 20 accounts) those 3 passes were most of
    a request's time."""

    async def main() -> list[int]:
        async with serve(http_answer) as port, AsyncClient() as client:
            passes = [0]

            async def ticker() -> None:
                while True:
                    passes[0] += 1
                    await asyncio.sleep(0)

            counting = asyncio.create_task(ticker())
            taken = []
            for j in range(6):
                before = passes[0]
                answer = await client._http.get(f"http://127.0.0.1:{port}/r{j}")
                assert answer.text == f"/r{j}"
                taken.append(passes[0] - before)
            counting.cancel()
            return taken

    first, *kept_alive = asyncio.run(asyncio.wait_for(main(), 30))
    assert first > 4  # the first connects
    assert kept_alive == [4] * 5


def test_the_quick_lock_is_taken_at_once_when_free_and_in_turn_when_held() -> None:
    async def main() -> list[str]:
        lock, order = _QuickLock(), []

        async def holder(name: str) -> None:
            async with lock:
                order.append(f"{name} in")
                await asyncio.sleep(0.01)
                order.append(f"{name} out")

        first = asyncio.create_task(holder("a"))
        await asyncio.sleep(0)
        await asyncio.gather(first, holder("b"), holder("c"))
        return order

    assert asyncio.run(main()) == ["a in", "a out", "b in", "b out", "c in", "c out"]


def test_only_a_free_httpcore_lock_is_replaced() -> None:
    class Owner:
        def __init__(self) -> None:
            self.free = AsyncLock()
            self.held = AsyncLock()
            self.other = asyncio.Lock()

    async def main() -> None:
        owner = Owner()
        await owner.held.__aenter__()
        held, other = owner.held, owner.other
        for name in ("free", "held", "other", "missing"):
            _quicken(owner, name)
        assert isinstance(owner.free, _QuickLock)
        assert owner.held is held and owner.other is other
        assert not hasattr(owner, "missing")
        await held.__aexit__(None, None, None)

    asyncio.run(main())


def test_requests_cancelled_before_using_their_new_connection_do_not_leave_it_in_the_pool() -> None:
    """150 requests at once, each under a caller's deadline of 0-10 ms, to a server that
    answers in 50 ms, three times: the requests that a pass gave a new connection and that
    were cancelled before starting on it leave nothing behind (httpcore#1093 keeps such a
    connection, and its slot, for ever: after two bursts every request was a PoolTimeout)."""
    chooser = random.Random(1)

    async def slow_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                await asyncio.sleep(0.05)
                path = head.split(b" ")[1]
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(path), path))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        async with serve(slow_answer) as port, AsyncClient(timeout=2) as client:
            the_pool = client._transport._pool  # type: ignore[union-attr]

            async def one(i: int) -> None:
                try:
                    async with asyncio.timeout(chooser.uniform(0, 0.01)):
                        await client._http.get(f"http://127.0.0.1:{port}/r{i}")
                except TimeoutError:
                    pass

            for _ in range(3):
                await asyncio.gather(*(one(i) for i in range(150)))
                await asyncio.sleep(0.1)
                left = [
                    c
                    for c in the_pool._connections
                    if c._connection is None or c._connection._state.name == "NEW"
                ]
                assert left == []
                assert the_pool._requests == []
            answer = await client._http.get(f"http://127.0.0.1:{port}/after")
            assert answer.text == "/after"

    asyncio.run(asyncio.wait_for(main(), 60))
