"""The base of brandkit's platform emulators: routing, a clock, scripted faults, serving.

An emulator is a stateful fake of one platform's API. It answers ``httpx.Request`` objects, so
it runs in-process (``emulator.transport()`` for ``httpx.MockTransport``) or over a real socket
on 127.0.0.1 (``with emulator.serve() as url: ...``).
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import attrs
import httpx

__all__ = ["Clock", "Drop", "Emulator", "Fault", "Request", "route"]

Request = httpx.Request
Handler = Callable[..., httpx.Response]


class Drop(Exception):
    """Raised by a handler to close the connection without an answer."""


class Clock:
    """The emulator's time: real time plus an offset that tests can advance."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def time(self) -> float:
        """Seconds since the epoch, as the emulator sees it."""
        with self._lock:
            return time.time() + self._offset

    def now(self) -> datetime:
        """The emulator's current time (aware UTC)."""
        return datetime.fromtimestamp(self.time(), UTC)

    def advance(self, seconds: float | timedelta) -> None:
        """Move the emulator's time forward (token expiry, rate windows, engagement)."""
        secs = seconds.total_seconds() if isinstance(seconds, timedelta) else seconds
        with self._lock:
            self._offset += secs


@attrs.define
class Fault:
    """A scripted fault: the next ``times`` requests matching ``method`` and ``path`` get it.

    Attributes:
        method: HTTP method, or ``"*"``.
        path: a regular expression matched against the whole path.
        status: answer with this status instead of handling the request.
        body: the JSON body of that answer (default: the platform's error shape).
        headers: extra headers of that answer.
        drop: ``"before"`` closes the connection without handling the request;
            ``"after"`` handles it (the post is stored) and then closes the connection.
        delay: seconds to wait before answering (slow responses).
        times: how many matching requests it applies to.
    """

    method: str = "*"
    path: str = ".*"
    status: int | None = None
    body: Any = None
    headers: dict[str, str] = attrs.field(factory=dict)
    drop: str | None = None
    delay: float = 0.0
    times: int = 1

    def matches(self, request: httpx.Request) -> bool:
        return (self.method in ("*", request.method)) and re.fullmatch(
            self.path, request.url.path
        ) is not None


def route(method: str, pattern: str) -> Callable[[Handler], Handler]:
    """Mark an emulator method as the handler of ``method`` ``pattern`` (a regex whose
    named groups become keyword arguments)."""

    def mark(fn: Handler) -> Handler:
        routes: list[tuple[str, str]] = getattr(fn, "_routes", [])
        routes.append((method, pattern))
        fn._routes = routes  # type: ignore[attr-defined]
        return fn

    return mark


