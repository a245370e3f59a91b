"""The Facebook emulator's Comment node answers every field of a real recorded comment
(``tests/data/meta/facebook/models/comment.json``, from python-facebook's test data), over
a real socket: the fields a comment has no value for (``attachment``, ``message_tags``...)
are left out, as Graph leaves them out, not refused as nonexisting."""

from __future__ import annotations

from datetime import timedelta

import httpx

from brandkit import Client, Post
from brandkit.testing.facebook import FacebookEmulator
from tests.facebook.conftest import real


def test_comment_answers_the_fields_of_a_real_comment() -> None:
    """Every field of the recorded comment is accepted; those with a value have the
    recorded type; ``can_reply_privately`` holds for the audience's comments for 7 days
    and never for the Page's own."""
    recorded = real("facebook/models/comment.json")
    emu = FacebookEmulator()
    acct = emu.account()
    page_id, token = acct.settings["page_id"], str(acct.secret("page_token"))
    auth = {"authorization": f"Bearer {token}"}
    with emu.serve() as url, httpx.Client(base_url=url, headers=auth) as http:
        post = http.post(f"/v25.0/{page_id}/feed", data={"message": "Hi"}).json()["id"]
        theirs = emu.audience("fan").comment(post, "My nice car")
        ours = http.post(f"/v25.0/{post}/comments", data={"message": "Thanks"}).json()["id"]
        fields = ",".join([*recorded, "message_tags", "private_reply_conversation"])
        got = http.get(f"/v25.0/{theirs}", params={"fields": fields})
        assert got.status_code == 200, got.text
        body = got.json()
        assert set(body) == set(recorded) - {"attachment"}
        for key, value in body.items():
            assert type(value) is type(recorded[key]), key
        assert body["can_reply_privately"] is True and body["is_private"] is False
        listed = http.get(
            f"/v25.0/{post}/comments", params={"fields": "id,can_reply_privately,attachment"}
        ).json()["data"]
        assert [(c["id"], c["can_reply_privately"]) for c in listed] == [
            (theirs, True),
            (ours, False),
        ]
        emu.clock.advance(timedelta(days=7))
        late = http.get(f"/v25.0/{theirs}", params={"fields": "can_reply_privately"}).json()
        assert late["can_reply_privately"] is False


def test_comment_replies_expanded_are_paged_and_left_out_when_none() -> None:
    """A comment's ``comments`` field is an edge like a post's: ``comments.limit(2)`` gives
    two replies with ``paging.next`` to the rest (GETting it verbatim reads the third),
    and a comment without replies leaves the field out, as Graph does; it gave every
    reply at once, without ``paging``, and ``{"data": []}`` for none."""
    emu = FacebookEmulator()
    with emu.serve() as url, Client() as client:
        acct = emu.account(tokens="page")
        (delivery,) = client.publish(Post(text="Hi"), acct)
        top = emu.audience("fan").comment(delivery.ids[0], "Nice")
        replies = [emu.audience(f"fan{i}").comment(top, f"reply {i}") for i in range(3)]
        token = {"access_token": str(acct.secret("page_token"))}
        with httpx.Client(base_url=url, params=token) as http:
            got = http.get(f"/v25.0/{top}", params={"fields": "comments.limit(2){message}"})
            assert got.status_code == 200, got.text
            edge = got.json()["comments"]
            assert [c["id"] for c in edge["data"]] == replies[:2]
            rest = httpx.get(edge["paging"]["next"]).json()
            alone = http.get(f"/v25.0/{replies[0]}", params={"fields": "id,comments{message}"})
    assert [c["message"] for c in rest["data"]] == ["reply 2"]
    assert alone.status_code == 200, alone.text
    assert "comments" not in alone.json()
