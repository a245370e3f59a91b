"""Inbox sync cost and speed: requests vs the minimum, wall time vs the busiest account alone,
and the store's ingest rate.

20 accounts (7 X, 7 Mastodon, 6 Bluesky) each publish one post; an emulated audience sends
each account 450 replies and 50 mentions. Each platform's emulator runs in a child process of
its own (each platform is a server of its own) and delays every read by 50 ms.
``Inbox.async_sync`` then reads all 20 inboxes from an empty cursor over real sockets. The
minimum per account is the platform's fewest reads for 500 messages at its largest page (see
``MINIMUM``); the goal is equal. Wall time is compared with reading the busiest account alone
(goal ≤ 1.2×), and with the floor of this machine: the same requests sent again, each
account's in order and the accounts at the same time, by a client that only reads the
answers' bytes (latency, emulators and HTTP, none of brandkit's own work). The ingest rate
is ``Inbox.add`` of 100,000 messages.

    python benchmarks/inbox_bench.py [--answers 450] [--mentions 50] [--latency 0.05]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import multiprocessing
import multiprocessing.connection
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from brandkit import Account, AsyncClient, Author, Client, Inbox, Message, Post, RetryPolicy
from brandkit._hooks import NullGovernor
from brandkit.platforms import adapter_class
from brandkit.testing import Emulator, account_from_spec, account_spec
from brandkit.testing.bluesky import BlueskyEmulator
from brandkit.testing.mastodon import MastodonEmulator
from brandkit.testing.x import XEmulator

ACCOUNTS = {"x": 7, "mastodon": 7, "bluesky": 6}

# The fewest reads of ``answers`` replies to one post and ``mentions`` mentions from an empty
# cursor, as each platform's conformance suite states it (its ``inbox_requests``).
MINIMUM: dict[str, Callable[[int, int], int]] = {
    # The mentions timeline holds replies too (they @-mention the author): 100 per page.
    "x": lambda answers, mentions: math.ceil((answers + mentions) / 100),
    # Notifications of type mention hold replies and mentions: 80 per page, the last one
    # short (a full last page needs one more read to see the end); a new process first
    # reads the instance's version (its page size) and the account's id: two reads.
    "mastodon": lambda answers, mentions: 2 + (answers + mentions) // 80 + 1,
    # listNotifications (reply, mention, quote): 100 per page.
    "bluesky": lambda answers, mentions: math.ceil((answers + mentions) / 100),
}


def emulators() -> dict[str, Emulator]:
    """One emulator per platform, with read limits out of the benchmark's way."""
    return {platform: emulator(platform) for platform in ACCOUNTS}


def emulator(platform: str) -> Emulator:
    """The emulator of ``platform``, with read limits out of the benchmark's way."""
    if platform == "x":
        return XEmulator()
    if platform == "mastodon":
        return MastodonEmulator(rate_limits={"api": (1_000_000, 300.0)})
    return BlueskyEmulator()


def populate(emus: dict[str, Emulator], answers: int, mentions: int) -> list[Account]:
    """Every account of the platforms in ``emus`` publishes one post; the audience answers
    and mentions it."""
    accounts = []
    for platform, n in ACCOUNTS.items():
        if platform not in emus:
            continue
        emu = emus[platform]
        client = Client(
            http=httpx.Client(transport=emu.transport()),
            governor=NullGovernor(),
            retry=RetryPolicy(initial=0.001, max_backoff=0.01),
        )
        for i in range(n):
            account = emu.account(name=f"{platform}{i}")
            (d,) = client.publish(Post(text=f"launch {i}"), account)
            if not d.ok:
                raise SystemExit(f"publishing failed: {d.error}")
            for j in range(answers):
                emu.audience(f"fan{j % 40}").reply(d.ids[0], f"answer {j}")
            for j in range(mentions):
                emu.audience(f"caller{j % 10}").mention(f"mention {j}")
            accounts.append(account)
        client.close()
    return accounts


