"""What the async store tests share: a ticker that measures how long the event loop was held,
a lock held by another connection for a while, and a Mastodon emulator on a socket."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from types import TracebackType

from brandkit import Account, AsyncClient, Post
from brandkit._hooks import GovernorProtocol, NullGovernor, OutboxProtocol
from brandkit.testing.mastodon import MastodonEmulator

TICK = 0.01  # the ticker's period, in seconds
HOLD = 1.0  # how long the other connection holds its lock, in seconds
# The longest the loop may go without running the ticker: far below HOLD. (A loaded 2-core
# machine delays a 10 ms timer now and then; a blocked loop misses it by the whole HOLD.)
MAX_GAP = 0.3
CREATE = "/api/v1/statuses"


class Ticker:
    """An asyncio task that wakes every 10 ms and keeps the longest gap between two wakes."""

    def __init__(self) -> None:
        self.max_gap = 0.0
        self.ticks = 0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(TICK)
            now = time.monotonic()
            self.max_gap = max(self.max_gap, now - last)
            self.ticks += 1
            last = now

    async def __aenter__(self) -> Ticker:
        self._task = asyncio.create_task(self._run())
        await asyncio.sleep(0)
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


@contextmanager
def held(
    take: Callable[[], None], release: Callable[[], None], seconds: float = HOLD
) -> Iterator[threading.Event]:
    """Take a lock now (``take``), release it ``seconds`` later from a thread; yields an event
    set once it is released. The lock is released on the way out in any case."""
    take()
    released = threading.Event()
    lock = threading.Lock()

    def give_back() -> None:
        with lock:
            if not released.is_set():
                release()
                released.set()

    timer = threading.Timer(seconds, give_back)
    timer.start()
    try:
        yield released
    finally:
        timer.cancel()
        give_back()


@contextmanager
def mastodon(*names: str) -> Iterator[tuple[MastodonEmulator, list[Account]]]:
    """A Mastodon emulator on a socket with one account per name."""
    emu = MastodonEmulator()
    with emu.serve():
        yield emu, [emu.account(name=name) for name in names]


async def warm(client: AsyncClient, accounts: list[Account]) -> None:
    """Do once, before the ticker starts, what costs only the first time and has nothing to do
    with the stores: importing the platform's adapter, reading its instance's limits, the
    first connection."""
    for account in accounts:
        await client.render(Post(text="warm up"), account)


@asynccontextmanager
async def driven(
    accounts: list[Account],
    *,
    outbox: OutboxProtocol | None = None,
    governor: GovernorProtocol | None = None,
) -> AsyncIterator[tuple[AsyncClient, Ticker]]:
    """An AsyncClient, warmed up (`warm`), and a ticker started after the warm-up."""
    async with AsyncClient(outbox=outbox, governor=governor or NullGovernor()) as client:
        await warm(client, accounts)
        async with Ticker() as ticker:
            yield client, ticker
