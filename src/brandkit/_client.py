"""The two drivers, [`Client`][brandkit.Client] and `AsyncClient`, and the core they share.

Everything that decides (thread orchestration, reconciliation, retry and pacing decisions,
error mapping, redaction) lives in `_Core` and in flows, and is written once. The two
drivers differ only in how they send a request and how they sleep.
"""

from __future__ import annotations

import asyncio
import collections
import importlib
import logging
import math
import os
import random
import ssl
import threading
import time
import traceback
import uuid
import weakref
import zlib
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import attrs
import httpcore
import httpx
import tenacity

from brandkit import _logging
from brandkit._durations import backoff, checked_seconds
from brandkit._flow import CoreFlow, Flow, Recall, Save, Send, Wait, recall
from brandkit._hooks import BucketKey, GovernorProtocol, NullGovernor, OutboxProtocol
from brandkit._pool import adopt
from brandkit._terminal import escaped
from brandkit._tls import shared_context
from brandkit.accounts import Account
from brandkit.content._article import Article
from brandkit.content._model import Post, _in_utc, check_answer
from brandkit.content._render import Rendered, RenderedPart, render
from brandkit.delivery import Content, Delivery, DeliveryStatus, new_tid, send_at, tid_time
from brandkit.errors import (
    BrandkitError,
    CollectIncomplete,
    ConfigurationError,
    ContentError,
    MalformedResponse,
    OutboxConflict,
    PlatformError,
    PlatformUnavailable,
    RateLimited,
    TransportError,
)
from brandkit.inbox._model import InboxPage, Message
from brandkit.listening._query import Query, SearchPage
from brandkit.platforms import adapter_class
from brandkit.platforms._base import Adapter, Capabilities, PartRef, ThreadContext, retry_after_of

if TYPE_CHECKING:
    from brandkit.campaign import Campaign
    from brandkit.metrics._collector import Batch
    from brandkit.metrics._sample import MetricSample

    # A metrics batch that failed: its adapter, the batch and why.
    _Failed = tuple[Adapter, Batch, PlatformError]

__all__ = ["AsyncClient", "Client", "RetryPolicy"]

T = TypeVar("T")
logger = logging.getLogger(__name__)

_WAITED = httpx.Response(204)
_HTTPX_LOG = logging.getLogger("httpx")
_FINISHED = (DeliveryStatus.SENT, DeliveryStatus.CANCELLED, DeliveryStatus.DELETED)


@attrs.frozen
class ArticleRendered(Rendered):
    """An article as a blog adapter gets it: one part (the article), the blog's capabilities.

    ``post`` holds a stand-in post with the article's title (for code that reads a rendered
    post's text); ``article`` is the article itself.
    """

    article: Article | None = None


def is_blog(adapter: type[Adapter] | Adapter) -> bool:
    """The adapter publishes articles (WordPress, Ghost, dev.to), not posts."""
    from brandkit.platforms._base import BlogAdapter

    cls = adapter if isinstance(adapter, type) else type(adapter)
    return issubclass(cls, BlogAdapter)


def check_content(content: Content, accounts: Sequence[Account]) -> None:
    """Refuse an article for a social account or a post for a blog account, before any
    delivery is made. A platform that cannot be loaded is left to the delivery (its error is
    kept there, as for any other account trouble).

    Raises:
        ContentError: the content does not go to that kind of account (the message says
            what to publish instead), or a post is scheduled for a time that has no UTC
            equivalent (the outbox keeps its times in UTC).
    """
    when = send_at(content)
    if when is not None:
        # `Post` checks this when made; a copy made with model_copy(update=) is not.
        _in_utc(when, "scheduled_at")
    for account in accounts:
        try:
            cls = adapter_class(account.platform)
        except ConfigurationError:
            continue
        if isinstance(content, Article) and not is_blog(cls):
            raise ContentError(
                f"{account.key} takes posts, not articles: publish the article to a blog "
                "account, then announce it with a Post (link=Link(url=delivery.url)) or a "
                "Campaign",
                field="post",
                platform=account.platform,
            )
        if isinstance(content, Post) and is_blog(cls):
            raise ContentError(
                f"{account.key} is a blog: publish a brandkit.Article (title=, body=) to it, "
                "not a Post",
                field="post",
                platform=account.platform,
            )


@attrs.frozen
class RetryPolicy:
    """How hard the drivers try.

    Attributes:
        attempts: the most attempts of one request (the first included).
        initial: the first backoff in seconds; it doubles each time, with full jitter.
        max_backoff: the longest backoff between two attempts.
        max_wait: the longest brandkit waits for a rate limit to reset before it gives up
            and raises [`RateLimited`][brandkit.errors.RateLimited] (the delivery keeps its place).
        settle: after a create timed out (or its connection broke, or a gateway timed out)
            and a first lookup found nothing, how long to wait before looking again, and
            only then to send anew: the first request may still be running on the platform.

    Raises:
        ConfigurationError: ``attempts`` is not a whole number of at least 1, or a time is
            negative or not a number.
    """

    attempts: int = 5
    initial: float = 0.5
    max_backoff: float = 30.0
    max_wait: float = 900.0
    settle: float = 10.0

    def __attrs_post_init__(self) -> None:
        attempts = self.attempts
        if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
            raise ConfigurationError(
                f"RetryPolicy(attempts=...) must be a whole number of at least 1 (1: no "
                f"repeat), not {attempts!r}"
            )
        for name in ("initial", "max_backoff", "max_wait", "settle"):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or math.isnan(value)
                or value < 0
                or (name != "max_wait" and math.isinf(value))
            ):
                raise ConfigurationError(
                    f"RetryPolicy({name}=...) must be a number of seconds, 0 or more, not {value!r}"
                )

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter for attempt ``attempt`` (1-based): a random
        wait between 0 and ``min(max_backoff, initial * 2 ** (attempt - 1))``, so that
        clients that failed together do not retry together."""
        ceiling = backoff(self.initial, attempt - 1, self.max_backoff)
        return random.uniform(0.0, ceiling)


MAX_DEADLINE = 86_400.0
"""The longest ``deadline`` a client takes (seconds): one request may take a day at most."""


class _Again(Exception):
    """Internal: the request should be repeated after ``after`` seconds (None: backoff)."""

    def __init__(self, after: float | None, final: httpx.Response | BrandkitError) -> None:
        super().__init__("retry")
        self.after = after
        self.final = final


# Failures after which the request cannot have reached the server.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


def _never_sent(exc: BaseException) -> bool:
    """Whether ``exc``, raised by a driver's ``_exchange``, says its request never reached
    the server: `_Core.after_error` raises its `TransportError` (or `_Again`) while the httpx
    error is being handled, so that error is its context, one of `_NOT_SENT`."""
    return isinstance(exc, TransportError | _Again) and isinstance(exc.__context__, _NOT_SENT)


class _TooLarge(Exception):
    """Internal: an answer grew past the step's ``max_bytes``."""


class _Deadline(httpx.TimeoutException):
    """Internal: a request outlived the driver's overall deadline (a server trickling bytes
    keeps every single read under the read timeout)."""


_SYNC_DEADLINE = threading.local()
"""When the request the synchronous driver is sending on this thread must be done
(``time.monotonic()``), for the sockets of the client brandkit makes itself."""


def _left(
    timeout: float | None, expired: type[httpcore.TimeoutException] = httpcore.ReadTimeout
) -> float | None:
    """A socket operation's timeout, cut to what is left of the overall deadline.

    Raises:
        expired: the deadline has passed: a ``ConnectTimeout`` while connecting (nothing of
            the request was sent, so it may be sent again), a ``WriteTimeout`` or
            ``ReadTimeout`` once it may have been.
    """
    end: float | None = getattr(_SYNC_DEADLINE, "at", None)
    if end is None:
        return timeout
    left = end - time.monotonic()
    if left <= 0:
        raise expired("the request took longer than the overall deadline")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A socket whose every read and write ends by the overall deadline, so that a server
    trickling its headers cannot hold the synchronous driver (httpx bounds single reads
    only; AsyncClient has asyncio.timeout)."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _left(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        return _DeadlineStream(
            self._stream.start_tls(
                ssl_context, server_hostname, _left(timeout, httpcore.ConnectTimeout)
            )
        )

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's socket backend, its streams wrapped in `_DeadlineStream`."""

    def __init__(self, backend: httpcore.NetworkBackend) -> None:
        self._backend = backend

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._backend.connect_tcp(
            host, port, _left(timeout, httpcore.ConnectTimeout), local_address, socket_options
        )
        return _DeadlineStream(stream)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        return _DeadlineStream(
            self._backend.connect_unix_socket(
                path, _left(timeout, httpcore.ConnectTimeout), socket_options
            )
        )

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


