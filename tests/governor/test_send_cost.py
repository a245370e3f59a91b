"""A `Send` whose cost is not a whole number of units of at least 1 is refused when it is made.

The governor takes ``cost`` units off each window (``remaining -= cost``): a cost of 0 made
requests free, and a negative one (a third-party adapter's bug) put units back, so the
account sent past its limit into refusals. The step is refused where the adapter makes it,
with an error that names it and says what to give.
"""

from __future__ import annotations

import random

import httpx
import pytest

from brandkit import Client
from brandkit._flow import Flow, Send
from brandkit.errors import ConfigurationError
from brandkit.governor import Governor
from brandkit.platforms._base import RatePolicy
from tests.governor.conftest import FakeClock, PostAdapter, WindowedFake, account

REQUEST = httpx.Request("POST", "http://127.0.0.1:9/statuses?access_token=SECRET")


@pytest.mark.parametrize("cost", [0, -1, -5, 1.5, 2.0, True, "3", None, float("nan")])
def test_a_cost_that_is_not_a_whole_number_of_at_least_1_is_refused(cost: object) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Send(REQUEST, bucket="post", cost=cost)  # type: ignore[arg-type]
    message = str(caught.value)
    assert "POST http://127.0.0.1:9/statuses" in message
    assert "'post'" in message
    assert repr(cost) in message
    assert "whole number" in message and "at least 1" in message
    assert "SECRET" not in message  # a query may carry a token (Graph's access_token)


@pytest.mark.parametrize("cost", [1, 3, 50])
def test_a_whole_cost_of_at_least_1_is_taken(cost: int) -> None:
    assert Send(REQUEST, bucket="post", cost=cost).cost == cost


class NegativeCost(PostAdapter):
    """An adapter whose flow claims each request gives a unit back."""

    def post(
        self, *, idempotent: bool = True, creates: bool = True, method: str = "POST"
    ) -> Flow[httpx.Response]:
        request = httpx.Request(method, self.account.base_url + "/post")
        response = yield Send(request, idempotent=idempotent, bucket="post", cost=-1)
        return response


def test_a_negative_cost_never_reaches_the_platform(clock: FakeClock) -> None:
    """Before: each request of cost -1 gave the 2-per-minute window a unit back, and the
    platform was sent every one of them (and refused them)."""
    fake = WindowedFake(clock, 2, 60.0, style="none")
    client = Client(
        http=httpx.Client(transport=httpx.MockTransport(fake)),
        governor=Governor(clock=clock, rng=random.Random(0)),
        sleep=clock.sleep,
    )
    adapter = NegativeCost(account(), (RatePolicy("post", 2, 60.0),))
    for _ in range(5):
        with pytest.raises(ConfigurationError):
            client.run(adapter, adapter.post())
    assert fake.times == []
