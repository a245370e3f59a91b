"""An answer without rate-limit headers (a proxy's 502, a front end's 500, an endpoint that
sends none) still means its request is no longer in flight: once a window of unknown length
has rolled over and its budget is spent, senders wait for the answers of that window's
requests in flight, and a request answered that way must not keep them waiting until
FLIGHT_TTL (two minutes). Nothing is learnt about the window from it, and its units stay
spent (the server may have counted a request a proxy answered)."""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from brandkit import AsyncClient, Client
from brandkit.governor import Governor, MemoryState, SQLiteState, StateStore
from brandkit.governor._slots import Slot
from tests.governor._settling import FAST, Bounded, Recording, Windows
from tests.governor.conftest import PostAdapter, account
from tests.governor.test_unknown_window import KEY, T0, answer

RATE_HEADERS = ("x-rate-limit-limit", "x-rate-limit-remaining", "x-rate-limit-reset")


@pytest.fixture
def emu() -> Iterator[Windows]:
    emu = Windows()
    with emu.serve():
        yield emu


def test_a_headerless_502_does_not_hold_the_next_sender(emu: Windows) -> None:
    """Over loopback: the new window's first request gets a 502 with no rate-limit headers
    (as from a proxy). The next sender goes at once instead of waiting two minutes for an
    answer that already came."""
    sleep = Bounded()
    governor = Recording()
    adapter = PostAdapter(account(base_url=emu.base_url))  # no declared policy
    with Client(governor=governor, retry=FAST, sleep=sleep) as client:
        assert client.run(adapter, adapter.post()).status_code == 200  # the window is spent
        emu.fault(path="/post", status=502)
        # After the reset: the next window's first request, answered by the "proxy".
        bad = client.run(adapter, adapter.post(idempotent=False))
        assert bad.status_code == 502
        assert not any(h in bad.headers for h in RATE_HEADERS)
        sleep.arm()
        started = time.monotonic()
        assert client.run(adapter, adapter.post()).status_code == 200
        took = time.monotonic() - started
    assert took < 2.0
    assert emu.refused == 0
    assert governor.calls == []  # answered, so never also settled as unanswered


def test_a_headerless_502_retried_by_asyncclient_goes_again_at_once(emu: Windows) -> None:
    """AsyncClient: an idempotent request answered 502 without headers is tried again after
    the retry policy's backoff, not after two minutes of waiting for its own answer."""
    sleep = Bounded()
    governor = Recording()
    adapter = PostAdapter(account(base_url=emu.base_url))

    async def run() -> float:
        async with AsyncClient(governor=governor, retry=FAST, sleep=sleep.asleep) as client:
            assert (await client.run(adapter, adapter.post())).status_code == 200
            emu.fault(path="/post", status=502)
            sleep.arm()
            started = time.monotonic()
            # Waits for the reset (1 s), gets the 502, and goes again.
            assert (await client.run(adapter, adapter.post())).status_code == 200
            return time.monotonic() - started

    assert asyncio.run(run()) < 1.0 + 2.0
    assert emu.count("POST", "/post") == 3
    assert governor.calls == []


# -- the governor ------------------------------------------------------------------------------


def _state(shared: bool, tmp_path: Path) -> StateStore:
    return SQLiteState(tmp_path / "gov.db") if shared else MemoryState()


def _spent(governor: Governor, now: list[float]) -> None:
    """The old window spent, then the new window's first request (3 of 3) granted, its
    answer awaited by the next sender."""
    assert governor.acquire(KEY, 1, ()) == 0
    governor.observe(KEY, answer(0, T0 + 60))
    now[0] = T0 + 62
    assert governor.acquire(KEY, 3, ()) == 0
    assert 0 < governor.acquire(KEY, 1, ()) <= 1


