"""Fixtures that run the real Bluesky PDS (``@atproto/pds``) on loopback for these tests.

Without the Node 22 harness (``bash tests/pds/harness/install.sh``) the tests skip on a
developer's machine; with ``CI`` set they fail instead, so CI can never pass by skipping them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping

import pytest

from tests.pds.pds_harness import PdsServer, StartPds, harness_missing_reason, start_pds


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in {"", "0", "false", "no"}


@pytest.fixture(scope="session")
def pds_factory() -> Iterator[StartPds]:
    """Start extra PDS servers with extra env (``factory(PDS_RATE_LIMITS_ENABLED="true")``).

    Every server started through it is stopped, by PID, when the session ends.
    """
    missing = harness_missing_reason()
    if missing is not None:
        if _in_ci():
            pytest.fail(f"CI is set but the real-PDS harness is missing. {missing}", pytrace=False)
        pytest.skip(f"real Bluesky PDS tests skipped: {missing}")
    started: list[PdsServer] = []

    def start(extra_env: Mapping[str, str] | None = None, **env: str) -> PdsServer:
        server = start_pds({**(extra_env or {}), **env})
        started.append(server)
        return server

    try:
        yield start
    finally:
        # Signal all first so their graceful shutdowns overlap.
        for server in started:
            server.terminate()
        for server in started:
            server.stop()


@pytest.fixture(scope="session")
def pds(pds_factory: StartPds) -> PdsServer:
    """The shared real PDS (rate limits off, as the PDS ships)."""
    return pds_factory()


@pytest.fixture(scope="session")
def pds_rate_limited(pds_factory: StartPds) -> PdsServer:
    """A second real PDS with ``PDS_RATE_LIMITS_ENABLED=true`` and the real limits."""
    return pds_factory(PDS_RATE_LIMITS_ENABLED="true")


# Three creates (3 points each), then a real 429 whose Retry-After is at most 3 seconds.
SHRUNK_WRITE_LIMIT = '{"rl-repo-write-hour": {"points": 9, "seconds": 3}}'


@pytest.fixture(scope="session")
def pds_write_limited(pds_factory: StartPds) -> PdsServer:
    """A real PDS whose per-account write bucket is shrunk to 9 points per 3 seconds.

    Only the numbers change (``PDS_HARNESS_RATE_LIMITS``): the bucket is per account, so
    tests sharing this server stay independent as long as each uses its own account.
    """
    return pds_factory(PDS_RATE_LIMITS_ENABLED="true", PDS_HARNESS_RATE_LIMITS=SHRUNK_WRITE_LIMIT)


@pytest.fixture
def anyio_backend() -> str:
    """Async tests here run on asyncio."""
    return "asyncio"
