"""A faithful, stateful Telegram Bot API server for tests (see the package docstring)."""

from __future__ import annotations

import json
import math
import re
import secrets
import string
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import attrs
import httpx

from brandkit.accounts import Account
from brandkit.content._media import _dimensions, sniff
from brandkit.testing._emulator import Audience, Clock, Emulator, Refusal, route, unlocked
from brandkit.testing.telegram._markup import MarkupError, check_entities, finish, parse
from brandkit.testing.telegram._spec import BotApiRequest, BotApiSpec, UploadedFile, parse_request

__all__ = [
    "DEFAULT_LIMITS",
    "TelegramBot",
    "TelegramChat",
    "TelegramEmulator",
    "TelegramMessage",
    "TelegramUser",
]

MB = 1000 * 1000

DEFAULT_LIMITS: dict[str, tuple[int, float]] = {
    "chat": (20, 60.0),  # messages per group or channel per minute (Telegram's FAQ)
    "bot": (30, 1.0),  # messages per second for one bot across chats
}
"""Flood limits the emulator enforces: scope → (messages, window seconds)."""

_TOKEN = re.compile(r"\d{1,12}:[A-Za-z0-9_-]{30,40}")
_SEND_KIND = {
    "sendmessage": "text",
    "sendphoto": "photo",
    "sendvideo": "video",
    "sendanimation": "animation",
    "senddocument": "document",
}
_ALPHABET = string.ascii_letters + string.digits + "-_"
SERVICE_USER = {"id": 777000, "is_bot": False, "first_name": "Telegram"}
# The placeholder Telegram puts in "from" of a message a user sent on behalf of a channel
# (the channel itself is in "sender_chat"); python-telegram-bot's ChatID.FAKE_CHANNEL.
CHANNEL_USER = {"id": 136817688, "is_bot": True, "first_name": "Channel", "username": "Channel_Bot"}
"""The sender Telegram shows on a channel post's automatic forward into its discussion group."""
UPDATE_LIFETIME = 24 * 3600.0
"""Telegram keeps an unconfirmed update for 24 hours."""
LONG_POLL_MAX_TIMEOUT = 50
"""The longest ``getUpdates`` wait, in seconds (the Bot API server's LONG_POLL_MAX_TIMEOUT;
a larger ``timeout`` is clamped to it)."""
_CONFLICT = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance "
    "is running"
)
_DEFAULT_UPDATES = frozenset({"message", "edited_message", "channel_post", "edited_channel_post"})


@attrs.frozen
class _Described:
    """A method's result with the ``description`` the Bot API server sends beside it (as
    ``deleteWebhook``'s "Webhook is already deleted")."""

    result: Any
    description: str


@attrs.define
class TelegramBot:
    """A bot of the emulator.

    Attributes:
        id: the bot's user id (the part of the token before ``:``).
        token: its token.
        username: its username (ends in ``bot``).
        first_name: its display name.
        revoked: the token was revoked (requests get 401).
    """

    id: int
    token: str = attrs.field(repr=False)
    username: str
    first_name: str
    revoked: bool = False


@attrs.define
class TelegramChat:
    """A channel or group of the emulator.

    Attributes:
        id: the chat id (``-100…`` for channels and supergroups).
        type: ``"channel"``, ``"supergroup"`` or ``"group"``.
        title: its title.
        username: its public username, or ``None`` for a private chat.
        admins: bot id → whether it may post (``can_post_messages``).
        members: members at creation.
        members_per_day: how fast members grow with the emulator clock.
        created_at: emulator time of creation.
        next_message_id: the id the next message gets.
        linked_chat_id: a channel's discussion group (and the group's channel).
    """

    id: int
    type: str
    title: str
    username: str | None
    admins: dict[int, bool] = attrs.field(factory=dict)
    members: int = 0
    members_per_day: float = 24.0
    created_at: float = 0.0
    next_message_id: int = 1
    linked_chat_id: int | None = None


@attrs.define
class TelegramUser:
    """A person of the audience (`brandkit.testing.Emulator.audience`).

    Attributes:
        id: the user id (also the id of their private chat with a bot).
        username: their username.
        first_name: their display name.
    """

    id: int
    username: str
    first_name: str


@attrs.define
class StoredFile:
    """An uploaded file.

    Attributes:
        file_id: the id Telegram gives it (usable to send it again).
        file_unique_id: the stable unique id.
        mime_type: what the bytes are.
        size: size in bytes.
        width, height: pixel size of images and videos, when known.
        data: the bytes.
        photo_sizes: for a photo, the ``PhotoSize`` objects messages show, smallest first
            (see `photo_sizes`); each has its own ``file_id``, which sends this file
            again.
        file_name: the name the client gave a document, video or animation (Telegram shows
            it as ``file_name``); ``None`` for photos.
    """

    file_id: str
    file_unique_id: str
    mime_type: str
    size: int
    width: int | None
    height: int | None
    data: bytes = attrs.field(repr=False)
    photo_sizes: tuple[dict[str, Any], ...] = ()
    file_name: str | None = None


_PHOTO_BOXES = (90, 320, 800, 1280, 2560)
# An animation message repeats its file as a Document, which has no pixel size or duration.
_DOCUMENT_KEYS = frozenset({"file_id", "file_unique_id", "file_size", "mime_type", "file_name"})


def photo_sizes(width: int, height: int) -> list[tuple[int, int]]:
    """The sizes Telegram keeps of a ``width`` × ``height`` photo, smallest first.

    Telegram scales a photo into boxes of 90, 320, 800, 1280 and 2560 pixels (types ``s``,
    ``m``, ``x``, ``y``, ``w``) without enlarging it, and stops at the first box the photo
    fits in: a 640×480 photo comes as 90×68, 320×240 and 640×480; a tiny one as itself
    only; one over 2560 pixels is scaled down to fit 2560.
    """
    sizes: list[tuple[int, int]] = []
    longest = max(width, height, 1)
    for box in _PHOTO_BOXES:
        scale = min(1.0, box / longest)
        sizes.append((max(1, round(width * scale)), max(1, round(height * scale))))
        if longest <= box:
            break
    return sizes


