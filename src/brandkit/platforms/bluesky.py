"""Bluesky (AT Protocol): posts, threads, images, video, link cards, metrics, conversations.

The adapter talks to the account's PDS over XRPC (``/xrpc/<nsid>``). Facts it relies on, with
sources, are in ``platforms.md`` §3; the answers of the reference PDS (``@atproto/pds``
0.5.35) were checked by running it:

* One session per account: ``createSession`` once (30 per 5 minutes and 300 per day per
  account), then the access JWT until the server answers ``ExpiredToken`` (400 at the PDS,
  401 at the AppView); ``refreshSession`` renews it and the request is repeated once. New
  tokens go to ``account.update_secrets`` and so to the ``on_credentials_changed`` hook.
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
import functools
import hashlib
import json
import re
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

import attrs
import httpx
import pydantic

from brandkit._flow import Flow, Send
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
from brandkit.metrics._sample import Metric, MetricSample
from brandkit.platforms._base import (
    Adapter,
    Answer,
    Capabilities,
    PartRef,
    RatePolicy,
    ThreadContext,
    read_each,
)
from brandkit.platforms._capabilities import BUILTIN_CAPABILITIES
from brandkit.platforms._oauth import parse_credentials

if TYPE_CHECKING:
    from brandkit.accounts import Account
    from brandkit.content._media import Media
    from brandkit.content._render import Rendered, RenderedPart

__all__ = ["BlueskyAdapter"]

POST = "app.bsky.feed.post"
LIKE = "app.bsky.feed.like"
THREADGATE = "app.bsky.feed.threadgate"
MENTION = "app.bsky.richtext.facet#mention"
MAX_THUMB_BYTES = 1_000_000
NO_VIEWS = "Bluesky publishes no view data"

_TID = re.compile(r"[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}")
_HANDLE = re.compile(
    r"([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
)
_AT_URI = re.compile(r"at://(?P<repo>[^/]+)/(?P<collection>[^/]+)/(?P<rkey>[^/?#]+)")
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
_LIST_NOTIFICATIONS = "app.bsky.notification.listNotifications"
# A threadgate hides at most this many replies (the lexicon's maxLength of hiddenReplies).
_MAX_HIDDEN = 300
# Read-modify-write of a threadgate: how often a concurrent change is tolerated.
_GATE_ATTEMPTS = 3
_THREAD_DEPTH = 1000
_B32 = "234567abcdefghijklmnopqrstuvwxyz"


# -- answers ---------------------------------------------------------------------------------
# XRPC answers as the lexicons define them (strings, integers, objects); nothing is coerced.

_Text = Annotated[str, pydantic.StringConstraints(min_length=1)]
_Did = Annotated[str, pydantic.StringConstraints(pattern=r"^did:[a-z]+:\S+$")]
_AtUri = Annotated[str, pydantic.StringConstraints(pattern=f"^{_AT_URI.pattern}$")]
_Int = Annotated[int, pydantic.Strict()]


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


class _Uploaded(Answer):
    """``uploadBlob``: the blob object, put into the record as it came."""

    blob: dict[str, pydantic.JsonValue]


class _Posts(Answer):
    """``getPosts``: post views, each read on its own (see `_PostView`)."""

    posts: tuple[dict[str, pydantic.JsonValue], ...] = ()


class _Created(Answer):
    createdAt: str | None = None


class _PostView(Answer):
    """A post view as the metrics read it; one that cannot be read costs only its own
    samples."""

    uri: str
    likeCount: _Int | None = None
    repostCount: _Int | None = None
    replyCount: _Int | None = None
    quoteCount: _Int | None = None
    bookmarkCount: _Int | None = None
    record: _Created | None = None


class _PostViews(Answer):
    posts: tuple[_PostView, ...] = ()


class _Profile(Answer):
    """``getProfile``."""

    followersCount: _Int | None = None


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
    indexedAt: pydantic.AwareDatetime


class _Notifications(Answer):
    notifications: tuple[_Notification, ...]
    cursor: str | None = None


class _ThreadPost(Answer):
    """A post view in a thread."""

    uri: _AtUri
    cid: _Text
    author: _Actor
    record: _PostRecord
    indexedAt: pydantic.AwareDatetime | None = None


class _ThreadNode(Answer):
    """``#threadViewPost``; ``#notFoundPost`` and ``#blockedPost`` have no ``post``."""

    post: _ThreadPost | None = None
    replies: tuple[_ThreadNode, ...] = ()


class _GateRecord(Answer):
    hiddenReplies: tuple[str, ...] = ()


class _GateView(Answer):
    """``app.bsky.feed.defs#threadgateView``."""

    record: _GateRecord | None = None


