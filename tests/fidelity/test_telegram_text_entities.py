"""What the Bot API makes of a text before it sends it, through python-telegram-bot over a
real socket: tdlib's fix_formatted_text trims leading and trailing spaces and newlines, and
finds the links, mentions, hashtags, cashtags, commands and addresses in it, which the
returned Message carries as ``entities`` (``caption_entities``), offsets in UTF-16 code
units. The expected values follow tdlib's td/telegram/MessageEntity.cpp (match_urls,
fix_url, match_mentions... and fix_formatted_text)."""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Iterator
from typing import Any

import pytest

from brandkit.testing.conformance import tiny_png
from brandkit.testing.telegram import TelegramEmulator

telegram = pytest.importorskip("telegram")
fidelity = importlib.import_module("tests.fidelity.test_telegram_clients")
ptb_filters = importlib.import_module("telegram.ext.filters")

CHAT = "@brandnews"


@pytest.fixture
def served() -> Iterator[tuple[TelegramEmulator, str, str]]:
    emu = TelegramEmulator()
    with emu.serve() as url:
        account = emu.account(chat=CHAT[1:], members=1)
        yield emu, url, str(account.secret("bot_token"))


def entities(message: Any, caption: bool = False) -> list[tuple[str, int, int]]:
    found = message.caption_entities if caption else message.entities
    return [(e.type, e.offset, e.length) for e in found]


def send(url: str, token: str, call: str, *args: Any, **kwargs: Any) -> Any:
    async def steps() -> Any:
        async with fidelity.ptb(url, token) as bot:
            return await getattr(bot, call)(*args, **kwargs)

    return asyncio.run(steps())


def test_text_is_trimmed_and_its_entities_found(
    served: tuple[TelegramEmulator, str, str],
) -> None:
    emu, url, token = served
    text = (
        "\n  New drop 😀 at https://shop.example.com/boots?c=red. Ask @brandkit_help or "
        "mail help@example.org, tag #BrandKit $USD, try /start@brandkit1_bot or shop.example.com\n\n "
    )
    m = send(url, token, "send_message", CHAT, text)
    assert m.text == text.strip(" \n")
    # 😀 is two UTF-16 code units: every offset after it is one more than its index.
    assert entities(m) == [
        ("url", 15, 36),  # the closing "." is not part of it
        ("mention", 57, 14),
        ("email", 80, 16),
        ("hashtag", 102, 9),
        ("cashtag", 112, 4),
        ("bot_command", 122, 20),
        ("url", 146, 16),  # no scheme: a known TLD
    ]
    assert m.parse_entity(m.entities[0]) == "https://shop.example.com/boots?c=red"
    (stored,) = emu.messages(CHAT)
    assert stored.text == m.text


def test_entities_of_the_sender_are_kept_and_not_overlapped(
    served: tuple[TelegramEmulator, str, str],
) -> None:
    """A link inside the sender's ``code`` entity is not one; inside ``bold`` it is. The
    leading blanks are trimmed only up to the sender's first entity."""
    _, url, token = served
    m = send(
        url,
        token,
        "send_message",
        CHAT,
        "  <code>example.com</code> <b>see example.com</b>  ",
        parse_mode="HTML",
    )
    assert m.text == "example.com see example.com"
    assert entities(m) == [("code", 0, 11), ("bold", 12, 15), ("url", 16, 11)]


def test_caption_is_trimmed_and_a_blank_caption_dropped(
    served: tuple[TelegramEmulator, str, str],
) -> None:
    _, url, token = served
    m = send(url, token, "send_photo", CHAT, tiny_png(), caption=" #launch day \n")
    assert m.caption == "#launch day"
    assert entities(m, caption=True) == [("hashtag", 0, 7)]
    blank = send(url, token, "send_photo", CHAT, tiny_png(), caption=" \n ")
    assert blank.caption is None


def test_blank_text_is_empty(served: tuple[TelegramEmulator, str, str]) -> None:
    _, url, token = served
    with pytest.raises(telegram.error.BadRequest, match="Message text is empty"):
        send(url, token, "send_message", CHAT, " \n \n")
    # A tab is not one of the blanks tdlib trims.
    assert send(url, token, "send_message", CHAT, "\t").text == "\t"


def test_audience_messages_carry_their_entities(
    served: tuple[TelegramEmulator, str, str],
) -> None:
    """A fan's "/start" reaches the bot with its ``bot_command`` entity, which
    python-telegram-bot's command filter (and so CommandHandler) needs to see a command."""
    emu, url, token = served
    emu.audience("fan1").mention("/start@brandkit1_bot see https://example.com ")

    (update,) = send(url, token, "get_updates", timeout=0)
    message = update.message
    assert message.text == "/start@brandkit1_bot see https://example.com"
    assert entities(message) == [("bot_command", 0, 20), ("url", 25, 19)]
    assert ptb_filters.COMMAND.check_update(update)