def _child(
    conn: multiprocessing.connection.Connection,
    platform: str,
    answers: int,
    mentions: int,
    latency: float,
) -> None:
    """One platform's process: populate its emulator, serve it, count the reads the parent
    makes."""
    emus = {platform: emulator(platform)}
    with ExitStack() as stack:
        for emu in emus.values():
            stack.enter_context(emu.serve())
        accounts = populate(emus, answers, mentions)
        for emu in emus.values():
            emu.fault(method="GET", path=".*", delay=latency, times=10**9)
        conn.send([account_spec(a) for a in accounts])
        while (asked := conn.recv()) in ("count", "paths", "cpu", "mark") or isinstance(asked, int):
            if isinstance(asked, int):
                # The requests since mark ``asked``, to be sent again as they were.
                conn.send(
                    [
                        (r.method, str(r.url), dict(r.headers))
                        for e in emus.values()
                        for r in e.requests[asked:]
                    ]
                )
            elif asked == "mark":
                conn.send({p: len(e.requests) for p, e in emus.items()})
            elif asked == "cpu":
                conn.send({platform: time.process_time()})
            elif asked == "count":
                conn.send({p: e.count("GET") for p, e in emus.items()})
            else:
                conn.send(
                    {
                        p: sorted(
                            Counter(
                                f"{r.method} {r.url.path.split('/api/v1/statuses/')[0]}"
                                for r in e.requests
                            ).items()
                        )
                        for p, e in emus.items()
                    }
                )


async def sync(accounts: list[Account], path: Path) -> tuple[int, float, float]:
    """Read every inbox once from an empty cursor; returns (messages added, wall seconds,
    this process's CPU seconds)."""
    path.unlink(missing_ok=True)
    with Inbox(path) as inbox:
        async with AsyncClient(accounts=accounts) as client:
            started, cpu = time.perf_counter(), time.process_time()
            report = await inbox.async_sync(client, accounts)
            wall = time.perf_counter() - started
            cpu = time.process_time() - cpu
    if report.errors:
        raise SystemExit(f"sync failed: {report.errors}")
    return report.added, wall, cpu


async def replay(chains: list[list[tuple[str, str, dict[str, str]]]]) -> float:
    """Send each account's requests again, in order, the accounts at the same time, and
    only read the answers' bytes; returns the wall seconds.

    The floor of the sync's wall time on this machine: the latency, the emulators' work
    and HTTP, with none of brandkit's (no parsing, messages or store)."""
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=len(chains) + 1)) as http:

        async def one(chain: list[tuple[str, str, dict[str, str]]]) -> None:
            for method, url, headers in chain:
                sent = {k: v for k, v in headers.items() if k not in ("host", "content-length")}
                response = await http.request(method, url, headers=sent)
                await response.aread()
                if response.status_code >= 400:
                    raise SystemExit(f"replay of {method} {url} answered {response.status_code}")

        started = time.perf_counter()
        await asyncio.gather(*(one(chain) for chain in chains))
        return time.perf_counter() - started


