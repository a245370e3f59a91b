"""The real servers' fixtures (tests/servers/_servers.py) for the async store tests."""

from tests.servers._servers import (  # noqa: F401 - fixtures
    postgres_db,
    postgres_url,
    redis_clean_url,
    redis_url,
)