def _deadline_client(timeout: float) -> tuple[httpx.Client, httpx.HTTPTransport]:
    """The ``httpx.Client`` the synchronous driver makes for itself, and the transport it
    sends through (see `_direct`). Its sockets keep the overall deadline. httpx has no
    setting for a network backend, so the pool's is wrapped; where a later httpx lays its
    pool out otherwise, the deadline holds from the answer's first byte on, as it does for a
    client the caller passes. Its pool's bookkeeping is linear (`brandkit._pool`). As with
    any client given a transport, httpx reads no proxy from the environment: pass
    ``http=httpx.Client(proxy=...)`` to use one."""
    transport = httpx.HTTPTransport(verify=shared_context())
    pool = getattr(transport, "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if isinstance(backend, httpcore.NetworkBackend):
        pool._network_backend = _DeadlineBackend(backend)  # type: ignore[union-attr]
    adopt(pool)
    client = httpx.Client(transport=transport, timeout=timeout, follow_redirects=False)
    return client, transport


def _require_open(http: httpx.Client | httpx.AsyncClient, own: bool, kind: str) -> None:
    """Raise `ConfigurationError` when ``http`` is closed: a request would only fail, and a
    delivery would carry httpx's message for it instead of what to do."""
    if http.is_closed:
        raise ConfigurationError(
            f"this {kind} is closed (close() was called or its with block ended): make a new "
            f"{kind}; nothing was sent"
            if own
            else f"the httpx client given to this {kind} as http= is closed: pass an open "
            "one; nothing was sent"
        )


def _own_async_client(timeout: float) -> tuple[httpx.AsyncClient, httpx.AsyncHTTPTransport]:
    """The ``httpx.AsyncClient`` that `AsyncClient` makes for itself, its sockets on
    asyncio's transports (`brandkit._asyncnet`: a quarter less CPU per request than
    anyio's), and the transport it sends through, as `_deadline_client`. httpx has no
    setting for the backend; where a later httpx lays its pool out otherwise, the client
    keeps httpx's own. Its pool's bookkeeping is linear (`brandkit._pool`)."""
    from brandkit._asyncnet import AsyncioBackend

    transport = httpx.AsyncHTTPTransport(verify=shared_context())
    pool = getattr(transport, "_pool", None)
    if isinstance(getattr(pool, "_network_backend", None), httpcore.AsyncNetworkBackend):
        pool._network_backend = AsyncioBackend()  # type: ignore[union-attr]
    adopt(pool)
    client = httpx.AsyncClient(transport=transport, timeout=timeout, follow_redirects=False)
    return client, transport


def _direct(request: httpx.Request, timeouts: dict[str, float | None]) -> None:
    """Ready ``request`` for the transport of brandkit's own client as ``httpx.Client.send``
    would: the client's timeouts, unless the request has its own.

    brandkit's own client sends straight through its transport: of what
    ``httpx.Client.send`` adds, brandkit uses nothing (its adapters sign each request, it
    never follows a redirect, it has no event hooks, and it never sent cookies back: an API
    token needs none), and those layers cost a fifth of a request's CPU on loopback. A
    closed client still goes through ``send``, which refuses."""
    if "timeout" not in request.extensions:
        request.extensions["timeout"] = timeouts


def _answered(request: httpx.Request, response: httpx.Response, started: float) -> None:
    """What ``httpx.Client`` does with a response it returns: set its request and, once
    read, its time, and log it on the ``httpx`` logger at INFO (users watch those lines;
    brandkit's redacting filter sits on that logger)."""
    response.request = request
    response.elapsed = timedelta(seconds=time.perf_counter() - started)
    if _HTTPX_LOG.isEnabledFor(logging.INFO):
        _HTTPX_LOG.info(
            'HTTP Request: %s %s "%s %d %s"',
            request.method,
            request.url,
            response.http_version,
            response.status_code,
            response.reason_phrase,
        )


class _BodyReader:
    """Reads an answer's raw bytes into its body, inflating ``gzip`` and ``deflate`` itself
    so that no step ever holds more than ``step.max_bytes`` (httpx's own decoder inflates a
    whole chunk at once: 200 KB of gzip can become 200 MB in one call)."""

    def __init__(self, step: Send, response: httpx.Response, deadline: float) -> None:
        self.step = step
        self.deadline = deadline
        self.out = bytearray()
        encoding = response.headers.get("content-encoding", "").strip().lower()
        self.inflater: Any = None
        self.deflate = encoding == "deflate"
        self.fell_back = False
        if encoding in ("gzip", "x-gzip"):
            self.inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif self.deflate:
            self.inflater = zlib.decompressobj()
        elif encoding not in ("", "identity"):
            # brandkit asks for gzip or deflate only (see _Core.request_for).
            raise httpx.DecodingError(f"unsupported content-encoding {encoding!r}")
        _Core.check_read(step, 0, deadline)

    def take(self, content: bytes) -> None:
        """The whole body, already inflated by httpx (an answer made in memory)."""
        self.inflater = None
        self.out += content
        _Core.check_read(self.step, len(self.out), self.deadline)

    def feed(self, chunk: bytes) -> None:
        if self.inflater is None:
            self.out += chunk
        else:
            try:
                self._inflate(chunk)
            except zlib.error as exc:
                if not (self.deflate and not self.fell_back and not self.out):
                    raise httpx.DecodingError(f"the answer could not be inflated: {exc}") from None
                # "deflate" is often sent as raw deflate, without the zlib wrapper.
                self.fell_back = True
                self.inflater = zlib.decompressobj(-zlib.MAX_WBITS)
                self.feed(chunk)
                return
        _Core.check_read(self.step, len(self.out), self.deadline)

    def _inflate(self, data: bytes) -> None:
        limit = self.step.max_bytes
        while data and len(self.out) <= limit:
            self.out += self.inflater.decompress(data, limit + 1 - len(self.out))
            data = self.inflater.unconsumed_tail

    def body(self) -> bytes:
        if self.inflater is not None:
            try:
                self.out += self.inflater.flush()
            except zlib.error as exc:
                raise httpx.DecodingError(f"the answer could not be inflated: {exc}") from None
            if len(self.out) > self.step.max_bytes:
                raise _TooLarge(self.step.max_bytes)
        return bytes(self.out)


class _Attempt:
    """What one attempt at a delivery has done so far, seen from the driver.

    A delivery becomes ``sending`` only when its first request is about to leave: a wait for
    the rate-limit budget, a login or a refusal by the governor before that leaves it as it
    was. ``create_sent`` says whether the current part's create left the machine, so that an
    answer brandkit cannot read is taken as "it may exist", never as "it failed".
    """

    def __init__(self, core: _Core, delivery: Delivery) -> None:
        self.core = core
        self.delivery = delivery
        self.armed = False
        self.started = False
        self.create_sent = False
        # How many create requests of the current part may have left the machine: each
        # one about to leave counts, and one whose connection was refused (nothing left)
        # is taken off again. Zero with ``create_sent``: every create was refused.
        self.creates_left = 0
        # A create of the current part, earlier in this attempt, may have landed (its answer
        # was lost, or a 5xx), though a lookup found nothing before it was sent anew.
        self.doubt = False
        # The delivery's progress as last written by this attempt: one the adapter changed
        # since is written before the next request leaves.
        self.stored_progress: dict[str, str] = dict(delivery.progress)

    def new_create(self, *, doubt: bool = False) -> None:
        """The part's create is about to be sent (anew): forget the requests before it;
        ``doubt`` says whether a create sent before it may still have landed."""
        self.create_sent = False
        self.creates_left = 0
        self.doubt = doubt

    def before_send(self, step: Send) -> None:
        """Called by the synchronous driver when ``step``'s request is about to leave."""
        if not self.armed:
            return
        self.start()
        if self.delivery.progress != self.stored_progress:
            self.core.save(self.delivery)
            self.stored_progress = dict(self.delivery.progress)
        if step.creates:
            self.create_sent = True
            self.creates_left += 1

    async def abefore_send(self, step: Send, save: Callable[[Delivery], Awaitable[None]]) -> None:
        """`before_send` for the asynchronous driver, whose ``save`` writes off its loop."""
        if not self.armed:
            return
        if not self.started:
            before = self._mark()
            try:
                await save(self.delivery)
            except BaseException:
                self._restore(before)
                raise
            self.started = True
            self.stored_progress = dict(self.delivery.progress)
        if self.delivery.progress != self.stored_progress:
            await save(self.delivery)
            self.stored_progress = dict(self.delivery.progress)
        if step.creates:
            self.create_sent = True
            self.creates_left += 1

    def not_sent(self, step: Send, exc: BaseException) -> None:
        """Called by the drivers when ``step``'s request failed: one that never left the
        machine (its connection refused) is no create that may have landed."""
        if self.armed and step.creates and isinstance(exc, _NOT_SENT) and self.creates_left:
            self.creates_left -= 1

    def start(self) -> None:
        if self.started:
            return
        before = self._mark()
        try:
            self.core.save(self.delivery)
        except BaseException:
            self._restore(before)
            raise
        self.started = True
        self.stored_progress = dict(self.delivery.progress)

    def starting(self) -> CoreFlow[None]:
        """`start` as steps of the flow, for a flow run without a driver's hook."""
        if self.started:
            return
        before = self._mark()
        try:
            yield from self.core.saved(self.delivery)
        except BaseException:
            self._restore(before)
            raise
        self.started = True
        self.stored_progress = dict(self.delivery.progress)

    def _mark(self) -> tuple[DeliveryStatus, int, BrandkitError | None]:
        """Make the copy ``sending`` (one attempt more); returns what to restore."""
        delivery = self.delivery
        before = (delivery.status, delivery.attempts, delivery.error)
        delivery.status = DeliveryStatus.SENDING
        delivery.attempts += 1
        delivery.error = None
        return before

    def _restore(self, before: tuple[DeliveryStatus, int, BrandkitError | None]) -> None:
        # Refused by the outbox: nothing leaves, and the copy says what is stored.
        delivery = self.delivery
        delivery.status, delivery.attempts, delivery.error = before


def _aware(clock: Callable[[], datetime]) -> Callable[[], datetime]:
    """``clock`` giving aware times: a naive one (``clock=datetime.now``, a common slip) is
    read as local time, as the inbox reads one; stored as it was, it made every later
    comparison with an aware time raise TypeError (an answer sent, then the reply marked
    as failed).

    The returned clock raises ConfigurationError when ``clock`` returns no datetime."""

    def now() -> datetime:
        value = clock()
        if not isinstance(value, datetime):
            raise ConfigurationError(
                f"the client's clock returned {type(value).__name__}, not a datetime: give "
                "a clock that returns aware datetimes, e.g. lambda: datetime.now(UTC)"
            )
        return value if value.tzinfo is not None else value.astimezone(UTC)

    return now


# How many recorded part ids a client keeps per account for its read-backs (`_Core.made`),
# and how far before a part's key the outbox is asked for other deliveries' (a twin a
# read-back could match was made since its window began, and its delivery written since).
_MADE_KEPT = 1000
_RECALL_BACK = timedelta(days=1)


class _Core:
    """The I/O-free part of the drivers."""

    def __init__(
        self,
        *,
        governor: GovernorProtocol | None,
        outbox: OutboxProtocol | None,
        retry: RetryPolicy | None,
        clock: Callable[[], datetime] | None,
        accounts: Iterable[Account],
        user_agent: str | None = None,
        deadline: float = 300.0,
        timeout: float = 30.0,
    ) -> None:
        # A request must end: infinity let a server trickling bytes hold one for ever.
        deadline = checked_seconds(
            deadline,
            name="deadline",
            most=MAX_DEADLINE,
            why="the longest one request may take, from its send to its last byte, e.g. 300",
        )
        if (
            isinstance(timeout, bool)
            or not isinstance(timeout, int | float)
            or not math.isfinite(timeout)
            or timeout <= 0
        ):
            # nan or inf would send every request without a read timeout (httpx takes them);
            # a negative one failed every request as timed out.
            raise ConfigurationError(
                f"timeout must be a positive number of seconds (each read's limit, e.g. "
                f"30.0), not {timeout!r}"
            )
        _check_hooks(outbox, retry, governor)
        self.outbox = outbox
        self.retry = retry or RetryPolicy()
        self.clock = _aware(clock) if clock is not None else (lambda: datetime.now(UTC))
        # A clock the user gave (a simulated one, a test's) is the time of everything this
        # client does; else the outbox's, where it keeps one every host shares (outbox_now).
        self.clock_given = clock is not None
        self.governor: GovernorProtocol = (
            governor if governor is not None else _default_governor(self.clock if clock else None)
        )
        if user_agent is not None and not (
            isinstance(user_agent, str)
            and user_agent.strip()
            and user_agent.isascii()
            and user_agent.isprintable()
        ):
            # It goes into every request's header: a line break or a letter beyond ASCII
            # failed every delivery at its first request instead.
            raise ConfigurationError(
                f"user_agent must be printable ASCII text, e.g. 'acme-bot/2.1', not "
                f"{user_agent!r:.80}"
            )
        self.user_agent = user_agent or f"brandkit/{_version()}"
        self.deadline = deadline
        # One adapter per account key, the latest Account object's: a long-lived client
        # given fresh objects (a service loading its accounts per request) kept one each.
        self._adapters: dict[str, Adapter] = {}
        # Weakly keyed by the adapter itself: an id() could be reused by a later adapter.
        self._capabilities: weakref.WeakKeyDictionary[Adapter, Capabilities] = (
            weakref.WeakKeyDictionary()
        )
        self._bucket_keys: weakref.WeakKeyDictionary[Adapter, dict[str, BucketKey]] = (
            weakref.WeakKeyDictionary()
        )
        self.accounts: dict[str, Account] = {}
        self.answers: dict[str, Delivery] = {}
        # The ids of the parts this client recorded, per account key, newest last: a
        # read-back never takes one of them for another delivery's part (`_taken`).
        self.made: collections.defaultdict[str, collections.deque[str]] = collections.defaultdict(
            lambda: collections.deque(maxlen=_MADE_KEPT)
        )
        if accounts != ():
            from brandkit.outbox._store import _accounts_given  # it imports this module

            accounts = _accounts_given(accounts)
        for account in accounts:
            self.remember(account)

    # -- accounts and adapters -------------------------------------------------------------

    def remember(self, account: Account) -> None:
        self.accounts[account.key] = account
        _logging.watch(account)

    def adapter_for(self, account: Account) -> Adapter:
        adapter = self._adapters.get(account.key)
        if adapter is None or adapter.account is not account:
            adapter = adapter_class(account.platform)(account)
            self._adapters[account.key] = adapter
            self.remember(account)
        return adapter

    def account_for(self, delivery: Delivery, account: Account | None) -> Account:
        if account is not None:
            return account
        found = self.accounts.get(delivery.account)
        if found is None:
            raise ConfigurationError(
                f"no account {delivery.account!r} is known to this client: pass account= or "
                "build the client with accounts=[...]"
            )
        return found

    # -- steps -----------------------------------------------------------------------------

    def bucket_key(self, adapter: Adapter, step: Send) -> BucketKey:
        # Cached: building it parses the account's URL, and it is needed twice per request.
        # Weakly keyed by the adapter itself: an id() could be reused by a later adapter.
        keys = self._bucket_keys.get(adapter)
        if keys is None:
            keys = self._bucket_keys[adapter] = {}
        key = keys.get(step.bucket)
        if key is None:
            key = BucketKey(adapter.name, adapter.app_id, adapter.account.key, step.bucket)
            keys[step.bucket] = key
        return key

    def request_for(self, adapter: Adapter, step: Send, attempt: int) -> httpx.Request:
        """The request to send: a repeat is prepared anew by the adapter (a fresh OAuth 1.0a
        nonce, the current token). Every request says who sends it, as real clients do."""
        request = step.request if attempt == 1 else adapter.prepare_retry(step.request)
        if "user-agent" not in request.headers:
            request.headers["User-Agent"] = self.user_agent
        if "accept-encoding" not in request.headers:
            # Only what the drivers inflate themselves, within each step's size cap.
            request.headers["Accept-Encoding"] = "gzip, deflate"
        return request

    def wait_for_budget(self, adapter: Adapter, step: Send) -> float:
        """Seconds to wait before ``step`` may be sent (0: its budget is reserved)."""
        key = self.bucket_key(adapter, step)
        return self.budget_wait(
            adapter, step, self.governor.acquire(key, step.cost, adapter.rate_policies)
        )

    def budget_waited(self, adapter: Adapter, step: Send, waited: float, delay: float) -> float:
        """``waited`` plus ``delay``, the next wait for ``step``'s budget; raise when that is
        longer than the retry policy waits in all.

        Each wait is under ``max_wait``, but on a budget shared by many processes another
        may take each unit freed before this one asks again: without a total the caller
        waited again and again, without end.

        Raises:
            RateLimited: the waits would pass ``max_wait`` in all.
        """
        total = waited + delay
        if total > self.retry.max_wait:
            raise RateLimited(
                f"{adapter.name} rate limit {step.bucket!r}: waited {waited:.0f} s for its "
                f"budget (others sharing it took each unit freed), longer than max_wait "
                f"({self.retry.max_wait:.0f} s) with the next {delay:.1f} s",
                platform=adapter.name,
                retry_after=delay,
                reset_at=self.clock() + timedelta(seconds=delay),
                bucket=f"{adapter.name}:{step.bucket}",
            )
        return total

    def budget_wait(self, adapter: Adapter, step: Send, delay: float) -> float:
        """``delay``, the governor's answer for ``step``: raise when it is longer than the
        retry policy waits, log a long one."""
        if delay > self.retry.max_wait:
            raise RateLimited(
                f"{adapter.name} rate limit {step.bucket!r} resets in {delay:.0f} s, longer "
                f"than max_wait ({self.retry.max_wait:.0f} s)",
                platform=adapter.name,
                retry_after=delay,
                reset_at=self.clock() + timedelta(seconds=delay),
                bucket=f"{adapter.name}:{step.bucket}",
            )
        if delay > 0:
            # Pacing waits of a few milliseconds are routine; longer ones are worth a line.
            level = logging.INFO if delay >= 1.0 else logging.DEBUG
            if logger.isEnabledFor(level):
                logger.log(
                    level,
                    "%s %s: waiting %.2f s for rate limit %r before %s %s",
                    adapter.name,
                    adapter.account.key,
                    delay,
                    step.bucket,
                    step.request.method,
                    self.path_of(adapter, step),
                )
        return delay

    @staticmethod
    def path_of(adapter: Adapter, step: Send) -> str:
        """The request's URL without its query, secrets redacted (for messages and logs)."""
        return adapter.account.redact(str(step.request.url.copy_with(query=None)))

    @staticmethod
    def check_read(step: Send, size: int, deadline: float) -> None:
        if size > step.max_bytes:
            raise _TooLarge(step.max_bytes)
        if time.monotonic() > deadline:
            raise _Deadline("the answer took longer than the overall deadline")

    def too_large(self, adapter: Adapter, step: Send, response: httpx.Response) -> BrandkitError:
        return MalformedResponse(
            f"{adapter.name}: the answer to {step.request.method} {self.path_of(adapter, step)} "
            f"is larger than {step.max_bytes} bytes; brandkit stopped reading it",
            platform=adapter.name,
            status_code=response.status_code,
        )

    def transport_error(self, adapter: Adapter, step: Send, exc: httpx.HTTPError) -> TransportError:
        not_sent = isinstance(exc, _NOT_SENT)
        maybe = step.creates and not not_sent
        what = f"{step.request.method} {self.path_of(adapter, step)}"
        detail = adapter.account.redact(str(exc)) or type(exc).__name__
        if isinstance(exc, _Deadline):
            detail = f"no complete answer within the overall deadline of {self.deadline:g} s"
        suffix = " (it may have been delivered)" if maybe else ""
        return TransportError(
            f"{adapter.name}: {what} failed: {detail}{suffix}",
            platform=adapter.name,
            maybe_delivered=maybe,
        )

    def after_error(self, step: Send, err: TransportError, attempt: int) -> None:
        """Raise `_Again` if a failed send may be repeated, else the error."""
        repeatable = step.idempotent or not err.maybe_delivered
        if repeatable and attempt < self.retry.attempts:
            logger.info(
                "%s; trying again (attempt %d of %d)", err, attempt + 1, self.retry.attempts
            )
            raise _Again(None, err)
        raise err

    def after_response(
        self, adapter: Adapter, step: Send, response: httpx.Response, attempt: int
    ) -> httpx.Response:
        """Feed the governor; raise `_Again` when the response says: try again."""
        key = self.bucket_key(adapter, step)
        try:
            wait = self.governor.observe(key, response)
        except BrandkitError as exc:
            self.unobserved(adapter, exc)
            wait = None
        return self.judge(adapter, step, response, attempt, wait)

    def unanswered(self, adapter: Adapter, step: Send, unsent: bool = False) -> None:
        """Tell the governor that ``step``'s request, granted, got no answer (a transport
        error, a timeout, a cancellation), when it has ``unanswered`` (an optional part of
        `GovernorProtocol`): its senders stop waiting for that answer. ``unsent``: the
        request provably never reached the server, and the governor's ``unsent`` is called
        instead when it has one (its units may be given back). A failure is logged, never
        raised over the request's own error."""
        settle = getattr(self.governor, "unsent", None) if unsent else None
        if settle is None:
            settle = getattr(self.governor, "unanswered", None)
        if settle is None:
            return
        try:
            settle(self.bucket_key(adapter, step))
        except BrandkitError as exc:
            self.unsettled(adapter, exc)

    @staticmethod
    def unsettled(adapter: Adapter, exc: BrandkitError) -> None:
        # At worst the bucket's senders wait for the lost answer until it expires.
        logger.warning(
            "%s: the rate-limit state could not be told of a lost answer: %s", adapter.name, exc
        )

    @staticmethod
    def unobserved(adapter: Adapter, exc: BrandkitError) -> None:
        # What the answer says about the budget is advice; the answer itself stands.
        logger.warning("%s: the rate-limit state could not be updated: %s", adapter.name, exc)

    def judge(
        self,
        adapter: Adapter,
        step: Send,
        response: httpx.Response,
        attempt: int,
        wait: float | None,
    ) -> httpx.Response:
        """Raise `_Again` when ``response`` (and ``wait``, what the governor learnt from it)
        says: try again; else return it."""
        last = attempt >= self.retry.attempts
        limited = response.status_code == 429
        said = None
        if response.status_code >= 400:
            # Some platforms refuse for rate with another status (Meta: 400, code 17).
            error = adapter.error_for(response)
            if isinstance(error, RateLimited) and error.retry_after is not None:
                limited, said = True, error.retry_after
        if wait is not None or limited:
            # A rate-limit refusal means nothing was done: repeating is safe for any step.
            if said is not None:
                # The platform's own word on when to come back wins over the headers' budget:
                # X's usage cap answers 429 for a month while its 15-minute window has room,
                # Threads' daily search quota a 400 for a day.
                wait = said if wait is None else max(wait, said)
            after = wait if wait is not None else self.retry.backoff(attempt)
            if limited and after <= 0:
                # A refusal that says "now" (Retry-After: 0, or a date already past on a
                # clock behind ours) would send every attempt in the same instant: back off.
                after = self.retry.backoff(attempt)
            if after > self.retry.max_wait or last:
                return response
            logger.info(
                "%s %s %s answered %d: rate limited; trying again in %.1f s (attempt %d of %d)",
                adapter.name,
                step.request.method,
                self.path_of(adapter, step),
                response.status_code,
                after,
                attempt + 1,
                self.retry.attempts,
            )
            raise _Again(after, response)
        if response.status_code >= 500 and step.idempotent and not last:
            # A server that says when it will be back (maintenance, an upgrade) is not
            # asked again sooner; one back later than max_wait ends the repeats at once.
            down = retry_after_of(response)
            back = None if down is None else max(down, self.retry.backoff(attempt))
            if back is not None and back > self.retry.max_wait:
                return response
            logger.info(
                "%s %s %s answered %d; trying again%s (attempt %d of %d)",
                adapter.name,
                step.request.method,
                self.path_of(adapter, step),
                response.status_code,
                "" if back is None else f" in {back:.1f} s, as it said",
                attempt + 1,
                self.retry.attempts,
            )
            raise _Again(back, response)
        return response

    def delay_after(self, exc: BaseException | None, attempt: int) -> float:
        """How long to wait after failed ``attempt``: what the platform said, else backoff."""
        if isinstance(exc, _Again) and exc.after is not None:
            return exc.after
        return self.retry.backoff(attempt)

    def retrying(self) -> dict[str, Any]:
        """tenacity settings for the repeats after a failed first attempt (attempt numbers
        in ``RetryCallState`` are then one behind the request's own)."""
        return {
            "stop": tenacity.stop_after_attempt(self.retry.attempts - 1),
            "wait": lambda state: self.delay_after(
                state.outcome.exception() if state.outcome else None, state.attempt_number + 1
            ),
            "retry": tenacity.retry_if_exception_type(_Again),
            "reraise": True,
        }

    @staticmethod
    def give_up(failed: _Again) -> httpx.Response:
        """The last answer to hand to the flow, or the last error to raise."""
        if isinstance(failed.final, BrandkitError):
            raise failed.final from None
        return failed.final

    def log(self, adapter: Adapter, step: Send, response: httpx.Response, ms: float) -> None:
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s %s %s -> %d (%.0f ms)",
                adapter.name,
                step.request.method,
                self.path_of(adapter, step),
                response.status_code,
                ms,
            )

    # -- flows -----------------------------------------------------------------------------

    def stamp(self, delivery: Delivery) -> None:
        """Ready ``delivery`` for a write: its time, its error redacted."""
        delivery.updated_at = self.clock()
        account = self.accounts.get(delivery.account)
        if delivery.error is not None and account is not None:
            # Whatever is stored or shown is redacted: a server may echo a token back.
            delivery.error = _redacted(account, delivery.error)

    def save(self, delivery: Delivery) -> None:
        """Write ``delivery`` now (outside a flow: the synchronous driver's hooks)."""
        self.stamp(delivery)
        if self.outbox is not None:
            self.outbox.save(delivery)

    def saved(self, delivery: Delivery) -> CoreFlow[None]:
        """Write ``delivery``, as a step the driver performs (a refusal is raised here)."""
        self.stamp(delivery)
        if self.outbox is not None:
            yield Save(delivery, self.outbox)

    def write_first(self, deliveries: list[Delivery], first: bool) -> None:
        """Write ``deliveries`` as ``pending`` when ``first`` says so (see
        `make_deliveries`), all in one transaction where the outbox can."""
        outbox = self.outbox
        if outbox is None or not first:
            return
        many = getattr(outbox, "save_many", None)
        if many is None:
            for delivery in deliveries:
                outbox.save(delivery)
        else:
            many(deliveries)

    def make_deliveries(
        self, post: Content, accounts: Sequence[Account], later: bool
    ) -> tuple[list[Delivery], bool]:
        """One delivery of ``post`` per account, and whether `write_first` is to write
        them as ``pending`` before any attempt: only where that protects something: a post
        for later (the worker sends it), or a post for several accounts (should the process
        die after one, a worker sends the others). A post going out at once to one account
        is first written by the save that starts its attempt, before its first byte leaves
        (its history still begins with ``pending``).

        Raises:
            ContentError: an article for a social account or a post for a blog.
        """
        check_content(post, accounts)
        now = self.clock()
        deliveries = [
            Delivery(
                account=account.key,
                platform=account.platform,
                post=post,
                created_at=now,
                updated_at=now,
            )
            for account in accounts
        ]
        return deliveries, self.outbox is not None and (later or len(deliveries) > 1)

    def render_flow(
        self, adapter: Adapter, post: Post, reply_to: PartRef | None = None
    ) -> Flow[Rendered]:
        caps = self._capabilities.get(adapter)
        if caps is None:
            caps = yield from adapter.prepare()
            self._capabilities[adapter] = caps
        if reply_to is not None:
            caps = adapter.answer_capabilities(caps, reply_to)
        return render(post, adapter.name, capabilities=caps, reply=reply_to is not None)

    def article_flow(self, adapter: Adapter, article: Article) -> Flow[Rendered]:
        """``article`` as a one-part delivery for a blog adapter (no text rules: the blog
        takes the article whole).

        Raises:
            ContentError: ``adapter`` does not publish articles.
        """
        if not is_blog(adapter):
            raise ContentError(
                f"{adapter.account.key} takes posts, not articles: announce the article with "
                "a Post or a Campaign instead",
                field="post",
                platform=adapter.name,
            )
        caps = self._capabilities.get(adapter)
        if caps is None:
            caps = yield from adapter.prepare()
            self._capabilities[adapter] = caps
        media = (article.featured_image,) if article.featured_image is not None else ()
        part = RenderedPart(
            index=0, text=article.title, length=len(article.title), limit=0, media=media
        )
        stand_in = Post.model_construct(text=article.title, campaign=article.campaign)
        return ArticleRendered(
            platform=adapter.name,
            parts=(part,),
            post=stand_in,
            capabilities=caps,
            article=article,
        )

    def deliver_flow(
        self, adapter: Adapter, delivery: Delivery, attempt: _Attempt | None = None
    ) -> CoreFlow[Delivery]:
        """Publish (or resume) ``delivery``: every part, in order, exactly once.

        ``attempt`` is shared with the driver, which marks the delivery ``sending`` when its
        first request is about to leave (without one, it is marked before the first part).
        """
        if delivery.status in _FINISHED:
            return delivery
        tracker = attempt or _Attempt(self, delivery)
        before = delivery.status
        look_first = before is DeliveryStatus.UNKNOWN or delivery.look_first
        try:
            content = delivery.post
            if isinstance(content, Article):
                rendered = yield from self.article_flow(adapter, content)
            else:
                rendered = yield from self.render_flow(adapter, content, delivery.reply_to)
            caps = rendered.capabilities
            if not delivery.keys:
                delivery.keys = [new_tid() for _ in rendered.parts]
            elif len(delivery.keys) != len(rendered.parts):
                raise ContentError(
                    f"this post now renders as {len(rendered.parts)} parts on {adapter.name} "
                    f"but was started as {len(delivery.keys)}; cancel it and publish anew",
                    field="text",
                    platform=adapter.name,
                )
            # A create that last ended in a 5xx may have landed (Meta's 500 code 2 does):
            # the next attempt looks before it sends, like an unknown one.
            was_unknown = look_first
            tracker.armed = True
            if attempt is None:
                # Driven without a driver's hook (run_flow in tests): mark it now.
                yield from tracker.starting()
            for part in rendered.parts[len(delivery.parts) :]:
                ctx = ThreadContext(
                    key=delivery.keys[part.index],
                    previous=tuple(delivery.parts),
                    reply_to=delivery.reply_to,
                    progress=delivery.progress,
                )
                tracker.new_create()
                ref: PartRef | None = None
                if was_unknown:
                    ref = yield from self._find(adapter, rendered, part, ctx, delivery)
                    was_unknown = False
                    if delivery.status is DeliveryStatus.UNKNOWN:
                        return delivery
                if ref is None and adapter.adopts_duplicates:
                    # A create refused as a repeat names the post it repeats: this part's
                    # own after a lost answer, never one another delivery recorded.
                    ctx = attrs.evolve(ctx, taken=(yield from self._taken(delivery, ctx)))
                if ref is None:
                    try:
                        ref = yield from adapter.publish_part(rendered, part, ctx)
                    except (TransportError, PlatformUnavailable, MalformedResponse) as exc:
                        if isinstance(exc, TransportError) and not exc.maybe_delivered:
                            raise
                        if isinstance(exc, MalformedResponse) and not tracker.create_sent:
                            raise
                        # The create may have landed: look before doing anything else.
                        delivery.error = exc
                        # The outbox's history shows what is looked up.
                        yield from self.saved(delivery)
                        ref = yield from self._find(adapter, rendered, part, ctx, delivery)
                        if ref is None and isinstance(exc, MalformedResponse):
                            # The platform said yes in words brandkit cannot read: the post
                            # most likely exists even where a lookup does not show it yet.
                            return (yield from self._unknown(delivery, exc))
                        still_running = isinstance(exc, TransportError) or exc.status_code == 504
                        if (
                            ref is None
                            and still_running
                            # Where the platform dedupes creates, a repeat cannot duplicate.
                            and not caps.idempotent_create
                            and self.retry.settle > 0
                            and delivery.status is not DeliveryStatus.UNKNOWN
                        ):
                            # A lookup right after a timeout proves little: the first request
                            # may still be running on the platform. Give it time, look again.
                            yield Wait(self.retry.settle)
                            ref = yield from self._find(adapter, rendered, part, ctx, delivery)
                        if delivery.status is DeliveryStatus.UNKNOWN:
                            return delivery
                        if ref is None:
                            down = exc.retry_after if isinstance(exc, PlatformUnavailable) else None
                            if down is not None:
                                # The server said when it will be back: not sooner. Longer
                                # than max_wait, the delivery fails "not now" (looked up
                                # first next time) and the worker waits for it.
                                if down > self.retry.max_wait:
                                    raise exc
                                yield Wait(down)
                            tracker.new_create(doubt=True)
                            ref = yield from adapter.publish_part(rendered, part, ctx)
                if "posted_at" not in ref.extra:
                    # Analytics ("best time to post") needs when each part went out.
                    ref = attrs.evolve(
                        ref, extra={**ref.extra, "posted_at": self.clock().isoformat()}
                    )
                delivery.parts.append(ref)
                self.made[delivery.account].append(ref.id)
                delivery.error = None
                delivery.look_first = False
                # What the attempt left was this part's; the next part starts with nothing.
                delivery.progress = {}
                # The last part and "sent" are one state change: one save, one commit.
                done = len(delivery.parts) >= len(rendered.parts)
                if done:
                    delivery.status = DeliveryStatus.SENT
                try:
                    yield from self.saved(delivery)
                except BaseException:
                    if done:
                        delivery.status = DeliveryStatus.SENDING
                    raise
                tracker.stored_progress = {}
            if delivery.status is not DeliveryStatus.SENT:
                delivery.status = DeliveryStatus.SENT
                yield from self.saved(delivery)
            return delivery
        except BrandkitError as exc:
            if isinstance(exc, OutboxConflict):
                # The outbox refused the write (another process holds the row, or the file
                # stayed locked): what it stores is the truth, so nothing is changed here.
                raise
            delivery.error = exc
            if not tracker.started:
                # Nothing of this attempt left the machine: the delivery is where it was.
                # "Not now" keeps it waiting (the error says until when); a post that can
                # never go as it is fails; one whose create may have landed is still to be
                # looked up first.
                if before is DeliveryStatus.UNKNOWN:
                    delivery.status = DeliveryStatus.UNKNOWN
                elif _not_now(exc):
                    delivery.status = DeliveryStatus.PENDING
                else:
                    delivery.status = DeliveryStatus.FAILED
                delivery.look_first = look_first
            else:
                platform_said = isinstance(exc, PlatformError) and not isinstance(
                    exc, MalformedResponse | TransportError
                )
                # A request that could not have posted (a connection refused, or a read
                # that is no create) while no create of this part left: the part is known
                # not to be there from this attempt. It failed "not now" (a worker tries it
                # again); a create of an earlier attempt (or one sent earlier in this one)
                # that may have landed is still looked up first, as it would have been.
                absent = (
                    isinstance(exc, TransportError)
                    and not exc.maybe_delivered
                    and tracker.creates_left == 0
                )
                maybe = (isinstance(exc, TransportError) and exc.maybe_delivered) or (
                    # An answer brandkit cannot read, or a failure of brandkit's own (a
                    # governor file that stayed locked), after the create or a lookup left.
                    (tracker.create_sent or look_first) and not platform_said and not absent
                )
                delivery.status = DeliveryStatus.UNKNOWN if maybe else DeliveryStatus.FAILED
                # A 5xx to the create: it may have landed, so the next attempt looks first.
                delivery.look_first = (
                    tracker.create_sent and isinstance(exc, PlatformUnavailable)
                ) or (absent and (look_first or tracker.doubt))
            yield from self.saved(delivery)
            return delivery
        except Exception as exc:
            # A bug, not a platform answer. The delivery keeps the reason; one account's
            # failure never stops the others, so it is logged (redacted), not raised.
            trace = "".join(traceback.format_exception(exc))
            logger.error(
                "%s: delivery %s broke off\n%s",
                adapter.name,
                delivery.id,
                adapter.account.redact(trace),
            )
            delivery.error = BrandkitError(f"internal error: {type(exc).__name__}: {exc}")
            maybe = tracker.create_sent or look_first
            delivery.status = DeliveryStatus.UNKNOWN if maybe else DeliveryStatus.FAILED
            yield from self.saved(delivery)
            return delivery

    def broke_off(self, delivery: Delivery, error: BrandkitError) -> None:
        """Record why a delivery could not even be attempted; its stored state stays the
        truth (a delivery another process holds is that process's to finish)."""
        if not self.mark_broke_off(delivery, error):
            return
        try:
            self.save(delivery)
        except BrandkitError:
            logger.exception("delivery %s: its failure could not be saved", delivery.id)

    def mark_broke_off(self, delivery: Delivery, error: BrandkitError) -> bool:
        """`broke_off` before its write; returns whether the delivery is to be written."""
        # The error's words may be a platform's or a user's: escaped, they forge no line.
        logger.warning(
            "delivery %s to %s broke off: %s", delivery.id, delivery.account, escaped(str(error))
        )
        if delivery.status is not DeliveryStatus.PENDING or isinstance(error, OutboxConflict):
            if delivery.error is None:
                delivery.error = error
            return False
        delivery.error = error
        delivery.status = DeliveryStatus.FAILED
        return True

    @staticmethod
    def never_written(delivery: Delivery, error: BaseException, written_first: bool) -> bool:
        """Whether ``error`` (the attempt's) means the outbox never stored ``delivery``: it
        was not written before its attempt, and the first save of the attempt (the one that
        starts it, or the one that records that it could not start) was refused. Then
        nothing was sent either, and no worker knows the post."""
        return (
            not written_first
            and isinstance(error, OutboxConflict)
            and delivery.status is DeliveryStatus.PENDING
            and delivery.attempts == 0
            and not delivery.parts
        )

    def retry_at(self, delivery: Delivery) -> datetime | None:
        """When a delivery that failed "not now" may be tried again: a rate limit's reset,
        or the end of the outage a server announced, else as soon as a worker comes to it
        (``None``).

        On the outbox's clock when it keeps one every host shares (a PostgreSQL outbox
        opened without ``clock=``: the database server's), since the outbox judges the time
        by it: a host whose clock is off then neither makes the retry due early for the
        other workers nor holds it back. A rate limit's reset, stamped with this client's
        clock, is moved onto the outbox's by the offset between the two. A client given a
        clock of its own (``clock=``) keeps to it (`outbox_now`)."""
        err = delivery.error
        wait: float | None = None
        reset: datetime | None = None
        if isinstance(err, PlatformUnavailable):
            wait = err.retry_after
        elif isinstance(err, RateLimited):
            reset, wait = err.reset_at, err.retry_after
        if wait is None and reset is None:
            return None
        now = self.clock()
        there = self.outbox_now(now)
        if reset is not None:
            reset += there - now
        now = there
        if reset is not None:
            return max(reset, now)
        assert wait is not None
        return now + timedelta(seconds=wait)

    def outbox_now(self, now: datetime | None = None) -> datetime:
        """The time on the outbox's clock when it keeps one every host shares (a PostgreSQL
        outbox opened without ``clock=``: the database server's) and this client was given
        no clock of its own, else ``now`` (this client's clock when not given): what the
        outbox compares retry times with."""
        shared = getattr(self.outbox, "clock", None)
        if not self.clock_given and shared is not None and getattr(shared, "shared", False) is True:
            there: datetime = shared()
            return there
        return now if now is not None else self.clock()

    def to_release(
        self, delivery: Delivery, raised: bool
    ) -> tuple[Callable[..., None], datetime | None] | None:
        """What to give back to the outbox once ``delivery``'s attempt outside a worker has
        ended: its ``release`` and the retry time, or ``None`` when nothing is left to do
        (the last save of the attempt, sent, failed or unknown, gave the lease back).

        Still leased to this client: a delivery left ``pending`` (its attempt could not
        start: it waits for its retry time), ``sending`` (a save failed after a request
        left: a worker looks it up first), or whatever a call that raised left. A ``failed``
        one whose failure means "not now" goes back to ``pending`` at its retry time, as a
        worker's own attempt would (a worker tries it again, counting its attempts)."""
        release: Callable[..., None] | None = getattr(self.outbox, "release", None)
        if release is None:
            return None
        status = delivery.status
        if (
            status is DeliveryStatus.FAILED
            and delivery.error is not None
            and _not_now(delivery.error)
        ):
            # Whether or not the call raised after it (a publish cancelled meanwhile).
            # No time named: due now, on the clock the outbox judges by (a host ahead
            # of the database's would hold it back by its skew).
            return release, self.retry_at(delivery) or self.outbox_now()
        if raised or status in (DeliveryStatus.PENDING, DeliveryStatus.SENDING):
            retry = self.retry_at(delivery) if status is DeliveryStatus.PENDING else None
            return release, retry
        return None

    def let_go(self, delivery: Delivery, raised: bool) -> None:
        """After an attempt outside a worker (`Client.publish`, `reply`, `deliver`), give
        the delivery back to the outbox (see `to_release`), so that a worker takes it when
        it is due. A worker settles the deliveries it claimed itself."""
        plan = self.to_release(delivery, raised)
        if plan is None:
            return
        release, retry = plan
        try:
            release(delivery.id, retry_at=retry)
        except BrandkitError as exc:
            self.release_failed(delivery, exc)
            return
        self.released(delivery, retry)

    @staticmethod
    def released(delivery: Delivery, retry: datetime | None) -> None:
        """After ``delivery`` was given back to the outbox with ``retry``: the copy the
        caller gets says what the outbox now holds. A ``failed`` one given a retry time is
        ``pending``, for a worker's retries, with the reason it could not go now; without
        one (a refusal, then an interruption) it stays ``failed`` there and here."""
        if retry is not None and delivery.status is DeliveryStatus.FAILED:
            delivery.status = DeliveryStatus.PENDING

    @staticmethod
    def release_failed(delivery: Delivery, exc: BrandkitError) -> None:
        if not isinstance(exc, OutboxConflict):
            # No such delivery: it was never stored, so there is no lease to give back.
            logger.debug("delivery %s: nothing to release: %s", delivery.id, exc)
            return
        logger.warning(
            "delivery %s: its lease could not be given back (a worker takes it when the lease "
            "ends; on SQLite, when this process ends): %s",
            delivery.id,
            exc,
        )

    def _unknown(self, delivery: Delivery, error: BrandkitError) -> CoreFlow[Delivery]:
        delivery.error = error
        delivery.status = DeliveryStatus.UNKNOWN
        yield from self.saved(delivery)
        return delivery

    def _find(
        self,
        adapter: Adapter,
        rendered: Rendered,
        part: Any,
        ctx: ThreadContext,
        delivery: Delivery,
    ) -> CoreFlow[PartRef | None]:
        taken = yield from self._taken(delivery, ctx)
        try:
            return (yield from adapter.find_part(rendered, part, attrs.evolve(ctx, taken=taken)))
        except (NotImplementedError, PlatformError) as exc:
            if isinstance(exc, PlatformError):
                delivery.error = exc
            elif delivery.error is None:
                delivery.error = TransportError(
                    f"{adapter.name}: the outcome of part {part.index + 1} is unknown and "
                    "the platform offers no way to look it up",
                    platform=adapter.name,
                    maybe_delivered=True,
                )
            delivery.status = DeliveryStatus.UNKNOWN
            yield from self.saved(delivery)
            return None

    def _taken(self, delivery: Delivery, ctx: ThreadContext) -> CoreFlow[frozenset[str]]:
        """The ids of the posts that other deliveries of ``delivery``'s account recorded,
        which a read-back of its part must never take (`ThreadContext.taken`): a post with
        the same text made a little before the part's key (two photos without a caption
        posted one after the other) was taken for a part that was never made. Those this
        client recorded, and with an outbox those it holds (another process's) written
        since `_RECALL_BACK` before the part's key."""
        taken = set(self.made.get(delivery.account, ()))
        if self.outbox is not None:
            started = tid_time(ctx.key) or self.clock()
            step = Recall(self.outbox, delivery.account, started - _RECALL_BACK, delivery.id)
            yield step
            taken |= step.found
        return frozenset(taken)

    def delete_flow(
        self, adapter: Adapter, delivery: Delivery, force: bool = False
    ) -> CoreFlow[Delivery]:
        """Delete the parts ``delivery`` recorded, last first, and mark it ``deleted``.

        Raises:
            ConfigurationError: a part of it may be on the platform without its id being
                known (``unknown``, or a create that may have landed), or it is being
                published: deleting the parts it knows would leave that one up while the
                delivery said ``deleted``. Nothing is sent then.
        """
        if delivery.status in (DeliveryStatus.UNKNOWN, DeliveryStatus.SENDING) or (
            delivery.look_first and delivery.status is not DeliveryStatus.SENT
        ):
            state = "being published" if delivery.status is DeliveryStatus.SENDING else "in doubt"
            raise ConfigurationError(
                f"delivery {delivery.id} is {delivery.status.value} ({state}): part "
                f"{len(delivery.parts) + 1} may be on {adapter.name} without brandkit knowing "
                "its id, and would stay up; let a worker look it up (or settle it with "
                "brandkit outbox resolve), then delete it"
            )
        delete_article = getattr(adapter, "delete_article", None)
        for ref in reversed(delivery.parts):
            if force and delete_article is not None:
                yield from delete_article(ref, force=True)
            else:
                yield from adapter.delete_part(ref)
        delivery.status = DeliveryStatus.DELETED
        yield from self.saved(delivery)
        return delivery

    def update_flow(
        self, adapter: Adapter, delivery: Delivery, article: Article
    ) -> CoreFlow[Delivery]:
        """Replace the published article of ``delivery`` with ``article`` on the blog; the
        delivery then holds the new article and the blog's new answer (its URL may change
        with the slug or the status)."""
        update = getattr(adapter, "update_article", None)
        if update is None:
            raise adapter.unsupported("update", "update a published article")
        if not isinstance(delivery.post, Article):
            raise ContentError(
                f"delivery {delivery.id} holds a post, not an article: only articles on a "
                "blog can be updated",
                field="post",
                platform=adapter.name,
            )
        if delivery.status is not DeliveryStatus.SENT or not delivery.parts:
            raise ConfigurationError(
                f"delivery {delivery.id} is {delivery.status.value}, not sent: only a "
                "published article can be updated (deliver it first)"
            )
        ref = yield from update(delivery.parts[0], article)
        delivery.post = article
        delivery.parts[0] = attrs.evolve(
            ref, extra={**delivery.parts[0].extra, **ref.extra, "updated": True}
        )
        yield from self.saved(delivery)
        return delivery

    def metrics_flow(self, adapter: Adapter, refs: Sequence[PartRef]) -> Flow[list[MetricSample]]:
        samples: list[MetricSample] = []
        size = max(1, adapter.metrics_batch_size)
        for start in range(0, len(refs), size):
            samples.extend((yield from adapter.collect_metrics(refs[start : start + size])))
        return samples

    def fetched(self, samples: Iterable[MetricSample]) -> list[MetricSample]:
        """The samples stamped with this client's clock at the moment their answer came:
        one time source for every platform, and the one tests and simulations control."""
        now = self.clock()
        return [attrs.evolve(s, fetched_at=now) for s in samples]

    def metric_batches(self, deliveries: Iterable[Delivery]) -> list[tuple[Adapter, Batch]]:
        """The fewest batches of posts to collect: ceil(N / batch size) per account."""
        from brandkit.metrics._collector import plan

        items = list(deliveries)
        adapters = {
            d.account: self.adapter_for(self.account_for(d, None)) for d in items if d.parts
        }
        batches = plan(items, lambda key: adapters[key].metrics_batch_size)
        return [(adapters[b.account], b) for b in batches]

    def incomplete(
        self,
        samples: Sequence[MetricSample],
        failed: Sequence[_Failed],
        batches: int,
    ) -> PlatformError:
        """The error of a collection some of whose ``batches`` failed: what was read, and
        each failure with its account's secrets taken out (a server may echo a token).
        When nothing was read and one batch failed, its own error (a `RateLimited` stays a
        `RateLimited`, for callers that wait on it)."""
        if len(failed) == 1 and not samples:
            adapter, _, only = failed[0]
            _redacted(adapter.account, only)
            return only
        errors: list[tuple[str, PlatformError]] = []
        lines: list[str] = []
        for adapter, batch, error in failed:
            _redacted(adapter.account, error)  # in place: the caller keeps this very error
            errors.append((batch.account, error))
            posts = f"{len(batch.targets)} post{'' if len(batch.targets) == 1 else 's'}"
            lines.append(f"{batch.account} ({posts}): {type(error).__name__}: {error}")
        message = (
            f"{len(failed)} of {batches} metrics batches failed; the {len(samples)} samples "
            "read are on .samples (store them, then fix or retry each failure): " + "; ".join(lines)
        )
        error = CollectIncomplete(
            message, samples=samples, errors=errors, platform=failed[0][1].platform
        )
        error.__cause__ = failed[0][2]
        return error

    # -- conversations ---------------------------------------------------------------------

    def account_of(self, message: Message, account: Account | None) -> Account:
        """The account that received ``message`` (``account`` when given, after a check)."""
        if account is None:
            account = self.accounts.get(message.account)
            if account is None:
                raise ConfigurationError(
                    f"no account {message.account!r} is known to this client: pass account= "
                    "or build the client with accounts=[...]"
                )
        return account

    def can(self, adapter: Adapter, operation: str) -> None:
        """Refuse, before any I/O, what the platform's capabilities do not declare."""
        caps = adapter.capabilities
        declared = {
            "inbox": bool(caps.inbox),
            "replies": bool(caps.inbox),
            "reply": bool(caps.inbox),
            "hide": caps.hide_messages,
            "delete_message": caps.delete_messages,
            "like": caps.like_messages,
            "search": caps.search,
        }[operation]
        if not declared:
            what = {
                "inbox": "read an inbox",
                "replies": "read replies",
                "reply": "answer messages",
                "hide": "hide replies or comments",
                "delete_message": "delete others' comments",
                "like": "like messages",
                "search": "search public posts",
            }[operation]
            raise adapter.unsupported(operation, what)

    def inbox_flow(self, adapter: Adapter, since: str | None, limit: int) -> Flow[InboxPage]:
        if limit < 1:
            raise ConfigurationError(f"limit must be at least 1, not {limit}")
        self.can(adapter, "inbox")
        sent = [0]
        page = yield from _counted(adapter.inbox(since, limit=limit), sent)
        messages = sorted(page.messages, key=lambda m: m.created_at)
        return attrs.evolve(page, messages=messages, requests=sent[0])

    def search_flow(
        self, adapter: Adapter, query: Query, since: str | None, limit: int
    ) -> Flow[SearchPage]:
        if limit < 1:
            raise ConfigurationError(f"limit must be at least 1, not {limit}")
        self.can(adapter, "search")
        # Compiled first: what the platform cannot express is refused before any request.
        adapter.compile_query(query)
        sent = [0]
        page = yield from _counted(adapter.search(query, since, limit=limit), sent)
        messages = sorted(page.messages, key=lambda m: m.created_at)
        return attrs.evolve(page, messages=tuple(messages), requests=sent[0])

    def replies_flow(self, adapter: Adapter, delivery: Delivery) -> Flow[list[Message]]:
        self.can(adapter, "replies")
        if not delivery.parts:
            raise ConfigurationError(
                f"delivery {delivery.id} has no published part: there is nothing to read replies of"
            )
        got = yield from adapter.replies(delivery.parts)
        return sorted(got, key=lambda m: m.created_at)

    def answer_of(self, delivery: Delivery) -> Delivery:
        """The answer to send for ``delivery`` (a `new_reply`): the one queued or sent
        already under its id (the same id for the same answer), else ``delivery``, written
        to the outbox."""
        outbox = self.outbox
        once = getattr(outbox, "insert_once", None)
        if once is not None:
            return once(delivery)  # type: ignore[no-any-return]
        known = self.remembered(delivery)
        if known is not None:
            return known
        if outbox is not None:
            outbox.save(delivery)
        return delivery

    def new_reply(self, adapter: Adapter, message: Message, post: Post) -> Delivery:
        """The delivery of the answer ``post`` to ``message``, before `answer_of` looks it
        up and writes it."""
        check_answer(post)
        self.can(adapter, "reply")
        return reply_delivery(adapter, message, post, self.clock())

    def remembered(self, delivery: Delivery) -> Delivery | None:
        """The answer this client made before with ``delivery``'s id (then nothing is
        written), else ``None`` and ``delivery`` is remembered.

        Without an outbox that can tell, this client remembers its own answers: the same
        answer asked for again resumes (or returns) the first delivery, which looks up a
        lost create before sending anything.
        """
        known = self.answers.get(delivery.id)
        if known is not None:
            return known
        if len(self.answers) >= _ANSWERS_KEPT:
            self.answers.pop(next(iter(self.answers)))
        self.answers[delivery.id] = delivery
        return None

    def moderate_flow(self, adapter: Adapter, message: Message, operation: str) -> Flow[None]:
        adapter.check_message(message)
        if operation == "hide":
            yield from adapter.set_hidden(message, True)
        elif operation == "unhide":
            yield from adapter.set_hidden(message, False)
        elif operation == "delete_message":
            yield from adapter.delete_message(message)
        else:
            yield from adapter.like(message)

    def scheduled_later(self, post: Content) -> bool:
        when = send_at(post)
        if when is None or when <= self.clock():
            return False
        if self.outbox is None:
            raise ConfigurationError(
                "this post is scheduled for later: build the client with an outbox "
                "(Client(outbox=Outbox('brandkit.db'))) and run the worker"
            )
        return True


