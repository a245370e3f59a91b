"""X (Twitter) API v2: posts, replies (threads), media upload v2, deletes and metrics.

Facts used here (sources in ``platforms.md`` §1 and in ``docs/platforms/x.md``):

- Posts: ``POST /2/tweets`` (JSON, ``additionalProperties: false``); a thread part is a reply
  through ``reply.in_reply_to_tweet_id``; ``DELETE /2/tweets/:id``; the public address is
  ``https://x.com/{username}/status/{id}``.
- Media: ``POST /2/media/upload/initialize`` → ``…/{id}/append`` (multipart ``segment_index`` +
  ``media``; one 1 MiB chunk per request, repeatable per segment index) → ``…/{id}/finalize``,
  then ``GET /2/media/upload?command=STATUS`` every ``check_after_secs`` while videos and GIFs
  are processed; alt text through ``POST /2/media/metadata``.
- Auth: an OAuth 2 user token (``Authorization: Bearer``), refreshed at
  ``POST /2/oauth2/token`` after a 401 (one refresh, then the request once more), or OAuth 1.0a
  user context signed with HMAC-SHA1 (RFC 5849; `oauth1_signature`).
- No idempotency: after an ambiguous create, `XAdapter.find_part` reads the user's recent
  posts; a 403 "duplicate content" answer means the post probably exists and is looked up.
- Rate limits: ``x-rate-limit-{limit,remaining,reset}`` (epoch seconds) per endpoint and user,
  and ``x-{user,app}-limit-24hour-*`` on ``POST /2/tweets`` (`parse_rate_limits`).
- Conversations: the inbox is the mentions timeline ``GET /2/users/:id/mentions`` (5-100 a
  page, ``since_id``/``until_id``, the 800 most recent): replies carry the conversation's
  @handles, so they are mentions too. One post's conversation: ``GET /2/tweets/search/recent``
  ``query=conversation_id:<id>`` (7 days). ``PUT /2/tweets/:id/hidden`` hides a reply in the
  account's own conversations; ``POST /2/users/:id/likes`` likes; others' posts cannot be
  deleted.
- Listening: ``GET /2/tweets/search/recent`` (the last 7 days, 10-100 posts a page, a query of
  at most 512 characters, ``since_id``/``start_time``/``end_time``/``next_token``); X bills
  each post read, and answers 429 ``usage-capped`` when the project's cap is spent
  (`compile_query`, `XAdapter.search`).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import html
import json
import logging
import re
import secrets
import time
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal
from urllib.parse import parse_qsl, quote

import attrs
import httpx
import pydantic

from brandkit._counts import MetricCount
from brandkit._flow import Flow, Send, Wait
from brandkit.errors import (
    AuthError,
    BrandkitError,
    ConfigurationError,
    ContentError,
    MalformedResponse,
    PlatformError,
    PlatformUnavailable,
    RateLimited,
    Rejected,
    TransportError,
)
from brandkit.listening._query import UnsupportedQuery, cursor_tag
from brandkit.metrics._sample import Metric, MetricSample
from brandkit.platforms._base import (
    Answer,
    Capabilities,
    KeptUploads,
    PartRef,
    RatePolicy,
    ThreadContext,
    retry_after_of,
    unreadable,
)
from brandkit.platforms._capabilities import BUILTIN_CAPABILITIES
from brandkit.platforms._oauth import (
    RefreshingAdapter,
    TokenAnswer,
    expiry_after,
    parse_credentials,
)
from brandkit.platforms._times import parse_time

if TYPE_CHECKING:
    from brandkit.content._media import Media
    from brandkit.content._render import Rendered, RenderedPart
    from brandkit.inbox._model import InboxPage, Message
    from brandkit.listening._query import Query, SearchPage

__all__ = [
    "RateLimitWindow",
    "XAdapter",
    "XRateLimits",
    "compile_query",
    "oauth1_authorization",
    "oauth1_base_string",
    "oauth1_signature",
    "parse_rate_limits",
    "percent_encode",
    "snowflake_time",
]

logger = logging.getLogger(__name__)

TOKEN_PATH = "/2/oauth2/token"
CHUNK_SIZE = 1024 * 1024
"""Bytes per APPEND request: 1 MiB, as POSTIZ and tweepy use (the v1.1 docs capped 5 MB)."""

SNOWFLAKE_EPOCH_MS = 1288834974657
PRIVATE_METRICS_AGE = timedelta(days=30)
"""X reports non-public and organic metrics only for posts younger than this."""

# A post found after an ambiguous attempt must be newer than the delivery's first key, less
# this much for the difference between our clock and X's. Kept short: an identical post made
# within this margin before the delivery started would be taken for the delivery's own.
_CLOCK_SKEW = timedelta(minutes=1)
_MAX_STATUS_POLLS = 720
_MAX_CHECK_AFTER = 60.0
"""The longest one wait between two media STATUS checks, whatever ``check_after_secs`` says
(X asks for a few seconds; a garbled number must not park the flow, or overflow a sleep)."""
MEDIA_PROCESSING_TIMEOUT = 3600.0
"""How long media processing is waited for in all (seconds): an upload expires an hour after
INIT (``expires_after_secs``), so media still processing then can never be posted."""
_REPLY_SETTINGS = ("following", "mentionedUsers", "subscribers", "verified")
"""The ``reply_settings`` X takes on ``POST /2/tweets`` (``Post.options``)."""
_EVERYONE = "everyone"
"""X's default, which it reports but does not take: such a post is sent without the field."""
_MEDIA_REUSE_FOR = 3000.0
"""How long (seconds) media uploaded for a part whose create did not succeed are posted with
when the part is sent again: less than the hour an upload lives, so an id is never used after
X may have dropped it."""
_TIMELINE_PAGES = 3
_TID_CHARS = "234567abcdefghijklmnopqrstuvwxyz"
_WORD_CHARS = re.compile(r"\s+")
# Anything URL-like, with or without a scheme. X rewrites every link it detects to t.co and
# appends a t.co link for attached media, so links are left out when texts are compared.
_URLISH = re.compile(
    r"(?:https?://\S+|\b(?:[\w-]+\.)+[a-z]{2,}(?::\d+)?(?:/\S*)?)", re.IGNORECASE | re.UNICODE
)
_MEDIA_CATEGORY = {"image": "tweet_image", "gif": "tweet_gif", "video": "tweet_video"}
_MAX_INBOX_PAGES = 100
"""Pages one inbox or conversation read may take (the mentions timeline ends at 800 posts;
a conversation of more than 10,000 replies in a week is read in part)."""
_MAX_EDIT_CHAIN = 64
"""The longest ``edit_history_tweet_ids`` read (X allows 5 edits: 6 ids)."""
# edit_controls: whether the version read can still be edited, so that an answer looks up
# a newer version only for the posts that may have one (`_edits_open`).
_CONVERSATION_FIELDS = (
    "created_at,author_id,conversation_id,in_reply_to_user_id,referenced_tweets,note_tweet,"
    "edit_controls"
)
# The @handles X's clients put before a reply's text (the conversation's participants).
_REPLY_HANDLES = re.compile(r"^(?:@\w{1,15}\s+)+")
SEARCH_QUERY_CHARS = 512
"""The longest recent-search query X takes (self-serve access; docs.x.com build-a-query)."""
SEARCH_WINDOW = timedelta(days=7)
"""How far back recent search reaches."""
# start_time is clamped this far inside the window: X refuses a start_time (or since_id)
# older than 7 days counted on its own clock, which may be ahead of ours.
_SEARCH_MARGIN = timedelta(minutes=2)
# X refuses an end_time less than 10 seconds before the request.
_END_TIME_GAP = timedelta(seconds=10)
_SEARCH_FIELDS = _CONVERSATION_FIELDS + ",lang"
_MAX_SEARCH_PAGES = 1_000
"""Pages one search may take (100,000 posts read) whatever its limit."""
SEARCH_PAGE_MIN = 10
"""The fewest posts recent search returns (and bills) a page: ``max_results`` is 10-100."""
# A hashtag X recognises: letters, marks, digits, underscore (twitter-text); not emoji.
_HASHTAG = re.compile(r"^[^\W]+$")
_USERNAME = re.compile(r"^[A-Za-z0-9_]{1,15}$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")
# A bare keyword is sent as it is only when X cannot read it as something else: no space,
# no quote or bracket, no operator colon, not a leading -, #, @ or $, and not OR/AND.
_BARE = re.compile(r"^[^\s\"()\-#@$:][^\s\"():]*$")


# -- OAuth 1.0a (RFC 5849) -------------------------------------------------------------------


def percent_encode(value: str) -> str:
    """RFC 5849 §3.6 percent-encoding: UTF-8, every byte but ``A-Z a-z 0-9 - . _ ~`` as ``%XX``."""
    return quote(value, safe="~")


def oauth1_base_string(method: str, url: str | httpx.URL, params: Iterable[tuple[str, str]]) -> str:
    """The signature base string of RFC 5849 §3.4.1.

    Args:
        method: the HTTP method.
        url: the request URL; its query parameters are collected as request parameters.
        params: the other parameters to sign: the ``oauth_*`` protocol parameters and, for
            ``application/x-www-form-urlencoded`` bodies, the body's parameters.
    """
    u = httpx.URL(str(url))
    scheme = u.scheme.lower()
    host = (u.host or "").lower()
    default_port = {"http": 80, "https": 443}.get(scheme)
    port = f":{u.port}" if u.port is not None and u.port != default_port else ""
    base_uri = f"{scheme}://{host}{port}{u.path or '/'}"
    pairs = [(percent_encode(k), percent_encode(v)) for k, v in u.params.multi_items()]
    pairs += [(percent_encode(k), percent_encode(v)) for k, v in params]
    pairs.sort()
    normalized = "&".join(f"{k}={v}" for k, v in pairs)
    return "&".join(
        (method.upper(), percent_encode(base_uri), percent_encode(normalized)),
    )


