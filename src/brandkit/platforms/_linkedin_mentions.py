"""Mentions of a LinkedIn page in its inbox: members' posts that ``@``-mention it.

LinkedIn gives them to apps only as Organization Social Action Notifications (action
``SHARE_MENTION``), by webhook or with the pull finder this module reads
(learn.microsoft.com, *Organization Social Action Notifications*)::

    GET /rest/organizationalEntityNotifications?q=criteria&actions=List(SHARE_MENTION)
        &organizationalEntity={page URN, encoded}&timeRange=(start:{ms},end:{ms})

It needs ``rw_organization_admin`` and the ADMINISTRATOR role on the page, and keeps
notifications 60 days. `with_mentions` wraps the comment inbox of
`brandkit.platforms.linkedin.LinkedInAdapter`: it reads the comments as before, then, at
the start of each round of reads, asks the finder for the mentions since its mark, and
keeps the mark in the same JSON cursor under ``"m"``.

What LinkedIn's pages do not settle, and how it is read here:

- which field names the mentioning post for ``SHARE_MENTION``: ``generatedActivity`` when it
  is a post URN, else ``sourcePost``;
- whether its text comes along: ``decoratedGeneratedActivity.share.text`` or
  ``decoratedSourcePost.text`` when present; else one ``GET /rest/posts/{urn}`` per
  mention named by a share or ugcPost URN (the Posts API takes no activity URN), at most
  `MENTION_READS` a read, a refusal of it (403, 404, 410) leaving the text empty and the
  author unknown rather than failing the inbox;
- the order of the elements (none is assumed: every page of the range is read, at most
  `MENTION_PAGES`) and whether ``timeRange`` includes its ends (the range starts
  `SLACK_MS` before the newest mention seen, and the notifications seen since then are
  remembered, so an overlap comes back once).

A mention *in a comment* is not read: LinkedIn documents no notification action for it
(``COMMENT_MENTION``, which some clients send, is not among the documented actions).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import quote

import attrs
import pydantic

from brandkit._flow import Flow
from brandkit.errors import ConfigurationError
from brandkit.inbox._model import Author, InboxPage, Message
from brandkit.platforms._base import Answer

if TYPE_CHECKING:
    from brandkit.platforms.linkedin import LinkedInAdapter

__all__ = [
    "MENTION_PAGES",
    "MENTION_READS",
    "PAUSE_MS",
    "RETENTION_MS",
    "SLACK_MS",
    "with_mentions",
]

logger = logging.getLogger(__name__)

RETENTION_MS = 60 * 86_400_000
"""LinkedIn keeps notifications 60 days for the pull finder."""
SLACK_MS = 10 * 60_000
"""How far before the newest mention seen the next range starts: a notification LinkedIn
indexes a little late (or stamps on a clock a little behind) is still in it."""
MENTION_PAGE = 100
"""Notifications asked for per page (``count``)."""
MENTION_PAGES = 10
"""Most pages of notifications read in one read."""
MENTION_READS = 20
"""Most mentioning posts read back (``GET /rest/posts/{urn}``) in one read, for mentions
whose notification carries no text."""
PAUSE_MS = 86_400_000
"""How long the finder is not asked again after it refused the page (a token without
``rw_organization_admin``, or a request LinkedIn does not take): a day, so that the comments
are read at every sync and the refusal is logged once a day, not at every sync."""
_REFUSED = frozenset({400, 403, 404, 422})
"""The finder's refusals that leave the comments to be read as before (see `PAUSE_MS`);
others (401, 429, 5xx) fail the read as any request's do."""
_MAX_SEEN = 1000
"""Notifications the mark remembers (those within `SLACK_MS` of the newest)."""

_Int = Annotated[int, pydantic.Strict()]
_Ms = Annotated[_Int, pydantic.Field(ge=0, le=253_402_300_799_000)]
_POST = re.compile(r"urn:li:(?:share|ugcPost|activity):\S+")
_READABLE = re.compile(r"urn:li:(?:share|ugcPost):\S+")
"""The posts ``GET /rest/posts/{urn}`` takes (an ``urn:li:activity:`` is not one)."""


