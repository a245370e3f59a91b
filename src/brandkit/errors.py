"""The one error tree of brandkit.

Every error brandkit raises derives from `BrandkitError`, so a caller can catch one
class. Errors that come from a platform keep the platform's own message.

```
BrandkitError
├── ConfigurationError      unknown platform, missing credential or extra, bad settings file
├── OutboxConflict          the outbox refuses a change (another process holds the delivery)
├── AnswerNotRecorded       an answer was posted but the inbox could not record it; .delivery
├── ContentError            the post breaks a rule of the platform; raised before any I/O
│   └── MediaError          a media file that cannot be read or is of the wrong kind
└── PlatformError           the platform (or the way to it) refused or failed
    ├── AuthError           401/403, an expired or revoked token
    ├── RateLimited         .reset_at, .retry_after, .bucket
    ├── Rejected            a 4xx the platform will not accept (duplicate, policy, validation)
    ├── PlatformUnavailable a 5xx; .retry_after when it said
    ├── MalformedResponse   a success answer brandkit cannot read; .body keeps it
    ├── TransportError      the request did not complete; .maybe_delivered
    └── CollectIncomplete   some metrics batches failed; .samples (what was read), .errors
```

Secrets never appear in messages: messages are built from platform answers and from field
names, never from credentials.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from brandkit.delivery import Delivery
    from brandkit.metrics._sample import MetricSample

__all__ = [
    "AnswerNotRecorded",
    "AuthError",
    "BrandkitError",
    "CollectIncomplete",
    "ConfigurationError",
    "ContentError",
    "MalformedResponse",
    "MediaError",
    "OutboxConflict",
    "PlatformError",
    "PlatformUnavailable",
    "RateLimited",
    "Rejected",
    "TransportError",
    "Unsupported",
]


class BrandkitError(Exception):
    """The base of every error brandkit raises."""


class ConfigurationError(BrandkitError):
    """brandkit is set up wrongly: an unknown platform, a missing credential, a bad file."""


class Unsupported(BrandkitError):
    """The platform (or its adapter) cannot do this at all: hide a reply on Mastodon, read
    an inbox on a platform without one. Raised before any request is sent.

    Attributes:
        platform: the platform's name.
        operation: what was asked (``"hide"``, ``"inbox"``, ``"delete_message"``, ...).
    """

    def __init__(self, message: str, *, platform: str | None = None, operation: str = "") -> None:
        super().__init__(message)
        self.platform = platform
        self.operation = operation


class OutboxConflict(BrandkitError):
    """The outbox refuses a change: another process is publishing the delivery, or the change
    would reopen a finished delivery or drop a confirmed part."""


class AnswerNotRecorded(BrandkitError):
    """An answer to an inbox message was posted, but the inbox could not record it (another
    process kept its file locked, its server went away). Answering again would post a second
    answer: record this one with ``inbox.replied(message, error.delivery)`` once the store
    is back.

    Attributes:
        delivery: the answer's delivery, as the platform took it.
    """

    def __init__(self, message: str, *, delivery: Delivery) -> None:
        super().__init__(message)
        self.delivery = delivery


class ContentError(BrandkitError, ValueError):
    """The content breaks a rule; raised before anything is sent.

    Attributes:
        field: the field at fault (``"text"``, ``"media[1].alt"``, ...), or ``None``.
        platform: the platform whose rule is broken, or ``None`` for a rule of the model.
        over_by: for length errors, by how much the content is over the limit.
    """

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        platform: str | None = None,
        over_by: int | None = None,
    ) -> None:
        super().__init__(message)
        self.field = field
        self.platform = platform
        self.over_by = over_by


class MediaError(ContentError):
    """A media file cannot be read, is of an unsupported type, or breaks a size rule."""


MAX_MESSAGE = 4000
"""The most characters of a platform error's message (and of the platform's own words in
it) that brandkit keeps: a platform's message is a sentence or two, and an answer of
megabytes (a broken proxy, a hostile server) must not be copied whole into every log line,
outbox row and history entry."""


def _cut(text: str) -> str:
    """``text``, cut to `MAX_MESSAGE` characters, saying how many were left out. A word the
    cut would split is left out whole: a token quoted in the text is redacted later, by
    exact match, which the half of one would escape."""
    if len(text) <= MAX_MESSAGE:
        return text
    head = text[:MAX_MESSAGE]
    if not text[MAX_MESSAGE].isspace() and (split := re.search(r"\S+$", head)) is not None:
        head = head[: split.start()]
    return f"{head}… [{len(text) - len(head):,} more characters cut]"


class PlatformError(BrandkitError):
    """The platform refused the request or could not be reached.

    Attributes:
        platform: the platform's name (``"x"``, ``"mastodon"``, ...).
        status_code: the HTTP status, when there was a response.
        platform_message: the platform's own words, unchanged up to `MAX_MESSAGE`
            characters (the rest is cut, and the cut says how much; so is the message).
        code: the platform's own error code or name, when it gives one.
    """

    def __init__(
        self,
        message: str,
        *,
        platform: str | None = None,
        status_code: int | None = None,
        platform_message: str | None = None,
        code: str | int | None = None,
    ) -> None:
        super().__init__(_cut(message) if isinstance(message, str) else message)
        self.platform = platform
        self.status_code = status_code
        self.platform_message = (
            _cut(platform_message) if isinstance(platform_message, str) else platform_message
        )
        self.code = _cut(code) if isinstance(code, str) else code

    def to_dict(self) -> dict[str, Any]:
        """The error as plain data (for the outbox and for logs)."""
        return {
            "type": type(self).__name__,
            "message": str(self),
            "platform": self.platform,
            "status_code": self.status_code,
            "platform_message": self.platform_message,
            "code": self.code,
        }


class AuthError(PlatformError):
    """The credentials were refused (invalid, expired and not refreshable, or revoked)."""


class RateLimited(PlatformError):
    """The platform (or brandkit's governor, to avoid a refusal) says: not now.

    Attributes:
        reset_at: when the limit resets (aware UTC datetime), if known.
        retry_after: seconds to wait from the moment the error was raised, if known.
        bucket: the rate-limit bucket, e.g. ``"x:post"`` or ``"bluesky:write"``.
    """

    def __init__(
        self,
        message: str,
        *,
        reset_at: datetime | None = None,
        retry_after: float | None = None,
        bucket: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.reset_at = reset_at
        self.retry_after = retry_after
        self.bucket = bucket

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["reset_at"] = self.reset_at.astimezone(UTC).isoformat() if self.reset_at else None
        data["retry_after"] = self.retry_after
        data["bucket"] = self.bucket
        return data


class Rejected(PlatformError):
    """The platform will not accept this request as it is (validation, policy, duplicate).

    Attributes:
        duplicate: the platform says the same content was already posted.
        existing_id: the id of the earlier post, when the platform names it.
    """

    def __init__(
        self,
        message: str,
        *,
        duplicate: bool = False,
        existing_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.duplicate = duplicate
        self.existing_id = existing_id


class PlatformUnavailable(PlatformError):
    """The platform answered with a server error (5xx) or said it is down.

    Attributes:
        retry_after: seconds to wait from the moment the error was raised, when the answer
            said (a ``Retry-After`` header: a site in maintenance, an instance upgrading);
            the client's repeats and the outbox worker wait at least that long.
    """

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["retry_after"] = self.retry_after
        return data


class MalformedResponse(PlatformError):
    """The platform answered with success, but not in the shape brandkit reads (a missing or
    wrong-typed field, a body that is not JSON).

    After a create, such an answer means the post may exist: the delivery becomes ``unknown``
    and is looked up, never sent again blindly.

    Attributes:
        body: the raw answer, cut to its first 2,000 characters (secrets redacted).
    """

    def __init__(self, message: str, *, body: str = "", **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.body = body

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["body"] = self.body
        return data


class TransportError(PlatformError):
    """The request did not complete (connection refused or dropped, timeout).

    Attributes:
        maybe_delivered: ``True`` when the request may have reached the platform and taken
            effect (the connection broke after the body was sent). Such a create must never
            be re-sent blindly.
    """

    def __init__(self, message: str, *, maybe_delivered: bool, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.maybe_delivered = maybe_delivered

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["maybe_delivered"] = self.maybe_delivered
        return data


class CollectIncomplete(PlatformError):
    """A metrics collection read some batches but not all: every batch was tried, and those
    that failed are named here beside everything that was read.

    Store what was read, then deal with each failure (its error says what to fix):

    ```python
    try:
        store.add(client.collect(deliveries))
    except CollectIncomplete as exc:
        store.add(exc.samples)
        for account, error in exc.errors:
            print(account, error)
    ```

    ``platform`` is the platform of the first failed batch.

    Attributes:
        samples: every sample read, stamped as `Client.collect` stamps them.
        errors: ``(account key, error)`` for each failed batch, in the order tried; the
            errors' messages are redacted.
    """

    def __init__(
        self,
        message: str,
        *,
        samples: Sequence[MetricSample] = (),
        errors: Sequence[tuple[str, PlatformError]] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.samples: list[MetricSample] = list(samples)
        self.errors: tuple[tuple[str, PlatformError], ...] = tuple(errors)

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["samples"] = len(self.samples)
        data["errors"] = [{"account": key, **error.to_dict()} for key, error in self.errors]
        return data
