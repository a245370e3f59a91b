"""The durable outbox against the floor its promise costs on the same disk.

A Mastodon emulator with its rate limits out of the way serves on 127.0.0.1 in a child
process. In the same run, best of ``--runs`` each, this process publishes ``--posts`` posts:

a. **raw httpx**: a bare ``httpx.Client`` loop, one ``POST /api/v1/statuses`` per post;
b. **floor**: the same loop plus what the outbox promises and no more: one fsync'd SQLite
   commit (WAL, ``synchronous=FULL``) before the create and one after it;
c. **brandkit + Outbox**: ``Client(outbox=Outbox(path)).publish(post, account)`` per post;
d. **brandkit, no outbox**: ``Client().publish(post, account)``, to tell the client's own cost
   from the outbox's.

The modes take turns, ``--chunk`` posts at a time, so that the disk's slow moments (an
fsync's time varies with everything else the machine writes) fall on all of them alike.
It prints posts/s for each, the ratio c/b (goal: >= 0.8) and, from a traced run
(``sqlite3``'s trace callback on the outbox's connection), the SQL statements and commits
per post that (c) costs. Nothing is sent anywhere but 127.0.0.1; nothing is asserted.

    python benchmarks/outbox_bench.py [--posts 1000] [--runs 3] [--chunk 20] [--dir /tmp]
"""

from __future__ import annotations

import argparse
import multiprocessing
import multiprocessing.connection
import sqlite3
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from brandkit import Account, Client, Post
from brandkit.outbox import Outbox
from brandkit.testing import account_from_spec, account_spec
from brandkit.testing.mastodon import MastodonEmulator

NO_LIMIT = 1_000_000_000


def _child(conn: multiprocessing.connection.Connection) -> None:
    """The emulator's process: serve until the parent says it is done."""
    emu = MastodonEmulator(
        rate_limits={
            "statuses": (NO_LIMIT, 3600.0),
            "api": (NO_LIMIT, 300.0),
            "media": (NO_LIMIT, 1800.0),
            "delete": (NO_LIMIT, 1800.0),
        },
        engagement_rate=0.0,
    )
    with emu.serve():
        account = emu.account(name="bench")
        conn.send(account_spec(account))
        conn.recv()


class _Mode:
    """One way of publishing, kept open across the chunks of a run."""

    name = ""

    def __init__(self, account: Account) -> None:
        self.account = account
        self.count = 0

    def open(self, path: Path) -> None:
        raise NotImplementedError

    def publish(self, posts: int) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class _Raw(_Mode):
    """(a) one ``POST /api/v1/statuses`` per post over a bare httpx client."""

    name = "raw httpx"

    def open(self, path: Path) -> None:
        token = self.account.secret("token")
        self.http = httpx.Client(headers={"Authorization": f"Bearer {token}"})
        self.url = f"{self.account.base_url}/api/v1/statuses"

    def create(self, key: str) -> str:
        self.count += 1
        response = self.http.post(
            self.url,
            json={"status": f"{self.name} post {self.count} {key}"},
            headers={"Idempotency-Key": key},
        )
        response.raise_for_status()
        return str(response.json()["id"])

    def publish(self, posts: int) -> None:
        for _ in range(posts):
            self.create(uuid.uuid4().hex)

    def close(self) -> None:
        self.http.close()


class _Floor(_Raw):
    """(b) the raw loop plus one fsync'd commit (WAL, synchronous=FULL) before each create
    and one after it: what "written before the first byte, confirmed before the next"
    costs at the least."""

    name = "floor"

    def open(self, path: Path) -> None:
        super().open(path)
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode = WAL")
        self.db.execute("PRAGMA synchronous = FULL")
        self.db.execute("CREATE TABLE IF NOT EXISTS d (id TEXT PRIMARY KEY, status TEXT, ref TEXT)")

    def publish(self, posts: int) -> None:
        for _ in range(posts):
            key = uuid.uuid4().hex
            self.db.execute("INSERT INTO d (id, status) VALUES (?, 'sending')", (key,))
            ref = self.create(key)
            self.db.execute("UPDATE d SET status = 'sent', ref = ? WHERE id = ?", (ref, key))

    def close(self) -> None:
        super().close()
        self.db.close()


