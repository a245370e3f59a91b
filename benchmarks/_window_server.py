"""A small windowed loopback server for the rate-limit benchmarks (run as its own process).

Every caller (by ``Authorization`` header) may make ``--limit`` requests per ``--window``
seconds; more get a 429. Windows are counted the way Mastodon's Rack::Attack counts them
(``--mode aligned``, the default: fixed windows aligned to the epoch) or the way X's appear
to (``--mode start``: a window starts with the first request after the previous one ended).

With ``--headers real`` (the default) each route answers with its platform's own headers
(a Mastodon status gets Mastodon's recorded header set, an X post X's); with
``--headers both`` every answer carries both styles:

- X: ``x-rate-limit-limit``, ``-remaining``, ``-reset`` (whole epoch seconds; the exact
  boundary in aligned mode, truncated in start mode, as X seems to truncate);
- Mastodon: ``X-RateLimit-Limit``, ``-Remaining``, ``-Reset`` (ISO 8601 with microseconds:
  Rack::Attack's ``request_time + (period - request_time.to_i % period)`` in aligned mode,
  the exact window end in start mode);
- ``Date`` (whole seconds, as every HTTP server sends it).

``--skew S`` runs the server's clock S seconds ahead of the machine's (negative: behind),
for its windows, its resets and its ``Date``: real servers' clocks are never exactly ours.

``--bare-429`` sends no rate-limit header at all (LinkedIn's way; a 429 then says nothing),
``--fail-first`` answers each caller's first post with a bare 503.

Routes: ``POST /api/v1/statuses`` (Mastodon), ``POST /2/tweets`` (X), ``GET /_stats``
(JSON counts per caller), ``POST /_reset``. It only listens on 127.0.0.1 and prints one
JSON line ``{"port": N}`` when ready.
"""

from __future__ import annotations

import argparse
import email.utils
import itertools
import json
import math
import sys
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# The other headers of a recorded Mastodon 4 status answer (Mastodon.py's cassettes) and of
# a recorded X v2 answer (tweepy's), so that every client parses a realistic header set.
MASTODON_HEADERS = {
    "Cache-Control": "private, no-store",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'; form-action 'none'",
    "ETag": 'W/"22436d09185a47c2553363e08b2b824a"',
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Server-Timing": "cache_read.active_support;dur=0.09, sql.active_record;dur=16.88",
    "Vary": "Authorization, Origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "SAMEORIGIN",
    "X-Permitted-Cross-Domain-Policies": "none",
    "X-Request-Id": "b7c0b1c4-0c5e-4a4f-9d1e-6f2a9d7e0a11",
    "X-Runtime": "0.066180",
}
X_HEADERS = {
    "Cache-Control": "no-cache, no-store, max-age=0",
    "Strict-Transport-Security": "max-age=631138519",
    "X-Response-Time": "166",
    "X-Connection-Hash": "3a1e5f0c0b4fa2d4c6a1e8a0e0a5b9f0",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "SAMEORIGIN",
    "X-XSS-Protection": "0",
}


class Windows:
    """Per-caller fixed windows."""

    def __init__(
        self,
        limit: int,
        window: float,
        mode: str,
        *,
        bare: bool = False,
        fail_first: bool = False,
        headers: str = "real",
        skew: float = 0.0,
    ) -> None:
        self.skew = skew
        self.headers = headers
        self.bare = bare
        self.fail_first = fail_first
        self.failed: set[str] = set()
        self.times: dict[str, list[float]] = {}
        self.limit = limit
        self.window = window
        self.mode = mode
        self.lock = threading.Lock()
        self.state: dict[str, list[float]] = {}  # caller -> [start, count]
        self.ok: dict[str, int] = {}
        self.refused: dict[str, int] = {}
        self.ids = itertools.count(1)

    def hit(self, caller: str, now: float) -> tuple[bool, int, float, float]:
        """(allowed, remaining, window end, Mastodon-style reset)."""
        with self.lock:
            if self.mode == "aligned":
                start = math.floor(now / self.window) * self.window
                state = self.state.get(caller)
                if state is None or state[0] != start:
                    state = self.state[caller] = [start, 0]
                end = start + self.window
                masto = now + (self.window - math.floor(now) % self.window)
            else:
                state = self.state.get(caller)
                if state is None or now >= state[0] + self.window:
                    state = self.state[caller] = [now, 0]
                end = state[0] + self.window
                masto = end
            allowed = state[1] < self.limit
            if allowed:
                state[1] += 1
                self.ok[caller] = self.ok.get(caller, 0) + 1
            else:
                self.refused[caller] = self.refused.get(caller, 0) + 1
            return allowed, int(self.limit - state[1]), end, masto