def reply_delivery(adapter: Adapter, message: Message, post: Post, now: datetime) -> Delivery:
    """A new delivery of ``post`` as the answer to ``message`` by ``adapter``'s account.

    Its id is derived from the account, the message and the answer's content (not its
    time), so the same answer queued twice is one delivery.

    Raises:
        ConfigurationError: the message belongs to another account.
    """
    adapter.check_message(message)
    answer = adapter.reply_post(message, post)
    target = adapter.reply_target(message)
    target = attrs.evolve(target, extra={**target.extra, "message": message.key})
    content = answer.model_dump_json(exclude={"scheduled_at"})
    digest = uuid.uuid5(_REPLY_NS, f"{adapter.account.key}\n{message.id}\n{content}").hex
    return Delivery(
        id=digest,
        account=adapter.account.key,
        platform=adapter.account.platform,
        post=answer,
        reply_to=target,
        created_at=now,
        updated_at=now,
    )


_ANSWERS_KEPT = 10_000


class _Turns:
    """One lock per key while it is in use: calls for the same key take turns, calls for
    other keys do not wait for them. A client answers through it, so that the same answer
    asked for twice at once (two threads, two tasks, a double click) is sent by the first
    call, and the second finds what the first did instead of sending it again."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self._make = make
        self._held: dict[str, list[Any]] = {}
        self._guard = threading.Lock()

    def enter(self, key: str) -> Any:
        """The lock of ``key`` (made if no one uses it); pair with `leave`."""
        with self._guard:
            entry = self._held.get(key)
            if entry is None:
                entry = self._held[key] = [self._make(), 0]
            entry[1] += 1
            return entry[0]

    def leave(self, key: str) -> None:
        """Done with ``key``'s lock; the last user lets it go."""
        with self._guard:
            entry = self._held[key]
            entry[1] -= 1
            if entry[1] == 0:
                del self._held[key]


