"""The Telegram flows with canned Bot API answers: requests, results, every error mapping."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from brandkit import Account, AuthError, ContentError, Link, Media
from brandkit._flow import run_flow
from brandkit.content import Rendered
from brandkit.errors import MalformedResponse, PlatformUnavailable, RateLimited, Rejected
from brandkit.platforms._base import PartRef, ThreadContext
from brandkit.platforms.telegram import TelegramAdapter, public_link
from brandkit.testing.telegram import UploadedFile
from tests.telegram.conftest import (
    BASE,
    TOKEN,
    Canned,
    fail,
    message,
    ok,
    picture,
    rendered,
    spec_problems,
)

GIF = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x00\x00\x00\x00\x00,"
    b"\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 64
CTX = ThreadContext(key="3lbrandkitkey2")


def publish(
    adapter: TelegramAdapter, post: Rendered, canned: Canned, ctx: ThreadContext = CTX
) -> PartRef:
    """Run publish_part of the post's first part against canned answers."""
    return run_flow(adapter.publish_part(post, post.parts[0], ctx), canned)


# -- publishing ----------------------------------------------------------------------------------


def test_text_post_sends_text_and_entities_without_parse_mode(adapter: TelegramAdapter) -> None:
    """sendMessage carries the text verbatim, its entities and no parse_mode."""
    text = "Hi *not bold* <b>x</b> https://example.com #tag"
    entities = (
        {"type": "url", "offset": 23, "length": 19},
        {"type": "hashtag", "offset": 43, "length": 4},
    )
    canned = Canned(("sendMessage", ok(message(7, text=text))))
    ref = publish(adapter, rendered(text, entities=entities), canned)
    assert canned.call(0) == {"chat_id": "@brand", "text": text, "entities": list(entities)}
    assert canned.requests[0].headers["content-type"] == "application/json"
    assert (ref.id, ref.url, ref.extra["message_ids"]) == ("7", "https://t.me/brand/7", [7])
    assert spec_problems(canned.requests) == []


def test_options_reply_and_link_preview(adapter: TelegramAdapter) -> None:
    """Post options, the reply target and the link card reach sendMessage."""
    post = rendered(
        "see this",
        link=Link(url="https://example.com/a"),
        options={"disable_notification": True, "protect_content": True, "message_thread_id": 4},
    )
    parent = PartRef(index=0, id="41")
    canned = Canned(("sendMessage", ok(message(42, text="see this"))))
    publish(adapter, post, canned, ThreadContext(key="k", previous=(parent,)))
    body = canned.call(0)
    assert body["reply_parameters"] == {"message_id": 41}
    assert body["link_preview_options"] == {"url": "https://example.com/a"}
    assert (body["disable_notification"], body["protect_content"], body["message_thread_id"]) == (
        True,
        True,
        4,
    )
    assert spec_problems(canned.requests) == []


def test_link_preview_can_be_turned_off(adapter: TelegramAdapter) -> None:
    """options link_preview=False disables the preview."""
    canned = Canned(("sendMessage", ok(message(1, text="x"))))
    publish(adapter, rendered("https://a.example", options={"link_preview": False}), canned)
    assert canned.call(0)["link_preview_options"] == {"is_disabled": True}


def test_link_only_post_sends_the_link_as_text(adapter: TelegramAdapter) -> None:
    """A post with only a link card sends the URL as the message text."""
    canned = Canned(("sendMessage", ok(message(1, text="https://a.example/x"))))
    publish(adapter, rendered("", link=Link(url="https://a.example/x")), canned)
    assert canned.call(0)["text"] == "https://a.example/x"


@pytest.mark.parametrize(
    ("data", "method", "field"),
    [
        (None, "sendPhoto", "photo"),
        (GIF, "sendAnimation", "animation"),
        (MP4, "sendVideo", "video"),
    ],
)
def test_one_attachment_is_a_multipart_upload_with_caption(
    adapter: TelegramAdapter, data: bytes | None, method: str, field: str
) -> None:
    """One photo, GIF or video goes to its own method as a file part; the caption and its
    entities ride along."""
    media = picture() if data is None else Media.from_bytes(data)
    entities = ({"type": "hashtag", "offset": 0, "length": 4},)
    canned = Canned((method, ok(message(3, caption="#tag"))))
    publish(adapter, rendered("#tag", media=(media,), entities=entities), canned)
    body = canned.call(0)
    upload = body[field]
    assert isinstance(upload, UploadedFile) and upload.data == media.read()
    assert upload.content_type == media.mime_type
    assert (body["chat_id"], body["caption"], body["caption_entities"]) == (
        "@brand",
        "#tag",
        list(entities),
    )
    assert spec_problems(canned.requests) == []


