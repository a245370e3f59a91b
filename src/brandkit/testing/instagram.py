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
  [`LoopbackMediaHost`][brandkit.testing.LoopbackMediaHost], which `InstagramEmulator.account`
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
- ``GET /me`` (Instagram Login: ``user_id``, ``username``, ``account_type``, ...).
- Business Login for Instagram: ``POST /oauth/access_token`` answers
  ``{"data": [{"access_token", "user_id", "permissions": "a,b"}]}``, the permissions the
  user left switched on in the window (`decline_permissions` switches some off).
- Comments: ``GET``/``POST /{ig-media-id}/comments`` (newest first, as Meta lists them;
  ``limit``, ``after``/``before``; ``message``), ``GET``/``POST /{ig-comment-id}/replies``
  (one level, as Instagram keeps them: an answer to a reply joins its comment; a hidden
  comment cannot be answered), both edges also expanded in ``fields``
  (``comments.limit(50){...,replies.limit(50){...}}``), ``POST /{ig-comment-id}`` with
  ``hide=true|false``, ``DELETE /{ig-comment-id}``, ``GET /{ig-comment-id}``; ``user`` only
  on the account's own comments; the audience (``emu.audience("fan1").comment(media_id,
  text)``, or a comment id to answer it) and `add_comment` add the audience's.
- Tokens live 60 days of the emulator clock; ``GET /refresh_access_token`` renews one that
  is at least a day old and not expired.
