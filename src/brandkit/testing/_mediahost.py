"""A tiny media server on 127.0.0.1, usable as an account's ``media_host`` in tests.

Instagram and Threads fetch media from public URLs, so their accounts take a
``media_host(media) -> url`` callable (in production: upload to your storage or CDN and
return the URL). In tests, `LoopbackMediaHost` serves the bytes itself, and the
emulators really download them from it::

    from brandkit.testing import LoopbackMediaHost
    from brandkit.testing.instagram import InstagramEmulator

    emu = InstagramEmulator()
    with LoopbackMediaHost() as host, emu.serve():
        account = emu.account(media_host=host)
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import attrs
import httpx

from brandkit._tls import shared_context
from brandkit.testing._emulator import _Server, unlocked
from brandkit.testing._images import media_extension

if TYPE_CHECKING:
    from brandkit.content._media import Media

__all__ = ["LOOPBACK_HOSTS", "FetchFailed", "LoopbackMediaHost", "fetch_media"]

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost", "[::1]"})
MAX_REDIRECTS = 5
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


class FetchFailed(Exception):
    """The emulator could not download a media URL (as the platform's fetcher could not)."""


def fetch_media(
    url: str, *, max_bytes: int, timeout: float = 5.0, deadline: float = 10.0
) -> tuple[bytes, str]:
    """Download ``url`` as Meta does when it is given a media URL: really, over HTTP.

    Only loopback hosts are fetched (emulators never send traffic elsewhere), on every hop:
    a redirect is followed (at most 5) only to another loopback http(s) URL; anything else
    fails as an unreachable URL would. At most ``max_bytes + 1`` bytes are read. The whole
    download gives up after ``deadline`` seconds, checked between reads; a single connect
    or read waits at most ``timeout`` seconds. Called from an emulator handler, it lets
    other requests to that emulator run while it waits (see
    `unlocked`).

    Returns:
        The bytes and the ``Content-Type`` the server sent.

    Raises:
        FetchFailed: not a loopback http(s) URL (or a redirect off loopback), unreachable,
            not a 200, too many redirects, or out of time.
    """
    _check_loopback(url)
    ends = time.monotonic() + deadline
    with unlocked():
        try:
            with httpx.Client(follow_redirects=False, verify=shared_context()) as client:
                for _ in range(MAX_REDIRECTS + 1):
                    remaining = ends - time.monotonic()
                    if remaining <= 0:
                        break
                    wait = httpx.Timeout(min(timeout, remaining))
                    with client.stream("GET", url, timeout=wait) as response:
                        if response.status_code in _REDIRECTS and "location" in response.headers:
                            url = str(response.url.join(response.headers["location"]))
                            _check_loopback(url)
                            continue
                        if response.status_code != 200:
                            raise FetchFailed(f"{url} answered HTTP {response.status_code}")
                        data = bytearray()
                        for chunk in response.iter_bytes():
                            data.extend(chunk)
                            if len(data) > max_bytes:
                                break
                            if time.monotonic() > ends:
                                raise FetchFailed(f"{url} took longer than {deadline:g} s")
                        return bytes(data), response.headers.get("content-type", "")
                else:
                    raise FetchFailed(f"{url}: more than {MAX_REDIRECTS} redirects")
        except httpx.HTTPError as exc:
            raise FetchFailed(f"{url} could not be fetched: {type(exc).__name__}") from None
    raise FetchFailed(f"{url} took longer than {deadline:g} s")


def _check_loopback(url: str) -> None:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        raise FetchFailed(f"{url!r} is not a URL") from None
    if parsed.scheme not in ("http", "https") or parsed.host not in LOOPBACK_HOSTS:
        raise FetchFailed(
            f"{url} is not on 127.0.0.1: brandkit's emulators only fetch media from loopback "
            "(use brandkit.testing.LoopbackMediaHost)"
        )


@attrs.define
class _Item:
    content_type: str
    data: bytes | None = None
    media: Media | None = None

    def chunks(self) -> Iterator[bytes]:
        if self.data is not None:
            yield self.data
        elif self.media is not None:
            yield from self.media.chunks(256 * 1024)

    @property
    def size(self) -> int:
        if self.data is not None:
            return len(self.data)
        return self.media.size if self.media is not None else 0


class LoopbackMediaHost:
    """Serves media on ``http://127.0.0.1:<port>/media/...`` from a background thread.

    Call it with a [`Media`][brandkit.Media] to get the URL that serves its bytes (it starts
    on first use); use it as a context manager, or call `close`, to stop it. Files are
    streamed from disk when the media has a path.

    Attributes:
        requests: the paths that were fetched, in order (to check that a platform emulator
            really downloaded them).
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise ValueError("LoopbackMediaHost only listens on loopback")
        self._host = host
        self._port = port
        self._items: dict[str, _Item] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.requests: list[str] = []

    # -- the media_host protocol -------------------------------------------------------------

    def __call__(self, media: Media) -> str:
        """The URL that serves ``media`` (content-addressed, so the same bytes get the same
        URL)."""
        digest = hashlib.sha256()
        for chunk in media.chunks():
            digest.update(chunk)
        ext = media_extension(mime_type=media.mime_type)  # sniffed when the Media was made
        name = f"{digest.hexdigest()[:32]}.{ext}"
        with self._lock:
            self._items[name] = _Item(media.mime_type, media=media)
        return f"{self.url}/media/{name}"

    def put(self, data: bytes, content_type: str, name: str | None = None) -> str:
        """Serve raw ``data`` with ``content_type`` (e.g. to serve a wrong type on purpose)
        and return its URL. Without ``name``, its name ends in the extension its bytes
        call for (``.bin`` when they are no known media)."""
        key = name or f"{hashlib.sha256(data).hexdigest()[:32]}.{media_extension(data)}"
        with self._lock:
            self._items[key] = _Item(content_type, data=data)
        return f"{self.url}/media/{key}"

    def remove(self, url: str) -> None:
        """Stop serving ``url`` (later fetches get 404)."""
        key = url.rsplit("/", 1)[-1]
        with self._lock:
            self._items.pop(key, None)

    # -- serving -----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:54321`` (starts the server if needed)."""
        self.start()
        assert self._server is not None
        return f"http://{self._host}:{self._server.server_address[1]}"

    def start(self) -> LoopbackMediaHost:
        """Start serving (once); returns ``self``."""
        with self._lock:
            if self._server is not None:
                return self
            server = _Server((self._host, self._port), _handler(self))
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="brandkit-media-host",
                daemon=True,
            )
            thread.start()
            self._server, self._thread = server, thread
        return self

    def close(self) -> None:
        """Stop serving and free the port (it can be started again)."""
        with self._lock:
            server, thread = self._server, self._thread
            self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(5)

    def __enter__(self) -> LoopbackMediaHost:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _item(self, path: str) -> _Item | None:
        with self._lock:
            self.requests.append(path)
            if not path.startswith("/media/"):
                return None
            return self._items.get(path[len("/media/") :].split("?", 1)[0])

    def __repr__(self) -> str:
        where = self.url if self._server is not None else "not started"
        return f"LoopbackMediaHost({where}, {len(self._items)} files)"


def _handler(host: LoopbackMediaHost) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in separate writes: without this, Nagle's algorithm and
        # the client's delayed ACK add about 40 ms to every download.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _serve(self, body: bool) -> None:
            item = host._item(self.path)
            if item is None:
                payload = b"Not Found"
                self.send_response(404)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if body:
                    self.wfile.write(payload)
                return
            self.send_response(200)
            self.send_header("Content-Type", item.content_type)
            self.send_header("Content-Length", str(item.size))
            self.end_headers()
            if body:
                for chunk in item.chunks():
                    self.wfile.write(chunk)

        def do_GET(self) -> None:
            self._serve(True)

        def do_HEAD(self) -> None:
            self._serve(False)

    return Handler
