"""What happens after media_publish said yes: the post exists, whatever comes next (as on
Threads, tests/threads/test_publish_readback.py)."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from brandkit import Account, Client, DeliveryStatus
from brandkit.testing.instagram import InstagramEmulator
from tests.facebook.conftest import FAST

from .conftest import post

NOT_READABLE = {
    "error": {
        "message": "Unsupported get request. Object with ID does not exist, cannot be "
        "loaded due to missing permissions, or does not support this operation",
        "type": "OAuthException",
        "code": 100,
        "error_subcode": 33,
        "fbtrace_id": "A1b2C3",
    }
}


@pytest.fixture
def account(emu: InstagramEmulator) -> Account:
    return emu.account(username="brand")


@pytest.mark.parametrize(
    ("status", "body"),
    [
        pytest.param(400, NOT_READABLE, id="not-readable-yet"),
        pytest.param(503, {"error": {"message": "busy", "type": "OAuthException", "code": 2}}),
    ],
)
def test_a_refused_permalink_read_after_publishing_keeps_the_post(
    emu: InstagramEmulator, account: Account, status: int, body: object
) -> None:
    """media_publish answered the new post's id, then every read of its permalink was
    refused: the post is live, so the delivery is sent with that id (no URL), not failed
    with no id (which a retry in a new process could publish again)."""
    original = emu.handle

    def handle(request: httpx.Request) -> httpx.Response:
        response = original(request)
        if request.url.path.endswith("/media_publish") and response.status_code == 200:
            media = json.loads(response.content)["id"]
            emu.fault(method="GET", path=rf"/v\d+\.\d+/{re.escape(media)}", status=status,
                      body=body, times=50)  # fmt: skip
        return response

    emu.handle = handle  # type: ignore[method-assign]
    with Client(retry=FAST) as client:
        (d,) = client.publish(post("hello"), account)
    assert d.status is DeliveryStatus.SENT, d.error
    (published,) = emu.posts
    assert d.ids == [published["id"]] and d.url is None


def test_a_lookup_after_a_5xx_finds_this_post_not_an_older_twin(
    emu: InstagramEmulator, account: Account
) -> None:
    """Two images without a caption, the second one's media_publish answered 500 code 2
    although Meta published it: its container says PUBLISHED and the read-back of /media
    (since a little before the attempt, for clock skew) matches both on the empty
    caption. The delivery is this post, made since its attempt began, not the older one
    (whose id would leave this post live under no delivery, and make deleting the
    delivery delete the other)."""
    emu.clock.advance(-120)  # the first image went out two minutes ago
    with Client(retry=FAST) as client:
        (first,) = client.publish(post(""), account)
    emu.clock.advance(120)
    emu.fail_after_store("POST", r"/v\d+\.\d+/\d+/media_publish")
    with Client(retry=FAST) as client:
        (second,) = client.publish(post(""), account)
    assert second.status is DeliveryStatus.SENT, second.error
    older, newer = sorted(emu.posts, key=lambda p: p["timestamp"])
    assert first.ids == [older["id"]]
    assert second.ids == [newer["id"]]
