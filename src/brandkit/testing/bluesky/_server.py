"""The Bluesky emulator: a PDS (plus the AppView reads ``getProfile``, ``getPosts``,
``getPostThread`` and ``getAuthorFeed``), in-process or on a socket.

It answers as the reference PDS ``@atproto/pds`` 0.5.35 does, checked by running that server:
paths, bodies, status codes, XRPC error bodies, record validation against the lexicons (with
the reference messages), the 500 on a second create at the same record key, blob checks,
JWT sessions that expire and rotate, and the ``RateLimit-*`` headers it sends when its rate
limits are on.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import hmac
import itertools
import json
import math
import os
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import parse_qsl

import attrs
import httpx

from brandkit.accounts import Account, CredentialsHook
from brandkit.testing._emulator import (
    Audience,
    Clock,
    Emulator,
    ItemsIndex,
    Refusal,
    Watched,
    counts_sets,
    route,
    utc_millis,
)
from brandkit.testing.bluesky import _syntax
from brandkit.testing.bluesky._lexicon import Issue, Lexicons, json_path, stringify_value
from brandkit.testing.bluesky._oauth import OAuthServerMixin, _b64url, _b64url_decode

__all__ = [
    "BlueskyAudience",
    "BlueskyEmulator",
    "BlueskyLimits",
    "BlueskyUser",
    "StoredBlob",
    "StoredRecord",
]

POST = "app.bsky.feed.post"
_LIKE = "app.bsky.feed.like"
_REPOST = "app.bsky.feed.repost"
_THREADGATE = "app.bsky.feed.threadgate"
_NOTIFICATIONS = "app.bsky.notification.listNotifications"
_MENTION = "app.bsky.richtext.facet#mention"
# The AppView's indexer notifies ancestors up to this many levels above a reply.
_REPLY_NOTIF_DEPTH = 5
# fillPage's DEFAULT_FILL_PAGE_MAX_REQUESTS (packages/bsky/src/api/util.ts).
_FILL_PAGE_FETCHES = 10
# A notification as listed: (sort time in ms, reason, reasonSubject, the record).
_Note = tuple[int, str, "str | None", "StoredRecord"]
_AT_URI = re.compile(r"at://(?P<repo>[^/]+)/(?P<collection>[^/]+)/(?P<rkey>[^/?#]+)")

# The XRPC error name and default message of each status (``@atproto/xrpc`` ResponseType).
_STATUS_NAMES: dict[int, tuple[str, str]] = {
    400: ("InvalidRequest", "Invalid Request"),
    401: ("AuthenticationRequired", "Authentication Required"),
    403: ("Forbidden", "Forbidden"),
    404: ("XRPCNotSupported", "XRPC Not Supported"),
    406: ("NotAcceptable", "Not Acceptable"),
    413: ("PayloadTooLarge", "Payload Too Large"),
    415: ("UnsupportedMediaType", "Unsupported Media Type"),
    429: ("RateLimitExceeded", "Rate Limit Exceeded"),
    500: ("InternalServerError", "Internal Server Error"),
    501: ("MethodNotImplemented", "Method Not Implemented"),
    502: ("UpstreamFailure", "Upstream Failure"),
    503: ("NotEnoughResources", "Not Enough Resources"),
    504: ("UpstreamTimeout", "Upstream Timeout"),
}

_B32 = "234567abcdefghijklmnopqrstuvwxyz"
_ACCESS_TTL = 2 * 3600.0
_REFRESH_TTL = 90 * 86400.0
_REFRESH_GRACE = 2 * 3600.0

Window = tuple[int, float]


@attrs.frozen
class BlueskyLimits:
    """The rate limits the emulator enforces when it is built with ``rate_limits=...``.

    Each field is a tuple of ``(points, window_seconds)``; the defaults are the reference
    PDS's. Tests pass small windows, e.g. ``BlueskyLimits(write=((15, 2.0),))`` (five creates
    per two seconds, a create costing 3 points).

    Attributes:
        write: record writes per account (``repo-write-hour`` and ``repo-write-day``).
        session: ``createSession`` per identifier and client IP.
        api: every request per client IP (``global-ip``).
        blob: ``uploadBlob`` per client IP.
        create_cost: points of one ``createRecord``.
        delete_cost: points of one ``deleteRecord``.
    """

    write: tuple[Window, ...] = ((5000, 3600.0), (35000, 86400.0))
    session: tuple[Window, ...] = ((300, 86400.0), (30, 300.0))
    api: tuple[Window, ...] = ((3000, 300.0),)
    blob: tuple[Window, ...] = ((1000, 86400.0),)
    create_cost: int = 3
    delete_cost: int = 1


@attrs.define
class BlueskyUser:
    """An account of the emulated PDS.

    Attributes:
        did: its DID (``did:plc:…``).
        handle: its handle (``name.test``).
        password: the account password (sessions with it get ``com.atproto.access``).
        app_password: an app password (sessions with it get ``com.atproto.appPass``, as
            third-party tools should use).
        email: its e-mail address.
        display_name: its display name.
        created_at: when it was created (emulator time, epoch seconds).
        followers: followers added by `BlueskyEmulator.follow` (on top of the growth).
    """

    did: str
    handle: str
    password: str = attrs.field(repr=False)
    app_password: str = attrs.field(repr=False)
    email: str
    display_name: str
    created_at: float
    followers: int = 0


@attrs.define(on_setattr=counts_sets("changes"))
class StoredRecord:
    """A record in a repository.

    Attributes:
        uri: its AT-URI.
        cid: its content id.
        did: the repository.
        collection: its collection (``app.bsky.feed.post``).
        rkey: its record key.
        value: the record as stored.
        created_at: when it was stored (emulator time, epoch seconds).
        extra: engagement added with `BlueskyEmulator.engage`.
    """

    uri: str
    cid: str
    did: str
    collection: str
    rkey: str
    value: dict[str, Any]
    created_at: float
    extra: dict[str, int] = attrs.field(factory=dict)

    changes: ClassVar[int] = 0
    """How many times a record's field was set after it was made (by any emulator): what
    the AppView reads derive from the records is made again when it changes."""

    @property
    def text(self) -> str:
        """The post's text (empty for other records)."""
        return str(self.value.get("text", ""))


@attrs.define
class _Engagement:
    """What post views count, kept as records are written rather than read from every
    record for each view: each post's replies (those not against their threadgate), likes
    and reposts, and each account's first like (repost) of a post, in the order of
    `BlueskyEmulator.records`."""

    # parent URI -> its replies not against their threadgate, in the order of the records
    replies: dict[str, list[StoredRecord]] = attrs.field(factory=dict)
    # (collection, subject) -> how many likes (reposts) of the subject
    links: dict[tuple[str, str], int] = attrs.field(factory=dict)
    # (did, collection, subject) -> the AT URI of the account's first like (repost) of it
    mine: dict[tuple[str, str, str], str] = attrs.field(factory=dict)

    def add(self, rec: StoredRecord, against_gate: bool) -> None:
        """Count ``rec``, the last of the records in order."""
        if rec.collection == POST:
            parent = ((rec.value.get("reply") or {}).get("parent") or {}).get("uri")
            if isinstance(parent, str) and not against_gate:
                self.replies.setdefault(parent, []).append(rec)
        elif rec.collection in (_LIKE, _REPOST):
            subject = _backlink(rec.value)
            if subject is not None:
                self.links[(rec.collection, subject)] = (
                    self.links.get((rec.collection, subject), 0) + 1
                )
                self.mine.setdefault((rec.did, rec.collection, subject), rec.uri)


@attrs.define
class StoredBlob:
    """An uploaded blob.

    Attributes:
        cid: its content id (CIDv1, raw, sha2-256).
        mime_type: the type the server stored (sniffed from the bytes when it can tell).
        size: its size in bytes.
        data: the bytes.
        permanent: a record references it (then the PDS no longer checks references'
            ``mimeType`` and ``size`` against it).
    """

    cid: str
    mime_type: str
    size: int
    data: bytes = attrs.field(repr=False)
    permanent: bool = False

    def ref(self) -> dict[str, Any]:
        """The blob reference as ``uploadBlob`` returns it."""
        return {
            "$type": "blob",
            "ref": {"$link": self.cid},
            "mimeType": self.mime_type,
            "size": self.size,
        }


@attrs.define
class _Refresh:
    did: str
    scope: str
    expires_at: float
    next_jti: str | None = None


@attrs.define
class _Window:
    started: float
    used: int


@attrs.frozen
class _Status:
    limit: int
    window: float
    remaining: int
    reset_in: float


def _cid(data: bytes, codec: int) -> str:
    digest = hashlib.sha256(data).digest()
    raw = bytes([0x01, codec, 0x12, 0x20]) + digest
    return "b" + base64.b32encode(raw).decode().lower().rstrip("=")


def _sniff(data: bytes, declared: str) -> str:
    head = data[:16]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp":
        return "video/quicktime" if head[8:12] == b"qt  " else "video/mp4"
    return declared


def _app_password() -> str:
    # The shape bsky.app hands out: xxxx-xxxx-xxxx-xxxx.
    raw = "".join(_B32[b % 32] for b in os.urandom(16))
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _iso(ts: float) -> str:
    return utc_millis(ts)


def _iso_ms(ms: int) -> str:
    return _iso(ms / 1000.0)


def _epoch_ms(text: str) -> int | None:
    """Whole milliseconds since the epoch of an ISO time, as JavaScript's ``new Date`` reads
    it (a cursor, a ``seenAt``; finer digits dropped), or ``None`` when it is not one."""
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return (parsed - _EPOCH) // timedelta(milliseconds=1)


def _backlink(record: Mapping[str, Any]) -> str | None:
    """What a like or repost (``subject.uri``), follow or block (``subject``) points at."""
    kind = record.get("$type")
    subject = record.get("subject")
    if kind in ("app.bsky.feed.like", "app.bsky.feed.repost") and isinstance(subject, Mapping):
        uri = subject.get("uri")
        return str(uri) if isinstance(uri, str) and uri.startswith("at://") else None
    if kind in ("app.bsky.graph.follow", "app.bsky.graph.block") and isinstance(subject, str):
        return subject if subject.startswith("did:") else None
    return None


def _newest(note: _Note) -> int:
    """The key that sorts notifications as listed, newest first (for bisect)."""
    return -note[0]


def _parent_uri(rec: StoredRecord) -> str | None:
    uri = ((rec.value.get("reply") or {}).get("parent") or {}).get("uri")
    return str(uri) if uri else None


def _root_uri(rec: StoredRecord) -> str | None:
    uri = ((rec.value.get("reply") or {}).get("root") or {}).get("uri")
    return str(uri) if uri else None


def _blob_refs(value: Any) -> Iterable[Mapping[str, Any]]:
    if isinstance(value, Mapping):
        if value.get("$type") == "blob" and isinstance(value.get("ref"), Mapping):
            yield value
            return
        for item in value.values():
            yield from _blob_refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from _blob_refs(item)


def _first_fraction(value: Any, path: tuple[str | int, ...]) -> tuple[float, Any] | None:
    if isinstance(value, float) and not value.is_integer():
        return value, path
    items: Iterable[tuple[str | int, Any]] = ()
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    for key, item in items:
        found = _first_fraction(item, (*path, key))
        if found is not None:
            return found
    return None


