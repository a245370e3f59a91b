"""CPU per request of ``httpx.AsyncClient`` on httpx's own network backend (anyio) and on
brandkit's (`brandkit._asyncnet`, asyncio transports), in the same run.

Run: ``python benchmarks/http_backend_bench.py [--requests N] [--rounds R]``

A keep-alive HTTP/1.1 server in a thread of this process answers each POST with a small
JSON body; the client sends ``N`` JSON POSTs one after another on one connection, and the
event loop thread's CPU time (``RUSAGE_THREAD``: the server's thread is not counted) is
divided by ``N``. Rounds alternate between the backends; the best of each is printed. Only
127.0.0.1 is used; nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

from brandkit._asyncnet import AsyncioBackend


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        body = b'{"id":"1","url":"https://example.social/@brand/1"}'
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def _thread_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_THREAD)
    return usage.ru_utime + usage.ru_stime


async def _per_request(client: httpx.AsyncClient, url: str, n: int) -> float:
    for _ in range(50):  # connection made, code paths warm
        await client.post(url, json={"status": "warm"})
    start = _thread_cpu()
    for _ in range(n):
        r = await client.post(url, json={"status": "hello"}, headers={"authorization": "Bearer t"})
        r.json()
    return (_thread_cpu() - start) / n


def _client(native: bool) -> httpx.AsyncClient:
    transport = httpx.AsyncHTTPTransport()
    if native:
        transport._pool._network_backend = AsyncioBackend()
    return httpx.AsyncClient(transport=transport, timeout=10)


async def _main(n: int, rounds: int, url: str) -> None:
    best = {"anyio": float("inf"), "asyncio": float("inf")}
    for _ in range(rounds):
        for name in best:
            async with _client(native=name == "asyncio") as client:
                best[name] = min(best[name], await _per_request(client, url, n))
    for name, cpu in best.items():
        print(f"  {name:<8} {cpu * 1e6:7.0f} us CPU per request (event loop thread)")
    print(f"  asyncio / anyio: {best['asyncio'] / best['anyio']:.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/api/v1/statuses"
    print(f"httpx.AsyncClient, {args.requests} JSON POSTs per round, best of {args.rounds}:")
    try:
        asyncio.run(_main(args.requests, args.rounds, url))
    finally:
        server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
