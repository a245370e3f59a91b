"""Two transactions adding posts for the same two new accounts in opposite orders (or an
add racing an `OutboxTransaction.insert_once`) both commit on PostgreSQL: each used to
insert its first account's row, then wait for the other's uncommitted row of the second, so
PostgreSQL broke the deadlock by aborting one, and its caller got an OutboxConflict for work
that conflicted with nothing."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from brandkit import Post
from brandkit.accounts import Account
from brandkit.delivery import Delivery
from brandkit.outbox import Outbox, OutboxTransaction
from tests.outbox._fakenet import OutboxNetEmulator

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)

Step = Callable[[OutboxTransaction, Account, str], object]


def add(tx: OutboxTransaction, account: Account, text: str) -> object:
    return tx.add(Post(text=text), account)


def insert_once(tx: OutboxTransaction, account: Account, text: str) -> object:
    return tx.insert_once(
        Delivery(
            id=f"{text.replace(' ', '-'):x<32}"[:32],
            account=account.key,
            platform=account.platform,
            post=Post(text=text),
            created_at=T0,
            updated_at=T0,
        )
    )


@pytest.mark.parametrize(("step_first", "step_second"), [(add, add), (add, insert_once)])
def test_new_accounts_in_opposite_orders_both_commit(
    pg: str, emu: OutboxNetEmulator, step_first: Step, step_second: Step
) -> None:
    one, two = emu.account(name="one"), emu.account(name="two")
    orders = {"first": [one, two], "second": [two, one]}
    steps = {"first": step_first, "second": step_second}
    began = {name: threading.Event() for name in orders}
    errors: dict[str, BaseException] = {}

    def run(name: str, other: str) -> None:
        try:
            with Outbox(pg, timeout=20) as box, box.transaction() as tx:
                for n, account in enumerate(orders[name]):
                    steps[name](tx, account, f"{name} {account.name}")
                    if n == 0:
                        # Both hold their first account's new row before either writes the
                        # second (unless the first waits for the other: then it goes on
                        # alone after a while).
                        began[name].set()
                        began[other].wait(3.0)
        except BaseException as exc:  # asserted below, with its message
            errors[name] = exc

    with Outbox(pg):
        pass  # the schema, made before the race
    threads = [
        threading.Thread(target=run, args=("first", "second")),
        threading.Thread(target=run, args=("second", "first")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(t.is_alive() for t in threads)
    assert errors == {}, {name: repr(exc) for name, exc in errors.items()}

    with Outbox(pg) as box:
        stored = sorted((d.account, d.post.text) for d in box.list())
    assert stored == sorted(
        (account.key, f"{name} {account.name}")
        for name, accounts in orders.items()
        for account in accounts
    )
