"""Outbox scale-out: deliveries per second with 1, 2 and 4 worker processes, PostgreSQL vs
SQLite, and how close each comes to linear.

Part of ``benchmarks/scale_bench.py`` (``outbox_scaling``); also runs alone:
``python benchmarks/_scale_outbox.py [--postgres URL] [--accounts 40] [--posts 10]
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
import asyncio
import json
import math
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
        # The parent asks for this process's CPU seconds around each run ("cpu"), then
        # says "done".
        while conn.recv() == "cpu":
            usage = resource.getrusage(resource.RUSAGE_SELF)
            conn.send(usage.ru_utime + usage.ru_stime)


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


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def work(target: str, specs: list[dict[str, Any]], concurrency: int, start_at: float) -> None:
    """One worker process: open the outbox, get ready, wait for ``start_at``, publish until
    nothing is pending; prints when it finished, how many it published and its CPU seconds
    before the start (start-up) and after it."""
    batch = 4 * concurrency
    kwargs: dict[str, Any] = {"accounts_per_claim": batch} if "://" in target else {}
    outbox = Outbox(target, **kwargs)
    accounts = _accounts(specs)
    stop = threading.Event()
    done = [0]

    def idle() -> None:
        counts = outbox.counts()
        if not (counts[DeliveryStatus.PENDING] or counts[DeliveryStatus.SENDING]):
            stop.set()

    def delivered(_: Any) -> None:
        done[0] += 1

    with Worker(outbox, accounts, concurrency=concurrency, batch=batch) as worker:
        outbox.counts()  # connected before the clock starts
        _warm_up(worker, accounts)
        started = _cpu()
        time.sleep(max(0.0, start_at - time.time()))
        before = _cpu()
        # As deployed: run_forever, waiting (50 ms at most) whenever nothing was free.
        worker.run_forever(poll=0.05, stop=stop, on_idle=idle, on_delivery=delivered)
        end, after = time.time(), _cpu()
    outbox.close()
    print(json.dumps({"end": end, "n": done[0], "start_cpu": started, "cpu": after - before}))


def _warm_up(worker: Worker, accounts: list[Account]) -> None:
    """What a long-running worker did once, long ago: its event loop and client made, the
    platform modules imported and each account's instance limits read (a ``GET`` per
    account and process, cached for the process's life). The worker's own loop and client
    are used (their private names: this is a benchmark), so that nothing else changes."""
    worker._runner = runner = asyncio.Runner()
    client = worker._own_client()
    for account in accounts:
        runner.run(client.render(Post(text="warm-up"), account))


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


class _Meter:
    """CPU seconds of the processes serving the workers: the emulator (asked over its
    pipe) and, when its data directory is known, the PostgreSQL server (its postmaster's
    own and its exited backends' time, from /proc)."""

    def __init__(self, emulator: multiprocessing.connection.Connection, pg_data: Path | None):
        self.emulator = emulator
        self.pg_data = pg_data

    def emulator_cpu(self) -> float:
        self.emulator.send("cpu")
        cpu: float = self.emulator.recv()
        return cpu

    def postgres_cpu(self) -> float | None:
        if self.pg_data is None:
            return None
        try:
            pid = int((self.pg_data / "postmaster.pid").read_text().split()[0])
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, ValueError, IndexError):
            return None
        # utime, stime, cutime, cstime: fields 14-17 of stat, 12-15 after the name.
        return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def _one_run(
    target: str,
    specs: list[dict[str, Any]],
    posts: int,
    workers: int,
    concurrency: int,
    meter: _Meter,
) -> dict[str, float]:
    """One measurement on a freshly filled ``target``: deliveries per second of
    ``workers`` processes, and CPU seconds per delivery of the workers (after the start),
    of the emulator and of the server (``nan`` when not known), and the workers' start-up
    CPU seconds (each, on average)."""
    total = len(specs) * posts
    _fill(target, specs, posts)
    start_at = time.time() + 4.0 + 2.0 * workers  # every worker ready by then
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
    time.sleep(max(0.0, start_at - time.time()))
    emu_before, pg_before = meter.emulator_cpu(), meter.postgres_cpu()
    reports = []
    for proc in procs:
        out, _ = proc.communicate(timeout=600)
        if proc.returncode != 0:
            raise SystemExit(f"a worker failed (exit {proc.returncode})")
        reports.append(json.loads(out.strip().splitlines()[-1]))
    emu_after, pg_after = meter.emulator_cpu(), meter.postgres_cpu()
    if any(r["start_cpu"] <= 0 for r in reports) or time.time() < start_at:
        raise SystemExit("the workers finished before the start: raise the start delay")
    with Outbox(target) as box:
        sent = box.counts()[DeliveryStatus.SENT]
    if sent != total or sum(r["n"] for r in reports) != total:
        raise SystemExit(f"{sent} of {total} deliveries sent")
    pg = pg_after - pg_before if pg_after is not None and pg_before is not None else math.nan
    return {
        "rate": total / (max(r["end"] for r in reports) - start_at),
        "cpu": sum(r["cpu"] for r in reports) / total,
        "emulator": (emu_after - emu_before) / total,
        "server": pg / total,
        "start_up": sum(r["start_cpu"] for r in reports) / workers,
    }


