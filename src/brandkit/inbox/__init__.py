"""Conversations: what the audience says to the brand, read, stored and answered.

```python
from brandkit import Client, Inbox, Post

inbox = Inbox("brandkit.db")
with Client() as client:
    inbox.sync(client, [x, masto, sky])
    for message in inbox.unanswered():
        inbox.reply(client, message, Post(text="Thanks!"))
```

Answer through the inbox (``inbox.reply``), not ``client.reply`` alone: the inbox records the
answer, so the message leaves `Inbox.unanswered` and counts in `Inbox.response_times`.

The message model (`Message`, `Author`, `InboxPage`) is shared with listening; what each
platform can read, hide or delete is in its adapter's `Capabilities`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from brandkit.inbox._model import KINDS, Author, InboxPage, Message, MessageKind

if TYPE_CHECKING:
    from brandkit.inbox._postgres import PostgresInbox
    from brandkit.inbox._store import (
        AccountSync,
        Inbox,
        MessageStatus,
        ResponseTimes,
        SyncReport,
        Volume,
    )

__all__ = [
    "KINDS",
    "AccountSync",
    "Author",
    "Inbox",
    "InboxPage",
    "Message",
    "MessageKind",
    "MessageStatus",
    "PostgresInbox",
    "ResponseTimes",
    "SyncReport",
    "Volume",
]


def __getattr__(name: str) -> Any:
    if name in ("AccountSync", "Inbox", "MessageStatus", "ResponseTimes", "SyncReport", "Volume"):
        from brandkit.inbox import _store

        return getattr(_store, name)
    if name == "PostgresInbox":
        from brandkit.inbox._postgres import PostgresInbox

        return PostgresInbox
    raise AttributeError(f"module 'brandkit.inbox' has no attribute {name!r}")