def _busiest(times: list[float]) -> int:
    """The most requests within any one second."""
    best = start = 0
    for end, t in enumerate(times):
        while t - times[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


def _lateness(times: list[float], window: float) -> list[float]:
    """For each window after the first that saw requests: how long after its start (on the
    server's clock) the first request arrived."""
    firsts: dict[float, float] = {}
    for t in times:
        start = math.floor(t / window) * window
        firsts.setdefault(start, t - start)
    return [firsts[start] for start in sorted(firsts)[1:]]


def make_handler(windows: Windows) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body in separate small writes would meet the client's delayed ACK
        # (about 40 ms per request on Linux) without this.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def date_time_string(self, timestamp: float | None = None) -> str:
            # The Date header on the server's (possibly skewed) clock.
            when = time.time() + windows.skew if timestamp is None else timestamp
            return email.utils.formatdate(when, usegmt=True)

        def _send(self, status: int, body: Any, headers: dict[str, str]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()

        def do_GET(self) -> None:
            if self.path.startswith("/_stats"):
                with windows.lock:
                    body = {
                        "ok": dict(windows.ok),
                        "refused": dict(windows.refused),
                        "requests": {k: len(v) for k, v in windows.times.items()},
                        "max_per_second": {k: _busiest(v) for k, v in windows.times.items()},
                        "lateness": {
                            k: _lateness(v, windows.window) for k, v in windows.times.items()
                        },
                    }
                self._send(200, body, {})
                return
            self._send(404, {"error": "not found"}, {})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            if self.path == "/_reset":
                with windows.lock:
                    windows.state.clear()
                    windows.ok.clear()
                    windows.refused.clear()
                    windows.failed.clear()
                    windows.times.clear()
                self._send(200, {}, {})
                return
            now = time.time() + windows.skew
            caller = self.headers.get("Authorization") or "anonymous"
            with windows.lock:
                windows.times.setdefault(caller, []).append(now)
            if windows.fail_first:
                with windows.lock:
                    first = caller not in windows.failed
                    windows.failed.add(caller)
                if first:
                    self._send(503, {"error": "Service Unavailable"}, {})
                    return
            allowed, remaining, end, masto = windows.hit(caller, now)
            reset_x = end if windows.mode == "aligned" else math.floor(end)
            iso = datetime.fromtimestamp(masto, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            x_api = self.path.startswith("/2/")
            bsky_api = self.path.startswith("/xrpc/")
            x_style = {
                "x-rate-limit-limit": str(windows.limit),
                "x-rate-limit-remaining": str(max(remaining, 0)),
                "x-rate-limit-reset": str(int(reset_x)),
            }
            mastodon_style = {
                "X-RateLimit-Limit": str(windows.limit),
                "X-RateLimit-Remaining": str(max(remaining, 0)),
                "X-RateLimit-Reset": iso,
            }
            # The PDS (IETF draft headers): the reset in epoch seconds, the window in the policy.
            bluesky_style = {
                "RateLimit-Limit": str(windows.limit),
                "RateLimit-Remaining": str(max(remaining, 0)),
                "RateLimit-Reset": str(int(reset_x)),
                "RateLimit-Policy": f"{windows.limit};w={windows.window:g}",
            }
            if windows.bare:
                headers: dict[str, str] = {}
            elif bsky_api:
                headers = {"Content-Type": "application/json; charset=utf-8", **bluesky_style}
            elif windows.headers == "both":
                headers = {**x_style, **mastodon_style}
            elif x_api:
                headers = {**X_HEADERS, **x_style}
            else:
                headers = {**MASTODON_HEADERS, **mastodon_style}
            if not allowed:
                if bsky_api:
                    self._send(
                        429,
                        {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
                        headers,
                    )
                    return
                if x_api:
                    body: Any = {
                        "title": "Too Many Requests",
                        "detail": "Too Many Requests",
                        "type": "about:blank",
                        "status": 429,
                    }
                else:
                    body = {"error": "Too many requests"}
                self._send(429, body, headers)
                return
            ident = str(next(windows.ids))
            if bsky_api:
                uri = f"at://did:plc:bench/app.bsky.feed.post/{ident}"
                self._send(200, {"uri": uri, "cid": "bafyreibench" + ident}, headers)
                return
            if x_api:
                body = {"data": {"id": ident, "text": "hello", "edit_history_tweet_ids": [ident]}}
                self._send(201, body, headers)
                return
            created = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4]
            body = {
                "id": ident,
                "created_at": created + "Z",
                "content": "<p>hello</p>",
                "url": f"http://127.0.0.1/@bench/{ident}",
                "uri": f"http://127.0.0.1/users/bench/statuses/{ident}",
                "visibility": "public",
                "account": {"id": "1", "username": "bench", "acct": "bench"},
                "media_attachments": [],
                "mentions": [],
                "tags": [],
                "emojis": [],
            }
            self._send(200, body, headers)

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, required=True)
    parser.add_argument("--window", type=float, required=True)
    parser.add_argument("--mode", choices=("aligned", "start"), default="aligned")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--bare-429", action="store_true")
    parser.add_argument("--fail-first", action="store_true")
    parser.add_argument("--headers", choices=("real", "both"), default="real")
    parser.add_argument("--skew", type=float, default=0.0, help="server clock minus ours, s")
    args = parser.parse_args(argv)
    windows = Windows(
        args.limit,
        args.window,
        args.mode,
        bare=args.bare_429,
        fail_first=args.fail_first,
        headers=args.headers,
        skew=args.skew,
    )
    server = _Server(("127.0.0.1", args.port), make_handler(windows))
    print(json.dumps({"port": server.server_address[1]}), flush=True)
    try:
        server.serve_forever(poll_interval=0.05)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    sys.exit(0)


if __name__ == "__main__":
    main()
