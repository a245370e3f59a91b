"""The Bot API spec checker, against the real spec file."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from brandkit.testing.telegram import BotApiSpec, parse_request
from brandkit.testing.telegram._spec import subset
from tests.telegram.conftest import DATA, full_spec

URL = "https://api.telegram.test/bot1:abc/"


def check(method: str, strict: bool = True, **kwargs: Any) -> list[str]:
    """Problems of one request built with httpx keyword arguments."""
    call = parse_request(httpx.Request("POST", URL + method, **kwargs))
    assert call is not None
    return full_spec().check(call, strict=strict)


def test_bundled_subset_is_derived_from_the_shared_spec() -> None:
    """The shipped subset equals what subset() makes of the full file now."""
    bundled = BotApiSpec.bundled()
    full = json.loads((DATA / "bot-api.json").read_text())
    derived = subset(full, sorted(bundled.methods))
    assert {"methods": bundled.methods, "types": bundled.types} == {
        "methods": derived["methods"],
        "types": derived["types"],
    }
    assert bundled.version == full["version"] == "Bot API 10.1"


def test_valid_json_request_passes() -> None:
    """A correct sendMessage with nested objects has no problems."""
    body = {
        "chat_id": "@brand",
        "text": "hi #x",
        "entities": [{"type": "hashtag", "offset": 3, "length": 2}],
        "reply_parameters": {"message_id": 4},
        "link_preview_options": {"is_disabled": True},
    }
    assert check("sendMessage", json=body) == []


def test_missing_required_parameters_use_telegrams_words() -> None:
    """Missing chat_id and text get Telegram's own descriptions."""
    assert check("sendMessage", json={"parse_mode": "HTML"}) == [
        "Bad Request: chat_id is empty",
        "Bad Request: message text is empty",
    ]
    assert check("deleteMessage", json={"chat_id": 1}) == [
        'Bad Request: parameter "message_id" is required'
    ]


def test_types_are_exact_in_strict_mode_and_loose_otherwise() -> None:
    """A number written as a string fails strict JSON checks; Telegram itself accepts it."""
    body = {"chat_id": "@b", "message_id": "5"}
    assert check("deleteMessage", json=body) == [
        'Bad Request: field "message_id" must be of type Integer'
    ]
    assert check("deleteMessage", strict=False, json=body) == []


def test_unknown_parameters_and_fields_are_reported_only_when_strict() -> None:
    """Typos show up in strict mode; Telegram ignores unknown parameters."""
    body = {
        "chat_id": 1,
        "text": "x",
        "dissable_notification": True,
        "entities": [{"type": "bold", "offset": 0, "length": 1, "colour": "red"}],
    }
    problems = check("sendMessage", json=body)
    assert 'unknown parameter "dissable_notification" for sendMessage' in problems
    assert 'unknown field "entities[0].colour"' in problems
    assert check("sendMessage", strict=False, json=body) == []


def test_entity_type_must_be_one_of_telegrams() -> None:
    """MessageEntity.type is checked against the list in its description."""
    body = {"chat_id": 1, "text": "x", "entities": [{"type": "boldly", "offset": 0, "length": 1}]}
    (problem,) = check("sendMessage", json=body)
    assert 'field "entities[0].type" must be one of' in problem and "hashtag" in problem


def test_multipart_album_with_attachments() -> None:
    """sendMediaGroup: JSON-serialized media, attach:// parts, photos mixed with videos."""
    media = [
        {"type": "photo", "media": "attach://a", "caption": "c"},
        {"type": "video", "media": "attach://b"},
    ]
    files = {"a": ("a.png", b"png", "image/png"), "b": ("b.mp4", b"mp4", "video/mp4")}
    assert (
        check("sendMediaGroup", data={"chat_id": "@x", "media": json.dumps(media)}, files=files)
        == []
    )


def test_missing_attachment_and_wrong_union_member_are_found() -> None:
    """An attach:// without its part and an InputMedia of an unknown type are problems."""
    media = [{"type": "photo", "media": "attach://gone"}, {"type": "sticker", "media": "x"}]
    problems = check(
        "sendMediaGroup",
        data={"chat_id": "@x", "media": json.dumps(media)},
        files={"unused": ("u", b"u", "image/png")},
    )
    assert any('attached file "gone"' in p for p in problems)
    assert any('field "media[1]" must be of type' in p and "InputMediaPhoto" in p for p in problems)
    assert 'unknown parameter "unused" for sendMediaGroup' in problems


def test_file_parameter_as_upload_or_string() -> None:
    """sendPhoto takes photo as a file part or a string; a file where none may go is wrong."""
    files = {"photo": ("p.png", b"png", "image/png")}
    assert check("sendPhoto", data={"chat_id": "1"}, files=files) == []
    assert check("sendPhoto", data={"chat_id": "1", "photo": "AgACAgQ"}) == []
    bad = check(
        "sendPhoto", data={"chat_id": "1"}, files={**files, "caption": ("c", b"c", "text/plain")}
    )
    assert 'Bad Request: field "caption" can\'t be a file' in bad


def test_form_encoded_values_are_read_as_the_api_reads_them() -> None:
    """Form values are strings: integers and booleans as text, objects as JSON."""
    data = {
        "chat_id": "-100123",
        "text": "x",
        "disable_notification": "true",
        "reply_parameters": json.dumps({"message_id": 3}),
    }
    assert check("sendMessage", data=data) == []
    assert check("sendMessage", data={**data, "disable_notification": "maybe"}) == [
        'Bad Request: field "disable_notification" must be of type Boolean'
    ]


def test_query_string_parameters() -> None:
    """GET with query parameters is a valid way to call a method."""
    call = parse_request(httpx.Request("GET", URL + "getChatMemberCount?chat_id=@brand"))
    assert call is not None and call.params == {"chat_id": "@brand"}
    assert full_spec().check(call) == []


def test_unknown_method_and_case_insensitive_names() -> None:
    """Methods match without regard to case; an unknown one is Not Found."""
    assert check("SENDMESSAGE", json={"chat_id": 1, "text": "x"}) == []
    assert check("sendTelepathy", json={}) == ["Not Found"]


def test_bad_json_body_is_refused() -> None:
    """A body that is not a JSON object gives Telegram's parse error."""
    request = httpx.Request(
        "POST", URL + "sendMessage", content=b"[1]", headers={"content-type": "application/json"}
    )
    with pytest.raises(ValueError, match="can't parse JSON object"):
        parse_request(request)


def test_not_a_bot_api_path() -> None:
    """Other paths are not Bot API calls."""
    assert parse_request(httpx.Request("GET", "https://api.telegram.test/file/x")) is None


def test_request_repr_hides_the_token() -> None:
    """The parsed call's repr shows no token."""
    call = parse_request(httpx.Request("GET", "https://t.test/bot99:SECRETSECRET/getMe"))
    assert call is not None and "SECRET" not in repr(call)
