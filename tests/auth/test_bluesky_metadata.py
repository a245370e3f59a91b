"""The authorization server's metadata comes from whoever runs the account's PDS: its
endpoints are checked before the flow uses them. The authorization URL is opened in the
user's browser (``brandkit connect``), the token endpoint is sent the code, the verifier and
every refresh token: each must be an http(s) URL, and https where the issuer is. Bluesky
emulator over a socket, its metadata answer replaced by a scripted one."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from brandkit import auth
from brandkit.auth.bluesky import ResolutionError
from brandkit.testing.bluesky import BlueskyEmulator

REDIRECT = "http://127.0.0.1:8765/callback"
EMULATOR = BlueskyEmulator  # served as the emu fixture (conftest), with USERS
USERS = ("brand.test",)
METADATA = "/.well-known/oauth-authorization-server"


def metadata(emu: BlueskyEmulator) -> dict[str, Any]:
    with httpx.Client(timeout=10) as http:
        answer: dict[str, Any] = http.get(emu.base_url + METADATA).json()
    return answer


def start(emu: BlueskyEmulator) -> auth.bluesky.BlueskyStart:
    client = auth.bluesky.loopback_client(REDIRECT)
    return auth.bluesky.start("brand.test", client, plc_url=emu.base_url, resolver=emu.base_url)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("authorization_endpoint", "javascript:alert(document.cookie)"),
        ("authorization_endpoint", "file:///etc/passwd"),
        ("token_endpoint", "ftp://evil.example/token"),
        ("pushed_authorization_request_endpoint", "/oauth/par"),
    ],
)
def test_an_endpoint_that_is_no_http_url_is_refused(
    emu: BlueskyEmulator, field: str, value: str
) -> None:
    doc = {**metadata(emu), field: value}
    emu.fault(method="GET", path=METADATA, status=200, body=doc)
    par_before = emu.count("POST", "/oauth/par")
    with pytest.raises(ResolutionError, match=field):
        start(emu)
    assert emu.count("POST", "/oauth/par") == par_before  # nothing was sent to it


def test_an_issuer_on_https_cannot_send_the_tokens_over_http(emu: BlueskyEmulator) -> None:
    from brandkit.auth.bluesky import _endpoint

    issuer = "https://auth.example"
    assert _endpoint("https://auth.example/oauth/token", issuer, "token_endpoint")
    with pytest.raises(ResolutionError, match="token_endpoint"):
        _endpoint("http://auth.example/oauth/token", issuer, "token_endpoint")
    # A development server on http (this emulator) keeps its http endpoints.
    assert start(emu).url.startswith(emu.base_url + "/oauth/authorize?")
