"""The durable outbox against the floor its promise costs on the same disk.

A Mastodon emulator with its rate limits out of the way serves on 127.0.0.1 in a child
process. In the same run, best of ``--runs`` each, this process publishes ``--posts`` posts:

a. **raw httpx**: a bare ``httpx.Client`` loop, one ``POST /api/v1/statuses`` per post;
b. **floor**: the same loop plus what the outbox promises and no more: one fsync'd SQLite
   commit (WAL, ``synchronous=FULL``) before the create and one after it;
c. **brandkit + Outbox**: ``Client(outbox=Outbox(path)).publish(post, account)`` per post;
d. **brandkit, no outbox**: ``Client().publish(post, account)``, to tell the client's own cost
   from the outbox's.

It prints posts/s for each, the ratio c/b (goal: >= 0.8) and, from a traced run
(``sqlite3``'s trace callback on the outbox's connection), the SQL statements and commits
per post that (c) costs. Nothing is sent anywhere but 127.0.0.1; nothing is asserted.

    python benchmarks/outbox_bench.py [--posts 1000] [--runs 3] [--dir /tmp]
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from brandkit import Account, Client, Post
from brandkit.outbox import Outbox
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
        conn.send(
            {
                "platform": account.platform,
                "name": account.name,
                "base_url": account.base_url,
                "secrets": {k: account.secret(k) for k in account.secret_names},
                "settings": {k: v for k, v in account.settings.items() if isinstance(v, str | int)},
            }
        )
        conn.recv()


def _raw(account: Account, posts: int, commit: Callable[[str, str], None] | None) -> float:
    """Seconds for ``posts`` creates over one raw httpx client; with ``commit``, one
    durable write before each create and one after it."""
    headers = {"Authorization": f"Bearer {account.secret('token')}"}
    url = f"{account.base_url}/api/v1/statuses"
    with httpx.Client(headers=headers) as http:
        started = time.perf_counter()
        for i in range(posts):
            key = uuid.uuid4().hex
            if commit is not None:
                commit("before", key)
            response = http.post(
                url, json={"status": f"raw post {i} {key}"}, headers={"Idempotency-Key": key}
            )
            response.raise_for_status()
            status_id = response.json()["id"]
            if commit is not None:
                commit("after", f"{key}:{status_id}")
        return time.perf_counter() - started


def _floor(account: Account, posts: int, path: Path) -> float:
    """The raw loop plus one fsync'd commit (WAL, synchronous=FULL) before and after."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")
    db.execute("CREATE TABLE IF NOT EXISTS d (id TEXT PRIMARY KEY, status TEXT, ref TEXT)")

    def commit(when: str, value: str) -> None:
        if when == "before":
            db.execute("INSERT INTO d (id, status) VALUES (?, 'sending')", (value,))
        else:
            key, ref = value.split(":", 1)
            db.execute("UPDATE d SET status = 'sent', ref = ? WHERE id = ?", (ref, key))

    try:
        return _raw(account, posts, commit)
    finally:
        db.close()


def _brandkit(account: Account, posts: int, path: Path | None) -> float:
    """Seconds for ``posts`` ``Client.publish`` calls (with an outbox at ``path``)."""
    outbox = Outbox(path) if path is not None else None
    try:
        with Client(outbox=outbox) as client:
            # The instance document is read once per client: not part of a post's cost.
            client.render(Post(text="warm up"), account)
            started = time.perf_counter()
            for i in range(posts):
                (d,) = client.publish(Post(text=f"brandkit post {i}"), account)
                if not d.ok:
                    raise SystemExit(f"publishing failed: {d.error}")
            return time.perf_counter() - started
    finally:
        if outbox is not None:
            outbox.close()


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


def _best(runs: int, measure: Callable[[int], float], posts: int) -> float:
    """Posts per second of the fastest of ``runs`` runs."""
    return posts / min(measure(r) for r in range(runs))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=1000, help="posts per run")
    parser.add_argument("--runs", type=int, default=3, help="runs per mode (best counts)")
    parser.add_argument("--dir", default=None, help="where the database files go")
    args = parser.parse_args(argv)

    ours, theirs = multiprocessing.Pipe()
    child = multiprocessing.get_context("spawn").Process(target=_child, args=(theirs,), daemon=True)
    child.start()
    try:
        setup: dict[str, Any] = ours.recv()
        account = Account(
            setup["platform"],
            name=setup["name"],
            base_url=setup["base_url"],
            secrets=setup["secrets"],
            settings=setup["settings"],
        )
        with tempfile.TemporaryDirectory(dir=args.dir, prefix="outbox-bench-") as tmp:
            where = Path(tmp)

            def fresh(name: str) -> Callable[[int], Path]:
                return lambda run: where / f"{name}-{run}.db"

            floor_db, outbox_db = fresh("floor"), fresh("outbox")
            modes: dict[str, Callable[[int], float]] = {
                "raw httpx": lambda run: _raw(account, args.posts, None),
                "floor": lambda run: _floor(account, args.posts, floor_db(run)),
                "brandkit + Outbox": lambda run: _brandkit(account, args.posts, outbox_db(run)),
                "brandkit, no outbox": lambda run: _brandkit(account, args.posts, None),
            }
            # Warm up sockets, imports and the emulator before anything is timed.
            _raw(account, 50, None)
            _brandkit(account, 50, where / "warm.db")
            rates = dict.fromkeys(modes, 0.0)
            for run in range(args.runs):
                # Interleaved, so a slow moment of the machine hits every mode alike.
                for name, measure in modes.items():
                    rates[name] = max(rates[name], args.posts / measure(run))
            seen, traced = _traced(account, min(args.posts, 200), where / "traced.db")
    finally:
        ours.send("done")
        child.join(10)

    print(f"{args.posts} posts per run, best of {args.runs}, database in {args.dir or 'tmp'}")
    print(f"{'mode':24} {'posts/s':>9} {'µs/post':>9}")
    for name, rate in rates.items():
        print(f"{name:24} {rate:9,.0f} {1e6 / rate:9,.0f}")
    ratio = rates["brandkit + Outbox"] / rates["floor"]
    print(f"\nbrandkit + Outbox / floor: {ratio:.2f}   (goal: >= 0.80)")
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
