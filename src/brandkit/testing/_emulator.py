"""The base of brandkit's platform emulators: routing, a clock, scripted faults, serving.

An emulator is a stateful fake of one platform's API. It answers ``httpx.Request`` objects, so
it runs in-process (``emulator.transport()`` for ``httpx.MockTransport``) or over a real socket
on 127.0.0.1 (``with emulator.serve() as url: ...``).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import itertools
import json
import logging
import re
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Generic, Protocol, TypeVar, overload
from urllib.parse import quote

import attrs
import httpx

__all__ = [
    "Clock",
    "Drop",
    "Emulator",
    "Fault",
    "HandlerError",
    "Refusal",
    "Request",
    "route",
    "unlocked",
]

Request = httpx.Request
Handler = Callable[..., httpx.Response]

logger = logging.getLogger("brandkit.testing")

MB = 1024 * 1024


# RFC 9110 renamed these; Python 3.11's table keeps the old names, real servers (Rack 3,
# hence Mastodon) send the new ones, and clients put the phrase in their exceptions.
_RFC9110_PHRASES = {413: "Content Too Large", 422: "Unprocessable Content"}


def _reason(response: httpx.Response) -> str | None:
    """The reason phrase to send: the handler's own (``extensions["reason_phrase"]``), else
    the RFC 9110 name, else the server's table."""
    own = response.extensions.get("reason_phrase")
    if isinstance(own, bytes) and own:
        return own.decode("latin-1")
    return _RFC9110_PHRASES.get(response.status_code)


@functools.lru_cache(maxsize=1 << 16)
def utc_millis(ts: float) -> str:
    """``ts`` (seconds since the epoch) as ISO 8601 UTC to the millisecond, truncated, as
    Mastodon and Bluesky write times: ``2026-12-04T22:12:13.123Z``.

    Memoized (bounded): list endpoints write the same stored times on every read, and
    formatting a datetime costs more than the rest of an item's fields.
    """
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def pkce_s256(verifier: str) -> str:
    """The PKCE ``S256`` challenge of ``verifier`` (RFC 7636 §4.2): its SHA-256 digest,
    base64url-encoded without padding."""
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class JsonTemplate:
    """A JSON object's text as ``json.dumps`` writes it, made once, less the values of some
    keys, which are written at each use: a list endpoint answers the same stored items on
    every read, and encoding them again costs more than anything else it does.

    Args:
        data: the object, in its keys' order (str keys); the values of ``dynamic`` keys are
            placeholders.
        dynamic: the keys whose values `render` is given.
    """

    __slots__ = ("_keys", "_last", "_parts")

    def __init__(self, data: Mapping[str, Any], dynamic: Collection[str]) -> None:
        parts: list[str] = []
        keys: list[str] = []
        text = "{"
        for i, (key, value) in enumerate(data.items()):
            text += f"{', ' if i else ''}{json.dumps(key)}: "
            if key in dynamic:
                parts.append(text)
                keys.append(key)
                text = ""
            else:
                text += json.dumps(value)
        self._parts = tuple(parts)
        self._keys = tuple(keys)
        self._last = text + "}"

    def render(self, values: Mapping[str, str]) -> str:
        """The object's text with each dynamic key's value (already JSON text) in place.

        Raises:
            KeyError: a dynamic key has no value.
        """
        # Interleaved and joined in C: a loop of appends costs more than the rest.
        filled = [values[key] for key in self._keys]
        pairs = zip(self._parts, filled, strict=True)
        return "".join(itertools.chain.from_iterable(pairs)) + self._last


_K = TypeVar("_K")
_V = TypeVar("_V")
_T = TypeVar("_T")
_V_co = TypeVar("_V_co", covariant=True)


class Items(Protocol[_V_co]):
    """What `ItemsIndex` reads of a dict: its size and its values in order (a mapping, or
    a view of one whose values are its (key, value) pairs)."""

    def __len__(self) -> int: ...

    def values(self) -> Iterable[_V_co]: ...


