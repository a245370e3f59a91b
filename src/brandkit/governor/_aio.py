"""Connections of the async governor states, one per event loop, closed with their loop.

A ``redis.asyncio`` client or a psycopg ``AsyncConnection`` belongs to the loop it was opened
on. `PerLoop` keeps one per loop and closes it when that loop shuts down its async generators
(``asyncio.run`` and ``asyncio.Runner``, the worker's loop, do so before closing the loop),
so a state used from a loop that ends without ``await state.aclose()`` leaves no open socket.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Generic, TypeVar

__all__ = ["PerLoop"]

R = TypeVar("R")


async def _guard(close: Callable[[], Awaitable[None]]) -> AsyncGenerator[None, None]:
    """Suspended until its loop finalises it (or `PerLoop.aclose`): then runs ``close``."""
    try:
        yield
    finally:
        await close()


class PerLoop(Generic[R]):
    """One resource per running event loop, made by ``make`` on first use and closed by
    ``close`` when its loop shuts down, at `aclose`, or at `close_idle`."""

    def __init__(self, make: Callable[[], R], close: Callable[[R], Awaitable[None]]) -> None:
        self._make = make
        self._close = close
        self._by_loop: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, tuple[R, AsyncGenerator[None, None]]
        ] = weakref.WeakKeyDictionary()

    async def get(self) -> R:
        """The running loop's resource (made now if it has none)."""
        loop = asyncio.get_running_loop()
        found = self._by_loop.get(loop)
        if found is None:
            resource = self._make()
            guard = _guard(lambda: self._close(resource))
            # Iterated once inside the loop, the guard is one of the loop's async generators:
            # the loop's shutdown (asyncio.run, asyncio.Runner.close) finalises it.
            await guard.__anext__()
            found = self._by_loop[loop] = (resource, guard)
        return found[0]

    async def aclose(self) -> None:
        """Close the running loop's resource, if it has one."""
        found = self._by_loop.pop(asyncio.get_running_loop(), None)
        if found is not None:
            await found[1].aclose()

    def close_idle(self) -> None:
        """Close the resources of loops that are neither running nor closed (a loop that
        closed has closed its own already)."""
        for loop, (_, guard) in list(self._by_loop.items()):
            if not loop.is_closed() and not loop.is_running():
                loop.run_until_complete(guard.aclose())
                self._by_loop.pop(loop, None)
