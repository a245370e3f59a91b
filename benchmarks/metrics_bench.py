"""Collection cost and speed: requests used vs the minimum, wall time with emulated latency.

10,000 posts over three platforms and 20 accounts (7 X, 7 Mastodon, 6 Bluesky) are published
to the emulators, then collected through ``AsyncClient.collect`` over real sockets with every
metrics request delayed by 50 ms. The emulators run in a child process, so their own work
does not share the client's interpreter. The minimum is sum(ceil(posts / largest batch)) per account
(100 on X, 20 on Mastodon, 25 on Bluesky). The store's ingest rate and query times over
1,000,000 samples come from ``metrics_store_bench.py`` in the same run (``--no-store`` skips).

    python benchmarks/metrics_bench.py [--posts 10000] [--latency 0.05] [--no-store]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import multiprocessing
import multiprocessing.connection
import sys
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

import httpx

from brandkit import Account, AsyncClient, Client, Delivery, Post, RetryPolicy
from brandkit._hooks import NullGovernor
from brandkit.testing import Emulator
from brandkit.testing.bluesky import BlueskyEmulator
from brandkit.testing.mastodon import MastodonEmulator
from brandkit.testing.x import XEmulator

# platform: (accounts, largest batch, metrics path)
PLAN = {
    "x": (7, 100, r"/2/tweets"),
    "mastodon": (7, 20, r"/api/v1/statuses"),
    "bluesky": (6, 25, r"/xrpc/app\.bsky\.feed\.getPosts"),
}


def emulators() -> dict[str, Emulator]:
    """One emulator per platform, with publishing limits out of the benchmark's way."""
    return {
        "x": XEmulator(
            rate_limits={"POST /2/tweets": (1_000_000, 900.0), "GET /2/tweets": (1_000_000, 900.0)},
            user_daily_posts=1_000_000,
            app_daily_posts=1_000_000,
        ),
        "mastodon": MastodonEmulator(
            rate_limits={"statuses": (1_000_000, 3600.0), "api": (1_000_000, 300.0)}
        ),
        "bluesky": BlueskyEmulator(),
    }


def publish(emus: dict[str, Emulator], total: int) -> tuple[list[Account], list[Delivery]]:
    """``total`` posts spread evenly over the 20 accounts, published in-process (fast)."""
    accounts: list[tuple[str, Account]] = []
    for platform, (n, _, _) in PLAN.items():
        for i in range(n):
            accounts.append((platform, emus[platform].account(name=f"{platform}{i}")))
    deliveries: list[Delivery] = []
    clients = {
        p: Client(
            http=httpx.Client(transport=emu.transport()),
            governor=NullGovernor(),
            retry=RetryPolicy(initial=0.001, max_backoff=0.01),
        )
        for p, emu in emus.items()
    }
    started = time.perf_counter()
    for i in range(total):
        platform, account = accounts[i % len(accounts)]
        (d,) = clients[platform].publish(Post(text=f"benchmark post {i}"), account)
        if not d.ok:
            raise SystemExit(f"publishing failed: {d.error}")
        deliveries.append(d)
    for c in clients.values():
        c.close()
    print(f"published {total} posts in {time.perf_counter() - started:.1f} s (in-process)")
    return [a for _, a in accounts], deliveries


def minimum(deliveries: list[Delivery]) -> int:
    """sum over accounts of ceil(posts / the platform's largest batch)."""
    per_account = Counter(d.account for d in deliveries)
    return sum(math.ceil(n / PLAN[account.split(":")[0]][1]) for account, n in per_account.items())


async def collect(accounts: list[Account], deliveries: list[Delivery]) -> tuple[int, float, float]:
    """Collect everything once, accounts concurrently; returns (samples, wall s, CPU s)."""
    async with AsyncClient(accounts=accounts) as client:
        started, cpu = time.perf_counter(), time.process_time()
        samples = await client.collect(deliveries)
        return len(samples), time.perf_counter() - started, time.process_time() - cpu


def _child(conn: multiprocessing.connection.Connection, posts: int, latency: float) -> None:
    """The emulators' process: serve, publish, then answer the parent's requests."""
    emus = emulators()
    with ExitStack() as stack:
        for emu in emus.values():
            stack.enter_context(emu.serve())
        accounts, deliveries = publish(emus, posts)
        for p, emu in emus.items():
            emu.fault(method="GET", path=PLAN[p][2], delay=latency, times=10**9)
        before = {p: emus[p].count("GET", PLAN[p][2]) for p in PLAN}
        conn.send(
            {
                "accounts": [
                    {
                        "platform": a.platform,
                        "name": a.name,
                        "base_url": a.base_url,
                        "secrets": {k: a.secret(k) for k in a.secret_names},
                        "settings": {
                            k: v for k, v in a.settings.items() if isinstance(v, str | int)
                        },
                    }
                    for a in accounts
                ],
                "deliveries": [d.to_dict() for d in deliveries],
            }
        )
        conn.recv()  # the parent has collected
        conn.send({p: emus[p].count("GET", PLAN[p][2]) - before[p] for p in PLAN})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=10_000)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per metrics call")
    parser.add_argument("--no-store", action="store_true", help="skip the 1M-sample store part")
    args = parser.parse_args(argv)

    ours, theirs = multiprocessing.Pipe()
    child = multiprocessing.get_context("spawn").Process(
        target=_child, args=(theirs, args.posts, args.latency), daemon=True
    )
    child.start()
    setup = ours.recv()
    accounts = [
        Account(
            a["platform"],
            name=a["name"],
            base_url=a["base_url"],
            secrets=a["secrets"],
            settings=a["settings"],
        )
        for a in setup["accounts"]
    ]
    deliveries = [Delivery.from_dict(d) for d in setup["deliveries"]]
    n_samples, wall, cpu = asyncio.run(collect(accounts, deliveries))
    ours.send("done")
    used = ours.recv()
    child.join(10)

    floor = minimum(deliveries)
    per_account = Counter(d.account for d in deliveries)
    slowest = max(math.ceil(n / PLAN[a.split(":")[0]][1]) for a, n in per_account.items())
    print()
    print(f"{'platform':10} {'requests':>9} {'minimum':>8}")
    for p in PLAN:
        mins = sum(
            math.ceil(n / PLAN[p][1]) for a, n in per_account.items() if a.startswith(p + ":")
        )
        print(f"{p:10} {used[p]:9d} {mins:8d}")
    print(f"{'total':10} {sum(used.values()):9d} {floor:8d}   (target: equal)")
    print()
    print(f"samples collected:           {n_samples:,}")
    print(f"client CPU:                  {cpu:.2f} s ({cpu / n_samples * 1e6:.0f} µs per sample)")
    print(
        f"wall time, {args.latency * 1000:.0f} ms per call:   {wall:.2f} s "
        f"(the busiest account alone needs {slowest} calls = {slowest * args.latency:.2f} s)"
    )
    if not args.no_store:
        print("\n-- store: ingest and queries over 1,000,000 samples --")
        sys.path.insert(0, str(Path(__file__).parent))
        import metrics_store_bench

        metrics_store_bench.main([])
    return 0 if sum(used.values()) == floor else 1


if __name__ == "__main__":
    sys.exit(main())
