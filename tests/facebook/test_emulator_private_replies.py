"""Private replies on the Facebook emulator, over a real socket, as Messenger's "Private
Replies" documents them: ``POST /{page-id}/messages`` with ``recipient.comment_id`` and a
``message`` answers ``{"recipient_id", "message_id"}``; one message per comment (again:
``(#10900) Activity already replied to``, which inbox tools treat as done), within 7 days,
never to the Page's own comment; ``can_reply_privately`` follows."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx

from brandkit.testing.facebook import FacebookEmulator


def test_one_private_reply_per_comment_within_seven_days() -> None:
    emu = FacebookEmulator()
    acct = emu.account()
    page_id, token = acct.settings["page_id"], str(acct.secret("page_token"))
    auth = {"authorization": f"Bearer {token}"}
    with emu.serve() as url, httpx.Client(base_url=url, headers=auth) as http:
        post = http.post(f"/v25.0/{page_id}/feed", data={"message": "Sale!"}).json()["id"]
        asked = emu.audience("ada").comment(post, "Do you ship to Lisbon?")
        late = emu.audience("bob").comment(post, "Price?")
        ours = http.post(f"/v25.0/{post}/comments", data={"message": "Yes"}).json()["id"]

        sent = http.post(
            f"/v25.0/{page_id}/messages",
            json={"recipient": {"comment_id": asked}, "message": {"text": "We do! DM sent."}},
        )
        assert sent.status_code == 200, sent.text
        body = sent.json()
        assert set(body) == {"recipient_id", "message_id"} and body["message_id"].startswith("m_")
        assert emu.private_reply(asked) == "We do! DM sent."

        def can(comment: str) -> bool:
            got = http.get(f"/v25.0/{comment}", params={"fields": "can_reply_privately"})
            return bool(got.json()["can_reply_privately"])

        assert not can(asked) and can(late) and not can(ours)
        again = http.post(
            f"/v25.0/{page_id}/messages",
            data={
                "recipient": json.dumps({"comment_id": asked}),
                "message": json.dumps({"text": "hello again"}),
            },
        ).json()["error"]
        assert again["code"] == 10900 and again["message"] == "(#10900) Activity already replied to"
        own = http.post(
            f"/v25.0/{page_id}/messages",
            json={"recipient": {"comment_id": ours}, "message": {"text": "x"}},
        ).json()["error"]
        assert own["code"] == 10902
        empty = http.post(
            f"/v25.0/{page_id}/messages",
            json={"recipient": {"comment_id": late}, "message": {"text": " "}},
        ).json()["error"]
        assert empty["code"] == 100

        emu.clock.advance(timedelta(days=7))
        expired = http.post(
            f"/v25.0/{page_id}/messages",
            json={"recipient": {"comment_id": late}, "message": {"text": "too late"}},
        ).json()["error"]
        assert expired["code"] == 10903 and emu.private_reply(late) is None
