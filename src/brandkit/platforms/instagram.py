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
  ``/{ig-comment-id}/replies``. Answers are ``POST /{ig-comment-id}/replies`` (one level:
  an answer to a reply joins its comment), looked up again among the comment's replies
  after a lost answer; ``POST /{ig-comment-id}`` ``hide`` and ``DELETE /{ig-comment-id}``
  moderate. Mentions need the ids Meta's webhooks send, and the API cannot like.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

import httpx
import pydantic

from brandkit._flow import Flow, Send
from brandkit.errors import (
    ConfigurationError,
    ContentError,
    PlatformUnavailable,
    RateLimited,
    Rejected,
)
from brandkit.inbox._model import Author, InboxPage, Message
from brandkit.metrics._sample import Metric, MetricSample
from brandkit.platforms._base import Answer, Capabilities, PartRef, RatePolicy, ThreadContext
from brandkit.platforms._capabilities import BUILTIN_CAPABILITIES
from brandkit.platforms._graph import (
    ContainerAnswer,
    ContainerExpired,
    EdgePage,
    Flag,
    FollowersAnswer,
    GraphAdapter,
    GraphId,
    GraphTime,
    IdAnswer,
    InboxCursor,
    InsightsAnswer,
    PermalinkAnswer,
    QuotaAnswer,
    RawAnswer,
    comment_rules,
    graph_error,
    new_messages,
    parse_time,
    tid_time,
)

if TYPE_CHECKING:
    from brandkit.accounts import Account
    from brandkit.content._media import Media
    from brandkit.content._render import Rendered, RenderedPart

__all__ = ["RETIRED_MEDIA_METRICS", "InstagramAdapter", "media_samples"]

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

_GONE = 33


class _Media(Answer):
    """One item of ``/{ig-user-id}/media`` as a read-back reads it."""

    id: GraphId
    caption: str | None = None
    timestamp: str | None = None
    permalink: str | None = None


class _From(Answer):
    id: GraphId | None = None
    username: str | None = None


class _User(Answer):
    id: GraphId


class _Reply(RawAnswer):
    """One comment or reply, as the inbox reads it (`COMMENT_FIELDS`)."""

    id: GraphId
    text: str = ""
    username: str | None = None
    timestamp: GraphTime
    hidden: Flag = False
    author: _From | None = pydantic.Field(default=None, alias="from")
    # Meta names ``user`` only on the account's own comments.
    user: _User | None = None
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

_Capabilities = BUILTIN_CAPABILITIES["instagram"]