class _Decorated(Answer):
    entity: str | None = None
    owner: str | None = None
    text: str | None = None


class _DecoratedActivity(Answer):
    share: _Decorated | None = None


class _Notification(Answer):
    notificationId: _Int
    action: str
    organizationalEntity: str | None = None
    lastModifiedAt: _Ms
    sourcePost: str | None = None
    generatedActivity: str | None = None
    decoratedSourcePost: _Decorated | None = None
    decoratedGeneratedActivity: _DecoratedActivity | None = None


class _Paging(Answer):
    start: _Int = 0
    count: _Int = 0
    total: _Int | None = None


class _NotificationPage(Answer):
    """A page of notifications, each read on its own (see `Adapter.read_items`)."""

    paging: _Paging = _Paging()
    elements: tuple[Any, ...] = ()


class _NotificationMark(Answer):
    """What places a notification brandkit cannot read otherwise: its id and time."""

    notificationId: _Int
    lastModifiedAt: _Ms


def _notification_id(item: Mapping[str, Any]) -> object:
    """The id a notification names itself by (for a warning about it)."""
    return item.get("notificationId")


class _MemberPost(Answer):
    id: str
    author: str
    commentary: str = ""
    createdAt: _Ms | None = None
    publishedAt: _Ms | None = None


@attrs.frozen
class _Mark:
    """Where the mentions stand: the newest ``lastModifiedAt`` taken (ms, -1 for none),
    the notifications taken since `SLACK_MS` before it (id -> ms), and whether more were
    left for the next read."""

    time: int = -1
    seen: Mapping[str, int] = attrs.field(factory=dict)
    more: bool = False
    paused_until: int = 0

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"t": self.time, "seen": dict(self.seen), "more": self.more}
        if self.paused_until:
            data["off"] = self.paused_until
        return data


CommentsInbox = Callable[..., Flow[InboxPage]]


def with_mentions(
    adapter: LinkedInAdapter, cursor: str | None, *, limit: int, comments: CommentsInbox
) -> Flow[InboxPage]:
    """The new comments (``comments(cursor, limit=)``, the adapter's comment inbox) and
    then the page's new mentions, oldest first, with one cursor for both.

    Mentions are read at the start of a round (a cursor that holds no posts left to read)
    or when the last read left some, up to what ``limit`` leaves after the comments (at
    least one); a member's account has none (notifications are for pages). ``more`` is set
    when either read stopped at ``limit``. A refusal of the finder for want of permission
    (403), or of the request's shape (400, 404, 422), is logged and the comments are read
    as before: the mark stays, and the finder is asked again a day later (`PAUSE_MS`).

    Raises:
        ConfigurationError: the cursor's mention mark is not one brandkit made.
        PlatformError: LinkedIn refused (typed by the adapter's ``error_for``), except the
            finder's refusals above and the read-back refusals in the module docstring.
        MalformedResponse: an answer brandkit cannot read.
    """
    if not adapter.is_organization:
        page: InboxPage = yield from comments(cursor, limit=limit)
        return page
    data = _cursor_data(cursor)
    mark = _read_mark(data.get("m"))
    # The comments first: a cursor the comment inbox refuses is refused before a request.
    page = yield from comments(cursor, limit=limit)
    found: list[Message] = []
    if "todo" not in data or mark.more:
        # At least one, so that a read full of comments still moves the mentions on (the
        # comment inbox, too, goes past ``limit`` to the end of a post).
        room = max(1, limit - len(page.messages))
        found, mark = yield from _read_mentions(adapter, mark, limit=room)
    messages = sorted([*page.messages, *found], key=lambda m: m.created_at)
    return InboxPage(
        messages=messages,
        cursor=_join(page.cursor, mark),
        more=page.more or mark.more,
        requests=page.requests,
    )


