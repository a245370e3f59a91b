"""Small emulators built on the base, to test what every emulator gets from it."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import httpx

from brandkit.testing import Emulator, route
from brandkit.testing._forms import parse_multipart


class EchoEmulator(Emulator):
    """Answers what it received: the body's size and digest, its multipart parts, its
    headers; ``/boom`` raises, as an emulator bug would."""

    platform = "echo"

    @route("POST", r"/echo")
    def _echo(self, request: httpx.Request) -> httpx.Response:
        body = request.content
        return self.json(
            {
                "size": len(body),
                "sha256": hashlib.sha256(body).hexdigest(),
                "transfer_encoding": request.headers.get("transfer-encoding"),
                "content_length": request.headers.get("content-length"),
            }
        )

    @route("POST", r"/parts")
    def _parts(self, request: httpx.Request) -> httpx.Response:
        parts = parse_multipart(request.content, request.headers["content-type"])
        return self.json(
            [
                {
                    "name": p.name,
                    "filename": p.filename,
                    "content_type": p.content_type,
                    "is_file": p.is_file,
                    "hex": p.data.hex(),
                }
                for p in parts
            ]
        )

    @route("GET", r"/ping")
    def _ping(self, request: httpx.Request) -> httpx.Response:
        return self.json({"pong": True})

    @route("GET", r"/boom")
    def _boom(self, request: httpx.Request) -> httpx.Response:
        raise KeyError("an emulator bug")


def answer(response: httpx.Response) -> Any:
    """The JSON body of a response, after checking it is a 200."""
    assert response.status_code == 200, response.text
    return json.loads(response.content)
