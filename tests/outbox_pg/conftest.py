"""Fixtures for the PostgreSQL outbox's own tests: the outbox suite's fake platform, and a
new schema on the test server for each test."""

from __future__ import annotations

import pytest

from tests.outbox.conftest import _fakenet, emu, schema_url  # noqa: F401 - fixtures
from tests.servers._servers import postgres_url  # noqa: F401 - fixture


@pytest.fixture
def pg(postgres_url: str) -> str:  # noqa: F811 - the imported fixture
    """The URL of a new, empty schema (``Outbox(pg)`` opens a PostgreSQL outbox there)."""
    return schema_url(postgres_url)