def ingest(n: int, path: Path) -> float:
    """Messages per second stored by ``Inbox.add`` in batches of 500."""
    t0 = datetime(2026, 12, 1, tzinfo=UTC)
    messages = [
        Message(
            platform="x",
            account="x:bench",
            id=str(i),
            kind="reply",
            author=Author(id=str(i % 997), handle=f"fan{i % 997}"),
            text=f"message number {i} about the launch",
            created_at=t0 + timedelta(seconds=i),
            in_reply_to="1",
            our_post="1",
            raw={"id": str(i), "text": f"message number {i} about the launch"},
        )
        for i in range(n)
    ]
    path.unlink(missing_ok=True)
    with Inbox(path) as inbox:
        started = time.perf_counter()
        for start in range(0, n, 500):
            inbox.add(messages[start : start + 500])
        return n / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=450)
    parser.add_argument("--mentions", type=int, default=50)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per read")
    parser.add_argument("--ingest", type=int, default=100_000, help="messages for the ingest rate")
    parser.add_argument("--paths", action="store_true", help="print the reads by path (all runs)")
    args = parser.parse_args(argv)

    pipes, children = {}, []
    for platform in ACCOUNTS:
        ours, theirs = multiprocessing.Pipe()
        child = multiprocessing.get_context("spawn").Process(
            target=_child,
            args=(theirs, platform, args.answers, args.mentions, args.latency),
            daemon=True,
        )
        child.start()
        pipes[platform] = ours
        children.append(child)
    accounts = [account_from_spec(a) for ours in pipes.values() for a in ours.recv()]

    def ask(what: str) -> dict[str, Any]:
        for ours in pipes.values():
            ours.send(what)
        return {p: v for ours in pipes.values() for p, v in ours.recv().items()}

    # The stores are scratch (33 MB a run): removed at the end, not left in /tmp.
    with tempfile.TemporaryDirectory(prefix="brandkit-inbox-bench-") as scratch:
        folder = Path(scratch)
        busiest = max(accounts, key=lambda a: MINIMUM[a.platform](args.answers, args.mentions))
        # The adapters' modules are imported, and the busiest account timed alone (best of 3),
        # before the 20 accounts: what a process does once is in neither measurement.
        for platform in ACCOUNTS:
            adapter_class(platform)
        alone = min(asyncio.run(sync([busiest], folder / "one.db"))[1] for _ in range(3))
        before, served, marks = ask("count"), ask("cpu"), ask("mark")
        added, wall, cpu = asyncio.run(sync(accounts, folder / "all.db"))
        after, emulators_cpu = ask("count"), sum(t - served[p] for p, t in ask("cpu").items())
        # The sync's requests, one chain per account (by its credentials), sent again by a
        # client that only reads the bytes: best of 3.
        chains: dict[str, list[tuple[str, str, dict[str, str]]]] = {}
        for platform, ours in pipes.items():
            ours.send(marks[platform])
            for method, url, headers in ours.recv():
                chains.setdefault(headers.get("authorization", ""), []).append(
                    (method, url, headers)
                )
        floor_wall = min(asyncio.run(replay(list(chains.values()))) for _ in range(3))
        used = {p: after[p] - before[p] for p in ACCOUNTS}
        least = {p: n * MINIMUM[p](args.answers, args.mentions) for p, n in ACCOUNTS.items()}

        if args.paths:
            for platform, paths in ask("paths").items():
                print(platform, paths)
        rate = ingest(args.ingest, folder / "ingest.db")
    for ours in pipes.values():
        ours.send("stop")
    for child in children:
        child.join(10)

    expected = len(accounts) * (args.answers + args.mentions)
    print(f"\n{'platform':10} {'requests':>9} {'minimum':>8}")
    for p in ACCOUNTS:
        print(f"{p:10} {used[p]:9d} {least[p]:8d}")
    total, floor = sum(used.values()), sum(least.values())
    print(f"{'total':10} {total:9d} {floor:8d}   (goal: equal)")
    print(f"\nmessages stored:        {added:,} of {expected:,}")
    print(
        f"wall time, 20 accounts: {wall:.2f} s; the busiest ({busiest.key}) alone: {alone:.2f} s "
        f"-> {wall / alone:.2f}x (goal <= 1.2x)"
    )
    print(
        f"the same requests, only their bytes read: {floor_wall:.2f} s "
        f"-> {floor_wall / alone:.2f}x (the floor: latency, emulators and HTTP alone)"
    )
    print(f"client CPU:             {cpu:.2f} s (one process, so at most one core)")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(
        f"emulators' CPU:         {emulators_cpu:.2f} s; with the client's, "
        f"{cpu + emulators_cpu:.2f} s on {cores} cores: no less than "
        f"{max(cpu, (cpu + emulators_cpu) / (cores or 1)):.2f} s of wall time"
    )
    print(f"store ingest:           {rate:,.0f} messages/s")
    return 0 if total == floor and added == expected else 1


if __name__ == "__main__":
    sys.exit(main())
