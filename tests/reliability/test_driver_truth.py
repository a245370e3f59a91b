"""A delivery's state is always the truth (issue 17): what the drivers do when the budget is
refused, an answer is malformed, huge or endless, a server redirects, or echoes a secret."""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

from brandkit import (
    Account,
    AsyncClient,
    Client,
    DeliveryStatus,
    Outbox,
    Post,
    RateLimited,
    RetryPolicy,
    TransportError,
    __version__,
)
from brandkit._flow import Flow, Send
from brandkit._hooks import BucketKey, NullGovernor
from brandkit.content import Rendered, RenderedPart
from brandkit.errors import MalformedResponse
from brandkit.platforms import register
from brandkit.platforms._base import Answer, PartRef, RatePolicy, ThreadContext
from tests.core.conftest import FakeAdapter, FakeServer

FAST = RetryPolicy(attempts=3, initial=0.001, max_backoff=0.002, settle=0)
SECRET = "s3cr3t-token-value"


class _Created(Answer):
    id: str


class ParsingAdapter(FakeAdapter):
    """The fake platform read the way real adapters read: through a pydantic model, with a
    small cap on answers."""

    name: ClassVar[str] = "parsingnet"

    def publish_part(
        self, rendered: Rendered, part: RenderedPart, thread: ThreadContext
    ) -> Flow[PartRef]:
        body = {"text": part.text, "key": thread.key}
        request = httpx.Request("POST", self._url("/posts"), json=body, headers=self._headers())
        response = yield Send(request, creates=True, bucket="post", max_bytes=64 * 1024)
        created = self.parse(response, _Created)
        return PartRef(index=part.index, id=created.id, url=f"https://fake.example/{created.id}")


register("parsingnet", ParsingAdapter, replace=True)


class Platform(FakeServer):
    """The fake platform, with answers a hostile or broken server gives."""

    def __init__(self) -> None:
        super().__init__()
        self.answer: Any = None  # what the next create answers after storing the post

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and self.answer is not None:
            self.requests.append(request)
            body = json.loads(request.content)
            self.posts.append({"id": str(len(self.posts) + 1), **body})
            answer, self.answer = self.answer, None
            return answer if isinstance(answer, httpx.Response) else answer(request)
        return super().handler(request)


class RefusingGovernor(NullGovernor):
    """A governor whose budget resets far in the future for the ``post`` bucket."""

    def __init__(self, delay: float) -> None:
        self.delay = delay

    def acquire(self, key: BucketKey, cost: int, policies: tuple[RatePolicy, ...]) -> float:
        return self.delay if key.bucket == "post" else 0.0


@pytest.fixture
def anyio_backend() -> str:
    """Async tests run on asyncio."""
    return "asyncio"


@pytest.fixture
def platform() -> Platform:
    """A fresh fake platform."""
    return Platform()


def accounts(platform: str = "parsingnet", n: int = 1) -> list[Account]:
    return [
        Account(
            platform,
            name=f"brand{i}",
            base_url="https://fake.example",
            secrets={"token": SECRET},
        )
        for i in range(n)
    ]


def client(server: Platform, **kw: Any) -> Client:
    kw.setdefault("governor", NullGovernor())
    return Client(
        http=httpx.Client(transport=httpx.MockTransport(server.handler)),
        retry=FAST,
        sleep=lambda _s: None,
        **kw,
    )


# -- a refused budget is "not now", before anything is sent ------------------------------------


def test_a_long_rate_limit_wait_leaves_every_delivery_pending(
    platform: Platform, tmp_path: Path
) -> None:
    """A governor wait over max_wait: nothing is sent, each delivery stays pending with the
    reset time, one delivery per account comes back, and the outbox never saw `sending`."""
    outbox = Outbox(tmp_path / "outbox.db")
    targets = accounts(n=2)
    with client(platform, governor=RefusingGovernor(5000.0), outbox=outbox) as c:
        deliveries = c.publish(Post(text="not yet"), targets)
    assert len(deliveries) == 2 and platform.requests == []
    for d in deliveries:
        assert d.status is DeliveryStatus.PENDING
        assert isinstance(d.error, RateLimited) and d.error.reset_at is not None
        assert d.error.reset_at > datetime.now(UTC)
        assert d.attempts == 0
        stored = outbox.get(d.id)
        assert stored is not None and stored.status is DeliveryStatus.PENDING
        assert "sending" not in [e.status for e in outbox.history(d.id)]


