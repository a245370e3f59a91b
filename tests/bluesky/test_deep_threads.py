"""Threads deeper than a JSON reader's nesting limit: the emulator's getPostThread answers
them whole, over a socket, as the AppView does (up to the lexicon's depth of 1000)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from brandkit.testing.bluesky import BlueskyEmulator

THREAD = "/xrpc/app.bsky.feed.getPostThread"


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
