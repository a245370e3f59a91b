"""Fetching a feed (or an entry's image) over http(s): bounded in size and time, conditional
(``ETag`` / ``Last-Modified``), redirects followed by hand so that each hop is checked."""

from __future__ import annotations

import contextlib
import html
import math
import socket
import threading
import time
import zlib
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, unquote, unquote_plus, urljoin, urlsplit

import attrs
import httpx

from brandkit._durations import checked_seconds
from brandkit._limits import check_limit
from brandkit.errors import (
    AuthError,
    ConfigurationError,
    MalformedResponse,
    PlatformUnavailable,
    RateLimited,
    Rejected,
    TransportError,
)
from brandkit.platforms._base import http_time

__all__ = ["Fetched", "check_url", "fetch", "scrubbed", "shown"]

MB = 1024 * 1024
MAX_TIMEOUT = 86_400.0
"""The longest ``timeout`` of a fetch, in seconds (a day): past it, a wait is a mistake."""
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1"
)


@attrs.frozen
class Fetched:
    """What a fetch brought back.

    Attributes:
        status: 200 (``body`` holds the document) or 304 (not modified since the
            ``ETag`` / ``Last-Modified`` sent; ``body`` is empty).
        url: the address that answered (after redirects).
        body: the body, inflated, at most the fetch's ``max_bytes``.
        content_type: its ``Content-Type``, if any.
        etag: its ``ETag``, to send as ``If-None-Match`` next time (``None`` when it has
            none, or one that is not printable ASCII and so cannot be sent back).
        last_modified: its ``Last-Modified``, to send as ``If-Modified-Since`` next time
            (likewise).
    """

    status: int
    # A private feed's URL carries a password or token: shown without them.
    url: str = attrs.field(repr=lambda url: repr(shown(url)))
    body: bytes = b""
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None


