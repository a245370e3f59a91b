"""Crash safety: a worker killed with SIGKILL at random points, restarted on the same file.

The emulator runs in this test process and serves over a socket, so its stored posts survive
every kill of the worker. The verdict comes from the emulator's own storage: every part of
every delivery exists exactly once, threads are chained in order, and a delivery the
platform cannot look up is either sent once or left ``unknown``, never sent twice.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import pytest

from brandkit import Client, DeliveryStatus, Post
from brandkit.delivery import Delivery
from brandkit.outbox import Outbox
from brandkit.platforms._base import PartRef
from brandkit.testing import Emulator
from brandkit.testing.mastodon import MastodonEmulator
from brandkit.testing.x import XEmulator
from tests.outbox._fakenet import TOKEN, OutboxNetEmulator, fake_render

posix_only = pytest.mark.skipif(os.name != "posix", reason="SIGKILL and pid checks are POSIX")

WORKER = Path(__file__).with_name("_crash_worker.py")
KILLS = 20
MX_POSTS, MX_DELAY = 12, (0.001, 0.006)
REPO = Path(__file__).resolve().parents[2]


@attrs.define
class Figures:
    """What a crash run did, for the report."""

    rounds: int = 0
    kills: int = 0
    deliveries: int = 0
    parts: int = 0
    recovered: int = 0
    orphaned: int = 0
    """Kills that left more parts on the platform unrecorded by the outbox than there were
    when that run started: kills that hit the window between "stored" and "recorded"."""


def slow_down(emu: Emulator, rng: random.Random, low: float, high: float) -> None:
    """Make every answer take a little while, before and after the post is stored, so that
    kills land while requests are in flight on both sides of the commit."""
    dispatch = emu._dispatch

    def slow(request: Any) -> Any:
        time.sleep(rng.uniform(low, high))
        response = dispatch(request)
        time.sleep(rng.uniform(low, high))
        return response

    emu._dispatch = slow  # type: ignore[method-assign]


def run_until_done(
    db: Path,
    args: list[str],
    env: dict[str, str],
    rng: random.Random,
    *,
    kills: int,
    progress: Callable[[], int],
    stored: Callable[[], int],
    log: Path,
) -> Figures:
    """Start the worker again and again on the same file; ``kills`` times, kill it with
    SIGKILL at a random point: once a random number (1 to 3) of further creates have reached
    the emulators (``progress``), plus a random 0-12 ms, so kills land before, during and
    after the platform stores a post and before or after the outbox records it. The last
    run goes to the end."""
    figures = Figures()
    while True:
        figures.rounds += 1
        with log.open("a") as err:
            proc = subprocess.Popen(
                [sys.executable, str(WORKER), str(db), *args],
                stdout=subprocess.PIPE,
                stderr=err,
                env=env,
                text=True,
            )
            assert proc.stdout is not None
            ready = proc.stdout.readline().strip()
            if figures.kills < kills:
                gap = stored() - confirmed(db)
                target = progress() + rng.randint(1, 3)
                jitter = rng.uniform(0.0, 0.012)
                deadline = time.monotonic() + 30
                while proc.poll() is None and progress() < target:
                    assert time.monotonic() < deadline, log.read_text()[-3000:]
                    time.sleep(0.001)
                if proc.poll() is None:
                    time.sleep(jitter)
                    proc.send_signal(signal.SIGKILL)
                    # Reaped at once: the next worker sees the pid gone and takes over.
                    proc.wait()
                    proc.stdout.close()
                    figures.kills += 1
                    if stored() - confirmed(db) > gap:
                        figures.orphaned += 1
                    continue
            proc.wait(timeout=60)
            proc.stdout.close()
        assert ready == "ready", log.read_text()[-3000:]
        assert proc.returncode == 0, log.read_text()[-3000:]
        return figures


def confirmed(db: Path) -> int:
    """How many parts the outbox file records as confirmed (read without opening an Outbox,
    which would recover deliveries itself)."""
    con = sqlite3.connect(db)
    try:
        return int(
            con.execute("SELECT COALESCE(SUM(parts), 0) FROM outbox_deliveries").fetchone()[0]
        )
    finally:
        con.close()


@attrs.frozen
class Stored:
    """A post as the platform stores it."""

    id: str
    text: str
    parent: str | None


def check_exactly_once(
    deliveries: list[Delivery],
    stored: list[Stored],
    texts: Callable[[Delivery], list[str]],
    *,
    may_stay_unknown: frozenset[str] = frozenset(),
) -> None:
    """Every confirmed part exists once on the platform, in order and chained; nothing else
    exists but at most one copy of the next part of a delivery left unknown. Part texts are
    unique across the test, so a copy is found by its text."""
    by_id = {p.id: p for p in stored}
    copies = Counter(p.text for p in stored)
    expected = 0
    for d in deliveries:
        want = texts(d)
        if d.status is DeliveryStatus.UNKNOWN and d.account in may_stay_unknown:
            assert d.error is not None
            expected += copies[want[len(d.parts)]]
            assert copies[want[len(d.parts)]] <= 1
            assert all(copies[t] == 0 for t in want[len(d.parts) + 1 :])
        else:
            assert d.status is DeliveryStatus.SENT, (d, d.error)
            assert len(d.parts) == len(want)
        expected += len(d.parts)
        for i, ref in enumerate(d.parts):
            post = by_id[ref.id]
            assert copies[want[i]] == 1, f"part {i} of {d.id} exists {copies[want[i]]} times"
            assert post.text == want[i]
            assert post.parent == (d.parts[i - 1].id if i else None)
    assert len(stored) == expected


def recovered(box: Outbox, deliveries: list[Delivery]) -> int:
    """How many times a worker found a delivery left mid-send by a killed one."""
    return sum(
        1
        for d in deliveries
        for e in box.history(d.id)
        if e.note and "stopped before it recorded" in e.note
    )


@pytest.fixture
def crash_env() -> dict[str, str]:
    """The environment of the worker processes."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["CRASH_TOKEN"] = TOKEN
    return env