def outbox_scaling(
    postgres_url: str | None = None,
    *,
    accounts: int = 40,
    posts: int = 10,
    concurrency: int = 2,
    latency: float = 0.05,
    runs: int = 2,
) -> list[str]:
    """Measure both backends at 1, 2 and 4 workers; returns the printed lines."""
    pg_data: Path | None = None
    if postgres_url is None:
        from tests.servers import _servers as servers

        server = servers.postgres_server()
        postgres_url, pg_data = server.url, server.data
    lines: list[str] = []

    def say(line: str) -> None:
        print(line, flush=True)
        lines.append(line)

    parent, child = multiprocessing.Pipe()
    emulator = multiprocessing.Process(target=_emulator, args=(child, accounts, latency))
    emulator.start()
    meter = _Meter(parent, pg_data)
    try:
        specs = parent.recv()
        say(
            f"outbox scale-out: {accounts} accounts x {posts} posts, emulator latency "
            f"{latency * 1000:.0f} ms, Worker(concurrency={concurrency}) per process, best of "
            f"{runs} (cpus: {os.cpu_count()}, load {os.getloadavg()[0]:.1f})"
        )
        say(
            "  CPU per delivery (ms): workers after their start / emulator / PostgreSQL "
            "server; start-up: CPU seconds per worker before the clock"
        )
        with tempfile.TemporaryDirectory() as tmp:
            for backend in ("sqlite", "postgresql"):
                rates: dict[int, float] = {}
                for n in WORKER_COUNTS:
                    best: dict[str, float] = {"rate": 0.0}
                    for _ in range(runs):
                        if backend == "sqlite":
                            target = str(Path(tmp) / f"{uuid.uuid4().hex}.db")
                        else:
                            target = _fresh_schema(postgres_url)
                        got = _one_run(target, specs, posts, n, concurrency, meter)
                        if got["rate"] > best["rate"]:
                            best = got
                    rates[n] = best["rate"]
                    ratio = best["rate"] / (n * rates[1])
                    unknown = backend == "sqlite" or math.isnan(best["server"])
                    server = "-" if unknown else f"{best['server'] * 1000:.1f}"
                    say(
                        f"  {backend:<10} {n} worker(s): {best['rate']:6.1f} deliveries/s  "
                        f"{ratio:4.2f} of linear  CPU {best['cpu'] * 1000:4.1f} / "
                        f"{best['emulator'] * 1000:3.1f} / {server}  "
                        f"start-up {best['start_up']:.2f} s"
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
    parser.add_argument("--posts", type=int, default=10, help="posts per account")
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
