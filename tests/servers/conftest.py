"""The real servers' fixtures (defined in _servers.py, importable by other test dirs)."""

from tests.servers._servers import (  # noqa: F401 - fixtures
    postgres_db,
    postgres_url,
    redis_clean_url,
    redis_url,
)