class WatchedDict(dict[_K, _V]):
    """A dict that counts its changes other than an item added under a new key: an item
    replaced or taken away, the dict cleared or updated (``setdefault`` only ever adds).
    What an emulator derives from one of its public dicts (an index, a cache) is kept for
    its `state` and made again when that moves, so that an entry a test swaps in place is
    never answered stale.

    Attributes:
        changes: how many such changes were made to it.
    """

    changes: int = 0

    @property
    def state(self) -> tuple[int, int]:
        """Its number of items and `changes`: different after any write to it, since
        `changes` never goes down and a write it does not count adds an item."""
        return (len(self), self.changes)

    def __setitem__(self, key: _K, value: _V) -> None:
        if key in self:
            self.changes += 1
        super().__setitem__(key, value)

    def __delitem__(self, key: _K) -> None:
        super().__delitem__(key)
        self.changes += 1

    def pop(self, *args: Any) -> Any:
        if args and args[0] in self:
            self.changes += 1
        return super().pop(*args)

    def popitem(self) -> tuple[_K, _V]:
        item = super().popitem()
        self.changes += 1
        return item

    def clear(self) -> None:
        self.changes += 1
        super().clear()

    def update(self, *args: Any, **kwargs: Any) -> None:
        self.changes += 1
        super().update(*args, **kwargs)

    def __ior__(self, other: Any) -> WatchedDict[_K, _V]:  # type: ignore[override,misc]
        self.changes += 1
        super().__ior__(other)
        return self


class Watched(Generic[_K, _V]):
    """A public dict attribute of an emulator, kept as a `WatchedDict`: set to any mapping,
    the attribute holds a copy of it, counted as changed (another dict of as many items is
    another state of them).

    Args:
        kind: the `WatchedDict` class the copy is made as (one that checks what it takes).
    """

    def __init__(
        self, kind: Callable[[Mapping[_K, _V]], WatchedDict[_K, _V]] = WatchedDict
    ) -> None:
        self._kind = kind

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name
        self._slot = f"_watched_{name}"

    @overload
    def __get__(self, instance: None, owner: type) -> Watched[_K, _V]: ...

    @overload
    def __get__(self, instance: object, owner: type | None = None) -> WatchedDict[_K, _V]: ...

    def __get__(
        self, instance: object | None, owner: type | None = None
    ) -> WatchedDict[_K, _V] | Watched[_K, _V]:
        if instance is None:
            return self
        try:
            found: WatchedDict[_K, _V] = instance.__dict__[self._slot]
        except KeyError:
            # As any attribute not set yet, so that hasattr and getattr's default work.
            raise AttributeError(
                f"{type(instance).__name__!r} object has no attribute {self._name!r}"
            ) from None
        return found

    def __set__(self, instance: object, value: Mapping[_K, _V]) -> None:
        fresh = self._kind(value)
        old = instance.__dict__.get(self._slot)
        if old is not None:
            fresh.changes = old.changes + 1
        instance.__dict__[self._slot] = fresh


class ItemsIndex(Generic[_T, _V]):
    """An index over a dict's values in their order, for items that are only ever added:
    a read takes in those added since the last one. A move of ``changes()`` (a `WatchedDict`'s
    `changes`, a count of fields set by hand, see `counts_sets`) or fewer items than it took
    in make it again from all of them.

    Args:
        make: a new, empty index.
        add: takes one item into an index (the newest so far).
        changes: what, when it moves, makes the index again.

    Attributes:
        value: the index as of the last `over`.
        seen: how many items ``value`` holds, and ``changes()`` then.
    """

    def __init__(
        self, make: Callable[[], _T], add: Callable[[_T, _V], None], changes: Callable[[], Any]
    ) -> None:
        self._make, self._add, self._changes = make, add, changes
        self.value = make()
        self.seen: tuple[int, Any] = (0, changes())

    def over(self, items: Items[_V]) -> _T:
        """``value``, brought up to ``items``."""
        count, changes = self.seen
        now, size = self._changes(), len(items)
        if changes == now and count == size:
            # Nothing new: the common read, answered without walking past the items taken
            # in (islice steps over each of them, and a request may look here many times).
            return self.value
        if changes != now or count > size:
            self.value, count = self._make(), 0
        for item in itertools.islice(items.values(), count, None):
            self._add(self.value, item)
        self.seen = (size, now)
        return self.value


def counts_sets(counter: str) -> Callable[[Any, Any, _V], _V]:
    """An attrs ``on_setattr`` hook that adds one to ``counter``, an ``int`` class attribute
    of the class that declares it, each time a field is set after the instance was made (an
    emulator's own record a test edits by hand): what is derived from such fields is made
    again when the count moves.

    Raises:
        AttributeError: (on a set) no class of the instance declares ``counter``.
    """

    def hook(instance: Any, attribute: Any, value: _V) -> _V:
        for klass in type(instance).__mro__:
            if counter in vars(klass):
                setattr(klass, counter, getattr(klass, counter) + 1)
                return value
        raise AttributeError(f"{type(instance).__name__} declares no counter {counter!r}")

    return hook


