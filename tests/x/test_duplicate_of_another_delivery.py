"""X's 403 "duplicate content" when the post it repeats is another delivery's.

X names no post; brandkit reads the timeline for the part's own post (made since the part
began, its answer lost). The same text posted again a minute later, as another delivery,
found the first delivery's post there and took it: the second delivery said "sent" with the
first's post, and deleting it deleted the first's.
"""

from __future__ import annotations

from pathlib import Path

from brandkit import Client, DeliveryStatus, Outbox, Post
from brandkit.errors import Rejected
from brandkit.testing.x import XEmulator
from tests.x.conftest import FAST


def test_a_repeat_of_another_deliverys_post_is_refused() -> None:
    emu = XEmulator()
    with emu.serve(), Client(retry=FAST) as client:
        acct = emu.account(name="brand")
        (first,) = client.publish(Post(text="We are live!"), acct)
        (second,) = client.publish(Post(text="We are live!"), acct)
    assert first.ok, first.error
    assert second.status is DeliveryStatus.FAILED
    assert isinstance(second.error, Rejected) and second.error.duplicate
    assert second.error.existing_id == first.ids[0]
    assert "another delivery" in str(second.error) and second.parts == []
    assert len(emu.posts) == 1


def test_across_processes_the_outbox_says_whose_post_it_is(tmp_path: Path) -> None:
    emu = XEmulator()
    with emu.serve(), Outbox(tmp_path / "outbox.db") as outbox:
        acct = emu.account(name="brand")
        with Client(retry=FAST, outbox=outbox) as one:
            (first,) = one.publish(Post(text="We are live!"), acct)
        with Client(retry=FAST, outbox=outbox) as other:
            (second,) = other.publish(Post(text="We are live!"), acct)
        assert first.ok, first.error
        assert isinstance(second.error, Rejected) and second.error.existing_id == first.ids[0]
        stored = outbox.get(second.id)
        assert stored is not None and stored.status is DeliveryStatus.FAILED
    assert len(emu.posts) == 1