@pytest.mark.parametrize("status", [502, 500, 200])
@pytest.mark.parametrize("shared", [False, True], ids=["memory", "sqlite"])
def test_a_headerless_answer_settles_its_request(shared: bool, status: int, tmp_path: Path) -> None:
    """The waiting sender goes; the answered request's units stay spent, and nothing about
    the window is learnt (its end is still unknown)."""
    now = [T0]
    state = _state(shared, tmp_path)
    governor = Governor(state, clock=lambda: now[0])
    _spent(governor, now)
    # An answer that the governor observing it granted no request for (observe alone)
    # takes no request out of flight.
    Governor(state, clock=lambda: now[0]).observe(KEY, httpx.Response(status))
    assert 0 < governor.acquire(KEY, 1, ()) <= 1
    assert governor.observe(KEY, httpx.Response(status)) is None
    (slot,) = _slots(governor)
    assert slot.flight == []
    assert slot.remaining == 0  # 3 of 3: not given back
    assert slot.reset is None
    assert governor.acquire(KEY, 1, ()) == 0  # nothing of this window is awaited any more
    (slot,) = _slots(governor)
    assert slot.remaining == -1
    assert [cost for _, cost in slot.flight] == [1.0]


def test_async_observe_of_a_headerless_answer_settles_it_too() -> None:
    now = [T0]
    governor = Governor(clock=lambda: now[0])
    _spent(governor, now)
    assert asyncio.run(governor.aobserve(KEY, httpx.Response(502))) is None
    assert governor.acquire(KEY, 1, ()) == 0


@pytest.mark.parametrize("shared", [False, True], ids=["memory", "sqlite"])
def test_a_headerless_answer_settles_its_own_request_not_another(
    shared: bool, tmp_path: Path
) -> None:
    """Of two requests of the new window in flight (each sent by its own task), the one
    answered is settled, even when it is the newer; the other is still awaited, as its
    answer may say when the window ends. One answer settles one request."""
    now = [T0]
    governor = Governor(_state(shared, tmp_path), clock=lambda: now[0])
    assert governor.acquire(KEY, 1, ()) == 0
    governor.observe(KEY, answer(0, T0 + 60))
    first, second = contextvars.copy_context(), contextvars.copy_context()
    now[0] = T0 + 62
    assert first.run(governor.acquire, KEY, 2, ()) == 0
    now[0] = T0 + 62.5
    assert second.run(governor.acquire, KEY, 1, ()) == 0  # the window's budget (3) is spent
    second.run(governor.observe, KEY, httpx.Response(502))
    (slot,) = _slots(governor)
    assert slot.flight == [[T0 + 62, 2.0]]
    assert 0 < governor.acquire(KEY, 1, ()) <= 1
    first.run(governor.observe, KEY, httpx.Response(502))
    (slot,) = _slots(governor)
    assert slot.flight == []
    assert governor.acquire(KEY, 1, ()) == 0


def test_an_answer_about_one_window_settles_the_others() -> None:
    """X sends its 24-hour app cap on some answers only: an answer with just the endpoint's
    window lands there and takes the request out of the app cap's flight too, so the app
    cap's next window does not start short of a request that was answered long ago."""
    now = [T0]
    governor = Governor(clock=lambda: now[0])
    both = httpx.Response(
        200,
        headers={
            **answer(2, T0 + 60).headers,
            "x-app-limit-24hour-limit": "100",
            "x-app-limit-24hour-remaining": "99",
            "x-app-limit-24hour-reset": str(int(T0 + 86_000)),
        },
    )
    assert governor.acquire(KEY, 1, ()) == 0
    governor.observe(KEY, both)
    assert governor.acquire(KEY, 1, ()) == 0
    (app,) = _slots(governor, "fake|app||post")
    assert [cost for _, cost in app.flight] == [1.0]
    governor.observe(KEY, answer(1, T0 + 60))  # the endpoint's window only
    (app,) = _slots(governor, "fake|app||post")
    (own,) = _slots(governor)
    assert app.flight == own.flight == []
    assert app.remaining == 98  # its units stay spent


def _slots(governor: Governor, scope: str = "fake|app|fake:a1|post") -> Sequence[Slot]:
    store: Any = governor.store
    return [e for e in store.entries(scope).values() if isinstance(e, Slot)]
