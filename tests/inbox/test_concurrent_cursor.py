"""Two syncs of one account at once (a cron run overlapping the last one, or two workers on
one file): each saved the cursor after its own pages, whatever the other had saved since.
The slower one put back an older cursor over a newer one, and the next sync read again
(on X, paid again) what was stored already. A page's cursor is now saved only over the
cursor it was read from; otherwise the sync goes on from the other's."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from brandkit import Client, Inbox, Post, RetryPolicy
from brandkit.testing.mastodon import MastodonEmulator
from tests.servers._servers import postgres_db, postgres_url  # noqa: F401 - fixtures

FAST = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=5, attempts=1)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_slower_sync_does_not_put_back_an_older_cursor(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    emu = MastodonEmulator()
    path = str(tmp_path / "inbox.db")
    if backend == "postgresql":
        path = request.getfixturevalue("postgres_db")
    with emu.serve():
        brand = emu.account(name="brand")
        with Client(retry=FAST) as plain:
            (post,) = plain.publish(Post(text="Our autumn collection is out"), brand)
        emu.audience("ana").reply(post.ids[0], "Do you ship to Norway?")
        overlapped: list[int] = []

        def other_syncs(response: httpx.Response) -> None:
            # The first read of this sync has its answer; before it is stored, the other
            # process syncs, a new message comes and the other process syncs it too.
            if overlapped or "/notifications" not in response.url.path:
                return
            with Inbox(path) as other, Client(retry=FAST) as c:
                overlapped.append(other.sync(c, [brand]).added)
                emu.audience("ben").reply(post.ids[0], "And to Iceland?")
                overlapped.append(other.sync(c, [brand]).added)

        hooks = {"response": [other_syncs]}
        with Inbox(path) as inbox:
            with (
                httpx.Client(event_hooks=hooks) as http,
                Client(http=http, retry=FAST) as slow,
            ):
                first = inbox.sync(slow, [brand])
            assert overlapped == [1, 1]
            assert first.errors == {} and first.added == 0
            assert len(inbox.messages()) == 2
            with Client(retry=FAST) as c:
                again = inbox.sync(c, [brand])
    assert again.errors == {}
    # Nothing read twice: the cursor is the newer one, after both messages.
    assert again.accounts[0].read == 0
