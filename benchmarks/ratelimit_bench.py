"""Rate-limit benchmarks: brandkit's governor against Mastodon.py and tweepy, side by side.

Run: ``python benchmarks/ratelimit_bench.py [--only throughput,cpu,accounts,fault,storm]
[--quick]`` (needs the ``bench`` extra: ``pip install -e '.[bench]'``).

Every client drives the same loopback server (``_window_server.py``, its own process):
L requests per W seconds per caller, fixed windows aligned to the epoch as Mastodon's
Rack::Attack counts them, 429 when exceeded, X-style and Mastodon-style headers on every
answer. Nothing is sent anywhere but 127.0.0.1. Figures are printed, nothing is asserted.

1. throughput: N posts through a window of L posts / W s. Score = T_min / wall time, where
   T_min = (ceil(N / L) - 1) * W is the earliest moment the last post can be sent (each run
   starts on a window boundary); and the 429s each client took. Target: >= 0.99, no 429.
2. cpu: client CPU time per post (``time.process_time`` in this process; the server has its
   own) against raw httpx (and raw requests, what the peers are built on) sending the same
   request in the same run. Target: brandkit within 50 us of raw httpx.
3. accounts: 50 accounts publishing at once, each with its own window; wall time against
   the slowest account's own T_min (brandkit as one AsyncClient, and as one Client shared
   by 50 threads as the peers run).
4. fault: one bare 503 on the first post: is the post delivered?
5. storm: 429s that carry no rate-limit information (LinkedIn's way): requests sent and the
   busiest second.
6. skew: the throughput run against a server whose clock is off ours (``--skews``, default
   0, +0.3 s, -0.3 s and -0.1 s: server clock minus ours, so -0.3 means the client is 0.3 s
   ahead; 0 is the reference on the same machine in the same run), on the Mastodon route
   (ISO resets), the X route (epoch resets) and the Bluesky route (the PDS's ``RateLimit-*``
   headers, epoch resets). Each run starts on a boundary of the
   *server's* window. Target: >= 0.97, no 429.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _ratelimit_clients import (
    BenchAdapter,
    LoopbackServer,
    bench_account,
    mastodon_py,
    tweepy_client,
)

from brandkit import AsyncClient, Client, RetryPolicy
from brandkit._flow import Flow, Send
from brandkit._hooks import NullGovernor
from brandkit.governor import Governor
from brandkit.platforms._base import RatePolicy

CLIENTS = ("brandkit", "Mastodon.py pace", "Mastodon.py wait", "tweepy")


def _boundary(window: float) -> float:
    """Sleep until the next window boundary (+1 ms) and return the time."""
    now = time.time()
    time.sleep(window - (now % window) + 0.001)
    return time.time()


def _poster(
    name: str, url: str, token: str, limit: int, window: float, governor: Any = None
) -> Callable[[], None]:
    """A function that makes one post with client ``name``."""
    if name.startswith("brandkit"):
        client = Client(governor=governor or Governor())
        adapter = BenchAdapter(bench_account(url, token), [RatePolicy("statuses", limit, window)])
        return lambda: client.run(adapter, adapter.post("hello")) and None
    if name.startswith("Mastodon.py"):
        masto = mastodon_py(url, token, name.split()[-1])
        return lambda: masto.status_post("hello") and None
    tweepy = tweepy_client(url, token)
    return lambda: tweepy.create_tweet(text="hello", user_auth=False) and None


# -- 1. throughput ------------------------------------------------------------------------------


def throughput(quick: bool) -> list[dict[str, Any]]:
    cases = [(30, 3.0, 120), (100, 10.0, 250)]
    if quick:
        cases = [(30, 3.0, 120)]
    rows = []
    for limit, window, n in cases:
        t_min = (math.ceil(n / limit) - 1) * window
        with LoopbackServer(limit, window) as server:
            for name in CLIENTS:
                token = f"tput-{name}-{limit}"
                post = _poster(name, server.url, token, limit, window)
                t0 = _boundary(window)
                try:
                    for _ in range(n):
                        post()
                    error = ""
                except Exception as exc:  # a peer giving up is a result, not a crash
                    error = f"{type(exc).__name__}: {exc}"[:80]
                wall = time.time() - t0
                stats = server.stats()
                key = f"Bearer {token}"
                rows.append(
                    {
                        "case": f"{limit}/{window:g}s, {n} posts",
                        "client": name,
                        "t_min": t_min,
                        "wall": wall,
                        "score": t_min / wall,
                        "ok": stats["ok"].get(key, 0),
                        "429": stats["refused"].get(key, 0),
                        "error": error,
                    }
                )
                _print_row(rows[-1])
        for platform in ("mastodon", "x"):
            rows.append(_with_emulator(platform, limit, window, n, t_min))
            _print_row(rows[-1])
    return rows


def _with_emulator(
    platform: str, limit: int, window: float, n: int, t_min: float
) -> dict[str, Any]:
    """brandkit's real adapter through ``Client.publish`` against the project's emulator of
    the platform (Mastodon: Rack::Attack windows; X: windows that start at the first request
    with whole-second resets rounded up)."""
    from brandkit.platforms import adapter_class

    # The emulator is set to the benchmark's window, so the adapter declares that window for
    # its create bucket (as it declares the platform's published limit in real use).
    cls = adapter_class(platform)
    bucket = "statuses" if platform == "mastodon" else "post"
    declared = cls.rate_policies
    cls.rate_policies = tuple(
        RatePolicy(bucket, limit, window) if p.bucket == bucket and p.scope == "account" else p
        for p in declared
    )
    try:
        return _run_emulator(platform, limit, window, n, t_min)
    finally:
        cls.rate_policies = declared


def _run_emulator(platform: str, limit: int, window: float, n: int, t_min: float) -> dict[str, Any]:
    from brandkit import Post
    from brandkit.testing import emulator

    if platform == "mastodon":
        emu: Any = emulator("mastodon")
        emu.set_rate_limit("statuses", limit, window)
        path = "/api/v1/statuses"
    else:
        emu = emulator(
            "x",
            rate_limits={"POST /2/tweets": (limit, window)},
            user_daily_posts=10**6,
            app_daily_posts=10**6,
        )
        path = "/2/tweets"
    with emu.serve(), Client() as client:
        account = emu.account()
        client.render(Post(text="warm up"), account)  # Mastodon reads the instance's limits
        t0 = _boundary(window)
        sent = 0
        for i in range(n):
            (delivery,) = client.publish(Post(text=f"post {i} of a benchmark run"), account)
            sent += delivery.status.value == "sent"
        wall = time.time() - t0
    return {
        "case": f"{limit}/{window:g}s, {n} posts",
        "client": f"brandkit + {platform} emulator",
        "t_min": t_min,
        "wall": wall,
        "score": t_min / wall,
        "ok": sent,
        "429": emu.count("POST", path) - sent,
        "error": "",
    }


def _print_row(row: dict[str, Any]) -> None:
    print(
        f"  {row['case']:<22} {row['client']:<30} T_min {row['t_min']:6.2f} s  "
        f"wall {row['wall']:7.3f} s  score {row['score']:.3f}  "
        f"posts {row['ok']:4d}  429s {row['429']:3d}  {row['error']}",
        flush=True,
    )


# -- 2. cpu ---------------------------------------------------------------------------------------


def cpu(quick: bool) -> dict[str, float]:
    # Many short rounds, clients interleaved, so that a busy neighbour on the machine spoils
    # a few rounds of every client rather than all rounds of one; the minimum and the median
    # of the rounds are reported.
    n, rounds = (100, 10) if quick else (100, 40)
    results: dict[str, list[float]] = {}
    with LoopbackServer(10**9, 3600.0) as server:
        url = server.url
        form = {"status": "hello"}

        def raw_httpx() -> Callable[[], None]:
            http = httpx.Client()

            def post() -> None:
                request = httpx.Request(
                    "POST",
                    url + "/api/v1/statuses",
                    data=form,
                    headers={"Authorization": "Bearer cpu-raw", "Idempotency-Key": _key()},
                )
                response = http.send(request)
                response.read()
                response.raise_for_status()
                response.json()["id"]

            return post

        def raw_requests() -> Callable[[], None]:
            session = requests.Session()

            def post() -> None:
                response = session.post(
                    url + "/api/v1/statuses",
                    data=form,
                    headers={"Authorization": "Bearer cpu-req", "Idempotency-Key": _key()},
                )
                response.raise_for_status()
                response.json()["id"]

            return post

        def brandkit(governor: Any) -> Callable[[], Any]:
            def make() -> Callable[[], None]:
                client = Client(governor=governor)
                adapter = BenchAdapter(
                    bench_account(url, "cpu-bk"), [RatePolicy("statuses", 10**9, 3600.0)]
                )
                return lambda: client.run(adapter, adapter.post("hello")) and None

            return make

        makers: dict[str, Callable[[], Callable[[], None]]] = {
            "raw httpx": raw_httpx,
            "brandkit Client + Governor": brandkit(Governor()),
            "brandkit Client + NullGovernor": brandkit(NullGovernor()),
            "raw requests": raw_requests,
            "Mastodon.py": lambda: _poster("Mastodon.py wait", url, "cpu-mpy", 10**9, 3600),
            "tweepy": lambda: _poster("tweepy", url, "cpu-tw", 10**9, 3600),
        }
        posters = {name: make() for name, make in makers.items()}
        for post in posters.values():
            for _ in range(50):  # warm up: connections, imports, caches
                post()
        for _ in range(rounds):
            for name, post in posters.items():
                start = time.process_time()
                for _ in range(n):
                    post()
                results.setdefault(name, []).append((time.process_time() - start) / n * 1e6)
    best = {name: min(values) for name, values in results.items()}
    medians = {name: statistics.median(values) for name, values in results.items()}
    print(f"  {'client':<34} {'min':>8} {'vs raw httpx':>13} {'median':>9} {'vs raw':>8}")
    for name in results:
        print(
            f"  {name:<34} {best[name]:8.1f} {best[name] - best['raw httpx']:+13.1f} "
            f"{medians[name]:9.1f} {medians[name] - medians['raw httpx']:+8.1f}   us/post",
            flush=True,
        )
    return best


def _key() -> str:
    return uuid.uuid4().hex


# -- 3. accounts ----------------------------------------------------------------------------------


def accounts(quick: bool) -> list[dict[str, Any]]:
    # The light case shows the pacing; in the heavy one (500 posts due at each window start)
    # the last burst itself takes a while on a small machine, so a raw httpx.AsyncClient
    # burst of one window's posts is timed first, for scale.
    cases = [(50, 2, 3.0, 6), (50, 10, 3.0, 30)]
    if quick:
        cases = [(20, 2, 3.0, 6)]
    rows = []
    for count, limit, window, n in cases:
        t_min = (math.ceil(n / limit) - 1) * window
        with LoopbackServer(limit, window) as server:
            url = server.url
            burst = asyncio.run(_raw_burst(url, count, limit, window))
            print(
                f"  {count} accounts x {n} posts, {limit}/{window:g}s each: T_min {t_min:.2f} s; "
                f"for scale, one window's {count * limit} posts take {burst:.3f} s with raw "
                "httpx.AsyncClient on this machine",
                flush=True,
            )
            for name in ("brandkit AsyncClient", "brandkit Client x50 threads", *CLIENTS[1:]):
                tokens = [f"acct-{name}-{i}" for i in range(count)]
                errors: list[str] = []
                if name == "brandkit AsyncClient":
                    t0, wall = asyncio.run(_brandkit_accounts(url, tokens, limit, window, n))
                else:
                    shared = Governor()  # one governor for every thread, as one Client would
                    posters = [_poster(name, url, token, limit, window, shared) for token in tokens]
                    threads = [
                        threading.Thread(target=_post_n, args=(p, n, errors)) for p in posters
                    ]
                    t0 = _boundary(window)
                    for thread in threads:
                        thread.start()
                    for thread in threads:
                        thread.join()
                    wall = time.time() - t0
                stats = server.stats()
                keys = [f"Bearer {t}" for t in tokens]
                row = {
                    "case": f"{count}x{n}, {limit}/{window:g}s",
                    "client": name,
                    "t_min": t_min,
                    "wall": wall,
                    "score": t_min / wall,
                    "ok": sum(stats["ok"].get(k, 0) for k in keys),
                    "429": sum(stats["refused"].get(k, 0) for k in keys),
                    "error": f"{len(errors)} accounts failed" if errors else "",
                }
                rows.append(row)
                _print_row(row)
    return rows


async def _raw_burst(url: str, count: int, limit: int, window: float) -> float:
    """Seconds raw httpx needs to send ``count * limit`` posts at once (one window's worth)."""
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=count)
    async with httpx.AsyncClient(limits=limits, timeout=30) as http:

        async def one(token: str) -> None:
            for _ in range(limit):
                response = await http.post(
                    url + "/api/v1/statuses",
                    data={"status": "hello"},
                    headers={"Authorization": f"Bearer {token}", "Idempotency-Key": _key()},
                )
                response.raise_for_status()

        async def warm(token: str) -> None:
            await http.post(url + "/api/v1/statuses", headers={"Authorization": token})

        # Open the connections first (brandkit's run reuses them after its first window).
        await asyncio.gather(*(warm(f"Bearer warm-{i}") for i in range(count)))
        now = time.time()
        await asyncio.sleep(window - (now % window) + 0.001)
        start = time.time()
        await asyncio.gather(*(one(f"burst-{i}") for i in range(count)))
        return time.time() - start


