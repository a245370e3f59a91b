"""Instagram comment moderation's "POST /{ig-media-id} — Disable/enable comments on an IG
Media" on the emulator, over a real socket: ``comment_enabled=false`` answers
``{"success": true}``, the media's ``is_comment_enabled`` says so and the audience can no
longer comment until ``comment_enabled=true``; another account's media is not found; an
IG Comment answers ``legacy_instagram_comment_id`` (left out: no Marketing API id)."""

from __future__ import annotations

import httpx
import pytest

from brandkit.testing import TINY_JPEG, LoopbackMediaHost
from brandkit.testing.instagram import InstagramEmulator


def test_comments_turned_off_and_on_again() -> None:
    """Off: the audience's comment is refused and the flag reads false; on again: a
    comment is taken; the parameter is required; only the owner may switch it."""
    with LoopbackMediaHost() as host:
        emu = InstagramEmulator(media_host=host)
        acct, other = emu.account(), emu.account()
        who, token = str(acct.settings["ig_user_id"]), str(acct.secret("token"))
        auth = {"authorization": f"Bearer {token}"}
        with emu.serve() as url, httpx.Client(base_url=url, headers=auth) as http:
            made = http.post(
                f"/v25.0/{who}/media",
                data={"image_url": host.put(TINY_JPEG, "image/jpeg"), "caption": "c"},
            ).json()["id"]
            media = http.post(f"/v25.0/{who}/media_publish", data={"creation_id": made})
            media_id = media.json()["id"]
            first = emu.audience("ada").comment(media_id, "before")

            off = http.post(f"/v25.0/{media_id}", data={"comment_enabled": "false"})
            assert off.status_code == 200 and off.json() == {"success": True}
            flag = http.get(f"/v25.0/{media_id}", params={"fields": "is_comment_enabled"})
            assert flag.json() == {"is_comment_enabled": False, "id": media_id}
            with pytest.raises(ValueError, match="turned off"):
                emu.audience("bob").comment(media_id, "during")
            with pytest.raises(ValueError, match="turned off"):
                emu.audience("bob").comment(first, "an answer during")

            missing = http.post(f"/v25.0/{media_id}", data={}).json()["error"]
            assert missing["code"] == 100 and "comment_enabled" in missing["message"]
            theirs = http.post(
                f"/v25.0/{media_id}",
                data={"comment_enabled": "true"},
                headers={"authorization": f"Bearer {other.secret('token')}"},
            ).json()["error"]
            assert theirs["error_subcode"] == 33

            on = http.post(f"/v25.0/{media_id}", data={"comment_enabled": "true"})
            assert on.json() == {"success": True}
            later = emu.audience("bob").comment(media_id, "after")
            listed = http.get(
                f"/v25.0/{media_id}/comments",
                params={"fields": "id,text,legacy_instagram_comment_id"},
            ).json()["data"]
            assert listed == [{"id": later, "text": "after"}, {"id": first, "text": "before"}]
