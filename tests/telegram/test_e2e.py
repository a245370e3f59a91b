"""End to end over a real socket: brandkit's public API against the Telegram emulator.

Every request brandkit sends in these tests is checked against the full Bot API spec when the
``emu`` fixture ends (see ``conftest.spec_problems``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import httpx
import pytest

from brandkit import (
    Account,
    AsyncClient,
    AuthError,
    Client,
    ContentError,
    DeliveryStatus,
    Media,
    Post,
    Rejected,
    RetryPolicy,
    TransportError,
)
from brandkit._hooks import NullGovernor
from brandkit.testing import Emulator, png
from brandkit.testing.conformance import AdapterConformance
from brandkit.testing.telegram import TelegramEmulator
from tests.telegram.conftest import FAST, RAW, spec_problems

LONG = " ".join(f"word{i}" for i in range(900))


class TestTelegramConformance(AdapterConformance):
    """The shared adapter suite, on Telegram."""

    platform = "telegram"

    def inbox_requests(self, answers: int, mentions: int) -> int | None:
        """getUpdates, 100 updates a page, one page a read (a second page's offset would
        confirm the first before the caller stored it): the comments, the private messages
        and the post's automatic forward into the discussion group; a full page needs one
        more read to see the end. Counted over the reads that follow ``more``; the suite's
        45 answers, 5 mentions and the forward fit one page, so one read, one request."""
        return (answers + mentions + 1) // 100 + 1

    @pytest.fixture
    def emu(self) -> Iterator[Emulator]:
        """The served emulator; afterwards every request brandkit sent must match the full
        Bot API spec."""
        emu = self.make_emulator()
        with emu.serve():
            yield emu
        assert spec_problems(emu.requests) == []


def pics(n: int) -> tuple[Media, ...]:
    """n small PNGs, each with alt text (Telegram has none; it is dropped)."""
    return tuple(Media.from_bytes(png(8 + i, 6), alt=f"picture {i}") for i in range(n))


def sends(emu: TelegramEmulator) -> int:
    """How many send* requests reached the emulator."""
    return emu.count("POST", r"/bot[^/]+/send[A-Za-z]+")


# -- publishing -----------------------------------------------------------------------------------


def test_text_post(emu: TelegramEmulator) -> None:
    """One message with its URL, mention and hashtag entities, linked by t.me."""
    acct = emu.account(chat="brandnews")
    with Client(retry=FAST) as client:
        (d,) = client.publish(
            Post(text="Hi @someone, see https://example.com #launch", utm=True), acct
        )
    assert d.status is DeliveryStatus.SENT, d.error
    (msg,) = emu.messages("@brandnews")
    assert d.url == f"https://t.me/brandnews/{msg.message_id}" and d.ids == [str(msg.message_id)]
    assert [e["type"] for e in msg.entities] == ["mention", "url", "hashtag"]
    assert msg.text.startswith("Hi @someone, see https://example.com?utm_source=telegram")


def test_private_channel_gets_a_members_link(emu: TelegramEmulator) -> None:
    """A private channel is addressed by -100 id and gets a t.me/c/ link."""
    acct = emu.account(private=True)
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="members only"), acct)
    chat_id = str(acct.settings["chat_id"])
    assert d.url == f"https://t.me/c/{chat_id[4:]}/1"
    assert emu.count("POST", r"/bot[^/]+/getChat") == 1


def test_photo_and_album_then_delete(emu: TelegramEmulator) -> None:
    """One photo with a caption, an album of three with the caption on the first item;
    deleting the album removes all three messages."""
    acct = emu.account()
    with Client(retry=FAST, governor=NullGovernor()) as client:
        (one,) = client.publish(Post(text="one", media=pics(1)), acct)
        (album,) = client.publish(Post(text="three", media=pics(3)), acct)
        assert one.ok and album.ok, (one.error, album.error)
        assert [m.kind for m in emu.messages()] == ["photo", "photo", "photo", "photo"]
        assert emu.post_texts() == ["one", "three"]
        assert album.parts[0].extra["message_ids"] == [2, 3, 4]
        client.delete(album)
    assert emu.post_texts() == ["one"]
    assert emu.count("POST", r"/bot[^/]+/deleteMessage") == 3


def test_long_text_is_refused_before_anything_is_sent(emu: TelegramEmulator) -> None:
    """Telegram has no threads: a text over 4096 fails with a ContentError, nothing sent."""
    acct = emu.account()
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text=LONG), acct)
    assert d.status is DeliveryStatus.FAILED and isinstance(d.error, ContentError)
    assert "4096" in str(d.error) and sends(emu) == 0


def test_caption_limit_applies_with_media(emu: TelegramEmulator) -> None:
    """1100 characters fit a message but not a caption: refused before sending."""
    acct = emu.account()
    text = "x" * 1100
    with Client(retry=FAST, governor=NullGovernor()) as client:
        (with_media,) = client.publish(Post(text=text, media=pics(1)), acct)
        (plain,) = client.publish(Post(text=text), acct)
    assert with_media.status is DeliveryStatus.FAILED and "1024" in str(with_media.error)
    assert plain.ok and emu.post_texts() == [text]


def test_metrics_unavailable_and_followers(emu: TelegramEmulator) -> None:
    """Post metrics come back unavailable with reasons (no request); followers are the
    chat's member count, growing with the emulator clock."""
    acct = emu.account(members=500, members_per_day=48)
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="count me"), acct)
        before = emu.count()
        samples = client.collect_refs(acct, d.parts)
        stamped = client.collect([d])
        assert emu.count() == before
        (followers,) = client.collect_account(acct)
        emu.clock.advance(86400)
        (later,) = client.collect_account(acct)
    assert samples and all(not s.available and s.reason for s in samples)
    assert {s.delivery_id for s in stamped} == {d.id}
    assert (followers.value, later.value) == (500, 548)


