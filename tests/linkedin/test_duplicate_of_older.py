"""LinkedIn's 422 "Content is a duplicate of urn:li:share:…" names the live post with the same
content. It is this delivery's own post only if that post was made after the delivery's first
attempt began; an older one belongs to another delivery (or to someone's hand)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from brandkit import Client, DeliveryStatus, Post
from brandkit.errors import Rejected
from brandkit.testing.linkedin import LinkedInEmulator
from tests.linkedin.conftest import FAST


@pytest.fixture
def emu() -> Iterator[LinkedInEmulator]:
    """An emulator on 127.0.0.1."""
    emu = LinkedInEmulator()
    with emu.serve():
        yield emu


def test_a_duplicate_of_an_older_post_is_refused_not_taken(emu: LinkedInEmulator) -> None:
    """The same text went out an hour ago (another delivery): LinkedIn refuses the new one
    as a duplicate of that post. The new delivery fails with the duplicate named; it does
    not claim the older post, whose deletion through it would delete the other delivery's
    post."""
    account = emu.account()
    emu.clock.advance(-3600)  # the first post is made an hour ago
    with Client(retry=FAST) as client:
        (first,) = client.publish(Post(text="We are hiring"), account)
        emu.clock.advance(3600)
        (second,) = client.publish(Post(text="We are hiring"), account)
    assert first.status is DeliveryStatus.SENT
    older = first.parts[0].id
    assert second.status is DeliveryStatus.FAILED, second.parts
    assert second.parts == []
    assert isinstance(second.error, Rejected) and second.error.duplicate
    assert second.error.existing_id == older
    assert older in str(second.error)
    assert [p.urn for p in emu.posts] == [older]


def test_a_duplicate_of_this_deliverys_own_post_is_still_taken(emu: LinkedInEmulator) -> None:
    """The post an earlier attempt of this delivery made (its answer lost, and the read-back
    not possible) is named by the 422: it is taken, and nothing is posted twice."""
    account = emu.account()
    emu.fault(method="POST", path="/rest/posts", drop="after")
    # The read-back of the lost create finds nothing (as when its scope is missing).
    emu.fault(method="GET", path="/rest/posts", status=200, body={"elements": []}, times=5)
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="Launch day"), account)
    assert d.status is DeliveryStatus.SENT, d.error
    assert [p.id for p in d.parts] == [p.urn for p in emu.posts]
    assert d.parts[0].extra.get("from_duplicate") is True
