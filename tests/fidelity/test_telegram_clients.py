"""python-telegram-bot and pyTelegramBotAPI, the two Python clients most Telegram bots use,
against the Telegram emulator over a real socket: a brand's workflow, and the errors they must
raise exactly as the Bot API makes them raise."""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest
import requests

from brandkit.testing.conformance import tiny_png
from brandkit.testing.telegram import TelegramEmulator

telegram = pytest.importorskip("telegram")
telebot = pytest.importorskip("telebot")
apihelper = importlib.import_module("telebot.apihelper")
telebot_util = importlib.import_module("telebot.util")

CHAT = "@brandnews"
TOO_LONG = "Bad Request: message is too long"
BAD_FILE = "Bad Request: wrong file identifier/HTTP URL specified"
T = TypeVar("T")


@pytest.fixture
def served() -> Iterator[tuple[TelegramEmulator, str, str]]:
    """The emulator on a socket, a bot that is admin of @brandnews (120 subscribers), and
    the bot's token."""
    emu = TelegramEmulator()
    with emu.serve() as url:
        account = emu.account(chat=CHAT[1:], members=120)
        yield emu, url, str(account.secret("bot_token"))


# -- python-telegram-bot (async, httpx) ------------------------------------------------------


def ptb(url: str, token: str) -> Any:
    """A python-telegram-bot ``Bot`` of the served emulator: bounded waits, no environment
    proxy. The emulator speaks plain http on loopback, so no CA store is loaded (loading it
    costs half a second per httpx client, and python-telegram-bot makes two per Bot)."""

    def request() -> Any:
        return telegram.request.HTTPXRequest(
            connect_timeout=5,
            read_timeout=5,
            write_timeout=5,
            httpx_kwargs={"verify": False, "trust_env": False},
        )

    return telegram.Bot(
        token,
        base_url=f"{url}/bot",
        base_file_url=f"{url}/file/bot",
        request=request(),
        get_updates_request=request(),
    )


def run(steps: Callable[[], Awaitable[T]]) -> T:
    """Run one test's python-telegram-bot steps in one event loop."""
    return asyncio.run(steps())  # type: ignore[arg-type]


def test_ptb_workflow_verify_photo_post_reply_album_metric_delete(
    served: tuple[TelegramEmulator, str, str],
) -> None:
    """getMe, a photo with caption (multipart upload), a message, replies both ways
    (reply_parameters and the older reply_to_message_id), an album, the member count, a
    delete: python-telegram-bot's own objects carry what the Bot API returns."""
    emu, url, token = served

    async def steps() -> dict[str, Any]:
        async with ptb(url, token) as bot:
            out: dict[str, Any] = {"me": await bot.get_me()}
            out["photo"] = await bot.send_photo(CHAT, tiny_png(), caption="Launch day!")
            out["text"] = await bot.send_message(CHAT, "Doors open at 9")
            out["reply"] = await bot.send_message(
                CHAT,
                "See you there",
                reply_parameters=telegram.ReplyParameters(out["text"].message_id),
            )
            out["old_reply"] = await bot.send_message(
                CHAT, "And bring a friend", reply_to_message_id=out["photo"].message_id
            )
            out["album"] = await bot.send_media_group(
                CHAT,
                [
                    telegram.InputMediaPhoto(tiny_png(16, 12), caption="Backstage"),
                    telegram.InputMediaPhoto(tiny_png(12, 16)),
                ],
            )
            out["members"] = await bot.get_chat_member_count(CHAT)
            out["deleted"] = await bot.delete_message(CHAT, out["reply"].message_id)
            return out

    got = run(steps)
    me = got["me"]
    assert me.is_bot and me.username == "brandkit1_bot" and me.can_join_groups
    photo = got["photo"]
    assert photo.caption == "Launch day!" and photo.chat.username == "brandnews"
    assert photo.sender_chat.type == "channel" and photo.from_user is None
    assert (photo.photo[-1].width, photo.photo[-1].height) == (8, 6)
    assert got["reply"].reply_to_message.message_id == got["text"].message_id
    assert got["old_reply"].reply_to_message.caption == "Launch day!"
    album = got["album"]
    assert len(album) == 2 and album[0].media_group_id == album[1].media_group_id
    assert album[0].caption == "Backstage" and album[1].caption is None
    assert got["members"] == 120
    assert got["deleted"] is True
    assert emu.post_texts() == [
        "Launch day!",
        "Doors open at 9",
        "And bring a friend",
        "Backstage",
    ]


