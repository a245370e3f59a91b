"""Bluesky (AT Protocol): posts, threads, images, video, link cards, metrics, conversations.

The adapter talks to the account's PDS over XRPC (``/xrpc/<nsid>``). Facts it relies on, with
sources, are in ``platforms.md`` §3; the answers of the reference PDS (``@atproto/pds``
0.5.35) were checked by running it:

* One session per account: ``createSession`` once (30 per 5 minutes and 300 per day per
  account), then the access JWT until the server answers ``ExpiredToken`` (400 at the PDS,
  401 at the AppView); ``refreshSession`` renews it and the request is repeated once. New
  tokens go to ``account.update_secrets`` and so to the ``on_credentials_changed`` hook.
* An account connected with OAuth (``brandkit.auth.bluesky.account_from``) sends every call
  with ``Authorization: DPoP <token>`` and a fresh DPoP proof, follows the PDS's nonce
  (``use_dpop_nonce``: once more), and refreshes its token at the authorization server
  ahead of expiry or after a ``401 invalid_token`` (then repeats the call once).
* A post is ``createRecord`` with a record key the caller chooses: brandkit's per-part TID.
  A second create at the same key never makes a second post; the PDS answers it with a bare
  ``500 InternalServerError``, so after any doubtful create the adapter reads the key back
  with ``getRecord`` instead of trusting the status.
* Facets index UTF-8 bytes; mentions name a DID, resolved with ``resolveHandle``.
* Conversations: the inbox is ``app.bsky.notification.listNotifications`` (reasons
  ``reply``, ``mention``, ``quote``; newest first, 100 a page, an opaque cursor that only
  goes back in time), a post's conversation ``app.bsky.feed.getPostThread``; hiding a reply
  writes the root post's ``app.bsky.feed.threadgate`` record (its ``hiddenReplies``), a like
  an ``app.bsky.feed.like`` record.

Ids: a part of the brand's own posts is known by its record key (`PartRef.id`, as in
``Delivery.ids``), anyone else's post by its AT URI; ``Message.id``, ``in_reply_to``,
``conversation`` and ``our_post`` follow the same rule, so ``m.our_post == delivery.ids[0]``.
"""

from __future__ import annotations

import base64
import collections
import functools
import hashlib
import json
import logging
import re
import time
import weakref
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, TypeAlias, TypeVar

import attrs
import httpx
import pydantic
import pydantic_core

from brandkit._counts import MetricCount
from brandkit._durations import stored_time
from brandkit._flow import Flow, Send
from brandkit._terminal import escaped
from brandkit.errors import (
    AuthError,
    ConfigurationError,
    MalformedResponse,
    MediaError,
    PlatformError,
    PlatformUnavailable,
    RateLimited,
    Rejected,
    Unsupported,
)
from brandkit.inbox._model import Author, InboxPage, Message
from brandkit.listening._query import (
    Query,
    SearchPage,
    UnsupportedQuery,
    canonical_query,
    cursor_tag,
)
from brandkit.metrics._sample import Metric, MetricSample
from brandkit.platforms._base import (
    MAX_RETRY_AFTER,
    Adapter,
    Answer,
    Capabilities,
    PartRef,
    RatePolicy,
    ThreadContext,
    read_each,
    retry_after_of,
)
from brandkit.platforms._capabilities import BUILTIN_CAPABILITIES
from brandkit.platforms._oauth import parse_credentials, refresh_alone
from brandkit.platforms._times import UtcTime, parse_time

if TYPE_CHECKING:
    from brandkit.accounts import Account
    from brandkit.content._media import Media
    from brandkit.content._render import Rendered, RenderedPart

__all__ = ["BlueskyAdapter"]

POST = "app.bsky.feed.post"
LIKE = "app.bsky.feed.like"
THREADGATE = "app.bsky.feed.threadgate"
MENTION = "app.bsky.richtext.facet#mention"
_TAG_FACET = "app.bsky.richtext.facet#tag"
MAX_THUMB_BYTES = 1_000_000
NO_VIEWS = "Bluesky publishes no view data"

_TID = re.compile(r"[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}")
_HANDLE = re.compile(
    r"([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
)
_AT_URI = re.compile(r"at://(?P<repo>[^/]+)/(?P<collection>[^/]+)/(?P<rkey>[^/?#]+)")


def _uri_of(item: Mapping[str, Any]) -> object:
    """The AT URI an item of a page names itself by (for a warning about it)."""
    return item.get("uri")


logger = logging.getLogger(__name__)

# Answers meaning "this token is no longer good": renew the session and repeat once.
_STALE_TOKEN = frozenset({"ExpiredToken", "InvalidToken"})
_AUTH_ERRORS = frozenset(
    {
        "ExpiredToken",
        "InvalidToken",
        "AuthMissing",
        "AuthenticationRequired",
        "AuthFactorTokenRequired",
        "AccountTakedown",
        "AccountDeactivated",
        "AccountNotFound",
        "MissingJwt",
        "BadJwtAudience",
    }
)
# Only the refresh token itself failing sends the adapter back to the app password.
_REFRESH_REFUSED = frozenset({"ExpiredToken", "InvalidToken", "AuthMissing", "AccountNotFound"})
_POST_COUNTS: tuple[tuple[Metric, str], ...] = (
    (Metric.LIKES, "likeCount"),
    (Metric.REPOSTS, "repostCount"),
    (Metric.REPLIES, "replyCount"),
    (Metric.QUOTES, "quoteCount"),
    (Metric.BOOKMARKS, "bookmarkCount"),
)
_NO_VIEW_METRICS = (Metric.IMPRESSIONS, Metric.REACH, Metric.LINK_CLICKS)
# A token this close to its expiry is renewed before use rather than after a refusal.
_EXPIRY_MARGIN = 60.0
# listNotifications: the reasons read into the inbox (and their message kinds), its page size.
_REASONS: dict[str, str] = {"reply": "reply", "mention": "mention", "quote": "quote"}
_NOTIFICATION_PAGE = 100
# The AppView lists a post at the earlier of its createdAt and the time it indexed it, so a
# post whose author's clock runs behind (or that reached the AppView late) is listed below
# notifications read before it existed: a sync reads `BlueskyAdapter.inbox_lookback` below
# its mark, and the cursor keeps the URIs read there (at most _MAX_LATE_URIS) so that each
# comes once. Every sync reads all of that window again: a day bounds the cost.
_MAX_LOOKBACK = timedelta(days=1)
_MAX_LATE_URIS = 500
# A notification whose own indexedAt cannot be read cannot be placed: it is skipped. More
# than a page of them in a row is an AppView whose answers changed shape (a read that went on
# would go through the whole list at every sync, finding no mark).
_MAX_UNPLACED = _NOTIFICATION_PAGE
_LIST_NOTIFICATIONS = "app.bsky.notification.listNotifications"
# A threadgate hides at most this many replies (the lexicon's maxLength of hiddenReplies).
_MAX_HIDDEN = 300
# Read-modify-write of a threadgate: how often a concurrent change is tolerated.
_GATE_ATTEMPTS = 3
# getPostThread: how many levels of replies one read asks for. An answer nests two JSON
# levels per reply and pydantic's reader stops past 201, so a depth of 50 leaves the deepest
# post view about 100 levels of its own. Below a reply where an answer stops (one without
# `replies`: at this depth, or at the AppView's own cap, BSKY_MAX_THREAD_DEPTH), the
# conversation is read on from that reply, in at most _THREAD_READS reads in all.
_THREAD_DEPTH = 50
_THREAD_READS = 50
# An answer nested deeper than the JSON reader goes (a record any app wrote may nest as deep
# as it likes) is read with what lies deeper than this written as null: the deepest post
# view of a getPostThread read lies about 106 levels deep, and the reader stops past 200.
_MAX_NESTING = 150
_JSON_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)
# Mentioned handles' DIDs: how long one is trusted, and how many are kept.
_DID_TTL = 600.0
_MAX_DIDS = 1024
_B32 = "234567abcdefghijklmnopqrstuvwxyz"
# app.bsky.feed.searchPosts: its largest page; how many searches one query may take (one per
# any term, hashtag and handle, times each language); how many posts of one millisecond a
# cursor remembers; words the Lucene-like syntax reads as operators.
_SEARCH = "app.bsky.feed.searchPosts"
_SEARCH_PAGE = 100
_MAX_SEARCHES = 32
_MAX_MARK_URIS = 5000
_OPERATORS = frozenset({"AND", "OR", "NOT", "TO"})
_MAX_TAG_GRAPHEMES = 64
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_LANG = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*")


# -- answers ---------------------------------------------------------------------------------
# XRPC answers as the lexicons define them (strings, integers, objects); nothing is coerced.

_Text = Annotated[str, pydantic.StringConstraints(min_length=1)]
_Did = Annotated[str, pydantic.StringConstraints(pattern=r"^did:[a-z]+:\S+$")]
_AtUri = Annotated[str, pydantic.StringConstraints(pattern=f"^{_AT_URI.pattern}$")]
_Int = Annotated[int, pydantic.Strict()]


def _iso_text(value: object) -> object:
    if not isinstance(value, str):
        # ValueError is what pydantic turns into a validation error of the field.
        raise ValueError("a datetime must be ISO 8601 text")
    return value


# The lexicons' datetime is text: a number is no time (pydantic would read 17 as 1970,
# which would place a notification below every mark).
_IsoTime = Annotated[UtcTime, pydantic.BeforeValidator(_iso_text)]


class _Session(Answer):
    """``createSession`` / ``refreshSession``: the tokens, and who the account is."""

    accessJwt: _Text
    refreshJwt: _Text
    did: _Did | None = None
    handle: str | None = None


class _Who(Answer):
    """``getSession``: the account's DID."""

    did: _Did


class _Resolved(Answer):
    """``resolveHandle``."""

    did: str


class _Server(Answer):
    """``describeServer``: the PDS's upload limit, if it says one."""

    blobUploadLimit: _Int | None = None


class _Record(Answer):
    """``createRecord`` and ``getRecord``: the record's strong reference."""

    uri: _AtUri
    cid: _Text


class _BlobLink(Answer):
    link: _Text = pydantic.Field(alias="$link")


class _Blob(Answer):
    """A blob object (``$type: blob``) as the AT data model defines it: a CID link, a MIME
    type and a size in bytes. Read field by field so that nothing else (a float, which the
    data model has none of, or an ``Infinity`` the JSON encoder would refuse) goes into the
    record."""

    type: Literal["blob"] = pydantic.Field(alias="$type")
    ref: _BlobLink
    mimeType: _Text
    size: Annotated[int, pydantic.Strict(), pydantic.Field(ge=0)]

    def record(self) -> dict[str, Any]:
        """The blob as a record holds it."""
        return {
            "$type": "blob",
            "ref": {"$link": self.ref.link},
            "mimeType": self.mimeType,
            "size": self.size,
        }


class _Uploaded(Answer):
    """``uploadBlob``: the blob object, put into the record."""

    blob: _Blob


class _Posts(Answer):
    """``getPosts``: post views, each read on its own (see `_PostView`)."""

    posts: tuple[dict[str, pydantic.JsonValue], ...] = ()


class _Created(Answer):
    createdAt: str | None = None


class _PostView(Answer):
    """A post view as the metrics read it; one that cannot be read costs only its own
    samples."""

    uri: str
    likeCount: MetricCount | None = None
    repostCount: MetricCount | None = None
    replyCount: MetricCount | None = None
    quoteCount: MetricCount | None = None
    bookmarkCount: MetricCount | None = None
    record: _Created | None = None


