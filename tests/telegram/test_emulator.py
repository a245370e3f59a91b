"""The Telegram emulator answers like the Bot API (in-process, with raw requests)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from brandkit.testing import png
from brandkit.testing.telegram import TelegramBot, TelegramChat, TelegramEmulator
from brandkit.testing.telegram._server import photo_sizes


@pytest.fixture
def emu() -> TelegramEmulator:
    """A fresh emulator."""
    return TelegramEmulator()


@pytest.fixture
def bot(emu: TelegramEmulator) -> TelegramBot:
    """A bot."""
    return emu.bot()


@pytest.fixture
def channel(emu: TelegramEmulator, bot: TelegramBot) -> TelegramChat:
    """A public channel @news where the bot may post."""
    return emu.chat(username="news", admins=[bot], members=100, members_per_day=10)


@pytest.fixture
def http(emu: TelegramEmulator, bot: TelegramBot) -> Iterator[httpx.Client]:
    """A client whose paths are relative to the bot's API root."""
    with httpx.Client(
        transport=emu.transport(), base_url=f"https://api.telegram.org/bot{bot.token}/"
    ) as client:
        yield client


def body(response: httpx.Response) -> dict[str, Any]:
    """The JSON body."""
    data: dict[str, Any] = response.json()
    return data


def test_send_message_returns_a_channel_message(http: httpx.Client, channel: TelegramChat) -> None:
    """sendMessage answers ok with the Message; ids count up per chat."""
    first = body(http.post("sendMessage", json={"chat_id": "@news", "text": "one"}))
    second = body(http.post("sendMessage", data={"chat_id": str(channel.id), "text": "two"}))
    assert first["ok"] is True
    msg = first["result"]
    assert (msg["message_id"], msg["text"], msg["chat"]["username"]) == (1, "one", "news")
    assert msg["sender_chat"]["type"] == "channel" and "from" not in msg
    assert second["result"]["message_id"] == 2


def test_error_shapes_for_tokens_and_methods(emu: TelegramEmulator, bot: TelegramBot) -> None:
    """Malformed token or unknown method: 404 Not Found; revoked token: 401 Unauthorized."""
    with httpx.Client(transport=emu.transport(), base_url="https://api.telegram.org") as raw:
        assert body(raw.get("/botnot-a-token/getMe")) == {
            "ok": False,
            "error_code": 404,
            "description": "Not Found",
        }
        assert raw.get(f"/bot{bot.token}/getTelepathy").status_code == 404
        assert body(raw.get(f"/bot{bot.token}/getMe"))["result"]["is_bot"] is True
        emu.revoke(bot)
        response = raw.get(f"/bot{bot.token}/getMe")
    assert response.status_code == 401 and body(response)["description"] == "Unauthorized"


@pytest.mark.parametrize(
    ("payload", "description"),
    [
        ({"text": "x"}, "Bad Request: chat_id is empty"),
        ({"chat_id": "@news"}, "Bad Request: message text is empty"),
        ({"chat_id": "@news", "text": "   "}, "Bad Request: message text is empty"),
        ({"chat_id": "@nowhere", "text": "x"}, "Bad Request: chat not found"),
        ({"chat_id": "@news", "text": "x" * 4097}, "Bad Request: message is too long"),
        (
            {"chat_id": "@news", "text": "x", "reply_parameters": {"message_id": 99}},
            "Bad Request: message to be replied not found",
        ),
        (
            {"chat_id": "@news", "text": "<b>x", "parse_mode": "HTML"},
            "Bad Request: can't parse entities: Can't find end tag corresponding to start tag \"b\"",
        ),
        (
            {"chat_id": "@news", "text": "<blink>x</blink>", "parse_mode": "HTML"},
            'Bad Request: can\'t parse entities: Unsupported start tag "blink" at byte offset 0',
        ),
        (
            {"chat_id": "@news", "text": "Done.", "parse_mode": "MarkdownV2"},
            "Bad Request: can't parse entities: Character '.' is reserved and must be escaped "
            "with the preceding '\\'",
        ),
    ],
)
def test_bad_requests_get_telegrams_descriptions(
    http: httpx.Client, channel: TelegramChat, payload: dict[str, Any], description: str
) -> None:
    """Refusals carry Telegram's 400 descriptions and store nothing."""
    response = http.post("sendMessage", json=payload)
    assert response.status_code == 400
    assert body(response) == {"ok": False, "error_code": 400, "description": description}


