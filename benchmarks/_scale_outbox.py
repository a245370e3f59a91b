"""Outbox scale-out: deliveries per second with 1, 2 and 4 worker processes, PostgreSQL vs
SQLite, and how close each comes to linear.

Part of ``benchmarks/scale_bench.py`` (``outbox_scaling``); also runs alone:
``python benchmarks/_scale_outbox.py [--postgres URL] [--accounts 40] [--posts 5]
[--concurrency 2] [--latency 0.05] [--runs 2]``. Without a URL it starts a throwaway
PostgreSQL on 127.0.0.1 (tests/servers/_servers.py; needs ``tests/servers/install.sh``).

A Mastodon emulator in a child process answers every request after ``--latency`` seconds
(50 ms: a platform's API over the internet), its rate limits out of the way. For each
backend and each worker count, a fresh outbox gets ``accounts x posts`` deliveries; the
workers (separate processes, each ``Worker(concurrency=...).run_forever`` with the default
``AsyncClient``) start together and publish until none is left. Printed: deliveries/s, the
ratio to linear, ``rate(n) / (n x rate(1))`` (the issue's goal: >= 0.8 at 4 workers), and
the workers' CPU time per delivery: when workers x rate x CPU nears the machine's cores,
the figure measures the CPUs, not the outbox.
Nothing is sent anywhere but 127.0.0.1; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import multiprocessing.connection
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from brandkit import Account, DeliveryStatus, Post  # noqa: E402
from brandkit.outbox import Outbox, Worker  # noqa: E402
from brandkit.testing.mastodon import MastodonEmulator  # noqa: E402

NO_LIMIT = 1_000_000_000
WORKER_COUNTS = (1, 2, 4)


def _emulator(conn: multiprocessing.connection.Connection, accounts: int, latency: float) -> None:
    """The emulator's process: ``accounts`` users, every answer ``latency`` late."""
    emu = MastodonEmulator(
        rate_limits={
            "statuses": (NO_LIMIT, 3600.0),
            "api": (NO_LIMIT, 300.0),
            "media": (NO_LIMIT, 1800.0),
            "delete": (NO_LIMIT, 1800.0),
        },
        engagement_rate=0.0,
    )
    dispatch = emu._dispatch

    def slow(request: Any) -> Any:
        time.sleep(latency)  # outside the emulator's lock: the answers overlap
        return dispatch(request)

    emu._dispatch = slow  # type: ignore[method-assign]
    with emu.serve():
        specs = []
        for i in range(accounts):
            account = emu.account(name=f"bench{i}")
            specs.append(
                {
                    "platform": account.platform,
                    "name": account.name,
                    "base_url": account.base_url,
                    "secrets": {k: account.secret(k) for k in account.secret_names},
                    "settings": {
                        k: v for k, v in account.settings.items() if isinstance(v, str | int)
                    },
                }
            )
        conn.send(specs)
        conn.recv()


def _accounts(specs: list[dict[str, Any]]) -> list[Account]:
    return [
        Account(
            s["platform"],
            name=s["name"],
            base_url=s["base_url"],
            secrets=s["secrets"],
            settings=s["settings"],
        )
        for s in specs
    ]


def work(target: str, specs: list[dict[str, Any]], concurrency: int, start_at: float) -> None:
    """One worker process: open the outbox, wait for ``start_at``, publish until nothing is
    pending; prints the time it finished."""
    batch = 4 * concurrency
    kwargs: dict[str, Any] = {"accounts_per_claim": batch} if "://" in target else {}
    outbox = Outbox(target, **kwargs)
    accounts = _accounts(specs)
    stop = threading.Event()

    def idle() -> None:
        counts = outbox.counts()
        if not (counts[DeliveryStatus.PENDING] or counts[DeliveryStatus.SENDING]):
            stop.set()

    with Worker(outbox, accounts, concurrency=concurrency, batch=batch) as worker:
        outbox.counts()  # connected before the clock starts
        time.sleep(max(0.0, start_at - time.time()))
        # As deployed: run_forever, waiting (50 ms at most) whenever nothing was free.
        worker.run_forever(poll=0.05, stop=stop, on_idle=idle)
    outbox.close()
    print(json.dumps({"end": time.time()}))


