"""The Threads emulator's reply cursors stand at their reply's place in the edge's order,
so a page read after that reply was deleted goes on with the reply after it, whatever is
left of the edge."""

from __future__ import annotations

from datetime import timedelta

import httpx

from brandkit import Client, Post
from brandkit.testing.threads import ThreadsEmulator


def test_the_next_page_after_a_deleted_reply_keeps_the_reply_after_it() -> None:
    """Replies newest first, one a page: the brand's newer reply, then a fan's older one.
    The brand deletes its reply after reading the first page; the page after its cursor is
    the fan's reply (it was empty when one reply was left: a one-item edge was taken for
    an oldest-first one, and the fan's reply was never read)."""
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
    assert rest.status_code == 200, rest.text
    assert [r["id"] for r in rest.json()["data"]] == [fan]
