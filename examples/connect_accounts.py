"""Onboard and offboard a client's accounts: connect, keep, post, revoke.

An agency connects a client's X account (OAuth 2.0 with PKCE) and Mastodon account (an app
registered on the instance, then the code flow), keeps the credentials in an encrypted
store, posts from the stored accounts and, when the client leaves, revokes their tokens at
the platforms before it forgets them: a store that only forgets leaves the tokens working.

It runs offline against brandkit's emulators; the script plays the user's browser (the
emulated user consents at once). With real apps, `brandkit connect` runs the same flows
with a browser and a redirect server on 127.0.0.1. Needs ``pip install 'brandkit[store]'``.

    python examples/connect_accounts.py
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import httpx

from brandkit import Account, Client, ConfigurationError, Post, auth
from brandkit.auth import EncryptedStore
from brandkit.auth.store import new_key
from brandkit.testing.mastodon import MastodonEmulator
from brandkit.testing.x import XEmulator

REDIRECT = "https://agency.example/callback"
X_SCOPES = ["tweet.read", "tweet.write", "users.read", "offline.access"]


def browser(url: str) -> str:
    """What the user's browser does: open the authorization page, consent, and come back
    to the redirect URI (not followed here: its URL is what `finish` reads)."""
    with httpx.Client(timeout=10) as http:
        return http.get(url, follow_redirects=False).headers["location"]


def connect_x(emu: XEmulator, store: EncryptedStore) -> None:
    app = emu.oauth_app(redirect_uri=REDIRECT, scopes=X_SCOPES)  # the agency's X app
    start = auth.x.start(app.client_id, REDIRECT, X_SCOPES, base_url=emu.base_url)
    creds = auth.x.finish(start, browser(start.url), client_secret=app.client_secret)
    store.put("acme-x", auth.record_of(creds, client_secret=app.client_secret))


def connect_mastodon(emu: MastodonEmulator, store: EncryptedStore) -> None:
    app = auth.mastodon.register_app(emu.base_url, REDIRECT, ["read", "write"], "Acme agency")
    start = auth.mastodon.start(app)
    creds = auth.mastodon.finish(start, browser(start.url), client_secret=app.client_secret)
    # The app's secret stays with the token: revoking it needs both.
    secret = app.client_secret.get_secret_value()
    store.put("acme-masto", auth.record_of(creds, client_secret=secret))


def post_from(store: EncryptedStore, text: str) -> list[str]:
    """Publish ``text`` from every stored account; each delivery's status and where."""
    keys = store.keys()
    accounts = [Account.from_store(store, key) for key in keys]
    with Client() as client:
        deliveries = client.publish(Post(text=text), accounts)
    return [f"{d.account}: {d.status.value} {d.urls[0] if d.urls else d.error}" for d in deliveries]


def main(argv: list[str] | None = None) -> None:
    # --help prints what the example does and runs nothing; an unknown option is refused
    # rather than ignored (with BRANDKIT_LIVE=1 the quickstart posts for real).
    argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    ).parse_args(argv)
    x, masto = XEmulator(), MastodonEmulator()
    with x.serve(), masto.serve(), tempfile.TemporaryDirectory() as folder:
        store = EncryptedStore(Path(folder) / "credentials.db", key=new_key())
        connect_x(x, store)
        connect_mastodon(masto, store)
        print("connected:", ", ".join(sorted(store.keys())))
        for line in post_from(store, "Hello from Acme, now managed by our agency!"):
            print("  ", line)

        # The client leaves: revoke at the platform, then forget.
        keys = store.keys()
        records = {key: store.get(key) for key in keys}
        for key, record in records.items():
            assert record is not None
            auth.revoke_record(record)
            store.remove(key)
            print(f"revoked and removed {key}")

        # The old tokens no longer work anywhere: an account made from a kept copy fails.
        kept = EncryptedStore(Path(folder) / "copy.db", key=new_key())
        for key, record in records.items():
            assert record is not None
            kept.put(key, record)
        for line in post_from(kept, "Still here?"):
            print("   after revocation:", line)
        assert (
            x.post_texts() + masto.post_texts()
            == ["Hello from Acme, now managed by our agency!"] * 2
        )

        # Where a platform has no API for it, brandkit says where a person revokes it.
        print("LinkedIn:", auth.revocation_by_hand({"platform": "linkedin"}))
        store.close()
        kept.close()


if __name__ == "__main__":
    try:
        main()
    except ConfigurationError as exc:  # e.g. installed without the store extra: say so, once
        raise SystemExit(f"connect_accounts: {exc}") from None
