"""An emulator of the X API v2, for testing tools that post to X without touching X.

It keeps users, posts, media uploads and tokens, and answers like X does: the same paths,
bodies, status codes, RFC 7807 problem bodies, and ``x-rate-limit-*`` /
``x-{user,app}-limit-24hour-*`` headers (epoch-second resets). Videos and GIFs take emulator
time to process, OAuth 2 tokens expire by the emulator clock, and post engagement grows with
it, deterministically.

```python
from brandkit import Client, Post
from brandkit.testing.x import XEmulator

emu = XEmulator()
with emu.serve():
    account = emu.account(name="brand")          # OAuth 2 token + refresh token
    with Client() as client:
        [delivery] = client.publish(Post(text="Hello"), [account])
assert emu.posts[0].text == "Hello"
```

Supported: ``GET /i/oauth2/authorize`` and ``POST /2/oauth2/token`` (authorization
  code with PKCE, refresh; see `XEmulator.oauth_app`), ``POST /2/oauth2/revoke`` (RFC 7009:
  a revoked access token is refused by every endpoint, a revoked refresh token by the token
  endpoint), OAuth 1.0a 3-legged
  ``POST /oauth/request_token``, ``GET /oauth/authorize`` and ``POST /oauth/access_token``
  (see `XEmulator.oauth1_app`) and ``POST /1.1/oauth/invalidate_token`` (the signing access
  token is refused from then on), ``GET /2/users/me``, ``POST /2/tweets``,
``DELETE /2/tweets/:id``, ``GET /2/tweets``, ``GET /2/tweets/:id``, ``GET /2/users/:id/tweets``,
``POST /2/media/upload/initialize``, ``POST /2/media/upload/:id/append``,
``POST /2/media/upload/:id/finalize``, ``GET /2/media/upload`` (STATUS) and
``POST /2/media/metadata``, and the v1.1 media API that tweepy uploads through:
``POST /1.1/media/upload.json`` (simple upload, or ``command=INIT|APPEND|FINALIZE``),
``GET /1.1/media/upload.json?command=STATUS`` and ``POST /1.1/media/metadata/create.json``
(v1.1 and v2 uploads share one store, so either media id works in ``POST /2/tweets``).
Conversations: ``GET /2/users/:id/mentions``, ``GET /2/tweets/search/recent``,
``PUT /2/tweets/:id/hidden``, ``POST /2/users/:id/likes`` and
``DELETE /2/users/:id/likes/:tweet_id``; the audience
(`brandkit.testing.Emulator.audience`) are X users whose replies start with the
conversation's @handles, as X's clients write them. Requests are signed with an OAuth 2
Bearer token or with OAuth 1.0a (HMAC-SHA1, checked
against the account's secrets; behind a TLS-terminating proxy the ``X-Forwarded-Proto``
scheme is the one signed).

Listening: ``GET /2/tweets/search/recent`` answers from every stored post of the last 7 days
with X's query grammar (``OR``, ``( )``, ``-``, ``"phrases"``, ``#tag``, ``@handle``,
``from:``, ``to:``, ``lang:``, ``is:``, ``has:``, ``conversation_id:``), ``since_id`` /
``until_id`` / ``start_time`` / ``end_time`` as X reads them, and X's 429 ``usage-capped``
once ``usage_cap`` posts were returned in the period (`XEmulator.posts_read` counts them).
The audience's ``fan.post(text, lang=...)`` are public posts in a language.

Post length is X's weighted length (twitter-text v3): over 280 is refused with X's 400
"Your Tweet text is too long", unless the user has Premium (``premium=True`` on the emulator
or on `XEmulator.account`), which allows 25,000.

A post's poll reads back as X's Poll object (``expansions=attachments.poll_ids``,
``poll.fields``): ``voting_status`` is ``open`` until its ``end_datetime`` by the emulator
clock, then ``closed``.

Not emulated: ``note_tweet`` for long posts (a long post reads back whole in ``text``),
votes on polls (every option has 0), OAuth 1.0a nonce and timestamp freshness.
"""

from __future__ import annotations

import base64
import bisect
import contextlib
import functools
import hashlib
import hmac
import html
import itertools
import json
import operator
import re
import secrets
import string
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import parse_qsl, quote, unquote

import attrs
import httpx

from brandkit.accounts import Account, CredentialsHook
from brandkit.content import Media
from brandkit.content._media import sniff
from brandkit.errors import MediaError
from brandkit.testing._emulator import (
    Audience,
    Clock,
    Emulator,
    ItemsIndex,
    Refusal,
    Watched,
    WatchedDict,
    counts_sets,
    pkce_s256,
    route,
)
from brandkit.testing._forms import multipart
from brandkit.text._x import weighted_length

__all__ = [
    "DEFAULT_RATE_LIMITS",
    "TWEET_CREATE_SCHEMA",
    "OAuth1App",
    "OAuthApp",
    "XEmulator",
    "XMedia",
    "XPost",
    "XUser",
    "validate",
]

PROBLEMS = "https://api.twitter.com/2/problems/"
DEFAULT_PROFILE_IMAGE = (
    "https://abs.twimg.com/sticky/default_profile_images/default_profile_normal.png"
)
SNOWFLAKE_EPOCH_MS = 1288834974657
SCOPES = "tweet.read tweet.write users.read offline.access media.write"

DEFAULT_RATE_LIMITS: dict[str, tuple[int, float]] = {
    "POST /2/tweets": (100, 900.0),
    "DELETE /2/tweets/:id": (50, 900.0),
    "GET /2/tweets": (5_000, 900.0),
    "GET /2/tweets/:id": (900, 900.0),
    "GET /2/users/:id/tweets": (900, 900.0),
    "GET /2/users/me": (75, 900.0),
    "GET /2/users/:id": (900, 900.0),
    "GET /2/users/by/username/:username": (900, 900.0),
    "GET /2/users/:id/mentions": (300, 900.0),
    "GET /2/tweets/search/recent": (300, 900.0),
    "PUT /2/tweets/:id/hidden": (50, 900.0),
    "POST /2/users/:id/likes": (50, 900.0),
    "DELETE /2/users/:id/likes/:tweet_id": (50, 900.0),
    "POST /2/media/upload/initialize": (1_875, 900.0),
    "POST /2/media/upload/:id/append": (1_875, 900.0),
    "POST /2/media/upload/:id/finalize": (1_875, 900.0),
    "GET /2/media/upload": (1_000, 900.0),
    "POST /2/media/metadata": (500, 900.0),
    # v1.1 media (tweepy's only upload path); the limits X sent in tweepy's recordings.
    "POST /1.1/media/upload": (415, 900.0),
    "POST /1.1/media/upload INIT": (200, 900.0),
    "POST /1.1/media/upload APPEND": (20_000, 900.0),
    "POST /1.1/media/upload FINALIZE": (615, 900.0),
    "GET /1.1/media/upload STATUS": (1_000, 900.0),
    "POST /1.1/media/metadata/create": (500, 900.0),
}
"""Per-user limits per window (requests, seconds), from docs.x.com rate-limits (2026-07); the
v1.1 media ones (simple upload, then one per ``command``) as X sent them to tweepy."""

POST_LIMIT = 280
"""The weighted length a post may have (twitter-text ``maxWeightedTweetLength``)."""
PREMIUM_POST_LIMIT = 25_000
"""The weighted length a Premium account's post may have (X Help: 25,000)."""
TOO_LONG = (
    "Your Tweet text is too long. For more information on how Twitter determines text length "
    "see https://github.com/twitter/twitter-text."
)
"""X's message for an over-long post (in a 400 invalid-request problem, as clients log it)."""
V1_UPLOAD = "/1.1/media/upload.json"
V1_METADATA = "/1.1/media/metadata/create.json"
_ASYNC_CATEGORIES = ("tweet_video", "tweet_gif", "amplify_video")

_ID = {"type": "string", "pattern": "^[0-9]{1,19}$"}
_REPLY_SETTINGS = {
    "type": "string",
    "enum": ["following", "mentionedUsers", "subscribers", "verified"],
}

TWEET_CREATE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "card_uri": {"type": "string"},
        "community_id": _ID,
        "direct_message_deep_link": {"type": "string"},
        "edit_options": {
            "type": "object",
            "required": ["previous_post_id"],
            "properties": {"previous_post_id": _ID},
            "additionalProperties": False,
        },
        "for_super_followers_only": {"type": "boolean"},
        "geo": {
            "type": "object",
            "properties": {"place_id": {"type": "string"}},
            "additionalProperties": False,
        },
        "media": {
            "type": "object",
            "required": ["media_ids"],
            "properties": {
                "media_ids": {"type": "array", "minItems": 1, "maxItems": 4, "items": _ID},
                "tagged_user_ids": {"type": "array", "minItems": 0, "maxItems": 10, "items": _ID},
            },
            "additionalProperties": False,
        },
        "nullcast": {"type": "boolean"},
        "poll": {
            "type": "object",
            "required": ["options", "duration_minutes"],
            "properties": {
                "duration_minutes": {"type": "integer", "minimum": 5, "maximum": 10080},
                "options": {
                    "type": "array",
                    "minItems": 2,
                    "maxItems": 4,
                    "items": {"type": "string", "minLength": 1, "maxLength": 25},
                },
                "reply_settings": _REPLY_SETTINGS,
            },
            "additionalProperties": False,
        },
        "quote_tweet_id": _ID,
        "reply": {
            "type": "object",
            "required": ["in_reply_to_tweet_id"],
            "properties": {
                "auto_populate_reply_metadata": {"type": "boolean"},
                "exclude_reply_user_ids": {"type": "array", "items": _ID},
                "in_reply_to_tweet_id": _ID,
            },
            "additionalProperties": False,
        },
        "reply_settings": _REPLY_SETTINGS,
        "share_with_followers": {"type": "boolean"},
        "text": {"type": "string"},
    },
    "additionalProperties": False,
}
"""``TweetCreateRequest`` of X's OpenAPI spec (v2.159) with its ``$ref`` s resolved; the
emulator checks ``POST /2/tweets`` bodies against it as X does (unknown fields are refused)."""

MEDIA_INIT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "additional_owners": {"type": "array", "items": _ID},
        "media_category": {
            "type": "string",
            "enum": [
                "amplify_video",
                "tweet_gif",
                "tweet_image",
                "tweet_video",
                "dm_gif",
                "dm_image",
                "dm_video",
                "subtitles",
            ],
        },
        "media_type": {
            "type": "string",
            "enum": [
                "video/mp4",
                "video/webm",
                "video/mp2t",
                "video/quicktime",
                "text/srt",
                "text/vtt",
                "image/jpeg",
                "image/gif",
                "image/bmp",
                "image/png",
                "image/webp",
                "image/pjpeg",
                "image/tiff",
                "model/gltf-binary",
                "model/vnd.usdz+zip",
            ],
        },
        "shared": {"type": "boolean"},
        "total_bytes": {"type": "integer", "minimum": 0, "maximum": 17179869184},
    },
    "required": ["media_type", "total_bytes"],
    "additionalProperties": False,
}

HIDE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["hidden"],
    "properties": {"hidden": {"type": "boolean"}},
}
"""``TweetHideRequest`` of X's OpenAPI spec."""

LIKE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["tweet_id"],
    "properties": {"tweet_id": _ID},
}
"""``UsersLikesCreateRequest`` of X's OpenAPI spec."""

HIDDEN_PER_CONVERSATION = 725
"""Hidden replies one conversation may have (docs.x.com hide-replies)."""

METADATA_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id"],
    "properties": {
        "id": _ID,
        "metadata": {
            "type": "object",
            "properties": {
                "alt_text": {
                    "type": "object",
                    "required": ["text"],
                    "properties": {"text": {"type": "string", "maxLength": 1000}},
                },
            },
        },
    },
}


# A post's metric objects and their counts, in the order X writes them. platforms.md §1.7:
# the wire name is retweet_count (the spec says repost_count).
_METRIC_FIELDS: dict[str, tuple[str, ...]] = {
    "public_metrics": (
        "retweet_count",
        "reply_count",
        "like_count",
        "quote_count",
        "bookmark_count",
        "impression_count",
    ),
    "non_public_metrics": (
        "impression_count",
        "url_link_clicks",
        "user_profile_clicks",
        "engagements",
    ),
    "organic_metrics": (
        "impression_count",
        "like_count",
        "reply_count",
        "retweet_count",
        "url_link_clicks",
        "user_profile_clicks",
    ),
}


_POST_ID = re.compile(r"[0-9]{1,19}")


def _not_an_id(name: str, value: str) -> str:
    """X's message for the query parameter ``name`` whose ``value`` is no post id."""
    return f"The `{name}` query parameter value [{value}] does not match ^[0-9]{{1,19}}$"


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


TWEET_FIELDS = _words(
    "article attachments author_id card_uri community_id context_annotations conversation_id "
    "created_at display_text_range edit_controls edit_history_tweet_ids entities geo id "
    "in_reply_to_user_id lang media_metadata non_public_metrics note_tweet organic_metrics "
    "possibly_sensitive promoted_metrics public_metrics referenced_tweets reply_settings scopes "
    "source suggested_source_links suggested_source_links_with_counts text withheld"
)
TWEET_EXPANSIONS = _words(
    "article.cover_media article.media_entities attachments.media_keys "
    "attachments.media_source_tweet attachments.poll_ids author_id edit_history_tweet_ids "
    "entities.mentions.username geo.place_id in_reply_to_user_id "
    "entities.note.mentions.username referenced_tweets.id "
    "referenced_tweets.id.attachments.media_keys referenced_tweets.id.author_id"
)
# The post field each expansion expands, which X sends with the expansion even when
# tweet.fields does not name it (those the emulator holds posts' data for).
_EXPANDED_FIELD = {
    "author_id": "author_id",
    "attachments.media_keys": "attachments",
    "attachments.poll_ids": "attachments",
    "entities.mentions.username": "entities",
    "in_reply_to_user_id": "in_reply_to_user_id",
    "referenced_tweets.id": "referenced_tweets",
    "referenced_tweets.id.author_id": "referenced_tweets",
}
MEDIA_FIELDS = _words(
    "alt_text duration_ms height media_key non_public_metrics organic_metrics "
    "preview_image_url promoted_metrics public_metrics type url variants width"
)
POLL_FIELDS = _words("duration_minutes end_datetime id options voting_status")
USER_FIELDS = _words(
    "affiliation confirmed_email connection_status created_at description entities id "
    "is_identity_verified location most_recent_tweet_id name parody pinned_tweet_id "
    "profile_banner_url profile_image_url protected public_metrics receives_your_dm "
    "subscription subscription_type url username verified verified_followers_count "
    "verified_type withheld"
)
_PRIVATE_FIELDS = ("non_public_metrics", "organic_metrics", "promoted_metrics")
_URL = re.compile(r"https?://[^\s<>\"]+", re.IGNORECASE)
_MENTION = re.compile(r"(?<![\w@])@(\w{1,15})\b")
_LEADING_HANDLES = re.compile(r"^(?:@\w{1,15}\s+)+")
_HASHTAG = re.compile(r"(?<![\w&])[#＃](\w+)")
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
SEARCH_WINDOW = 7 * 86_400.0
"""Recent search reaches back this many seconds (7 days)."""
MENTIONS_REACH = 800
"""The mentions timeline holds this many of the most recent mentions."""
EDIT_WINDOW = timedelta(minutes=30)
"""How long after the original a post can be edited (docs.x.com fundamentals/edit-posts)."""
EDIT_LIMIT = 5
"""How many times a post can be edited (docs.x.com fundamentals/edit-posts)."""
_TRAILING = ".,;:!?)]}'\""
_MEDIA_PREFIX = {"image": "3", "video": "7", "gif": "16"}
_MAX_BYTES = {"image": 5_242_880, "gif": 15_728_640, "video": 536_870_912}


def _kind(media_type: str, category: str) -> str:
    if media_type == "image/gif" and category in ("tweet_gif", "dm_gif"):
        return "gif"
    if media_type.startswith("video/"):
        return "video"
    return "image"


_NEGATED_ID = operator.itemgetter(0)
"""The key of a ``(-int(post.id), post)`` pair: such pairs sort newest first."""


@functools.lru_cache(maxsize=1 << 16)
def _iso(ts: float) -> str:
    # Memoized: list endpoints write the same stored times on every read. The fields are
    # written as strftime("%Y-%m-%dT%H:%M:%S.") writes them, at half its cost (each post
    # of a page written once has two times); its %Y does not pad years before 1000.
    d = datetime.fromtimestamp(ts, UTC)
    if d.year < 1000:
        return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(ts * 1000) % 1000:03d}Z"
    return (
        f"{d.year}-{d.month:02d}-{d.day:02d}T{d.hour:02d}:{d.minute:02d}:{d.second:02d}."
        f"{int(ts * 1000) % 1000:03d}Z"
    )


# -- state -----------------------------------------------------------------------------------


def _id_kept(user: XUser, attribute: attrs.Attribute[str], value: str) -> str:
    raise ValueError(
        f"user {user.id!r}'s id cannot be changed: XEmulator.users keeps each user under "
        "its id, and its posts, tokens and likes name it by that id; store a new user "
        "(attrs.evolve(user, id=...)) under its own id instead"
    )


@attrs.define
class XUser:
    """An emulated X user.

    Attributes:
        id: the user id, its key in `XEmulator.users`; set once (a change raises
            ``ValueError``: store a new user under its own id instead).
        username: the handle without ``@``.
        name: the display name.
        created_at: when the emulator made it (emulator epoch seconds).
        followers: followers at ``created_at``; more arrive as emulator time passes.
        followers_per_hour: how fast followers grow.
        premium: whether the user has X Premium (posts up to 25,000 weighted characters);
            ``None`` follows the emulator's ``premium`` setting.
    """

    id: str = attrs.field(on_setattr=_id_kept)
    username: str = attrs.field(on_setattr=counts_sets("renames"))
    name: str
    created_at: float
    followers: int = 100
    followers_per_hour: float = 3.0
    premium: bool | None = None

    renames: ClassVar[int] = 0
    """How many times a user's ``username`` was set after it was made (by any emulator):
    the index of users by name is made again when it changes."""


