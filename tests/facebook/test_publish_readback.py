"""What happens after Facebook answered a create with the new post's id: the post exists,
whatever the read of its permalink says next (as on Instagram and Threads,
tests/instagram/test_publish_readback.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from brandkit import (
    Account,
    AsyncClient,
    Client,
    Delivery,
    DeliveryStatus,
    Media,
    Outbox,
    Post,
)
from brandkit.testing import png
from brandkit.testing.facebook import FacebookEmulator

from .conftest import FAST

VIDEO = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 100

NOT_READABLE = {
    "error": {
        "message": "Unsupported get request. Object with ID does not exist, cannot be "
        "loaded due to missing permissions, or does not support this operation",
        "type": "GraphMethodException",
        "code": 100,
        "error_subcode": 33,
        "fbtrace_id": "A1b2C3",
    }
}


@pytest.fixture
def emu() -> Iterator[FacebookEmulator]:
    emu = FacebookEmulator(video_processing=0.0)
    with emu.serve():
        yield emu


POSTS = {
    "text": Post(text="hello"),
    "photo": Post(text="a photo", media=(Media.from_bytes(png(), alt="a square"),)),
    "album": Post(
        text="an album",
        media=(Media.from_bytes(png(), alt="one"), Media.from_bytes(png(9, 7), alt="two")),
    ),
    "video": Post(text="a video", media=(Media.from_bytes(VIDEO, filename="clip.mp4"),)),
}


@pytest.mark.parametrize("kind", list(POSTS))
@pytest.mark.parametrize(
    ("status", "body"),
    [
        pytest.param(400, NOT_READABLE, id="not-readable-yet"),
        pytest.param(403, {"error": {"message": "(#10) denied", "code": 10}}, id="no-permission"),
    ],
)
def test_a_refused_permalink_read_after_creating_keeps_the_post(
    emu: FacebookEmulator, kind: str, status: int, body: object
) -> None:
    """Meta answered the create with the post's id, then refused every read of the post's
    permalink: the post is live, so the delivery is sent with that id (no URL), not
    failed with no id (a retry would post it again)."""
    account: Account = emu.account()
    emu.fault(method="GET", path=r"/v\d+\.\d+/\d+_\d+", status=status, body=body, times=50)
    with Client(retry=FAST) as client:
        (d,) = client.publish(POSTS[kind], account)
    assert d.status is DeliveryStatus.SENT, d.error
    (published,) = emu.posts
    assert d.ids == [published["id"]] and d.url is None
    with Client(retry=FAST) as client:
        client.publish(POSTS[kind], account)  # another delivery: a second post, as asked
    assert len(emu.posts) == 2


def test_a_lookup_after_a_5xx_finds_this_post_not_an_older_twin(emu: FacebookEmulator) -> None:
    """Two photos without a caption, the second one's create answered 500 code 2 although
    Meta made it: the lookup reads the Page's posts since a little before the attempt
    (for clock skew) and both match on the (empty) message. The delivery is this post,
    made since its attempt began, not the older one: reporting that one would leave this
    post live under no delivery, and deleting the delivery would delete the other."""
    account: Account = emu.account()
    emu.clock.advance(-120)  # the first photo went out two minutes ago
    with Client(retry=FAST) as client:
        (first,) = client.publish(Post(text="", media=(Media.from_bytes(png()),)), account)
    emu.clock.advance(120)
    emu.fail_after_store("POST", r"/v\d+\.\d+/\d+/photos")
    with Client(retry=FAST) as client:
        (second,) = client.publish(Post(text="", media=(Media.from_bytes(png(9, 7)),)), account)
    assert second.status is DeliveryStatus.SENT, second.error
    older, newer = emu.posts
    assert first.ids == [older["id"]]
    assert second.ids == [newer["id"]]


UNKNOWN_ERROR = {
    "error": {
        "message": "An unknown error has occurred.",
        "type": "OAuthException",
        "code": 2,
        "fbtrace_id": "A1b2C3",
    }
}


def _second_photo_refused_unstored(emu: FacebookEmulator) -> None:
    """The next photo's create answers Meta's 500 code 2 without Meta having made it."""
    emu.fault(method="POST", path=r"/v\d+\.\d+/\d+/photos", status=500, body=UNKNOWN_ERROR)


@pytest.mark.parametrize("where", ["one client", "outbox", "async outbox"])
def test_a_lookup_never_takes_a_twin_another_delivery_recorded(
    emu: FacebookEmulator, tmp_path: Path, where: str
) -> None:
    """Two photos without a caption seconds apart (a gallery posted one by one): the
    second one's create answered 500 code 2 and Meta had not made it. The lookup reads the
    Page's posts and both photos match its empty text; the first one, made seconds before
    the second's key, was taken for it (within the minute allowed for clock skew), so the
    second photo was never posted and its delivery named the first. A post that another
    delivery recorded (in this client, or in the outbox for another process) is never
    taken: the second photo is posted."""
    account: Account = emu.account()
    first_post = Post(text="", media=(Media.from_bytes(png(), alt="one"),))
    second_post = Post(text="", media=(Media.from_bytes(png(9, 7), alt="two"),))
    if where == "one client":
        with Client(retry=FAST) as client:
            (first,) = client.publish(first_post, account)
            _second_photo_refused_unstored(emu)
            (second,) = client.publish(second_post, account)
    elif where == "outbox":
        with Outbox(tmp_path / "outbox.db") as outbox:
            with Client(retry=FAST, outbox=outbox) as client:
                (first,) = client.publish(first_post, account)
            _second_photo_refused_unstored(emu)
            with Client(retry=FAST, outbox=outbox) as client:  # another process's
                (second,) = client.publish(second_post, account)
    else:

        async def publish(post: Post, outbox: Outbox) -> Delivery:
            async with AsyncClient(retry=FAST, outbox=outbox) as client:
                (delivery,) = await client.publish(post, account)
            return delivery

        with Outbox(tmp_path / "outbox.db") as outbox:
            first = asyncio.run(publish(first_post, outbox))
            _second_photo_refused_unstored(emu)
            second = asyncio.run(publish(second_post, outbox))
    assert first.status is DeliveryStatus.SENT and second.status is DeliveryStatus.SENT
    assert len(emu.posts) == 2
    older, newer = emu.posts
    assert first.ids == [older["id"]]
    assert second.ids == [newer["id"]]