_REPLY_NS = uuid.UUID("6f1d3b53-52a4-4a8e-9d3c-6b7a1f3e9a10")


def _counted(flow: Flow[T], sent: list[int]) -> Flow[T]:
    """``flow``, counting the requests it sends into ``sent[0]``."""
    try:
        step = next(flow)
        while True:
            if isinstance(step, Send):
                sent[0] += 1
            try:
                response = yield step
            except Exception as exc:
                step = flow.throw(exc)
            else:
                step = flow.send(response)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]


def _redacted(account: Account, error: BrandkitError) -> BrandkitError:
    """``error`` with ``account``'s secrets taken out of its message and of what it keeps
    (a server may echo a token back in an error page)."""
    message = str(error)
    clean = account.redact(message)
    if clean != message:
        error.args = (clean, *error.args[1:])
    if isinstance(error, PlatformError) and error.platform_message:
        error.platform_message = account.redact(error.platform_message)
    if isinstance(error, MalformedResponse):
        error.body = account.redact(error.body)
    return error


def _not_now(error: BrandkitError) -> bool:
    """A failure that says "not now" rather than "no" (before anything was sent)."""
    if isinstance(error, TransportError):
        return not error.maybe_delivered
    return isinstance(error, RateLimited | PlatformUnavailable)


