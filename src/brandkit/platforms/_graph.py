"""What Facebook Pages, Instagram and Threads share: Meta's Graph API conventions.

- Every path starts with a pinned version (``/v25.0/...``; Threads ``/v1.0/...``).
- Errors come in one envelope, ``{"error": {"message", "type", "code", "error_subcode",
  "is_transient", "error_user_title", "error_user_msg", "fbtrace_id"}}`` (``platforms.md``
  §5.4): code 190 is an invalid or expired token, 4/17/32/613/8000x are throttling, 368 and
  506 refuse a repeated post, 1 and 2 (with HTTP 500) are transient, and a create that got a
  500 may still have taken effect.
- Rate limits are reported as usage percentages in ``X-App-Usage`` and
  ``X-Business-Use-Case-Usage`` (JSON), with ``estimated_time_to_regain_access`` in minutes;
  the driver's governor reads them, `regain_seconds` turns them into a wait.
- Lists page with ``paging.cursors.before``/``after`` and a ``paging.next`` address while
  there is more; up to 50 reads go in one batch request (``POST /{version}/`` with
  ``batch=[...]``), each answered in order or ``null``. An edge asked for inside another
  node's ``fields`` (``comments.limit(100){...}``) answers its first page there, and
  `GraphAdapter.rest_of_edge` reads on from it with the edge's own path.
- Conversations are comments (Facebook, Instagram): `InboxCursor` is the opaque inbox
  cursor they share (the newest creation time read, the ids read at that second, the
  platform and account it belongs to, and, while a read that hit its page bound goes on,
  the edges still to read with Meta's ``after`` cursors); `new_messages` cuts what a read
  found (`EdgeRead`, page by page) to what is new, oldest first, and `resumed_messages`
  what a read going on found. `GraphAdapter.read_edge_pages` reads an edge and says
  where it stopped; a saved ``after`` cursor Meta invalidated (its item deleted) is read
  again from the edge's first page, what lay before it left out (`InboxCursor.floors`,
  `GraphAdapter.get_from_cursor`). A comment is a `GraphAdapter.comment_message`, the target of an
  answer a `GraphAdapter.comment_target`. Every mark (a second and the ids read at it: a
  cursor's, a round's top, a floor, Threads' own cursors' too) moves by `moved_mark`, and
  `behind_mark` says whether a message lies on the side it moved from (was read).
- Nothing is idempotent: a create whose answer was lost is looked up before anything is
  sent again, among the account's recent posts (`GraphAdapter.read_back_post`) or the
  comment's replies, and `first_made` (`GraphAdapter.made_by_attempt`) chooses the match.
- Instagram and Threads publish through containers: create, wait until ``FINISHED``,
  publish once. `ContainerAdapter.wait_container` is the wait.
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Generic, Protocol, TypeVar, overload
from urllib.parse import urlencode

import attrs
import httpx
import pydantic

from brandkit._counts import MAX_VALUE, MetricCount
from brandkit._flow import Flow, Send, Wait
from brandkit.delivery import tid_time
from brandkit.errors import (
    AuthError,
    BrandkitError,
    ConfigurationError,
    MalformedResponse,
    PlatformError,
    PlatformUnavailable,
    RateLimited,
    Rejected,
)
from brandkit.inbox._model import Author, InboxPage, Message
from brandkit.metrics._sample import Metric, MetricSample
from brandkit.platforms._base import (
    MAX_RETRY_AFTER,
    Adapter,
    Answer,
    Capabilities,
    PartRef,
    ThreadContext,
    http_time,
    retry_after_of,
    wait_seconds,
)
from brandkit.platforms._oauth import TokenAnswer, parse_credentials
from brandkit.platforms._times import parse_time

if TYPE_CHECKING:
    from brandkit.accounts import Account
    from brandkit.content._media import Media
    from brandkit.content._render import RenderedPart

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_GRAPH_VERSION",
    "THROTTLE_CODES",
    "TRANSIENT_CODES",
    "TWIN_ALLOWANCE",
    "ContainerAdapter",
    "ContainerAnswer",
    "ContainerExpired",
    "Count",
    "EdgePage",
    "EdgePages",
    "EdgeRead",
    "Flag",
    "FollowersAnswer",
    "GraphAdapter",
    "GraphId",
    "GraphTime",
    "IdAnswer",
    "InboxCursor",
    "InsightsAnswer",
    "MediaHost",
    "MetricCount",
    "MetricNumber",
    "Number",
    "PermalinkAnswer",
    "QuotaAnswer",
    "RawAnswer",
    "before_floor",
    "behind_mark",
    "describe_failure",
    "edge_floor",
    "first_made",
    "gone",
    "graph_error",
    "moved_mark",
    "new_messages",
    "parse_time",
    "query_string",
    "regain_seconds",
    "resumed_messages",
    "stale_cursor",
    "tid_time",
]

DEFAULT_GRAPH_VERSION = "v25.0"
"""The Graph API version used when an account names none (the accounts' default)."""

THROTTLE_CODES = frozenset(
    {4, 17, 32, 613, 80000, 80001, 80002, 80003, 80004, 80005, 80006, 80008, 80009, 80014}
)
"""Meta error codes that mean "throttled" (``platforms.md`` §5.3)."""

_PERMISSION_CODES = frozenset({10, *range(200, 300)})
TRANSIENT_CODES = frozenset({1, 2})
"""Meta error codes that mean "a passing failure, try again" (unknown error, service)."""
_DUPLICATE_CODES = frozenset({368, 506})
# Instagram's "try again" codes (Error Codes reference): -1 a server error (2207001) or a
# failed container (2207032), -2 a media download that timed out (2207003); HTTP 400.
_AGAIN_CODES = frozenset({-1, -2})
_PUBLISH_CAP = (9, 2207042)
_GONE_SUBCODE = 33  # with code 100: the object does not exist or cannot be loaded
_TOKEN_SUBCODES = {
    458: "the user removed the app from their account",
    459: "the user must log in to Meta and clear a security checkpoint first",
    460: "Meta invalidated the token: the user changed their password (or Meta reset the "
    "session for security)",
    464: "the user must log in to Meta and confirm their account first",
    467: "the token was invalidated (the user logged out, or it was revoked)",
}
"""Why Meta refused a token (code 190) that did not simply expire (463), by subcode."""


MediaHost = Any
"""A callable ``media_host(media: Media) -> str`` that makes a local file reachable at a
public URL (the caller's storage or CDN), for platforms that fetch media themselves."""


# -- answers -------------------------------------------------------------------------------------
# The Graph answers brandkit reads, shared by Facebook, Instagram and Threads. Meta sends ids
# as JSON strings (``platforms.md`` §5-7); a number there is not what Meta sends, so it is
# refused rather than coerced.

GraphId = Annotated[str, pydantic.StringConstraints(pattern=r"^[0-9A-Za-z_.:-]{1,128}$")]
"""A Graph object id: a JSON string of digits (``{page}_{post}`` for Page posts). Ids go into
request paths, so nothing that could leave the path (``/``, ``?``, spaces, controls) is
accepted."""

Count = Annotated[int, pydantic.Strict()]
"""A count Meta sends as a JSON integer."""

Number = Count | Annotated[float, pydantic.Strict(), pydantic.AllowInfNan(False)]
"""A finite JSON number (never a string or a boolean)."""

MetricNumber = (
    MetricCount
    | Annotated[
        float, pydantic.Strict(), pydantic.AllowInfNan(False), pydantic.Field(ge=0, le=MAX_VALUE)
    ]
)
"""A metric value Meta sends as a JSON number: finite, from 0 to `MAX_VALUE`."""

Flag = Annotated[bool, pydantic.Strict()]
"""A JSON boolean (``"no"`` or ``0`` is not one)."""

T = TypeVar("T")
M = TypeVar("M", bound=pydantic.BaseModel)
P = TypeVar("P")


class IdAnswer(Answer):
    """``{"id": "..."}``: what a Graph create (post, photo, container, publish) answers, and
    a node another names by its id alone (a comment's ``parent``, a post's ``replied_to``)."""

    id: GraphId


class PermalinkAnswer(Answer):
    """``GET /{media-id}?fields=permalink`` (Instagram, Threads)."""

    permalink: str | None = None


def _graph_time(value: Any) -> Any:
    if isinstance(value, datetime):
        return value
    when = parse_time(value)
    if when is None:
        raise ValueError(f"not a Graph timestamp: {value!r}")
    return when


GraphTime = Annotated[datetime, pydantic.BeforeValidator(_graph_time)]
"""A Graph timestamp (``2019-08-12T03:45:11+0000``) read as an aware UTC datetime; anything
else is refused (so a garbled time is a `MalformedResponse`, not a silent ``None``)."""


class RawAnswer(Answer):
    """An answer that keeps the JSON object it was read from (`raw`), for
    ``Message.raw``."""

    _raw: dict[str, Any] = pydantic.PrivateAttr(default_factory=dict)

    @pydantic.model_validator(mode="wrap")
    @classmethod
    def _keep_raw(cls, data: Any, handler: pydantic.ValidatorFunctionWrapHandler) -> Any:
        model = handler(data)
        if isinstance(data, dict):
            model._raw = _without_links(data)
        return model

    @property
    def raw(self) -> dict[str, Any]:
        """The JSON object as Meta sent it (every field, the unread ones too), but for the
        ``paging.next``/``previous`` links of its nested edges: Graph writes the access
        token into them, and ``raw`` is stored and shown."""
        return dict(self._raw)


def _without_links(data: dict[str, Any], depth: int = 0) -> dict[str, Any]:
    """``data`` without the ``next``/``previous`` links of the ``paging`` objects in it (at
    any depth: a comment's replies, a post's comments); their cursors are kept."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict) and depth < _RAW_DEPTH:
            value = _without_links(value, depth + 1)
            if key == "paging":
                value.pop("next", None)
                value.pop("previous", None)
        elif isinstance(value, list) and depth < _RAW_DEPTH:
            value = [_without_links(v, depth + 1) if isinstance(v, dict) else v for v in value]
        out[key] = value
    return out


# Deeper than any edge brandkit expands (post > comments > replies): beyond it the JSON is
# kept as sent, and the walk is bounded whatever a page holds.
_RAW_DEPTH = 8


class _Cursors(Answer):
    before: str | None = None
    after: str | None = None


class _Paging(Answer):
    next: str | None = None
    previous: str | None = None
    cursors: _Cursors | None = None


class _Page(Answer, Generic[T]):
    """One page of an edge: ``data``, ``paging.cursors.before``/``after`` and
    ``paging.next`` (present while there is more after this page)."""

    data: tuple[T, ...] = ()
    paging: _Paging | None = None

    def after(self) -> str | None:
        """The cursor of the next page, or ``None`` when this is the last one (Meta leaves
        ``paging.next`` out on the last page, and may keep the cursors there)."""
        if self.paging is None or not self.paging.next or self.paging.cursors is None:
            return None
        return self.paging.cursors.after or None


EdgePage = _Page
"""One page of an edge (``EdgePage[Item]``), as read directly or inside another node."""


class _BatchItem(Answer):
    """One read of a batch: its HTTP status and its body (a JSON text)."""

    code: Count
    body: str | None = None


_BatchAnswer = pydantic.RootModel[list[_BatchItem | None]]


class ContainerAnswer(Answer):
    """A container's status: Instagram says ``status_code`` (and ``status`` as its text),
    Threads ``status`` (and ``error_message``)."""

    status_code: str | None = None
    status: str | None = None
    error_message: str | None = None


class _Quota(Answer):
    quota_total: Count | None = None


class _QuotaEntry(Answer):
    quota_usage: Count | None = None
    config: _Quota | None = None
    reply_quota_usage: Count | None = None
    reply_config: _Quota | None = None


class QuotaAnswer(Answer):
    """``content_publishing_limit`` (Instagram) and ``threads_publishing_limit``."""

    data: tuple[_QuotaEntry, ...] = ()

    def usage(self, *, reply: bool = False, default_total: int) -> tuple[int, int]:
        """``(used, total)`` of the first entry (replies' quota with ``reply``); an entry
        Meta leaves out counts as nothing used of ``default_total``."""
        entry = self.data[0] if self.data else _QuotaEntry()
        used = entry.reply_quota_usage if reply else entry.quota_usage
        config = entry.reply_config if reply else entry.config
        total = config.quota_total if config is not None else None
        return used or 0, total or default_total


class FollowersAnswer(Answer):
    """``GET /{id}?fields=followers_count`` (Pages, Instagram accounts)."""

    followers_count: MetricCount | None = None


InsightValue = MetricNumber | dict[str, MetricNumber] | None
"""An insights value: a number, or a breakdown by type (``post_clicks_by_type``)."""


class _ValueItem(Answer):
    value: InsightValue = None


class _Insight(Answer):
    name: str
    values: tuple[_ValueItem, ...] = ()
    total_value: _ValueItem | None = None


class InsightsAnswer(Answer):
    """``GET /{id}/insights``: ``data[].values[0].value`` or ``data[].total_value.value``."""

    data: tuple[_Insight, ...] = ()

    def values(self) -> dict[str, InsightValue]:
        """Each metric's value by its name."""
        out: dict[str, InsightValue] = {}
        for item in self.data:
            if item.total_value is not None:
                out[item.name] = item.total_value.value
            elif item.values:
                out[item.name] = item.values[0].value
        return out


_RESUME_KEY = re.compile(r"^[0-9A-Za-z_.:-]{1,128}(/[0-9A-Za-z_.:-]{1,128})?$")


@attrs.frozen
class InboxCursor:
    """Where an inbox read of comments stopped: the creation time (whole seconds, as Meta
    gives it) of the newest message read, and the ids read at exactly that second (several
    comments can share one). A message is new when it is younger, or as old but not among
    those ids. It travels as compact JSON text, opaque to callers, and names the platform
    and the account (Page id, Instagram user id) it was made for: another account's cursor
    is refused, since its mark would skip this account's messages.

    A read that stops at its page bound (or its ``limit``) while a post still has new
    comments starts a *round*: the cursor keeps the mark it started from (`at`,
    `seen`), the mark to move to when the round is done (`top`: the newest message given
    in the round's first read, or Meta's clock then, less `CLOCK_SLACK`, when that is
    later) and, per edge, Meta's ``after`` cursor to go on from (`resume`). Reads of a
    round read only those edges, and give what lies between the two marks; a message
    younger than `top` waits for the next round (which reads from the top again), so
    each message is given once. When the round's first read found more than ``limit``,
    it gives whole pages and goes on with each edge after the last page it gave (see
    `new_messages`); or, when that costs more, it gives the oldest ``limit``, `top` is
    the newest of those, and `cut` says that the round's end has more to give (the
    rest, read again by the next round).

    Attributes:
        at: unix seconds of the newest message read (``None``: nothing read yet).
        seen: the ids read at ``at``.
        platform: the adapter that made it (``None`` in cursors made before it was kept).
        account: the account's Graph id (``None`` likewise).
        top: the mark the round moves to (``None``: no round in progress).
        resume: ``(edge, after)`` pairs still to read in the round, in order; the edge is
            a post's id, or ``{media}/{comment}`` for the replies of a comment; ``after``
            is ``""`` for an edge to read from its first page.
        cut: the round's first read left new messages younger than `top` ungiven.
        floors: ``(edge, floor)`` for the resumed edges: the last message read on the
            edge before its ``after`` cursor, in the edge's order (the oldest for an edge
            listed newest first, the newest for one listed oldest first), as a mark (its
            second, and the ids read at that second). Meta invalidates a cursor whose item
            is deleted; the edge is then read again from its first page, and the messages
            up to the floor (`before_floor`) were read already. An edge with no floor had
            no message read before its cursor.
        again: the resumed edges read again from their first page in this round (their
            cursor was invalidated): every later read of them leaves out what lies up to
            their floor too, not only the one that went back to the first page, which may
            stop (at its page bound) before it is back where the round was.
    """

    at: int | None = None
    seen: frozenset[str] = frozenset()
    platform: str | None = None
    account: str | None = None
    top: InboxCursor | None = None
    resume: tuple[tuple[str, str], ...] = ()
    cut: bool = False
    floors: tuple[tuple[str, InboxCursor], ...] = ()
    again: frozenset[str] = frozenset()

    MAX_SEEN: ClassVar[int] = 10_000
    MAX_RESUME: ClassVar[int] = 10_000
    CLOCK_SLACK: ClassVar[int] = 60
    """Seconds by which Meta's clock (the ``Date`` of an answer) may run ahead of the
    creation times it stamps."""
    CLOCK_AHEAD: ClassVar[int] = 60
    """Seconds by which a ``Date`` may run ahead of the local clock and still be taken
    for Meta's clock: `CLOCK_SLACK`, the skew already allowed for Meta's own clock. A
    ``Date`` further ahead would move the mark past comments for as long as it is ahead,
    so it is not believed."""

    def is_new(self, created: datetime, message_id: str) -> bool:
        """Whether a message created at ``created`` with ``message_id`` was not read yet."""
        return not behind_mark(self.at, self.seen, int(created.timestamp()), message_id)

    def advanced(self, messages: Sequence[Message]) -> InboxCursor:
        """The cursor after also reading ``messages``."""
        places = ((int(m.created_at.timestamp()), m.id) for m in messages)
        at, seen = moved_mark(self.at, self.seen, places)
        return attrs.evolve(self, at=at, seen=frozenset(seen))

    def mark(self) -> InboxCursor:
        """The mark alone (`at` and `seen`)."""
        return InboxCursor(at=self.at, seen=self.seen)

    def ended(self) -> InboxCursor:
        """The cursor with its round done: its mark, platform and account, nothing of a
        round (`top`, `resume`, `cut`, `floors`, `again`)."""
        return attrs.evolve(self, top=None, resume=(), cut=False, floors=(), again=frozenset())

    def encode(self) -> str:
        """The cursor as text (pass it back to `decode`)."""
        data: dict[str, Any] = {"v": 1}
        if self.platform is not None:
            data["platform"] = self.platform
        if self.account is not None:
            data["account"] = self.account
        data.update(at=self.at, seen=sorted(self.seen))
        if self.resume:
            top = self.top or self.mark()
            data["top"] = {"at": top.at, "seen": sorted(top.seen)}
            data["resume"] = [list(pair) for pair in self.resume]
            if self.cut:
                data["cut"] = True
            edges = {edge for edge, _ in self.resume}
            floors = {
                edge: {"at": f.at, "seen": sorted(f.seen)}
                for edge, f in self.floors
                if edge in edges and f.at is not None
            }
            if floors:
                data["floors"] = floors
            again = sorted(edge for edge in self.again if edge in edges)
            if again:
                data["again"] = again
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def decode(cls, text: str | None, platform: str, account: str | None = None) -> InboxCursor:
        """Read a cursor `encode` made (``None``: start from what the platform shows) for
        the ``platform`` account whose Graph id is ``account``. A cursor made before
        cursors named their account cannot be checked and is taken as it is.

        Raises:
            ConfigurationError: ``text`` is not such a cursor, or is another platform's or
                another account's.
        """
        if text is None:
            return cls(platform=platform, account=account)
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise cls._garbled(platform, str(exc)) from None
        if isinstance(data, dict):
            cls._check_owner(data, platform, account)
        try:
            if not isinstance(data, dict) or data.get("v") != 1:
                raise ValueError("not a version 1 cursor")
            at, seen = cls._mark_of(data)
            if ("platform" in data) != ("account" in data):
                raise ValueError("the platform and the account go together")
            top, resume = data.get("top"), data.get("resume", [])
            if not isinstance(resume, list) or len(resume) > cls.MAX_RESUME:
                raise ValueError("resume is not a list of edges")
            pairs = tuple(cls._resume_pair(p) for p in resume)
            if (top is not None) != bool(pairs):
                raise ValueError("a round needs both top and resume")
            cut = data.get("cut", False)
            if not isinstance(cut, bool) or (cut and not pairs):
                raise ValueError("cut is not a flag of a round")
            floors = cls._floors_of(data.get("floors", {}), {edge for edge, _ in pairs})
            again = data.get("again", [])
            if not isinstance(again, list) or not set(again) <= {edge for edge, _ in pairs}:
                raise ValueError("again is not a list of the resumed edges")
            if top is not None:
                if not isinstance(top, dict):
                    raise ValueError("top is not a mark")
                top_at, top_seen = cls._mark_of(top)
                top = InboxCursor(at=top_at, seen=frozenset(top_seen))
        except (ValueError, TypeError) as exc:
            raise cls._garbled(platform, str(exc)) from None
        return cls(
            at=at,
            seen=frozenset(seen),
            platform=platform,
            account=account,
            top=top,
            resume=pairs,
            cut=cut,
            floors=floors,
            again=frozenset(again),
        )

    @classmethod
    def _floors_of(cls, data: Any, edges: set[str]) -> tuple[tuple[str, InboxCursor], ...]:
        if not isinstance(data, dict) or not set(data) <= edges:
            raise ValueError("floors are not marks of the resumed edges")
        floors: list[tuple[str, InboxCursor]] = []
        for edge, mark in data.items():
            if not isinstance(mark, dict):
                raise ValueError("a floor is not a mark")
            at, seen = cls._mark_of(mark)
            if at is None:
                raise ValueError("a floor has no time")
            floors.append((edge, InboxCursor(at=at, seen=frozenset(seen))))
        return tuple(floors)

    @classmethod
    def _mark_of(cls, data: dict[str, Any]) -> tuple[int | None, list[str]]:
        at, seen = data.get("at"), data.get("seen")
        if at is not None and (isinstance(at, bool) or not isinstance(at, int) or at < 0):
            raise ValueError("at is not a time")
        if not isinstance(seen, list) or not all(isinstance(i, str) for i in seen):
            raise ValueError("seen is not a list of ids")
        if len(seen) > cls.MAX_SEEN:
            raise ValueError("too many ids")
        return at, seen

    @staticmethod
    def _resume_pair(pair: Any) -> tuple[str, str]:
        if not (
            isinstance(pair, list)
            and len(pair) == 2
            and isinstance(pair[0], str)
            and _RESUME_KEY.fullmatch(pair[0])
            and isinstance(pair[1], str)
            and len(pair[1]) <= 2000  # "": from the edge's first page
        ):
            raise ValueError("resume is not a list of edges and cursors")
        return pair[0], pair[1]

    @staticmethod
    def _check_owner(data: dict[str, Any], platform: str, account: str | None) -> None:
        """Refuse a cursor that names another platform or account."""
        other = data.get("platform")
        if other is None and "user" in data and "marks" in data:
            other = "threads"  # the Threads inbox cursor names its user, not its platform
        if isinstance(other, str) and other != platform:
            raise ConfigurationError(
                f"{platform}: this inbox cursor was made by the {other} inbox, not by "
                f"{platform}'s: pass since=None, or the cursor saved for this account"
            )
        owner = data.get("account")
        if account is not None and isinstance(owner, str) and owner != account:
            raise ConfigurationError(
                f"{platform}: this inbox cursor belongs to another {platform} account "
                f"({owner}), not to this one ({account}): pass since=None, or the cursor "
                "saved for this account"
            )

    @staticmethod
    def _garbled(platform: str, why: str) -> ConfigurationError:
        return ConfigurationError(
            f"{platform}: the inbox cursor is not one brandkit made ({why}); pass the "
            "cursor of the last InboxPage unchanged, or None to read from the start"
        )


@attrs.frozen
class EdgePages(Generic[P]):
    """Where a read of one edge page by page stopped (`GraphAdapter.read_edge_pages`,
    Instagram's tags edge).

    Attributes:
        pages: each page read, in order (``P``: its items, or the messages made of them),
            with Meta's ``after`` cursor of it (``None`` on the edge's last page).
        after: Meta's cursor to go on from when a bound stopped the read with more to
            read; ``None`` when the edge ended or the read reached what it had read before.
        requests: the requests sent (a page that came inside another node's ``fields``
            not counted; a saved cursor Meta refused counted).
        again: the edge was read again from its first page in the round, before this read
            (as the read was told) or by it (Meta refused its saved cursor as invalid):
            `InboxCursor.again`, whose later reads leave out what lies before the floor.
    """

    pages: tuple[tuple[P, str | None], ...]
    after: str | None
    requests: int
    again: bool = False


@attrs.frozen
class EdgeRead:
    """What the read that starts from an inbox cursor's mark found on one edge, page by
    page (`new_messages` gives whole pages, so that a read can go on after the last one
    it gave).

    Attributes:
        edge: the edge's key in `InboxCursor.resume`.
        pages: each page read, in order: the messages on it (the account's own left out)
            and Meta's ``after`` cursor of the page (``None`` on the edge's last page).
        after: Meta's cursor where the read stopped with more to read (``None``: it
            reached the mark, or the edge's end).
        start: the cursor the read began from (``""``: the edge's first page).
        within: ``(read, page)``: the page of another read (by its index) that holds this
            edge's first page (an Instagram comment's replies come inside its comments
            page): when that page is not given, neither is this edge, since reading that
            page again reads it again.
        all_new: a read going on from any of its pages reads as far as this one did
            (``False``: an Instagram comments read that went past the mark, since one
            going on stops at the first page whose oldest comment is not new, and would
            leave the replies under the older ones unread).
        newest_first: the edge lists its newest messages first (``False``: oldest
            first, as an Instagram comment's replies); says which way its floor lies
            (`InboxCursor.floors`).
    """

    edge: str
    pages: tuple[tuple[tuple[Message, ...], str | None], ...]
    after: str | None = None
    start: str = ""
    within: tuple[int, int] | None = None
    all_new: bool = True
    newest_first: bool = True

    def floor(self, pages: int) -> InboxCursor | None:
        """The floor (`InboxCursor.floors`) of the edge resumed after its first
        ``pages`` pages (``None``: they hold no message)."""
        places = ((m.created_at, m.id) for page, _ in self.pages[:pages] for m in page)
        return edge_floor(None, places, newest_first=self.newest_first)


def behind_mark(
    at: int | None, seen: Collection[str], second: int, message_id: str, *, down: bool = False
) -> bool:
    """Whether a message (its creation second and id) lies at or behind the mark ``at``
    (``None``: no mark) with the ids ``seen`` at that second, on the side the mark moved
    from (`moved_mark`): older than it, or newer when it moves ``down``; that is, whether
    the reads that moved the mark read it. Every mark of the Graph inboxes is one: a
    cursor's and a round's top (`InboxCursor`), a floor, Threads' marks."""
    if at is None:
        return False
    if second == at:
        return message_id in seen
    return second > at if down else second < at


@overload
def moved_mark(
    at: int, seen: Iterable[str], places: Iterable[tuple[int, str]], *, down: bool = False
) -> tuple[int, list[str]]: ...
@overload
def moved_mark(
    at: int | None, seen: Iterable[str], places: Iterable[tuple[int, str]], *, down: bool = False
) -> tuple[int | None, list[str]]: ...
def moved_mark(
    at: int | None, seen: Iterable[str], places: Iterable[tuple[int, str]], *, down: bool = False
) -> tuple[int | None, list[str]]:
    """The mark ``at`` (``None``: none yet) with the ids ``seen`` at that second, once the
    messages at ``places`` (creation second and id) were read too: up to the newest of
    them, or ``down`` to the oldest (the floor of an edge listed newest first), with the
    ids read at its second in the order they were read (``seen`` first)."""
    ids = dict.fromkeys(seen)  # a set that keeps the order read: Threads' cursor shows it
    for second, message_id in places:
        if at is None or (second < at if down else second > at):
            at, ids = second, {message_id: None}
        elif second == at:
            ids[message_id] = None
    return at, list(ids)


def before_floor(
    floor: InboxCursor | None, created: datetime, message_id: str, *, newest_first: bool = True
) -> bool:
    """Whether a message of an edge (created at ``created``) lies at or before ``floor``
    (`InboxCursor.floors`) in the edge's order, that is, was read by the reads that paged
    past it (``floor`` ``None``: none was)."""
    if floor is None:
        return False
    second = int(created.timestamp())
    return behind_mark(floor.at, floor.seen, second, message_id, down=newest_first)


def edge_floor(
    floor: InboxCursor | None,
    places: Iterable[tuple[datetime, str]],
    *,
    newest_first: bool = True,
) -> InboxCursor | None:
    """``floor`` (``None``: none yet) once the messages at ``places`` (creation time and
    id), which follow it on the edge, were read too: the last of them in the edge's order
    (the oldest when it lists the newest first), with the ids read at that second."""
    at, seen = (floor.at, floor.seen) if floor is not None else (None, frozenset[str]())
    seconds = ((int(created.timestamp()), message_id) for created, message_id in places)
    at, ids = moved_mark(at, seen, seconds, down=newest_first)
    return None if at is None else InboxCursor(at=at, seen=frozenset(ids))


def new_messages(
    reads: Sequence[EdgeRead],
    cursor: InboxCursor,
    limit: int,
    *,
    clock: int | None = None,
    stops_at_mark: bool = False,
) -> InboxPage:
    """The messages ``cursor`` has not seen that ``reads`` found, each once, oldest first.

    Every new message is given when there are at most ``limit`` and every edge was read
    down to the mark: the cursor's mark moves to the newest. Otherwise the read gives
    whole pages, at most ``limit`` messages (the edges' first pages first, then their
    next ones), and starts a round (see `InboxCursor`) that goes on with each edge after
    the last page it gave (from the edge's start when it gave none): no page is read
    again but those it could not give. The round's mark to reach is the newest new
    message found, or ``clock`` (the unix seconds of Meta's ``Date`` when the read
    began) less `InboxCursor.CLOCK_SLACK` when that is later; its ids are those given.

    It gives the oldest ``limit`` instead (see `InboxCursor.cut`) when no page fits in
    ``limit``; when an edge it would go on with is not `EdgeRead.all_new`; or when
    every edge was read down to the mark and what the oldest ``limit`` leave lies on
    the pages that came in the read's first request (``stops_at_mark``: a read from the
    first pages reads each edge down to the mark; without it, every page read must have
    come in that request, since such a read reads them all), so that the read from the
    first pages that gives the rest costs about that one request. It does so too when
    going on would need more than `InboxCursor.MAX_RESUME` edges.
    """
    # Breadth first: every edge's first page before any edge's second, so that a busy
    # edge does not hold back the first page of every other. A nested edge's first page
    # goes with the page holding it (they came in one answer, and are read again as one),
    # its next pages after that.
    base: list[int] = []
    nested: dict[tuple[int, int], list[int]] = {}
    for i, read in enumerate(reads):
        parent = read.within
        base.append(0 if parent is None else base[parent[0]] + parent[1] + 1)
        if parent is not None:
            nested.setdefault(parent, []).append(i)
    given: dict[str, Message] = {}
    given_pages: set[tuple[int, int]] = set()
    closed: dict[int, int | None] = {}  # read -> its first page not given (None: dropped)
    depth = max((b + len(r.pages) for b, r in zip(base, reads, strict=True)), default=0)
    for level in range(depth):
        for i, read in enumerate(reads):
            k = level - base[i]
            if i in closed or not 0 <= k < len(read.pages):
                continue
            if read.within is not None:
                if read.within not in given_pages:
                    closed[i] = None
                    continue
                if k == 0:
                    continue  # given with the page holding it
            unit = [(i, k)] + [(c, 0) for c in nested.get((i, k), ()) if reads[c].pages]
            fresh = {
                m.id: m
                for r, p in unit
                for m in reads[r].pages[p][0]
                if m.id not in given and cursor.is_new(m.created_at, m.id)
            }
            if len(given) + len(fresh) > limit:
                closed[i] = k
                continue
            given.update(fresh)
            given_pages.update(unit)
    if closed and (
        not given
        or any(k is not None and not reads[i].all_new for i, k in closed.items())
        or _cheap_to_cut(reads, cursor, limit, stops_at_mark)
    ):
        return _cut_messages(reads, cursor, limit, clock)
    resume: list[tuple[str, str]] = []
    floors: list[tuple[str, InboxCursor | None]] = []
    for i, read in enumerate(reads):
        if i not in closed:
            if read.after is not None:
                resume.append((read.edge, read.after))
                floors.append((read.edge, read.floor(len(read.pages))))
        elif (first := closed[i]) is not None:
            after = read.pages[first - 1][1] if first else read.start
            resume.append((read.edge, after or ""))
            floors.append((read.edge, read.floor(first)))
    if len(resume) > InboxCursor.MAX_RESUME:
        return _cut_messages(reads, cursor, limit, clock)
    taken = sorted(given.values(), key=lambda m: (m.created_at, m.id))
    if not resume:
        return InboxPage(
            messages=taken,
            cursor=cursor.advanced(taken).ended().encode(),
            more=False,
        )
    top = cursor.mark().advanced(taken)
    newest = max(
        (
            int(m.created_at.timestamp())
            for r in reads
            for page, _ in r.pages
            for m in page
            if cursor.is_new(m.created_at, m.id)
        ),
        default=None,
    )
    # The pages not given lie under the resumed cursors: the round reaches up to the
    # newest of them, and its ids are only those given (one of that second not given
    # comes in the round).
    if newest is not None and (top.at is None or newest > top.at):
        top = InboxCursor(at=newest)
    slack = InboxCursor.CLOCK_SLACK
    if clock is not None and (top.at is None or clock - slack > top.at):
        top = InboxCursor(at=clock - slack)
    return InboxPage(
        messages=taken,
        cursor=attrs.evolve(
            cursor,
            top=top,
            resume=tuple(resume),
            cut=False,
            floors=_known(floors),
            again=frozenset(),
        ).encode(),
        more=True,
    )


def _known(
    floors: Iterable[tuple[str, InboxCursor | None]],
) -> tuple[tuple[str, InboxCursor], ...]:
    return tuple((edge, f) for edge, f in floors if f is not None)


def _cheap_to_cut(
    reads: Sequence[EdgeRead], cursor: InboxCursor, limit: int, stops_at_mark: bool
) -> bool:
    """Whether reading again from the edges' first pages what the oldest ``limit`` leave
    costs no more than the request that brought the first pages: every edge was read down
    to the mark, and the messages held back lie on pages of that request (with
    ``stops_at_mark``), or every page read came in it (a read that reads every page)."""
    if any(read.after is not None for read in reads):
        return False
    on_top: list[bool] = []  # whether a read's first page came in the first request
    for read in reads:
        parent = read.within
        on_top.append(not read.start and (parent is None or (parent[1] == 0 and on_top[parent[0]])))
    if not stops_at_mark:
        return all(on_top[i] and len(r.pages) <= 1 for i, r in enumerate(reads))
    fresh: dict[str, tuple[Message, bool]] = {}
    for i, read in enumerate(reads):
        for k, (page, _) in enumerate(read.pages):
            for m in page:
                if cursor.is_new(m.created_at, m.id):
                    fresh.setdefault(m.id, (m, on_top[i] and k == 0))
    ordered = sorted(fresh.values(), key=lambda p: (p[0].created_at, p[0].id))
    return all(first for _, first in ordered[limit:])


def _cut_messages(
    reads: Sequence[EdgeRead], cursor: InboxCursor, limit: int, clock: int | None
) -> InboxPage:
    """`new_messages` when ``limit`` is below the new messages of every edge's first
    page: the oldest ``limit`` of what the read found, and a round (when an edge has more
    to read) that stops below the ones held back; those, younger than its mark, come
    again in a later read from the edges' first pages (`InboxCursor.cut`)."""
    fresh: dict[str, Message] = {}
    for read in reads:
        for page, _ in read.pages:
            for m in page:
                if cursor.is_new(m.created_at, m.id):
                    fresh.setdefault(m.id, m)
    ordered = sorted(fresh.values(), key=lambda m: (m.created_at, m.id))
    taken = ordered[:limit]
    resume = tuple((r.edge, r.after) for r in reads if r.after is not None)
    floors = _known((r.edge, r.floor(len(r.pages))) for r in reads if r.after is not None)
    if not resume:
        return InboxPage(
            messages=taken,
            cursor=cursor.advanced(taken).ended().encode(),
            more=len(ordered) > limit,
        )
    cut = len(ordered) > limit
    top = cursor.mark().advanced(taken)
    # With some held back, the round must stop below them: its reads give only what lies
    # under `top` (older comments the resumed edges still hold), and the next round reads
    # the held-back ones again from the top.
    slack = InboxCursor.CLOCK_SLACK
    if not cut and clock is not None and (top.at is None or clock - slack > top.at):
        top = InboxCursor(at=clock - slack)
    return InboxPage(
        messages=taken,
        cursor=attrs.evolve(
            cursor, top=top, resume=resume, cut=cut, floors=floors, again=frozenset()
        ).encode(),
        more=True,
    )


def resumed_messages(
    messages: Sequence[Message],
    cursor: InboxCursor,
    resume: Sequence[tuple[str, str]],
    floors: Mapping[str, InboxCursor | None],
    again: Iterable[str],
) -> InboxPage:
    """What a read of a round (``cursor.resume``) found that lies between the round's two
    marks, each once, oldest first; ``resume`` is what is still to read, ``floors`` the
    floors of its edges (`InboxCursor.floors`), ``again`` those read again from their
    first page (`InboxCursor.again`). The messages of the top mark's own second count as
    under it, and join its ids. When nothing is left to read, the round is done: the
    cursor's mark moves to the round's `InboxCursor.top`, with ``more`` when the round's
    first read held messages back (`InboxCursor.cut`)."""
    top = cursor.top or cursor.mark()
    fresh: dict[str, Message] = {}
    for m in messages:
        second = int(m.created_at.timestamp())
        # A resumed edge goes on below what was read of it, so a message it holds from
        # the top mark's second is listed after ones that mark has seen: the next
        # round, which reads each post down to the first page holding one it has seen,
        # would stop before it. It is given now, and the mark takes its id.
        under = top.at is not None and second <= top.at
        if under and cursor.is_new(m.created_at, m.id) and m.id not in top.seen:
            fresh.setdefault(m.id, m)
    ordered = sorted(fresh.values(), key=lambda m: (m.created_at, m.id))
    top = top.advanced(ordered)
    if resume:
        after = attrs.evolve(
            cursor,
            top=top,
            resume=tuple(resume),
            floors=_known(floors.items()),
            again=frozenset(again),
        )
    else:
        after = attrs.evolve(cursor, at=top.at, seen=top.seen).ended()
    return InboxPage(messages=ordered, cursor=after.encode(), more=bool(resume) or cursor.cut)


def comment_rules(capabilities: Capabilities) -> Capabilities:
    """The rules of an answer that is a comment (Facebook, Instagram): text alone, one
    part, the post's text limit; what Meta's comment edges take from brandkit."""
    return attrs.evolve(
        capabilities,
        threads=False,
        max_parts=1,
        link_cards=False,
        media=attrs.evolve(capabilities.media, max_items=0, min_items=0),
    )


class ContainerExpired(PlatformError):
    """A publishing container was not published within 24 hours; a new one is needed."""


def graph_error(response: httpx.Response) -> dict[str, Any]:
    """The ``error`` object of a Graph error response (empty when the body has none)."""
    try:
        body = response.json()
    except ValueError:
        return {}
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return dict(body["error"])
    return {}


def gone(response: httpx.Response) -> bool:
    """Whether Meta refused because the node is gone: code 100 with subcode 33 (it does not
    exist, or cannot be loaded: deleted, or no longer visible to this account)."""
    if response.is_success:
        return False
    err = graph_error(response)
    return err.get("code") == 100 and err.get("error_subcode") == _GONE_SUBCODE


# Meta's own code for a cursor it cannot read ("Invalid cursors values"), in the error
# tables of its Marketing API references; the Graph edges' answers seen in the wild are
# code 100 naming the cursor.
_CURSORS_CODE = 2642


def stale_cursor(response: httpx.Response) -> bool:
    """Whether Meta refused a request as it refuses a paging cursor it cannot read (400,
    code 100 with no subcode, its message naming the cursor: "(#100) Invalid cursor"; or
    code 2642, "Invalid cursors values"), as it does a cursor whose item was deleted or
    removed (Graph API, Paginated Results: such cursors are invalidated)."""
    if response.status_code != 400:
        return False
    err = graph_error(response)
    if err.get("code") == _CURSORS_CODE:
        return True
    if err.get("code") != 100 or err.get("error_subcode") is not None:
        return False
    # Code 100 without a subcode is Graph's refusal of any parameter (a field the node does
    # not have, "(#100) Tried accessing nonexisting field ..."; a missing app secret
    # proof): only one naming the cursor says the cursor is what failed. Read again from
    # the first page, any other would only fail again, or read the edge again for nothing.
    message = err.get("message")
    return isinstance(message, str) and "cursor" in message.casefold()


def _usage_entries(response: httpx.Response) -> Iterator[dict[str, Any]]:
    raw = response.headers.get("x-business-use-case-usage")
    if not raw:
        return
    try:
        data = json.loads(raw)
    except ValueError:
        return
    if not isinstance(data, dict):
        return
    for entries in data.values():
        if isinstance(entries, list):
            yield from (e for e in entries if isinstance(e, dict))


def regain_seconds(response: httpx.Response) -> float | None:
    """Seconds until Meta lets calls through again, from ``X-Business-Use-Case-Usage``'s
    ``estimated_time_to_regain_access`` (minutes), or ``None`` when it is not said. A
    time that is not a finite number is not said; one longer than `MAX_RETRY_AFTER` (a
    day) is cut to it, so that a garbled header neither breaks the request off nor parks
    the account for ever."""
    waits: list[float] = []
    for entry in _usage_entries(response):
        minutes = wait_seconds(entry.get("estimated_time_to_regain_access"))
        if minutes is not None:
            waits.append(min(minutes * 60.0, MAX_RETRY_AFTER))
    positive = [w for w in waits if w > 0]
    return max(positive) if positive else None


TWIN_ALLOWANCE = timedelta(seconds=60)
"""How far before a part's key (on Meta's clock) a post may be made and still be taken for
the part, once Meta's clock is known: the key may have been made by another machine, whose
clock runs a little apart, and Meta stamps whole seconds. An older post with the same text
is a twin."""


class _Identified(Protocol):
    @property
    def id(self) -> str: ...


Found = TypeVar("Found", bound=_Identified)


def first_made(
    matches: Sequence[Found],
    started: datetime | None,
    when: Callable[[Found], datetime | None],
    *,
    offset: float | None = None,
    taken: Collection[str] = (),
) -> Found | None:
    """The post an earlier attempt of a part made, among the read-back's ``matches`` (the
    account's posts, comments or replies with the part's text): never one whose id is in
    ``taken`` (`ThreadContext.taken`: another delivery recorded it); of the others, the
    oldest made at or after ``started`` (the part's key time, to the second as Meta stamps
    its times), before an older twin with the same text. When none was, the key's clock may
    run ahead of Meta's (which is why a read-back looks `GraphAdapter.readback_slack`
    further back): with ``offset`` (Meta's clock less ours, from the read-back's ``Date``),
    the oldest made since the key by Meta's clock, less `TWIN_ALLOWANCE`; one made before is
    a twin, and without another the part was not made. Without ``offset``, the oldest of
    them all. ``when`` reads an item's time; ties keep the order given. ``None`` without
    matches."""
    if taken:
        matches = [m for m in matches if m.id not in taken]
    if not matches:
        return None
    if started is not None:
        begun = started.replace(microsecond=0)
        fresh = [m for m in matches if (made := when(m)) is not None and made >= begun]
        if fresh:
            matches = fresh
        elif offset is not None:
            floor = begun + timedelta(seconds=offset) - TWIN_ALLOWANCE
            matches = [m for m in matches if (made := when(m)) is None or made >= floor]
            if not matches:
                return None
    never = datetime.max.replace(tzinfo=UTC)
    return min(matches, key=lambda m: when(m) or never)


class GraphAdapter(Adapter):
    """The Graph API conventions every Meta adapter shares (see the module docstring).

    Subclasses say which secret holds the token (`token`), which bucket a request
    counts against (`bucket_of`) and what an expired token means for them.

    Attributes:
        poll_initial: the first wait (seconds) before asking again whether a container or
            video is ready; waits double up to ``poll_max``.
        poll_max: the longest wait between two polls (Meta suggests once a minute).
        poll_timeout: how long to wait for processing before giving up with
            [`PlatformUnavailable`][brandkit.errors.PlatformUnavailable].
        readback_slack: how far before a part's key time a read-back looks (clock skew).
        readback_pages: how many pages of recent posts a read-back reads at most.
        batch_retry_wait: seconds before reading throttled batch reads again when Meta's
            usage header names no wait.
    """

    default_version: ClassVar[str] = DEFAULT_GRAPH_VERSION
    refresh_grant: ClassVar[str | None] = None
    """The ``grant_type`` of ``GET /refresh_access_token`` (``None``: tokens do not refresh)."""
    refresh_margin: ClassVar[timedelta] = timedelta(days=7)
    """How long before ``token_expires_at`` the token is refreshed."""
    poll_initial: ClassVar[float] = 1.0
    poll_max: ClassVar[float] = 60.0
    poll_timeout: ClassVar[float] = 600.0
    readback_slack: ClassVar[timedelta] = timedelta(minutes=10)
    readback_pages: ClassVar[int] = 4
    batch_retry_wait: ClassVar[float] = 60.0
    comment_post_key: ClassVar[str] = "post"
    """Where conversations are comments (Facebook, Instagram): the key that names the post
    a comment is on in its ``Message.extra`` and in an answer's target (`comment_target`)."""

    def __init__(self, account: Account) -> None:
        super().__init__(account)
        self.clock: Callable[[], float] = time.time
        # The Date header of the last answer read, and our clock when it was read; parsed
        # only when a read-back asks (`meta_offset`), not on every answer.
        self._last_date: tuple[str, float] | None = None

    def parse(self, response: httpx.Response, model: type[M]) -> M:
        """`Adapter.parse`, noting Meta's clock from the answer's ``Date`` (`meta_offset`)."""
        date = response.headers.get("date")
        if date:
            self._last_date = (date, self.clock())
        return super().parse(response, model)

    def meta_offset(self) -> float | None:
        """Meta's clock less ours (seconds), from the ``Date`` of the last answer read, or
        ``None`` without a readable one. ``Date`` is in whole seconds, so Meta's clock then
        read up to a second more: the offset is taken half a second up. A Date more than a
        day off is not believed (a broken proxy, not a clock)."""
        if self._last_date is None:
            return None
        header, seen = self._last_date
        date = _date_of_text(header)
        if date is None:
            return None
        offset = date + 0.5 - seen
        return offset if abs(offset) < 86_400 else None

    # -- requests ----------------------------------------------------------------------------

    @property
    def version(self) -> str:
        """The pinned Graph API version, e.g. ``v25.0``."""
        version = str(self.account.settings.get("api_version") or self.default_version)
        return version if version.startswith("v") else f"v{version}"

    def token(self) -> str:
        """The access token requests carry."""
        return self.account.secret("token") or ""

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
        files: Mapping[str, Any] | None = None,
        token: str | None = None,
        versioned: bool = True,
    ) -> httpx.Request:
        """A request to ``/{version}{path}``; the token goes in the ``Authorization`` header
        (never in the URL, so that it stays out of logs)."""
        prefix = f"/{self.version}" if versioned else ""
        url = f"{self.account.base_url}{prefix}{path}"
        form = {k: _form_value(v) for k, v in (data or {}).items() if v is not None}
        query = {k: _form_value(v) for k, v in (params or {}).items() if v is not None}
        request = httpx.Request(
            method,
            url,
            params=query or None,
            data=form or None,
            files=files,
            headers={"Authorization": f"Bearer {token if token is not None else self.token()}"},
        )
        if files is None:
            request.read()  # a fixed body, so that the driver can send it again
        return request

    def bucket_of(self, request: httpx.Request) -> str:
        """The rate-limit bucket of a request (named in `RateLimited` errors)."""
        return "graph"

    def send(
        self,
        build: Callable[[], httpx.Request],
        *,
        idempotent: bool = False,
        creates: bool = False,
    ) -> Flow[httpx.Response]:
        """Send the request ``build`` makes, counted against its `bucket_of`, and give its
        answer unchecked. ``build`` is a callable so that an adapter can build the request
        again with another token (Facebook's Page token, fetched again once refused)."""
        request = build()
        step = Send(request, idempotent=idempotent, bucket=self.bucket_of(request), creates=creates)
        return (yield step)

    # -- tokens ------------------------------------------------------------------------------

    def token_expires_at(self) -> float | None:
        """The token's expiry from the account setting ``token_expires_at`` (epoch seconds or
        an aware datetime), or ``None`` when it is not known."""
        value = self.account.settings.get("token_expires_at")
        if isinstance(value, datetime):
            return value.timestamp()
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str) and value:
            try:
                return float(value)
            except ValueError:
                when = parse_time(value)
                return when.timestamp() if when is not None else None
        return None

    def ensure_fresh_token(self) -> Flow[None]:
        """Refresh a long-lived token that expires within `refresh_margin`.

        Meta refreshes only tokens that have not expired yet (and are at least a day old),
        so this is done ahead of expiry, never after a refusal. The new token goes to the
        account (and its ``on_credentials_changed`` hook, with the new ``token_expires_at``
        in the account's settings). Nothing is sent when the expiry is unknown or far.

        Raises:
            AuthError: Meta refused to refresh (the token must then be authorised again).
            MalformedResponse: Meta's answer carries no usable ``access_token``.
        """
        expires = self.token_expires_at()
        now = self.clock()
        if self.refresh_grant is None or expires is None:
            return
        if now < expires - self.refresh_margin.total_seconds() or now >= expires:
            return
        request = self.request(
            "GET",
            "/refresh_access_token",
            params={"grant_type": self.refresh_grant},
            versioned=False,
        )
        response = yield Send(request, idempotent=True, bucket=self.bucket_of(request))
        token = parse_credentials(self, response, TokenAnswer)
        if token.expires_in is not None and token.expires_in > 0:
            self.account.settings["token_expires_at"] = now + float(token.expires_in)
        self.account.update_secrets(token=token.access_token)

    # -- reading -----------------------------------------------------------------------------

    def get(self, path: str, params: Mapping[str, Any] | None, model: type[M]) -> Flow[M]:
        """``GET`` a node or edge (a read, so the driver may repeat it) and read it as
        ``model``.

        Raises:
            PlatformError: Meta refused (typed by `error_for`).
            MalformedResponse: the answer is not ``model``'s shape.
        """
        response = yield from self._read(path, params)
        return self.parse(response, model)

    def _read(self, path: str, query: Mapping[str, Any] | None) -> Flow[httpx.Response]:
        """A ``GET`` of ``path`` with ``query``, sent as every read is: through `send`, which
        Facebook's fetches the Page token in first (an account given only a user token)
        and again when Meta refuses it (code 190)."""
        return (
            yield from self.send(lambda: self.request("GET", path, params=query), idempotent=True)
        )

    def pages(
        self, path: str, params: Mapping[str, Any], item: type[T], *, limit: int | None = None
    ) -> Flow[list[T]]:
        """The items of an edge, each read as ``item``, following ``paging.cursors.after``
        for at most ``limit`` pages (default `readback_pages`).

        Raises:
            PlatformError: Meta refused (typed by `error_for`).
            MalformedResponse: a page, or an item of it, is not of the expected shape (an
                item brandkit cannot read might be the one looked for, so it is not skipped).
        """
        items: list[T] = []
        query = dict(params)
        for _ in range(limit or self.readback_pages):
            page = yield from self.get(path, query, _Page[item])  # type: ignore[valid-type]
            if not page.data:
                break
            items.extend(page.data)
            after = page.paging.cursors.after if page.paging and page.paging.cursors else None
            if page.paging is None or not page.paging.next or not after:
                break
            query["after"] = after
        return items

    # -- read-backs (a part whose answer was lost) ------------------------------------------

    def readback_since(self, thread: ThreadContext) -> datetime | None:
        """How far back a read-back of ``thread``'s part looks: `readback_slack` before its
        key was made (``None`` for a key with no time)."""
        started = tid_time(thread.key)
        return started - self.readback_slack if started is not None else None

    def made_by_attempt(
        self,
        matches: Sequence[Found],
        thread: ThreadContext,
        when: Callable[[Found], datetime | None],
    ) -> Found | None:
        """The match (the account's post, comment or reply with the part's text) that an
        earlier attempt of ``thread``'s part made: `first_made` from the part's key time,
        with Meta's clock (`meta_offset`) and never one another delivery took
        (`ThreadContext.taken`); ``None`` when the part was not made."""
        return first_made(
            matches,
            tid_time(thread.key),
            when,
            offset=self.meta_offset(),
            taken=thread.taken,
        )

    def read_back_post(
        self,
        path: str,
        fields: str,
        item: type[Found],
        thread: ThreadContext,
        text: str,
        *,
        text_of: Callable[[Found], str | None],
        when: Callable[[Found], datetime | None],
        also: Callable[[Found], bool] | None = None,
    ) -> Flow[Found | None]:
        """The post an earlier attempt of ``thread``'s part made, among the account's recent
        posts on the edge ``path``: those Meta lists since `readback_since` (``since``; 25
        a page, at most `readback_pages` pages, read as ``item`` with ``fields``) whose
        text (``text_of``) is ``text``, white space around either aside, and that pass
        ``also``; of those, the one `made_by_attempt` chooses. A post whose time
        (``when``) cannot be read is kept: it may be the one.

        Raises:
            PlatformError: Meta refused (typed by `error_for`).
            MalformedResponse: a page, or a post on it, is not of the expected shape.
        """
        since = self.readback_since(thread)
        params: dict[str, Any] = {"fields": fields, "limit": 25}
        if since is not None:
            params["since"] = int(since.timestamp())
        posts = yield from self.pages(path, params, item)
        matches = [
            post
            for post in posts
            if (text_of(post) or "").strip() == text.strip()
            and (also is None or also(post))
            and (since is None or (when(post) or since) >= since)
        ]
        return self.made_by_attempt(matches, thread, when)

    def get_dated(
        self, path: str, params: Mapping[str, Any] | None, model: type[M]
    ) -> Flow[tuple[M, int | None]]:
        """`get`, with the unix seconds of the answer's ``Date`` header (Meta's clock when
        it answered; ``None`` when the header is missing or unreadable, or runs more than
        `InboxCursor.CLOCK_AHEAD` ahead of the local clock).

        Raises:
            PlatformError: Meta refused (typed by `error_for`).
            MalformedResponse: the answer is not ``model``'s shape.
        """
        response = yield from self._read(path, params)
        date = _date_of(response)
        # The inbox moves its mark up to this clock (less CLOCK_SLACK), past whatever it
        # did not read: a front end or proxy whose clock runs ahead would skip comments
        # for as long, so a Date more than a minute ahead of the local clock is not
        # believed; without a clock the mark moves only as far as the newest message
        # read, which is always safe (a clock behind only makes reads read again, which
        # the mark deduplicates).
        if date is not None and date > self.clock() + InboxCursor.CLOCK_AHEAD:
            date = None
        return self.parse(response, model), date

    def rest_of_edge(
        self,
        path: str,
        params: Mapping[str, Any],
        item: type[T],
        first: _Page[T] | None,
        *,
        max_pages: int,
        stop: Callable[[T], bool] | None = None,
    ) -> Flow[list[T]]:
        """The items of an edge whose first page was already read (inside another node's
        ``fields``, or ``None`` when it was not), reading on from ``path`` (the edge's own
        address, with ``params``) while Meta says there is more: at most ``max_pages``
        pages in all, and no further once an item satisfies ``stop`` (an edge read newest
        first stops at the first item already seen).

        Raises:
            PlatformError: Meta refused (typed by `error_for`).
            MalformedResponse: a page is not of the expected shape.
        """
        read = yield from self.read_edge_pages(
            path, params, item, first, max_pages=max_pages, stop=stop
        )
        return [i for page, _ in read.pages for i in page]

    def read_edge_pages(
        self,
        path: str,
        params: Mapping[str, Any],
        item: type[T],
        first: _Page[T] | None,
        *,
        max_pages: int,
        stop: Callable[[T], bool] | None = None,
        budget: int | None = None,
        gone_ends: bool = False,
        restart: Callable[[T], bool] | None = None,
        again: bool = False,
    ) -> Flow[EdgePages[list[T]]]:
        """`rest_of_edge` page by page, saying where it stopped (`EdgePages`), each page
        as its items and Meta's ``after`` cursor of it.

        The result's ``after`` is Meta's cursor of the next page when reading stopped at
        ``max_pages`` pages, or once ``budget`` items were read (the pages it requests
        then hold no more than what is left of ``budget``), with more to read; it is
        ``None`` when the edge ended or an item satisfied ``stop``. Its ``requests``
        counts the pages requested (not ``first``). With ``gone_ends``, an edge whose
        node is gone (Meta's code 100, subcode 33: deleted, or no longer visible) reads
        as ended.

        With ``restart``, Meta's cursor in ``params`` (``after``, a saved one) refused as
        invalid (`stale_cursor`: Meta invalidates a cursor whose item was deleted) is
        dropped, with a warning, and the edge read from its first page instead, once; the
        items ``restart`` says were read before that cursor are left out of the pages.
        ``again`` says the edge was read again from its first page before, in the round
        (`InboxCursor.again`): ``restart`` then leaves out from the first page read. The
        result's ``again`` is that, or that this read did so.

        Raises:
            PlatformError: Meta refused (typed by `error_for`).
            MalformedResponse: a page is not of the expected shape.
        """
        pages: list[tuple[list[T], str | None]] = []
        items: list[T] = []
        query = dict(params)
        page = first
        requests = 0
        size = query.get("limit")

        def shrink() -> None:
            # A read bound by ``budget`` must not pass it: what it gives could not be held
            # back once the edge's cursor moved past it.
            if budget is not None and isinstance(size, int):
                query["limit"] = max(1, min(size, budget - len(items)))

        went = again
        if page is None:
            shrink()
            page, restarted = yield from self._edge_page(
                path, query, item, gone_ends, restart is not None
            )
            requests += 1 + restarted
            went = went or restarted
        read = 1
        while page is not None:
            data = [i for i in page.data if not (went and restart is not None and restart(i))]
            items.extend(data)
            after = page.after()
            pages.append((data, after))
            if after is None or (stop is not None and any(stop(i) for i in data)):
                break
            if read >= max_pages or (budget is not None and len(items) >= budget):
                return EdgePages(tuple(pages), after, requests, went)
            query["after"] = after
            shrink()
            page, _ = yield from self._edge_page(path, query, item, gone_ends, False)
            requests += 1
            read += 1
        return EdgePages(tuple(pages), None, requests, went)

    def _edge_page(
        self, path: str, query: dict[str, Any], item: type[T], gone_ends: bool, restart: bool
    ) -> Flow[tuple[_Page[T] | None, bool]]:
        response, again = yield from self._from_cursor(path, query, restart)
        if gone_ends and gone(response):
            return None, again
        return self.parse(response, _Page[item]), again  # type: ignore[valid-type]

    def get_from_cursor(
        self, path: str, params: Mapping[str, Any], model: type[M]
    ) -> Flow[tuple[M, bool]]:
        """`get` of an edge's page from a saved cursor (``params["after"]``); when Meta
        refuses that cursor as invalid (`stale_cursor`: Meta invalidates a cursor whose
        item was deleted), the edge's first page instead, once, with a warning. Returns
        the page and whether it is the first page read again: the caller leaves out what
        it read before the cursor.

        Raises:
            PlatformError: Meta refused (typed by `error_for`), the first page too.
            MalformedResponse: the answer is not ``model``'s shape.
        """

        query = dict(params)
        response, again = yield from self._from_cursor(path, query, True)
        return self.parse(response, model), again

    def _from_cursor(
        self, path: str, query: dict[str, Any], restart: bool
    ) -> Flow[tuple[httpx.Response, bool]]:
        """`_read` ``path`` with ``query``; with ``restart``, an ``after`` in it that Meta
        refuses as invalid is dropped from it and the edge's first page sent for, once.
        Returns the answer and whether the cursor was dropped."""
        response = yield from self._read(path, query)
        if not (restart and query.get("after") and stale_cursor(response)):
            return response, False
        # Meta invalidates a cursor whose item was deleted: paging on from it cannot work,
        # and keeping it would fail every later read the same way. The edge is read again
        # from the top; the caller leaves out what it read before the cursor.
        logger.warning(
            "%s: Meta refused the saved paging cursor of %s as invalid (its item was "
            "deleted or removed); reading the edge again from its first page",
            self.account.key,
            path,
        )
        del query["after"]
        return (yield from self._read(path, query)), True

    # -- metrics -----------------------------------------------------------------------------

    def followers(self, node: str, fields: str, whose: str) -> Flow[list[MetricSample]]:
        """The followers of the account's ``node`` (a Page, an Instagram user) as one
        sample, from ``GET /{node}?fields=`` (``fields`` asks for ``followers_count``);
        unavailable, saying ``whose`` count Meta left out, when it sends none. A token
        close to its expiry is refreshed first.

        Raises:
            PlatformError: Meta refused (typed by `error_for`).
            MalformedResponse: the answer is not of the expected shape.
        """
        yield from self.ensure_fresh_token()
        body = yield from self.get(f"/{node}", {"fields": fields}, FollowersAnswer)
        now = datetime.now(UTC)
        if body.followers_count is None:
            return [
                MetricSample.unavailable(
                    platform=self.name,
                    account=self.account.key,
                    metric=Metric.FOLLOWERS.value,
                    raw_name="followers_count",
                    reason=f"Meta sent no followers_count for {whose}",
                    fetched_at=now,
                )
            ]
        return [
            MetricSample(
                platform=self.name,
                account=self.account.key,
                metric=Metric.FOLLOWERS.value,
                value=body.followers_count,
                fetched_at=now,
                raw_name="followers_count",
            )
        ]

    # -- comments (Facebook, Instagram) ------------------------------------------------------

    def comment_message(
        self,
        comment_id: str,
        *,
        post: str,
        parent: str | None,
        author: Author,
        text: str,
        created_at: datetime,
        url: str | None,
        hidden: bool,
        raw: dict[str, Any],
    ) -> Message:
        """A comment on the account's post ``post`` as a `Message`: it answers ``parent``
        (the comment it replies to) or else the post, and belongs to the post's
        conversation; ``extra`` names both (the post under `comment_post_key`)."""
        return Message(
            platform=self.name,
            account=self.account.key,
            id=comment_id,
            kind="comment",
            author=author,
            text=text,
            created_at=created_at,
            url=url,
            in_reply_to=parent or post,
            conversation=post,
            our_post=post,
            hidden=hidden,
            raw=raw,
            extra={self.comment_post_key: post, "parent": parent},
        )

    def comment_target(self, message: Message) -> PartRef:
        """The comment ``message`` (from `comment_message`) as the target of an answer.
        Meta's comments thread one level deep: an answer to a reply joins the replies of
        its comment (``extra["thread"]``, read by `answer_thread`).

        Raises:
            ConfigurationError: ``message`` belongs to another account (`check_message`).
        """
        self.check_message(message)
        parent = message.extra.get("parent")
        return PartRef(
            index=0,
            id=message.id,
            url=message.url,
            extra={self.comment_post_key: message.our_post, "thread": parent or message.id},
        )

    def answer_thread(self, thread: ThreadContext) -> str:
        """The comment whose replies hold the answer ``thread`` publishes to the comment
        ``thread.reply_to`` (see `comment_target`): where a lost answer is looked for."""
        assert thread.reply_to is not None
        return str(thread.reply_to.extra.get("thread") or thread.reply_to.id)

    # -- deleting ----------------------------------------------------------------------------

    def delete_node(self, node_id: str) -> Flow[None]:
        """``DELETE /{node-id}`` (a post or a comment), after refreshing a token close to its
        expiry; a node already `gone` counts as deleted, since deleting it again changes
        nothing, once a read of it (``GET /{node-id}?fields=id``) says it is gone too.

        Raises:
            Rejected: Meta answered "gone" to the delete, but the node is still there (the
                token may not delete it, or the node cannot be deleted through the API).
            PlatformError: Meta refused (typed by `error_for`).
        """
        yield from self.ensure_fresh_token()
        response = yield from self.send(
            lambda: self.request("DELETE", f"/{node_id}"), idempotent=True
        )
        if not gone(response):
            self.check(response)
            return
        # Meta's words for 100/33 are "does not exist, cannot be loaded due to missing
        # permissions, or does not support this operation": a post the token may read but
        # not delete was marked deleted while it stayed up.
        read = yield from self.send(
            lambda: self.request("GET", f"/{node_id}", params={"fields": "id"}),
            idempotent=True,
        )
        if gone(read) or read.status_code == 404:
            return
        self.check(read)
        refused = self.error_for(response)
        raise Rejected(
            f"{self.name} did not delete {node_id}: it answered that the object cannot be "
            "deleted (code 100, subcode 33), and a read shows it is still there; check that "
            "the token's app has the permission to delete it, or delete it in the app",
            platform=self.name,
            status_code=response.status_code,
            platform_message=refused.platform_message,
            code=refused.code,
        )

    def batch(
        self, relative_urls: Sequence[str], *, bucket: str | None = None
    ) -> Flow[list[httpx.Response | None]]:
        """Up to 50 ``GET`` reads in one request (``POST /{version}/`` with ``batch``).

        Returns one response per read, in order; ``None`` where Meta answered ``null`` (the
        read timed out). Each read counts as one call against the rate limits, so reads of a
        batch can be throttled although the batch itself succeeds: those (and timed-out
        ones) are read once more in a second batch, after the wait Meta's usage header
        names (`batch_retry_wait` when it names none).
        """
        if not relative_urls:
            return []
        if len(relative_urls) > 50:
            raise ConfigurationError("a Graph batch takes at most 50 requests")
        out, response = yield from self._batch_once(relative_urls, bucket)
        again = [i for i, answer in enumerate(out) if answer is None or _throttled(answer)]
        if again:
            yield Wait(regain_seconds(response) or self.batch_retry_wait)
            retried, _ = yield from self._batch_once([relative_urls[i] for i in again], bucket)
            for i, answer in zip(again, retried, strict=True):
                if answer is not None:
                    out[i] = answer
        return out

    def _batch_once(
        self, relative_urls: Sequence[str], bucket: str | None
    ) -> Flow[tuple[list[httpx.Response | None], httpx.Response]]:
        batch = [{"method": "GET", "relative_url": url} for url in relative_urls]
        request = self.request(
            "POST",
            "/",
            data={"batch": json.dumps(batch, separators=(",", ":")), "include_headers": "false"},
        )
        response = yield Send(
            request,
            idempotent=True,
            bucket=bucket or self.bucket_of(request),
            cost=len(batch),
        )
        answers = self.parse(response, _BatchAnswer).root
        out: list[httpx.Response | None] = []
        for item, sent in zip(answers, batch, strict=False):
            if item is None:
                out.append(None)  # Meta answers null for a read that timed out
                continue
            out.append(
                httpx.Response(
                    item.code,
                    content=(item.body or "").encode(),
                    headers={"content-type": "application/json"},
                    request=httpx.Request("GET", f"{self.account.base_url}/{sent['relative_url']}"),
                )
            )
        out.extend(None for _ in range(len(batch) - len(out)))
        return out, response

    def read_item(
        self, answer: httpx.Response | None, model: type[M], what: str
    ) -> tuple[M | None, str | None]:
        """One read of a batch as ``model``, or ``None`` and why there is nothing: Meta did
        not answer it, refused it, or answered it in a shape brandkit cannot read. Such a
        read costs only its own post's samples (unavailable, with the reason), never the
        rest of the batch."""
        if answer is None or not answer.is_success:
            return None, describe_failure(answer, what)
        try:
            return self.parse(answer, model), None
        except MalformedResponse as exc:
            return None, str(exc)

    def read_insights(
        self, answer: httpx.Response | None, *, asked: bool = True
    ) -> tuple[InsightsAnswer | None, str | None]:
        """A post's insights read (see `read_item`); ``asked=False`` when no metric
        was asked for, so that a missing answer is no failure."""
        if answer is None and not asked:
            return None, None
        return self.read_item(answer, InsightsAnswer, "the post's insights")

    def media_host(self) -> MediaHost:
        """The account's ``media_host`` callable.

        Raises:
            ConfigurationError: it is not set or not callable.
        """
        host = self.account.settings.get("media_host")
        if not callable(host):
            raise ConfigurationError(
                f"{self.name} fetches media from public URLs: give the account a media_host, "
                "a callable media_host(media) -> str that uploads the file to your storage or "
                "CDN and returns its https URL (in tests: brandkit.testing.LoopbackMediaHost())"
            )
        return host

    def media_url(self, media: Media) -> str:
        """The public URL of ``media`` from the account's ``media_host``.

        Raises:
            ConfigurationError: no media host, or it returned no http(s) URL.
        """
        url = self.media_host()(media)
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ConfigurationError(
                f"{self.name}: media_host returned {url!r} for {media.filename}; it must return "
                "an http(s) URL"
            )
        return url

    # -- errors ------------------------------------------------------------------------------

    def auth_advice(self, code: int | None, subcode: int | None) -> str:
        """What to do about a refused token (subclasses know their token kinds). Meta's
        subcode says why when it was invalidated rather than expired (458-467). A
        long-lived token that refreshes (`refresh_grant`: Instagram's, Threads') lasts 60
        days and refreshes only before it expires, so once refused it must be authorised
        again."""
        why = _TOKEN_SUBCODES.get(subcode) if code == 190 and subcode is not None else None
        if why is not None:
            return f"{why}: authorise the app again and use the new token"
        if self.refresh_grant is not None:
            return (
                f"{self.name.capitalize()} tokens last 60 days and cannot be refreshed once "
                "expired: authorise the app again (set token_expires_at on the account so "
                "that brandkit refreshes the token a week before it expires)"
            )
        return "authorise the app again and use the new token"

    def error_for(self, response: httpx.Response) -> PlatformError:
        """Meta's error envelope as a typed error that carries Meta's message.

        Code 190 (token) and the permission codes (10, 200-299) are `AuthError`;
        throttling codes (4, 17, 32, 613, 8000x) and the publishing cap (9/2207042) are
        `RateLimited` with the wait from ``estimated_time_to_regain_access``; 368 and
        506 are ``Rejected(duplicate=True)``; codes 1 and 2, Instagram's "try again" -1
        and -2, and any 5xx are `PlatformUnavailable` (a create may still have taken
        effect); the rest is
        [`Rejected`][brandkit.errors.Rejected].
        """
        err = graph_error(response)
        status = response.status_code
        message = str(err.get("message") or response.text[:300] or response.reason_phrase)
        message = self.account.redact(message)
        code = err.get("code") if isinstance(err.get("code"), int) else None
        subcode = err.get("error_subcode") if isinstance(err.get("error_subcode"), int) else None
        detail = message
        title, user_msg = err.get("error_user_title"), err.get("error_user_msg")
        if isinstance(user_msg, str) and user_msg and user_msg not in message:
            extra = f"{title}: {user_msg}" if isinstance(title, str) and title else user_msg
            detail = f"{message} ({self.account.redact(extra)})"
        where = f"code {code}" + (f", subcode {subcode}" if subcode is not None else "")
        text = f"{self.name} answered {status}: {detail}" + (f" [{where}]" if code else "")
        common: dict[str, Any] = {
            "platform": self.name,
            "status_code": status,
            "platform_message": message,
            "code": code if code is not None else err.get("code"),
        }
        if code == 190 or code == 102 or (code is None and status == 401):
            return AuthError(f"{text}. {self.auth_advice(code, subcode)}", **common)
        if code in _PERMISSION_CODES:
            return AuthError(
                f"{text}. The token lacks a permission this call needs: authorise the app "
                "again with the missing permission",
                **common,
            )
        if code in THROTTLE_CODES or (code, subcode) == _PUBLISH_CAP or status == 429:
            wait = regain_seconds(response)
            bucket = self.bucket_of(_request_of(response))
            if (code, subcode) == _PUBLISH_CAP:
                bucket = "publish"
            reset_at = datetime.now(UTC) + timedelta(seconds=wait) if wait is not None else None
            if wait is not None:
                text += f" (Meta says access returns in about {math.ceil(wait / 60)} min)"
            return RateLimited(
                text,
                retry_after=wait,
                reset_at=reset_at,
                bucket=f"{self.name}:{bucket}",
                **common,
            )
        if code in _DUPLICATE_CODES:
            return Rejected(text, duplicate=True, **common)
        if status >= 500 or code in TRANSIENT_CODES or code in _AGAIN_CODES:
            return PlatformUnavailable(text, retry_after=retry_after_of(response), **common)
        return Rejected(text, **common)