@attrs.define
class XPost:
    """An emulated post.

    Attributes:
        id: the post id (a snowflake: it encodes ``created_at``).
        author_id: who posted it.
        text: the text as sent.
        display_text: the text as X shows it: links rewritten to t.co, a t.co link for media.
        created_at: emulator epoch seconds.
        in_reply_to: the post it replies to, if any.
        conversation_id: the root of its thread.
        media_keys: attached media.
        quote_tweet_id: the quoted post, if any.
        reply_settings: who may reply.
        urls: the URL entities of ``display_text``.
        deleted: the post was deleted.
        extra: engagement added by tests (``like_count``, ``url_link_clicks``, ...).
        hidden: the author of the conversation hid this reply (``PUT /2/tweets/:id/hidden``).
        lang: the post's language, when its author gave one.
        edits: the ids of its edit chain, oldest (the original) first, shared by every
            version (`XEmulator.edit`); ``None`` while it was never edited.
        poll: the ``poll`` it was made with (``options``, ``duration_minutes``), if any:
            such a post cannot be edited.
        poll_id: its poll's id (X's ``attachments.poll_ids``), when it has one.
    """

    id: str = attrs.field(on_setattr=counts_sets("links"))
    author_id: str = attrs.field(on_setattr=counts_sets("links"))
    text: str = attrs.field(on_setattr=counts_sets("text_changes"))
    display_text: str = attrs.field(on_setattr=counts_sets("text_changes"))
    created_at: float
    in_reply_to: str | None = attrs.field(default=None, on_setattr=counts_sets("links"))
    conversation_id: str = attrs.field(default="", on_setattr=counts_sets("hidings"))
    media_keys: tuple[str, ...] = ()
    quote_tweet_id: str | None = attrs.field(default=None, on_setattr=counts_sets("links"))
    reply_settings: str | None = None
    urls: list[dict[str, Any]] = attrs.field(factory=list)
    deleted: bool = attrs.field(default=False, on_setattr=counts_sets("deletions"))
    extra: dict[str, int] = attrs.field(factory=dict)
    hidden: bool = attrs.field(default=False, on_setattr=counts_sets("hidings"))
    lang: str | None = None
    edits: list[str] | None = None
    poll: dict[str, Any] | None = None
    poll_id: str | None = None

    text_changes: ClassVar[int] = 0
    """How many times a post's ``text`` or ``display_text`` was set after it was made (by
    any emulator): the indexes of texts read every post again when it changes."""

    links: ClassVar[int] = 0
    """How many times a post's ``id``, ``author_id``, ``in_reply_to`` or ``quote_tweet_id``
    was set after it was made (by any emulator): the indexes of posts by author, by the
    post they answer and by id are made again when it changes."""

    deletions: ClassVar[int] = 0
    """How many times a post's ``deleted`` was set after it was made (by any emulator):
    the count of each author's posts is made again when it changes."""

    hidings: ClassVar[int] = 0
    """How many times a post's ``hidden`` or ``conversation_id`` was set after it was made
    (by any emulator, a hide through the API aside): the count of each conversation's
    hidden replies is made again when it changes."""

    @property
    def history(self) -> list[str]:
        """``edit_history_tweet_ids``: the chain's ids, oldest first (its own id alone
        when it was never edited)."""
        return list(self.edits) if self.edits is not None else [self.id]

    @property
    def superseded(self) -> bool:
        """An edit made a newer version of it: timelines and search show that one."""
        return self.edits is not None and self.edits[-1] != self.id


def _int_id(post: XPost) -> int:
    return int(post.id)


@attrs.define
class _Links:
    """Posts by what they link to, in the order they were made (deleted ones too): by
    author, by the post they reply to; the replies and the quotes."""

    by_author: dict[str, list[XPost]] = attrs.field(factory=dict)
    replies: dict[str, list[XPost]] = attrs.field(factory=dict)
    replying: list[XPost] = attrs.field(factory=list)
    quoting: list[XPost] = attrs.field(factory=list)

    def add(self, post: XPost) -> None:
        self.by_author.setdefault(post.author_id, []).append(post)
        if post.in_reply_to is not None:
            self.replies.setdefault(post.in_reply_to, []).append(post)
            self.replying.append(post)
        if post.quote_tweet_id is not None:
            self.quoting.append(post)


def _add_live(ordered: list[XPost], post: XPost) -> None:
    if not post.deleted:
        bisect.insort(ordered, post, key=_int_id)


def _add_mentions(index: dict[str, list[tuple[int, XPost]]], post: XPost) -> None:
    for name in {m.group(1).lower() for m in _MENTION.finditer(post.display_text)}:
        index.setdefault(name, []).append((-int(post.id), post))


def _add_text(index: dict[tuple[str, str], list[XPost]], post: XPost) -> None:
    index.setdefault((post.author_id, post.text.strip()), []).append(post)


def _count_live(counts: Counter[str], post: XPost) -> None:
    if not post.deleted:
        counts[post.author_id] += 1


def _count_hidden(counts: Counter[str], post: XPost) -> None:
    if post.hidden:
        counts[post.conversation_id] += 1


def _add_media(index: dict[str, XMedia], media: XMedia) -> None:
    index.setdefault(media.media_key, media)


def _check_user(key: object, user: object) -> None:
    """Refuses, with ``ValueError``, a ``user`` stored in `XEmulator.users` under a ``key``
    other than its id."""
    if not isinstance(user, XUser):
        raise ValueError(
            f"XEmulator.users holds XUser values (emu.user(name) makes one), "
            f"not {type(user).__name__}"
        )
    if key != user.id:
        raise ValueError(
            f"XEmulator.users[{key!r}] was given the user whose id is {user.id!r}: X knows a "
            "user by its id, and the emulator finds a post's author, a token's user and a "
            "like's user under it, so store each user under its own id "
            "(emu.users[user.id] = user)"
        )


def _checked_users(*args: Any, **kwargs: Any) -> dict[str, XUser]:
    """``dict(*args, **kwargs)``, each user checked to be under its own id (`_check_user`)."""
    given: dict[str, XUser] = dict(*args, **kwargs)
    for key, user in given.items():
        _check_user(key, user)
    return given


class _Users(WatchedDict[str, XUser]):
    """`XEmulator.users`: a `WatchedDict` that takes a user only under its own id."""

    def __init__(self, items: Mapping[str, XUser] | None = None) -> None:
        super().__init__(_checked_users(items or {}))

    def __setitem__(self, key: str, value: XUser) -> None:
        _check_user(key, value)
        super().__setitem__(key, value)

    def setdefault(self, key: str, default: XUser) -> XUser:
        if key not in self:
            _check_user(key, default)
        return super().setdefault(key, default)

    def update(self, *args: Any, **kwargs: Any) -> None:
        super().update(_checked_users(*args, **kwargs))

    def __ior__(self, other: Any) -> _Users:  # type: ignore[override,misc]
        super().__ior__(_checked_users(other))
        return self


def _add_user(index: dict[str, list[XUser]], user: XUser) -> None:
    index.setdefault(user.username.lower(), []).append(user)


@attrs.define
class XMedia:
    """An emulated media upload.

    Attributes:
        id: the media id.
        media_key: ``<type>_<id>`` (3 image, 7 video, 16 animated GIF).
        owner_id: who uploaded it.
        media_type: the mime type given at INIT.
        category: the media category given at INIT.
        kind: ``"image"``, ``"gif"`` or ``"video"``.
        total_bytes: the size announced at INIT.
        segments: the received chunks by segment index.
        finalized_at: when FINALIZE came (emulator time), or ``None``.
        processing_seconds: how long processing takes after FINALIZE.
        error: why processing failed, if it does.
        alt_text: the alt text set through ``POST /2/media/metadata`` (or v1.1
            ``media/metadata/create``).
        created_at: when INIT came.
        width: an image's pixel width, once uploaded.
        height: an image's pixel height, once uploaded.
    """

    id: str
    media_key: str = attrs.field(on_setattr=counts_sets("key_changes"))
    owner_id: str
    media_type: str
    category: str
    kind: str
    total_bytes: int
    created_at: float
    segments: dict[int, bytes] = attrs.field(factory=dict, repr=False)
    finalized_at: float | None = None
    processing_seconds: float = 0.0
    error: str | None = None
    alt_text: str | None = None
    width: int | None = None
    height: int | None = None

    key_changes: ClassVar[int] = 0
    """How many times an upload's ``media_key`` was set after it was made (by any
    emulator): the index of uploads by media key is made again when it changes."""

    @property
    def data(self) -> bytes:
        """The uploaded bytes, segments in order."""
        return b"".join(self.segments[i] for i in sorted(self.segments))

    def state(self, now: float) -> str:
        """``"uploading"``, ``"pending"``, ``"in_progress"``, ``"succeeded"`` or ``"failed"``."""
        if self.finalized_at is None:
            return "uploading"
        elapsed = now - self.finalized_at
        if elapsed >= self.processing_seconds:
            return "failed" if self.error else "succeeded"
        return "pending" if elapsed < min(1.0, self.processing_seconds / 4) else "in_progress"


@attrs.define
class _Token:
    user_id: str
    expires_at: float
    client_id: str
    scopes: str = SCOPES  # what the grant allows; a refresh answers with the same


@attrs.frozen
class OAuthApp:
    """An OAuth 2 app registered on an emulator (`XEmulator.oauth_app`).

    Attributes:
        client_id: the app's client id.
        client_secret: the secret of a confidential client, ``None`` for a public one.
        redirect_uris: the callback URLs it may use.
        scopes: the scopes it may ask for.
    """

    client_id: str
    client_secret: str | None = attrs.field(repr=False)
    redirect_uris: tuple[str, ...]
    scopes: tuple[str, ...]


@attrs.define
class _Code:
    client_id: str
    redirect_uri: str
    challenge: str
    method: str
    user_id: str
    scopes: tuple[str, ...]
    expires_at: float


@attrs.define
class _Window:
    start: float
    count: int = 0


@attrs.define
class _Caller:
    user: XUser
    app: str
    headers: dict[str, str] = attrs.field(factory=dict)
    scopes: frozenset[str] | None = None  # an OAuth 2 token's grant; None: OAuth 1.0a
    writes: bool = True  # OAuth 1.0a: the access token was granted write access


@attrs.frozen
class OAuth1App:
    """An app registered for OAuth 1.0a 3-legged authorization (`XEmulator.oauth1_app`).

    Attributes:
        consumer_key: the app's API key.
        consumer_secret: its API key secret.
        callbacks: the callback URLs it may use (``oob`` is always allowed: PIN flow).
        access: ``"read-write"`` or ``"read"`` (the app permission of the developer portal).
    """

    consumer_key: str
    consumer_secret: str = attrs.field(repr=False)
    callbacks: tuple[str, ...]
    access: str = "read-write"


@attrs.define
class _RequestToken:
    consumer_key: str
    secret: str
    callback: str
    expires_at: float
    writes: bool
    verifier: str | None = None
    user_id: str | None = None


# -- JSON schema subset ----------------------------------------------------------------------


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


def validate(schema: Mapping[str, Any], value: Any, path: str = "$") -> list[str]:
    """Check ``value`` against a JSON schema subset (type, properties, required,
    additionalProperties, items, min/maxItems, pattern, enum, minimum/maximum,
    min/maxLength); returns X-style messages (``"$.foo: …"``), empty when valid."""
    errors: list[str] = []
    expected = schema.get("type")
    actual = _type_name(value)
    if expected and actual != expected and not (expected == "number" and actual == "integer"):
        return [f"{path}: {actual} found, {expected} expected"]
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{path}: does not have a value in the enumeration {schema['enum']}")
    if actual == "string":
        if "pattern" in schema and not re.search(schema["pattern"], value):
            errors.append(f"{path}: does not match the regex pattern {schema['pattern']}")
        if "minLength" in schema and len(value) < schema["minLength"]:
            errors.append(f"{path}: must be at least {schema['minLength']} characters long")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            errors.append(f"{path}: may only be {schema['maxLength']} characters long")
    if actual in ("integer", "number"):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append(f"{path}: must have a minimum value of {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            errors.append(f"{path}: must have a maximum value of {schema['maximum']}")
    if actual == "array":
        if "minItems" in schema and len(value) < schema["minItems"]:
            errors.append(f"{path}: expected at least {schema['minItems']} items")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            errors.append(f"{path}: there must be a maximum of {schema['maxItems']} items")
        if "items" in schema:
            for i, item in enumerate(value):
                errors += validate(schema["items"], item, f"{path}[{i}]")
    if actual == "object":
        props = schema.get("properties", {})
        for key in schema.get("required", ()):
            if key not in value:
                errors.append(f"{path}.{key}: is missing but it is required")
        for key, item in value.items():
            if key in props:
                errors += validate(props[key], item, f"{path}.{key}")
            elif schema.get("additionalProperties") is False:
                errors.append(
                    f"{path}.{key}: is not defined in the schema and the schema does not "
                    "allow additional properties"
                )
    return errors


# -- the emulator ----------------------------------------------------------------------------


def _alnum(n: int) -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(n))


def _oauth_params(header_value: str) -> dict[str, str]:
    """The parameters of an ``Authorization: OAuth k="v", …`` header, decoded."""
    return {k: unquote(v) for k, v in re.findall(r'([\w]+)="([^"]*)"', header_value)}