class _PostViews(Answer):
    posts: tuple[_PostView, ...] = ()


class _Profile(Answer):
    """``getProfile``."""

    followersCount: MetricCount | None = None


class _StrongRef(Answer):
    """``com.atproto.repo.strongRef``."""

    uri: _AtUri
    cid: _Text


class _ReplyRefs(Answer):
    root: _StrongRef
    parent: _StrongRef


class _PostRecord(Answer):
    """The parts of an ``app.bsky.feed.post`` record the inbox reads."""

    text: str = ""
    createdAt: str | None = None
    reply: _ReplyRefs | None = None


class _Actor(Answer):
    """``app.bsky.actor.defs#profileView`` (and ``#profileViewBasic``)."""

    did: _Did
    handle: str
    displayName: str | None = None


class _Notification(Answer):
    """``app.bsky.notification.listNotifications#notification``."""

    uri: _AtUri
    cid: _Text
    author: _Actor
    reason: str
    reasonSubject: str | None = None
    record: _PostRecord
    indexedAt: _IsoTime


class _NotificationMark(Answer):
    """What places a notification in the list: the AppView's own fields (the record,
    written by any app, is read on its own: see `read_items`)."""

    uri: _AtUri
    indexedAt: _IsoTime


class _Notifications(Answer):
    """``listNotifications``: the page; each notification is read on its own."""

    notifications: tuple[Any, ...]
    cursor: str | None = None


def _mark_of(item: Any) -> _NotificationMark | None:
    """Where a notification whose whole view cannot be read lies in the list, if that can be
    read."""
    try:
        return _NotificationMark.model_validate(item)
    except pydantic.ValidationError:
        return None


class _ThreadPost(Answer):
    """A post view in a thread."""

    uri: _AtUri
    cid: _Text
    author: _Actor
    record: _PostRecord
    # ISO text: a number is no time (read as one it would date the reply 1970).
    indexedAt: _IsoTime | None = None


class _ThreadNode(Answer):
    """``#threadViewPost``; ``#notFoundPost`` and ``#blockedPost`` have no ``post``. Its
    replies are read one by one (see `BlueskyAdapter.replies`): one that cannot be read
    costs itself only."""

    post: _ThreadPost | None = None
    replies: tuple[Any, ...] = ()


def _post_uri_of(node: Mapping[str, Any]) -> object:
    """The AT URI of a thread node's post (for a warning about the node)."""
    post = node.get("post")
    return post.get("uri") if isinstance(post, Mapping) else None


class _GateRecord(Answer):
    hiddenReplies: tuple[str, ...] = ()


class _GateView(Answer):
    """``app.bsky.feed.defs#threadgateView``."""

    record: _GateRecord | None = None


class _Thread(Answer):
    """``getPostThread``."""

    thread: _ThreadNode
    threadgate: _GateView | None = None


class _Branch(Answer):
    """A reply whose own view was read before, in the answer read on from it: its replies."""

    replies: tuple[Any, ...] = ()


class _ThreadBelow(Answer):
    """``getPostThread`` read on from a reply (see `BlueskyAdapter.replies`)."""

    thread: _Branch
    threadgate: _GateView | None = None


def _nested_too_deep(content: bytes) -> bool:
    """Whether ``content`` is JSON nested deeper than the reader goes (a record any app may
    write nests as deep as it likes), rather than no JSON at all."""
    try:
        pydantic_core.from_json(content)
    except ValueError as exc:
        return "recursion limit" in str(exc)
    return False


def _flattened(content: bytes, limit: int = _MAX_NESTING) -> bytes:
    """``content`` with each array or object that opens more than ``limit`` levels deep
    written as ``null``. A walk over its strings and brackets, not a parse: no recursion,
    and text that is no JSON stays no JSON."""
    out: list[bytes] = []
    depth, cut, last = 0, -1, 0
    for token in _JSON_TOKEN.finditer(content):
        first = token.group()[:1]
        if first == b'"':
            continue
        if first in (b"[", b"{"):
            depth += 1
            if depth > limit and cut < 0:
                cut = token.start()
            continue
        if depth == limit + 1 and cut >= 0:
            out += (content[last:cut], b"null")
            last, cut = token.end(), -1
        depth -= 1
    out.append(content[last:])
    return b"".join(out)


def _stopped_at(node: Any) -> str | None:
    """The AT URI of a thread node's post when the answer stopped at it (no ``replies``:
    the depth asked, or the AppView's own cap) and it may have replies (its ``replyCount``
    is not 0); else ``None``."""
    if not isinstance(node, dict) or "replies" in node:
        return None
    post = node.get("post")
    if not isinstance(post, dict) or post.get("replyCount") == 0:
        return None
    uri = post.get("uri")
    return uri if isinstance(uri, str) and _AT_URI.fullmatch(uri) else None


_Model = TypeVar("_Model", bound=pydantic.BaseModel)


class _StoredGate(Answer):
    """``getRecord`` of a threadgate: its cid (for the swap) and value (kept as it is)."""

    uri: _AtUri
    cid: _Text
    value: dict[str, pydantic.JsonValue]


class _FoundRecord(Answer):
    """The parts of a found post's record that listening reads."""

    text: str = ""
    createdAt: str | None = None
    langs: tuple[str, ...] = ()
    reply: _ReplyRefs | None = None
    facets: tuple[dict[str, pydantic.JsonValue], ...] = ()


class _FoundPost(Answer):
    """``app.bsky.feed.defs#postView`` as ``searchPosts`` lists it."""

    uri: _AtUri
    cid: _Text
    author: _Actor
    record: _FoundRecord
    indexedAt: _IsoTime


class _FoundMark(Answer):
    """What places a found post in the search's order: the AppView's own fields, and the
    record's ``createdAt`` where it is text (the record, written by any app, is read on its
    own: see `read_items`)."""

    uri: _AtUri
    indexedAt: _IsoTime
    record: Any = None

    @property
    def created(self) -> str | None:
        at = self.record.get("createdAt") if isinstance(self.record, dict) else None
        return at if isinstance(at, str) else None


class _Found(Answer):
    """``app.bsky.feed.searchPosts``: the page; each post is read on its own."""

    posts: tuple[Any, ...]
    cursor: str | None = None
    hitsTotal: _Int | None = None


_Uris = Annotated[tuple[str, ...], pydantic.Field(max_length=_MAX_MARK_URIS)]


class _Span(pydantic.BaseModel):
    """Where one search of a query stands: posts up to ``seen`` (a sort time in epoch
    milliseconds; ``uris``: the posts read in that millisecond) are read. A read that stopped
    at its limit also holds ``floor`` (the oldest millisecond it read, and ``floor_uris``
    read in it) and ``top`` (the newest, the next ``seen`` once the rest is read)."""

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)

    seen: int | None = None
    uris: _Uris = ()
    floor: int | None = None
    floor_uris: _Uris = ()
    top: int | None = None
    top_uris: _Uris = ()


class _SearchCursor(pydantic.BaseModel):
    """A listening cursor: the query and account it belongs to (``q``, `cursor_tag`;
    ``None`` in cursors made before it was kept), and one span per search the query
    compiles to, by its key."""

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)

    v: Literal[1]
    q: str | None = pydantic.Field(default=None, max_length=64)
    spans: dict[Annotated[str, pydantic.StringConstraints(max_length=4000)], _Span] = (
        pydantic.Field(max_length=_MAX_SEARCHES)
    )


@attrs.frozen
class SearchRequest:
    """One ``app.bsky.feed.searchPosts`` request a query compiles to.

    Attributes:
        params: its parameters without paging (``sort``, ``limit``, ``cursor``, ``since``
            and ``until`` are added while reading).
        term: the ``any`` term this search stands for (or ``None``).
        tag: the hashtag it stands for (sent as ``tag=``).
        handle: the account it stands for (sent as ``mentions=``).
        lang: the language it is narrowed to (sent as ``lang=``).
    """

    params: tuple[tuple[str, str], ...]
    term: str | None = None
    tag: str | None = None
    handle: str | None = None
    lang: str | None = None

    @property
    def key(self) -> str:
        """What the cursor files this search's progress under."""
        return "&".join(f"{k}={v}" for k, v in self.params)

    def finds(self, post: _FoundPost) -> bool:
        """Whether this search would list ``post`` (so that a later search of the same query
        leaves it to this one)."""
        record = post.record
        if self.lang is not None and not any(_same_lang(lang, self.lang) for lang in record.langs):
            return False
        if self.term is not None:
            return Query(any=(self.term,)).matches(record.text)
        if self.tag is not None:
            return self.tag.lower() in _facet_tags(record.facets) or Query(
                hashtags=(self.tag,)
            ).matches(record.text)
        if self.handle is not None:
            return Query(handles=(self.handle,)).matches(record.text)
        return True


class _Cursor(pydantic.BaseModel):
    """The inbox cursor brandkit writes: the newest notification read (``seen``), how far
    below it a read still looks (``floor``: `BlueskyAdapter.inbox_lookback` below ``seen``
    when it was written, or less when more than
    `_MAX_LATE_URIS` were read there) and the URIs read from ``floor`` on (``uris``); while
    a read that stopped at its limit is not finished, the platform's cursor to go on from
    (``resume``), the newest of that read (``top``) and what it read so far near the top
    (``top_uris`` from ``top_floor`` on, or ``top_late`` below ``top``). A cursor written
    before ``floor`` was kept holds the URIs read at ``seen`` only, and is read with
    ``floor`` = ``seen``."""

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)

    v: Literal[1]
    # The account's DID: a cursor is refused for another account (older cursors lack it).
    did: str | None = None
    seen: pydantic.AwareDatetime | None = None
    uris: tuple[str, ...] = ()
    resume: str | None = None
    top: pydantic.AwareDatetime | None = None
    top_uris: tuple[str, ...] = ()
    floor: pydantic.AwareDatetime | None = None
    top_floor: pydantic.AwareDatetime | None = None
    # The look-back (seconds) ``top_uris`` were kept with: the round ends on it, whatever
    # `BlueskyAdapter.inbox_lookback` is by then (a wider one would make the next read
    # take the ones the round passed below its window for new).
    top_late: Annotated[float, pydantic.Field(ge=0, le=_MAX_LOOKBACK.total_seconds())] | None = None
    # How many notifications in a row the round could not place where it stopped, so that
    # a round of small reads counts them as one read does (`_MAX_UNPLACED`).
    top_unplaced: Annotated[int, pydantic.Field(ge=1, le=_MAX_UNPLACED)] | None = None


