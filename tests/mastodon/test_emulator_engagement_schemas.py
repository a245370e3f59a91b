"""The answers of the Mastodon emulator's engagement and moderation endpoints (reblog and
follow notifications, grouped notifications, favourited_by/reblogged_by, block/mute,
follows, relationships, account reads and reports) against the community OpenAPI spec
of the Mastodon API, over a real socket."""

from __future__ import annotations

import httpx

from brandkit.testing.mastodon import MastodonEmulator
from tests.mastodon.conftest import response_schema, schema_errors


def test_engagement_and_moderation_answers_match_the_spec() -> None:
    """Each documented response validates against its schema in the spec."""
    emu = MastodonEmulator(engagement_rate=0)
    acct = emu.account(username="brand")
    auth = {"authorization": f"Bearer {acct.secret('token')}"}
    with emu.serve() as url, httpx.Client(base_url=url, headers=auth) as http:
        status = http.post("/api/v1/statuses", data={"status": "Hello"}).json()
        fan, other = emu.audience("fan"), emu.audience("fan2@other.example")
        for member in (fan, other):
            member.favourite(status["id"])
            member.reblog(status["id"])
            member.follow()
        fan.reply(status["id"], "hi")
        fan_id = emu.account_id("fan")

        def check(path: str, method: str, response: httpx.Response) -> None:
            assert response.status_code == 200, response.text
            assert schema_errors(response_schema(path, method), response.json()) == [], path

        check("/api/v1/notifications", "get", http.get("/api/v1/notifications"))
        check("/api/v2/notifications", "get", http.get("/api/v2/notifications"))
        for edge in ("favourited_by", "reblogged_by"):
            check(
                f"/api/v1/statuses/{{id}}/{edge}",
                "get",
                http.get(f"/api/v1/statuses/{status['id']}/{edge}"),
            )
        check("/api/v1/accounts/{id}/mute", "post", http.post(f"/api/v1/accounts/{fan_id}/mute"))
        check(
            "/api/v1/accounts/{id}/unmute", "post", http.post(f"/api/v1/accounts/{fan_id}/unmute")
        )
        check("/api/v1/accounts/{id}/block", "post", http.post(f"/api/v1/accounts/{fan_id}/block"))
        check(
            "/api/v1/accounts/relationships",
            "get",
            http.get("/api/v1/accounts/relationships", params={"id[]": [fan_id]}),
        )
        check(
            "/api/v1/accounts/{id}/unblock",
            "post",
            http.post(f"/api/v1/accounts/{fan_id}/unblock"),
        )
        check(
            "/api/v1/accounts/{id}/follow",
            "post",
            http.post(f"/api/v1/accounts/{fan_id}/follow"),
        )
        check(
            "/api/v1/accounts/{id}/unfollow",
            "post",
            http.post(f"/api/v1/accounts/{fan_id}/unfollow"),
        )
        check("/api/v1/accounts/{id}", "get", http.get(f"/api/v1/accounts/{fan_id}"))
        check(
            "/api/v1/accounts/lookup",
            "get",
            http.get("/api/v1/accounts/lookup", params={"acct": "fan2@other.example"}),
        )
        check(
            "/api/v1/reports",
            "post",
            http.post("/api/v1/reports", data={"account_id": fan_id, "comment": "spam"}),
        )
