"""A worker process whose governor makes every post after the first wait 60 s for its
budget; the test kills it with SIGKILL during that wait (issue 17, item 8).

Usage: ``python _pacing_worker.py DB BASE_URL``; the token comes from ``$PACING_TOKEN``.
Prints ``ready`` once the outbox is open, then works until killed (or until nothing is due).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from brandkit import Account, Client
from brandkit._hooks import BucketKey, NullGovernor
from brandkit.outbox import Outbox, Worker
from brandkit.platforms._base import RatePolicy
from tests.outbox._fakenet import install


class OnePerMinute(NullGovernor):
    """The first post goes at once; every later one waits a minute (like a group chat's
    20 messages per minute, used up)."""

    def __init__(self) -> None:
        self.spent = 0

    def acquire(self, key: BucketKey, cost: int, policies: tuple[RatePolicy, ...]) -> float:
        if key.bucket != "post":
            return 0.0
        self.spent += 1
        return 0.0 if self.spent == 1 else 60.0


def main() -> int:
    db, base_url = sys.argv[1:3]
    install()
    account = Account(
        "outboxnet",
        name="group",
        base_url=base_url,
        secrets={"token": os.environ["PACING_TOKEN"]},
        settings={"findable": False},
    )
    outbox = Outbox(db)
    client = Client(outbox=outbox, governor=OnePerMinute())
    print("ready", flush=True)
    with Worker(outbox, [account], client=client) as worker:
        worker.run_once()
    return 0


if __name__ == "__main__":
    sys.exit(main())
