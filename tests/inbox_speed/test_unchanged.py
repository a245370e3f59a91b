"""The shortcuts that make inbox reads cheap answer exactly what the long way does: the
emulators' JSON templates and memos, and the store's JSON encoding."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any

import httpx
import pytest

from brandkit import Author, Message
from brandkit.testing._emulator import JsonTemplate
from brandkit.testing.mastodon import MastodonEmulator

OBJECT: dict[str, Any] = {
    "id": "1",
    "n": 3,
    "f": 2.5,
    "none": None,
    "yes": True,
    "text": 'caf\u00e9 {braces} \u2028 "quoted"',
    "list": [1, {"a": [None, "x"]}],
    "empty": {},
}


@pytest.mark.parametrize(
    "dynamic", [set(), {"id"}, {"text", "list"}, {"none", "empty"}, set(OBJECT)]
)
def test_a_template_writes_what_json_dumps_writes(dynamic: set[str]) -> None:
    """Whatever keys are left to fill in, the filled template is json.dumps's text."""
    template = JsonTemplate(OBJECT, dynamic)
    assert template.render({k: json.dumps(OBJECT[k]) for k in dynamic}) == json.dumps(OBJECT)


def test_a_template_needs_every_dynamic_value() -> None:
    with pytest.raises(KeyError):
        JsonTemplate(OBJECT, {"id", "n"}).render({"id": '"2"'})


class Colour(Enum):
    RED = "red"


@pytest.mark.parametrize(
    ("raw", "extra"),
    [
        ({}, {}),
        ({"a": [1, 2.5, None, True, "\u00fc\u2028\x01"], "b": {"c": "d/e"}}, {"uri": "at://x"}),
        ({"big": 10**30, "inf": float("inf"), "small": 1e-5}, {"root": {"uri": "u", "n": [1]}}),
        # Not JSON's own types: the old way, str() of each.
        ({"x": 1}, {"when": datetime(2026, 1, 2, tzinfo=UTC), "colour": Colour.RED}),
        ({"t": (1, 2)}, {"t": (1, 2)}),
    ],
)
def test_a_message_is_stored_as_json_dumps_wrote_it(
    raw: dict[str, Any], extra: dict[str, Any]
) -> None:
    """The stored text reads back as json.dumps's text of the same message did."""
    message = Message(
        platform="mastodon",
        account="mastodon:brand",
        id="1",
        kind="reply",
        author=Author(id="7", handle="fan", name="F\u00e4n", followers=3),
        text='said "hi"\nthere',
        created_at=datetime(2026, 12, 4, 12, tzinfo=UTC),
        raw=raw,
        extra=extra,
    )
    old = json.dumps(message.to_dict(), ensure_ascii=False, separators=(",", ":"), default=str)
    assert json.loads(message.to_json()) == json.loads(old)
    assert Message.from_dict(json.loads(message.to_json())) == message


def _pages(emu: MastodonEmulator, token: str) -> tuple[bytes, Any]:
    with httpx.Client(transport=emu.transport(), base_url="https://mastodon.example") as http:
        response = http.get(
            "/api/v1/notifications",
            params={"limit": "80"},
            headers={"authorization": f"Bearer {token}"},
        )
    assert response.status_code == 200, response.text
    return response.content, response.json()


def test_mastodon_notifications_from_templates_are_the_long_way_s_text() -> None:
    """A page made from templates is byte for byte json.dumps of the notifications' JSON,
    and follows what changes: time (engagement, followers), a favourite, a new status of
    the author, a renamed display name, a quote, a mention of a user made later."""
    emu = MastodonEmulator()
    brand = emu.account(username="brand")
    token = str(brand.secret("token"))
    post = emu.audience("poster").post("hello")  # an author with a status before
    with httpx.Client(transport=emu.transport(), base_url="https://mastodon.example") as http:
        created = http.post(
            "/api/v1/statuses",
            data={"status": "Launch #Brand https://example.com/x."},
            headers={"authorization": f"Bearer {token}"},
        )
    ours = created.json()["id"]
    reply = emu.audience("fan1").reply(ours, "love it @later #Tag https://e.example/p")
    emu.audience("fan2@other.example").mention("@brand hello\n\nsecond para")
    emu.audience("quoter").quote(ours, "look")
    assert post

    def check() -> Any:
        text, data = _pages(emu, token)
        user = emu._users[emu.account_id("brand")]
        shown = [n for n in emu._notifications if n.account_id == user.id]
        # As answering a request that reached it as https://mastodon.example.
        emu._answering = "https://mastodon.example"
        try:
            long_way = json.dumps(
                [emu._notification_json(n) for n in sorted(shown, key=lambda n: -int(n.id))]
            )
        finally:
            emu._answering = None
        assert text.decode() == long_way
        return data

    first = check()
    emu.clock.advance(timedelta(hours=30))
    later = check()
    assert later != first  # engagement and followers moved with time
    with httpx.Client(transport=emu.transport(), base_url="https://mastodon.example") as http:
        liked = http.post(
            f"/api/v1/statuses/{reply}/favourite", headers={"authorization": f"Bearer {token}"}
        )
    assert liked.status_code == 200
    assert any(n["status"]["favourited"] for n in check() if n.get("status"))
    emu.audience("fan1").post("another one")  # fan1's statuses_count and last status move
    emu._users[emu.account_id("fan1")].display_name = "Fan One"
    emu.audience("later").post("now I exist")  # the @later mention now names a user
    data = check()
    fan1 = next(n for n in data if n["account"]["acct"] == "fan1")
    assert fan1["account"]["display_name"] == "Fan One"
    mention = next(n for n in data if n["status"]["id"] == reply)["status"]["mentions"]
    assert any(m["acct"] == "later" and m["id"] == emu.account_id("later") for m in mention)
