"""A post's ``reply_control`` (Meta's reply management guide: "specify who can reply to a
post") holds for the emulated audience, over a real socket: a member who may not reply is
refused, as the app offers them no reply; ``accounts_you_follow`` and ``followers_only``
follow the follows a test scripts."""

from __future__ import annotations

import httpx
import pytest

from brandkit.testing.threads import ThreadsEmulator


def publish(http: httpx.Client, who: str, text: str, control: str) -> str:
    """Publish a text post with ``reply_control`` and return its id."""
    made = http.post(
        f"/v1.0/{who}/threads",
        data={"media_type": "TEXT", "text": text, "reply_control": control},
    )
    assert made.status_code == 200, made.text
    done = http.post(f"/v1.0/{who}/threads_publish", data={"creation_id": made.json()["id"]})
    assert done.status_code == 200, done.text
    return str(done.json()["id"])


def test_reply_control_decides_who_of_the_audience_may_reply() -> None:
    """``mentioned_only`` lets the members the post mentions reply; ``parent_post_author_only``
    none; ``accounts_you_follow`` those the account follows; ``followers_only`` those who
    follow it; ``everyone`` anyone. A refused reply leaves nothing behind."""
    emu = ThreadsEmulator(engagement_rate=0)
    acct = emu.account()
    who, token = str(acct.settings["user_id"]), str(acct.secret("token"))
    ada, bob = emu.audience("ada"), emu.audience("bob")
    with (
        emu.serve() as url,
        httpx.Client(base_url=url, headers={"authorization": f"Bearer {token}"}) as http,
    ):
        mentioned = publish(http, who, "Thanks @ada for the photo", "mentioned_only")
        assert ada.reply(mentioned, "You're welcome")
        with pytest.raises(ValueError, match="mentioned_only"):
            bob.reply(mentioned, "me too")

        own = publish(http, who, "A thread of our own", "parent_post_author_only")
        with pytest.raises(ValueError, match="parent_post_author_only"):
            ada.reply(own, "hi")

        friends = publish(http, who, "For our friends", "accounts_you_follow")
        with pytest.raises(ValueError, match="accounts_you_follow"):
            ada.reply(friends, "hello")
        emu.set_following("ada")
        assert ada.reply(friends, "hello")

        fans = publish(http, who, "For our followers", "followers_only")
        with pytest.raises(ValueError, match="followers_only"):
            bob.reply(fans, "hey")
        emu.set_follower("bob")
        assert bob.reply(fans, "hey")

        anyone = publish(http, who, "Tell us anything", "everyone")
        assert bob.reply(anyone, "anything")

        got = http.get(f"/v1.0/{mentioned}/replies", params={"fields": "text,username"})
        assert [r["username"] for r in got.json()["data"]] == ["ada"]
        assert http.get(f"/v1.0/{own}/conversation").json()["data"] == []


def test_a_reply_under_the_accounts_answer_is_nested_and_cannot_be_hidden_alone() -> None:
    """manage_reply hides top-level replies only (Meta: "Replies nested deeper than the
    top-level reply cannot be targeted in isolation"): a fan's reply under the account's
    own answer to a top-level reply is nested, refused, and hidden with the top-level one."""
    emu = ThreadsEmulator(engagement_rate=0)
    acct = emu.account()
    who, token = str(acct.settings["user_id"]), str(acct.secret("token"))
    with (
        emu.serve() as url,
        httpx.Client(base_url=url, headers={"authorization": f"Bearer {token}"}) as http,
    ):
        root = publish(http, who, "Launch day", "everyone")
        first = emu.audience("ada").reply(root, "Congrats")
        made = http.post(
            f"/v1.0/{who}/threads",
            data={"media_type": "TEXT", "text": "Thank you!", "reply_to_id": first},
        )
        answer = http.post(f"/v1.0/{who}/threads_publish", data={"creation_id": made.json()["id"]})
        under = emu.audience("bob").reply(answer.json()["id"], "Me too")
        refused = http.post(f"/v1.0/{under}/manage_reply", data={"hide": "true"})
        assert refused.status_code == 400 and "top-level" in refused.json()["error"]["message"]
        assert not emu.is_hidden(under)
        top = http.post(f"/v1.0/{first}/manage_reply", data={"hide": "true"})
        assert top.json() == {"success": True} and emu.is_hidden(under)
