"""A pytest plugin that runs the governor suites on a server store (``-p tests.servers._govstore``).

Every ``Governor()`` created without a store gets, instead of a fresh `MemoryState`, a fresh
`RedisState` or `PostgresState` (a prefix of its own, so governors stay as independent as
their memory states were). The store and its URL come from the environment:
``BRANDKIT_TEST_GOVSTORE`` (``redis`` or ``postgres``) and ``BRANDKIT_TEST_GOVSTORE_URL``;\nthe number of stores made is written to ``BRANDKIT_TEST_GOVSTORE_COUNT`` at the end.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator

import pytest

from brandkit.governor import _governor
from brandkit.governor._pgstate import PostgresState
from brandkit.governor._redis import RedisState

_count = itertools.count()
_opened: list[RedisState | PostgresState] = []


def _store() -> RedisState | PostgresState:
    kind = os.environ["BRANDKIT_TEST_GOVSTORE"]
    url = os.environ["BRANDKIT_TEST_GOVSTORE_URL"]
    prefix = f"g{os.getpid()}_{next(_count)}_"
    store: RedisState | PostgresState = (
        RedisState(url, prefix=prefix) if kind == "redis" else PostgresState(url, prefix=prefix)
    )
    _opened.append(store)
    return store


@pytest.fixture(autouse=True)
def _server_store(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(_governor, "MemoryState", _store)
    yield
    while _opened:
        _opened.pop().close()


def pytest_sessionfinish() -> None:
    # Proof for the calling test that the server stores were really used.
    out = os.environ.get("BRANDKIT_TEST_GOVSTORE_COUNT")
    if out:
        with open(out, "w") as f:
            f.write(str(next(_count)))
