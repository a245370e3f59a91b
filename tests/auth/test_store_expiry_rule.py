"""`refresh_locked` and `expiry_of` read a stored ``expires_at`` by one rule: a value no
clock holds (NaN, infinity, a boolean, not a number) is an unknown expiry. `expiry_of`
read NaN and infinity as unknown while `refresh_locked` read them as "not expired" (every
comparison with NaN is false), so asking it to refresh such a record did nothing, where
one with no expiry at all is refreshed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from brandkit.auth import EncryptedStore, expiry_of
from brandkit.auth.store import new_key, refresh_locked

NOW = 1_800_000_000.0


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EncryptedStore]:
    s = EncryptedStore(tmp_path / "credentials.db", key=new_key())
    yield s
    s.close()


@pytest.mark.parametrize("stored", [None, float("nan"), float("inf"), float("-inf"), True, "soon"])
def test_an_expiry_no_clock_holds_is_unknown_to_both(store: EncryptedStore, stored: Any) -> None:
    # EncryptedStore writes JSON, which Python's json reads back with NaN and Infinity.
    store.put(
        "k", {"platform": "x", "access_token": "a", "refresh_token": "r", "expires_at": stored}
    )
    assert expiry_of(store.get("k") or {}, NOW).expires_at is None
    calls: list[dict[str, Any]] = []

    def refresh(record: dict[str, Any]) -> dict[str, Any]:
        calls.append(record)
        return {**record, "access_token": "b", "expires_at": NOW + 7200}

    new = refresh_locked(store, "k", refresh, clock=lambda: NOW)
    assert len(calls) == 1
    assert new["access_token"] == "b" and (store.get("k") or {})["access_token"] == "b"
