"""LinkedIn (Posts API, REST, versioned): posts as a member or an organization.

Facts used here (``platforms.md`` §4, checked against learn.microsoft.com where noted in
``docs/platforms/linkedin.md``):

- Every call sends ``Authorization: Bearer``, ``LinkedIn-Version: YYYYMM`` (the account's
  ``version``) and ``X-Restli-Protocol-Version: 2.0.0``; URNs in paths are URL-encoded.
- ``commentary`` is "little text": the characters ``\\ | { } @ [ ] ( ) < > # * _ ~`` are
  reserved and must be backslash-escaped, else LinkedIn answers 201 and silently cuts the
  text at the first unescaped one. `little_text` escapes everything, turns ``#tag``
  into ``{hashtag|\\#|tag}`` templates (clickable hashtags) and keeps mentions written as
  ``@[Name](urn:li:organization:123)``.
- Images: ``POST /rest/images?action=initializeUpload`` then ``PUT`` the bytes to the
  ``uploadUrl``; videos: ``POST /rest/videos?action=initializeUpload``, ``PUT`` each byte
  range of ``uploadInstructions`` (keeping each ``ETag``), ``finalizeUpload``; both are
  polled (``GET /rest/images|videos/{urn}``) until ``AVAILABLE`` before the post is made.
- ``POST /rest/posts`` answers 201 with an empty body; the post's URN is the ``x-restli-id``
  header. There is no idempotency, but a repeat is refused with 422 "Content is a
  duplicate of urn:li:share:…", which names the live post: brandkit takes it as the result
  when it was made since the part began (``GET /rest/posts/{urn}``), and refuses the part
  when it is older (another delivery's post).
- After an ambiguous create, ``GET /rest/posts?q=author`` reads the author's recent posts
  back (`LinkedInAdapter.find_part`).
- Rate limits are daily per app and per member, unpublished, with no headers: a bare 429 is
  [`RateLimited`][brandkit.errors.RateLimited] without a reset, and the governor backs off.
- Tokens live 60 days; partner apps get refresh tokens (``POST
  https://www.linkedin.com/oauth/v2/accessToken``, ``grant_type=refresh_token``).
- Conversations (`LinkedInAdapter.inbox`): comments on the author's recent posts, read
  with ``GET /rest/posts?q=author`` (one request) and ``GET
  /rest/socialActions/{urn}/comments`` (per post, 100 a page; nested comments per comment
  whose counts changed, or whose last read is older than ``nested_recheck``: LinkedIn gives
  only their counts, which a deletion and a new one leave unchanged). LinkedIn has no
  "since" filter, so the cursor remembers, per post, the newest comment time seen, the
  comments of that millisecond and the answered comments' counts. Answers are
  comments (``POST /rest/socialActions/{urn}/comments``, ``parentComment`` for a nested
  one); likes are reactions (``POST /rest/reactions?actor=``). Mentions of a page come
  only as notifications, read with ``GET /rest/organizationalEntityNotifications?q=criteria``
  (``SHARE_MENTION``; `brandkit.platforms._linkedin_mentions`); comments on members'
  reshares are on the members' posts, which ``r_organization_social`` does not cover and
  no notification reports, so they are not read either; comments cannot be hidden;
  deleting other people's comments is not documented, so it is not offered.
- Metrics: organization posts through ``organizationalEntityShareStatistics`` (one request
  per batch); member post statistics exist only one metric of one post per request, so
  they come back unavailable with the reason. Followers: ``networkSizes`` (organizations),
  ``memberFollowersCount?q=me`` (members).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar
from urllib.parse import quote

import attrs
import httpx
import pydantic
import regex

from brandkit._counts import MetricCount
from brandkit._flow import Flow, Send, Wait
from brandkit.delivery import tid_time
from brandkit.errors import (
    AuthError,
    ConfigurationError,
    ContentError,
    MalformedResponse,
    PlatformError,
    PlatformUnavailable,
    RateLimited,
    Rejected,
)
from brandkit.inbox._model import Author, InboxPage, Message
from brandkit.metrics._sample import Metric, MetricSample
from brandkit.platforms._base import (
    Answer,
    Capabilities,
    PartRef,
    RatePolicy,
    ThreadContext,
    read_each,
    retry_after_of,
)
from brandkit.platforms._capabilities import BUILTIN_CAPABILITIES
from brandkit.platforms._linkedin_mentions import with_mentions
from brandkit.platforms._oauth import (
    RefreshingAdapter,
    TokenAnswer,
    expiry_after,
    parse_credentials,
)
from brandkit.text._urls import extract_urls

if TYPE_CHECKING:
    from brandkit.accounts import Account
    from brandkit.content._media import Media
    from brandkit.content._model import Link
    from brandkit.content._render import Rendered, RenderedPart

__all__ = ["LinkedInAdapter", "little_text", "post_url", "visible_text"]

RESERVED = frozenset("\\|{}@[]()<>#*_~")
VISIBILITIES = ("PUBLIC", "CONNECTIONS", "LOGGED_IN")

logger = logging.getLogger(__name__)

_MENTION = re.compile(r"@\[([^\]\n]+)\]\((urn:li:(?:person|organization):[A-Za-z0-9_-]+)\)")
# A hashtag's word takes combining marks (Indic and Thai vowel signs, decomposed accents) and
# the zero-width (non-)joiner, which \w alone would cut it at; it holds at least one letter.
_HASHTAG = regex.compile(
    r"(?<![\w\p{M}#＃&/])([#＃])([\w\p{M}\u200c\u200d]*[^\W\d_][\w\p{M}\u200c\u200d]*)"
)
_TEMPLATE = re.compile(r"\{hashtag\|\\?([#＃])\|([^}]*)\}")
_DUPLICATE = re.compile(r"duplicate of (urn:li:(?:share|ugcPost):\d+)")
_SPACE = re.compile(r"\s+")
_CLOCK_SLACK = timedelta(minutes=10)

# organizationalEntityShareStatistics → canonical metric.
_SHARE_STATS: tuple[tuple[str, Metric], ...] = (
    ("impressionCount", Metric.IMPRESSIONS),
    ("uniqueImpressionsCount", Metric.REACH),
    ("clickCount", Metric.LINK_CLICKS),
    ("likeCount", Metric.LIKES),
    ("commentCount", Metric.REPLIES),
    ("shareCount", Metric.REPOSTS),
)
# Parts whose uploads are kept for another attempt of their create (the newest ones).
_MAX_UPLOADS_KEPT = 64

# -- answers ---------------------------------------------------------------------------------
# Rest.li answers as LinkedIn documents them: URNs are strings, byte offsets and counts
# integers; nothing is coerced.

_Int = Annotated[int, pydantic.Strict()]
_Urn = Annotated[str, pydantic.StringConstraints(pattern=r"^urn:li:[A-Za-z]+:\S+$")]
_POST_URN = re.compile(r"urn:li:(?:share|ugcPost):\S+")
# Any post URN the posts request gave, as inbox cursors saved before kept (`_old_post`).
_OLD_POST_URN = re.compile(r"urn:li:[A-Za-z]+:\S+")
_UploadUrl = Annotated[str, pydantic.StringConstraints(pattern=r"^https?://[\x21-\x7e]+$")]
"""An upload URL brandkit PUTs to: http(s), printable ASCII (else no request can be made)."""


class _ImageUpload(Answer):
    uploadUrl: _UploadUrl
    image: _Urn


class _ImageInit(Answer):
    """``POST /rest/images?action=initializeUpload``."""

    value: _ImageUpload


class _Instruction(Answer):
    uploadUrl: _UploadUrl
    firstByte: Annotated[int, pydantic.Strict(), pydantic.Field(ge=0)]
    lastByte: Annotated[int, pydantic.Strict(), pydantic.Field(ge=0)]


class _VideoUpload(Answer):
    video: _Urn
    uploadInstructions: tuple[_Instruction, ...] = ()
    uploadToken: str = ""


class _VideoInit(Answer):
    """``POST /rest/videos?action=initializeUpload``: the parts to PUT."""

    value: _VideoUpload


class _Processing(Answer):
    """``GET /rest/images/{urn}`` or ``/rest/videos/{urn}``."""

    status: str


class _Post(Answer):
    """A post of ``GET /rest/posts?q=author`` as find-my-post compares it; strict, because
    a post brandkit cannot read might be the one looked for."""

    id: _Urn
    commentary: str | None = None
    content: pydantic.JsonValue = None
    lifecycleState: str = "PUBLISHED"
    createdAt: _Int | None = None
    publishedAt: _Int | None = None
    lastModifiedAt: _Int | None = None


class _Posts(Answer):
    elements: tuple[_Post, ...] = ()


class _InboxPost(Answer):
    """A post of ``GET /rest/posts?q=author`` as the inbox reads it: what it needs alone
    (its URN, a share or ugcPost one as the cursor keeps, and whether it is published), so
    that a field it does not use cannot cost the post's comments."""

    id: Annotated[str, pydantic.StringConstraints(pattern=r"^urn:li:(?:share|ugcPost):\S+$")]
    lifecycleState: str = "PUBLISHED"


class _InboxPosts(Answer):
    """The inbox's ``GET /rest/posts?q=author``: each post read on its own (see
    `Adapter.read_items`)."""

    elements: tuple[Any, ...] = ()


class _ShareTotals(Answer):
    """``totalShareStatistics``: the counts brandkit keeps (`_SHARE_STATS`); the rest
    (``engagement``, a rate) is not read."""

    impressionCount: MetricCount | None = None
    uniqueImpressionsCount: MetricCount | None = None
    clickCount: MetricCount | None = None
    likeCount: MetricCount | None = None
    commentCount: MetricCount | None = None
    shareCount: MetricCount | None = None

    def counts(self) -> dict[str, int]:
        """The counts LinkedIn sent, by their names."""
        return {k: v for k, v in self.model_dump().items() if v is not None}


class _ShareStatistics(Answer):
    """One element of ``organizationalEntityShareStatistics``; one that cannot be read
    costs only its own post's samples."""

    share: str | None = None
    ugcPost: str | None = None
    totalShareStatistics: _ShareTotals = _ShareTotals()


