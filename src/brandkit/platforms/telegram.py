"""Telegram Bot API: posts to a channel or group as a bot that is an admin there.

Facts used here (``platforms.md`` §8, checked against the Bot API 10.1 spec and tdlib):

- Every call is ``https://api.telegram.org/bot<token>/<method>``: the token is part of the
  URL, so URLs are never logged or put in messages unredacted (the drivers redact with
  `brandkit.Account.redact`; this module never builds messages from URLs).
- Text goes out with ``sendMessage``; one photo, GIF or video with ``sendPhoto`` /
  ``sendAnimation`` / ``sendVideo`` (multipart); 2-10 photos and videos as an album with
  ``sendMediaGroup``, the caption on the first item. Albums cannot hold GIFs.
- Formatting: brandkit sends no ``parse_mode``. The text goes out exactly as written, with
  the entities `brandkit.render` found (URLs, mentions, hashtags; offsets in UTF-16
  code units) in ``entities`` / ``caption_entities``. No character of the text can then be
  taken for markup, so "can't parse entities" cannot happen.
- Limits: 4096 characters of text, 1024 of caption (``render`` applies the caption limit
  when the post has media). tdlib counts code points; brandkit counts UTF-16 units, which is
  never more lenient.
- Pacing: about 1 message per second per chat, 20 per minute per group or channel, 30 per
  second for the whole bot (an album counts one message per item). A 429 carries
  ``parameters.retry_after`` in its body; there are no rate-limit headers.
- No idempotency and no read-back: a create whose answer was lost cannot be looked up, so
  such a delivery ends ``unknown`` (`find_part` is not overridden).
- The Bot API exposes no view counts (``Message`` has no ``views``); metrics come back
  unavailable with the reason, and the account metric is ``getChatMemberCount``.
- Conversations (`TelegramAdapter.inbox`): a channel's comments live in its linked
  discussion group, where each post arrives as an automatic forward and comments reply to
  it. The bot (an admin there) reads them with ``getUpdates``; the cursor is the next
  ``offset``, and passing it confirms what was read (Telegram keeps unconfirmed updates 24
  hours and offers no history), so an inbox read is one ``getUpdates`` page: the offset
  that confirms it goes out with the next read, after the caller stored this one. Private
  messages to the bot are read as mentions. Answers go to the discussion group (or private
  chat) with ``reply_parameters``; ``deleteMessage`` deletes a comment,
  ``setMessageReaction`` likes it; nothing can be hidden.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import IO, TYPE_CHECKING, Annotated, Any, ClassVar, Literal, TypeVar, cast

import httpx
import pydantic

from brandkit._counts import MetricCount
from brandkit._flow import Flow, Send
from brandkit.errors import (
    AuthError,
    ConfigurationError,
    ContentError,
    MediaError,
    PlatformError,
    PlatformUnavailable,
    RateLimited,
    Rejected,
)
from brandkit.inbox._model import Author, InboxPage, Message
from brandkit.metrics._sample import Metric, MetricSample
from brandkit.platforms._base import (
    Adapter,
    Answer,
    Capabilities,
    PartRef,
    RatePolicy,
    ThreadContext,
    retry_after_of,
    wait_seconds,
)
from brandkit.platforms._capabilities import BUILTIN_CAPABILITIES

if TYPE_CHECKING:
    from brandkit.accounts import Account
    from brandkit.content._media import Media
    from brandkit.content._render import Rendered, RenderedPart

__all__ = ["TelegramAdapter", "public_link"]

_SINGLE: dict[str, tuple[str, str]] = {
    "image": ("sendPhoto", "photo"),
    "gif": ("sendAnimation", "animation"),
    "video": ("sendVideo", "video"),
}
logger = logging.getLogger(__name__)

_ALBUM_TYPE = {"image": "photo", "video": "video"}
# sendPhoto: "The photo's width and height must not exceed 10000 in total. Width and height
# ratio must be at most 20."
_MAX_PHOTO_SIDES = 10000
_MAX_PHOTO_RATIO = 20
# A public chat's username (5-32 letters, digits and "_", a letter first) and its t.me link.
_USERNAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{4,31}")
_CHAT_LINK = re.compile(r"(?:https?://)?(?:t\.me|telegram\.me)/@?([A-Za-z0-9_]+)/?")
# Message and topic ids are 32-bit in Telegram's protocol.
_MAX_MESSAGE_ID = 2**31 - 1
# Update ids are 32-bit too: the Bot API gives update_id none of the "more than 32
# significant bits" notes of its larger ids, and its server reads ``offset`` as a signed
# 32-bit integer, wrapping a larger number around (to a negative offset, which drops all but
# the last updates, when bit 31 is set); its own ids stop at 2,000,000,000. An id counts
# only when the offset after it fits.
_MAX_OFFSET = 2**31 - 1
_MAX_UPDATE_ID = _MAX_OFFSET - 1
# The Bot API server's queue takes an offset up to 10 past its next update id; one further
# is "in the future", and the server answers it from the queue's start, confirming nothing.
_FUTURE_SLACK = 10

M = TypeVar("M", bound=pydantic.BaseModel)

# -- answers ---------------------------------------------------------------------------------
# Every Bot API success is ``{"ok": true, "result": ...}``; ids and counts are JSON integers.

_Int = Annotated[int, pydantic.Strict()]


class _Message(Answer):
    message_id: _Int


class _Sent(Answer):
    """``sendMessage``/``sendPhoto``/``sendAnimation``/``sendVideo``: the Message."""

    ok: Literal[True]
    result: _Message


class _SentAlbum(Answer):
    """``sendMediaGroup``: one Message per item."""

    ok: Literal[True]
    result: Annotated[tuple[_Message, ...], pydantic.Field(min_length=1)]


class _Chat(Answer):
    username: str | None = None


class _ChatAnswer(Answer):
    """``getChat``: the chat, of which brandkit reads the public username."""

    ok: Literal[True]
    result: _Chat


class _User(Answer):
    id: _Int
    is_bot: bool = False
    first_name: str = ""
    last_name: str | None = None
    username: str | None = None


class _ChatRef(Answer):
    id: _Int
    type: str
    title: str | None = None
    username: str | None = None


class _Origin(Answer):
    """``forward_origin`` (``MessageOriginChannel`` for an automatic forward)."""

    type: str
    chat: _ChatRef | None = None
    message_id: _Int | None = None


class _Replied(Answer):
    """``reply_to_message``: what a message answers (Telegram sends it one level deep)."""

    message_id: _Int
    is_automatic_forward: bool = False
    forward_origin: _Origin | None = None


class _InMessage(Answer):
    """A ``message`` of an update, as the inbox reads it."""

    message_id: _Int
    message_thread_id: _Int | None = None
    from_: _User | None = pydantic.Field(default=None, alias="from")
    # Set when the message was sent on behalf of a chat: a channel a user commented as, the
    # group itself (an anonymous admin), the linked channel (an automatic forward).
    sender_chat: _ChatRef | None = None
    chat: _ChatRef
    # Unix time: bounded to what a clock holds (a garbled one is a malformed answer).
    date: Annotated[_Int, pydantic.Field(ge=0, le=253_402_300_799)]
    text: str | None = None
    caption: str | None = None
    # Unix time of its last edit (an ``edited_message``), bounded as ``date`` is.
    edit_date: Annotated[_Int, pydantic.Field(ge=0, le=253_402_300_799)] | None = None
    reply_to_message: _Replied | None = None
    is_automatic_forward: bool = False
    forward_origin: _Origin | None = None


class _Update(Answer):
    # Telegram's update ids are positive ("start from a certain positive number"): the next
    # offset is one past an update's id, and a negative offset asks for the last updates.
    update_id: Annotated[_Int, pydantic.Field(ge=1, le=_MAX_UPDATE_ID)]
    message: _InMessage | None = None
    # The message as it is after an edit (Telegram sends each edit as its own update).
    edited_message: _InMessage | None = None


class _RawUpdates(Answer):
    """``getUpdates``: the updates, oldest first, each read on its own (`_Update`)."""

    ok: Literal[True]
    result: tuple[dict[str, pydantic.JsonValue], ...]


_MAX_THREADS = 1000
"""Comment threads (automatic forward -> post) the inbox cursor remembers, newest kept."""
_MAX_GIVEN = 1000
"""Messages (`_given_key`) the inbox cursor remembers having given, newest kept: those of
the last page, and while the offset cannot move (see `TelegramAdapter.inbox`) those of
every page read at it."""
_GIVEN_KEY = re.compile(r"-?[0-9]{1,20}:[0-9]{1,20}(?:@[0-9]{1,12})?")
"""A key the cursor keeps (`_given_key`): ``chat:message``, ``@edit`` time if edited."""


class _CountAnswer(Answer):
    """``getChatMemberCount``."""

    ok: Literal[True]
    result: MetricCount


# The updates the inbox reads: new messages, and the edits of those not yet read (a
# ``message`` update keeps the text first sent).
_UPDATE_KINDS = ["message", "edited_message"]

_NO_METRICS: tuple[tuple[Metric, str], ...] = (
    (
        Metric.IMPRESSIONS,
        "the Bot API exposes no view counts (Message has no views); Telegram shows them "
        "only to user clients (MTProto)",
    ),
    (
        Metric.LIKES,
        "the Bot API has no call to read reactions; they reach a bot admin only as "
        "message_reaction_count updates, which brandkit does not listen to",
    ),
    (Metric.REPOSTS, "the Bot API does not count forwards"),
    (
        Metric.REPLIES,
        "comments live in the channel's linked discussion group; the Bot API cannot count them",
    ),
)


def public_link(chat: str | int, message_id: int | str, username: str | None = None) -> str | None:
    """The ``t.me`` link of a message: ``https://t.me/<username>/<id>`` for a public channel
    or group, ``https://t.me/c/<id without -100>/<id>`` for a private one (it opens for
    members only), ``None`` for other chats (private chats and basic groups have no links).
    """
    name = username or (str(chat)[1:] if str(chat).startswith("@") else None)
    if name:
        return f"https://t.me/{name}/{message_id}"
    text = str(chat)
    if text.startswith("-100") and text[4:].isdigit():
        return f"https://t.me/c/{text[4:]}/{message_id}"
    return None


class TelegramAdapter(Adapter):
    """Publishes to one Telegram chat (``Account.telegram(bot_token=, chat_id=)``); see the
    module docstring for the protocol.

    ``Post.options`` understood here: ``disable_notification`` (send silently),
    ``protect_content``, ``message_thread_id`` (a forum topic) and ``link_preview``
    (``False`` turns the preview of the first link off).

    Attributes:
        update_page: updates asked for per ``getUpdates`` (``limit``, at most 100); an
            inbox read is one such request.
    """

    name: ClassVar[str] = "telegram"
    # Comments in the discussion group and private messages to the bot are read and
    # answered; a bot admin deletes comments and reacts; nothing can be hidden.
    capabilities: ClassVar[Capabilities] = BUILTIN_CAPABILITIES["telegram"]
    # Telegram's FAQ: about 1 message/s in one chat, 20/min in one group, 30/s for the bot.
    rate_policies: ClassVar[tuple[RatePolicy, ...]] = (
        RatePolicy("send", 1, 1.0),
        RatePolicy("send", 20, 60.0),
        RatePolicy("send", 30, 1.0, scope="app"),
    )
    # Metrics cost no request at all, so any batch is one "request".
    metrics_batch_size: ClassVar[int] = 100
    update_page: ClassVar[int] = 100

    def __init__(self, account: Account) -> None:
        super().__init__(account)
        self._username: str | None = None
        self._looked_up = False

    # -- identity ----------------------------------------------------------------------------

    @property
    def app_id(self) -> str:
        """The bot: every chat it posts to shares its 30 messages per second."""
        host = httpx.URL(self.account.base_url).host
        return f"{host}:{self._bot_id}" if self._bot_id is not None else host

    @property
    def _bot_id(self) -> int | None:
        """The bot's user id: the part of its token before ``:`` (public, not the secret),
        or ``None`` for a token without one."""
        head = (self.account.secret("bot_token") or "").partition(":")[0]
        return int(head) if head.isascii() and head.isdigit() else None

    @property
    def chat_id(self) -> str | int:
        """The chat as the Bot API takes it: ``"@username"`` or a numeric id."""
        raw = self.account.settings["chat_id"]
        if isinstance(raw, str) and raw.lstrip("-").isdigit():
            return int(raw)
        return cast("str | int", raw)

    def public_url(self, ref: PartRef) -> str | None:
        """The message's ``t.me`` link, if the chat has links (see `public_link`)."""
        return ref.url or public_link(self.chat_id, ref.id, self._username)

    # -- requests ----------------------------------------------------------------------------

    def _url(self, method: str) -> str:
        return f"{self.account.base_url}/bot{self.account.secret('bot_token') or ''}/{method}"

    def _json(self, method: str, body: Mapping[str, Any]) -> httpx.Request:
        content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        return httpx.Request(
            "POST", self._url(method), content=content, headers={"content-type": "application/json"}
        )

    def _multipart(
        self, method: str, fields: Mapping[str, Any], files: Mapping[str, Media]
    ) -> httpx.Request:
        data = {
            k: v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, separators=(",", ":"))
            for k, v in fields.items()
        }
        parts = {
            name: (media.filename, cast(IO[bytes], _MediaFile(media)), media.mime_type)
            for name, media in files.items()
        }
        return httpx.Request("POST", self._url(method), data=data, files=parts)

    # -- prepare -----------------------------------------------------------------------------

    def prepare(self) -> Flow[Capabilities]:
        """For a numeric chat id, learn the chat's username once (``getChat``) so that
        public channels get ``t.me/<username>/<id>`` links; ``@username`` chats need no
        request.

        Raises:
            PlatformError: Telegram refused (typed by `error_for`), e.g. the chat does
                not exist for this bot.
        """
        if not self._looked_up and isinstance(self.chat_id, int):
            response = yield Send(
                self._json("getChat", {"chat_id": self.chat_id}), idempotent=True, bucket="api"
            )
            username = self.parse(response, _ChatAnswer).result.username
            self._username = username or None
        self._looked_up = True
        return self.capabilities

    # -- publish -----------------------------------------------------------------------------

    def publish_part(
        self, rendered: Rendered, part: RenderedPart, thread: ThreadContext
    ) -> Flow[PartRef]:
        """Send the part: ``sendMessage`` for text, ``sendPhoto``/``sendAnimation``/
        ``sendVideo`` for one attachment, ``sendMediaGroup`` for 2-10, as a reply to
        ``thread.parent`` when there is one. The create is never repeated blindly: Telegram
        has no idempotency.

        Raises:
            ContentError: a GIF in an album (Telegram albums take photos and videos only);
                an option of the wrong kind (``message_thread_id`` not a whole number from 1
                to 2**31-1, ``disable_notification`` or ``protect_content`` not a bool).
            MediaError: a photo whose width and height add up to more than 10000 pixels, or
                whose sides differ more than 20 times (Telegram refuses it).
            PlatformError: Telegram refused (typed by `error_for`).
            MalformedResponse: Telegram answered success without the message ids (the
                messages may exist: the delivery is then ``unknown``).
        """
        for index, item in enumerate(part.media):
            _check_photo(item, index, self.name)
        common: dict[str, Any] = {"chat_id": self.chat_id}
        if thread.reply_to is not None and not thread.previous:
            # An answer goes where the message is: the discussion group or a private chat.
            chat = thread.reply_to.extra.get("chat_id")
            if chat is not None:
                common["chat_id"] = int(chat) if str(chat).lstrip("-").isdigit() else chat
        options = rendered.options
        topic = _topic_option(options.get("message_thread_id"), self.name)
        if topic is not None:
            common["message_thread_id"] = topic
        for key in ("disable_notification", "protect_content"):
            if _flag_option(options, key, self.name):
                common[key] = True
        if thread.parent is not None:
            common["reply_parameters"] = {"message_id": int(thread.parent.id)}
        text = part.text
        entities = [dict(e) for e in part.entities]
        media = part.media
        if not media:
            if not text.strip() and rendered.link is not None:
                text = rendered.link.url
            body: dict[str, Any] = {**common, "text": text}
            if entities:
                body["entities"] = entities
            if options.get("link_preview") is False:
                body["link_preview_options"] = {"is_disabled": True}
            elif rendered.link is not None:
                body["link_preview_options"] = {"url": rendered.link.url}
            request = self._json("sendMessage", body)
        elif len(media) == 1:
            method, field = _SINGLE[media[0].kind]
            fields = dict(common)
            if text:
                fields["caption"] = text
                if entities:
                    fields["caption_entities"] = entities
            request = self._multipart(method, fields, {field: media[0]})
        else:
            if any(m.kind == "gif" for m in media):
                raise ContentError(
                    "telegram albums take photos and videos only: post the GIF on its own",
                    field="media",
                    platform=self.name,
                )
            items: list[dict[str, Any]] = [
                {"type": _ALBUM_TYPE[m.kind], "media": f"attach://file{i}"}
                for i, m in enumerate(media)
            ]
            if text:
                items[0]["caption"] = text
                if entities:
                    items[0]["caption_entities"] = entities
            files = {f"file{i}": m for i, m in enumerate(media)}
            request = self._multipart("sendMediaGroup", {**common, "media": items}, files)
        response = yield Send(request, creates=True, bucket="send", cost=max(1, len(media)))
        if len(media) > 1:
            ids = [m.message_id for m in self.parse(response, _SentAlbum).result]
        else:
            ids = [self.parse(response, _Sent).result.message_id]
        chat_id = common["chat_id"]
        own = chat_id == self.chat_id
        return PartRef(
            index=part.index,
            id=str(ids[0]),
            url=public_link(chat_id, ids[0], self._username if own else None),
            extra={"chat_id": str(chat_id), "message_ids": ids},
        )

    # -- delete ------------------------------------------------------------------------------

    def delete_part(self, ref: PartRef) -> Flow[None]:
        """Delete the part's messages (every message of an album) with ``deleteMessage``;
        one that is already gone counts as deleted.

        Raises:
            Rejected: Telegram will not delete it ("message can't be deleted": older than
                48 hours, or the bot lacks the right).
            PlatformError: another refusal (typed by `error_for`).
        """
        chat = ref.extra.get("chat_id", self.chat_id)
        if isinstance(chat, str) and chat.lstrip("-").isdigit():
            chat = int(chat)
        for message_id in ref.extra.get("message_ids") or [ref.id]:
            response = yield Send(
                self._json("deleteMessage", {"chat_id": chat, "message_id": int(message_id)}),
                idempotent=True,
                bucket="api",
            )
            if response.status_code == 400 and "not found" in _description(response):
                continue
            self.check(response)

    # -- conversations -----------------------------------------------------------------------

    def inbox(self, cursor: str | None, *, limit: int) -> Flow[InboxPage]:
        """The new comments on the channel's posts (messages in its linked discussion group
        that answer a post's automatic forward, or another comment in its thread) and the
        messages written to the bot in private chats (kind ``"mention"``), read with
        ``getUpdates`` (``allowed_updates=["message", "edited_message"]``, no wait). A
        message edited before it is read comes as its last edit shows it; an edit of one
        read before comes again, as it is now, with ``edited_at``.

        The cursor is the next ``offset``: passing it confirms every earlier update to
        Telegram, which then never sends them again (a bot has no history to read back).
        So one read is one ``getUpdates`` of ``min(limit, update_page)`` updates: a second
        page would confirm the first before the caller could store it, and lose it if that
        request then failed. A full page sets ``more``; the next read, from the returned
        cursor, confirms this page only then.

        The cursor names the bot (its user id, never the token): the offset of another
        bot's cursor would confirm, and so delete, this bot's unread updates, so such a
        cursor is refused before any request. A cursor saved before it named its bot is
        read as this bot's.

        Raises:
            ConfigurationError: ``cursor`` is not one this adapter made (pass ``None``), it
                was made for another bot, a webhook is set for the bot, or another process
                reads its updates (Telegram then refuses ``getUpdates``).
            PlatformError: Telegram refused (typed by `error_for`).
            MalformedResponse: an answer brandkit cannot read.

        A garbled ``update_id`` (far ahead, already confirmed, past 32 bits) is left out of
        the offset, which the page's other ids make (`_next_offset`): it confirms the
        garbled update with them, and the next read goes on past it. A page none of whose
        ids can move the offset (the garbled updates last in Telegram's queue, nothing
        readable after them yet) is no error: its messages are returned, the cursor kept,
        and a warning logged once for that offset; the first readable update after them
        confirms them. Telegram sends such a page again at every read, so the cursor keeps
        the keys of the messages it gave (those of the last page, and while the offset
        stands still those of every page read at it; `_MAX_GIVEN`): a message comes once,
        an edit of it again (its key holds the edit time).
        """
        offset, threads, bot, given, warned = _read_cursor(cursor, self.account.key)
        if bot is not None and bot != self._bot_id:
            raise ConfigurationError(
                f"this Telegram inbox cursor belongs to another bot ({bot}) than the one of "
                f"{self.account.key} ({self._bot_id}): pass since=None, or the cursor saved "
                "for this account"
            )
        # Each update gives at most one message, so this many updates stay within limit.
        asked = max(1, min(self.update_page, limit))
        body: dict[str, Any] = {"limit": asked, "timeout": 0, "allowed_updates": _UPDATE_KINDS}
        if offset is not None:
            body["offset"] = offset
        updates, listed = yield from self._updates(body)
        # One past the highest id that can be Telegram's (`_next_offset`), not the last
        # listed: updates may come out of order, and the offset is "greater by one than the
        # highest among the identifiers of previously received updates". It may be below
        # the cursor's: after a week without updates Telegram picks the next id at random,
        # and answers an offset past its queue from the queue's start, so an offset held
        # above would get the same updates forever (a confirmed update is gone: a lower
        # offset gets nothing twice).
        after = _next_offset([u.update_id for u, _ in updates], listed, offset)
        # No offset can confirm these updates: Telegram sends them again at every read
        # until a readable update after them does (or it drops them after 24 hours).
        stuck = listed > 0 and (after is None or after == offset)
        messages = self._read_updates(updates, threads)
        # Telegram sends again what no offset confirmed: the same page, at every read, until
        # a readable update after it comes or it drops them after 24 hours (or, an offset
        # far ahead answered from the queue's start, the page before it too). Given again,
        # a direct caller would take them as new each time.
        keys = [_given_key(m) for m in messages]
        # By edit time: a message given as edited is not given again as first sent (its
        # update, garbled, may come again where its edit's does not).
        known: dict[str, int] = {}
        for k in given:
            message_id, _, edit = k.partition("@")
            known[message_id] = max(known.get(message_id, -1), int(edit or 0))
        fresh = [m for m in messages if _edit_time(m) > known.get(m.id, -1)]
        if stuck:
            # Its messages are given all the same (raised, they would be lost with it), and
            # a page of none is no error either: raised, it failed every sync for up to a
            # day over what no one can fix. Logged once for this offset: at every read for
            # up to a day, the warning would bury the others.
            if offset is None:
                offset = 0  # "from the queue's start", as no offset: the cursor keeps the warning
            if warned != offset:
                logger.warning(
                    "%s: Telegram listed %d update(s) whose ids cannot move the offset past "
                    "them (an id far ahead or already confirmed): brandkit cannot confirm "
                    "them, so Telegram sends them again at each read until a readable update "
                    "after them comes or it drops them after 24 hours; their messages are "
                    "given once, and this is not logged again for this offset",
                    self.account.key,
                    listed,
                )
                warned = offset
            given = list(dict.fromkeys([*given, *keys]))[-_MAX_GIVEN:]
        elif listed:
            # The offset moved past this page: only its own updates can come again.
            warned = None
            given = keys[-_MAX_GIVEN:]
        if after is not None:  # stuck, it is the offset sent: nothing moves
            offset = after
        # Skipped updates count: a full page says more even when some were unreadable; a
        # page that cannot move the offset says no more, as the next read is the same.
        more = listed >= asked and not stuck
        return InboxPage(
            messages=fresh,
            cursor=_write_cursor(offset, threads, self._bot_id, given, warned),
            more=more,
        )

    def replies(self, refs: Sequence[PartRef]) -> Flow[list[Message]]:
        """The comments on the post ``refs[0]`` among the updates Telegram still holds for
        the bot (the first 100 not yet confirmed by an inbox read, at most 24 hours old):
        a bot cannot read a chat's history, so earlier comments are only in what `inbox`
        returned. Confirms nothing.

        Raises:
            PlatformError: Telegram refused (typed by `error_for`).
            MalformedResponse: an answer brandkit cannot read.
        """
        posts = {str(r.id) for r in refs}
        for ref in refs:
            posts.update(str(i) for i in ref.extra.get("message_ids") or ())
        threads: dict[str, str] = {}
        updates, _ = yield from self._updates(
            {"limit": self.update_page, "timeout": 0, "allowed_updates": _UPDATE_KINDS}
        )
        return [m for m in self._read_updates(updates, threads) if m.our_post in posts]

    def _read_updates(
        self, updates: Sequence[tuple[_Update, dict[str, Any]]], threads: dict[str, str]
    ) -> list[Message]:
        """The messages of ``updates`` for the brand, in ``update_id`` order, each as its
        last edit among them shows it (with ``edited_at``). An edit of a message that is not
        among them (one an earlier read gave) comes again as it is now, where the edit is:
        the inbox store replaces the text it holds with it."""
        messages: list[Message] = []
        where: dict[str, int] = {}
        # Telegram's order is the ids' ("restore the correct update sequence, should they
        # get out of order"), not the listing's: listed out of order, an edit would be
        # replaced by its first text, and a comment on a comment listed before what names
        # its thread's post would be left out, and then confirmed. The sort is stable.
        for update, raw in sorted(updates, key=lambda u: u[0].update_id):
            if update.message is not None:
                found = self._read_message(update.message, raw, threads)
            elif update.edited_message is not None:
                found = self._read_message(update.edited_message, raw, threads)
            else:
                continue
            if found is None:
                continue
            if found.id in where:
                # The later edit wins, not the later id: a garbled id may sort the message
                # as first sent after its edit.
                if _edit_time(found) >= _edit_time(messages[where[found.id]]):
                    messages[where[found.id]] = found
            else:
                where[found.id] = len(messages)
                messages.append(found)
        return messages

    def reply_target(self, message: Message) -> PartRef:
        """The message to answer: its id in its chat, with the chat in ``extra`` (the
        discussion group or the private chat, not the channel).

        Raises:
            ConfigurationError: ``message`` belongs to another account.
        """
        self.check_message(message)
        chat, message_id = _split_id(message.id)
        return PartRef(index=0, id=message_id, url=message.url, extra={"chat_id": chat})

    def delete_message(self, message: Message) -> Flow[None]:
        """``deleteMessage`` in the discussion group (the bot must be an admin there with
        ``can_delete_messages``; messages older than 48 hours cannot be deleted). One
        already gone counts as deleted.

        Raises:
            Rejected: Telegram will not delete it ("message can't be deleted").
            PlatformError: another refusal (typed by `error_for`).
        """
        chat, message_id = _split_id(message.id)
        response = yield Send(
            self._json("deleteMessage", {"chat_id": int(chat), "message_id": int(message_id)}),
            idempotent=True,
            bucket="api",
        )
        if response.status_code == 400 and "not found" in _description(response):
            return
        self.check(response)

    def like(self, message: Message) -> Flow[None]:
        """``setMessageReaction`` with 👍 (Bot API 7.0+; a bot sets one reaction).

        Raises:
            PlatformError: Telegram refused (typed by `error_for`), e.g. the chat does not
                allow that reaction.
        """
        chat, message_id = _split_id(message.id)
        body = {
            "chat_id": int(chat),
            "message_id": int(message_id),
            "reaction": [{"type": "emoji", "emoji": "\N{THUMBS UP SIGN}"}],
        }
        response = yield Send(self._json("setMessageReaction", body), idempotent=True, bucket="api")
        self.check(response)

    def _updates(
        self, body: Mapping[str, Any]
    ) -> Flow[tuple[list[tuple[_Update, dict[str, Any]]], int]]:
        """``getUpdates``: the updates brandkit can read (one whose message it cannot read
        comes without it, to count in the offset), each with its message's JSON, and how
        many Telegram listed.

        Raises:
            ConfigurationError: a webhook is set, or another process reads the updates.
            PlatformError: Telegram refused (typed by `error_for`).
            MalformedResponse: the answer is not a list of objects.
        """
        response = yield Send(self._json("getUpdates", body), idempotent=True, bucket="api")
        if response.status_code == 409:
            err = self.error_for(response)
            if "webhook" in _description(response).lower():
                raise ConfigurationError(
                    f"{err} (a webhook is set for this bot: brandkit reads updates with "
                    "getUpdates; call deleteWebhook, or read the webhook's updates yourself)"
                )
            # "terminated by other getUpdates request": another process reads this bot.
            raise ConfigurationError(
                f"{err} (another process reads this bot's updates with getUpdates at the same "
                "time, and Telegram serves one reader per bot: read the inbox of this bot's "
                "accounts from one process only)"
            )
        raw = self.parse(response, _RawUpdates).result
        out = []
        for item in raw:
            try:
                update: _Update | None = _Update.model_validate(item)
            except pydantic.ValidationError as exc:
                update = self._unreadable(item, exc)
            if update is None:
                continue
            # Each message keeps its own JSON as raw (not the update around it).
            message = item.get("message") or item.get("edited_message")
            out.append((update, dict(message) if isinstance(message, dict) else {}))
        return out, len(raw)

    def _unreadable(self, item: Mapping[str, Any], exc: pydantic.ValidationError) -> _Update | None:
        """An update whose message brandkit cannot read, as one without a message, so that
        the cursor moves past it: Telegram sends the same updates until they are confirmed,
        so one such update would otherwise stop the bot's inbox for good (and its later
        updates are dropped after 24 hours). It is logged with Telegram's update id and
        what is wrong. One whose id is not positive is ``None``, left out of the offset (an
        offset from it would be negative, which asks Telegram for the last updates and no
        cursor holds); so is one whose id is past 32 bits (Telegram would read the offset
        after it wrapped around), and one without an integer id (logged without its value):
        the offset of a readable update after it confirms it. Never raises.
        """
        update_id = item.get("update_id")
        # Field errors without their values: the update is Telegram's text, not brandkit's.
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'update'}: {err['msg']}"
            for err in exc.errors(include_url=False, include_input=False)[:3]
        )
        if type(update_id) is not int:
            logger.warning(
                "%s: Telegram sent an update without an integer update_id (%s); it is "
                "skipped, and the offset of a readable update after it confirms it",
                self.account.key,
                problems,
            )
            return None
        if not -_MAX_OFFSET <= update_id <= _MAX_OFFSET:
            # Not named by its number: it can have thousands of digits.
            logger.warning(
                "%s: Telegram sent an update whose update_id does not fit 32 bits (%s); it is "
                "skipped, and the offset of a readable update after it confirms it",
                self.account.key,
                problems,
            )
            return None
        logger.warning(
            "%s: Telegram update %d cannot be read (%s); it is skipped (its raw JSON is not kept)",
            self.account.key,
            update_id,
            problems,
        )
        return _Update(update_id=update_id) if 1 <= update_id <= _MAX_UPDATE_ID else None

    def _ours(self, chat: _ChatRef | None) -> bool:
        """``chat`` is the account's channel."""
        if chat is None:
            return False
        mine = self.chat_id
        if isinstance(mine, int):
            return chat.id == mine
        return chat.username is not None and f"@{chat.username}".lower() == str(mine).lower()

    def _read_message(
        self, m: _InMessage, raw: Mapping[str, Any], threads: dict[str, str]
    ) -> Message | None:
        """One update's message as an inbox message, or ``None`` when it is not for the
        brand (automatic forwards are remembered in ``threads``: group message -> post)."""
        chat = m.chat.id
        if m.is_automatic_forward and m.forward_origin and self._ours(m.forward_origin.chat):
            if m.forward_origin.message_id is not None:
                _remember(threads, f"{chat}:{m.message_id}", str(m.forward_origin.message_id))
            return None
        writer = _writer(m)
        if writer is None or self._ours(m.sender_chat):
            return None  # the brand, an anonymous admin or a bot speaking, not the audience
        replied = m.reply_to_message
        in_reply_to: str | None = None
        if m.chat.type == "private":
            kind, post = "mention", None
            if replied is not None:
                in_reply_to = f"{chat}:{replied.message_id}"
        else:
            origin = replied.forward_origin if replied is not None else None
            if replied is not None and replied.is_automatic_forward and origin is not None:
                if not self._ours(origin.chat) or origin.message_id is None:
                    return None  # a comment under another channel's post
                post = str(origin.message_id)
                _remember(threads, f"{chat}:{replied.message_id}", post)
                in_reply_to = post
            else:
                thread = f"{chat}:{m.message_thread_id}" if m.message_thread_id else None
                post = threads.get(thread) if thread else None
                if post is None:
                    return None  # group chatter outside the channel's comment threads
                in_reply_to = f"{chat}:{replied.message_id}" if replied is not None else post
            kind = "comment"
        url = None
        if post is not None:
            channel = public_link(self.chat_id, post, self._username)
            url = f"{channel}?comment={m.message_id}" if channel else None
        return Message(
            platform=self.name,
            account=self.account.key,
            id=f"{chat}:{m.message_id}",
            kind=kind,
            author=writer,
            text=m.text or m.caption or "",
            created_at=datetime.fromtimestamp(m.date, UTC),
            edited_at=None if m.edit_date is None else datetime.fromtimestamp(m.edit_date, UTC),
            url=url,
            in_reply_to=in_reply_to,
            conversation=post,
            our_post=post,
            raw=raw,
            extra={"chat_id": str(chat), "message_id": m.message_id},
        )

    # -- metrics -----------------------------------------------------------------------------

    def collect_metrics(self, refs: Sequence[PartRef]) -> Flow[list[MetricSample]]:
        """Unavailable samples, each with the reason: the Bot API reports no views,
        reactions, forwards or comment counts of channel posts. Sends nothing and never
        raises."""
        return self.unavailable_samples(refs, _NO_METRICS)
        yield  # pragma: no cover

    def collect_account_metrics(self) -> Flow[list[MetricSample]]:
        """The chat's members (a channel's subscribers) from ``getChatMemberCount``.

        Raises:
            PlatformError: Telegram refused (typed by `error_for`).
        """
        response = yield Send(
            self._json("getChatMemberCount", {"chat_id": self.chat_id}),
            idempotent=True,
            bucket="api",
        )
        count = self.parse(response, _CountAnswer).result
        return [
            MetricSample(
                platform=self.name,
                account=self.account.key,
                metric=Metric.FOLLOWERS.value,
                value=count,
                fetched_at=datetime.now(UTC),
                raw_name="getChatMemberCount",
            )
        ]

    # -- errors ------------------------------------------------------------------------------

    def error_for(self, response: httpx.Response) -> PlatformError:
        """Telegram's ``{"ok": false, "error_code", "description", "parameters"}`` as a
        typed error with Telegram's description as the platform message.

        429 is `RateLimited` with ``retry_after`` from ``parameters.retry_after``;
        401 ("Unauthorized") and 404 ("Not Found", a malformed token) are
        `AuthError` (the bot token was refused); 403 (the bot is not a member or not
        an admin) is `AuthError` too; a group upgraded to a supergroup is
        `Rejected` naming the new chat id; "chat not found" is `Rejected` saying how
        ``chat_id`` is written; 5xx is `PlatformUnavailable`; any
        other refusal is [`Rejected`][brandkit.errors.Rejected].
        """
        body = _body(response)
        description = str(body.get("description") or response.reason_phrase or "no description")
        code = body.get("error_code")
        status = response.status_code
        params = body.get("parameters") if isinstance(body.get("parameters"), dict) else {}
        assert isinstance(params, dict)
        text = f"telegram answered {status}: {description}"
        common: dict[str, Any] = {
            "platform": self.name,
            "status_code": status,
            "platform_message": description,
            "code": code if isinstance(code, int) else None,
        }
        if status == 429 or code == 429:
            retry_after = wait_seconds(params.get("retry_after"))
            reset_at = None
            if retry_after is not None:
                reset_at = datetime.now(UTC) + timedelta(seconds=retry_after)
                text += f" (retry after {retry_after:g} s)"
            return RateLimited(
                text,
                retry_after=retry_after,
                reset_at=reset_at,
                bucket=f"{self.name}:send",
                **common,
            )
        if status in (401, 404):
            return AuthError(
                f"{text}. The bot token was refused: check it, or get a new one from "
                "@BotFather if it was revoked",
                **common,
            )
        if status == 403:
            return AuthError(
                f"{text}. Add the bot to the chat as an administrator that may post messages",
                **common,
            )
        migrated = params.get("migrate_to_chat_id")
        if migrated is not None:
            return Rejected(
                f"{text}. The group became the supergroup {migrated}: use chat_id={migrated}",
                **common,
            )
        if status == 400 and "chat not found" in description.lower():
            return Rejected(f"{text}. {self._chat_advice()}", **common)
        if status >= 500:
            return PlatformUnavailable(text, retry_after=retry_after_of(response), **common)
        return Rejected(text, **common)

    def _chat_advice(self) -> str:
        """How ``chat_id`` is written, for a chat Telegram cannot find (most often a
        channel's name without its "@", which Telegram reads as no chat at all)."""
        chat = self.chat_id
        if isinstance(chat, str):
            # A bare name, a t.me link, or "@name" with spaces around it.
            link = _CHAT_LINK.fullmatch(chat.strip())
            name = link.group(1) if link else chat.strip().lstrip("@")
            if chat != f"@{name}" and _USERNAME.fullmatch(name):
                return (
                    f"chat_id {chat!r} is not how the Bot API names a chat: write "
                    f"chat_id='@{name}' for the public channel or group {name}"
                )
        return (
            f"Check chat_id ({chat!r}): '@channelname' for a public channel or group, or its "
            "numeric id (-100... for a channel or supergroup); the bot must be a member of the "
            "chat (an administrator of a channel)"
        )


