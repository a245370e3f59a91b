"""Listening cost and speed: requests per sync vs the minimum, and posts stored per second.

The audience writes ``--posts`` public posts on each searchable emulator (half of them name
the brand); a `Listener` with one saved query syncs them over real sockets from an empty
cursor, then again with nothing new. The minimum of a first sync is the platform's fewest
searches for what it finds at its largest page (``PAGE``), plus what a new client must do
first (``SETUP``: Bluesky's login); a second sync needs one search per platform. The store
rate is `Listener` storing 100,000 found posts.

    python benchmarks/listening_bench.py [--posts 1000]
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

from brandkit import Account, Author, Client, Message, Query
from brandkit.listening import Listener, SearchPage
from brandkit.listening._listener import Watch
from brandkit.testing import Emulator, emulator

# platform: the largest page of its search, as its adapter reads it
PAGE = {"x": 100, "bluesky": 100}
# platform: reads a new client needs before its first search (Bluesky: the session)
SETUP = {"x": 0, "bluesky": 1}
QUERY = Query(any=["brandkit"])


def searchable() -> list[str]:
    """The platforms of PAGE whose adapter searches in this build."""
    from brandkit.platforms import capabilities

    return [p for p in PAGE if capabilities(p).search]


def populate(emu: Emulator, posts: int) -> int:
    """Half the posts name the brand; returns how many do."""
    for i in range(posts):
        text = f"brandkit is great, post {i}" if i % 2 == 0 else f"the weather, post {i}"
        emu.audience(f"voice{i % 50}").post(text, lang="en")
    return (posts + 1) // 2


def store_rate(n: int, folder: Path) -> float:
    """Found posts stored per second by the listener, in pages of 100."""
    t0 = datetime(2026, 12, 1, tzinfo=UTC)
    listener = Listener(folder / "store.db")
    account = Account("x", name="bench", base_url="http://127.0.0.1:9")
    watched = Watch("bench", QUERY, (account.key,), None, timedelta(minutes=15), None)
    pages = [
        SearchPage(
            [
                Message(
                    platform="x",
                    account=account.key,
                    id=str(i),
                    kind="found",
                    author=Author(id=str(i % 997), handle=f"voice{i % 997}", followers=i % 5000),
                    text=f"brandkit is great, post {i}",
                    created_at=t0 + timedelta(seconds=i),
                )
                for i in range(start, start + 100)
            ],
            cursor=str(start),
            read=100,
        )
        for start in range(0, n, 100)
    ]
    started = time.perf_counter()
    day = t0.date().isoformat()
    read_from: str | None = None
    for page in pages:
        # Nothing set aside beforehand: the page's reads are counted on the day as stored;
        # each page was searched from the cursor the one before saved.
        listener._store(watched, account, page, day, 0, read_from)
        read_from = page.cursor
    rate = n / (time.perf_counter() - started)
    listener.close()
    return rate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=1000, help="public posts per platform")
    parser.add_argument("--store", type=int, default=100_000, help="posts for the store rate")
    args = parser.parse_args(argv)
    platforms = searchable()
    ok = True
    with ExitStack() as stack:
        # The stores are scratch (tens of MB): removed at the end, not left in /tmp.
        folder = Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix="brandkit-listening-bench-"))
        )
        emus = {p: emulator(p) for p in platforms}
        accounts = []
        expected = {}
        for p, emu in emus.items():
            stack.enter_context(emu.serve())
            accounts.append(emu.account(name="listener"))
            expected[p] = populate(emu, args.posts)
        listener = Listener(folder / "listen.db")
        listener.watch("brand", QUERY, accounts=accounts)
        print(f"{'platform':10} {'found':>6} {'requests':>9} {'minimum':>8}  second sync")
        with Client() as client:
            started = time.perf_counter()
            first = {r.account.split(":")[0]: r for r in listener.sync(client, force=True)}
            wall = time.perf_counter() - started
            second = {r.account.split(":")[0]: r for r in listener.sync(client, force=True)}
        for p in platforms:
            least = SETUP[p] + math.ceil(expected[p] / PAGE[p])
            run, again = first[p], second[p]
            print(
                f"{p:10} {run.found:6d} {run.requests:9d} {least:8d}  "
                f"{again.requests} request(s), {again.found} new"
            )
            ok &= run.found == expected[p] and run.requests == least and again.found == 0
        found = sum(r.found for r in first.values())
        print(f"\nfirst sync: {found} posts found and stored in {wall:.2f} s")
        listener.close()
        print(f"store: {store_rate(args.store, folder):,.0f} found posts/s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
