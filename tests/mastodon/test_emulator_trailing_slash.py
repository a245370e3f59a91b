"""Rails' router ignores a trailing slash, so Mastodon answers ``/api/v1/statuses/`` as
``/api/v1/statuses`` (Mastodon.py itself posts to ``/api/v1/reports/``); the emulator
does the same over a real socket, and a path Mastodon has no route for stays 404."""

from __future__ import annotations

import httpx

from brandkit.testing.mastodon import MastodonEmulator


def test_a_trailing_slash_is_routed_as_the_path_without_it() -> None:
    emu = MastodonEmulator(engagement_rate=0)
    acct = emu.account(username="brand")
    auth = {"authorization": f"Bearer {acct.secret('token')}"}
    with emu.serve() as url, httpx.Client(base_url=url, headers=auth) as http:
        made = http.post("/api/v1/statuses/", data={"status": "With a slash"})
        assert made.status_code == 200, made.text
        assert emu.post_texts() == ["With a slash"]
        emu.audience("fan").reply(made.json()["id"], "hi")
        listed = http.get("/api/v1/notifications/", params={"types[]": "mention"})
        assert [n["type"] for n in listed.json()] == ["mention"]
        fan_id = emu.account_id("fan")
        filed = http.post("/api/v1/reports/", data={"account_id": fan_id})
        assert filed.status_code == 200 and filed.json()["category"] == "other"
        missing = http.get("/api/v1/no_such_thing/")
        assert missing.status_code == 404 and missing.json() == {"error": "Record not found"}