class _Brandkit(_Mode):
    """(c) ``Client(outbox=Outbox(path)).publish(post, account)``; (d) without the outbox."""

    def __init__(self, account: Account, *, outbox: bool) -> None:
        super().__init__(account)
        self.durable = outbox
        self.name = "brandkit + Outbox" if outbox else "brandkit, no outbox"

    def open(self, path: Path) -> None:
        self.outbox = Outbox(path) if self.durable else None
        self.client = Client(outbox=self.outbox)
        # The instance document is read once per client: not part of a post's cost.
        self.client.render(Post(text="warm up"), self.account)

    def publish(self, posts: int) -> None:
        for _ in range(posts):
            self.count += 1
            (d,) = self.client.publish(Post(text=f"{self.name} {self.count}"), self.account)
            if not d.ok:
                raise SystemExit(f"publishing failed: {d.error}")

    def close(self) -> None:
        self.client.close()
        if self.outbox is not None:
            self.outbox.close()


def _run(modes: list[_Mode], posts: int, chunk: int, where: Path, run: int) -> dict[str, float]:
    """Seconds each mode took for ``posts`` posts, the modes taking turns ``chunk`` posts
    at a time (in a rotating order), so that a slow moment of the disk or the machine
    falls on every mode alike."""
    spent = dict.fromkeys((m.name for m in modes), 0.0)
    for i, mode in enumerate(modes):
        mode.open(where / f"{i}-{run}.db")
    try:
        done = 0
        while done < posts:
            n = min(chunk, posts - done)
            turn = (done // chunk) % len(modes)
            for mode in modes[turn:] + modes[:turn]:
                started = time.perf_counter()
                mode.publish(n)
                spent[mode.name] += time.perf_counter() - started
            done += n
    finally:
        for mode in modes:
            mode.close()
    return spent


def _traced(account: Account, posts: int, path: Path) -> tuple[Counter[str], int]:
    """The SQL statements ``posts`` publishes through an outbox execute, by first word."""
    seen: Counter[str] = Counter()
    with Outbox(path) as outbox, Client(outbox=outbox) as client:
        client.render(Post(text="warm up"), account)
        outbox._db.set_trace_callback(lambda sql: seen.update([sql.split(None, 1)[0].upper()]))
        for i in range(posts):
            (d,) = client.publish(Post(text=f"traced post {i}"), account)
            if not d.ok:
                raise SystemExit(f"publishing failed: {d.error}")
        outbox._db.set_trace_callback(None)
    return seen, posts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=1000, help="posts per run")
    parser.add_argument("--runs", type=int, default=3, help="runs per mode (best counts)")
    parser.add_argument("--chunk", type=int, default=20, help="posts per mode per turn")
    parser.add_argument("--dir", default=None, help="where the database files go")
    args = parser.parse_args(argv)

    ours, theirs = multiprocessing.Pipe()
    child = multiprocessing.get_context("spawn").Process(target=_child, args=(theirs,), daemon=True)
    child.start()
    try:
        setup: dict[str, Any] = ours.recv()
        account = account_from_spec(setup)
        with tempfile.TemporaryDirectory(dir=args.dir, prefix="outbox-bench-") as tmp:
            where = Path(tmp)
            modes: list[_Mode] = [
                _Raw(account),
                _Floor(account),
                _Brandkit(account, outbox=True),
                _Brandkit(account, outbox=False),
            ]
            # Warm up sockets, imports and the emulator before anything is timed.
            _run(modes, 2 * args.chunk, args.chunk, where, -1)
            rates = {m.name: 0.0 for m in modes}
            per_run: list[float] = []
            for run in range(args.runs):
                spent = _run(modes, args.posts, args.chunk, where, run)
                per_run.append(spent["floor"] / spent["brandkit + Outbox"])
                for name, seconds in spent.items():
                    rates[name] = max(rates[name], args.posts / seconds)
            seen, traced = _traced(account, min(args.posts, 200), where / "traced.db")
    finally:
        ours.send("done")
        child.join(10)

    print(f"{args.posts} posts per run, best of {args.runs}, database in {args.dir or 'tmp'}")
    print(f"{'mode':24} {'posts/s':>9} {'µs/post':>9}")
    for name, rate in rates.items():
        print(f"{name:24} {rate:9,.0f} {1e6 / rate:9,.0f}")
    ratio = rates["brandkit + Outbox"] / rates["floor"]
    print(
        f"\nbrandkit + Outbox / floor: {ratio:.2f}   (goal: >= 0.80; run by run: "
        + ", ".join(f"{r:.2f}" for r in per_run)
        + ")"
    )
    statements = sum(seen.values())
    commits = seen["COMMIT"]
    print(
        f"SQL per post (traced, {traced} posts): {statements / traced:.1f} statements, "
        f"{commits / traced:.1f} commits   ("
        + ", ".join(f"{k} {v / traced:.1f}" for k, v in seen.most_common())
        + ")"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
