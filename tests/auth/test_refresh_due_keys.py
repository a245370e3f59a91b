"""`refresh_due` (``brandkit accounts refresh --account K --account K``) looks at each key
once: an account named twice was refreshed, then looked at again and reported "not due",
and the refresh that happened was not reported (with ``force``, it was refreshed twice).
X emulator over a socket, a real encrypted store."""

from __future__ import annotations

import time

from brandkit import auth
from brandkit.auth import EncryptedStore
from brandkit.testing.x import XEmulator

from .conftest import REDIRECT, X_SCOPES, consent


def test_a_key_named_twice_is_refreshed_once_and_reported_so(
    x_emu: XEmulator, store: EncryptedStore
) -> None:
    app = x_emu.oauth_app(redirect_uri=REDIRECT, scopes=X_SCOPES)
    start = auth.x.start(app.client_id, REDIRECT, X_SCOPES, base_url=x_emu.base_url)
    creds = auth.x.finish(start, consent(start.url), client_secret=app.client_secret)
    record = auth.record_of(creds, client_secret=app.client_secret)
    store.put("acme-x", {**record, "expires_at": time.time() - 1})

    assert auth.refresh_due(store, keys=["acme-x", "acme-x"]) == {"acme-x": "refreshed"}
    assert auth.refresh_due(store, keys=["acme-x", "acme-x"], force=True) == {"acme-x": "refreshed"}
    refreshes = [r for r in x_emu.requests if b"grant_type=refresh_token" in r.content]
    assert len(refreshes) == 2
