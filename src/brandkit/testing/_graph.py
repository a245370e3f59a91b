"""What the Facebook, Instagram and Threads emulators share: Meta's Graph API conventions.

- Versioned paths (``/v25.0/...``), the token in ``Authorization: Bearer|OAuth`` or in an
  ``access_token`` parameter, parameters in the query, a form, multipart or JSON.
- Meta's error envelope ``{"error": {"message", "type", "code", "error_subcode",
  "is_transient", "error_user_title", "error_user_msg", "fbtrace_id"}}`` with HTTP 400 for
  refusals (expired tokens included) and 500 with code 2 for "unexpected error".
- Tokens that expire by the emulator clock (code 190, subcode 463) or are revoked
  (subcode 460).
- Rate limits in Meta's style: every call counts against the app and against the business
  object it acts for (a Page, an Instagram or Threads account) in rolling windows; every
  answer carries ``X-App-Usage`` and (for business objects) ``X-Business-Use-Case-Usage``
  as usage percentages; past 100 % calls are refused with the platform's throttling code
  and ``estimated_time_to_regain_access`` (whole minutes, as Meta sends it). Refused calls
  count too: Meta says continued calls extend the block.
- Every answer carries a ``Date`` header by the emulator clock.
- Batch requests (``POST /{version}/`` with ``batch``, at most 50 sub-requests, each counted
  as a call) and field expansion (``fields=comments.summary(true).limit(0),insights.metric(a,b)``).
- `GraphEmulator.fail_after_store`: the request is carried out, then answered with
  Meta's 500 code 2, as Meta sometimes does for posts it did create.
- ``GET /me`` and ``GET /me/{edge}`` (versioned or not): the node the token acts for, answered
  as if its id had been asked for (a Page token's ``/me`` is the Page, a user token's the user).
- Edges page the way Meta pages them (`GraphEmulator.edge_page`): ``limit`` (25 by
  default, at most 100), opaque ``paging.cursors.before``/``after`` that name the item they
  stand at (so comments added meanwhile do not shift them; once that item is deleted, the
  cursor is refused with code 100, as Meta documents such cursors "invalidated"),
  ``paging.next`` while there is more and ``paging.previous`` when there is something
  before, for an edge read at its own address and for one expanded inside another node
  (``comments.limit(100){...}``); those links are written as Graph writes them
  (`GraphEmulator.paging_link`: the token, ``pretty=0``, the request's parameters and the
  cursor), so a client can GET them verbatim.
- Comments, the only "reply" Facebook and Instagram have: a store of them
  (`Comment`), `GraphEmulator.add_comment` and the audience (``emu.audience("fan1")
  .comment(post_id_or_comment_id, text)``) for the audience's comments in tests, hiding,
  deleting and liking; `GraphEmulator.answers` and `GraphEmulator.is_hidden` for tests to
  look at what the account did; each platform answers them in its own shape. Private
  replies to a commenter (the Send API's ``recipient.comment_id``,
  `GraphEmulator.send_private_reply`): one per comment, within 7 days, never to the
  account's own comment; `GraphEmulator.private_reply` shows what was sent.
- A path Graph has no edge for is 400 code 2500 "Unknown path components"
  (`GraphEmulator.unrouted`).
- `MediaFetchingEmulator`: what Instagram and Threads share, containers that download
  their media from a URL and process by the emulator clock, a carousel's ``children`` read
  one way (each platform says its largest carousel and its refusals), publishing them (the
  account, its publish permission, ``creation_id``; each platform refuses a missing
  container in its own words), accounts with a user and a 60-day token, ``GET
  /refresh_access_token``, publishing quotas per rolling 24 hours.
- Engagement and followers grow with the emulator clock the same way on every Meta
  platform (`GraphEmulator.clock_engagement`, `followers_at`); tests add to it with
  `GraphEmulator.engage`.
- Meta's login for Instagram and Threads (`MediaFetchingEmulator.oauth_app`): ``GET
  /oauth/authorize`` (the user consents at once, or refuses after `deny_consent`), ``POST
  /oauth/access_token`` (single-use codes, the redirect URI checked, a 1-hour token),
  ``GET /access_token`` (the short-lived token for a 60-day one), errors in Meta's envelope.
- What the user grants at the login dialog (every Meta emulator): `decline_permissions`
  makes the next login uncheck some of the permissions asked for, so its token is granted
  the others only; `GraphEmulator.permissions_of` answers ``/{user-id}/permissions``
  (``{"data": [{"permission", "status": "granted"|"declined"}]}``) for the emulators whose
  platform has that edge (Facebook).
"""

from __future__ import annotations

import base64
import bisect
import collections
import functools
import hashlib
import io
import json
import math
import re
import secrets
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any, ClassVar, Generic, TypeAlias, TypeVar
from urllib.parse import parse_qsl

import attrs
import httpx

from brandkit.accounts import Account
from brandkit.content._media import _dimensions
from brandkit.testing._emulator import (
    Audience,
    Clock,
    Emulator,
    ItemsIndex,
    Refusal,
    WatchedDict,
    counts_sets,
    route,
)
from brandkit.testing._forms import MultipartError, parse_multipart
from brandkit.testing._mediahost import LoopbackMediaHost

__all__ = [
    "OMIT",
    "Comment",
    "Container",
    "Field",
    "GraphEmulator",
    "GraphError",
    "MediaFetchingEmulator",
    "NodeFields",
    "Published",
    "Token",
    "graph_time",
    "insight",
    "parse_fields",
]

Handler: TypeAlias = Callable[..., httpx.Response]
VERSION = r"(?P<version>v\d+\.\d+)"
NODE = r"(?P<node>[0-9]+(?:_[0-9]+)?)"

# The request a Graph handler is answering: its origin, the token it was made with and its
# version (None: unversioned), for the paging links written deep inside field expansion
# (Meta puts the token and the request's version in them).
_ANSWERING: ContextVar[tuple[str, str | None, str | None] | None] = ContextVar(
    "_ANSWERING", default=None
)
_LOOPBACK = ("127.0.0.1", "::1", "localhost")


class GraphError(Refusal):
    """Raised by a handler (or anything it calls): answer with Meta's error envelope (the
    `Refusal` the Graph emulators answer in `GraphEmulator.refused`)."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        *,
        subcode: int | None = None,
        kind: str = "OAuthException",
        transient: bool | None = None,
        user_title: str | None = None,
        user_msg: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(status, message, headers=headers)
        self.code = code
        self.subcode = subcode
        self.kind = kind
        self.transient = transient
        self.user_title = user_title
        self.user_msg = user_msg


@attrs.define
class Token:
    """An access token the emulator issued.

    Attributes:
        value: the token.
        owner: the id it acts for (a Page, a user, an Instagram or Threads account).
        kind: ``"page"``, ``"user"``, ``"instagram"`` or ``"threads"``.
        issued_at: emulator time of issue.
        expires_at: emulator time of expiry (``None``: never).
        revoked: refused from now on.
        scopes: the permissions the user granted (``None``: every permission).
    """

    value: str
    owner: str
    kind: str
    issued_at: float
    expires_at: float | None = None
    revoked: bool = False
    scopes: tuple[str, ...] | None = None


@attrs.frozen
class Field:
    """One entry of a ``fields=`` list: ``name``, its modifiers (``summary``, ``limit``,
    ``metric``, ...) and a nested field list."""

    name: str
    modifiers: Mapping[str, str] = attrs.field(factory=dict)
    subfields: str | None = None


def _split_top(text: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "({":
            depth += 1
        elif ch in ")}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def parse_fields(spec: str | None) -> list[Field]:
    """Parse Graph field expansion: ``id,comments.summary(true).limit(0){id},...``.

    Raises:
        GraphError: the syntax is broken (Meta answers code 100).
    """
    out: list[Field] = []
    for part in _split_top(spec or ""):
        match = re.match(r"[A-Za-z_][\w]*", part)
        if match is None:
            raise GraphError(400, 100, f'(#100) Syntax error "Expected name." at {part!r}')
        name, rest = match.group(0), part[match.end() :]
        modifiers: dict[str, str] = {}
        subfields = None
        while rest:
            mod = re.match(r"\.([A-Za-z_]\w*)\(([^()]*)\)", rest)
            if mod is not None:
                modifiers[mod.group(1)] = mod.group(2)
                rest = rest[mod.end() :]
                continue
            if rest.startswith("{") and rest.endswith("}"):
                subfields, rest = rest[1:-1], ""
                continue
            raise GraphError(400, 100, f'(#100) Syntax error "Expected end of string" in {part!r}')
        out.append(Field(name, modifiers, subfields))
    return out


def graph_time(ts: float) -> str:
    """A Graph timestamp, ``2019-08-12T03:45:11+0000``."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def _renders_every_comment(
    spec: str, names: frozenset[str], default: str, nesting: frozenset[str]
) -> bool:
    """Whether every comment renders with the field list ``spec`` without a refusal, and
    shows its own ``id``: it parses, names only the comment fields ``names`` (``nesting``
    those rendering comments with their own nested list, checked so in turn, ``default``
    when it is empty; any other with a nested list or modifiers fails the check), gives
    no other field the name ``id`` (``.as(id)``), and sets no nested edge a cursor (whose
    comment may be gone) or a ``limit`` that is no number. What passes fails for no
    comment; what does not may fail for some, or for none."""
    try:
        parsed = parse_fields(spec)
    except GraphError:
        return False
    for field in parsed:
        if field.name not in names:
            return False
        if field.name != "id" and field.modifiers.get("as", field.name) == "id":
            return False
        if field.name not in nesting:
            # A field not known to nest may still render more (with a nested list or
            # modifiers): only a plain one is surely safe.
            if field.subfields or set(field.modifiers) - {"as"}:
                return False
            continue
        if "after" in field.modifiers or "before" in field.modifiers:
            return False
        try:
            _limit(field.modifiers.get("limit"))
        except GraphError:
            return False
        if not _renders_every_comment(field.subfields or default, names, default, nesting):
            return False
    return True


def no_field(name: str, node_type: str) -> GraphError:
    """Meta's refusal of a field the node type does not have (code 100)."""
    return GraphError(
        400, 100, f"(#100) Tried accessing nonexisting field ({name}) on node type ({node_type})"
    )


OMIT: Any = object()
"""A field getter's answer for "leave the field out" (Meta omits empty optional fields)."""


@attrs.frozen
class NodeFields:
    """What a node answers ``fields=`` with (`render_fields`).

    Attributes:
        getters: each field's getter, by name.
        default: the fields answered when none are asked.
        node_type: Graph's name of the node's type (for the refusal of a field it lacks).
    """

    getters: Mapping[str, Callable[[Field], Any]]
    default: str
    node_type: str


