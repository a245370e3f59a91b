"""A faithful, stateful Instagram professional account (Graph API publishing) for tests.

```python
from brandkit import Client, Media, Post
from brandkit.testing import TINY_JPEG
from brandkit.testing.instagram import InstagramEmulator

emu = InstagramEmulator()
with emu.serve():
    account = emu.account()           # its media_host serves files on 127.0.0.1
    with Client() as client:
        post = Post(text="Hello", media=(Media.from_bytes(TINY_JPEG, alt="grey"),))
        (delivery,) = client.publish(post, account)
    assert emu.post_texts() == ["Hello"]
```

What it answers like the Graph API (``platforms.md`` §6; real bodies in ``tests/instagram``):

- ``POST /{version}/{ig-user-id}/media`` makes a container. Instagram downloads the media
  from ``image_url``/``video_url`` for real (from 127.0.0.1 only; use
  :class:`~brandkit.testing.LoopbackMediaHost`, which :meth:`InstagramEmulator.account`
  sets up): a URL it cannot fetch, or a body that is neither image nor video, is refused at
  once with code 9004, subcode 2207052 and Meta's words. The container then processes for
  ``image_processing`` / ``video_processing`` seconds of the emulator clock and ends
  ``FINISHED``, or ``ERROR`` with ``"Error: Media upload has failed with error code …"`` for
  an image that is not a JPEG (2207005) or is too large (2207004), or a video that is not
  MP4/MOV or too large (2207026). Carousels take 2-10 ``is_carousel_item`` children;
  ``alt_text`` is for images only; single videos are ``REELS``. Containers expire after 24 h.
- ``GET /{container}?fields=status_code,status`` (``IN_PROGRESS``, ``FINISHED``, ``ERROR``,
  ``PUBLISHED``, ``EXPIRED``), ``POST /{ig-user-id}/media_publish`` (once per container;
  code 9007/2207027 while not ready; code 9/2207042 over the quota),
  ``GET /{ig-user-id}/content_publishing_limit`` (``quota_total`` configurable, 100 by
  default), ``GET /{ig-user-id}/media``, ``GET /{media-id}`` with fields,
  ``GET /{media-id}/insights`` (current metric names; ``impressions`` and ``plays`` are
  refused as Meta does since v22.0), ``DELETE /{media-id}``, batch requests.
- Tokens live 60 days of the emulator clock; ``GET /refresh_access_token`` renews one that
  is at least a day old and not expired.
- ``X-Business-Use-Case-Usage`` (type ``instagram``); code 80002 past the budget.
- Views, reach, likes, comments, saves, shares and followers grow with the emulator clock.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, ClassVar

import attrs
import httpx

from brandkit.accounts import Account
from brandkit.content._media import _dimensions, sniff
from brandkit.testing._emulator import Clock, route
from brandkit.testing._graph import (
    NODE,
    VERSION,
    FetchFailed,
    GraphError,
    MediaFetchingEmulator,
    Token,
    fetch_media,
    graph_api,
    graph_time,
    parse_fields,
    truthy,
)
from brandkit.testing._mediahost import LoopbackMediaHost

__all__ = ["FEED_METRICS", "InstagramEmulator", "LoopbackMediaHost"]

MB = 1000 * 1000
DAY = 86_400.0
TOKEN_TTL = 60 * DAY

FEED_METRICS = (
    "reach",
    "views",
    "likes",
    "comments",
    "saved",
    "shares",
    "total_interactions",
    "profile_visits",
    "follows",
    "reposts",
)
"""Media insights metrics of feed posts and carousels (current names, v22.0+)."""
REELS_METRICS = (
    *FEED_METRICS,
    "ig_reels_avg_watch_time",
    "ig_reels_video_view_total_time",
)

_STATUS_TEXT = {
    "FINISHED": "Finished: Media has been uploaded and it is ready to be published.",
    "IN_PROGRESS": "In Progress: Media is still being processed.",
    "PUBLISHED": "Published: Media has been successfully published.",
    "EXPIRED": "Expired: Media was not published within 24 hours.",
}
_SHORTCODE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"


@attrs.define
class _User:
    id: str
    username: str
    created_at: float
    followers: int
    followers_per_day: float


@attrs.define
class _Container:
    id: str
    owner: str
    media_type: str
    url: str | None
    caption: str
    alt_text: str | None
    is_carousel_item: bool
    created_at: float
    ready_at: float
    children: list[str] = attrs.field(factory=list)
    error_code: int | None = None
    mime_type: str | None = None
    size: int = 0
    media_id: str | None = None


@attrs.define
class _Media:
    id: str
    owner: str
    container_id: str
    caption: str
    media_type: str
    product_type: str
    created_at: float
    shortcode: str
    children: list[str] = attrs.field(factory=list)
    alt_text: str | None = None
    deleted_at: float | None = None
    extra: dict[str, int] = attrs.field(factory=dict)


class InstagramEmulator(MediaFetchingEmulator):
    """Instagram professional accounts in a box (see the module docstring).

    Args:
        clock: the emulator's clock.
        rate_limits: ``{"app": (calls, seconds), "account": (calls, seconds)}``.
        quota_total: API posts allowed per rolling 24 hours (``content_publishing_limit``).
        image_processing: seconds (emulator clock) an image container takes.
        video_processing: seconds a video container takes.
        max_image_bytes: the largest image (Meta: 8 MB).
        max_video_bytes: the largest video.
        max_caption: the longest caption (2,200).
        max_hashtags: most hashtags in a caption (the API reference says 30).
        max_mentions: most @mentions in a caption (20).
        container_ttl: seconds until an unpublished container expires (24 h).
        engagement_rate: likes per hour a post gathers (times a weight of 1 to 5).
        media_host: the media host :meth:`account` gives accounts (default: one the emulator
            starts on 127.0.0.1 and stops when ``serve()`` ends or on :meth:`close`).
        version: the Graph API version unversioned calls use.
    """

    platform: ClassVar[str] = "instagram"
    create_route: ClassVar[tuple[str, str]] = ("POST", r"/v\d+\.\d+/\d+/media_publish")
    usage_type: ClassVar[str | None] = "instagram"
    throttle_code: ClassVar[int] = 80002
    throttle_message: ClassVar[str] = (
        "(#80002) There have been too many calls to this Instagram account. Wait a bit and "
        "try again. For more info, please refer to "
        "https://developers.facebook.com/docs/graph-api/overview/rate-limiting."
    )
    default_token_ttl: ClassVar[float | None] = TOKEN_TTL
    id_base: ClassVar[int] = 17_841_400_000_000_000

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        rate_limits: dict[str, tuple[int, float]] | None = None,
        quota_total: int = 100,
        image_processing: float = 0.0,
        video_processing: float = 1.0,
        max_image_bytes: int = 8 * MB,
        max_video_bytes: int = 300 * MB,
        max_caption: int = 2200,
        max_hashtags: int = 30,
        max_mentions: int = 20,
        container_ttl: float = DAY,
        engagement_rate: float = 6.0,
        media_host: LoopbackMediaHost | None = None,
        version: str = "v25.0",
    ) -> None:
        super().__init__(clock=clock, rate_limits=rate_limits, media_host=media_host)
        self.quota_total = quota_total
        self.image_processing = image_processing
        self.video_processing = video_processing
        self.max_image_bytes = max_image_bytes
        self.max_video_bytes = max_video_bytes
        self.max_caption = max_caption
        self.max_hashtags = max_hashtags
        self.max_mentions = max_mentions
        self.container_ttl = container_ttl
        self.engagement_rate = engagement_rate
        self.version = version
        self._users: dict[str, _User] = {}
        self._containers: dict[str, _Container] = {}
        self._media: dict[str, _Media] = {}
        self._publishes: dict[str, list[float]] = {}

    # -- public helpers --------------------------------------------------------------------

    def account(
        self,
        *,
        name: str | None = None,
        username: str | None = None,
        followers: int = 0,
        followers_per_day: float = 24.0,
        media_host: Any = None,
        token_expires: bool = False,
        **kwargs: Any,
    ) -> Account:
        """A new Instagram professional account and an :class:`~brandkit.Account` with its
        token at :attr:`base_url` (call it inside ``serve()`` to get the socket URL).

        Args:
            name: the brandkit account name.
            username: the Instagram username (default ``brandkit1``, ...).
            followers: followers at creation.
            followers_per_day: how fast followers grow with the emulator clock.
            media_host: the account's media host (default: :attr:`media_host`).
            token_expires: set ``token_expires_at`` on the account (so that brandkit
                refreshes the token before it expires).
            kwargs: passed on to :meth:`Account.instagram` (e.g. ``on_credentials_changed``).
        """
        user_id = self.new_id()
        with self.lock:
            self._users[user_id] = _User(
                id=user_id,
                username=username or f"brandkit{len(self._users) + 1}",
                created_at=self.clock.time(),
                followers=followers,
                followers_per_day=followers_per_day,
            )
        token = self.issue_token(user_id, "instagram")
        acct = Account.instagram(
            ig_user_id=user_id,
            token=token,
            media_host=media_host if media_host is not None else self.media_host,
            api_version=kwargs.pop("api_version", self.version),
            base_url=self.base_url,
            name=name,
            **kwargs,
        )
        if token_expires:
            acct.settings["token_expires_at"] = self.token_info(token).expires_at
        return acct

    def post_texts(self) -> list[str]:
        """The captions of the posts that exist now (deleted ones excluded), oldest first."""
        with self.lock:
            return [m.caption for m in self._live()]

    @property
    def posts(self) -> list[dict[str, Any]]:
        """The posts that exist now, oldest first: ``id``, ``caption``, ``media_type``,
        ``media_product_type``, ``permalink``, ``timestamp``, ``container_id``,
        ``alt_text`` and ``children`` (each with ``media_type`` and ``alt_text``)."""
        with self.lock:
            return [self._media_view(m) for m in self._live()]

    @property
    def containers(self) -> list[dict[str, Any]]:
        """Every container made so far, oldest first, with its ``status_code``, ``status``
        and the ``url`` Instagram downloaded."""
        with self.lock:
            return [self._container_view(c) for c in self._containers.values()]

    def container(self, container_id: str) -> dict[str, Any]:
        """One container (see :attr:`containers`).

        Raises:
            KeyError: no container has that id.
        """
        with self.lock:
            return self._container_view(self._containers[container_id])

    def fail_container(self, container_id: str, error_code: int = 2207001) -> None:
        """Make a container end in ``ERROR`` with ``error_code``.

        Raises:
            KeyError: no container has that id.
        """
        with self.lock:
            self._containers[container_id].error_code = error_code

    def engage(
        self,
        media_id: str,
        *,
        likes: int = 0,
        comments: int = 0,
        saved: int = 0,
        shares: int = 0,
        views: int = 0,
    ) -> None:
        """Add engagement to a post on top of what the clock brings.

        Raises:
            KeyError: no post has that id.
        """
        with self.lock:
            extra = self._media[media_id].extra
            for key, value in (
                ("likes", likes),
                ("comments", comments),
                ("saved", saved),
                ("shares", shares),
                ("views", views),
            ):
                extra[key] = extra.get(key, 0) + value

    def default_version_name(self) -> str:
        return self.version

    # -- state -----------------------------------------------------------------------------

    def _live(self) -> list[_Media]:
        return [m for m in self._media.values() if m.deleted_at is None]

    def _status(self, c: _Container) -> str:
        now = self.clock.time()
        if c.media_id is not None:
            return "PUBLISHED"
        if now - c.created_at >= self.container_ttl:
            return "EXPIRED"
        if c.media_type == "CAROUSEL":
            states = [self._status(self._containers[i]) for i in c.children]
            if "ERROR" in states:
                return "ERROR"
            if "IN_PROGRESS" in states or now < c.ready_at:
                return "IN_PROGRESS"
            return "FINISHED"
        if now < c.ready_at:
            return "IN_PROGRESS"
        return "ERROR" if c.error_code is not None else "FINISHED"

    def _status_text(self, c: _Container) -> str:
        status = self._status(c)
        if status != "ERROR":
            return _STATUS_TEXT[status]
        code = c.error_code
        if code is None and c.media_type == "CAROUSEL":
            code = next(
                (
                    self._containers[i].error_code
                    for i in c.children
                    if self._containers[i].error_code is not None
                ),
                2207028,
            )
        return f"Error: Media upload has failed with error code {code}"

    def _container_view(self, c: _Container) -> dict[str, Any]:
        return {
            "id": c.id,
            "status_code": self._status(c),
            "status": self._status_text(c),
            "media_type": c.media_type,
            "url": c.url,
            "caption": c.caption,
            "alt_text": c.alt_text,
            "is_carousel_item": c.is_carousel_item,
            "children": list(c.children),
            "mime_type": c.mime_type,
            "size": c.size,
        }

    def _counts(self, m: _Media) -> dict[str, int]:
        hours = max(0.0, self.clock.time() - m.created_at) / 3600
        weight = 1 + int(m.id) % 5
        likes = int(hours * self.engagement_rate * weight)
        counts = {
            "likes": likes,
            "comments": likes // 5,
            "saved": likes // 7,
            "shares": likes // 9,
            "views": likes * 15,
            "reach": likes * 9,
            "profile_visits": likes // 4,
            "follows": likes // 20,
            "reposts": likes // 25,
        }
        for key, value in m.extra.items():
            counts[key] = counts.get(key, 0) + value
        counts["reach"] = min(counts["reach"] + m.extra.get("views", 0), counts["views"])
        counts["total_interactions"] = (
            counts["likes"] + counts["comments"] + counts["saved"] + counts["shares"]
        )
        return counts

    def _permalink(self, m: _Media) -> str:
        kind = "reel" if m.product_type == "REELS" else "p"
        return f"https://www.instagram.com/{kind}/{m.shortcode}/"

    def _media_view(self, m: _Media) -> dict[str, Any]:
        return {
            "id": m.id,
            "caption": m.caption,
            "media_type": m.media_type,
            "media_product_type": m.product_type,
            "permalink": self._permalink(m),
            "timestamp": graph_time(m.created_at),
            "container_id": m.container_id,
            "alt_text": m.alt_text,
            "children": [
                {
                    "id": i,
                    "media_type": "VIDEO" if self._containers[i].media_type == "VIDEO" else "IMAGE",
                    "alt_text": self._containers[i].alt_text,
                }
                for i in m.children
            ],
        }

    def _media_fields(self, m: _Media, fields: str | None) -> dict[str, Any]:
        counts = self._counts(m)
        user = self._users[m.owner]
        out: dict[str, Any] = {}
        for field in parse_fields(fields or "id"):
            name = field.name
            if name == "id":
                out["id"] = m.id
            elif name == "caption":
                if m.caption:
                    out["caption"] = m.caption
            elif name == "media_type":
                out["media_type"] = m.media_type
            elif name == "media_product_type":
                out["media_product_type"] = m.product_type
            elif name == "permalink":
                out["permalink"] = self._permalink(m)
            elif name == "shortcode":
                out["shortcode"] = m.shortcode
            elif name == "timestamp":
                out["timestamp"] = graph_time(m.created_at)
            elif name == "like_count":
                out["like_count"] = counts["likes"]
            elif name == "comments_count":
                out["comments_count"] = counts["comments"]
            elif name == "username":
                out["username"] = user.username
            elif name == "owner":
                out["owner"] = {"id": m.owner}
            elif name == "media_url":
                out["media_url"] = f"https://scontent.cdninstagram.com/v/{m.id}.jpg"
            elif name == "children":
                if m.children:
                    out["children"] = {"data": [{"id": i} for i in m.children]}
            elif name == "alt_text":
                if m.alt_text:
                    out["alt_text"] = m.alt_text
            elif name == "insights":
                out["insights"] = self._insights(m, field.modifiers.get("metric"))
            else:
                raise _no_field(name, "IGMedia")
        out.setdefault("id", m.id)
        return out

    def _user_fields(self, user: _User, fields: str | None) -> dict[str, Any]:
        days = max(0.0, self.clock.time() - user.created_at) / DAY
        out: dict[str, Any] = {}
        for field in parse_fields(fields or "id"):
            name = field.name
            if name == "id":
                out["id"] = user.id
            elif name == "username":
                out["username"] = user.username
            elif name == "name":
                out["name"] = user.username.capitalize()
            elif name == "followers_count":
                out["followers_count"] = user.followers + int(days * user.followers_per_day)
            elif name == "follows_count":
                out["follows_count"] = 0
            elif name == "media_count":
                out["media_count"] = sum(1 for m in self._live() if m.owner == user.id)
            elif name == "biography":
                out["biography"] = ""
            elif name == "profile_picture_url":
                out["profile_picture_url"] = f"https://scontent.cdninstagram.com/{user.id}.jpg"
            else:
                raise _no_field(name, "IGUser")
        out.setdefault("id", user.id)
        return out

    def _insights(self, m: _Media, metric: str | None) -> dict[str, Any]:
        names = [n.strip() for n in (metric or "").split(",") if n.strip()]
        allowed = REELS_METRICS if m.product_type == "REELS" else FEED_METRICS
        if not names:
            raise GraphError(400, 100, "(#100) The parameter metric is required")
        for i, name in enumerate(names):
            if name not in allowed:
                raise GraphError(
                    400,
                    100,
                    f"(#100) metric[{i}] must be one of the following values: "
                    + ", ".join(allowed),
                )
        counts = self._counts(m)
        data = []
        for name in names:
            value = counts.get(name, 0)
            data.append(
                {
                    "name": name,
                    "period": "lifetime",
                    "values": [{"value": value}],
                    "title": name.replace("_", " ").capitalize(),
                    "description": f"The {name.replace('_', ' ')} of this media",
                    "id": f"{m.id}/insights/{name}/lifetime",
                }
            )
        return {"data": data}

    def _user_for(self, token: Token, user_id: str) -> _User:
        user = self._users.get(user_id)
        if user is None or token.owner != user_id:
            raise _unsupported("get", user_id)
        return user

    # -- routes ----------------------------------------------------------------------------

    @route("GET", rf"/{VERSION}/{NODE}")
    @graph_api()
    def _get_node(
        self, request: httpx.Request, token: Token, params: dict[str, Any], node: str, **_: Any
    ) -> httpx.Response:
        fields = params.get("fields")
        if node in self._users and token.owner == node:
            return self.json(self._user_fields(self._users[node], fields))
        container = self._containers.get(node)
        if container is not None and container.owner == token.owner:
            out: dict[str, Any] = {}
            for field in parse_fields(fields or "id"):
                if field.name == "status_code":
                    out["status_code"] = self._status(container)
                elif field.name == "status":
                    out["status"] = self._status_text(container)
                elif field.name != "id":
                    raise _no_field(field.name, "ShadowIGMediaBuilder")
            out["id"] = container.id
            return self.json(out)
        media = self._media.get(node)
        if media is not None and media.deleted_at is None and media.owner == token.owner:
            return self.json(self._media_fields(media, fields))
        raise _unsupported("get", node)

    @route("DELETE", rf"/{VERSION}/{NODE}")
    @graph_api()
    def _delete_node(
        self, request: httpx.Request, token: Token, params: dict[str, Any], node: str, **_: Any
    ) -> httpx.Response:
        media = self._media.get(node)
        if media is None or media.deleted_at is not None or media.owner != token.owner:
            raise _unsupported("delete", node)
        media.deleted_at = self.clock.time()
        return self.json({"success": True})

    @route("GET", rf"/{VERSION}/{NODE}/insights")
    @graph_api()
    def _get_insights(
        self, request: httpx.Request, token: Token, params: dict[str, Any], node: str, **_: Any
    ) -> httpx.Response:
        media = self._media.get(node)
        if media is None or media.deleted_at is not None or media.owner != token.owner:
            raise _unsupported("get", node)
        return self.json(self._insights(media, params.get("metric")))

    @route("GET", rf"/{VERSION}/(?P<user_id>[0-9]+)/content_publishing_limit")
    @graph_api()
    def _publishing_limit(
        self, request: httpx.Request, token: Token, params: dict[str, Any], user_id: str, **_: Any
    ) -> httpx.Response:
        self._user_for(token, user_id)
        entry: dict[str, Any] = {}
        for field in parse_fields(params.get("fields") or "quota_usage"):
            if field.name == "quota_usage":
                entry["quota_usage"] = self._quota_usage(user_id)
            elif field.name == "config":
                entry["config"] = {"quota_total": self.quota_total, "quota_duration": int(DAY)}
            else:
                raise _no_field(field.name, "ContentPublishingLimitResponse")
        return self.json({"data": [entry]})

    def _quota_usage(self, user_id: str) -> int:
        now = self.clock.time()
        times = [t for t in self._publishes.get(user_id, []) if now - t < DAY]
        self._publishes[user_id] = times
        return len(times)

    @route("GET", rf"/{VERSION}/(?P<user_id>[0-9]+)/media")
    @graph_api()
    def _list_media(
        self, request: httpx.Request, token: Token, params: dict[str, Any], user_id: str, **_: Any
    ) -> httpx.Response:
        self._user_for(token, user_id)
        since = _number(params.get("since"))
        until = _number(params.get("until"))
        items = [
            m
            for m in self._live()
            if m.owner == user_id
            and (since is None or m.created_at >= since)
            and (until is None or m.created_at <= until)
        ]
        items.sort(key=lambda m: m.created_at, reverse=True)
        fields = params.get("fields")
        return self.json(
            self.page_of(request, [self._media_fields(m, fields) for m in items], params)
        )

    @route("POST", rf"/{VERSION}/(?P<user_id>[0-9]+)/media")
    @graph_api()
    def _create_container(
        self, request: httpx.Request, token: Token, params: dict[str, Any], user_id: str, **_: Any
    ) -> httpx.Response:
        self._user_for(token, user_id)
        now = self.clock.time()
        media_type = str(params.get("media_type") or "IMAGE").upper()
        carousel_item = truthy(params.get("is_carousel_item"))
        caption = "" if carousel_item else str(params.get("caption") or "")
        alt_text = params.get("alt_text") or None
        if media_type not in ("IMAGE", "VIDEO", "REELS", "CAROUSEL", "STORIES"):
            raise GraphError(
                400, 100, f"(#100) The parameter media_type has an invalid value {media_type!r}"
            )
        if media_type == "VIDEO" and not carousel_item:
            raise GraphError(
                400,
                100,
                "(#100) The VIDEO media type is no longer supported for feed posts; use REELS",
                subcode=2207067,
            )
        self._check_caption(caption)
        if alt_text is not None:
            if media_type not in ("IMAGE",):
                raise GraphError(400, 100, "(#100) alt_text is only supported for images")
            if len(str(alt_text)) > 1000:
                raise GraphError(400, 100, "(#100) alt_text must be at most 1000 characters")
        if media_type == "CAROUSEL":
            return self._create_carousel(user_id, params, caption, now)
        key = (
            "image_url"
            if media_type in ("IMAGE", "STORIES") and params.get("image_url")
            else "video_url"
        )
        if media_type == "IMAGE":
            key = "image_url"
        url = params.get(key)
        if not url:
            raise GraphError(400, 100, f"(#100) The parameter {key} is required.")
        container = _Container(
            id=self.new_id(),
            owner=user_id,
            media_type=media_type,
            url=str(url),
            caption=caption,
            alt_text=str(alt_text) if alt_text else None,
            is_carousel_item=carousel_item,
            created_at=now,
            ready_at=now,
        )
        self._download(container, video=key == "video_url")
        self._containers[container.id] = container
        return self.json({"id": container.id})

    def _check_caption(self, caption: str) -> None:
        if len(caption) > self.max_caption:
            raise GraphError(
                400,
                100,
                "(#100) The caption is too long",
                subcode=2207010,
                user_title="Caption too long",
                user_msg=f"The caption is {len(caption)} characters; the most is "
                f"{self.max_caption}.",
            )
        tags = len(re.findall(r"(?<![\w#＃])[#＃]\w+", caption))
        if tags > self.max_hashtags:
            raise GraphError(
                400,
                100,
                f"(#100) The caption has {tags} hashtags; the most is {self.max_hashtags}",
                subcode=2207010,
            )
        mentions = len(re.findall(r"(?<![\w@＠])[@＠][\w.]+", caption))
        if mentions > self.max_mentions:
            raise GraphError(
                400,
                100,
                f"(#100) The caption has {mentions} mentions; the most is {self.max_mentions}",
                subcode=2207010,
            )

    def _create_carousel(
        self, user_id: str, params: dict[str, Any], caption: str, now: float
    ) -> httpx.Response:
        raw = str(params.get("children") or "")
        children = [c.strip() for c in raw.split(",") if c.strip()]
        if not 2 <= len(children) <= 10:
            raise GraphError(
                400,
                100,
                "(#100) The carousel must have between 2 and 10 children",
                subcode=2207028,
            )
        for child in children:
            c = self._containers.get(child)
            if c is None or c.owner != user_id or not c.is_carousel_item:
                raise GraphError(
                    400,
                    100,
                    f"(#100) The child {child} is not a carousel item container of this account",
                    subcode=2207028,
                )
        container = _Container(
            id=self.new_id(),
            owner=user_id,
            media_type="CAROUSEL",
            url=None,
            caption=caption,
            alt_text=None,
            is_carousel_item=False,
            created_at=now,
            ready_at=now + self.image_processing,
            children=children,
        )
        self._containers[container.id] = container
        return self.json({"id": container.id})

    def _download(self, container: _Container, *, video: bool) -> None:
        """Fetch the media as Meta does, at creation; judge it during processing."""
        assert container.url is not None
        limit = self.max_video_bytes if video else self.max_image_bytes
        try:
            data, _ = fetch_media(container.url, max_bytes=limit)
        except FetchFailed:
            raise _fetch_failed(container.url) from None
        found = sniff(data[:64])
        if found is None:
            raise GraphError(
                400,
                9004,
                "Only photo or video can be accepted as media type.",
                subcode=2207052,
                transient=False,
                user_title="Media download has failed. The media URI doesn't meet our "
                "requirements.",
                user_msg=f"The media could not be fetched from this URI: {container.url}. "
                "Please check the limitations section in our development document for more "
                "details.",
            )
        mime, kind = found
        container.mime_type, container.size = mime, len(data)
        if video:
            container.ready_at += self.video_processing
            if kind != "video" or mime not in ("video/mp4", "video/quicktime") or len(data) > limit:
                container.error_code = 2207026
            return
        container.ready_at += self.image_processing
        if mime != "image/jpeg":
            container.error_code = 2207005
        elif len(data) > limit:
            container.error_code = 2207004
        else:
            dims = _dimensions(mime, data)
            if dims and not container.is_carousel_item:
                width, height = dims
                if not 0.8 <= width / height <= 1.91:
                    raise GraphError(
                        400,
                        36003,
                        "The aspect ratio is not supported.",
                        subcode=2207009,
                        user_title="Invalid aspect ratio",
                        user_msg="The submitted image with aspect ratio "
                        f"('{width}/{height}',) cannot be published. Please submit an image "
                        "with a valid aspect ratio.",
                    )

    @route("POST", rf"/{VERSION}/(?P<user_id>[0-9]+)/media_publish")
    @graph_api()
    def _publish(
        self, request: httpx.Request, token: Token, params: dict[str, Any], user_id: str, **_: Any
    ) -> httpx.Response:
        self._user_for(token, user_id)
        creation = str(params.get("creation_id") or "")
        container = self._containers.get(creation)
        if not creation:
            raise GraphError(400, 100, "(#100) The parameter creation_id is required.")
        if container is None or container.owner != user_id or container.is_carousel_item:
            raise GraphError(
                400,
                9007,
                "Media ID is not available",
                subcode=2207006,
                user_title="Media not found",
                user_msg="The media could not be found; it may have been deleted.",
            )
        status = self._status(container)
        if status == "IN_PROGRESS":
            raise GraphError(
                400,
                9007,
                "Media ID is not available",
                subcode=2207027,
                user_title="Media not ready for publishing",
                user_msg="The media is not ready for publishing, please wait for a moment",
            )
        if status == "EXPIRED":
            raise GraphError(
                400,
                9007,
                "Media ID is not available",
                subcode=2207020,
                user_title="Media expired",
                user_msg="The media you are trying to publish has expired. Please try again.",
            )
        if status == "ERROR":
            raise GraphError(
                400,
                9007,
                "Media ID is not available",
                subcode=2207001,
                user_title="Media processing failed",
                user_msg=self._status_text(container),
            )
        if status == "PUBLISHED":
            raise GraphError(
                400,
                9007,
                "Media ID is not available",
                subcode=2207008,
                user_title="Media already published",
                user_msg="This media container has already been published.",
            )
        if self._quota_usage(user_id) >= self.quota_total:
            raise GraphError(
                400,
                9,
                "Application request limit reached",
                subcode=2207042,
                user_title="Max Posts Reached",
                user_msg="You have reached the maximum number of posts that can be published "
                "through the API in 24 hours.",
            )
        now = self.clock.time()
        media_type = {"CAROUSEL": "CAROUSEL_ALBUM", "REELS": "VIDEO", "STORIES": "IMAGE"}.get(
            container.media_type, container.media_type
        )
        product = {"REELS": "REELS", "STORIES": "STORY"}.get(container.media_type, "FEED")
        media = _Media(
            id=self.new_id(),
            owner=user_id,
            container_id=container.id,
            caption=container.caption,
            media_type=media_type,
            product_type=product,
            created_at=now,
            shortcode=_shortcode(container.id),
            children=list(container.children),
            alt_text=container.alt_text,
        )
        self._media[media.id] = media
        container.media_id = media.id
        self._publishes.setdefault(user_id, []).append(now)
        return self.json({"id": media.id})

    @route("GET", r"/refresh_access_token")
    @graph_api()
    def _refresh(
        self, request: httpx.Request, token: Token, params: dict[str, Any], **_: Any
    ) -> httpx.Response:
        if params.get("grant_type") != "ig_refresh_token":
            raise GraphError(400, 100, "(#100) Unsupported grant_type")
        if self.clock.time() - token.issued_at < DAY:
            raise GraphError(
                400, 100, "(#100) Tokens can be refreshed once they are at least 24 hours old"
            )
        new = self.issue_token(token.owner, token.kind, ttl=TOKEN_TTL)
        return self.json(
            {"access_token": new, "token_type": "bearer", "expires_in": int(TOKEN_TTL)}
        )


def _shortcode(seed: str) -> str:
    digest = hashlib.sha256(seed.encode()).digest()
    return "".join(_SHORTCODE[b % len(_SHORTCODE)] for b in digest[:11])


def _fetch_failed(url: str) -> GraphError:
    return GraphError(
        400,
        9004,
        "Media download has failed. The media URI doesn't meet our requirements.",
        subcode=2207052,
        transient=False,
        user_title="Media download has failed. The media URI doesn't meet our requirements.",
        user_msg=f"The media could not be fetched from this URI: {url}. Please check the "
        "limitations section in our development document for more details.",
    )


def _unsupported(verb: str, node: str) -> GraphError:
    return GraphError(
        400,
        100,
        f"Unsupported {verb} request. Object with ID '{node}' does not exist, cannot be loaded "
        "due to missing permissions, or does not support this operation. Please read the Graph "
        "API documentation at https://developers.facebook.com/docs/graph-api",
        subcode=33,
        kind="GraphMethodException",
    )


def _no_field(name: str, node: str) -> GraphError:
    return GraphError(
        400, 100, f"(#100) Tried accessing nonexisting field ({name}) on node type ({node})"
    )


def _number(value: Any) -> float | None:
    if value in (None, ""):
        return None
    try:
        return float(value)
    except ValueError:
        raise GraphError(400, 100, f"(#100) Invalid time {value!r}") from None
