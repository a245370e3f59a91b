"""A faithful, stateful LinkedIn (Posts API, versioned REST) for tests.

```python
from brandkit import Client, Post
from brandkit.testing.linkedin import LinkedInEmulator

emu = LinkedInEmulator()
with emu.serve():
    account = emu.account()                       # an organization page and its admin
    with Client() as client:
        (delivery,) = client.publish(Post(text="Hello (world) #launch"), account)
    assert emu.post_texts() == ["Hello (world) #launch"]
```

What it answers like LinkedIn (``platforms.md`` §4):

- ``/rest/...`` needs ``Authorization: Bearer``, an active ``LinkedIn-Version`` (400
  ``VERSION_MISSING``, 426 ``NONEXISTENT_VERSION``) and ``X-Restli-Protocol-Version: 2.0.0``;
  errors are ``{"status", "serviceErrorCode", "code", "message"}``. The active versions
  move with the emulator clock (`active_versions`: the last 12 monthly releases).
- ``GET /v2/userinfo`` (OpenID Connect) and ``GET /rest/organizationAcls?q=roleAssignee``:
  who the token is and which pages it administers.
- Comments: ``GET``/``POST /rest/socialActions/{urn}/comments`` (``actor``, ``object``,
  ``message.text``, ``parentComment``; 201 with the comment, its id in ``x-restli-id``;
  ``start``/``count`` paging, 100 at most or ``comment_page_max``), nested on a comment
  URN, ``DELETE /rest/socialActions/{urn}/comments/{id}`` (the comment's own author only);
  the audience (`brandkit.testing.Emulator.audience`, ``.comment(post_or_comment,
  text)``) and `add_comment` add other members' comments, `delete_comment` takes one back.
  A deleted comment's answers go with it: reading them is a 404.
- Reactions: ``POST /rest/reactions?actor=`` (``root``, ``reactionType``), counted in
  ``likesSummary``; `reactions` shows them.
- ``POST /rest/posts`` checks fields, permissions and media, answers 201 with an empty body
  and the URN in ``x-restli-id``; it refuses a repeat of a live post's content with 422
  "Content is a duplicate of urn:li:share:…". The ``commentary`` is parsed as little text:
  escapes, ``{hashtag|\\#|tag}`` templates, ``#tag`` and ``@[Name](urn)`` mentions; an
  unescaped reserved character silently cuts the post there, as LinkedIn does.
- Images (``/rest/images?action=initializeUpload`` + ``PUT`` to the upload URL the emulator
  serves) and videos (``initializeUpload``, ranged ``PUT`` parts answering ``ETag``,
  ``finalizeUpload``) process for a configurable time of the emulator clock; ``GET
  /rest/images|videos/{urn}`` shows their ``status``.
- ``GET /rest/posts?q=author`` (finder, needs ``r_organization_social`` or the restricted
  ``r_member_social``), ``GET/DELETE /rest/posts/{urn}``,
  ``organizationalEntityShareStatistics`` (engagement grows with the clock),
  ``networkSizes`` and ``memberFollowersCount``.
- 3-legged OAuth (`LinkedInEmulator.oauth_app`): ``GET /oauth/v2/authorization`` (the
  member consents at once, or cancels after `LinkedInEmulator.deny_consent`), ``POST
  /oauth/v2/accessToken`` with the authorization code (single use, 30 minutes, the redirect
  URI checked) and the refresh grant (the refresh token's 365-day life is not reset).
  Access tokens expire after ``token_lifetime`` seconds of the emulator clock.
- Daily quotas per member and per app, reset at midnight UTC (or in small windows for
  tests); a refusal is a bare 429 without any header, as LinkedIn sends.

Wording that LinkedIn does not document (marked in the code) follows the Rest.li style of
its real answers (``ERROR :: /field :: ...``).
"""

from __future__ import annotations

import functools
import json
import math
import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, ClassVar, TypeAlias
from urllib.parse import parse_qsl

import attrs
import httpx

from brandkit.accounts import Account, CredentialsHook
from brandkit.content._media import _dimensions, sniff
from brandkit.testing._emulator import Audience, Clock, Emulator, Refusal, route
from brandkit.testing._linkedin_notifications import LinkedInNotifications

__all__ = [
    "DEFAULT_QUOTAS",
    "NEVER_RELEASED",
    "LinkedInComment",
    "LinkedInEmulator",
    "LinkedInOAuthApp",
    "LinkedInPost",
    "active_versions",
    "parse_little_text",
]

RESERVED = frozenset("\\|{}@[]()<>#*_~")
MAX_COMMENTARY = 3000
MAX_ALT_TEXT = 4086
MAX_COMMENT = 1250
"""Longest ``message.text`` of a comment accepted. LinkedIn's API documents no limit: this is
the figure of its comment box and of third-party tools (unconfirmed for the API)."""
PART_SIZE = 4 * 1024 * 1024

DEFAULT_QUOTAS: dict[str, tuple[int, float]] = {
    "post": (150, 86_400.0),
    "media": (10_000, 86_400.0),
    "read": (10_000, 86_400.0),
    "delete": (1_000, 86_400.0),
    "stats": (10_000, 86_400.0),
    "comment": (1_000, 86_400.0),
}
"""Daily quotas per member (LinkedIn publishes none; these are generous guesses):
bucket → (requests, window seconds). Windows of 86400 s reset at midnight UTC."""

NEVER_RELEASED: frozenset[str] = frozenset({"202512"})
"""Months LinkedIn released no Marketing version for: 202512 was never released (its
migrations table goes from 202511 straight to 202601), so it never becomes active."""

SUPPORT_MONTHS = 12
"""How many monthly versions stay active: LinkedIn supports each for (at least) a year."""


def active_versions(now: datetime) -> frozenset[str]:
    """The ``LinkedIn-Version`` values LinkedIn accepts at ``now``: the monthly releases of
    the last `SUPPORT_MONTHS` months, the current month's included, less the months
    without a release (`NEVER_RELEASED`).

    A version counts as released on the first of its month (LinkedIn's changelog dates) and
    sunset on the first of the same month a year later; LinkedIn's real sunsets fall in the
    middle of that month (202511 on 2026-11-16), a simplification of at most half a month.
    """
    months = now.year * 12 + now.month - 1
    found = (f"{m // 12}{m % 12 + 1:02d}" for m in range(months - SUPPORT_MONTHS + 1, months + 1))
    return frozenset(v for v in found if v not in NEVER_RELEASED)


Handler: TypeAlias = Callable[..., httpx.Response]

_VISIBILITIES = ("PUBLIC", "CONNECTIONS", "LOGGED_IN")
_POST_FIELDS = frozenset(
    {
        "author",
        "commentary",
        "visibility",
        "distribution",
        "content",
        "lifecycleState",
        "isReshareDisabledByAuthor",
        "adContext",
        "contentLandingPage",
        "contentCallToActionLabel",
        "container",
        "reshareContext",
    }
)
_MENTION = re.compile(r"@\[([^\]\n]*)\]\s?\((urn:li:(?:person|organization):[A-Za-z0-9_-]+)\)")
_TEMPLATE = re.compile(r"\{hashtag\|\\?([#＃])\|([^{}|]*)\}")
_HASHTAG = re.compile(r"[#＃]\w+")


def parse_little_text(commentary: str) -> tuple[str, str, bool]:
    """Parse little text as LinkedIn does: ``(kept, visible, cut)``.

    ``kept`` is the commentary LinkedIn stores (everything before the first unescaped
    reserved character that starts no element), ``visible`` what readers see of it, and
    ``cut`` whether anything was dropped. Elements: ``\\x`` escapes, ``@[Name](urn)``
    mentions, ``{hashtag|\\#|tag}`` templates and ``#tag`` hashtags.
    """
    visible: list[str] = []
    i, n = 0, len(commentary)
    while i < n:
        c = commentary[i]
        if c == "\\":
            if i + 1 < n:
                visible.append(commentary[i + 1])
                i += 2
                continue
            return commentary[:i], "".join(visible), True
        if c not in RESERVED:
            visible.append(c)
            i += 1
            continue
        for pattern, show in (
            (_MENTION, lambda m: _unescape(m.group(1))),
            (_TEMPLATE, lambda m: m.group(1) + m.group(2)),
            (_HASHTAG, lambda m: m.group(0)),
        ):
            match = pattern.match(commentary, i)
            if match is not None:
                visible.append(show(match))
                i = match.end()
                break
        else:
            return commentary[:i], "".join(visible), True
    return commentary, "".join(visible), False


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