@attrs.define
class TelegramMessage:
    """A message the emulator holds.

    Attributes:
        chat_id: the chat.
        message_id: its id within the chat.
        bot_id: the bot that sent it.
        date: emulator time it was sent.
        kind: ``"text"``, ``"photo"``, ``"video"``, ``"animation"`` or ``"document"``.
        text: the visible text or caption (after ``parse_mode``).
        entities: its entities (UTF-16 offsets).
        file: the attached file, if any.
        media_group_id: the album it belongs to, if any.
        reply_to: the id of the message it replies to, if any.
        deleted_at: emulator time it was deleted, if it was.
        options: other parameters as sent (``link_preview_options``, ...).
        user_id: the audience member who wrote it (then ``bot_id`` is 0).
        forward_of: for a channel post's automatic forward into the discussion group, the
            post's id in the channel.
        thread_id: the comment thread it belongs to (the automatic forward's id).
        reactions: who reacted how (user or bot id -> emoji).
        sender_chat_id: the channel an audience member wrote as (Telegram lets a user
            comment on behalf of a channel of theirs), if they did.
        edited_at: emulator time its text was last edited, if it was.
    """

    chat_id: int
    message_id: int
    bot_id: int
    date: float
    kind: str
    text: str
    entities: list[dict[str, Any]]
    file: StoredFile | None = None
    media_group_id: str | None = None
    reply_to: int | None = None
    deleted_at: float | None = None
    options: dict[str, Any] = attrs.field(factory=dict)
    user_id: int | None = None
    forward_of: int | None = None
    thread_id: int | None = None
    reactions: dict[int, list[str]] = attrs.field(factory=dict)
    sender_chat_id: int | None = None
    edited_at: float | None = None


@attrs.define
class _Window:
    start: float
    count: int = 0


