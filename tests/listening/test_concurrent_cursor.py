"""Two syncs of one saved query at once (a cron run overlapping the last one, another
machine on the same database): each saved its search's cursor whatever the other had saved
since. The slower one put back an older cursor, and the next run searched again (on X,
billed again, out of the day's budget) what was stored already. A search's cursor is now
saved only over the cursor it searched from."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from brandkit import Client, Query, RetryPolicy
from brandkit.listening import Listener
from brandkit.testing.x import XEmulator
from tests.servers._servers import postgres_db, postgres_url  # noqa: F401 - fixtures

FAST = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=5, attempts=1)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_slower_run_does_not_put_back_an_older_cursor(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    emu = XEmulator()
    path = str(tmp_path / "listening.db")
    if backend == "postgresql":
        path = request.getfixturevalue("postgres_db")
    with emu.serve():
        brand = emu.account(name="brand", known_user=True)
        for i in range(3):
            emu.audience(f"walker{i}").post(f"acme boots {i}", lang="en")
        overlapped: list[int] = []

        def other_runs(response: httpx.Response) -> None:
            # This run's search has its answer; before it is stored, the other process
            # runs the query, a new post comes and the other process finds it too.
            if overlapped or not response.url.path.endswith("/search/recent"):
                return
            with Listener(path) as other, Client(retry=FAST) as c:
                overlapped.extend(r.found for r in other.sync(c, [brand], force=True))
                emu.audience("walker9").post("acme boots again", lang="en")
                overlapped.extend(r.found for r in other.sync(c, [brand], force=True))

        with Listener(path) as listener:
            listener.watch("acme", Query(any=["acme"]), accounts=[brand])
            with (
                httpx.Client(event_hooks={"response": [other_runs]}) as http,
                Client(http=http, retry=FAST) as slow,
            ):
                (first,) = listener.sync(slow, force=True)
            assert overlapped == [3, 1]
            assert first.error is None and first.found == 0
            assert listener.count("acme") == 4
            billed = emu.posts_read
            with Client(retry=FAST) as c:
                (again,) = listener.sync(c, force=True)
    assert again.error is None
    # Nothing searched (and billed) twice: the cursor is the newer one.
    assert again.read == 0 and emu.posts_read == billed


def test_a_run_of_a_query_replaced_meanwhile_leaves_the_new_query_its_start(
    tmp_path: Path,
) -> None:
    """`watch` with another definition forgets the query's cursors, so that the new one
    searches from the start; a run of the old definition still on its way then saved its
    cursor, which X's adapter refuses for the new query: every later run failed."""
    emu = XEmulator()
    path = str(tmp_path / "listening.db")
    with emu.serve():
        brand = emu.account(name="brand", known_user=True)
        emu.audience("walker").post("acme boots", lang="en")
        emu.audience("hiker").post("trailco jackets", lang="en")
        replaced: list[bool] = []

        def replace(response: httpx.Response) -> None:
            if replaced or not response.url.path.endswith("/search/recent"):
                return
            with Listener(path) as other:
                other.watch("brand", Query(any=["trailco"]), accounts=[brand])
            replaced.append(True)

        with Listener(path) as listener:
            listener.watch("brand", Query(any=["acme"]), accounts=[brand])
            with (
                httpx.Client(event_hooks={"response": [replace]}) as http,
                Client(http=http, retry=FAST) as slow,
            ):
                (old,) = listener.sync(slow, force=True)
            assert replaced and old.error is None
            with Client(retry=FAST) as c:
                (new,) = listener.sync(c, force=True)
            assert new.error is None
            assert [m.text for m in listener.messages("brand")] == [
                "acme boots",
                "trailco jackets",
            ]
