"""A faithful, stateful Mastodon instance for tests.

```python
from brandkit import Client, Post
from brandkit.testing.mastodon import MastodonEmulator

emu = MastodonEmulator(max_characters=500)
with emu.serve():
    account = emu.account()
    with Client() as client:
        (delivery,) = client.publish(Post(text="Hello"), account)
    assert emu.post_texts() == ["Hello"]
```

What it answers like Mastodon 4.x (paths, bodies, status codes, the ``{"error": ...}`` shape,
lowercase ``x-ratelimit-*`` headers with an ISO 8601 reset, as in recordings of a real server):

- ``GET /api/v2/instance`` with the configured limits, and the deprecated v1
  ``GET /api/v1/instance`` (with its ``Deprecation`` header) that clients such as Mastodon.py
  read the server version from.
- Over its socket, a ``Host`` that is none of its names (``127.0.0.1`` or ``localhost`` with
  its port) gets HostAuthorization's 403 "Blocked host" HTML page, as a server does for a
  name it is not configured for (``/health`` aside); in-process, any name is its own.
- ``POST /api/v2/media`` (200 when processed, 202 with ``url: null`` while processing; videos
  and GIFs take ``video_processing`` seconds of the emulator clock), ``POST /api/v1/media``,
  ``GET/PUT /api/v1/media/:id`` (206 while processing).
- ``POST /api/v1/statuses`` (form or JSON; unknown parameters are ignored, as Rails' strong
  parameters do) with ``Idempotency-Key`` kept per account for an
  hour of the emulator clock, Mastodon's validation order and messages (among them the 422
  "Cannot attach files that have not finished processing. Try again in a moment!") and the
  ``statuses`` rate-limit family (300 per 3 h).
- ``GET /api/v1/statuses?id[]=`` (at most 20 ids; missing ones are left out),
  ``GET/PUT/DELETE /api/v1/statuses/:id`` (edits with ``/history`` and ``/source``),
  ``scheduled_at`` and ``/api/v1/scheduled_statuses`` (published by the emulator clock),
  ``POST /api/v1/statuses/:id/reblog``, ``/unreblog``, ``/pin``, ``/unpin``,
  ``GET /api/v1/accounts/verify_credentials``, ``GET /api/v1/accounts/:id/statuses``
  (``Link`` headers, ``exclude_replies``, ``only_media``, ``tagged``, ``pinned``),
  ``GET /api/v1/accounts/:id/followers`` and ``/following``.
- Conversations: an audience (``emu.audience("fan1")``, or ``"fan1@other.example"`` for a
  user of another server) whose replies, mentions and quotes (4.5+), favourites, reblogs
  and follows (`MastodonAudience`) make the notifications Mastodon makes (and, taken back,
  destroys); ``GET /api/v1/notifications`` (``types[]``, ``exclude_types[]``,
  ``limit`` 40/80, ``max_id``/``since_id``/``min_id``, ``Link`` headers),
  ``GET /api/v1/notifications/:id``, ``POST /api/v1/notifications/:id/dismiss`` and
  ``/clear``, ``GET /api/v1/statuses/:id/context``,
  ``POST /api/v1/statuses/:id/favourite`` / ``unfavourite`` and ``mute`` / ``unmute`` (the
  conversation's later notifications are dropped, as NotifyService drops them);
  ``POST /api/v1/accounts/:id/block`` / ``unblock`` / ``mute`` / ``unmute`` and
  ``GET /api/v1/accounts/relationships``, ``GET /api/v1/blocks`` and ``/api/v1/mutes``
  (paged by the Block's and Mute's own ids) and ``GET /api/v1/statuses/:id/favourited_by`` /
  ``reblogged_by`` (a block clears the account's notifications; blocked
  and muted accounts notify no one and are left out of a context); direct messages
  (``MastodonAudience.direct``) in ``GET /api/v1/conversations`` (limit 20/40, paged by the
  last status, ``Link`` headers), ``POST /api/v1/conversations/:id/read`` and
  ``DELETE /api/v1/conversations/:id``, unsolicited ones filtered as 4.3's default policy does.
- Listening: the audience's public posts (``emu.audience("fan").post(text, lang="en")``)
  in ``GET /api/v1/timelines/tag/:hashtag`` (an empty timeline for a tag no status has;
  ``any[]``, ``all[]``, ``none[]``, at most 4 tags each as ``TagFeed`` reads, ``local``,
  ``remote``, ``only_media``, ``limit`` 20/40, ``max_id``/``since_id``/``min_id``, ``Link``
  headers that, as Mastodon's, keep only ``local``, ``limit`` and ``only_media``) and the
  full-text ``GET /api/v2/search?type=statuses`` (a user token; 4.2+'s syntax: terms,
  ``"phrases"`` (“”„«»「」『』《》 read as ``"``), ``-exclusions``, ``language:``,
  ``from:`` (``me``), ``has:``/``is:`` (``image``, ``video``, ``audio``, ``media``,
  ``sensitive``, ``reply``), ``in:library``/``in:public``, ``before:``/``after:``/``during:``;
  ``min_id``/``max_id`` as whole seconds; ``account_id``; ``offset`` with a ``type``; 400
  without ``q``; newest first) over what the searcher wrote, was mentioned
  in, favourited, reblogged or bookmarked, and public statuses of indexable accounts
  (`MastodonEmulator.set_indexable`; ``full_text_search=False`` is a server without
  Elasticsearch). Words are read as the index's analyzers read them: a term matches a
  status when all its tokens are in ``text`` (lower-cased as Java does, so ``İ`` is ``i``)
  or all in ``text.stemmed`` (accents folded, ``l'`` and ``'s`` dropped, English stop words
  left out, Porter-stemmed: ``brand`` finds "Brand's" and "brands", ``cafe`` finds
  "café"); a phrase is matched on ``text`` alone; a ``#tag`` term on the status's tags as
  first written (``#BrandKit`` is the words ``brand`` and ``kit``).
- Rate limits as Rack::Attack enforces them: 300 requests per 5 min per token, media uploads
  and deletes 30 per 30 min per account; windows are aligned to the epoch like Mastodon's and
  can be made small for tests with ``rate_limits=`` or `MastodonEmulator.set_rate_limit`.
- Engagement (favourites, reblogs, replies, quotes) and followers grow with the emulator
  clock, deterministically, so successive metric snapshots differ.

Any other path answers 404 ``{"error": "Record not found"}``, as Mastodon's catch-all route
does; a trailing slash is ignored, as Rails' router ignores it.

The instance's domain is the address a client reaches it by: every URL of an answer (accounts,
statuses, media, tags, ``Link`` headers) is under it, whenever and by whom a status was made.

Mastodon tokens do not expire; `MastodonEmulator.revoke_tokens` makes every token
answer 401 as a revoked one does, and ``token_ttl`` emulates a server that expires them.

Connecting accounts: ``POST /api/v1/apps``, ``GET /.well-known/oauth-authorization-server``
(from 4.3, listing PKCE ``S256``), ``GET /oauth/authorize`` (the emulated user named
`MastodonEmulator.consent_as` consents at once: a 302 to the redirect URI with ``code`` and
``state``; `MastodonEmulator.deny_consent` scripts a refusal) and ``POST /oauth/token``
(single-use codes of 10 minutes, redirect URI match, PKCE from 4.3, Doorkeeper's
``invalid_grant`` and ``invalid_client`` bodies) and ``POST /oauth/revoke`` (RFC 7009 as
Doorkeeper serves it: the client authenticates by HTTP Basic or ``client_id`` and
``client_secret`` in a form, JSON or the query; 200 ``{}`` once revoked, also for a token it
does not know or revoked already; 403 ``unauthorized_client`` "You are not authorized to
revoke this token" for an unknown client, a wrong secret or another app's token; the API
then answers the token with 401 "The access token was revoked");
`MastodonEmulator.oauth_app` registers an app directly and `MastodonEmulator.delete_app`
deletes one with its tokens (401 "The access token is invalid"), as Settings → Development does.
"""

from __future__ import annotations

import base64
import bisect
import functools
import hmac
import html
import json
import math
import re
import secrets
import string
import zlib
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any, ClassVar, TypeAlias
from urllib.parse import parse_qsl, quote

import attrs
import httpx
import regex

from brandkit.accounts import Account
from brandkit.content import Media
from brandkit.content._media import sniff
from brandkit.errors import MediaError
from brandkit.testing._emulator import (
    Audience,
    Clock,
    Emulator,
    ItemsIndex,
    JsonTemplate,
    Refusal,
    counts_sets,
    pkce_s256,
    route,
    served_port,
    utc_millis,
)
from brandkit.testing._forms import multipart
from brandkit.testing._images import media_extension
from brandkit.testing._mastodon_search import hashtag_tokens, phrase_matches, term_matches
from brandkit.text._mastodon import hashtag_key

__all__ = ["DEFAULT_RATE_LIMITS", "MastodonAudience", "MastodonEmulator"]

MiB = 1024 * 1024

DEFAULT_RATE_LIMITS: dict[str, tuple[int, float]] = {
    "api": (300, 300.0),  # Rack::Attack throttle_per_token_api
    "statuses": (300, 3 * 3600.0),  # RateLimiter family :statuses (creates)
    "media": (30, 1800.0),  # throttle_api_media
    "delete": (30, 1800.0),  # throttle_api_delete
}
"""Mastodon's limits: family → (requests, window in seconds)."""

DEFAULT_MIME_TYPES = (
    "image/jpeg",
    "image/png",
    "image/gif",
    "image/heic",
    "image/heif",
    "image/webp",
    "image/avif",
    "video/webm",
    "video/mp4",
    "video/quicktime",
    "video/ogg",
    "audio/wave",
    "audio/wav",
    "audio/ogg",
    "audio/mpeg",
    "audio/mp3",
    "audio/webm",
    "audio/flac",
    "audio/aac",
    "audio/mp4",
)

VISIBILITIES = ("public", "unlisted", "private", "direct")
_BLURHASH = "UPN1Ddxup{IT9an~.8RjK-oy%gkE%#W?i^t6"

# Counting as Mastodon's StatusLengthValidator does: URLs with a protocol are 23 characters,
# remote mentions count without their domain, everything in extended grapheme clusters.
_URL = regex.compile(
    r"(?<![\w@/.])https?://(?:[^\s/?#@:<>\"'()\[\]{}]+\.)+[^\W\d_]{2,}(?::\d+)?"
    r"(?:[/?#][^\s<>\"]*)?",
    regex.IGNORECASE,
)
# Account::MENTION_RE: the user part is USERNAME_RE, [a-z0-9_]+([.-]+[a-z0-9_]+)*
# (remote users of Pixelfed, Misskey or Akkoma have dots and dashes inside), the domain
# word characters joined by "." or "-".
_MENTION = regex.compile(
    r"(?<![\w/=@])@([a-z0-9_]+(?:[.-]+[a-z0-9_]+)*)(?:@(\w+(?:[.-]+\w+)*))?", regex.IGNORECASE
)
# Tag::HASHTAG_RE (app/models/tag.rb): a "#" after no "=", "/", ")", letter or digit, then a
# name of word characters with a letter, or one with Tag::HASHTAG_SEPARATORS ("_", "·", "・",
# ZWNJ) inside (Catalan's #col·lecció is one tag).
_TAG_SEPARATORS = "_\u00b7\u30fb\u200c"
_HASHTAG = regex.compile(
    r"(?<![=/)\p{Alnum}])#("
    rf"[\w_][\w{_TAG_SEPARATORS}]*[\p{{Alphabetic}}{_TAG_SEPARATORS}][\w{_TAG_SEPARATORS}]*[\w_]"
    r"|[\w_]*\p{Alphabetic}[\w_]*)"
)
_TRAILING = ".,:;!?'\"»”’…"
# TagFeed::LIMIT_PER_MODE (app/models/tag_feed.rb): a tag timeline reads at most 4 tags of
# each of any (the path's tag first), all and none.
_TAGS_PER_MODE = 4


def _limit_param(raw: str | None, default: int) -> int:
    """Api::BaseController#limit_param: ``default`` unless ``limit`` is given, at most
    twice ``default``, with Ruby's to_i (a non-number is 0) and abs."""
    return default if raw is None else min(abs(_to_i(raw)), default * 2)


Handler: TypeAlias = Callable[..., httpx.Response]


@attrs.define
class _User:
    id: str
    username: str
    display_name: str
    created_at: float
    followers: int
    followers_per_day: float
    # The audience: accounts without a token, local or (with a domain) from another server.
    audience: bool = False
    domain: str | None = None
    # Opted into full-text search of their public statuses (Mastodon 4.2's "indexable").
    indexable: bool = False

    @property
    def acct(self) -> str:
        return f"{self.username}@{self.domain}" if self.domain else self.username


@attrs.define
class _Token:
    user_id: str
    issued_at: float
    revoked: bool = False
    scopes: tuple[str, ...] = ("read", "write", "follow", "push")
    # The app it was issued to (``POST /oauth/token``); ``None`` for `account`'s tokens,
    # which Doorkeeper treats as issued without a client: any known client may revoke them.
    client_id: str | None = None


# The scope each write needs (Doorkeeper's doorkeeper_authorize! of its controller); a
# top-level scope (``write``) covers its granular ones (``write:statuses``).
_WRITE_SCOPES: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("POST", re.compile(r"/api/v1/statuses"), "write:statuses"),
    ("DELETE", re.compile(r"/api/v1/statuses/[^/]+"), "write:statuses"),
    ("PUT", re.compile(r"/api/v1/statuses/[^/]+"), "write:statuses"),
    ("POST", re.compile(r"/api/v1/statuses/[^/]+/(un)?favourite"), "write:favourites"),
    ("POST", re.compile(r"/api/v1/statuses/[^/]+/(un)?reblog"), "write:statuses"),
    ("POST", re.compile(r"/api/v1/statuses/[^/]+/(un)?pin"), "write:accounts"),
    ("POST", re.compile(r"/api/v1/statuses/[^/]+/(un)?bookmark"), "write:bookmarks"),
    ("POST", re.compile(r"/api/v1/statuses/[^/]+/(un)?mute"), "write:mutes"),
    ("POST", re.compile(r"/api/v1/accounts/[^/]+/(un)?block"), "write:blocks"),
    ("POST", re.compile(r"/api/v1/accounts/[^/]+/(un)?follow"), "write:follows"),
    ("POST", re.compile(r"/api/v1/accounts/[^/]+/(un)?mute"), "write:mutes"),
    ("POST", re.compile(r"/api/v1/reports"), "write:reports"),
    ("POST", re.compile(r"/api/v[12]/notifications/(clear|[^/]+/dismiss)"), "write:notifications"),
    ("POST", re.compile(r"/api/v1/markers"), "write:statuses"),
    ("PUT", re.compile(r"/api/v1/scheduled_statuses/[^/]+"), "write:statuses"),
    ("DELETE", re.compile(r"/api/v1/scheduled_statuses/[^/]+"), "write:statuses"),
    ("POST", re.compile(r"/api/v1/conversations/[^/]+/read"), "write:conversations"),
    ("DELETE", re.compile(r"/api/v1/conversations/[^/]+"), "write:conversations"),
    ("POST", re.compile(r"/api/v[12]/media"), "write:media"),
    ("PUT", re.compile(r"/api/v1/media/[^/]+"), "write:media"),
)


@attrs.define
class _Attachment:
    id: str
    user_id: str
    type: str
    mime_type: str
    filename: str
    size: int
    description: str | None
    ready_at: float
    width: int | None = None
    height: int | None = None
    status_id: str | None = None
    failed: bool = False
    destroyed: bool = False
    created_at: float = 0.0
    # The scheduled status it waits with (MediaAttachment#scheduled_status_id).
    scheduled_id: str | None = None


@attrs.define
class _Scheduled:
    """A ScheduledStatus: the options the status will be posted with, and when."""

    id: str
    user_id: str
    scheduled_at: float | None
    params: dict[str, Any]
    media_ids: list[str]


# The fields the index of live statuses is made of (see `MastodonEmulator._indexed`): it is
# made again when one is set on a status.
_indexed = counts_sets("changes")


@attrs.define
class _Status:
    id: str
    user_id: str = attrs.field(on_setattr=_indexed)
    text: str
    spoiler_text: str
    visibility: str
    language: str | None
    sensitive: bool
    in_reply_to_id: str | None = attrs.field(on_setattr=_indexed)
    in_reply_to_account_id: str | None
    media_ids: list[str]
    created_at: float = attrs.field(on_setattr=_indexed)
    deleted_at: float | None = attrs.field(default=None, on_setattr=_indexed)
    extra: dict[str, int] = attrs.field(factory=dict)
    quote_of: str | None = attrs.field(default=None, on_setattr=_indexed)
    # The thread it belongs to (Mastodon's conversation_id): its root's id; kept when a
    # status above it is deleted.
    conversation_id: str | None = None
    # The app it was written with (Status.application's name); None for a status of another
    # server, which Mastodon shows with no application.
    application: str | None = "brandkit"
    # When it was last edited, and its StatusEdit snapshots (text, spoiler text, sensitive,
    # when, media ids), oldest first; none until the first edit.
    edited_at: float | None = None
    edits: list[tuple[str, str, bool, float, tuple[str, ...]]] = attrs.field(factory=list)

    # How many times one of the indexed fields was set after a status was made.
    changes: ClassVar[int] = 0


def _snapshot(st: _Status, at: float) -> tuple[str, str, bool, float, tuple[str, ...]]:
    """Status#build_snapshot: what a StatusEdit keeps of ``st`` as it is now."""
    return (st.text, st.spoiler_text, st.sensitive, at, tuple(st.media_ids))


@attrs.frozen
class OAuthApp:
    """An app registered on the emulator (`MastodonEmulator.oauth_app` or
    ``POST /api/v1/apps``).

    Attributes:
        client_id: the app's client id.
        client_secret: its secret (Mastodon clients are confidential).
        redirect_uris: the callback URLs it may use.
        scopes: the scopes it may ask for.
    """

    client_id: str
    client_secret: str = attrs.field(repr=False)
    redirect_uris: tuple[str, ...]
    scopes: tuple[str, ...]
    name: str = ""


@attrs.define
class _Code:
    client_id: str
    redirect_uri: str
    challenge: str | None
    user_id: str
    scopes: tuple[str, ...]
    expires_at: float


OOB = "urn:ietf:wg:oauth:2.0:oob"
"""The out-of-band redirect URI: the authorization ends on a page that shows the code."""

_INVALID_GRANT = (
    "The provided authorization grant is invalid, expired, revoked, does not match the "
    "redirection URI used in the authorization request, or was issued to another client."
)
_INVALID_CLIENT = (
    "Client authentication failed due to unknown client, no client authentication included, "
    "or unsupported authentication method."
)
# Doorkeeper's doorkeeper.errors.messages.revoke.unauthorized, as Mastodon's docs quote it.
_REVOKE_UNAUTHORIZED = "You are not authorized to revoke this token"


class MastodonAudience(Audience):
    """An audience member of the Mastodon emulator: besides what every audience writes, a
    Mastodon user favourites, reblogs and follows, and each makes the notification
    Mastodon makes (``favourite``, ``reblog``, ``follow``; grouped in
    ``/api/v2/notifications`` as ``set_group_key!`` groups them). Undoing one destroys its
    notification, as Mastodon's ``dependent: :destroy`` does."""

    def favourite(self, status_id: str) -> str:
        """Favourite the status ``status_id`` (once; again changes nothing) and return its
        id.

        Raises:
            KeyError: no status ``status_id`` that this member can see.
        """
        return self.emulator.audience_write(self, "favourite", "", target=status_id)

    def unfavourite(self, status_id: str) -> str:
        """Take back a favourite (its notification goes) and return the status's id.

        Raises:
            KeyError: no status ``status_id`` that this member can see.
        """
        return self.emulator.audience_write(self, "unfavourite", "", target=status_id)

    def reblog(self, status_id: str) -> str:
        """Reblog (boost) the status ``status_id`` and return the reblog's id (the same
        one when it is reblogged again, as ``ReblogService`` answers).

        Raises:
            KeyError: no status ``status_id`` that this member can see.
            ValueError: the status is private or direct (Mastodon refuses to reblog it).
        """
        return self.emulator.audience_write(self, "reblog", "", target=status_id)

    def unreblog(self, status_id: str) -> str:
        """Take back a reblog (its notification goes) and return the status's id.

        Raises:
            KeyError: no status ``status_id`` that this member can see.
        """
        return self.emulator.audience_write(self, "unreblog", "", target=status_id)

    def follow(self, acct: str | None = None) -> str:
        """Follow the account ``acct`` (its username), else the account made last, and
        return its id; its followers count grows by one.

        Raises:
            KeyError: no such account (or none made yet).
            ValueError: the member would follow themselves, or the account blocked them.
        """
        return self.emulator.audience_write(self, "follow", "", target=acct)

    def direct(self, text: str, *, in_reply_to: str | None = None) -> str:
        """Write a direct message (a ``direct`` status) to the account whose handle ``text``
        holds, else the account made last (its handle is put first), or, with
        ``in_reply_to``, answer that status (its author's handle first); returns its id.

        The account gets the ``mention`` and a conversation (``GET /api/v1/conversations``)
        as NotifyService makes them: from 4.3, unless it follows the member or the message
        answers its own direct status to them, the notification is filtered (shown only with
        ``include_filtered``) and no conversation is made (NotificationPolicy's default
        ``for_private_mentions: filter``).

        Raises:
            KeyError: ``in_reply_to`` is not a status this member can see, or no account
                was made yet to write to.
        """
        return self.emulator.audience_write(self, "direct", text, target=in_reply_to)

    def edit(self, status_id: str, text: str) -> str:
        """Edit this member's status ``status_id`` to say ``text`` (a reply's ``@handle``
        put first, as on writing) as ``PUT /api/v1/statuses/:id`` does: ``edited_at`` set,
        the edit kept in its history, an ``update`` notification to each local account that
        boosted it, a ``mention`` to each account newly mentioned; the same text again
        changes nothing. Returns its id.

        Raises:
            KeyError: ``status_id`` is not a live status of this member.
        """
        return self.emulator.audience_write(self, "edit", text, target=status_id)

    def unfollow(self, acct: str | None = None) -> str:
        """Stop following ``acct`` (else the account made last): the ``follow``
        notification goes, and the followers count drops; returns its id.

        Raises:
            KeyError: no such account (or none made yet).
            ValueError: the member would unfollow themselves.
        """
        return self.emulator.audience_write(self, "unfollow", "", target=acct)


# What an audience member does besides writing statuses.
_AUDIENCE_ACTS = frozenset({"favourite", "unfavourite", "reblog", "unreblog", "follow", "unfollow"})


@attrs.define
class _Notification:
    id: str
    type: str
    account_id: str  # who receives it
    from_id: str  # who caused it
    status_id: str | None
    created_at: float
    # Notification::Groups#set_group_key!: favourites (and reblogs, follows) of one target
    # within 12 hours share a key; other types have none ("ungrouped-<id>" when shown).
    group_key: str | None = None
    # NotifyService's FilterCondition: kept, but browsed only with include_filtered.
    filtered: bool = False


@attrs.define
class _AccountConversation:
    """An AccountConversation row: one account's view of a direct-message thread with
    the same participants."""

    id: int
    account_id: str
    conversation_id: str
    participant_ids: tuple[str, ...]
    status_ids: list[str]
    unread: bool


@attrs.define
class _Marker:
    """A user's read marker of a timeline (``home`` or ``notifications``)."""

    last_read_id: int
    version: int  # the row's lock_version: 0 when made, one more on each change
    updated_at: float


# Notification::Groups: the types that get a group key, and how long a group may span.
_GROUPABLE = frozenset({"favourite", "reblog", "follow", "admin.sign_up"})
_MAXIMUM_GROUP_SPAN_HOURS = 12
# NotificationGroup::SAMPLE_ACCOUNTS_SIZE.
_SAMPLE_ACCOUNTS_SIZE = 8
# NotificationGroupSerializer#status_type? (quotes from 4.5).
_GROUP_STATUS_TYPES = frozenset(
    {"favourite", "reblog", "status", "mention", "poll", "update", "quote", "quoted_update"}
)

# Marker::TIMELINES.
_MARKER_TIMELINES = ("home", "notifications")
# Rails' bigint column: a larger last_read_id cannot be stored.
_BIGINT_MAX = 2**63 - 1

# The instance document's ``configuration.polls`` (v1 and v2 alike): Mastodon's defaults.
_POLL_LIMITS = {
    "max_options": 4,
    "max_characters_per_option": 50,
    "min_expiration": 300,
    "max_expiration": 2629746,
}


def _page_links(
    url: str, params: httpx.QueryParams, kept: Collection[str], oldest: str, newest: str
) -> str:
    """Mastodon's ``Link`` header for a page of a list at ``url``: ``next`` (``max_id``, the
    page's oldest id) and ``prev`` (``min_id``, its newest), each with the request's
    ``params`` named in ``kept`` (its ``pagination_params``), keys sorted and brackets
    escaped as Rails' ``to_query`` writes them."""
    keep = [(k, v) for k, v in params.multi_items() if k in kept]

    def link(extra: tuple[str, str]) -> str:
        query = httpx.QueryParams(sorted([*keep, extra], key=lambda kv: kv[0]))
        return f"<{url}?{query}>"

    return f'{link(("max_id", oldest))}; rel="next", {link(("min_id", newest))}; rel="prev"'


def _api(*, auth: str = "required") -> Callable[[Handler], Handler]:
    """Wrap a handler with authentication, rate limiting and Mastodon's headers.

    ``auth``: ``"required"`` (401 without a valid token), ``"optional"`` (a token, if sent,
    must be valid) or ``"none"`` (a token is only used for rate limiting).
    """

    def wrap(fn: Handler) -> Handler:
        @functools.wraps(fn)
        def handler(
            self: MastodonEmulator, request: httpx.Request, **kwargs: Any
        ) -> httpx.Response:
            return self._run(fn, request, auth, kwargs)

        return handler

    return wrap