def oauth1_signature(base_string: str, consumer_secret: str, token_secret: str) -> str:
    """The HMAC-SHA1 signature (base64) of ``base_string`` with the RFC 5849 §3.4.2 key."""
    key = f"{percent_encode(consumer_secret)}&{percent_encode(token_secret)}".encode()
    digest = hmac.new(key, base_string.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def oauth1_authorization(
    request: httpx.Request,
    *,
    consumer_key: str,
    consumer_secret: str,
    token: str,
    token_secret: str,
    nonce: str,
    timestamp: int,
) -> str:
    """The ``Authorization: OAuth …`` header value for ``request`` (OAuth 1.0a user context).

    Query parameters and ``application/x-www-form-urlencoded`` body parameters are signed;
    JSON and multipart bodies are not (RFC 5849 §3.4.1.3.1).
    """
    oauth = {
        "oauth_consumer_key": consumer_key,
        "oauth_nonce": nonce,
        "oauth_signature_method": "HMAC-SHA1",
        "oauth_timestamp": str(timestamp),
        "oauth_token": token,
        "oauth_version": "1.0",
    }
    params = list(oauth.items())
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() == "application/x-www-form-urlencoded":
        body = request.read().decode()
        params += parse_qsl(body, keep_blank_values=True)
    base = oauth1_base_string(request.method, request.url, params)
    oauth["oauth_signature"] = oauth1_signature(base, consumer_secret, token_secret)
    return "OAuth " + ", ".join(
        f'{percent_encode(k)}="{percent_encode(v)}"' for k, v in sorted(oauth.items())
    )


# -- rate-limit headers ----------------------------------------------------------------------


@attrs.frozen
class RateLimitWindow:
    """One rate-limit window as X reports it in response headers.

    Attributes:
        limit: requests allowed in the window.
        remaining: requests left.
        reset_at: when the window resets (aware UTC), from an epoch-seconds header.
    """

    limit: int | None
    remaining: int | None
    reset_at: datetime | None

    @property
    def exhausted(self) -> bool:
        """No request is left in this window."""
        return self.remaining is not None and self.remaining <= 0


@attrs.frozen
class XRateLimits:
    """The rate-limit headers of one X response.

    Attributes:
        window: the endpoint's 15-minute window (``x-rate-limit-*``).
        user_24h: the user's 24-hour post quota (``x-user-limit-24hour-*``), when sent.
        app_24h: the app's 24-hour post quota (``x-app-limit-24hour-*``), when sent.
    """

    window: RateLimitWindow | None
    user_24h: RateLimitWindow | None
    app_24h: RateLimitWindow | None

    def blocking(self) -> tuple[str, RateLimitWindow] | None:
        """The exhausted window that resets last (``"15min"``, ``"user_24h"`` or
        ``"app_24h"``), else the 15-minute window if it is exhausted, else ``None``."""
        exhausted = [
            (name, w)
            for name, w in (("user_24h", self.user_24h), ("app_24h", self.app_24h))
            if w is not None and w.exhausted
        ]
        if self.window is not None and self.window.exhausted:
            exhausted.append(("15min", self.window))
        if not exhausted:
            return None
        far = datetime.max.replace(tzinfo=UTC)
        return max(exhausted, key=lambda item: item[1].reset_at or far)


def _window(headers: Mapping[str, str], prefix: str) -> RateLimitWindow | None:
    def number(name: str) -> int | None:
        value = headers.get(f"{prefix}-{name}")
        try:
            return int(value) if value is not None else None
        except ValueError:
            return None

    limit, remaining, reset = number("limit"), number("remaining"), number("reset")
    if limit is None and remaining is None and reset is None:
        return None
    reset_at = None
    if reset is not None:
        # A reset no clock holds (a garbled header) is as if it were not sent.
        with contextlib.suppress(OverflowError, OSError, ValueError):
            reset_at = datetime.fromtimestamp(reset, UTC)
    return RateLimitWindow(limit=limit, remaining=remaining, reset_at=reset_at)


_LONGEST_WAIT = 86_400.0
"""The longest wait a 429's reset may ask for, in seconds: X's longest window (24 hours)."""


def parse_rate_limits(headers: Mapping[str, str]) -> XRateLimits:
    """Read X's rate-limit headers (reset times are Unix epoch seconds; X sends no
    ``Retry-After``)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    return XRateLimits(
        window=_window(lowered, "x-rate-limit"),
        user_24h=_window(lowered, "x-user-limit-24hour"),
        app_24h=_window(lowered, "x-app-limit-24hour"),
    )


# -- small helpers ---------------------------------------------------------------------------


def snowflake_time(post_id: str) -> datetime | None:
    """When an X id (a snowflake) was made, or ``None`` if ``post_id`` is not one."""
    # X ids are ASCII digits (at most 19): int() would also take "1_000", spaces around and
    # other scripts' digits, giving a garbled id a time.
    if not (post_id.isascii() and post_id.isdigit() and len(post_id) <= 19):
        return None
    value = int(post_id)
    ms = (value >> 22) + SNOWFLAKE_EPOCH_MS
    if value < (1 << 22) or ms > 32503680000000:  # before 2010-11-04 or after year 3000
        return None
    return datetime.fromtimestamp(ms / 1000, UTC)


def _tid_time(key: str) -> datetime | None:
    """When a brandkit per-part key (an AT Protocol TID) was made, if it is one."""
    if len(key) != 13 or any(c not in _TID_CHARS for c in key):
        return None
    value = 0
    for c in key:
        value = value * 32 + _TID_CHARS.index(c)
    return datetime.fromtimestamp((value >> 10) / 1_000_000, UTC)


def _comparable(text: str) -> str:
    """Text as X stores it and as brandkit sent it, made equal: entities unescaped, links
    (which X rewrites to t.co) left out, runs of white space made one space."""
    text = unicodedata.normalize("NFC", html.unescape(text))
    return _WORD_CHARS.sub(" ", _URLISH.sub(" ", text)).strip()


def _body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (ValueError, RecursionError):
        # RecursionError: nested deeper than json reads (a garbled or hostile body).
        return None


def _problem(body: Any) -> tuple[str, str | None, int | None]:
    """(message, problem kind, legacy code) from any X error body."""
    if not isinstance(body, dict):
        return "", None, None
    kind = None
    problem_type = body.get("type")
    if isinstance(problem_type, str) and "/problems/" in problem_type:
        kind = problem_type.rsplit("/", 1)[-1]
    detail = body.get("detail")
    title = body.get("title")
    errors = body.get("errors")
    first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
    code = first.get("code") if isinstance(first.get("code"), int) else None
    parts: list[str] = []
    if isinstance(detail, str) and detail:
        parts.append(detail)
    elif isinstance(title, str) and title:
        parts.append(title)
    # Validation answers say what is wrong in errors[].message; keep it beside the summary.
    for item in errors if isinstance(errors, list) else []:
        message = item.get("message") if isinstance(item, dict) else None
        if isinstance(message, str) and message not in parts:
            parts.append(message)
    if not parts:
        for key in ("error_description", "error"):
            if isinstance(body.get(key), str) and body[key]:
                parts.append(body[key])
                break
    return "; ".join(parts[:4]), kind, code


_BUCKETS: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("POST", re.compile(r"/2/tweets"), "post"),
    ("DELETE", re.compile(r"/2/tweets/\d+"), "delete"),
    ("GET", re.compile(r"/2/tweets"), "lookup"),
    ("GET", re.compile(r"/2/users/[^/]+/tweets"), "timeline"),
    ("GET", re.compile(r"/2/users/me"), "me"),
    ("GET", re.compile(r"/2/users/[^/]+/mentions"), "mentions"),
    ("GET", re.compile(r"/2/tweets/search/recent"), "search"),
    ("PUT", re.compile(r"/2/tweets/\d+/hidden"), "hide"),
    ("POST", re.compile(r"/2/users/[^/]+/likes"), "like"),
    ("POST", re.compile(r"/2/media/upload/initialize"), "media_init"),
    ("POST", re.compile(r"/2/media/upload/\d+/append"), "media_append"),
    ("POST", re.compile(r"/2/media/upload/\d+/finalize"), "media_finalize"),
    ("GET", re.compile(r"/2/media/upload"), "media_status"),
    ("POST", re.compile(r"/2/media/metadata"), "media_metadata"),
    ("POST", re.compile(re.escape(TOKEN_PATH)), "oauth2_token"),
)


def _bucket_of(request: httpx.Request | None) -> str | None:
    if request is None:
        return None
    for method, pattern, bucket in _BUCKETS:
        if request.method == method and pattern.fullmatch(request.url.path):
            return bucket
    return None


def _request_of(response: httpx.Response) -> httpx.Request | None:
    try:
        return response.request
    except RuntimeError:
        return None


# -- answers -------------------------------------------------------------------------------------
# X v2 answers as the OpenAPI spec defines them: ids are strings of digits (they outgrow
# JavaScript numbers), counts integers; nothing is coerced.

_Snowflake = Annotated[str, pydantic.StringConstraints(pattern=r"^[0-9]{1,19}$")]
_Int = Annotated[int, pydantic.Strict()]
_Seconds = _Int | Annotated[float, pydantic.Strict(), pydantic.AllowInfNan(False)]


class _Id(Answer):
    id: _Snowflake


class _Created(Answer):
    """``POST /2/tweets``: ``{"data": {"id"}}``."""

    data: _Id


class _DeletedFlag(Answer):
    deleted: Annotated[bool, pydantic.Strict()]


class _Deleted(Answer):
    """``DELETE /2/tweets/:id``: ``{"data": {"deleted": true}}`` (``false``: already gone)."""

    data: _DeletedFlag


class _MediaInit(Answer):
    """``POST /2/media/upload/initialize``: ``{"data": {"id"}}``, or the v1.1 shape
    (``media_id_string``) that recorded answers and some proxies still send."""

    data: _Id | None = None
    media_id_string: _Snowflake | None = None

    @pydantic.model_validator(mode="after")
    def _has_id(self) -> _MediaInit:
        if self.data is None and self.media_id_string is None:
            raise ValueError("data.id (or media_id_string) is required")
        return self

    @property
    def id(self) -> str:
        """The media id."""
        return self.data.id if self.data is not None else str(self.media_id_string)


class _User(_Id):
    username: Annotated[str, pydantic.StringConstraints(min_length=1)]


class _Me(Answer):
    """``GET /2/users/me``."""

    data: _User


class _Followers(Answer):
    followers_count: _Int | None = None


class _MyFollowers(Answer):
    followers_count: MetricCount | None = None


class _UserMetrics(Answer):
    id: _Snowflake | None = None
    username: str | None = None
    public_metrics: _MyFollowers | None = None


class _MeMetrics(Answer):
    """``GET /2/users/me?user.fields=public_metrics``."""

    data: _UserMetrics


class _ProcessingError(Answer):
    code: _Int | str | None = None
    name: str | None = None
    message: str | None = None


class _Processing(Answer):
    state: str
    check_after_secs: _Seconds | None = None
    error: _ProcessingError | None = None


class _Media(Answer):
    processing_info: _Processing | None = None


class _MediaState(Answer):
    """``finalize`` and ``STATUS``: the media's processing state (none: ready), under
    ``data`` (v2) or at the top (v1.1)."""

    data: _Media | None = None
    processing_info: _Processing | None = None

    @property
    def info(self) -> _Processing | None:
        """The processing state, wherever it was sent."""
        return self.data.processing_info if self.data is not None else self.processing_info


class _Note(Answer):
    text: str | None = None


class _Reference(Answer):
    type: str
    id: _Snowflake


class _Attachments(Answer):
    media_keys: tuple[str, ...] = ()


class _TimelinePost(_Id):
    """A post of the user's timeline as find-my-post compares it."""

    text: str | None = None
    created_at: str | None = None
    note_tweet: _Note | None = None
    referenced_tweets: tuple[_Reference, ...] = ()
    attachments: _Attachments | None = None


class _NextToken(Answer):
    next_token: str | None = None


class _Timeline(Answer):
    """``GET /2/users/:id/tweets``; strict, because a post brandkit cannot read might be
    the one looked for."""

    data: tuple[_TimelinePost, ...] = ()
    meta: _NextToken | None = None


class _PublicMetrics(Answer):
    impression_count: MetricCount | None = None
    like_count: MetricCount | None = None
    retweet_count: MetricCount | None = None
    repost_count: MetricCount | None = None
    reply_count: MetricCount | None = None
    quote_count: MetricCount | None = None
    bookmark_count: MetricCount | None = None


class _NonPublicMetrics(Answer):
    url_link_clicks: MetricCount | None = None
    user_profile_clicks: MetricCount | None = None


class _MetricsPost(_Id):
    """A post of a metrics lookup; one that cannot be read costs only its own samples."""

    created_at: str | None = None
    public_metrics: _PublicMetrics = _PublicMetrics()
    non_public_metrics: _NonPublicMetrics | None = None
    attachments: _Attachments | None = None


class _ViewCount(Answer):
    view_count: MetricCount | None = None


class _IncludedMedia(Answer):
    media_key: str
    type: str | None = None
    public_metrics: _ViewCount | None = None


class _Includes(Answer):
    media: tuple[_IncludedMedia, ...] = ()


class _LookupError(Answer):
    resource_id: str | None = None
    value: pydantic.JsonValue = None
    type: str | None = None
    detail: str | None = None
    title: str | None = None


class _Lookup(Answer):
    """``GET /2/tweets?ids=``: the posts, their media, per-post errors."""

    data: tuple[_MetricsPost, ...] = ()
    includes: _Includes | None = None
    errors: tuple[_LookupError, ...] = ()


class _LookupItems(_Lookup):
    """The same answer with each post read on its own (when one cannot be read)."""

    data: tuple[dict[str, pydantic.JsonValue], ...] = ()  # type: ignore[assignment]


# -- conversations: answers ------------------------------------------------------------------


class _Author(_Id):
    """A user of ``includes.users``."""

    username: Annotated[str, pydantic.StringConstraints(min_length=1)]
    name: str | None = None
    public_metrics: _Followers | None = None


class _Versioned(_Id):
    """A post with its edit chain (X sends ``edit_history_tweet_ids`` on every post)."""

    # The ids of its edit chain, the original first (an edit is a new post with a new id;
    # X allows 5 edits, so a chain of 6; more is taken as it comes, up to a bound).
    edit_history_tweet_ids: Annotated[
        tuple[_Snowflake, ...], pydantic.Field(max_length=_MAX_EDIT_CHAIN)
    ] = ()
    referenced_tweets: tuple[_Reference, ...] = ()

    def ref(self, kind: str) -> str | None:
        """The id of the post this one refers to as ``kind`` (``replied_to``, ``quoted``)."""
        return next((r.id for r in self.referenced_tweets if r.type == kind), None)

    @property
    def original(self) -> str:
        """The id of the first version of this post: its own when it was never edited."""
        history = self.edit_history_tweet_ids
        return history[0] if history else self.id


class _Versions(Answer):
    """``GET /2/tweets?ids=`` without fields: each post's id and edit chain."""

    data: tuple[_Versioned, ...] = ()


class _ConvPost(_Versioned):
    """A post of the mentions timeline or of a conversation search."""

    text: str
    author_id: _Snowflake
    created_at: str | None = None
    conversation_id: _Snowflake | None = None
    in_reply_to_user_id: _Snowflake | None = None
    note_tweet: _Note | None = None
    lang: str | None = None
    # Read leniently (`_edits_open`): a garbled one costs at most a lookup, not the page.
    edit_controls: Any = None


def _versions(post: _ConvPost, now: datetime) -> tuple[datetime, datetime | None, dict[str, Any]]:
    """When ``post``'s message was written, when it was last edited (``None``: never), and
    its ``extra``.

    An edit is a new post with a new id, and X gives only the newest version. The message
    stays the original's, the one a read before the edit stored and the team works on: it
    was written when the original was, its text is the newest, edited at this version's
    time. Answers and likes go to the newest version, kept as ``extra["latest"]``
    (`_target`). A version X still lets its author edit at ``now`` keeps when that ends as
    ``extra["editable_until"]``: an answer to it looks up the newest version first."""
    created = parse_time(post.created_at) or snowflake_time(post.id) or datetime.now(UTC)
    extra: dict[str, Any] = {}
    until = _edits_open(post.edit_controls, now)
    if until is not None:
        extra["editable_until"] = until
    if post.original == post.id:
        return created, None, extra
    return snowflake_time(post.original) or created, created, {"latest": post.id, **extra}


def _edits_open(controls: Any, now: datetime) -> str | None:
    """When the edit window ends (RFC 3339) if X's ``edit_controls`` say the version can
    still be edited at ``now``, else ``None``. X counts the edits left on its own clock;
    ``now`` (ours) only rules out a window that ended."""
    if not isinstance(controls, Mapping) or controls.get("is_edit_eligible") is False:
        return None
    left = controls.get("edits_remaining")
    if isinstance(left, int) and left <= 0:
        return None
    until = parse_time(controls.get("editable_until"))
    if until is None or until <= now:
        return None
    try:
        return _rfc3339(until)
    except OverflowError:
        # Past year 9999 once in UTC (a garbled time: X writes UTC): no window to keep.
        return None


def _may_be_newer(message: Message) -> bool:
    """An edit newer than the version ``message`` was read at may exist: it was read while
    its author could still edit it, or it was edited and read before brandkit asked X
    whether edits remained (no ``edit_controls``)."""
    if message.extra.get("editable_until"):
        return True
    return bool(message.extra.get("latest")) and "edit_controls" not in message.raw


class _RefPost(_Versioned):
    """A referenced post of ``includes.tweets`` (the parent or the quoted post)."""

    author_id: _Snowflake | None = None
    conversation_id: _Snowflake | None = None
    in_reply_to_user_id: _Snowflake | None = None


def _originals(posts: Iterable[_Versioned]) -> dict[str, str]:
    """Each version's id of ``posts`` and their edit chains, to its original's id.

    ``referenced_tweets`` names the version a post answers or quotes, which after an edit
    is not the id brandkit keeps (`Message.id`, `brandkit.Delivery.ids`: the original's)."""
    out: dict[str, str] = {}
    for post in posts:
        for version in (*post.edit_history_tweet_ids, post.id):
            out.setdefault(version, post.original)
    return out


class _ConvIncludes(Answer):
    users: tuple[_Author, ...] = ()
    tweets: tuple[_RefPost, ...] = ()


class _ConvMeta(Answer):
    result_count: _Int | None = None
    newest_id: _Snowflake | None = None
    oldest_id: _Snowflake | None = None
    next_token: str | None = None


class _ConvPage(Answer):
    """``GET /2/users/:id/mentions`` and ``GET /2/tweets/search/recent``: posts newest
    first, their authors and referenced posts, and where the next page starts."""

    data: tuple[_ConvPost, ...] = ()
    includes: _ConvIncludes | None = None
    meta: _ConvMeta | None = None
    errors: tuple[_LookupError, ...] = ()


class _HiddenState(Answer):
    hidden: Annotated[bool, pydantic.Strict()]


class _Hidden(Answer):
    """``PUT /2/tweets/:id/hidden``: ``{"data": {"hidden": bool}}``."""

    data: _HiddenState


class _LikedState(Answer):
    liked: Annotated[bool, pydantic.Strict()]


class _Liked(Answer):
    """``POST /2/users/:id/likes``: ``{"data": {"liked": bool}}``."""

    data: _LikedState


class _Cursor(pydantic.BaseModel):
    """The inbox cursor: whose mentions (``user``), the newest post id already read
    (``since``) and, while a read stopped at its limit, where it goes on (``until``: the
    oldest id read) and the newest id of that sweep (``top``)."""

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)

    v: Literal[1]
    user: _Snowflake
    since: _Snowflake | None = None
    until: _Snowflake | None = None
    top: _Snowflake | None = None


