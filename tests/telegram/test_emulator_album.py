"""sendMediaGroup's limits and refusals as the Bot API server words them (telegram-bot-api
``Client.cpp`` passes TDLib's errors through ``fail_query_with_error``: "Bad Request: " and
the message with its first letter lowered), over a real socket."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from brandkit.testing import png
from brandkit.testing.telegram import TelegramEmulator

from .conftest import RAW


@pytest.fixture
def api() -> Iterator[tuple[TelegramEmulator, httpx.Client]]:
    """A served emulator with a channel @news, and a client at its bot's API root."""
    emu = TelegramEmulator()
    with emu.serve():
        bot = emu.bot()
        emu.chat(username="news", admins=[bot])
        root = f"{emu.base_url}/bot{bot.token}/"
        with httpx.Client(base_url=root, headers={RAW: "1"}) as http:
            yield emu, http


def _album(http: httpx.Client, items: list[dict[str, Any]]) -> httpx.Response:
    files = {f"f{i}": (f"{i}.png", png(), "image/png") for i in range(len(items) or 1)}
    return http.post(
        "sendMediaGroup", data={"chat_id": "@news", "media": json.dumps(items)}, files=files
    )


def _photos(n: int) -> list[dict[str, Any]]:
    return [{"type": "photo", "media": f"attach://f{i}"} for i in range(n)]


@pytest.mark.parametrize(
    ("items", "description"),
    [
        ([], "Bad Request: there are no messages to send"),
        (_photos(11), "Bad Request: too many messages to send as an album"),
        (
            [*_photos(1), {"type": "document", "media": "attach://f0"}],
            "Bad Request: document can't be mixed with other media types",
        ),
        (
            [*_photos(1), {"type": "audio", "media": "attach://f0"}],
            "Bad Request: audio can't be mixed with other media types",
        ),
    ],
)
def test_refused_albums_get_telegrams_descriptions(
    api: tuple[TelegramEmulator, httpx.Client], items: list[dict[str, Any]], description: str
) -> None:
    """TDLib's refusals of an album, as the Bot API server answers them; nothing is sent."""
    emu, http = api
    refused = _album(http, items)
    assert refused.status_code == 400
    assert refused.json() == {"ok": False, "error_code": 400, "description": description}
    assert emu.messages() == []


def test_an_album_of_one_is_one_ordinary_message(
    api: tuple[TelegramEmulator, httpx.Client],
) -> None:
    """The server sends a single item as it is (TDLib makes no album of one): a list of one
    message, without a media_group_id."""
    emu, http = api
    items = _photos(1)
    items[0]["caption"] = "alone"
    sent = _album(http, items)
    assert sent.status_code == 200, sent.text
    (message,) = sent.json()["result"]
    assert message["caption"] == "alone" and "photo" in message
    assert "media_group_id" not in message
    assert emu.post_texts() == ["alone"]
