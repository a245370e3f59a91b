"""The drivers with the governor: pacing and tenacity-based retries around every request."""

from __future__ import annotations

import math
import random
import time

import anyio
import httpx
import pytest

from brandkit import AsyncClient, Client, RetryPolicy
from brandkit.errors import RateLimited, TransportError
from brandkit.governor import Governor
from brandkit.platforms._base import RatePolicy
from tests.governor.conftest import FakeClock, PostAdapter, WindowedFake, account

POLICY = (RatePolicy("post", 10, 5.0),)


class Script:
    """A transport handler that answers from a list (responses or exceptions), then 200."""

    def __init__(self, *answers: httpx.Response | type[Exception]) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if not self.answers:
            return httpx.Response(200, json={"id": "1"})
        answer = self.answers.pop(0)
        if isinstance(answer, httpx.Response):
            return answer
        raise answer("scripted", request=request)  # type: ignore[call-arg]


def client_for(handler: Script | WindowedFake, clock: FakeClock, **kwargs: object) -> Client:
    return Client(
        http=httpx.Client(transport=httpx.MockTransport(handler)),
        governor=Governor(clock=clock, rng=random.Random(0)),
        sleep=clock.sleep,
        **kwargs,  # type: ignore[arg-type]
    )


def test_drivers_use_the_governor_by_default() -> None:
    """``Client()`` paces with ``brandkit.governor.Governor`` unless told otherwise."""
    with Client() as client:
        assert isinstance(client._core.governor, Governor)


def test_client_paces_a_run_without_refusal(clock: FakeClock) -> None:
    """40 posts through 10 per 5 s: no 429, and the sleeps add up to the windows waited."""
    fake = WindowedFake(clock, 10, 5.0, style="mastodon")
    client = client_for(fake, clock)
    adapter = PostAdapter(account(), POLICY)
    for _ in range(40):
        assert client.run(adapter, adapter.post()).status_code == 200
    assert fake.refused == 0
    assert sum(clock.sleeps) == pytest.approx(15.0, abs=0.01)


def test_idempotent_request_is_retried_once_after_503(clock: FakeClock) -> None:
    """A single 503 on a request safe to repeat is retried after a jittered backoff."""
    script = Script(httpx.Response(503))
    client = client_for(script, clock, retry=RetryPolicy(initial=0.5))
    adapter = PostAdapter(account())
    assert client.run(adapter, adapter.post(idempotent=True)).status_code == 200
    assert len(script.requests) == 2
    assert len(clock.sleeps) == 1
    assert 0.0 <= clock.sleeps[0] <= 0.5  # full jitter


def test_retries_back_off_and_stop(clock: FakeClock) -> None:
    """Repeated 5xx: backoff doubles up to its cap, and after ``attempts`` the last answer
    is handed to the flow."""
    script = Script(*[httpx.Response(502) for _ in range(9)])
    client = client_for(script, clock, retry=RetryPolicy(attempts=4, initial=1.0, max_backoff=3))
    adapter = PostAdapter(account())
    assert client.run(adapter, adapter.post()).status_code == 502
    assert len(script.requests) == 4
    ceilings = [1.0, 2.0, 3.0]
    assert len(clock.sleeps) == 3
    for slept, ceiling in zip(clock.sleeps, ceilings, strict=True):
        assert 0.0 <= slept <= ceiling  # full jitter under a doubling, capped ceiling


def test_create_without_idempotency_is_not_retried_on_503(clock: FakeClock) -> None:
    """A create that may have landed is never repeated blindly."""
    script = Script(httpx.Response(503))
    client = client_for(script, clock)
    adapter = PostAdapter(account())
    assert client.run(adapter, adapter.post(idempotent=False)).status_code == 503
    assert len(script.requests) == 1


def test_timeout_is_retried_for_reads(clock: FakeClock) -> None:
    """A read timeout on an idempotent request is retried."""
    script = Script(httpx.ReadTimeout)
    client = client_for(script, clock)
    adapter = PostAdapter(account())
    assert client.run(adapter, adapter.post(method="GET", creates=False)).status_code == 200
    assert len(script.requests) == 2


def test_timeout_on_create_may_have_delivered(clock: FakeClock) -> None:
    """A read timeout on a create without idempotency: not repeated, and the flow learns
    that the post may exist."""
    script = Script(httpx.ReadTimeout)
    client = client_for(script, clock)
    adapter = PostAdapter(account())
    with pytest.raises(TransportError) as caught:
        client.run(adapter, adapter.post(idempotent=False))
    assert caught.value.maybe_delivered
    assert len(script.requests) == 1