def _v1_errors(
    status: int, code: int, message: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    """An error in the shape of X's v1.1 and OAuth 1.0a endpoints."""
    return Emulator.json({"errors": [{"code": code, "message": message}]}, status, headers)


class XEmulator(Emulator):
    """A stateful fake of the X API v2 (see the module docstring for what it covers).

    Args:
        clock: the emulator clock (token expiry, rate windows, media processing, engagement).
        rate_limits: per-user limits by endpoint, e.g. ``{"POST /2/tweets": (5, 2.0)}`` for 5
            posts per 2 seconds; endpoints not named keep `DEFAULT_RATE_LIMITS`.
        user_daily_posts: the per-user 24-hour post quota (``x-user-limit-24hour-*``).
        app_daily_posts: the per-app 24-hour post quota (``x-app-limit-24hour-*``).
        daily_window: the length of the "24-hour" window in seconds (tests shorten it).
        token_lifetime: seconds an OAuth 2 access token lives (X: 2 hours).
        rotate_refresh_tokens: each refresh returns a new refresh token and retires the old.
        return_refresh_token: refresh answers carry a refresh token at all.
        processing_seconds: seconds of processing after FINALIZE, by kind (``"video"``,
            ``"gif"``, ``"image"``).
        check_after_secs: what STATUS answers tell clients to wait.
        duplicate_window: seconds within which an identical text of the same user is refused
            as duplicate content.
        premium: users have X Premium unless their own ``premium`` says otherwise: posts may
            then have 25,000 weighted characters instead of 280.
        reply_handles: a reply made through ``POST /2/tweets`` to someone else's post comes
            back with the conversation's @handles before its text, as with
            ``reply.auto_populate_reply_metadata`` (otherwise only then).
        usage_cap: posts recent search may return per period before it answers X's 429
            ``usage-capped`` (``None``: no cap). A page is served whole; the next request
            after the cap is reached is refused.
        usage_cap_period: ``"Monthly"`` (calendar month, UTC) or ``"Daily"``.

    Attributes:
        users: users by id: each stored under its own ``id`` (another key, or a change of
            a stored user's ``id``, raises ``ValueError``).
        media: uploads by media id.
        posts_read: posts recent search has returned (what X bills), ever.
        media_processing_error: when set, the next video or GIF fails processing with it.
    """

    platform: ClassVar[str] = "x"
    create_route: ClassVar[tuple[str, str]] = ("POST", r"/2/tweets")
    # A test may add, replace or take away users and uploads, or set either to another
    # dict: the indexes over them are made again (see `Watched`). Each user is kept under
    # its own id (`_Users`): its posts, tokens and likes name it by that id.
    users: Watched[str, XUser] = Watched(_Users)
    media: Watched[str, XMedia] = Watched()

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        rate_limits: Mapping[str, tuple[int, float]] | None = None,
        user_daily_posts: int = 100,
        app_daily_posts: int = 10_000,
        daily_window: float = 86_400.0,
        token_lifetime: float = 7_200.0,
        rotate_refresh_tokens: bool = True,
        return_refresh_token: bool = True,
        processing_seconds: Mapping[str, float] | None = None,
        check_after_secs: int = 1,
        duplicate_window: float = 86_400.0,
        premium: bool = False,
        reply_handles: bool = False,
        usage_cap: int | None = None,
        usage_cap_period: str = "Monthly",
    ) -> None:
        super().__init__(clock=clock)
        if usage_cap_period not in ("Monthly", "Daily"):
            raise ValueError(f"usage_cap_period is 'Monthly' or 'Daily', not {usage_cap_period!r}")
        self.reply_handles = reply_handles
        self.usage_cap = usage_cap
        self.usage_cap_period = usage_cap_period
        self.posts_read = 0
        self._reads: dict[str, int] = {}
        self.rate_limits: dict[str, tuple[int, float]] = {
            **DEFAULT_RATE_LIMITS,
            **(rate_limits or {}),
        }
        self.user_daily_posts = user_daily_posts
        self.app_daily_posts = app_daily_posts
        self.daily_window = daily_window
        self.token_lifetime = token_lifetime
        self.rotate_refresh_tokens = rotate_refresh_tokens
        self.return_refresh_token = return_refresh_token
        self.processing_seconds = {
            "video": 3.0,
            "gif": 2.0,
            "image": 0.0,
            **(processing_seconds or {}),
        }
        self.check_after_secs = check_after_secs
        self.duplicate_window = duplicate_window
        self.premium = premium
        self.media_processing_error: str | None = None
        self.users = {}
        self.media = {}
        self._posts: dict[str, XPost] = {}
        # The ids given to polls, which no later id may take (see `_new_id`).
        self._poll_ids: set[str] = set()
        # The posts whose text names each lowercase @handle (with their ids negated), in
        # the order they were made (see `_mentioning`): a mentions read looks at its user's
        # posts, not every post.
        self._mention_index: ItemsIndex[dict[str, list[tuple[int, XPost]]], XPost] = ItemsIndex(
            dict, _add_mentions, lambda: XPost.text_changes
        )
        # Alike, each author's posts by their stripped text (the duplicate check), and how
        # many posts not deleted each author has (``tweet_count``) (see `_same_text` and
        # `_tweet_count`).
        self._texts: ItemsIndex[dict[tuple[str, str], list[XPost]], XPost] = ItemsIndex(
            dict, _add_text, lambda: XPost.text_changes
        )
        self._live: ItemsIndex[Counter[str], XPost] = ItemsIndex(
            Counter, _count_live, lambda: XPost.deletions
        )
        # Alike, each author's posts, each post's replies, the replies and the quotes (see
        # `_links`), and the posts not deleted by id (see `posts`).
        self._links_index: ItemsIndex[_Links, XPost] = ItemsIndex(
            _Links, _Links.add, lambda: XPost.links
        )
        self._ordered: ItemsIndex[list[XPost], XPost] = ItemsIndex(
            list, _add_live, lambda: (XPost.deletions, XPost.links)
        )
        # Alike, how many hidden replies each conversation has (see `_hidden_in`).
        self._hidden: ItemsIndex[Counter[str], XPost] = ItemsIndex(
            Counter, _count_hidden, lambda: XPost.hidings
        )
        # Uploads by media key and users by lowercase username (the first of ``media``
        # (``users``) with each), made again when an entry is replaced or taken away or a
        # key (username) set (see `_media_by_key` and `_user_named`).
        self._media_index: ItemsIndex[dict[str, XMedia], XMedia] = ItemsIndex(
            dict, _add_media, lambda: (self.media.changes, XMedia.key_changes)
        )
        self._name_index: ItemsIndex[dict[str, list[XUser]], XUser]
        self._name_index = ItemsIndex(dict, _add_user, lambda: (self.users.changes, XUser.renames))
        self._tokens: dict[str, _Token] = {}
        self._refresh: dict[str, _Token] = {}
        self._clients: dict[str, str | None] = {}
        self._consumers: dict[str, str] = {}
        self._oauth1: dict[str, tuple[str, str, str]] = {}  # token -> (secret, user, consumer)
        self._apps: dict[str, OAuthApp] = {}
        self._oauth1_apps: dict[str, OAuth1App] = {}
        self._request_tokens: dict[str, _RequestToken] = {}
        self._oauth1_writes: dict[str, bool] = {}  # access token -> write access granted
        self.request_token_lifetime = 900.0  # an unauthorized request token dies
        self._codes: dict[str, _Code] = {}
        self.consent_as = "brand"
        self.code_lifetime = 30.0  # X: "This code is only valid for 30 seconds"
        self._windows: dict[tuple[str, str], _Window] = {}
        self._brands: list[str] = []  # user ids of the accounts made, oldest first
        self._fans: set[str] = set()  # user ids of the audience
        self._likes: set[tuple[str, str]] = set()  # (user id, post id)
        self._last_id = 0
        self._seq = itertools.count(1)
        self.client_id = "YnJhbmRraXQtZW11bGF0b3I6MTpjaQ"
        self._clients[self.client_id] = secrets.token_urlsafe(24)
        self.consumer_key = "brandkitEmulatorConsumer"
        self._consumers[self.consumer_key] = secrets.token_urlsafe(24)

    # -- public helpers ------------------------------------------------------------------

    def account(
        self,
        *,
        name: str | None = None,
        username: str | None = None,
        auth: str = "oauth2",
        confidential: bool = True,
        refreshable: bool = True,
        known_user: bool = False,
        premium: bool | None = None,
        on_credentials_changed: CredentialsHook | None = None,
        **unknown: Any,
    ) -> Account:
        """An [`Account`][brandkit.Account] with valid credentials for a user of this emulator
        at `base_url` (call it inside ``serve()`` to get the socket URL).

        Args:
            name: the account's name (also the username unless ``username`` is given); the
                same username gives the same user with fresh credentials.
            username: the X username.
            auth: ``"oauth2"`` (Bearer token, 2-hour life, refresh token) or ``"oauth1"``.
            confidential: OAuth 2 client with a client secret (Basic auth on refresh).
            refreshable: give a refresh token.
            known_user: put the user id and username in the account's settings (else the
                adapter asks ``GET /2/users/me``).
            premium: give the user X Premium (``True``) or take it away (``False``);
                ``None`` leaves the user as it is (new users follow the emulator's setting).
            on_credentials_changed: the account's hook for refreshed tokens.

        Raises:
            ValueError: ``auth`` is neither ``"oauth2"`` nor ``"oauth1"``.
            TypeError: an unknown keyword argument.
        """
        if unknown:
            raise TypeError(f"XEmulator.account() got unexpected arguments: {', '.join(unknown)}")
        with self.lock:
            user = self.user(username or name or f"brandkit{len(self.users) + 1}")
            if user.id in self._brands:
                self._brands.remove(user.id)
            self._brands.append(user.id)  # the newest account is the one fans mention
            if premium is not None:
                user.premium = premium
            username, user_id = (user.username, user.id) if known_user else (None, None)
            if auth == "oauth1":
                token = f"{user.id}-{secrets.token_urlsafe(18)}"
                secret = secrets.token_urlsafe(24)
                self._oauth1[token] = (secret, user.id, self.consumer_key)
                return Account.x(
                    consumer_key=self.consumer_key,
                    consumer_secret=self._consumers[self.consumer_key],
                    access_token=token,
                    access_token_secret=secret,
                    base_url=self.base_url,
                    name=name,
                    on_credentials_changed=on_credentials_changed,
                    username=username,
                    user_id=user_id,
                )
            if auth != "oauth2":
                raise ValueError(f"auth must be 'oauth2' or 'oauth1', got {auth!r}")
            client_id = self.client_id
            if not confidential:
                client_id = "cHVibGljLWNsaWVudDox"
                self._clients.setdefault(client_id, None)
            access = self._issue(user.id, client_id)
            refresh = None
            if refreshable:
                refresh = secrets.token_urlsafe(32)
                self._refresh[refresh] = _Token(user.id, float("inf"), client_id)
            return Account.x(
                user_token=access,
                refresh_token=refresh,
                client_id=client_id,
                client_secret=self._clients[client_id],
                base_url=self.base_url,
                name=name,
                on_credentials_changed=on_credentials_changed,
                username=username,
                user_id=user_id,
            )

    def oauth_app(
        self,
        *,
        redirect_uri: str | Sequence[str],
        scopes: str | Sequence[str] = SCOPES,
        confidential: bool = True,
    ) -> OAuthApp:
        """Register an OAuth 2 app for the authorization code flow (``GET
        /i/oauth2/authorize`` on this emulator, then ``POST /2/oauth2/token``).

        The authorize endpoint consents at once as the user named `consent_as` (made on
        first use) and redirects (302) to the redirect URI with ``code`` and ``state``;
        `deny_consent` scripts a refusal. Codes live `code_lifetime` seconds of the
        emulator clock and are single-use; the token endpoint checks the PKCE verifier
        and the redirect URI as X does. ``POST /2/oauth2/revoke``, with the same client
        authentication, revokes the app's tokens.

        Args:
            redirect_uri: the callback URL(s) registered.
            scopes: the scopes the app may ask for.
            confidential: a confidential client (authenticates with HTTP Basic) or a
                public one (``client_id`` in the form).
        """
        uris = (redirect_uri,) if isinstance(redirect_uri, str) else tuple(redirect_uri)
        allowed = tuple(scopes.split()) if isinstance(scopes, str) else tuple(scopes)
        with self.lock:
            # Shaped as X's: base64 of "<id>:1:ci" without padding. It never starts with
            # "-" (a random url-safe token could, and a command line would read it as an
            # option).
            client_id = (
                base64.urlsafe_b64encode(f"{secrets.token_hex(9)}:1:ci".encode())
                .rstrip(b"=")
                .decode()
            )
            secret = secrets.token_urlsafe(36) if confidential else None
            self._clients[client_id] = secret
            app = OAuthApp(client_id, secret, uris, allowed)
            self._apps[client_id] = app
            return app

    def oauth1_app(self, *, callback: str | Sequence[str], access: str = "read-write") -> OAuth1App:
        """Register an app for OAuth 1.0a 3-legged authorization: ``POST
        /oauth/request_token`` (signed with the consumer secret, ``oauth_callback`` one of
        ``callback`` or ``oob``), ``GET /oauth/authorize?oauth_token=…`` (consents at once
        as `consent_as` and redirects with ``oauth_token`` and ``oauth_verifier``), then
        ``POST /oauth/access_token`` (signed with the request token's secret, with the
        verifier): the access token and secret, which never expire.

        Request tokens are single-use and die unauthorized after
        `request_token_lifetime` seconds; every signature is checked (HMAC-SHA1). ``POST
        /1.1/oauth/invalidate_token``, signed with an access token, invalidates it.

        Args:
            callback: the callback URL(s) registered.
            access: ``"read-write"``, or ``"read"``: its tokens are refused when they post
                (X's 403 ``oauth1-permissions``).

        Raises:
            ValueError: ``access`` is neither.
        """
        if access not in ("read-write", "read"):
            raise ValueError(f"access is 'read-write' or 'read', not {access!r}")
        uris = (callback,) if isinstance(callback, str) else tuple(callback)
        with self.lock:
            # X's API keys are 25 letters and digits, their secrets 50: never a leading "-",
            # which a command line would read as an option (1 key in 64 did).
            key = _alnum(25)
            app = OAuth1App(key, _alnum(50), uris, access)
            self._consumers[key] = app.consumer_secret
            self._oauth1_apps[key] = app
            return app

    @property
    def codes_outstanding(self) -> int:
        """Authorization codes issued and not yet redeemed (expired ones included)."""
        with self.lock:
            return len(self._codes)

    def user(self, username: str) -> XUser:
        """The user named ``username``, made on first use."""
        with self.lock:
            found = self._user_named(username)
            if found is not None:
                return found
            now = self.clock.time()
            user = XUser(
                id=self._new_id(now), username=username, name=username.title(), created_at=now
            )
            self.users[user.id] = user
            return user

    def _user_named(self, username: str) -> XUser | None:
        """The first user of `users` whose username is ``username`` in any case, as a scan
        of it finds it. Users added are taken in as they come (in order); a username set,
        or a user replaced or taken away, makes the index again."""
        named = self._users_named(username)
        return named[0] if named else None

    def _users_named(self, username: str) -> list[XUser]:
        """The users of `users` whose username is ``username`` in any case, in order."""
        return self._name_index.over(self.users).get(username.lower(), [])

    @property
    def posts(self) -> list[XPost]:
        """Posts that exist (not deleted), oldest first."""
        with self.lock:
            return list(self._ordered.over(self._posts))

    def _links(self) -> _Links:
        """The posts by author and by the post they reply to, the replies and the quotes:
        taken in as posts are made, made again after one of the fields they are filed by
        is set by hand."""
        return self._links_index.over(self._posts)

    def post_texts(self) -> list[str]:
        """The texts of the posts that exist now, as sent, oldest first; what the audience
        wrote is left out."""
        return [p.text for p in self.posts if p.author_id not in self._fans]

    def post(self, post_id: str) -> XPost | None:
        """The post with this id, deleted or not."""
        return self._posts.get(str(post_id))

    def seed_post(
        self,
        username: str,
        text: str,
        *,
        age: timedelta = timedelta(0),
        in_reply_to: str | None = None,
    ) -> XPost:
        """Add a post made ``age`` ago by ``username`` (to test old posts, lookups, ...)."""
        with self.lock:
            user = self.user(username)
            return self._store(
                user,
                text,
                created_at=self.clock.time() - age.total_seconds(),
                in_reply_to=in_reply_to,
            )

    def expire_tokens(self) -> None:
        """Make every OAuth 2 access token expired now (the next call answers 401)."""
        with self.lock:
            now = self.clock.time()
            for token in self._tokens.values():
                token.expires_at = min(token.expires_at, now - 1)

    def set_rate_limit(self, endpoint: str, limit: int, window: float) -> None:
        """Set the per-user limit of ``endpoint`` (e.g. ``"POST /2/tweets"``) and restart
        its windows.

        Raises:
            KeyError: the endpoint is not one the emulator serves.
        """
        if endpoint not in DEFAULT_RATE_LIMITS:
            raise KeyError(
                f"unknown endpoint {endpoint!r}; known: {', '.join(DEFAULT_RATE_LIMITS)}"
            )
        with self.lock:
            self.rate_limits[endpoint] = (limit, window)
            for key in [k for k in self._windows if k[1] == endpoint]:
                del self._windows[key]

    def engagement(self, post_id: str) -> dict[str, int]:
        """The post's current metrics: public ones (``like_count``, ...) and non-public ones
        (``url_link_clicks``, ``user_profile_clicks``, ``engagements``); they grow with
        emulator time, the same way for the same post and time."""
        with self.lock:
            post = self._posts[str(post_id)]
            return self._engagement(post, self.clock.time())

    def add_engagement(self, post_id: str, **counts: int) -> None:
        """Add to a post's metrics, e.g. ``add_engagement(id, like_count=10)``."""
        with self.lock:
            post = self._posts[str(post_id)]
            for key, value in counts.items():
                post.extra[key] = post.extra.get(key, 0) + value

    def post_limit(self, user: XUser) -> int:
        """The weighted length ``user`` may post: 25,000 with Premium, else 280."""
        premium = self.premium if user.premium is None else user.premium
        return PREMIUM_POST_LIMIT if premium else POST_LIMIT

    def followers(self, user: XUser) -> int:
        """The user's followers now (they grow with emulator time)."""
        return self.grown(user.followers, user.followers_per_hour, user.created_at)

    # -- answers in X's shapes -----------------------------------------------------------

    @staticmethod
    def problem(
        status: int,
        title: str,
        detail: str,
        kind: str | None = None,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> httpx.Response:
        """An RFC 7807 problem body as X sends it (``type`` ``…/2/problems/<kind>`` or
        ``about:blank``)."""
        body: dict[str, Any] = {
            **extra,
            "title": title,
            "detail": detail,
            "type": PROBLEMS + kind if kind else "about:blank",
        }
        if "errors" not in extra:
            body["status"] = status
        return XEmulator._problem_json(body, status, headers)

    @staticmethod
    def _problem_json(
        body: Mapping[str, Any], status: int, headers: Mapping[str, str] | None
    ) -> httpx.Response:
        """``body``, written as is (its keys in their order), as X's problem+json answer."""
        return httpx.Response(
            status,
            content=json.dumps(body).encode(),
            headers={"content-type": "application/problem+json", **(headers or {})},
        )

    def error(self, status: int, message: str, **extra: Any) -> httpx.Response:
        """A generic X problem (``about:blank``) with ``message`` as its detail."""
        return self.problem(status, httpx.codes.get_reason_phrase(status), message, **extra)

    def _schema_body(
        self,
        request: httpx.Request,
        schema: Mapping[str, Any],
        caller: _Caller,
        not_object: str = "$: object expected",
    ) -> dict[str, Any]:
        """The request's JSON object, which satisfies ``schema``.

        Raises:
            Refusal: X's 400 for a body that is no JSON object or breaks ``schema``.
        """
        try:
            body = json.loads(request.content or b"null")
        except ValueError:
            raise Refusal.answering(
                self.invalid(["Request body is not valid JSON"], caller.headers)
            ) from None
        if not isinstance(body, dict):
            raise Refusal.answering(self.invalid([not_object], caller.headers))
        problems = validate(schema, body)
        if problems:
            raise Refusal.answering(self.invalid(problems, caller.headers))
        return body

    def invalid(
        self, messages: Sequence[str], headers: Mapping[str, str] | None = None
    ) -> httpx.Response:
        """X's 400 for a request that breaks the schema or a parameter rule."""
        return self._invalid_request([{"message": m} for m in messages], headers)

    def _invalid_parameter(
        self, name: str, values: Sequence[str], message: str, headers: Mapping[str, str]
    ) -> httpx.Response:
        """X's 400 for the parameter ``name`` whose ``values`` break a rule: the error names
        them."""
        return self._invalid_request(
            [{"parameters": {name: list(values)}, "message": message}], headers
        )

    def _invalid_request(
        self, errors: list[dict[str, Any]], headers: Mapping[str, str] | None
    ) -> httpx.Response:
        return self.problem(
            400,
            "Invalid Request",
            "One or more parameters to your request was invalid.",
            "invalid-request",
            headers=headers,
            errors=errors,
        )

    def _unauthorized(self) -> httpx.Response:
        return self.problem(401, "Unauthorized", "Unauthorized")

    def rate_limit_headers(self, request: httpx.Request) -> dict[str, str]:
        """Headers on every answer: X's ``date`` (in X's format, by the emulator clock)."""
        return {"date": self.clock.now().strftime("%a, %d %b %Y %H:%M:%S UTC")}

    # -- auth ----------------------------------------------------------------------------

    def _issue(self, user_id: str, client_id: str, scopes: str = SCOPES) -> str:
        token = secrets.token_urlsafe(32)
        self._tokens[token] = _Token(
            user_id, self.clock.time() + self.token_lifetime, client_id, scopes
        )
        return token

    def _caller(self, request: httpx.Request) -> _Caller:
        """Who sends ``request``: an OAuth 2 bearer token's user or an OAuth 1.0a signer.

        Raises:
            Refusal: X's 401 for no valid credentials.
        """
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer":
            token = self._tokens.get(value.strip())
            # A user a test took out of `users` is gone from X, and its tokens with it.
            user = self.users.get(token.user_id) if token is not None else None
            if token is None or user is None or token.expires_at <= self.clock.time():
                raise Refusal.answering(self._unauthorized())
            return _Caller(user, token.client_id, scopes=frozenset(token.scopes.split()))
        if scheme.lower() == "oauth":
            return self._oauth1_caller(request, value)
        raise Refusal.answering(self._unauthorized())

    def _oauth1_caller(self, request: httpx.Request, value: str) -> _Caller:
        """The user of an OAuth 1.0a ``Authorization`` header's ``value``.

        Raises:
            Refusal: X's 401 for an unknown key or token or a bad signature.
        """
        params = _oauth_params(value)
        consumer_secret = self._consumers.get(params.get("oauth_consumer_key", ""))
        found = self._oauth1.get(params.get("oauth_token", ""))
        if (
            consumer_secret is None
            or found is None
            or found[2] != params.get("oauth_consumer_key")
            or not self._signed(request, params, consumer_secret, found[0])
        ):
            raise Refusal.answering(self._unauthorized())
        _, user_id, consumer = found
        user = self.users.get(user_id)
        if user is None:  # taken out of `users` by a test: gone, with its tokens
            raise Refusal.answering(self._unauthorized())
        writes = self._oauth1_writes.get(params["oauth_token"], True)
        return _Caller(user, consumer, writes=writes)

    @staticmethod
    def _signed(
        request: httpx.Request, params: Mapping[str, str], consumer_secret: str, token_secret: str
    ) -> bool:
        """Whether the OAuth 1.0a ``params`` sign ``request`` with HMAC-SHA1 and these
        secrets (RFC 5849 §3.4)."""
        if params.get("oauth_signature_method") != "HMAC-SHA1":
            return False
        # Written apart from the adapter's signer on purpose: the two check each other.
        signed = [(k, v) for k, v in params.items() if k not in ("oauth_signature", "realm")]
        signed += list(request.url.params.multi_items())
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype == "application/x-www-form-urlencoded":
            signed += parse_qsl(request.content.decode(), keep_blank_values=True)

        def enc(s: str) -> str:
            return quote(s, safe="-._~")

        normalized = "&".join(f"{k}={v}" for k, v in sorted((enc(k), enc(v)) for k, v in signed))
        url = request.url
        # Behind a TLS-terminating proxy (how tests put real clients, which only speak https,
        # in front of the emulator) the client signed the https URL it used.
        scheme = request.headers.get("x-forwarded-proto", url.scheme).split(",")[0].strip()
        port = "" if url.port in (None, 80 if scheme == "http" else 443) else f":{url.port}"
        base_uri = f"{scheme}://{url.host}{port}{url.path}"
        base = f"{request.method.upper()}&{enc(base_uri)}&{enc(normalized)}"
        key = f"{enc(consumer_secret)}&{enc(token_secret)}".encode()
        expected = base64.b64encode(hmac.new(key, base.encode(), hashlib.sha1).digest()).decode()
        return hmac.compare_digest(expected, params.get("oauth_signature", ""))

    # -- rate limits ---------------------------------------------------------------------

    def _count(
        self, key: tuple[str, str], limit: int, window: float, now: float
    ) -> tuple[_Window, bool]:
        w = self._windows.get(key)
        if w is None or now >= w.start + window:
            w = self._windows[key] = _Window(start=now)
        if w.count >= limit:
            return w, False
        return w, True

    def _begin(self, request: httpx.Request, endpoint: str) -> _Caller:
        """Authenticate, then spend one request of the caller's window(s) for ``endpoint``.

        Raises:
            Refusal: X's 401 (see `_caller`), or its 429 when a window is spent.
        """
        caller = self._caller(request)
        now = self.clock.time()
        limit, window = self.rate_limits[endpoint]
        checks: list[tuple[str, tuple[str, str], int, float]] = [
            ("x-rate-limit", (caller.user.id, endpoint), limit, window)
        ]
        if endpoint == "POST /2/tweets":
            checks.append(
                (
                    "x-user-limit-24hour",
                    (caller.user.id, "daily"),
                    self.user_daily_posts,
                    self.daily_window,
                )
            )
            checks.append(
                (
                    "x-app-limit-24hour",
                    (f"app:{caller.app}", "daily"),
                    self.app_daily_posts,
                    self.daily_window,
                )
            )
        states = [
            (prefix, *self._count(key, lim, win, now), lim, win) for prefix, key, lim, win in checks
        ]
        allowed = all(ok for _, _, ok, _, _ in states)
        for prefix, w, _, lim, win in states:
            if allowed:
                w.count += 1
            caller.headers[f"{prefix}-limit"] = str(lim)
            caller.headers[f"{prefix}-remaining"] = str(max(0, lim - w.count))
            caller.headers[f"{prefix}-reset"] = str(int(-(-(w.start + win) // 1)))
        if not allowed:
            raise Refusal.answering(
                self.problem(
                    429,
                    "Too Many Requests",
                    "Too Many Requests",
                    "rate-limit-exceeded",
                    headers=caller.headers,
                )
            )
        return caller

    # -- ids -----------------------------------------------------------------------------

    def _new_id(self, at: float) -> str:
        value = ((int(at * 1000) - SNOWFLAKE_EPOCH_MS) << 22) | (next(self._seq) & 0xFFF)
        while (
            str(value) in self._posts
            or str(value) in self.media
            or str(value) in self.users
            or str(value) in self._poll_ids
        ):
            value += 1
        if at >= self.clock.time() - 1:
            value = max(value, self._last_id + 1)
            self._last_id = value
        return str(value)

    # -- OAuth 2 token -------------------------------------------------------------------

    @route("GET", r"/i/oauth2/authorize")
    def _authorize(self, request: httpx.Request) -> httpx.Response:
        q = dict(request.url.params)
        app = self._apps.get(q.get("client_id", ""))
        redirect = q.get("redirect_uri", "")
        if app is None or redirect not in app.redirect_uris:
            # X shows an error page and never redirects to an unregistered callback.
            return self.html(
                "<p>Something went wrong. You weren't able to give access to the App. "
                "Go back and try logging in again.</p>",
                400,
            )
        state = q.get("state", "")

        def back(**params: str) -> httpx.Response:
            return self.redirect(redirect, {**params, "state": state})

        scopes = tuple(q.get("scope", "").split())
        if (
            q.get("response_type") != "code"
            or not q.get("code_challenge")
            or q.get("code_challenge_method", "plain") not in ("S256", "plain")
        ):
            return back(error="invalid_request")
        if not scopes or any(s not in app.scopes for s in scopes):
            return back(error="invalid_scope")
        if self._consent_refused():
            return back(error="access_denied")
        user = self.user(self.consent_as)
        if user.id in self._brands:
            self._brands.remove(user.id)
        self._brands.append(user.id)
        code = secrets.token_urlsafe(48)
        self._codes[code] = _Code(
            client_id=app.client_id,
            redirect_uri=redirect,
            challenge=q["code_challenge"],
            method=q.get("code_challenge_method", "plain"),
            user_id=user.id,
            scopes=scopes,
            expires_at=self.clock.time() + self.code_lifetime,
        )
        return back(code=code)

    def _redeem(self, form: dict[str, str], client_id: str) -> httpx.Response:
        def invalid(description: str) -> httpx.Response:
            return self.json({"error": "invalid_request", "error_description": description}, 400)

        # A code is spent by its first redemption, whatever the outcome (RFC 6749 §4.1.2).
        code = self._codes.pop(form.get("code", ""), None)
        if code is None or code.client_id != client_id or code.expires_at <= self.clock.time():
            return invalid("Value passed for the authorization code was invalid.")
        if form.get("redirect_uri") != code.redirect_uri:
            return invalid(
                "Value passed for the redirect uri did not match the uri of the authorization code."
            )
        verifier = form.get("code_verifier", "")
        if not verifier:
            return invalid("Missing required parameter [code_verifier].")
        computed = pkce_s256(verifier) if code.method == "S256" else verifier
        if not hmac.compare_digest(computed, code.challenge):
            return invalid("Value passed for the code verifier did not match the code challenge.")
        body: dict[str, Any] = {
            "token_type": "bearer",
            "expires_in": int(self.token_lifetime),
            "access_token": self._issue(code.user_id, client_id, " ".join(code.scopes)),
            "scope": " ".join(code.scopes),
        }
        if "offline.access" in code.scopes:
            refresh = secrets.token_urlsafe(32)
            self._refresh[refresh] = _Token(
                code.user_id, float("inf"), client_id, " ".join(code.scopes)
            )
            body["refresh_token"] = refresh
        return self.json(body)

    def _token_client(self, request: httpx.Request, form: Mapping[str, str]) -> str:
        """The client of a request to the token or revoke endpoint: a confidential client
        by HTTP Basic, a public one by ``client_id`` in the form.

        Raises:
            Refusal: X's 401 for neither.
        """
        header = request.headers.get("authorization", "")
        client_id = form.get("client_id", "")
        if header.lower().startswith("basic "):
            try:
                cid, _, secret = base64.b64decode(header[6:]).decode().partition(":")
            except ValueError:
                cid, secret = "", ""
            if cid in self._clients and self._clients[cid] == secret:
                return cid
        elif self._clients.get(client_id, "") is None:
            return client_id
        # Unknown client, a wrong secret, or a confidential client that did not authenticate.
        raise Refusal.answering(
            self.json(
                {
                    "error": "unauthorized_client",
                    "error_description": "Missing valid authorization header",
                },
                401,
            )
        )

    @route("POST", r"/2/oauth2/token")
    def _token(self, request: httpx.Request) -> httpx.Response:
        form = dict(parse_qsl(request.content.decode(), keep_blank_values=True))
        client_id = self._token_client(request, form)
        if form.get("grant_type") == "authorization_code":
            return self._redeem(form, client_id)
        if form.get("grant_type") != "refresh_token":
            return self.json(
                {
                    "error": "invalid_request",
                    "error_description": "Value passed for the grant type was invalid.",
                },
                400,
            )
        old = self._refresh.get(form.get("refresh_token", ""))
        if old is None or old.client_id != client_id:
            return self.json(
                {
                    "error": "invalid_request",
                    "error_description": "Value passed for the token was invalid.",
                },
                400,
            )
        body: dict[str, Any] = {
            "token_type": "bearer",
            "expires_in": int(self.token_lifetime),
            "access_token": self._issue(old.user_id, client_id, old.scopes),
            "scope": old.scopes,
        }
        if self.return_refresh_token:
            refresh = form["refresh_token"]
            if self.rotate_refresh_tokens:
                del self._refresh[refresh]
                refresh = secrets.token_urlsafe(32)
                self._refresh[refresh] = _Token(old.user_id, float("inf"), client_id, old.scopes)
            body["refresh_token"] = refresh
        return self.json(body)

    @route("POST", r"/2/oauth2/revoke")
    def _revoke(self, request: httpx.Request) -> httpx.Response:
        """RFC 7009 revocation as X serves it: the client authenticated as at the token
        endpoint, then ``{"revoked": true}`` for the token named, found whatever its
        ``token_type_hint`` (RFC 7009 §2.1), and the same for a token that is unknown or
        dead already (§2.2) or another client's (which stays valid)."""
        form = dict(parse_qsl(request.content.decode(), keep_blank_values=True))
        client_id = self._token_client(request, form)
        token = form.get("token", "")
        if not token:
            return self.json(
                {
                    "error": "invalid_request",
                    "error_description": "Missing required parameter [token].",
                },
                400,
            )
        for store in (self._tokens, self._refresh):
            found = store.get(token)
            if found is not None and found.client_id == client_id:
                del store[token]
        return self.json({"revoked": True})

    # -- OAuth 1.0a 3-legged -------------------------------------------------------------

    @staticmethod
    def _form_answer(values: Mapping[str, str]) -> httpx.Response:
        # X answers the OAuth 1.0a token endpoints with a form-encoded body labelled html.
        return Emulator.html("&".join(f"{k}={quote(v, safe='')}" for k, v in values.items()))

    @route("POST", r"/oauth/request_token")
    def _request_token(self, request: httpx.Request) -> httpx.Response:
        params = _oauth_params(request.headers.get("authorization", "").partition(" ")[2])
        app = self._oauth1_apps.get(params.get("oauth_consumer_key", ""))
        if app is None or not self._signed(request, params, app.consumer_secret, ""):
            return _v1_errors(401, 32, "Could not authenticate you.")
        callback = params.get("oauth_callback") or request.url.params.get("oauth_callback", "")
        if callback != "oob" and callback not in app.callbacks:
            return _v1_errors(
                403,
                415,
                "Callback URL not approved for this client application. Approved callback "
                "URLs can be adjusted in your application settings",
            )
        access = request.url.params.get("x_auth_access_type", "write")
        token = secrets.token_urlsafe(24)
        secret = secrets.token_urlsafe(32)
        self._request_tokens[token] = _RequestToken(
            consumer_key=app.consumer_key,
            secret=secret,
            callback=callback,
            expires_at=self.clock.time() + self.request_token_lifetime,
            writes=app.access == "read-write" and access != "read",
        )
        return self._form_answer(
            {"oauth_token": token, "oauth_token_secret": secret, "oauth_callback_confirmed": "true"}
        )

    @route("GET", r"/oauth/authorize")
    def _authorize1(self, request: httpx.Request) -> httpx.Response:
        token = request.url.params.get("oauth_token", "")
        found = self._request_tokens.get(token)
        if found is None or found.verifier is not None or found.expires_at <= self.clock.time():
            # X shows an error page; it has no callback to send the user to.
            return self.html(
                "<p>This page is no longer valid. It looks like someone already used the "
                "token information you provided.</p>",
                400,
            )
        if self._consent_refused():
            del self._request_tokens[token]
            params = {"denied": token}
        else:
            user = self.user(self.consent_as)
            if user.id in self._brands:
                self._brands.remove(user.id)
            self._brands.append(user.id)
            found.verifier = secrets.token_urlsafe(24)
            found.user_id = user.id
            params = {"oauth_token": token, "oauth_verifier": found.verifier}
        if found.callback == "oob":
            # The PIN flow shows the verifier instead of redirecting.
            return self.html(f"<code>{html.escape(params.get('oauth_verifier', ''))}</code>")
        return self.redirect(found.callback, params)

    @route("POST", r"/oauth/access_token")
    def _access_token(self, request: httpx.Request) -> httpx.Response:
        params = _oauth_params(request.headers.get("authorization", "").partition(" ")[2])
        app = self._oauth1_apps.get(params.get("oauth_consumer_key", ""))
        token = params.get("oauth_token") or request.url.params.get("oauth_token", "")
        found = self._request_tokens.get(token)
        if app is None or found is None or found.consumer_key != app.consumer_key:
            return _v1_errors(401, 89, "Invalid or expired token.")
        if not self._signed(request, params, app.consumer_secret, found.secret):
            return _v1_errors(401, 32, "Could not authenticate you.")
        # A request token is spent by its first exchange, whatever the outcome.
        del self._request_tokens[token]
        form = dict(parse_qsl(request.content.decode(), keep_blank_values=True))
        verifier = (
            params.get("oauth_verifier")
            or request.url.params.get("oauth_verifier")
            or form.get("oauth_verifier", "")
        )
        if found.verifier is None or found.user_id is None or found.expires_at <= self.clock.time():
            return _v1_errors(401, 89, "Invalid or expired token.")
        if not hmac.compare_digest(verifier.encode(), found.verifier.encode()):
            return httpx.Response(
                401,
                headers={"content-type": "text/plain; charset=utf-8"},
                text="Error processing your OAuth request: Invalid oauth_verifier parameter",
            )
        user = self.users.get(found.user_id)
        if user is None:  # taken out of `users` by a test since it authorized the app
            return _v1_errors(401, 89, "Invalid or expired token.")
        access = f"{user.id}-{secrets.token_urlsafe(30)}"
        secret = secrets.token_urlsafe(33)
        self._oauth1[access] = (secret, user.id, app.consumer_key)
        self._oauth1_writes[access] = found.writes
        return self._form_answer(
            {
                "oauth_token": access,
                "oauth_token_secret": secret,
                "user_id": user.id,
                "screen_name": user.username,
            }
        )

    @route("POST", r"/1\.1/oauth/invalidate_token(?:\.json)?")
    def _invalidate_token(self, request: httpx.Request) -> httpx.Response:
        """``POST /1.1/oauth/invalidate_token``: the access token that signs the request
        (OAuth 1.0a user context) is invalidated; X answers ``{"access_token": …}``, and
        its 401 code 89 for a token it does not know (invalidated already)."""
        params = _oauth_params(request.headers.get("authorization", "").partition(" ")[2])
        token = params.get("oauth_token", "")
        found = self._oauth1.get(token)
        if found is None:
            return _v1_errors(401, 89, "Invalid or expired token.")
        secret, _, consumer = found
        consumer_secret = self._consumers.get(params.get("oauth_consumer_key", ""))
        if (
            consumer_secret is None
            or consumer != params.get("oauth_consumer_key")
            or not self._signed(request, params, consumer_secret, secret)
        ):
            return _v1_errors(401, 32, "Could not authenticate you.")
        del self._oauth1[token]
        self._oauth1_writes.pop(token, None)
        return self.json({"access_token": token})

    # -- users ---------------------------------------------------------------------------

    def _fields(
        self, request: httpx.Request, name: str, allowed: frozenset[str]
    ) -> list[str] | str:
        raw = request.url.params.get(name)
        if raw is None:
            return []
        values = [v for v in raw.split(",") if v]
        for v in values:
            if v not in allowed:
                return (
                    f"The `{name}` query parameter value [{v}] is not one of "
                    f"[{','.join(sorted(allowed))}]"
                )
        return values

    def _user_json(self, user: XUser, fields: Sequence[str]) -> dict[str, Any]:
        out: dict[str, Any] = {"id": user.id, "name": user.name, "username": user.username}
        if "created_at" in fields:
            out["created_at"] = _iso(user.created_at)
        # Emulated users have no profile of their own: X's answers for an account that never
        # set one (its default picture, no description or link); Premium is the blue check.
        premium = self.premium if user.premium is None else user.premium
        profile = {
            "description": "",
            "profile_image_url": DEFAULT_PROFILE_IMAGE,
            "protected": False,
            "url": "",
            "verified": premium,
            "verified_type": "blue" if premium else "none",
        }
        out.update((k, v) for k, v in profile.items() if k in fields)
        if "public_metrics" in fields:
            out["public_metrics"] = {
                "followers_count": self.followers(user),
                "following_count": 42,
                "tweet_count": self._tweet_count(user.id),
                "listed_count": 1,
                "like_count": 0,
            }
        return out

    @route("GET", r"/2/users/me")
    def _me(self, request: httpx.Request) -> httpx.Response:
        caller = self._begin(request, "GET /2/users/me")
        fields = self._fields(request, "user.fields", USER_FIELDS)
        if isinstance(fields, str):
            return self.invalid([fields], caller.headers)
        return self.json({"data": self._user_json(caller.user, fields)}, 200, caller.headers)

    @route("GET", r"/2/users/(?P<user_id>[0-9]+)")
    def _user(self, request: httpx.Request, user_id: str) -> httpx.Response:
        caller = self._begin(request, "GET /2/users/:id")
        fields = self._fields(request, "user.fields", USER_FIELDS)
        if isinstance(fields, str):
            return self.invalid([fields], caller.headers)
        user = self.users.get(user_id)
        if user is None:
            return self._user_not_found(user_id, caller)
        return self.json({"data": self._user_json(user, fields)}, 200, caller.headers)

    @route("GET", r"/2/users/by/username/(?P<username>[^/]+)")
    def _user_by_username(self, request: httpx.Request, username: str) -> httpx.Response:
        # How a tool finds a fan's id from a handle: any case, X's handle pattern checked
        # first; an unknown handle is a 200 with a resource-not-found error.
        caller = self._begin(request, "GET /2/users/by/username/:username")
        if not re.fullmatch(r"[A-Za-z0-9_]{1,15}", username):
            return self._invalid_parameter(
                "username",
                [username],
                f"The `username` query parameter value [{username}] does not match "
                "^[A-Za-z0-9_]{1,15}$",
                caller.headers,
            )
        fields = self._fields(request, "user.fields", USER_FIELDS)
        if isinstance(fields, str):
            return self.invalid([fields], caller.headers)
        user = self._user_named(username)
        if user is None:
            error = {
                "value": username,
                "detail": f"Could not find user with username: [{username}].",
                "title": "Not Found Error",
                "resource_type": "user",
                "parameter": "username",
                "resource_id": username,
                "type": PROBLEMS + "resource-not-found",
            }
            return self.json({"errors": [error]}, 200, caller.headers)
        return self.json({"data": self._user_json(user, fields)}, 200, caller.headers)

    # -- posts ---------------------------------------------------------------------------

    def _store(
        self,
        user: XUser,
        text: str,
        *,
        created_at: float,
        in_reply_to: str | None = None,
        media_keys: tuple[str, ...] = (),
        quote: str | None = None,
        reply_settings: str | None = None,
        lang: str | None = None,
        handles: str = "",
        poll: dict[str, Any] | None = None,
        conversation: str | None = None,
    ) -> XPost:
        post_id = self._new_id(created_at)
        display, urls = self._shorten(post_id, user, text, media_keys)
        if handles:
            # X puts the @handles before the text it shows; entity offsets move with it.
            display = handles + display
            for url in urls:
                url["start"] += len(handles)
                url["end"] += len(handles)
        parent = self._posts.get(in_reply_to) if in_reply_to else None
        post = XPost(
            id=post_id,
            author_id=user.id,
            text=text,
            display_text=display,
            created_at=created_at,
            in_reply_to=in_reply_to,
            conversation_id=(
                conversation
                if conversation is not None
                else parent.conversation_id
                if parent
                else post_id
            ),
            media_keys=media_keys,
            quote_tweet_id=quote,
            reply_settings=reply_settings,
            urls=urls,
            lang=lang,
            poll=poll,
            # X's poll ids are snowflakes of their own, made with the post.
            poll_id=self._new_id(created_at) if poll is not None else None,
        )
        if post.poll_id is not None:
            self._poll_ids.add(post.poll_id)
        self._posts[post_id] = post
        return post

    @staticmethod
    def _tco(seed: str) -> str:
        digest = hashlib.sha256(seed.encode()).digest()
        return "https://t.co/" + base64.b32encode(digest).decode()[:10].lower()

    def _shorten(
        self, post_id: str, user: XUser, text: str, media_keys: Sequence[str]
    ) -> tuple[str, list[dict[str, Any]]]:
        """X's rewrite: ``&``, ``<`` and ``>`` are HTML-escaped, every link becomes a t.co
        link, and media add one more link at the end."""
        out: list[str] = []
        urls: list[dict[str, Any]] = []
        pos = 0
        length = 0
        for match in _URL.finditer(text):
            url = match.group(0).rstrip(_TRAILING)
            before = html.escape(text[pos : match.start()], quote=False)
            out.append(before)
            length += len(before)
            short = self._tco(post_id + url)
            urls.append(
                {
                    "start": length,
                    "end": length + len(short),
                    "url": short,
                    "expanded_url": url,
                    "display_url": re.sub(r"^https?://(www\.)?", "", url)[:26],
                }
            )
            out.append(short)
            length += len(short)
            pos = match.start() + len(url)
        out.append(html.escape(text[pos:], quote=False))
        display = "".join(out)
        if media_keys:
            short = self._tco(post_id + "media")
            sep = " " if display else ""
            start = len(display) + len(sep)
            kind = "video" if media_keys[0].startswith("7_") else "photo"
            urls.append(
                {
                    "start": start,
                    "end": start + len(short),
                    "url": short,
                    "expanded_url": f"https://x.com/{user.username}/status/{post_id}/{kind}/1",
                    "display_url": "pic.x.com/" + short.rsplit("/", 1)[-1],
                    "media_key": media_keys[0],
                }
            )
            display = f"{display}{sep}{short}"
        return display, urls

    def _may_write(self, caller: _Caller) -> httpx.Response | None:
        """X's 403 when the caller's grant does not allow writing posts: an OAuth 2 token
        without ``tweet.write``, or an OAuth 1.0a token of a read-only app."""
        if caller.scopes is not None and "tweet.write" not in caller.scopes:
            return self.problem(403, "Forbidden", "Forbidden", headers=caller.headers)
        if not caller.writes:
            return self.problem(
                403,
                "Forbidden",
                "Your client app is not configured with the appropriate oauth1 app "
                "permissions for this endpoint.",
                "oauth1-permissions",
                headers=caller.headers,
            )
        return None

    @route("POST", r"/2/tweets")
    def _create(self, request: httpx.Request) -> httpx.Response:
        caller = self._begin(request, "POST /2/tweets")
        refused = self._may_write(caller)
        if refused is not None:
            return refused
        body = self._schema_body(
            request, TWEET_CREATE_SCHEMA, caller, "$: null found, object expected"
        )
        text = body.get("text", "")
        media_ids = body.get("media", {}).get("media_ids", [])
        exclusive = [k for k in ("media", "poll", "quote_tweet_id", "card_uri") if k in body]
        if len(exclusive) > 1:
            return self.invalid(
                [f"$: {' and '.join(exclusive)} are mutually exclusive"], caller.headers
            )
        if not text and not media_ids:
            return self.invalid(["$.text: text or media is required"], caller.headers)
        if text and weighted_length(text) > self.post_limit(caller.user):
            return self.invalid([TOO_LONG], caller.headers)
        now = self.clock.time()
        keys: list[str] = []
        for mid in media_ids:
            media = self.media.get(mid)
            if media is None or media.owner_id != caller.user.id or media.state(now) != "succeeded":
                return self._invalid_parameter(
                    "media.media_ids", [mid], "Your media IDs are invalid.", caller.headers
                )
            keys.append(media.media_key)
        if "edit_options" in body:
            return self._edit_by_api(caller, body, text, tuple(keys), now)
        reply_to = body.get("reply", {}).get("in_reply_to_tweet_id")
        if reply_to is not None:
            parent = self._posts.get(reply_to)
            if parent is None or parent.deleted:
                return self.problem(
                    403,
                    "Forbidden",
                    "You attempted to reply to a Tweet that is deleted or not visible to you.",
                    headers=caller.headers,
                )
        quote = body.get("quote_tweet_id")
        if quote is not None and (quote not in self._posts or self._posts[quote].deleted):
            return self.problem(
                403,
                "Forbidden",
                "You cannot quote a Tweet that is deleted or not visible to you.",
                headers=caller.headers,
            )
        if text and self._is_duplicate(caller.user.id, text, now):
            # platforms.md §1.6, as observed in the wild (akrherz/iembot#163), keys in its
            # order.
            duplicate = {
                "detail": "You are not allowed to create a Tweet with duplicate content.",
                "type": "about:blank",
                "title": "Forbidden",
                "status": 403,
            }
            return self._problem_json(duplicate, 403, caller.headers)
        handles = ""
        if reply_to is not None and (
            body["reply"].get("auto_populate_reply_metadata") or self.reply_handles
        ):
            handles = self._reply_handles(self._posts[reply_to], caller.user, text)
        post = self._store(
            caller.user,
            text,
            created_at=now,
            in_reply_to=reply_to,
            media_keys=tuple(keys),
            quote=quote,
            reply_settings=body.get("reply_settings"),
            handles=handles,
            poll=body.get("poll"),
        )
        data = {
            "data": {"id": post.id, "text": post.display_text, "edit_history_tweet_ids": [post.id]}
        }
        return self.json(data, 201, caller.headers)

    def _edit_by_api(
        self,
        caller: _Caller,
        body: Mapping[str, Any],
        text: str,
        keys: tuple[str, ...],
        now: float,
    ) -> httpx.Response:
        """``POST /2/tweets`` with ``edit_options``: the caller's post
        ``previous_post_id`` gets a new version, as `edit` makes it (a new id, the chain
        in ``edit_history_tweet_ids``, the same parent, quote and conversation), with the
        body's text, and its media if it names any (else the post's).

        X documents no error for an edit it refuses: these are 403 problems (``about:blank``,
        "Forbidden") as X answers a create it forbids (a reply to a deleted post, a
        duplicate), a reply or quote other than the post's a 400 invalid request, and so is
        a poll (a post with a poll cannot be edited, docs.x.com fundamentals/edit-posts)
        and media on a post that quotes (the edit keeps the quote, which ``media`` is
        mutually exclusive with, as in a create)."""
        previous = body["edit_options"]["previous_post_id"]
        post = self._posts.get(previous)
        if post is None or post.deleted:
            return self.problem(
                403,
                "Forbidden",
                "You attempted to edit a Tweet that is deleted or not visible to you.",
                headers=caller.headers,
            )
        if post.author_id != caller.user.id:
            return self.problem(
                403,
                "Forbidden",
                "You are not allowed to edit a Tweet you do not own.",
                headers=caller.headers,
            )
        refused = self._uneditable(post, now)
        if refused is not None:
            return self.problem(403, "Forbidden", refused, headers=caller.headers)
        reply = body.get("reply", {})
        moved = [
            f"$.{name}: an edit keeps the post's {name} ({kept or 'none'})"
            for name, given, kept in (
                ("reply", reply.get("in_reply_to_tweet_id"), post.in_reply_to),
                ("quote_tweet_id", body.get("quote_tweet_id"), post.quote_tweet_id),
                ("poll", body.get("poll"), None),
            )
            if given is not None and given != kept
        ]
        if moved:
            return self.invalid(moved, caller.headers)
        if "media" in body and post.quote_tweet_id is not None:
            return self.invalid(
                ["$: media and quote_tweet_id are mutually exclusive"], caller.headers
            )
        if text and self._is_duplicate(caller.user.id, text, now, besides=post.history):
            return self._problem_json(
                {
                    "detail": "You are not allowed to create a Tweet with duplicate content.",
                    "type": "about:blank",
                    "title": "Forbidden",
                    "status": 403,
                },
                403,
                caller.headers,
            )
        parent = self._posts.get(post.in_reply_to) if post.in_reply_to else None
        handles = ""
        if parent is not None and (reply.get("auto_populate_reply_metadata") or self.reply_handles):
            handles = self._reply_handles(parent, caller.user, text)
        new = self._new_version(
            post,
            caller.user,
            text,
            now,
            media_keys=keys if "media" in body else post.media_keys,
            handles=handles,
        )
        data = {
            "data": {"id": new.id, "text": new.display_text, "edit_history_tweet_ids": new.history}
        }
        return self.json(data, 201, caller.headers)

    def _is_duplicate(
        self, user_id: str, text: str, now: float, besides: Sequence[str] = ()
    ) -> bool:
        """``text`` repeats a post ``user_id`` made within the duplicate window (the
        versions ``besides``, an edit's own chain, aside)."""
        return any(
            not p.deleted and p.id not in besides and now - p.created_at < self.duplicate_window
            for p in self._same_text(user_id, text.strip())
        )

    def _same_text(self, user_id: str, stripped: str) -> list[XPost]:
        """The posts of ``user_id`` whose text is ``stripped`` once stripped (deleted ones
        too), in the order they were made: the index takes in the posts made since the
        last read, as `_mentioning` does, and all again after a text was set."""
        return self._texts.over(self._posts).get((user_id, stripped), [])

    def _tweet_count(self, user_id: str) -> int:
        """How many posts of ``user_id`` are not deleted (every version of an edited one
        counts): counted over the posts made since the last read, and over all again after
        a post's ``deleted`` was set."""
        return self._live.over(self._posts)[user_id]

    @route("DELETE", r"/2/tweets/(?P<post_id>[^/]+)")
    def _delete(self, request: httpx.Request, post_id: str) -> httpx.Response:
        caller = self._begin(request, "DELETE /2/tweets/:id")
        if not _POST_ID.fullmatch(post_id):
            return self._invalid_parameter(
                "id",
                [post_id],
                _not_an_id("id", post_id),
                caller.headers,
            )
        post = self._posts.get(post_id)
        if post is None or post.deleted:
            return self.json({"data": {"deleted": False}}, 200, caller.headers)
        if post.author_id != caller.user.id:
            return self.problem(
                403,
                "Forbidden",
                "You are not allowed to delete a Tweet you do not own.",
                headers=caller.headers,
            )
        # Deleting any version deletes the whole edit chain (docs.x.com edit-posts).
        for version in post.history:
            self._posts[version].deleted = True
        return self.json({"data": {"deleted": True}}, 200, caller.headers)

    # -- lookups and metrics -------------------------------------------------------------

    def _engagement(self, post: XPost, now: float) -> dict[str, int]:
        minutes = max(0.0, now - post.created_at) / 60
        seed = int(post.id) % 97
        impressions = int(minutes * (4 + seed % 5))
        out = {
            "impression_count": impressions,
            "like_count": impressions // 25,
            "retweet_count": impressions // 120,
            "reply_count": impressions // 200,
            "quote_count": impressions // 500,
            "bookmark_count": impressions // 300,
            "url_link_clicks": impressions // 60,
            "user_profile_clicks": impressions // 90,
            "view_count": impressions // 3,
        }
        for key, value in post.extra.items():
            out[key] = out.get(key, 0) + value
        out["engagements"] = sum(
            out[k]
            for k in (
                "like_count",
                "retweet_count",
                "reply_count",
                "quote_count",
                "bookmark_count",
                "url_link_clicks",
                "user_profile_clicks",
            )
        )
        return out

    def _post_json(
        self, post: XPost, fields: Sequence[str], now: float, expansions: Sequence[str] = ()
    ) -> dict[str, Any]:
        """A post as X sends it, with the ``tweet.fields`` asked for and the fields each of
        the ``expansions`` expands (docs.x.com fundamentals/expansions: ``expansions=author_id``
        alone puts ``author_id`` in the post, so a client can link it to ``includes``)."""
        implied = [_EXPANDED_FIELD[e] for e in expansions if e in _EXPANDED_FIELD]
        if implied:
            fields = list(dict.fromkeys([*fields, *implied]))
        out: dict[str, Any] = {
            "id": post.id,
            "text": post.display_text,
            "edit_history_tweet_ids": post.history,
        }
        metrics: dict[str, int] | None = None  # made only for a metrics field asked for
        for field in fields:
            if field == "created_at":
                out["created_at"] = _iso(post.created_at)
            elif field == "author_id":
                out["author_id"] = post.author_id
            elif field == "conversation_id":
                out["conversation_id"] = post.conversation_id
            elif field == "in_reply_to_user_id" and post.in_reply_to:
                parent = self._posts.get(post.in_reply_to)
                if parent is not None:
                    out["in_reply_to_user_id"] = parent.author_id
            elif field == "referenced_tweets":
                refs = []
                if post.in_reply_to:
                    refs.append({"type": "replied_to", "id": post.in_reply_to})
                if post.quote_tweet_id:
                    refs.append({"type": "quoted", "id": post.quote_tweet_id})
                if refs:
                    out["referenced_tweets"] = refs
            elif field == "attachments" and (post.media_keys or post.poll_id):
                # media and poll are mutually exclusive: at most one of them.
                if post.media_keys:
                    out["attachments"] = {"media_keys": list(post.media_keys)}
                else:
                    out["attachments"] = {"poll_ids": [post.poll_id]}
            elif field == "entities" and (post.urls or _MENTION.search(post.display_text)):
                entities: dict[str, Any] = {}
                if post.urls:
                    entities["urls"] = [dict(u) for u in post.urls]
                mentions = self._mention_entities(post.display_text)
                if mentions:
                    entities["mentions"] = mentions
                out["entities"] = entities
            elif field == "lang" and post.lang:
                out["lang"] = post.lang
            elif field == "edit_controls":
                out["edit_controls"] = self._edit_controls(post, now)
            elif field == "reply_settings":
                out["reply_settings"] = post.reply_settings or "everyone"
            elif field in _METRIC_FIELDS:
                if metrics is None:
                    metrics = self._engagement(post, now)
                out[field] = {k: metrics[k] for k in _METRIC_FIELDS[field]}
        return out

    def _edit_controls(self, post: XPost, now: float) -> dict[str, Any]:
        """``edit_controls``: whether it could be edited when made, until when, how many
        edits are left."""
        history = post.history
        original = self._posts.get(history[0], post)
        parent = self._posts.get(post.in_reply_to) if post.in_reply_to else None
        eligible = post.poll is None and (parent is None or parent.author_id == post.author_id)
        until = original.created_at + EDIT_WINDOW.total_seconds()
        left = EDIT_LIMIT - (len(history) - 1) if eligible and now < until else 0
        return {
            "is_edit_eligible": eligible,
            "editable_until": _iso(until),
            "edits_remaining": max(0, left),
        }

    def _media_json(
        self, key: str, fields: Sequence[str], post: XPost, now: float
    ) -> dict[str, Any] | None:
        media = self._media_by_key(key)
        if media is None:
            return None
        kind = {"image": "photo", "gif": "animated_gif", "video": "video"}[media.kind]
        out: dict[str, Any] = {"media_key": key, "type": kind}
        if "alt_text" in fields and media.alt_text:
            out["alt_text"] = media.alt_text
        if "public_metrics" in fields and media.kind in ("video", "gif"):
            out["public_metrics"] = {"view_count": self._engagement(post, now)["view_count"]}
        return out

    def _poll_json(self, post: XPost, fields: Sequence[str], now: float) -> dict[str, Any] | None:
        """The post's poll as X's Poll object: ``id`` and ``options`` always, the other
        ``poll.fields`` when asked for, in the order of X's answers (docs.x.com
        data-dictionary poll); ``None`` when it has none."""
        if post.poll is None or post.poll_id is None:
            return None
        minutes = int(post.poll["duration_minutes"])
        end = post.created_at + minutes * 60
        out: dict[str, Any] = {"id": post.poll_id}
        if "voting_status" in fields:
            out["voting_status"] = "open" if now < end else "closed"
        if "duration_minutes" in fields:
            out["duration_minutes"] = minutes
        out["options"] = [
            {"position": n, "label": label, "votes": 0}
            for n, label in enumerate(post.poll["options"], 1)
        ]
        if "end_datetime" in fields:
            out["end_datetime"] = _iso(end)
        return out

    def _media_by_key(self, key: str) -> XMedia | None:
        """The first upload of `media` whose ``media_key`` is ``key``, as a scan of it finds
        it. Uploads added are taken in as they come (in order); a key set, or an upload
        replaced or taken away (a test's changes), makes the index again."""
        return self._media_index.over(self.media).get(key)

    def _lookup(
        self, caller: _Caller, request: httpx.Request, ids: Sequence[str]
    ) -> dict[str, Any]:
        """The answer to a lookup of the posts ``ids`` with the request's fields.

        Raises:
            Refusal: X's 400 for a field or expansion it does not know.
        """
        parsed = {}
        for name, allowed in (
            ("tweet.fields", TWEET_FIELDS),
            ("expansions", TWEET_EXPANSIONS),
            ("media.fields", MEDIA_FIELDS),
            ("poll.fields", POLL_FIELDS),
            ("user.fields", USER_FIELDS),
        ):
            values = self._fields(request, name, allowed)
            if isinstance(values, str):
                raise Refusal.answering(self.invalid([values], caller.headers))
            parsed[name] = values
        fields = parsed["tweet.fields"]
        private = [f for f in fields if f in _PRIVATE_FIELDS]
        now = self.clock.time()
        data: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        media: list[dict[str, Any]] = []
        found: list[XPost] = []
        for pid in ids:
            post = self._posts.get(pid)
            if post is None or post.deleted:
                errors.append(
                    {
                        "value": pid,
                        "detail": f"Could not find tweet with ids: [{pid}].",
                        "title": "Not Found Error",
                        "resource_type": "tweet",
                        "parameter": "ids",
                        "resource_id": pid,
                        "type": PROBLEMS + "resource-not-found",
                    }
                )
                continue
            too_old = now - post.created_at >= 30 * 86_400
            if private and (post.author_id != caller.user.id or too_old):
                # X drops the post from data when a requested private field is refused.
                for field in private:
                    errors.append(
                        {
                            "value": pid,
                            "detail": f"Sorry, you are not authorized to access '{field}' on the "
                            f"Tweet with ids : [{pid}].",
                            "title": "Field Authorization Error",
                            "resource_type": "tweet",
                            "field": field,
                            "parameter": "ids",
                            "resource_id": pid,
                            "section": "data",
                            "type": PROBLEMS + "not-authorized-for-field",
                        }
                    )
                continue
            data.append(self._post_json(post, fields, now, parsed["expansions"]))
            found.append(post)
            if "attachments.media_keys" in parsed["expansions"]:
                for key in post.media_keys:
                    item = self._media_json(key, parsed["media.fields"], post, now)
                    if item is not None:
                        media.append(item)
        out: dict[str, Any] = {}
        if data:
            out["data"] = data
        includes = self._includes(found, parsed["expansions"], fields, parsed["user.fields"], now)
        if media:
            includes["media"] = media
        self._include_polls(includes, found, parsed, now)
        if includes:
            out["includes"] = includes
        if errors:
            out["errors"] = errors
        return out

    @route("GET", r"/2/tweets")
    def _tweets(self, request: httpx.Request) -> httpx.Response:
        caller = self._begin(request, "GET /2/tweets")
        raw = request.url.params.get("ids")
        ids = [i for i in (raw or "").split(",") if i]
        if not 1 <= len(ids) <= 100:
            return self._invalid_parameter(
                "ids",
                ids,
                "The number of values in the `ids` query parameter list "
                f"[{len(ids)}] is not between 1 and 100",
                caller.headers,
            )
        bad = [i for i in ids if not _POST_ID.fullmatch(i)]
        if bad:
            return self.invalid(
                [_not_an_id("ids", bad[0])],
                caller.headers,
            )
        out = self._lookup(caller, request, ids)
        return self.json(out, 200, caller.headers)

    @route("GET", r"/2/tweets/(?P<post_id>[0-9]+)")
    def _tweet(self, request: httpx.Request, post_id: str) -> httpx.Response:
        caller = self._begin(request, "GET /2/tweets/:id")
        out = self._lookup(caller, request, [post_id])
        if "data" in out:
            out["data"] = out["data"][0]
        return self.json(out, 200, caller.headers)

    @route("GET", r"/2/users/(?P<user_id>[0-9]+)/tweets")
    def _timeline(self, request: httpx.Request, user_id: str) -> httpx.Response:
        caller = self._begin(request, "GET /2/users/:id/tweets")
        exclude = [e for e in (request.url.params.get("exclude") or "").split(",") if e]
        # The same fields, expansions and paging as the mentions timeline (X validates and
        # answers them alike), plus ``exclude``.
        parsed = self._page_params(
            request,
            caller,
            low=5,
            default=10,
            tokens=("pagination_token",),
            previous=True,
            problems=[
                f"The `exclude` query parameter value [{e}] is not one of [replies,retweets]"
                for e in exclude
                if e not in ("replies", "retweets")
            ],
        )
        if user_id not in self.users:
            return self._user_not_found(user_id, caller)
        posts = [
            p
            for p in self._links().by_author.get(user_id, ())
            if not p.deleted
            and not p.superseded
            and not ("replies" in exclude and p.in_reply_to)
            and self._in_window(p, parsed)
        ]
        posts.sort(key=lambda p: int(p.id), reverse=True)
        return self.json(self._conversation_json(posts, parsed, previous=True), 200, caller.headers)

    # -- conversations -------------------------------------------------------------------

    @staticmethod
    def _mention_entities(text: str) -> list[dict[str, Any]]:
        return [
            {"start": m.start(), "end": m.end(), "username": m.group(1)}
            for m in _MENTION.finditer(text)
        ]

    def _mentioning(self, user: XUser) -> list[tuple[int, XPost]]:
        """The posts whose text names ``user`` (deleted and superseded ones too), each
        after its id negated, in the order they were made.

        Posts are only ever added to ``_posts``, and a text is set when its post is made
        (an edit is a new post), so the index takes in the posts made since the last read;
        a text set later (a test's) makes it read them all again."""
        return self._mention_index.over(self._posts).get(user.username.lower(), [])

    def _reply_handles(self, parent: XPost, author: XUser, text: str) -> str:
        """The @handles X's clients put before a reply: the parent's author, then those the
        parent itself put first; the replier and handles the text already starts with are
        left out (docs.x.com ``fundamentals/conversation-id`` shows such replies)."""
        names: list[str] = []
        parent_author = self.users.get(parent.author_id)
        if parent_author is not None:
            names.append(parent_author.username)
        lead = _LEADING_HANDLES.match(parent.text)
        if lead:
            names += [m.group(1) for m in _MENTION.finditer(lead.group(0))]
        typed = _LEADING_HANDLES.match(text)
        have = {m.group(1).lower() for m in _MENTION.finditer(typed.group(0))} if typed else set()
        have.add(author.username.lower())
        out: list[str] = []
        for name in names:
            if name.lower() not in have:
                have.add(name.lower())
                out.append(f"@{name} ")
        return "".join(out)

    def _page_params(
        self,
        request: httpx.Request,
        caller: _Caller,
        *,
        low: int,
        default: int,
        tokens: Sequence[str],
        previous: bool = False,
        problems: Sequence[str] = (),
    ) -> dict[str, Any]:
        """The paging and field parameters of a timeline or search read (``previous``: the
        endpoint sends ``previous_token``, so it takes one back); ``problems`` are the
        endpoint's own parameters' faults, answered in the same 400.

        Raises:
            Refusal: X's 400 naming every parameter that breaks a rule.
        """
        params = request.url.params
        out: dict[str, Any] = {}
        messages: list[str] = []
        for name, allowed in (
            ("tweet.fields", TWEET_FIELDS),
            ("expansions", TWEET_EXPANSIONS),
            ("media.fields", MEDIA_FIELDS),
            ("poll.fields", POLL_FIELDS),
            ("user.fields", USER_FIELDS),
        ):
            values = self._fields(request, name, allowed)
            if isinstance(values, str):
                messages.append(values)
            else:
                out[name] = values
        try:
            limit = int(params.get("max_results", str(default)))
        except ValueError:
            limit = -1
        if not low <= limit <= 100:
            messages.append(
                f"The `max_results` query parameter value [{params.get('max_results')}] is "
                f"not between {low} and 100"
            )
        out["limit"] = limit
        for name in ("since_id", "until_id"):
            value = params.get(name)
            if value is not None and not _POST_ID.fullmatch(value):
                messages.append(_not_an_id(name, value))
            out[name] = int(value) if value is not None and value.isdigit() else None
        for name in ("start_time", "end_time"):
            if name in params:
                try:
                    out[name] = datetime.fromisoformat(params[name].replace("Z", "+00:00"))
                except ValueError:
                    messages.append(
                        f"Invalid '{name}':'{params[name]}'. '{name}' must be a RFC 3339 date-time"
                    )
        out["before"] = out["after"] = None
        for name in tokens:
            token = params.get(name)
            if token is None:
                continue
            read = _read_token(token, previous)
            if read is None:
                messages.append(f"The `{name}` query parameter value [{token}] is not valid")
            else:
                out["before"], out["after"] = read
        out["token"] = any(params.get(name) is not None for name in tokens)
        messages += problems
        if messages:
            raise Refusal.answering(self.invalid(messages, caller.headers))
        return out

    def _conversation_json(
        self,
        posts: Sequence[XPost],
        parsed: Mapping[str, Any],
        *,
        previous: bool,
        negated: Sequence[int] | None = None,
    ) -> dict[str, Any]:
        """The page of ``posts`` (newest first, the read's whole window) its token names, as
        X sends it: ``data``, ``includes`` for the expansions asked for, and ``meta``
        (``result_count``, ``newest_id``, ``oldest_id``, ``next_token`` while older posts
        are left, ``previous_token`` when ``previous`` and the read came with a token).
        ``negated``: the posts' ids negated, when the caller has them (see `_token_page`)."""
        now = self.clock.time()
        fields = parsed["tweet.fields"]
        expansions = parsed["expansions"]
        page, meta = _token_page(posts, parsed, previous=previous, negated=negated)
        body: dict[str, Any] = {}
        if page:
            body["data"] = [self._post_json(p, fields, now, expansions) for p in page]
            includes = self._includes(page, expansions, fields, parsed["user.fields"], now)
            if "attachments.media_keys" in expansions:
                # As the post lookups answer it: each post's media, with media.fields.
                media = [
                    item
                    for p in page
                    for key in p.media_keys
                    if (item := self._media_json(key, parsed["media.fields"], p, now)) is not None
                ]
                if media:
                    includes["media"] = media
            self._include_polls(includes, page, parsed, now)
            if includes:
                body["includes"] = includes
        body["meta"] = meta
        return body

    def _include_polls(
        self,
        includes: dict[str, Any],
        posts: Sequence[XPost],
        parsed: Mapping[str, Any],
        now: float,
    ) -> None:
        """Put the polls of ``posts`` in ``includes`` when ``attachments.poll_ids`` is
        expanded, with the ``poll.fields`` asked for."""
        if "attachments.poll_ids" not in parsed["expansions"]:
            return
        polls = [
            poll
            for post in posts
            if (poll := self._poll_json(post, parsed["poll.fields"], now)) is not None
        ]
        if polls:
            includes["polls"] = polls

    def _includes(
        self,
        page: Sequence[XPost],
        expansions: Sequence[str],
        fields: Sequence[str],
        user_fields: Sequence[str],
        now: float,
    ) -> dict[str, Any]:
        """The ``includes`` users and tweets that ``expansions`` of the posts ``page`` ask
        for (each once, in the order first met)."""
        users: dict[str, XUser] = {}
        tweets: dict[str, XPost] = {}

        def add_user(user_id: str | None) -> None:
            if user_id is not None and user_id in self.users:
                users.setdefault(user_id, self.users[user_id])

        for post in page:
            if "author_id" in expansions:
                add_user(post.author_id)
            refs = [r for r in (post.in_reply_to, post.quote_tweet_id) if r]
            for ref in refs:
                referenced = self._posts.get(ref)
                if referenced is None or referenced.deleted:
                    continue
                if "referenced_tweets.id" in expansions:
                    tweets.setdefault(ref, referenced)
                if "referenced_tweets.id.author_id" in expansions:
                    add_user(referenced.author_id)
                if "in_reply_to_user_id" in expansions and ref == post.in_reply_to:
                    add_user(referenced.author_id)
            if "entities.mentions.username" in expansions:
                for m in _MENTION.finditer(post.display_text):
                    found = self._user_named(m[1])
                    if found is not None:
                        add_user(found.id)
        includes: dict[str, Any] = {}
        if users:
            includes["users"] = [self._user_json(u, user_fields) for u in users.values()]
        if tweets:
            includes["tweets"] = [self._post_json(t, fields, now) for t in tweets.values()]
        return includes

    @staticmethod
    def _in_window(post: XPost, parsed: Mapping[str, Any]) -> bool:
        pid = int(post.id)
        if parsed["since_id"] is not None and pid <= parsed["since_id"]:
            return False
        if parsed["until_id"] is not None and pid >= parsed["until_id"]:
            return False
        start, end = parsed.get("start_time"), parsed.get("end_time")
        if start is not None and post.created_at < start.timestamp():
            return False
        return end is None or post.created_at < end.timestamp()

    def _user_not_found(self, user_id: str, caller: _Caller) -> httpx.Response:
        return self.json(
            {
                "errors": [
                    {
                        "value": user_id,
                        "detail": f"Could not find user with id: [{user_id}].",
                        "title": "Not Found Error",
                        "resource_type": "user",
                        "parameter": "id",
                        "resource_id": user_id,
                        "type": PROBLEMS + "resource-not-found",
                    }
                ]
            },
            200,
            caller.headers,
        )

    @route("GET", r"/2/users/(?P<user_id>[0-9]+)/mentions")
    def _mentions(self, request: httpx.Request, user_id: str) -> httpx.Response:
        caller = self._begin(request, "GET /2/users/:id/mentions")
        parsed = self._page_params(
            request, caller, low=5, default=10, tokens=("pagination_token",), previous=True
        )
        user = self.users.get(user_id)
        if user is None:
            return self._user_not_found(user_id, caller)
        # Newest first (by negated id): since_id and until_id are found by bisection, and
        # so are the pagination token's bounds (`_token_page`), not by reading every post.
        ranked = sorted(
            (
                item
                for item in self._mentioning(user)
                if not item[1].deleted and not item[1].superseded
            ),
            key=_NEGATED_ID,
        )[:MENTIONS_REACH]
        low, high = 0, len(ranked)
        if parsed["until_id"] is not None:
            low = bisect.bisect_right(ranked, -parsed["until_id"], key=_NEGATED_ID)
        if parsed["since_id"] is not None:
            high = max(low, bisect.bisect_left(ranked, -parsed["since_id"], key=_NEGATED_ID))
        window = ranked[low:high]
        if "start_time" in parsed or "end_time" in parsed:
            window = [item for item in window if self._in_window(item[1], parsed)]
        body = self._conversation_json(
            [p for _, p in window], parsed, previous=True, negated=[k for k, _ in window]
        )
        return self.json(body, 200, caller.headers)

    def _query(self, query: str) -> tuple[_Check, _Narrow] | str:
        """A predicate for the recent-search ``query``, or X's message for a query it
        refuses. X's grammar (docs.x.com build-a-query): terms side by side are ANDed, ``OR``
        between them (AND binds first), ``( )`` groups, ``-`` negates a term, a phrase or a
        group; ``"exact phrase"`` with ``\\"`` for a quote inside; keywords match whole
        words, case-insensitively (tokenized: ``brand-kit`` is ``brand`` then ``kit``);
        ``#tag``, ``@handle``, ``from:``, ``to:``, ``conversation_id:``, ``lang:``,
        ``is:reply|quote|retweet|verified`` and ``has:mentions|hashtags|links|media``. At
        least one term must be a standalone one (not ``lang:``, ``is:``, ``has:``) and not
        negated, as X requires. With the predicate come the posts it can match, when an
        index has them (see `_Narrow`)."""
        try:
            tokens = _tokens(query)
            parser = _Parser(tokens, self._term)
            plan = parser.expression()
            if parser.pos != len(tokens):
                raise _QueryError(f"unexpected `{tokens[parser.pos][1]}`")
        except _QueryError as error:
            return f"There were errors processing your request: {error}"
        if not parser.standalone:
            return (
                "There were errors processing your request: a query needs at least one "
                "standalone operator (a keyword, phrase, #hashtag, @mention, from:, to: or "
                "conversation_id:) that is not negated"
            )
        return plan

    def _term(self, kind: str, value: str) -> tuple[_Check, bool, _Narrow]:
        """The check of one term, whether it is a standalone operator, and the posts it
        can match when an index has them."""
        if kind == "phrase":
            return (
                functools.partial(_says, words=_tokenized(value), raw=value.casefold()),
                True,
                None,
            )
        if value.startswith("#") and len(value) > 1:
            return functools.partial(_tagged, tag=value[1:].casefold()), True, None
        if value.startswith("@") and len(value) > 1:
            handle = value[1:].lower()
            return (
                functools.partial(_names, handle=handle),
                True,
                functools.partial(self._naming, handle),
            )
        op, sep, arg = value.partition(":")
        if sep and arg and re.fullmatch(r"[a-z_]+", op):
            check = self._operator(op, arg)
            if isinstance(check, str):
                raise _QueryError(check.removeprefix("There were errors processing your request: "))
            return check, op in ("from", "to", "conversation_id"), self._operated(op, arg)
        says = functools.partial(_says, words=_tokenized(value), raw=value.casefold())
        return says, True, None

    def _naming(self, handle: str) -> list[XPost]:
        """The posts whose text names @``handle`` (lowercase), as `_names` finds them."""
        index = self._mention_index.over(self._posts)
        return [post for _, post in index.get(handle, ())]

    def _operated(self, op: str, value: str) -> _Narrow:
        """The posts the valid operator ``op:value`` can match, when an index has them:
        ``from:`` an author's, ``to:`` the replies to an author's, ``is:`` the replies, the
        quotes or none (see `_operator`)."""
        if op == "from":
            return functools.partial(self._authored, value)
        if op == "to":
            return functools.partial(self._answering, value)
        if op == "is" and value == "reply":
            return lambda: self._links().replying
        if op == "is" and value == "quote":
            return lambda: self._links().quoting
        if op == "is":
            return lambda: ()
        return None

    def _authored(self, value: str) -> list[XPost]:
        """The posts of the users named ``value`` and of the user whose id it is."""
        by_author = self._links().by_author
        ids = {user.id for user in self._users_named(value)} | {value}
        return [post for author_id in ids for post in by_author.get(author_id, ())]

    def _answering(self, value: str) -> list[XPost]:
        """The replies to a post of a user named ``value``."""
        links = self._links()
        return [
            reply
            for user in self._users_named(value)
            for post in links.by_author.get(user.id, ())
            for reply in links.replies.get(post.id, ())
        ]

    def _operator(self, op: str, value: str) -> Callable[[XPost], bool] | str:
        def author(post: XPost) -> str:
            user = self.users.get(post.author_id)
            return user.username.lower() if user is not None else ""

        def replied_author(post: XPost) -> str:
            parent = self._posts.get(post.in_reply_to or "")
            return author(parent) if parent is not None else ""

        if op == "conversation_id" and value.isdigit():
            # The replies of the conversation; the post that started it is not among them.
            return lambda p: p.conversation_id == value and p.id != value
        if op == "from":
            return lambda p: author(p) == value.lower() or p.author_id == value
        if op == "to":
            return lambda p: replied_author(p) == value.lower()
        if op == "lang" and re.fullmatch(r"[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*", value):
            # Posts the emulator holds no language for are the ones X could not classify.
            return lambda p: (p.lang or "").lower() == value.lower()
        if op == "is" and value in ("reply", "quote", "retweet", "verified"):
            if value == "reply":
                return lambda p: p.in_reply_to is not None
            if value == "quote":
                return lambda p: p.quote_tweet_id is not None
            return lambda p: False  # the emulator holds no reposts and no verified users
        if op == "has" and value in ("mentions", "hashtags", "links", "media"):
            if value == "mentions":
                return lambda p: _MENTION.search(p.display_text) is not None
            if value == "hashtags":
                return lambda p: _HASHTAG.search(p.display_text) is not None
            if value == "links":
                return lambda p: bool(p.urls) or bool(p.media_keys)
            return lambda p: bool(p.media_keys)
        return (
            "There were errors processing your request: Reference to invalid operator "
            f"'{op}:{value}'"
        )

    @route("GET", r"/2/tweets/search/recent")
    def _search(self, request: httpx.Request) -> httpx.Response:
        caller = self._begin(request, "GET /2/tweets/search/recent")
        parsed = self._page_params(
            request, caller, low=10, default=10, tokens=("next_token", "pagination_token")
        )
        query = request.url.params.get("query")
        if not query:
            return self.invalid(["The `query` query parameter can not be empty"], caller.headers)
        if len(query) > 512:
            return self.invalid(
                [f"The `query` query parameter value is {len(query)} characters, over 512"],
                caller.headers,
            )
        plan = self._query(query)
        if isinstance(plan, str):
            return self.invalid([plan], caller.headers)
        match, narrow = plan
        now = self.clock.time()
        oldest = now - SEARCH_WINDOW
        refused = self._search_times(parsed, now, oldest)
        if refused:
            return self.invalid(refused, caller.headers)
        capped = self._usage_capped(caller)
        if capped is not None:
            return capped
        # since_id wins over start_time, until_id over end_time (docs.x.com search recent).
        window = dict(parsed)
        if window["since_id"] is not None:
            window["start_time"] = None
        if window["until_id"] is not None:
            window["end_time"] = None
        posts = sorted(
            (
                p
                for p in (self._posts.values() if narrow is None else narrow())
                if not p.deleted
                and not p.superseded
                and p.created_at >= oldest
                and self._in_window(p, window)
                and match(p)
            ),
            key=lambda p: int(p.id),
            reverse=True,
        )
        # Get2TweetsSearchRecentResponse's meta has no previous_token.
        body = self._conversation_json(posts, parsed, previous=False)
        self._count_reads(len(body.get("data", [])), now)
        return self.json(body, 200, caller.headers)

    def _search_times(self, parsed: Mapping[str, Any], now: float, oldest: float) -> list[str]:
        """X's 400 messages for times outside recent search's window."""
        out: list[str] = []
        start, end = parsed.get("start_time"), parsed.get("end_time")
        if start is not None and start.timestamp() < oldest:
            out.append(
                f"Invalid 'start_time':'{_iso(start.timestamp())}'. 'start_time' must be on "
                f"or after {_iso(oldest)}"
            )
        if end is not None and end.timestamp() > now - 10:
            out.append(
                f"Invalid 'end_time':'{_iso(end.timestamp())}'. 'end_time' must be a minimum "
                "of 10 seconds prior to the request time."
            )
        if start is not None and end is not None and start >= end:
            out.append("'start_time' must be before 'end_time'")
        since = parsed.get("since_id")
        if since is not None and since:
            made = ((since >> 22) + SNOWFLAKE_EPOCH_MS) / 1000
            if made < oldest:
                out.append(
                    f"Invalid 'since_id':'{since}'. 'since_id' must be a tweet id created "
                    f"after {_iso(oldest)}. Please use a 'since_id' that is larger than "
                    f"{self._id_at(oldest)}"
                )
        return out

    def _id_at(self, at: float) -> int:
        return (int(at * 1000) - SNOWFLAKE_EPOCH_MS) << 22

    def _usage_period(self, now: float) -> str:
        day = datetime.fromtimestamp(now, UTC)
        return day.strftime("%Y-%m-%d" if self.usage_cap_period == "Daily" else "%Y-%m")

    def _usage_capped(self, caller: _Caller) -> httpx.Response | None:
        """X's 429 when the project's posts-read cap for the period is spent (its body as X
        sends it: xdevplatform/xdk#25); the rate-limit headers still say what they say."""
        if self.usage_cap is None:
            return None
        period = self._usage_period(self.clock.time())
        if self._reads.get(period, 0) < self.usage_cap:
            return None
        body = {
            "account_id": caller.user.id,
            "product_name": "standard-basic",
            "title": "UsageCapExceeded",
            "period": self.usage_cap_period,
            "scope": "Product",
            "detail": f"Usage cap exceeded: {self.usage_cap_period} product cap",
            "type": PROBLEMS + "usage-capped",
        }
        return self._problem_json(body, 429, caller.headers)

    def _count_reads(self, count: int, now: float) -> None:
        period = self._usage_period(now)
        self._reads[period] = self._reads.get(period, 0) + count
        self.posts_read += count

    @route("PUT", r"/2/tweets/(?P<post_id>[^/]+)/hidden")
    def _hide(self, request: httpx.Request, post_id: str) -> httpx.Response:
        caller = self._begin(request, "PUT /2/tweets/:id/hidden")
        body = self._schema_body(request, HIDE_SCHEMA, caller)
        post = self._posts.get(post_id) if _POST_ID.fullmatch(post_id) else None
        if post is None or post.deleted:
            return self.problem(
                404,
                "Not Found Error",
                f"Could not find tweet with id: [{post_id}].",
                "resource-not-found",
                headers=caller.headers,
            )
        root = self._posts.get(post.conversation_id)
        if post.in_reply_to is None or root is None or root.author_id != caller.user.id:
            return self.problem(
                403,
                "Forbidden",
                "You can only hide or unhide replies to conversations you started.",
                headers=caller.headers,
            )
        hidden = body["hidden"]
        count = self._hidden_in(post.conversation_id)
        if hidden and not post.hidden and count >= HIDDEN_PER_CONVERSATION:
            return self.problem(
                403,
                "Forbidden",
                f"A conversation can have at most {HIDDEN_PER_CONVERSATION} hidden replies.",
                headers=caller.headers,
            )
        was = post.hidden
        post.hidden = hidden
        if self._hidden.seen == (len(self._posts), XPost.hidings - 1):
            # The count was current before this change, which alone moved it.
            self._hidden.value[post.conversation_id] += hidden - was
            self._hidden.seen = (len(self._posts), XPost.hidings)
        return self.json({"data": {"hidden": hidden}}, 200, caller.headers)

    def _hidden_in(self, conversation_id: str) -> int:
        """How many posts of the conversation are hidden (deleted ones too): counted over
        the posts made since the last read, and over all again after a post's ``hidden``
        or ``conversation_id`` was set other than by `_hide`."""
        return self._hidden.over(self._posts)[conversation_id]

    @route("POST", r"/2/users/(?P<user_id>[^/]+)/likes")
    def _like(self, request: httpx.Request, user_id: str) -> httpx.Response:
        caller = self._begin(request, "POST /2/users/:id/likes")
        body = self._schema_body(request, LIKE_SCHEMA, caller)
        if user_id != caller.user.id:
            return self.problem(
                403,
                "Forbidden",
                "You are not permitted to perform this action.",
                headers=caller.headers,
            )
        post = self._posts.get(body["tweet_id"])
        if post is None or post.deleted:
            return self.problem(
                404,
                "Not Found Error",
                f"Could not find tweet with id: [{body['tweet_id']}].",
                "resource-not-found",
                headers=caller.headers,
            )
        key = (caller.user.id, post.id)
        if key not in self._likes:
            self._likes.add(key)
            post.extra["like_count"] = post.extra.get("like_count", 0) + 1
        return self.json({"data": {"liked": True}}, 200, caller.headers)

    @route("DELETE", r"/2/users/(?P<user_id>[^/]+)/likes/(?P<post_id>[^/]+)")
    def _unlike(self, request: httpx.Request, user_id: str, post_id: str) -> httpx.Response:
        # docs.x.com (delete-users-id-likes-tweet_id): "succeeds with no action" when the
        # user does not like the post (any more); the path's user must be the caller.
        caller = self._begin(request, "DELETE /2/users/:id/likes/:tweet_id")
        if user_id != caller.user.id:
            return self.problem(
                403,
                "Forbidden",
                "You are not permitted to perform this action.",
                headers=caller.headers,
            )
        key = (caller.user.id, post_id)
        if key in self._likes:
            self._likes.discard(key)
            post = self._posts.get(post_id)
            if post is not None:
                post.extra["like_count"] = max(0, post.extra.get("like_count", 0) - 1)
        return self.json({"data": {"liked": False}}, 200, caller.headers)

    # -- the audience --------------------------------------------------------------------

    def audience_write(
        self,
        member: Audience,
        kind: str,
        text: str,
        *,
        target: str | None = None,
        lang: str | None = None,
    ) -> str:
        """Post what ``member`` (an X user of that username) writes and return the post id.

        A reply starts with the @handles X's clients put first (the parent's author and
        the handles the parent started with), so it is in the mentions timeline of everyone
        it names; a mention names the newest account made with `account` unless ``text``
        names one already; a quote quotes ``target`` and names no one unless ``text`` does
        (X then keeps it out of the quoted author's mentions).

        Raises:
            NotImplementedError: ``kind`` is ``"comment"`` (X has replies, not comments).
            KeyError: ``target`` is not a post that exists.
            ValueError: a mention before any account was made.
        """
        if kind == "comment":
            raise NotImplementedError(
                "X has no comments: answer a post with fan.reply(post_id, text)"
            )
        if kind not in ("reply", "mention", "quote", "post"):
            raise ValueError(f"unknown kind of message {kind!r}")
        with self.lock:
            user = self.user(member.name)
            self._fans.add(user.id)
            now = self.clock.time()
            if kind in ("reply", "quote"):
                parent = self._posts.get(str(target))
                if parent is None or parent.deleted:
                    raise KeyError(f"no post {target!r} on the X emulator")
                if kind == "reply":
                    text = self._reply_handles(parent, user, text) + text
                    post = self._store(user, text, created_at=now, in_reply_to=parent.id, lang=lang)
                else:
                    post = self._store(user, text, created_at=now, quote=parent.id, lang=lang)
                return post.id
            if kind == "mention":
                if not self._brands:
                    raise ValueError("make an account (emu.account()) before fans mention it")
                names = {self.users[b].username.lower() for b in self._brands}
                if not any(m[1].lower() in names for m in _MENTION.finditer(text)):
                    text = f"@{self.users[self._brands[-1]].username} {text}"
            return self._store(user, text, created_at=now, lang=lang).id

    def edit(self, post_id: str, text: str) -> str:
        """Edit a post as X does, and return the new version's id. Each edit is a new post
        made now, with a new id; every version's ``edit_history_tweet_ids`` lists the
        chain, the original first; timelines and search give only the newest version, a
        lookup by an older id that version (docs.x.com fundamentals/edit-posts). ``text``
        is the new text as typed: a reply gets its @handles again, a mention keeps only
        the names it has (one that names the brand no more leaves its mentions). The
        API's edit (``POST /2/tweets`` with ``edit_options``) makes its versions alike.

        Raises:
            KeyError: no such post, or it was deleted, or its author is no longer in
                `users`.
            ValueError: X would not let it be edited: an older version (edit the newest),
                a reply to someone else's post (only self-threads are editable), a post
                with a poll, over `EDIT_WINDOW` after the original or edited `EDIT_LIMIT`
                times already.
        """
        with self.lock:
            post = self._posts.get(str(post_id))
            if post is None or post.deleted:
                raise KeyError(f"no post {post_id!r} on the X emulator")
            now = self.clock.time()
            refused = self._uneditable(post, now)
            if refused is not None:
                raise ValueError(refused)
            user = self.users.get(post.author_id)
            if user is None:
                raise KeyError(
                    f"post {post_id!r}'s author {post.author_id!r} is not in emu.users: "
                    "a user taken out of it can no longer edit"
                )
            parent = self._posts.get(post.in_reply_to) if post.in_reply_to else None
            if parent is not None:
                text = self._reply_handles(parent, user, text) + text
            return self._new_version(post, user, text, now, media_keys=post.media_keys).id

    def _uneditable(self, post: XPost, now: float) -> str | None:
        """Why X would not let ``post`` be edited at ``now`` (docs.x.com
        fundamentals/edit-posts); ``None`` when it would."""
        chain = post.history
        if chain[-1] != post.id:
            return f"post {post.id} has a newer version, {chain[-1]}: edit that"
        parent = self._posts.get(post.in_reply_to) if post.in_reply_to else None
        if parent is not None and parent.author_id != post.author_id:
            return f"post {post.id} replies to someone else: X cannot edit it"
        if post.poll is not None:
            return f"post {post.id} has a poll: X cannot edit it"
        original = self._posts.get(chain[0], post)
        if now - original.created_at > EDIT_WINDOW.total_seconds():
            return f"post {post.id} is past X's {EDIT_WINDOW} edit window"
        if len(chain) > EDIT_LIMIT:
            return f"post {post.id} was edited {EDIT_LIMIT} times already"
        return None

    def _new_version(
        self,
        post: XPost,
        user: XUser,
        text: str,
        now: float,
        *,
        media_keys: tuple[str, ...],
        handles: str = "",
    ) -> XPost:
        """The edit of ``post`` (the newest version) made ``now``: a new post in the same
        place (parent, quote, conversation, reply settings) with ``text`` and
        ``media_keys``, appended to the chain every version shares."""
        new = self._store(
            user,
            text,
            created_at=now,
            in_reply_to=post.in_reply_to,
            media_keys=media_keys,
            quote=post.quote_tweet_id,
            reply_settings=post.reply_settings,
            lang=post.lang,
            handles=handles,
            conversation=post.conversation_id,
        )
        chain = [*post.history, new.id]
        for version in chain:
            self._posts[version].edits = chain
        return new

    def answers(self, message_id: str) -> list[str]:
        """The texts the emulator's accounts (not the audience) posted in reply to
        ``message_id``, as sent, oldest first; deleted ones left out."""
        with self.lock:
            return [
                p.text
                for p in self.posts
                if p.in_reply_to == str(message_id) and p.author_id not in self._fans
            ]

    def is_hidden(self, message_id: str) -> bool:
        """The reply ``message_id`` was hidden by the author of its conversation.

        Raises:
            KeyError: no such post.
        """
        with self.lock:
            return self._posts[str(message_id)].hidden

    def likes(self, post_id: str) -> list[str]:
        """The usernames that liked ``post_id`` through the API (of users still in
        `users`)."""
        with self.lock:
            return [
                self.users[user_id].username
                for user_id, liked in sorted(self._likes)
                if liked == str(post_id) and user_id in self.users
            ]

    # -- media ---------------------------------------------------------------------------

    def _own_media(self, caller: _Caller, media_id: str) -> XMedia:
        """The caller's upload ``media_id``.

        Raises:
            Refusal: X's 400 when the caller has no such upload.
        """
        media = self.media.get(media_id)
        if media is None or media.owner_id != caller.user.id:
            raise Refusal.answering(
                self._invalid_parameter(
                    "media_id", [media_id], "Media id not found.", caller.headers
                )
            )
        return media

    def _media_status(self, media: XMedia, now: float, *, finalize: bool) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": media.id,
            "media_key": media.media_key,
            "size": media.total_bytes,
            # Whole seconds left, rounded up: X says 86400 right after the upload.
            "expires_after_secs": max(0, -int((now - media.created_at - 86_400) // 1)),
        }
        state = media.state(now)
        if media.processing_seconds <= 0 and state == "succeeded" and finalize:
            return data  # images: no processing_info means ready
        info: dict[str, Any] = {"state": state}
        if state in ("pending", "in_progress"):
            info["check_after_secs"] = self.check_after_secs
            done = (now - (media.finalized_at or now)) / media.processing_seconds
            info["progress_percent"] = min(99, int(done * 100))
        elif state == "succeeded":
            info["progress_percent"] = 100
        elif state == "failed":
            info["progress_percent"] = 100
            info["error"] = {"code": 1, "name": "InvalidMedia", "message": media.error}
        data["processing_info"] = info
        return data

    @route("POST", r"/2/media/upload/initialize")
    def _media_init(self, request: httpx.Request) -> httpx.Response:
        caller = self._begin(request, "POST /2/media/upload/initialize")
        body = self._schema_body(request, MEDIA_INIT_SCHEMA, caller)
        category = body.get("media_category") or "tweet_image"
        kind = _kind(body["media_type"], category)
        if body["total_bytes"] > _MAX_BYTES[kind]:
            return self.invalid(
                [
                    f"$.total_bytes: {body['total_bytes']} exceeds the {_MAX_BYTES[kind]} "
                    f"bytes allowed for {category}"
                ],
                caller.headers,
            )
        now = self.clock.time()
        media_id = self._new_id(now)
        media = XMedia(
            id=media_id,
            media_key=f"{_MEDIA_PREFIX[kind]}_{media_id}",
            owner_id=caller.user.id,
            media_type=body["media_type"],
            category=category,
            kind=kind,
            total_bytes=body["total_bytes"],
            created_at=now,
            processing_seconds=self.processing_seconds.get(kind, 0.0),
        )
        self.media[media_id] = media
        data = {
            "data": {"id": media_id, "expires_after_secs": 86_400, "media_key": media.media_key}
        }
        return self.json(data, 200, caller.headers)

    @route("POST", r"/2/media/upload/(?P<media_id>[^/]+)/append")
    def _media_append(self, request: httpx.Request, media_id: str) -> httpx.Response:
        caller = self._begin(request, "POST /2/media/upload/:id/append")
        media = self._own_media(caller, media_id)
        fields = _form_fields(request)
        index_raw, chunk = fields.get("segment_index"), fields.get("media")
        messages = []
        if index_raw is None:
            messages.append("$.segment_index: is missing but it is required")
        if chunk is None:
            messages.append("$.media: is missing but it is required")
        if messages:
            return self.invalid(messages, caller.headers)
        assert index_raw is not None
        assert chunk is not None
        try:
            index = int(index_raw)
        except ValueError:
            index = -1
        if not 0 <= index <= 999:
            return self.invalid(
                [f"$.segment_index: {index_raw!r} is not an integer from 0 to 999"], caller.headers
            )
        if media.finalized_at is not None:
            return self.invalid(["Media upload is already finalized."], caller.headers)
        media.segments[index] = chunk  # the same index again replaces the chunk
        return self.json(
            {"data": {"expires_at": int(media.created_at + 86_400)}}, 200, caller.headers
        )

    @route("POST", r"/2/media/upload/(?P<media_id>[^/]+)/finalize")
    def _media_finalize(self, request: httpx.Request, media_id: str) -> httpx.Response:
        caller = self._begin(request, "POST /2/media/upload/:id/finalize")
        media = self._own_media(caller, media_id)
        now = self.clock.time()
        if not self._finalize(media, now):
            indexes = sorted(media.segments)
            size = sum(len(c) for c in media.segments.values())
            return self.invalid(
                [
                    f"File size mismatch: got {size} bytes in segments {indexes}, "
                    f"expected {media.total_bytes}"
                ],
                caller.headers,
            )
        return self.json(
            {"data": self._media_status(media, now, finalize=True)}, 200, caller.headers
        )

    def _finalize(self, media: XMedia, now: float) -> bool:
        """Close an upload (v2 and v1.1 FINALIZE): ``False`` when its segments do not add up
        to the announced size; a second FINALIZE changes nothing."""
        if media.finalized_at is not None:
            return True
        indexes = sorted(media.segments)
        size = sum(len(c) for c in media.segments.values())
        if indexes != list(range(len(indexes))) or size != media.total_bytes:
            return False
        media.finalized_at = now
        if media.kind == "image":
            media.width, media.height = _image_size(media.data)
        if media.processing_seconds > 0 and self.media_processing_error:
            media.error, self.media_processing_error = self.media_processing_error, None
        return True

    @route("GET", r"/2/media/upload")
    def _media_get_status(self, request: httpx.Request) -> httpx.Response:
        caller = self._begin(request, "GET /2/media/upload")
        params = request.url.params
        if params.get("command", "STATUS") != "STATUS":
            return self.invalid(
                [
                    f"The `command` query parameter value [{params.get('command')}] is not "
                    "one of [STATUS]"
                ],
                caller.headers,
            )
        media_id = params.get("media_id")
        if not media_id:
            return self.invalid(["The `media_id` query parameter is missing"], caller.headers)
        media = self._own_media(caller, media_id)
        if media.finalized_at is None:
            return self.invalid(["Media upload is not finalized."], caller.headers)
        return self.json(
            {"data": self._media_status(media, self.clock.time(), finalize=False)},
            200,
            caller.headers,
        )

    @route("POST", r"/2/media/metadata")
    def _media_metadata(self, request: httpx.Request) -> httpx.Response:
        caller = self._begin(request, "POST /2/media/metadata")
        body = self._schema_body(request, METADATA_SCHEMA, caller)
        media = self._own_media(caller, body["id"])
        alt = body.get("metadata", {}).get("alt_text", {}).get("text")
        if alt is not None:
            media.alt_text = alt
        data = {"data": {"id": media.id, "associated_metadata": body.get("metadata", {})}}
        return self.json(data, 200, caller.headers)

    # -- v1.1 media (upload.twitter.com) --------------------------------------------------

    def _v1_begin(self, request: httpx.Request, endpoint: str) -> _Caller:
        """`_begin` with v1.1's error bodies: ``{"errors": [{"code", "message"}]}``.

        Raises:
            Refusal: answered with v1.1's 429 or 401.
        """
        try:
            return self._begin(request, endpoint)
        except Refusal as refusal:
            refused = self.refused(refusal)
        if refused.status_code == 429:
            headers = {k: v for k, v in refused.headers.items() if k.startswith("x-")}
            raise Refusal.answering(_v1_errors(429, 88, "Rate limit exceeded", headers))
        if request.headers.get("authorization", "").lower().startswith("bearer "):
            raise Refusal.answering(_v1_errors(401, 89, "Invalid or expired token."))
        raise Refusal.answering(_v1_errors(401, 32, "Could not authenticate you."))

    def _v1_error(
        self, message: str, caller: _Caller, status: int = 400, path: str = V1_UPLOAD
    ) -> httpx.Response:
        """The media endpoints' own error body: ``{"request": <path>, "error": <message>}``."""
        return self.json({"request": path, "error": message}, status, caller.headers)

    def _v1_media_json(self, media: XMedia, now: float, *, status_only: bool) -> dict[str, Any]:
        """A v1.1 media object: ``media_id`` (a number) and ``media_id_string``, as recorded."""
        status = self._media_status(media, now, finalize=not status_only)
        out: dict[str, Any] = {"media_id": int(media.id), "media_id_string": media.id}
        if not status_only:
            out["size"] = media.total_bytes
        out["expires_after_secs"] = status["expires_after_secs"]
        if not status_only:
            if media.kind == "image":
                out["image"] = {"image_type": media.media_type, "w": media.width, "h": media.height}
            else:
                video_type = "video/mp4" if media.kind == "gif" else media.media_type
                out["video"] = {"video_type": video_type}
        if "processing_info" in status:
            out["processing_info"] = status["processing_info"]
        return out

    def _v1_media(
        self, caller: _Caller, fields: Mapping[str, str | bytes], path: str = V1_UPLOAD
    ) -> XMedia:
        """The caller's upload that ``fields`` name by ``media_id``.

        Raises:
            Refusal: the media endpoints' 400 (their ``path`` in it) for no such upload.
        """
        media_id = fields.get("media_id")
        media = self.media.get(media_id) if isinstance(media_id, str) else None
        if media is None or media.owner_id != caller.user.id:
            error = self._v1_error("Invalid or expired media_id.", caller, path=path)
            raise Refusal.answering(error)
        return media

    @route("POST", r"/1\.1/media/upload\.json")
    def _v1_upload(self, request: httpx.Request) -> httpx.Response:
        fields = _v1_fields(request)
        command = fields.get("command")
        if command is None:
            return self._v1_simple(request, fields)
        if command == "INIT":
            return self._v1_init(request, fields)
        if command == "APPEND":
            return self._v1_append(request, fields)
        if command == "FINALIZE":
            return self._v1_finalize(request, fields)
        caller = self._v1_begin(request, "POST /1.1/media/upload")
        return self._v1_error(f"Invalid command {command!r}.", caller)

    def _v1_simple(
        self, request: httpx.Request, fields: Mapping[str, str | bytes]
    ) -> httpx.Response:
        caller = self._v1_begin(request, "POST /1.1/media/upload")
        data = _v1_bytes(fields)
        if data is None:
            return self._v1_error("media parameter is missing.", caller)
        sniffed = sniff(data[:64])
        if sniffed is None or sniffed[1] == "video":
            # Videos go through INIT/APPEND/FINALIZE only.
            return self._v1_error("media type unrecognized.", caller)
        mime = sniffed[0]
        category = str(fields.get("media_category") or "tweet_image")
        kind = _kind(mime, category)
        if len(data) > _MAX_BYTES[kind]:
            return self._v1_error(f"File size exceeds {_MAX_BYTES[kind]} bytes.", caller)
        now = self.clock.time()
        media = self._new_media(caller, mime, category, len(data), now, processing=0.0)
        media.segments[0] = data
        self._finalize(media, now)
        return self.json(self._v1_media_json(media, now, status_only=False), 200, caller.headers)

    def _new_media(
        self, caller: _Caller, mime: str, category: str, size: int, now: float, processing: float
    ) -> XMedia:
        kind = _kind(mime, category)
        media_id = self._new_id(now)
        media = XMedia(
            id=media_id,
            media_key=f"{_MEDIA_PREFIX[kind]}_{media_id}",
            owner_id=caller.user.id,
            media_type=mime,
            category=category,
            kind=kind,
            total_bytes=size,
            created_at=now,
            processing_seconds=processing,
        )
        self.media[media_id] = media
        return media

    def _v1_init(self, request: httpx.Request, fields: Mapping[str, str | bytes]) -> httpx.Response:
        caller = self._v1_begin(request, "POST /1.1/media/upload INIT")
        mime, total = fields.get("media_type"), fields.get("total_bytes")
        if not isinstance(mime, str) or not mime:
            return self._v1_error("media_type parameter is missing.", caller)
        if not isinstance(total, str) or not total.isdigit():
            return self._v1_error("total_bytes parameter is missing or invalid.", caller)
        if mime not in MEDIA_INIT_SCHEMA["properties"]["media_type"]["enum"]:
            return self._v1_error("media type unrecognized.", caller)
        category = str(fields.get("media_category") or "")
        kind = _kind(mime, category or "tweet_image")
        if int(total) > _MAX_BYTES[kind]:
            return self._v1_error(f"File size exceeds {_MAX_BYTES[kind]} bytes.", caller)
        # Only an upload with an async media_category is processed after FINALIZE; without
        # one, X finalizes synchronously (tweepy's recorded mp4 upload has no processing_info).
        processing = self.processing_seconds.get(kind, 0.0) if category in _ASYNC_CATEGORIES else 0
        now = self.clock.time()
        media = self._new_media(
            caller, mime, category or "tweet_image", int(total), now, processing=processing
        )
        body = {
            "media_id": int(media.id),
            "media_id_string": media.id,
            "expires_after_secs": 86_400,
        }
        return self.json(body, 202, caller.headers)

    def _v1_append(
        self, request: httpx.Request, fields: Mapping[str, str | bytes]
    ) -> httpx.Response:
        caller = self._v1_begin(request, "POST /1.1/media/upload APPEND")
        media = self._v1_media(caller, fields)
        index_raw = fields.get("segment_index")
        index = int(index_raw) if isinstance(index_raw, str) and index_raw.isdigit() else -1
        if not 0 <= index <= 999:
            return self._v1_error("SegmentIndex must be between 0 and 999.", caller)
        chunk = _v1_bytes(fields)
        if chunk is None:
            return self._v1_error("media parameter is missing.", caller)
        if media.finalized_at is not None:
            return self._v1_error("Media upload is already finalized.", caller)
        media.segments[index] = chunk
        return httpx.Response(204, headers={**caller.headers, "x-mediaid": media.id})

    def _v1_finalize(
        self, request: httpx.Request, fields: Mapping[str, str | bytes]
    ) -> httpx.Response:
        caller = self._v1_begin(request, "POST /1.1/media/upload FINALIZE")
        media = self._v1_media(caller, fields)
        now = self.clock.time()
        if not self._finalize(media, now):
            return self._v1_error("Segments do not add up to provided total file size.", caller)
        return self.json(self._v1_media_json(media, now, status_only=False), 201, caller.headers)

    @route("GET", r"/1\.1/media/upload\.json")
    def _v1_status(self, request: httpx.Request) -> httpx.Response:
        caller = self._v1_begin(request, "GET /1.1/media/upload STATUS")
        fields = _v1_fields(request)
        if fields.get("command") != "STATUS":
            return self._v1_error("Invalid command; only STATUS is allowed with GET.", caller)
        media = self._v1_media(caller, fields)
        if media.finalized_at is None:
            return self._v1_error("Media upload is not finalized.", caller)
        body = self._v1_media_json(media, self.clock.time(), status_only=True)
        return self.json(body, 200, caller.headers)

    @route("POST", r"/1\.1/media/metadata/create\.json")
    def _v1_metadata(self, request: httpx.Request) -> httpx.Response:
        caller = self._v1_begin(request, "POST /1.1/media/metadata/create")
        try:
            body = json.loads(request.content or b"null")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return self._v1_error("Request body is not valid JSON.", caller, path=V1_METADATA)
        media = self._v1_media(caller, {"media_id": str(body.get("media_id", ""))}, V1_METADATA)
        alt = body.get("alt_text")
        text = alt.get("text") if isinstance(alt, dict) else None
        if not isinstance(text, str):
            return self._v1_error("alt_text.text is missing.", caller, path=V1_METADATA)
        if len(text) > 1000:
            return self._v1_error(
                "alt_text.text may have at most 1000 characters.", caller, path=V1_METADATA
            )
        media.alt_text = text
        return httpx.Response(200, headers=caller.headers)


def _names(post: XPost, *, handle: str) -> bool:
    return any(m[1].lower() == handle for m in _MENTION.finditer(post.display_text))


def _tokenized(text: str) -> tuple[str, ...]:
    return tuple(_WORD.findall(text.casefold()))


def _says(post: XPost, *, words: tuple[str, ...], raw: str) -> bool:
    """The words in a row in the post's text (links left out), or for a term without
    letters or digits (an emoji), the term itself in the text."""
    text = html.unescape(_URL.sub(" ", post.display_text)).casefold()
    if not words:
        return bool(raw) and raw in text
    have = _tokenized(text)
    n = len(words)
    return any(have[i : i + n] == words for i in range(len(have) - n + 1))


def _tagged(post: XPost, *, tag: str) -> bool:
    return any(m[1].casefold() == tag for m in _HASHTAG.finditer(post.display_text))


def _negated(post: XPost, *, check: Callable[[XPost], bool]) -> bool:
    return not check(post)


def _all(post: XPost, *, checks: tuple[Callable[[XPost], bool], ...]) -> bool:
    return all(c(post) for c in checks)


def _any(post: XPost, *, checks: tuple[Callable[[XPost], bool], ...]) -> bool:
    return any(c(post) for c in checks)


class _QueryError(ValueError):
    """A recent-search query the emulator (like X) cannot parse."""


def _tokens(query: str) -> list[tuple[str, str]]:
    """``query`` as (kind, text) tokens: ``(``, ``)``, ``OR``, ``-``, ``phrase``, ``term``."""
    out: list[tuple[str, str]] = []
    i, n = 0, len(query)
    while i < n:
        ch = query[i]
        if ch.isspace():
            i += 1
        elif ch in "()":
            out.append((ch, ch))
            i += 1
        elif ch == "-" and i + 1 < n and not query[i + 1].isspace():
            out.append(("-", ch))
            i += 1
        elif ch == '"':
            i += 1
            chars: list[str] = []
            while i < n and query[i] != '"':
                if query[i] == "\\" and i + 1 < n:
                    i += 1
                chars.append(query[i])
                i += 1
            if i >= n:
                raise _QueryError('a quoted phrase is not closed with `"`')
            i += 1
            out.append(("phrase", "".join(chars)))
        else:
            j = i
            while j < n and not query[j].isspace() and query[j] not in '()"':
                j += 1
            word = query[i:j]
            out.append(("OR", word) if word == "OR" else ("term", word))
            i = j
    return out


_Check = Callable[[XPost], bool]
# Posts among which are all those a term (group) matches, or None: any post may match.
_Narrow = Callable[[], Collection[XPost]] | None


def _narrowest(narrows: Sequence[Callable[[], Collection[XPost]]]) -> Collection[XPost]:
    return min((narrow() for narrow in narrows), key=len)


def _union(narrows: Sequence[Callable[[], Collection[XPost]]]) -> Collection[XPost]:
    # A post two alternatives match is one candidate.
    return {id(p): p for narrow in narrows for p in narrow()}.values()


class _Parser:
    """Recursive descent over `_tokens`: OR of ANDs of (negated) terms, phrases, groups.
    Each gives its check and the posts it can match (see `_Narrow`): the narrowest of an
    AND's terms, the union of an OR's when every side has them, any post under a ``-``."""

    def __init__(
        self,
        tokens: list[tuple[str, str]],
        term: Callable[[str, str], tuple[_Check, bool, _Narrow]],
    ) -> None:
        self.tokens = tokens
        self.term = term
        self.pos = 0
        self.depth = 0
        self.negations = 0
        self.standalone = False

    def peek(self) -> str | None:
        return self.tokens[self.pos][0] if self.pos < len(self.tokens) else None

    def expression(self) -> tuple[_Check, _Narrow]:
        alternatives = [self.conjunction()]
        while self.peek() == "OR":
            self.pos += 1
            alternatives.append(self.conjunction())
        if len(alternatives) == 1:
            return alternatives[0]
        checks = tuple(check for check, _ in alternatives)
        narrows = [narrow for _, narrow in alternatives if narrow is not None]
        union = functools.partial(_union, narrows) if len(narrows) == len(checks) else None
        return functools.partial(_any, checks=checks), union

    def conjunction(self) -> tuple[_Check, _Narrow]:
        terms = []
        while self.peek() not in (None, ")", "OR"):
            terms.append(self.unary())
        if not terms:
            raise _QueryError("an empty query, group or side of OR")
        if len(terms) == 1:
            return terms[0]
        narrows = [narrow for _, narrow in terms if narrow is not None]
        checks = tuple(check for check, _ in terms)
        return (
            functools.partial(_all, checks=checks),
            functools.partial(_narrowest, narrows) if narrows else None,
        )

    def unary(self) -> tuple[_Check, _Narrow]:
        kind, text = self.tokens[self.pos]
        if kind == "-":
            self.pos += 1
            if self.peek() in (None, ")", "OR", "-"):
                raise _QueryError("`-` must come right before a term, phrase or group")
            self.negations += 1
            inner, _ = self.unary()
            self.negations -= 1
            return functools.partial(_negated, check=inner), None
        if kind == "(":
            self.pos += 1
            self.depth += 1
            if self.depth > 10:
                raise _QueryError("groups are nested too deep")
            group = self.expression()
            if self.peek() != ")":
                raise _QueryError("a `(` is not closed with `)`")
            self.pos += 1
            self.depth -= 1
            return group
        self.pos += 1
        check, standalone, narrow = self.term(kind, text)
        if standalone and not self.negations:
            self.standalone = True
        return check, narrow


# A previous_token is the newest id of its page plus this (post ids fit in 63 bits), so one
# token alphabet (X's PaginationToken36) tells the two directions apart.
_NEWER = 1 << 64


def _read_token(token: str, previous: bool) -> tuple[int | None, int | None] | None:
    """``(before, after)`` of a pagination token: a next_token pages to posts older than
    ``before``, a previous_token (taken only where X sends them, ``previous``) to posts
    newer than ``after``; ``None`` for a token the emulator could not have made."""
    try:
        value = int(token, 36)
    except ValueError:
        return None
    if value < _NEWER:
        return value, None
    if previous and value < 2 * _NEWER:
        return None, value - _NEWER
    return None


def _token_page(
    posts: Sequence[XPost],
    parsed: Mapping[str, Any],
    *,
    previous: bool,
    negated: Sequence[int] | None = None,
) -> tuple[list[XPost], dict[str, Any]]:
    """The page of ``posts`` (newest first, the read's whole window) that the read's token
    names, and its ``meta``. A next_token's page is the ``limit`` posts just older than
    the page it came from; a previous_token's the ``limit`` just newer (still listed newest
    first). A page has ``next_token`` while older posts are left, and ``previous_token``
    (where the endpoint's meta has one) when it was read with a token, since a page read
    without one has no page before it (docs.x.com x-api/fundamentals/pagination:
    previous_token "use to go back a page", sent back as pagination_token).

    ``negated``: each post's id negated (ascending, as ``posts`` are newest first), for the
    token's bounds to be found by bisection instead of reading every post's id."""
    limit = parsed["limit"]
    before, after = parsed["before"], parsed["after"]
    if after is not None:
        if negated is None:
            newer = [p for p in posts if int(p.id) > after]
        else:
            newer = list(posts[: bisect.bisect_left(negated, -after)])
        page = newer[-limit:] if limit > 0 else []
    elif before is None:
        page = list(posts[:limit])
    elif negated is None:
        page = [p for p in posts if int(p.id) < before][:limit]
    else:
        start = bisect.bisect_right(negated, -before)
        page = list(posts[start : start + limit])
    meta: dict[str, Any] = {"result_count": len(page)}
    if page:
        meta["newest_id"] = page[0].id
        meta["oldest_id"] = page[-1].id
        if int(posts[-1].id) < int(page[-1].id):
            meta["next_token"] = _base36(int(page[-1].id))
        if previous and parsed["token"]:
            meta["previous_token"] = _base36(_NEWER + int(page[0].id))
    return page, meta


def _base36(value: int) -> str:
    chars = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while value:
        value, rem = divmod(value, 36)
        out = chars[rem] + out
    return out or "0"


def _form_fields(request: httpx.Request) -> dict[str, Any]:
    """The fields of a multipart/form-data or JSON append body (``media`` as bytes)."""
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("application/json"):
        try:
            body = json.loads(request.content)
        except ValueError:
            return {}
        out: dict[str, Any] = {}
        if isinstance(body, dict):
            if "segment_index" in body:
                out["segment_index"] = str(body["segment_index"])
            if isinstance(body.get("media"), str):
                with contextlib.suppress(ValueError):
                    out["media"] = base64.b64decode(body["media"], validate=True)
        return out
    match = re.search(r'boundary="?([^";]+)"?', ctype)
    if not ctype.startswith("multipart/form-data") or match is None:
        return {}
    fields: dict[str, Any] = {}
    for name, filename, _, payload in multipart(request.content, match.group(1).encode()):
        # The chunk is binary whether or not its part has a filename (twitter-api-v2 sends
        # none); the other fields are text.
        if filename is not None or name == "media":
            fields[name] = payload
        else:
            fields[name] = payload.decode("utf-8", "replace")
    return fields


def _v1_fields(request: httpx.Request) -> dict[str, str | bytes]:
    """The parameters of a v1.1 media request: query string, then a form-urlencoded or
    multipart body (``media`` as bytes, the other fields as text)."""
    fields: dict[str, str | bytes] = dict(request.url.params.items())
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("application/x-www-form-urlencoded"):
        fields.update(parse_qsl(request.content.decode("utf-8", "replace"), keep_blank_values=True))
    elif ctype.startswith("multipart/form-data"):
        fields.update(_form_fields(request))
    return fields


def _v1_bytes(fields: Mapping[str, str | bytes]) -> bytes | None:
    """The uploaded bytes: the ``media`` part, or base64 ``media_data``."""
    media = fields.get("media")
    if isinstance(media, bytes):
        return media
    if isinstance(media, str):
        return media.encode("utf-8")
    encoded = fields.get("media_data")
    if isinstance(encoded, str):
        try:
            return base64.b64decode(encoded, validate=True)
        except ValueError:
            return None
    return None


def _image_size(data: bytes) -> tuple[int | None, int | None]:
    """An image's pixel width and height, ``None`` where they cannot be read."""
    try:
        media = Media.from_bytes(data)
    except MediaError:
        return None, None
    return media.width, media.height
