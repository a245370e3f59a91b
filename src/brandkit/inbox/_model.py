"""The message model: what the audience says to (or about) a brand, as one immutable shape
for every platform."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal, TypeAlias

import attrs
import pydantic_core

from brandkit.errors import ConfigurationError

__all__ = ["KINDS", "Author", "InboxPage", "Message", "MessageKind"]

MessageKind: TypeAlias = Literal["reply", "comment", "mention", "quote", "found"]
KINDS: tuple[str, ...] = ("reply", "comment", "mention", "quote", "found")


# json.dumps with options builds an encoder per call; a sync stores thousands of messages.
_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str)


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _plain(value: Any) -> bool:
    """``value`` holds only JSON's own types (str keys; no tuples, subclasses or others)."""
    kind = type(value)
    if kind in _SCALARS:
        return True
    if kind is dict:
        return all(type(k) is str and _plain(v) for k, v in value.items())
    if kind is list:
        return all(map(_plain, value))
    return False


class _FieldError(ConfigurationError, ValueError):
    """A message built with a field brandkit cannot take: a `ConfigurationError`, as
    brandkit's callers catch, and the ``ValueError`` it has always been."""


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


def _utc(value: datetime) -> datetime:
    if not isinstance(value, datetime):
        # Text or a date has no time to read in UTC: say so, not AttributeError.
        raise _FieldError(
            f"created_at={_shown(value)}: give an aware datetime (UTC), such as "
            "datetime(2026, 3, 1, 9, 30, tzinfo=UTC)"
        )
    if value.tzinfo is None:
        raise _FieldError(
            f"created_at must be an aware datetime (UTC), not {_shown(value)}: add "
            "tzinfo=UTC (datetime.now(UTC), not datetime.now())"
        )
    return _in_utc("created_at", value)