def test_album_puts_the_caption_on_the_first_item(adapter: TelegramAdapter) -> None:
    """2-10 attachments become sendMediaGroup with attach:// parts; the ref keeps every
    message id of the album."""
    media = (picture(), picture(4, 4), Media.from_bytes(MP4))
    canned = Canned(("sendMediaGroup", ok([message(i) for i in (5, 6, 7)])))
    ref = publish(adapter, rendered("caption", media=media), canned)
    body = canned.call(0)
    assert body["media"] == [
        {"type": "photo", "media": "attach://file0", "caption": "caption"},
        {"type": "photo", "media": "attach://file1"},
        {"type": "video", "media": "attach://file2"},
    ]
    assert [body[f"file{i}"].data for i in range(3)] == [m.read() for m in media]
    assert (ref.id, ref.extra["message_ids"]) == ("5", [5, 6, 7])
    assert spec_problems(canned.requests) == []


def test_album_with_a_gif_is_refused_before_sending(adapter: TelegramAdapter) -> None:
    """Telegram albums take no GIFs: a ContentError, and nothing is sent."""
    canned = Canned()
    with pytest.raises(ContentError, match="GIF"):
        publish(adapter, rendered("x", media=(picture(), Media.from_bytes(GIF))), canned)
    assert canned.requests == []


def test_upload_is_streamed_from_disk_and_replayable(
    adapter: TelegramAdapter, tmp_path: Any
) -> None:
    """A file on disk is read as the request is sent, and the request can be sent again
    (after a 429) with the same bytes."""
    path = tmp_path / "pic.png"
    path.write_bytes(picture().read())
    media = Media.from_path(path)
    seen: list[bytes] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.content)
        return ok(message(1))

    canned = Canned(("sendPhoto", answer))
    step = adapter.publish_part(
        rendered("x", media=(media,)), rendered("x", media=(media,)).parts[0], CTX
    )
    send = next(step)
    first = b"".join(send.request.stream)  # type: ignore[union-attr]
    second = b"".join(send.request.stream)  # type: ignore[union-attr]
    assert first == second and path.read_bytes() in first
    with pytest.raises(StopIteration):
        step.send(canned(send.request))
    assert seen and path.read_bytes() in seen[0]


# -- links and identity --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("chat", "username", "expected"),
    [
        ("@brand", None, "https://t.me/brand/9"),
        (-1001234567890, None, "https://t.me/c/1234567890/9"),
        (-1001234567890, "brand", "https://t.me/brand/9"),
        (-4567, None, None),
        (12345, None, None),
    ],
)
def test_public_links(chat: str | int, username: str | None, expected: str | None) -> None:
    """Public chats link by username, private channels by t.me/c/, others have none."""
    assert public_link(chat, 9, username) == expected


def test_numeric_chat_learns_its_username_once() -> None:
    """For a numeric chat id, prepare() asks getChat once and links use the username."""
    acct = Account.telegram(bot_token=TOKEN, chat_id="-1001234567890", base_url=BASE)
    adapter = TelegramAdapter(acct)
    chat = {"id": -1001234567890, "type": "channel", "username": "brand"}
    canned = Canned(("getChat", ok(chat)))
    run_flow(adapter.prepare(), canned)
    run_flow(adapter.prepare(), canned)
    assert len(canned.requests) == 1 and canned.call(0) == {"chat_id": -1001234567890}
    assert adapter.public_url(PartRef(index=0, id="3")) == "https://t.me/brand/3"


def test_username_chat_needs_no_request(adapter: TelegramAdapter) -> None:
    """An @username chat needs no getChat."""
    canned = Canned()
    run_flow(adapter.prepare(), canned)
    assert canned.requests == []


def test_app_id_is_the_bot_not_the_secret(adapter: TelegramAdapter) -> None:
    """Accounts of one bot share the bot's app-wide budget; the id holds no secret."""
    assert adapter.app_id == "api.telegram.test:123456789"
    assert TOKEN.partition(":")[2] not in adapter.app_id


# -- delete --------------------------------------------------------------------------------------


def test_delete_removes_every_message_of_an_album(adapter: TelegramAdapter) -> None:
    """Each message of an album is deleted; one already gone is fine."""
    ref = PartRef(index=0, id="5", extra={"chat_id": "@brand", "message_ids": [5, 6]})
    canned = Canned(
        ("deleteMessage", ok(True)),
        ("deleteMessage", fail(400, "Bad Request: message to delete not found")),
    )
    run_flow(adapter.delete_part(ref), canned)
    assert [canned.call(i)["message_id"] for i in range(2)] == [5, 6]
    assert spec_problems(canned.requests) == []


def test_delete_refused_keeps_telegrams_words(adapter: TelegramAdapter) -> None:
    """A message that can no longer be deleted is a Rejected error with Telegram's words."""
    canned = Canned(("deleteMessage", fail(400, "Bad Request: message can't be deleted")))
    with pytest.raises(Rejected) as info:
        run_flow(adapter.delete_part(PartRef(index=0, id="5")), canned)
    assert info.value.platform_message == "Bad Request: message can't be deleted"


