"""The outbox's memory of the rows it wrote changes no decision.

`Outbox._save_in` checks a save against the state row this outbox last wrote and updates
it only if the file still holds that row, instead of reading it first. These tests run the
same random interleavings of two processes' saves, claims, releases and cancels on two
files: one where the first outbox remembers, one where it forgets everything at once and
reads before every save (as it did before the memory). Every outcome (written or refused,
and why) and every row and history row must be the same.
"""

from __future__ import annotations

import random
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from brandkit import DeliveryStatus, Post
from brandkit.delivery import Delivery
from brandkit.errors import BrandkitError, Rejected
from brandkit.outbox import Outbox
from brandkit.platforms._base import PartRef

T0 = datetime(2026, 12, 1, 12, tzinfo=UTC)
IDS = ("d0", "d1", "d2")


class _Forgetful(dict[str, Any]):
    """A memory that keeps nothing: every save reads its row, as before the memory."""

    def __setitem__(self, key: str, value: Any) -> None:
        pass


def _pair(path: Path, forgetful: bool) -> tuple[Outbox, Outbox]:
    clock = iter(T0 + timedelta(seconds=i) for i in range(10**6))
    first = Outbox(path / "a.db", clock=lambda: next(clock))
    second = Outbox(path / "a.db", clock=lambda: next(clock))
    if forgetful:
        first._written = _Forgetful()
    # Owners are random per outbox; the same names make the two files comparable. They
    # name two machines: a lease ends when it expires, not when a process is gone.
    first.owner, second.owner = "host-a:1:aaaa", "host-b:2:bbbb"
    return first, second


def _mutate(rng: random.Random, d: Delivery, step: int) -> None:
    """One change a driver (or a confused caller) could save: an attempt starts, a part is
    confirmed or forgotten, the delivery is sent, fails, comes back, is given another
    post, or nothing changes."""
    at = T0 + timedelta(minutes=step)
    choice = rng.randrange(7)
    if choice == 0:
        d.status, d.attempts = DeliveryStatus.SENDING, d.attempts + rng.choice((0, 1, 1, 2))
    elif choice == 1:
        d.parts.append(PartRef(index=len(d.parts), id=f"p{step}"))
    elif choice == 2:
        d.status = DeliveryStatus.SENT
    elif choice == 3:
        d.status = DeliveryStatus.FAILED
        d.error = Rejected(f"no {step}", platform="outboxnet")
    elif choice == 4:
        d.status, d.error = DeliveryStatus.PENDING, None
    elif choice == 5 and d.parts:
        d.parts.pop()
    elif choice == 6 and rng.random() < 0.5:
        # Another post object, another campaign: the row's identity columns change.
        d.post = Post(text="the same post", campaign=rng.choice(("spring", "autumn")))
    d.updated_at = at


def _run(path: Path, seed: int, forgetful: bool) -> tuple[list[str], Any]:
    first, second = _pair(path, forgetful)
    rng = random.Random(seed)
    copies: dict[tuple[int, str], Delivery] = {}
    outcomes: list[str] = []
    post = Post(text="the same post")
    for step in range(200):
        who = rng.choice((0, 0, 0, 1))
        box = (first, second)[who]
        did = rng.choice(IDS)
        op = rng.randrange(10)
        try:
            if op <= 5:
                d = copies.get((who, did))
                if d is None or rng.random() < 0.15:
                    d = box.get(did) or Delivery(
                        id=did,
                        account="outboxnet:a",
                        platform="outboxnet",
                        post=post,
                        created_at=T0,
                        updated_at=T0,
                    )
                    copies[(who, did)] = d
                _mutate(rng, d, step)
                box.save(d)
                outcomes.append(f"{step} {who} save {did} {d.status.value} ok")
            elif op == 6:
                taken = box.claim(T0 + timedelta(days=1))
                for d in taken:
                    copies[(who, d.id)] = d
                outcomes.append(f"{step} {who} claim {sorted(d.id for d in taken)}")
            elif op == 7:
                box.release(did)
                outcomes.append(f"{step} {who} release {did} ok")
            elif op == 8:
                box.cancel(did)
                outcomes.append(f"{step} {who} cancel {did} ok")
            else:
                # A machine's leases run out (a slow publisher, a stopped worker): the
                # other may take its deliveries, and its next save must see that.
                box._db.execute(
                    "UPDATE outbox_deliveries SET lease_until = 1 WHERE lease_owner = ?",
                    (rng.choice((first, second)).owner,),
                )
                outcomes.append(f"{step} {who} expire")
        except BrandkitError as exc:
            outcomes.append(f"{step} {who} op{op} {did} refused {type(exc).__name__}")
    db = sqlite3.connect(path / "a.db")
    rows = db.execute(
        "SELECT id, status, attempts, parts, error, lease_owner, created_at, updated_at, "
        "data, not_before FROM outbox_deliveries ORDER BY id"
    ).fetchall()
    history = db.execute(
        "SELECT delivery_id, at, status, attempts, parts, note FROM outbox_events ORDER BY seq"
    ).fetchall()
    db.close()
    first.close()
    second.close()
    return outcomes, (rows, history)


@pytest.mark.parametrize("seed", range(20))
def test_remembering_decides_as_reading_does(tmp_path: Path, seed: int) -> None:
    (tmp_path / "remembers").mkdir()
    (tmp_path / "reads").mkdir()
    remembered = _run(tmp_path / "remembers", seed, forgetful=False)
    read = _run(tmp_path / "reads", seed, forgetful=True)
    assert remembered[0] == read[0]
    assert remembered[1] == read[1]
    # The interleavings reach both outcomes the memory must get right: saves written and
    # saves refused (by a lease, a finished delivery, a forgotten part, a stale attempt).
    outcomes = remembered[0]
    assert any(" save " in o and o.endswith(" ok") for o in outcomes)
    assert any(o.endswith("refused OutboxConflict") for o in outcomes)