def _edited(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise _FieldError(
            f"edited_at={_shown(value)}: give an aware datetime (UTC), or None when the "
            "message was never edited"
        )
    return _in_utc("edited_at", value)


def _in_utc(name: str, value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except (OverflowError, ValueError):
        # An offset that takes the time past year 9999 (or before year 1) in UTC.
        raise _FieldError(
            f"{name}={_shown(value)} is no time in UTC (years 1-9999): give an aware "
            "datetime that is"
        ) from None


def _kind(_: Any, __: Any, value: str) -> None:
    if value not in KINDS:
        raise _FieldError(f"kind must be one of {', '.join(KINDS)}, not {_shown(value)}")


def _messages(value: Iterable[Message]) -> tuple[Message, ...]:
    return tuple(value)


def _frozen_map(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return dict(value or {})


def _json_text(value: Mapping[str, Any] | None) -> bytes | dict[str, Any]:
    """``value`` (a platform's JSON object) as its compact JSON text.

    A sync holds thousands of messages while it reads: kept as the platform's dicts, each
    one's tree of dicts and lists is a few dozen objects that the garbage collector walks
    again and again (a fifth of a sync's time), and that the store then encodes anyway.
    Text is one object, and the store writes it as it is."""
    if isinstance(value, bytes):
        # Another message's text (attrs.evolve passes it on): an object, or refused.
        try:
            data = pydantic_core.from_json(value)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise _FieldError("raw must be a mapping (the platform's JSON object)")
        return value
    if not value:
        return b"{}"
    data = value if type(value) is dict else dict(value)
    try:
        return pydantic_core.to_json(data, fallback=str)
    except pydantic_core.PydanticSerializationError:
        # Text JSON cannot hold (a lone surrogate from a lenient reader): kept as given.
        return data


@attrs.frozen
class Author:
    """Who wrote a message.

    Attributes:
        id: the platform's id of the author (X user id, Mastodon account id, Bluesky DID,
            Meta/LinkedIn id or URN, Telegram user id).
        handle: the handle (``fan1``, ``fan1@example.social``, ``fan1.bsky.social``), when the
            platform has one.
        name: the display name.
        url: the profile's web address, when there is one.
        followers: how many follow the author, when the platform says (listening's reach).
    """

    id: str
    handle: str | None = None
    name: str | None = None
    url: str | None = None
    followers: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain data for storage."""
        return attrs.asdict(self)


@attrs.frozen
class Message:
    """One message from the audience: a reply, a comment, a mention, a quote (or a post
    found by a listening query).

    Messages compare by where they come from (``platform``, ``account``, ``id``) and their
    content; ``raw`` and ``extra`` are kept for reading, not compared.

    Attributes:
        platform: the platform's name.
        account: the key of the brand's account that received it (``platform:name``).
        id: the platform's id of the message (a Bluesky AT URI, a Telegram ``chat:message``).
        kind: ``"reply"``, ``"comment"``, ``"mention"``, ``"quote"`` or ``"found"``.
        author: who wrote it.
        text: its text, as plain text.
        created_at: when it was written (aware, UTC).
        url: its public web address, when there is one.
        in_reply_to: the id of what it answers (the brand's post part or another message).
        conversation: the id of the conversation's root post.
        our_post: the id of the brand's post it belongs to, when it does.
        hidden: the platform shows it hidden.
        raw: the platform's JSON of it.
        extra: what the adapter needs to act on it later (content hashes, chat ids).
        edited_at: when its author last edited it, as the platform says (aware, UTC), or
            ``None`` when it was never edited (or the platform does not say). The inbox
            store replaces a stored message's text with a read whose ``edited_at`` is later.

    Raises:
        ConfigurationError: ``created_at`` is not an aware datetime, ``edited_at`` is
            neither ``None`` nor one, or ``kind`` is not one of `KINDS` (the error is a
            ``ValueError`` too).
    """

    platform: str
    account: str
    id: str
    kind: str = attrs.field(validator=_kind)
    author: Author
    text: str
    created_at: datetime = attrs.field(converter=_utc)
    url: str | None = None
    in_reply_to: str | None = None
    conversation: str | None = None
    our_post: str | None = None
    hidden: bool = False
    _raw: bytes | dict[str, Any] = attrs.field(
        alias="raw", factory=dict, converter=_json_text, eq=False
    )
    extra: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen_map, eq=False)
    edited_at: datetime | None = attrs.field(default=None, converter=_edited)
    _raw_read: dict[str, Any] | None = attrs.field(init=False, default=None, eq=False)

    @property
    def raw(self) -> dict[str, Any]:
        """The platform's JSON of the message (read from its text when first asked for;
        the same dict on every read). It is what the platform sent: a change made to it
        is neither stored nor passed on to copies (``attrs.evolve``)."""
        read = self._raw_read
        if read is None:
            text = self._raw
            read = pydantic_core.from_json(text) if isinstance(text, bytes) else text
            object.__setattr__(self, "_raw_read", read)
        return read

    def __getstate__(self) -> dict[str, Any]:
        # A pickle (or copy.copy) is a copy: it carries what the platform sent, not the
        # dict a reader may have changed (see ``raw``), nor that dict beside the text.
        return {a.name: getattr(self, a.name) for a in _STATE}

    def __setstate__(self, state: Mapping[str, Any]) -> None:
        put = object.__setattr__
        for a in _STATE:
            name = a.name
            if name == "_raw" and name not in state:
                # Pickled before ``raw`` was kept as text: its dict, as the field takes it.
                put(self, name, _json_text(state.get("raw")))
            elif name in state:
                put(self, name, state[name])
            elif a.default is not attrs.NOTHING:
                # A field added since the message was pickled: its default, as a new
                # message gets (``edited_at``: never edited, as far as it knows).
                factory = getattr(a.default, "factory", None)
                put(self, name, factory() if callable(factory) else a.default)
        put(self, "_raw_read", None)

    @property
    def key(self) -> str:
        """Where the message lives, unique across platforms and accounts."""
        return f"{self.account}|{self.id}"

    def _head(self) -> dict[str, Any]:
        """`to_dict` without ``raw`` and ``extra``."""
        # Written out rather than attrs.asdict: a sync stores thousands of messages, and the
        # generic walk costs more than the JSON encoding itself.
        a = self.author
        return {
            "platform": self.platform,
            "account": self.account,
            "id": self.id,
            "kind": self.kind,
            "author": {
                "id": a.id,
                "handle": a.handle,
                "name": a.name,
                "url": a.url,
                "followers": a.followers,
            },
            "text": self.text,
            "created_at": self.created_at.isoformat(),
            "url": self.url,
            "in_reply_to": self.in_reply_to,
            "conversation": self.conversation,
            "our_post": self.our_post,
            "hidden": self.hidden,
            "edited_at": None if self.edited_at is None else self.edited_at.isoformat(),
        }

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data (``from_dict`` reads it back)."""
        data = self._head()
        data["raw"] = dict(self.raw)
        data["extra"] = dict(self.extra)
        return data

    def to_json(self) -> str:
        """``to_dict`` as compact JSON (values JSON has no type for written as text)."""
        data = self._head()
        # pydantic's encoder writes JSON's own types as json.dumps does, several times
        # faster (a sync stores thousands of messages); ``raw`` is the platform's JSON.
        # Anything else in the other fields goes through json.dumps, as it always did.
        a, extra = self.author, self.extra
        if _SCALARS.issuperset(
            map(
                type,
                (
                    *(self.platform, self.account, self.id, self.kind, self.text, self.url),
                    *(self.in_reply_to, self.conversation, self.our_post, self.hidden),
                    *(a.id, a.handle, a.name, a.url, a.followers),
                ),
            )
        ) and (not extra or _plain(extra)):
            # extra is the message's own dict (see _frozen_map): read, not copied.
            data["extra"] = extra
            head = pydantic_core.to_json(data, fallback=str).decode()[:-1]
            return f'{head},"raw":{self._raw_json()}}}'
        head = _COMPACT.encode(data)[:-1]
        body = self._raw_json()
        tail = _COMPACT.encode(dict(extra)) if extra else "{}"
        return f'{head},"raw":{body},"extra":{tail}}}'

    def _raw_json(self) -> str:
        """``raw`` as compact JSON: the platform's text, as it came."""
        raw = self._raw
        if isinstance(raw, bytes):
            return raw.decode()
        return pydantic_core.to_json(raw, fallback=str).decode()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Message:
        """Back from `to_dict`.

        Raises:
            ValueError: a field is missing or of the wrong kind.
        """
        try:
            author = data["author"]
            return cls(
                platform=str(data["platform"]),
                account=str(data["account"]),
                id=str(data["id"]),
                kind=str(data["kind"]),
                author=Author(
                    id=str(author["id"]),
                    handle=author.get("handle"),
                    name=author.get("name"),
                    url=author.get("url"),
                    followers=author.get("followers"),
                ),
                text=str(data.get("text") or ""),
                created_at=datetime.fromisoformat(str(data["created_at"])),
                url=data.get("url"),
                in_reply_to=data.get("in_reply_to"),
                conversation=data.get("conversation"),
                our_post=data.get("our_post"),
                hidden=bool(data.get("hidden")),
                raw=data.get("raw") or {},
                extra=data.get("extra") or {},
                # Stored before brandkit kept it: never edited, as far as it knows.
                edited_at=(
                    None
                    if data.get("edited_at") is None
                    else datetime.fromisoformat(str(data["edited_at"]))
                ),
            )
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise ValueError(f"not a stored message: {type(exc).__name__}: {exc}") from None

    def __repr__(self) -> str:
        text = self.text if len(self.text) <= 60 else self.text[:57] + "..."
        return (
            f"Message({self.platform} {self.kind} {self.id!r} by "
            f"{self.author.handle or self.author.id!r}: {text!r})"
        )


# What a pickle of a message holds: every field but ``raw``'s read cache.
_STATE = tuple(a for a in attrs.fields(Message) if a.name != "_raw_read")


@attrs.frozen
class InboxPage:
    """What one inbox read returned.

    Attributes:
        messages: the new messages, oldest first.
        cursor: where the next read starts (pass it back as ``since=``); opaque text.
        more: the read stopped at its ``limit`` with more to read: read again from
            ``cursor``.
        requests: how many requests the read made.
    """

    messages: tuple[Message, ...] = attrs.field(converter=_messages)
    cursor: str | None = None
    more: bool = False
    requests: int = 0
