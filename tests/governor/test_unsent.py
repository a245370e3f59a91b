"""A granted request that provably never reached the server (its connection refused, a
connect timeout, a host not found: ``httpx.ConnectError``/``ConnectTimeout`` before any byte
was written) gives its units back (`Governor.unsent`) where they are only our own log's: the
server never counted it, so an outage no longer spends the budget of every attempt made
during it. A window the server described keeps them spent (see `Slot.unsent`)."""

from __future__ import annotations

import asyncio
import contextvars
import socket
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from brandkit import AsyncClient, Client, RetryPolicy
from brandkit._hooks import BucketKey
from brandkit.errors import TransportError
from brandkit.governor import Governor, MemoryState, SQLiteState, StateStore
from brandkit.governor._slots import Slot
from brandkit.platforms._base import RatePolicy
from brandkit.testing import Emulator, route
from tests.governor._settling import Bounded, Recording
from tests.governor.conftest import PostAdapter, account
from tests.governor.test_unknown_window import KEY, T0, answer

# Two posts a minute, in our own log only (the emulator sends no rate-limit headers).
POLICIES = (RatePolicy("post", 2, 60.0),)
RETRY = RetryPolicy(attempts=3, initial=0.01, max_backoff=0.05)


class Plain(Emulator):
    """One endpoint that answers every post, without rate-limit headers."""

    platform = "fake"

    @route("POST", "/post")
    def post(self, request: httpx.Request) -> httpx.Response:
        return self.json({"id": str(len(self.requests))})


@pytest.fixture
def emu() -> Iterator[Plain]:
    emu = Plain()
    with emu.serve():
        yield emu


def closed_port() -> int:
    """A port on 127.0.0.1 that refuses connections (bound a moment ago, now closed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_refused_connections_give_their_units_back(emu: Plain) -> None:
    """Over loopback: three attempts, each refused, spend nothing of the two posts a minute;
    the next two posts go at once (before, the third attempt already waited a minute). A
    request that may have reached the server (its connection cut after it was handled)
    keeps its unit spent."""
    sleep = Bounded()
    governor = Recording()
    down = PostAdapter(account(base_url=f"http://127.0.0.1:{closed_port()}"), POLICIES)
    up = PostAdapter(account(base_url=emu.base_url), POLICIES)  # the same bucket key
    with Client(governor=governor, retry=RETRY, sleep=sleep) as client:
        sleep.arm()
        started = time.monotonic()
        with pytest.raises(TransportError):
            client.run(down, down.post())
        assert governor.calls == ["unsent"] * 3
        assert client.run(up, up.post()).status_code == 200
        emu.fault(path="/post", drop="after")  # handled, then the connection is cut
        with pytest.raises(TransportError):
            client.run(up, up.post(idempotent=False))
        took = time.monotonic() - started
        assert governor.calls[3:] == ["unanswered"]
        assert emu.count("POST", "/post") == 2
        # Both posts of the minute are spent by requests the server may have counted.
        assert governor.acquire(_key(up), 1, POLICIES) > 50
    assert took < 2.0


def test_asyncclient_gives_the_units_of_refused_connections_back(emu: Plain) -> None:
    sleep = Bounded()
    governor = Recording()
    down = PostAdapter(account(base_url=f"http://127.0.0.1:{closed_port()}"), POLICIES)
    up = PostAdapter(account(base_url=emu.base_url), POLICIES)

    async def run() -> float:
        async with AsyncClient(governor=governor, retry=RETRY, sleep=sleep.asleep) as client:
            sleep.arm()
            started = time.monotonic()
            with pytest.raises(TransportError):
                await client.run(down, down.post())
            for _ in range(2):
                assert (await client.run(up, up.post())).status_code == 200
            return time.monotonic() - started

    assert asyncio.run(run()) < 2.0
    assert governor.calls == ["unsent"] * 3


def test_only_a_connection_never_made_gives_units_back() -> None:
    """The drivers call ``unsent`` for httpx's errors raised before a request is written,
    and ``unanswered`` (units kept) for those after it may have been."""
    raised: list[Exception] = []

    def fail(request: httpx.Request) -> httpx.Response:
        raise raised[-1]

    governor = Recording()
    adapter = PostAdapter(account())  # no declared window: no request waits for another
    errors: list[tuple[Exception, str]] = [
        (httpx.ConnectError("refused"), "unsent"),
        (httpx.ConnectTimeout("connect timed out"), "unsent"),
        (httpx.PoolTimeout("no connection free"), "unsent"),
        (httpx.WriteError("broken pipe"), "unanswered"),
        (httpx.WriteTimeout("write timed out"), "unanswered"),
        (httpx.ReadTimeout("read timed out"), "unanswered"),
        (httpx.ReadError("reset"), "unanswered"),
        (httpx.RemoteProtocolError("closed without an answer"), "unanswered"),
    ]
    with (
        httpx.Client(transport=httpx.MockTransport(fail)) as http,
        Client(governor=governor, http=http, retry=RetryPolicy(attempts=1)) as client,
    ):
        for exc, _ in errors:
            raised.append(exc)
            with pytest.raises(TransportError):
                client.run(adapter, adapter.post(idempotent=False))
    assert governor.calls == [settled for _, settled in errors]


def _key(adapter: PostAdapter) -> BucketKey:
    return BucketKey(adapter.name, adapter.app_id, adapter.account.key, "post")


# -- the governor ------------------------------------------------------------------------------


def _state(shared: bool, tmp_path: Path) -> StateStore:
    return SQLiteState(tmp_path / "gov.db") if shared else MemoryState()


@pytest.mark.parametrize("shared", [False, True], ids=["memory", "sqlite"])
def test_unsent_gives_a_local_window_its_units_back(shared: bool, tmp_path: Path) -> None:
    now = [T0]
    governor = Governor(_state(shared, tmp_path), clock=lambda: now[0])
    assert governor.acquire(KEY, 1, POLICIES) == 0
    assert governor.acquire(KEY, 1, POLICIES) == 0
    assert governor.acquire(KEY, 1, POLICIES) > 59  # the minute is spent
    governor.unsent(KEY)  # the last grant never left
    assert governor.acquire(KEY, 1, POLICIES) == 0
    assert governor.acquire(KEY, 1, POLICIES) > 59
    (slot,) = _slots(governor)
    assert slot.runs == [[T0, T0, 2.0]]


def test_unsent_gives_back_its_own_grant_not_the_oldest() -> None:
    """Two requests of this process in flight (each sent in its own thread or task): the
    one that never left gives back its own units, logged when it was granted, not those of
    the older one, whose send stays in the log where it was."""
    now = [T0]
    governor = Governor(clock=lambda: now[0])
    first, second = contextvars.copy_context(), contextvars.copy_context()
    assert first.run(governor.acquire, KEY, 1, POLICIES) == 0
    now[0] = T0 + 10
    assert second.run(governor.acquire, KEY, 1, POLICIES) == 0
    second.run(governor.unsent, KEY)
    (slot,) = _slots(governor)
    assert slot.runs == [[T0, T0, 1.0]]
    second.run(governor.unsent, KEY)  # once only: a second call settles as unanswered
    (slot,) = _slots(governor)
    assert slot.runs == [[T0, T0, 1.0]]


def test_unsent_elsewhere_than_its_grant_keeps_the_units() -> None:
    """Called outside the context that acquired (which grant it was is not known), or by
    another governor, it settles as `unanswered` does: the units stay spent."""
    now = [T0]
    governor = Governor(clock=lambda: now[0])
    granted = contextvars.copy_context()
    assert granted.run(governor.acquire, KEY, 1, POLICIES) == 0
    contextvars.copy_context().run(governor.unsent, KEY)
    granted.run(Governor(governor.store, clock=lambda: now[0]).unsent, KEY)
    (slot,) = _slots(governor)
    assert slot.runs == [[T0, T0, 1.0]]
    granted.run(governor.unsent, KEY)
    assert _slots(governor)[0].runs == []


def test_an_answered_or_settled_grant_is_never_given_back() -> None:
    """Once its request was observed (or settled as unanswered), a grant is no longer this
    context's to give back: a stray `unsent` keeps the units spent."""
    now = [T0]
    governor = Governor(clock=lambda: now[0])
    assert governor.acquire(KEY, 1, POLICIES) == 0
    governor.observe(KEY, httpx.Response(200))
    governor.unsent(KEY)
    assert governor.acquire(KEY, 1, POLICIES) == 0
    governor.unanswered(KEY)
    governor.unsent(KEY)
    assert governor.acquire(KEY, 1, POLICIES) > 59
    assert _slots(governor)[0].runs == [[T0, T0, 2.0]]