class _Statistics(Answer):
    elements: tuple[_ShareStatistics, ...] = ()


class _Elements(Answer):
    elements: tuple[dict[str, pydantic.JsonValue], ...] = ()


class _NetworkSize(Answer):
    """``GET /rest/networkSizes/{org}``."""

    firstDegreeSize: MetricCount


class _MemberFollowers(Answer):
    memberFollowersCount: MetricCount


class _MemberFollowersAnswer(Answer):
    """``GET /rest/memberFollowersCount?q=me``."""

    elements: Annotated[tuple[_MemberFollowers, ...], pydantic.Field(min_length=1)]


class _Text(Answer):
    text: str = ""


class _Stamp(Answer):
    # Milliseconds since the epoch, within what a datetime holds (years 1-9999).
    time: Annotated[_Int, pydantic.Field(ge=-62_135_596_800_000, le=253_402_300_799_000)]


class _CommentsSummary(Answer):
    totalFirstLevelComments: _Int = 0
    aggregatedTotalComments: _Int = 0


class _Comment(Answer):
    """One comment of ``GET /rest/socialActions/{urn}/comments`` (or of its creation)."""

    id: str
    commentUrn: _Urn
    actor: _Urn
    object: _Urn | None = None
    message: _Text = _Text()
    created: _Stamp
    # Its author's last edit (``created`` again while it was never edited).
    lastModified: _Stamp | None = None
    parentComment: _Urn | None = None
    commentsSummary: _CommentsSummary = _CommentsSummary()

    @property
    def edited(self) -> int | None:
        """When (ms) its author last edited it, or ``None`` when it was never edited."""
        modified = self.lastModified
        return modified.time if modified and modified.time > self.created.time else None


class _Paging(Answer):
    start: _Int = 0
    count: _Int = 0
    total: _Int | None = None


class _CommentPage(Answer):
    """``GET /rest/socialActions/{urn}/comments``: one page of comments, each read on its
    own (see `Adapter.read_items`)."""

    paging: _Paging = _Paging()
    elements: tuple[Any, ...] = ()


class _CommentMark(Answer):
    """What places a comment brandkit cannot read otherwise: its time."""

    created: _Stamp


def _comment_urn(item: Mapping[str, Any]) -> object:
    """The URN a comment names itself by (for a warning about it)."""
    return item.get("commentUrn") or item.get("id")


# The fields that name a comment (or a post) whatever else of it changes: its ids, who wrote
# it, what it is on, when. Its counts (likes, answers), text and edit time change.
_NAMING = (
    "commentUrn",
    "$URN",
    "id",
    "actor",
    "author",
    "object",
    "parentComment",
    "created",
    "createdAt",
)


def _skipped_key(item: Any, ident: Callable[[Mapping[str, Any]], object] = _comment_urn) -> str:
    """What the cursor knows a comment (or with ``ident`` `_post_id`, a post) brandkit
    cannot read by: its URN where readable, else a digest of the fields that name it
    (`_NAMING`, as they come), so that a like or an answer (a count in its JSON) does not
    make it one never met, logged again; with none of them, a digest of its whole JSON."""
    urn = ident(item) if isinstance(item, Mapping) else None
    if isinstance(urn, str) and len(urn) <= _MAX_KEY:
        return urn
    named: Any = item
    if isinstance(item, Mapping):
        fields = {k: item[k] for k in _NAMING if item.get(k) is not None}
        named = {"named": fields} if fields else item
    text = json.dumps(named, sort_keys=True, default=str, separators=(",", ":"))
    return "#" + hashlib.sha256(text.encode()).hexdigest()[:32]


@attrs.define
class _Unread:
    """The comments a read of a post skipped: their times (where readable) and their
    `_skipped_key`."""

    times: list[int] = attrs.field(factory=list)
    keys: list[str] = attrs.field(factory=list)


def _comment_time(item: Any) -> int | None:
    """The ``created`` time of a comment brandkit cannot read, when that much is readable."""
    try:
        return _CommentMark.model_validate(item).created.time
    except pydantic.ValidationError:
        return None


def _post_id(item: Mapping[str, Any]) -> object:
    """The URN a post brandkit cannot read names itself by (for a warning about it, and
    for the cursor to keep what it saw of it)."""
    return item.get("id")


@attrs.frozen
class _Listing:
    """The inbox's read of the author's recent posts: the published posts' URNs, newest
    first, for each post brandkit could not read its URN, or ``None``, and the
    `_skipped_key` of each of those (already logged: the cursor keeps them)."""

    posts: list[str]
    unreadable: list[object]
    skipped: tuple[str, ...] = ()


def _kept(seen: Mapping[str, _Seen], listing: _Listing, bound: int) -> dict[str, _Seen]:
    """What the cursor keeps of ``seen`` after ``listing``: the posts listed, and those
    listed but unreadable. The latter are not read while they stay so, and forgetting them
    would give all their comments again once they read (and ask again for every answered
    comment's answers); kept, only those made meanwhile come. Where an unreadable post names
    no URN brandkit can keep, any post of ``seen`` not listed might be it: those are kept,
    at most ``bound`` of them, so that the cursor stays bounded. The others, posts that
    left the window (or were deleted), are forgotten: the cursor stays bounded."""
    named = [u for u in listing.unreadable if isinstance(u, str) and _POST_URN.fullmatch(u)]
    kept = {urn: seen[urn] for urn in [*listing.posts, *named] if urn in seen}
    if len(named) < len(listing.unreadable):
        unlisted = [urn for urn in seen if urn not in kept]
        kept.update((urn, seen[urn]) for urn in unlisted[:bound])
    return kept


@attrs.frozen
class _Seen:
    """What the inbox cursor remembers of one post: the newest comment time (ms) seen, the
    comments at exactly that time, for each comment with nested comments their counts
    (first level, all levels) and when (epoch seconds) they were last read, for each
    edited comment the edit (its ``lastModified`` time, ms) last given, and the comments
    brandkit could not read (`_skipped_key`), already logged."""

    time: int = -1
    at_time: tuple[str, ...] = ()
    nested: Mapping[str, tuple[int, int, int]] = attrs.field(factory=dict)
    edits: Mapping[str, int] = attrs.field(factory=dict)
    skipped: tuple[str, ...] = ()
    # A post with more answered comments than `_MAX_NESTED_KEPT`: its own comments' counts
    # by group (`_group`), each group's digest of them and when it was last read.
    groups: Mapping[str, tuple[str, int]] = attrs.field(factory=dict)

    def is_new(self, comment: _Comment) -> bool:
        """Not given yet: newer than the mark, or skipped unreadable before."""
        t = comment.created.time
        return (
            t > self.time
            or (t == self.time and comment.commentUrn not in self.at_time)
            or comment.commentUrn in self.skipped
        )

    def is_edited(self, comment: _Comment) -> bool:
        """Its author edited it since the edit (or the creation) last given."""
        edited = comment.edited
        return edited is not None and edited > self.edits.get(comment.commentUrn, -1)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "t": self.time,
            "ids": list(self.at_time),
            "n": {urn: list(counts) for urn, counts in self.nested.items()},
        }
        if self.edits:
            out["e"] = dict(self.edits)
        if self.skipped:
            out["s"] = list(self.skipped)
        if self.groups:
            out["g"] = {g: list(known) for g, known in self.groups.items()}
        return out


_GROUPS = 256
"""Groups a very busy post's answered comments are checked in (`_group`)."""


def _group(urn: str) -> str:
    """The group of a very busy post's answered comment: a digest of its URN, so that each
    stays in its group whatever others come and go."""
    return str(int(hashlib.sha256(urn.encode()).hexdigest()[:8], 16) % _GROUPS)


