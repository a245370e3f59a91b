"""A create whose answer was lost, and whose status was deleted before the repeat arrived.

The repeat carries the same ``Idempotency-Key``; Mastodon finds the key's status gone and
answers 404 "Record not found". brandkit said "the status answered was deleted ... there is
nothing to answer" about a post that answers nobody. It now says what happened: the part was
posted and has since been deleted, and it is not posted again.
"""

from __future__ import annotations

import threading
import time

from brandkit import Client, DeliveryStatus, Post
from brandkit.errors import Rejected
from brandkit.testing.mastodon import MastodonEmulator
from tests.mastodon.conftest import FAST


def _delete_once_posted(emu: MastodonEmulator, done: threading.Event) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not done.is_set():
        posts = emu.posts
        if posts:
            emu.delete(posts[0]["id"])
            return
        time.sleep(0.005)


def test_the_repeat_of_a_deleted_status_says_it_was_posted_and_deleted() -> None:
    emu = MastodonEmulator()
    done = threading.Event()
    with emu.serve(), Client(retry=FAST) as client:
        acct = emu.account()
        # The status is stored and the answer lost; the repeat waits while it is deleted.
        emu.fault(method="POST", path="/api/v1/statuses", drop="after")
        emu.fault(method="POST", path="/api/v1/statuses", delay=0.5)
        killer = threading.Thread(target=_delete_once_posted, args=(emu, done))
        killer.start()
        try:
            (d,) = client.publish(Post(text="We are live"), acct)
        finally:
            done.set()
            killer.join()
    assert d.status is DeliveryStatus.FAILED
    assert isinstance(d.error, Rejected) and d.error.status_code == 404
    message = str(d.error)
    assert "nothing to answer" not in message
    assert "already posted" in message and "deleted" in message
    assert emu.post_texts() == []
    assert emu.count("POST", "/api/v1/statuses") == 2
