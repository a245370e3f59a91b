"""A ``Date`` header no UTC clock holds (a proxy's ``Fri, 31 Dec 9999 23:59:59 -0100``) on
Mastodon's answers is read as no date. It raised a bare ``OverflowError`` from the answer to
a create that had succeeded, so the posted status was reported as a failure."""

from __future__ import annotations

import httpx

from brandkit import Client, DeliveryStatus, Post
from brandkit.platforms.mastodon import server_time
from brandkit.testing.mastodon import MastodonEmulator
from tests.mastodon.conftest import FAST

GARBLED = "Fri, 31 Dec 9999 23:59:59 -0100"


class _GarbledDate(httpx.BaseTransport):
    """The emulator's answers, their ``Date`` replaced (as a proxy in front of it might)."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        response.headers["date"] = GARBLED
        return response


def test_a_create_answered_with_a_garbled_date_is_sent_once() -> None:
    emu = MastodonEmulator()
    http = httpx.Client(transport=_GarbledDate(emu.transport()))
    with Client(http=http, retry=FAST) as client:
        (d,) = client.publish(Post(text="hello"), emu.account())
    assert d.status is DeliveryStatus.SENT, d.error
    assert emu.post_texts() == ["hello"]


def test_server_time_of_a_garbled_date_is_this_machines() -> None:
    assert server_time(httpx.Response(200)).year < 9999  # no Date: this machine's clock
    assert server_time(httpx.Response(200, headers={"date": GARBLED})).year < 9999
