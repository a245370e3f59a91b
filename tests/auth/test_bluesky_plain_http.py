"""A DID document or a PDS that names a server on plain http (off this machine) is refused
before anything is sent there: the PDS would be sent every access token, the authorization
server the code, the PKCE verifier and every refresh token, readable by anyone on the way
(the reference client, ``@atproto/oauth-client``, refuses an http issuer as well). Before,
any http URL was taken. http stays good on a loopback address (the emulator, a development
PDS). The Bluesky emulator over a socket, its answers replaced by scripted ones; the client
reaches 127.0.0.1 only, and records what else it was asked to reach."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from brandkit.auth import bluesky as bsky
from brandkit.testing.bluesky import BlueskyEmulator

from .conftest import LOOPBACK, bluesky_session

HANDLE = "brand.test"


class LoopbackOnly(httpx.BaseTransport):
    """Forwards requests to 127.0.0.1; any other host is recorded and not reached."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.elsewhere: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host != "127.0.0.1":
            self.elsewhere.append(str(request.url))
            raise httpx.ConnectError("not on this machine", request=request)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


@pytest.fixture
def emu() -> Iterator[BlueskyEmulator]:
    emulator = BlueskyEmulator()
    with emulator.serve():
        emulator.add_user(HANDLE)
        yield emulator


def get_json(emu: BlueskyEmulator, path: str) -> dict[str, Any]:
    with httpx.Client(timeout=10) as http:
        answer: dict[str, Any] = http.get(emu.base_url + path).json()
    return answer


def start(emu: BlueskyEmulator, transport: LoopbackOnly) -> bsky.BlueskyStart:
    with httpx.Client(transport=transport, timeout=10) as http:
        return bsky.start(
            HANDLE,
            bsky.loopback_client(LOOPBACK),
            plc_url=emu.base_url,
            resolver=emu.base_url,
            http=http,
        )


def test_a_pds_on_plain_http_is_refused(emu: BlueskyEmulator) -> None:
    did = emu.user(HANDLE).did
    doc = get_json(emu, f"/{did}")
    doc["service"][0]["serviceEndpoint"] = "http://pds.example"
    emu.fault(method="GET", path=f"/{did}", status=200, body=doc)
    transport = LoopbackOnly()
    with pytest.raises(bsky.ResolutionError, match="plain http"):
        start(emu, transport)
    assert transport.elsewhere == []


def test_an_authorization_server_on_plain_http_is_refused(emu: BlueskyEmulator) -> None:
    meta = get_json(emu, "/.well-known/oauth-protected-resource")
    meta["authorization_servers"] = ["http://auth.example"]
    emu.fault(method="GET", path="/.well-known/oauth-protected-resource", status=200, body=meta)
    transport = LoopbackOnly()
    with pytest.raises(bsky.ResolutionError, match="plain http"):
        start(emu, transport)
    assert transport.elsewhere == []


def test_a_session_of_an_http_issuer_is_not_revoked_over_http(emu: BlueskyEmulator) -> None:
    creds = bluesky_session(emu)
    moved = bsky.BlueskyCredentials.from_dict({**creds.to_dict(), "issuer": "http://auth.example"})
    transport = LoopbackOnly()
    with (
        httpx.Client(transport=transport, timeout=10) as http,
        pytest.raises(bsky.ResolutionError, match="plain http"),
    ):
        bsky.revoke(moved, http=http)
    assert transport.elsewhere == []


def test_http_on_this_machine_is_still_taken(emu: BlueskyEmulator) -> None:
    transport = LoopbackOnly()
    assert start(emu, transport).url.startswith(emu.base_url + "/oauth/authorize?")
    assert transport.elsewhere == []