# -- helpers -------------------------------------------------------------------------------------


def _body(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {"description": response.text[:300].strip()}
    return data if isinstance(data, dict) else {}


def _topic_option(value: Any, platform: str) -> int | None:
    """``Post.options["message_thread_id"]`` as the forum topic's id (a whole number, or its
    digits as text from a config file), ``None`` when not given.

    Raises:
        ContentError: anything else (a float would be cut, ``True`` read as topic 1).
    """
    if value is None:
        return None
    topic: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        topic = value
    elif isinstance(value, str) and value.isascii() and value.isdigit():
        topic = int(value)
    if topic is None or not 1 <= topic <= _MAX_MESSAGE_ID:
        raise ContentError(
            f"options.message_thread_id must be the forum topic's id, a whole number from 1 "
            f"to {_MAX_MESSAGE_ID}, not {value!r:.40}",
            field="options.message_thread_id",
            platform=platform,
        )
    return topic


def _flag_option(options: Mapping[str, Any], key: str, platform: str) -> bool:
    """A yes/no ``Post.options`` entry (absent: no).

    Raises:
        ContentError: not ``True`` or ``False`` (text such as "no" would be read as yes).
    """
    value = options.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise ContentError(
            f"options.{key} must be True or False, not {value!r:.40}",
            field=f"options.{key}",
            platform=platform,
        )
    return value


def _check_photo(media: Media, index: int, platform: str) -> None:
    """Refuse a photo Telegram would refuse (``PHOTO_INVALID_DIMENSIONS``): sendPhoto takes
    width and height of at most 10000 pixels in total, the longer side at most 20 times the
    shorter. GIFs and videos go as animations and videos, which have no such rule.

    Raises:
        MediaError: the photo breaks a rule (its size known from its header).
    """
    if media.kind != "image" or media.aspect_ratio is None:
        return
    width, height = media.aspect_ratio
    problem = None
    if width + height > _MAX_PHOTO_SIDES:
        problem = f"width and height add up to at most {_MAX_PHOTO_SIDES} pixels"
    elif max(width, height) > _MAX_PHOTO_RATIO * min(width, height):
        problem = f"the longer side is at most {_MAX_PHOTO_RATIO} times the shorter"
    if problem is not None:
        raise MediaError(
            f"media[{index}] is a {width}x{height} photo; Telegram takes photos whose "
            f"{problem}: resize or crop it",
            field=f"media[{index}]",
            platform=platform,
        )


def _writer(m: _InMessage) -> Author | None:
    """Who wrote ``m``: a channel when a user commented on its behalf (``from`` is then
    Telegram's placeholder bot ``Channel_Bot``), else the user; ``None`` for a bot, an
    anonymous group admin (the group itself as ``sender_chat``) or no sender at all."""
    chat = m.sender_chat
    if chat is not None:
        if chat.type != "channel":
            return None
        return Author(
            id=str(chat.id),
            handle=chat.username,
            name=chat.title or None,
            url=f"https://t.me/{chat.username}" if chat.username else None,
        )
    user = m.from_
    if user is None or user.is_bot:
        return None
    return Author(
        id=str(user.id),
        handle=user.username,
        name=" ".join(n for n in (user.first_name, user.last_name) if n) or None,
        url=f"https://t.me/{user.username}" if user.username else None,
    )


def _split_id(message_id: str) -> tuple[str, str]:
    """``"chat_id:message_id"`` as its two parts.

    Raises:
        ConfigurationError: not a Telegram message id brandkit made.
    """
    chat, _, number = message_id.rpartition(":")
    if not chat.lstrip("-").isdigit() or not number.isdigit():
        raise ConfigurationError(
            f"{message_id!r} is not a Telegram message id as brandkit reports them "
            "('chat_id:message_id')"
        )
    return chat, number


def _remember(threads: dict[str, str], key: str, post: str) -> None:
    threads.pop(key, None)
    threads[key] = post
    while len(threads) > _MAX_THREADS:
        threads.pop(next(iter(threads)))


def _edit_time(message: Message) -> int:
    """The Unix time of the edit ``message`` shows (Telegram's ``edit_date``), 0 if none."""
    return 0 if message.edited_at is None else int(message.edited_at.timestamp())


def _given_key(message: Message) -> str:
    """What the inbox cursor keeps of a message it gave: its id, and the time of the edit
    it was given as (an edit given later has another key)."""
    edit = _edit_time(message)
    return f"{message.id}@{edit}" if edit else message.id


def _next_offset(ids: Sequence[int], listed: int, sent: int | None) -> int | None:
    """The ``offset`` that confirms a ``getUpdates`` page of ``listed`` updates read at
    ``sent``: one past the highest of the readable ``ids`` that can be Telegram's, ``None``
    when none can (the page cannot move the offset).

    A garbled id cannot be, taken as the offset, moved past: far ahead, Telegram finds the
    offset "in the future" and answers from its queue's start; already confirmed, it answers
    the same update again. So ids that cannot be Telegram's are left out, and the offset of
    the others confirms the garbled update with them (its place in the queue is among
    theirs), so the updates past it are read at once, not after Telegram drops it (24 h):

    - Telegram answers an offset from it on, or, more than `_FUTURE_SLACK` past its queue's
      end, from the queue's start: either way none of its ids lies in the ten below the
      offset sent (one there is the id the offset was made from, come again).
    - Its ids "increase sequentially", so a page's lie within ``listed`` of one another: in
      a page of three or more, one further than that from the middle id is garbled.
    """
    if sent:
        ids = [i for i in ids if not sent - _FUTURE_SLACK <= i < sent]
    if len(ids) >= 3:
        middle = sorted(ids)[len(ids) // 2]
        ids = [i for i in ids if abs(i - middle) < listed]
    return max(ids) + 1 if ids else None


def _read_cursor(
    cursor: str | None, key: str
) -> tuple[int | None, dict[str, str], int | None, list[str], int | None]:
    """The inbox cursor of the account ``key``: the next ``getUpdates`` offset, the comment
    threads known, the bot it was made for (``None`` in cursors saved before they named
    it), the keys of the messages given lately (`_given_key`), and the offset that could
    not move that was warned about (``None``: none). An offset past 32 bits, which an
    earlier brandkit made from a garbled update id, is read as 0 (no offset: Telegram's
    queue from its start) with a warning.

    Raises:
        ConfigurationError: not a cursor of this adapter.
    """
    if cursor is None:
        return None, {}, None, [], None
    try:
        data = json.loads(cursor)
        offset, threads, bot = data["offset"], data["threads"], data.get("bot")
        if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
            raise ValueError("bad offset")
        if offset > _MAX_OFFSET:
            # Made from an update id past 32 bits (brandkit took such ids before). Refused,
            # it failed every sync until dropped by hand, and its threads with it; Telegram
            # answers an offset past its queue from the queue's start, which 0 asks too,
            # and 0 keeps the threads in the next cursor even when nothing is waiting.
            logger.warning(
                "%s: the Telegram inbox cursor's offset is past the 32 bits Telegram reads "
                "(saved by an earlier brandkit from a garbled update id); it is read from "
                "the updates Telegram still holds, and the next cursor's offset is valid",
                key,
            )
            offset = 0
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in threads.items()):
            raise ValueError("bad threads")
        if bot is not None and (not isinstance(bot, int) or isinstance(bot, bool) or bot < 0):
            raise ValueError("bad bot")
        # Cursors from before keep neither: a page that cannot move the offset is warned
        # about, and its messages given, once more.
        given = data.get("given", [])
        if not isinstance(given, list) or not all(
            isinstance(k, str) and _GIVEN_KEY.fullmatch(k) for k in given
        ):
            raise ValueError("bad given messages")
        warned = data.get("warned")
        if warned is not None and (
            not isinstance(warned, int)
            or isinstance(warned, bool)
            or not 0 <= warned <= _MAX_OFFSET
        ):
            raise ValueError("bad warned offset")
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigurationError(
            f"this is not a Telegram inbox cursor brandkit made ({exc}): pass since=None to "
            "read from the updates Telegram still holds"
        ) from None
    return offset, dict(threads), bot, given[-_MAX_GIVEN:], warned


def _write_cursor(
    offset: int | None,
    threads: Mapping[str, str],
    bot: int | None,
    given: Sequence[str] = (),
    warned: int | None = None,
) -> str | None:
    if offset is None:
        return None  # nothing was ever read: start again from what Telegram holds
    data: dict[str, Any] = {"offset": offset, "threads": dict(threads)}
    # The updates and their offsets belong to the bot, not to the chat: accounts sharing a
    # bot read one queue, and a renamed account keeps its cursor.
    if bot is not None:
        data["bot"] = bot
    if given:
        data["given"] = list(given)
    if warned is not None:
        data["warned"] = warned
    return json.dumps(data, separators=(",", ":"))


def _description(response: httpx.Response) -> str:
    return str(_body(response).get("description") or "")


class _MediaFile:
    """A read-only, rewindable file over a `Media`, so that httpx streams an upload
    from disk (and can send it again after a 429) without holding it in memory."""

    def __init__(self, media: Media) -> None:
        self._media = media
        self._position = 0
        self._handle: IO[bytes] | None = None

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        if whence == os.SEEK_END and offset == 0:
            target = self._media.size
        elif whence == os.SEEK_SET and offset >= 0:
            target = offset
        else:
            raise io.UnsupportedOperation("only absolute seeks and finding the end")
        self._close()
        self._position = target
        return target

    def read(self, size: int = -1) -> bytes:
        media = self._media
        if media.data is not None:
            end = len(media.data) if size < 0 else min(len(media.data), self._position + size)
            out = media.data[self._position : end]
        else:
            assert media.path is not None
            if self._handle is None:
                self._handle = media.path.open("rb")
                self._handle.seek(self._position)
            out = self._handle.read(size)
            if not out or size < 0:
                self._close()
        self._position += len(out)
        return out

    def _close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