def render_fields(
    fields: str | None,
    default: str,
    getters: Mapping[str, Callable[[Field], Any]],
    node_type: str,
    node_id: str,
) -> dict[str, Any]:
    """A node's answer to ``fields=``: each asked field from its getter (which gets the parsed
    `Field`, for nested lists and modifiers) under its name or its ``.as()`` alias,
    ``id`` always present.

    Raises:
        GraphError: a field the node type does not have (code 100), or broken syntax.
    """
    out: dict[str, Any] = {}
    for field in parse_fields(fields or default):
        getter = getters.get(field.name)
        if getter is None:
            raise no_field(field.name, node_type)
        value = getter(field)
        if value is not OMIT:
            # ``.as(alias)`` renames a field in the answer (several views of one edge).
            out[field.modifiers.get("as", field.name)] = value
    out.setdefault("id", node_id)
    return out


def hide_param(params: Mapping[str, Any]) -> bool:
    """The ``hide`` parameter of a hide or unhide call (Instagram's comments, Threads'
    replies).

    Raises:
        GraphError: it is missing (code 100).
    """
    if "hide" not in params:
        raise GraphError(400, 100, "(#100) The parameter hide is required.")
    return truthy(params["hide"])


def graph_unix(value: Any) -> float | None:
    """A ``since``/``until`` parameter: a unix time or an ISO date (``None`` when absent).

    Raises:
        GraphError: neither (code 100).
    """
    if value in (None, ""):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        try:
            return datetime.fromisoformat(str(value)).replace(tzinfo=UTC).timestamp()
        except ValueError:
            raise GraphError(400, 100, f"(#100) Invalid time {value!r}") from None


def in_window(at: float, since: float | None, until: float | None) -> bool:
    """``at`` lies within ``since``/``until`` (both ends included; a ``None`` end is open)."""
    return (since is None or at >= since) and (until is None or at <= until)


def image_size(mime: str, data: bytes) -> tuple[int, int] | None:
    """Width and height of an uploaded image (as brandkit's media probe reads them)."""
    return _dimensions(mime, data, io.BytesIO(data))


_SHORTCODE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"


def shortcode(seed: str) -> str:
    """An 11-character permalink code (Instagram's and Threads' ``/p/{code}``), stable per
    id."""
    digest = hashlib.sha256(seed.encode()).digest()
    return "".join(_SHORTCODE[b % len(_SHORTCODE)] for b in digest[:11])


def metric_names(raw: Any, allowed: tuple[str, ...]) -> list[str]:
    """The ``metric=`` list of an insights call, each checked against ``allowed``.

    Raises:
        GraphError: none given, or one not in ``allowed`` (code 100, Meta's wording).
    """
    names = [n.strip() for n in str(raw or "").split(",") if n.strip()]
    if not names:
        raise GraphError(400, 100, "(#100) The parameter metric is required")
    for i, name in enumerate(names):
        if name not in allowed:
            raise GraphError(
                400,
                100,
                f"(#100) metric[{i}] must be one of the following values: " + ", ".join(allowed),
            )
    return names


def insight(
    node: str,
    name: str,
    value: Any,
    *,
    period: str,
    title: str,
    description: str,
    total: bool = False,
) -> dict[str, Any]:
    """One entry of an insights answer's ``data`` as Meta writes it on every platform:
    ``name``, ``period``, the value (``values: [{"value"}]``, or with ``total``
    ``total_value: {"value"}``, as Threads' user insights give a total over the period),
    ``title``, ``description`` and ``id`` (``{node}/insights/{name}/{period}``). The title
    and description are each emulator's own words (Meta's are prose per metric)."""
    entry: dict[str, Any] = {"name": name, "period": period}
    if total:
        entry["total_value"] = {"value": value}
    else:
        entry["values"] = [{"value": value}]
    entry.update(title=title, description=description, id=f"{node}/insights/{name}/{period}")
    return entry


@attrs.define
class Comment:
    """A comment the emulator holds (Facebook and Instagram).

    Attributes:
        id: the comment's id.
        on: the post or media it is on.
        parent: the comment it replies to (``None``: a top-level comment).
        author_id: who wrote it (the Page, the Instagram account, or an audience member).
        author_name: their name (Instagram: username).
        text: the comment's text.
        created_at: emulator time it was written.
        by_owner: written through the API by the account that owns the post.
        hidden: hidden by the owner (still listed to the owner, flagged).
        deleted_at: emulator time of deletion, if deleted.
        liked: liked by the account that owns the post.
    """

    id: str
    on: str = attrs.field(on_setattr=counts_sets("changes"))
    parent: str | None = attrs.field(on_setattr=counts_sets("changes"))
    author_id: str
    author_name: str
    text: str
    created_at: float
    by_owner: bool
    hidden: bool = False
    deleted_at: float | None = attrs.field(default=None, on_setattr=counts_sets("changes"))
    liked: bool = False

    changes: ClassVar[int] = 0
    """How many times a comment's ``on``, ``parent`` or ``deleted_at`` was set after it was
    made (a delete): the index of live comments is made again when it moves."""


@attrs.define
class _LiveComments:
    """The live comments by post, and by post and parent, each in the order made."""

    on: dict[str, list[Comment]] = attrs.field(factory=dict)
    under: dict[tuple[str, str | None], list[Comment]] = attrs.field(factory=dict)

    def add(self, c: Comment) -> None:
        """Take in a comment newer than those taken so far (a deleted one is not live)."""
        if c.deleted_at is None:
            self.on.setdefault(c.on, []).append(c)
            self.under.setdefault((c.on, c.parent), []).append(c)


def graph_api(*, auth: bool = True, counted: bool = True) -> Callable[[Handler], Handler]:
    """Wrap a handler: parameters, the token, rate limits and usage headers.

    The handler is called as ``fn(self, request, token=..., params=..., files=..., **groups)``
    and may raise `GraphError`.
    """

    def wrap(fn: Handler) -> Handler:
        @functools.wraps(fn)
        def handler(self: GraphEmulator, request: httpx.Request, **kwargs: Any) -> httpx.Response:
            return self._run(fn, request, kwargs, auth=auth, counted=counted)

        return handler

    return wrap


@attrs.define
class _AfterStore:
    method: str
    path: str
    times: int


