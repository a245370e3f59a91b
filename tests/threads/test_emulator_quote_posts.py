"""Quote posts as Meta's Quote Posts page documents them, over a real socket: a container
made with ``quote_post_id`` publishes a post with ``is_quote_post`` true and
``quoted_post`` naming the quoted post; the quoted post counts the quote."""

from __future__ import annotations

import httpx

from brandkit.testing.threads import ThreadsEmulator


def test_a_container_with_quote_post_id_publishes_a_quote_post() -> None:
    """The quote reads back as the page's example shows; a plain post is no quote and has
    no ``quoted_post``; the quoted post's ``quotes`` insight counts it; an unknown
    ``quote_post_id`` is refused when the container is made."""
    emu = ThreadsEmulator(engagement_rate=0)
    acct = emu.account()
    who, token = str(acct.settings["user_id"]), str(acct.secret("token"))
    fans = emu.audience("ada").post("Best coffee in town is at @brand")
    with (
        emu.serve() as url,
        httpx.Client(base_url=url, headers={"authorization": f"Bearer {token}"}) as http,
    ):
        made = http.post(
            f"/v1.0/{who}/threads",
            data={"media_type": "TEXT", "text": "Thank you, Ada!", "quote_post_id": fans},
        )
        assert made.status_code == 200, made.text
        done = http.post(f"/v1.0/{who}/threads_publish", data={"creation_id": made.json()["id"]})
        quote = done.json()["id"]
        got = http.get(f"/v1.0/{quote}", params={"fields": "id,is_quote_post,quoted_post"})
        assert got.json() == {"id": quote, "is_quote_post": True, "quoted_post": {"id": fans}}

        plain = http.post(f"/v1.0/{who}/threads", data={"media_type": "TEXT", "text": "Hi"})
        post = http.post(
            f"/v1.0/{who}/threads_publish", data={"creation_id": plain.json()["id"]}
        ).json()["id"]
        assert http.get(f"/v1.0/{post}", params={"fields": "is_quote_post,quoted_post"}).json() == {
            "is_quote_post": False,
            "id": post,
        }
        mine = http.post(
            f"/v1.0/{who}/threads",
            data={"media_type": "TEXT", "text": "Quoting myself", "quote_post_id": post},
        )
        http.post(f"/v1.0/{who}/threads_publish", data={"creation_id": mine.json()["id"]})
        insights = http.get(f"/v1.0/{post}/insights", params={"metric": "quotes"}).json()
        assert insights["data"][0]["values"][0]["value"] == 1

        bad = http.post(
            f"/v1.0/{who}/threads",
            data={"media_type": "TEXT", "text": "x", "quote_post_id": "1"},
        )
        assert bad.status_code == 400 and bad.json()["error"]["code"] == 100