def _fill(target: str, specs: list[dict[str, Any]], posts: int) -> None:
    accounts = _accounts(specs)
    with Outbox(target) as box:
        for p in range(posts):
            for account in accounts:
                box.add(Post(text=f"bench post {p} {uuid.uuid4().hex[:8]}"), account, check=False)


def _fresh_schema(server_url: str) -> str:
    """A URL whose connections work in a new schema of ``server_url``'s database."""
    from urllib.parse import quote, urlencode, urlsplit, urlunsplit

    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    query = urlencode({"options": f"-c search_path={schema}"}, quote_via=quote)
    return urlunsplit(urlsplit(server_url)._replace(query=query))


def _one_run(
    target: str, specs: list[dict[str, Any]], posts: int, workers: int, concurrency: int
) -> tuple[float, float]:
    """Deliveries per second of ``workers`` processes on a freshly filled ``target``, and
    the workers' CPU seconds per delivery (start-up included; the server's not)."""
    total = len(specs) * posts
    _fill(target, specs, posts)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start_at = time.time() + 3.0 + 1.5 * workers  # every worker ready by then
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--worker",
                target,
                json.dumps(specs),
                str(concurrency),
                str(start_at),
            ],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(workers)
    ]
    ends = []
    for proc in procs:
        out, _ = proc.communicate(timeout=600)
        if proc.returncode != 0:
            raise SystemExit(f"a worker failed (exit {proc.returncode})")
        ends.append(json.loads(out.strip().splitlines()[-1])["end"])
    if time.time() < start_at:
        raise SystemExit("the workers finished before the start: raise the start delay")
    with Outbox(target) as box:
        sent = box.counts()[DeliveryStatus.SENT]
    if sent != total:
        raise SystemExit(f"{sent} of {total} deliveries sent")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return total / (max(ends) - start_at), cpu / total


def outbox_scaling(
    postgres_url: str | None = None,
    *,
    accounts: int = 40,
    posts: int = 5,
    concurrency: int = 2,
    latency: float = 0.05,
    runs: int = 2,
) -> list[str]:
    """Measure both backends at 1, 2 and 4 workers; returns the printed lines."""
    if postgres_url is None:
        from tests.servers import _servers as servers

        postgres_url = servers.postgres_server().url
    lines: list[str] = []

    def say(line: str) -> None:
        print(line, flush=True)
        lines.append(line)

    parent, child = multiprocessing.Pipe()
    emulator = multiprocessing.Process(target=_emulator, args=(child, accounts, latency))
    emulator.start()
    try:
        specs = parent.recv()
        say(
            f"outbox scale-out: {accounts} accounts x {posts} posts, emulator latency "
            f"{latency * 1000:.0f} ms, Worker(concurrency={concurrency}) per process, best of "
            f"{runs} (cpus: {os.cpu_count()}, load {os.getloadavg()[0]:.1f})"
        )
        with tempfile.TemporaryDirectory() as tmp:
            for backend in ("sqlite", "postgresql"):
                rates: dict[int, float] = {}
                for n in WORKER_COUNTS:
                    best, cpu = 0.0, 0.0
                    for _ in range(runs):
                        if backend == "sqlite":
                            target = str(Path(tmp) / f"{uuid.uuid4().hex}.db")
                        else:
                            target = _fresh_schema(postgres_url)
                        rate, per = _one_run(target, specs, posts, n, concurrency)
                        if rate > best:
                            best, cpu = rate, per
                    rates[n] = best
                    ratio = best / (n * rates[1])
                    say(
                        f"  {backend:<10} {n} worker(s): {best:7.1f} deliveries/s   "
                        f"{ratio:4.2f} of linear   worker CPU {cpu * 1000:5.1f} ms/delivery"
                    )
    finally:
        parent.send("done")
        emulator.join(10)
    return lines


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        target, specs, concurrency, start_at = sys.argv[2:6]
        work(target, json.loads(specs), int(concurrency), float(start_at))
        return
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--postgres", help="postgresql:// URL (default: a throwaway server)")
    parser.add_argument("--accounts", type=int, default=40)
    parser.add_argument("--posts", type=int, default=5, help="posts per account")
    parser.add_argument("--concurrency", type=int, default=2, help="accounts at once per worker")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per answer")
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    outbox_scaling(
        args.postgres,
        accounts=args.accounts,
        posts=args.posts,
        concurrency=args.concurrency,
        latency=args.latency,
        runs=args.runs,
    )


if __name__ == "__main__":
    main()
