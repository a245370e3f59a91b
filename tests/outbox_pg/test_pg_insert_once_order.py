"""Two transactions inserting deliveries with the same ids in opposite orders
(`OutboxTransaction.insert_once`, as two processes queuing the same answers or
announcements do) both commit on PostgreSQL: they used to lock each id as they inserted it,
so each waited for the other's first id, PostgreSQL broke the deadlock by aborting one, and
its caller got an OutboxConflict for work that conflicted with nothing."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from brandkit import Post
from brandkit.delivery import Delivery
from brandkit.outbox import Outbox
from tests.outbox._fakenet import OutboxNetEmulator

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def delivery(account_key: str, platform: str, text: str, id: str) -> Delivery:
    return Delivery(
        id=id,
        account=account_key,
        platform=platform,
        post=Post(text=text),
        created_at=T0,
        updated_at=T0,
    )


def test_overlapping_ids_in_opposite_orders_both_commit(pg: str, emu: OutboxNetEmulator) -> None:
    one, two = emu.account(name="one"), emu.account(name="two")
    # Ids of two accounts, neither in the outbox yet (their accounts' rows are new too).
    ids = {"a": "a" * 32, "b": "b" * 32, "c": "c" * 32}
    owners = {"a": one, "b": two, "c": one}
    orders = {"first": ["a", "b", "c"], "second": ["c", "b", "a"]}
    began = {name: threading.Event() for name in orders}
    results: dict[str, list[Delivery]] = {}
    errors: dict[str, BaseException] = {}

    def insert(name: str, other: str) -> None:
        try:
            with Outbox(pg, timeout=20) as box:
                got = []
                with box.transaction() as tx:
                    for n, key in enumerate(orders[name]):
                        account = owners[key]
                        got.append(
                            tx.insert_once(
                                delivery(account.key, account.platform, f"{name} {key}", ids[key])
                            )
                        )
                        if n == 0:
                            # Both transactions hold their first id before either takes the
                            # next one (unless the first waits for the other: then it goes on
                            # alone after a while).
                            began[name].set()
                            began[other].wait(3.0)
                results[name] = got
        except BaseException as exc:  # asserted below, with its message
            errors[name] = exc

    threads = [
        threading.Thread(target=insert, args=("first", "second")),
        threading.Thread(target=insert, args=("second", "first")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(t.is_alive() for t in threads)
    assert errors == {}, {name: repr(exc) for name, exc in errors.items()}

    with Outbox(pg) as box:
        stored = {d.id: d for d in box.list()}
    assert sorted(stored) == sorted(ids.values())
    # Each id written once, by whichever came first, and both callers got that one.
    for name, order in orders.items():
        for key, got in zip(order, results[name], strict=True):
            assert got.id == ids[key]
            assert got.post.text == stored[got.id].post.text
    assert {stored[ids[k]].account for k in ids} == {one.key, two.key}
