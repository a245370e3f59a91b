"""RedisState and PostgresState: one budget for processes on many hosts, never overspent."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import psycopg
import pytest
import redis

from brandkit import backends
from brandkit._hooks import BucketKey
from brandkit.errors import BrandkitError
from brandkit.governor import Block, Governor, PostgresState, RedisState, Slot, StateStore
from brandkit.governor._pgstate import SCHEMA
from tests.servers._gov_worker import KEY, POLICIES
from tests.servers._servers import unique_prefix

WORKER = Path(__file__).with_name("_gov_worker.py")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["redis", "postgres"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def url(kind: str, request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("redis_clean_url" if kind == "redis" else "postgres_db"))


@pytest.fixture
def state(kind: str, url: str) -> Iterator[RedisState | PostgresState]:
    store = RedisState(url) if kind == "redis" else PostgresState(url)
    yield store
    store.close()


def test_stores_satisfy_the_protocol_and_hide_the_password(
    state: RedisState | PostgresState, url: str
) -> None:
    assert isinstance(state, StateStore)
    password = urlsplit(url).password
    assert password and password not in repr(state)
    assert ":***@" in repr(state)


def test_update_round_trips_entries(state: RedisState | PostgresState) -> None:
    def put(entries: dict[tuple[str, str], Slot | Block]) -> int:
        assert entries == {}
        entries[("s1", "60s")] = Slot(10, 60.0)
        entries[("s2", "!block")] = Block(until=time.time() + 5, strikes=2)
        return 7

    assert state.update(["s1", "s2"], put) == 7
    one = state.entries("s1")
    assert list(one) == ["60s"]
    assert isinstance(one["60s"], Slot)
    assert one["60s"].limit == 10
    two = state.entries("s2")["!block"]
    assert isinstance(two, Block)
    assert two.strikes == 2
    # Entries under a scope not given to update are not stored.
    state.update(["s1"], lambda e: e.__setitem__(("elsewhere", "x"), Block()))
    assert state.entries("elsewhere") == {}


def test_processes_share_one_budget(kind: str, url: str) -> None:
    """Four processes acquiring at the same moment get exactly the 30 declared units."""
    prefix = unique_prefix()
    start_at = time.time() + 2.0
    procs = [
        subprocess.Popen(
            [sys.executable, str(WORKER), kind, url, prefix, "20", str(start_at)],
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        for _ in range(4)
    ]
    granted = []
    for proc in procs:
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0
        granted.append(json.loads(out)["granted"])
    assert sum(granted) == 30, granted


def test_threads_contending_never_overspend(state: RedisState | PostgresState) -> None:
    """Eight threads of one process racing on one scope: conflicts are retried, and the
    budget of 100 is spent exactly."""
    gov = Governor(state)
    policies = (type(POLICIES[0])("post", 100, 3600.0),)
    granted = []
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def run() -> None:
        try:
            start.wait(timeout=30)
            granted.append(sum(gov.acquire(KEY, 1, policies) == 0.0 for _ in range(20)))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert sum(granted) == 100


def test_unanswered_settles_a_lost_request_on_the_server(
    state: RedisState | PostgresState,
) -> None:
    """`Governor.unanswered` and `aunanswered` write through the server store: once a window
    of unknown length has rolled over and its budget is spent, a request of that window whose
    answer was lost no longer holds the next sender (tests/governor/test_unanswered.py)."""
    import asyncio

    from tests.governor.test_unknown_window import KEY as ONE
    from tests.governor.test_unknown_window import T0, answer

    now = [T0]
    gov = Governor(state, clock=lambda: now[0])
    assert gov.acquire(ONE, 1, ()) == 0
    gov.observe(ONE, answer(0, T0 + 60))
    for settle in ("unanswered", "aunanswered"):
        now[0] += 62
        assert gov.acquire(ONE, 3, ()) == 0  # the new window's first request: all of it
        assert 0 < gov.acquire(ONE, 1, ()) <= 1  # waiting for its answer
        if settle == "unanswered":
            gov.unanswered(ONE)
        else:
            asyncio.run(_aunanswered(gov, state, ONE))
        assert gov.acquire(ONE, 1, ()) == 0  # the lost request is not waited for
        (slot,) = state.entries("fake|app|fake:a1|post").values()
        assert isinstance(slot, Slot)
        assert slot.remaining == -1  # its units stay spent
        assert [cost for _, cost in slot.flight] == [1.0]
        gov.observe(ONE, answer(0, now[0] + 1))


def test_a_headerless_answer_settles_its_request_on_the_server(
    state: RedisState | PostgresState,
) -> None:
    """`Governor.observe` and `aobserve` of an answer without rate-limit headers (a proxy's
    502) take its request out of flight through the server store, its units still spent:
    once a window of unknown length has rolled over and its budget is spent, it no longer
    holds the next sender (tests/governor/test_headerless_answer.py)."""
    import asyncio

    from tests.governor.test_unknown_window import KEY as ONE
    from tests.governor.test_unknown_window import T0, answer

    now = [T0]
    gov = Governor(state, clock=lambda: now[0])
    assert gov.acquire(ONE, 1, ()) == 0
    gov.observe(ONE, answer(0, T0 + 60))
    for how in ("observe", "aobserve"):
        now[0] += 62
        assert gov.acquire(ONE, 3, ()) == 0  # the new window's first request: all of it
        assert 0 < gov.acquire(ONE, 1, ()) <= 1  # waiting for its answer
        if how == "observe":
            assert gov.observe(ONE, httpx.Response(502)) is None
        else:
            assert asyncio.run(_aobserve(gov, state, ONE, httpx.Response(502))) is None
        (slot,) = state.entries("fake|app|fake:a1|post").values()
        assert isinstance(slot, Slot)
        assert slot.flight == []
        assert slot.remaining == 0  # its units stay spent
        assert gov.acquire(ONE, 1, ()) == 0  # the answered request is not waited for
        gov.observe(ONE, answer(0, now[0] + 1))


def test_unsent_gives_units_back_on_the_server(state: RedisState | PostgresState) -> None:
    """`Governor.unsent` and `aunsent` write through the server store: a request that never
    reached the server gives its units of a window in our own log back
    (tests/governor/test_unsent.py)."""
    import asyncio

    from brandkit.platforms._base import RatePolicy
    from tests.governor.test_unknown_window import KEY as ONE
    from tests.governor.test_unknown_window import T0

    policies = (RatePolicy("post", 2, 60.0),)
    gov = Governor(state, clock=lambda: T0)
    assert gov.acquire(ONE, 1, policies) == 0
    assert gov.acquire(ONE, 1, policies) == 0
    gov.unsent(ONE)
    assert gov.acquire(ONE, 1, policies) == 0
    assert gov.acquire(ONE, 1, policies) > 59

    async def again() -> None:
        try:
            assert await gov.aacquire(ONE, 1, policies) > 59
            await gov.aunsent(ONE)  # the last grant in this context (the task inherits it)
            assert await gov.aacquire(ONE, 1, policies) == 0
        finally:
            await state.aclose()

    asyncio.run(again())
    (slot,) = state.entries("fake|app|fake:a1|post").values()
    assert isinstance(slot, Slot)
    assert slot.runs == [[T0, T0, 2.0]]


def test_requests_settle_their_own_entries_on_the_server(
    state: RedisState | PostgresState,
) -> None:
    """Through the server store, an answer or a lost request settles its own request's
    flight entry, not the oldest (tests/governor/test_own_grant.py): a newer request lost
    leaves an older one still in flight, and an answer out of order leaves the costlier
    request's units in flight, so a window rolling over does not hand them out again."""
    from tests.governor.test_own_grant import SCOPE, headers, task
    from tests.governor.test_unknown_window import KEY as ONE
    from tests.governor.test_unknown_window import T0, answer

    now = [T0]
    gov = Governor(state, clock=lambda: now[0])
    assert gov.acquire(ONE, 1, ()) == 0
    gov.observe(ONE, answer(1, T0 + 60))
    carried, lost = task(), task()
    now[0] = T0 + 59
    assert carried.run(gov.acquire, ONE, 1, ()) == 0
    now[0] = T0 + 62
    assert lost.run(gov.acquire, ONE, 2, ()) == 0
    lost.run(gov.unanswered, ONE)
    (slot,) = state.entries(SCOPE).values()
    assert isinstance(slot, Slot)
    assert slot.flight == [[T0 + 59, 1.0]]
    assert gov.acquire(ONE, 1, ()) == 0  # nothing of the new window is awaited

    two = BucketKey("fake", "app", "fake:a2", "post")  # another account: a window of 5
    costly, cheap = task(), task()
    now[0] = T0
    assert gov.acquire(two, 1, ()) == 0
    gov.observe(two, headers(5, 3, T0 + 10))
    now[0] = T0 + 9
    assert costly.run(gov.acquire, two, 2, ()) == 0
    now[0] = T0 + 9.1
    assert cheap.run(gov.acquire, two, 1, ()) == 0
    now[0] = T0 + 9.3
    cheap.run(gov.observe, two, headers(5, 2, T0 + 10))
    now[0] = T0 + 12  # rolled over, the costly request still in flight
    assert sum(task().run(gov.acquire, two, 1, ()) == 0 for _ in range(5)) == 3