def _group_digest(comments: Sequence[_Comment]) -> str:
    """What a group's comments and their answer counts come to: any answer made or deleted
    under one of them (or one answered first, or deleted) changes it."""
    text = json.dumps(
        sorted(
            (
                c.commentUrn,
                c.commentsSummary.totalFirstLevelComments,
                c.commentsSummary.aggregatedTotalComments,
            )
            for c in comments
        ),
        separators=(",", ":"),
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


_CURSOR_VERSION = 1
_MAX_NESTING = 8
"""Levels of comments on comments read below a post's own comments."""
_MAX_NESTED_KEPT = 1000
"""Comments per post whose nested counts the cursor keeps (the last read), edited comments
per post whose edit time it keeps (the newest edits), and unreadable comments per post it
keeps (the last met). A post with more answered comments of its own keeps theirs by group
(`_GROUPS`)."""
_MAX_KEY = 300
"""Characters of a comment URN the cursor keeps as it is (a longer one, a digest)."""
_MAX_POSTS = 100
"""Posts the inbox's posts request lists at most (its ``count``), so unreadable posts the
cursor keeps at most."""
_PAGING_RESTARTS = 2
"""Times the comments under one post or comment are read again from their first page when
their total fell while they were paged (a deletion moved the later ones back)."""


_MEMBER_REASON = (
    "LinkedIn reports a member's post statistics only through memberCreatorPostAnalytics "
    "(scope r_member_postAnalytics), one metric of one post per request; brandkit collects "
    "post metrics in batches, so it does not ask"
)


def little_text(text: str) -> str:
    """``text`` as LinkedIn's little-text ``commentary``: every reserved character
    backslash-escaped, ``#tag`` as a ``{hashtag|\\#|tag}`` template, and mentions written as
    ``@[Name](urn:li:person:…)`` / ``@[Name](urn:li:organization:…)`` kept as mentions."""
    out: list[str] = []
    position = 0
    for match in _MENTION.finditer(text):
        out.append(_escape_run(text[position : match.start()]))
        out.append(f"@[{_escape(match.group(1))}]({match.group(2)})")
        position = match.end()
    out.append(_escape_run(text[position:]))
    return "".join(out)


def _escape(text: str) -> str:
    # One pass: escaping "\" first and then the rest would double the new backslashes.
    return "".join("\\" + c if c in RESERVED else c for c in text)


def _escape_run(text: str) -> str:
    # A "#" inside a link is the link's (a fragment): as a template it would split the
    # link in two and make its tail a hashtag, so links are escaped as plain text.
    out: list[str] = []
    position = 0
    for url in extract_urls(text):
        out.append(_escape_hashtags(text, position, url.start))
        out.append(_escape(text[url.start : url.end]))
        position = url.end
    out.append(_escape_hashtags(text, position, len(text)))
    return "".join(out)


def _escape_hashtags(text: str, start: int, end: int) -> str:
    """``text[start:end]`` escaped, its hashtags as templates (the lookbehind still sees
    the characters before ``start``)."""
    out: list[str] = []
    position = start
    for match in _HASHTAG.finditer(text, start, end):
        out.append(_escape(text[position : match.start()]))
        sign = "\\#" if match.group(1) == "#" else match.group(1)
        out.append(f"{{hashtag|{sign}|{match.group(2)}}}")
        position = match.end()
    out.append(_escape(text[position:end]))
    return "".join(out)


def visible_text(commentary: str) -> str:
    """What readers see of a little-text ``commentary``: escapes removed, hashtag templates
    as ``#tag``, mentions as the mentioned name."""
    text = _TEMPLATE.sub(lambda m: m.group(1) + m.group(2), commentary)
    text = _MENTION.sub(lambda m: m.group(1), text)
    return re.sub(r"\\(.)", r"\1", text, flags=re.DOTALL)


def post_url(urn: str) -> str:
    """The public address of a post: ``https://www.linkedin.com/feed/update/{urn}/``."""
    return f"https://www.linkedin.com/feed/update/{urn}/"


class LinkedInAdapter(RefreshingAdapter):
    """Publishes as one LinkedIn member or organization (``Account.linkedin(author=...)``);
    see the module docstring for the protocol.

    ``Post.options`` understood here: ``visibility`` (``"PUBLIC"``, ``"CONNECTIONS"``,
    ``"LOGGED_IN"``), ``reshare_disabled`` (bool), ``video_title``.

    Attributes:
        media_poll_initial: the first wait before asking whether an upload is processed.
        media_poll_max: the longest wait between two polls.
        media_timeout: how long to wait for processing before giving up.
        readback_count: how many recent posts `find_part` reads per page.
        readback_pages: how many pages it reads at most.
        inbox_posts: how many of the author's most recent posts `inbox` reads the
            comments of (one ``GET /rest/posts`` page; at most 100).
        comment_page: comments asked for per page (``count``).
        comment_pages: most pages of comments read under one post or comment.
        nested_recheck: seconds after which a comment's nested comments are read again
            though their counts have not changed (one deleted and another made between two
            syncs leave the counts as they were; LinkedIn tells nothing else of them).
    """

    token_name: ClassVar[str] = "token"
    name: ClassVar[str] = "linkedin"
    adopts_duplicates: ClassVar[bool] = True
    # Comments are read and answered, and liked (reactions); hiding is not in the API, and
    # deleting other people's comments is not documented (see docs/platforms/linkedin.md).
    capabilities: ClassVar[Capabilities] = BUILTIN_CAPABILITIES["linkedin"]
    # LinkedIn publishes no numbers; "150 posts per day per member" is Ayrshare's (◐).
    rate_policies: ClassVar[tuple[RatePolicy, ...]] = (RatePolicy("post", 150, 86_400.0),)
    # No documented maximum for shares=List(...); 20 URNs keep the URL short.
    metrics_batch_size: ClassVar[int] = 20

    media_poll_initial: ClassVar[float] = 0.5
    media_poll_max: ClassVar[float] = 5.0
    media_timeout: ClassVar[float] = 900.0
    readback_count: ClassVar[int] = 50
    readback_pages: ClassVar[int] = 2
    inbox_posts: ClassVar[int] = 20
    comment_page: ClassVar[int] = 100
    comment_pages: ClassVar[int] = 50
    nested_recheck: ClassVar[float] = 6 * 3600.0

    def __init__(self, account: Account) -> None:
        super().__init__(account)
        self.clock: Callable[[], float] = lambda: datetime.now(UTC).timestamp()
        # Media uploaded for a part whose create has not succeeded yet, by the part's key.
        self._uploaded: dict[str, list[tuple[str, Media]]] = {}

    # -- identity ----------------------------------------------------------------------------

    @property
    def author(self) -> str:
        """The author URN (``urn:li:person:…`` or ``urn:li:organization:…``)."""
        return str(self.account.settings["author"])

    @property
    def is_organization(self) -> bool:
        """The account posts as an organization page."""
        return self.author.startswith("urn:li:organization:")

    @property
    def app_id(self) -> str:
        """The LinkedIn app (its client id): app-wide daily quotas are shared."""
        host = httpx.URL(self.account.base_url).host
        client_id = self.account.settings.get("client_id")
        return f"{host}:{client_id}" if client_id else host

    def public_url(self, ref: PartRef) -> str | None:
        """``https://www.linkedin.com/feed/update/{urn}/``."""
        return ref.url or post_url(ref.id)

    @property
    def oauth_url(self) -> str:
        """Where tokens are refreshed: ``https://www.linkedin.com/oauth/v2/accessToken`` for
        the real API, the account's own host otherwise (emulators, proxies), unless the
        account's settings name an ``oauth_url``."""
        configured = self.account.settings.get("oauth_url")
        if configured:
            return str(configured)
        base = httpx.URL(self.account.base_url)
        if base.host == "api.linkedin.com":
            return "https://www.linkedin.com/oauth/v2/accessToken"
        return f"{self.account.base_url}/oauth/v2/accessToken"

    # -- requests ----------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        query: str = "",
        body: Any = None,
        restli_method: str | None = None,
    ) -> httpx.Request:
        # Rest.li 2.0 query values (List(...), encoded URNs) are written by hand, so the URL
        # is given whole rather than through httpx's params encoding.
        url = f"{self.account.base_url}{path}" + (f"?{query}" if query else "")
        headers = {
            "authorization": f"Bearer {self.account.secret('token') or ''}",
            "linkedin-version": str(self.account.settings.get("version") or "202608"),
            "x-restli-protocol-version": "2.0.0",
        }
        if restli_method:
            headers["x-restli-method"] = restli_method
        content = None
        if body is not None:
            content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
            headers["content-type"] = "application/json"
        return httpx.Request(method, url, content=content, headers=headers)

    def _can_refresh(self) -> bool:
        return (
            self.account.has_secret("refresh_token")
            and self.account.has_secret("client_secret")
            and bool(self.account.settings.get("client_id"))
        )

    def _refresh(self, token_used: str | None) -> Flow[None]:
        """Trade the refresh token for a new access token; hand both to the account."""
        if self.account.secret("token") != token_used:
            return  # another flow of this account refreshed meanwhile
        form = {
            "grant_type": "refresh_token",
            "refresh_token": self.account.secret("refresh_token") or "",
            "client_id": str(self.account.settings["client_id"]),
            "client_secret": self.account.secret("client_secret") or "",
        }
        request = httpx.Request("POST", self.oauth_url, data=form)
        request.read()
        response = yield Send(request, bucket="oauth")
        token = parse_credentials(self, response, TokenAnswer)
        # Before update_secrets: its on_credentials_changed hook stores the new expiry too.
        self.token_expires_at = expiry_after(self.clock(), token.expires_in)
        # update_secrets never replaces the refresh token with an empty one.
        self.account.update_secrets(token=token.access_token, refresh_token=token.refresh_token)

    # -- publish -----------------------------------------------------------------------------

    def publish_part(
        self, rendered: Rendered, part: RenderedPart, thread: ThreadContext
    ) -> Flow[PartRef]:
        """Upload the media (alt text on each image), wait until LinkedIn has processed
        them, then create the post. A 422 duplicate that names a live post made since the
        part began is taken as the post (no second post is made); one that names an older
        post is refused (``Rejected(duplicate=True, existing_id=...)``).

        Raises:
            ContentError: LinkedIn has no threads (a part after the first); a bad
                ``visibility`` option, a ``reshare_disabled`` that is not a bool, or a
                ``video_title`` that is not text.
            PlatformError: LinkedIn refused (typed by `error_for`).
            MalformedResponse: a success answer brandkit cannot read (no id, a wrong type,
                not JSON); after the create, the post may exist and is looked up.
        """
        if thread.previous:
            raise ContentError(
                "linkedin has no threads: shorten the text to one post",
                field="text",
                platform=self.name,
            )
        if thread.reply_to is not None:
            return (yield from self._answer(part, thread.reply_to))
        body = self._post_body(rendered, part)
        card = self.link_card(rendered, part, thread)
        uploaded = self._uploaded.get(thread.key)
        if uploaded is None:
            uploaded = []
            for media in part.media:
                urn = yield from self._upload(media)
                uploaded.append((urn, media))
            if card is not None and card.thumbnail:
                urn = yield from self._upload(card.thumbnail)
                uploaded.append((urn, card.thumbnail))
            self._uploaded[thread.key] = uploaded
            while len(self._uploaded) > _MAX_UPLOADS_KEPT:
                self._uploaded.pop(next(iter(self._uploaded)))
        content = self._content(rendered, part, uploaded, card)
        if content:
            body["content"] = content
        try:
            return (yield from self._create(part, thread, body))
        except (Rejected, AuthError):
            # Refused for good: no attempt of this part will use the uploads (nor their
            # bytes, held in memory for the client's life).
            self._uploaded.pop(thread.key, None)
            raise

    def _create(
        self, part: RenderedPart, thread: ThreadContext, body: Mapping[str, Any]
    ) -> Flow[PartRef]:
        """``POST /rest/posts`` of ``body``, its 422 duplicate read (see `publish_part`)."""
        response = yield from self._send(
            lambda: self._request("POST", "/rest/posts", body=body),
            bucket="post",
            creates=True,
        )
        if response.status_code == 422:
            err = self.error_for(response)
            if isinstance(err, Rejected) and err.duplicate and err.existing_id:
                if err.existing_id in thread.taken:
                    raise Rejected(
                        f"{err}. LinkedIn refuses this post as a repeat of {err.existing_id}, "
                        "which another delivery of this account published: this one is not "
                        "posted (change the text to post it as well)",
                        platform=self.name,
                        status_code=err.status_code,
                        platform_message=err.platform_message,
                        code=err.code,
                        duplicate=True,
                        existing_id=err.existing_id,
                    )
                # LinkedIn names the live post with this very content: it is ours if an
                # earlier attempt of this part made it, not if it is older than the part.
                older = yield from self._made_before(err.existing_id, thread.key)
                if older is not None:
                    raise Rejected(
                        f"{err}. LinkedIn refuses this post as a repeat of {err.existing_id}, "
                        f"published before this delivery began (at {older:%Y-%m-%d %H:%M} "
                        "UTC): change the text, or delete that post first",
                        platform=self.name,
                        status_code=err.status_code,
                        platform_message=err.platform_message,
                        code=err.code,
                        duplicate=True,
                        existing_id=err.existing_id,
                    )
                self._uploaded.pop(thread.key, None)
                return self._ref(part.index, err.existing_id, duplicate=True)
            raise err
        self.check(response)
        urn = response.headers.get("x-restli-id") or response.headers.get("x-linkedin-id")
        if urn is None or not _POST_URN.fullmatch(urn):
            # The post may exist: MalformedResponse makes the delivery unknown (looked up).
            raise MalformedResponse(
                f"linkedin answered {response.status_code} to POST /rest/posts without the "
                f"post's URN in x-restli-id (got {urn!r})",
                platform=self.name,
                status_code=response.status_code,
                body=self.account.redact(response.text[:2000]),
            )
        self._uploaded.pop(thread.key, None)
        return self._ref(part.index, urn)

    def _made_before(self, urn: str, key: str) -> Flow[datetime | None]:
        """When the post ``urn`` was made, if that was before the part of ``key`` began (less
        the clocks' slack): then it is not this part's post. ``None`` when it was made since,
        or when that cannot be read (no read permission, an error): the duplicate is then
        taken as the part's own, as before any read."""
        started = tid_time(key)
        if started is None:
            return None
        try:
            response = yield from self._send(
                lambda: self._request("GET", f"/rest/posts/{_enc(urn)}"),
                bucket="read",
                idempotent=True,
            )
            post = self.parse(response, _Post)
        except PlatformError:
            return None
        made = post.createdAt if post.createdAt is not None else post.publishedAt
        if made is None or not 0 <= made <= 253_402_300_799_000:
            return None  # no time, or none a clock holds: nothing to decide on
        if made >= (started - _CLOCK_SLACK).timestamp() * 1000:
            return None
        return datetime.fromtimestamp(made / 1000, UTC)

    def _ref(self, index: int, urn: str, *, duplicate: bool = False) -> PartRef:
        extra: dict[str, Any] = {"author": self.author}
        if duplicate:
            extra["from_duplicate"] = True
        return PartRef(index=index, id=urn, url=post_url(urn), extra=extra)

    def _post_body(self, rendered: Rendered, part: RenderedPart) -> dict[str, Any]:
        visibility = str(rendered.options.get("visibility") or "PUBLIC").upper()
        if visibility not in VISIBILITIES:
            raise ContentError(
                f"LinkedIn visibility must be one of {', '.join(VISIBILITIES)}, got "
                f"{rendered.options.get('visibility')!r}",
                field="options.visibility",
                platform=self.name,
            )
        reshare_disabled = rendered.options.get("reshare_disabled", False)
        if not isinstance(reshare_disabled, bool):
            # Text such as "false" would read as True and disable resharing.
            raise ContentError(
                f"options.reshare_disabled must be True or False, not {reshare_disabled!r:.40}",
                field="options.reshare_disabled",
                platform=self.name,
            )
        title = rendered.options.get("video_title")
        if title is not None and not isinstance(title, str):
            raise ContentError(
                f"options.video_title must be text, not {title!r:.40}",
                field="options.video_title",
                platform=self.name,
            )
        return {
            "author": self.author,
            "commentary": little_text(part.text),
            "visibility": visibility,
            "distribution": {
                "feedDistribution": "MAIN_FEED",
                "targetEntities": [],
                "thirdPartyDistributionChannels": [],
            },
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": reshare_disabled,
        }

    def _content(
        self,
        rendered: Rendered,
        part: RenderedPart,
        uploaded: Sequence[tuple[str, Media]],
        link: Link | None,
    ) -> dict[str, Any] | None:
        if part.media:
            if len(uploaded) == 1:
                urn, media = uploaded[0]
                item: dict[str, Any] = {"id": urn}
                if media.kind == "video":
                    title = rendered.options.get("video_title")
                    if title:
                        item["title"] = title
                elif media.alt:
                    item["altText"] = media.alt
                return {"media": item}
            images = []
            for urn, media in uploaded:
                image: dict[str, Any] = {"id": urn}
                if media.alt:
                    image["altText"] = media.alt
                images.append(image)
            return {"multiImage": {"images": images}}
        if link is None:
            return None
        article: dict[str, Any] = {"source": link.url}
        if link.title:
            article["title"] = link.title
        if link.description:
            article["description"] = link.description
        if uploaded:
            article["thumbnail"] = uploaded[0][0]
            if uploaded[0][1].alt:
                article["thumbnailAltText"] = uploaded[0][1].alt
        return {"article": article}

    # -- media -------------------------------------------------------------------------------

    def _upload(self, media: Media) -> Flow[str]:
        if media.kind == "video":
            return (yield from self._upload_video(media))
        return (yield from self._upload_image(media))

    def _upload_image(self, media: Media) -> Flow[str]:
        init = {"initializeUploadRequest": {"owner": self.author}}
        response = yield from self._send(
            lambda: self._request(
                "POST", "/rest/images", query="action=initializeUpload", body=init
            ),
            bucket="media",
            idempotent=True,
        )
        image = self.parse(response, _ImageInit).value
        urn, upload_url = image.image, image.uploadUrl
        self._check_upload_url(upload_url, response)
        response = yield from self._send(
            lambda: self._put(upload_url, media, 0, media.size - 1), bucket="media", idempotent=True
        )
        self.check(response)
        yield from self._until_available("/rest/images", urn)
        return urn

    def _upload_video(self, media: Media) -> Flow[str]:
        init = {
            "initializeUploadRequest": {
                "owner": self.author,
                "fileSizeBytes": media.size,
                "uploadCaptions": False,
                "uploadThumbnail": False,
            }
        }
        response = yield from self._send(
            lambda: self._request(
                "POST", "/rest/videos", query="action=initializeUpload", body=init
            ),
            bucket="media",
            idempotent=True,
        )
        value = self.parse(response, _VideoInit).value
        urn = value.video
        for instruction in value.uploadInstructions:
            self._check_upload_url(instruction.uploadUrl, response)
        problem = _tiling_problem(value.uploadInstructions, media.size)
        if problem is not None:
            # Sent as told, the PUTs would fail mid-request or post a cut or garbled video.
            raise MalformedResponse(
                f"linkedin answered initializeUpload with uploadInstructions that do not "
                f"cover the {media.size} bytes of the video exactly ({problem})",
                platform=self.name,
                status_code=response.status_code,
                body=self.account.redact(response.text[:2000]),
            )
        etags: list[str] = []
        for instruction in value.uploadInstructions:
            url, first, last = instruction.uploadUrl, instruction.firstByte, instruction.lastByte
            # Each part is its own request: a failed part is repeated alone.
            response = yield from self._send(
                lambda u=url, f=first, la=last: self._put(u, media, f, la),  # type: ignore[misc]
                bucket="media",
                idempotent=True,
            )
            etag = self.check(response).headers.get("etag")
            if not etag:
                raise MalformedResponse(
                    "linkedin answered a video part upload without its ETag",
                    platform=self.name,
                    status_code=response.status_code,
                    body=self.account.redact(response.text[:2000]),
                )
            etags.append(etag)
        finalize = {
            "finalizeUploadRequest": {
                "video": urn,
                "uploadToken": value.uploadToken,
                "uploadedPartIds": etags,
            }
        }
        response = yield from self._send(
            lambda: self._request(
                "POST", "/rest/videos", query="action=finalizeUpload", body=finalize
            ),
            bucket="media",
            idempotent=True,
        )
        self.check(response)
        yield from self._until_available("/rest/videos", urn)
        return urn

    def _check_upload_url(self, url: str, response: httpx.Response) -> None:
        """Refuse an upload URL the bearer token must not go to: one that is neither
        LinkedIn's (``https://*.linkedin.com``) nor on the account's API host (an emulator,
        a proxy).

        Raises:
            MalformedResponse: the URL is elsewhere (the answer is not to be trusted).
        """
        target, base = httpx.URL(url), httpx.URL(self.account.base_url)
        host = target.host.lower()
        linkedin = target.scheme == "https" and (
            host == "linkedin.com" or host.endswith(".linkedin.com")
        )
        same = (target.scheme, host, target.port) == (base.scheme, base.host.lower(), base.port)
        if not (linkedin or same):
            raise MalformedResponse(
                f"linkedin answered initializeUpload with an uploadUrl on {target.scheme}://"
                f"{host}, which is neither LinkedIn's nor {base.host}: brandkit does not send "
                "the access token there",
                platform=self.name,
                status_code=response.status_code,
                body=self.account.redact(response.text[:2000]),
            )

    def _put(self, url: str, media: Media, first: int, last: int) -> httpx.Request:
        # The upload URL is LinkedIn's own (signed); it takes the bearer token, not the
        # Rest.li headers.
        # A stream given at construction gets no default headers: Host is set here.
        return httpx.Request(
            "PUT",
            url,
            headers={
                "host": httpx.URL(url).netloc.decode("ascii"),
                "authorization": f"Bearer {self.account.secret('token') or ''}",
                "content-type": "application/octet-stream",
                "content-length": str(last - first + 1),
            },
            stream=_ByteRange(media, first, last),
        )

    def _until_available(self, collection: str, urn: str) -> Flow[None]:
        waited, delay = 0.0, self.media_poll_initial
        while True:
            response = yield from self._send(
                lambda: self._request("GET", f"{collection}/{_enc(urn)}"),
                bucket="media",
                idempotent=True,
            )
            status = self.parse(response, _Processing).status
            if status == "AVAILABLE":
                return
            if status in ("PROCESSING_FAILED", "FAILED"):
                raise Rejected(
                    f"linkedin could not process the upload {urn} (status {status})",
                    platform=self.name,
                    platform_message=status,
                )
            if waited >= self.media_timeout:
                raise PlatformUnavailable(
                    f"linkedin: {urn} was still {status or 'processing'} after {waited:.0f} s",
                    platform=self.name,
                )
            yield Wait(delay)
            waited += delay
            delay = min(delay * 2, self.media_poll_max)

    # -- find --------------------------------------------------------------------------------

    def find_part(
        self, rendered: Rendered, part: RenderedPart, thread: ThreadContext
    ) -> Flow[PartRef | None]:
        """Read the author's recent posts (``GET /rest/posts?q=author``) and return the
        one an earlier attempt of this part made: the same visible text, the same kind of
        content, created since the attempt began. ``None`` if there is none.

        Raises:
            PlatformError: the posts could not be read (members need the restricted
                ``r_member_social`` scope; organizations ``r_organization_social``).
        """
        if thread.reply_to is not None:
            return (yield from self._find_answer(part, thread))
        wanted = _squash(visible_text(little_text(part.text)))
        started = tid_time(thread.key)
        since = (started - _CLOCK_SLACK).timestamp() * 1000 if started else None
        media_kind = _content_kind(len(part.media), part.media[0].kind if part.media else None)
        start = 0
        matches: list[_Post] = []
        for _ in range(self.readback_pages):
            query = (
                f"author={_enc(self.author)}&q=author&count={self.readback_count}"
                f"&start={start}&sortBy=LAST_MODIFIED"
            )
            response = yield from self._send(
                lambda q=query: self._request(  # type: ignore[misc]
                    "GET", "/rest/posts", query=q, restli_method="FINDER"
                ),
                bucket="read",
                idempotent=True,
            )
            elements = self.parse(response, _Posts).elements
            for post in elements:
                created = post.createdAt or post.publishedAt or 0
                if since is not None and created < since:
                    continue
                if (
                    _squash(visible_text(post.commentary or "")) == wanted
                    and _content_kind_of(post.content) == media_kind
                    and post.lifecycleState != "DELETED"
                    # Another delivery's post (`ThreadContext.taken`) is not this one.
                    and post.id not in thread.taken
                ):
                    matches.append(post)
            oldest = min((p.lastModifiedAt or 0 for p in elements), default=0)
            if len(elements) < self.readback_count or (since is not None and oldest < since):
                break
            start += self.readback_count
        if not matches:
            return None
        first = min(matches, key=lambda p: p.createdAt or 0)
        return self._ref(part.index, first.id)

    # -- delete ------------------------------------------------------------------------------

    def delete_part(self, ref: PartRef) -> Flow[None]:
        """``DELETE /rest/posts/{urn}``; a post that is already gone counts as deleted.

        Raises:
            PlatformError: LinkedIn refused (typed by `error_for`).
        """
        if ref.id.startswith("urn:li:comment:"):
            yield from self._delete_comment(ref.id)
            return
        response = yield from self._send(
            lambda: self._request("DELETE", f"/rest/posts/{_enc(ref.id)}", restli_method="DELETE"),
            bucket="delete",
            idempotent=True,
        )
        if response.status_code not in (404, 410):
            self.check(response)

    def _delete_comment(self, urn: str) -> Flow[None]:
        """``DELETE /rest/socialActions/{thread}/comments/{id}?actor=`` of one of the
        account's own comments (an answer); one already gone counts as deleted."""
        thread, comment_id = _comment_parts(urn)
        path = f"/rest/socialActions/{_enc(thread)}/comments/{comment_id}"
        response = yield from self._send(
            lambda: self._request(
                "DELETE", path, query=f"actor={_enc(self.author)}", restli_method="DELETE"
            ),
            bucket="delete",
            idempotent=True,
        )
        if response.status_code not in (404, 410):
            self.check(response)

    # -- conversations -----------------------------------------------------------------------

    def inbox(self, cursor: str | None, *, limit: int) -> Flow[InboxPage]:
        """The page's new mentions (`brandkit.platforms._linkedin_mentions.with_mentions`),
        then the new comments on the author's recent posts (`_comment_inbox`)."""
        return with_mentions(self, cursor, limit=limit, comments=self._comment_inbox)

    def _comment_inbox(self, cursor: str | None, *, limit: int) -> Flow[InboxPage]:
        """The new comments (nested ones too) on the author's `inbox_posts` most recent
        posts, the account's own left out: ``GET /rest/posts?q=author`` once, then ``GET
        /rest/socialActions/{post}/comments`` per post (100 a page), and ``GET
        /rest/socialActions/{comment}/comments`` for each comment whose counts of nested
        comments changed or were last read `nested_recheck` ago (LinkedIn gives only their
        counts, which a deletion and a new one leave unchanged).

        LinkedIn has no "since" filter: the cursor remembers, per post, the newest comment
        time seen. Posts are read whole; once ``limit`` messages are reached the posts left
        are kept in the cursor (``more`` is set) and read next, without the posts request.
        A post deleted before its comments are read, or a comment before its answers are
        (LinkedIn's 404), is skipped: the read goes on and its cursor moves. A post of the
        posts request that brandkit cannot read (its URN, or its ``lifecycleState``) is
        skipped with a warning, once while it stays so (the cursor keeps it as met), and the
        cursor keeps what it saw of it (`_kept`): once it reads, the comments made
        meanwhile come. A comment its
        author edited since (``lastModified`` later than ``created``, and than the edit the
        cursor keeps for it) comes again as it is now, with ``edited_at``.

        Raises:
            ConfigurationError: ``cursor`` is not one this adapter made (pass ``None``).
            PlatformError: LinkedIn refused (typed by `error_for`); reading needs
                ``r_organization_social`` (members: the restricted ``r_member_social``).
            MalformedResponse: an answer brandkit cannot read.
        """
        seen, todo, held = _read_cursor(cursor, self.author)
        if todo is None:
            listing = yield from self._recent_posts(held)
            todo = listing.posts
            seen = _kept(seen, listing, self.inbox_posts)
            held = listing.skipped
        messages: list[Message] = []
        for i, urn in enumerate(todo):
            if len(messages) >= limit:
                return InboxPage(
                    messages=messages,
                    cursor=_write_cursor(seen, todo[i:], self.author, held),
                    more=True,
                )
            read = yield from self._post_comments(urn, seen.get(urn, _Seen()), gone_ok=True)
            if read is None:
                # Deleted since the posts were listed (or since a cursor kept it to read
                # next): skipped, its state kept as it was; it leaves the window at the next
                # posts read. Failing here would stop the account's inbox at every sync.
                continue
            found, after = read
            messages.extend(found)
            seen[urn] = after
        return InboxPage(
            messages=messages, cursor=_write_cursor(seen, None, self.author, held), more=False
        )

    def replies(self, refs: Sequence[PartRef]) -> Flow[list[Message]]:
        """Every comment (nested ones too) on the post ``refs[0]``, the account's own left
        out.

        Raises:
            PlatformError: LinkedIn refused (typed by `error_for`).
            MalformedResponse: an answer brandkit cannot read.
        """
        read = yield from self._post_comments(refs[0].id, _Seen())
        assert read is not None  # a post that is gone raised its 404
        return read[0]

    def answer_capabilities(self, capabilities: Capabilities, target: PartRef) -> Capabilities:
        """An answer is a comment (``POST /rest/socialActions/{urn}/comments``): one part,
        text alone. Besides ``message.text`` the Comments API takes a ``content`` list of
        media entities (an image), which brandkit does not send: media on an answer are
        refused by `brandkit.render`, before anything is stored or sent. A link goes in the
        text (``link_card_rules``: answers carry no card). A comment takes 1,250 characters,
        not a post's 3,000 (the text option ``comment``): a longer answer is refused by
        render, not by LinkedIn after it was queued."""
        return attrs.evolve(
            capabilities,
            threads=False,
            max_parts=1,
            media=attrs.evolve(capabilities.media, max_items=0, min_items=0),
            text_options={**capabilities.text_options, "comment": True},
        )

    def reply_target(self, message: Message) -> PartRef:
        """The comment to answer under: the message itself, or for a nested comment its
        top-level parent (LinkedIn nests one level deep). ``extra["post"]`` is the post.

        Raises:
            ConfigurationError: ``message`` belongs to another account.
        """
        self.check_message(message)
        post = str(message.extra.get("post") or message.our_post or "")
        parent = message.in_reply_to or ""
        target = parent if parent.startswith("urn:li:comment:") else message.id
        return PartRef(
            index=0,
            id=target,
            url=_comment_url(post, target) if post else message.url,
            extra={"post": post},
        )

    def like(self, message: Message) -> Flow[None]:
        """React ``LIKE`` to the comment as the author: ``POST /rest/reactions?actor=``
        with ``{"root": comment URN, "reactionType": "LIKE"}``.

        Raises:
            PlatformError: LinkedIn refused (typed by `error_for`).
        """
        body = {"root": message.id, "reactionType": "LIKE"}
        response = yield from self._send(
            lambda: self._request(
                "POST", "/rest/reactions", query=f"actor={_enc(self.author)}", body=body
            ),
            bucket="comment",
            idempotent=True,
        )
        if response.status_code != 409:  # already liked: nothing more to do
            self.check(response)

    def _recent_posts(self, held: Sequence[str] = ()) -> Flow[_Listing]:
        """The author's `inbox_posts` most recent posts: the published ones' URNs, and the
        URNs (``None`` where not readable) of those brandkit cannot read, each logged
        (`Adapter.read_items`) unless ``held`` has its `_skipped_key` (an earlier read
        logged it).

        Raises:
            PlatformError: LinkedIn refused (typed by `error_for`).
            MalformedResponse: an answer that is no object, or whose ``elements`` is no list.
        """
        query = (
            f"author={_enc(self.author)}&q=author&count={min(100, self.inbox_posts)}&sortBy=CREATED"
        )
        response = yield from self._send(
            lambda: self._request("GET", "/rest/posts", query=query, restli_method="FINDER"),
            bucket="read",
            idempotent=True,
        )
        page = self.parse(response, _InboxPosts)
        unreadable: list[Any] = []
        keys: dict[str, None] = {}
        known = set(held)

        def met(item: Any) -> bool:
            # Its comments are not read while it stays unreadable; it is logged once, not at
            # every sync for as long as it is among the recent posts.
            unreadable.append(item)
            key = _skipped_key(item, _post_id)
            keys[key] = None
            return key in known

        posts = self.read_items(page.elements, _InboxPost, "post", _post_id, logger, quiet=met)
        return _Listing(
            posts=[p.id for p, _ in posts if p.lifecycleState == "PUBLISHED"],
            unreadable=[
                _post_id(item) if isinstance(item, Mapping) else None for item in unreadable
            ],
            skipped=tuple(keys),
        )

    def _comments_of(
        self,
        urn: str,
        *,
        gone_ok: bool = False,
        seen: _Seen | None = None,
        unread: _Unread | None = None,
    ) -> Flow[list[tuple[_Comment, dict[str, Any]]] | None]:
        """Every comment directly under ``urn`` (a post or a comment), page by page; with
        ``gone_ok``, ``None`` when LinkedIn answers 404 (or 410): ``urn`` was deleted (a
        deleted comment's answers go with it). Other refusals raise as always.

        A comment brandkit cannot read is left out with a warning (`Adapter.read_items`),
        not the page: its time, where readable, and its key go to ``unread`` (so that the
        cursor passes it and knows it), and one no newer than ``seen``, or that ``seen``
        knows, was met and logged by an earlier read.

        Pages are by offset: a comment deleted while they are read moves the later ones
        back, and the one that moved onto a page already read would be skipped (and, older
        than the newest comment the cursor keeps, never read afterwards). A page whose
        ``paging.total`` is below the one before says so: the comments are read again from
        the first page (at most `_PAGING_RESTARTS` times)."""
        out: list[tuple[_Comment, dict[str, Any]]] = []
        taken: set[str] = set()
        start, count = 0, min(100, self.comment_page)
        before: int | None = None  # the total the page before reported
        pages = restarts = 0
        while pages < self.comment_pages:
            pages += 1
            query = f"start={start}&count={count}"
            response = yield from self._send(
                lambda q=query: self._request(  # type: ignore[misc]
                    "GET", f"/rest/socialActions/{_enc(urn)}/comments", query=q
                ),
                bucket="read",
                idempotent=True,
            )
            if gone_ok and response.status_code in (404, 410):
                return None
            page = self.parse(response, _CommentPage)
            total = page.paging.total
            if (
                start > 0
                and total is not None
                and before is not None
                and total < before
                and restarts < _PAGING_RESTARTS
            ):
                out, taken, start, before, pages = [], set(), 0, None, 0
                restarts += 1
                continue
            before = total

            def placed(item: Any) -> bool:
                at = _comment_time(item)
                key = _skipped_key(item)
                if unread is not None:
                    unread.keys.append(key)
                    if at is not None:
                        unread.times.append(at)
                return seen is not None and (
                    (at is not None and at <= seen.time) or key in seen.skipped
                )

            read = self.read_items(
                page.elements, _Comment, "comment", _comment_urn, logger, quiet=placed
            )
            for comment, item in read:
                # One the pages showed twice (moved forward by a new one) is taken once.
                if comment.commentUrn not in taken:
                    taken.add(comment.commentUrn)
                    out.append((comment, dict(item)))
            start += len(page.elements)
            # LinkedIn documents a page shorter than count as the end, but the largest count
            # it takes here is not confirmed: where its paging.count says it served fewer
            # than asked for, a page short of that is the end. Going on past a short page
            # whenever paging.total is larger would cost a request per post where the total
            # counts nested comments too.
            size = page.paging.count if 0 < page.paging.count < count else count
            if len(page.elements) < size or (total is not None and start >= total):
                break
        return out

    def _post_comments(
        self, post: str, seen: _Seen, *, gone_ok: bool = False
    ) -> Flow[tuple[list[Message], _Seen] | None]:
        """The comments on ``post`` that ``seen`` has not, as messages, and what to remember
        of the post after them; with ``gone_ok``, ``None`` when the post is gone (404).

        A comment deleted between the read of the comments it is among and the read of its
        own answers (a 404 there) is kept as read, its answers left: they went with it.
        """
        unread = _Unread()
        read = yield from self._comments_of(post, gone_ok=gone_ok, seen=seen, unread=unread)
        if read is None:
            return None
        level = [c for c, _ in read]
        now = int(self.clock())
        nested: dict[str, tuple[int, int, int]] = {}
        groups: dict[str, tuple[str, int]] = {}
        levels = _MAX_NESTING
        answered = [c for c in level if c.commentsSummary.totalFirstLevelComments > 0]
        if len(answered) > _MAX_NESTED_KEPT:
            # More answered comments than the cursor keeps one by one: kept so, those past
            # the bound had their answers read at every sync, a request each, growing with
            # the post. Checked by group instead (a bounded cursor), a change reads the
            # answers of its group's comments alone, a few.
            members: dict[str, list[_Comment]] = {}
            for comment in answered:
                members.setdefault(_group(comment.commentUrn), []).append(comment)
            below: list[tuple[_Comment, dict[str, Any]]] = []
            for group, comments in members.items():
                digest = _group_digest(comments)
                held = seen.groups.get(group)
                if (
                    held is not None
                    and held[0] == digest
                    and 0 <= now - held[1] < self.nested_recheck
                ):
                    groups[group] = held
                    continue
                live = []
                for comment in comments:
                    answers = yield from self._comments_of(
                        comment.commentUrn, gone_ok=True, seen=seen, unread=unread
                    )
                    if answers is not None:  # else deleted since it was listed
                        below.extend(answers)
                        live.append(comment)
                groups[group] = (_group_digest(live), now)
            read.extend(below)
            level = [c for c, _ in below]
            levels -= 1
        # LinkedIn's pages nest one level, but its docs do not say the API refuses a comment
        # on a nested comment, which tells its own count: levels are read while some
        # comment has any, bounded. A comment's nested comments are read when their counts
        # (first level, all levels) changed since the cursor: a new one, or one deleted, at
        # any depth below. One deleted and another made between two syncs leave both as
        # they were, so unchanged ones are read again after `nested_recheck`: reading every
        # one at every sync costs a request per answered comment per sync.
        for _ in range(levels):
            below = []
            for comment in level:
                summary = comment.commentsSummary
                if summary.totalFirstLevelComments <= 0:
                    continue
                urn = comment.commentUrn
                counts = (summary.totalFirstLevelComments, summary.aggregatedTotalComments)
                known = seen.nested.get(urn)
                if (
                    known is None
                    or known[:2] != counts
                    or not 0 <= now - known[2] < self.nested_recheck
                ):
                    answers = yield from self._comments_of(
                        urn, gone_ok=True, seen=seen, unread=unread
                    )
                    if answers is None:
                        # Deleted since it was listed. Nothing is remembered of it, so
                        # were it listed again its answers would be read again.
                        continue
                    below.extend(answers)
                    nested[urn] = (*counts, now)
                else:
                    nested[urn] = known
            read.extend(below)
            level = [c for c, _ in below]
        # Never back: were the newest comment seen deleted, answers read again later (their
        # recheck) would be newer than the time then kept, and come back as new.
        # Past the unreadable ones too: one that is the newest is not read (and logged)
        # again at every sync.
        newest = max([seen.time, *(c.created.time for c, _ in read), *unread.times])
        if newest > seen.time:
            at_time = tuple(c.commentUrn for c, _ in read if c.created.time == newest)
        else:
            at_time = seen.at_time + tuple(
                c.commentUrn
                for c, _ in read
                if c.created.time == newest and c.commentUrn not in seen.at_time
            )
        kept = dict(list(nested.items())[-_MAX_NESTED_KEPT:])
        # A comment its author edited comes again, as it is now, with edited_at: the store
        # brings the text it holds up to date. Each edit is given once: the cursor keeps the
        # edit time given per comment (those read this time; a nested one not read again
        # this time keeps its entry), the newest ones within a bound.
        edits = dict(seen.edits)
        for comment, _ in read:
            edited = comment.edited
            if edited is not None and comment.actor != self.author:
                edits[comment.commentUrn] = max(edited, edits.get(comment.commentUrn, -1))
        edits = dict(sorted(edits.items(), key=lambda item: item[1])[-_MAX_NESTED_KEPT:])
        # Unreadable comments are kept by key, so that one with no time to pass by the mark
        # is not logged at every sync, and one that reads later comes then (once: read, it
        # is forgotten). A nested one is met only when its parent's answers are read: kept
        # until then, the last met within a bound.
        met = dict.fromkeys(unread.keys)
        read_now = {c.commentUrn for c, _ in read}
        skipped = [k for k in seen.skipped if k not in met and k not in read_now] + list(met)
        after = _Seen(
            time=newest,
            at_time=at_time,
            nested=kept,
            edits=edits,
            skipped=tuple(skipped[-_MAX_NESTED_KEPT:]),
            groups=groups,
        )
        messages = [
            self._message(post, comment, raw)
            for comment, raw in read
            if comment.actor != self.author and (seen.is_new(comment) or seen.is_edited(comment))
        ]
        return messages, after

    def _message(self, post: str, comment: _Comment, raw: Mapping[str, Any]) -> Message:
        parent = comment.parentComment
        if parent is None and comment.object and comment.object.startswith("urn:li:comment:"):
            parent = comment.object
        actor = comment.actor
        return Message(
            platform=self.name,
            account=self.account.key,
            id=comment.commentUrn,
            kind="comment",
            # LinkedIn sends no name or vanity name with a comment, only the actor's URN.
            author=Author(id=actor, handle=actor.rsplit(":", 1)[-1]),
            text=comment.message.text,
            created_at=datetime.fromtimestamp(comment.created.time / 1000, UTC),
            edited_at=(
                None
                if comment.edited is None
                else datetime.fromtimestamp(comment.edited / 1000, UTC)
            ),
            url=_comment_url(post, comment.commentUrn),
            in_reply_to=parent or post,
            conversation=post,
            our_post=post,
            raw=raw,
            extra={"post": post, "comment_id": comment.id},
        )

    def _answer(self, part: RenderedPart, target: PartRef) -> Flow[PartRef]:
        """Comment ``part`` under the comment (or post) ``target`` as the author."""
        if part.media:
            raise ContentError(
                "brandkit answers LinkedIn comments with text only: leave the media out",
                field="media",
                platform=self.name,
            )
        post = str(target.extra.get("post") or target.id)
        # Comments take plain text with attributes, not little text: nothing is escaped.
        body: dict[str, Any] = {
            "actor": self.author,
            "object": post,
            "message": {"text": part.text},
        }
        if target.id.startswith("urn:li:comment:"):
            body["parentComment"] = target.id
        response = yield from self._send(
            lambda: self._request(
                "POST", f"/rest/socialActions/{_enc(target.id)}/comments", body=body
            ),
            bucket="comment",
            creates=True,
        )
        comment = self.parse(response, _Comment)
        return self._answer_ref(part.index, post, comment)

    def _answer_ref(self, index: int, post: str, comment: _Comment) -> PartRef:
        return PartRef(
            index=index,
            id=comment.commentUrn,
            url=_comment_url(post, comment.commentUrn),
            extra={"author": self.author, "post": post, "comment_id": comment.id},
        )

    def _find_answer(self, part: RenderedPart, thread: ThreadContext) -> Flow[PartRef | None]:
        """The author's comment with this text under ``thread.reply_to``, made since the
        attempt began (an answer whose create answer was lost)."""
        target = thread.reply_to
        assert target is not None
        started = tid_time(thread.key)
        since = (started - _CLOCK_SLACK).timestamp() * 1000 if started else None
        wanted = _squash(part.text)
        read = (yield from self._comments_of(target.id)) or []
        mine = [
            c
            for c, _ in read
            if c.actor == self.author
            and _squash(c.message.text) == wanted
            and (since is None or c.created.time >= since)
            and c.commentUrn not in thread.taken
        ]
        if not mine:
            return None
        first = min(mine, key=lambda c: c.created.time)
        return self._answer_ref(part.index, str(target.extra.get("post") or target.id), first)

    # -- metrics -----------------------------------------------------------------------------

    def collect_metrics(self, refs: Sequence[PartRef]) -> Flow[list[MetricSample]]:
        """Organization posts: impressions, reach, clicks, likes, comments and reshares of
        up to 20 posts in one ``organizationalEntityShareStatistics`` request (lifetime,
        organic only, posts of the last 12 months). Member posts: unavailable, with the
        reason (see the module docstring).

        Raises:
            PlatformError: LinkedIn refused (typed by `error_for`); statistics need
                ``rw_organization_admin`` and the ADMINISTRATOR role.
        """
        now = datetime.now(UTC)
        common: dict[str, Any] = {"platform": self.name, "account": self.account.key}
        if not self.is_organization:
            return [
                MetricSample.unavailable(
                    metric=metric.value,
                    raw_name=raw,
                    reason=_MEMBER_REASON,
                    fetched_at=now,
                    post_id=ref.id,
                    **common,
                )
                for ref in refs
                for raw, metric in _SHARE_STATS
            ]
        shares = [r.id for r in refs if r.id.startswith("urn:li:share:")]
        ugc = [r.id for r in refs if r.id.startswith("urn:li:ugcPost:")]
        query = f"q=organizationalEntity&organizationalEntity={_enc(self.author)}"
        if shares:
            query += f"&shares=List({','.join(_enc(u) for u in shares)})"
        if ugc:
            query += f"&ugcPosts=List({','.join(_enc(u) for u in ugc)})"
        by_urn: dict[str, Mapping[str, float] | str] = {}
        if shares or ugc:
            response = yield from self._send(
                lambda: self._request(
                    "GET", "/rest/organizationalEntityShareStatistics", query=query
                ),
                bucket="stats",
                idempotent=True,
            )
            fetched = datetime.now(UTC)
            by_urn = self._read_statistics(response)
            now = fetched
        samples: list[MetricSample] = []
        for ref in refs:
            found = by_urn.get(ref.id)
            for raw, metric in _SHARE_STATS:
                value = None if found is None or isinstance(found, str) else found.get(raw)
                if value is not None:
                    samples.append(
                        MetricSample(
                            metric=metric.value,
                            value=value,
                            raw_name=raw,
                            fetched_at=now,
                            post_id=ref.id,
                            **common,
                        )
                    )
                    continue
                if isinstance(found, str):
                    reason = found
                elif found is None:
                    reason = (
                        "LinkedIn returned no statistics for this post (deleted, older than 12 "
                        "months, or not a post of this organization)"
                    )
                else:
                    reason = f"LinkedIn did not send {raw}"
                samples.append(
                    MetricSample.unavailable(
                        metric=metric.value,
                        raw_name=raw,
                        reason=reason,
                        fetched_at=now,
                        post_id=ref.id,
                        **common,
                    )
                )
        return samples

    def _read_statistics(self, response: httpx.Response) -> dict[str, Mapping[str, float] | str]:
        """Each post's statistics by URN; the reason instead, for one that cannot be read."""
        found: dict[str, Mapping[str, float] | str] = {}
        try:
            # The common case, in one pass over the bytes.
            elements = self.parse(response, _Statistics).elements
        except MalformedResponse:
            # Element by element: one that cannot be read costs only its own post's samples.
            read, reasons = read_each(
                self.name,
                self.parse(response, _Elements).elements,
                _ShareStatistics,
                lambda element: element.get("share") or element.get("ugcPost"),
                "post's statistics",
            )
            elements = tuple(read)
            found.update(reasons)
        for stats in elements:
            urn = stats.share or stats.ugcPost
            if urn is not None:
                found[urn] = stats.totalShareStatistics.counts()
        return found

    def collect_account_metrics(self) -> Flow[list[MetricSample]]:
        """Followers: ``networkSizes/{org}?edgeType=COMPANY_FOLLOWED_BY_MEMBER`` for an
        organization, ``memberFollowersCount?q=me`` (scope ``r_member_profileAnalytics``)
        for a member.

        Raises:
            PlatformError: LinkedIn refused (typed by `error_for`).
        """
        if self.is_organization:
            path = f"/rest/networkSizes/{_enc(self.author)}"
            query, raw = "edgeType=COMPANY_FOLLOWED_BY_MEMBER", "firstDegreeSize"
        else:
            path, query, raw = "/rest/memberFollowersCount", "q=me", "memberFollowersCount"
        response = yield from self._send(
            lambda: self._request("GET", path, query=query), bucket="stats", idempotent=True
        )
        if self.is_organization:
            followers = self.parse(response, _NetworkSize).firstDegreeSize
        else:
            followers = (
                self.parse(response, _MemberFollowersAnswer).elements[0].memberFollowersCount
            )
        return [
            MetricSample(
                platform=self.name,
                account=self.account.key,
                metric=Metric.FOLLOWERS.value,
                value=followers,
                fetched_at=datetime.now(UTC),
                raw_name=raw,
            )
        ]

    # -- errors ------------------------------------------------------------------------------

    def error_for(self, response: httpx.Response) -> PlatformError:
        """LinkedIn's ``{"status", "serviceErrorCode", "code", "message"}`` (and OAuth's
        ``{"error", "error_description"}``) as a typed error with LinkedIn's message.

        401 is `AuthError`; 403 is `AuthError` (missing permission or page
        role); 422 "duplicate of urn:li:…" is `Rejected` with ``duplicate=True`` and
        ``existing_id``; 429 is `RateLimited` without a reset (LinkedIn sends none);
        426/400 about the version is `Rejected` saying to change ``version``; 5xx is
        [`PlatformUnavailable`][brandkit.errors.PlatformUnavailable]; other refusals are `Rejected`.
        """
        body = _json(response)
        message = str(
            body.get("message")
            or body.get("error_description")
            or body.get("error")
            or response.text[:300].strip()
            or response.reason_phrase
        )
        code = body.get("code") or body.get("error") or body.get("serviceErrorCode")
        status = response.status_code
        text = f"linkedin answered {status}: {message}"
        common: dict[str, Any] = {
            "platform": self.name,
            "status_code": status,
            "platform_message": message,
            "code": code if isinstance(code, str | int) else None,
        }
        request = _request_of(response)
        if request is not None and request.url.path.endswith("/oauth/v2/accessToken"):
            if status >= 500:
                return PlatformUnavailable(text, retry_after=retry_after_of(response), **common)
            return AuthError(
                f"linkedin refused to refresh the token ({status}: {message}); authorize the "
                "app again to get new tokens",
                **common,
            )
        if status == 429:
            bucket = _bucket_of(request)
            return RateLimited(
                f"{text} (LinkedIn sends no reset time; its quotas are daily and reset at "
                "midnight UTC)",
                bucket=f"{self.name}:{bucket}",
                **common,
            )
        if status == 401:
            return AuthError(
                f"{text}. The token expired or was revoked: refresh it or authorize again",
                **common,
            )
        if status == 403:
            return AuthError(
                f"{text}. The token lacks a permission (scope) or the member lacks a role on "
                "the page",
                **common,
            )
        if code in ("NONEXISTENT_VERSION", "VERSION_MISSING") or status == 426:
            version = self.account.settings.get("version")
            return Rejected(
                f"{text}. LinkedIn-Version {version} is not active: set "
                "Account.linkedin(version='YYYYMM') to a current version",
                **common,
            )
        duplicate = _DUPLICATE.search(message)
        if status == 422 and (duplicate or code == "DUPLICATE_POST"):
            return Rejected(
                text,
                duplicate=True,
                existing_id=duplicate.group(1) if duplicate else None,
                **common,
            )
        if status >= 500:
            return PlatformUnavailable(text, retry_after=retry_after_of(response), **common)
        return Rejected(text, **common)


