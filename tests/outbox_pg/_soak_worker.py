"""A worker process of the PostgreSQL soak; the test runs four (two per emulated host) and
kills them with SIGKILL.

Usage: ``python _soak_worker.py URL HOST``. ``HOST`` is the host name this worker claims to
run on: workers "on" another host cannot tell whether this one's process is alive, so they
wait for its leases to end on the database clock, as on a real second machine. The accounts
(with their secrets) come as JSON in ``$SOAK_ACCOUNTS``. Prints ``ready``, works until every
delivery is finished, exits 0.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import brandkit.outbox._postgres as pg_outbox
from brandkit import AsyncClient, DeliveryStatus, RetryPolicy
from brandkit.outbox import Outbox, Worker
from brandkit.testing import account_from_spec

UNFINISHED = (DeliveryStatus.PENDING, DeliveryStatus.SENDING, DeliveryStatus.UNKNOWN)


def main() -> int:
    url, host = sys.argv[1], sys.argv[2]
    pg_outbox._HOST = host
    accounts = [account_from_spec(a) for a in json.loads(os.environ["SOAK_ACCOUNTS"])]
    outbox = Outbox(url, lease=float(os.environ.get("SOAK_LEASE", "5")))
    client = AsyncClient(
        outbox=outbox,
        accounts=accounts,
        retry=RetryPolicy(attempts=6, initial=0.05, max_backoff=0.5, settle=0.5),
    )
    print("ready", flush=True)
    with Worker(
        outbox, accounts, client=client, backoff=0.05, max_backoff=0.5, max_attempts=50
    ) as worker:
        while True:
            done = worker.run_once()
            counts = outbox.counts()
            if not any(counts[s] for s in UNFINISHED):
                return 0
            if not done:
                outbox.wait_for_work(0.05)


if __name__ == "__main__":
    sys.exit(main())