@pytest.mark.anyio
async def test_async_long_wait_leaves_pending(platform: Platform) -> None:
    """The same with AsyncClient: pending, the error says when, nothing raised."""
    async with AsyncClient(
        http=httpx.AsyncClient(transport=httpx.MockTransport(platform.handler)),
        governor=RefusingGovernor(5000.0),
        retry=FAST,
    ) as c:
        deliveries = await c.publish(Post(text="not yet"), accounts(n=2))
    assert [d.status for d in deliveries] == [DeliveryStatus.PENDING] * 2
    assert platform.requests == []


# -- a malformed success answer means "it may exist" -------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, json={"no_id": True}),
        httpx.Response(200, json={"id": ["not", "a", "string"]}),
        httpx.Response(200, text="<html>ok</html>"),
        httpx.Response(200),
    ],
    ids=["missing-field", "wrong-type", "not-json", "empty"],
)
def test_malformed_create_answer_is_unknown_then_found(
    platform: Platform, answer: httpx.Response, tmp_path: Path
) -> None:
    """The post was stored but the answer cannot be read: the delivery is looked up and
    found (sent, one post), never reported failed, never sent twice."""
    platform.answer = answer
    outbox = Outbox(tmp_path / "outbox.db")
    with client(platform, outbox=outbox) as c:
        (d,) = c.publish(Post(text="hello"), accounts())
    assert d.status is DeliveryStatus.SENT, d.error
    assert len(platform.posts) == 1 and d.ids == ["1"]


def test_malformed_answer_without_lookup_is_unknown_and_kept(platform: Platform) -> None:
    """Where the platform cannot be asked, the delivery stays unknown with a typed error
    carrying the raw body; a retry of the delivery does not post again."""
    ParsingAdapter.can_find = False
    try:
        platform.answer = httpx.Response(200, json={"unexpected": SECRET})
        target = accounts()
        with client(platform) as c:
            (d,) = c.publish(Post(text="hello"), target)
            assert d.status is DeliveryStatus.UNKNOWN
            assert isinstance(d.error, MalformedResponse)
            assert "unexpected" in d.error.body and SECRET not in d.error.body
            assert "id" in str(d.error)
            c.deliver(d, target[0])
        assert d.status is DeliveryStatus.UNKNOWN and len(platform.posts) == 1
    finally:
        ParsingAdapter.can_find = True


def test_a_bug_after_the_create_is_unknown_and_siblings_still_go(platform: Platform) -> None:
    """A raw KeyError after the create left (an adapter reading a field that is not there):
    that delivery is unknown, not failed; the next account is still published."""
    platform.answer = httpx.Response(200, json={"no_id": True})
    two = [accounts("fakenet")[0], *accounts(n=1)]
    with client(platform) as c:
        first, second = c.publish(Post(text="hello"), two)
    assert first.status is DeliveryStatus.UNKNOWN and "KeyError" in str(first.error)
    assert second.status is DeliveryStatus.SENT


@pytest.mark.anyio
async def test_async_sibling_is_not_left_sending(platform: Platform) -> None:
    """AsyncClient: one account's broken answer leaves its siblings in their true state."""
    platform.answer = httpx.Response(200, json={"no_id": True})
    two = [accounts("fakenet")[0], *accounts(n=1)]
    async with AsyncClient(
        http=httpx.AsyncClient(transport=httpx.MockTransport(platform.handler)),
        governor=NullGovernor(),
        retry=FAST,
    ) as c:
        first, second = await c.publish(Post(text="hello"), two)
    assert first.status is DeliveryStatus.UNKNOWN
    assert second.status is DeliveryStatus.SENT


# -- bounded answers ----------------------------------------------------------------------------


def test_huge_answer_is_cut_and_typed(platform: Platform) -> None:
    """An answer past the step's cap is not read whole: a typed error, the create unknown
    and looked up (found: no second post)."""
    platform.answer = httpx.Response(200, content=b"{" + b" " * (1024 * 1024) + b"}")
    with client(platform) as c:
        (d,) = c.publish(Post(text="hello"), accounts())
    assert d.status is DeliveryStatus.SENT and len(platform.posts) == 1


