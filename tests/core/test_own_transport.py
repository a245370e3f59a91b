"""brandkit's own HTTP client, over real sockets: it sends straight through its transport
(not through ``httpx.Client``'s auth, redirect, cookie and hook layers, which it never uses),
sends no cookie back, and gives an answer what ``httpx.Client`` would have set on it (its
request, its time, the ``httpx`` log line). A client the caller passes is used as it is:
one with a proxy sends through the proxy."""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import logging
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from brandkit import Account, AsyncClient, Client, DeliveryStatus, Outbox, Post
from brandkit._hooks import BucketKey
from brandkit.errors import ConfigurationError
from brandkit.platforms._base import RatePolicy
from brandkit.testing.mastodon import MastodonEmulator

_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "proxy-connection", "host"})


class Front:
    """A server on 127.0.0.1 in front of ``upstream``: a forward proxy for requests in
    absolute form (``POST http://host/path``), a reverse proxy for the others. Every answer
    sets a cookie; every request's target and ``Cookie`` header are recorded."""

    def __init__(self, upstream: str) -> None:
        self.upstream = urlsplit(upstream)
        self.seen: list[tuple[str, str, str | None]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        front = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _forward(self) -> None:
                with front._lock:
                    front.seen.append((self.command, self.path, self.headers.get("Cookie")))
                target = urlsplit(self.path)
                path = (
                    self.path
                    if not target.scheme
                    else target.path + (f"?{target.query}" if target.query else "")
                )
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
                up = http.client.HTTPConnection(
                    front.upstream.hostname, front.upstream.port, timeout=10
                )
                try:
                    up.request(self.command, path, body=body, headers=headers)
                    answer = up.getresponse()
                    content = answer.read()
                    self.send_response(answer.status)
                    for key, value in answer.getheaders():
                        if key.lower() not in _HOP | {"content-length"}:
                            self.send_header(key, value)
                finally:
                    up.close()
                self.send_header("Set-Cookie", "lb=sticky-1; Path=/")
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            do_GET = _forward
            do_POST = _forward
            do_DELETE = _forward

        return Handler

    @contextlib.contextmanager
    def running(self) -> Iterator[Front]:
        thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()
            thread.join(timeout=5)


class Watching:
    """A governor that waits for nothing and keeps every answer it is shown."""

    def __init__(self) -> None:
        self.answers: list[httpx.Response] = []

    def acquire(self, key: BucketKey, cost: int, policies: Sequence[RatePolicy]) -> float:
        return 0.0

    def observe(self, key: BucketKey, response: httpx.Response) -> float | None:
        self.answers.append(response)
        return None


@pytest.fixture
def no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    return monkeypatch


def _through(account: Account, base_url: str) -> Account:
    return Account(
        account.platform,
        name=account.name,
        base_url=base_url,
        secrets={k: account.secret(k) for k in account.secret_names},
        settings=account.settings,
    )


def _publish_twice(
    account: Account, *, asynchronous: bool, proxy: str | None = None, **options: Any
) -> list[Any]:
    """Two posts from one client; with ``proxy``, the caller's own httpx client is passed."""
    if not asynchronous:
        with contextlib.ExitStack() as stack:
            if proxy is not None:
                options["http"] = stack.enter_context(httpx.Client(proxy=proxy))
            client = stack.enter_context(Client(**options))
            return [client.publish(Post(text=f"hello {i}"), account)[0] for i in range(2)]

    async def run() -> list[Any]:
        async with contextlib.AsyncExitStack() as stack:
            if proxy is not None:
                options["http"] = await stack.enter_async_context(httpx.AsyncClient(proxy=proxy))
            client = await stack.enter_async_context(AsyncClient(**options))
            return [(await client.publish(Post(text=f"hello {i}"), account))[0] for i in range(2)]

    return asyncio.run(run())


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_a_client_passed_with_a_proxy_sends_through_it(
    no_proxy_env: pytest.MonkeyPatch, asynchronous: bool
) -> None:
    emu = MastodonEmulator()
    with emu.serve():
        account = emu.account(name="brand")
        with Front(account.base_url).running() as front:
            deliveries = _publish_twice(account, asynchronous=asynchronous, proxy=front.url)
    assert [d.status for d in deliveries] == [DeliveryStatus.SENT] * 2
    creates = [target for method, target, _ in front.seen if method == "POST"]
    # Absolute form: the request went to the proxy, addressed to the instance.
    assert creates == [f"{account.base_url}/api/v1/statuses"] * 2


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_the_own_client_sends_no_cookie_back(
    no_proxy_env: pytest.MonkeyPatch, asynchronous: bool
) -> None:
    emu = MastodonEmulator()
    with emu.serve():
        account = emu.account(name="brand")
        with Front(account.base_url).running() as front:
            behind = _through(account, front.url)
            deliveries = _publish_twice(behind, asynchronous=asynchronous)
    assert [d.status for d in deliveries] == [DeliveryStatus.SENT] * 2
    assert [target for method, target, _ in front.seen if method == "POST"] == [
        "/api/v1/statuses"
    ] * 2
    # The instance's limits were read first: every later request could have sent it back.
    assert len(front.seen) >= 3
    assert [cookie for *_, cookie in front.seen] == [None] * len(front.seen)


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_a_direct_answer_carries_what_httpx_client_would_set(
    no_proxy_env: pytest.MonkeyPatch,
    asynchronous: bool,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("brandkit's own client went through httpx's client layers")

    no_proxy_env.setattr(httpx.Client, "send", refuse)
    no_proxy_env.setattr(httpx.AsyncClient, "send", refuse)
    caplog.set_level(logging.INFO, logger="httpx")
    governor = Watching()
    emu = MastodonEmulator()
    with emu.serve():
        account = emu.account(name="brand")
        deliveries = _publish_twice(account, asynchronous=asynchronous, governor=governor)
    assert [d.status for d in deliveries] == [DeliveryStatus.SENT] * 2
    creates = [a for a in governor.answers if a.request.url.path == "/api/v1/statuses"]
    assert [a.request.method for a in creates] == ["POST", "POST"]
    for answer in creates:
        assert answer.elapsed > timedelta(0)
        assert answer.json()["content"]
    lines = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    assert (
        lines.count(f'HTTP Request: POST {account.base_url}/api/v1/statuses "HTTP/1.1 200 OK"') == 2
    )
    assert all(account.secret("token") not in line for line in lines)


def test_a_closed_own_client_refuses_with_a_typed_error_and_sends_nothing(
    no_proxy_env: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    """Every call of a closed client raises `ConfigurationError` saying to make a new one,
    before anything is sent or stored: no failed delivery with httpx's message, no outbox
    row, no traceback in the log."""
    emu = MastodonEmulator()
    with emu.serve(), Outbox(tmp_path / "o.db") as outbox:
        account = emu.account(name="brand")
        client = Client(outbox=outbox)
        (first,) = client.publish(Post(text="before"), account)
        client.close()
        with pytest.raises(ConfigurationError, match=r"Client is closed.*make a new Client"):
            client.publish(Post(text="after"), account)
        with pytest.raises(ConfigurationError, match="Client is closed"):
            client.inbox(account)
        with pytest.raises(ConfigurationError, match="Client is closed"):
            client.collect([first])
        texts = [p["text"] for p in emu.posts]
        stored = outbox.list()
    assert first.status is DeliveryStatus.SENT
    assert texts == ["before"]
    assert [d.id for d in stored] == [first.id]


def test_a_closed_async_client_refuses_with_a_typed_error() -> None:
    emu = MastodonEmulator()

    async def main() -> None:
        account = emu.account(name="brand")
        client = AsyncClient()
        await client.aclose()
        with pytest.raises(ConfigurationError, match="AsyncClient is closed"):
            await client.publish(Post(text="after"), account)
        with pytest.raises(ConfigurationError, match="AsyncClient is closed"):
            await client.inbox(account)

    with emu.serve():
        asyncio.run(main())
    assert emu.posts == []


def test_a_closed_client_of_the_user_s_own_is_named_as_such() -> None:
    """A client passed as ``http=`` and closed by its owner: the error says which one."""
    emu = MastodonEmulator()
    http = httpx.Client(transport=emu.transport())
    client = Client(http=http)
    account = emu.account(name="brand")
    http.close()
    with pytest.raises(ConfigurationError, match="given to this Client as http= is closed"):
        client.publish(Post(text="after"), account)
    assert emu.posts == []


def test_an_adapter_parses_each_url_once_and_keeps_a_bounded_number() -> None:
    """`Adapter.url`: the same path gives the same parsed URL (no parsing again), the URL
    is the one a string would give, and at most 64 are kept."""
    from brandkit.platforms._base import _URLS_KEPT
    from brandkit.platforms.mastodon import MastodonAdapter

    adapter = MastodonAdapter(Account.mastodon("https://social.example", token="t0ken"))
    first = adapter.url("/api/v1/statuses")
    assert adapter.url("/api/v1/statuses") is first
    assert first == httpx.URL("https://social.example/api/v1/statuses")
    request = adapter._request("POST", "/api/v1/statuses", params={"a": "b c"})
    assert str(request.url) == "https://social.example/api/v1/statuses?a=b+c"
    assert adapter.url("/api/v1/statuses") == first  # the params went to the request only
    for i in range(3 * _URLS_KEPT):
        assert adapter.url(f"/api/v1/statuses/{i}").path == f"/api/v1/statuses/{i}"
    assert 0 < len(adapter.__dict__["_urls"]) <= _URLS_KEPT
    with pytest.raises(httpx.InvalidURL):
        adapter.url("/bad path\x00")


def test_a_deadline_past_before_connecting_is_a_timeout_of_a_request_never_sent() -> None:
    """The synchronous client's overall deadline can run out while a request waits for a
    pooled connection: the connect that follows then fails as a ``ConnectTimeout`` (nothing
    was sent, so a create may be sent again), not as a ``ReadTimeout`` (which says an answer
    was lost and the post may be on the platform)."""
    from brandkit._client import _NOT_SENT, _SYNC_DEADLINE, _deadline_client

    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    http, _ = _deadline_client(5.0)
    _SYNC_DEADLINE.at = time.monotonic() - 1
    try:
        with pytest.raises(httpx.ConnectTimeout) as raised:
            http.get(f"http://127.0.0.1:{port}/")
    finally:
        _SYNC_DEADLINE.at = None
        http.close()
    assert isinstance(raised.value, _NOT_SENT)
    listener.settimeout(0.2)
    with pytest.raises(TimeoutError):
        listener.accept()  # no connection was even made
    listener.close()
