"""The emulator's listNotifications cursor is the AppView's: the sortAt of the page's last
notification alone (bluesky-social/atproto, packages/bsky/src/data-plane/server/routes/
notifs.ts pages by ``IsoSortAtKey``, a single-key cursor whose next page is ``sortAt <
cursor``), so notifications sharing that millisecond past the page's end are skipped, never
repeated; over real HTTP on loopback."""

from __future__ import annotations

from typing import Any

import httpx

from brandkit.testing.bluesky import BlueskyEmulator

POST = "app.bsky.feed.post"
LIST = "/xrpc/app.bsky.notification.listNotifications"


def login(http: httpx.Client, emu: BlueskyEmulator, name: str) -> tuple[str, dict[str, str]]:
    account = emu.account(name=name)
    session = http.post(
        "/xrpc/com.atproto.server.createSession",
        json={"identifier": account.settings["handle"], "password": account.secret("app_password")},
    ).json()
    return session["did"], {"Authorization": f"Bearer {session['accessJwt']}"}


def create(
    http: httpx.Client, did: str, auth: dict[str, str], record: dict[str, Any]
) -> dict[str, Any]:
    made = http.post(
        "/xrpc/com.atproto.repo.createRecord",
        json={"repo": did, "collection": POST, "record": {"$type": POST, **record}},
        headers=auth,
    )
    assert made.status_code == 200, made.text
    return dict(made.json())


def test_notifications_sharing_the_cursors_millisecond_past_the_page_are_skipped(
    served: BlueskyEmulator,
) -> None:
    with httpx.Client(base_url=served.base_url, timeout=10) as http:
        brand, brand_auth = login(http, served, "brand")
        fan, fan_auth = login(http, served, "fan")
        ours = create(
            http, brand, brand_auth, {"text": "ours", "createdAt": "2026-12-01T08:00:00.000Z"}
        )
        ref = {"uri": ours["uri"], "cid": ours["cid"]}

        def reply(text: str, at: str) -> str:
            value = {"text": text, "createdAt": at, "reply": {"root": ref, "parent": ref}}
            return str(create(http, fan, fan_auth, value)["uri"])

        # Backdated (a second or more behind the clock): listed at their createdAt.
        old = reply("old", "2026-12-01T09:00:00.000Z")
        tied = {reply(f"tied {i}", "2026-12-01T10:00:00.000Z") for i in range(2)}
        new = reply("new", "2026-12-01T11:00:00.000Z")

        def page(**params: Any) -> dict[str, Any]:
            answer = http.get(LIST, params={"reasons": "reply", **params}, headers=brand_auth)
            assert answer.status_code == 200, answer.text
            return dict(answer.json())

        whole = page(limit=10)
        assert [n["uri"] for n in whole["notifications"]][0::3] == [new, old]
        assert {n["uri"] for n in whole["notifications"][1:3]} == tied
        assert "cursor" not in whole

        first = page(limit=2)
        (_, one) = [n["uri"] for n in first["notifications"]]
        assert one in tied
        assert first["cursor"] == "2026-12-01T10:00:00.000Z"
        rest = page(limit=2, cursor=first["cursor"])
        # The other tied one is never listed on this path: not repeated, skipped.
        assert [n["uri"] for n in rest["notifications"]] == [old]
        assert "cursor" not in rest
