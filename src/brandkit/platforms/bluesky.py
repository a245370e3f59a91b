"""Bluesky (AT Protocol): posts, threads, images, video, link cards, metrics.

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
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

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
)
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
    if nsid in ("com.atproto.repo.createRecord", "com.atproto.repo.deleteRecord"):
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
        ``thread.key`` as a reply to ``thread.parent`` (root: ``thread.root``).

        Raises:
            ConfigurationError: ``thread.key`` is not a TID.
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
        if thread.previous:
            root = yield from self._strong_ref(thread.previous[0])
            parent = yield from self._strong_ref(thread.previous[-1])
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
