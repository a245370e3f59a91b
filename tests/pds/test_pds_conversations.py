"""Conversations against the real PDS: a second account replies to the brand's post, the
brand answers, hides, likes; every result is read back from the server's own records.

The bare PDS has no AppView, so ``app.bsky.notification.listNotifications`` (the inbox read)
and ``getPostThread`` cannot be answered here (the first test shows how the server refuses).
The messages are therefore built by the adapter's own inbox flow from a notification made of
the reply record the PDS stored (the AppView's notification view carries that record as it
is); everything the adapter then writes goes to the real server.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from brandkit import Account, Client, DeliveryStatus, Message, Post, Rejected
from brandkit._flow import run_flow
from brandkit.platforms import adapter_class
from tests.pds.pds_harness import PdsAccount, PdsServer
from tests.pds.test_pds_brandkit import brandkit_account, facet_text, value

pytestmark = pytest.mark.pds

POST = "app.bsky.feed.post"
GATE = "app.bsky.feed.threadgate"
LIKE = "app.bsky.feed.like"
MENTION = "app.bsky.richtext.facet#mention"


@pytest.fixture(scope="module")
def brand(pds: PdsServer) -> PdsAccount:
    """The brand's account."""
    return pds.create_account("brand")


@pytest.fixture(scope="module")
def fan(pds: PdsServer) -> PdsAccount:
    """Someone else on the same PDS, who replies to the brand."""
    return pds.create_account("fan")


def get_record(pds: PdsServer, uri: str) -> httpx.Response:
    """com.atproto.repo.getRecord of an AT URI, straight from the server."""
    repo, collection, rkey = uri.removeprefix("at://").split("/")
    with pds.client() as http:
        return http.get(
            "/xrpc/com.atproto.repo.getRecord",
            params={"repo": repo, "collection": collection, "rkey": rkey},
        )


def create_post(pds: PdsServer, who: PdsAccount, record: dict[str, Any]) -> dict[str, str]:
    """A post written by ``who`` with a raw createRecord; its strong ref."""
    with pds.client() as http:
        made = http.post(
            "/xrpc/com.atproto.repo.createRecord",
            json={"repo": who.did, "collection": POST, "record": {"$type": POST, **record}},
            headers=who.auth(),
        )
    assert made.status_code == 200, made.text
    return {"uri": made.json()["uri"], "cid": made.json()["cid"]}


def reply_record(text: str, root: dict[str, str], parent: dict[str, str]) -> dict[str, Any]:
    return {
        "text": text,
        "createdAt": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "reply": {"root": root, "parent": parent},
    }


def notification(
    pds: PdsServer, who: PdsAccount, uri: str, reason: str, subject: str
) -> dict[str, Any]:
    """The AppView's notification view of the stored post ``uri`` (the record as stored)."""
    stored = get_record(pds, uri)
    assert stored.status_code == 200, stored.text
    return {
        "uri": uri,
        "cid": stored.json()["cid"],
        "author": {"did": who.did, "handle": who.handle, "displayName": "A Fan"},
        "reason": reason,
        "reasonSubject": subject,
        "record": stored.json()["value"],
        "isRead": False,
        "indexedAt": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "labels": [],
    }