class TelegramEmulator(Emulator):
    """The Telegram Bot API in a box (``/bot<token>/<method>``), for one or more bots and
    their channels and groups.

    Args:
        clock: the emulator clock (flood windows, delete window, member growth).
        limits: flood limits, scope → (messages, window seconds), merged over
            `DEFAULT_LIMITS`; scopes are ``"chat"`` (per chat) and ``"bot"`` (per bot
            across chats). Tests use small ones, e.g. ``{"chat": (2, 1.0)}``.
        max_text: longest text in characters after entity parsing (Telegram: 4096).
        max_caption: longest caption (Telegram: 1024).
        delete_window: seconds after which a message can no longer be deleted (48 h).
        spec: the Bot API spec requests are checked against (default: the bundled part).

    Attributes:
        bots: bots by id.
        chats: chats by id.
        limits: the flood limits in force.
    """

    platform: ClassVar[str] = "telegram"
    create_route: ClassVar[tuple[str, str]] = ("POST", r"/bot[^/]+/send[A-Za-z]+")

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        limits: Mapping[str, tuple[int, float]] | None = None,
        max_text: int = 4096,
        max_caption: int = 1024,
        delete_window: float = 48 * 3600.0,
        spec: BotApiSpec | None = None,
    ) -> None:
        super().__init__(clock=clock)
        self.limits: dict[str, tuple[int, float]] = {**DEFAULT_LIMITS, **(limits or {})}
        self.max_text = max_text
        self.max_caption = max_caption
        self.delete_window = delete_window
        self.spec = spec or BotApiSpec.bundled()
        self.bots: dict[int, TelegramBot] = {}
        self.chats: dict[int, TelegramChat] = {}
        self._messages: list[TelegramMessage] = []
        self._files: dict[str, StoredFile] = {}
        self._windows: dict[tuple[str, int], _Window] = {}
        self._next_bot = 7_000_000_001
        self._next_chat = 1_000_000_001
        self._next_group = 10_000_000_000_000_000_000
        self.users: dict[int, TelegramUser] = {}
        self._updates: dict[int, list[tuple[int, float, dict[str, Any]]]] = {}
        self._next_update: dict[int, int] = {}
        self._allowed: dict[int, frozenset[str]] = {}
        self._next_user = 5_100_000_001
        # Long polls: each bot's newest getUpdates (an older one still waiting is ended with
        # 409), and a condition its waits are woken by, with a count of the wake-ups so that
        # none is missed between a check and a wait.
        self._polls: dict[int, int] = {}
        self._arrivals = threading.Condition()
        self._arrival_count = 0

    # -- public helpers --------------------------------------------------------------------

    def bot(self, username: str | None = None) -> TelegramBot:
        """A new bot (its token is valid at once)."""
        with self.lock:
            bot_id = self._next_bot
            self._next_bot += 1
            token = f"{bot_id}:" + "".join(secrets.choice(_ALPHABET) for _ in range(35))
            bot = TelegramBot(
                id=bot_id,
                token=token,
                username=username or f"brandkit{len(self.bots) + 1}_bot",
                first_name="brandkit",
            )
            self.bots[bot_id] = bot
            return bot

    def chat(
        self,
        *,
        username: str | None = None,
        type: str = "channel",
        title: str = "brandkit test",
        members: int = 0,
        members_per_day: float = 24.0,
        admins: Iterable[TelegramBot] = (),
        can_post: bool = True,
    ) -> TelegramChat:
        """A new channel (or ``"supergroup"``/``"group"``) with ``admins`` as admins.

        A ``username`` makes it public; without one it is private and only its numeric id
        (``-100…``) reaches it.
        """
        with self.lock:
            if type == "group":
                chat_id = -(self._next_chat % 1_000_000_000)
            else:
                chat_id = -(1_000_000_000_000 + self._next_chat)
            self._next_chat += 1
            chat = TelegramChat(
                id=chat_id,
                type=type,
                title=title,
                username=username,
                members=members,
                members_per_day=members_per_day,
                created_at=self.clock.time(),
                admins={b.id: can_post for b in admins},
            )
            self.chats[chat_id] = chat
            return chat

    def account(
        self,
        *,
        name: str | None = None,
        chat: str | None = None,
        private: bool = False,
        type: str = "channel",
        members: int = 0,
        members_per_day: float = 24.0,
        bot: TelegramBot | None = None,
        discussion: bool = True,
        **unknown: Any,
    ) -> Account:
        """A bot that is an admin of a new channel, as an [`Account`][brandkit.Account] at
        `base_url` (call it inside ``serve()`` to get the socket URL).

        Args:
            name: the brandkit account name.
            chat: the channel's username (default ``brandkit<N>``); ignored when ``private``.
            private: a private channel, addressed by its ``-100…`` id.
            type: ``"channel"``, ``"supergroup"`` or ``"group"``.
            members: members (subscribers) at creation.
            members_per_day: how fast they grow with the emulator clock.
            bot: post with this bot (default: a new one).
            discussion: give a channel a linked discussion group (where comments live),
                with the bot as an admin that may delete messages.

        Raises:
            TypeError: an unknown keyword argument.
        """
        if unknown:
            raise TypeError(
                f"TelegramEmulator.account() got unexpected arguments: {', '.join(unknown)}"
            )
        with self.lock:
            the_bot = bot or self.bot()
            username = None if private else (chat or f"brandkit{len(self.chats) + 1}").lstrip("@")
            made = self.chat(
                username=username,
                type=type,
                members=members,
                members_per_day=members_per_day,
                admins=[the_bot],
            )
            if discussion and type == "channel":
                self.link_discussion(made, admins=[the_bot])
        chat_id: str | int = f"@{username}" if username else made.id
        return Account.telegram(
            bot_token=the_bot.token, chat_id=chat_id, base_url=self.base_url, name=name
        )

    def link_discussion(
        self, channel: TelegramChat, *, admins: Iterable[TelegramBot] = ()
    ) -> TelegramChat:
        """A new supergroup linked to ``channel`` as its discussion group (``admins`` are
        its admins). From then on every channel post is forwarded there automatically, and
        the audience's comments on a post are replies to that forward."""
        with self.lock:
            group = self.chat(type="supergroup", title=f"{channel.title} chat", admins=admins)
            channel.linked_chat_id, group.linked_chat_id = group.id, channel.id
            return group

    def messages(
        self, chat: int | str | None = None, *, everyone: bool = False
    ) -> list[TelegramMessage]:
        """The messages the bots sent that exist now (deleted ones excluded), oldest first,
        optionally of one chat (its id or ``@username``); with ``everyone``, the audience's
        messages and automatic forwards too."""
        with self.lock:
            wanted = self._resolve(chat).id if chat is not None else None
            return [
                m
                for m in self._messages
                if m.deleted_at is None
                and (wanted is None or m.chat_id == wanted)
                and (everyone or (m.user_id is None and m.forward_of is None))
            ]

    # -- the audience ------------------------------------------------------------------------

    def user(self, name: str) -> TelegramUser:
        """The audience member ``name`` as a Telegram user (made on first use)."""
        with self.lock:
            for u in self.users.values():
                if u.username == name:
                    return u
            user = TelegramUser(id=self._next_user, username=name, first_name=name.title())
            self._next_user += 1
            self.users[user.id] = user
            return user

    def audience_write(
        self,
        member: Audience,
        kind: str,
        text: str,
        *,
        target: str | None = None,
        lang: str | None = None,
    ) -> str:
        """What an audience member writes, as ``"chat_id:message_id"``:

        - ``"comment"`` (or ``"reply"``) on a channel post or a comment: ``target`` is a
          post id as in ``Delivery.ids`` (the newest channel with a discussion group that
          has that post; ``"@channel:5"`` or ``"-100…:5"`` to choose), or a comment's
          ``Message.id``. It is a message in the discussion group replying to the post's
          automatic forward (or to the comment), in the post's thread.
        - ``"mention"``: a private message to the bot of the newest channel (bots have no
          mentions of a channel; a private message is what reaches the brand).

        Raises:
            NotImplementedError: ``"quote"`` or ``"post"`` (a bot sees neither).
            KeyError: no such post or comment, or the channel has no discussion group.
        """
        if kind not in ("comment", "reply", "mention"):
            raise NotImplementedError(
                f"the Telegram emulator has no {kind}s: a bot sees comments in the discussion "
                "group and private messages; use .comment() or .mention()"
            )
        with self.lock:
            user = self.user(member.name)
            if kind == "mention":
                return self._direct(user, text)
            group, replied = self._comment_target(str(target or ""))
            thread = replied.thread_id if replied.forward_of is None else replied.message_id
            m = self._keep_audience(
                group, user, text, reply_to=replied.message_id, thread_id=thread
            )
            self._notify(group, m)
            return f"{group.id}:{m.message_id}"

    def channel_comment(self, target: str, text: str, *, channel: str = "fanchannel") -> str:
        """A comment written on behalf of a public channel (``channel``, its username; made
        on first use), as Telegram lets a user comment as one of their channels: ``from`` is
        Telegram's placeholder user ``Channel_Bot`` and ``sender_chat`` the channel.
        ``target`` is as for ``audience(...).comment``. Returns ``"chat_id:message_id"``.

        Raises:
            KeyError: no such post or comment, or the channel has no discussion group.
        """
        with self.lock:
            name = channel.lstrip("@")
            own = next(
                (c for c in self.chats.values() if c.type == "channel" and c.username == name),
                None,
            )
            if own is None:
                own = self.chat(username=name, title=name.title())
            user = self.user(f"{name}_owner")
            group, replied = self._comment_target(str(target))
            thread = replied.thread_id if replied.forward_of is None else replied.message_id
            m = self._keep_audience(
                group, user, text, reply_to=replied.message_id, thread_id=thread
            )
            m.sender_chat_id = own.id
            self._notify(group, m)
            return f"{group.id}:{m.message_id}"

    def edit(self, message_id: str, text: str) -> None:
        """An audience member edits their message ``"chat_id:message_id"`` (a comment or a
        private message to the bot): its text changes, and each bot that saw it gets an
        ``edited_message`` update (when its ``allowed_updates`` take them), as Telegram
        sends one for every edit.

        Raises:
            KeyError: no live message of the audience has that id.
        """
        chat_id, _, number = message_id.partition(":")
        with self.lock:
            m = self._find(int(chat_id), int(number))
            if m.user_id is None or m.deleted_at is not None:
                raise KeyError(message_id)
            m.text = text
            m.edited_at = self.clock.time()
            for bot_id in self.chats[m.chat_id].admins:
                self._enqueue(bot_id, {"edited_message": self._message_json(m)})

    def _direct(self, user: TelegramUser, text: str) -> str:
        bot_ids = [
            b for c in reversed(list(self.chats.values())) if c.type != "private" for b in c.admins
        ]
        if not bot_ids:
            raise KeyError("no bot to write to")
        bot = self.bots[bot_ids[0]]
        chat = self.chats.get(user.id)
        if chat is None:
            chat = TelegramChat(
                id=user.id, type="private", title=user.first_name, username=user.username
            )
            self.chats[user.id] = chat
        chat.admins[bot.id] = True
        m = self._keep_audience(chat, user, text)
        self._enqueue(bot.id, {"message": self._message_json(m)})
        return f"{chat.id}:{m.message_id}"

    def _comment_target(self, target: str) -> tuple[TelegramChat, TelegramMessage]:
        """The discussion group and the message a comment on ``target`` replies to."""
        where, _, number = target.rpartition(":")
        if not number.isdigit():
            raise KeyError(target)
        if where:
            chat = self._resolve(where) if not where.lstrip("-").isdigit() else None
            chat_id = chat.id if chat is not None else int(where)
            found = self.chats.get(chat_id)
            if found is not None and found.type != "channel":
                message = self._find(found.id, int(number))  # a comment: answer it
                if message.deleted_at is not None:
                    raise KeyError(target)
                return found, message
            channels = [found] if found is not None else []
        else:
            channels = [c for c in reversed(list(self.chats.values())) if c.type == "channel"]
        for channel in channels:
            if channel.linked_chat_id is None:
                continue
            for m in self._messages:
                if (
                    m.chat_id == channel.linked_chat_id
                    and m.forward_of == int(number)
                    and m.deleted_at is None
                ):
                    return self.chats[channel.linked_chat_id], m
        raise KeyError(target)

    def answers(self, message_id: str) -> list[str]:
        """The texts the bots wrote in answer to the message ``"chat_id:message_id"``,
        oldest first; deleted ones excluded."""
        chat, _, number = message_id.rpartition(":")
        with self.lock:
            return [
                m.text
                for m in self._messages
                if str(m.chat_id) == chat
                and m.reply_to == int(number)
                and m.user_id is None
                and m.forward_of is None
                and m.deleted_at is None
            ]

    def reactions(self, message_id: str) -> dict[int, list[str]]:
        """The reactions on the message ``"chat_id:message_id"``: user or bot id -> emoji."""
        chat, _, number = message_id.rpartition(":")
        with self.lock:
            return dict(self._find(int(chat), int(number)).reactions)

    # -- updates -----------------------------------------------------------------------------

    def _notify(self, chat: TelegramChat, m: TelegramMessage) -> None:
        """Queue ``m`` as a ``message`` update for every bot that sees the group's messages
        (its admins: privacy mode does not apply to them)."""
        for bot_id in chat.admins:
            if bot_id != m.bot_id:
                self._enqueue(bot_id, {"message": self._message_json(m)})

    def _enqueue(self, bot_id: int, update: dict[str, Any]) -> None:
        kind = next(iter(update))
        if kind not in self._allowed.get(bot_id, _DEFAULT_UPDATES):
            return
        # Update ids start at a bot-specific number and grow by one.
        update_id = self._update_tail(bot_id)
        self._next_update[bot_id] = update_id + 1
        queue = self._updates.setdefault(bot_id, [])
        queue.append((update_id, self.clock.time(), {"update_id": update_id, **update}))
        self._wake_polls()

    def _update_tail(self, bot_id: int) -> int:
        """The id the bot's next update gets."""
        return self._next_update.get(bot_id, 400_000_000 + bot_id % 1000 * 1000)

    def _wake_polls(self) -> None:
        """Wake every waiting ``getUpdates`` to look again (called under the emulator's
        lock, before the waits can look)."""
        self._arrival_count += 1
        with self._arrivals:
            self._arrivals.notify_all()

    def pending_updates(self, bot: TelegramBot) -> int:
        """How many updates wait for ``bot`` (unconfirmed and less than 24 hours old)."""
        with self.lock:
            now = self.clock.time()
            return sum(1 for _, t, _ in self._updates.get(bot.id, []) if now - t < UPDATE_LIFETIME)

    def garble(
        self, message_id: str, *, update: Mapping[str, Any] | None = None, **fields: Any
    ) -> int:
        """Make the waiting updates that carry the message ``"chat_id:message_id"`` arrive
        in a shape a bot may not read, for tests of a "poison" update: ``fields`` replace
        fields of the message's JSON (``date=10**20``), ``update`` fields of the update
        around it (``update={"update_id": -5}``). The queue itself is untouched: ``offset``
        confirms the update as before. Returns how many waiting updates were changed.

        Raises:
            KeyError: no waiting update carries that message.
        """
        chat_id, _, number = message_id.rpartition(":")
        changed = 0
        with self.lock:
            for queue in self._updates.values():
                for _, _, data in queue:
                    for kind, value in list(data.items()):
                        if not isinstance(value, dict) or kind == "update_id":
                            continue
                        chat = value.get("chat") or {}
                        if f"{chat.get('id')}:{value.get('message_id')}" != f"{chat_id}:{number}":
                            continue
                        value.update(fields)
                        data.update(update or {})
                        changed += 1
        if not changed:
            raise KeyError(message_id)
        return changed

    def post_texts(self) -> list[str]:
        """The texts of the posts that exist now, oldest first; an album is one post (its
        caption)."""
        texts: list[str] = []
        seen: set[str] = set()
        for m in self.messages():
            if m.media_group_id is not None:
                if m.media_group_id in seen:
                    continue
                seen.add(m.media_group_id)
            texts.append(m.text)
        return texts

    def message_json(self, chat: int | str, message_id: int) -> dict[str, Any]:
        """One message (deleted ones too) as the Bot API shows it.

        Raises:
            KeyError: no such message.
        """
        with self.lock:
            return self._message_json(self._find(self._resolve(chat).id, message_id))

    def revoke(self, bot: TelegramBot | None = None) -> None:
        """Revoke a bot's token (every bot's by default): requests get 401 Unauthorized."""
        with self.lock:
            for b in [bot] if bot is not None else self.bots.values():
                b.revoked = True

    def expire_tokens(self) -> None:
        """Bot tokens never expire; this revokes them (see `revoke`)."""
        self.revoke()

    def set_admin(self, chat: int | str, bot: TelegramBot, *, can_post: bool | None) -> None:
        """Make ``bot`` an admin of ``chat`` (``can_post``), a member without rights
        (``False``), or remove it (``None``)."""
        with self.lock:
            c = self._resolve(chat)
            if can_post is None:
                c.admins.pop(bot.id, None)
            else:
                c.admins[bot.id] = can_post

    def set_limit(self, scope: str, limit: int, window: float) -> None:
        """Change a flood limit (``"chat"`` or ``"bot"``), e.g. 2 messages per second."""
        with self.lock:
            self.limits[scope] = (limit, window)
            self._windows.clear()

    def member_count(self, chat: int | str) -> int:
        """What ``getChatMemberCount`` answers now for ``chat``."""
        with self.lock:
            return self._members(self._resolve(chat))

    # -- plumbing ----------------------------------------------------------------------------

    def error(self, status: int, message: str, **extra: Any) -> httpx.Response:
        """Telegram's error body: ``{"ok": false, "error_code", "description"}``."""
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": message}
        if extra:
            body["parameters"] = extra
        return self.json(body, status=status)

    def _ok(self, result: Any) -> httpx.Response:
        if isinstance(result, _Described):
            return self.json(
                {"ok": True, "result": result.result, "description": result.description}
            )
        return self.json({"ok": True, "result": result})

    def _resolve(self, chat: int | str | None) -> TelegramChat:
        if isinstance(chat, str) and chat.startswith("@"):
            for c in self.chats.values():
                if c.username and c.username.lower() == chat[1:].lower():
                    return c
            raise Refusal(400, "Bad Request: chat not found")
        try:
            chat_id = int(chat)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise Refusal(400, "Bad Request: chat not found") from None
        found = self.chats.get(chat_id)
        if found is None:
            raise Refusal(400, "Bad Request: chat not found")
        return found

    def _find(self, chat_id: int, message_id: int) -> TelegramMessage:
        for m in self._messages:
            if m.chat_id == chat_id and m.message_id == message_id:
                return m
        raise KeyError(message_id)

    def _members(self, chat: TelegramChat) -> int:
        return self.grown(chat.members, chat.members_per_day, chat.created_at, per=86_400)

    # -- the one route -----------------------------------------------------------------------

    @route("GET", r"/bot(?P<token>[^/]*)/(?P<method>[A-Za-z0-9_]+)/?")
    @route("POST", r"/bot(?P<token>[^/]*)/(?P<method>[A-Za-z0-9_]+)/?")
    def _call(self, request: httpx.Request, token: str, method: str) -> httpx.Response:
        if not _TOKEN.fullmatch(token):
            return self.error(404, "Not Found")
        bot = next((b for b in self.bots.values() if b.token == token), None)
        if bot is None or bot.revoked:
            return self.error(401, "Unauthorized")
        handler = getattr(self, f"_m_{method.lower()}", None)
        if handler is None or self.spec.method(method) is None:
            return self.error(404, "Not Found")
        try:
            call = parse_request(request)
        except ValueError as exc:
            return self.error(400, str(exc))
        assert call is not None
        problems = self.spec.check(call, strict=False)
        if problems:
            return self.error(400, problems[0])
        return self._ok(handler(bot, call))

    # -- parameters --------------------------------------------------------------------------

    @staticmethod
    def _param(call: BotApiRequest, name: str) -> Any:
        value = call.params.get(name)
        if call.encoded and isinstance(value, str) and value[:1] in ("{", "["):
            try:
                return json.loads(value)
            except ValueError:
                raise Refusal(400, f"Bad Request: can't parse {name} JSON object") from None
        return value

    def _int(self, call: BotApiRequest, name: str) -> int | None:
        value = call.params.get(name)
        if value is None or value == "":
            return None
        try:
            return int(value)
        except (TypeError, ValueError):
            raise Refusal(400, f'Bad Request: field "{name}" must be of type Integer') from None

    def _flag(self, call: BotApiRequest, name: str) -> bool:
        value = call.params.get(name)
        return value is True or str(value).lower() in ("true", "1")

    def _target(self, bot: TelegramBot, call: BotApiRequest) -> TelegramChat:
        chat = self._resolve(call.params.get("chat_id"))
        if bot.id not in chat.admins:
            kind = "channel chat" if chat.type == "channel" else "group chat"
            raise Refusal(403, f"Forbidden: bot is not a member of the {kind}")
        return chat

    def _postable(self, bot: TelegramBot, call: BotApiRequest) -> TelegramChat:
        chat = self._target(bot, call)
        if chat.type == "channel" and not chat.admins.get(bot.id):
            raise Refusal(400, "Bad Request: need administrator rights in the channel chat")
        return chat

    def _text(
        self, call: BotApiRequest, text_field: str, entities_field: str, mode_field: str, limit: int
    ) -> tuple[str, list[dict[str, Any]]]:
        raw = call.params.get(text_field)
        raw = "" if raw is None else str(raw)
        mode = call.params.get(mode_field)
        entities = self._param(call, entities_field)
        if entities:
            if not isinstance(entities, list):
                raise Refusal(400, "Bad Request: can't parse entities JSON object")
            problem = check_entities(raw, entities)
            if problem:
                raise Refusal(400, problem)
            text, found = raw, [dict(e) for e in entities]
        else:
            try:
                text, found = parse(raw, str(mode) if mode else None)
            except MarkupError as exc:
                raise Refusal(400, str(exc)) from None
        # tdlib's fix_formatted_text: the text is trimmed and its links, mentions, hashtags,
        # commands... are found before the message is made (and shown in its entities).
        text, found = finish(text, found)
        # tdlib measures the visible text in code points (utf8_length) against the limit.
        if len(text) > limit:
            what = "message is too long" if text_field == "text" else "message caption is too long"
            raise Refusal(400, f"Bad Request: {what}")
        return text, found

    def _reply_to(self, chat: TelegramChat, call: BotApiRequest) -> int | None:
        params = self._param(call, "reply_parameters")
        if not params and call.params.get("reply_to_message_id") not in (None, ""):
            # The parameters reply_parameters replaced in Bot API 7.0; the Bot API server
            # still reads them when reply_parameters is absent, and older clients send them.
            params = {
                "message_id": self._int(call, "reply_to_message_id"),
                "allow_sending_without_reply": self._flag(call, "allow_sending_without_reply"),
            }
        if not params:
            return None
        if not isinstance(params, dict):
            raise Refusal(400, "Bad Request: can't parse reply parameters JSON object")
        try:
            target = self._find(chat.id, int(params["message_id"]))
        except (KeyError, TypeError, ValueError):
            target = None
        if target is None or target.deleted_at is not None:
            if params.get("allow_sending_without_reply"):
                return None
            raise Refusal(400, "Bad Request: message to be replied not found")
        return target.message_id

    # -- flood control -----------------------------------------------------------------------

    def _spend(self, bot: TelegramBot, chat: TelegramChat, count: int) -> None:
        now = self.clock.time()
        windows = []
        for scope, key in (("chat", chat.id), ("bot", bot.id)):
            limit, period = self.limits[scope]
            w = self._windows.get((scope, key))
            if w is None or now >= w.start + period:
                w = self._windows[(scope, key)] = _Window(start=now)
            if w.count + count > limit:
                wait = max(1, math.ceil(w.start + period - now))
                raise Refusal(429, f"Too Many Requests: retry after {wait}", retry_after=wait)
            windows.append(w)
        for w in windows:
            w.count += count

    # -- files -------------------------------------------------------------------------------

    def _file(self, call: BotApiRequest, value: Any, kind: str) -> StoredFile:
        if isinstance(value, UploadedFile):
            upload = value
        elif isinstance(value, str) and value.startswith("attach://"):
            upload = call.files[value[len("attach://") :]]
        elif isinstance(value, str) and value in self._files:
            return self._files[value]
        elif isinstance(value, str) and value.startswith(("http://", "https://")):
            raise Refusal(400, "Bad Request: failed to get HTTP URL content")
        else:
            raise Refusal(400, "Bad Request: wrong file identifier/HTTP URL specified")
        if not upload.data:
            raise Refusal(400, "Bad Request: file must be non-empty")
        if len(upload.data) > 50 * MB:
            raise Refusal(413, "Request Entity Too Large")
        found = sniff(upload.data[: 64 * 1024])
        mime = found[0] if found else upload.content_type
        if kind == "photo":
            if found is None or found[1] not in ("image", "gif"):
                raise Refusal(400, "Bad Request: IMAGE_PROCESS_FAILED")
            if len(upload.data) > 10 * MB:
                raise Refusal(400, "Bad Request: PHOTO_SAVE_FILE_INVALID")
        dims = _dimensions(mime, upload.data[: 64 * 1024]) if found else None
        if kind == "photo" and dims is not None:
            w, h = dims
            if w + h > 10000 or max(w, h) > 20 * min(w, h):
                raise Refusal(400, "Bad Request: PHOTO_INVALID_DIMENSIONS")
        stored = StoredFile(
            file_id=self._file_id(kind),
            file_unique_id=self._unique_id(),
            mime_type=mime,
            size=len(upload.data),
            width=dims[0] if dims else None,
            height=dims[1] if dims else None,
            data=upload.data,
            file_name=(upload.filename or None) if kind != "photo" else None,
        )
        if kind == "photo":
            w, h = dims or (1, 1)
            # Every size is a file of its own (own ids, own size in bytes); the emulator does
            # not re-encode, so a smaller size's bytes are estimated from its area.
            sizes: list[dict[str, Any]] = []
            for sw, sh in photo_sizes(w, h):
                share = (sw * sh) / max(1, w * h)
                sizes.append(
                    {
                        "file_id": self._file_id(kind),
                        "file_unique_id": self._unique_id(),
                        "file_size": max(1, min(len(upload.data), int(len(upload.data) * share))),
                        "width": sw,
                        "height": sh,
                    }
                )
            stored = attrs.evolve(stored, photo_sizes=tuple(sizes))
            for size in sizes:
                self._files[size["file_id"]] = stored
        self._files[stored.file_id] = stored
        return stored

    @staticmethod
    def _file_id(kind: str) -> str:
        # Bot API file ids start with a type-dependent prefix (photos "AgACAgQ…").
        prefix = {"photo": "AgACAgQAAxkB", "video": "BAACAgQAAxkB", "animation": "CgACAgQAAxkB"}
        return prefix.get(kind, "BQACAgQAAxkB") + secrets.token_urlsafe(48)

    @staticmethod
    def _unique_id() -> str:
        return "AQAD" + secrets.token_urlsafe(9)

    # -- JSON --------------------------------------------------------------------------------

    def _chat_json(self, chat: TelegramChat) -> dict[str, Any]:
        if chat.type == "private":
            user = self.users[chat.id]
            return {
                "id": chat.id,
                "first_name": user.first_name,
                "username": user.username,
                "type": "private",
            }
        data: dict[str, Any] = {"id": chat.id, "title": chat.title, "type": chat.type}
        if chat.username:
            data["username"] = chat.username
        return data

    def _user_json(self, bot: TelegramBot) -> dict[str, Any]:
        return {
            "id": bot.id,
            "is_bot": True,
            "first_name": bot.first_name,
            "username": bot.username,
        }

    def _message_json(self, m: TelegramMessage, *, with_reply: bool = True) -> dict[str, Any]:
        chat = self.chats[m.chat_id]
        data: dict[str, Any] = {"message_id": m.message_id}
        if m.thread_id is not None:
            data["message_thread_id"] = m.thread_id
        if m.forward_of is not None:
            channel = self.chats[chat.linked_chat_id]  # type: ignore[index]
            data["from"] = dict(SERVICE_USER)
            data["sender_chat"] = self._chat_json(channel)
        elif m.user_id is not None and m.sender_chat_id is not None:
            data["from"] = dict(CHANNEL_USER)
            data["sender_chat"] = self._chat_json(self.chats[m.sender_chat_id])
        elif m.user_id is not None:
            user = self.users[m.user_id]
            data["from"] = {
                "id": user.id,
                "is_bot": False,
                "first_name": user.first_name,
                "username": user.username,
                "language_code": "en",
            }
        elif chat.type == "channel":
            data["sender_chat"] = self._chat_json(chat)
        else:
            data["from"] = self._user_json(self.bots[m.bot_id])
        data["chat"] = self._chat_json(chat)
        data["date"] = int(m.date)
        if m.edited_at is not None:
            data["edit_date"] = int(m.edited_at)
        if m.forward_of is not None:
            channel = self.chats[chat.linked_chat_id]  # type: ignore[index]
            original = self._find(channel.id, m.forward_of)
            data["forward_origin"] = {
                "type": "channel",
                "chat": self._chat_json(channel),
                "message_id": m.forward_of,
                "date": int(original.date),
            }
            data["is_automatic_forward"] = True
        if m.media_group_id is not None:
            data["media_group_id"] = m.media_group_id
        if m.reply_to is not None and with_reply:
            try:
                replied = self._find(m.chat_id, m.reply_to)
            except KeyError:
                replied = None
            if replied is not None and replied.deleted_at is None:
                data["reply_to_message"] = self._message_json(replied, with_reply=False)
        f = m.file
        if m.kind == "text":
            data["text"] = m.text
            if m.entities:
                data["entities"] = m.entities
            if m.options.get("link_preview_options"):
                data["link_preview_options"] = m.options["link_preview_options"]
        else:
            assert f is not None
            base = {"file_id": f.file_id, "file_unique_id": f.file_unique_id, "file_size": f.size}
            if m.kind == "photo":
                data["photo"] = [dict(size) for size in f.photo_sizes] or [
                    {**base, "width": f.width or 1, "height": f.height or 1}
                ]
            else:
                item = {**base, "mime_type": f.mime_type}
                if f.file_name:
                    item["file_name"] = f.file_name
                if m.kind in ("video", "animation"):
                    item.update(width=f.width or 0, height=f.height or 0, duration=0)
                data[m.kind] = item
                if m.kind == "animation":
                    data["document"] = {k: v for k, v in item.items() if k in _DOCUMENT_KEYS}
            if m.text:
                data["caption"] = m.text
                if m.entities:
                    data["caption_entities"] = m.entities
                if m.options.get("show_caption_above_media"):
                    data["show_caption_above_media"] = True
            if m.options.get("has_spoiler"):
                data["has_media_spoiler"] = True
        return data

    # -- methods -----------------------------------------------------------------------------

    def _m_getme(self, bot: TelegramBot, call: BotApiRequest) -> Any:
        return {
            **self._user_json(bot),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _m_getchat(self, bot: TelegramBot, call: BotApiRequest) -> Any:
        chat = self._target(bot, call)
        linked = {"linked_chat_id": chat.linked_chat_id} if chat.linked_chat_id else {}
        return {
            **self._chat_json(chat),
            **linked,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    def _m_getchatmembercount(self, bot: TelegramBot, call: BotApiRequest) -> Any:
        return self._members(self._target(bot, call))

    def _store(
        self,
        bot: TelegramBot,
        chat: TelegramChat,
        *,
        kind: str,
        text: str,
        entities: list[dict[str, Any]],
        file: StoredFile | None,
        reply_to: int | None,
        group: str | None = None,
        options: dict[str, Any] | None = None,
    ) -> TelegramMessage:
        thread = None
        if reply_to is not None:
            replied = self._find(chat.id, reply_to)
            thread = replied.message_id if replied.forward_of is not None else replied.thread_id
        m = self._keep(
            chat,
            bot_id=bot.id,
            thread_id=thread,
            date=self.clock.time(),
            kind=kind,
            text=text,
            entities=entities,
            file=file,
            media_group_id=group,
            reply_to=reply_to,
            options=options or {},
        )
        if chat.type == "channel" and chat.linked_chat_id is not None:
            self._forward(chat, m)
        return m

    def _keep(self, chat: TelegramChat, **fields: Any) -> TelegramMessage:
        """A new message in ``chat`` with these `TelegramMessage` fields, given the chat's
        next id (ids count up per chat) and kept."""
        m = TelegramMessage(chat_id=chat.id, message_id=chat.next_message_id, **fields)
        chat.next_message_id += 1
        self._messages.append(m)
        return m

    def _keep_audience(
        self, chat: TelegramChat, user: TelegramUser, text: str, **links: Any
    ) -> TelegramMessage:
        """A text message the audience member ``user`` writes in ``chat`` (``links``:
        ``reply_to``, ``thread_id``), kept as `_keep` keeps it."""
        # The member's app runs tdlib too: the text is trimmed and its /commands, links,
        # mentions... arrive as entities (python-telegram-bot's CommandHandler needs them).
        kept, entities = finish(text, [])
        return self._keep(
            chat,
            bot_id=0,
            date=self.clock.time(),
            kind="text",
            text=kept or text,
            entities=entities,
            user_id=user.id,
            **links,
        )

    def _forward(self, channel: TelegramChat, post: TelegramMessage) -> None:
        """The channel post's automatic forward into the discussion group (what comments
        reply to), queued as an update for the group's admin bots."""
        group = self.chats[channel.linked_chat_id]  # type: ignore[index]
        copy = attrs.evolve(
            post,
            chat_id=group.id,
            message_id=group.next_message_id,
            forward_of=post.message_id,
            reply_to=None,
            reactions={},
        )
        group.next_message_id += 1
        self._messages.append(copy)
        for bot_id in group.admins:
            self._enqueue(bot_id, {"message": self._message_json(copy)})

    def _send_one(self, bot: TelegramBot, call: BotApiRequest, kind: str) -> Any:
        chat = self._postable(bot, call)
        reply_to = self._reply_to(chat, call)
        if kind == "text":
            text, entities = self._text(call, "text", "entities", "parse_mode", self.max_text)
            if not text:
                raise Refusal(400, "Bad Request: message text is empty")
            file = None
        else:
            text, entities = self._text(
                call, "caption", "caption_entities", "parse_mode", self.max_caption
            )
            source: Any = call.files.get(kind, call.params.get(kind))
            file = self._file(call, source, "photo" if kind == "photo" else kind)
        self._spend(bot, chat, 1)
        options: dict[str, Any] = {}
        preview = self._param(call, "link_preview_options")
        if preview:
            options["link_preview_options"] = preview
        options.update(self._media_flags(call.params))
        m = self._store(
            bot,
            chat,
            kind=kind,
            text=text,
            entities=entities,
            file=file,
            reply_to=reply_to,
            options=options,
        )
        return self._message_json(m)

    @staticmethod
    def _media_flags(params: Mapping[str, Any]) -> dict[str, Any]:
        # Media options a message shows back (has_spoiler is shown as has_media_spoiler).
        flags: dict[str, Any] = {}
        for name in ("has_spoiler", "show_caption_above_media"):
            value = params.get(name)
            if value is True or str(value).lower() in ("true", "1"):
                flags[name] = True
        return flags

    def _m_sendmessage(self, bot: TelegramBot, call: BotApiRequest) -> Any:
        return self._send_one(bot, call, "text")

    def _m_sendphoto(self, bot: TelegramBot, call: BotApiRequest) -> Any:
        return self._send_one(bot, call, "photo")

    def _m_sendvideo(self, bot: TelegramBot, call: BotApiRequest) -> Any:
        return self._send_one(bot, call, "video")

    def _m_sendanimation(self, bot: TelegramBot, call: BotApiRequest) -> Any:
        return self._send_one(bot, call, "animation")

    def _m_senddocument(self, bot: TelegramBot, call: BotApiRequest) -> Any:
        return self._send_one(bot, call, "document")

    def _m_sendmediagroup(self, bot: TelegramBot, call: BotApiRequest) -> Any:
        chat = self._postable(bot, call)
        items = self._param(call, "media")
        if not isinstance(items, list):
            raise Refusal(400, "Bad Request: can't parse media JSON object")
        # TDLib's checks, worded as the Bot API server passes them on; an album of one is
        # sent as one ordinary message (TDLib makes no album of it).
        types = {i.get("type") for i in items if isinstance(i, dict)}
        if types & {"animation"}:
            raise Refusal(
                400,
                "Bad Request: can't parse InputMedia: type \"animation\" can't be used in "
                "sendMediaGroup",
            )
        if not items:
            raise Refusal(400, "Bad Request: there are no messages to send")
        if len(items) > 10:
            raise Refusal(400, "Bad Request: too many messages to send as an album")
        for kind in ("document", "audio"):
            if kind in types and len(types) > 1:
                raise Refusal(400, f"Bad Request: {kind} can't be mixed with other media types")
        reply_to = self._reply_to(chat, call)
        prepared: list[tuple[str, str, list[dict[str, Any]], StoredFile, dict[str, Any]]] = []
        for item in items:
            caption = str(item.get("caption") or "")
            sub = BotApiRequest(
                call.token,
                call.method,
                {
                    "caption": caption,
                    "caption_entities": item.get("caption_entities"),
                    "parse_mode": item.get("parse_mode"),
                },
                call.files,
                False,
            )
            text, entities = self._text(
                sub, "caption", "caption_entities", "parse_mode", self.max_caption
            )
            kind = str(item["type"])
            file = self._file(call, item.get("media"), "photo" if kind == "photo" else kind)
            prepared.append((kind, text, entities, file, self._media_flags(item)))
        self._spend(bot, chat, len(prepared))
        group: str | None = None
        if len(prepared) > 1:
            group = str(self._next_group)
            self._next_group += 1
        out = []
        for kind, text, entities, file, flags in prepared:
            m = self._store(
                bot,
                chat,
                kind=kind,
                text=text,
                entities=entities,
                file=file,
                reply_to=reply_to,
                group=group,
                options=flags,
            )
            out.append(self._message_json(m))
        return out

    def _delete(self, bot: TelegramBot, chat: TelegramChat, message_id: int) -> None:
        try:
            m = self._find(chat.id, message_id)
        except KeyError:
            m = None
        if m is None or m.deleted_at is not None:
            raise Refusal(400, "Bad Request: message to delete not found")
        now = self.clock.time()
        # In a group, an admin bot with the right (here: an admin that may post) deletes
        # anyone's message; in a channel, only its own.
        others = chat.type == "channel" or not chat.admins.get(bot.id)
        if now - m.date >= self.delete_window or (m.bot_id != bot.id and others):
            raise Refusal(400, "Bad Request: message can't be deleted")
        m.deleted_at = now

    def _m_deletemessage(self, bot: TelegramBot, call: BotApiRequest) -> Any:
        chat = self._target(bot, call)
        message_id = self._int(call, "message_id")
        assert message_id is not None
        self._delete(bot, chat, message_id)
        return True

    def _m_getupdates(self, bot: TelegramBot, call: BotApiRequest) -> Any:
        # Telegram: an offset confirms every update before it (they are never sent again);
        # a negative one keeps the last -offset; limit is clamped to 1-100 (default 100);
        # allowed_updates, when given, holds for later calls too.
        allowed = self._param(call, "allowed_updates")
        if allowed is not None:
            if not isinstance(allowed, list):
                raise Refusal(400, "Bad Request: can't parse allowed_updates JSON object")
            self._allowed[bot.id] = frozenset(str(a) for a in allowed) or _DEFAULT_UPDATES
        asked = self._int(call, "limit")
        # The Bot API server clamps limit into 1-100 (0 is 1), 100 when absent.
        limit = 100 if asked is None else min(100, max(1, asked))
        offset = self._int(call, "offset")
        if offset is not None:
            # The Bot API server reads offset as a signed 32-bit integer, wrapping a larger
            # number around (td::to_integer<int32>): with bit 31 set, it is negative.
            offset = (offset + 2**31) % 2**32 - 2**31
        # Long polling: with nothing to give, wait (wall time: it is the connection that
        # waits) until an update comes or `timeout` seconds (clamped to 0-50) pass; a newer
        # getUpdates of the same bot ends this one with 409, as the Bot API server does.
        wait = min(max(self._int(call, "timeout") or 0, 0), LONG_POLL_MAX_TIMEOUT)
        poll = self._polls[bot.id] = self._polls.get(bot.id, 0) + 1
        self._wake_polls()
        deadline = time.monotonic() + wait
        while True:
            now = self.clock.time()
            queue = [u for u in self._updates.get(bot.id, []) if now - u[1] < UPDATE_LIFETIME]
            if offset is not None and offset < 0:
                queue = queue[offset:]
            elif offset is not None and offset <= self._update_tail(bot.id) + 10:
                queue = [u for u in queue if u[0] >= offset]
            # More than 10 past the next update id, the server's queue refuses the offset
            # ("Specified from_id is in the future") and it answers from the queue's start,
            # confirming nothing.
            self._updates[bot.id] = queue
            kinds = self._allowed.get(bot.id, _DEFAULT_UPDATES)
            found = [u[2] for u in queue if next(k for k in u[2] if k != "update_id") in kinds]
            left = deadline - time.monotonic()
            if found or left <= 0:
                return found[:limit]
            seen = self._arrival_count
            with unlocked(), self._arrivals:
                if self._arrival_count == seen:
                    self._arrivals.wait(left)
            if self._polls.get(bot.id) != poll:
                raise Refusal(409, _CONFLICT)

    def _m_deletewebhook(self, bot: TelegramBot, call: BotApiRequest) -> Any:
        # No webhook is ever set (the emulator delivers none), so there is none to delete;
        # polling bots (python-telegram-bot's Updater) call it before their first getUpdates.
        # drop_pending_updates drops the updates still waiting.
        if self._flag(call, "drop_pending_updates"):
            self._updates[bot.id] = []
        # The Bot API server says which case it was beside the result.
        return _Described(True, "Webhook is already deleted")

    def _m_getwebhookinfo(self, bot: TelegramBot, call: BotApiRequest) -> Any:
        # WebhookInfo without a webhook: an empty url and the updates waiting for getUpdates.
        now = self.clock.time()
        pending = sum(1 for _, t, _ in self._updates.get(bot.id, []) if now - t < UPDATE_LIFETIME)
        return {"url": "", "has_custom_certificate": False, "pending_update_count": pending}

    def _m_setmessagereaction(self, bot: TelegramBot, call: BotApiRequest) -> Any:
        chat = self._target(bot, call)
        message_id = self._int(call, "message_id")
        try:
            m = self._find(chat.id, int(message_id or 0))
        except KeyError:
            m = None
        if m is None or m.deleted_at is not None:
            raise Refusal(400, "Bad Request: message to react not found")
        reaction = self._param(call, "reaction") or []
        if not isinstance(reaction, list):
            raise Refusal(400, "Bad Request: can't parse reaction JSON object")
        emoji = [str(r.get("emoji")) for r in reaction if isinstance(r, dict)]
        if any(r.get("type") != "emoji" for r in reaction if isinstance(r, dict)):
            # Bots cannot send paid reactions; custom emoji need the chat to allow them.
            raise Refusal(400, "Bad Request: REACTION_INVALID")
        if len(emoji) > 1:
            # Bots set at most one reaction on a message (non-premium users' limit).
            raise Refusal(400, "Bad Request: REACTIONS_TOO_MANY")
        if emoji:
            m.reactions[bot.id] = emoji
        else:
            m.reactions.pop(bot.id, None)
        return True

    def _m_deletemessages(self, bot: TelegramBot, call: BotApiRequest) -> Any:
        chat = self._target(bot, call)
        ids = self._param(call, "message_ids")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise Refusal(400, "Bad Request: too many message identifiers specified")
        for message_id in ids:
            try:
                self._delete(bot, chat, int(message_id))
            except Refusal as refusal:
                if "not found" not in refusal.message:
                    raise
        return True