def _dump(cursor: _Cursor | _SearchCursor) -> str:
    return cursor.model_dump_json(exclude_none=True)


class _SearchCursor(pydantic.BaseModel):
    """The search cursor: the query and account it belongs to (``q``, `cursor_tag` of the
    query text and its times; cursors written before it lack it), the newest post id
    already read (``since``) and, while a search stopped at its limit, the oldest id read
    (``until``) and the newest of that sweep (``top``), as in the inbox cursor."""

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)

    v: Literal[1]
    search: Literal[True]
    q: Annotated[str, pydantic.StringConstraints(pattern=r"^[0-9a-f]{16}$")] | None = None
    since: _Snowflake | None = None
    until: _Snowflake | None = None
    top: _Snowflake | None = None


# -- listening: the query ----------------------------------------------------------------------


def _quoted(text: str) -> str:
    # X reads a backslash-escaped quote inside an exact phrase as a quote character.
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _keyword(term: str) -> str:
    """A word as X reads it: bare when it can only be a keyword, else an exact phrase (a
    group of words, or a word X would take for an operator)."""
    if _BARE.match(term) and term not in ("OR", "AND"):
        return term
    return _quoted(term)


def _either(terms: Sequence[str]) -> str:
    return terms[0] if len(terms) == 1 else "(" + " OR ".join(terms) + ")"


def compile_query(query: Query) -> str:
    """``query`` as an X recent-search query (docs.x.com build-a-query and operators).

    ``any``, ``hashtags`` and ``handles`` are one group of alternatives,
    ``(a OR "b c" OR #tag OR @name)``; each of ``all`` and ``phrases`` must appear (a space is
    AND); ``exclude`` becomes ``-word`` / ``-"two words"`` (X asks that groups are not
    negated); ``languages`` becomes ``lang:en`` or ``(lang:en OR lang:id)``; ``-is:retweet``
    keeps reposts out (they repeat a post and each is billed as read). A term of several
    words, or one X would read as an operator, is an exact phrase with its quotes
    backslash-escaped. ``since``/``until`` are not part of the text: `XAdapter.search`
    sends them as ``start_time``/``end_time``.

    Raises:
        UnsupportedQuery: a hashtag X does not recognise (emoji, punctuation;
            ``feature="hashtags"``), a handle that is not an X username
            (``feature="handles"``), a language that is not a language code
            (``feature="languages"``), or a query over 512 characters (``feature="length"``).
    """
    for tag in query.hashtags:
        if not _HASHTAG.match(tag) or tag.isdigit():
            raise UnsupportedQuery(
                f"#{tag} is not a hashtag on X (X's hashtags are letters, digits and _, not "
                "only digits, no emoji or punctuation): search its text with any=[...] instead",
                platform="x",
                feature="hashtags",
            )
    for handle in query.handles:
        if not _USERNAME.match(handle):
            raise UnsupportedQuery(
                f"@{handle} is not an X username (1-15 letters, digits or _)",
                platform="x",
                feature="handles",
            )
    # X's lang: takes its codes as X writes them, in lower case ("en", "zh-cn"); a query
    # says "EN" as readily (Query ignores case), which X would match with nothing.
    languages = list(dict.fromkeys(code.lower() for code in query.languages))
    for language in languages:
        if not _LANGUAGE.match(language):
            raise UnsupportedQuery(
                f"{language!r} is not a language code X's lang: operator takes (BCP 47, e.g. "
                "'en', 'id', 'ja')",
                platform="x",
                feature="languages",
            )
    parts: list[str] = []
    alternatives = [
        *(_keyword(t) for t in query.any),
        *(f"#{t}" for t in query.hashtags),
        *(f"@{h}" for h in query.handles),
    ]
    if alternatives:
        parts.append(_either(alternatives))
    parts += [_keyword(t) for t in query.all]
    parts += [_quoted(t) for t in query.phrases]
    parts += [f"-{_keyword(t)}" for t in query.exclude]
    if languages:
        parts.append(_either([f"lang:{code}" for code in languages]))
    parts.append("-is:retweet")
    text = " ".join(parts)
    if len(text) > SEARCH_QUERY_CHARS:
        raise UnsupportedQuery(
            f"this query is {len(text)} characters as an X query ({text[:60]}...), over the "
            f"{SEARCH_QUERY_CHARS} X's recent search takes: split it into several queries",
            platform="x",
            feature="length",
        )
    return text


# -- the adapter -----------------------------------------------------------------------------