def test_gzip_bomb_is_cut_after_decompression(platform: Platform) -> None:
    """A small gzip body that inflates past the cap is stopped while inflating."""
    ParsingAdapter.can_find = False
    try:
        bomb = gzip.compress(b" " * (20 * 1024 * 1024))
        assert len(bomb) < 64 * 1024
        platform.answer = httpx.Response(200, content=bomb, headers={"content-encoding": "gzip"})
        with client(platform) as c:
            (d,) = c.publish(Post(text="hello"), accounts())
        assert d.status is DeliveryStatus.UNKNOWN
        assert isinstance(d.error, MalformedResponse) and "larger than" in str(d.error)
    finally:
        ParsingAdapter.can_find = True


@contextmanager
def _serving(answer: Callable[[socket.socket, threading.Event], None]) -> Iterator[str]:
    """A server on 127.0.0.1 that reads each request and hands the connection to
    ``answer`` (with the stop event); stopped, and its thread joined, on leaving."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(4)
    sock.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(5)
                try:
                    conn.recv(65536)
                    answer(conn, stop)
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(5)
        sock.close()


def _trickle(conn: socket.socket, stop: threading.Event, head: bytes, rest: bytes) -> None:
    """Send ``head`` at once, then ``rest`` one byte every 0.1 s, for at most 10 s."""
    conn.sendall(head)
    deadline = time.monotonic() + 10
    for byte in rest:
        if stop.is_set() or time.monotonic() > deadline:
            return
        conn.sendall(bytes([byte]))
        time.sleep(0.1)


@pytest.fixture
def trickler() -> Iterator[str]:
    """A server that answers with headers, then one body byte every 0.1 s: every read is
    quick, the answer never ends."""
    head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"
    with _serving(lambda conn, stop: _trickle(conn, stop, head, b" " * 999)) as url:
        yield url


def test_a_trickling_server_meets_the_overall_deadline(trickler: str) -> None:
    """timeout=5 per read, deadline=1 s: the create gives up after about a second, as a
    transport error that may have delivered (unknown), never after minutes."""
    ParsingAdapter.can_find = False
    try:
        account = Account("parsingnet", name="slow", base_url=trickler, secrets={"token": SECRET})
        started = time.monotonic()
        with Client(
            governor=NullGovernor(), retry=FAST, timeout=5, deadline=1.0, sleep=lambda _s: None
        ) as c:
            (d,) = c.publish(Post(text="hello"), account)
        elapsed = time.monotonic() - started
    finally:
        ParsingAdapter.can_find = True
    assert isinstance(d.error, TransportError) and d.error.maybe_delivered
    assert "deadline" in str(d.error)
    assert d.status is DeliveryStatus.UNKNOWN
    assert elapsed < 4.0


@pytest.mark.anyio
async def test_async_trickling_server_meets_the_deadline(trickler: str) -> None:
    """The same with AsyncClient."""
    ParsingAdapter.can_find = False
    try:
        account = Account("parsingnet", name="slow", base_url=trickler, secrets={"token": SECRET})
        started = time.monotonic()
        async with AsyncClient(governor=NullGovernor(), retry=FAST, timeout=5, deadline=1.0) as c:
            (d,) = await c.publish(Post(text="hello"), account)
        elapsed = time.monotonic() - started
    finally:
        ParsingAdapter.can_find = True
    assert d.status is DeliveryStatus.UNKNOWN and "deadline" in str(d.error)
    assert elapsed < 4.0


# -- what leaves the machine --------------------------------------------------------------------


def test_redirects_are_never_followed_with_credentials(platform: Platform) -> None:
    """A client built to follow redirects still sends nothing to the host a 3xx names."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "fake.example":
            return httpx.Response(307, headers={"location": "https://evil.example/steal"})
        return httpx.Response(200, json={"id": "1"})

    http = httpx.Client(transport=httpx.MockTransport(handler), follow_redirects=True)
    with Client(http=http, governor=NullGovernor(), retry=FAST, sleep=lambda _s: None) as c:
        (d,) = c.publish(Post(text="hello"), accounts())
    assert [r.url.host for r in seen] == ["fake.example"]
    assert d.status is DeliveryStatus.FAILED


