"""A delivery: one post (or article) to one account, its state, and what the platform made
of it."""

from __future__ import annotations

import enum
import json
import math
import os
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, TypeAlias

import attrs

from brandkit.content._article import Article
from brandkit.content._model import Post
from brandkit.errors import BrandkitError, ContentError, PlatformError
from brandkit.governor._parse import DEFAULT_MAX_WAIT
from brandkit.platforms._base import PartRef

__all__ = ["Content", "Delivery", "DeliveryStatus", "is_article", "new_tid", "send_at"]

Content: TypeAlias = Post | Article
"""What a delivery carries: a social [`Post`][brandkit.Post] or a blog
`Article`."""


def is_article(content: Content) -> bool:
    """``content`` is an `Article` (for a blog), not a post."""
    return isinstance(content, Article)


def send_at(content: Content) -> datetime | None:
    """When brandkit sends ``content``: a post's ``scheduled_at`` (``None``: at once). An
    article is always sent at once: its ``scheduled_at`` is handed to the blog, which
    publishes it then."""
    return None if isinstance(content, Article) else content.scheduled_at


_B32 = "234567abcdefghijklmnopqrstuvwxyz"
_last_tid_us = 0
_clock_id = int.from_bytes(os.urandom(2), "big") & 0x3FF


def new_tid(now_us: int | None = None) -> str:
    """A new AT Protocol TID: 13 base32-sortable characters from the time in microseconds
    and a random clock id. Without ``now_us``, strictly increasing within a process.

    brandkit uses TIDs as per-part idempotency keys: Bluesky takes them as record keys and
    Mastodon as ``Idempotency-Key``.
    """
    global _last_tid_us
    if now_us is not None:
        # An explicit time is the caller's: it must not push later keys into its future.
        us = now_us
    else:
        us = time.time_ns() // 1000
        if us <= _last_tid_us:
            us = _last_tid_us + 1
        _last_tid_us = us
    value = ((us & ((1 << 53) - 1)) << 10) | _clock_id
    out = []
    for _ in range(13):
        out.append(_B32[value & 31])
        value >>= 5
    return "".join(reversed(out))


def tid_time(key: str) -> datetime | None:
    """When the TID ``key`` (a part's idempotency key, see `new_tid`) was made, or ``None``
    when ``key`` is not a TID. Adapters look for a lost create among the posts made since."""
    if len(key) != 13 or any(c not in _B32 for c in key):
        return None
    value = 0
    for c in key:
        value = (value << 5) | _B32.index(c)
    return datetime.fromtimestamp((value >> 10) / 1_000_000, UTC)


class DeliveryStatus(enum.StrEnum):
    """Where a delivery is.

    ``pending → sending → sent | failed | unknown``; ``unknown`` (the outcome of a create is
    not known) is resolved by looking the post up, never by a blind re-send. ``cancelled``
    and ``deleted`` are set by the user.
    """

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    UNKNOWN = "unknown"
    CANCELLED = "cancelled"
    DELETED = "deleted"


def _now() -> datetime:
    return datetime.now(UTC)