class XAdapter(RefreshingAdapter):
    """X (Twitter) API v2.

    Credentials come from `brandkit.Account.x`: an OAuth 2 user token (refreshed with
    ``refresh_token`` + ``client_id``, and ``client_secret`` for confidential clients), or the
    four OAuth 1.0a user keys. When both are given, OAuth 2 is used.

    Attributes:
        chunk_size: bytes per media APPEND request.
        nonce: makes OAuth 1.0a nonces (tests replace it).
        clock: the current time in epoch seconds, for OAuth 1.0a timestamps and token expiry
            (tests replace it).
    """

    token_name: ClassVar[str] = "user_token"
    name: ClassVar[str] = "x"
    adopts_duplicates: ClassVar[bool] = True
    # Conversations: the mentions timeline (replies, mentions, quotes that name the
    # account), hidden replies and likes; X has no way to delete others' posts.
    # Listening (recent search) until the capabilities table declares it itself.
    capabilities: ClassVar[Capabilities] = BUILTIN_CAPABILITIES["x"]
    metrics_batch_size: ClassVar[int] = 100
    # platforms.md §1.5 (docs.x.com rate-limits, 2026-07): per user per 15 min unless "app".
    rate_policies: ClassVar[tuple[RatePolicy, ...]] = (
        RatePolicy("post", 100, 900),
        RatePolicy("post", 10_000, 86_400, scope="app"),
        RatePolicy("delete", 50, 900),
        RatePolicy("lookup", 5_000, 900),
        RatePolicy("timeline", 900, 900),
        RatePolicy("me", 75, 900),
        RatePolicy("mentions", 300, 900),
        RatePolicy("search", 300, 900),
        RatePolicy("hide", 50, 900),
        RatePolicy("like", 50, 900),
        RatePolicy("media_init", 1_875, 900),
        RatePolicy("media_init", 180_000, 86_400, scope="app"),
        RatePolicy("media_append", 1_875, 900),
        RatePolicy("media_append", 180_000, 86_400, scope="app"),
        RatePolicy("media_finalize", 1_875, 900),
        RatePolicy("media_finalize", 180_000, 86_400, scope="app"),
        RatePolicy("media_status", 1_000, 900),
        RatePolicy("media_status", 100_000, 86_400, scope="app"),
        RatePolicy("media_metadata", 500, 900),
        RatePolicy("media_metadata", 50_000, 86_400, scope="app"),
    )

    chunk_size: int = CHUNK_SIZE

    def __init__(self, account: Any) -> None:
        super().__init__(account)
        self.nonce: Callable[[], str] = lambda: secrets.token_hex(16)
        self.clock: Callable[[], float] = time.time
        # Media uploaded for a part whose create has not succeeded yet, by the part's key,
        # with when the first upload began: a repeated publish_part reuses them.
        self._uploaded = KeptUploads(_MEDIA_REUSE_FOR)
        oauth1 = ("consumer_secret", "access_token", "access_token_secret")
        self._oauth2 = account.has_secret("user_token")
        if not self._oauth2 and not (
            all(account.has_secret(k) for k in oauth1) and account.settings.get("consumer_key")
        ):
            raise ConfigurationError(
                "an X account needs user_token (OAuth 2) or consumer_key, consumer_secret, "
                "access_token and access_token_secret (OAuth 1.0a)"
            )

    # -- identity --------------------------------------------------------------------------

    @property
    def app_id(self) -> str:
        """The X developer app (client id or consumer key): app-wide limits are shared."""
        host = httpx.URL(self.account.base_url).host
        app = self.account.settings.get("client_id") or self.account.settings.get("consumer_key")
        return f"{host}:{app}" if app else host

    def public_url(self, ref: PartRef) -> str | None:
        """``https://x.com/{username}/status/{id}``."""
        return ref.url or self._url(ref.id)

    def _url(self, post_id: str) -> str:
        username = self.account.settings.get("username")
        if username:
            return f"https://x.com/{username}/status/{post_id}"
        return f"https://x.com/i/web/status/{post_id}"

    # -- requests and auth ------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        form: Mapping[str, str] | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
    ) -> httpx.Request:
        url = self.account.base_url + path
        if json_body is not None:
            content = json.dumps(json_body, ensure_ascii=False, separators=(",", ":")).encode()
            request = httpx.Request(
                method,
                url,
                params=params,
                content=content,
                headers={"content-type": "application/json"},
            )
        elif files is not None:
            request = httpx.Request(method, url, params=params, data=form, files=files)
        elif form is not None:
            request = httpx.Request(method, url, params=params, data=form)
        else:
            request = httpx.Request(method, url, params=params)
        request.read()  # a fixed body, so that the driver can send it again
        request.headers["authorization"] = self._authorization(request)
        return request

    def _authorization(self, request: httpx.Request) -> str:
        if self._oauth2:
            return f"Bearer {self.account.secret('user_token')}"
        return oauth1_authorization(
            request,
            consumer_key=str(self.account.settings["consumer_key"]),
            consumer_secret=self.account.secret("consumer_secret") or "",
            token=self.account.secret("access_token") or "",
            token_secret=self.account.secret("access_token_secret") or "",
            nonce=self.nonce(),
            timestamp=int(self.clock()),
        )

    def prepare_retry(self, request: httpx.Request) -> httpx.Request:
        """``request`` made ready to be sent again: signed anew (OAuth 1.0a wants a fresh
        nonce and timestamp for every request) or carrying the current OAuth 2 token. A
        token refresh goes again as it was."""
        if request.url.path.endswith(TOKEN_PATH):
            # The refresh authenticates the app (HTTP Basic, or a public client's client_id
            # in the form), never the user: a user's token there is refused with a 401, and
            # the refresh token, still good, would be reported as needing a new consent.
            return request
        request.headers["authorization"] = self._authorization(request)
        return request

    def _can_refresh(self) -> bool:
        return (
            self._oauth2
            and self.account.has_secret("refresh_token")
            and bool(self.account.settings.get("client_id"))
        )

    def _refresh(self, token_used: str | None) -> Flow[None]:
        """Trade the refresh token for a new access token and hand both to the account."""
        if self.account.secret("user_token") != token_used:
            return  # another flow of this account refreshed meanwhile
        client_id = str(self.account.settings["client_id"])
        form = {
            "grant_type": "refresh_token",
            "refresh_token": self.account.secret("refresh_token") or "",
            "client_id": client_id,
        }
        request = httpx.Request("POST", self.account.base_url + TOKEN_PATH, data=form)
        request.read()
        client_secret = self.account.secret("client_secret")
        if client_secret:
            pair = f"{client_id}:{client_secret}".encode()
            request.headers["authorization"] = "Basic " + base64.b64encode(pair).decode()
        response = yield Send(request, bucket="oauth2_token")
        token = parse_credentials(self, response, TokenAnswer)
        # Before update_secrets: its on_credentials_changed hook stores the new expiry too.
        self.token_expires_at = expiry_after(self.clock(), token.expires_in)
        # update_secrets never replaces the refresh token with an empty one.
        self.account.update_secrets(
            user_token=token.access_token, refresh_token=token.refresh_token
        )

    # -- errors ------------------------------------------------------------------------------

    def error_for(self, response: httpx.Response) -> PlatformError:
        """X's error shapes: RFC 7807 problems (``type`` ``…/problems/<kind>``), legacy
        ``errors[{code, message}]`` and OAuth ``{error, error_description}``."""
        body = _body(response)
        message, kind, code = _problem(body)
        if not message:
            message = response.text[:300] or response.reason_phrase
        status = response.status_code
        request = _request_of(response)
        common: dict[str, Any] = {
            "platform": self.name,
            "status_code": status,
            "platform_message": message,
            "code": kind or code,
        }
        text = f"x answered {status}: {message}"
        if request is not None and request.url.path == TOKEN_PATH:
            if status >= 500:
                return PlatformUnavailable(text, retry_after=retry_after_of(response), **common)
            return AuthError(
                f"x refused to refresh the OAuth 2 token ({status}: {message}); "
                "authorize the app again to get new tokens",
                **common,
            )
        if kind == "usage-capped":
            return self._usage_capped(body, text, common)
        if status == 429 or kind == "rate-limit-exceeded" or code == 88:
            return self._rate_limited(response, text, common)
        if status == 401:
            return AuthError(text, **common)
        if status == 403:
            if "duplicate content" in message.lower():
                return Rejected(text, duplicate=True, **common)
            if kind in ("unsupported-authentication", "client-forbidden"):
                return AuthError(text, **common)
            return Rejected(text, **common)
        if status >= 500:
            return PlatformUnavailable(text, retry_after=retry_after_of(response), **common)
        return Rejected(text, **common)

    def _rate_limited(
        self, response: httpx.Response, text: str, common: dict[str, Any]
    ) -> RateLimited:
        limits = parse_rate_limits(response.headers)
        blocking = limits.blocking()
        window = blocking[1] if blocking else limits.window
        reset_at = window.reset_at if window else None
        retry_after = None
        if reset_at is not None:
            retry_after = max(0.0, reset_at.timestamp() - self.clock())
            if retry_after > _LONGEST_WAIT:
                # X's longest window is a day: a later reset is a garbled header.
                retry_after = _LONGEST_WAIT
                reset_at = datetime.fromtimestamp(self.clock() + _LONGEST_WAIT, UTC)
        bucket = _bucket_of(_request_of(response)) or "default"
        if blocking is not None and blocking[0] != "15min":
            bucket = f"{bucket}:{blocking[0]}"
        return RateLimited(
            text, reset_at=reset_at, retry_after=retry_after, bucket=f"x:{bucket}", **common
        )

    def _usage_capped(self, body: Any, text: str, common: dict[str, Any]) -> RateLimited:
        """X's usage cap (429 ``usage-capped``, ``period`` ``Monthly`` or ``Daily``): what the
        project may read is spent until the period ends, whatever the rate-limit headers
        say, so the wait runs to the next UTC month or day (and the client does not retry)."""
        period = body.get("period") if isinstance(body, dict) else None
        now = datetime.fromtimestamp(self.clock(), UTC)
        if period == "Daily":
            reset_at = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        else:
            first = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
            reset_at = (first + timedelta(days=32)).replace(day=1)
        scope = period.lower() if isinstance(period, str) else "monthly"
        return RateLimited(
            f"{text} (X's {scope} usage cap: no more posts can be read until "
            f"{reset_at.isoformat()}; raise the cap in the developer console)",
            reset_at=reset_at,
            retry_after=(reset_at - now).total_seconds(),
            bucket=f"x:usage-cap:{scope}",
            **common,
        )

    # -- prepare -----------------------------------------------------------------------------

    def prepare(self) -> Flow[Capabilities]:
        """Learn the account's user id and username (``GET /2/users/me``) unless given."""
        yield from self._whoami()
        return self.capabilities

    def _whoami(self) -> Flow[tuple[str, str]]:
        settings = self.account.settings
        if settings.get("user_id") and settings.get("username"):
            return str(settings["user_id"]), str(settings["username"])
        response = yield from self._send(
            lambda: self._request("GET", "/2/users/me"), bucket="me", idempotent=True
        )
        me = self.parse(response, _Me).data
        settings["user_id"] = me.id
        settings["username"] = me.username
        return me.id, me.username

    # -- publish -----------------------------------------------------------------------------

    def publish_part(
        self, rendered: Rendered, part: RenderedPart, thread: ThreadContext
    ) -> Flow[PartRef]:
        """Upload the part's media (with alt text), then ``POST /2/tweets`` as a reply to the
        previous part. The create is never repeated blindly: X has no idempotency key.

        Raises:
            Rejected: X refused the post (``duplicate=True`` for an earlier identical post).
            AuthError, RateLimited, PlatformUnavailable: see `error_for`.
            MalformedResponse: a success answer without the post's (or a media's) id; the
                post may exist, so the delivery is looked up, never repeated blindly.
            TransportError: X said "duplicate content" but the post cannot be seen yet.
            ContentError: the first part has media and ``options["quote_tweet_id"]``, which
                X takes only one at a time, or ``options["reply_settings"]`` is not one X
                takes; raised before anything is sent.
        """
        if part.index == 0:
            self._check_options(rendered, part)
        yield from self._whoami()
        media_ids = yield from self._part_media(part, thread)
        parent = yield from self._parent(thread)
        body = self._create_body(rendered, part, parent, media_ids)
        try:
            response = yield from self._send(
                lambda: self._request("POST", "/2/tweets", json_body=body),
                bucket="post",
                creates=True,
            )
            if response.status_code == 403:
                error = self.error_for(response)
                if isinstance(error, Rejected) and error.duplicate:
                    ref = yield from self._after_duplicate(part, thread, error)
                    self._uploaded.pop(thread.key)
                    return ref
                raise error
        except Rejected:
            # A refusal is final (X may have refused the media themselves): a later
            # attempt of the part uploads afresh.
            self._uploaded.pop(thread.key)
            raise
        post_id = self.parse(response, _Created).data.id
        self._uploaded.pop(thread.key)
        return self._ref(part.index, post_id, thread, parent)

    def _check_options(self, rendered: Rendered, part: RenderedPart) -> None:
        if part.media and rendered.options.get("quote_tweet_id"):
            # X refuses media with quote_tweet_id: posting the media alone would drop the
            # quote without a word.
            raise ContentError(
                "x cannot quote a post and attach media in one post: remove the media from "
                "the first part, or drop options['quote_tweet_id'] (and put the post's link "
                "in the text)",
                field="options.quote_tweet_id",
                platform=self.name,
            )
        if "reply_settings" not in rendered.options:
            return
        value = rendered.options["reply_settings"]
        if value != _EVERYONE and value not in _REPLY_SETTINGS:
            # Left out, a value X does not take would open the post to everyone's replies.
            raise ContentError(
                f"x reply_settings must be one of {', '.join(_REPLY_SETTINGS)} (or "
                f"{_EVERYONE!r}, X's default), got {value!r}",
                field="options.reply_settings",
                platform=self.name,
            )

    def _part_media(self, part: RenderedPart, thread: ThreadContext) -> Flow[list[str]]:
        """The part's media ids: those an earlier attempt of this part uploaded, while X
        still keeps them, else new uploads."""
        now = self.clock()
        kept = self._uploaded.get(thread.key, len(part.media), now)
        if kept is not None:
            return kept
        media_ids: list[str] = []
        for i, media in enumerate(part.media):
            media_ids.append((yield from self._upload(media, i)))
        if media_ids:
            self._uploaded.put(thread.key, now, media_ids)
        return media_ids

    def _parent(self, thread: ThreadContext) -> Flow[str | None]:
        """The id the part answers: the previous part's, else the message's newest version.

        For a message whose author may have edited it since it was read (`reply_target`
        marks it), one ``GET /2/tweets?ids=`` finds the newest version: X's app shows an
        older one as superseded and, by reports, takes no reply to it (the API documents
        nothing either way), and an answer there would not be under what the author now
        says. What was found is kept in ``thread.progress``: a repeated create, and the
        look-up of a lost one, use the same parent."""
        parent = thread.parent
        if parent is None:
            return None
        if thread.previous or not parent.extra.get(_LOOK_UP):
            return parent.id
        found = thread.progress.get(_PARENT)
        if found is None:
            found = yield from self._newest_version(parent.id)
            thread.progress[_PARENT] = found
        return found

    def _newest_version(self, post_id: str) -> Flow[str]:
        """The id of the newest version of ``post_id``'s edit chain (``GET /2/tweets``;
        ``edit_history_tweet_ids`` comes by default); ``post_id`` itself when X does not
        return the post (it was deleted: the create says so in X's words) or answers what
        brandkit cannot read (the version last read is still one to answer).

        Raises:
            AuthError, RateLimited, PlatformUnavailable, Rejected: see `error_for`.
        """
        params = {"ids": post_id}
        response = yield from self._send(
            lambda: self._request("GET", "/2/tweets", params=params),
            bucket="lookup",
            idempotent=True,
        )
        try:
            found = self.parse(response, _Versions).data
        except MalformedResponse as exc:
            logger.warning("x: the newest version of %s is not known (%s)", post_id, exc)
            return post_id
        for post in found:
            chain = post.edit_history_tweet_ids or (post.id,)
            if post_id in (post.id, *chain):
                return chain[-1]
        return post_id

    def _create_body(
        self,
        rendered: Rendered,
        part: RenderedPart,
        parent: str | None,
        media_ids: Sequence[str],
    ) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if part.text:
            body["text"] = part.text
        if media_ids:
            body["media"] = {"media_ids": list(media_ids)}
        if parent is not None:
            body["reply"] = {"in_reply_to_tweet_id": parent}
        options = rendered.options
        reply_settings = options.get("reply_settings")
        if reply_settings in _REPLY_SETTINGS and part.index == 0:
            body["reply_settings"] = reply_settings
        quote = options.get("quote_tweet_id")
        if quote and part.index == 0:
            body["quote_tweet_id"] = str(quote)
        return body

    def _ref(self, index: int, post_id: str, thread: ThreadContext, parent: str | None) -> PartRef:
        extra = {"in_reply_to": parent} if parent is not None else {}
        if thread.reply_to is not None and thread.root is not None:
            # An answer joins someone else's conversation: `replies` searches that one.
            extra["conversation"] = thread.root.id
        return PartRef(index=index, id=post_id, url=self._url(post_id), extra=extra)

    def _upload(self, media: Media, index: int) -> Flow[str]:
        """INIT → APPEND per 1 MiB chunk → FINALIZE → STATUS until processed → alt text."""
        category = _MEDIA_CATEGORY[media.kind]
        init_body = {
            "media_type": media.mime_type,
            "total_bytes": media.size,
            "media_category": category,
        }
        # Media steps change nothing anyone sees: an orphaned upload expires by itself, and
        # X takes an APPEND again for the same segment index. So they may be repeated.
        response = yield from self._send(
            lambda: self._request("POST", "/2/media/upload/initialize", json_body=init_body),
            bucket="media_init",
            idempotent=True,
        )
        media_id = self.parse(response, _MediaInit).id
        base = f"/2/media/upload/{media_id}"
        for segment, chunk in enumerate(media.chunks(self.chunk_size)):
            response = yield from self._send(
                lambda s=segment, c=chunk: self._request(  # type: ignore[misc]
                    "POST",
                    f"{base}/append",
                    form={"segment_index": str(s)},
                    files={"media": (media.filename, c, "application/octet-stream")},
                ),
                bucket="media_append",
                idempotent=True,
            )
            self.check(response)
        response = yield from self._send(
            lambda: self._request("POST", f"{base}/finalize"),
            bucket="media_finalize",
            idempotent=True,
        )
        info = self.parse(response, _MediaState).info
        polls = 0
        waited = 0.0
        while info is not None and info.state in ("pending", "in_progress"):
            polls += 1
            if polls > _MAX_STATUS_POLLS or waited >= MEDIA_PROCESSING_TIMEOUT:
                raise PlatformUnavailable(
                    f"x is still processing media[{index}] after {polls - 1} status checks "
                    f"({waited:.0f} s)",
                    platform=self.name,
                )
            after = info.check_after_secs
            wait = float(after) if after is not None and after > 0 else 1.0
            wait = min(wait, _MAX_CHECK_AFTER, MEDIA_PROCESSING_TIMEOUT - waited)
            waited += wait
            yield Wait(wait)
            response = yield from self._send(
                lambda: self._request(
                    "GET",
                    "/2/media/upload",
                    params={"command": "STATUS", "media_id": media_id},
                ),
                bucket="media_status",
                idempotent=True,
            )
            info = self.parse(response, _MediaState).info
        if info is not None and info.state == "failed":
            error = info.error or _ProcessingError()
            reason = error.message or error.name or "processing failed"
            raise Rejected(
                f"x could not process media[{index}] ({media.filename}): {reason}",
                platform=self.name,
                platform_message=reason,
                code=error.code,
            )
        if media.alt:
            meta = {"id": media_id, "metadata": {"alt_text": {"text": media.alt}}}
            response = yield from self._send(
                lambda: self._request("POST", "/2/media/metadata", json_body=meta),
                bucket="media_metadata",
                idempotent=True,
            )
            self.check(response)
        return media_id

    # -- find-my-post ------------------------------------------------------------------------

    def find_part(
        self, rendered: Rendered, part: RenderedPart, thread: ThreadContext
    ) -> Flow[PartRef | None]:
        """Look for this part among the user's posts made since the delivery started
        (``GET /2/users/:id/tweets``): same text (links aside, as X rewrites them), same
        parent. Returns the earliest such post, or ``None``."""
        start = self._cutoff(thread)
        newer, _older, _others = yield from self._matches(
            part, thread, start=start, pages=_TIMELINE_PAGES
        )
        parents = _parents(thread)
        if not newer:
            return None
        return self._ref(part.index, newer[-1], thread, parents[0] if parents else None)

    def _cutoff(self, thread: ThreadContext) -> datetime | None:
        """The earliest time this part can have been posted: when its key was made (less the
        clock margin), or ``None`` when the key tells no believable time."""
        made = _tid_time(thread.key)
        now = datetime.fromtimestamp(self.clock(), UTC)
        if made is None or made > now + _CLOCK_SKEW:
            return None
        return made - _CLOCK_SKEW

    def _after_duplicate(
        self, part: RenderedPart, thread: ThreadContext, error: Rejected
    ) -> Flow[PartRef]:
        """X says the text is a duplicate: find the post this delivery made, if it exists."""
        newer, older, others = yield from self._matches(part, thread, start=None, pages=1)
        if newer:
            parents = _parents(thread)
            return self._ref(part.index, newer[-1], thread, parents[0] if parents else None)
        if older:
            error.existing_id = older[0]
            raise error
        if others:
            error.existing_id = others[0]
            raise Rejected(
                f"{error} -- X refuses this post as a repeat of {error.existing_id}, which "
                "another delivery of this account published: this one is not posted (change "
                "the text to post it as well)",
                platform=self.name,
                status_code=error.status_code,
                platform_message=error.platform_message,
                code=error.code,
                duplicate=True,
                existing_id=error.existing_id,
            )
        raise TransportError(
            f"{error} — the post is probably published but cannot be seen yet; "
            "reconcile the delivery later",
            platform=self.name,
            status_code=error.status_code,
            platform_message=error.platform_message,
            code=error.code,
            maybe_delivered=True,
        )

    def _matches(
        self,
        part: RenderedPart,
        thread: ThreadContext,
        *,
        start: datetime | None,
        pages: int,
    ) -> Flow[tuple[list[str], list[str], list[str]]]:
        """Ids of the user's posts that match ``part``, newest first: those made since this
        delivery started, older ones, and those made since that another delivery recorded
        (`ThreadContext.taken`: never this part's)."""
        user_id, _ = yield from self._whoami()
        cutoff = self._cutoff(thread)
        parents = _parents(thread)
        wanted = _comparable(part.text)
        params = {
            "max_results": "100",
            "exclude": "retweets",
            "tweet.fields": "created_at,referenced_tweets,attachments,note_tweet",
        }
        if start is not None:
            params["start_time"] = start.strftime("%Y-%m-%dT%H:%M:%SZ")
        newer: list[str] = []
        older: list[str] = []
        others: list[str] = []
        token: str | None = None
        for _ in range(pages):
            query = dict(params)
            if token:
                query["pagination_token"] = token
            response = yield from self._send(
                lambda q=query: self._request(  # type: ignore[misc]
                    "GET", f"/2/users/{user_id}/tweets", params=q
                ),
                bucket="timeline",
                idempotent=True,
            )
            timeline = self.parse(response, _Timeline)
            for post in timeline.data:
                if not self._same(post, part, parents, wanted):
                    continue
                made = parse_time(post.created_at) or snowflake_time(post.id)
                is_new = cutoff is None or made is None or made >= cutoff
                if is_new and post.id in thread.taken:
                    others.append(post.id)  # another delivery's post, not this one
                    continue
                (newer if is_new else older).append(post.id)
            token = timeline.meta.next_token if timeline.meta is not None else None
            if not token:
                break
        return newer, older, others

    @staticmethod
    def _same(post: _TimelinePost, part: RenderedPart, parents: Sequence[str], wanted: str) -> bool:
        """``post`` is ``part`` as sent: its text, under one of ``parents`` (none: a post
        that answers nothing), with as many media."""
        text = post.note_tweet.text if post.note_tweet and post.note_tweet.text else post.text
        if text is None:
            return False
        if _comparable(text) != wanted:
            # An answer to someone else may come back with their @handles put first.
            bare = _REPLY_HANDLES.sub("", text, count=1)
            if not parents or bare == text or _comparable(bare) != wanted:
                return False
        replied_to = None
        for ref in post.referenced_tweets:
            if ref.type == "replied_to":
                replied_to = ref.id
        if replied_to not in parents if parents else replied_to is not None:
            return False
        keys = post.attachments.media_keys if post.attachments is not None else ()
        return len(keys) == len(part.media)

    # -- conversations -----------------------------------------------------------------------

    def inbox(self, cursor: str | None, *, limit: int) -> Flow[InboxPage]:
        """What the audience said to the account since ``cursor``, from its mentions
        timeline (``GET /2/users/:id/mentions``, 100 posts a request, ``since_id``).

        One feed covers replies, mentions and quotes: a reply carries the @handles of the
        conversation it answers (X's clients put them first), so every reply to the
        account's posts is a post that mentions the account. A quote is read when it names
        the account; X does not put a quote that does not in the mentions timeline. The
        account's own posts are left out. X pages newest first, so a read that stops at
        ``limit`` returns the newest messages and a cursor that goes on with older ones
        (``until_id``) before any newer than this read.

        Raises:
            ConfigurationError: ``cursor`` is not one this adapter made for this account.
            MalformedResponse: a page brandkit cannot read (the cursor does not advance).
            AuthError, RateLimited, PlatformUnavailable, Rejected: see `error_for`.
        """
        from brandkit.inbox._model import InboxPage

        user_id, _ = yield from self._whoami()
        state = self._read_cursor(cursor, user_id)
        since, until, top = state.since, state.until, state.top
        messages: list[Message] = []
        token: str | None = None
        oldest: int | None = None  # the oldest post read, where a read stopped goes on
        for _ in range(_MAX_INBOX_PAGES):
            params = self._conversation_params(max(5, min(100, limit - len(messages))))
            if since:
                params["since_id"] = since
            if until:
                params["until_id"] = until
            if token:
                params["pagination_token"] = token
            response = yield from self._send(
                lambda q=params: self._request(  # type: ignore[misc]
                    "GET", f"/2/users/{user_id}/mentions", params=q
                ),
                bucket="mentions",
                idempotent=True,
            )
            page, body = self._conversation_page(response)
            if page.data:
                ids = [int(p.id) for p in page.data]
                if top is None or max(ids) > int(top):
                    top = str(max(ids))
                oldest = min(ids) if oldest is None else min(oldest, *ids)
            messages += self._messages(page, body, user_id, conversation_of=None)
            # A page may hold fewer posts than asked, even none, and still have a
            # next_token: X says more results are available, so it is followed.
            token = page.meta.next_token if page.meta is not None else None
            if not token or len(messages) >= limit:
                break
        # X pages newest first; ids are snowflakes, so their order is the order of time.
        messages = _newest(messages)
        if token:
            if oldest is None:
                raise MalformedResponse(
                    f"x answered {_MAX_INBOX_PAGES} empty mentions pages that each said more "
                    "were available: brandkit stopped reading (the cursor was not moved)",
                    platform=self.name,
                    status_code=response.status_code,
                )
            # Stopped at the limit (or the page bound): go on below the oldest post read.
            more = _Cursor(v=1, user=user_id, since=since, until=str(oldest), top=top)
            return InboxPage(messages=messages, cursor=_dump(more), more=True)
        done = _Cursor(v=1, user=user_id, since=top or since)
        return InboxPage(messages=messages, cursor=_dump(done), more=False)

    def replies(self, refs: Sequence[PartRef]) -> Flow[list[Message]]:
        """The replies under the post ``refs``: recent search ``conversation_id:<id>``, 100
        posts a request, of the conversation its parts are in (their own, or for an answer
        the one it joined, of which only what answers the answer, directly or further
        down, is kept). A reply to any version of an edited part or message is under it:
        ``in_reply_to`` names the original (`_originals`). X's recent search reaches back
        7 days; replies to an older post are not returned.

        Raises:
            MalformedResponse: a page brandkit cannot read.
            AuthError, RateLimited, PlatformUnavailable, Rejected: see `error_for`.
        """
        user_id, _ = yield from self._whoami()
        first = refs[0].id
        conversation = refs[0].extra.get("conversation")
        root = conversation if isinstance(conversation, str) and conversation else first
        out: list[Message] = []
        token: str | None = None
        for _ in range(_MAX_INBOX_PAGES):
            params = self._conversation_params(100)
            params["query"] = f"conversation_id:{root}"
            if token:
                params["next_token"] = token
            response = yield from self._recent_search(params)
            page, body = self._conversation_page(response)
            out += self._messages(page, body, user_id, conversation_of=first)
            token = page.meta.next_token if page.meta is not None else None
            if not token:  # an empty page with a next_token still has more after it
                break
        out = _newest(out)
        if root == first:
            return out
        # Someone else's conversation: keep what hangs under the answer's parts.
        under = {ref.id for ref in refs}
        kept: list[Message] = []
        for message in out:  # oldest first, so a parent comes before its replies
            if message.in_reply_to in under:
                under.add(message.id)
                kept.append(message)
        return kept

    # -- listening ---------------------------------------------------------------------------

    search_min_page: ClassVar[int] = SEARCH_PAGE_MIN
    """The fewest posts one search request returns and bills: a `search` ``limit`` below it
    is refused (the listener does not search with a budget left below it)."""

    def compile_query(self, query: Query) -> str:
        """``query`` as X's recent-search query text; see the module's `compile_query`.

        Raises:
            UnsupportedQuery: a hashtag, handle or language X cannot take, or over 512
                characters.
        """
        return compile_query(query)

    def search(self, query: Query, cursor: str | None, *, limit: int) -> Flow[SearchPage]:
        """Public posts of the last 7 days matching ``query`` written since ``cursor``:
        ``GET /2/tweets/search/recent``, newest first in pages of up to 100, as
        ``Message(kind="found")`` with the author's followers. ``in_reply_to`` is the
        original's id of an edited post the search also found (`_answering_original`),
        else the version X names.

        X bills every post it returns and returns at least 10 a page (``max_results``
        10-100), so ``max_results`` is what is left of ``limit`` and the search stops once
        fewer than 10 are left, with ``more`` and a cursor that goes on below the oldest
        post read before anything newer: never more than ``limit`` posts are read (and
        billed). ``since``/``until`` become ``start_time``/``end_time``: a ``since`` older
        than the 7 days is moved to the window's start (X refuses older times), and an
        ``until`` before it finds nothing without a request. A cursor's ``since_id`` that
        fell out of the window, or that is older than ``since``, is replaced the same way.
        The cursor names the query (its text and times) and the account (`cursor_tag`).

        When a page after the first fails (a 5xx, a timeout, the rate limit or X's usage
        cap: any `BrandkitError`), the pages already read, which X billed, are returned with
        ``more`` and the same cursor as at the limit, and the failure is logged as a
        warning (redacted); only a failed first page raises.

        Raises:
            UnsupportedQuery: see `compile_query` (before any request).
            ConfigurationError: ``limit`` is below X's smallest page of 10 (X would bill
                10), or ``cursor`` is not an X search cursor brandkit made, or it was made
                for another query or account (before any request).
            MalformedResponse: a first page brandkit cannot read.
            RateLimited: on the first page: the rate limit, or X's usage cap (then until
                the period ends).
            AuthError, PlatformUnavailable, Rejected: on the first page, see `error_for`.
            TransportError: the first page's request failed on the way (a timeout).
        """
        from brandkit.listening._query import SearchPage

        text = compile_query(query)
        if limit < SEARCH_PAGE_MIN:
            raise ConfigurationError(
                f"limit={limit} is below the {SEARCH_PAGE_MIN} posts X's recent search returns "
                f"(and bills) at the least: pass a limit of {SEARCH_PAGE_MIN} or more"
            )
        tag = self._search_tag(query, text)
        state = self._read_search_cursor(cursor, tag)
        now = datetime.fromtimestamp(self.clock(), UTC)
        oldest = now - SEARCH_WINDOW + _SEARCH_MARGIN
        if query.until is not None and query.until <= oldest:
            return SearchPage(messages=(), cursor=cursor, more=False)
        since, until, top = state.since, state.until, state.top
        # X reads start_time and end_time to the second: the whole seconds that hold the
        # query's times are asked for, and what falls outside them dropped after reading.
        first_second = query.since.replace(microsecond=0) if query.since is not None else None
        end = query.until
        if end is not None and end.microsecond:
            end = end.replace(microsecond=0) + timedelta(seconds=1)
        if since is not None:
            read_up_to = snowflake_time(since) or now
            # A since_id within since's own second is where start_time would start too:
            # replacing it would read (and X bill) the posts of that second again.
            if read_up_to < oldest or (first_second is not None and read_up_to < first_second):
                # Out of X's window, or before the query's own start: X would take since_id
                # alone, so start_time says it instead.
                since = None
        fixed: dict[str, str] = {"query": text, **self._search_fields()}
        if since is None:
            start = max(query.since, oldest) if query.since is not None else None
            if start is not None:
                fixed["start_time"] = _rfc3339(start)
        else:
            fixed["since_id"] = since
        if until is not None:
            fixed["until_id"] = until
        elif end is not None and end < now - _END_TIME_GAP:
            fixed["end_time"] = _rfc3339(end)
        messages: list[Message] = []
        # Each version of the posts read, to its original's id (`_originals`).
        originals: dict[str, str] = {}
        read = 0
        token: str | None = None
        page: _ConvPage | None = None
        for _ in range(_MAX_SEARCH_PAGES):
            # At most what is left of the limit (X bills each post returned); the loop ends
            # before fewer than X's smallest page is left.
            params = dict(fixed, max_results=str(min(100, limit - read)))
            if token:
                params["next_token"] = token
            try:
                response = yield from self._recent_search(params)
                got, _ = self._conversation_page(response)
                found = self._found(got, response)
            except BrandkitError as exc:
                if page is None:
                    raise
                # X billed the pages before this one: raising would throw them away before
                # the caller counts them against its budget, and the next search would read
                # (and X bill) them again. ``page`` is still the last good one, so the
                # cursor below goes on under it, as at the limit.
                logger.warning(
                    "%s: X's recent search stopped after %d posts, the next page failed "
                    "(%s); the next search goes on below them",
                    self.account.key,
                    read,
                    self.account.redact(f"{type(exc).__name__}: {exc}"),
                )
                break
            page = got
            read += len(page.data)
            originals.update(_originals(page.data))
            if page.data:
                newest = max(page.data, key=lambda p: int(p.id)).id
                if top is None or int(newest) > int(top):
                    top = newest
            messages += found
            token = page.meta.next_token if page.meta is not None else None
            if not token or not page.data or limit - read < SEARCH_PAGE_MIN:
                break
        messages = [
            _answering_original(m, originals)
            for m in sorted(messages, key=lambda m: int(m.id))
            if (query.since is None or m.created_at >= query.since)
            and (query.until is None or m.created_at < query.until)
        ]
        if token and page is not None and page.data:
            # Stopped at the limit: go on below the oldest post read, then newer ones.
            low = min(page.data, key=lambda p: int(p.id)).id
            more = _SearchCursor(v=1, search=True, q=tag, since=since, until=low, top=top)
            return SearchPage(messages=messages, cursor=_dump(more), more=True, read=read)
        done = _SearchCursor(v=1, search=True, q=tag, since=top or since)
        return SearchPage(messages=messages, cursor=_dump(done), more=False, read=read)

    def _recent_search(self, params: Mapping[str, str]) -> Flow[httpx.Response]:
        """One ``GET /2/tweets/search/recent`` page, paced in the ``search`` bucket."""
        return (
            yield from self._send(
                lambda: self._request("GET", "/2/tweets/search/recent", params=params),
                bucket="search",
                idempotent=True,
            )
        )

    @staticmethod
    def _search_fields() -> dict[str, str]:
        return {
            "tweet.fields": _SEARCH_FIELDS,
            "expansions": "author_id",
            "user.fields": "username,name,public_metrics",
        }

    def _search_tag(self, query: Query, text: str) -> str:
        """What the search cursor names: the account, the query text and its times (a
        cursor read under other times could skip posts between them)."""
        times = [
            t.astimezone(UTC).isoformat() if t is not None else ""
            for t in (query.since, query.until)
        ]
        return cursor_tag(self.account.key, text, *times)

    def _read_search_cursor(self, cursor: str | None, tag: str) -> _SearchCursor:
        if cursor is None:
            return _SearchCursor(v=1, search=True)
        try:
            state = _SearchCursor.model_validate_json(cursor)
        except pydantic.ValidationError:
            raise ConfigurationError(
                "this is not an X search cursor brandkit made (it cannot be read): pass "
                "since=None to search the last 7 days again"
            ) from None
        # A cursor written before cursors named their query (no q) cannot be checked.
        if state.q is not None and state.q != tag:
            raise ConfigurationError(
                "this X search cursor was made for another query (or another account than "
                f"{self.account.key}): going on from it would skip this query's older "
                "matches; pass the cursor saved for this query, or since=None to search the "
                "last 7 days again"
            )
        return state

    def _found(self, page: _ConvPage, response: httpx.Response) -> list[Message]:
        """The page's posts as found messages, with their authors' followers."""
        from brandkit.inbox._model import Author, Message

        includes = page.includes or _ConvIncludes()
        users = {u.id: u for u in includes.users}
        body = _body(response)
        items = body.get("data") if isinstance(body, dict) else None
        raw = {
            item["id"]: item
            for item in (items if isinstance(items, list) else [])
            if isinstance(item, dict) and isinstance(item.get("id"), str)
        }
        out: list[Message] = []
        now = datetime.fromtimestamp(self.clock(), UTC)
        for post in page.data:
            author = users.get(post.author_id)
            handle = author.username if author is not None else None
            text = html.unescape(
                post.note_tweet.text if post.note_tweet and post.note_tweet.text else post.text
            )
            replied = post.ref("replied_to")
            if replied is not None:
                text = _REPLY_HANDLES.sub("", text, count=1) or text
            metrics = author.public_metrics if author is not None else None
            # The original's id, as the inbox reads it: one message for a post found and
            # read, whatever version each read met.
            created, edited_at, extra = _versions(post, now)
            out.append(
                Message(
                    platform=self.name,
                    account=self.account.key,
                    id=post.original,
                    kind="found",
                    author=Author(
                        id=post.author_id,
                        handle=handle,
                        name=author.name if author is not None else None,
                        url=f"https://x.com/{handle}" if handle else None,
                        followers=metrics.followers_count if metrics is not None else None,
                    ),
                    text=text,
                    created_at=created,
                    url=(
                        f"https://x.com/{handle}/status/{post.id}"
                        if handle
                        else f"https://x.com/i/web/status/{post.id}"
                    ),
                    in_reply_to=replied or post.ref("quoted"),
                    conversation=post.conversation_id,
                    raw=raw.get(post.id, {}),
                    extra={**extra, "lang": post.lang} if post.lang else extra,
                    edited_at=edited_at,
                )
            )
        return out

    def reply_target(self, message: Message) -> PartRef:
        """The message as the parent of an answer (``reply.in_reply_to_tweet_id``): its
        newest version as last read (an edited post's versions each have an id; the
        message keeps the original's), with the conversation's root when it is another
        post than that version. A message read while its author could still edit it is
        marked so that the answer looks up its newest version first (`publish_part`)."""
        self.check_message(message)
        target = _target(message)
        extra: dict[str, Any] = {}
        # An edited post that started its conversation is its root too, but by the
        # original's id (an edit keeps the conversation_id): named by the version answered,
        # `replies` searched a conversation X does not know, and found nothing under the
        # answer.
        if message.conversation and message.conversation != target:
            extra["root"] = PartRef(index=0, id=message.conversation).to_dict()
        if _may_be_newer(message):
            # Its author may have edited it since: the answer looks up the newest version.
            extra[_LOOK_UP] = message.id
        return PartRef(index=0, id=target, url=message.url, extra=extra)

    def _current(self, message: Message) -> Flow[str]:
        """The post to act on for ``message`` now: its newest version, looked up (one
        request) only when its author may have edited it since it was read
        (`_may_be_newer`), else the version last read (`_target`)."""
        target = _target(message)
        if not _may_be_newer(message):
            return target
        return (yield from self._newest_version(target))

    def set_hidden(self, message: Message, hidden: bool) -> Flow[None]:
        """Hide (or show again) a reply: ``PUT /2/tweets/:id/hidden``. X hides replies only
        in conversations the account started; a hidden reply stays readable through the
        API and on X behind "View hidden replies". It goes to the reply's newest version,
        looked up first when its author may have edited it since it was read.

        Raises:
            ConfigurationError: the message is not a reply (before any request).
            Rejected: X refused (a conversation the account did not start, more than 725
                hidden replies in one conversation).
            MalformedResponse: an answer that does not say the new state.
        """
        if message.in_reply_to is None:
            raise ConfigurationError(
                f"x hides only replies, and message {message.id!r} is a {message.kind} "
                "that answers no post"
            )
        body = {"hidden": hidden}
        target = yield from self._current(message)
        response = yield from self._send(
            lambda: self._request("PUT", f"/2/tweets/{target}/hidden", json_body=body),
            bucket="hide",
            idempotent=True,
        )
        state = self.parse(response, _Hidden).data.hidden
        if state is not hidden:
            raise Rejected(
                f"x answered hidden={str(state).lower()} when asked to "
                f"{'hide' if hidden else 'show'} reply {message.id}",
                platform=self.name,
                status_code=response.status_code,
            )

    def like(self, message: Message) -> Flow[None]:
        """Like the message as the account: ``POST /2/users/:id/likes``; liking a post
        that is already liked is not an error. The like goes to the newest version, looked
        up first when its author may have edited it since it was read.

        Raises:
            Rejected: X refused (the post is gone or cannot be seen).
            MalformedResponse: an answer without ``data.liked``.
        """
        user_id, _ = yield from self._whoami()
        body = {"tweet_id": (yield from self._current(message))}
        response = yield from self._send(
            lambda: self._request("POST", f"/2/users/{user_id}/likes", json_body=body),
            bucket="like",
            idempotent=True,
        )
        if not self.parse(response, _Liked).data.liked:
            raise Rejected(
                f"x answered liked=false when asked to like {message.id}",
                platform=self.name,
                status_code=response.status_code,
            )

    def _read_cursor(self, cursor: str | None, user_id: str) -> _Cursor:
        if cursor is None:
            return _Cursor(v=1, user=user_id)
        try:
            state = _Cursor.model_validate_json(cursor)
        except pydantic.ValidationError:
            raise ConfigurationError(
                "this is not an X inbox cursor brandkit made (it cannot be read): pass "
                "since=None to read the inbox from the start"
            ) from None
        if state.user != user_id:
            raise ConfigurationError(
                f"this X inbox cursor belongs to user {state.user}, not to "
                f"{self.account.key} (user {user_id}): pass that account's own cursor, or "
                "since=None"
            )
        return state

    @staticmethod
    def _conversation_params(max_results: int) -> dict[str, str]:
        return {
            "max_results": str(max_results),
            "tweet.fields": _CONVERSATION_FIELDS,
            "expansions": "author_id,referenced_tweets.id",
            "user.fields": "username,name",
        }

    def _conversation_page(self, response: httpx.Response) -> tuple[_ConvPage, Any]:
        """The page and its decoded JSON (each message keeps its post's JSON as ``raw``),
        decoded once rather than twice.

        Raises:
            PlatformError, MalformedResponse: as `parse`; Rejected: X answered only errors.
        """
        page, body = self.parse_with_body(response, _ConvPage)
        if page.errors and not page.data and page.meta is None:
            # X answers 200 with only errors for a user or query it cannot serve.
            first = page.errors[0]
            detail = first.detail or first.title or "no data"
            raise Rejected(
                f"x answered {response.status_code} without posts: {detail}",
                platform=self.name,
                status_code=response.status_code,
                platform_message=detail,
                code=(first.type or "").rsplit("/", 1)[-1] or None,
            )
        return page, body

    def _messages(
        self,
        page: _ConvPage,
        body: Any,
        user_id: str,
        *,
        conversation_of: str | None,
    ) -> list[Message]:
        """The page's posts by others as messages (the account's own left out); ``body``
        is the page's decoded JSON."""
        includes = page.includes or _ConvIncludes()
        users = {u.id: u for u in includes.users}
        # A parent is found by the version a reply names, or by any id of its chain.
        referenced = {t.id: t for t in includes.tweets}
        for t in includes.tweets:
            for version in t.edit_history_tweet_ids:
                referenced.setdefault(version, t)
        originals = _originals((*page.data, *includes.tweets))
        items = body.get("data") if isinstance(body, dict) else None
        raw = {
            item["id"]: item
            for item in (items if isinstance(items, list) else [])
            if isinstance(item, dict) and isinstance(item.get("id"), str)
        }
        out: list[Message] = []
        for post in page.data:
            if post.author_id == user_id:
                continue
            if conversation_of is not None and post.ref("replied_to") is None:
                continue  # the conversation's root, when someone else's post is asked for
            out.append(
                self._message(
                    post,
                    users,
                    referenced,
                    originals,
                    raw.get(post.id, {}),
                    user_id,
                    conversation_of,
                )
            )
        return out

    def _message(
        self,
        post: _ConvPost,
        users: Mapping[str, _Author],
        referenced: Mapping[str, _RefPost],
        originals: Mapping[str, str],
        raw: Mapping[str, Any],
        user_id: str,
        conversation_of: str | None,
    ) -> Message:
        """``post`` as a message; ``in_reply_to`` and ``our_post`` name the original of
        the version it answers or quotes (``originals``), the id a message or a delivery
        keeps, whichever version X names."""
        from brandkit.inbox._model import Author, Message

        replied = post.ref("replied_to")
        quoted = post.ref("quoted")
        in_reply_to: str | None = None
        our_post: str | None = None
        if replied is not None:
            in_reply_to = originals.get(replied, replied)
            our_post = conversation_of or self._our_post(
                post, replied, referenced, originals, user_id
            )
            answers_us = post.in_reply_to_user_id == user_id or our_post is not None
            kind = "reply" if answers_us else "mention"
        elif quoted is not None:
            in_reply_to = originals.get(quoted, quoted)
            quoted_post = referenced.get(quoted)
            if quoted_post is not None and quoted_post.author_id == user_id:
                our_post = in_reply_to
            kind = "quote"
        else:
            kind = "mention"
        author = users.get(post.author_id)
        handle = author.username if author is not None else None
        text = html.unescape(
            post.note_tweet.text if post.note_tweet and post.note_tweet.text else post.text
        )
        if replied is not None:
            # X's clients put the conversation's @handles first; they are not what was said.
            text = _REPLY_HANDLES.sub("", text, count=1) or text
        created, edited_at, extra = _versions(post, datetime.fromtimestamp(self.clock(), UTC))
        url = (
            f"https://x.com/{handle}/status/{post.id}"
            if handle
            else f"https://x.com/i/web/status/{post.id}"
        )
        return Message(
            platform=self.name,
            account=self.account.key,
            id=post.original,
            kind=kind,
            author=Author(
                id=post.author_id,
                handle=handle,
                name=author.name if author is not None else None,
                url=f"https://x.com/{handle}" if handle else None,
            ),
            text=text,
            created_at=created,
            url=url,
            in_reply_to=in_reply_to,
            conversation=post.conversation_id,
            our_post=our_post,
            hidden=False,  # X's post objects do not say whether a reply is hidden
            raw=raw,
            extra=extra,
            edited_at=edited_at,
        )

    @staticmethod
    def _our_post(
        post: _ConvPost,
        replied: str,
        referenced: Mapping[str, _RefPost],
        originals: Mapping[str, str],
        user_id: str,
    ) -> str | None:
        """The account's post at the root of ``post``'s conversation (its original's id),
        as far as the post and its parent (``includes.tweets``) show it; ``None`` when
        they do not. Any version of a post counts as that post (``originals``)."""
        if post.conversation_id is None:
            return None
        conversation = originals.get(post.conversation_id, post.conversation_id)

        def same(version: str | None) -> bool:
            return version is not None and originals.get(version, version) == conversation

        if same(replied) and post.in_reply_to_user_id == user_id:
            return conversation  # an answer to the account's post that started it
        parent = referenced.get(replied)
        if parent is None:
            return None
        if parent.author_id == user_id:
            if same(parent.id):
                return conversation
            if parent.in_reply_to_user_id == user_id:
                return conversation  # a part of the account's own thread
            return None
        if same(parent.ref("replied_to")) and parent.in_reply_to_user_id == user_id:
            return conversation  # an answer to an answer to the account's post
        return None

    # -- delete ------------------------------------------------------------------------------

    def delete_part(self, ref: PartRef) -> Flow[None]:
        """``DELETE /2/tweets/:id``; a post that is already gone is not an error.

        Raises:
            MalformedResponse: a success answer without ``data.deleted``: the post may
                still be up, so it does not count as deleted.
            PlatformError: X refused (typed by `error_for`).
        """
        response = yield from self._send(
            lambda: self._request("DELETE", f"/2/tweets/{ref.id}"),
            bucket="delete",
            idempotent=True,
        )
        if response.status_code == 404:
            return
        self.parse(response, _Deleted)

    # -- metrics -----------------------------------------------------------------------------

    def collect_metrics(self, refs: Sequence[PartRef]) -> Flow[list[MetricSample]]:
        """Metrics of up to 100 posts with ``GET /2/tweets?ids=…``.

        Posts younger than 30 days are asked for public, non-public and organic metrics in
        one request; older ones (X refuses their private metrics and then drops them from the
        answer) are asked for public metrics only, with link and profile clicks marked
        unavailable. A batch that mixes both ages takes two requests.
        """
        if len(refs) > self.metrics_batch_size:
            raise ValueError(f"at most {self.metrics_batch_size} posts per call, got {len(refs)}")
        now = datetime.fromtimestamp(self.clock(), UTC)
        recent: list[str] = []
        old: list[str] = []
        for ref in refs:
            made = snowflake_time(ref.id)
            is_old = made is not None and now - made >= PRIVATE_METRICS_AGE - timedelta(hours=1)
            (old if is_old else recent).append(ref.id)
        samples: list[MetricSample] = []
        if recent:
            found, refused = yield from self._lookup(recent, private=True)
            samples += found
            old += refused
        if old:
            found, _ = yield from self._lookup(old, private=False)
            samples += found
        return samples

    def _lookup(
        self, ids: Sequence[str], *, private: bool
    ) -> Flow[tuple[list[MetricSample], list[str]]]:
        fields = "created_at,public_metrics,attachments"
        if private:
            fields += ",non_public_metrics,organic_metrics"
        params = {
            "ids": ",".join(ids),
            "tweet.fields": fields,
            "expansions": "attachments.media_keys",
            "media.fields": "public_metrics,type",
        }
        response = yield from self._send(
            lambda: self._request("GET", "/2/tweets", params=params),
            bucket="lookup",
            idempotent=True,
        )
        fetched = datetime.now(UTC)
        samples: list[MetricSample] = []
        seen: set[str] = set()
        body: _Lookup | _LookupItems
        try:
            # The common case, in one pass over the bytes.
            body = self.parse(response, _Lookup)
            posts: list[_MetricsPost | tuple[str, str]] = list(body.data)
        except MalformedResponse:
            # Post by post: one that cannot be read costs only its own samples.
            body = self.parse(response, _LookupItems)
            posts = [_read_post(item) for item in body.data]
        media_by_key = {m.media_key: m for m in (body.includes or _Includes()).media}
        for post in posts:
            if isinstance(post, tuple):
                rid, reason = post
                if rid and rid not in seen:
                    seen.add(rid)
                    samples += [
                        self._missing(rid, m, raw, reason, fetched) for m, raw in _PUBLIC_METRICS
                    ]
                continue
            seen.add(post.id)
            samples += self._post_samples(post, media_by_key, fetched, private=private)
        refused: list[str] = []
        for err in body.errors:
            value = err.value if isinstance(err.value, str) else None
            rid = err.resource_id or value or ""
            if not rid or rid in seen or rid in refused:
                continue
            if private and (err.type or "").endswith("/not-authorized-for-field"):
                refused.append(rid)
                continue
            reason = err.detail or err.title or "x did not return this post"
            samples += [self._missing(rid, m, raw, reason, fetched) for m, raw in _PUBLIC_METRICS]
        return samples, refused

    def _sample(
        self,
        post_id: str,
        metric: str,
        raw: str,
        value: Any,
        fetched: datetime,
        posted: datetime | None,
    ) -> MetricSample:
        return MetricSample(
            platform=self.name,
            account=self.account.key,
            metric=metric,
            value=float(value),
            fetched_at=fetched,
            post_id=post_id,
            raw_name=raw,
            posted_at=posted,
        )

    def _missing(
        self, post_id: str | None, metric: str, raw: str | None, reason: str, fetched: datetime
    ) -> MetricSample:
        return MetricSample.unavailable(
            platform=self.name,
            account=self.account.key,
            metric=metric,
            reason=reason,
            fetched_at=fetched,
            post_id=post_id,
            raw_name=raw,
        )

    def _post_samples(
        self,
        post: _MetricsPost,
        media_by_key: Mapping[str, _IncludedMedia],
        fetched: datetime,
        *,
        private: bool,
    ) -> list[MetricSample]:
        post_id = post.id
        posted = parse_time(post.created_at) or snowflake_time(post_id)
        out: list[MetricSample] = []
        public = post.public_metrics
        for metric, raw in _PUBLIC_METRICS:
            names = (raw, "repost_count") if raw == "retweet_count" else (raw,)
            key = next((n for n in names if getattr(public, n) is not None), None)
            if key is None:
                out.append(
                    self._missing(
                        post_id,
                        metric,
                        f"public_metrics.{raw}",
                        f"x did not return public_metrics.{raw}",
                        fetched,
                    )
                )
            else:
                out.append(
                    self._sample(
                        post_id,
                        metric,
                        f"public_metrics.{key}",
                        getattr(public, key),
                        fetched,
                        posted,
                    )
                )
        non_public = post.non_public_metrics
        for metric, raw in _PRIVATE_METRICS:
            value = getattr(non_public, raw) if non_public is not None else None
            if not private:
                reason = "x reports non-public metrics only for posts less than 30 days old"
            elif value is not None:
                out.append(
                    self._sample(
                        post_id, metric, f"non_public_metrics.{raw}", value, fetched, posted
                    )
                )
                continue
            else:
                reason = f"x did not return non_public_metrics.{raw}"
            out.append(self._missing(post_id, metric, f"non_public_metrics.{raw}", reason, fetched))
        for key in post.attachments.media_keys if post.attachments is not None else ():
            media = media_by_key.get(key)
            if media is not None and media.type in ("video", "animated_gif"):
                views = media.public_metrics.view_count if media.public_metrics else None
                if views is not None:
                    out.append(
                        self._sample(
                            post_id,
                            Metric.VIDEO_VIEWS,
                            "media.public_metrics.view_count",
                            views,
                            fetched,
                            posted,
                        )
                    )
                break
        for metric, reason in _NOT_OFFERED:
            out.append(self._missing(post_id, metric, None, reason, fetched))
        return out

    def collect_account_metrics(self) -> Flow[list[MetricSample]]:
        """Followers from ``GET /2/users/me?user.fields=public_metrics``."""
        response = yield from self._send(
            lambda: self._request("GET", "/2/users/me", params={"user.fields": "public_metrics"}),
            bucket="me",
            idempotent=True,
        )
        data = self.parse(response, _MeMetrics).data
        fetched = datetime.now(UTC)
        if data.id and data.username:
            self.account.settings.setdefault("user_id", data.id)
            self.account.settings.setdefault("username", data.username)
        followers = data.public_metrics.followers_count if data.public_metrics else None
        if followers is None:
            return [
                self._missing(
                    None,
                    Metric.FOLLOWERS,
                    "public_metrics.followers_count",
                    "x did not return public_metrics.followers_count",
                    fetched,
                )
            ]
        return [
            MetricSample(
                platform=self.name,
                account=self.account.key,
                metric=Metric.FOLLOWERS,
                value=float(followers),
                fetched_at=fetched,
                raw_name="public_metrics.followers_count",
            )
        ]


