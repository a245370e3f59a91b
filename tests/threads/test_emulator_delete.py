"""The Threads emulator's answer to DELETE /{threads-media-id}, as Meta documents it."""

from __future__ import annotations

import httpx

from brandkit import Client, Post
from brandkit.testing.threads import ThreadsEmulator


def test_delete_answers_success_and_the_deleted_id() -> None:
    """Meta's Delete Posts page: ``{"success": true, "deleted_id": "<id>"}``. Clients check
    ``deleted_id`` against the post they meant to delete."""
    emu = ThreadsEmulator()
    with emu.serve():
        account = emu.account()
        with Client() as client:
            (d,) = client.publish(Post(text="to go"), account)
        post = d.parts[0].id
        headers = {"authorization": f"Bearer {account.secret('token')}"}
        with httpx.Client(base_url=emu.base_url, headers=headers) as http:
            answer = http.delete(f"/v1.0/{post}")
    assert answer.status_code == 200
    assert answer.json() == {"success": True, "deleted_id": post}
    assert emu.post_texts() == []
