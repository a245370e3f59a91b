"""Mastodon removes uploads that no status took once they are a day old
(``Vacuum::MediaAttachmentsVacuum``, ``TTL = 1.day``, destroying ``unattached`` media). The
emulator kept them for ever, so a client reusing day-old upload ids was never refused."""

from __future__ import annotations

from datetime import timedelta

import httpx

from brandkit.testing.conformance import tiny_png
from brandkit.testing.mastodon import MastodonEmulator


def _upload(http: httpx.Client) -> str:
    made = http.post("/api/v2/media", files={"file": ("a.png", tiny_png(), "image/png")})
    assert made.status_code == 200, made.text
    media_id: str = made.json()["id"]
    return media_id


def test_an_upload_no_status_took_is_gone_after_a_day() -> None:
    emu = MastodonEmulator(engagement_rate=0)
    acct = emu.account(username="brand")
    auth = {"authorization": f"Bearer {acct.secret('token')}"}
    with emu.serve() as url, httpx.Client(base_url=url, headers=auth) as http:
        old = _upload(http)
        emu.clock.advance(timedelta(hours=23))
        fresh = _upload(http)
        emu.clock.advance(timedelta(hours=1))
        refused = http.post("/api/v1/statuses", json={"status": "Old", "media_ids": [old]})
        assert refused.status_code == 422
        assert refused.json() == {
            "error": f"Media {old} not found or already attached to another post"
        }
        assert http.get(f"/api/v1/media/{old}").status_code == 404
        taken = http.post("/api/v1/statuses", json={"status": "New", "media_ids": [fresh]})
        assert taken.status_code == 200, taken.text
        # An attached upload is the status's: the vacuum leaves it.
        emu.clock.advance(timedelta(days=2))
        assert emu.posts[0]["media_attachments"][0]["id"] == fresh
