"""python-telegram-bot and pyTelegramBotAPI reading and moderating the comments an audience
left under a channel post, over a real socket, exactly as a brand's bot does: ``getUpdates``
with an ``offset`` in the linked discussion group, the comment's thread and the automatic
forward it replies to, an answer in the thread, a reaction and a delete."""

from __future__ import annotations

import asyncio
import importlib
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from brandkit.testing.telegram import TelegramEmulator
from tests.fidelity.test_telegram_clients import CHAT, ptb, run, served, telebot_to

telegram = pytest.importorskip("telegram")
telebot = pytest.importorskip("telebot")

__all__ = ["served", "telebot_to"]  # the fixtures, used by name


def test_ptb_reads_comments_by_offset_answers_reacts_deletes(
    served: tuple[TelegramEmulator, str, str],
) -> None:
    """A channel post's automatic forward and two comments under it reach the bot as
    ``message`` updates of the discussion group; the comment's ``reply_to_message`` is the
    forward (``is_automatic_forward``, ``forward_origin`` naming the channel post) and its
    ``message_thread_id`` the forward's id; ``offset`` past the last confirms them, so only
    a newer comment comes next; the bot answers in the thread, reacts and deletes."""
    emu, url, token = served

    async def steps() -> dict[str, Any]:
        async with ptb(url, token) as bot:
            out: dict[str, Any] = {}
            post = await bot.send_message(CHAT, "What should we make next?")
            fan = emu.audience("fan1")
            fan.comment(str(post.message_id), "More boots!")
            emu.audience("fan2").comment(str(post.message_id), "And hats")
            first = await bot.get_updates(timeout=0, allowed_updates=["message"])
            out["post"], out["first"] = post, first
            rude = fan.comment(str(post.message_id), "meh")
            out["next"] = await bot.get_updates(offset=first[-1].update_id + 1, timeout=0)
            comment = first[1].message
            out["answer"] = await bot.send_message(
                comment.chat_id,
                "Boots it is",
                message_thread_id=comment.message_thread_id,
                reply_parameters=telegram.ReplyParameters(comment.message_id),
            )
            out["reacted"] = await bot.set_message_reaction(
                comment.chat_id, comment.message_id, "👍"
            )
            out["rude"] = rude
            chat_id, message_id = rude.split(":")
            out["deleted"] = await bot.delete_message(int(chat_id), int(message_id))
            out["after"] = await bot.get_updates(offset=out["next"][-1].update_id + 1, timeout=0)
            return out

    got = run(steps)
    post, first = got["post"], got["first"]
    forward, comment, other = (u.message for u in first)
    assert forward.is_automatic_forward is True and forward.text == "What should we make next?"
    assert forward.forward_origin.type == "channel"
    assert forward.forward_origin.chat.username == "brandnews"
    assert forward.forward_origin.message_id == post.message_id
    assert forward.sender_chat.id == post.chat.id and forward.from_user.id == 777000
    assert comment.chat.type == "supergroup" and comment.chat.id == forward.chat.id
    assert comment.from_user.username == "fan1" and comment.text == "More boots!"
    assert comment.reply_to_message.message_id == forward.message_id
    assert comment.reply_to_message.is_automatic_forward is True
    assert comment.message_thread_id == forward.message_id
    assert other.from_user.username == "fan2" and other.message_thread_id == forward.message_id
    assert [u.update_id for u in first] == sorted(u.update_id for u in first)
    (newer,) = got["next"]
    assert (
        newer.message.text == "meh"
        and f"{newer.message.chat_id}:{newer.message.message_id}" == got["rude"]
    )
    answer = got["answer"]
    assert answer.message_thread_id == forward.message_id
    assert answer.reply_to_message.message_id == comment.message_id
    assert got["reacted"] is True and got["deleted"] is True
    assert got["after"] == ()  # the bot's own answer is no update for it
    assert emu.answers(f"{comment.chat_id}:{comment.message_id}") == ["Boots it is"]
    assert emu.reactions(f"{comment.chat_id}:{comment.message_id}")


def test_telebot_reads_comments_by_offset_and_answers(
    served: tuple[TelegramEmulator, str, str], telebot_to: Callable[[str], Any]
) -> None:
    """pyTelegramBotAPI's ``get_updates(offset=...)`` (its ``timeout`` is the HTTP read
    timeout, ``long_polling_timeout`` the Bot API's): the same discussion-group messages,
    its Message objects reading the reply and the forward origin; a negative offset gives
    the last update again; the bot answers a comment and deletes one."""
    emu, _, token = served
    bot = telebot_to(token)
    post = bot.send_message(CHAT, "Launch day")
    emu.audience("fan1").comment(str(post.message_id), "Congrats!")
    updates = bot.get_updates()
    forward, comment = (u.message for u in updates)
    assert forward.is_automatic_forward is True
    assert forward.forward_origin.message_id == post.message_id
    assert comment.reply_to_message.message_id == forward.message_id
    assert comment.message_thread_id == forward.message_id
    assert comment.from_user.username == "fan1" and comment.chat.type == "supergroup"
    (last,) = bot.get_updates(offset=-1)
    assert last.update_id == updates[-1].update_id

    rude = emu.audience("fan2").comment(str(post.message_id), "meh")
    (newer,) = bot.get_updates(offset=updates[-1].update_id + 1)
    assert f"{newer.message.chat.id}:{newer.message.message_id}" == rude
    answer = bot.reply_to(comment, "Thank you!")
    assert answer.reply_to_message.message_id == comment.message_id
    assert bot.delete_message(newer.message.chat.id, newer.message.message_id) is True
    # Nothing left: the long poll (telebot always sends one; 0 means its default) runs out.
    assert bot.get_updates(offset=newer.update_id + 1, long_polling_timeout=1) == []
    assert emu.answers(f"{comment.chat.id}:{comment.message_id}") == ["Thank you!"]


