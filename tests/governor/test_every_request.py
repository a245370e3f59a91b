"""Mastodon's ``api`` limit counts every request, whatever its bucket: posts, deletes and
reads sent at once by one AsyncClient draw on one budget, over a socket, and the budget's
end is a wait (here longer than ``max_wait``: a typed refusal), never a 429."""

from __future__ import annotations

import asyncio

import httpx

from brandkit import AsyncClient, DeliveryStatus, Post, RetryPolicy
from brandkit.errors import RateLimited
from brandkit.governor import Governor
from brandkit.testing.mastodon import MastodonEmulator

# Rack::Attack's api throttle (per token, 5 minutes) made tight.
LIMIT = 7


def test_posts_deletes_and_reads_at_once_share_the_api_limit() -> None:
    emu = MastodonEmulator(rate_limits={"api": (LIMIT, 300.0)})
    # Mastodon's windows follow the epoch: one ending within max_wait would rightly be
    # waited for, and would let an eighth request through.
    emu.clock.start_window(300.0)
    refused: list[str] = []

    async def count(response: httpx.Response) -> None:
        if response.status_code == 429:
            refused.append(f"{response.request.method} {response.request.url.path}")

    async def main() -> list[object]:
        with emu.serve():
            account = emu.account()
            async with (
                httpx.AsyncClient(event_hooks={"response": [count]}) as http,
                AsyncClient(
                    http=http, governor=Governor(), retry=RetryPolicy(max_wait=5.0)
                ) as client,
            ):
                # Two posts one after the other: the answers say how much of the 5 minutes is left.
                (first,) = await client.publish(Post(text="first"), account)
                (second,) = await client.publish(Post(text="second"), account)
                # Then three buckets at once: statuses (posts), delete, api (reads).
                return await asyncio.gather(
                    *(client.publish(Post(text=f"more {i}"), account) for i in range(3)),
                    client.delete(first),
                    client.collect([second]),
                    client.collect([second]),
                    return_exceptions=True,
                )

    results = asyncio.run(main())
    assert refused == []
    assert emu.count() == LIMIT  # the whole budget was used, and no more
    held = [r for r in results if isinstance(r, RateLimited)]
    held += [
        d
        for r in results
        if isinstance(r, list)
        for d in r
        if getattr(d, "status", None) is DeliveryStatus.PENDING
    ]
    assert held, "the budget's end was reached: some requests must have been held back"