def test_every_request_says_who_sends_it(platform: Platform) -> None:
    """brandkit/<version> by default, the caller's own name when given."""
    with client(platform) as c:
        c.publish(Post(text="one"), accounts())
    assert platform.requests[-1].headers["user-agent"] == f"brandkit/{__version__}"
    with client(platform, user_agent="agency-tool/2.0") as c:
        c.publish(Post(text="two"), accounts())
    assert platform.requests[-1].headers["user-agent"] == "agency-tool/2.0"


def test_a_secret_echoed_by_the_server_is_not_kept(tmp_path: Path) -> None:
    """A 404 page that repeats the token: the delivery's error and the stored row hold no
    trace of it."""

    def echo(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"error": f"no route for token {SECRET}"})

    outbox = Outbox(tmp_path / "outbox.db")
    http = httpx.Client(transport=httpx.MockTransport(echo))
    with Client(http=http, governor=NullGovernor(), retry=FAST, outbox=outbox) as c:
        (d,) = c.publish(Post(text="hello"), accounts())
    assert d.status is DeliveryStatus.FAILED
    assert SECRET not in str(d.error) and SECRET not in repr(d.error.__dict__)
    assert SECRET.encode() not in (tmp_path / "outbox.db").read_bytes()


def test_httpx_and_brandkit_log_lines_hold_no_secret(
    platform: Platform, caplog: pytest.LogCaptureFixture
) -> None:
    """At DEBUG for brandkit, httpx and httpcore, a token that sits in the URL path (as a
    Telegram bot token does) is replaced in every line."""
    caplog.set_level(logging.DEBUG)
    account = Account(
        "parsingnet",
        name="pathy",
        base_url=f"https://fake.example/bot{SECRET}",
        secrets={"token": SECRET},
    )
    with client(platform) as c:
        (d,) = c.publish(Post(text="hello"), account)
    assert d.status is DeliveryStatus.SENT
    lines = [r.getMessage() for r in caplog.records]
    assert any(r.name == "httpx" for r in caplog.records)
    assert not [line for line in lines if SECRET in line]
    assert "**********" in caplog.text


def test_waits_are_logged_with_what_and_how_long(
    platform: Platform, caplog: pytest.LogCaptureFixture
) -> None:
    """A governor wait of seconds is an INFO line naming the platform, bucket and wait."""

    class Slow(NullGovernor):
        calls = 0

        def acquire(self, key: BucketKey, cost: int, policies: tuple[RatePolicy, ...]) -> float:
            self.calls += 1
            return 2.5 if self.calls == 1 else 0.0

    caplog.set_level(logging.INFO, logger="brandkit")
    with client(platform, governor=Slow()) as c:
        c.publish(Post(text="hello"), accounts())
    (line,) = [r.getMessage() for r in caplog.records if "waiting" in r.getMessage()]
    assert "parsingnet" in line and "2.50 s" in line and "'post'" in line


def test_backoff_is_full_jitter() -> None:
    """Backoff draws from [0, ceiling], the ceiling doubling up to max_backoff."""
    policy = RetryPolicy(initial=0.5, max_backoff=4.0)
    for attempt, ceiling in [(1, 0.5), (3, 2.0), (6, 4.0)]:
        draws = [policy.backoff(attempt) for _ in range(2000)]
        assert all(0.0 <= x <= ceiling for x in draws)
        assert min(draws) < 0.1 * ceiling and max(draws) > 0.9 * ceiling


def test_worker_keeps_a_refused_delivery_pending_until_the_reset(
    platform: Platform, tmp_path: Path
) -> None:
    """Through the outbox and worker: the governor's refusal leaves the row pending (never
    sending, never unknown), due again at the reset, and the account's next post waits too."""
    from datetime import timedelta

    from brandkit import Worker

    outbox = Outbox(tmp_path / "outbox.db")
    (account,) = accounts()
    first, second = (outbox.add(Post(text=t), account)[0] for t in ("one", "two"))
    c = client(platform, governor=RefusingGovernor(5000.0), outbox=outbox)
    now = datetime.now(UTC)
    with Worker(outbox, [account], client=c, clock=lambda: now) as worker:
        worker.run_once()
    assert platform.requests == []
    for d in (first, second):
        stored = outbox.get(d.id)
        assert stored is not None and stored.status is DeliveryStatus.PENDING
        assert "sending" not in [e.status for e in outbox.history(d.id)]
    assert outbox.due(now + timedelta(seconds=4000)) == []
    assert {d.id for d in outbox.due(now + timedelta(seconds=5001))} == {first.id, second.id}


