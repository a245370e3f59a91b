"""PostgresState bounds its wait for another process's lock on a budget: a process stopped
in the middle of an update (a paused VM, a debugger, a stuck connection) holds the scope's
lock until its session ends, and every request of that account waited for it without end."""

from __future__ import annotations

import asyncio
import threading

import psycopg
import pytest

from brandkit.errors import BrandkitError, ConfigurationError
from brandkit.governor import PostgresState
from brandkit.governor._pgstate import _LOCK, _lock_key
from tests.servers._servers import postgres_url, schema_url  # noqa: F401 - fixture

SCOPE = "x|api.x.com|x:brand|post"


@pytest.fixture
def url(postgres_url: str) -> str:  # noqa: F811 - the fixture imported above
    """A new empty schema on the test server."""
    return schema_url(postgres_url)


def _outcome(run: object) -> dict[str, object]:
    """Run ``run`` in a thread; what it returned or raised (empty while it still waits)."""
    out: dict[str, object] = {}

    def target() -> None:
        try:
            out["result"] = run()  # type: ignore[operator]
        except Exception as exc:
            out["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(60.0)  # a guard against a hang, far beyond the 0.5 s asked for
    return out


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_lock_held_past_the_timeout_is_a_typed_error(url: str, mode: str) -> None:
    with PostgresState(url, timeout=0.5) as state, psycopg.connect(url) as holder:
        # Another process, stopped with the scope's lock held in its transaction.
        holder.execute(_LOCK, ([_lock_key(state.prefix, SCOPE)],))
        if mode == "sync":
            out = _outcome(lambda: state.update([SCOPE], lambda entries: len(entries)))
        else:
            out = _outcome(lambda: asyncio.run(state.aupdate([SCOPE], lambda e: len(e))))
        holder.rollback()
        assert isinstance(out.get("error"), BrandkitError), out
        assert "lock" in str(out["error"])
        # Once the lock is free, the same state works again.
        assert state.update([SCOPE], lambda entries: len(entries)) == 0


@pytest.mark.parametrize("timeout", [-1, float("nan"), float("inf"), "soon"])
def test_a_bad_timeout_is_refused(url: str, timeout: object) -> None:
    with pytest.raises(ConfigurationError, match="timeout"):
        PostgresState(url, timeout=timeout)  # type: ignore[arg-type]