class GraphEmulator(Emulator):
    """The Graph API machinery of Meta's emulators (see the module docstring).

    Args:
        clock: the emulator's clock.
        rate_limits: ``{"app": (calls, seconds), "account": (calls, seconds)}``: the app's
            and each business object's budget in a rolling window (merged over the
            platform's defaults). Small windows (e.g. ``(5, 2.0)``) make tests hit them.
        token_ttl: seconds until tokens issued by `account` expire (``None``: the
            platform's default).
        engagement_rate: what a post gathers an hour by the clock (Facebook: reactions;
            Instagram, Threads: likes), times a per-post weight of 1 to 5.
    """

    usage_type: ClassVar[str | None] = None
    """The ``type`` in ``X-Business-Use-Case-Usage`` (``None``: only ``X-App-Usage``)."""
    throttle_code: ClassVar[int] = 4
    throttle_message: ClassVar[str] = "(#4) Application request limit reached"
    default_rate_limits: ClassVar[dict[str, tuple[int, float]]] = {
        "app": (100_000, 3600.0),
        "account": (4800, 86_400.0),
    }
    default_token_ttl: ClassVar[float | None] = None
    id_base: ClassVar[int] = 100_000_000_000_000
    version_pattern: ClassVar[str] = r"v\d+\.\d+"
    """The API versions the platform has (Threads: only ``v1.0``)."""
    version: str = "v25.0"
    """The version unversioned calls use (and accounts pin, where the platform has a
    choice)."""
    engagement_kinds: ClassVar[tuple[str, ...]] = ()
    """What `engage` adds to (``reactions``, ``likes``, ``saved``, ...)."""
    comment_nesting: ClassVar[frozenset[str]] = frozenset()
    """The comment fields whose answer renders comments with the field's nested list (a
    reply's parent, a comment's replies); a comment field with a nested list or modifiers
    that is not named here makes an edge render every comment (`_comment_render`)."""
    unsupported_kind: ClassVar[str] = "GraphMethodException"
    """The error ``type`` of "Unsupported get/post/delete request" refusals."""
    unsupported_tail: ClassVar[str] = (
        " Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api"
    )

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        rate_limits: Mapping[str, tuple[int, float]] | None = None,
        token_ttl: float | None = None,
        engagement_rate: float = 6.0,
    ) -> None:
        super().__init__(clock=clock)
        self.engagement_rate = engagement_rate
        self.rate_limits: dict[str, tuple[int, float]] = {
            **self.default_rate_limits,
            **(rate_limits or {}),
        }
        self.token_ttl = token_ttl if token_ttl is not None else self.default_token_ttl
        self._tokens: dict[str, Token] = {}
        self._calls: dict[str, collections.deque[float]] = {}
        self._after_store: list[_AfterStore] = []
        self._last_id = self.id_base
        self._comments: WatchedDict[str, Comment] = WatchedDict()
        # The live comments by post and by parent: takes in those made since the last read,
        # made again when a comment is deleted (see `Comment.changes`).
        self._live_comments = ItemsIndex(
            _LiveComments, _LiveComments.add, lambda: (self._comments.changes, Comment.changes)
        )
        # Private replies (the Send API with recipient.comment_id): comment id -> (the
        # message's id, its text); one per comment, as Meta allows.
        self._private_replies: dict[str, tuple[str, str]] = {}
        self._people: dict[str, str] = {}
        self._apps: dict[str, MetaOAuthApp] = {}
        self._codes: dict[str, _MetaCode] = {}
        self._deny_next = 0
        self._decline_next: tuple[str, ...] = ()
        # What each user told the login dialog, by user id: {permission: status}.
        self._grants: dict[str, dict[str, str]] = {}
        self.consent_as = "brandkit_connected"
        """Who consents at the login dialog (a username, or a user's name on Facebook)."""

    # -- public helpers --------------------------------------------------------------------

    def issue_token(
        self,
        owner: str,
        kind: str,
        *,
        ttl: float | None = None,
        scopes: tuple[str, ...] | None = None,
    ) -> str:
        """Issue a token for ``owner`` (valid for ``ttl`` seconds of the emulator clock),
        granting ``scopes`` (``None``: every permission)."""
        now = self.clock.time()
        value = f"EAAB{secrets.token_urlsafe(40)}"
        life = ttl if ttl is not None else self.token_ttl
        with self.lock:
            self._tokens[value] = Token(
                value, owner, kind, now, now + life if life is not None else None, scopes=scopes
            )
        return value

    def token_answer(
        self, owner: str, kind: str, ttl: float, scopes: tuple[str, ...] | None
    ) -> httpx.Response:
        """Issue a ``kind`` token for ``owner`` living ``ttl`` seconds and granting ``scopes``,
        answered as Meta's token endpoints answer one: ``{"access_token", "token_type":
        "bearer", "expires_in"}``."""
        value = self.issue_token(owner, kind, ttl=ttl, scopes=scopes)
        return self.json({"access_token": value, "token_type": "bearer", "expires_in": int(ttl)})

    @staticmethod
    def require_permission(token: Token, *any_of: str) -> None:
        """Refuse a call whose token was granted none of ``any_of`` (a login that left out
        the publish permission), as Meta does: 403, code 200.

        Raises:
            GraphError: the token lacks every one of them.
        """
        if token.scopes is None or any(p in token.scopes for p in any_of):
            return
        raise GraphError(
            403,
            200,
            f"(#200) Requires {' or '.join(any_of)} permission to manage the object",
        )

    def token_info(self, value: str) -> Token:
        """What the emulator knows of a token.

        Raises:
            KeyError: the emulator never issued it.
        """
        with self.lock:
            return self._tokens[value]

    def expire_tokens(self, kind: str | None = None) -> None:
        """Make every token (or every token of ``kind``) expired from now on: requests with
        them get code 190, subcode 463."""
        now = self.clock.time()
        with self.lock:
            for token in self._tokens.values():
                if kind is None or token.kind == kind:
                    token.expires_at = now
                    token.issued_at = min(token.issued_at, now)

    def revoke_tokens(self, kind: str | None = None) -> None:
        """Invalidate every token (or every token of ``kind``): code 190, subcode 460."""
        with self.lock:
            for token in self._tokens.values():
                if kind is None or token.kind == kind:
                    token.revoked = True

    def set_rate_limit(self, scope: str, calls: int, window: float) -> None:
        """Change the ``"app"`` or ``"account"`` budget, e.g. to 5 calls per 2 s."""
        with self.lock:
            self.rate_limits[scope] = (calls, window)

    def fail_after_store(self, method: str = "POST", path: str = ".*", times: int = 1) -> None:
        """The next ``times`` matching requests are carried out (a post is created), then
        answered with Meta's HTTP 500, code 2 "unexpected error" (``platforms.md`` §5.4)."""
        with self.lock:
            self._after_store.append(_AfterStore(method, path, times))

    def usage(self, owner: str | None = None) -> int:
        """The usage percentage Meta would report now for the app (or for ``owner``)."""
        with self.lock:
            if owner is None:
                return self._percent("app", "app", self.clock.time())
            return self._percent("account", owner, self.clock.time())

    def engage(self, post_id: str, **counts: int) -> None:
        """Add engagement to a post on top of what the clock brings, e.g.
        ``engage(id, reactions=3)``; the platform's kinds are `engagement_kinds`.

        Raises:
            KeyError: no post has that id.
            TypeError: a kind the platform does not count.
        """
        unknown = sorted(set(counts) - set(self.engagement_kinds))
        if unknown:
            raise TypeError(
                f"{type(self).__name__}.engage() counts {', '.join(self.engagement_kinds)}; "
                f"not {', '.join(unknown)}"
            )
        with self.lock:
            extra = self.engagement_of(post_id)
            for key, value in counts.items():
                extra[key] = extra.get(key, 0) + value

    def clock_engagement(self, created_at: float, post_id: str) -> int:
        """What a post made at ``created_at`` has gathered by now from the clock alone:
        `engagement_rate` an hour times a weight of 1 to 5 drawn from its id (from the last
        part of Facebook's ``{page}_{post}``)."""
        hours = max(0.0, self.clock.time() - created_at) / 3600
        weight = 1 + int(post_id.rsplit("_", 1)[-1]) % 5
        return int(hours * self.engagement_rate * weight)

    @staticmethod
    def add_engagement(counts: dict[str, int], extra: Mapping[str, int]) -> None:
        """Add to a post's ``counts`` what tests gave it with `engage` (``extra``)."""
        for key, value in extra.items():
            counts[key] = counts.get(key, 0) + value

    def engagement_of(self, post_id: str) -> dict[str, int]:
        """The engagement tests added to a post (platforms override it).

        Raises:
            KeyError: no post has that id.
        """
        raise KeyError(post_id)

    # -- comments --------------------------------------------------------------------------

    def add_comment(
        self,
        object_id: str,
        *,
        author: str = "Audience Member",
        text: str,
        reply_to: str | None = None,
    ) -> str:
        """An audience member comments on a post (or, with ``reply_to``, answers a comment),
        as the platform would show it to the account; returns the comment's id.

        Raises:
            KeyError: no live post or media has that id, or no live comment ``reply_to``.
        """
        with self.lock:
            if self.comment_owner(object_id) is None:
                raise KeyError(object_id)
            if reply_to is not None:
                parent = self._comments.get(reply_to)
                if parent is None or parent.deleted_at is not None or parent.on != object_id:
                    raise KeyError(reply_to)
                reply_to = self.answer_target(parent).id
            person = self._people.setdefault(author, self.new_id())
            return self.store_comment(object_id, reply_to, person, author, text).id

    def audience_write(
        self,
        member: Audience,
        kind: str,
        text: str,
        *,
        target: str | None = None,
        lang: str | None = None,
    ) -> str:
        """A comment by ``member`` on the post ``target``, or an answer to the comment
        ``target`` (``kind`` ``"comment"``, or ``"reply"`` as its synonym); returns the
        comment's id.

        Raises:
            NotImplementedError: a mention, quote or plain post (the platform has only
                comments on the account's posts to read).
            KeyError: ``target`` is no live post or comment.
        """
        if kind not in ("comment", "reply"):
            raise NotImplementedError(
                f"the {self.platform} emulator holds comments only (its API reads no {kind}s "
                "without webhooks): use audience(...).comment(post_id_or_comment_id, text)"
            )
        if target is None:
            raise KeyError("a comment needs the post or comment it answers")
        with self.lock:
            if self.comment_owner(target) is not None:
                return self.add_comment(target, author=member.name, text=text)
            parent = self.live_comment(target)
            if parent is None:
                raise KeyError(target)
            return self.add_comment(parent.on, author=member.name, text=text, reply_to=target)

    def answers(self, message_id: str) -> list[str]:
        """The texts the account wrote directly under the comment ``message_id`` (or on the
        post ``message_id``), oldest first; deleted ones excluded."""
        with self.lock:
            return [
                c.text
                for c in self._comments.values()
                if c.by_owner
                and c.deleted_at is None
                and (c.parent == message_id or (c.parent is None and c.on == message_id))
            ]

    def is_hidden(self, message_id: str) -> bool:
        """The comment ``message_id`` is hidden.

        Raises:
            KeyError: no comment has that id.
        """
        with self.lock:
            return self._comments[message_id].hidden

    def comments(self, object_id: str) -> list[Comment]:
        """The comments (and replies) on a post that exist now, hidden ones included, oldest
        first."""
        with self.lock:
            return [attrs.evolve(c) for c in self._live_on(object_id)]

    def comment(self, comment_id: str) -> Comment:
        """One comment (deleted ones too, with ``deleted_at`` set).

        Raises:
            KeyError: no comment has that id.
        """
        with self.lock:
            return attrs.evolve(self._comments[comment_id])

    def answer_target(self, comment: Comment) -> Comment:
        """The comment an answer to ``comment`` goes under: itself, or for a reply its
        top-level comment (Facebook and Instagram keep one level: an answer to a reply
        joins its comment)."""
        if comment.parent is None:
            return comment
        return self._comments[comment.parent]

    def comment_getters(self, c: Comment) -> NodeFields:
        """A comment's fields (platforms with comments override it)."""
        raise NotImplementedError

    def comment_fields(self, c: Comment, fields: str | None) -> dict[str, Any]:
        """A comment's answer to ``fields=`` (`comment_getters`).

        Raises:
            GraphError: a field comments do not have, or broken syntax (code 100).
        """
        node = self.comment_getters(c)
        return render_fields(fields, node.default, node.getters, node.node_type, c.id)

    def comments_page(
        self, request: httpx.Request, items: list[Comment], params: Mapping[str, Any]
    ) -> dict[str, Any]:
        """One page of a comments edge read at its own address (see `page_of`), each
        comment rendered with the asked ``fields``.

        Raises:
            GraphError: a bad ``limit`` or cursor, or a field comments do not have (code 100).
        """
        fields = params.get("fields")
        render = self._comment_render(items, fields)
        if render is None:
            rendered = [self.comment_fields(c, fields) for c in items]
            return self.page_of(request, rendered, params)
        return self.page_of(request, items, params, render=render)

    def comment_edge(self, node: str, edge: str, items: list[Comment], f: Field) -> dict[str, Any]:
        """A comments edge expanded in a node's ``fields`` (see `nested_edge`), each comment
        rendered with the field's nested list.

        Raises:
            GraphError: a bad ``limit`` or cursor, or a field comments do not have (code 100).
        """
        render = self._comment_render(items, f.subfields)
        if render is None:
            rendered = [self.comment_fields(c, f.subfields) for c in items]
            return self.nested_edge(node, edge, rendered, f)
        return self.nested_edge(node, edge, items, f, render=render)

    def _comment_render(
        self, items: list[Comment], fields: str | None
    ) -> Callable[[Comment], dict[str, Any]] | None:
        """`comment_fields` with ``fields``, for an edge of ``items`` to render the comments
        of the page it answers alone; ``None`` when that could answer otherwise than
        rendering every comment first: when rendering some comment may fail (Graph then
        answers the first failure, whatever the page), or a comment's answer may show
        another ``id`` than its own (a cursor names its item by the ``id`` shown)."""
        if not items:
            return None
        node = self.comment_getters(items[0])
        if not _renders_every_comment(
            fields or node.default, frozenset(node.getters), node.default, self.comment_nesting
        ):
            return None
        return lambda c: self.comment_fields(c, fields)

    def comment_owner(self, object_id: str) -> str | None:
        """The account (Page, Instagram user) owning a live post that takes comments
        (``None``: no such post). Platforms with comments override it."""
        return None

    def comment_id(self, object_id: str) -> str:
        """A new comment id (Facebook's are ``{post}_{comment}``)."""
        return self.new_id()

    def store_comment(
        self,
        object_id: str,
        parent: str | None,
        author_id: str,
        author_name: str,
        text: str,
        *,
        by_owner: bool = False,
    ) -> Comment:
        """Keep a new comment and return it."""
        comment = Comment(
            id=self.comment_id(object_id),
            on=object_id,
            parent=parent,
            author_id=author_id,
            author_name=author_name,
            text=text,
            created_at=self.clock.time(),
            by_owner=by_owner,
        )
        self._comments[comment.id] = comment
        return comment

    def private_reply(self, comment_id: str) -> str | None:
        """The text the account sent in private (a direct message) to the author of the
        comment ``comment_id``, if it did."""
        with self.lock:
            sent = self._private_replies.get(comment_id)
            return sent[1] if sent is not None else None

    def private_refusal(self, c: Comment) -> GraphError | None:
        """Why the account may not answer the comment ``c`` in private (``None``: it may):
        Meta's private replies send one message per comment, within 7 days of it, and
        never to the account's own comment."""
        if c.id in self._private_replies:
            return GraphError(400, 10900, "(#10900) Activity already replied to")
        if c.by_owner:
            return GraphError(400, 10902, "(#10902) This is not a Replyable activity")
        if self.clock.time() - c.created_at >= _PRIVATE_REPLY_WINDOW:
            return GraphError(400, 10903, "(#10903) This user can't reply to this activity")
        return None

    def send_private_reply(self, owner: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """A private reply by the account ``owner`` (a Page, an Instagram account) as the
        Send API takes it: ``recipient={"comment_id": ...}`` and ``message={"text": ...}``
        (JSON, or their JSON text in a form); its answer ``{"recipient_id",
        "message_id"}``. A recipient by id (a conversation) is not emulated.

        Raises:
            GraphError: no comment recipient (code 100, subcode 2018001), an empty message
                (2018034), a comment not on the account's posts (subcode 33), or one it may
                not answer in private (`private_refusal`).
        """
        recipient = _json_param(params, "recipient")
        message = _json_param(params, "message")
        comment_id = str(recipient.get("comment_id") or "")
        if not comment_id:
            raise GraphError(400, 100, "(#100) No matching user found", subcode=2018001)
        text = message.get("text")
        if not isinstance(text, str) or not text.strip():
            raise GraphError(400, 100, "(#100) Message cannot be empty", subcode=2018034)
        comment = self.live_comment(comment_id)
        if comment is None or self.comment_owner(comment.on) != owner:
            raise self.unsupported("post", comment_id)
        refusal = self.private_refusal(comment)
        if refusal is not None:
            raise refusal
        message_id = "m_" + secrets.token_urlsafe(32)
        self._private_replies[comment.id] = (message_id, text)
        # The author's id as this account sees it (page- or app-scoped), not their own.
        digest = hashlib.sha256(f"{owner}:{comment.author_id}".encode()).hexdigest()
        return {"recipient_id": str(int(digest, 16))[:16], "message_id": message_id}

    def live_comment(self, comment_id: str) -> Comment | None:
        """A comment that exists now and whose post exists now."""
        comment = self._comments.get(comment_id)
        if comment is None or comment.deleted_at is not None:
            return None
        return comment if self.comment_owner(comment.on) is not None else None

    def thread(
        self,
        object_id: str,
        parent: str | None,
        *,
        stream: bool = False,
        newest_first: bool = False,
    ) -> list[Comment]:
        """The live comments directly under a post (``parent=None``) or a comment, oldest
        first (``newest_first``: the other way round, strictly, including comments made in
        the same second); ``stream`` gives every level of the post at once, by time."""
        live = self._live_comments.over(self._comments)
        items = list(
            live.on.get(object_id, ()) if stream else live.under.get((object_id, parent), ())
        )
        items.sort(key=lambda c: c.created_at)  # stable: the same second keeps its order
        if newest_first:
            items.reverse()
        return items

    def comment_count(self, object_id: str) -> int:
        """How many live comments (replies included) a post has."""
        return len(self._live_on(object_id))

    def _live_on(self, object_id: str) -> Sequence[Comment]:
        """The comments on a post (replies included) not deleted, in the order made (the
        index's own list: read it, do not change it)."""
        return self._live_comments.over(self._comments).on.get(object_id, ())

    # -- plumbing --------------------------------------------------------------------------

    def unsupported(self, verb: str, node: str) -> GraphError:
        """Meta's answer to a node that does not exist, or that the token may not see or
        change (code 100, subcode 33)."""
        return GraphError(
            400,
            100,
            f"Unsupported {verb} request. Object with ID '{node}' does not exist, cannot be "
            "loaded due to missing permissions, or does not support this operation."
            + self.unsupported_tail,
            subcode=33,
            kind=self.unsupported_kind,
        )

    def new_id(self) -> str:
        """A new numeric object id."""
        with self.lock:
            self._last_id += 1 + secrets.randbelow(7)
            return str(self._last_id)

    def error(self, status: int, message: str, **extra: Any) -> httpx.Response:
        """Meta's error envelope (scripted faults use it): 5xx as code 2 "unexpected error",
        anything else as code 100 unless ``code=`` is given."""
        code = extra.pop("code", 2 if status >= 500 else 100)
        return self._error_response(GraphError(status, code, message, **extra))

    def unrouted(self, request: httpx.Request, allowed: bool) -> httpx.Response:
        """Graph's answer to a path it has no edge for: 400, code 2500 "Unknown path
        components: /{node}/{edge}" (the path without its version); a known path asked
        with a method it does not take is the node's "Unsupported {method} request"."""
        path = request.url.path
        rest = re.sub(rf"^/{self.version_pattern}(?=/)", "", path)
        if allowed:
            node = rest.strip("/").split("/", 1)[0]
            return self._error_response(self.unsupported(request.method.lower(), node))
        return self._error_response(GraphError(400, 2500, f"Unknown path components: {rest}"))

    def refused(self, refusal: Refusal) -> httpx.Response:
        """A `GraphError` in Meta's error envelope; any other `Refusal` as the base
        answers it (through `error`)."""
        if isinstance(refusal, GraphError):
            return self._error_response(refusal)
        return super().refused(refusal)

    def _error_response(self, err: GraphError) -> httpx.Response:
        body: dict[str, Any] = {"message": err.message, "type": err.kind, "code": err.code}
        if err.subcode is not None:
            body["error_subcode"] = err.subcode
        transient = err.transient
        if transient is None:
            transient = err.code in (1, 2, 4, 17, 32, 613) or err.code >= 80000
        body["is_transient"] = transient
        if err.user_title:
            body["error_user_title"] = err.user_title
        if err.user_msg:
            body["error_user_msg"] = err.user_msg
        body["fbtrace_id"] = base64.b64encode(secrets.token_bytes(16)).decode()[:23]
        headers = dict(err.headers)
        if err.code == 190:
            headers["www-authenticate"] = (
                f'OAuth "Facebook Platform" "invalid_token" "{err.message}"'
            )
        return self.json({"error": body}, status=err.status, headers=headers)

    @staticmethod
    def params(request: httpx.Request) -> tuple[dict[str, Any], dict[str, tuple[str, str, bytes]]]:
        """The request's parameters (query, form, JSON or multipart) and uploaded files."""
        params: dict[str, Any] = dict(request.url.params.multi_items())
        files: dict[str, tuple[str, str, bytes]] = {}
        ctype = request.headers.get("content-type", "")
        body = request.content
        if ctype.startswith("application/json") and body:
            try:
                data = json.loads(body)
            except ValueError:
                raise GraphError(400, 100, "(#100) Invalid JSON for postcard") from None
            if isinstance(data, dict):
                params.update(data)
        elif ctype.startswith("application/x-www-form-urlencoded") and body:
            params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        elif ctype.startswith("multipart/form-data"):
            try:
                parts = parse_multipart(body, ctype)
            except MultipartError:
                raise GraphError(400, 100, "(#100) Invalid multipart body") from None
            for part in parts:
                if part.is_file:
                    files[part.name] = (part.filename or "", part.content_type, part.data)
                else:
                    params[part.name] = part.data.decode("utf-8")
        return params, files

    @staticmethod
    def origin(request: httpx.Request) -> str:
        """``scheme://host:port`` of a request."""
        return f"{request.url.scheme}://{request.url.netloc.decode('ascii')}"

    def authenticate(self, request: httpx.Request, params: Mapping[str, Any]) -> Token:
        """The request's token.

        Raises:
            GraphError: no token (code 104), an unknown one (190), an expired (190/463) or a
                revoked one (190/460).
        """
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        raw = value.strip() if scheme.lower() in ("bearer", "oauth") else ""
        raw = raw or str(params.get("access_token") or "")
        if not raw:
            raise GraphError(400, 104, "An access token is required to request this resource.")
        return self.check_token(raw)

    def check_token(self, raw: str) -> Token:
        """The token ``raw``, if it may be used now (a call's, or one handed to an exchange).

        Raises:
            GraphError: an unknown token (190), an expired (190/463) or a revoked one
                (190/460).
        """
        token = self._tokens.get(raw)
        if token is None:
            raise GraphError(400, 190, "Invalid OAuth access token - Cannot parse access token")
        now = self.clock.time()
        if token.revoked:
            raise GraphError(
                400,
                190,
                "Error validating access token: The session has been invalidated because the "
                "user changed their password or Facebook has changed the session for security "
                "reasons.",
                subcode=460,
            )
        if token.expires_at is not None and now >= token.expires_at:
            expired = datetime.fromtimestamp(token.expires_at, UTC)
            current = datetime.fromtimestamp(now, UTC)
            raise GraphError(
                400,
                190,
                "Error validating access token: Session has expired on "
                f"{expired:%A, %d-%b-%y %H:%M:%S} UTC. The current time is "
                f"{current:%A, %d-%b-%y %H:%M:%S} UTC.",
                subcode=463,
            )
        return token

    # -- rate limits -----------------------------------------------------------------------

    def _window(self, scope: str, key: str, now: float) -> collections.deque[float]:
        calls = self._calls.setdefault(f"{scope}:{key}", collections.deque())
        _, window = self.rate_limits[scope]
        while calls and calls[0] <= now - window:
            calls.popleft()
        return calls

    def _percent(self, scope: str, key: str, now: float) -> int:
        limit, _ = self.rate_limits[scope]
        used = len(self._window(scope, key, now))
        return min(100, math.ceil(100 * used / max(1, limit)))

    def _regain_minutes(self, scope: str, key: str, now: float) -> int:
        limit, window = self.rate_limits[scope]
        calls = self._window(scope, key, now)
        if len(calls) <= limit:
            return 0
        # The call whose leaving brings the count back under the limit.
        leaves_at = calls[len(calls) - limit] + window
        return max(1, math.ceil((leaves_at - now) / 60))

    def business_object(self, token: Token) -> str | None:
        """The business object a token's calls count against (``None``: app only)."""
        return token.owner if self.usage_type is not None else None

    def _usage_headers(self, token: Token | None, now: float) -> dict[str, str]:
        app = self._percent("app", "app", now)
        headers = {
            "x-app-usage": json.dumps(
                {"call_count": app, "total_cputime": app // 4, "total_time": app // 3},
                separators=(",", ":"),
            )
        }
        owner = self.business_object(token) if token is not None else None
        if owner is not None:
            pct = self._percent("account", owner, now)
            entry = {
                "type": self.usage_type,
                "call_count": pct,
                "total_cputime": pct // 4,
                "total_time": pct // 3,
                "estimated_time_to_regain_access": self._regain_minutes("account", owner, now),
            }
            headers["x-business-use-case-usage"] = json.dumps(
                {owner: [entry]}, separators=(",", ":")
            )
        return headers

    def throttled(self, owner: str) -> GraphError:
        """The platform's refusal of a call over the business object's budget."""
        return GraphError(400, self.throttle_code, self.throttle_message)

    def _count(self, token: Token | None, now: float) -> GraphError | None:
        app = self._window("app", "app", now)
        app.append(now)
        refusal = None
        if len(app) > self.rate_limits["app"][0]:
            refusal = GraphError(400, 4, "(#4) Application request limit reached")
        owner = self.business_object(token) if token is not None else None
        if owner is not None:
            calls = self._window("account", owner, now)
            calls.append(now)
            if len(calls) > self.rate_limits["account"][0]:
                refusal = self.throttled(owner)
        return refusal

    # -- running a handler -----------------------------------------------------------------

    def _run(
        self,
        fn: Handler,
        request: httpx.Request,
        kwargs: dict[str, Any],
        *,
        auth: bool,
        counted: bool,
    ) -> httpx.Response:
        now = self.clock.time()
        token: Token | None = None
        try:
            version = kwargs.get("version")
            if version is not None and not re.fullmatch(self.version_pattern, version):
                raise GraphError(400, 2500, f"Unknown path components: {request.url.path}")
            params, files = self.params(request)
            if auth:
                token = self.authenticate(request, params)
            if counted:
                refusal = self._count(token, now)
                if refusal is not None:
                    raise refusal
            answering = _ANSWERING.set(
                (self.origin(request), token.value if token is not None else None, version)
            )
            try:
                response = fn(self, request, token=token, params=params, files=files, **kwargs)
            finally:
                _ANSWERING.reset(answering)
            for fault in self._after_store:
                if (
                    fault.times > 0
                    and fault.method in ("*", request.method)
                    and re.fullmatch(fault.path, request.url.path)
                ):
                    fault.times -= 1
                    response = self._error_response(
                        GraphError(
                            500,
                            2,
                            "An unexpected error has occurred. Please retry your request later.",
                            transient=True,
                        )
                    )
                    break
        except GraphError as err:
            response = self._error_response(err)
        for key, value in self._usage_headers(token, now).items():
            response.headers.setdefault(key, value)
        # Meta's answers carry a Date; it follows the emulator clock (the socket server
        # then sends no other).
        response.headers.setdefault(
            "date", format_datetime(datetime.fromtimestamp(now, UTC), usegmt=True)
        )
        return response

    # -- listing ---------------------------------------------------------------------------

    def page_of(
        self,
        request: httpx.Request,
        items: list[Any],
        params: Mapping[str, Any],
        *,
        most: int = 100,
        links: Collection[str] = ("next", "previous"),
        render: Callable[[Any], dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """One page of an edge read at its own address, with Meta's ``paging`` (see
        `edge_page`, which writes the ``links`` named and shows the page's items through
        ``render``); ``limit`` (at most ``most``, the edge's largest page), ``after`` and
        ``before`` come from ``params``.

        Raises:
            GraphError: a ``limit`` that is no number, or a cursor the emulator did not make
                (code 100).
        """
        query = {k: str(v) for k, v in params.items() if k not in ("after", "before")}
        return self.edge_page(
            request.url.path,
            items,
            limit=max(1, _limit(params.get("limit"), most=most)),
            after=params.get("after"),
            before=params.get("before"),
            query=query,
            links=links,
            render=render,
        )

    def listing(
        self,
        request: httpx.Request,
        params: Mapping[str, Any],
        items: list[Any],
        render: Callable[[Any, str | None], dict[str, Any]],
    ) -> httpx.Response:
        """A page of an account's posts (anything with a ``created_at``), newest first,
        within ``since``/``until``, each rendered with the asked ``fields``.

        Raises:
            GraphError: a bad ``since``/``until``, ``limit`` or cursor (code 100).
        """
        since = graph_unix(params.get("since"))
        until = graph_unix(params.get("until"))
        kept = [m for m in items if in_window(m.created_at, since, until)]
        kept.sort(key=lambda m: m.created_at, reverse=True)
        fields = params.get("fields")
        return self.json(self.page_of(request, [render(m, fields) for m in kept], params))

    def nested_edge(
        self,
        node: str,
        edge: str,
        items: list[Any],
        field: Field,
        *,
        render: Callable[[Any], dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """One page of an edge expanded inside a node's ``fields``
        (``comments.limit(100).after(...){...}``): the same paging as at the edge's own
        address, whose ``paging.next`` it points to (``render``: see `edge_page`);
        ``limit(0)`` gives no items (for a summary alone).

        Raises:
            GraphError: a bad ``limit`` or cursor (code 100).
        """
        modifiers = field.modifiers
        query = {
            k: str(v)
            for k, v in modifiers.items()
            if k not in ("after", "before", "summary", "as", "limit")
        }
        if field.subfields:
            query["fields"] = field.subfields
        answering = _ANSWERING.get()
        version = answering[2] if answering is not None else None
        return self.edge_page(
            f"/{version or self.default_version_name()}/{node}/{edge}",
            items,
            limit=_limit(modifiers.get("limit")),
            after=modifiers.get("after"),
            before=modifiers.get("before"),
            query=query,
            render=render,
        )

    def paging_link(self, path: str, query: Mapping[str, str], cursor: tuple[str, str]) -> str:
        """A ``paging.next``/``previous`` address as Graph writes it: the platform's own
        address (``graph.facebook.com``, ``graph.threads.net``: here the emulator's) with
        ``path``, then the token the request was made with (``access_token``, wherever the
        request carried it), ``pretty=0``, the request's other parameters (``query``) and
        the cursor, so that a client GETting it verbatim, with no token of its own, reads
        the next page. Once served, the address is the emulator's loopback one whatever
        ``Host`` the request named."""
        answering = _ANSWERING.get()
        origin, token, _ = answering if answering is not None else (self.base_url, None, None)
        if httpx.URL(self.base_url).host in _LOOPBACK:
            origin = self.base_url
        pairs = [("access_token", token)] if token else []
        pairs.append(("pretty", "0"))
        skip = ("access_token", "pretty", "after", "before", cursor[0])
        pairs.extend((k, v) for k, v in query.items() if k not in skip)
        pairs.append(cursor)
        return str(httpx.URL(f"{origin}{path}", params=pairs))

    def edge_page(
        self,
        path: str,
        items: list[Any],
        *,
        limit: int,
        after: Any = None,
        before: Any = None,
        query: Mapping[str, str] | None = None,
        keys: Sequence[tuple[float, ...]] | None = None,
        descending: bool = False,
        render: Callable[[Any], dict[str, Any]] | None = None,
        links: Collection[str] = ("next", "previous"),
    ) -> dict[str, Any]:
        """``{"data": [...], "paging": {"cursors": {"before", "after"}, "next",
        "previous"}}`` for the ``limit`` items after the cursor ``after`` (or before
        ``before``); ``next`` only while more follow, ``previous`` only when something
        comes before (each only if named in ``links``), both `paging_link` addresses of
        ``path`` with ``query``, ``limit`` and the cursor.

        A cursor names its item: by default its id (found wherever the item is now; an
        item with no id is named by its position); with ``keys`` (each item's place in the
        edge's order, ascending, or with ``descending`` the other way round) it holds the
        item's key, so items added meanwhile do not shift it. Meta documents that a cursor
        "will be invalidated if the item is deleted or removed": one whose item is no
        longer in ``items`` is refused as a cursor Graph cannot read, so the client reads
        the edge again rather than page on from a place that is gone. ``render`` makes
        what ``data`` shows of the page's items (``None``: the items as they are), each
        showing its own ``id`` (an item's cursor is found by its ``id`` attribute then,
        without rendering the items off the page).

        Raises:
            GraphError: a cursor the emulator did not make, or one whose item is gone
                (code 100).
        """
        if keys is not None:
            # bisect wants ascending keys: a newest-first edge is ascending negated.
            sign = -1 if descending else 1
            ordered = [tuple(sign * x for x in k) for k in keys]
            if after:
                start = bisect.bisect_right(ordered, _standing(ordered, _key_of(after, sign)))
                end = start + limit
            elif before:
                end = bisect.bisect_left(ordered, _standing(ordered, _key_of(before, sign)))
                start = max(0, end - limit)
            else:
                start, end = 0, limit
        elif after:
            start = self._position(str(after), items, render is not None) + 1
            end = start + limit
        elif before:
            end = self._position(str(before), items, render is not None)
            start = max(0, end - limit)
        else:
            start, end = 0, limit
        chunk = items[start:end]
        shown = [render(i) for i in chunk] if render is not None else chunk
        out: dict[str, Any] = {"data": shown}
        if not chunk:
            return out
        first, last = start, start + len(chunk) - 1
        if keys is not None:
            cursors = {"before": _key_cursor(keys[first]), "after": _key_cursor(keys[last])}
        else:
            cursors = {"before": _cursor(first, shown[0]), "after": _cursor(last, shown[-1])}
        paging: dict[str, Any] = {"cursors": cursors}
        base = {**(query or {}), "limit": str(limit)}
        if "next" in links and last + 1 < len(items):
            paging["next"] = self.paging_link(path, base, ("after", cursors["after"]))
        if "previous" in links and first > 0:
            paging["previous"] = self.paging_link(path, base, ("before", cursors["before"]))
        out["paging"] = paging
        return out

    @staticmethod
    def _position(cursor: str, items: list[Any], by_attribute: bool = False) -> int:
        """Where a cursor stands: at its item (found by id, wherever it is now: the ``id``
        of a rendered item, or with ``by_attribute`` its ``id`` attribute), or, for an item
        with no id, at the position it was made at.

        Raises:
            GraphError: not a cursor the emulator made, or its item is gone (code 100).
        """
        try:
            index_text, _, item_id = base64.b64decode(cursor, validate=True).decode().partition(":")
            index = int(index_text)
        except ValueError:
            raise _invalid_cursor() from None
        if not item_id:
            return index
        for i, item in enumerate(items):
            if by_attribute:
                if str(item.id) == item_id:
                    return i
            elif isinstance(item, dict) and str(item.get("id")) == item_id:
                return i
        raise _invalid_cursor()

    # -- /me -------------------------------------------------------------------------------

    @route("GET", r"/(?:(?P<version>v\d+\.\d+)/)?me(?P<edge>/[a-z_]+)?")
    @graph_api(counted=False)
    def _me(
        self,
        request: httpx.Request,
        token: Token,
        params: dict[str, Any],
        files: dict[str, Any],
        version: str | None = None,
        edge: str | None = None,
    ) -> httpx.Response:
        # ``me`` is the node the token acts for; answering as if its id had been asked for
        # keeps one set of field renderers (the inner call authenticates and counts once).
        path = f"/{version or self.default_version_name()}/{self.me_node(token)}{edge or ''}"
        sub = httpx.Request(
            request.method,
            request.url.copy_with(path=path),
            headers=request.headers,
            content=request.content,
        )
        return self._dispatch(sub)

    def me_node(self, token: Token) -> str:
        """The node ``/me`` stands for: what the token acts for."""
        return token.owner

    # -- batch -----------------------------------------------------------------------------

    @route("POST", r"/(?:(?P<version>v\d+\.\d+)/?)?")
    @graph_api(counted=False)
    def _batch(
        self,
        request: httpx.Request,
        token: Token,
        params: dict[str, Any],
        files: dict[str, Any],
        version: str | None = None,
    ) -> httpx.Response:
        raw = params.get("batch")
        if raw is None:
            raise GraphError(400, 100, "(#100) The parameter batch is required")
        try:
            items = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError:
            raise GraphError(400, 100, "(#100) The parameter batch must be valid JSON") from None
        if not isinstance(items, list):
            raise GraphError(400, 100, "(#100) The parameter batch must be a JSON array")
        if len(items) > 50:
            raise GraphError(400, 1, "Too many requests in batch message. Maximum batch size is 50")
        include_headers = str(params.get("include_headers", "true")).lower() != "false"
        out: list[dict[str, Any] | None] = []
        base = f"{self.origin(request)}/{version or self.default_version_name()}/"
        for item in items:
            if not isinstance(item, dict) or "relative_url" not in item:
                raise GraphError(400, 100, "(#100) Each batch item needs a relative_url")
            method = str(item.get("method") or "GET").upper()
            relative = str(item["relative_url"]).lstrip("/")
            url = base + relative
            if re.match(r"v\d+\.\d+/", relative):
                url = f"{self.origin(request)}/{relative}"
            body = item.get("body")
            sub = httpx.Request(
                method,
                url,
                headers={"authorization": f"Bearer {token.value}"},
                content=str(body).encode() if body else None,
            )
            if body:
                sub.headers["content-type"] = "application/x-www-form-urlencoded"
            answer = self._dispatch(sub)
            entry: dict[str, Any] = {"code": answer.status_code, "body": answer.text}
            if include_headers:
                entry["headers"] = [
                    {"name": k, "value": v}
                    for k, v in answer.headers.items()
                    if k.lower() not in ("content-length",)
                ]
            out.append(entry)
        return self.json(out)

    # -- login dialog and code exchange (every Meta emulator) ------------------------------

    def oauth_app(
        self, *, redirect_uri: str | tuple[str, ...] | list[str], scopes: str | list[str]
    ) -> MetaOAuthApp:
        """Register an app for the login flow. The login dialog consents at once as the
        account named `consent_as` (made on first use) and redirects (302) with ``code``
        and ``state`` (`deny_consent` scripts a refusal); the code exchange spends the code
        (once, within 10 minutes, with the same redirect URI) for a 1-hour token; the
        long-lived exchange turns that into a 60-day one.

        Args:
            redirect_uri: the valid OAuth redirect URI(s).
            scopes: the permissions the app may ask for (comma-separated or a list).
        """
        uris = (redirect_uri,) if isinstance(redirect_uri, str) else tuple(redirect_uri)
        allowed = meta_scopes(scopes) if isinstance(scopes, str) else tuple(scopes)
        with self.lock:
            client_id = str(10**14 + secrets.randbelow(9 * 10**14))
            app = MetaOAuthApp(client_id, secrets.token_hex(16), uris, allowed)
            self._apps[client_id] = app
            return app

    def deny_consent(self, times: int = 1) -> None:
        """The next ``times`` authorizations are refused by the user (the redirect carries
        ``error=access_denied``)."""
        with self.lock:
            self._deny_next += times

    def decline_permissions(self, *names: str) -> None:
        """At the next login the user unchecks ``names`` (those of them the app asks for):
        the login goes on, its token is granted the other permissions only, and
        ``/{user-id}/permissions`` lists these as ``declined``, as Meta's dialog does when
        the user edits what the app may do. Where `declines_stick` (Facebook), later logins
        do not ask for a declined permission again unless the dialog is opened with
        ``auth_type=rerequest``."""
        with self.lock:
            self._decline_next = tuple(names)

    always_granted: ClassVar[tuple[str, ...]] = ()
    """What every login grants without asking (Facebook: ``public_profile``)."""
    declines_stick: ClassVar[bool] = False
    """Whether the dialog skips a permission the user declined before, unless opened with
    ``auth_type=rerequest`` (Facebook Login)."""

    def permissions_of(self, token: Token) -> list[dict[str, str]]:
        """``/{user-id}/permissions``'s ``data``: what the token's user granted or declined
        at the login dialog; a token the dialog never gave lists its own permissions."""
        with self.lock:
            grants = self._grants.get(token.owner)
            if grants is None:
                grants = dict.fromkeys(self.always_granted, "granted")
                grants.update(dict.fromkeys(token.scopes or (), "granted"))
            return [{"permission": p, "status": s} for p, s in grants.items()]

    def consenting_owner(self) -> str:
        """The id the login dialog's user consents as (made on first use)."""
        raise NotImplementedError

    def authorize_answer(self, request: httpx.Request) -> httpx.Response:
        """The login dialog: a 302 to the redirect URI with ``code`` and ``state`` (or an
        ``error``), or an error page for an unknown app or redirect URI."""
        q = dict(request.url.params)
        app = self._apps.get(q.get("client_id", ""))
        redirect = q.get("redirect_uri", "")
        if app is None or redirect not in app.redirect_uris:
            # Meta shows an error page and never redirects to an unregistered URI.
            return self.html(
                "<p>URL blocked: this redirect failed because the redirect URI is not "
                "whitelisted in the app's client OAuth settings.</p>",
                400,
            )
        state = q.get("state", "")

        def back(**params: str) -> httpx.Response:
            if state:
                params["state"] = state
            # Meta appends "#_" to the redirect; a client must ignore the fragment.
            return self.redirect(redirect, params, "#_")

        scopes = meta_scopes(q.get("scope", ""))
        if q.get("response_type", "code") != "code":
            return back(error="invalid_request", error_description="response_type must be code")
        if not scopes or any(s not in app.scopes for s in scopes):
            return back(error="invalid_scope", error_description="Invalid Scopes")
        with self.lock:
            if self._deny_next > 0:
                self._deny_next -= 1
                return back(
                    error="access_denied",
                    error_reason="user_denied",
                    error_description="Permissions error",
                )
            owner = self.consenting_owner()
            # Meta keeps the user's answer per permission; a later login updates it.
            grants = self._grants.setdefault(owner, dict.fromkeys(self.always_granted, "granted"))
            # Facebook asks for a permission once declined only with auth_type=rerequest.
            again = not self.declines_stick or q.get("auth_type") == "rerequest"
            declined = tuple(
                s
                for s in scopes
                if s in self._decline_next or (grants.get(s) == "declined" and not again)
            )
            self._decline_next = ()
            granted = tuple(s for s in scopes if s not in declined)
            grants.update(dict.fromkeys(granted, "granted"))
            grants.update(dict.fromkeys(declined, "declined"))
            code = secrets.token_urlsafe(48)
            self._codes[code] = _MetaCode(
                app.client_id,
                redirect,
                owner,
                self.clock.time() + CODE_TTL,
                scopes=granted,
            )
        return back(code=code)

    def app_for(self, params: Mapping[str, Any]) -> MetaOAuthApp:
        """The app whose ``client_id`` and ``client_secret`` the parameters carry.

        Raises:
            GraphError: an unknown app or a wrong secret (code 101).
        """
        app = self._apps.get(str(params.get("client_id", "")))
        if app is None or not secrets.compare_digest(
            str(params.get("client_secret", "")).encode(), app.client_secret.encode()
        ):
            raise GraphError(400, 101, "Error validating client secret.")
        return app

    def redeem_code(self, params: Mapping[str, Any]) -> str:
        """Spend the code of a code exchange; the owner it was issued for.

        Raises:
            GraphError: a wrong app, an unknown, used (36009) or expired (36007) code, or
                another redirect URI (36008), in Meta's words.
        """
        return self.redeem_grant(params)[0]

    def redeem_grant(self, params: Mapping[str, Any]) -> tuple[str, tuple[str, ...]]:
        """`redeem_code`, with the permissions the user granted.

        Raises:
            GraphError: as `redeem_code`.
        """
        app = self.app_for(params)
        with self.lock:
            code = self._codes.get(str(params.get("code", "")))
            if code is None or code.client_id != app.client_id:
                raise GraphError(400, 100, "Invalid verification code format.")
            if code.used:
                raise GraphError(400, 100, "This authorization code has been used.", subcode=36009)
            code.used = True  # spent by its first exchange, whatever comes next
            if self.clock.time() >= code.expires_at:
                raise GraphError(400, 100, "This authorization code has expired.", subcode=36007)
            if params.get("redirect_uri") != code.redirect_uri:
                raise GraphError(
                    400,
                    100,
                    "Error validating verification code. Please make sure your redirect_uri "
                    "is identical to the one you used in the OAuth dialog request",
                    subcode=36008,
                )
            return code.owner, code.scopes

    def default_version_name(self) -> str:
        """The version of unversioned calls (`version`)."""
        return self.version


# How long after a comment the account may still answer it in private.
_PRIVATE_REPLY_WINDOW = 7 * 86_400.0


def _json_param(params: Mapping[str, Any], name: str) -> dict[str, Any]:
    """A Send API parameter that is a JSON object: given as one (a JSON body) or as its
    JSON text (a form or the query).

    Raises:
        GraphError: it is missing or no JSON object (code 100).
    """
    value = params.get(name)
    if isinstance(value, str) and value.strip():
        try:
            value = json.loads(value)
        except ValueError:
            value = None
    if not isinstance(value, dict):
        raise GraphError(400, 100, f"(#100) param {name} must be a JSON object")
    return value


def _limit(value: Any, default: int = 25, most: int = 100) -> int:
    """A ``limit``: a whole number, at most ``most`` (100: Meta's largest page of most
    edges).

    Raises:
        GraphError: not a whole number (code 100).
    """
    if value in (None, ""):
        return default
    try:
        return max(0, min(most, int(str(value))))
    except ValueError:
        raise GraphError(400, 100, "(#100) Param limit must be a number") from None


def _invalid_cursor() -> GraphError:
    """Graph's refusal of a cursor it cannot read (made up, or its item gone): code 100,
    its message naming the cursor, which tells it from Graph's other code 100 refusals."""
    return GraphError(400, 100, "(#100) Invalid cursor")


def _standing(ordered: Sequence[tuple[float, ...]], key: tuple[float, ...]) -> tuple[float, ...]:
    """``key``, when an item of the edge (``ordered``, ascending) still stands there.

    Raises:
        GraphError: the cursor's item is gone: Meta invalidates its cursors (code 100).
    """
    at = bisect.bisect_left(ordered, key)
    if at == len(ordered) or ordered[at] != key:
        raise _invalid_cursor()
    return key


def _key_cursor(key: tuple[float, ...]) -> str:
    """An opaque cursor holding an item's key in its edge's order."""
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode()


def _key_of(cursor: Any, sign: int) -> tuple[float, ...]:
    """The key a `_key_cursor` holds, times ``sign``.

    Raises:
        GraphError: not such a cursor (code 100).
    """
    try:
        key = json.loads(base64.urlsafe_b64decode(str(cursor).encode()))
    except ValueError:
        raise _invalid_cursor() from None
    if not isinstance(key, list) or not all(
        isinstance(x, int | float) and not isinstance(x, bool) for x in key
    ):
        raise _invalid_cursor()
    return tuple(sign * x for x in key)


def _cursor(index: int, item: Any) -> str:
    """An opaque cursor standing at ``item`` (its position and its id)."""
    item_id = str(item.get("id") or "") if isinstance(item, dict) else ""
    return base64.b64encode(f"{index}:{item_id}".encode()).decode()


def truthy(value: Any, default: bool = False) -> bool:
    """A Graph boolean parameter (``true``/``false``/``1``/``0``)."""
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "t", "yes", "on")


DAY = 86_400.0
LONG_TOKEN_TTL = 60 * DAY
SHORT_TOKEN_TTL = 3600.0
"""Meta's short-lived user tokens live one hour."""
CODE_TTL = 600.0
"""How long an authorization code may wait to be exchanged (Meta: minutes)."""


@attrs.frozen
class MetaOAuthApp:
    """An app registered on a Meta emulator (`MediaFetchingEmulator.oauth_app`).

    Attributes:
        client_id: the app id (numeric, as Meta's are).
        client_secret: the app secret.
        redirect_uris: the valid OAuth redirect URIs.
        scopes: the permissions it may ask for.
    """

    client_id: str
    client_secret: str = attrs.field(repr=False)
    redirect_uris: tuple[str, ...]
    scopes: tuple[str, ...]


@attrs.define
class _MetaCode:
    client_id: str
    redirect_uri: str
    owner: str
    expires_at: float
    used: bool = False
    scopes: tuple[str, ...] = ()


def meta_scopes(raw: str) -> tuple[str, ...]:
    """Meta's ``scope`` parameter: comma-separated (spaces tolerated)."""
    return tuple(s for s in re.split(r"[,\s]+", raw) if s)


def followers_at(followers: int, per_day: float, since: float, now: float) -> int:
    """The followers at emulator time ``now`` of an account (a Page, a user) that had
    ``followers`` at ``since`` and gains ``per_day`` a day."""
    return followers + int(max(0.0, now - since) / DAY * per_day)


@attrs.define
class User:
    """An Instagram or Threads account the emulator holds."""

    id: str
    username: str
    created_at: float
    followers: int
    followers_per_day: float

    def followers_at(self, now: float) -> int:
        """Followers at emulator time ``now`` (they grow with the clock)."""
        return followers_at(self.followers, self.followers_per_day, self.created_at, now)


@attrs.define
class Container:
    """A media container (Instagram, Threads): made, processed by the clock, published once.

    Attributes:
        error: why processing failed (Instagram: the error code; Threads: the
            ``error_message``), ``None`` while it has not.
        published_id: the post made from it, once published.
    """

    id: str
    owner: str
    media_type: str
    created_at: float
    ready_at: float
    text: str = ""
    url: str | None = None
    alt_text: str | None = None
    is_carousel_item: bool = False
    children: list[str] = attrs.field(factory=list)
    mime_type: str | None = None
    size: int = 0
    error: str | None = None
    published_id: str | None = None


@attrs.define
class Published:
    """A post made from a container (Instagram media, a Threads post)."""

    id: str
    owner: str
    container_id: str
    text: str
    media_type: str
    created_at: float
    shortcode: str
    children: list[str] = attrs.field(factory=list)
    alt_text: str | None = None
    deleted_at: float | None = None
    extra: dict[str, int] = attrs.field(factory=dict)


C = TypeVar("C", bound=Container)
P = TypeVar("P", bound=Published)


class MediaFetchingEmulator(GraphEmulator, Generic[C, P]):
    """A Graph emulator of a platform that publishes through containers whose media it
    downloads from URLs (Instagram, Threads).

    It keeps the `LoopbackMediaHost` it is given, or starts one of its own that
    `close` (and leaving [`serve`][brandkit.testing.Emulator.serve]) stops.
    """

    default_token_ttl: ClassVar[float | None] = LONG_TOKEN_TTL
    token_kind: ClassVar[str] = "instagram"
    refresh_grant: ClassVar[str] = "ig_refresh_token"
    carousel_error: ClassVar[str] = "UNKNOWN"
    """The error a carousel shows when no child names one."""
    publish_permissions: ClassVar[tuple[str, ...]] = ()
    """The permissions of which a token needs one to make and publish containers (``()``:
    none checked)."""

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        rate_limits: Mapping[str, tuple[int, float]] | None = None,
        token_ttl: float | None = None,
        media_host: LoopbackMediaHost | None = None,
        container_ttl: float = DAY,
        engagement_rate: float = 6.0,
        image_processing: float = 0.0,
        video_processing: float = 1.0,
        max_image_bytes: int = 8 * 1000 * 1000,
        max_video_bytes: int = 1000 * 1000 * 1000,
    ) -> None:
        super().__init__(
            clock=clock,
            rate_limits=rate_limits,
            token_ttl=token_ttl,
            engagement_rate=engagement_rate,
        )
        self._own_host = media_host is None
        self.media_host: LoopbackMediaHost = media_host or LoopbackMediaHost()
        self.container_ttl = container_ttl
        self.image_processing = image_processing
        self.video_processing = video_processing
        self.max_image_bytes = max_image_bytes
        self.max_video_bytes = max_video_bytes
        self._users: dict[str, User] = {}
        self._containers: dict[str, C] = {}
        self._posts: dict[str, P] = {}
        self._events: dict[tuple[str, str], list[float]] = {}

    @contextmanager
    def serve(self, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
        """Serve the emulator (and, while serving, its own media host)."""
        try:
            with super().serve(host, port) as url:
                yield url
        finally:
            self.close()

    def close(self) -> None:
        """Stop the media host the emulator started (if any)."""
        if self._own_host:
            self.media_host.close()

    # -- accounts --------------------------------------------------------------------------

    def account(
        self,
        *,
        name: str | None = None,
        username: str | None = None,
        followers: int = 0,
        followers_per_day: float = 24.0,
        media_host: Any = None,
        token_expires: bool = False,
        **kwargs: Any,
    ) -> Account:
        """A new account and an [`Account`][brandkit.Account] with its token at
        `base_url` (call it inside ``serve()`` to get the socket URL).

        Args:
            name: the brandkit account name.
            username: the username (default ``brandkit1``, ...).
            followers: followers at creation.
            followers_per_day: how fast followers grow with the emulator clock.
            media_host: the account's media host (default: `media_host`).
            token_expires: set ``token_expires_at`` on the account (so that brandkit
                refreshes the token before it expires).
            kwargs: passed on to the ``Account`` constructor (e.g. ``on_credentials_changed``).
        """
        user_id = self.new_id()
        with self.lock:
            self._users[user_id] = User(
                id=user_id,
                username=username or f"brandkit{len(self._users) + 1}",
                created_at=self.clock.time(),
                followers=followers,
                followers_per_day=followers_per_day,
            )
        token = self.issue_token(user_id, self.token_kind)
        acct = self.make_account(
            user_id,
            token,
            media_host=media_host if media_host is not None else self.media_host,
            name=name,
            **kwargs,
        )
        if token_expires:
            acct.settings["token_expires_at"] = self.token_info(token).expires_at
        return acct

    def make_account(
        self, user_id: str, token: str, *, media_host: Any, name: str | None, **kwargs: Any
    ) -> Account:
        """The platform's [`Account`][brandkit.Account] for a new user."""
        raise NotImplementedError

    def user_for(self, token: Token, user_id: str) -> User:
        """The account ``user_id``, if the token acts for it.

        Raises:
            GraphError: unknown, or not the token's (Meta's "Unsupported get request").
        """
        user = self._users.get(user_id)
        if user is None or token.owner != user_id:
            raise self.unsupported("get", user_id)
        return user

    # -- posts -----------------------------------------------------------------------------

    def live(self) -> list[P]:
        """The posts that exist now, oldest first."""
        return [p for p in self._posts.values() if p.deleted_at is None]

    def engagement_of(self, post_id: str) -> dict[str, int]:
        return self._posts[post_id].extra

    def live_post(self, post_id: str) -> P | None:
        """The post ``post_id`` if it exists now (else ``None``: unknown or deleted)."""
        post = self._posts.get(post_id)
        return post if post is not None and post.deleted_at is None else None

    def own_post(self, token: Token, node: str) -> P | None:
        """The live post ``node`` if the token's account wrote it (else ``None``)."""
        post = self.live_post(node)
        return post if post is not None and post.owner == token.owner else None

    def owned(self, token: Token, node: str, verb: str) -> P:
        """A live post of the token's account.

        Raises:
            GraphError: none (Meta's "Unsupported {verb} request").
        """
        post = self.own_post(token, node)
        if post is None:
            raise self.unsupported(verb, node)
        return post

    def permalink(self, p: P) -> str:
        """The post's public URL."""
        raise NotImplementedError

    def post_getters(self, p: P) -> dict[str, Callable[[Field], Any]]:
        """The fields every published post has (platforms add their own)."""
        return {
            "id": lambda f: p.id,
            "permalink": lambda f: self.permalink(p),
            "shortcode": lambda f: p.shortcode,
            "timestamp": lambda f: graph_time(p.created_at),
            "username": lambda f: self._users[p.owner].username,
            "owner": lambda f: {"id": p.owner},
            "alt_text": lambda f: p.alt_text or OMIT,
            "children": lambda f: {"data": [{"id": i} for i in p.children]} if p.children else OMIT,
        }

    def post_fields(self, p: P, fields: str | None) -> dict[str, Any]:
        """A post's answer to ``fields=``."""
        raise NotImplementedError

    def user_fields(self, user: User, fields: str | None) -> dict[str, Any]:
        """An account's answer to ``fields=`` (``/me`` included)."""
        raise NotImplementedError

    @property
    def containers(self) -> list[dict[str, Any]]:
        """Every container made so far, oldest first, as `container_view` shows it (its
        status in the platform's words, and the ``url`` the platform downloaded)."""
        with self.lock:
            return [self.container_view(c) for c in self._containers.values()]

    def container(self, container_id: str) -> dict[str, Any]:
        """One container (see `containers`).

        Raises:
            KeyError: no container has that id.
        """
        with self.lock:
            return self.container_view(self._containers[container_id])

    def container_view(self, c: C) -> dict[str, Any]:
        """What `containers` shows of a container (platforms override it)."""
        raise NotImplementedError

    def container_fields(self, c: C, fields: str | None) -> dict[str, Any]:
        """A container's answer to ``fields=`` (its status)."""
        raise NotImplementedError

    def post_insights(self, p: P, metric: Any) -> dict[str, Any]:
        """A post's ``/insights`` answer."""
        raise NotImplementedError

    def other_node(self, token: Token, node: str, fields: str | None) -> dict[str, Any]:
        """A node that is no account, container or post (Instagram: a comment).

        Raises:
            GraphError: unknown to the platform ("Unsupported get request").
        """
        raise self.unsupported("get", node)

    def delete_other(self, token: Token, node: str) -> None:
        """Delete a node that is no post (Instagram: a comment).

        Raises:
            GraphError: unknown to the platform ("Unsupported delete request").
        """
        raise self.unsupported("delete", node)

    def deleted_answer(self, post_id: str) -> dict[str, Any]:
        """The body of the answer to a post's delete (Graph: ``{"success": true}``)."""
        return {"success": True}

    def before_delete(self, token: Token) -> None:
        """Check a post delete against the platform's quota (Threads has one).

        Raises:
            GraphError: over it.
        """

    @route("GET", rf"/{VERSION}/{NODE}")
    @graph_api()
    def _get_node(
        self, request: httpx.Request, token: Token, params: dict[str, Any], node: str, **_: Any
    ) -> httpx.Response:
        fields = params.get("fields")
        user = self._users.get(node)
        if user is not None and token.owner == node:
            return self.json(self.user_fields(user, fields))
        container = self._containers.get(node)
        if container is not None and container.owner == token.owner:
            return self.json(self.container_fields(container, fields))
        post = self.own_post(token, node)
        if post is not None:
            return self.json(self.post_fields(post, fields))
        return self.json(self.other_node(token, node, fields))

    @route("DELETE", rf"/{VERSION}/{NODE}")
    @graph_api()
    def _delete_node(
        self, request: httpx.Request, token: Token, params: dict[str, Any], node: str, **_: Any
    ) -> httpx.Response:
        post = self.own_post(token, node)
        if post is not None:
            self.before_delete(token)
            post.deleted_at = self.clock.time()
            self.record(token.owner, "delete")
            return self.json(self.deleted_answer(post.id))
        self.delete_other(token, node)
        return self.json({"success": True})

    @route("GET", rf"/{VERSION}/{NODE}/insights")
    @graph_api()
    def _get_insights(
        self, request: httpx.Request, token: Token, params: dict[str, Any], node: str, **_: Any
    ) -> httpx.Response:
        post = self.owned(token, node, "get")
        return self.json(self.post_insights(post, params.get("metric")))

    # -- containers and quotas -------------------------------------------------------------

    def status(self, c: Container) -> str:
        """A container's ``status_code``: ``IN_PROGRESS``, ``FINISHED``, ``ERROR``,
        ``EXPIRED`` or ``PUBLISHED``."""
        now = self.clock.time()
        if c.published_id is not None:
            return "PUBLISHED"
        if now - c.created_at >= self.container_ttl:
            return "EXPIRED"
        if c.media_type == "CAROUSEL":
            states = [self.status(self._containers[i]) for i in c.children]
            if "ERROR" in states:
                return "ERROR"
            if "IN_PROGRESS" in states or now < c.ready_at:
                return "IN_PROGRESS"
            return "FINISHED"
        if now < c.ready_at:
            return "IN_PROGRESS"
        return "ERROR" if c.error is not None else "FINISHED"

    def container_error(self, c: Container) -> str | None:
        """Why a container is in ``ERROR`` (a carousel: its first failed child's reason)."""
        if self.status(c) != "ERROR":
            return None
        if c.error is None and c.media_type == "CAROUSEL":
            return next(
                (
                    self._containers[i].error
                    for i in c.children
                    if self._containers[i].error is not None
                ),
                self.carousel_error,
            )
        return c.error

    def keep_container(self, container: C) -> httpx.Response:
        """Keep a new container and answer its id."""
        self._containers[container.id] = container
        return self.json({"id": container.id})

    def carousel_children(
        self,
        params: Mapping[str, Any],
        user_id: str,
        *,
        most: int,
        wrong_count: GraphError,
        not_an_item: Callable[[str], GraphError],
    ) -> list[str]:
        """The container ids a carousel's ``children`` parameter lists, each a carousel
        item container of ``user_id``. Meta documents a comma-separated list and nothing
        of blank entries (``"a, ,b"``): they are dropped.

        Raises:
            GraphError: ``wrong_count`` for fewer than 2 children or more than ``most``,
                ``not_an_item(child)`` for a child that is no carousel item of the account.
        """
        raw = str(params.get("children") or "")
        children = [c.strip() for c in raw.split(",") if c.strip()]
        if not 2 <= len(children) <= most:
            raise wrong_count
        for child in children:
            c = self._containers.get(child)
            if c is None or c.owner != user_id or not c.is_carousel_item:
                raise not_an_item(child)
        return children

    def publisher(self, token: Token, user_id: str) -> User:
        """The account ``user_id``, if the token acts for it and may publish.

        Raises:
            GraphError: not the token's account (see `user_for`), or the token was granted
                none of `publish_permissions` (403, code 200).
        """
        user = self.user_for(token, user_id)
        if self.publish_permissions:
            self.require_permission(token, *self.publish_permissions)
        return user

    def publishable(self, params: Mapping[str, Any], user_id: str) -> C:
        """The container ``creation_id`` names, if it is one of the account's that may be
        published on its own (not a carousel item), whatever its status.

        Raises:
            GraphError: no ``creation_id`` (code 100), or no such container
                (`container_not_found`).
        """
        creation = str(params.get("creation_id") or "")
        container = self._containers.get(creation)
        if not creation:
            raise GraphError(400, 100, "(#100) The parameter creation_id is required.")
        if container is None or container.owner != user_id or container.is_carousel_item:
            raise self.container_not_found()
        return container

    def container_not_found(self) -> GraphError:
        """The platform's refusal to publish a container the account does not have."""
        raise NotImplementedError

    def keep_published(self, container: C, post: P, kind: str) -> httpx.Response:
        """Keep the post made from ``container``, count it against the account's ``kind``
        quota (``post``, ``reply``) and answer its id."""
        self._posts[post.id] = post
        container.published_id = post.id
        self.record(post.owner, kind)
        return self.json({"id": post.id})

    def used(self, user_id: str, kind: str) -> int:
        """How many ``kind`` events (``post``, ``reply``, ``delete``) the account had in the
        last 24 hours."""
        now = self.clock.time()
        times = [t for t in self._events.get((user_id, kind), []) if now - t < DAY]
        self._events[(user_id, kind)] = times
        return len(times)

    def record(self, user_id: str, kind: str) -> None:
        """Count one ``kind`` event now against the account's 24-hour quota."""
        self._events.setdefault((user_id, kind), []).append(self.clock.time())

    def limit_entry(
        self, params: Mapping[str, Any], values: Mapping[str, Any], node_type: str
    ) -> dict[str, Any]:
        """The ``data`` entry of a publishing-limit call: the asked ``fields`` from
        ``values`` (``quota_usage`` by default).

        Raises:
            GraphError: a field not in ``values``.
        """
        entry: dict[str, Any] = {}
        for field in parse_fields(params.get("fields") or "quota_usage"):
            if field.name not in values:
                raise no_field(field.name, node_type)
            entry[field.name] = values[field.name]
        return entry

    # -- tokens ----------------------------------------------------------------------------

    @route("GET", r"/refresh_access_token")
    @graph_api()
    def _refresh(
        self, request: httpx.Request, token: Token, params: dict[str, Any], **_: Any
    ) -> httpx.Response:
        if params.get("grant_type") != self.refresh_grant:
            raise GraphError(400, 100, "(#100) Unsupported grant_type")
        if self.clock.time() - token.issued_at < DAY:
            raise GraphError(
                400, 100, "(#100) Tokens can be refreshed once they are at least 24 hours old"
            )
        return self.token_answer(token.owner, token.kind, LONG_TOKEN_TTL, token.scopes)

    # -- login (authorize, code exchange, long-lived exchange) -----------------------------

    exchange_grant: ClassVar[str] = "ig_exchange_token"
    """The ``grant_type`` of ``GET /access_token`` (short-lived for long-lived)."""

    def consenting_owner(self) -> str:
        for user in self._users.values():
            if user.username == self.consent_as:
                return user.id
        user_id = self.new_id()
        self._users[user_id] = User(
            id=user_id,
            username=self.consent_as,
            created_at=self.clock.time(),
            followers=0,
            followers_per_day=0.0,
        )
        return user_id

    @route("GET", r"/oauth/authorize")
    def _oauth_authorize(self, request: httpx.Request) -> httpx.Response:
        return self.authorize_answer(request)

    @route("POST", r"/oauth/access_token")
    def _oauth_access_token(self, request: httpx.Request) -> httpx.Response:
        params, _ = self.params(request)
        self.app_for(params)
        if params.get("grant_type") != "authorization_code":
            raise GraphError(400, 100, "Unsupported grant_type")
        owner, scopes = self.redeem_grant(params)
        token = self.issue_token(owner, self.token_kind, ttl=SHORT_TOKEN_TTL, scopes=scopes)
        return self.json(self.code_answer(token, owner, scopes))

    def code_answer(self, token: str, owner: str, scopes: tuple[str, ...]) -> dict[str, Any]:
        """The body of a successful code exchange (Threads: the token and the user id;
        the permissions granted, ``scopes``, are not in it)."""
        return {"access_token": token, "user_id": int(owner)}

    @route("GET", r"/access_token")
    @graph_api()
    def _oauth_long_lived(
        self, request: httpx.Request, token: Token, params: dict[str, Any], **_: Any
    ) -> httpx.Response:
        if params.get("grant_type") != self.exchange_grant:
            raise GraphError(400, 100, "Unsupported grant_type")
        secret = str(params.get("client_secret", ""))
        if not any(
            secrets.compare_digest(secret.encode(), a.client_secret.encode())
            for a in self._apps.values()
        ):
            raise GraphError(400, 101, "Error validating client secret.")
        return self.token_answer(token.owner, token.kind, LONG_TOKEN_TTL, token.scopes)
