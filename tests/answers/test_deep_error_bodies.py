"""An error body nested deeper than Python's JSON reader goes (a hostile server, a broken
proxy) is a typed refusal on every platform, read as text: it raised `RecursionError` out of
eight adapters' ``error_for``, so a refused create crashed as an internal error."""

from __future__ import annotations

import httpx
import pytest

from brandkit import Client, DeliveryStatus, Post, RetryPolicy
from brandkit.errors import Rejected
from brandkit.platforms import adapter_class
from brandkit.platforms._base import Adapter
from brandkit.testing import emulator

DEEP = b"[" * 100_000 + b"]" * 100_000
PLATFORMS = [
    "x", "mastodon", "bluesky", "threads", "instagram", "facebook", "linkedin", "telegram",
    "devto", "ghost", "wordpress",
]  # fmt: skip


def refused(body: bytes) -> httpx.Response:
    return httpx.Response(
        400,
        content=body,
        headers={"content-type": "application/json"},
        request=httpx.Request("POST", "http://127.0.0.1/create"),
    )


@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_deep_error_body_is_a_typed_refusal(platform: str) -> None:
    adapter = adapter_class(platform)(emulator(platform).account())
    error = adapter.error_for(refused(DEEP))
    assert isinstance(error, Rejected)
    assert error.status_code == 400 and error.platform == platform


def test_a_third_party_adapters_error_for_is_guarded_too() -> None:
    """The guard is the base class's: an adapter registered from outside gets it."""

    class Plugin(adapter_class("devto")):  # type: ignore[misc, valid-type]
        name = "plugin"

        def error_for(self, response: httpx.Response) -> Rejected:
            response.json()  # reads the body as the adapters do
            raise AssertionError("unreachable")

    assert isinstance(Plugin.error_for, type(Adapter.error_for))
    error = Plugin(emulator("devto").account()).error_for(refused(DEEP))
    assert isinstance(error, Rejected) and error.platform == "plugin"


def test_a_publish_refused_with_a_deep_body_fails_as_refused() -> None:
    """Through the client: the delivery fails with the refusal, not an internal error."""
    emu = emulator("telegram")
    account = emu.account()

    def server(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, content=DEEP, headers={"content-type": "application/json"})

    http = httpx.Client(transport=httpx.MockTransport(server))
    with Client(http=http, retry=RetryPolicy(initial=0.001, max_backoff=0.001)) as client:
        (delivery,) = client.publish(Post(text="hello"), account)
    assert delivery.status is DeliveryStatus.FAILED
    assert isinstance(delivery.error, Rejected), delivery.error