def test_a_cancelled_task_settles_its_request_on_the_server(
    state: RedisState | PostgresState,
) -> None:
    """A task cancelled while the server state grants its request (committed, the answer on
    its way back) gives the grant back; one cancelled while its answer's update is on its
    way still settles it (tests/governor/test_cancelled.py)."""
    import asyncio

    from brandkit.platforms._base import RatePolicy
    from tests.governor._settling import Paused, cancel_when_paused
    from tests.governor.test_own_grant import SCOPE
    from tests.governor.test_unknown_window import KEY as ONE
    from tests.governor.test_unknown_window import T0, answer

    one_a_minute = (RatePolicy("post", 1, 60.0),)
    store = Paused(state)
    now = [T0]
    gov = Governor(store, clock=lambda: now[0])

    async def answered() -> None:
        assert await gov.aacquire(ONE, 1, ()) == 0
        store.pause(before=0.2)
        await gov.aobserve(ONE, answer(0, T0 + 122))

    async def run() -> None:
        try:
            store.pause(after=0.2)
            granting = asyncio.create_task(gov.aacquire(ONE, 1, one_a_minute))
            await cancel_when_paused(store, granting)
            assert await gov.aacquire(ONE, 1, one_a_minute) == 0  # given back
            assert await gov.aacquire(ONE, 1, one_a_minute) > 59
            now[0] = T0 + 62  # the minute is over
            await cancel_when_paused(store, asyncio.create_task(answered()))
        finally:
            await state.aclose()

    asyncio.run(run())
    (slot,) = state.entries(SCOPE).values()
    assert isinstance(slot, Slot)
    assert slot.flight == []
    assert slot.reset is not None  # the answer was learnt


