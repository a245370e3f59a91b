"""A small HTTP proxy on 127.0.0.1 in front of a test PDS: it records every exchange and can
drop the response of a chosen request after the server has handled it (the "did my post land?"
case that idempotent record keys exist for)."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding"}
)


@dataclass(frozen=True)
class Exchange:
    """One request through the proxy and what became of it."""

    method: str
    path: str
    status: int
    dropped: bool


class LoopbackProxy:
    """Forwards to ``upstream``; ``drop_next(method, path_regex, times)`` makes it forward the
    next matching requests but cut the connection instead of answering."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.exchanges: list[Exchange] = []
        # [method, path pattern, how many matching requests still to let through first]
        self._drops: list[list[Any]] = []
        self._lock = threading.Lock()
        self._http = httpx.Client(timeout=30.0)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def drop_next(self, method: str, path: str, *, after: int = 0) -> None:
        """Drop the response of one request matching ``method`` and ``path``: the next one, or
        the one after ``after`` matching requests have been answered normally."""
        with self._lock:
            self._drops.append([method.upper(), re.compile(path), after])

    def calls(self, method: str = "*", path: str = ".*") -> list[Exchange]:
        """The exchanges so far that match."""
        pattern = re.compile(path)
        with self._lock:
            return [
                e
                for e in self.exchanges
                if (method == "*" or e.method == method.upper()) and pattern.search(e.path)
            ]

    def _take_drop(self, method: str, path: str) -> bool:
        with self._lock:
            dropped = False
            for rule in list(self._drops):
                if rule[0] == method and rule[1].search(path):
                    if rule[2] > 0:
                        rule[2] -= 1
                    elif not dropped:
                        self._drops.remove(rule)
                        dropped = True
            return dropped

    def _record(self, exchange: Exchange) -> None:
        with self._lock:
            self.exchanges.append(exchange)

    @contextmanager
    def running(self) -> Iterator[LoopbackProxy]:
        """Serve in a background thread; shut down on exit."""
        thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()
            thread.join(timeout=5)
            self._http.close()


def _handler(proxy: LoopbackProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {
                k: v
                for k, v in self.headers.items()
                if k.lower() not in _HOP_BY_HOP | {"host", "accept-encoding"}
            }
            request = proxy._http.build_request(
                self.command, proxy.upstream + self.path, headers=headers, content=body
            )
            response = proxy._http.send(request)
            path = self.path.split("?", 1)[0]
            if proxy._take_drop(self.command, path):
                # The server has done the work; the client never hears about it.
                proxy._record(Exchange(self.command, path, response.status_code, dropped=True))
                self.close_connection = True
                return
            proxy._record(Exchange(self.command, path, response.status_code, dropped=False))
            self.send_response(response.status_code)
            for key, value in response.headers.multi_items():
                if key.lower() not in _HOP_BY_HOP:
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(response.content)))
            self.end_headers()
            self.wfile.write(response.content)

        do_GET = _forward
        do_POST = _forward

    return Handler
