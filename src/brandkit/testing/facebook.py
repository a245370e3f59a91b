"""A faithful, stateful Facebook Page (Graph API) for tests.

```python
from brandkit import Client, Post
from brandkit.testing.facebook import FacebookEmulator

emu = FacebookEmulator()
with emu.serve():
    account = emu.account()
    with Client() as client:
        (delivery,) = client.publish(Post(text="Hello"), account)
    assert emu.post_texts() == ["Hello"]
```

What it answers like the Graph API (``platforms.md`` §5, real bodies in ``tests/facebook``):

- ``POST /{version}/{page-id}/feed`` (``message``, ``link``, ``attached_media``),
  ``POST /{page-id}/photos`` (multipart ``source`` or ``url``; ``published``, ``caption``,
  ``alt_text_custom``; JPEG/PNG/GIF/BMP/TIFF up to 10 MB), ``POST /{page-id}/videos`` (the
  resumable upload, ``upload_phase=start|transfer|finish``, or one ``source``); videos
  process for ``video_processing`` seconds of the emulator clock before their post appears.
- ``GET /{node}`` with ``fields=`` and field expansion (Pages, posts, photos, videos; a
  user token with a role on the Page reads the Page's ``access_token``),
  ``DELETE /{node}``, ``GET /{page-id}/published_posts`` and ``/posts`` (the Page's own
  posts) and ``/feed`` (those and the posts visitors wrote on the Page,
  ``emu.audience("ada").post(text)``, with ``from``; newest first, ``since``/``until``,
  cursors), ``GET /{node}/insights`` (current metric names; retired ones such as
  ``post_impressions`` answer Meta's "(#100) The value must be a valid insights metric"),
  and batch requests.
- Facebook Login (`FacebookEmulator.oauth_app`): ``GET /{version}/dialog/oauth`` (the user
  consents at once, or refuses after `deny_consent`, or unchecks permissions after
  `decline_permissions`, which later logins skip unless ``auth_type=rerequest``),
  ``GET /{version}/oauth/access_token`` with the code (single use, 10 minutes, the redirect
  URI checked; a 1-hour user token) or with ``grant_type=fb_exchange_token`` (a 60-day one).
- ``GET /{user-id}/permissions`` (``/me/permissions``): each permission the user granted
  or declined, ``public_profile`` always granted; a Page has no such edge.
- ``GET /me`` and ``GET /{user-id}/accounts`` (``/me/accounts``): the Pages a user
  administers with their Page tokens, ``category``, ``category_list`` and ``tasks``, paged.
- Comments: ``GET``/``POST /{post-or-comment-id}/comments`` (``fields``, ``summary``,
  ``filter=stream``, ``order``, ``limit``, ``after``/``before``; ``message``), the same edge
  expanded in a post's or Page posts' ``fields``
  (``comments.filter(stream).order(reverse_chronological).limit(100){...}``),
  ``POST /{comment-id}`` with ``is_hidden`` (or ``message``), ``DELETE /{comment-id}``,
  ``GET /{comment-id}``, ``POST``/``DELETE /{comment-id}/likes``; the audience
  (``emu.audience("fan1").comment(post_id, text)``, or a comment id to answer it) and
  `add_comment` add the audience's. Facebook threads one level deep: an answer to a reply
  joins its comment.
- Page tokens never expire (revoke them with `revoke_tokens`, or expire them with
  `expire_tokens`); user tokens live 60 days of the emulator clock.
- ``X-Business-Use-Case-Usage`` (type ``pages``) for Page tokens and ``X-App-Usage``; past
  the Page's budget, code 80001 with ``estimated_time_to_regain_access``.
- Duplicate refusals (506) when ``duplicate_window`` is set; `fail_after_store` for
  Meta's "500 code 2 although the post was created".
- Reactions, comments, shares, views and followers grow with the emulator clock.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ClassVar

import attrs
import httpx

from brandkit.accounts import Account
from brandkit.content._media import sniff
from brandkit.testing._emulator import Audience, Clock, route
from brandkit.testing._graph import (
    LONG_TOKEN_TTL,
    NODE,
    OMIT,
    SHORT_TOKEN_TTL,
    VERSION,
    Comment,
    Field,
    GraphEmulator,
    GraphError,
    NodeFields,
    Token,
    followers_at,
    graph_api,
    graph_time,
    image_size,
    insight,
    no_field,
    parse_fields,
    render_fields,
    truthy,
)
from brandkit.testing._mediahost import FetchFailed, fetch_media

__all__ = ["POST_METRICS", "RETIRED_METRICS", "FacebookEmulator"]

MB = 1000 * 1000
PHOTO_TYPES = ("image/jpeg", "image/png", "image/gif", "image/bmp", "image/tiff")
VIDEO_CHUNK = 1024 * 1024

POST_METRICS = (
    "post_media_view",
    "post_total_media_view_unique",
    "post_clicks",
    "post_clicks_by_type",
    "post_reactions_by_type_total",
    "post_video_views",
)
"""Post insights metrics the emulator answers (Meta's current names)."""

PAGE_METRICS = (
    "page_media_view",
    "page_total_media_view_unique",
    "page_follows",
    "page_daily_follows",
    "page_post_engagements",
)

RETIRED_METRICS = frozenset(
    {
        "post_impressions",
        "post_impressions_unique",
        "post_impressions_paid",
        "post_impressions_paid_unique",
        "post_impressions_organic",
        "post_impressions_organic_unique",
        "post_impressions_fan",
        "post_impressions_fan_unique",
        "post_impressions_viral",
        "post_impressions_viral_unique",
        "post_impressions_nonviral",
        "post_impressions_nonviral_unique",
        "post_engaged_users",
        "page_impressions",
        "page_impressions_unique",
        "page_fans",
        "page_fan_adds",
    }
)
"""Metrics Meta retired; asking for them is refused with code 100."""

_INVALID_METRIC = "(#100) The value must be a valid insights metric"


@attrs.define
class _Page:
    id: str
    name: str
    username: str
    created_at: float
    followers: int
    followers_per_day: float
    user_id: str
    category: str = "Brand"
    instagram_id: str | None = None

    def followers_at(self, now: float) -> int:
        """Followers at emulator time ``now`` (they grow with the clock)."""
        return followers_at(self.followers, self.followers_per_day, self.created_at, now)


PAGE_TASKS = ("ANALYZE", "ADVERTISE", "MESSAGING", "MODERATE", "CREATE_CONTENT", "MANAGE")
"""The tasks a Page admin has (``/me/accounts`` lists them per Page)."""


@attrs.define
class _Photo:
    id: str
    page_id: str
    published: bool
    caption: str
    mime_type: str
    size: int
    width: int | None
    height: int | None
    alt_text_custom: str | None
    created_at: float
    post_id: str | None = None
    deleted: bool = False


@attrs.define
class _Video:
    id: str
    page_id: str
    session: str
    size: int
    received: bytearray
    created_at: float
    description: str = ""
    finished_at: float | None = None
    error: str | None = None
    post_id: str | None = None
    deleted: bool = False


@attrs.define
class _Post:
    id: str
    page_id: str
    message: str
    link: str | None
    created_at: float
    kind: str
    origin: str
    photo_ids: list[str] = attrs.field(factory=list)
    video_id: str | None = None
    visible_at: float = 0.0
    deleted_at: float | None = None
    extra: dict[str, int] = attrs.field(factory=dict)
    # A visitor post (someone else's post on the Page): its writer; ``None``: the Page's.
    visitor: tuple[str, str] | None = None


class FacebookEmulator(GraphEmulator):
    """Facebook Pages in a box (see the module docstring for what it covers).

    Args:
        clock: the emulator's clock.
        rate_limits: ``{"app": (calls, seconds), "account": (calls, seconds)}``; ``account``
            is each Page's budget (Meta: 4800 x engaged users per 24 h).
        video_processing: seconds (emulator clock) a finished video upload takes to appear.
        duplicate_window: seconds within which the same message twice on a Page is refused
            with 506 "Duplicate status message" (0: never).
        engagement_rate: reactions per hour a post gathers (times a per-post weight of 1 to
            5); 0 turns simulated engagement off.
        max_message: the longest ``message`` accepted.
        version: the Graph API version unversioned calls use.
    """

    platform: ClassVar[str] = "facebook"
    create_route: ClassVar[tuple[str, str]] = ("POST", r"/v\d+\.\d+/\d+/feed")
    reply_route: ClassVar[tuple[str, str] | None] = ("POST", r"/v\d+\.\d+/[0-9_]+/comments")
    usage_type: ClassVar[str | None] = "pages"
    throttle_code: ClassVar[int] = 80001
    throttle_message: ClassVar[str] = (
        "(#80001) There have been too many calls to this Page account. Wait a bit and try "
        "again. For more info, please refer to "
        "https://developers.facebook.com/docs/graph-api/overview/rate-limiting."
    )
    id_base: ClassVar[int] = 100_000_000_000_000
    engagement_kinds: ClassVar[tuple[str, ...]] = ("reactions", "comments", "shares", "views")
    comment_nesting: ClassVar[frozenset[str]] = frozenset({"parent", "comments"})

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        rate_limits: dict[str, tuple[int, float]] | None = None,
        video_processing: float = 1.0,
        duplicate_window: float = 0.0,
        engagement_rate: float = 6.0,
        max_message: int = 63_206,
        version: str = "v25.0",
    ) -> None:
        super().__init__(clock=clock, rate_limits=rate_limits, engagement_rate=engagement_rate)
        self.video_processing = video_processing
        self.duplicate_window = duplicate_window
        self.max_message = max_message
        self.version = version
        self._pages: dict[str, _Page] = {}
        self._posts: dict[str, _Post] = {}
        self._photos: dict[str, _Photo] = {}
        self._videos: dict[str, _Video] = {}
        self._users: dict[str, str] = {}  # user id -> name

    # -- public helpers --------------------------------------------------------------------

    def account(
        self,
        *,
        name: str | None = None,
        page_name: str = "Brandkit Test Page",
        followers: int = 0,
        followers_per_day: float = 24.0,
        tokens: str = "both",
        api_version: str | None = None,
        user_id: str | None = None,
        **kwargs: Any,
    ) -> Account:
        """A new Page (and a user with a role on it) and an [`Account`][brandkit.Account] for
        it at `base_url` (call it inside ``serve()`` to get the socket URL).

        Args:
            name: the brandkit account name.
            page_name: the Page's name.
            followers: followers at creation.
            followers_per_day: how fast followers grow with the emulator clock.
            tokens: which tokens the account gets: ``"page"``, ``"user"`` (brandkit then
                fetches the Page token) or ``"both"``.
            api_version: the Graph version the account pins (default: the emulator's).
            user_id: the user who administers the Page (default: a new one); give
                `page_owner` of another Page to have one user with several Pages on
                ``/me/accounts``.
            kwargs: passed on to `Account.facebook` (e.g. ``on_credentials_changed``).
        """
        page_id = self.new_id()
        with self.lock:
            if user_id is None:
                user_id = self.new_id()
                self._users[user_id] = f"Brandkit User {len(self._users) + 1}"
            elif user_id not in self._users:
                raise KeyError(user_id)
            self._pages[page_id] = _Page(
                id=page_id,
                name=page_name,
                username=f"brandkitpage{len(self._pages) + 1}",
                created_at=self.clock.time(),
                followers=followers,
                followers_per_day=followers_per_day,
                user_id=user_id,
            )
        page_token = self.issue_token(page_id, "page") if tokens in ("page", "both") else None
        user_token = (
            self.issue_token(user_id, "user", ttl=LONG_TOKEN_TTL)
            if tokens in ("user", "both")
            else None
        )
        return Account.facebook(
            page_id=page_id,
            page_token=page_token,
            user_token=user_token,
            api_version=api_version or self.version,
            base_url=self.base_url,
            name=name,
            **kwargs,
        )

    def link_instagram(self, page_id: str, ig_user_id: str) -> None:
        """Link an Instagram professional account to a Page: the Page's
        ``instagram_business_account`` is then ``{"id": ig_user_id}``.

        Raises:
            KeyError: no Page has that id.
        """
        with self.lock:
            self._pages[page_id].instagram_id = ig_user_id

    def page_owner(self, page_id: str) -> str:
        """The id of the user who administers a Page.

        Raises:
            KeyError: no Page has that id.
        """
        with self.lock:
            return self._pages[page_id].user_id

    def post_texts(self) -> list[str]:
        """The messages of the Page posts that exist now (deleted ones excluded), oldest
        first."""
        with self.lock:
            return [p.message for p in self._live()]

    @property
    def posts(self) -> list[dict[str, Any]]:
        """The posts that exist now, oldest first: ``id``, ``page_id``, ``message``,
        ``link``, ``kind`` (``status``/``link``/``photo``/``album``/``video``),
        ``created_time``, ``photos`` (each with ``alt_text_custom``, ``mime_type``,
        ``size``) and ``video_id``."""
        with self.lock:
            return [self._post_view(p) for p in self._live()]

    def post(self, post_id: str) -> dict[str, Any]:
        """One post (deleted ones too, with ``deleted`` set).

        Raises:
            KeyError: no post has that id.
        """
        with self.lock:
            p = self._posts[post_id]
            view = self._post_view(p)
            view["deleted"] = p.deleted_at is not None
            return view

    @property
    def photos(self) -> list[dict[str, Any]]:
        """Every photo uploaded so far (published or not), oldest first."""
        with self.lock:
            return [attrs.asdict(p) for p in self._photos.values()]

    def engagement_of(self, post_id: str) -> dict[str, int]:
        return self._posts[post_id].extra

    def business_object(self, token: Token) -> str | None:
        # Page tokens fall under the Page's Business Use Case limit; user tokens under the
        # app's Platform limit only.
        return token.owner if token.kind == "page" else None

    # -- state -----------------------------------------------------------------------------

    def _live(self, *, visitors: bool = False) -> list[_Post]:
        """The posts that exist now: the Pages' own, and with ``visitors`` the posts
        visitors wrote on the Pages too."""
        now = self.clock.time()
        return [
            p
            for p in self._posts.values()
            if p.deleted_at is None and p.visible_at <= now and (visitors or p.visitor is None)
        ]

    def _post_view(self, p: _Post) -> dict[str, Any]:
        return {
            "id": p.id,
            "page_id": p.page_id,
            "message": p.message,
            "link": p.link,
            "kind": p.kind,
            "created_time": graph_time(p.created_at),
            "photos": [attrs.asdict(self._photos[i]) for i in p.photo_ids],
            "video_id": p.video_id,
        }

    def _counts(self, p: _Post) -> dict[str, int]:
        reactions = self.clock_engagement(p.created_at, p.id)
        counts = {
            "reactions": reactions,
            "comments": reactions // 4,
            "shares": reactions // 6,
            "views": reactions * 12,
            "viewers": reactions * 7,
            "link clicks": reactions // 3 if p.link or "http" in p.message else 0,
            "other clicks": reactions // 2,
            "photo view": reactions if p.photo_ids else 0,
        }
        self.add_engagement(counts, p.extra)
        counts["comments"] += self.comment_count(p.id)
        counts["viewers"] = min(counts["viewers"] + p.extra.get("views", 0), counts["views"])
        return counts

    def _page_for(self, token: Token, page_id: str, *, write: bool) -> _Page:
        page = self._pages.get(page_id)
        if page is None:
            raise self.unsupported("post" if write else "get", page_id)
        # Its admin's user token reads the Page; only the Page's own token writes.
        if self._owned(token, page_id) and (token.kind == "page" or not write):
            return page
        if write:
            raise GraphError(
                403 if token.kind == "user" else 400,
                200,
                "(#200) The user hasn't authorized the application to perform this action"
                if token.kind == "user"
                else "(#200) Permissions error",
                kind="OAuthException",
            )
        raise self.unsupported("get", page_id)

    def _publishing_page(self, token: Token, page_id: str) -> _Page:
        """The Page a post goes on, if the token may publish there.

        Raises:
            GraphError: not the Page's token (see `_page_for`), or one granted without
                ``pages_manage_posts`` (403, code 200).
        """
        page = self._page_for(token, page_id, write=True)
        self.require_permission(token, "pages_manage_posts")
        return page

    def _own_user(self, token: Token, user_id: str) -> bool:
        """``user_id`` is a user and the token is that user's own."""
        return user_id in self._users and token.kind == "user" and token.owner == user_id

    def _owned(self, token: Token, page_id: str) -> bool:
        page = self._pages.get(page_id)
        if page is None:
            return False
        return (token.kind == "page" and token.owner == page_id) or (
            token.kind == "user" and token.owner == page.user_id
        )

    # -- nodes -----------------------------------------------------------------------------

    def _page_fields(self, page: _Page, token: Token, fields: str | None) -> dict[str, Any]:
        followers = page.followers_at(self.clock.time())
        admin = token.kind == "user" and token.owner == page.user_id

        def access_token(f: Field) -> Any:
            if admin:
                return self._page_token(page.id, token.scopes)
            return token.value if token.kind == "page" else OMIT

        picture = f"https://scontent.xx.fbcdn.net/v/t39.30808-1/{page.id}_n.jpg"
        getters: dict[str, Callable[[Field], Any]] = {
            "id": lambda f: page.id,
            "name": lambda f: page.name,
            "username": lambda f: page.username,
            "followers_count": lambda f: followers,
            "fan_count": lambda f: followers,
            "link": lambda f: f"https://www.facebook.com/{page.username}/",
            "category": lambda f: page.category,
            "category_list": lambda f: [{"id": "1605186416478696", "name": page.category}],
            "tasks": lambda f: list(PAGE_TASKS) if admin else OMIT,
            "access_token": access_token,
            # The Instagram professional account linked to the Page (omitted when none).
            "instagram_business_account": lambda f: (
                {"id": page.instagram_id} if page.instagram_id else OMIT
            ),
            "insights": lambda f: self._insights(page.id, f.modifiers.get("metric"), True),
            # Fields of a real Page that the emulator's Pages leave unset (Meta then omits
            # them) or answer with fixed values, so that clients asking for them by default
            # (python-facebook-api's Page fields) read the Page as they would a real one.
            "about": lambda f: OMIT,
            "cover": lambda f: OMIT,
            "description": lambda f: OMIT,
            "description_html": lambda f: OMIT,
            "emails": lambda f: OMIT,
            "phone": lambda f: OMIT,
            "website": lambda f: OMIT,
            "global_brand_page_name": lambda f: OMIT,
            "global_brand_root_id": lambda f: OMIT,
            "display_subtext": lambda f: OMIT,
            "engagement": lambda f: {
                "count": followers,
                "social_sentence": f"{followers} people like this",
            },
            "verification_status": lambda f: "not_verified",
            "picture": lambda f: {
                "data": {"height": 50, "is_silhouette": False, "url": picture, "width": 50}
            },
        }
        return render_fields(fields, "name,id", getters, "Page", page.id)

    def _page_token(self, page_id: str, scopes: tuple[str, ...] | None = None) -> str:
        # A Page token carries the permissions of the user token it was read with.
        now = self.clock.time()
        for token in self._tokens.values():
            if (
                token.kind == "page"
                and token.owner == page_id
                and token.scopes == scopes
                and not token.revoked
                and (token.expires_at is None or token.expires_at > now)
            ):
                return token.value
        return self.issue_token(page_id, "page", scopes=scopes)

    def _post_fields(self, p: _Post, fields: str | None) -> dict[str, Any]:
        counts = self._counts(p)
        page = self._pages[p.page_id]
        status_type = {
            "status": "mobile_status_update",
            "link": "shared_story",
            "photo": "added_photos",
            "album": "added_photos",
            "video": "added_video",
        }[p.kind]
        if p.visitor is not None:
            status_type = "wall_post"
        writer = (
            {"name": page.name, "id": page.id}
            if p.visitor is None
            else {"name": p.visitor[1], "id": p.visitor[0]}
        )
        picture = (
            f"https://scontent.xx.fbcdn.net/v/t39.30808-6/{p.photo_ids[0]}_n.jpg"
            if p.photo_ids
            else None
        )

        def reactions(f: Field) -> Any:
            # ``reactions.type(LOVE).summary(total_count)``: the count of one kind.
            kind = f.modifiers.get("type", "").upper()
            total = counts["reactions"]
            by_type = {"LIKE": total - total // 5, "LOVE": total // 5}
            shown = by_type.get(kind, 0) if kind else total
            return _edge_summary("reactions", shown, f.modifiers)

        getters: dict[str, Callable[[Field], Any]] = {
            "id": lambda f: p.id,
            "from": lambda f: writer,
            "message": lambda f: p.message or OMIT,
            "created_time": lambda f: graph_time(p.created_at),
            "updated_time": lambda f: graph_time(p.created_at),
            "permalink_url": lambda f: (
                f"https://www.facebook.com/{page.username}/posts/{p.id.split('_', 1)[1]}"
            ),
            "status_type": lambda f: status_type,
            "shares": lambda f: {"count": counts["shares"]} if counts["shares"] else OMIT,
            "reactions": reactions,
            "likes": lambda f: _edge_summary("likes", counts["reactions"], f.modifiers),
            "comments": lambda f: self._nested_comments(p, f, counts["comments"]),
            "insights": lambda f: self._insights(p.id, f.modifiers.get("metric"), False),
            "attachments": lambda f: {"data": self._attachments(p)},
            "is_published": lambda f: True,
            "full_picture": lambda f: picture or OMIT,
            "picture": lambda f: picture or OMIT,
            "icon": lambda f: OMIT,
            "message_tags": lambda f: OMIT,
        }
        return render_fields(fields, "created_time,message,id", getters, "Post", p.id)

    def _nested_comments(self, p: _Post, f: Field, total: int) -> Any:
        """A post's ``comments`` field: the edge's first page (``filter``, ``order``,
        ``limit`` modifiers, nested fields), with its ``summary`` when asked; left out when
        there is neither a comment nor a summary, as Meta does."""
        stream, reverse = _comment_order(f.modifiers)
        items = self.thread(p.id, None, stream=stream, newest_first=reverse)
        out = self.comment_edge(p.id, "comments", items, f)
        summary = _edge_summary("comments", total, f.modifiers).get("summary")
        if summary is not None:
            summary["order"] = f.modifiers.get("order", "ranked")
            out["summary"] = summary
        elif not out["data"]:
            return OMIT
        return out

    def _attachments(self, p: _Post) -> list[dict[str, Any]]:
        if p.kind in ("photo", "album"):
            subs = [
                {
                    "type": "photo",
                    "target": {"id": i},
                    "description": self._photos[i].alt_text_custom or "",
                }
                for i in p.photo_ids
            ]
            if p.kind == "photo":
                return subs
            return [{"type": "album", "subattachments": {"data": subs}}]
        if p.kind == "link" and p.link:
            return [{"type": "share", "url": p.link, "unshimmed_url": p.link}]
        if p.kind == "video" and p.video_id:
            return [{"type": "video_inline", "target": {"id": p.video_id}}]
        return []

    def _photo_fields(self, ph: _Photo, fields: str | None) -> dict[str, Any]:
        page = self._pages[ph.page_id]
        out: dict[str, Any] = {}
        for field in parse_fields(fields or "created_time,id"):
            name = field.name
            if name == "id":
                out["id"] = ph.id
            elif name in ("created_time", "updated_time"):
                out[name] = graph_time(ph.created_at)
            elif name in ("name", "caption"):
                if ph.caption:
                    out[name] = ph.caption
            elif name == "alt_text_custom":
                if ph.alt_text_custom:
                    out["alt_text_custom"] = ph.alt_text_custom
            elif name == "link":
                out["link"] = f"https://www.facebook.com/{page.username}/photos/{ph.id}/"
            elif name == "page_story_id":
                if ph.post_id:
                    out["page_story_id"] = ph.post_id
            elif name in ("width", "height"):
                out[name] = getattr(ph, name)
            else:
                raise no_field(name, "Photo")
        out.setdefault("id", ph.id)
        return out

    def _video_state(self, v: _Video) -> dict[str, Any]:
        now = self.clock.time()
        # Meta reports the upload complete once every byte is in, finished or not: such a
        # video stays idle (upload_complete, processing not_started) until its finish.
        done = v.finished_at is not None or len(v.received) >= v.size
        uploading = "complete" if done else "in_progress"
        if v.error:
            processing: dict[str, Any] = {
                "status": "error",
                "errors": [{"code": 1363008, "message": v.error}],
            }
            state = "error"
        elif v.finished_at is None:
            processing, state = (
                {"status": "not_started"},
                "upload_complete" if len(v.received) >= v.size else "uploading",
            )
        elif now < v.finished_at + self.video_processing:
            processing, state = {"status": "in_progress"}, "processing"
        else:
            processing, state = {"status": "complete"}, "ready"
        publishing = (
            {"status": "complete", "publish_status": "published"}
            if state == "ready"
            else {"status": "not_started"}
        )
        return {
            "video_status": state,
            "uploading_phase": {"status": uploading, "bytes_transferred": len(v.received)},
            "processing_phase": processing,
            "publishing_phase": publishing,
        }

    def _video_fields(self, v: _Video, fields: str | None) -> dict[str, Any]:
        out: dict[str, Any] = {}
        state = self._video_state(v)
        for field in parse_fields(fields or "description,updated_time,id"):
            name = field.name
            if name == "id":
                out["id"] = v.id
            elif name == "status":
                out["status"] = state
            elif name == "post_id":
                if state["video_status"] == "ready" and v.post_id:
                    out["post_id"] = v.post_id
            elif name == "description":
                if v.description:
                    out["description"] = v.description
            elif name in ("updated_time", "created_time"):
                out[name] = graph_time(v.created_at)
            elif name == "permalink_url":
                out["permalink_url"] = f"/{self._pages[v.page_id].username}/videos/{v.id}/"
            else:
                raise no_field(name, "Video")
        out.setdefault("id", v.id)
        return out

    def _insights(self, node: str, metric: str | None, page: bool) -> dict[str, Any]:
        names = [m.strip() for m in (metric or "").split(",") if m.strip()]
        if not names:
            raise GraphError(
                400,
                3001,
                "Invalid query",
                subcode=1504028,
                user_title="No Metric Specified",
                user_msg="No metric was specified to be fetched. Please specify one or more "
                "metrics to be fetched and try again.",
            )
        known = PAGE_METRICS if page else POST_METRICS
        for name in names:
            if name in RETIRED_METRICS or name not in known:
                raise GraphError(400, 100, _INVALID_METRIC)
        data = [
            insight(
                node,
                name,
                self._page_metric(node, name) if page else self._post_metric(node, name),
                period="day" if page else "lifetime",
                title=name.replace("_", " ").capitalize(),
                description=f"Lifetime: {name.replace('_', ' ')}",
            )
            for name in names
        ]
        return {"data": data}

    def _post_metric(self, post_id: str, name: str) -> Any:
        counts = self._counts(self._posts[post_id])
        if name == "post_media_view":
            return counts["views"]
        if name == "post_total_media_view_unique":
            return counts["viewers"]
        if name == "post_clicks":
            return counts["link clicks"] + counts["other clicks"] + counts["photo view"]
        if name == "post_clicks_by_type":
            by_type = {
                "other clicks": counts["other clicks"],
                "link clicks": counts["link clicks"],
                "photo view": counts["photo view"],
            }
            return {k: v for k, v in by_type.items() if v}
        if name == "post_reactions_by_type_total":
            total = counts["reactions"]
            return {"like": total - total // 5, "love": total // 5} if total else {}
        if name == "post_video_views":
            return counts["views"] // 3 if self._posts[post_id].kind == "video" else 0
        return 0

    def _page_metric(self, page_id: str, name: str) -> Any:
        posts = [p for p in self._live() if p.page_id == page_id]
        views = sum(self._counts(p)["views"] for p in posts)
        if name == "page_media_view":
            return views
        if name == "page_total_media_view_unique":
            return sum(self._counts(p)["viewers"] for p in posts)
        if name == "page_post_engagements":
            return sum(self._counts(p)["reactions"] + self._counts(p)["comments"] for p in posts)
        page = self._pages[page_id]
        if name == "page_follows":
            return page.followers_at(self.clock.time())
        return int(page.followers_per_day)

    @route("GET", rf"/{VERSION}/{NODE}")
    @graph_api()
    def _get_node(
        self, request: httpx.Request, token: Token, params: dict[str, Any], node: str, **_: Any
    ) -> httpx.Response:
        fields = params.get("fields")
        if node in self._pages:
            return self.json(
                self._page_fields(self._page_for(token, node, write=False), token, fields)
            )
        post = self._posts.get(node)
        if (
            post is not None
            and post.deleted_at is None
            and self._owned(token, post.page_id)
            and post.visible_at <= self.clock.time()
        ):
            return self.json(self._post_fields(post, fields))
        photo = self._photos.get(node)
        if photo is not None and not photo.deleted and self._owned(token, photo.page_id):
            return self.json(self._photo_fields(photo, fields))
        video = self._videos.get(node)
        if video is not None and not video.deleted and self._owned(token, video.page_id):
            return self.json(self._video_fields(video, fields))
        if self._own_user(token, node):
            return self.json(self._user_fields(node, fields))
        comment = self._seen_comment(token, node, "get")
        return self.json(self.comment_fields(comment, fields))

    @route("DELETE", rf"/{VERSION}/{NODE}")
    @graph_api()
    def _delete_node(
        self, request: httpx.Request, token: Token, params: dict[str, Any], node: str, **_: Any
    ) -> httpx.Response:
        now = self.clock.time()
        comment = self.live_comment(node)
        if comment is not None:
            # The Page may delete any comment on its posts (pages_manage_engagement).
            self._seen_comment(token, node, "delete", write=True).deleted_at = now
            return self.json({"success": True})
        post = self._posts.get(node)
        if post is not None and post.deleted_at is None and token.owner == post.page_id:
            post.deleted_at = now
            for photo_id in post.photo_ids:
                self._photos[photo_id].deleted = True
            return self.json({"success": True})
        photo = self._photos.get(node)
        if photo is not None and not photo.deleted and token.owner == photo.page_id:
            photo.deleted = True
            if photo.post_id and self._posts[photo.post_id].kind == "photo":
                self._posts[photo.post_id].deleted_at = now
            return self.json({"success": True})
        video = self._videos.get(node)
        if video is not None and not video.deleted and token.owner == video.page_id:
            video.deleted = True
            if video.post_id:
                self._posts[video.post_id].deleted_at = now
            return self.json({"success": True})
        raise self.unsupported("delete", node)

    @route("GET", rf"/{VERSION}/{NODE}/insights")
    @graph_api()
    def _get_insights(
        self, request: httpx.Request, token: Token, params: dict[str, Any], node: str, **_: Any
    ) -> httpx.Response:
        if node in self._pages:
            self._page_for(token, node, write=False)
            return self.json(self._insights(node, params.get("metric"), True))
        post = self._posts.get(node)
        if post is None or post.deleted_at is not None or not self._owned(token, post.page_id):
            raise self.unsupported("get", node)
        return self.json(self._insights(node, params.get("metric"), False))

    # -- Facebook Login ----------------------------------------------------------------------

    def consenting_owner(self) -> str:
        # The consenting user administers one Page (made with them), so that /me/accounts
        # has a Page token to hand out after the login.
        for user_id, user_name in self._users.items():
            if user_name == self.consent_as:
                return user_id
        user_id = self.new_id()
        self._users[user_id] = self.consent_as
        page_id = self.new_id()
        self._pages[page_id] = _Page(
            id=page_id,
            name="Brandkit Connected Page",
            username=f"brandkitpage{len(self._pages) + 1}",
            created_at=self.clock.time(),
            followers=0,
            followers_per_day=0.0,
            user_id=user_id,
        )
        return user_id

    @route("GET", rf"/{VERSION}/dialog/oauth")
    def _dialog_oauth(self, request: httpx.Request, version: str) -> httpx.Response:
        return self.authorize_answer(request)

    @route("GET", rf"/{VERSION}/oauth/access_token")
    def _oauth_access_token(self, request: httpx.Request, version: str) -> httpx.Response:
        # The code exchange and the long-lived exchange share the endpoint (Facebook Login).
        params, _ = self.params(request)
        if params.get("grant_type") != "fb_exchange_token":
            owner, scopes = self.redeem_grant(params)
            return self.token_answer(owner, "user", SHORT_TOKEN_TTL, scopes)
        self.app_for(params)
        short = self.check_token(str(params.get("fb_exchange_token", "")))
        if short.kind != "user":
            raise GraphError(400, 190, "Invalid OAuth access token - Cannot parse access token")
        return self.token_answer(short.owner, "user", LONG_TOKEN_TTL, short.scopes)

    # -- the user, /me/permissions and /me/accounts -----------------------------------------

    always_granted: ClassVar[tuple[str, ...]] = ("public_profile",)
    declines_stick: ClassVar[bool] = True

    @route("GET", rf"/{VERSION}/(?P<user_id>[0-9]+)/permissions")
    @graph_api()
    def _get_permissions(
        self, request: httpx.Request, token: Token, params: dict[str, Any], user_id: str, **_: Any
    ) -> httpx.Response:
        # What the user granted and declined at the login dialog (a user's edge only).
        if user_id in self._pages:
            raise no_field("permissions", "Page")
        if not self._own_user(token, user_id):
            raise self.unsupported("get", user_id)
        return self.json({"data": self.permissions_of(token)})

    def _user_fields(self, user_id: str, fields: str | None) -> dict[str, Any]:
        getters: dict[str, Callable[[Field], Any]] = {
            "id": lambda f: user_id,
            "name": lambda f: self._users[user_id],
        }
        return render_fields(fields, "name,id", getters, "User", user_id)

    @route("GET", rf"/{VERSION}/(?P<user_id>[0-9]+)/accounts")
    @graph_api()
    def _get_accounts(
        self, request: httpx.Request, token: Token, params: dict[str, Any], user_id: str, **_: Any
    ) -> httpx.Response:
        # The Pages a user administers, each with a Page token: how apps get Page tokens.
        if not self._own_user(token, user_id):
            if token.kind == "page":
                raise no_field("accounts", "Page")
            raise self.unsupported("get", user_id)
        fields = params.get("fields") or "access_token,category,category_list,name,id,tasks"
        pages = [p for p in self._pages.values() if p.user_id == user_id]
        items = [self._page_fields(p, token, fields) for p in pages]
        out = self.page_of(request, items, params)
        if truthy(params.get("summary")):
            out["summary"] = {"total_count": len(items)}
        return self.json(out)

    # -- comments --------------------------------------------------------------------------

    def audience_write(
        self,
        member: Audience,
        kind: str,
        text: str,
        *,
        target: str | None = None,
        lang: str | None = None,
    ) -> str:
        """A comment by ``member`` (see `GraphEmulator.audience_write`), or with ``kind``
        ``"post"`` a visitor post: a post ``member`` writes on the Page ``target`` (the
        emulator's only Page when ``None``), listed by ``/{page-id}/feed`` but not by
        ``/posts`` or ``/published_posts``; returns its id. A ``"mention"`` is the visitor
        post too, the way a person addresses a Page on Facebook (the inbox reads it as
        one), on the Page made last.

        Raises:
            KeyError: ``target`` is no Page (or, without it, the emulator has not one
                Page), or no live post or comment for a comment.
            NotImplementedError: a quote.
        """
        if kind not in ("post", "mention"):
            return super().audience_write(member, kind, text, target=target, lang=lang)
        with self.lock:
            if target is None and kind == "mention" and self._pages:
                target = list(self._pages)[-1]
            if target is None:
                if len(self._pages) != 1:
                    raise KeyError(f"a visitor post needs its Page among {sorted(self._pages)}")
                (target,) = self._pages
            if target not in self._pages:
                raise KeyError(target)
            person = self._people.setdefault(member.name, self.new_id())
            post = _Post(
                id=f"{target}_{self.new_id()}",
                page_id=target,
                message=text,
                link=None,
                created_at=self.clock.time(),
                kind="status",
                origin="",
                visitor=(person, member.name),
            )
            self._posts[post.id] = post
            return post.id

    def comment_owner(self, object_id: str) -> str | None:
        post = self._posts.get(object_id)
        if post is None or post.deleted_at is not None or post.visible_at > self.clock.time():
            return None
        return post.page_id

    def comment_id(self, object_id: str) -> str:
        # Facebook's comment ids are "{post}_{comment}" (the post part without the Page's).
        return f"{object_id.rsplit('_', 1)[-1]}_{self.new_id()}"

    def _seen_comment(self, token: Token, node: str, verb: str, *, write: bool = False) -> Comment:
        """A live comment the token's Page (or its admin, for reading) may see or change."""
        comment = self.live_comment(node)
        page_id = self.comment_owner(comment.on) if comment is not None else None
        if comment is None or page_id is None:
            raise self.unsupported(verb, node)
        if write:
            self._page_for(token, page_id, write=True)
        elif not self._owned(token, page_id):
            raise self.unsupported(verb, node)
        return comment

    def comment_getters(self, c: Comment) -> NodeFields:
        page = self._pages[self._posts[c.on].page_id]
        # Looked up only when asked: most reads of a comment ask for none of its replies.
        replies = functools.cache(lambda: self.thread(c.on, c.id))
        permalink = (
            f"https://www.facebook.com/{page.username}/posts/{c.on.split('_', 1)[-1]}/"
            f"?comment_id={c.id.rsplit('_', 1)[-1]}"
        )
        getters: dict[str, Callable[[Field], Any]] = {
            "id": lambda f: c.id,
            "message": lambda f: c.text,
            "created_time": lambda f: graph_time(c.created_at),
            "from": lambda f: {"name": c.author_name, "id": c.author_id},
            "is_hidden": lambda f: c.hidden,
            "like_count": lambda f: int(c.liked),
            "user_likes": lambda f: c.liked,
            "comment_count": lambda f: len(replies()),
            "parent": lambda f: (
                self.comment_fields(self._comments[c.parent], f.subfields)
                if c.parent is not None
                else OMIT
            ),
            "object": lambda f: {"id": c.on},
            "permalink_url": lambda f: permalink,
            # The Page cannot hide its own comments; replies take no replies of their own.
            "can_hide": lambda f: not c.by_owner,
            "can_remove": lambda f: True,
            "can_like": lambda f: True,
            "can_comment": lambda f: c.parent is None,
            # A Page answers a comment in private (Messenger) within 7 days of it.
            "can_reply_privately": lambda f: self.private_refusal(c) is None,
            "is_private": lambda f: False,
            # Fields of the Comment node that Graph leaves out when they have no value (a
            # comment without a photo, tags, a private reply or a live broadcast).
            "attachment": lambda f: OMIT,
            "message_tags": lambda f: OMIT,
            "private_reply_conversation": lambda f: OMIT,
            "live_broadcast_timestamp": lambda f: OMIT,
            "application": lambda f: OMIT,
            "admin_creator": lambda f: OMIT,
            # The replies, paged like any edge expanded in fields; left out when none.
            "comments": lambda f: (
                self.comment_edge(c.id, "comments", replies(), f) if replies() else OMIT
            ),
        }
        return NodeFields(getters, "created_time,from,message,id", "Comment")

    @route("GET", rf"/{VERSION}/{NODE}/comments")
    @graph_api()
    def _get_comments(
        self, request: httpx.Request, token: Token, params: dict[str, Any], node: str, **_: Any
    ) -> httpx.Response:
        stream, reverse = _comment_order(params)
        order = params.get("order", "chronological")
        owner = self.comment_owner(node)
        if owner is not None:
            if not self._owned(token, owner):
                raise self.unsupported("get", node)
            items = self.thread(node, None, stream=stream, newest_first=reverse)
        else:
            parent = self._seen_comment(token, node, "get")
            items = self.thread(parent.on, parent.id, newest_first=reverse)
        out = self.comments_page(request, items, params)
        if truthy(params.get("summary")):
            out["summary"] = {
                "order": order,
                "total_count": len(items),
                "can_comment": True,
            }
        return self.json(out)

    @route("POST", rf"/{VERSION}/{NODE}/comments")
    @graph_api()
    def _post_comment(
        self, request: httpx.Request, token: Token, params: dict[str, Any], node: str, **_: Any
    ) -> httpx.Response:
        owner = self.comment_owner(node)
        parent: Comment | None = None
        if owner is None:
            parent = self._seen_comment(token, node, "post", write=True)
            owner = self._posts[parent.on].page_id
            parent = self.answer_target(parent)
        page = self._page_for(token, owner, write=True)
        message = str(params.get("message") or "")
        if not message and not params.get("attachment_url") and not params.get("attachment_id"):
            raise GraphError(400, 100, "(#100) Missing message or attachment")
        if len(message) > 8000:
            raise GraphError(
                400,
                100,
                f"(#100) The comment is too long: {len(message)} characters, the most is 8000",
            )
        on = parent.on if parent is not None else node
        comment = self.store_comment(
            on, parent.id if parent else None, page.id, page.name, message, by_owner=True
        )
        fields = params.get("fields")
        if fields:
            return self.json(self.comment_fields(comment, str(fields)))
        return self.json({"id": comment.id})

    @route("POST", rf"/{VERSION}/(?P<page_id>[0-9]+)/messages")
    @graph_api()
    def _send_message(
        self, request: httpx.Request, token: Token, params: dict[str, Any], page_id: str, **_: Any
    ) -> httpx.Response:
        # Private replies (Messenger Platform's "Private Replies").
        self._page_for(token, page_id, write=True)
        return self.json(self.send_private_reply(page_id, params))

    @route("POST", rf"/{VERSION}/{NODE}/likes")
    @route("DELETE", rf"/{VERSION}/{NODE}/likes")
    @graph_api()
    def _like(
        self, request: httpx.Request, token: Token, params: dict[str, Any], node: str, **_: Any
    ) -> httpx.Response:
        # The Page likes (or unlikes) a comment on its posts; liking twice changes nothing.
        comment = self._seen_comment(token, node, request.method.lower(), write=True)
        comment.liked = request.method == "POST"
        return self.json({"success": True})

    @route("POST", rf"/{VERSION}/{NODE}")
    @graph_api()
    def _update_node(
        self, request: httpx.Request, token: Token, params: dict[str, Any], node: str, **_: Any
    ) -> httpx.Response:
        # Only comments are changed in place here: hidden (is_hidden) or edited (message).
        comment = self._seen_comment(token, node, "post", write=True)
        if "is_hidden" not in params and "message" not in params:
            raise GraphError(400, 100, "(#100) Nothing to update: give is_hidden or message")
        if "is_hidden" in params:
            if comment.by_owner:
                raise GraphError(
                    400, 100, "(#100) The Page cannot hide its own comment", subcode=1446036
                )
            comment.hidden = truthy(params["is_hidden"])
        if params.get("message"):
            if not comment.by_owner:
                raise GraphError(400, 200, "(#200) Only the author can edit a comment")
            comment.text = str(params["message"])
        return self.json({"success": True})

    # -- publishing ------------------------------------------------------------------------

    def _new_post(
        self,
        request: httpx.Request,
        page_id: str,
        message: str,
        *,
        kind: str,
        link: str | None = None,
        photo_ids: list[str] | None = None,
        video_id: str | None = None,
        visible_at: float = 0.0,
    ) -> _Post:
        now = self.clock.time()
        if len(message) > self.max_message:
            raise GraphError(
                400,
                100,
                f"(#100) The message is too long: {len(message)} characters, the most is "
                f"{self.max_message}",
            )
        if self.duplicate_window and message:
            recent = [
                p
                for p in self._posts.values()
                if p.page_id == page_id
                and p.deleted_at is None
                and now - p.created_at < self.duplicate_window
            ]
            if recent and max(recent, key=lambda p: p.created_at).message == message:
                raise GraphError(400, 506, "(#506) Duplicate status message")
        post = _Post(
            id=f"{page_id}_{self.new_id()}",
            page_id=page_id,
            message=message,
            link=link,
            created_at=now,
            kind=kind,
            origin=self.origin(request),
            photo_ids=photo_ids or [],
            video_id=video_id,
            visible_at=visible_at,
        )
        self._posts[post.id] = post
        return post

    @route("POST", rf"/{VERSION}/(?P<page_id>[0-9]+)/feed")
    @graph_api()
    def _post_feed(
        self,
        request: httpx.Request,
        token: Token,
        params: dict[str, Any],
        page_id: str,
        **_: Any,
    ) -> httpx.Response:
        self._publishing_page(token, page_id)
        message = str(params.get("message") or "")
        link = params.get("link") or None
        attached = _attached_media(params)
        if not message and not link and not attached:
            raise GraphError(400, 100, "(#100) Missing message or attachment")
        if link is not None and not str(link).startswith(("http://", "https://")):
            raise GraphError(400, 100, "(#100) The parameter link must be a valid URL")
        photos: list[_Photo] = []
        for i, media_id in enumerate(attached):
            photo = self._photos.get(media_id)
            if (
                photo is None
                or photo.page_id != page_id
                or photo.published
                or photo.post_id is not None
                or photo.deleted
            ):
                raise GraphError(
                    400,
                    100,
                    f"(#100) param attached_media[{i}] must be a valid unpublished photo of this "
                    "Page",
                )
            photos.append(photo)
        if not truthy(params.get("published"), True):
            raise GraphError(
                400, 100, "(#100) The emulator publishes feed posts at once (published=true)"
            )
        kind = "album" if photos else ("link" if link else "status")
        post = self._new_post(
            request,
            page_id,
            message,
            kind=kind,
            link=str(link) if link else None,
            photo_ids=[p.id for p in photos],
        )
        for photo in photos:
            photo.post_id = post.id
        return self.json({"id": post.id})

    @route("POST", rf"/{VERSION}/(?P<page_id>[0-9]+)/photos")
    @graph_api()
    def _post_photo(
        self,
        request: httpx.Request,
        token: Token,
        params: dict[str, Any],
        files: dict[str, tuple[str, str, bytes]],
        page_id: str,
        **_: Any,
    ) -> httpx.Response:
        self._publishing_page(token, page_id)
        if "source" in files:
            data = files["source"][2]
        elif params.get("url"):
            try:
                data, _type = fetch_media(str(params["url"]), max_bytes=10 * MB)
            except FetchFailed as exc:
                raise GraphError(400, 324, f"(#324) Missing or invalid image file: {exc}") from None
        else:
            raise GraphError(400, 324, "(#324) Requires upload file")
        found = sniff(data[:64])
        if found is None or (found[0] not in PHOTO_TYPES and not data.startswith(b"BM")):
            raise GraphError(400, 324, "(#324) Missing or invalid image file")
        if len(data) > 10 * MB:
            raise GraphError(
                400,
                100,
                "(#100) The photo is larger than the 10 MB Facebook accepts",
                user_title="Photo too large",
                user_msg="Photos must be smaller than 10 MB.",
            )
        mime = found[0] if found else "image/bmp"
        dims = image_size(mime, data)
        published = truthy(params.get("published"), True)
        caption = str(params.get("caption") or params.get("message") or "")
        photo = _Photo(
            id=self.new_id(),
            page_id=page_id,
            published=published,
            caption=caption,
            mime_type=mime,
            size=len(data),
            width=dims[0] if dims else None,
            height=dims[1] if dims else None,
            alt_text_custom=str(params["alt_text_custom"])
            if params.get("alt_text_custom")
            else None,
            created_at=self.clock.time(),
        )
        if not published:
            self._photos[photo.id] = photo
            return self.json({"id": photo.id})
        post = self._new_post(request, page_id, caption, kind="photo", photo_ids=[photo.id])
        self._photos[photo.id] = photo
        photo.post_id = post.id
        return self.json({"id": photo.id, "post_id": post.id})

    @route("POST", rf"/{VERSION}/(?P<page_id>[0-9]+)/videos")
    @graph_api()
    def _post_video(
        self,
        request: httpx.Request,
        token: Token,
        params: dict[str, Any],
        files: dict[str, tuple[str, str, bytes]],
        page_id: str,
        **_: Any,
    ) -> httpx.Response:
        self._publishing_page(token, page_id)
        phase = params.get("upload_phase")
        now = self.clock.time()
        if phase is None:
            if "source" not in files:
                raise GraphError(400, 100, "(#100) Requires upload file or upload_phase")
            data = files["source"][2]
            video = _Video(self.new_id(), page_id, self.new_id(), len(data), bytearray(data), now)
            self._videos[video.id] = video
            self._finish_video(request, video, str(params.get("description") or ""))
            return self.json({"id": video.id})
        if phase == "start":
            try:
                size = int(params.get("file_size") or 0)
            except ValueError:
                size = 0
            if size <= 0:
                raise GraphError(400, 100, "(#100) The parameter file_size is required")
            video = _Video(self.new_id(), page_id, self.new_id(), size, bytearray(), now)
            self._videos[video.id] = video
            return self.json(
                {
                    "video_id": video.id,
                    "upload_session_id": video.session,
                    "start_offset": "0",
                    "end_offset": str(min(VIDEO_CHUNK, size)),
                }
            )
        video = self._session(page_id, str(params.get("upload_session_id") or ""))
        if phase == "transfer":
            chunk = files.get("video_file_chunk")
            if chunk is None:
                raise GraphError(400, 100, "(#100) Requires video_file_chunk")
            raw_offset = str(params.get("start_offset") or "")
            if not raw_offset.isascii() or not raw_offset.isdigit():
                raise GraphError(
                    400, 100, "(#100) Param start_offset must be a non-negative integer"
                )
            offset = int(raw_offset)
            if offset + len(chunk[2]) > video.size:
                raise GraphError(
                    400,
                    100,
                    f"(#100) The video_file_chunk runs past the file_size of {video.size} "
                    "bytes given at the start of the upload",
                )
            if offset != len(video.received):
                if offset + len(chunk[2]) <= len(video.received):
                    pass  # a repeated chunk: already have it
                else:
                    raise GraphError(
                        400,
                        6001,
                        "There was a problem uploading your video. Please try again.",
                        subcode=1363037,
                        user_title="Start offset mismatch",
                        user_msg=f"The start offset {offset} does not match the "
                        f"{len(video.received)} bytes received.",
                    )
            else:
                video.received.extend(chunk[2])
            got = len(video.received)
            return self.json(
                {"start_offset": str(got), "end_offset": str(min(got + VIDEO_CHUNK, video.size))}
            )
        if phase == "finish":
            if len(video.received) < video.size:
                raise GraphError(
                    400,
                    6001,
                    "There was a problem uploading your video. Please try again.",
                    subcode=1363019,
                    user_title="Upload incomplete",
                    user_msg=f"{len(video.received)} of {video.size} bytes were received.",
                )
            if video.finished_at is None:
                self._finish_video(request, video, str(params.get("description") or ""))
            return self.json({"success": True})
        raise GraphError(400, 100, f"(#100) Invalid upload_phase {phase!r}")

    def _session(self, page_id: str, session: str) -> _Video:
        for video in self._videos.values():
            if video.session == session and video.page_id == page_id and not video.deleted:
                return video
        raise GraphError(400, 100, "(#100) Invalid upload_session_id", subcode=1363001)

    def _finish_video(self, request: httpx.Request, video: _Video, description: str) -> None:
        now = self.clock.time()
        video.finished_at = now
        video.description = description
        found = sniff(bytes(video.received[:64]))
        if found is None or found[1] != "video":
            video.error = "The video file you selected is in a format that we don't support."
            return
        post = self._new_post(
            request,
            video.page_id,
            description,
            kind="video",
            video_id=video.id,
            visible_at=now + self.video_processing,
        )
        video.post_id = post.id

    # -- reading back ----------------------------------------------------------------------

    @route("GET", rf"/{VERSION}/(?P<page_id>[0-9]+)/(?P<edge>published_posts|posts|feed)")
    @graph_api()
    def _get_posts(
        self,
        request: httpx.Request,
        token: Token,
        params: dict[str, Any],
        page_id: str,
        edge: str,
        **_: Any,
    ) -> httpx.Response:
        self._page_for(token, page_id, write=False)
        # /feed also holds the posts visitors wrote on the Page; /posts and
        # /published_posts hold the Page's own only (Meta's Page Feed reference).
        posts = [p for p in self._live(visitors=edge == "feed") if p.page_id == page_id]
        return self.listing(request, params, posts, self._post_fields)


def _edge_summary(name: str, total: int, modifiers: dict[str, str] | Any) -> dict[str, Any]:
    out: dict[str, Any] = {"data": []}
    if "summary" in modifiers and str(modifiers["summary"]).strip().lower() not in ("false", "0"):
        summary: dict[str, Any] = {"total_count": total}
        if name == "comments":
            summary.update(order="ranked", can_comment=True)
        else:
            summary["viewer_reaction"] = "NONE"
        out["summary"] = summary
    return out


def _comment_order(params: Any) -> tuple[bool, bool]:
    """``filter`` and ``order`` of a comments edge (parameters or modifiers): whether every
    level is wanted (``stream``) and whether newest first.

    Raises:
        GraphError: a value Meta does not know (code 100).
    """
    filt = params.get("filter", "toplevel")
    if filt not in ("toplevel", "stream"):
        raise GraphError(
            400, 100, "(#100) filter must be one of the following values: toplevel, stream"
        )
    order = params.get("order", "chronological")
    if order not in ("chronological", "reverse_chronological", "ranked"):
        raise GraphError(
            400,
            100,
            "(#100) order must be one of the following values: chronological, "
            "reverse_chronological, ranked",
        )
    return filt == "stream", order == "reverse_chronological"


def _attached_media(params: dict[str, Any]) -> list[str]:
    import json

    raw = params.get("attached_media")
    items: list[Any] = []
    if isinstance(raw, str) and raw:
        try:
            items = json.loads(raw)
        except ValueError:
            raise GraphError(400, 100, "(#100) param attached_media must be an array") from None
    elif isinstance(raw, list):
        items = raw
    else:
        indexed = sorted(
            (int(k[len("attached_media[") : -1]), v)
            for k, v in params.items()
            if k.startswith("attached_media[") and k.endswith("]") and k[15:-1].isdigit()
        )
        for _, value in indexed:
            try:
                items.append(json.loads(value) if isinstance(value, str) else value)
            except ValueError:
                raise GraphError(400, 100, "(#100) param attached_media must be JSON") from None
    out = []
    for item in items:
        if not isinstance(item, dict) or not item.get("media_fbid"):
            raise GraphError(400, 100, "(#100) attached_media items need a media_fbid")
        out.append(str(item["media_fbid"]))
    if len(out) > 100:
        raise GraphError(400, 100, "(#100) Too many attached_media")
    return out
