"""A faithful, stateful Threads account (Meta Threads API) for tests.

```python
from brandkit import Client, Post
from brandkit.testing.threads import ThreadsEmulator

emu = ThreadsEmulator()
with emu.serve():
    account = emu.account()
    with Client() as client:
        (delivery,) = client.publish(Post(text="Hello"), account)
    assert emu.post_texts() == ["Hello"]
```

What it answers like the Threads API (``platforms.md`` §7; Meta publishes no recordings, so
the emulator follows the reference field by field):

- ``POST /v1.0/{user-id}/threads`` makes a container (``TEXT``, ``IMAGE``, ``VIDEO``,
  ``CAROUSEL`` of 2-20 ``is_carousel_item`` children; ``text``, ``reply_to_id``,
  ``alt_text``, ``link_attachment``, ``reply_control``, ``quote_post_id``). Text is checked
  as Threads counts it: 500 characters,
  each emoji its UTF-8 bytes, at most 5 distinct links (``THREADS_API__LINK_LIMIT_EXCEEDED``).
  Media is downloaded for real from ``image_url``/``video_url`` (127.0.0.1 only, see
  `LoopbackMediaHost`) and processed for ``image_processing`` /
  ``video_processing`` seconds of the emulator clock; a failure ends the container in
  ``ERROR`` with an ``error_message`` such as ``FAILED_DOWNLOADING_VIDEO`` or ``UNKNOWN``.
- ``GET /{container}?fields=status,error_message``, ``POST /{user-id}/threads_publish``
  (once per container), ``GET /{user-id}/threads_publishing_limit`` (250 posts, 1,000 replies,
  100 deletes per 24 h, configurable), ``GET /{user-id}/threads`` and ``/replies``,
  ``GET /{media-id}`` with fields, ``GET /{media-id}/insights``,
  ``GET /{user-id}/threads_insights``, ``DELETE /{media-id}``, ``POST /{media-id}/repost``
  (a ``REPOST_FACADE`` with ``reposted_post`` in the account's ``/threads``).
- ``GET /v1.0/me``: ``id``, ``username``, ``name``, ``threads_profile_picture_url``,
  ``threads_biography``, ``is_verified``. Only ``v1.0`` exists (other versions: code 2500).
- The audience (`brandkit.testing.Emulator.audience`, or `ThreadsEmulator.add_reply`):
  replies at any level and posts that mention an account. ``GET /{media-id}/replies`` (top
  level) and ``/conversation`` (every level) with ``reverse`` (newest first by default),
  ``limit`` (25, at most 100) and ``before``/``after`` cursors tied to an item (replies
  arriving meanwhile shift nothing); ``GET /{user-id}/mentions`` with ``since``/``until``,
  ``limit`` and cursors but no ``next`` link (as Meta's mentions page says);
  ``hide_status`` (``NOT_HUSHED``, ``HIDDEN``, ``UNHUSHED`` once shown again; the states
  Threads sets on its own through `ThreadsEmulator.set_hide_status`), ``is_reply_owned_by_me``,
  ``has_replies``; ``POST /{reply-id}/manage_reply``
  with ``hide`` for top-level replies under the account's posts (the replies under one are
  hidden with it; a nested one is refused). A post's ``reply_control`` holds for the
  audience (`ThreadsEmulator.set_following`, `ThreadsEmulator.set_follower` script follows).
- Listening: ``GET /keyword_search`` over every live post and reply (the audience's
  ``post``, replies and mentions too): ``q`` (required; KEYWORD mode finds posts with every
  word of ``q``, TAG mode posts tagged ``#q`` in their text or whose ``topic_tag`` is ``q``,
  see `set_topic_tag`), ``search_type`` ``TOP`` (the default; most liked first, one page)
  or ``RECENT`` (newest first, cursors and ``next``),
  ``search_mode``, ``media_type``, ``author_username``, ``since``/``until``, ``limit`` (25,
  at most 100) and the ``fields`` of a post (never ``owner``). 2,200 queries per rolling
  24 h per user, those finding nothing free; past that code 17 (the code Meta sends there
  is not documented). Without ``keyword_search_approved`` only the user's own posts.
- Tokens live 60 days; ``GET /refresh_access_token?grant_type=th_refresh_token`` renews one
  that is at least a day old and not expired.
- ``X-App-Usage``; code 4 past the app's budget.
- Views, likes, replies, reposts, quotes, shares and followers grow with the emulator clock.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import attrs
import httpx
import regex

from brandkit.accounts import Account
from brandkit.content._media import sniff
from brandkit.listening._query import _words, fold
from brandkit.testing._emulator import Audience, Clock, route
from brandkit.testing._graph import (
    DAY,
    OMIT,
    Container,
    Field,
    GraphError,
    MediaFetchingEmulator,
    Published,
    Token,
    User,
    graph_api,
    graph_time,
    graph_unix,
    hide_param,
    in_window,
    insight,
    metric_names,
    render_fields,
    shortcode,
    truthy,
)
from brandkit.testing._mediahost import FetchFailed, LoopbackMediaHost, fetch_media

__all__ = ["LoopbackMediaHost", "ThreadsEmulator", "threads_length"]

MB = 1000 * 1000
VERSION = r"(?P<version>v1\.0)"

MEDIA_METRICS = ("views", "likes", "replies", "reposts", "quotes", "shares")
USER_METRICS = ("views", "likes", "replies", "reposts", "quotes", "clicks", "followers_count")

_EMOJI = regex.compile(r"[\p{Extended_Pictographic}\p{Regional_Indicator}\u20E3]")
_LINK = regex.compile(r"https?://[^\s<>\"]+", regex.IGNORECASE)


def threads_length(text: str) -> int:
    """Threads' count: one per code point, except that an emoji (a grapheme cluster holding
    a pictograph, a regional indicator or a keycap) counts its UTF-8 bytes."""
    total = 0
    for cluster in regex.findall(r"\X", text):
        total += len(cluster.encode()) if _EMOJI.search(cluster) else len(cluster)
    return total


_EARLIEST = 1688540400
"""The earliest ``since`` Meta takes on ``/mentions`` (Threads' launch, July 2023)."""


def _since_until(params: Mapping[str, Any]) -> tuple[float | None, float | None]:
    """The ``since``/``until`` of ``/mentions`` and ``/keyword_search``.

    Raises:
        GraphError: not a time, ``since`` before Threads' launch, or not before ``until``
            (code 100).
    """
    since, until = graph_unix(params.get("since")), graph_unix(params.get("until"))
    if since is not None and since < _EARLIEST:
        raise GraphError(400, 100, f"(#100) The since parameter must be at least {_EARLIEST}")
    if since is not None and until is not None and since >= until:
        raise GraphError(400, 100, "(#100) since must be earlier than until")
    return since, until


def _order(p: _Post) -> tuple[float, int]:
    """Where a post stands in Threads' order of posts: by time, then by id."""
    return p.created_at, int(p.id)


def _search_words(text: str) -> list[str]:
    """The words ``/keyword_search`` reads in a text or in ``q``."""
    # Threads' search reads words as a reader does (Meta documents no tokeniser): "brand's"
    # and "l'brand" are the brand, "İ" is the capital of "i", a full-width word is the word,
    # Japanese has no spaces. Read by `Query.matches`' own words (listening), so a search the
    # emulator answers holds what brandkit keeps; read as runs of letters, "brand's" was one
    # word and a post Threads finds was not found.
    return _words(text)


def _links(text: str) -> set[str]:
    return {m.rstrip(".,;:!?)]}'\"") for m in _LINK.findall(text)}


# The reply_control values of a container (Threads' reply controls), read back upper-case
# as the post's reply_audience.
_REPLY_CONTROLS = (
    "everyone",
    "accounts_you_follow",
    "mentioned_only",
    "parent_post_author_only",
    "followers_only",
)
# A post's media_url ends as its media is (a text post has none).
_MEDIA_EXTENSIONS = {"IMAGE": "jpg", "VIDEO": "mp4", "CAROUSEL": "jpg"}


@attrs.define
class _Container(Container):
    reply_to: str | None = None
    link_attachment: str | None = None
    reply_control: str = "everyone"
    quote_of: str | None = None  # the quote_post_id it was made with


@attrs.define
class _Post(Published):
    reply_to: str | None = None
    root: str = ""
    link_attachment: str | None = None
    audience: bool = False  # written by someone else (add_reply), not through the API
    hidden: bool = False  # hidden by the root post's author (manage_reply)
    unhushed: bool = False  # shown again after being hidden (manage_reply hide=false)
    hide_status: str | None = None  # a state Threads sets on its own (set_hide_status)
    topic_tag: str | None = None  # chosen apart from the text (composer or topic_tag param)
    reply_control: str = "everyone"  # who may reply, as the container's reply_control said
    quote_of: str | None = None  # the post it quotes (Meta's Quote Posts page)
    repost_of: str | None = None  # a REPOST_FACADE's reposted post (Meta's Reposts page)


class ThreadsEmulator(MediaFetchingEmulator[_Container, _Post]):
    """Threads accounts in a box (see the module docstring).

    Args:
        clock: the emulator's clock.
        rate_limits: ``{"app": (calls, seconds)}``: the app's budget in a rolling window.
        quota_posts: posts allowed per 24 h (250).
        quota_replies: replies allowed per 24 h (1,000).
        quota_deletes: deletes allowed per 24 h (100).
        text_processing: seconds (emulator clock) a text container takes.
        image_processing: seconds an image container takes.
        video_processing: seconds a video container takes.
        max_image_bytes: the largest image (8 MB).
        max_video_bytes: the largest video (1 GB).
        container_ttl: seconds until an unpublished container expires (24 h).
        engagement_rate: likes per hour a post gathers (times a weight of 1 to 5).
        media_host: the media host `account` gives accounts (default: one the emulator
            starts on 127.0.0.1 and stops when ``serve()`` ends or on `close`).
        keyword_search_quota: ``/keyword_search`` queries a user may send per rolling 24 h
            (2,200; queries that find nothing are not counted).
        keyword_search_approved: whether the app has the ``threads_keyword_search``
            approval (without it a search covers only the user's own posts).
    """

    platform: ClassVar[str] = "threads"
    create_route: ClassVar[tuple[str, str]] = ("POST", r"/v1\.0/\d+/threads_publish")
    id_base: ClassVar[int] = 18_000_000_000_000_000
    token_kind: ClassVar[str] = "threads"
    refresh_grant: ClassVar[str] = "th_refresh_token"
    exchange_grant: ClassVar[str] = "th_exchange_token"
    unsupported_kind: ClassVar[str] = "THApiException"
    unsupported_tail: ClassVar[str] = ""
    version_pattern: ClassVar[str] = r"v1\.0"
    version: str = "v1.0"
    publish_permissions: ClassVar[tuple[str, ...]] = ("threads_content_publish",)
    engagement_kinds: ClassVar[tuple[str, ...]] = (
        "views",
        "likes",
        "replies",
        "reposts",
        "quotes",
        "shares",
    )

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        rate_limits: dict[str, tuple[int, float]] | None = None,
        quota_posts: int = 250,
        quota_replies: int = 1000,
        quota_deletes: int = 100,
        text_processing: float = 0.0,
        image_processing: float = 0.0,
        video_processing: float = 1.0,
        max_image_bytes: int = 8 * MB,
        max_video_bytes: int = 1000 * MB,
        container_ttl: float = DAY,
        engagement_rate: float = 6.0,
        media_host: LoopbackMediaHost | None = None,
        keyword_search_quota: int = 2200,
        keyword_search_approved: bool = True,
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
        self.quota_posts = quota_posts
        self.quota_replies = quota_replies
        self.quota_deletes = quota_deletes
        self.text_processing = text_processing
        self.keyword_search_quota = keyword_search_quota
        self.keyword_search_approved = keyword_search_approved
        # Per user: when each counted keyword_search query was sent.
        self._searches: dict[str, list[float]] = {}
        # (account's user id, audience username) of whom each account follows, and of who
        # follows it, as tests script them (reply_control reads them).
        self._following: set[tuple[str, str]] = set()
        self._followers: set[tuple[str, str]] = set()

    # -- public helpers --------------------------------------------------------------------

    def make_account(
        self, user_id: str, token: str, *, media_host: Any, name: str | None, **kwargs: Any
    ) -> Account:
        return Account.threads(
            user_id=user_id,
            token=token,
            media_host=media_host,
            base_url=self.base_url,
            name=name,
            **kwargs,
        )

    def post_texts(self) -> list[str]:
        """The texts of the accounts' posts (and replies) that exist now, oldest first
        (the audience's replies are in `replies`)."""
        with self.lock:
            return [p.text for p in self.live() if not p.audience and p.repost_of is None]

    def add_reply(self, post_id: str, *, author: str = "audience_member", text: str) -> str:
        """Someone else (``author``, a username) replies to a post or to a reply, as the
        account would see it on ``/replies`` and ``/conversation``; returns the reply's id.

        The post's ``reply_control`` holds, as the app offers no reply to whom it leaves
        out: ``mentioned_only`` lets the usernames its text mentions reply,
        ``parent_post_author_only`` only its author, ``accounts_you_follow`` those its author
        follows (`set_following`), ``followers_only`` those who follow its author
        (`set_follower`).

        Raises:
            KeyError: no live post has that id.
            ValueError: the post's ``reply_control`` does not let ``author`` reply.
        """
        with self.lock:
            parent = self.live_post(post_id)
            if parent is None:
                raise KeyError(post_id)
            self._check_reply_control(parent, author)
            return self._audience_post(author, text, parent).id

    def set_following(
        self, username: str, following: bool = True, *, account: str | None = None
    ) -> None:
        """Make the account (its user id; default: the account made first) follow the
        audience member ``username``, or stop following them: a post of the account's with
        ``reply_control=accounts_you_follow`` takes replies only from those it follows.

        Raises:
            KeyError: no account made yet (or none with that user id).
        """
        self._script_follow(self._following, username, following, account)

    def set_follower(
        self, username: str, follows: bool = True, *, account: str | None = None
    ) -> None:
        """Make the audience member ``username`` follow the account (its user id; default:
        the account made first), or stop: a post with ``reply_control=followers_only`` takes
        replies only from its author's followers.

        Raises:
            KeyError: no account made yet (or none with that user id).
        """
        self._script_follow(self._followers, username, follows, account)

    def _script_follow(
        self, pairs: set[tuple[str, str]], username: str, on: bool, account: str | None
    ) -> None:
        """Add (or remove) the pair of ``account`` (see `_reply_account`) and ``username``
        to ``pairs``, the follows `set_following` and `set_follower` script.

        Raises:
            KeyError: no account made yet (or none with that user id).
        """
        with self.lock:
            pair = (self._reply_account(account), username)
            if on:
                pairs.add(pair)
            else:
                pairs.discard(pair)

    def _reply_account(self, account: str | None) -> str:
        brands = self._brand_users()
        if account is None:
            if not brands:
                raise KeyError("no account yet: make one with emu.account()")
            return brands[0].id
        if account not in {u.id for u in brands}:
            raise KeyError(f"no account with user id {account!r}")
        return account

    def _check_reply_control(self, parent: _Post, author: str) -> None:
        """Refuse a reply by ``author`` that ``parent``'s reply_control leaves out."""
        owner = self._users[parent.owner]
        control = parent.reply_control
        if control == "everyone" or owner.username == author:
            return
        allowed = {
            "mentioned_only": self._mentions(parent.text, author),
            "parent_post_author_only": False,
            "accounts_you_follow": (owner.id, author) in self._following,
            "followers_only": (owner.id, author) in self._followers,
        }[control]
        if not allowed:
            who = {
                "mentioned_only": "the accounts it mentions",
                "parent_post_author_only": "its author",
                "accounts_you_follow": "the accounts its author follows (emu.set_following)",
                "followers_only": "its author's followers (emu.set_follower)",
            }[control]
            raise ValueError(
                f"{author} cannot reply to {parent.id}: its reply_control is {control}, "
                f"so Threads lets only {who} reply"
            )

    def audience_write(
        self,
        member: Audience,
        kind: str,
        text: str,
        *,
        target: str | None = None,
        lang: str | None = None,
    ) -> str:
        """What ``member`` writes on Threads: a ``"reply"`` to a post or reply (the account's
        or anyone's), a ``"mention"`` (a post naming the account: ``@username`` is added when
        ``text`` names none of the accounts; the first account is named) or a ``"post"``.

        Raises:
            NotImplementedError: ``"comment"`` or ``"quote"`` (Threads has replies, and no
                API read of quotes).
            KeyError: ``target`` is no live post.
        """
        if kind == "reply":
            return self.add_reply(str(target), author=member.name, text=text)
        if kind in ("mention", "post"):
            with self.lock:
                if kind == "mention" and not any(
                    self._mentions(text, u.username) for u in self._brand_users()
                ):
                    brands = self._brand_users()
                    if not brands:
                        raise KeyError("no account to mention: make one with emu.account()")
                    text = f"@{brands[0].username} {text}"
                return self._audience_post(member.name, text, None).id
        raise NotImplementedError(
            f"Threads has no {kind}s the API reads: the audience can reply, mention or post"
        )

    def set_topic_tag(self, post_id: str, tag: str) -> None:
        """Give a post the topic tag ``tag`` apart from its text, as Threads' composer (or the
        ``topic_tag`` parameter) does: a TAG search finds it by that tag, and the
        ``topic_tag`` field shows it, though ``text`` does not hold ``#tag``.

        Raises:
            KeyError: no live post has that id.
            ValueError: a tag Threads refuses (empty, over 50 characters, ``.`` or ``&``).
        """
        if not tag or len(tag) > 50 or "." in tag or "&" in tag:
            raise ValueError(f"{tag!r} is not a Threads topic tag (1-50 characters, no . or &)")
        with self.lock:
            post = self.live_post(post_id)
            if post is None:
                raise KeyError(post_id)
            post.topic_tag = tag

    def set_hide_status(self, message_id: str, status: str | None) -> None:
        """Have Threads report ``status`` as the reply's ``hide_status``, a state it sets on
        its own rather than through ``manage_reply``: ``COVERED``, ``BLOCKED`` or
        ``RESTRICTED`` (Meta lists them without saying more), or any word a test needs to
        stand for a state Meta adds later; ``None`` goes back to what hiding says. A reply
        the brand hid still reads ``HIDDEN``.

        Raises:
            KeyError: no live reply has that id.
            ValueError: ``status`` is not an upper-case word (``A-Z`` and ``_``).
        """
        if status is not None and re.fullmatch(r"[A-Z_]{1,40}", status) is None:
            raise ValueError(f"{status!r} is not a hide_status (upper-case letters and _)")
        with self.lock:
            post = self.live_post(message_id)
            if post is None or post.reply_to is None:
                raise KeyError(message_id)
            post.hide_status = status

    def answers(self, message_id: str) -> list[str]:
        """The texts the accounts published directly under ``message_id``, oldest first."""
        with self.lock:
            return [
                p.text
                for p in sorted(self.live(), key=lambda p: p.created_at)
                if p.reply_to == message_id and not p.audience
            ]

    def is_hidden(self, message_id: str) -> bool:
        """The reply is hidden, by itself or with the top-level reply it is under.

        Raises:
            KeyError: no post has that id.
        """
        with self.lock:
            return self._hidden(self._posts[message_id])

    def _audience_post(self, author: str, text: str, parent: _Post | None) -> _Post:
        user = next((u for u in self._users.values() if u.username == author), None)
        if user is None:
            user = User(self.new_id(), author, self.clock.time(), 0, 0.0)
            self._users[user.id] = user
        post_id = self.new_id()
        post = _Post(
            id=post_id,
            owner=user.id,
            container_id="",
            text=text,
            media_type="TEXT",
            created_at=self.clock.time(),
            shortcode=shortcode(post_id),
            reply_to=parent.id if parent is not None else None,
            root=parent.root if parent is not None else post_id,
            audience=True,
        )
        self._posts[post_id] = post
        return post

    def _brand_users(self) -> list[User]:
        """The accounts (users holding a token), oldest first."""
        owners = {t.owner for t in self._tokens.values()}
        return [u for u in self._users.values() if u.id in owners]

    @staticmethod
    def _mentions(text: str, username: str) -> bool:
        return re.search(rf"(?<![\w.])@{re.escape(username)}(?!\w|\.\w)", text, re.I) is not None

    def _hidden(self, p: _Post) -> bool:
        # Hiding a top-level reply hides the replies under it (Meta's reply management page).
        seen = 0
        node: _Post | None = p
        while node is not None and seen < 10_000:
            if node.hidden:
                return True
            node = self._posts.get(node.reply_to) if node.reply_to else None
            seen += 1
        return False

    def _hide_status(self, p: _Post) -> str:
        """``hide_status`` as Threads reports it: ``HIDDEN`` under a hidden top-level reply,
        else the state Threads set on its own, else ``UNHUSHED`` once shown again after a
        hide (the reply or the top-level reply above it), else ``NOT_HUSHED``."""
        if self._hidden(p):
            return "HIDDEN"
        if p.hide_status is not None:
            return p.hide_status
        node: _Post | None = p
        for _ in range(10_000):
            if node is None:
                break
            if node.unhushed:
                return "UNHUSHED"
            node = self._posts.get(node.reply_to) if node.reply_to else None
        return "NOT_HUSHED"

    def replies(self, post_id: str) -> list[dict[str, Any]]:
        """Every live reply under a post (all levels), oldest first, with ``hidden`` and
        ``audience`` (written by someone else)."""
        with self.lock:
            return [
                {**self._post_view(p), "hidden": self._hidden(p), "audience": p.audience}
                for p in self._descendants(post_id)
            ]

    @property
    def posts(self) -> list[dict[str, Any]]:
        """The posts that exist now, oldest first: ``id``, ``text``, ``media_type``,
        ``reply_to`` (the parent's id), ``root``, ``permalink``, ``timestamp``,
        ``alt_text``, ``link_attachment`` and ``children``."""
        with self.lock:
            return [self._post_view(p) for p in self.live() if not p.audience]

    def container_not_found(self) -> GraphError:
        return GraphError(400, 24, "(#24) The requested resource does not exist", subcode=4279009)

    def _batch(self, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        # The Threads API documents no batch endpoint: answer as Graph does an unknown path.
        return self._error_response(
            GraphError(
                400,
                100,
                "Unsupported post request. Please read the Threads API "
                "documentation at https://developers.facebook.com/docs/threads",
            )
        )

    # -- state -----------------------------------------------------------------------------

    def container_view(self, c: _Container) -> dict[str, Any]:
        """A container with its ``status`` and ``error_message`` (Threads' words), what it
        was made with and the ``url`` Threads downloaded."""
        return {
            "id": c.id,
            "status": self.status(c),
            "error_message": self.container_error(c),
            "media_type": c.media_type,
            "text": c.text,
            "url": c.url,
            "alt_text": c.alt_text,
            "reply_to": c.reply_to,
            "children": list(c.children),
        }

    def _counts(self, p: _Post) -> dict[str, int]:
        likes = self.clock_engagement(p.created_at, p.id)
        replies = sum(1 for q in self.live() if q.reply_to == p.id)
        counts = {
            "likes": likes,
            "views": likes * 20,
            "replies": likes // 6 + replies,
            "reposts": likes // 8 + sum(1 for q in self.live() if q.repost_of == p.id),
            "quotes": likes // 15 + sum(1 for q in self.live() if q.quote_of == p.id),
            "shares": likes // 10,
        }
        self.add_engagement(counts, p.extra)
        return counts

    def permalink(self, p: _Post) -> str:
        return f"https://www.threads.net/@{self._users[p.owner].username}/post/{p.shortcode}"

    def _post_view(self, p: _Post) -> dict[str, Any]:
        return {
            "id": p.id,
            "text": p.text,
            "media_type": p.media_type,
            "reply_to": p.reply_to,
            "root": p.root,
            "permalink": self.permalink(p),
            "timestamp": graph_time(p.created_at),
            "alt_text": p.alt_text,
            "link_attachment": p.link_attachment,
            "children": [
                {
                    "id": i,
                    "alt_text": self._containers[i].alt_text,
                    "media_type": self._containers[i].media_type,
                }
                for i in p.children
            ],
        }

    def post_fields(
        self, p: _Post, fields: str | None, viewer: str | None = None
    ) -> dict[str, Any]:
        """A post's answer to ``fields=`` as ``viewer`` (an account's user id; default: its
        author) sees it."""
        kind = {"TEXT": "TEXT_POST", "CAROUSEL": "CAROUSEL_ALBUM"}.get(p.media_type, p.media_type)
        if p.repost_of is not None:
            kind = "REPOST_FACADE"
        mine = (viewer or p.owner) == p.owner
        getters = self.post_getters(p) | {
            "text": lambda f: p.text or OMIT,
            "media_type": lambda f: kind,
            "media_product_type": lambda f: "THREADS",
            "is_reply": lambda f: p.reply_to is not None,
            "replied_to": lambda f: {"id": p.reply_to} if p.reply_to else OMIT,
            "root_post": lambda f: {"id": p.root},
            "is_quote_post": lambda f: p.quote_of is not None,
            "link_attachment_url": lambda f: p.link_attachment or OMIT,
            "topic_tag": lambda f: p.topic_tag or OMIT,
            "hide_status": lambda f: self._hide_status(p),
            "is_reply_owned_by_me": lambda f: p.reply_to is not None and mine,
            "has_replies": lambda f: any(q.reply_to == p.id for q in self.live()),
            # The rest of the fields the reply management reference lists.
            "media_url": lambda f: (
                f"https://scontent.cdninstagram.com/v/t51/{p.id}.{ext}"
                if (ext := _MEDIA_EXTENSIONS.get(p.media_type))
                else OMIT
            ),
            "thumbnail_url": lambda f: (
                f"https://scontent.cdninstagram.com/v/t51/{p.id}.jpg"
                if p.media_type == "VIDEO"
                else OMIT
            ),
            "reply_audience": lambda f: p.reply_control.upper(),
            "quoted_post": lambda f: {"id": p.quote_of} if p.quote_of else OMIT,
            "reposted_post": lambda f: {"id": p.repost_of} if p.repost_of else OMIT,
            "gif_url": lambda f: OMIT,
            "is_verified": lambda f: False,
            "profile_picture_url": lambda f: f"https://scontent.cdninstagram.com/t51/{p.owner}.jpg",
        }
        return render_fields(fields, "id", getters, "ThreadsMedia", p.id)

    def _insights(
        self,
        metric: Any,
        allowed: tuple[str, ...],
        values: dict[str, int],
        node: str,
        total: bool,
    ) -> dict[str, Any]:
        data = [
            insight(
                node,
                name,
                values.get(name, 0),
                period="day" if total else "lifetime",
                title=name,
                description=f"The number of {name.replace('_', ' ')}",
                total=total,
            )
            for name in metric_names(metric, allowed)
        ]
        return {"data": data}

    def user_fields(self, user: User, fields: str | None) -> dict[str, Any]:
        # The Threads user node (``/me`` included): threads-profile fields.
        picture = f"https://scontent.cdninstagram.com/t51/{user.id}.jpg"
        getters: dict[str, Callable[[Field], Any]] = {
            "id": lambda f: user.id,
            "username": lambda f: user.username,
            "name": lambda f: user.username.capitalize(),
            "threads_profile_picture_url": lambda f: picture,
            "threads_biography": lambda f: "",
            "is_verified": lambda f: False,
        }
        return render_fields(fields, "id", getters, "ThreadsUser", user.id)

    # -- routes ----------------------------------------------------------------------------

    def container_fields(self, c: _Container, fields: str | None) -> dict[str, Any]:
        getters: dict[str, Callable[[Field], Any]] = {
            "id": lambda f: c.id,
            "status": lambda f: self.status(c),
            "error_message": lambda f: self.container_error(c) or OMIT,
        }
        return render_fields(fields, "id", getters, "ThreadsMediaContainer", c.id)

    def deleted_answer(self, post_id: str) -> dict[str, Any]:
        # Meta's Delete Posts page: the answer names the post deleted.
        return {"success": True, "deleted_id": post_id}

    def before_delete(self, token: Token) -> None:
        if self.used(token.owner, "delete") >= self.quota_deletes:
            raise GraphError(
                400,
                4,
                "Application request limit reached",
                user_title="Delete limit reached",
                user_msg=f"You can delete at most {self.quota_deletes} posts in 24 hours.",
            )

    def post_insights(self, p: _Post, metric: Any) -> dict[str, Any]:
        return self._insights(metric, MEDIA_METRICS, self._counts(p), p.id, total=False)

    @route("GET", rf"/{VERSION}/(?P<user_id>[0-9]+)/threads_insights")
    @graph_api()
    def _user_insights(
        self, request: httpx.Request, token: Token, params: dict[str, Any], user_id: str, **_: Any
    ) -> httpx.Response:
        user = self.user_for(token, user_id)
        totals: dict[str, int] = {"followers_count": user.followers_at(self.clock.time())}
        for post in self.live():
            if post.owner == user_id:
                for key, value in self._counts(post).items():
                    totals[key] = totals.get(key, 0) + value
        totals["clicks"] = totals.get("shares", 0)
        return self.json(
            self._insights(params.get("metric"), USER_METRICS, totals, user_id, total=True)
        )

    @route("GET", rf"/{VERSION}/(?P<user_id>[0-9]+)/threads_publishing_limit")
    @graph_api()
    def _publishing_limit(
        self, request: httpx.Request, token: Token, params: dict[str, Any], user_id: str, **_: Any
    ) -> httpx.Response:
        self.user_for(token, user_id)
        values: dict[str, Any] = {}
        for kind, prefix, total in (
            ("post", "", self.quota_posts),
            ("reply", "reply_", self.quota_replies),
            ("delete", "delete_", self.quota_deletes),
        ):
            values[f"{prefix}quota_usage"] = self.used(user_id, kind)
            values[f"{prefix}config"] = {"quota_total": total, "quota_duration": int(DAY)}
        entry = self.limit_entry(params, values, "ThreadsPublishingLimit")
        return self.json({"data": [entry]})

    @route("GET", rf"/{VERSION}/(?P<node>[0-9]+)/(?P<edge>threads|replies|conversation|mentions)")
    @graph_api()
    def _list(
        self,
        request: httpx.Request,
        token: Token,
        params: dict[str, Any],
        node: str,
        edge: str,
        **_: Any,
    ) -> httpx.Response:
        def render(p: _Post, fields: str | None) -> dict[str, Any]:
            return self.post_fields(p, fields, token.owner)

        if node in self._users and edge in ("threads", "replies"):
            # A user's own posts, or own replies.
            self.user_for(token, node)
            items = [
                p
                for p in self.live()
                if p.owner == node and ((p.reply_to is not None) == (edge == "replies"))
            ]
            return self.listing(request, params, items, render)
        if edge == "mentions":
            user = self.user_for(token, node)
            since, until = _since_until(params)
            items = [
                p
                for p in self.live()
                if p.owner != node
                and self._mentions(p.text, user.username)
                and in_window(p.created_at, since, until)
            ]
            items.sort(key=_order, reverse=True)
            # Meta's mentions page: cursors, but no previous or next links.
            return self.json(
                self._edge_page(request, params, items, render, links=False, newest_first=True)
            )
        if edge == "threads":
            raise self.unsupported("get", node)
        # A post's replies (top level) or its whole conversation, for the root's author.
        post = self._seen(token, node)
        if edge == "replies":
            items = [p for p in self.live() if p.reply_to == post.id]
        else:
            items = self._descendants(post.id)
        newest_first = truthy(params.get("reverse", "true"))
        items.sort(key=_order, reverse=newest_first)
        return self.json(
            self._edge_page(request, params, items, render, links=True, newest_first=newest_first)
        )

    def _edge_page(
        self,
        request: httpx.Request,
        params: Mapping[str, Any],
        items: list[_Post],
        render: Callable[[_Post, str | None], dict[str, Any]],
        *,
        links: bool,
        newest_first: bool,
    ) -> dict[str, Any]:
        """One page of ``items`` (already in the edge's order, newest first or oldest first)
        with cursors tied to an item, as Graph's are: a page read after new replies arrived
        continues where it was, and a cursor whose reply went is refused (`edge_page` with
        the posts' keys); only the page's posts are rendered. ``links``: a ``next`` link
        while more follow (never a ``previous``).

        Raises:
            GraphError: a ``limit`` that is no number or negative, both ``after`` and
                ``before``, a cursor the emulator did not make, or one whose post is gone
                (code 100).
        """
        try:
            limit = int(params.get("limit") or 25)
        except ValueError:
            raise GraphError(400, 100, "(#100) Param limit must be a number") from None
        if limit < 0:
            raise GraphError(400, 100, "(#100) Param limit must be a non-negative number")
        after, before = params.get("after"), params.get("before")
        if after and before:
            raise GraphError(
                400, 100, "(#100) Both before and after parameters cannot be passed at once"
            )
        fields = params.get("fields")
        # Graph writes the page's limit into next whether or not the request named one.
        query = {k: str(v) for k, v in params.items() if k != "limit"}
        return self.edge_page(
            request.url.path,
            items,
            limit=max(1, min(100, limit)),
            after=after,
            before=before,
            query=query,
            keys=[_order(p) for p in items],
            descending=newest_first,
            render=lambda p: render(p, fields),
            links=("next",) if links else (),
        )

    def _descendants(self, post_id: str) -> list[_Post]:
        """Every live reply below a post, at every level (a reply is newer than its parent,
        so one pass in time order finds them all)."""
        found, below = [], {post_id}
        for p in sorted(self.live(), key=_order):
            if p.reply_to in below:
                found.append(p)
                below.add(p.id)
        return found

    def _seen(self, token: Token, node: str) -> _Post:
        """A live post the token's account may read: one in a conversation it started, or
        one that mentions it."""
        post = self.live_post(node)
        if post is None:
            raise self.unsupported("get", node)
        root = self._posts.get(post.root)
        user = self._users.get(token.owner)
        if (
            post.owner != token.owner
            and (root is None or root.owner != token.owner)
            and not (user is not None and self._mentions(post.text, user.username))
        ):
            raise self.unsupported("get", node)
        return post

    def other_node(self, token: Token, node: str, fields: str | None) -> dict[str, Any]:
        # Someone else's reply in a conversation the account started, or a mention of it.
        return self.post_fields(self._seen(token, node), fields, token.owner)

    @route("GET", rf"/{VERSION}/keyword_search")
    @graph_api()
    def _keyword_search(
        self, request: httpx.Request, token: Token, params: dict[str, Any], **_: Any
    ) -> httpx.Response:
        q = str(params.get("q") or "").strip()
        if not q:
            raise GraphError(400, 100, "(#100) The parameter q is required")
        search_type = str(params.get("search_type") or "TOP")
        mode = str(params.get("search_mode") or "KEYWORD")
        media_type = params.get("media_type")
        if search_type not in ("TOP", "RECENT"):
            raise GraphError(400, 100, "(#100) Param search_type must be one of {TOP, RECENT}")
        if mode not in ("KEYWORD", "TAG"):
            raise GraphError(400, 100, "(#100) Param search_mode must be one of {KEYWORD, TAG}")
        if media_type is not None and media_type not in ("TEXT", "IMAGE", "VIDEO"):
            raise GraphError(
                400, 100, "(#100) Param media_type must be one of {TEXT, IMAGE, VIDEO}"
            )
        since, until = _since_until(params)
        now = self.clock.time()
        log = [t for t in self._searches.get(token.owner, []) if t > now - DAY]
        self._searches[token.owner] = log
        if len(log) >= self.keyword_search_quota:
            raise GraphError(
                400,
                17,
                "(#17) User request limit reached",
                user_title="Keyword search limit reached",
                user_msg=f"A user can send {self.keyword_search_quota} keyword search "
                "queries in 24 hours.",
            )
        author = params.get("author_username")
        words = _search_words(q)
        tag = re.compile(rf"(?<![\w#])#{re.escape(q)}(?!\w)", re.IGNORECASE)
        items = []
        for p in self.live():
            if not self.keyword_search_approved and p.owner != token.owner:
                continue
            if mode == "TAG":
                hit = tag.search(p.text) is not None or (
                    p.topic_tag is not None and fold(p.topic_tag) == fold(q)
                )
            else:
                have = set(_search_words(p.text))
                hit = bool(words) and all(w in have for w in words)
            if not hit:
                continue
            kind = {"CAROUSEL": "IMAGE"}.get(p.media_type, p.media_type)
            if media_type is not None and kind != media_type:
                continue
            if author and self._users[p.owner].username != str(author).lstrip("@"):
                continue
            if not in_window(p.created_at, since, until):
                continue
            items.append(p)
        fields = ",".join(
            f for f in str(params.get("fields") or "id").split(",") if f.strip() != "owner"
        )

        def render(p: _Post, _fields: str | None) -> dict[str, Any]:
            return self.post_fields(p, fields, token.owner)

        if search_type == "RECENT":
            items.sort(key=_order, reverse=True)
            body = self._edge_page(request, params, items, render, links=True, newest_first=True)
        else:
            items.sort(key=lambda p: (self._counts(p).get("likes", 0), p.created_at), reverse=True)
            # Most liked first, one page: no cursor is read, so the order's direction is moot.
            body = self._edge_page(
                request,
                {**params, "after": None, "before": None},
                items,
                render,
                links=False,
                newest_first=True,
            )
        if body["data"]:
            log.append(now)  # a query that finds nothing is not counted
        return self.json(body)

    @route("POST", rf"/{VERSION}/(?P<node>[0-9]+)/manage_reply")
    @graph_api()
    def _manage_reply(
        self, request: httpx.Request, token: Token, params: dict[str, Any], node: str, **_: Any
    ) -> httpx.Response:
        reply = self.live_post(node)
        root = self._posts.get(reply.root) if reply is not None else None
        if reply is None or reply.reply_to is None or root is None or root.owner != token.owner:
            raise self.unsupported("post", node)
        parent = self._posts[reply.reply_to]
        if (
            parent.owner != token.owner
            or reply.owner == token.owner
            or not self._own_chain(parent, token.owner)
        ):
            # Meta: "Replies nested deeper than the top-level reply cannot be targeted in
            # isolation to be hidden/unhidden" (wording of the refusal is the emulator's).
            raise GraphError(
                400,
                100,
                "(#100) Only top-level replies to your own posts can be hidden; hiding the "
                "top-level reply hides the replies under it",
            )
        hide = hide_param(params)
        reply.unhushed = reply.unhushed or (reply.hidden and not hide)
        reply.hidden = hide
        return self.json({"success": True})

    def _own_chain(self, post: _Post, owner: str) -> bool:
        """``post`` and every post above it are ``owner``'s (a post or its own thread): a
        reply to it is top-level; under the account's answer to someone's reply, nested."""
        node: _Post | None = post
        for _ in range(10_000):
            if node is None:
                return True
            if node.owner != owner:
                return False
            node = self._posts.get(node.reply_to) if node.reply_to else None
        return False

    @route("POST", rf"/{VERSION}/(?P<node>[0-9]+)/repost")
    @graph_api()
    def _repost(
        self, request: httpx.Request, token: Token, params: dict[str, Any], node: str, **_: Any
    ) -> httpx.Response:
        # Meta's Reposts page: POST /{threads_id}/repost answers the repost's id; the repost
        # is in the account's /threads as a REPOST_FACADE with reposted_post. (Reposting
        # one post twice gives back the same repost: the app toggles a repost.)
        self.publisher(token, token.owner)
        target = self.live_post(node)
        if target is None or target.repost_of is not None:
            raise self.unsupported("post", node)
        for p in self.live():
            if p.owner == token.owner and p.repost_of == target.id:
                return self.json({"id": p.id})
        post_id = self.new_id()
        self._posts[post_id] = _Post(
            id=post_id,
            owner=token.owner,
            container_id="",
            text="",
            media_type="TEXT",
            created_at=self.clock.time(),
            shortcode=shortcode(post_id),
            root=post_id,
            repost_of=target.id,
        )
        return self.json({"id": post_id})

    @route("POST", rf"/{VERSION}/(?P<user_id>[0-9]+)/threads")
    @graph_api()
    def _create_container(
        self, request: httpx.Request, token: Token, params: dict[str, Any], user_id: str, **_: Any
    ) -> httpx.Response:
        self.publisher(token, user_id)
        now = self.clock.time()
        media_type = str(params.get("media_type") or "").upper()
        if media_type not in ("TEXT", "IMAGE", "VIDEO", "CAROUSEL"):
            raise GraphError(
                400,
                100,
                "(#100) The parameter media_type must be one of TEXT, IMAGE, VIDEO, CAROUSEL",
            )
        carousel_item = truthy(params.get("is_carousel_item"))
        if carousel_item and media_type not in ("IMAGE", "VIDEO"):
            # Threads: a carousel's children are "each image and/or video" (so no TEXT
            # item, and no carousel nested in another).
            raise GraphError(400, 100, "(#100) A carousel item must be an IMAGE or a VIDEO")
        text = "" if carousel_item else str(params.get("text") or "")
        if threads_length(text) > 500:
            raise GraphError(
                400,
                100,
                "(#100) Param text must be at most 500 characters long.",
                user_title="Text too long",
                user_msg=f"The text is {threads_length(text)} characters; the most is 500.",
            )
        link = params.get("link_attachment") or None
        links = _links(text) | ({str(link)} if link else set())
        if len(links) > 5:
            raise GraphError(
                400,
                100,
                "THREADS_API__LINK_LIMIT_EXCEEDED",
                user_title="Too many links",
                user_msg=f"A post can have at most 5 links; this one has {len(links)}.",
            )
        reply_to = params.get("reply_to_id") or None
        if reply_to is not None and self.live_post(str(reply_to)) is None:
            raise GraphError(
                400, 100, f"(#100) The reply_to_id {reply_to} does not exist", subcode=33
            )
        quote_of = params.get("quote_post_id") or None
        if quote_of is not None and self.live_post(str(quote_of)) is None:
            # Meta documents the parameter but not this refusal's words: the emulator's own.
            raise GraphError(
                400, 100, f"(#100) The quote_post_id {quote_of} does not exist", subcode=33
            )
        if media_type == "TEXT":
            if not text:
                raise GraphError(400, 100, "(#100) The parameter text is required.")
            if link is not None and not str(link).startswith(("http://", "https://")):
                raise GraphError(400, 100, "(#100) link_attachment must be a URL")
        elif link is not None:
            raise GraphError(400, 100, "(#100) link_attachment is only for text posts")
        alt_text = params.get("alt_text") or None
        if alt_text is not None and len(str(alt_text)) > 1000:
            raise GraphError(400, 100, "(#100) alt_text must be at most 1000 characters")
        reply_control = str(params.get("reply_control") or "everyone").lower()
        if reply_control not in _REPLY_CONTROLS:
            raise GraphError(
                400,
                100,
                "(#100) Param reply_control must be one of {"
                + ", ".join(c.upper() for c in _REPLY_CONTROLS)
                + "}",
            )
        container = _Container(
            id=self.new_id(),
            owner=user_id,
            media_type=media_type,
            text=text,
            created_at=now,
            ready_at=now + self.text_processing,
            alt_text=str(alt_text) if alt_text else None,
            reply_to=str(reply_to) if reply_to else None,
            link_attachment=str(link) if link else None,
            is_carousel_item=carousel_item,
            reply_control=reply_control,
            quote_of=str(quote_of) if quote_of else None,
        )
        if media_type == "CAROUSEL":
            container.children = self.carousel_children(
                params,
                user_id,
                most=20,
                wrong_count=GraphError(400, 100, "(#100) A carousel takes 2 to 20 children"),
                not_an_item=lambda child: GraphError(
                    400, 100, f"(#100) The child {child} is not a carousel item container"
                ),
            )
        elif media_type in ("IMAGE", "VIDEO"):
            key = "image_url" if media_type == "IMAGE" else "video_url"
            url = params.get(key)
            if not url:
                raise GraphError(400, 100, f"(#100) The parameter {key} is required.")
            container.url = str(url)
            self._download(container)
        return self.keep_container(container)

    def _download(self, c: _Container) -> None:
        video = c.media_type == "VIDEO"
        limit = self.max_video_bytes if video else self.max_image_bytes
        c.ready_at += self.video_processing if video else self.image_processing
        assert c.url is not None
        try:
            data, _ = fetch_media(c.url, max_bytes=limit)
        except FetchFailed:
            c.error = "FAILED_DOWNLOADING_VIDEO" if video else "UNKNOWN"
            return
        found = sniff(data[:64])
        c.mime_type = found[0] if found else None
        if video:
            if found is None or found[0] not in ("video/mp4", "video/quicktime"):
                c.error = "FAILED_PROCESSING_VIDEO"
            elif len(data) > limit:
                c.error = "UNKNOWN"
        elif found is None or found[0] not in ("image/jpeg", "image/png") or len(data) > limit:
            c.error = "UNKNOWN"

    @route("POST", rf"/{VERSION}/(?P<user_id>[0-9]+)/threads_publish")
    @graph_api()
    def _publish(
        self, request: httpx.Request, token: Token, params: dict[str, Any], user_id: str, **_: Any
    ) -> httpx.Response:
        self.publisher(token, user_id)
        c = self.publishable(params, user_id)
        status = self.status(c)
        if status != "FINISHED":
            messages = {
                "IN_PROGRESS": "The media is not ready for publishing, please wait for a moment",
                "ERROR": f"The media failed to process: {self.container_error(c)}",
                "EXPIRED": "The media container has expired; create a new one",
                "PUBLISHED": "The media container has already been published",
            }
            raise GraphError(400, 100, f"(#100) {messages[status]}", user_title=status)
        kind = "reply" if c.reply_to else "post"
        limit = self.quota_replies if c.reply_to else self.quota_posts
        if self.used(user_id, kind) >= limit:
            raise GraphError(
                400,
                4,
                "Application request limit reached",
                user_title="Publishing limit reached",
                user_msg=f"You can publish at most {limit} {kind}s in 24 hours through the API.",
            )
        now = self.clock.time()
        post_id = self.new_id()
        parent = self._posts.get(c.reply_to) if c.reply_to else None
        post = _Post(
            id=post_id,
            owner=user_id,
            container_id=c.id,
            text=c.text,
            media_type=c.media_type,
            created_at=now,
            shortcode=shortcode(post_id),
            reply_to=c.reply_to,
            root=parent.root if parent is not None else post_id,
            alt_text=c.alt_text,
            children=list(c.children),
            link_attachment=c.link_attachment,
            reply_control=c.reply_control,
            quote_of=c.quote_of,
        )
        return self.keep_published(c, post, kind)
