"""Editing through the API: ``POST /2/tweets`` with ``edit_options.previous_post_id`` (X's
OpenAPI: "edits an existing Post when edit_options are provided") makes a new version of
that post, as an edit in X's app does (docs.x.com fundamentals/edit-posts): a new id, the
chain in ``edit_history_tweet_ids``, within 30 minutes of the original and 5 edits, and
never a reply to someone else's post."""

from __future__ import annotations

from typing import Any

import httpx

from brandkit import Account
from brandkit.testing.conformance import tiny_png
from brandkit.testing.x import EDIT_WINDOW, XEmulator
from tests.x.conftest import check_response, get, operation_schema


def create(emu: XEmulator, account: Account, body: dict[str, Any]) -> httpx.Response:
    """``POST /2/tweets`` straight to the emulator, as ``account``."""
    headers = {"authorization": f"Bearer {account.secret('user_token')}"}
    return httpx.post(emu.base_url + "/2/tweets", json=body, headers=headers)


def edit(emu: XEmulator, account: Account, post_id: str, text: str) -> httpx.Response:
    return create(emu, account, {"text": text, "edit_options": {"previous_post_id": post_id}})


def test_an_api_edit_is_a_new_version_of_the_post(emu: XEmulator, brand: Account) -> None:
    """The edit gets a new id and the chain; the old id looks up the old version, the
    timeline shows only the newest; a second edit grows the chain; nothing else is made."""
    made = create(emu, brand, {"text": "Our new kit is out"}).json()["data"]["id"]
    emu.clock.advance(60)
    r = edit(emu, brand, made, "Our new kit is out now")
    assert r.status_code == 201, r.text
    check_response(r.json(), operation_schema("POST", "/2/tweets", "201"))
    data = r.json()["data"]
    newer = data["id"]
    assert int(newer) > int(made)
    assert data["edit_history_tweet_ids"] == [made, newer]
    assert data["text"] == "Our new kit is out now"
    fields = {"tweet.fields": "conversation_id,edit_controls"}
    old = get(emu, brand, "/2/tweets", ids=made, **fields).json()["data"][0]
    assert (old["text"], old["edit_history_tweet_ids"]) == ("Our new kit is out", [made, newer])
    user_id = brand.settings["user_id"]
    (shown,) = get(emu, brand, f"/2/users/{user_id}/tweets", **fields).json()["data"]
    assert shown["id"] == newer and shown["conversation_id"] == made
    assert shown["edit_controls"]["edits_remaining"] == 4
    emu.clock.advance(60)
    r = edit(emu, brand, newer, "Our new kit is out now!")
    assert r.status_code == 201, r.text
    assert r.json()["data"]["edit_history_tweet_ids"] == [made, newer, r.json()["data"]["id"]]
    assert [p.id for p in emu.posts] == [made, newer, r.json()["data"]["id"]]


def test_an_api_edit_of_a_thread_part_stays_in_the_thread(emu: XEmulator, brand: Account) -> None:
    """A self-thread part keeps its parent and conversation; replies name the new version."""
    root = create(emu, brand, {"text": "A thread 1/2"}).json()["data"]["id"]
    part = create(
        emu, brand, {"text": "A thread 2/2", "reply": {"in_reply_to_tweet_id": root}}
    ).json()["data"]["id"]
    emu.clock.advance(60)
    r = edit(emu, brand, part, "A thread, 2/2")
    assert r.status_code == 201, r.text
    newer = emu.post(r.json()["data"]["id"])
    assert newer is not None
    assert (newer.in_reply_to, newer.conversation_id, newer.text) == (root, root, "A thread, 2/2")


def refusal(r: httpx.Response) -> str:
    """The detail of X's 403 problem, checked against X's Problem schema."""
    assert r.status_code == 403, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    check_response(body, "Problem")
    assert (body["title"], body["status"]) == ("Forbidden", 403)
    return str(body["detail"])