@attrs.define(eq=False)
class Delivery:
    """One post (or article) to one account.

    Attributes:
        id: brandkit's id for the delivery.
        account: the account's key (``platform:name``).
        platform: the platform's name.
        status: see [`DeliveryStatus`][brandkit.DeliveryStatus].
        post: the post, or the `Article` for a blog account.
        keys: one idempotency key per part (TIDs), fixed before the first byte is sent.
        parts: the parts the platform confirmed, in thread order.
        error: why it failed or is unknown (a typed brandkit error), else ``None``.
        attempts: how many times publishing was attempted.
        look_first: the last attempt's create of the next part may have landed (a 5xx after
            it left): the next attempt looks it up before sending anything.
        reply_to: for a reply, the message it answers as the platform knows it (its
            ``extra["message"]`` is the `brandkit.Message.key`); else ``None``.
        created_at, updated_at: aware UTC times.
        progress: what the unfinished attempt at the next part left on the platform, by
            name (a Facebook video's id and upload session, a Threads or Instagram
            container's id), written to the outbox before the part's create is sent, so
            that an attempt in another process settles it instead of starting over.
            Emptied when the part is confirmed.
    """

    account: str
    platform: str
    post: Content
    id: str = attrs.field(factory=lambda: uuid.uuid4().hex)
    status: DeliveryStatus = DeliveryStatus.PENDING
    keys: list[str] = attrs.field(factory=list)
    parts: list[PartRef] = attrs.field(factory=list)
    error: BrandkitError | None = None
    attempts: int = 0
    look_first: bool = False
    reply_to: PartRef | None = None
    created_at: datetime = attrs.field(factory=_now)
    updated_at: datetime = attrs.field(factory=_now)
    progress: dict[str, str] = attrs.field(factory=dict)

    @property
    def ok(self) -> bool:
        """The post is fully published."""
        return self.status is DeliveryStatus.SENT

    @property
    def ids(self) -> list[str]:
        """The platform ids of every published part."""
        return [p.id for p in self.parts]

    @property
    def urls(self) -> list[str]:
        """The public URLs of every published part that has one."""
        return [p.url for p in self.parts if p.url]

    @property
    def url(self) -> str | None:
        """The public URL of the first part."""
        return self.urls[0] if self.urls else None

    def error_dict(self) -> dict[str, Any] | None:
        """The error as plain data, or ``None``."""
        err = self.error
        if err is None:
            return None
        if isinstance(err, PlatformError):
            return err.to_dict()
        data: dict[str, Any] = {"type": type(err).__name__, "message": str(err)}
        if isinstance(err, ContentError):
            data.update(field=err.field, platform=err.platform, over_by=err.over_by)
        return data

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data (secrets are never part of a delivery). An article's data
        carries ``"content": "article"`` before its ``"post"``."""
        kind = {"content": "article"} if isinstance(self.post, Article) else {}
        return {
            "id": self.id,
            "account": self.account,
            "platform": self.platform,
            "status": self.status.value,
            **kind,
            "post": json.loads(self.post.model_dump_json()),
            "keys": list(self.keys),
            "parts": [p.to_dict() for p in self.parts],
            "error": self.error_dict(),
            "attempts": self.attempts,
            "look_first": self.look_first,
            "reply_to": self.reply_to.to_dict() if self.reply_to else None,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "progress": dict(self.progress),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Delivery:
        """Back from `to_dict`; a stored error comes back as the same error class.

        Raises:
            ContentError: the stored content is not valid any more.
            KeyError, TypeError, ValueError: ``data`` is not what `to_dict` writes (a field
                missing or of the wrong type, a time without a zone): damaged data is
                refused, never read as something else.
        """
        updated_at = _aware_time(data["updated_at"], "updated_at")
        return cls(
            id=data["id"],
            account=data["account"],
            platform=data["platform"],
            status=DeliveryStatus(data["status"]),
            post=content_from_dict(data),
            keys=_keys(data.get("keys")),
            parts=[PartRef.from_dict(p) for p in data.get("parts") or []],
            error=error_from_dict(data.get("error"), written_at=updated_at),
            attempts=int(data.get("attempts") or 0),
            look_first=_look_first(data),
            reply_to=PartRef.from_dict(data["reply_to"]) if data.get("reply_to") else None,
            created_at=_aware_time(data["created_at"], "created_at"),
            updated_at=updated_at,
            progress=_progress(data.get("progress")),
        )

    def __repr__(self) -> str:
        return (
            f"Delivery(id={self.id!r}, account={self.account!r}, status={self.status.value!r}, "
            f"urls={self.urls!r}, error={str(self.error) if self.error else None!r})"
        )


def content_from_dict(data: dict[str, Any]) -> Content:
    """The post or article of stored delivery data (``"content": "article"`` marks an
    article; data without the mark holds a post).

    Raises:
        ContentError: the stored content is not valid any more.
    """
    if data.get("content") == "article":
        return Article.model_validate(data["post"])
    return Post.model_validate(data["post"])


def _keys(value: Any) -> list[str]:
    """Stored idempotency keys: a list of texts. A text alone would be read as its letters,
    each taken for a part's key, and a lookup by them finds nothing."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(key, str) for key in value):
        raise TypeError(f"keys must be a list of texts, not {value!r:.80}")
    return value


def _aware_time(value: Any, name: str) -> datetime:
    """A stored time: ISO 8601 with its zone (every time a delivery keeps is aware, and the
    outbox compares and writes them as UTC)."""
    when = datetime.fromisoformat(value)
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"{name} {value!r:.40} has no time zone")
    return when


