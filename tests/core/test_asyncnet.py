"""brandkit._asyncnet: httpcore's network backend on asyncio transports, over real sockets
(plain and TLS) on 127.0.0.1: data both ways, flow control, the errors httpcore maps (nothing
sent vs. an answer lost), timeouts, and a pooled connection the server closed."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpcore
import httpx
import pytest

from brandkit import AsyncClient
from brandkit._asyncnet import AsyncioBackend

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@asynccontextmanager
async def serve(handler: Handler, ssl_context: ssl.SSLContext | None = None) -> AsyncIterator[int]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0, ssl=ssl_context)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


async def http_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A keep-alive HTTP/1.1 server: each request gets its body back (or its path)."""
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            body = await reader.readexactly(length) if length else head.split(b" ")[1]
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


def run(coro: Awaitable[None]) -> None:
    asyncio.run(asyncio.wait_for(coro, 30))  # type: ignore[arg-type]


def test_bytes_both_ways_with_flow_control() -> None:
    """4 MiB each way: the writer waits while the peer does not read (pause_writing), the
    reader pauses the transport past its high-water mark, and every byte arrives in order."""
    payload = bytes(range(256)) * (16 * 1024)

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(0.2)  # the client's write fills the socket buffers first
        got = await reader.readexactly(len(payload))
        writer.write(got)
        await writer.drain()
        writer.close()

    async def main() -> None:
        async with serve(echo) as port:
            stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)
            await stream.write(payload, timeout=10)
            await asyncio.sleep(0.3)  # the answer piles up unread: reading pauses
            unread = len(stream._protocol.buffer)  # type: ignore[attr-defined]
            assert 0 < unread <= 512 * 1024, unread  # not the whole 4 MiB in memory
            back = bytearray()
            while len(back) < len(payload):
                chunk = await stream.read(65536, timeout=10)
                assert chunk, "EOF before the whole payload"
                assert len(chunk) <= 65536
                back += chunk
            assert bytes(back) == payload
            assert await stream.read(65536, timeout=5) == b""  # the server closed: EOF
            await stream.aclose()

    run(main())


def test_refused_connect_is_connect_error() -> None:
    """Nothing listening: httpcore.ConnectError, which brandkit counts as "not sent"."""

    async def main() -> None:
        async with serve(http_answer) as port:
            pass  # closed again: the port is free
        with pytest.raises(httpcore.ConnectError):
            await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)

    run(main())


def test_read_timeout_and_a_dropped_connection() -> None:
    """A server that says nothing is a ReadTimeout; one that drops the connection after the
    request ends the read (EOF), which httpx reports as a lost answer, not as "not sent"."""

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(100)
        await asyncio.sleep(1.0)
        writer.close()

    async def main() -> None:
        async with serve(silent) as port:
            stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)
            await stream.write(b"hello", timeout=5)
            with pytest.raises(httpcore.ReadTimeout):
                await stream.read(100, timeout=0.2)
            assert await stream.read(100, timeout=5) == b""
            await stream.aclose()
            backend = AsyncioBackend()
            async with httpx.AsyncClient(
                transport=_transport(backend), timeout=httpx.Timeout(5.0, read=0.2)
            ) as client:
                with pytest.raises(httpx.ReadTimeout):
                    await client.get(f"http://127.0.0.1:{port}/")
            async with httpx.AsyncClient(transport=_transport(backend), timeout=5) as client:
                with pytest.raises(httpx.RemoteProtocolError):
                    await client.get(f"http://127.0.0.1:{port}/")

    run(main())


def _transport(backend: AsyncioBackend, **kwargs: object) -> httpx.AsyncHTTPTransport:
    transport = httpx.AsyncHTTPTransport(**kwargs)  # type: ignore[arg-type]
    transport._pool._network_backend = backend
    return transport


@pytest.mark.parametrize("loop_ran", [True, False], ids=["close-seen", "close-unread"])
def test_a_pooled_connection_the_server_closed_is_not_reused(loop_ran: bool) -> None:
    """The server closes an idle keep-alive connection some time after its answer: the pool
    retires it and the next request goes out on a new connection (no lost answer), whether
    the event loop has seen the close (EOF) or not yet (the socket reads as readable)."""
    connections: list[int] = []

    async def once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        head = await reader.readuntil(b"\r\n\r\n")
        path = head.split(b" ")[1]
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(path), path))
        await writer.drain()
        await asyncio.sleep(0.05)  # after the client has read the whole answer
        writer.close()  # without saying so (no Connection: close)

    async def main() -> None:
        async with (
            serve(once) as port,
            httpx.AsyncClient(transport=_transport(AsyncioBackend()), timeout=5) as client,
        ):
            for n in range(3):
                r = await client.get(f"http://127.0.0.1:{port}/{n}")
                assert r.text == f"/{n}"
                if not loop_ran:
                    # The loop stops reading this socket: the close stays in the kernel's
                    # buffer, unseen by the protocol, as when a request follows at once.
                    conn = client._transport._pool.connections[0]  # type: ignore[attr-defined]
                    conn._connection._network_stream._transport.pause_reading()
                await asyncio.sleep(0.2)  # the server closes while the connection idles
        assert len(connections) == 3

    run(main())