def forward(pds: PdsServer, notes: list[dict[str, Any]]) -> Callable[[httpx.Request], Any]:
    """A responder for run_flow: the real PDS, except listNotifications (no AppView here),
    answered with ``notes``."""

    def respond(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/app.bsky.notification.listNotifications"):
            return httpx.Response(200, json={"notifications": notes}, request=request)
        with httpx.Client(timeout=30.0) as http:
            answer = http.send(request)
            answer.read()
            return answer

    return respond


def read_inbox(pds: PdsServer, account: Account, notes: list[dict[str, Any]]) -> list[Message]:
    adapter = adapter_class("bluesky")(account)
    page = run_flow(adapter.inbox(None, limit=100), forward(pds, notes))
    return list(page.messages)


def test_the_bare_pds_cannot_list_notifications(pds: PdsServer, brand: PdsAccount) -> None:
    """Without an AppView the PDS refuses the inbox read; brandkit says so, typed."""
    with Client() as client, pytest.raises(Rejected) as refused:
        client.inbox(brandkit_account(pds, brand))
    assert refused.value.status_code == 400
    assert "No service configured" in str(refused.value)


def test_reply_to_a_reply_is_threaded_with_strong_refs_and_facets(
    pds: PdsServer, brand: PdsAccount, fan: PdsAccount
) -> None:
    """The fan replies to the brand's post; brandkit's answer (mentioning the fan, with a
    link) is stored with root = the brand's post and parent = the fan's reply; a second
    round under the answer keeps the same root."""
    account = brandkit_account(pds, brand)
    with Client() as client:
        (post,) = client.publish(Post(text="We opened a new shop. Questions?"), account)
        assert post.status is DeliveryStatus.SENT, post.error
        root = {"uri": post.parts[0].uri or "", "cid": post.parts[0].cid or ""}
        asked = create_post(pds, fan, reply_record("Is it open on Sundays?", root, root))
        (message,) = read_inbox(
            pds, account, [notification(pds, fan, asked["uri"], "reply", root["uri"])]
        )
        assert message.kind == "reply" and message.id == asked["uri"]
        assert message.in_reply_to == message.our_post == post.ids[0]
        assert message.author.id == fan.did
        url = "https://example.com/hours"
        answer = client.reply(
            message, Post(text=f"@{fan.handle} yes, ten to four: {url}", utm=False), account
        )
        assert answer.status is DeliveryStatus.SENT, answer.error
        stored = value(pds, brand.did, answer.parts[0].id)
        assert stored["reply"] == {"root": root, "parent": asked}
        features = {
            f["features"][0]["$type"]: (facet_text(stored, f), f["features"][0])
            for f in stored["facets"]
        }
        assert features[MENTION] == (f"@{fan.handle}", {"$type": MENTION, "did": fan.did})
        assert features["app.bsky.richtext.facet#link"][0] == url
        # The same answer again is the same delivery: nothing new on the server.
        again = client.reply(
            message, Post(text=f"@{fan.handle} yes, ten to four: {url}", utm=False), account
        )
        assert again.id == answer.id and again.parts == answer.parts

        mine = {"uri": answer.parts[0].uri or "", "cid": answer.parts[0].cid or ""}
        follow = create_post(pds, fan, reply_record("And on holidays?", root, mine))
        (second,) = read_inbox(
            pds, account, [notification(pds, fan, follow["uri"], "reply", mine["uri"])]
        )
        assert second.in_reply_to == answer.ids[0] and second.our_post == post.ids[0]
        closing = client.reply(second, Post(text="Closed on holidays."), account)
        assert closing.status is DeliveryStatus.SENT, closing.error
        assert value(pds, brand.did, closing.parts[0].id)["reply"] == {
            "root": root,
            "parent": follow,
        }


def test_hiding_writes_a_threadgate_the_pds_accepts(
    pds: PdsServer, brand: PdsAccount, fan: PdsAccount
) -> None:
    """hide puts the reply's URI into the root post's threadgate (record key = the post's),
    keeping who may reply; unhide takes it out again; both are read back from the PDS."""
    account = brandkit_account(pds, brand)
    with Client() as client:
        (post,) = client.publish(Post(text="Be kind in the replies"), account)
        assert post.status is DeliveryStatus.SENT, post.error
        root_uri = post.parts[0].uri or ""
        root = {"uri": root_uri, "cid": post.parts[0].cid or ""}
        # The brand already limits replies to people it mentions: that must stay.
        with pds.client() as http:
            gate = http.post(
                "/xrpc/com.atproto.repo.putRecord",
                json={
                    "repo": brand.did,
                    "collection": GATE,
                    "rkey": post.ids[0],
                    "record": {
                        "$type": GATE,
                        "post": root_uri,
                        "allow": [{"$type": f"{GATE}#mentionRule"}],
                        "createdAt": "2026-12-01T10:00:00.000Z",
                    },
                },
                headers=brand.auth(),
            )
        assert gate.status_code == 200, gate.text
        rude = create_post(pds, fan, reply_record("something rude", root, root))
        polite = create_post(pds, fan, reply_record("something nice", root, root))
        notes = [
            notification(pds, fan, rude["uri"], "reply", root_uri),
            notification(pds, fan, polite["uri"], "reply", root_uri),
        ]
        messages = {m.text: m for m in read_inbox(pds, account, notes)}
        client.hide(messages["something rude"], account)
        client.hide(messages["something rude"], account)  # twice: still once
        client.hide(messages["something nice"], account)
        stored = get_record(pds, f"at://{brand.did}/{GATE}/{post.ids[0]}")
        assert stored.status_code == 200, stored.text
        record = stored.json()["value"]
        assert record["post"] == root_uri
        assert record["allow"] == [{"$type": f"{GATE}#mentionRule"}]
        assert record["hiddenReplies"] == [rude["uri"], polite["uri"]]
        client.unhide(messages["something rude"], account)
        record = get_record(pds, f"at://{brand.did}/{GATE}/{post.ids[0]}").json()["value"]
        assert record["hiddenReplies"] == [polite["uri"]]
        assert record["allow"] == [{"$type": f"{GATE}#mentionRule"}]


def test_hiding_without_a_threadgate_creates_one_that_lets_everyone_reply(
    pds: PdsServer, brand: PdsAccount, fan: PdsAccount
) -> None:
    """A thread with no threadgate gets one with only hiddenReplies (no ``allow``: everyone
    may still reply)."""
    account = brandkit_account(pds, brand)
    with Client() as client:
        (post,) = client.publish(Post(text="Open thread"), account)
        root = {"uri": post.parts[0].uri or "", "cid": post.parts[0].cid or ""}
        spam = create_post(pds, fan, reply_record("buy my stuff", root, root))
        (message,) = read_inbox(
            pds, account, [notification(pds, fan, spam["uri"], "reply", root["uri"])]
        )
        client.hide(message, account)
    record = get_record(pds, f"at://{brand.did}/{GATE}/{post.ids[0]}").json()["value"]
    assert record["hiddenReplies"] == [spam["uri"]]
    assert record["post"] == root["uri"]
    assert "allow" not in record


def test_like_lands_once_and_a_deleted_parent_is_refused(
    pds: PdsServer, brand: PdsAccount, fan: PdsAccount
) -> None:
    """Liking twice leaves one like record naming the reply; after the fan deletes the
    reply, answering it fails with a typed error and writes nothing."""
    account = brandkit_account(pds, brand)
    with Client() as client:
        (post,) = client.publish(Post(text="Likes welcome"), account)
        root = {"uri": post.parts[0].uri or "", "cid": post.parts[0].cid or ""}
        nice = create_post(pds, fan, reply_record("love it", root, root))
        (message,) = read_inbox(
            pds, account, [notification(pds, fan, nice["uri"], "reply", root["uri"])]
        )
        client.like(message, account)
        client.like(message, account)
        with pds.client() as http:
            likes = http.get(
                "/xrpc/com.atproto.repo.listRecords",
                params={"repo": brand.did, "collection": LIKE, "limit": "100"},
            ).json()["records"]
        mine = [r for r in likes if r["value"]["subject"]["uri"] == nice["uri"]]
        assert len(mine) == 1
        assert mine[0]["value"]["subject"] == nice

        with pds.client() as http:
            gone = http.post(
                "/xrpc/com.atproto.repo.deleteRecord",
                json={"repo": fan.did, "collection": POST, "rkey": nice["uri"].rsplit("/")[-1]},
                headers=fan.auth(),
            )
        assert gone.status_code == 200, gone.text
        before = len(value_list(pds, brand.did))
        answer = client.reply(message, Post(text="thank you!"), account)
    assert answer.status is DeliveryStatus.FAILED
    assert isinstance(answer.error, Rejected) and "deleted" in str(answer.error)
    assert len(value_list(pds, brand.did)) == before


def value_list(pds: PdsServer, did: str) -> list[dict[str, Any]]:
    """The account's post records (at most 100, enough for these tests)."""
    with pds.client() as http:
        records: list[dict[str, Any]] = http.get(
            "/xrpc/com.atproto.repo.listRecords",
            params={"repo": did, "collection": POST, "limit": "100"},
        ).json()["records"]
    return records
