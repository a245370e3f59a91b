"""Mastodon's answer to ``DELETE /api/v1/statuses/:id`` is read before the status counts as
deleted: it is the deleted status. Any 200 was taken as done, so a proxy's page or a
garbled body marked the delivery ``deleted`` while the status stayed up.
"""

from __future__ import annotations

import pytest

from brandkit import Client, DeliveryStatus, Post
from brandkit.errors import MalformedResponse
from brandkit.testing.mastodon import MastodonEmulator
from tests.mastodon.conftest import FAST


def test_a_delete_answer_that_is_no_status_is_not_taken_as_done() -> None:
    emu = MastodonEmulator()
    with emu.serve(), Client(retry=FAST) as client:
        acct = emu.account()
        (d,) = client.publish(Post(text="hello"), acct)
        path = r"/api/v1/statuses/\d+"
        emu.fault(method="DELETE", path=path, status=200, body={"title": "Portal"})
        with pytest.raises(MalformedResponse):
            client.delete(d, acct)
        assert d.status is DeliveryStatus.SENT and emu.post_texts() == ["hello"]
        other = {"id": "1", "content": "<p>another</p>"}
        emu.fault(method="DELETE", path=path, status=200, body=other)
        with pytest.raises(MalformedResponse):
            client.delete(d, acct)
        assert emu.post_texts() == ["hello"]
        deleted = client.delete(d, acct)
    assert deleted.status is DeliveryStatus.DELETED
    assert emu.post_texts() == []


def test_an_empty_object_from_an_old_server_counts_as_deleted() -> None:
    """Mastodon before 2.9 (and older Pleroma) answered a deletion with ``{}``."""
    emu = MastodonEmulator()
    with emu.serve(), Client(retry=FAST) as client:
        acct = emu.account()
        (d,) = client.publish(Post(text="hello"), acct)
        emu.fault(method="DELETE", path=r"/api/v1/statuses/\d+", status=200, body={})
        assert client.delete(d, acct).status is DeliveryStatus.DELETED