class Drop(Exception):
    """Raised by a handler to close the connection without an answer."""


class Refusal(Exception):
    """Raised by a handler, or by anything it calls, to refuse the request: the client gets
    `Emulator.refused` of it, by default the platform's `Emulator.error` of its status,
    message and extra fields, with its headers.

    Attributes:
        status: the answer's HTTP status.
        message: the error's text.
        headers: more headers of the answer (a rate limit's, say).
        extra: more fields of the platform's error body, as `Emulator.error` takes them.
        response: the answer itself, when it was made already (see `answering`).
    """

    def __init__(
        self, status: int, message: str, *, headers: Mapping[str, str] | None = None, **extra: Any
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})
        self.extra = extra
        self.response: httpx.Response | None = None

    @classmethod
    def answering(cls, response: httpx.Response) -> Refusal:
        """A refusal answered with ``response``, made already in the platform's shape (a
        helper that builds its refusals whole, rate-limit headers and all)."""
        refusal = cls(response.status_code, f"answered {response.status_code}")
        refusal.response = response
        return refusal


@attrs.frozen
class HandlerError:
    """An exception an emulator handler did not handle (an emulator bug, never a scripted
    fault): the client got a 500.

    Attributes:
        request_line: ``"METHOD /path"`` of the request (no query: it may hold a token).
        exception: what was raised, with its traceback.
    """

    request_line: str
    exception: BaseException

    def __str__(self) -> str:
        return f"{self.request_line}: {type(self.exception).__name__}: {self.exception}"

    def traceback(self) -> str:
        """The exception's traceback, as Python prints it."""
        return "".join(traceback.format_exception(self.exception))


class _HandlerLock:
    """A reentrant lock that its owner can let go of completely for a while.

    Handlers run under the emulator's lock; one that waits on the network (a media fetch)
    lets go of it, so a slow download never holds up every other request.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        # Written only by the thread that holds the lock.
        self._owner: int | None = None
        self._depth = 0

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        if not self._lock.acquire(blocking, timeout):
            return False
        self._owner = threading.get_ident()
        self._depth += 1
        return True

    def release(self) -> None:
        self._depth -= 1
        if self._depth == 0:
            self._owner = None
        self._lock.release()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()

    @contextmanager
    def released(self) -> Iterator[None]:
        """Let go of the lock (all levels) for the block, if this thread holds it."""
        if self._owner != threading.get_ident():
            yield
            return
        depth = self._depth
        self._owner, self._depth = None, 0
        for _ in range(depth):
            self._lock.release()
        try:
            yield
        finally:
            for _ in range(depth):
                self._lock.acquire()
            self._owner, self._depth = threading.get_ident(), depth


_handling = threading.local()

_SERVED_PORT = "brandkit.served_port"


def served_port(request: httpx.Request) -> int | None:
    """The port of the emulator's socket that ``request`` came in by, or ``None`` for a
    request answered in-process (`Emulator.transport`)."""
    port = request.extensions.get(_SERVED_PORT)
    return port if isinstance(port, int) else None


@contextmanager
def unlocked() -> Iterator[None]:
    """Inside an emulator handler: let other requests to that emulator run during the block.

    For slow I/O in a handler (fetching media from a URL). Outside a handler it does
    nothing. The handler must not rely on state it read before the block staying unchanged.
    """
    stack: list[_HandlerLock] = getattr(_handling, "locks", [])
    if not stack:
        yield
        return
    with stack[-1].released():
        yield


class Clock:
    """The emulator's time: real time plus an offset that tests can advance."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def time(self) -> float:
        """Seconds since the epoch, as the emulator sees it."""
        with self._lock:
            return time.time() + self._offset

    def now(self) -> datetime:
        """The emulator's current time (aware UTC)."""
        return datetime.fromtimestamp(self.time(), UTC)

    def advance(self, seconds: float | timedelta) -> None:
        """Move the emulator's time forward (token expiry, rate windows, engagement)."""
        secs = seconds.total_seconds() if isinstance(seconds, timedelta) else seconds
        with self._lock:
            self._offset += secs

    def start_window(self, period: float) -> None:
        """Move the emulator's time forward to the start of the next window of ``period``
        seconds aligned to the epoch, as Mastodon's rate windows are.

        A test that counts requests against such a window calls it first, so that its
        requests cannot straddle a reset and all of the window lies ahead of them.

        Raises:
            ValueError: ``period`` is not a positive number of seconds.
        """
        if not period > 0:
            raise ValueError(f"period must be a positive number of seconds, not {period!r}")
        with self._lock:
            now = time.time() + self._offset
            # A millisecond past the boundary: landing on it exactly could round to the
            # second before it, the last one of the window ending.
            self._offset += period - now % period + 0.001


