"""Each request of a flow is read up to the size it declares (``Send.max_bytes``), not
only up to the 1 MiB of a token answer: Bluesky's discovery reads documents from servers
anyone runs (a handle's own domain, a did:web host, a PDS) and declares 64 KiB for them. A
fixed answer from a server on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from brandkit import auth
from brandkit.auth.bluesky import MAX_DOCUMENT
from brandkit.errors import MalformedResponse

from ._servers import Trickle

DID = "did:plc:" + "a" * 24
CLIENT = auth.bluesky.loopback_client("http://127.0.0.1:8765/callback")


@pytest.fixture
def big() -> Iterator[str]:
    server = Trickle(json.dumps({"did": DID, "pad": "x" * (MAX_DOCUMENT * 2)}).encode())
    yield server.url
    server.close()


def test_a_discovery_document_past_its_declared_size_is_refused(big: str) -> None:
    with pytest.raises(MalformedResponse, match=str(MAX_DOCUMENT)):
        auth.bluesky.start("brand.test", CLIENT, plc_url=big, resolver=big)


@pytest.mark.anyio
async def test_a_discovery_document_past_its_declared_size_is_refused_async(big: str) -> None:
    with pytest.raises(MalformedResponse, match=str(MAX_DOCUMENT)):
        await auth.bluesky.start_async("brand.test", CLIENT, plc_url=big, resolver=big)