# Mastodon's answer to a Host it is not configured for (config/initializers/1_hosts.rb:
# ActionDispatch::HostAuthorization with a response_app rendering errors/blocked_host in the
# anonymous_error layout, every path but /health), as Haml 6 renders those views: $title is
# the host HTML-escaped, $script its json_escape(to_json), $host the host as it came.
_BLOCKED_HOST_PAGE = string.Template(
    ""
    "<!DOCTYPE html>\n"
    "<html lang='en'>\n"
    "<head>\n"
    "<meta content='text/html; charset=UTF-8' http-equiv='Content-Type'>\n"
    "<meta charset='utf-8'>\n"
    "<title>Blocked host:\n"
    "$title\n"
    "</title>\n"
    "<meta content='width=device-width,initial-scale=1' name='viewport'>\n"
    "<style>\n"
    "  body.error {\n"
    "    position: absolute;\n"
    "    color: #9baec8;\n"
    "    background: #282c37;\n"
    "    width: 100%;\n"
    "    height: 100%;\n"
    "    padding: 0;\n"
    "    display: flex;\n"
    "    justify-content: center;\n"
    "    align-items: center;\n"
    "    margin: 0;\n"
    "    font-family: sans-serif;\n"
    "    font-size: 14px;\n"
    "  }\n"
    "  \n"
    "  body.error .dialog {\n"
    "    padding: 20px;\n"
    "    max-width: 960px;\n"
    "  }\n"
    "  \n"
    "  body.error .dialog code {\n"
    "    font-size: .85em;\n"
    "    background: #17191f;\n"
    "    border-radius: 4px;\n"
    "    padding: .2em .3em;\n"
    "    font-family: monospace;\n"
    "    font-weight: 400;\n"
    "  }\n"
    "  \n"
    "  body.error .dialog h1 {\n"
    "    text-align: center;\n"
    "    font-size: 20px;\n"
    "    line-height: 28px;\n"
    "    font-weight: 400;\n"
    "  }\n"
    "</style>\n"
    "<script>\n"
    "  document.addEventListener('DOMContentLoaded', function() {\n"
    "    const expected_host = $script;\n"
    "  \n"
    "    if (window.location.hostname !== expected_host) {\n"
    "      const p1 = document.getElementById('reverse-proxy');\n"
    "      const p2 = document.getElementById('env-variables');\n"
    "      const parent = p1.parentNode;\n"
    "  \n"
    "      // Swap both paragraphs\n"
    "      parent.removeChild(p1);\n"
    "      parent.insertBefore(p1, p2);\n"
    "  \n"
    "      // Replace start of paragraph with more affirmative content\n"
    "      const newPrelude = document.createElement('span');\n"
    "      newPrelude.appendChild(document.createTextNode('If you are the server"
    " administrator and '));\n"
    "      const c1 = document.createElement('code');\n"
    "      c1.appendChild(document.createTextNode(expected_host));\n"
    "      newPrelude.appendChild(c1);\n"
    "      newPrelude.appendChild(document.createTextNode(' is not the intended domain"
    " name but '));\n"
    "      const c2 = document.createElement('code');\n"
    "      c2.appendChild(document.createTextNode(window.location.hostname));\n"
    "      newPrelude.appendChild(c2);\n"
    "      newPrelude.appendChild(document.createTextNode(' is, then your reverse-proxy"
    " is almost certainly misconfigured. Check'));\n"
    "  \n"
    "      const prelude = document.getElementById('reverse-proxy-prelude');\n"
    "      prelude.parentNode.replaceChild(newPrelude, prelude);\n"
    "  \n"
    "      // Remove duplicate prelude\n"
    "      const prelude2 = document.getElementById('env-variables-prelude');\n"
    "      prelude2.parentNode.removeChild(prelude2);\n"
    "    }\n"
    "  });\n"
    "</script>\n"
    "\n"
    "</head>\n"
    "<body class='error'>\n"
    "<div class='dialog'>\n"
    "<div class='dialog__message'><h1>Blocked host: $host</h1>\n"
    "\n"
    "<p>\n"
    "  It appears you have tried accessing this Mastodon server using a different name"
    " (<code>$host</code>) than defined in its configuration.\n"
    "  If you are a user of this server, try reaching out to a server administrator.\n"
    "</p>\n"
    "\n"
    "<p id='env-variables'>\n"
    "  If <span id='env-variables-prelude'>you are the server administrator and</span>"
    " <code>$host</code> is the intended domain name for this server, please check the"
    " <code>LOCAL_DOMAIN</code>\n"
    "  and <code>WEB_DOMAIN</code> environment variables for typos or other errors.\n"
    "</p>\n"
    "\n"
    "<p id='reverse-proxy'>\n"
    "  <span id='reverse-proxy-prelude'>If <code>$host</code> is not the intended domain"
    " name for your server, please check</span> your reverse-proxy configuration to"
    " ensure it properly sets the <code>Host</code> header.\n"
    "</p>\n"
    "\n"
    "<p>\n"
    "  If you want to allow requests to <code>$host</code> without making it the primary"
    " domain name for your Mastodon instance, add it to the"
    " <code>ALTERNATE_DOMAINS</code> environment variable.\n"
    "</p>\n"
    "\n"
    "</div>\n"
    "</div>\n"
    "</body>\n"
    "</html>\n"
)