_PUBLIC_METRICS: tuple[tuple[str, str], ...] = (
    (Metric.IMPRESSIONS, "impression_count"),
    (Metric.LIKES, "like_count"),
    (Metric.REPOSTS, "retweet_count"),
    (Metric.REPLIES, "reply_count"),
    (Metric.QUOTES, "quote_count"),
    (Metric.BOOKMARKS, "bookmark_count"),
)
_PRIVATE_METRICS: tuple[tuple[str, str], ...] = (
    (Metric.LINK_CLICKS, "url_link_clicks"),
    (Metric.PROFILE_CLICKS, "user_profile_clicks"),
)
_NOT_OFFERED: tuple[tuple[str, str], ...] = (
    (Metric.REACH, "x does not report reach (unique viewers) for posts"),
    (Metric.SHARES, "x post lookup has no share count"),
)


def _rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_LOOK_UP = "newest_of"
"""The `reply_target` extra that marks a message whose newest version an answer looks up
(the message's id)."""
_PARENT = "x_parent"
"""The ``ThreadContext.progress`` entry of the version an answer's create was sent under."""


def _parents(thread: ThreadContext) -> tuple[str, ...]:
    """What the part may have been sent under, the likeliest first: the version of the
    message an earlier attempt looked up (`XAdapter._parent`), and the parent as stored;
    none for a first part that answers nothing."""
    parent = thread.parent
    if parent is None:
        return ()
    found = thread.progress.get(_PARENT) if not thread.previous else None
    return (found, parent.id) if found and found != parent.id else (parent.id,)