def _seconds(value: Any, name: str, cuts: list[str]) -> float | None:
    """A stored wait: ``None`` or a finite number of seconds, at most `DEFAULT_MAX_WAIT`
    (a longer one is cut to it, and said in ``cuts``)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{name} {value!r:.40} is not a number of seconds")
    if value > DEFAULT_MAX_WAIT:
        # Never waited as stored: 1e300 s overflowed the worker's retry time (the run
        # ended) and a year-long one parked the delivery; brandkit waits no longer for a
        # server, and a limit still in force when this wait ends is met again then.
        cuts.append(f"stored {name} {float(value):g} s cut to {DEFAULT_MAX_WAIT:.0f} s")
        return DEFAULT_MAX_WAIT
    return float(value)


def _reset(value: Any, written_at: datetime | None, cuts: list[str]) -> datetime | None:
    """A stored rate limit's reset: an aware time, at most `DEFAULT_MAX_WAIT` after the
    delivery was last written (an error is stored when it happens, or later)."""
    if not value:
        return None
    reset = _aware_time(value, "reset_at")
    if written_at is None:
        return reset
    try:
        latest = written_at + timedelta(seconds=DEFAULT_MAX_WAIT)
    except OverflowError:  # written at the end of time: nothing later to cut to
        return reset
    if reset > latest:
        cuts.append(f"stored reset_at {value!s:.40} cut to {latest.isoformat()}")
        return latest
    return reset


def _progress(value: Any) -> dict[str, str]:
    """A stored ``progress``: names and values of text only. Anything else (stored by hand,
    damaged) is dropped: without it an attempt reads the platform back, as before the
    progress was kept."""
    if not isinstance(value, dict):
        return {}
    return {k: v for k, v in value.items() if isinstance(k, str) and isinstance(v, str)}


def _look_first(data: dict[str, Any]) -> bool:
    if "look_first" in data:
        return bool(data["look_first"])
    # Stored before the flag existed: a create that ended in a 5xx left it so.
    error = data.get("error") or {}
    return (
        data.get("status") in ("failed", "pending") and error.get("type") == "PlatformUnavailable"
    )


def error_from_dict(
    data: dict[str, Any] | None, *, written_at: datetime | None = None
) -> BrandkitError | None:
    """Rebuild a stored error as its brandkit class, keeping the platform's message.

    A stored wait (``retry_after``) longer than brandkit waits for a server (24 h,
    `DEFAULT_MAX_WAIT`), or a rate limit's reset later than that after ``written_at`` (when
    the delivery holding it was last written), is cut to it, and the error's message says
    what was cut: a hand edit or another tool would otherwise park the delivery for ever.

    Raises:
        ValueError: a wait that is no number of seconds, a reset that is no aware time.
    """
    if not data:
        return None
    from brandkit import errors

    cls = getattr(errors, str(data.get("type")), None)
    message = str(data.get("message", ""))
    cuts: list[str] = []
    if not (isinstance(cls, type) and issubclass(cls, BrandkitError)):
        return BrandkitError(message)
    if issubclass(cls, PlatformError):
        kwargs: dict[str, Any] = {
            "platform": data.get("platform"),
            "status_code": data.get("status_code"),
            "platform_message": data.get("platform_message"),
            "code": data.get("code"),
        }
        if issubclass(cls, errors.TransportError):
            kwargs["maybe_delivered"] = bool(data.get("maybe_delivered", True))
        if issubclass(cls, errors.MalformedResponse):
            kwargs["body"] = str(data.get("body") or "")
        if issubclass(cls, errors.PlatformUnavailable):
            kwargs["retry_after"] = _seconds(data.get("retry_after"), "retry_after", cuts)
        if issubclass(cls, errors.RateLimited):
            # What a worker waits for, when the attempt after it broke off: checked here,
            # a naive time or a wait in words raised there instead.
            kwargs.update(
                reset_at=_reset(data.get("reset_at"), written_at, cuts),
                retry_after=_seconds(data.get("retry_after"), "retry_after", cuts),
                bucket=data.get("bucket"),
            )
        if cuts:
            message = f"{message} ({'; '.join(cuts)})"
        return cls(message, **kwargs)
    if issubclass(cls, ContentError):
        return cls(
            message,
            field=data.get("field"),
            platform=data.get("platform"),
            over_by=data.get("over_by"),
        )
    return cls(message)
