"""A connection the server closed while it was idle (a restart, a failover, a session killed
by ``idle_session_timeout`` or ``pg_terminate_backend``) is noticed before it is used: every
PostgreSQL store opens a new one, and the call succeeds. Only a call under way when the
server went away fails (nothing of the next statement had been sent, so connecting again is
safe)."""

from __future__ import annotations

import asyncio
import contextlib
import select
import socket
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

import psycopg
import pytest

from brandkit import Account, DeliveryStatus, Post
from brandkit.auth._pgstore import PostgresStore
from brandkit.errors import BrandkitError
from brandkit.governor import PostgresState, Slot
from brandkit.outbox import Outbox
from tests.servers._servers import unique_prefix

KEY = b"k" * 32


def _closing_idle_sessions(url: str, name: str) -> str:
    """``url`` whose sessions the server ends after 300 ms idle, named ``name``."""
    query = urlencode(
        {"application_name": name, "options": "-c idle_session_timeout=300"}, quote_via=quote
    )
    return urlunsplit(urlsplit(url)._replace(query=query))


def _sessions(url: str, name: str) -> int:
    with psycopg.connect(url, autocommit=True) as admin:
        row = admin.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (name,)
        ).fetchone()
    assert row is not None
    return int(row[0])


def _until_closed(
    url: str,
    name: str,
    *,
    terminate: bool = False,
    conns: Callable[[], list[Any]] | None = None,
) -> None:
    """Wait until the server has ended every session named ``name`` (at most 10 s): idle
    ones time out; ``terminate`` ends them at once, as a restart does (a session left
    waiting for its client's next message after a pipeline, as psycopg's async one is,
    never counts as idle). Then, for each of ``conns()`` still open, until the server's
    farewell has reached its socket: a busy machine may deliver it after the session is
    gone, and until it is there no client can notice anything."""
    if terminate:
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = %s",
                (name,),
            )
    deadline = time.monotonic() + 10
    while _sessions(url, name) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _sessions(url, name) == 0, "the server kept the sessions: the test proves nothing"
    for conn in conns() if conns is not None else []:
        if conn is None or conn.closed:
            continue
        poller = select.poll()
        poller.register(conn.pgconn.socket, select.POLLIN)
        assert poller.poll(10_000), "the farewell never arrived: the test proves nothing"


def _twice(
    url: str,
    name: str,
    call: Callable[[], Any],
    *,
    terminate: bool = False,
    conns: Callable[[], list[Any]] | None = None,
) -> None:
    """``call`` works, and works again once the server has closed its idle sessions."""
    call()
    _until_closed(url, name, terminate=terminate, conns=conns)
    call()


def test_the_outbox_opens_a_new_connection(postgres_db: str) -> None:
    name = f"bk-{uuid.uuid4().hex[:12]}"
    account = Account.mastodon("https://social.example", token="t", name="a")
    with Outbox(_closing_idle_sessions(postgres_db, name), lease=3600) as box:
        conns = lambda: [box._conn]  # noqa: E731
        _twice(postgres_db, name, lambda: box.add(Post(text="hello"), account), conns=conns)
        _until_closed(postgres_db, name, conns=conns)
        assert box.counts()[DeliveryStatus.PENDING] == 2
        _until_closed(postgres_db, name, conns=conns)
        (taken,) = box.claim(limit=1)
        _until_closed(postgres_db, name, conns=conns)
        box.release(taken.id)


def test_the_governor_state_opens_a_new_connection(postgres_db: str) -> None:
    """Its updates are pipelined, after which PostgreSQL never counts the session idle: it
    is ended as a restart ends it."""
    name = f"bk-{uuid.uuid4().hex[:12]}"
    put = lambda e: e.__setitem__(("s", "60s"), Slot(5, 60.0))  # noqa: E731
    with PostgresState(_closing_idle_sessions(postgres_db, name), prefix=unique_prefix()) as state:
        _twice(postgres_db, name, lambda: state.update(["s"], put), terminate=True)
        _until_closed(postgres_db, name, terminate=True)
        assert state.server_time() > 0

        async def run() -> None:
            try:
                await state.aupdate(["s"], put)
                await asyncio.to_thread(_until_closed, postgres_db, name, terminate=True)
                assert list(await state.aupdate(["s"], dict)) == [("s", "60s")]
            finally:
                await state.aclose()

        asyncio.run(run())


def test_the_credential_store_opens_a_new_connection(postgres_db: str) -> None:
    name = f"bk-{uuid.uuid4().hex[:12]}"
    with PostgresStore(_closing_idle_sessions(postgres_db, name), key=KEY) as store:
        conns = lambda: [store._conn, *(c for _, c in store._idle)]  # noqa: E731
        _twice(postgres_db, name, lambda: store.put("acme", {"token": "t"}), conns=conns)
        _until_closed(postgres_db, name, conns=conns)
        assert store.keys() == ["acme"]
        with store.lock("acme"):
            pass
        _until_closed(postgres_db, name, conns=conns)
        with store.lock("acme"):
            pass


