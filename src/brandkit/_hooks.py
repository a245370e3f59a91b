"""The seams between the drivers and what plugs into them: the governor and the outbox.

Both are protocols, so that users can bring their own (a Redis governor, a PostgreSQL outbox)
without subclassing anything of brandkit's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import attrs
import httpx

if TYPE_CHECKING:
    from brandkit.delivery import Delivery
    from brandkit.platforms._base import RatePolicy

__all__ = ["BucketKey", "GovernorProtocol", "NullGovernor", "OutboxProtocol"]


@attrs.frozen
class BucketKey:
    """Whose budget a request spends: the platform, the app, the account and the bucket.

    Policies with ``scope="app"`` are shared by every account of the same app.
    """

    platform: str
    app: str
    account: str
    bucket: str


@runtime_checkable
class GovernorProtocol(Protocol):
    """Paces requests so the platform's limits are used fully without a refusal.

    A governor may also offer ``async def aacquire(key, cost, policies) -> float`` and
    ``async def aobserve(key, response) -> float | None`` with the same meaning:
    `AsyncClient` awaits them when present (so a governor whose state lives on a server never
    blocks the event loop), and otherwise calls ``acquire``/``observe`` in place.

    It may also offer ``unanswered(key) -> None`` (and ``async def aunanswered(key) ->
    None``): the drivers call it, when present, once for each request that ``acquire``
    granted and that got no response to ``observe`` (a transport error, a timeout, a
    cancelled task), never for one that got a response. A governor that counts requests in
    flight stops waiting for that one (see
    [`Governor.unanswered`][brandkit.governor.Governor.unanswered]). Without it nothing is
    called. For a request that provably never reached the server (httpx's ``ConnectError``,
    ``ConnectTimeout``, ``PoolTimeout``, ``UnsupportedProtocol``: nothing was written) the
    drivers call ``unsent(key) -> None`` (``async def aunsent(key) -> None``) instead when
    the governor has it; its units may be given back (see
    [`Governor.unsent`][brandkit.governor.Governor.unsent]).

    The drivers make every call about one request (``observe``, ``unanswered``, ``unsent``)
    in the thread or asyncio task that acquired it, so a governor can tell which request an
    answer is for (`brandkit.governor.Governor` keeps its last grant in a context variable).
    An ``AsyncClient`` task may be cancelled while it awaits one of the ``a*`` methods;
    brandkit's governor then finishes its state change before the cancellation goes on.
    """

    def acquire(self, key: BucketKey, cost: int, policies: Sequence[RatePolicy]) -> float:
        """Reserve ``cost`` units of ``key``'s budget now and return 0, or return how many
        seconds to wait before asking again (nothing is reserved then)."""
        ...

    def observe(self, key: BucketKey, response: httpx.Response) -> float | None:
        """Learn from a response's rate-limit information (headers or body).

        Returns how many seconds to wait before the request may be repeated when the
        response says the limit was hit (a 429 or the platform's own signal), else ``None``.
        """
        ...


class NullGovernor:
    """A governor that never waits before sending and only honours explicit 429 answers
    (their ``Retry-After`` in seconds, at most 24 hours, as the real governor caps it).

    For tests and for callers that pace requests themselves.
    """

    def acquire(self, key: BucketKey, cost: int, policies: Sequence[RatePolicy]) -> float:
        return 0.0

    def observe(self, key: BucketKey, response: httpx.Response) -> float | None:
        if response.status_code != 429:
            return None
        from brandkit.governor._parse import DEFAULT_MAX_WAIT
        from brandkit.platforms._base import retry_after_of

        # Not finite (inf, nan) is no wait: an account must not be parked for ever, nor for
        # 31 years by a finite 999999999 (1e300 would overflow the driver's sleep).
        wait = retry_after_of(response)
        return None if wait is None else min(wait, DEFAULT_MAX_WAIT)


@runtime_checkable
class OutboxProtocol(Protocol):
    """Where deliveries are written down before the first byte is sent.

    An outbox may also offer ``async def asave(delivery) -> None`` (and
    ``asave_many(deliveries)``): `AsyncClient` awaits them when present and otherwise runs
    ``save`` in a worker thread, so that a database call never blocks its event loop. And
    ``recorded_ids(account, since, *, exclude) -> set[str]`` (see
    `brandkit.Outbox.recorded_ids`): the posts other deliveries recorded, which a read-back
    after a lost answer never takes for a part (without it, only those the client itself
    recorded are known).
    """

    def save(self, delivery: Delivery) -> None:
        """Insert or update the delivery (status, keys, parts, error, attempts)."""
        ...