def _post_n(post: Callable[[], None], n: int, errors: list[str]) -> None:
    try:
        for _ in range(n):
            post()
    except Exception as exc:
        errors.append(type(exc).__name__)


async def _brandkit_accounts(
    url: str, tokens: list[str], limit: int, window: float, n: int
) -> tuple[float, float]:
    limits = httpx.Limits(max_connections=len(tokens), max_keepalive_connections=len(tokens))
    async with AsyncClient(
        governor=Governor(), http=httpx.AsyncClient(limits=limits, timeout=30)
    ) as client:
        adapters = [
            BenchAdapter(bench_account(url, t), [RatePolicy("statuses", limit, window)])
            for t in tokens
        ]

        async def one(adapter: BenchAdapter) -> None:
            for _ in range(n):
                await client.run(adapter, adapter.post("hello"))

        now = time.time()
        await asyncio.sleep(window - (now % window) + 0.001)
        t0 = time.time()
        await asyncio.gather(*(one(a) for a in adapters))
        return t0, time.time() - t0


# -- 4. one 503 -----------------------------------------------------------------------------------


def fault(quick: bool) -> None:
    with LoopbackServer(1000, 60.0, "--fail-first") as server:
        for name in CLIENTS:
            token = f"fault-{name}"
            if name == "brandkit":
                client = Client(governor=Governor(), retry=RetryPolicy())
                adapter = BenchAdapter(bench_account(server.url, token))
                post: Callable[[], Any] = lambda: client.run(adapter, adapter.post("hello"))  # noqa: E731, B023
            else:
                post = _poster(name, server.url, token, 1000, 60.0)
            try:
                post()
                outcome = "delivered"
            except Exception as exc:
                outcome = f"raised {type(exc).__name__}"
            stats = server.stats()
            sent = stats["requests"].get(f"Bearer {token}", 0)
            print(f"  {name:<17} {outcome:<40} requests sent: {sent}", flush=True)


