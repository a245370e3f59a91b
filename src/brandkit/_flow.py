"""Sans-IO flows: adapters describe the requests, drivers do them.

An adapter operation is a generator. It yields `Send` (do this HTTP request and give me
the response) and `Wait` (sleep this long, e.g. while media is processed), and returns
its result. The drivers' own delivery flows also yield `Save` (write this delivery to the
outbox now) and `Recall` (read what other deliveries recorded): the synchronous driver does
them at once, the asynchronous one off its event loop, and either throws a refused write or
a failed read back into the flow where it was asked for.
[`brandkit.Client`][brandkit.Client] and `brandkit.AsyncClient` drive any flow; rate limits,
retries and logging live there, around each ``Send``, so no adapter writes them again.

Flows are unit-tested by feeding responses into the generator with `run_flow`.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from datetime import datetime
from typing import TYPE_CHECKING, TypeAlias, TypeVar

import attrs
import httpx

from brandkit.errors import ConfigurationError

if TYPE_CHECKING:
    from brandkit._hooks import OutboxProtocol
    from brandkit.delivery import Delivery

__all__ = [
    "CoreFlow",
    "CoreStep",
    "Flow",
    "Recall",
    "Save",
    "Send",
    "Step",
    "Wait",
    "recall",
    "run_flow",
]

T = TypeVar("T")


def _check_cost(step: Send, _: attrs.Attribute[int], cost: object) -> None:
    """Refuse a cost the governor cannot take off a window: 0 made a request free, and a
    negative one put units back (``remaining -= cost``), so the account went past its limit."""
    if isinstance(cost, bool) or not isinstance(cost, int) or cost < 1:
        url = step.request.url
        # Without the query: it may carry a token (Graph's access_token).
        where = f"{step.request.method} {url.scheme}://{url.netloc.decode('ascii')}{url.path}"
        raise ConfigurationError(
            f"the adapter's step Send({where}, bucket={step.bucket!r}) gives cost={cost!r}: "
            "give the units of the bucket the request uses, a whole number of at least 1"
        )


@attrs.frozen
class Send:
    """Send ``request`` and give the flow the response.

    Attributes:
        request: the request to send.
        idempotent: repeating the request has no further effect (reads, deletes, uploads,
            creates that carry an idempotency key), so the driver may retry it on a 5xx, a
            timeout or a dropped connection.
        bucket: the rate-limit bucket the request counts against, e.g. ``"post"``; the
            driver's governor paces requests per (platform, account, bucket).
        cost: how many units of the bucket the request uses (Bluesky: create = 3 points), a
            whole number of at least 1.
        creates: the request creates something that a blind repeat could duplicate. When it
            fails in a way that may have reached the platform, the driver raises
            ``TransportError(maybe_delivered=True)`` and never repeats it.
        max_bytes: the largest answer the flow accepts; the driver stops reading past it
            (counted after decompression) and raises ``MalformedResponse``.

    Raises:
        ConfigurationError: ``cost`` is not a whole number of at least 1.
    """

    request: httpx.Request
    idempotent: bool = False
    bucket: str = "default"
    cost: int = attrs.field(default=1, validator=_check_cost)
    creates: bool = False
    max_bytes: int = 16 * 1024 * 1024


@attrs.frozen
class Wait:
    """Sleep ``seconds`` before continuing (polling media processing, pacing)."""

    seconds: float


@attrs.frozen
class Save:
    """Write ``delivery`` to ``outbox`` before the flow goes on.

    The flow resumes only once the write is done; a write the outbox refuses (or that
    fails) is thrown into the flow at this step, exactly as if the flow had called
    ``outbox.save`` itself, so that it can keep its copy of the delivery true to what is
    stored. The driver answers a done write with an empty 204 response.
    """

    delivery: Delivery
    outbox: OutboxProtocol


@attrs.frozen
class Recall:
    """Read, from ``outbox``, the ids of the posts that deliveries of ``account`` other
    than ``exclude`` recorded, among those written since ``since``, into ``found``.

    Before a read-back takes a post for a part whose attempt's answer was lost: a post that
    another delivery recorded (a twin with the same text, made by another process) is not
    this part's. The driver answers with an empty 204 response once ``found`` is filled
    (see `recall`); a failed read is thrown into the flow at this step, as `Save`'s is.
    """

    outbox: OutboxProtocol
    account: str
    since: datetime
    exclude: str
    found: set[str] = attrs.field(factory=set, eq=False)


def recall(step: Recall) -> set[str]:
    """What ``step`` asks for, read from its outbox: an empty set for an outbox without
    ``recorded_ids`` (a caller's own `OutboxProtocol`)."""
    read = getattr(step.outbox, "recorded_ids", None)
    if read is None:
        return set()
    return set(read(step.account, step.since, exclude=step.exclude))


Step: TypeAlias = Send | Wait
Flow: TypeAlias = Generator[Step, httpx.Response, T]
"""An adapter's flow: it sends and waits; it never writes to the outbox."""
CoreStep: TypeAlias = Send | Wait | Save | Recall
CoreFlow: TypeAlias = Generator[CoreStep, httpx.Response, T]
"""A driver's own flow (a delivery, a deletion): it may also `Save`. Any `Flow` is one."""


def run_flow(flow: CoreFlow[T], respond: Callable[[httpx.Request], httpx.Response]) -> T:
    """Run ``flow`` to its end without network I/O: each request is answered by ``respond``.

    ``Wait`` steps return at once; ``Save`` steps write to their outbox and ``Recall``
    steps read from it (a failure is thrown into the flow, as the drivers do). For unit
    tests of adapters and for tools that want to see the requests a flow would make.
    """
    try:
        step = next(flow)
        while True:
            if isinstance(step, Send):
                step = flow.send(respond(step.request))
            elif isinstance(step, Save | Recall):
                try:
                    if isinstance(step, Save):
                        step.outbox.save(step.delivery)
                    else:
                        step.found.update(recall(step))
                except BaseException as exc:
                    step = flow.throw(exc)
                else:
                    step = flow.send(httpx.Response(204))
            else:
                step = flow.send(httpx.Response(204))
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
