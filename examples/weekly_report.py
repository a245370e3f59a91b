"""A week of analytics, offline: publish a campaign, collect metrics daily, write a report.

It starts brandkit's emulators on 127.0.0.1, publishes a small campaign to X, Mastodon and
Bluesky, then collects every post's metrics and the accounts' followers once a simulated day
for a week (the emulators' engagement grows with their clock), stores every snapshot in a
SQLite file, and writes a self-contained HTML report:

    python examples/weekly_report.py            # writes build/weekly-report.html
    python examples/weekly_report.py --out report.html --db week.db

Its own database (build/weekly-report.db) is made anew at each run; a ``--db`` file that
already exists is refused rather than emptied, since it may be a real outbox or store.
"""

from __future__ import annotations

import argparse
import sys
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

from brandkit import Client, CollectIncomplete, MetricsStore, Post, write_report
from brandkit.testing import Clock, emulator

OWN_DB = "build/weekly-report.db"
POSTS = [
    "Spring collection is live: light jackets, bright colours. https://shop.example.com/spring",
    "Behind the scenes: how our designers picked this season's palette. 🎨",
    "Last call for early-bird pricing, ends Sunday! https://shop.example.com/early",
    "Thank you for 10,000 orders this month. You are the best community. 💛",
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", default="build/weekly-report.html", help="report file")
    parser.add_argument("--db", default=OWN_DB, help="metrics database (a new file)")
    parser.add_argument("--days", type=int, default=7, help="simulated days to collect (1-366)")
    args = parser.parse_args(argv)
    # No day collected is an empty report, which looks like a failed collection.
    if not 1 <= args.days <= 366:
        parser.error(f"--days {args.days}: give 1 to 366 simulated days")
    out, db = Path(args.out), Path(args.db)
    if db.exists() and args.db != OWN_DB:
        parser.error(
            f"--db {args.db} exists: give a new file (this example fills it with demo data)"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    db.parent.mkdir(parents=True, exist_ok=True)
    # Its own file starts empty, so that the report shows this run's week alone.
    for stale in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
        stale.unlink(missing_ok=True)

    clock = Clock()  # one simulated clock for every emulator, advanced a day at a time
    with ExitStack() as stack:
        emus = [emulator(p, clock=clock) for p in ("x", "mastodon", "bluesky")]
        for emu in emus:
            stack.enter_context(emu.serve())
        accounts = [emu.account() for emu in emus]
        store = stack.enter_context(MetricsStore(db))
        # The client reads the same clock, so posts and samples carry simulated times; so
        # does the rate-limit governor it makes (on real time, the emulators' resets, days
        # ahead, would read as a day's wait and stop the collection after a month).
        client = stack.enter_context(Client(clock=clock.now))

        deliveries = []
        for text in POSTS:
            deliveries += client.publish(Post(text=text, campaign="spring-launch"), accounts)
            clock.advance(timedelta(hours=5))
        failed = [d for d in deliveries if not d.ok]
        for d in failed:
            print(f"{d.account}: {d.status.value}: {d.error}", file=sys.stderr)
        print(f"published {len(deliveries) - len(failed)} of {len(deliveries)} deliveries")

        for day in range(1, args.days + 1):
            clock.advance(timedelta(days=1))
            try:
                samples = client.collect(deliveries)
            except CollectIncomplete as exc:  # one platform refused: keep the others'
                print(exc, file=sys.stderr)
                samples = exc.samples
            for account in accounts:
                samples += client.collect_account(account)
            added = store.add(samples)
            print(f"day {day}: stored {added} samples")

        # Given the deliveries, the report shows each post's text and links to it.
        path = write_report(
            store,
            out,
            campaign="spring-launch",
            title="Spring launch, week 1",
            deliveries=deliveries,
        )
    print(f"report: {path}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
