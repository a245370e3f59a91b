"""A worker process of the soak test; the test runs two at once and kills them with SIGKILL.

Usage: ``python _soak_worker.py DB``; the accounts (with their secrets) come as JSON in
``$SOAK_ACCOUNTS`` (``[{"platform", "name", "base_url", "settings", "secrets"}]``) and the
platforms whose deliveries may stay ``unknown`` (no way to look a post up) in
``$SOAK_MAY_STAY_UNKNOWN``. Prints ``ready``, works until nothing is left, exits 0.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from brandkit import DeliveryStatus
from brandkit.outbox import Outbox, Worker
from brandkit.testing import account_from_spec


def main() -> int:
    db = sys.argv[1]
    accounts = [account_from_spec(a) for a in json.loads(os.environ["SOAK_ACCOUNTS"])]
    may_stay_unknown = set(os.environ.get("SOAK_MAY_STAY_UNKNOWN", "").split(","))
    outbox = Outbox(db)
    print("ready", flush=True)
    with Worker(outbox, accounts, backoff=0.05, max_backoff=0.5, max_attempts=50) as worker:
        while True:
            done = worker.run_once()
            counts = outbox.counts()
            if not (counts[DeliveryStatus.PENDING] or counts[DeliveryStatus.SENDING]):
                unknown = outbox.list(status="unknown", limit=None)
                if all(d.platform in may_stay_unknown for d in unknown):
                    return 0
            if not done:
                time.sleep(0.02)


if __name__ == "__main__":
    sys.exit(main())