def test_telegram_token_is_in_no_log_line_over_a_socket(caplog: pytest.LogCaptureFixture) -> None:
    """The real case: a bot token in every URL path. At DEBUG, brandkit's, httpx's and
    httpcore's loggers all write lines about the requests, and none holds the token."""
    from brandkit.testing.telegram import TelegramEmulator

    caplog.set_level(logging.DEBUG)
    emu = TelegramEmulator()
    with emu.serve():
        account = emu.account(chat="brandnews")
        token = account.secret("bot_token")
        assert token and token in str(httpx.URL(account.base_url).join(f"/bot{token}/getMe"))
        with Client(retry=FAST) as c:
            (d,) = c.publish(Post(text="hello channel"), account)
            c.delete(d)
    assert d.status is DeliveryStatus.DELETED
    names = {r.name.split(".")[0] for r in caplog.records}
    assert {"brandkit", "httpx", "httpcore"} <= names
    leaked = [f"{r.name}: {r.getMessage()}" for r in caplog.records if token in r.getMessage()]
    assert leaked == []
    assert token not in caplog.text


def test_an_outbox_refusal_changes_nothing_and_sends_nothing(platform: Platform) -> None:
    """When the outbox refuses the `sending` write (a lock held too long, another process
    owns the row), the request never leaves and the delivery keeps its stored state."""
    from brandkit import OutboxConflict
    from brandkit.delivery import Delivery

    class Locked:
        def __init__(self) -> None:
            self.saves: list[str] = []

        def save(self, delivery: Delivery) -> None:
            if delivery.status is DeliveryStatus.SENDING:
                raise OutboxConflict("the outbox file stayed locked past its timeout")
            self.saves.append(delivery.status.value)

    outbox = Locked()
    with client(platform, outbox=outbox) as c:
        first, second = c.publish(Post(text="hello"), accounts(n=2))
    assert platform.requests == []
    assert outbox.saves == ["pending", "pending"]
    for d in (first, second):
        assert isinstance(d.error, OutboxConflict)
        assert d.status is DeliveryStatus.PENDING and d.attempts == 0


def _deflated(size: int, wbits: int) -> bytes:
    """``size`` zero bytes compressed, made piece by piece (never all in memory)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
    block = bytes(1024 * 1024)
    out = [packer.compress(block) for _ in range(size // len(block))]
    return b"".join([*out, packer.flush()])


def test_a_gzip_bomb_never_costs_more_than_the_cap() -> None:
    """Over a socket, 256 MiB of zeros in 256 KB of gzip: stopped at the step's cap, with
    the memory of a few caps at most (httpx's own decoder inflates a whole chunk at once)."""
    import tracemalloc

    bomb = _deflated(256 * 1024 * 1024, 16 + zlib.MAX_WBITS)
    assert len(bomb) < 400 * 1024
    head = (
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-encoding: gzip\r\n"
        b"content-length: " + str(len(bomb)).encode() + b"\r\n\r\n"
    )
    ParsingAdapter.can_find = False
    try:
        with _raw_server(head + bomb) as url:
            account = Account("parsingnet", name="bomb", base_url=url, secrets={"token": SECRET})
            tracemalloc.start()
            with Client(governor=NullGovernor(), retry=FAST) as c:
                (d,) = c.publish(Post(text="hello"), account)
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
    finally:
        ParsingAdapter.can_find = True
    assert isinstance(d.error, MalformedResponse) and "larger than" in str(d.error)
    assert d.status is DeliveryStatus.UNKNOWN
    assert peak < 8 * 1024 * 1024  # the step's cap is 64 KiB


def _raw_server(answer: bytes) -> AbstractContextManager[str]:
    """A server on 127.0.0.1 that answers every request with ``answer`` as it is."""
    return _serving(lambda conn, _stop: conn.sendall(answer))


@pytest.mark.parametrize(
    ("encoding", "wbits"),
    [("gzip", 16 + zlib.MAX_WBITS), ("deflate", zlib.MAX_WBITS), ("deflate", -zlib.MAX_WBITS)],
    ids=["gzip", "zlib-deflate", "raw-deflate"],
)
def test_compressed_answers_are_read(encoding: str, wbits: int) -> None:
    """Ordinary compressed answers (brandkit asks for gzip and deflate) read as JSON."""
    packer = zlib.compressobj(6, zlib.DEFLATED, wbits)
    body = packer.compress(b'{"id": "77"}') + packer.flush()
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=body, headers={"content-encoding": encoding})

    http = httpx.Client(transport=httpx.MockTransport(handler))
    with Client(http=http, governor=NullGovernor(), retry=FAST) as c:
        (d,) = c.publish(Post(text="hello"), accounts())
    assert d.status is DeliveryStatus.SENT and d.ids == ["77"], d.error
    assert seen[0].headers["accept-encoding"] == "gzip, deflate"