# -- 5. bare 429 storm ----------------------------------------------------------------------------


def storm(quick: bool) -> None:
    limit, window, n, budget = 5, 3.0, 10, 8.0
    with LoopbackServer(limit, window, "--bare-429") as server:
        for name in CLIENTS:
            token = f"storm-{name}"
            if name == "brandkit":
                # No declared policy: brandkit knows nothing of this server's limit either.
                client = Client(governor=Governor(), retry=RetryPolicy(attempts=8))
                adapter = BenchAdapter(bench_account(server.url, token))
                post: Callable[[], Any] = lambda: client.run(adapter, adapter.post("hello"))  # noqa: E731, B023
            elif name == "Mastodon.py pace":
                continue  # pace mode refuses to run without reset headers
            else:
                post = _poster(name, server.url, token, limit, window)
            result: dict[str, Any] = {"done": 0, "outcome": ""}
            thread = threading.Thread(
                target=_storm_run, args=(post, n, budget, result), daemon=True
            )
            _boundary(window)
            thread.start()
            thread.join(budget + 30)
            stats = server.stats()
            key = f"Bearer {token}"
            print(
                f"  {name:<17} posts {result['done']:2d}/{n}  "
                f"requests {stats['requests'].get(key, 0):5d}  "
                f"429s {stats['refused'].get(key, 0):5d}  busiest second "
                f"{stats['max_per_second'].get(key, 0):5d} requests  {result['outcome']}",
                flush=True,
            )


