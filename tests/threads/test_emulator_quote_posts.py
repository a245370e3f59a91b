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


def test_a_repost_is_a_repost_facade_in_the_accounts_threads() -> None:
    """``POST /{post}/repost`` answers the repost's id (Meta's Reposts page); the repost is
    in ``GET /{user}/threads`` with ``media_type`` ``REPOST_FACADE`` and ``reposted_post``;
    the reposted post counts it in ``reposts`` (read here on the account's own post, as
    insights are the author's); an unknown post is refused."""
    emu = ThreadsEmulator(engagement_rate=0)
    acct = emu.account()
    who, token = str(acct.settings["user_id"]), str(acct.secret("token"))
    fans = emu.audience("ada").post("Best coffee in town")
    with (
        emu.serve() as url,
        httpx.Client(base_url=url, headers={"authorization": f"Bearer {token}"}) as http,
    ):
        made = http.post(f"/v1.0/{fans}/repost")
        assert made.status_code == 200, made.text
        repost = made.json()["id"]
        assert list(made.json()) == ["id"]
        listed = http.get(f"/v1.0/{who}/threads", params={"fields": "id,media_type,reposted_post"})
        assert listed.json()["data"] == [
            {"id": repost, "media_type": "REPOST_FACADE", "reposted_post": {"id": fans}}
        ]
        assert emu.post_texts() == []
        plain = http.post(f"/v1.0/{who}/threads", data={"media_type": "TEXT", "text": "Hi"})
        post = http.post(
            f"/v1.0/{who}/threads_publish", data={"creation_id": plain.json()["id"]}
        ).json()["id"]
        http.post(f"/v1.0/{post}/repost")
        insights = http.get(f"/v1.0/{post}/insights", params={"metric": "reposts"}).json()
        assert insights["data"][0]["values"][0]["value"] == 1
        bad = http.post("/v1.0/1/repost")
        assert bad.status_code == 400 and bad.json()["error"]["code"] == 100
