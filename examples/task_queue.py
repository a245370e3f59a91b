"""The outbox worker as a task that a scheduler triggers (Celery beat, procrastinate, cron).

A task queue delivers a trigger at least once: the same "publish what is due" task may run
twice at the same moment (a retried message, two beat processes, an overlapping cron job).
Each run is `Worker.run_once` on the shared outbox, which leases what it takes, so a duplicate
trigger finds nothing left to take and every post still goes out exactly once.

This example starts brandkit's Mastodon emulator on 127.0.0.1, queues six posts for two
accounts, then fires the trigger four times at once from four threads, twice more after that,
and checks that the emulator received each post once, each account's in order. Offline.

    python examples/task_queue.py
"""

from __future__ import annotations

import argparse
import tempfile
import threading
from pathlib import Path

from brandkit import Account, Client, DeliveryStatus, Outbox, Post, Worker
from brandkit.testing.mastodon import MastodonEmulator


def publish_due(db: Path, accounts: list[Account]) -> int:
    """The task body a scheduler calls: publish whatever is due, return how many went out.
    With Celery: ``@app.task`` on this function and a beat entry every minute; with
    procrastinate: ``@app.periodic(cron="* * * * *")`` on a task calling it."""
    with (
        Outbox(db) as outbox,
        Client(outbox=outbox) as client,
        Worker(outbox, accounts, client=client) as worker,
    ):
        return sum(d.status is DeliveryStatus.SENT for d in worker.run_once())


def main(argv: list[str] | None = None) -> None:
    # --help prints what the example does and runs nothing; an unknown option is refused
    # rather than ignored (with BRANDKIT_LIVE=1 the quickstart posts for real).
    argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    ).parse_args(argv)
    db = Path(tempfile.mkdtemp(prefix="brandkit-tasks-")) / "outbox.db"
    emu = MastodonEmulator()
    with emu.serve():
        accounts = [emu.account(name="studio"), emu.account(name="shop")]
        with Outbox(db) as outbox:
            for account in accounts:
                for n in range(1, 4):
                    outbox.add(Post(text=f"{account.name} update {n}"), account)

        sent: list[int] = []
        triggers = [
            threading.Thread(target=lambda: sent.append(publish_due(db, accounts)))
            for _ in range(4)
        ]
        for trigger in triggers:
            trigger.start()
        for trigger in triggers:
            trigger.join()
        sent += [publish_due(db, accounts), publish_due(db, accounts)]

        texts = emu.post_texts()
        # Each trigger's count, in the order the triggers finished.
        print(
            f"{len(sent)} triggers (4 at once, then 2) published {sum(sent)} posts between "
            f"them ({', '.join(map(str, sent))}); the emulator holds {len(texts)}:"
        )
        for text in texts:
            print(f"  {text}")
        if sum(sent) != 6 or len(texts) != 6:
            raise SystemExit("a post went out twice or not at all")
        for account in accounts:
            mine = [t for t in texts if t.startswith(account.name)]
            if mine != [f"{account.name} update {n}" for n in range(1, 4)]:
                raise SystemExit(f"{account.name}'s posts went out of order: {mine}")
        print("every post exactly once, each account's in order")


if __name__ == "__main__":
    main()
