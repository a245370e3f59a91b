"""A LinkedIn part keeps its uploaded media for another attempt of its create, and only for
that: once LinkedIn refuses the post for good, a long-running client (an outbox worker) no
longer holds the media, nor their bytes."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from brandkit import Client, DeliveryStatus, Media, Post, Rejected
from brandkit.testing import png
from brandkit.testing.linkedin import LinkedInEmulator
from tests.linkedin.conftest import FAST

REFUSED = {"status": 422, "code": "INVALID_VALUE_FOR_FIELD", "message": "ERROR :: /x :: bad"}


@pytest.fixture
def emu() -> Iterator[LinkedInEmulator]:
    """An emulator on 127.0.0.1."""
    emu = LinkedInEmulator()
    with emu.serve():
        yield emu


def _refused_post(client: Client, emu: LinkedInEmulator) -> weakref.ref[Media]:
    media = Media.from_bytes(png(32, 32), alt="a chart")
    emu.fault(method="POST", path="/rest/posts", status=422, body=REFUSED)
    (delivery,) = client.publish(Post(text="refused", media=(media,)), [emu.account()])
    assert delivery.status is DeliveryStatus.FAILED
    assert isinstance(delivery.error, Rejected), delivery.error
    return weakref.ref(media)


def test_a_refused_posts_media_are_let_go(emu: LinkedInEmulator) -> None:
    """After the refusal, nothing of the client holds the media."""
    with Client(retry=FAST) as client:
        media = _refused_post(client, emu)
        gc.collect()
        assert media() is None


def test_a_retried_create_still_reuses_its_uploads(emu: LinkedInEmulator) -> None:
    """A 500 on the create: the retry sends the post with the images uploaded the first
    time, not new ones."""
    emu.fault(method="POST", path="/rest/posts", status=500)
    with Client(retry=FAST) as client:
        (delivery,) = client.publish(
            Post(text="retried", media=(Media.from_bytes(png(8, 8)),)), [emu.account()]
        )
    assert delivery.status is DeliveryStatus.SENT, delivery.error
    assert emu.count("POST", r"/rest/images") == 1