# The keys under which a getPostThread answer nests its thread nodes: 1000 levels of replies
# (or of parents) nest 2000 JSON levels, deeper than json.dumps goes (RecursionError).
_THREAD_NESTING = frozenset({"thread", "replies", "parent"})
_TEXT, _WHOLE, _WALK = 0, 1, 2


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _thread_json(body: Mapping[str, Any]) -> str:
    """A getPostThread answer as `BlueskyEmulator.json` writes it, the same text, however
    deep its thread: the nodes under ``thread``, ``replies`` and ``parent`` are written with
    a stack, the rest of each (its post view, the threadgate) by json.dumps."""
    out: list[str] = []
    todo: list[tuple[int, Any]] = [(_WALK, body)]
    while todo:
        kind, value = todo.pop()
        if kind == _TEXT:
            out.append(value)
        elif kind == _WHOLE or not isinstance(value, dict | list):
            out.append(_compact(value))
        elif isinstance(value, dict):
            todo.append((_TEXT, "}"))
            for i, (key, item) in reversed(list(enumerate(value.items()))):
                todo.append((_WALK if key in _THREAD_NESTING else _WHOLE, item))
                todo.append((_TEXT, ("," if i else "") + _compact(str(key)) + ":"))
            todo.append((_TEXT, "{"))
        else:
            todo.append((_TEXT, "]"))
            for i, item in reversed(list(enumerate(value))):
                todo.append((_WALK, item))
                if i:
                    todo.append((_TEXT, ","))
            todo.append((_TEXT, "["))
    return "".join(out)


# app.bsky.feed.getPostThread's parameters, as its lexicon defines them (the AppView read is
# answered by the emulator itself, like getPosts).
_THREAD = "app.bsky.feed.getPostThread"
_THREAD_PARAMS = Lexicons(
    [
        {
            "lexicon": 1,
            "id": _THREAD,
            "defs": {
                "main": {
                    "type": "query",
                    "parameters": {
                        "type": "params",
                        "required": ["uri"],
                        "properties": {
                            "uri": {"type": "string", "format": "at-uri"},
                            "depth": {
                                "type": "integer",
                                "default": 6,
                                "minimum": 0,
                                "maximum": 1000,
                            },
                            "parentHeight": {
                                "type": "integer",
                                "default": 80,
                                "minimum": 0,
                                "maximum": 1000,
                            },
                        },
                    },
                }
            },
        }
    ]
)

# app.bsky.feed.searchPosts' parameters, as its lexicon defines them (bluesky-social/atproto,
# lexicons/app/bsky/feed/searchPosts.json); the AppView read is answered by the emulator.
_SEARCH = "app.bsky.feed.searchPosts"
_SEARCH_PARAMS = Lexicons(
    [
        {
            "lexicon": 1,
            "id": _SEARCH,
            "defs": {
                "main": {
                    "type": "query",
                    "parameters": {
                        "type": "params",
                        "required": ["q"],
                        "properties": {
                            "q": {"type": "string"},
                            "sort": {"type": "string", "knownValues": ["top", "latest"]},
                            "since": {"type": "string"},
                            "until": {"type": "string"},
                            "mentions": {"type": "string", "format": "at-identifier"},
                            "author": {"type": "string", "format": "at-identifier"},
                            "lang": {"type": "string", "format": "language"},
                            "domain": {"type": "string"},
                            "url": {"type": "string", "format": "uri"},
                            "tag": {
                                "type": "array",
                                "items": {"type": "string", "maxLength": 640, "maxGraphemes": 64},
                            },
                            "limit": {
                                "type": "integer",
                                "minimum": 1,
                                "maximum": 100,
                                "default": 25,
                            },
                            "cursor": {"type": "string"},
                        },
                    },
                }
            },
        }
    ]
)
# The search backend's window: OpenSearch pages no further than 10,000 hits.
_SEARCH_WINDOW = 10_000
# A query's tokens: a quoted phrase (perhaps negated) or a run of non-space characters.
_SEARCH_TOKEN = re.compile(r'-?"[^"]*"?|\S+')
_SEARCH_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_TAG_FACET = "app.bsky.richtext.facet#tag"
# The app's hashtag rule (packages/api richtext detection): # then no space, at least one
# character that is neither a digit nor punctuation, trailing punctuation not part of it.
_TAG_IN_TEXT = re.compile(r"(?:^|(?<=\s))[#＃](\S+)")
_MAX_TAG = 64


def _search_words(text: str) -> list[str]:
    return _SEARCH_WORD.findall(text.lower())


def _search_time(value: Any, name: str) -> int | None:
    """Epoch milliseconds of a since/until parameter (a datetime or a YYYY-MM-DD date).

    Raises:
        ValueError: neither.
    """
    if value is None:
        return None
    text = str(value)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        text += "T00:00:00Z"
    parsed = _epoch_ms(text)
    if parsed is None:
        raise ValueError(f"{name} is not a datetime or a date (YYYY-MM-DD): {text}")
    return parsed


def _record_tags(value: Mapping[str, Any]) -> set[str]:
    """A post's hashtags (lowercase): its tag facets and its ``tags``."""
    out = {str(t).lower() for t in value.get("tags") or () if isinstance(t, str)}
    for facet in value.get("facets") or ():
        for feature in facet.get("features") or () if isinstance(facet, Mapping) else ():
            if isinstance(feature, Mapping) and feature.get("$type") == _TAG_FACET:
                out.add(str(feature.get("tag", "")).lower())
    return out


def _record_mentions(value: Mapping[str, Any]) -> set[str]:
    """The DIDs a post's mention facets name."""
    out = set()
    for facet in value.get("facets") or ():
        for feature in facet.get("features") or () if isinstance(facet, Mapping) else ():
            if isinstance(feature, Mapping) and feature.get("$type") == _MENTION:
                out.add(str(feature.get("did", "")))
    return out


def _tag_facets(text: str) -> list[dict[str, Any]]:
    """Tag facets for the hashtags of ``text``, as the app makes them (UTF-8 byte ranges)."""
    facets = []
    for match in _TAG_IN_TEXT.finditer(text):
        tag = match[1]
        while tag and unicodedata.category(tag[-1]).startswith("P"):
            tag = tag[:-1]
        if not tag or len(tag) > _MAX_TAG:
            continue
        if all(ch.isdigit() or unicodedata.category(ch).startswith("P") for ch in tag):
            continue
        start = len(text[: match.start()].encode("utf-8"))
        end = start + len((text[match.start()] + tag).encode("utf-8"))
        facets.append(
            {
                "index": {"byteStart": start, "byteEnd": end},
                "features": [{"$type": _TAG_FACET, "tag": tag}],
            }
        )
    return facets


_EXPRESS_404 = (
    '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>Error</title>\n'
    "</head>\n<body>\n<pre>Cannot {method} {path}</pre>\n</body>\n</html>\n"
)


def _js_json_error(body: bytes) -> str:
    text = body.decode("utf-8", "replace")
    if not text.strip():
        return "Unexpected end of JSON input"
    preview = text if len(text) <= 30 else text[:10] + "..." + text[-10:]
    return f"Unexpected token '{text.strip()[0]}', \"{preview}\" is not valid JSON"


class BlueskyAudience(Audience):
    """An audience member of the Bluesky emulator: besides what every audience writes, a
    Bluesky user likes and reposts (records in their own repository, which notify the
    post's author as the AppView's indexer does: like.ts and repost.ts ``notifsForInsert``).
    """

    def like(self, post_id: str) -> str:
        """Like the post ``post_id`` (an AT URI, or a record key of a brand's post) and
        return the like record's AT URI; liking it again replaces the like, as the PDS does.
        """
        return self.emulator.audience_write(self, "like", "", target=post_id)

    def repost(self, post_id: str) -> str:
        """Repost the post ``post_id`` and return the repost record's AT URI."""
        return self.emulator.audience_write(self, "repost", "", target=post_id)


