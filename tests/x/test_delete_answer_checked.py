"""X's answer to ``DELETE /2/tweets/:id`` is read before the post counts as deleted.

Any 200 was taken as done: an answer without ``data.deleted`` (a proxy's page, a garbled
body) marked the delivery ``deleted`` while the post stayed up on X.
"""

from __future__ import annotations

import pytest

from brandkit import Client, DeliveryStatus, Post
from brandkit.errors import MalformedResponse
from brandkit.testing.x import XEmulator
from tests.x.conftest import FAST


def test_a_delete_answer_without_data_deleted_is_not_taken_as_done() -> None:
    emu = XEmulator()
    with emu.serve(), Client(retry=FAST) as client:
        acct = emu.account(name="brand")
        (d,) = client.publish(Post(text="hello"), acct)
        emu.fault(method="DELETE", path=r"/2/tweets/\d+", status=200, body={"title": "Portal"})
        with pytest.raises(MalformedResponse):
            client.delete(d, acct)
        assert d.status is DeliveryStatus.SENT
        assert emu.post_texts() == ["hello"]
        deleted = client.delete(d, acct)
    assert deleted.status is DeliveryStatus.DELETED
    assert emu.post_texts() == []


def test_a_post_already_gone_counts_as_deleted() -> None:
    emu = XEmulator()
    with emu.serve(), Client(retry=FAST) as client:
        acct = emu.account(name="brand")
        (d,) = client.publish(Post(text="hello"), acct)
        assert client.delete(d, acct).status is DeliveryStatus.DELETED
        d.status = DeliveryStatus.SENT
        assert client.delete(d, acct).status is DeliveryStatus.DELETED