def test_token_refreshes_are_logged_and_old_tokens_stay_redacted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An expired X token: the refresh says why (INFO, brandkit.platforms._oauth) and what
    changed (names only, brandkit.accounts); the replaced token is still redacted in every
    line, the new one too."""
    from datetime import timedelta

    from brandkit.testing.x import XEmulator

    caplog.set_level(logging.DEBUG)
    emu = XEmulator()
    with emu.serve():
        account = emu.account(name="brand")
        old = account.secret("user_token")
        assert old
        emu.clock.advance(timedelta(hours=2, seconds=1))
        with Client(retry=FAST) as c:
            (d,) = c.publish(Post(text="still here"), account)
    new = account.secret("user_token")
    assert d.status is DeliveryStatus.SENT and new and new != old
    lines = {(r.name, r.getMessage()) for r in caplog.records}
    assert (
        "brandkit.accounts",
        "x:brand: credentials refreshed (refresh_token, user_token)",
    ) in lines
    assert any(n == "brandkit.platforms._oauth" and "refreshing" in m for n, m in lines)
    assert account.redact(f"a {old} b {new}") == "a ********** b **********"
    assert not [m for _, m in lines if old in m or new in m]


# -- found in review: each failed before the fix ------------------------------------------------


class _PrepAdapter(FakeAdapter):
    """The fake platform with a request in prepare (like reading an instance's limits)."""

    name: ClassVar[str] = "prepnet"

    def prepare(self) -> Flow[Any]:
        yield Send(
            httpx.Request("GET", self._url("/instance"), headers=self._headers()),
            idempotent=True,
        )
        return self.capabilities


register("prepnet", _PrepAdapter, replace=True)


def test_a_create_in_doubt_is_looked_up_even_after_an_outage_in_prepare() -> None:
    """A create answered 503 (it was stored), its repeat 503 too: the next attempt must look
    first. An attempt that then fails in prepare (nothing sent) keeps that; the one after
    looks, finds the post, and sends nothing."""

    class Server(FakeServer):
        down = False

        def handler(self, request: httpx.Request) -> httpx.Response:
            if request.url.path == "/instance":
                if self.down:
                    raise httpx.ConnectError("connection refused", request=request)
                return httpx.Response(200, json={})
            return super().handler(request)

    server = Server()
    server.script = ["store-503", 503]
    server.hidden_lookups = 1
    account = Account(
        "prepnet", name="b", base_url="https://fake.example", secrets={"token": SECRET}
    )

    def make() -> Client:
        http = httpx.Client(transport=httpx.MockTransport(server.handler))
        return Client(http=http, governor=NullGovernor(), retry=FAST, sleep=lambda _s: None)

    with make() as c:
        (d,) = c.publish(Post(text="hello"), account)
    assert d.status is DeliveryStatus.FAILED and d.look_first and len(server.posts) == 1
    server.down = True
    with make() as c:
        c.deliver(d, account)
    assert d.status is DeliveryStatus.PENDING and d.look_first  # not now, and still in doubt
    server.down = False
    before = len(server.requests)
    with make() as c:
        c.deliver(d, account)
    assert d.status is DeliveryStatus.SENT and len(server.posts) == 1
    lookups = [r for r in server.requests[before:] if r.url.path == "/posts"]
    assert [r.method for r in lookups] == ["GET"]  # one lookup, no create


def test_the_governor_failing_to_record_an_answer_does_not_undo_it() -> None:
    """observe() raising (its file stayed locked) is logged; the create's answer stands."""
    from brandkit import BrandkitError

    class Locked(NullGovernor):
        def observe(self, key: BucketKey, response: httpx.Response) -> float | None:
            raise BrandkitError("governor state failed: database is locked")

    server = FakeServer()
    with client(server, governor=Locked()) as c:  # type: ignore[arg-type]
        (d,) = c.publish(Post(text="hello"), accounts("fakenet"))
    assert d.status is DeliveryStatus.SENT and len(server.posts) == 1


def test_brandkits_own_failure_during_a_lookup_leaves_the_delivery_unknown() -> None:
    """A dropped create, then a lookup that fails inside brandkit (not a platform answer):
    unknown, not failed, so the next attempt looks again instead of posting twice."""
    from brandkit import BrandkitError

    class LookupsFail(NullGovernor):
        on = True

        def acquire(self, key: BucketKey, cost: int, policies: tuple[RatePolicy, ...]) -> float:
            if self.on and key.bucket == "default":
                raise BrandkitError("governor state failed: database is locked")
            return 0.0

    server = FakeServer()
    server.script = ["drop-after"]
    governor = LookupsFail()
    (account,) = accounts("fakenet")
    with client(server, governor=governor) as c:  # type: ignore[arg-type]
        (d,) = c.publish(Post(text="hello"), account)
        assert d.status is DeliveryStatus.UNKNOWN
        governor.on = False
        c.deliver(d, account)
    assert d.status is DeliveryStatus.SENT and len(server.posts) == 1


def test_a_secret_echoed_before_a_lookup_is_never_stored(tmp_path: Path) -> None:
    """A 504 that echoes the token on a platform without lookup: unknown, and neither the
    delivery nor the outbox file holds the token."""
    platform = Platform()
    platform.answer = httpx.Response(504, json={"error": f"gateway timeout for {SECRET}"})
    outbox = Outbox(tmp_path / "outbox.db")
    ParsingAdapter.can_find = False
    try:
        with client(platform, outbox=outbox) as c:
            (d,) = c.publish(Post(text="hello"), accounts())
    finally:
        ParsingAdapter.can_find = True
    assert d.status is DeliveryStatus.UNKNOWN
    assert SECRET not in str(d.error) and SECRET not in str(vars(d.error))
    outbox.close()
    for name in ("outbox.db", "outbox.db-wal"):
        path = tmp_path / name
        assert not path.exists() or SECRET.encode() not in path.read_bytes()


@pytest.mark.parametrize("driver", ["sync", "async"])
def test_a_server_trickling_its_headers_meets_the_deadline(driver: str) -> None:
    """Headers one byte every 0.1 s: each read is quick, the answer never starts. Both
    clients give up at the overall deadline (the synchronous one through its own sockets)."""
    head = b"HTTP/1.1 200 OK\r\nx-slow: " + b"a" * 10_000

    async def publish_async(account: Account) -> list[Any]:
        async with AsyncClient(governor=NullGovernor(), retry=FAST, timeout=5, deadline=1.0) as c:
            return await c.publish(Post(text="hello"), account)

    ParsingAdapter.can_find = False
    started = time.monotonic()
    try:
        with _serving(lambda conn, stop: _trickle(conn, stop, b"", head)) as url:
            account = Account(
                "parsingnet", name="slowhead", base_url=url, secrets={"token": SECRET}
            )
            if driver == "sync":
                with Client(governor=NullGovernor(), retry=FAST, timeout=5, deadline=1.0) as c:
                    (d,) = c.publish(Post(text="hello"), account)
            else:
                (d,) = asyncio.run(publish_async(account))
    finally:
        ParsingAdapter.can_find = True
    assert time.monotonic() - started < 4.0
    assert d.status is DeliveryStatus.UNKNOWN and "deadline" in str(d.error)