async def _aobserve(
    gov: Governor, state: RedisState | PostgresState, key: BucketKey, response: httpx.Response
) -> float | None:
    try:
        return await gov.aobserve(key, response)
    finally:
        await state.aclose()


async def _aunanswered(gov: Governor, state: RedisState | PostgresState, key: BucketKey) -> None:
    try:
        await gov.aunanswered(key)
    finally:
        await state.aclose()


def test_server_clock(state: RedisState | PostgresState) -> None:
    """``state.clock`` reads the server's time (here the same host's) and never goes back."""
    first = state.clock()
    assert abs(first - time.time()) < 1.0
    readings = [state.clock() for _ in range(100)]
    assert readings == sorted(readings)
    assert abs(state.server_time() - time.time()) < 1.0


def test_unreachable_server_fails_without_the_password(kind: str) -> None:
    bad = (
        "redis://:S3cretPw@127.0.0.1:1/0"
        if kind == "redis"
        else "postgresql://u:S3cretPw@127.0.0.1:1/x"
    )

    def use() -> None:
        with RedisState(bad, timeout=2) if kind == "redis" else PostgresState(bad) as store:
            Governor(store).acquire(KEY, 1, POLICIES)

    with pytest.raises(BrandkitError) as info:
        use()
    assert "S3cretPw" not in str(info.value)
    assert "***" in str(info.value)


