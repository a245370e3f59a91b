"""Request bodies over the base's socket server: chunked, capped, malformed."""

from __future__ import annotations

import hashlib
import os
import socket
import socketserver
import threading
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest

from brandkit.testing import LoopbackMediaHost
from brandkit.testing.bluesky import BlueskyEmulator
from tests.emulator_base.conftest import EchoEmulator, answer


def chunks(data: bytes, size: int = 7000) -> Iterator[bytes]:
    """``data`` as a generator: httpx sends it with ``Transfer-Encoding: chunked``."""
    for i in range(0, len(data), size):
        yield data[i : i + size]


def raw_exchange(url: str, request: bytes) -> bytes:
    """Send bytes on a fresh connection and read until the server closes it (every request
    here either asks for ``Connection: close`` or is refused, which closes)."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(request)
        out = b""
        while len(out) < 1_000_000:
            got = sock.recv(65536)
            if not got:
                break
            out += got
        return out


def test_a_chunked_body_arrives_whole() -> None:
    """A generator body (chunked, no Content-Length) reaches the handler whole, and the
    handler sees the headers as sent."""
    emu = EchoEmulator()
    data = os.urandom(300_000)
    with emu.serve() as url, httpx.Client(base_url=url) as http:
        got = answer(http.post("/echo", content=chunks(data)))
    assert got == {
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "transfer_encoding": "chunked",
        "content_length": None,
    }


def test_chunk_extensions_and_trailers() -> None:
    """Chunk extensions are ignored and trailer fields dropped (RFC 9112 7.1)."""
    emu = EchoEmulator()
    request = (
        b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        b"Connection: close\r\n\r\n"
        b"5;name=value\r\nhello\r\nA\r\n0123456789\r\n0\r\nX-Trailer: 1\r\n\r\n"
    )
    with emu.serve() as url:
        out = raw_exchange(url, request)
    assert out.startswith(b"HTTP/1.1 200")
    assert hashlib.sha256(b"hello0123456789").hexdigest().encode() in out


def test_too_large_bodies_get_413_chunked_or_not() -> None:
    """Past ``max_request_bytes`` the answer is 413 in the platform's error shape."""
    emu = EchoEmulator()
    emu.max_request_bytes = 10_000
    with emu.serve() as url:
        with httpx.Client(base_url=url) as http:
            streamed = http.post("/echo", content=chunks(b"x" * 20_000, 3000))
        with httpx.Client(base_url=url) as http:
            sized = http.post("/echo", content=b"x" * 20_000)
        with httpx.Client(base_url=url) as http:
            fits = http.post("/echo", content=chunks(b"x" * 10_000, 3000))
    assert streamed.status_code == 413 and sized.status_code == 413
    assert "10000 bytes" in streamed.json()["error"]
    assert answer(fits)["size"] == 10_000
    assert emu.count("POST", "/echo") == 1  # refused bodies never reach a handler


def test_malformed_chunking_is_a_400() -> None:
    """A chunk size that is not hex, or data shorter than announced, is refused."""
    emu = EchoEmulator()
    head = b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    with emu.serve() as url:
        not_hex = raw_exchange(url, head + b"0x5\r\nhello\r\n0\r\n\r\n")
        short = raw_exchange(url, head + b"9\r\nhello\r\n0\r\n\r\n")
        other = raw_exchange(
            url, b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n"
        )
    for out in (not_hex, short, other):
        assert out.startswith(b"HTTP/1.1 400"), out[:60]
    assert emu.requests == []


def test_bluesky_streamed_upload_blob_keeps_its_bytes() -> None:
    """The issue's case: a streamed ``uploadBlob`` was stored as a 0-byte blob with 200."""
    emu = BlueskyEmulator()
    data = b"\x89PNG\r\n\x1a\n" + os.urandom(100_000)
    with emu.serve() as url, httpx.Client(base_url=url) as http:
        account = emu.account()
        session = http.post(
            "/xrpc/com.atproto.server.createSession",
            json={
                "identifier": account.settings["handle"],
                "password": account.secret("app_password"),
            },
        ).json()
        blob = http.post(
            "/xrpc/com.atproto.repo.uploadBlob",
            content=chunks(data),
            headers={
                "authorization": f"Bearer {session['accessJwt']}",
                "content-type": "image/png",
            },
        )
    assert blob.status_code == 200, blob.text
    assert blob.json()["blob"]["size"] == len(data)
    [stored] = emu.blobs.values()
    assert stored.data == data


@pytest.mark.parametrize("server", ["emulator", "media host"])
def test_a_burst_of_connections_is_queued_not_dropped(
    server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """40 clients connecting while the accept thread is busy all get through at once and
    are answered, by an emulator and by the loopback media host: with socketserver's
    backlog of 5 the kernel dropped the others' SYNs and they connected only when resent, a
    second later (an `AsyncClient` syncing many accounts of one platform opens that many
    connections together)."""
    accepting = threading.Event()
    accept = socketserver.TCPServer.get_request

    def busy_accept(self: socketserver.TCPServer) -> tuple[socket.socket, Any]:
        accepting.wait(10)
        return accept(self)

    monkeypatch.setattr(socketserver.TCPServer, "get_request", busy_accept)
    socks: list[socket.socket] = []
    with ExitStack() as stack:
        if server == "emulator":
            url = stack.enter_context(EchoEmulator().serve())
            path = "/ping"
        else:
            host = stack.enter_context(LoopbackMediaHost())
            path = host.put(b"GIF89a", "image/gif", name="a.gif").removeprefix(host.url)
            url = host.url
        address = url.removeprefix("http://").split(":")
        try:
            for _ in range(40):
                # The handshake completes in the kernel while the connection waits in the
                # listen queue; a dropped SYN makes this time out.
                socks.append(socket.create_connection((address[0], int(address[1])), 0.5))
        finally:
            accepting.set()
        request = f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        for sock in socks:
            sock.settimeout(5)
            sock.sendall(request.encode())
        for sock in socks:
            with sock:
                assert sock.recv(65536).split(b" ", 2)[1] == b"200"