class _MediaStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A media file as a request body, read in chunks each time it is sent (so a retried
    upload sends it again) and usable by both drivers."""

    def __init__(self, media: Media, chunk: int = 1024 * 1024) -> None:
        self._media = media
        self._chunk = chunk

    def __iter__(self) -> Iterator[bytes]:
        yield from self._media.chunks(self._chunk)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._media.chunks(self._chunk):
            yield chunk


def _jwt_claims(token: str | None) -> dict[str, Any]:
    """The claims of a JWT, unverified (only to read ``exp`` and ``sub``); ``{}`` if opaque."""
    if not token or token.count(".") != 2:
        return {}
    body = token.split(".")[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (ValueError, RecursionError):
        return {}
    return claims if isinstance(claims, dict) else {}


def _xrpc_error(response: httpx.Response) -> tuple[str | None, str]:
    """The XRPC error name and message of a response (``{"error": ..., "message": ...}``)."""
    try:
        body = response.json()
    except (ValueError, RecursionError):
        # RecursionError: nested deeper than json reads (a garbled or hostile body).
        return None, (response.text[:500] or response.reason_phrase)
    if not isinstance(body, dict):
        return None, response.text[:500]
    name = body.get("error")
    message = body.get("message")
    name = name if isinstance(name, str) and name else None
    if not isinstance(message, str) or not message:
        message = name or response.reason_phrase
    return name, message


def _bucket(response: httpx.Response) -> str:
    try:
        path = response.request.url.path
    except RuntimeError:
        return "api"
    nsid = path.rsplit("/", 1)[-1]
    if nsid in (
        "com.atproto.repo.createRecord",
        "com.atproto.repo.deleteRecord",
        "com.atproto.repo.putRecord",
    ):
        return "write"
    if nsid == "com.atproto.server.createSession":
        return "session"
    if nsid == "com.atproto.repo.uploadBlob":
        return "blob"
    return "api"


def _epoch(value: str | None) -> datetime | None:
    try:
        return datetime.fromtimestamp(float(value), UTC) if value else None
    except (ValueError, OverflowError):
        return None


def _with_blob_limit(caps: Capabilities, limit: int | None) -> Capabilities:
    """``caps`` with media sizes capped by the PDS's upload limit (unchanged when unknown)."""
    if limit is None:
        return caps
    media = attrs.evolve(
        caps.media,
        max_image_bytes=min(caps.media.max_image_bytes, limit),
        max_gif_bytes=min(caps.media.max_gif_bytes, limit),
        max_video_bytes=min(caps.media.max_video_bytes, limit),
    )
    return attrs.evolve(caps, media=media)


def _created_at() -> str:
    now = datetime.now(UTC)
    return now.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _search_term(term: str) -> str:
    """A term in ``searchPosts``' Lucene-like syntax: its words (what the index tokenizes;
    quotes, colons and other punctuation dropped, so nothing in it is read as syntax), one
    bare word, or several as a quoted phrase."""
    words: list[str] = _WORD.findall(term)
    if len(words) == 1 and words[0] not in _OPERATORS:
        return words[0]
    return '"' + " ".join(words) + '"'


def _same_lang(have: str, want: str) -> bool:
    """Whether a post's language ``have`` is ``want`` (``en`` covers ``en-GB``)."""
    have, want = have.lower(), want.lower()
    return have == want or have.startswith(want + "-")


def _facet_tags(facets: Sequence[Mapping[str, Any]]) -> set[str]:
    """The hashtags (lowercase, without ``#``) of a record's tag facets."""
    out = set()
    for facet in facets:
        features = facet.get("features")
        for feature in features if isinstance(features, list) else ():
            if isinstance(feature, dict) and feature.get("$type") == _TAG_FACET:
                tag = feature.get("tag")
                if isinstance(tag, str):
                    out.add(tag.lower())
    return out


def _ms(value: datetime) -> int:
    return int(value.timestamp() * 1000)