def _storm_run(post: Callable[[], Any], n: int, budget: float, result: dict[str, Any]) -> None:
    start = time.time()
    try:
        while result["done"] < n and time.time() - start < budget:
            post()
            result["done"] += 1
    except BaseException as exc:  # tweepy ends in RecursionError
        result["outcome"] = f"stopped by {type(exc).__name__}"


# -- 6. clock skew ---------------------------------------------------------------------------------


class XBenchAdapter(BenchAdapter):
    """Posts an X tweet (``POST /2/tweets``, epoch resets) instead of a Mastodon status."""

    name = "benchx"

    def post(self, text: str) -> Flow[str]:
        request = httpx.Request(
            "POST",
            self._url.replace("/api/v1/statuses", "/2/tweets"),
            json={"text": text},
            headers={"Authorization": self._auth},
        )
        response = yield Send(request, idempotent=True, bucket="statuses", creates=True)
        self.check(response)
        return str(response.json()["data"]["id"])


class BlueskyBenchAdapter(BenchAdapter):
    """Creates a Bluesky record (``POST /xrpc/com.atproto.repo.createRecord``, the PDS's
    ``RateLimit-*`` headers with epoch resets) instead of a Mastodon status."""

    name = "benchbsky"

    def post(self, text: str) -> Flow[str]:
        request = httpx.Request(
            "POST",
            self._url.replace("/api/v1/statuses", "/xrpc/com.atproto.repo.createRecord"),
            json={
                "repo": "did:plc:bench",
                "collection": "app.bsky.feed.post",
                "record": {"$type": "app.bsky.feed.post", "text": text},
            },
            headers={"Authorization": self._auth},
        )
        response = yield Send(request, idempotent=True, bucket="statuses", creates=True)
        self.check(response)
        return str(response.json()["uri"])