class _Listed(Protocol):
    """A post of the account as a read-back lists it."""

    @property
    def id(self) -> str: ...
    @property
    def timestamp(self) -> Any: ...
    @property
    def permalink(self) -> str | None: ...


class ContainerAdapter(GraphAdapter):
    """A Graph adapter that publishes through containers, as Instagram and Threads do: a
    part's container is made, polled until ``FINISHED`` and published once
    (`publish_container`); an attempt whose answer was lost is settled by asking its
    container (`find_by_container`; the container's id is kept in the delivery's progress
    for an attempt in another process), or, when no container is known, by reading the
    account's recent posts back (`read_back`, each platform's own edge and match).

    Subclasses name the container and publish edges and the container's status fields.
    """

    container_edge: ClassVar[str]
    """The edge that makes a container, after the user's id (``media``; `make_container`)."""
    publish_edge: ClassVar[str]
    """The edge that publishes a container, after the user's id (``media_publish``)."""
    status_field: ClassVar[str]
    """The container's status field (`ContainerAnswer`)."""
    message_field: ClassVar[str]
    """The container's field that says why it failed."""

    def __init__(self, account: Account) -> None:
        super().__init__(account)
        # The container made for a part whose publish is not confirmed, by the part's key:
        # a repeated publish_part reuses it, and find_part asks it whether it was published.
        self._containers: dict[str, str] = {}
        # The quota read before the part's publish, reported again if the part is found
        # by reconciliation instead.
        self._quotas: dict[str, tuple[int, int]] = {}

    def ready_container(
        self,
        containers: dict[str, str],
        key: str,
        create: Callable[[], Flow[str]],
    ) -> Flow[tuple[str, str]]:
        """The container of the part ``key`` ready to publish, and its status (see
        `wait_container`): the one kept in ``containers`` (an earlier attempt made it), or
        one ``create`` makes and it keeps. An expired container is made anew, once.

        Raises:
            ContainerExpired: the new container expired too.
            Rejected: the container ended in ``ERROR`` (it is forgotten).
            MalformedResponse, PlatformUnavailable: see `wait_container`.
        """
        container = containers.get(key)
        for attempt in range(2):
            if container is None:
                container = yield from create()
                containers[key] = container
            try:
                status = yield from self.wait_container(container)
            except ContainerExpired:
                containers.pop(key, None)
                container = None
                if attempt:
                    raise
                continue
            except Rejected:
                containers.pop(key, None)
                raise
            return container, status
        raise AssertionError("unreachable: the second expiry raised")  # pragma: no cover

    def wait_container(self, container_id: str) -> Flow[str]:
        """Poll a publishing container until it is ``FINISHED`` (or ``PUBLISHED``); returns
        that status. `status_field` and `message_field` name the fields of
        `ContainerAnswer` the platform uses; the polls count against the platform's own
        bucket (its name).

        Raises:
            MalformedResponse: a status answer of the wrong shape.
            Rejected: the container ended in ``ERROR``; carries Meta's message.
            ContainerExpired: the container expired (24 hours) before publishing.
            PlatformUnavailable: still processing after `poll_timeout` seconds.
        """
        status_field, message_field = self.status_field, self.message_field
        waited, delay = 0.0, self.poll_initial
        fields = f"{status_field},{message_field}" if message_field != status_field else None
        while True:
            request = self.request(
                "GET", f"/{container_id}", params={"fields": fields or status_field}
            )
            response = yield Send(request, idempotent=True, bucket=self.name)
            body = self.parse(response, ContainerAnswer)
            status = getattr(body, status_field) or ""
            if status in ("FINISHED", "PUBLISHED"):
                return str(status)
            message = str(getattr(body, message_field) or status or "no status")
            if status == "ERROR":
                raise Rejected(
                    f"{self.name}: container {container_id} failed: {message}",
                    platform=self.name,
                    status_code=response.status_code,
                    platform_message=message,
                    code=_container_code(message),
                )
            if status == "EXPIRED":
                raise ContainerExpired(
                    f"{self.name}: container {container_id} expired before it was published",
                    platform=self.name,
                    platform_message=message,
                    code="EXPIRED",
                )
            if waited >= self.poll_timeout:
                raise PlatformUnavailable(
                    f"{self.name}: container {container_id} was still {status or 'processing'} "
                    f"after {waited:.0f} s",
                    platform=self.name,
                    platform_message=message,
                )
            yield Wait(delay)
            waited += delay
            delay = min(delay * 2, self.poll_max)

    def make_container(self, data: Mapping[str, Any]) -> Flow[str]:
        """``POST /{user-id}/{container_edge}`` with ``data``: a container's id. Nobody sees
        an unpublished container, so the driver may send it again (a repeat only leaves one
        to expire unused).

        Raises:
            PlatformError: Meta refused (typed by `error_for`).
            MalformedResponse: the answer names no container.
        """
        response = yield from self.send(
            lambda: self.request("POST", f"/{self.user_id}/{self.container_edge}", data=data),
            idempotent=True,
        )
        return self.parse(response, IdAnswer).id

    def make_carousel(
        self, children: Iterable[Mapping[str, Any]], parent: Mapping[str, Any]
    ) -> Flow[str]:
        """A carousel's container: one container per item of ``children`` (each item
        taken as its container is made), each waited for until ``FINISHED`` (Meta makes no
        carousel of unfinished children), then the ``CAROUSEL`` container of them with
        ``parent``'s fields (its text, its reply target).

        Raises:
            Rejected, ContainerExpired, PlatformUnavailable, MalformedResponse: a child
                failed (see `wait_container`).
            PlatformError: Meta refused a container (typed by `error_for`).
        """
        made = []
        for child in children:
            made.append((yield from self.make_container(child)))
        for child_id in made:
            yield from self.wait_container(child_id)
        return (
            yield from self.make_container(
                {"media_type": "CAROUSEL", "children": ",".join(made), **parent}
            )
        )

    def publish_container(
        self,
        part: RenderedPart,
        thread: ThreadContext,
        create: Callable[[], Flow[str]],
        *,
        bucket: str,
    ) -> Flow[PartRef]:
        """Publish ``part`` exactly once: its container (kept from an earlier attempt, or
        ``create``\\ d) once ready, then the post's permalink; a container an earlier attempt
        already published is read back instead. The quota the caller read first
        (``_quotas[thread.key]``) goes into the reference's ``extra``.

        Raises:
            ContainerExpired, Rejected, PlatformUnavailable, MalformedResponse: see
                `ready_container`; PlatformUnavailable also when a published container's post
                is not listed yet.
            PlatformError: Meta refused the publish (typed by `error_for`).
        """
        kept = thread.progress.get("container_id")
        if kept is not None:
            self._containers.setdefault(thread.key, kept)
        try:
            container, status = yield from self.ready_container(
                self._containers, thread.key, create
            )
        except BrandkitError:
            if thread.key not in self._containers:
                thread.progress.pop("container_id", None)  # it failed or expired
            raise
        # Kept with the delivery before the publish leaves: another process then asks
        # this container whether it was published rather than reading posts back.
        thread.progress["container_id"] = container
        if status == "PUBLISHED":
            # An earlier attempt published it: never publish a container twice.
            return (yield from self._published(part, thread, container))
        request = self.request(
            "POST", f"/{self.user_id}/{self.publish_edge}", data={"creation_id": container}
        )
        response = yield Send(request, creates=True, bucket=bucket)
        media_id = self.parse(response, IdAnswer).id
        self._containers.pop(thread.key, None)
        quota = self._quotas.pop(thread.key, None)
        permalink = yield from self.permalink_of(media_id)
        extra: dict[str, Any] = {"container_id": container}
        if quota is not None:
            extra.update(_quota_extra(quota))
        return PartRef(index=part.index, id=media_id, url=permalink, extra=extra)

    def permalink_of(self, media_id: str) -> Flow[str | None]:
        """The permalink of the post ``media_id`` that `publish_container` just published
        (``GET /{media-id}?fields=permalink``), or ``None`` when Meta does not give it (the
        read is refused, fails or cannot be read: a new post is not always readable at
        once). The post exists either way: its publish answered its id, and a failed read
        must not turn it into a failed delivery, nor make a retry publish it again."""
        try:
            body = yield from self.get(f"/{media_id}", {"fields": "permalink"}, PermalinkAnswer)
        except PlatformError:
            return None
        return body.permalink

    @property
    def user_id(self) -> str:
        """The account's user id on the platform."""
        raise NotImplementedError

    def find_by_container(self, part: RenderedPart, thread: ThreadContext) -> Flow[PartRef | None]:
        """Settle an earlier attempt of ``part``: with its container known (in this process,
        or in another: the delivery's progress), the container's status decides
        (``PUBLISHED``: the post is read back; otherwise ``None``, and a ``FINISHED``
        container is reused by the next publish); without it (the attempt ended before its
        publish was sent, or a delivery stored by an older brandkit), the account's recent
        posts are read back (`read_back`).

        Raises:
            PlatformError: Meta could not be asked, or the container is published but its
                post is not listed yet.
        """
        container = self._containers.get(thread.key) or thread.progress.get("container_id")
        if container is None:
            return (yield from self.read_back(part, thread, None))
        fields = f"{self.status_field},{self.message_field}"
        body = yield from self.get(f"/{container}", {"fields": fields}, ContainerAnswer)
        status = getattr(body, self.status_field)
        if status == "PUBLISHED":
            return (yield from self._published(part, thread, container))
        if status in ("ERROR", "EXPIRED"):
            self._containers.pop(thread.key, None)
            thread.progress.pop("container_id", None)
        return None

    def read_back(
        self, part: RenderedPart, thread: ThreadContext, container: str | None
    ) -> Flow[PartRef | None]:
        """The post ``part`` became, found among the account's recent posts (each platform
        reads its own edge and matches its own way; see `read_back_post` and `found_ref`),
        or ``None``."""
        raise NotImplementedError

    def found_ref(
        self,
        part: RenderedPart,
        thread: ThreadContext,
        container: str | None,
        oldest: _Listed | None,
    ) -> PartRef | None:
        """The reference of the post the read-back found (``oldest``, the one the first
        attempt made), with the container and the quota read before it; ``None`` without
        one."""
        if oldest is None:
            return None
        extra: dict[str, Any] = {"container_id": container} if container else {}
        quota = self._quotas.pop(thread.key, None)
        if quota is not None:
            extra.update(_quota_extra(quota))
        return PartRef(index=part.index, id=oldest.id, url=oldest.permalink, extra=extra)

    def _published(
        self, part: RenderedPart, thread: ThreadContext, container: str
    ) -> Flow[PartRef]:
        found = yield from self.read_back(part, thread, container)
        if found is None:
            raise PlatformUnavailable(
                f"{self.name}: container {container} is PUBLISHED but its post is not listed "
                "yet; reconcile again later",
                platform=self.name,
            )
        self._containers.pop(thread.key, None)
        return found


