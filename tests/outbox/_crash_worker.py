"""The worker process of the crash tests; the test kills it with SIGKILL at random points.

Usage: ``python _crash_worker.py DB PLATFORM ACCOUNTS_JSON``. Accounts come as JSON
(``[{"name", "base_url", "settings"}]``, the token from ``$CRASH_TOKEN``) for the fake platform,
or as a TOML file path for built-in ones. It prints ``ready`` once the outbox is open, works
until nothing is left to publish (deliveries of the account keys listed in
``$CRASH_MAY_STAY_UNKNOWN`` may stay unknown: their platform cannot look a post up), then
exits 0.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from brandkit import Account, DeliveryStatus
from brandkit.outbox import Outbox, Worker


def main() -> int:
    db, platform, spec = sys.argv[1:4]
    if platform == "outboxnet":
        from tests.outbox._fakenet import install

        install()
        accounts = [
            Account(
                "outboxnet",
                name=a["name"],
                base_url=a["base_url"],
                secrets={"token": os.environ["CRASH_TOKEN"]},
                settings=a["settings"],
            )
            for a in json.loads(spec)
        ]
    else:
        accounts = list(Account.load(spec).values())
    may_stay_unknown = set(filter(None, os.environ.get("CRASH_MAY_STAY_UNKNOWN", "").split(",")))
    outbox = Outbox(db)
    print("ready", flush=True)
    with Worker(outbox, accounts, backoff=0.05, max_backoff=0.2, max_attempts=50) as worker:
        while True:
            done = worker.run_once()
            counts = outbox.counts()
            if not (counts[DeliveryStatus.PENDING] or counts[DeliveryStatus.SENDING]):
                unknown = outbox.list(status="unknown", limit=None)
                if all(d.account in may_stay_unknown for d in unknown):
                    return 0
            if not done:
                time.sleep(0.02)


if __name__ == "__main__":
    sys.exit(main())