def test_a_call_under_way_still_fails(postgres_db: str) -> None:
    """The server going away during an update is still an error (whether it was written is
    not known); the update after it connects again."""
    with PostgresState(postgres_db, prefix=unique_prefix()) as state:
        pid = state._connect().info.backend_pid

        def killed(entries: Any) -> None:
            with psycopg.connect(postgres_db, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
            entries[("s", "60s")] = Slot(5, 60.0)

        with pytest.raises(BrandkitError, match="failed"):
            state.update(["s"], killed)
        assert state.update(["s"], dict) == {}


def test_a_credential_row_held_by_another_session_is_waited_for_a_bounded_time(
    postgres_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A session that keeps a record's row locked (a transaction left open in an admin's
    shell) made every write of that record wait without end: a token refresh, and the
    worker publishing with it, hung. The wait now ends, saying why."""
    from brandkit.auth import _pgstore

    monkeypatch.setattr(_pgstore, "ROW_WAIT", 0.3)
    with PostgresStore(postgres_db, key=KEY) as store:
        store.put("acme", {"token": "t"})
        raised: list[BaseException | None] = []

        def write() -> None:
            try:
                store.put("acme", {"token": "t2"})
            except BaseException as exc:
                raised.append(exc)
            else:
                raised.append(None)

        with psycopg.connect(postgres_db) as other:
            other.execute("SELECT 1 FROM brandkit_credentials WHERE key = 'acme' FOR UPDATE")
            thread = threading.Thread(target=write, daemon=True)
            thread.start()
            thread.join(10)
            waited_for_ever = thread.is_alive()
            other.rollback()
        thread.join(10)
        assert not waited_for_ever, "the write waited for the row without end"
        (exc,) = raised
        assert isinstance(exc, BrandkitError)
        assert "another session held the record's row" in str(exc)
        store.put("acme", {"token": "t3"})  # the row free again: written
        record = store.get("acme")
        assert record is not None and record["token"] == "t3"


class _SlowGoodbye:
    """A TCP relay on 127.0.0.1 in front of PostgreSQL that passes everything through at
    once, but the end of the server's stream only ``delay`` seconds after it: the farewell
    (FATAL) of a session the server ended is there, its close not yet (as a busy server or
    network delivers them)."""

    def __init__(self, target: tuple[str, int], delay: float) -> None:
        self.target, self.delay = target, delay
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        self.listener.settimeout(0.1)
        while not self._stop.is_set():
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            server = socket.create_connection(self.target, timeout=10)
            threading.Thread(target=self._pipe, args=(client, server, 0.0), daemon=True).start()
            threading.Thread(
                target=self._pipe, args=(server, client, self.delay), daemon=True
            ).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket, delay: float) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        time.sleep(delay)
        for sock in (dst, src):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        self._stop.set()
        self.listener.close()


def test_a_farewell_that_came_before_the_close_is_noticed(postgres_db: str) -> None:
    """The server's FATAL farewell arrived but not yet the end of its stream: the
    connection was taken for live, the statement sent into a session already gone, and
    the call failed. The farewell alone now marks it stale."""
    parts = urlsplit(postgres_db)
    relay = _SlowGoodbye((parts.hostname or "127.0.0.1", parts.port or 5432), delay=2.0)
    name = f"bk-{uuid.uuid4().hex[:12]}"
    url = urlunsplit(
        parts._replace(
            netloc=f"{parts.username}:{parts.password}@127.0.0.1:{relay.port}",
            query=urlencode({"application_name": name}),
        )
    )
    try:
        with PostgresStore(url, key=KEY) as store:
            conns = lambda: [store._conn]  # noqa: E731
            _twice(
                postgres_db,
                name,
                lambda: store.put("acme", {"token": "t"}),
                terminate=True,
                conns=conns,
            )
            assert store.keys() == ["acme"]
    finally:
        relay.close()


def test_the_inbox_opens_a_new_connection(postgres_db: str) -> None:
    from brandkit import Inbox

    name = f"bk-{uuid.uuid4().hex[:12]}"
    with Inbox(_closing_idle_sessions(postgres_db, name), prefix=unique_prefix()) as inbox:
        conns = lambda: [inbox._conn]  # noqa: E731
        _twice(postgres_db, name, inbox.messages, conns=conns)
        _until_closed(postgres_db, name, terminate=True, conns=conns)
        assert inbox.cursor("x:brand") is None


def test_the_metrics_store_opens_a_new_connection(postgres_db: str) -> None:
    from brandkit.metrics import MetricsStore

    name = f"bk-{uuid.uuid4().hex[:12]}"
    with MetricsStore(_closing_idle_sessions(postgres_db, name), prefix=unique_prefix()) as store:
        conns = lambda: [store._conn]  # noqa: E731
        _twice(postgres_db, name, store.count, conns=conns)
        _until_closed(postgres_db, name, terminate=True, conns=conns)
        assert store.count() == 0