def _version() -> str:
    from brandkit import __version__

    return __version__


def _default_governor(clock: Callable[[], datetime] | None = None) -> GovernorProtocol:
    """The governor a client makes when given none: on the client's ``clock`` when it has
    one of its own (a simulated one: the resets emulators on simulated time send, days
    ahead of real time, were read as real waits and refused every request), else its own."""
    try:
        module = importlib.import_module("brandkit.governor")
        if clock is None:
            governor: GovernorProtocol = module.Governor()
        else:
            governor = module.Governor(clock=lambda: clock().timestamp())
    except (ImportError, AttributeError):
        return NullGovernor()
    return governor


def _check_hooks(outbox: object, retry: object, governor: object) -> None:
    """Refuse an outbox, retry policy or governor of the wrong kind when the client is
    made: each failed later with a bare AttributeError (a path given for the outbox at the
    first publish; the others inside every delivery, as an "internal error").

    Raises:
        ConfigurationError: one of them is not what it should be; the message says what.
    """
    if outbox is not None and not callable(getattr(outbox, "save", None)):
        hint = " (open it: outbox=Outbox(path))" if isinstance(outbox, str | os.PathLike) else ""
        raise ConfigurationError(
            f"outbox must be an Outbox (or another OutboxProtocol), not "
            f"{type(outbox).__name__} {outbox!r:.80}{hint}"
        )
    if retry is not None and not isinstance(retry, RetryPolicy):
        raise ConfigurationError(
            f"retry must be a RetryPolicy (e.g. RetryPolicy(attempts=5)), not "
            f"{type(retry).__name__} {retry!r:.80}"
        )
    if governor is not None and not all(
        callable(getattr(governor, name, None)) for name in ("acquire", "observe")
    ):
        raise ConfigurationError(
            f"governor must be a Governor (or another GovernorProtocol), not "
            f"{type(governor).__name__} {governor!r:.80}"
        )


def _accounts(accounts: Account | Sequence[Account]) -> list[Account]:
    """The accounts to publish to, each once (by key: one post goes out once per account,
    however often the account is given), in the order given.

    Raises:
        ConfigurationError: ``accounts`` is no Account nor list of them (a key, or the
            mapping `Account.load` returns, whose iteration gives its keys), or empty.
    """
    # Where outbox.add checks the same (it imports this module: imported at the call).
    from brandkit.outbox._store import _accounts_given

    out = _once_each(_accounts_given(accounts))
    if not out:
        raise ConfigurationError("publish needs at least one account")
    return out


def _once_each(accounts: Iterable[Account]) -> list[Account]:
    """``accounts`` without repeats of a key (the first of each kept), in their order."""
    seen: dict[str, Account] = {}
    for account in accounts:
        seen.setdefault(account.key, account)
    return list(seen.values())


async def _write(outbox: OutboxProtocol, delivery: Delivery) -> None:
    """``outbox.save(delivery)`` off the event loop: the outbox's own ``asave`` when it has
    one, else the synchronous save in a worker thread (a file lock or a row lock may wait)."""
    asave = getattr(outbox, "asave", None)
    if asave is not None:
        await asave(delivery)
    else:
        await asyncio.to_thread(outbox.save, delivery)


