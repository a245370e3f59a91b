"""A tiny feed server on 127.0.0.1: each path answers what the test scripted, and every
request is recorded (method, path, headers) so tests can check what brandkit sent."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from brandkit.testing._emulator import _Server

Answer = tuple[int, dict[str, str], bytes]


@dataclass
class FeedServer:
    """Routes are ``path -> answer`` where an answer is ``(status, headers, body)`` or a
    function of the request headers returning one."""

    url: str = ""
    routes: dict[str, Answer | Callable[[dict[str, str]], Answer]] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    trickle: dict[str, float] = field(default_factory=dict)

    def feed(
        self, path: str, body: bytes, *, etag: str | None = None, ctype: str = "application/rss+xml"
    ) -> None:
        """Serve ``body`` at ``path``, answering 304 to a matching ``If-None-Match``."""

        def answer(headers: dict[str, str]) -> Answer:
            if etag is not None and headers.get("if-none-match") == etag:
                return 304, {"ETag": etag}, b""
            extra = {"Content-Type": ctype}
            if etag is not None:
                extra["ETag"] = etag
            return 200, extra, body

        self.routes[path] = answer

    def hits(self, path: str) -> list[dict[str, str]]:
        return [h for p, h in self.requests if p == path]


def _handler(server: FeedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            headers = {k.lower(): v for k, v in self.headers.items()}
            server.requests.append((self.path, headers))
            route = server.routes.get(self.path)
            if route is None:
                status, extra, body = 404, {"Content-Type": "text/plain"}, b"not found"
            elif callable(route):
                status, extra, body = route(headers)
            else:
                status, extra, body = route
            self.send_response(status)
            for key, value in extra.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            delay = server.trickle.get(self.path)
            try:
                if delay:
                    for i in range(0, len(body), 64):
                        self.wfile.write(body[i : i + 64])
                        self.wfile.flush()
                        time.sleep(delay)
                else:
                    self.wfile.write(body)
            except OSError:
                pass  # the client gave up, as it should

    return Handler


@contextmanager
def serving() -> Iterator[FeedServer]:
    """A `FeedServer` listening on a free port of 127.0.0.1 while the block runs."""
    state = FeedServer()
    # The emulators' server: a client that hangs up on a kept-alive connection is not an
    # error worth a traceback in the test log.
    httpd = _Server(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    """A `FeedServer` listening on a free port of 127.0.0.1 for the test."""
    with serving() as server:
        yield server


@pytest.fixture
def other_server() -> Iterator[FeedServer]:
    """A second `FeedServer`, on another port: another service of the machine."""
    with serving() as server:
        yield server
