"""The scale-out soak (issue 14, "Proof"): 1,000 deliveries for 50 accounts on two
emulators, faults on every kind of request (5% answered 503, 5% stored then the answer
dropped, 2% answered 429), four worker processes acting as two hosts over one PostgreSQL
outbox, and a worker killed with SIGKILL at random ten times.

The verdict comes from the emulators' own storage: every post is there exactly once, none is
missing, and each account's posts are there in the order they were added.
"""

from __future__ import annotations

import json
import os
import random
import re
import select
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from brandkit import Account, DeliveryStatus, Post
from brandkit.outbox import Outbox
from brandkit.testing import Drop, Emulator, account_spec, emulator

HERE = Path(__file__).parent
REPO = HERE.parents[1]
PLATFORMS = ("mastodon", "bluesky")
ACCOUNTS = 50
POSTS_PER_ACCOUNT = int(os.environ.get("PG_SOAK_POSTS", "20"))  # 50 x 20 = 1,000 deliveries
WORKERS = (("hostA", 2), ("hostB", 2))
KILLS = 10
FAULTS = (("503", 0.05), ("drop", 0.05), ("429", 0.02))
DEADLINE = float(os.environ.get("PG_SOAK_DEADLINE", "240"))


def faulty(emu: Emulator, rng: random.Random, log: Counter[str]) -> None:
    """Answer a share of requests with a fault: 503 and 429 before the emulator did anything,
    a dropped connection after it did its work (a create is stored, the client never hears)."""
    dispatch = emu._dispatch

    def answer(request: Any) -> Any:
        roll = rng.random()
        for name, share in FAULTS:
            if roll < share:
                kind = name
                break
            roll -= share
        else:
            return dispatch(request)
        log[kind] += 1
        if kind == "503":
            return httpx.Response(503, json={"error": "overloaded"})
        if kind == "429":
            return httpx.Response(429, headers={"retry-after": "1"}, json={"error": "slow down"})
        dispatch(request)
        raise Drop()

    emu._dispatch = answer  # type: ignore[method-assign]


def run_workers(url: str, env: dict[str, str], rng: random.Random, progress: Any, log: Path) -> int:
    """Four workers (two per host) until all is done; ``KILLS`` times one of them, at
    random, is killed with SIGKILL once some more requests went out, and started again."""
    deadline = time.monotonic() + DEADLINE
    hosts = [host for host, n in WORKERS for _ in range(n)]

    def start(host: str) -> subprocess.Popen[str]:
        with log.open("a") as err:
            return subprocess.Popen(
                [sys.executable, str(HERE / "_soak_worker.py"), url, host],
                stdout=subprocess.PIPE,
                stderr=err,
                env=env,
                text=True,
            )

    def ready(proc: subprocess.Popen[str]) -> bool:
        """Whether ``proc`` is working (printed ``ready``), without waiting for it: a
        worker being started again is not held up, nor killed before it opened the outbox."""
        if proc.poll() is not None or proc.stdout is None:
            return False
        if proc.pid in working:
            return True
        if select.select([proc.stdout], [], [], 0)[0]:
            assert proc.stdout.readline().strip() == "ready"
            working.add(proc.pid)
            return True
        return False

    working: set[int] = set()
    procs = [start(h) for h in hosts]
    kills = 0
    try:
        while any(p.poll() is None for p in procs):
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            if kills < KILLS:
                target = progress() + rng.randint(20, 60)
                until = time.monotonic() + 2.5
                while progress() < target and time.monotonic() < until:
                    time.sleep(0.005)
                alive = [i for i, p in enumerate(procs) if ready(p)]
                if alive:
                    i = rng.choice(alive)
                    time.sleep(rng.uniform(0.0, 0.02))
                    procs[i].send_signal(signal.SIGKILL)
                    procs[i].wait()
                    if procs[i].stdout is not None:
                        procs[i].stdout.close()
                    kills += 1
                    procs[i] = start(hosts[i])
                continue
            for p in procs:
                ready(p)
            time.sleep(0.05)
        for proc in procs:
            assert proc.returncode == 0, log.read_text()[-4000:]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
    return kills


@pytest.mark.slow
@pytest.mark.skipif(os.name != "posix", reason="SIGKILL is POSIX")
def test_soak_four_workers_two_hosts_faults_and_kill_9(pg: str, tmp_path: Path) -> None:
    """1,000 deliveries, 50 accounts, faults, 4 workers on 2 hosts, 10 kill -9s: every post
    exactly once, none lost, each account's in order."""
    seed = 20261205
    rng = random.Random(seed)
    fault_log: Counter[str] = Counter()
    started = time.monotonic()
    with ExitStack() as stack:
        emus: dict[str, Emulator] = {}
        accounts: list[Account] = []
        for n, platform in enumerate(PLATFORMS):
            emu = emulator(platform)
            stack.enter_context(emu.serve())
            emus[platform] = emu
            share = ACCOUNTS // len(PLATFORMS) + (n < ACCOUNTS % len(PLATFORMS))
            accounts += [emu.account(name=f"{platform}{i}") for i in range(share)]
        with Outbox(pg) as box:
            for p in range(POSTS_PER_ACCOUNT):
                for account in accounts:
                    box.add(Post(text=f"soak {account.name} post {p}"), account)
        for n, emu in enumerate(emus.values()):
            faulty(emu, random.Random(seed + n), fault_log)
        env = {**os.environ, "SOAK_ACCOUNTS": json.dumps([account_spec(a) for a in accounts])}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
        kills = run_workers(
            pg,
            env,
            rng,
            progress=lambda: sum(len(e.requests) for e in emus.values()),
            log=tmp_path / "workers.log",
        )
        texts = [t for e in emus.values() for t in e.post_texts()]
    with Outbox(pg) as box:
        deliveries = box.list(limit=None)
    elapsed = time.monotonic() - started
    statuses = Counter(d.status.value for d in deliveries)
    print(
        f"\npg soak (seed {seed}): {len(deliveries)} deliveries {dict(statuses)}, "
        f"faults {dict(fault_log)}, kills {kills}, {elapsed:.0f} s"
    )
    assert len(deliveries) == ACCOUNTS * POSTS_PER_ACCOUNT
    assert kills == KILLS
    assert all(fault_log[kind] for kind, _ in FAULTS), fault_log
    assert statuses == {"sent": len(deliveries)}, statuses
    copies = Counter(texts)
    assert max(copies.values()) == 1, [t for t, n in copies.items() if n > 1]
    assert len(copies) == len(deliveries)
    by_account: dict[str, list[int]] = defaultdict(list)
    for text in texts:
        match = re.fullmatch(r"soak (\S+) post (\d+)", text)
        assert match is not None, text
        by_account[match.group(1)].append(int(match.group(2)))
    for name, numbers in by_account.items():
        if numbers != list(range(POSTS_PER_ACCOUNT)):
            with Outbox(pg) as box:
                story = {
                    d.post.text: [(e.status.value, e.note) for e in box.history(d.id)]
                    for d in deliveries
                    if d.post.text.startswith(f"soak {name} ")
                }
            pytest.fail(f"{name} out of order: {numbers}\n{json.dumps(story, indent=1)}")
    assert all(d.status is DeliveryStatus.SENT for d in deliveries)
