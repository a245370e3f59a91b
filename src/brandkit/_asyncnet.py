"""httpcore's network backend on asyncio's own transports, for the ``httpx.AsyncClient``
that `brandkit.AsyncClient` makes for itself.

httpx reaches sockets through anyio, whose layers (cancel scopes, checkpoints, a dict of
attribute getters built for every ``is_readable`` check of a pooled connection) cost about a
quarter of the CPU of a small request: on a worker publishing for many accounts, more than
the outbox's own work. The same asyncio transport and TLS (``loop.start_tls``) without them
behave the same towards httpcore: the same exceptions (`httpcore.ConnectError` when nothing
was sent, ``ReadError``/``WriteError``/the timeouts), the same readable-socket check that
retires a pooled connection the server closed.
"""

from __future__ import annotations

import asyncio
import select
import socket
import ssl
from collections.abc import Iterable
from typing import Any

import httpcore

# Reading pauses while this much has arrived unread, so a server cannot fill memory.
_HIGH_WATER = 256 * 1024
_LOW_WATER = 64 * 1024


class _Protocol(asyncio.Protocol):
    """What arrives, kept for `_Stream.read`; the events the stream waits for."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.eof = False
        self.error: BaseException | None = None
        self.reader: asyncio.Future[None] | None = None
        self.writable: asyncio.Future[None] | None = None
        self.paused_reading = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) > _HIGH_WATER and self.transport is not None:
            self.transport.pause_reading()
            self.paused_reading = True
        self._wake_reader()

    def eof_received(self) -> bool:
        self.eof = True
        self._wake_reader()
        return False  # the transport closes itself

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof = True
        self.error = exc
        self._wake_reader()
        self.resume_writing()

    def pause_writing(self) -> None:
        if self.writable is None or self.writable.done():
            self.writable = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        if self.writable is not None and not self.writable.done():
            self.writable.set_result(None)

    def _wake_reader(self) -> None:
        if self.reader is not None and not self.reader.done():
            self.reader.set_result(None)


def _readable(sock: socket.socket | None) -> bool:
    """Whether ``sock`` has something to read now (data, or the peer's close)."""
    if sock is None or sock.fileno() < 0:
        return True
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


class _Stream(httpcore.AsyncNetworkStream):
    def __init__(self, transport: asyncio.Transport, protocol: _Protocol) -> None:
        self._transport = transport
        self._protocol = protocol

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        p = self._protocol
        if not p.buffer and not p.eof:
            p.reader = asyncio.get_running_loop().create_future()
            try:
                async with asyncio.timeout(timeout):
                    await p.reader
            except TimeoutError:
                raise httpcore.ReadTimeout("no data arrived within the read timeout") from None
            finally:
                p.reader = None
        if p.buffer:
            if len(p.buffer) <= max_bytes:
                data = bytes(p.buffer)
                p.buffer.clear()
            else:
                data = bytes(p.buffer[:max_bytes])
                del p.buffer[:max_bytes]
            if p.paused_reading and len(p.buffer) < _LOW_WATER and p.transport is not None:
                p.paused_reading = False
                p.transport.resume_reading()
            return data
        if p.error is not None:
            raise httpcore.ReadError(str(p.error) or type(p.error).__name__)
        return b""

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        p = self._protocol
        if p.error is not None or self._transport.is_closing():
            raise httpcore.WriteError(str(p.error or "the connection is closed"))
        self._transport.write(buffer)
        if p.writable is not None and not p.writable.done():
            try:
                async with asyncio.timeout(timeout):
                    await p.writable
            except TimeoutError:
                raise httpcore.WriteTimeout("the peer took no data within the timeout") from None
            if p.error is not None:
                raise httpcore.WriteError(str(p.error))

    async def aclose(self) -> None:
        # httpcore closes a connection it will not use again: nothing is left to say, so
        # bytes still queued (an upload the server stopped reading) are dropped with the
        # socket instead of holding both until the peer reads or goes away.
        self._transport.abort()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                transport = await loop.start_tls(
                    self._transport, self._protocol, ssl_context, server_hostname=server_hostname
                )
        except TimeoutError:
            self._transport.close()
            raise httpcore.ConnectTimeout("the TLS handshake timed out") from None
        except (OSError, ssl.SSLError) as exc:
            self._transport.close()
            raise httpcore.ConnectError(str(exc)) from exc
        if transport is None:  # the connection closed during the handshake
            raise httpcore.ConnectError("the connection closed during the TLS handshake")
        assert isinstance(transport, asyncio.Transport)
        # From now on data arrives through the TLS transport: reading is paused and resumed
        # there (pausing the socket's own transport under it would never be undone).
        self._protocol.transport = transport
        return _Stream(transport, self._protocol)

    def get_extra_info(self, info: str) -> Any:
        t = self._transport
        if info == "is_readable":
            p = self._protocol
            return (
                bool(p.buffer) or p.eof or t.is_closing() or _readable(t.get_extra_info("socket"))
            )
        if info == "ssl_object":
            return t.get_extra_info("ssl_object")
        if info == "socket":
            return t.get_extra_info("socket")
        if info == "client_addr":
            return t.get_extra_info("sockname")
        if info == "server_addr":
            return t.get_extra_info("peername")
        return None


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    """httpcore's ``AsyncNetworkBackend`` on asyncio transports (see the module's
    docstring). Only under asyncio; trio has no such loop."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        local = (local_address, 0) if local_address else None
        try:
            async with asyncio.timeout(timeout):
                transport, protocol = await loop.create_connection(
                    _Protocol, host, port, local_addr=local
                )
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"connecting to {host}:{port} timed out") from None
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        return self._stream(transport, protocol, socket_options)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                transport, protocol = await loop.create_unix_connection(_Protocol, path)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"connecting to {path} timed out") from None
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        return self._stream(transport, protocol, socket_options)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    @staticmethod
    def _stream(
        transport: asyncio.BaseTransport,
        protocol: _Protocol,
        socket_options: Iterable[Any] | None,
    ) -> _Stream:
        assert isinstance(transport, asyncio.Transport)
        sock = transport.get_extra_info("socket")
        for option in socket_options or ():
            sock.setsockopt(*option)
        return _Stream(transport, protocol)
