"""What each process of the two-process finish test runs (a module of its own so that a
``spawn`` child can import it)."""

from __future__ import annotations

from typing import Any

from brandkit import auth
from brandkit.errors import BrandkitError

from ._store_worker import open_store


def finisher(
    target: str,
    store_key: str,
    start: dict[str, Any],
    callback: str,
    client_secret: str,
    barrier: Any,
) -> str:
    """Finish the X authorization ``start`` with ``callback`` at the same moment as the
    other process, both claiming it in the store at ``target``: what came of it."""
    with open_store(target, store_key) as store:
        barrier.wait(30)
        try:
            creds = auth.x.finish(
                auth.Start.from_dict(start), callback, client_secret=client_secret, once_in=store
            )
        except BrandkitError as exc:
            return type(exc).__name__
    return "connected" if creds.access_token.get_secret_value() else "no token"
