"""Threads deeper than a JSON reader's nesting limit: the emulator's getPostThread answers
them whole, over a socket, as the AppView does (up to the lexicon's depth of 1000)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from brandkit import Client, Post
from brandkit.testing.bluesky import BlueskyEmulator
from tests.bluesky._support import FAST, write_deep_reply

THREAD = "/xrpc/app.bsky.feed.getPostThread"
POST = "app.bsky.feed.post"


def _chain(emu: BlueskyEmulator, top: str, n: int) -> list[str]:
    """``n`` replies, each answering the one before (two people taking turns)."""
    uris, parent = [], top
    for i in range(n):
        parent = emu.audience("ann" if i % 2 else "bob").reply(parent, f"turn {i}")
        uris.append(parent)
    return uris


def _deep_loads(text: str) -> Any:
    # Python's reader recurses once per level: a 600-deep thread nests 1200 JSON levels.
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(10_000)
    try:
        return json.loads(text)
    finally:
        sys.setrecursionlimit(limit)


def _down(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    while True:
        yield node
        replies = node.get("replies")
        if not replies:
            return
        (node,) = replies


def _up(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    while True:
        yield node
        if "parent" not in node:
            return
        node = node["parent"]


def test_a_thread_600_deep_comes_whole_both_ways(served: BlueskyEmulator) -> None:
    """A chain of 600 replies: from its top with depth 1000 every reply comes, each under
    the one it answers, the last with an empty ``replies``; from its last reply with
    parentHeight 1000 every post above it comes as its parents."""
    emu = served
    top = emu.audience("host").post("a long conversation")
    uris = _chain(emu, top, 600)
    with httpx.Client(base_url=emu.base_url, timeout=60) as http:
        down = http.get(THREAD, params={"uri": top, "depth": 1000, "parentHeight": 0})
        up = http.get(THREAD, params={"uri": uris[-1], "depth": 0, "parentHeight": 1000})
    assert down.status_code == 200, down.text[:300]
    nodes = list(_down(_deep_loads(down.text)["thread"]))
    assert [n["post"]["uri"] for n in nodes] == [top, *uris]
    assert nodes[-1]["replies"] == [] and "parent" not in nodes[0]
    assert up.status_code == 200, up.text[:300]
    above = list(_up(_deep_loads(up.text)["thread"]))
    assert [n["post"]["uri"] for n in above] == [*reversed(uris), top]
    assert "replies" not in above[0]


@pytest.mark.parametrize("depth", [0, 1, 2, 3])
def test_depth_stops_replies_where_the_appview_does(served: BlueskyEmulator, depth: int) -> None:
    """views.threadReplies: a node at the depth asked has no ``replies`` at all; above it,
    a post without replies has an empty list."""
    emu = served
    top = emu.audience("host").post("short")
    first, second = _chain(emu, top, 2)
    with httpx.Client(base_url=emu.base_url, timeout=60) as http:
        body = http.get(THREAD, params={"uri": top, "depth": depth}).json()
    nodes = list(_down(body["thread"]))
    assert [n["post"]["uri"] for n in nodes] == [top, first, second][: depth + 1]
    if depth < 3:
        assert "replies" not in nodes[-1]
    else:
        assert nodes[-1]["replies"] == []


def _thread_reads(emu: BlueskyEmulator) -> list[dict[str, str]]:
    return [dict(r.url.params) for r in emu.requests if r.url.path.endswith("getPostThread")]


def test_a_conversation_300_deep_is_read_whole(served: BlueskyEmulator) -> None:
    """Two people answer each other 300 times under the brand's post: every reply comes,
    each answering the one before, read 50 levels at a time (an answer stays within what
    a JSON reader nests), each read going on from the deepest reply the one before held."""
    emu = served
    account = emu.account(name="brand")
    with Client(retry=FAST, accounts=[account]) as client:
        (d,) = client.publish(Post(text="Tell us"), account)
        top = f"at://{emu.user('brand.test').did}/app.bsky.feed.post/{d.ids[0]}"
        uris = _chain(emu, top, 300)
        thread = client.replies(d)
    assert [m.id for m in thread] == uris
    assert [m.in_reply_to for m in thread] == [d.ids[0], *uris[:-1]]
    assert {m.our_post for m in thread} == {d.ids[0]}
    reads = _thread_reads(emu)
    assert [r["uri"] for r in reads] == [top, *(uris[i] for i in range(49, 299, 50))]
    assert {(r["depth"], r["parentHeight"]) for r in reads} == {("50", "0")}


def test_an_appview_that_caps_depth_loses_no_branch(served: BlueskyEmulator) -> None:
    """An AppView that answers 2 levels whatever depth is asked (BSKY_MAX_THREAD_DEPTH):
    the conversation is read on below each reply where an answer stopped and that has
    replies, every branch at every depth, the brand's own answer among them left out; a
    reply without replies is not read on from."""
    emu = served
    emu.max_thread_depth = 2
    account = emu.account(name="brand")
    with Client(retry=FAST, accounts=[account]) as client:
        (d,) = client.publish(Post(text="Tell us"), account)
        top = f"at://{emu.user('brand.test').did}/app.bsky.feed.post/{d.ids[0]}"
        long_branch = _chain(emu, top, 7)
        side = emu.audience("cat").reply(long_branch[1], "a side remark")
        side_below = _chain(emu, side, 3)
        lone = emu.audience("dan").reply(top, "nothing under me")
        (mid,) = (m for m in client.replies(d) if m.id == long_branch[2])
        ours = client.reply(mid, Post(text="thanks, go on")).ids[0]
        mine = f"at://{emu.user('brand.test').did}/app.bsky.feed.post/{ours}"
        after_ours = emu.audience("eve").reply(mine, "you answered!")
        before = len(_thread_reads(emu))
        thread = client.replies(d)
    assert sorted(m.id for m in thread) == sorted(
        [*long_branch, side, *side_below, lone, after_ours]
    )
    by_id = {m.id: m for m in thread}
    assert by_id[after_ours].in_reply_to == ours
    assert by_id[side_below[-1]].in_reply_to == side_below[-2]
    anchors = [r["uri"] for r in _thread_reads(emu)[before:]]
    # Each answer stops 2 levels below where it was asked; `lone` and the deepest replies
    # of each branch have none, so nothing is read on from them.
    assert anchors[0] == top and len(anchors) == len(set(anchors))
    assert lone not in anchors and long_branch[-1] not in anchors
    assert side_below[-1] not in anchors and after_ours not in anchors


def test_the_reads_of_one_conversation_are_bounded(
    served: BlueskyEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    """An AppView that answers 1 level at a time and a chain 60 deep: 50 reads, the 50
    replies they hold, and a WARNING naming the reply below which nothing was read."""
    emu = served
    emu.max_thread_depth = 1
    account = emu.account(name="brand")
    with Client(retry=FAST, accounts=[account]) as client:
        (d,) = client.publish(Post(text="Tell us"), account)
        top = f"at://{emu.user('brand.test').did}/app.bsky.feed.post/{d.ids[0]}"
        uris = _chain(emu, top, 60)
        with caplog.at_level("WARNING", logger="brandkit.platforms.bluesky"):
            thread = client.replies(d)
    assert [m.id for m in thread] == uris[:50]
    assert len(_thread_reads(emu)) == 50
    (warning,) = [r.getMessage() for r in caplog.records if "deeper than" in r.getMessage()]
    assert uris[49] in warning and "under 1 of its replies" in warning


def test_a_reply_deleted_before_it_is_read_on_from_ends_its_branch(
    served: BlueskyEmulator,
) -> None:
    """The AppView's NotFound for a reply the conversation is read on from (deleted since
    the answer above it) ends that branch only: the replies read so far come."""
    emu = served
    account = emu.account(name="brand")
    with Client(retry=FAST, accounts=[account]) as client:
        (d,) = client.publish(Post(text="Tell us"), account)
        top = f"at://{emu.user('brand.test').did}/app.bsky.feed.post/{d.ids[0]}"
        uris = _chain(emu, top, 60)
        path = r"/xrpc/app\.bsky\.feed\.getPostThread"
        emu.fault(path=path)  # the first read is answered as it is
        gone = {"error": "NotFound", "message": f"Post not found: {uris[49]}"}
        emu.fault(path=path, status=400, body=gone)
        thread = client.replies(d)
    assert [m.id for m in thread] == uris[:50]
    assert [r["uri"] for r in _thread_reads(emu)] == [top, uris[49]]


def test_a_reply_whose_record_nests_deep_costs_no_other_reply(served: BlueskyEmulator) -> None:
    """A reply 48 levels down whose record nests 450 levels (another app's field, which
    the emulator stores and serves): every reply comes, that one too, in the reads a
    conversation without it takes."""
    emu = served
    account = emu.account(name="brand")
    with Client(retry=FAST, accounts=[account]) as client:
        (d,) = client.publish(Post(text="Tell us"), account)
        top = f"at://{emu.user('brand.test').did}/{POST}/{d.ids[0]}"
        uris = _chain(emu, top, 60)
        deep = write_deep_reply(emu, uris[46], 450)
        under = emu.audience("ann").reply(deep, "below the deep one")
        thread = client.replies(d)
    assert {m.id for m in thread} == {*uris, deep, under}
    assert [r["uri"] for r in _thread_reads(emu)] == [top, uris[49]]
    with httpx.Client(base_url=emu.base_url, timeout=60) as http:
        served_back = http.get(THREAD, params={"uri": deep, "depth": 0})
    node = _deep_loads(served_back.text)["thread"]["post"]["record"]["other"]
    assert sum(1 for n in _down_x(node) if n is not None) == 451


def test_a_reply_nesting_past_any_reader_is_read_with_its_deep_part_null(
    served: BlueskyEmulator,
) -> None:
    """A reply right under the post whose record nests 900 levels (no JSON reader goes
    that deep): every reply comes, that one too, its own fields read, and in its ``raw``
    what lies past 150 levels of the answer is null."""
    emu = served
    account = emu.account(name="brand")
    with Client(retry=FAST, accounts=[account]) as client:
        (d,) = client.publish(Post(text="Tell us"), account)
        top = f"at://{emu.user('brand.test').did}/{POST}/{d.ids[0]}"
        uris = _chain(emu, top, 30)
        deep = write_deep_reply(emu, top, 900)
        under = emu.audience("ann").reply(deep, "below the deep one")
        thread = {m.id: m for m in client.replies(d)}
    assert set(thread) == {*uris, deep, under}
    assert thread[deep].text == "deep" and thread[under].in_reply_to == deep
    kept = list(_down_x(thread[deep].raw["record"]["other"]))
    assert kept[-1] is None and 100 < len(kept) < 150
    assert len(_thread_reads(emu)) == 1


def _down_x(node: Any) -> Iterator[Any]:
    while isinstance(node, dict) and node:
        yield node
        node = node["x"]
    yield node
