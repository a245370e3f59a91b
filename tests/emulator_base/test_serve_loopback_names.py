"""`Emulator.serve` listens on each loopback name it takes (``127.0.0.1``, ``localhost``,
``::1``) and yields a base URL a client can use as it is (an IPv6 address in brackets)."""

from __future__ import annotations

import httpx
import pytest

from brandkit.testing.mastodon import MastodonEmulator


@pytest.mark.parametrize(
    ("host", "prefix"),
    [
        ("127.0.0.1", "http://127.0.0.1:"),
        ("localhost", "http://localhost:"),
        ("::1", "http://[::1]:"),
    ],
)
def test_each_loopback_name_is_served_at_a_usable_url(host: str, prefix: str) -> None:
    emu = MastodonEmulator()
    with emu.serve(host=host) as url, httpx.Client(base_url=url, timeout=10) as http:
        answer = http.get("/api/v1/instance")
    assert url.startswith(prefix)
    assert answer.status_code == 200, answer.text
    assert answer.json()["uri"] == url.removeprefix("http://")