def _iso_ms(ms: int) -> str:
    return (
        datetime.fromtimestamp(ms / 1000, UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


def _like_key(uri: str, when: datetime) -> str:
    """The record key of the account's like of ``uri``: a TID made from the liked post's
    time and a clock id from its URI, the same every time, so a repeated like lands on the
    same key (and cannot make a second like)."""
    us = int(when.timestamp() * 1_000_000)
    clock = int.from_bytes(hashlib.sha256(uri.encode()).digest()[:2], "big") & 0x3FF
    value = ((us & ((1 << 53) - 1)) << 10) | clock
    return "".join(_B32[(value >> (5 * i)) & 31] for i in reversed(range(13)))


OAuthRefreshHook: TypeAlias = Callable[["BlueskyAdapter", "str | None"], Flow[None]]
"""Called as ``hook(adapter, token_used)`` instead of an OAuth account's own refresh: a flow
that ends with the account holding a good session, e.g. by running
``adapter.refresh_oauth_now()`` under a credential store's lock, or by taking the tokens
another holder stored (`brandkit.auth.load_account` sets one)."""

# Keyed by the account, weakly, like the refresh hooks of X and LinkedIn (platforms._oauth).
_oauth_hooks: weakref.WeakKeyDictionary[Any, OAuthRefreshHook] = weakref.WeakKeyDictionary()


def set_oauth_refresh_hook(account: Any, hook: OAuthRefreshHook | None) -> None:
    """Make ``hook`` refresh the OAuth session of ``account`` in place of its adapter
    (``None``: the adapter refreshes by itself again)."""
    if hook is None:
        _oauth_hooks.pop(account, None)
    else:
        _oauth_hooks[account] = hook


def oauth_refresh_hook_of(account: Any) -> OAuthRefreshHook | None:
    """The hook `set_oauth_refresh_hook` gave ``account``, if any."""
    return _oauth_hooks.get(account)


class BlueskyAdapter(Adapter):
    """Bluesky through the account's PDS (``Account.bluesky``).

    Logs in once with the app password (or reuses a saved session), renews the session when
    the server says it expired, and hands every new session to the account's
    ``on_credentials_changed`` hook. Posts are created at a record key chosen by brandkit, so
    a create whose outcome is unknown is looked up, never blindly repeated.
    """

    name: ClassVar[str] = "bluesky"
    capabilities: ClassVar[Capabilities] = BUILTIN_CAPABILITIES["bluesky"]
    rate_policies: ClassVar[tuple[RatePolicy, ...]] = (
        # Record writes per account: 5,000 points per hour and 35,000 per day; a create
        # costs 3 points and a delete 1 (Send.cost).
        RatePolicy("write", 5000, 3600.0),
        RatePolicy("write", 35000, 86400.0),
        # createSession: 30 per 5 minutes; per day the PDS allows 300 but the bsky.social
        # entryway 100 (bluesky-social/bsky-docs#183), so the lower one is declared.
        RatePolicy("session", 30, 300.0),
        RatePolicy("session", 100, 86400.0),
        # Per client IP, so shared by every account this process posts for.
        RatePolicy("blob", 1000, 86400.0, scope="app"),
        RatePolicy("api", 3000, 300.0, scope="app"),
    )
    metrics_batch_size: ClassVar[int] = 25
    # searchPosts' largest page (its lexicon's maximum); smaller only in tests.
    search_page: ClassVar[int] = _SEARCH_PAGE
    inbox_lookback: ClassVar[timedelta] = timedelta(minutes=15)
    """How far below the newest notification it read an inbox read goes on reading (at
    most a day): the AppView lists a post at the earlier of its ``createdAt`` and the time
    it indexed it, so a reply from an app whose clock runs behind, or that reached the
    AppView late, is listed below notifications read before it; one listed further below
    than this is not read. Each read reads the whole window again (one request while it
    holds fewer than 100 notifications), and the cursor keeps the URIs read in it, at
    most 500 (past them it looks less far). A change holds from the next mark on: the
    window already read is not read again."""

    def __init__(self, account: Account) -> None:
        super().__init__(account)
        # Mentioned handles -> (when resolved, DID or None), oldest first (see _resolve).
        self._dids: dict[str, tuple[float, str | None]] = {}
        self._caps: Capabilities | None = None
        # The PDS's latest DPoP nonce (OAuth accounts); it rotates, so it is only remembered.
        self._dpop_nonce: str | None = None

    # -- small helpers -----------------------------------------------------------------------

    def _url(self, nsid: str) -> str:
        return f"{self.account.base_url}/xrpc/{nsid}"

    @property
    def did(self) -> str | None:
        """The account's DID, once known (stored in ``account.settings["did"]``)."""
        value = self.account.settings.get("did")
        return str(value) if value else None

    @property
    def handle(self) -> str:
        """The account's handle."""
        return str(self.account.settings.get("handle") or self.did or "")

    def _now(self) -> float:
        return time.time()

    def error_for(self, response: httpx.Response) -> PlatformError:
        """The typed error of an XRPC error answer, with the platform's name and message.

        Auth names (``ExpiredToken``, ``InvalidToken``, ``AuthMissing``, ...) become
        `AuthError` whatever the status (the PDS sends 400 for expired tokens); 429
        becomes `RateLimited` with the reset time of ``RateLimit-Reset`` (epoch
        seconds) and ``Retry-After``; 5xx `PlatformUnavailable`; any other 4xx
        [`Rejected`][brandkit.errors.Rejected].
        """
        status = response.status_code
        name, message = _xrpc_error(response)
        text = (
            f"bluesky answered {status} {name}: {message}"
            if name
            else f"bluesky answered {status}: {message}"
        )
        common: dict[str, Any] = {
            "platform": self.name,
            "status_code": status,
            "platform_message": message,
            "code": name,
        }
        if status == 429 or name == "RateLimitExceeded":
            reset_at = _epoch(response.headers.get("ratelimit-reset"))
            retry_after = retry_after_of(response)
            now = self._now()
            if reset_at is not None and reset_at.timestamp() - now > MAX_RETRY_AFTER:
                # Bluesky's longest window is a day: a later reset is a garbled header.
                reset_at = datetime.fromtimestamp(now + MAX_RETRY_AFTER, UTC)
            if retry_after is None and reset_at is not None:
                retry_after = min(max(0.0, reset_at.timestamp() - now), MAX_RETRY_AFTER)
            return RateLimited(
                text, reset_at=reset_at, retry_after=retry_after, bucket=_bucket(response), **common
            )
        if name in _AUTH_ERRORS or status in (401, 403):
            return AuthError(text, **common)
        if status >= 500:
            return PlatformUnavailable(text, retry_after=retry_after_of(response), **common)
        return Rejected(text, **common)

    # -- session -----------------------------------------------------------------------------

    def _store_session(self, response: httpx.Response) -> None:
        session = parse_credentials(self, response, _Session)
        if session.did:
            self.account.settings["did"] = session.did
        if session.handle and session.handle != "handle.invalid":
            self.account.settings["handle"] = session.handle
        self.account.update_secrets(access_jwt=session.accessJwt, refresh_jwt=session.refreshJwt)

    def _login(self, why: str | None = None) -> Flow[None]:
        password = self.account.secret("app_password")
        if not password:
            reason = f" ({why})" if why else ""
            raise AuthError(
                f"bluesky: the saved session of {self.account.name!r} can no longer be "
                f"refreshed{reason} and the account has no app password to log in again",
                platform=self.name,
                platform_message=why,
            )
        identifier = self.account.settings.get("handle") or self.did
        request = httpx.Request(
            "POST",
            self._url("com.atproto.server.createSession"),
            json={"identifier": identifier, "password": password},
        )
        response = yield Send(request, idempotent=True, bucket="session")
        self._store_session(response)

    def _renew(self) -> Flow[None]:
        """A new session: refresh it if there is a refresh token, else (or if the refresh
        token is refused) log in with the app password."""
        if self._oauth:
            yield from self._oauth_refresh(self.account.secret("oauth_access_token"))
            return
        refresh = self.account.secret("refresh_jwt")
        why = None
        if refresh:
            request = httpx.Request(
                "POST",
                self._url("com.atproto.server.refreshSession"),
                headers={"Authorization": f"Bearer {refresh}"},
            )
            # Repeating a refresh is harmless: the PDS answers a reused refresh token with
            # the same successor during its grace period.
            response = yield Send(request, idempotent=True, bucket="api")
            if response.is_success:
                self._store_session(response)
                return
            name, message = _xrpc_error(response)
            if name not in _REFRESH_REFUSED:
                raise self.error_for(response)
            why = f"{name}: {message}"
        yield from self._login(why)

    def _ensure_session(self) -> Flow[None]:
        if self._oauth:
            oauth = self.account.settings.get("oauth") or {}
            expires = stored_time(oauth.get("expires_at"))
            if expires is not None and self._now() >= expires - _EXPIRY_MARGIN:
                yield from self._oauth_refresh(self.account.secret("oauth_access_token"))
            return
        access = self.account.secret("access_jwt")
        if not access:
            if self.account.secret("refresh_jwt"):
                yield from self._renew()
            else:
                yield from self._login()
        else:
            exp = stored_time(_jwt_claims(access).get("exp"))
            if exp is not None and self._now() >= exp - _EXPIRY_MARGIN:
                yield from self._renew()
        if self.did is None:
            response = yield from self._authed(
                lambda token: self._get("com.atproto.server.getSession", token),
                idempotent=True,
                bucket="api",
            )
            self.account.settings["did"] = self.parse(response, _Who).did

    def _authed(self, make: Callable[[str], httpx.Request], **send: Any) -> Flow[httpx.Response]:
        """Send an authenticated request; on a stale-token answer renew the session and send
        it once more (nothing was done the first time: auth is checked first)."""
        if self._oauth:
            return (yield from self._dpop_authed(make, **send))
        token = self.account.secret("access_jwt")
        if not token:
            yield from self._ensure_session()
            token = self.account.secret("access_jwt") or ""
        response = yield Send(make(token), **send)
        if response.status_code in (400, 401) and _xrpc_error(response)[0] in _STALE_TOKEN:
            yield from self._renew()
            response = yield Send(make(self.account.secret("access_jwt") or ""), **send)
        return response

    # -- OAuth sessions (brandkit.auth.bluesky): DPoP-bound tokens ------------------------------

    @property
    def _oauth(self) -> bool:
        """Whether the account was connected with OAuth (`brandkit.auth.bluesky.account_from`)
        rather than an app password."""
        return self.account.has_secret("dpop_key")

    def _oauth_refresh(self, token_used: str | None) -> Flow[None]:
        """New DPoP-bound tokens for the account, ``token_used`` being the access token that
        was found expired or refused. With a refresh hook (`set_oauth_refresh_hook`: an
        account loaded from a credential store), the hook refreshes, under the store's lock;
        otherwise the adapter does, one flow of this process at a time (`refresh_alone`),
        unless another flow of this account already replaced ``token_used`` (a refresh token
        is good once: spending a spent one ends the whole session)."""
        hook = oauth_refresh_hook_of(self.account)
        if hook is not None:
            yield from hook(self, token_used)
            return

        def unless_replaced() -> Flow[None]:
            # Checked once this flow's turn has come: the flow before it may have refreshed.
            if token_used and (self.account.secret("oauth_access_token") or "") != token_used:
                return
            yield from self.refresh_oauth_now()

        yield from refresh_alone(self.account, unless_replaced)

    def refresh_oauth_now(self) -> Flow[None]:
        """Spend the refresh token for new DPoP-bound tokens (same key): the new expiry and
        the authorization server's nonce go to ``account.settings["oauth"]``, then the tokens
        to ``account.update_secrets`` (and so to ``on_credentials_changed``). A refresh hook
        calls this while it holds its lock."""
        from brandkit.auth import bluesky as oauth

        creds = oauth.credentials_of(self.account)
        if creds is None or creds.refresh_token is None:
            raise AuthError(
                f"bluesky: the OAuth session of {self.account.name!r} has no refresh token; "
                "connect the account again",
                platform=self.name,
            )
        new = yield from oauth.refresh_flow(creds)
        self.account.settings["oauth"] = {
            **dict(self.account.settings.get("oauth") or {}),
            "expires_at": new.expires_at,
            "dpop_nonce": new.dpop_nonce,
            "scopes": list(new.scopes),
        }
        self.account.update_secrets(
            oauth_access_token=new.access_token.get_secret_value(),
            oauth_refresh_token=(
                new.refresh_token.get_secret_value() if new.refresh_token else None
            ),
        )

    def _dpop_authed(
        self, make: Callable[[str], httpx.Request], **send: Any
    ) -> Flow[httpx.Response]:
        """`_authed` for OAuth: ``Authorization: DPoP <token>`` and a fresh proof on every
        attempt; once more with the PDS's new nonce when it asks (``use_dpop_nonce``), and
        once more after a refresh when it says the token is no longer good. Both refusals
        come before the request is acted on. Also once more with a fresh proof when the PDS
        calls it replayed or stale (``invalid_dpop_proof``): the driver repeats a request as
        it was (after a 5xx, a 429 or a dropped connection), proof and all, and a proof is
        good only once and for seconds."""
        from brandkit.auth.bluesky import DpopKey, dpop_headers

        yield from self._ensure_session()
        nonce_retried = refreshed = reproved = False
        while True:
            # Read each time: a refresh hook may take another holder's session, key and all.
            key = DpopKey.from_jwk(self.account.secret("dpop_key") or "")
            token = self.account.secret("oauth_access_token") or ""
            request = make(token)
            request.headers.update(dpop_headers(key, request, token, self._dpop_nonce))
            response = yield Send(request, **send)
            self._dpop_nonce = response.headers.get("dpop-nonce") or self._dpop_nonce
            challenge = response.headers.get("www-authenticate", "")
            if response.status_code == 401 and "use_dpop_nonce" in challenge and not nonce_retried:
                nonce_retried = True
                continue
            if response.status_code == 401 and "invalid_dpop_proof" in challenge and not reproved:
                reproved = True
                continue
            stale = "invalid_token" in challenge or _xrpc_error(response)[0] in _STALE_TOKEN
            if response.status_code in (400, 401) and stale and not refreshed:
                refreshed = nonce_retried = True
                yield from self._oauth_refresh(token)
                continue
            return response

    def _get(
        self, nsid: str, token: str | None, params: Sequence[tuple[str, str]] = ()
    ) -> httpx.Request:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Request("GET", self._url(nsid), params=list(params), headers=headers)

    def _post(self, nsid: str, token: str, body: Mapping[str, Any]) -> httpx.Request:
        return httpx.Request(
            "POST", self._url(nsid), json=dict(body), headers={"Authorization": f"Bearer {token}"}
        )

    # -- flows -------------------------------------------------------------------------------

    def prepare(self) -> Flow[Capabilities]:
        """Make sure there is a session (reusing a saved one) and the DID is known, and learn
        the PDS's blob size limit (``describeServer``'s ``blobUploadLimit``), so that media
        the server would refuse are refused before anything is sent."""
        yield from self._ensure_session()
        if self._caps is None:
            response = yield Send(
                self._get("com.atproto.server.describeServer", None), idempotent=True, bucket="api"
            )
            limit = None
            if response.is_success:
                try:
                    value = self.parse(response, _Server).blobUploadLimit
                except MalformedResponse:
                    # Only advice: the documented defaults stand, and the PDS itself still
                    # refuses an upload over its real limit with a typed error.
                    value = None
                limit = value if value is not None and value > 0 else None
            self._caps = _with_blob_limit(self.capabilities, limit)
        return self._caps

    def publish_part(
        self, rendered: Rendered, part: RenderedPart, thread: ThreadContext
    ) -> Flow[PartRef]:
        """Upload the part's media, resolve its mentions, and create the post at record key
        ``thread.key`` as a reply to ``thread.parent`` (root: ``thread.root``; for an answer
        to a message, the message and the root of its conversation, see `reply_target`).

        Raises:
            ConfigurationError: ``thread.key`` is not a TID.
            Rejected: the message answered was deleted (read back before the create).
            MediaError: the link card's thumbnail is over 1,000,000 bytes (before any I/O).
            PlatformError: the PDS refused (its message kept); a 500 is first looked up at
                the record key, and the part found there is returned instead.
            MalformedResponse: a success answer without the record's ``uri``/``cid`` (the
                post may exist: it is looked up at its record key).
        """
        if not _TID.fullmatch(thread.key):
            raise ConfigurationError(
                f"bluesky record keys must be TIDs (brandkit.delivery.new_tid()), got "
                f"{thread.key!r}"
            )
        card = self._card_link(rendered, part, thread)
        yield from self._ensure_session()
        facets = yield from self._facets(part.facets)
        record: dict[str, Any] = {"$type": POST, "text": part.text, "createdAt": _created_at()}
        if rendered.language:
            record["langs"] = [rendered.language]
        if facets:
            record["facets"] = facets
        if thread.reply_to is not None and not thread.previous:
            # The PDS takes a reply to a deleted post (it checks no reference): look first.
            yield from self._check_parent(thread.reply_to)
        if thread.root is not None and thread.parent is not None:
            root = yield from self._strong_ref(thread.root)
            parent = yield from self._strong_ref(thread.parent)
            record["reply"] = {"root": root, "parent": parent}
        embed = yield from self._embed(part, card)
        if embed is not None:
            record["embed"] = embed
        body = {"repo": self.did, "collection": POST, "rkey": thread.key, "record": record}
        response = yield from self._authed(
            lambda token: self._post("com.atproto.repo.createRecord", token, body),
            creates=True,
            bucket="write",
            cost=3,
        )
        if response.status_code == 500:
            # The PDS refuses a create at a key that already holds a record with a bare 500
            # ("There is already a value at key"): an earlier attempt of this part may have
            # landed after a lookup missed it. The key tells: read it back.
            try:
                found = yield from self.find_part(rendered, part, thread)
            except PlatformError:
                found = None  # the create's own 500 is the error to report
            if found is not None:
                return found
        created = self.parse(response, _Record)
        return self._ref(part.index, created.uri, created.cid)

    def find_part(
        self, rendered: Rendered, part: RenderedPart, thread: ThreadContext
    ) -> Flow[PartRef | None]:
        """Read record key ``thread.key`` back (``getRecord``): the part if it landed,
        ``None`` if it surely did not.

        Raises:
            PlatformError: the lookup itself failed.
        """
        yield from self._ensure_session()
        params = [("repo", self.did or ""), ("collection", POST), ("rkey", thread.key)]
        response = yield Send(
            self._get("com.atproto.repo.getRecord", None, params), idempotent=True, bucket="api"
        )
        if response.status_code == 400 and _xrpc_error(response)[0] == "RecordNotFound":
            return None
        record = self.parse(response, _Record)
        return self._ref(part.index, record.uri, record.cid)

    def delete_part(self, ref: PartRef) -> Flow[None]:
        """Delete the post (``deleteRecord``); deleting a post that is gone succeeds."""
        yield from self._ensure_session()
        repo, collection, rkey = self.did or "", POST, ref.id
        match = _AT_URI.fullmatch(ref.uri or "")
        if match is not None:
            repo, collection, rkey = match["repo"], match["collection"], match["rkey"]
        body = {"repo": repo, "collection": collection, "rkey": rkey}
        response = yield from self._authed(
            lambda token: self._post("com.atproto.repo.deleteRecord", token, body),
            idempotent=True,
            bucket="write",
            cost=1,
        )
        self.check(response)

    def collect_metrics(self, refs: Sequence[PartRef]) -> Flow[list[MetricSample]]:
        """Likes, reposts, replies, quotes and bookmarks of up to 25 posts in one
        ``app.bsky.feed.getPosts``; impressions, reach and link clicks are unavailable."""
        if not refs:
            return []
        if len(refs) > self.metrics_batch_size:
            raise ConfigurationError(
                f"bluesky reads at most {self.metrics_batch_size} posts per getPosts call, "
                f"got {len(refs)}"
            )
        yield from self._ensure_session()
        uris = [ref.uri or f"at://{self.did}/{POST}/{ref.id}" for ref in refs]
        response = yield from self._authed(
            lambda token: self._get("app.bsky.feed.getPosts", token, [("uris", u) for u in uris]),
            idempotent=True,
            bucket="api",
        )
        posts = self._read_views(response)
        fetched = datetime.now(UTC)
        samples: list[MetricSample] = []
        for ref, uri in zip(refs, uris, strict=True):
            found = posts.get(uri)
            view = found if isinstance(found, _PostView) else None
            common: dict[str, Any] = {
                "platform": self.name,
                "account": self.account.key,
                "post_id": ref.id,
            }
            for metric, raw in _POST_COUNTS:
                value = getattr(view, raw) if view is not None else None
                if value is not None:
                    created = view.record.createdAt if view and view.record else None
                    samples.append(
                        MetricSample(
                            metric=metric.value,
                            value=float(value),
                            fetched_at=fetched,
                            raw_name=raw,
                            posted_at=parse_time(created),
                            **common,
                        )
                    )
                else:
                    if isinstance(found, str):
                        reason = found
                    elif view is None:
                        reason = (
                            "the post was not found (deleted, or not yet indexed by the AppView)"
                        )
                    else:
                        reason = f"Bluesky did not report {raw}"
                    samples.append(
                        MetricSample.unavailable(
                            metric=metric.value,
                            reason=reason,
                            fetched_at=fetched,
                            raw_name=raw,
                            **common,
                        )
                    )
            for metric in _NO_VIEW_METRICS:
                samples.append(
                    MetricSample.unavailable(
                        metric=metric.value, reason=NO_VIEWS, fetched_at=fetched, **common
                    )
                )
        return samples

    def _read_views(self, response: httpx.Response) -> dict[str, _PostView | str]:
        """The post views by URI; the reason instead, for a view that cannot be read."""
        try:
            # The common case, in one pass over the bytes.
            return {v.uri: v for v in self.parse(response, _PostViews).posts}
        except MalformedResponse:
            pass
        # View by view: one that cannot be read costs only its own samples.
        views, reasons = read_each(
            self.name, self.parse(response, _Posts).posts, _PostView, "uri", "post"
        )
        posts: dict[str, _PostView | str] = dict(reasons)
        posts.update((v.uri, v) for v in views)
        return posts

    def collect_account_metrics(self) -> Flow[list[MetricSample]]:
        """Followers, from ``app.bsky.actor.getProfile``."""
        yield from self._ensure_session()
        response = yield from self._authed(
            lambda token: self._get(
                "app.bsky.actor.getProfile", token, [("actor", self.did or "")]
            ),
            idempotent=True,
            bucket="api",
        )
        value = self.parse(response, _Profile).followersCount
        fetched = datetime.now(UTC)
        if value is None:
            return [
                MetricSample.unavailable(
                    platform=self.name,
                    account=self.account.key,
                    metric=Metric.FOLLOWERS.value,
                    reason="Bluesky did not report followersCount",
                    fetched_at=fetched,
                    raw_name="followersCount",
                )
            ]
        return [
            MetricSample(
                platform=self.name,
                account=self.account.key,
                metric=Metric.FOLLOWERS.value,
                value=float(value),
                fetched_at=fetched,
                raw_name="followersCount",
            )
        ]

    # -- conversations -----------------------------------------------------------------------

    def inbox(self, cursor: str | None, *, limit: int) -> Flow[InboxPage]:
        """Replies, mentions and quotes since ``cursor``, from
        ``app.bsky.notification.listNotifications`` (``reasons`` reply, mention, quote;
        ``priority=false`` so that an account with priority notifications still gets
        everyone's).

        The platform lists newest first and its cursor only goes back in time, so a read goes
        back page by page (100 a page) until `inbox_lookback` below the newest
        notification of the last read: the AppView lists a post at the earlier of its
        ``createdAt`` and its indexing, so one whose author's clock runs behind comes below
        notifications read before it existed; those read before are told by the URIs the
        cursor keeps. A read
        that stops at ``limit`` keeps where it stopped in its cursor and the next read goes
        on from there before it moves the mark forward. Replies the account hid
        are not listed (the AppView leaves them out).

        Raises:
            ConfigurationError: ``cursor`` is not one this adapter wrote (pass ``None``), or
                `inbox_lookback` is not a time from 0 to a day.
            PlatformError: a read was refused (the cursor is not moved).
            MalformedResponse: an answer brandkit cannot read as a page, or one listing
                more than 100 notifications in a row whose own ``indexedAt`` or ``uri``
                cannot be read (one such notification is skipped with a WARNING, as one
                whose record cannot be read is).
        """
        late = self.inbox_lookback
        if not isinstance(late, timedelta) or not timedelta(0) <= late <= _MAX_LOOKBACK:
            raise ConfigurationError(
                f"BlueskyAdapter.inbox_lookback is {late!r}: give a timedelta from 0 to "
                f"{_MAX_LOOKBACK} (how far below its mark an inbox read looks for late replies)"
            )
        state = self._read_cursor(cursor)
        if state.resume and state.top_late is not None:
            late = timedelta(seconds=state.top_late)
        yield from self._ensure_session()
        if state.did is not None and self.did is not None and state.did != self.did:
            raise ConfigurationError(
                f"this Bluesky inbox cursor belongs to another account ({state.did}) than "
                f"{self.account.key} ({self.did}): pass since=None, or the cursor saved "
                "for this account"
            )
        messages: list[Message] = []
        api_cursor = state.resume
        # Below ``floor`` every notification was read before; from it up, those ``uris``
        # names were (a cursor without a floor names those at ``seen`` only).
        floor = state.floor or state.seen
        read_before = set(state.uris)
        top = state.top
        near = list(state.top_uris)  # the URIs read from `late` below `top` up
        near_floor = state.top_floor  # set once `near` is full: it holds those from here up
        finished = False
        below_mark = False  # the read is under the last mark, where little is new
        # The time of the last notification this read placed (one it cannot place lies at
        # or below it: the list is in time order), and how many in a row it could not place.
        placed: datetime | None = None
        unplaced = (state.top_unplaced or 0) if state.resume else 0
        # Every page brings at least one notification or ends the read, except a page that
        # only holds filtered ones: at most ``limit`` + 1 pages of those either way.
        for _ in range(limit + 1):
            size = min(_NOTIFICATION_PAGE, max(1, limit - len(messages)))
            if below_mark:
                # Only late ones are new down there: whole pages, so that looking costs
                # one request (they may take the read a little past ``limit``).
                size = _NOTIFICATION_PAGE
            params = [("reasons", r) for r in _REASONS]
            params += [("limit", str(size)), ("priority", "false")]
            if api_cursor:
                params.append(("cursor", api_cursor))
            response = yield from self._authed(
                functools.partial(self._get, _LIST_NOTIFICATIONS, params=params),
                idempotent=True,
                bucket="api",
            )
            page, _ = self._parse_with_body(response, _Notifications)
            for item in page.notifications:
                note: _Notification | _NotificationMark | None
                try:
                    note = _Notification.model_validate(item)
                except pydantic.ValidationError:
                    note = _mark_of(item)
                if note is None:
                    # Not placeable (no readable indexedAt or uri): skipped, its URI kept
                    # with those read near the mark when it lies that high (so that the next
                    # read does not warn again); it moves no mark, so it can neither end a
                    # read early nor push the mark past notifications still to come.
                    unplaced += 1
                    if unplaced > _MAX_UNPLACED:
                        raise self._unplaceable(response)
                    uri = item.get("uri") if isinstance(item, dict) else None
                    uri = uri if isinstance(uri, str) and _AT_URI.fullmatch(uri) else None
                    near_top = placed is None or (top is not None and placed >= top - late)
                    if uri is not None and near_floor is None and near_top:
                        if len(near) < _MAX_LATE_URIS:
                            near.append(uri)
                        elif placed is not None:
                            near_floor = placed + timedelta(microseconds=1)
                    if uri is None or uri not in read_before:
                        self.read_items([item], _Notification, "notification", _uri_of, logger)
                    continue
                unplaced = 0
                placed = note.indexedAt
                if floor is not None and note.indexedAt < floor:
                    finished = True
                    break
                if top is None or note.indexedAt > top:
                    top = note.indexedAt
                if near_floor is None and note.indexedAt >= top - late:
                    if len(near) < _MAX_LATE_URIS:
                        near.append(note.uri)
                    else:
                        # Full: the next read looks no lower than just above this one.
                        near_floor = note.indexedAt + timedelta(microseconds=1)
                if state.seen is not None and note.indexedAt <= state.seen:
                    below_mark = True
                if note.uri in read_before:
                    continue  # read by an earlier sync, below its mark
                if isinstance(note, _Notification):
                    if note.reason in _REASONS and note.author.did != self.did:
                        messages.append(self._notification_message(note, item))
                else:
                    # Its record is of a shape brandkit cannot read (any app writes one):
                    # skipped with a warning, placed like the others, so not read again.
                    self.read_items([item], _Notification, "notification", _uri_of, logger)
            if page.cursor is not None and page.cursor == api_cursor:
                raise MalformedResponse(
                    "bluesky answered listNotifications with the cursor it was asked for: "
                    "the list does not go back, so brandkit stopped (the inbox cursor was "
                    "not moved)",
                    platform=self.name,
                    status_code=response.status_code,
                )
            if finished or not page.cursor:
                finished = True
                break
            api_cursor = page.cursor
            if len(messages) >= limit:
                break
        if finished and top is None:
            # Nothing placed: the mark stays; the unplaced ones met are kept among the URIs
            # read (after those the mark holds, which must stay), so they are not warned of
            # again.
            kept = set(state.uris)
            new = [u for u in dict.fromkeys(near) if u not in kept]
            uris = (*state.uris, *new[: max(0, _MAX_LATE_URIS - len(state.uris))])
            after = _Cursor(v=1, did=self.did, seen=state.seen, uris=uris, floor=state.floor)
        elif finished:
            assert top is not None
            mark_floor = near_floor or top - late
            # Below the floor read from, everything was read before this read too.
            if floor is not None and floor > mark_floor:
                mark_floor = floor
            after = _Cursor(v=1, did=self.did, seen=top, uris=tuple(near), floor=mark_floor)
        else:
            after = _Cursor(
                v=1,
                did=self.did,
                seen=state.seen,
                uris=state.uris,
                floor=state.floor,
                resume=api_cursor,
                top=top,
                top_uris=tuple(near),
                top_floor=near_floor,
                top_late=late.total_seconds(),
                top_unplaced=unplaced or None,
            )
        return InboxPage(messages=messages, cursor=self._write_cursor(after), more=not finished)

    def _unplaceable(
        self, response: httpx.Response, what: str = "notifications", read: str = "inbox"
    ) -> MalformedResponse:
        """The error of a list with more than `_MAX_UNPLACED` notifications (or found posts)
        in a row whose own ``indexedAt`` (or ``uri``) cannot be read."""
        return MalformedResponse(
            f"bluesky listed more than {_MAX_UNPLACED} {what} in a row whose own "
            "indexedAt or uri brandkit cannot read: the AppView's answers changed shape, so "
            f"brandkit stopped (the {read} cursor was not moved)",
            platform=self.name,
            status_code=response.status_code,
            body=self.account.redact(response.text[:2000]),
        )

    def replies(self, refs: Sequence[PartRef]) -> Flow[list[Message]]:
        """Everyone else's replies under the post (its first part and everything below it,
        the account's own later parts and answers included as parents), read with
        ``app.bsky.feed.getPostThread`` 50 levels at a time: below a reply where an answer
        stops (at that depth, or at a shallower one the AppView caps threads to), the
        conversation is read on from that reply, in at most 50 reads in all (what lies
        deeper still is left out with a WARNING naming the replies it was not read under).
        A reply's record nested deeper than the JSON reader goes (any app may write one) is
        read with what lies past 150 levels of the answer as ``null``.
        A reply the thread's threadgate hides comes back with ``hidden`` set. A reply that
        cannot be read (its record is any app's, or its ``indexedAt`` is no ISO text) is
        skipped with a WARNING naming its URI; the replies under it are still read.

        Raises:
            PlatformError: the read was refused (``NotFound``: the post is gone).
            MalformedResponse: an answer brandkit cannot read, or the post's own view in it.
        """
        if not refs:
            return []
        yield from self._ensure_session()
        uri = refs[0].uri or f"at://{self.did}/{POST}/{refs[0].id}"
        # Breadth first: the replies nearest the post are read before deeper branches.
        todo = collections.deque([uri])
        asked = {uri}
        made: set[str] = set()
        hidden: set[str] = set()
        out: list[Message] = []
        reads = 0
        while todo and reads < _THREAD_READS:
            anchor = todo.popleft()
            reads += 1
            params = [("uri", anchor), ("depth", str(_THREAD_DEPTH)), ("parentHeight", "0")]
            response = yield from self._authed(
                functools.partial(self._get, "app.bsky.feed.getPostThread", params=params),
                idempotent=True,
                bucket="api",
            )
            if (
                anchor != uri
                and response.status_code == 400
                and _xrpc_error(response)[0] == "NotFound"
            ):
                continue  # the reply read on from was deleted since: nothing is below it
            if anchor == uri:
                # The thread's own post (the account's) is read whole, as the answer itself
                # is: one that cannot be read is a MalformedResponse.
                whole, body = self._parse_with_body(response, _Thread)
                top, gate_view = whole.thread, whole.threadgate
            else:
                # Read on from a reply whose view the answer above it held (or warned of).
                rest, body = self._parse_with_body(response, _ThreadBelow)
                top, gate_view = _ThreadNode(replies=rest.thread.replies), rest.threadgate
            gate = gate_view.record if gate_view else None
            hidden.update(gate.hiddenReplies if gate else ())
            root = body.get("thread")
            # Depth-first over the answer with an explicit stack: no recursion limit to hit.
            # Below the top, each reply is read on its own, as any app writes the records,
            # and one that cannot be read is skipped with a warning (the replies under it
            # are still read).
            stack: list[tuple[_ThreadNode, Any]] = [(top, root)]
            while stack:
                node, raw = stack.pop()
                for child in node.replies:
                    read = self.read_items([child], _ThreadNode, "reply", _post_uri_of, logger)
                    stack.extend(read)
                    children = child.get("replies") if isinstance(child, dict) else None
                    if not read and isinstance(children, list):
                        # Its post cannot be read (it was warned of); the replies under it
                        # can.
                        stack.append((_ThreadNode(replies=tuple(children)), {}))
                    below = _stopped_at(child)
                    if below is not None and below not in asked:
                        asked.add(below)
                        todo.append(below)
                post = node.post
                if (
                    post is None
                    or post.uri in made
                    or post.author.did == self.did
                    or post.record.reply is None
                ):
                    continue
                made.add(post.uri)
                out.append(
                    self._message(
                        kind="reply",
                        uri=post.uri,
                        cid=post.cid,
                        author=post.author,
                        record=post.record,
                        indexed_at=post.indexedAt,
                        our_post=refs[0].id,
                        hidden=post.uri in hidden,
                        raw=raw.get("post", {}) if isinstance(raw, dict) else {},
                    )
                )
        if todo:
            logger.warning(
                "%s",
                self.account.redact(
                    f"{self.account.key}: bluesky conversation under {escaped(uri)} goes "
                    f"deeper than the {_THREAD_READS} getPostThread reads brandkit makes of "
                    f"one post; what lies under {len(todo)} of its replies is not read (the "
                    f"first: {escaped(todo[0])})"
                ),
            )
        return out

    def reply_target(self, message: Message) -> PartRef:
        """The message as the parent of the answer: its strong ref (``uri``, ``cid``), and in
        ``extra["root"]`` the root of its conversation, both kept from the inbox read.

        Raises:
            ConfigurationError: the message belongs to another account, or lacks the strong
                refs the inbox keeps in ``extra`` (read it again with ``Client.inbox``).
        """
        self.check_message(message)
        uri, cid = self._message_ref(message)
        root = message.extra.get("root")
        extra: dict[str, Any] = {}
        if isinstance(root, Mapping) and root.get("uri") != uri:
            root_uri, root_cid = str(root.get("uri", "")), str(root.get("cid", ""))
            if not _AT_URI.fullmatch(root_uri) or not root_cid:
                raise self._no_refs(message)
            extra["root"] = PartRef(
                index=0, id=self._id_of(root_uri), uri=root_uri, cid=root_cid
            ).to_dict()
        return PartRef(index=0, id=message.id, url=message.url, uri=uri, cid=cid, extra=extra)

    def set_hidden(self, message: Message, hidden: bool) -> Flow[None]:
        """Hide a reply (or show it again) in a thread the account started: the URI goes
        into (or out of) ``hiddenReplies`` of the root post's ``app.bsky.feed.threadgate``
        record (record key = the root's), written with ``putRecord`` and a swap on the
        record's cid; who may reply (``allow``) is kept as it is, and a new threadgate lets
        everyone reply as before.

        Raises:
            Unsupported: the message is no reply, or its thread was started by another
                account (only the root's author can hide replies), before any request.
            Rejected: the thread already hides 300 replies, or the PDS refused the record.
            PlatformError: a read or write was refused.
        """
        self.check_message(message)
        uri, _ = self._message_ref(message)
        root = message.extra.get("root")
        root_uri = str(root.get("uri", "")) if isinstance(root, Mapping) else ""
        match = _AT_URI.fullmatch(root_uri)
        if match is None or root_uri == uri:
            raise Unsupported(
                f"bluesky hides replies only: {message.id} is a post of its own (a "
                f"{message.kind}), not a reply in a thread of {self.handle or 'the account'}",
                platform=self.name,
                operation="hide",
            )
        yield from self._ensure_session()
        if match["repo"] != self.did or match["collection"] != POST:
            raise Unsupported(
                f"bluesky lets only a thread's author hide its replies: the thread of "
                f"{message.id} was started by {match['repo']}, not by this account",
                platform=self.name,
                operation="hide",
            )
        rkey = match["rkey"]
        for _ in range(_GATE_ATTEMPTS):
            params = [("repo", self.did or ""), ("collection", THREADGATE), ("rkey", rkey)]
            response = yield Send(
                self._get("com.atproto.repo.getRecord", None, params),
                idempotent=True,
                bucket="api",
            )
            swap: str | None = None
            if response.status_code == 400 and _xrpc_error(response)[0] == "RecordNotFound":
                value: dict[str, Any] = {
                    "$type": THREADGATE,
                    "post": root_uri,
                    "createdAt": _created_at(),
                }
            else:
                stored = self.parse(response, _StoredGate)
                value, swap = dict(stored.value), stored.cid
            now = [str(u) for u in value.get("hiddenReplies") or () if isinstance(u, str)]
            want = [u for u in now if u != uri] + ([uri] if hidden else [])
            if (uri in now) == hidden:
                return
            if len(want) > _MAX_HIDDEN:
                raise Rejected(
                    f"bluesky: the thread of {message.id} already hides {_MAX_HIDDEN} replies, "
                    "the most a threadgate holds; show one again before hiding another",
                    platform=self.name,
                )
            value["hiddenReplies"] = want
            body = {
                "repo": self.did,
                "collection": THREADGATE,
                "rkey": rkey,
                "record": value,
                # null: only if there is still none (a concurrent write makes it InvalidSwap).
                "swapRecord": swap,
            }
            # Repeating it is safe: a repeat after a lost answer is refused as InvalidSwap
            # and the loop reads what is there now.
            response = yield from self._authed(
                functools.partial(self._post, "com.atproto.repo.putRecord", body=body),
                idempotent=True,
                bucket="write",
                # The PDS charges putRecord 2 points, a create or an update.
                cost=2,
            )
            if response.status_code == 400 and _xrpc_error(response)[0] == "InvalidSwap":
                continue
            self.check(response)
            return
        raise Rejected(
            f"bluesky: the threadgate of the thread of {message.id} changed "
            f"{_GATE_ATTEMPTS} times while brandkit updated it; try again",
            platform=self.name,
        )

    def like(self, message: Message) -> Flow[None]:
        """Like the message (an ``app.bsky.feed.like`` record). Its record key is made from
        the message, and the PDS replaces an earlier like of the same post in the same commit,
        so liking it again, or a repeat after a lost answer, leaves one like.

        Raises:
            ConfigurationError: the message lacks its strong ref (read it again).
            PlatformError: the PDS refused.
        """
        self.check_message(message)
        uri, cid = self._message_ref(message)
        yield from self._ensure_session()
        rkey = _like_key(uri, message.created_at)
        record = {"$type": LIKE, "subject": {"uri": uri, "cid": cid}, "createdAt": _created_at()}
        body = {"repo": self.did, "collection": LIKE, "rkey": rkey, "record": record}
        response = yield from self._authed(
            lambda token: self._post("com.atproto.repo.createRecord", token, body),
            bucket="write",
            cost=3,
        )
        if response.is_success:
            return
        if response.status_code >= 500:
            # The PDS answers a second create at the same key with a bare 500: is it there?
            params = [("repo", self.did or ""), ("collection", LIKE), ("rkey", rkey)]
            found = yield Send(
                self._get("com.atproto.repo.getRecord", None, params),
                idempotent=True,
                bucket="api",
            )
            if found.is_success:
                return
        raise self.error_for(response)

    # -- listening ---------------------------------------------------------------------------

    def compile_query(self, query: Query) -> tuple[SearchRequest, ...]:
        """The ``app.bsky.feed.searchPosts`` requests that find ``query`` (no I/O).

        ``q`` takes the words of ``all`` and the phrases (a term of several words quoted as
        a phrase; quotes and punctuation inside a term are dropped, as the index drops them)
        and ``-word`` for each one-word ``exclude`` (the syntax negates single keywords only;
        longer exclusions are dropped after reading). The search has no OR, and ``tag=`` and
        ``mentions=`` take all of their values together (AND): each ``any`` term, each
        hashtag (``tag=``, with ``#tag`` in ``q``) and each handle (``mentions=``, with
        ``@handle`` in ``q``) is a search of its own, and so is each language (``lang=``,
        one a search). ``since``/``until`` are sent as ``since``/``until``. What is read is
        narrowed to `Query.matches`.

        Raises:
            UnsupportedQuery: a term without a word in it (only emoji or punctuation:
                ``"any"``, ``"all"``, ``"phrases"``), a hashtag of more than 64 characters
                or with a double quote (``"hashtags"``), a handle that is not a domain name
                or DID (``"handles"``), a language that is not a BCP 47 code
                (``"languages"``), or more than 32 searches in all (``"size"``).
        """
        for feature, terms in (("any", query.any), ("all", query.all), ("phrases", query.phrases)):
            for text in terms:
                if not _WORD.search(text):
                    raise UnsupportedQuery(
                        f"{text!r} has no word Bluesky's search can look for (it indexes "
                        "words; emoji and punctuation alone are not searchable): leave it out "
                        "or use a hashtag",
                        platform=self.name,
                        feature=feature,
                    )
        for name in query.hashtags:
            if len(name) > _MAX_TAG_GRAPHEMES:
                raise UnsupportedQuery(
                    f"#{name[:20]}... is longer than a Bluesky hashtag can be (64 characters)",
                    platform=self.name,
                    feature="hashtags",
                )
            if '"' in name:
                # It goes into q as #tag, where a quote would open a phrase.
                raise UnsupportedQuery(
                    f"#{name} holds a double quote, which Bluesky's search syntax cannot "
                    "escape: leave it out",
                    platform=self.name,
                    feature="hashtags",
                )
        for name in query.handles:
            if not (_HANDLE.fullmatch(name) or re.fullmatch(r"did:[a-z]+:\S+", name)):
                raise UnsupportedQuery(
                    f"{name!r} is not a Bluesky handle: give the full domain name "
                    "(name.bsky.social) or the account's DID",
                    platform=self.name,
                    feature="handles",
                )
        for code in query.languages:
            if not _LANG.fullmatch(code):
                raise UnsupportedQuery(
                    f"{code!r} is not a language code Bluesky's lang= takes (BCP 47: en, id, "
                    "pt-BR)",
                    platform=self.name,
                    feature="languages",
                )
        shared = [_search_term(t) for t in (*query.all, *query.phrases)]
        shared += [f"-{_search_term(t)}" for t in query.exclude if len(_WORD.findall(t)) == 1]
        alternatives: list[tuple[str | None, str | None, str | None]] = [
            *((t, None, None) for t in dict.fromkeys(query.any)),
            *((None, t, None) for t in dict.fromkeys(query.hashtags)),
            *((None, None, h) for h in dict.fromkeys(query.handles)),
        ] or [(None, None, None)]
        languages: list[str | None] = [*dict.fromkeys(query.languages)] or [None]
        if len(alternatives) * len(languages) > _MAX_SEARCHES:
            raise UnsupportedQuery(
                f"this query takes {len(alternatives) * len(languages)} Bluesky searches (one "
                "per any= term, hashtag and handle, times each language), more than the "
                f"{_MAX_SEARCHES} brandkit makes for one query: split it into several queries",
                platform=self.name,
                feature="size",
            )
        out = []
        for lang in languages:
            for term, tag, handle in alternatives:
                words: list[str] = list(shared)
                if term is not None:
                    words.insert(0, _search_term(term))
                if tag is not None:
                    words.insert(0, f"#{tag}")
                if handle is not None:
                    words.insert(0, f"@{handle}")
                params = [("q", " ".join(words))]
                if tag is not None:
                    params.append(("tag", tag))
                if handle is not None:
                    params.append(("mentions", handle))
                if lang is not None:
                    params.append(("lang", lang))
                out.append(
                    SearchRequest(
                        params=tuple(params), term=term, tag=tag, handle=handle, lang=lang
                    )
                )
        return tuple(out)

    def search(self, query: Query, cursor: str | None, *, limit: int) -> Flow[SearchPage]:
        """Public posts matching ``query`` since ``cursor``, through the searches
        `compile_query` makes, ``sort=latest``, 100 a page, newest first by the platform's
        cursor, from the query's ``since`` (or the newest post a search read before) on.
        A search that stops at ``limit`` resumes next time below the oldest post it read
        (``until``), then moves its mark forward. Each post read is kept when
        `Query.matches` it and no earlier search of the query lists it. A post that cannot
        be read (its record is any app's), or placed in the order (its own ``indexedAt``
        or ``uri`` cannot be read: a time is ISO text), is skipped with a WARNING.

        Raises:
            UnsupportedQuery: see `compile_query`.
            ConfigurationError: ``cursor`` is not one this adapter wrote for this query (pass
                ``None``).
            PlatformError: the search was refused (an AppView may want a session: the
                adapter's own is used).
            MalformedResponse: an answer brandkit cannot read as a page, or one listing
                more than 100 posts in a row that cannot be placed.
        """
        requests = self.compile_query(query)
        tag = cursor_tag(self.account.key, canonical_query(query))
        spans = self._read_search_cursor(cursor, requests, tag)
        yield from self._ensure_session()
        found: dict[str, Message] = {}
        out: dict[str, _Span] = {}
        read, fresh, more = 0, 0, False
        for index, request in enumerate(requests):
            span = spans.get(request.key, _Span())
            if more or fresh >= limit:
                # Not reached this time: next time from where it was.
                out[request.key] = span
                more = True
                continue
            span, count, new, more = yield from self._read_search(
                request, requests[:index], span, query, found, limit - fresh
            )
            out[request.key] = span
            read += count
            fresh += new
        state = _SearchCursor(v=1, q=tag, spans=out)
        return SearchPage(
            messages=sorted(found.values(), key=lambda m: (m.created_at, m.id)),
            cursor=state.model_dump_json(exclude_defaults=True),
            more=more,
            read=read,
        )

    def _read_search(
        self,
        request: SearchRequest,
        earlier: Sequence[SearchRequest],
        span: _Span,
        query: Query,
        found: dict[str, Message],
        budget: int,
    ) -> Flow[tuple[_Span, int, int, bool]]:
        """One search, page by page: the posts read, and the span after it."""
        resuming = span.floor is not None
        since = span.seen
        if query.since is not None:
            since = max(since or 0, _ms(query.since))
        until = _ms(query.until) if query.until is not None else None
        if span.floor is not None:
            # Everything above the oldest post the stopped read reached is read: go on below
            # it (until is exclusive; the posts read in that millisecond are skipped by URI).
            until = span.floor + 1 if until is None else min(until, span.floor + 1)
        top, top_uris = (span.top, list(span.top_uris)) if resuming else (None, [])
        floor, floor_uris = (span.floor, list(span.floor_uris)) if resuming else (None, [])
        seen_uris, old_floor = set(span.uris), set(span.floor_uris)
        api_cursor: str | None = None
        read = new = 0
        unplaced = 0  # posts in a row that could not be placed (see _MAX_UNPLACED)
        # Every page brings a new post or ends the read: at most budget + pages of posts the
        # last reads already had, bounded.
        size = max(1, min(self.search_page, _SEARCH_PAGE))
        for _ in range(budget + _MAX_MARK_URIS // size + 2):
            params = [*request.params, ("sort", "latest"), ("limit", str(size))]
            if since is not None:
                params.append(("since", _iso_ms(since)))
            if until is not None:
                params.append(("until", _iso_ms(until)))
            if api_cursor:
                params.append(("cursor", api_cursor))
            response = yield from self._authed(
                functools.partial(self._get, _SEARCH, params=params),
                idempotent=True,
                # An AppView read like any other: the per-IP budget of every request (a
                # bucket of its own would let the governor spend it twice).
                bucket="api",
            )
            page, _ = self._parse_with_body(response, _Found)
            read += len(page.posts)
            for item in page.posts:
                try:
                    post_mark = _FoundMark.model_validate(item)
                except pydantic.ValidationError:
                    # Not placeable (no readable indexedAt or uri: a number is no time, and
                    # read as one it would end the read, or move the mark, far from where
                    # the post lies): skipped with a WARNING, moving no mark.
                    unplaced += 1
                    if unplaced > _MAX_UNPLACED:
                        raise self._unplaceable(response, "posts", "search") from None
                    self.read_items([item], _FoundPost, "post", _uri_of, logger)
                    continue
                unplaced = 0
                mark = self._sort_ms(post_mark)
                uri = post_mark.uri
                if since is not None and (mark < since or (mark == since and uri in seen_uris)):
                    continue  # read by an earlier search (or outside what was asked)
                if (
                    resuming
                    and span.floor is not None
                    and (mark > span.floor or (mark == span.floor and uri in old_floor))
                ):
                    continue  # read before the stop this read resumes from
                # A post of a shape brandkit cannot read (its record is any app's) is
                # skipped, placed like the others: the next search does not read it again.
                full = self.read_items([item], _FoundPost, "post", _uri_of, logger)
                post = full[0][0] if full else None
                if uri in found or (post is not None and any(r.finds(post) for r in earlier)):
                    continue  # an earlier search of this query lists it
                new += 1
                if top is None or mark > top:
                    top, top_uris = mark, [uri]
                elif mark == top and uri not in top_uris:
                    top_uris.append(uri)
                if floor is None or mark < floor:
                    floor, floor_uris = mark, [uri]
                elif mark == floor and uri not in floor_uris:
                    floor_uris.append(uri)
                if post is not None:
                    self._keep_found(post, full[0][1], query, found)
            if not page.posts or not page.cursor or page.cursor == api_cursor:
                break
            api_cursor = page.cursor
            if new >= budget:
                return (
                    _Span(
                        seen=span.seen,
                        uris=span.uris,
                        floor=floor,
                        floor_uris=tuple(floor_uris[-_MAX_MARK_URIS:]),
                        top=top,
                        top_uris=tuple(top_uris[-_MAX_MARK_URIS:]),
                    ),
                    read,
                    new,
                    True,
                )
        if top is None:
            return _Span(seen=span.seen, uris=span.uris), read, new, False
        if span.seen is not None and top == span.seen:
            top_uris = [*span.uris, *(u for u in top_uris if u not in seen_uris)]
        return _Span(seen=top, uris=tuple(top_uris[-_MAX_MARK_URIS:])), read, new, False

    @staticmethod
    def _sort_ms(post: _FoundMark) -> int:
        """The time the search sorts and filters a post by (its ``sortAt``: the earlier of
        ``createdAt`` and ``indexedAt``), in epoch milliseconds."""
        indexed = _ms(post.indexedAt)
        created = parse_time(post.created)
        return min(indexed, _ms(created)) if created is not None else indexed

    def _keep_found(
        self, post: _FoundPost, raw: Any, query: Query, found: dict[str, Message]
    ) -> None:
        record = post.record
        language = next(
            (have for have in record.langs for want in query.languages if _same_lang(have, want)),
            record.langs[0] if record.langs else None,
        )
        languages = query.languages
        if (
            language is not None
            and languages
            and not any(_same_lang(language, w) for w in languages)
        ):
            return
        # Languages are checked above (en covers en-GB); Query.matches checks the rest.
        plain = query.model_copy(update={"languages": ()})
        if not plain.matches(
            record.text,
            author=post.author.handle,
            at=parse_time(record.createdAt) or post.indexedAt,
        ):
            return
        root = record.reply.root.uri if record.reply else None
        message = self._message(
            kind="found",
            uri=post.uri,
            cid=post.cid,
            author=post.author,
            record=_PostRecord(text=record.text, createdAt=record.createdAt, reply=record.reply),
            indexed_at=post.indexedAt,
            our_post=self._id_of(root) if root is not None and self._mine(root) else None,
            hidden=False,
            raw=raw if isinstance(raw, dict) else {},
        )
        if language is not None:
            message = attrs.evolve(message, extra={**message.extra, "language": language})
        found[post.uri] = message

    def _read_search_cursor(
        self, cursor: str | None, requests: Sequence[SearchRequest], tag: str
    ) -> dict[str, _Span]:
        if cursor is None:
            return {}
        try:
            state = _SearchCursor.model_validate_json(cursor)
        except (pydantic.ValidationError, ValueError):
            raise ConfigurationError(
                "bluesky: this search cursor was not written by brandkit's Bluesky adapter "
                "(or was changed); pass since=None to search from the start"
            ) from None
        # Another query (or account) would read on from its marks and skip this one's
        # older posts; a cursor from before names no query and is checked by its searches.
        if state.q not in (None, tag) or not set(state.spans) <= {r.key for r in requests}:
            raise ConfigurationError(
                "bluesky: this search cursor belongs to another query or account; pass "
                "since=None, or the cursor saved for this query"
            )
        return dict(state.spans)

    # -- conversation helpers ----------------------------------------------------------------

    def _read_cursor(self, cursor: str | None) -> _Cursor:
        if cursor is None:
            return _Cursor(v=1)
        try:
            return _Cursor.model_validate_json(cursor)
        except pydantic.ValidationError:
            raise ConfigurationError(
                "bluesky: this inbox cursor was not written by brandkit's Bluesky adapter "
                "(or was changed); pass since=None to read what Bluesky still lists"
            ) from None

    @staticmethod
    def _write_cursor(cursor: _Cursor) -> str:
        return cursor.model_dump_json(exclude_defaults=True)

    def _parse_with_body(
        self, response: httpx.Response, model: type[_Model]
    ) -> tuple[_Model, dict[str, Any]]:
        """`parse_with_body` of an answer that is a JSON object (every model here reads one).
        An answer nested deeper than the JSON reader goes is read with each array or object
        more than 150 levels deep as ``null`` (a record any app wrote, in a message's
        ``raw`` too), so that one such record does not make every read of it fail.

        Raises:
            PlatformError, MalformedResponse: as `parse`.
        """
        try:
            parsed, body = self.parse_with_body(response, model)
        except MalformedResponse:
            if not _nested_too_deep(response.content):
                raise
            # One record nested deeper than the reader goes would make the whole answer
            # unreadable, at every read: what lies past _MAX_NESTING levels is read as null.
            flat = httpx.Response(
                response.status_code,
                headers={"content-type": response.headers.get("content-type", "")},
                content=_flattened(response.content),
                request=response.request,
            )
            parsed, body = self.parse_with_body(flat, model)
        return parsed, body if isinstance(body, dict) else {}

    def _mine(self, uri: str | None) -> bool:
        match = _AT_URI.fullmatch(uri or "")
        return match is not None and match["repo"] == self.did and match["collection"] == POST

    def _id_of(self, uri: str) -> str:
        """The id of a post: its record key when it is the account's own (as `PartRef.id`),
        else its AT URI."""
        return uri.rsplit("/", 1)[-1] if self._mine(uri) else uri

    def _no_refs(self, message: Message) -> ConfigurationError:
        return ConfigurationError(
            f"bluesky: message {message.id!r} lacks the strong refs (uri, cid) brandkit keeps "
            "in Message.extra; read it again with client.inbox() or client.replies()"
        )

    def _message_ref(self, message: Message) -> tuple[str, str]:
        uri, cid = message.extra.get("uri"), message.extra.get("cid")
        if not isinstance(uri, str) or not _AT_URI.fullmatch(uri) or not isinstance(cid, str):
            raise self._no_refs(message)
        return uri, cid

    def _check_parent(self, ref: PartRef) -> Flow[None]:
        match = _AT_URI.fullmatch(ref.uri or "")
        if match is None:
            return
        params = [("repo", match["repo"]), ("collection", match["collection"])]
        params.append(("rkey", match["rkey"]))
        response = yield Send(
            self._get("com.atproto.repo.getRecord", None, params), idempotent=True, bucket="api"
        )
        if response.status_code == 400 and _xrpc_error(response)[0] == "RecordNotFound":
            raise Rejected(
                f"bluesky: the post answered ({ref.uri}) was deleted; there is nothing to "
                "reply to (archive the message instead)",
                platform=self.name,
                status_code=400,
                platform_message=_xrpc_error(response)[1],
                code="RecordNotFound",
            )
        self.check(response)

    def _notification_message(self, note: _Notification, raw: Any) -> Message:
        kind = _REASONS[note.reason]
        root = note.record.reply.root.uri if note.record.reply else None
        our_post: str | None = None
        if self._mine(root):
            our_post = self._id_of(str(root))
        elif kind != "mention" and self._mine(note.reasonSubject):
            # A reply under the account's answer in someone else's thread, or a quote.
            our_post = self._id_of(str(note.reasonSubject))
        return self._message(
            kind=kind,
            uri=note.uri,
            cid=note.cid,
            author=note.author,
            record=note.record,
            indexed_at=note.indexedAt,
            our_post=our_post,
            hidden=False,
            raw=raw if isinstance(raw, dict) else {},
        )

    def _message(
        self,
        *,
        kind: str,
        uri: str,
        cid: str,
        author: _Actor,
        record: _PostRecord,
        indexed_at: datetime | None,
        our_post: str | None,
        hidden: bool,
        raw: Mapping[str, Any],
    ) -> Message:
        rkey = uri.rsplit("/", 1)[-1]
        reply = record.reply
        created = parse_time(record.createdAt) or indexed_at or datetime.now(UTC)
        extra: dict[str, Any] = {"uri": uri, "cid": cid}
        if reply is not None:
            extra["root"] = {"uri": reply.root.uri, "cid": reply.root.cid}
        if indexed_at is not None:
            extra["indexed_at"] = _iso(indexed_at)
        return Message(
            platform=self.name,
            account=self.account.key,
            id=self._id_of(uri),
            kind=kind,
            author=Author(
                id=author.did,
                handle=author.handle,
                name=author.displayName or None,
                url=f"https://bsky.app/profile/{author.handle}",
            ),
            text=record.text,
            created_at=created,
            url=f"https://bsky.app/profile/{author.handle}/post/{rkey}",
            in_reply_to=self._id_of(reply.parent.uri) if reply else None,
            conversation=self._id_of(reply.root.uri if reply else uri),
            our_post=our_post,
            hidden=hidden,
            raw=raw,
            extra=extra,
        )

    def public_url(self, ref: PartRef) -> str | None:
        """``https://bsky.app/profile/<handle>/post/<rkey>``."""
        return ref.url

    # -- parts of a post ---------------------------------------------------------------------

    def _ref(self, index: int, uri: str, cid: str) -> PartRef:
        rkey = uri.rsplit("/", 1)[-1]
        who = self.handle or uri[5:].split("/", 1)[0]
        return PartRef(
            index=index,
            id=rkey,
            url=f"https://bsky.app/profile/{who}/post/{rkey}",
            uri=uri,
            cid=cid,
        )

    def _strong_ref(self, ref: PartRef) -> Flow[dict[str, str]]:
        if ref.uri and ref.cid:
            return {"uri": ref.uri, "cid": ref.cid}
        # A part stored without its strong ref (an older outbox row): read it back.
        params = [("repo", self.did or ""), ("collection", POST), ("rkey", ref.id)]
        response = yield Send(
            self._get("com.atproto.repo.getRecord", None, params), idempotent=True, bucket="api"
        )
        record = self.parse(response, _Record)
        return {"uri": record.uri, "cid": record.cid}

    def _resolve(self, handle: str) -> Flow[str | None]:
        """The DID of a mentioned handle, ``None`` if no account has it. Kept for
        `_DID_TTL` seconds only: the adapter lives as long as its client (an outbox worker
        runs for months), a handle can move to another account, and one that did not
        resolve may since have been taken."""
        key = handle.lower().lstrip("@")
        now = self._now()
        cached = self._dids.get(key)
        if cached is not None and 0 <= now - cached[0] < _DID_TTL:
            return cached[1]
        did: str | None = None
        if _HANDLE.fullmatch(key):
            response = yield Send(
                self._get("com.atproto.identity.resolveHandle", None, [("handle", key)]),
                idempotent=True,
                bucket="api",
            )
            if response.is_success:
                found = self.parse(response, _Resolved).did
                did = found if found.startswith("did:") else None
            elif response.status_code != 400:
                # Not "no such handle": the lookup itself failed; nothing is created yet.
                raise self.error_for(response)
        self._dids.pop(key, None)
        self._dids[key] = (now, did)
        while len(self._dids) > _MAX_DIDS:
            self._dids.pop(next(iter(self._dids)))
        return did

    def _facets(self, facets: Sequence[Mapping[str, Any]]) -> Flow[list[dict[str, Any]]]:
        out: list[dict[str, Any]] = []
        for facet in facets:
            features: list[dict[str, Any]] = []
            for feature in facet.get("features", ()):
                item = dict(feature)
                if item.get("$type") == MENTION and "did" not in item:
                    did = yield from self._resolve(str(item.get("handle", "")))
                    if did is None:
                        continue  # an unknown handle stays plain text
                    item = {"$type": MENTION, "did": did}
                features.append(item)
            if features:
                out.append({"index": dict(facet["index"]), "features": features})
        return out

    def _card_link(self, rendered: Rendered, part: RenderedPart, thread: ThreadContext) -> Any:
        link = self.link_card(rendered, part, thread)
        if link is None:
            return None
        thumb = link.thumbnail
        if thumb is not None:
            if thumb.size > MAX_THUMB_BYTES:
                raise MediaError(
                    f"link.thumbnail is {thumb.size:,} bytes; Bluesky takes link card "
                    f"thumbnails up to {MAX_THUMB_BYTES:,} bytes",
                    field="link.thumbnail",
                    platform=self.name,
                    over_by=thumb.size - MAX_THUMB_BYTES,
                )
            if thumb.kind not in ("image", "gif"):
                raise MediaError(
                    f"link.thumbnail is {thumb.mime_type}; a link card thumbnail must be an "
                    "image (PNG, JPEG, WebP or GIF)",
                    field="link.thumbnail",
                    platform=self.name,
                )
        return link

    def _upload(self, media: Media) -> Flow[dict[str, Any]]:
        def make(token: str) -> httpx.Request:
            url = httpx.URL(self._url("com.atproto.repo.uploadBlob"))
            return httpx.Request(
                "POST",
                url,
                headers={
                    "Host": url.netloc.decode("ascii"),
                    "Authorization": f"Bearer {token}",
                    "Content-Type": media.mime_type,
                    "Content-Length": str(media.size),
                },
                stream=_MediaStream(media),
            )

        # Blobs are addressed by content: uploading the same bytes again is harmless.
        response = yield from self._authed(make, idempotent=True, bucket="blob")
        return self.parse(response, _Uploaded).blob.record()

    def _embed(self, part: RenderedPart, card: Any) -> Flow[dict[str, Any] | None]:
        videos = [m for m in part.media if m.kind == "video"]
        if videos:
            video = videos[0]
            blob = yield from self._upload(video)
            embed: dict[str, Any] = {"$type": "app.bsky.embed.video", "video": blob}
            if video.alt:
                embed["alt"] = video.alt
            if video.aspect_ratio:
                embed["aspectRatio"] = {"width": video.width, "height": video.height}
            return embed
        if part.media:
            images = []
            for media in part.media:
                blob = yield from self._upload(media)
                # alt is a required key of the lexicon, even when it is empty.
                image: dict[str, Any] = {"image": blob, "alt": media.alt}
                if media.aspect_ratio:
                    image["aspectRatio"] = {"width": media.width, "height": media.height}
                images.append(image)
            return {"$type": "app.bsky.embed.images", "images": images}
        if card is not None:
            external: dict[str, Any] = {
                "uri": card.url,
                "title": card.title,
                "description": card.description or "",
            }
            if card.thumbnail is not None:
                external["thumb"] = yield from self._upload(card.thumbnail)
            return {"$type": "app.bsky.embed.external", "external": external}
        return None
