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
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import pytest

from brandkit import DeliveryStatus, Post
from brandkit.delivery import Delivery
from brandkit.outbox import Outbox
from brandkit.testing import Emulator
from tests.outbox._fakenet import TOKEN, OutboxNetEmulator, fake_render

pytestmark = pytest.mark.skipif(os.name != "posix", reason="SIGKILL and pid checks are POSIX")

WORKER = Path(__file__).with_name("_crash_worker.py")
REPO = Path(__file__).resolve().parents[2]


@attrs.define
class Figures:
    """What a crash run did, for the report."""

    rounds: int = 0
    kills: int = 0
    deliveries: int = 0
    parts: int = 0
    recovered: int = 0


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
    window: tuple[float, float],
    log: Path,
) -> Figures:
    """Start the worker again and again, killing it ``kills`` times at a random moment in
    ``window`` seconds after it is ready; the last run goes to the end."""
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
                try:
                    proc.wait(timeout=rng.uniform(*window))
                except subprocess.TimeoutExpired:
                    proc.send_signal(signal.SIGKILL)
                    # Reaped at once: the next worker sees the pid gone and takes over.
                    proc.wait()
                    proc.stdout.close()
                    figures.kills += 1
                    continue
            else:
                proc.wait(timeout=60)
            proc.stdout.close()
        assert ready == "ready", log.read_text()[-3000:]
        assert proc.returncode == 0, log.read_text()[-3000:]
        return figures


def check_exactly_once(
    deliveries: list[Delivery],
    stored: list[dict[str, Any]],
    texts: Callable[[Delivery], list[str]],
    key_of: Callable[[dict[str, Any]], str],
    parent_of: Callable[[dict[str, Any]], str | None],
    *,
    may_stay_unknown: frozenset[str] = frozenset(),
) -> None:
    """Every confirmed part exists once on the platform, in order; nothing else exists but
    at most one copy of an unknown delivery's next part."""
    by_id = {p["id"]: p for p in stored}
    copies = Counter(key_of(p) for p in stored)
    expected = 0
    for d in deliveries:
        want = texts(d)
        if d.status is DeliveryStatus.UNKNOWN and d.account in may_stay_unknown:
            assert d.error is not None
            pending_key = d.keys[len(d.parts)]
            assert copies[pending_key] <= 1
            expected += copies[pending_key]
            for key in d.keys[len(d.parts) + 1 :]:
                assert copies[key] == 0
        else:
            assert d.status is DeliveryStatus.SENT, (d, d.error)
            assert len(d.parts) == len(want)
        expected += len(d.parts)
        for i, ref in enumerate(d.parts):
            post = by_id[ref.id]
            assert copies[d.keys[i]] == 1, f"part {i} of {d.id} exists {copies[d.keys[i]]} times"
            assert key_of(post) == d.keys[i]
            assert post["text"] == want[i]
            assert parent_of(post) == (d.parts[i - 1].id if i else None)
    assert len(stored) == expected


@pytest.fixture
def crash_env() -> dict[str, str]:
    """The environment of the worker processes."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["CRASH_TOKEN"] = TOKEN
    return env


@pytest.mark.parametrize("seed", [20261126, 7])
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
            kills=10,
            window=(0.02, 0.35),
            log=tmp_path / "worker.log",
        )
    box = Outbox(db)
    deliveries = box.list(limit=None)
    figures.deliveries = len(deliveries)
    figures.parts = len(emu.posts)
    figures.recovered = sum(
        1
        for d in deliveries
        for e in box.history(d.id)
        if e.note and "stopped before it recorded" in e.note
    )
    box.close()
    print(f"\ncrash figures (outboxnet, seed {seed}): {attrs.asdict(figures)}")
    assert figures.kills == 10
    assert figures.recovered >= 1
    check_exactly_once(
        deliveries,
        emu.posts,
        lambda d: [p.text for p in fake_render(d.post, "outboxnet").parts],
        key_of=lambda p: str(p["key"]),
        parent_of=lambda p: p["reply_to"],
        may_stay_unknown=frozenset({accounts["blind"].key}),
    )
    sent = [d for d in deliveries if d.account != accounts["blind"].key]
    assert all(d.status is DeliveryStatus.SENT for d in sent)
