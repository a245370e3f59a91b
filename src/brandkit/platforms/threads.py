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
- Conversations (``docs/platforms/threads.md``, "Conversations"): the inbox reads the
  account's latest posts (``GET /{user-id}/threads``, ``has_replies``), the conversation of
  each one that has replies (``GET /{media-id}/conversation``, newest first, every level,
  stopping at what the cursor has seen) and ``GET /{user-id}/mentions`` (``since``).
  Answers are reply containers (``reply_to_id``); ``POST /{reply-id}/manage_reply`` hides a
  top-level reply (and the replies under it). No like, no delete of others' replies.
- Listening: ``GET /keyword_search?q=&search_type=RECENT&search_mode=KEYWORD|TAG`` (one
  keyword or one topic tag per query, ``since``/``until`` in unix seconds, 100 a page with
  Graph cursors). A user may send 2,200 queries per rolling 24 hours across apps (queries
  that find nothing are free; the governor's ``keyword_search`` bucket counts every one).
  Without the ``threads_keyword_search`` approval the search covers the user's own posts
  only. No exclusion, language or mention filter exists: such queries are refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

import attrs
import httpx
import pydantic

from brandkit._flow import Flow, Send
from brandkit.errors import (
    ConfigurationError,
    PlatformError,
    RateLimited,
    Rejected,
)
from brandkit.inbox._model import Author, InboxPage, Message
from brandkit.listening._query import (
    Query,
    SearchPage,
    UnsupportedQuery,
    canonical_query,
    cursor_tag,
    says,
    shows_hashtag,
)
from brandkit.metrics._sample import Metric, MetricSample
from brandkit.platforms._base import Answer, Capabilities, PartRef, RatePolicy, ThreadContext
from brandkit.platforms._capabilities import BUILTIN_CAPABILITIES
from brandkit.platforms._graph import (
    ContainerAdapter,
    EdgePage,
    Flag,
    GraphId,
    GraphTime,
    IdAnswer,
    InsightsAnswer,
    QuotaAnswer,
    RawAnswer,
    behind_mark,
    gone,
    moved_mark,
    parse_time,
)
from brandkit.platforms.instagram import media_samples

if TYPE_CHECKING:
    from brandkit.accounts import Account
    from brandkit.content._media import Media
    from brandkit.content._render import Rendered, RenderedPart

__all__ = ["ThreadsAdapter"]


class _Post(Answer):
    """One item of ``/{user-id}/threads`` or ``/replies`` as a read-back reads it."""

    id: GraphId
    text: str | None = None
    timestamp: str | None = None
    permalink: str | None = None
    replied_to: IdAnswer | None = None


class _Item(RawAnswer):
    """One reply of ``/conversation`` or one post of ``/mentions``."""

    id: GraphId
    timestamp: GraphTime
    text: str | None = None
    username: str | None = None
    permalink: str | None = None
    replied_to: IdAnswer | None = None
    root_post: IdAnswer | None = None
    hide_status: str | None = None
    is_reply_owned_by_me: Flag | None = None


class _OwnPost(Answer):
    """One of the account's posts as the inbox lists them."""

    id: GraphId
    has_replies: Flag | None = None
    media_type: str | None = None


class _OwnPage(Answer):
    data: tuple[_OwnPost, ...] = ()


class _Success(Answer):
    success: Flag


# -- the inbox cursor ------------------------------------------------------------------------


class _Mark(pydantic.BaseModel):
    """What a feed has been read up to: the newest time seen and the ids seen at it."""

    model_config = pydantic.ConfigDict(extra="forbid", strict=True)

    t: int
    ids: list[str] = []


class _Todo(pydantic.BaseModel):
    """A feed still to read in this round, where its read stopped (``after``), and the
    oldest item read before it (``floor``: Meta invalidates a cursor whose item is deleted,
    and the feed read again from its first page leaves out what lies up to it, at that
    read and, with ``again``, at the round's later reads of it)."""

    model_config = pydantic.ConfigDict(extra="forbid", strict=True)

    feed: str
    after: str | None = None
    top: _Mark | None = None
    floor: _Mark | None = None
    again: bool = False


class _InboxCursor(pydantic.BaseModel):
    """The inbox cursor: each feed's mark, the posts watched and the round in progress."""

    model_config = pydantic.ConfigDict(extra="forbid", strict=True)

    v: Literal[1]
    user: str
    marks: dict[str, _Mark] = {}
    watched: list[str] = []
    todo: list[_Todo] = []


class _Found(RawAnswer):
    """One post of ``/keyword_search`` (the ``owner`` field is never returned)."""

    id: GraphId
    timestamp: GraphTime
    text: str | None = None
    username: str | None = None
    permalink: str | None = None
    media_type: str | None = None
    is_reply: Flag | None = None
    topic_tag: str | None = None

    def searchable(self) -> str:
        """The text a query is matched against: the post's text, and its topic tag as
        ``#tag`` when the text does not show it (a tag chosen in the composer is a field
        of its own, not in ``text``, and a TAG search finds the post by it)."""
        text = self.text or ""
        tag = (self.topic_tag or "").strip().lstrip("#")
        if tag and not shows_hashtag(text, tag):
            return f"{text}\n#{tag}"
        return text


class _FoundPage(EdgePage[_Found]):
    """A page of ``/keyword_search``: unlike other edges', its ``data`` is required."""

    data: tuple[_Found, ...]


class _SearchState(pydantic.BaseModel):
    """One query's progress: its mark (the newest second read and the ids seen at it), and
    in a read stopped at ``limit``, the page cursor to go on from and the next mark."""

    model_config = pydantic.ConfigDict(extra="forbid", strict=True)

    mark: _Mark | None = None
    after: Annotated[str, pydantic.StringConstraints(max_length=2000)] | None = None
    top: _Mark | None = None
    floor: _Mark | None = None
    # Read again from the first page in this round: what lies up to floor is left out.
    again: bool = False


class _SearchCursor(pydantic.BaseModel):
    """A search cursor: the query and account it belongs to (``q``, `cursor_tag`; cursors
    written before it lack it) and each compiled query's progress, by its key."""

    model_config = pydantic.ConfigDict(extra="forbid", strict=True)

    v: Literal[1]
    q: Annotated[str, pydantic.StringConstraints(pattern=r"^[0-9a-f]{16}$")] | None = None
    queries: dict[Annotated[str, pydantic.StringConstraints(max_length=600)], _SearchState] = (
        pydantic.Field(max_length=64)
    )


@attrs.frozen
class KeywordQuery:
    """One ``/keyword_search`` request a `Query` compiles to.

    Attributes:
        q: the keyword or the topic tag.
        mode: ``"KEYWORD"`` or ``"TAG"``.
    """

    q: str
    mode: str

    @property
    def key(self) -> str:
        """What the cursor files this query's progress under."""
        return f"{self.mode}:{self.q}"


_MENTIONS = "mentions"
_FOUND_FIELDS = (
    "id,text,media_type,permalink,timestamp,username,has_replies,is_quote_post,is_reply,topic_tag"
)
_ITEM_FIELDS = (
    "id,text,username,timestamp,permalink,replied_to,root_post,hide_status,is_reply,"
    "is_reply_owned_by_me"
)
# The hide_status values of a reply kept out of sight: hidden by the brand (manage_reply),
# covered by a filter, or written by an account the brand blocked or restricted. Meta lists
# these with NOT_HUSHED and UNHUSHED (shown again after a hide) and says no more; a value
# it adds later reads as shown rather than failing the read.
_HIDDEN_STATES = frozenset({"HIDDEN", "COVERED", "BLOCKED", "RESTRICTED"})


class ThreadsAdapter(ContainerAdapter):
    """Publishes to one Threads account; see the module docstring for the protocol.

    Attributes:
        post_metrics: the media insights metrics asked for, each with its canonical name.
    """

    name: ClassVar[str] = "threads"
    container_edge: ClassVar[str] = "threads"
    publish_edge: ClassVar[str] = "threads_publish"
    status_field: ClassVar[str] = "status"
    message_field: ClassVar[str] = "error_message"
    # Replies to the account's posts and mentions are read, top-level replies hidden; the
    # API has no like and no delete of others' replies.
    capabilities: ClassVar[Capabilities] = BUILTIN_CAPABILITIES["threads"]
    rate_policies: ClassVar[tuple[RatePolicy, ...]] = (
        # 2,200 keyword-search queries per rolling 24 h per user, across apps.
        RatePolicy("keyword_search", 2200, 86_400.0),
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

    inbox_posts: ClassVar[int] = 50
    """How many of the account's latest posts the inbox watches for replies (at most 100,
    one page; the account setting ``inbox_posts`` overrides it)."""
    inbox_page: ClassVar[int] = 100
    """Items asked for per page of ``/conversation`` and ``/mentions``."""
    inbox_max_pages: ClassVar[int] = 200
    """Most pages one inbox read fetches before it returns ``more`` (a bound besides
    ``limit``: pages of the account's own replies add no message)."""
    replies_max_pages: ClassVar[int] = 50
    search_page: ClassVar[int] = 100
    """Posts asked for per ``/keyword_search`` page (Meta's largest)."""
    """Most pages `replies` reads of one conversation."""

    def __init__(self, account: Account) -> None:
        super().__init__(account)
        if not account.settings.get("user_id"):
            raise ConfigurationError("a Threads account needs user_id")

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
        if path.endswith("/keyword_search"):
            return "keyword_search"
        return "threads"

    def error_for(self, response: httpx.Response) -> PlatformError:
        """Graph's error (see `GraphAdapter.error_for`); a throttled keyword search without
        a wait is given the longest one its limit can hold (24 hours: Meta counts each query
        for a rolling day), so that brandkit stops at once instead of asking again."""
        error = super().error_for(response)
        if (
            isinstance(error, RateLimited)
            and error.bucket == f"{self.name}:keyword_search"
            and error.retry_after is None
        ):
            error.retry_after = 86_400.0
        return error

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
        return (
            yield from self.publish_container(
                part,
                thread,
                lambda: self._create(rendered, part, thread),
                bucket="reply" if reply else "publish",
            )
        )

    def _quota(self, reply: bool) -> Flow[tuple[int, int]]:
        body = yield from self.get(
            f"/{self.user_id}/threads_publishing_limit",
            {"fields": "quota_usage,config,reply_quota_usage,reply_config"},
            QuotaAnswer,
        )
        return body.usage(reply=reply, default_total=1000 if reply else 250)

    def _create(self, rendered: Rendered, part: RenderedPart, thread: ThreadContext) -> Flow[str]:
        base: dict[str, Any] = {"text": part.text or None}
        if thread.parent is not None:
            base["reply_to_id"] = thread.parent.id
        media = part.media
        if not media:
            data = {"media_type": "TEXT", **base}
            card = self.link_card(rendered, part, thread)
            if card is not None:
                data["link_attachment"] = card.url
            return (yield from self.make_container(data))
        if len(media) == 1:
            return (yield from self.make_container({**self._item(media[0]), **base}))
        children = ({**self._item(item), "is_carousel_item": True} for item in media)
        return (yield from self.make_carousel(children, base))

    def _item(self, item: Media) -> dict[str, Any]:
        url = self.media_url(item)
        if item.kind == "video":
            return {"media_type": "VIDEO", "video_url": url, "alt_text": item.alt or None}
        return {"media_type": "IMAGE", "image_url": url, "alt_text": item.alt or None}

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
        return (yield from self.find_by_container(part, thread))

    def read_back(
        self, part: RenderedPart, thread: ThreadContext, container: str | None
    ) -> Flow[PartRef | None]:
        """The user's ``/threads`` (``/replies`` for a later part) since the part's key was
        made, matched on text and reply target."""
        parent = thread.parent.id if thread.parent is not None else None
        edge = "replies" if parent is not None else "threads"
        oldest = yield from self.read_back_post(
            f"/{self.user_id}/{edge}",
            "id,text,timestamp,permalink,replied_to,is_reply",
            _Post,
            thread,
            part.text,
            text_of=lambda m: m.text,
            when=lambda m: parse_time(m.timestamp),
            also=lambda m: (m.replied_to.id if parent and m.replied_to else None) == parent,
        )
        return self.found_ref(part, thread, container, oldest)

    # -- delete ------------------------------------------------------------------------------

    def delete_part(self, ref: PartRef) -> Flow[None]:
        """``DELETE /{threads-media-id}`` (100 per 24 hours); a post that is already gone
        counts as deleted.

        Raises:
            PlatformError: Meta refused (typed by `error_for`).
        """
        yield from self.delete_node(ref.id)

    # -- conversations -----------------------------------------------------------------------

    def inbox(self, cursor: str | None, *, limit: int) -> Flow[InboxPage]:
        """Replies to the account's latest posts and mentions of it, new since ``cursor``.

        A round reads ``GET /{user-id}/threads`` (the latest `inbox_posts` posts and
        whether they have replies), then ``GET /{media-id}/conversation`` of each post with
        replies, newest first, until a reply the cursor has seen (one request when nothing
        is new), then ``GET /{user-id}/mentions?since=``. The account's own replies are left
        out; a mention that is a reply under a watched post comes once, as a reply. After
        about ``limit`` messages (or `inbox_max_pages` pages) the read stops with ``more``
        and a cursor that continues the round where it stopped.

        Raises:
            ConfigurationError: ``cursor`` is not one this account's inbox made.
            PlatformError: Meta refused (typed by `error_for`).
            MalformedResponse: an answer brandkit cannot read.
        """
        state = self._load_cursor(cursor)
        yield from self.ensure_fresh_token()
        if not state.todo:
            posts = yield from self._watched_posts()
            state.watched = [p.id for p in posts]
            keep = {*state.watched, _MENTIONS}
            state.marks = {k: v for k, v in state.marks.items() if k in keep}
            state.todo = [_Todo(feed=p.id) for p in posts if p.has_replies is not False]
            state.todo.append(_Todo(feed=_MENTIONS))
        found: dict[str, Message] = {}
        pages = [0]
        while state.todo and len(found) < limit and pages[0] < self.inbox_max_pages:
            done = yield from self._read_feed(state, state.todo[0], found, limit, pages)
            if not done:
                break
            state.todo.pop(0)
        return InboxPage(
            messages=list(found.values()),
            cursor=state.model_dump_json(exclude_defaults=False),
            more=bool(state.todo),
        )

    def _load_cursor(self, cursor: str | None) -> _InboxCursor:
        if cursor is None:
            return _InboxCursor(v=1, user=self.user_id)
        try:
            state = _InboxCursor.model_validate_json(cursor)
        except pydantic.ValidationError:
            raise ConfigurationError(
                "threads: this inbox cursor is not one brandkit made (garbled or from another "
                "platform): pass since=None to read the inbox from the start"
            ) from None
        if state.user != self.user_id:
            raise ConfigurationError(
                f"threads: this inbox cursor belongs to another Threads account, not to "
                f"{self.account.key}: pass since=None or that account's own cursor"
            )
        return state

    def _watched_posts(self) -> Flow[list[_OwnPost]]:
        count = self.account.settings.get("inbox_posts", self.inbox_posts)
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 100:
            raise ConfigurationError(
                f"threads: the account setting inbox_posts (how many of the latest posts the "
                f"inbox watches) must be a whole number between 1 and 100, not {count!r}"
            )
        page = yield from self.get(
            f"/{self.user_id}/threads",
            {"fields": "id,media_type,has_replies", "limit": count},
            _OwnPage,
        )
        # A repost's conversation is the original author's, not the account's.
        return [p for p in page.data if p.media_type != "REPOST_FACADE"][:count]

    def _read_feed(
        self,
        state: _InboxCursor,
        todo: _Todo,
        found: dict[str, Message],
        limit: int,
        pages: list[int],
    ) -> Flow[bool]:
        """Read one feed from where ``todo`` stopped; ``True`` when it is read to the mark
        (the mark then moves to the newest item seen), ``False`` when ``limit`` or the page
        bound stopped it (``todo`` keeps where). A cursor Meta invalidated (its item
        deleted) reads the feed from its first page again, the items up to ``todo.floor``
        left out: they were read before (at the round's later reads of the feed too,
        ``todo.again``: this one may stop at its page bound before it is back there)."""
        mark = state.marks.get(todo.feed)
        conversation = todo.feed != _MENTIONS
        params: dict[str, Any] = {"fields": _ITEM_FIELDS, "limit": self.inbox_page}
        if conversation:
            path = f"/{todo.feed}/conversation"
            params["reverse"] = "true"  # newest first: stop at the first reply seen before
        else:
            path = f"/{self.user_id}/mentions"
            if mark is not None:
                params["since"] = mark.t
        watched = set(state.watched)
        if todo.top is None and mark is not None:
            # Items seen at the mark's second stay seen when newer ones share that second.
            todo.top = mark.model_copy(deep=True)
        while True:
            if len(found) >= limit or pages[0] >= self.inbox_max_pages:
                return False
            query = dict(params)
            if todo.after:
                query["after"] = todo.after
            # Without an ``after``, `get_from_cursor` is a plain `get` (never restarted).
            page, restarted = yield from self.get_from_cursor(path, query, EdgePage[_Item])
            todo.again = todo.again or restarted
            pages[0] += 1 + restarted
            older = False
            for item in page.data:
                when = int(item.timestamp.timestamp())
                if todo.again and _behind(todo.floor, when, item.id, down=True):
                    continue
                if mark is not None and _behind(mark, when, item.id):
                    older = older or when < mark.t
                    continue
                todo.top = _moved(todo.top, when, item.id)
                todo.floor = _moved(todo.floor, when, item.id, down=True)
                if item.is_reply_owned_by_me:
                    continue
                if conversation:
                    found.setdefault(item.id, self._message(item, "reply", todo.feed))
                elif not (item.root_post is not None and item.root_post.id in watched):
                    found.setdefault(item.id, self._message(item, "mention", None))
            after = page.paging.cursors.after if page.paging and page.paging.cursors else None
            # /mentions pages carry cursors but never "next" (Meta's mentions page says so).
            last = (
                older or page.paging is None or not page.paging.next
                if conversation
                else len(page.data) < self.inbox_page
            )
            if last or not after:
                if todo.top is not None:
                    state.marks[todo.feed] = todo.top
                return True
            todo.after = after

    def _message(self, item: _Item, kind: str, our_post: str | None) -> Message:
        handle = item.username
        return Message(
            platform=self.name,
            account=self.account.key,
            id=item.id,
            kind=kind,
            # Threads names a reply's author only by username (none for private profiles).
            author=Author(
                id=handle or "",
                handle=handle,
                url=f"https://www.threads.net/@{handle}" if handle else None,
            ),
            text=item.text or "",
            created_at=item.timestamp,
            url=item.permalink,
            in_reply_to=item.replied_to.id if item.replied_to is not None else None,
            conversation=item.root_post.id if item.root_post is not None else item.id,
            our_post=our_post,
            hidden=(item.hide_status or "").upper() in _HIDDEN_STATES,
            raw=item.raw,
        )

    # -- listening -------------------------------------------------------------------------

    def compile_query(self, query: Query) -> tuple[KeywordQuery, ...]:
        """The ``/keyword_search`` queries that find ``query`` (no I/O): one KEYWORD query
        per ``any`` term and one TAG query per hashtag (a query takes one keyword or one
        topic tag; alternatives cost a query each of the 2,200 a day). Without ``any`` or
        hashtags, the first phrase (else the first ``all`` word) is the keyword. What was
        read is narrowed to `Query.matches` (every ``all`` word, every phrase, the times).

        Raises:
            UnsupportedQuery: ``exclude``, ``languages`` or ``handles`` (Threads' search
                has no such filter), or a topic tag Threads does not allow (``.``, ``&``,
                more than 50 characters).
        """
        for feature in ("exclude", "languages", "handles"):
            if getattr(query, feature):
                raise UnsupportedQuery(
                    f"Threads' keyword search has no {feature} filter: leave {feature}= out "
                    "of this query",
                    platform=self.name,
                    feature=feature,
                )
        for tag in query.hashtags:
            if "." in tag or "&" in tag or len(tag) > 50:
                raise UnsupportedQuery(
                    f"#{tag} is not a Threads topic tag (at most 50 characters, no . or &): "
                    "search its words with any=",
                    platform=self.name,
                    feature="hashtags",
                )
        out = [KeywordQuery(q=t, mode="KEYWORD") for t in query.any]
        out += [KeywordQuery(q=t, mode="TAG") for t in query.hashtags]
        if not out:
            out = [KeywordQuery(q=(query.phrases or query.all)[0], mode="KEYWORD")]
        return tuple(dict.fromkeys(out))

    def search(self, query: Query, cursor: str | None, *, limit: int) -> Flow[SearchPage]:
        """Public Threads posts matching ``query`` since ``cursor``: each compiled query
        reads ``search_type=RECENT`` newest first, 100 a page, back to its mark (``since``
        is the mark's second; ids seen at that second are skipped). Each request is one of
        the user's 2,200 daily queries (bucket ``keyword_search``). The cursor names the
        query and the account (`cursor_tag`).

        Raises:
            UnsupportedQuery: see `compile_query`.
            ConfigurationError: ``cursor`` is not one this adapter made for this query and
                account (pass ``None``), before any request.
            RateLimited: the daily query limit is spent (bucket ``threads:keyword_search``).
            PlatformError: Threads refused (typed by `error_for`).
            MalformedResponse: an answer brandkit cannot read.
        """
        asks = self.compile_query(query)
        tag = cursor_tag(self.account.key, canonical_query(query))
        state = self._load_search_cursor(cursor, asks, tag)
        state.q = tag
        if query.since is not None and query.since.microsecond:
            # Threads gives a post's time to the second: one of since's own second may have
            # been written after since, and is kept rather than lost.
            query = query.model_copy(update={"since": query.since.replace(microsecond=0)})
        found: dict[str, Message] = {}
        read, more = 0, False
        for index, ask in enumerate(asks):
            earlier = list(asks[:index])
            progress = state.queries.setdefault(ask.key, _SearchState())
            if more:
                continue
            count, more = yield from self._keyword_read(
                ask, progress, query, earlier, found, limit - read
            )
            read += count
        return SearchPage(
            messages=sorted(found.values(), key=lambda m: (m.created_at, m.id)),
            cursor=state.model_dump_json(exclude_none=True),
            more=more,
            read=read,
        )

    def _keyword_read(
        self,
        ask: KeywordQuery,
        progress: _SearchState,
        query: Query,
        earlier: Sequence[KeywordQuery],
        found: dict[str, Message],
        budget: int,
    ) -> Flow[tuple[int, bool]]:
        mark = progress.mark
        params: dict[str, Any] = {
            "q": ask.q,
            "search_type": "RECENT",
            "search_mode": ask.mode,
            "fields": _FOUND_FIELDS,
            "limit": self.search_page,
        }
        since = max(mark.t if mark else 0, int(query.since.timestamp()) if query.since else 0)
        if since:
            params["since"] = since
        if query.until is not None:
            params["until"] = int(query.until.timestamp())
        if progress.top is None and mark is not None:
            progress.top = mark.model_copy(deep=True)
        read = 0
        while True:
            page_params = dict(params)
            if progress.after:
                page_params["after"] = progress.after
            # Meta invalidates a cursor whose post is deleted: the search reads from its
            # first page again, leaving out what it read before (down to floor).
            page, restarted = yield from self.get_from_cursor(
                "/keyword_search", page_params, _FoundPage
            )
            progress.again = progress.again or restarted
            older = False
            for item in page.data:
                when = item.timestamp
                second = int(when.timestamp())
                if progress.again and _behind(progress.floor, second, item.id, down=True):
                    continue
                if mark is not None and _behind(mark, second, item.id):
                    older = older or second < mark.t
                    continue
                progress.top = _moved(progress.top, second, item.id)
                progress.floor = _moved(progress.floor, second, item.id, down=True)
                text = item.searchable()
                if any(_claims(e, text) for e in earlier):
                    continue  # an earlier query of this search finds it (once)
                if query.matches(text, author=item.username or "", at=when):
                    found.setdefault(item.id, self._found(item))
            read += len(page.data)
            after = page.after()
            if older or not page.data or after is None:
                progress.mark = progress.top
                progress.top = None
                progress.after = None
                progress.floor = None
                progress.again = False
                return read, False
            progress.after = after
            if read >= budget:
                return read, True

    def _found(self, item: _Found) -> Message:
        handle = item.username
        return Message(
            platform=self.name,
            account=self.account.key,
            id=item.id,
            kind="found",
            # keyword_search never returns the owner: the author is known by username only.
            author=Author(
                id=handle or "",
                handle=handle,
                url=f"https://www.threads.net/@{handle}" if handle else None,
            ),
            text=item.text or "",
            created_at=item.timestamp,
            url=item.permalink,
            raw=item.raw,
        )

    def _load_search_cursor(
        self, cursor: str | None, asks: Sequence[KeywordQuery], tag: str
    ) -> _SearchCursor:
        if cursor is None:
            return _SearchCursor(v=1, queries={})
        try:
            state = _SearchCursor.model_validate_json(cursor)
        except (pydantic.ValidationError, ValueError):
            shown = cursor if len(cursor) <= 40 else cursor[:37] + "..."
            raise ConfigurationError(
                f"{shown!r} is not a Threads search cursor brandkit made: pass since=None to "
                "search from the start"
            ) from None
        if state.q is not None and state.q != tag:
            raise ConfigurationError(
                "this Threads search cursor was made for another query (or another account "
                f"than {self.account.key}): going on from it would skip this query's older "
                "posts; pass the cursor saved for this query, or since=None to search from "
                "the start"
            )
        if not set(state.queries) <= {a.key for a in asks}:
            raise ConfigurationError(
                "this Threads search cursor belongs to another query: pass since=None, or the "
                "cursor saved for this query"
            )
        return state

    def replies(self, refs: Sequence[PartRef]) -> Flow[list[Message]]:
        """Everyone else's replies under the post ``refs`` (every level, oldest first):
        ``GET /{media-id}/conversation?reverse=false``, at most `replies_max_pages` pages.

        Raises:
            PlatformError: Meta refused (typed by `error_for`).
            MalformedResponse: an answer brandkit cannot read.
        """
        yield from self.ensure_fresh_token()
        root = refs[0].id
        params: dict[str, Any] = {
            "fields": _ITEM_FIELDS,
            "limit": self.inbox_page,
            "reverse": "false",
        }
        items = yield from self.rest_of_edge(
            f"/{root}/conversation", params, _Item, None, max_pages=self.replies_max_pages
        )
        return [self._message(i, "reply", root) for i in items if not i.is_reply_owned_by_me]

    def reply_target(self, message: Message) -> PartRef:
        """The message as the parent of an answer (``reply_to_id``), with its conversation's
        root when that is another post."""
        self.check_message(message)
        extra: dict[str, Any] = {}
        if message.conversation and message.conversation != message.id:
            extra["root"] = PartRef(index=0, id=message.conversation).to_dict()
        return PartRef(index=0, id=message.id, url=message.url, extra=extra)

    def set_hidden(self, message: Message, hidden: bool) -> Flow[None]:
        """``POST /{reply-id}/manage_reply`` with ``hide``: hides (or shows again) a
        top-level reply under one of the account's posts, and the replies under it.

        Raises:
            Unsupported: ``message`` is a mention (only replies can be hidden).
            Rejected: Meta refused, e.g. for a reply nested under another reply (hide the
                top-level reply above it instead).
            PlatformError: Meta refused otherwise (typed by `error_for`).
        """
        if message.kind != "reply":
            raise self.unsupported(
                "hide", "hide a mention (only replies under the account's own posts)"
            )
        yield from self.ensure_fresh_token()
        request = self.request(
            "POST", f"/{message.id}/manage_reply", data={"hide": "true" if hidden else "false"}
        )
        response = yield Send(request, idempotent=True, bucket="threads")
        if not self.parse(response, _Success).success:
            raise Rejected(
                f"threads did not {'hide' if hidden else 'show'} reply {message.id} "
                '(it answered {"success": false})',
                platform=self.name,
                status_code=response.status_code,
            )

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
            if not gone(response):
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


def _claims(ask: KeywordQuery, text: str) -> bool:
    """Whether the query ``ask`` finds a post of ``text`` (as brandkit reads its match)."""
    if ask.mode == "TAG":
        return shows_hashtag(text, ask.q)
    return says(text, ask.q)


def _moved(mark: _Mark | None, when: int, item_id: str, *, down: bool = False) -> _Mark:
    """``mark``, moved in place (``None``: none yet, a new one), once an item seen at
    ``when`` was read too (`moved_mark`): up to it (a top), or ``down`` to it (the floor of
    a feed read newest first)."""
    if mark is None:
        return _Mark(t=when, ids=[item_id])
    mark.t, mark.ids = moved_mark(mark.t, mark.ids, [(when, item_id)], down=down)
    return mark


def _behind(mark: _Mark | None, when: int, item_id: str, *, down: bool = False) -> bool:
    """Whether an item seen at ``when`` was read by the reads that moved ``mark`` there
    (`behind_mark`): up to it (a feed's mark), or ``down`` (a floor: read before its
    cursor)."""
    return mark is not None and behind_mark(mark.t, mark.ids, when, item_id, down=down)