@posix_only
@pytest.mark.slow
@pytest.mark.parametrize("seed", [20261126])
def test_kill_9_fake_platform(tmp_path: Path, crash_env: dict[str, str], seed: int) -> None:
    """Kill -9 at random points: with lookup, idempotency keys or neither, nothing doubles."""
    rng = random.Random(seed)
    emu = OutboxNetEmulator()
    slow_down(emu, random.Random(seed + 1), 0.001, 0.008)
    db = tmp_path / "crash.db"
    with emu.serve() as url:
        accounts = {
            "find": emu.account(name="find"),
            "idem": emu.account(name="idem", idempotent=True),
            "blind": emu.account(name="blind", findable=False),
        }
        box = Outbox(db)
        for i in range(14):
            for acct in accounts.values():
                n = rng.randint(1, 4)
                text = " | ".join(f"{acct.name} {i} part {j}" for j in range(n))
                box.add(Post(text=text), acct)
        box.close()
        spec = json.dumps(
            [{"name": a.name, "base_url": url, "settings": a.settings} for a in accounts.values()]
        )
        crash_env["CRASH_MAY_STAY_UNKNOWN"] = accounts["blind"].key
        figures = run_until_done(
            db,
            ["outboxnet", spec],
            crash_env,
            rng,
            kills=KILLS,
            progress=lambda: emu.count("POST", "/posts"),
            stored=lambda: len(emu.posts),
            log=tmp_path / "worker.log",
        )
    box = Outbox(db)
    deliveries = box.list(limit=None)
    figures.deliveries = len(deliveries)
    figures.parts = len(emu.posts)
    figures.recovered = recovered(box, deliveries)
    box.close()
    print(f"\ncrash figures (outboxnet, seed {seed}): {attrs.asdict(figures)}")
    assert figures.kills == KILLS
    assert figures.recovered >= 1
    assert figures.orphaned >= 1
    check_exactly_once(
        deliveries,
        [Stored(p["id"], p["text"], p["reply_to"]) for p in emu.posts],
        lambda d: [p.text for p in fake_render(d.post, "outboxnet").parts],
        may_stay_unknown=frozenset({accounts["blind"].key}),
    )
    sent = [d for d in deliveries if d.account != accounts["blind"].key]
    assert all(d.status is DeliveryStatus.SENT for d in sent)


def words(rng: random.Random, tag: str, n: int) -> str:
    """``n`` words, each unique across the test, so that every thread part is unique."""
    return " ".join(f"{tag}w{k}{rng.choice('aeiou')}" for k in range(n))


