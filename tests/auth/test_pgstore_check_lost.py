"""A PostgreSQL credential store whose check value was lost (a table restored without it, a
row deleted by hand) but whose records remain: a wrong key is refused from the records
instead of sealing a new check value that would lock the right key out."""

from __future__ import annotations

import pytest

from brandkit.auth import PostgresStore
from brandkit.auth.store import WrongStoreKey
from tests.servers._servers import (  # noqa: F401 - fixtures
    postgres_db,
    postgres_server,
    postgres_url,
    unique_prefix,
)

from .test_store import KEY, OTHER, TOKENS


def test_a_wrong_key_never_claims_a_store_whose_check_value_is_gone(
    postgres_url: str,  # noqa: F811
) -> None:
    prefix = unique_prefix()
    with PostgresStore(postgres_url, key=KEY, prefix=prefix) as s:
        s.put("acme-x", TOKENS)
        s._run(f"DELETE FROM {prefix}credential_meta WHERE key = 'check'")
    with pytest.raises(WrongStoreKey, match="another key"):
        PostgresStore(postgres_url, key=OTHER, prefix=prefix)
    with PostgresStore(postgres_url, key=KEY, prefix=prefix) as s:
        assert s.get("acme-x") == TOKENS
    with pytest.raises(WrongStoreKey):
        PostgresStore(postgres_url, key=OTHER, prefix=prefix)
