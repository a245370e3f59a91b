"""End to end over a real socket on 127.0.0.1: the Client and its governor against a
windowed server, and the two SQLite-sharing budgets of two clients."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from brandkit import Client
from brandkit.governor import Governor, SQLiteState
from brandkit.platforms._base import RatePolicy
from tests.governor.conftest import PostAdapter, WindowedFake, account


@pytest.fixture
def server() -> Iterator[tuple[str, WindowedFake]]:
    """A WindowedFake (5 requests per second, Mastodon headers) served on 127.0.0.1."""
    fake = WindowedFake(time.time, 5, 1.0, style="mastodon")
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length") or 0))
            request = httpx.Request(
                "POST", "http://127.0.0.1/post", headers=list(self.headers.items())
            )
            with lock:
                response = fake(request)
            self.send_response(response.status_code)
            for key, value in response.headers.items():
                if key != "content-length":
                    self.send_header(key, value)
            self.send_header("content-length", str(len(response.content)))
            self.end_headers()
            self.wfile.write(response.content)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", fake
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def test_client_over_loopback_is_never_refused(server: tuple[str, WindowedFake]) -> None:
    """14 posts through 5 per second over a real socket: all accepted, none refused."""
    url, fake = server
    adapter = PostAdapter(account(base_url=url), (RatePolicy("post", 5, 1.0),))
    with Client(governor=Governor()) as client:
        for _ in range(14):
            assert client.run(adapter, adapter.post()).status_code == 200
    assert fake.ok == 14
    assert fake.refused == 0


def test_two_clients_share_an_sqlite_budget(
    server: tuple[str, WindowedFake], tmp_path: Path
) -> None:
    """Two clients (two connections to one SQLite file, as two processes would have) posting
    for one account at once: the server never refuses either."""
    url, fake = server
    policy = (RatePolicy("post", 5, 1.0),)
    db = tmp_path / "shared.db"
    errors: list[BaseException] = []

    def publish() -> None:
        try:
            adapter = PostAdapter(account(base_url=url), policy)
            with Client(governor=Governor(SQLiteState(db))) as client:
                for _ in range(6):
                    assert client.run(adapter, adapter.post()).status_code == 200
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=publish) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors
    assert fake.ok == 12
    assert fake.refused == 0