def _read_mentions(
    adapter: LinkedInAdapter, mark: _Mark, *, limit: int
) -> Flow[tuple[list[Message], _Mark]]:
    """The mentions since ``mark``, the oldest ``limit`` of them, and the mark after."""
    now = int(adapter.clock() * 1000)
    if now < mark.paused_until:
        return [], mark  # refused lately (see PAUSE_MS): the comments alone, no request
    query = f"q=criteria&actions=List(SHARE_MENTION)&organizationalEntity={_enc(adapter.author)}"
    if mark.time >= 0:
        # Never before what LinkedIn still keeps. The end is this read's alone (the next
        # range starts from the newest mention taken, not from it), `SLACK_MS` past this
        # host's clock: one that lags LinkedIn's delays nothing, one that lags more only
        # delays a mention to a later read.
        start = max(mark.time - SLACK_MS, now - RETENTION_MS + 3_600_000)
        query += f"&timeRange=(start:{start},end:{max(now, start) + SLACK_MS})"
    notes: dict[str, tuple[_Notification, dict[str, Any]]] = {}
    # Those brandkit cannot read, by id, with their time: kept as seen, so that the next
    # read neither logs nor reads them again.
    skipped: dict[str, int] = {}

    def placed(item: Any) -> bool:
        try:
            found = _NotificationMark.model_validate(item)
        except pydantic.ValidationError:
            return False
        key = str(found.notificationId)
        skipped[key] = found.lastModifiedAt
        return key in mark.seen

    offset, pages = 0, 0
    while pages < MENTION_PAGES:
        pages += 1
        q = f"{query}&start={offset}&count={MENTION_PAGE}"
        response = yield from adapter._send(
            lambda q=q: adapter._request(  # type: ignore[misc]
                "GET", "/rest/organizationalEntityNotifications", query=q, restli_method="FINDER"
            ),
            bucket="read",
            idempotent=True,
        )
        if response.status_code in _REFUSED and offset == 0:
            # The comments, read already, still come: mentions are what LinkedIn documents
            # least, and a refusal of them must not stop the inbox that works.
            logger.warning(
                "%s: LinkedIn refused the page's notifications (%s), so mentions are not "
                "read (asked again in a day; the comments are read as before): the token "
                "needs rw_organization_admin and the member the ADMINISTRATOR role on %s",
                adapter.account.key,
                adapter.account.redact(str(adapter.error_for(response))),
                adapter.author,
            )
            return [], attrs.evolve(mark, more=False, paused_until=now + PAUSE_MS)
        page = adapter.parse(response, _NotificationPage)
        readable = adapter.read_items(
            page.elements, _Notification, "notification", _notification_id, logger, quiet=placed
        )
        for note, item in readable:
            notes.setdefault(str(note.notificationId), (note, dict(item)))
        offset += len(page.elements)
        size = page.paging.count if 0 < page.paging.count < MENTION_PAGE else MENTION_PAGE
        total = page.paging.total
        if len(page.elements) < size or (total is not None and offset >= total):
            break
    else:
        logger.warning(
            "%s: more than %d pages of LinkedIn notifications since the last read; the "
            "mentions past them are not read",
            adapter.account.key,
            MENTION_PAGES,
        )
    new = sorted(
        (
            (note, item)
            for key, (note, item) in notes.items()
            if key not in mark.seen
            and note.action == "SHARE_MENTION"
            and note.organizationalEntity in (None, adapter.author)
            and note.lastModifiedAt >= mark.time - SLACK_MS
        ),
        key=lambda pair: pair[0].lastModifiedAt,
    )
    taken, left = new[:limit], new[limit:]
    messages: list[Message] = []
    reads = 0
    for note, item in taken:
        message, read = yield from _message(adapter, note, item, may_read=reads < MENTION_READS)
        reads += read
        if message is not None:
            messages.append(message)
    newest = max([mark.time, *(n.lastModifiedAt for n, _ in taken)])
    seen = {
        **{k: t for k, t in mark.seen.items() if t >= newest - SLACK_MS},
        **{str(n.notificationId): n.lastModifiedAt for n, _ in taken},
        **{k: t for k, t in skipped.items() if t >= newest - SLACK_MS},
    }
    kept = dict(sorted(seen.items(), key=lambda kv: kv[1])[-_MAX_SEEN:])
    return messages, _Mark(time=newest, seen=kept, more=bool(left))


