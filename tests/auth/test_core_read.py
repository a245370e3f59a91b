"""What brandkit.auth's drivers hand a flow: the answer's body, decoded once."""

from __future__ import annotations

import gzip
import json
from collections.abc import Generator

import anyio
import httpx

from brandkit._flow import Send
from brandkit.auth import run, run_async

BODY = {"access_token": "t", "token_type": "DPoP", "expires_in": 3600}


def _gzipped(request: httpx.Request) -> httpx.Response:
    return httpx.Response(
        200,
        headers={"content-type": "application/json", "content-encoding": "gzip"},
        content=gzip.compress(json.dumps(BODY).encode()),
    )


def _flow() -> Generator[Send, httpx.Response, dict[str, object]]:
    response = yield Send(httpx.Request("GET", "http://127.0.0.1/meta"), bucket="oauth2_token")
    # Reading .json() decodes the body with the answer's headers: a gzip header left on a
    # body that was already decoded would fail here.
    result: dict[str, object] = response.json()
    assert "content-encoding" not in response.headers
    return result


def test_a_gzipped_answer_is_decoded_once() -> None:
    with httpx.Client(transport=httpx.MockTransport(_gzipped)) as http:
        assert run(_flow(), http) == BODY


def test_a_gzipped_answer_is_decoded_once_async() -> None:
    async def main() -> dict[str, object]:
        async with httpx.AsyncClient(transport=httpx.MockTransport(_gzipped)) as http:
            return await run_async(_flow(), http)

    assert anyio.run(main) == BODY
