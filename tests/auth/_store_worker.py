"""What each process of the two-process refresh test runs (a module of its own so that a
``spawn`` child can import it)."""

from __future__ import annotations

from typing import Any

from brandkit import Client, Post, RetryPolicy, auth
from brandkit.auth import XCredentials
from brandkit.auth.store import CredentialStore, EncryptedStore, PostgresStore, refresh_locked
from brandkit.errors import BrandkitError

KEY = "acme-x"
FAST = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=30)


def open_store(target: str, store_key: str) -> EncryptedStore | PostgresStore:
    """The store at ``target``: a ``postgresql://`` URL or an SQLite file path."""
    if target.startswith("postgresql://"):
        return PostgresStore(target, key=store_key)
    return EncryptedStore(target, key=store_key)


def refresher(
    target: str,
    store_key: str,
    client_secret: str,
    rounds: int,
    barrier: Any,
    name: str,
    locked: bool,
) -> dict[str, Any]:
    """Refresh the stored X token ``rounds`` times, each time at the same moment as the
    other process (``barrier``), then post with the credentials held at the end.

    ``locked=False`` is the control: the bare refresh, no store lock."""
    refreshed = 0
    errors: list[str] = []
    seen: list[str] = []
    with open_store(target, store_key) as store:
        held = store.get(KEY)
        assert held is not None

        def refresh(old: dict[str, Any]) -> dict[str, Any]:
            nonlocal refreshed
            refreshed += 1
            creds = XCredentials.from_dict(old)
            return auth.x.refresh(creds, client_secret=client_secret).to_dict()

        for _ in range(rounds):
            barrier.wait(30)
            try:
                if locked:
                    held = refresh_locked(store, KEY, refresh, had=held, force=True)
                else:
                    held = refresh(held)
                    store.put(KEY, held)
            except BrandkitError as exc:
                errors.append(type(exc).__name__)
            seen.append(str(held["refresh_token"]))
        account = auth.account_from(
            XCredentials.from_dict(held), name=name, client_secret=client_secret
        )
        with Client(retry=FAST) as client:
            (delivery,) = client.publish(Post(text=f"Still working: {name}"), account)
    return {
        "refreshed": refreshed,
        "errors": errors,
        "seen": seen,
        "status": delivery.status.value,
    }


def poster(target: str, store_key: str, barrier: Any, name: str) -> dict[str, Any]:
    """Load the stored X account, then post at the same moment as the other process: the
    access token is expired at the emulator (but not by the stored expiry), so both get a
    401 and refresh through the store (`load_account`'s refresh under the store's lock)."""
    store: CredentialStore
    with open_store(target, store_key) as store:
        account = auth.load_account(store, KEY, name=name)
        with Client(retry=FAST) as client:
            barrier.wait(30)
            (delivery,) = client.publish(Post(text=f"After the 401: {name}"), account)
        stored = store.get(KEY) or {}
    return {
        "status": delivery.status.value,
        "error": type(delivery.error).__name__ if delivery.error else None,
        "token": account.secret("user_token"),
        "stored": stored.get("access_token"),
    }