# -- metrics -------------------------------------------------------------------------------------


def test_metrics_are_unavailable_with_reasons_and_cost_nothing(adapter: TelegramAdapter) -> None:
    """No request; every metric unavailable with its reason."""
    canned = Canned()
    refs = [PartRef(index=0, id="1"), PartRef(index=0, id="2")]
    samples = run_flow(adapter.collect_metrics(refs), canned)
    assert canned.requests == []
    assert {s.post_id for s in samples} == {"1", "2"}
    assert all(not s.available and s.reason for s in samples)
    assert {s.metric for s in samples} == {"impressions", "likes", "reposts", "replies"}
    views = next(s for s in samples if s.metric == "impressions")
    assert "no view counts" in (views.reason or "")


def test_account_metric_is_the_member_count(adapter: TelegramAdapter) -> None:
    """followers comes from getChatMemberCount."""
    canned = Canned(("getChatMemberCount", ok(1234)))
    (sample,) = run_flow(adapter.collect_account_metrics(), canned)
    assert (sample.metric, sample.value, sample.raw_name) == (
        "followers",
        1234,
        "getChatMemberCount",
    )


# -- errors --------------------------------------------------------------------------------------


def _error(adapter: TelegramAdapter, response: httpx.Response) -> Exception:
    return adapter.error_for(response)


def test_429_reads_retry_after_from_the_body(adapter: TelegramAdapter) -> None:
    """Telegram's 429 gives RateLimited with retry_after and a reset time."""
    err = _error(adapter, fail(429, "Too Many Requests: retry after 35", retry_after=35))
    assert isinstance(err, RateLimited)
    assert err.retry_after == 35 and err.reset_at is not None
    assert err.bucket == "telegram:send"
    assert err.platform_message == "Too Many Requests: retry after 35"


@pytest.mark.parametrize(
    ("status", "description", "kind", "hint"),
    [
        (401, "Unauthorized", AuthError, "BotFather"),
        (404, "Not Found", AuthError, "token"),
        (403, "Forbidden: bot is not a member of the channel chat", AuthError, "administrator"),
        (400, "Bad Request: chat not found", Rejected, "chat not found"),
        (400, "Bad Request: message is too long", Rejected, "too long"),
        (409, "Conflict: terminated by other getUpdates request", Rejected, "Conflict"),
        (502, "Bad Gateway", PlatformUnavailable, "Bad Gateway"),
    ],
)
def test_error_mapping(
    adapter: TelegramAdapter, status: int, description: str, kind: type, hint: str
) -> None:
    """Each Telegram answer maps to its brandkit error, keeping Telegram's description."""
    err = _error(adapter, fail(status, description))
    assert type(err) is kind
    assert err.platform_message == description
    assert hint in str(err)
    assert err.code == status


def test_migrated_group_names_the_new_chat(adapter: TelegramAdapter) -> None:
    """A group upgraded to a supergroup: Rejected naming the new id."""
    err = _error(
        adapter,
        fail(
            400,
            "Bad Request: group chat was upgraded to a supergroup chat",
            migrate_to_chat_id=-1009,
        ),
    )
    assert isinstance(err, Rejected) and "chat_id=-1009" in str(err)


def test_error_without_json_body(adapter: TelegramAdapter) -> None:
    """A proxy's HTML 502 still gives PlatformUnavailable with its text."""
    err = _error(adapter, httpx.Response(502, text="<html>bad gateway</html>"))
    assert isinstance(err, PlatformUnavailable) and "bad gateway" in str(err)


def test_publish_raises_the_typed_error(adapter: TelegramAdapter) -> None:
    """A refused send raises from the flow with Telegram's words."""
    canned = Canned(("sendMessage", fail(400, "Bad Request: chat not found")))
    with pytest.raises(Rejected, match="chat not found"):
        publish(adapter, rendered("hello"), canned)


def test_ok_false_with_200_is_not_taken_for_success(adapter: TelegramAdapter) -> None:
    """A 200 without ok/result is not a message id: MalformedResponse (outcome unknown)."""
    canned = Canned(("sendMessage", httpx.Response(200, json={"ok": False})))
    with pytest.raises(MalformedResponse, match="ok") as caught:
        publish(adapter, rendered("hello"), canned)
    assert caught.value.body == '{"ok":false}'
    assert TOKEN not in str(caught.value)


def test_errors_never_contain_the_token(adapter: TelegramAdapter) -> None:
    """No error text carries the bot token, even though it is in every URL."""
    for status in (400, 401, 403, 404, 429, 500):
        err = _error(adapter, fail(status, "whatever", retry_after=1))
        assert TOKEN not in str(err) and TOKEN not in repr(err.to_dict())  # type: ignore[attr-defined]