def shown(url: str) -> str:
    """``url`` as messages and logs show it: without a user and password, and with its query
    cut (private feeds carry a token there)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
        if ":" in host:
            host = f"[{host}]"  # an IPv6 address, as a URL writes it
    except ValueError:
        return "(an invalid URL)"
    query = "?…" if parts.query else ""
    return f"{parts.scheme}://{host}{port}{parts.path}{query}"


# Shorter pieces of a URL are no secret worth the damage done by blanking them everywhere
# (a query's "u=1" would blank every "1" of a message).
_SECRET_LEAST = 4


def scrubbed(text: str, *urls: str) -> str:
    """``text`` (a server's answer, quoted in a message) without what `shown` leaves out of
    ``urls``: each one's password and query, and the query's values, as written in the URL,
    decoded and HTML-escaped (a server's error page often echoes the request)."""
    pieces: set[str] = set()
    for url in urls:
        try:
            parts = urlsplit(url)
            password = parts.password or ""
        except ValueError:
            continue
        # Each value as written (percent-encoded) and as read (parse_qsl decodes).
        written = (pair.partition("=")[2] for pair in parts.query.split("&"))
        read = (value for _, value in parse_qsl(parts.query, keep_blank_values=True))
        raw = [password, parts.query, *written, *read]
        for piece in raw:
            decoded = unquote(piece)
            pieces.update((piece, decoded, html.escape(decoded), piece.replace("&", "&amp;")))
    # The longest first: a query holds its values.
    for piece in sorted((p for p in pieces if len(p) >= _SECRET_LEAST), key=len, reverse=True):
        text = text.replace(piece, "…")
    return text


def without_secrets(link: str, feed_url: str) -> str | None:
    """``link`` (an entry's, from the feed's content) without the query parameters that
    carry ``feed_url``'s password or a value of its query (a private feed's token, which
    some generators append to every link), or ``None`` when it holds one elsewhere."""
    try:
        parts = urlsplit(feed_url)
        password = parts.password or ""
    except ValueError:
        return link
    values = [password, *(v for _, v in parse_qsl(parts.query, keep_blank_values=True))]
    secrets = {v for v in values if len(v) >= _SECRET_LEAST}
    if not secrets or not any(
        piece in link for v in secrets for piece in (v, quote(v, safe=""), quote_plus(v))
    ):
        return link
    try:
        own = urlsplit(link)
    except ValueError:
        return None
    kept = [
        pair for pair in own.query.split("&") if unquote_plus(pair.partition("=")[2]) not in secrets
    ]
    cleaned = own._replace(query="&".join(kept)).geturl()
    lowered = unquote_plus(cleaned)
    if any(v in cleaned or v in lowered for v in secrets):
        return None
    return cleaned


def check_url(url: str, what: str = "feed URL") -> str:
    """``url`` if it is an absolute http(s) URL.

    Raises:
        ConfigurationError: another scheme (``file:``, ``ftp:``), no host, or a URL that
            cannot be read (a bad ``[...]`` host, a port that is not a number, a host name
            no IDNA can encode).
    """
    try:
        parts = urlsplit(url)
        # What httpx will send it with must read it too: a host no IDNA can encode, a
        # port that is not a number.
        httpx.URL(url)
        parts.port  # noqa: B018
    except (ValueError, httpx.InvalidURL) as exc:
        raise ConfigurationError(f"the {what} {shown(url)!r} is not a valid URL ({exc})") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            f"the {what} must be an absolute http(s) URL such as "
            f"https://blog.example.com/feed.xml, got {shown(url)!r}"
        )
    return url


class _Reader:
    """The body, inflated by hand (gzip, deflate) so that it never grows past ``limit``
    however small the compressed bytes are."""

    def __init__(self, encoding: str, limit: int) -> None:
        self.limit = limit
        self.out = bytearray()
        self.raw = False
        self.inflater: Any = None
        if encoding in ("gzip", "x-gzip"):
            self.inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self.inflater = zlib.decompressobj()
        elif encoding not in ("", "identity"):
            raise httpx.DecodingError(f"unsupported content-encoding {encoding!r}")
        self.deflate = encoding == "deflate"

    def feed(self, chunk: bytes) -> bool:
        """Take ``chunk``; ``False`` once the body is over the limit."""
        if self.inflater is None:
            self.out += chunk
            return len(self.out) <= self.limit
        try:
            data = chunk
            while data and len(self.out) <= self.limit:
                self.out += self.inflater.decompress(data, self.limit + 1 - len(self.out))
                data = self.inflater.unconsumed_tail
        except zlib.error as exc:
            if self.deflate and not self.raw and not self.out:
                # "deflate" is often sent raw, without the zlib wrapper.
                self.raw = True
                self.inflater = zlib.decompressobj(-zlib.MAX_WBITS)
                return self.feed(chunk)
            raise httpx.DecodingError(f"the body could not be inflated: {exc}") from None
        return len(self.out) <= self.limit


class _Deadline:
    """Ends a fetch's connections when its time is up. httpx's timeouts bound each read,
    not the whole answer: a server sending its status line and headers a byte at a time
    would otherwise hold the fetch for as long as it likes. So the sockets of the fetch's
    connections (seen through httpcore's ``trace`` extension when each is made) are shut
    down at the deadline, which fails the read that waits on them."""

    def __init__(self, seconds: float) -> None:
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self.passed = False
        self._timer = threading.Timer(max(0.0, seconds), self._end)
        self._timer.daemon = True
        self._timer.start()

    def trace(self, event: str, info: dict[str, Any]) -> None:
        """httpcore's trace hook: keeps the socket of each connection made (and, once
        TLS is set up on it, the TLS socket, which takes the plain one's place)."""
        if event not in ("connection.connect_tcp.complete", "connection.start_tls.complete"):
            return
        stream = info.get("return_value")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if not isinstance(sock, socket.socket):
            return
        with self._lock:
            if self.passed:
                _shut(sock)
            else:
                self._sockets.append(sock)

    def _end(self) -> None:
        with self._lock:
            self.passed = True
            for sock in self._sockets:
                _shut(sock)
            self._sockets.clear()

    def stop(self) -> None:
        """The fetch is over: its connections are left alone (a kept-alive one may serve
        the next fetch)."""
        self._timer.cancel()
        with self._lock:
            self._sockets.clear()


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # closed already
        sock.shutdown(socket.SHUT_RDWR)


def _error(status: int, url: str, response: httpx.Response, body: bytes, asked: str) -> Exception:
    # A server's error page often echoes the request ("Cannot GET /feed?token=..."): the
    # token of the address asked for (``asked``) or redirected to stays out of the message.
    text = scrubbed(body[:300].decode("utf-8", "replace"), url, asked).strip()
    said = f": {text}" if text else ""
    message = f"GET {shown(url)} answered {status}{said}"
    kwargs: dict[str, Any] = {"platform": "feed", "status_code": status}
    if status in (401, 403):
        try:
            login = bool(urlsplit(url).username)
        except ValueError:
            login = False
        why = (
            "the user and password in the feed's URL were refused: check them"
            if login
            else "the feed is not public (brandkit sends no credentials but a user and "
            "password written in the feed's URL)"
        )
        return AuthError(f"{message}; {why}", **kwargs)
    if status == 429:
        retry = _retry_after(response.headers.get("retry-after"))
        return RateLimited(f"{message}; poll this feed less often", retry_after=retry, **kwargs)
    if status >= 500:
        return PlatformUnavailable(f"{message}; try again later", **kwargs)
    if status in (404, 410):
        return Rejected(f"{message}; the feed is not at this address any more", **kwargs)
    return Rejected(message, **kwargs)


_PORTS = {"http": 80, "https": 443}


def _login_kept(current: str, target: str) -> str:
    """``target`` with ``current``'s user and password when it names none and is the same
    server (host and port, or http to https on the default ports), as browsers do: a
    password-protected feed redirected to its canonical address, written absolute, would
    otherwise be asked for without its login. Never for another server."""
    try:
        was, to = urlsplit(current), urlsplit(target)
        if not was.username or to.username or was.hostname != to.hostname:
            return target
        was_port = was.port or _PORTS.get(was.scheme.lower())
        to_port = to.port or _PORTS.get(to.scheme.lower())
    except ValueError:
        return target
    upgrade = (was.scheme.lower(), was_port, to.scheme.lower(), to_port) == (
        "http",
        80,
        "https",
        443,
    )
    if not upgrade and (was.scheme.lower(), was_port) != (to.scheme.lower(), to_port):
        return target
    login = was.netloc.rpartition("@")[0]
    return to._replace(netloc=f"{login}@{to.netloc}").geturl()


def check_header(value: object, name: str) -> str:
    """``value`` if it can be sent as a request header's value: printable ASCII, not empty.

    Raises:
        ConfigurationError: it cannot (a letter past ASCII, a line break, nothing).
    """
    if not isinstance(value, str) or not value or not (value.isascii() and value.isprintable()):
        raise ConfigurationError(
            f"{name}={value!r} cannot be sent as a header: give printable ASCII text, e.g. "
            "'brandkit (+https://acme.example/bot)'"
        )
    return value


def _validator(value: str | None) -> str | None:
    """``value`` if it is an ``ETag`` or ``Last-Modified`` that can be sent back (printable
    ASCII), else ``None``: a byte past ASCII (an ``é`` in Latin-1) cannot be put in a
    request header, and sending it back would fail every later fetch."""
    if value and value.isascii() and value.isprintable():
        return value
    return None


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        # inf or nan is no wait a poll can keep.
        return max(0.0, seconds) if math.isfinite(seconds) else None
    # The one HTTP-date reader: GMT whatever the zone says ("-0000" too), bounded, and
    # None for a date past what a datetime holds (OverflowError escaped the poll here).
    when = http_time(value)
    return None if when is None else max(0.0, when - time.time())


def fetch(
    url: str,
    *,
    http: httpx.Client,
    etag: str | None = None,
    last_modified: str | None = None,
    timeout: float = 10.0,
    max_bytes: int = 5 * MB,
    max_redirects: int = 5,
    user_agent: str = "brandkit",
    accept: str = _ACCEPT,
    check: Callable[[str], object] | None = None,
) -> Fetched:
    """GET ``url`` with ``http``: conditional when ``etag`` or ``last_modified`` is given,
    redirects followed (each hop must be http(s)), the whole exchange done within
    ``timeout`` seconds and the body (inflated) at most ``max_bytes``. The connections the
    fetch makes are shut at the deadline, however slowly the server sends its headers; a
    connection ``http`` kept alive from an earlier request is bounded per read only (the
    clients brandkit makes keep none).

    ``check``, if given, is called with the URL and with each redirect's target before it
    is requested; what it raises ends the fetch, and that URL is not requested (the feed
    watcher refuses an entry's image on a non-public address this way).

    Raises:
        ConfigurationError: ``url`` (or a redirect's target) is not an http(s) URL, or
            ``timeout`` is not a number of seconds above 0 (at most a day), ``max_bytes``
            not a whole number from 1, ``max_redirects`` not one from 0, ``user_agent`` or
            ``accept`` not printable ASCII.
        AuthError: 401 or 403.
        RateLimited: 429 (``retry_after`` from ``Retry-After``).
        Rejected: another 4xx (404 and 410 say the feed is gone), or too many redirects.
        PlatformUnavailable: a 5xx.
        MalformedResponse: the body is larger than ``max_bytes``, or cannot be inflated.
        TransportError: the connection failed or the answer took longer than ``timeout``.
        BrandkitError: whatever ``check`` raises.
    """
    check_url(url)
    checked_seconds(
        timeout, name="timeout", most=MAX_TIMEOUT, why="the longest the fetch may take, e.g. 10"
    )
    # zlib reads a limit of 0 as none: a negative max_bytes would inflate a bomb whole.
    check_limit(max_bytes, name="max_bytes", what="bytes of the body at most", least=1)
    check_limit(max_redirects, name="max_redirects", what="redirects followed at most")
    check_header(user_agent, "user_agent")
    check_header(accept, "accept")
    deadline = time.monotonic() + timeout
    ender = _Deadline(timeout)
    try:
        return _fetch(
            url,
            http=http,
            etag=etag,
            last_modified=last_modified,
            timeout=timeout,
            max_bytes=max_bytes,
            max_redirects=max_redirects,
            user_agent=user_agent,
            accept=accept,
            check=check,
            deadline=deadline,
            ender=ender,
        )
    finally:
        ender.stop()


def _fetch(
    url: str,
    *,
    http: httpx.Client,
    etag: str | None,
    last_modified: str | None,
    timeout: float,
    max_bytes: int,
    max_redirects: int,
    user_agent: str,
    accept: str,
    check: Callable[[str], object] | None,
    deadline: float,
    ender: _Deadline,
) -> Fetched:
    current = url
    for _hop in range(max_redirects + 1):
        headers = {
            "User-Agent": user_agent,
            "Accept": accept,
            "Accept-Encoding": "gzip, deflate",
        }
        if sent_etag := _validator(etag):
            headers["If-None-Match"] = sent_etag
        if sent_modified := _validator(last_modified):
            headers["If-Modified-Since"] = sent_modified
        if check is not None:
            if deadline <= time.monotonic():
                break  # a check may resolve a name: none starts after the deadline
            check(current)
        left = deadline - time.monotonic()
        if left <= 0:
            break
        request = http.build_request(
            "GET", current, headers=headers, timeout=left, extensions={"trace": ender.trace}
        )
        try:
            response = http.send(request, stream=True, follow_redirects=False)
            try:
                status = response.status_code
                if status in _REDIRECTS and "location" in response.headers:
                    target = _login_kept(current, urljoin(current, response.headers["location"]))
                    check_url(target, "feed's redirect target")
                    current = target
                    continue
                encoding = response.headers.get("content-encoding", "").strip().lower()
                reader = _Reader(encoding, max_bytes)
                within = True
                for chunk in response.iter_raw():
                    if not reader.feed(chunk):
                        within = False
                        break
                    if time.monotonic() > deadline:
                        raise httpx.ReadTimeout("the answer took longer than the timeout")
            finally:
                response.close()
        except UnicodeError as exc:
            # Raised, unmapped by httpx, by the IDNA encoding of a name no DNS can hold
            # (an empty label, one over 63 characters) when connecting.
            raise TransportError(
                f"GET {shown(current)} failed: its host name is not valid ({exc})",
                platform="feed",
                maybe_delivered=False,
            ) from None
        except httpx.HTTPError as exc:
            detail = str(exc) or type(exc).__name__
            if isinstance(exc, httpx.DecodingError):
                raise MalformedResponse(
                    f"GET {shown(current)}: {detail}", platform="feed", status_code=200
                ) from None
            if isinstance(exc, httpx.TimeoutException) or ender.passed:
                detail = f"no complete answer within {timeout:g} s"
            raise TransportError(
                f"GET {shown(current)} failed: {detail}", platform="feed", maybe_delivered=False
            ) from None
        if not within:
            raise MalformedResponse(
                f"GET {shown(current)}: the answer is larger than {max_bytes} bytes; brandkit "
                "stopped reading it (raise max_bytes if this feed is really that large)",
                platform="feed",
                status_code=status,
            )
        body = bytes(reader.out)
        if status == 304:
            # A 304 may carry fresher validators; else the ones sent still hold.
            return Fetched(
                304,
                current,
                etag=_validator(response.headers.get("etag")) or _validator(etag),
                last_modified=(
                    _validator(response.headers.get("last-modified")) or _validator(last_modified)
                ),
            )
        if status != 200:
            raise _error(status, current, response, body, url)
        return Fetched(
            200,
            current,
            body,
            content_type=response.headers.get("content-type"),
            etag=_validator(response.headers.get("etag")),
            last_modified=_validator(response.headers.get("last-modified")),
        )
    else:
        raise Rejected(
            f"GET {shown(url)}: more than {max_redirects} redirects; give the feed's final address",
            platform="feed",
        )
    raise TransportError(
        f"GET {shown(current)} failed: no complete answer within {timeout:g} s",
        platform="feed",
        maybe_delivered=False,
    )
