"""Governor acquire latency on each shared store: SQLite vs Redis vs PostgreSQL.

Part of ``benchmarks/scale_bench.py`` (``governor_latency``); also runs alone:
``python benchmarks/_scale_governor.py [--redis URL] [--postgres URL] [--n 2000]``. Without
URLs it starts throwaway servers on 127.0.0.1 (tests/servers/_servers.py; needs
``tests/servers/install.sh``). Figures are printed, nothing is asserted.

1. one process: the latency of ``Governor.acquire`` (one state update each), p50 and p99,
   on a budget that never runs out (so every call writes).
2. four processes on one budget at once: acquires per second in total, and p99.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from brandkit._hooks import BucketKey  # noqa: E402
from brandkit.governor import Governor, PostgresState, RedisState, SQLiteState  # noqa: E402
from brandkit.platforms._base import RatePolicy  # noqa: E402

KEY = BucketKey("bench", "127.0.0.1", "bench:a", "post")
POLICIES = (RatePolicy("post", 10**9, 3600.0),)


def _store(kind: str, target: str, prefix: str) -> Any:
    if kind == "sqlite":
        return SQLiteState(target)
    if kind == "redis":
        return RedisState(target, prefix=prefix)
    return PostgresState(target, prefix=prefix)


def measure(kind: str, target: str, prefix: str, n: int, start_at: float = 0.0) -> dict[str, Any]:
    """``n`` acquires in this process; latencies in ms."""
    store = _store(kind, target, prefix)
    governor = Governor(store)
    for _ in range(50):
        governor.acquire(KEY, 1, POLICIES)
    time.sleep(max(0.0, start_at - time.time()))
    lat = []
    began = time.perf_counter()
    for _ in range(n):
        t = time.perf_counter()
        governor.acquire(KEY, 1, POLICIES)
        lat.append((time.perf_counter() - t) * 1e3)
    wall = time.perf_counter() - began
    store.close()
    lat.sort()
    return {
        "p50": statistics.median(lat),
        "p99": lat[int(len(lat) * 0.99) - 1],
        "per_s": n / wall,
    }


def _parallel(kind: str, target: str, n: int, workers: int) -> dict[str, float]:
    prefix = f"b{uuid.uuid4().hex[:8]}_"
    _store(kind, target, prefix).close()  # schema created before the race
    start_at = time.time() + 2.0
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, "--worker", kind, target, prefix, str(n), str(start_at)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(workers)
    ]
    results = []
    for proc in procs:
        out, _ = proc.communicate(timeout=600)
        results.append(json.loads(out))
    return {
        "per_s": sum(r["per_s"] for r in results),
        "p99": max(r["p99"] for r in results),
    }


def governor_latency(
    redis_url: str | None = None, postgres_url: str | None = None, n: int = 2000
) -> list[str]:
    """Run both measurements on the three stores; returns the printed lines."""
    servers: Any = None
    if redis_url is None or postgres_url is None:
        from tests.servers import _servers as servers

        redis_url = redis_url or servers.redis_server().url
        postgres_url = postgres_url or servers.postgres_server().url
    lines: list[str] = []

    def say(line: str) -> None:
        lines.append(line)
        print(line, flush=True)

    try:
        with tempfile.TemporaryDirectory() as tmp:
            targets = {
                "sqlite": str(Path(tmp) / "governor.db"),
                "redis": redis_url,
                "postgresql": postgres_url,
            }
            say(
                f"governor acquire latency (load average {os.getloadavg()[0]:.1f}, "
                f"{os.cpu_count()} cores)"
            )
            say(
                f"{'store':<11} {'1 proc p50':>11} {'p99':>8} {'acq/s':>8}   "
                f"{'4 procs acq/s':>13} {'p99':>8}"
            )
            for kind, target in targets.items():
                kind_arg = "postgres" if kind == "postgresql" else kind
                one = measure(kind_arg, target, f"b{uuid.uuid4().hex[:8]}_", n)
                four = _parallel(kind_arg, target, n // 2, 4)
                say(
                    f"{kind:<11} {one['p50']:>9.2f}ms {one['p99']:>6.2f}ms "
                    f"{one['per_s']:>8.0f}   {four['per_s']:>13.0f} {four['p99']:>6.2f}ms"
                )
    finally:
        if servers is not None:
            servers._stop_all()
    return lines


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        kind, target, prefix, n, start_at = sys.argv[2:7]
        print(json.dumps(measure(kind, target, prefix, int(n), float(start_at))))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis", help="redis:// URL (default: a throwaway server)")
    parser.add_argument("--postgres", help="postgresql:// URL (default: a throwaway server)")
    parser.add_argument("--n", type=int, default=2000, help="acquires per measurement")
    args = parser.parse_args()
    governor_latency(args.redis, args.postgres, args.n)


if __name__ == "__main__":
    main()