# -- helpers -------------------------------------------------------------------------------------


def _enc(urn: str) -> str:
    return quote(urn, safe="")


def _comment_url(post: str, comment: str) -> str:
    """A comment's web address: the post's, with ``commentUrn`` (as LinkedIn links it)."""
    return f"{post_url(post)}?commentUrn={_enc(comment)}"


_COMMENT_URN = re.compile(r"urn:li:comment:\((urn:li:[A-Za-z]+:[^,()]+),([^,()]+)\)")


def _comment_parts(urn: str) -> tuple[str, str]:
    """``urn:li:comment:(thread,id)`` as ``(thread, id)``.

    Raises:
        ConfigurationError: not a comment URN.
    """
    match = _COMMENT_URN.fullmatch(urn)
    if match is None:
        raise ConfigurationError(f"{urn!r} is not a LinkedIn comment URN")
    return match.group(1), match.group(2)


def _old_post(urn: object) -> bool:
    """``urn`` is a URN other than a share or ugcPost one, which cursors saved before the
    inbox kept those alone may hold (the posts request gave them any post URN it listed, an
    ``urn:li:activity:`` one too). Anything else that is no post URN is no URN of a cursor
    brandkit made."""
    return (
        isinstance(urn, str)
        and _POST_URN.fullmatch(urn) is None
        and _OLD_POST_URN.fullmatch(urn) is not None
    )


