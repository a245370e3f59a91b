"""Instagram (Graph API content publishing for professional accounts).

Facts used here (``platforms.md`` §6; see ``docs/platforms/instagram.md`` for what was
checked and against what):

- Publishing is container → status → publish. ``POST /{ig-user-id}/media`` makes a container
  from a public ``image_url`` (JPEG) or ``video_url`` (a single video is a Reel); a carousel
  is 2-10 child containers (``is_carousel_item=true``) and a ``CAROUSEL`` parent. Containers
  are polled (``GET /{container}?fields=status_code,status``) until ``FINISHED`` and published
  once with ``POST /{ig-user-id}/media_publish?creation_id=``. ``ERROR`` carries Meta's
  reason in ``status``; containers expire after 24 hours.
- Instagram downloads the media itself: the account's ``media_host(media) -> url`` puts each
  file where Meta can fetch it (see `GraphAdapter.media_host`).
- The 24-hour publishing quota is read before publishing (``content_publishing_limit``; Meta
  documents 100, 50 and 25 in different places, so the live value decides) and reported in
  ``PartRef.extra``; publishing over it is refused with code 9, subcode 2207042.
- No idempotency. A container is never published twice: after an ambiguous publish the
  container's status says whether it was (``PUBLISHED``), and the account's ``/media`` is
  read back to find the media id (a container does not name it).
- Captions: 2,200 characters, hashtag and mention caps, checked by rendering.
- Rate limits: ``X-Business-Use-Case-Usage`` (type ``instagram``), code 80002 when throttled.
- Metrics: ``views`` replaced ``impressions`` and ``plays`` (v22.0); retired names come back
  unavailable.
- Conversations are comments. One ``GET /{ig-user-id}/media`` with each media's comments
  and their replies expanded (``comments.limit(50){...,replies.limit(50){...}}``) reads
  the inbox; a media or comment with more goes on at ``/{ig-media-id}/comments`` or
  ``/{ig-comment-id}/replies``, and past the page bound in the next read, from the
  ``after`` cursor the inbox cursor keeps. Answers are ``POST /{ig-comment-id}/replies`` (one level:
  an answer to a reply joins its comment), looked up again among the comment's replies
  after a lost answer; ``POST /{ig-comment-id}`` ``hide`` and ``DELETE /{ig-comment-id}``
  moderate. Mentions need the ids Meta's webhooks send, and the API cannot like.
- Listening is hashtag search (Facebook Login for Business only): ``GET /ig_hashtag_search
  ?user_id=&q=`` gives a hashtag's id (static and global), ``GET /{hashtag-id}/recent_media
  ?user_id=&fields=&limit=50`` the public media tagged with it in the last 24 hours (not in
  time order, no author's username). An account may query 30 unique hashtags per rolling
  7 days; the 31st is refused with code 18. `InstagramAdapter.hashtags_of` says which
  hashtags a query spends, for the caller that keeps the 7-day tally.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, ClassVar
from urllib.parse import urlsplit

import attrs
import httpx
import pydantic

from brandkit._flow import Flow, Send
from brandkit.errors import (
    ConfigurationError,
    ContentError,
    MediaError,
    PlatformError,
    RateLimited,
    Rejected,
    Unsupported,
)
from brandkit.inbox._model import Author, InboxPage, Message
from brandkit.listening._query import Query, SearchPage, UnsupportedQuery, cursor_tag
from brandkit.metrics._sample import Metric, MetricSample
from brandkit.platforms._base import Answer, Capabilities, PartRef, RatePolicy, ThreadContext
from brandkit.platforms._capabilities import BUILTIN_CAPABILITIES
from brandkit.platforms._graph import (
    ContainerAdapter,
    Count,
    EdgePage,
    EdgePages,
    EdgeRead,
    Flag,
    GraphId,
    GraphTime,
    IdAnswer,
    InboxCursor,
    InsightsAnswer,
    QuotaAnswer,
    RawAnswer,
    before_floor,
    comment_rules,
    edge_floor,
    graph_error,
    new_messages,
    parse_time,
    resumed_messages,
)

if TYPE_CHECKING:
    from brandkit.accounts import Account
    from brandkit.content._media import Media
    from brandkit.content._render import Rendered, RenderedPart

__all__ = [
    "HASHTAG_QUOTA",
    "RETIRED_MEDIA_METRICS",
    "InstagramAdapter",
    "SearchCursor",
    "media_samples",
]

HASHTAG_QUOTA = (30, 7 * 86_400.0)
"""Unique hashtags an account may query, and the rolling window (seconds) they count in."""

RETIRED_MEDIA_METRICS: dict[str, str] = {
    "impressions": "Meta retired impressions for Instagram media with Graph API v22.0 "
    "(2025-04-21); views replaces it",
    "plays": "Meta retired plays with Graph API v22.0 (2025-04-21); views replaces it",
    "video_views": "Meta retired video_views for Instagram media; views replaces it",
    "clips_replays_count": "Meta retired clips_replays_count with Graph API v22.0",
    "ig_reels_aggregated_all_plays_count": "Meta retired ig_reels_aggregated_all_plays_count "
    "with Graph API v22.0",
    "engagement": "Meta retired engagement; total_interactions replaces it",
}
"""Media insights metrics Meta has retired, and why they come back unavailable."""


class _Media(Answer):
    """One item of ``/{ig-user-id}/media`` as a read-back reads it."""

    id: GraphId
    caption: str | None = None
    timestamp: str | None = None
    permalink: str | None = None


class _From(Answer):
    id: GraphId | None = None
    username: str | None = None


class _Reply(RawAnswer):
    """One comment or reply, as the inbox reads it (`COMMENT_FIELDS`)."""

    id: GraphId
    text: str = ""
    username: str | None = None
    timestamp: GraphTime
    hidden: Flag = False
    author: _From | None = pydantic.Field(default=None, alias="from")
    # Meta names ``user`` only on the account's own comments.
    user: IdAnswer | None = None
    parent_id: GraphId | None = None


class _Comment(_Reply):
    """A top-level comment with the first page of its replies."""

    replies: EdgePage[_Reply] | None = None


class _MediaComments(Answer):
    """A media with its comments expanded (their first page)."""

    id: GraphId
    permalink: str | None = None
    comments: EdgePage[_Comment] | None = None


COMMENT_FIELDS = "id,text,username,timestamp,hidden,from,user,parent_id"
"""The fields of a comment the inbox reads."""

TAGGED_FIELDS = "id,caption,username,timestamp,permalink"
"""The fields of a media the account is tagged in (``/tags``) the inbox reads."""

_TAGS = "tags"
"""The inbox cursor's key of the ``/tags`` edge (media ids are numbers)."""


class _Tagged(RawAnswer):
    """A media someone tagged the account in (`TAGGED_FIELDS`)."""

    id: GraphId
    caption: str = ""
    username: str | None = None
    timestamp: GraphTime
    permalink: str | None = None