def _quota_extra(quota: tuple[int, int]) -> dict[str, int]:
    """A part's ``extra`` about the publishing quota read before it was published."""
    used, total = quota
    return {"quota_total": total, "quota_remaining": max(0, total - used - 1)}


def _throttled(response: httpx.Response) -> bool:
    code = graph_error(response).get("code") if not response.is_success else None
    return code in THROTTLE_CODES


def describe_failure(response: httpx.Response | None, what: str) -> str:
    """Why a read of a batch gave nothing, in words, with Meta's message."""
    if response is None:
        return f"Meta did not answer the read of {what} (it timed out)"
    err = graph_error(response)
    message = err.get("message") or response.reason_phrase
    if err.get("code") in THROTTLE_CODES:
        return f"Meta throttled the read of {what}: {message}"
    if gone(response):
        return f"Meta did not return {what} (deleted, or not visible to this account): {message}"
    return f"Meta refused the read of {what}: {message}"


def _date_of(response: httpx.Response) -> int | None:
    """The unix seconds of a response's ``Date`` header, or ``None``."""
    return _date_of_text(response.headers.get("date"))


def _date_of_text(value: str | None) -> int | None:
    """The unix seconds of a ``Date`` header's text, or ``None``."""
    seconds = http_time(value)
    return int(seconds) if seconds is not None else None


def _request_of(response: httpx.Response) -> httpx.Request:
    try:
        return response.request
    except RuntimeError:
        return httpx.Request("GET", "http://unknown.invalid/")


def _form_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _container_code(message: str) -> str | None:
    """The error code in a container's status text ("... error code 2207004")."""
    words = message.replace(".", " ").split()
    for word in reversed(words):
        if word.isdigit():
            return word
    return message if message.isupper() and " " not in message else None


def query_string(params: Mapping[str, Any]) -> str:
    """``params`` as a URL query string (for batch relative URLs)."""
    return urlencode({k: _form_value(v) for k, v in params.items()}, safe=",(){}")