@attrs.define
class _Author:
    """A member or an organization: one who posts, and whose followers grow by the day
    (`LinkedInEmulator._followers`)."""

    _URN: ClassVar[str]
    id: str
    name: str
    followers: int
    followers_per_day: float
    created_at: float

    @property
    def urn(self) -> str:
        return f"{self._URN}{self.id}"


@attrs.define
class _Member(_Author):
    _URN: ClassVar[str] = "urn:li:person:"


@attrs.define
class _Organization(_Author):
    _URN: ClassVar[str] = "urn:li:organization:"
    admins: set[str]


@attrs.define
class _Token:
    member: str
    scopes: frozenset[str]
    expires_at: float
    revoked: bool = False


@attrs.define
class _Asset:
    urn: str
    owner: str
    kind: str  # "image" or "video"
    size: int
    created_at: float
    upload_id: str
    data: bytearray = attrs.field(factory=bytearray, repr=False)
    parts: dict[int, bytes] = attrs.field(factory=dict, repr=False)
    etags: dict[str, int] = attrs.field(factory=dict)
    uploaded_at: float | None = None
    finalized: bool = False
    failed: bool = False
    mime_type: str = ""
    width: int | None = None
    height: int | None = None


@attrs.define
class LinkedInPost:
    """A post the emulator holds.

    Attributes:
        urn: ``urn:li:share:…``.
        author: the author URN.
        commentary: the little text LinkedIn kept (cut at an unescaped reserved character).
        sent_commentary: the commentary as it was sent.
        text: what readers see.
        truncated: LinkedIn cut the text.
        visibility: ``PUBLIC``, ``CONNECTIONS`` or ``LOGGED_IN``.
        content: the ``content`` object as sent, if any.
        lifecycle_state: ``PUBLISHED`` or ``DRAFT``.
        reshare_disabled: ``isReshareDisabledByAuthor``.
        created_at: emulator time of creation.
        deleted_at: emulator time of deletion, if deleted.
        extra: engagement added on top of what the clock brings.
    """

    urn: str
    author: str
    commentary: str
    sent_commentary: str
    text: str
    truncated: bool
    visibility: str
    content: dict[str, Any] | None
    lifecycle_state: str
    reshare_disabled: bool
    created_at: float
    deleted_at: float | None = None
    extra: dict[str, int] = attrs.field(factory=dict)


@attrs.define
class LinkedInComment:
    """A comment the emulator holds.

    Attributes:
        id: the comment id (``x-restli-id`` of its creation).
        urn: ``urn:li:comment:({object},{id})``.
        object: what it is on: the post's URN, or for a nested comment the parent comment's
            URN.
        post: the post at the root of the conversation.
        actor: who comments (a member or an organization URN).
        agent: the member who wrote it for an organization (``None`` for a member's own).
        text: ``message.text``.
        created_at: emulator time of creation.
        deleted_at: emulator time of deletion, if deleted.
        modified_at: emulator time of its author's last edit (`LinkedInEmulator.edit_comment`),
            if edited: its ``lastModified``.
    """

    id: str
    urn: str
    object: str
    post: str
    actor: str
    agent: str | None
    text: str
    created_at: float
    deleted_at: float | None = None
    modified_at: float | None = None


@attrs.frozen
class LinkedInOAuthApp:
    """An app registered on the emulator for 3-legged OAuth (`LinkedInEmulator.oauth_app`).

    Attributes:
        client_id: the app's client id.
        client_secret: its client secret.
        redirect_uris: the authorized redirect URLs.
        scopes: the scopes it may ask for.
        refresh_tokens: whether it gets refresh tokens (approved partners only).
    """

    client_id: str
    client_secret: str = attrs.field(repr=False)
    redirect_uris: tuple[str, ...]
    scopes: tuple[str, ...]
    refresh_tokens: bool = False


@attrs.define
class _OAuthCode:
    client_id: str
    redirect_uri: str
    member: str
    scopes: frozenset[str]
    expires_at: float


CODE_LIFETIME = 30 * 60.0
"""LinkedIn: "The authorization code must be used within 30 minutes"."""


def _paged(
    request: httpx.Request, items: list[Any], largest: int = 100
) -> tuple[list[Any], dict[str, Any]]:
    """A Rest.li finder's page of ``items``: ``start`` (from 0) and ``count`` (10 unless
    given, at most ``largest``), and the ``paging`` object that goes with it.

    Raises:
        _Refusal: ``start`` or ``count`` is not a whole number (LinkedIn's 400).
    """
    params = request.url.params
    try:
        start = max(0, int(params.get("start") or 0))
        count = min(largest, max(1, int(params.get("count") or 10)))
    except ValueError:
        raise _Refusal(400, "Invalid value for param: start/count", "ILLEGAL_ARGUMENT") from None
    page = items[start : start + count]
    # Rest.li's RestUtils.buildMetadata: a "prev" link when start > 0 (count back, not below
    # 0) and a "next" one when more follow or the page is full, each the request's own URI
    # (relative, as the server sees it) with start and count replaced.
    links: list[dict[str, str]] = []
    if start > 0:
        links.append(_link(request, "prev", max(0, start - count), count))
    if start + len(page) < len(items) or len(page) == count:
        links.append(_link(request, "next", start + len(page), count))
    paging = {"start": start, "count": count, "links": links, "total": len(items)}
    return page, paging


def _link(request: httpx.Request, rel: str, start: int, count: int) -> dict[str, str]:
    """A Rest.li paging link to the page at ``start``: the request's path and query as sent
    (its encoding kept), ``start`` and ``count`` replaced."""
    path, _, query = request.url.raw_path.decode("ascii").partition("?")
    kept = [p for p in query.split("&") if p and p.split("=", 1)[0] not in ("start", "count")]
    href = f"{path}?{'&'.join([*kept, f'start={start}', f'count={count}'])}"
    return {"rel": rel, "href": href, "type": "application/json"}


class _Refusal(Refusal):
    """A refusal in LinkedIn's shape: its ``code`` and ``serviceErrorCode`` (``service``)
    are in the body when given."""

    def __init__(
        self, status: int, message: str, code: str | None = None, service: int = 0
    ) -> None:
        extra: dict[str, Any] = {}
        if service:
            extra["serviceErrorCode"] = service
        if code:
            extra["code"] = code
        super().__init__(status, message, **extra)


def _missing(path: str) -> _Refusal:
    """LinkedIn's 422 for the required field at ``path`` (``/a/b``) that a body lacks."""
    return _Refusal(
        422,
        f"ERROR :: {path} :: field is required but not found and has no default value",
        "UNPROCESSABLE_ENTITY",
    )


@attrs.define
class _Caller:
    member: _Member
    token: _Token
    version: str


def _rest(*, bucket: str) -> Callable[[Handler], Handler]:
    """Authenticate a ``/rest/`` handler, check the version headers, spend its quota."""

    def wrap(fn: Handler) -> Handler:
        @functools.wraps(fn)
        def handler(
            self: LinkedInEmulator, request: httpx.Request, **kwargs: Any
        ) -> httpx.Response:
            caller = self._authenticate(request)
            self._spend(caller, bucket)
            return fn(self, request, caller, **kwargs)

        return handler

    return wrap