def test_ptb_long_polling_waits_for_a_comment_and_conflicts(
    served: tuple[TelegramEmulator, str, str],
) -> None:
    """``get_updates(timeout=...)`` long-polls as the Bot API does: with nothing pending it
    answers after the timeout (wall time), a comment written meanwhile is answered at once,
    and a second bot instance polling the same token ends the first poll with
    telegram.error.Conflict ("terminated by other getUpdates request")."""
    emu, url, token = served

    async def steps() -> dict[str, Any]:
        out: dict[str, Any] = {}
        async with ptb(url, token) as bot, ptb(url, token) as twin:
            post = await bot.send_message(CHAT, "Launch day")
            forward = await bot.get_updates(timeout=0)
            offset = forward[-1].update_id + 1
            started = time.monotonic()
            out["empty"] = await bot.get_updates(offset=offset, timeout=1)
            out["empty_seconds"] = time.monotonic() - started

            writer = threading.Timer(
                0.3, lambda: emu.audience("fan1").comment(str(post.message_id), "Congrats!")
            )
            started = time.monotonic()
            writer.start()
            try:
                out["woken"] = await bot.get_updates(offset=offset, timeout=30)
            finally:
                writer.join()
            out["woken_seconds"] = time.monotonic() - started
            offset = out["woken"][-1].update_id + 1

            first = asyncio.create_task(bot.get_updates(offset=offset, timeout=10))
            await asyncio.sleep(0.3)
            out["second"] = await twin.get_updates(offset=offset, timeout=1)
            with pytest.raises(telegram.error.Conflict) as caught:
                await first
            out["conflict"] = caught.value
            return out

    got = run(steps)
    # Bounds of behaviour, not of speed: the empty poll waited its second; the woken one
    # answered long before its 30 s were up.
    assert got["empty"] == () and got["empty_seconds"] >= 0.9
    (comment,) = got["woken"]
    assert comment.message.text == "Congrats!" and got["woken_seconds"] < 20
    assert got["second"] == ()
    assert "terminated by other getupdates request" in got["conflict"].message.lower()


def test_ptb_updater_polls_comments_as_a_running_bot_does(
    served: tuple[TelegramEmulator, str, str],
) -> None:
    """python-telegram-bot's ``Updater`` (what ``Application.run_polling`` runs): it starts
    by deleting any webhook (``drop_pending_updates`` drops what waited), then long-polls;
    a comment written while it runs reaches its update queue, and ``getWebhookInfo`` says
    no webhook is set."""
    emu, url, token = served
    ext = importlib.import_module("telegram.ext")

    async def steps() -> dict[str, Any]:
        out: dict[str, Any] = {}
        async with ptb(url, token) as bot:
            post = await bot.send_message(CHAT, "Launch day")
            emu.audience("fan1").comment(str(post.message_id), "before the bot ran")
            queue: asyncio.Queue[Any] = asyncio.Queue()
            updater = ext.Updater(bot, update_queue=queue)
            async with updater:
                await updater.start_polling(timeout=1, drop_pending_updates=True)
                emu.audience("fan2").comment(str(post.message_id), "Congrats!")
                out["update"] = await asyncio.wait_for(queue.get(), 5)
                await updater.stop()
                out["info"] = await bot.get_webhook_info()
            return out

    got = run(steps)
    message = got["update"].message
    assert message.text == "Congrats!" and message.from_user.username == "fan2"
    assert got["info"].url == "" and got["info"].pending_update_count == 0


def test_delete_webhook_says_it_was_already_deleted(
    served: tuple[TelegramEmulator, str, str],
) -> None:
    """``deleteWebhook`` on a bot without a webhook answers ``true`` with the Bot API
    server's description beside it, as api.telegram.org does; neither client surfaces
    it, so the wire body is read (python-telegram-bot's call still succeeds)."""
    _, url, token = served
    with httpx.Client(trust_env=False, timeout=5) as http:
        body = http.post(f"{url}/bot{token}/deleteWebhook").json()
        dropped = http.post(
            f"{url}/bot{token}/deleteWebhook", data={"drop_pending_updates": "true"}
        ).json()

    async def steps() -> bool:
        async with ptb(url, token) as bot:
            return bool(await bot.delete_webhook())

    assert body == {"ok": True, "result": True, "description": "Webhook is already deleted"}
    assert dropped == body
    assert run(steps) is True
