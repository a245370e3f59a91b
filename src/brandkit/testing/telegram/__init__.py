"""The Telegram Bot API emulator and a checker of Bot API requests.

```python
from brandkit import Client, Post
from brandkit.testing.telegram import TelegramEmulator

emu = TelegramEmulator()
with emu.serve():
    account = emu.account(chat="brandnews")        # a bot that is admin of @brandnews
    with Client() as client:
        (delivery,) = client.publish(Post(text="Hello, channel"), account)
    assert emu.post_texts() == ["Hello, channel"]
```

What it answers like the Bot API (``/bot<token>/<method>``, GET or POST, parameters in the
query, form, multipart or JSON):

- ``getMe``, ``getChat``, ``getChatMemberCount`` (members grow with the emulator clock),
  ``sendMessage``, ``sendPhoto``, ``sendVideo``, ``sendAnimation``, ``sendDocument``,
  ``sendMediaGroup`` (up to 10 items, one alone being an ordinary message; files by
  ``attach://``), ``deleteMessage``,
  ``deleteMessages``; every request is first checked against the Bot API spec
  (`BotApiSpec`): an unknown method is 404 "Not Found", a missing or mistyped
  parameter a 400 with Telegram's description.
- ``{"ok": true, "result": ...}`` answers and ``{"ok": false, "error_code", "description"}``
  errors with Telegram's descriptions ("Bad Request: chat not found", "message is too long",
  "message caption is too long", "message to delete not found", "Forbidden: bot is not a
  member of the channel chat", "Unauthorized" for a revoked token, "Not Found" for a
  malformed one).
- Flood control per chat and per bot (`DEFAULT_LIMITS`, configurable): a 429
  ``"Too Many Requests: retry after N"`` with ``parameters.retry_after``, no headers.
- Text limits counted as tdlib counts them (code points of the visible text, after
  ``parse_mode`` HTML/MarkdownV2/Markdown or explicit entities, whose UTF-16 offsets must
  lie inside the text); the text trimmed of leading and trailing spaces and newlines and its
  links, addresses, mentions, hashtags, cashtags and commands found and returned in
  ``entities`` as tdlib finds them; messages older than 48 hours of the emulator clock
  cannot be deleted.

- Conversations: each channel made by ``account()`` has a linked discussion group (the bot
  an admin there); every channel post is forwarded into it automatically (``from`` the
  service user 777000, ``sender_chat`` the channel, ``is_automatic_forward``,
  ``forward_origin`` of type ``channel``). The audience (``emu.audience("fan")``) comments
  (a group message replying to the forward, in its ``message_thread_id``), answers comments,
  and writes to the bot privately (``.mention()``). Bots get these as ``message`` updates
  through ``getUpdates`` (``offset`` confirms earlier updates, a negative one keeps the
  last ones, one more than 10 past the next update id is answered from the queue's start
  confirming nothing, and one past 32 bits wraps around as the Bot API server reads it;
  ``limit`` 1-100, ``allowed_updates`` kept for later calls, 24-hour lifetime;
  ``timeout`` long-polls in wall time, at most 50 s, answering as soon as an update comes,
  and a newer ``getUpdates`` of the bot ends a waiting one with 409 "Conflict: terminated
  by other getUpdates request");
  bots never see their own or other bots' messages. ``setMessageReaction`` (one emoji
  reaction), and an admin bot of a group deletes anyone's message there.
  ``deleteWebhook`` (``drop_pending_updates``) and ``getWebhookInfo`` answer as for a bot
  with no webhook, which polling bots check first. ``emu.garble(message_id, **fields)``
  makes the waiting updates of a message arrive garbled (a "poison" update).

Simplifications: no webhooks (``setWebhook`` is not served), no edits, no reaction updates
or views (the Bot API has no views), photos are not re-encoded (their sizes are listed as
Telegram makes them, each with its own ``file_id``), URLs given as media are not fetched
(400). The entity check is stricter than Telegram, which drops some out-of-range entities
silently.
"""

from brandkit.testing.telegram._server import (
    DEFAULT_LIMITS,
    StoredFile,
    TelegramBot,
    TelegramChat,
    TelegramEmulator,
    TelegramMessage,
    TelegramUser,
)
from brandkit.testing.telegram._spec import BotApiRequest, BotApiSpec, UploadedFile, parse_request

__all__ = [
    "DEFAULT_LIMITS",
    "BotApiRequest",
    "BotApiSpec",
    "StoredFile",
    "TelegramBot",
    "TelegramChat",
    "TelegramEmulator",
    "TelegramMessage",
    "TelegramUser",
    "UploadedFile",
    "parse_request",
]