# -- failures -------------------------------------------------------------------------------------


def test_revoked_token_fails_and_never_leaks(
    emu: TelegramEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    """A revoked bot token: 401 Unauthorized → AuthError; the token (which is in every URL)
    appears in no error, repr or log line."""
    acct = emu.account()
    token = acct.secret("bot_token") or ""
    emu.revoke()
    caplog.set_level(logging.DEBUG, logger="brandkit")
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="hello"), acct)
    assert d.status is DeliveryStatus.FAILED and isinstance(d.error, AuthError)
    assert d.error.platform_message == "Unauthorized"
    assert caplog.records, "the driver logs each request at DEBUG"
    for text in (str(d.error), repr(d), str(d.to_dict()), repr(acct), caplog.text):
        assert token not in text
    assert "/bot**********/sendMessage" in caplog.text


def test_dropped_connection_message_is_redacted(emu: TelegramEmulator) -> None:
    """A connection that never answers: the TransportError names the URL without the token."""
    acct = emu.account()
    token = acct.secret("bot_token") or ""
    emu.fault(method="POST", path=r"/bot[^/]+/getChatMemberCount", drop="before", times=10)
    policy = RetryPolicy(attempts=2, initial=0.01, max_backoff=0.02)
    with Client(retry=policy) as client, pytest.raises(TransportError) as info:
        client.collect_account(acct)
    assert token not in str(info.value) and "/bot**********/getChatMemberCount" in str(info.value)


def test_retry_after_is_waited_out(emu: TelegramEmulator) -> None:
    """Another sender spent the chat's budget: brandkit gets Telegram's 429, waits
    retry_after seconds and sends; one message of ours, no duplicate."""
    emu.set_limit("chat", 2, 1.0)
    acct = emu.account()
    token, chat = acct.secret("bot_token"), acct.settings["chat_id"]
    with httpx.Client(base_url=emu.base_url, headers={RAW: "1"}) as other:
        for i in range(2):
            other.post(f"/bot{token}/sendMessage", json={"chat_id": chat, "text": f"o{i}"})
    started = time.monotonic()
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="mine"), acct)
    waited = time.monotonic() - started
    assert d.status is DeliveryStatus.SENT, d.error
    assert emu.post_texts() == ["o0", "o1", "mine"]
    assert sends(emu) == 4  # two others, the refused one, the accepted one
    assert 0.3 < waited < 5


def test_sends_to_one_chat_are_paced_without_429(emu: TelegramEmulator) -> None:
    """The declared 1 message/s per chat keeps brandkit under an emulator that enforces
    about that (1 per 0.95 s: the two clocks measure from slightly different moments)."""
    emu.set_limit("chat", 1, 0.95)
    acct = emu.account()
    started = time.monotonic()
    with Client(retry=FAST) as client:
        deliveries = [client.publish(Post(text=f"n{i}"), acct)[0] for i in range(3)]
    assert all(d.ok for d in deliveries)
    assert sends(emu) == 3  # not one refused
    assert time.monotonic() - started >= 1.9


def test_server_error_on_delete_is_retried(emu: TelegramEmulator) -> None:
    """deleteMessage is idempotent: a 502 is retried and the message is gone."""
    acct = emu.account()
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="to delete"), acct)
        emu.fault(method="POST", path=r"/bot[^/]+/deleteMessage", status=502, times=2)
        deleted = client.delete(d)
    assert deleted.status is DeliveryStatus.DELETED and emu.post_texts() == []
    assert emu.count("POST", r"/bot[^/]+/deleteMessage") == 3


def test_server_error_on_send_ends_unknown_without_resending(emu: TelegramEmulator) -> None:
    """A 502 on sendMessage may or may not have posted, and Telegram cannot be asked: the
    delivery is unknown and the send is not repeated."""
    acct = emu.account()
    emu.fault(method="POST", path=r"/bot[^/]+/sendMessage", status=502)
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="maybe"), acct)
    assert d.status is DeliveryStatus.UNKNOWN and d.error is not None
    assert sends(emu) == 1