class _Thread(Answer):
    """``getPostThread``."""

    thread: _ThreadNode
    threadgate: _GateView | None = None


class _StoredGate(Answer):
    """``getRecord`` of a threadgate: its cid (for the swap) and value (kept as it is)."""

    uri: _AtUri
    cid: _Text
    value: dict[str, pydantic.JsonValue]


class _Cursor(pydantic.BaseModel):
    """The inbox cursor brandkit writes: the newest notification read (``seen``, and the
    URIs read at that time), and while a read that stopped at its limit is not finished, the
    platform's cursor to go on from (``resume``) and the newest of that read (``top``)."""

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)

    v: Literal[1]
    seen: pydantic.AwareDatetime | None = None
    uris: tuple[str, ...] = ()
    resume: str | None = None
    top: pydantic.AwareDatetime | None = None
    top_uris: tuple[str, ...] = ()


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
    except ValueError:
        return {}
    return claims if isinstance(claims, dict) else {}


def _xrpc_error(response: httpx.Response) -> tuple[str | None, str]:
    """The XRPC error name and message of a response (``{"error": ..., "message": ...}``)."""
    try:
        body = response.json()
    except ValueError:
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


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


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


def _like_key(uri: str, when: datetime) -> str:
    """The record key of the account's like of ``uri``: a TID made from the liked post's
    time and a clock id from its URI, the same every time, so a repeated like lands on the
    same key (and cannot make a second like)."""
    us = int(when.timestamp() * 1_000_000)
    clock = int.from_bytes(hashlib.sha256(uri.encode()).digest()[:2], "big") & 0x3FF
    value = ((us & ((1 << 53) - 1)) << 10) | clock
    return "".join(_B32[(value >> (5 * i)) & 31] for i in reversed(range(13)))