class BlueskyEmulator(OAuthServerMixin, Emulator):
    """A stateful Bluesky PDS for tests: sessions, repositories, blobs, rate limits, metrics.

    ```python
    from brandkit import Client, Post
    from brandkit.testing import emulator

    emu = emulator("bluesky")
    with emu.serve():
        account = emu.account()
        with Client() as client:
            (delivery,) = client.publish(Post(text="hello"), account)
        assert emu.post_texts() == ["hello"]
    ```

    Args:
        clock: the emulator's clock (token expiry, rate windows, engagement growth).
        rate_limits: enforce rate limits and send ``RateLimit-*`` headers, as the reference
            PDS does with ``PDS_RATE_LIMITS_ENABLED=true``: ``True`` for its limits, or a
            `BlueskyLimits` with other windows. Off by default, as in the PDS (then no
            rate-limit header is sent at all).
        blob_upload_limit: the largest blob ``uploadBlob`` takes (the PDS default, 5 MiB).
        engagement_per_hour: how many likes a post gains per simulated hour (each post gets
            a deterministic share between half and twice this); reposts, quotes, replies and
            bookmarks follow from likes.
        followers_per_hour: how many followers an account gains per simulated hour.
        access_ttl: lifetime of access tokens in seconds (the PDS: two hours).

    Attributes:
        users: every account, by DID.
        records: every record, by AT-URI.
        blobs: every uploaded blob, by ``(did, cid)``.
        lexicons: the lexicons records are validated against.
    """

    platform: ClassVar[str] = "bluesky"
    create_route: ClassVar[tuple[str, str]] = ("POST", r"/xrpc/com\.atproto\.repo\.createRecord")
    service_did: ClassVar[str] = "did:web:localhost"
    # A test may add, replace or take away records, set a record's fields or set `records`
    # to another dict: reads answer from the records as they then are (see `Watched`).
    records: Watched[str, StoredRecord] = Watched()

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        rate_limits: bool | BlueskyLimits = False,
        blob_upload_limit: int = 5 * 1024 * 1024,
        engagement_per_hour: float = 12.0,
        followers_per_hour: float = 2.0,
        access_ttl: float = _ACCESS_TTL,
    ) -> None:
        super().__init__(clock=clock)
        if rate_limits is True:
            self.limits: BlueskyLimits | None = BlueskyLimits()
        elif rate_limits is False:
            self.limits = None
        else:
            self.limits = rate_limits
        self.blob_upload_limit = blob_upload_limit
        self.engagement_per_hour = engagement_per_hour
        self.followers_per_hour = followers_per_hour
        self.access_ttl = access_ttl
        self.lexicons = Lexicons.bundled()
        self.users: dict[str, BlueskyUser] = {}
        self.records = {}
        self.blobs: dict[tuple[str, str], StoredBlob] = {}
        self._secret = os.urandom(32)
        self._refresh: dict[str, _Refresh] = {}
        self._expired_access: set[str] = set()
        self._issued_access: dict[str, str] = {}
        self._windows: dict[tuple[str, str], _Window] = {}
        self._serial = itertools.count(1)
        # Each record's sortAt (ms), as notifications sort by it (see `_sort_at`).
        self._sort_ms: dict[str, int] = {}
        self._last_sort_ms = 0
        self.audience_clock_lag = 0.0
        """Seconds the audience's clocks run behind: the ``createdAt`` of what they write
        (a phone set by hand), which the AppView lists it by when that is earlier."""
        self.max_thread_depth: int | None = None
        """The most levels of replies getPostThread answers, whatever ``depth`` asks, as an
        AppView run with ``BSKY_MAX_THREAD_DEPTH`` (``None``: the depth asked)."""
        # The DIDs of the audience's accounts (not the brand's).
        self._audience_dids: set[str] = set()
        # The accounts made with account(), in order (the ones the audience mentions).
        self._brand_dids: list[str] = []
        # The notifications built for a state of the records (see `_records_state`).
        self._note_cache: (
            tuple[tuple[int, int, int], dict[str, list[tuple[int, str, str | None, StoredRecord]]]]
            | None
        ) = None
        # What post views count (see `_engagement`): takes in the records created since the
        # last read; made again after any other change (a delete, a put, an entry of
        # `records` or a record's field set by a test).
        self._engagement_index: ItemsIndex[_Engagement, StoredRecord] = ItemsIndex(
            _Engagement,
            lambda index, rec: index.add(rec, rec.uri in self._gate_violations),
            lambda: (self.records.changes, StoredRecord.changes),
        )
        # Each account's listed notifications (less deleted subjects), for the same state of
        # the records: every page of a read pages the same list.
        self._shown_cache: tuple[
            tuple[int, int, int], dict[str, list[tuple[int, str, str | None, StoredRecord]]]
        ] = ((-1, -1, -1), {})
        # Each account's last-seen time of its notifications (ms), set by updateSeen.
        self._seen_notifs: dict[str, int] = {}
        # Replies the AppView indexed as against their thread's threadgate (its allow rules
        # as they stood then): stored, but out of threads, reply counts and notifications.
        self._gate_violations: set[str] = set()
        self._last_tid = 0
        self._clock_id = int.from_bytes(os.urandom(2), "big") & 0x3FF
        # OAuth (PAR, PKCE, DPoP): brandkit.testing.bluesky._oauth.
        self._oauth_init()

    # -- public helpers ----------------------------------------------------------------------

    def _records_state(self) -> tuple[int, int, int]:
        """The state of `records` that what is derived from them is kept for: different
        after any write to the dict or to a record's field."""
        return (*self.records.state, StoredRecord.changes)

    def add_user(
        self,
        handle: str,
        *,
        password: str | None = None,
        display_name: str | None = None,
        followers: int = 0,
    ) -> BlueskyUser:
        """Create an account on the emulated PDS and return it.

        Raises:
            ValueError: ``handle`` is not a valid handle or is taken.
        """
        handle = handle.lower().lstrip("@")
        if not _syntax.is_handle(handle):
            raise ValueError(f"{handle!r} is not a valid handle (e.g. 'brand.test')")
        with self.lock:
            if any(u.handle == handle for u in self.users.values()):
                raise ValueError(f"handle {handle!r} is taken")
            digest = hashlib.sha256(handle.encode()).digest()
            suffix = "".join(_B32[b % 32] for b in digest[:24])
            user = BlueskyUser(
                did=f"did:plc:{suffix}",
                handle=handle,
                password=password or _b64url(os.urandom(12)),
                app_password=_app_password(),
                email=f"{handle.split('.')[0]}@{handle}",
                display_name=display_name or handle.split(".")[0].title(),
                created_at=self.clock.time(),
                followers=followers,
            )
            self.users[user.did] = user
        return user

    def account(
        self,
        *,
        name: str | None = None,
        handle: str | None = None,
        on_credentials_changed: CredentialsHook | None = None,
        **kw: Any,
    ) -> Account:
        """A new emulated account and an [`Account`][brandkit.Account] that logs in to it with
        its app password at `base_url` (call it inside ``serve()`` for a socket URL).

        Extra keywords go to [`bluesky`][brandkit.Account.bluesky] (e.g. a saved session).
        """
        base = re.sub(r"[^a-z0-9-]+", "-", (name or "brand").lower()).strip("-") or "brand"
        wanted = handle or f"{base}.test"
        with self.lock:
            taken = {u.handle for u in self.users.values()}
            candidate = wanted
            n = 2
            while candidate in taken:
                head, _, tail = wanted.partition(".")
                candidate = f"{head}{n}.{tail}"
                n += 1
            user = self.add_user(candidate)
            self._brand_dids.append(user.did)
        return Account.bluesky(
            handle=user.handle,
            app_password=user.app_password,
            base_url=self.base_url,
            name=name,
            on_credentials_changed=on_credentials_changed,
            **kw,
        )

    def user(self, handle_or_did: str) -> BlueskyUser:
        """The account with this handle or DID.

        Raises:
            KeyError: no such account.
        """
        key = handle_or_did.lower().lstrip("@")
        with self.lock:
            if handle_or_did in self.users:
                return self.users[handle_or_did]
            for user in self.users.values():
                if user.handle == key:
                    return user
        raise KeyError(handle_or_did)

    def posts(self, handle_or_did: str | None = None) -> list[StoredRecord]:
        """The stored posts (of one account, or of all the brand's accounts: the audience's
        only when asked for by handle), oldest first."""
        did = self.user(handle_or_did).did if handle_or_did else None
        with self.lock:
            found = [
                r
                for r in self.records.values()
                if r.collection == POST
                and (r.did == did if did is not None else r.did not in self._audience_dids)
            ]
        return sorted(found, key=lambda r: (r.created_at, r.rkey))

    def post_texts(self, handle_or_did: str | None = None) -> list[str]:
        """The texts of the stored posts, oldest first."""
        return [r.text for r in self.posts(handle_or_did)]

    def record(self, uri: str) -> StoredRecord:
        """The record at ``uri``.

        Raises:
            KeyError: no such record.
        """
        with self.lock:
            return self.records[uri]

    def expire_tokens(self, handle_or_did: str | None = None) -> None:
        """Make every access token issued so far (to one account, or to all) expired: the next
        request with one gets ``400 ExpiredToken``, as after two hours on the PDS."""
        did = self.user(handle_or_did).did if handle_or_did else None
        with self.lock:
            for token, owner in self._issued_access.items():
                if did is None or owner == did:
                    self._expired_access.add(token)

    def revoke_sessions(self, handle_or_did: str | None = None) -> None:
        """Revoke every session (of one account, or all): access tokens expire and refresh
        tokens answer ``ExpiredToken`` ("Token has been revoked"), so a client must log in."""
        did = self.user(handle_or_did).did if handle_or_did else None
        self.expire_tokens(handle_or_did)
        with self.lock:
            for jti in [j for j, r in self._refresh.items() if did is None or r.did == did]:
                del self._refresh[jti]

    def engage(
        self,
        uri: str,
        *,
        likes: int = 0,
        reposts: int = 0,
        replies: int = 0,
        quotes: int = 0,
        bookmarks: int = 0,
    ) -> None:
        """Add engagement to a post, on top of its growth over simulated time.

        Raises:
            KeyError: no such post.
        """
        with self.lock:
            extra = self.records[uri].extra
            for key, n in (
                ("likes", likes),
                ("reposts", reposts),
                ("replies", replies),
                ("quotes", quotes),
                ("bookmarks", bookmarks),
            ):
                extra[key] = extra.get(key, 0) + n

    def follow(self, handle_or_did: str, n: int = 1) -> None:
        """Give an account ``n`` more followers."""
        with self.lock:
            self.user(handle_or_did).followers += n

    def counts(self, uri: str) -> dict[str, int]:
        """A post's counts now (``likeCount``, ``repostCount``, ``replyCount``,
        ``quoteCount``, ``bookmarkCount``), as ``getPosts`` reports them.

        Raises:
            KeyError: no such post.
        """
        with self.lock:
            return self._counts(self.records[uri])

    def followers_count(self, handle_or_did: str) -> int:
        """An account's followers now, as ``getProfile`` reports them."""
        with self.lock:
            return self._followers(self.user(handle_or_did))

    # -- the audience (conversations) ----------------------------------------------------------

    def audience(self, name: str) -> BlueskyAudience:
        """The audience member ``name`` (the same object for the same name), who can also
        `like <BlueskyAudience.like>` and `repost <BlueskyAudience.repost>`."""
        with self.lock:
            members: dict[str, Audience] = self.__dict__.setdefault("_audience", {})
            member = members.get(name)
            if not isinstance(member, BlueskyAudience):
                member = members[name] = BlueskyAudience(self, name)
            return member

    def audience_write(
        self,
        member: Audience,
        kind: str,
        text: str,
        *,
        target: str | None = None,
        lang: str | None = None,
    ) -> str:
        """Store a post by the audience member ``member`` (account ``<name>.test``, made on
        first use) and return its AT URI, the id the adapter reports for it.

        ``"reply"`` answers ``target`` (root and parent strong refs); ``"mention"`` names
        the brand's account (the one whose ``@handle`` the text holds, else the first made
        with `account`; the handle is put first when the text lacks it); ``"quote"`` embeds
        ``target`` (``app.bsky.embed.record``); ``"post"`` is a plain post. In every kind,
        an ``@handle`` of an account here becomes a mention facet, as the app makes it.
        ``"like"`` and ``"repost"`` (``text`` unused) write an ``app.bsky.feed.like`` or
        ``app.bsky.feed.repost`` of ``target`` and return its AT URI.

        Raises:
            NotImplementedError: ``"comment"`` (Bluesky has replies, not comments).
            KeyError: ``target`` is no post here.
        """
        if kind not in ("reply", "mention", "quote", "post", "like", "repost"):
            raise NotImplementedError(
                f"Bluesky has no {kind}s: the audience can reply, mention, quote, post, like "
                "or repost"
            )
        with self.lock:
            user = self._audience_user(member.name)
            if kind in ("like", "repost"):
                if target is None:
                    raise KeyError(f"a {kind} needs the post it is of")
                subject = self._target(target)
                collection = _LIKE if kind == "like" else _REPOST
                made = self._create(
                    user,
                    {
                        "repo": user.did,
                        "collection": collection,
                        "record": {
                            "$type": collection,
                            "subject": {"uri": subject.uri, "cid": subject.cid},
                            "createdAt": _iso(self.clock.time() - self.audience_clock_lag),
                        },
                    },
                )
                if made.status_code != 200:
                    raise ValueError(f"the emulator refused the audience's {kind}: {made.text}")
                return str(made.json()["uri"])
            record: dict[str, Any] = {"$type": POST, "text": text, "createdAt": ""}
            if lang:
                record["langs"] = [lang]
            if kind in ("reply", "quote"):
                if target is None:
                    raise KeyError(f"a {kind} needs the post it answers")
                parent = self._target(target)
                ref = {"uri": parent.uri, "cid": parent.cid}
                if kind == "reply":
                    root = parent.value.get("reply", {}).get("root") if parent.value else None
                    record["reply"] = {"root": dict(root) if root else ref, "parent": ref}
                else:
                    record["embed"] = {"$type": "app.bsky.embed.record", "record": ref}
            elif kind == "mention":
                handle = f"@{self._brand_named_in(text).handle}"
                if handle not in text:
                    text = f"{handle} {text}"
                    record["text"] = text
            # As the app does: every @handle of an account here becomes a mention facet, and
            # every #hashtag a tag facet.
            facets = self._mention_facets(text) + _tag_facets(text)
            facets.sort(key=lambda f: int(f["index"]["byteStart"]))
            if facets:
                record["facets"] = facets
            record["createdAt"] = _iso(self.clock.time() - self.audience_clock_lag)
            response = self._create(user, {"repo": user.did, "collection": POST, "record": record})
            if response.status_code != 200:
                raise ValueError(f"the emulator refused the audience's post: {response.text}")
            return str(response.json()["uri"])

    def answers(self, message_id: str) -> list[str]:
        """The texts the brand's accounts wrote directly under ``message_id`` (an AT URI, or
        a record key of a brand's post), oldest first."""
        with self.lock:
            try:
                target = self._target(message_id)
            except KeyError:
                return []
            found = [
                r
                for r in self.records.values()
                if r.collection == POST
                and r.did not in self._audience_dids
                and _parent_uri(r) == target.uri
            ]
        return [r.text for r in sorted(found, key=lambda r: (self._sort_ms.get(r.uri, 0), r.rkey))]

    def is_hidden(self, message_id: str) -> bool:
        """Whether the threadgate of the message's thread names it in ``hiddenReplies``."""
        with self.lock:
            try:
                rec = self._target(message_id)
            except KeyError:
                return False
            return rec.uri in self._hidden_replies(rec)

    def threadgate(self, post_id: str) -> dict[str, Any] | None:
        """The threadgate record of the thread ``post_id`` is in (``None``: there is none)."""
        with self.lock:
            gate = self._gate_of(self._target(post_id))
            return dict(gate.value) if gate is not None else None

    def _audience_user(self, name: str) -> BlueskyUser:
        label = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-") or "fan"
        handle = f"{label}.test"
        try:
            user = self.user(handle)
        except KeyError:
            user = self.add_user(handle, display_name=name)
        if user.did not in self._audience_dids:
            if any(r.did == user.did for r in self.records.values()):
                raise ValueError(f"{handle} is a brand account here, not the audience")
            self._audience_dids.add(user.did)
        return user

    def _mention_facets(self, text: str) -> list[dict[str, Any]]:
        data = text.encode("utf-8")
        facets = []
        for match in re.finditer(rb"@([a-z0-9.-]+[a-z0-9])", data):
            user = next(
                (u for u in self.users.values() if u.handle == match[1].decode().lower()), None
            )
            if user is not None:
                facets.append(
                    {
                        "index": {"byteStart": match.start(), "byteEnd": match.end()},
                        "features": [{"$type": _MENTION, "did": user.did}],
                    }
                )
        return facets

    def _brand_named_in(self, text: str) -> BlueskyUser:
        made = [self.users[d] for d in self._brand_dids if d in self.users]
        others = [
            u
            for u in self.users.values()
            if u.did not in self._audience_dids and u.did not in self._brand_dids
        ]
        brands = made + others
        if not brands:
            raise KeyError("there is no brand account to mention: make one with account()")
        for user in brands:
            if f"@{user.handle}" in text:
                return user
        # The account made last, as on every emulator.
        return made[-1] if made else brands[0]

    def _target(self, post_id: str) -> StoredRecord:
        """The post ``post_id`` names: an AT URI, or a record key of a brand's post."""
        if post_id.startswith("at://"):
            rec = self._post_at(post_id)
        else:
            # A brand's record key: look in each brand repository (not through every record).
            rec = next(
                (
                    self.records[uri]
                    for did in self.users
                    if did not in self._audience_dids
                    and (uri := f"at://{did}/{POST}/{post_id}") in self.records
                ),
                None,
            )
        if rec is None:
            raise KeyError(post_id)
        return rec

    # -- answers -------------------------------------------------------------------------------

    @staticmethod
    def json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
        """A JSON response, compact as the PDS (Express) writes it."""
        return httpx.Response(
            status,
            content=json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode(),
            headers={"content-type": "application/json; charset=utf-8", **(headers or {})},
        )

    def error(self, status: int, message: str, **extra: Any) -> httpx.Response:
        """An XRPC error: ``{"error": <name>, "message": <message>}``; the name defaults to the
        status's (``InvalidRequest``, ``InternalServerError``, ...). Give ``name=`` for another."""
        return self._err(status, extra.get("name"), message)

    def _err(self, status: int, name: str | None, message: str | None = None) -> httpx.Response:
        default_name, default_message = _STATUS_NAMES.get(status, ("Unknown", "Unknown"))
        return self.json(
            {"error": name or default_name, "message": message or default_message}, status=status
        )

    def _invalid(self, message: str, name: str | None = None) -> Refusal:
        return Refusal.answering(self._err(400, name, message))

    # -- tokens ------------------------------------------------------------------------------

    def _jwt(self, typ: str, payload: Mapping[str, Any]) -> str:
        head = _b64url(json.dumps({"typ": typ, "alg": "HS256"}, separators=(",", ":")).encode())
        body = _b64url(json.dumps(dict(payload), separators=(",", ":")).encode())
        sig = hmac.new(self._secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
        return f"{head}.{body}.{_b64url(sig)}"

    def _session(self, user: BlueskyUser, scope: str, jti: str | None = None) -> dict[str, Any]:
        now = self.clock.time()
        iat = int(now)
        access = self._jwt(
            "at+jwt",
            {
                "scope": scope,
                "aud": self.service_did,
                "sub": user.did,
                "iat": iat,
                "exp": int(now + self.access_ttl),
                # Two sessions minted in the same second must still differ.
                "jti": f"a{next(self._serial)}",
            },
        )
        jti = jti or _b64url(os.urandom(32))
        refresh = self._jwt(
            "refresh+jwt",
            {
                "scope": "com.atproto.refresh",
                "aud": self.service_did,
                "sub": user.did,
                "jti": jti,
                "iat": iat,
                "exp": int(now + _REFRESH_TTL),
            },
        )
        self._issued_access[access] = user.did
        self._refresh.setdefault(
            jti, _Refresh(did=user.did, scope=scope, expires_at=now + _REFRESH_TTL)
        )
        return {
            "accessJwt": access,
            "refreshJwt": refresh,
            "did": user.did,
            "handle": user.handle,
            "email": user.email,
            "emailConfirmed": True,
            "active": True,
        }

    def _verify(self, token: str, typ: str) -> dict[str, Any]:
        parts = token.split(".")
        try:
            if len(parts) != 3:
                raise ValueError("not a JWT")
            head = json.loads(_b64url_decode(parts[0]))
            payload = json.loads(_b64url_decode(parts[1]))
            sig = _b64url_decode(parts[2])
        except ValueError:
            raise self._invalid("Token could not be verified", "InvalidToken") from None
        expected = hmac.new(
            self._secret, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256
        ).digest()
        if not hmac.compare_digest(sig, expected) or head.get("typ") != typ:
            raise self._invalid("Token could not be verified", "InvalidToken")
        if not isinstance(payload, dict):
            raise self._invalid("Token could not be verified", "InvalidToken")
        if float(payload.get("exp", 0)) <= self.clock.time() or token in self._expired_access:
            raise self._invalid("Token has expired", "ExpiredToken")
        return payload

    def _bearer(self, request: httpx.Request) -> str | None:
        header: str | None = request.headers.get("authorization")
        if not header:
            return None
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Refusal.answering(self._err(401, "AuthMissing", "Authentication Required"))
        return token.strip()

    def _auth(self, request: httpx.Request, *, optional: bool = False) -> BlueskyUser | None:
        if request.headers.get("authorization", "").partition(" ")[0].lower() == "dpop":
            found = self._dpop_user(request)
            if isinstance(found, httpx.Response):
                raise Refusal.answering(found)
            return self.users[found]
        token = self._bearer(request)
        if token is None:
            if optional:
                return None
            raise Refusal.answering(self._err(401, "AuthMissing", "Authentication Required"))
        payload = self._verify(token, "at+jwt")
        user = self.users.get(str(payload.get("sub")))
        if user is None:
            raise Refusal.answering(self._err(403, "AccountNotFound", "Account not found"))
        return user

    # -- rate limits -------------------------------------------------------------------------

    def _client_ip(self, request: httpx.Request) -> str:
        forwarded = request.headers.get("x-forwarded-for")
        return forwarded.split(",")[0].strip() if forwarded else "127.0.0.1"

    def _consume(
        self, charges: Sequence[tuple[str, tuple[Window, ...], str, int]]
    ) -> _Status | None:
        """Spend points in every window (as the PDS's combined limiter does) and return the
        tightest status; raises a 429 refusal for the first window that is exceeded."""
        if self.limits is None:
            return None
        now = self.clock.time()
        statuses: list[_Status] = []
        exceeded: _Status | None = None
        for name, windows, key, points in charges:
            for limit, seconds in windows:
                slot = (f"{name}:{limit}/{seconds}", key)
                window = self._windows.get(slot)
                if window is None or now >= window.started + seconds:
                    window = self._windows[slot] = _Window(started=now, used=0)
                window.used += points
                status = _Status(
                    limit=limit,
                    window=seconds,
                    remaining=max(0, limit - window.used),
                    reset_in=window.started + seconds - now,
                )
                statuses.append(status)
                if window.used > limit and exceeded is None:
                    exceeded = status
        if exceeded is not None:
            response = self._err(429, "RateLimitExceeded", "Rate Limit Exceeded")
            self._stamp(response, exceeded)
            response.headers["Retry-After"] = str(math.ceil(exceeded.reset_in))
            raise Refusal.answering(response)
        return min(statuses, key=lambda s: s.remaining) if statuses else None

    def _stamp(self, response: httpx.Response, status: _Status | None) -> httpx.Response:
        if status is not None:
            reset = math.floor(self.clock.time() + status.reset_in)
            response.headers["RateLimit-Limit"] = str(status.limit)
            response.headers["RateLimit-Reset"] = str(reset)
            response.headers["RateLimit-Remaining"] = str(status.remaining)
            window = int(status.window) if float(status.window).is_integer() else status.window
            response.headers["RateLimit-Policy"] = f"{status.limit};w={window}"
        return response

    def _api_charge(self, request: httpx.Request) -> tuple[str, tuple[Window, ...], str, int]:
        assert self.limits is not None
        return ("global-ip", self.limits.api, self._client_ip(request), 1)

    def _limited(
        self,
        request: httpx.Request,
        charges: Sequence[tuple[str, tuple[Window, ...], str, int]] = (),
    ) -> _Status | None:
        if self.limits is None:
            return None
        return self._consume([*charges, self._api_charge(request)])

    # -- request parsing ---------------------------------------------------------------------

    def _body(self, request: httpx.Request, nsid: str) -> dict[str, Any]:
        if not request.headers.get("content-type"):
            raise self._invalid("Request encoding (Content-Type) required but not provided")
        try:
            body = json.loads(request.content or b"")
        except ValueError:
            raise Refusal.answering(
                self._err(400, "SyntaxError", _js_json_error(request.content))
            ) from None
        fraction = _first_fraction(body, ())
        if fraction is not None:
            # The AT data model has no floats: the PDS refuses them while decoding the body.
            value, path = fraction
            raise self._invalid(
                "Expected one of null, boolean, integer, string, cid, bytes, array or object "
                f"value type (got {stringify_value(value)}) at {json_path(path)}"
            )
        try:
            self.lexicons.validate_input(nsid, body)
        except Issue as issue:
            raise self._invalid(str(issue)) from None
        return dict(body)

    def _params(self, request: httpx.Request, nsid: str) -> dict[str, Any]:
        query = parse_qsl(request.url.query.decode(), keep_blank_values=True)
        try:
            return self.lexicons.parse_params(nsid, query)
        except Issue as issue:
            raise self._invalid(f"Invalid {nsid} params: {issue.message}") from None

    # -- ids ---------------------------------------------------------------------------------

    def _tid(self) -> str:
        us = int(self.clock.time() * 1_000_000)
        if us <= self._last_tid:
            us = self._last_tid + 1
        self._last_tid = us
        value = ((us & ((1 << 53) - 1)) << 10) | self._clock_id
        return "".join(_B32[(value >> (5 * i)) & 31] for i in reversed(range(13)))

    def _next_sort_ms(self) -> int:
        ms = max(int(self.clock.time() * 1000), self._last_sort_ms + 1)
        self._last_sort_ms = ms
        return ms

    def _sort_at(self, record: Mapping[str, Any]) -> int:
        """The sortAt (ms) of a record indexed now: the earlier of its ``createdAt`` and
        the time it is indexed, as the AppView's post table and feed items have it
        (``indexedAt < createdAt ? indexedAt : createdAt``), which notifications are listed
        by. Indexing times are kept distinct, and a ``createdAt`` counts only when it is a
        second or more earlier than the clock, so that records written within one
        millisecond keep their order across the time-only cursor: compared with the kept-
        distinct time instead, which a burst of writes pushes ahead of the clock, every
        record of a burst past its first thousand took its ``createdAt``, all the same."""
        ms = self._next_sort_ms()
        created = _epoch_ms(str(record.get("createdAt", "")))
        if created is not None and created <= int(self.clock.time() * 1000) - 1000:
            return created
        return ms

    def _commit(self) -> dict[str, str]:
        rev = self._tid()
        return {"cid": _cid(f"commit:{rev}".encode(), 0x71), "rev": rev}

    # -- engagement --------------------------------------------------------------------------

    def _share(self, key: str) -> float:
        seed = int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big")
        return 0.5 + 1.5 * (seed / 0xFFFFFFFF)

    def _engagement(self) -> _Engagement:
        """What post views count, for the records as they stand: the index takes in those
        created since the last read, or is made again in one pass over them."""
        return self._engagement_index.over(self.records)

    def _counts(self, rec: StoredRecord) -> dict[str, int]:
        hours = max(0.0, self.clock.time() - rec.created_at) / 3600.0
        likes = math.floor(self.engagement_per_hour * hours * self._share(rec.uri))
        index = self._engagement()
        extra = rec.extra
        return {
            "replyCount": (
                len(index.replies.get(rec.uri, ())) + likes // 6 + extra.get("replies", 0)
            ),
            "repostCount": (
                index.links.get((_REPOST, rec.uri), 0) + likes // 4 + extra.get("reposts", 0)
            ),
            "likeCount": index.links.get((_LIKE, rec.uri), 0) + likes + extra.get("likes", 0),
            "quoteCount": likes // 10 + extra.get("quotes", 0),
            "bookmarkCount": likes // 5 + extra.get("bookmarks", 0),
        }

    def _followers(self, user: BlueskyUser) -> int:
        return self.grown(user.followers, self.followers_per_hour, user.created_at)

    def _author(self, user: BlueskyUser, signed_in: bool = True) -> dict[str, Any]:
        """A ``profileViewBasic``; the AppView hydrates its ``viewer`` only for a read with
        a session (views.profileViewer: no profileViewers, no viewer)."""
        view: dict[str, Any] = {
            "did": user.did,
            "handle": user.handle,
            "displayName": user.display_name,
            "viewer": {"muted": False, "blockedBy": False},
            "labels": [],
            "createdAt": _iso(user.created_at),
        }
        if not signed_in:
            del view["viewer"]
        return view

    def _embed_view(self, did: str, embed: Any) -> dict[str, Any] | None:
        if not isinstance(embed, Mapping):
            return None
        cdn = "https://cdn.bsky.app/img"
        kind = embed.get("$type")
        if kind == "app.bsky.embed.images":
            images = []
            for img in embed.get("images", []):
                link = img["image"]["ref"]["$link"]
                view = {
                    "thumb": f"{cdn}/feed_thumbnail/plain/{did}/{link}@jpeg",
                    "fullsize": f"{cdn}/feed_fullsize/plain/{did}/{link}@jpeg",
                    "alt": img.get("alt", ""),
                }
                if "aspectRatio" in img:
                    view["aspectRatio"] = img["aspectRatio"]
                images.append(view)
            return {"$type": "app.bsky.embed.images#view", "images": images}
        if kind == "app.bsky.embed.external":
            ext = embed.get("external", {})
            out = {k: ext[k] for k in ("uri", "title", "description") if k in ext}
            if "thumb" in ext:
                link = ext["thumb"]["ref"]["$link"]
                out["thumb"] = f"{cdn}/feed_thumbnail/plain/{did}/{link}@jpeg"
            return {"$type": "app.bsky.embed.external#view", "external": out}
        if kind == "app.bsky.embed.video":
            link = embed["video"]["ref"]["$link"]
            view = {
                "$type": "app.bsky.embed.video#view",
                "cid": link,
                "playlist": f"https://video.bsky.app/watch/{did}/{link}/playlist.m3u8",
                "thumbnail": f"https://video.bsky.app/watch/{did}/{link}/thumbnail.jpg",
            }
            for key in ("alt", "aspectRatio"):
                if key in embed:
                    view[key] = embed[key]
            return view
        return None

    def _post_view(self, rec: StoredRecord, viewer: str | None = None) -> dict[str, Any]:
        """A ``postView`` as the AppView hydrates it for ``viewer`` (a DID, or ``None`` for
        a read without a session)."""
        view: dict[str, Any] = {
            "uri": rec.uri,
            "cid": rec.cid,
            "author": self._author(self.users[rec.did], viewer is not None),
            "record": rec.value,
        }
        embed = self._embed_view(rec.did, rec.value.get("embed"))
        if embed is not None:
            view["embed"] = embed
        view.update(self._counts(rec))
        view["indexedAt"] = _iso(rec.created_at)
        if viewer is not None:
            # views.post: postViewers are hydrated only for a read with a session.
            view["viewer"] = self._viewer_state(rec, viewer)
        view["labels"] = []
        if not rec.value.get("reply"):
            # views.post: "only hydrate gate on root post".
            gate = self._gate_of(rec)
            if gate is not None:
                view["threadgate"] = self._threadgate_view(gate)
        return view

    @staticmethod
    def _threadgate_view(gate: StoredRecord) -> dict[str, Any]:
        """``app.bsky.feed.defs#threadgateView`` (no list rules are emulated: ``lists``
        is empty)."""
        return {"uri": gate.uri, "cid": gate.cid, "record": gate.value, "lists": []}

    def _viewer_state(self, rec: StoredRecord, viewer: str) -> dict[str, Any]:
        """``app.bsky.feed.defs#viewerState``: the AT URIs of the viewer's own repost and
        like of the post, when there are (clients undo a like by deleting that record)."""
        state: dict[str, Any] = {}
        index = self._engagement()
        for kind, key in ((_REPOST, "repost"), (_LIKE, "like")):
            mine = index.mine.get((viewer, kind, rec.uri))
            if mine is not None:
                state[key] = mine
        state.update(bookmarked=False, threadMuted=False, embeddingDisabled=False)
        return state

    # -- routes: sessions ----------------------------------------------------------------------

    @route("POST", r"/xrpc/com\.atproto\.server\.createSession")
    def _create_session(self, request: httpx.Request) -> httpx.Response:
        body = self._body(request, "com.atproto.server.createSession")
        identifier = str(body["identifier"]).lower()
        status = None
        if self.limits is not None:
            key = f"{identifier}-{self._client_ip(request)}"
            status = self._limited(request, [("createSession", self.limits.session, key, 1)])
        user = next(
            (u for u in self.users.values() if identifier in (u.handle, u.did, u.email.lower())),
            None,
        )
        password = str(body["password"])
        scope = None
        if user is not None and hmac.compare_digest(user.app_password, password):
            scope = "com.atproto.appPass"
        elif user is not None and hmac.compare_digest(user.password, password):
            scope = "com.atproto.access"
        if user is None or scope is None:
            return self._stamp(self._err(401, None, "Invalid identifier or password"), status)
        return self._stamp(self.json(self._session(user, scope)), status)

    @route("POST", r"/xrpc/com\.atproto\.server\.refreshSession")
    def _refresh_session(self, request: httpx.Request) -> httpx.Response:
        token = self._bearer(request)
        if token is None:
            return self._err(401, "AuthMissing", "Authentication Required")
        payload = self._verify(token, "refresh+jwt")
        status = self._limited(request)
        jti = str(payload.get("jti"))
        state = self._refresh.get(jti)
        now = self.clock.time()
        if state is None or state.expires_at <= now:
            self._refresh.pop(jti, None)
            return self._stamp(self._err(400, "ExpiredToken", "Token has been revoked"), status)
        user = self.users[state.did]
        # The PDS rotates the refresh token but lets the old one work for a grace period,
        # and answers every reuse with the same successor.
        state.expires_at = min(state.expires_at, now + _REFRESH_GRACE)
        if state.next_jti is None:
            state.next_jti = _b64url(os.urandom(32))
        return self._stamp(self.json(self._session(user, state.scope, jti=state.next_jti)), status)

    @route("GET", r"/xrpc/com\.atproto\.server\.getSession")
    def _get_session(self, request: httpx.Request) -> httpx.Response:
        user = self._auth(request)
        assert user is not None
        status = self._limited(request)
        body = {
            "handle": user.handle,
            "did": user.did,
            "email": user.email,
            "emailConfirmed": True,
            "active": True,
        }
        return self._stamp(self.json(body), status)

    @route("GET", r"/xrpc/com\.atproto\.server\.describeServer")
    def _describe_server(self, request: httpx.Request) -> httpx.Response:
        status = self._limited(request)
        body = {
            "did": self.service_did,
            "availableUserDomains": [".test"],
            "inviteCodeRequired": False,
            "blobUploadLimit": self.blob_upload_limit,
            "links": {},
            "contact": {},
        }
        return self._stamp(self.json(body), status)

    @route("GET", r"/xrpc/com\.atproto\.identity\.resolveHandle")
    def _resolve_handle(self, request: httpx.Request) -> httpx.Response:
        nsid = "com.atproto.identity.resolveHandle"
        handles = [v for k, v in parse_qsl(request.url.query.decode()) if k == "handle"]
        if not handles:
            raise self._invalid(f'Invalid {nsid} params: Missing required key "handle"')
        handle = handles[0]
        if not _syntax.is_handle(handle):
            raise self._invalid(f'Invalid {nsid} params: Invalid handle (got "{handle}")')
        status = self._limited(request)
        for user in self.users.values():
            if user.handle == handle.lower():
                return self._stamp(self.json({"did": user.did}), status)
        return self._stamp(self._err(400, "HandleNotFound", "Unable to resolve handle"), status)

    # -- routes: repository ------------------------------------------------------------------

    @route("POST", r"/xrpc/com\.atproto\.repo\.uploadBlob")
    def _upload_blob(self, request: httpx.Request) -> httpx.Response:
        user = self._auth(request)
        assert user is not None
        declared = request.headers.get("content-type")
        if not declared:
            raise self._invalid("Request encoding (Content-Type) required but not provided")
        data = request.content
        if len(data) > self.blob_upload_limit:
            return self._err(413, "PayloadTooLarge", "request entity too large")
        status = None
        if self.limits is not None:
            ip = self._client_ip(request)
            status = self._limited(request, [("uploadBlob", self.limits.blob, ip, 1)])
        mime = _sniff(data, declared.split(";")[0].strip())
        blob = StoredBlob(cid=_cid(data, 0x55), mime_type=mime, size=len(data), data=data)
        # The same bytes again keep the first upload's stored type; the answer describes
        # this upload, as on the PDS.
        self.blobs.setdefault((user.did, blob.cid), blob)
        return self._stamp(self.json({"blob": blob.ref()}), status)

    def _write_charge(
        self, user: BlueskyUser, cost: int
    ) -> list[tuple[str, tuple[Window, ...], str, int]]:
        if self.limits is None:
            return []
        return [("repo-write", self.limits.write, user.did, cost)]

    def _repo_user(self, user: BlueskyUser, repo: str) -> None:
        if repo.lower() not in (user.did, user.handle):
            raise Refusal.answering(self._err(401, None, "Authentication Required"))

    def _repo_write(
        self,
        request: httpx.Request,
        nsid: str,
        cost: int,
        write: Callable[[BlueskyUser, Mapping[str, Any]], httpx.Response],
    ) -> httpx.Response:
        """A repository write, checked in the PDS's order: auth, then the body (``nsid``'s
        input), then the rate limits (``cost`` points); ``write`` makes it, and its answer
        (a `Refusal`'s too) carries the rate-limit headers.

        Raises:
            Refusal: the PDS's answer to a request refused before the write (no session, a
                body its lexicon refuses, a spent rate limit).
        """
        user = self._auth(request)
        assert user is not None
        body = self._body(request, nsid)
        status = self._limited(request, self._write_charge(user, cost))
        try:
            response = write(user, body)
        except Refusal as refusal:
            response = self.refused(refusal)
        return self._stamp(response, status)

    @route("POST", r"/xrpc/com\.atproto\.repo\.createRecord")
    def _create_record(self, request: httpx.Request) -> httpx.Response:
        cost = self.limits.create_cost if self.limits else 0
        return self._repo_write(request, "com.atproto.repo.createRecord", cost, self._create)

    def _typed(self, collection: str, record: Any, validate: Any) -> dict[str, Any]:
        """The record to write, typed as the PDS's ``setCollectionName`` types it: its
        ``$type`` is ``collection`` when it has none, and must be when ``validate`` is not
        false.

        Raises:
            Refusal: the PDS's 400 for a record that is no object, or of another type.
        """
        if not isinstance(record, Mapping):
            raise self._invalid("Expected object value type (got record) at $.record")
        typed = dict(record)
        typed.setdefault("$type", collection)
        if validate is not False and typed["$type"] != collection:
            raise self._invalid(f"Invalid $type: expected {collection}, got {typed['$type']}")
        return typed

    def _validated(
        self, collection: str, rkey: Any, record: Mapping[str, Any], validate: Any
    ) -> str | None:
        """The ``validationStatus`` of a record written with ``validate``, checked as the
        PDS prepares a create or an update: against its lexicon (and a ``tid`` key's
        syntax) unless ``validate`` is false; an unknown lexicon is ``"unknown"``, or
        refused when ``validate`` is true.

        Raises:
            Refusal: the PDS's 400 for a record or key its lexicon refuses.
        """
        if validate is False:
            return None
        if not self.lexicons.has(collection):
            if validate is True:
                raise self._invalid(f"Unknown lexicon type: {collection}")
            return "unknown"
        definition = self.lexicons.definition(collection)
        if rkey is not None and definition.get("key") == "tid" and not _syntax.is_tid(rkey):
            raise self._invalid(
                f'Invalid record key for {collection}: Invalid TID string (got "{rkey}") at $'
            )
        try:
            self.lexicons.validate_record(collection, record)
        except Issue as issue:
            raise self._invalid(f"Invalid {collection} record: {issue}") from None
        return "valid"

    def _create(self, user: BlueskyUser, body: Mapping[str, Any]) -> httpx.Response:
        self._repo_user(user, str(body["repo"]))
        collection = str(body["collection"])
        validate = body.get("validate")
        record = self._typed(collection, body["record"], validate)
        rkey = body.get("rkey")
        status = self._validated(collection, rkey, record, validate)
        rkey = str(rkey) if rkey else self._tid()
        uri = f"at://{user.did}/{collection}/{rkey}"
        if validate is not False:
            # As the PDS: a like or repost of a subject the repo already likes (reposts), a
            # follow or block of someone already followed (blocked), replaces the old record
            # in the same commit, so there are never two.
            link = _backlink(record)
            for old in [
                r
                for r in self.records.values()
                if link is not None
                and r.did == user.did
                and r.collection == collection
                and _backlink(r.value) == link
            ]:
                del self.records[old.uri]
        if uri in self.records:
            # The reference PDS surfaces the MST's "There is already a value at key" as a
            # bare 500, not as a 4xx: a client must look the record up before deciding.
            return self._err(500, "InternalServerError")
        used: list[StoredBlob] = []
        for ref in _blob_refs(record):
            link = str(ref["ref"].get("$link"))
            stored = self.blobs.get((user.did, link))
            if stored is None:
                raise self._invalid(f"Could not find blob: {link}", "BlobNotFound")
            used.append(stored)
            if stored.permanent:
                # The PDS checks type and size only while a blob is still temporary.
                continue
            if stored.mime_type != ref.get("mimeType"):
                raise self._invalid(
                    "Referenced Mimetype does not match stored blob. "
                    f"Expected: {stored.mime_type}, Got: {ref.get('mimeType')}",
                    "InvalidMimeType",
                )
            if stored.size != ref.get("size"):
                raise self._invalid(
                    "Referenced Size does not match stored blob. "
                    f"Expected: {stored.size}, Got: {ref.get('size')}",
                    "InvalidSize",
                )
        for stored in used:
            stored.permanent = True
        canonical = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        cid = _cid(canonical.encode(), 0x71)
        self.records[uri] = StoredRecord(
            uri=uri,
            cid=cid,
            did=user.did,
            collection=collection,
            rkey=rkey,
            value=record,
            created_at=self.clock.time(),
        )
        self._sort_ms[uri] = self._sort_at(record)
        self._index_reply(self.records[uri])
        answer: dict[str, Any] = {"uri": uri, "cid": cid, "commit": self._commit()}
        if status is not None:
            answer["validationStatus"] = status
        return self.json(answer)

    @route("GET", r"/xrpc/com\.atproto\.repo\.getRecord")
    def _get_record(self, request: httpx.Request) -> httpx.Response:
        params = self._params(request, "com.atproto.repo.getRecord")
        status = self._limited(request)
        repo = str(params["repo"]).lower()
        user = next((u for u in self.users.values() if repo in (u.did, u.handle)), None)
        if user is None:
            return self._stamp(self._err(400, None, "Could not locate record"), status)
        uri = f"at://{user.did}/{params['collection']}/{params['rkey']}"
        rec = self.records.get(uri)
        if rec is None or ("cid" in params and params["cid"] != rec.cid):
            return self._stamp(
                self._err(400, "RecordNotFound", f"Could not locate record: {uri}"), status
            )
        return self._stamp(self.json({"uri": uri, "cid": rec.cid, "value": rec.value}), status)

    @route("GET", r"/xrpc/com\.atproto\.repo\.listRecords")
    def _list_records(self, request: httpx.Request) -> httpx.Response:
        params = self._params(request, "com.atproto.repo.listRecords")
        status = self._limited(request)
        repo = str(params["repo"])
        user = next((u for u in self.users.values() if repo.lower() in (u.did, u.handle)), None)
        if user is None:
            return self._stamp(self._err(400, None, f"Could not find repo: {repo}"), status)
        reverse = bool(params.get("reverse", False))
        cursor = params.get("cursor")
        # As the PDS: by record key, newest (largest) first unless reversed; the cursor is
        # the last key returned, and comes whenever a record does.
        found = sorted(
            (
                r
                for r in self.records.values()
                if r.did == user.did and r.collection == params["collection"]
            ),
            key=lambda r: r.rkey,
            reverse=not reverse,
        )
        if cursor:
            found = [r for r in found if (r.rkey > cursor if reverse else r.rkey < cursor)]
        page = found[: int(params.get("limit", 50))]
        body: dict[str, Any] = {
            "records": [{"uri": r.uri, "cid": r.cid, "value": r.value} for r in page]
        }
        if page:
            body["cursor"] = page[-1].rkey
        return self._stamp(self.json(body), status)

    @route("POST", r"/xrpc/com\.atproto\.repo\.deleteRecord")
    def _delete_record(self, request: httpx.Request) -> httpx.Response:
        cost = self.limits.delete_cost if self.limits else 0
        return self._repo_write(request, "com.atproto.repo.deleteRecord", cost, self._delete)

    def _delete(self, user: BlueskyUser, body: Mapping[str, Any]) -> httpx.Response:
        self._repo_user(user, str(body["repo"]))
        uri = f"at://{user.did}/{body['collection']}/{body['rkey']}"
        gone = self.records.pop(uri, None)
        if gone is None:
            # Deleting what is not there succeeds with an empty body.
            return self.json({})
        # Blobs no other record uses are deleted with the record, as on the PDS.
        still = {
            str(ref["ref"].get("$link"))
            for rec in self.records.values()
            if rec.did == user.did
            for ref in _blob_refs(rec.value)
        }
        for ref in _blob_refs(gone.value):
            link = str(ref["ref"].get("$link"))
            if link not in still:
                self.blobs.pop((user.did, link), None)
        return self.json({"commit": self._commit()})

    # -- routes: AppView reads (a bare PDS proxies them; the emulator answers itself) ----------

    def _view_read(
        self, request: httpx.Request, nsid: str
    ) -> tuple[dict[str, Any], _Status | None, str | None]:
        """What every AppView read starts with: its checked parameters, then the optional
        auth and the rate-limit check (the status to stamp on the answer); and the viewer's
        DID (``None`` without a session)."""
        params = self._params(request, nsid)
        viewer = self._auth(request, optional=True)
        return params, self._limited(request), None if viewer is None else viewer.did

    @route("GET", r"/xrpc/app\.bsky\.feed\.getPosts")
    def _get_posts(self, request: httpx.Request) -> httpx.Response:
        params, status, viewer = self._view_read(request, "app.bsky.feed.getPosts")
        posts = []
        for uri in params["uris"]:
            rec = self._post_at(str(uri))
            if rec is not None:
                posts.append(self._post_view(rec, viewer))
        return self._stamp(self.json({"posts": posts}), status)

    @route("GET", r"/xrpc/app\.bsky\.actor\.getProfile")
    def _get_profile(self, request: httpx.Request) -> httpx.Response:
        params, status, viewer = self._view_read(request, "app.bsky.actor.getProfile")
        try:
            user = self.user(str(params["actor"]))
        except KeyError:
            return self._stamp(self._err(400, None, "Profile not found"), status)
        posts = sum(1 for r in self.records.values() if r.did == user.did and r.collection == POST)
        body = {
            "did": user.did,
            "handle": user.handle,
            "displayName": user.display_name,
            "followersCount": self._followers(user),
            "followsCount": 0,
            "postsCount": posts,
            "associated": {"lists": 0, "feedgens": 0, "starterPacks": 0, "labeler": False},
            "indexedAt": _iso(user.created_at),
            "createdAt": _iso(user.created_at),
            "viewer": {"muted": False, "blockedBy": False},
            "labels": [],
        }
        if viewer is None:
            del body["viewer"]
        return self._stamp(self.json(body), status)

    @route("GET", r"/xrpc/app\.bsky\.feed\.getPostThread")
    def _get_post_thread(self, request: httpx.Request) -> httpx.Response:
        query = parse_qsl(request.url.query.decode(), keep_blank_values=True)
        try:
            params = _THREAD_PARAMS.parse_params(_THREAD, query)
        except Issue as issue:
            raise self._invalid(f"Invalid {_THREAD} params: {issue.message}") from None
        me = self._auth(request, optional=True)
        viewer = None if me is None else me.did
        status = self._limited(request)
        uri = str(params["uri"])
        rec = self._post_at(uri)
        if rec is None:
            # The AppView's answer for a post it does not have (deleted or never made).
            return self._stamp(self._err(400, "NotFound", f"Post not found: {uri}"), status)
        # views.thread: a post against its threadgate comes without parent or replies.
        against_gate = rec.uri in self._gate_violations
        depth = 0 if against_gate else int(params.get("depth", 6))
        if self.max_thread_depth is not None:
            depth = min(depth, self.max_thread_depth)
        thread = self._thread_view(rec, depth=depth, viewer=viewer)
        height = 0 if against_gate else int(params.get("parentHeight", 80))
        node = thread
        current = rec
        while height > 0:
            parent_uri = ((current.value.get("reply") or {}).get("parent") or {}).get("uri")
            if not parent_uri:
                break
            parent = self._post_at(str(parent_uri))
            if parent is None:
                node["parent"] = {
                    "$type": "app.bsky.feed.defs#notFoundPost",
                    "uri": str(parent_uri),
                    "notFound": True,
                }
                break
            # Parents come without their other replies, as the AppView sends them.
            node["parent"] = self._thread_view(parent, depth=0, viewer=viewer)
            node, current = node["parent"], parent
            height -= 1
        body: dict[str, Any] = {"thread": thread}
        gate = self._gate_of(rec)
        if gate is not None:
            # As the AppView (v1): hidden replies stay in the thread; the root's threadgate
            # comes beside it, and clients fold away what its hiddenReplies name.
            body["threadgate"] = self._threadgate_view(gate)
        return self._stamp(self.json_text(_thread_json(body)), status)

    @route("GET", r"/xrpc/app\.bsky\.feed\.getAuthorFeed")
    def _get_author_feed(self, request: httpx.Request) -> httpx.Response:
        params, status, viewer = self._view_read(request, "app.bsky.feed.getAuthorFeed")
        try:
            user = self.user(str(params["actor"]))
        except KeyError:
            return self._stamp(self._err(400, None, "Profile not found"), status)
        kind = str(params.get("filter", "posts_with_replies"))
        limit = int(params.get("limit", 50))
        # Newest first, paged by an opaque "time::rkey" key of the emulator's own.
        own = sorted(
            (r for r in self.records.values() if r.did == user.did and r.collection == POST),
            key=lambda r: (r.created_at, r.rkey),
            reverse=True,
        )
        cursor = params.get("cursor")
        if cursor:
            own = [r for r in own if self._feed_key(r) < str(cursor)]
        feed: list[dict[str, Any]] = []
        for rec in own:
            if not self._in_author_feed(rec, kind, user.did):
                continue
            if len(feed) == limit:
                break
            item: dict[str, Any] = {"post": self._post_view(rec, viewer)}
            reply = rec.value.get("reply")
            if isinstance(reply, Mapping):
                item["reply"] = {
                    "root": self._ref_view((reply.get("root") or {}).get("uri"), viewer),
                    "parent": self._ref_view((reply.get("parent") or {}).get("uri"), viewer),
                }
            feed.append(item)
        body: dict[str, Any] = {"feed": feed}
        if len(feed) == limit:
            last = self._post_at(feed[-1]["post"]["uri"])
            if last is not None:
                body["cursor"] = self._feed_key(last)
        return self._stamp(self.json(body), status)

    @staticmethod
    def _feed_key(rec: StoredRecord) -> str:
        return f"{int(rec.created_at * 1000):015d}::{rec.rkey}"

    def _in_author_feed(self, rec: StoredRecord, kind: str, did: str) -> bool:
        reply = rec.value.get("reply")
        embed = rec.value.get("embed")
        embed_type = embed.get("$type") if isinstance(embed, Mapping) else None
        if kind == "posts_no_replies":
            return not reply
        if kind == "posts_with_media":
            return not reply and embed_type in ("app.bsky.embed.images", "app.bsky.embed.video")
        if kind == "posts_with_video":
            return not reply and embed_type == "app.bsky.embed.video"
        if kind == "posts_and_author_threads":
            root = str(((reply or {}).get("root") or {}).get("uri", ""))
            return not reply or root.startswith(f"at://{did}/")
        return True

    def _ref_view(self, uri: Any, viewer: str | None) -> dict[str, Any]:
        rec = self._post_at(str(uri)) if uri else None
        if rec is None:
            return {"$type": "app.bsky.feed.defs#notFoundPost", "uri": str(uri), "notFound": True}
        return {"$type": "app.bsky.feed.defs#postView", **self._post_view(rec, viewer)}

    def _post_at(self, uri: str) -> StoredRecord | None:
        rec = self.records.get(uri)
        if rec is None and uri.startswith("at://") and not uri.startswith("at://did:"):
            handle, _, rest = uri[5:].partition("/")
            user = next((u for u in self.users.values() if u.handle == handle.lower()), None)
            rec = self.records.get(f"at://{user.did}/{rest}") if user else None
        return rec if rec is not None and rec.collection == POST else None

    def _thread_view(self, rec: StoredRecord, *, depth: int, viewer: str | None) -> dict[str, Any]:
        """The ``threadViewPost`` of ``rec`` with its replies ``depth`` levels deep. Built with
        a stack, not recursion: the lexicon lets a thread be 1000 levels deep. The views are
        made in the order a depth-first walk meets them."""
        view: dict[str, Any] = {"$type": "app.bsky.feed.defs#threadViewPost"}
        if depth <= 0:
            view["post"] = self._post_view(rec, viewer)
            return view
        # Each post's replies, oldest first (the AppView's ranking of replies is not
        # emulated); views.threadReplies leaves out replies against the threadgate, as the
        # index of what post views count does.
        children = self._engagement().replies
        todo: list[tuple[StoredRecord, dict[str, Any], int]] = [(rec, view, depth)]
        while todo:
            node_rec, node, left = todo.pop()
            node["post"] = self._post_view(node_rec, viewer)
            if left <= 0:
                continue
            below = sorted(children.get(node_rec.uri, ()), key=lambda r: (r.created_at, r.rkey))
            replies = node["replies"] = [
                {"$type": "app.bsky.feed.defs#threadViewPost"} for _ in below
            ]
            todo.extend(zip(reversed(below), reversed(replies), itertools.repeat(left - 1)))
        return view

    # -- routes: search (app.bsky.feed.searchPosts) --------------------------------------------

    @route("GET", r"/xrpc/app\.bsky\.feed\.searchPosts")
    def _search_posts(self, request: httpx.Request) -> httpx.Response:
        # As the AppView in front of its search backend: parameters checked against the
        # lexicon (limit 1..100), a session required (the AppView's "may require
        # authentication"), the rate limit of every AppView read; then the query as the
        # backend (palomar) reads it, the posts newest first (sort=latest, the default) or by
        # likes (top), and an offset cursor that stops at the backend's 10,000-hit window.
        query = parse_qsl(request.url.query.decode(), keep_blank_values=True)
        try:
            params = _SEARCH_PARAMS.parse_params(_SEARCH, query)
        except Issue as issue:
            raise self._invalid(f"Invalid {_SEARCH} params: {issue.message}") from None
        searcher = self._auth(request)
        status = self._limited(request)
        try:
            match = self._search_filter(params)
        except ValueError as exc:
            return self._stamp(self._err(400, "BadQueryString", str(exc)), status)
        cursor = params.get("cursor")
        offset = 0
        if cursor is not None:
            if not str(cursor).isdigit():
                return self._stamp(self._err(400, None, "Malformed cursor"), status)
            offset = int(str(cursor))
        limit = int(params.get("limit", 25))
        hits = [r for r in self.records.values() if r.collection == POST and match(r)]
        if params.get("sort") == "top":
            hits.sort(key=lambda r: (self._counts(r)["likeCount"], self._sort_ms.get(r.uri, 0)))
        else:
            hits.sort(key=lambda r: self._sort_ms.get(r.uri, 0))
        hits.reverse()
        window = hits[:_SEARCH_WINDOW]
        page = window[offset : offset + limit]
        body: dict[str, Any] = {}
        if offset + limit < len(window) and page:
            body["cursor"] = str(offset + len(page))
        body["hitsTotal"] = len(hits)
        viewer = None if searcher is None else searcher.did
        body["posts"] = [self._post_view(r, viewer) for r in page]
        return self._stamp(self.json(body), status)

    def _search_filter(self, params: Mapping[str, Any]) -> Any:
        """The predicate a searchPosts query means (see `_search_posts`).

        Raises:
            ValueError: a query the backend cannot read (no term, a bad time).
        """
        words: list[list[str]] = []
        negated: list[list[str]] = []
        tags = {str(t).lower() for t in params.get("tag", ())}
        mentions = set()
        authors = set()
        for token in _SEARCH_TOKEN.findall(str(params["q"])):
            negate = token.startswith("-") and len(token) > 1
            token = token[1:] if negate else token
            if token.startswith('"'):
                parts = _search_words(token.strip('"'))
            elif token.startswith(("#", "＃")) and len(token) > 1 and not negate:
                tags.add(token[1:].lower())
                continue
            elif token.startswith("@") and len(token) > 1 and not negate:
                mentions.add(self._did_of(token[1:]))
                continue
            elif token.lower().startswith("from:") and not negate:
                authors.add(self._did_of(token[5:].lstrip("@")))
                continue
            else:
                parts = _search_words(token)
            if parts:
                (negated if negate else words).append(parts)
        if not (words or tags or mentions or authors):
            raise ValueError("the query has nothing to search for")
        if "mentions" in params:
            mentions.add(self._did_of(str(params["mentions"])))
        if "author" in params:
            authors.add(self._did_of(str(params["author"])))
        lang = params.get("lang")
        since = _search_time(params.get("since"), "since")
        until = _search_time(params.get("until"), "until")

        def match(rec: StoredRecord) -> bool:
            value = rec.value
            text = f" {' '.join(_search_words(rec.text))} "
            if any(f" {' '.join(w)} " not in text for w in words):
                return False
            if any(f" {' '.join(w)} " in text for w in negated):
                return False
            if authors and rec.did not in authors:
                return False
            if tags and not tags <= _record_tags(value):
                return False
            if mentions and not mentions <= _record_mentions(value):
                return False
            if lang is not None:
                langs = value.get("langs") or []
                want = str(lang).lower()
                if not any(
                    str(h).lower() == want or str(h).lower().startswith(want + "-") for h in langs
                ):
                    return False
            # sortAt: the earlier of createdAt and indexedAt, at the milliseconds the view
            # shows.
            at = _epoch_ms(_iso(rec.created_at)) or 0
            created = _epoch_ms(str(value.get("createdAt", "")))
            if created is not None:
                at = min(at, created)
            if since is not None and at < since:
                return False
            return until is None or at < until

        return match

    def _did_of(self, handle_or_did: str) -> str:
        """The DID a handle names (the handle itself when no account has it: it matches
        nothing)."""
        try:
            return self.user(handle_or_did).did
        except KeyError:
            return handle_or_did

    # -- routes: conversations (notifications, threadgates) ----------------------------------

    @route("GET", r"/xrpc/app\.bsky\.notification\.listNotifications")
    def _list_notifications(self, request: httpx.Request) -> httpx.Response:
        # As the AppView (bluesky-social/atproto @ d6296a1c, packages/bsky/src/api/app/bsky/
        # notification/listNotifications.ts): auth is required; newest first; fillPage
        # (api/util.ts) fetches at most 10 times until it holds ``limit``, each fetch one
        # unfiltered dataplane page of what is still missing (paginateNotifications), less
        # the other reasons and the replies hidden by the viewer's own threadgate (the rules
        # step). The cursor is the dataplane's: the ISO time of the last notification that
        # fetch read, filtered or not (the next page is everything strictly older), sent only
        # when there is more; so a page can be short, or empty, and still have a cursor.
        params = self._params(request, _NOTIFICATIONS)
        viewer = self._auth(request)
        assert viewer is not None
        status = self._limited(request)
        if "seenAt" in params:
            return self._stamp(self._err(400, None, "The seenAt parameter is unsupported"), status)
        cursor = params.get("cursor")
        before: int | None = None
        if cursor is not None:
            parsed = _epoch_ms(str(cursor))
            if parsed is None:
                return self._stamp(self._err(400, None, "Malformed cursor"), status)
            before = parsed
        reasons = params.get("reasons")
        limit = int(params.get("limit", 50))
        listed = self._notifications(viewer.did)
        # Nothing changes while a read is answered: each thread's hidden replies and each
        # author's view are made once per read, not once per notification.
        hidden_in: dict[str, set[str]] = {}
        own = f"at://{viewer.did}/"

        def hidden(rec: StoredRecord) -> bool:
            """Whether the viewer, the author of ``rec``'s root, hid it (the root's
            threadgate's ``hiddenReplies``)."""
            root = _root_uri(rec)
            if not (root and root.startswith(own)):
                return False
            if root not in hidden_in:
                hidden_in[root] = self._hidden_replies(rec)
            return rec.uri in hidden_in[root]

        def fetch(before: int | None, size: int) -> tuple[list[_Note], list[_Note], int | None]:
            """One fetch: the notifications of the reasons asked, those the rules keep, and
            the dataplane's cursor."""
            start = 0 if before is None else bisect.bisect_right(listed, -before, key=_newest)
            read = listed[start : start + size]
            more = read[-1][0] if len(listed) > start + size and read else None
            asked = [n for n in read if reasons is None or n[1] in reasons]
            kept = [n for n in asked if not (n[1] == "reply" and hidden(n[3]))]
            return asked, kept, more

        asked, page, after = fetch(before, limit)
        # The seen time updateSeen kept, with every page. Without one, as the AppView does
        # then, a read without a cursor takes the newest notification of its first fetch
        # (reasons filtered, rules not yet applied) as the seen time, so that one is unread
        # and the others read; a notification of any other fetch is read.
        kept_seen = self._seen_notifs.get(viewer.did)
        seen = kept_seen
        if seen is None:
            seen = asked[0][0] if asked and cursor is None else None
        fetched = len(page)
        for _ in range(_FILL_PAGE_FETCHES - 1):
            if after is None or len(page) >= limit:
                break
            previous = after
            _, more, after = fetch(after, limit - len(page))
            page += more
            if after == previous:
                after = None
        notifications = []
        authors: dict[str, dict[str, Any]] = {}
        for i, (sort_ms, reason, subject, rec) in enumerate(page):
            if rec.did not in authors:
                author = self.users[rec.did]
                authors[rec.did] = {**self._author(author), "indexedAt": _iso(author.created_at)}
            view: dict[str, Any] = {
                "uri": rec.uri,
                "cid": rec.cid,
                "author": authors[rec.did],
                "reason": reason,
            }
            if subject is not None:
                view["reasonSubject"] = subject
            view.update(
                record=rec.value,
                isRead=(
                    kept_seen > sort_ms
                    if kept_seen is not None
                    else seen is None or i >= fetched or seen > sort_ms
                ),
                indexedAt=_iso_ms(sort_ms),
                labels=[],
            )
            notifications.append(view)
        body: dict[str, Any] = {"notifications": notifications}
        if after is not None:
            body["cursor"] = _iso_ms(after)
        body["priority"] = False
        if seen is not None:
            body["seenAt"] = _iso_ms(seen)
        return self._stamp(self.json(body), status)

    @route("POST", r"/xrpc/app\.bsky\.notification\.updateSeen")
    def _update_seen(self, request: httpx.Request) -> httpx.Response:
        # As the AppView (updateSeen.ts, the dataplane's updateNotificationSeen): the time is
        # kept as given (JavaScript's Date: to the millisecond), even one earlier than the
        # last; the procedure has no output.
        viewer = self._auth(request)
        assert viewer is not None
        status = self._limited(request)
        body = self._body(request, "app.bsky.notification.updateSeen")
        seen = _epoch_ms(str(body["seenAt"]))
        if seen is None:
            raise self._invalid("Invalid app.bsky.notification.updateSeen input: seenAt")
        self._seen_notifs[viewer.did] = seen
        return self._stamp(httpx.Response(200), status)

    @route("GET", r"/xrpc/app\.bsky\.notification\.getUnreadCount")
    def _get_unread_count(self, request: httpx.Request) -> httpx.Response:
        # As the AppView (getUnreadCount.ts, the dataplane's getUnreadNotificationCount): the
        # account's notifications sorted after its seen time, all of them without one; no
        # rules step (a reply its threadgate hides still counts).
        params = self._params(request, "app.bsky.notification.getUnreadCount")
        viewer = self._auth(request)
        assert viewer is not None
        status = self._limited(request)
        if "seenAt" in params:
            return self._stamp(self._err(400, None, "The seenAt parameter is unsupported"), status)
        seen = self._seen_notifs.get(viewer.did)
        count = sum(
            1
            for note in self._notification_index().get(viewer.did, ())
            if seen is None or note[0] > seen
        )
        return self._stamp(self.json({"count": count}), status)

    def _notifications(self, did: str) -> list[_Note]:
        """The notifications of ``did`` (mention, quote, reply, like, repost), newest first,
        as the dataplane lists them (data-plane/server/routes/notifs.ts getNotifications):
        those the indexer made (see `_notification_index`), less those whose subject was
        deleted. Hidden replies are the AppView's rules step, after a page is read.

        Made once per state of the records (callers do not change it)."""
        state = self._records_state()
        if self._shown_cache[0] != state:
            self._shown_cache = (state, {})
        shown = self._shown_cache[1]
        if did not in shown:
            shown[did] = self._shown_notifications(did)
        return shown[did]

    def _shown_notifications(self, did: str) -> list[_Note]:
        # getNotifications: ``reasonSubject is null`` or the subject record still exists.
        return [
            item
            for item in self._notification_index().get(did, ())
            if item[2] is None or item[2] in self.records
        ]

    def _notification_index(self) -> dict[str, list[tuple[int, str, str | None, StoredRecord]]]:
        """Every account's notifications, newest first, built once per state of the records
        (one pass over them, not one per read)."""
        key = self._records_state()
        cached = self._note_cache
        if cached is not None and cached[0] == key:
            return cached[1]
        index: dict[str, list[tuple[int, str, str | None, StoredRecord]]] = {}
        for rec in self.records.values():
            sort_ms = self._sort_ms.get(rec.uri, 0)
            if rec.collection in (_LIKE, _REPOST):
                # like.ts / repost.ts notifsForInsert: the subject's author, unless it is the
                # liker (reposter); reasonSubject is the subject.
                subject = _backlink(rec.value)
                match = _AT_URI.fullmatch(subject or "")
                if match is not None and match["repo"] != rec.did:
                    reason = "like" if rec.collection == _LIKE else "repost"
                    index.setdefault(match["repo"], []).append((sort_ms, reason, subject, rec))
                continue
            if rec.collection != POST:
                continue
            for did, reason, subject in self._notifications_of(rec):
                index.setdefault(did, []).append((sort_ms, reason, subject, rec))
        for items in index.values():
            items.sort(key=lambda n: (n[0], n[3].uri), reverse=True)
        self._note_cache = (key, index)
        return index

    def _notifications_of(self, rec: StoredRecord) -> list[tuple[str, str, str | None]]:
        """Whom the post ``rec`` notifies, as the AppView's indexer does: one notification
        per account (never its author), a mention before a quote before a reply; a reply
        notifies the authors of up to four posts above it, not past one its thread hides."""
        notified = {rec.did}
        out: list[tuple[str, str, str | None]] = []

        def notify(did: str, reason: str, subject: str | None) -> None:
            if did not in notified:
                notified.add(did)
                out.append((did, reason, subject))

        for facet in rec.value.get("facets") or ():
            for feature in facet.get("features") or ():
                if feature.get("$type") == _MENTION and isinstance(feature.get("did"), str):
                    notify(feature["did"], "mention", None)
        embed = rec.value.get("embed")
        if isinstance(embed, Mapping):
            quoted = embed.get("record")
            if embed.get("$type") == "app.bsky.embed.recordWithMedia" and isinstance(
                quoted, Mapping
            ):
                quoted = quoted.get("record")
            match = (
                _AT_URI.fullmatch(str(quoted.get("uri"))) if isinstance(quoted, Mapping) else None
            )
            if match is not None and match["collection"] == POST:
                notify(match["repo"], "quote", match.group(0))
        if rec.uri in self._gate_violations:
            return out  # "don't generate reply notifications when post violates threadgate"
        hidden: set[str] | None = None
        current = rec
        for _ in range(_REPLY_NOTIF_DEPTH - 1):
            parent_uri = _parent_uri(current)
            match = _AT_URI.fullmatch(parent_uri or "")
            if parent_uri is None or match is None:
                break
            notify(match["repo"], "reply", parent_uri)
            if hidden is None:
                hidden = self._hidden_replies(rec)
            if parent_uri in hidden:
                break  # a hidden reply: no one above it is notified
            parent = self.records.get(parent_uri)
            if parent is None:
                break
            current = parent
        return out

    def _index_reply(self, rec: StoredRecord) -> None:
        """As the AppView's indexer does for a new reply (plugins/post.ts validateReply, with
        util.ts violatesThreadGate and views/util.ts parseThreadGate): whether it breaks its
        thread's threadgate as it stands now (later gate changes do not re-judge it). The
        root's author may always reply; no gate, or no ``allow``, lets anyone; a mention rule
        lets those the root mentions, a follower (following) rule those who follow (are
        followed by) the root's author; list rules let no one here (no lists are kept)."""
        root_uri = _root_uri(rec) if rec.collection == POST else None
        match = _AT_URI.fullmatch(root_uri or "")
        if match is None or match["repo"] == rec.did:
            return
        gate = self._gate_of(rec)
        allow = gate.value.get("allow") if gate is not None else None
        if not isinstance(allow, list):
            return
        owner = match["repo"]
        kinds = {str(rule.get("$type")) for rule in allow if isinstance(rule, Mapping)}
        root = self.records.get(str(root_uri))
        if _THREADGATE + "#mentionRule" in kinds and root is not None:
            for facet in root.value.get("facets") or ():
                for feature in facet.get("features") or ():
                    if feature.get("$type") == _MENTION and feature.get("did") == rec.did:
                        return
        follows = {
            (r.did, _backlink(r.value))
            for r in self.records.values()
            if r.collection == "app.bsky.graph.follow"
        }
        if _THREADGATE + "#followerRule" in kinds and (rec.did, owner) in follows:
            return
        if _THREADGATE + "#followingRule" in kinds and (owner, rec.did) in follows:
            return
        self._gate_violations.add(rec.uri)

    def _gate_of(self, rec: StoredRecord) -> StoredRecord | None:
        """The threadgate of the thread ``rec`` is in (its root's), if there is one."""
        root = _root_uri(rec) or rec.uri
        match = _AT_URI.fullmatch(root)
        if match is None:
            return None
        return self.records.get(f"at://{match['repo']}/{_THREADGATE}/{match['rkey']}")

    def _hidden_replies(self, rec: StoredRecord) -> set[str]:
        gate = self._gate_of(rec)
        hidden = gate.value.get("hiddenReplies") if gate is not None else None
        return {str(u) for u in hidden} if isinstance(hidden, list) else set()

    @route("POST", r"/xrpc/com\.atproto\.repo\.putRecord")
    def _put_record(self, request: httpx.Request) -> httpx.Response:
        # The PDS charges an update 2 points whether it creates or replaces.
        return self._repo_write(request, "com.atproto.repo.putRecord", 2, self._put)

    def _put(self, user: BlueskyUser, body: Mapping[str, Any]) -> httpx.Response:
        self._repo_user(user, str(body["repo"]))
        collection, rkey = str(body["collection"]), str(body["rkey"])
        validate = body.get("validate")
        record = self._typed(collection, body["record"], validate)
        status = self._validated(collection, rkey, record, validate)
        uri = f"at://{user.did}/{collection}/{rkey}"
        current = self.records.get(uri)
        canonical = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        cid = _cid(canonical.encode(), 0x71)
        answer: dict[str, Any] = {"uri": uri, "cid": cid}
        if current is not None and current.cid == cid:
            # Identical content: a no-op, answered without a commit (before any swap check).
            if status is not None:
                answer["validationStatus"] = status
            return self.json(answer)
        if "swapRecord" in body:
            swap = body["swapRecord"]
            ok = (current is None and swap is None) or (
                current is not None and swap is not None and swap == current.cid
            )
            if not ok:
                was = current.cid if current is not None else "null"
                raise self._invalid(f"Record was at {was}", "InvalidSwap")
        self.records[uri] = StoredRecord(
            uri=uri,
            cid=cid,
            did=user.did,
            collection=collection,
            rkey=rkey,
            value=record,
            created_at=current.created_at if current is not None else self.clock.time(),
        )
        if uri not in self._sort_ms:
            self._sort_ms[uri] = self._sort_at(record)
            self._index_reply(self.records[uri])
        # A record put over another: what that one counted is counted again at the next
        # read (`records` counted the entry replaced).
        answer["commit"] = self._commit()
        if status is not None:
            answer["validationStatus"] = status
        return self.json(answer)

    # -- everything else ------------------------------------------------------------------------

    @route("GET", r"(?!/xrpc/).*")
    def _not_xrpc_get(self, request: httpx.Request) -> httpx.Response:
        return self._not_xrpc(request)

    @route("POST", r"(?!/xrpc/).*")
    def _not_xrpc_post(self, request: httpx.Request) -> httpx.Response:
        return self._not_xrpc(request)

    def _not_xrpc(self, request: httpx.Request) -> httpx.Response:
        page = _EXPRESS_404.format(method=request.method, path=request.url.path)
        return self.html(page, 404)

    @route("GET", r"/xrpc/(?P<nsid>[^/?]+)")
    def _other_get(self, request: httpx.Request, nsid: str) -> httpx.Response:
        return self._other(request, nsid)

    @route("POST", r"/xrpc/(?P<nsid>[^/?]+)")
    def _other_post(self, request: httpx.Request, nsid: str) -> httpx.Response:
        return self._other(request, nsid)

    def _other(self, request: httpx.Request, nsid: str) -> httpx.Response:
        if nsid == "_health":
            return self.json({"version": "0.5.35"})
        if self.lexicons.has(nsid):
            kind = self.lexicons.definition(nsid).get("type")
            expected = {"procedure": "POST", "query": "GET"}.get(str(kind))
            if expected and expected != request.method:
                return self._err(
                    400, None, f"Incorrect HTTP method ({request.method}) expected {expected}"
                )
        status = self._limited(request)
        return self._stamp(self._err(400, None, f"No service configured for {nsid}"), status)
