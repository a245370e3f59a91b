"""LinkedIn's 422 "duplicate of urn:li:share:…" naming another delivery's post.

LinkedIn refuses a post whose content repeats a recent one and names that post. brandkit takes
the named post as the part's own when an earlier attempt of the part may have made it (its
answer lost). When another delivery of the account recorded that post (the same text posted
twice within minutes, by a script run again), it is not this delivery's: taken, the second
delivery said "sent" with the first's post, and deleting it deleted the first's.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from brandkit import Account, Client, DeliveryStatus, Outbox, Post
from brandkit.errors import Rejected
from brandkit.testing.linkedin import LinkedInEmulator
from tests.linkedin.conftest import FAST


@pytest.fixture
def emu() -> Iterator[LinkedInEmulator]:
    emu = LinkedInEmulator()
    with emu.serve():
        yield emu


@pytest.fixture
def account(emu: LinkedInEmulator) -> Account:
    return emu.account()


def test_a_repeat_of_another_deliverys_post_is_refused(
    emu: LinkedInEmulator, account: Account
) -> None:
    with Client(retry=FAST) as client:
        (first,) = client.publish(Post(text="Our launch is today"), account)
        (second,) = client.publish(Post(text="Our launch is today"), account)
    assert first.ok, first.error
    assert second.status is DeliveryStatus.FAILED
    assert isinstance(second.error, Rejected) and second.error.duplicate
    assert second.error.existing_id == first.ids[0]
    assert "another delivery" in str(second.error)
    assert second.ids == []
    assert len(emu.posts) == 1


def test_across_processes_the_outbox_says_whose_post_it_is(
    emu: LinkedInEmulator, account: Account, tmp_path: Path
) -> None:
    """Another process's client (its own memory empty) reads the other delivery's post
    from the outbox."""
    with Outbox(tmp_path / "outbox.db") as outbox:
        with Client(retry=FAST, outbox=outbox) as one:
            (first,) = one.publish(Post(text="Our launch is today"), account)
        with Client(retry=FAST, outbox=outbox) as other:
            (second,) = other.publish(Post(text="Our launch is today"), account)
        assert first.ok, first.error
        assert second.status is DeliveryStatus.FAILED
        assert isinstance(second.error, Rejected) and second.error.existing_id == first.ids[0]
        stored = outbox.get(second.id)
        assert stored is not None and stored.status is DeliveryStatus.FAILED
    assert len(emu.posts) == 1


def test_a_lost_answer_of_its_own_create_is_still_taken(
    emu: LinkedInEmulator, account: Account
) -> None:
    """The duplicate answer after this delivery's own create was lost is its own post:
    one post, and the delivery has it."""
    emu.fault(method="POST", path=r"/rest/posts", drop="after")
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="Our launch is today"), account)
    assert d.ok, d.error
    assert len(emu.posts) == 1 and d.ids == [emu.posts[0].urn]
