"""RedisState.aupdate (redis.asyncio) and PostgresState.aupdate (psycopg's AsyncConnection):
the same atomic update as the synchronous one, shared with it (sync and async spenders of one
budget never overspend it), and an AsyncClient whose governor waits on a busy server keeps its
event loop running."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
import redis

from brandkit import DeliveryStatus, Post
from brandkit.errors import BrandkitError
from brandkit.governor import Block, Entries, Governor, PostgresState, RedisState, Slot
from brandkit.platforms._base import RatePolicy
from tests.async_stores._loop import CREATE, HOLD, MAX_GAP, driven, held, mastodon
from tests.servers._gov_worker import KEY
from tests.servers._servers import unique_prefix


@pytest.fixture(params=["redis", "postgres"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def url(kind: str, request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("redis_clean_url" if kind == "redis" else "postgres_db"))


def _open(kind: str, url: str, prefix: str | None = None) -> RedisState | PostgresState:
    prefix = prefix or unique_prefix()
    return RedisState(url, prefix=prefix) if kind == "redis" else PostgresState(url, prefix=prefix)


@pytest.fixture
def state(kind: str, url: str) -> Iterator[RedisState | PostgresState]:
    store = _open(kind, url)
    yield store
    store.close()


def test_aupdate_round_trips_with_update(state: RedisState | PostgresState) -> None:
    def put(entries: Entries) -> int:
        assert entries == {}
        entries[("s1", "60s")] = Slot(10, 60.0)
        entries[("s2", "!block")] = Block(until=time.time() + 5, strikes=2)
        entries[("elsewhere", "x")] = Block()  # not a scope of this update: not stored
        return 7

    async def run() -> dict[tuple[str, str], Any]:
        try:
            assert await state.aupdate(["s1", "s2"], put) == 7
            return await state.aupdate(["s1", "s2", "elsewhere"], dict)
        finally:
            await state.aclose()

    seen = asyncio.run(run())
    assert set(seen) == {("s1", "60s"), ("s2", "!block")}
    # What the async path wrote, the sync path reads, and the other way round.
    one = state.entries("s1")["60s"]
    assert isinstance(one, Slot) and one.limit == 10
    block = state.entries("s2")["!block"]
    assert isinstance(block, Block) and block.strikes == 2
    assert state.entries("elsewhere") == {}


def test_redis_aupdate_sets_the_expiry(redis_clean_url: str) -> None:
    with RedisState(redis_clean_url, prefix=unique_prefix()) as state:

        async def run() -> None:
            try:
                await state.aupdate(["s1"], lambda e: e.__setitem__(("s1", "60s"), Slot(5, 60.0)))
            finally:
                await state.aclose()

        asyncio.run(run())
        ttl = state.ttl("s1")
        assert ttl is not None and 60.0 <= ttl <= 60.0 + 60.0 + 60.0


def test_async_tasks_and_threads_share_one_budget(kind: str, url: str) -> None:
    """Six async tasks (two processes' worth of loops are alike here) and four threads on the
    synchronous path race for one budget of 60: it is spent exactly, never more."""
    prefix = unique_prefix()
    policies = (RatePolicy("post", 60, 3600.0),)
    sync_state, async_state = _open(kind, url, prefix), _open(kind, url, prefix)
    sync_gov, async_gov = Governor(sync_state), Governor(async_state)
    granted: list[int] = []
    errors: list[BaseException] = []
    go = threading.Event()

    def spend_sync() -> None:
        try:
            go.wait(30)
            granted.append(sum(sync_gov.acquire(KEY, 1, policies) == 0.0 for _ in range(15)))
        except BaseException as exc:
            errors.append(exc)

    async def spend_async() -> int:
        n = 0
        for _ in range(15):
            n += await async_gov.aacquire(KEY, 1, policies) == 0.0
        return n

    async def run() -> list[int]:
        try:
            go.set()
            return list(await asyncio.gather(*(spend_async() for _ in range(6))))
        finally:
            await async_state.aclose()

    threads = [threading.Thread(target=spend_sync) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        granted += asyncio.run(run())
        for t in threads:
            t.join(timeout=120)
    finally:
        go.set()
        sync_state.close()
        async_state.close()
    assert errors == []
    assert sum(granted) == 60, granted


def _busy_redis(url: str) -> tuple[Callable[[], None], Callable[[], None]]:
    """Keep Redis busy (it runs one command at a time) with a script that spins for HOLD s."""
    other = redis.Redis.from_url(url, socket_timeout=30)
    spin = (
        "local t = redis.call('TIME') local start = t[1] * 1e6 + t[2] "
        "while true do local n = redis.call('TIME') "
        f"if n[1] * 1e6 + n[2] - start > {int(HOLD * 1e6)} then break end end return 1"
    )
    thread = threading.Thread(target=lambda: other.eval(spin, 0))

    def take() -> None:
        thread.start()
        time.sleep(0.05)  # the script is running: Redis answers nobody else meanwhile

    def release() -> None:
        thread.join(timeout=30)
        other.close()

    return take, release


def _locked_table(url: str, prefix: str) -> tuple[Callable[[], None], Callable[[], None]]:
    """Hold the governor table locked from another connection."""
    other = psycopg.connect(url, autocommit=False)

    def take() -> None:
        other.execute(f"LOCK TABLE {prefix}governor IN ACCESS EXCLUSIVE MODE")

    def release() -> None:
        other.rollback()
        other.close()

    return take, release


def test_async_client_keeps_its_loop_while_the_server_holds_the_budget(kind: str, url: str) -> None:
    state = _open(kind, url)
    governor = Governor(state, clock=state.clock)
    take, release = _busy_redis(url) if kind == "redis" else _locked_table(url, state.prefix)

    async def run() -> tuple[Any, float, float, int]:
        try:
            with mastodon("a") as (emu, accounts):
                async with driven(accounts, governor=governor) as (client, ticker):
                    with held(take, release):
                        started = time.monotonic()
                        (d,) = await client.publish(Post(text="paced through"), accounts)
                        took = time.monotonic() - started
                return d, took, ticker.max_gap, emu.count("POST", CREATE)
        finally:
            await state.aclose()

    try:
        d, took, gap, creates = asyncio.run(run())
    finally:
        state.close()
    assert took >= HOLD * 0.8, "publish did not wait for the server: the test proves nothing"
    assert gap < MAX_GAP, f"the event loop was held for {gap:.3f} s"
    assert d.status is DeliveryStatus.SENT, d.error
    assert creates == 1


def test_redis_aupdate_against_a_dead_server_fails_without_the_password() -> None:
    async def run() -> None:
        store = RedisState("redis://:S3cretPw@127.0.0.1:1/0", timeout=2)
        try:
            await store.aupdate(["s"], dict)
        finally:
            await store.aclose()
            store.close()

    with pytest.raises(BrandkitError) as caught:
        asyncio.run(run())
    assert "S3cretPw" not in str(caught.value)
    assert "***" in str(caught.value)


def test_postgres_aupdate_reconnects_after_its_connection_was_lost(postgres_db: str) -> None:
    """A connection killed during an update fails that update (a BrandkitError without the
    password); the next update opens a new one. (One killed while idle is replaced before
    use: tests/servers/test_reconnect.py.)"""
    state = PostgresState(postgres_db, prefix=unique_prefix())
    put = lambda e: e.__setitem__(("s", "60s"), Slot(5, 60.0))  # noqa: E731

    def killed(entries: Entries) -> None:
        # Mid-transaction: the scopes are locked and read, nothing written yet.
        with psycopg.connect(postgres_db, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        entries[("s", "other")] = Slot(1, 60.0)

    async def run() -> dict[tuple[str, str], Any]:
        try:
            await state.aupdate(["s"], put)
            with pytest.raises(BrandkitError) as caught:
                await state.aupdate(["s"], killed)
            password = psycopg.conninfo.conninfo_to_dict(postgres_db).get("password")
            assert password and str(password) not in str(caught.value)
            return await state.aupdate(["s"], dict)
        finally:
            await state.aclose()

    try:
        found = asyncio.run(run())
    finally:
        state.close()
    assert list(found) == [("s", "60s")]


def test_async_decisions_are_the_sync_ones_on_the_server(kind: str, url: str) -> None:
    """The script of tests/governor/test_async.py, on this server: sync and async governors
    (each with its own prefix) make the same decisions and leave the same entries."""
    import random

    from brandkit.governor import dump_entry
    from tests.governor.conftest import FakeClock, WindowedFake
    from tests.governor.test_async import _run_async, _run_sync

    def governor() -> tuple[Governor, FakeClock, WindowedFake]:
        clock = FakeClock()
        gov = Governor(_open(kind, url), clock=clock, rng=random.Random(7))
        return gov, clock, WindowedFake(clock, 4, 30)

    gov, clock, fake = governor()
    agov, aclock, afake = governor()

    async def run() -> list[object]:
        try:
            return await _run_async(agov, aclock, afake)
        finally:
            await agov.store.aclose()  # type: ignore[attr-defined]

    try:
        expected = _run_sync(gov, clock, fake)
        assert asyncio.run(run()) == expected
        scopes = ("x|api.x.com|x:brand|post", "x|api.x.com||post", "x|api.x.com|x:brand|*")
        for scope in scopes:
            mine: Any = agov.store
            theirs: Any = gov.store
            assert {n: dump_entry(e) for n, e in mine.entries(scope).items()} == {
                n: dump_entry(e) for n, e in theirs.entries(scope).items()
            }
    finally:
        gov.store.close()  # type: ignore[attr-defined]
        agov.store.close()  # type: ignore[attr-defined]


def _named(kind: str, url: str, name: str) -> str:
    """``url`` whose connections carry ``name`` (PostgreSQL's application_name, Redis's
    CLIENT SETNAME), so that a count of them leaves every other client out."""
    key = "client_name" if kind == "redis" else "application_name"
    parts = urlsplit(url)
    return urlunsplit(parts._replace(query="&".join(filter(None, [parts.query, f"{key}={name}"]))))


def _connections(kind: str, url: str, name: str) -> int:
    """How many client connections named ``name`` the server has now."""
    if kind == "redis":
        with redis.Redis.from_url(url, socket_timeout=5) as admin:
            return sum(1 for c in admin.client_list() if c.get("name") == name)
    with psycopg.connect(url, autocommit=True) as admin:
        row = admin.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (name,)
        ).fetchone()
        assert row is not None
        return int(row[0])


def _reaches(kind: str, url: str, name: str, expected: int) -> int:
    """`_connections` once it is ``expected``, or after 10 s: a closed connection leaves the
    server a moment after its client let go of it (PostgreSQL counts a backend until its
    exit), while one left open stays counted."""
    deadline = time.monotonic() + 10
    count = _connections(kind, url, name)
    while count != expected and time.monotonic() < deadline:
        time.sleep(0.05)
        count = _connections(kind, url, name)
    return count


@contextlib.contextmanager
def _others_come_and_go(kind: str, url: str) -> Iterator[None]:
    """Other clients of the server connecting and leaving all along (another test's
    connection closed late, a monitor): the counts below are the store's own all the same."""
    stop = threading.Event()

    def churn() -> None:
        while not stop.is_set():
            if kind == "redis":
                with redis.Redis.from_url(url, socket_timeout=5) as other:
                    other.ping()
            else:
                with psycopg.connect(url, autocommit=True) as other:
                    other.execute("SELECT 1")
            stop.wait(0.01)

    thread = threading.Thread(target=churn, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(30)


def test_the_async_connection_closes_with_its_loop(kind: str, url: str) -> None:
    """Without ``aclose``: asyncio.run's shutdown closes the loop's connection (an
    asyncio.Runner's too, the worker's loop), so nothing is left open on the server."""
    name = f"bk-{uuid.uuid4().hex[:12]}"
    state = _open(kind, _named(kind, url, name))
    try:
        with _others_come_and_go(kind, url):
            # PostgresState keeps the connection it migrated with; RedisState connects lazily.
            before = _connections(kind, url, name)
            assert before == (0 if kind == "redis" else 1)
            during: list[int] = []

            async def use() -> None:
                await state.aupdate(["s"], dict)
                during.append(_reaches(kind, url, name, before + 1))

            asyncio.run(use())
            with asyncio.Runner() as runner:
                runner.run(use())
            assert during == [before + 1, before + 1]
            assert _reaches(kind, url, name, before) == before
    finally:
        state.close()