def test_what_x_would_not_let_be_edited_is_refused(emu: XEmulator, brand: Account) -> None:
    """Someone else's post, a reply to someone else, an older version, a deleted post,
    after 30 minutes, a 6th edit: X's 403 problem, and no post is made."""
    theirs = emu.audience("fan").mention("my order 123 came")
    answer = create(
        emu, brand, {"text": "Sorry!", "reply": {"in_reply_to_tweet_id": theirs}}
    ).json()["data"]["id"]
    ours = create(emu, brand, {"text": "Launch day"}).json()["data"]["id"]
    gone = create(emu, brand, {"text": "Oops"}).json()["data"]["id"]
    headers = {"authorization": f"Bearer {brand.secret('user_token')}"}
    assert httpx.delete(f"{emu.base_url}/2/tweets/{gone}", headers=headers).json() == {
        "data": {"deleted": True}
    }
    before = len(emu.posts)
    assert "not own" in refusal(edit(emu, brand, theirs, "@brand mine"))
    assert "someone else" in refusal(edit(emu, brand, answer, "Sorry again!"))
    assert "deleted" in refusal(edit(emu, brand, gone, "Oops, fixed"))
    newest = ours
    for n in range(5):
        emu.clock.advance(60)
        r = edit(emu, brand, newest, f"Launch day {n}")
        assert r.status_code == 201, r.text
        if n == 0:
            assert "newer version" in refusal(edit(emu, brand, ours, "Launch day again"))
        newest = r.json()["data"]["id"]
    assert "5 times" in refusal(edit(emu, brand, newest, "Launch day 6"))
    late = create(emu, brand, {"text": "Later"}).json()["data"]["id"]
    emu.clock.advance(EDIT_WINDOW.total_seconds() + 1)
    assert "edit window" in refusal(edit(emu, brand, late, "Later on"))
    assert len(emu.posts) == before + 5 + 1


def upload_image(emu: XEmulator, account: Account) -> str:
    """A PNG uploaded in X's three steps; its media id (images need no processing)."""
    headers = {"authorization": f"Bearer {account.secret('user_token')}"}
    data = tiny_png()
    init = httpx.post(
        emu.base_url + "/2/media/upload/initialize",
        json={"media_type": "image/png", "total_bytes": len(data), "media_category": "tweet_image"},
        headers=headers,
    )
    media_id = str(init.json()["data"]["id"])
    append = httpx.post(
        f"{emu.base_url}/2/media/upload/{media_id}/append",
        data={"segment_index": "0"},
        files={"media": ("blob", data, "application/octet-stream")},
        headers=headers,
    )
    assert append.status_code == 200, append.text
    finalize = httpx.post(f"{emu.base_url}/2/media/upload/{media_id}/finalize", headers=headers)
    assert finalize.status_code == 200, finalize.text
    return media_id


def invalid(r: httpx.Response) -> list[str]:
    """The messages of X's 400 invalid-request problem."""
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["type"] == "https://api.twitter.com/2/problems/invalid-request"
    assert body["title"] == "Invalid Request"
    return [str(e["message"]) for e in body["errors"]]


def test_an_edit_brings_no_media_to_a_quote_and_no_poll(emu: XEmulator, brand: Account) -> None:
    """``media``, ``poll`` and ``quote_tweet_id`` are mutually exclusive (X's OpenAPI), an
    edit keeps the post's quote, and a post with a poll cannot be edited (docs.x.com
    fundamentals/edit-posts): media on an edit of a quote, or a poll on any edit, is X's 400
    and makes nothing; the same edits without them are made."""
    quoted = create(emu, brand, {"text": "The original"}).json()["data"]["id"]
    quote = create(emu, brand, {"text": "Look at this", "quote_tweet_id": quoted})
    quote_id = quote.json()["data"]["id"]
    plain = create(emu, brand, {"text": "Plain"}).json()["data"]["id"]
    image = upload_image(emu, brand)
    emu.clock.advance(60)
    before = len(emu.posts)
    with_media = create(
        emu,
        brand,
        {
            "text": "Look at this!",
            "media": {"media_ids": [image]},
            "edit_options": {"previous_post_id": quote_id},
        },
    )
    assert invalid(with_media) == ["$: media and quote_tweet_id are mutually exclusive"]
    poll = {"options": ["yes", "no"], "duration_minutes": 60}
    with_poll = create(
        emu, brand, {"text": "Vote", "poll": poll, "edit_options": {"previous_post_id": plain}}
    )
    assert invalid(with_poll) == ["$.poll: an edit keeps the post's poll (none)"]
    assert len(emu.posts) == before
    edited = edit(emu, brand, quote_id, "Look at this!")
    assert edited.status_code == 201, edited.text
    assert emu.post(edited.json()["data"]["id"]).quote_tweet_id == quoted  # type: ignore[union-attr]
    pictured = create(
        emu,
        brand,
        {
            "text": "Plain!",
            "media": {"media_ids": [image]},
            "edit_options": {"previous_post_id": plain},
        },
    )
    assert pictured.status_code == 201, pictured.text