def test_redis_keys_expire_with_their_windows(
    redis_clean_url: str, request: pytest.FixtureRequest
) -> None:
    state = RedisState(redis_clean_url, prefix="exp_")
    request.addfinalizer(state.close)
    Governor(state).acquire(KEY, 1, (type(POLICIES[0])("post", 5, 300.0),))
    scope = f"{KEY.platform}|{KEY.app}|{KEY.account}|{KEY.bucket}"
    ttl = state.ttl(scope)
    # One 300 s window logged now: kept for the window, the run's end and a minute's grace.
    assert ttl is not None and 300 < ttl <= 300 * 2 + 61
    client = redis.Redis.from_url(redis_clean_url)
    try:
        keys = sorted(k.decode() for k in client.keys("exp_*"))
        assert keys and all(k.startswith("exp_gov:{fake|127.0.0.1}") for k in keys)
        assert all(client.pttl(k) > 0 for k in keys)
    finally:
        client.close()
    # A long block keeps its scope until the block and its strikes' memory have passed.
    state.update([scope], lambda e: e.__setitem__((scope, "!block"), Block(time.time() + 7200)))
    ttl = state.ttl(scope)
    assert ttl is not None and 7200 + 600 < ttl <= 7200 + 600 + 61


def test_redis_unreadable_entry_is_dropped(
    redis_clean_url: str, request: pytest.FixtureRequest
) -> None:
    state = RedisState(redis_clean_url, prefix="bad_")
    request.addfinalizer(state.close)
    client = redis.Redis.from_url(redis_clean_url)
    try:
        client.hset(state.key("s"), mapping={"60s": "[0, NaN]", "ok": "[1, 5.0, 1]"})
        assert list(state.entries("s")) == ["ok"]
        state.update(["s"], lambda e: e.__setitem__(("s", "n"), Block()))
        assert client.hget(state.key("s"), "60s") is None
    finally:
        client.close()


def test_redis_conflict_is_retried_on_fresh_state(
    redis_clean_url: str, request: pytest.FixtureRequest
) -> None:
    """A write that lands between the read and the compare-and-set makes the update run
    again on the new state instead of overwriting it."""
    state = RedisState(redis_clean_url, prefix="cas_")
    other = RedisState(redis_clean_url, prefix="cas_")
    request.addfinalizer(state.close)
    request.addfinalizer(other.close)
    seen: list[int] = []

    def change(entries: dict[tuple[str, str], Slot | Block]) -> None:
        block = entries.get(("s", "!b"))
        strikes = block.strikes if isinstance(block, Block) else 0
        seen.append(strikes)
        if len(seen) == 1:  # another process writes in between, once
            other.update(["s"], lambda e: e.__setitem__(("s", "!b"), Block(0.0, 5)))
        entries[("s", "!b")] = Block(0.0, strikes + 1)

    state.update(["s"], change)
    assert seen == [0, 5]
    block = state.entries("s")["!b"]
    assert isinstance(block, Block) and block.strikes == 6


def test_postgres_prunes_expired_rows(postgres_db: str, request: pytest.FixtureRequest) -> None:
    state = PostgresState(postgres_db, prefix="pr_")
    request.addfinalizer(state.close)
    state.update(["s"], lambda e: e.__setitem__(("s", "old"), Block()))
    state.update(["t"], lambda e: e.__setitem__(("t", "new"), Block(time.time() + 3600)))
    with psycopg.connect(postgres_db) as conn:
        conn.execute(
            "UPDATE pr_governor SET expires_at = now() - interval '1 s' WHERE name = 'old'"
        )
    assert state._prune(state._connect()) == 1
    assert state.entries("s") == {} and list(state.entries("t")) == ["new"]


def test_postgres_schema_is_registered_for_db_upgrade(postgres_db: str) -> None:
    assert backends.discover()["governor"] is SCHEMA
    assert backends.upgrade(postgres_db, prefix="up_", components=["governor"]) == {
        "governor": (0, 1)
    }
    with PostgresState(postgres_db, prefix="up_") as state:
        assert state.entries("any") == {}
