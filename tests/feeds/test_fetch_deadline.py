"""A fetch ends at its timeout however the server sends its answer: httpx bounds each read,
so a server dripping its status line and headers a byte at a time must be cut by brandkit."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from brandkit.errors import ConfigurationError, TransportError
from brandkit.feeds import FeedWatcher, fetch
from brandkit.testing import png
from tests.feeds.documents import item, rss


@contextmanager
def dripping(fast: dict[str, bytes]) -> Iterator[tuple[str, list[str]]]:
    """A server on 127.0.0.1 answering the paths of ``fast`` at once (keeping the
    connection open), and any other path a header byte every 0.05 s for 20 s. ``seen``
    gets each path asked for, and ``whole:<path>`` when a client stayed for all 20 s of a
    drip (a fetch its deadline did not cut)."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()
    seen: list[str] = []

    def talk(conn: socket.socket) -> None:
        conn.settimeout(30)
        with conn:
            while not stop.is_set():
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(4096)
                    if not chunk:
                        return
                    data += chunk
                path = data.split(b" ")[1].decode()
                seen.append(path)
                if path in fast:
                    body = fast[path]
                    conn.sendall(
                        b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\n"
                        + f"Content-Length: {len(body)}\r\n\r\n".encode()
                        + body
                    )
                    continue
                try:
                    conn.sendall(b"HTTP/1.1 200 OK\r\nX-Pad: ")
                    for _ in range(400):
                        if stop.is_set():
                            return
                        conn.sendall(b"a")
                        time.sleep(0.05)
                    seen.append(f"whole:{path}")
                except OSError:
                    pass  # the client hung up, as it should
                return

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=talk, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}", seen
    finally:
        stop.set()
        listener.close()
        thread.join(5)


def test_a_fetch_whose_headers_drip_ends_at_the_timeout() -> None:
    with dripping({}) as (url, seen), httpx.Client() as http:
        with pytest.raises(TransportError, match=r"within 0\.5 s"):
            fetch(f"{url}/feed.xml", http=http, timeout=0.5)
        assert seen == ["/feed.xml"]  # cut, not read for the drip's 20 s


def test_an_image_whose_headers_drip_leaves_the_card_without_it_in_time(
    tmp_path: Path,
) -> None:
    """The second image comes from the host that served the first at once: the watcher's
    connection to it must not be kept and reused without the deadline."""
    image = png(40, 21)
    with dripping({"/one.png": image}) as (url, seen):
        document = rss(item(2, image=f"{url}/slow.png"), item(1, image=f"{url}/one.png"))
        with (
            dripping({"/feed.xml": document}) as (feed_url, _),
            FeedWatcher(
                f"{feed_url}/feed.xml",
                state=str(tmp_path / "state.db"),
                private_images=True,
                timeout=0.5,
            ) as w,
        ):
            one, two = w.poll()
            cut = list(seen)
    assert cut == ["/one.png", "/slow.png"]  # no "whole:/slow.png": the drip was cut
    assert one.post.link is not None and one.post.link.thumbnail is not None
    assert two.post.link is not None and two.post.link.thumbnail is None


@pytest.mark.parametrize(
    "options",
    [
        {"image_max_bytes": -1},
        {"image_max_bytes": "1MB"},
        {"limit": "5"},
        {"limit": True},
        {"max_bytes": 2.5},
        {"summary_chars": None},
        {"timeout": float("inf")},
        {"timeout": 0},
    ],
)
def test_a_watcher_refuses_bad_numbers_up_front(options: dict[str, object], tmp_path: Path) -> None:
    """Refused when made, with what to pass, not as a TypeError or OverflowError at the
    first poll (or an image limit of -1 that inflates a gzipped image whole)."""
    with pytest.raises(ConfigurationError, match=next(iter(options))):
        FeedWatcher(
            "https://blog.example.com/feed.xml",
            state=str(tmp_path / "state.db"),
            **options,  # type: ignore[arg-type]
        )


@pytest.mark.parametrize(
    "options",
    [
        {"max_bytes": -1},
        {"max_bytes": 0.5},
        {"timeout": float("nan")},
        {"timeout": -1},
        {"max_redirects": -1},
    ],
)
def test_fetch_refuses_bad_numbers_before_any_request(options: dict[str, object]) -> None:
    """``max_bytes=-1`` inflated a gzip bomb whole (zlib reads a limit of 0 as none)."""
    with dripping({}) as (url, seen), httpx.Client() as http:
        with pytest.raises(ConfigurationError, match=next(iter(options))):
            fetch(f"{url}/feed.xml", http=http, **options)  # type: ignore[arg-type]
        assert seen == []


def test_validators_that_are_not_ascii_are_not_sent_back(tmp_path: Path) -> None:
    """A server whose ETag or Last-Modified holds a byte past ASCII (é in Latin-1): it was
    stored, and every later poll raised UnicodeEncodeError sending it back. Such a
    validator is not kept; the next poll is a plain GET."""
    document = rss(item(1))
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(5)
    seen: list[bytes] = []

    def serve() -> None:
        for _ in range(2):
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                seen.append(conn.recv(65536))
                conn.sendall(
                    b'HTTP/1.1 200 OK\r\nETag: "caf\xe9"\r\nLast-Modified: Mon, 07 Dec 2026 '
                    b"\xe9\r\nContent-Type: application/rss+xml\r\nConnection: close\r\n"
                    + f"Content-Length: {len(document)}\r\n\r\n".encode()
                    + document
                )

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/feed.xml"
    try:
        with FeedWatcher(url, state=str(tmp_path / "state.db"), images=False) as w:
            assert len(w.poll()) == 1
            assert len(w.poll()) == 1  # still pending: not marked done
    finally:
        listener.close()
        thread.join(5)
    assert len(seen) == 2
    assert b"if-none-match" not in seen[1].lower()
    assert b"if-modified-since" not in seen[1].lower()


@pytest.mark.parametrize("agent", ["brandkit für Acme", "brandkit\r\nX-Evil: 1", ""])
def test_a_user_agent_that_cannot_be_sent_is_refused_up_front(agent: str, tmp_path: Path) -> None:
    """It raised UnicodeEncodeError (or httpx's own error) at each poll instead."""
    with pytest.raises(ConfigurationError, match="user_agent"):
        FeedWatcher(
            "https://blog.example.com/feed.xml",
            state=str(tmp_path / "state.db"),
            user_agent=agent,
        )
    with dripping({}) as (url, seen), httpx.Client() as http:
        with pytest.raises(ConfigurationError, match="user_agent"):
            fetch(f"{url}/feed.xml", http=http, user_agent=agent)
        assert seen == []