class _TagCursors(Answer):
    # Longer cursors than this would make an inbox cursor `InboxCursor.decode` refuses.
    after: Annotated[str, pydantic.StringConstraints(max_length=2000)] | None = None


class _TagPaging(Answer):
    cursors: _TagCursors | None = None


class _TagsPage(Answer):
    """A page of ``/{ig-user-id}/tags``. Meta documents this edge's paging as cursors
    alone: "the response will not include previous or next fields", so the ``after``
    cursor is read without ``paging.next`` (the edge ends on an empty page, or a page
    without cursors)."""

    data: tuple[_Tagged, ...] = ()
    paging: _TagPaging | None = None

    def after(self) -> str | None:
        """The cursor of the page after this one (``None``: nothing after it)."""
        if not self.data or self.paging is None or self.paging.cursors is None:
            return None
        return self.paging.cursors.after or None


FOUND_FIELDS = "id,caption,media_type,permalink,timestamp,like_count,comments_count"
"""The fields of hashtagged media listening reads (Meta gives no ``username`` there)."""


class _Found(RawAnswer):
    """One media of ``/{hashtag-id}/recent_media``."""

    id: GraphId
    caption: str | None = None
    media_type: str | None = None
    permalink: str | None = None
    timestamp: GraphTime
    like_count: Count | None = None
    comments_count: Count | None = None


class _HashtagIds(Answer):
    """``GET /ig_hashtag_search``: ``{"data": [{"id": ...}]}``."""

    data: tuple[IdAnswer, ...] = ()


# A hashtag Meta's search takes: letters, marks and digits of any script, and ``_``
# (emoji are refused by Meta: "Emojis in hashtag queries are not supported").
_HASHTAG = re.compile(r"^[^\W]+$")


@attrs.frozen
class SearchCursor:
    """Where a hashtag search stands, as opaque JSON text: the ids of media already given
    (with their creation time, pruned to the last `KEEP` seconds before the newest, since
    ``recent_media`` shows only the last 24 hours, in no time order), the hashtag ids
    looked up (static and global, so a later search spends no lookup), and, after a
    search stopped at its limit, the hashtag and Meta's ``after`` cursor to go on from; and
    the query and account it belongs to.

    Attributes:
        seen: media id -> unix seconds of creation.
        ids: hashtag -> its Graph id.
        resume: ``(hashtag, after)`` to go on from, or ``None``.
        query: `cursor_tag` of the account and the query's hashtags, sorted (``None`` in cursors
            written before cursors named their query: those cannot be checked).
    """

    seen: Mapping[str, int] = attrs.field(factory=dict)
    ids: Mapping[str, str] = attrs.field(factory=dict)
    resume: tuple[str, str] | None = None
    query: str | None = None

    KEEP: ClassVar[int] = 2 * 86_400
    MAX_SEEN: ClassVar[int] = 20_000

    def encode(self) -> str:
        """The cursor as text (pass it back to `decode`)."""
        data: dict[str, Any] = {"v": 1, "seen": dict(self.seen), "ids": dict(self.ids)}
        if self.resume is not None:
            data["resume"] = list(self.resume)
        if self.query is not None:
            data["q"] = self.query
        return json.dumps(data, separators=(",", ":"), sort_keys=True, ensure_ascii=False)

    @classmethod
    def decode(cls, text: str | None) -> SearchCursor:
        """Read a cursor `encode` made (``None``: nothing seen yet).

        Raises:
            ConfigurationError: ``text`` is not such a cursor.
        """
        if text is None:
            return cls()
        try:
            data = json.loads(text)
            if not isinstance(data, dict) or data.get("v") != 1:
                raise ValueError("not a version 1 search cursor")
            seen, ids, resume = data.get("seen"), data.get("ids"), data.get("resume")
            query = data.get("q")
            if query is not None and not (
                isinstance(query, str) and re.fullmatch(r"[0-9a-f]{16}", query)
            ):
                raise ValueError("q is not the name of a query")
            if not isinstance(seen, dict) or not all(
                isinstance(v, int) and not isinstance(v, bool) for v in seen.values()
            ):
                raise ValueError("seen is not a map of ids to times")
            if len(seen) > cls.MAX_SEEN:
                raise ValueError("too many ids")
            if not isinstance(ids, dict) or not all(
                isinstance(v, str) and re.fullmatch(r"[0-9]{1,40}", v) for v in ids.values()
            ):
                raise ValueError("ids is not a map of hashtags to ids")
            if resume is not None and not (
                isinstance(resume, list)
                and len(resume) == 2
                and all(isinstance(r, str) for r in resume)
                and resume[0]
            ):
                raise ValueError("resume is not a hashtag and a cursor")
        except (ValueError, TypeError) as exc:
            raise ConfigurationError(
                f"instagram: the search cursor is not one brandkit made ({exc}); pass the "
                "cursor of the last SearchPage unchanged, or None to search from the start"
            ) from None
        return cls(
            seen={str(k): v for k, v in seen.items()},
            ids={str(k): v for k, v in ids.items()},
            resume=(resume[0], resume[1]) if resume else None,
            query=query,
        )

    def pruned(self) -> dict[str, int]:
        """`seen` without what ``recent_media`` no longer shows, at most `MAX_SEEN`."""
        if not self.seen:
            return {}
        newest = max(self.seen.values())
        kept = sorted(
            ((t, i) for i, t in self.seen.items() if t >= newest - self.KEEP), reverse=True
        )
        return {i: t for t, i in kept[: self.MAX_SEEN]}


_Capabilities = BUILTIN_CAPABILITIES["instagram"]


