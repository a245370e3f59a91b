"""The Bluesky emulator's conversation endpoints, raw XRPC: the audience's posts,
listNotifications as the AppView answers it, threadgates (putRecord) and what hiding changes
in notifications and threads."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from brandkit.testing.bluesky import BlueskyEmulator, BlueskyLimits
from tests.bluesky.test_emulator import Pds, error

LIST = "/xrpc/app.bsky.notification.listNotifications"
GATE = "app.bsky.feed.threadgate"
POST = "app.bsky.feed.post"
NOTE_KEYS = {"uri", "cid", "author", "reason", "record", "isRead", "indexedAt", "labels"}


@pytest.fixture
def pds(emu: BlueskyEmulator) -> Iterator[Pds]:
    client = Pds(emu)
    yield client
    client.http.close()


def our_post(pds: Pds, text: str = "our post", rkey: str = "3kaaaaaaaaa22") -> dict[str, Any]:
    made = pds.create(
        {"$type": POST, "text": text, "createdAt": "2026-12-01T10:00:00.000Z"}, rkey=rkey
    )
    assert made.status_code == 200, made.text
    return dict(made.json())


def notes(pds: Pds, **params: Any) -> httpx.Response:
    return pds.http.get(LIST, params=params, headers=pds.auth)


def test_the_audience_writes_replies_mentions_quotes_and_posts(
    emu: BlueskyEmulator, pds: Pds
) -> None:
    """Audience members are accounts ``<name>.test``; their posts carry real reply refs, a
    mention facet over the handle's bytes, a record embed; post_texts stays the brand's."""
    made = our_post(pds)
    fan = emu.audience("fan1")
    reply = fan.reply("3kaaaaaaaaa22", "nice")
    assert reply.startswith(f"at://{emu.user('fan1.test').did}/{POST}/")
    ref = {"uri": made["uri"], "cid": made["cid"]}
    assert emu.record(reply).value["reply"] == {"root": ref, "parent": ref}
    deeper = emu.audience("fan2").reply(reply, "agreed")
    assert emu.record(deeper).value["reply"] == {
        "root": ref,
        "parent": {"uri": reply, "cid": emu.record(reply).cid},
    }
    mention = emu.audience("caller").mention("héllo brand")
    value = emu.record(mention).value
    handle = f"@{pds.handle}"
    assert value["text"] == f"{handle} héllo brand"
    (facet,) = value["facets"]
    start, end = facet["index"]["byteStart"], facet["index"]["byteEnd"]
    assert value["text"].encode()[start:end].decode() == handle
    assert facet["features"] == [{"$type": "app.bsky.richtext.facet#mention", "did": pds.did}]
    quote = fan.quote("3kaaaaaaaaa22", "look")
    assert emu.record(quote).value["embed"] == {"$type": "app.bsky.embed.record", "record": ref}
    fan.post("just a post", lang="de")
    assert emu.post_texts() == ["our post"]
    with pytest.raises(NotImplementedError, match="no comments"):
        fan.comment("3kaaaaaaaaa22", "x")
    with pytest.raises(KeyError):
        fan.reply("3kzzzzzzzzz22", "to nothing")


def test_list_notifications_has_the_appview_shape(emu: BlueskyEmulator, pds: Pds) -> None:
    """Newest first, each with uri, cid, author (a profile view), reason, reasonSubject
    (not for mentions), the record as stored, isRead (the newest unread when no seen time
    is kept), indexedAt; reasons filter; no cursor when there is no more."""
    made = our_post(pds)
    fan = emu.audience("fan1")
    reply = fan.reply("3kaaaaaaaaa22", "first")
    mention = fan.mention("hello")
    quote = fan.quote("3kaaaaaaaaa22", "look")
    fan.post("unrelated")
    answer = notes(pds)
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"notifications", "priority", "seenAt"}
    got = body["notifications"]
    assert [n["uri"] for n in got] == [quote, mention, reply]
    assert [n["reason"] for n in got] == ["quote", "mention", "reply"]
    assert all(set(n) - {"reasonSubject"} == NOTE_KEYS for n in got)
    assert got[0]["reasonSubject"] == got[2]["reasonSubject"] == made["uri"]
    assert "reasonSubject" not in got[1]
    assert got[2]["record"] == emu.record(reply).value
    assert got[0]["author"]["handle"] == "fan1.test" and "indexedAt" in got[0]["author"]
    assert [n["isRead"] for n in got] == [False, True, True]
    assert got[0]["indexedAt"] > got[1]["indexedAt"] > got[2]["indexedAt"]
    only = notes(pds, reasons=["mention"]).json()["notifications"]
    assert [n["uri"] for n in only] == [mention]


def test_pages_go_back_in_time_by_an_iso_cursor(emu: BlueskyEmulator, pds: Pds) -> None:
    """limit per page; the cursor is the last one's indexedAt and the next page is strictly
    older; the last page has no cursor; a garbled cursor is "Malformed cursor"."""
    our_post(pds)
    said = [emu.audience(f"fan{i % 3}").reply("3kaaaaaaaaa22", f"n{i}") for i in range(7)]
    seen: list[str] = []
    cursor = None
    for _ in range(5):
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        body = notes(pds, **params).json()
        seen += [n["uri"] for n in body["notifications"]]
        cursor = body.get("cursor")
        if cursor is None:
            break
        assert cursor == body["notifications"][-1]["indexedAt"]
    assert seen == said[::-1]
    assert error(notes(pds, cursor="yesterday")) == (400, "InvalidRequest", "Malformed cursor")
    assert error(notes(pds, limit=101))[0] == 400
    assert error(notes(pds, seenAt="2026-12-01T10:00:00.000Z")) == (
        400,
        "InvalidRequest",
        "The seenAt parameter is unsupported",
    )
    assert pds.http.get(LIST).status_code == 401


def test_reply_notifications_follow_the_indexers_rules(emu: BlueskyEmulator, pds: Pds) -> None:
    """A reply that also mentions the brand is a mention; a reply deep under the brand's
    answer in someone else's thread names the brand's post; a deleted reply is gone."""
    our_post(pds)
    fan = emu.audience("fan1")
    other = emu.audience("other").post("someone else's thread")
    answer = pds.create(
        {
            "$type": POST,
            "text": "our answer",
            "createdAt": "2026-12-01T10:00:00.000Z",
            "reply": {
                "root": {"uri": other, "cid": emu.record(other).cid},
                "parent": {"uri": other, "cid": emu.record(other).cid},
            },
        },
        rkey="3kaaaaaaaab22",
    ).json()
    under = fan.reply(answer["uri"], "under your answer")
    both = fan.reply("3kaaaaaaaaa22", f"@{pds.handle} are you there?")
    (facet,) = emu.record(both).value["facets"]
    assert facet["features"][0]["did"] == pds.did
    got = {n["uri"]: n for n in notes(pds).json()["notifications"]}
    assert got[under]["reason"] == "reply" and got[under]["reasonSubject"] == answer["uri"]
    assert got[both]["reason"] == "mention"
    assert other not in got
    rkey = under.rsplit("/", 1)[-1]
    fan_did = emu.user("fan1.test").did
    with emu.lock:
        del emu.records[f"at://{fan_did}/{POST}/{rkey}"]
    assert under not in {n["uri"] for n in notes(pds).json()["notifications"]}


def put_gate(pds: Pds, record: dict[str, Any], **extra: Any) -> httpx.Response:
    return pds.http.post(
        "/xrpc/com.atproto.repo.putRecord",
        json={
            "repo": pds.did,
            "collection": GATE,
            "rkey": "3kaaaaaaaaa22",
            "record": record,
            **extra,
        },
        headers=pds.auth,
    )


def test_a_threadgate_hides_replies_from_notifications_and_flags_them_in_threads(
    emu: BlueskyEmulator, pds: Pds
) -> None:
    """hiddenReplies takes a reply out of the root author's notifications; getPostThread
    keeps it and sends the threadgate beside the thread; unhiding brings it back."""
    made = our_post(pds)
    rude = emu.audience("troll").reply("3kaaaaaaaaa22", "rude")
    kind = emu.audience("fan").reply("3kaaaaaaaaa22", "kind")
    gate = {
        "$type": GATE,
        "post": made["uri"],
        "createdAt": "2026-12-01T10:00:00.000Z",
        "hiddenReplies": [rude],
    }
    put = put_gate(pds, gate, swapRecord=None)
    assert put.status_code == 200, put.text
    assert set(put.json()) == {"uri", "cid", "commit", "validationStatus"}
    assert emu.is_hidden(rude) and not emu.is_hidden(kind)
    assert [n["uri"] for n in notes(pds).json()["notifications"]] == [kind]
    thread = pds.http.get("/xrpc/app.bsky.feed.getPostThread", params={"uri": made["uri"]})
    body = thread.json()
    assert [r["post"]["uri"] for r in body["thread"]["replies"]] == [rude, kind]
    assert body["threadgate"]["record"]["hiddenReplies"] == [rude]
    assert body["threadgate"]["uri"] == f"at://{pds.did}/{GATE}/3kaaaaaaaaa22"
    again = put_gate(pds, {**gate, "hiddenReplies": []}, swapRecord=put.json()["cid"])
    assert again.status_code == 200
    assert len(notes(pds).json()["notifications"]) == 2
    assert error(put_gate(pds, gate, swapRecord=None)) == (
        400,
        "InvalidSwap",
        f"Record was at {again.json()['cid']}",
    )
    assert emu.threadgate("3kaaaaaaaaa22") == {**gate, "hiddenReplies": []}


def test_one_page_hides_by_each_threads_own_gate(emu: BlueskyEmulator, pds: Pds) -> None:
    """In one page, a gate's hiddenReplies take out only its own thread's replies: the
    same troll's replies under an ungated post are listed, with the same author view in
    each notification."""
    first = our_post(pds)
    our_post(pds, "another", rkey="3kbbbbbbbbb22")
    rude = [emu.audience("troll").reply("3kaaaaaaaaa22", f"rude {i}") for i in range(2)]
    kind = emu.audience("fan").reply("3kaaaaaaaaa22", "kind")
    there = [emu.audience("troll").reply("3kbbbbbbbbb22", f"there {i}") for i in range(2)]
    gate = {
        "$type": GATE,
        "post": first["uri"],
        "createdAt": "2026-12-01T10:00:00.000Z",
        "hiddenReplies": rude,
    }
    assert put_gate(pds, gate, swapRecord=None).status_code == 200
    listed = notes(pds).json()["notifications"]
    assert [n["uri"] for n in listed] == [there[1], there[0], kind]
    assert listed[0]["author"] == listed[1]["author"] != listed[2]["author"]
    assert listed[0]["author"]["handle"] == "troll.test"


def test_notifications_are_rate_limited_like_every_read() -> None:
    """With rate limits on, listNotifications spends the per-IP budget and says so."""
    emu = BlueskyEmulator(rate_limits=BlueskyLimits(api=((3, 300.0),)))
    pds = Pds(emu)
    answers = [notes(pds) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[0].headers["RateLimit-Policy"] == "3;w=300"
    assert error(answers[2])[1] == "RateLimitExceeded"


def test_a_mention_names_the_account_made_with_account_unless_the_text_names_another(
    emu: BlueskyEmulator,
) -> None:
    """Users added to be mentioned do not take the audience's mentions from the brand."""
    alice = emu.add_user("alice.test")
    brand = emu.account(name="brand")
    fan = emu.audience("fan")
    plain = emu.record(fan.mention("hello")).value
    assert plain["text"].startswith(f"@{brand.settings['handle']} ")
    named = emu.record(fan.mention("hi @alice.test")).value
    assert named["facets"][0]["features"][0]["did"] == alice.did