def test_connection_refused_is_retried_even_for_creates(clock: FakeClock) -> None:
    """A connection that never opened cannot have delivered anything: retried."""
    script = Script(httpx.ConnectError, httpx.ConnectError)
    client = client_for(script, clock)
    adapter = PostAdapter(account())
    assert client.run(adapter, adapter.post(idempotent=False)).status_code == 200
    assert len(script.requests) == 3


def test_429_is_repeated_after_retry_after_for_any_step(clock: FakeClock) -> None:
    """A rate-limit refusal did nothing: even a non-idempotent create is repeated, after
    exactly ``Retry-After``."""
    script = Script(httpx.Response(429, headers={"Retry-After": "7"}))
    client = client_for(script, clock)
    adapter = PostAdapter(account())
    assert client.run(adapter, adapter.post(idempotent=False)).status_code == 200
    assert len(script.requests) == 2
    assert clock.sleeps == [7.0]


@pytest.mark.parametrize("said", ["0", "Thu, 01 Jan 2026 00:00:00 GMT"], ids=["zero", "past"])
def test_a_429_that_says_now_is_repeated_after_a_backoff_not_at_once(
    clock: FakeClock, said: str
) -> None:
    """``Retry-After: 0``, or a date already past (a server's clock behind ours, a cached
    answer): the attempts are spread by a backoff, never sent in the same instant."""
    script = Script(*[httpx.Response(429, headers={"Retry-After": said})] * 3)
    client = client_for(script, clock)
    adapter = PostAdapter(account())
    assert client.run(adapter, adapter.post()).status_code == 200
    assert len(script.requests) == 4
    assert len(clock.sleeps) == 3 and all(s > 0 for s in clock.sleeps)


def test_bare_429_is_repeated_after_the_governors_backoff(clock: FakeClock) -> None:
    """A 429 without information waits the governor's jittered backoff, within its cap."""
    script = Script(httpx.Response(429), httpx.Response(429))
    client = client_for(script, clock)
    adapter = PostAdapter(account())
    assert client.run(adapter, adapter.post()).status_code == 200
    assert len(script.requests) == 3
    assert 0 < sum(clock.sleeps) <= 1.0 + 2.0


def test_wait_longer_than_max_wait_raises_rate_limited(clock: FakeClock) -> None:
    """When the budget frees up later than ``max_wait``, ``RateLimited`` says when and which
    bucket, and nothing is sent."""
    fake = WindowedFake(clock, 1, 3600.0, style="x")
    client = client_for(fake, clock, retry=RetryPolicy(max_wait=60))
    adapter = PostAdapter(account(), (RatePolicy("post", 1, 3600.0),))
    client.run(adapter, adapter.post())
    with pytest.raises(RateLimited) as caught:
        client.run(adapter, adapter.post())
    assert caught.value.bucket == "fake:post"
    assert caught.value.retry_after == pytest.approx(3600.0, abs=2)
    assert caught.value.reset_at is not None
    assert fake.ok == 1
    assert fake.refused == 0


@pytest.mark.anyio
async def test_async_accounts_share_one_governor() -> None:
    """Several accounts publishing concurrently on the real clock, each with its own
    window: none is refused, and none finishes before its own limit allows."""
    fake = WindowedFake(time.time, 5, 0.3, style="mastodon", aligned=False)
    policy = (RatePolicy("post", 5, 0.3),)
    adapters = [PostAdapter(account(f"a{i}"), policy) for i in range(5)]
    finished: dict[int, float] = {}
    async with AsyncClient(
        http=httpx.AsyncClient(transport=httpx.MockTransport(fake)), governor=Governor()
    ) as client:

        async def publish(i: int, adapter: PostAdapter) -> None:
            for _ in range(5 + 2 * i):
                response = await client.run(adapter, adapter.post())
                assert response.status_code == 200
            finished[i] = time.time()

        start = time.time()
        async with anyio.create_task_group() as tg:
            for i, adapter in enumerate(adapters):
                tg.start_soon(publish, i, adapter)
    assert fake.refused == 0
    assert fake.ok == sum(5 + 2 * i for i in range(5))
    for i in range(5):
        assert finished[i] - start >= (math.ceil((5 + 2 * i) / 5) - 1) * 0.3
