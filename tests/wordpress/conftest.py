"""Fixtures that run a real WordPress (Debian's package) on 127.0.0.1 for these tests.

Without the packages (``sudo bash tests/wordpress/harness/install.sh``) the tests skip on a
developer's machine; with ``CI`` set they fail instead, so CI can never pass by skipping them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.wordpress.wp_harness import WordPressServer, harness_missing_reason, start_wordpress


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in {"", "0", "false", "no"}


def need_harness() -> None:
    """Skip (or fail, under CI) when the real-WordPress harness cannot run here."""
    missing = harness_missing_reason()
    if missing is None:
        return
    if _in_ci():
        pytest.fail(
            f"CI is set but the real-WordPress harness is missing. {missing}", pytrace=False
        )
    pytest.skip(f"real WordPress tests skipped: {missing}")


@pytest.fixture(scope="session")
def wordpress() -> Iterator[WordPressServer]:
    """A real WordPress with pretty permalinks: ``.url``, ``.user``, ``.app_password``.

    Started once per session (about 2.5 s), stopped at the end: PHP's workers by parent PID
    first, then PHP, then MariaDB; its config file and temporary directory are removed.
    """
    need_harness()
    server = start_wordpress()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def wordpress_plain() -> Iterator[WordPressServer]:
    """A second real WordPress with plain permalinks (no rewrite rules: ``/wp-json/`` is the
    web server's 404, the REST API is at ``/?rest_route=``), started on first use."""
    need_harness()
    server = start_wordpress(pretty_permalinks=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def anyio_backend() -> str:
    """Async tests here run on asyncio."""
    return "asyncio"