def _tls_pair(tmp_path: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context with a certificate for 127.0.0.1 and a client context trusting it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_pem = tmp_path / "cert.pem"
    key_pem = tmp_path / "key.pem"
    cert_pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_pem, key_pem)
    client = ssl.create_default_context(cafile=str(cert_pem))
    return server, client


def test_https_through_the_backend(tmp_path: Path) -> None:
    """TLS by loop.start_tls: requests over one verified connection, large bodies both ways;
    a certificate the client does not trust is a ConnectError (nothing was sent)."""
    server_ctx, client_ctx = _tls_pair(tmp_path)
    body = b"x" * 300_000

    async def main() -> None:
        async with serve(http_answer, server_ctx) as port:
            transport = _transport(AsyncioBackend(), verify=client_ctx)
            async with httpx.AsyncClient(transport=transport, timeout=10) as client:
                for _ in range(3):
                    r = await client.post(f"https://127.0.0.1:{port}/echo", content=body)
                    assert r.status_code == 200 and r.content == body
                r = await client.get(f"https://127.0.0.1:{port}/path")
                assert r.text == "/path"
            untrusting = _transport(AsyncioBackend(), verify=ssl.create_default_context())
            async with httpx.AsyncClient(transport=untrusting, timeout=10) as client:
                with pytest.raises(httpx.ConnectError):
                    await client.get(f"https://127.0.0.1:{port}/")

    run(main())


def test_a_large_answer_read_slowly_over_tls_arrives_whole(tmp_path: Path) -> None:
    """1 MB over TLS to a reader that waits between chunks: more than the high-water mark
    piles up unread, reading pauses, and resumes on the TLS transport the data comes
    through (resuming another one left the socket paused until the read timed out)."""
    server_ctx, client_ctx = _tls_pair(tmp_path)
    size = 1_000_000

    async def big(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size + b"a" * size)
        await writer.drain()
        writer.close()

    async def main() -> None:
        async with serve(big, server_ctx) as port:
            transport = _transport(AsyncioBackend(), verify=client_ctx)
            async with httpx.AsyncClient(transport=transport, timeout=5) as client:
                got = 0
                async with client.stream("GET", f"https://127.0.0.1:{port}/big") as answer:
                    async for chunk in answer.aiter_raw():
                        got += len(chunk)
                        await asyncio.sleep(0.01)
                assert got == size

    run(main())


def test_closing_drops_an_upload_the_peer_stopped_reading() -> None:
    """A connection closed with bytes still queued (the server stopped reading a large
    upload, the write timed out) lets its socket go at once: closing gracefully would keep
    the socket and the queued megabytes until the peer reads or goes away."""

    async def deaf(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await asyncio.sleep(30)
        finally:
            writer.close()

    async def main() -> None:
        async with serve(deaf) as port:
            stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)
            with pytest.raises(httpcore.WriteTimeout):
                await stream.write(b"x" * 20_000_000, timeout=0.2)
            protocol = stream._protocol  # type: ignore[attr-defined]
            assert stream._transport.get_write_buffer_size() > 0  # type: ignore[attr-defined]
            await stream.aclose()
            await asyncio.sleep(0.1)
            assert protocol.eof  # the transport is gone: connection_lost was called

    run(main())


def test_async_client_uses_it() -> None:
    """The AsyncClient brandkit makes for itself runs on this backend; a client the caller
    passes is left as it is."""

    async def main() -> None:
        own = AsyncClient()
        pool = own._http._transport._pool  # type: ignore[attr-defined]
        assert isinstance(pool._network_backend, AsyncioBackend)
        await own.aclose()
        theirs = httpx.AsyncClient()
        passed = AsyncClient(http=theirs)
        assert passed._http is theirs
        assert not isinstance(theirs._transport._pool._network_backend, AsyncioBackend)  # type: ignore[attr-defined]
        await theirs.aclose()

    run(main())