def test_ptb_resends_a_photo_by_its_file_id(served: tuple[TelegramEmulator, str, str]) -> None:
    """A photo's file_id (the largest size's, as bots pick it) sends it again without an
    upload; an unknown one is BadRequest with Telegram's description (python-telegram-bot
    drops "Bad Request: " and capitalises it)."""
    emu, url, token = served

    async def steps() -> tuple[Any, Any]:
        async with ptb(url, token) as bot:
            first = await bot.send_photo(CHAT, tiny_png(), caption="one")
            again = await bot.send_photo(CHAT, first.photo[-1].file_id, caption="two")
            with pytest.raises(telegram.error.BadRequest) as caught:
                await bot.send_photo(CHAT, "AgACAgQAAxkBAAIBnotafileid")
            return again, caught.value

    again, error = run(steps)
    assert again.caption == "two"
    assert [m.file.data for m in emu.messages() if m.file] == [tiny_png(), tiny_png()]
    assert error.message == "Wrong file identifier/http url specified"


def test_ptb_document_and_spoiler_photo_show_what_was_sent(
    served: tuple[TelegramEmulator, str, str],
) -> None:
    """A document keeps its file name and a spoiler photo is marked, as python-telegram-bot
    reads them back from the Bot API's Message."""
    _, url, token = served

    async def steps() -> tuple[Any, Any]:
        async with ptb(url, token) as bot:
            doc = await bot.send_document(CHAT, b"%PDF-1.4 hello", filename="report.pdf")
            photo = await bot.send_photo(CHAT, tiny_png(), caption="Guess", has_spoiler=True)
            return doc, photo

    doc, photo = run(steps)
    assert doc.document.file_name == "report.pdf" and doc.document.file_size == 14
    assert photo.has_media_spoiler is True and photo.caption == "Guess"


def test_ptb_too_long_is_bad_request(served: tuple[TelegramEmulator, str, str]) -> None:
    """4,096 characters post; 4,097 are telegram.error.BadRequest "Message is too long"."""
    emu, url, token = served

    async def steps() -> Any:
        async with ptb(url, token) as bot:
            await bot.send_message(CHAT, "a" * 4096)
            with pytest.raises(telegram.error.BadRequest) as caught:
                await bot.send_message(CHAT, "a" * 4097)
            return caught.value

    assert run(steps).message == "Message is too long"
    assert emu.post_texts() == ["a" * 4096]


def test_ptb_bad_and_revoked_tokens_are_invalid_token(
    served: tuple[TelegramEmulator, str, str],
) -> None:
    """A well-formed token Telegram never issued, and a revoked one: 401 "Unauthorized",
    which python-telegram-bot raises as InvalidToken, already while initialising the Bot."""
    emu, url, token = served
    stranger = token.split(":")[0] + ":" + "A" * 35

    async def steps(token: str) -> Any:
        with pytest.raises(telegram.error.InvalidToken) as caught:
            async with ptb(url, token) as bot:
                await bot.send_message(CHAT, "hello")
        return caught.value

    error = run(lambda: steps(stranger))
    assert isinstance(error.__cause__, telegram.error.InvalidToken)
    assert error.__cause__.message == "Unauthorized"
    emu.revoke()
    assert run(lambda: steps(token)).__cause__.message == "Unauthorized"
    assert emu.post_texts() == []


