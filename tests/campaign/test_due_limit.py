"""``HoldStore.due(limit=)`` is checked like every store's limit: SQLite reads ``LIMIT -1``
as no limit at all, and a ``True`` or ``2.5`` was passed on to it as 1 or 2, so a caller's
mistake read every held announcement (or some) instead of saying what was wrong."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from brandkit import Post
from brandkit.accounts import Account
from brandkit.campaign import Campaign
from brandkit.campaign._holds import HoldStore
from brandkit.content import Article
from brandkit.errors import ConfigurationError


def store_with_holds(tmp_path: Path, n: int) -> HoldStore:
    store = HoldStore(str(tmp_path / "holds.db"))
    x = Account.x(user_token="token-for-tests")
    now = datetime.now(UTC)
    for i in range(n):
        article = Article(title=f"Release {i}", body="Text.")
        store.add(Campaign(article, announce=Post(text="{url}"), to=[x]), [], now)
    return store


@pytest.mark.parametrize("limit", [-1, True, 2.5, "2", None, 1 << 63])
def test_a_limit_that_is_no_count_is_refused(tmp_path: Path, limit: object) -> None:
    store = store_with_holds(tmp_path, 3)
    with pytest.raises(ConfigurationError, match="limit="):
        store.due(datetime.now(UTC), limit=limit)  # type: ignore[arg-type]


def test_a_valid_limit_bounds_the_holds(tmp_path: Path) -> None:
    store = store_with_holds(tmp_path, 3)
    now = datetime.now(UTC)
    assert len(store.due(now, limit=2)) == 2
    assert len(store.due(now)) == 3
    assert store.due(now, limit=0) == []
