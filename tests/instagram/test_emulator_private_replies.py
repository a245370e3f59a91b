"""Instagram's "Send a Private Reply to a Commenter" on the emulator, over a real socket:
``POST /{ig-user-id}/messages`` with ``recipient={"comment_id": ...}`` and
``message={"text": ...}`` answers ``{"recipient_id", "message_id"}``, once per comment
(again: ``(#10900) Activity already replied to``), within 7 days of the comment, never to the
account's own comment, and only for the account's own media."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from brandkit.testing import TINY_JPEG, LoopbackMediaHost
from brandkit.testing.instagram import InstagramEmulator


def test_private_reply_to_a_commenter() -> None:
    with LoopbackMediaHost() as host:
        emu = InstagramEmulator(media_host=host)
        acct, other = emu.account(), emu.account()
        who, token = str(acct.settings["ig_user_id"]), str(acct.secret("token"))
        auth = {"authorization": f"Bearer {token}"}
        with emu.serve() as url, httpx.Client(base_url=url, headers=auth) as http:
            made = http.post(
                f"/v25.0/{who}/media",
                data={"image_url": host.put(TINY_JPEG, "image/jpeg"), "caption": "New in"},
            ).json()["id"]
            media = http.post(f"/v25.0/{who}/media_publish", data={"creation_id": made})
            media_id = media.json()["id"]
            asked = emu.audience("ada").comment(media_id, "price?")
            late = emu.audience("bob").comment(media_id, "link?")
            ours = http.post(f"/v25.0/{media_id}/comments", data={"message": "hi"}).json()["id"]

            def send(comment: str, text: str, headers: dict[str, str] | None = None) -> Any:
                return http.post(
                    f"/{who}/messages",  # graph.instagram.com calls are unversioned too
                    json={"recipient": {"comment_id": comment}, "message": {"text": text}},
                    headers=headers,
                ).json()

            sent = send(asked, "It is 20 EUR")
            assert set(sent) == {"recipient_id", "message_id"}
            assert emu.private_reply(asked) == "It is 20 EUR"
            assert send(asked, "again")["error"]["code"] == 10900
            assert send(ours, "x")["error"]["code"] == 10902
            theirs = send(late, "x", {"authorization": f"Bearer {other.secret('token')}"})
            assert theirs["error"]["error_subcode"] == 33
            emu.clock.advance(timedelta(days=7, seconds=1))
            assert send(late, "too late")["error"]["code"] == 10903