class InstagramAdapter(ContainerAdapter):
    """Publishes to one Instagram professional account; see the module docstring.

    Attributes:
        media_metrics: the media insights metrics asked for, each with its canonical name.
            Names in `RETIRED_MEDIA_METRICS` are not asked for and come back
            unavailable; metrics Meta refuses come back unavailable with Meta's message.
    """

    name: ClassVar[str] = "instagram"
    comment_post_key: ClassVar[str] = "media"
    container_edge: ClassVar[str] = "media"
    publish_edge: ClassVar[str] = "media_publish"
    status_field: ClassVar[str] = "status_code"
    message_field: ClassVar[str] = "status"
    capabilities: ClassVar[Capabilities] = _Capabilities
    rate_policies: ClassVar[tuple[RatePolicy, ...]] = (
        # Business Use Case: 4800 calls x impressions per 24 h (one impression assumed).
        RatePolicy("instagram", 4800, 86_400.0),
        # 400 containers and (per the publishing guide) 100 API posts per rolling 24 h.
        RatePolicy("container", 400, 86_400.0),
        RatePolicy("publish", 100, 86_400.0),
        # Hashtag search is under Meta's Platform Rate Limits: 200 calls per user an hour.
        RatePolicy("search", 200, 3600.0),
    )
    metrics_batch_size: ClassVar[int] = 50
    refresh_grant: ClassVar[str | None] = "ig_refresh_token"
    inbox_posts: ClassVar[int] = 25
    """How many of the account's newest media an inbox read looks at (one page)."""
    comments_page: ClassVar[int] = 50
    """Comments (and replies) asked for per page (``limit``)."""
    inbox_pages: ClassVar[int] = 20
    """The most pages of comments read per media (and of replies per comment), and of
    tagged media, in one inbox read; an edge with more goes on in the next read, which
    ``more`` asks for."""
    tags_page: ClassVar[int] = 50
    """Tagged media asked for per page of ``/{ig-user-id}/tags`` (``limit``)."""
    search_page: ClassVar[int] = 50
    """Media asked for per page of ``recent_media`` (Meta's largest)."""
    search_pages: ClassVar[int] = 200
    """The most pages of one hashtag read by one search (a bound; ``limit`` comes first)."""

    media_metrics: tuple[tuple[str, Metric], ...] = (
        ("views", Metric.IMPRESSIONS),
        ("reach", Metric.REACH),
        ("likes", Metric.LIKES),
        ("comments", Metric.REPLIES),
        ("saved", Metric.BOOKMARKS),
        ("shares", Metric.SHARES),
    )

    def __init__(self, account: Account) -> None:
        super().__init__(account)
        if not account.settings.get("ig_user_id"):
            raise ConfigurationError("an Instagram account needs ig_user_id")

    @property
    def user_id(self) -> str:
        """The Instagram professional account's id."""
        return str(self.account.settings["ig_user_id"])

    def bucket_of(self, request: httpx.Request) -> str:
        path = request.url.path
        if request.method == "POST" and path.endswith("/media_publish"):
            return "publish"
        if request.method == "POST" and path.endswith("/media"):
            return "container"
        if path.endswith(("/ig_hashtag_search", "/recent_media", "/top_media")):
            return "search"
        return "instagram"

    def error_for(self, response: httpx.Response) -> PlatformError:
        """Meta's errors (see `GraphAdapter.error_for`); code 18 on a hashtag search is
        the account's 30 unique hashtags per 7 days used up (`RateLimited`, bucket
        ``instagram:hashtags``)."""
        err = graph_error(response)
        if err.get("code") == 18:
            message = self.account.redact(str(err.get("message") or "hashtag limit reached"))
            return RateLimited(
                f"instagram answered {response.status_code}: {message} [code 18]. The account "
                f"has queried {HASHTAG_QUOTA[0]} unique hashtags in the last 7 days: search "
                "hashtags it already queried this week, or wait until the oldest leaves the "
                "window (GET /{ig-user-id}/recently_searched_hashtags lists them)",
                platform=self.name,
                status_code=response.status_code,
                platform_message=message,
                code=18,
                bucket=f"{self.name}:hashtags",
            )
        return super().error_for(response)

    # -- prepare -----------------------------------------------------------------------------

    def prepare(self) -> Flow[Capabilities]:
        """Check that media can be hosted, and refresh a token close to its expiry.

        Raises:
            ConfigurationError: the account has no ``media_host``.
        """
        self.media_host()
        yield from self.ensure_fresh_token()
        return self.capabilities

    def answer_capabilities(self, capabilities: Capabilities, target: PartRef) -> Capabilities:
        """An answer to a comment is a comment: text alone, no image needed."""
        return comment_rules(capabilities)

    # -- publish -----------------------------------------------------------------------------

    def publish_part(
        self, rendered: Rendered, part: RenderedPart, thread: ThreadContext
    ) -> Flow[PartRef]:
        """Check the publishing quota, make the container(s) from the media's public URLs,
        wait until they are ``FINISHED`` and publish exactly once.

        Raises:
            ConfigurationError: the account has no ``media_host``.
            ContentError: the part has no media (Instagram needs an image or a video).
            MediaError: a single image is narrower than 4:5 or wider than 1.91:1 (Instagram
                refuses it with 36003/2207009); nothing is sent.
            RateLimited: the 24-hour publishing quota is used up (``bucket`` is
                ``instagram:publish``).
            Rejected: a container ended in ``ERROR`` (Meta's reason is the message).
            PlatformError: Meta refused otherwise (typed by `error_for`).
            MalformedResponse: a success answer brandkit cannot read (no id, a wrong type,
                not JSON); after the create, the post may exist and is looked up.
        """
        if thread.reply_to is not None and part.index == 0:
            return (yield from self._publish_reply(part, thread.reply_to))
        if not part.media:
            raise ContentError(
                "instagram needs at least one image or video on a post",
                field="media",
                platform=self.name,
            )
        if len(part.media) == 1:
            _check_feed_image(part.media[0], self.name)
        self.media_host()
        yield from self.ensure_fresh_token()
        used, total = yield from self._quota()
        self._quotas[thread.key] = (used, total)
        if used >= total:
            raise RateLimited(
                f"instagram: the account has published {used} of its {total} posts allowed "
                "through the API in 24 hours",
                platform=self.name,
                bucket=f"{self.name}:publish",
                platform_message=f"content_publishing_limit: quota_usage {used} of {total}",
            )
        return (
            yield from self.publish_container(
                part, thread, lambda: self._create(part), bucket="publish"
            )
        )

    def _quota(self) -> Flow[tuple[int, int]]:
        body = yield from self.get(
            f"/{self.user_id}/content_publishing_limit",
            {"fields": "config,quota_usage"},
            QuotaAnswer,
        )
        return body.usage(default_total=100)

    def _create(self, part: RenderedPart) -> Flow[str]:
        media = part.media
        if len(media) == 1:
            item = media[0]
            url = self.media_url(item)
            if item.kind == "video":
                data: dict[str, Any] = {
                    "media_type": "REELS",
                    "video_url": url,
                    "caption": part.text,
                    "share_to_feed": True,
                }
            else:
                data = {"image_url": url, "caption": part.text, "alt_text": item.alt or None}
            return (yield from self.make_container(data))
        children = (self._child(item) for item in media)
        return (yield from self.make_carousel(children, {"caption": part.text}))

    def _child(self, item: Media) -> dict[str, Any]:
        url = self.media_url(item)
        if item.kind == "video":
            return {"media_type": "VIDEO", "video_url": url, "is_carousel_item": True}
        return {"image_url": url, "is_carousel_item": True, "alt_text": item.alt or None}

    # -- find --------------------------------------------------------------------------------

    def find_part(
        self, rendered: Rendered, part: RenderedPart, thread: ThreadContext
    ) -> Flow[PartRef | None]:
        """Find the post an earlier attempt of this part published, without publishing.

        With the part's container known: ``PUBLISHED`` means it was published (the media is
        found in ``/media``), anything else means it was not (``None``; a ``FINISHED``
        container is then reused). Without it (a new process), ``/media`` since the part's
        key was made is read back and matched on the caption.

        An answer to a comment (``thread.reply_to``) is looked for among the comment's
        replies: the account's own with the same text, made since the part's key.

        Raises:
            PlatformError: Meta could not be asked, or the container is published but its
                post is not listed yet.
        """
        if thread.reply_to is not None and part.index == 0:
            return (yield from self._find_reply(part, thread))
        return (yield from self.find_by_container(part, thread))

    def read_back(
        self, part: RenderedPart, thread: ThreadContext, container: str | None
    ) -> Flow[PartRef | None]:
        """The account's ``/media`` since the part's key was made (less `readback_slack`),
        matched on the caption, the match the attempt made chosen by `first_made` (by
        Meta's clock, from the answer's ``Date``)."""
        oldest = yield from self.read_back_post(
            f"/{self.user_id}/media",
            "id,caption,timestamp,permalink,media_type",
            _Media,
            thread,
            part.text,
            text_of=lambda m: m.caption,
            when=lambda m: parse_time(m.timestamp),
        )
        return self.found_ref(part, thread, container, oldest)

    # -- conversations -----------------------------------------------------------------------

    def inbox(self, cursor: str | None, *, limit: int) -> Flow[InboxPage]:
        """The comments and replies on the account's `inbox_posts` newest media that are
        new since ``cursor``, the account's own left out, oldest first, about ``limit``.

        One request reads them while no media has more than `comments_page` comments
        and no comment more than `comments_page` replies: the media come with their
        comments and the comments with their replies expanded. Instagram lists comments
        newest first and has no "every level" order, so a new reply can sit under an old
        comment: every page of a media's comments is read (at most `inbox_pages`) and the
        cursor keeps what was seen. When a media's comments are still new after
        `inbox_pages` pages, or a comment has more than `inbox_pages` pages of replies,
        the read gives what it found with ``more`` and a cursor that goes on with those
        edges from Meta's ``after`` cursor before the mark moves. A read gives at most
        ``limit`` (whole pages, the next reads going on after the last one given; see
        `new_messages`); the reads
        that go on make at most `inbox_pages` requests each and stop reading comments
        once they have about ``limit`` messages, the replies of the comments read coming
        on top. The media others tagged the account in (``GET /{ig-user-id}/tags``,
        newest first by the media's time; Facebook Login accounts only) come as
        messages of kind ``"mention"``: page after page of `tags_page` until a page
        reaches the cursor's mark (one request more while fewer than `tags_page` are
        new; a read with no mark reads one page, and one that finds nothing marks Meta's
        clock less `InboxCursor.CLOCK_SLACK`), at most `inbox_pages` pages,
        a read stopped there going on from Meta's ``after`` cursor. Caption and comment
        @mentions are not read (Meta names them only to webhooks).

        Raises:
            ConfigurationError: ``cursor`` is not one this account's inbox returned.
            PlatformError: Meta refused (typed by `error_for`).
            MalformedResponse: an answer brandkit cannot read.
        """
        state = InboxCursor.decode(cursor, self.name, self.user_id)
        yield from self.ensure_fresh_token()
        if state.resume:
            return (yield from self._inbox_round(state, limit))
        n = self.comments_page
        nested = f"{COMMENT_FIELDS},replies.limit({n}){{{COMMENT_FIELDS}}}"
        media, clock = yield from self.get_dated(
            f"/{self.user_id}/media",
            {"fields": f"id,permalink,comments.limit({n}){{{nested}}}", "limit": self.inbox_posts},
            EdgePage[_MediaComments],
        )
        found: list[Message] = []
        resume: list[tuple[str, str]] = []
        reads: list[EdgeRead] = []
        if self._reads_tags:
            tags = yield from self._tagged(state, "", self.inbox_pages)
            reads.append(EdgeRead(edge=_TAGS, pages=tags.pages, after=tags.after))
        for item in media.data:
            if item.comments is None:
                continue  # Meta leaves the edge out of a media without comments
            yield from self._inbox_comments(
                item.id, item.comments, None, state, found, resume, reads=reads
            )
        page = new_messages(reads, state, limit, clock=clock)
        if self._reads_tags and state.at is None and not page.messages and clock is not None:
            # Nothing read, so no mark: the next read would take the tags edge's first
            # page alone (a read without a mark does) and lose a burst past it. The mark
            # goes to Meta's clock instead, less the skew its stamps may have.
            after = InboxCursor.decode(page.cursor, self.name, self.user_id)
            if after.at is None and not after.resume:
                mark = attrs.evolve(after, at=clock - InboxCursor.CLOCK_SLACK)
                page = attrs.evolve(page, cursor=mark.encode())
        return page

    @property
    def _reads_tags(self) -> bool:
        # Meta documents the IG User tags edge on graph.facebook.com only; an Instagram
        # Login account keeps the inbox it had rather than failing on an unknown edge.
        return urlsplit(self.account.base_url).hostname != "graph.instagram.com"

    def _tagged(
        self,
        state: InboxCursor,
        after: str,
        pages: int,
        budget: int | None = None,
        floor: InboxCursor | None = None,
        again: bool = False,
    ) -> Flow[EdgePages[tuple[Message, ...]]]:
        """The media others tagged the account in (``GET /{ig-user-id}/tags``), as
        messages of kind ``"mention"``, page by page from ``after`` (``""``: the first
        page), each page with Meta's ``after`` cursor of it (`EdgePages`). Reading stops
        at the first page holding a media ``state`` has seen (the edge lists the newest
        media first, so the rest were read before), after the first page when ``state``
        has no mark, at the edge's end, at ``pages`` requests, or once ``budget``
        messages were read; the result's ``after`` is the cursor to go on from when it
        stopped at those two bounds with more to read. An ``after`` Meta invalidated (its
        media deleted or untagged) reads the edge from its first page again, the media
        down to ``floor`` (`InboxCursor.floors`) left out: they were read before (the
        request Meta refused counts among the ``pages``). ``again`` (`InboxCursor.again`)
        says the edge was read again so before, and the media down to ``floor`` are left
        out from the first page read; the result's ``again`` is that, or that this read
        did so."""
        params: dict[str, Any] = {"fields": TAGGED_FIELDS, "limit": self.tags_page}
        if after:
            params["after"] = after
        read: list[tuple[tuple[Message, ...], str | None]] = []
        count = 0
        went = again
        sent = 0
        while True:
            if not read and after:
                page, restarted = yield from self.get_from_cursor(
                    f"/{self.user_id}/tags", params, _TagsPage
                )
                sent += restarted  # the request Meta refused
                went = went or restarted
            else:
                page = yield from self.get(f"/{self.user_id}/tags", params, _TagsPage)
            sent += 1
            messages = tuple(
                self._mention(m)
                for m in page.data
                if not (went and before_floor(floor, m.timestamp, m.id))
            )
            count += len(messages)
            reached = state.at is None or any(
                not state.is_new(m.timestamp, m.id) for m in page.data
            )
            following = None if reached else page.after()
            read.append((messages, following))
            if following is None:
                return EdgePages(tuple(read), None, sent, went)
            if sent >= pages or (budget is not None and count >= budget):
                return EdgePages(tuple(read), following, sent, went)
            params["after"] = following

    def _mention(self, m: _Tagged) -> Message:
        """A tagged media as a message of kind ``"mention"``."""
        return Message(
            platform=self.name,
            account=self.account.key,
            id=m.id,
            kind="mention",
            author=Author(
                id=m.username or "unknown",
                handle=m.username,
                url=f"https://www.instagram.com/{m.username}/" if m.username else None,
            ),
            text=m.caption,
            created_at=m.timestamp,
            url=m.permalink,
            in_reply_to=None,
            conversation=m.id,
            our_post=None,
            raw=m.raw,
        )

    def _inbox_round(self, state: InboxCursor, limit: int) -> Flow[InboxPage]:
        """Go on reading the edges of a round (``state.resume``: a media's comments, or
        ``{media}/{comment}``, a comment's replies) from Meta's ``after`` cursors, until
        about ``limit`` messages (the comments read stop there, their replies come with
        them) or `inbox_pages` requests in all, the replies' included. A cursor Meta
        invalidated (its item deleted) reads that edge from its first page again, what
        lies up to the edge's floor left out (read before: `InboxCursor.floors`), at this
        read and the round's later ones (`InboxCursor.again`)."""
        todo = list(state.resume)
        floors: dict[str, InboxCursor | None] = dict(state.floors)
        went = set(state.again)
        found: list[Message] = []
        requests = 0
        while todo and len(found) < limit and requests < self.inbox_pages:
            edge, after = todo.pop(0)
            if edge == _TAGS:
                # Down to the round's starting mark, from Meta's cursor (or from the first
                # page: "" in cursors of reads that read the edge's first page alone).
                floor = floors.get(_TAGS)
                tags = yield from self._tagged(
                    state,
                    after,
                    self.inbox_pages - requests,
                    budget=max(1, limit - len(found)),
                    floor=floor,
                    again=_TAGS in went,
                )
                if tags.again:
                    went.add(_TAGS)
                tagged = [m for page, _ in tags.pages for m in page]
                found.extend(tagged)
                requests += tags.requests
                if tags.after is not None:
                    todo.insert(0, (_TAGS, tags.after))
                    floors[_TAGS] = edge_floor(floor, ((m.created_at, m.id) for m in tagged))
                continue
            media_id, _, comment_id = edge.partition("/")
            more: list[tuple[str, str]] = []
            left = self.inbox_pages - requests
            if comment_id:
                requests += yield from self._inbox_replies(
                    media_id,
                    comment_id,
                    None,
                    after,
                    found,
                    more,
                    pages=left,
                    floors=floors,
                    went=went,
                )
            else:
                requests += yield from self._inbox_comments(
                    media_id,
                    None,
                    after,
                    state,
                    found,
                    more,
                    pages=left,
                    budget=limit,
                    floors=floors,
                    went=went,
                )
            todo[:0] = more
        return resumed_messages(found, state, todo, floors, went)

    def _inbox_comments(
        self,
        media_id: str,
        first: EdgePage[_Comment] | None,
        after: str | None,
        state: InboxCursor,
        found: list[Message],
        resume: list[tuple[str, str]],
        *,
        pages: int | None = None,
        budget: int | None = None,
        reads: list[EdgeRead] | None = None,
        floors: dict[str, InboxCursor | None] | None = None,
        went: set[str] | None = None,
    ) -> Flow[int]:
        """Read a media's comments (from ``first``, or from ``after``) and their replies
        into ``found``, at most `inbox_pages` pages of each and ``pages`` requests in all
        (``None``: no bound but that), the comments no further than the page on which
        ``found`` reaches ``budget``; an edge left with more to read goes to ``resume``
        (the comments only while the oldest read is still new: older ones were read
        before). With ``reads``, each edge read also goes there page by page (for
        `new_messages`). With ``floors`` (a round's, `InboxCursor.floors`), an ``after``
        Meta invalidated reads the comments from the first page again, those up to the
        media's floor left out with their replies (read before), and the floors of the
        edges left to ``resume`` are kept there; ``went`` holds the edges read again so in
        the round (`InboxCursor.again`), whose later reads leave that out too. Returns the
        requests made."""
        n = self.comments_page
        params: dict[str, Any] = {
            "fields": f"{COMMENT_FIELDS},replies.limit({n}){{{COMMENT_FIELDS}}}",
            "limit": n,
        }
        if after:  # "": the edge's first page
            params["after"] = after
        floor = floors.get(media_id) if floors is not None else None
        skipped: list[str] = []

        def restart(c: _Comment) -> bool:
            if before_floor(floor, c.timestamp, c.id):
                skipped.append(c.id)
                return True
            return False

        edge_read = yield from self.read_edge_pages(
            f"/{media_id}/comments",
            params,
            _Comment,
            first,
            max_pages=self._pages_of(first, pages),
            budget=None if budget is None else max(1, budget - len(found)),
            gone_ends=first is None,
            restart=restart if floors is not None else None,
            again=went is not None and media_id in went,
        )
        if went is not None and edge_read.again:
            went.add(media_id)
        read, more, requests = edge_read.pages, edge_read.after, edge_read.requests
        comments = [c for page, _ in read for c in page]
        oldest = min(comments, key=lambda c: (c.timestamp, c.id), default=None)
        all_new = oldest is None or state.is_new(oldest.timestamp, oldest.id)
        # A read again from the first page that met only comments read before goes on.
        if (oldest is None and not skipped) or not all_new:
            more = None
        if more is not None:
            resume.append((media_id, more))
            if floors is not None:
                places = ((c.timestamp, c.id) for c in comments if not self._ours(c))
                floors[media_id] = edge_floor(floor, places)
        index = len(reads) if reads is not None else 0
        if reads is not None:
            reads.append(
                EdgeRead(
                    edge=media_id,
                    pages=tuple(
                        (tuple(self._message(c, media_id, None) for c in p if not self._ours(c)), a)
                        for p, a in read
                    ),
                    after=more,
                    start=after or "",
                    all_new=all_new,
                )
            )
        for number, (page, _) in enumerate(read):
            for comment in page:
                if not self._ours(comment):
                    found.append(self._message(comment, media_id, None))
                if comment.replies is not None:
                    left = None if pages is None else pages - requests
                    requests += yield from self._inbox_replies(
                        media_id,
                        comment.id,
                        comment.replies,
                        None,
                        found,
                        resume,
                        pages=left,
                        reads=reads,
                        within=(index, number),
                        floors=floors,
                        went=went,
                    )
        return requests

    def _inbox_replies(
        self,
        media_id: str,
        comment_id: str,
        first: EdgePage[_Reply] | None,
        after: str | None,
        found: list[Message],
        resume: list[tuple[str, str]],
        *,
        pages: int | None = None,
        reads: list[EdgeRead] | None = None,
        within: tuple[int, int] | None = None,
        floors: dict[str, InboxCursor | None] | None = None,
        went: set[str] | None = None,
    ) -> Flow[int]:
        """Read a comment's replies (from ``first``, or from ``after``) into ``found``, at
        most `inbox_pages` pages and ``pages`` requests (``None``: no bound but that); with
        more to read, ``{media}/{comment}`` goes to ``resume``. With ``reads``, the edge
        read also goes there page by page, ``within`` the comments page holding its
        first page. With ``floors`` (a round's, `InboxCursor.floors`), an ``after`` Meta
        invalidated reads the replies from the first page again, those up to the edge's
        floor left out (read before; replies are listed oldest first), and the edge's
        floor is kept there when it goes to ``resume``; ``went`` holds the edges read again
        so in the round (`InboxCursor.again`), whose later reads leave that out too.
        Returns the requests made."""
        params: dict[str, Any] = {"fields": COMMENT_FIELDS, "limit": self.comments_page}
        if after:  # "": the edge's first page
            params["after"] = after
        edge = f"{media_id}/{comment_id}"
        floor = floors.get(edge) if floors is not None else None
        read = yield from self.read_edge_pages(
            f"/{comment_id}/replies",
            params,
            _Reply,
            first,
            max_pages=self._pages_of(first, pages),
            gone_ends=first is None,
            restart=lambda r: before_floor(floor, r.timestamp, r.id, newest_first=False),
            again=went is not None and edge in went,
        )
        if went is not None and read.again:
            went.add(edge)
        mine = [
            (tuple(self._message(r, media_id, comment_id) for r in p if not self._ours(r)), a)
            for p, a in read.pages
        ]
        if read.after is not None:
            resume.append((edge, read.after))
            if floors is not None:
                places = ((m.created_at, m.id) for p, _ in mine for m in p)
                floors[edge] = edge_floor(floor, places, newest_first=False)
        if reads is not None:
            reads.append(
                EdgeRead(
                    edge=edge,
                    pages=tuple(mine),
                    after=read.after,
                    start=after or "",
                    within=within,
                    newest_first=False,
                )
            )
        found.extend(m for p, _ in mine for m in p)
        return read.requests

    def _pages_of(self, first: EdgePage[Any] | None, requests: int | None) -> int:
        """The pages an inbox edge read may read: `inbox_pages`, and no more than
        ``requests`` requests (``None``: no such bound) on top of ``first``, a page
        read already."""
        if requests is None:
            return self.inbox_pages
        return min(self.inbox_pages, max(requests, 0) + (first is not None))

    def replies(self, refs: Sequence[PartRef]) -> Flow[list[Message]]:
        """The comments and replies on the media, oldest first, the account's own left
        out (``GET /{ig-media-id}/comments`` with the replies expanded).

        Raises:
            PlatformError: Meta refused (typed by `error_for`).
            MalformedResponse: an answer brandkit cannot read.
        """
        yield from self.ensure_fresh_token()
        found = yield from self._conversation(refs[0].id, None)
        return sorted(found, key=lambda m: (m.created_at, m.id))

    def reply_target(self, message: Message) -> PartRef:
        """The comment to answer. Instagram keeps one level: an answer to a reply joins
        the replies of its comment (``extra["thread"]``), where a lost answer is looked
        for.

        Raises:
            Unsupported: ``message`` is a media the account is tagged in (a mention): the
                comments API answers comments on the account's own media only.
            ConfigurationError: ``message`` belongs to another account.
        """
        self._refuse_tagged(message, "reply", "answer")
        return self.comment_target(message)

    def _refuse_tagged(self, message: Message, operation: str, verb: str) -> None:
        """Refuse to act on a media the account is tagged in (kind ``"mention"``): it is
        someone else's media, not a comment, and Meta's answer to a hide or delete of it
        ("Unsupported ... request", subcode 33) would read as a comment already gone."""
        if message.kind == "mention":
            raise Unsupported(
                f"instagram cannot {verb} a media the account is tagged in through its API "
                "(it acts on comments on the account's own media only): do it in the "
                "Instagram app",
                platform=self.name,
                operation=operation,
            )

    def set_hidden(self, message: Message, hidden: bool) -> Flow[None]:
        """``POST /{ig-comment-id}`` with ``hide`` (a hidden comment cannot be answered).

        Raises:
            Unsupported: ``message`` is a media the account is tagged in.
            PlatformError: Meta refused (typed by `error_for`).
        """
        self._refuse_tagged(message, "hide", "hide")
        yield from self.ensure_fresh_token()
        request = self.request("POST", f"/{message.id}", data={"hide": hidden})
        response = yield Send(request, idempotent=True, bucket="instagram")
        self.check(response)

    def delete_message(self, message: Message) -> Flow[None]:
        """``DELETE /{ig-comment-id}``; a comment already gone counts as deleted.

        Raises:
            Unsupported: ``message`` is a media the account is tagged in.
            PlatformError: Meta refused (typed by `error_for`).
        """
        self._refuse_tagged(message, "delete", "delete")
        yield from self.delete_node(message.id)

    def _conversation(self, media_id: str, first: EdgePage[_Comment] | None) -> Flow[list[Message]]:
        """Every comment and reply of a media (from its first page of comments, when it
        was read already), the account's own left out."""
        n = self.comments_page
        comments = yield from self.rest_of_edge(
            f"/{media_id}/comments",
            {"fields": f"{COMMENT_FIELDS},replies.limit({n}){{{COMMENT_FIELDS}}}", "limit": n},
            _Comment,
            first,
            max_pages=self.inbox_pages,
        )
        found: list[Message] = []
        for comment in comments:
            if not self._ours(comment):
                found.append(self._message(comment, media_id, None))
            if comment.replies is None:
                continue
            replies = yield from self.rest_of_edge(
                f"/{comment.id}/replies",
                {"fields": COMMENT_FIELDS, "limit": n},
                _Reply,
                comment.replies,
                max_pages=self.inbox_pages,
            )
            found.extend(
                self._message(r, media_id, comment.id) for r in replies if not self._ours(r)
            )
        return found

    def _ours(self, comment: _Reply) -> bool:
        if comment.user is not None:
            return True
        return comment.author is not None and comment.author.id == self.user_id

    def _message(self, c: _Reply, media_id: str, parent: str | None) -> Message:
        parent = parent or c.parent_id
        handle = c.username or (c.author.username if c.author is not None else None)
        author_id = c.author.id if c.author is not None and c.author.id else None
        return self.comment_message(
            c.id,
            post=media_id,
            parent=parent,
            author=Author(
                id=author_id or handle or "unknown",
                handle=handle,
                url=f"https://www.instagram.com/{handle}/" if handle else None,
            ),
            text=c.text,
            created_at=c.timestamp,
            url=None,  # Instagram comments have no address of their own
            hidden=c.hidden,
            raw=c.raw,
        )

    def _publish_reply(self, part: RenderedPart, target: PartRef) -> Flow[PartRef]:
        """``POST /{ig-comment-id}/replies`` with the answer's text (no idempotency: a lost
        answer is looked up by `find_part` before anything is sent again)."""
        if part.media:
            raise ContentError(
                "instagram: answers to comments are text only; remove the media",
                field="media",
                platform=self.name,
            )
        yield from self.ensure_fresh_token()
        request = self.request("POST", f"/{target.id}/replies", data={"message": part.text})
        response = yield Send(request, creates=True, bucket="instagram")
        reply_id = self.parse(response, IdAnswer).id
        return PartRef(index=part.index, id=reply_id, extra={"parent": target.id})

    def _find_reply(self, part: RenderedPart, thread: ThreadContext) -> Flow[PartRef | None]:
        assert thread.reply_to is not None
        under = self.answer_thread(thread)
        since = self.readback_since(thread)
        replies = yield from self.rest_of_edge(
            f"/{under}/replies",
            {"fields": COMMENT_FIELDS, "limit": self.comments_page},
            _Reply,
            None,
            max_pages=self.inbox_pages,
        )
        matches = [
            r
            for r in replies
            if self._ours(r)
            and r.text.strip() == part.text.strip()
            and (since is None or r.timestamp >= since)
        ]
        # Ids (which grow) break a tie within the same second.
        oldest = self.made_by_attempt(
            sorted(matches, key=lambda r: r.id), thread, lambda r: r.timestamp
        )
        if oldest is None:
            return None
        return PartRef(index=part.index, id=oldest.id, extra={"parent": thread.reply_to.id})

    # -- listening ---------------------------------------------------------------------------

    def compile_query(self, query: Query) -> tuple[str, ...]:
        """The hashtags to look up with ``ig_hashtag_search`` (``q``), in the query's order,
        lower-cased (Instagram's hashtags ignore case) and each once: Instagram searches
        nothing but hashtags, one at a time. ``since``/``until`` are applied to the media's
        ``timestamp`` (Meta shows only the last 24 hours anyway).

        Raises:
            UnsupportedQuery: the query has words (``any``, ``all``), ``phrases``,
                ``handles``, ``exclude`` or ``languages`` (``feature`` names the first),
                or no hashtag, or a hashtag Meta's search refuses (an emoji, punctuation).
        """
        for feature, given in (
            ("words", query.any or query.all),
            ("phrases", query.phrases),
            ("handles", query.handles),
            ("exclude", query.exclude),
            ("languages", query.languages),
        ):
            if given:
                raise UnsupportedQuery(
                    f"instagram searches hashtags only: it cannot search {feature} "
                    f"({', '.join(given)}); give hashtags= alone for Instagram",
                    platform=self.name,
                    feature=feature,
                )
        if not query.hashtags:
            raise UnsupportedQuery(
                "instagram searches hashtags only: give hashtags=",
                platform=self.name,
                feature="hashtags",
            )
        tags: list[str] = []
        for raw in query.hashtags:
            tag = unicodedata.normalize("NFC", raw).lower()
            if not _HASHTAG.match(tag):
                raise UnsupportedQuery(
                    f"instagram cannot search the hashtag #{raw}: Meta's hashtag search takes "
                    "letters, digits and _ only (no emoji, no punctuation)",
                    platform=self.name,
                    feature="hashtags",
                )
            if tag not in tags:
                tags.append(tag)
        return tuple(tags)

    def hashtags_of(self, query: Query) -> tuple[str, ...]:
        """The unique hashtags a search of ``query`` queries (each counts against the
        account's 30 per rolling 7 days once, however often it is searched): what a caller
        keeping the 7-day tally across runs must check before searching (no I/O).

        Raises:
            UnsupportedQuery: as `compile_query`.
        """
        return self.compile_query(query)

    def search(self, query: Query, cursor: str | None, *, limit: int) -> Flow[SearchPage]:
        """The public media tagged with the query's hashtags in the last 24 hours that the
        cursor has not given yet, as ``Message(kind="found")``, oldest first.

        Per hashtag: its id (``GET /ig_hashtag_search``, once: the cursor keeps it), then
        every page of ``GET /{hashtag-id}/recent_media`` (50 a page; Meta lists them in no
        time order, so all are read and the cursor remembers the ids given). It stops once
        ``limit`` media were read, with ``more`` set and the place kept in the cursor (the
        next search goes on from there to the last hashtag, the one after starts over). Meta
        gives no author of hashtagged media: ``author.id`` is ``"unknown"``.

        Raises:
            Unsupported: the account uses Instagram Login (hashtag search needs Facebook
                Login for Business, at graph.facebook.com).
            UnsupportedQuery: as `compile_query`.
            ConfigurationError: ``cursor`` is not one a search returned, or it was made for
                another query (other hashtags) or account (before any request).
            RateLimited: code 18, the 30 unique hashtags of 7 days are used up.
            PlatformError: Meta refused otherwise (typed by `error_for`).
            MalformedResponse: an answer brandkit cannot read.
        """
        tags = self.compile_query(query)
        state = SearchCursor.decode(cursor)
        name = cursor_tag(self.account.key, *sorted(tags))
        if state.query is not None and state.query != name:
            # Its ids given would be skipped here: media tagged with this query's hashtags
            # too that the other query gave already.
            raise ConfigurationError(
                "instagram: this search cursor was made for another query (or another "
                f"account than {self.account.key}): going on from it would skip media it "
                "gave there; pass the cursor saved for this query, or None to search the "
                "last 24 hours again"
            )
        if urlsplit(self.account.base_url).hostname == "graph.instagram.com":
            raise Unsupported(
                "instagram: hashtag search needs Facebook Login for Business "
                "(graph.facebook.com); this account uses Instagram Login",
                platform=self.name,
                operation="search",
            )
        yield from self.ensure_fresh_token()
        seen = dict(state.seen)
        ids = dict(state.ids)
        order = list(tags)
        after: str | None = None
        if state.resume is not None and state.resume[0] in tags:
            # Go on where the last search stopped, then the hashtags after it: those before
            # it were read in this round already (wrapping round would never finish when
            # each hashtag fills the limit).
            order = order[order.index(state.resume[0]) :]
            after = state.resume[1]
        found: dict[str, Message] = {}
        read = 0
        resume: tuple[str, str] | None = None
        for n, tag in enumerate(order):
            if read >= limit:
                resume = (tag, "")
                break
            hashtag_id = ids.get(tag)
            if hashtag_id is None:
                hashtag_id = yield from self._hashtag_id(tag)
                if hashtag_id is None:
                    continue  # Meta knows no such hashtag: nothing is tagged with it
                ids[tag] = hashtag_id
            params: dict[str, Any] = {
                "user_id": self.user_id,
                "fields": FOUND_FIELDS,
                "limit": self.search_page,
            }
            resumed = n == 0 and bool(after)
            if resumed:
                params["after"] = after
            for _ in range(self.search_pages):
                try:
                    page = yield from self.get(
                        f"/{hashtag_id}/recent_media", params, EdgePage[_Found]
                    )
                except Rejected as exc:
                    if exc.code != 100 or not resumed:
                        raise
                    # Meta's cursor from an earlier search no longer holds: read the
                    # hashtag from the top (the cursor's ids keep what was given).
                    del params["after"]
                    page = yield from self.get(
                        f"/{hashtag_id}/recent_media", params, EdgePage[_Found]
                    )
                resumed = False
                read += len(page.data)
                for item in page.data:
                    if item.id in seen or item.id in found:
                        continue
                    message = self._found(item, tag)
                    # Meta gives the time to the second: a post of since's own second
                    # may have been written after since, and is kept rather than lost.
                    if query.since is not None and message.created_at < query.since.replace(
                        microsecond=0
                    ):
                        continue
                    if query.until is not None and message.created_at >= query.until:
                        continue
                    found[item.id] = message
                next_after = page.after()
                if next_after is None:
                    break
                params["after"] = next_after
                if read >= limit:
                    resume = (tag, next_after)
                    break
            else:
                # `search_pages` pages and still more: the next search goes on from here.
                resume = (tag, str(params.get("after") or ""))
            if resume is not None:
                break
        for m in found.values():
            seen[m.id] = int(m.created_at.timestamp())
        ordered = sorted(found.values(), key=lambda m: (m.created_at, m.id))
        out = SearchCursor(seen=seen, ids=ids, resume=resume, query=name)
        out = attrs.evolve(out, seen=out.pruned())
        return SearchPage(
            messages=tuple(ordered),
            cursor=out.encode(),
            more=resume is not None,
            read=read,
        )

    def _hashtag_id(self, tag: str) -> Flow[str | None]:
        """``GET /ig_hashtag_search?user_id=&q=``: the hashtag's id (``None``: Meta names
        none). Counts against the 30 unique hashtags of 7 days."""
        body = yield from self.get(
            "/ig_hashtag_search", {"user_id": self.user_id, "q": tag}, _HashtagIds
        )
        return body.data[0].id if body.data else None

    def _found(self, item: _Found, tag: str) -> Message:
        return Message(
            platform=self.name,
            account=self.account.key,
            id=item.id,
            kind="found",
            # Meta does not name who posted hashtagged media (no username field there).
            author=Author(id="unknown"),
            text=item.caption or "",
            created_at=item.timestamp,
            url=item.permalink,
            conversation=item.id,
            raw=item.raw,
            extra={
                "hashtag": tag,
                "media_type": item.media_type,
                "like_count": item.like_count,
                "comments_count": item.comments_count,
            },
        )

    # -- delete ------------------------------------------------------------------------------

    def delete_part(self, ref: PartRef) -> Flow[None]:
        """``DELETE /{ig-media-id}`` (the whole post; Facebook Login with
        ``instagram_manage_contents``); a post that is already gone counts as deleted.

        Raises:
            PlatformError: Meta refused (typed by `error_for`).
        """
        yield from self.delete_node(ref.id)

    # -- metrics -----------------------------------------------------------------------------

    def collect_metrics(self, refs: Sequence[PartRef]) -> Flow[list[MetricSample]]:
        """Views, reach, likes, comments, saves and shares of up to 50 posts in one batch
        request. Retired metrics, and metrics Meta refuses, come back unavailable.

        Raises:
            PlatformError: Meta refused the batch itself.
        """
        yield from self.ensure_fresh_token()
        wanted = [raw for raw, _ in self.media_metrics if raw not in RETIRED_MEDIA_METRICS]
        answers: list[httpx.Response | None] = [None] * len(refs)
        if wanted:
            urls = [f"{ref.id}/insights?metric={','.join(wanted)}" for ref in refs]
            answers = yield from self.batch(urls, bucket="instagram")
        fetched_at = datetime.now(UTC)
        samples: list[MetricSample] = []
        for ref, answer in zip(refs, answers, strict=True):
            insights, refused = self.read_insights(answer, asked=bool(wanted))
            samples.extend(
                media_samples(
                    insights,
                    refused,
                    self.media_metrics,
                    platform=self.name,
                    account=self.account.key,
                    post_id=ref.id,
                    fetched_at=fetched_at,
                )
            )
        return samples

    def collect_account_metrics(self) -> Flow[list[MetricSample]]:
        """The account's followers (``GET /{ig-user-id}?fields=followers_count``).

        Raises:
            PlatformError: Meta refused (typed by `error_for`).
        """
        return (
            yield from self.followers(self.user_id, "followers_count,media_count", "this account")
        )


