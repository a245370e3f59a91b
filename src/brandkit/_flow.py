"""Sans-IO flows: adapters describe the requests, drivers do them.

An adapter operation is a generator. It yields `Send` (do this HTTP request and give me
the response) and `Wait` (sleep this long, e.g. while media is processed), and returns
its result. [`brandkit.Client`][brandkit.Client] and `brandkit.AsyncClient` drive any flow; rate
limits, retries and logging live there, around each ``Send``, so no adapter writes them again.

Flows are unit-tested by feeding responses into the generator with `run_flow`.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import TypeAlias, TypeVar

import attrs
import httpx

__all__ = ["Flow", "Send", "Step", "Wait", "run_flow"]

T = TypeVar("T")


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
        cost: how many units of the bucket the request uses (Bluesky: create = 3 points).
        creates: the request creates something that a blind repeat could duplicate. When it
            fails in a way that may have reached the platform, the driver raises
            ``TransportError(maybe_delivered=True)`` and never repeats it.
        max_bytes: the largest answer the flow accepts; the driver stops reading past it
            (counted after decompression) and raises ``MalformedResponse``.
    """

    request: httpx.Request
    idempotent: bool = False
    bucket: str = "default"
    cost: int = 1
    creates: bool = False
    max_bytes: int = 16 * 1024 * 1024


@attrs.frozen
class Wait:
    """Sleep ``seconds`` before continuing (polling media processing, pacing)."""

    seconds: float


Step: TypeAlias = Send | Wait
Flow: TypeAlias = Generator[Step, httpx.Response, T]


def run_flow(flow: Flow[T], respond: Callable[[httpx.Request], httpx.Response]) -> T:
    """Run ``flow`` to its end without I/O: each request is answered by ``respond``.

    ``Wait`` steps return at once. For unit tests of adapters and for tools that want to see
    the requests a flow would make.
    """
    try:
        step = next(flow)
        while True:
            if isinstance(step, Send):
                step = flow.send(respond(step.request))
            else:
                step = flow.send(httpx.Response(204))
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