async def _settled(write: Awaitable[T]) -> T:
    """Await a store's ``write`` to its end, even when the awaiting task is cancelled
    meanwhile.

    A write handed to a thread or a database cannot be called back once it started; were the
    task to unwind at once, its copy of a delivery could say other than what the outbox
    stores. So the write is awaited to its end (bounded by the store's own lock timeout), its
    outcome (its result, or its refusal) goes to the caller as usual, and the cancellation is
    requested again, to end the task at its next await.

    Raises:
        Whatever ``write`` raises; ``CancelledError`` when the write itself was cancelled.
    """
    task = asyncio.ensure_future(write)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        if task.cancelled():
            raise
        while not task.done():
            try:
                await asyncio.wait([task])
            except asyncio.CancelledError:
                continue  # one more request to stop: it is delivered below with the first
        me = asyncio.current_task()
        if me is not None:
            # Keep asyncio's count of requests as it is (asyncio.timeout relies on it).
            me.uncancel()
            me.cancel()
        return task.result()


class BatchRun:
    """The batches of a metrics collection, as they complete; ``len()`` says how many."""

    def __init__(self, total: int, batches: Iterator[list[MetricSample]]) -> None:
        self._total = total
        self._batches = batches

    def __len__(self) -> int:
        return self._total

    def __iter__(self) -> Iterator[list[MetricSample]]:
        return self._batches


class Client:
    """Publishes posts, deletes them and collects metrics, synchronously.

    ```python
    from brandkit import Account, Client, Post

    with Client() as client:
        for d in client.publish(Post(text="Hello"), [account]):
            print(d.account, d.status, d.urls, d.error)
    ```

    Args:
        outbox: where deliveries are written before sending (makes publishing durable).
        governor: rate-limit governor; the default paces by each platform's declared limits
            and the headers it sends.
        retry: retry policy.
        http: an ``httpx.Client`` to use (brandkit closes only clients it made).
        timeout: request timeout in seconds.
        accounts: accounts to know by key (for deliveries loaded from an outbox).
        sleep: how to sleep (tests pass a fake).
        clock: the current time (tests pass a fake); a naive time is read as local time.
        user_agent: the ``User-Agent`` of every request (default ``brandkit/<version>``).
        deadline: the longest one request may take, in seconds, from its send to the last
            byte of its answer (``timeout`` bounds each read, and a server trickling bytes
            would keep every read under it). With an ``http`` client of your own, it is
            checked from the answer's first byte on.

    Raises:
        ConfigurationError: ``deadline`` is not a number of seconds above 0 and at most
            a day, ``timeout`` not a finite positive number, ``user_agent`` not
            printable ASCII text, or ``outbox``, ``retry``, ``governor`` or ``accounts``
            not an outbox, a `RetryPolicy`, a governor or a list of `Account` objects.
    """

    def __init__(
        self,
        *,
        outbox: OutboxProtocol | None = None,
        governor: GovernorProtocol | None = None,
        retry: RetryPolicy | None = None,
        http: httpx.Client | None = None,
        timeout: float = 30.0,
        accounts: Iterable[Account] = (),
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] | None = None,
        user_agent: str | None = None,
        deadline: float = 300.0,
    ) -> None:
        self._core = _Core(
            governor=governor,
            outbox=outbox,
            retry=retry,
            clock=clock,
            accounts=accounts,
            user_agent=user_agent,
            deadline=deadline,
            timeout=timeout,
        )
        self._answering = _Turns(threading.Lock)
        self._own_http = http is None
        self._http: httpx.Client
        self._transport: httpx.HTTPTransport | None = None
        if http is None:
            self._http, self._transport = _deadline_client(timeout)
        else:
            self._http = http
        self._timeouts = self._http.timeout.as_dict()
        self._sleep = sleep

    @property
    def outbox(self) -> OutboxProtocol | None:
        """The outbox this client writes to."""
        return self._core.outbox

    def close(self) -> None:
        """Close the HTTP connections this client opened."""
        if self._own_http:
            self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- driving ---------------------------------------------------------------------------

    def run(self, adapter: Adapter, flow: CoreFlow[T], attempt: _Attempt | None = None) -> T:
        """Run any flow of ``adapter`` to its end and return its result.

        Raises:
            ConfigurationError: the client is closed (nothing is sent).
        """
        _require_open(self._http, self._own_http, "Client")
        try:
            step = next(flow)
            while True:
                if isinstance(step, Wait):
                    self._sleep(step.seconds)
                    step = flow.send(_WAITED)
                    continue
                if isinstance(step, Save | Recall):
                    try:
                        if isinstance(step, Save):
                            step.outbox.save(step.delivery)
                        else:
                            step.found.update(recall(step))
                    except BaseException as exc:
                        # Where the flow asked for the write (or the read), as if it had
                        # done it itself.
                        step = flow.throw(exc)
                    else:
                        step = flow.send(_WAITED)
                    continue
                try:
                    response = self._send(adapter, step, attempt)
                except Exception as exc:
                    # The flow decides what a failed step means (a delivery keeps its place).
                    step = flow.throw(exc)
                else:
                    step = flow.send(response)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]

    def _send(self, adapter: Adapter, step: Send, tracker: _Attempt | None) -> httpx.Response:
        core = self._core
        # Most requests succeed at once: only a failed first attempt pays for tenacity.
        try:
            return self._send_once(adapter, step, 1, tracker)
        except _Again as again:
            failed = again
        if core.retry.attempts > 1:
            self._sleep(core.delay_after(failed, 1))
            try:
                for attempt in tenacity.Retrying(sleep=self._sleep, **core.retrying()):
                    with attempt:
                        number = attempt.retry_state.attempt_number + 1
                        return self._send_once(adapter, step, number, tracker)
            except _Again as again:
                failed = again
        return core.give_up(failed)

    def _send_once(
        self, adapter: Adapter, step: Send, attempt: int, tracker: _Attempt | None
    ) -> httpx.Response:
        core = self._core
        waited = 0.0
        while (delay := core.wait_for_budget(adapter, step)) > 0:
            waited = core.budget_waited(adapter, step, waited, delay)
            self._sleep(delay)
        try:
            request = core.request_for(adapter, step, attempt)
            if tracker is not None:
                tracker.before_send(step)
        except BaseException:
            # Granted, and failed before a byte left (a repeat the adapter could not prepare,
            # the "sending" state not written): its units are given back.
            core.unanswered(adapter, step, unsent=True)
            raise
        try:
            response = self._exchange(adapter, step, request, attempt, tracker)
        except BaseException as exc:
            # Granted, and no answer to observe: the governor must not keep waiting for one.
            core.unanswered(adapter, step, _never_sent(exc))
            raise
        return core.after_response(adapter, step, response, attempt)

    def _exchange(
        self,
        adapter: Adapter,
        step: Send,
        request: httpx.Request,
        attempt: int,
        tracker: _Attempt | None,
    ) -> httpx.Response:
        """Send ``request`` (``step``'s, its budget reserved) and return the answer, read
        in full; raise when there is none to give the governor (`_Core.after_error`)."""
        core = self._core
        started = time.perf_counter()
        deadline = time.monotonic() + core.deadline
        _SYNC_DEADLINE.at = deadline
        try:
            transport = self._transport if not self._http.is_closed else None
            if transport is not None:
                _direct(request, self._timeouts)
                response = transport.handle_request(request)
            else:
                # Redirects are never followed, whatever the client's settings: the next
                # host would get the credentials (a Telegram token in the path, a bearer
                # header).
                response = self._http.send(request, stream=True, follow_redirects=False)
            try:
                reader = _BodyReader(step, response, deadline)
                if response.is_stream_consumed:
                    # An answer made in memory (httpx.MockTransport) arrives already read.
                    reader.take(response.content)
                else:
                    for chunk in response.iter_raw():
                        reader.feed(chunk)
                body = reader.body()
            finally:
                response.close()
        except _TooLarge:
            raise core.too_large(adapter, step, response) from None
        except httpx.HTTPError as exc:
            if isinstance(exc, httpx.TimeoutException) and time.monotonic() >= deadline:
                # The socket's timeout was cut to the deadline: say which limit it was.
                exc = _Deadline("the answer took longer than the overall deadline")
            if tracker is not None:
                tracker.not_sent(step, exc)
            core.after_error(step, core.transport_error(adapter, step, exc), attempt)
            raise  # pragma: no cover - after_error always raises
        finally:
            _SYNC_DEADLINE.at = None
        if transport is not None:
            _answered(request, response, started)
        # httpx offers no public way to hand a streamed body back: the decoded bytes are
        # what .content, .text and .json() read.
        response._content = body
        core.log(adapter, step, response, (time.perf_counter() - started) * 1000)
        return response

    # -- public operations -----------------------------------------------------------------

    def render(self, post: Post, account: Account) -> Rendered:
        """The post as ``account``'s platform will get it (reads instance limits if needed).

        Raises:
            ContentError: the post does not fit the platform's rules.
        """
        adapter = self._core.adapter_for(account)
        return self.run(adapter, self._core.render_flow(adapter, post))

    def publish(
        self, post: Content | Campaign, accounts: Account | Sequence[Account]
    ) -> list[Delivery]:
        """Publish ``post`` to every account; one [`Delivery`][brandkit.Delivery] per account.

        ``post`` is a [`Post`][brandkit.Post] for social accounts or an
        `Article` for blog accounts (WordPress, Ghost, dev.to); the
        delivery of an article has one part whose URL is the article's public address. An
        article scheduled for later is sent now, for the blog to publish at its time.

        Platform refusals do not raise: each delivery carries its status and typed error.
        A post scheduled for later is only written to the outbox. An account given twice
        (by one ``platform:name`` key) gets one delivery.

        With an outbox, what this call could not finish is left there for a worker: a
        delivery whose attempt could not start (a rate limit, an outage while preparing)
        stays ``pending`` with its reason and retry time, and one that failed "not now"
        (a refused connection, a 5xx, a 429) goes back to ``pending`` for the worker's
        retries.

        Raises:
            ConfigurationError: no accounts, something other than an Account or a list of
                them (a key, `Account.load`'s mapping: pass its ``.values()``), an unknown
                platform, a scheduled post without an outbox, or a closed client (nothing
                is sent or stored).
            ContentError: an article for a social account, or a post for a blog account
                (nothing is sent to any account).
            OutboxConflict: the outbox refused to store the deliveries (its file stayed
                locked): nothing was stored nor sent.

        A [`Campaign`][brandkit.campaign.Campaign] publishes its article to ``accounts``
        (the blogs), then its announcement (see `brandkit.campaign.publish`).
        """
        _require_open(self._http, self._own_http, "Client")
        if not isinstance(post, Post | Article):
            return post.publish_through(self, accounts)
        targets = _accounts(accounts)
        core = self._core
        later = core.scheduled_later(post)
        deliveries, first = core.make_deliveries(post, targets, later)
        core.write_first(deliveries, first)
        if later:
            return deliveries
        self._send_all(deliveries, targets, first)
        return deliveries

    def _send_all(
        self,
        deliveries: Sequence[Delivery],
        accounts: Sequence[Account | None],
        first: bool,
    ) -> None:
        """Send ``deliveries`` (to ``accounts``, in order; ``None``: the delivery's own),
        stored first when ``first``: one's trouble never keeps the others from being
        tried, each is given back to the outbox after its attempt, and an interruption
        leaves those not tried to the worker.

        Raises:
            BrandkitError: a delivery's trouble when nothing of it was stored or sent (no
                worker would ever send it).
        """
        core = self._core
        tried = 0
        try:
            for account, delivery in zip(accounts, deliveries, strict=True):
                tried += 1
                raised = False
                try:
                    self._deliver(delivery, account)
                except BrandkitError as exc:
                    raised = True
                    if core.never_written(delivery, exc, first):
                        # Nothing stored, nothing sent: no worker would ever send it.
                        raise
                    # One account's trouble (its outbox row taken, an unknown platform)
                    # never keeps the others from being tried.
                    core.broke_off(delivery, exc)
                except BaseException:
                    raised = True
                    raise
                finally:
                    core.let_go(delivery, raised)
        finally:
            # Interrupted: the accounts not tried yet are the worker's to send.
            for delivery in deliveries[tried:]:
                core.let_go(delivery, True)

    def deliver(self, delivery: Delivery, account: Account | None = None) -> Delivery:
        """Publish, resume or reconcile one delivery (e.g. one loaded from the outbox).

        Parts already confirmed are not sent again; an ``unknown`` part is looked up first.
        A delivery whose attempt could not start (a rate limit, an outage) is left
        ``pending`` in the outbox for a worker, at its retry time.
        """
        raised = True
        try:
            self._deliver(delivery, account)
            raised = False
        finally:
            self._core.let_go(delivery, raised)
        return delivery

    def _deliver(self, delivery: Delivery, account: Account | None = None) -> Delivery:
        """`deliver`, leaving the delivery's lease as its attempt left it (a worker settles
        what it claimed itself)."""
        acct = self._core.account_for(delivery, account)
        adapter = self._core.adapter_for(acct)
        attempt = _Attempt(self._core, delivery)
        return self.run(adapter, self._core.deliver_flow(adapter, delivery, attempt), attempt)

    def delete(
        self, delivery: Delivery, account: Account | None = None, *, force: bool = False
    ) -> Delivery:
        """Delete every published part of ``delivery`` (last part first).

        On WordPress an article goes to the trash, where it can be restored; ``force=True``
        deletes it for good (elsewhere ``force`` changes nothing: the platforms delete for
        good).

        Raises:
            PlatformError: the platform refused; parts deleted so far stay deleted.
            ConfigurationError: the delivery's account is not known to this client, or a
                part of it may be on the platform unknown to brandkit (the delivery is
                ``unknown``, being published, or its last create may have landed): it is
                looked up first, by a worker or ``brandkit outbox resolve``.
        """
        acct = self._core.account_for(delivery, account)
        adapter = self._core.adapter_for(acct)
        return self.run(adapter, self._core.delete_flow(adapter, delivery, force))

    def update(
        self, delivery: Delivery, article: Article, account: Account | None = None
    ) -> Delivery:
        """Replace the published article of ``delivery`` with ``article`` (title, body,
        excerpt, slug, terms, featured image, status and date), on the same blog post.

        Returns the delivery, which now holds ``article`` and the blog's answer (its URL
        changes when the slug does; a draft made ``"published"`` gets its public URL).

        Raises:
            ContentError: the delivery holds a post, not an article.
            ConfigurationError: the delivery is not sent, or its account is not known to
                this client.
            Unsupported: the blog cannot update articles.
            PlatformError: the blog refused (the delivery is unchanged).
        """
        acct = self._core.account_for(delivery, account)
        adapter = self._core.adapter_for(acct)
        return self.run(adapter, self._core.update_flow(adapter, delivery, article))

    def collect_refs(self, account: Account, refs: Sequence[PartRef]) -> list[MetricSample]:
        """Metrics of the given posts of one account, in the fewest requests."""
        adapter = self._core.adapter_for(account)
        return self._core.fetched(self.run(adapter, self._core.metrics_flow(adapter, refs)))

    def collect(self, deliveries: Iterable[Delivery]) -> list[MetricSample]:
        """Metrics of every published part of ``deliveries``, each stamped with its fetch
        time, delivery and campaign, in the fewest requests each platform allows (one per
        batch of its largest size). Metrics a platform lacks come back as unavailable
        samples with the reason.

        Every batch is tried: a platform that refuses costs only its own batches. When
        some failed, `CollectIncomplete` carries everything read (``.samples``) and
        each failure (``.errors``):

        ```python
        try:
            store.add(client.collect(deliveries))
        except CollectIncomplete as exc:
            store.add(exc.samples)
        ```

        Raises:
            ConfigurationError: a delivery's account is not known to this client (raised
                before any request), or the client is closed.
            CollectIncomplete: some batches failed (a `PlatformError`, whose
                ``platform`` is that of the first failure); the rest were read.
            PlatformError: the only batch that failed, when nothing was read: its own
                error, unchanged (a `RateLimited` stays one).
        """
        return [s for chunk in self.iter_collect(deliveries) for s in chunk]

    def iter_collect(self, deliveries: Iterable[Delivery]) -> BatchRun:
        """`collect`, one batch (one request) at a time; ``len()`` of the result is
        the number of batches, so a caller can show progress.

        Each batch yields once: its samples, or an empty list when it failed. After the
        last batch, `CollectIncomplete` is raised if any failed, with every sample yielded
        and each failure, so a caller that stores batch by batch has lost nothing.

        Raises:
            ConfigurationError: a delivery's account is not known to this client (raised
                here, before any request).
            CollectIncomplete: while iterating, after the last batch: some batches failed.
            PlatformError: likewise, the only failure when nothing was read.
        """
        jobs = self._core.metric_batches(deliveries)

        def run() -> Iterator[list[MetricSample]]:
            read: list[MetricSample] = []
            failed: list[_Failed] = []
            for adapter, batch in jobs:
                try:
                    got = self.run(adapter, adapter.collect_metrics(batch.refs))
                except PlatformError as exc:
                    # One platform's refusal must not cost the samples of the others.
                    failed.append((adapter, batch, exc))
                    yield []
                    continue
                stamped = batch.stamp(got, fetched_at=self._core.clock())
                read.extend(stamped)
                yield stamped
            if failed:
                raise self._core.incomplete(read, failed, len(jobs))

        return BatchRun(len(jobs), run())

    def collect_account(self, account: Account) -> list[MetricSample]:
        """Account-level metrics (followers) of ``account``.

        Raises:
            Unsupported: the platform has no account metrics to read (Ghost, WordPress,
                dev.to), before any request.
            PlatformError: the platform refused.
        """
        adapter = self._core.adapter_for(account)
        return self._core.fetched(self.run(adapter, adapter.collect_account_metrics()))

    # -- conversations ---------------------------------------------------------------------

    def inbox(self, account: Account, since: str | None = None, *, limit: int = 5000) -> InboxPage:
        """Everything new for ``account`` since the cursor ``since``: replies and comments
        on its posts, mentions and quotes (what its platform's `Capabilities.inbox` names),
        oldest first, in the fewest requests the platform allows, paced by the governor.

        Pass the page's ``cursor`` as ``since`` next time; ``None`` reads what the platform
        still shows. After about ``limit`` messages the read stops with ``more`` set: at
        most ``limit`` on most platforms; Threads finishes the page it is on, LinkedIn the
        post (each platform's page says how it reads).

        Raises:
            Unsupported: the platform has no inbox.
            PlatformError: the platform refused a read (the cursor is not moved).
        """
        adapter = self._core.adapter_for(account)
        return self.run(adapter, self._core.inbox_flow(adapter, since, limit))

    def search(
        self, account: Account, query: Query, since: str | None = None, *, limit: int = 1000
    ) -> SearchPage:
        """Public posts matching ``query`` on ``account``'s platform, written since the
        cursor ``since``, as ``Message(kind="found")``, oldest first, at the platform's
        largest page, paced by the governor (and its quotas: Threads' daily queries).

        ``limit`` caps the posts read (X bills each one): the search stops there with
        ``more`` set, and ``page.read`` says how many were read.

        Raises:
            Unsupported: the platform has no search API (LinkedIn, Facebook, Telegram).
            UnsupportedQuery: the platform cannot express part of the query (before any
                request).
            PlatformError: the platform refused (a quota, a rate limit).
        """
        adapter = self._core.adapter_for(account)
        return self.run(adapter, self._core.search_flow(adapter, query, since, limit))

    def replies(self, delivery: Delivery, account: Account | None = None) -> list[Message]:
        """The conversation under one published post (every part), oldest first.

        Raises:
            Unsupported: the platform cannot read replies.
            ConfigurationError: the delivery has no published part, or its account is not
                known to this client.
            PlatformError: the platform refused the read.
        """
        acct = self._core.account_for(delivery, account)
        adapter = self._core.adapter_for(acct)
        return self.run(adapter, self._core.replies_flow(adapter, delivery))

    def reply(self, message: Message, post: Post, account: Account | None = None) -> Delivery:
        """Answer ``message`` with ``post``, threaded under it, through the same path as any
        delivery: written to the outbox first when there is one, never sent twice (the same
        answer to the same message is one delivery, and a lost answer is looked up before
        anything is sent again), failures kept with their reason.

        Raises:
            Unsupported: the platform cannot answer messages.
            ConfigurationError: the message belongs to another account, or its account is
                not known to this client (pass ``account=``).
            OutboxConflict: the outbox refused to store the answer: nothing was sent.
        """
        acct = self._core.account_of(message, account)
        adapter = self._core.adapter_for(acct)
        draft = self._core.new_reply(adapter, message, post)
        lock = self._answering.enter(draft.id)
        try:
            with lock:
                delivery = self._core.answer_of(draft)
                if delivery.status in _FINISHED or self._core.scheduled_later(delivery.post):
                    return delivery
                raised = False
                try:
                    return self._deliver(delivery, acct)
                except BrandkitError as exc:
                    raised = True
                    self._core.broke_off(delivery, exc)
                    return delivery
                except BaseException:
                    raised = True
                    raise
                finally:
                    self._core.let_go(delivery, raised)
        finally:
            self._answering.leave(draft.id)

    def hide(self, message: Message, account: Account | None = None) -> None:
        """Hide someone else's reply or comment (X hidden replies, Bluesky threadgate,
        Threads, Instagram and Facebook comment hiding).

        Raises:
            Unsupported: the platform cannot hide (before any request).
            ConfigurationError: the message belongs to another account.
            PlatformError: the platform refused.
        """
        self._moderate(message, account, "hide")

    def unhide(self, message: Message, account: Account | None = None) -> None:
        """Show a hidden reply or comment again; see `hide`."""
        self._moderate(message, account, "unhide")

    def delete_comment(self, message: Message, account: Account | None = None) -> None:
        """Delete someone else's comment as the page or channel admin (Facebook, Instagram,
        Telegram).

        Raises:
            Unsupported: the platform cannot (before any request).
            ConfigurationError: the message belongs to another account.
            PlatformError: the platform refused.
        """
        self._moderate(message, account, "delete_message")

    def like(self, message: Message, account: Account | None = None) -> None:
        """Like ``message`` as the account that received it.

        Raises:
            Unsupported: the platform cannot (before any request).
            PlatformError: the platform refused.
        """
        self._moderate(message, account, "like")

    def _moderate(self, message: Message, account: Account | None, operation: str) -> None:
        acct = self._core.account_of(message, account)
        adapter = self._core.adapter_for(acct)
        check = "hide" if operation == "unhide" else operation
        self._core.can(adapter, check)
        self.run(adapter, self._core.moderate_flow(adapter, message, operation))


