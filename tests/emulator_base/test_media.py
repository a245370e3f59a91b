"""Media the emulators fetch from URLs, and the names they give stored files."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from brandkit import Media
from brandkit.testing import TINY_JPEG, Emulator, LoopbackMediaHost, png, route
from brandkit.testing._images import media_extension
from brandkit.testing._mediahost import FetchFailed, fetch_media
from tests.emulator_base.conftest import answer

GIF = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"
WEBP = b"RIFF\x1a\x00\x00\x00WEBPVP8 " + b"\x00" * 14
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"


@contextmanager
def server(behave: Callable[[BaseHTTPRequestHandler], None]) -> Iterator[str]:
    """A one-off HTTP server on 127.0.0.1 whose GETs ``behave`` answers."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            behave(self)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def redirect_to(location: Callable[[str], str]) -> Callable[[BaseHTTPRequestHandler], None]:
    """Answer every GET with a 302 to ``location(path)``."""

    def behave(h: BaseHTTPRequestHandler) -> None:
        h.send_response(302)
        h.send_header("Location", location(h.path))
        h.send_header("Content-Length", "0")
        h.end_headers()

    return behave


def test_extensions_come_from_the_bytes() -> None:
    """Stored media is named by what it is, not by the name the client sent."""
    assert media_extension(TINY_JPEG) == "jpg"
    assert media_extension(png()) == "png"
    assert media_extension(GIF) == "gif"
    assert media_extension(WEBP) == "webp"
    assert media_extension(MP4) == "mp4"
    assert media_extension(b"\x00\x00\x00\x14ftypqt  ") == "mov"
    assert media_extension(b"plain text", "image/png") == "png"  # the bytes say nothing
    assert media_extension(b"plain text") == "bin"
    assert media_extension(mime_type="video/mp4; codecs=avc1") == "mp4"


def test_the_media_host_names_files_by_their_type() -> None:
    """``put()`` without a name, and media whose file name has no extension."""
    with LoopbackMediaHost() as host:
        assert host.put(png(), "image/png").endswith(".png")
        assert host.put(b"\x00\x01", "application/octet-stream").endswith(".bin")
        url = host(Media(data=TINY_JPEG, filename="photo"))
        assert url.endswith(".jpg")
        assert httpx.get(url).content == TINY_JPEG


def test_fetch_follows_redirects_only_on_loopback() -> None:
    """Each hop is checked: loopback to loopback is followed, anything else refused
    before any connection is made to it."""
    with LoopbackMediaHost() as host:
        target = host.put(png(), "image/png")
        with (
            server(redirect_to(lambda _: target)) as hop2,
            server(redirect_to(lambda _: hop2 + "/x")) as hop1,
        ):
            data, ctype = fetch_media(hop1 + "/start", max_bytes=10_000)
            assert (data, ctype) == (png(), "image/png")
        with (
            server(redirect_to(lambda _: "http://example.com/a.png")) as away,
            pytest.raises(FetchFailed, match=r"example\.com.* not on 127\.0\.0\.1"),
        ):
            fetch_media(away + "/a", max_bytes=10_000)
        with (
            server(redirect_to(lambda _: "http://10.0.0.1/a.png")) as away2,
            server(redirect_to(lambda _: away2 + "/b")) as first,
            pytest.raises(FetchFailed, match=r"10\.0\.0\.1"),
        ):
            fetch_media(first + "/a", max_bytes=10_000)
        with (
            server(redirect_to(lambda path: path)) as loop,
            pytest.raises(FetchFailed, match="redirects"),
        ):
            fetch_media(loop + "/again", max_bytes=10_000)


def test_fetch_has_an_overall_deadline() -> None:
    """A server that trickles one byte every 0.1 s is given up on at the deadline."""

    def trickle(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Length", "1000")
        h.end_headers()
        for _ in range(1000):
            try:
                h.wfile.write(b"x")
                h.wfile.flush()
            except OSError:
                return
            time.sleep(0.1)

    with server(trickle) as slow:
        started = time.monotonic()
        with pytest.raises(FetchFailed, match="longer than 1 s"):
            fetch_media(slow + "/x", max_bytes=10_000, timeout=0.5, deadline=1.0)
        assert time.monotonic() - started < 2.0


class FetchingEmulator(Emulator):
    """An emulator whose ``/fetch`` downloads a URL, as Instagram and Threads do."""

    platform = "fetching"

    @route("POST", r"/fetch")
    def _fetch(self, request: httpx.Request) -> httpx.Response:
        try:
            data, _ = fetch_media(request.content.decode(), max_bytes=1000, deadline=5)
        except FetchFailed as exc:
            return self.error(400, str(exc))
        return self.json({"size": len(data)})

    @route("GET", r"/ping")
    def _ping(self, request: httpx.Request) -> httpx.Response:
        with self.lock:  # nested, as handlers do
            return self.json({"pong": True})


def test_a_slow_fetch_does_not_block_other_requests() -> None:
    """While one request waits on a slow media server, the emulator answers others (its
    lock is let go of during the download, and taken back after)."""
    release = threading.Event()

    def stall(h: BaseHTTPRequestHandler) -> None:
        release.wait(5)
        h.send_response(200)
        h.send_header("Content-Length", "3")
        h.end_headers()
        h.wfile.write(b"abc")

    emu = FetchingEmulator()
    result: dict[str, Any] = {}
    with server(stall) as slow, emu.serve() as url:

        def fetch() -> None:
            with httpx.Client(base_url=url, timeout=10) as http:
                result["fetch"] = http.post("/fetch", content=f"{slow}/a".encode())

        worker = threading.Thread(target=fetch)
        worker.start()
        time.sleep(0.3)  # the fetch is now waiting on the stalled server
        with httpx.Client(base_url=url, timeout=2) as http:
            started = time.monotonic()
            assert answer(http.get("/ping")) == {"pong": True}
            assert time.monotonic() - started < 1.0
        release.set()
        worker.join(10)
    assert answer(result["fetch"]) == {"size": 3}
    assert emu.errors == []
    assert emu.lock.acquire(blocking=False)  # nobody kept it
    emu.lock.release()
