"""The Threads emulator's reply cursors name their reply; once that reply is deleted, Meta
documents the cursor as invalidated: it is refused (code 100), and the edge read again
from the top still gives the reply that came after it."""

from __future__ import annotations

from datetime import timedelta

import httpx

from brandkit import Client, Post
from brandkit.testing.threads import ThreadsEmulator


def test_a_deleted_replys_cursor_is_refused_and_the_reply_after_it_kept() -> None:
    """Replies newest first, one a page: the brand's newer reply, then a fan's older one.
    The brand deletes its reply after reading the first page; the page after its cursor is
    refused as Graph refuses a cursor it cannot read, and the replies read again give the
    fan's reply (once the page after that cursor was empty, and the fan's reply was never
    read)."""
    emu = ThreadsEmulator()
    with emu.serve():
        account = emu.account()
        user = str(account.settings["user_id"])
        with Client() as client:
            (d,) = client.publish(Post(text="What next?"), account)
        post = d.parts[0].id
        fan = emu.add_reply(post, author="fan", text="Boots!")
        emu.clock.advance(timedelta(seconds=5))
        headers = {"authorization": f"Bearer {account.secret('token')}"}
        with httpx.Client(base_url=emu.base_url, headers=headers) as http:
            made = http.post(
                f"/v1.0/{user}/threads",
                data={"media_type": "TEXT", "text": "Noted", "reply_to_id": post},
            ).json()["id"]
            mine = http.post(f"/v1.0/{user}/threads_publish", data={"creation_id": made})
            mine_id = mine.json()["id"]
            first = http.get(f"/v1.0/{post}/replies", params={"limit": 1}).json()
            assert [r["id"] for r in first["data"]] == [mine_id]
            assert http.delete(f"/v1.0/{mine_id}").status_code == 200
            after = first["paging"]["cursors"]["after"]
            rest = http.get(f"/v1.0/{post}/replies", params={"limit": 1, "after": after})
            again = http.get(f"/v1.0/{post}/replies", params={"limit": 1})
    assert rest.status_code == 400, rest.text
    assert (rest.json()["error"]["code"], rest.json()["error"]["type"]) == (100, "OAuthException")
    assert [r["id"] for r in again.json()["data"]] == [fan]