class AsyncClient:
    """The same as [`Client`][brandkit.Client], with ``await``; accounts are served concurrently.

    ```python
    async with AsyncClient() as client:
        deliveries = await client.publish(Post(text="Hello"), [x, masto, sky])
    ```

    The event loop never waits for a store: outbox writes are awaited through the outbox's
    ``asave`` (else ``save`` in a worker thread), and the governor through its ``aacquire``
    and ``aobserve`` (the state's ``aupdate``: Redis and PostgreSQL on their async clients,
    SQLite in a thread). A write the outbox refuses is handled exactly as by `Client`; a task
    cancelled while one of its writes is under way waits for that write to end, so the
    deliveries it holds say what is stored.
    """

    def __init__(
        self,
        *,
        outbox: OutboxProtocol | None = None,
        governor: GovernorProtocol | None = None,
        retry: RetryPolicy | None = None,
        http: httpx.AsyncClient | None = None,
        timeout: float = 30.0,
        accounts: Iterable[Account] = (),
        sleep: Callable[[float], Any] = asyncio.sleep,
        clock: Callable[[], datetime] | None = None,
        user_agent: str | None = None,
        deadline: float = 300.0,
    ) -> None:
        self._core = _Core(
            governor=governor,
            outbox=outbox,
            retry=retry,
            clock=clock,
            accounts=accounts,
            user_agent=user_agent,
            deadline=deadline,
            timeout=timeout,
        )
        self._answering = _Turns(asyncio.Lock)
        self._own_http = http is None
        self._http: httpx.AsyncClient
        self._transport: httpx.AsyncHTTPTransport | None = None
        if http is None:
            self._http, self._transport = _own_async_client(timeout)
        else:
            self._http = http
        self._timeouts = self._http.timeout.as_dict()
        self._sleep = sleep

    @property
    def outbox(self) -> OutboxProtocol | None:
        """The outbox this client writes to."""
        return self._core.outbox

    async def aclose(self) -> None:
        """Close the HTTP connections this client opened."""
        if self._own_http:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def run(self, adapter: Adapter, flow: CoreFlow[T], attempt: _Attempt | None = None) -> T:
        """Run any flow of ``adapter`` to its end and return its result.

        Raises:
            ConfigurationError: the client is closed (nothing is sent).
        """
        _require_open(self._http, self._own_http, "AsyncClient")
        try:
            step = next(flow)
            while True:
                if isinstance(step, Wait):
                    await self._sleep(step.seconds)
                    step = flow.send(_WAITED)
                    continue
                if isinstance(step, Save | Recall):
                    try:
                        if isinstance(step, Save):
                            await _settled(_write(step.outbox, step.delivery))
                        else:
                            # Off the event loop: a database read (a PostgreSQL round trip).
                            step.found.update(await asyncio.to_thread(recall, step))
                    except BaseException as exc:
                        # Where the flow asked for the write (or the read), as if it had
                        # done it itself.
                        step = flow.throw(exc)
                    else:
                        step = flow.send(_WAITED)
                    continue
                try:
                    response = await self._send(adapter, step, attempt)
                except Exception as exc:
                    step = flow.throw(exc)
                else:
                    step = flow.send(response)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]

    async def _send(self, adapter: Adapter, step: Send, tracker: _Attempt | None) -> httpx.Response:
        core = self._core
        # Most requests succeed at once: only a failed first attempt pays for tenacity.
        try:
            return await self._send_once(adapter, step, 1, tracker)
        except _Again as again:
            failed = again
        if core.retry.attempts > 1:
            await self._sleep(core.delay_after(failed, 1))
            try:
                async for attempt in tenacity.AsyncRetrying(sleep=self._sleep, **core.retrying()):
                    with attempt:
                        number = attempt.retry_state.attempt_number + 1
                        return await self._send_once(adapter, step, number, tracker)
            except _Again as again:
                failed = again
        return core.give_up(failed)

    async def _send_once(
        self, adapter: Adapter, step: Send, attempt: int, tracker: _Attempt | None
    ) -> httpx.Response:
        core = self._core
        waited = 0.0
        while (delay := await self._wait_for_budget(adapter, step)) > 0:
            waited = core.budget_waited(adapter, step, waited, delay)
            await self._sleep(delay)
        try:
            request = core.request_for(adapter, step, attempt)
            if tracker is not None:
                await tracker.abefore_send(step, self._save)
        except BaseException:
            # Granted, and failed before a byte left (see Client): its units are given back.
            await self._unanswered(adapter, step, unsent=True)
            raise
        try:
            response = await self._exchange(adapter, step, request, attempt, tracker)
        except BaseException as exc:
            # Granted, and no answer to observe (a cancelled task too): the governor must
            # not keep waiting for one.
            await self._unanswered(adapter, step, _never_sent(exc))
            raise
        return await self._after_response(adapter, step, response, attempt)

    async def _exchange(
        self,
        adapter: Adapter,
        step: Send,
        request: httpx.Request,
        attempt: int,
        tracker: _Attempt | None,
    ) -> httpx.Response:
        """`Client._exchange`, awaited."""
        core = self._core
        started = time.perf_counter()
        deadline = time.monotonic() + core.deadline
        response: httpx.Response | None = None
        try:
            async with asyncio.timeout(core.deadline):
                transport = self._transport if not self._http.is_closed else None
                if transport is not None:
                    _direct(request, self._timeouts)
                    response = await transport.handle_async_request(request)
                else:
                    # Redirects are never followed, whatever the client's settings (see
                    # Client).
                    response = await self._http.send(request, stream=True, follow_redirects=False)
                try:
                    reader = _BodyReader(step, response, deadline)
                    if response.is_stream_consumed:
                        reader.take(response.content)
                    else:
                        async for chunk in response.aiter_raw():
                            reader.feed(chunk)
                    body = reader.body()
                finally:
                    await response.aclose()
        except _TooLarge:
            raise core.too_large(adapter, step, response or httpx.Response(200)) from None
        except TimeoutError:
            err = _Deadline("the answer took longer than the overall deadline")
            core.after_error(step, core.transport_error(adapter, step, err), attempt)
            raise  # pragma: no cover - after_error always raises
        except httpx.HTTPError as exc:
            if tracker is not None:
                tracker.not_sent(step, exc)
            core.after_error(step, core.transport_error(adapter, step, exc), attempt)
            raise  # pragma: no cover - after_error always raises
        assert response is not None
        if transport is not None:
            _answered(request, response, started)
        response._content = body
        core.log(adapter, step, response, (time.perf_counter() - started) * 1000)
        return response

    # -- the stores, off the event loop ------------------------------------------------------

    async def _wait_for_budget(self, adapter: Adapter, step: Send) -> float:
        """`_Core.wait_for_budget` through the governor's ``aacquire`` when it has one (a
        governor without it is asked as it is: it must not do I/O)."""
        core = self._core
        aacquire = getattr(core.governor, "aacquire", None)
        if aacquire is None:
            return core.wait_for_budget(adapter, step)
        key = core.bucket_key(adapter, step)
        delay: float = await aacquire(key, step.cost, adapter.rate_policies)
        return core.budget_wait(adapter, step, delay)

    async def _unanswered(self, adapter: Adapter, step: Send, unsent: bool = False) -> None:
        """`_Core.unanswered` through the governor's ``aunsent`` (a request that never
        reached the server) or ``aunanswered`` when it has one."""
        core = self._core
        settle = getattr(core.governor, "aunsent", None) if unsent else None
        if settle is None:
            settle = getattr(core.governor, "aunanswered", None)
        if settle is None:
            core.unanswered(adapter, step, unsent)
            return
        try:
            await settle(core.bucket_key(adapter, step))
        except BrandkitError as exc:
            core.unsettled(adapter, exc)

    async def _after_response(
        self, adapter: Adapter, step: Send, response: httpx.Response, attempt: int
    ) -> httpx.Response:
        """`_Core.after_response` through the governor's ``aobserve`` when it has one."""
        core = self._core
        aobserve = getattr(core.governor, "aobserve", None)
        if aobserve is None:
            return core.after_response(adapter, step, response, attempt)
        key = core.bucket_key(adapter, step)
        wait: float | None
        try:
            wait = await aobserve(key, response)
        except BrandkitError as exc:
            core.unobserved(adapter, exc)
            wait = None
        return core.judge(adapter, step, response, attempt, wait)

    async def _save(self, delivery: Delivery) -> None:
        """`_Core.save`, the write awaited off the event loop."""
        core = self._core
        core.stamp(delivery)
        if core.outbox is not None:
            await _settled(_write(core.outbox, delivery))

    async def _write_first(self, deliveries: list[Delivery], first: bool) -> None:
        """`_Core.write_first`, the write awaited off the event loop."""
        outbox = self._core.outbox
        if outbox is None or not first:
            return
        asave_many = getattr(outbox, "asave_many", None)
        many = getattr(outbox, "save_many", None)
        if asave_many is not None:
            await _settled(asave_many(deliveries))
        elif many is not None:
            await _settled(asyncio.to_thread(many, deliveries))
        else:
            for delivery in deliveries:
                await _settled(_write(outbox, delivery))

    async def _broke_off(self, delivery: Delivery, error: BrandkitError) -> None:
        """`_Core.broke_off`, the write awaited off the event loop."""
        if not self._core.mark_broke_off(delivery, error):
            return
        try:
            await self._save(delivery)
        except BrandkitError:
            logger.exception("delivery %s: its failure could not be saved", delivery.id)

    async def _answer_of(self, delivery: Delivery) -> Delivery:
        """`_Core.answer_of`, the outbox's look-up and write off the event loop."""
        core = self._core
        outbox = core.outbox
        once = getattr(outbox, "insert_once", None)
        if once is not None:
            found: Delivery = await _settled(asyncio.to_thread(once, delivery))
            return found
        known = core.remembered(delivery)
        if known is not None:
            return known
        if outbox is not None:
            await _settled(_write(outbox, delivery))
        return delivery

    async def render(self, post: Post, account: Account) -> Rendered:
        """The post as ``account``'s platform will get it; see `Client.render`."""
        adapter = self._core.adapter_for(account)
        return await self.run(adapter, self._core.render_flow(adapter, post))

    async def publish(
        self, post: Content | Campaign, accounts: Account | Sequence[Account]
    ) -> list[Delivery]:
        """Publish ``post`` (a post, an article for blogs, or a campaign) to every account
        concurrently; see `Client.publish`.

        Raises:
            ConfigurationError: see `Client.publish`.
            ContentError: an article for a social account, or a post for a blog account.
            OutboxConflict: the outbox refused to store the deliveries: nothing was stored
                nor sent.
        """
        _require_open(self._http, self._own_http, "AsyncClient")
        if not isinstance(post, Post | Article):
            return await post.apublish_through(self, accounts)
        targets = _accounts(accounts)
        core = self._core
        later = core.scheduled_later(post)
        deliveries, first = core.make_deliveries(post, targets, later)
        await self._write_first(deliveries, first)
        if later:
            return deliveries
        await self._send_all(deliveries, targets, first)
        return deliveries

    async def _send_all(
        self,
        deliveries: Sequence[Delivery],
        accounts: Sequence[Account | None],
        first: bool,
    ) -> None:
        """`Client._send_all`, the accounts served concurrently; cancelled, every delivery
        goes back to the outbox as its attempt left it.

        Raises:
            BaseException: the first failure that left a delivery neither stored nor sent,
                or that was not brandkit's (the others were tried all the same).
        """
        core = self._core
        try:
            results = await asyncio.gather(
                *(self._deliver(d, a) for a, d in zip(accounts, deliveries, strict=True)),
                return_exceptions=True,
            )
        except BaseException:
            # Cancelled: every delivery goes back to the outbox as its attempt left it.
            for delivery in deliveries:
                await self._let_go(delivery, True)
            raise
        failure: BaseException | None = None
        for delivery, result in zip(deliveries, results, strict=True):
            try:
                if isinstance(result, BrandkitError):
                    if core.never_written(delivery, result, first):
                        # Nothing stored, nothing sent: no worker would ever send it.
                        failure = failure or result
                    else:
                        await self._broke_off(delivery, result)
                elif isinstance(result, BaseException):
                    failure = failure or result
            finally:
                await self._let_go(delivery, isinstance(result, BaseException))
        if failure is not None:
            raise failure

    async def deliver(self, delivery: Delivery, account: Account | None = None) -> Delivery:
        """Publish, resume or reconcile one delivery; see `Client.deliver`."""
        raised = True
        try:
            await self._deliver(delivery, account)
            raised = False
        finally:
            await self._let_go(delivery, raised)
        return delivery

    async def _let_go(self, delivery: Delivery, raised: bool) -> None:
        """`_Core.let_go`, the outbox's release awaited off the event loop (to its end,
        even when the task is cancelled meanwhile)."""
        core = self._core
        plan = core.to_release(delivery, raised)
        if plan is None:
            return
        release, retry = plan
        try:
            await _settled(asyncio.to_thread(release, delivery.id, retry_at=retry))
        except BrandkitError as exc:
            core.release_failed(delivery, exc)
            return
        core.released(delivery, retry)

    async def _deliver(self, delivery: Delivery, account: Account | None = None) -> Delivery:
        """`deliver`, leaving the delivery's lease as its attempt left it (a worker settles
        what it claimed itself)."""
        acct = self._core.account_for(delivery, account)
        adapter = self._core.adapter_for(acct)
        attempt = _Attempt(self._core, delivery)
        flow = self._core.deliver_flow(adapter, delivery, attempt)
        return await self.run(adapter, flow, attempt)

    async def delete(
        self, delivery: Delivery, account: Account | None = None, *, force: bool = False
    ) -> Delivery:
        """Delete every published part of ``delivery``; see `Client.delete`.

        Raises:
            PlatformError: see `Client.delete`.
            ConfigurationError: see `Client.delete`.
        """
        acct = self._core.account_for(delivery, account)
        adapter = self._core.adapter_for(acct)
        return await self.run(adapter, self._core.delete_flow(adapter, delivery, force))

    async def update(
        self, delivery: Delivery, article: Article, account: Account | None = None
    ) -> Delivery:
        """Replace the published article of ``delivery`` with ``article``; see
        `Client.update`.

        Raises:
            ContentError: see `Client.update`.
            ConfigurationError: see `Client.update`.
            Unsupported: the blog cannot update articles.
            PlatformError: the blog refused.
        """
        acct = self._core.account_for(delivery, account)
        adapter = self._core.adapter_for(acct)
        return await self.run(adapter, self._core.update_flow(adapter, delivery, article))

    async def collect_refs(self, account: Account, refs: Sequence[PartRef]) -> list[MetricSample]:
        """Metrics of the given posts of one account, in the fewest requests."""
        adapter = self._core.adapter_for(account)
        got = await self.run(adapter, self._core.metrics_flow(adapter, refs))
        return self._core.fetched(got)

    async def collect(self, deliveries: Iterable[Delivery]) -> list[MetricSample]:
        """Metrics of every published part, accounts concurrently; see
        [`Client.collect`][brandkit.Client.collect]. Every batch is tried.

        Raises:
            ConfigurationError: a delivery's account is not known to this client (raised
                before any request), or the client is closed.
            CollectIncomplete: some batches failed; ``.samples`` holds what the others
                read, ``.errors`` each failure (account by account).
            PlatformError: the only failure, when nothing was read.
        """
        jobs = self._core.metric_batches(deliveries)
        by_adapter: dict[int, list[tuple[Adapter, Batch]]] = {}
        for adapter, batch in jobs:
            by_adapter.setdefault(id(adapter), []).append((adapter, batch))

        async def one_account(
            jobs: list[tuple[Adapter, Batch]],
        ) -> tuple[list[MetricSample], list[_Failed]]:
            out: list[MetricSample] = []
            failed: list[_Failed] = []
            for adapter, batch in jobs:
                flow = adapter.collect_metrics(batch.refs)
                try:
                    got = await self.run(adapter, flow)
                except PlatformError as exc:
                    # One platform's refusal must not cost the samples of the others.
                    failed.append((adapter, batch, exc))
                    continue
                out.extend(batch.stamp(got, fetched_at=self._core.clock()))
            return out, failed

        results = await asyncio.gather(*(one_account(j) for j in by_adapter.values()))
        samples = [s for chunk, _ in results for s in chunk]
        failed = [f for _, chunk in results for f in chunk]
        if failed:
            raise self._core.incomplete(samples, failed, len(jobs))
        return samples

    async def collect_account(self, account: Account) -> list[MetricSample]:
        """Account-level metrics (followers); see `Client.collect_account`."""
        adapter = self._core.adapter_for(account)
        return self._core.fetched(await self.run(adapter, adapter.collect_account_metrics()))

    # -- conversations ---------------------------------------------------------------------

    async def inbox(
        self, account: Account, since: str | None = None, *, limit: int = 5000
    ) -> InboxPage:
        """Everything new for ``account`` since ``since``; see `Client.inbox`."""
        adapter = self._core.adapter_for(account)
        return await self.run(adapter, self._core.inbox_flow(adapter, since, limit))

    async def search(
        self, account: Account, query: Query, since: str | None = None, *, limit: int = 1000
    ) -> SearchPage:
        """Public posts matching ``query``; see `Client.search`."""
        adapter = self._core.adapter_for(account)
        return await self.run(adapter, self._core.search_flow(adapter, query, since, limit))

    async def replies(self, delivery: Delivery, account: Account | None = None) -> list[Message]:
        """The conversation under one published post; see `Client.replies`."""
        acct = self._core.account_for(delivery, account)
        adapter = self._core.adapter_for(acct)
        return await self.run(adapter, self._core.replies_flow(adapter, delivery))

    async def reply(self, message: Message, post: Post, account: Account | None = None) -> Delivery:
        """Answer ``message`` with ``post``, never twice; see `Client.reply`."""
        acct = self._core.account_of(message, account)
        adapter = self._core.adapter_for(acct)
        draft = self._core.new_reply(adapter, message, post)
        lock = self._answering.enter(draft.id)
        try:
            async with lock:
                delivery = await self._answer_of(draft)
                if delivery.status in _FINISHED or self._core.scheduled_later(delivery.post):
                    return delivery
                raised = False
                try:
                    return await self._deliver(delivery, acct)
                except BrandkitError as exc:
                    raised = True
                    await self._broke_off(delivery, exc)
                    return delivery
                except BaseException:
                    raised = True
                    raise
                finally:
                    await self._let_go(delivery, raised)
        finally:
            self._answering.leave(draft.id)

    async def hide(self, message: Message, account: Account | None = None) -> None:
        """Hide someone else's reply or comment; see `Client.hide`."""
        await self._moderate(message, account, "hide")

    async def unhide(self, message: Message, account: Account | None = None) -> None:
        """Show a hidden reply or comment again; see `Client.hide`."""
        await self._moderate(message, account, "unhide")

    async def delete_comment(self, message: Message, account: Account | None = None) -> None:
        """Delete someone else's comment as admin; see `Client.delete_comment`."""
        await self._moderate(message, account, "delete_message")

    async def like(self, message: Message, account: Account | None = None) -> None:
        """Like ``message``; see `Client.like`."""
        await self._moderate(message, account, "like")

    async def _moderate(self, message: Message, account: Account | None, operation: str) -> None:
        acct = self._core.account_of(message, account)
        adapter = self._core.adapter_for(acct)
        check = "hide" if operation == "unhide" else operation
        self._core.can(adapter, check)
        await self.run(adapter, self._core.moderate_flow(adapter, message, operation))