def _read_cursor(
    cursor: str | None, author: str
) -> tuple[dict[str, _Seen], list[str] | None, tuple[str, ...]]:
    """The inbox cursor of ``author``'s posts: what was seen per post, the posts still
    to read (``None``: start with the posts request), and the posts the posts request
    gave that brandkit could not read (`_skipped_key`, logged). A post whose URN is no
    share or ugcPost one, which an earlier brandkit wrote (`_old_post`), is left out with
    a warning.

    Raises:
        ConfigurationError: not a cursor of this adapter, or another author's.
    """
    if cursor is None:
        return {}, None, ()
    try:
        data = json.loads(cursor)
        if not isinstance(data, dict) or data.get("v") != _CURSOR_VERSION:
            raise ValueError("not a version 1 cursor")
        # Cursors from before name no author; they are read as this one's.
        if data.get("a", author) != author:
            raise ConfigurationError(
                f"this LinkedIn inbox cursor belongs to another account ({data['a']}) than "
                f"{author}: pass since=None, or the cursor saved for this account"
            )
        seen: dict[str, _Seen] = {}
        # Refused, such a cursor failed every sync of the account until it was dropped by
        # hand; the inbox no longer reads such a post (`_InboxPost`), so what was seen of it
        # is moot, and left out it is written no more.
        old = {u for u in [*data["posts"], *(data.get("todo") or ())] if _old_post(u)}
        for urn, item in data["posts"].items():
            if urn in old:
                continue
            if not (isinstance(urn, str) and _POST_URN.fullmatch(urn)):
                raise ValueError(f"bad post {urn!r}")
            t, ids = item["t"], item["ids"]
            if not isinstance(t, int) or not all(isinstance(i, str) for i in ids):
                raise ValueError("bad time or ids")
            nested: dict[str, tuple[int, int, int]] = {}
            for key, counts in item.get("n", {}).items():
                # Cursors from before hold the first-level count alone: read once more.
                if isinstance(counts, int) and not isinstance(counts, bool):
                    counts = [counts, -1, 0]
                if not (
                    isinstance(key, str)
                    and isinstance(counts, list)
                    and len(counts) == 3
                    and all(isinstance(c, int) and not isinstance(c, bool) for c in counts)
                ):
                    raise ValueError("bad nested counts")
                nested[key] = (counts[0], counts[1], counts[2])
            # Cursors from before keep no edits: each edited comment is given once more.
            edits = item.get("e", {})
            if not isinstance(edits, dict) or not all(
                isinstance(key, str) and isinstance(ms, int) and not isinstance(ms, bool)
                for key, ms in edits.items()
            ):
                raise ValueError("bad edit times")
            # Cursors from before keep no unreadable comments: one without a readable
            # time is logged once more.
            skipped = item.get("s", [])
            if not isinstance(skipped, list) or not all(isinstance(k, str) for k in skipped):
                raise ValueError("bad skipped comments")
            # Cursors from before keep no groups: a very busy post's answers are read once.
            groups = item.get("g", {})
            if not (
                isinstance(groups, dict)
                and len(groups) <= _GROUPS
                and all(
                    isinstance(g, str)
                    and isinstance(held, list)
                    and len(held) == 2
                    and isinstance(held[0], str)
                    and len(held[0]) <= 64
                    and isinstance(held[1], int)
                    and not isinstance(held[1], bool)
                    for g, held in groups.items()
                )
            ):
                raise ValueError("bad comment groups")
            seen[urn] = _Seen(
                time=t,
                at_time=tuple(ids),
                nested=nested,
                edits=edits,
                skipped=tuple(skipped[-_MAX_NESTED_KEPT:]),
                groups={g: (held[0], held[1]) for g, held in groups.items()},
            )
        todo = data.get("todo")
        if todo is not None:
            # Checked as the posts are: each is sent as a post URN in a request.
            if not isinstance(todo, list):
                raise ValueError("bad todo")
            if len(todo) > _MAX_POSTS:
                # No read lists more: each would cost a request, whatever the limit.
                raise ValueError(f"{len(todo)} posts to read, more than {_MAX_POSTS}")
            todo = [u for u in todo if u not in old]
            for urn in todo:
                if not (isinstance(urn, str) and _POST_URN.fullmatch(urn)):
                    raise ValueError(f"bad post to read {str(urn)[:200]!r}")
        # Cursors from before keep none: such a post is logged once more.
        held = data.get("sp", [])
        if not isinstance(held, list) or not all(
            isinstance(k, str) and len(k) <= _MAX_KEY for k in held
        ):
            raise ValueError("bad skipped posts")
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigurationError(
            f"this is not a LinkedIn inbox cursor brandkit made ({exc}): pass since=None to "
            "read from the start"
        ) from None
    if old:
        logger.warning(
            "the LinkedIn inbox cursor of %s holds %d post(s) whose URN is no share or ugcPost "
            "one (saved by an earlier brandkit; %s): they are left out, and the cursor saved "
            "after this read no longer holds them",
            author,
            len(old),
            ", ".join(sorted(u[:200] for u in old)[:5]),
        )
    return seen, None if todo is None else list(todo), tuple(held[-_MAX_POSTS:])