class Emulator:
    """Base class of the emulators. Subclasses set ``platform`` and decorate handlers with
    :func:`route`; ``error()`` builds the platform's own error body.

    Attributes:
        clock: the emulator's clock.
        requests: every request received, in order (for request-counting tests).
    """

    platform: ClassVar[str] = "emulator"
    create_route: ClassVar[tuple[str, str]] = ("POST", "")
    """The method and path regex of the request that creates a post (for fault scripts)."""
    _table: ClassVar[list[tuple[str, re.Pattern[str], str]]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        table: list[tuple[str, re.Pattern[str], str]] = []
        for klass in reversed(cls.__mro__):
            for name, fn in vars(klass).items():
                for method, pattern in getattr(fn, "_routes", []):
                    table.append((method, re.compile(pattern), name))
        cls._table = table

    def __init__(self, *, clock: Clock | None = None) -> None:
        self.clock = clock or Clock()
        self.lock = threading.RLock()
        self.requests: list[httpx.Request] = []
        self._faults: list[Fault] = []
        self._base_url = "http://emulator.invalid"

    # -- what conformance tests need of every emulator ------------------------------------

    def account(self, *, name: str | None = None, **kwargs: Any) -> Any:
        """An ``Account`` with valid credentials for this emulator at :attr:`base_url`."""
        raise NotImplementedError

    def post_texts(self) -> list[str]:
        """The texts of the posts that exist now (deleted ones excluded), oldest first."""
        raise NotImplementedError

    # -- faults --------------------------------------------------------------------------

    def fault(self, **kwargs: Any) -> Fault:
        """Script a fault (see :class:`Fault` for the arguments) and return it."""
        f = Fault(**kwargs)
        with self.lock:
            self._faults.append(f)
        return f

    def clear_faults(self) -> None:
        """Forget every scripted fault."""
        with self.lock:
            self._faults.clear()

    def _take_fault(self, request: httpx.Request) -> Fault | None:
        with self.lock:
            for f in self._faults:
                if f.times > 0 and f.matches(request):
                    f.times -= 1
                    return f
        return None

    # -- answering -----------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """Where the emulator is reachable (the socket URL once served)."""
        return self._base_url

    def count(self, method: str = "*", path: str = ".*") -> int:
        """How many requests matching ``method`` and the ``path`` regex were received."""
        return sum(
            1 for r in self.requests if method in ("*", r.method) and re.fullmatch(path, r.url.path)
        )

    def error(self, status: int, message: str, **extra: Any) -> httpx.Response:
        """The platform's error response. Subclasses give it the platform's shape."""
        return self.json({"error": message, **extra}, status=status)

    @staticmethod
    def json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
        """A JSON response."""
        return httpx.Response(
            status,
            content=json.dumps(data).encode(),
            headers={"content-type": "application/json; charset=utf-8", **(headers or {})},
        )

    def rate_limit_headers(self, request: httpx.Request) -> dict[str, str]:
        """Headers added to every answer (subclasses send their rate-limit headers)."""
        return {}

    def handle(self, request: httpx.Request) -> httpx.Response:
        """Answer one request; raises :class:`Drop` where the connection is to be cut."""
        request.read()
        with self.lock:
            self.requests.append(request)
        fault = self._take_fault(request)
        if fault is not None:
            if fault.delay:
                time.sleep(fault.delay)
            if fault.drop == "before":
                raise Drop()
            if fault.status is not None:
                if fault.body is None:
                    resp = self.error(fault.status, "scripted fault")
                else:
                    resp = self.json(fault.body, status=fault.status)
                resp.headers.update(fault.headers)
                return resp
        response = self._dispatch(request)
        if fault is not None and fault.drop == "after":
            raise Drop()
        if fault is not None and fault.headers:
            response.headers.update(fault.headers)
        return response

    def _dispatch(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        allowed = False
        for method, pattern, name in self._table:
            match = pattern.fullmatch(path)
            if match is None:
                continue
            if method != request.method:
                allowed = True
                continue
            with self.lock:
                response: httpx.Response = getattr(self, name)(request, **match.groupdict())
            for key, value in self.rate_limit_headers(request).items():
                response.headers.setdefault(key, value)
            return response
        if allowed:
            return self.error(405, f"method {request.method} not allowed on {path}")
        return self.error(404, f"no route {request.method} {path}")

    # -- in-process ----------------------------------------------------------------------

    def transport(self) -> httpx.MockTransport:
        """An httpx transport that answers from this emulator in-process (sync and async).

        A dropped connection becomes ``httpx.RemoteProtocolError``, as over a socket.
        """

        def handler(request: httpx.Request) -> httpx.Response:
            try:
                return self.handle(request)
            except Drop:
                raise httpx.RemoteProtocolError(
                    "Server disconnected without sending a response.", request=request
                ) from None

        return httpx.MockTransport(handler)

    # -- over a socket -------------------------------------------------------------------

    @contextmanager
    def serve(self, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
        """Serve the emulator on ``host:port`` (0 picks a free port) in a background thread;
        yields its base URL, e.g. ``http://127.0.0.1:54321``."""
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise ValueError("emulators only listen on loopback")
        server = _Server((host, port), _handler_class(self))
        # A short poll interval makes shutdown() return in milliseconds, not half a second.
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{self.platform}-emulator",
        )
        thread.daemon = True
        thread.start()
        previous = self._base_url
        self._base_url = f"http://{host}:{server.server_address[1]}"
        try:
            yield self._base_url
        finally:
            self._base_url = previous
            server.shutdown()
            server.server_close()
            thread.join(5)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up (a test's timeout, a killed worker) is not the emulator's
        # error; anything else still prints its traceback.
        if isinstance(sys.exc_info()[1], ConnectionResetError | BrokenPipeError):
            return
        super().handle_error(request, client_address)


def _handler_class(emulator: Emulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in separate writes; with Nagle on, each answer then waits
        # for the client's delayed ACK (about 40 ms).
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _any(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            host = self.headers.get("host") or "127.0.0.1"
            request = httpx.Request(
                self.command,
                f"http://{host}{self.path}",
                headers=list(self.headers.items()),
                content=body,
            )
            try:
                response = emulator.handle(request)
            except Drop:
                self.close_connection = True
                self.connection.shutdown(2)
                return
            content = response.content
            # send_response() would add a second Date header next to the emulator's own.
            self.send_response_only(response.status_code)
            if "date" not in response.headers:
                self.send_header("Date", self.date_time_string())
            if "server" not in response.headers:
                self.send_header("Server", f"brandkit-{emulator.platform}-emulator")
            for key, value in response.headers.multi_items():
                if key.lower() in ("content-length", "transfer-encoding", "connection"):
                    continue
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(content)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _any

    return Handler
