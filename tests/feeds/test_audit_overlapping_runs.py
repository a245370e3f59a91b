"""Two runs of watch() on one state file at once (two cron jobs overlapping)."""

from __future__ import annotations

import threading
from pathlib import Path

from brandkit.feeds import FeedState, watch
from brandkit.feeds._state import Pending
from tests.feeds.conftest import FeedServer
from tests.feeds.documents import item, rss


class _Overlapping(FeedState):
    """A state whose readers of pending entries wait for each other: both runs have read
    the entries before either marks them, as two processes started together do."""

    barrier = threading.Barrier(2, timeout=10)

    def pending(self, feed: str, limit: int) -> list[Pending]:
        found = super().pending(feed, limit)
        self.barrier.wait()
        return found


def test_overlapping_watch_runs_return_each_entry_once(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    """Each entry goes to one of the two runs only: watch() is at-most-once, so an entry
    both read is returned by the run that marked it, not posted twice."""
    feed_server.feed("/feed.xml", rss(item(2, day=3), item(1, day=2)))
    path = str(tmp_path / "brandkit.db")
    url = f"{feed_server.url}/feed.xml"
    got: list[list[str]] = [[], []]
    errors: list[BaseException] = []

    def run(n: int) -> None:
        try:
            with _Overlapping(path) as state:
                got[n] = [i.entry.key for i in watch(url, state=state, images=False)]
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert sorted(got[0] + got[1]) == ["https://acme.example/?p=1", "https://acme.example/?p=2"]
