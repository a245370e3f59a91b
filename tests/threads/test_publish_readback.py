"""What happens after threads_publish said yes: the post exists, whatever comes next."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from brandkit import Account, Client, DeliveryStatus, Post
from brandkit.testing.threads import ThreadsEmulator
from tests.facebook.conftest import FAST

UNSUPPORTED = {
    "error": {
        "message": "Unsupported get request. Object with ID does not exist, cannot be "
        "loaded due to missing permissions, or does not support this operation",
        "type": "THApiException",
        "code": 100,
        "error_subcode": 33,
        "fbtrace_id": "A1b2C3",
    }
}


@pytest.fixture
def emu() -> Iterator[ThreadsEmulator]:
    """A Threads emulator served on 127.0.0.1."""
    emu = ThreadsEmulator()
    with emu.serve():
        yield emu


@pytest.fixture
def account(emu: ThreadsEmulator) -> Account:
    """An account on the served emulator."""
    return emu.account(username="brand")


def _refuse_the_read_of_each_new_post(emu: ThreadsEmulator, status: int, body: object) -> None:
    """Once threads_publish answered, the next read of that post's node is refused."""
    original = emu.handle

    def handle(request: httpx.Request) -> httpx.Response:
        response = original(request)
        if request.url.path.endswith("/threads_publish") and response.status_code == 200:
            post = json.loads(response.content)["id"]
            emu.fault(method="GET", path=rf"/v1\.0/{post}", status=status, body=body)
        return response

    emu.handle = handle  # type: ignore[method-assign]


@pytest.mark.parametrize(
    ("status", "body"),
    [
        pytest.param(400, UNSUPPORTED, id="not-readable-yet"),
        pytest.param(403, {"error": {"message": "denied", "type": "OAuthException", "code": 10}}),
    ],
)
def test_a_refused_permalink_read_after_publishing_keeps_the_post(
    emu: ThreadsEmulator, account: Account, status: int, body: object
) -> None:
    """threads_publish answered the new post's id, then the read of its permalink was
    refused: the post is live, so the delivery is sent with that id (no permalink), not
    failed as if nothing had been published."""
    _refuse_the_read_of_each_new_post(emu, status, body)
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="hello"), account)
    assert emu.post_texts() == ["hello"]
    assert d.status is DeliveryStatus.SENT, d.error
    assert [p.id for p in d.parts] == [p["id"] for p in emu.posts]


def test_a_thread_goes_on_after_a_refused_permalink_read(
    emu: ThreadsEmulator, account: Account
) -> None:
    """Each part's permalink read is refused: every part is published once, in a chain."""
    _refuse_the_read_of_each_new_post(emu, 400, UNSUPPORTED)
    text = " ".join(f"word{i}" for i in range(150))
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text=text), account)
    assert d.status is DeliveryStatus.SENT, d.error
    assert " ".join(emu.post_texts()).split() == text.split()
    assert [p.id for p in d.parts] == [p["id"] for p in emu.posts]
    assert len(d.parts) >= 2


def test_a_lookup_after_a_5xx_finds_this_post_not_an_older_twin(
    emu: ThreadsEmulator, account: Account
) -> None:
    """Two posts with the same text, the second one's threads_publish answered 500 code 2
    although Meta published it: its container says PUBLISHED and the read-back of
    /threads (since a little before the attempt, for clock skew) matches both. The
    delivery is this post, made since its attempt began, not the older one (whose id
    would leave this post live under no delivery, and make deleting the delivery delete
    the other)."""
    emu.clock.advance(-120)  # the first one went out two minutes ago
    with Client(retry=FAST) as client:
        (first,) = client.publish(Post(text="We are live"), account)
    emu.clock.advance(120)
    emu.fail_after_store("POST", r"/v\d+\.\d+/\d+/threads_publish")
    with Client(retry=FAST) as client:
        (second,) = client.publish(Post(text="We are live"), account)
    assert second.status is DeliveryStatus.SENT, second.error
    older, newer = sorted(emu.posts, key=lambda p: p["timestamp"])
    assert first.ids == [older["id"]]
    assert second.ids == [newer["id"]]