def _write_cursor(
    seen: Mapping[str, _Seen], todo: list[str] | None, author: str, held: Sequence[str] = ()
) -> str:
    data: dict[str, Any] = {
        "v": _CURSOR_VERSION,
        "a": author,
        "posts": {urn: item.to_json() for urn, item in seen.items()},
    }
    if todo is not None:
        data["todo"] = todo
    if held:
        data["sp"] = list(held)
    return json.dumps(data, separators=(",", ":"))


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _squash(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


def _request_of(response: httpx.Response) -> httpx.Request | None:
    try:
        return response.request
    except RuntimeError:
        return None


def _bucket_of(request: httpx.Request | None) -> str:
    if request is None:
        return "default"
    path, method = request.url.path, request.method
    if path == "/rest/posts" and method == "POST":
        return "post"
    if path.startswith("/rest/posts") and method == "DELETE":
        return "delete"
    if path.startswith(("/rest/images", "/rest/videos")):
        return "media"
    if path.startswith("/rest/posts"):
        return "read"
    if path.startswith(("/rest/socialActions", "/rest/reactions")):
        return "read" if method == "GET" else "comment"
    return "stats"


def _tiling_problem(instructions: Sequence[_Instruction], size: int) -> str | None:
    """Why the byte ranges of ``instructions`` do not cover bytes ``0..size-1`` each exactly
    once, or ``None`` when they do (in any order)."""
    if not instructions:
        return "there are none"
    expected = 0
    for item in sorted(instructions, key=lambda i: i.firstByte):
        first, last = item.firstByte, item.lastByte
        if last < first:
            return f"bytes {first}-{last} end before they start"
        if first != expected:
            what = "overlaps the part before it" if first < expected else "leaves a gap"
            return f"the part from byte {first} {what}"
        expected = last + 1
    if expected != size:
        return f"the parts end at byte {expected - 1}"
    return None


def _content_kind(count: int, kind: str | None) -> str:
    if count == 0:
        return "none"
    if count > 1:
        return "multiImage"
    return "video" if kind == "video" else "image"


def _content_kind_of(content: Any) -> str:
    if not isinstance(content, Mapping):
        return "none"
    if "multiImage" in content:
        return "multiImage"
    media = content.get("media")
    if isinstance(media, Mapping):
        return "video" if str(media.get("id", "")).startswith("urn:li:video:") else "image"
    return "none"  # an article is a text post with a link


class _ByteRange(httpx.SyncByteStream, httpx.AsyncByteStream):
    """Bytes ``first..last`` of a media file as a request body for both drivers, that can be
    sent again (a retried part re-reads its range) without holding the file in memory."""

    def __init__(self, media: Media, first: int, last: int, chunk: int = 1024 * 1024) -> None:
        self._media = media
        self._first = first
        self._last = last
        self._chunk = chunk

    def __iter__(self) -> Iterator[bytes]:
        remaining = self._last - self._first + 1
        data = self._media.data
        if data is not None:
            for start in range(self._first, self._last + 1, self._chunk):
                yield data[start : min(start + self._chunk, self._last + 1)]
            return
        path: Path | None = self._media.path
        assert path is not None
        with path.open("rb") as fh:
            fh.seek(self._first)
            while remaining > 0:
                block = fh.read(min(self._chunk, remaining))
                if not block:
                    return
                remaining -= len(block)
                yield block

    async def __aiter__(self) -> AsyncIterator[bytes]:
        # Chunks of a local file are read in place: short blocking reads, as httpx's own
        # multipart file uploads do.
        for block in self:
            yield block