@attrs.define
class Fault:
    """A scripted fault: the next ``times`` requests matching ``method`` and ``path`` get it.

    Attributes:
        method: HTTP method, or ``"*"``.
        path: a regular expression matched against the whole path.
        status: answer with this status instead of handling the request.
        body: the JSON body of that answer (default: the platform's error shape).
        headers: extra headers of that answer.
        drop: ``"before"`` closes the connection without handling the request;
            ``"after"`` handles it (the post is stored) and then closes the connection.
        delay: seconds to wait before answering (slow responses).
        times: how many matching requests it applies to.
    """

    method: str = "*"
    path: str = ".*"
    status: int | None = None
    body: Any = None
    headers: dict[str, str] = attrs.field(factory=dict)
    drop: str | None = None
    delay: float = 0.0
    times: int = 1

    def matches(self, request: httpx.Request) -> bool:
        return (self.method in ("*", request.method)) and re.fullmatch(
            self.path, request.url.path
        ) is not None


def route(method: str, pattern: str) -> Callable[[Handler], Handler]:
    """Mark an emulator method as the handler of ``method`` ``pattern`` (a regex whose
    named groups become keyword arguments)."""

    def mark(fn: Handler) -> Handler:
        routes: list[tuple[str, str]] = getattr(fn, "_routes", [])
        routes.append((method, pattern))
        fn._routes = routes  # type: ignore[attr-defined]
        return fn

    return mark


class Audience:
    """Another user of the platform, whom a test scripts: what they write is held by the
    emulator and answered by its real endpoints (inbox reads, conversations, moderation),
    with the real shapes, pagination and errors.

    Get one with `Emulator.audience`. Each method returns the new message's id as the
    adapter reports it in `brandkit.Message.id`. A platform without the kind of message
    raises ``NotImplementedError`` naming what it has instead.

    Attributes:
        name: the audience member's handle (without domain).
        emulator: the emulator they are a user of.
    """

    def __init__(self, emulator: Emulator, name: str) -> None:
        self.name = name
        self.emulator = emulator

    def reply(self, post_id: str, text: str) -> str:
        """Reply to the post (or message) ``post_id`` (an id from ``Delivery.ids`` or
        ``Message.id``)."""
        return self.emulator.audience_write(self, "reply", text, target=post_id)

    def comment(self, post_id: str, text: str) -> str:
        """Comment on the post (or answer the comment) ``post_id`` (Meta, LinkedIn,
        Telegram discussion groups)."""
        return self.emulator.audience_write(self, "comment", text, target=post_id)

    def mention(self, text: str) -> str:
        """Write a post that mentions one of the emulator's accounts: the one whose handle
        ``text`` holds, else the account made last (its handle is put first)."""
        return self.emulator.audience_write(self, "mention", text)

    def quote(self, post_id: str, text: str) -> str:
        """Quote the post ``post_id``."""
        return self.emulator.audience_write(self, "quote", text, target=post_id)

    def post(self, text: str, *, lang: str | None = None) -> str:
        """Write a public post that names no one (for listening)."""
        return self.emulator.audience_write(self, "post", text, lang=lang)

    def __repr__(self) -> str:
        return f"Audience({self.name!r} on {self.emulator.platform})"