def _message(
    adapter: LinkedInAdapter, note: _Notification, item: dict[str, Any], *, may_read: bool
) -> Flow[tuple[Message | None, int]]:
    """The mention ``note`` as a `Message` (``None`` when it names no post), and how many
    read-backs it cost (0 or 1)."""
    from brandkit.platforms.linkedin import post_url, visible_text

    post = note.generatedActivity if _is_post(note.generatedActivity) else note.sourcePost
    if not _is_post(post):
        logger.warning(
            "%s: a LinkedIn SHARE_MENTION notification (%s) names no post; skipped",
            adapter.account.key,
            note.notificationId,
        )
        return None, 0
    assert post is not None
    decorated = next(
        (
            d
            for d in (
                note.decoratedGeneratedActivity.share if note.decoratedGeneratedActivity else None,
                note.decoratedSourcePost,
            )
            if d is not None and d.text is not None and d.entity in (None, post)
        ),
        None,
    )
    author, text, created, read = (decorated.owner if decorated else None), None, None, 0
    if decorated is not None:
        text = decorated.text
    elif may_read and _READABLE.fullmatch(post):
        read = 1
        response = yield from adapter._send(
            lambda: adapter._request("GET", f"/rest/posts/{_enc(post)}"),
            bucket="read",
            idempotent=True,
        )
        if response.status_code in (403, 404, 410):
            # A member's post the page may not read (LinkedIn grants reading members' posts
            # with the restricted r_member_social), or one deleted since: the mention is
            # kept with what the notification says.
            logger.info(
                "%s: LinkedIn refused to show the post %s that mentions the page (%d)",
                adapter.account.key,
                post,
                response.status_code,
            )
        else:
            body = adapter.parse(response, _MemberPost)
            author, text = body.author, body.commentary
            created = body.publishedAt or body.createdAt
    when = datetime.fromtimestamp((created or note.lastModifiedAt) / 1000, UTC)
    actor = author or ""
    message = Message(
        platform=adapter.name,
        account=adapter.account.key,
        id=post,
        kind="mention",
        author=Author(id=actor, handle=actor.rsplit(":", 1)[-1] or None),
        text=visible_text(text) if text else "",
        created_at=when,
        url=post_url(post),
        conversation=post,
        raw=item,
        extra={"post": post, "notification_id": str(note.notificationId)},
    )
    return message, read


def _is_post(urn: str | None) -> bool:
    return urn is not None and _POST.fullmatch(urn) is not None


def _enc(urn: str) -> str:
    return quote(urn, safe="")


def _cursor_data(cursor: str | None) -> dict[str, Any]:
    """The cursor's JSON object (empty for none, or for one the comment inbox will refuse
    with its own error)."""
    if cursor is None:
        return {}
    try:
        data = json.loads(cursor)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _read_mark(value: Any) -> _Mark:
    """The mention mark kept in the cursor under ``"m"``.

    Raises:
        ConfigurationError: it is not one `with_mentions` wrote.
    """
    if value is None:
        return _Mark()
    try:
        time, seen, more = value["t"], value["seen"], value["more"]
        off = value.get("off", 0)
        if not (isinstance(time, int) and not isinstance(time, bool) and time >= -1):
            raise ValueError("bad time")
        if not (isinstance(off, int) and not isinstance(off, bool) and off >= 0):
            raise ValueError("bad pause")
        if not isinstance(seen, dict) or not all(
            isinstance(k, str) and isinstance(t, int) and not isinstance(t, bool)
            for k, t in seen.items()
        ):
            raise ValueError("bad seen notifications")
        if not isinstance(more, bool):
            raise ValueError("bad more")
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigurationError(
            f"this is not a LinkedIn inbox cursor brandkit made (its mentions: {exc}): pass "
            "since=None to read from the start"
        ) from None
    return _Mark(time=time, seen=dict(seen), more=more, paused_until=off)


def _join(cursor: str | None, mark: _Mark) -> str | None:
    """The comment inbox's cursor with the mention mark in it."""
    data = _cursor_data(cursor)
    if cursor is not None and not data:
        return cursor
    data["m"] = mark.to_json()
    return json.dumps(data, separators=(",", ":"))