def test_text_limit_counts_code_points_after_markup(
    http: httpx.Client, emu: TelegramEmulator, channel: TelegramChat
) -> None:
    """4096 emoji (8192 UTF-16 units) fit, as tdlib counts code points; HTML tags do not
    count; 4097 characters do not fit."""
    assert http.post("sendMessage", json={"chat_id": "@news", "text": "😀" * 4096}).is_success
    html = "<b>" + "y" * 4096 + "</b>"
    sent = body(
        http.post("sendMessage", json={"chat_id": "@news", "text": html, "parse_mode": "HTML"})
    )
    assert sent["result"]["entities"] == [{"type": "bold", "offset": 0, "length": 4096}]
    assert (
        http.post("sendMessage", json={"chat_id": "@news", "text": "z" * 4097}).status_code == 400
    )


def test_explicit_entities_must_lie_inside_the_text(
    http: httpx.Client, channel: TelegramChat
) -> None:
    """Entity offsets are UTF-16: an emoji counts 2, and an entity past the end is refused."""
    text = "😀 #tag"
    good = [{"type": "hashtag", "offset": 3, "length": 4}]
    sent = body(http.post("sendMessage", json={"chat_id": "@news", "text": text, "entities": good}))
    assert sent["result"]["entities"] == good
    bad = [{"type": "hashtag", "offset": 4, "length": 4}]
    response = http.post("sendMessage", json={"chat_id": "@news", "text": text, "entities": bad})
    assert response.status_code == 400 and "outside the text" in body(response)["description"]


def test_photo_and_caption_limit(http: httpx.Client, channel: TelegramChat) -> None:
    """sendPhoto stores the upload with its sizes; a caption over 1024 is refused."""
    files = {"photo": ("p.png", png(30, 20), "image/png")}
    msg = body(http.post("sendPhoto", data={"chat_id": "@news", "caption": "pic"}, files=files))
    sizes = msg["result"]["photo"]
    assert sizes[-1]["width"] == 30 and sizes[-1]["height"] == 20
    assert msg["result"]["caption"] == "pic"
    again = http.post("sendPhoto", data={"chat_id": "@news", "caption": "c" * 1025}, files=files)
    assert body(again)["description"] == "Bad Request: message caption is too long"
    missing = http.post("sendPhoto", data={"chat_id": "@news"})
    assert body(missing)["description"] == "Bad Request: there is no photo in the request"


def test_photo_sizes_are_telegrams_thumbnails_each_its_own_file(
    http: httpx.Client, emu: TelegramEmulator, channel: TelegramChat
) -> None:
    """A photo comes back in the sizes Telegram keeps (90, 320, 800, 1280, 2560 boxes, never
    enlarged, none twice), each with its own file_id and file_unique_id, and any of them sends
    the photo again; a tiny photo has one size."""

    def send(photo: str | bytes) -> dict[str, Any]:
        if isinstance(photo, bytes):
            files = {"photo": ("p.png", photo, "image/png")}
            response = http.post("sendPhoto", data={"chat_id": "@news"}, files=files)
        else:
            response = http.post("sendPhoto", data={"chat_id": "@news", "photo": photo})
        answer = body(response)
        assert answer["ok"], answer
        result: dict[str, Any] = answer["result"]
        return result

    big = send(png(640, 480))["photo"]
    assert [(s["width"], s["height"]) for s in big] == [(90, 68), (320, 240), (640, 480)]
    assert len({s["file_id"] for s in big}) == 3 and len({s["file_unique_id"] for s in big}) == 3
    assert big[0]["file_size"] < big[-1]["file_size"] == len(png(640, 480))
    tiny = send(png(8, 6))["photo"]
    assert [(s["width"], s["height"]) for s in tiny] == [(8, 6)]
    again = send(big[0]["file_id"])["photo"]
    assert [s["file_id"] for s in again] == [s["file_id"] for s in big]
    assert [m.file.data for m in emu.messages() if m.file][-1] == png(640, 480)


