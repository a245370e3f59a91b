"""A claiming process for test_pg_leases: takes accounts and their deliveries from the
outbox at ``URL`` until none are left, "publishes" each (a short pause, then ``sent``) and
prints one JSON line per delivery: ``[account, delivery id, start ns, end ns, pid]``.

Usage: ``python _claimer.py URL``; prints ``ready`` first, then waits for a line on stdin
so that both processes start claiming at the same moment.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from brandkit import DeliveryStatus
from brandkit.outbox import Outbox


def main() -> int:
    box = Outbox(sys.argv[1], accounts_per_claim=1)
    print("ready", flush=True)
    sys.stdin.readline()
    idle_since = time.monotonic()
    while time.monotonic() - idle_since < 2.0:
        taken = box.claim(limit=3)
        if not taken:
            time.sleep(0.01)
            continue
        idle_since = time.monotonic()
        for delivery in taken:
            start = time.time_ns()
            time.sleep(0.005)
            delivery.status = DeliveryStatus.SENT
            box.save(delivery)
            end = time.time_ns()
            print(json.dumps([delivery.account, delivery.id, start, end, os.getpid()]), flush=True)
            box.release(delivery.id)
    box.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
