"""X search: a cursor names its query and account (another's is refused before any
request), and a search never reads (X never bills) more than its limit."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from brandkit import Client, Query
from brandkit._flow import run_flow
from brandkit.errors import ConfigurationError
from brandkit.testing.x import XEmulator
from tests.x.conftest import FAST, Script, adapter, snowflake

SEARCH = r"/2/tweets/search/recent"
EMPTY = {"meta": {"result_count": 0}}
NOW = time.time()


def search(script: Script, query: Query, cursor: str | None = None, **kw: object) -> object:
    x = adapter(**kw)  # type: ignore[arg-type]
    return run_flow(x.search(query, cursor, limit=100), script)


def test_a_cursor_names_its_query_and_another_querys_is_refused() -> None:
    script = Script().on("GET", SEARCH, (200, EMPTY))
    page = search(script, Query(any=["acme"]))
    cursor = page.cursor  # type: ignore[attr-defined]
    assert len(json.loads(cursor)["q"]) == 16
    search(script, Query(any=["acme"]), cursor)  # its own query goes on from it
    sent = len(script.requests)
    for other in (
        Query(any=["trailco"]),
        Query(any=["acme"], exclude=["job"]),
        Query(any=["acme"], since=datetime.fromtimestamp(NOW, UTC) - timedelta(days=2)),
    ):
        with pytest.raises(ConfigurationError, match="another query") as caught:
            search(script, other, cursor)
        assert "since=None" in str(caught.value)
    assert len(script.requests) == sent  # refused before any request


def test_another_accounts_cursor_is_refused() -> None:
    script = Script().on("GET", SEARCH, (200, EMPTY))
    mine = search(script, Query(any=["acme"])).cursor  # type: ignore[attr-defined]
    with pytest.raises(ConfigurationError, match="another account"):
        search(script, Query(any=["acme"]), mine, name="other")


def test_a_cursor_written_before_cursors_named_their_query_is_still_read() -> None:
    since = snowflake(NOW - 3600)
    script = Script().on("GET", SEARCH, (200, EMPTY))
    old = json.dumps({"v": 1, "search": True, "since": since})
    page = search(script, Query(any=["acme"]), old)
    assert dict(script.requests[-1].url.params)["since_id"] == since
    assert "q" in json.loads(page.cursor)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("limit", "billed"), [(10, 10), (25, 25), (105, 100), (215, 215), (205, 200)]
)
def test_x_bills_no_more_than_the_limit(limit: int, billed: int) -> None:
    """X's pages hold 10 to 100 posts: each asks for what is left, and the search stops
    (more, with a cursor that goes on) once fewer than 10 are left."""
    emu = XEmulator()
    brand = emu.account(name="brand", known_user=True)
    for i in range(300):
        emu.audience(f"fan{i % 7}").post(f"brandkit {i}", lang="en")
    sizes: list[str] = []
    inner = emu.transport()

    def record(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/search/recent"):
            sizes.append(request.url.params["max_results"])
        return inner.handle_request(request)

    with Client(http=httpx.Client(transport=httpx.MockTransport(record)), retry=FAST) as c:
        page = c.search(brand, Query(any=["brandkit"]), limit=limit)
        assert emu.posts_read == page.read == billed <= limit
        assert page.more
        assert all(10 <= int(s) <= 100 for s in sizes)
        rest = c.search(brand, Query(any=["brandkit"]), since=page.cursor, limit=1000)
    ids = {m.id for m in page.messages} | {m.id for m in rest.messages}
    assert len(ids) == 300 == page.read + rest.read