def test_media_messages_show_file_names_and_media_flags(
    http: httpx.Client, channel: TelegramChat
) -> None:
    """A document, video or animation shows the file name the client gave (an animation
    also as its document); a spoiler photo shows has_media_spoiler and a caption above the
    media show_caption_above_media, in single sends and in albums."""
    doc = http.post(
        "sendDocument",
        data={"chat_id": "@news"},
        files={"document": ("report.pdf", b"%PDF-1.4 hello", "application/pdf")},
    )
    assert body(doc)["result"]["document"]["file_name"] == "report.pdf"
    gif = b"GIF89a\x08\x00\x06\x00\x80\x00\x00" + b"\x00" * 40
    anim = http.post(
        "sendAnimation", data={"chat_id": "@news"}, files={"animation": ("dot.gif", gif, "")}
    )
    shown = body(anim)["result"]
    assert shown["animation"]["file_name"] == shown["document"]["file_name"] == "dot.gif"
    assert "width" not in shown["document"]
    photo = http.post(
        "sendPhoto",
        data={"chat_id": "@news", "caption": "c", "has_spoiler": "true"},
        files={"photo": ("p.png", png(), "image/png")},
    )
    assert body(photo)["result"]["has_media_spoiler"] is True
    assert "show_caption_above_media" not in body(photo)["result"]
    assert "file_name" not in body(photo)["result"]["photo"][-1]
    media = [
        {"type": "photo", "media": "attach://a", "caption": "up", "show_caption_above_media": True},
        {"type": "photo", "media": "attach://b", "has_spoiler": True},
    ]
    files = {k: (f"{k}.png", png(), "image/png") for k in "ab"}
    album = body(
        http.post(
            "sendMediaGroup",
            data={"chat_id": "@news", "media": json.dumps(media)},
            files=files,
        )
    )["result"]
    assert album[0]["show_caption_above_media"] is True and "has_media_spoiler" not in album[0]
    assert album[1]["has_media_spoiler"] is True


def test_reply_to_message_id_still_works_without_reply_parameters(
    http: httpx.Client, channel: TelegramChat
) -> None:
    """The pre-7.0 reply_to_message_id (and allow_sending_without_reply) that older clients
    send is still honoured, as the Bot API server does when reply_parameters is absent."""
    first = body(http.post("sendMessage", data={"chat_id": "@news", "text": "one"}))["result"]
    reply = body(
        http.post(
            "sendMessage",
            data={"chat_id": "@news", "text": "two", "reply_to_message_id": first["message_id"]},
        )
    )["result"]
    assert reply["reply_to_message"]["message_id"] == first["message_id"]
    missing = http.post(
        "sendMessage", json={"chat_id": "@news", "text": "three", "reply_to_message_id": 99}
    )
    assert body(missing)["description"] == "Bad Request: message to be replied not found"
    loose = http.post(
        "sendMessage",
        json={
            "chat_id": "@news",
            "text": "four",
            "reply_to_message_id": 99,
            "allow_sending_without_reply": True,
        },
    )
    assert "reply_to_message" not in body(loose)["result"]


def test_photo_size_boxes() -> None:
    """Wide, tall and huge photos: the scaled sizes, the largest capped at 2560."""
    assert photo_sizes(1280, 720) == [(90, 51), (320, 180), (800, 450), (1280, 720)]
    assert photo_sizes(100, 2000) == [(4, 90), (16, 320), (40, 800), (64, 1280), (100, 2000)]
    assert photo_sizes(5120, 2880)[-1] == (2560, 1440)
    assert photo_sizes(90, 90) == [(90, 90)]


def test_media_group_rules(
    http: httpx.Client, emu: TelegramEmulator, channel: TelegramChat
) -> None:
    """Albums take at most 10 items and share a media_group_id; the caption is the first
    item's."""
    files = {f"f{i}": (f"{i}.png", png(), "image/png") for i in range(11)}

    def album(n: int) -> httpx.Response:
        media = [{"type": "photo", "media": f"attach://f{i}"} for i in range(n)]
        media[0]["caption"] = "album"
        return http.post(
            "sendMediaGroup", data={"chat_id": "@news", "media": json.dumps(media)}, files=files
        )

    too_many = body(album(11))["description"]
    assert too_many == "Bad Request: too many messages to send as an album"
    result = body(album(3))["result"]
    assert len({m["media_group_id"] for m in result}) == 1
    assert [m.get("caption") for m in result] == ["album", None, None]
    assert emu.post_texts() == ["album"]