class InstagramAdapter(GraphAdapter):
    """Publishes to one Instagram professional account; see the module docstring.

    Attributes:
        media_metrics: the media insights metrics asked for, each with its canonical name.
            Names in `RETIRED_MEDIA_METRICS` are not asked for and come back
            unavailable; metrics Meta refuses come back unavailable with Meta's message.
    """

    name: ClassVar[str] = "instagram"
    capabilities: ClassVar[Capabilities] = _Capabilities
    rate_policies: ClassVar[tuple[RatePolicy, ...]] = (
        # Business Use Case: 4800 calls x impressions per 24 h (one impression assumed).
        RatePolicy("instagram", 4800, 86_400.0),
        # 400 containers and (per the publishing guide) 100 API posts per rolling 24 h.
        RatePolicy("container", 400, 86_400.0),
        RatePolicy("publish", 100, 86_400.0),
    )
    metrics_batch_size: ClassVar[int] = 50
    refresh_grant: ClassVar[str | None] = "ig_refresh_token"
    inbox_posts: ClassVar[int] = 25
    """How many of the account's newest media an inbox read looks at (one page)."""
    comments_page: ClassVar[int] = 50
    """Comments (and replies) asked for per page (``limit``)."""
    inbox_pages: ClassVar[int] = 20
    """The most pages of comments read per media (and of replies per comment)."""

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
        # The container made for a part whose publish is not confirmed, by the part's key:
        # a repeated publish_part reuses it, and find_part asks it whether it was published.
        self._containers: dict[str, str] = {}
        # The quota read before the part's publish, reported again if the part is found
        # by reconciliation instead.
        self._quotas: dict[str, tuple[int, int]] = {}

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
        return "instagram"

    def auth_advice(self, code: int | None, subcode: int | None) -> str:
        return (
            "Instagram tokens last 60 days and cannot be refreshed once expired: authorise the "
            "app again (set token_expires_at on the account so that brandkit refreshes the "
            "token a week before it expires)"
        )

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
        container = self._containers.get(thread.key)
        for attempt in range(2):
            if container is None:
                container = yield from self._create(part)
                self._containers[thread.key] = container
            try:
                status = yield from self.wait_container(
                    container,
                    status_field="status_code",
                    message_field="status",
                    bucket="instagram",
                )
            except ContainerExpired:
                self._containers.pop(thread.key, None)
                container = None
                if attempt:
                    raise
                continue
            except Rejected:
                self._containers.pop(thread.key, None)
                raise
            break
        assert container is not None
        if status == "PUBLISHED":
            # An earlier attempt published it: never publish a container twice.
            found = yield from self._published(part, thread, container)
            return found
        request = self.request(
            "POST", f"/{self.user_id}/media_publish", data={"creation_id": container}
        )
        response = yield Send(request, creates=True, bucket="publish")
        media_id = self.parse(response, IdAnswer).id
        self._containers.pop(thread.key, None)
        self._quotas.pop(thread.key, None)
        body = yield from self.get(f"/{media_id}", {"fields": "permalink"}, PermalinkAnswer)
        return PartRef(
            index=part.index,
            id=media_id,
            url=body.permalink,
            extra={
                "container_id": container,
                "quota_total": total,
                "quota_remaining": max(0, total - used - 1),
            },
        )

    def _quota(self) -> Flow[tuple[int, int]]:
        body = yield from self.get(
            f"/{self.user_id}/content_publishing_limit",
            {"fields": "config,quota_usage"},
            QuotaAnswer,
        )
        return body.usage(default_total=100)

    def _container(self, data: dict[str, Any]) -> Flow[str]:
        # A container is seen by nobody; a repeat only leaves one to expire unused.
        request = self.request("POST", f"/{self.user_id}/media", data=data)
        response = yield Send(request, idempotent=True, bucket="container")
        return self.parse(response, IdAnswer).id

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
            return (yield from self._container(data))
        children = []
        for item in media:
            children.append((yield from self._container(self._child(item))))
        for child in children:
            # Meta asks for every child to be FINISHED before the carousel is made.
            yield from self.wait_container(
                child, status_field="status_code", message_field="status", bucket="instagram"
            )
        parent = {"media_type": "CAROUSEL", "children": ",".join(children), "caption": part.text}
        return (yield from self._container(parent))

    def _child(self, item: Media) -> dict[str, Any]:
        url = self.media_url(item)
        if item.kind == "video":
            return {"media_type": "VIDEO", "video_url": url, "is_carousel_item": True}
        return {"image_url": url, "is_carousel_item": True, "alt_text": item.alt or None}

    def _published(
        self, part: RenderedPart, thread: ThreadContext, container: str
    ) -> Flow[PartRef]:
        found = yield from self._read_back(part, thread, container)
        if found is None:
            raise PlatformUnavailable(
                f"instagram: container {container} is PUBLISHED but its post is not listed in "
                "the account's media yet; reconcile again later",
                platform=self.name,
            )
        self._containers.pop(thread.key, None)
        return found

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
        container = self._containers.get(thread.key)
        if container is None:
            return (yield from self._read_back(part, thread, None))
        body = yield from self.get(
            f"/{container}", {"fields": "status_code,status"}, ContainerAnswer
        )
        status = body.status_code
        if status == "PUBLISHED":
            return (yield from self._published(part, thread, container))
        if status in ("ERROR", "EXPIRED"):
            self._containers.pop(thread.key, None)
        return None

    def _read_back(
        self, part: RenderedPart, thread: ThreadContext, container: str | None
    ) -> Flow[PartRef | None]:
        started = tid_time(thread.key)
        since = started - self.readback_slack if started is not None else None
        params: dict[str, Any] = {
            "fields": "id,caption,timestamp,permalink,media_type",
            "limit": 25,
        }
        if since is not None:
            params["since"] = int(since.timestamp())
        items = yield from self.pages(f"/{self.user_id}/media", params, _Media)
        matches = [
            m
            for m in items
            if (m.caption or "").strip() == part.text.strip()
            and (since is None or (parse_time(m.timestamp) or since) >= since)
        ]
        if not matches:
            return None
        oldest = min(
            matches,
            key=lambda m: parse_time(m.timestamp) or datetime.max.replace(tzinfo=UTC),
        )
        extra: dict[str, Any] = {"container_id": container} if container else {}
        quota = self._quotas.pop(thread.key, None)
        if quota is not None:
            used, total = quota
            extra.update(quota_total=total, quota_remaining=max(0, total - used - 1))
        return PartRef(index=part.index, id=oldest.id, url=oldest.permalink, extra=extra)

    # -- conversations -----------------------------------------------------------------------

    def inbox(self, cursor: str | None, *, limit: int) -> Flow[InboxPage]:
        """The comments and replies on the account's `inbox_posts` newest media that are
        new since ``cursor``, the account's own left out, oldest first, at most ``limit``.

        One request reads them while no media has more than `comments_page` comments
        and no comment more than `comments_page` replies: the media come with their
        comments and the comments with their replies expanded. Instagram lists comments
        newest first and has no "every level" order, so a new reply can sit under an old
        comment: every page of a media's comments is read (at most `inbox_pages`) and the
        cursor keeps what was seen. Mentions are not read: Meta names them only to
        webhooks.

        Raises:
            ConfigurationError: ``cursor`` is not one an inbox read returned.
            PlatformError: Meta refused (typed by `error_for`).
            MalformedResponse: an answer brandkit cannot read.
        """
        state = InboxCursor.decode(cursor, self.name)
        yield from self.ensure_fresh_token()
        n = self.comments_page
        nested = f"{COMMENT_FIELDS},replies.limit({n}){{{COMMENT_FIELDS}}}"
        media = yield from self.get(
            f"/{self.user_id}/media",
            {"fields": f"id,permalink,comments.limit({n}){{{nested}}}", "limit": self.inbox_posts},
            EdgePage[_MediaComments],
        )
        found: list[Message] = []
        for item in media.data:
            if item.comments is None:
                continue  # Meta leaves the edge out of a media without comments
            found.extend((yield from self._conversation(item.id, item.comments)))
        return new_messages(found, state, limit)

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
        for."""
        self.check_message(message)
        parent = message.extra.get("parent")
        return PartRef(
            index=0,
            id=message.id,
            url=message.url,
            extra={"media": message.our_post, "thread": parent or message.id},
        )

    def set_hidden(self, message: Message, hidden: bool) -> Flow[None]:
        """``POST /{ig-comment-id}`` with ``hide`` (a hidden comment cannot be answered).

        Raises:
            PlatformError: Meta refused (typed by `error_for`).
        """
        yield from self.ensure_fresh_token()
        request = self.request("POST", f"/{message.id}", data={"hide": hidden})
        response = yield Send(request, idempotent=True, bucket="instagram")
        self.check(response)

    def delete_message(self, message: Message) -> Flow[None]:
        """``DELETE /{ig-comment-id}``; a comment already gone counts as deleted.

        Raises:
            PlatformError: Meta refused (typed by `error_for`).
        """
        yield from self.ensure_fresh_token()
        request = self.request("DELETE", f"/{message.id}")
        response = yield Send(request, idempotent=True, bucket="instagram")
        err = graph_error(response)
        if response.is_success or (err.get("code") == 100 and err.get("error_subcode") == _GONE):
            return
        self.check(response)

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
        return Message(
            platform=self.name,
            account=self.account.key,
            id=c.id,
            kind="comment",
            author=Author(
                id=author_id or handle or "unknown",
                handle=handle,
                url=f"https://www.instagram.com/{handle}/" if handle else None,
            ),
            text=c.text,
            created_at=c.timestamp,
            url=None,  # Instagram comments have no address of their own
            in_reply_to=parent or media_id,
            conversation=media_id,
            our_post=media_id,
            hidden=c.hidden,
            raw=c.raw,
            extra={"media": media_id, "parent": parent},
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
        under = str(thread.reply_to.extra.get("thread") or thread.reply_to.id)
        started = tid_time(thread.key)
        since = started - self.readback_slack if started is not None else None
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
        if not matches:
            return None
        oldest = min(matches, key=lambda r: (r.timestamp, r.id))
        return PartRef(index=part.index, id=oldest.id, extra={"parent": thread.reply_to.id})

    # -- delete ------------------------------------------------------------------------------

    def delete_part(self, ref: PartRef) -> Flow[None]:
        """``DELETE /{ig-media-id}`` (the whole post; Facebook Login with
        ``instagram_manage_contents``); a post that is already gone counts as deleted.

        Raises:
            PlatformError: Meta refused (typed by `error_for`).
        """
        yield from self.ensure_fresh_token()
        request = self.request("DELETE", f"/{ref.id}")
        response = yield Send(request, idempotent=True, bucket="instagram")
        err = graph_error(response)
        if response.is_success or (err.get("code") == 100 and err.get("error_subcode") == _GONE):
            return
        self.check(response)

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
        yield from self.ensure_fresh_token()
        body = yield from self.get(
            f"/{self.user_id}", {"fields": "followers_count,media_count"}, FollowersAnswer
        )
        now = datetime.now(UTC)
        if body.followers_count is None:
            return [
                MetricSample.unavailable(
                    platform=self.name,
                    account=self.account.key,
                    metric=Metric.FOLLOWERS.value,
                    raw_name="followers_count",
                    reason="Meta sent no followers_count for this account",
                    fetched_at=now,
                )
            ]
        return [
            MetricSample(
                platform=self.name,
                account=self.account.key,
                metric=Metric.FOLLOWERS.value,
                value=body.followers_count,
                fetched_at=now,
                raw_name="followers_count",
            )
        ]


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