@posix_only
@pytest.mark.slow
def test_kill_9_mastodon_and_x(tmp_path: Path, crash_env: dict[str, str]) -> None:
    """Kill -9 while publishing to Mastodon (idempotency keys) and X (find-my-post):
    every post and every thread part exists exactly once, chained in order."""
    seed = 20261127
    rng = random.Random(seed)
    masto = MastodonEmulator(max_characters=120)
    x = XEmulator()
    slow_down(masto, random.Random(seed + 1), *MX_DELAY)
    slow_down(x, random.Random(seed + 2), *MX_DELAY)
    db = tmp_path / "crash.db"
    with masto.serve() as masto_url, x.serve():
        accounts = [masto.account(name="m1"), masto.account(name="m2")]
        accounts += [x.account(name="x1"), x.account(name="x2")]
        toml, env = [], dict(crash_env)
        for acct in accounts:
            var = f"CRASH_{acct.name.upper()}"
            if acct.platform == "mastodon":
                env[f"{var}_TOKEN"] = acct.secret("token") or ""
                toml.append(
                    f'[accounts.{acct.name}]\nplatform = "mastodon"\n'
                    f'instance_url = "{masto_url}"\ntoken_env = "{var}_TOKEN"\n'
                )
            else:
                env[f"{var}_TOKEN"] = acct.secret("user_token") or ""
                env[f"{var}_REFRESH"] = acct.secret("refresh_token") or ""
                env[f"{var}_SECRET"] = acct.secret("client_secret") or ""
                toml.append(
                    f'[accounts.{acct.name}]\nplatform = "x"\nbase_url = "{acct.base_url}"\n'
                    f'user_token_env = "{var}_TOKEN"\nrefresh_token_env = "{var}_REFRESH"\n'
                    f'client_id = "{acct.settings["client_id"]}"\n'
                    f'client_secret_env = "{var}_SECRET"\n'
                )
        accounts_file = tmp_path / "brandkit.toml"
        accounts_file.write_text("\n".join(toml))
        box = Outbox(db)
        for i in range(MX_POSTS):
            for acct in accounts:
                # Mastodon parts hold ~120 characters and X's 280: 1 to 3 parts each.
                size = rng.choice([4, 12, 25]) * (2 if acct.platform == "x" else 1)
                box.add(Post(text=words(rng, f"{acct.name}p{i}", size)), acct)
        box.close()
        figures = run_until_done(
            db,
            ["builtin", str(accounts_file)],
            env,
            rng,
            kills=KILLS,
            progress=lambda: masto.count("POST", "/api/v1/statuses") + x.count("POST", "/2/tweets"),
            stored=lambda: len(masto.posts) + len(x.posts),
            log=tmp_path / "worker.log",
        )
        box = Outbox(db)
        deliveries = box.list(limit=None)
        with Client() as client:
            by_account = {a.key: a for a in accounts}
            rendered = {
                d.id: [p.text for p in client.render(d.post, by_account[d.account]).parts]
                for d in deliveries
            }
        figures.deliveries = len(deliveries)
        figures.recovered = recovered(box, deliveries)
        box.close()
    masto_posts = [Stored(p["id"], p["text"], p["in_reply_to_id"]) for p in masto.posts]
    x_posts = [Stored(p.id, p.text, p.in_reply_to) for p in x.posts]
    figures.parts = len(masto_posts) + len(x_posts)
    print(f"\ncrash figures (mastodon + x, seed {seed}): {attrs.asdict(figures)}")
    assert figures.kills == KILLS
    assert figures.recovered >= 1
    assert any(len(t) > 1 for t in rendered.values())
    for platform, stored in (("mastodon", masto_posts), ("x", x_posts)):
        mine = [d for d in deliveries if d.platform == platform]
        check_exactly_once(mine, stored, lambda d: rendered[d.id])


def test_the_verdict_catches_duplicates_and_broken_chains() -> None:
    """The exactly-once check fails on a doubled part, a wrong parent or a lost part."""
    d = Delivery(account="x:a", platform="x", post=Post(text="a | b"))
    d.status = DeliveryStatus.SENT
    d.parts = [PartRef(index=0, id="1"), PartRef(index=1, id="2")]
    good = [Stored("1", "a", None), Stored("2", "b", "1")]
    check_exactly_once([d], good, lambda _: ["a", "b"])
    for bad in (
        [*good, Stored("3", "b", "1")],
        [Stored("1", "a", None), Stored("2", "b", None)],
        [Stored("1", "a", None)],
    ):
        with pytest.raises((AssertionError, KeyError)):
            check_exactly_once([d], bad, lambda _: ["a", "b"])
