"""A mention's handle is resolved again after a while: a long-lived client (an outbox worker)
must not keep a handle it could not resolve as plain text for good, nor a handle's DID after
the handle may have moved to another account."""

from __future__ import annotations

import time

import pytest

from brandkit import Client, Post
from brandkit.platforms.bluesky import BlueskyAdapter
from brandkit.testing.bluesky import BlueskyEmulator
from tests.bluesky._support import FAST

MENTION = "app.bsky.richtext.facet#mention"


def _mentions(emu: BlueskyEmulator) -> list[list[str]]:
    return [
        [
            f["features"][0]["did"]
            for f in post.value.get("facets", [])
            if f["features"][0]["$type"] == MENTION
        ]
        for post in emu.posts()
    ]


def test_a_handle_that_did_not_resolve_is_asked_again_later(
    served: BlueskyEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One client: the first post names a handle nobody has yet (plain text); a post soon
    after asks no more; once the handle exists and ten minutes have passed, the mention
    links it."""
    account = served.account()
    with Client(retry=FAST) as client:
        assert client.publish(Post(text="Welcome @carol.test"), account)[0].ok
        assert client.publish(Post(text="Hello again @carol.test"), account)[0].ok
        carol = served.add_user("carol.test")
        assert client.publish(Post(text="Still plain @carol.test"), account)[0].ok
        asked = served.count("GET", r".*resolveHandle")
        later = time.time() + 601
        monkeypatch.setattr(BlueskyAdapter, "_now", lambda self: later)
        assert client.publish(Post(text="Now linked @carol.test"), account)[0].ok
    assert asked == 1
    assert _mentions(served) == [[], [], [], [carol.did]]