def test_dropped_after_store_is_unknown_and_not_duplicated(emu: TelegramEmulator) -> None:
    """The connection dies after Telegram posted: exactly one message, delivery unknown
    (no read-back exists), and delivering it again does not post a second one."""
    acct = emu.account()
    emu.fault(method="POST", path=r"/bot[^/]+/sendMessage", drop="after")
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="exactly once"), acct)
        assert d.status is DeliveryStatus.UNKNOWN, d.error
        again = client.deliver(d, acct)
    assert again.status is DeliveryStatus.UNKNOWN
    assert emu.post_texts() == ["exactly once"] and sends(emu) == 1
    assert "no way to look it up" in str(again.error) or "may have been delivered" in str(
        again.error
    )


def test_permanent_rejection_fails_with_telegrams_words(emu: TelegramEmulator) -> None:
    """A 400 is not retried: failed, with Telegram's description."""
    acct = emu.account()
    emu.fault(
        method="POST",
        path=r"/bot[^/]+/sendMessage",
        status=400,
        body={"ok": False, "error_code": 400, "description": "Bad Request: chat not found"},
    )
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="hello"), acct)
    assert d.status is DeliveryStatus.FAILED and isinstance(d.error, Rejected)
    assert d.error.platform_message == "Bad Request: chat not found" and sends(emu) == 1


def test_bot_without_rights_fails_with_advice(emu: TelegramEmulator) -> None:
    """A bot removed from the channel: 403 → AuthError telling what to fix."""
    acct = emu.account()
    chat = emu.chats[next(iter(emu.chats))]
    emu.set_admin(chat.id, next(iter(emu.bots.values())), can_post=None)
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="hello"), acct)
    assert isinstance(d.error, AuthError) and "administrator" in str(d.error)


# -- async ----------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_async_publish_album_metrics_delete(emu: TelegramEmulator) -> None:
    """AsyncClient: text and album posts, metrics, account metrics, delete."""
    acct = emu.account(members=7, members_per_day=0)
    async with AsyncClient(retry=FAST, governor=NullGovernor()) as client:
        (t,) = await client.publish(Post(text="async #hello"), acct)
        (a,) = await client.publish(Post(text="async album", media=pics(2)), acct)
        assert t.ok and a.ok, (t.error, a.error)
        samples = await client.collect_refs(acct, [*t.parts, *a.parts])
        (followers,) = await client.collect_account(acct)
        await client.delete(a)
    assert emu.post_texts() == ["async #hello"]
    assert {s.post_id for s in samples} == {t.ids[0], a.ids[0]}
    assert followers.value == 7


@pytest.mark.anyio
async def test_async_429_drop_and_auth(emu: TelegramEmulator) -> None:
    """AsyncClient: retry_after waited out; a dropped answer ends unknown with one message;
    a revoked token fails with AuthError."""
    emu.set_limit("chat", 1, 1.0)
    acct = emu.account()
    async with AsyncClient(retry=FAST, governor=NullGovernor()) as client:
        (a,) = await client.publish(Post(text="first"), acct)
        (b,) = await client.publish(Post(text="second"), acct)  # 429, waits, sends
        emu.clock.advance(1.0)  # a fresh window, so that the dropped send is stored
        emu.fault(method="POST", path=r"/bot[^/]+/sendMessage", drop="after")
        (c,) = await client.publish(Post(text="third"), acct)
        emu.revoke()
        (e,) = await client.publish(Post(text="fourth"), acct)
    assert a.ok and b.ok, (a.error, b.error)
    assert c.status is DeliveryStatus.UNKNOWN
    assert isinstance(e.error, AuthError)
    assert emu.post_texts() == ["first", "second", "third"]


def test_spec_checker_catches_a_bad_request(emu: TelegramEmulator) -> None:
    """The per-test spec check is not vacuous: a request with a typo is reported."""
    bad = httpx.Request(
        "POST",
        f"{emu.base_url}/bot1:x/sendMessage",
        json={"chat_id": "@x", "text": "x", "disable_notifications": True},
    )
    assert spec_problems([bad]) == [
        'sendMessage: unknown parameter "disable_notifications" for sendMessage'
    ]


def test_account_from_a_file(emu: TelegramEmulator, tmp_path: object) -> None:
    """An accounts file gives a working Telegram account (token from the environment)."""
    acct = emu.account()
    from pathlib import Path

    path = Path(str(tmp_path)) / "accounts.toml"
    path.write_text(
        f'[accounts.tg]\nplatform = "telegram"\nbot_token_env = "TG_TOKEN"\n'
        f'chat_id = "{acct.settings["chat_id"]}"\nbase_url = "{emu.base_url}"\n'
    )
    loaded = Account.load(path, environ={"TG_TOKEN": acct.secret("bot_token") or ""})["tg"]
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="from a file"), loaded)
    assert d.ok and emu.post_texts() == ["from a file"]