class Emulator:
    """Base class of the emulators. Subclasses set ``platform`` and decorate handlers with
    `route`; ``error()`` builds the platform's own error body, which a handler answers by
    raising `Refusal`.

    An exception a handler does not handle is an emulator bug: the client gets a 500 in the
    platform's error shape (`internal_error`), the error is kept in `errors`
    and logged, and, when `strict`, leaving [`serve`][brandkit.testing.Emulator.serve], closing the
    `transport` or calling `check` raises ``AssertionError`` listing it (clear
    [`errors`][brandkit.errors] to accept them).

    Attributes:
        clock: the emulator's clock.
        requests: every request received, in order (for request-counting tests).
        errors: the unhandled handler exceptions, in order.
        strict: whether unhandled handler exceptions fail the test (default ``True``).
        max_request_bytes: the largest request body read over a socket; a larger one is
            answered 413 (default 200 MB).
    """

    platform: ClassVar[str] = "emulator"
    strict: bool = True
    max_request_bytes: int = 200 * MB
    create_route: ClassVar[tuple[str, str]] = ("POST", "")
    """The method and path regex of the request that creates a post (for fault scripts)."""
    _table: ClassVar[list[tuple[str, re.Pattern[str], str]]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        table: list[tuple[str, re.Pattern[str], str]] = []
        for klass in reversed(cls.__mro__):
            for name, fn in vars(klass).items():
                for method, pattern in getattr(fn, "_routes", []):
                    table.append((method, re.compile(pattern), name))
        cls._table = table

    def __init__(self, *, clock: Clock | None = None, strict: bool | None = None) -> None:
        self.clock = clock or Clock()
        self.lock = _HandlerLock()
        self.requests: list[httpx.Request] = []
        self.errors: list[HandlerError] = []
        if strict is not None:
            self.strict = strict
        self._faults: list[Fault] = []
        self._base_url = "http://emulator.invalid"
        self._consent_denials = 0

    # -- what conformance tests need of every emulator ------------------------------------

    def account(self, *, name: str | None = None, **kwargs: Any) -> Any:
        """An ``Account`` with valid credentials for this emulator at `base_url`."""
        raise NotImplementedError

    def post_texts(self) -> list[str]:
        """The texts of the posts that exist now (deleted ones excluded), oldest first."""
        raise NotImplementedError

    # -- scripted consent ------------------------------------------------------------------

    def deny_consent(self, times: int = 1) -> None:
        """The next ``times`` authorizations are refused by the user: the platform's
        authorization page sends them back to the app with its refusal (``error=access_denied``
        on most; LinkedIn's ``user_cancelled_authorize``; X's OAuth 1.0a ``denied=<token>``)."""
        with self.lock:
            self._consent_denials += times

    def _consent_refused(self) -> bool:
        """Whether the user refuses the authorization under way: one that `deny_consent`
        scripted, spent by this call."""
        if self._consent_denials > 0:
            self._consent_denials -= 1
            return True
        return False

    # -- the audience (conversations) ---------------------------------------------------

    reply_route: ClassVar[tuple[str, str] | None] = None
    """The method and path regex of the request that answers a message, when it is not
    `create_route` (Meta and LinkedIn comments)."""

    def audience(self, name: str) -> Audience:
        """The audience member ``name`` (the same object for the same name)."""
        with self.lock:
            members: dict[str, Audience] = self.__dict__.setdefault("_audience", {})
            if name not in members:
                members[name] = Audience(self, name)
            return members[name]

    def audience_write(
        self,
        member: Audience,
        kind: str,
        text: str,
        *,
        target: str | None = None,
        lang: str | None = None,
    ) -> str:
        """Store what ``member`` writes (``kind`` is ``"reply"``, ``"comment"``,
        ``"mention"``, ``"quote"`` or ``"post"``) and return its id. Emulators override it.

        Raises:
            NotImplementedError: the platform has no such message.
            KeyError: ``target`` does not exist.
        """
        raise NotImplementedError(f"the {self.platform} emulator has no audience")

    def answers(self, message_id: str) -> list[str]:
        """The texts the emulator's accounts wrote directly under ``message_id`` (a post or
        message id as the adapter reports it), oldest first; deleted ones excluded."""
        raise NotImplementedError(f"the {self.platform} emulator has no conversations")

    def is_hidden(self, message_id: str) -> bool:
        """The platform shows the message ``message_id`` as hidden."""
        raise NotImplementedError(f"the {self.platform} emulator cannot hide")

    # -- faults --------------------------------------------------------------------------

    def fault(self, **kwargs: Any) -> Fault:
        """Script a fault (see `Fault` for the arguments) and return it."""
        f = Fault(**kwargs)
        with self.lock:
            self._faults.append(f)
        return f

    def clear_faults(self) -> None:
        """Forget every scripted fault."""
        with self.lock:
            self._faults.clear()

    def _take_fault(self, request: httpx.Request) -> Fault | None:
        with self.lock:
            for f in self._faults:
                if f.times > 0 and f.matches(request):
                    f.times -= 1
                    return f
        return None

    # -- answering -----------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """Where the emulator is reachable (the socket URL once served)."""
        return self._base_url

    def count(self, method: str = "*", path: str = ".*") -> int:
        """How many requests matching ``method`` and the ``path`` regex were received."""
        return sum(
            1 for r in self.requests if method in ("*", r.method) and re.fullmatch(path, r.url.path)
        )

    def error(self, status: int, message: str, **extra: Any) -> httpx.Response:
        """The platform's error response. Subclasses give it the platform's shape."""
        return self.json({"error": message, **extra}, status=status)

    def refused(self, refusal: Refusal) -> httpx.Response:
        """The answer to a `Refusal` a handler raised: its `response` if it has one, else
        `error` of its status, message and extra fields, with its headers. Subclasses whose
        platform answers some refusals otherwise override it."""
        if refusal.response is not None:
            return refusal.response
        response = self.error(refusal.status, refusal.message, **refusal.extra)
        response.headers.update(refusal.headers)
        return response

    def internal_error(self, request: httpx.Request) -> httpx.Response:
        """The answer to a request whose handler raised: the platform's 500.

        The default is `error` with status 500; subclasses whose platform answers
        differently override it.
        """
        return self.error(500, "Internal Server Error")

    def check(self) -> None:
        """Fail if a handler raised an exception it did not handle.

        Raises:
            AssertionError: [`errors`][brandkit.errors] is not empty; the message lists each request
                and its traceback. Clear [`errors`][brandkit.errors] to accept them.
        """
        with self.lock:
            errors = list(self.errors)
        if errors:
            shown = "\n".join(f"- {e}\n{e.traceback()}" for e in errors[:5])
            more = f"\n(and {len(errors) - 5} more)" if len(errors) > 5 else ""
            raise AssertionError(
                f"the {self.platform} emulator failed on {len(errors)} request(s), answering "
                f"500 (an emulator bug, not a platform answer; clear emu.errors or set "
                f"emu.strict = False to accept):\n{shown}{more}"
            )

    def _check_on_exit(self, exc: BaseException | None) -> None:
        if not self.strict or not self.errors:
            return
        if exc is None:
            self.check()
        else:  # never hide the test's own failure; say what the emulator saw
            exc.add_note(f"{self.platform} emulator errors: {'; '.join(map(str, self.errors))}")

    @staticmethod
    def json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
        """A JSON response."""
        return httpx.Response(
            status,
            content=json.dumps(data).encode(),
            headers={"content-type": "application/json; charset=utf-8", **(headers or {})},
        )

    @staticmethod
    def json_text(
        text: str, status: int = 200, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        """A JSON response whose body ``text`` is already JSON (see `JsonTemplate`)."""
        return httpx.Response(
            status,
            content=text.encode(),
            headers={"content-type": "application/json; charset=utf-8", **(headers or {})},
        )

    @staticmethod
    def html(text: str, status: int = 200) -> httpx.Response:
        """An HTML page (``text/html; charset=utf-8``): what a platform's web pages answer,
        its consent and error pages among them."""
        return httpx.Response(
            status, content=text.encode(), headers={"content-type": "text/html; charset=utf-8"}
        )

    @staticmethod
    def redirect(url: str, params: Mapping[str, str], fragment: str = "") -> httpx.Response:
        """A 302 to ``url`` with ``params`` added to its query, as an authorization page
        sends the user back to the app: each value percent-encoded in full (``/`` too),
        joined with ``&`` when ``url`` has a query already, then ``fragment`` (e.g. ``#_``)."""
        sep = "&" if "?" in url else "?"
        query = "&".join(f"{k}={quote(v, safe='')}" for k, v in params.items())
        return httpx.Response(302, headers={"location": f"{url}{sep}{query}{fragment}"})

    def grown(self, start: int, rate: float, since: float, *, per: float = 3600.0) -> int:
        """``start`` and what grew from it since ``since`` (emulator time) at ``rate`` every
        ``per`` seconds, in whole units: how emulated followers and members grow with the
        clock."""
        return start + int(max(0.0, self.clock.time() - since) / per * rate)

    def rate_limit_headers(self, request: httpx.Request) -> dict[str, str]:
        """Headers added to every answer (subclasses send their rate-limit headers)."""
        return {}

    def handle(self, request: httpx.Request) -> httpx.Response:
        """Answer one request; raises `Drop` where the connection is to be cut."""
        request.read()
        with self.lock:
            self.requests.append(request)
        fault = self._take_fault(request)
        if fault is not None:
            if fault.delay:
                time.sleep(fault.delay)
            if fault.drop == "before":
                raise Drop()
            if fault.status is not None:
                if fault.body is None:
                    resp = self.error(fault.status, "scripted fault")
                else:
                    resp = self.json(fault.body, status=fault.status)
                resp.headers.update(fault.headers)
                return resp
        try:
            response = self._dispatch(request)
        except Drop:
            raise
        except Exception as exc:
            return self._failed(request, exc)
        if fault is not None and fault.drop == "after":
            raise Drop()
        if fault is not None and fault.headers:
            response.headers.update(fault.headers)
        return response

    def _failed(self, request: httpx.Request, exc: Exception) -> httpx.Response:
        failure = HandlerError(f"{request.method} {request.url.path}", exc)
        with self.lock:
            self.errors.append(failure)
        logger.error("%s emulator: unhandled error on %s", self.platform, failure, exc_info=exc)
        try:
            return self.internal_error(request)
        except Exception:  # the error hook itself is broken: a plain 500 still
            return self.json({"error": "Internal Server Error"}, status=500)

    def _dispatch(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        allowed = False
        for method, pattern, name in self._table:
            match = pattern.fullmatch(path)
            if match is None:
                continue
            if method != request.method:
                allowed = True
                continue
            with self.lock:
                locks: list[_HandlerLock] = _handling.__dict__.setdefault("locks", [])
                locks.append(self.lock)
                try:
                    response: httpx.Response = getattr(self, name)(request, **match.groupdict())
                except Refusal as refusal:
                    response = self.refused(refusal)
                finally:
                    locks.pop()
            for key, value in self.rate_limit_headers(request).items():
                response.headers.setdefault(key, value)
            return response
        return self.unrouted(request, allowed)

    def unrouted(self, request: httpx.Request, allowed: bool) -> httpx.Response:
        """The answer to a request no route takes: 405 when the path has routes for other
        methods (``allowed``), else 404. Emulators override it with their platform's."""
        path = request.url.path
        if allowed:
            return self.error(405, f"method {request.method} not allowed on {path}")
        return self.error(404, f"no route {request.method} {path}")

    # -- in-process ----------------------------------------------------------------------

    def transport(self) -> httpx.MockTransport:
        """An httpx transport that answers from this emulator in-process (sync and async).

        A dropped connection becomes ``httpx.RemoteProtocolError``, as over a socket.
        Closing it (closing the client) runs `check` when `strict`.

        Raises:
            AssertionError: on close, when a handler failed (see `check`).
        """

        def handler(request: httpx.Request) -> httpx.Response:
            try:
                return self.handle(request)
            except Drop:
                raise httpx.RemoteProtocolError(
                    "Server disconnected without sending a response.", request=request
                ) from None

        return _Transport(handler, self)

    # -- over a socket -------------------------------------------------------------------

    @contextmanager
    def serve(self, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
        """Serve the emulator on ``host:port`` (0 picks a free port) in a background thread;
        yields its base URL, e.g. ``http://127.0.0.1:54321``.

        Raises:
            ValueError: ``host`` is not a loopback address.
            AssertionError: on leaving, when a handler failed and `strict` (see
                `check`).
        """
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise ValueError("emulators only listen on loopback")
        server_class = _Server6 if host == "::1" else _Server
        server = server_class((host, port), _handler_class(self))
        # A short poll interval makes shutdown() return in milliseconds, not half a second.
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{self.platform}-emulator",
        )
        thread.daemon = True
        thread.start()
        previous = self._base_url
        name = f"[{host}]" if host == "::1" else host
        self._base_url = f"http://{name}:{server.server_address[1]}"
        try:
            yield self._base_url
        except BaseException as exc:
            self._check_on_exit(exc)
            raise
        finally:
            self._base_url = previous
            server.shutdown()
            server.server_close()
            thread.join(5)
        self._check_on_exit(None)


class _Transport(httpx.MockTransport):
    def __init__(self, handler: Callable[[httpx.Request], httpx.Response], emu: Emulator):
        super().__init__(handler)
        self._emulator = emu

    def close(self) -> None:
        self._emulator._check_on_exit(None)

    async def aclose(self) -> None:
        self._emulator._check_on_exit(None)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver listens with a backlog of 5: a client opening more connections at once
    # than the accept thread takes in has its extra SYNs dropped and resent a second later,
    # which no platform's servers do (an AsyncClient reading many accounts opens one
    # connection each). The kernel caps it at net.core.somaxconn.
    request_queue_size = 1024

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up (a test's timeout, a killed worker) is not the emulator's
        # error; anything else still prints its traceback.
        if isinstance(sys.exc_info()[1], ConnectionResetError | BrokenPipeError):
            return
        super().handle_error(request, client_address)


class _Server6(_Server):
    address_family = socket.AF_INET6


class _BadBody(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


_HEX = re.compile(rb"[0-9A-Fa-f]{1,16}")


def _too_large(limit: int) -> str:
    return f"request body larger than the {limit} bytes this emulator accepts"


def _read_chunked(rfile: Any, limit: int) -> bytes:
    """A ``Transfer-Encoding: chunked`` body (RFC 9112 7.1): sizes in hex, extensions
    ignored, trailers read and dropped; at most ``limit`` bytes of data."""
    body = bytearray()
    while True:
        line = rfile.readline(4098)
        if not line.endswith(b"\n"):
            raise _BadBody(400, "malformed chunked body: chunk size line")
        size_text = line.split(b";", 1)[0].strip()
        if _HEX.fullmatch(size_text) is None:
            raise _BadBody(400, "malformed chunked body: chunk size")
        size = int(size_text, 16)
        if size == 0:
            break
        if len(body) + size > limit:
            raise _BadBody(413, _too_large(limit))
        chunk = rfile.read(size)
        if len(chunk) < size or rfile.readline(3) not in (b"\r\n", b"\n"):
            raise _BadBody(400, "malformed chunked body: chunk data")
        body += chunk
    for _ in range(100):  # trailer fields, up to the empty line
        line = rfile.readline(8192)
        if line in (b"\r\n", b"\n"):
            return bytes(body)
        if not line.endswith(b"\n"):
            break
    raise _BadBody(400, "malformed chunked body: trailer")


def _port_of(server: Any) -> int | None:
    """The port a socket server listens on (``None`` for a socket with no port)."""
    address = server.server_address
    return address[1] if isinstance(address, tuple) and isinstance(address[1], int) else None


def _handler_class(emulator: Emulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in separate writes; with Nagle on, each answer then waits
        # for the client's delayed ACK (about 40 ms).
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _any(self) -> None:
            try:
                body = self._body()
            except _BadBody as exc:
                # The connection cannot be trusted to be at a request boundary any more.
                self.close_connection = True
                self._answer(emulator.error(exc.status, exc.message))
                self._linger()
                return
            host = self.headers.get("host") or "127.0.0.1"
            # A stream, not content=: httpx would add a Content-Length the client did not
            # send (a chunked request has none), and handlers see the headers as sent.
            request = httpx.Request(
                self.command,
                f"http://{host}{self.path}",
                headers=list(self.headers.items()),
                stream=httpx.ByteStream(body),
                # Where it came in (see `served_port`): the names of that socket are the
                # emulator's own, whatever a client in-process calls it.
                extensions={_SERVED_PORT: _port_of(self.server)},
            )
            try:
                response = emulator.handle(request)
            except Drop:
                self.close_connection = True
                self.connection.shutdown(2)
                return
            self._answer(response)

        def _answer(self, response: httpx.Response) -> None:
            content = response.content
            # send_response() would add a second Date header next to the emulator's own.
            self.send_response_only(response.status_code, _reason(response))
            if "date" not in response.headers:
                self.send_header("Date", self.date_time_string())
            if "server" not in response.headers:
                self.send_header("Server", f"brandkit-{emulator.platform}-emulator")
            for key, value in response.headers.multi_items():
                if key.lower() in ("content-length", "transfer-encoding", "connection"):
                    continue
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(content)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(content)

        def _linger(self) -> None:
            """Close as servers do after refusing a body: say "no more" first, then read
            and drop what the client is still sending (bounded), so the refusal is not lost
            to a connection reset."""
            try:
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_WR)
                self.connection.settimeout(1.0)
                for _ in range(64):  # at most 4 MB
                    if not self.connection.recv(65536):
                        break
            except OSError:
                pass

        def _body(self) -> bytes:
            """The request body, de-chunked, at most ``max_request_bytes``.

            Raises:
                _BadBody: too large (413) or not valid HTTP/1.1 framing (400).
            """
            limit = emulator.max_request_bytes
            encoding = (self.headers.get("transfer-encoding") or "").strip().lower()
            if encoding:
                if encoding.rsplit(",", 1)[-1].strip() != "chunked":
                    raise _BadBody(400, f"unsupported Transfer-Encoding {encoding[:40]!r}")
                return _read_chunked(self.rfile, limit)
            raw = self.headers.get("content-length")
            if not raw:
                return b""
            if not raw.strip().isdigit():
                raise _BadBody(400, "invalid Content-Length")
            length = int(raw)
            if length > limit:
                raise _BadBody(413, _too_large(limit))
            body: bytes = self.rfile.read(length)
            if len(body) < length:
                raise _BadBody(400, "the request body ended early")
            return body

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _any

    return Handler