class BlueskyAdapter(Adapter):
    """Bluesky through the account's PDS (``Account.bluesky``).

    Logs in once with the app password (or reuses a saved session), renews the session when
    the server says it expired, and hands every new session to the account's
    ``on_credentials_changed`` hook. Posts are created at a record key chosen by brandkit, so
    a create whose outcome is unknown is looked up, never blindly repeated.
    """

    name: ClassVar[str] = "bluesky"
    capabilities: ClassVar[Capabilities] = attrs.evolve(
        BUILTIN_CAPABILITIES["bluesky"],
        inbox=frozenset({"reply", "mention", "quote"}),
        hide_messages=True,
        like_messages=True,
    )
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

    def __init__(self, account: Account) -> None:
        super().__init__(account)
        self._dids: dict[str, str | None] = {}
        self._caps: Capabilities | None = None

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
            retry_after = _seconds(response.headers.get("retry-after"))
            if retry_after is None and reset_at is not None:
                retry_after = max(0.0, reset_at.timestamp() - self._now())
            return RateLimited(
                text, reset_at=reset_at, retry_after=retry_after, bucket=_bucket(response), **common
            )
        if name in _AUTH_ERRORS or status in (401, 403):
            return AuthError(text, **common)
        if status >= 500:
            return PlatformUnavailable(text, **common)
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
        access = self.account.secret("access_jwt")
        if not access:
            if self.account.secret("refresh_jwt"):
                yield from self._renew()
            else:
                yield from self._login()
        else:
            exp = _jwt_claims(access).get("exp")
            if isinstance(exp, int | float) and self._now() >= exp - _EXPIRY_MARGIN:
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
        token = self.account.secret("access_jwt")
        if not token:
            yield from self._ensure_session()
            token = self.account.secret("access_jwt") or ""
        response = yield Send(make(token), **send)
        if response.status_code in (400, 401) and _xrpc_error(response)[0] in _STALE_TOKEN:
            yield from self._renew()
            response = yield Send(make(self.account.secret("access_jwt") or ""), **send)
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
            PlatformError: the PDS refused (its message kept).
            MalformedResponse: a success answer without the record's ``uri``/``cid`` (the
                post may exist: it is looked up at its record key).
        """
        if not _TID.fullmatch(thread.key):
            raise ConfigurationError(
                f"bluesky record keys must be TIDs (brandkit.delivery.new_tid()), got "
                f"{thread.key!r}"
            )
        card = self._card_link(rendered, part)
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
                            posted_at=_parse_time(created),
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
        back page by page (100 a page) until it reaches the newest notification of the last
        read; one that stops at ``limit`` keeps where it stopped in its cursor and the next
        read goes on from there before it moves the mark forward. Replies the account hid
        are not listed (the AppView leaves them out).

        Raises:
            ConfigurationError: ``cursor`` is not one this adapter wrote (pass ``None``).
            PlatformError: a read was refused (the cursor is not moved).
            MalformedResponse: an answer brandkit cannot read.
        """
        state = self._read_cursor(cursor)
        yield from self._ensure_session()
        messages: list[Message] = []
        api_cursor = state.resume
        top, top_uris = state.top, list(state.top_uris)
        finished = False
        # Every page brings at least one notification or ends the read, except a page that
        # only holds filtered ones: at most ``limit`` + 1 pages of those either way.
        for _ in range(limit + 1):
            size = min(_NOTIFICATION_PAGE, max(1, limit - len(messages)))
            params = [("reasons", r) for r in _REASONS]
            params += [("limit", str(size)), ("priority", "false")]
            if api_cursor:
                params.append(("cursor", api_cursor))
            response = yield from self._authed(
                functools.partial(self._get, _LIST_NOTIFICATIONS, params=params),
                idempotent=True,
                bucket="api",
            )
            page = self.parse(response, _Notifications)
            raw = self._raw_items(response, "notifications")
            for i, note in enumerate(page.notifications):
                if state.seen is not None and (
                    note.indexedAt < state.seen
                    or (note.indexedAt == state.seen and note.uri in state.uris)
                ):
                    finished = True
                    break
                if top is None or note.indexedAt > top:
                    top, top_uris = note.indexedAt, [note.uri]
                elif note.indexedAt == top:
                    top_uris.append(note.uri)
                if note.reason in _REASONS and note.author.did != self.did:
                    messages.append(self._notification_message(note, raw[i]))
            if finished or not page.cursor or page.cursor == api_cursor:
                finished = True
                break
            api_cursor = page.cursor
            if len(messages) >= limit:
                break
        if finished:
            mark = top if top is not None else state.seen
            uris = top_uris if top is not None else list(state.uris)
            after = _Cursor(v=1, seen=mark, uris=tuple(uris))
        else:
            after = _Cursor(
                v=1,
                seen=state.seen,
                uris=state.uris,
                resume=api_cursor,
                top=top,
                top_uris=tuple(top_uris),
            )
        return InboxPage(messages=messages, cursor=self._write_cursor(after), more=not finished)

    def replies(self, refs: Sequence[PartRef]) -> Flow[list[Message]]:
        """Everyone else's replies under the post (its first part and everything below it,
        the account's own later parts and answers included as parents), in one
        ``app.bsky.feed.getPostThread``; a reply the thread's threadgate hides comes back
        with ``hidden`` set.

        Raises:
            PlatformError: the read was refused (``NotFound``: the post is gone).
            MalformedResponse: an answer brandkit cannot read.
        """
        if not refs:
            return []
        yield from self._ensure_session()
        uri = refs[0].uri or f"at://{self.did}/{POST}/{refs[0].id}"
        params = [("uri", uri), ("depth", str(_THREAD_DEPTH)), ("parentHeight", "0")]
        response = yield from self._authed(
            lambda token: self._get("app.bsky.feed.getPostThread", token, params),
            idempotent=True,
            bucket="api",
        )
        answer = self.parse(response, _Thread)
        gate = answer.threadgate.record if answer.threadgate else None
        hidden = set(gate.hiddenReplies if gate else ())
        raw_thread = self._raw_items(response, "thread")
        out: list[Message] = []
        # Depth-first over an answer the lexicon bounds (depth <= 1000), with an explicit
        # stack: no recursion limit to hit.
        stack: list[tuple[_ThreadNode, Any]] = [(answer.thread, raw_thread)]
        while stack:
            node, raw = stack.pop()
            raw_replies = raw.get("replies") if isinstance(raw, dict) else None
            for i, child in enumerate(node.replies):
                child_raw = raw_replies[i] if isinstance(raw_replies, list) else {}
                stack.append((child, child_raw))
            post = node.post
            if post is None or post.author.did == self.did or post.record.reply is None:
                continue
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

    def _raw_items(self, response: httpx.Response, key: str) -> Any:
        """The platform's own JSON under ``key`` (already read once by `parse`)."""
        body = json.loads(response.content)
        return body.get(key) if isinstance(body, dict) else None

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
        created = _parse_time(record.createdAt) or indexed_at or datetime.now(UTC)
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
        key = handle.lower().lstrip("@")
        if key in self._dids:
            return self._dids[key]
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
        self._dids[key] = did
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

    def _card_link(self, rendered: Rendered, part: RenderedPart) -> Any:
        link = rendered.link
        if part.index != 0 or part.media or link is None or not link.title:
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
            if thumb.kind != "image":
                raise MediaError(
                    f"link.thumbnail is {thumb.mime_type}; a link card thumbnail must be an image",
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
        return self.parse(response, _Uploaded).blob

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