def media_samples(
    insights: InsightsAnswer | None,
    refused: str | None,
    metrics: Sequence[tuple[str, Metric]],
    *,
    platform: str,
    account: str,
    post_id: str | None,
    fetched_at: datetime,
    retired: dict[str, str] | None = None,
) -> Iterator[MetricSample]:
    """Samples from one Graph insights answer (read by `GraphAdapter.read_insights`):
    one per wanted metric, unavailable with the reason where the metric is retired, refused
    (``refused`` says why) or missing."""
    retired = RETIRED_MEDIA_METRICS if retired is None else retired
    common: dict[str, Any] = {
        "platform": platform,
        "account": account,
        "post_id": post_id,
        "fetched_at": fetched_at,
    }
    values = insights.values() if insights is not None else {}
    for raw, metric in metrics:
        value = values.get(raw)
        if raw not in retired and isinstance(value, int | float):
            yield MetricSample(metric=metric.value, value=value, raw_name=raw, **common)
            continue
        if raw in retired:
            reason = retired[raw]
        elif refused is not None:
            reason = refused
        else:
            reason = f"Meta sent no value for {raw}"
        yield MetricSample.unavailable(metric=metric.value, raw_name=raw, reason=reason, **common)


def _check_feed_image(media: Media, platform: str) -> None:
    """Refuse a feed image Instagram would refuse (36003/2207009, "Invalid aspect ratio"):
    width over height from 4:5 to 1.91:1. A carousel's items are cropped to the first
    one's frame instead, so only a post's single image is held to it.

    Raises:
        MediaError: the image's size is known (from its header) and out of the range.
    """
    if media.kind != "image" or media.aspect_ratio is None:
        return
    width, height = media.aspect_ratio
    # Whole numbers, so that 4:5 and 1.91:1 themselves are in.
    if 4 * height <= 5 * width and 100 * width <= 191 * height:
        return
    raise MediaError(
        f"media[0] is a {width}x{height} image; an Instagram feed image is from 4:5 "
        "(portrait) to 1.91:1 (landscape): crop it to that range",
        field="media[0]",
        platform=platform,
    )