def test_ptb_flood_control_is_retry_after(
    served: tuple[TelegramEmulator, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two messages a minute per chat: the third is RetryAfter with the seconds from
    parameters.retry_after; after that long on the emulator clock posting works again. An
    album counts one message per item."""
    emu, url, token = served
    # retry_after as the timedelta python-telegram-bot's next major version returns (the int
    # form is deprecated and warns).
    monkeypatch.setenv("PTB_TIMEDELTA", "1")
    emu.set_limit("chat", 2, 60.0)

    async def steps() -> Any:
        async with ptb(url, token) as bot:
            await bot.send_message(CHAT, "one")
            await bot.send_message(CHAT, "two")
            with pytest.raises(telegram.error.RetryAfter) as caught:
                await bot.send_message(CHAT, "three")
            seconds = int(caught.value.retry_after.total_seconds())
            assert 1 <= seconds <= 60
            emu.clock.advance(seconds)
            album = [telegram.InputMediaPhoto(tiny_png()) for _ in range(3)]
            with pytest.raises(telegram.error.RetryAfter):
                await bot.send_media_group(CHAT, album)
            return await bot.send_message(CHAT, "three")

    assert run(steps).text == "three"
    assert emu.post_texts() == ["one", "two", "three"]


# -- pyTelegramBotAPI (requests) --------------------------------------------------------------


@pytest.fixture
def telebot_to(
    served: tuple[TelegramEmulator, str, str], monkeypatch: pytest.MonkeyPatch
) -> Callable[[str], Any]:
    """Builds ``telebot.TeleBot``s that talk to the served emulator: the module-wide
    ``API_URL`` is pointed at it (restored after the test), on a session that ignores
    environment proxies, with bounded waits."""
    _, url, _ = served
    session = requests.Session()
    session.trust_env = False
    monkeypatch.setattr(apihelper, "API_URL", url + "/bot{0}/{1}")
    monkeypatch.setattr(apihelper, "session", session)
    monkeypatch.setattr(apihelper, "READ_TIMEOUT", 5)
    monkeypatch.setattr(apihelper, "CONNECT_TIMEOUT", 5)
    # telebot keeps its session per thread once made; this test's must be the one used.
    monkeypatch.setattr(telebot_util.thread_local, "req_session", session, raising=False)
    return lambda token: telebot.TeleBot(token, threaded=False)


def test_telebot_workflow_verify_photo_post_reply_album_metric_delete(
    served: tuple[TelegramEmulator, str, str], telebot_to: Callable[[str], Any]
) -> None:
    """The same workflow through pyTelegramBotAPI: its multipart upload names the part
    ``filename=photo`` (unquoted), replies go both ways, the album by ``attach://``."""
    emu, _, token = served
    bot = telebot_to(token)
    types = telebot.types
    me = bot.get_me()
    assert me.is_bot and me.username == "brandkit1_bot"
    photo = bot.send_photo(CHAT, tiny_png(), caption="Launch day!")
    assert photo.content_type == "photo" and photo.caption == "Launch day!"
    assert (photo.photo[-1].width, photo.photo[-1].height) == (8, 6)
    stored = emu.messages()[0].file
    assert stored is not None and stored.data == tiny_png()
    text = bot.send_message(CHAT, "Doors open at 9")
    reply = bot.send_message(
        CHAT, "See you there", reply_parameters=types.ReplyParameters(text.message_id)
    )
    assert reply.reply_to_message.message_id == text.message_id
    old = bot.send_message(CHAT, "And bring a friend", reply_to_message_id=photo.message_id)
    assert old.reply_to_message.message_id == photo.message_id
    album = bot.send_media_group(
        CHAT,
        [types.InputMediaPhoto(tiny_png(), caption="Backstage"), types.InputMediaPhoto(tiny_png())],
    )
    assert [m.content_type for m in album] == ["photo", "photo"]
    assert album[0].media_group_id == album[1].media_group_id
    assert bot.get_chat_member_count(CHAT) == 120
    assert bot.delete_message(CHAT, reply.message_id) is True
    assert emu.post_texts() == ["Launch day!", "Doors open at 9", "And bring a friend", "Backstage"]


def test_telebot_errors_carry_telegrams_code_and_description(
    served: tuple[TelegramEmulator, str, str], telebot_to: Callable[[str], Any]
) -> None:
    """Too long, a bad file id, a bad token and flood control: ApiTelegramException with the
    Bot API's error_code, description and (for 429) parameters.retry_after."""
    emu, _, token = served
    bot = telebot_to(token)
    with pytest.raises(apihelper.ApiTelegramException) as long_text:
        bot.send_message(CHAT, "a" * 4097)
    assert (long_text.value.error_code, long_text.value.description) == (400, TOO_LONG)
    with pytest.raises(apihelper.ApiTelegramException) as bad_file:
        bot.send_photo(CHAT, "AgACAgQAAxkBAAIBnotafileid")
    assert (bad_file.value.error_code, bad_file.value.description) == (400, BAD_FILE)
    stranger = telebot_to(token.split(":")[0] + ":" + "A" * 35)
    with pytest.raises(apihelper.ApiTelegramException) as unauthorized:
        stranger.get_me()
    assert (unauthorized.value.error_code, unauthorized.value.description) == (401, "Unauthorized")

    emu.set_limit("chat", 1, 30.0)
    bot.send_message(CHAT, "one")
    with pytest.raises(apihelper.ApiTelegramException) as flood:
        bot.send_message(CHAT, "two")
    assert flood.value.error_code == 429
    retry_after = flood.value.result_json["parameters"]["retry_after"]
    assert 1 <= retry_after <= 30
    assert flood.value.description == f"Too Many Requests: retry after {retry_after}"
    assert emu.post_texts() == ["one"]


def test_async_telebot_workflow_and_too_long(
    served: tuple[TelegramEmulator, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """pyTelegramBotAPI's AsyncTeleBot, whose uploads aiohttp encodes: a photo, a reply, an
    album and a named document post; too long is ApiTelegramException 400."""
    pytest.importorskip("aiohttp")
    async_helper = importlib.import_module("telebot.asyncio_helper")
    async_telebot = importlib.import_module("telebot.async_telebot")
    emu, url, token = served
    monkeypatch.setattr(async_helper, "API_URL", url + "/bot{0}/{1}")
    monkeypatch.setattr(async_helper, "REQUEST_TIMEOUT", 5)
    types = telebot.types

    async def steps() -> Any:
        bot = async_telebot.AsyncTeleBot(token)
        try:
            photo = await bot.send_photo(CHAT, tiny_png(), caption="Launch day!")
            reply = await bot.send_message(
                CHAT, "See you there", reply_parameters=types.ReplyParameters(photo.message_id)
            )
            assert reply.reply_to_message.message_id == photo.message_id
            album = [
                types.InputMediaPhoto(tiny_png(), caption="Backstage"),
                types.InputMediaPhoto(tiny_png()),
            ]
            assert len(await bot.send_media_group(CHAT, album)) == 2
            doc = await bot.send_document(CHAT, b"%PDF-1.4", visible_file_name="report.pdf")
            assert doc.document.file_name == "report.pdf"
            with pytest.raises(async_helper.ApiTelegramException) as caught:
                await bot.send_message(CHAT, "a" * 4097)
            return caught.value
        finally:
            session = async_helper.session_manager.session
            if session is not None:
                await session.close()

    error = asyncio.run(steps())
    assert (error.error_code, error.description) == (400, TOO_LONG)
    assert [m.kind for m in emu.messages()] == ["photo", "text", "photo", "photo", "document"]
    assert [m.file.data for m in emu.messages() if m.file][:2] == [tiny_png(), tiny_png()]