def _target(message: Message) -> str:
    """The post to act on for ``message``: the newest version an edit made, as last read
    (``extra["latest"]``, a snowflake), else the message's own id."""
    latest = message.extra.get("latest")
    if isinstance(latest, str) and re.fullmatch(r"[0-9]{1,19}", latest):
        return latest
    return message.id


def _answering_original(message: Message, originals: Mapping[str, str]) -> Message:
    """``message`` with ``in_reply_to`` the original's id of the version it answers or
    quotes, where ``originals`` (the posts a search read, each with its edit chain) knows
    it. X names the version (``referenced_tweets``); asking it for the parent
    (``expansions=referenced_tweets.id``) would be one more post read, and billed, per
    post found. A version no post read knows is left as X names it."""
    replied = message.in_reply_to
    original = originals.get(replied) if replied is not None else None
    if original is None or original == replied:
        return message
    return attrs.evolve(message, in_reply_to=original)


def _newest(messages: Sequence[Message]) -> list[Message]:
    """``messages`` with one per id, the newest version of an edited post where a read
    held two (an edit made while it paged), in the order of their ids."""
    kept: dict[str, Message] = {}
    for message in messages:
        held = kept.get(message.id)
        if held is None or int(_target(message)) > int(_target(held)):
            kept[message.id] = message
    return sorted(kept.values(), key=lambda m: int(m.id))


def _read_post(item: dict[str, pydantic.JsonValue]) -> _MetricsPost | tuple[str, str]:
    """A post of a lookup, or its id and why it cannot be read."""
    try:
        return _MetricsPost.model_validate(item)
    except pydantic.ValidationError as exc:
        rid = item.get("id")
        return (rid if isinstance(rid, str) else "", unreadable("x", exc, "post"))