class LinkedInEmulator(LinkedInNotifications, Emulator):
    """LinkedIn's Posts API in a box (see the module docstring for what it covers).

    Args:
        clock: the emulator clock (tokens, quotas, processing, engagement).
        quotas: per-member quotas, bucket → (requests, window seconds), merged over
            `DEFAULT_QUOTAS`; buckets ``post``, ``media``, ``read``, ``delete``,
            ``stats``. Tests use small windows, e.g. ``{"post": (2, 1.0)}``.
        app_quotas: per-app quotas in the same form (none by default).
        versions: the active ``LinkedIn-Version`` values (default: computed from the
            emulator clock by `active_versions`, so they move with it).
        token_lifetime: seconds an access token lives (LinkedIn: 60 days).
        refresh_lifetime: seconds a refresh token lives from first authorization (365 days).
        image_processing: seconds an uploaded image takes to become ``AVAILABLE``.
        video_processing: seconds a finalized video takes.
        duplicate_window: seconds during which the same content of the same author is
            refused as a duplicate of the live post.
        impressions_per_hour: the base rate at which organic impressions grow.
        comment_page_max: the largest ``count`` of a page of comments (100; LinkedIn's is
            not confirmed): a larger one asked for answers this many.
    """

    platform: ClassVar[str] = "linkedin"
    create_route: ClassVar[tuple[str, str]] = ("POST", r"/rest/posts")
    reply_route: ClassVar[tuple[str, str] | None] = ("POST", r"/rest/socialActions/.+/comments")

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        quotas: Mapping[str, tuple[int, float]] | None = None,
        app_quotas: Mapping[str, tuple[int, float]] | None = None,
        versions: Iterable[str] | None = None,
        token_lifetime: float = 60 * 86_400.0,
        refresh_lifetime: float = 365 * 86_400.0,
        image_processing: float = 0.0,
        video_processing: float = 1.0,
        duplicate_window: float = 86_400.0,
        impressions_per_hour: float = 30.0,
        comment_page_max: int = 100,
    ) -> None:
        super().__init__(clock=clock)
        self.quotas: dict[str, tuple[int, float]] = {**DEFAULT_QUOTAS, **(quotas or {})}
        self.app_quotas: dict[str, tuple[int, float]] = dict(app_quotas or {})
        self._fixed_versions = frozenset(versions) if versions is not None else None
        self.token_lifetime = token_lifetime
        self.refresh_lifetime = refresh_lifetime
        self.image_processing = image_processing
        self.video_processing = video_processing
        self.duplicate_window = duplicate_window
        self.impressions_per_hour = impressions_per_hour
        self.comment_page_max = comment_page_max
        self.client_id = "78brandkitemu"
        self.client_secret = secrets.token_urlsafe(16)
        self._members: dict[str, _Member] = {}
        self._orgs: dict[str, _Organization] = {}
        self._tokens: dict[str, _Token] = {}
        self._refresh: dict[str, tuple[str, frozenset[str], float]] = {}
        self._apps: dict[str, LinkedInOAuthApp] = {}
        self._codes: dict[str, _OAuthCode] = {}
        self._consenting: str | None = None
        self._assets: dict[str, _Asset] = {}
        self._uploads: dict[str, str] = {}  # upload id → asset urn
        self._posts: dict[str, LinkedInPost] = {}
        self._comments: dict[str, LinkedInComment] = {}
        self._reactions: dict[tuple[str, str], str] = {}  # (actor, root) -> reaction type
        self._hits: dict[tuple[str, str, int], int] = {}
        self._next_id = 7_300_000_000_000_000_000

    # -- public helpers --------------------------------------------------------------------

    def account(
        self,
        *,
        name: str | None = None,
        author: str = "organization",
        scopes: Iterable[str] | None = None,
        refreshable: bool = True,
        followers: int = 0,
        followers_per_day: float = 24.0,
        version: str | None = None,
        on_credentials_changed: CredentialsHook | None = None,
        **unknown: Any,
    ) -> Account:
        """A member (and, for ``author="organization"``, a page they administer) with a
        token, as an [`Account`][brandkit.Account] at `base_url`.

        Args:
            name: the brandkit account name.
            author: ``"organization"`` (post as a page) or ``"person"`` (as the member).
            scopes: the token's scopes (defaults: all organization scopes, or
                ``w_member_social`` and ``r_member_profileAnalytics`` for a member; add
                ``r_member_social`` to let a member read posts back).
            refreshable: give a refresh token and the app's client id and secret.
            followers, followers_per_day: the author's followers and their growth.
            version: the ``LinkedIn-Version`` (default: the newest active one).
            on_credentials_changed: the account's hook for refreshed tokens.

        Raises:
            TypeError: an unknown keyword argument.
            ValueError: ``author`` is neither ``"organization"`` nor ``"person"``.
        """
        if unknown:
            raise TypeError(
                f"LinkedInEmulator.account() got unexpected arguments: {', '.join(unknown)}"
            )
        if author not in ("organization", "person"):
            raise ValueError(f"author must be 'organization' or 'person', got {author!r}")
        with self.lock:
            now = self.clock.time()
            if author == "person":
                member = self._new_member(now, followers, followers_per_day)
            else:
                member = self._new_member(now)
            if author == "organization":
                urn = self._new_org(now, member.id, followers, followers_per_day).urn
                default = {
                    "w_organization_social",
                    "r_organization_social",
                    "rw_organization_admin",
                    "w_member_social",
                    "openid",
                    "profile",
                }
            else:
                urn = member.urn
                default = {"w_member_social", "r_member_profileAnalytics", "openid", "profile"}
            granted = frozenset(scopes if scopes is not None else default)
            token = self._issue(member.id, granted)
            refresh = None
            if refreshable:
                refresh = secrets.token_urlsafe(48)
                self._refresh[refresh] = (member.id, granted, now + self.refresh_lifetime)
        return Account.linkedin(
            author=urn,
            token=token,
            refresh_token=refresh,
            client_id=self.client_id if refreshable else None,
            client_secret=self.client_secret if refreshable else None,
            version=version or max(self.versions),
            base_url=self.base_url,
            name=name,
            on_credentials_changed=on_credentials_changed,
        )

    @property
    def posts(self) -> list[LinkedInPost]:
        """The posts that exist now, oldest first."""
        with self.lock:
            return [p for p in self._posts.values() if p.deleted_at is None]

    def post(self, urn: str) -> LinkedInPost:
        """One post (deleted ones too).

        Raises:
            KeyError: no post has that URN.
        """
        with self.lock:
            return self._posts[urn]

    def post_texts(self) -> list[str]:
        """What readers see of the posts that exist now, oldest first."""
        return [p.text for p in self.posts]

    def add_comment(
        self, target: str, *, author: str = "Audience Member", text: str
    ) -> LinkedInComment:
        """A member of the audience comments on a post (or, given a comment URN, answers
        that comment), as LinkedIn would show it to the page.

        Raises:
            KeyError: no live post or comment has that URN.
        """
        with self.lock:
            post = self._comment_target(target)
            if post is None:
                raise KeyError(target)
            slug = re.sub(r"[^A-Za-z0-9]", "", author)[:12] or "member"
            actor = f"urn:li:person:{slug}{len(self._comments) + 1}"
            return self._store_comment(target, post, actor, None, text)

    def audience_write(
        self,
        member: Audience,
        kind: str,
        text: str,
        *,
        target: str | None = None,
        lang: str | None = None,
    ) -> str:
        """A member of the audience comments on a post, or answers a comment (``target``:
        a post URN as in ``Delivery.ids`` or a comment URN as in ``Message.id``); returns
        the comment's URN. Their actor is ``urn:li:person:<name>``. A ``"mention"`` is a
        post of theirs that mentions a page (`audience_mention`); returns its URN.

        Raises:
            NotImplementedError: ``kind`` is neither ``"comment"`` nor ``"mention"``
                (LinkedIn's API shows only comments and, as notifications, mentions).
            KeyError: no live post or comment has the URN ``target``.
        """
        if kind == "mention":
            return self.audience_mention(member, text)
        if kind == "reply":
            raise NotImplementedError("LinkedIn has comments, not replies: use .comment()")
        if kind != "comment":
            raise NotImplementedError(
                f"the LinkedIn emulator has no {kind}s: LinkedIn's API shows only comments on "
                "the page's posts (mentions reach apps as notifications); use .comment()"
            )
        with self.lock:
            post = self._comment_target(target or "")
            if post is None:
                raise KeyError(target)
            slug = re.sub(r"[^A-Za-z0-9_-]", "", member.name) or "member"
            actor = f"urn:li:person:{slug}"
            return self._store_comment(str(target), post, actor, None, text).urn

    def delete_comment(self, urn: str) -> None:
        """A comment taken back by its author, with every comment under it: LinkedIn shows
        a deleted comment's answers no more, and reading them (``GET
        /rest/socialActions/{comment}/comments``) is a 404 as for any entity not found.

        Raises:
            KeyError: no live comment has the URN ``urn``.
        """
        with self.lock:
            comment = self._comments.get(urn)
            if comment is None or comment.deleted_at is not None:
                raise KeyError(urn)
            self._remove_comment(comment)

    def edit_comment(self, urn: str, text: str) -> None:
        """A comment's author edits it (LinkedIn's "Edit a Comment"): its ``message.text``
        becomes ``text`` and its ``lastModified`` now, its ``created`` as it was.

        Raises:
            KeyError: no live comment has the URN ``urn``.
        """
        with self.lock:
            comment = self._comments.get(urn)
            if comment is None or comment.deleted_at is not None:
                raise KeyError(urn)
            comment.text = text
            comment.modified_at = self.clock.time()

    def answers(self, message_id: str) -> list[str]:
        """The texts the emulator's own members and pages commented directly under the
        comment (or post) ``message_id``, oldest first; deleted ones excluded."""
        with self.lock:
            return [
                c.text
                for c in sorted(self._comments.values(), key=lambda c: c.created_at)
                if c.object == message_id and c.deleted_at is None and self._is_ours(c.actor)
            ]

    def reactions(self, root: str) -> dict[str, str]:
        """The reactions on a post or comment: actor URN -> reaction type."""
        with self.lock:
            return {actor: kind for (actor, on), kind in self._reactions.items() if on == root}

    def _is_ours(self, actor: str) -> bool:
        prefix = "urn:li:person:"
        if actor.startswith(prefix):
            return actor[len(prefix) :] in self._members
        return self._org(actor) is not None

    def comments(self, post_urn: str) -> list[LinkedInComment]:
        """The comments (nested ones too) on a post that exist now, oldest first."""
        with self.lock:
            return [
                attrs.evolve(c)
                for c in self._comments.values()
                if c.post == post_urn and c.deleted_at is None
            ]

    def expire_tokens(self) -> None:
        """Make every access token issued so far expired (401; refresh tokens still work)."""
        with self.lock:
            now = self.clock.time()
            for token in self._tokens.values():
                token.expires_at = min(token.expires_at, now)

    def revoke_tokens(self) -> None:
        """Revoke every access and refresh token issued so far."""
        with self.lock:
            for token in self._tokens.values():
                token.revoked = True
            self._refresh.clear()

    def set_quota(self, bucket: str, limit: int, window: float, *, app: bool = False) -> None:
        """Change one quota (per member, or per app with ``app=True``), e.g. 2 posts per
        second so that tests reach it."""
        with self.lock:
            (self.app_quotas if app else self.quotas)[bucket] = (limit, window)

    def engage(self, urn: str, **counts: int) -> None:
        """Add engagement (``likeCount=3``, ``commentCount=1``, ...) on top of the clock's.

        Raises:
            KeyError: no post has that URN.
        """
        with self.lock:
            extra = self._posts[urn].extra
            for key, value in counts.items():
                extra[key] = extra.get(key, 0) + value

    def fail_processing(self, urn: str) -> None:
        """Make an upload's processing fail (``PROCESSING_FAILED``).

        Raises:
            KeyError: no upload has that URN.
        """
        with self.lock:
            self._assets[urn].failed = True

    def statistics(self, urn: str) -> dict[str, float]:
        """A post's lifetime statistics now, as ``totalShareStatistics`` shows them.

        Raises:
            KeyError: no post has that URN.
        """
        with self.lock:
            return self._stats(self._posts[urn])

    @property
    def versions(self) -> frozenset[str]:
        """The ``LinkedIn-Version`` values accepted now (by the emulator clock, unless fixed
        when the emulator was made)."""
        if self._fixed_versions is not None:
            return self._fixed_versions
        return active_versions(self.clock.now())

    # -- plumbing ----------------------------------------------------------------------------

    def error(self, status: int, message: str, **extra: Any) -> httpx.Response:
        """LinkedIn's error body: ``{"status", "serviceErrorCode", "code", "message"}``."""
        body: dict[str, Any] = {"status": status}
        if "serviceErrorCode" in extra:
            body["serviceErrorCode"] = extra.pop("serviceErrorCode")
        if "code" in extra:
            body["code"] = extra.pop("code")
        body["message"] = message
        body.update(extra)
        return self.json(body, status=status)

    def _new_id(self) -> str:
        self._next_id += 1 + secrets.randbelow(1000)
        return str(self._next_id)

    def _issue(self, member: str, scopes: frozenset[str]) -> str:
        token = "AQV" + secrets.token_urlsafe(40)
        self._tokens[token] = _Token(member, scopes, self.clock.time() + self.token_lifetime)
        return token

    @staticmethod
    def _origin(request: httpx.Request) -> str:
        return f"{request.url.scheme}://{request.url.netloc.decode('ascii')}"

    def _authenticate(self, request: httpx.Request) -> _Caller:
        token = self._bearer(request)
        version = request.headers.get("linkedin-version", "").strip()
        if not version:
            raise _Refusal(
                400,
                "A version must be present. Please specify a version by adding the "
                "LinkedIn-Version header.",
                "VERSION_MISSING",
            )
        if version not in self.versions:
            # LinkedIn names the version as a date: 202404 -> "Requested version 20240401 is
            # not active" (the body many clients reported when a version was sunset).
            named = version.replace(".", "") if "." in version else f"{version}01"
            raise _Refusal(426, f"Requested version {named} is not active", "NONEXISTENT_VERSION")
        if request.headers.get("x-restli-protocol-version", "") != "2.0.0":
            # Not LinkedIn's wording: Rest.li 1.0 cannot read List(...) or encoded keys.
            raise _Refusal(
                400,
                "Rest.li protocol 2.0.0 is required: send X-Restli-Protocol-Version: 2.0.0",
                "ILLEGAL_ARGUMENT",
            )
        return _Caller(self._members[token.member], token, version)

    def _bearer(self, request: httpx.Request) -> _Token:
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        token = self._tokens.get(value.strip()) if scheme.lower() == "bearer" else None
        if token is None:
            raise _Refusal(401, "Invalid access token", "INVALID_ACCESS_TOKEN", 65600)
        if token.revoked:
            raise _Refusal(
                401,
                "The token used in the request has been revoked by the user",
                "REVOKED_ACCESS_TOKEN",
                65602,
            )
        if self.clock.time() >= token.expires_at:
            raise _Refusal(
                401, "The token used in the request has expired", "EXPIRED_ACCESS_TOKEN", 65601
            )
        return token

    def _window_index(self, window: float, now: float) -> int:
        return math.floor(now / window)

    def _spend(self, caller: _Caller, bucket: str) -> None:
        now = self.clock.time()
        checks = []
        for scope, quotas in ((caller.member.id, self.quotas), ("app", self.app_quotas)):
            if bucket not in quotas:
                continue
            limit, window = quotas[bucket]
            key = (scope, bucket, self._window_index(window, now))
            used = self._hits.get(key, 0)
            if used >= limit:
                raise _Refusal(
                    429,
                    "Resource level throttle limit for calls to this resource is reached.",
                    "TOO_MANY_REQUESTS",
                    101,
                )
            checks.append(key)
        for key in checks:
            self._hits[key] = self._hits.get(key, 0) + 1

    def _can_write_as(self, caller: _Caller, author: str) -> bool:
        return self._acts_for(caller, author, "w_member_social", "w_organization_social")

    def _can_read(self, caller: _Caller, author: str) -> bool:
        return self._acts_for(caller, author, "r_member_social", "r_organization_social")

    def _acts_for(self, caller: _Caller, author: str, member_scope: str, org_scope: str) -> bool:
        """Whether ``caller``'s token lets them act for ``author``: themself with
        ``member_scope``, an organization they administer with ``org_scope``."""
        if author == caller.member.urn:
            return member_scope in caller.token.scopes
        org = self._org(author)
        return (
            org is not None and caller.member.id in org.admins and org_scope in caller.token.scopes
        )

    def _followers(self, author: _Author) -> int:
        """The author's followers now: those at the start and each day's growth since."""
        return self.grown(author.followers, author.followers_per_day, author.created_at, per=86_400)

    def _org(self, urn: str) -> _Organization | None:
        prefix = "urn:li:organization:"
        return self._orgs.get(urn[len(prefix) :]) if urn.startswith(prefix) else None

    def _denied(self, what: str, caller: _Caller) -> _Refusal:
        return _Refusal(
            403,
            f"Not enough permissions to access: {what}.{caller.version}00",
            "ACCESS_DENIED",
            100,
        )

    @staticmethod
    def _body(request: httpx.Request) -> dict[str, Any]:
        try:
            data = json.loads(request.content or b"{}")
        except ValueError:
            raise _Refusal(400, "Invalid JSON in the request body", "ILLEGAL_ARGUMENT") from None
        if not isinstance(data, dict):
            raise _Refusal(400, "Invalid JSON in the request body", "ILLEGAL_ARGUMENT")
        return data

    # -- OAuth -------------------------------------------------------------------------------

    def oauth_app(
        self,
        *,
        redirect_uri: str | Iterable[str],
        scopes: str | Iterable[str],
        refresh_tokens: bool = False,
    ) -> LinkedInOAuthApp:
        """Register an app for 3-legged OAuth: ``GET /oauth/v2/authorization`` consents at
        once as a member who administers a page (made on first use) and redirects (302)
        with ``code`` and ``state``; ``POST /oauth/v2/accessToken`` exchanges the code.

        Args:
            redirect_uri: the authorized redirect URL(s).
            scopes: the scopes the app may ask for (space-separated or a list).
            refresh_tokens: hand out refresh tokens (LinkedIn does so only for approved
                Marketing Developer Platform partners).
        """
        uris = (redirect_uri,) if isinstance(redirect_uri, str) else tuple(redirect_uri)
        allowed = tuple(scopes.split()) if isinstance(scopes, str) else tuple(scopes)
        with self.lock:
            app = LinkedInOAuthApp(
                "78" + secrets.token_hex(6),
                secrets.token_urlsafe(12),
                uris,
                allowed,
                refresh_tokens,
            )
            self._apps[app.client_id] = app
            return app

    def add_organizations(self, count: int) -> list[str]:
        """``count`` more pages that the member who consents through `oauth_app`
        administers (an agency's member runs many); returns their URNs."""
        with self.lock:
            admin = self._consenting_member()
            urns = []
            for _ in range(count):
                urns.append(self._new_org(self.clock.time(), admin).urn)
            return urns

    def _consenting_member(self) -> str:
        if self._consenting is None:
            now = self.clock.time()
            member = self._new_member(now)
            self._new_org(now, member.id)
            self._consenting = member.id
        return self._consenting

    def _new_member(
        self, now: float, followers: int = 0, followers_per_day: float = 0.0
    ) -> _Member:
        """A new member, made at ``now`` and kept: a random id, "Member <n>"."""
        member = _Member(
            id=secrets.token_urlsafe(6).replace("-", "a").replace("_", "b"),
            name=f"Member {len(self._members) + 1}",
            followers=followers,
            followers_per_day=followers_per_day,
            created_at=now,
        )
        self._members[member.id] = member
        return member

    def _new_org(
        self, now: float, admin: str, followers: int = 0, followers_per_day: float = 0.0
    ) -> _Organization:
        """A new organization that the member ``admin`` administers, made at ``now`` and
        kept: ids count up from 100001, "Brand <n>"."""
        org = _Organization(
            id=str(100_000 + len(self._orgs) + 1),
            name=f"Brand {len(self._orgs) + 1}",
            admins={admin},
            followers=followers,
            followers_per_day=followers_per_day,
            created_at=now,
        )
        self._orgs[org.id] = org
        return org

    @route("GET", r"/oauth/v2/authorization")
    def _authorization(self, request: httpx.Request) -> httpx.Response:
        q = dict(request.url.params)
        app = self._apps.get(q.get("client_id", ""))
        redirect = q.get("redirect_uri", "")
        if app is None or redirect not in app.redirect_uris:
            # LinkedIn shows an error page; it never redirects to an unregistered URL.
            return self.html("<p>The redirect_uri does not match the registered value</p>", 400)
        state = q.get("state", "")

        def back(**params: str) -> httpx.Response:
            if state:
                params["state"] = state
            return self.redirect(redirect, params)

        scopes = frozenset(q.get("scope", "").split())
        if q.get("response_type") != "code":
            return back(error="invalid_request", error_description="Invalid response_type")
        if not scopes or not scopes <= set(app.scopes):
            return back(
                error="unauthorized_scope_error",
                error_description="Scope is not authorized for your application",
            )
        with self.lock:
            if self._consent_refused():
                return back(
                    error="user_cancelled_authorize",
                    error_description="The user cancelled the authorization",
                )
            code = "AQ" + secrets.token_urlsafe(60)
            self._codes[code] = _OAuthCode(
                app.client_id,
                redirect,
                self._consenting_member(),
                scopes,
                self.clock.time() + CODE_LIFETIME,
            )
        return back(code=code)

    def _authorization_code(self, form: dict[str, str], app: LinkedInOAuthApp) -> httpx.Response:
        # Spent by its first redemption, whatever the outcome.
        code = self._codes.pop(form.get("code", ""), None)
        now = self.clock.time()
        if (
            code is None
            or code.client_id != app.client_id
            or code.redirect_uri != form.get("redirect_uri")
            or now >= code.expires_at
        ):
            return self.json(
                {
                    "error": "invalid_request",
                    "error_description": "Unable to retrieve access token: appid/redirect "
                    "uri/code verifier does not match authorization code. Or authorization "
                    "code expired. Or external member binding exists",
                },
                status=400,
            )
        body: dict[str, Any] = {
            "access_token": self._issue(code.member, code.scopes),
            "expires_in": int(self.token_lifetime),
            "scope": ",".join(sorted(code.scopes)),
        }
        if app.refresh_tokens:
            refresh = secrets.token_urlsafe(48)
            self._refresh[refresh] = (code.member, code.scopes, now + self.refresh_lifetime)
            body["refresh_token"] = refresh
            body["refresh_token_expires_in"] = int(self.refresh_lifetime)
        return self.json(body)

    @route("POST", r"/oauth/v2/accessToken")
    def _access_token(self, request: httpx.Request) -> httpx.Response:
        form = dict(parse_qsl(request.content.decode("utf-8", "replace"), keep_blank_values=True))
        app = self._apps.get(form.get("client_id", ""))
        own = (
            form.get("client_id") == self.client_id
            and form.get("client_secret") == self.client_secret
        )
        if not own and (
            app is None
            or not secrets.compare_digest(
                form.get("client_secret", "").encode(), app.client_secret.encode()
            )
        ):
            return self.json(
                {"error": "invalid_client", "error_description": "Client authentication failed"},
                status=401,
            )
        if form.get("grant_type") == "authorization_code" and app is not None:
            return self._authorization_code(form, app)
        if form.get("grant_type") != "refresh_token":
            return self.json(
                {
                    "error": "unsupported_grant_type",
                    "error_description": "The grant type is not supported",
                },
                status=400,
            )
        found = self._refresh.get(form.get("refresh_token", ""))
        now = self.clock.time()
        if found is None or now >= found[2]:
            return self.json(
                {
                    "error": "invalid_grant",
                    "error_description": "The provided authorization grant or refresh token is "
                    "invalid, expired or revoked",
                },
                status=400,
            )
        member, scopes, refresh_expires = found
        return self.json(
            {
                "access_token": self._issue(member, scopes),
                "expires_in": int(self.token_lifetime),
                # LinkedIn hands back the same refresh token; its life is not extended.
                "refresh_token": form["refresh_token"],
                "refresh_token_expires_in": int(refresh_expires - now),
                "scope": ",".join(sorted(scopes)),
            }
        )

    # -- media -------------------------------------------------------------------------------

    def _status(self, asset: _Asset) -> str:
        if asset.failed:
            return "PROCESSING_FAILED"
        if asset.uploaded_at is None:
            return "WAITING_UPLOAD"
        delay = self.image_processing if asset.kind == "image" else self.video_processing
        return "AVAILABLE" if self.clock.time() >= asset.uploaded_at + delay else "PROCESSING"

    def _initialize(
        self, request: httpx.Request, caller: _Caller, kind: str, body: dict[str, Any]
    ) -> _Asset:
        init = body.get("initializeUploadRequest")
        if not isinstance(init, dict) or not isinstance(init.get("owner"), str):
            raise _missing("/initializeUploadRequest/owner")
        owner = init["owner"]
        if not self._can_write_as(caller, owner):
            raise self._denied(f"{kind}s.ACTION-initializeUpload", caller)
        size = 0
        if kind == "video":
            declared = init.get("fileSizeBytes")
            if not isinstance(declared, int) or declared <= 0:
                raise _missing("/initializeUploadRequest/fileSizeBytes")
            size = declared
        prefix = "C4E10AQ" if kind == "image" else "C5505AQ"
        asset = _Asset(
            urn=f"urn:li:{kind}:{prefix}{secrets.token_urlsafe(12)}",
            owner=owner,
            kind=kind,
            size=size,
            created_at=self.clock.time(),
            upload_id=secrets.token_urlsafe(18),
        )
        self._assets[asset.urn] = asset
        self._uploads[asset.upload_id] = asset.urn
        return asset

    @route("POST", r"/rest/images")
    @_rest(bucket="media")
    def _images_action(self, request: httpx.Request, caller: _Caller) -> httpx.Response:
        if request.url.params.get("action") != "initializeUpload":
            raise _Refusal(400, "Unsupported action", "ILLEGAL_ARGUMENT")
        asset = self._initialize(request, caller, "image", self._body(request))
        now_ms = int(self.clock.time() * 1000)
        return self.json(
            {
                "value": {
                    "uploadUrlExpiresAt": now_ms + 86_400_000,
                    "uploadUrl": f"{self._origin(request)}/dms-uploads/sp/v2/{asset.upload_id}"
                    "/uploaded-image/0",
                    "image": asset.urn,
                }
            }
        )

    @route("POST", r"/rest/videos")
    @_rest(bucket="media")
    def _videos_action(self, request: httpx.Request, caller: _Caller) -> httpx.Response:
        action = request.url.params.get("action")
        body = self._body(request)
        if action == "initializeUpload":
            asset = self._initialize(request, caller, "video", body)
            instructions = []
            for index, first in enumerate(range(0, asset.size, PART_SIZE)):
                instructions.append(
                    {
                        "uploadUrl": f"{self._origin(request)}/dms-uploads/sp/v2/"
                        f"{asset.upload_id}/uploaded-video/{index}",
                        "firstByte": first,
                        "lastByte": min(first + PART_SIZE, asset.size) - 1,
                    }
                )
            now_ms = int(self.clock.time() * 1000)
            return self.json(
                {
                    "value": {
                        "uploadUrlsExpireAt": now_ms + 86_400_000,
                        "video": asset.urn,
                        "uploadInstructions": instructions,
                        "uploadToken": "",
                    }
                }
            )
        if action == "finalizeUpload":
            final = body.get("finalizeUploadRequest") or {}
            asset_or_none = self._assets.get(str(final.get("video")))
            if asset_or_none is None or asset_or_none.kind != "video":
                raise _Refusal(404, "Video not found", "NOT_FOUND")
            asset = asset_or_none
            if not self._can_write_as(caller, asset.owner):
                raise self._denied("videos.ACTION-finalizeUpload", caller)
            parts = final.get("uploadedPartIds") or []
            expected = math.ceil(asset.size / PART_SIZE)
            indexes = [asset.etags.get(str(p)) for p in parts]
            if sorted(i for i in indexes if i is not None) != list(range(expected)):
                raise _Refusal(
                    400,
                    "The uploaded part ids do not match the parts of this upload",
                    "ILLEGAL_ARGUMENT",
                )
            data = b"".join(asset.parts[i] for i in range(expected))
            asset.data = bytearray(data)
            asset.finalized = True
            asset.uploaded_at = self.clock.time()
            return httpx.Response(200)
        raise _Refusal(400, "Unsupported action", "ILLEGAL_ARGUMENT")

    @route(
        "PUT", r"/dms-uploads/sp/v2/(?P<upload>[^/]+)/uploaded-(?P<kind>image|video)/(?P<index>\d+)"
    )
    def _upload(self, request: httpx.Request, upload: str, kind: str, index: str) -> httpx.Response:
        urn = self._uploads.get(upload)
        asset = self._assets.get(urn or "")
        if asset is None or asset.kind != kind:
            return httpx.Response(404)
        data = request.content
        if kind == "image":
            found = sniff(data[: 64 * 1024])
            if found is None or found[1] == "video":
                return httpx.Response(400)
            asset.data = bytearray(data)
            asset.size = len(data)
            asset.mime_type = found[0]
            dims = _dimensions(found[0], data[: 64 * 1024])
            if dims:
                asset.width, asset.height = dims
            asset.uploaded_at = self.clock.time()
            return httpx.Response(201)
        part = int(index)
        first = part * PART_SIZE
        expected = min(first + PART_SIZE, asset.size) - first
        if len(data) != expected:
            return httpx.Response(400)
        asset.parts[part] = data
        etag = f"/ambry-video/signedId/{secrets.token_urlsafe(16)}"
        asset.etags[etag] = part
        return httpx.Response(200, headers={"etag": etag})

    def _asset_json(self, asset: _Asset) -> dict[str, Any]:
        data: dict[str, Any] = {
            "owner": asset.owner,
            "status": self._status(asset),
            "id": asset.urn,
        }
        if data["status"] == "AVAILABLE":
            data["downloadUrl"] = f"https://media.licdn.example/{asset.upload_id}"
            data["downloadUrlExpiresAt"] = int((self.clock.time() + 3600) * 1000)
        if asset.kind == "video":
            data["duration"] = 0
            data["aspectRatioWidth"] = 16.0
            data["aspectRatioHeight"] = 9.0
        return data

    @route("GET", r"/rest/(?P<kind>image|video)s/(?P<urn>urn:li:(?:image|video):[^/]+)")
    @_rest(bucket="media")
    def _get_asset(
        self, request: httpx.Request, caller: _Caller, kind: str, urn: str
    ) -> httpx.Response:
        asset = self._assets.get(urn)
        if asset is None or asset.kind != kind:
            raise _Refusal(404, f"{kind.capitalize()} {urn} not found", "NOT_FOUND")
        return self.json(self._asset_json(asset))

    # -- posts -------------------------------------------------------------------------------

    def _check_media(self, caller: _Caller, author: str, item: Any, where: str) -> _Asset:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise _missing(f"{where}/id")
        asset = self._assets.get(item["id"])
        if asset is None or asset.owner != author:
            raise _Refusal(
                422,
                f"ERROR :: {where}/id :: {item['id']} is not a media of {author}",
                "INVALID_VALUE_FOR_FIELD",
            )
        if self._status(asset) != "AVAILABLE":
            raise _Refusal(
                422,
                f"ERROR :: {where}/id :: {asset.urn} is not AVAILABLE (status "
                f"{self._status(asset)})",
                "INVALID_VALUE_FOR_FIELD",
            )
        alt = item.get("altText")
        if alt is not None and (not isinstance(alt, str) or len(alt) > MAX_ALT_TEXT):
            raise _Refusal(
                422,
                f"ERROR :: {where}/altText :: length of altText is out of range 0..{MAX_ALT_TEXT}",
                "FIELD_LENGTH_TOO_LONG",
            )
        return asset

    def _check_content(self, caller: _Caller, author: str, content: Any) -> None:
        if content is None:
            return
        if not isinstance(content, dict) or len(content) != 1:
            raise _Refusal(
                422,
                "ERROR :: /content :: exactly one content type must be set",
                "UNPROCESSABLE_ENTITY",
            )
        ((kind, value),) = content.items()
        if kind == "media":
            self._check_media(caller, author, value, "/content/media")
        elif kind == "multiImage":
            images = value.get("images") if isinstance(value, dict) else None
            if not isinstance(images, list) or not 2 <= len(images) <= 20:
                raise _Refusal(
                    422,
                    "ERROR :: /content/multiImage/images :: a multiImage needs 2 to 20 images",
                    "INVALID_VALUE_FOR_FIELD",
                )
            for i, image in enumerate(images):
                asset = self._check_media(caller, author, image, f"/content/multiImage/images/{i}")
                if asset.kind != "image":
                    raise _Refusal(
                        422,
                        f"ERROR :: /content/multiImage/images/{i}/id :: only images may be used",
                        "INVALID_VALUE_FOR_FIELD",
                    )
        elif kind == "article":
            if not isinstance(value, dict) or not isinstance(value.get("source"), str):
                raise _missing("/content/article/source")
            thumb = value.get("thumbnail")
            if thumb is not None:
                self._check_media(caller, author, {"id": thumb}, "/content/article/thumbnail")
        else:
            raise _Refusal(
                422,
                f"ERROR :: /content/{kind} :: unrecognized field found but not allowed",
                "UNPROCESSABLE_ENTITY",
            )

    @route("POST", r"/rest/posts")
    @_rest(bucket="post")
    def _create_post(self, request: httpx.Request, caller: _Caller) -> httpx.Response:
        body = self._body(request)
        for name in sorted(set(body) - _POST_FIELDS):
            raise _Refusal(
                422,
                f"ERROR :: /{name} :: unrecognized field found but not allowed",
                "UNPROCESSABLE_ENTITY",
            )
        for name in ("author", "visibility", "distribution", "lifecycleState"):
            if name not in body:
                raise _missing(f"/{name}")
        author = str(body["author"])
        if not self._can_write_as(caller, author):
            raise self._denied("partnerApiPostsExternal.CREATE", caller)
        visibility = body["visibility"]
        if visibility not in _VISIBILITIES or (
            visibility == "CONNECTIONS" and not author.startswith("urn:li:person:")
        ):
            raise _Refusal(
                422,
                f"ERROR :: /visibility :: invalid value {visibility!r}",
                "INVALID_VALUE_FOR_FIELD",
            )
        if body["lifecycleState"] not in ("PUBLISHED", "DRAFT"):
            raise _Refusal(
                422, "ERROR :: /lifecycleState :: invalid value", "INVALID_VALUE_FOR_FIELD"
            )
        distribution = body["distribution"]
        if not isinstance(distribution, dict) or "feedDistribution" not in distribution:
            raise _missing("/distribution/feedDistribution")
        commentary = body.get("commentary")
        content = body.get("content")
        if commentary is None and content is None:
            raise _missing("/commentary")
        commentary = str(commentary or "")
        kept, visible, cut = parse_little_text(commentary)
        if len(visible) > MAX_COMMENTARY:
            raise _Refusal(
                422,
                f"ERROR :: /commentary :: length of commentary is out of range 0..{MAX_COMMENTARY}",
                "FIELD_LENGTH_TOO_LONG",
            )
        self._check_content(caller, author, content)
        now = self.clock.time()
        for other in self._posts.values():
            if (
                other.deleted_at is None
                and other.author == author
                and other.sent_commentary == commentary
                and other.content == content
                and now - other.created_at < self.duplicate_window
            ):
                raise _Refusal(422, f"Content is a duplicate of {other.urn}", "DUPLICATE_POST", 0)
        post = LinkedInPost(
            urn=f"urn:li:share:{self._new_id()}",
            author=author,
            commentary=kept,
            sent_commentary=commentary,
            text=visible,
            truncated=cut,
            visibility=str(visibility),
            content=content if isinstance(content, dict) else None,
            lifecycle_state=str(body["lifecycleState"]),
            reshare_disabled=bool(body.get("isReshareDisabledByAuthor", False)),
            created_at=now,
        )
        self._posts[post.urn] = post
        return httpx.Response(201, headers={"x-restli-id": post.urn, "x-linkedin-id": post.urn})

    def _post_json(self, post: LinkedInPost) -> dict[str, Any]:
        ms = int(post.created_at * 1000)
        data: dict[str, Any] = {
            "id": post.urn,
            "author": post.author,
            "commentary": post.commentary,
            "visibility": post.visibility,
            "distribution": {
                "feedDistribution": "MAIN_FEED",
                "targetEntities": [],
                "thirdPartyDistributionChannels": [],
            },
            "lifecycleState": post.lifecycle_state,
            "lifecycleStateInfo": {"isEditedByAuthor": False},
            "isReshareDisabledByAuthor": post.reshare_disabled,
            "createdAt": ms,
            "lastModifiedAt": ms,
            "publishedAt": ms,
        }
        if post.content is not None:
            data["content"] = post.content
        return data

    @route("GET", r"/rest/posts")
    @_rest(bucket="read")
    def _find_posts(self, request: httpx.Request, caller: _Caller) -> httpx.Response:
        params = request.url.params
        if params.get("q") != "author":
            raise _Refusal(400, "Unsupported finder", "ILLEGAL_ARGUMENT")
        author = params.get("author", "")
        if not self._can_read(caller, author):
            raise self._denied("partnerApiPostsExternal.FINDER-author", caller)
        items = [p for p in self._posts.values() if p.author == author and p.deleted_at is None]
        items.sort(key=lambda p: p.created_at, reverse=True)
        page, paging = _paged(request, items)
        return self.json({"paging": paging, "elements": [self._post_json(p) for p in page]})

    def _live_post(self, urn: str) -> LinkedInPost:
        post = self._posts.get(urn)
        if post is None or post.deleted_at is not None:
            raise _Refusal(404, f"Post {urn} not found", "NOT_FOUND")
        return post

    @route("GET", r"/rest/posts/(?P<urn>urn:li:(?:share|ugcPost):[^/]+)")
    @_rest(bucket="read")
    def _get_post(self, request: httpx.Request, caller: _Caller, urn: str) -> httpx.Response:
        post = self._live_post(urn)
        if not self._can_read(caller, post.author):
            raise self._denied("partnerApiPostsExternal.GET", caller)
        return self.json(self._post_json(post))

    @route("DELETE", r"/rest/posts/(?P<urn>urn:li:(?:share|ugcPost):[^/]+)")
    @_rest(bucket="delete")
    def _delete_post(self, request: httpx.Request, caller: _Caller, urn: str) -> httpx.Response:
        post = self._posts.get(urn)
        if post is None:
            raise _Refusal(404, f"Post {urn} not found", "NOT_FOUND")
        if not self._can_write_as(caller, post.author):
            raise self._denied("partnerApiPostsExternal.DELETE", caller)
        if post.deleted_at is None:
            post.deleted_at = self.clock.time()
        return httpx.Response(204)

    # -- who am I: the member and the pages they administer ----------------------------------

    @route("GET", r"/v2/userinfo")
    def _userinfo(self, request: httpx.Request) -> httpx.Response:
        # OpenID Connect's userinfo: unversioned, scopes openid and profile (email adds the
        # address). Errors here are LinkedIn's REST shape too.
        token = self._bearer(request)
        if not {"openid", "profile"} <= token.scopes:
            raise _Refusal(
                403,
                "Not enough permissions to access: userinfo.GET.NO_VERSION",
                "ACCESS_DENIED",
                100,
            )
        member = self._members[token.member]
        given, _, family = member.name.partition(" ")
        info: dict[str, Any] = {
            "sub": member.id,
            "name": member.name,
            "given_name": given,
            "family_name": family,
            "picture": f"https://media.licdn.com/dms/image/{member.id}/profile-displayphoto",
            "locale": {"country": "US", "language": "en"},
        }
        if "email" in token.scopes:
            info.update(email=f"{member.id.lower()}@example.com", email_verified=True)
        return self.json(info)

    @route("GET", r"/rest/organizationAcls")
    @_rest(bucket="read")
    def _organization_acls(self, request: httpx.Request, caller: _Caller) -> httpx.Response:
        # Which organizations the member may act for: how a tool finds its page's URN.
        params = request.url.params
        if params.get("q") != "roleAssignee":
            raise _Refusal(400, "Unsupported finder", "ILLEGAL_ARGUMENT")
        if not {"rw_organization_admin", "r_organization_admin"} & caller.token.scopes:
            raise self._denied("organizationAcls.FINDER-roleAssignee", caller)
        role, state = params.get("role", "ADMINISTRATOR"), params.get("state", "APPROVED")
        # Rest.li finders answer a page: 10 unless ``count`` says otherwise.
        items = [
            {
                "roleAssignee": caller.member.urn,
                "state": "APPROVED",
                "role": "ADMINISTRATOR",
                "organization": org.urn,
            }
            for org in self._orgs.values()
            if caller.member.id in org.admins and role == "ADMINISTRATOR" and state == "APPROVED"
        ]
        page, paging = _paged(request, items)
        return self.json({"paging": paging, "elements": page})

    # -- comments ----------------------------------------------------------------------------

    def _comment_target(self, target: str) -> str | None:
        """The live post a comment on ``target`` (a post or a comment URN) belongs to."""
        if target.startswith("urn:li:comment:"):
            parent = self._comments.get(target)
            if parent is None or parent.deleted_at is not None:
                return None
            target = parent.post
        post = self._posts.get(target)
        return post.urn if post is not None and post.deleted_at is None else None

    def _store_comment(
        self, target: str, post: str, actor: str, agent: str | None, text: str
    ) -> LinkedInComment:
        cid = self._new_id()
        comment = LinkedInComment(
            id=cid,
            urn=f"urn:li:comment:({post},{cid})",
            object=target,
            post=post,
            actor=actor,
            agent=agent,
            text=text,
            created_at=self.clock.time(),
        )
        self._comments[comment.urn] = comment
        return comment

    def _comment_json(self, c: LinkedInComment) -> dict[str, Any]:
        ms = int(c.created_at * 1000)
        stamp = {"actor": c.actor, "time": ms}
        modified = (
            stamp
            if c.modified_at is None
            else {"actor": c.actor, "time": int(c.modified_at * 1000)}
        )
        nested = sum(1 for o in self._comments.values() if o.object == c.urn and not o.deleted_at)
        data: dict[str, Any] = {
            "id": c.id,
            "commentUrn": c.urn,
            "$URN": c.urn,
            "actor": c.actor,
            "object": c.object,
            "message": {"text": c.text, "attributes": []},
            "created": stamp,
            "lastModified": modified,
            "likesSummary": {
                "totalLikes": sum(1 for (_, on) in self._reactions if on == c.urn),
                "likedByCurrentUser": False,
            },
            "commentsSummary": {
                "totalFirstLevelComments": nested,
                "aggregatedTotalComments": self._comments_below(c.urn),
            },
        }
        if c.agent is not None:
            data["agent"] = c.agent
        if c.object.startswith("urn:li:comment:"):
            data["parentComment"] = c.object
        return data

    def _comments_below(self, urn: str) -> int:
        """The live comments at every level under ``urn`` (LinkedIn's aggregated count)."""
        found, level = 0, [urn]
        while level:
            below = [
                o.urn for o in self._comments.values() if o.object in level and not o.deleted_at
            ]
            found += len(below)
            level = below
        return found

    def _readable_post(self, caller: _Caller, target: str, what: str) -> str:
        post = self._comment_target(target)
        if post is None:
            raise _Refusal(404, f"Entity {target} not found", "NOT_FOUND")
        if not self._can_read(caller, self._posts[post].author):
            raise self._denied(what, caller)
        return post

    @route("GET", r"/rest/socialActions/(?P<target>urn:li:[^/]+)/comments")
    @_rest(bucket="read")
    def _list_comments(
        self, request: httpx.Request, caller: _Caller, target: str
    ) -> httpx.Response:
        self._readable_post(caller, target, "partnerApiSocialActions.GET_ALL")
        items = [c for c in self._comments.values() if c.object == target and not c.deleted_at]
        page, paging = _paged(request, items, self.comment_page_max)
        return self.json({"paging": paging, "elements": [self._comment_json(c) for c in page]})

    @route("POST", r"/rest/socialActions/(?P<target>urn:li:[^/]+)/comments")
    @_rest(bucket="comment")
    def _create_comment(
        self, request: httpx.Request, caller: _Caller, target: str
    ) -> httpx.Response:
        body = self._body(request)
        for name in ("actor", "object", "message"):
            if name not in body:
                raise _missing(f"/{name}")
        actor, obj, message = str(body["actor"]), str(body["object"]), body["message"]
        # Not LinkedIn's documented wording: the object must be the entity in the path.
        if obj != target and not target.startswith("urn:li:comment:"):
            raise _Refusal(
                400, f"ERROR :: /object :: {obj} does not match {target}", "INVALID_VALUE_FOR_FIELD"
            )
        text = message.get("text") if isinstance(message, dict) else None
        if not isinstance(text, str) or not text:
            raise _missing("/message/text")
        if len(text) > MAX_COMMENT:
            raise _Refusal(
                422,
                f"ERROR :: /message/text :: length of text is out of range 0..{MAX_COMMENT}",
                "FIELD_LENGTH_TOO_LONG",
            )
        if not self._can_write_as(caller, actor):
            raise self._denied("partnerApiSocialActions.CREATE", caller)
        post = self._comment_target(target)
        if post is None:
            raise _Refusal(404, f"Entity {target} not found", "NOT_FOUND")
        agent = caller.member.urn if actor != caller.member.urn else None
        comment = self._store_comment(target, post, actor, agent, text)
        return self.json(
            self._comment_json(comment),
            status=201,
            headers={"x-restli-id": comment.id, "x-linkedin-id": comment.id},
        )

    @route("DELETE", r"/rest/socialActions/(?P<target>urn:li:[^/]+)/comments/(?P<cid>\d+)")
    @_rest(bucket="delete")
    def _delete_comment(
        self, request: httpx.Request, caller: _Caller, target: str, cid: str
    ) -> httpx.Response:
        found = [
            c
            for c in self._comments.values()
            if c.id == cid and (c.object == target or c.post == target) and not c.deleted_at
        ]
        if not found:
            raise _Refusal(404, f"Comment {cid} on {target} not found", "NOT_FOUND")
        comment = found[0]
        actor = request.url.params.get("actor") or comment.actor
        # Only the author (or an admin of the organization that wrote it) deletes a comment;
        # LinkedIn documents no way to delete other people's comments (engagement notes).
        if actor != comment.actor or not self._can_write_as(caller, actor):
            raise self._denied("partnerApiSocialActions.DELETE", caller)
        self._remove_comment(comment)
        return httpx.Response(204)

    def _remove_comment(self, comment: LinkedInComment) -> None:
        """Delete ``comment`` and the comments under it, at every level."""
        now = self.clock.time()
        level = [comment]
        while level:
            for c in level:
                c.deleted_at = now
            urns = {c.urn for c in level}
            level = [c for c in self._comments.values() if c.object in urns and not c.deleted_at]

    # -- reactions ---------------------------------------------------------------------------

    @route("POST", r"/rest/reactions")
    @_rest(bucket="comment")
    def _create_reaction(self, request: httpx.Request, caller: _Caller) -> httpx.Response:
        actor = request.url.params.get("actor", "")
        if not actor:
            raise _Refusal(400, "Missing required parameter: actor", "ILLEGAL_ARGUMENT")
        body = self._body(request)
        root, kind = body.get("root"), body.get("reactionType")
        if not isinstance(root, str):
            raise _missing("/root")
        if kind not in ("LIKE", "PRAISE", "EMPATHY", "INTEREST", "APPRECIATION", "ENTERTAINMENT"):
            raise _Refusal(
                422, f"ERROR :: /reactionType :: invalid value {kind!r}", "INVALID_VALUE_FOR_FIELD"
            )
        if not self._can_write_as(caller, actor):
            raise self._denied("reactions.CREATE", caller)
        if self._comment_target(root) is None:
            raise _Refusal(404, f"Entity {root} not found", "NOT_FOUND")
        self._reactions[(actor, root)] = kind
        key = f"urn:li:reaction:({actor},{root})"
        stamp = {"actor": actor, "time": int(self.clock.time() * 1000)}
        return self.json(
            {
                "id": key,
                "root": root,
                "reactionType": kind,
                "created": stamp,
                "lastModified": stamp,
            },
            status=201,
            headers={"x-restli-id": key},
        )

    # -- statistics --------------------------------------------------------------------------

    def _stats(self, post: LinkedInPost) -> dict[str, float]:
        hours = max(0.0, self.clock.time() - post.created_at) / 3600
        weight = 1 + int(post.urn.rsplit(":", 1)[-1]) % 5
        impressions = int(hours * self.impressions_per_hour * weight)
        stats: dict[str, float] = {
            "impressionCount": impressions,
            "uniqueImpressionsCount": int(impressions * 0.6),
            "clickCount": impressions // 20,
            "likeCount": impressions // 25,
            "commentCount": impressions // 100,
            "shareCount": impressions // 200,
        }
        for key, value in post.extra.items():
            stats[key] = stats.get(key, 0) + value
        stats["commentCount"] += sum(
            1 for c in self._comments.values() if c.post == post.urn and c.deleted_at is None
        )
        engaged = sum(stats[k] for k in ("clickCount", "likeCount", "commentCount", "shareCount"))
        stats["engagement"] = (
            engaged / stats["impressionCount"] if stats["impressionCount"] else 0.0
        )
        return stats

    @staticmethod
    def _list_param(value: str | None) -> list[str]:
        if not value:
            return []
        match = re.fullmatch(r"List\((.*)\)", value)
        if match is None:
            raise _Refusal(400, "Invalid Rest.li list syntax", "ILLEGAL_ARGUMENT")
        return [v for v in match.group(1).split(",") if v]

    @route("GET", r"/rest/organizationalEntityShareStatistics")
    @_rest(bucket="stats")
    def _share_statistics(self, request: httpx.Request, caller: _Caller) -> httpx.Response:
        params = request.url.params
        org = self._org(params.get("organizationalEntity", ""))
        if params.get("q") != "organizationalEntity" or org is None:
            raise _Refusal(400, "Invalid organizationalEntity", "ILLEGAL_ARGUMENT")
        if caller.member.id not in org.admins or "rw_organization_admin" not in caller.token.scopes:
            raise self._denied("organizationalEntityShareStatistics.FINDER", caller)
        wanted = self._list_param(params.get("shares")) + self._list_param(params.get("ugcPosts"))
        now = self.clock.time()
        elements = []
        if wanted:
            for urn in wanted:
                post = self._posts.get(urn)
                if (
                    post is None
                    or post.author != org.urn
                    or post.deleted_at is not None
                    or now - post.created_at > 365 * 86_400
                ):
                    continue
                key = "share" if urn.startswith("urn:li:share:") else "ugcPost"
                elements.append(
                    {
                        "organizationalEntity": org.urn,
                        key: urn,
                        "totalShareStatistics": self._stats(post),
                    }
                )
        else:
            total: dict[str, float] = {}
            for post in self._posts.values():
                if post.author == org.urn and post.deleted_at is None:
                    for k, v in self._stats(post).items():
                        total[k] = total.get(k, 0) + v
            elements.append({"organizationalEntity": org.urn, "totalShareStatistics": total})
        return self.json({"paging": {"start": 0, "count": 10, "links": []}, "elements": elements})

    @route("GET", r"/rest/networkSizes/(?P<urn>urn:li:organization:\d+)")
    @_rest(bucket="stats")
    def _network_size(self, request: httpx.Request, caller: _Caller, urn: str) -> httpx.Response:
        org = self._org(urn)
        if org is None:
            raise _Refusal(404, f"Organization {urn} not found", "NOT_FOUND")
        if request.url.params.get("edgeType") != "COMPANY_FOLLOWED_BY_MEMBER":
            raise _Refusal(400, "Invalid edgeType", "ILLEGAL_ARGUMENT")
        return self.json({"firstDegreeSize": self._followers(org)})

    @route("GET", r"/rest/memberFollowersCount")
    @_rest(bucket="stats")
    def _member_followers(self, request: httpx.Request, caller: _Caller) -> httpx.Response:
        if "r_member_profileAnalytics" not in caller.token.scopes:
            raise self._denied("memberFollowersCount.FINDER-me", caller)
        count = self._followers(caller.member)
        return self.json(
            {
                "paging": {"start": 0, "count": 10, "links": []},
                "elements": [{"memberFollowersCount": count}],
            }
        )