# What ActiveSupport's to_json and ERB::Util.json_escape write for these in a JSON string.
_JSON_ESCAPES = {
    ">": "\\u003e",
    "<": "\\u003c",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def _day(timestamp: float) -> str:
    return _nth_day(int(timestamp // 86_400))


@functools.lru_cache(maxsize=4096)
def _nth_day(day: int) -> str:
    # Memoized: the index of live statuses formats each one's day as it takes it in.
    return datetime.fromtimestamp(day * 86_400, UTC).strftime("%Y-%m-%d")


@attrs.define
class _Index:
    """The live statuses, by author, and how many replies and quotes each has."""

    live: list[_Status] = attrs.field(factory=list)
    by_user: dict[str, list[_Status]] = attrs.field(factory=dict)
    replies: Counter[str] = attrs.field(factory=Counter)
    quotes: Counter[str] = attrs.field(factory=Counter)
    # Each author's newest status day (``last_status_at``), formatted once per change.
    last_day: dict[str, str] = attrs.field(factory=dict)

    def add(self, st: _Status) -> None:
        """Take in a status newer than those taken so far (a deleted one is not live)."""
        if st.deleted_at is not None:
            return
        self.last_day[st.user_id] = _day(st.created_at)
        self.live.append(st)
        self.by_user.setdefault(st.user_id, []).append(st)
        if st.in_reply_to_id is not None:
            self.replies[st.in_reply_to_id] += 1
        if st.quote_of is not None:
            self.quotes[st.quote_of] += 1


class MastodonEmulator(Emulator):
    """A Mastodon instance in a box (see the module docstring for what it covers).

    Args:
        clock: the emulator's clock (shared with other emulators if you like).
        max_characters: ``configuration.statuses.max_characters``.
        characters_reserved_per_url: how many characters a URL counts as.
        max_media_attachments: most attachments on one status.
        description_limit: longest alt text.
        image_size_limit, video_size_limit: largest upload in bytes.
        supported_mime_types: what uploads may be.
        image_processing: seconds an image takes to process (0: answered with 200 at once).
        video_processing: seconds a video, GIF or audio file takes (answered with 202).
        rate_limits: family → (limit, window seconds), merged over
            `DEFAULT_RATE_LIMITS`; families are ``api``, ``statuses``, ``media``,
            ``delete``.
        idempotency_ttl: how long an ``Idempotency-Key`` is remembered (Mastodon: 3600 s).
        orphan_ttl: how long an upload no status took is kept (Mastodon's
            ``Vacuum::MediaAttachmentsVacuum::TTL``, a day); older ones are gone.
        token_ttl: seconds after which tokens expire; ``None`` (Mastodon's way) never.
        engagement_rate: favourites per hour a status gathers (times a per-status weight
            of 1 to 5); 0 turns simulated engagement off.
        version: the version the instance reports.
        full_text_search: whether the instance runs Elasticsearch (without it,
            ``/api/v2/search`` finds no statuses).
        audience_indexable: whether new audience members opt into full-text search
            (Mastodon's default is no; `MastodonEmulator.set_indexable` changes one).
        default_language: the accounts' posting language, which a status gets when it is
            sent without a supported ``language`` (``en-US`` is stored as ``en``, as
            Mastodon stores it).

    Raises:
        ValueError: ``default_language`` is not a language Mastodon supports.

    Attributes:
        rate_limits: the limits in force, family → (limit, window seconds).
    """

    platform: ClassVar[str] = "mastodon"
    create_route: ClassVar[tuple[str, str]] = ("POST", r"/api/v1/statuses")

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        max_characters: int = 500,
        characters_reserved_per_url: int = 23,
        max_media_attachments: int = 4,
        description_limit: int = 1500,
        image_size_limit: int = 16 * MiB,
        video_size_limit: int = 99 * MiB,
        supported_mime_types: Iterable[str] = DEFAULT_MIME_TYPES,
        image_processing: float = 0.0,
        video_processing: float = 1.0,
        rate_limits: Mapping[str, tuple[int, float]] | None = None,
        idempotency_ttl: float = 3600.0,
        orphan_ttl: float = 86_400.0,
        token_ttl: float | None = None,
        engagement_rate: float = 6.0,
        version: str = "4.5.0",
        full_text_search: bool = True,
        audience_indexable: bool = False,
        default_language: str = "en",
    ) -> None:
        super().__init__(clock=clock)
        self.max_characters = max_characters
        self.characters_reserved_per_url = characters_reserved_per_url
        self.max_media_attachments = max_media_attachments
        self.description_limit = description_limit
        self.image_size_limit = image_size_limit
        self.video_size_limit = video_size_limit
        self.supported_mime_types = tuple(supported_mime_types)
        self.image_processing = image_processing
        self.video_processing = video_processing
        self.rate_limits: dict[str, tuple[int, float]] = {
            **DEFAULT_RATE_LIMITS,
            **(rate_limits or {}),
        }
        self.idempotency_ttl = idempotency_ttl
        self.orphan_ttl = orphan_ttl
        self.token_ttl = token_ttl
        self.engagement_rate = engagement_rate
        self.version = version
        self.full_text_search = full_text_search
        self.audience_indexable = audience_indexable
        if _valid_locale(default_language) != default_language:
            raise ValueError(
                f"default_language {default_language!r} is not a language Mastodon supports "
                "(an ISO 639 code such as 'en', 'kab' or 'zh-TW')"
            )
        self.default_language = default_language
        self._users: dict[str, _User] = {}
        self._tokens: dict[str, _Token] = {}
        self._statuses: dict[str, _Status] = {}
        # The live statuses: takes in those made since the last read; made again when a
        # status's indexed field is set (a delete, a parent deleted).
        self._index = ItemsIndex(_Index, _Index.add, lambda: _Status.changes)
        # Memos for reads (a page of 80 notifications renders each account twice and
        # resolves every mention): users by (lowercase username, domain), rebuilt when a
        # user is added; each account's JSON less its counts, checked against the fields
        # it is made of; the instance's host by base URL.
        self._by_name: tuple[int, dict[tuple[str, str | None], _User]] | None = None
        self._account_memo: dict[
            tuple[str, str], tuple[tuple[Any, ...], dict[str, Any], JsonTemplate]
        ] = {}
        # The text of each status and notification as JSON, less what changes between
        # reads (counts, the account, mentions...), made when it is written.
        self._status_memo: dict[str, tuple[tuple[Any, ...], JsonTemplate]] = {}
        self._notification_memo: dict[str, tuple[tuple[Any, ...], JsonTemplate]] = {}
        # The last text of each account (by its counts) and of each status's mentions (by
        # whom they name).
        self._account_texts: dict[tuple[str, str], tuple[Any, JsonTemplate, str]] = {}
        self._mention_texts: dict[str, tuple[Any, str]] = {}
        self._host_memo: tuple[str, str] | None = None
        # The origin of the request being answered (None between requests): see _domain.
        self._answering: str | None = None
        self._media: dict[str, _Attachment] = {}
        self._keys: dict[tuple[str, str], tuple[str, float]] = {}
        self._hits: dict[tuple[str, str, int], int] = {}
        # Ids given (see `_new_id`), and by millisecond the sequence number it gives next.
        self._ids: set[int] = set()
        self._id_sequence: dict[int, int] = {}
        self._notifications: list[_Notification] = []
        # Each account's notifications with their ids as numbers, oldest first.
        self._notifications_of: dict[str, list[tuple[int, _Notification]]] = {}
        self._last_notification = 34_975_000
        self._favourites: set[tuple[str, str]] = set()
        # How many favourites each status has, kept with _favourites (read on every render).
        self._favourite_counts: Counter[str] = Counter()
        # Each favourite's id (a Favourite row's, which favourited_by pages by).
        self._favourite_ids: dict[tuple[str, str], int] = {}
        self._last_favourite = 0
        # The audience's reblogs, (user id, status id) -> the reblog's id, and how many each
        # status has; who follows whom (follower id, followed id), and how many each has.
        self._reblogs: dict[tuple[str, str], str] = {}
        self._reblog_counts: Counter[str] = Counter()
        # Each bookmark's Bookmark row id, by (user id, status id).
        self._bookmark_ids: dict[tuple[str, str], int] = {}
        # The statuses each user pinned to their profile (StatusPin), (user id, status id).
        self._pins: set[tuple[str, str]] = set()
        # The visibility each reblog by an API user was made with, by the reblog's id.
        self._reblog_visibility: dict[str, str] = {}
        self._follows: set[tuple[str, str]] = set()
        # Each follow's Follow row id, which the followers and following lists page by.
        self._follow_ids: dict[tuple[str, str], int] = {}
        self._follower_counts: Counter[str] = Counter()
        self._following_counts: Counter[str] = Counter()
        # An account's follow options (reblogs, notify), by (follower id, followed id).
        self._follow_options: dict[tuple[str, str], tuple[bool, bool]] = {}
        # Whom each user blocked, (user id, target id); whom each muted, (user id, target
        # id) -> (whether their notifications are muted too, when the mute ends or None).
        self._blocks: set[tuple[str, str]] = set()
        self._mutes: dict[tuple[str, str], tuple[bool, float | None]] = {}
        # Each Block's and Mute's row id (their own sequences), which GET /api/v1/blocks
        # and /api/v1/mutes order and page by.
        self._block_ids: dict[tuple[str, str], int] = {}
        self._mute_ids: dict[tuple[str, str], int] = {}
        self._last_row: Counter[str] = Counter()
        # The reports accounts filed (POST /api/v1/reports), oldest first.
        self._reports: list[dict[str, Any]] = []
        # Each user's read markers by timeline, in the order they were made.
        self._markers: dict[str, dict[str, _Marker]] = {}
        # set_group_key!'s Redis keys: (account, type prefix) -> (hour bucket, set at).
        self._group_buckets: dict[tuple[str, str], tuple[int, float]] = {}
        # The statuses waiting for their scheduled_at (ScheduledStatus), by id.
        self._scheduled: dict[str, _Scheduled] = {}
        # Each account's direct-message conversations (AccountConversation) by row id.
        self._account_conversations: dict[int, _AccountConversation] = {}
        # (user id, conversation id) of the conversations each user muted.
        self._muted_conversations: set[tuple[str, str]] = set()
        self._audience_ids: dict[str, str] = {}
        self._apps: dict[str, OAuthApp] = {}
        self._codes: dict[str, _Code] = {}
        self.consent_as = "brand"
        self.code_lifetime = 600.0  # Doorkeeper's authorization_code_expires_in: 10 minutes

    # -- public helpers --------------------------------------------------------------------

    def account(
        self,
        *,
        name: str | None = None,
        username: str | None = None,
        display_name: str = "",
        followers: int = 0,
        followers_per_day: float = 24.0,
        **kwargs: Any,
    ) -> Account:
        """A new user on this instance and an [`Account`][brandkit.Account] with its token,
        at `base_url` (call it inside ``serve()`` to get the socket URL).

        Args:
            name: the brandkit account name.
            username: the Mastodon username (default ``user1``, ``user2``, ...).
            display_name: the display name.
            followers: followers at creation.
            followers_per_day: how fast followers grow with the emulator clock.
            kwargs: passed on to `Account.mastodon` (e.g. ``on_credentials_changed``).
        """
        with self.lock:
            user_id = self._new_id()
            user = _User(
                id=user_id,
                username=username or f"user{len(self._users) + 1}",
                display_name=display_name,
                created_at=self.clock.time(),
                followers=followers,
                followers_per_day=followers_per_day,
            )
            self._users[user_id] = user
            token = secrets.token_urlsafe(32)
            self._tokens[token] = _Token(user_id=user_id, issued_at=self.clock.time())
        return Account.mastodon(self.base_url, token=token, name=name, **kwargs)

    def oauth_app(
        self,
        *,
        redirect_uri: str | Iterable[str],
        scopes: str | Iterable[str] = "read write",
        name: str = "brandkit tests",
    ) -> OAuthApp:
        """Register an app for the authorization code flow, as ``POST /api/v1/apps`` does.

        ``GET /oauth/authorize`` consents at once as the user named `consent_as` (made on
        first use) and redirects (302) to the redirect URI with ``code`` and ``state``;
        `deny_consent` scripts a refusal. ``POST /oauth/token`` checks the client, the
        redirect URI, single use, the code's 10 minutes on the emulator clock and, from
        4.3 (`version`), the PKCE verifier.
        """
        uris = (redirect_uri,) if isinstance(redirect_uri, str) else tuple(redirect_uri)
        allowed = tuple(scopes.split()) if isinstance(scopes, str) else tuple(scopes)
        with self.lock:
            app = OAuthApp(
                client_id=secrets.token_urlsafe(32),
                client_secret=secrets.token_urlsafe(32),
                redirect_uris=uris,
                scopes=allowed,
                name=name,
            )
            self._apps[app.client_id] = app
            return app

    @property
    def pkce(self) -> bool:
        """Whether the instance offers PKCE (Mastodon 4.3 and later)."""
        return _release(self.version) >= (4, 3)

    def _user_named(self, username: str) -> _User:
        for user in self._users.values():
            if user.username == username and not user.audience:
                return user
        user = _User(
            id=self._new_id(),
            username=username,
            display_name="",
            created_at=self.clock.time(),
            followers=0,
            followers_per_day=24.0,
        )
        self._users[user.id] = user
        return user

    def post_texts(self) -> list[str]:
        """The source texts of the statuses the accounts (not the audience) have now,
        oldest first."""
        with self.lock:
            self._publish_due()
            return [s.text for s in self._live() if not self._users[s.user_id].audience]

    @property
    def posts(self) -> list[dict[str, Any]]:
        """The statuses the accounts (not the audience) have now, oldest first, as the API
        shows them, plus their source ``text``."""
        with self.lock:
            self._publish_due()
            return [
                self._status_json(s, source=True, viewer=self._users[s.user_id])
                for s in self._live()
                if not self._users[s.user_id].audience
            ]

    def status(self, status_id: str) -> dict[str, Any]:
        """One status (deleted ones too) as the API shows it, plus its source ``text`` and
        ``deleted`` (bool).

        Raises:
            KeyError: no status has that id.
        """
        with self.lock:
            st = self._statuses[str(status_id)]
            data = self._status_json(st, source=True, viewer=self._users[st.user_id])
            data["deleted"] = st.deleted_at is not None
            return data

    def media(self, media_id: str) -> dict[str, Any]:
        """One uploaded attachment as the API shows it.

        Raises:
            KeyError: no attachment has that id.
        """
        with self.lock:
            return self._media_json(self._media[str(media_id)])

    @property
    def uploads(self) -> list[dict[str, Any]]:
        """Every attachment uploaded so far, oldest first, as the API shows it."""
        with self.lock:
            return [self._media_json(m) for m in self._media.values()]

    def set_rate_limit(self, family: str, limit: int, window: float) -> None:
        """Change one limit (``api``, ``statuses``, ``media`` or ``delete``), e.g. to 5
        requests per 2 s, so that tests hit it quickly."""
        with self.lock:
            self.rate_limits[family] = (limit, window)

    def revoke_tokens(self) -> None:
        """Revoke every token issued so far: requests with them get 401
        ``{"error": "The access token was revoked"}``."""
        with self.lock:
            for token in self._tokens.values():
                token.revoked = True

    def expire_tokens(self) -> None:
        """Mastodon tokens never expire, so this revokes them (see `revoke_tokens`)."""
        self.revoke_tokens()

    def delete_app(self, client_id: str) -> None:
        """Delete an OAuth app, as its owner does in Settings → Development (or an admin).

        Doorkeeper deletes the app's tokens and authorization codes with it
        (``dependent: :delete_all``): requests with those tokens then get 401
        ``{"error": "The access token is invalid"}`` (an unknown token, not a revoked
        one), its codes no longer exchange, and the client id is unknown to
        ``/oauth/authorize``, ``/oauth/token`` and ``/oauth/revoke``. Tokens made by
        `account` belong to no app and stay valid.

        Raises:
            KeyError: no app has that client id (never registered, or deleted already).
        """
        with self.lock:
            del self._apps[client_id]
            for token in [t for t, v in self._tokens.items() if v.client_id == client_id]:
                del self._tokens[token]
            for code in [c for c, v in self._codes.items() if v.client_id == client_id]:
                del self._codes[code]

    def engage(
        self,
        status_id: str,
        *,
        favourites: int = 0,
        reblogs: int = 0,
        replies: int = 0,
        quotes: int = 0,
    ) -> None:
        """Add engagement to a status on top of what the clock brings.

        Raises:
            KeyError: no status has that id.
        """
        with self.lock:
            extra = self._statuses[str(status_id)].extra
            for field, value in (
                ("favourites_count", favourites),
                ("reblogs_count", reblogs),
                ("replies_count", replies),
                ("quotes_count", quotes),
            ):
                extra[field] = extra.get(field, 0) + value

    def fail_media(self, media_id: str) -> None:
        """Make an upload's processing fail: ``GET /api/v1/media/:id`` answers 422.

        Raises:
            KeyError: no attachment has that id.
        """
        with self.lock:
            self._media[str(media_id)].failed = True

    def status_length(self, text: str, spoiler_text: str = "") -> int:
        """The length this instance checks against ``max_characters``."""
        return status_length(text, spoiler_text, self.characters_reserved_per_url)

    # -- the audience ----------------------------------------------------------------------

    def audience_write(
        self,
        member: Audience,
        kind: str,
        text: str,
        *,
        target: str | None = None,
        lang: str | None = None,
    ) -> str:
        """A public status by the audience member ``member.name`` (``fan1`` is a user of
        this instance, ``fan1@other.example`` one of another server), as Mastodon's web app
        writes it: a reply starts with the replied-to author's ``@handle`` and a mention
        with the first account's, unless the text mentions them already. Every account
        the status mentions gets a ``mention`` notification; a quote (4.5+) gets the quoted
        account a ``quote`` notification. Returns the status id.

        Raises:
            NotImplementedError: ``kind`` is ``"comment"`` (Mastodon has replies), or a
                quote on an instance before 4.5.
            KeyError: ``target`` is not a status that exists, or a mention with no account
                made yet to mention.
        """
        with self.lock:
            self._publish_due()
            author = self._audience_user(member.name)
            if kind in _AUDIENCE_ACTS:
                return self._audience_act(author, kind, target)
            now = self.clock.time()
            if kind == "edit":
                edited = self._statuses.get(str(target))
                if edited is None or edited.user_id != author.id or edited.deleted_at is not None:
                    raise KeyError(f"no status {target!r} of {author.acct} on this instance")
                answered = edited.in_reply_to_account_id
                if answered is not None and answered != author.id:
                    # The web app's edit box holds the whole text, the answered handle first.
                    text = _mention_first(text, self._users[answered].acct)
                if text != edited.text:
                    self._edit(
                        edited,
                        author,
                        text,
                        edited.spoiler_text,
                        edited.sensitive,
                        edited.language,
                        list(edited.media_ids),
                        now,
                    )
                return edited.id
            parent: _Status | None = None
            quoted: _Status | None = None
            if kind == "comment":
                raise NotImplementedError("Mastodon has no comments: use reply()")
            if kind == "quote" and _release(self.version) < (4, 5):
                raise NotImplementedError(
                    f"Mastodon {self.version} has no quote posts (4.5 added them): build the "
                    "emulator with version='4.5.0' or newer"
                )
            if kind in ("reply", "quote"):
                found = self._statuses.get(str(target))
                if found is None or found.deleted_at is not None:
                    raise KeyError(f"no status {target!r} on this instance")
                if kind == "reply":
                    parent = found
                    if parent.user_id != author.id:
                        text = _mention_first(text, self._users[parent.user_id].acct)
                else:
                    quoted = found
            elif kind == "direct" and target is not None:
                found = self._statuses.get(str(target))
                if found is None or not self._visible(found, author):
                    raise KeyError(
                        f"no status {target!r} on this instance that {author.acct} can see"
                    )
                parent = found
                if parent.user_id != author.id:
                    text = _mention_first(text, self._users[parent.user_id].acct)
            elif kind in ("mention", "direct"):
                brands = [u for u in self._users.values() if not u.audience]
                if not brands:
                    raise KeyError("no account to mention: make one with emu.account() first")
                if not any(self._mentioned(u, text) for u in brands):
                    # The account made last, as on every emulator.
                    text = _mention_first(text, brands[-1].acct)
            elif kind != "post":
                raise NotImplementedError(f"Mastodon has no {kind!r} messages")
            st = _Status(
                id=self._new_id(),
                user_id=author.id,
                text=text,
                spoiler_text="",
                visibility="direct" if kind == "direct" else "public",
                language=lang,
                sensitive=False,
                in_reply_to_id=parent.id if parent else None,
                in_reply_to_account_id=parent.user_id if parent else None,
                media_ids=[],
                created_at=now,
                quote_of=quoted.id if quoted else None,
                # A local member writes on the web; another server's status has no app here.
                application="Web" if author.domain is None else None,
            )
            self._add_status(st)
            self._notify_about(st)
            if author.domain is None:
                self._deliver_to_conversation(st)
            return st.id

    def audience(self, name: str) -> MastodonAudience:
        """The audience member ``name`` (the same object for the same name): ``fan1`` is a
        user of this instance, ``fan1@other.example`` one of another server. Besides
        writing, a member favourites, reblogs and follows (`MastodonAudience`)."""
        with self.lock:
            members: dict[str, Audience] = self.__dict__.setdefault("_audience", {})
            member = members.get(name)
            if not isinstance(member, MastodonAudience):
                member = members[name] = MastodonAudience(self, name)
            return member

    def _audience_act(self, author: _User, kind: str, target: str | None) -> str:
        """A favourite, reblog or follow by ``author`` (or its undoing), with the
        notification Mastodon makes for it (and, undone, destroys with it)."""
        if kind in ("follow", "unfollow"):
            followed = self._followed(target)
            if followed is author:
                raise ValueError(f"{author.acct} cannot follow themselves")
            if kind == "follow" and (followed.id, author.id) in self._blocks:
                raise ValueError(
                    f"{followed.acct} blocked {author.acct}: Mastodon refuses the follow"
                )
            pair = (author.id, followed.id)
            if kind == "follow" and pair not in self._follows:
                self._follows.add(pair)
                self._follow_ids[pair] = self._next_row("follows")
                self._follower_counts[followed.id] += 1
                self._following_counts[author.id] += 1
                self._notify("follow", followed.id, author.id, None)
            elif kind == "unfollow" and pair in self._follows:
                self._follows.discard(pair)
                self._follow_ids.pop(pair, None)
                self._follower_counts[followed.id] -= 1
                self._following_counts[author.id] -= 1
                self._drop_notification("follow", followed.id, author.id, None)
            return followed.id
        st = self._statuses.get(str(target))
        if st is None or not self._visible(st, author):
            raise KeyError(f"no status {target!r} on this instance that {author.acct} can see")
        pair = (author.id, st.id)
        if kind in ("favourite", "unfavourite"):
            self._set_favourite(author, st, kind == "favourite")
        elif kind == "reblog":
            if st.visibility not in ("public", "unlisted"):
                # Status#reblog? policy: private and direct statuses cannot be reblogged.
                raise ValueError(f"a {st.visibility} status cannot be reblogged")
            if pair not in self._reblogs:
                # ReblogService gives back an existing reblog rather than making another.
                self._reblogs[pair] = self._new_id()
                self._reblog_counts[st.id] += 1
                self._notify("reblog", st.user_id, author.id, st.id)
            return self._reblogs[pair]
        elif kind == "unreblog" and pair in self._reblogs:
            del self._reblogs[pair]
            self._reblog_counts[st.id] -= 1
            self._drop_notification("reblog", st.user_id, author.id, st.id)
        return st.id

    def _followed(self, acct: str | None) -> _User:
        """The account an audience member follows: ``acct`` (a username or
        ``user@domain``), else the account made last, as mentions default to it."""
        if acct is None:
            brands = [u for u in self._users.values() if not u.audience]
            if not brands:
                raise KeyError("no account to follow: make one with emu.account() first")
            return brands[-1]
        username, _, domain = acct.lstrip("@").partition("@")
        user = self._resolve(username, domain or None)
        if user is None:
            raise KeyError(f"no user {acct!r} on this instance")
        return user

    def _drop_notification(
        self, kind: str, account_id: str, from_id: str, status_id: str | None
    ) -> None:
        """The notification of an act that was undone is gone with it (Favourite, Follow
        and a reblog Status each ``has_one :notification, dependent: :destroy``)."""
        user = self._users.get(account_id)
        if user is None:
            return
        self._forget_notifications(
            user,
            lambda n: not (n.type == kind and n.from_id == from_id and n.status_id == status_id),
        )

    def set_indexable(self, name: str, indexable: bool = True) -> None:
        """Let the audience member ``name`` opt into (or out of) full-text search, as the
        profile's "Include public posts in search results" setting does.

        Raises:
            ValueError: ``name`` is not a Mastodon handle.
        """
        with self.lock:
            self._audience_user(name).indexable = indexable

    def answers(self, message_id: str) -> list[str]:
        """The texts the accounts (not the audience) wrote in direct reply to the status
        ``message_id``, oldest first, deleted ones left out; the ``@handle`` of the
        replied-to author that a Mastodon reply starts with is taken off the front."""
        with self.lock:
            parent = self._statuses.get(str(message_id))
            if parent is None:
                return []
            handle = self._users[parent.user_id].acct
            lead = regex.compile(r"\A@" + regex.escape(handle) + r"(?:\s+|\Z)", regex.I)
            return [
                lead.sub("", s.text, count=1)
                for s in self._live()
                if s.in_reply_to_id == parent.id and not self._users[s.user_id].audience
            ]

    def notifications(self, account_id: str | None = None) -> list[dict[str, Any]]:
        """The notifications that exist (of one account, when given), oldest first, as
        ``GET /api/v1/notifications`` shows them."""
        with self.lock:
            return [
                self._notification_json(n)
                for n in self._shown_notifications()
                if account_id is None or n.account_id == account_id
            ]

    def account_id(self, acct: str) -> str:
        """The id of the user ``acct`` (an account's username, or an audience member's
        name such as ``fan1`` or ``fan1@other.example``).

        Raises:
            KeyError: no such user.
        """
        with self.lock:
            username, _, domain = acct.lstrip("@").partition("@")
            user = self._resolve(username, domain or None)
            if user is None:
                raise KeyError(f"no user {acct!r} on this instance")
            return user.id

    def delete(self, status_id: str) -> None:
        """Delete a status as its author would (an audience member taking a message
        back): it is gone from reads, and its notifications with it.

        Raises:
            KeyError: no status has that id.
        """
        with self.lock:
            st = self._statuses[str(status_id)]
            if st.deleted_at is None:
                self._destroy(st)

    def _audience_user(self, name: str) -> _User:
        user_id = self._audience_ids.get(name)
        if user_id is not None:
            return self._users[user_id]
        username, _, domain = name.lstrip("@").partition("@")
        if not regex.fullmatch(r"\w+", username) or (domain and "/" in domain):
            raise ValueError(f"{name!r} is not a Mastodon handle such as fan1 or fan1@example.org")
        existing = self._resolve(username, domain or None)
        if existing is not None:
            return existing  # an account of this instance speaks (one brand to another)
        user = _User(
            id=self._new_id(),
            username=username,
            display_name=username.capitalize(),
            created_at=self.clock.time(),
            followers=0,
            followers_per_day=0.0,
            audience=True,
            domain=domain.lower() or None,
            indexable=self.audience_indexable,
        )
        self._users[user.id] = user
        self._audience_ids[name] = user.id
        return user

    def _domain(self) -> str:
        """The instance's own origin, which every URL of an answer is made of: the one the
        request being answered reached it by, else `base_url`. Mastodon has one domain
        (LOCAL_DOMAIN) and builds every address from it, whoever wrote the status and
        whenever; the emulator has none configured, so the name a client uses is its domain
        (the instance document says so too), and a status or account made while it was
        not served, or reached by another name of its socket, shows the client's."""
        return self._answering or self._base_url

    def _host(self) -> str:
        domain = self._domain()
        memo = self._host_memo
        if memo is None or memo[0] != domain:
            memo = (domain, httpx.URL(domain).netloc.decode("ascii"))
            self._host_memo = memo
        return memo[1]

    def _resolve(self, username: str, domain: str | None) -> _User | None:
        """The user a mention names: local without a domain (or with this server's), else
        an audience member of that server (the first made, when names collide)."""
        if domain is not None and domain.lower() == self._host().lower():
            domain = None
        wanted = (username.lower(), domain.lower() if domain else None)
        memo = self._by_name
        if memo is None or memo[0] != len(self._users):
            names: dict[tuple[str, str | None], _User] = {}
            for user in self._users.values():
                names.setdefault((user.username.lower(), user.domain or None), user)
            memo = self._by_name = (len(self._users), names)
        found = memo[1].get(wanted)
        if found is not None and (found.username.lower(), found.domain or None) == wanted:
            return found
        # Not known, or a user was renamed since the memo: look the slow way.
        for user in self._users.values():
            if (user.username.lower(), user.domain or None) == wanted:
                return user
        return None

    def _mentioned(self, user: _User, text: str) -> bool:
        for match in _MENTION.finditer(_URL.sub(" ", text)):
            if self._resolve(match.group(1), match.group(2)) is user:
                return True
        return False

    def _notify(self, kind: str, account_id: str, from_id: str, status_id: str | None) -> None:
        if account_id == from_id or self._users[account_id].domain is not None:
            return  # nobody is notified of their own acts; remote accounts live elsewhere
        if (account_id, from_id) in self._blocks or self._muting_account(account_id, from_id)[1]:
            return  # NotifyService's DropCondition: blocking? or muting_notifications?
        if status_id is not None and self._muting(account_id, self._statuses[status_id]):
            return  # NotifyService's DropCondition: conversation_muted?
        direct = kind == "mention" and self._statuses[str(status_id)].visibility == "direct"
        filtered = direct and self._private_mention_filtered(account_id, from_id, str(status_id))
        self._last_notification += 1
        now = self.clock.time()
        notification = _Notification(
            id=str(self._last_notification),
            type=kind,
            account_id=account_id,
            from_id=from_id,
            status_id=status_id,
            created_at=now,
            group_key=self._group_key(kind, account_id, status_id, now),
            filtered=filtered,
        )
        if direct and not filtered:
            # NotifyService#push_to_conversation! (direct_message?).
            self._add_to_conversation(account_id, self._statuses[str(status_id)])
        self._notifications.append(notification)
        self._notifications_of.setdefault(account_id, []).append(
            (_num(notification.id), notification)
        )
        self._notification_template(notification)

    def _private_mention_filtered(self, account_id: str, from_id: str, status_id: str) -> bool:
        """FilterCondition#filtered_by_private_mentions_policy? (4.3+, the policy's default
        ``filter``): the recipient does not follow the sender and the status does not
        answer a direct status of the recipient's thread that mentions the sender (the
        nearest ancestor mentioning the sender, within 100 levels, must be direct)."""
        if _release(self.version) < (4, 3) or (account_id, from_id) in self._follows:
            return False
        sender = self._users[from_id]
        parent_id = self._statuses[status_id].in_reply_to_id
        for _ in range(101):
            parent = self._statuses.get(parent_id or "")
            if parent is None or parent.deleted_at is not None:
                return True
            if self._mentioned(sender, parent.text):
                return parent.visibility != "direct"
            parent_id = parent.in_reply_to_id
        return True

    def _participants(self, owner_id: str, st: _Status) -> tuple[str, ...]:
        """AccountConversation.participants_from_status: the accounts the status mentions
        and its author, less the owner, sorted as ids."""
        ids = {st.user_id}
        for match in _MENTION.finditer(_URL.sub(" ", st.text)):
            user = self._resolve(match.group(1), match.group(2))
            if user is not None:
                ids.add(user.id)
        ids.discard(owner_id)
        return tuple(sorted(ids, key=_num))

    def _add_to_conversation(self, owner_id: str, st: _Status) -> None:
        """AccountConversation.add_status: the owner's row for the thread and participants
        (made if new) takes the status; unread unless the owner wrote it."""
        key = (owner_id, st.conversation_id or st.id, self._participants(owner_id, st))
        row = next(
            (
                c
                for c in self._account_conversations.values()
                if (c.account_id, c.conversation_id, c.participant_ids) == key
            ),
            None,
        )
        if row is None:
            row = _AccountConversation(
                id=self._next_row("account_conversations"),
                account_id=owner_id,
                conversation_id=key[1],
                participant_ids=key[2],
                status_ids=[],
                unread=False,
            )
            self._account_conversations[row.id] = row
        if st.id in row.status_ids:
            return
        row.status_ids.append(st.id)
        row.status_ids.sort(key=_num)
        row.unread = st.user_id != owner_id

    def _deliver_to_conversation(self, st: _Status) -> None:
        """FanOutOnWriteService#deliver_to_conversation!: a direct status is in its local
        author's own conversations."""
        if st.visibility == "direct":
            self._add_to_conversation(st.user_id, st)

    def _unlink_from_conversations(self, st: _Status) -> None:
        """Status#unlink_from_conversations!: a deleted direct status leaves the
        conversations of the local accounts it mentions and of its local author; a row
        left without statuses is destroyed (AccountConversation.remove_status)."""
        if st.visibility != "direct":
            return
        for row in list(self._account_conversations.values()):
            key = (row.conversation_id, row.participant_ids)
            if st.id in row.status_ids and key == (
                st.conversation_id or st.id,
                self._participants(row.account_id, st),
            ):
                row.status_ids.remove(st.id)
                if not row.status_ids:
                    del self._account_conversations[row.id]

    def _group_key(
        self, kind: str, account_id: str, status_id: str | None, now: float
    ) -> str | None:
        """Notification::Groups#set_group_key!: the type (and target status) and an hour
        bucket, reusing the previous group's bucket while it is under 12 hours old (its
        Redis key expires after 12 hours)."""
        if kind not in _GROUPABLE:
            return None
        prefix = f"{kind}-{status_id}" if kind in ("favourite", "reblog") else kind
        bucket = int(now) // 3600
        previous = self._group_buckets.get((account_id, prefix))
        span = _MAXIMUM_GROUP_SPAN_HOURS
        last = previous[0] if previous is not None and now - previous[1] < span * 3600 else 0
        if bucket < last + span:
            bucket = last
        self._group_buckets[(account_id, prefix)] = (bucket, now)
        return f"{prefix}-{bucket}"

    def _notify_about(self, st: _Status) -> None:
        """ProcessMentionsService and the quote: who a new status notifies. Like Mastodon,
        which renders and links a status when it is written, the text's HTML, mentions and
        tags are made now, so that reads find them ready."""
        self._status_template(st, False)
        self._mentions_text(st)
        notified: set[str] = set()
        for match in _MENTION.finditer(_URL.sub(" ", st.text)):
            user = self._resolve(match.group(1), match.group(2))
            if user is not None and user.id not in notified:
                notified.add(user.id)
                self._notify("mention", user.id, st.user_id, st.id)
        if st.quote_of is not None:
            self._notify("quote", self._statuses[st.quote_of].user_id, st.user_id, st.id)

    def _destroy(self, st: _Status) -> None:
        """Delete ``st`` as RemoveStatusService does (``@status.destroy! if permanently?``,
        permanent unless the status was reported). db/schema.rb's ``add_foreign_key
        "statuses", "statuses", column: "in_reply_to_id", on_delete: :nullify`` then empties
        the parent of its direct replies; their ``in_reply_to_account_id`` has no foreign key
        and keeps naming the author. A quote keeps its link: 4.5's ``quotes`` row outlives the
        quoted status and is shown as ``"state": "deleted"`` (`_quote_json`)."""
        self._unlink_from_conversations(st)
        # Status has_many :status_pins, dependent: :destroy.
        self._pins = {pin for pin in self._pins if pin[1] != st.id}
        st.deleted_at = self.clock.time()
        for other in self._statuses.values():
            if other.in_reply_to_id == st.id:
                other.in_reply_to_id = None

    def _shown_notifications(self) -> list[_Notification]:
        # A deleted status takes its mention (and so its notification) with it.
        return [
            n
            for n in self._notifications
            if n.status_id is None or self._statuses[n.status_id].deleted_at is None
        ]

    # -- plumbing --------------------------------------------------------------------------

    def _dispatch(self, request: httpx.Request) -> httpx.Response:
        # HostAuthorization is the first of Rails' middlewares: before Rack::Attack's
        # throttles and the routes.
        blocked = self._blocked_host(request)
        return blocked if blocked is not None else super()._dispatch(request)

    def _blocked_host(self, request: httpx.Request) -> httpx.Response | None:
        """Mastodon's 403 page for a request that came in over the socket by a Host, or a
        last X-Forwarded-Host, that is none of the instance's names, or by no Host at all
        (1_hosts.rb: ``config.hosts`` holds LOCAL_DOMAIN, WEB_DOMAIN and ALTERNATE_DOMAINS,
        ``/health`` exempt; Rails' HostAuthorization checks both headers); ``None`` to
        answer it.

        The emulator's names are those of its socket: ``127.0.0.1``, ``localhost`` and
        ``[::1]`` with its port, and the host of `base_url`. A request answered in-process
        has no socket and takes any name (see `_domain`)."""
        port = served_port(request)
        if port is None or request.url.path == "/health":
            return None
        names = {f"{name}:{port}" for name in ("127.0.0.1", "localhost", "[::1]")}
        names.add(self._base_url.partition("://")[2].lower())
        given = request.headers.get("host")
        # Rails takes the last of a list of forwarded names, and none when it is blank.
        forwarded = re.split(r",\s?", request.headers.get("x-forwarded-host", ""))[-1]
        forwarded = forwarded if forwarded.strip() else None
        blocked = given is None or given.strip().lower() not in names
        if not blocked and (forwarded is None or forwarded.lower() in names):
            return None
        # Rack's request.host: the forwarded name, else Host, else Puma's server name when
        # the request has no Host; without its port.
        shown = forwarded if forwarded is not None else given
        host = re.sub(r":\d*\Z", "", shown.strip()) if shown is not None else "localhost"
        script = json.dumps(host, ensure_ascii=False)
        for char, escaped in _JSON_ESCAPES.items():
            script = script.replace(char, escaped)
        page = _BLOCKED_HOST_PAGE.substitute(
            title=html.escape(host).replace("&#x27;", "&#39;"), script=script, host=host
        )
        return self.html(page, 403)

    def error(self, status: int, message: str, **extra: Any) -> httpx.Response:
        """Mastodon's error body: ``{"error": message}``."""
        return self.json({"error": message, **extra}, status=status)

    def _new_id(self, at: float | None = None) -> str:
        """A new id of the time ``at`` (by default now), as Mastodon's ``timestamp_id``:
        its milliseconds since the epoch shifted 16 bits, plus a sequence. Mastodon's adds a
        hashed base to the table's sequence; here each millisecond's counts from 0, so ids
        made in one grow. An id already given (the clock moved back onto a millisecond, or
        one with 65,536 ids spilled into the next) is passed over."""
        millis = int((self.clock.time() if at is None else at) * 1000)
        sequence = self._id_sequence.get(millis, 0)
        while (millis << 16) + sequence in self._ids:
            sequence += 1
        self._id_sequence[millis] = sequence + 1
        made = (millis << 16) + sequence
        self._ids.add(made)
        return str(made)

    def _live(self) -> list[_Status]:
        return self._indexed().live

    def _indexed(self) -> _Index:
        """The live statuses and their counts, kept as statuses are made and made again
        after a change to one (answering a page of 80 notifications looked them up
        thousands of times); a new status is taken in as a rebuild would place it (the
        newest, last), so that publishing N posts does not cost N²."""
        return self._index.over(self._statuses)

    def _add_status(self, st: _Status) -> None:
        """Keep a new status (the index of live statuses takes it in at its next read)."""
        if st.conversation_id is None:
            parent = self._statuses.get(st.in_reply_to_id or "")
            st.conversation_id = (parent.conversation_id or parent.id) if parent else st.id
        self._statuses[st.id] = st

    @staticmethod
    def _origin(request: httpx.Request) -> str:
        return f"{request.url.scheme}://{request.url.netloc.decode('ascii')}"

    def _authenticate(self, request: httpx.Request) -> _User | None:
        header = request.headers.get("authorization", "")
        if not header:
            return None
        scheme, _, token = header.partition(" ")
        found = self._tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        if found is None:
            raise Refusal(401, "The access token is invalid")
        if found.revoked:
            raise Refusal(401, "The access token was revoked")
        if self.token_ttl is not None and self.clock.time() >= found.issued_at + self.token_ttl:
            raise Refusal(401, "The access token expired")
        for method, path, needed in _WRITE_SCOPES:
            if request.method == method and path.fullmatch(request.url.path):
                if needed not in found.scopes and needed.split(":")[0] not in found.scopes:
                    raise Refusal(403, "This action is outside the authorized scopes")
                break
        return self._users[found.user_id]

    def _throttles(self, request: httpx.Request, user: _User | None) -> list[tuple[str, str]]:
        who = f"token:{request.headers.get('authorization', '')}" if user else "anonymous"
        families = [("api", who)]
        path, method = request.url.path, request.method
        if user is not None and method == "POST" and re.fullmatch(r"/api/v\d+/media", path):
            families.append(("media", user.id))
        if user is not None and method == "DELETE" and re.fullmatch(r"/api/v1/statuses/\d+", path):
            families.append(("delete", user.id))
        return families

    def _window(self, family: str, now: float) -> tuple[int, float, int]:
        limit, period = self.rate_limits[family]
        return limit, period, int(math.floor(now) // period)

    def _reset(self, now: float, period: float) -> str:
        # Rack::Attack and RateLimiter: now + (period - now.to_i % period), iso8601(6).
        when = datetime.fromtimestamp(now + (period - math.floor(now) % period), UTC)
        return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    def _limit_headers(
        self, limit: int, remaining: int, now: float, period: float
    ) -> dict[str, str]:
        return {
            "x-ratelimit-limit": str(limit),
            "x-ratelimit-remaining": str(max(0, remaining)),
            "x-ratelimit-reset": self._reset(now, period),
        }

    def _statuses_family(self, user: _User, now: float) -> tuple[int, int, float]:
        limit, period, window = self._window("statuses", now)
        used = self._hits.get(("statuses", user.id, window), 0)
        return limit, used, period

    def _run(
        self, fn: Handler, request: httpx.Request, auth: str, kwargs: dict[str, Any]
    ) -> httpx.Response:
        self._publish_due()
        now = self.clock.time()
        try:
            user = self._authenticate(request) if auth != "none" else None
        except Refusal as refusal:
            return self._finish(request, self.refused(refusal), now)
        if auth == "none" and request.headers.get("authorization"):
            try:
                user = self._authenticate(request)
            except Refusal:
                user = None
        if auth == "required" and user is None:
            return self._finish(request, self.error(401, "The access token is invalid"), now)

        throttled: dict[str, str] | None = None
        most: tuple[int, dict[str, str]] | None = None
        for family, who in self._throttles(request, user):
            limit, period, window = self._window(family, now)
            key = (family, who, window)
            self._hits[key] = count = self._hits.get(key, 0) + 1
            headers = self._limit_headers(limit, limit - count, now, period)
            if count > limit and throttled is None:
                throttled = headers
            if most is None or limit - count < most[0]:
                most = (limit - count, headers)

        if throttled is not None:
            # Rack::Attack answers before the controller runs.
            response = self.error(429, "Too many requests")
            response.headers.update(throttled)
            return self._finish(request, response, now)
        self._answering = self._origin(request)
        try:
            response = fn(self, request, user=user, **kwargs)
        except Refusal as refusal:
            response = self.refused(refusal)
        finally:
            self._answering = None
        if most is not None:
            response.headers.update(most[1])
        if user is not None and request.method == "POST" and request.url.path == "/api/v1/statuses":
            # override_rate_limit_headers :create, family: :statuses — unless the
            # request throttle is closer to exhaustion.
            limit, used, period = self._statuses_family(user, now)
            if most is None or limit - used <= most[0]:
                response.headers.update(self._limit_headers(limit, limit - used, now, period))
        return self._finish(request, response, now)

    def _finish(
        self, request: httpx.Request, response: httpx.Response, now: float
    ) -> httpx.Response:
        # The Date header follows the emulator clock (the socket server then sends no other).
        response.headers["date"] = format_datetime(datetime.fromtimestamp(now, UTC), usegmt=True)
        return response

    # -- request bodies --------------------------------------------------------------------

    @staticmethod
    def _params(request: httpx.Request) -> tuple[dict[str, Any], dict[str, tuple[str, str, bytes]]]:
        """Form, JSON or multipart parameters (``key[]`` as lists) and uploaded files."""
        ctype = request.headers.get("content-type", "")
        body = request.content
        params: dict[str, Any] = {}
        files: dict[str, tuple[str, str, bytes]] = {}

        def put(key: str, value: Any) -> None:
            if key.endswith("[]"):
                params.setdefault(key[:-2], []).append(value)
            else:
                params[key] = value

        for key, value in request.url.params.multi_items():
            put(key, value)
        if ctype.startswith("application/json") and body:
            try:
                data = json.loads(body)
            except ValueError:
                raise Refusal(400, "Error occurred while parsing request parameters") from None
            if isinstance(data, dict):
                params.update(data)
        elif ctype.startswith("application/x-www-form-urlencoded") and body:
            for key, value in parse_qsl(body.decode("utf-8"), keep_blank_values=True):
                put(key, value)
        elif ctype.startswith("multipart/form-data"):
            match = re.search(r'boundary="?([^";]+)"?', ctype)
            if match is None:
                raise Refusal(400, "Error occurred while parsing request parameters")
            for name, filename, part_type, data in multipart(body, match.group(1).encode()):
                if filename is None:
                    put(name, data.decode("utf-8"))
                else:
                    files[name] = (filename, part_type, data)
        return params, files

    # -- instance --------------------------------------------------------------------------

    @route("GET", r"/api/v2/instance/?")
    @_api(auth="none")
    def _instance(self, request: httpx.Request, user: _User | None) -> httpx.Response:
        origin = self._origin(request)
        return self.json(
            {
                "domain": request.url.netloc.decode("ascii"),
                "title": "Mastodon",
                "version": self.version,
                "source_url": "https://github.com/mastodon/mastodon",
                "description": "A brandkit emulator of a Mastodon instance.",
                "usage": {"users": {"active_month": len(self._users)}},
                "thumbnail": {"url": f"{origin}/packs/media/images/preview.png"},
                "icon": [],
                "languages": ["en"],
                "configuration": {
                    "urls": {"streaming": origin.replace("http", "ws", 1), "status": None},
                    "vapid": {"public_key": ""},
                    "accounts": {"max_featured_tags": 10, "max_pinned_statuses": 5},
                    "statuses": self._status_limits(),
                    "media_attachments": {
                        "description_limit": self.description_limit,
                        "image_matrix_limit": 33177600,
                        "image_size_limit": self.image_size_limit,
                        "supported_mime_types": list(self.supported_mime_types),
                        "video_frame_rate_limit": 120,
                        "video_matrix_limit": 8294400,
                        "video_size_limit": self.video_size_limit,
                    },
                    "polls": _POLL_LIMITS,
                    "translation": {"enabled": False},
                },
                "registrations": {"enabled": False, "approval_required": False, "message": None},
                "api_versions": {"mastodon": 6},
                "contact": {"email": "", "account": None},
                "rules": [],
            }
        )

    def _status_limits(self) -> dict[str, int]:
        """The instance document's ``configuration.statuses`` (v1 and v2 alike)."""
        return {
            "max_characters": self.max_characters,
            "max_media_attachments": self.max_media_attachments,
            "characters_reserved_per_url": self.characters_reserved_per_url,
        }

    @route("GET", r"/api/v1/instance/?")
    @_api(auth="none")
    def _instance_v1(self, request: httpx.Request, user: _User | None) -> httpx.Response:
        # The v1 document, deprecated since 4.0 and still served (with a Deprecation header)
        # by 4.x: clients such as Mastodon.py read the server version from it. Its keys are
        # those a real 4.7.3 server sends (Mastodon.py's test_media_post_multiple cassette).
        origin = self._origin(request)
        response = self.json(
            {
                "uri": request.url.netloc.decode("ascii"),
                "title": "Mastodon",
                "short_description": "",
                "description": "A brandkit emulator of a Mastodon instance.",
                "email": "",
                "version": self.version,
                "urls": {"streaming_api": origin.replace("http", "ws", 1)},
                "stats": {
                    "user_count": len(self._users),
                    "status_count": len(self._live()),
                    "domain_count": 1,
                },
                "thumbnail": f"{origin}/packs/media/images/preview.png",
                "languages": ["en"],
                "registrations": False,
                "approval_required": False,
                "invites_enabled": False,
                "configuration": {
                    "accounts": {"max_featured_tags": 10},
                    "statuses": self._status_limits(),
                    "media_attachments": {
                        "supported_mime_types": list(self.supported_mime_types),
                        "image_size_limit": self.image_size_limit,
                        "image_matrix_limit": 33177600,
                        "video_size_limit": self.video_size_limit,
                        "video_frame_rate_limit": 120,
                        "video_matrix_limit": 8294400,
                    },
                    "polls": _POLL_LIMITS,
                },
                "contact_account": None,
                "rules": [],
            }
        )
        # The date Mastodon 4.0 deprecated the endpoint, as the real server sends it.
        response.headers["deprecation"] = "@1668384000"
        return response

    # -- accounts --------------------------------------------------------------------------

    def _account_json(self, user: _User, origin: str) -> dict[str, Any]:
        data = dict(self._account_memo_of(user, origin)[0])
        followers, following, statuses, last = self._account_counts(user)
        data["followers_count"] = followers
        data["following_count"] = following
        data["statuses_count"] = statuses
        data["last_status_at"] = last
        data["emojis"], data["roles"], data["fields"] = [], [], []
        return data

    def _account_text(self, user: _User, origin: str) -> str:
        """``json.dumps(self._account_json(user, origin))``, from the account's template."""
        counts = self._account_counts(user)
        template = self._account_memo_of(user, origin)[1]
        known = self._account_texts.get((user.id, origin))
        if known is not None and known[0] == counts and known[1] is template:
            return known[2]
        followers, following, statuses, last = counts
        text = template.render(
            {
                "followers_count": _number(followers),
                "following_count": _number(following),
                "statuses_count": _number(statuses),
                "last_status_at": "null" if last is None else json.dumps(last),
            }
        )
        self._account_texts[(user.id, origin)] = (counts, template, text)
        return text

    def _account_counts(self, user: _User) -> tuple[int, int, int, str | None]:
        """What changes in an Account: followers (with time), whom it follows, statuses
        and the last one's day."""
        index = self._indexed()
        return (
            self.grown(user.followers, user.followers_per_day, user.created_at, per=86_400)
            + self._follower_counts[user.id],
            self._following_counts[user.id],
            len(index.by_user.get(user.id, ())),
            index.last_day.get(user.id),
        )

    def _account_memo_of(self, user: _User, origin: str) -> tuple[dict[str, Any], JsonTemplate]:
        # The fields that change with time and statuses are filled in on every read; the
        # rest is made once per account (and again if one of its fields changes).
        shape = (user.username, user.display_name, user.indexable, user.domain, user.created_at)
        memo = self._account_memo.get((user.id, origin))
        if memo is None or memo[0] != shape:
            fields = self._account_fields(user, origin)
            memo = (shape, fields, JsonTemplate(fields, _ACCOUNT_DYNAMIC))
            self._account_memo[(user.id, origin)] = memo
        return memo[1], memo[2]

    def _account_fields(self, user: _User, origin: str) -> dict[str, Any]:
        """An Account's JSON, in Mastodon's field order, without its counts."""
        created = datetime.fromtimestamp(user.created_at, UTC)
        home = f"https://{user.domain}" if user.domain else origin
        return {
            "id": user.id,
            "username": user.username,
            "acct": user.acct,
            "display_name": user.display_name,
            "locked": False,
            "bot": False,
            "discoverable": True,
            "indexable": user.indexable,
            "group": False,
            "created_at": created.strftime("%Y-%m-%dT00:00:00.000Z"),
            "note": "",
            "url": f"{home}/@{user.username}",
            "uri": f"{home}/users/{user.username}",
            "avatar": f"{origin}/avatars/original/missing.png",
            "avatar_static": f"{origin}/avatars/original/missing.png",
            "header": f"{origin}/headers/original/missing.png",
            "header_static": f"{origin}/headers/original/missing.png",
            "followers_count": 0,
            "following_count": 0,
            "statuses_count": 0,
            "last_status_at": None,
            "hide_collections": False,
            "noindex": False,
            "emojis": [],
            "roles": [],
            "fields": [],
        }

    @route("GET", r"/api/v1/accounts/verify_credentials")
    @_api()
    def _verify_credentials(self, request: httpx.Request, user: _User) -> httpx.Response:
        data = self._account_json(user, self._origin(request))
        data["source"] = {
            "privacy": "public",
            "sensitive": False,
            "language": None,
            "note": "",
            "fields": [],
            "follow_requests_count": 0,
            "hide_collections": False,
            "discoverable": True,
            "indexable": False,
        }
        data["role"] = {
            "id": "-99",
            "name": "",
            "permissions": "0",
            "color": "",
            "highlighted": False,
        }
        return self.json(data)

    @route("GET", r"/api/v1/accounts/(?P<account_id>[^/]+)/statuses")
    @_api(auth="optional")
    def _account_statuses(
        self, request: httpx.Request, user: _User | None, account_id: str
    ) -> httpx.Response:
        # Api::V1::Accounts::StatusesController#index: AccountStatusesFilter's results
        # (exclude_replies keeps the account's replies to itself, Status.without_replies;
        # only_media, tagged, pinned), limit_param(20) (at most 40),
        # paged by id (min_id reads the page just newer); the Link header's next (max_id)
        # only for a full page, prev (min_id) unless the page is empty, keeping limit and
        # AccountStatusesFilter::KEYS.
        if account_id not in self._users:
            raise Refusal(404, "Record not found")
        params = request.url.params
        raw_limit = params.get("limit")
        limit = _limit_param(raw_limit, 20)
        tagged = params.get("tagged")
        items = [
            s
            for s in self._live()
            if s.user_id == account_id
            and self._visible(s, user)
            and not (
                _truthy(params.get("exclude_replies"))
                and s.in_reply_to_account_id not in (None, s.user_id)
            )
            and not (_truthy(params.get("only_media")) and not s.media_ids)
            and not (tagged and hashtag_key(tagged) not in self._tags(s))
            and not (_truthy(params.get("pinned")) and (account_id, s.id) not in self._pins)
        ]
        page = self._page_by_id(items, params, limit)
        origin = self._origin(request)
        response = self.json([self._status_json(s, viewer=user) for s in page])
        keys = ("limit", "pinned", "tagged", "only_media", "exclude_replies", "exclude_reblogs")
        keep = [(k, v) for k, v in params.multi_items() if k in keys]
        url = f"{origin}/api/v1/accounts/{account_id}/statuses"
        links = []
        if page and len(page) == limit:
            query = httpx.QueryParams(sorted([*keep, ("max_id", page[-1].id)]))
            links.append(f'<{url}?{query}>; rel="next"')
        if page:
            query = httpx.QueryParams(sorted([*keep, ("min_id", page[0].id)]))
            links.append(f'<{url}?{query}>; rel="prev"')
        if links:
            response.headers["link"] = ", ".join(links)
        return response

    # -- media -----------------------------------------------------------------------------

    def _media_json(self, m: _Attachment) -> dict[str, Any]:
        ready = not m.failed and self.clock.time() >= m.ready_at
        base = f"{self._domain()}/system/media_attachments"
        # The extension comes from the stored type, as Mastodon's own file names do.
        ext = media_extension(mime_type=m.mime_type)
        meta: dict[str, Any] = {"focus": {"x": 0.0, "y": 0.0}}
        if m.width and m.height:
            meta["original"] = {
                "width": m.width,
                "height": m.height,
                "size": f"{m.width}x{m.height}",
                "aspect": m.width / m.height,
            }
        return {
            "id": m.id,
            "type": m.type,
            "url": f"{base}/files/{m.id}/original/{m.id}.{ext}" if ready else None,
            "preview_url": f"{base}/small/{m.id}.jpg",
            "remote_url": None,
            "preview_remote_url": None,
            "text_url": None,
            "meta": meta,
            "description": m.description,
            "blurhash": _BLURHASH,
        }

    def _store_upload(self, request: httpx.Request, user: _User, *, wait: bool) -> _Attachment:
        params, files = self._params(request)
        upload = files.get("file")
        if upload is None:
            raise Refusal(422, "Validation failed: File can't be blank")
        filename, declared, data = upload
        sniffed = sniff(data[:64])
        mime = sniffed[0] if sniffed else declared
        if mime not in self.supported_mime_types:
            raise Refusal(422, "Validation failed: File content type is invalid")
        kind = {"image/gif": "gifv"}.get(mime) or mime.split("/")[0]
        if kind not in ("image", "gifv", "video", "audio"):
            kind = "unknown"
        cap = self.image_size_limit if kind == "image" else self.video_size_limit
        if mime == "image/gif":
            cap = self.image_size_limit
        if len(data) > cap:
            raise Refusal(
                422, f"Validation failed: File file size must be less than {cap // MiB} MB"
            )
        description = params.get("description")
        if description is not None and len(description) > self.description_limit:
            raise Refusal(
                422,
                f"Validation failed: Description is too long (maximum is "
                f"{self.description_limit} characters)",
            )
        now = self.clock.time()
        delay = self.image_processing if kind == "image" else self.video_processing
        width = height = None
        if sniffed and sniffed[1] != "video":
            width, height = _image_size(data)
        attachment = _Attachment(
            id=self._new_id(),
            user_id=user.id,
            type=kind,
            mime_type=mime,
            filename=filename or "upload",
            size=len(data),
            description=description or None,
            ready_at=now if wait else now + delay,
            created_at=now,
            width=width,
            height=height,
        )
        self._media[attachment.id] = attachment
        return attachment

    @route("POST", r"/api/v2/media")
    @_api()
    def _upload_v2(self, request: httpx.Request, user: _User) -> httpx.Response:
        m = self._store_upload(request, user, wait=False)
        ready = self.clock.time() >= m.ready_at
        return self.json(self._media_json(m), status=200 if ready else 202)

    @route("POST", r"/api/v1/media")
    @_api()
    def _upload_v1(self, request: httpx.Request, user: _User) -> httpx.Response:
        return self.json(self._media_json(self._store_upload(request, user, wait=True)))

    def _gone(self, m: _Attachment) -> bool:
        """Destroyed, or an upload no status took that the daily vacuum has removed."""
        orphaned = (
            m.status_id is None
            and m.scheduled_id is None
            and self.clock.time() - m.created_at >= self.orphan_ttl
        )
        return m.destroyed or orphaned

    def _own_unattached(self, user: _User, media_id: str) -> _Attachment:
        m = self._media.get(media_id)
        if m is None or m.user_id != user.id or m.status_id is not None or self._gone(m):
            raise Refusal(404, "Record not found")
        if m.failed:
            raise Refusal(422, "Error processing thumbnail for uploaded media")
        return m

    @route("GET", r"/api/v1/media/(?P<media_id>[^/]+)")
    @_api()
    def _get_media(self, request: httpx.Request, user: _User, media_id: str) -> httpx.Response:
        m = self._own_unattached(user, media_id)
        ready = self.clock.time() >= m.ready_at
        return self.json(self._media_json(m), status=200 if ready else 206)

    @route("PUT", r"/api/v1/media/(?P<media_id>[^/]+)")
    @_api()
    def _put_media(self, request: httpx.Request, user: _User, media_id: str) -> httpx.Response:
        m = self._own_unattached(user, media_id)
        params, _ = self._params(request)
        if "description" in params:
            description = str(params["description"])
            if len(description) > self.description_limit:
                raise Refusal(
                    422,
                    f"Validation failed: Description is too long (maximum is "
                    f"{self.description_limit} characters)",
                )
            m.description = description or None
        ready = self.clock.time() >= m.ready_at
        return self.json(self._media_json(m), status=200 if ready else 206)

    # -- statuses --------------------------------------------------------------------------

    def _shown(
        self, status_id: str, viewer: _User | None, missing: str = "Record not found"
    ) -> _Status:
        """The status ``status_id``, which ``viewer`` may see.

        Raises:
            Refusal: 404 with ``missing`` (Mastodon's words differ by endpoint) when there is
                no such status or ``viewer`` may not see it.
        """
        st = self._statuses.get(status_id)
        if st is None or not self._visible(st, viewer):
            raise Refusal(404, missing)
        return st

    def _visible(self, st: _Status, viewer: _User | None) -> bool:
        if st.deleted_at is not None:
            return False
        return st.visibility in ("public", "unlisted") or (
            viewer is not None and (viewer.id == st.user_id or self._mentioned(viewer, st.text))
        )

    def _counts(self, st: _Status) -> dict[str, int]:
        hours = max(0.0, self.clock.time() - st.created_at) / 3600
        weight = 1 + int(st.id) % 5
        favourites = int(hours * self.engagement_rate * weight)
        index = self._indexed()
        replies = index.replies[st.id]
        quotes = index.quotes[st.id]
        counts = {
            "favourites_count": favourites + self._favourite_counts[st.id],
            "reblogs_count": favourites // 3 + self._reblog_counts[st.id],
            "replies_count": favourites // 6 + replies,
            "quotes_count": favourites // 10 + quotes,
        }
        for field, value in st.extra.items():
            counts[field] += value
        return counts

    def _status_json(
        self,
        st: _Status,
        *,
        source: bool = False,
        text_only: bool = False,
        viewer: _User | None = None,
        nested: bool = False,
    ) -> dict[str, Any]:
        user = self._users[st.user_id]
        origin = self._domain()
        data = self._status_fields(
            st,
            text_only=text_only,
            signed_in=viewer is not None,
            pinnable=self._pinnable(st, viewer),
        )
        data.update(self._counts(st))
        if viewer is not None:
            data["favourited"] = (viewer.id, st.id) in self._favourites
            data["reblogged"] = (viewer.id, st.id) in self._reblogs
            data["muted"] = self._muting(viewer.id, st)
            data["bookmarked"] = (viewer.id, st.id) in self._bookmark_ids
            if "pinned" in data:
                data["pinned"] = (viewer.id, st.id) in self._pins
        data["account"] = self._account_json(user, origin)
        data["media_attachments"] = [self._media_json(self._media[i]) for i in st.media_ids]
        data["mentions"] = self._mentions_json(st.text, origin)
        data["quote"] = self._quote_json(st, nested, viewer)
        if source and not text_only:
            data["text"] = st.text
        return data

    def _status_text(
        self, st: _Status, viewer: _User, made: tuple[str, str, str] | None = None
    ) -> str:
        """``json.dumps(self._status_json(st, viewer=viewer))``, from the status's template.

        ``made``: an account's text the caller made already, with its user id and origin
        (a mention's notification names its author twice: as the notification's account
        and the status's)."""
        user = self._users[st.user_id]
        origin = self._domain()
        values = {field: _number(value) for field, value in self._counts(st).items()}
        favourited = (viewer.id, st.id) in self._favourites
        values["favourited"] = "true" if favourited else "false"
        values["reblogged"] = "true" if (viewer.id, st.id) in self._reblogs else "false"
        values["pinned"] = "true" if (viewer.id, st.id) in self._pins else "false"
        values["bookmarked"] = "true" if (viewer.id, st.id) in self._bookmark_ids else "false"
        muted = self._muting(viewer.id, st)
        values["muted"] = "true" if muted else "false"
        if made is not None and made[:2] == (user.id, origin):
            values["account"] = made[2]
        else:
            values["account"] = self._account_text(user, origin)
        values["media_attachments"] = (
            json.dumps([self._media_json(self._media[i]) for i in st.media_ids])
            if st.media_ids
            else "[]"
        )
        values["mentions"] = self._mentions_text(st)
        quote = self._quote_json(st, False, viewer)
        values["quote"] = "null" if quote is None else json.dumps(quote)
        return self._status_template(st, self._pinnable(st, viewer)).render(values)

    def _mentions_text(self, st: _Status) -> str:
        """``json.dumps(self._mentions_json(st.text, self._domain()))``, made again only
        when the text, the domain or whom its mentions name changed."""
        origin = self._domain()
        named = []
        for item in _mentions_of(st.text, origin):
            username, _, domain = item["acct"].partition("@")
            user = self._resolve(username, domain or None)
            named.append(None if user is None else (user.id, user.acct))
        key = (st.text, origin, tuple(named))
        known = self._mention_texts.get(st.id)
        if known is None or known[0] != key:
            known = (key, json.dumps(self._mentions_json(st.text, origin)))
            self._mention_texts[st.id] = known
        return known[1]

    def _status_template(self, st: _Status, pinnable: bool) -> JsonTemplate:
        """The template of ``st`` for a signed-in viewer (its author when ``pinnable``)."""
        user = self._users[st.user_id]
        shape = (
            pinnable,
            st.text,
            st.spoiler_text,
            st.visibility,
            st.language,
            st.sensitive,
            st.in_reply_to_id,
            st.in_reply_to_account_id,
            st.created_at,
            self._domain(),
            user.username,
            user.domain,
            st.edited_at,
        )
        memo = self._status_memo.get(st.id)
        if memo is None or memo[0] != shape:
            memo = (
                shape,
                JsonTemplate(self._status_fields(st, pinnable=pinnable), _STATUS_DYNAMIC),
            )
            self._status_memo[st.id] = memo
        return memo[1]

    @staticmethod
    def _pinnable(st: _Status, viewer: _User | None) -> bool:
        """StatusSerializer's ``pinnable?``: ``pinned`` is shown only to the author, of a
        status that could be pinned."""
        return (
            viewer is not None
            and viewer.id == st.user_id
            and st.visibility in ("public", "unlisted", "private")
        )

    def _status_fields(
        self,
        st: _Status,
        *,
        text_only: bool = False,
        signed_in: bool = True,
        pinnable: bool = False,
    ) -> dict[str, Any]:
        """A Status's JSON in Mastodon's field order, with placeholders for what changes
        between reads (`_STATUS_DYNAMIC`), as StatusSerializer shows it: ``favourited``,
        ``reblogged``, ``muted``, ``bookmarked`` and ``filtered`` only when ``signed_in``,
        ``pinned`` only when ``pinnable`` (see `_pinnable`), and a signed-out reader's
        ``quote_approval.current_user`` is ``denied``."""
        user = self._users[st.user_id]
        # A remote account's status lives at its own server's addresses.
        origin = self._domain()
        home = f"https://{user.domain}" if user.domain else origin
        data: dict[str, Any] = {
            "id": st.id,
            "created_at": utc_millis(st.created_at),
            "in_reply_to_id": st.in_reply_to_id,
            "in_reply_to_account_id": st.in_reply_to_account_id,
            "sensitive": st.sensitive,
            "spoiler_text": st.spoiler_text,
            "visibility": st.visibility,
            "language": st.language,
            "uri": f"{home}/users/{user.username}/statuses/{st.id}",
            "url": f"{home}/@{user.username}/{st.id}",
            "replies_count": 0,
            "reblogs_count": 0,
            "favourites_count": 0,
            "quotes_count": 0,
            "edited_at": None if st.edited_at is None else utc_millis(st.edited_at),
            "favourited": False,
            "reblogged": False,
            "muted": False,
            "bookmarked": False,
            "pinned": False,
        }
        if text_only:
            data["text"] = st.text
        else:
            data["content"] = render_content(st.text, origin)
        data.update(
            {
                "filtered": [],
                "reblog": None,
                "application": {"name": st.application, "website": None},
                "account": None,
                "media_attachments": [],
                "mentions": [],
                "tags": [{"name": name, "url": url} for name, url in _tags_of(st.text, origin)],
                "emojis": [],
                "quote": None,
                "card": None,
                "poll": None,
                "quote_approval": {
                    "automatic": ["public"],
                    "manual": [],
                    "current_user": "automatic",
                },
            }
        )
        if st.application is None:
            # StatusSerializer's show_application?: false for another server's account.
            del data["application"]
        if not signed_in:
            for key in ("favourited", "reblogged", "muted", "bookmarked", "filtered"):
                del data[key]
            # Status#quote_policy_for_account(nil) is :denied.
            data["quote_approval"]["current_user"] = "denied"
        if not pinnable:
            del data["pinned"]
        return data

    def _mentions_json(self, text: str, origin: str) -> list[dict[str, Any]]:
        """``Status.mentions``: known accounts with their own ids, others made up."""
        out = [dict(item) for item in _mentions_of(text, origin)]
        for item in out:
            username, _, domain = item["acct"].partition("@")
            user = self._resolve(username, domain or None)
            if user is not None:
                item.update(id=user.id, acct=user.acct)
        return out

    def _quote_json(self, st: _Status, nested: bool, viewer: _User | None) -> dict[str, Any] | None:
        # 4.5: a Quote with the quoted status; inside it, a ShallowQuote with only the id.
        if st.quote_of is None:
            return None
        quoted = self._statuses[st.quote_of]
        if quoted.deleted_at is not None:
            return {"state": "deleted", "quoted_status": None}
        if nested:
            return {"state": "accepted", "quoted_status_id": quoted.id}
        return {
            "state": "accepted",
            "quoted_status": self._status_json(quoted, nested=True, viewer=viewer),
        }

    def _validate_media(
        self, user: _User, params: Mapping[str, Any], now: float, status_id: str | None
    ) -> list[_Attachment]:
        """PostStatusService's (and UpdateStatusService's) validate_media!: the user's
        uploads named by ``media_ids``, unattached (or already on ``status_id``, for an
        edit), at most ``max_media_attachments``, no video beside others, all processed.

        Raises:
            Refusal: 422 with Mastodon's words for the first rule broken.
        """
        raw_ids = params.get("media_ids") or []
        if not isinstance(raw_ids, list):
            raw_ids = [raw_ids]
        media_ids = [str(i) for i in raw_ids if str(i)]
        if len(media_ids) > self.max_media_attachments:
            raise Refusal(422, f"Cannot attach more than {self.max_media_attachments} files")
        attachments = []
        missing = []
        for media_id in media_ids:
            m = self._media.get(media_id)
            if (
                m is None
                or m.user_id != user.id
                or m.status_id not in (None, status_id)
                or self._gone(m)
            ):
                missing.append(media_id)
            else:
                attachments.append(m)
        if missing:
            raise Refusal(
                422, f"Media {', '.join(missing)} not found or already attached to another post"
            )
        if len(attachments) > 1 and any(m.type in ("video", "audio") for m in attachments):
            raise Refusal(422, "Cannot attach a video to a post that already contains images")
        if any(m.failed or now < m.ready_at for m in attachments):
            raise Refusal(
                422, "Cannot attach files that have not finished processing. Try again in a moment!"
            )
        return attachments

    @route("PUT", r"/api/v1/statuses/(?P<status_id>[^/]+)")
    @_api()
    def _update_status(self, request: httpx.Request, user: _User, status_id: str) -> httpx.Response:
        # StatusesController#update -> UpdateStatusService: the user's own status (404
        # otherwise); media_ids always passed, so media not sent again are dropped;
        # sensitive is sensitive or a spoiler; language valid_locale_cascade(language, the
        # status's); an edit that changes nothing is not saved (NoChangesSubmittedError);
        # the first edit keeps a snapshot of the original, each edit one of itself; the
        # local accounts that reblogged it get an "update" notification and
        # newly mentioned ones a mention.
        st = self._statuses.get(status_id)
        if st is None or st.user_id != user.id or st.deleted_at is not None:
            raise Refusal(404, "Record not found")
        params, _ = self._params(request)
        now = self.clock.time()
        attachments = self._validate_media(user, params, now, st.id)
        text = str(params.get("status") or "")
        spoiler = str(params.get("spoiler_text") or "")
        if not text.strip() and not attachments:
            raise Refusal(422, "Validation failed: Text can't be blank")
        if self.status_length(text, spoiler) > self.max_characters:
            raise Refusal(
                422, f"Validation failed: Text character limit of {self.max_characters} exceeded"
            )
        sensitive = _truthy(params.get("sensitive")) or bool(spoiler)
        language = _valid_locale(params.get("language")) or st.language
        media_ids = [m.id for m in attachments]
        if (text, spoiler, sensitive, language, media_ids) == (
            st.text,
            st.spoiler_text,
            st.sensitive,
            st.language,
            st.media_ids,
        ):
            # NoChangesSubmittedError: nothing is saved, no edit is kept, the status is
            # answered as it was.
            return self.json(self._status_json(st, viewer=user))
        for m in attachments:
            m.status_id = st.id
        self._edit(st, user, text, spoiler, sensitive, language, media_ids, now)
        return self.json(self._status_json(st, viewer=user))

    def _edit(
        self,
        st: _Status,
        user: _User,
        text: str,
        spoiler: str,
        sensitive: bool,
        language: str | None,
        media_ids: list[str],
        now: float,
    ) -> None:
        """Save an edit of ``st`` by its author ``user``, as UpdateStatusService does."""
        if not st.edits:
            st.edits.append(_snapshot(st, st.created_at))
        before = {u.id for u in self._mentioned_users(st)}
        st.text, st.spoiler_text = text, spoiler
        st.sensitive, st.language = sensitive, language
        st.media_ids = media_ids
        st.edited_at = now
        st.edits.append(_snapshot(st, now))
        for who, target in list(self._reblogs):
            if target == st.id and self._users[who].domain is None:
                self._notify("update", who, user.id, st.id)
        for mentioned in self._mentioned_users(st):
            if mentioned.id not in before:
                self._notify("mention", mentioned.id, user.id, st.id)

    def _mentioned_users(self, st: _Status) -> list[_User]:
        found: dict[str, _User] = {}
        for match in _MENTION.finditer(_URL.sub(" ", st.text)):
            user = self._resolve(match.group(1), match.group(2))
            if user is not None:
                found.setdefault(user.id, user)
        return list(found.values())

    @route("GET", r"/api/v1/statuses/(?P<status_id>[^/]+)/history")
    @_api(auth="optional")
    def _status_history(
        self, request: httpx.Request, user: _User | None, status_id: str
    ) -> httpx.Response:
        # Statuses::HistoriesController: the edits, oldest first, or one snapshot of the
        # status as it is when it was never edited (REST::StatusEditSerializer).
        st = self._shown(status_id, user)
        origin = self._origin(request)
        account = self._account_json(self._users[st.user_id], origin)
        edits = st.edits or [_snapshot(st, st.created_at)]
        return self.json(
            [
                {
                    "content": render_content(text, origin),
                    "spoiler_text": spoiler,
                    "sensitive": sensitive,
                    "created_at": utc_millis(at),
                    "account": account,
                    "media_attachments": [self._media_json(self._media[i]) for i in media],
                    "emojis": [],
                }
                for text, spoiler, sensitive, at, media in edits
            ]
        )

    @route("GET", r"/api/v1/statuses/(?P<status_id>[^/]+)/source")
    @_api()
    def _status_source(self, request: httpx.Request, user: _User, status_id: str) -> httpx.Response:
        # Statuses::SourcesController: the user's own status's source (404 otherwise).
        st = self._statuses.get(status_id)
        if st is None or st.user_id != user.id or st.deleted_at is not None:
            raise Refusal(404, "Record not found")
        return self.json({"id": st.id, "text": st.text, "spoiler_text": st.spoiler_text})

    @route("POST", r"/api/v1/statuses")
    @_api()
    def _create_status(self, request: httpx.Request, user: _User) -> httpx.Response:
        params, _ = self._params(request)
        now = self.clock.time()

        # before_action :set_thread
        parent: _Status | None = None
        reply_to = params.get("in_reply_to_id")
        if reply_to not in (None, ""):
            parent = self._statuses.get(str(reply_to))
            if parent is None or not self._visible(parent, user):
                raise Refusal(404, "The post you are trying to reply to does not appear to exist.")

        # PostStatusService#call: a known key answers with the status it created.
        key = request.headers.get("idempotency-key")
        if key:
            known = self._keys.get((user.id, key))
            if known is not None and now - known[1] < self.idempotency_ttl:
                if known[0].startswith("scheduled:"):
                    # idempotency_duplicate: scheduled_statuses.find, gone once published.
                    waiting = self._scheduled.get(known[0].removeprefix("scheduled:"))
                    if waiting is None:
                        raise Refusal(404, "Record not found")
                    return self.json(self._scheduled_json(waiting))
                original = self._statuses[known[0]]
                if original.deleted_at is not None:
                    raise Refusal(404, "Record not found")
                return self.json(self._status_json(original, viewer=user))

        attachments = self._validate_media(user, params, now, None)
        scheduled_at = self._scheduled_time(params.get("scheduled_at"))
        if scheduled_at is not None and scheduled_at > now:
            return self._schedule(request, user, params, attachments, parent, scheduled_at, key)

        # preprocess_attributes!: sensitive as a boolean cast (or a warning given); a blank
        # text with a warning takes the warning as its text, and keeps no warning.
        text = str(params.get("status") or "")
        spoiler = str(params.get("spoiler_text") or "")
        sensitive = _form_bool(params.get("sensitive"), default=False) or bool(spoiler.strip())
        if not text.strip() and spoiler.strip():
            text, spoiler = spoiler, ""

        # Status validations
        if not text.strip() and not attachments:
            raise Refusal(422, "Validation failed: Text can't be blank")
        visibility = str(params.get("visibility") or "public")
        if visibility not in VISIBILITIES:
            raise Refusal(422, "Validation failed: Visibility is not included in the list")
        if self.status_length(text, spoiler) > self.max_characters:
            raise Refusal(
                422, f"Validation failed: Text character limit of {self.max_characters} exceeded"
            )

        # RateLimiter family :statuses, recorded when the status is created.
        limit, used, _ = self._statuses_family(user, now)
        if used >= limit:
            raise Refusal(429, "Too many requests")

        # PostStatusService: language is valid_locale_cascade(@options[:language],
        # @account.user&.preferred_posting_language, I18n.default_locale).
        language = _valid_locale(params.get("language")) or self.default_language
        st = _Status(
            id=self._new_id(),
            user_id=user.id,
            text=text,
            spoiler_text=spoiler,
            visibility=visibility,
            language=language,
            sensitive=sensitive,
            in_reply_to_id=parent.id if parent else None,
            in_reply_to_account_id=parent.user_id if parent else None,
            media_ids=[m.id for m in attachments],
            created_at=now,
        )
        self._add_status(st)
        self._notify_about(st)
        self._deliver_to_conversation(st)
        for m in attachments:
            m.status_id = st.id
        if key:
            self._keys[(user.id, key)] = (st.id, now)
        _, _, window = self._window("statuses", now)
        self._hits[("statuses", user.id, window)] = used + 1
        return self.json(self._status_json(st, viewer=user))

    # -- scheduled statuses ----------------------------------------------------------------

    @staticmethod
    def _scheduled_time(value: Any) -> float | None:
        """``scheduled_at`` as a time, or ``None`` when absent.

        Raises:
            Refusal: 422 "Record invalid", as PostStatusService answers a time
                ``to_datetime`` cannot parse (ArgumentError).
        """
        if value is None or not str(value).strip():
            return None
        try:
            parsed = datetime.fromisoformat(str(value).strip())
        except ValueError:
            raise Refusal(422, "Record invalid") from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.timestamp()

    def _schedule_errors(self, user: _User, at: float | None, now: float) -> list[str]:
        """ScheduledStatus's validations: at least MINIMUM_OFFSET (5 minutes) ahead, at
        most TOTAL_LIMIT (300) scheduled, DAILY_LIMIT (25) on one UTC day; the words of
        scheduled_statuses.* in config/locales/en.yml."""
        errors = []
        if at is not None and at <= now + 300:
            errors.append("Scheduled at date must be in the future")
        mine = [s for s in self._scheduled.values() if s.user_id == user.id]
        if len(mine) >= 300:
            errors.append("You have exceeded the limit of 300 scheduled posts")
        day = _day(at) if at is not None else None
        if (
            day is not None
            and sum(1 for s in mine if s.scheduled_at and _day(s.scheduled_at) == day) >= 25
        ):
            errors.append("You have exceeded the limit of 25 scheduled posts for today")
        return errors

    def _schedule(
        self,
        request: httpx.Request,
        user: _User,
        params: Mapping[str, Any],
        attachments: list[_Attachment],
        parent: _Status | None,
        at: float,
        key: str | None,
    ) -> httpx.Response:
        """PostStatusService#schedule_status!: the status is checked (any fault is a bare
        RecordInvalid, "Record invalid"), then a ScheduledStatus keeps the options
        (scheduled_options) and the media until ``at``."""
        now = self.clock.time()
        text = str(params.get("status") or "")
        spoiler = str(params.get("spoiler_text") or "")
        if (
            (not text.strip() and not attachments)
            or str(params.get("visibility") or "public") not in VISIBILITIES
            or self.status_length(text, spoiler) > self.max_characters
        ):
            raise Refusal(422, "Record invalid")
        errors = self._schedule_errors(user, at, now)
        if errors:
            raise Refusal(422, "Validation failed: " + ", ".join(errors))
        stored: dict[str, Any] = {
            "text": params.get("status"),
            "media_ids": params.get("media_ids"),
            "sensitive": params.get("sensitive"),
            "spoiler_text": params.get("spoiler_text"),
            "visibility": params.get("visibility"),
            "language": params.get("language"),
            "scheduled_at": None,
            "poll": params.get("poll"),
            "allowed_mentions": params.get("allowed_mentions"),
            "idempotency": None,
            "with_rate_limit": False,
            "in_reply_to_id": int(parent.id) if parent else None,
        }
        sch = _Scheduled(
            id=str(self._next_row("scheduled_statuses")),
            user_id=user.id,
            scheduled_at=at,
            # jsonb keeps an object's keys ordered by length, then bytes.
            params=dict(sorted(stored.items(), key=lambda kv: (len(kv[0]), kv[0]))),
            media_ids=[m.id for m in attachments],
        )
        self._scheduled[sch.id] = sch
        for m in attachments:
            m.scheduled_id = sch.id
        if key:
            self._keys[(user.id, key)] = (f"scheduled:{sch.id}", now)
        return self.json(self._scheduled_json(sch))

    def _scheduled_json(self, sch: _Scheduled) -> dict[str, Any]:
        """REST::ScheduledStatusSerializer."""
        return {
            "id": sch.id,
            "scheduled_at": None if sch.scheduled_at is None else utc_millis(sch.scheduled_at),
            "params": dict(sch.params),
            "media_attachments": [self._media_json(self._media[i]) for i in sch.media_ids],
        }

    def _publish_due(self) -> None:
        """PublishScheduledStatusWorker for every scheduled status whose time has come, in
        time order: the record goes, then PostStatusService posts it at its time (nothing
        is posted if the status it answers is gone, as RecordNotFound is swallowed)."""
        now = self.clock.time()
        due = sorted(
            (
                s
                for s in self._scheduled.values()
                if s.scheduled_at is not None and s.scheduled_at <= now
            ),
            key=lambda s: (s.scheduled_at or 0.0, int(s.id)),
        )
        for sch in due:
            del self._scheduled[sch.id]
            # Decided before they are let go: waiting, they were no orphans to vacuum.
            media = [
                m
                for m in (self._media[i] for i in sch.media_ids if i in self._media)
                if not m.destroyed and m.status_id is None
            ]
            for m in self._media.values():
                if m.scheduled_id == sch.id:
                    m.scheduled_id = None
            params = sch.params
            parent: _Status | None = None
            if params.get("in_reply_to_id") is not None:
                parent = self._statuses.get(str(params["in_reply_to_id"]))
                if parent is None or parent.deleted_at is not None:
                    continue
            at = sch.scheduled_at or now
            spoiler = str(params.get("spoiler_text") or "")
            st = _Status(
                id=self._new_id(at),
                user_id=sch.user_id,
                text=str(params.get("text") or ""),
                spoiler_text=spoiler,
                visibility=str(params.get("visibility") or "public"),
                language=_valid_locale(params.get("language")) or self.default_language,
                sensitive=_truthy(params.get("sensitive")) or bool(spoiler),
                in_reply_to_id=parent.id if parent else None,
                in_reply_to_account_id=parent.user_id if parent else None,
                media_ids=[m.id for m in media],
                created_at=at,
            )
            self._add_status(st)
            self._notify_about(st)
            self._deliver_to_conversation(st)
            for m in media:
                m.status_id = st.id

    def _own_scheduled(self, user: _User, scheduled_id: str) -> _Scheduled:
        # current_account.scheduled_statuses.find(params[:id]).
        sch = self._scheduled.get(str(_to_i(scheduled_id)))
        if sch is None or sch.user_id != user.id:
            raise Refusal(404, "Record not found")
        return sch

    @route("GET", r"/api/v1/scheduled_statuses")
    @_api()
    def _list_scheduled(self, request: httpx.Request, user: _User) -> httpx.Response:
        # ScheduledStatusesController#index: to_a_paginated_by_id (limit 20, at most 40);
        # the Link header's next (max_id) for a full page, prev (min_id) unless empty.
        params = request.url.params
        raw_limit = params.get("limit")
        limit = _limit_param(raw_limit, 20)
        rows = [(int(s.id), s) for s in self._scheduled.values() if s.user_id == user.id]
        page = self._paginated_by_id(rows, params, limit)
        url = f"{self._origin(request)}/api/v1/scheduled_statuses"
        body = [self._scheduled_json(s) for _, s in page]
        return self._row_page(body, url, params, [r for r, _ in page], limit, prev="min_id")

    @route("GET", r"/api/v1/scheduled_statuses/(?P<scheduled_id>[^/]+)")
    @_api()
    def _get_scheduled(
        self, request: httpx.Request, user: _User, scheduled_id: str
    ) -> httpx.Response:
        return self.json(self._scheduled_json(self._own_scheduled(user, scheduled_id)))

    @route("PUT", r"/api/v1/scheduled_statuses/(?P<scheduled_id>[^/]+)")
    @_api()
    def _move_scheduled(
        self, request: httpx.Request, user: _User, scheduled_id: str
    ) -> httpx.Response:
        # #update: update!(scheduled_at:) with the model's validations (a time that does
        # not parse is stored as none, as a datetime attribute casts it).
        sch = self._own_scheduled(user, scheduled_id)
        params, _ = self._params(request)
        at = sch.scheduled_at
        if "scheduled_at" in params:
            try:
                at = self._scheduled_time(params["scheduled_at"])
            except Refusal:
                at = None
        # The limits count the stored rows, this one (at its old time) among them.
        errors = self._schedule_errors(user, at, self.clock.time())
        if errors:
            raise Refusal(422, "Validation failed: " + ", ".join(errors))
        sch.scheduled_at = at
        return self.json(self._scheduled_json(sch))

    @route("DELETE", r"/api/v1/scheduled_statuses/(?P<scheduled_id>[^/]+)")
    @_api()
    def _delete_scheduled(
        self, request: httpx.Request, user: _User, scheduled_id: str
    ) -> httpx.Response:
        # #destroy: the record goes; its media are let go (dependent: :nullify).
        sch = self._own_scheduled(user, scheduled_id)
        del self._scheduled[sch.id]
        for media_id in sch.media_ids:
            if media_id in self._media:
                self._media[media_id].scheduled_id = None
        return self.json({})

    @route("GET", r"/api/v1/statuses")
    @_api(auth="optional")
    def _get_statuses(self, request: httpx.Request, user: _User | None) -> httpx.Response:
        wanted = request.url.params.get_list("id[]") + request.url.params.get_list("id")
        ids = list(dict.fromkeys(wanted))
        if len(ids) > 20:
            # check_statuses_limit raises a bare Mastodon::ValidationError.
            raise Refusal(422, "Mastodon::ValidationError")
        found = [self._statuses.get(i) for i in ids]
        return self.json(
            [
                self._status_json(s, viewer=user)
                for s in found
                if s is not None and self._visible(s, user)
            ]
        )

    @route("GET", r"/api/v1/statuses/(?P<status_id>[^/]+)")
    @_api(auth="optional")
    def _get_status(
        self, request: httpx.Request, user: _User | None, status_id: str
    ) -> httpx.Response:
        st = self._shown(status_id, user, "Not Found")
        return self.json(self._status_json(st, viewer=user))

    @route("DELETE", r"/api/v1/statuses/(?P<status_id>[^/]+)")
    @_api()
    def _delete_status(self, request: httpx.Request, user: _User, status_id: str) -> httpx.Response:
        st = self._statuses.get(status_id)
        if st is None or st.user_id != user.id or st.deleted_at is not None:
            raise Refusal(404, "Record not found")
        # The answer carries the source text (for redrafting) instead of the HTML content.
        data = self._status_json(st, text_only=True, viewer=user)
        self._destroy(st)
        params, _ = self._params(request)
        drop_media = _truthy(params.get("delete_media"))
        for media_id in st.media_ids:
            m = self._media[media_id]
            m.status_id = None
            m.destroyed = drop_media
        return self.json(data)

    @route("GET", r"/api/v1/statuses/(?P<status_id>[^/]+)/context")
    @_api(auth="optional")
    def _context(
        self, request: httpx.Request, user: _User | None, status_id: str
    ) -> httpx.Response:
        st = self._shown(status_id, user)
        # Signed in: up to 4,096 each way at any depth; anonymous: 40 ancestors, 60
        # descendants, 20 levels (docs: statuses#context).
        most_up, most_down, deepest = (4096, 4096, None) if user else (40, 60, 20)
        ancestors: list[_Status] = []
        parent_id = st.in_reply_to_id
        while parent_id is not None and len(ancestors) < most_up:
            parent = self._statuses.get(parent_id)
            if parent is None or not self._visible(parent, user):
                break
            ancestors.append(parent)
            parent_id = parent.in_reply_to_id
        ancestors.reverse()
        # Status#ancestors and #descendants walk the whole tree, then leave out what
        # StatusFilter filters for the viewer: statuses of accounts it blocked or muted.
        ancestors = [a for a in ancestors if not self._filtered_for(a, user)]
        children: dict[str, list[_Status]] = {}
        for s in self._live():
            if s.in_reply_to_id is not None and self._visible(s, user):
                children.setdefault(s.in_reply_to_id, []).append(s)
        descendants: list[_Status] = []
        stack = [(c, 1) for c in sorted(children.get(st.id, []), key=_order, reverse=True)]
        while stack and len(descendants) < most_down:
            child, depth = stack.pop()
            descendants.append(child)
            if deepest is None or depth < deepest:
                below = sorted(children.get(child.id, []), key=_order, reverse=True)
                stack.extend((c, depth + 1) for c in below)
        descendants = [d for d in descendants if not self._filtered_for(d, user)]
        return self.json(
            {
                "ancestors": [self._status_json(a, viewer=user) for a in ancestors],
                "descendants": [self._status_json(d, viewer=user) for d in descendants],
            }
        )

    @route("POST", r"/api/v1/statuses/(?P<status_id>[^/]+)/favourite")
    @_api()
    def _favourite(self, request: httpx.Request, user: _User, status_id: str) -> httpx.Response:
        st = self._shown(status_id, user)
        self._set_favourite(user, st, True)
        return self.json(self._status_json(st, viewer=user))

    def _set_favourite(self, user: _User, st: _Status, on: bool) -> None:
        """Favourite ``st`` as ``user`` (``on``) or take the favourite back; nothing when it
        already stands so. The count, the favourite's id and its notification follow."""
        pair = (user.id, st.id)
        if on and pair not in self._favourites:
            self._favourites.add(pair)
            self._favourite_counts[st.id] += 1
            self._favourite_ids[pair] = self._next_favourite_id()
            self._notify("favourite", st.user_id, user.id, st.id)
        elif not on and pair in self._favourites:
            self._favourites.discard(pair)
            self._favourite_counts[st.id] -= 1
            self._favourite_ids.pop(pair, None)
            # Favourite's has_one :notification, dependent: :destroy.
            self._drop_notification("favourite", st.user_id, user.id, st.id)

    @route("POST", r"/api/v1/statuses/(?P<status_id>[^/]+)/unfavourite")
    @_api()
    def _unfavourite(self, request: httpx.Request, user: _User, status_id: str) -> httpx.Response:
        st = self._shown(status_id, user)
        self._set_favourite(user, st, False)
        return self.json(self._status_json(st, viewer=user))

    def _reblog_json(self, reblog_id: str, st: _Status, user: _User) -> dict[str, Any]:
        """A reblog as StatusSerializer shows it to its author (as recorded from a real
        server): empty content, the ``/activity`` uri and url, no application, the
        reblogged status in ``reblog``."""
        origin = self._domain()
        home = f"{origin}/users/{user.username}/statuses/{reblog_id}/activity"
        data = self._status_fields(st, signed_in=True)
        data.pop("pinned", None)
        data.update(
            id=reblog_id,
            created_at=utc_millis((int(reblog_id) >> 16) / 1000),
            in_reply_to_id=None,
            in_reply_to_account_id=None,
            sensitive=False,
            spoiler_text="",
            visibility=self._reblog_visibility.get(reblog_id, "public"),
            language=None,
            uri=home,
            url=home,
            reblogged=True,
            content="",
            reblog=self._status_json(st, viewer=user),
            application=None,
            account=self._account_json(user, origin),
            tags=[],
        )
        return data

    @route("POST", r"/api/v1/statuses/(?P<status_id>[^/]+)/reblog")
    @_api()
    def _reblog(self, request: httpx.Request, user: _User, status_id: str) -> httpx.Response:
        # Statuses::ReblogsController#create -> ReblogService: StatusPolicy#reblog? (not a
        # direct status, a private one only one's own, not an author who blocks or is
        # blocked: 403); an existing reblog is answered again; a new one notifies the
        # author and counts in the statuses rate-limit family.
        st = self._shown(status_id, user)
        owned = st.user_id == user.id
        if (
            st.visibility == "direct"
            or (st.visibility == "private" and not owned)
            or (st.user_id, user.id) in self._blocks
            or (user.id, st.user_id) in self._blocks
        ):
            raise Refusal(403, "This action is not allowed")
        pair = (user.id, st.id)
        if pair not in self._reblogs:
            now = self.clock.time()
            limit, used, _ = self._statuses_family(user, now)
            if used >= limit:
                raise Refusal(429, "Too many requests")
            _, _, window = self._window("statuses", now)
            self._hits[("statuses", user.id, window)] = used + 1
            params, _ = self._params(request)
            visibility = str(params.get("visibility") or "public")
            if st.visibility in ("private", "direct"):
                visibility = st.visibility  # reblogged_status.hidden?: its own visibility
            self._reblogs[pair] = reblog_id = self._new_id()
            self._reblog_visibility[reblog_id] = (
                visibility if visibility in ("public", "unlisted", "private") else "public"
            )
            self._reblog_counts[st.id] += 1
            self._notify("reblog", st.user_id, user.id, st.id)
        return self.json(self._reblog_json(self._reblogs[pair], st, user))

    @route("POST", r"/api/v1/statuses/(?P<status_id>[^/]+)/unreblog")
    @_api()
    def _unreblog(self, request: httpx.Request, user: _User, status_id: str) -> httpx.Response:
        # Statuses::ReblogsController#destroy: the reblog goes (its notification with it),
        # answered with the reblogged status; without one, the status as it is.
        st = self._shown(status_id, user)
        pair = (user.id, st.id)
        if pair in self._reblogs:
            self._reblog_visibility.pop(self._reblogs.pop(pair), None)
            self._reblog_counts[st.id] -= 1
            self._drop_notification("reblog", st.user_id, user.id, st.id)
        return self.json(self._status_json(st, viewer=user))

    @route("POST", r"/api/v1/statuses/(?P<status_id>[^/]+)/(?P<action>pin|unpin)")
    @_api()
    def _pin(
        self, request: httpx.Request, user: _User, status_id: str, action: str
    ) -> httpx.Response:
        # Statuses::PinsController: StatusPin.create! with StatusPinValidator's errors
        # (ownership, direct, PIN_LIMIT 5; statuses.pin_errors in config/locales/en.yml),
        # then the unique index ("Duplicate record"); #destroy unpins if pinned. Both answer
        # the status.
        st = self._shown(status_id, user)
        pair = (user.id, st.id)
        if action == "pin":
            errors = []
            if st.user_id != user.id:
                errors.append("Someone else's post cannot be pinned")
            if st.visibility == "direct":
                errors.append("Posts that are only visible to mentioned users cannot be pinned")
            if sum(1 for owner, _ in self._pins if owner == user.id) >= 5:
                errors.append("You have already pinned the maximum number of posts")
            if errors:
                raise Refusal(422, "Validation failed: " + ", ".join(errors))
            if pair in self._pins:
                raise Refusal(422, "Duplicate record")
            self._pins.add(pair)
        else:
            self._pins.discard(pair)
        return self.json(self._status_json(st, viewer=user))

    @route("POST", r"/api/v1/statuses/(?P<status_id>[^/]+)/(?P<action>bookmark|unbookmark)")
    @_api()
    def _bookmark(
        self, request: httpx.Request, user: _User, status_id: str, action: str
    ) -> httpx.Response:
        # Statuses::BookmarksController: find_or_create_by! a Bookmark of a status the user
        # may see (404 otherwise), or destroy it; both answer the status.
        st = self._shown(status_id, user)
        pair = (user.id, st.id)
        if action == "bookmark":
            if pair not in self._bookmark_ids:
                self._bookmark_ids[pair] = self._next_row("bookmarks")
        else:
            self._bookmark_ids.pop(pair, None)
        return self.json(self._status_json(st, viewer=user))

    @route("GET", r"/api/v1/bookmarks")
    @_api()
    def _list_bookmarks(self, request: httpx.Request, user: _User) -> httpx.Response:
        # Api::V1::BookmarksController#index: as FavouritesController, by Bookmark id.
        return self._statuses_by_row(request, user, self._bookmark_ids, "bookmarks")

    def _statuses_by_row(
        self,
        request: httpx.Request,
        user: _User,
        rows_of: Mapping[tuple[str, str], int],
        path: str,
    ) -> httpx.Response:
        """The user's live statuses of ``rows_of`` (a Favourite's or Bookmark's id by (user,
        status)), to_a_paginated_by_id on the rows (limit 20, at most 40); the Link header's
        next (max_id) for a full page, prev (min_id) unless empty, keeping only limit."""
        params = request.url.params
        raw_limit = params.get("limit")
        limit = _limit_param(raw_limit, 20)
        rows = [
            (row, self._statuses[status_id])
            for (who, status_id), row in rows_of.items()
            if who == user.id and self._statuses[status_id].deleted_at is None
        ]
        page = self._paginated_by_id(rows, params, limit)
        url = f"{self._origin(request)}/api/v1/{path}"
        body = [self._status_json(st, viewer=user) for _, st in page]
        return self._row_page(body, url, params, [r for r, _ in page], limit, prev="min_id")

    @route("GET", r"/api/v1/favourites")
    @_api()
    def _list_favourites(self, request: httpx.Request, user: _User) -> httpx.Response:
        # Api::V1::FavouritesController#index: the user's Favourite rows of live statuses,
        # to_a_paginated_by_id on their ids.
        return self._statuses_by_row(request, user, self._favourite_ids, "favourites")

    def _next_favourite_id(self) -> int:
        self._last_favourite += 1
        return self._last_favourite

    @route("GET", r"/api/v1/statuses/(?P<status_id>[^/]+)/(?P<edge>favourited_by|reblogged_by)")
    @_api(auth="optional")
    def _engaged_by(
        self, request: httpx.Request, user: _User | None, status_id: str, edge: str
    ) -> httpx.Response:
        # FavouritedByAccountsController / RebloggedByAccountsController: the accounts that
        # favourited (reblogged) a status the viewer may see, newest first, paged by the
        # favourite's (reblog's) id with max_id/since_id, limit 40 (80 at most), without
        # accounts the viewer blocked or muted (not_excluded_by_account); the Link header's
        # next only when the page is full, prev unless it is empty, keeping only limit.
        st = self._shown(status_id, user)
        params = request.url.params
        raw_limit = params.get("limit")
        limit = _limit_param(raw_limit, 40)
        acts: Mapping[tuple[str, str], Any] = (
            self._favourite_ids if edge == "favourited_by" else self._reblogs
        )
        rows = sorted(
            ((_num(str(row)), who) for (who, target), row in acts.items() if target == st.id),
            reverse=True,
        )
        max_id, since_id = params.get("max_id"), params.get("since_id")
        page = [
            (row, self._users[who])
            for row, who in rows
            if (not max_id or row < _to_i(max_id))
            and (not since_id or row > _to_i(since_id))
            and not (user is not None and self._excluded_by(user, who))
        ][:limit]
        origin = self._origin(request)
        response = self.json([self._account_json(u, origin) for _, u in page])
        keep = [(k, v) for k, v in params.multi_items() if k == "limit"]
        url = f"{origin}/api/v1/statuses/{st.id}/{edge}"
        links = []
        if page and len(page) == limit:
            query = httpx.QueryParams(sorted([*keep, ("max_id", str(page[-1][0]))]))
            links.append(f'<{url}?{query}>; rel="next"')
        if page:
            query = httpx.QueryParams(sorted([*keep, ("since_id", str(page[0][0]))]))
            links.append(f'<{url}?{query}>; rel="prev"')
        if links:
            response.headers["link"] = ", ".join(links)
        return response

    def _excluded_by(self, viewer: _User, account_id: str) -> bool:
        """Account.not_excluded_by_account (excluded_from_timeline_account_ids): the viewer
        blocked or muted the account, or the account blocked the viewer."""
        pair = (viewer.id, account_id)
        return (
            pair in self._blocks
            or (account_id, viewer.id) in self._blocks
            or self._muting_account(*pair)[0]
        )

    def _muting(self, user_id: str, st: _Status) -> bool:
        """Whether ``user_id`` muted the conversation ``st`` is in."""
        return (user_id, st.conversation_id or st.id) in self._muted_conversations

    @route("POST", r"/api/v1/statuses/(?P<status_id>[^/]+)/mute")
    @_api()
    def _mute(self, request: httpx.Request, user: _User, status_id: str) -> httpx.Response:
        # Statuses::MutesController: the status's whole conversation, for this user; it
        # stops the notifications of statuses in it (NotifyService, conversation_muted?).
        st = self._shown(status_id, user)
        self._muted_conversations.add((user.id, st.conversation_id or st.id))
        return self.json(self._status_json(st, viewer=user))

    @route("POST", r"/api/v1/statuses/(?P<status_id>[^/]+)/unmute")
    @_api()
    def _unmute(self, request: httpx.Request, user: _User, status_id: str) -> httpx.Response:
        st = self._shown(status_id, user)
        self._muted_conversations.discard((user.id, st.conversation_id or st.id))
        return self.json(self._status_json(st, viewer=user))

    # -- blocks and mutes ------------------------------------------------------------------

    def _muting_account(self, user_id: str, target_id: str) -> tuple[bool, bool]:
        """Whether ``user_id`` mutes ``target_id`` now, and their notifications with it (a
        mute with a duration ends by the emulator clock)."""
        mute = self._mutes.get((user_id, target_id))
        if mute is None:
            return False, False
        notifications, until = mute
        if until is not None and self.clock.time() >= until:
            # MuteService's UnmuteWorker, scheduled for the end of the mute.
            del self._mutes[(user_id, target_id)]
            self._mute_ids.pop((user_id, target_id), None)
            return False, False
        return True, notifications

    def _filtered_for(self, st: _Status, viewer: _User | None) -> bool:
        """StatusFilter#filtered?: the viewer blocked or muted the status's author."""
        if viewer is None or st.user_id == viewer.id:
            return False
        return self._excluded_by(viewer, st.user_id)

    def _relationship_json(self, user: _User, target: _User) -> dict[str, Any]:
        """REST::RelationshipSerializer of ``user`` towards ``target``."""
        muting, muting_notifications = self._muting_account(user.id, target.id)
        following = (user.id, target.id) in self._follows
        reblogs, notify = self._follow_options.get((user.id, target.id), (True, False))
        return {
            "id": target.id,
            "following": following,
            "showing_reblogs": following and reblogs,
            "notifying": following and notify,
            "languages": None,
            "followed_by": (target.id, user.id) in self._follows,
            "blocking": (user.id, target.id) in self._blocks,
            "blocked_by": (target.id, user.id) in self._blocks,
            "muting": muting,
            "muting_notifications": muting_notifications,
            "requested": False,
            "requested_by": False,
            "domain_blocking": False,
            "endorsed": False,
            "note": "",
        }

    @route("POST", r"/api/v1/accounts/(?P<account_id>[^/]+)/(?P<action>block|unblock|mute|unmute)")
    @_api()
    def _block_or_mute(
        self, request: httpx.Request, user: _User, account_id: str, action: str
    ) -> httpx.Response:
        target = self._users.get(account_id)
        if target is None:
            raise Refusal(404, "Record not found")
        pair = (user.id, target.id)
        # BlockService and MuteService return at once for one's own account.
        if target.id != user.id:
            if action == "block" and pair not in self._blocks:
                self._blocks.add(pair)
                self._block_ids[pair] = self._next_row("blocks")
                # BlockService: both unfollow; AfterBlockService#clear_notifications!.
                for follower, followed in (pair, (target.id, user.id)):
                    if (follower, followed) in self._follows:
                        self._follows.discard((follower, followed))
                        self._follow_ids.pop((follower, followed), None)
                        self._follower_counts[followed] -= 1
                        self._following_counts[follower] -= 1
                self._forget_notifications(user, lambda n: n.from_id != target.id)
            elif action == "unblock":
                self._blocks.discard(pair)
                self._block_ids.pop(pair, None)
            elif action == "mute":
                params, _ = self._params(request)
                notifications = _form_bool(params.get("notifications"), default=True)
                duration = _to_i(str(params.get("duration") or 0))
                until = self.clock.time() + duration if duration > 0 else None
                self._mutes[pair] = (notifications, until)
                # Account#mute!: find_or_create_by!, so muting again keeps the row.
                if pair not in self._mute_ids:
                    self._mute_ids[pair] = self._next_row("mutes")
            elif action == "unmute":
                self._mutes.pop(pair, None)
                self._mute_ids.pop(pair, None)
        return self.json(self._relationship_json(user, target))

    def _next_row(self, table: str) -> int:
        self._last_row[table] += 1
        return self._last_row[table]

    @staticmethod
    def _accounts_limit(params: httpx.QueryParams) -> int:
        # limit_param(DEFAULT_ACCOUNTS_LIMIT): 40 unless given, at most twice that, with
        # Ruby's to_i (a non-number is 0) and abs.
        raw = params.get("limit")
        return _limit_param(raw, 40)

    def _rows_page(
        self, rows: Mapping[tuple[str, str], int], user: _User, params: httpx.QueryParams
    ) -> tuple[list[tuple[int, _User]], int]:
        """``paginate_by_max_id`` of ``user``'s rows (a Block's or Mute's id by (user,
        target)): newest first, under ``max_id`` and over ``since_id`` (``min_id`` is not
        read), and the limit it was read with."""
        limit = self._accounts_limit(params)
        max_id, since_id = params.get("max_id"), params.get("since_id")
        mine = sorted(
            ((row, target) for (owner, target), row in rows.items() if owner == user.id),
            reverse=True,
        )
        page = [
            (row, self._users[target])
            for row, target in mine
            if (not max_id or row < _to_i(max_id)) and (not since_id or row > _to_i(since_id))
        ][:limit]
        return page, limit

    def _row_page(
        self,
        body: list[dict[str, Any]],
        url: str,
        params: httpx.QueryParams,
        rows: list[int],
        limit: int,
        prev: str = "since_id",
    ) -> httpx.Response:
        """``body``, a list paged by row ids, with its Link header: ``next`` (``max_id``, the
        page's last row) only when the page is full, ``prev`` (``prev``: ``since_id`` or
        ``min_id``, its first) unless it is empty, each keeping only ``limit``
        (``params.slice(:limit)``)."""
        keep = [(k, v) for k, v in params.multi_items() if k == "limit"]
        links = []
        if rows and len(rows) == limit:
            query = httpx.QueryParams(sorted([*keep, ("max_id", str(rows[-1]))]))
            links.append(f'<{url}?{query}>; rel="next"')
        if rows:
            query = httpx.QueryParams(sorted([*keep, (prev, str(rows[0]))]))
            links.append(f'<{url}?{query}>; rel="prev"')
        response = self.json(body)
        if links:
            response.headers["link"] = ", ".join(links)
        return response

    @staticmethod
    def _paginated_by_id(
        rows: Iterable[tuple[int, Any]], params: httpx.QueryParams, limit: int
    ) -> list[tuple[int, Any]]:
        """to_a_paginated_by_id over (id, item) rows: under ``max_id``; ``min_id`` reads the
        page just newer, else the newest over ``since_id``; answered newest first."""
        items = list(rows)
        max_id, since_id, min_id = (params.get(k) for k in ("max_id", "since_id", "min_id"))
        if max_id:
            items = [r for r in items if r[0] < _to_i(max_id)]
        if min_id:
            page = sorted((r for r in items if r[0] > _to_i(min_id)), key=_first)[:limit]
            page.reverse()
            return page
        if since_id:
            items = [r for r in items if r[0] > _to_i(since_id)]
        return sorted(items, key=_first, reverse=True)[:limit]

    @route("GET", r"/api/v1/accounts/(?P<account_id>[^/]+)/(?P<edge>followers|following)")
    @_api(auth="optional")
    def _follow_list(
        self, request: httpx.Request, user: _User | None, account_id: str, edge: str
    ) -> httpx.Response:
        # Accounts::FollowerAccountsController / FollowingAccountsController: the accounts
        # of the account's Follow rows, paginate_by_max_id on them (limit 40, at most 80),
        # none when the account blocks the viewer, without the accounts another viewer
        # blocked or muted (not_excluded_by_account); the Link header as for blocks.
        account = self._users.get(account_id)
        if account is None:
            raise Refusal(404, "Record not found")
        params = request.url.params
        limit = self._accounts_limit(params)
        max_id, since_id = params.get("max_id"), params.get("since_id")
        rows = sorted(
            (
                (row, follower if edge == "followers" else followed)
                for (follower, followed), row in self._follow_ids.items()
                if (followed if edge == "followers" else follower) == account.id
            ),
            reverse=True,
        )
        hidden = user is not None and (account.id, user.id) in self._blocks
        page = [
            (row, self._users[other])
            for row, other in rows
            if not hidden
            and (not max_id or row < _to_i(max_id))
            and (not since_id or row > _to_i(since_id))
            and not (user is not None and user.id != account.id and self._excluded_by(user, other))
        ][:limit]
        origin = self._origin(request)
        return self._row_page(
            [self._account_json(u, origin) for _, u in page],
            f"{origin}/api/v1/accounts/{account.id}/{edge}",
            params,
            [r for r, _ in page],
            limit,
        )

    @route("GET", r"/api/v1/blocks")
    @_api()
    def _list_blocks(self, request: httpx.Request, user: _User) -> httpx.Response:
        # Api::V1::BlocksController#index: the accounts the user blocked, by Block row.
        page, limit = self._rows_page(self._block_ids, user, request.url.params)
        origin = self._origin(request)
        return self._row_page(
            [self._account_json(u, origin) for _, u in page],
            f"{origin}/api/v1/blocks",
            request.url.params,
            [row for row, _ in page],
            limit,
        )

    @route("GET", r"/api/v1/mutes")
    @_api()
    def _list_mutes(self, request: httpx.Request, user: _User) -> httpx.Response:
        # Api::V1::MutesController#index: the accounts the user muted, by Mute row, as
        # REST::MutedAccountSerializer shows them (an Account and its mute_expires_at).
        for owner, target in list(self._mute_ids):
            if owner == user.id:
                self._muting_account(owner, target)  # a mute that ended is gone
        page, limit = self._rows_page(self._mute_ids, user, request.url.params)
        origin = self._origin(request)
        body = []
        for _, muted in page:
            data = self._account_json(muted, origin)
            until = self._mutes[(user.id, muted.id)][1]
            data["mute_expires_at"] = None if until is None else utc_millis(until)
            body.append(data)
        return self._row_page(
            body, f"{origin}/api/v1/mutes", request.url.params, [row for row, _ in page], limit
        )

    # -- direct-message conversations ----------------------------------------------------

    def _conversation_json(self, row: _AccountConversation, origin: str) -> dict[str, Any]:
        """REST::ConversationSerializer: the row's id, unread, its participants (the owner
        alone when there are none) and its last status as the owner sees it."""
        owner = self._users[row.account_id]
        people = [self._users[i] for i in row.participant_ids if i in self._users] or [owner]
        return {
            "id": str(row.id),
            "unread": row.unread,
            "accounts": [self._account_json(u, origin) for u in people],
            "last_status": self._status_json(self._statuses[row.status_ids[-1]], viewer=owner),
        }

    def _own_conversation(self, user: _User, conversation_id: str) -> _AccountConversation:
        # AccountConversation.where(account: current_account).find(params[:id]).
        row = self._account_conversations.get(_to_i(conversation_id))
        if row is None or row.account_id != user.id:
            raise Refusal(404, "Record not found")
        return row

    @route("GET", r"/api/v1/conversations")
    @_api()
    def _conversations(self, request: httpx.Request, user: _User) -> httpx.Response:
        # Api::V1::ConversationsController#index: LIMIT 20 (at most 40), ordered and paged
        # by last_status_id (to_a_paginated_by_id: min_id reads the page just newer,
        # answered newest first); the Link header's next (max_id) only for a full page,
        # prev (min_id) unless the page is empty, keeping only limit.
        params = request.url.params
        raw_limit = params.get("limit")
        limit = _limit_param(raw_limit, 20)
        rows = [
            (_num(row.status_ids[-1]), row)
            for row in self._account_conversations.values()
            if row.account_id == user.id
        ]
        page = self._paginated_by_id(rows, params, limit)
        origin = self._origin(request)
        url = f"{origin}/api/v1/conversations"
        body = [self._conversation_json(row, origin) for _, row in page]
        return self._row_page(body, url, params, [r for r, _ in page], limit, prev="min_id")

    @route("POST", r"/api/v1/conversations/(?P<conversation_id>[^/]+)/read")
    @_api()
    def _read_conversation(
        self, request: httpx.Request, user: _User, conversation_id: str
    ) -> httpx.Response:
        # #read: update!(unread: false), answered with the conversation.
        row = self._own_conversation(user, conversation_id)
        row.unread = False
        return self.json(self._conversation_json(row, self._origin(request)))

    @route("DELETE", r"/api/v1/conversations/(?P<conversation_id>[^/]+)")
    @_api()
    def _delete_conversation(
        self, request: httpx.Request, user: _User, conversation_id: str
    ) -> httpx.Response:
        # #destroy: the row goes (the statuses stay), then render_empty.
        row = self._own_conversation(user, conversation_id)
        del self._account_conversations[row.id]
        return self.json({})

    @route("POST", r"/api/v1/accounts/(?P<account_id>[^/]+)/(?P<action>follow|unfollow)")
    @_api()
    def _follow(
        self, request: httpx.Request, user: _User, account_id: str, action: str
    ) -> httpx.Response:
        # AccountsController#follow -> FollowService: one's own or an unknown account is
        # not found; blocking either way is not allowed; a follow notifies the account (an
        # account of another server accepts at once: nothing federates here). #unfollow
        # -> UnfollowService: the follow and its notification go.
        target = self._users.get(account_id)
        if target is None or (action == "follow" and target.id == user.id):
            raise Refusal(404, "Record not found")
        pair = (user.id, target.id)
        if action == "follow":
            if pair in self._blocks or (target.id, user.id) in self._blocks:
                raise Refusal(403, "This action is not allowed")
            params, _ = self._params(request)
            self._follow_options[pair] = (
                _form_bool(params.get("reblogs"), default=True),
                _form_bool(params.get("notify"), default=False),
            )
            if pair not in self._follows:
                self._follows.add(pair)
                self._follow_ids[pair] = self._next_row("follows")
                self._follower_counts[target.id] += 1
                self._following_counts[user.id] += 1
                self._notify("follow", target.id, user.id, None)
        elif pair in self._follows:
            self._follows.discard(pair)
            self._follow_ids.pop(pair, None)
            self._follow_options.pop(pair, None)
            self._follower_counts[target.id] -= 1
            self._following_counts[user.id] -= 1
            self._drop_notification("follow", target.id, user.id, None)
        return self.json(self._relationship_json(user, target))

    @route("POST", r"/api/v1/reports")
    @_api()
    def _report(self, request: httpx.Request, user: _User) -> httpx.Response:
        # ReportsController#create -> ReportService: the target account (404 when unknown),
        # the statuses of the report that are the target's (others dropped), category
        # "other" unless given ("violation" whenever rule_ids are), a comment of at most
        # 1,000 characters, forwarded only for a remote account.
        params, _ = self._params(request)
        target = self._users.get(str(params.get("account_id") or ""))
        if target is None:
            raise Refusal(404, "Record not found")
        comment = str(params.get("comment") or "")
        if len(comment) > 1000:
            raise Refusal(
                422, "Validation failed: Comment is too long (maximum is 1000 characters)"
            )
        rule_ids = [str(r) for r in _as_list(params.get("rule_ids")) if str(r).strip()]
        category = "violation" if rule_ids else str(params.get("category") or "other")
        if category not in _REPORT_CATEGORIES:
            raise Refusal(422, f"'{category}' is not a valid category")
        if category == "violation":
            # Report#validate_rule_ids: the instance has no rules (its instance document
            # lists none), so no rule_ids reference valid ones.
            raise Refusal(422, "Validation failed: Rule ids does not reference valid rules")
        wanted = [str(i) for i in _as_list(params.get("status_ids")) if str(i).strip()]
        status_ids = [
            i
            for i in dict.fromkeys(wanted)
            if i in self._statuses and self._statuses[i].user_id == target.id
        ]
        report = {
            "id": str(len(self._reports) + 1),
            "action_taken": False,
            "action_taken_at": None,
            "category": category,
            "comment": comment,
            "forwarded": target.domain is not None
            and _form_bool(params.get("forward"), default=False),
            "created_at": utc_millis(self.clock.time()),
            "status_ids": status_ids,
            "rule_ids": None,
            "target_account": target.id,
            "reporter": user.id,
        }
        self._reports.append(report)
        return self.json(self._report_json(report, self._origin(request)))

    def _report_json(self, report: Mapping[str, Any], origin: str) -> dict[str, Any]:
        """REST::ReportSerializer: the report with its target account."""
        data = {k: v for k, v in report.items() if k not in ("target_account", "reporter")}
        data["target_account"] = self._account_json(self._users[report["target_account"]], origin)
        return data

    def reports(self) -> list[dict[str, Any]]:
        """The reports accounts filed, oldest first, as ``POST /api/v1/reports`` answered
        them (``target_account`` the reported account's id, ``reporter`` the reporter's)."""
        with self.lock:
            return [dict(r) for r in self._reports]

    @route("GET", r"/api/v1/accounts/relationships")
    @_api()
    def _relationships(self, request: httpx.Request, user: _User) -> httpx.Response:
        # RelationshipsController#index: the accounts of id[] that exist, in that order.
        params = request.url.params
        wanted = params.get_list("id[]") + params.get_list("id")
        found = [self._users[i] for i in dict.fromkeys(wanted) if i in self._users]
        return self.json([self._relationship_json(user, t) for t in found])

    # -- notifications -----------------------------------------------------------------------

    def _notification_types(self) -> tuple[str, ...]:
        types = _NOTIFICATION_TYPES
        if _release(self.version) >= (4, 5):
            types += ("quote", "quoted_update")
        return types

    def _notification_json(self, n: _Notification) -> dict[str, Any]:
        """A Notification's JSON, every URL of it on the instance's `_domain` (as its
        status's)."""
        data = self._notification_fields(n)
        data["account"] = self._account_json(self._users[n.from_id], self._domain())
        if n.status_id is not None:
            data["status"] = self._status_json(
                self._statuses[n.status_id], viewer=self._users[n.account_id]
            )
        return data

    def _notification_fields(self, n: _Notification) -> dict[str, Any]:
        """A Notification's JSON, with placeholders for its account and status."""
        data: dict[str, Any] = {
            "id": n.id,
            "type": n.type,
            "created_at": utc_millis(n.created_at),
            "group_key": n.group_key or f"ungrouped-{n.id}",
            "account": None,
        }
        if n.status_id is not None:
            data["status"] = None
        return data

    def _notification_text(self, n: _Notification) -> str:
        """``json.dumps(self._notification_json(n))``, from templates."""
        origin = self._domain()
        account = self._account_text(self._users[n.from_id], origin)
        values = {"account": account}
        if n.status_id is not None:
            values["status"] = self._status_text(
                self._statuses[n.status_id], self._users[n.account_id], (n.from_id, origin, account)
            )
        return self._notification_template(n).render(values)

    def _notification_template(self, n: _Notification) -> JsonTemplate:
        shape = (n.type, n.created_at, n.status_id)
        memo = self._notification_memo.get(n.id)
        if memo is None or memo[0] != shape:
            memo = (shape, JsonTemplate(self._notification_fields(n), ("account", "status")))
            self._notification_memo[n.id] = memo
        return memo[1]

    def _browserable(
        self, user: _User, params: httpx.QueryParams
    ) -> list[tuple[int, _Notification]]:
        """``Notification.browserable`` of ``user``'s notifications (oldest first, with their
        ids as numbers): ``types[]`` (unknown types dropped, not refused), ``exclude_types[]``
        and ``account_id``; a deleted status's notifications are gone with it."""
        keep = self._browserable_check(params)
        # The user's own notifications first (cheap), then the costlier checks on those.
        return [(number, n) for number, n in self._notifications_of.get(user.id, ()) if keep(n)]

    def _browserable_check(self, params: httpx.QueryParams) -> Callable[[_Notification], bool]:
        """Whether one of the user's notifications is `_browserable` with ``params``."""
        known = self._notification_types()
        asked = params.get_list("types[]") + params.get_list("types")
        excluded = params.get_list("exclude_types[]") + params.get_list("exclude_types")
        wanted = [t for t in known if t in asked] if asked else list(known)
        wanted = [t for t in wanted if t not in excluded]
        from_id = params.get("account_id")
        include_filtered = _form_bool(params.get("include_filtered"), default=False)
        statuses = self._statuses

        def keep(n: _Notification) -> bool:
            return (
                n.type in wanted
                and (include_filtered or not n.filtered)
                and (not from_id or n.from_id == from_id)
                and (n.status_id is None or statuses[n.status_id].deleted_at is None)
            )

        return keep

    def _last_read(self, user: _User) -> int | None:
        """The ``notifications`` marker's ``last_read_id``, if the user set one."""
        marker = self._markers.get(user.id, {}).get("notifications")
        return None if marker is None else marker.last_read_id

    @staticmethod
    def _count_limit(params: httpx.QueryParams) -> int:
        # limit_param(DEFAULT_NOTIFICATIONS_COUNT_LIMIT, MAX_NOTIFICATIONS_COUNT_LIMIT).
        raw = params.get("limit")
        return 100 if raw is None else min(abs(_to_i(raw)), 1000)

    # Declared before /api/v1/notifications/:id, which would take "unread_count" for an id.
    @route("GET", r"/api/v1/notifications/unread_count")
    @_api()
    def _unread_count(self, request: httpx.Request, user: _User) -> httpx.Response:
        # 4.3+: the browserable notifications newer than the notifications marker
        # (paginate_by_min_id), counted up to limit (100 by default, 1,000 at most).
        if _release(self.version) < (4, 3):
            raise Refusal(404, "Record not found")
        params = request.url.params
        last_read = self._last_read(user)
        newer = [
            1
            for number, _ in self._browserable(user, params)
            if last_read is None or number > last_read
        ]
        return self.json({"count": min(len(newer), self._count_limit(params))})

    # -- markers ---------------------------------------------------------------------------

    @staticmethod
    def _marker_json(marker: _Marker) -> dict[str, Any]:
        return {
            "last_read_id": str(marker.last_read_id),
            "version": marker.version,
            "updated_at": utc_millis(marker.updated_at),
        }

    @route("GET", r"/api/v1/markers")
    @_api()
    def _get_markers(self, request: httpx.Request, user: _User) -> httpx.Response:
        # MarkersController#index: the markers of the timeline[] asked for (none asked, none
        # answered), keyed by timeline in the order they were made.
        asked = request.url.params.get_list("timeline[]") + request.url.params.get_list("timeline")
        mine = self._markers.get(user.id, {})
        return self.json({tl: self._marker_json(m) for tl, m in mine.items() if tl in asked})

    @route("POST", r"/api/v1/markers")
    @_api()
    def _set_markers(self, request: httpx.Request, user: _User) -> httpx.Response:
        # MarkersController#create: for home, then notifications, when given as a hash
        # (``home[last_read_id]=`` or JSON ``{"home": {"last_read_id": ...}}``), the marker
        # is found or made (last_read_id 0, version 0), then updated: a changed
        # last_read_id bumps its lock_version and updated_at. Other timelines are ignored.
        params, _ = self._params(request)
        now = self.clock.time()
        given: dict[str, dict[str, Any]] = {}
        for timeline in _MARKER_TIMELINES:
            value = params.get(timeline)
            if isinstance(value, dict):
                given[timeline] = value
            prefix = f"{timeline}["
            nested = {
                k[len(prefix) : -1]: v
                for k, v in params.items()
                if k.startswith(prefix) and k.endswith("]")
            }
            if nested:
                given.setdefault(timeline, {}).update(nested)
        wanted: dict[str, int | None] = {}
        for timeline, fields in given.items():
            raw = fields.get("last_read_id")
            if raw is None:
                wanted[timeline] = None
                continue
            text = str(raw).strip() if not isinstance(raw, bool) else ("1" if raw else "0")
            if not text:
                # ActiveModel's integer cast makes "" nil: presence fails.
                raise Refusal(422, "Validation failed: Last read can't be blank")
            number = _to_i(text)
            if not -_BIGINT_MAX - 1 <= number <= _BIGINT_MAX:
                raise Refusal(422, "Validation failed: Last read is out of range")
            wanted[timeline] = number
        mine = self._markers.setdefault(user.id, {})
        out: dict[str, Any] = {}
        for timeline, asked in wanted.items():
            marker = mine.get(timeline)
            if marker is None:
                marker = mine[timeline] = _Marker(last_read_id=0, version=0, updated_at=now)
            if asked is not None and asked != marker.last_read_id:
                marker.last_read_id = asked
                marker.version += 1
                marker.updated_at = now
            out[timeline] = self._marker_json(marker)
        return self.json(out)

    @route("GET", r"/api/v1/notifications")
    @_api()
    def _get_notifications(self, request: httpx.Request, user: _User) -> httpx.Response:
        params = request.url.params
        # limit_param: the default (40; 15 before 4.1) unless given, capped at twice that,
        # with Ruby's to_i (a non-number is 0) and abs.
        default = 40 if _release(self.version) >= (4, 1) else 15
        raw_limit = params.get("limit")
        limit = _limit_param(raw_limit, default)
        max_id, since_id, min_id = (params.get(k) for k in ("max_id", "since_id", "min_id"))
        # to_a_paginated_by_id: min_id pages forward (read oldest first, answered newest
        # first); otherwise the newest page under max_id and over since_id. The user's
        # notifications are kept in id order (ids only grow), so the bounds are found by
        # bisection and only the page is checked for browserable?, not every notification.
        mine = self._notifications_of.get(user.id, [])
        keep = self._browserable_check(params)
        low, high = 0, len(mine)
        if max_id:
            high = bisect.bisect_left(mine, _num(max_id), key=_first)
        bound = min_id or since_id
        if bound:
            low = min(bisect.bisect_right(mine, _num(bound), key=_first), high)
        page: list[_Notification] = []
        ahead = range(low, high) if min_id else range(high - 1, low - 1, -1)
        for i in ahead:
            if len(page) >= limit:
                break
            if keep(mine[i][1]):
                page.append(mine[i][1])
        if min_id:
            page.reverse()
        # The same text as json.dumps of the notifications' JSON, made from templates.
        response = self.json_text("[" + ", ".join(self._notification_text(n) for n in page) + "]")
        if page:
            # NotificationsController#pagination_params.
            kept = (
                "limit",
                "account_id",
                "types[]",
                "exclude_types[]",
                "include_filtered",
                "supported_types[]",
            )
            response.headers["link"] = _page_links(
                f"{self._domain()}/api/v1/notifications", params, kept, page[-1].id, page[0].id
            )
        return response

    @route("GET", r"/api/v1/notifications/(?P<notification_id>[^/]+)")
    @_api()
    def _get_notification(
        self, request: httpx.Request, user: _User, notification_id: str
    ) -> httpx.Response:
        for n in self._shown_notifications():
            if n.id == notification_id and n.account_id == user.id:
                return self.json(self._notification_json(n))
        raise Refusal(404, "Record not found")

    def _forget_notifications(self, user: _User, keep: Callable[[_Notification], bool]) -> None:
        self._notifications = [n for n in self._notifications if n.account_id != user.id or keep(n)]
        mine = self._notifications_of.get(user.id, [])
        self._notifications_of[user.id] = [(k, n) for k, n in mine if keep(n)]

    @route("POST", r"/api/v1/notifications/(?P<notification_id>[^/]+)/dismiss")
    @_api()
    def _dismiss_notification(
        self, request: httpx.Request, user: _User, notification_id: str
    ) -> httpx.Response:
        # NotificationsController#dismiss: current_account.notifications.find(id).destroy!,
        # then render_empty ({}); another account's notification is not found.
        if not any(n.id == notification_id for _, n in self._notifications_of.get(user.id, ())):
            raise Refusal(404, "Record not found")
        self._forget_notifications(user, lambda n: n.id != notification_id)
        return self.json({})

    @route("POST", r"/api/v1/notifications/clear")
    @_api()
    def _clear_notifications(self, request: httpx.Request, user: _User) -> httpx.Response:
        self._forget_notifications(user, lambda n: False)
        return self.json({})

    # -- grouped notifications (4.3+) ----------------------------------------------------

    @staticmethod
    def _grouped_types(params: httpx.QueryParams) -> frozenset[str]:
        """``grouped_types[]``: the groupable types asked for, all of them when absent."""
        asked = params.get_list("grouped_types[]") + params.get_list("grouped_types")
        return frozenset(asked) & _GROUPABLE if asked else _GROUPABLE

    @staticmethod
    def _shown_key(n: _Notification, grouped: frozenset[str]) -> str:
        if n.group_key is not None and n.type in grouped:
            return n.group_key
        return f"ungrouped-{n.id}"

    def _paginate_groups(
        self, items: Iterable[tuple[int, _Notification]], limit: int, grouped: frozenset[str]
    ) -> list[tuple[int, _Notification]]:
        """Notification.paginate_groups: in the order given, the first notification of each
        group not met yet, until ``limit`` groups."""
        seen: set[str] = set()
        page: list[tuple[int, _Notification]] = []
        for item in items:
            if len(page) >= limit:
                break
            key = self._shown_key(item[1], grouped)
            if key not in seen:
                seen.add(key)
                page.append(item)
        return page

    def _v2_gate(self) -> None:
        if _release(self.version) < (4, 3):
            raise Refusal(404, "Record not found")

    def _group_members(self, user: _User, group_key: str) -> list[tuple[int, _Notification]]:
        """``by_group_key``: the user's notifications of a group (an ``ungrouped-<id>`` key
        names one), oldest first; a deleted status's are gone with it."""
        return [
            (number, n)
            for number, n in self._notifications_of.get(user.id, ())
            if (
                n.id == group_key.removeprefix("ungrouped-")
                if group_key.startswith("ungrouped-")
                else n.group_key == group_key
            )
            and (n.status_id is None or self._statuses[n.status_id].deleted_at is None)
        ]

    def _group_json(
        self,
        user: _User,
        n: _Notification,
        grouped: frozenset[str],
        window: tuple[int, int | None, bool] | None,
    ) -> tuple[dict[str, Any], list[_User]]:
        """A NotificationGroup (as NotificationGroupSerializer writes it) for the page's
        notification ``n``, and its sample accounts; ``window`` is the page's range (low,
        high or None, whether high is left out) that ``page_*`` fields are read in."""
        if n.group_key is not None and n.type in grouped:
            members = self._group_members(user, n.group_key)
            low, high, open_end = window if window is not None else (0, None, False)
            upto = [
                m
                for number, m in members
                if high is None or (number < high if open_end else number <= high)
            ]
            upto.reverse()
            sample = [self._users[m.from_id] for m in upto[:_SAMPLE_ACCOUNTS_SIZE]]
            newest = upto[0] if upto else n
            data: dict[str, Any] = {
                "group_key": n.group_key,
                "notifications_count": len(upto),
                "type": n.type,
                "most_recent_notification_id": _num(newest.id),
            }
            if window is not None:
                first = next((m for number, m in members if number >= low), n)
                data["page_min_id"] = first.id
                data["page_max_id"] = newest.id
                data["latest_page_notification_at"] = utc_millis(newest.created_at)
        else:
            sample = [self._users[n.from_id]]
            data = {
                "group_key": f"ungrouped-{n.id}",
                "notifications_count": 1,
                "type": n.type,
                "most_recent_notification_id": _num(n.id),
            }
            if window is not None:
                data["page_min_id"] = n.id
                data["page_max_id"] = n.id
                data["latest_page_notification_at"] = utc_millis(n.created_at)
        data["sample_account_ids"] = [u.id for u in sample]
        if n.type in _GROUP_STATUS_TYPES:
            data["status_id"] = n.status_id
        return data, sample

    def _groups_body(
        self,
        request: httpx.Request,
        user: _User,
        page: Sequence[_Notification],
        grouped: frozenset[str],
        window: tuple[int, int | None, bool] | None,
        expand: str | None,
    ) -> dict[str, Any]:
        """DedupNotificationGroupSerializer of GroupedNotificationsPresenter: the accounts
        (with ``partial_avatars``, only each group's newest in full, the others in
        ``partial_accounts``), the statuses once each, and the groups."""
        origin = self._origin(request)
        groups, samples = [], []
        for n in page:
            data, sample = self._group_json(user, n, grouped, window)
            groups.append(data)
            samples.append(sample)
        full: dict[str, _User] = {}
        partial: dict[str, _User] = {}
        for sample in samples:
            for u in sample[:1] if expand == "partial_avatars" else sample:
                full.setdefault(u.id, u)
        if expand == "partial_avatars":
            for sample in samples:
                for u in sample[1:]:
                    if u.id not in full:
                        partial.setdefault(u.id, u)
        statuses: dict[str, _Status] = {}
        for n in page:
            if n.status_id is not None:
                statuses.setdefault(n.status_id, self._statuses[n.status_id])
        body: dict[str, Any] = {"accounts": [self._account_json(u, origin) for u in full.values()]}
        if expand == "partial_avatars":
            keys = ("id", "acct", "locked", "bot", "url", "avatar", "avatar_static")
            body["partial_accounts"] = [
                {k: self._account_json(u, origin)[k] for k in keys} for u in partial.values()
            ]
        body["statuses"] = [self._status_json(st, viewer=user) for st in statuses.values()]
        body["notification_groups"] = groups
        return body

    # Declared before /api/v2/notifications/:group_key, which would take it for a key.
    @route("GET", r"/api/v2/notifications/unread_count")
    @_api()
    def _unread_group_count(self, request: httpx.Request, user: _User) -> httpx.Response:
        # Api::V2::NotificationsController#unread_count: the groups among the browserable
        # notifications newer than the notifications marker (paginate_groups_by_min_id),
        # up to limit (100 by default, 1,000 at most).
        self._v2_gate()
        params = request.url.params
        last_read = self._last_read(user)
        newer = [
            i for i in self._browserable(user, params) if last_read is None or i[0] > last_read
        ]
        limit = self._count_limit(params)
        count = len(self._paginate_groups(newer, limit, self._grouped_types(params)))
        return self.json({"count": count})

    @route("GET", r"/api/v2/notifications")
    @_api()
    def _get_grouped_notifications(self, request: httpx.Request, user: _User) -> httpx.Response:
        # Api::V2::NotificationsController#index: limit groups (40 by default, 80 at most),
        # the newest first under max_id and over since_id, or the oldest over min_id
        # answered newest first; each group once, read in the page's range.
        self._v2_gate()
        params = request.url.params
        raw_limit = params.get("limit")
        limit = _limit_param(raw_limit, 40)
        expand = params.get("expand_accounts")
        if expand not in (None, "full", "partial_avatars"):
            raise Refusal(
                400,
                f"Invalid value for 'expand_accounts': '{expand}', allowed values are 'full' "
                "and 'partial_avatars'",
            )
        grouped = self._grouped_types(params)
        items = self._browserable(user, params)
        max_id, since_id, min_id = (params.get(k) for k in ("max_id", "since_id", "min_id"))
        if max_id:
            items = [i for i in items if i[0] < _to_i(max_id)]
        if min_id:
            items = [i for i in items if i[0] > _to_i(min_id)]
            page = self._paginate_groups(items, limit, grouped)
            page.reverse()
        else:
            if since_id:
                items = [i for i in items if i[0] > _to_i(since_id)]
            page = self._paginate_groups(reversed(items), limit, grouped)
        window: tuple[int, int | None, bool] | None = None
        if page:
            window = (page[-1][0], page[0][0], False)
            if len(page) < limit:
                # The last page: its range reaches to the request's own bound.
                if min_id:
                    window = (page[-1][0], _to_i(max_id) if max_id else None, True)
                else:
                    window = (_to_i(since_id) + 1 if since_id else 0, page[0][0], False)
        notes = [n for _, n in page]
        response = self.json(self._groups_body(request, user, notes, grouped, window, expand))
        if page:
            kept = (
                "limit",
                "include_filtered",
                "types[]",
                "exclude_types[]",
                "grouped_types[]",
                "supported_types[]",
            )
            response.headers["link"] = _page_links(
                f"{self._origin(request)}/api/v2/notifications",
                params,
                kept,
                notes[-1].id,
                notes[0].id,
            )
        return response

    @route("GET", r"/api/v2/notifications/(?P<group_key>[^/]+)")
    @_api()
    def _get_notification_group(
        self, request: httpx.Request, user: _User, group_key: str
    ) -> httpx.Response:
        # #show: by_group_key(...).take!, the group read whole (no page fields), accounts
        # in full.
        self._v2_gate()
        members = self._group_members(user, group_key)
        if not members:
            raise Refusal(404, "Record not found")
        grouped = _GROUPABLE
        body = self._groups_body(request, user, [members[0][1]], grouped, None, None)
        return self.json(body)

    @route("GET", r"/api/v2/notifications/(?P<group_key>[^/]+)/accounts")
    @_api()
    def _notification_group_accounts(
        self, request: httpx.Request, user: _User, group_key: str
    ) -> httpx.Response:
        # Notifications::AccountsController#index: who caused the group's notifications
        # (where(group_key:), so an ungrouped-<id> key has none), newest first,
        # paginate_by_max_id with limit 40 (80 at most); the Link header's next only when
        # the page is full, prev unless it is empty, keeping only limit.
        self._v2_gate()
        params = request.url.params
        raw_limit = params.get("limit")
        limit = _limit_param(raw_limit, 40)
        members = [] if group_key.startswith("ungrouped-") else self._group_members(user, group_key)
        max_id, since_id = params.get("max_id"), params.get("since_id")
        page = [
            n
            for number, n in reversed(members)
            if (not max_id or number < _to_i(max_id)) and (not since_id or number > _to_i(since_id))
        ][:limit]
        origin = self._origin(request)
        response = self.json([self._account_json(self._users[n.from_id], origin) for n in page])
        keep = [(k, v) for k, v in params.multi_items() if k == "limit"]
        url = f"{origin}/api/v2/notifications/{quote(group_key, safe='')}/accounts"
        links = []
        if page and len(page) == limit:
            query = httpx.QueryParams(sorted([*keep, ("max_id", page[-1].id)]))
            links.append(f'<{url}?{query}>; rel="next"')
        if page:
            query = httpx.QueryParams(sorted([*keep, ("min_id", page[0].id)]))
            links.append(f'<{url}?{query}>; rel="prev"')
        if links:
            response.headers["link"] = ", ".join(links)
        return response

    @route("POST", r"/api/v2/notifications/(?P<group_key>[^/]+)/dismiss")
    @_api()
    def _dismiss_notification_group(
        self, request: httpx.Request, user: _User, group_key: str
    ) -> httpx.Response:
        # #dismiss: by_group_key(...).destroy_all, then {} (nothing to dismiss is no error).
        self._v2_gate()
        gone = {n.id for _, n in self._group_members(user, group_key)}
        self._forget_notifications(user, lambda n: n.id not in gone)
        return self.json({})

    # -- listening -------------------------------------------------------------------------

    @staticmethod
    def _tags(st: _Status) -> set[str]:
        # Tag.find_or_create_by_names files each tag under its HashtagNormalizer name:
        # #Café is tagged cafe.
        return {hashtag_key(t) for t in _HASHTAG.findall(st.text)}

    @route("GET", r"/api/v1/timelines/tag/(?P<hashtag>[^/]+)")
    @_api(auth="optional")
    def _tag_timeline(
        self, request: httpx.Request, user: _User | None, hashtag: str
    ) -> httpx.Response:
        params = request.url.params
        name = hashtag_key(hashtag)  # Tag.find_normalized
        raw_limit = params.get("limit")
        # limit_param(DEFAULT_STATUSES_LIMIT): 20 unless given, at most 40.
        limit = _limit_param(raw_limit, 20)
        # TagFeed: tags_for(names) reads Array(names).take(LIMIT_PER_MODE = 4) of each mode,
        # any being Array(@tag.name) | params[:any] (the path's tag first).
        anys = dict.fromkeys([name, *params.get_list("any[]"), *params.get_list("any")])
        any_tags = {hashtag_key(t) for t in list(anys)[:_TAGS_PER_MODE]}
        all_tags = {
            hashtag_key(t)
            for t in (params.get_list("all[]") + params.get_list("all"))[:_TAGS_PER_MODE]
        }
        none_tags = {
            hashtag_key(t)
            for t in (params.get_list("none[]") + params.get_list("none"))[:_TAGS_PER_MODE]
        }
        local, remote = _truthy(params.get("local")), _truthy(params.get("remote"))
        only_media = _truthy(params.get("only_media"))
        known = set().union(*(self._tags(s) for s in self._live())) if self._statuses else set()
        items: list[_Status] = []
        if name in known:  # Tag.find_normalized: an unknown tag is an empty timeline
            for st in self._live():
                tags = self._tags(st)
                author = self._users[st.user_id]
                if st.visibility != "public" or not (tags & any_tags):
                    continue
                if not all_tags <= tags or tags & none_tags:
                    continue
                if (local and author.domain) or (remote and not author.domain):
                    continue
                if only_media and not st.media_ids:
                    continue
                if user is not None and self._excluded_by(user, st.user_id):
                    continue  # TagFeed: Status.not_excluded_by_account for a signed-in viewer
                items.append(st)
        page = self._page_by_id(items, params, limit)
        origin = self._origin(request)
        response = self.json([self._status_json(s, viewer=user) for s in page])
        if page:
            # pagination_params keeps only local, limit and only_media: the any[]/all[]/none[]
            # of the request are not in Mastodon's Link headers.
            url = f"{origin}/api/v1/timelines/tag/{quote(hashtag, safe='')}"
            kept = ("local", "limit", "only_media")
            response.headers["link"] = _page_links(url, params, kept, page[-1].id, page[0].id)
        return response

    @staticmethod
    def _page_by_id(items: list[_Status], params: httpx.QueryParams, limit: int) -> list[_Status]:
        """paginate_by_id: under max_id, over since_id; min_id pages forward (the page just
        newer, still answered newest first)."""
        if params.get("max_id"):
            items = [s for s in items if _num(s.id) < _num(params["max_id"])]
        if params.get("min_id"):
            newer = [s for s in items if _num(s.id) > _num(params["min_id"])]
            page = sorted(newer, key=_order)[:limit]
        else:
            if params.get("since_id"):
                items = [s for s in items if _num(s.id) > _num(params["since_id"])]
            page = sorted(items, key=_order, reverse=True)[:limit]
        page.sort(key=_order, reverse=True)
        return page

    @route("GET", r"/api/v2/search")
    @_api(auth="optional")
    def _search(self, request: httpx.Request, user: _User | None) -> httpx.Response:
        params = request.url.params
        if not (params.get("q") or "").strip():
            # validate_search_params!: params.require(:q), ParameterMissing (Rails 8 from 4.4)
            missing = "empty or invalid" if _release(self.version) >= (4, 4) else "empty"
            raise Refusal(400, f"param is missing or the value is {missing}: q")
        if user is None and params.get("offset"):
            raise Refusal(401, "Search queries pagination is not supported without authentication")
        if user is None and _truthy(params.get("resolve")):
            raise Refusal(
                401,
                "Search queries that resolve remote resources are not supported without "
                "authentication",
            )
        raw_limit = params.get("limit")
        if any(_to_i(params.get(k) or "0") < 0 for k in ("limit", "offset")):
            raise Refusal(400, "Pagination values for `offset` and `limit` must be positive")
        limit = _limit_param(raw_limit, 20)
        kind = params.get("type")
        # SearchService: a page past the first is only for a search of one type.
        offset = _to_i(params.get("offset") or "0") if kind else 0
        q = (params.get("q") or "").strip()
        statuses: list[_Status] = []
        # SearchService#status_searchable?: Elasticsearch on, a signed-in account.
        if kind in (None, "", "statuses") and limit and user is not None and self.full_text_search:
            if params.get("account_id"):
                # convert_deprecated_options!: from:@acct, an unknown id is 404.
                author = self._users.get(str(params["account_id"]))
                if author is None:
                    raise Refusal(404, "Record not found")
                q = f"{q} from:@{author.acct}"
            statuses = self._full_text(q, user, params.get("min_id"), params.get("max_id"))
        page = sorted(statuses, key=_order, reverse=True)[offset : offset + limit]
        return self.json(
            {
                "accounts": [],
                "statuses": [self._status_json(s, viewer=user) for s in page],
                "hashtags": [],
            }
        )

    def _searchable(self, st: _Status, user: _User, scope: str | None = None) -> bool:
        """PublicStatusesIndex: public statuses of indexable accounts; StatusesIndex
        (Status#searchable_by): what the searcher wrote, was mentioned in, favourited,
        reblogged or bookmarked. ``in:public`` reads the first alone, ``in:library`` the
        second alone."""
        if scope != "library" and st.visibility == "public" and self._users[st.user_id].indexable:
            return True
        if scope == "public":
            return False
        if st.user_id == user.id or self._mentioned(user, st.text):
            return True
        pair = (user.id, st.id)
        return pair in self._favourites or pair in self._reblogs or pair in self._bookmark_ids

    def _full_text(
        self, q: str, user: _User, min_id: str | None, max_id: str | None
    ) -> list[_Status]:
        clauses = _parse_search(q)
        if clauses is None:
            return []  # Parslet::ParseFailed is answered with no results
        # convert_deprecated_options!: ids become after:/before: of their whole second.
        if min_id:
            clauses.append(("filter", "after", _id_second(min_id)))
        if max_id:
            clauses.append(("filter", "before", _id_second(max_id)))
        # PrefixClause#account_id_from_term: from:me is the searcher; an account that is not
        # known is the id -1, which no status has. A date is read once, as the bounds of
        # its range (see `_search_date`), not for every status.
        for i, (operator, kind, value) in enumerate(clauses):
            if kind == "from":
                clauses[i] = (operator, "account_id", self._account_id_from_term(value, user))
            elif kind in ("before", "after", "during"):
                low, high = _search_date(value, round_up=False), _search_date(value, round_up=True)
                if low is None or high is None:
                    return []  # Elasticsearch refuses the query: no results
                clauses[i] = (operator, kind, (low, high))
        scopes = [value for _, kind, value in clauses if kind == "in"]
        scope = scopes[-1] if scopes else None
        tagged = any(k == "term" and str(v).startswith("#") for _, k, v in clauses)
        display = self._tag_display_names() if tagged else {}
        out = []
        for st in self._live():
            if not self._searchable(st, user, scope):
                continue
            if self._filtered_for(st, user):
                continue  # StatusesSearchService rejects what StatusFilter filters
            tags = {t for key in self._tags(st) for t in hashtag_tokens(display.get(key, key))}
            text, properties = self._searchable_text(st), self._searchable_properties(st)
            if _clauses_match(clauses, st, text, properties, tags):
                out.append(st)
        return out

    def _tag_display_names(self) -> dict[str, str]:
        """Each tag's Tag#display_name: as the first status (or edit) to use it wrote it,
        since Tag.find_or_create_by_names keeps the spelling it was created with."""
        events = sorted(
            (at, _num(st.id), text)
            for st in self._statuses.values()
            for text, _, _, at, _ in (st.edits or [_snapshot(st, st.created_at)])
        )
        names: dict[str, str] = {}
        for _, _, text in events:
            for written in _HASHTAG.findall(text):
                names.setdefault(hashtag_key(written), written)
        return names

    def _account_id_from_term(self, term: str, user: _User) -> str:
        if term == "me":
            return user.id
        username, _, domain = term.removeprefix("@").partition("@")
        found = self._resolve(username, domain.partition("@")[0] or None)
        return found.id if found is not None else "-1"

    def _searchable_properties(self, st: _Status) -> set[str]:
        """Status::SearchConcern#searchable_properties, what ``has:``/``is:`` match."""
        media = [self._media[m] for m in st.media_ids if m in self._media]
        properties = {kind for kind in _MEDIA_PROPERTIES if any(m.type == kind for m in media)}
        if st.media_ids:
            properties.add("media")
        if st.sensitive:
            properties.add("sensitive")
        if st.in_reply_to_id is not None:
            properties.add("reply")
        return properties

    def _searchable_text(self, st: _Status) -> str:
        """Status#searchable_text: the spoiler text, the text and the media descriptions
        (alt text), what the index holds of a status."""
        described = [self._media[m].description for m in st.media_ids if m in self._media]
        parts = [st.spoiler_text, st.text, "\n\n".join(d or "" for d in described)]
        return "\n\n".join(parts)

    # -- OAuth ----------------------------------------------------------------------------

    @route("POST", r"/api/v1/apps")
    @_api(auth="none")
    def _create_app(self, request: httpx.Request, user: _User | None) -> httpx.Response:
        params, _ = self._params(request)
        name = str(params.get("client_name") or "")
        raw = params.get("redirect_uris") or ""
        uris = tuple(raw) if isinstance(raw, list) else tuple(str(raw).split())
        if not name:
            raise Refusal(422, "Validation failed: Application name can't be blank")
        if not uris:
            raise Refusal(422, "Validation failed: Redirect URI can't be blank")
        for uri in uris:
            if uri != OOB and not re.match(r"[a-z][a-z0-9+.-]*://", uri):
                raise Refusal(422, "Validation failed: Redirect URI must be an absolute URI.")
        scopes = str(params.get("scopes") or "read")
        app = self.oauth_app(redirect_uri=uris, scopes=scopes, name=name)
        return self.json(
            {
                "id": str(self._new_id()),
                "name": name,
                "website": params.get("website"),
                "scopes": list(app.scopes),
                "redirect_uris": list(uris),
                "redirect_uri": "\n".join(uris),
                "client_id": app.client_id,
                "client_secret": app.client_secret,
                "client_secret_expires_at": 0,
            }
        )

    @route("GET", r"/\.well-known/oauth-authorization-server")
    def _oauth_metadata(self, request: httpx.Request) -> httpx.Response:
        if not self.pkce:
            return self._not_found(request)  # added in 4.3
        origin = self._origin(request)
        return self.json(
            {
                "issuer": origin + "/",
                "authorization_endpoint": origin + "/oauth/authorize",
                "token_endpoint": origin + "/oauth/token",
                "revocation_endpoint": origin + "/oauth/revoke",
                "scopes_supported": ["read", "write", "follow", "push", "profile"],
                "response_types_supported": ["code"],
                "response_modes_supported": ["query", "fragment", "form_post"],
                "code_challenge_methods_supported": ["S256"],
                "grant_types_supported": ["authorization_code", "client_credentials"],
                "token_endpoint_auth_methods_supported": [
                    "client_secret_basic",
                    "client_secret_post",
                ],
                "app_registration_endpoint": origin + "/api/v1/apps",
            }
        )

    @route("GET", r"/oauth/authorize")
    def _oauth_authorize(self, request: httpx.Request) -> httpx.Response:
        q = dict(request.url.params)
        app = self._apps.get(q.get("client_id", ""))
        redirect = q.get("redirect_uri", "")

        def page(text: str) -> httpx.Response:
            # Doorkeeper renders its error page and redirects nowhere.
            return self.html(f"<p>{text}</p>", 400)

        if app is None:
            return page(_INVALID_CLIENT)
        if redirect not in app.redirect_uris:
            return page("The redirect uri included is not valid.")
        state = q.get("state")

        def back(**params: str) -> httpx.Response:
            if redirect == OOB:
                # Doorkeeper redirects nowhere for the out-of-band URI: a refusal is its
                # error page, a code its "native" page, which shows the code alone (no
                # state) for the user to copy into the app.
                if "code" not in params:
                    return page(params.get("error_description", params.get("error", "")))
                native = f"{self._origin(request)}/oauth/authorize/native"
                return self.redirect(native, {"code": params["code"]})
            if state is not None:
                params["state"] = state
            return self.redirect(redirect, params)

        scopes = tuple(q.get("scope", "read").split())
        if q.get("response_type") != "code":
            return back(
                error="unsupported_response_type",
                error_description="The authorization server does not support this response type.",
            )
        if any(s not in app.scopes for s in scopes):
            return back(
                error="invalid_scope",
                error_description="The requested scope is invalid, unknown, or malformed.",
            )
        # Before 4.3 Doorkeeper runs without PKCE and ignores a code challenge.
        challenge = q.get("code_challenge") if self.pkce else None
        if challenge and q.get("code_challenge_method") != "S256":
            return back(
                error="invalid_request",
                error_description="The code challenge method must be S256.",
            )
        if self._consent_refused():
            return back(
                error="access_denied",
                error_description="The resource owner or authorization server denied the request.",
            )
        user = self._user_named(self.consent_as)
        code = secrets.token_urlsafe(32)
        self._codes[code] = _Code(
            client_id=app.client_id,
            redirect_uri=redirect,
            challenge=challenge,
            user_id=user.id,
            scopes=scopes,
            expires_at=self.clock.time() + self.code_lifetime,
        )
        return back(code=code)

    @route("GET", r"/oauth/authorize/native")
    def _oauth_native(self, request: httpx.Request) -> httpx.Response:
        # The page an out-of-band authorization ends on: the code, for the user to copy.
        code = html.escape(request.url.params.get("code", ""))
        return self.html(
            "<p>Copy this authorization code and paste it to the application.</p>"
            f'<input class="oauth-code" readonly type="text" value="{code}">'
        )

    @route("POST", r"/oauth/token")
    def _oauth_token(self, request: httpx.Request) -> httpx.Response:
        params, _ = self._params(request)
        app = self._client(request, params)
        if app is None:
            return self.json({"error": "invalid_client", "error_description": _INVALID_CLIENT}, 401)
        client_id = app.client_id
        if params.get("grant_type") != "authorization_code":
            return self.json(
                {
                    "error": "unsupported_grant_type",
                    "error_description": "The authorization grant type is not supported by "
                    "the authorization server.",
                },
                400,
            )
        invalid = self.json({"error": "invalid_grant", "error_description": _INVALID_GRANT}, 400)
        # A code is spent by its first redemption, whatever the outcome.
        code = self._codes.pop(str(params.get("code") or ""), None)
        if (
            code is None
            or code.client_id != client_id
            or code.expires_at <= self.clock.time()
            or params.get("redirect_uri") != code.redirect_uri
        ):
            return invalid
        if code.challenge is not None:
            verifier = str(params.get("code_verifier") or "")
            if not verifier or not hmac.compare_digest(pkce_s256(verifier), code.challenge):
                return invalid
        token = secrets.token_urlsafe(32)
        now = self.clock.time()
        self._tokens[token] = _Token(
            user_id=code.user_id, issued_at=now, scopes=code.scopes, client_id=client_id
        )
        return self.json(
            {
                "access_token": token,
                "token_type": "Bearer",
                "scope": " ".join(code.scopes),
                "created_at": int(now),
            }
        )

    @route("POST", r"/oauth/revoke")
    def _oauth_revoke(self, request: httpx.Request) -> httpx.Response:
        # Doorkeeper's TokensController#revoke (RFC 7009), which Mastodon's
        # Oauth::TokensController extends: the client must authenticate (Basic or the
        # client_id/client_secret parameters, form, JSON or query, as Rails reads params),
        # else 403; an unknown token is 200 {} (RFC 7009 §2.2); a token of another app is
        # 403; a token issued without an app may be revoked by any client. Revoking twice
        # is 200 both times.
        now = self.clock.time()
        try:
            params, _ = self._params(request)
        except Refusal as refusal:
            return self._finish(request, self.refused(refusal), now)
        refused = self.json(
            {"error": "unauthorized_client", "error_description": _REVOKE_UNAUTHORIZED}, 403
        )
        app = self._client(request, params)
        if app is None:
            return self._finish(request, refused, now)
        token = self._tokens.get(str(params.get("token") or ""))
        if token is not None:
            if token.client_id is not None and token.client_id != app.client_id:
                return self._finish(request, refused, now)
            token.revoked = True
        return self._finish(request, self.json({}), now)

    def _client(self, request: httpx.Request, params: Mapping[str, Any]) -> OAuthApp | None:
        """The app a request authenticates as (Doorkeeper's ``server.client``): HTTP Basic
        first, else the ``client_id`` and ``client_secret`` parameters; ``None`` for an
        unknown client or a wrong secret."""
        client_id = str(params.get("client_id") or "")
        secret = str(params.get("client_secret") or "")
        header = request.headers.get("authorization", "")
        if header.lower().startswith("basic "):
            try:
                client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
            except ValueError:
                client_id, secret = "", ""
        app = self._apps.get(client_id)
        if app is None or not hmac.compare_digest(app.client_secret.encode(), secret.encode()):
            return None
        return app

    # Declared after every other /api/v1/accounts/... route, which it would take for an id.
    @route("GET", r"/api/v1/accounts/lookup")
    @_api(auth="optional")
    def _lookup_account(self, request: httpx.Request, user: _User | None) -> httpx.Response:
        # AccountsController#lookup: the account named by acct (user or user@domain).
        acct = str(request.url.params.get("acct") or "").lstrip("@")
        username, _, domain = acct.partition("@")
        found = self._resolve(username, domain or None) if username else None
        if found is None:
            raise Refusal(404, "Record not found")
        return self.json(self._account_json(found, self._origin(request)))

    @route("GET", r"/api/v1/accounts/(?P<account_id>[^/]+)")
    @_api(auth="optional")
    def _get_account(
        self, request: httpx.Request, user: _User | None, account_id: str
    ) -> httpx.Response:
        # AccountsController#show: any known account, signed in or not.
        found = self._users.get(account_id)
        if found is None:
            raise Refusal(404, "Record not found")
        return self.json(self._account_json(found, self._origin(request)))

    # Rails routes every other path (and a known path with another method) to its catch-all,
    # which answers 404; declared last so that every real route is tried first.
    @route("GET", r".*")
    @route("POST", r".*")
    @route("PUT", r".*")
    @route("PATCH", r".*")
    @route("DELETE", r".*")
    @route("HEAD", r".*")
    def _not_found(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if len(path) > 1 and path.endswith("/"):
            # Rails' router ignores a trailing slash (Mastodon.py posts to
            # /api/v1/reports/): the path without it is routed as itself.
            request.read()
            again = httpx.Request(
                request.method,
                request.url.copy_with(path=path.rstrip("/") or "/"),
                headers=request.headers,
                content=request.content,
            )
            return self._dispatch(again)
        return self._finish(request, self.error(404, "Record not found"), self.clock.time())


def _image_size(data: bytes) -> tuple[int | None, int | None]:
    """Pixel width and height of an image upload, as Mastodon's ``meta.original`` shows them
    (``None`` when they cannot be read: Mastodon then leaves ``original`` out too)."""
    try:
        media = Media.from_bytes(data)
    except MediaError:
        return None, None
    return media.width, media.height


# SearchService::QUOTE_EQUIVALENT_CHARACTERS, each read as a double quote.
_QUOTE_EQUIVALENTS = regex.compile(r"[“”„«»「」『』《》]")
# SearchQueryParser (4.2+): a clause is an optional + or -, an optional supported prefix
# with its colon, then a "phrase" or a term (anything up to whitespace, which is Ruby's
# ASCII \s). Parslet does not backtrack into what it matched, hence the atomic groups:
# "-" alone or "language:" with nothing after fails to parse.
_SEARCH_PREFIXES = ("has", "is", "language", "from", "before", "after", "during", "in")
_SEARCH_CLAUSE = regex.compile(
    r"(?>(?P<sign>[+-])?)"
    r"(?>(?:(?P<prefix>" + "|".join(_SEARCH_PREFIXES) + r"):)?)"
    r'(?:"(?P<phrase>[^"]*)"|(?P<term>[^\t\n\v\f\r ]+))'
)
_SEARCH_SPACE = regex.compile(r"[\t\n\v\f\r ]+")
# Status::SearchConcern#searchable_properties the emulator can have (no polls, no cards).
_MEDIA_PROPERTIES = ("image", "video", "audio")


def _parse_search(q: str) -> list[tuple[str, str, Any]] | None:
    """Mastodon's search syntax as (operator, kind, value), as SearchQueryTransformer makes
    it: ``must``/``must_not`` terms and phrases, ``filter``/``filter_not`` prefixes
    (``has``, ``is``, ``language``, ``from``, ``before``, ``after``, ``during``) and the
    ``flag`` ``in`` (its sign ignored, the last one kept). Any other ``word:`` is part of a
    term, an unclosed quote too. ``None`` when it does not parse (Parslet::ParseFailed,
    which StatusesSearchService answers with no results)."""
    q = _QUOTE_EQUIVALENTS.sub('"', q)
    out: list[tuple[str, str, Any]] = []
    at = 0
    while at < len(q):
        match = _SEARCH_CLAUSE.match(q, at)
        if match is None:
            return None
        at = match.end()
        space = _SEARCH_SPACE.match(q, at)
        if space is not None:
            at = space.end()
        sign, prefix, term = match.group("sign"), match.group("prefix"), match.group("term")
        value = term if term is not None else match.group("phrase")
        if prefix == "in":
            out.append(("flag", "in", value))
        elif prefix is not None:
            out.append(("filter_not" if sign == "-" else "filter", prefix, value))
        else:
            kind = "term" if term is not None else "phrase"
            out.append(("must_not" if sign == "-" else "must", kind, value))
    return out


def _id_second(value: str) -> str:
    """Mastodon::Snowflake.to_time(id).iso8601: the id's time to the whole second."""
    ms = (_num(value) >> 16) if _num(value) > 0 else 0
    return datetime.fromtimestamp(ms // 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# Elasticsearch's default date format, strict_date_optional_time||epoch_millis.
_ES_DATE = regex.compile(
    r"(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2})(?::(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?"
    r"(Z|[+-]\d{2}(?::?\d{2})?)?)?)?)?"
)


def _search_date(value: str, round_up: bool) -> datetime | None:
    """A ``before:``/``after:``/``during:`` date as Elasticsearch reads a range bound:
    missing parts filled with their least values, or with their greatest when
    ``round_up`` (``gt`` and ``lte`` bounds: ``after:2024-01-01`` is after that whole day,
    ``after:…T10:00:00Z`` after that whole second). No zone is UTC (the searcher's time
    zone, which the emulator does not keep). ``None`` for what it cannot parse."""
    match = _ES_DATE.fullmatch(value)
    if match is None:
        if value.isdigit() and len(value) <= 19:  # epoch_millis
            return datetime.fromtimestamp(int(value) / 1000, UTC)
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        low = datetime(
            int(year),
            int(month or 1),
            int(day or 1),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((fraction or "0")[:6].ljust(6, "0")),
            tzinfo=UTC,
        )
    except ValueError:
        return None
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
        low = low.replace(tzinfo=timezone(sign * offset))
    if not round_up:
        return low
    # The next value of the least precise part given, less one millisecond (a date
    # field's resolution).
    if month is None:
        high = low.replace(year=low.year + 1)
    elif day is None:
        high = (low.replace(day=28) + timedelta(days=4)).replace(day=1)
    elif hour is None:
        high = low + timedelta(days=1)
    elif minute is None:
        high = low + timedelta(hours=1)
    elif second is None:
        high = low + timedelta(minutes=1)
    elif fraction is None:
        high = low + timedelta(seconds=1)
    else:
        return low
    return high - timedelta(milliseconds=1)


def _language_code_from_term(term: str) -> str:
    """PrefixClause#language_code_from_term: the code as written, in lower case, or its
    part before ``-``/``_`` in lower case, whichever Mastodon supports first; else as
    written. ``language:zh-TW`` is only ``zh-TW``, ``language:ZH-TW`` is ``zh``."""
    for code in (term, term.lower(), re.split(r"[_-]", term)[0].lower()):
        if code in _SUPPORTED_LOCALES:
            return code
    return term


def _clauses_match(
    clauses: list[tuple[str, str, Any]],
    st: _Status,
    text: str,
    properties: Collection[str],
    tags: Collection[str],
) -> bool:
    """Whether ``st`` (its searchable ``text``, ``properties`` and the ``hashtag`` tokens of
    its ``tags``) satisfies every clause. A ``#`` term is a match on ``tags`` (every token of
    it among the status's), as TermClause#to_query makes it; a date clause's value is the
    bounds of its range, ``(low, high)``."""
    created = datetime.fromtimestamp(st.created_at, UTC)
    for operator, kind, value in clauses:
        if kind in ("term", "phrase"):
            if kind == "phrase":
                hit = phrase_matches(value, text)
            elif value.startswith("#"):
                wanted = hashtag_tokens(value)
                hit = bool(wanted) and all(t in tags for t in wanted)
            else:
                hit = term_matches(value, text)
            if hit != (operator == "must"):
                return False
            continue
        if kind == "language":
            hit = st.language == _language_code_from_term(value)
        elif kind == "account_id":
            hit = st.user_id == value
        elif kind in ("before", "after", "during"):
            # PrefixClause: before is lt, after gt, during gte and lte of the same date.
            low, high = value
            if kind == "before":
                hit = created < low
            elif kind == "after":
                hit = created > high
            else:
                hit = low <= created <= high
        elif kind in ("has", "is"):
            hit = value in properties
        else:
            continue  # the in: flag chose the indexes
        if hit != (operator == "filter"):
            return False
    return True


def _num(value: str) -> int:
    """Mastodon's ids are numeric strings; anything else sorts first."""
    return int(value) if value.isdigit() else -1


_NOTIFICATION_TYPES: tuple[str, ...] = (
    "mention",
    "status",
    "reblog",
    "follow",
    "follow_request",
    "favourite",
    "poll",
    "update",
    "admin.sign_up",
    "admin.report",
    "severed_relationships",
    "moderation_warning",
)


def _order(st: _Status) -> int:
    return _num(st.id)


def _first(item: tuple[int, Any]) -> int:
    return item[0]


def _number(value: Any) -> str:
    """A count as JSON text."""
    return str(value) if type(value) is int else json.dumps(value)


# What changes between reads of an Account, a Status (the viewer's favourite too) and a
# Notification: their templates leave these out.
_ACCOUNT_DYNAMIC = frozenset(
    {"followers_count", "following_count", "statuses_count", "last_status_at"}
)
_STATUS_DYNAMIC = frozenset(
    {
        "favourites_count",
        "reblogs_count",
        "replies_count",
        "quotes_count",
        "favourited",
        "reblogged",
        "muted",
        "bookmarked",
        "pinned",
        "account",
        "media_attachments",
        "mentions",
        "quote",
    }
)


def _to_i(value: str) -> int:
    """Ruby's ``String#to_i``: the leading integer, else 0."""
    match = re.match(r"\s*([-+]?\d+)", value)
    return int(match.group(1)) if match else 0


def _release(version: str) -> tuple[int, int]:
    match = re.match(r"(\d+)\.(\d+)", version)
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


def _mention_first(text: str, acct: str) -> str:
    """``text`` starting with ``@acct``, as the web app writes a reply, unless it mentions
    ``acct`` already."""
    pattern = r"(?<![\w/=@])@" + regex.escape(acct) + r"(?![\w@]|[.-]\w)"
    if regex.search(pattern, text, regex.IGNORECASE):
        return text
    return f"@{acct} {text}" if text.strip() else f"@{acct}"


# LanguagesHelper::SUPPORTED_LOCALES (app/helpers/languages_helper.rb): ISO_639_1, then
# ISO_639_1_REGIONAL and ISO_639_3. Keys are matched as sent (to_sym): "EN" is not "en".
_LOCALE_CODES = (
    "aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs "
    "cu cv cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gu gv ha he "
    "hi ho hr ht hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko "
    "kr ks ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd "
    "ne ng nl nn no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se "
    "sg si sk sl sn so sq sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug "
    "uk ur uz ve vi vo wa wo xh yi yo za zh zu "
    "zh-CN zh-HK zh-TW zh-YUE "
    "ast chr ckb cnr jbo kab ldn lfn sco sma smj szl tok xal zba zgh"
)
_SUPPORTED_LOCALES = frozenset(_LOCALE_CODES.split())


def _valid_locale(value: Any) -> str | None:
    """LanguagesHelper#valid_locale_or_nil: a supported code as it is, else its part before
    the first ``-`` or ``_`` if that is one (``en-US`` is ``en``), else ``None``."""
    text = "" if value is None else str(value)
    if not text.strip():
        return None
    if text in _SUPPORTED_LOCALES:
        return text
    code = re.split(r"[_-]", text)[0]
    return code if code in _SUPPORTED_LOCALES else None


# Report.categories (legal from 4.2).
_REPORT_CATEGORIES = ("other", "spam", "legal", "violation")


def _as_list(value: Any) -> list[Any]:
    """A parameter that may come as a list (``key[]``, JSON) or as one value."""
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _form_bool(value: Any, *, default: bool) -> bool:
    """A boolean parameter as ActiveModel casts it: its false values (``0``, ``f``,
    ``false``, ``off``) are false, anything else true; absent or blank is ``default``."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() not in ("0", "f", "false", "off")


def _truthy(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).lower() in ("1", "true", "t", "on", "yes") if value is not None else False


def status_length(text: str, spoiler_text: str = "", characters_reserved_per_url: int = 23) -> int:
    """Mastodon's status length: graphemes of the content warning plus the text, with each
    ``http(s)://`` URL counted as ``characters_reserved_per_url`` and remote mentions without
    their domain."""
    placeholder = "x" * characters_reserved_per_url

    def url(match: regex.Match[str]) -> str:
        found = match.group(0)
        trimmed = _trim_url(found)
        return placeholder + found[len(trimmed) :]

    countable = _URL.sub(url, text)
    countable = _MENTION.sub(lambda m: "@" + m.group(1), countable)
    return len(regex.findall(r"\X", spoiler_text + countable))


def _trim_url(url: str) -> str:
    trimmed = url.rstrip(_TRAILING)
    while trimmed.endswith(")") and trimmed.count("(") < trimmed.count(")"):
        trimmed = trimmed[:-1].rstrip(_TRAILING)
    return trimmed


@functools.lru_cache(maxsize=1 << 15)
def _mentions_of(text: str, origin: str) -> tuple[dict[str, Any], ...]:
    """`_mentions`, memoized (callers copy each item before changing it)."""
    return tuple(_mentions(text, origin))


@functools.lru_cache(maxsize=1 << 15)
def _tags_of(text: str, origin: str) -> tuple[tuple[str, str], ...]:
    """``Status.tags`` of ``text``: (name, url) of each tag, first use first; a tag is named
    as Mastodon files it (`hashtag_key`: ``#Café`` is ``cafe``)."""
    names = dict.fromkeys(hashtag_key(t) for t in _HASHTAG.findall(text))
    return tuple((name, f"{origin}/tags/{name}") for name in names if name)


def _mentions(text: str, origin: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for match in _MENTION.finditer(_URL.sub(" ", text)):
        user, domain = match.group(1), match.group(2)
        acct = f"{user}@{domain}" if domain else user
        host = f"https://{domain}" if domain else origin
        out.append(
            {
                "id": str(zlib.crc32(acct.encode()) + 10**17),
                "username": user,
                "url": f"{host}/@{user}",
                "acct": acct,
            }
        )
    return out


_CONTENT_TOKEN = regex.compile(
    f"{_URL.pattern}|{_MENTION.pattern}|{_HASHTAG.pattern}", regex.IGNORECASE
)
_BLANK_LINE = re.compile(r"\n\s*\n")


def render_content(text: str, origin: str) -> str:
    """The HTML Mastodon makes of a plain-text status: paragraphs, line breaks, links,
    mentions (shown without their domain) and hashtags."""
    return _rendered(text, origin)


@functools.lru_cache(maxsize=1 << 15)
def _rendered(text: str, origin: str) -> str:
    # Memoized: a status's HTML is made of its text and the instance's address only, and
    # every read of a timeline or of notifications renders each status again.
    pattern = _CONTENT_TOKEN

    def line_html(line: str) -> str:
        out: list[str] = []
        position = 0
        for match in pattern.finditer(line):
            token = match.group(0)
            start, end = match.start(), match.end()
            out.append(html.escape(line[position:start], quote=False))
            if token.lower().startswith(("http://", "https://")):
                link = _trim_url(token)
                end = start + len(link)
                scheme, _, rest = link.partition("://")
                out.append(
                    f'<a href="{html.escape(link)}" target="_blank" rel="nofollow noopener" '
                    f'translate="no"><span class="invisible">{scheme}://</span>'
                    f'<span class="">{html.escape(rest, quote=False)}</span></a>'
                )
            elif token.startswith("@"):
                user, _, domain = token[1:].partition("@")
                host = f"https://{domain}" if domain else origin
                out.append(
                    f'<span class="h-card" translate="no"><a href="{host}/@{user}" '
                    f'class="u-url mention">@<span>{html.escape(user)}</span></a></span>'
                )
            else:
                tag = token[1:]
                out.append(
                    f'<a href="{origin}/tags/{tag.lower()}" class="mention hashtag" '
                    f'rel="tag">#<span>{html.escape(tag)}</span></a>'
                )
            position = end
        out.append(html.escape(line[position:], quote=False))
        return "".join(out)

    paragraphs = [p for p in _BLANK_LINE.split(text.replace("\r\n", "\n")) if p.strip()]
    return "".join(
        "<p>" + "<br />".join(line_html(line) for line in p.split("\n")) + "</p>"
        for p in paragraphs
    )