SKEW_CLIENTS = (
    "brandkit Mastodon route",
    "brandkit X route",
    "brandkit Bluesky route",
    "Mastodon.py pace",
    "Mastodon.py wait",
    "tweepy",
)


def skew(quick: bool, skews: list[float]) -> list[dict[str, Any]]:
    cases = [(30, 3.0, 120)] if quick else [(30, 3.0, 120), (100, 10.0, 250)]
    rows = []
    reference: dict[tuple[str, int], float] = {}  # each client's score at the first skew
    for offset in skews:
        for limit, window, n in cases:
            t_min = (math.ceil(n / limit) - 1) * window
            with LoopbackServer(limit, window, "--skew", str(offset)) as server:
                for name in SKEW_CLIENTS:
                    token = f"skew-{name}-{offset}-{limit}".replace(" ", "_")
                    if name.startswith("brandkit"):
                        client = Client(governor=Governor())
                        cls: type[BenchAdapter] = (
                            XBenchAdapter
                            if "X route" in name
                            else BlueskyBenchAdapter
                            if "Bluesky route" in name
                            else BenchAdapter
                        )
                        adapter = cls(
                            bench_account(server.url, token),
                            [RatePolicy("statuses", limit, window)],
                        )
                        post: Callable[[], Any] = lambda c=client, a=adapter: c.run(a, a.post("hi"))  # noqa: E731
                    else:
                        post = _poster(name, server.url, token, limit, window)
                    # Start on a boundary of the server's window (its clock is ours + offset).
                    time.sleep(window - ((time.time() + offset) % window) + 0.001)
                    t0 = time.time()
                    try:
                        for _ in range(n):
                            post()
                        error = ""
                    except Exception as exc:  # a peer giving up is a result, not a crash
                        error = f"{type(exc).__name__}: {exc}"[:80]
                    wall = time.time() - t0
                    stats = server.stats()
                    key = f"Bearer {token}"
                    late = stats.get("lateness", {}).get(key) or [0.0]
                    rows.append(
                        {
                            "case": f"{offset:+.1f}s {limit}/{window:g}s",
                            "late": late,
                            "client": name,
                            "t_min": t_min,
                            "wall": wall,
                            "score": t_min / wall,
                            "ok": stats["ok"].get(key, 0),
                            "429": stats["refused"].get(key, 0),
                            "error": error,
                        }
                    )
                    _print_row(rows[-1])
                    ref = reference.setdefault((name, limit), rows[-1]["score"])
                    print(
                        f"  {'':<22} {'':<30} {rows[-1]['score'] / ref:.3f} of its score at "
                        f"the first skew; first post of each window after the server's "
                        f"boundary: mean {statistics.mean(late) * 1000:6.1f} ms, "
                        f"max {max(late) * 1000:6.1f} ms",
                        flush=True,
                    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="throughput,cpu,accounts,fault,storm,skew")
    parser.add_argument("--quick", action="store_true", help="smaller runs")
    parser.add_argument(
        "--skews", default="0,0.3,-0.3,-0.1", help="server clock minus ours, comma-separated"
    )
    args = parser.parse_args()
    skews = [float(x) for x in args.skews.split(",")]
    wanted = args.only.split(",")
    steps: dict[str, Callable[[bool], Any]] = {
        "throughput": throughput,
        "cpu": cpu,
        "accounts": accounts,
        "fault": fault,
        "storm": storm,
        "skew": lambda quick: skew(quick, skews),
    }
    for name in wanted:
        print(f"\n== {name} ==", flush=True)
        steps[name](args.quick)


if __name__ == "__main__":
    main()