def test_flood_control_answers_retry_after(emu: TelegramEmulator, http: httpx.Client) -> None:
    """Past the chat's limit: 429 with retry_after in the body and no rate-limit headers;
    after the window, sending works again."""
    emu.set_limit("chat", 2, 3.0)
    emu.chat(username="news", admins=[next(iter(emu.bots.values()))])
    for _ in range(2):
        assert http.post("sendMessage", json={"chat_id": "@news", "text": "x"}).is_success
    refused = http.post("sendMessage", json={"chat_id": "@news", "text": "x"})
    assert refused.status_code == 429
    assert body(refused) == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 3",
        "parameters": {"retry_after": 3},
    }
    assert not any(k.lower().startswith(("x-ratelimit", "retry-after")) for k in refused.headers)
    emu.clock.advance(3.0)
    assert http.post("sendMessage", json={"chat_id": "@news", "text": "x"}).is_success


def test_album_counts_one_message_per_item(emu: TelegramEmulator, http: httpx.Client) -> None:
    """An album of 3 does not fit a budget of 2 messages."""
    emu.set_limit("chat", 2, 60.0)
    emu.chat(username="news", admins=[next(iter(emu.bots.values()))])
    media = [{"type": "photo", "media": f"attach://f{i}"} for i in range(3)]
    files = {f"f{i}": (f"{i}.png", png(), "image/png") for i in range(3)}
    response = http.post(
        "sendMediaGroup", data={"chat_id": "@news", "media": json.dumps(media)}, files=files
    )
    assert response.status_code == 429 and emu.messages() == []


def test_bot_rights(emu: TelegramEmulator, bot: TelegramBot, http: httpx.Client) -> None:
    """A bot that is no member gets 403; one without posting rights a 400."""
    chat = emu.chat(username="other")
    response = http.post("sendMessage", json={"chat_id": "@other", "text": "x"})
    assert response.status_code == 403
    assert body(response)["description"] == "Forbidden: bot is not a member of the channel chat"
    emu.set_admin(chat.id, bot, can_post=False)
    response = http.post("sendMessage", json={"chat_id": "@other", "text": "x"})
    assert body(response)["description"] == (
        "Bad Request: need administrator rights in the channel chat"
    )


def test_delete_rules(emu: TelegramEmulator, http: httpx.Client, channel: TelegramChat) -> None:
    """Deleting twice: "not found"; after 48 hours: "can't be deleted"."""
    sent = body(http.post("sendMessage", json={"chat_id": "@news", "text": "a"}))["result"]
    old = body(http.post("sendMessage", json={"chat_id": "@news", "text": "b"}))["result"]
    assert (
        body(
            http.post("deleteMessage", json={"chat_id": "@news", "message_id": sent["message_id"]})
        )["result"]
        is True
    )
    again = http.post("deleteMessage", json={"chat_id": "@news", "message_id": sent["message_id"]})
    assert body(again)["description"] == "Bad Request: message to delete not found"
    emu.clock.advance(48 * 3600)
    late = http.post("deleteMessage", json={"chat_id": "@news", "message_id": old["message_id"]})
    assert body(late)["description"] == "Bad Request: message can't be deleted"
    assert emu.post_texts() == ["b"]


def test_member_count_grows_with_the_clock(
    emu: TelegramEmulator, http: httpx.Client, channel: TelegramChat
) -> None:
    """getChatMemberCount grows deterministically with the emulator clock."""
    before = body(http.get("getChatMemberCount", params={"chat_id": "@news"}))["result"]
    emu.clock.advance(86400 * 2)
    after = body(http.get("getChatMemberCount", params={"chat_id": "@news"}))["result"]
    assert (before, after) == (100, 120)


def test_get_chat_answers_full_info(http: httpx.Client, channel: TelegramChat) -> None:
    """getChat by numeric id gives the ChatFullInfo fields the spec requires."""
    chat = body(http.post("getChat", json={"chat_id": channel.id}))["result"]
    assert {"id", "type", "accent_color_id", "max_reaction_count", "accepted_gift_types"} <= set(
        chat
    )
    assert chat["username"] == "news"


def test_unknown_parameters_are_ignored_like_telegram(
    http: httpx.Client, channel: TelegramChat
) -> None:
    """Telegram ignores parameters it does not know; so does the emulator."""
    assert http.post("sendMessage", json={"chat_id": "@news", "text": "x", "colour": 1}).is_success


def test_url_media_is_not_fetched(http: httpx.Client, channel: TelegramChat) -> None:
    """The emulator does not fetch URLs: a 400 instead of Telegram's download."""
    response = http.post("sendPhoto", json={"chat_id": "@news", "photo": "https://x.test/a.png"})
    assert body(response)["description"] == "Bad Request: failed to get HTTP URL content"