- ``X-Business-Use-Case-Usage`` (type ``instagram``); code 80002 past the budget.
- Views, reach, likes, comments, saves, shares and followers grow with the emulator clock.
- Hashtag search (listening): the audience's public posts (``emu.audience("fan").post(
  "Loving #brandkit", lang="en")``, an image with that caption) and the accounts' own
  media are what it searches. ``GET /ig_hashtag_search?user_id=&q=`` answers
  ``{"data": [{"id": ...}]}`` (ids are static and global: one name, one id, in every
  emulator; an emoji or punctuation is refused with code 100), ``GET /{hashtag-id}`` its
  ``id`` and ``name``, ``GET /{hashtag-id}/recent_media?user_id=&fields=`` the media
  tagged in the last 24 hours of the emulator clock, in no time order (as Meta warns),
  at most 50 a page, an ``after`` cursor and ``paging.next`` only (no ``before``), no
  ``username`` field (code 100, as Meta refuses it); ``top_media`` the same without the
  24 hours, most liked first; ``GET /{ig-user-id}/recently_searched_hashtags`` (25 a page,
  up to 30). Each account may query 30 unique hashtags per rolling 7 days (a lookup or a
  read of a hashtag's media counts it once, and a repeat does not restart its 7 days):
  the 31st is refused with code 18 and ``error_user_msg``, the code Smash Balloon's
  Instagram Feed plugin reads as "too many hashtags" (Meta's exact wording is not
  public; the emulator's is its own). `hashtag_queries` shows the tally.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import attrs
import httpx

from brandkit.accounts import Account
from brandkit.content._media import sniff
from brandkit.testing._emulator import Audience, Clock, route
from brandkit.testing._graph import (
    DAY,
    NODE,
    OMIT,
    VERSION,
    Comment,
    Container,
    Field,
    GraphError,
    MediaFetchingEmulator,
    NodeFields,
    Published,
    Token,
    User,
    graph_api,
    graph_time,
    hide_param,
    image_size,
    insight,
    metric_names,
    render_fields,
    shortcode,
    truthy,
)
from brandkit.testing._mediahost import FetchFailed, LoopbackMediaHost, fetch_media

__all__ = ["FEED_METRICS", "InstagramEmulator", "LoopbackMediaHost"]

MB = 1000 * 1000

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


@attrs.define
class _Media(Published):
    product_type: str = "FEED"
    # POST /{ig-media-id} comment_enabled=false turns commenting off (and true back on).
    comment_enabled: bool = True


@attrs.define
class _Public:
    """A public post by someone of the audience (what hashtag search finds)."""

    id: str
    author: str
    author_id: str
    caption: str
    created_at: float
    shortcode: str
    lang: str | None = None
    # The accounts (user ids) the author tagged in the media.
    tagged: tuple[str, ...] = ()


_TAG = re.compile(r"(?<![\w#＃])[#＃](\w+)")
_HASHTAG_WINDOW = 7 * DAY
_RECENT = DAY


def hashtags_in(caption: str) -> set[str]:
    """The hashtags of a caption, lower-cased, without ``#``."""
    return {t.lower() for t in _TAG.findall(caption)}


def hashtag_id(name: str) -> str:
    """The hashtag's id: static and global, as Meta's are (one name, one id)."""
    digest = hashlib.sha256(name.lower().encode()).hexdigest()
    return f"178{int(digest[:14], 16) % 10**14:014d}"


class InstagramEmulator(MediaFetchingEmulator[Container, _Media]):
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
        media_host: the media host `account` gives accounts (default: one the emulator
            starts on 127.0.0.1 and stops when ``serve()`` ends or on `close`).
        version: the Graph API version unversioned calls use.
        hashtag_quota: unique hashtags an account may query per rolling 7 days (30).
    """

    platform: ClassVar[str] = "instagram"
    comment_nesting: ClassVar[frozenset[str]] = frozenset({"replies"})
    create_route: ClassVar[tuple[str, str]] = ("POST", r"/v\d+\.\d+/\d+/media_publish")
    reply_route: ClassVar[tuple[str, str] | None] = ("POST", r"/v\d+\.\d+/\d+/replies")
    usage_type: ClassVar[str | None] = "instagram"
    throttle_code: ClassVar[int] = 80002
    throttle_message: ClassVar[str] = (
        "(#80002) There have been too many calls to this Instagram account. Wait a bit and "
        "try again. For more info, please refer to "
        "https://developers.facebook.com/docs/graph-api/overview/rate-limiting."
    )
    id_base: ClassVar[int] = 17_841_400_000_000_000
    token_kind: ClassVar[str] = "instagram"
    refresh_grant: ClassVar[str] = "ig_refresh_token"
    carousel_error: ClassVar[str] = "2207028"
    publish_permissions: ClassVar[tuple[str, ...]] = (
        "instagram_content_publish",
        "instagram_business_content_publish",
    )
    engagement_kinds: ClassVar[tuple[str, ...]] = ("likes", "comments", "saved", "shares", "views")

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
        hashtag_quota: int = 30,
    ) -> None:
        super().__init__(
            clock=clock,
            rate_limits=rate_limits,
            media_host=media_host,
            container_ttl=container_ttl,
            engagement_rate=engagement_rate,
            image_processing=image_processing,
            video_processing=video_processing,
            max_image_bytes=max_image_bytes,
            max_video_bytes=max_video_bytes,
        )
        self.quota_total = quota_total
        self.max_caption = max_caption
        self.max_hashtags = max_hashtags
        self.max_mentions = max_mentions
        self.version = version
        self.hashtag_quota = hashtag_quota
        self._public: dict[str, _Public] = {}
        self._hashtag_names: dict[str, str] = {}
        # Per account: hashtag -> when it was first queried within its 7 days.
        self._queried: dict[str, dict[str, float]] = {}

    # -- public helpers --------------------------------------------------------------------

    def make_account(
        self, user_id: str, token: str, *, media_host: Any, name: str | None, **kwargs: Any
    ) -> Account:
        return Account.instagram(
            ig_user_id=user_id,
            token=token,
            media_host=media_host,
            api_version=kwargs.pop("api_version", self.version),
            base_url=self.base_url,
            name=name,
            **kwargs,
        )

    def post_texts(self) -> list[str]:
        """The captions of the posts that exist now (deleted ones excluded), oldest first."""
        with self.lock:
            return [m.text for m in self.live()]

    @property
    def posts(self) -> list[dict[str, Any]]:
        """The posts that exist now, oldest first: ``id``, ``caption``, ``media_type``,
        ``media_product_type``, ``permalink``, ``timestamp``, ``container_id``,
        ``alt_text`` and ``children`` (each with ``media_type`` and ``alt_text``)."""
        with self.lock:
            return [self._media_view(m) for m in self.live()]

    def container_not_found(self) -> GraphError:
        return _unavailable(
            2207006, "Media not found", "The media could not be found; it may have been deleted."
        )

    def fail_container(self, container_id: str, error_code: int = 2207001) -> None:
        """Make a container end in ``ERROR`` with ``error_code``.

        Raises:
            KeyError: no container has that id.
        """
        with self.lock:
            self._containers[container_id].error = str(error_code)

    def code_answer(self, token: str, owner: str, scopes: tuple[str, ...]) -> dict[str, Any]:
        """Business Login for Instagram's answer: in ``data``, the token, the user id as a
        string and the permissions the user granted, comma-separated (the window lets the
        user switch some off: see `decline_permissions`)."""
        return {
            "data": [{"access_token": token, "user_id": owner, "permissions": ",".join(scopes)}]
        }

    # -- listening -------------------------------------------------------------------------

    def audience_write(
        self,
        member: Audience,
        kind: str,
        text: str,
        *,
        target: str | None = None,
        lang: str | None = None,
    ) -> str:
        """A public post by ``member`` (``kind="post"``: an image with ``text`` as its
        caption, which hashtag search finds by its hashtags; ``kind="mention"``: such an
        image in which ``member`` tagged one of the emulator's accounts, the one whose
        ``@username`` ``text`` holds, else the account made last, listed by its
        ``/tags``), or a comment (see `GraphEmulator.audience_write`); returns the media
        or comment id.

        Raises:
            ValueError: a caption Instagram refuses (too long, too many hashtags or
                mentions), or a comment on a media whose comments are turned off.
            KeyError: a mention while the emulator has no account.
            NotImplementedError: a quote (see `GraphEmulator.audience_write`).
        """
        tagged: tuple[str, ...] = ()
        if kind == "mention":
            with self.lock:
                if not self._users:
                    raise KeyError("a tag needs an account: make one with account() first")
                named = [
                    uid
                    for uid, user in self._users.items()
                    if re.search(rf"@{re.escape(user.username)}(?![\w.])", text, re.IGNORECASE)
                ]
                tagged = (named[0] if named else list(self._users)[-1],)
        elif kind != "post":
            with self.lock:
                answered = self.live_comment(str(target)) if target is not None else None
                media = self.live_post(answered.on if answered is not None else str(target))
                if kind in ("comment", "reply") and media is not None and not media.comment_enabled:
                    raise ValueError(f"comments are turned off on the media {media.id}")
            return super().audience_write(member, kind, text, target=target, lang=lang)
        with self.lock:
            try:
                self._check_caption(text)
            except GraphError as err:
                raise ValueError(f"instagram would refuse this caption: {err.message}") from None
            person = self._people.setdefault(member.name, self.new_id())
            media_id = self.new_id()
            self._public[media_id] = _Public(
                id=media_id,
                author=member.name,
                author_id=person,
                caption=text,
                created_at=self.clock.time(),
                shortcode=shortcode(media_id),
                lang=lang,
                tagged=tagged,
            )
            return media_id

    def hashtag_queries(self, user_id: str) -> dict[str, float]:
        """The hashtags ``user_id`` queried in the last 7 days, with when (emulator time)."""
        with self.lock:
            return dict(self._hashtag_window(user_id))

    def _hashtag_window(self, user_id: str) -> dict[str, float]:
        now = self.clock.time()
        queried = self._queried.setdefault(user_id, {})
        for tag, at in list(queried.items()):
            if now - at >= _HASHTAG_WINDOW:
                del queried[tag]
        return queried

    def _searcher(self, token: Token, params: Mapping[str, Any]) -> str:
        """The ``user_id`` a hashtag call names (the account that searches), if the token
        acts for it.

        Raises:
            GraphError: none given (code 100), or not the token's account.
        """
        user_id = str(params.get("user_id") or "")
        if not user_id:
            raise GraphError(400, 100, "(#100) The parameter user_id is required")
        self.user_for(token, user_id)
        return user_id

    def _query_hashtag(self, user_id: str, tag: str) -> None:
        """Count ``tag`` against the account's unique hashtags of 7 days (once).

        Raises:
            GraphError: code 18, the account's 30 are used up.
        """
        queried = self._hashtag_window(user_id)
        if tag in queried:
            return
        if len(queried) >= self.hashtag_quota:
            raise GraphError(
                400,
                18,
                "(#18) This Instagram account has reached its limit of unique hashtag queries",
                user_title="Hashtag limit reached",
                user_msg=f"You can query up to {self.hashtag_quota} unique hashtags in a "
                "rolling 7 day period; hashtags queried in the last 7 days can still be "
                "queried.",
            )
        queried[tag] = self.clock.time()

    def _searchable(self) -> list[tuple[str, str, float, str]]:
        """``(id, caption, created_at, permalink)`` of every public media, oldest first."""
        items = [
            (p.id, p.caption, p.created_at, f"https://www.instagram.com/p/{p.shortcode}/")
            for p in self._public.values()
        ]
        items.extend((m.id, m.text, m.created_at, self.permalink(m)) for m in self.live())
        items.sort(key=lambda i: i[2])
        return items

    def _likes(self, media_id: str, created_at: float) -> int:
        post = self._posts.get(media_id)
        if post is not None:
            return self._counts(post)["likes"]
        return self.clock_engagement(created_at, media_id)

    def _found_fields(
        self, item: tuple[str, str, float, str], fields: str | None
    ) -> dict[str, Any]:
        media_id, caption, created_at, permalink = item
        post = self._posts.get(media_id)
        getters: dict[str, Callable[[Field], Any]] = {
            "id": lambda f: media_id,
            "caption": lambda f: caption or OMIT,
            "media_type": lambda f: post.media_type if post is not None else "IMAGE",
            "permalink": lambda f: permalink,
            "timestamp": lambda f: graph_time(created_at),
            "like_count": lambda f: self._likes(media_id, created_at),
            "comments_count": lambda f: self.comment_count(media_id),
            "media_url": lambda f: f"https://scontent.cdninstagram.com/v/{media_id}.jpg",
            "children": lambda f: (
                {"data": [{"id": i} for i in post.children]} if post and post.children else OMIT
            ),
        }
        # Meta: "You cannot request the username field on returned media objects."
        return render_fields(fields, "id", getters, "IGMedia", media_id)

    @route("GET", rf"/(?:{VERSION}/)?ig_hashtag_search")
    @graph_api()
    def _hashtag_search(
        self, request: httpx.Request, token: Token, params: dict[str, Any], **_: Any
    ) -> httpx.Response:
        user_id = self._searcher(token, params)
        q = str(params.get("q") or "").strip().lstrip("#＃").lower()
        if not q:
            raise GraphError(400, 100, "(#100) The parameter q is required")
        if not re.fullmatch(r"\w+", q):
            raise GraphError(
                400, 100, f"(#100) Param q must be a hashtag: letters, digits and _ ({q!r})"
            )
        self._query_hashtag(user_id, q)
        node = hashtag_id(q)
        self._hashtag_names[node] = q
        return self.json({"data": [{"id": node}]})

    @route("GET", rf"/{VERSION}/(?P<user_id>[0-9]+)/recently_searched_hashtags")
    @graph_api()
    def _recently_searched(
        self, request: httpx.Request, token: Token, params: dict[str, Any], user_id: str, **_: Any
    ) -> httpx.Response:
        self.user_for(token, user_id)
        tags = sorted(self._hashtag_window(user_id).items(), key=lambda kv: kv[1])
        items = [{"id": hashtag_id(t)} for t, _ in tags]
        return self.json(self.page_of(request, items, params, most=30))

    @route("GET", rf"/{VERSION}/(?P<node>[0-9]+)/(?P<edge>recent_media|top_media)")
    @graph_api()
    def _hashtag_media(
        self,
        request: httpx.Request,
        token: Token,
        params: dict[str, Any],
        node: str,
        edge: str,
        **_: Any,
    ) -> httpx.Response:
        tag = self._hashtag_names.get(node)
        if tag is None:
            raise self.unsupported("get", node)
        user_id = self._searcher(token, params)
        self._query_hashtag(user_id, tag)
        now = self.clock.time()
        items = [i for i in self._searchable() if tag in hashtags_in(i[1])]
        if edge == "recent_media":
            items = [i for i in items if now - i[2] < _RECENT]
            # Meta: "Responses will not always be in chronological order."
            items.sort(key=lambda i: hashlib.sha256(i[0].encode()).digest())
        else:
            items.sort(key=lambda i: (-self._likes(i[0], i[2]), i[0]))
        fields = params.get("fields")
        rendered = [self._found_fields(i, fields) for i in items]
        # Meta: "This endpoint only returns an after cursor".
        page = self.page_of(request, rendered, params, most=50, links=("next",))
        if "paging" in page:
            page["paging"]["cursors"].pop("before", None)
        return self.json(page)

    def other_node(self, token: Token, node: str, fields: str | None) -> dict[str, Any]:
        name = self._hashtag_names.get(node)
        if name is not None:
            getters: dict[str, Callable[[Field], Any]] = {
                "id": lambda f: node,
                "name": lambda f: name,
            }
            return render_fields(fields, "id", getters, "IGHashtag", node)
        return self.comment_fields(self._own_comment(token, node, "get"), fields)

    # -- state -----------------------------------------------------------------------------

    def _status_text(self, c: Container) -> str:
        status = self.status(c)
        if status != "ERROR":
            return _STATUS_TEXT[status]
        return f"Error: Media upload has failed with error code {self.container_error(c)}"

    def container_view(self, c: Container) -> dict[str, Any]:
        """A container with its ``status_code``, ``status`` (Instagram's sentence), what it
        was made with and the ``url`` Instagram downloaded."""
        return {
            "id": c.id,
            "status_code": self.status(c),
            "status": self._status_text(c),
            "media_type": c.media_type,
            "url": c.url,
            "caption": c.text,
            "alt_text": c.alt_text,
            "is_carousel_item": c.is_carousel_item,
            "children": list(c.children),
            "mime_type": c.mime_type,
            "size": c.size,
        }

    def _counts(self, m: _Media) -> dict[str, int]:
        likes = self.clock_engagement(m.created_at, m.id)
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
        self.add_engagement(counts, m.extra)
        counts["reach"] = min(counts["reach"] + m.extra.get("views", 0), counts["views"])
        counts["comments"] += self.comment_count(m.id)
        counts["total_interactions"] = (
            counts["likes"] + counts["comments"] + counts["saved"] + counts["shares"]
        )
        return counts

    def permalink(self, m: _Media) -> str:
        kind = "reel" if m.product_type == "REELS" else "p"
        return f"https://www.instagram.com/{kind}/{m.shortcode}/"

    def _media_view(self, m: _Media) -> dict[str, Any]:
        return {
            "id": m.id,
            "caption": m.text,
            "media_type": m.media_type,
            "media_product_type": m.product_type,
            "permalink": self.permalink(m),
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

    def post_fields(self, m: _Media, fields: str | None) -> dict[str, Any]:
        counts = self._counts(m)
        getters = self.post_getters(m) | {
            "caption": lambda f: m.text or OMIT,
            "media_type": lambda f: m.media_type,
            "media_product_type": lambda f: m.product_type,
            "like_count": lambda f: counts["likes"],
            "comments_count": lambda f: counts["comments"],
            "is_comment_enabled": lambda f: m.comment_enabled,
            "comments": lambda f: self._nested(
                m.id, "comments", self.thread(m.id, None, newest_first=True), f
            ),
            "media_url": lambda f: f"https://scontent.cdninstagram.com/v/{m.id}.jpg",
            "insights": lambda f: self.post_insights(m, f.modifiers.get("metric")),
        }
        return render_fields(fields, "id", getters, "IGMedia", m.id)

    def user_fields(self, user: User, fields: str | None) -> dict[str, Any]:
        getters: dict[str, Callable[[Field], Any]] = {
            "id": lambda f: user.id,
            # Instagram Login's /me: the professional account id (the emulator gives the
            # app-scoped ``id`` the same value).
            "user_id": lambda f: user.id,
            "account_type": lambda f: "BUSINESS",
            "username": lambda f: user.username,
            "name": lambda f: user.username.capitalize(),
            "followers_count": lambda f: user.followers_at(self.clock.time()),
            "follows_count": lambda f: 0,
            "media_count": lambda f: sum(1 for m in self.live() if m.owner == user.id),
            "biography": lambda f: "",
            "profile_picture_url": lambda f: f"https://scontent.cdninstagram.com/{user.id}.jpg",
        }
        return render_fields(fields, "id", getters, "IGUser", user.id)

    def post_insights(self, m: _Media, metric: Any) -> dict[str, Any]:
        allowed = REELS_METRICS if m.product_type == "REELS" else FEED_METRICS
        names = metric_names(metric, allowed)
        counts = self._counts(m)
        data = [
            insight(
                m.id,
                name,
                counts.get(name, 0),
                period="lifetime",
                title=name.replace("_", " ").capitalize(),
                description=f"The {name.replace('_', ' ')} of this media",
            )
            for name in names
        ]
        return {"data": data}

    # -- routes ----------------------------------------------------------------------------

    def container_fields(self, c: Container, fields: str | None) -> dict[str, Any]:
        getters: dict[str, Callable[[Field], Any]] = {
            "id": lambda f: c.id,
            "status_code": lambda f: self.status(c),
            "status": lambda f: self._status_text(c),
        }
        return render_fields(fields, "id", getters, "ShadowIGMediaBuilder", c.id)

    def delete_other(self, token: Token, node: str) -> None:
        self._own_comment(token, node, "delete").deleted_at = self.clock.time()

    # -- comments --------------------------------------------------------------------------

    def comment_owner(self, object_id: str) -> str | None:
        media = self.live_post(object_id)
        return media.owner if media is not None else None

    def _own_comment(self, token: Token, node: str, verb: str) -> Comment:
        comment = self.live_comment(node)
        if comment is None or self.comment_owner(comment.on) != token.owner:
            raise self.unsupported(verb, node)
        return comment

    def comment_getters(self, c: Comment) -> NodeFields:
        media = self._posts[c.on]
        getters: dict[str, Callable[[Field], Any]] = {
            "id": lambda f: c.id,
            "text": lambda f: c.text,
            "timestamp": lambda f: graph_time(c.created_at),
            "username": lambda f: c.author_name,
            "from": lambda f: {"id": c.author_id, "username": c.author_name},
            # Meta shows ``user`` only on the account's own comments.
            "user": lambda f: {"id": c.author_id} if c.by_owner else OMIT,
            "hidden": lambda f: c.hidden,
            "like_count": lambda f: 0,
            "media": lambda f: {"id": media.id, "media_product_type": media.product_type},
            "parent_id": lambda f: c.parent if c.parent is not None else OMIT,
            # The id the Marketing API gave a comment (v21.0 and older); none for others.
            "legacy_instagram_comment_id": lambda f: OMIT,
            "replies": lambda f: self._nested(c.id, "replies", self.thread(c.on, c.id), f),
        }
        return NodeFields(getters, "id,text,timestamp", "IGComment")

    def _nested(self, node: str, edge: str, items: list[Comment], f: Field) -> Any:
        """An edge of comments expanded in ``fields`` (left out when empty, as Meta does)."""
        return self.comment_edge(node, edge, items, f) if items else OMIT

    def _comment_text(self, params: dict[str, Any]) -> str:
        text = str(params.get("message") or "")
        if not text:
            raise GraphError(400, 100, "(#100) The parameter message is required.")
        if len(text) > self.max_caption:
            raise GraphError(
                400,
                100,
                f"(#100) The comment is too long: {len(text)} characters, the most is "
                f"{self.max_caption}",
            )
        return text

    @route("GET", rf"/{VERSION}/{NODE}/(?P<edge>comments|replies)")
    @route("POST", rf"/{VERSION}/{NODE}/(?P<edge>comments|replies)")
    @graph_api()
    def _comments_edge(
        self,
        request: httpx.Request,
        token: Token,
        params: dict[str, Any],
        node: str,
        edge: str,
        **_: Any,
    ) -> httpx.Response:
        # /{media}/comments: the top-level comments; /{comment}/replies: one comment's.
        verb = request.method.lower()
        if edge == "comments":
            if self.comment_owner(node) != token.owner:
                raise self.unsupported(verb, node)
            on, parent = node, None
        else:
            replied = self._own_comment(token, node, verb)
            on, parent = replied.on, replied.id
            if verb == "post":
                parent = self.answer_target(replied).id
            if verb == "post" and self._comments[parent].hidden:
                raise GraphError(400, 100, "(#100) A hidden comment cannot be replied to")
        if request.method == "GET":
            # Comments newest first (as Meta lists them); replies in the order they came.
            items = self.thread(on, parent, newest_first=parent is None)
            return self.json(self.comments_page(request, items, params))
        text = self._comment_text(params)
        user = self._users[token.owner]
        comment = self.store_comment(on, parent, user.id, user.username, text, by_owner=True)
        return self.json({"id": comment.id})

    @route("POST", rf"/{VERSION}/{NODE}")
    @graph_api()
    def _update_comment(
        self, request: httpx.Request, token: Token, params: dict[str, Any], node: str, **_: Any
    ) -> httpx.Response:
        media = self.live_post(node)
        if media is not None and media.owner == token.owner:
            # Comment moderation's "POST /{ig-media-id} — Disable/enable comments".
            if "comment_enabled" not in params:
                raise GraphError(400, 100, "(#100) The parameter comment_enabled is required.")
            media.comment_enabled = truthy(params["comment_enabled"])
            return self.json({"success": True})
        comment = self._own_comment(token, node, "post")
        comment.hidden = hide_param(params)
        return self.json({"success": True})

    @route("POST", rf"/(?:{VERSION}/)?(?P<user_id>[0-9]+)/messages")
    @graph_api()
    def _send_message(
        self, request: httpx.Request, token: Token, params: dict[str, Any], user_id: str, **_: Any
    ) -> httpx.Response:
        # "Send a Private Reply to a Commenter": recipient.comment_id, within 7 days, once.
        self.user_for(token, user_id)
        return self.json(self.send_private_reply(user_id, params))

    @route("GET", rf"/{VERSION}/(?P<user_id>[0-9]+)/content_publishing_limit")
    @graph_api()
    def _publishing_limit(
        self, request: httpx.Request, token: Token, params: dict[str, Any], user_id: str, **_: Any
    ) -> httpx.Response:
        self.user_for(token, user_id)
        values = {
            "quota_usage": self.used(user_id, "post"),
            "config": {"quota_total": self.quota_total, "quota_duration": int(DAY)},
        }
        entry = self.limit_entry(params, values, "ContentPublishingLimitResponse")
        return self.json({"data": [entry]})

    @route("GET", rf"/{VERSION}/(?P<user_id>[0-9]+)/tags")
    @graph_api()
    def _list_tags(
        self, request: httpx.Request, token: Token, params: dict[str, Any], user_id: str, **_: Any
    ) -> httpx.Response:
        # IG User Tags: the media others tagged the account in, newest first, with the
        # author's ``username`` (default fields ``id``). Its paging is cursors alone:
        # "Unlike standard cursor-based pagination, however, the response will not include
        # previous or next fields" (the edge's reference); past the last item, an empty page.
        self.user_for(token, user_id)
        items = [p for p in self._public.values() if user_id in p.tagged]
        items.sort(key=lambda p: p.created_at, reverse=True)
        fields = params.get("fields")
        rendered = [self._tagged_fields(p, fields) for p in items]
        return self.json(self.page_of(request, rendered, params, links=()))

    def _tagged_fields(self, p: _Public, fields: str | None) -> dict[str, Any]:
        getters: dict[str, Callable[[Field], Any]] = {
            "id": lambda f: p.id,
            "caption": lambda f: p.caption or OMIT,
            "media_type": lambda f: "IMAGE",
            "permalink": lambda f: f"https://www.instagram.com/p/{p.shortcode}/",
            "timestamp": lambda f: graph_time(p.created_at),
            "username": lambda f: p.author,
            "like_count": lambda f: self._likes(p.id, p.created_at),
            "comments_count": lambda f: self.comment_count(p.id),
            "media_url": lambda f: f"https://scontent.cdninstagram.com/v/{p.id}.jpg",
        }
        return render_fields(fields, "id", getters, "IGMedia", p.id)

    @route("GET", rf"/{VERSION}/(?P<user_id>[0-9]+)/media")
    @graph_api()
    def _list_media(
        self, request: httpx.Request, token: Token, params: dict[str, Any], user_id: str, **_: Any
    ) -> httpx.Response:
        self.user_for(token, user_id)
        items = [m for m in self.live() if m.owner == user_id]
        return self.listing(request, params, items, self.post_fields)

    @route("POST", rf"/{VERSION}/(?P<user_id>[0-9]+)/media")
    @graph_api()
    def _create_container(
        self, request: httpx.Request, token: Token, params: dict[str, Any], user_id: str, **_: Any
    ) -> httpx.Response:
        self.publisher(token, user_id)
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
        container = Container(
            id=self.new_id(),
            owner=user_id,
            media_type=media_type,
            url=str(url),
            text=caption,
            alt_text=str(alt_text) if alt_text else None,
            is_carousel_item=carousel_item,
            created_at=now,
            ready_at=now,
        )
        self._download(container, video=key == "video_url")
        return self.keep_container(container)

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
        tags = len(_TAG.findall(caption))
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
        children = self.carousel_children(
            params,
            user_id,
            most=10,
            wrong_count=GraphError(
                400,
                100,
                "(#100) The carousel must have between 2 and 10 children",
                subcode=2207028,
            ),
            not_an_item=lambda child: GraphError(
                400,
                100,
                f"(#100) The child {child} is not a carousel item container of this account",
                subcode=2207028,
            ),
        )
        container = Container(
            id=self.new_id(),
            owner=user_id,
            media_type="CAROUSEL",
            url=None,
            text=caption,
            alt_text=None,
            is_carousel_item=False,
            created_at=now,
            ready_at=now + self.image_processing,
            children=children,
        )
        return self.keep_container(container)

    def _download(self, container: Container, *, video: bool) -> None:
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
                container.error = "2207026"
            return
        container.ready_at += self.image_processing
        if mime != "image/jpeg":
            container.error = "2207005"
        elif len(data) > limit:
            container.error = "2207004"
        else:
            dims = image_size(mime, data)
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
        self.publisher(token, user_id)
        container = self.publishable(params, user_id)
        status = self.status(container)
        if status == "IN_PROGRESS":
            raise _unavailable(
                2207027,
                "Media not ready for publishing",
                "The media is not ready for publishing, please wait for a moment",
            )
        if status == "EXPIRED":
            raise _unavailable(
                2207020,
                "Media expired",
                "The media you are trying to publish has expired. Please try again.",
            )
        if status == "ERROR":
            raise _unavailable(2207001, "Media processing failed", self._status_text(container))
        if status == "PUBLISHED":
            raise _unavailable(
                2207008,
                "Media already published",
                "This media container has already been published.",
            )
        if self.used(user_id, "post") >= self.quota_total:
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
            text=container.text,
            media_type=media_type,
            product_type=product,
            created_at=now,
            shortcode=shortcode(container.id),
            children=list(container.children),
            alt_text=container.alt_text,
        )
        return self.keep_published(container, media, "post")


def _unavailable(subcode: int, title: str, message: str) -> GraphError:
    """Instagram's refusal to publish a container: code 9007, "Media ID is not available",
    the reason in ``subcode`` and the user title and message."""
    return GraphError(
        400,
        9007,
        "Media ID is not available",
        subcode=subcode,
        user_title=title,
        user_msg=message,
    )


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