@pytest.mark.parametrize("shared", [False, True], ids=["memory", "sqlite"])
def test_unsent_in_a_server_window_keeps_the_units_but_not_the_flight(
    shared: bool, tmp_path: Path
) -> None:
    """A window the server described: an answer since the grant may have put the server's
    count (which never held the request) in place of ours, so the units stay spent; the
    request is out of flight, so no sender waits for its answer."""
    now = [T0]
    governor = Governor(_state(shared, tmp_path), clock=lambda: now[0])
    assert governor.acquire(KEY, 1, ()) == 0
    governor.observe(KEY, answer(0, T0 + 60))
    now[0] = T0 + 62
    assert governor.acquire(KEY, 3, ()) == 0  # the new window's first request: all of it
    assert 0 < governor.acquire(KEY, 1, ()) <= 1
    governor.unsent(KEY)
    (slot,) = _slots(governor)
    assert slot.flight == []
    assert slot.remaining == 0
    assert governor.acquire(KEY, 1, ()) == 0


def test_aunsent_is_unsent() -> None:
    now = [T0]
    governor = Governor(clock=lambda: now[0])

    async def run() -> None:
        assert await governor.aacquire(KEY, 2, POLICIES) == 0
        assert await governor.aacquire(KEY, 1, POLICIES) > 59
        await governor.aunsent(KEY)
        assert await governor.aacquire(KEY, 2, POLICIES) == 0

    asyncio.run(run())


def test_slot_unsent() -> None:
    local = Slot(5, 60.0, runs=[[T0, T0 + 0.5, 3.0], [T0 + 10, T0 + 10, 1.0]])
    local.unsent(T0 + 0.2, 2)
    assert local.runs == [[T0, T0 + 0.5, 1.0], [T0 + 10, T0 + 10, 1.0]]
    local.unsent(T0 + 5, 1)  # no run logged it (it expired): nothing to give back
    local.unsent(T0 + 10, 2)  # more than the run holds: not this run's
    assert local.runs == [[T0, T0 + 0.5, 1.0], [T0 + 10, T0 + 10, 1.0]]
    local.unsent(T0 + 10, 1)
    assert local.runs == [[T0, T0 + 0.5, 1.0]]
    server = Slot(5, 60.0, server=True, remaining=2, flight=[[T0, 1.0], [T0 + 1, 2.0]])
    server.unsent(T0 + 1, 2)
    assert server.flight == [[T0, 1.0]]
    assert server.remaining == 2


def _slots(governor: Governor) -> Sequence[Slot]:
    store: Any = governor.store
    found = store.entries("fake|app|fake:a1|post")
    return [e for e in found.values() if isinstance(e, Slot)]
