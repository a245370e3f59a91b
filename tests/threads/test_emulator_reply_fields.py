"""Every field the Threads reply management reference lists for ``GET
/{threads-media-id}/replies`` and ``/conversation`` is answered by the emulator, over a real
socket (the emulator refused ``reply_audience``, ``media_url`` and the others it did not
hold with #100, so a client asking for the documented list read nothing); a post's
``reply_audience`` is the ``reply_control`` it was made with."""

from __future__ import annotations

import httpx

from brandkit.testing.threads import ThreadsEmulator

# The Values of the fields parameter in Meta's Reply Management reference.
DOCUMENTED = (
    "id,media_product_type,media_type,media_url,permalink,username,text,timestamp,shortcode,"
    "thumbnail_url,children,is_quote_post,has_replies,root_post,replied_to,is_reply,"
    "is_reply_owned_by_me,hide_status,reply_audience,quoted_post,reposted_post,gif_url,"
    "topic_tag,is_verified,profile_picture_url"
)


def test_documented_reply_fields_and_reply_audience() -> None:
    """The documented field list reads a conversation; a text reply has no media URLs; the
    root's ``reply_audience`` follows its ``reply_control``; an unknown control is refused."""
    emu = ThreadsEmulator()
    acct = emu.account()
    who, token = str(acct.settings["user_id"]), str(acct.secret("token"))
    auth = {"authorization": f"Bearer {token}"}
    with emu.serve() as url, httpx.Client(base_url=url, headers=auth) as http:
        made = http.post(
            f"/v1.0/{who}/threads",
            data={"media_type": "TEXT", "text": "Ask us, @ada", "reply_control": "mentioned_only"},
        )
        assert made.status_code == 200, made.text
        root = http.post(f"/v1.0/{who}/threads_publish", data={"creation_id": made.json()["id"]})
        root_id = root.json()["id"]
        reply = emu.audience("ada").reply(root_id, "When do you open?")

        for edge in ("replies", "conversation"):
            got = http.get(f"/v1.0/{root_id}/{edge}", params={"fields": DOCUMENTED})
            assert got.status_code == 200, got.text
            (item,) = got.json()["data"]
            assert item["id"] == reply and item["reply_audience"] == "EVERYONE"
            assert item["is_verified"] is False and item["profile_picture_url"].startswith(
                "https://"
            )
            assert item["root_post"] == {"id": root_id} and item["hide_status"] == "NOT_HUSHED"
            for absent in ("media_url", "thumbnail_url", "quoted_post", "reposted_post", "gif_url"):
                assert absent not in item, absent
        mine = http.get(f"/v1.0/{root_id}", params={"fields": "reply_audience,media_type"})
        assert mine.json() == {
            "reply_audience": "MENTIONED_ONLY",
            "media_type": "TEXT_POST",
            "id": root_id,
        }

        bad = http.post(
            f"/v1.0/{who}/threads",
            data={"media_type": "TEXT", "text": "x", "reply_control": "nobody"},
        ).json()["error"]
        assert bad["code"] == 100 and "reply_control" in bad["message"]
