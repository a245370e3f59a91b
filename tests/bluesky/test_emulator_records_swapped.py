"""A record a test swaps in `BlueskyEmulator.records` (an entry replaced, or a record's field
set) is what the AppView reads answer next, though the number of records is unchanged: the
engagement index and the notifications built for the records before the swap are not
answered again. Over real HTTP on loopback."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
import httpx
import pytest

from brandkit.testing.bluesky import BlueskyEmulator
from tests.bluesky.test_emulator_notification_cursor import create, login

POST = "app.bsky.feed.post"
AT = "2026-12-01T08:00:00.000Z"


def reply_to(ref: dict[str, Any], text: str) -> dict[str, Any]:
    parent = {"uri": ref["uri"], "cid": ref["cid"]}
    return {
        "$type": POST,
        "text": text,
        "createdAt": "2026-12-01T09:00:00.000Z",
        "reply": {"root": parent, "parent": parent},
    }


def state(
    http: httpx.Client, auth: dict[str, str], first: str, second: str
) -> tuple[list[int], list[tuple[str, str | None]]]:
    """The reply counts of ``first`` and ``second`` (getPosts) and the brand's notifications
    (reason, reasonSubject)."""
    posts = http.get(
        "/xrpc/app.bsky.feed.getPosts", params={"uris": [first, second]}, headers=auth
    ).json()["posts"]
    notes = http.get("/xrpc/app.bsky.notification.listNotifications", headers=auth).json()
    return (
        [p["replyCount"] for p in posts],
        [(n["reason"], n.get("reasonSubject")) for n in notes["notifications"]],
    )


def swap_entry(emu: BlueskyEmulator, uri: str, value: dict[str, Any]) -> None:
    emu.records[uri] = attrs.evolve(emu.records[uri], value=value)


def set_value(emu: BlueskyEmulator, uri: str, value: dict[str, Any]) -> None:
    emu.records[uri].value = value


def set_records(emu: BlueskyEmulator, uri: str, value: dict[str, Any]) -> None:
    emu.records = {
        u: attrs.evolve(r, value=value) if u == uri else r for u, r in emu.records.items()
    }


Swap = Callable[[BlueskyEmulator, str, dict[str, Any]], None]


@pytest.mark.parametrize("swap", [swap_entry, set_value, set_records])
def test_a_reply_swapped_is_counted_and_notified_under_its_new_parent(
    served: BlueskyEmulator, swap: Swap
) -> None:
    with httpx.Client(base_url=served.base_url, timeout=10) as http:
        brand, brand_auth = login(http, served, "brand")
        fan, fan_auth = login(http, served, "fan")
        first = create(http, brand, brand_auth, {"text": "first", "createdAt": AT})
        second = create(http, brand, brand_auth, {"text": "second", "createdAt": AT})
        reply = create(http, fan, fan_auth, reply_to(first, "to the first"))
        before = state(http, brand_auth, first["uri"], second["uri"])
        swap(served, reply["uri"], reply_to(second, "to the second"))
        after = state(http, brand_auth, first["uri"], second["uri"])
    assert before == ([1, 0], [("reply", first["uri"])])
    assert after == ([0, 1], [("reply", second["uri"])])
