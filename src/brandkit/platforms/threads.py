"""Threads (Meta Threads API): posts, self-threads of replies, media, carousels, metrics.

Facts used here (``platforms.md`` §7; see ``docs/platforms/threads.md`` for what was
checked and against what):

- Base ``https://graph.threads.net/v1.0``. Publishing is container → status → publish:
  ``POST /{user-id}/threads`` (``media_type`` ``TEXT``/``IMAGE``/``VIDEO``/``CAROUSEL``,
  ``text``, ``image_url``/``video_url``, ``alt_text``, ``reply_to_id``, ``link_attachment``;
  carousels of 2-20 ``is_carousel_item`` children), then
  ``GET /{container}?fields=status,error_message`` until ``FINISHED``, then
  ``POST /{user-id}/threads_publish?creation_id=`` once.
- A long text becomes a self-thread: each part replies (``reply_to_id``) to the part before.
- Text: 500 characters with each emoji counted as its UTF-8 bytes, at most 5 links (the
  text engine checks both before anything is sent).
- Quotas per 24 hours: 250 posts, 1,000 replies (read from ``threads_publishing_limit``
  before publishing and reported in ``PartRef.extra``), 100 deletes.
- Media is fetched by Threads from public URLs: the account's ``media_host``.
- Tokens last 60 days and refresh (``th_refresh_token``) only before they expire: set
  ``token_expires_at`` on the account and brandkit refreshes a week ahead.
- No idempotency: the container's status (``PUBLISHED``) and a read-back of the user's
  ``/threads`` or ``/replies`` tell whether an ambiguous publish landed.
- Metrics: ``GET /{media-id}/insights?metric=views,likes,replies,reposts,quotes,shares``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

import httpx

from brandkit._flow import Flow, Send
from brandkit.errors import ConfigurationError, PlatformUnavailable, RateLimited, Rejected
from brandkit.metrics._sample import Metric, MetricSample
from brandkit.platforms._base import Answer, Capabilities, PartRef, RatePolicy, ThreadContext
from brandkit.platforms._capabilities import BUILTIN_CAPABILITIES
from brandkit.platforms._graph import (
    ContainerAnswer,
    ContainerExpired,
    GraphAdapter,
    GraphId,
    IdAnswer,
    InsightsAnswer,
    PermalinkAnswer,
    QuotaAnswer,
    graph_error,
    parse_time,
    tid_time,
)
from brandkit.platforms.instagram import media_samples

if TYPE_CHECKING:
    from brandkit.accounts import Account
    from brandkit.content._media import Media
    from brandkit.content._render import Rendered, RenderedPart

__all__ = ["ThreadsAdapter"]

_GONE = 33


class _RepliedTo(Answer):
    id: GraphId


class _Post(Answer):
    """One item of ``/{user-id}/threads`` or ``/replies`` as a read-back reads it."""

    id: GraphId
    text: str | None = None
    timestamp: str | None = None
    permalink: str | None = None
    replied_to: _RepliedTo | None = None


class ThreadsAdapter(GraphAdapter):
    """Publishes to one Threads account; see the module docstring for the protocol.

    Attributes:
        post_metrics: the media insights metrics asked for, each with its canonical name.
    """

    name: ClassVar[str] = "threads"
    capabilities: ClassVar[Capabilities] = BUILTIN_CAPABILITIES["threads"]
    rate_policies: ClassVar[tuple[RatePolicy, ...]] = (
        # 4800 calls x impressions per 24 h, with impressions counted as at least 10.
        RatePolicy("threads", 48_000, 86_400.0),
        RatePolicy("publish", 250, 86_400.0),
        RatePolicy("reply", 1000, 86_400.0),
        RatePolicy("delete", 100, 86_400.0),
    )
    # The Threads API documents no batch endpoint: one insights read per post.
    metrics_batch_size: ClassVar[int] = 1
    default_version: ClassVar[str] = "v1.0"
    refresh_grant: ClassVar[str | None] = "th_refresh_token"

    post_metrics: tuple[tuple[str, Metric], ...] = (
        ("views", Metric.IMPRESSIONS),
        ("likes", Metric.LIKES),
        ("replies", Metric.REPLIES),
        ("reposts", Metric.REPOSTS),
        ("quotes", Metric.QUOTES),
        ("shares", Metric.SHARES),
    )

    def __init__(self, account: Account) -> None:
        super().__init__(account)
        if not account.settings.get("user_id"):
            raise ConfigurationError("a Threads account needs user_id")
        self._containers: dict[str, str] = {}
        # The quota read before the part's publish, reported again if the part is found
        # by reconciliation instead.
        self._quotas: dict[str, tuple[int, int]] = {}

    @property
    def version(self) -> str:
        """``v1.0`` (the Threads API's only version)."""
        return str(self.account.settings.get("api_version") or self.default_version)

    @property
    def user_id(self) -> str:
        """The Threads user's id."""
        return str(self.account.settings["user_id"])

    def bucket_of(self, request: httpx.Request) -> str:
        path = request.url.path
        if request.method == "POST" and path.endswith("/threads_publish"):
            return "publish"
        if request.method == "DELETE":
            return "delete"
        return "threads"

    def auth_advice(self, code: int | None, subcode: int | None) -> str:
        return (
            "Threads tokens last 60 days and cannot be refreshed once expired: authorise the "
            "app again (set token_expires_at on the account so that brandkit refreshes the "
            "token a week before it expires)"
        )

    # -- prepare -----------------------------------------------------------------------------

    def prepare(self) -> Flow[Capabilities]:
        """Refresh a token close to its expiry; no other request is needed."""
        yield from self.ensure_fresh_token()
        return self.capabilities

    # -- publish -----------------------------------------------------------------------------

    def publish_part(
        self, rendered: Rendered, part: RenderedPart, thread: ThreadContext
    ) -> Flow[PartRef]:
        """Check the 24-hour quota, make the container (a reply to ``thread.parent`` for
        later parts), wait until it is ``FINISHED`` and publish it exactly once.

        Raises:
            ConfigurationError: the part has media and the account no ``media_host``.
            RateLimited: the 24-hour post or reply quota is used up.
            Rejected: the container ended in ``ERROR`` (Meta's ``error_message``).
            PlatformError: Meta refused otherwise (typed by `error_for`).
            MalformedResponse: a success answer brandkit cannot read (no id, a wrong type,
                not JSON); after the create, the post may exist and is looked up.
        """
        if part.media:
            self.media_host()
        yield from self.ensure_fresh_token()
        reply = thread.parent is not None
        used, total = yield from self._quota(reply)
        self._quotas[thread.key] = (used, total)
        kind = "replies" if reply else "posts"
        if used >= total:
            raise RateLimited(
                f"threads: the account has published {used} of its {total} {kind} allowed "
                "through the API in 24 hours",
                platform=self.name,
                bucket=f"{self.name}:{'reply' if reply else 'publish'}",
                platform_message=f"threads_publishing_limit: {used} of {total} {kind}",
            )
        container = self._containers.get(thread.key)
        status = ""
        for attempt in range(2):
            if container is None:
                container = yield from self._create(rendered, part, thread)
                self._containers[thread.key] = container
            try:
                status = yield from self.wait_container(
                    container,
                    status_field="status",
                    message_field="error_message",
                    bucket="threads",
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
            return (yield from self._published(part, thread, container))
        request = self.request(
            "POST", f"/{self.user_id}/threads_publish", data={"creation_id": container}
        )
        response = yield Send(request, creates=True, bucket="reply" if reply else "publish")
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

    def _quota(self, reply: bool) -> Flow[tuple[int, int]]:
        body = yield from self.get(
            f"/{self.user_id}/threads_publishing_limit",
            {"fields": "quota_usage,config,reply_quota_usage,reply_config"},
            QuotaAnswer,
        )
        return body.usage(reply=reply, default_total=1000 if reply else 250)

    def _container(self, data: dict[str, Any]) -> Flow[str]:
        # An unpublished container is seen by nobody: a repeat leaves one to expire.
        request = self.request("POST", f"/{self.user_id}/threads", data=data)
        response = yield Send(request, idempotent=True, bucket="threads")
        return self.parse(response, IdAnswer).id

    def _create(self, rendered: Rendered, part: RenderedPart, thread: ThreadContext) -> Flow[str]:
        base: dict[str, Any] = {"text": part.text or None}
        if thread.parent is not None:
            base["reply_to_id"] = thread.parent.id
        media = part.media
        if not media:
            data = {"media_type": "TEXT", **base}
            if rendered.link is not None and thread.parent is None:
                data["link_attachment"] = rendered.link.url
            return (yield from self._container(data))
        if len(media) == 1:
            return (yield from self._container({**self._item(media[0]), **base}))
        children = []
        for item in media:
            children.append(
                (yield from self._container({**self._item(item), "is_carousel_item": True}))
            )
        for child in children:
            yield from self.wait_container(
                child, status_field="status", message_field="error_message", bucket="threads"
            )
        return (
            yield from self._container(
                {"media_type": "CAROUSEL", "children": ",".join(children), **base}
            )
        )

    def _item(self, item: Media) -> dict[str, Any]:
        url = self.media_url(item)
        if item.kind == "video":
            return {"media_type": "VIDEO", "video_url": url, "alt_text": item.alt or None}
        return {"media_type": "IMAGE", "image_url": url, "alt_text": item.alt or None}

    def _published(
        self, part: RenderedPart, thread: ThreadContext, container: str
    ) -> Flow[PartRef]:
        found = yield from self._read_back(part, thread, container)
        if found is None:
            raise PlatformUnavailable(
                f"threads: container {container} is PUBLISHED but its post is not listed yet; "
                "reconcile again later",
                platform=self.name,
            )
        self._containers.pop(thread.key, None)
        return found

    # -- find --------------------------------------------------------------------------------

    def find_part(
        self, rendered: Rendered, part: RenderedPart, thread: ThreadContext
    ) -> Flow[PartRef | None]:
        """Find the post an earlier attempt of this part published, without publishing.

        With the part's container known, its status decides (``PUBLISHED``: read the post
        back; otherwise ``None`` and a ``FINISHED`` container is reused). Without it, the
        user's ``/threads`` (or ``/replies`` for later parts) since the part's key was made
        are read back and matched on text and reply target.

        Raises:
            PlatformError: Meta could not be asked, or the container is published but its
                post is not listed yet.
        """
        container = self._containers.get(thread.key)
        if container is None:
            return (yield from self._read_back(part, thread, None))
        body = yield from self.get(
            f"/{container}", {"fields": "status,error_message"}, ContainerAnswer
        )
        status = body.status
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
        parent = thread.parent.id if thread.parent is not None else None
        edge = "replies" if parent is not None else "threads"
        params: dict[str, Any] = {
            "fields": "id,text,timestamp,permalink,replied_to,is_reply",
            "limit": 25,
        }
        if since is not None:
            params["since"] = int(since.timestamp())
        items = yield from self.pages(f"/{self.user_id}/{edge}", params, _Post)
        matches = [
            m
            for m in items
            if (m.text or "").strip() == part.text.strip()
            and (m.replied_to.id if parent and m.replied_to else None) == parent
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

    # -- delete ------------------------------------------------------------------------------

    def delete_part(self, ref: PartRef) -> Flow[None]:
        """``DELETE /{threads-media-id}`` (100 per 24 hours); a post that is already gone
        counts as deleted.

        Raises:
            PlatformError: Meta refused (typed by `error_for`).
        """
        yield from self.ensure_fresh_token()
        request = self.request("DELETE", f"/{ref.id}")
        response = yield Send(request, idempotent=True, bucket="delete")
        err = graph_error(response)
        if response.is_success or (err.get("code") == 100 and err.get("error_subcode") == _GONE):
            return
        self.check(response)

    # -- metrics -----------------------------------------------------------------------------

    def collect_metrics(self, refs: Sequence[PartRef]) -> Flow[list[MetricSample]]:
        """Views, likes, replies, reposts, quotes and shares, one insights read per post.
        A post Meta no longer returns comes back unavailable with Meta's message.

        Raises:
            PlatformError: Meta refused for another reason than the post being gone.
        """
        yield from self.ensure_fresh_token()
        samples: list[MetricSample] = []
        metric = ",".join(raw for raw, _ in self.post_metrics)
        for ref in refs:
            request = self.request("GET", f"/{ref.id}/insights", params={"metric": metric})
            response = yield Send(request, idempotent=True, bucket="threads")
            err = graph_error(response)
            if not response.is_success and not (
                err.get("code") == 100 and err.get("error_subcode") == _GONE
            ):
                self.check(response)
            insights, refused = self.read_insights(response)
            samples.extend(
                media_samples(
                    insights,
                    refused,
                    self.post_metrics,
                    platform=self.name,
                    account=self.account.key,
                    post_id=ref.id,
                    fetched_at=datetime.now(UTC),
                    retired={},
                )
            )
        return samples

    def collect_account_metrics(self) -> Flow[list[MetricSample]]:
        """The account's followers (``threads_insights?metric=followers_count``).

        Raises:
            PlatformError: Meta refused (typed by `error_for`).
        """
        yield from self.ensure_fresh_token()
        request = self.request(
            "GET", f"/{self.user_id}/threads_insights", params={"metric": "followers_count"}
        )
        response = yield Send(request, idempotent=True, bucket="threads")
        return list(
            media_samples(
                self.parse(response, InsightsAnswer),
                None,
                (("followers_count", Metric.FOLLOWERS),),
                platform=self.name,
                account=self.account.key,
                post_id=None,
                fetched_at=datetime.now(UTC),
                retired={},
            )
        )
