"""Scale-out figures (issue 14): the outbox's deliveries/s with 1, 2 and 4 worker processes on
SQLite and PostgreSQL (emulators at 50 ms, rate limits off; goal ≥ 0.8 of linear at 4), and the
governor's acquire latency on SQLite, Redis and PostgreSQL.

Real PostgreSQL and Redis servers are started on 127.0.0.1 for the run (Debian's packages:
``bash tests/servers/install.sh``) unless URLs are given. Run from the repository's root:

    python benchmarks/scale_bench.py [--postgres URL] [--redis URL] [--only outbox|governor]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from _scale_governor import governor_latency  # noqa: E402
from _scale_outbox import outbox_scaling  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--postgres", help="postgresql:// URL (default: a throwaway server)")
    parser.add_argument("--redis", help="redis:// URL (default: a throwaway server)")
    parser.add_argument("--only", choices=("outbox", "governor"))
    args = parser.parse_args(argv)
    if args.only in (None, "outbox"):
        outbox_scaling(args.postgres)
        print()
    if args.only in (None, "governor"):
        governor_latency(args.redis, args.postgres)
    return 0


if __name__ == "__main__":
    sys.exit(main())
